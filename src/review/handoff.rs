//! Hand-off to the bank's downstream systems: the outbox events written with
//! each decision are delivered as signed webhooks (Standard Webhooks:
//! `webhook-id`, `webhook-timestamp`, `webhook-signature` = `v1,` +
//! base64 HMAC-SHA256 over `id.timestamp.body`), in order per application,
//! retried with exponential backoff and jitter, and kept as `failed` after
//! the last attempt for an admin to replay. A downstream outage never blocks
//! a decision: the outbox is written in the decision's transaction and
//! delivered later.
//!
//! Delivery is at least once (the receiver deduplicates by `webhook-id`, as
//! the Standard Webhooks specification expects); replicas never deliver the
//! same event at the same time, because each claims an event by moving its
//! next attempt time forward with a guarded update.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::audit::AuditLog;
use crate::audit::entry::Target;
use crate::audit::log::encode_all;
use crate::domain::clock::Clock;
use crate::onboarding::{AuditRows, Caller, Onboarding};
use crate::store::{Store, StoreError};

/// A stored outbox event.
#[derive(Debug, Clone)]
pub struct OutboxRecord {
    /// UUIDv7; the `webhook-id`.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// Event type.
    pub event_type: String,
    /// The sealed body.
    pub payload_sealed: Vec<u8>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Next attempt, UTC µs.
    pub next_attempt_us: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// UTC µs.
    pub created_us: i64,
    /// UTC µs.
    pub delivered_us: Option<i64>,
}

/// An attempt's end, as stored.
#[derive(Debug, Clone)]
pub struct OutboxUpdate<'a> {
    /// The event.
    pub id: &'a str,
    /// The next attempt time the claim set (guard).
    pub claimed_until_us: i64,
    /// New state.
    pub state: &'a str,
    /// Attempts made now.
    pub attempts: i64,
    /// Next attempt, UTC µs.
    pub next_attempt_us: i64,
    /// Why it failed.
    pub last_error: Option<&'a str>,
    /// When delivered.
    pub delivered_us: Option<i64>,
    /// Audit entries.
    pub audit: &'a AuditRows,
}

/// Storage of the outbox; implemented for both backends in `store::review`.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Pending events due now that are the oldest undelivered event of
    /// their application (so each application's events go out in order).
    async fn outbox_due(&self, now_us: i64, limit: u32) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Claims an event: moves its next attempt from `expected` to `until`;
    /// false if another worker was first.
    async fn outbox_claim(&self, id: &str, expected: i64, until: i64) -> Result<bool, StoreError>;
    /// Records an attempt's end (guarded by the claim) with its audit entry.
    async fn outbox_update(&self, update: &OutboxUpdate<'_>) -> Result<bool, StoreError>;
    /// One event.
    async fn outbox_get(&self, id: &str) -> Result<Option<OutboxRecord>, StoreError>;
    /// Events by state, oldest first.
    async fn outbox_list(&self, state: &str, limit: u32) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Puts a failed event back to pending (attempts reset), with its audit entry.
    async fn outbox_replay(
        &self,
        id: &str,
        now_us: i64,
        audit: &AuditRows,
    ) -> Result<bool, StoreError>;
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct HandoffSettings {
    /// The downstream endpoint; none: events wait, kept, until one is configured.
    pub url: Option<url::Url>,
    /// The signing key (the decoded Standard Webhooks secret).
    pub key: Vec<u8>,
    /// Attempts before an event is `failed`.
    pub max_attempts: u32,
    /// First retry delay.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
    /// Per attempt.
    pub timeout: Duration,
    /// Idle pause.
    pub idle: Duration,
}

/// Errors of the hand-off.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// No such event.
    #[error("not found")]
    NotFound,
    /// Only failed events are replayed.
    #[error("only a failed event can be replayed")]
    NotFailed,
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Audit encoding.
    #[error(transparent)]
    Audit(#[from] crate::audit::log::AuditError),
    /// Keys.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The secret file.
    #[error("{0}")]
    Secret(String),
}

/// Reads a Standard Webhooks secret (`whsec_` + base64 of at least 24
/// random bytes) from `path`; in dev, `generate` creates one first.
pub fn load_secret(path: &Path, generate: bool) -> Result<Vec<u8>, HandoffError> {
    if generate && !path.exists() {
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|_| HandoffError::Secret("no system randomness".to_owned()))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| HandoffError::Secret(format!("{}: {e}", dir.display())))?;
        }
        crate::tls::write_file(
            path,
            format!("whsec_{}\n", B64.encode(key)).as_bytes(),
            true,
        )
        .map_err(|e| HandoffError::Secret(e.to_string()))?;
    }
    let raw = std::fs::read_to_string(path)
        .map_err(|e| HandoffError::Secret(format!("{}: {e}", path.display())))?;
    let encoded = raw.trim().strip_prefix("whsec_").unwrap_or(raw.trim());
    let key = B64
        .decode(encoded)
        .map_err(|_| HandoffError::Secret(format!("{}: not whsec_<base64>", path.display())))?;
    if key.len() < 24 {
        return Err(HandoffError::Secret(format!(
            "{}: the secret must hold at least 24 random bytes",
            path.display()
        )));
    }
    Ok(key)
}

