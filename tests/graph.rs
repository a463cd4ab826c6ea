//! Microsoft Graph (docs/graph.md), against the simulator in `graph_sim.rs`: the tenant
//! pull, pushes of imports, people who leave and come back, throttling, a push killed
//! and resumed, adoption and conflicts, a wrong secret, and no secret in any log.

use crate::graph_sim::{GraphSim, Options, SECRET, SKUS};
use crate::workdir::{csv, Workdir};

const SECRET_ENV: &str = "ONBOARD_TEST_GRAPH_SECRET";

/// A work folder whose tenant file has `[graph]` for `sim` and was pulled from it.
fn pulled(sim: &GraphSim) -> Workdir {
    let wd = Workdir::new();
    let tenant = format!(
        "{}\n[mail]\nserver = \"smtp://127.0.0.1:2525\"\nfrom = \"it@contoso.com\"\n\n{}",
        crate::workdir::TENANT,
        sim.graph_table(SECRET_ENV)
    );
    wd.write("tenant.toml", &tenant);
    let (code, stderr) = run(&wd, &["tenant", "pull"]);
    assert_eq!(code, 0, "{stderr}");
    wd
}

fn run(wd: &Workdir, args: &[&str]) -> (i32, String) {
    let out = wd.onboard(args).env(SECRET_ENV, SECRET).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `n` new hires `u1@contoso.com` ...: E3 without Teams, every tenth also EMS, the
/// first a User Administrator.
fn hires(n: usize) -> String {
    let rows: Vec<String> = (1..=n)
        .map(|i| {
            let licenses = if i % 10 == 0 { "SPE_E3+EMS" } else { "SPE_E3" };
            let role = if i == 1 { "User Administrator" } else { "" };
            format!("u{i}@contoso.com,Us{i},Er,User {i},NL,{licenses},TEAMS1,{role},,,E{i},u{i}@example.org")
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    csv(&rows)
}

/// The push file's rows: (User Name, Status, Errors).
fn push_rows(wd: &Workdir, name: &str) -> Vec<(String, String, String)> {
    csv::Reader::from_path(wd.path(name))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[2].to_string(), r[3].to_string())
        })
        .collect()
}

