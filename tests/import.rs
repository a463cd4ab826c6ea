//! `onboard import` end to end: statuses, seats, re-runs, policies, dry run, exit codes.

use std::os::unix::fs::PermissionsExt;

use crate::workdir::{csv, Workdir};

/// Six rows against 3 SPE_E3 seats and 1 EMS seat: seats go in file order, all of a
/// row's licences or none, and a duplicate fails while the first row goes on.
const SHORTAGE: &[&str] = &[
    "anna@contoso.com,Anna,Smit,Anna Smit,,SPE_E3,,,,,E1,",
    "bob@contoso.com,Bob,,Bob Jansen,DE,SPE_E3+EMS,INTUNE_A,User Administrator,,,E2,",
    "carl@fabrikam.nl,,,Carl,,EMS,,,,,E3,",
    "dirk,,,Dirk,,Microsoft 365 E3,,,,,E4,",
    "eve@contoso.com,,,Eve,,SPE_E3,,,,,E5,",
    "ANNA@contoso.com,,,Anna 2,,,,,,,E6,",
];

#[test]
fn creates_users_and_serves_seats_in_file_order() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(SHORTAGE));
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 1);
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,anna@contoso.com,Anna Smit,created,<password>,SPE_E3,,
3,bob@contoso.com,Bob Jansen,created,<password>,SPE_E3+EMS,,
4,carl@fabrikam.nl,Carl,created,<password>,,no_seats: EMS,
5,dirk@contoso.com,Dirk,created,<password>,SPE_E3,,
6,eve@contoso.com,Eve,created,<password>,,no_seats: SPE_E3,
7,ANNA@contoso.com,Anna 2,failed,,,,duplicate_in_file: User Name ANNA@contoso.com is also on line 2
"
    );
    assert_eq!(wd.user_count(), 5);
    assert_eq!(
        wd.assigned(),
        [("EMS".to_string(), 1), ("SPE_E3".to_string(), 3)]
    );
    assert_eq!(
        wd.query("SELECT u.user_name, r.role FROM user_roles r JOIN users u ON u.id = r.user_id"),
        [["bob@contoso.com", "User Administrator"]]
    );
    assert_eq!(
        wd.query("SELECT sku, app FROM user_disabled_apps"),
        [["EMS", "INTUNE_A"]]
    );
    assert_eq!(
        wd.query("SELECT usage_location FROM users WHERE user_key = 'anna@contoso.com'"),
        [["NL"]],
        "the tenant's default usage location applies"
    );
}

#[test]
fn on_shortage_fail_fails_the_row_and_reserves_nothing() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(SHORTAGE));
    assert_eq!(
        wd.import("users.csv", "out.csv", &["--on-shortage", "fail"]),
        1
    );
    let results = wd.results("out.csv");
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(
        lines[3],
        "4,carl@fabrikam.nl,Carl,failed,,,,no_seats: no seats left for EMS"
    );
    assert_eq!(
        lines[5],
        "6,eve@contoso.com,Eve,failed,,,,no_seats: no seats left for SPE_E3"
    );
    assert_eq!(wd.user_count(), 3);
    assert_eq!(
        wd.assigned(),
        [("EMS".to_string(), 1), ("SPE_E3".to_string(), 3)]
    );
}

const CLEAN: &[&str] = &[
    "anna@contoso.com,Anna,Smit,Anna Smit,,SPE_E3,,,,,E1,",
    "bob@contoso.com,Bob,,Bob Jansen,DE,EMS,,,,,E2,",
];

#[test]
fn the_same_file_twice_creates_nobody_twice_and_uses_no_seat_twice() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    assert_eq!(wd.import("users.csv", "first.csv", &[]), 0);
    let seats = wd.assigned();
    assert_eq!(wd.import("users.csv", "second.csv", &[]), 0);
    assert_eq!(
        wd.results("second.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,anna@contoso.com,Anna Smit,skipped,,,,
3,bob@contoso.com,Bob Jansen,skipped,,,,
"
    );
    assert_eq!(wd.user_count(), 2);
    assert_eq!(wd.assigned(), seats);
    assert_eq!(
        wd.query("SELECT count(*), sum(created), sum(skipped) FROM runs"),
        [["2", "2", "2"]]
    );
}

