//! Identity documents: upload (streamed, sniffed by content, hashed and
//! encrypted with a streaming AEAD before anything touches storage), listing,
//! audited download for officers, and the sweeper for blobs without a row.
//! This module knows nothing of HTTP; the multipart body is parsed at the
//! edge and the file arrives here as a sequence of byte chunks.

pub mod blobs;
pub mod content;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use self::blobs::{BlobError, BlobStore, BlobWriter};
use self::content::{ContentError, ContentInfo, ContentLimits, ContentType, Sniffer};
use crate::audit::entry::Target;
use crate::audit::log::encode_all;
use crate::auth::Role;
use crate::config::DocumentSettings;
use crate::crypto::envelope::{DataKey, WrappedKey};
use crate::crypto::stream::{Decryptor, Encryptor};
use crate::domain::application_state::ApplicationState;
use crate::domain::clock::Clock;
use crate::domain::document::{DocumentKind, DocumentSide, OriginalFileName};
use crate::onboarding::{
    ApplicationRecord, AuditRows, Caller, IdempotencyWrite, Onboarding, OnboardingError,
};
use crate::store::StoreError;

/// Where document blobs live inside the object store.
const BLOB_PREFIX: &str = "documents";

/// A document as stored.
#[derive(Debug, Clone)]
pub struct DocumentRecord {
    /// UUIDv7; also the blob's name.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// What it is.
    pub kind: DocumentKind,
    /// Which side, for cards.
    pub side: Option<DocumentSide>,
    /// The media type decided from the content.
    pub content_type: ContentType,
    /// Plaintext length.
    pub size_bytes: i64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    /// Image width, pixels.
    pub width: Option<i64>,
    /// Image height, pixels.
    pub height: Option<i64>,
    /// PDF pages.
    pub pages: Option<i64>,
    /// The client's file name, sealed with the document key.
    pub original_name_sealed: Option<Vec<u8>>,
    /// Path of the encrypted blob.
    pub blob_path: String,
    /// Length of the encrypted blob.
    pub blob_bytes: i64,
    /// The wrapped per-document data key.
    pub dek: WrappedKey,
    /// `applicant` or `service`.
    pub uploaded_by: String,
    /// Stored, UTC µs.
    pub created_us: i64,
    /// The document that replaced this one.
    pub superseded_by: Option<String>,
    /// When it was replaced, UTC µs.
    pub superseded_us: Option<i64>,
    /// The MRZ text sent with an identity document, sealed with its data key.
    pub mrz_sealed: Option<Vec<u8>>,
}

/// A document insert with what commits with it.
#[derive(Debug)]
pub struct DocumentInsert<'a> {
    /// The new row.
    pub document: &'a DocumentRecord,
    /// The current document of the same kind and side, now replaced.
    pub supersedes: Option<&'a str>,
    /// Audit entries.
    pub audit: &'a AuditRows,
    /// The idempotency record.
    pub idem: Option<&'a IdempotencyWrite>,
    /// Most documents, and bytes, the application may hold, checked again
    /// inside the transaction (parallel uploads each passed the early check).
    pub limits: (u32, u64),
}

/// Storage of document rows; implemented for both backends in
/// `store::documents`.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Inserts a document in one transaction with its audit entries, its
    /// idempotency record and the replacement of the document it supersedes.
    /// The application must still accept documents (else `Conflict`); its
    /// row version moves, so a submission racing the upload sees the change.
    async fn document_insert(&self, insert: &DocumentInsert<'_>) -> Result<(), StoreError>;
    /// An application's documents, oldest first, superseded ones included.
    async fn document_list(&self, application_id: &str) -> Result<Vec<DocumentRecord>, StoreError>;
    /// How many documents an application holds and their total size.
    async fn document_usage(&self, application_id: &str) -> Result<(u32, u64), StoreError>;
    /// Which of `ids` have rows.
    async fn document_known(&self, ids: &[String]) -> Result<HashSet<String>, StoreError>;
}

