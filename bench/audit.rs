//! Audit log benchmark (DESIGN.md "Performance"; issue: sequencing is never
//! the bottleneck of a write request, verification of 1M entries < 10 s).
//!
//! Run: `cargo bench --bench audit` (PostgreSQL at `BENCH_DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`; a scratch database
//! is created and dropped). Prints:
//! - sequencer throughput on PostgreSQL and SQLite, entries/s;
//! - `audit verify` time for a 1,000,000-entry bundle.

#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark program"
)]

use std::io::{BufReader, BufWriter};
use std::sync::Arc;
use std::time::Instant;

use kyc_gateway::audit::AuditStore;
use kyc_gateway::audit::bundle::{BundleWriter, Header};
use kyc_gateway::audit::checkpoint::CheckpointSigner;
use kyc_gateway::audit::entry::{Actor, AuditEvent, Origin, Outcome, Target};
use kyc_gateway::audit::merkle::{CompactTree, leaf_hash};
use kyc_gateway::audit::sequencer::{SequencerSettings, run_once};
use kyc_gateway::audit::verify::verify_bundle;
use kyc_gateway::store::{ConnectOptions, connect};
use secrecy::SecretString;
use sqlx::Connection;

const ORIGIN: &str = "bench.example/kyc-gateway/audit";

fn sample(i: u64) -> AuditEvent {
    AuditEvent {
        v: 1,
        log_id: ORIGIN.into(),
        event_id: uuid::Uuid::now_v7().to_string(),
        time_us: 1_780_000_000_000_000 + i as i64,
        actor: Actor {
            kind: "applicant".into(),
            id: format!("ps_{:032x}", i % 5000),
            auth_method: "bearer".into(),
            client_id: Some("ps_00000000000000000000000000000001".into()),
        },
        origin: Origin {
            instance: "gateway-1".into(),
            source_ip: Some("192.0.2.10".into()),
        },
        action: "consent.captured".into(),
        outcome: Outcome {
            result: "success".into(),
            reason_code: None,
        },
        target: Some(Target {
            kind: "application".into(),
            id: format!("ps_{:032x}", i),
            state_before: Some("draft".into()),
            state_after: Some("draft".into()),
        }),
        request_id: Some(uuid::Uuid::now_v7().to_string()),
        trace_id: Some(format!("{:032x}", i + 1)),
        policy_version: Some("2026-12-01".into()),
        record_digest: Some(format!("{:064x}", i)),
    }
}

async fn sequencer_throughput(label: &str, url: &str, n: usize) {
    let store = connect(
        &SecretString::from(url.to_owned()),
        &ConnectOptions {
            max_connections: 8,
            acquire_timeout: std::time::Duration::from_secs(10),
        },
    )
    .await
    .expect("database");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn AuditStore> = store;
    // Writers' side, not measured here: fill the queue.
    let rows: Vec<(String, Vec<u8>)> = (0..n as u64)
        .map(|i| {
            let e = sample(i);
            (e.event_id.clone(), e.try_encode().unwrap())
        })
        .collect();
    for chunk in rows.chunks(1000) {
        store.audit_enqueue(chunk, 0).await.unwrap();
    }
    let (signer, _) = CheckpointSigner::generate(ORIGIN).unwrap();
    let settings = SequencerSettings {
        interval: std::time::Duration::from_millis(100),
        batch: 1000,
        checkpoint_max_age: std::time::Duration::from_secs(3600),
    };
    let t = Instant::now();
    let done = run_once(store.as_ref(), &signer, ORIGIN, &settings)
        .await
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(done, n as u64);
    println!(
        "sequencer ({label}): {n} entries in {secs:.2} s = {:.0} entries/s",
        n as f64 / secs
    );
}

fn verify_million() {
    let n: u64 = 1_000_000;
    let (signer, _) = CheckpointSigner::generate(ORIGIN).unwrap();
    let entries: Vec<Vec<u8>> = (0..n).map(|i| sample(i).try_encode().unwrap()).collect();
    let mut tree = CompactTree::new();
    for e in &entries {
        tree.append(leaf_hash(e)).unwrap();
    }
    let path = std::env::temp_dir().join(format!("kyc-audit-bench-{}.ndjson", std::process::id()));
    {
        let file = std::fs::File::create(&path).unwrap();
        let header = Header {
            log_id: ORIGIN.into(),
            origin: ORIGIN.into(),
            from: 0,
            to: n,
            tree_size: n,
            created_us: 0,
        };
        let mut w = BundleWriter::new(BufWriter::new(file), header).unwrap();
        w.key(&signer.vkey()).unwrap();
        w.checkpoint(&signer.sign(ORIGIN, n, &tree.root()).unwrap())
            .unwrap();
        for (i, e) in entries.iter().enumerate() {
            w.entry(i as u64, e).unwrap();
        }
        w.finish().unwrap();
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let t = Instant::now();
    let report = verify_bundle(
        BufReader::new(std::fs::File::open(&path).unwrap()),
        None,
        &[],
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(report.entries, n);
    println!(
        "audit verify: {n} entries ({} MB) in {secs:.2} s (goal < 10 s)",
        bytes / 1_000_000
    );
}

#[tokio::main]
async fn main() {
    kyc_gateway::install_crypto_provider();
    let n: usize = std::env::var("BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let admin = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("kyc_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    sequencer_throughput("postgres", &format!("{base}/{name}"), n).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    sequencer_throughput(
        "sqlite",
        &format!("sqlite://{}", dir.path().join("bench.db").display()),
        n,
    )
    .await;

    verify_million();
}