#[test]
fn on_existing_update_changes_profiles_and_adds_licences() {
    let wd = Workdir::new();
    wd.write(
        "first.csv",
        &csv(&[
            "anna@contoso.com,Anna,Smit,Anna Smit,,,,,,,E1,",
            "bob@contoso.com,Bob,,Bob Jansen,DE,EMS,,,,,E2,",
        ]),
    );
    assert_eq!(wd.import("first.csv", "first.results.csv", &[]), 0);
    wd.write(
        "second.csv",
        &csv(&[
            "Anna@Contoso.com,,Smit-de Wit,Anna Smit-de Wit,,SPE_E3,TEAMS1,Helpdesk Administrator,Secret123!x,yes,,",
            "bob@contoso.com,Bob,,Bob Jansen,DE,EMS,,,,,E2,",
            "carl@contoso.com,,,Carl,,,,,,,,",
        ]),
    );
    assert_eq!(
        wd.import(
            "second.csv",
            "second.results.csv",
            &["--on-existing", "update"]
        ),
        0
    );
    assert_eq!(
        wd.results("second.results.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,Anna@Contoso.com,Anna Smit-de Wit,updated,,SPE_E3,password_ignored: an existing user keeps their password,
3,bob@contoso.com,Bob Jansen,unchanged,,EMS,,
4,carl@contoso.com,Carl,created,<password>,,,
"
    );
    assert_eq!(
        wd.query(
            "SELECT user_name, first_name, last_name, display_name, block_sign_in, employee_id \
             FROM users WHERE user_key = 'anna@contoso.com'"
        ),
        [[
            "anna@contoso.com",
            "Anna",
            "Smit-de Wit",
            "Anna Smit-de Wit",
            "1",
            "E1"
        ]],
        "non-empty cells overwrite, empty cells keep the stored value"
    );
    assert_eq!(
        wd.assigned(),
        [("EMS".to_string(), 1), ("SPE_E3".to_string(), 1)]
    );
    assert_eq!(
        wd.query("SELECT role FROM user_roles"),
        [["Helpdesk Administrator"]]
    );
}

#[test]
fn on_existing_update_serves_only_missing_licences_from_the_pool() {
    let wd = Workdir::new();
    wd.write("a.csv", &csv(&["bob@contoso.com,,,Bob,,EMS,,,,,,"]));
    assert_eq!(wd.import("a.csv", "a.out.csv", &[]), 0);
    // EMS is used up by Bob himself: asking again must not need a second seat.
    wd.write("b.csv", &csv(&["bob@contoso.com,,,Bob,,EMS+SPE_E3,,,,,,"]));
    assert_eq!(
        wd.import("b.csv", "b.out.csv", &["--on-existing", "update"]),
        0
    );
    assert_eq!(
        wd.results("b.out.csv").lines().nth(1).unwrap(),
        "2,bob@contoso.com,Bob,updated,,EMS+SPE_E3,,"
    );
    assert_eq!(
        wd.assigned(),
        [("EMS".to_string(), 1), ("SPE_E3".to_string(), 1)]
    );
}

#[test]
fn dry_run_writes_what_the_real_run_would_and_touches_nothing() {
    let wd = Workdir::new();
    wd.write("seed.csv", &csv(&["zed@contoso.com,,,Zed,,SPE_E3,,,,,,"]));
    assert_eq!(wd.import("seed.csv", "seed.out.csv", &[]), 0);
    let db_before = wd.read_bytes("onboard.db");
    wd.write("users.csv", &csv(SHORTAGE));

    assert_eq!(wd.import("users.csv", "dry.csv", &["--dry-run"]), 1);
    assert_eq!(
        wd.read_bytes("onboard.db"),
        db_before,
        "directory untouched"
    );
    assert!(
        wd.passwords("dry.csv").iter().all(String::is_empty),
        "a dry run generates no password"
    );
    assert_eq!(wd.import("users.csv", "real.csv", &[]), 1);
    let without_passwords = |name: &str| -> String { wd.results(name).replace("<password>", "") };
    assert_eq!(without_passwords("dry.csv"), without_passwords("real.csv"));
    assert!(wd.results("real.csv").contains("no_seats: SPE_E3"));
}

#[test]
fn dry_run_on_a_missing_directory_creates_no_file() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    assert_eq!(wd.import("users.csv", "dry.csv", &["--dry-run"]), 0);
    assert!(!wd.exists("onboard.db"));
    assert!(wd
        .results("dry.csv")
        .contains("2,anna@contoso.com,Anna Smit,created,,SPE_E3,,"));
}