/// The `webhook-signature` value for a body (Standard Webhooks v1).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", B64.encode(ctx.sign().as_ref()))
}

/// The hand-off worker and the admin replay.
pub struct Handoff {
    store: Arc<dyn Store>,
    onboarding: Arc<Onboarding>,
    audit: Arc<AuditLog>,
    clock: Arc<dyn Clock>,
    settings: HandoffSettings,
    client: reqwest::Client,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("url", &self.settings.url.as_ref().map(url::Url::as_str))
            .finish_non_exhaustive()
    }
}

impl Handoff {
    /// The worker over `store`; the HTTP client never follows redirects.
    pub fn new(
        store: Arc<dyn Store>,
        onboarding: Arc<Onboarding>,
        audit: Arc<AuditLog>,
        clock: Arc<dyn Clock>,
        settings: HandoffSettings,
    ) -> Result<Self, HandoffError> {
        let timeout = settings.timeout;
        // reqwest's `rustls-no-provider` build panics without an installed
        // provider; report that as an error instead.
        let client = std::panic::catch_unwind(move || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .build()
        })
        .map_err(|_| HandoffError::Crypto("no rustls crypto provider installed".to_owned()))?
        .map_err(|e| HandoffError::Crypto(e.to_string()))?;
        Ok(Self {
            store,
            onboarding,
            audit,
            clock,
            settings,
            client,
        })
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    fn audit_entry(
        &self,
        caller: Option<&Caller>,
        action: &str,
        event: &OutboxRecord,
        reason: Option<String>,
    ) -> Result<AuditRows, HandoffError> {
        let target = Target {
            kind: "outbox_event".to_owned(),
            id: self.audit.pseudonym("outbox_event", &event.id),
            state_before: Some(event.state.clone()),
            state_after: None,
        };
        let mut e = match caller {
            Some(c) => self.onboarding.caller_event(c, action, target, None),
            None => {
                let mut e = self
                    .audit
                    .event(action, self.audit.system_actor(), "success", None);
                e.target = Some(target);
                e
            }
        };
        e.outcome.reason_code = reason;
        Ok(encode_all(&[e])?)
    }

    /// Delivers what is due; returns how many attempts were made.
    pub async fn run_once(&self) -> Result<usize, HandoffError> {
        let Some(url) = self.settings.url.clone() else {
            return Ok(0);
        };
        let due = self.store.outbox_due(self.now_us(), 16).await?;
        let mut attempts = 0;
        for event in due {
            // Claimed for this attempt's duration (and some), from now: the
            // attempts of a batch run one after another.
            let hold = i64::try_from((self.settings.timeout * 2).as_micros()).unwrap_or(i64::MAX);
            let until = self.now_us().saturating_add(hold);
            if !self
                .store
                .outbox_claim(&event.id, event.next_attempt_us, until)
                .await?
            {
                continue;
            }
            attempts += 1;
            if let Err(e) = self.attempt(&url, &event, until).await {
                // It cannot be sent at all (its key or body cannot be read):
                // it ends as failed, visible to admins, instead of blocking
                // the application's later events for ever.
                tracing::error!(event = %event.id, error = %e, "hand-off event cannot be sent");
                let audit =
                    self.audit_entry(None, "handoff.failed", &event, Some("internal".to_owned()))?;
                self.store
                    .outbox_update(&OutboxUpdate {
                        id: &event.id,
                        claimed_until_us: until,
                        state: "failed",
                        attempts: event.attempts + 1,
                        next_attempt_us: self.now_us(),
                        last_error: Some("internal: the event could not be prepared"),
                        delivered_us: None,
                        audit: &audit,
                    })
                    .await?;
            }
        }
        Ok(attempts)
    }