/// Failures of the document use cases.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// No such application or document, or not the caller's.
    #[error("not found")]
    NotFound,
    /// The application does not take documents in its state.
    #[error("an application that is {0} takes no documents")]
    Closed(ApplicationState),
    /// A limit was crossed.
    #[error("{0}")]
    TooLarge(String),
    /// The content is not an accepted, safe file.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// The content does not fit the declared kind or media type.
    #[error("{0}")]
    Mismatch(String),
    /// The same bytes are already stored as another kind or side.
    #[error("these bytes are already stored as document {id} ({kind})")]
    DuplicateElsewhere {
        /// The existing document.
        id: String,
        /// Its kind.
        kind: String,
    },
    /// The application or document changed at the same time.
    #[error("changed concurrently")]
    Concurrent,
    /// The same idempotency key was used with another request.
    #[error("idempotency key reused")]
    IdempotencyConflict,
    /// The stored blob failed authentication: altered, truncated or swapped.
    #[error("the stored document failed its integrity check")]
    Integrity,
    /// Object storage failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Keys or sealing failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// Loading the application failed.
    #[error(transparent)]
    Onboarding(OnboardingError),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
    /// The audit entry could not be built or stored.
    #[error(transparent)]
    Audit(#[from] crate::audit::log::AuditError),
}

impl From<StoreError> for DocumentError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(c) if c.contains("idempotency") => Self::IdempotencyConflict,
            StoreError::Conflict(c) if c == "document_limit" => Self::TooLarge(
                "the application's documents would exceed their count or size limit".to_owned(),
            ),
            StoreError::Conflict(_) => Self::Concurrent,
            other => Self::Store(other),
        }
    }
}

impl From<OnboardingError> for DocumentError {
    fn from(e: OnboardingError) -> Self {
        match e {
            OnboardingError::NotFound => Self::NotFound,
            other => Self::Onboarding(other),
        }
    }
}

fn crypto(e: crate::crypto::envelope::CryptoError) -> DocumentError {
    DocumentError::Crypto(e.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The authenticated data that binds a blob's chunks to one document, so
/// chunks moved between documents fail to open.
fn blob_context(document_id: &str) -> Vec<u8> {
    format!("document:{document_id}:blob").into_bytes()
}

fn name_context(document_id: &str) -> String {
    format!("document:{document_id}:original_name")
}

/// The sealing context of a document's MRZ text.
pub fn mrz_context(document_id: &str) -> String {
    format!("document:{document_id}:mrz")
}

/// What the client says about an upload.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// The kind.
    pub kind: DocumentKind,
    /// The side, checked against the kind.
    pub side: Option<DocumentSide>,
    /// The part's `Content-Type`, if the client sent a specific one.
    pub declared_type: Option<String>,
    /// The client's file name.
    pub file_name: Option<OriginalFileName>,
    /// The MRZ text the app read off the document (ICAO 9303), already
    /// checked to be MRZ-shaped; check-digit faults are the MRZ check's to find.
    pub mrz: Option<String>,
}

/// The outcome of an upload.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The document (the earlier one when the bytes were already there).
    pub record: DocumentRecord,
    /// False when the same bytes were already stored as this kind and side.
    pub created: bool,
}

/// The document use cases.
pub struct Documents {
    store: Arc<dyn DocumentStore>,
    onboarding: Arc<Onboarding>,
    blobs: BlobStore,
    settings: DocumentSettings,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("blobs", &self.blobs)
            .finish()
    }
}

/// An upload in progress: bytes in, sniffed, hashed, encrypted and written
/// out as they arrive. Drop or [`Upload::abort`] it on failure: the blob is
/// never completed, so it never becomes visible.
pub struct Upload<'a> {
    documents: &'a Documents,
    caller: Caller,
    app: ApplicationRecord,
    new: NewDocument,
    id: String,
    dek: DataKey,
    sniffer: Sniffer,
    sha: ring::digest::Context,
    encryptor: Encryptor,
    writer: BlobWriter,
    size: u64,
    blob_bytes: u64,
    max_bytes: u64,
    limit_reason: &'static str,
}