#[test]
fn an_existing_result_file_is_kept_without_force() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    wd.write("out.csv", "keep me");
    let out = wd
        .onboard(&["import", "users.csv", "-o", "out.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("result file out.csv already exists; use --force"),
        "{stderr}"
    );
    assert_eq!(wd.read("out.csv"), "keep me");
    assert_eq!(wd.user_count(), 0, "a fatal error writes nothing");

    assert_eq!(wd.import("users.csv", "out.csv", &["--force"]), 0);
    assert!(wd.read("out.csv").starts_with("Line,User Name"));
}

#[test]
fn result_file_is_private_and_lands_next_to_the_input_stem() {
    let wd = Workdir::new();
    wd.write("sales team.csv", &csv(CLEAN));
    let out = wd
        .onboard(&["import", "sales team.csv", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mode = std::fs::metadata(wd.path("sales team.results.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(wd.dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "no staged file is left behind");
}

#[test]
fn max_failed_stops_a_broken_export_before_anything_is_committed() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "anna@contoso.com,,,Anna,,,,,,,,",
            "bad@example.org,,,Bad,,,,,,,,",
            "worse@example.org,,,Worse,,,,,,,,",
            "bob@contoso.com,,,Bob,,,,,,,,",
        ]),
    );
    let out = wd
        .onboard(&[
            "import",
            "users.csv",
            "-o",
            "out.csv",
            "--max-failed",
            "25%",
            "--summary",
            "s.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was committed"));
    assert_eq!(wd.user_count(), 0);
    assert!(!wd.exists("out.csv"), "no result file: no user was created");
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["committed"], false);
    assert_eq!(summary["status"]["failed"], 2);

    assert_eq!(wd.import("users.csv", "out.csv", &["--max-failed", "1"]), 3);
    assert_eq!(wd.import("users.csv", "out.csv", &["--max-failed", "2"]), 1);
    assert_eq!(wd.user_count(), 2);
}

#[test]
fn summary_json_counts_everything_and_holds_no_password() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(SHORTAGE));
    let out = wd
        .onboard(&[
            "import",
            "users.csv",
            "-o",
            "out.csv",
            "--summary",
            "summary.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = wd.read("summary.json");
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["rows"], 6);
    assert_eq!(s["status"]["created"], 5);
    assert_eq!(s["status"]["failed"], 1);
    assert_eq!(s["status"]["skipped"], 0);
    assert_eq!(s["errors"]["duplicate_in_file"], 1);
    assert_eq!(s["warnings"]["no_seats"], 2);
    assert_eq!(s["seats"][0]["sku"], "SPE_E3");
    assert_eq!(s["seats"][0]["assigned_before"], 0);
    assert_eq!(s["seats"][0]["assigned_after"], 3);
    assert_eq!(s["seats"][1]["available_after"], 0);
    assert_eq!(s["exit_code"], 1);
    assert_eq!(s["input_sha256"].as_str().unwrap().len(), 64);
    for p in wd.passwords("out.csv").iter().filter(|p| !p.is_empty()) {
        assert!(!text.contains(p.as_str()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 rows read"), "{stderr}");
    assert!(
        stderr.contains("seats SPE_E3: 0 → 3 of 3 assigned"),
        "{stderr}"
    );
}

#[test]
fn passwords_are_generated_or_taken_from_the_row() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "anna@contoso.com,,,Anna,,,,,Zomer2026!x,,,",
            "bob@contoso.com,,,Bob,,,,,,,,",
            "carl@contoso.com,,,Carl,,,,,,,,",
        ]),
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    let p = wd.passwords("out.csv");
    assert_eq!(p[0], "Zomer2026!x");
    assert_eq!(p[1].len(), 16);
    assert_ne!(p[1], p[2]);
    let db = wd.read_bytes("onboard.db");
    for pw in &p {
        assert!(
            !db.windows(pw.len()).any(|w| w == pw.as_bytes()),
            "the directory holds no password"
        );
    }
}

