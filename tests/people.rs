//! People over time (docs/nightly.md, docs/directory.md): Object IDs, the upgrade of a
//! directory written by an earlier onboard, the directory's permissions.

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
    let wd = Workdir::new();
    std::fs::copy(fixture("directory-v2.db"), wd.path("onboard.db")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(wd.path("onboard.db"), std::fs::Permissions::from_mode(0o600))
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
        "3",
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
            "onboard: error: onboard.db was written by a newer onboard (schema 99, this one knows 3); use that version or a newer one",
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
