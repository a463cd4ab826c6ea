//! Ctrl-C and SIGTERM (docs/import.md#stopping): an import stopped by a signal before its
//! commit rolls back, removes its staged result file and exits 130 with `interrupted:
//! nothing was committed`; one stopped after its commit finishes the rename first.
//! Each case pauses the import at a known point (`ONBOARD_PAUSE_AT`), sends the signal
//! there, and checks what is left in the folder and the directory.

use std::io::Read;
use std::process::{Child, Command, Stdio};

use crate::workdir::Workdir;

/// `n` new users.
fn rows(n: usize) -> String {
    let mut s = String::from("User Name,Display Name,Licenses\r\n");
    for i in 0..n {
        s.push_str(&format!("u{i}@contoso.com,User {i},SPE_E3\r\n"));
    }
    s
}

/// Starts an import of `users.csv` into `out.csv` that pauses at `point`, waits until it
/// does, and returns it with what it wrote to stderr so far.
fn paused_import(wd: &Workdir, point: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("onboard"))
        .current_dir(wd.dir())
        .args([
            "import",
            "users.csv",
            "-o",
            "out.csv",
            "--progress",
            "never",
        ])
        .args(args)
        .args(["--tenant", "tenant.toml", "--directory", "onboard.db"])
        .env("ONBOARD_PAUSE_AT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = crate::workdir::wait_for_pause(child.stderr.as_mut().unwrap(), point);
    (child, seen)
}

/// Sends `signal` (`INT`, `TERM`) to `child`, waits for it, and returns its exit code
/// and all of its stderr.
fn signal(mut child: Child, mut seen: String, signal: &str) -> (Option<i32>, String) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    (child.wait().unwrap().code(), seen)
}

/// Files in the work folder whose names end in `suffix`.
fn files_ending(wd: &Workdir, suffix: &str) -> Vec<String> {
    std::fs::read_dir(wd.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect()
}

/// The run said it was interrupted (exit 130) and left no result file, staged or not.
fn interrupted(wd: &Workdir, code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr.trim().lines().last(),
        Some("onboard: interrupted: nothing was committed"),
        "{stderr}"
    );
    assert!(!wd.exists("out.csv"));
    assert_eq!(files_ending(wd, ".partial"), Vec::<String>::new());
}

/// Nothing of the run is left: no result file, no staged file, no user, no run, no seat.
fn nothing_committed(wd: &Workdir, code: Option<i32>, stderr: &str) {
    interrupted(wd, code, stderr);
    assert_eq!(wd.user_count(), 0);
    // A first import rolls back the creation of the tables too.
    let tables = wd.query("SELECT count(*) FROM sqlite_master WHERE name = 'runs'");
    if tables[0][0] == "1" {
        assert_eq!(wd.query("SELECT count(*) FROM runs")[0][0], "0");
        assert!(wd.assigned().iter().all(|(_, n)| *n == 0));
    }
}

#[test]
fn ctrl_c_while_reading_commits_nothing() {
    let wd = Workdir::new();
    // A directory with users already, so the run works in a transaction on real tables.
    wd.write("first.csv", &rows(1).replace("u0@", "first@"));
    assert_eq!(wd.import("first.csv", "first.results.csv", &[]), 0);
    wd.write("users.csv", &rows(5000));
    // -j 1 and -j 2: the reader stops at the next batch either way.
    for jobs in ["1", "2"] {
        let (child, seen) = paused_import(&wd, "reading", &["-j", jobs]);
        let (code, stderr) = signal(child, seen, "INT");
        assert_eq!(wd.user_count(), 1, "only the first user");
        assert_eq!(wd.query("SELECT count(*) FROM runs")[0][0], "1");
        interrupted(&wd, code, &stderr);
        assert_eq!(files_ending(&wd, "-journal"), Vec::<String>::new());
    }
}

#[test]
fn ctrl_c_and_sigterm_before_the_commit_remove_the_staged_file() {
    for sig in ["INT", "TERM"] {
        let wd = Workdir::new();
        wd.write("users.csv", &rows(10));
        let (child, seen) = paused_import(&wd, "staged", &[]);
        // The result file is complete, at its temporary path.
        assert_eq!(files_ending(&wd, ".partial").len(), 1);
        let (code, stderr) = signal(child, seen, sig);
        nothing_committed(&wd, code, &stderr);
        // The directory is whole: the next import creates the users.
        assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
        assert_eq!(wd.user_count(), 10);
    }
}

#[test]
fn ctrl_c_after_the_commit_finishes_the_rename() {
    let wd = Workdir::new();
    wd.write("users.csv", &rows(10));
    let (child, seen) = paused_import(&wd, "committed", &["--summary", "s.json"]);
    let (code, stderr) = signal(child, seen, "INT");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("onboard: interrupted after the commit: the users are in the directory and the result file is in place; the summary was not written"),
        "{stderr}"
    );
    assert_eq!(wd.user_count(), 10);
    assert_eq!(
        wd.passwords("out.csv")
            .iter()
            .filter(|p| !p.is_empty())
            .count(),
        10
    );
    assert_eq!(files_ending(&wd, ".partial"), Vec::<String>::new());
    assert_eq!(files_ending(&wd, ".tmp"), Vec::<String>::new());
    assert!(!wd.exists("s.json"));
}
