//! `GET /v1/audit/events`: filtered, cursor-paged listing for auditors.

use actix_web::web::{self, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::get_checkpoint::rfc3339;
use super::{AUDITORS, b64};
use crate::audit::AuditQuery;
use crate::audit::entry::AuditEvent;
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode};
use crate::startup::AppState;

/// Largest page.
const MAX_LIMIT: u32 = 500;

/// Filters; all optional, combined with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Events before this time (RFC 3339).
    pub to: Option<String>,
    /// Exact action, e.g. `application.created`.
    pub action: Option<String>,
    /// Target type, e.g. `application`.
    pub target_type: Option<String>,
    /// Pseudonymous target id.
    pub target_id: Option<String>,
    /// Pseudonymous actor id.
    pub actor_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// One entry of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Leaf index in the Merkle tree.
    pub index: u64,
    /// The exact stored bytes (canonical JSON), standard base64: hash these.
    pub entry_b64: String,
    /// The same entry, decoded.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
    /// Event time (RFC 3339, UTC).
    pub time: String,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    /// Events in index order.
    pub events: Vec<EventView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_micros())
                .map_err(|_| {
                    ApiError::new(
                        ErrorCode::InvalidQuery,
                        format!("`{name}` must be an RFC 3339 time"),
                    )
                })
        })
        .transpose()
}

fn bounded(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.is_empty() || v.len() > 200 => Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("`{name}` must be 1 to 200 characters"),
        )),
        other => Ok(other),
    }
}

/// Lists audit events by time range, action, target and actor, in log order,
/// with cursor paging. Ids are pseudonymous; entries hold no personal data.
#[utoipa::path(
    get,
    path = "/v1/audit/events",
    tag = "audit",
    params(EventsQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "A page of events", body = EventsPage),
        (status = 400, description = "Bad filter", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_events(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    principal.require_any(AUDITORS)?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("`limit` must be 1 to {MAX_LIMIT}"),
        ));
    }
    let after_index = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<u64>().map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    "`cursor` is not a cursor from this API",
                )
            })
        })
        .transpose()?;
    let query = AuditQuery {
        from_time_us: time_param("from", q.from.as_deref())?,
        to_time_us: time_param("to", q.to.as_deref())?,
        action: bounded("action", q.action)?,
        target_kind: bounded("target_type", q.target_type)?,
        target_id: bounded("target_id", q.target_id)?,
        actor_id: bounded("actor_id", q.actor_id)?,
        after_index,
        limit: limit + 1,
    };
    let mut rows = state.audit.store().audit_find(&query).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| r.index.to_string())
    } else {
        None
    };
    let events = rows
        .into_iter()
        .map(|row| {
            let decoded = AuditEvent::decode(&row.entry).map_err(ApiError::internal)?;
            Ok(EventView {
                index: row.index,
                time: rfc3339(decoded.time_us),
                entry: serde_json::to_value(&decoded).map_err(ApiError::internal)?,
                entry_b64: b64(&row.entry),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(EventsPage {
        events,
        next_cursor,
    }))
}
