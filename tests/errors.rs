//! One case per error code of docs/rules.md, each asserting the whole `Errors` cell.

use crate::workdir::{csv, Workdir, HEADER};

/// Imports `rows` and returns the Errors cell of the last row (which must have failed).
fn last_errors(wd: &Workdir, rows: &[&str], args: &[&str]) -> String {
    wd.write("in.csv", &csv(rows));
    let _ = std::fs::remove_file(wd.path("out.csv"));
    assert_eq!(wd.import("in.csv", "out.csv", args), 1, "{rows:?}");
    let status = wd.column("out.csv", 3);
    assert_eq!(status.last().unwrap(), "failed");
    wd.column("out.csv", 7).pop().unwrap()
}

fn errors_of(row: &str) -> String {
    last_errors(&Workdir::new(), &[row], &[])
}

#[test]
fn required() {
    assert_eq!(errors_of(",,,Anna,,,,,,,,"), "required: User Name is empty");
    assert_eq!(
        errors_of("anna@contoso.com,Anna,,,,,,,,,,"),
        "required: Display Name is empty"
    );
}

#[test]
fn invalid_username() {
    assert_eq!(
        errors_of("a@b@contoso.com,,,A,,,,,,,,"),
        "invalid_username: User Name `a@b@contoso.com`: it has 2 `@` signs; it needs exactly one"
    );
    assert_eq!(
        errors_of("anna..smit@contoso.com,,,A,,,,,,,,"),
        "invalid_username: User Name `anna..smit@contoso.com`: it contains `..`"
    );
    assert_eq!(
        errors_of(".anna@contoso.com,,,A,,,,,,,,"),
        "invalid_username: User Name `.anna@contoso.com`: it starts or ends with `.`"
    );
    assert_eq!(
        errors_of("zoë@contoso.com,,,A,,,,,,,,"),
        "invalid_username: User Name `zoë@contoso.com`: character `ë` (U+00EB) is not allowed"
    );
    assert_eq!(
        errors_of("an\u{200B}na@contoso.com,,,A,,,,,,,,"),
        "invalid_username: User Name `an<U+200B>na@contoso.com`: character U+200B is not allowed"
    );
    assert_eq!(
        errors_of("@contoso.com,,,A,,,,,,,,"),
        "invalid_username: User Name `@contoso.com`: the part before `@` is empty"
    );
    let long = format!("{}@contoso.com,,,A,,,,,,,,", "a".repeat(65));
    assert_eq!(
        errors_of(&long),
        format!(
            "invalid_username: User Name `{}@contoso.com`: the part before `@` is 65 characters; at most 64 are allowed",
            "a".repeat(65)
        )
    );
}

#[test]
fn unverified_domain() {
    assert_eq!(
        errors_of("anna@example.org,,,A,,,,,,,,"),
        "unverified_domain: domain `example.org` is not a verified domain of Contoso (contoso.com, fabrikam.nl)"
    );
    // Cyrillic о (U+043E) in place of the Latin o: looks the same, is not ours.
    assert_eq!(
        errors_of("anna@c\u{43E}ntoso.com,,,A,,,,,,,,"),
        "unverified_domain: domain `c\u{43E}ntoso.com` (it contains the non-ASCII character \
         `\u{43E}` (U+043E)) is not a verified domain of Contoso (contoso.com, fabrikam.nl)"
    );
}

#[test]
fn too_long() {
    let name = format!("{}@contoso.com", "a".repeat(60));
    let row = format!("{name},{},,{},,,,,,,,", "F".repeat(65), "D".repeat(257));
    assert_eq!(
        errors_of(&row),
        "too_long: First Name is 65 characters; at most 64 are allowed | \
         too_long: Display Name is 257 characters; at most 256 are allowed"
    );
    let long_user = format!(
        "{}.{}@contoso.com,,,A,,,,,,,,",
        "a".repeat(50),
        "b".repeat(60)
    );
    let errors = errors_of(&long_user);
    assert!(
        errors.starts_with(
            "too_long: User Name is 123 characters; at most 113 are allowed | invalid_username:"
        ),
        "{errors}"
    );
}

#[test]
fn invalid_email() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,,,,,anna-at-home"),
        "invalid_email: Alternate email address `anna-at-home` is not an email address"
    );
}

#[test]
fn invalid_usage_location() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,UK,SPE_E3,,,,,,"),
        "invalid_usage_location: Usage Location `UK` is not an ISO 3166-1 alpha-2 country code"
    );
}

