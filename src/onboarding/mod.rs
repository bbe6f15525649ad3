//! The onboarding use cases: create an application, read it, capture and
//! withdraw consents (GDPR Art. 7), submit, withdraw, and expire stale
//! drafts. Each change is one transaction with its audit entry and, where
//! the caller sent one, its idempotency record. Identity data is sealed with
//! a per-application data key before it reaches the store. This module knows
//! nothing of HTTP.

pub mod identity;
pub mod keys;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use self::identity::{FieldProblem, Identity, IdentityInput};
use crate::audit::AuditLog;
use crate::audit::entry::{AuditEvent, Target};
use crate::audit::log::encode_all;
use crate::auth::Role;
use crate::crypto::blind_index::BlindIndexKey;
use crate::crypto::envelope::{DataKey, Keyring, WrappedKey};
use crate::domain::application_state::{ApplicationState, IllegalTransition, Transition};
use crate::domain::clock::Clock;
use crate::policy::Policy;
use crate::store::StoreError;

/// An application as stored.
#[derive(Debug, Clone)]
pub struct ApplicationRecord {
    /// UUIDv7.
    pub id: String,
    /// Blind index of the applicant's token subject.
    pub owner_index: String,
    /// `applicant` or `service`.
    pub created_by: String,
    /// Product id.
    pub product: String,
    /// ISO 3166-1 alpha-2 jurisdiction.
    pub jurisdiction: String,
    /// Current state.
    pub state: ApplicationState,
    /// Sealed identity JSON.
    pub identity_sealed: Vec<u8>,
    /// Blind index of the identity.
    pub identity_index: String,
    /// The wrapped data key.
    pub dek: WrappedKey,
    /// Policy version at creation.
    pub policy_version: String,
    /// Policy file hash at creation.
    pub policy_sha256: String,
    /// Created, UTC µs.
    pub created_us: i64,
    /// Last change, UTC µs.
    pub updated_us: i64,
    /// Optimistic-concurrency counter.
    pub row_version: i64,
}

/// A consent decision as stored (append-only).
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    /// UUIDv7.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// Purpose.
    pub purpose: String,
    /// Granted (true) or refused/withdrawn (false): always an explicit act.
    pub granted: bool,
    /// Version of the text shown.
    pub text_version: String,
    /// SHA-256 of the exact text shown.
    pub text_sha256: String,
    /// Locale of the text shown.
    pub locale: String,
    /// Channel (`mobile`, `web`, `branch`).
    pub channel: String,
    /// Server time, UTC µs.
    pub recorded_us: i64,
    /// Sealed client IP and user agent (personal data).
    pub client_sealed: Vec<u8>,
    /// Policy version in force.
    pub policy_version: String,
    /// Policy hash in force.
    pub policy_sha256: String,
}

/// An idempotency record to store with a change (same transaction).
#[derive(Debug, Clone)]
pub struct IdempotencyWrite {
    /// Blind index of the caller.
    pub scope: String,
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_sha256: String,
    /// Response status to replay.
    pub status: u16,
    /// Response body to replay.
    pub response: Vec<u8>,
}

/// A stored response for an idempotency key.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    /// SHA-256 of the original request.
    pub request_sha256: String,
    /// Status.
    pub status: u16,
    /// Body.
    pub response: Vec<u8>,
}

/// A state change with its optimistic-concurrency guard.
#[derive(Debug, Clone)]
pub struct StateChange {
    /// The application.
    pub id: String,
    /// The row version the caller read.
    pub row_version: i64,
    /// The state the caller read.
    pub from: ApplicationState,
    /// The new state.
    pub to: ApplicationState,
    /// When, UTC µs.
    pub now_us: i64,
}

/// Audit entries to enqueue in the same transaction.
pub type AuditRows = Vec<(String, Vec<u8>)>;

/// Staff listing filters.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    /// Only this state.
    pub state: Option<ApplicationState>,
    /// Only this product.
    pub product: Option<String>,
    /// Cursor: ids after this one.
    pub after_id: Option<String>,
    /// Page size.
    pub limit: u32,
}

