//! `GET /v1/applications`: staff listing with filters and cursor paging.

use actix_web::web::{self, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApplicationSummary, STAFF_READERS};
use crate::domain::application_state::ApplicationState;
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode};
use crate::onboarding::ApplicationFilter;
use crate::startup::AppState;

/// Largest page.
const MAX_LIMIT: u32 = 100;

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only applications in this state.
    pub state: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<u32>,
}

/// A page of applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationPage {
    /// Applications, oldest first.
    pub applications: Vec<ApplicationSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists applications for staff, oldest first, without identity data.
#[utoipa::path(
    get,
    path = "/v1/applications",
    tag = "applications",
    params(ListQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "A page", body = ApplicationPage),
        (status = 400, description = "Bad filter", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_applications(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<Json<ApplicationPage>, ApiError> {
    principal.require_any(STAFF_READERS)?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("`limit` must be 1 to {MAX_LIMIT}"),
        ));
    }
    let app_state = q
        .state
        .as_deref()
        .map(str::parse::<ApplicationState>)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e))?;
    if let Some(c) = &q.cursor
        && uuid::Uuid::parse_str(c).is_err()
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "`cursor` is not a cursor from this API",
        ));
    }
    if q.product.as_ref().is_some_and(|p| p.len() > 64) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "`product` is too long",
        ));
    }
    let mut rows = state
        .onboarding
        .list(&ApplicationFilter {
            state: app_state,
            product: q.product,
            after_id: q.cursor,
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(ApplicationPage {
        next_cursor: if more {
            rows.last().map(|a| a.id.clone())
        } else {
            None
        },
        applications: rows.iter().map(ApplicationSummary::from).collect(),
    }))
}
