//! The checks of a submitted application, end to end: the [`Provider`]
//! trait every check runs behind, the check records, and the worker that
//! runs them from the durable job queue (DESIGN.md "KYC checks and
//! providers").
//!
//! Submission adds one `pending` check per kind the policy requires and one
//! `check.run` job per check, in the same transaction as the move to
//! `checking` (see `Onboarding::transition`). A worker claims jobs with a
//! lease, runs the provider, and writes the result once: the row goes from
//! `pending` to its final state in one transaction with its audit entry, and
//! the database refuses any later change. A retried job whose check has
//! already ended does nothing, so a crash between result and job completion
//! never runs a check twice. A provider that keeps failing ends the check as
//! `error` with the reason: an error never approves anything.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::audit::AuditLog;
use crate::audit::entry::Target;
use crate::audit::log::encode_all;
use crate::domain::check::{CheckKind, CheckState};
use crate::domain::clock::Clock;
use crate::domain::document::{DocumentKind, DocumentSide};
use crate::jobs::{ClaimedJob, Retry, retry_after_failure};
use crate::onboarding::identity::Identity;
use crate::onboarding::{ApplicationRecord, AuditRows, Caller, Onboarding, OnboardingError};
use crate::store::{Store, StoreError};

/// The job kind that runs one check.
pub const JOB_KIND: &str = "check.run";

/// What a provider is given: the application's declared identity and its
/// current documents, decrypted for the check and never stored in clear.
#[derive(Debug, Clone)]
pub struct CheckInput {
    /// The application.
    pub application_id: String,
    /// Product id.
    pub product: String,
    /// Jurisdiction (ISO 3166-1 alpha-2).
    pub jurisdiction: String,
    /// The declared identity.
    pub identity: Identity,
    /// Current (not superseded) documents.
    pub documents: Vec<DocumentFacts>,
    /// Today's date (UTC), for expiry.
    pub today: NaiveDate,
}

/// A document as checks see it.
#[derive(Debug, Clone)]
pub struct DocumentFacts {
    /// Document id.
    pub id: String,
    /// Kind.
    pub kind: DocumentKind,
    /// Side, for cards.
    pub side: Option<DocumentSide>,
    /// The MRZ text sent with it, if any.
    pub mrz: Option<String>,
}

/// What a provider found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderResult {
    /// The outcome. `pending` means the provider has taken the check on
    /// (a vendor check was created) and the result comes later: the job is
    /// done, the check stays pending until [`Checks::finish`] ends it (from a
    /// webhook or a poll).
    pub state: CheckState,
    /// Stable reason codes for the decision policy (no personal data).
    pub reasons: Vec<String>,
    /// The raw evidence, for staff only; stored encrypted.
    pub evidence: serde_json::Value,
}

/// A provider could not answer now; the job is retried with backoff, and
/// when no attempts are left the check ends as `error` with this reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct ProviderError {
    /// A stable reason code (`provider_unavailable`, `provider_timeout`, …).
    pub reason: &'static str,
    /// What happened, for logs and staff (no personal data).
    pub detail: String,
}

/// One kind of check, done by the gateway itself or by a vendor.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's stable name, recorded with each check.
    fn name(&self) -> &'static str;
    /// Runs the check. Must be idempotent: the same input may come again
    /// after a crash, and must not start a second billable vendor check.
    async fn run(
        &self,
        check_id: &str,
        input: &CheckInput,
    ) -> Result<ProviderResult, ProviderError>;
}

/// A check to add on submission.
#[derive(Debug, Clone)]
pub struct NewCheck {
    /// UUIDv7.
    pub id: String,
    /// Kind.
    pub kind: CheckKind,
    /// The provider that will run it.
    pub provider: String,
    /// `policy-id@version` that required it.
    pub policy_version: String,
}