/// An upload whose content passed every check, not yet stored.
pub struct Verified<'a> {
    upload: Upload<'a>,
    info: ContentInfo,
    sha256: String,
}

impl Documents {
    /// Assembles the use cases.
    pub fn new(
        store: Arc<dyn DocumentStore>,
        onboarding: Arc<Onboarding>,
        blobs: BlobStore,
        settings: DocumentSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            onboarding,
            blobs,
            settings,
            clock,
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> &DocumentSettings {
        &self.settings
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    /// Starts an upload to an application the caller owns and that takes
    /// documents, within the application's count and size budget.
    pub async fn begin(
        &self,
        caller: &Caller,
        application_id: &str,
        new: NewDocument,
    ) -> Result<Upload<'_>, DocumentError> {
        let app = self.onboarding.load(caller, application_id).await?;
        if !self.onboarding.is_owner(caller, &app) {
            return Err(DocumentError::NotFound);
        }
        if !app.state.accepts_documents() {
            return Err(DocumentError::Closed(app.state));
        }
        let (count, used) = self.store.document_usage(&app.id).await?;
        if count >= self.settings.max_documents_per_application {
            return Err(DocumentError::TooLarge(format!(
                "an application holds at most {} documents",
                self.settings.max_documents_per_application
            )));
        }
        let left = self.settings.max_application_bytes.saturating_sub(used);
        let (max_bytes, limit_reason) = if left < self.settings.max_file_bytes {
            (left, "the application's total document size")
        } else {
            (self.settings.max_file_bytes, "the size of one document")
        };
        let id = uuid::Uuid::now_v7().to_string();
        let dek = DataKey::generate().map_err(crypto)?;
        let encryptor = Encryptor::new(&dek, &blob_context(&id)).map_err(crypto)?;
        let header = Bytes::copy_from_slice(&encryptor.header());
        let blob_bytes = header.len() as u64;
        let mut writer = self
            .blobs
            .writer(&format!("{BLOB_PREFIX}/{}/{id}", app.id))
            .await?;
        writer.put(header).await?;
        Ok(Upload {
            documents: self,
            caller: caller.clone(),
            app,
            new,
            id,
            dek,
            sniffer: Sniffer::new(ContentLimits {
                max_width: self.settings.max_image_side,
                max_height: self.settings.max_image_side,
                max_pixels: self.settings.max_image_pixels,
                max_pdf_pages: self.settings.max_pdf_pages,
            }),
            sha: ring::digest::Context::new(&ring::digest::SHA256),
            encryptor,
            writer,
            size: 0,
            blob_bytes,
            max_bytes,
            limit_reason,
        })
    }

    /// An application's documents for its owner or staff.
    pub async fn list(
        &self,
        caller: &Caller,
        application_id: &str,
    ) -> Result<Vec<(DocumentRecord, Option<String>)>, DocumentError> {
        let app = self.onboarding.load(caller, application_id).await?;
        let docs = self.store.document_list(&app.id).await?;
        docs.into_iter()
            .map(|d| {
                let name = self.original_name(&d)?;
                Ok((d, name))
            })
            .collect()
    }

    /// The MRZ text stored with a document, opened.
    fn mrz_of(&self, doc: &DocumentRecord) -> Result<Option<String>, DocumentError> {
        let Some(sealed) = &doc.mrz_sealed else {
            return Ok(None);
        };
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&doc.dek, &doc.id)
            .map_err(crypto)?;
        let plain = dek.open(sealed, &mrz_context(&doc.id)).map_err(crypto)?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    fn original_name(&self, doc: &DocumentRecord) -> Result<Option<String>, DocumentError> {
        let Some(sealed) = &doc.original_name_sealed else {
            return Ok(None);
        };
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&doc.dek, &doc.id)
            .map_err(crypto)?;
        let plain = dek.open(sealed, &name_context(&doc.id)).map_err(crypto)?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// Opens a document for an officer: the whole blob is authenticated
    /// first (so a damaged blob is an error, never a partial download), the
    /// read is audited, then the plaintext streams out.
    pub async fn download(
        &self,
        caller: &Caller,
        application_id: &str,
        document_id: &str,
    ) -> Result<
        (
            DocumentRecord,
            BoxStream<'static, Result<Bytes, DocumentError>>,
        ),
        DocumentError,
    > {
        if !caller
            .roles
            .iter()
            .any(|r| matches!(r, Role::Officer | Role::SeniorOfficer))
        {
            return Err(DocumentError::NotFound);
        }
        let app = self.onboarding.load(caller, application_id).await?;
        let doc = self
            .store
            .document_list(&app.id)
            .await?
            .into_iter()
            .find(|d| d.id == document_id)
            .ok_or(DocumentError::NotFound)?;
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&doc.dek, &doc.id)
            .map_err(crypto)?;
        self.verify_blob(&doc, &dek).await?;
        let event = self.onboarding.caller_event(
            caller,
            "document.downloaded",
            self.target(&doc),
            Some(doc.sha256.clone()),
        );
        self.onboarding.audit().record(&[event]).await?;
        let (_, blob) = self.blobs.read(&doc.blob_path).await?;
        let decryptor = Decryptor::new(&dek, &blob_context(&doc.id)).map_err(crypto)?;
        Ok((doc, decrypt_stream(blob, decryptor)))
    }

