//! The onboarding benchmark (issue #10; not a timed test). One command:
//!
//! ```sh
//! cargo bench --bench onboarding            # full run (~2 minutes), writes BENCHMARKS.md
//! BENCH_SMOKE=1 cargo bench --bench onboarding   # seconds; CI runs this so it cannot rot
//! BENCH_ONLY=requests cargo bench --bench onboarding  # the request rows only, printed
//! ```
//!
//! It starts the release binary as an operator would (`kyc-gateway serve
//! --config`, dev profile) against PostgreSQL (`BENCH_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; a scratch database is
//! created and dropped) and against SQLite, and measures in one run, on one
//! machine, with the same concurrency:
//!
//! - audited writes over TLS (consent capture with a JWT) against raw
//!   PostgreSQL single-row inserts (`pgbench` with a one-insert script);
//! - authenticated reads over TLS (get application with a JWT; an audited
//!   read of personal data) against raw primary-key selects (`pgbench -S`),
//!   and, for reference, against a minimal actix-web hello-world over the
//!   same TLS configuration (the ceiling of the HTTP and TLS layers);
//! - complete onboardings per second (create, consents, passport with its
//!   MRZ, selfie, submit, checks, decision) and the time from submit to
//!   decision (p50, p99), on PostgreSQL and on SQLite;
//! - the service's idle RSS and its peak RSS under this load.
//!
//! The load generator runs on the same cores as the server and pays for its
//! own TLS, as pgbench does for its protocol; the ratios compare like with like.

#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark program"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kyc-gateway");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CONCURRENCY: usize = 16;

struct Plan {
    smoke: bool,
    /// `BENCH_ONLY=requests`: only the gateway's request rows on PostgreSQL,
    /// for quick comparisons while working on the request path; nothing is
    /// written to `BENCHMARKS.md`.
    requests_only: bool,
    seconds: u64,
    onboardings: usize,
}

fn main() {
    let smoke = std::env::var_os("BENCH_SMOKE").is_some();
    let plan = Plan {
        smoke,
        requests_only: std::env::var("BENCH_ONLY").is_ok_and(|v| v == "requests"),
        seconds: if smoke { 1 } else { 10 },
        onboardings: if smoke { 4 } else { 60 },
    };
    let admin = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt.block_on(run(&plan, &admin));
    println!("\n{report}");
    if plan.requests_only {
        return;
    }
    let out = if plan.smoke {
        PathBuf::from(std::env::var("CARGO_TARGET_TMPDIR").unwrap_or_else(|_| "/tmp".into()))
            .join("BENCHMARKS.smoke.md")
    } else {
        Path::new(ROOT).join("BENCHMARKS.md")
    };
    std::fs::write(&out, &report).expect("write report");
    println!("written to {}", out.display());
}

