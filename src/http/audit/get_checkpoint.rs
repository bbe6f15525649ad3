//! `GET /v1/audit/checkpoint`: the newest signed checkpoint.

use actix_web::web::{self, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AUDITORS, b64};
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode};
use crate::startup::AppState;

/// A signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    /// Number of entries the tree commits to.
    pub tree_size: u64,
    /// RFC 6962 root hash, standard base64.
    pub root_hash: String,
    /// The complete C2SP tlog-checkpoint signed note, as signed.
    pub note: String,
    /// When it was signed (RFC 3339, UTC).
    pub signed_at: String,
}

/// The newest signed checkpoint of the audit log. Auditors keep it to check
/// later exports against (`audit verify --trusted-checkpoint`).
#[utoipa::path(
    get,
    path = "/v1/audit/checkpoint",
    tag = "audit",
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The newest checkpoint", body = CheckpointView),
        (status = 401, description = "Not authenticated", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No checkpoint yet", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_checkpoint(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<Json<CheckpointView>, ApiError> {
    principal.require_any(AUDITORS)?;
    let cp = state
        .audit
        .latest_checkpoint()
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "The log has no checkpoint yet."))?;
    Ok(Json(CheckpointView {
        tree_size: cp.tree_size,
        root_hash: b64(&cp.root),
        note: cp.note,
        signed_at: rfc3339(cp.created_us),
    }))
}

/// UTC microseconds as RFC 3339.
pub fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}
