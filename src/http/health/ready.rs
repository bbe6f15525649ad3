//! `GET /readyz`: the gateway can take traffic (its database answers).

use actix_web::{HttpResponse, web};

use super::live::HealthStatus;
use crate::http::errors::{ApiError, ErrorCode, Problem};
use crate::startup::AppState;

/// Readiness: 200 while the database answers, 503 problem+json while it does
/// not. Recovers by itself when the database comes back.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic", body = HealthStatus),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn get_readiness(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(HealthStatus { status: "ok" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::new(
                ErrorCode::NotReady,
                "The database is not reachable.",
            ))
        }
    }
}
