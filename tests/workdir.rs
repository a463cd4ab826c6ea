//! A folder per test with fixture files, a way to run the real binary in it, and readers
//! for what it wrote.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The tenant most tests use: two domains, a default domain and usage location, and two
/// small licence pools so shortages are easy to reach.
pub const TENANT: &str = r#"
name = "Contoso"
domains = ["contoso.com", "fabrikam.nl"]
default_domain = "contoso.com"
default_usage_location = "NL"
[password]
length = 16
force_change = true
[[license]]
sku = "SPE_E3"
name = "Microsoft 365 E3"
seats = 3
apps = ["TEAMS1", "EXCHANGE_S_ENTERPRISE"]
[[license]]
sku = "EMS"
name = "Enterprise Mobility + Security E3"
seats = 1
apps = ["INTUNE_A", "AAD_PREMIUM"]
"#;

pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    /// A new folder holding `tenant.toml` ([`TENANT`]).
    pub fn new() -> Workdir {
        let wd = Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        wd.write("tenant.toml", TENANT);
        wd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        self.write_bytes(name, text.as_bytes());
    }

    pub fn write_bytes(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).expect("write fixture");
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    pub fn read_bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    /// `onboard ARGS` in this folder with `--tenant tenant.toml --directory onboard.db`.
    pub fn onboard(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("onboard").expect("binary");
        cmd.current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .args(args)
            .args(["--tenant", "tenant.toml", "--directory", "onboard.db"]);
        cmd
    }

    /// Starts `onboard ARGS` (with the folder's tenant and directory) with
    /// `ONBOARD_PAUSE_AT=point`, and returns it once it says it has paused there.
    pub fn paused_at(&self, args: &[&str], point: &str) -> std::process::Child {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("onboard"))
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .args(args)
            .args(["--tenant", "tenant.toml", "--directory", "onboard.db"])
            .env("ONBOARD_PAUSE_AT", point)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn onboard");
        wait_for_pause(child.stderr.as_mut().expect("stderr"), point);
        child
    }

    /// Runs `onboard import INPUT -o OUTPUT ARGS...` and returns the exit code.
    pub fn import(&self, input: &str, output: &str, args: &[&str]) -> i32 {
        let mut all = vec!["import", input, "-o", output, "-q"];
        all.extend_from_slice(args);
        let out = self.onboard(&all).output().expect("run onboard");
        out.status.code().expect("exit code")
    }

    /// The result file with every generated or given password checked against the policy
    /// of docs/import.md#passwords and replaced by `<password>`, so whole files can be compared.
    pub fn results(&self, name: &str) -> String {
        let bytes = self.read_bytes(name);
        let text = String::from_utf8(bytes).expect("results are UTF-8");
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let delimiter = delimiter_of(text);
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut out = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.expect("result record");
            let mut cells: Vec<String> = rec.iter().map(str::to_string).collect();
            if i > 0 && !cells[4].is_empty() {
                let password = cells[4].strip_prefix('\'').unwrap_or(&cells[4]);
                assert!(
                    cells[3] == "created" || cells[3] == "restored",
                    "only created and restored users get a password"
                );
                assert!(password.len() >= 8, "password too short in {name}");
                cells[4] = "<password>".to_string();
            }
            out.write_record(&cells).expect("write");
        }
        String::from_utf8(out.into_inner().expect("flush")).expect("utf8")
    }

    /// The passwords of a result file, in row order (empty where none).
    pub fn passwords(&self, name: &str) -> Vec<String> {
        self.column(name, 4)
    }

    /// One column of a result file, without the header.
    pub fn column(&self, name: &str, col: usize) -> Vec<String> {
        let text = self.read(name);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
        let delimiter = delimiter_of(&text);
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("record")[col].to_string())
            .collect()
    }

    /// Runs a query on the directory file and returns the rows as strings.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let conn = rusqlite::Connection::open(self.path("onboard.db")).expect("open db");
        let mut stmt = conn.prepare(sql).expect("prepare");
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    let v: rusqlite::types::Value = r.get(i)?;
                    Ok(match v {
                        rusqlite::types::Value::Null => "NULL".to_string(),
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Real(f) => f.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Blob(_) => "<blob>".to_string(),
                    })
                })
                .collect()
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    /// Number of users in the directory.
    pub fn user_count(&self) -> usize {
        let has_table = self.exists("onboard.db")
            && self.query("SELECT count(*) FROM sqlite_master WHERE name = 'users'")[0][0] == "1";
        if !has_table {
            return 0;
        }
        self.query("SELECT count(*) FROM users")[0][0]
            .parse()
            .expect("count")
    }

    /// Assigned seats per SKU (counted from the assignments), sorted by SKU.
    pub fn assigned(&self) -> Vec<(String, usize)> {
        self.query("SELECT sku, count(*) FROM user_licenses GROUP BY sku ORDER BY sku")
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().expect("n")))
            .collect()
    }

    /// The directory's own seat counter per SKU (non-zero ones), sorted by SKU.
    pub fn seat_counts(&self) -> Vec<(String, usize)> {
        self.query("SELECT sku, assigned FROM seat_counts WHERE assigned > 0 ORDER BY sku")
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().expect("n")))
            .collect()
    }

    /// `onboard users ARGS` on stdout, LF-terminated, with the Object ID column (after
    /// Block Sign In) checked to be a UUID and masked as `<object id>`; the Object IDs are
    /// returned beside it, in row order.
    pub fn listing(&self, args: &[&str]) -> (String, Vec<String>) {
        let mut all = vec!["users"];
        all.extend_from_slice(args);
        let out = self.onboard(&all).output().expect("run onboard users");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        mask_object_ids(&text)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The delimiter of a result file, from the character after `Line`.
fn delimiter_of(text: &str) -> u8 {
    text.as_bytes().get(4).copied().unwrap_or(b',')
}

/// The Microsoft 365 header with the extension columns most tests need.
pub const HEADER: &str = "User Name,First Name,Last Name,Display Name,Usage Location,Licenses,Disabled Apps,Roles,Password,Block Sign In,Employee ID,Alternate email address";

/// The header of `onboard users`.
pub const LISTING_HEADER: &str = "User Name,Display Name,First Name,Last Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region,Employee ID,Usage Location,Licenses,Disabled Apps,Roles,Block Sign In,Object ID\n";

/// A CSV of [`HEADER`] and `rows` (each a full line), CRLF-terminated as Excel writes.
pub fn csv(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    s.push_str("\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

/// Reads the stderr of a run started with `ONBOARD_PAUSE_AT=point` until it says it has
/// paused there; returns what it wrote so far.
pub fn wait_for_pause(stderr: &mut impl std::io::Read, point: &str) -> String {
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains(&format!("paused at {point}")) {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "onboard ended before pausing at {point}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    seen
}

/// A listing of `onboard users` (CRLF) as LF text with its Object ID column masked, and
/// the Object IDs; every one must be a version-7 UUID.
pub fn mask_object_ids(text: &str) -> (String, Vec<String>) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut ids = Vec::new();
    let mut at = None;
    for (i, rec) in rdr.records().enumerate() {
        let mut cells: Vec<String> = rec
            .expect("listing record")
            .iter()
            .map(str::to_string)
            .collect();
        if i == 0 {
            at = cells.iter().position(|c| c == "Object ID");
        } else if let Some(at) = at {
            let id = std::mem::replace(&mut cells[at], "<object id>".to_string());
            let parsed =
                uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("Object ID {id}: {e}"));
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(parsed.to_string(), id, "lower-case hyphenated");
            ids.push(id);
        }
        out.write_record(&cells).expect("write");
    }
    (
        String::from_utf8(out.into_inner().expect("flush")).expect("UTF-8"),
        ids,
    )
}
