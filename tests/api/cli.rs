//! The binary as an operator runs it: default start-up, profiles, SIGTERM,
//! `migrate`, `openapi`, `--version`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kyc-gateway");

/// The binary with a clean environment (no stray `KYC_*`), run in `dir`.
fn gateway(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "KYC_POLICY_PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/policies/onboarding.toml"),
        )
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

#[test]
fn version_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = gateway(dir.path()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("kyc-gateway {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn openapi_subcommand_prints_the_committed_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = gateway(dir.path()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert_eq!(out.stdout, committed);
}

#[test]
fn migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = gateway(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/kyc-gateway.db").is_file());
}

fn refused(dir: &Path, envs: &[(&str, &str)], expect: &str) {
    let out = gateway(dir).envs(envs.iter().copied()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with {envs:?}");
    assert!(
        stderr.to_lowercase().contains(&expect.to_lowercase()),
        "{envs:?}: stderr was {stderr}"
    );
}

#[test]
fn production_refuses_unsafe_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let prod = ("KYC_PROFILE", "production");
    let pg = ("KYC_DATABASE_URL", "postgres://kyc@127.0.0.1:5432/kyc");
    refused(dir.path(), &[prod, pg], "tls.cert_path");

    let dev = kyc_gateway::tls::ensure_dev_certificates(&dir.path().join("dev")).unwrap();
    let cert = dev.server_cert.to_str().unwrap();
    let key = dev.server_key.to_str().unwrap();
    let with_cert = [("KYC_TLS__CERT_PATH", cert), ("KYC_TLS__KEY_PATH", key)];
    refused(
        dir.path(),
        &[
            prod,
            ("KYC_DATABASE_URL", "sqlite://kyc.db"),
            with_cert[0],
            with_cert[1],
        ],
        "SQLite is refused",
    );
    refused(
        dir.path(),
        &[prod, with_cert[0], with_cert[1]],
        "database_url",
    );
    let sqlite_ok = [
        ("KYC_DATABASE_URL", "sqlite://kyc.db"),
        ("KYC_ALLOW_SQLITE_IN_PRODUCTION", "true"),
    ];
    refused(
        dir.path(),
        &[prod, sqlite_ok[0], sqlite_ok[1], with_cert[0], with_cert[1]],
        "audit.origin",
    );
    let keys = [
        ("KYC_DATA_KEYS__KEK_ACTIVE", "k1"),
        ("KYC_DATA_KEYS__KEK_FILES__K1", "/etc/kyc/kek-k1.key"),
        ("KYC_DATA_KEYS__BLIND_INDEX_KEY_PATH", "/etc/kyc/blind.key"),
    ];
    let audit = [
        ("KYC_AUDIT__ORIGIN", "bank.example/kyc-gateway/audit"),
        ("KYC_AUDIT__SIGNING_KEY_PATH", "/etc/kyc/audit.p8"),
        ("KYC_AUDIT__PSEUDONYM_KEY_PATH", "/etc/kyc/pseudonym.key"),
    ];
    refused(
        dir.path(),
        &[
            prod,
            sqlite_ok[0],
            sqlite_ok[1],
            with_cert[0],
            with_cert[1],
            audit[0],
        ],
        "audit.signing_key_path",
    );
    // Even with SQLite explicitly allowed, a dev-generated certificate is not.
    refused(
        dir.path(),
        &[
            prod,
            sqlite_ok[0],
            sqlite_ok[1],
            with_cert[0],
            with_cert[1],
            audit[0],
            audit[1],
            audit[2],
            keys[0],
            keys[1],
            keys[2],
            ("KYC_AUTH__ISSUER", "https://idp.bank.example"),
            ("KYC_AUTH__AUDIENCE", "kyc-gateway"),
            ("KYC_AUTH__JWKS_URL", "https://idp.bank.example/jwks"),
        ],
        "development certificate",
    );
    // Production never trusts the dev signing key: it needs the bank's identity
    // provider, named key by key, and refuses a JWKS under the dev directory.
    let tls_and_db = [
        prod,
        pg,
        ("KYC_TLS__CERT_PATH", "/etc/kyc/cert.pem"),
        ("KYC_TLS__KEY_PATH", "/etc/kyc/key.pem"),
        audit[0],
        audit[1],
        audit[2],
        keys[0],
        keys[1],
        keys[2],
    ];
    refused(dir.path(), &tls_and_db, "auth.issuer");
    let idp = [
        ("KYC_AUTH__ISSUER", "https://idp.bank.example"),
        ("KYC_AUTH__AUDIENCE", "kyc-gateway"),
    ];
    refused(
        dir.path(),
        &[&tls_and_db[..], &idp[..]].concat(),
        "auth.jwks_path",
    );
    refused(
        dir.path(),
        &[
            &tls_and_db[..],
            &idp[..],
            &[("KYC_AUTH__JWKS_PATH", "data/dev/jwt-jwks.json")][..],
        ]
        .concat(),
        "dev directory",
    );
    refused(
        dir.path(),
        &[("KYC_DATABASE_URL", "mysql://db/kyc")],
        "unsupported scheme",
    );
    refused(dir.path(), &[("KYC_BIND", "everywhere")], "bind");
    refused(dir.path(), &[("KYC_SURPRISE", "1")], "surprise");
    assert!(
        !dir.path().join("data").exists(),
        "a refused start left files behind"
    );
}

#[test]
fn dev_token_prints_a_token_in_dev_and_is_refused_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let token = |envs: &[(&str, &str)]| {
        gateway(dir.path())
            .envs(envs.iter().copied())
            .args(["dev", "token", "--role", "applicant", "--sub", "alice"])
            .output()
            .unwrap()
    };
    let out = token(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.trim().split('.').count(), 3, "not a JWS: {printed}");

    let out = token(&[("KYC_PROFILE", "production")]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "printed a token in production");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused in the production profile"),
        "{stderr}"
    );

    let out = gateway(dir.path())
        .args(["dev", "token", "--role", "janitor", "--sub", "alice"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
}

/// Reads log lines until one satisfies `want`, bounded in lines.
fn wait_for_line(
    lines: &mut impl Iterator<Item = String>,
    want: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for line in lines.take(200) {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
            && want(&value)
        {
            return value;
        }
    }
    panic!("expected log line never came");
}

/// A gateway process started as an operator would, with its log read line
/// by line.
struct Running {
    child: std::process::Child,
    lines: Box<dyn Iterator<Item = String>>,
    ca: std::path::PathBuf,
    address: String,
}

impl Running {
    /// Starts the binary in `dir` with `envs` and waits for it to listen.
    fn start(dir: &Path, envs: &[(&str, String)]) -> Self {
        let mut child = gateway(dir)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines: Box<dyn Iterator<Item = String>> = Box::new(
            BufReader::new(child.stdout.take().unwrap())
                .lines()
                .map_while(Result::ok),
        );
        let certs = wait_for_line(&mut lines, |v| v["ca_cert"].is_string());
        let ca = dir.join(certs["ca_cert"].as_str().unwrap());
        let listening = wait_for_line(&mut lines, |v| {
            v["message"] == "kyc-gateway listening (TLS only)"
        });
        let address = listening["address"].as_str().unwrap().to_owned();
        Self {
            child,
            lines,
            ca,
            address,
        }
    }

    /// `GET /livez` on a runtime of its own that is gone before SIGTERM: a
    /// connection the client kept open would make the graceful shutdown wait
    /// for its keep-alive to run out (see README, "Shutdown").
    fn livez(&self, traceparent: Option<&'static str>) -> reqwest::StatusCode {
        let (ca, url) = (self.ca.clone(), format!("{}/livez", self.address));
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut req = crate::helpers::client_trusting(&[&ca], None).get(url);
                if let Some(tp) = traceparent {
                    req = req.header("traceparent", tp);
                }
                req.send().await.unwrap().status()
            })
        })
        .join()
        .unwrap()
    }

    /// Sends SIGTERM; returns the exit status and the log lines written after.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let rest: Vec<String> = self.lines.collect();
        (self.child.wait().unwrap(), rest)
    }
}

