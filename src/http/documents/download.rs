//! `GET /v1/applications/{id}/documents/{document_id}/content`.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Role;
use crate::http::applications::caller;
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::startup::AppState;

/// Downloads a document for an officer or senior officer: decrypted while it
/// streams, as an attachment under a server-chosen name, never sniffed by the
/// browser. Every download is recorded in the audit log. The stored blob is
/// authenticated in full before the first byte is sent, so a damaged blob
/// is a 500 `document_integrity_failed`, never a partial file.
#[utoipa::path(
    get,
    path = "/v1/applications/{id}/documents/{document_id}/content",
    tag = "documents",
    params(
        ("id" = String, Path, description = "Application id"),
        ("document_id" = String, Path, description = "Document id"),
    ),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The document's bytes", content_type = "application/octet-stream"),
        (status = 401, description = "Not authenticated", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application or document", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 500, description = "The stored document failed its integrity check", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download_document(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Officer, Role::SeniorOfficer])?;
    let (application_id, document_id) = path.into_inner();
    let caller = caller(&req, &principal);
    let (doc, body) = state
        .documents
        .download(&caller, &application_id, &document_id)
        .await?;
    let name = format!("{}.{}", doc.id, doc.content_type.extension());
    Ok(HttpResponse::Ok()
        .content_type(doc.content_type.mime())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .no_chunking(u64::try_from(doc.size_bytes).unwrap_or(0))
        .streaming(body))
}
