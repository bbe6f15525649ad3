//! The audit log on both databases: transactional appends, the sequencer
//! under concurrency and crashes, append-only tables, and the auditor's
//! export verified offline by the CLI, including tampered bundles.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use kyc_gateway::audit::sequencer::{self, SequencerSettings};
use kyc_gateway::audit::{AuditLog, AuditStore};
use kyc_gateway::config::Settings;
use kyc_gateway::startup::{audit_log, open_store};
use kyc_gateway::store::Store;

use crate::helpers::{TestDatabase, init, test_settings};

const BIN: &str = env!("CARGO_BIN_EXE_kyc-gateway");

struct Fixture {
    settings: Settings,
    store: Arc<dyn Store>,
    log: Arc<AuditLog>,
    db: TestDatabase,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    init();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let settings = test_settings(dir.path(), &db);
    let store = open_store(&settings).await.unwrap();
    let log = Arc::new(audit_log(&settings, Arc::clone(&store)).unwrap());
    Fixture {
        settings,
        store,
        log,
        db,
        dir,
    }
}

fn seq_settings() -> SequencerSettings {
    SequencerSettings {
        interval: std::time::Duration::from_millis(20),
        batch: 500,
        checkpoint_max_age: std::time::Duration::from_secs(3600),
    }
}

/// Sequences until the queue is empty. A sequencer that was killed may hold
/// the PostgreSQL advisory lock until its connection's rollback runs, so a
/// round can find itself not elected; bounded retries cover that.
async fn drain(f: &Fixture) {
    for _ in 0..200 {
        sequencer::run_once(
            f.store.as_ref(),
            f.log.signer(),
            f.log.origin(),
            &seq_settings(),
        )
        .await
        .unwrap();
        if f.store.audit_queue_len().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the audit queue never drained");
}

fn event(log: &AuditLog, action: &str) -> kyc_gateway::audit::entry::AuditEvent {
    log.event(action, log.system_actor(), "success", None)
}

/// Runs the CLI against the fixture's database and data directory.
fn cli(f: &Fixture, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KYC_DATA_DIR", f.dir.path())
        .env("KYC_DATABASE_URL", &f.db.url)
        .env("KYC_TELEMETRY__LOG_LEVEL", "error")
        .args(args)
        .output()
        .unwrap()
}

fn export(f: &Fixture, out: &Path) {
    let res = cli(f, &["audit", "export", "--output", out.to_str().unwrap()]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
}

fn verify(bundle: &Path) -> (bool, String) {
    let res = Command::new(BIN)
        .args(["audit", "verify", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    (res.status.success(), text)
}

#[tokio::test]
async fn a_failed_transaction_leaves_no_entry_and_a_committed_one_always_has_it() {
    let f = fixture().await;
    let a = event(&f.log, "test.first");
    let dup = a.clone(); // same event id: the second insert violates uniqueness
    let b = event(&f.log, "test.second");
    assert!(f.log.record(&[b.clone(), a.clone(), dup]).await.is_err());
    assert_eq!(
        f.store.audit_queue_len().await.unwrap(),
        0,
        "a rolled-back batch left entries"
    );
    f.log.record(&[a.clone(), b.clone()]).await.unwrap();
    drain(&f).await;
    for e in [&a, &b] {
        assert!(f.store.audit_index_of(&e.event_id).await.unwrap().is_some());
    }
    assert_eq!(f.store.audit_queue_len().await.unwrap(), 0);
}

#[tokio::test]
async fn callers_recording_at_once_share_a_transaction_and_one_callers_failure_is_not_anothers() {
    let f = fixture().await;
    let taken = event(&f.log, "test.taken");
    f.log.record(std::slice::from_ref(&taken)).await.unwrap();
    // Forty callers at once (their futures polled together, so they land in
    // one group); one of them repeats an event id that is already queued.
    let events: Vec<_> = (0..40).map(|_| event(&f.log, "test.group")).collect();
    let calls = events.iter().enumerate().map(|(i, e)| {
        let log = Arc::clone(&f.log);
        let e = if i == 17 { taken.clone() } else { e.clone() };
        async move { log.record(&[e]).await }
    });
    let results = futures_util::future::join_all(calls).await;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), i != 17, "caller {i}: {result:?}");
    }
    assert_eq!(f.store.audit_queue_len().await.unwrap(), 40);
    drain(&f).await;
    for (i, e) in events.iter().enumerate() {
        let index = f.store.audit_index_of(&e.event_id).await.unwrap();
        assert_eq!(index.is_some(), i != 17, "event {i}");
    }
}

#[tokio::test]
async fn concurrent_writers_crashing_and_competing_sequencers_lose_and_duplicate_nothing() {
    let f = fixture().await;
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 1_000;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let log = Arc::clone(&f.log);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for chunk in 0..(PER_WRITER / 50) {
                let events: Vec<_> = (0..50)
                    .map(|_| event(&log, &format!("test.writer{w}.{chunk}")))
                    .collect();
                ids.extend(events.iter().map(|e| e.event_id.clone()));
                log.record(&events).await.unwrap();
            }
            ids
        }));
    }
    // Two sequencer candidates at once, the whole time the writers run.
    let mut sequencers = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn AuditStore> = Arc::clone(&f.store) as Arc<dyn AuditStore>;
        sequencers.push(sequencer::spawn(
            store,
            Arc::clone(f.log.signer()),
            f.log.origin().to_owned(),
            seq_settings(),
            f.log.wake_handle(),
        ));
    }
    // A sequencer killed mid-batch: its transaction must roll back cleanly.
    for _ in 0..5 {
        let store = Arc::clone(&f.store);
        let log = Arc::clone(&f.log);
        let victim = tokio::spawn(async move {
            let _ =
                sequencer::run_once(store.as_ref(), log.signer(), log.origin(), &seq_settings())
                    .await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        victim.abort();
    }
    let mut written = Vec::new();
    for t in tasks {
        written.extend(t.await.unwrap());
    }
    for s in sequencers {
        s.abort();
    }
    drain(&f).await;
    assert_eq!(written.len(), WRITERS * PER_WRITER);
    assert_eq!(f.store.audit_queue_len().await.unwrap(), 0);

    // Every committed entry exactly once, at contiguous indices.
    let mut indices = Vec::new();
    for id in &written {
        indices.push(
            f.store
                .audit_index_of(id)
                .await
                .unwrap()
                .expect("entry sequenced"),
        );
    }
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), written.len(), "an index was assigned twice");
    let total = f
        .store
        .audit_latest_checkpoint()
        .await
        .unwrap()
        .unwrap()
        .tree_size;
    assert_eq!(total, written.len() as u64);
    assert_eq!(indices, (0..total).collect::<Vec<_>>());

    // And the log verifies offline.
    let bundle = f.dir.path().join("bundle.ndjson");
    export(&f, &bundle);
    let (ok, text) = verify(&bundle);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("tree of size {total}")), "{text}");
}