    /// Reads the blob through the decryptor without keeping the plaintext,
    /// and compares its length and hash with the row.
    async fn verify_blob(&self, doc: &DocumentRecord, dek: &DataKey) -> Result<(), DocumentError> {
        let (size, mut blob) = self.blobs.read(&doc.blob_path).await?;
        let fail = |why: &str| {
            tracing::error!(document = %doc.id, why, "a stored document failed its integrity check");
            DocumentError::Integrity
        };
        if i64::try_from(size).ok() != Some(doc.blob_bytes) {
            return Err(fail("blob length differs from the record"));
        }
        let mut decryptor = Decryptor::new(dek, &blob_context(&doc.id)).map_err(crypto)?;
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut plain = Vec::new();
        let mut total = 0u64;
        while let Some(piece) = blob.next().await {
            plain.clear();
            decryptor
                .update(&piece?, &mut plain)
                .map_err(|_| fail("a chunk failed authentication"))?;
            sha.update(&plain);
            total += plain.len() as u64;
        }
        plain.clear();
        decryptor
            .finish(&mut plain)
            .map_err(|_| fail("the blob is truncated or its last chunk failed"))?;
        sha.update(&plain);
        total += plain.len() as u64;
        if hex(sha.finish().as_ref()) != doc.sha256
            || i64::try_from(total).ok() != Some(doc.size_bytes)
        {
            return Err(fail("plaintext hash differs from the record"));
        }
        Ok(())
    }

    fn target(&self, doc: &DocumentRecord) -> Target {
        Target {
            kind: "document".to_owned(),
            id: self.onboarding.audit().pseudonym("document", &doc.id),
            state_before: None,
            state_after: None,
        }
    }

