//! The durable job queue on both databases: idempotent enqueue, exclusive
//! claims under concurrency, lease expiry after a crash, backoff and giving up.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kyc_gateway::jobs::{NewJob, Retry, retry_after_failure};
use kyc_gateway::startup::open_store;
use kyc_gateway::store::Store;

use crate::helpers::{TestDatabase, init, test_settings};

async fn store() -> (Arc<dyn Store>, TestDatabase, tempfile::TempDir) {
    init();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let store = open_store(&test_settings(dir.path(), &db)).await.unwrap();
    (store, db, dir)
}

fn job(key: &str, max_attempts: u32) -> NewJob {
    NewJob {
        kind: "check.test".into(),
        dedupe_key: key.into(),
        payload: format!("{{\"key\":\"{key}\"}}").into_bytes(),
        max_attempts,
    }
}

const NOW: i64 = 1_800_000_000_000_000;
const SEC: i64 = 1_000_000;

#[tokio::test]
async fn enqueueing_the_same_work_twice_makes_one_job() {
    let (store, _db, _dir) = store().await;
    assert_eq!(
        store
            .jobs_enqueue(&[job("app-1/mrz", 3), job("app-1/mrz", 3)], NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .jobs_enqueue(&[job("app-1/mrz", 3)], NOW)
            .await
            .unwrap(),
        0
    );
    let claimed = store
        .jobs_claim("w1", NOW, NOW + 30 * SEC, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload, b"{\"key\":\"app-1/mrz\"}");
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let (store, _db, _dir) = store().await;
    let jobs: Vec<NewJob> = (0..60).map(|i| job(&format!("job-{i}"), 3)).collect();
    store.jobs_enqueue(&jobs, NOW).await.unwrap();
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = Arc::clone(&store);
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .jobs_claim(&format!("w{w}"), NOW, NOW + 60 * SEC, 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                for j in batch {
                    assert!(
                        store
                            .jobs_complete(&j.id, &format!("w{w}"), NOW)
                            .await
                            .unwrap()
                    );
                    mine.push(j.id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), 60, "a job was claimed twice or lost");
    assert_eq!(unique.len(), 60);
    assert_eq!(
        store.jobs_status("job-7").await.unwrap().unwrap().state,
        "done"
    );
}

#[tokio::test]
async fn a_crashed_workers_job_is_claimed_again_after_its_lease() {
    let (store, _db, _dir) = store().await;
    store.jobs_enqueue(&[job("j", 3)], NOW).await.unwrap();
    let first = store
        .jobs_claim("dead-worker", NOW, NOW + 30 * SEC, 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // Within the lease nobody else gets it.
    assert!(
        store
            .jobs_claim("w2", NOW + 10 * SEC, NOW + 40 * SEC, 1)
            .await
            .unwrap()
            .is_empty()
    );
    // After it, another worker does, and the dead worker can no longer finish it.
    let again = store
        .jobs_claim("w2", NOW + 31 * SEC, NOW + 61 * SEC, 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    assert!(
        !store
            .jobs_complete(&first[0].id, "dead-worker", NOW + 32 * SEC)
            .await
            .unwrap()
    );
    assert!(
        store
            .jobs_complete(&again[0].id, "w2", NOW + 32 * SEC)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn failures_back_off_and_end_as_failed_with_the_reason() {
    let (store, _db, _dir) = store().await;
    store.jobs_enqueue(&[job("flaky", 2)], NOW).await.unwrap();
    let base = Duration::from_secs(10);
    let cap = Duration::from_secs(600);
    let j = store
        .jobs_claim("w", NOW, NOW + 30 * SEC, 1)
        .await
        .unwrap()
        .remove(0);
    let retry = retry_after_failure(&j, NOW, base, cap);
    let Retry::At(at) = retry else {
        panic!("first failure must retry")
    };
    assert!((NOW + 7 * SEC..=NOW + 13 * SEC).contains(&at), "{at}");
    assert!(
        store
            .jobs_fail(&j.id, "w", "vendor timeout", retry, NOW)
            .await
            .unwrap()
    );
    let status = store.jobs_status("flaky").await.unwrap().unwrap();
    assert_eq!(
        (status.state.as_str(), status.last_error.as_deref()),
        ("queued", Some("vendor timeout"))
    );
    // Not before its time.
    assert!(
        store
            .jobs_claim("w", at - 1, at + 30 * SEC, 1)
            .await
            .unwrap()
            .is_empty()
    );
    let j = store
        .jobs_claim("w", at, at + 30 * SEC, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(j.attempt, 2);
    assert_eq!(retry_after_failure(&j, at, base, cap), Retry::GiveUp);
    assert!(
        store
            .jobs_fail(&j.id, "w", "vendor timeout again", Retry::GiveUp, at)
            .await
            .unwrap()
    );
    let status = store.jobs_status("flaky").await.unwrap().unwrap();
    assert_eq!(status.state, "failed");
    assert_eq!(status.attempts, 2);
    assert!(
        store
            .jobs_claim("w", at + 3600 * SEC, at + 3700 * SEC, 1)
            .await
            .unwrap()
            .is_empty()
    );
}
