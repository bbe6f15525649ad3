//! The exceptions queue for compliance officers: `/v1/review/cases…`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Role;
use crate::http::applications::{body_bytes, caller, idempotency, parse_json, replay};
use crate::http::auth::Principal;
use crate::http::checks::CheckView;
use crate::http::errors::{ApiError, ErrorCode, FieldError};
use crate::review::store::{CaseFilter, CaseRecord};
use crate::review::{Action, DecisionInput, DecisionOutcome, ReviewError};
use crate::startup::AppState;

const REVIEWERS: &[Role] = &[Role::Officer, Role::SeniorOfficer];
/// Largest decision or note body.
const MAX_BODY: usize = 16 * 1024;

impl From<ReviewError> for ApiError {
    fn from(error: ReviewError) -> Self {
        match error {
            ReviewError::NotFound => ApiError::new(ErrorCode::NotFound, "No such case."),
            ReviewError::Forbidden(why) => ApiError::new(ErrorCode::Forbidden, why),
            ReviewError::NotClaimed => ApiError::new(
                ErrorCode::CaseNotClaimed,
                "Claim the case (POST …/claim) before deciding or releasing it.",
            ),
            ReviewError::ClaimedByOther(until) => ApiError::new(
                ErrorCode::CaseClaimed,
                format!("Another officer holds this case until {until}."),
            ),
            ReviewError::Closed => ApiError::new(
                ErrorCode::CaseClosed,
                "The case is not in the queue: it was decided, or waits for the applicant.",
            ),
            ReviewError::NoProposal => ApiError::new(
                ErrorCode::NoPendingApproval,
                "No approval of this case waits for confirmation.",
            ),
            ReviewError::EvidenceChanged => ApiError::new(
                ErrorCode::EvidenceChanged,
                "The evidence changed after the approval was proposed, so the proposal was cancelled; review the case again.",
            ),
            ReviewError::Invalid(problems) => ApiError::new(
                ErrorCode::ValidationFailed,
                "Some fields are invalid; nothing was changed.",
            )
            .with_errors(
                problems
                    .into_iter()
                    .map(|(field, code, message)| FieldError {
                        field,
                        code,
                        message,
                    })
                    .collect(),
            ),
            ReviewError::Concurrent => ApiError::new(
                ErrorCode::ConcurrentModification,
                "The case changed at the same time (another decision or claim won); reload it.",
            ),
            ReviewError::Onboarding(e) => e.into(),
            ReviewError::Checks(e) => e.into(),
            ReviewError::Store(e) => e.into(),
            ReviewError::Audit(e) => e.into(),
            ReviewError::Crypto(e) => ApiError::internal(anyhow::anyhow!("crypto: {e}")),
        }
    }
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// A case in the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    /// Case id.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// Submission round under review.
    pub round: i64,
    /// `open` or `closed`.
    pub state: String,
    /// 1 is the most urgent (an overdue case counts one more urgent in the queue).
    pub priority: i64,
    /// Why a person must look at it.
    pub reason_codes: Vec<String>,
    /// Approval needs two senior officers.
    pub high_risk: bool,
    /// SLA due (RFC 3339).
    pub sla_due_at: String,
    /// Past its SLA.
    pub overdue: bool,
    /// Pseudonymous id of the officer holding the claim, while the lease runs.
    pub assignee: Option<String>,
    /// The claim's end (RFC 3339).
    pub claimed_until: Option<String>,
    /// A proposed approval waiting for a second senior officer.
    pub approval_proposed_by: Option<String>,
}

