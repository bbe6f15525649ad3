//! What the review use cases store: decisions, cases, case history and
//! outbox events, and the one write that keeps them consistent.

use async_trait::async_trait;

use crate::onboarding::{ApplicationRecord, AuditRows, IdempotencyWrite, StateChange};
use crate::store::StoreError;

/// A decision, by the policy or by people; kept as written.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    /// UUIDv7.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// The submission round decided.
    pub round: i64,
    /// `approve`, `review`, `reject` or `request_info`.
    pub outcome: String,
    /// Stable reason codes.
    pub reason_codes: Vec<String>,
    /// `policy`, or the pseudonymous id of the officer.
    pub decided_by: String,
    /// The confirming senior officer of a four-eyes approval.
    pub confirmed_by: Option<String>,
    /// `id@version` of the policy.
    pub policy_version: String,
    /// SHA-256 of the policy file.
    pub policy_sha256: String,
    /// SHA-256 of the check results decided on.
    pub inputs_sha256: String,
    /// For `request_info`: what the applicant must add.
    pub request_items: Option<Vec<String>>,
    /// UTC µs.
    pub created_us: i64,
}

/// A case in the exceptions queue: one per application, reopened on
/// resubmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// UUIDv7.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// The submission round under review.
    pub round: i64,
    /// `open` (in the queue) or `closed` (decided, or waiting for the applicant).
    pub state: String,
    /// 1 is the most urgent.
    pub priority: i64,
    /// Why it needs a person.
    pub reason_codes: Vec<String>,
    /// Approval needs a second senior officer.
    pub high_risk: bool,
    /// SLA due time, UTC µs.
    pub sla_due_us: i64,
    /// Pseudonymous id of the officer holding the claim.
    pub assignee: Option<String>,
    /// The claim's lease end, UTC µs.
    pub lease_until_us: Option<i64>,
    /// A pending four-eyes approval: who proposed it.
    pub proposal_by: Option<String>,
    /// … with which reason code.
    pub proposal_reason: Option<String>,
    /// … on which evidence (digest).
    pub proposal_inputs: Option<String>,
    /// … when.
    pub proposal_us: Option<i64>,
    /// UTC µs.
    pub created_us: i64,
    /// UTC µs.
    pub updated_us: i64,
    /// Optimistic concurrency.
    pub row_version: i64,
}

/// One entry of a case's history.
#[derive(Debug, Clone)]
pub struct CaseEvent {
    /// UUIDv7.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The round it belongs to.
    pub round: i64,
    /// `opened`, `reopened`, `claimed`, `released`, `note`, `proposed`,
    /// `confirmed`, `cancelled`, `decided`.
    pub kind: String,
    /// `policy`, `system` or the pseudonymous staff id.
    pub actor: String,
    /// The actor's role, for staff.
    pub role: Option<String>,
    /// The reason code given, if any.
    pub reason_code: Option<String>,
    /// The note, sealed with the application's data key.
    pub note_sealed: Option<Vec<u8>>,
    /// UTC µs.
    pub created_us: i64,
}

/// An event for the bank's downstream systems.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    /// UUIDv7; sent as `webhook-id`.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// `application.approved`, `.rejected`, `.info_requested`, `.withdrawn`,
    /// `.stalled`, `document.expiring`.
    pub event_type: String,
    /// Raised at most once per key (scans); none for decisions.
    pub dedupe_key: Option<String>,
    /// The JSON body, sealed with the application's data key.
    pub payload_sealed: Vec<u8>,
    /// UTC µs.
    pub created_us: i64,
}

/// A re-screening of an approved customer against new list versions.
#[derive(Debug, Clone)]
pub struct RescreeningRecord {
    /// UUIDv7.
    pub id: String,
    /// The application (approved customer).
    pub application_id: String,
    /// Digest of the list versions screened against.
    pub lists_sha256: String,
    /// `list:entry` ids matched at or above the threshold.
    pub matched_entries: Vec<String>,
    /// Those never seen before for this customer.
    pub new_matches: Vec<String>,
    /// The screening with its explanations, sealed.
    pub evidence_sealed: Vec<u8>,
    /// UTC µs.
    pub created_us: i64,
}

