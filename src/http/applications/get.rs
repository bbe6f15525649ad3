//! `GET /v1/applications/{id}`: one application with its identity data.

use actix_web::HttpRequest;
use actix_web::web::{self, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApplicationSummary, STAFF_READERS, caller};
use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::onboarding::identity::Identity;
use crate::startup::AppState;

/// An application with the applicant's identity data.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The application.
    #[serde(flatten)]
    pub summary: ApplicationSummary,
    /// The identity data (decrypted for this response; the read is audited).
    /// Only the applicant and officers see it; auditors and admins get the
    /// application without it (GDPR Art. 5(1)(c), data minimisation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// While the application is `info_requested`: what the bank asks the
    /// applicant to add before resubmitting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_requested: Option<InfoRequest>,
}

/// What an officer asked the applicant for.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfoRequest {
    /// The policy's reason code (e.g. `document_unreadable`).
    pub reason_code: String,
    /// What to add, in the officer's words.
    pub items: Vec<String>,
    /// When (RFC 3339).
    pub requested_at: String,
}

/// Returns an application to its applicant or to staff. Another applicant's
/// application is 404, the same as a missing one. Reading the identity data
/// is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/v1/applications/{id}",
    tag = "applications",
    params(("id" = String, Path, description = "Application id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The application", body = ApplicationView),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_application(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    principal.require_any(&[&[Role::Applicant][..], STAFF_READERS].concat())?;
    let caller = caller(&req, &principal);
    let app = state.onboarding.load(&caller, &id).await?;
    let may_see_identity = principal.has_role(Role::Applicant)
        || principal.has_role(Role::Officer)
        || principal.has_role(Role::SeniorOfficer);
    let identity = if may_see_identity {
        Some(state.onboarding.view_identity(&caller, &app).await?)
    } else {
        None
    };
    let info_requested = state.review.open_request(&app).await?.map(|d| InfoRequest {
        reason_code: d.reason_codes.first().cloned().unwrap_or_default(),
        items: d.request_items.unwrap_or_default(),
        requested_at: chrono::DateTime::from_timestamp_micros(d.created_us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default(),
    });
    Ok(Json(ApplicationView {
        summary: (&app).into(),
        identity,
        info_requested,
    }))
}