#[test]
fn usage_location_required() {
    let wd = Workdir::new();
    wd.write(
        "tenant.toml",
        &crate::workdir::TENANT.replace("default_usage_location = \"NL\"\n", ""),
    );
    assert_eq!(
        last_errors(&wd, &["anna@contoso.com,,,A,,SPE_E3,,,,,,"], &[]),
        "usage_location_required: licences are asked for but neither the row nor the tenant has a usage location"
    );
}

#[test]
fn unknown_license() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,SPE_E3+VISIO_PLAN2,,,,,,"),
        "unknown_license: `VISIO_PLAN2` is not a licence of Contoso (known: SPE_E3, EMS)"
    );
}

#[test]
fn unknown_app() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,SPE_E3,INTUNE_A,,,,,"),
        "unknown_app: Disabled App `INTUNE_A` is not an app of the row's licences"
    );
}

#[test]
fn unknown_role() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,Super Admin,,,,"),
        "unknown_role: `Super Admin` is not a Microsoft 365 admin role"
    );
}

#[test]
fn role_not_allowed() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,User Administrator+Global Administrator,,,,"),
        "role_not_allowed: Global Administrator is only given with --allow-global-admin"
    );
}

#[test]
fn weak_password() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,,password,,,"),
        "weak_password: the given Password needs at least 3 of: lower-case letter, upper-case letter, digit, symbol"
    );
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,,Anna2026!,,,"),
        "weak_password: the given Password contains the username"
    );
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,,Ab1!,,,"),
        "weak_password: the given Password is 4 characters; it must be 8 to 256"
    );
}

#[test]
fn invalid_value() {
    assert_eq!(
        errors_of("anna@contoso.com,,,A,,,,,,maybe,,"),
        "invalid_value: Block Sign In `maybe` is not one of yes/no/true/false/1/0"
    );
}

#[test]
fn duplicate_in_file() {
    let wd = Workdir::new();
    assert_eq!(
        last_errors(
            &wd,
            &[
                "anna@contoso.com,,,A,,,,,,,E1,",
                "ANNA@CONTOSO.COM,,,B,,,,,,,E1,"
            ],
            &[]
        ),
        "duplicate_in_file: User Name ANNA@CONTOSO.COM is also on line 2 | \
         duplicate_in_file: Employee ID E1 is also on line 2"
    );
    assert_eq!(
        wd.column("out.csv", 3),
        ["created", "failed"],
        "the earlier row goes on"
    );
}

#[test]
fn already_exists() {
    let wd = Workdir::new();
    wd.write("first.csv", &csv(&["anna@contoso.com,,,A,,,,,,,,"]));
    assert_eq!(wd.import("first.csv", "first.out.csv", &[]), 0);
    assert_eq!(
        last_errors(
            &wd,
            &["Anna@Contoso.com,,,A,,,,,,,,"],
            &["--on-existing", "fail"]
        ),
        "already_exists: anna@contoso.com is already in the directory"
    );
}

#[test]
fn no_seats() {
    assert_eq!(
        last_errors(
            &Workdir::new(),
            &[
                "a@contoso.com,,,A,,EMS,,,,,,",
                "b@contoso.com,,,B,,SPE_E3+EMS,,,,,,"
            ],
            &["--on-shortage", "fail"]
        ),
        "no_seats: no seats left for EMS"
    );
}

#[test]
fn malformed_row() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        &format!("{HEADER}\r\nanna@contoso.com,,,Anna,,,,,,,,,,Delft\r\nbob@contoso.com,,,Bob,,,,,,,,\r\n"),
    );
    assert_eq!(wd.import("in.csv", "out.csv", &[]), 1);
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,anna@contoso.com,Anna,failed,,,,\"malformed_row: the record has 14 fields, the header has 12\"
3,bob@contoso.com,Bob,created,<password>,,,
"
    );
}

#[test]
fn a_row_collects_every_error_it_has() {
    assert_eq!(
        errors_of("zed@example.org,,,,XX,NOPE,,Nobody,weak,perhaps,,x"),
        "unverified_domain: domain `example.org` is not a verified domain of Contoso (contoso.com, fabrikam.nl) | \
         required: Display Name is empty | \
         invalid_email: Alternate email address `x` is not an email address | \
         invalid_usage_location: Usage Location `XX` is not an ISO 3166-1 alpha-2 country code | \
         unknown_license: `NOPE` is not a licence of Contoso (known: SPE_E3, EMS) | \
         unknown_role: `Nobody` is not a Microsoft 365 admin role | \
         weak_password: the given Password is 4 characters; it must be 8 to 256, needs at least 3 of: lower-case letter, upper-case letter, digit, symbol | \
         invalid_value: Block Sign In `perhaps` is not one of yes/no/true/false/1/0"
    );
}
