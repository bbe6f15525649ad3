//! Identity documents: bank apps upload them (multipart, streamed), owners
//! and staff list them, officers download them (audited). Handlers parse and
//! authorize; `documents::Documents` does the rest.

pub mod download;
pub mod list;
pub mod upload;

use serde::Serialize;
use utoipa::ToSchema;

use crate::documents::content::ContentError;
use crate::documents::{DocumentError, DocumentRecord};
use crate::domain::document::{DocumentKind, DocumentSide};
use crate::http::audit::get_checkpoint::rfc3339;
use crate::http::errors::{ApiError, ErrorCode, FieldError};

/// A document's metadata as the app and staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentView {
    /// Document id (UUIDv7).
    pub id: String,
    /// The application.
    pub application_id: String,
    /// What it is.
    pub kind: DocumentKind,
    /// Which side, for cards.
    pub side: Option<DocumentSide>,
    /// The media type, decided from the content.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Image width in pixels.
    pub width: Option<i64>,
    /// Image height in pixels.
    pub height: Option<i64>,
    /// PDF pages.
    pub pages: Option<i64>,
    /// The file name the app sent, as metadata only (never used for storage).
    pub original_name: Option<String>,
    /// Uploaded (RFC 3339, UTC).
    pub created_at: String,
    /// The document that replaced this one; replaced documents are kept for the record.
    pub superseded_by: Option<String>,
}

impl DocumentView {
    /// The view of a record, with its decrypted original name.
    pub fn new(d: &DocumentRecord, original_name: Option<String>) -> Self {
        Self {
            id: d.id.clone(),
            application_id: d.application_id.clone(),
            kind: d.kind,
            side: d.side,
            content_type: d.content_type.mime().to_owned(),
            size_bytes: d.size_bytes,
            sha256: d.sha256.clone(),
            width: d.width,
            height: d.height,
            pages: d.pages,
            original_name,
            created_at: rfc3339(d.created_us),
            superseded_by: d.superseded_by.clone(),
        }
    }
}

fn content_error(e: &ContentError) -> ApiError {
    let code = if e.code() == "unsupported_content_type" {
        ErrorCode::UnsupportedDocumentType
    } else {
        ErrorCode::DocumentRejected
    };
    ApiError::new(code, format!("{e}. Nothing was stored.")).with_errors(vec![FieldError {
        field: "file".to_owned(),
        code: e.code().to_owned(),
        message: e.to_string(),
    }])
}

impl From<DocumentError> for ApiError {
    fn from(error: DocumentError) -> Self {
        match error {
            DocumentError::NotFound => {
                ApiError::new(ErrorCode::NotFound, "No such application or document.")
            }
            DocumentError::Closed(state) => ApiError::new(
                ErrorCode::DocumentsClosed,
                format!(
                    "The application is {}; documents can be added while it is a draft or when more information is requested.",
                    state.as_str()
                ),
            ),
            DocumentError::TooLarge(why) => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("{why}. Nothing was stored."),
            ),
            DocumentError::Content(e) => content_error(&e),
            DocumentError::Mismatch(why) => ApiError::new(
                ErrorCode::DocumentRejected,
                format!("{why}. Nothing was stored."),
            )
            .with_errors(vec![FieldError {
                field: "file".to_owned(),
                code: "type_mismatch".to_owned(),
                message: why,
            }]),
            DocumentError::DuplicateElsewhere { id, kind } => ApiError::new(
                ErrorCode::DuplicateDocument,
                format!(
                    "These bytes are already stored for this application as document {id} ({kind})."
                ),
            ),
            DocumentError::Concurrent => ApiError::new(
                ErrorCode::ConcurrentModification,
                "The application changed at the same time (submitted, or another upload of this kind); reload it and retry.",
            ),
            DocumentError::IdempotencyConflict => ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used with a different request.",
            ),
            DocumentError::Integrity => ApiError::new(
                ErrorCode::DocumentIntegrityFailed,
                "The stored document failed its integrity check, so none of it was sent. The incident is logged for the operators.",
            ),
            DocumentError::Onboarding(e) => e.into(),
            DocumentError::Store(e) => e.into(),
            DocumentError::Audit(e) => e.into(),
            DocumentError::Blob(e) => ApiError::internal(e),
            DocumentError::Crypto(e) => ApiError::internal(anyhow::anyhow!("crypto: {e}")),
        }
    }
}
