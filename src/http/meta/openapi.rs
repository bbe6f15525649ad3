//! `GET /openapi.json`: the OpenAPI 3.1 document generated from the handlers.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use crate::http::ApiDoc;

/// The OpenAPI 3.1 description of this API (the same as `openapi/openapi.json`).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
