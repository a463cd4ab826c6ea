//! Generated passwords (docs/import.md#passwords).
//!
//! Generated passwords are drawn uniformly from [`ALPHABET`] by a CSPRNG seeded from the
//! operating system, and redrawn whole until they hold every class and do not start with
//! a character a spreadsheet would read as a formula. Rejecting whole draws keeps the
//! result uniform over all passwords that meet the rules.

use std::cell::RefCell;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zeroize::Zeroizing;

/// Characters a generated password never starts with (spreadsheet formula triggers).
pub const FORBIDDEN_FIRST: &[u8] = b"=+-@";

/// Every character a generated password is drawn from: letters, digits and the symbols
/// Entra ID accepts that need no quoting in CSV or a shell (no delimiter `,` `;`, no
/// quote, backslash, space or backtick).
pub const ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+-./:<=>?@[]^_{}~";

thread_local! {
    static RNG: RefCell<StdRng> = RefCell::new(StdRng::from_os_rng());
}

/// A user's password. It is shown in one place only, the result file, through
/// [`Password::expose`]; it has no `Display`, its `Debug` hides it, and its bytes are
/// zeroed when it is dropped.
pub struct Password(Zeroizing<String>);

impl Password {
    /// A password typed in the input file.
    pub fn given(text: &str) -> Password {
        Password(Zeroizing::new(text.to_string()))
    }

    /// The password itself, for the result file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// A new password of `len` characters from this thread's OS-seeded CSPRNG.
pub fn generate(len: usize) -> Password {
    RNG.with(|rng| generate_with(&mut *rng.borrow_mut(), len))
}

/// A new password drawn from `rng`; tests pass a seeded generator, the program never does.
pub fn generate_with<R: Rng + ?Sized>(rng: &mut R, len: usize) -> Password {
    assert!(len >= 4, "a password needs room for all four classes");
    // Draws that fail the policy are overwritten by the next and zeroed at the end.
    let mut buf = Zeroizing::new(vec![0u8; len]);
    loop {
        for b in buf.iter_mut() {
            *b = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        if !FORBIDDEN_FIRST.contains(&buf[0]) && classes(&buf) == 4 {
            let mut text = Zeroizing::new(String::with_capacity(len));
            // Only ASCII from ALPHABET was written.
            text.push_str(std::str::from_utf8(&buf).expect("ASCII"));
            return Password(text);
        }
    }
}

/// How many of lower, upper, digit and symbol occur in `s`.
pub fn classes(s: &[u8]) -> usize {
    let has = |f: fn(&u8) -> bool| s.iter().any(f) as usize;
    has(u8::is_ascii_lowercase)
        + has(u8::is_ascii_uppercase)
        + has(u8::is_ascii_digit)
        + has(|b| b.is_ascii_punctuation() || *b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows_in_debug() {
        let p = Password::given("S3cret!pass");
        assert_eq!(format!("{p:?}"), "Password(<hidden>)");
        assert_eq!(format!("{:?}", Some(&p)), "Some(Password(<hidden>))");
        assert_eq!(p.expose(), "S3cret!pass");
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        let mut rng = StdRng::seed_from_u64(7);
        for len in [8, 16, 64, 256] {
            for _ in 0..200 {
                let p = generate_with(&mut rng, len);
                let p = p.expose();
                assert_eq!(p.len(), len);
                assert_eq!(classes(p.as_bytes()), 4);
                assert!(!FORBIDDEN_FIRST.contains(&p.as_bytes()[0]));
                assert!(p.bytes().all(|b| ALPHABET.contains(&b)));
            }
        }
    }

    /// One million characters through the real generator: every character of the alphabet
    /// must come up as often as chance allows (chi-square, 86 degrees of freedom). Long
    /// passwords make the redraw for missing classes practically never happen, so every
    /// position but the first (which avoids `= + - @`) is a uniform draw.
    #[test]
    fn a_million_characters_are_uniform() {
        let mut rng = StdRng::seed_from_u64(2026);
        let mut counts = [0u64; 256];
        let mut total = 0u64;
        let mut first = [0u64; 256];
        while total < 1_000_000 {
            let p = generate_with(&mut rng, 256);
            let bytes = p.expose().as_bytes();
            first[bytes[0] as usize] += 1;
            for &b in &bytes[1..] {
                counts[b as usize] += 1;
                total += 1;
            }
        }
        let expected = total as f64 / ALPHABET.len() as f64;
        let chi2: f64 = ALPHABET
            .iter()
            .map(|&c| {
                let d = counts[c as usize] as f64 - expected;
                d * d / expected
            })
            .sum();
        // 86 degrees of freedom: 99.9% of fair draws stay under 130.6.
        assert!(chi2 < 130.6, "biased draw: chi-square {chi2:.1}");
        assert_eq!(
            counts.iter().sum::<u64>(),
            total,
            "nothing outside the alphabet"
        );
        for &c in FORBIDDEN_FIRST {
            assert_eq!(first[c as usize], 0, "{} first", c as char);
        }
    }

    /// The same test must catch a draw that is off by a little: a modulo-biased picker.
    #[test]
    fn the_uniformity_test_catches_a_modulo_bias() {
        let mut rng = StdRng::seed_from_u64(2026);
        let mut counts = [0u64; 256];
        for _ in 0..1_000_000 {
            let b = ALPHABET[(rng.random::<u8>() as usize) % ALPHABET.len()];
            counts[b as usize] += 1;
        }
        let expected = 1_000_000f64 / ALPHABET.len() as f64;
        let chi2: f64 = ALPHABET
            .iter()
            .map(|&c| (counts[c as usize] as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 > 130.6, "chi-square {chi2:.1} missed the bias");
    }
}
