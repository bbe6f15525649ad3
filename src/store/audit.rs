//! The audit log's storage, for both backends side by side. The sequencer
//! batch is one transaction: entries, tree state, checkpoint and the removal
//! of the queue rows commit together. PostgreSQL elects the sequencer with a
//! transaction-scoped advisory lock; SQLite's single writer lock does the same.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};

use super::{PostgresStore, SqliteStore, StoreError};
use crate::audit::merkle::Hash;
use crate::audit::{AuditQuery, AuditStore, Seal, Sign, StoredCheckpoint, StoredEntry};

/// Advisory lock key of the sequencer election ("kyc_audt").
const SEQUENCER_LOCK: i64 = 0x6b79_635f_6175_6474;

/// Queues audit entries inside the caller's transaction, so an entry is
/// written exactly when the change it records is. Every store method that
/// records events goes through this.
#[async_trait]
pub(crate) trait QueueAudit {
    /// Inserts `entries` (event id, canonical bytes) into `audit_queue`.
    async fn queue_audit(
        &mut self,
        entries: &[(String, Vec<u8>)],
        now_us: i64,
    ) -> Result<(), StoreError>;
}

#[async_trait]
impl QueueAudit for sqlx::PgConnection {
    /// One statement for the whole batch (`UNNEST` over arrays): every
    /// statement is a round trip to the server, and requests that record
    /// several events would otherwise pay one each.
    async fn queue_audit(
        &mut self,
        entries: &[(String, Vec<u8>)],
        now_us: i64,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
        let bytes: Vec<&[u8]> = entries.iter().map(|(_, b)| b.as_slice()).collect();
        sqlx::query(
            "INSERT INTO audit_queue (event_id, entry, enqueued_us) \
             SELECT id, entry, $3 FROM UNNEST($1::text[], $2::bytea[]) AS t (id, entry)",
        )
        .bind(&ids)
        .bind(&bytes)
        .bind(now_us)
        .execute(&mut *self)
        .await
        .map_err(db)?;
        Ok(())
    }
}

#[async_trait]
impl QueueAudit for sqlx::SqliteConnection {
    /// Row by row: SQLite runs in-process, a statement costs no round trip.
    async fn queue_audit(
        &mut self,
        entries: &[(String, Vec<u8>)],
        now_us: i64,
    ) -> Result<(), StoreError> {
        for (id, bytes) in entries {
            sqlx::query(ENQUEUE)
                .bind(id)
                .bind(bytes)
                .bind(now_us)
                .execute(&mut *self)
                .await
                .map_err(db)?;
        }
        Ok(())
    }
}

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Other(format!("{v} exceeds the database integer range")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Other(format!("negative index {v} in the audit log")))
}

fn hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Other("stored hash is not 32 bytes".to_owned()))
}

fn checkpoint_from(row: (i64, i64, Vec<u8>, String)) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        tree_size: to_u64(row.0)?,
        created_us: row.1,
        root: hash(row.2)?,
        note: row.3,
    })
}

/// Keeps the first (newest) checkpoint of each size from rows ordered by size.
fn newest_per_size(
    rows: Vec<(i64, i64, Vec<u8>, String)>,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let mut out: Vec<StoredCheckpoint> = Vec::new();
    for row in rows {
        let cp = checkpoint_from(row)?;
        if out.last().is_none_or(|last| last.tree_size != cp.tree_size) {
            out.push(cp);
        }
    }
    Ok(out)
}

fn entries_from(rows: Vec<(i64, Vec<u8>)>) -> Result<Vec<StoredEntry>, StoreError> {
    rows.into_iter()
        .map(|(index, entry)| {
            Ok(StoredEntry {
                index: to_u64(index)?,
                entry,
            })
        })
        .collect()
}

/// The filtered listing, for either backend (`$n` placeholders work in both).
fn find_query<DB: sqlx::Database>(q: &AuditQuery) -> QueryBuilder<DB>
where
    i64: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    String: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut b = QueryBuilder::new("SELECT idx, entry FROM audit_entries WHERE 1 = 1");
    if let Some(t) = q.from_time_us {
        b.push(" AND time_us >= ").push_bind(t);
    }
    if let Some(t) = q.to_time_us {
        b.push(" AND time_us < ").push_bind(t);
    }
    if let Some(a) = &q.action {
        b.push(" AND action = ").push_bind(a.clone());
    }
    if let Some(k) = &q.target_kind {
        b.push(" AND target_kind = ").push_bind(k.clone());
    }
    if let Some(t) = &q.target_id {
        b.push(" AND target_id = ").push_bind(t.clone());
    }
    if let Some(a) = &q.actor_id {
        b.push(" AND actor_id = ").push_bind(a.clone());
    }
    if let Some(after) = q.after_index {
        b.push(" AND idx > ")
            .push_bind(i64::try_from(after).unwrap_or(i64::MAX));
    }
    b.push(" ORDER BY idx LIMIT ").push_bind(i64::from(q.limit));
    b
}

