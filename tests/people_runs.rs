//! People runs under stress (docs/people.md, docs/directory.md): offboard, restore and
//! purge killed with SIGKILL at their pause points and at random moments leave the whole
//! run or none of it, with the seat counters equal to the assignments; an import and an
//! offboard at once never overbook and never lose a leaver; and any sequence of import,
//! offboard, restore and purge keeps every pool within its seats.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::workdir::Workdir;

/// A tenant with `seats` E3 seats and as many EMS seats.
fn tenant(seats: usize) -> String {
    format!(
        "name = \"Contoso\"\ndomains = [\"contoso.com\"]\ndefault_usage_location = \"NL\"\n\
         [[license]]\nsku = \"SPE_E3\"\nname = \"Microsoft 365 E3\"\nseats = {seats}\n\
         [[license]]\nsku = \"EMS\"\nname = \"EMS E3\"\nseats = {seats}\n"
    )
}

/// Users `from..to`, every other one with E3 and EMS.
fn users(from: usize, to: usize) -> String {
    let mut s = String::from("User Name,Display Name,Licenses,Employee ID\n");
    for i in from..to {
        let licences = if i % 2 == 0 { "SPE_E3+EMS" } else { "" };
        s.push_str(&format!("u{i}@contoso.com,User {i},{licences},E{i}\n"));
    }
    s
}

/// A file naming users `from..to` by User Name.
fn names(from: usize, to: usize) -> String {
    let mut s = String::from("User Name\n");
    for i in from..to {
        s.push_str(&format!("u{i}@contoso.com\n"));
    }
    s
}

