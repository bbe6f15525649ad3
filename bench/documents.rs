//! Document upload benchmark (issue #6; not a timed test).
//!
//! Run: `cargo bench --bench documents`. It starts the release binary as an
//! operator would (`kyc-gateway serve --config FILE`, dev profile, SQLite,
//! local blob store, in a fresh temporary directory) and prints, from one run
//! on one machine:
//!
//! - raw AES-256-GCM throughput of one core (ring, 64 KiB chunks, no I/O),
//!   and the gateway's chunked stream encryptor on the same core;
//! - upload throughput over TLS: one client uploading 10 MB JPEGs one after
//!   another (multipart, HTTP/1.1, a bearer token), in MB/s of file bytes,
//!   and its ratio to the raw AES-256-GCM figure (goal: at least 1/10),
//!   once with the data directory on disk (every blob is fsynced before its
//!   201, so this is bounded by the disk) and once in RAM (`/dev/shm`, where
//!   present: the gateway's own cost);
//! - the service's peak RSS (`VmHWM` of its process) while 32 clients each
//!   upload 10 MB at once (goal: under 150 MB), and while 32 clients each
//!   send 11 MB that the per-file limit refuses with 413.
//!
//! The client runs on the same two cores as the server and pays for its own
//! TLS, so the upload figure is a lower bound for the server alone.
//! `BENCH_ONLY=ram cargo bench --bench documents` prints only the raw AES
//! figures and the in-RAM upload row.

#![expect(
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark program"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kyc_gateway::crypto::envelope::DataKey;
use kyc_gateway::crypto::stream::Encryptor;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kyc-gateway");
const FILE_BYTES: usize = 10_000_000;
const SEQUENTIAL_UPLOADS: usize = 50;
const CONCURRENT_CLIENTS: usize = 32;
const CHUNK: usize = 64 * 1024;

fn main() {
    let raw = raw_aes_gcm_bytes_per_sec();
    let stream = stream_encryptor_bytes_per_sec();
    println!(
        "raw AES-256-GCM, one core (ring, 64 KiB chunks): {:.0} MB/s",
        raw / 1e6
    );
    println!(
        "gateway stream encryptor, one core:              {:.0} MB/s",
        stream / 1e6
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let jpeg = big_jpeg(FILE_BYTES);
    if std::env::var("BENCH_ONLY").as_deref() != Ok("ram") {
        on_disk(&rt, &jpeg, raw);
    }

    // The same with the data directory in RAM, where there is one: the
    // gateway's own cost without the disk's write bandwidth (each blob is
    // fsynced before its 201, so on disk the upload cannot outrun the disk).
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let dir = tempfile::tempdir_in(shm).expect("temp dir in /dev/shm");
        let server = Server::start(dir.path());
        let client = client(&server.ca);
        let rate = rt.block_on(sequential_uploads(&server, &client, &jpeg));
        println!(
            "upload over TLS, one client, {SEQUENTIAL_UPLOADS} × {} MB one after another, data directory in RAM (tmpfs): {:.0} MB/s = 1/{:.1} of raw AES-256-GCM (goal: at least 1/10)",
            FILE_BYTES / 1_000_000,
            rate / 1e6,
            raw / rate,
        );
    }
}

/// Peak memory and sequential throughput with the data directory on disk,
/// as the service is deployed.
fn on_disk(rt: &tokio::runtime::Runtime, jpeg: &Bytes, raw: f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let client = client(&server.ca);

    // Peak memory first, so the lifetime peak is this phase's.
    server.reset_peak_rss();
    let before = server.status_kib("VmRSS");
    let started = Instant::now();
    let statuses = rt.block_on(concurrent_uploads(&server, &client, jpeg));
    let elapsed = started.elapsed();
    let ok = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(ok, CONCURRENT_CLIENTS, "uploads refused: {statuses:?}");
    println!(
        "{CONCURRENT_CLIENTS} clients × {} MB at once: all 201 in {:.2} s; service RSS before {} MiB, peak {} MiB (goal < 150 MB)",
        FILE_BYTES / 1_000_000,
        elapsed.as_secs_f64(),
        before / 1024,
        server.status_kib("VmHWM") / 1024,
    );

    server.reset_peak_rss();
    let over = big_jpeg(11_000_000);
    let statuses = rt.block_on(concurrent_uploads(&server, &client, &over));
    println!(
        "{CONCURRENT_CLIENTS} clients × 11 MB over the per-file limit: {} answered 413, {} cut off mid-body; service peak RSS {} MiB",
        statuses.iter().filter(|s| **s == 413).count(),
        statuses.iter().filter(|s| **s == 0).count(),
        server.status_kib("VmHWM") / 1024,
    );

    let rate = rt.block_on(sequential_uploads(&server, &client, jpeg));
    println!(
        "upload over TLS, one client, {SEQUENTIAL_UPLOADS} × {} MB one after another, data directory on disk: {:.0} MB/s = 1/{:.1} of raw AES-256-GCM (goal: at least 1/10)",
        FILE_BYTES / 1_000_000,
        rate / 1e6,
        raw / rate,
    );
}