#[test]
fn a_fresh_start_serves_https_on_8443_and_stops_cleanly_on_sigterm() {
    crate::helpers::init();
    let dir = tempfile::tempdir().unwrap();
    let gw = Running::start(dir.path(), &[]);
    assert_eq!(gw.address, "https://127.0.0.1:8443");
    // The dev CA and key stay out of the repository: they live under data/.
    assert!(gw.ca.starts_with(dir.path().join("data")));
    assert_eq!(gw.livez(None), 200);
    let (status, lines_left) = gw.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        lines_left.iter().any(|l| l.contains("kyc-gateway stopped")),
        "no clean shutdown in {lines_left:?}"
    );
}

/// A one-purpose OTLP/HTTP collector: records the path and content type of
/// each POST and answers 200.
fn fake_collector() -> (u16, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Read the head, then the announced body.
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let line = head.lines().next().unwrap_or_default().to_owned();
            let header = |name: &str| {
                head.lines()
                    .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default()
            };
            let length: usize = header("content-length").parse().unwrap_or(0);
            let body_start = head.find("\r\n\r\n").map(|i| i + 4).unwrap_or(buf.len());
            let mut have = buf.len().saturating_sub(body_start);
            while have < length {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => have += n,
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send((line, header("content-type")));
        }
    });
    (port, rx)
}

#[test]
fn traces_are_exported_over_otlp_when_an_endpoint_is_configured() {
    crate::helpers::init();
    let (collector, received) = fake_collector();
    let dir = tempfile::tempdir().unwrap();
    let gw = Running::start(
        dir.path(),
        &[
            ("KYC_BIND", "127.0.0.1:0".to_owned()),
            (
                "KYC_TELEMETRY__OTLP_ENDPOINT",
                format!("http://127.0.0.1:{collector}/v1/traces"),
            ),
        ],
    );
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(gw.livez(Some(traceparent)), 200);
    // Shutdown flushes the batch exporter.
    let (status, _) = gw.terminate();
    assert!(status.success());
    let (line, content_type) = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("no OTLP export arrived");
    assert!(line.starts_with("POST /v1/traces "), "{line}");
    assert_eq!(content_type, "application/x-protobuf");
}
