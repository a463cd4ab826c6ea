//! Credential mail (docs/mail.md), against a real SMTP server (aiosmtpd) on loopback:
//! the mails that arrived, the mail log, exit codes, and that nothing goes twice.

use crate::smtp::{make_certificates, Mail, SmtpServer};
use crate::workdir::{csv, Workdir, TENANT};

/// Three new hires: two with an Alternate email address (one of them with a name that
/// needs RFC 2047), one without.
fn hires() -> String {
    csv(&[
        "anna@contoso.com,Anna,Bakker,Anna Bakker,NL,SPE_E3,,,,,E1,anna.b@example.org",
        "zoe@contoso.com,Zoë,Çelik,Zoë Çelik,NL,SPE_E3,,,,,E2,zoe.c@example.org",
        "piet@contoso.com,Piet,Smit,Piet Smit,NL,,,,,,E3,",
    ])
}

/// Gives `wd` a tenant file that sends mail through `server` with `extra` lines in
/// `[mail]`, and the hires.
fn with_mail(wd: &Workdir, server: &str, extra: &str) {
    wd.write(
        "tenant.toml",
        &format!(
            "{TENANT}\n[mail]\nserver = \"{server}\"\nfrom = \"IT Contoso <it@contoso.com>\"\nsign_in_url = \"https://portal.contoso.com\"\n{extra}"
        ),
    );
    wd.write("hires.csv", &hires());
}

/// A new work folder, as [`with_mail`] makes it.
fn workdir(server: &str, extra: &str) -> Workdir {
    let wd = Workdir::new();
    with_mail(&wd, server, extra);
    wd
}

