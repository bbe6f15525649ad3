//! `AuditLog`: what use cases call to record events, and what auditors use
//! to read proofs. Builds entries (pseudonymous ids only), enqueues them,
//! and wakes the sequencer.

use std::sync::Arc;

use super::checkpoint::{CheckpointSigner, Verifier};
use super::entry::{Actor, AuditEvent, FORMAT_VERSION, Origin, Outcome, Target};
use super::keys::Pseudonymizer;
use super::merkle::{self, Hash};
use super::{AuditStore, StoredCheckpoint};
use crate::domain::clock::Clock;
use crate::store::StoreError;

/// Failures of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The entry breaks the format rules (a bug in the caller).
    #[error("audit entry rejected: {0}")]
    Entry(#[from] super::entry::EntryError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A proof was asked for something the tree does not hold.
    #[error("{0}")]
    Proof(String),
}

/// The audit log of one gateway process.
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    signer: Arc<CheckpointSigner>,
    origin: String,
    instance_id: String,
    pseudonyms: Pseudonymizer,
    clock: Arc<dyn Clock>,
    wake: Arc<tokio::sync::Notify>,
    group: Arc<GroupCommit>,
}

/// Group commit, the classic database technique: [`AuditLog::record`] calls
/// that arrive while a write is in flight are written together, in the next
/// transaction. Each caller still returns only once its own events are
/// committed, so nothing is acknowledged that is not durable; under load a
/// hundred audited reads of personal data cost one transaction, not a
/// hundred.
#[derive(Default)]
struct GroupCommit {
    state: std::sync::Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    /// Whether a writer task is running (it drains `waiting` before it ends).
    writing: bool,
    waiting: Vec<Waiter>,
}

struct Waiter {
    rows: Vec<(String, Vec<u8>)>,
    done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

/// At most this many callers' events go into one transaction.
const GROUP_MAX: usize = 256;

/// A group write that has not finished by then is answered as unavailable:
/// one hung connection must not hold up every caller of the process.
const GROUP_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl GroupCommit {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Ends the writer's turn however the task ends (a panic or a runtime shut
/// down included): the next caller starts a new writer, and callers left
/// waiting get an error instead of waiting for ever.
struct WriterTurn {
    group: Arc<GroupCommit>,
    /// Cleared when the writer ends normally (it has handed over the turn
    /// under the lock already).
    unfinished: bool,
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        if self.unfinished {
            let mut pending = self.group.lock();
            pending.writing = false;
            pending.waiting.clear();
        }
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.origin)
            .finish()
    }
}

/// Leaf hashes are read in pages of this many rows.
const PAGE: u32 = 10_000;

