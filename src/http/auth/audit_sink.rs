//! Puts every authentication and authorization failure into the audit log.
//! The request path must not wait for the database, so failures go through a
//! bounded queue to a writer task; if a flood fills the queue, the excess is
//! counted and logged (the log line from `failures::report` always exists).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::failures::{AuthFailure, AuthFailureKind, AuthFailureSink};
use crate::audit::AuditLog;
use crate::audit::entry::{AuditEvent, Target};

/// Failures waiting to be written.
const QUEUE: usize = 10_000;
/// Failures written per transaction.
const BATCH: usize = 200;

/// The audit-log sink.
#[derive(Debug)]
pub struct AuditFailureSink {
    log: Arc<AuditLog>,
    tx: tokio::sync::mpsc::Sender<AuditEvent>,
    dropped: Arc<AtomicU64>,
}

impl AuditFailureSink {
    /// Starts the writer task on the current runtime.
    pub fn start(log: Arc<AuditLog>) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<AuditEvent>(QUEUE);
        let writer_log = Arc::clone(&log);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                if let Err(error) = writer_log.record(&batch).await {
                    tracing::error!(%error, count = batch.len(), "could not audit authentication failures");
                }
                batch.clear();
            }
        });
        Self {
            log,
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Failures not audited because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl AuthFailureSink for AuditFailureSink {
    fn record(&self, failure: &AuthFailure) {
        let action = match failure.kind {
            AuthFailureKind::Authentication => "auth.authentication_failed",
            AuthFailureKind::Authorization => "auth.authorization_failed",
            AuthFailureKind::RateLimited => "auth.rate_limited",
        };
        let actor = match &failure.subject {
            Some(subject) => self.log.subject_actor("subject", subject, "bearer", None),
            None => crate::audit::entry::Actor {
                kind: "anonymous".to_owned(),
                id: "anonymous".to_owned(),
                auth_method: "none".to_owned(),
                client_id: None,
            },
        };
        let mut event = self.log.event(
            action,
            actor,
            "denied",
            failure.client_ip.map(|ip| ip.to_string()),
        );
        event.outcome.reason_code = Some(reason_code(failure.reason));
        event.target = failure.route_class.map(|class| Target {
            kind: "route_class".to_owned(),
            id: class.as_str().to_owned(),
            state_before: None,
            state_after: None,
        });
        event.request_id = Some(failure.request_id.clone());
        if self.tx.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(
                dropped_total = n,
                "audit queue for authentication failures is full"
            );
        }
    }
}

/// `token expired` → `token_expired`: a stable, code-like reason.
fn reason_code(reason: &str) -> String {
    reason
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}
