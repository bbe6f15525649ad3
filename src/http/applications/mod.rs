//! Applications and their consents, for bank apps (applicants), bank
//! back-ends (services) and staff. Handlers parse and authorize; the
//! onboarding use cases do the rest. Changing POSTs are idempotent by the
//! `Idempotency-Key` header.

pub mod consent_history;
pub mod consent_texts;
pub mod create;
pub mod get;
pub mod list;
pub mod record_consents;
pub mod submit;
pub mod withdraw;

use actix_web::http::header::HeaderName;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::domain::application_state::Transition;
use crate::http::audit::get_checkpoint::rfc3339;
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode, FieldError};
use crate::http::middleware::RequestContext;
use crate::onboarding::{ApplicationRecord, Caller, OnboardingError, StoredResponse};
use crate::startup::AppState;

/// Staff roles that read applications.
pub const STAFF_READERS: &[Role] = &[
    Role::Officer,
    Role::SeniorOfficer,
    Role::Auditor,
    Role::Admin,
];

/// The caller as the use cases see it.
pub fn caller(req: &HttpRequest, principal: &Principal) -> Caller {
    let ctx = req.extensions().get::<RequestContext>().cloned();
    Caller {
        subject: principal.subject().to_owned(),
        roles: principal.roles().to_vec(),
        client_id: principal.client_id().map(str::to_owned),
        auth_method: principal.binding().as_str().to_owned(),
        request_id: ctx.as_ref().map(|c| c.request_id.clone()),
        trace_id: ctx.as_ref().map(|c| c.trace_id.clone()),
        client_ip: ctx.and_then(|c| c.client_ip).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
    }
}

impl From<OnboardingError> for ApiError {
    fn from(error: OnboardingError) -> Self {
        match error {
            OnboardingError::NotFound => ApiError::new(ErrorCode::NotFound, "No such application."),
            OnboardingError::Invalid(problems) => ApiError::new(
                ErrorCode::ValidationFailed,
                "Some fields are invalid; nothing was stored.",
            )
            .with_errors(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: p.field,
                        code: p.code,
                        message: p.message,
                    })
                    .collect(),
            ),
            OnboardingError::Transition(t) => {
                ApiError::new(ErrorCode::InvalidTransition, t.to_string())
            }
            OnboardingError::ConsentsMissing(missing) => ApiError::new(
                ErrorCode::ConsentsMissing,
                format!("Grant the required consents first: {}.", missing.join(", ")),
            )
            .with_errors(
                missing
                    .into_iter()
                    .map(|purpose| FieldError {
                        field: format!("consents.{purpose}"),
                        code: "consent_required".to_owned(),
                        message: "required for KYC processing".to_owned(),
                    })
                    .collect(),
            ),
            OnboardingError::Duplicate(id) => ApiError::new(
                ErrorCode::DuplicateApplication,
                format!("You already have an open application for this product: {id}."),
            ),
            OnboardingError::Concurrent => ApiError::new(
                ErrorCode::ConcurrentModification,
                "The application changed at the same time; reload it and retry.",
            ),
            OnboardingError::IdempotencyConflict => ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used with a different request.",
            ),
            OnboardingError::Store(e) => e.into(),
            OnboardingError::Crypto(e) => ApiError::internal(anyhow::anyhow!("crypto: {e}")),
            OnboardingError::Audit(e) => e.into(),
        }
    }
}

/// The `Idempotency-Key` of a changing POST (required; 1 to 255 visible ASCII
/// characters) and the SHA-256 of the request it names (method, path, body).
pub fn idempotency(req: &HttpRequest, body: &[u8]) -> Result<(String, String), ApiError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| (0x21..=0x7e).contains(&b)))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::IdempotencyKeyRequired,
                "Send an Idempotency-Key header (1 to 255 visible ASCII characters, e.g. a UUID) \
                 so that retries are safe.",
            )
        })?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(req.method().as_str().as_bytes());
    ctx.update(b" ");
    ctx.update(req.path().as_bytes());
    ctx.update(b"\n");
    ctx.update(body);
    let hash = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((key.to_owned(), hash))
}

/// Replays a stored response.
pub fn replay(stored: StoredResponse) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(stored.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((HeaderName::from_static("idempotent-replayed"), "true"))
        .body(stored.response)
}

/// Parses a JSON body with the same error codes as the JSON extractor.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    let json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as application/json.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::new(ErrorCode::InvalidBody, e.to_string())
        } else {
            ApiError::new(ErrorCode::MalformedJson, e.to_string())
        }
    })
}

/// An application as callers see it (no identity data: that is a separate,
/// audited read).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationSummary {
    /// Application id (UUIDv7).
    pub id: String,
    /// `draft`, `submitted`, `checking`, `in_review`, `info_requested`,
    /// `approved`, `rejected`, `withdrawn` or `expired`.
    pub state: String,
    /// Product id.
    pub product: String,
    /// Jurisdiction (ISO 3166-1 alpha-2).
    pub jurisdiction: String,
    /// Policy version it was created under.
    pub policy_version: String,
    /// Created (RFC 3339, UTC).
    pub created_at: String,
    /// Last change (RFC 3339, UTC).
    pub updated_at: String,
}

impl From<&ApplicationRecord> for ApplicationSummary {
    fn from(a: &ApplicationRecord) -> Self {
        Self {
            id: a.id.clone(),
            state: a.state.as_str().to_owned(),
            product: a.product.clone(),
            jurisdiction: a.jurisdiction.clone(),
            policy_version: a.policy_version.clone(),
            created_at: rfc3339(a.created_us),
            updated_at: rfc3339(a.updated_us),
        }
    }
}

/// Serializes a response body for storing with the idempotency key.
pub fn body_bytes(value: &impl Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}

/// The applicant moves their own application (submit, withdraw): idempotent
/// by `Idempotency-Key`, answered with the application after the change.
pub async fn applicant_transition(
    req: &HttpRequest,
    principal: &Principal,
    state: &AppState,
    id: &str,
    transition: Transition,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Applicant])?;
    let (key, hash) = idempotency(req, &[])?;
    let caller = caller(req, principal);
    let onboarding = &state.onboarding;
    if let Some(stored) = onboarding.idempotent_replay(&caller, &key, &hash).await? {
        return Ok(replay(stored));
    }
    let app = onboarding.load(&caller, id).await?;
    let mut response = Vec::new();
    let result = onboarding
        .transition(&caller, &app, transition, |next, now_us| {
            let mut after = ApplicationSummary::from(&app);
            after.state = next.as_str().to_owned();
            after.updated_at = rfc3339(now_us);
            response = body_bytes(&after).ok()?;
            Some(onboarding.idempotency(&caller, &key, &hash, 200, response.clone()))
        })
        .await;
    match result {
        Ok(_) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(response)),
        // A concurrent retry with the same key may have won: answer as it did.
        Err(e) => match onboarding.idempotent_replay(&caller, &key, &hash).await? {
            Some(stored) => Ok(replay(stored)),
            None => Err(e.into()),
        },
    }
}
