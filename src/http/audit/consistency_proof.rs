//! `GET /v1/audit/consistency-proof`: proves a newer tree extends an older
//! one (RFC 6962 §2.1.2): nothing was removed or rewritten in between.

use actix_web::web::{self, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AUDITORS, b64};
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::startup::AppState;

/// The two tree sizes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older, checkpointed size.
    pub from_size: u64,
    /// The newer, checkpointed size.
    pub to_size: u64,
}

/// A consistency proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofView {
    /// The older size.
    pub from_size: u64,
    /// The newer size.
    pub to_size: u64,
    /// Proof hashes, standard base64.
    pub proof: Vec<String>,
}

/// Proves that the tree of `to_size` extends the tree of `from_size`; verify
/// it against the two signed checkpoints you hold.
#[utoipa::path(
    get,
    path = "/v1/audit/consistency-proof",
    tag = "audit",
    params(ConsistencyQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProofView),
        (status = 400, description = "Sizes out of order or not checkpointed", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_consistency_proof(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    principal.require_any(AUDITORS)?;
    let proof = state
        .audit
        .consistency_proof(query.from_size, query.to_size)
        .await?;
    Ok(Json(ConsistencyProofView {
        from_size: query.from_size,
        to_size: query.to_size,
        proof: proof.iter().map(|h| b64(h)).collect(),
    }))
}