fn summary(c: &CaseRecord, now_us: i64) -> CaseSummary {
    let claimed = c.lease_until_us.is_some_and(|l| l >= now_us);
    CaseSummary {
        id: c.id.clone(),
        application_id: c.application_id.clone(),
        round: c.round,
        state: c.state.clone(),
        priority: c.priority,
        reason_codes: c.reason_codes.clone(),
        high_risk: c.high_risk,
        sla_due_at: rfc3339(c.sla_due_us),
        overdue: c.state == "open" && c.sla_due_us < now_us,
        assignee: if claimed { c.assignee.clone() } else { None },
        claimed_until: if claimed {
            c.lease_until_us.map(rfc3339)
        } else {
            None
        },
        approval_proposed_by: c.proposal_by.clone(),
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Queue filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// Only cases with this reason code.
    pub reason: Option<String>,
    /// `me` (claimed by the caller) or `none` (unclaimed).
    pub assignee: Option<String>,
    /// `true`: only overdue cases; `false`: only cases within their SLA.
    pub overdue: Option<bool>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    pub limit: Option<u32>,
}

/// A page of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    /// Most urgent first, then by SLA due time.
    pub cases: Vec<CaseSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

fn bad_query(field: &str, message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        "Some query parameters are invalid.",
    )
    .with_errors(vec![FieldError {
        field: field.to_owned(),
        code: "invalid".to_owned(),
        message: message.to_owned(),
    }])
}

/// The exceptions queue: open cases, most urgent first (overdue cases one
/// level more urgent), then by SLA due time.
#[utoipa::path(
    get,
    path = "/v1/review/cases",
    tag = "review",
    params(CaseQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "A page of the queue", body = CasePage),
        (status = 403, description = "Not an officer", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_cases(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    let caller = caller(&req, &principal);
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(bad_query("limit", "1 to 100"));
    }
    if let Some(r) = &query.reason
        && (r.is_empty()
            || r.len() > 64
            || !r
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    {
        return Err(bad_query("reason", "a snake_case reason code"));
    }
    let assignee = match query.assignee.as_deref() {
        None => None,
        Some("me") => Some(Some(state.review.staff_id(&caller))),
        Some("none") => Some(None),
        Some(_) => return Err(bad_query("assignee", "`me` or `none`")),
    };
    // The cursor carries the time the first page was read, so every page
    // orders overdue cases the same way (a case turning overdue between
    // pages is neither skipped nor shown twice).
    let (after, now) = match &query.cursor {
        None => (None, state.review.now()),
        Some(c) => {
            let mut parts = c.splitn(4, '.');
            let parsed = (|| {
                let at: i64 = parts.next()?.parse().ok()?;
                let p: i64 = parts.next()?.parse().ok()?;
                let due: i64 = parts.next()?.parse().ok()?;
                let id = parts.next()?;
                uuid::Uuid::parse_str(id).ok()?;
                Some((Some((p, due, id.to_owned())), at))
            })();
            parsed.ok_or_else(|| bad_query("cursor", "use next_cursor as given"))?
        }
    };
    let cases = state
        .review
        .list(
            &caller,
            CaseFilter {
                reason: query.reason.clone(),
                assignee,
                overdue: query.overdue,
                now_us: now,
                after,
                limit: limit + 1,
            },
        )
        .await?;
    let more = cases.len() > limit as usize;
    let page: Vec<&CaseRecord> = cases.iter().take(limit as usize).collect();
    let next_cursor = if more {
        page.last().map(|c| {
            let effective = if c.sla_due_us < now {
                c.priority - 1
            } else {
                c.priority
            };
            format!("{now}.{effective}.{}.{}", c.sla_due_us, c.id)
        })
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(CasePage {
        cases: page.into_iter().map(|c| summary(c, now)).collect(),
        next_cursor,
    }))
}

/// One entry of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// `opened`, `reopened`, `claimed`, `released`, `note`, `proposed`,
    /// `confirmed`, `cancelled`, `decided`.
    pub kind: String,
    /// Round.
    pub round: i64,
    /// `policy`, or the pseudonymous staff id.
    pub actor: String,
    /// The actor's role.
    pub role: Option<String>,
    /// Reason code given.
    pub reason_code: Option<String>,
    /// The note.
    pub note: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

/// A decision on the application.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// `approve`, `review`, `reject`, `request_info`.
    pub outcome: String,
    /// Round decided.
    pub round: i64,
    /// Reason codes.
    pub reason_codes: Vec<String>,
    /// `policy` or the pseudonymous staff id.
    pub decided_by: String,
    /// The confirming senior officer of a four-eyes approval.
    pub confirmed_by: Option<String>,
    /// Policy `id@version`.
    pub policy_version: String,
    /// SHA-256 of the policy file.
    pub policy_sha256: String,
    /// SHA-256 of the evidence decided on.
    pub inputs_sha256: String,
    /// What the applicant was asked for.
    pub request_items: Option<Vec<String>>,
    /// When (RFC 3339).
    pub at: String,
}