#[test]
fn tenant_pull_writes_domains_and_subscriptions_and_keeps_the_rest() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    let text = wd.read("tenant.toml");
    let tenant: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(tenant["name"].as_str(), Some("Contoso Simulated"));
    assert_eq!(
        tenant["domains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect::<Vec<_>>(),
        ["contoso.com", "contososim.onmicrosoft.com", "fabrikam.nl"]
    );
    assert_eq!(tenant["default_domain"].as_str(), Some("contoso.com"));
    assert_eq!(
        tenant["default_usage_location"].as_str(),
        Some("NL"),
        "kept"
    );
    assert_eq!(tenant["password"]["length"].as_integer(), Some(16), "kept");
    assert!(
        text.contains("[mail]") && text.contains("[graph]"),
        "{text}"
    );
    let licenses = tenant["license"].as_array().unwrap();
    assert_eq!(licenses.len(), 2);
    for (l, (part, id, seats, plans)) in licenses.iter().zip(SKUS) {
        assert_eq!(l["sku"].as_str(), Some(part));
        assert_eq!(l["sku_id"].as_str(), Some(id));
        assert_eq!(l["seats"].as_integer(), Some(seats as i64));
        assert_eq!(l["app_ids"][plans[0].0].as_str(), Some(plans[0].1));
    }
    // The friendly names the file had are kept.
    assert_eq!(licenses[0]["name"].as_str(), Some("Microsoft 365 E3"));
    // The file works: seats shows the pulled pools.
    let out = wd.onboard(&["seats", "--format", "csv"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SKU,Name,Purchased,Assigned,Available\nSPE_E3,Microsoft 365 E3,25,0,25\nEMS,Enterprise Mobility + Security E3,10,0,10\n"
    );
}

#[test]
fn a_thousand_users_pushed_in_batches_of_twenty() {
    let sim = GraphSim::start(Options {
        seats: Some(5000),
        ..Options::default()
    });
    let wd = pulled(&sim);
    let pulling = sim.log().len();
    wd.write("hires.csv", &hires(1000));
    let (code, stderr) = run(&wd, &["import", "hires.csv", "--push"]);
    assert_eq!(code, 0, "{stderr}");
    let creates = sim.creates();
    assert_eq!(creates.len(), 1000);
    assert!(creates.values().all(|&n| n == 1), "each user created once");
    // Round trips: the token, the role definitions, 50 batches of creates, 51 of licences
    // and the one role: about users × 2 / 20.
    let log = sim.log().split_off(pulling);
    let batches = log.iter().filter(|l| l.path == "/v1.0/$batch").count();
    assert!(log.len() <= 1000 * 2 / 20 + 5, "{} requests", log.len());
    assert!(log.iter().all(|l| l.items.len() <= 20));
    assert!(batches >= 100);
    assert!(
        stderr.contains("status: created 1000, adopted 0, updated 0"),
        "{stderr}"
    );
    // What Graph has: the profile, the licence with Teams disabled, the role.
    let u10 = sim.user("u10@contoso.com").unwrap();
    assert_eq!(u10["displayName"], "User 10");
    assert_eq!(u10["givenName"], "Us10");
    assert_eq!(u10["employeeId"], "E10");
    assert_eq!(u10["usageLocation"], "NL");
    assert_eq!(u10["otherMails"], serde_json::json!(["u10@example.org"]));
    assert_eq!(u10["mailNickname"], "u10");
    let licenses = u10["assignedLicenses"].as_array().unwrap();
    assert_eq!(licenses.len(), 2);
    let e3 = licenses.iter().find(|l| l["skuId"] == SKUS[0].1).unwrap();
    assert_eq!(e3["disabledPlans"], serde_json::json!([SKUS[0].3[0].1]));
    let ems = licenses.iter().find(|l| l["skuId"] == SKUS[1].1).unwrap();
    assert_eq!(ems["disabledPlans"], serde_json::json!([]));
    let u1 = sim.user("u1@contoso.com").unwrap();
    assert_eq!(
        sim.assignments(),
        [(
            u1["id"].as_str().unwrap().to_string(),
            "fe930be7-5e62-47db-91af-98c3a49a38b1".to_string()
        )]
    );
    // The push file: every user created, with Graph's id.
    let rows = push_rows(&wd, "hires.push.csv");
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r.1 == "created" && r.2.is_empty()));
    // A second push has nothing to do.
    let before = sim.log().len();
    let (code, stderr) = run(&wd, &["push", "-o", "again.csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("onboard: push: 0 users"), "{stderr}");
    assert_eq!(sim.log().len(), before + 1, "only the sign-in");
}

#[test]
fn throttling_and_a_503_storm_are_waited_out_and_nothing_happens_twice() {
    let sim = GraphSim::start(Options {
        throttle_every: 10,
        burst_429: 2,
        storm_503: 3,
        seats: Some(1000),
        ..Options::default()
    });
    let wd = pulled(&sim);
    // The pull used up the burst and the storm: set them again for the push.
    sim.set_options(Options {
        throttle_every: 10,
        burst_429: 2,
        storm_503: 3,
        seats: Some(1000),
        ..Options::default()
    });
    wd.write("hires.csv", &hires(200));
    let (code, stderr) = run(
        &wd,
        &["import", "hires.csv", "--push", "--push-concurrency", "2"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(sim.creates().values().all(|&n| n == 1));
    assert_eq!(sim.creates().len(), 200);
    let licensed = sim
        .users()
        .iter()
        .filter(|u| {
            u["assignedLicenses"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .count();
    assert_eq!(licensed, 200);
    let retried: u64 = stderr
        .split("requests: ")
        .nth(1)
        .and_then(|s| s.split(" retried").next())
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(retried >= 40 + 5, "{stderr}");
    assert!(sim.log().iter().any(|l| l.status == 503));
    assert!(sim.log().iter().any(|l| l.status == 429));
}

#[test]
fn a_push_killed_after_graph_created_users_resumes_without_creating_anyone_twice() {
    let sim = GraphSim::start(Options {
        seats: Some(1000),
        ..Options::default()
    });
    let wd = pulled(&sim);
    wd.write("hires.csv", &hires(100));
    let (code, stderr) = run(&wd, &["import", "hires.csv", "-o", "hires.results.csv"]);
    assert_eq!(code, 0, "{stderr}");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("onboard"))
        .current_dir(wd.dir())
        .args([
            "push",
            "hires.results.csv",
            "--tenant",
            "tenant.toml",
            "--directory",
            "onboard.db",
        ])
        .env(SECRET_ENV, SECRET)
        .env("ONBOARD_PAUSE_AT", "push-created")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::workdir::wait_for_pause(child.stderr.as_mut().unwrap(), "push-created");
    child.kill().unwrap();
    child.wait().unwrap();
    // Graph has the first batches' users; the directory says they are being created.
    let made = sim.creates().len();
    assert!(made >= 20, "{made}");
    assert_eq!(
        wd.query("SELECT count(*) FROM graph_users WHERE state = 'creating'")[0][0],
        "100"
    );
    let (code, stderr) = run(&wd, &["push", "hires.results.csv", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let creates = sim.creates();
    assert_eq!(creates.len(), 100);
    assert!(creates.values().all(|&n| n == 1), "nobody created twice");
    assert_eq!(
        wd.query("SELECT state, count(*) FROM graph_users GROUP BY state"),
        [["licensed", "100"]]
    );
    assert!(sim
        .users()
        .iter()
        .all(|u| !u["assignedLicenses"].as_array().unwrap().is_empty()));
}

#[test]
fn a_name_graph_has_is_adopted_when_the_employee_id_matches_and_refused_otherwise() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    sim.add_user("u1@contoso.com", Some("E1"));
    sim.add_user("u2@contoso.com", Some("X9"));
    wd.write("hires.csv", &hires(3));
    let (code, stderr) = run(&wd, &["import", "hires.csv", "--push"]);
    assert_eq!(code, 4, "the import is clean, a push failed: {stderr}");
    let rows = push_rows(&wd, "hires.push.csv");
    assert_eq!(rows[0].0, "u1@contoso.com");
    assert_eq!(rows[0].1, "adopted");
    assert_eq!(rows[1].1, "failed");
    assert_eq!(
        rows[1].2,
        "already_exists: u2@contoso.com is another user in Microsoft 365 (Employee ID X9, not E2)"
    );
    assert_eq!(rows[2].1, "created");
    // The adopted user is brought in line with the row.
    let u1 = sim.user("u1@contoso.com").unwrap();
    assert_eq!(u1["displayName"], "User 1");
    assert_eq!(u1["assignedLicenses"][0]["skuId"], SKUS[0].1);
    assert_eq!(sim.creates().len(), 1);
}

#[test]
fn leavers_are_deleted_returners_restored_and_purged_users_removed() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    wd.write("hires.csv", &hires(3));
    assert_eq!(run(&wd, &["import", "hires.csv", "--push"]).0, 0);
    wd.write(
        "leavers.csv",
        "User Name\r\nu2@contoso.com\r\nu3@contoso.com\r\n",
    );
    assert_eq!(run(&wd, &["offboard", "leavers.csv"]).0, 0);
    let (code, stderr) = run(&wd, &["push", "-o", "p1.csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        push_rows(&wd, "p1.csv")
            .iter()
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>(),
        ["deleted", "deleted"]
    );
    assert!(sim.user("u2@contoso.com").is_none());
    assert_eq!(sim.deleted().len(), 2);
    // u2 comes back with a new password; u3 is purged.
    wd.write("back.csv", "User Name\r\nu2@contoso.com\r\n");
    assert_eq!(
        run(&wd, &["restore", "back.csv", "-o", "back.results.csv"]).0,
        0
    );
    assert_eq!(run(&wd, &["purge", "--older-than", "0"]).0, 0);
    let (code, stderr) = run(&wd, &["push", "back.results.csv"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = push_rows(&wd, "back.push.csv");
    assert_eq!(
        rows.iter()
            .map(|r| (r.0.as_str(), r.1.as_str()))
            .collect::<Vec<_>>(),
        [("u2@contoso.com", "restored"), ("u3@contoso.com", "purged")]
    );
    assert!(sim.user("u2@contoso.com").is_some());
    assert!(sim.deleted().is_empty(), "purged for good");
    let u2 = sim.user("u2@contoso.com").unwrap();
    assert_eq!(
        u2["assignedLicenses"][0]["skuId"], SKUS[0].1,
        "licensed again"
    );
}

#[test]
fn no_seats_in_graph_fails_that_user_who_exists_unlicensed() {
    let sim = GraphSim::start(Options {
        seats: Some(2),
        ..Options::default()
    });
    let wd = pulled(&sim);
    // onboard's own pool has more seats than Graph (someone bought fewer than the file says).
    let tenant = wd.read("tenant.toml").replace("seats = 2", "seats = 50");
    wd.write("tenant.toml", &tenant);
    wd.write("hires.csv", &hires(3));
    let (code, stderr) = run(&wd, &["import", "hires.csv", "--push"]);
    assert_eq!(code, 4, "{stderr}");
    let rows = push_rows(&wd, "hires.push.csv");
    let failed: Vec<_> = rows.iter().filter(|r| r.1 == "failed").collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert!(failed[0].2.starts_with("no_seats: Microsoft 365 has no seats left: 400 Request_BadRequest: Subscription with SKU"), "{rows:?}");
    assert_eq!(sim.users().len(), 3, "the user exists, unlicensed");
}

#[test]
fn a_wrong_secret_stops_before_anything_is_written_and_is_never_printed() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    wd.write("hires.csv", &hires(3));
    let out = wd
        .onboard(&["import", "hires.csv", "--push"])
        .env(SECRET_ENV, "not-the-secret-42")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refused the sign-in"), "{stderr}");
    assert!(stderr.contains("invalid_client: AADSTS7000215"), "{stderr}");
    assert!(!stderr.contains("not-the-secret-42"));
    assert!(!wd.exists("onboard.db") && !wd.exists("hires.results.csv"));
    // No [graph] table, or no secret in the environment: the same.
    let out = wd
        .onboard(&["push"])
        .env_remove(SECRET_ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{SECRET_ENV} is not set")));
}

#[test]
fn no_password_or_secret_in_any_log() {
    let sim = GraphSim::start(Options {
        throttle_every: 7,
        ..Options::default()
    });
    let wd = pulled(&sim);
    wd.write("hires.csv", &hires(5));
    assert_eq!(run(&wd, &["import", "hires.csv", "-o", "r.csv"]).0, 0);
    let passwords: Vec<String> = wd.passwords("r.csv");
    for (i, format) in ["text", "json"].iter().enumerate() {
        if i == 1 {
            // Again, from the start: forget what the first push did.
            wd.query("DELETE FROM graph_users");
        }
        let out = wd
            .onboard(&["push", "r.csv", "-vvv", "--log-format", format, "--force"])
            .env(SECRET_ENV, SECRET)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.code().is_some(), "{stderr}");
        assert!(stderr.len() > 100, "something was logged");
        for secret in passwords.iter().chain([&SECRET.to_string()]) {
            assert!(
                !stderr.contains(secret.as_str()),
                "{secret} in the {format} log"
            );
        }
        assert!(
            !stderr.contains("sim-token-"),
            "the access token in the {format} log"
        );
        if *format == "json" {
            // Every line is JSON; the last is the summary.
            let lines: Vec<serde_json::Value> = stderr
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect();
            let last = lines.last().unwrap();
            assert_eq!(last["message"], "push summary");
            assert_eq!(last["push"]["status"]["adopted"], 5, "{last}");
        }
    }
}

#[test]
fn the_token_is_renewed_before_it_expires() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    // Tokens that live a second, and a push that takes longer (throttled items wait).
    sim.set_options(Options {
        token_lifetime: 1,
        throttle_every: 4,
        retry_after: "0.4",
        ..Options::default()
    });
    wd.write("hires.csv", &hires(60));
    let before = sim.tokens_issued();
    let started = std::time::Instant::now();
    let (code, stderr) = run(
        &wd,
        &["import", "hires.csv", "--push", "--push-concurrency", "1"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        started.elapsed().as_secs_f64() > 1.5,
        "the push outlived a token"
    );
    assert!(
        sim.tokens_issued() - before >= 3,
        "{}",
        sim.tokens_issued() - before
    );
    assert!(
        sim.log().iter().all(|l| l.status != 401),
        "never sent an expired token"
    );
    assert_eq!(sim.creates().len(), 60);
}

#[test]
fn the_push_file_never_replaces_the_result_file_or_the_directory() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    wd.write("hires.csv", &hires(2));
    assert_eq!(run(&wd, &["import", "hires.csv", "-o", "r.csv"]).0, 0);
    let before = wd.read_bytes("r.csv");
    for target in ["r.csv", "onboard.db", "tenant.toml"] {
        let (code, stderr) = run(&wd, &["push", "r.csv", "-o", target, "--force"]);
        assert_eq!(code, 2, "{target}: {stderr}");
    }
    assert_eq!(wd.read_bytes("r.csv"), before);
    assert!(sim.creates().is_empty(), "nothing was pushed");
}

#[test]
fn import_push_exits_1_when_rows_failed_and_pushes_the_good_ones() {
    let sim = GraphSim::start(Options::default());
    let wd = pulled(&sim);
    let mut rows = hires(2);
    rows.push_str("bad@unknown.example,B,C,B C,NL,,,,,,E9,\r\n");
    wd.write("hires.csv", &rows);
    let (code, stderr) = run(&wd, &["import", "hires.csv", "--push"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(sim.creates().len(), 2);
    assert_eq!(
        push_rows(&wd, "hires.push.csv")
            .iter()
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>(),
        ["created", "created"]
    );
}