#[tokio::test]
async fn audit_tables_refuse_update_delete_and_truncate() {
    let f = fixture().await;
    f.log
        .record(&[event(&f.log, "test.a"), event(&f.log, "test.b")])
        .await
        .unwrap();
    drain(&f).await;
    f.log.record(&[event(&f.log, "test.queued")]).await.unwrap();
    let mut statements = vec![
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "DELETE FROM audit_entries WHERE idx = 0",
        "UPDATE audit_checkpoints SET note = 'x'",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_tree_states SET root = root",
        "DELETE FROM audit_tree_states",
        "UPDATE audit_queue SET entry = entry",
        "DELETE FROM audit_queue",
    ];
    if f.db.is_postgres() {
        statements.extend([
            "TRUNCATE audit_entries",
            "TRUNCATE audit_checkpoints",
            "TRUNCATE audit_tree_states",
            "TRUNCATE audit_queue",
        ]);
    }
    for sql in statements {
        let result = raw_execute(&f, sql).await;
        assert!(result.is_err(), "`{sql}` was allowed");
    }
    assert_eq!(f.store.audit_queue_len().await.unwrap(), 1);
    let bundle = f.dir.path().join("bundle.ndjson");
    export(&f, &bundle);
    assert!(verify(&bundle).0);
}

/// Runs SQL on the fixture's database with the gateway's own credentials.
async fn raw_execute(f: &Fixture, sql: &str) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    if f.db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&f.db.url).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .map(|r| r.rows_affected())
    } else {
        let mut c = sqlx::SqliteConnection::connect(&f.db.url).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .map(|r| r.rows_affected())
    }
}