/// Storage of applications, consents and idempotency keys; implemented for
/// both backends in `store::applications`. Every write is one transaction
/// that also enqueues its audit entries and idempotency record.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// The stored response for a key, if any.
    async fn idempotency_get(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// Inserts a new application.
    async fn application_insert(
        &self,
        app: &ApplicationRecord,
        audit: &AuditRows,
        idem: Option<&IdempotencyWrite>,
    ) -> Result<(), StoreError>;
    /// One application.
    async fn application_get(&self, id: &str) -> Result<Option<ApplicationRecord>, StoreError>;
    /// Open applications of an owner with this identity and product.
    async fn application_find_open(
        &self,
        owner_index: &str,
        identity_index: &str,
        product: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Staff listing, by id.
    async fn application_list(
        &self,
        filter: &ApplicationFilter,
    ) -> Result<Vec<ApplicationRecord>, StoreError>;
    /// Moves an application along `change` if it is still at the expected
    /// row version and state (else `Conflict`).
    async fn application_transition(
        &self,
        change: &StateChange,
        audit: &AuditRows,
        idem: Option<&IdempotencyWrite>,
        outbox: Option<&crate::review::store::OutboxEvent>,
    ) -> Result<(), StoreError>;
    /// Submits: `change` (to `checking`), the checks of a new round and the
    /// jobs that run them, the audit entries and the idempotency record, in
    /// one transaction. Returns the round.
    async fn application_submit(
        &self,
        change: &StateChange,
        checks: &[crate::checks::pipeline::NewCheck],
        jobs: &[crate::jobs::NewJob],
        audit: &AuditRows,
        idem: Option<&IdempotencyWrite>,
    ) -> Result<i64, StoreError>;
    /// Drafts not changed since `cutoff_us`.
    async fn application_stale_drafts(
        &self,
        cutoff_us: i64,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>, StoreError>;
    /// Appends consent records.
    async fn consent_insert(
        &self,
        records: &[ConsentRecord],
        audit: &AuditRows,
        idem: Option<&IdempotencyWrite>,
    ) -> Result<(), StoreError>;
    /// An application's consent records in order.
    async fn consent_list(&self, application_id: &str) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Removes idempotency keys older than `cutoff_us` (kept ≥ 24 h).
    async fn idempotency_purge(&self, cutoff_us: i64) -> Result<u64, StoreError>;
}

/// Who is calling, as the use cases need it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token subject.
    pub subject: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// OAuth client.
    pub client_id: Option<String>,
    /// `bearer`, `dpop`, `mtls`.
    pub auth_method: String,
    /// Request id.
    pub request_id: Option<String>,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Client IP.
    pub client_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
}

impl Caller {
    pub(crate) fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| {
            matches!(
                r,
                Role::Officer | Role::SeniorOfficer | Role::Auditor | Role::Admin
            )
        })
    }

    fn actor_kind(&self) -> &'static str {
        if self.is_staff() {
            "staff"
        } else if self.roles.contains(&Role::Service) {
            "service"
        } else {
            "applicant"
        }
    }
}

/// Failures of the onboarding use cases.
#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    /// No such application, or not the caller's (the same answer, on purpose).
    #[error("not found")]
    NotFound,
    /// Invalid input; every bad field is listed.
    #[error("validation failed")]
    Invalid(Vec<FieldProblem>),
    /// The state machine does not allow it.
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    /// Required consents are not granted.
    #[error("required consents missing: {0:?}")]
    ConsentsMissing(Vec<String>),
    /// The caller already has an open application for this person and product.
    #[error("an open application exists: {0}")]
    Duplicate(String),
    /// Someone changed the application at the same time.
    #[error("the application changed concurrently")]
    Concurrent,
    /// The same idempotency key was used with another request.
    #[error("idempotency key reused")]
    IdempotencyConflict,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// Encryption failed (key missing or data altered).
    #[error("crypto: {0}")]
    Crypto(String),
    /// The audit entry could not be built.
    #[error(transparent)]
    Audit(#[from] crate::audit::log::AuditError),
}

