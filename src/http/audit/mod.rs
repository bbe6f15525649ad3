//! Auditors' read-only view of the audit log: events, the latest signed
//! checkpoint, proofs, and the export bundle. Every route admits the
//! `auditor` role only (the public key is public), and nothing here changes
//! anything.

pub mod consistency_proof;
pub mod export;
pub mod get_checkpoint;
pub mod get_public_key;
pub mod inclusion_proof;
pub mod list_events;

use base64::Engine as _;

use crate::audit::log::AuditError;
use crate::auth::Role;
use crate::http::errors::{ApiError, ErrorCode};
use crate::store::StoreError;

/// The roles the audit routes admit.
pub const AUDITORS: &[Role] = &[Role::Auditor];

/// Hashes are shown in standard base64, as in checkpoints (C2SP tlog-checkpoint).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl From<AuditError> for ApiError {
    fn from(error: AuditError) -> Self {
        match error {
            AuditError::Proof(detail) => ApiError::new(ErrorCode::InvalidQuery, detail),
            AuditError::Store(e) => e.into(),
            AuditError::Entry(e) => ApiError::internal(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "Not found."),
            StoreError::Unavailable(_) => {
                tracing::warn!(%error, "database unavailable");
                ApiError::new(
                    ErrorCode::NotReady,
                    "The database is not reachable; retry later.",
                )
            }
            other => ApiError::internal(other),
        }
    }
}
