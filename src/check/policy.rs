//! The policy a password given in the input must meet (`weak_password`).

/// Checks a given password against the policy behind `weak_password` (docs/rules.md). The error says
/// which rule is broken, never the password.
pub fn check_policy(password: &str, local_part: &str) -> Result<(), String> {
    let len = password.chars().count();
    let mut why = Vec::new();
    if !crate::tenant::PASSWORD_LEN_RANGE.contains(&len) {
        why.push(format!("is {len} characters; it must be 8 to 256"));
    }
    if !password.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
        why.push("has characters outside printable ASCII".to_string());
    }
    if crate::password::classes(password.as_bytes()) < 3 {
        why.push(
            "needs at least 3 of: lower-case letter, upper-case letter, digit, symbol".to_string(),
        );
    }
    if !local_part.is_empty()
        && password
            .to_ascii_lowercase()
            .contains(&local_part.to_ascii_lowercase())
    {
        why.push("contains the username".to_string());
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_each_broken_rule() {
        assert_eq!(check_policy("Sommer2026!x", "jan"), Ok(()));
        assert_eq!(
            check_policy("password", "jan").unwrap_err(),
            "needs at least 3 of: lower-case letter, upper-case letter, digit, symbol"
        );
        assert!(check_policy("Jan.Smit2026!", "jan.smit")
            .unwrap_err()
            .contains("contains the username"));
        assert!(check_policy("Aa1!", "x")
            .unwrap_err()
            .starts_with("is 4 characters"));
        assert!(check_policy("Ünïcødé123!A", "x")
            .unwrap_err()
            .contains("printable ASCII"));
    }
}