/// A consent decision of the applicant.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentEntry {
    /// Purpose.
    pub purpose: String,
    /// Granted or refused.
    pub granted: bool,
    /// Text version shown.
    pub text_version: String,
    /// When (RFC 3339).
    pub recorded_at: String,
}

/// A document's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDocument {
    /// Document id (download with `GET /v1/applications/{id}/documents/{document_id}/content`).
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Side.
    pub side: Option<String>,
    /// Content type.
    pub content_type: String,
    /// SHA-256.
    pub sha256: String,
    /// Replaced by.
    pub superseded_by: Option<String>,
}

/// Everything about a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseSummary,
    /// The application with its identity data (the read is audited).
    pub application: crate::http::applications::get::ApplicationView,
    /// Consent decisions, oldest first.
    pub consents: Vec<ConsentEntry>,
    /// Documents.
    pub documents: Vec<CaseDocument>,
    /// Every check, with its evidence and screening explanations.
    pub checks: Vec<CheckView>,
    /// Every decision.
    pub decisions: Vec<DecisionView>,
    /// The case's history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Re-screenings of an approved customer against new list versions.
    pub rescreenings: Vec<RescreeningView>,
}

/// A re-screening of an approved customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RescreeningView {
    /// Digest of the list versions screened against.
    pub lists_sha256: String,
    /// `list:entry` ids matched.
    pub matched_entries: Vec<String>,
    /// Those never seen before for this customer.
    pub new_matches: Vec<String>,
    /// The screening: list versions and every match with its explanation.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// When (RFC 3339).
    pub at: String,
}