impl AuditLog {
    /// Assembles the log.
    pub fn new(
        store: Arc<dyn AuditStore>,
        signer: Arc<CheckpointSigner>,
        origin: String,
        instance_id: String,
        pseudonyms: Pseudonymizer,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            signer,
            origin,
            instance_id,
            pseudonyms,
            clock,
            wake: Arc::new(tokio::sync::Notify::new()),
            group: Arc::new(GroupCommit::default()),
        }
    }

    /// The log's origin line (also its id).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The checkpoint signer.
    pub fn signer(&self) -> &Arc<CheckpointSigner> {
        &self.signer
    }

    /// The signed-note verifier key (`name+id+key`) auditors pin.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// The verifier for this log's checkpoints.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Notified whenever entries are enqueued; the sequencer waits on it.
    pub fn wake_handle(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.wake)
    }

    /// The storage behind the log.
    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// A pseudonymous id for an identifier of kind `kind`.
    pub fn pseudonym(&self, kind: &str, value: &str) -> String {
        self.pseudonyms.id(kind, value)
    }

    /// The gateway itself as actor (start-up, shutdown, background work).
    pub fn system_actor(&self) -> Actor {
        Actor {
            kind: "system".to_owned(),
            id: format!("instance:{}", self.instance_id),
            auth_method: "none".to_owned(),
            client_id: None,
        }
    }

    /// An operator at the command line of this host.
    pub fn operator_actor(&self) -> Actor {
        Actor {
            kind: "operator".to_owned(),
            id: format!("cli@{}", self.instance_id),
            auth_method: "host".to_owned(),
            client_id: None,
        }
    }

    /// An authenticated caller, by token subject (pseudonymised here).
    pub fn subject_actor(
        &self,
        kind: &str,
        subject: &str,
        auth_method: &str,
        client_id: Option<&str>,
    ) -> Actor {
        Actor {
            kind: kind.to_owned(),
            id: self.pseudonym("subject", subject),
            auth_method: auth_method.to_owned(),
            client_id: client_id.map(|c| self.pseudonym("client", c)),
        }
    }

    /// A new event with id, time, log id and origin filled in.
    pub fn event(
        &self,
        action: &str,
        actor: Actor,
        result: &str,
        source_ip: Option<String>,
    ) -> AuditEvent {
        // The client IP is personal data (GDPR Recital 30): only its keyed
        // pseudonym enters the log.
        let source_ip = source_ip.map(|ip| self.pseudonym("ip", &ip));
        AuditEvent {
            v: FORMAT_VERSION,
            log_id: self.origin.clone(),
            event_id: uuid::Uuid::now_v7().to_string(),
            time_us: self.clock.now().timestamp_micros(),
            actor,
            origin: Origin {
                instance: self.instance_id.clone(),
                source_ip,
            },
            action: action.to_owned(),
            outcome: Outcome {
                result: result.to_owned(),
                reason_code: None,
            },
            target: None,
            request_id: None,
            trace_id: None,
            policy_version: None,
            record_digest: None,
        }
    }

    /// A target with a pseudonymous id.
    pub fn target(
        &self,
        kind: &str,
        id: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Target {
        Target {
            kind: kind.to_owned(),
            id: self.pseudonym(kind, id),
            state_before: before.map(str::to_owned),
            state_after: after.map(str::to_owned),
        }
    }

    /// Records events on their own (all or none, committed when this
    /// returns), in one transaction with other callers' events if they come
    /// at the same time (see [`GroupCommit`]). Use cases that change state
    /// record through their store method instead, in the same transaction as
    /// the change.
    pub async fn record(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let rows = encode_all(events)?;
        let (done, committed) = tokio::sync::oneshot::channel();
        let start_writer = {
            let mut pending = self.group.lock();
            pending.waiting.push(Waiter { rows, done });
            !std::mem::replace(&mut pending.writing, true)
        };
        if start_writer {
            // A task of its own, so a caller that goes away (a client that
            // disconnects) cannot strand the others' events.
            tokio::spawn(write_groups(
                Arc::clone(&self.store),
                Arc::clone(&self.clock),
                Arc::clone(&self.wake),
                WriterTurn {
                    group: Arc::clone(&self.group),
                    unfinished: true,
                },
            ));
        }
        committed.await.map_err(|_| {
            AuditError::Store(StoreError::Other(
                "the audit writer stopped before the events were committed".to_owned(),
            ))
        })??;
        Ok(())
    }

    /// The newest checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, AuditError> {
        Ok(self.store.audit_latest_checkpoint().await?)
    }

    /// Leaf hashes `[0, size)`, read page by page.
    pub(crate) async fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, AuditError> {
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while (out.len() as u64) < size {
            let want =
                u32::try_from((size - out.len() as u64).min(u64::from(PAGE))).unwrap_or(PAGE);
            let page = self.store.audit_leaf_hashes(out.len() as u64, want).await?;
            if page.is_empty() {
                return Err(AuditError::Proof(format!(
                    "the log holds fewer than {size} entries"
                )));
            }
            out.extend(page);
        }
        Ok(out)
    }

    /// The tree size of the newest checkpoint (0 when none yet).
    async fn checkpointed_size(&self) -> Result<u64, AuditError> {
        Ok(self
            .latest_checkpoint()
            .await?
            .map(|c| c.tree_size)
            .unwrap_or(0))
    }

    /// Inclusion proof of an event in the tree of `tree_size` (default: the
    /// newest checkpoint). Returns `(leaf index, tree size, proof)`.
    pub async fn inclusion_proof(
        &self,
        event_id: &str,
        tree_size: Option<u64>,
    ) -> Result<Option<(u64, u64, Vec<Hash>)>, AuditError> {
        let Some(index) = self.store.audit_index_of(event_id).await? else {
            return Ok(None);
        };
        let size = match tree_size {
            Some(size) => size,
            None => self.checkpointed_size().await?,
        };
        self.ensure_checkpointed(size).await?;
        if index >= size {
            return Err(AuditError::Proof(format!(
                "event {event_id} has index {index}, not inside a tree of size {size}"
            )));
        }
        let leaves = self.leaf_hashes(size).await?;
        let proof = merkle::inclusion_proof(&leaves, index)
            .map_err(|e| AuditError::Proof(e.to_string()))?;
        Ok(Some((index, size, proof)))
    }

    /// Consistency proof between two checkpointed tree sizes (RFC 6962 §2.1.2).
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, AuditError> {
        if old_size > new_size {
            return Err(AuditError::Proof(
                "from_size must not exceed to_size".to_owned(),
            ));
        }
        self.ensure_checkpointed(new_size).await?;
        let leaves = self.leaf_hashes(new_size).await?;
        merkle::consistency_proof(&leaves, old_size, new_size)
            .map_err(|e| AuditError::Proof(e.to_string()))
    }

    async fn ensure_checkpointed(&self, size: u64) -> Result<(), AuditError> {
        // Sizes beyond the database's integer range cannot have a checkpoint.
        if i64::try_from(size).is_err() || self.store.audit_checkpoint_at(size).await?.is_none() {
            return Err(AuditError::Proof(format!("no checkpoint of size {size}")));
        }
        Ok(())
    }
}

