//! The commands besides `import`: `seats`, `users`, `template`, `runs`, `completions`,
//! `man`, and the help of them all.

use crate::workdir::{self, csv, Workdir};

fn stdout(wd: &Workdir, args: &[&str]) -> String {
    let out = wd.onboard(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn seeded() -> Workdir {
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &csv(&[
            "anna@contoso.com,Anna,Smit,Anna Smit,,SPE_E3+EMS,TEAMS1,Helpdesk Administrator,,,E1,",
            "bob@fabrikam.nl,,,=Bob,DE,SPE_E3,,,,yes,,",
        ]),
    );
    assert_eq!(wd.import("users.csv", "out.csv", &[]), 0);
    wd
}

#[test]
fn seats_as_table_csv_and_json() {
    let wd = seeded();
    assert_eq!(
        stdout(&wd, &["seats"]),
        "\
SKU     NAME                               PURCHASED  ASSIGNED  AVAILABLE  USAGE
SPE_E3  Microsoft 365 E3                           3         2          1  [#############.......]  66%
EMS     Enterprise Mobility + Security E3          1         1          0  [####################] 100%
"
    );
    assert_eq!(
        stdout(&wd, &["seats", "--format", "csv"]),
        "SKU,Name,Purchased,Assigned,Available\n\
         SPE_E3,Microsoft 365 E3,3,2,1\n\
         EMS,Enterprise Mobility + Security E3,1,1,0\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&wd, &["seats", "--format", "json"])).unwrap();
    assert_eq!(json[0]["sku"], "SPE_E3");
    assert_eq!(json[0]["assigned"], 2);
    assert_eq!(json[1]["available"], 0);
}

#[test]
fn seats_over_the_pool_and_of_licences_gone_from_the_tenant_show_as_over() {
    let wd = seeded();
    // The organisation cut SPE_E3 to one seat and dropped EMS after the import.
    let tenant = crate::workdir::TENANT
        .replace("seats = 3", "seats = 1")
        .replace("[[license]]\nsku = \"EMS\"", "[[license]]\nsku = \"VISIO\"");
    wd.write("tenant.toml", &tenant);
    assert_eq!(
        stdout(&wd, &["seats"]),
        "\
SKU     NAME                               PURCHASED  ASSIGNED  AVAILABLE  USAGE
SPE_E3  Microsoft 365 E3                           1         2         -1  [####################] 200%
VISIO   Enterprise Mobility + Security E3          1         0          1  [....................]   0%
EMS     (not in the tenant file)                   0         1         -1  [####################] over
"
    );
}

#[test]
fn seats_of_a_missing_directory_are_all_available() {
    let wd = Workdir::new();
    assert_eq!(
        stdout(&wd, &["seats", "--format", "csv"]),
        "SKU,Name,Purchased,Assigned,Available\n\
         SPE_E3,Microsoft 365 E3,3,0,3\n\
         EMS,Enterprise Mobility + Security E3,1,0,1\n"
    );
    assert!(!wd.exists("onboard.db"));
}

#[test]
fn users_lists_the_directory_in_importable_form() {
    let wd = seeded();
    let expected = "\
User Name,Display Name,First Name,Last Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region,Employee ID,Usage Location,Licenses,Disabled Apps,Roles,Block Sign In,Object ID\n\
anna@contoso.com,Anna Smit,Anna,Smit,,,,,,,,,,,,,E1,NL,EMS+SPE_E3,TEAMS1,Helpdesk Administrator,No,<object id>\n\
bob@fabrikam.nl,'=Bob,,,,,,,,,,,,,,,,DE,SPE_E3,,,Yes,<object id>\n";
    let listed = stdout(&wd, &["users"]);
    let (masked, ids) = workdir::mask_object_ids(&listed);
    assert_eq!(masked, expected);
    assert_ne!(ids[0], ids[1]);
    stdout(&wd, &["users", "-o", "users-out.csv"]);
    assert_eq!(wd.read("users-out.csv"), listed);

    // The listing imports again, Object IDs and all: with --on-existing update nothing
    // changes, and the Object IDs stay.
    wd.write("again.csv", &listed.replace("'=Bob", "=Bob"));
    assert_eq!(
        wd.import("again.csv", "again.out.csv", &["--on-existing", "update"]),
        0
    );
    assert_eq!(wd.column("again.out.csv", 3), ["unchanged", "unchanged"]);
    assert_eq!(stdout(&wd, &["users"]), listed);
}

#[test]
fn templates_have_the_right_headers_and_import_as_empty() {
    let wd = Workdir::new();
    let m365 = stdout(&wd, &["template"]);
    assert_eq!(
        m365,
        "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region,Usage Location,Licenses,Disabled Apps,Roles,Password,Block Sign In,Employee ID,Account Status\r\n"
    );
    assert_eq!(stdout(&wd, &["template", "m365"]), m365);
    let entra = stdout(&wd, &["template", "entra"]);
    let lines: Vec<&str> = entra.lines().collect();
    assert_eq!(lines[0], "version:v1.0");
    assert!(lines[1].starts_with(
        "Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,Block sign in (Yes/No) [accountEnabled] Required,"
    ));
    assert!(lines[2].starts_with("Example: Chris Green,chris@contoso.com,"));
    for (name, text) in [("m.csv", &m365), ("e.csv", &entra)] {
        wd.write(name, text);
        assert_eq!(wd.import(name, &format!("{name}.out"), &["--dry-run"]), 0);
        assert_eq!(wd.column(&format!("{name}.out"), 0).len(), 0);
    }
}

#[test]
fn help_and_version() {
    let wd = Workdir::new();
    let out = wd.onboard(&["--version"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("onboard "));
    let help = stdout(&wd, &["import", "--help"]);
    for flag in [
        "--dry-run",
        "--output",
        "--force",
        "--on-existing",
        "--on-shortage",
        "--max-failed",
        "--allow-global-admin",
        "--jobs",
        "--progress",
        "--summary",
        "--tenant",
        "--directory",
        "--quiet",
        "--verbose",
        "--log-format",
    ] {
        assert!(help.contains(flag), "import --help lacks {flag}");
    }
}

/// Every command, as typed after `onboard`.
const COMMANDS: [&str; 7] = [
    "import",
    "seats",
    "users",
    "template",
    "runs",
    "completions",
    "man",
];

#[test]
fn every_help_ends_with_examples_of_that_command() {
    let wd = Workdir::new();
    let top = stdout(&wd, &["--help"]);
    assert!(top.contains("\nExamples:\n  "), "{top}");
    for command in COMMANDS {
        assert!(
            top.contains(&format!("  {command} ")),
            "--help lacks {command}"
        );
        for flag in ["--help", "-h"] {
            let help = stdout(&wd, &[command, flag]);
            let examples = help
                .split_once("\nExamples:\n")
                .unwrap_or_else(|| panic!("{command} {flag} has no examples:\n{help}"))
                .1;
            assert!(
                examples.contains(&format!("onboard {command}")),
                "{command} {flag}: the examples do not show the command:\n{examples}"
            );
        }
    }
}

#[test]
fn completions_for_each_shell_know_the_commands() {
    let wd = Workdir::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&wd, &["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {script}");
        assert!(script.contains("onboard"), "{shell}");
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} script lacks {command}");
        }
        assert!(
            script.contains("on-existing"),
            "{shell} script lacks the options"
        );
    }
    let out = wd.onboard(&["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bash_completion_completes_commands_and_values() {
    let wd = Workdir::new();
    wd.write("onboard.bash", &stdout(&wd, &["completions", "bash"]));
    // COMP_* as bash sets them for `onboard se<TAB>` and `onboard import --on-existing <TAB>`.
    let script = r#"
        source ./onboard.bash
        COMP_WORDS=(onboard se); COMP_CWORD=1
        _onboard onboard se onboard; echo "${COMPREPLY[*]}"
        COMP_WORDS=(onboard import --on-existing ""); COMP_CWORD=3
        _onboard onboard "" --on-existing; echo "${COMPREPLY[*]}"
    "#;
    let Ok(out) = std::process::Command::new("bash")
        .current_dir(wd.dir())
        .args(["--norc", "-c", script])
        .output()
    else {
        eprintln!("no bash here: skipped");
        return;
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "seats\nskip update fail\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn man_page_is_roff_with_every_command_and_the_exit_codes() {
    let wd = Workdir::new();
    let page = stdout(&wd, &["man"]);
    assert!(page.contains("\n.TH ONBOARD 1 "), "{page}");
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS"] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "no {section}");
    }
    for section in ["\"EXIT STATUS\"", "FILES", "EXAMPLES", "VERSION"] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "no {section}");
    }
    for command in COMMANDS {
        assert!(
            page.contains(&format!("\n.SS \"onboard {command}\"\n")),
            "no section for {command}"
        );
    }
    // Options and examples, with roff's escaped dashes and apostrophes.
    assert!(page.contains(r"\fB\-\-on\-existing\fR"));
    assert!(page.contains(r"onboard seats \-\-format json | jq \*(Aq.[]"));
    assert!(page.contains(&format!("onboard {}", env!("CARGO_PKG_VERSION"))));

    stdout(&wd, &["man", "-o", "onboard.1"]);
    assert_eq!(wd.read("onboard.1"), page);

    // Where groff is installed, it reads the page without a warning.
    if let Ok(out) = std::process::Command::new("groff")
        .current_dir(wd.dir())
        .args(["-man", "-ww", "-z", "onboard.1"])
        .output()
    {
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    }
}

#[test]
fn runs_lists_committed_imports_newest_first() {
    let wd = seeded();
    wd.write(
        "more.csv",
        &csv(&[
            "anna@contoso.com,Anna,Smit,Anna Smit,,,,,,,,",
            "carl@contoso.com,,,Carl,,,,,,,,",
            "dora@contoso.com,,,,,,,,,,,",
        ]),
    );
    assert_eq!(
        wd.import("more.csv", "more.out.csv", &["--summary", "more.json"]),
        1
    );
    // A dry run and a run stopped by --max-failed leave no record.
    assert_eq!(wd.import("more.csv", "dry.csv", &["--dry-run"]), 1);
    assert_eq!(wd.import("more.csv", "over.csv", &["--max-failed", "0"]), 3);

    let summary: serde_json::Value = serde_json::from_str(&wd.read("more.json")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&wd, &["runs", "--format", "json"])).unwrap();
    let runs = json.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], summary["run_id"]);
    let input = wd.path("more.csv").display().to_string();
    assert_eq!(
        runs[0]["input"],
        input.as_str(),
        "absolute, like the result file"
    );
    assert_eq!(runs[0]["input_sha256"], summary["input_sha256"]);
    assert_eq!(runs[0]["started_at"], summary["started_at"]);
    // The history names the result file absolutely: it is read from anywhere.
    let result_file = wd.path("more.out.csv").display().to_string();
    assert_eq!(runs[0]["result_file"], result_file.as_str());
    let counts = |run: &serde_json::Value| {
        [
            "rows",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "failed",
        ]
        .map(|k| run[k].as_u64().unwrap())
    };
    assert_eq!(counts(&runs[0]), [3, 1, 0, 0, 1, 1]);
    assert!(runs[1]["input"].as_str().unwrap().ends_with("/users.csv"));
    assert_eq!(counts(&runs[1]), [2, 2, 0, 0, 0, 0]);

    let csv_out = stdout(&wd, &["runs", "--format", "csv"]);
    let lines: Vec<&str> = csv_out.lines().collect();
    assert_eq!(
        lines[0],
        "Run ID,Started,Finished,Input,Input SHA-256,Rows,Created,Updated,Unchanged,Skipped,Failed,Result File,Kind,Offboarded,Restored,Purged"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1].contains("/more.csv,"));
    assert!(lines[1].contains(",3,1,0,0,1,1,"));
    assert!(lines[2].contains(",2,2,0,0,0,0,"));
    assert!(lines[1].ends_with(",import,0,0,0"), "{}", lines[1]);

    let table = stdout(&wd, &["runs"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "STARTED",
            "(UTC)",
            "INPUT",
            "SHA256",
            "ROWS",
            "CREATED",
            "UPDATED",
            "UNCHANGED",
            "SKIPPED",
            "FAILED",
            "RESULT",
            "FILE"
        ]
    );
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    let sha = summary["input_sha256"].as_str().unwrap();
    assert_eq!(
        cells[2..10],
        ["more.csv", &sha[..8], "3", "1", "0", "0", "1", "1"]
    );
    // The table shows it relative to the current folder, where it is.
    assert_eq!(cells[10], "more.out.csv");
    // From another folder it is absolute.
    std::fs::create_dir(wd.path("sub")).unwrap();
    let elsewhere = assert_cmd::Command::cargo_bin("onboard")
        .unwrap()
        .current_dir(wd.path("sub"))
        .args(["runs", "--directory", "../onboard.db"])
        .output()
        .unwrap();
    let elsewhere = String::from_utf8(elsewhere.stdout).unwrap();
    let newest = elsewhere.lines().nth(1).unwrap();
    assert!(newest.ends_with(&format!("  {result_file}")), "{newest}");
    assert_eq!(lines.len(), 3);
    // The counts line up under their headers.
    let failed_end = lines[0].find("FAILED").unwrap() + "FAILED".len();
    assert!(lines
        .iter()
        .skip(1)
        .all(|l| l[..failed_end].ends_with(" 1") || l[..failed_end].ends_with(" 0")));

    let newest = stdout(&wd, &["runs", "--limit", "1", "--format", "csv"]);
    assert_eq!(newest.lines().count(), 2);
    assert!(newest.contains("/more.csv,"));
}

#[test]
fn runs_of_a_missing_directory_is_just_the_header() {
    let wd = Workdir::new();
    assert_eq!(
        stdout(&wd, &["runs"]),
        "STARTED (UTC)  INPUT  SHA256  ROWS  CREATED  UPDATED  UNCHANGED  SKIPPED  FAILED  RESULT FILE\n"
    );
    assert_eq!(
        stdout(&wd, &["runs", "--format", "csv"]),
        "Run ID,Started,Finished,Input,Input SHA-256,Rows,Created,Updated,Unchanged,Skipped,Failed,Result File,Kind,Offboarded,Restored,Purged\n"
    );
    assert_eq!(stdout(&wd, &["runs", "--format", "json"]), "[]\n");
    assert!(!wd.exists("onboard.db"));
    // Nor does a dry run create one.
    wd.write("u.csv", &csv(&["anna@contoso.com,,,Anna,,,,,,,,"]));
    assert_eq!(wd.import("u.csv", "u.out.csv", &["--dry-run"]), 0);
    assert_eq!(stdout(&wd, &["runs", "--format", "json"]), "[]\n");
}