/// A case with all its evidence. Reading it is audited (identity data and
/// check evidence).
#[utoipa::path(
    get,
    path = "/v1/review/cases/{case_id}",
    tag = "review",
    params(("case_id" = String, Path, description = "Case id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 403, description = "Not an officer", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_case(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    case_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    let caller = caller(&req, &principal);
    let v = state.review.view(&caller, &case_id).await?;
    let now = now_us();
    let detail = CaseDetail {
        case: summary(&v.case, now),
        application: crate::http::applications::get::ApplicationView {
            summary: (&v.application).into(),
            identity: Some(v.identity),
            info_requested: None,
        },
        consents: v
            .consents
            .iter()
            .map(|c| ConsentEntry {
                purpose: c.purpose.clone(),
                granted: c.granted,
                text_version: c.text_version.clone(),
                recorded_at: rfc3339(c.recorded_us),
            })
            .collect(),
        documents: v
            .documents
            .iter()
            .map(|d| CaseDocument {
                id: d.id.clone(),
                kind: d.kind.as_str().to_owned(),
                side: d.side.map(|s| s.as_str().to_owned()),
                content_type: d.content_type.mime().to_owned(),
                sha256: d.sha256.clone(),
                superseded_by: d.superseded_by.clone(),
            })
            .collect(),
        checks: v
            .checks
            .into_iter()
            .map(|(c, e)| crate::http::checks::view(c, e))
            .collect(),
        decisions: v
            .decisions
            .into_iter()
            .map(|d| DecisionView {
                outcome: d.outcome,
                round: d.round,
                reason_codes: d.reason_codes,
                decided_by: d.decided_by,
                confirmed_by: d.confirmed_by,
                policy_version: d.policy_version,
                policy_sha256: d.policy_sha256,
                inputs_sha256: d.inputs_sha256,
                request_items: d.request_items,
                at: rfc3339(d.created_us),
            })
            .collect(),
        rescreenings: v
            .rescreenings
            .into_iter()
            .map(|(r, evidence)| RescreeningView {
                lists_sha256: r.lists_sha256,
                matched_entries: r.matched_entries,
                new_matches: r.new_matches,
                evidence,
                at: rfc3339(r.created_us),
            })
            .collect(),
        history: v
            .history
            .into_iter()
            .map(|(e, note)| HistoryEntry {
                kind: e.kind,
                round: e.round,
                actor: e.actor,
                role: e.role,
                reason_code: e.reason_code,
                note,
                at: rfc3339(e.created_us),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(detail))
}

/// Claims a case for this officer with a lease (claiming again renews it).
#[utoipa::path(
    post,
    path = "/v1/review/cases/{case_id}/claim",
    tag = "review",
    params(("case_id" = String, Path, description = "Case id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "Claimed", body = CaseSummary),
        (status = 409, description = "Claimed by another officer, or closed", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn claim_case(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    case_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    let caller = caller(&req, &principal);
    let case = state.review.claim(&caller, &case_id).await?;
    Ok(HttpResponse::Ok().json(summary(&case, now_us())))
}

/// Gives a claimed case back to the queue.
#[utoipa::path(
    post,
    path = "/v1/review/cases/{case_id}/release",
    tag = "review",
    params(("case_id" = String, Path, description = "Case id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "Released", body = CaseSummary),
        (status = 409, description = "Not claimed by the caller", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn release_case(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    case_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    let caller = caller(&req, &principal);
    let case = state.review.release(&caller, &case_id).await?;
    Ok(HttpResponse::Ok().json(summary(&case, now_us())))
}

/// A note for the case's history.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// 1 to 2000 characters.
    pub note: String,
}

/// Adds a note to a case (append-only; notes are staff-only and encrypted at rest).
#[utoipa::path(
    post,
    path = "/v1/review/cases/{case_id}/notes",
    tag = "review",
    params(
        ("case_id" = String, Path, description = "Case id"),
        ("Idempotency-Key" = String, Header, description = "Unique per intended note"),
    ),
    request_body = NoteRequest,
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 201, description = "Added", body = HistoryEntry),
        (status = 422, description = "Invalid note", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_note(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    case_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    bounded(&body)?;
    let (key, hash) = idempotency(&req, &[case_id.as_bytes(), b"\nnote\n", &body[..]].concat())?;
    let caller = caller(&req, &principal);
    if let Some(stored) = state
        .onboarding
        .idempotent_replay(&caller, &key, &hash)
        .await?
    {
        return Ok(replay(stored));
    }
    let request: NoteRequest = parse_json(&req, &body)?;
    let onboarding = &state.onboarding;
    let mut response = Vec::new();
    state
        .review
        .note(&caller, &case_id, &request.note, |e| {
            let entry = HistoryEntry {
                kind: e.kind.clone(),
                round: e.round,
                actor: e.actor.clone(),
                role: e.role.clone(),
                reason_code: None,
                note: Some(request.note.clone()),
                at: rfc3339(e.created_us),
            };
            response = body_bytes(&entry).ok()?;
            Some(onboarding.idempotency(&caller, &key, &hash, 201, response.clone()))
        })
        .await?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(response))
}

fn bounded(body: &[u8]) -> Result<(), ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The body is over {MAX_BODY} bytes."),
        ));
    }
    Ok(())
}

/// An officer's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `reject` or `request_info`.
    pub action: Action,
    /// A reason code from the policy's list for the action.
    pub reason_code: String,
    /// Why (1 to 2000 characters; staff only).
    pub note: String,
    /// For `request_info`: what the applicant must add (1 to 10 items).
    #[serde(default)]
    pub items: Vec<String>,
}

/// The result of a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionResult {
    /// `decided`, or `pending_confirmation` for a high-risk approval that a
    /// second senior officer must confirm.
    pub status: String,
    /// The application's state after it.
    pub application_state: Option<String>,
}

fn decision_body(outcome: &DecisionOutcome) -> (StatusCode, DecisionResult) {
    match outcome {
        DecisionOutcome::Decided(s) => (
            StatusCode::OK,
            DecisionResult {
                status: "decided".to_owned(),
                application_state: Some(s.as_str().to_owned()),
            },
        ),
        DecisionOutcome::Proposed => (
            StatusCode::ACCEPTED,
            DecisionResult {
                status: "pending_confirmation".to_owned(),
                application_state: None,
            },
        ),
    }
}

async fn decided(
    state: &AppState,
    caller: &crate::onboarding::Caller,
    key: &str,
    hash: &str,
    result: impl std::future::Future<Output = Result<DecisionOutcome, ReviewError>>,
) -> Result<HttpResponse, ApiError> {
    match result.await {
        Ok(outcome) => {
            let (status, body) = decision_body(&outcome);
            Ok(HttpResponse::build(status).json(body))
        }
        Err(e) => match state
            .onboarding
            .idempotent_replay(caller, key, hash)
            .await?
        {
            Some(stored) => Ok(replay(stored)),
            None => Err(e.into()),
        },
    }
}

/// Decides a claimed case: approve, reject or request information, with a
/// reason code from the policy and a note. A high-risk approval by a senior
/// officer is a proposal (202) until a different senior officer confirms.
#[utoipa::path(
    post,
    path = "/v1/review/cases/{case_id}/decision",
    tag = "review",
    params(
        ("case_id" = String, Path, description = "Case id"),
        ("Idempotency-Key" = String, Header, description = "Unique per intended decision"),
    ),
    request_body = DecisionRequest,
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "Decided", body = DecisionResult),
        (status = 202, description = "High-risk approval proposed; a second senior officer must confirm", body = DecisionResult),
        (status = 403, description = "Role not allowed for this decision", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not claimed, closed, or decided concurrently", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason code, note or items", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn decide_case(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    case_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    bounded(&body)?;
    if let Some(auth) = req.app_data::<web::Data<crate::http::auth::Authenticator>>() {
        auth.limit_action(&req, &principal, crate::auth::RateAction::StaffAction)?;
    }
    let (key, hash) = idempotency(
        &req,
        &[case_id.as_bytes(), b"\ndecision\n", &body[..]].concat(),
    )?;
    let caller = caller(&req, &principal);
    if let Some(stored) = state
        .onboarding
        .idempotent_replay(&caller, &key, &hash)
        .await?
    {
        return Ok(replay(stored));
    }
    let request: DecisionRequest = parse_json(&req, &body)?;
    let input = DecisionInput {
        action: request.action,
        reason_code: request.reason_code,
        note: request.note,
        items: request.items,
    };
    let onboarding = &state.onboarding;
    let result = state.review.decide(&caller, &case_id, &input, |outcome| {
        let (status, body) = decision_body(outcome);
        let bytes = body_bytes(&body).ok()?;
        Some(onboarding.idempotency(&caller, &key, &hash, status.as_u16(), bytes))
    });
    decided(&state, &caller, &key, &hash, result).await
}

/// A confirmation of a proposed approval.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// Why (1 to 2000 characters).
    pub note: String,
}

