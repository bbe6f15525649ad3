//! `POST /v1/applications`: open an application (draft).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApplicationSummary, body_bytes, caller, idempotency, parse_json, replay};
use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::onboarding::NewApplication;
use crate::onboarding::identity::IdentityInput;
use crate::startup::AppState;

/// What the app sends to open an application. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplicationRequest {
    /// Product id from the policy, e.g. `current_account`.
    pub product: String,
    /// ISO 3166-1 alpha-2 jurisdiction where the product is offered.
    pub jurisdiction: String,
    /// The applicant's identity data.
    pub identity: IdentityInput,
    /// Services only: the applicant's subject at the identity provider.
    pub applicant_subject: Option<String>,
}

/// Opens an application in `draft` for the authenticated applicant (or, for a
/// `service`, for `applicant_subject`). Identity data is validated field by
/// field and stored encrypted. Requires `Idempotency-Key`: a retry with the
/// same key and body returns the first response.
#[utoipa::path(
    post,
    path = "/v1/applications",
    tag = "applications",
    request_body = CreateApplicationRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended request, e.g. a UUID")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 201, description = "Created", body = ApplicationSummary),
        (status = 400, description = "Malformed request or missing Idempotency-Key", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An open application exists", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`) or a reused Idempotency-Key", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_application(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Applicant, Role::Service])?;
    let (key, hash) = idempotency(&req, &body)?;
    let caller = caller(&req, &principal);
    let onboarding = &state.onboarding;
    if let Some(stored) = onboarding.idempotent_replay(&caller, &key, &hash).await? {
        return Ok(replay(stored));
    }
    // Replays are not new applications; a bank's back-end creating for many
    // applicants is bounded by the service route class instead.
    if !principal.has_role(Role::Service)
        && let Some(auth) = req.app_data::<web::Data<crate::http::auth::Authenticator>>()
    {
        auth.limit_action(&req, &principal, crate::auth::RateAction::CreateApplication)?;
    }
    let request: CreateApplicationRequest = parse_json(&req, &body)?;
    let new = NewApplication {
        product: request.product,
        jurisdiction: request.jurisdiction,
        identity: request.identity,
        on_behalf_of: request.applicant_subject,
    };
    let mut response = Vec::new();
    let result = onboarding
        .create(&caller, new, |record| {
            response = body_bytes(&ApplicationSummary::from(record)).ok()?;
            Some(onboarding.idempotency(&caller, &key, &hash, 201, response.clone()))
        })
        .await;
    match result {
        Ok(record) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/v1/applications/{}", record.id)))
            .content_type("application/json")
            .body(response)),
        // A concurrent request with the same key may have won meanwhile
        // (the loser sees a unique violation or the winner's application):
        // answer as the winner did.
        Err(e) => match onboarding.idempotent_replay(&caller, &key, &hash).await? {
            Some(stored) => Ok(replay(stored)),
            None => Err(e.into()),
        },
    }
}
