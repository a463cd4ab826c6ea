//! Crash safety (docs/directory.md): imports killed with SIGKILL at many moments — while reading and
//! checking, with the result file staged but not committed, committed but not renamed —
//! and after every kill the directory holds all of a run or none of it, no user twice, no
//! seat overbooked, and every user's password is in a result file or a left-over file
//! that the next run puts in place.
//!
//! `ONBOARD_CRASH_ROWS` (default 2000) sets the rows per import and `ONBOARD_CRASH_KILLS`
//! (default 20) the number of kills; the long form is
//! `ONBOARD_CRASH_ROWS=100000 cargo test --release --test tests crash`.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::workdir::Workdir;

const SPE_E3_SEATS: usize = 1_000_000_000;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rows for import number `k`: new users each time, half with a licence.
fn rows(k: usize, n: usize) -> String {
    let mut s = String::from("User Name,Display Name,Licenses\n");
    for i in 0..n {
        let licences = match i % 4 {
            0 => "SPE_E3",
            1 => "SPE_E3+EMS",
            _ => "",
        };
        s.push_str(&format!(
            "r{k}u{i}@contoso.com,Run {k} User {i},{licences}\n"
        ));
    }
    s
}

fn spawn(wd: &Workdir, input: &str, output: &str, pause_at: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("onboard"));
    cmd.current_dir(wd.dir())
        .args(["import", input, "-o", output, "-q", "--lock-timeout", "30"])
        .args(["--tenant", "tenant.toml", "--directory", "onboard.db"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(point) = pause_at {
        cmd.env("ONBOARD_PAUSE_AT", point);
    }
    cmd.spawn().expect("spawn onboard")
}

/// User → password from every result file and left-over staged file in the folder.
fn passwords_on_disk(wd: &Workdir) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for entry in std::fs::read_dir(wd.dir()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".results.csv") || name.ends_with(".partial")) {
            continue;
        }
        let Ok(mut rdr) = csv::Reader::from_path(entry.path()) else {
            continue;
        };
        for rec in rdr.records().flatten() {
            if rec.get(3) == Some("created") && !rec[4].is_empty() {
                found.insert(rec[1].to_lowercase(), rec[4].to_string());
            }
        }
    }
    found
}

fn users_in_directory(wd: &Workdir) -> Vec<String> {
    if !wd.exists("onboard.db") || wd.user_count() == 0 {
        return Vec::new();
    }
    wd.query("SELECT user_key FROM users")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

/// The invariants of docs/rules.md and docs/directory.md that must hold whenever no import is running.
fn check_invariants(wd: &Workdir, ems_seats: usize) {
    let users = users_in_directory(wd);
    if users.is_empty() {
        return;
    }
    let duplicates = wd.query("SELECT user_key FROM users GROUP BY user_key HAVING count(*) > 1");
    assert!(duplicates.is_empty(), "users twice: {duplicates:?}");
    let assigned = wd.assigned();
    assert_eq!(wd.seat_counts(), assigned, "seat counter = assignments");
    for (sku, n) in &assigned {
        let pool = if sku == "EMS" {
            ems_seats
        } else {
            SPE_E3_SEATS
        };
        assert!(*n <= pool, "{sku} overbooked: {n} of {pool}");
    }
    let created: usize = wd.query("SELECT coalesce(sum(created), 0) FROM runs")[0][0]
        .parse()
        .unwrap();
    assert_eq!(created, users.len(), "the runs account for every user");
}

#[test]
fn killed_imports_leave_all_or_nothing_and_lose_no_password() {
    let n = env_number("ONBOARD_CRASH_ROWS", 2000);
    let kills = env_number("ONBOARD_CRASH_KILLS", 20).max(4);
    let ems_seats = n / 2;
    let wd = Workdir::new();
    wd.write(
        "tenant.toml",
        &format!(
            "name = \"Contoso\"\ndomains = [\"contoso.com\"]\ndefault_usage_location = \"NL\"\n\
             [[license]]\nsku = \"SPE_E3\"\nname = \"Microsoft 365 E3\"\nseats = {SPE_E3_SEATS}\n\
             [[license]]\nsku = \"EMS\"\nname = \"EMS E3\"\nseats = {ems_seats}\n"
        ),
    );

    // Run 0, not killed: how long an import of n rows takes here.
    wd.write("in0.csv", &rows(0, n));
    let started = Instant::now();
    assert_eq!(
        spawn(&wd, "in0.csv", "run0.results.csv", None)
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    let full = started.elapsed();

    // Two kills at each pause point; the rest spread over the whole run.
    let mut plan: Vec<(Option<&str>, Duration)> = vec![
        (Some("staged"), Duration::ZERO),
        (Some("committed"), Duration::ZERO),
        (Some("staged"), Duration::ZERO),
        (Some("committed"), Duration::ZERO),
    ];
    let timed = kills - plan.len();
    for i in 0..timed {
        // Up to 1.3 times a full run: later runs meet a bigger directory and take longer.
        plan.push((None, full.mul_f64(1.3 * (i as f64 + 0.5) / timed as f64)));
    }
    let mut kept = 0;
    for (k, (pause_at, delay)) in plan.into_iter().enumerate() {
        let k = k + 1;
        let input = format!("in{k}.csv");
        wd.write(&input, &rows(k, n));
        let before = users_in_directory(&wd).len();
        let mut child = spawn(&wd, &input, &format!("run{k}.results.csv"), pause_at);
        match pause_at {
            Some(point) => {
                crate::workdir::wait_for_pause(child.stderr.as_mut().unwrap(), point);
            }
            None => std::thread::sleep(delay),
        }
        let _ = child.kill(); // SIGKILL; it may have finished already
        let _ = child.wait();
        let after = users_in_directory(&wd).len();
        assert!(
            after == before || after == before + n,
            "kill {k} ({pause_at:?}, {delay:?}) left a part of the run: {before} → {after}"
        );
        if after == before + n {
            kept += 1;
        }
        if pause_at == Some("staged") {
            assert_eq!(after, before, "not committed yet: nothing may be kept");
        }
        if pause_at == Some("committed") {
            assert_eq!(after, before + n, "committed: everything is kept");
        }
        check_invariants(&wd, ems_seats);
    }
    // One more import puts any left-over result file in place.
    wd.write("last.csv", &rows(999, 10));
    assert_eq!(
        spawn(&wd, "last.csv", "last.results.csv", None)
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    check_invariants(&wd, ems_seats);
    let passwords = passwords_on_disk(&wd);
    let users = users_in_directory(&wd);
    let missing: Vec<&String> = users
        .iter()
        .filter(|u| !passwords.contains_key(*u))
        .collect();
    assert!(
        missing.is_empty(),
        "{} users without a password on disk, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let leftovers: Vec<String> = std::fs::read_dir(wd.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    let directory_users: std::collections::HashSet<&String> = users.iter().collect();
    for name in &leftovers {
        // What is left is only what never committed: it holds no user of the directory.
        let Ok(mut rdr) = csv::Reader::from_path(wd.path(name)) else {
            continue;
        };
        for rec in rdr.records().flatten() {
            let user = rec[1].to_lowercase();
            assert!(
                !directory_users.contains(&user),
                "{user} only in left-over {name}"
            );
        }
    }
    eprintln!(
        "crash test: {n} rows a run, {kills} kills, {kept} killed runs had committed, {} users, {} left-over files",
        users.len(),
        leftovers.len()
    );
}