#[test]
fn formula_cells_are_defused_in_every_column() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "=cmd|' /C calc'!A0,,,+SUM(1),,,,,,,,",
            "anna@contoso.com,,,@Anna,,,,,,,,",
            "bob@contoso.com,,,-Bob,,@evil,,,,,,",
        ]),
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 1);
    let text = wd.read("out.csv");
    assert!(
        text.contains("'=cmd|' /C calc'!A0@contoso.com,'+SUM(1),failed"),
        "{text}"
    );
    assert!(text.contains("anna@contoso.com,'@Anna,created"), "{text}");
    assert!(
        text.contains(",'-Bob,failed,,,,\"unknown_license: `@evil`"),
        "{text}"
    );
    for line in text.lines() {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
}

#[test]
fn global_administrator_needs_the_flag() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&["anna@contoso.com,,,Anna,,,,global administrator,,,,"]),
    );
    assert_eq!(wd.import("users.csv", "a.csv", &[]), 1);
    assert_eq!(
        wd.results("a.csv").lines().nth(1).unwrap(),
        "2,anna@contoso.com,Anna,failed,,,,role_not_allowed: Global Administrator is only given with --allow-global-admin"
    );
    assert_eq!(
        wd.import("users.csv", "b.csv", &["--allow-global-admin"]),
        0
    );
    assert_eq!(
        wd.query("SELECT role FROM user_roles"),
        [["Global Administrator"]]
    );
}

#[test]
fn fatal_errors_exit_2_and_write_nothing() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    let cases: &[(&[&str], &str)] = &[
        (
            &["import", "missing.csv", "-o", "o.csv"],
            "cannot read input file missing.csv",
        ),
        (
            &["import", "users.csv", "-o", "o.csv", "--bogus"],
            "unexpected argument '--bogus'",
        ),
        (
            &["import", "users.csv", "-o", "o.csv", "--max-failed", "lots"],
            "not a number of rows",
        ),
        (
            &[
                "import",
                "users.csv",
                "-o",
                "o.csv",
                "--on-existing",
                "merge",
            ],
            "invalid value 'merge'",
        ),
        (&["import", ".", "-o", "o.csv"], "is a folder"),
        (
            &["import", "users.csv", "-o", "nofolder/o.csv"],
            "folder nofolder does not exist",
        ),
    ];
    for (args, message) in cases {
        let out = wd.onboard(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!wd.exists("o.csv"));
        assert!(!wd.exists("onboard.db"), "{args:?} created the directory");
    }
    wd.write(
        "tenant.toml",
        "name = \"x\"\ndomains = [\"contoso.com\"]\n[password]\nlength = 300\n",
    );
    let out = wd
        .onboard(&["import", "users.csv", "-o", "o.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenant file tenant.toml: line 4: password length 300 is out of range"),
        "{stderr}"
    );
    assert!(!wd.exists("o.csv"));
}

#[test]
fn exit_code_0_when_every_row_is_fine_with_warnings() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "a@contoso.com,,,A,,EMS,,,,,,",
            "b@contoso.com,,,B,,EMS,,,,,,",
        ]),
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    assert!(wd
        .results("out.csv")
        .contains("3,b@contoso.com,B,created,<password>,,no_seats: EMS,"));
}

