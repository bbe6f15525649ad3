//! `POST /v1/webhooks/vendor`: the document and liveness vendor reports a
//! check's progress.

use actix_web::HttpRequest;
use actix_web::web::{self, Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::checks::vendor::{SIGNATURE_HEADER, WebhookError, WebhookOutcome};
use crate::http::errors::{ApiError, ErrorCode};
use crate::startup::AppState;

/// What the gateway did with the event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// `applied` (the check ended with the vendor's result), `duplicate`
    /// (the event id was seen before; nothing done) or `ignored` (nothing to
    /// do: an unknown or ended check, another event type, or no result yet).
    pub status: String,
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::BadSignature => ApiError::new(
                ErrorCode::InvalidWebhookSignature,
                format!(
                    "The {SIGNATURE_HEADER} header must be the hex HMAC-SHA256 of the raw body."
                ),
            ),
            WebhookError::Stale => ApiError::new(
                ErrorCode::WebhookExpired,
                "The event's created_at_iso8601 is outside the accepted window.",
            ),
            WebhookError::Malformed(why) => ApiError::new(
                ErrorCode::InvalidBody,
                format!("The signed body is not a vendor event: {why}"),
            ),
            WebhookError::Unavailable(why) => {
                tracing::warn!(error = %why, "a vendor webhook could not be processed now");
                ApiError::new(
                    ErrorCode::VendorUnavailable,
                    "The check's result could not be read from the vendor now; deliver the event again later.",
                )
            }
            WebhookError::Internal(why) => ApiError::internal(anyhow::anyhow!(why)),
        }
    }
}

/// Receives an event from the document and liveness vendor (modelled on
/// Onfido v3.6 webhooks). The `X-SHA2-Signature` header is the hex
/// HMAC-SHA256 of the raw body with the shared webhook secret, compared in
/// constant time; the body must be sent exactly as signed. The signed body
/// carries `payload.event_id` and `payload.created_at_iso8601`: an event
/// outside the time window is refused, and an event id seen before is
/// acknowledged without a second effect. For `check.completed` the gateway
/// reads the result from the vendor's API and ends the check once; events
/// for unknown or ended checks change nothing and are logged. Answers 404
/// when no vendor is configured.
#[utoipa::path(
    post,
    path = "/v1/webhooks/vendor",
    tag = "webhooks",
    params(
        ("X-SHA2-Signature" = String, Header, description = "Hex HMAC-SHA256 of the raw body with the webhook secret"),
    ),
    request_body(content = Object, content_type = "application/json", description = "`{\"payload\": {\"event_id\", \"created_at_iso8601\", \"resource_type\": \"check\", \"action\": \"check.completed\", \"object\": {\"id\", …}}}`"),
    responses(
        (status = 200, description = "Accepted; what was done", body = WebhookAck),
        (status = 401, description = "Bad signature, or outside the time window", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No vendor is configured", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Signed, but not a vendor event", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The result cannot be read from the vendor now; deliver again later", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive_vendor_webhook(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<Json<WebhookAck>, ApiError> {
    let Some(vendor) = &state.vendor else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "No document and liveness vendor is configured.",
        ));
    };
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let outcome: WebhookOutcome = vendor.webhook(&state.checks, signature, &body).await?;
    Ok(Json(WebhookAck {
        status: outcome.as_str().to_owned(),
    }))
}
