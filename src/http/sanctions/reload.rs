//! `POST /v1/admin/sanctions/reload`: reload the lists now.

use actix_web::HttpRequest;
use actix_web::web::{self, Json};

use super::ListsView;
use crate::auth::{RateAction, Role};
use crate::checks::screening::ReloadTrigger;
use crate::http::applications::caller;
use crate::http::auth::{Authenticator, Principal};
use crate::http::errors::ApiError;
use crate::startup::AppState;

/// Reads every configured list's files now, for an admin. A list whose files
/// changed is validated and, if it passes, replaces the active version without
/// disturbing screenings in flight; a version that cannot be read or fails
/// validation is refused and the active version stays. Answers with every list's
/// state and this reload's outcome; the reload is recorded in the audit log.
/// Repeating it is harmless: unchanged files are `unchanged`.
#[utoipa::path(
    post,
    path = "/v1/admin/sanctions/reload",
    tag = "screening",
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The lists after the reload, with its outcome per list", body = ListsView),
        (status = 403, description = "Not an admin", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many staff actions", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reload_sanctions_lists(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<Json<ListsView>, ApiError> {
    principal.require_any(&[Role::Admin])?;
    if let Some(auth) = req.app_data::<web::Data<Authenticator>>() {
        auth.limit_action(&req, &principal, RateAction::StaffAction)?;
    }
    let caller = caller(&req, &principal);
    let lists = state
        .sanctions
        .reload(ReloadTrigger::Admin, Some(&caller))
        .await?;
    Ok(Json(lists.into()))
}
