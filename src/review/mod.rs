//! Decisions, the exceptions queue and four-eyes approval (DESIGN.md
//! "Decisions, review and hand-off").
//!
//! When every check of an application's latest round has ended, the policy
//! decides: approve when every check is clear, reject when a check failed
//! on the evidence and the policy says so, otherwise review with the reasons
//! (potential sanctions matches, MRZ findings, provider errors, high-risk
//! jurisdictions, the review-all switch). A decision records the policy
//! version and hash and a digest of the check results it was made on.
//!
//! A case in review is claimed by an officer with a lease that runs out if
//! they walk away. Officers approve, reject or request information, always
//! with a reason code from the policy and a note. Approving a high-risk
//! case takes two different senior officers: one proposes, another
//! confirms; changed evidence cancels the proposal. Every change is one
//! transaction with its history entry, its audit entry and, for decisions,
//! the outbox event for the bank's downstream systems.

pub mod handoff;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use self::store::{
    CaseEvent, CaseFilter, CaseRecord, CaseWrite, DecisionRecord, OutboxEvent, ReviewWrite,
};
use crate::audit::AuditLog;
use crate::audit::entry::Target;
use crate::audit::log::encode_all;
use crate::auth::Role;
use crate::checks::pipeline::{CheckRecord, Checks};
use crate::domain::application_state::{ApplicationState, Transition};
use crate::domain::check::CheckState;
use crate::domain::clock::Clock;
use crate::domain::country::CountryCode;
use crate::onboarding::identity::Identity;
use crate::onboarding::{
    ApplicationRecord, Caller, ConsentRecord, IdempotencyWrite, Onboarding, OnboardingError,
    StateChange,
};
use crate::policy::Policy;
use crate::store::{Store, StoreError};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most items one request for information may name.
pub const MAX_REQUEST_ITEMS: usize = 10;
/// Longest request item, in characters.
pub const MAX_ITEM_CHARS: usize = 200;

/// What can go wrong in review.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No such case (or application).
    #[error("not found")]
    NotFound,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The case is not claimed by the caller.
    #[error("claim the case first")]
    NotClaimed,
    /// Another officer holds the claim.
    #[error("the case is claimed by another officer until {0}")]
    ClaimedByOther(String),
    /// The case is not in the queue.
    #[error("the case is closed")]
    Closed,
    /// No approval waits for confirmation.
    #[error("no approval is waiting for confirmation")]
    NoProposal,
    /// The evidence changed since the approval was proposed; it is cancelled.
    #[error("the evidence changed since the approval was proposed; the proposal is cancelled")]
    EvidenceChanged,
    /// Invalid input; every bad field is listed.
    #[error("validation failed")]
    Invalid(Vec<(String, String, String)>),
    /// Someone changed the case or application at the same time.
    #[error("changed concurrently")]
    Concurrent,
    /// From the application use cases.
    #[error(transparent)]
    Onboarding(#[from] OnboardingError),
    /// From the checks use cases.
    #[error(transparent)]
    Checks(#[from] crate::checks::pipeline::CheckError),
    /// Storage.
    #[error(transparent)]
    Store(StoreError),
    /// Encryption.
    #[error("crypto: {0}")]
    Crypto(String),
    /// Audit encoding.
    #[error(transparent)]
    Audit(#[from] crate::audit::log::AuditError),
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => Self::Concurrent,
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

fn crypto(e: impl std::fmt::Display) -> ReviewError {
    ReviewError::Crypto(e.to_string())
}

/// What an officer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Approve (a high-risk case: propose, for a second senior officer).
    Approve,
    /// Reject.
    Reject,
    /// Send back to the applicant for more information.
    RequestInfo,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::RequestInfo => "request_info",
        }
    }
}

/// An officer's decision as requested.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    /// What.
    pub action: Action,
    /// Reason code from the policy's list for the action.
    pub reason_code: String,
    /// Why, in words (staff only; sealed at rest).
    pub note: String,
    /// For `request_info`: what the applicant must add.
    pub items: Vec<String>,
}

/// How an officer's decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// Decided; the application moved on.
    Decided(ApplicationState),
    /// A high-risk approval waits for a second senior officer.
    Proposed,
}

/// Everything an officer needs to decide a case.
#[derive(Debug)]
pub struct CaseView {
    /// The case.
    pub case: CaseRecord,
    /// The application.
    pub application: ApplicationRecord,
    /// Its identity data (the read is audited).
    pub identity: Identity,
    /// Its consent records.
    pub consents: Vec<ConsentRecord>,
    /// Its documents (metadata).
    pub documents: Vec<crate::documents::DocumentRecord>,
    /// Every check with its evidence.
    pub checks: Vec<(CheckRecord, Option<serde_json::Value>)>,
    /// Every decision.
    pub decisions: Vec<DecisionRecord>,
    /// The history, notes opened.
    pub history: Vec<(CaseEvent, Option<String>)>,
    /// Re-screenings of the approved customer, with their screening.
    pub rescreenings: Vec<(self::store::RescreeningRecord, serde_json::Value)>,
}

/// Review settings.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    /// How long a claim lasts without activity.
    pub claim_lease: Duration,
}

/// The review use cases.
pub struct Review {
    store: Arc<dyn Store>,
    onboarding: Arc<Onboarding>,
    checks: Arc<Checks>,
    audit: Arc<AuditLog>,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    settings: ReviewSettings,
    metrics: Arc<crate::telemetry::Metrics>,
    sanctions: Arc<crate::checks::screening::Sanctions>,
}

impl std::fmt::Debug for Review {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Review")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn push_unique(list: &mut Vec<String>, code: &str) {
    if !list.iter().any(|c| c == code) {
        list.push(code.to_owned());
    }
}

/// The sealing context of a case note.
fn note_context(event_id: &str) -> String {
    format!("case_event:{event_id}:note")
}

/// The sealing context of a re-screening's evidence.
fn rescreening_context(id: &str) -> String {
    format!("rescreening:{id}:evidence")
}

/// The sealing context of an outbox payload.
pub fn outbox_context(event_id: &str) -> String {
    format!("outbox:{event_id}:payload")
}

/// An outbox event for `app`: the Standard Webhooks body (`type`,
/// `timestamp`, `data`), sealed with the application's data key.
pub fn sealed_event(
    keyring: &crate::crypto::envelope::Keyring,
    app: &ApplicationRecord,
    event_type: &str,
    data: serde_json::Value,
    created_us: i64,
    dedupe_key: Option<String>,
) -> Result<OutboxEvent, String> {
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "type": event_type,
        "timestamp": chrono::DateTime::from_timestamp_micros(created_us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        "data": data,
    });
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let dek = keyring
        .unwrap_key(&app.dek, &app.id)
        .map_err(|e| e.to_string())?;
    let payload_sealed = dek
        .seal(&bytes, &outbox_context(&id))
        .map_err(|e| e.to_string())?;
    Ok(OutboxEvent {
        id,
        application_id: app.id.clone(),
        event_type: event_type.to_owned(),
        dedupe_key,
        payload_sealed,
        created_us,
    })
}