/// Stores the tree state and the signed checkpoint of a sequencer batch.
macro_rules! insert_tree_update {
    ($tx:expr, $update:expr) => {{
        let size = to_i64($update.tree_size)?;
        sqlx::query("INSERT INTO audit_tree_states (tree_size, root, frontier, created_us) VALUES ($1, $2, $3, $4)")
            .bind(size)
            .bind($update.root.to_vec())
            .bind($update.frontier.clone())
            .bind($update.now_us)
            .execute(&mut *$tx)
            .await
            .map_err(db)?;
        sqlx::query(INSERT_CHECKPOINT)
            .bind(size)
            .bind($update.now_us)
            .bind($update.root.to_vec())
            .bind($update.checkpoint_note.clone())
            .execute(&mut *$tx)
            .await
            .map_err(db)?;
    }};
}

/// Reads the tree state and a batch of queued entries inside `$tx` and lets
/// `$seal` number and sign them. With nothing to do it ends the transaction
/// at once and returns `Ok(Some(0))` from the caller: a dropped transaction
/// is rolled back only when its connection is next used, and holds the
/// election lock (and SQLite's write lock) until then.
macro_rules! read_and_seal {
    ($tx:ident, $limit:expr, $seal:expr) => {{
        let frontier: Option<Vec<u8>> = sqlx::query_scalar(LATEST_STATE)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db)?;
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(QUEUE_BATCH)
            .bind(i64::from($limit))
            .fetch_all(&mut *$tx)
            .await
            .map_err(db)?;
        let sealed = if rows.is_empty() {
            None
        } else {
            $seal(frontier, rows).map_err(StoreError::Other)?
        };
        match sealed {
            Some(batch) => batch,
            None => {
                $tx.rollback().await.map_err(db)?;
                return Ok(Some(0));
            }
        }
    }};
}

/// PostgreSQL: whether this transaction won the sequencer election; the
/// advisory lock ends with the transaction.
async fn elected(tx: &mut sqlx::PgConnection) -> Result<bool, StoreError> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SEQUENCER_LOCK)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)
}

/// PostgreSQL: the whole batch as one INSERT over `UNNEST`ed arrays and one
/// DELETE over `ANY`, instead of thousands of bind parameters; this keeps
/// the sequencer far ahead of the writers.
async fn insert_sequenced_pg(
    tx: &mut sqlx::PgConnection,
    entries: &[crate::audit::SequencedEntry],
    update: &crate::audit::TreeUpdate,
) -> Result<(), StoreError> {
    let idx = entries
        .iter()
        .map(|e| to_i64(e.index))
        .collect::<Result<Vec<i64>, _>>()?;
    let ids: Vec<String> = entries.iter().map(|e| e.event_id.clone()).collect();
    let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.entry.clone()).collect();
    let leaves: Vec<Vec<u8>> = entries.iter().map(|e| e.leaf_hash.to_vec()).collect();
    let times: Vec<i64> = entries.iter().map(|e| e.time_us).collect();
    let actions: Vec<String> = entries.iter().map(|e| e.action.clone()).collect();
    let actor_kinds: Vec<String> = entries.iter().map(|e| e.actor_kind.clone()).collect();
    let actor_ids: Vec<String> = entries.iter().map(|e| e.actor_id.clone()).collect();
    let target_kinds: Vec<Option<String>> = entries.iter().map(|e| e.target_kind.clone()).collect();
    let target_ids: Vec<Option<String>> = entries.iter().map(|e| e.target_id.clone()).collect();
    sqlx::query(
        "INSERT INTO audit_entries (idx, event_id, entry, leaf_hash, time_us, action, actor_kind, actor_id, \
         target_kind, target_id) SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bytea[], $4::bytea[], \
         $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])",
    )
    .bind(&idx)
    .bind(&ids)
    .bind(&bytes)
    .bind(&leaves)
    .bind(&times)
    .bind(&actions)
    .bind(&actor_kinds)
    .bind(&actor_ids)
    .bind(&target_kinds)
    .bind(&target_ids)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("DELETE FROM audit_queue WHERE event_id = ANY($1::text[])")
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    insert_tree_update!(tx, update);
    Ok(())
}