/// A stored check.
#[derive(Debug, Clone)]
pub struct CheckRecord {
    /// UUIDv7.
    pub id: String,
    /// The application.
    pub application_id: String,
    /// Submission round, from 1.
    pub round: i64,
    /// Kind.
    pub kind: CheckKind,
    /// Provider name.
    pub provider: String,
    /// Where it stands.
    pub state: CheckState,
    /// Reason codes.
    pub reason_codes: Vec<String>,
    /// The evidence, sealed with the application's data key.
    pub evidence_sealed: Option<Vec<u8>>,
    /// Policy that required it.
    pub policy_version: String,
    /// Created, UTC µs.
    pub created_us: i64,
    /// Ended, UTC µs.
    pub completed_us: Option<i64>,
}

/// A check's end, as stored.
#[derive(Debug, Clone)]
pub struct CheckCompletion<'a> {
    /// The check.
    pub id: &'a str,
    /// Its final state.
    pub state: CheckState,
    /// Comma-separated reason codes.
    pub reason_codes: String,
    /// Sealed evidence.
    pub evidence_sealed: Option<Vec<u8>>,
    /// When, UTC µs.
    pub now_us: i64,
    /// The audit entry.
    pub audit: &'a AuditRows,
}

/// Storage of checks; implemented for both backends in `store::checks`.
#[async_trait]
pub trait CheckStore: Send + Sync {
    /// One check.
    async fn check_get(&self, id: &str) -> Result<Option<CheckRecord>, StoreError>;
    /// Every check of an application, oldest round first.
    async fn check_list(&self, application_id: &str) -> Result<Vec<CheckRecord>, StoreError>;
    /// Ends a pending check with its audit entry; false if it had already
    /// ended (a retried job).
    async fn check_complete(&self, done: &CheckCompletion<'_>) -> Result<bool, StoreError>;
}

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Names this worker's leases.
    pub owner: String,
    /// How long a claimed job is ours; a crashed worker's job is claimed
    /// again after it.
    pub lease: Duration,
    /// Longest a provider may take for one attempt.
    pub provider_timeout: Duration,
    /// Jobs claimed per round.
    pub batch: u32,
    /// Pause when the queue is empty.
    pub idle: Duration,
    /// First retry delay (doubling, capped, jittered).
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
}

/// Errors of the checks use cases.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// From the application use cases (not found, storage).
    #[error(transparent)]
    Onboarding(#[from] OnboardingError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing or opening evidence.
    #[error("crypto: {0}")]
    Crypto(String),
}

/// The job payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobPayload {
    /// The check to run.
    pub check_id: String,
}

/// The checks use cases: run queued checks, show results.
pub struct Checks {
    store: Arc<dyn Store>,
    onboarding: Arc<Onboarding>,
    audit: Arc<AuditLog>,
    providers: HashMap<CheckKind, Arc<dyn Provider>>,
    clock: Arc<dyn Clock>,
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checks")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
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

/// The sealing context of a check's evidence.
pub(crate) fn evidence_context(check_id: &str) -> String {
    format!("check:{check_id}:evidence")
}

impl Checks {
    /// The use cases over `store`, with one provider per kind.
    pub fn new(
        store: Arc<dyn Store>,
        onboarding: Arc<Onboarding>,
        audit: Arc<AuditLog>,
        providers: HashMap<CheckKind, Arc<dyn Provider>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            wake: onboarding.submissions(),
            store,
            onboarding,
            audit,
            providers,
            clock,
        }
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    /// The provider name recorded for a kind.
    pub fn provider_name(&self, kind: CheckKind) -> Option<&'static str> {
        self.providers.get(&kind).map(|p| p.name())
    }

    /// Claims and runs up to `settings.batch` jobs; returns how many ran.
    pub async fn run_once(&self, settings: &WorkerSettings) -> Result<usize, CheckError> {
        let now = self.now_us();
        let lease_us = i64::try_from(settings.lease.as_micros()).unwrap_or(i64::MAX);
        let jobs = self
            .store
            .jobs_claim(
                &settings.owner,
                now,
                now.saturating_add(lease_us),
                settings.batch,
            )
            .await?;
        let ran = jobs.len();
        for job in jobs {
            if let Err(e) = self.run_job(&job, settings).await {
                // Storage trouble: the lease runs out and the job comes back.
                tracing::warn!(job = %job.id, error = %e, "check job failed; it will be retried");
            }
        }
        Ok(ran)
    }