/// How the case row changes.
#[derive(Debug, Clone)]
pub enum CaseWrite<'a> {
    /// A new case.
    Insert(&'a CaseRecord),
    /// The case as it is now; stored only if the row is still at `expected`.
    Update {
        /// The new values.
        record: &'a CaseRecord,
        /// The row version read.
        expected: i64,
    },
}

/// One transaction of the review use cases: any of an application
/// transition, a decision, a case change, a history entry and an outbox
/// event, with their audit entries and idempotency record. Any guard that
/// fails (`Conflict`) leaves nothing written.
#[derive(Debug, Clone)]
pub struct ReviewWrite<'a> {
    /// The application's move.
    pub app_change: Option<&'a StateChange>,
    /// The decision.
    pub decision: Option<&'a DecisionRecord>,
    /// The case.
    pub case: Option<CaseWrite<'a>>,
    /// History entries.
    pub events: &'a [CaseEvent],
    /// Event for downstream.
    pub outbox: Option<&'a OutboxEvent>,
    /// A re-screening.
    pub rescreening: Option<&'a RescreeningRecord>,
    /// Audit entries.
    pub audit: &'a AuditRows,
    /// Idempotency record.
    pub idem: Option<&'a IdempotencyWrite>,
}

/// Queue listing filters.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Cases with this reason code.
    pub reason: Option<String>,
    /// `Some(Some(id))`: claimed by this staff id; `Some(None)`: unclaimed
    /// (or with an expired lease).
    pub assignee: Option<Option<String>>,
    /// Only overdue (`true`) or only not overdue (`false`).
    pub overdue: Option<bool>,
    /// Now, UTC µs (leases and SLA).
    pub now_us: i64,
    /// After this cursor: (effective priority, SLA due, id).
    pub after: Option<(i64, i64, String)>,
    /// Page size.
    pub limit: u32,
}

/// Storage for the review use cases; implemented for both backends in
/// `store::review`.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// Applications in `checking` whose latest round has no pending check.
    async fn review_ready(&self, limit: u32) -> Result<Vec<ApplicationRecord>, StoreError>;
    /// Writes one review transaction.
    async fn review_write(&self, write: &ReviewWrite<'_>) -> Result<(), StoreError>;
    /// One case.
    async fn case_get(&self, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    /// The case of an application.
    async fn case_for_application(
        &self,
        application_id: &str,
    ) -> Result<Option<CaseRecord>, StoreError>;
    /// The open cases, most urgent first (overdue cases count one level
    /// more urgent), then by SLA due time.
    async fn case_list(&self, filter: &CaseFilter) -> Result<Vec<CaseRecord>, StoreError>;
    /// A case's history, oldest first.
    async fn case_events(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError>;
    /// Applications waiting on the applicant (draft, info requested) not
    /// changed since `cutoff_us` and not yet announced as stalled.
    async fn review_stalled(
        &self,
        cutoff_us: i64,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>, StoreError>;
    /// Current documents carrying an MRZ of applications still in progress,
    /// not yet announced as expiring, after `after_id`, by id.
    async fn review_mrz_documents(
        &self,
        after_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::documents::DocumentRecord>, StoreError>;
    /// Writes one outbox event (raised by a scan; its dedupe key keeps it
    /// from being raised twice) with its audit entry.
    async fn outbox_raise(&self, event: &OutboxEvent, audit: &AuditRows) -> Result<(), StoreError>;
    /// Approved customers not yet screened against the list versions `lists_sha256`.
    async fn rescreen_due(
        &self,
        lists_sha256: &str,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>, StoreError>;
    /// A customer's re-screenings, oldest first.
    async fn rescreenings_for(
        &self,
        application_id: &str,
    ) -> Result<Vec<RescreeningRecord>, StoreError>;
    /// Open cases, and how many of them are past their SLA at `now_us`.
    async fn case_counts(&self, now_us: i64) -> Result<(i64, i64), StoreError>;
    /// An application's decisions, oldest first.
    async fn decisions_for(&self, application_id: &str) -> Result<Vec<DecisionRecord>, StoreError>;
}
