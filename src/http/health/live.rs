//! `GET /livez`: the process is up and serving.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// The probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`, or `unavailable` with a reason.
    pub status: &'static str,
}

/// Liveness: answers as long as the server can serve a request. It does not
/// look at the database, so a database outage does not restart replicas.
#[utoipa::path(
    get,
    path = "/livez",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthStatus))
)]
pub async fn get_liveness() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}