/// A second, different senior officer confirms a proposed high-risk
/// approval. Changed evidence cancels the proposal (409).
#[utoipa::path(
    post,
    path = "/v1/review/cases/{case_id}/confirm",
    tag = "review",
    params(
        ("case_id" = String, Path, description = "Case id"),
        ("Idempotency-Key" = String, Header, description = "Unique per intended confirmation"),
    ),
    request_body = ConfirmRequest,
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "Approved", body = DecisionResult),
        (status = 403, description = "Not a senior officer, or the proposer", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to confirm, or the evidence changed", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_case(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    case_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(REVIEWERS)?;
    bounded(&body)?;
    if let Some(auth) = req.app_data::<web::Data<crate::http::auth::Authenticator>>() {
        auth.limit_action(&req, &principal, crate::auth::RateAction::StaffAction)?;
    }
    let (key, hash) = idempotency(
        &req,
        &[case_id.as_bytes(), b"\nconfirm\n", &body[..]].concat(),
    )?;
    let caller = caller(&req, &principal);
    if let Some(stored) = state
        .onboarding
        .idempotent_replay(&caller, &key, &hash)
        .await?
    {
        return Ok(replay(stored));
    }
    let request: ConfirmRequest = parse_json(&req, &body)?;
    let onboarding = &state.onboarding;
    let result = state
        .review
        .confirm(&caller, &case_id, &request.note, |outcome| {
            let (status, body) = decision_body(outcome);
            let bytes = body_bytes(&body).ok()?;
            Some(onboarding.idempotency(&caller, &key, &hash, status.as_u16(), bytes))
        });
    decided(&state, &caller, &key, &hash, result).await
}