/// The writer task of [`GroupCommit`]: writes what is waiting, one
/// transaction per group, until nothing is. When a group's transaction is
/// refused for its data (a constraint), its callers are written one by one,
/// so one caller's bad event is not another's failure; any other failure
/// (the database unavailable, a timeout) is every caller's, answered at once
/// rather than retried caller by caller while the database struggles.
async fn write_groups(
    store: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    wake: Arc<tokio::sync::Notify>,
    mut turn: WriterTurn,
) {
    loop {
        let group: Vec<Waiter> = {
            let mut pending = turn.group.lock();
            if pending.waiting.is_empty() {
                pending.writing = false;
                turn.unfinished = false;
                return;
            }
            let n = pending.waiting.len().min(GROUP_MAX);
            pending.waiting.drain(..n).collect()
        };
        let now_us = clock.now().timestamp_micros();
        let rows: Vec<(String, Vec<u8>)> =
            group.iter().flat_map(|w| w.rows.iter().cloned()).collect();
        match enqueue_within(store.as_ref(), &rows, now_us).await {
            Ok(()) => {
                wake.notify_one();
                for waiter in group {
                    let _ = waiter.done.send(Ok(()));
                }
            }
            Err(StoreError::Conflict(_)) if group.len() > 1 => {
                for waiter in group {
                    let result = enqueue_within(store.as_ref(), &waiter.rows, now_us).await;
                    if result.is_ok() {
                        wake.notify_one();
                    }
                    let _ = waiter.done.send(result);
                }
            }
            Err(error) => {
                for waiter in group {
                    let _ = waiter.done.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Writes one group (or one caller's events) within [`GROUP_WRITE_TIMEOUT`].
async fn enqueue_within(
    store: &dyn AuditStore,
    rows: &[(String, Vec<u8>)],
    now_us: i64,
) -> Result<(), StoreError> {
    tokio::time::timeout(GROUP_WRITE_TIMEOUT, store.audit_enqueue(rows, now_us))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the audit write did not finish in time".to_owned(),
            ))
        })
}

/// Encodes events with the format rules enforced.
pub fn encode_all(events: &[AuditEvent]) -> Result<Vec<(String, Vec<u8>)>, AuditError> {
    events
        .iter()
        .map(|e| Ok((e.event_id.clone(), e.try_encode()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::audit::{AuditQuery, Seal, Sign, StoredEntry};

    /// An audit store whose enqueue fails with a given error, or never
    /// finishes, counting calls.
    struct Failing {
        error: fn() -> StoreError,
        hangs: bool,
        calls: AtomicUsize,
    }

    fn unused<T>() -> Result<T, StoreError> {
        Err(StoreError::Other("not used by these tests".to_owned()))
    }

    #[async_trait::async_trait]
    impl AuditStore for Failing {
        async fn audit_enqueue(&self, _: &[(String, Vec<u8>)], _: i64) -> Result<(), StoreError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hangs {
                std::future::pending::<()>().await;
            }
            Err((self.error)())
        }
        async fn audit_sequence(&self, _: u32, _: Seal<'_>) -> Result<Option<u64>, StoreError> {
            unused()
        }
        async fn audit_refresh_checkpoint(
            &self,
            _: i64,
            _: i64,
            _: Sign<'_>,
        ) -> Result<bool, StoreError> {
            unused()
        }
        async fn audit_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
            unused()
        }
        async fn audit_checkpoint_at(
            &self,
            _: u64,
        ) -> Result<Option<StoredCheckpoint>, StoreError> {
            unused()
        }
        async fn audit_checkpoints_between(
            &self,
            _: u64,
            _: u64,
            _: u32,
        ) -> Result<Vec<StoredCheckpoint>, StoreError> {
            unused()
        }
        async fn audit_entries(&self, _: u64, _: u32) -> Result<Vec<StoredEntry>, StoreError> {
            unused()
        }
        async fn audit_leaf_hashes(&self, _: u64, _: u32) -> Result<Vec<Hash>, StoreError> {
            unused()
        }
        async fn audit_find(&self, _: &AuditQuery) -> Result<Vec<StoredEntry>, StoreError> {
            unused()
        }
        async fn audit_index_of(&self, _: &str) -> Result<Option<u64>, StoreError> {
            unused()
        }
        async fn audit_queue_len(&self) -> Result<u64, StoreError> {
            unused()
        }
    }

    fn log_over(store: Arc<Failing>) -> AuditLog {
        let (signer, _) = CheckpointSigner::generate("test/log").unwrap();
        AuditLog::new(
            store,
            Arc::new(signer),
            "test/log".to_owned(),
            "t".to_owned(),
            Pseudonymizer::from_bytes(&[7; 32], std::path::Path::new("test")).unwrap(),
            Arc::new(crate::domain::clock::SystemClock),
        )
    }

    /// Eight callers at once (polled together, so they form one group);
    /// returns each caller's result and how often the store was called.
    async fn eight_callers(error: fn() -> StoreError) -> (Vec<Result<(), AuditError>>, usize) {
        eight_callers_of(Arc::new(Failing {
            error,
            hangs: false,
            calls: AtomicUsize::new(0),
        }))
        .await
    }

    async fn eight_callers_of(store: Arc<Failing>) -> (Vec<Result<(), AuditError>>, usize) {
        let log = log_over(Arc::clone(&store));
        let calls = (0..8).map(|_| {
            let event = log.event("test.event", log.system_actor(), "success", None);
            let log = &log;
            async move { log.record(&[event]).await }
        });
        let results = futures_util::future::join_all(calls).await;
        (results, store.calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn an_unavailable_database_fails_the_whole_group_at_once() {
        let (results, calls) =
            eight_callers(|| StoreError::Unavailable("pool timed out".to_owned())).await;
        assert_eq!(
            calls, 1,
            "no caller-by-caller retries while the database struggles"
        );
        for result in results {
            assert!(matches!(
                result,
                Err(AuditError::Store(StoreError::Unavailable(_)))
            ));
        }
    }

    #[tokio::test]
    async fn a_refused_group_is_written_caller_by_caller() {
        let (results, calls) = eight_callers(|| StoreError::Conflict("event_id".to_owned())).await;
        assert_eq!(calls, 1 + 8);
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(AuditError::Store(StoreError::Conflict(_)))))
        );
    }

    /// The clock is paused: it jumps to the timeout once every task waits.
    #[tokio::test(start_paused = true)]
    async fn a_hung_group_write_answers_every_caller_after_the_timeout() {
        let store = Arc::new(Failing {
            error: || StoreError::Other("not reached".to_owned()),
            hangs: true,
            calls: AtomicUsize::new(0),
        });
        let started = tokio::time::Instant::now();
        let (results, calls) = eight_callers_of(Arc::clone(&store)).await;
        assert_eq!(started.elapsed(), GROUP_WRITE_TIMEOUT);
        assert_eq!(calls, 1, "one group write");
        for result in results {
            assert!(matches!(
                result,
                Err(AuditError::Store(StoreError::Unavailable(_)))
            ));
        }
        // The writer's turn has ended: the next caller gets a write of its own.
        let (results, calls) = eight_callers_of(store).await;
        assert_eq!(calls, 2);
        assert_eq!(results.len(), 8);
    }
}
