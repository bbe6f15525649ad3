//! The immutable, verifiable audit log: canonical entries, one RFC 6962
//! Merkle tree, a single elected sequencer, C2SP signed checkpoints, export
//! bundles and their offline verification. Use cases append entries inside
//! their own transaction; nothing here ever updates or deletes an entry, and
//! no entry carries raw personal data (ids are pseudonymised by callers).

pub mod bundle;
pub mod checkpoint;
pub mod cli;
pub mod entry;
pub mod export;
pub mod keys;
pub mod log;
pub mod merkle;
pub mod sequencer;
pub mod verify;

use async_trait::async_trait;

pub use self::log::AuditLog;
use self::merkle::Hash;
use crate::store::StoreError;

/// An entry in the log, as stored.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// Leaf index in the tree.
    pub index: u64,
    /// Canonical bytes, exactly as hashed.
    pub entry: Vec<u8>,
}

/// A signed checkpoint, as stored.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    /// Tree size it commits to.
    pub tree_size: u64,
    /// When it was signed, UTC µs.
    pub created_us: i64,
    /// Root hash at that size.
    pub root: Hash,
    /// The full C2SP signed note.
    pub note: String,
}

/// An entry ready for the sequencer to store: its index, hashes and the
/// fields copied out for filtering.
#[derive(Debug, Clone)]
pub struct SequencedEntry {
    /// Leaf index.
    pub index: u64,
    /// Event id (unique).
    pub event_id: String,
    /// Canonical bytes.
    pub entry: Vec<u8>,
    /// RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// Event time, UTC µs.
    pub time_us: i64,
    /// Action name.
    pub action: String,
    /// Actor kind.
    pub actor_kind: String,
    /// Pseudonymous actor id.
    pub actor_id: String,
    /// Target kind, if any.
    pub target_kind: Option<String>,
    /// Pseudonymous target id, if any.
    pub target_id: Option<String>,
}

/// What one sequencer transaction writes besides the entries.
#[derive(Debug, Clone)]
pub struct TreeUpdate {
    /// Tree size after the batch.
    pub tree_size: u64,
    /// Root after the batch.
    pub root: Hash,
    /// Serialized compact tree after the batch.
    pub frontier: Vec<u8>,
    /// The signed checkpoint for this size.
    pub checkpoint_note: String,
    /// Time of the update, UTC µs.
    pub now_us: i64,
}

/// Filters for auditors' event listing. All are optional and combine with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Events at or after this time (UTC µs).
    pub from_time_us: Option<i64>,
    /// Events before this time (UTC µs).
    pub to_time_us: Option<i64>,
    /// Exact action name.
    pub action: Option<String>,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Pseudonymous target id.
    pub target_id: Option<String>,
    /// Pseudonymous actor id.
    pub actor_id: Option<String>,
    /// Cursor: only indices greater than this.
    pub after_index: Option<u64>,
    /// Page size.
    pub limit: u32,
}

/// The sequencer's pure step: given the stored tree state and queued rows,
/// the entries to store and the tree update (see `sequencer::seal_batch`).
pub type Seal<'a> = &'a (
        dyn Fn(
    Option<Vec<u8>>,
    Vec<(String, Vec<u8>)>,
) -> Result<Option<(Vec<SequencedEntry>, TreeUpdate)>, String>
            + Send
            + Sync
    );

/// Signs a checkpoint note for a tree size and root.
pub type Sign<'a> = &'a (dyn Fn(u64, &Hash) -> Result<String, String> + Send + Sync);

/// The storage the audit log needs. Implemented for PostgreSQL and SQLite in
/// `store::audit`; every method is one transaction.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Enqueues encoded entries `(event_id, bytes)` in one transaction: all
    /// or none (a duplicate event id refuses the whole batch).
    async fn audit_enqueue(
        &self,
        entries: &[(String, Vec<u8>)],
        now_us: i64,
    ) -> Result<(), StoreError>;

    /// Runs one sequencer batch if this caller wins the election (PostgreSQL
    /// advisory lock; on SQLite the database write lock): reads up to `limit`
    /// queued entries and the latest tree state, lets `seal` assign indices and
    /// sign, then stores entries, state and checkpoint and removes the queue
    /// rows, in one transaction. `None` when another sequencer holds the lock.
    async fn audit_sequence(&self, limit: u32, seal: Seal<'_>) -> Result<Option<u64>, StoreError>;

    /// Writes a checkpoint for the current size again (the "at least hourly"
    /// rule) when the newest one is older than `max_age_us`.
    async fn audit_refresh_checkpoint(
        &self,
        max_age_us: i64,
        now_us: i64,
        sign: Sign<'_>,
    ) -> Result<bool, StoreError>;

    /// The newest checkpoint.
    async fn audit_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The newest checkpoint of exactly this size.
    async fn audit_checkpoint_at(
        &self,
        tree_size: u64,
    ) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The newest checkpoint of each size in `[from_size, to_size]`, by size
    /// (at most `limit`).
    async fn audit_checkpoints_between(
        &self,
        from_size: u64,
        to_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// Entries with index in `[from, from + limit)`, in index order.
    async fn audit_entries(&self, from: u64, limit: u32) -> Result<Vec<StoredEntry>, StoreError>;
    /// Leaf hashes with index in `[from, from + limit)`, in index order.
    async fn audit_leaf_hashes(&self, from: u64, limit: u32) -> Result<Vec<Hash>, StoreError>;
    /// Filtered listing for auditors, in index order.
    async fn audit_find(&self, query: &AuditQuery) -> Result<Vec<StoredEntry>, StoreError>;
    /// Leaf index of an event.
    async fn audit_index_of(&self, event_id: &str) -> Result<Option<u64>, StoreError>;
    /// Entries written but not yet sequenced.
    async fn audit_queue_len(&self) -> Result<u64, StoreError>;
}