/// SQLite: multi-row statements (it has no arrays); local and fast anyway.
macro_rules! insert_sequenced {
    ($tx:expr, $entries:expr, $update:expr) => {{
        for chunk in $entries.chunks(500) {
            let mut b = QueryBuilder::new(
                "INSERT INTO audit_entries (idx, event_id, entry, leaf_hash, time_us, action, actor_kind, actor_id, target_kind, target_id) ",
            );
            let mut err = None;
            b.push_values(chunk, |mut row, e| {
                match to_i64(e.index) {
                    Ok(i) => row.push_bind(i),
                    Err(x) => {
                        err = Some(x);
                        row.push_bind(0_i64)
                    }
                };
                row.push_bind(e.event_id.clone())
                    .push_bind(e.entry.clone())
                    .push_bind(e.leaf_hash.to_vec())
                    .push_bind(e.time_us)
                    .push_bind(e.action.clone())
                    .push_bind(e.actor_kind.clone())
                    .push_bind(e.actor_id.clone())
                    .push_bind(e.target_kind.clone())
                    .push_bind(e.target_id.clone());
            });
            if let Some(e) = err {
                return Err(e);
            }
            b.build().execute(&mut *$tx).await.map_err(db)?;
            let mut d = QueryBuilder::new("DELETE FROM audit_queue WHERE event_id IN (");
            let mut ids = d.separated(", ");
            for e in chunk {
                ids.push_bind(e.event_id.clone());
            }
            ids.push_unseparated(")");
            d.build().execute(&mut *$tx).await.map_err(db)?;
        }
        insert_tree_update!($tx, $update);
    }};
}

const LATEST_STATE: &str = "SELECT frontier FROM audit_tree_states ORDER BY tree_size DESC LIMIT 1";
const QUEUE_BATCH: &str =
    "SELECT event_id, entry FROM audit_queue ORDER BY enqueued_us, event_id LIMIT $1";
const LATEST_CHECKPOINT: &str = "SELECT tree_size, created_us, root, note FROM audit_checkpoints ORDER BY tree_size DESC, created_us DESC LIMIT 1";
const CHECKPOINT_AT: &str = "SELECT tree_size, created_us, root, note FROM audit_checkpoints WHERE tree_size = $1 ORDER BY created_us DESC LIMIT 1";
const CHECKPOINTS_BETWEEN: &str = "SELECT tree_size, created_us, root, note FROM audit_checkpoints \
     WHERE tree_size >= $1 AND tree_size <= $2 ORDER BY tree_size, created_us DESC LIMIT $3";
const LATEST_TREE: &str =
    "SELECT tree_size, root FROM audit_tree_states ORDER BY tree_size DESC LIMIT 1";
const ENTRIES: &str = "SELECT idx, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2";
const LEAVES: &str = "SELECT leaf_hash FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2";
const INDEX_OF: &str = "SELECT idx FROM audit_entries WHERE event_id = $1";
const QUEUE_LEN: &str = "SELECT COUNT(*) FROM audit_queue";
const ENQUEUE: &str = "INSERT INTO audit_queue (event_id, entry, enqueued_us) VALUES ($1, $2, $3)";
const INSERT_CHECKPOINT: &str =
    "INSERT INTO audit_checkpoints (tree_size, created_us, root, note) VALUES ($1, $2, $3, $4)";

/// The common part of re-signing a stale checkpoint, after the backend has
/// begun its transaction (and, on PostgreSQL, won the election).
macro_rules! refresh_checkpoint {
    ($tx:ident, $max_age_us:ident, $now_us:ident, $sign:ident) => {{
        let latest: Option<(i64, i64, Vec<u8>, String)> = sqlx::query_as(LATEST_CHECKPOINT)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db)?;
        if latest.as_ref().is_some_and(|c| $now_us - c.1 < $max_age_us) {
            $tx.rollback().await.map_err(db)?;
            return Ok(false);
        }
        let tree: Option<(i64, Vec<u8>)> = sqlx::query_as(LATEST_TREE)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(db)?;
        let (size, root) = match tree {
            Some((size, root)) => (to_u64(size)?, hash(root)?),
            None => (0, crate::audit::merkle::empty_root()),
        };
        let note = $sign(size, &root).map_err(StoreError::Other)?;
        sqlx::query(INSERT_CHECKPOINT)
            .bind(to_i64(size)?)
            .bind($now_us)
            .bind(root.to_vec())
            .bind(note)
            .execute(&mut *$tx)
            .await
            .map_err(db)?;
        $tx.commit().await.map_err(db)?;
        Ok(true)
    }};
}