impl From<crate::review::handoff::HandoffError> for ApiError {
    fn from(error: crate::review::handoff::HandoffError) -> Self {
        use crate::review::handoff::HandoffError as E;
        match error {
            E::NotFound => ApiError::new(ErrorCode::NotFound, "No such event."),
            E::NotFailed => ApiError::new(
                ErrorCode::InvalidTransition,
                "Only an event whose delivery failed can be replayed.",
            ),
            E::Store(e) => e.into(),
            E::Audit(e) => e.into(),
            E::Crypto(e) | E::Secret(e) => ApiError::internal(anyhow::anyhow!("handoff: {e}")),
        }
    }
}

/// An event for the bank's downstream systems, as admins see it (no body:
/// it holds personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxView {
    /// Event id (the `webhook-id`).
    pub id: String,
    /// The application.
    pub application_id: String,
    /// `application.approved`, `application.rejected`, `application.info_requested`.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Delivered (RFC 3339).
    pub delivered_at: Option<String>,
}

fn outbox_view(e: &crate::review::handoff::OutboxRecord) -> OutboxView {
    OutboxView {
        id: e.id.clone(),
        application_id: e.application_id.clone(),
        event_type: e.event_type.clone(),
        state: e.state.clone(),
        attempts: e.attempts,
        last_error: e.last_error.clone(),
        created_at: rfc3339(e.created_us),
        delivered_at: e.delivered_us.map(rfc3339),
    }
}

/// Hand-off event filter.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `delivered` or `failed` (default `failed`).
    pub state: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<u32>,
}

/// Events waiting for, done with, or given up on delivery downstream.
#[utoipa::path(
    get,
    path = "/v1/admin/handoff/events",
    tag = "review",
    params(OutboxQuery),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "Events, oldest first", body = Vec<OutboxView>),
        (status = 403, description = "Not an admin", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_handoff_events(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Admin])?;
    let wanted = query.state.as_deref().unwrap_or("failed");
    if !["pending", "delivered", "failed"].contains(&wanted) {
        return Err(bad_query("state", "pending, delivered or failed"));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(bad_query("limit", "1 to 100"));
    }
    let events = state.handoff.list(wanted, limit).await?;
    Ok(HttpResponse::Ok().json(events.iter().map(outbox_view).collect::<Vec<_>>()))
}

/// Puts a failed event back in line for delivery (attempts start again).
#[utoipa::path(
    post,
    path = "/v1/admin/handoff/events/{event_id}/replay",
    tag = "review",
    params(("event_id" = String, Path, description = "Event id")),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "Queued again", body = OutboxView),
        (status = 403, description = "Not an admin", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event has not failed", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replay_handoff_event(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Admin])?;
    let caller = caller(&req, &principal);
    let event = state.handoff.replay(&caller, &event_id).await?;
    Ok(HttpResponse::Ok().json(outbox_view(&event)))
}