    /// Removes blobs older than the grace period that have no row: what an
    /// upload left behind when the process died between blob and commit.
    pub async fn sweep_orphans(&self) -> Result<u64, DocumentError> {
        let grace = chrono::Duration::seconds(
            i64::try_from(self.settings.orphan_grace_secs).unwrap_or(i64::MAX / 2_000_000),
        );
        let cutoff = self.clock.now() - grace;
        let blobs = self.blobs.older_than(BLOB_PREFIX, cutoff).await?;
        let mut removed = 0;
        for batch in blobs.chunks(500) {
            let ids: Vec<String> = batch
                .iter()
                .filter_map(|b| b.path.rsplit('/').next().map(str::to_owned))
                .collect();
            let known = self.store.document_known(&ids).await?;
            for blob in batch {
                let id = blob.path.rsplit('/').next().unwrap_or_default();
                if !known.contains(id) {
                    self.blobs.delete(&blob.path).await?;
                    tracing::warn!(blob = %blob.path, "removed a document blob without a record");
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Decrypts a blob stream chunk by chunk. The blob was authenticated just
/// before; should it fail now (changed in between), the stream ends with an
/// error and the connection is cut rather than finished cleanly.
fn decrypt_stream(
    blob: BoxStream<'static, Result<Bytes, BlobError>>,
    decryptor: Decryptor,
) -> BoxStream<'static, Result<Bytes, DocumentError>> {
    futures_util::stream::unfold(Some((blob, decryptor)), |state| async move {
        let (mut blob, mut decryptor) = state?;
        let mut plain = Vec::new();
        loop {
            match blob.next().await {
                Some(Ok(piece)) => {
                    if let Err(_e) = decryptor.update(&piece, &mut plain) {
                        return Some((Err(DocumentError::Integrity), None));
                    }
                    if !plain.is_empty() {
                        return Some((Ok(Bytes::from(plain)), Some((blob, decryptor))));
                    }
                }
                Some(Err(e)) => return Some((Err(e.into()), None)),
                None => {
                    return match decryptor.finish(&mut plain) {
                        Ok(()) if plain.is_empty() => None,
                        Ok(()) => Some((Ok(Bytes::from(plain)), None)),
                        Err(_) => Some((Err(DocumentError::Integrity), None)),
                    };
                }
            }
        }
    })
    .boxed()
}

impl<'a> Upload<'a> {
    /// Takes the next bytes of the file.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), DocumentError> {
        self.size += chunk.len() as u64;
        if self.size > self.max_bytes {
            return Err(DocumentError::TooLarge(format!(
                "the file exceeds {} bytes, {}",
                self.max_bytes, self.limit_reason
            )));
        }
        self.sniffer.update(&chunk)?;
        self.sha.update(&chunk);
        // A buffer of its own per piece, handed to storage without a copy.
        let mut sealed = Vec::new();
        self.encryptor.update(&chunk, &mut sealed).map_err(crypto)?;
        if !sealed.is_empty() {
            self.blob_bytes += sealed.len() as u64;
            self.writer.put(Bytes::from(sealed)).await?;
        }
        Ok(())
    }

    /// Decides the content: its type must be accepted, safe, and fit the
    /// declared kind and media type. A refused upload is discarded.
    pub async fn verify(mut self) -> Result<Verified<'a>, DocumentError> {
        let sniffer = std::mem::replace(&mut self.sniffer, Sniffer::new(ContentLimits::default()));
        let info = match sniffer.finish() {
            Ok(info) => info,
            Err(e) => {
                self.abort().await;
                return Err(e.into());
            }
        };
        if let Some(why) = self.mismatch(&info) {
            self.abort().await;
            return Err(DocumentError::Mismatch(why));
        }
        let sha = std::mem::replace(
            &mut self.sha,
            ring::digest::Context::new(&ring::digest::SHA256),
        );
        let sha256 = hex(sha.finish().as_ref());
        Ok(Verified {
            upload: self,
            info,
            sha256,
        })
    }

    /// Why the content does not fit the declared kind or media type, if it
    /// does not.
    fn mismatch(&self, info: &ContentInfo) -> Option<String> {
        let kind = self.new.kind;
        if info.content_type == ContentType::Pdf && !kind.accepts_pdf() {
            return Some(format!(
                "a {} must be a JPEG, PNG or HEIC/HEIF photo, not a PDF",
                kind.as_str()
            ));
        }
        let declared = self.new.declared_type.as_deref()?;
        let fits = declared == "application/octet-stream"
            || declared == info.content_type.mime()
            || (declared == "image/jpg" && info.content_type == ContentType::Jpeg)
            || (declared == "image/heic" && info.content_type == ContentType::Heif);
        (!fits).then(|| {
            format!(
                "the file was declared as {declared} but its content is {}",
                info.content_type.mime()
            )
        })
    }

    /// Discards the upload; nothing becomes visible.
    pub async fn abort(self) {
        self.writer.abort().await;
    }
}

impl Verified<'_> {
    /// SHA-256 of the file, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Discards the upload; nothing becomes visible.
    pub async fn abort(self) {
        self.upload.abort().await;
    }

    /// Completes the blob and commits the row with its audit entry (and the
    /// idempotency record `idem` builds from the response). The same bytes
    /// already stored as this kind and side are the same document.
    pub async fn store(
        self,
        idem: impl FnOnce(&Stored) -> Option<IdempotencyWrite>,
    ) -> Result<Stored, DocumentError> {
        let Verified {
            upload,
            info,
            sha256,
        } = self;
        let docs = upload.documents;
        let current: Vec<DocumentRecord> = docs
            .store
            .document_list(&upload.app.id)
            .await?
            .into_iter()
            .filter(|d| d.superseded_by.is_none())
            .collect();
        if let Some(same) = current.iter().find(|d| d.sha256 == sha256) {
            let same = same.clone();
            let (kind, side) = (upload.new.kind, upload.new.side);
            if same.kind != kind || same.side != side {
                upload.abort().await;
                return Err(DocumentError::DuplicateElsewhere {
                    id: same.id,
                    kind: same.kind.as_str().to_owned(),
                });
            }
            // The same photo sent again with a different MRZ reading (the
            // app read the zone better) replaces the document; otherwise
            // it is the same document.
            if docs.mrz_of(&same)? == upload.new.mrz {
                upload.abort().await;
                return Ok(Stored {
                    record: same,
                    created: false,
                });
            }
        }
        let Upload {
            documents,
            caller,
            app,
            new,
            id,
            dek,
            encryptor,
            mut writer,
            size,
            mut blob_bytes,
            ..
        } = upload;
        let mut out = Vec::with_capacity(crate::crypto::stream::CHUNK_SIZE + 64);
        encryptor.finish(&mut out).map_err(crypto)?;
        blob_bytes += out.len() as u64;
        if let Err(e) = writer.put(Bytes::from(out)).await {
            writer.abort().await;
            return Err(e.into());
        }
        writer.finish().await?;
        let blob_path = format!("{BLOB_PREFIX}/{}/{id}", app.id);
        let result = documents
            .commit(
                &caller, &app, new, id, &dek, info, sha256, size, blob_bytes, &blob_path, &current,
                idem,
            )
            .await;
        if result.is_err()
            && let Err(e) = documents.blobs.delete(&blob_path).await
        {
            tracing::warn!(error = %e, "could not remove the blob of a failed upload; the sweeper will");
        }
        result
    }
}

impl Documents {
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one verified upload"
    )]
    async fn commit(
        &self,
        caller: &Caller,
        app: &ApplicationRecord,
        new: NewDocument,
        id: String,
        dek: &DataKey,
        info: ContentInfo,
        sha256: String,
        size: u64,
        blob_bytes: u64,
        blob_path: &str,
        current: &[DocumentRecord],
        idem: impl FnOnce(&Stored) -> Option<IdempotencyWrite>,
    ) -> Result<Stored, DocumentError> {
        let original_name_sealed = new
            .file_name
            .as_ref()
            .map(|n| dek.seal(n.as_str().as_bytes(), &name_context(&id)))
            .transpose()
            .map_err(crypto)?;
        let mrz_sealed = new
            .mrz
            .as_ref()
            .map(|m| dek.seal(m.as_bytes(), &mrz_context(&id)))
            .transpose()
            .map_err(crypto)?;
        let now = self.now_us();
        let record = DocumentRecord {
            id: id.clone(),
            application_id: app.id.clone(),
            kind: new.kind,
            side: new.side,
            content_type: info.content_type,
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            sha256: sha256.clone(),
            width: info.width.map(i64::from),
            height: info.height.map(i64::from),
            pages: info.pages.map(i64::from),
            original_name_sealed,
            blob_path: blob_path.to_owned(),
            blob_bytes: i64::try_from(blob_bytes).unwrap_or(i64::MAX),
            dek: self.onboarding.keyring().wrap(dek, &id).map_err(crypto)?,
            uploaded_by: if caller.roles.contains(&Role::Service) {
                "service".to_owned()
            } else {
                "applicant".to_owned()
            },
            created_us: now,
            superseded_by: None,
            superseded_us: None,
            mrz_sealed,
        };
        let supersedes = current
            .iter()
            .find(|d| d.kind == new.kind && d.side == new.side)
            .map(|d| d.id.clone());
        let event = self.onboarding.caller_event(
            caller,
            if supersedes.is_some() {
                "document.replaced"
            } else {
                "document.uploaded"
            },
            self.target(&record),
            Some(sha256),
        );
        let audit = encode_all(&[event])?;
        let stored = Stored {
            record,
            created: true,
        };
        let idem = idem(&stored);
        self.store
            .document_insert(&DocumentInsert {
                document: &stored.record,
                supersedes: supersedes.as_deref(),
                audit: &audit,
                idem: idem.as_ref(),
                limits: (
                    self.settings.max_documents_per_application,
                    self.settings.max_application_bytes,
                ),
            })
            .await?;
        self.onboarding.audit().wake_handle().notify_one();
        Ok(stored)
    }
}