/// Lines of a bundle, to tamper with.
fn lines(bundle: &Path) -> Vec<String> {
    std::fs::read_to_string(bundle)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

fn entry_positions(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(r#""type":"entry""#))
        .map(|(i, _)| i)
        .collect()
}

fn set_entry_bytes(line: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(v["entry"].as_str().unwrap()).unwrap();
    f(&mut bytes);
    v["entry"] = b64.encode(&bytes).into();
    serde_json::to_string(&v).unwrap()
}

#[tokio::test]
async fn auditors_detect_every_kind_of_tampering_with_an_export() {
    let f = fixture().await;
    for i in 0..10 {
        f.log
            .record(&[event(&f.log, &format!("test.step{i}"))])
            .await
            .unwrap();
        drain(&f).await; // a checkpoint per size
    }
    let good = f.dir.path().join("good.ndjson");
    export(&f, &good);
    let (ok, text) = verify(&good);
    assert!(ok, "{text}");
    let original = lines(&good);
    let entries = entry_positions(&original);
    assert_eq!(entries.len(), 10);
    let bad = f.dir.path().join("bad.ndjson");

    let mut cases: Vec<(&str, Vec<String>, &str)> = Vec::new();
    let mut flipped = original.clone();
    flipped[entries[3]] = set_entry_bytes(&flipped[entries[3]], |b| b[20] ^= 0x01);
    cases.push(("flipped byte", flipped, "index 3"));
    let mut swapped = original.clone();
    swapped.swap(entries[4], entries[5]);
    cases.push(("swapped entries", swapped, "index 4"));
    let mut middle = original.clone();
    middle.remove(entries[6]);
    cases.push(("deleted middle entry", middle, "index 6"));
    let mut tail = original.clone();
    tail.remove(entries[9]);
    cases.push(("deleted tail entry", tail, "index 9"));
    let mut reindexed = original.clone();
    reindexed[entries[2]] = reindexed[entries[2]].replace(r#""index":2"#, r#""index":7"#);
    cases.push(("changed index", reindexed, "index 2"));
    let truncated: Vec<String> = original[..entries[0]].to_vec();
    cases.push(("truncated after the checkpoint", truncated, "truncated"));

    // A fork: a validly signed checkpoint of the same size with another root.
    let key = std::fs::read(f.settings.dev_dir().join("audit-signing-key.p8")).unwrap();
    let signer =
        kyc_gateway::audit::checkpoint::CheckpointSigner::from_pkcs8(f.log.origin(), &key).unwrap();
    let fork_note = signer.sign(f.log.origin(), 10, &[9u8; 32]).unwrap();
    let mut forked = original.clone();
    let cp = forked
        .iter()
        .position(|l| l.contains(r#""type":"checkpoint""#))
        .unwrap();
    forked.insert(
        cp + 1,
        serde_json::json!({"type": "checkpoint", "note": fork_note}).to_string(),
    );
    cases.push(("forked checkpoint", forked, "checkpoint"));

    for (name, tampered, expect) in cases {
        write(&bad, &tampered);
        let (ok, text) = verify(&bad);
        assert!(!ok, "{name}: verified anyway");
        let text = text.to_lowercase();
        let named = match expect.strip_prefix("index ") {
            Some(n) => {
                text.contains(&format!("index {n}")) || text.contains(&format!("entry {n}:"))
            }
            None => text.contains(expect),
        };
        assert!(named, "{name}: expected `{expect}` in: {text}");
    }

    // A checkpoint the auditor already holds must be consistent with the export.
    let trusted = f.dir.path().join("trusted.note");
    let old = f.store.audit_checkpoint_at(5).await.unwrap().unwrap();
    std::fs::write(&trusted, &old.note).unwrap();
    let res = Command::new(BIN)
        .args([
            "audit",
            "verify",
            good.to_str().unwrap(),
            "--trusted-checkpoint",
            trusted.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::write(
        &trusted,
        signer.sign(f.log.origin(), 5, &[1u8; 32]).unwrap(),
    )
    .unwrap();
    let res = Command::new(BIN)
        .args([
            "audit",
            "verify",
            good.to_str().unwrap(),
            "--trusted-checkpoint",
            trusted.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !res.status.success(),
        "an inconsistent trusted checkpoint was accepted"
    );
}

#[tokio::test]
async fn the_running_gateway_records_start_and_export_and_checkpoints_them() {
    let app = crate::helpers::spawn_app().await;
    let store = open_store(&app.settings).await.unwrap();
    // The start-up entry is sequenced by the gateway's own sequencer.
    let mut size = 0;
    for _ in 0..100 {
        size = store
            .audit_latest_checkpoint()
            .await
            .unwrap()
            .map(|c| c.tree_size)
            .unwrap_or(0);
        if size >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(size >= 1, "gateway.started was never sequenced");
    let first = store.audit_entries(0, 1).await.unwrap();
    let event = kyc_gateway::audit::entry::AuditEvent::decode(&first[0].entry).unwrap();
    assert_eq!(event.action, "gateway.started");
}

/// Polls the auditor listing until an event with `action` shows up.
async fn wait_for_action(
    app: &crate::helpers::TestApp,
    token: &str,
    action: &str,
) -> serde_json::Value {
    app.audit_events_until(token, &format!("action={action}"), |e| !e.is_empty())
        .await
        .swap_remove(0)
}

#[tokio::test]
async fn auditors_read_events_checkpoints_and_proofs_and_nobody_else_does() {
    use kyc_gateway::audit::checkpoint::{Verifier, parse_and_verify};
    use kyc_gateway::audit::merkle::{Hash, verify_consistency, verify_inclusion};
    let app = crate::helpers::spawn_app().await;
    let auditor = app.token("auditor-1", &["auditor"]);
    let officer = app.token("officer-1", &["officer"]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let hash = |s: &serde_json::Value| -> Hash {
        b64.decode(s.as_str().unwrap()).unwrap().try_into().unwrap()
    };

    // Staff without the auditor role: 403, and that refusal is itself audited.
    for path in [
        "/v1/audit/events",
        "/v1/audit/checkpoint",
        "/v1/audit/export",
    ] {
        let res = app.get_as(path, &officer).await;
        crate::helpers::assert_problem(res, 403, "forbidden").await;
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        crate::helpers::assert_problem(res, 401, "unauthorized").await;
    }
    let refused = wait_for_action(&app, &auditor, "auth.authorization_failed").await;
    assert_eq!(refused["entry"]["outcome"]["result"], "denied");
    assert!(
        !refused.to_string().contains("officer-1"),
        "raw subject in the audit log: {refused}"
    );

    let started = wait_for_action(&app, &auditor, "gateway.started").await;
    let event_id = started["entry"]["event_id"].as_str().unwrap().to_owned();

    // Cursor paging, one event per page.
    let page: serde_json::Value = app
        .get_as("/v1/audit/events?limit=1", &auditor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let next: serde_json::Value = app
        .get_as(
            &format!("/v1/audit/events?limit=1&cursor={cursor}"),
            &auditor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        next["events"][0]["index"].as_u64().unwrap() > page["events"][0]["index"].as_u64().unwrap()
    );

    // The checkpoint verifies with the published key.
    let key: serde_json::Value = app
        .client
        .get(format!("{}/v1/audit/public-key", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vkey = key["vkey"].as_str().unwrap().to_owned();
    let verifier = Verifier::from_vkey(&vkey).unwrap();
    let cp: serde_json::Value = app
        .get_as("/v1/audit/checkpoint", &auditor)
        .await
        .json()
        .await
        .unwrap();
    let checkpoint = parse_and_verify(
        cp["note"].as_str().unwrap(),
        std::slice::from_ref(&verifier),
    )
    .unwrap();
    assert_eq!(checkpoint.size, cp["tree_size"].as_u64().unwrap());

    // Inclusion of the start-up event in that tree.
    let proof: serde_json::Value = app
        .get_as(
            &format!("/v1/audit/events/{event_id}/inclusion-proof"),
            &auditor,
        )
        .await
        .json()
        .await
        .unwrap();
    let path: Vec<Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash)
        .collect();
    let proven = parse_and_verify(
        proof["checkpoint"].as_str().unwrap(),
        std::slice::from_ref(&verifier),
    )
    .unwrap();
    verify_inclusion(
        &hash(&proof["leaf_hash"]),
        proof["leaf_index"].as_u64().unwrap(),
        proven.size,
        &path,
        &proven.root,
    )
    .unwrap();

    // Consistency from the oldest checkpoint to the newest.
    let newest = proven.size;
    let store = open_store(&app.settings).await.unwrap();
    let old = store
        .audit_checkpoints_between(1, newest, 1)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a checkpoint");
    let res = app
        .get_as(
            &format!(
                "/v1/audit/consistency-proof?from_size={}&to_size={newest}",
                old.tree_size
            ),
            &auditor,
        )
        .await;
    assert_eq!(res.status(), 200);
    let c: serde_json::Value = res.json().await.unwrap();
    let proof: Vec<Hash> = c["proof"].as_array().unwrap().iter().map(hash).collect();
    verify_consistency(old.tree_size, newest, &old.root, &proven.root, &proof).unwrap();
    assert!(verify_consistency(old.tree_size, newest, &[7u8; 32], &proven.root, &proof).is_err());
    let bad = app
        .get_as(
            "/v1/audit/consistency-proof?from_size=5&to_size=1",
            &auditor,
        )
        .await;
    crate::helpers::assert_problem(bad, 400, "invalid_query").await;
    for path in [
        "/v1/audit/consistency-proof?from_size=1&to_size=18446744073709551615".to_owned(),
        format!("/v1/audit/events/{event_id}/inclusion-proof?tree_size=9223372036854775808"),
        format!("/v1/audit/events/{event_id}/inclusion-proof?tree_size=99999"),
    ] {
        let bad = app.get_as(&path, &auditor).await;
        crate::helpers::assert_problem(bad, 400, "invalid_query").await;
    }
    let bad = app.get_as("/v1/audit/events?limit=0", &auditor).await;
    crate::helpers::assert_problem(bad, 400, "invalid_query").await;
    let bad = app.get_as("/v1/audit/events?colour=red", &auditor).await;
    crate::helpers::assert_problem(bad, 400, "invalid_query").await;

    // The export over HTTPS verifies offline against the pinned key, and is audited.
    let res = app.get_as("/v1/audit/export", &auditor).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let bundle = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bundle.path(), res.bytes().await.unwrap()).unwrap();
    let out = Command::new(BIN)
        .args([
            "audit",
            "verify",
            bundle.path().to_str().unwrap(),
            "--key",
            &vkey,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for_action(&app, &auditor, "audit.exported").await;
}

#[tokio::test]
async fn a_forced_internal_error_is_an_opaque_500() {
    let app = crate::helpers::spawn_app().await;
    let auditor = app.token("auditor-1", &["auditor"]);
    // Sabotage the database under the running gateway.
    let url = app
        .settings
        .database_url
        .as_ref()
        .map(|u| secrecy::ExposeSecret::expose_secret(u).to_owned())
        .unwrap();
    {
        use sqlx::Connection;
        if url.starts_with("postgres") {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("DROP TABLE audit_entries CASCADE")
                .execute(&mut c)
                .await
                .unwrap();
        } else {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("DROP TABLE audit_entries")
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
    let res = app.get_as("/v1/audit/events", &auditor).await;
    let body = crate::helpers::assert_problem(res, 500, "internal").await;
    let text = body.to_string().to_lowercase();
    for leak in [
        "audit_entries",
        "sqlite",
        "postgres",
        "relation",
        "table",
        "sqlx",
    ] {
        assert!(!text.contains(leak), "500 body leaks `{leak}`: {text}");
    }
}

#[tokio::test]
async fn an_old_checkpoint_is_signed_again_even_without_new_entries() {
    let f = fixture().await;
    f.log.record(&[event(&f.log, "test.a")]).await.unwrap();
    drain(&f).await;
    let first = f.store.audit_latest_checkpoint().await.unwrap().unwrap();
    // Fresh enough: nothing to do.
    sequencer::run_once(
        f.store.as_ref(),
        f.log.signer(),
        f.log.origin(),
        &seq_settings(),
    )
    .await
    .unwrap();
    let same = f.store.audit_latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(same.created_us, first.created_us);
    // Older than the maximum age (zero here): the same size is signed anew.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let hourly = SequencerSettings {
        checkpoint_max_age: std::time::Duration::ZERO,
        ..seq_settings()
    };
    sequencer::run_once(f.store.as_ref(), f.log.signer(), f.log.origin(), &hourly)
        .await
        .unwrap();
    let again = f.store.audit_latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(again.tree_size, first.tree_size);
    assert_eq!(again.root, first.root);
    assert!(again.created_us > first.created_us);
}
