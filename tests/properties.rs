//! Invariants over random files, through the real binary: row count and order, seats
//! served in file order and never overbooked, `--jobs 1` equals `--jobs 2`, every failed
//! row has an error, every generated password meets docs/import.md#passwords.

use proptest::prelude::*;

use crate::workdir::{csv, Workdir};

#[derive(Debug, Clone)]
struct Row {
    user: usize,
    upper: bool,
    bad_domain: bool,
    licenses: Vec<&'static str>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        0..12usize,
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop::sample::subsequence(vec!["SPE_E3", "EMS", "NOPE"], 0..=2),
    )
        .prop_map(|(user, upper, bad_domain, licenses)| Row {
            user,
            upper,
            bad_domain,
            licenses,
        })
}

fn line(r: &Row) -> String {
    let domain = if r.bad_domain {
        "example.org"
    } else {
        "contoso.com"
    };
    let mut name = format!("user{}@{domain}", r.user);
    if r.upper {
        name = name.to_uppercase();
    }
    format!("{name},,,User {},,{},,,,,,", r.user, r.licenses.join("+"))
}

/// What docs/rules.md say each row ends as, on an empty directory: (status, licences, warning).
fn model(rows: &[Row]) -> Vec<(String, String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut left = std::collections::HashMap::from([("SPE_E3", 3), ("EMS", 1)]);
    rows.iter()
        .map(|r| {
            let first = seen.insert(r.user + if r.bad_domain { 100 } else { 0 });
            let bad = r.bad_domain || r.licenses.contains(&"NOPE") || !first;
            if bad {
                return ("failed".into(), String::new(), String::new());
            }
            let short: Vec<&str> = r
                .licenses
                .iter()
                .copied()
                .filter(|l| left[l] == 0)
                .collect();
            if short.is_empty() {
                for l in &r.licenses {
                    *left.get_mut(l).unwrap() -= 1;
                }
                ("created".into(), r.licenses.join("+"), String::new())
            } else {
                let w: Vec<String> = short.iter().map(|s| format!("no_seats: {s}")).collect();
                ("created".into(), String::new(), w.join(" | "))
            }
        })
        .collect()
}

fn check_password(p: &str) {
    const ALPHABET: &str =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+-./:<=>?@[]^_{}~";
    assert_eq!(p.len(), 16, "tenant length");
    assert!(p.chars().all(|c| ALPHABET.contains(c)), "{p}");
    assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
    assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
    assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
    assert!(p.chars().any(|c| c.is_ascii_punctuation()), "{p}");
    assert!(!p.starts_with(['=', '+', '-', '@']), "{p}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn results_follow_the_model_whatever_the_jobs(rows in prop::collection::vec(row(), 0..40)) {
        let wd = Workdir::new();
        let lines: Vec<String> = rows.iter().map(line).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        wd.write("in.csv", &csv(&refs));
        let expected = model(&rows);
        let any_failed = expected.iter().any(|e| e.0 == "failed");

        let code = wd.import("in.csv", "dry1.csv", &["--dry-run", "-j", "1"]);
        prop_assert_eq!(code, if any_failed { 1 } else { 0 });
        prop_assert_eq!(wd.import("in.csv", "dry2.csv", &["--dry-run", "-j", "2"]), code);
        prop_assert_eq!(wd.read("dry1.csv"), wd.read("dry2.csv"));
        prop_assert_eq!(wd.import("in.csv", "real.csv", &["-j", "2"]), code);
        prop_assert_eq!(wd.results("dry1.csv"), wd.results("real.csv").replace("<password>", ""));

        let lines_out = wd.column("real.csv", 0);
        let wanted: Vec<String> = (0..rows.len()).map(|i| (i + 2).to_string()).collect();
        prop_assert_eq!(lines_out, wanted, "one result row per input row, in order");
        let status = wd.column("real.csv", 3);
        let licenses = wd.column("real.csv", 5);
        let warnings = wd.column("real.csv", 6);
        let errors = wd.column("real.csv", 7);
        let passwords = wd.passwords("real.csv");
        for (i, e) in expected.iter().enumerate() {
            prop_assert_eq!(&status[i], &e.0, "row {}", i + 2);
            prop_assert_eq!(&licenses[i], &e.1, "row {}", i + 2);
            prop_assert_eq!(&warnings[i], &e.2, "row {}", i + 2);
            prop_assert_eq!(status[i] == "failed", !errors[i].is_empty(), "row {}", i + 2);
            if status[i] == "created" {
                check_password(&passwords[i]);
            } else {
                prop_assert!(passwords[i].is_empty());
            }
        }
        for (sku, seats) in wd.assigned() {
            prop_assert!(seats <= if sku == "SPE_E3" { 3 } else { 1 }, "{} overbooked", sku);
        }
    }
}