    async fn run_job(&self, job: &ClaimedJob, settings: &WorkerSettings) -> Result<(), CheckError> {
        let owner = settings.owner.as_str();
        let payload: Option<JobPayload> = (job.kind == JOB_KIND)
            .then(|| serde_json::from_slice(&job.payload).ok())
            .flatten();
        let Some(payload) = payload else {
            // Not ours to understand: fail it for good, visibly.
            self.store
                .jobs_fail(&job.id, owner, "unknown job", Retry::GiveUp, self.now_us())
                .await?;
            tracing::error!(job = %job.id, kind = %job.kind, "unknown job kind or payload");
            return Ok(());
        };
        let Some(check) = self.store.check_get(&payload.check_id).await? else {
            self.store
                .jobs_fail(
                    &job.id,
                    owner,
                    "no such check",
                    Retry::GiveUp,
                    self.now_us(),
                )
                .await?;
            return Ok(());
        };
        if check.state.is_final() {
            // Ended by an earlier attempt that crashed before completing the job.
            self.store
                .jobs_complete(&job.id, owner, self.now_us())
                .await?;
            return Ok(());
        }
        let result = match self.providers.get(&check.kind) {
            None => Err(ProviderError {
                reason: "provider_not_configured",
                detail: format!("no provider is configured for {} checks", check.kind),
            }),
            Some(provider) => {
                let input = self.input(&check).await?;
                match tokio::time::timeout(
                    settings.provider_timeout,
                    provider.run(&check.id, &input),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(ProviderError {
                        reason: "provider_timeout",
                        detail: format!(
                            "no answer within {} s",
                            settings.provider_timeout.as_secs()
                        ),
                    }),
                }
            }
        };
        let now = self.now_us();
        match result {
            Ok(found) if found.state == CheckState::Pending => {
                tracing::info!(check = %check.id, kind = %check.kind, "check handed to its provider; the result comes later");
                self.store.jobs_complete(&job.id, owner, now).await?;
            }
            Ok(found) => {
                self.complete(&check, found, job.attempt).await?;
                self.store.jobs_complete(&job.id, owner, now).await?;
            }
            Err(e) => {
                match retry_after_failure(job, now, settings.backoff_base, settings.backoff_cap) {
                    Retry::At(at) => {
                        tracing::warn!(check = %check.id, kind = %check.kind, attempt = job.attempt, error = %e, "check attempt failed; retrying");
                        self.store
                            .jobs_fail(&job.id, owner, &e.to_string(), Retry::At(at), now)
                            .await?;
                    }
                    Retry::GiveUp => {
                        tracing::warn!(check = %check.id, kind = %check.kind, error = %e, "check failed for good; it ends as error");
                        let ended = ProviderResult {
                            state: CheckState::Error,
                            reasons: vec![e.reason.to_owned()],
                            evidence: serde_json::json!({
                                "error": e.reason,
                                "detail": e.detail,
                                "attempts": job.attempt,
                            }),
                        };
                        self.complete(&check, ended, job.attempt).await?;
                        self.store
                            .jobs_fail(&job.id, owner, &e.to_string(), Retry::GiveUp, now)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The provider's input: identity and current documents, decrypted.
    async fn input(&self, check: &CheckRecord) -> Result<CheckInput, CheckError> {
        let app = self
            .store
            .application_get(&check.application_id)
            .await?
            .ok_or(OnboardingError::NotFound)?;
        let identity = self.onboarding.open_identity(&app)?;
        let keyring = self.onboarding.keyring();
        let mut documents = Vec::new();
        for d in self.store.document_list(&app.id).await? {
            if d.superseded_by.is_some() {
                continue;
            }
            let mrz = match &d.mrz_sealed {
                None => None,
                Some(sealed) => {
                    let dek = keyring
                        .unwrap_key(&d.dek, &d.id)
                        .map_err(|e| CheckError::Crypto(e.to_string()))?;
                    let plain = dek
                        .open(sealed, &crate::documents::mrz_context(&d.id))
                        .map_err(|e| CheckError::Crypto(e.to_string()))?;
                    Some(String::from_utf8_lossy(&plain).into_owned())
                }
            };
            documents.push(DocumentFacts {
                id: d.id,
                kind: d.kind,
                side: d.side,
                mrz,
            });
        }
        Ok(CheckInput {
            application_id: app.id.clone(),
            product: app.product.clone(),
            jurisdiction: app.jurisdiction.clone(),
            identity,
            documents,
            today: chrono::DateTime::from_timestamp_micros(self.now_us())
                .map(|t| t.date_naive())
                .unwrap_or_default(),
        })
    }

    /// Stores a check's end with its audit entry (reason codes only).
    async fn complete(
        &self,
        check: &CheckRecord,
        found: ProviderResult,
        attempts: u32,
    ) -> Result<(), CheckError> {
        let app = self
            .store
            .application_get(&check.application_id)
            .await?
            .ok_or(OnboardingError::NotFound)?;
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&app.dek, &app.id)
            .map_err(|e| CheckError::Crypto(e.to_string()))?;
        let evidence =
            serde_json::to_vec(&found.evidence).map_err(|e| CheckError::Crypto(e.to_string()))?;
        let sealed = dek
            .seal(&evidence, &evidence_context(&check.id))
            .map_err(|e| CheckError::Crypto(e.to_string()))?;
        let reasons = found.reasons.join(",");
        let mut event = self.audit.event(
            "check.completed",
            self.audit.system_actor(),
            "success",
            None,
        );
        event.outcome.reason_code = Some(found.state.as_str().to_owned());
        event.target = Some(Target {
            kind: "check".to_owned(),
            id: self.audit.pseudonym("check", &check.id),
            state_before: Some(CheckState::Pending.as_str().to_owned()),
            state_after: Some(found.state.as_str().to_owned()),
        });
        event.policy_version = Some(check.policy_version.clone());
        event.record_digest = Some(sha256_hex(
            format!(
                "{}\n{}\n{}\n{}\n{attempts}",
                check.kind,
                check.provider,
                found.state.as_str(),
                reasons
            )
            .as_bytes(),
        ));
        let audit = encode_all(&[event])
            .map_err(|e| CheckError::Store(StoreError::Other(e.to_string())))?;
        let ended = self
            .store
            .check_complete(&CheckCompletion {
                id: &check.id,
                state: found.state,
                reason_codes: reasons,
                evidence_sealed: Some(sealed),
                now_us: self.now_us(),
                audit: &audit,
            })
            .await?;
        if ended {
            self.audit.wake_handle().notify_one();
        }
        Ok(())
    }

    /// One check.
    pub async fn get(&self, check_id: &str) -> Result<Option<CheckRecord>, CheckError> {
        Ok(self.store.check_get(check_id).await?)
    }

    /// Ends a check a provider took on earlier (its result came by webhook
    /// or poll), exactly once, with its audit entry. False when there is no
    /// such check or it had already ended; a `pending` result changes
    /// nothing.
    pub async fn finish(&self, check_id: &str, found: ProviderResult) -> Result<bool, CheckError> {
        if found.state == CheckState::Pending {
            return Ok(false);
        }
        let Some(check) = self.store.check_get(check_id).await? else {
            return Ok(false);
        };
        if check.state.is_final() {
            return Ok(false);
        }
        self.complete(&check, found, 0).await?;
        Ok(self
            .store
            .check_get(check_id)
            .await?
            .is_some_and(|c| c.state.is_final()))
    }

    /// The checks of an application the caller may see, each with its
    /// evidence for staff (a read of personal data, audited) and without
    /// it for the applicant.
    pub async fn list(
        &self,
        caller: &Caller,
        application_id: &str,
    ) -> Result<
        (
            ApplicationRecord,
            Vec<(CheckRecord, Option<serde_json::Value>)>,
        ),
        CheckError,
    > {
        let app = self.onboarding.load(caller, application_id).await?;
        let checks = self.store.check_list(&app.id).await?;
        if !caller.is_staff() {
            return Ok((app, checks.into_iter().map(|c| (c, None)).collect()));
        }
        let dek = self
            .onboarding
            .keyring()
            .unwrap_key(&app.dek, &app.id)
            .map_err(|e| CheckError::Crypto(e.to_string()))?;
        let mut out = Vec::with_capacity(checks.len());
        for c in checks {
            let evidence = match &c.evidence_sealed {
                None => None,
                Some(sealed) => {
                    let plain = dek
                        .open(sealed, &evidence_context(&c.id))
                        .map_err(|e| CheckError::Crypto(e.to_string()))?;
                    serde_json::from_slice(&plain).ok()
                }
            };
            out.push((c, evidence));
        }
        let target = Target {
            kind: "application".to_owned(),
            id: self.audit.pseudonym("application", &app.id),
            state_before: None,
            state_after: None,
        };
        let event = self
            .onboarding
            .caller_event(caller, "checks.viewed", target, None);
        self.audit
            .record(&[event])
            .await
            .map_err(|e| CheckError::Store(StoreError::Other(e.to_string())))?;
        Ok((app, out))
    }

    /// Runs the worker until the task is aborted: claims due jobs, sleeps
    /// `settings.idle` (or until woken) when there are none.
    pub fn spawn_worker(self: &Arc<Self>, settings: WorkerSettings) -> tokio::task::JoinHandle<()> {
        let checks = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let ran = match checks.run_once(&settings).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "check worker round failed");
                        0
                    }
                };
                if ran == 0 {
                    tokio::select! {
                        () = checks.wake.notified() => {}
                        () = tokio::time::sleep(settings.idle) => {}
                    }
                }
            }
        })
    }
}

