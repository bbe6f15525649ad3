//! `GET /v1/audit/export`: the self-contained bundle, streamed as NDJSON
//! without holding the log in memory. The export itself is audited.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AUDITORS;
use crate::audit::entry::Target;
use crate::audit::export::export_bundle;
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode};
use crate::http::middleware::RequestContext;
use crate::startup::AppState;

/// The range to export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// First entry index (default 0).
    pub from: Option<u64>,
    /// One past the last entry index (default: the newest checkpoint's size).
    pub to: Option<u64>,
}

/// Streams an export bundle (entries, checkpoints, the log key, manifest) as
/// `application/x-ndjson`. Check it offline with `kyc-gateway audit verify`.
#[utoipa::path(
    get,
    path = "/v1/audit/export",
    tag = "audit",
    params(ExportQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The bundle, one JSON object per line", content_type = "application/x-ndjson"),
        (status = 400, description = "Range outside the checkpointed log", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_audit_log(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(AUDITORS)?;
    if let Some(auth) = req.app_data::<web::Data<crate::http::auth::Authenticator>>() {
        auth.limit_action(&req, &principal, crate::auth::RateAction::AuditExport)?;
    }
    let log = std::sync::Arc::clone(&state.audit);
    // Validate the range before the 200 goes out: afterwards only a broken
    // stream could report an error.
    let checkpoint = log
        .latest_checkpoint()
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "The log has no checkpoint yet."))?;
    let (from, to) = (
        query.from.unwrap_or(0),
        query.to.unwrap_or(checkpoint.tree_size),
    );
    if from > to || to > checkpoint.tree_size {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!(
                "range [{from}, {to}) is not inside the checkpointed tree of size {}",
                checkpoint.tree_size
            ),
        ));
    }
    let ctx = req.extensions().get::<RequestContext>().cloned();
    let mut event = log.event(
        "audit.exported",
        log.subject_actor(
            "auditor",
            principal.subject(),
            principal.binding().as_str(),
            principal.client_id(),
        ),
        "success",
        ctx.as_ref()
            .and_then(|c| c.client_ip)
            .map(|ip| ip.to_string()),
    );
    event.target = Some(Target {
        kind: "audit_range".to_owned(),
        id: format!("{from}-{to}@{}", checkpoint.tree_size),
        state_before: None,
        state_after: None,
    });
    event.request_id = ctx.as_ref().map(|c| c.request_id.clone());
    event.trace_id = ctx.map(|c| c.trace_id);
    // The sensitive read is on record before any byte leaves.
    log.record(&[event]).await?;

    let (mut tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    actix_web::rt::spawn(async move {
        if let Err(error) = export_bundle(&log, Some(from), Some(to), &mut tx).await {
            tracing::error!(%error, "audit export failed mid-stream");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|item| (item.map(actix_web::web::Bytes::from), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"audit-bundle.ndjson\"",
        ))
        .streaming(body))
}