fn local(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

/// Runs onboard; returns the exit code and stderr.
fn run(wd: &Workdir, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = wd.onboard(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `import hires.csv -o out.csv` with credential mails and the result mail to
/// admin@contoso.com.
fn import_mailing_admin(wd: &Workdir) -> (i32, String) {
    run(
        wd,
        &[
            "import",
            "hires.csv",
            "-o",
            "out.csv",
            "--mail-credentials",
            "--mail-results-to",
            "admin@contoso.com",
        ],
        &[],
    )
}

/// The mail log: kind, user, recipient, state.
fn log(wd: &Workdir) -> Vec<Vec<String>> {
    wd.query("SELECT kind, user_name, recipient, state FROM mails ORDER BY id")
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// `(user name, password)` of the created users of a result file.
fn passwords(wd: &Workdir, results: &str) -> Vec<(String, String)> {
    let users = wd.column(results, 1);
    let passwords = wd.passwords(results);
    users
        .into_iter()
        .zip(passwords)
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

fn credential_mail_to<'m>(mails: &'m [Mail], address: &str) -> &'m Mail {
    mails
        .iter()
        .find(|m| m.envelope_to == [address])
        .unwrap_or_else(|| panic!("no mail to {address} in {mails:#?}"))
}

#[test]
fn each_new_user_gets_their_password_and_the_admins_the_result_file() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start("127.0.0.1", &wd.path("mail"), &[]);
    with_mail(&wd, &local(smtp.port), "");
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hires.csv",
            "-o",
            "hires.results.csv",
            "--mail-credentials",
            "--mail-results-to",
            "admin@contoso.com, hr@contoso.com",
            "--summary",
            "summary.json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("  mail: 4 sent\n"), "{stderr}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 4);
    // One connection for the whole run.
    assert!(mails.iter().all(|m| m.peer == mails[0].peer), "{mails:#?}");
    let created = passwords(&wd, "hires.results.csv");
    assert_eq!(created.len(), 3);

    let anna = credential_mail_to(&mails, "anna.b@example.org");
    assert_eq!(anna.envelope_from, "it@contoso.com");
    assert_eq!(anna.header("From"), Some("\"IT Contoso\" <it@contoso.com>"));
    assert_eq!(
        anna.header("To"),
        Some("\"Anna Bakker\" <anna.b@example.org>")
    );
    assert_eq!(anna.header("Subject"), Some("Your account at Contoso"));
    assert!(anna.header("Date").is_some() && anna.header("Message-ID").is_some());
    let anna_password = &created
        .iter()
        .find(|(u, _)| u == "anna@contoso.com")
        .unwrap()
        .1;
    let text = anna.text();
    assert_eq!(
        text.trim_end(),
        format!(
            "Hello Anna Bakker,\n\nYour account at Contoso is ready.\n\n    User name: anna@contoso.com\n    Password:  {anna_password}\n\nSign in at https://portal.contoso.com. You may be asked to choose a password of your own the\nfirst time you sign in.\n\nThis mail holds your password: delete it once you have signed in. If you did not\nexpect it, tell your IT department."
        )
    );
    // A name beyond ASCII is encoded (RFC 2047), not sent raw.
    let zoe = credential_mail_to(&mails, "zoe.c@example.org");
    assert_eq!(
        zoe.header("To"),
        Some("=?utf-8?b?Wm/DqyDDh2VsaWs=?= <zoe.c@example.org>")
    );
    assert!(zoe.raw.is_ascii());
    // The result mails carry the result file as it is on disk.
    for admin in ["admin@contoso.com", "hr@contoso.com"] {
        let m = credential_mail_to(&mails, admin);
        assert_eq!(
            m.header("Subject"),
            Some("onboard results: hires.results.csv")
        );
        let attached = m
            .body
            .split("Content-Transfer-Encoding: base64\r\n\r\n")
            .nth(1)
            .unwrap()
            .split("\r\n--")
            .next()
            .unwrap()
            .replace("\r\n", "");
        assert_eq!(
            base64_decode(&attached),
            wd.read_bytes("hires.results.csv"),
            "the attachment is the result file"
        );
    }
    // The row without an address says so; the log has every outcome and no password.
    assert_eq!(
        wd.column("hires.results.csv", 6)[2],
        "no_mail_address: no Alternate email address to mail the password to"
    );
    assert_eq!(
        log(&wd),
        [
            row(&[
                "credentials",
                "anna@contoso.com",
                "anna.b@example.org",
                "sent"
            ]),
            row(&[
                "credentials",
                "zoe@contoso.com",
                "zoe.c@example.org",
                "sent"
            ]),
            row(&["results", "", "admin@contoso.com", "sent"]),
            row(&["results", "", "hr@contoso.com", "sent"]),
        ]
    );
    let everything = format!(
        "{stderr}{}{:?}",
        wd.read("summary.json"),
        wd.query("SELECT * FROM mails")
    );
    for (_, p) in &created {
        assert!(!everything.contains(p.as_str()), "a password leaked");
    }
    let summary: serde_json::Value = serde_json::from_str(&wd.read("summary.json")).unwrap();
    assert_eq!(summary["mail"]["credentials"], 2);
    assert_eq!(summary["mail"]["delivered"]["sent"], 4);
    assert_eq!(summary["exit_code"], 0);

    // `onboard mail` afterwards sends nothing again.
    let (code, stderr) = run(&wd, &["mail", "hires.results.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("mail: 0 sent, 4 sent before"), "{stderr}");
    assert_eq!(smtp.mails().len(), 4);
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.bytes().filter(|&b| b != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|&a| a == b).expect("base64") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn a_dry_run_checks_the_mail_table_and_counts_without_sending() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start("127.0.0.1", &wd.path("mail"), &[]);
    with_mail(&wd, &local(smtp.port), "");
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hires.csv",
            "--dry-run",
            "--mail-credentials",
            "--mail-results-to",
            "admin@contoso.com",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("  mail: 2 credential mails would be sent, and the results to 1 address\n"),
        "{stderr}"
    );
    assert!(smtp.mails().is_empty());
    assert!(!wd.exists("onboard.db"));
    // A [mail] that cannot work stops the run before it writes anything: here the SMTP
    // password's variable is not set.
    let wd = workdir(
        &local(smtp.port),
        "user = \"onboard\"\npassword_env = \"ONBOARD_TEST_SMTP_PASSWORD\"\n",
    );
    for dry in [true, false] {
        let mut args = vec!["import", "hires.csv", "--mail-credentials"];
        if dry {
            args.push("--dry-run");
        }
        let (code, stderr) = run(&wd, &args, &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("[mail] password_env names ONBOARD_TEST_SMTP_PASSWORD, but ONBOARD_TEST_SMTP_PASSWORD is not set"),
            "{stderr}"
        );
        assert!(!wd.exists("onboard.db") && !wd.exists("hires.results.csv"));
    }
    // Without a [mail] table, or with more than five result addresses: the same.
    let plain = Workdir::new();
    plain.write("hires.csv", &hires());
    let (code, stderr) = run(&plain, &["import", "hires.csv", "--mail-credentials"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("the tenant file has no [mail] table"),
        "{stderr}"
    );
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hires.csv",
            "--mail-results-to",
            "a@x.nl,b@x.nl,c@x.nl,d@x.nl,e@x.nl,f@x.nl",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("names 6 addresses; at most 5"), "{stderr}");
    assert!(!wd.exists("onboard.db"));
}

#[test]
fn a_refused_recipient_is_recorded_and_sent_later_by_onboard_mail_once() {
    let wd = Workdir::new();
    let maildir = wd.path("mail");
    let smtp = SmtpServer::start("127.0.0.1", &maildir, &["--reject", "zoe.c@example.org"]);
    let port = smtp.port;
    with_mail(&wd, &local(port), "");
    let (code, stderr) = run(
        &wd,
        &["import", "hires.csv", "-o", "out.csv", "--mail-credentials"],
        &[],
    );
    assert_eq!(code, 4, "committed, but a mail did not go: {stderr}");
    assert!(stderr.contains("mail: 1 sent, 1 refused"), "{stderr}");
    assert_eq!(wd.user_count(), 3, "the import stands");
    assert_eq!(
        wd.query("SELECT state, reply FROM mails WHERE user_name = 'zoe@contoso.com'"),
        [row(&[
            "refused",
            "permanent error (550): 5.1.1 <zoe.c@example.org>: Recipient address rejected: no such user"
        ])]
    );
    assert_eq!(smtp.mails().len(), 1);
    // Still refused: exit 4 again, nothing sent twice.
    let (code, stderr) = run(&wd, &["mail", "out.csv"], &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("mail: 0 sent, 1 sent before, 1 refused"),
        "{stderr}"
    );
    // The address works again: only the missing mail goes, then nothing.
    drop(smtp);
    let smtp = SmtpServer::start_on("127.0.0.1", port, &wd.path("mail2"), &[]);
    let (code, stderr) = run(&wd, &["mail", "out.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].envelope_to, ["zoe.c@example.org"]);
    let zoe_password = passwords(&wd, "out.csv")
        .into_iter()
        .find(|(u, _)| u == "zoe@contoso.com")
        .unwrap()
        .1;
    assert!(mails[0]
        .text()
        .contains(&format!("Password:  {zoe_password}\n")));
    let (code, _) = run(&wd, &["mail", "out.csv"], &[]);
    assert_eq!(code, 0);
    assert_eq!(smtp.mails().len(), 1, "never twice");
    // A file that no run wrote is refused.
    wd.write("other.csv", &wd.read("out.csv"));
    let (code, stderr) = run(&wd, &["mail", "other.csv"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no run in onboard.db wrote the result file"),
        "{stderr}"
    );
}

#[test]
fn with_the_server_down_the_import_stands_and_onboard_mail_sends_everything_later() {
    let wd = Workdir::new();
    // A port nothing listens on (a server started and stopped there).
    let port = SmtpServer::start("127.0.0.1", &wd.path("probe"), &[]).port;
    with_mail(&wd, &local(port), "");
    let (code, stderr) = import_mailing_admin(&wd);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("mail: 0 sent, 3 not sent (server not reached: "),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert_eq!(wd.user_count(), 3);
    assert!(log(&wd).iter().all(|r| r[3] == "planned"), "{:?}", log(&wd));
    let smtp = SmtpServer::start_on("127.0.0.1", port, &wd.path("mail"), &[]);
    let (code, stderr) = run(&wd, &["mail", "out.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("mail: 3 sent"), "{stderr}");
    let mut to: Vec<String> = smtp
        .mails()
        .iter()
        .map(|m| m.envelope_to[0].clone())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "admin@contoso.com",
            "anna.b@example.org",
            "zoe.c@example.org"
        ]
    );
    assert!(log(&wd).iter().all(|r| r[3] == "sent"));
}

#[test]
fn a_dropped_connection_and_a_temporary_refusal_are_retried_and_nothing_arrives_twice() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start(
        "127.0.0.1",
        &wd.path("mail"),
        &[
            "--drop-on-message",
            "2",
            "--tempfail",
            "admin@contoso.com:1",
        ],
    );
    with_mail(&wd, &local(smtp.port), "");
    let (code, stderr) = import_mailing_admin(&wd);
    assert_eq!(code, 0, "{stderr}");
    let mails = smtp.mails();
    let mut to: Vec<String> = mails.iter().map(|m| m.envelope_to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "admin@contoso.com",
            "anna.b@example.org",
            "zoe.c@example.org"
        ]
    );
    let events = smtp.events();
    assert!(
        events.contains(&"dropped zoe.c@example.org".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"tempfail admin@contoso.com".to_string()),
        "{events:?}"
    );
    assert!(log(&wd).iter().all(|r| r[3] == "sent"));
}

#[test]
fn starttls_with_the_tenants_ca_and_a_certificate_that_does_not_verify() {
    let wd = Workdir::new();
    make_certificates(wd.dir());
    let (cert, key) = (wd.path("server.pem"), wd.path("server.key"));
    let smtp = SmtpServer::start(
        "127.0.0.1",
        &wd.path("mail"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    // The CA file is found beside the tenant file.
    let trusting = workdir(&local(smtp.port), "ca_file = \"ca.pem\"\n");
    std::fs::copy(wd.path("ca.pem"), trusting.path("ca.pem")).unwrap();
    let (code, stderr) = run(
        &trusting,
        &["import", "hires.csv", "--mail-credentials"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().all(|m| m.tls), "sent over STARTTLS");
    // Without the CA the certificate does not verify: nothing is sent.
    let doubting = workdir(&local(smtp.port), "");
    let (code, stderr) = run(
        &doubting,
        &["import", "hires.csv", "--mail-credentials"],
        &[],
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert_eq!(smtp.mails().len(), 2);
    // smtps:// (TLS from the first byte) with the CA.
    let implicit = SmtpServer::start(
        "127.0.0.1",
        &wd.path("mail-smtps"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--implicit-tls",
        ],
    );
    let wd3 = workdir(
        &format!("smtps://127.0.0.1:{}", implicit.port),
        &format!("ca_file = \"{}\"\n", wd.path("ca.pem").display()),
    );
    let (code, stderr) = run(&wd3, &["import", "hires.csv", "--mail-credentials"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(implicit.mails().len(), 2);
}

#[test]
fn another_host_without_starttls_gets_nothing_not_even_the_sign_in() {
    let wd = Workdir::new();
    // 127.0.0.2 is this machine, but not one of the three names allowed without TLS.
    let smtp = SmtpServer::start(
        "127.0.0.2",
        &wd.path("mail"),
        &["--auth", "onboard:s3cret-smtp"],
    );
    with_mail(
        &wd,
        &format!("smtp://127.0.0.2:{}", smtp.port),
        "user = \"onboard\"\npassword_env = \"SMTP_PASSWORD\"\n",
    );
    let (code, stderr) = run(
        &wd,
        &["import", "hires.csv", "--mail-credentials"],
        &[("SMTP_PASSWORD", "s3cret-smtp")],
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("127.0.0.2 does not offer STARTTLS"),
        "{stderr}"
    );
    assert!(smtp.mails().is_empty());
    assert!(
        smtp.events().is_empty(),
        "no AUTH was tried: {:?}",
        smtp.events()
    );
    // With STARTTLS offered (and the CA trusted) it goes, signed in, encrypted.
    make_certificates(wd.dir());
    let tls = SmtpServer::start(
        "127.0.0.2",
        &wd.path("mail-tls"),
        &[
            "--auth",
            "onboard:s3cret-smtp",
            "--tls-cert",
            wd.path("server.pem").to_str().unwrap(),
            "--tls-key",
            wd.path("server.key").to_str().unwrap(),
        ],
    );
    let wd2 = workdir(
        &format!("smtp://127.0.0.2:{}", tls.port),
        &format!(
            "user = \"onboard\"\npassword_env = \"SMTP_PASSWORD\"\nca_file = \"{}\"\n",
            wd.path("ca.pem").display()
        ),
    );
    let (code, stderr) = run(
        &wd2,
        &["import", "hires.csv", "--mail-credentials"],
        &[("SMTP_PASSWORD", "s3cret-smtp")],
    );
    assert_eq!(code, 0, "{stderr}");
    let mails = tls.mails();
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().all(|m| m.tls && m.auth_user == "onboard"));
}

#[test]
fn sign_in_and_no_password_in_any_log() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start(
        "127.0.0.1",
        &wd.path("mail"),
        &["--auth", "onboard:s3cret-smtp"],
    );
    with_mail(
        &wd,
        &local(smtp.port),
        "user = \"onboard\"\npassword_env = \"SMTP_PASSWORD\"\n",
    );
    // A wrong SMTP password: the import stands, no mail goes, exit 4.
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hires.csv",
            "-o",
            "out.csv",
            "--mail-credentials",
            "-vvv",
        ],
        &[("SMTP_PASSWORD", "wrong-one")],
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("the server refused the sign-in: permanent error (535)"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-one"));
    assert!(smtp.mails().is_empty());
    // The right one, logging everything as text and as JSON.
    for format in ["text", "json"] {
        let (code, stderr) = run(
            &wd,
            &["mail", "out.csv", "-vvv", "--log-format", format],
            &[("SMTP_PASSWORD", "s3cret-smtp")],
        );
        assert_eq!(code, 0, "{stderr}");
        let mut secrets = vec!["s3cret-smtp".to_string()];
        secrets.extend(passwords(&wd, "out.csv").into_iter().map(|(_, p)| p));
        let log = format!("{stderr}{:?}", wd.query("SELECT * FROM mails"));
        for s in &secrets {
            assert!(!log.contains(s.as_str()), "{s} in the {format} log: {log}");
        }
    }
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "the second `onboard mail` sent nothing");
    assert!(mails.iter().all(|m| m.auth_user == "onboard"));
}

#[test]
fn no_header_can_be_injected() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start("127.0.0.1", &wd.path("mail"), &[]);
    with_mail(&wd, &local(smtp.port), "");
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hires.csv",
            "--mail-results-to",
            "admin@contoso.com\r\nBcc: evil@example.org",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not an e-mail address"), "{stderr}");
    let bad_from = workdir(&local(smtp.port), "");
    let tenant = bad_from.read("tenant.toml").replace(
        "from = \"IT Contoso <it@contoso.com>\"",
        "from = \"IT\\r\\nBcc: evil@example.org <it@contoso.com>\"",
    );
    bad_from.write("tenant.toml", &tenant);
    let (code, stderr) = run(
        &bad_from,
        &["import", "hires.csv", "--mail-credentials"],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("[mail] from"), "{stderr}");
    // A subject from the tenant file with a placeholder whose value holds a line break
    // stays one header: the display name comes from the directory, not a new header.
    let wd2 = workdir(&local(smtp.port), "subject = \"Welkom {display_name}\"\n");
    wd2.write(
        "hires.csv",
        &csv(&["eve@contoso.com,Eve,X,\"Eve Bcc: evil@example.org\",NL,,,,,,E9,eve@example.org"]),
    );
    let (code, stderr) = run(&wd2, &["import", "hires.csv", "--mail-credentials"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].envelope_to, ["eve@example.org"]);
    assert!(mails[0].header("Bcc").is_none());
    assert_eq!(
        mails[0].header("Subject"),
        Some("Welkom Eve Bcc: evil@example.org")
    );
}

#[test]
fn restore_mails_the_new_password_in_a_translated_template() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start("127.0.0.1", &wd.path("mail"), &[]);
    let template = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/mail/credentials.nl.txt"
    );
    with_mail(
        &wd,
        &local(smtp.port),
        &format!("template = \"{template}\"\nsubject = \"Welkom terug bij {{organisation}}, {{display_name}}\"\n"),
    );
    let (code, stderr) = run(&wd, &["import", "hires.csv", "-o", "in.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    wd.write("leavers.csv", "User Name\r\nzoe@contoso.com\r\n");
    let (code, stderr) = run(&wd, &["offboard", "leavers.csv"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        smtp.mails().is_empty(),
        "only runs that make passwords mail"
    );
    let (code, stderr) = run(
        &wd,
        &[
            "restore",
            "leavers.csv",
            "-o",
            "back.csv",
            "--mail-credentials",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("mail: 1 sent"), "{stderr}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let (_, password) = passwords(&wd, "back.csv").pop().unwrap();
    assert_eq!(
        mails[0].header("Subject"),
        Some("Welkom terug bij Contoso, =?utf-8?b?Wm/DqyDDh2VsaWs=?=")
    );
    let text = mails[0].text();
    assert!(
        text.starts_with("Beste Zoë Çelik,\n\nJe account bij Contoso staat klaar.\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "    Gebruikersnaam: zoe@contoso.com\n    Wachtwoord:     {password}\n"
        )),
        "{text}"
    );
}

#[test]
fn a_run_killed_while_mailing_sends_nothing_twice() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start("127.0.0.1", &wd.path("mail"), &[]);
    with_mail(&wd, &local(smtp.port), "");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("onboard"))
        .current_dir(wd.dir())
        .args(["import", "hires.csv", "-o", "out.csv", "--mail-credentials"])
        .args(["--tenant", "tenant.toml", "--directory", "onboard.db"])
        .env("ONBOARD_PAUSE_AT", "mail-sending")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::workdir::wait_for_pause(child.stderr.as_mut().unwrap(), "mail-sending");
    child.kill().unwrap();
    child.wait().unwrap();
    // The import stands; one mail is marked as being sent, the other not yet tried.
    assert_eq!(wd.user_count(), 3);
    assert_eq!(
        log(&wd),
        [
            row(&[
                "credentials",
                "anna@contoso.com",
                "anna.b@example.org",
                "sending"
            ]),
            row(&[
                "credentials",
                "zoe@contoso.com",
                "zoe.c@example.org",
                "planned"
            ]),
        ]
    );
    // `onboard mail` sends the one never tried, not the one that may have gone: exit 4
    // until the admin decides.
    let (code, stderr) = run(&wd, &["mail", "out.csv"], &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("mail: 1 sent, 1 unconfirmed"), "{stderr}");
    assert!(stderr.contains("--resend-unconfirmed"), "{stderr}");
    assert_eq!(smtp.mails().len(), 1);
    let (code, stderr) = run(&wd, &["mail", "out.csv", "--resend-unconfirmed"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let mut to: Vec<String> = smtp
        .mails()
        .iter()
        .map(|m| m.envelope_to[0].clone())
        .collect();
    to.sort();
    assert_eq!(
        to,
        ["anna.b@example.org", "zoe.c@example.org"],
        "each user once"
    );
    let (code, _) = run(&wd, &["mail", "out.csv", "--resend-unconfirmed"], &[]);
    assert_eq!(code, 0);
    assert_eq!(smtp.mails().len(), 2);
}

#[test]
fn failed_rows_exit_1_even_when_a_mail_failed_too_and_the_summary_says_so() {
    let wd = Workdir::new();
    let smtp = SmtpServer::start(
        "127.0.0.1",
        &wd.path("mail"),
        &["--reject", "zoe.c@example.org"],
    );
    with_mail(&wd, &local(smtp.port), "");
    let mut rows = hires();
    rows.push_str("bad@unknown.example,B,C,B C,NL,,,,,,E4,bad@example.org\r\n");
    wd.write("hires.csv", &rows);
    let (code, stderr) = run(
        &wd,
        &[
            "import",
            "hires.csv",
            "--mail-credentials",
            "--summary",
            "s.json",
        ],
        &[],
    );
    assert_eq!(
        code, 1,
        "a failed row says more than a failed mail: {stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s.json")).unwrap();
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["mail"]["delivered"]["sent"], 1);
    assert_eq!(summary["mail"]["delivered"]["refused"], 1);
    // Without the bad row, the same refusal is exit 4, in the summary too.
    wd.write(
        "hires2.csv",
        &hires()
            .replace("E1,", "E11,")
            .replace("anna@", "anna2@")
            .replace("zoe@", "zoe2@")
            .replace("piet@", "piet2@"),
    );
    let (code, _) = run(
        &wd,
        &[
            "import",
            "hires2.csv",
            "--mail-credentials",
            "--summary",
            "s2.json",
        ],
        &[],
    );
    assert_eq!(code, 4);
    let summary: serde_json::Value = serde_json::from_str(&wd.read("s2.json")).unwrap();
    assert_eq!(summary["exit_code"], 4);
}
