//! The durable job queue: background work (KYC checks, outbound deliveries)
//! kept in the database, so it survives restarts and any number of replicas
//! can work it without a broker. Jobs are claimed with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), retried
//! with exponential backoff and jitter, and end as done or failed with a
//! reason. A job's `dedupe_key` makes enqueueing idempotent.

use std::time::Duration;

use async_trait::async_trait;
use ring::rand::SecureRandom;

use crate::store::StoreError;

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What kind of work (e.g. `check.mrz`).
    pub kind: String,
    /// One job per key: enqueueing the same key again does nothing.
    pub dedupe_key: String,
    /// Input for the worker (JSON).
    pub payload: Vec<u8>,
    /// Attempts before the job fails for good.
    pub max_attempts: u32,
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// Job id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Input.
    pub payload: Vec<u8>,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// Not claimable before this time (UTC µs).
    pub run_after_us: i64,
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again from this time (UTC µs).
    At(i64),
    /// No attempts left: the job failed.
    GiveUp,
}

/// Storage of the queue; implemented for both backends in `store::jobs`.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Adds jobs (those whose `dedupe_key` exists are skipped). Returns how many were new.
    async fn jobs_enqueue(&self, jobs: &[NewJob], now_us: i64) -> Result<u64, StoreError>;
    /// Claims up to `limit` ready jobs (queued and due, or running with an
    /// expired lease) for `owner` until `lease_until_us`.
    async fn jobs_claim(
        &self,
        owner: &str,
        now_us: i64,
        lease_until_us: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// Marks a job done, if `owner` still holds its lease.
    async fn jobs_complete(&self, id: &str, owner: &str, now_us: i64) -> Result<bool, StoreError>;
    /// Records a failed attempt, if `owner` still holds the lease: requeued at
    /// `retry`, or failed for good.
    async fn jobs_fail(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry: Retry,
        now_us: i64,
    ) -> Result<bool, StoreError>;
    /// A job's status, by dedupe key.
    async fn jobs_status(&self, dedupe_key: &str) -> Result<Option<JobStatus>, StoreError>;
}

/// Backoff before attempt `attempt + 1` after attempt `attempt` failed:
/// `base · 2^(attempt-1)`, capped, with ±25 % jitter so failing jobs of many
/// replicas do not retry in lockstep. `None` when no attempts are left.
pub fn backoff(
    attempt: u32,
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    jitter: f64,
) -> Option<Duration> {
    if attempt >= max_attempts {
        return None;
    }
    let exp = attempt.saturating_sub(1).min(30);
    let raw = base.as_secs_f64() * f64::from(1u32 << exp);
    let capped = raw.min(cap.as_secs_f64());
    let jitter = jitter.clamp(-1.0, 1.0) * 0.25;
    Some(Duration::from_secs_f64((capped * (1.0 + jitter)).max(0.0)))
}

/// A jitter value in [-1, 1] from the system random generator.
pub fn random_jitter() -> f64 {
    let mut b = [0u8; 2];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return 0.0;
    }
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) * 2.0 - 1.0
}

/// The retry decision for a failed attempt at `now_us`.
pub fn retry_after_failure(job: &ClaimedJob, now_us: i64, base: Duration, cap: Duration) -> Retry {
    match backoff(job.attempt, job.max_attempts, base, cap, random_jitter()) {
        Some(wait) => {
            Retry::At(now_us.saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX)))
        }
        None => Retry::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_jitters_and_stops() {
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(60);
        let at = |a| backoff(a, 8, base, cap, 0.0).unwrap().as_secs();
        assert_eq!([at(1), at(2), at(3), at(4)], [2, 4, 8, 16]);
        assert_eq!(at(7), 60, "capped");
        assert_eq!(backoff(8, 8, base, cap, 0.0), None);
        let hi = backoff(3, 8, base, cap, 1.0).unwrap().as_secs_f64();
        let lo = backoff(3, 8, base, cap, -1.0).unwrap().as_secs_f64();
        assert!(
            (hi - 10.0).abs() < 1e-9 && (lo - 6.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        for _ in 0..100 {
            assert!((-1.0..=1.0).contains(&random_jitter()));
        }
    }
}
