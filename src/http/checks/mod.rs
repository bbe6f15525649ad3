//! `GET /v1/applications/{id}/checks`: the KYC checks of an application.
//! The applicant sees only whether each check is still running; telling an
//! applicant that they matched a sanctions list would tip them off (EU AMLD
//! (EU) 2015/849 Art. 39), so outcomes, reasons and evidence are for staff.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::checks::pipeline::{CheckError, CheckRecord};
use crate::domain::check::{CheckKind, CheckState};
use crate::http::applications::{STAFF_READERS, caller};
use crate::http::auth::Principal;
use crate::http::errors::ApiError;
use crate::startup::AppState;

impl From<CheckError> for ApiError {
    fn from(error: CheckError) -> Self {
        match error {
            CheckError::Onboarding(e) => e.into(),
            CheckError::Store(e) => e.into(),
            CheckError::Crypto(e) => ApiError::internal(anyhow::anyhow!("crypto: {e}")),
        }
    }
}

/// One check as the applicant sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckSummary {
    /// What is checked.
    pub kind: CheckKind,
    /// `pending` while it runs, `completed` once it has ended.
    pub status: String,
}

/// One check in full, for staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    /// Check id.
    pub id: String,
    /// Submission round (1, then +1 per resubmission).
    pub round: i64,
    /// What is checked.
    pub kind: CheckKind,
    /// Who checked it.
    pub provider: String,
    /// `pending`, `clear`, `consider`, `fail` or `error`.
    pub state: CheckState,
    /// Stable reason codes (e.g. `mrz_check_digit`, `sanctions_potential_match`).
    pub reason_codes: Vec<String>,
    /// The policy version that required the check.
    pub policy_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC, once ended.
    pub completed_at: Option<String>,
    /// The provider's raw result: MRZ findings, or screening matches with
    /// their explanation and the list versions screened against.
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
}

/// The checks of an application: summaries for its applicant, everything
/// for staff.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CheckList {
    /// For staff.
    Full {
        /// Oldest round first.
        items: Vec<CheckView>,
    },
    /// For the applicant.
    Summary {
        /// Oldest round first.
        items: Vec<CheckSummary>,
    },
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// The staff view of a check.
pub fn view(c: CheckRecord, evidence: Option<serde_json::Value>) -> CheckView {
    CheckView {
        id: c.id,
        round: c.round,
        kind: c.kind,
        provider: c.provider,
        state: c.state,
        reason_codes: c.reason_codes,
        policy_version: c.policy_version,
        created_at: rfc3339(c.created_us),
        completed_at: c.completed_us.map(rfc3339),
        evidence,
    }
}

/// Lists an application's KYC checks. Staff (officers, senior officers,
/// auditors, admins) get every result with its evidence, and the read is
/// audited; the applicant gets only which checks are still running.
#[utoipa::path(
    get,
    path = "/v1/applications/{id}/checks",
    tag = "checks",
    params(("id" = String, Path, description = "Application id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The checks", body = CheckList),
        (status = 401, description = "Not authenticated", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not admitted", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_checks(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut admitted = vec![Role::Applicant];
    admitted.extend_from_slice(STAFF_READERS);
    principal.require_any(&admitted)?;
    let caller = caller(&req, &principal);
    let staff = caller.is_staff();
    let (_, checks) = state.checks.list(&caller, &id).await?;
    let body = if staff {
        CheckList::Full {
            items: checks.into_iter().map(|(c, e)| view(c, e)).collect(),
        }
    } else {
        CheckList::Summary {
            items: checks
                .into_iter()
                .map(|(c, _)| CheckSummary {
                    kind: c.kind,
                    status: if c.state.is_final() {
                        "completed".to_owned()
                    } else {
                        "pending".to_owned()
                    },
                })
                .collect(),
        }
    };
    Ok(HttpResponse::Ok().json(body))
}