    async fn attempt(
        &self,
        url: &url::Url,
        event: &OutboxRecord,
        claimed_until_us: i64,
    ) -> Result<(), HandoffError> {
        let app = self
            .store
            .application_get(&event.application_id)
            .await?
            .ok_or(HandoffError::NotFound)?;
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&app.dek, &app.id)
            .map_err(|e| HandoffError::Crypto(e.to_string()))?;
        let body = dek
            .open(&event.payload_sealed, &super::outbox_context(&event.id))
            .map_err(|e| HandoffError::Crypto(e.to_string()))?;
        let timestamp = self.clock.now().timestamp();
        let signature = sign(&self.settings.key, &event.id, timestamp, &body);
        let result = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let failure = match result {
            Ok(res) if res.status().is_success() => None,
            Ok(res) => Some(format!("downstream answered {}", res.status().as_u16())),
            Err(e) if e.is_timeout() => Some("downstream timed out".to_owned()),
            Err(_) => Some("downstream unreachable".to_owned()),
        };
        let attempts = event.attempts + 1;
        let now = self.now_us();
        let (state, next, action) = match &failure {
            None => ("delivered", now, "handoff.delivered"),
            Some(_) if attempts >= i64::from(self.settings.max_attempts) => {
                ("failed", now, "handoff.failed")
            }
            Some(_) => {
                let wait = crate::jobs::backoff(
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    self.settings.max_attempts,
                    self.settings.backoff_base,
                    self.settings.backoff_cap,
                    crate::jobs::random_jitter(),
                )
                .unwrap_or(self.settings.backoff_cap);
                let wait_us = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
                (
                    "pending",
                    now.saturating_add(wait_us),
                    "handoff.retry_scheduled",
                )
            }
        };
        if let Some(why) = &failure {
            tracing::warn!(event = %event.id, attempts, error = %why, state, "hand-off delivery failed");
        }
        let audit = self.audit_entry(None, action, event, failure.clone())?;
        self.store
            .outbox_update(&OutboxUpdate {
                id: &event.id,
                claimed_until_us,
                state,
                attempts,
                next_attempt_us: next,
                last_error: failure.as_deref(),
                delivered_us: failure.is_none().then_some(now),
                audit: &audit,
            })
            .await?;
        self.audit.wake_handle().notify_one();
        Ok(())
    }

    /// Events by state, for admins.
    pub async fn list(&self, state: &str, limit: u32) -> Result<Vec<OutboxRecord>, HandoffError> {
        Ok(self.store.outbox_list(state, limit).await?)
    }

    /// Puts a failed event back in line (admin), audited.
    pub async fn replay(&self, caller: &Caller, id: &str) -> Result<OutboxRecord, HandoffError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(HandoffError::NotFound);
        }
        let event = self
            .store
            .outbox_get(id)
            .await?
            .ok_or(HandoffError::NotFound)?;
        if event.state != "failed" {
            return Err(HandoffError::NotFailed);
        }
        let audit = self.audit_entry(Some(caller), "handoff.replayed", &event, None)?;
        let now = self.now_us();
        if !self.store.outbox_replay(id, now, &audit).await? {
            return Err(HandoffError::NotFailed);
        }
        self.audit.wake_handle().notify_one();
        self.store
            .outbox_get(id)
            .await?
            .ok_or(HandoffError::NotFound)
    }

    /// Runs the worker until aborted.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let handoff = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match handoff.run_once().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "hand-off round failed"),
                }
                tokio::time::sleep(handoff.settings.idle).await;
            }
        })
    }
}
