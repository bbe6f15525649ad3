//! `GET /v1/audit/public-key`: the key that signs the log's checkpoints.

use actix_web::web::{self, Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::startup::AppState;

/// The checkpoint verifier key, for auditors to pin.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyView {
    /// The log's origin (first line of every checkpoint).
    pub origin: String,
    /// C2SP signed-note verifier key `name+keyid+base64(0x01‖ed25519 key)`;
    /// pass it to `kyc-gateway audit verify --key`.
    pub vkey: String,
}

/// Publishes the Ed25519 key that signs checkpoints (C2SP signed-note verifier
/// key format). Public: auditors fetch it once and pin it.
#[utoipa::path(
    get,
    path = "/v1/audit/public-key",
    tag = "audit",
    responses((status = 200, description = "The checkpoint verifier key", body = PublicKeyView))
)]
pub async fn get_public_key(state: web::Data<AppState>) -> Json<PublicKeyView> {
    Json(PublicKeyView {
        origin: state.audit.origin().to_owned(),
        vkey: state.audit.vkey(),
    })
}