impl Documents {
    /// Opens a current document of `application_id` for a check provider
    /// that must send the image on (a document or liveness vendor): the
    /// decrypted stream is read into memory (at most the stored size, which
    /// the upload limits bound), its length and hash compared with the row,
    /// and the read recorded in the audit log with the provider's name. A
    /// damaged blob is an error, never a partial image.
    pub async fn read_for_provider(
        &self,
        application_id: &str,
        document_id: &str,
        provider: &str,
    ) -> Result<(DocumentRecord, Bytes), DocumentError> {
        let doc = self
            .store
            .document_list(application_id)
            .await?
            .into_iter()
            .find(|d| d.id == document_id && d.superseded_by.is_none())
            .ok_or(DocumentError::NotFound)?;
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&doc.dek, &doc.id)
            .map_err(crypto)?;
        let (_, blob) = self.blobs.read(&doc.blob_path).await?;
        let decryptor = Decryptor::new(&dek, &blob_context(&doc.id)).map_err(crypto)?;
        let mut plain = Vec::with_capacity(usize::try_from(doc.size_bytes).unwrap_or(0));
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut stream = decrypt_stream(blob, decryptor);
        while let Some(piece) = stream.next().await {
            let piece = piece?;
            if plain.len() + piece.len() > usize::try_from(doc.size_bytes).unwrap_or(0) {
                return Err(DocumentError::Integrity);
            }
            sha.update(&piece);
            plain.extend_from_slice(&piece);
        }
        if hex(sha.finish().as_ref()) != doc.sha256
            || i64::try_from(plain.len()).ok() != Some(doc.size_bytes)
        {
            tracing::error!(document = %doc.id, "a stored document failed its integrity check");
            return Err(DocumentError::Integrity);
        }
        let audit = self.onboarding.audit();
        let mut event = audit.event(
            "document.sent_to_provider",
            audit.system_actor(),
            "success",
            None,
        );
        event.outcome.reason_code = Some(provider.to_owned());
        event.target = Some(self.target(&doc));
        audit.record(&[event]).await?;
        Ok((doc, Bytes::from(plain)))
    }
}