#[test]
fn a_second_import_waits_for_the_lock_then_gives_up_with_exit_2() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    assert_eq!(wd.import("users.csv", "first.csv", &[]), 0);
    // Another import holds the directory's write lock.
    let holder = rusqlite::Connection::open(wd.path("onboard.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let out = wd
        .onboard(&[
            "import",
            "users.csv",
            "-o",
            "second.csv",
            "--lock-timeout",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "it waited"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("directory busy: another import holds onboard.db"),
        "{stderr}"
    );
    assert!(!wd.exists("second.csv"));
    // A dry run only reads a snapshot: it does not wait.
    assert_eq!(wd.import("users.csv", "dry.csv", &["--dry-run"]), 0);
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(wd.import("users.csv", "second.csv", &[]), 0);
    assert_eq!(wd.column("second.csv", 3), ["skipped", "skipped"]);
}

#[test]
fn a_first_import_goes_through_a_rollback_journal_and_leaves_the_directory_in_wal() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    assert_eq!(wd.query("PRAGMA journal_mode"), [["wal"]]);
    assert_eq!(wd.query("PRAGMA page_size"), [["8192"]]);
    assert!(!wd.exists("onboard.db-journal"));
    // The next import (users in the directory) writes through WAL, as before.
    assert_eq!(wd.import("users.csv", "again.csv", &[]), 0);
    assert_eq!(wd.query("PRAGMA journal_mode"), [["wal"]]);
}

#[test]
fn a_killed_first_import_leaves_an_empty_directory_that_every_command_reads() {
    let wd = Workdir::new();
    // Enough rows that SQLite writes pages into the file before the commit, so the kill
    // leaves a hot rollback journal.
    let long = "x".repeat(200);
    let rows: Vec<String> = (0..30_000)
        .map(|i| format!("k{i}@contoso.com,{long},{long},User {i},,,,,,,E{i},"))
        .collect();
    wd.write(
        "big.csv",
        &csv(&rows.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    let mut child = wd.paused_at(
        &["import", "big.csv", "-o", "big.results.csv", "-q"],
        "staged",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(wd.exists("onboard.db-journal"), "a hot journal is left");
    // Readers roll it back and see an empty directory.
    let out = wd.onboard(&["users"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(wd.onboard(&["seats"]).output().unwrap().status.success());
    assert!(wd.onboard(&["runs"]).output().unwrap().status.success());
    assert_eq!(wd.user_count(), 0);
    wd.write("users.csv", &csv(CLEAN));
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    assert_eq!(wd.user_count(), 2);
    assert_eq!(wd.query("PRAGMA journal_mode"), [["wal"]]);
}

#[test]
fn concurrent_imports_never_overbook_nor_create_twice() {
    let wd = Workdir::new();
    // Overlapping users and more demand than the 3 + 1 seats.
    let a: Vec<String> = (0..300)
        .map(|i| format!("user{i}@contoso.com,,,User {i},,SPE_E3+EMS,,,,,,"))
        .collect();
    let b: Vec<String> = (150..450)
        .map(|i| format!("user{i}@contoso.com,,,User {i},,SPE_E3,,,,,,"))
        .collect();
    wd.write(
        "a.csv",
        &csv(&a.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    wd.write(
        "b.csv",
        &csv(&b.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    let spawn = |input: &str, output: &str| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("onboard"))
            .current_dir(wd.dir())
            .args(["import", input, "-o", output, "-q"])
            .args(["--tenant", "tenant.toml", "--directory", "onboard.db"])
            .spawn()
            .unwrap()
    };
    let mut first = spawn("a.csv", "a.out.csv");
    let mut second = spawn("b.csv", "b.out.csv");
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(second.wait().unwrap().code(), Some(0));
    assert_eq!(wd.user_count(), 450, "every user once");
    // Whichever ran first took the SPE_E3 seats; EMS only goes with SPE_E3 (all or none).
    let assigned = wd.assigned();
    assert!(
        assigned.contains(&("SPE_E3".to_string(), 3)),
        "{assigned:?}"
    );
    assert!(
        assigned
            .iter()
            .all(|(sku, n)| *n <= if sku == "SPE_E3" { 3 } else { 1 }),
        "{assigned:?}"
    );
    assert_eq!(
        wd.seat_counts(),
        assigned,
        "the seat counter matches the assignments"
    );
    let created_a = wd
        .column("a.out.csv", 3)
        .iter()
        .filter(|s| *s == "created")
        .count();
    let created_b = wd
        .column("b.out.csv", 3)
        .iter()
        .filter(|s| *s == "created")
        .count();
    assert_eq!(
        created_a + created_b,
        450,
        "the overlap was created by one of them only"
    );
}

#[test]
fn the_most_verbose_logs_hold_no_password_and_json_lines_parse() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "anna@contoso.com,,,Anna,,SPE_E3,,,Zomer2026!x,,,",
            "bob@contoso.com,,,Bob,,,,,,,,",
        ]),
    );
    let json = wd
        .onboard(&[
            "import",
            "users.csv",
            "-o",
            "a.csv",
            "-vvv",
            "--log-format",
            "json",
            "--summary",
            "s.json",
        ])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    let text = wd
        .onboard(&["import", "users.csv", "-o", "b.csv", "-vvv", "--force"])
        .output()
        .unwrap();
    let mut passwords = wd.passwords("a.csv");
    passwords.extend(wd.passwords("b.csv"));
    assert_eq!(
        passwords.iter().filter(|p| !p.is_empty()).count(),
        2,
        "the second run skips"
    );
    let stderr = String::from_utf8_lossy(&json.stderr);
    let mut run_ids = std::collections::HashSet::new();
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        run_ids.insert(v["span"]["run_id"].as_str().unwrap_or("").to_string());
    }
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(
        run_ids.into_iter().collect::<Vec<_>>(),
        [summary["run_id"].as_str().unwrap().to_string()],
        "every log line carries the run id of the summary"
    );
    let db = wd.read_bytes("onboard.db");
    let everything = [
        json.stdout,
        json.stderr,
        text.stdout,
        text.stderr,
        wd.read_bytes("s.json"),
    ]
    .concat();
    for p in passwords.iter().filter(|p| !p.is_empty()) {
        let needle = p.as_bytes();
        assert!(
            !everything.windows(needle.len()).any(|w| w == needle),
            "password leaked"
        );
        assert!(
            !db.windows(needle.len()).any(|w| w == needle),
            "password in the directory"
        );
    }
}

#[test]
fn the_result_file_may_not_be_the_input() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(CLEAN));
    let out = wd
        .onboard(&["import", "users.csv", "-o", "./users.csv", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "onboard: error: result file ./users.csv is the input file; choose another name with -o"
    );
    assert_eq!(wd.read("users.csv"), csv(CLEAN));
    assert!(!wd.exists("onboard.db"));
}

/// More workers than the chunks a run keeps in flight by default (eight): a dry run, with
/// no directory writer to give chunks back, and a real import into a directory with
/// users, both give what `-j 1` gives.
#[test]
fn many_workers_give_what_one_gives() {
    let long = "Lange Voorhout ".repeat(10);
    let mut input = format!("{},Address\r\n", crate::workdir::HEADER);
    for i in 0..20_000 {
        input.push_str(&format!(
            "u{i}@contoso.com,,,User {i},DE,{},,,,,E{i},,{long}\r\n",
            if i % 7 == 0 { "" } else { "SPE_E3" }
        ));
    }
    assert!(input.len() > 12 * (192 << 10), "{} bytes", input.len());
    let tenant = crate::workdir::TENANT.replace("seats = 3\n", "seats = 20000\n");
    let mut results = Vec::new();
    for jobs in ["1", "12"] {
        let wd = Workdir::new();
        wd.write("tenant.toml", &tenant);
        wd.write("in.csv", &input);
        assert_eq!(
            wd.import("in.csv", "dry.csv", &["--dry-run", "-j", jobs]),
            0
        );
        results.push(wd.results("dry.csv"));
        assert_eq!(wd.import("in.csv", "out.csv", &["-j", "1"]), 0);
        // A file of 8 MiB or more into a directory with users goes to the workers.
        let mut again = input.clone();
        while again.len() < 8 << 20 {
            again.push_str(&input[input.find('\n').unwrap() + 1..]);
        }
        wd.write("again.csv", &again);
        wd.import(
            "again.csv",
            "again.results.csv",
            &["-j", jobs, "--on-existing", "update"],
        );
        results.push(wd.results("again.results.csv"));
    }
    assert_eq!(results[0], results[2]);
    assert_eq!(results[1], results[3]);
    assert!(results[0].contains(",created,") && !results[0].contains("no_seats"));
    assert!(results[1].contains(",unchanged,") && results[1].contains("duplicate"));
}

/// `-j 1` runs every stage on one thread; `-j 2` a first import on one thread beside the
/// directory writer, and a file of 8 MiB or more into a directory with users with two
/// workers that each take a chunk of records all the way (the rows carry a long Address
/// to get there). Over many chunks, with duplicates, bad rows and seat pools that run dry
/// half-way, and then a nightly full export by Employee ID (judged against the snapshot
/// by the workers) that changes some people and leaves others out, all give the same
/// result files (passwords aside) and the same directory.
#[test]
fn one_job_and_two_jobs_import_the_same() {
    let tenant = crate::workdir::TENANT
        .replace("seats = 1\n", "seats = 500\n")
        .replace("seats = 3\n", "seats = 1200\n");
    let mut lines = Vec::new();
    for i in 0..7000 {
        lines.push(match i % 50 {
            7 => format!("u{}@contoso.com,,,Again {i},,SPE_E3,,,,,,", i - 5),
            11 => format!("u{i}@elsewhere.org,,,Bad {i},,SPE_E3,,,,,,"),
            13 => format!("u{i}@contoso.com,,,Two {i},,SPE_E3+EMS,INTUNE_A,,,,,"),
            _ if i % 3 == 0 => format!("u{i}@contoso.com,,,User {i},DE,,,,,,E{i},"),
            _ if i % 3 == 1 => format!("u{i}@contoso.com,,,User {i},,SPE_E3,,,,,E{i},"),
            _ => format!("u{i}@contoso.com,,,User {i},,SPE_E3+EMS,,,,,E{i},"),
        });
    }
    // Five long cells a row (each under the 256-character limit) make the file big.
    let long = "Lange Voorhout 1 ".repeat(15)[..250].to_string();
    let mut input = format!(
        "{},Address,City,State or Province,Department,Office Number\r\n",
        crate::workdir::HEADER
    );
    for line in &lines {
        input.push_str(&format!("{line},{long},{long},{long},{long},{long}\r\n"));
    }
    assert!(input.len() >= 8 << 20, "{} bytes", input.len());
    // The next night: every 20th person left, every 9th moved to another department.
    let header = input.lines().next().unwrap().to_string();
    let mut night = format!("{header}\r\n");
    for (i, line) in lines.iter().enumerate() {
        if i % 20 == 19 {
            continue;
        }
        let department = if i % 9 == 4 { "Sales" } else { long.as_str() };
        night.push_str(&format!(
            "{line},{long},{long},{long},{department},{long}\r\n"
        ));
    }
    assert!(night.len() >= 8 << 20, "{} bytes", night.len());
    let mut results = Vec::new();
    let mut directories = Vec::new();
    for jobs in ["1", "2"] {
        let wd = Workdir::new();
        wd.write("tenant.toml", &tenant);
        wd.write("in.csv", &input);
        assert_eq!(
            wd.import("in.csv", "out.csv", &["-j", jobs]),
            1,
            "-j {jobs}"
        );
        results.push(wd.results("out.csv"));
        // Again, into the directory that now has the users: updated, unchanged or failed.
        let again = wd.import(
            "in.csv",
            "again.csv",
            &["-j", jobs, "--on-existing", "update"],
        );
        assert_eq!(again, 1, "-j {jobs}");
        results.push(wd.results("again.csv"));
        wd.write("night.csv", &night);
        let nightly = wd.import(
            "night.csv",
            "night.results.csv",
            &[
                "-j",
                jobs,
                "--match",
                "employee-id",
                "--full-export",
                "--on-existing",
                "update",
                "--max-leavers",
                "100%",
            ],
        );
        assert_eq!(nightly, 1, "-j {jobs}");
        results.push(wd.results("night.results.csv"));
        directories.push((
            wd.query(
                "SELECT u.id, u.user_name, u.display_name, u.usage_location, \
                 (SELECT group_concat(sku, '+') FROM user_licenses l WHERE l.user_id = u.id), \
                 (SELECT group_concat(app, '+') FROM user_disabled_apps a WHERE a.user_id = u.id), \
                 u.department, u.deleted_at IS NOT NULL \
                 FROM users u ORDER BY u.id",
            ),
            wd.seat_counts(),
        ));
    }
    assert_eq!(results[0], results[3]);
    assert_eq!(results[1], results[4]);
    assert_eq!(results[2], results[5]);
    assert!(results[1].contains(",unchanged,") && !results[1].contains(",created,"));
    let night = &results[2];
    assert!(night.contains(",unchanged,") && night.contains(",updated,"));
    assert!(night.contains(",offboarded,") && night.contains("left: not in the full export"));
    assert_eq!(directories[0], directories[1]);
    let (users, seats) = &directories[0];
    assert!(users.len() > 6000, "{}", users.len());
    // The pools ran dry in the first import; the leavers of the night gave seats back.
    assert_eq!(
        seats,
        &[("EMS".to_string(), 475), ("SPE_E3".to_string(), 1138)]
    );
    assert!(results[0].contains("no_seats: EMS") && results[0].contains("no_seats: SPE_E3"));
    let freed = |sku: &str| {
        night
            .lines()
            .filter(|l| l.contains(",offboarded,") && l.contains(sku))
            .count()
    };
    assert_eq!((freed("EMS"), freed("SPE_E3")), (25, 62));
}
