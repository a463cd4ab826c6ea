//! What a scheduler sees of a run: with `--log-format json` every line on stderr is one
//! JSON object (log events, the summary, a fatal error), each import line carrying the
//! run id of the summary; no progress bar unless asked for; and the exit codes of the
//! nightly command line.

use crate::workdir::{csv, Workdir};

/// stderr as JSON objects, one per line; panics on any line that is not one.
fn json_lines(stderr: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"))
        })
        .collect()
}

#[test]
fn every_stderr_line_is_json_with_the_run_id_of_the_summary() {
    let wd = Workdir::new();
    // Windows-1252 without a BOM (ë is 0xEB), so a warning comes between the info lines, and
    // one bad row, so the run ends with exit 1.
    let input: Vec<u8> = csv(&[
        "zoe@contoso.com,Zo#,,Zo#,,SPE_E3,,,,,,",
        "bad@unknown.example,,,Bad,,,,,,,,",
    ])
    .bytes()
    .map(|b| if b == b'#' { 0xEB } else { b })
    .collect();
    wd.write_bytes("hr.csv", &input);

    let out = wd
        .onboard(&[
            "import",
            "hr.csv",
            "-o",
            "hr.out.csv",
            "-v",
            "--log-format",
            "json",
            "--summary",
            "s.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    let run_id = summary["run_id"].as_str().unwrap();
    let lines = json_lines(&out.stderr);
    let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert!(levels.contains(&"WARN"), "{levels:?}");
    assert!(levels.contains(&"INFO"), "{levels:?}");
    for line in &lines {
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
        assert!(line["message"].is_string(), "{line}");
        assert_eq!(line["span"]["run_id"], run_id, "{line}");
    }
    // The human summary becomes the last line, with the whole --summary document in it.
    let last = lines.last().unwrap();
    assert_eq!(last["message"], "import summary");
    assert_eq!(last["summary"], summary);
    assert_eq!(last["summary"]["exit_code"], 1);
}

#[test]
fn a_fatal_error_is_a_json_line_too() {
    let wd = Workdir::new();
    for quiet in [&[][..], &["-q"][..]] {
        let mut args = vec!["import", "missing.csv", "--log-format", "json"];
        args.extend_from_slice(quiet);
        let out = wd.onboard(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let lines = json_lines(&out.stderr);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["level"], "ERROR");
        assert_eq!(lines[0]["exit_code"], 2);
        assert!(lines[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read input file missing.csv"));
    }
    // In text mode it stays a sentence.
    let out = wd.onboard(&["import", "missing.csv"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("onboard: error: cannot read"));
}

#[test]
fn the_nightly_command_line_is_silent_unless_something_is_wrong() {
    let wd = Workdir::new();
    wd.write(
        "export.csv",
        &csv(&[
            "anna@contoso.com,Anna,,Anna,,SPE_E3,,,,,,",
            "bob@contoso.com,Bob,,Bob,,,,,,,,",
        ]),
    );
    // The README's cron line, night after night.
    let nightly = |night: &str| {
        let out = wd
            .onboard(&[
                "import",
                "export.csv",
                "--on-existing",
                "update",
                "--max-failed",
                "5%",
                "--summary",
                &format!("{night}.json"),
                "-o",
                &format!("{night}.results.csv"),
                "-q",
                "--log-format",
                "json",
            ])
            .output()
            .unwrap();
        (out.status.code(), out.stderr)
    };
    assert_eq!(nightly("night1"), (Some(0), vec![]));
    let s: serde_json::Value = serde_json::from_str(&wd.read("night1.json")).unwrap();
    assert_eq!(s["status"]["created"], 2);

    // A changed first name updates that row only.
    wd.write(
        "export.csv",
        &csv(&[
            "anna@contoso.com,Anna,,Anna,,SPE_E3,,,,,,",
            "bob@contoso.com,Robert,,Bob,,,,,,,,",
        ]),
    );
    assert_eq!(nightly("night2"), (Some(0), vec![]));
    let s: serde_json::Value = serde_json::from_str(&wd.read("night2.json")).unwrap();
    assert_eq!(s["status"]["unchanged"], 1);
    assert_eq!(s["status"]["updated"], 1);

    // A broken export (every row bad) is over the 5% budget: exit 3, nothing committed.
    wd.write("export.csv", &csv(&["not an address,,,X,,,,,,,,"]));
    assert_eq!(nightly("night3"), (Some(3), vec![]));
    let s: serde_json::Value = serde_json::from_str(&wd.read("night3.json")).unwrap();
    assert_eq!(s["committed"], false);
    assert!(!wd.exists("night3.results.csv"));
    assert_eq!(
        wd.query("SELECT count(*) FROM runs"),
        [["2".to_string()]],
        "two committed runs in the history"
    );
}

#[test]
fn the_progress_bar_is_drawn_only_on_a_terminal_or_when_asked_for() {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "anna@contoso.com,Anna,,Anna,,SPE_E3,,,,,,",
            "bob@contoso.com,Bob,,Bob,,,,,,,,",
        ]),
    );
    // Dry runs, so every run sees the same directory; the time line differs, so it goes.
    let stderr = |args: &[&str]| {
        let mut all = vec![
            "import",
            "users.csv",
            "-o",
            "out.csv",
            "--force",
            "--dry-run",
        ];
        all.extend_from_slice(args);
        let out = wd.onboard(&all).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stderr)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("  time: "))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let summary = stderr(&["--progress", "never"]);
    assert!(
        summary.starts_with("onboard: 2 rows read from users.csv (dry run: nothing written)\n"),
        "{summary}"
    );
    assert!(!summary.contains('\r') && !summary.contains('\x1b'));
    // auto: stderr is a pipe here, as under cron or systemd.
    assert_eq!(stderr(&[]), summary);
    assert_eq!(stderr(&["--progress", "auto"]), summary);

    // always: frames of the bar, each cleared (CR, erase line), then the same summary.
    let drawn = stderr(&["--progress", "always"]);
    let (frames, rest) = drawn.rsplit_once("\r\x1b[2K").expect("a cleared bar");
    assert!(frames.contains("users.csv [00:00:0"), "{frames:?}");
    assert!(frames.contains("% "), "{frames:?}");
    assert!(frames.contains(" ETA "), "{frames:?}");
    assert_eq!(rest, summary);

    // -q wins over always: nothing at all on stderr.
    assert_eq!(stderr(&["-q", "--progress", "always"]), "");
}