/// `ring`'s AES-256-GCM sealing 64 KiB buffers in place for about a second.
fn raw_aes_gcm_bytes_per_sec() -> f64 {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).expect("key"));
    let mut buf = vec![0x5au8; CHUNK];
    let (mut bytes, mut counter) = (0usize, 0u32);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..256 {
            counter += 1;
            let mut nonce = [0u8; 12];
            nonce[8..].copy_from_slice(&counter.to_be_bytes());
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::empty(),
                    &mut buf,
                )
                .expect("seal");
            let _ = std::hint::black_box(tag);
            bytes += CHUNK;
        }
    }
    bytes as f64 / started.elapsed().as_secs_f64()
}

/// The gateway's own chunked encryptor over 1 GiB, fed 256 KiB at a time.
fn stream_encryptor_bytes_per_sec() -> f64 {
    let key = DataKey::generate().expect("data key");
    let input = vec![0x5au8; 256 * 1024];
    let mut out = Vec::with_capacity(input.len() + 4096);
    let started = Instant::now();
    let mut enc = Encryptor::new(&key, b"bench").expect("encryptor");
    enc.write_header(&mut out);
    for _ in 0..4096 {
        out.clear();
        enc.update(&input, &mut out).expect("encrypt");
        std::hint::black_box(&out);
    }
    enc.finish(&mut out).expect("finish");
    (4096 * input.len()) as f64 / started.elapsed().as_secs_f64()
}

/// A valid baseline JPEG of `len` bytes: the headers of the real fixture
/// (tests/fixtures/documents) and random entropy-coded data, with every 0xFF
/// stuffed as ISO/IEC 10918-1 B.1.1.5 requires, ending in EOI. Bytes that
/// could spell another format's signature (`P`, `<`, `%`) are left out so a
/// chance ZIP or PDF signature cannot make the sniffer refuse it.
fn big_jpeg(len: usize) -> Bytes {
    let fixture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/documents/full-white-stripe.jpg"),
    )
    .expect("fixture");
    let sos = fixture
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("SOS marker");
    let header_len = u16::from_be_bytes([fixture[sos + 2], fixture[sos + 3]]) as usize;
    let mut out = fixture[..sos + 2 + header_len].to_vec();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    while out.len() < len - 2 {
        // xorshift64*: fast, deterministic filler.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let byte = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        match byte {
            b'P' | b'<' | b'%' => continue,
            0xFF => out.extend_from_slice(&[0xFF, 0x00]),
            b => out.push(b),
        }
    }
    out.truncate(len - 2);
    if out.last() == Some(&0xFF) {
        *out.last_mut().expect("non-empty") = 0x00;
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Bytes::from(out)
}