/// The methods whose SQL is the same on both backends (`$n` placeholders
/// work in SQLite too), written once.
macro_rules! audit_store {
    ($store:ty, $db:ty, { $($specific:tt)* }) => {
        #[async_trait]
        impl AuditStore for $store {
            $($specific)*

            async fn audit_find(&self, query: &AuditQuery) -> Result<Vec<StoredEntry>, StoreError> {
                let rows = find_query::<$db>(query)
                    .build()
                    .fetch_all(self.pool())
                    .await
                    .map_err(db)?;
                entries_from(
                    rows.iter()
                        .map(|r| (r.get::<i64, _>(0), r.get::<Vec<u8>, _>(1)))
                        .collect(),
                )
            }

        async fn audit_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
            let row: Option<(i64, i64, Vec<u8>, String)> = sqlx::query_as(LATEST_CHECKPOINT)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?;
            row.map(checkpoint_from).transpose()
        }

        async fn audit_checkpoint_at(
            &self,
            tree_size: u64,
        ) -> Result<Option<StoredCheckpoint>, StoreError> {
            let row: Option<(i64, i64, Vec<u8>, String)> = sqlx::query_as(CHECKPOINT_AT)
                .bind(to_i64(tree_size)?)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?;
            row.map(checkpoint_from).transpose()
        }

        async fn audit_checkpoints_between(
            &self,
            from_size: u64,
            to_size: u64,
            limit: u32,
        ) -> Result<Vec<StoredCheckpoint>, StoreError> {
            let rows: Vec<(i64, i64, Vec<u8>, String)> = sqlx::query_as(CHECKPOINTS_BETWEEN)
                .bind(to_i64(from_size)?)
                .bind(to_i64(to_size)?)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
            newest_per_size(rows)
        }

        async fn audit_entries(
            &self,
            from: u64,
            limit: u32,
        ) -> Result<Vec<StoredEntry>, StoreError> {
            let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(ENTRIES)
                .bind(to_i64(from)?)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
            entries_from(rows)
        }

        async fn audit_leaf_hashes(&self, from: u64, limit: u32) -> Result<Vec<Hash>, StoreError> {
            let rows: Vec<Vec<u8>> = sqlx::query_scalar(LEAVES)
                .bind(to_i64(from)?)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(db)?;
            rows.into_iter().map(hash).collect()
        }

        async fn audit_index_of(&self, event_id: &str) -> Result<Option<u64>, StoreError> {
            let idx: Option<i64> = sqlx::query_scalar(INDEX_OF)
                .bind(event_id)
                .fetch_optional(self.pool())
                .await
                .map_err(db)?;
            idx.map(to_u64).transpose()
        }

        async fn audit_queue_len(&self) -> Result<u64, StoreError> {
            let n: i64 = sqlx::query_scalar(QUEUE_LEN)
                .fetch_one(self.pool())
                .await
                .map_err(db)?;
            to_u64(n)
        }
        }
    };
}

audit_store!(PostgresStore, sqlx::Postgres, {
    async fn audit_enqueue(
        &self,
        entries: &[(String, Vec<u8>)],
        now_us: i64,
    ) -> Result<(), StoreError> {
        // One statement, atomic on its own: no BEGIN and COMMIT round trips.
        let mut conn = self.pool().acquire().await.map_err(db)?;
        conn.queue_audit(entries, now_us).await
    }

    async fn audit_sequence(&self, limit: u32, seal: Seal<'_>) -> Result<Option<u64>, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        // One sequencer among all replicas.
        if !elected(&mut tx).await? {
            return Ok(None);
        }
        let (entries, update) = read_and_seal!(tx, limit, seal);
        insert_sequenced_pg(&mut tx, &entries, &update).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(entries.len() as u64))
    }

    async fn audit_refresh_checkpoint(
        &self,
        max_age_us: i64,
        now_us: i64,
        sign: Sign<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        if !elected(&mut tx).await? {
            return Ok(false);
        }
        refresh_checkpoint!(tx, max_age_us, now_us, sign)
    }
});

audit_store!(SqliteStore, sqlx::Sqlite, {
    async fn audit_enqueue(
        &self,
        entries: &[(String, Vec<u8>)],
        now_us: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        tx.queue_audit(entries, now_us).await?;
        tx.commit().await.map_err(db)
    }

    async fn audit_sequence(&self, limit: u32, seal: Seal<'_>) -> Result<Option<u64>, StoreError> {
        // BEGIN IMMEDIATE takes the write lock first, so a concurrent
        // sequencer waits instead of failing on lock upgrade.
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        let (entries, update) = read_and_seal!(tx, limit, seal);
        insert_sequenced!(tx, entries, update);
        tx.commit().await.map_err(db)?;
        Ok(Some(entries.len() as u64))
    }

    async fn audit_refresh_checkpoint(
        &self,
        max_age_us: i64,
        now_us: i64,
        sign: Sign<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        refresh_checkpoint!(tx, max_age_us, now_us, sign)
    }
});
