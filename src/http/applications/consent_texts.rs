//! `GET /v1/applications/{id}/consent-texts`: what the app must show.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{STAFF_READERS, caller};
use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::onboarding::ConsentTextView;
use crate::startup::AppState;

/// Locale choice.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TextsQuery {
    /// Preferred locale (`en`, `de`, `pt`); otherwise `Accept-Language`, then the default.
    pub locale: Option<String>,
}

/// The texts for an application's product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentTexts {
    /// The locale served.
    pub locale: String,
    /// Policy version the texts belong to.
    pub policy_version: String,
    /// One text per purpose, required ones first.
    pub consents: Vec<ConsentTextView>,
}

/// The consent texts the app must show for this application, in the
/// applicant's language (`locale`, else `Accept-Language`, else the policy
/// default). Send back `version` and `sha256` with each decision.
#[utoipa::path(
    get,
    path = "/v1/applications/{id}/consent-texts",
    tag = "consents",
    params(("id" = String, Path, description = "Application id"), TextsQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The texts", body = ConsentTexts),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_consent_texts(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<TextsQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[&[Role::Applicant][..], STAFF_READERS].concat())?;
    let caller = caller(&req, &principal);
    let app = state.onboarding.load(&caller, &id).await?;
    let wanted = query.locale.clone().or_else(|| {
        req.headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect())
    });
    let (locale, consents) = state.onboarding.consent_texts(&app, wanted.as_deref());
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Language", locale.clone()))
        .json(ConsentTexts {
            locale,
            policy_version: state.onboarding.policy().version.clone(),
            consents,
        }))
}
