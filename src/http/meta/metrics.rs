//! `GET /metrics`: Prometheus text exposition.

use actix_web::{HttpResponse, web};

use crate::http::errors::ApiError;
use crate::startup::AppState;

/// Prometheus metrics of this replica (requests, latency, and the onboarding
/// funnel as features land).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus/OpenMetrics text", body = String, content_type = "application/openmetrics-text"))
)]
pub async fn get_metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state.metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body))
}