impl Review {
    /// The use cases over `store`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the use case's collaborators, wired once at start-up"
    )]
    pub fn new(
        store: Arc<dyn Store>,
        onboarding: Arc<Onboarding>,
        checks: Arc<Checks>,
        audit: Arc<AuditLog>,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
        settings: ReviewSettings,
        metrics: Arc<crate::telemetry::Metrics>,
        sanctions: Arc<crate::checks::screening::Sanctions>,
    ) -> Self {
        Self {
            sanctions,
            store,
            onboarding,
            checks,
            audit,
            policy,
            clock,
            settings,
            metrics,
        }
    }

    /// Counts a decision in the metrics.
    fn observe(
        &self,
        decision: &DecisionRecord,
        app: &ApplicationRecord,
        case: Option<&CaseRecord>,
    ) {
        let by = if decision.decided_by == "policy" {
            "policy"
        } else {
            "officer"
        };
        self.metrics
            .decisions
            .get_or_create(&crate::telemetry::DecisionLabels {
                outcome: decision.outcome.clone(),
                by: by.to_owned(),
            })
            .inc();
        for reason in &decision.reason_codes {
            self.metrics
                .decision_reasons
                .get_or_create(&crate::telemetry::ReasonLabels {
                    reason: reason.clone(),
                })
                .inc();
        }
        let seconds = |us: i64| (us.max(0) as f64) / 1e6;
        if decision.outcome == "approve" || decision.outcome == "reject" {
            self.metrics
                .time_to_decision
                .observe(seconds(decision.created_us - app.created_us));
        }
        if let Some(case) = case {
            // Opened (or reopened) when its SLA clock started.
            let opened =
                case.sla_due_us - i64::from(self.policy.decision.sla_hours) * 3_600_000_000;
            self.metrics
                .time_in_queue
                .observe(seconds(decision.created_us - opened));
        }
    }

    /// Refreshes the queue gauges.
    async fn refresh_queue_metrics(&self) -> Result<(), ReviewError> {
        let (open, overdue) = self.store.case_counts(self.now_us()).await?;
        self.metrics.queue_depth.set(open);
        self.metrics.queue_overdue.set(overdue);
        Ok(())
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    /// The review clock's now, UTC µs (queue paging snapshots it).
    pub fn now(&self) -> i64 {
        self.now_us()
    }

    /// The pseudonymous id a staff member is known by in cases.
    pub fn staff_id(&self, caller: &Caller) -> String {
        self.audit.pseudonym("staff", &caller.subject)
    }

    fn staff_role(caller: &Caller) -> &'static str {
        if caller.roles.contains(&Role::SeniorOfficer) {
            "senior_officer"
        } else {
            "officer"
        }
    }

    fn require_reviewer(caller: &Caller) -> Result<(), ReviewError> {
        if caller.roles.contains(&Role::Officer) || caller.roles.contains(&Role::SeniorOfficer) {
            Ok(())
        } else {
            Err(ReviewError::Forbidden(
                "only officers and senior officers work the queue".to_owned(),
            ))
        }
    }

    /// Digest of what a decision rests on: the latest round's check results
    /// and the current documents.
    async fn evidence_digest(
        &self,
        app: &ApplicationRecord,
    ) -> Result<(i64, String, Vec<CheckRecord>), ReviewError> {
        let checks = self.store.check_list(&app.id).await?;
        let round = checks.iter().map(|c| c.round).max().unwrap_or(0);
        let latest: Vec<CheckRecord> = checks.into_iter().filter(|c| c.round == round).collect();
        let mut lines: Vec<String> = latest
            .iter()
            .map(|c| {
                format!(
                    "check {} {} {} {}",
                    c.kind,
                    c.state.as_str(),
                    c.reason_codes.join(","),
                    c.id
                )
            })
            .collect();
        for d in self.store.document_list(&app.id).await? {
            if d.superseded_by.is_none() {
                lines.push(format!("document {} {}", d.id, d.sha256));
            }
        }
        // A re-screening case rests on the latest screening too.
        if let Some(r) = self.store.rescreenings_for(&app.id).await?.last() {
            lines.push(format!(
                "rescreening {} {} {}",
                r.id,
                r.lists_sha256,
                r.matched_entries.join(",")
            ));
        }
        lines.sort();
        Ok((round, sha256_hex(lines.join("\n").as_bytes()), latest))
    }

    fn audit_event(
        &self,
        actor: Option<&Caller>,
        action: &str,
        (target_kind, target_id): (&str, &str),
        (before, after): (Option<&str>, Option<&str>),
        reason: Option<String>,
    ) -> crate::audit::entry::AuditEvent {
        let target = Target {
            kind: target_kind.to_owned(),
            id: self.audit.pseudonym(target_kind, target_id),
            state_before: before.map(str::to_owned),
            state_after: after.map(str::to_owned),
        };
        let mut event = match actor {
            Some(caller) => self.onboarding.caller_event(caller, action, target, None),
            None => {
                let mut e = self
                    .audit
                    .event(action, self.audit.system_actor(), "success", None);
                e.target = Some(target);
                e
            }
        };
        event.outcome.reason_code = reason;
        event.policy_version = Some(self.policy.label());
        event
    }

    /// The downstream event for a decision, sealed with the application's key.
    fn outbox(
        &self,
        app: &ApplicationRecord,
        event_type: &str,
        decision: &DecisionRecord,
        identity: Option<&Identity>,
    ) -> Result<OutboxEvent, ReviewError> {
        let mut data = json!({
            "application_id": app.id,
            "product": app.product,
            "jurisdiction": app.jurisdiction,
            "decision_id": decision.id,
            "reason_codes": decision.reason_codes,
            "policy_version": decision.policy_version,
            "decided_at": chrono::DateTime::from_timestamp_micros(decision.created_us)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        });
        if let Some(items) = &decision.request_items {
            data["requested_items"] = json!(items);
        }
        if let Some(identity) = identity {
            // The approved customer, for the bank's core systems to open the account.
            data["customer"] = serde_json::to_value(identity).map_err(crypto)?;
        }
        sealed_event(
            self.onboarding.keyring(),
            app,
            event_type,
            data,
            decision.created_us,
            None,
        )
        .map_err(ReviewError::Crypto)
    }

    /// Decides every application whose checks have all ended; returns how
    /// many were decided. Safe to run on every replica at once: each
    /// decision is guarded by the application's row version.
    pub async fn decide_ready(&self) -> Result<usize, ReviewError> {
        let mut decided = 0;
        for app in self.store.review_ready(50).await? {
            match self.decide_by_policy(&app).await {
                Ok(()) => decided += 1,
                Err(ReviewError::Concurrent) => {}
                Err(e) => {
                    tracing::error!(application = %self.audit.pseudonym("application", &app.id), error = %e, "automatic decision failed");
                }
            }
        }
        Ok(decided)
    }

    async fn decide_by_policy(&self, app: &ApplicationRecord) -> Result<(), ReviewError> {
        let policy = &self.policy.decision;
        let (round, inputs, latest) = self.evidence_digest(app).await?;
        let identity = self.onboarding.open_identity(app)?;
        let mut reasons = Vec::new();
        let mut failed = false;
        for c in &latest {
            match c.state {
                CheckState::Clear | CheckState::Pending => {}
                CheckState::Consider => {
                    if c.reason_codes.is_empty() {
                        push_unique(&mut reasons, &format!("{}_consider", c.kind));
                    }
                    for r in &c.reason_codes {
                        push_unique(&mut reasons, r);
                    }
                }
                CheckState::Error => {
                    push_unique(&mut reasons, "check_error");
                    for r in &c.reason_codes {
                        push_unique(&mut reasons, r);
                    }
                }
                CheckState::Fail => {
                    failed = true;
                    push_unique(&mut reasons, &format!("{}_failed", c.kind));
                    for r in &c.reason_codes {
                        push_unique(&mut reasons, r);
                    }
                }
            }
        }
        let high_risk_country = [&identity.nationality, &identity.country_of_residence]
            .into_iter()
            .filter_map(|c| CountryCode::parse(c).ok())
            .any(|c| policy.high_risk_countries.contains(&c));
        if high_risk_country {
            push_unique(&mut reasons, "high_risk_jurisdiction");
        }
        let high_risk =
            high_risk_country || reasons.iter().any(|r| r == "sanctions_potential_match");
        if policy.review_all {
            push_unique(&mut reasons, "policy_review_all");
        }
        // A case that was sent back to the applicant comes back to the queue
        // with what they added, whatever the new checks say: an officer asked.
        let existing = self.store.case_for_application(&app.id).await?;
        if existing.is_some() {
            push_unique(&mut reasons, "resubmitted");
        }
        let outcome = if failed && policy.reject_on_fail {
            "reject"
        } else if reasons.is_empty() {
            "approve"
        } else {
            "review"
        };
        let now = self.now_us();
        let decision = DecisionRecord {
            id: uuid::Uuid::now_v7().to_string(),
            application_id: app.id.clone(),
            round,
            outcome: outcome.to_owned(),
            reason_codes: reasons.clone(),
            decided_by: "policy".to_owned(),
            confirmed_by: None,
            policy_version: self.policy.label(),
            policy_sha256: self.policy.sha256.clone(),
            inputs_sha256: inputs,
            request_items: None,
            created_us: now,
        };
        let transition = match outcome {
            "approve" => Transition::Approve,
            "reject" => Transition::Reject,
            _ => Transition::Refer,
        };
        let next = app.state.apply(transition).map_err(OnboardingError::from)?;
        let change = StateChange {
            id: app.id.clone(),
            row_version: app.row_version,
            from: app.state,
            to: next,
            now_us: now,
        };
        let mut events = Vec::new();
        let mut audit = vec![self.audit_event(
            None,
            &format!("application.{}", next.as_str()),
            ("application", &app.id),
            (Some(app.state.as_str()), Some(next.as_str())),
            Some(if reasons.is_empty() {
                "all_checks_clear".to_owned()
            } else {
                reasons.join(",")
            }),
        )];
        let case_record;
        let mut case_write = None;
        let mut outbox = None;
        match outcome {
            "review" => {
                let priority = reasons
                    .iter()
                    .filter_map(|r| policy.priorities.get(r))
                    .min()
                    .copied()
                    .unwrap_or(policy.default_priority);
                let sla_due_us = now + i64::from(policy.sla_hours) * 3_600_000_000;
                let (record, kind) = match &existing {
                    None => (
                        CaseRecord {
                            id: uuid::Uuid::now_v7().to_string(),
                            application_id: app.id.clone(),
                            round,
                            state: "open".to_owned(),
                            priority: i64::from(priority),
                            reason_codes: reasons.clone(),
                            high_risk,
                            sla_due_us,
                            assignee: None,
                            lease_until_us: None,
                            proposal_by: None,
                            proposal_reason: None,
                            proposal_inputs: None,
                            proposal_us: None,
                            created_us: now,
                            updated_us: now,
                            row_version: 1,
                        },
                        "opened",
                    ),
                    Some(old) => (
                        CaseRecord {
                            round,
                            state: "open".to_owned(),
                            priority: i64::from(priority),
                            reason_codes: reasons.clone(),
                            high_risk: high_risk || old.high_risk,
                            sla_due_us,
                            assignee: None,
                            lease_until_us: None,
                            proposal_by: None,
                            proposal_reason: None,
                            proposal_inputs: None,
                            proposal_us: None,
                            updated_us: now,
                            ..old.clone()
                        },
                        "reopened",
                    ),
                };
                events.push(CaseEvent {
                    id: uuid::Uuid::now_v7().to_string(),
                    case_id: record.id.clone(),
                    round,
                    kind: kind.to_owned(),
                    actor: "policy".to_owned(),
                    role: None,
                    reason_code: Some(reasons.join(",")),
                    note_sealed: None,
                    created_us: now,
                });
                audit.push(self.audit_event(
                    None,
                    &format!("case.{kind}"),
                    ("case", &record.id),
                    (None, Some("open")),
                    Some(reasons.join(",")),
                ));
                case_record = record;
                case_write = Some(match &existing {
                    None => CaseWrite::Insert(&case_record),
                    Some(old) => CaseWrite::Update {
                        record: &case_record,
                        expected: old.row_version,
                    },
                });
            }
            "approve" => {
                outbox =
                    Some(self.outbox(app, "application.approved", &decision, Some(&identity))?);
            }
            _ => {
                outbox = Some(self.outbox(app, "application.rejected", &decision, None)?);
            }
        }
        let audit = encode_all(&audit)?;
        self.store
            .review_write(&ReviewWrite {
                app_change: Some(&change),
                decision: Some(&decision),
                case: case_write,
                events: &events,
                outbox: outbox.as_ref(),
                rescreening: None,
                audit: &audit,
                idem: None,
            })
            .await?;
        self.audit.wake_handle().notify_one();
        self.observe(&decision, app, None);
        Ok(())
    }

    /// The queue, for officers and senior officers.
    pub async fn list(
        &self,
        caller: &Caller,
        mut filter: CaseFilter,
    ) -> Result<Vec<CaseRecord>, ReviewError> {
        Self::require_reviewer(caller)?;
        if filter.now_us == 0 {
            filter.now_us = self.now_us();
        }
        Ok(self.store.case_list(&filter).await?)
    }

    async fn case(&self, caller: &Caller, case_id: &str) -> Result<CaseRecord, ReviewError> {
        Self::require_reviewer(caller)?;
        if uuid::Uuid::parse_str(case_id).is_err() {
            return Err(ReviewError::NotFound);
        }
        self.store
            .case_get(case_id)
            .await?
            .ok_or(ReviewError::NotFound)
    }

    /// Everything about a case: reading identity data and check evidence is
    /// audited.
    pub async fn view(&self, caller: &Caller, case_id: &str) -> Result<CaseView, ReviewError> {
        let case = self.case(caller, case_id).await?;
        let application = self
            .store
            .application_get(&case.application_id)
            .await?
            .ok_or(ReviewError::NotFound)?;
        let identity = self.onboarding.view_identity(caller, &application).await?;
        let consents = self.onboarding.consent_history(&application).await?;
        let documents = self.store.document_list(&application.id).await?;
        let (_, checks) = self.checks.list(caller, &application.id).await?;
        let decisions = self.store.decisions_for(&application.id).await?;
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&application.dek, &application.id)
            .map_err(crypto)?;
        let mut history = Vec::new();
        for e in self.store.case_events(&case.id).await? {
            let note = match &e.note_sealed {
                None => None,
                Some(sealed) => Some(
                    String::from_utf8_lossy(
                        &dek.open(sealed, &note_context(&e.id)).map_err(crypto)?,
                    )
                    .into_owned(),
                ),
            };
            history.push((e, note));
        }
        let mut rescreenings = Vec::new();
        for r in self.store.rescreenings_for(&application.id).await? {
            let plain = dek
                .open(&r.evidence_sealed, &rescreening_context(&r.id))
                .map_err(crypto)?;
            let evidence = serde_json::from_slice(&plain).map_err(crypto)?;
            rescreenings.push((r, evidence));
        }
        Ok(CaseView {
            rescreenings,
            case,
            application,
            identity,
            consents,
            documents,
            checks,
            decisions,
            history,
        })
    }

    /// A history entry by `caller`, with an optional sealed note.
    fn staff_event(
        &self,
        caller: &Caller,
        (case, app): (&CaseRecord, &ApplicationRecord),
        kind: &str,
        (reason, note): (Option<&str>, Option<&str>),
        now: i64,
    ) -> Result<CaseEvent, ReviewError> {
        let id = uuid::Uuid::now_v7().to_string();
        let note_sealed = match note {
            None => None,
            Some(n) => {
                let dek = self
                    .onboarding
                    .keyring()
                    .unwrap_key(&app.dek, &app.id)
                    .map_err(crypto)?;
                Some(dek.seal(n.as_bytes(), &note_context(&id)).map_err(crypto)?)
            }
        };
        Ok(CaseEvent {
            id,
            case_id: case.id.clone(),
            round: case.round,
            kind: kind.to_owned(),
            actor: self.staff_id(caller),
            role: Some(Self::staff_role(caller).to_owned()),
            reason_code: reason.map(str::to_owned),
            note_sealed,
            created_us: now,
        })
    }

    fn holds_claim(&self, caller: &Caller, case: &CaseRecord, now: i64) -> bool {
        case.assignee.as_deref() == Some(self.staff_id(caller).as_str())
            && case.lease_until_us.is_some_and(|l| l >= now)
    }

    async fn application(&self, case: &CaseRecord) -> Result<ApplicationRecord, ReviewError> {
        self.store
            .application_get(&case.application_id)
            .await?
            .ok_or(ReviewError::NotFound)
    }

    /// Claims a case for `claim_lease`; claiming again renews the lease.
    pub async fn claim(&self, caller: &Caller, case_id: &str) -> Result<CaseRecord, ReviewError> {
        let case = self.case(caller, case_id).await?;
        if case.state != "open" {
            return Err(ReviewError::Closed);
        }
        let now = self.now_us();
        if let (Some(_), Some(until)) = (&case.assignee, case.lease_until_us)
            && until >= now
            && !self.holds_claim(caller, &case, now)
        {
            let when = chrono::DateTime::from_timestamp_micros(until)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            return Err(ReviewError::ClaimedByOther(when));
        }
        let app = self.application(&case).await?;
        let lease = i64::try_from(self.settings.claim_lease.as_micros()).unwrap_or(i64::MAX);
        let updated = CaseRecord {
            assignee: Some(self.staff_id(caller)),
            lease_until_us: Some(now.saturating_add(lease)),
            updated_us: now,
            ..case.clone()
        };
        let event = self.staff_event(caller, (&case, &app), "claimed", (None, None), now)?;
        let audit = encode_all(&[self.audit_event(
            Some(caller),
            "case.claimed",
            ("case", &case.id),
            (None, None),
            None,
        )])?;
        self.store
            .review_write(&ReviewWrite {
                app_change: None,
                decision: None,
                case: Some(CaseWrite::Update {
                    record: &updated,
                    expected: case.row_version,
                }),
                events: std::slice::from_ref(&event),
                outbox: None,
                rescreening: None,
                audit: &audit,
                idem: None,
            })
            .await?;
        self.audit.wake_handle().notify_one();
        Ok(CaseRecord {
            row_version: case.row_version + 1,
            ..updated
        })
    }

    /// Gives a claimed case back to the queue.
    pub async fn release(&self, caller: &Caller, case_id: &str) -> Result<CaseRecord, ReviewError> {
        let case = self.case(caller, case_id).await?;
        let now = self.now_us();
        if !self.holds_claim(caller, &case, now) {
            return Err(ReviewError::NotClaimed);
        }
        let app = self.application(&case).await?;
        let updated = CaseRecord {
            assignee: None,
            lease_until_us: None,
            updated_us: now,
            ..case.clone()
        };
        let event = self.staff_event(caller, (&case, &app), "released", (None, None), now)?;
        let audit = encode_all(&[self.audit_event(
            Some(caller),
            "case.released",
            ("case", &case.id),
            (None, None),
            None,
        )])?;
        self.store
            .review_write(&ReviewWrite {
                app_change: None,
                decision: None,
                case: Some(CaseWrite::Update {
                    record: &updated,
                    expected: case.row_version,
                }),
                events: std::slice::from_ref(&event),
                outbox: None,
                rescreening: None,
                audit: &audit,
                idem: None,
            })
            .await?;
        self.audit.wake_handle().notify_one();
        Ok(CaseRecord {
            row_version: case.row_version + 1,
            ..updated
        })
    }

    /// Adds a note to a case's history (append-only).
    pub async fn note(
        &self,
        caller: &Caller,
        case_id: &str,
        note: &str,
        idem: impl FnOnce(&CaseEvent) -> Option<IdempotencyWrite>,
    ) -> Result<CaseEvent, ReviewError> {
        let case = self.case(caller, case_id).await?;
        check_note(note)?;
        // The record of a decided case stays as it was decided.
        if case.state != "open" {
            return Err(ReviewError::Closed);
        }
        let app = self.application(&case).await?;
        let now = self.now_us();
        let event = self.staff_event(caller, (&case, &app), "note", (None, Some(note)), now)?;
        let audit = encode_all(&[self.audit_event(
            Some(caller),
            "case.note_added",
            ("case", &case.id),
            (None, None),
            None,
        )])?;
        let idem = idem(&event);
        self.store
            .review_write(&ReviewWrite {
                app_change: None,
                decision: None,
                case: None,
                events: std::slice::from_ref(&event),
                outbox: None,
                rescreening: None,
                audit: &audit,
                idem: idem.as_ref(),
            })
            .await?;
        self.audit.wake_handle().notify_one();
        Ok(event)
    }

    /// An officer's decision on a claimed case.
    pub async fn decide(
        &self,
        caller: &Caller,
        case_id: &str,
        input: &DecisionInput,
        idem: impl FnOnce(&DecisionOutcome) -> Option<IdempotencyWrite>,
    ) -> Result<DecisionOutcome, ReviewError> {
        let case = self.case(caller, case_id).await?;
        self.validate(input)?;
        if case.state != "open" {
            return Err(ReviewError::Closed);
        }
        let now = self.now_us();
        if !self.holds_claim(caller, &case, now) {
            return Err(ReviewError::NotClaimed);
        }
        let app = self.application(&case).await?;
        let rescreening = is_rescreening(&case, &app);
        if app.state != ApplicationState::InReview && !rescreening {
            return Err(ReviewError::Closed);
        }
        if rescreening && input.action == Action::RequestInfo {
            return Err(ReviewError::Invalid(vec![(
                "action".to_owned(),
                "not_allowed".to_owned(),
                "an approved customer's new potential match is cleared (approve) or confirmed (reject)".to_owned(),
            )]));
        }
        if input.action == Action::Approve && case.high_risk {
            if !caller.roles.contains(&Role::SeniorOfficer) {
                return Err(ReviewError::Forbidden(
                    "a high-risk case is approved by two senior officers".to_owned(),
                ));
            }
            let (_, inputs, _) = self.evidence_digest(&app).await?;
            let updated = CaseRecord {
                proposal_by: Some(self.staff_id(caller)),
                proposal_reason: Some(input.reason_code.clone()),
                proposal_inputs: Some(inputs),
                proposal_us: Some(now),
                updated_us: now,
                ..case.clone()
            };
            let event = self.staff_event(
                caller,
                (&case, &app),
                "proposed",
                (Some(&input.reason_code), Some(&input.note)),
                now,
            )?;
            let audit = encode_all(&[self.audit_event(
                Some(caller),
                "case.approval_proposed",
                ("case", &case.id),
                (None, None),
                Some(input.reason_code.clone()),
            )])?;
            let outcome = DecisionOutcome::Proposed;
            self.store
                .review_write(&ReviewWrite {
                    app_change: None,
                    decision: None,
                    case: Some(CaseWrite::Update {
                        record: &updated,
                        expected: case.row_version,
                    }),
                    events: std::slice::from_ref(&event),
                    outbox: None,
                    rescreening: None,
                    audit: &audit,
                    idem: idem(&outcome).as_ref(),
                })
                .await?;
            self.audit.wake_handle().notify_one();
            return Ok(outcome);
        }
        let decided_by = self.staff_id(caller);
        self.finish(caller, &case, &app, input, decided_by, None, now, idem)
            .await
    }

    /// The second senior officer confirms a proposed high-risk approval.
    pub async fn confirm(
        &self,
        caller: &Caller,
        case_id: &str,
        note: &str,
        idem: impl FnOnce(&DecisionOutcome) -> Option<IdempotencyWrite>,
    ) -> Result<DecisionOutcome, ReviewError> {
        let case = self.case(caller, case_id).await?;
        if !caller.roles.contains(&Role::SeniorOfficer) {
            return Err(ReviewError::Forbidden(
                "only a senior officer confirms an approval".to_owned(),
            ));
        }
        check_note(note)?;
        let (Some(proposer), Some(reason), Some(proposed_inputs)) = (
            case.proposal_by.clone(),
            case.proposal_reason.clone(),
            case.proposal_inputs.clone(),
        ) else {
            return Err(ReviewError::NoProposal);
        };
        if proposer == self.staff_id(caller) {
            return Err(ReviewError::Forbidden(
                "four eyes: the officer who proposed an approval cannot confirm it".to_owned(),
            ));
        }
        if case.state != "open" {
            return Err(ReviewError::Closed);
        }
        let now = self.now_us();
        // The confirming officer works the case like any other: with its claim.
        if !self.holds_claim(caller, &case, now) {
            return Err(ReviewError::NotClaimed);
        }
        let app = self.application(&case).await?;
        let (_, inputs, _) = self.evidence_digest(&app).await?;
        if inputs != proposed_inputs {
            let updated = CaseRecord {
                proposal_by: None,
                proposal_reason: None,
                proposal_inputs: None,
                proposal_us: None,
                updated_us: now,
                ..case.clone()
            };
            let event = self.staff_event(
                caller,
                (&case, &app),
                "cancelled",
                (Some("evidence_changed"), None),
                now,
            )?;
            let audit = encode_all(&[self.audit_event(
                Some(caller),
                "case.approval_cancelled",
                ("case", &case.id),
                (None, None),
                Some("evidence_changed".to_owned()),
            )])?;
            self.store
                .review_write(&ReviewWrite {
                    app_change: None,
                    decision: None,
                    case: Some(CaseWrite::Update {
                        record: &updated,
                        expected: case.row_version,
                    }),
                    events: std::slice::from_ref(&event),
                    outbox: None,
                    rescreening: None,
                    audit: &audit,
                    idem: None,
                })
                .await?;
            return Err(ReviewError::EvidenceChanged);
        }
        let input = DecisionInput {
            action: Action::Approve,
            reason_code: reason,
            note: note.to_owned(),
            items: Vec::new(),
        };
        self.finish(
            caller,
            &case,
            &app,
            &input,
            proposer,
            Some(self.staff_id(caller)),
            now,
            idem,
        )
        .await
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one decision")]
    async fn finish(
        &self,
        caller: &Caller,
        case: &CaseRecord,
        app: &ApplicationRecord,
        input: &DecisionInput,
        decided_by: String,
        confirmed_by: Option<String>,
        now: i64,
        idem: impl FnOnce(&DecisionOutcome) -> Option<IdempotencyWrite>,
    ) -> Result<DecisionOutcome, ReviewError> {
        let (round, inputs, _) = self.evidence_digest(app).await?;
        // A re-screening case is about an approved customer: the application
        // stays approved; a confirmed match goes to the bank to act on.
        let rescreening = is_rescreening(case, app);
        let (transition, event_type) = match (input.action, rescreening) {
            (Action::Approve, true) => (None, None),
            (Action::Reject, true) => (None, Some("customer.sanctions_match_confirmed")),
            (Action::Approve, false) => (Some(Transition::Approve), Some("application.approved")),
            (Action::Reject, false) => (Some(Transition::Reject), Some("application.rejected")),
            (Action::RequestInfo, _) => (
                Some(Transition::RequestInfo),
                Some("application.info_requested"),
            ),
        };
        let next = match transition {
            Some(t) => app.state.apply(t).map_err(OnboardingError::from)?,
            None => app.state,
        };
        let decision = DecisionRecord {
            id: uuid::Uuid::now_v7().to_string(),
            application_id: app.id.clone(),
            round,
            outcome: input.action.as_str().to_owned(),
            reason_codes: vec![input.reason_code.clone()],
            decided_by,
            confirmed_by: confirmed_by.clone(),
            policy_version: self.policy.label(),
            policy_sha256: self.policy.sha256.clone(),
            inputs_sha256: inputs,
            request_items: (input.action == Action::RequestInfo).then(|| input.items.clone()),
            created_us: now,
        };
        let identity = if input.action == Action::Approve && !rescreening {
            Some(self.onboarding.open_identity(app)?)
        } else {
            None
        };
        let outbox = match event_type {
            Some(t) => Some(self.outbox(app, t, &decision, identity.as_ref())?),
            None => None,
        };
        let change = StateChange {
            id: app.id.clone(),
            row_version: app.row_version,
            from: app.state,
            to: next,
            now_us: now,
        };
        let updated = CaseRecord {
            state: "closed".to_owned(),
            assignee: None,
            lease_until_us: None,
            proposal_by: None,
            proposal_reason: None,
            proposal_inputs: None,
            proposal_us: None,
            updated_us: now,
            ..case.clone()
        };
        let kind = if confirmed_by.is_some() {
            "confirmed"
        } else {
            "decided"
        };
        let event = self.staff_event(
            caller,
            (case, app),
            kind,
            (Some(&input.reason_code), Some(&input.note)),
            now,
        )?;
        let audit = encode_all(&[
            self.audit_event(
                Some(caller),
                &format!("case.{}", input.action.as_str()),
                ("case", &case.id),
                (Some("open"), Some("closed")),
                Some(input.reason_code.clone()),
            ),
            self.audit_event(
                Some(caller),
                &match (transition, input.action) {
                    (Some(_), _) => format!("application.{}", next.as_str()),
                    (None, Action::Reject) => "customer.sanctions_match_confirmed".to_owned(),
                    (None, _) => "customer.rescreening_cleared".to_owned(),
                },
                ("application", &app.id),
                (Some(app.state.as_str()), Some(next.as_str())),
                Some(input.reason_code.clone()),
            ),
        ])?;
        let outcome = DecisionOutcome::Decided(next);
        self.store
            .review_write(&ReviewWrite {
                app_change: transition.is_some().then_some(&change),
                decision: Some(&decision),
                case: Some(CaseWrite::Update {
                    record: &updated,
                    expected: case.row_version,
                }),
                events: std::slice::from_ref(&event),
                outbox: outbox.as_ref(),
                rescreening: None,
                audit: &audit,
                idem: idem(&outcome).as_ref(),
            })
            .await?;
        self.audit.wake_handle().notify_one();
        self.observe(&decision, app, Some(case));
        Ok(outcome)
    }

    fn validate(&self, input: &DecisionInput) -> Result<(), ReviewError> {
        let mut problems = Vec::new();
        let allowed = match input.action {
            Action::Approve => &self.policy.decision.approve_reasons,
            Action::Reject => &self.policy.decision.reject_reasons,
            Action::RequestInfo => &self.policy.decision.request_info_reasons,
        };
        if !allowed.contains(&input.reason_code) {
            problems.push((
                "reason_code".to_owned(),
                "unknown_reason".to_owned(),
                format!(
                    "for {} use one of: {}",
                    input.action.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
        if let Err(ReviewError::Invalid(mut p)) = check_note(&input.note) {
            problems.append(&mut p);
        }
        match input.action {
            Action::RequestInfo => {
                if input.items.is_empty() || input.items.len() > MAX_REQUEST_ITEMS {
                    problems.push((
                        "items".to_owned(),
                        "count".to_owned(),
                        format!("name 1 to {MAX_REQUEST_ITEMS} things the applicant must add"),
                    ));
                }
                for (i, item) in input.items.iter().enumerate() {
                    // Shown to the applicant: no control or invisible (bidi,
                    // zero-width) characters that could hide or reorder text.
                    if crate::domain::text::clean(item, MAX_ITEM_CHARS).is_err() {
                        problems.push((
                            format!("items[{i}]"),
                            "invalid".to_owned(),
                            format!("1 to {MAX_ITEM_CHARS} characters, no control characters"),
                        ));
                    }
                }
            }
            _ => {
                if !input.items.is_empty() {
                    problems.push((
                        "items".to_owned(),
                        "not_allowed".to_owned(),
                        "items go with request_info only".to_owned(),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ReviewError::Invalid(problems))
        }
    }

    /// The latest request for information of an application, for its
    /// applicant: the reason code and the items.
    pub async fn open_request(
        &self,
        app: &ApplicationRecord,
    ) -> Result<Option<DecisionRecord>, ReviewError> {
        if app.state != ApplicationState::InfoRequested {
            return Ok(None);
        }
        Ok(self
            .store
            .decisions_for(&app.id)
            .await?
            .into_iter()
            .rev()
            .find(|d| d.outcome == "request_info"))
    }

    /// Ongoing screening: approved customers not yet screened against the
    /// active list versions are screened again; a potential match never
    /// seen before for that customer (neither in its onboarding checks nor
    /// in an earlier re-screening) opens a high-risk review case. The
    /// application stays approved; the officer clears the match or confirms
    /// it, and a confirmation goes downstream for the bank to act on.
    /// Returns how many customers were screened.
    pub async fn rescreen(&self) -> Result<usize, ReviewError> {
        let mut stamps: Vec<String> = self
            .sanctions
            .list_set()
            .active()
            .iter()
            .map(|v| format!("{}:{}", v.name, v.sha256))
            .collect();
        if stamps.is_empty() {
            return Ok(0);
        }
        stamps.sort();
        let digest = sha256_hex(stamps.join("\n").as_bytes());
        let mut screened = 0;
        // Batches until every approved customer is screened against these
        // versions (bounded per round; the next round goes on).
        for _ in 0..100 {
            let due = self.store.rescreen_due(&digest, 100).await?;
            let done = due.len() < 100;
            for app in due {
                match self.rescreen_one(&app, &digest).await {
                    Ok(()) => screened += 1,
                    Err(ReviewError::Concurrent) => {}
                    Err(e) => {
                        // One customer's failure must not stop the others'
                        // screening; it stays due and is retried next round.
                        tracing::error!(application = %self.audit.pseudonym("application", &app.id), error = %e, "re-screening failed");
                    }
                }
            }
            if done {
                break;
            }
        }
        if screened > 0 {
            self.audit.wake_handle().notify_one();
        }
        Ok(screened)
    }

    async fn rescreen_one(&self, app: &ApplicationRecord, digest: &str) -> Result<(), ReviewError> {
        use crate::checks::sanctions::matcher::Query;
        use crate::checks::sanctions::model::{EntityType, PartialDate};
        let identity = self.onboarding.open_identity(app)?;
        let query = Query {
            name: format!("{} {}", identity.given_names, identity.family_name),
            entity_type: Some(EntityType::Individual),
            birth_date: PartialDate::parse_iso(&identity.date_of_birth),
            nationality: Some(identity.nationality.clone()),
        };
        let Ok(screening) = self
            .sanctions
            .list_set()
            .screen(&query, self.sanctions.policy())
        else {
            return Ok(());
        };
        let key = |list: &str, entry: &str| format!("{list}:{entry}");
        let matched: Vec<String> = screening
            .matches
            .iter()
            .map(|m| key(&m.list, &m.entry_id))
            .collect();
        // What this customer was already screened and judged on.
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&app.dek, &app.id)
            .map_err(crypto)?;
        let mut seen: Vec<String> = Vec::new();
        for c in self.store.check_list(&app.id).await? {
            let Some(sealed) = c
                .evidence_sealed
                .as_ref()
                .filter(|_| c.kind == crate::domain::check::CheckKind::Sanctions)
            else {
                continue;
            };
            let plain = dek
                .open(sealed, &crate::checks::pipeline::evidence_context(&c.id))
                .map_err(crypto)?;
            let evidence: serde_json::Value = serde_json::from_slice(&plain).map_err(crypto)?;
            for m in evidence["matches"].as_array().into_iter().flatten() {
                if let (Some(list), Some(entry)) = (m["list"].as_str(), m["entry_id"].as_str()) {
                    seen.push(key(list, entry));
                }
            }
        }
        for r in self.store.rescreenings_for(&app.id).await? {
            seen.extend(r.matched_entries);
        }
        let new_matches: Vec<String> = matched
            .iter()
            .filter(|m| !seen.contains(m))
            .cloned()
            .collect();
        let now = self.now_us();
        let id = uuid::Uuid::now_v7().to_string();
        let evidence = serde_json::to_vec(&json!({
            "lists": screening.lists,
            "matches": screening.matches,
            "threshold": self.sanctions.policy().threshold,
        }))
        .map_err(crypto)?;
        let record = self::store::RescreeningRecord {
            evidence_sealed: dek
                .seal(&evidence, &rescreening_context(&id))
                .map_err(crypto)?,
            id,
            application_id: app.id.clone(),
            lists_sha256: digest.to_owned(),
            matched_entries: matched,
            new_matches: new_matches.clone(),
            created_us: now,
        };
        let mut audit = vec![self.audit_event(
            None,
            "customer.rescreened",
            ("application", &app.id),
            (None, None),
            Some(if new_matches.is_empty() {
                "no_new_match".to_owned()
            } else {
                "new_potential_match".to_owned()
            }),
        )];
        let mut events = Vec::new();
        let existing = self.store.case_for_application(&app.id).await?;
        let case_record;
        let mut case_write = None;
        if !new_matches.is_empty() {
            let policy = &self.policy.decision;
            let priority = policy
                .priorities
                .get("sanctions_potential_match")
                .copied()
                .unwrap_or(policy.default_priority);
            let reasons = vec![RESCREENING_REASON.to_owned()];
            let sla_due_us = now + i64::from(policy.sla_hours) * 3_600_000_000;
            let round = existing.as_ref().map_or(0, |c| c.round);
            let (record, kind) = match &existing {
                None => (
                    CaseRecord {
                        id: uuid::Uuid::now_v7().to_string(),
                        application_id: app.id.clone(),
                        round,
                        state: "open".to_owned(),
                        priority: i64::from(priority),
                        reason_codes: reasons.clone(),
                        high_risk: true,
                        sla_due_us,
                        assignee: None,
                        lease_until_us: None,
                        proposal_by: None,
                        proposal_reason: None,
                        proposal_inputs: None,
                        proposal_us: None,
                        created_us: now,
                        updated_us: now,
                        row_version: 1,
                    },
                    "opened",
                ),
                Some(old) => (
                    CaseRecord {
                        state: "open".to_owned(),
                        priority: i64::from(priority),
                        reason_codes: reasons.clone(),
                        high_risk: true,
                        sla_due_us,
                        assignee: None,
                        lease_until_us: None,
                        proposal_by: None,
                        proposal_reason: None,
                        proposal_inputs: None,
                        proposal_us: None,
                        updated_us: now,
                        ..old.clone()
                    },
                    "reopened",
                ),
            };
            // New evidence cancels an approval waiting for its second officer.
            if existing.as_ref().is_some_and(|c| c.proposal_by.is_some()) {
                events.push(CaseEvent {
                    id: uuid::Uuid::now_v7().to_string(),
                    case_id: record.id.clone(),
                    round: record.round,
                    kind: "cancelled".to_owned(),
                    actor: "policy".to_owned(),
                    role: None,
                    reason_code: Some("evidence_changed".to_owned()),
                    note_sealed: None,
                    created_us: now,
                });
            }
            events.push(CaseEvent {
                id: uuid::Uuid::now_v7().to_string(),
                case_id: record.id.clone(),
                round: record.round,
                kind: kind.to_owned(),
                actor: "policy".to_owned(),
                role: None,
                reason_code: Some(RESCREENING_REASON.to_owned()),
                note_sealed: None,
                created_us: now,
            });
            audit.push(self.audit_event(
                None,
                &format!("case.{kind}"),
                ("case", &record.id),
                (None, Some("open")),
                Some(RESCREENING_REASON.to_owned()),
            ));
            case_record = record;
            case_write = Some(match &existing {
                None => CaseWrite::Insert(&case_record),
                Some(old) => CaseWrite::Update {
                    record: &case_record,
                    expected: old.row_version,
                },
            });
        }
        let audit = encode_all(&audit)?;
        self.store
            .review_write(&ReviewWrite {
                app_change: None,
                decision: None,
                case: case_write,
                events: &events,
                outbox: None,
                rescreening: Some(&record),
                audit: &audit,
                idem: None,
            })
            .await?;
        Ok(())
    }

    /// Raises the events a bank's messaging acts on: applications waiting on
    /// the applicant for longer than the policy allows, and travel documents
    /// of applications in progress that expire within the policy's warning
    /// window. Each is raised once (a dedupe key per state entry or
    /// document). Returns how many were raised.
    pub async fn raise_events(&self) -> Result<usize, ReviewError> {
        let policy = &self.policy.decision;
        let now = self.now_us();
        let keyring = self.onboarding.keyring();
        let mut raised = 0;
        let cutoff = now - i64::from(policy.stalled_after_hours) * 3_600_000_000;
        let at = |us: i64| {
            chrono::DateTime::from_timestamp_micros(us)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        for app in self.store.review_stalled(cutoff, 100).await? {
            let key = format!(
                "stalled:{}:{}:{}",
                app.id,
                app.state.as_str(),
                app.updated_us
            );
            let event = sealed_event(
                keyring,
                &app,
                "application.stalled",
                json!({
                    "application_id": app.id,
                    "product": app.product,
                    "jurisdiction": app.jurisdiction,
                    "state": app.state.as_str(),
                    "since": at(app.updated_us),
                    "stalled_after_hours": policy.stalled_after_hours,
                }),
                now,
                Some(key),
            )
            .map_err(ReviewError::Crypto)?;
            let audit = encode_all(&[self.audit_event(
                None,
                "application.stalled",
                ("application", &app.id),
                (Some(app.state.as_str()), Some(app.state.as_str())),
                None,
            )])?;
            self.store.outbox_raise(&event, &audit).await?;
            raised += 1;
        }
        let today = chrono::DateTime::from_timestamp_micros(now)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let warn_until = today + chrono::Days::new(u64::from(policy.document_expiry_warning_days));
        let mut after = String::new();
        loop {
            let docs = self.store.review_mrz_documents(&after, 200).await?;
            let Some(last) = docs.last() else {
                break;
            };
            after = last.id.clone();
            for d in docs {
                let Some(sealed) = &d.mrz_sealed else {
                    continue;
                };
                let dek = keyring.unwrap_key(&d.dek, &d.id).map_err(crypto)?;
                let text = dek
                    .open(sealed, &crate::documents::mrz_context(&d.id))
                    .map_err(crypto)?;
                let Ok(parsed) = crate::domain::mrz::parse(&String::from_utf8_lossy(&text), today)
                else {
                    continue;
                };
                let Some(expiry) = parsed.date_of_expiry().date() else {
                    continue;
                };
                if expiry > warn_until {
                    continue;
                }
                let Some(app) = self.store.application_get(&d.application_id).await? else {
                    continue;
                };
                let event = sealed_event(
                    keyring,
                    &app,
                    "document.expiring",
                    json!({
                        "application_id": app.id,
                        "document_id": d.id,
                        "kind": d.kind.as_str(),
                        "expires_on": expiry.to_string(),
                        "days_left": (expiry - today).num_days(),
                    }),
                    now,
                    Some(format!("expiring:{}", d.id)),
                )
                .map_err(ReviewError::Crypto)?;
                let audit = encode_all(&[self.audit_event(
                    None,
                    "document.expiring",
                    ("document", &d.id),
                    (None, None),
                    None,
                )])?;
                self.store.outbox_raise(&event, &audit).await?;
                raised += 1;
            }
        }
        if raised > 0 {
            self.audit.wake_handle().notify_one();
        }
        Ok(raised)
    }

    /// Runs the automatic decisions until aborted: after every round of the
    /// check worker, or every `idle`.
    pub fn spawn_decider(
        self: &Arc<Self>,
        idle: Duration,
        scan_every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let review = Arc::clone(self);
        tokio::spawn(async move {
            let mut last_scan: Option<std::time::Instant> = None;
            loop {
                if last_scan.is_none_or(|t| t.elapsed() >= scan_every) {
                    last_scan = Some(std::time::Instant::now());
                    if let Err(e) = review.raise_events().await {
                        tracing::warn!(error = %e, "stalled/expiring scan failed");
                    }
                    if let Err(e) = review.rescreen().await {
                        tracing::warn!(error = %e, "re-screening round failed");
                    }
                }
                if let Err(e) = review.refresh_queue_metrics().await {
                    tracing::warn!(error = %e, "queue metrics not refreshed");
                }
                match review.decide_ready().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "decision round failed"),
                }
                tokio::time::sleep(idle).await;
            }
        })
    }
}

/// Whether a case is about a new potential match of an approved customer.
fn is_rescreening(case: &CaseRecord, app: &ApplicationRecord) -> bool {
    app.state == ApplicationState::Approved
        && case.reason_codes.iter().any(|r| r == RESCREENING_REASON)
}

/// The reason code of a case opened by ongoing screening.
pub const RESCREENING_REASON: &str = "rescreening_potential_match";

fn check_note(note: &str) -> Result<(), ReviewError> {
    let n = note.chars().count();
    if note.trim().is_empty()
        || n > MAX_NOTE_CHARS
        || note
            .chars()
            .any(|c| crate::domain::text::is_invisible(c) && c != '\n' && c != '\t')
    {
        return Err(ReviewError::Invalid(vec![(
            "note".to_owned(),
            "invalid".to_owned(),
            format!(
                "1 to {MAX_NOTE_CHARS} characters; line breaks allowed, other control or invisible characters not"
            ),
        )]));
    }
    Ok(())
}