fn spawn(wd: &Workdir, args: &[&str], pause_at: Option<&str>) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("onboard"));
    cmd.current_dir(wd.dir())
        .args(args)
        .args([
            "-q",
            "--lock-timeout",
            "60",
            "--tenant",
            "tenant.toml",
            "--directory",
            "onboard.db",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(point) = pause_at {
        cmd.env("ONBOARD_PAUSE_AT", point);
    }
    cmd.spawn().expect("spawn onboard")
}

fn count(wd: &Workdir, sql: &str) -> usize {
    wd.query(sql)[0][0].parse().unwrap()
}

fn deleted(wd: &Workdir) -> usize {
    count(
        wd,
        "SELECT count(*) FROM users WHERE deleted_at IS NOT NULL",
    )
}

fn all_users(wd: &Workdir) -> usize {
    count(wd, "SELECT count(*) FROM users")
}

/// Seat counters equal the assignments and stay within `seats`; offboarded users hold
/// no licence and no role.
fn check_invariants(wd: &Workdir, seats: usize) {
    let assigned = wd.assigned();
    assert_eq!(wd.seat_counts(), assigned, "seat counter = assignments");
    assert!(
        assigned.iter().all(|(_, n)| *n <= seats),
        "overbooked: {assigned:?}"
    );
    assert_eq!(
        count(
            wd,
            "SELECT count(*) FROM users u JOIN user_licenses l ON l.user_id = u.id WHERE u.deleted_at IS NOT NULL"
        ),
        0,
        "an offboarded user holds a licence"
    );
}

#[test]
fn killed_offboard_restore_and_purge_runs_leave_all_or_nothing() {
    let n = std::env::var("ONBOARD_CRASH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000usize);
    let half = n / 2;
    let wd = Workdir::new();
    wd.write("tenant.toml", &tenant(n));
    wd.write("users.csv", &users(0, n));
    assert_eq!(
        spawn(&wd, &["import", "users.csv", "-o", "users.out.csv"], None)
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    wd.write("leavers.csv", &names(0, half));
    // How long an offboard of half of them takes here, not killed (then undone).
    let started = Instant::now();
    assert_eq!(
        spawn(&wd, &["offboard", "leavers.csv", "-o", "o0.csv"], None)
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    let full = started.elapsed();
    assert_eq!(
        spawn(&wd, &["restore", "leavers.csv", "-o", "r0.csv"], None)
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    check_invariants(&wd, n);

    // Kills at the pause points, then at moments spread over a run, for each kind.
    for (k, kind) in ["offboard", "restore", "offboard", "purge"]
        .iter()
        .enumerate()
    {
        let plan: Vec<(Option<&str>, Duration)> = vec![
            (Some("staged"), Duration::ZERO),
            (Some("committed"), Duration::ZERO),
            (None, full.mul_f64(0.3)),
            (None, full.mul_f64(0.7)),
        ];
        for (j, (pause_at, delay)) in plan.into_iter().enumerate() {
            let out = format!("{kind}{k}{j}.csv");
            let args: Vec<&str> = match *kind {
                "purge" => vec!["purge", "--older-than", "0", "-o", &out],
                _ => vec![kind, "leavers.csv", "-o", &out],
            };
            let (before_deleted, before_all) = (deleted(&wd), all_users(&wd));
            let mut child = spawn(&wd, &args, pause_at);
            match pause_at {
                Some(point) => {
                    crate::workdir::wait_for_pause(child.stderr.as_mut().unwrap(), point);
                }
                None => std::thread::sleep(delay),
            }
            let _ = child.kill();
            let _ = child.wait();
            let (after_deleted, after_all) = (deleted(&wd), all_users(&wd));
            let whole = match *kind {
                "offboard" => after_deleted == half && before_deleted != half,
                "restore" => after_deleted == 0 && before_deleted != 0,
                _ => after_all == before_all - before_deleted && before_deleted > 0,
            };
            let none = after_deleted == before_deleted && after_all == before_all;
            assert!(
                whole || none,
                "{kind} killed ({pause_at:?}, {delay:?}) left part of the run: deleted {before_deleted} → {after_deleted}, users {before_all} → {after_all}"
            );
            match pause_at {
                Some("staged") => assert!(none, "{kind}: not committed, nothing kept"),
                Some("committed") => assert!(whole, "{kind}: committed, all kept"),
                _ => {}
            }
            check_invariants(&wd, n);
        }
        // Finish the kind's work for the next one.
        let args: Vec<String> = match *kind {
            "purge" => vec![
                "purge".into(),
                "--older-than".into(),
                "0".into(),
                "-o".into(),
                format!("{kind}{k}-done.csv"),
            ],
            _ => vec![
                kind.to_string(),
                "leavers.csv".into(),
                "-o".into(),
                format!("{kind}{k}-done.csv"),
            ],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let code = spawn(&wd, &args, None).wait().unwrap().code();
        assert!(matches!(code, Some(0 | 1)), "{kind}: {code:?}");
        check_invariants(&wd, n);
    }
    assert_eq!(
        all_users(&wd),
        n - half,
        "the purged are gone, the others stay"
    );
    assert_eq!(deleted(&wd), 0);
}

#[test]
fn an_import_and_an_offboard_at_once_never_overbook_nor_lose_a_leaver() {
    let wd = Workdir::new();
    wd.write("tenant.toml", &tenant(300));
    wd.write("first.csv", &users(0, 600));
    assert_eq!(
        spawn(&wd, &["import", "first.csv", "-o", "first.out.csv"], None)
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    assert_eq!(
        wd.seat_counts(),
        [("EMS".to_string(), 300), ("SPE_E3".to_string(), 300)]
    );
    // 300 leavers free 150 seats; 300 joiners ask for 150. Whichever runs first, the
    // pool is never overbooked and every leaver is offboarded.
    wd.write("joiners.csv", &users(1000, 1300));
    wd.write("leavers.csv", &names(0, 300));
    let mut import = spawn(
        &wd,
        &["import", "joiners.csv", "-o", "joiners.out.csv"],
        None,
    );
    let mut offboard = spawn(
        &wd,
        &["offboard", "leavers.csv", "-o", "leavers.out.csv"],
        None,
    );
    assert_eq!(offboard.wait().unwrap().code(), Some(0));
    assert_eq!(import.wait().unwrap().code(), Some(0));
    assert_eq!(deleted(&wd), 300, "every leaver offboarded");
    assert_eq!(all_users(&wd), 900);
    check_invariants(&wd, 300);
    assert_eq!(
        wd.column("leavers.out.csv", 3)
            .iter()
            .filter(|s| *s == "offboarded")
            .count(),
        300
    );
}

/// One step of a sequence.
#[derive(Debug, Clone)]
enum Step {
    Import(usize, usize),
    Offboard(usize, usize),
    Restore(usize, usize),
    Purge,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..30usize, 1..15usize).prop_map(|(a, n)| Step::Import(a, a + n)),
        (0..30usize, 1..15usize).prop_map(|(a, n)| Step::Offboard(a, a + n)),
        (0..30usize, 1..15usize).prop_map(|(a, n)| Step::Restore(a, a + n)),
        Just(Step::Purge),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]
    /// Whatever the order of imports, offboards, restores and purges, every SKU's seat
    /// counter equals its assignments and never passes its pool.
    #[test]
    fn any_sequence_of_runs_keeps_the_pools(steps in prop::collection::vec(step(), 1..8)) {
        let seats = 6;
        let wd = Workdir::new();
        wd.write("tenant.toml", &tenant(seats));
        for (k, s) in steps.iter().enumerate() {
            let out = format!("out{k}.csv");
            let file = format!("in{k}.csv");
            let args: Vec<&str> = match s {
                Step::Import(a, b) => {
                    wd.write(&file, &users(*a, *b));
                    vec!["import", &file, "-o", &out]
                }
                Step::Offboard(a, b) => {
                    wd.write(&file, &names(*a, *b));
                    vec!["offboard", &file, "-o", &out]
                }
                Step::Restore(a, b) => {
                    wd.write(&file, &names(*a, *b));
                    vec!["restore", &file, "-o", &out]
                }
                Step::Purge => vec!["purge", "--older-than", "0", "-o", &out],
            };
            let code = spawn(&wd, &args, None).wait().unwrap().code();
            prop_assert!(matches!(code, Some(0 | 1)), "{s:?}: {code:?}");
            if wd.exists("onboard.db") && wd.user_count() > 0 {
                let assigned = wd.assigned();
                prop_assert_eq!(wd.seat_counts(), assigned.clone());
                prop_assert!(assigned.iter().all(|(_, n)| *n <= seats), "{:?}", assigned);
            }
        }
    }
}
