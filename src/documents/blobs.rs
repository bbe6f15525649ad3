//! Encrypted document blobs in object storage, through `object_store`: the
//! local filesystem under the data directory by default, an S3-compatible
//! bucket in production. Blobs are written as multipart uploads that become
//! visible only when complete, so a failed upload leaves nothing readable;
//! what a crash leaves between blob and row is found by [`BlobStore::orphans`].

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

/// Storage failures; details for the log, never for clients.
#[derive(Debug, thiserror::Error)]
#[error("document storage: {0}")]
pub struct BlobError(String);

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        Self(e.to_string())
    }
}

/// Where blobs live.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Bytes per uploaded part. S3 needs at least 5 MiB per part (except
    /// the last); the local store writes each part straight to its staging
    /// file, so small parts keep memory per upload low.
    part_size: usize,
    description: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// One blob being written.
pub struct BlobWriter {
    inner: WriteMultipart,
}

/// A blob's name and age, for the sweeper.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    /// Path inside the store.
    pub path: String,
    /// When it was last written.
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

impl BlobStore {
    /// The local filesystem under `dir` (created if missing).
    pub fn local(dir: &FsPath) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| BlobError(format!("{}: {e}", dir.display())))?;
        // A 201 promises the document is kept: the blob and its directory
        // entry reach stable storage before the row commits, as a remote
        // object store's successful PUT promises.
        let store = LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            part_size: 256 * 1024,
            description: format!("local filesystem at {}", dir.display()),
        })
    }

    /// An S3-compatible bucket from `s3://bucket/prefix`, with credentials,
    /// region and endpoint from the standard `AWS_*` environment variables.
    pub fn s3(url: &str) -> Result<Self, BlobError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| BlobError("the storage URL must start with s3://".to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        let store: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix.trim_matches('/')))
        };
        Ok(Self {
            store,
            part_size: 5 * 1024 * 1024,
            description: format!("S3 bucket {bucket}"),
        })
    }

    /// Starts writing `path`; nothing is visible until [`BlobWriter::finish`].
    pub async fn writer(&self, path: &str) -> Result<BlobWriter, BlobError> {
        let upload = self.store.put_multipart(&Path::from(path)).await?;
        Ok(BlobWriter {
            inner: WriteMultipart::new_with_chunk_size(upload, self.part_size),
        })
    }

    /// The blob's bytes as a stream, and its length.
    pub async fn read(
        &self,
        path: &str,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, BlobError>>), BlobError> {
        let got = self.store.get(&Path::from(path)).await?;
        let size = got.meta.size;
        Ok((
            size,
            got.into_stream()
                .map(|r| r.map_err(BlobError::from))
                .boxed(),
        ))
    }

    /// Removes a blob; a missing blob is fine.
    pub async fn delete(&self, path: &str) -> Result<(), BlobError> {
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob under `prefix` written before `cutoff`.
    pub async fn older_than(
        &self,
        prefix: &str,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<BlobInfo>, BlobError> {
        let mut listing = self.store.list(Some(&Path::from(prefix)));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if meta.last_modified < cutoff {
                out.push(BlobInfo {
                    path: meta.location.to_string(),
                    last_modified: meta.last_modified,
                });
            }
        }
        Ok(out)
    }
}

impl BlobWriter {
    /// Appends bytes without copying them, waiting while too many parts are
    /// in flight so memory stays bounded however fast the client sends.
    pub async fn put(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.inner.wait_for_capacity(2).await?;
        self.inner.put(bytes);
        Ok(())
    }

    /// Completes the blob; only now does it become visible.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.inner.finish().await?;
        Ok(())
    }

    /// Discards everything written.
    pub async fn abort(self) {
        if let Err(e) = self.inner.abort().await {
            tracing::warn!(error = %e, "could not abort a document upload; the sweeper will remove it");
        }
    }
}
