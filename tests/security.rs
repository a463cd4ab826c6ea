//! What onboard writes and refuses to write (docs/security.md), each case through the
//! binary in a folder of its own: outputs that would replace the input, the directory or
//! each other, symlinks at an output's name, and files planted where a run staged its
//! result file.

use std::process::{Command, Stdio};

use crate::workdir::{csv, Workdir};

const USERS: &[&str] = &[
    "anna@contoso.com,Anna,Smit,Anna Smit,,SPE_E3,,,,,E1,",
    "bob@contoso.com,Bob,,Bob Jansen,DE,EMS,,,,,E2,",
];

/// Runs onboard and returns (exit code, stderr).
fn run(wd: &Workdir, args: &[&str]) -> (i32, String) {
    let out = wd.onboard(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[test]
fn the_summary_never_replaces_the_result_the_directory_or_the_input() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    // Into the result file: refused before anything is done.
    let (code, err) = run(
        &wd,
        &["import", "users.csv", "-o", "r.csv", "--summary", "r.csv"],
    );
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "onboard: error: summary r.csv is also the result file; choose another name with --summary"
    );
    assert!(
        !wd.exists("r.csv") && !wd.exists("onboard.db"),
        "nothing written"
    );

    // A directory with users: the summary may not replace it, nor the input.
    assert_eq!(wd.import("users.csv", "first.csv", &[]), 0);
    let db = wd.read_bytes("onboard.db");
    for (summary, what) in [
        ("onboard.db", "the directory"),
        ("users.csv", "the input file"),
    ] {
        let (code, err) = run(
            &wd,
            &[
                "import",
                "users.csv",
                "-o",
                "r2.csv",
                "--force",
                "--summary",
                summary,
            ],
        );
        assert_eq!(code, 2, "{summary}");
        assert_eq!(
            err,
            format!(
                "onboard: error: summary {summary} is {what}; choose another name with --summary"
            )
        );
    }
    assert_eq!(
        wd.read_bytes("onboard.db"),
        db,
        "the directory is untouched"
    );
    assert_eq!(wd.read("users.csv"), csv(USERS));
    assert!(!wd.exists("r2.csv"));
    // Nor the directory's side files, whatever --force says.
    let (code, err) = run(
        &wd,
        &["import", "users.csv", "-o", "onboard.db-wal", "--force"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("is a file of the directory (-wal)"), "{err}");
}

#[test]
fn the_result_file_never_replaces_the_directory_or_the_tenant_file() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    assert_eq!(wd.import("users.csv", "first.csv", &[]), 0);
    let db = wd.read_bytes("onboard.db");
    let tenant = wd.read("tenant.toml");
    let (code, err) = run(&wd, &["import", "users.csv", "-o", "onboard.db", "--force"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "onboard: error: result file onboard.db is the directory; choose another name with -o"
    );
    let (code, err) = run(
        &wd,
        &["import", "users.csv", "-o", "tenant.toml", "--force"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("is the tenant file"), "{err}");
    assert_eq!(wd.read_bytes("onboard.db"), db);
    assert_eq!(wd.read("tenant.toml"), tenant);
}

#[test]
fn a_summary_in_a_missing_folder_stops_the_run_before_it_commits() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    let (code, err) = run(
        &wd,
        &[
            "import",
            "users.csv",
            "-o",
            "r.csv",
            "--summary",
            "missing/folder/s.json",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "onboard: error: cannot write summary missing/folder/s.json: folder missing/folder does not exist"
    );
    assert!(!wd.exists("r.csv"));
    assert_eq!(wd.user_count(), 0, "nothing committed");
    // An existing summary is replaced only with --force, like the result file.
    wd.write("s.json", "{}");
    let (code, err) = run(
        &wd,
        &["import", "users.csv", "-o", "r.csv", "--summary", "s.json"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("summary s.json already exists; use --force"),
        "{err}"
    );
    assert_eq!(wd.read("s.json"), "{}");
}

#[cfg(unix)]
#[test]
fn users_and_man_replace_a_symlink_and_never_write_through_it() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    assert_eq!(wd.import("users.csv", "first.csv", &[]), 0);
    wd.write("victim.txt", "precious");
    std::os::unix::fs::symlink(wd.path("victim.txt"), wd.path("users-out.csv")).unwrap();
    let (code, err) = run(&wd, &["users", "-o", "users-out.csv"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("output file users-out.csv already exists; use --force"),
        "{err}"
    );
    assert_eq!(wd.read("victim.txt"), "precious");
    let (code, _) = run(&wd, &["users", "-o", "users-out.csv", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(
        wd.read("victim.txt"),
        "precious",
        "not written through the link"
    );
    let meta = std::fs::symlink_metadata(wd.path("users-out.csv")).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by the file"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "personal data");
    assert!(wd.read("users-out.csv").contains("anna@contoso.com"));

    // A dangling link: root must not create the file where it points.
    std::os::unix::fs::symlink(wd.path("elsewhere.1"), wd.path("onboard.1")).unwrap();
    let (code, _) = run(&wd, &["man", "-o", "onboard.1"]);
    assert_eq!(code, 2, "a dangling link is an existing name");
    let (code, _) = run(&wd, &["man", "-o", "onboard.1", "--force"]);
    assert_eq!(code, 0);
    assert!(!wd.exists("elsewhere.1"));
    let meta = std::fs::symlink_metadata(wd.path("onboard.1")).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o644,
        "a manual page is for all"
    );
}

/// Starts an import that stops right after its commit, before its result file is
/// renamed, and kills it there; returns the staged file's name.
/// Starts `onboard import INPUT -o OUTPUT` that pauses between its commit and the rename
/// (and goes on once `resume` exists, if given); returns it, once paused, with its stderr
/// stream and what it wrote there so far.
fn import_paused_after_commit(
    wd: &Workdir,
    input: &str,
    output: &str,
    resume: Option<&str>,
) -> (std::process::Child, std::process::ChildStderr, String) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("onboard"));
    cmd.current_dir(wd.dir())
        .args(["import", input, "-o", output])
        .args(["--tenant", "tenant.toml", "--directory", "onboard.db"])
        .env("ONBOARD_PAUSE_AT", "committed")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(file) = resume {
        cmd.env("ONBOARD_RESUME_ON", wd.path(file));
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let seen = crate::workdir::wait_for_pause(&mut stderr, "committed");
    (child, stderr, seen)
}

fn import_killed_after_commit(wd: &Workdir, input: &str, output: &str) -> String {
    let (mut child, _stderr, _) = import_paused_after_commit(wd, input, output, None);
    child.kill().unwrap();
    child.wait().unwrap();
    let staged = wd.query("SELECT staged_file FROM runs ORDER BY id DESC LIMIT 1");
    let staged = std::path::PathBuf::from(&staged[0][0]);
    staged.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_name_taken_after_the_check_keeps_the_result_file_aside() {
    // The result file's name is free when the import starts and taken (by another program)
    // between its commit and the rename: the users exist, so the run still ends as it
    // would (exit 0), the other file is left as it is, and the result file with the
    // passwords stays at the kept path, which a warning names.
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    let (mut child, mut stderr, mut seen) =
        import_paused_after_commit(&wd, "users.csv", "out.csv", Some("go"));
    wd.write("out.csv", "someone else's file\n");
    wd.write("go", "");
    let status = child.wait().unwrap();
    use std::io::Read;
    stderr.read_to_string(&mut seen).unwrap();
    assert_eq!(status.code(), Some(0), "{seen}");
    assert_eq!(wd.read("out.csv"), "someone else's file\n");
    let staged = wd.query("SELECT staged_file FROM runs ORDER BY id DESC LIMIT 1");
    let kept = std::path::PathBuf::from(&staged[0][0]);
    let kept_name = kept.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        seen.contains("the result file's name was taken while the run worked")
            && seen.contains(&kept_name),
        "{seen}"
    );
    assert_eq!(wd.user_count(), 2);
    assert_eq!(
        wd.passwords(&kept_name)
            .iter()
            .filter(|p| !p.is_empty())
            .count(),
        2
    );
}

#[test]
fn recovery_renames_only_the_file_its_run_wrote() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    let staged = import_killed_after_commit(&wd, "users.csv", "out.csv");
    assert!(
        wd.read(&staged).contains("anna@contoso.com"),
        "the passwords are staged"
    );
    assert_eq!(wd.user_count(), 2, "committed");
    // Another local user replaces the staged file with one of their own.
    std::fs::remove_file(wd.path(&staged)).unwrap();
    wd.write(&staged, "Line,User Name\n1,forged@contoso.com\n");
    wd.write(
        "more.csv",
        &csv(&["carl@contoso.com,Carl,,Carl de Vries,NL,,,,,,E3,"]),
    );
    let (code, err) = run(&wd, &["import", "more.csv", "-o", "more.out.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(!wd.exists("out.csv"), "the planted file is not published");
    assert_eq!(wd.read(&staged), "Line,User Name\n1,forged@contoso.com\n");
    assert!(
        err.contains("it is not the file that import wrote; it is left alone"),
        "{err}"
    );
}

#[test]
fn a_path_once_published_is_forgotten() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    let staged = import_killed_after_commit(&wd, "users.csv", "out.csv");
    // The next import puts the genuine file in place and forgets its path.
    wd.write(
        "more.csv",
        &csv(&["carl@contoso.com,Carl,,Carl de Vries,NL,,,,,,E3,"]),
    );
    assert_eq!(wd.import("more.csv", "more.out.csv", &[]), 0);
    assert!(wd.read("out.csv").contains("anna@contoso.com"));
    assert_eq!(
        wd.query("SELECT count(*) FROM runs WHERE staged_file != ''"),
        vec![vec!["0".to_string()]],
        "no run keeps a staged path once its file is in place"
    );
    // The reported attack: the result file deleted, a file planted at the old path.
    std::fs::remove_file(wd.path("out.csv")).unwrap();
    wd.write(&staged, "planted");
    wd.write(
        "third.csv",
        &csv(&["dirk@contoso.com,Dirk,,Dirk Bos,NL,,,,,,E4,"]),
    );
    assert_eq!(wd.import("third.csv", "third.out.csv", &[]), 0);
    assert!(!wd.exists("out.csv"), "nothing is renamed into place");
    assert_eq!(wd.read(&staged), "planted");
}

#[test]
fn a_formula_behind_an_embedded_delimiter_is_neutralised() {
    let wd = Workdir::new();
    // A semicolon file whose Display Name holds a comma: a spreadsheet that splits the
    // result on commas would start a cell at the formula.
    wd.write(
        "users.csv",
        "User Name;Display Name\r\nanna@contoso.com;Jansen,=HYPERLINK(\"http://x\")\r\nbob@contoso.com;Smit, Bob\r\n",
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    assert_eq!(
        wd.results("out.csv"),
        "Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors\n\
         2;anna@contoso.com;\"Jansen,'=HYPERLINK(\"\"http://x\"\")\";created;<password>;;;\n\
         3;bob@contoso.com;Smit, Bob;created;<password>;;;\n"
    );
}

#[test]
fn a_file_name_cannot_forge_a_line_on_the_terminal() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    // A left-over file of this result file's name, named to look like onboard's output.
    wd.write(".out.csv.x\nFAKE: all good.partial", "");
    let (code, err) = run(&wd, &["import", "users.csv", "-o", "out.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.lines().any(|l| l.starts_with("FAKE")), "{err}");
    assert!(err.contains("x<U+000A>FAKE: all good.partial"), "{err}");
}

#[test]
fn hidden_characters_in_duplicate_values_are_escaped() {
    // The value a duplicate_in_file message echoes cannot drive a terminal or a
    // spreadsheet: the escape character is written <U+001B>.
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        "User Name,Display Name,Employee ID\r\nanna@contoso.com,Anna,E\u{1b}1\r\nbob@contoso.com,Bob,E\u{1b}1\r\n",
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 1);
    assert_eq!(
        wd.results("out.csv"),
        "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n\
         2,anna@contoso.com,Anna,failed,,,,invalid_value: Employee ID contains the control character U+001B\n\
         3,bob@contoso.com,Bob,failed,,,,invalid_value: Employee ID contains the control character U+001B | duplicate_in_file: Employee ID E<U+001B>1 is also on line 2\n"
    );
}

#[test]
fn tenant_and_columns_files_are_small_regular_files() {
    let wd = Workdir::new();
    wd.write("users.csv", &csv(USERS));
    // Workdir's onboard() names its own tenant file: this one must be the only one.
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("onboard"));
    let out = cmd
        .current_dir(wd.dir())
        .args([
            "import",
            "users.csv",
            "-o",
            "r.csv",
            "--tenant",
            "/dev/zero",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "onboard: error: tenant file /dev/zero is not a regular file"
    );
    wd.write("big.toml", &"# padding\n".repeat(110_000));
    let out = wd
        .onboard(&[
            "import",
            "users.csv",
            "-o",
            "r.csv",
            "--columns",
            "big.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "onboard: error: columns file big.toml is larger than 1 MiB; it should be a few kilobytes of TOML"
    );
    assert!(!wd.exists("r.csv") && !wd.exists("onboard.db"));
}