impl From<StoreError> for OnboardingError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(c) if c.contains("idempotency") => Self::IdempotencyConflict,
            StoreError::Conflict(_) => Self::Concurrent,
            other => Self::Store(other),
        }
    }
}

fn crypto(e: crate::crypto::envelope::CryptoError) -> OnboardingError {
    OnboardingError::Crypto(e.to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What an applicant or service asks to create.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Product id.
    pub product: String,
    /// Jurisdiction (ISO 3166-1 alpha-2).
    pub jurisdiction: String,
    /// The applicant's identity.
    pub identity: IdentityInput,
    /// For services: the applicant's subject at the identity provider.
    pub on_behalf_of: Option<String>,
}

/// One consent decision the applicant made.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentDecision {
    /// Purpose, e.g. `kyc_processing`.
    pub purpose: String,
    /// Granted or refused. Required: there is no default.
    pub granted: bool,
    /// Version of the text the app showed.
    pub text_version: String,
    /// SHA-256 (hex) of the exact text the app showed.
    pub text_sha256: String,
    /// Locale of the text shown.
    pub locale: String,
}

/// A consent text the app must show.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentTextView {
    /// Purpose.
    pub purpose: String,
    /// Must be granted before submission.
    pub required: bool,
    /// Text version.
    pub version: String,
    /// Locale.
    pub locale: String,
    /// The exact text to show.
    pub text: String,
    /// SHA-256 (hex) of `text`; send it back with the decision.
    pub sha256: String,
}

/// The use cases, with what they need.
pub struct Onboarding {
    store: Arc<dyn ApplicationStore>,
    audit: Arc<AuditLog>,
    policy: Arc<Policy>,
    keyring: Keyring,
    blind: BlindIndexKey,
    clock: Arc<dyn Clock>,
    /// Attempts each check job gets before its check ends as `error`.
    check_attempts: u32,
    /// Wakes the check worker when a submission has queued checks.
    submitted: Arc<tokio::sync::Notify>,
    /// The provider recorded for document and liveness checks.
    vendor_provider: &'static str,
}

impl std::fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarding")
            .field("policy", &self.policy.label())
            .finish()
    }
}

/// Channels a consent can be captured through.
pub const CHANNELS: &[&str] = &["mobile", "web", "branch"];

