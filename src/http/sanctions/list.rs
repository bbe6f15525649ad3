//! `GET /v1/sanctions/lists`: the configured lists and their state.

use actix_web::web::{self, Json};

use super::ListsView;
use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::startup::AppState;

/// Who may see the lists' state.
const READERS: &[Role] = &[
    Role::Officer,
    Role::SeniorOfficer,
    Role::Auditor,
    Role::Admin,
];

/// Every configured sanctions list: the version screenings use now (name,
/// publication date, entry count, SHA-256) and the latest reload, including a
/// refused version and why it was refused, with its bad records by file and line.
#[utoipa::path(
    get,
    path = "/v1/sanctions/lists",
    tag = "screening",
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The configured lists", body = ListsView),
        (status = 403, description = "Not staff", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_sanctions_lists(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<Json<ListsView>, ApiError> {
    principal.require_any(READERS)?;
    Ok(Json(state.sanctions.status().into()))
}