async fn run(plan: &Plan, admin: &str) -> String {
    let db_name = format!("kyc_bench_{}", uuid::Uuid::new_v4().simple());
    let db_url = scratch_database(admin, &db_name).await;
    let dir = tempfile::tempdir().expect("temp dir");

    // PostgreSQL: the gateway, then raw PostgreSQL with pgbench.
    let pg = Gateway::start(&dir.path().join("pg"), Some(&db_url));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = pg.status_kib("VmRSS");
    pg.reset_peak_rss();
    let client = client_for(&pg.ca);
    // One applicant and application per concurrent client, as in a bank:
    // many applicants, each at their own application (a single shared
    // application would measure row-lock contention no real load has).
    let mut applicants = Vec::with_capacity(CONCURRENCY);
    for i in 0..CONCURRENCY {
        let token = pg.token(&format!("bench-load-{i}"), "applicant");
        let given = format!("Anna{}", letters(i));
        let id = create_application(&client, &pg.address, &token, &given, "Eriksson").await;
        applicants.push((token, id));
    }
    let (anna, app_id) = applicants[0].clone();
    let applicants = Arc::new(applicants);
    let texts: Value = client
        .get(format!(
            "{}/v1/applications/{app_id}/consent-texts",
            pg.address
        ))
        .bearer_auth(&anna)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decisions: Vec<Value> = texts["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"purpose": t["purpose"], "granted": t["required"], "text_version": t["version"], "text_sha256": t["sha256"], "locale": t["locale"]}))
        .collect();
    let consent_body = json!({"channel": "web", "decisions": decisions});
    let writes = load(plan.seconds, {
        let (client, address, applicants, body) = (
            client.clone(),
            pg.address.clone(),
            Arc::clone(&applicants),
            consent_body.clone(),
        );
        move |i| {
            let (client, address, body) = (client.clone(), address.clone(), body.clone());
            let (token, id) = applicants[i].clone();
            async move {
                let res = client
                    .post(format!("{address}/v1/applications/{id}/consents"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&body)
                    .send()
                    .await;
                matches!(res, Ok(r) if r.status() == 201)
            }
        }
    })
    .await;
    let reads = load(plan.seconds, {
        let (client, address, applicants) =
            (client.clone(), pg.address.clone(), Arc::clone(&applicants));
        move |i| {
            let (client, address) = (client.clone(), address.clone());
            let (token, id) = applicants[i].clone();
            async move {
                let res = client
                    .get(format!("{address}/v1/applications/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                matches!(res, Ok(r) if r.status() == 200)
            }
        }
    })
    .await;
    // Where a read's time goes: the HTTP and TLS layers with the gateway's
    // middleware (`/livez`), plus token verification (`/v1/me`).
    let livez = load(plan.seconds, {
        let (client, address) = (client.clone(), pg.address.clone());
        move |_| {
            let (client, address) = (client.clone(), address.clone());
            async move { matches!(client.get(format!("{address}/livez")).send().await, Ok(r) if r.status() == 200) }
        }
    })
    .await;
    let me = load(plan.seconds, {
        let (client, address, token) = (client.clone(), pg.address.clone(), anna.clone());
        move |_| {
            let (client, address, token) = (client.clone(), address.clone(), token.clone());
            async move {
                matches!(client.get(format!("{address}/v1/me")).bearer_auth(&token).send().await, Ok(r) if r.status() == 200)
            }
        }
    })
    .await;
    if plan.requests_only {
        drop(pg);
        drop_database(admin, &db_name).await;
        return format!(
            "PostgreSQL gateway only (BENCH_ONLY=requests), req/s: writes {writes:.0}, reads {reads:.0}, \
             /livez {livez:.0}, /v1/me {me:.0}\n"
        );
    }
    let pg_onboarding = onboardings(&pg, &client, plan.onboardings).await;
    let peak_rss = pg.status_kib("VmHWM");
    let ca = pg.ca.clone();
    let cert = pg.dir.join("data/dev/server.pem");
    let key = pg.dir.join("data/dev/server.key");
    drop(pg);

    let raw_insert = pgbench_insert(&db_url, plan.seconds);
    let raw_select = pgbench_select(&db_url, plan.seconds);
    let hello = hello_world(&ca, &cert, &key, plan.seconds).await;
    drop_database(admin, &db_name).await;

    // SQLite: the embedded default.
    let lite = Gateway::start(&dir.path().join("sqlite"), None);
    let lite_client = client_for(&lite.ca);
    let sqlite_onboarding = onboardings(&lite, &lite_client, plan.onboardings).await;
    drop(lite);

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    format!(
        "# Benchmarks\n\n\
         Command: `{cmd}` — {date}, {cores} cores, {mem_gib:.1} GiB RAM, concurrency {c}, {secs} s per load.\n\n\
         | measure | kyc-gateway | reference | ratio | goal |\n|---|---:|---:|---:|---|\n\
         | audited writes over TLS (consent capture, JWT) vs pgbench one-row insert, req/s | {w:.0} | {ri:.0} | {rw:.2} | ≥ 0.35 |\n\
         | authenticated reads over TLS (get application, JWT, audited PII read) vs pgbench -S, req/s | {r:.0} | {rs:.0} | {rr:.2} | ≥ 0.4 |\n\
         | the same reads vs actix-web hello-world over the same TLS, req/s | {r:.0} | {h:.0} | {rh:.2} | (ceiling) |\n\
         | diagnosis: `GET /livez` (TLS, HTTP, middleware) / `GET /v1/me` (+ JWT verification), req/s | {lz:.0} / {me:.0} | | | |\n\
         | complete onboardings/s, PostgreSQL ({n} applicants) | {po:.1} | | | |\n\
         | submit → decision, PostgreSQL, p50 / p99 ms | {pp50:.0} / {pp99:.0} | | | |\n\
         | complete onboardings/s, SQLite ({n} applicants) | {so:.1} | | | |\n\
         | submit → decision, SQLite, p50 / p99 ms | {sp50:.0} / {sp99:.0} | | | |\n\
         | service RSS idle / peak under this load, MiB | {idle} / {peak} | | | < 40 / < 150 |\n",
        cmd = if plan.smoke {
            "BENCH_SMOKE=1 cargo bench --bench onboarding"
        } else {
            "cargo bench --bench onboarding"
        },
        date = chrono::Utc::now().format("%Y-%m-%d"),
        mem_gib = mem as f64 / 1024.0 / 1024.0,
        c = CONCURRENCY,
        secs = plan.seconds,
        w = writes,
        ri = raw_insert,
        rw = ratio(writes, raw_insert),
        r = reads,
        rs = raw_select,
        rr = ratio(reads, raw_select),
        h = hello,
        lz = livez,
        me = me,
        rh = ratio(reads, hello),
        n = plan.onboardings,
        po = pg_onboarding.0,
        pp50 = pg_onboarding.1,
        pp99 = pg_onboarding.2,
        so = sqlite_onboarding.0,
        sp50 = sqlite_onboarding.1,
        sp99 = sqlite_onboarding.2,
        idle = idle_rss / 1024,
        peak = peak_rss / 1024,
    )
}

/// Runs `CONCURRENCY` loops of `request` (given the loop's number) for
/// `seconds`; successes per second.
async fn load<F, Fut>(seconds: u64, request: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let ok = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|i| {
            let (request, ok) = (Arc::clone(&request), Arc::clone(&ok));
            tokio::spawn(async move {
                while Instant::now() < end {
                    if request(i).await {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// `n` applicants onboarded, `CONCURRENCY` at a time: (per second, p50 ms, p99 ms)
/// from submit to decision.
async fn onboardings(gw: &Gateway, client: &reqwest::Client, n: usize) -> (f64, f64, f64) {
    let tokens: Vec<String> = (0..n)
        .map(|i| gw.token(&format!("bench-{i}"), "applicant"))
        .collect();
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, address, sem) = (client.clone(), gw.address.clone(), Arc::clone(&sem));
            tokio::spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                onboard_one(&client, &address, &token, i).await
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.push(t.await.unwrap());
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    (rate, pct(0.5), pct(0.99))
}

/// One onboarding; returns milliseconds from submit to decision.
async fn onboard_one(client: &reqwest::Client, address: &str, token: &str, i: usize) -> f64 {
    let given = format!("Anna{}", letters(i));
    let id = create_application(client, address, token, &given, "Eriksson").await;
    let texts: Value = client
        .get(format!("{address}/v1/applications/{id}/consent-texts"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decisions: Vec<Value> = texts["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"purpose": t["purpose"], "granted": t["required"], "text_version": t["version"], "text_sha256": t["sha256"], "locale": t["locale"]}))
        .collect();
    let res = client
        .post(format!("{address}/v1/applications/{id}/consents"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"channel": "web", "decisions": decisions}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let fixture = |name: &str| {
        std::fs::read(Path::new(ROOT).join("tests/fixtures/documents").join(name)).unwrap()
    };
    for (kind, name, mime) in [
        ("passport", "full-white-stripe.jpg", "image/jpeg"),
        ("selfie", "pngtest.png", "image/png"),
    ] {
        let part = reqwest::multipart::Part::bytes(fixture(name))
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap();
        let res = client
            .post(format!("{address}/v1/applications/{id}/documents"))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .multipart(
                reqwest::multipart::Form::new()
                    .text("kind", kind)
                    .part("file", part),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    let submitted = Instant::now();
    let res = client
        .post(format!("{address}/v1/applications/{id}/submit"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    loop {
        let v: Value = client
            .get(format!("{address}/v1/applications/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["state"] != "checking" && v["state"] != "submitted" {
            return submitted.elapsed().as_secs_f64() * 1000.0;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A distinct Latin suffix per applicant (names hold no digits).
fn letters(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

async fn create_application(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    given: &str,
    family: &str,
) -> String {
    let body = json!({
        "product": "current_account",
        "jurisdiction": "DE",
        "identity": {
            "given_names": given,
            "family_name": family,
            "date_of_birth": "1974-08-12",
            "nationality": "SE",
            "country_of_residence": "DE",
            "address": {"lines": ["Hauptstraße 5"], "city": "Berlin", "postal_code": "10115", "country": "DE"}
        }
    });
    let res = client
        .post(format!("{address}/v1/applications"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn pgbench(url: &str, args: &[&str]) -> f64 {
    let out = Command::new("pgbench")
        .args(args)
        .arg(url)
        .output()
        .expect("pgbench (PostgreSQL client tools)");
    assert!(
        out.status.success(),
        "pgbench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(0.0)
}

/// Raw single-row inserts, same concurrency.
fn pgbench_insert(url: &str, seconds: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("insert.sql");
    std::fs::write(
        &script,
        "\\set r random(1, 1000000)\nINSERT INTO bench_insert (v) VALUES (:r);\n",
    )
    .unwrap();
    let status = Command::new("psql")
        .args([
            "-q",
            "-c",
            "CREATE TABLE bench_insert (id BIGSERIAL PRIMARY KEY, v INTEGER NOT NULL)",
            url,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let (c, t) = (CONCURRENCY.to_string(), seconds.to_string());
    pgbench(
        url,
        &[
            "-n",
            "-c",
            &c,
            "-j",
            "2",
            "-T",
            &t,
            "-f",
            script.to_str().unwrap(),
        ],
    )
}

/// Raw primary-key selects (`pgbench -S`), same concurrency.
fn pgbench_select(url: &str, seconds: u64) -> f64 {
    let out = Command::new("pgbench")
        .args(["-i", "-q", "-s", "1"])
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (c, t) = (CONCURRENCY.to_string(), seconds.to_string());
    pgbench(url, &["-n", "-S", "-c", &c, "-j", "2", "-T", &t])
}

/// A minimal actix-web server with the gateway's own TLS configuration and
/// certificate: the ceiling of the HTTP and TLS layers.
async fn hello_world(ca: &Path, cert: &Path, key: &Path, seconds: u64) -> f64 {
    let resolver = Arc::new(
        kyc_gateway::tls::ReloadingCertResolver::new(
            cert.to_owned(),
            key.to_owned(),
            kyc_gateway::config::Profile::Dev,
        )
        .expect("dev certificate"),
    );
    let tls =
        kyc_gateway::tls::server_config(&kyc_gateway::config::Settings::default().tls, resolver)
            .expect("tls config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().route("/hello", actix_web::web::get().to(|| async { "hello" }))
    })
    .workers(2)
    .tcp_nodelay(true) // as the gateway
    .listen_rustls_0_23(listener, tls)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let client = client_for(ca);
    let address = format!("https://127.0.0.1:{port}");
    let rate = load(seconds, move |_| {
        let (client, address) = (client.clone(), address.clone());
        async move { matches!(client.get(format!("{address}/hello")).send().await, Ok(r) if r.status() == 200) }
    })
    .await;
    handle.stop(false).await;
    rate
}

async fn scratch_database(admin: &str, name: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("BENCH_DATABASE_URL: PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

async fn drop_database(admin: &str, name: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
}

fn client_for(ca: &Path) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .pool_max_idle_per_host(CONCURRENCY)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The gateway process (release build), its log drained on a thread.
struct Gateway {
    child: Child,
    dir: PathBuf,
    ca: PathBuf,
    address: String,
}

impl Gateway {
    fn start(dir: &Path, database_url: Option<&str>) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let db = database_url
            .map(|u| format!("database_url = \"{u}\"\n"))
            .unwrap_or_default();
        let config = format!(
            r#"bind = "127.0.0.1:0"
data_dir = "data"
policy_path = "{ROOT}/policies/onboarding.toml"
# As many database connections as concurrent clients, as pgbench has.
database_max_connections = {CONCURRENCY}
{db}
[telemetry]
log_level = "warn,kyc_gateway::startup=info"

[checks]
poll_interval_ms = 20

[review]
decide_interval_ms = 20

[auth.rate_limits.applicant]
per_subject_per_minute = 1000000
per_ip_per_minute = 1000000

[auth.action_limits]
create_application = {{ per_subject_per_minute = 1000000, per_ip_per_minute = 1000000 }}
upload = {{ per_subject_per_minute = 1000000, per_ip_per_minute = 1000000 }}
staff_action = {{ per_subject_per_minute = 1000000, per_ip_per_minute = 1000000 }}
audit_export = {{ per_subject_per_minute = 1000000, per_ip_per_minute = 1000000 }}

[[sanctions.lists]]
name = "ofac_sdn"
format = "ofac_sdn"
path = "{ROOT}/tests/fixtures/sanctions/ofac_sdn_2019"
"#
        );
        std::fs::write(dir.join("gateway.toml"), config).unwrap();
        let mut child = Self::command(dir)
            .args(["--config", "gateway.toml", "serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kyc-gateway");
        let stdout = child.stdout.take().unwrap();
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
                .recv_timeout(Duration::from_secs(120))
                .expect("the gateway did not start");
            if let Some(p) = v["ca_cert"].as_str() {
                ca = Some(dir.join(p));
            }
            if v["message"] == "kyc-gateway listening (TLS only)" {
                address = v["address"].as_str().map(str::to_owned);
            }
        }
        Self {
            child,
            dir: dir.to_owned(),
            ca: ca.unwrap(),
            address: address.unwrap(),
        }
    }

    fn command(dir: &Path) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(dir)
            .stdin(Stdio::null());
        cmd
    }

    fn token(&self, sub: &str, role: &str) -> String {
        let out = Self::command(&self.dir)
            .args([
                "--config",
                "gateway.toml",
                "dev",
                "token",
                "--role",
                role,
                "--sub",
                sub,
                "--ttl",
                "1h",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }

    /// Resets the peak RSS (`VmHWM`): proc(5), `clear_refs` value 5.
    fn reset_peak_rss(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
