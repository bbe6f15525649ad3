//! The sequencer: turns queued entries into contiguous leaves of the tree,
//! one batch per transaction, and signs a checkpoint for every new size.
//! Only one sequencer runs at a time (the store elects it); if it dies
//! mid-batch the transaction rolls back and the next one redoes the batch.

use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::CheckpointSigner;
use super::entry::AuditEvent;
use super::merkle::{CompactTree, leaf_hash};
use super::{AuditStore, SequencedEntry, TreeUpdate};

/// Assigns indices to `rows` after the tree in `frontier`, and signs the new
/// size. Pure: the store runs it inside its transaction. Rows whose bytes do
/// not decode are left out (and stay queued) rather than break the log.
pub fn seal_batch(
    signer: &CheckpointSigner,
    origin: &str,
    frontier: Option<Vec<u8>>,
    rows: Vec<(String, Vec<u8>)>,
    now_us: i64,
) -> Result<Option<(Vec<SequencedEntry>, TreeUpdate)>, String> {
    let mut tree = match frontier {
        Some(bytes) => CompactTree::from_bytes(&bytes).map_err(|e| format!("tree state: {e}"))?,
        None => CompactTree::new(),
    };
    let mut entries = Vec::with_capacity(rows.len());
    for (event_id, bytes) in rows {
        let event = match AuditEvent::decode(&bytes) {
            Ok(event) if event.event_id == event_id => event,
            Ok(_) | Err(_) => {
                tracing::error!(%event_id, "queued audit entry does not decode; left in the queue");
                continue;
            }
        };
        let index = tree.size();
        let leaf = leaf_hash(&bytes);
        tree.append(leaf).map_err(|e| e.to_string())?;
        let (target_kind, target_id) = match event.target {
            Some(t) => (Some(t.kind), Some(t.id)),
            None => (None, None),
        };
        entries.push(SequencedEntry {
            index,
            event_id,
            entry: bytes,
            leaf_hash: leaf,
            time_us: event.time_us,
            action: event.action,
            actor_kind: event.actor.kind,
            actor_id: event.actor.id,
            target_kind,
            target_id,
        });
    }
    if entries.is_empty() {
        return Ok(None);
    }
    let root = tree.root();
    let note = signer
        .sign(origin, tree.size(), &root)
        .map_err(|e| e.to_string())?;
    Ok(Some((
        entries,
        TreeUpdate {
            tree_size: tree.size(),
            root,
            frontier: tree.to_bytes(),
            checkpoint_note: note,
            now_us,
        },
    )))
}

/// How the background sequencer runs.
#[derive(Debug, Clone)]
pub struct SequencerSettings {
    /// Pause between batches when the queue is empty.
    pub interval: Duration,
    /// Entries per transaction.
    pub batch: u32,
    /// A checkpoint is re-signed when the newest is older than this.
    pub checkpoint_max_age: Duration,
}

/// Runs one round: sequences batches until the queue is drained (or another
/// sequencer holds the lock), then refreshes a stale checkpoint. Returns the
/// number of entries sequenced.
pub async fn run_once(
    store: &dyn AuditStore,
    signer: &CheckpointSigner,
    origin: &str,
    settings: &SequencerSettings,
) -> Result<u64, crate::store::StoreError> {
    let mut total = 0;
    loop {
        let now_us = chrono::Utc::now().timestamp_micros();
        let seal = |frontier: Option<Vec<u8>>, rows: Vec<(String, Vec<u8>)>| {
            seal_batch(signer, origin, frontier, rows, now_us)
        };
        match store.audit_sequence(settings.batch, &seal).await? {
            Some(n) if n > 0 => total += n,
            _ => break,
        }
    }
    let now_us = chrono::Utc::now().timestamp_micros();
    let max_age = i64::try_from(settings.checkpoint_max_age.as_micros()).unwrap_or(i64::MAX);
    let sign = |size: u64, root: &super::merkle::Hash| {
        signer.sign(origin, size, root).map_err(|e| e.to_string())
    };
    store
        .audit_refresh_checkpoint(max_age, now_us, &sign)
        .await?;
    Ok(total)
}

/// After a wake-up, the sequencer waits this long (at most its interval) for
/// more entries before its round: a round costs a transaction, a signature
/// and a checkpoint row however few entries it carries, and under load a
/// round per request would cost the database as much as the requests.
const GATHER: Duration = Duration::from_millis(50);

/// The background task: a round every `interval`, or sooner (after
/// [`GATHER`]) when notified that entries were written. Errors are logged
/// and retried next round.
pub fn spawn(
    store: Arc<dyn AuditStore>,
    signer: Arc<CheckpointSigner>,
    origin: String,
    settings: SequencerSettings,
    wake: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = run_once(store.as_ref(), &signer, &origin, &settings).await {
                tracing::error!(%error, "audit sequencer round failed; retrying");
            }
            tokio::select! {
                _ = wake.notified() => {
                    tokio::time::sleep(GATHER.min(settings.interval)).await;
                }
                _ = tokio::time::sleep(settings.interval) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::entry::{Actor, Origin, Outcome};

    fn event(i: u32) -> (String, Vec<u8>) {
        let id = uuid::Uuid::now_v7().to_string();
        let e = AuditEvent {
            v: 1,
            log_id: "test".into(),
            event_id: id.clone(),
            time_us: i64::from(i),
            actor: Actor {
                kind: "system".into(),
                id: "gateway".into(),
                auth_method: "none".into(),
                client_id: None,
            },
            origin: Origin {
                instance: "t".into(),
                source_ip: None,
            },
            action: "test.event".into(),
            outcome: Outcome {
                result: "success".into(),
                reason_code: None,
            },
            target: None,
            request_id: None,
            trace_id: None,
            policy_version: None,
            record_digest: None,
        };
        (id, e.try_encode().unwrap())
    }

    #[test]
    fn batches_continue_the_tree_and_match_a_full_recomputation() {
        let (signer, _) = CheckpointSigner::generate("test/log").unwrap();
        let rows: Vec<_> = (0..10).map(event).collect();
        let (first, update) = seal_batch(&signer, "test/log", None, rows[..4].to_vec(), 1)
            .unwrap()
            .unwrap();
        let (second, update2) = seal_batch(
            &signer,
            "test/log",
            Some(update.frontier),
            rows[4..].to_vec(),
            2,
        )
        .unwrap()
        .unwrap();
        let indices: Vec<u64> = first.iter().chain(&second).map(|e| e.index).collect();
        assert_eq!(indices, (0..10).collect::<Vec<_>>());
        let leaves: Vec<_> = rows.iter().map(|(_, b)| leaf_hash(b)).collect();
        assert_eq!(update2.root, super::super::merkle::root(&leaves));
        assert_eq!(update2.tree_size, 10);
        let cp = super::super::checkpoint::parse_and_verify(
            &update2.checkpoint_note,
            &[signer.verifier()],
        )
        .unwrap();
        assert_eq!((cp.size, cp.root), (10, update2.root));
    }

    #[test]
    fn undecodable_rows_are_left_out() {
        let (signer, _) = CheckpointSigner::generate("test/log").unwrap();
        let rows = vec![("x".to_owned(), b"not json".to_vec()), event(1)];
        let (entries, update) = seal_batch(&signer, "test/log", None, rows, 1)
            .unwrap()
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(update.tree_size, 1);
    }
}
