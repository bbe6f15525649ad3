//! `GET /v1/applications/{id}/documents`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::DocumentView;
use crate::auth::Role;
use crate::http::applications::{STAFF_READERS, caller};
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::startup::AppState;

/// An application's documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    /// Oldest first; replaced documents stay listed with `superseded_by`.
    pub items: Vec<DocumentView>,
}

/// Lists an application's documents (metadata only) for its applicant or for staff.
#[utoipa::path(
    get,
    path = "/v1/applications/{id}/documents",
    tag = "documents",
    params(("id" = String, Path, description = "Application id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The documents", body = DocumentList),
        (status = 401, description = "Not authenticated", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_documents(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut admitted = vec![Role::Applicant];
    admitted.extend_from_slice(STAFF_READERS);
    principal.require_any(&admitted)?;
    let caller = caller(&req, &principal);
    let docs = state.documents.list(&caller, &id).await?;
    Ok(HttpResponse::Ok().json(DocumentList {
        items: docs
            .iter()
            .map(|(d, name)| DocumentView::new(d, name.clone()))
            .collect(),
    }))
}
