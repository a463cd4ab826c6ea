//! People over time (docs/nightly.md, docs/directory.md): Object IDs, the upgrade of a
//! directory written by an earlier onboard, the directory's permissions, the digests a
//! nightly sync keeps.

use crate::workdir::{self, Workdir};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `onboard ARGS` on stdout, checking exit 0.
fn stdout(wd: &Workdir, args: &[&str]) -> String {
    let out = wd.onboard(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A work folder holding a copy of the schema-2 directory and the samples' tenant.
fn upgraded_workdir() -> Workdir {
    workdir_with("directory-v2.db")
}

/// A work folder holding a copy of the fixture directory `db` and the samples' tenant.
fn workdir_with(db: &str) -> Workdir {
    let wd = Workdir::new();
    std::fs::copy(fixture(db), wd.path("onboard.db")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        wd.path("onboard.db"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::copy(
        format!("{}/samples/tenant.toml", env!("CARGO_MANIFEST_DIR")),
        wd.path("tenant.toml"),
    )
    .unwrap();
    wd
}

#[test]
fn a_directory_of_the_previous_version_is_upgraded_in_place_losing_nothing() {
    let wd = upgraded_workdir();
    // The first command that opens it upgrades it; every user gets an Object ID.
    let (listing, ids) = wd.listing(&[]);
    // The listing of the old version, with the new column.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(fixture("directory-v2.users.csv"))
        .unwrap();
    let mut before = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for (i, rec) in rdr.records().enumerate() {
        let mut rec = rec.unwrap();
        rec.push_field(if i == 0 { "Object ID" } else { "<object id>" });
        before.write_record(&rec).unwrap();
    }
    assert_eq!(
        listing,
        String::from_utf8(before.into_inner().unwrap()).unwrap()
    );
    assert_eq!(ids.len(), 41);
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 41, "Object IDs are unique");
    assert_eq!(
        wd.query("PRAGMA user_version")[0][0],
        "5",
        "upgraded in place"
    );
    // Seats, roles and runs are all there.
    assert_eq!(
        stdout(&wd, &["seats", "--format", "csv"]),
        std::fs::read_to_string(fixture("directory-v2.seats.csv")).unwrap()
    );
    let runs = stdout(&wd, &["runs", "--format", "csv"]);
    let old_runs = std::fs::read_to_string(fixture("directory-v2.runs.csv")).unwrap();
    for (new, old) in runs.lines().zip(old_runs.lines()) {
        assert!(new.starts_with(old), "{new}\n{old}");
    }
    assert_eq!(runs.lines().count(), old_runs.lines().count());
    assert_eq!(
        wd.query(
            "SELECT (SELECT count(*) FROM user_roles), (SELECT count(*) FROM user_disabled_apps)"
        ),
        [["7", "5"]],
        "roles and disabled apps kept"
    );
    // Object IDs never change: not on a later read, nor an import that updates users.
    assert_eq!(wd.listing(&[]).1, ids);
    let users = std::fs::read_to_string(fixture("directory-v2.users.csv")).unwrap();
    wd.write("again.csv", &users);
    let out = wd
        .onboard(&[
            "import",
            "again.csv",
            "-o",
            "again.out.csv",
            "--on-existing",
            "update",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(wd.listing(&[]).1, ids);
    // The users created before the upgrade without a licence are unlicensed since their
    // run.
    let (unlicensed, _) = wd.listing(&["--unlicensed"]);
    assert!(unlicensed.starts_with(&format!(
        "{},Unlicensed Days\n",
        workdir::LISTING_HEADER.trim_end()
    )));
}

/// `users`, `users --deleted`, `seats` and `runs` print what the version that wrote the
/// fixture directory `name` printed (`name.users.csv` and so on); the Object IDs
/// included, since they never change.
fn prints_as_the_version_that_wrote_it(wd: &Workdir, name: &str) {
    for (args, printed) in [
        (vec!["users"], "users"),
        (vec!["users", "--deleted"], "deleted"),
        (vec!["seats", "--format", "csv"], "seats"),
        (vec!["runs", "--format", "csv"], "runs"),
    ] {
        assert_eq!(
            stdout(wd, &args),
            std::fs::read_to_string(fixture(&format!("{name}.{printed}.csv"))).unwrap(),
            "{args:?}"
        );
    }
}

#[test]
fn a_directory_of_schema_3_is_upgraded_keeping_people_offboarded_and_restored() {
    let wd = workdir_with("directory-v3.db");
    prints_as_the_version_that_wrote_it(&wd, "directory-v3");
    assert_eq!(wd.query("PRAGMA user_version")[0][0], "5");
    assert_eq!(wd.query("SELECT count(*) FROM mails"), [["0"]]);
}

#[test]
fn a_directory_of_schema_4_is_upgraded_and_a_nightly_sync_can_run_on_it_at_once() {
    let wd = workdir_with("directory-v4.db");
    prints_as_the_version_that_wrote_it(&wd, "directory-v4");
    assert_eq!(wd.query("PRAGMA user_version")[0][0], "5");

    // A nightly sync as the first command: the upgrade is committed before the run's own
    // transaction, so that the connections it reads through see the new tables too.
    let wd = workdir_with("directory-v4.db");
    for name in ["hr-export-nl.csv", "hr-columns.toml"] {
        std::fs::copy(
            format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR")),
            wd.path(name),
        )
        .unwrap();
    }
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hr-export-nl.csv",
            "--columns",
            "hr-columns.toml",
            "--match",
            "employee-id",
            "--on-existing",
            "update",
            "-o",
            "night.csv",
        ],
    );
    // 1005 was offboarded: HR still lists her, so her row fails until she is restored.
    assert_eq!(code, 1, "{stderr}");
    let results = wd.results("night.csv");
    assert_eq!(results.matches(";unchanged;").count(), 11, "{results}");
    assert!(
        results.contains(";anne-marie.oneill@fabrikam.nl;Anne-Marie O'Neill;failed;"),
        "{results}"
    );
    assert_eq!(wd.query("PRAGMA user_version")[0][0], "5");
    // It read everyone in full, and kept their digests for the next night.
    assert_eq!(
        wd.query("SELECT count(*) FROM person_digests"),
        wd.query("SELECT count(*) FROM users")
    );
}

#[test]
fn a_directory_of_a_newer_version_is_refused_and_left_as_it_is() {
    let wd = upgraded_workdir();
    wd.listing(&[]);
    wd.query("PRAGMA user_version = 99");
    let bytes = wd.read_bytes("onboard.db");
    wd.write(
        "users.csv",
        "User Name,Display Name\r\nnew@contoso.com,New\r\n",
    );
    for args in [
        vec!["users"],
        vec!["seats"],
        vec!["import", "users.csv", "-o", "out.csv"],
    ] {
        let out = wd.onboard(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "onboard: error: onboard.db was written by a newer onboard (schema 99, this one knows 5); use that version or a newer one",
            "{args:?}"
        );
    }
    assert_eq!(wd.read_bytes("onboard.db"), bytes, "not touched");
    assert!(!wd.exists("out.csv"));
}

#[test]
fn the_directory_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        "User Name,Display Name\r\nann@contoso.com,Ann\r\n",
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    let mode = |name: &str| {
        std::fs::metadata(wd.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("onboard.db"), 0o600);
    // One that others may read (made by an older onboard, or copied) is used, with a
    // warning that says what to do.
    std::fs::set_permissions(
        wd.path("onboard.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    wd.write(
        "more.csv",
        "User Name,Display Name\r\nbo@contoso.com,Bo\r\n",
    );
    let out = wd
        .onboard(&["import", "more.csv", "-o", "more.out.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN the directory holds personal data but others may read it; `chmod 600` it (and its -wal and -shm files) directory=onboard.db mode=0644"),
        "{stderr}"
    );
    assert_eq!(mode("onboard.db"), 0o644, "left as it is");
}

/// A directory of four people: Anna (E3 + EMS, a role), Bob (E3), Carl (no licence),
/// Dora (E3); the tenant has 3 E3 seats and 1 EMS seat, so all E3 seats are taken.
fn four_people() -> Workdir {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &workdir::csv(&[
            "anna@contoso.com,Anna,Smit,Anna Smit,,SPE_E3+EMS,,Helpdesk Administrator,,,E1,",
            "bob@contoso.com,Bob,,Bob Jansen,,SPE_E3,,,,,E2,",
            "carl@contoso.com,Carl,,Carl de Wit,,,,,,,E3,",
            "dora@contoso.com,Dora,,Dora Bos,,SPE_E3,,,,,E4,",
        ]),
    );
    assert_eq!(wd.import("users.csv", "users.out.csv", &[]), 0);
    wd
}

/// `onboard ARGS` (run with the work folder's tenant and directory): exit code and
/// stderr.
fn run(wd: &Workdir, args: &[&str]) -> (i32, String) {
    let out = wd.onboard(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Object ID of `user_name`.
fn object_id(wd: &Workdir, user_name: &str) -> String {
    wd.query(&format!(
        "SELECT object_id FROM users WHERE user_key = '{user_name}'"
    ))[0][0]
        .clone()
}

const RESULTS: &str = "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n";

#[test]
fn offboarding_frees_the_seats_at_once_and_restoring_serves_them_again() {
    let wd = four_people();
    let anna = object_id(&wd, "anna@contoso.com");
    // By User Name, Employee ID and Object ID; nobody; twice; a bad Object ID (an empty
    // row is skipped, as in an import).
    wd.write(
        "leavers.csv",
        &format!(
            "User Name,Employee ID,Object ID\r\n\
             ,,{}\r\n\
             bob@contoso.com,,\r\n\
             ,e4,\r\n\
             nobody@contoso.com,,\r\n\
             ANNA@contoso.com,,\r\n\
             ,,not-a-uuid\r\n\
             ,,\r\n",
            anna.to_uppercase()
        ),
    );
    // A dry run decides the same and changes nothing.
    let (code, stderr) = run(
        &wd,
        &["offboard", "leavers.csv", "--dry-run", "-o", "dry.csv"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(wd.listing(&["--deleted"]).1.len(), 0);
    let (code, stderr) = run(&wd, &["offboard", "leavers.csv", "-o", "out.csv"]);
    assert_eq!(code, 1, "{stderr}");
    let expected = format!(
        "{RESULTS}\
2,anna@contoso.com,Anna Smit,offboarded,,EMS+SPE_E3,,
3,bob@contoso.com,Bob Jansen,offboarded,,SPE_E3,,
4,dora@contoso.com,Dora Bos,offboarded,,SPE_E3,,
5,nobody@contoso.com,,not_found,,,,not_found: no user with User Name nobody@contoso.com in the directory
6,anna@contoso.com,Anna Smit,failed,,,,duplicate_in_file: anna@contoso.com is also on line 2
7,,,failed,,,,invalid_value: Object ID `not-a-uuid` is not a UUID
"
    );
    assert_eq!(wd.results("out.csv"), expected);
    assert_eq!(wd.results("dry.csv"), expected);
    // The seats are free, the counters equal the assignments; Carl is the one left.
    assert_eq!(wd.seat_counts(), []);
    assert_eq!(wd.assigned(), []);
    let (active, _) = wd.listing(&[]);
    assert_eq!(active.lines().count(), 2, "{active}");
    assert!(active.contains("carl@contoso.com"));
    let (deleted, _) = wd.listing(&["--deleted"]);
    assert_eq!(deleted.lines().count(), 4, "{deleted}");
    assert!(deleted
        .lines()
        .next()
        .unwrap()
        .ends_with(",Object ID,Deleted At"));
    // Offboarded: blocked, no roles.
    assert!(deleted
        .contains("anna@contoso.com,Anna Smit,Anna,Smit,,,,,,,,,,,,,E1,NL,,,,Yes,<object id>,"));
    // Offboarding again is skipped with a warning.
    wd.write("again.csv", "User Name\r\nbob@contoso.com\r\n");
    let (code, _) = run(&wd, &["offboard", "again.csv", "-o", "again.out.csv"]);
    assert_eq!(code, 0);
    let again = wd.results("again.out.csv");
    assert!(
        again.starts_with(&format!(
            "{RESULTS}2,bob@contoso.com,Bob Jansen,skipped,,,already_offboarded: since "
        )),
        "{again}"
    );
    // The name stays taken: an import of it fails.
    wd.write(
        "rehire.csv",
        &workdir::csv(&["bob@contoso.com,Bob,,Bob Jansen,,,,,,,E2,"]),
    );
    assert_eq!(
        wd.import("rehire.csv", "rehire.out.csv", &["--on-existing", "update"]),
        1
    );
    assert!(wd
        .results("rehire.out.csv")
        .contains("already_exists: bob@contoso.com is an offboarded user (since "));

    // A new hire takes two of the three free E3 seats; the restore then serves Anna's
    // E3 and EMS whole, Bob's last E3, and Dora finds none left: restored without it.
    wd.write(
        "hires.csv",
        &workdir::csv(&["eve@contoso.com,Eve,,Eve Ek,,SPE_E3,,,,,E5,"]),
    );
    assert_eq!(wd.import("hires.csv", "hires.out.csv", &[]), 0);
    wd.write(
        "returners.csv",
        &format!(
            "Object ID [objectId] Required\r\n{anna}\r\n{}\r\n{}\r\n",
            object_id(&wd, "bob@contoso.com"),
            object_id(&wd, "dora@contoso.com")
        ),
    );
    let (code, stderr) = run(&wd, &["restore", "returners.csv", "-o", "back.csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("back.csv"),
        format!(
            "{RESULTS}\
2,anna@contoso.com,Anna Smit,created,<password>,EMS+SPE_E3,,
"
        )
        .replace(",created,<password>,EMS+SPE_E3,,\n", ",restored,<password>,EMS+SPE_E3,,\n3,bob@contoso.com,Bob Jansen,restored,<password>,SPE_E3,,\n4,dora@contoso.com,Dora Bos,restored,<password>,,no_seats: SPE_E3,\n")
    );
    assert_eq!(
        wd.seat_counts(),
        [("EMS".to_string(), 1), ("SPE_E3".to_string(), 3)]
    );
    assert_eq!(wd.seat_counts(), wd.assigned());
    let (active, ids) = wd.listing(&[]);
    assert_eq!(ids.len(), 5);
    // Back with sign-in allowed and their licences; roles are not given back.
    assert!(
        active.contains(
            "anna@contoso.com,Anna Smit,Anna,Smit,,,,,,,,,,,,,E1,NL,EMS+SPE_E3,,,No,<object id>"
        ),
        "{active}"
    );
    // The same Object IDs as before.
    assert_eq!(object_id(&wd, "anna@contoso.com"), anna);
    // The runs are recorded with their kind.
    let kinds = wd.query("SELECT kind, offboarded, restored FROM runs ORDER BY id");
    assert_eq!(
        kinds,
        [
            ["import", "0", "0"],
            ["offboard", "3", "0"],
            ["offboard", "0", "0"],
            ["import", "0", "0"],
            ["import", "0", "0"],
            ["restore", "0", "3"],
        ]
    );
}

#[test]
fn entra_bulk_delete_and_restore_templates_work_as_they_are() {
    let wd = four_people();
    wd.write(
        "UserDeleteTemplate.csv",
        "version:v1.0\r\nUser name [userPrincipalName] Required\r\nExample: chris@contoso.com\r\ncarl@contoso.com\r\n",
    );
    let (code, stderr) = run(
        &wd,
        &["offboard", "UserDeleteTemplate.csv", "-o", "del.csv"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("del.csv"),
        format!("{RESULTS}4,carl@contoso.com,Carl de Wit,offboarded,,,,\n")
    );
    wd.write(
        "UserRestoreTemplate.csv",
        &format!(
            "version:v1.0\r\nObject ID [objectId] Required\r\nExample: 00000000-0000-0000-0000-000000000000\r\n{}\r\n",
            object_id(&wd, "carl@contoso.com")
        ),
    );
    let (code, stderr) = run(
        &wd,
        &["restore", "UserRestoreTemplate.csv", "-o", "res.csv"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("res.csv"),
        format!("{RESULTS}4,carl@contoso.com,Carl de Wit,restored,<password>,,,\n")
    );
}

#[test]
fn purge_removes_offboarded_users_past_the_retention_for_good() {
    let wd = four_people();
    let bob = object_id(&wd, "bob@contoso.com");
    wd.write(
        "leavers.csv",
        "User Name\r\nbob@contoso.com\r\ncarl@contoso.com\r\n",
    );
    assert_eq!(run(&wd, &["offboard", "leavers.csv", "-o", "out.csv"]).0, 0);
    // Within the retention (30 days by default) nothing goes.
    let (code, stderr) = run(&wd, &["purge", "-o", "p1.csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(wd.results("p1.csv"), RESULTS);
    // Bob's offboarding is 31 days old now.
    wd.query(
        "UPDATE users SET deleted_at = '2020-01-01T00:00:00Z' WHERE user_key = 'bob@contoso.com'",
    );
    let (code, _) = run(&wd, &["purge", "--dry-run", "-o", "p2.csv"]);
    assert_eq!(code, 0);
    assert_eq!(
        wd.results("p2.csv"),
        format!(
            "{RESULTS},bob@contoso.com,Bob Jansen,purged,,,offboarded_at: 2020-01-01T00:00:00Z,\n"
        )
    );
    assert_eq!(
        wd.listing(&["--deleted"]).1.len(),
        2,
        "a dry run purges nothing"
    );
    let (code, _) = run(&wd, &["purge", "-o", "p3.csv"]);
    assert_eq!(code, 0);
    assert_eq!(wd.results("p3.csv"), wd.results("p2.csv"));
    assert_eq!(wd.listing(&["--deleted"]).1.len(), 1);
    assert_eq!(
        wd.query("SELECT count(*) FROM users WHERE user_key = 'bob@contoso.com'")[0][0],
        "0"
    );
    // A purged user cannot be restored; the name is free for a new account.
    wd.write("back.csv", &format!("Object ID\r\n{bob}\r\n"));
    let (code, _) = run(&wd, &["restore", "back.csv", "-o", "back.out.csv"]);
    assert_eq!(code, 1);
    assert_eq!(
        wd.results("back.out.csv"),
        format!("{RESULTS}2,,,not_found,,,,not_found: no user with Object ID {bob} in the directory (a purged user cannot be restored)\n")
    );
    wd.write(
        "rehire.csv",
        &workdir::csv(&["bob@contoso.com,Bob,,Bob Jansen,,,,,,,E2,"]),
    );
    assert_eq!(wd.import("rehire.csv", "rehire.out.csv", &[]), 0);
    assert_ne!(object_id(&wd, "bob@contoso.com"), bob, "a new account");
    // --older-than 0: everyone offboarded, now.
    let (code, _) = run(&wd, &["purge", "--older-than", "0", "-o", "p4.csv"]);
    assert_eq!(code, 0);
    assert!(wd
        .results("p4.csv")
        .contains(",carl@contoso.com,Carl de Wit,purged,"));
    assert_eq!(wd.listing(&["--deleted"]).1.len(), 0);
    let kinds = wd.query("SELECT kind, purged FROM runs WHERE kind = 'purge' ORDER BY id");
    assert_eq!(kinds, [["purge", "0"], ["purge", "1"], ["purge", "1"]]);
}

#[test]
fn an_offboard_over_its_error_budget_commits_nothing() {
    let wd = four_people();
    wd.write(
        "leavers.csv",
        "User Name\r\nanna@contoso.com\r\nx@contoso.com\r\ny@contoso.com\r\n",
    );
    let (code, stderr) = run(
        &wd,
        &[
            "offboard",
            "leavers.csv",
            "-o",
            "out.csv",
            "--max-failed",
            "1",
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("nothing was committed and no result file was written"),
        "{stderr}"
    );
    assert!(!wd.exists("out.csv"));
    assert_eq!(wd.listing(&["--deleted"]).1.len(), 0);
    assert_eq!(wd.query("SELECT count(*) FROM runs")[0][0], "1");
}

#[test]
fn unlicensed_users_are_counted_and_listed_with_their_days() {
    let wd = four_people();
    let seats = stdout(&wd, &["seats"]);
    assert!(
        seats.ends_with("\nunlicensed users: 1, 0 of them for more than 30 days (their mailbox is disabled): onboard users --unlicensed\n"),
        "{seats}"
    );
    wd.query("UPDATE users SET unlicensed_since = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 days') WHERE user_key = 'carl@contoso.com'");
    assert!(
        stdout(&wd, &["seats"]).contains("unlicensed users: 1, 1 of them for more than 30 days")
    );
    let (listing, _) = wd.listing(&["--unlicensed"]);
    assert_eq!(
        listing,
        format!(
            "{},Unlicensed Days\ncarl@contoso.com,Carl de Wit,Carl,,,,,,,,,,,,,,E3,NL,,,,No,<object id>,40\n",
            workdir::LISTING_HEADER.trim_end()
        )
    );
    // CSV and JSON keep their shape.
    assert_eq!(
        stdout(&wd, &["seats", "--format", "csv"]).lines().next(),
        Some("SKU,Name,Purchased,Assigned,Available")
    );
    // Given a licence (with seats bought for it), Carl is no longer unlicensed.
    wd.write(
        "tenant.toml",
        &workdir::TENANT.replace("seats = 3", "seats = 4"),
    );
    wd.write(
        "carl.csv",
        &workdir::csv(&["carl@contoso.com,Carl,,Carl de Wit,,SPE_E3,,,,,E3,"]),
    );
    assert_eq!(
        wd.import("carl.csv", "carl.out.csv", &["--on-existing", "update"]),
        0
    );
    assert_eq!(wd.listing(&["--unlicensed"]).1.len(), 0);
    assert!(!stdout(&wd, &["seats"]).contains("unlicensed users"));
}

/// An HR export's columns file: Dutch headers, User Names built from the names.
const HR_COLUMNS: &str = r#"
[columns]
"Personeelsnummer" = "Employee ID"
"Voornaam" = "First Name"
"Achternaam" = "Last Name"
"Licentie" = "Licenses"
"Status" = "Account Status"
[user_name]
pattern = "{first}.{last}@contoso.com"
[account_status]
active = ["In dienst"]
leaver = ["Uit dienst", "Terminated"]
"#;

/// Writes `rows` (after the HR header) as the HR export `name`, and the HR columns file.
fn write_hr(wd: &Workdir, name: &str, rows: &[&str]) {
    wd.write("hr.toml", HR_COLUMNS);
    let mut text = String::from("Personeelsnummer,Voornaam,Achternaam,Licentie,Status\r\n");
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    wd.write(name, &text);
}

/// HR rows of `n` active people Bo1 Ek … Bon Ek (Employee IDs E1 …), person `i` with the
/// licences `licenses(i)`.
fn bo_people(n: usize, licenses: impl Fn(usize) -> &'static str) -> Vec<String> {
    (1..=n)
        .map(|i| format!("E{i},Bo{i},Ek,{},In dienst", licenses(i)))
        .collect()
}

/// The tests' tenant with `seats` seats in each pool.
fn with_seats(wd: &Workdir, seats: usize) {
    wd.write(
        "tenant.toml",
        &workdir::TENANT
            .replace("seats = 3", &format!("seats = {seats}"))
            .replace("seats = 1", &format!("seats = {seats}")),
    );
}

/// Imports `rows` (after the HR header) as `name` with the HR columns file and `args`;
/// returns the exit code and the result file (passwords masked).
fn hr_import(wd: &Workdir, name: &str, rows: &[&str], args: &[&str]) -> (i32, String) {
    write_hr(wd, name, rows);
    let out_name = format!("{name}.out.csv");
    let mut all = vec!["import", name, "-o", &out_name, "--columns", "hr.toml"];
    all.extend_from_slice(args);
    let out = wd.onboard(&all).output().unwrap();
    let code = out.status.code().unwrap();
    let results = if wd.exists(&out_name) {
        wd.results(&out_name)
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (code, results)
}

const NIGHTLY: &[&str] = &["--match", "employee-id", "--on-existing", "update"];

#[test]
fn matched_by_employee_id_a_namesake_gets_a_number_and_a_typed_name_renames() {
    let wd = Workdir::new();
    let (code, _) = hr_import(
        &wd,
        "night1.csv",
        &["E1,Jan,Jansen,SPE_E3,In dienst"],
        NIGHTLY,
    );
    assert_eq!(code, 0);
    let jan = object_id(&wd, "jan.jansen@contoso.com");
    // Matched by User Name (the default), a new Jan Jansen cannot be told from the first.
    let (code, results) = hr_import(&wd, "night2.csv", &["E2,Jan,Jansen,,In dienst"], &[]);
    assert_eq!(code, 1);
    assert!(results.contains("already_exists: the built User Name jan.jansen@contoso.com is the directory's user with Employee ID E1"), "{results}");
    // Matched by Employee ID, the new Jan is numbered past the directory's name and
    // does not land on the first Jan's account.
    let (code, results) = hr_import(&wd, "night2b.csv", &["E2,Jan,Jansen,,In dienst"], NIGHTLY);
    assert_eq!(code, 0, "{results}");
    assert_eq!(
        results,
        format!(
            "{RESULTS}\
2,jan.jansen2@contoso.com,Jan Jansen,created,<password>,,user_name_generated: jan.jansen@contoso.com | user_name_numbered: jan.jansen2@contoso.com (jan.jansen@contoso.com is taken in the file or the directory),
"
        )
    );
    // The next night: both Jans keep their names, a third gets the next number.
    let (code, results) = hr_import(
        &wd,
        "night3.csv",
        &[
            "E1,Jan,Jansen,SPE_E3,In dienst",
            "E2,Jan,Jansen,,In dienst",
            "E3,Jan,Jansen,,In dienst",
        ],
        NIGHTLY,
    );
    assert_eq!(code, 0, "{results}");
    assert_eq!(
        results,
        format!(
            "{RESULTS}\
2,jan.jansen@contoso.com,Jan Jansen,unchanged,,SPE_E3,,
3,jan.jansen2@contoso.com,Jan Jansen,unchanged,,,,
4,jan.jansen3@contoso.com,Jan Jansen,created,<password>,,user_name_numbered: jan.jansen3@contoso.com (jan.jansen@contoso.com is taken on line 2),
"
        )
    );
    // A typed User Name that differs renames the matched person; the Object ID stays.
    wd.write(
        "rename.csv",
        "User Name,Display Name,Employee ID\r\njan.smit@contoso.com,Jan Smit,E1\r\nx@contoso.com,X,\r\n",
    );
    let out = wd
        .onboard(&[
            "import",
            "rename.csv",
            "-o",
            "rename.out.csv",
            "--match",
            "employee-id",
            "--on-existing",
            "update",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        wd.results("rename.out.csv"),
        format!(
            "{RESULTS}\
2,jan.smit@contoso.com,Jan Smit,updated,,,renamed: jan.jansen@contoso.com → jan.smit@contoso.com,
3,x@contoso.com,X,failed,,,,required: Employee ID is empty; --match employee-id goes by it
"
        )
    );
    assert_eq!(object_id(&wd, "jan.smit@contoso.com"), jan);
    // --full-export needs --match employee-id.
    let (code, stderr) = hr_import(
        &wd,
        "night4.csv",
        &["E1,Jan,Smit,,In dienst"],
        &["--full-export"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--full-export needs --match employee-id"),
        "{stderr}"
    );
}

#[test]
fn leavers_in_the_hr_export_are_offboarded_and_free_their_seats() {
    let wd = Workdir::new();
    let people: Vec<String> = (1..=12)
        .map(|i| {
            format!(
                "E{i},Anna{i},Smit,{},In dienst",
                if i <= 3 { "SPE_E3" } else { "" }
            )
        })
        .collect();
    let rows: Vec<&str> = people.iter().map(String::as_str).collect();
    assert_eq!(hr_import(&wd, "night1.csv", &rows, NIGHTLY).0, 0);
    // Anna1 leaves: her E3 seat serves Anna4 in the same run, later in the file. An
    // unknown leaver is skipped; an unknown status fails its row.
    let (code, results) = hr_import(
        &wd,
        "night2.csv",
        &[
            "E1,Anna1,Smit,SPE_E3,Uit dienst",
            "E4,Anna4,Smit,SPE_E3,In dienst",
            "E99,Nobody,Here,,Terminated",
            "E5,Anna5,Smit,,Sabbatical",
        ],
        NIGHTLY,
    );
    assert_eq!(code, 1, "{results}");
    assert_eq!(
        results,
        format!(
            "{RESULTS}\
2,anna1.smit@contoso.com,Anna1 Smit,offboarded,,SPE_E3,,
3,anna4.smit@contoso.com,Anna4 Smit,updated,,SPE_E3,,
4,nobody.here@contoso.com,Nobody Here,skipped,,,user_name_generated: nobody.here@contoso.com | not_found: a leaver who is not in the directory,
5,anna5.smit@contoso.com,Anna5 Smit,failed,,,user_name_generated: anna5.smit@contoso.com,invalid_value: Account Status `Sabbatical` is neither active nor leaver; list the HR system's values in the --columns file's [account_status]
"
        )
    );
    assert_eq!(wd.seat_counts(), [("SPE_E3".to_string(), 3)]);
    assert_eq!(wd.seat_counts(), wd.assigned());
    assert_eq!(wd.listing(&["--deleted"]).1.len(), 1);
    assert_eq!(
        wd.query("SELECT offboarded FROM runs ORDER BY id DESC LIMIT 1")[0][0],
        "1"
    );
}

#[test]
fn a_full_export_offboards_who_is_missing_and_the_guard_stops_a_broken_one() {
    let wd = Workdir::new();
    let people = bo_people(20, |i| if i == 2 { "EMS" } else { "" });
    let rows: Vec<&str> = people.iter().map(String::as_str).collect();
    assert_eq!(hr_import(&wd, "night1.csv", &rows, NIGHTLY).0, 0);
    let mut full = NIGHTLY.to_vec();
    full.push("--full-export");
    // Bo2 is not in tonight's export: 1 of 20 (5%) leaves, after the input's rows.
    let mut tonight: Vec<&str> = rows.clone();
    tonight.remove(1);
    let (code, results) = hr_import(&wd, "night2.csv", &tonight, &full);
    assert_eq!(code, 0, "{results}");
    assert!(
        results.ends_with(
            ",bo2.ek@contoso.com,Bo2 Ek,offboarded,,EMS,left: not in the full export,\n"
        ),
        "{results}"
    );
    assert_eq!(results.lines().count(), 1 + 19 + 1);
    assert_eq!(wd.seat_counts(), []);
    // A broken export of 3 people would offboard 16 of 19: over the 10% guard, nothing
    // is committed, exit 3, no result file.
    let (code, stderr) = hr_import(&wd, "broken.csv", &tonight[..3], &full);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("the run would offboard more people than --max-leavers allows (is the HR export whole?); nothing was committed"), "{stderr}");
    assert!(!wd.exists("broken.csv.out.csv"));
    assert_eq!(wd.listing(&[]).1.len(), 19);
    // A dry run shows the same plan and changes nothing; --max-leavers can allow it.
    let mut allow = full.clone();
    allow.extend_from_slice(&["--max-leavers", "100%", "--dry-run"]);
    let (code, results) = hr_import(&wd, "broken.csv", &tonight[..3], &allow);
    assert_eq!(code, 0, "{results}");
    assert_eq!(results.matches(",offboarded,").count(), 16);
    assert_eq!(wd.listing(&[]).1.len(), 19);
}

#[test]
fn a_nightly_never_trusts_what_it_kept_of_a_person_changed_since() {
    let wd = Workdir::new();
    let people = bo_people(6, |i| if i == 5 { "SPE_E3" } else { "" });
    let rows: Vec<&str> = people.iter().map(String::as_str).collect();
    let kept = || wd.query("SELECT count(*) FROM person_digests")[0][0].clone();
    assert_eq!(hr_import(&wd, "night1.csv", &rows, NIGHTLY).0, 0);
    // The first night created them; the second reads them all and keeps their digests.
    let (code, results) = hr_import(&wd, "night2.csv", &rows, NIGHTLY);
    assert_eq!((code, results.matches(",unchanged,").count()), (0, 6));
    assert_eq!(kept(), "6");

    // Changed since, in every way: a User Name import (Bo1's Last Name), by hand in the
    // directory (Bo4's First Name; Bo5's licence, its seat given back), offboarded (Bo2),
    // offboarded and purged (Bo6, the last user, whose id the next new user gets again).
    wd.write(
        "by-name.csv",
        &workdir::csv(&["bo1.ek@contoso.com,Bo1,Smit,Bo1 Ek,,,,,,,E1,"]),
    );
    assert_eq!(
        wd.import(
            "by-name.csv",
            "by-name.out.csv",
            &["--on-existing", "update"]
        ),
        0
    );
    assert!(wd.results("by-name.out.csv").contains(",updated,"));
    wd.query("UPDATE users SET first_name = 'Hand' WHERE employee_id = 'E4'");
    wd.query(
        "DELETE FROM user_licenses WHERE user_id = \
         (SELECT id FROM users WHERE employee_id = 'E5')",
    );
    wd.query("UPDATE seat_counts SET assigned = 0 WHERE sku = 'SPE_E3'");
    wd.write("e6.csv", "Employee ID\r\nE6\r\n");
    assert_eq!(run(&wd, &["offboard", "e6.csv", "-o", "off6.csv"]).0, 0);
    assert_eq!(
        run(&wd, &["purge", "--older-than", "0", "-o", "purge.csv"]).0,
        0
    );
    assert_eq!(wd.query("SELECT count(*) FROM users")[0][0], "5");
    wd.write("e2.csv", "Employee ID\r\nE2\r\n");
    assert_eq!(run(&wd, &["offboard", "e2.csv", "-o", "off2.csv"]).0, 0);

    // The export says what it said before: each changed person is put back (Bo2, whom
    // onboard offboarded, fails until restored), Bo6 is new again.
    let (code, results) = hr_import(&wd, "night3.csv", &rows, NIGHTLY);
    assert_eq!(code, 1, "{results}");
    let statuses: Vec<String> = results
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{} {} {}", f[1], f[3], f[5])
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "bo1.ek@contoso.com updated ",
            "bo2.ek@contoso.com failed ",
            "bo3.ek@contoso.com unchanged ",
            "bo4.ek@contoso.com updated ",
            "bo5.ek@contoso.com updated SPE_E3",
            "bo6.ek@contoso.com created ",
        ],
        "{results}"
    );
    assert_eq!(wd.seat_counts(), [("SPE_E3".to_string(), 1)]);
    assert_eq!(
        wd.query("SELECT first_name, last_name FROM users WHERE employee_id IN ('E1', 'E4') ORDER BY employee_id"),
        [["Bo1", "Ek"], ["Bo4", "Ek"]]
    );
    // What the night read again, and the people it wrote, it keeps before it commits.
    assert_eq!(kept(), "6");
    // The next night finds everyone as the export says.
    let (code, results) = hr_import(&wd, "night4.csv", &rows, NIGHTLY);
    assert_eq!(code, 1, "{results}");
    assert_eq!(results.matches(",unchanged,").count(), 5, "{results}");
    assert_eq!(kept(), "6");
}

#[test]
fn a_nightly_plans_the_same_with_or_without_the_digests_it_kept() {
    let wd = Workdir::new();
    let people: Vec<String> = (1..=40)
        .map(|i| {
            let license = ["", "SPE_E3", "EMS", "SPE_E3+EMS"][i % 4];
            format!("E{i},Bo{i},Ek{},{license},In dienst", i % 7)
        })
        .collect();
    let rows: Vec<&str> = people.iter().map(String::as_str).collect();
    with_seats(&wd, 100);
    let mut full = NIGHTLY.to_vec();
    full.extend_from_slice(&["--full-export", "--max-leavers", "100%"]);
    assert_eq!(hr_import(&wd, "night1.csv", &rows, &full).0, 0);
    let (code, results) = hr_import(&wd, "night2.csv", &rows, &full);
    assert_eq!((code, results.matches(",unchanged,").count()), (0, 40));
    assert_eq!(wd.query("SELECT count(*) FROM person_digests")[0][0], "40");
    // Tonight: new names, other licences, leavers, people gone from the export.
    let tonight: Vec<String> = people
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 9 != 4)
        .map(|(i, row)| match i % 5 {
            0 => row.replace(",Bo", ",Jo"),
            1 => row.replace(",In dienst", ",Uit dienst"),
            2 => row.replace("SPE_E3", "EMS"),
            _ => row.clone(),
        })
        .collect();
    let tonight: Vec<&str> = tonight.iter().map(String::as_str).collect();
    let mut dry = full.clone();
    dry.push("--dry-run");
    let (code, with_digests) = hr_import(&wd, "kept.csv", &tonight, &dry);
    wd.query("DELETE FROM person_digests");
    let (code_without, without) = hr_import(&wd, "read.csv", &tonight, &dry);
    assert_eq!((code, &with_digests), (code_without, &without));
    assert_eq!(code, 0, "{with_digests}");
    for status in [
        ",updated,",
        ",unchanged,",
        ",offboarded,",
        "not in the full export",
    ] {
        assert!(with_digests.contains(status), "{status}: {with_digests}");
    }
    // And so does the real run, which reads them all again.
    let (code_real, real) = hr_import(&wd, "real.csv", &tonight, &full);
    assert_eq!((code_real, real), (code, with_digests));
}

#[test]
fn a_nightly_killed_before_its_commit_leaves_the_kept_digests_as_they_were() {
    let wd = Workdir::new();
    with_seats(&wd, 100);
    let people = bo_people(30, |i| ["", "SPE_E3", "EMS"][i % 3]);
    let rows: Vec<&str> = people.iter().map(String::as_str).collect();
    let mut full = NIGHTLY.to_vec();
    full.extend_from_slice(&["--full-export", "--max-leavers", "100%"]);
    assert_eq!(hr_import(&wd, "night1.csv", &rows, &full).0, 0);
    assert_eq!(hr_import(&wd, "night2.csv", &rows, &full).0, 0);
    let digests = || wd.query("SELECT * FROM person_digests ORDER BY user_id");
    let kept = digests();
    assert_eq!(kept.len(), 30);
    // Tonight: new people, changed licences, leavers, people gone from the export.
    let mut tonight: Vec<String> = people
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 != 3)
        .map(|(i, row)| match i % 5 {
            1 => row.replace(",In dienst", ",Uit dienst"),
            2 => row.replace(",,In", ",SPE_E3,In"),
            _ => row.clone(),
        })
        .collect();
    tonight.push("E99,Nieuw,Mens,EMS,In dienst".to_string());
    let tonight: Vec<&str> = tonight.iter().map(String::as_str).collect();
    let mut dry = full.clone();
    dry.push("--dry-run");
    let (_, planned) = hr_import(&wd, "planned.csv", &tonight, &dry);

    // Killed with everything written and the digests of the people it wrote kept, but
    // not committed.
    write_hr(&wd, "tonight.csv", &tonight);
    let mut args = vec![
        "import",
        "tonight.csv",
        "-o",
        "killed.csv",
        "--columns",
        "hr.toml",
    ];
    args.extend_from_slice(&full);
    let mut child = wd.paused_at(&args, "staged");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(digests(), kept, "as before the run");
    assert_eq!(wd.listing(&[]).1.len(), 30);

    // The night run again does what it planned (a dry run shows no passwords), and keeps
    // what it wrote.
    let (code, results) = hr_import(&wd, "tonight.csv", &tonight, &full);
    assert_eq!(results.matches("<password>").count(), 1, "{results}");
    assert_eq!((code, results.replace("<password>", "")), (0, planned));
    assert_eq!(
        digests().len(),
        wd.query("SELECT count(*) FROM users")[0][0]
            .parse::<usize>()
            .unwrap()
    );
}

#[test]
fn offboarding_thousands_at_once_frees_every_seat_they_held() {
    let wd = Workdir::new();
    with_seats(&wd, 5000);
    // More people than one group of statements offboards.
    let n = 4500;
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let licenses = ["SPE_E3", "SPE_E3+EMS", ""][i % 3];
            format!("u{i}@contoso.com,U,{i},U {i},,{licenses},,,,,E{i},")
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    wd.write("users.csv", &workdir::csv(&rows));
    assert_eq!(wd.import("users.csv", "users.out.csv", &[]), 0);
    let mut leavers = String::from("Employee ID\r\n");
    for i in (0..n).filter(|i| i % 9 != 0) {
        leavers.push_str(&format!("E{i}\r\n"));
    }
    wd.write("leavers.csv", &leavers);
    let (code, stderr) = run(&wd, &["offboard", "leavers.csv", "-o", "off.csv"]);
    assert_eq!(code, 0, "{stderr}");
    let results = wd.results("off.csv");
    assert_eq!(results.matches(",offboarded,").count(), 4000);
    assert_eq!(wd.listing(&["--deleted"]).1.len(), 4000);
    // The 500 who stay (every ninth) hold SPE_E3; every other seat is free again.
    assert_eq!(wd.seat_counts(), [("SPE_E3".to_string(), 500)]);
    assert_eq!(
        wd.query("SELECT sku, count(*) FROM user_licenses GROUP BY sku"),
        [["SPE_E3", "500"]]
    );
    // What the leavers held is kept for a restore.
    let held: usize = (0..n)
        .filter(|i| i % 9 != 0)
        .map(|i| [1, 2, 0][i % 3])
        .sum();
    assert_eq!(
        wd.query("SELECT count(*) FROM user_offboarded_licenses")[0][0],
        held.to_string()
    );
}
