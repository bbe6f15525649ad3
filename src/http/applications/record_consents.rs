//! `POST /v1/applications/{id}/consents`: record the applicant's decisions.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::consent_history::ConsentRecordView;
use super::{body_bytes, caller, idempotency, parse_json, replay};
use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::onboarding::ConsentDecision;
use crate::startup::AppState;

/// The applicant's decisions, made on one screen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsentsRequest {
    /// `mobile`, `web` or `branch`.
    pub channel: String,
    /// One decision per purpose shown (1 to 20).
    pub decisions: Vec<ConsentDecision>,
}

/// Records consent decisions (GDPR Art. 7). Each names the text version and
/// the SHA-256 of the exact text shown; an unknown version or a different hash
/// is 422 and nothing is recorded. Records are append-only: withdrawing is a
/// new decision with `granted: false`. Requires `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/v1/applications/{id}/consents",
    tag = "consents",
    request_body = RecordConsentsRequest,
    params(
        ("id" = String, Path, description = "Application id"),
        ("Idempotency-Key" = String, Header, description = "Unique per intended request"),
    ),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 201, description = "Recorded", body = Vec<ConsentRecordView>),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown purpose, version or text hash", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn record_consents(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Applicant])?;
    let (key, hash) = idempotency(&req, &body)?;
    let caller = caller(&req, &principal);
    let onboarding = &state.onboarding;
    // No idempotency lookup first: the consent records, their audit entries
    // and the idempotency record are written in one transaction, so a key
    // already used fails that write as a whole, and every error (also a
    // replay that no longer validates, the application having closed) is
    // answered with the stored response or the key conflict, if there is
    // one. A first request, the common case on every applicant's path,
    // saves a round trip; a retry costs one more. This holds only while
    // nothing before the store write has an effect of its own (no rate
    // limit, no separate audit record, no notification).
    let recorded: Result<Vec<u8>, ApiError> = async {
        let request: RecordConsentsRequest = parse_json(&req, &body)?;
        let app = onboarding.load(&caller, &id).await?;
        let mut response = Vec::new();
        onboarding
            .record_consents(
                &caller,
                &app,
                &request.channel,
                &request.decisions,
                |records| {
                    let views: Vec<ConsentRecordView> =
                        records.iter().map(ConsentRecordView::from).collect();
                    response = body_bytes(&views).ok()?;
                    Some(onboarding.idempotency(&caller, &key, &hash, 201, response.clone()))
                },
            )
            .await?;
        Ok(response)
    }
    .await;
    match recorded {
        Ok(response) => Ok(HttpResponse::Created()
            .content_type("application/json")
            .body(response)),
        Err(e) => match onboarding.idempotent_replay(&caller, &key, &hash).await? {
            Some(stored) => Ok(replay(stored)),
            None => Err(e),
        },
    }
}