/// Creates `n` applicants, each with one application; returns (token, id).
async fn applicants(server: &Server, client: &reqwest::Client, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let sub = format!("bench-{}", uuid::Uuid::new_v4());
        let token = server.token(&sub);
        let body = json!({
            "product": "current_account",
            "jurisdiction": "DE",
            "identity": {
                "given_names": format!("Anna {}", &sub[6..14]),
                "family_name": "Eriksson",
                "date_of_birth": "1974-08-12",
                "nationality": "SE",
                "country_of_residence": "DE",
                "address": {
                    "lines": ["Hauptstraße 5"],
                    "city": "Berlin",
                    "postal_code": "10115",
                    "country": "DE"
                }
            }
        });
        let res = client
            .post(format!("{}/v1/applications", server.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .expect("create application");
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let created: Value = res.json().await.expect("json");
        out.push((token, created["id"].as_str().expect("id").to_owned()));
    }
    out
}

/// Uploads `jpeg` as a passport page; the status, or 0 if the connection
/// broke first (a server may answer 413 and close before the body is sent).
async fn upload(
    server: &Server,
    client: &reqwest::Client,
    token: &str,
    id: &str,
    jpeg: &Bytes,
) -> u16 {
    let form = reqwest::multipart::Form::new()
        .text("kind", "passport")
        .part(
            "file",
            // Shared, not copied: the client's own cost stays out of the figure.
            reqwest::multipart::Part::stream_with_length(jpeg.clone(), jpeg.len() as u64)
                .file_name("passport.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    match client
        .post(format!("{}/v1/applications/{id}/documents", server.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
    {
        Ok(res) => res.status().as_u16(),
        Err(_) => 0,
    }
}

async fn concurrent_uploads(server: &Server, client: &reqwest::Client, jpeg: &Bytes) -> Vec<u16> {
    let people = applicants(server, client, CONCURRENT_CLIENTS).await;
    let tasks: Vec<_> = people
        .into_iter()
        .map(|(token, id)| {
            let (client, jpeg) = (client.clone(), jpeg.clone());
            let address = server.address.clone();
            tokio::spawn(async move {
                let server = Server::remote(address);
                upload(&server, &client, &token, &id, &jpeg).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses
}

/// File bytes per second over `SEQUENTIAL_UPLOADS` uploads, one at a time.
async fn sequential_uploads(server: &Server, client: &reqwest::Client, jpeg: &Bytes) -> f64 {
    let people = applicants(server, client, SEQUENTIAL_UPLOADS + 1).await;
    // One upload first, so the connection and TLS session are warm.
    let (token, id) = &people[SEQUENTIAL_UPLOADS];
    assert_eq!(upload(server, client, token, id, jpeg).await, 201);
    let started = Instant::now();
    for (token, id) in &people[..SEQUENTIAL_UPLOADS] {
        assert_eq!(upload(server, client, token, id, jpeg).await, 201);
    }
    (SEQUENTIAL_UPLOADS * jpeg.len()) as f64 / started.elapsed().as_secs_f64()
}

/// rustls (ring) trusting the dev CA, HTTP/1.1.
fn tls_config(ca: &Path) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// An HTTPS client (HTTP/1.1, as mobile SDKs upload) trusting the dev CA.
fn client(ca: &Path) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(ca))
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

/// The gateway process, with its log drained on a thread of its own (a full
/// pipe would stall the server).
struct Server {
    child: Option<Child>,
    dir: PathBuf,
    ca: PathBuf,
    address: String,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let config = dir.join("gateway.toml");
        std::fs::write(
            &config,
            r#"
bind = "127.0.0.1:0"
data_dir = "data"

[telemetry]
log_level = "warn,kyc_gateway::startup=info"

[auth.action_limits]
create_application = { per_subject_per_minute = 100000, per_ip_per_minute = 100000 }
upload = { per_subject_per_minute = 100000, per_ip_per_minute = 100000 }
staff_action = { per_subject_per_minute = 100000, per_ip_per_minute = 100000 }
audit_export = { per_subject_per_minute = 100000, per_ip_per_minute = 100000 }

[auth.rate_limits.applicant]
per_subject_per_minute = 100000
per_ip_per_minute = 100000
"#,
        )
        .expect("config");
        let mut child = Self::command(dir)
            .args(["--config", "gateway.toml", "serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kyc-gateway");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let (mut ca, mut address) = (None, None);
        while address.is_none() {
            let v = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the gateway did not start");
            if let Some(path) = v["ca_cert"].as_str() {
                ca = Some(dir.join(path));
            }
            if v["message"] == "kyc-gateway listening (TLS only)" {
                address = v["address"].as_str().map(str::to_owned);
            }
        }
        Self {
            child: Some(child),
            dir: dir.to_owned(),
            ca: ca.expect("dev CA path logged"),
            address: address.expect("address"),
        }
    }

    /// A handle that only knows where the server is, for client tasks.
    fn remote(address: String) -> Self {
        Self {
            child: None,
            dir: PathBuf::new(),
            ca: PathBuf::new(),
            address,
        }
    }

    fn command(dir: &Path) -> Command {
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

    /// An applicant token from `kyc-gateway dev token`.
    fn token(&self, sub: &str) -> String {
        let out = Self::command(&self.dir)
            .args(["--config", "gateway.toml", "dev", "token"])
            .args(["--role", "applicant", "--sub", sub, "--ttl", "1h"])
            .output()
            .expect("dev token");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("started here").id()
    }

    /// A field of `/proc/<pid>/status`, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("status field")
    }

    /// Resets the process's peak RSS (`VmHWM`), Linux ≥ 4.0 (proc(5),
    /// `clear_refs` value 5).
    fn reset_peak_rss(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").expect("reset peak RSS");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
