//! Export of the log as a self-contained bundle (NDJSON, see `bundle`),
//! streamed page by page so the log is never held in memory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::bundle::{BundleWriter, Header};
use super::log::{AuditError, AuditLog};
use super::merkle;

/// Where exported bytes go: a file, an HTTP response body.
#[async_trait]
pub trait ChunkSink: Send {
    /// Takes the next chunk; an error aborts the export.
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()>;
}

#[async_trait]
impl ChunkSink for tokio::fs::File {
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(self, &chunk).await
    }
}

#[async_trait]
impl ChunkSink for tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>> {
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        tokio::sync::mpsc::Sender::send(self, Ok(chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "receiver gone"))
    }
}

/// A `Write` whose bytes are taken out between pages.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

/// Upper bound of intermediate checkpoints in one bundle.
const MAX_CHECKPOINTS: u32 = 100_000;

/// Rows per page when streaming entries.
const PAGE: u32 = 1_000;

/// What an export covered.
#[derive(Debug, Clone, Copy)]
pub struct ExportSummary {
    /// First index.
    pub from: u64,
    /// One past the last index.
    pub to: u64,
    /// Tree size the bundle proves against (newest checkpoint).
    pub tree_size: u64,
}

fn io(e: impl std::fmt::Display) -> AuditError {
    AuditError::Proof(format!("export: {e}"))
}

/// Streams the entries `[from, to)` (default: the whole checkpointed log)
/// with the newest checkpoint, the log's key and, for a partial range, the
/// range proof that ties it to the checkpoint's root.
pub async fn export_bundle(
    log: &AuditLog,
    from: Option<u64>,
    to: Option<u64>,
    sink: &mut dyn ChunkSink,
) -> Result<ExportSummary, AuditError> {
    let store = log.store();
    let checkpoint = store
        .audit_latest_checkpoint()
        .await?
        .ok_or_else(|| AuditError::Proof("the log has no checkpoint yet".to_owned()))?;
    let n = checkpoint.tree_size;
    let to = to.unwrap_or(n);
    let from = from.unwrap_or(0);
    if from > to || to > n {
        return Err(AuditError::Proof(format!(
            "range [{from}, {to}) is not inside the checkpointed tree of size {n}"
        )));
    }
    let buf = SharedBuf::default();
    let mut writer = BundleWriter::new(
        buf.clone(),
        Header {
            log_id: log.origin().to_owned(),
            origin: log.origin().to_owned(),
            from,
            to,
            tree_size: n,
            created_us: chrono::Utc::now().timestamp_micros(),
        },
    )
    .map_err(io)?;
    writer.key(&log.vkey()).map_err(io)?;
    // Every checkpoint inside the range, so a verifier can name where an
    // alteration starts, not only that the final root differs.
    for cp in store
        .audit_checkpoints_between(from.max(1), to, MAX_CHECKPOINTS)
        .await?
    {
        if cp.tree_size != n {
            writer.checkpoint(&cp.note).map_err(io)?;
        }
    }
    writer.checkpoint(&checkpoint.note).map_err(io)?;
    if from != 0 || to != n {
        let leaves = log.leaf_hashes(n).await?;
        let proof = merkle::range_proof_from_leaves(&leaves, from, to).map_err(io)?;
        writer.range_proof(&proof).map_err(io)?;
    }
    sink.send(buf.take()).await.map_err(io)?;
    let mut next = from;
    while next < to {
        let want = u32::try_from((to - next).min(u64::from(PAGE))).unwrap_or(PAGE);
        let page = store.audit_entries(next, want).await?;
        if page.is_empty() {
            return Err(io(format!("entry {next} is missing from the store")));
        }
        for entry in page {
            writer.entry(entry.index, &entry.entry).map_err(io)?;
            next = entry.index + 1;
        }
        sink.send(buf.take()).await.map_err(io)?;
    }
    writer.finish().map_err(io)?;
    sink.send(buf.take()).await.map_err(io)?;
    Ok(ExportSummary {
        from,
        to,
        tree_size: n,
    })
}