impl Onboarding {
    /// Assembles the use cases.
    pub fn new(
        store: Arc<dyn ApplicationStore>,
        audit: Arc<AuditLog>,
        policy: Arc<Policy>,
        keyring: Keyring,
        blind: BlindIndexKey,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            audit,
            policy,
            keyring,
            blind,
            clock,
            check_attempts: 5,
            submitted: Arc::new(tokio::sync::Notify::new()),
            vendor_provider: crate::checks::sandbox::PROVIDER,
        }
    }

    /// Sets the attempts each check job gets (from `checks.max_attempts`).
    #[must_use]
    pub fn with_check_attempts(mut self, attempts: u32) -> Self {
        self.check_attempts = attempts.max(1);
        self
    }

    /// Sets the provider recorded for document and liveness checks (the
    /// configured vendor; the sandbox otherwise).
    #[must_use]
    pub fn with_vendor_provider(mut self, name: &'static str) -> Self {
        self.vendor_provider = name;
        self
    }

    /// Notified after every submission, for the check worker.
    pub fn submissions(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.submitted)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The blind index of a subject: how the store knows owners.
    pub fn subject_index(&self, subject: &str) -> String {
        self.blind.index("subject", subject)
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    fn event(
        &self,
        caller: &Caller,
        action: &str,
        app: &ApplicationRecord,
        before: Option<ApplicationState>,
        after: Option<ApplicationState>,
        digest: Option<String>,
    ) -> AuditEvent {
        let target = Target {
            kind: "application".to_owned(),
            id: self.audit.pseudonym("application", &app.id),
            state_before: before.map(|s| s.as_str().to_owned()),
            state_after: after.map(|s| s.as_str().to_owned()),
        };
        self.caller_event(caller, action, target, digest)
    }

    /// An audit event of `caller` acting on `target`, with the request's
    /// correlation ids and the policy in force.
    pub(crate) fn caller_event(
        &self,
        caller: &Caller,
        action: &str,
        target: Target,
        digest: Option<String>,
    ) -> AuditEvent {
        let actor = self.audit.subject_actor(
            caller.actor_kind(),
            &caller.subject,
            &caller.auth_method,
            caller.client_id.as_deref(),
        );
        let mut e = self
            .audit
            .event(action, actor, "success", caller.client_ip.clone());
        e.target = Some(target);
        e.request_id = caller.request_id.clone();
        e.trace_id = caller.trace_id.clone();
        e.policy_version = Some(self.policy.label());
        e.record_digest = digest;
        e
    }

    /// The key-encryption keys, for other use cases that seal data at rest.
    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The audit log.
    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Whether the caller is the applicant who owns `app`.
    pub(crate) fn is_owner(&self, caller: &Caller, app: &ApplicationRecord) -> bool {
        caller.roles.contains(&Role::Applicant)
            && app.owner_index == self.subject_index(&caller.subject)
    }

    /// A replayable response for `(scope, key)`, or `IdempotencyConflict`
    /// when the key was used for another request.
    pub async fn idempotent_replay(
        &self,
        caller: &Caller,
        key: &str,
        request_sha256: &str,
    ) -> Result<Option<StoredResponse>, OnboardingError> {
        match self
            .store
            .idempotency_get(&self.subject_index(&caller.subject), key)
            .await?
        {
            Some(stored) if stored.request_sha256 == request_sha256 => Ok(Some(stored)),
            Some(_) => Err(OnboardingError::IdempotencyConflict),
            None => Ok(None),
        }
    }

    /// Builds the idempotency record for this caller.
    pub fn idempotency(
        &self,
        caller: &Caller,
        key: &str,
        request_sha256: &str,
        status: u16,
        response: Vec<u8>,
    ) -> IdempotencyWrite {
        IdempotencyWrite {
            scope: self.subject_index(&caller.subject),
            key: key.to_owned(),
            request_sha256: request_sha256.to_owned(),
            status,
            response,
        }
    }

    /// Validates and creates an application in `draft`. The response body
    /// (for idempotent replay) is built by `respond` from the new record.
    pub async fn create(
        &self,
        caller: &Caller,
        new: NewApplication,
        idem: impl FnOnce(&ApplicationRecord) -> Option<IdempotencyWrite>,
    ) -> Result<ApplicationRecord, OnboardingError> {
        let owner_subject = if caller.roles.contains(&Role::Applicant) && new.on_behalf_of.is_none()
        {
            caller.subject.clone()
        } else if caller.roles.contains(&Role::Service) {
            new.on_behalf_of.clone().ok_or_else(|| {
                OnboardingError::Invalid(vec![FieldProblem {
                    field: "applicant_subject".to_owned(),
                    code: "required".to_owned(),
                    message: "a service must name the applicant it acts for".to_owned(),
                }])
            })?
        } else {
            return Err(OnboardingError::Invalid(vec![FieldProblem {
                field: "applicant_subject".to_owned(),
                code: "not_allowed".to_owned(),
                message: "only services create applications on an applicant's behalf".to_owned(),
            }]));
        };
        let today = self.clock.now().date_naive();
        let mut problems = Vec::new();
        let product = self.policy.products.get(&new.product);
        match product {
            None => problems.push(FieldProblem {
                field: "product".into(),
                code: "unknown_product".into(),
                message: format!(
                    "one of: {}",
                    self.policy
                        .products
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
            Some(p) => {
                let offered = crate::domain::country::CountryCode::parse(&new.jurisdiction)
                    .map(|c| p.jurisdictions.contains(&c))
                    .unwrap_or(false);
                if !offered {
                    problems.push(FieldProblem {
                        field: "jurisdiction".into(),
                        code: "not_offered".into(),
                        message: format!(
                            "product `{}` is not offered in `{}`",
                            p.id, new.jurisdiction
                        ),
                    });
                }
            }
        }
        let identity = match new.identity.parse(today, self.policy.minimum_age) {
            Ok(i) => Some(i),
            Err(mut p) => {
                problems.append(&mut p);
                None
            }
        };
        let (Some(identity), true) = (identity, problems.is_empty()) else {
            return Err(OnboardingError::Invalid(problems));
        };
        let owner_index = self.subject_index(&owner_subject);
        let identity_index = identity.blind_index(&self.blind);
        if let Some(existing) = self
            .store
            .application_find_open(&owner_index, &identity_index, &new.product)
            .await?
        {
            return Err(OnboardingError::Duplicate(existing));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let dek = DataKey::generate().map_err(crypto)?;
        let json =
            serde_json::to_vec(&identity).map_err(|e| OnboardingError::Crypto(e.to_string()))?;
        let sealed = dek
            .seal(&json, &format!("application:{id}:identity"))
            .map_err(crypto)?;
        let now = self.now_us();
        let record = ApplicationRecord {
            dek: self.keyring.wrap(&dek, &id).map_err(crypto)?,
            id,
            owner_index,
            created_by: if caller.roles.contains(&Role::Service) {
                "service"
            } else {
                "applicant"
            }
            .to_owned(),
            product: new.product,
            jurisdiction: new.jurisdiction,
            state: ApplicationState::Draft,
            identity_index,
            policy_version: self.policy.version.clone(),
            policy_sha256: self.policy.sha256.clone(),
            created_us: now,
            updated_us: now,
            row_version: 1,
            identity_sealed: sealed,
        };
        let event = self.event(
            caller,
            "application.created",
            &record,
            None,
            Some(ApplicationState::Draft),
            Some(sha256_hex(&record.identity_sealed)),
        );
        let audit = encode_all(&[event])?;
        match self
            .store
            .application_insert(&record, &audit, idem(&record).as_ref())
            .await
        {
            Ok(()) => {}
            // A concurrent request opened the same application first.
            Err(StoreError::Conflict(c))
                if c.contains("applications_one_open")
                    || c.contains("applications.owner_index") =>
            {
                let existing = self
                    .store
                    .application_find_open(
                        &record.owner_index,
                        &record.identity_index,
                        &record.product,
                    )
                    .await?
                    .unwrap_or_default();
                return Err(OnboardingError::Duplicate(existing));
            }
            Err(e) => return Err(e.into()),
        }
        self.audit.wake_handle().notify_one();
        Ok(record)
    }

    /// Loads an application the caller may see: its owner, or staff.
    /// Anyone else gets `NotFound`, the same as for a missing id.
    pub async fn load(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ApplicationRecord, OnboardingError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(OnboardingError::NotFound);
        }
        let app = self
            .store
            .application_get(id)
            .await?
            .ok_or(OnboardingError::NotFound)?;
        let owner = caller.roles.contains(&Role::Applicant)
            && app.owner_index == self.subject_index(&caller.subject);
        if owner || caller.is_staff() {
            Ok(app)
        } else {
            Err(OnboardingError::NotFound)
        }
    }

    /// Decrypts the identity of an application the caller may see. A read of
    /// personal data, so it is audited.
    pub async fn view_identity(
        &self,
        caller: &Caller,
        app: &ApplicationRecord,
    ) -> Result<Identity, OnboardingError> {
        let identity = self.open_identity(app)?;
        let event = self.event(caller, "application.pii_viewed", app, None, None, None);
        self.audit.record(&[event]).await?;
        Ok(identity)
    }

    /// Decrypts an application's identity for processing (the checks);
    /// callers that show it to a person use [`Onboarding::view_identity`],
    /// which audits the read.
    pub(crate) fn open_identity(
        &self,
        app: &ApplicationRecord,
    ) -> Result<Identity, OnboardingError> {
        let dek = self.keyring.unwrap_key(&app.dek, &app.id).map_err(crypto)?;
        let json = dek
            .open(
                &app.identity_sealed,
                &format!("application:{}:identity", app.id),
            )
            .map_err(crypto)?;
        serde_json::from_slice(&json).map_err(|e| OnboardingError::Crypto(e.to_string()))
    }

    /// Staff listing.
    pub async fn list(
        &self,
        filter: &ApplicationFilter,
    ) -> Result<Vec<ApplicationRecord>, OnboardingError> {
        Ok(self.store.application_list(filter).await?)
    }

    /// The consent texts for an application's product in the negotiated locale.
    pub fn consent_texts(
        &self,
        app: &ApplicationRecord,
        wanted_locale: Option<&str>,
    ) -> (String, Vec<ConsentTextView>) {
        let locale = self.policy.negotiate_locale(wanted_locale);
        let mut out = Vec::new();
        if let Some(product) = self.policy.products.get(&app.product) {
            let purposes = product
                .required_consents
                .iter()
                .map(|p| (p, true))
                .chain(product.optional_consents.iter().map(|p| (p, false)));
            for (purpose, required) in purposes {
                if let Some(t) = self.policy.consents.get(&(purpose.clone(), locale.clone())) {
                    out.push(ConsentTextView {
                        purpose: purpose.clone(),
                        required,
                        version: t.version.clone(),
                        locale: t.locale.clone(),
                        text: t.text.clone(),
                        sha256: t.sha256.clone(),
                    });
                }
            }
        }
        (locale, out)
    }

    /// Records the applicant's decisions (GDPR Art. 7): each must name the
    /// exact text version and hash that was shown. Append-only.
    pub async fn record_consents(
        &self,
        caller: &Caller,
        app: &ApplicationRecord,
        channel: &str,
        decisions: &[ConsentDecision],
        idem: impl FnOnce(&[ConsentRecord]) -> Option<IdempotencyWrite>,
    ) -> Result<Vec<ConsentRecord>, OnboardingError> {
        if !(caller.roles.contains(&Role::Applicant)
            && app.owner_index == self.subject_index(&caller.subject))
        {
            return Err(OnboardingError::NotFound);
        }
        let mut problems = Vec::new();
        if !CHANNELS.contains(&channel) {
            problems.push(FieldProblem {
                field: "channel".into(),
                code: "invalid".into(),
                message: format!("one of: {}", CHANNELS.join(", ")),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in decisions.iter().enumerate() {
            if !seen.insert(d.purpose.as_str()) {
                problems.push(FieldProblem {
                    field: format!("decisions[{i}].purpose"),
                    code: "duplicate_purpose".into(),
                    message: "one decision per purpose in a request".into(),
                });
            }
            // Withdrawing is always possible (GDPR Art. 7(3)); granting on a
            // closed application would consent to nothing.
            if d.granted && app.state.is_final() {
                problems.push(FieldProblem {
                    field: format!("decisions[{i}].granted"),
                    code: "application_closed".into(),
                    message: format!(
                        "the application is {}; only withdrawals are recorded",
                        app.state
                    ),
                });
            }
        }
        if decisions.is_empty() || decisions.len() > 20 {
            problems.push(FieldProblem {
                field: "decisions".into(),
                code: "count".into(),
                message: "1 to 20 decisions".into(),
            });
        }
        let offered: Vec<String> = self
            .policy
            .products
            .get(&app.product)
            .map(|p| {
                p.required_consents
                    .iter()
                    .chain(&p.optional_consents)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for (i, d) in decisions.iter().enumerate() {
            let field = |f: &str| format!("decisions[{i}].{f}");
            if !offered.contains(&d.purpose) {
                problems.push(FieldProblem {
                    field: field("purpose"),
                    code: "unknown_purpose".into(),
                    message: format!("one of: {}", offered.join(", ")),
                });
                continue;
            }
            match self
                .policy
                .consents
                .get(&(d.purpose.clone(), d.locale.clone()))
            {
                None => problems.push(FieldProblem {
                    field: field("locale"),
                    code: "unknown_locale".into(),
                    message: format!("one of: {}", self.policy.locales.join(", ")),
                }),
                Some(t) if t.version != d.text_version => problems.push(FieldProblem {
                    field: field("text_version"),
                    code: "consent_text_mismatch".into(),
                    message: format!("the current version is {}", t.version),
                }),
                Some(t) if !t.sha256.eq_ignore_ascii_case(&d.text_sha256) => {
                    problems.push(FieldProblem {
                        field: field("text_sha256"),
                        code: "consent_text_mismatch".into(),
                        message: "not the hash of the text for this version and locale".into(),
                    })
                }
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(OnboardingError::Invalid(problems));
        }
        let dek = self.keyring.unwrap_key(&app.dek, &app.id).map_err(crypto)?;
        let now = self.now_us();
        let client = serde_json::json!({ "ip": caller.client_ip, "user_agent": caller.user_agent })
            .to_string();
        let mut records = Vec::new();
        let mut events = Vec::new();
        for d in decisions {
            let id = uuid::Uuid::now_v7().to_string();
            let record = ConsentRecord {
                client_sealed: dek
                    .seal(client.as_bytes(), &format!("consent:{id}:client"))
                    .map_err(crypto)?,
                id,
                application_id: app.id.clone(),
                purpose: d.purpose.clone(),
                granted: d.granted,
                text_version: d.text_version.clone(),
                text_sha256: d.text_sha256.to_ascii_lowercase(),
                locale: d.locale.clone(),
                channel: channel.to_owned(),
                recorded_us: now,
                policy_version: self.policy.version.clone(),
                policy_sha256: self.policy.sha256.clone(),
            };
            let digest = sha256_hex(
                format!(
                    "{}|{}|{}|{}|{}|{}",
                    record.id,
                    record.purpose,
                    record.granted,
                    record.text_version,
                    record.text_sha256,
                    record.recorded_us
                )
                .as_bytes(),
            );
            let mut e = self.event(
                caller,
                if d.granted {
                    "consent.granted"
                } else {
                    "consent.refused"
                },
                app,
                None,
                None,
                Some(digest),
            );
            e.outcome.reason_code = Some(d.purpose.clone());
            events.push(e);
            records.push(record);
        }
        let audit = encode_all(&events)?;
        self.store
            .consent_insert(&records, &audit, idem(&records).as_ref())
            .await?;
        self.audit.wake_handle().notify_one();
        Ok(records)
    }

    /// The consent history of an application.
    pub async fn consent_history(
        &self,
        app: &ApplicationRecord,
    ) -> Result<Vec<ConsentRecord>, OnboardingError> {
        Ok(self.store.consent_list(&app.id).await?)
    }

    /// Required purposes whose latest decision is not a grant.
    pub fn missing_consents(
        &self,
        app: &ApplicationRecord,
        history: &[ConsentRecord],
    ) -> Vec<String> {
        let Some(product) = self.policy.products.get(&app.product) else {
            return Vec::new();
        };
        product
            .required_consents
            .iter()
            .filter(|purpose| {
                !history
                    .iter()
                    .rev()
                    .find(|r| &r.purpose == *purpose)
                    .is_some_and(|r| r.granted)
            })
            .cloned()
            .collect()
    }

    /// Applies a transition requested by the caller (submit, withdraw), in one
    /// transaction with its audit entry. Submission needs the required consents.
    pub async fn transition(
        &self,
        caller: &Caller,
        app: &ApplicationRecord,
        transition: Transition,
        idem: impl FnOnce(ApplicationState, i64) -> Option<IdempotencyWrite>,
    ) -> Result<ApplicationState, OnboardingError> {
        let owner = caller.roles.contains(&Role::Applicant)
            && app.owner_index == self.subject_index(&caller.subject);
        if !owner {
            return Err(OnboardingError::NotFound);
        }
        let next = app.state.apply(transition)?;
        if transition == Transition::Submit {
            let missing = self.missing_consents(app, &self.consent_history(app).await?);
            if !missing.is_empty() {
                return Err(OnboardingError::ConsentsMissing(missing));
            }
            return self.submit(caller, app, next, idem).await;
        }
        let action = match transition {
            Transition::Submit => "application.submitted",
            Transition::Withdraw => "application.withdrawn",
            _ => "application.transitioned",
        };
        let event = self.event(caller, action, app, Some(app.state), Some(next), None);
        let audit = encode_all(&[event])?;
        let change = StateChange {
            id: app.id.clone(),
            row_version: app.row_version,
            from: app.state,
            to: next,
            now_us: self.now_us(),
        };
        // A withdrawal is news for the bank's systems (the same outbox as
        // decisions), written in the same transaction.
        let outbox = match transition {
            Transition::Withdraw => Some(
                crate::review::sealed_event(
                    &self.keyring,
                    app,
                    "application.withdrawn",
                    serde_json::json!({
                        "application_id": app.id,
                        "product": app.product,
                        "jurisdiction": app.jurisdiction,
                        "previous_state": app.state.as_str(),
                    }),
                    change.now_us,
                    None,
                )
                .map_err(OnboardingError::Crypto)?,
            ),
            _ => None,
        };
        self.store
            .application_transition(
                &change,
                &audit,
                idem(next, change.now_us).as_ref(),
                outbox.as_ref(),
            )
            .await?;
        self.audit.wake_handle().notify_one();
        Ok(next)
    }

    /// Submission: the application moves on to `checking` and the checks
    /// the policy requires for its product are queued, all in one
    /// transaction with the audit entry (DESIGN.md "The flow").
    async fn submit(
        &self,
        caller: &Caller,
        app: &ApplicationRecord,
        submitted: ApplicationState,
        idem: impl FnOnce(ApplicationState, i64) -> Option<IdempotencyWrite>,
    ) -> Result<ApplicationState, OnboardingError> {
        let next = submitted.apply(Transition::StartChecks)?;
        let kinds = self
            .policy
            .products
            .get(&app.product)
            .map(|p| p.checks.clone())
            .unwrap_or_default();
        let (checks, jobs) = crate::checks::pipeline::submission(
            &kinds,
            |k| {
                if k.by_vendor() {
                    self.vendor_provider.to_owned()
                } else {
                    crate::checks::pipeline::default_provider(k).to_owned()
                }
            },
            &self.policy.label(),
            self.check_attempts,
        );
        let event = self.event(
            caller,
            "application.submitted",
            app,
            Some(app.state),
            Some(next),
            None,
        );
        let audit = encode_all(&[event])?;
        let change = StateChange {
            id: app.id.clone(),
            row_version: app.row_version,
            from: app.state,
            to: next,
            now_us: self.now_us(),
        };
        self.store
            .application_submit(
                &change,
                &checks,
                &jobs,
                &audit,
                idem(next, change.now_us).as_ref(),
            )
            .await?;
        self.audit.wake_handle().notify_one();
        self.submitted.notify_one();
        Ok(next)
    }

    /// Expires drafts untouched for the policy's `draft_expiry_days`, each in
    /// its own transaction with its audit entry. Returns how many expired.
    pub async fn expire_stale_drafts(&self) -> Result<u64, OnboardingError> {
        let now = self.now_us();
        let cutoff = now - i64::from(self.policy.draft_expiry_days) * 86_400_000_000;
        let mut expired = 0;
        for app in self.store.application_stale_drafts(cutoff, 500).await? {
            let next = app.state.apply(Transition::Expire)?;
            let mut e = self.audit.event(
                "application.expired",
                self.audit.system_actor(),
                "success",
                None,
            );
            e.target = Some(Target {
                kind: "application".to_owned(),
                id: self.audit.pseudonym("application", &app.id),
                state_before: Some(app.state.as_str().to_owned()),
                state_after: Some(next.as_str().to_owned()),
            });
            e.policy_version = Some(self.policy.label());
            e.outcome.reason_code = Some("draft_expired".to_owned());
            let audit = encode_all(&[e])?;
            let change = StateChange {
                id: app.id.clone(),
                row_version: app.row_version,
                from: app.state,
                to: next,
                now_us: now,
            };
            match self
                .store
                .application_transition(&change, &audit, None, None)
                .await
            {
                Ok(()) => expired += 1,
                // Changed meanwhile (e.g. submitted): no longer stale.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if expired > 0 {
            self.audit.wake_handle().notify_one();
        }
        Ok(expired)
    }

    /// Drops idempotency keys older than 48 hours (the contract is ≥ 24 h).
    pub async fn purge_idempotency_keys(&self) -> Result<u64, OnboardingError> {
        Ok(self
            .store
            .idempotency_purge(self.now_us() - 48 * 3_600_000_000)
            .await?)
    }
}
