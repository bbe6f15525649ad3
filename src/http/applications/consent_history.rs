//! `GET /v1/applications/{id}/consents`: the consent history.

use actix_web::HttpRequest;
use actix_web::web::{self, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::{STAFF_READERS, caller};
use crate::auth::Role;
use crate::http::audit::get_checkpoint::rfc3339;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::onboarding::ConsentRecord;
use crate::startup::AppState;

/// One recorded decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordView {
    /// Record id.
    pub id: String,
    /// Purpose.
    pub purpose: String,
    /// Granted or refused/withdrawn.
    pub granted: bool,
    /// Version of the text shown.
    pub text_version: String,
    /// SHA-256 of the text shown.
    pub text_sha256: String,
    /// Locale of the text shown.
    pub locale: String,
    /// Channel.
    pub channel: String,
    /// Server time (RFC 3339, UTC).
    pub recorded_at: String,
    /// Policy version in force.
    pub policy_version: String,
}

impl From<&ConsentRecord> for ConsentRecordView {
    fn from(r: &ConsentRecord) -> Self {
        Self {
            id: r.id.clone(),
            purpose: r.purpose.clone(),
            granted: r.granted,
            text_version: r.text_version.clone(),
            text_sha256: r.text_sha256.clone(),
            locale: r.locale.clone(),
            channel: r.channel.clone(),
            recorded_at: rfc3339(r.recorded_us),
            policy_version: r.policy_version.clone(),
        }
    }
}

/// The history and where each purpose stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentHistory {
    /// Every decision, oldest first.
    pub records: Vec<ConsentRecordView>,
    /// Required purposes whose latest decision is not a grant.
    pub missing_required: Vec<String>,
}

/// Every consent decision of the application, oldest first, for its
/// applicant and for staff.
#[utoipa::path(
    get,
    path = "/v1/applications/{id}/consents",
    tag = "consents",
    params(("id" = String, Path, description = "Application id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The history", body = ConsentHistory),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_consent_history(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<ConsentHistory>, ApiError> {
    principal.require_any(&[&[Role::Applicant][..], STAFF_READERS].concat())?;
    let caller = caller(&req, &principal);
    let app = state.onboarding.load(&caller, &id).await?;
    let history = state.onboarding.consent_history(&app).await?;
    Ok(Json(ConsentHistory {
        missing_required: state.onboarding.missing_consents(&app, &history),
        records: history.iter().map(ConsentRecordView::from).collect(),
    }))
}
