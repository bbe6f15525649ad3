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
    Ok(Json(ApplicationView {
        summary: (&app).into(),
        identity,
    }))
}