/// The built-in providers: the MRZ check and sanctions screening over the
/// gateway's lists.
pub fn builtin_providers(
    sanctions: Arc<super::screening::Sanctions>,
) -> HashMap<CheckKind, Arc<dyn Provider>> {
    let mut providers: HashMap<CheckKind, Arc<dyn Provider>> = HashMap::new();
    providers.insert(CheckKind::Mrz, Arc::new(super::mrz::MrzCheck));
    providers.insert(
        CheckKind::Sanctions,
        Arc::new(super::sanctions_check::SanctionsCheck::new(sanctions)),
    );
    providers
}

/// The provider recorded for a kind when nothing else is configured.
pub fn default_provider(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Mrz => super::mrz::PROVIDER,
        CheckKind::Sanctions => super::sanctions_check::PROVIDER,
        // Unless a vendor is configured (`Onboarding::with_vendor_provider`).
        CheckKind::Document | CheckKind::Liveness => super::sandbox::PROVIDER,
    }
}

/// The worker's lease owner name: instance and a random suffix, so two
/// processes with one instance id never share leases.
pub fn worker_owner(instance_id: &str) -> String {
    format!("{instance_id}:{}", uuid::Uuid::new_v4())
}

/// Builds the submission's checks and jobs for `kinds`.
pub fn submission(
    kinds: &[CheckKind],
    provider_name: impl Fn(CheckKind) -> String,
    policy_version: &str,
    max_attempts: u32,
) -> (Vec<NewCheck>, Vec<crate::jobs::NewJob>) {
    let checks: Vec<NewCheck> = kinds
        .iter()
        .map(|k| NewCheck {
            id: uuid::Uuid::now_v7().to_string(),
            kind: *k,
            provider: provider_name(*k),
            policy_version: policy_version.to_owned(),
        })
        .collect();
    let jobs = checks
        .iter()
        .map(|c| crate::jobs::NewJob {
            kind: JOB_KIND.to_owned(),
            dedupe_key: format!("check:{}", c.id),
            payload: serde_json::to_vec(&JobPayload {
                check_id: c.id.clone(),
            })
            .unwrap_or_default(),
            max_attempts,
        })
        .collect();
    (checks, jobs)
}
