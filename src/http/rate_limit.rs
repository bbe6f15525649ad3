//! In-memory token buckets per (route class, subject) and per (route class, client
//! IP). Each bucket holds a minute's worth of requests and refills continuously.
//! Memory is bounded: when the table is full, buckets that have refilled completely
//! (idle ones, indistinguishable from new ones) are evicted; if none can be, new keys
//! are refused rather than letting a flood of keys reset others' buckets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::auth::{RateAction, RouteClass};

/// What a bucket counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BucketKey {
    /// A token subject; hashed (SHA-256) so a long `sub` costs no more memory.
    Subject(RouteClass, [u8; 32]),
    /// A client IP.
    Ip(RouteClass, IpAddr),
    /// A token subject, for one action.
    ActionSubject(RateAction, [u8; 32]),
    /// A client IP, for one action.
    ActionIp(RateAction, IpAddr),
}

impl BucketKey {
    /// The bucket of `subject` on routes of `class`.
    pub fn subject(class: RouteClass, subject: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, subject.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        Self::Subject(class, key)
    }

    /// The bucket of `subject` for `action`.
    pub fn action_subject(action: RateAction, subject: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, subject.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        Self::ActionSubject(action, key)
    }

    /// The bucket of `ip` on routes of `class`.
    pub fn ip(class: RouteClass, ip: IpAddr) -> Self {
        Self::Ip(class, ip)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.capacity / 60.0).min(self.capacity);
        self.updated = now;
    }

    fn is_full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * self.capacity / 60.0 >= self.capacity
    }
}

/// The rate limiter shared by all workers.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
    max_entries: usize,
}

impl RateLimiter {
    /// A limiter remembering at most `max_entries` buckets.
    pub fn new(max_entries: usize) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    /// Takes one request from `key`'s bucket (`per_minute` capacity, refilled over a
    /// minute). `Err` carries how long until the next request would be admitted.
    pub fn check(&self, key: BucketKey, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(per_minute.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_entries {
            buckets.retain(|_, b| !b.is_full_at(now));
            if buckets.len() >= self.max_entries {
                tracing::warn!(
                    max_entries = self.max_entries,
                    "rate-limit table full of active buckets; refusing new clients"
                );
                return Err(Duration::from_secs(60));
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            capacity,
            updated: now,
        });
        bucket.capacity = capacity;
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) * 60.0 / capacity;
            Err(Duration::from_secs_f64(wait))
        }
    }

    /// Number of remembered buckets.
    pub fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no bucket is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `Retry-After` in whole seconds (RFC 9110 §10.2.3), rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> BucketKey {
        BucketKey::ip(RouteClass::Applicant, IpAddr::from([192, 0, 2, n]))
    }

    #[test]
    fn a_burst_beyond_the_bucket_waits_for_the_refill() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip(1), 3, t0).is_ok());
        }
        let wait = limiter.check(ip(1), 3, t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 20);
        // Another key and another class have buckets of their own.
        assert!(limiter.check(ip(2), 3, t0).is_ok());
        let other = BucketKey::ip(RouteClass::Staff, IpAddr::from([192, 0, 2, 1]));
        assert!(limiter.check(other, 3, t0).is_ok());
        // One token back after 20 s.
        assert!(
            limiter
                .check(ip(1), 3, t0 + Duration::from_secs(20))
                .is_ok()
        );
        assert!(
            limiter
                .check(ip(1), 3, t0 + Duration::from_secs(20))
                .is_err()
        );
    }

    #[test]
    fn memory_is_bounded_and_idle_buckets_are_evicted_first() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        limiter.check(ip(1), 60, t0).unwrap();
        limiter.check(ip(2), 60, t0).unwrap();
        // Both active: a third client is refused rather than evicting one of them.
        assert!(limiter.check(ip(3), 60, t0).is_err());
        assert_eq!(limiter.len(), 2);
        // A second later both have refilled, are idle and make room.
        limiter
            .check(ip(3), 60, t0 + Duration::from_secs(1))
            .unwrap();
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn subjects_are_hashed() {
        let long = "s".repeat(10_000);
        assert_eq!(
            BucketKey::subject(RouteClass::Staff, &long),
            BucketKey::subject(RouteClass::Staff, &long)
        );
        assert_ne!(
            BucketKey::subject(RouteClass::Staff, "a"),
            BucketKey::subject(RouteClass::Staff, "b")
        );
    }
}
