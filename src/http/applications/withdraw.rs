//! `POST /v1/applications/{id}/withdraw`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::ApplicationSummary;
use crate::domain::application_state::Transition;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::startup::AppState;

/// Withdraws the applicant's application (from any state that is not final). One call; the withdrawal is audited.
/// Requires `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/v1/applications/{id}/withdraw",
    tag = "applications",
    params(
        ("id" = String, Path, description = "Application id"),
        ("Idempotency-Key" = String, Header, description = "Unique per intended request"),
    ),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The application after the change", body = ApplicationSummary),
        (status = 400, description = "Missing Idempotency-Key", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an applicant", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the current state, or consents missing", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another request", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited; see Retry-After", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn withdraw_application(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::applicant_transition(&req, &principal, &state, &id, Transition::Withdraw).await
}
