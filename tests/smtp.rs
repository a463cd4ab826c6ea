//! A real SMTP server for the mail tests: aiosmtpd (`tests/support/smtp_server.py`),
//! started on a loopback address and stopped when the test ends; and the certificates of
//! a test CA for its STARTTLS.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl SmtpServer {
    /// Starts the server on `host` (127.0.0.1, 127.0.0.2, ...) with `options` (see the
    /// script), keeping mail in `maildir`.
    pub fn start(host: &str, maildir: &Path, options: &[&str]) -> SmtpServer {
        Self::start_on(host, 0, maildir, options)
    }

    /// The same on a given port (0: any).
    pub fn start_on(host: &str, port: u16, maildir: &Path, options: &[&str]) -> SmtpServer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--host", host, "--port", &port.to_string(), "--maildir"])
            .arg(maildir)
            .args(options)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's first line");
        let Some(port) = line.trim().strip_prefix("PORT ") else {
            let _ = child.kill();
            panic!(
                "the test SMTP server did not start (is aiosmtpd installed? `python3 -m pip install aiosmtpd`; .ci/run installs it): {line:?}"
            );
        };
        SmtpServer {
            port: port.parse().expect("a port"),
            child,
            maildir: maildir.to_path_buf(),
        }
    }

    /// The mails kept so far, in the order they came.
    pub fn mails(&self) -> Vec<Mail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.maildir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names
            .iter()
            .map(|p| Mail::parse(&std::fs::read_to_string(p).expect("a mail")))
            .collect()
    }

    /// The server's events (auth tries, refusals, drops), a line each.
    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.maildir.join("events.log"))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // SIGTERM, so that it closes its sessions; it exits within a second.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A mail as the server kept it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub envelope_to: Vec<String>,
    pub envelope_from: String,
    /// ip:port of the client: one value a connection.
    pub peer: String,
    pub tls: bool,
    pub auth_user: String,
    /// The mail's own headers, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (transfer encoding not undone).
    pub body: String,
    pub raw: String,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let (head, body) = raw.split_once("\r\n\r\n").expect("headers and body");
        let mut lines: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                lines
                    .last_mut()
                    .expect("a header to fold into")
                    .push_str(line);
            } else {
                lines.push(line.to_string());
            }
        }
        let mut mail = Mail {
            envelope_to: Vec::new(),
            envelope_from: String::new(),
            peer: String::new(),
            tls: false,
            auth_user: String::new(),
            headers: Vec::new(),
            body: body.to_string(),
            raw: raw.to_string(),
        };
        for line in lines {
            let (name, value) = line.split_once(": ").expect("a header");
            match name {
                "X-Envelope-To" => mail.envelope_to.push(value.to_string()),
                "X-Envelope-From" => mail.envelope_from = value.to_string(),
                "X-Peer" => mail.peer = value.to_string(),
                "X-TLS" => mail.tls = value == "yes",
                "X-Auth-User" => mail.auth_user = value.to_string(),
                _ => mail.headers.push((name.to_string(), value.to_string())),
            }
        }
        mail
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of a quoted-printable or 7bit body (the first text part's, for a
    /// multipart mail), decoded.
    pub fn text(&self) -> String {
        let body = match self
            .body
            .split_once("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        {
            Some((_, part)) => part.split("\r\n--").next().unwrap_or(part),
            None => &self.body,
        };
        decode_quoted_printable(body)
    }
}

/// Undoes quoted-printable: `=XX` bytes and `=` soft line breaks.
pub fn decode_quoted_printable(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("a =XX escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .expect("UTF-8 text")
        .replace("\r\n", "\n")
}

/// A test CA and a server certificate it signed, for 127.0.0.1, 127.0.0.2 and
/// localhost, written as PEM files into `dir`: `ca.pem`, `server.pem`, `server.key`.
pub fn make_certificates(dir: &Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("a key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.distinguished_name
        .push(DnType::CommonName, "onboard test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("a key");
    let mut server = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "127.0.0.2".to_string(),
    ])
    .expect("params");
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.is_ca = IsCa::ExplicitNoCa;
    let cert = server
        .signed_by(&key, &issuer)
        .expect("the server certificate");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}
