//! `GET /v1/audit/events/{event_id}/inclusion-proof`: proves one event is in
//! the signed tree (RFC 6962 §2.1.1).

use actix_web::web::{self, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AUDITORS, b64};
use crate::audit::merkle::leaf_hash;
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode};
use crate::startup::AppState;

/// Which tree to prove against.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// A checkpointed tree size; default: the newest checkpoint.
    pub tree_size: Option<u64>,
}

/// An inclusion proof with the checkpoint it verifies against.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofView {
    /// The event's leaf index.
    pub leaf_index: u64,
    /// The tree size proven against.
    pub tree_size: u64,
    /// `SHA-256(0x00 ‖ entry)`, standard base64.
    pub leaf_hash: String,
    /// Audit path, standard base64, from the leaf upwards.
    pub proof: Vec<String>,
    /// The signed checkpoint of `tree_size`.
    pub checkpoint: String,
}

/// Proves that an event is included in a signed tree: verify the audit path
/// from `leaf_hash` to the root in `checkpoint`.
#[utoipa::path(
    get,
    path = "/v1/audit/events/{event_id}/inclusion-proof",
    tag = "audit",
    params(("event_id" = String, Path, description = "The event id (UUIDv7)"), InclusionQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The proof", body = InclusionProofView),
        (status = 400, description = "The event is not in that tree, or no such checkpoint", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event (or not yet sequenced)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_inclusion_proof(
    principal: Principal,
    state: web::Data<AppState>,
    event_id: web::Path<String>,
    query: web::Query<InclusionQuery>,
) -> Result<Json<InclusionProofView>, ApiError> {
    principal.require_any(AUDITORS)?;
    let event_id = event_id.into_inner();
    if uuid::Uuid::parse_str(&event_id).is_err() {
        return Err(ApiError::new(
            ErrorCode::InvalidPathParameter,
            "event_id must be a UUID",
        ));
    }
    let (index, size, proof) = state
        .audit
        .inclusion_proof(&event_id, query.tree_size)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "No such event in the log (yet)."))?;
    let entry = state
        .audit
        .store()
        .audit_entries(index, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("entry {index} vanished")))?;
    let checkpoint = state
        .audit
        .store()
        .audit_checkpoint_at(size)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("no checkpoint of size {size}"),
            )
        })?;
    Ok(Json(InclusionProofView {
        leaf_index: index,
        tree_size: size,
        leaf_hash: b64(&leaf_hash(&entry.entry)),
        proof: proof.iter().map(|h| b64(h)).collect(),
        checkpoint: checkpoint.note,
    }))
}
