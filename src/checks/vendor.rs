//! The document and liveness vendor adapter over HTTPS, modelled on Onfido's
//! API v3.6: create an applicant, upload the identity document and the
//! selfie (`live_photos`), create a check (`document` or
//! `facial_similarity_photo` report), and learn the result by webhook or by
//! polling `GET /checks/{id}`.
//!
//! What keeps it safe to run against a paid service:
//! - **One vendor check per check.** Progress (applicant, uploads, the intent
//!   to create the check, the vendor check id) is stored against our check id
//!   before the next step; a retried or taken-over job reuses it. Before
//!   creating a check again after an unclear failure (a timeout, a 5xx, a
//!   crash) the applicant's checks are listed and an existing one is reused.
//!   Each check has an applicant of its own, so that list is unambiguous.
//! - **Bounded retries** on 5xx and timeouts only, never on a 4xx; redirects
//!   are never followed (a 3xx is an error).
//! - **A circuit breaker**: after `circuit_failure_threshold` consecutive
//!   failures no request is sent for `circuit_cooldown_secs`; then one trial
//!   request decides whether it closes again.
//! - **A daily spending cap** on check creations, counted in the database so
//!   restarts and replicas share it.
//! - **Every response validated** before use: a malformed body is an error.
//! - **Webhooks** (`X-SHA2-Signature`: hex HMAC-SHA256 of the raw body,
//!   verified in constant time) carry an event id and a creation time inside
//!   the signed body; an event outside the time window is refused, a seen
//!   event id has no second effect. A webhook is a hint: the result itself is
//!   read from the API, as the vendor recommends, by the same code as a poll.
//!
//! The API token and webhook secret never reach a log, and no personal data
//! is logged.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::pipeline::{
    CheckError, CheckInput, Checks, DocumentFacts, Provider, ProviderError, ProviderResult,
};
use crate::audit::AuditLog;
use crate::audit::entry::Target;
use crate::audit::log::encode_all;
use crate::config::VendorSettings;
use crate::documents::Documents;
use crate::domain::check::{CheckKind, CheckState};
use crate::domain::clock::Clock;
use crate::domain::document::{DocumentKind, DocumentSide};
use crate::onboarding::AuditRows;
use crate::onboarding::identity::Identity;
use crate::store::StoreError;

/// The provider name recorded with vendor checks.
pub const PROVIDER: &str = "vendor";

/// Largest API response body read.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The webhook signature header (hex HMAC-SHA256 of the raw body).
pub const SIGNATURE_HEADER: &str = "X-SHA2-Signature";

/// What the vendor holds for one of our checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorCheckRow {
    /// Our check id.
    pub check_id: String,
    /// The vendor's applicant.
    pub applicant_id: Option<String>,
    /// The vendor's document ids.
    pub document_ids: Vec<String>,
    /// The vendor's live photo id (liveness checks).
    pub live_photo_id: Option<String>,
    /// When the check creation was first attempted (UTC µs).
    pub check_requested_us: Option<i64>,
    /// The vendor's check id, once known; never replaced.
    pub vendor_check_id: Option<String>,
    /// Next poll (UTC µs).
    pub next_poll_us: Option<i64>,
    /// No result by then: the check ends as `error` (UTC µs).
    pub deadline_us: Option<i64>,
}

/// Storage of vendor progress, spending and webhook events; implemented for
/// both backends in `store::vendor`.
#[async_trait]
pub trait VendorStore: Send + Sync {
    /// The vendor progress of one check.
    async fn vendor_check_get(&self, check_id: &str) -> Result<Option<VendorCheckRow>, StoreError>;
    /// The check a vendor check id belongs to.
    async fn vendor_check_by_vendor_id(
        &self,
        vendor_check_id: &str,
    ) -> Result<Option<VendorCheckRow>, StoreError>;
    /// Saves progress before the vendor check exists (never its id).
    async fn vendor_check_progress(
        &self,
        row: &VendorCheckRow,
        now_us: i64,
    ) -> Result<(), StoreError>;
    /// Links a check to its vendor check, once, with the audit entry;
    /// false if it was linked already.
    async fn vendor_check_link(
        &self,
        check_id: &str,
        vendor_check_id: &str,
        next_poll_us: i64,
        deadline_us: i64,
        now_us: i64,
        audit: &AuditRows,
    ) -> Result<bool, StoreError>;
    /// Linked checks still pending whose poll is due.
    async fn vendor_checks_due(
        &self,
        now_us: i64,
        limit: u32,
    ) -> Result<Vec<VendorCheckRow>, StoreError>;
    /// Moves a check's next poll.
    async fn vendor_check_poll_at(
        &self,
        check_id: &str,
        next_poll_us: i64,
        now_us: i64,
    ) -> Result<(), StoreError>;
    /// Counts one billable call on `day` unless `cap` is reached; false
    /// when it is.
    async fn vendor_spend_reserve(&self, day: &str, cap: u32) -> Result<bool, StoreError>;
    /// Billable calls counted on `day`.
    async fn vendor_spent(&self, day: &str) -> Result<u64, StoreError>;
    /// Whether a webhook event id was seen.
    async fn vendor_event_seen(&self, event_id: &str) -> Result<bool, StoreError>;
    /// Records a webhook event id; false if it was there already.
    async fn vendor_event_record(
        &self,
        event_id: &str,
        outcome: &str,
        now_us: i64,
    ) -> Result<bool, StoreError>;
}

/// Why a vendor call did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// No answer in time.
    #[error("the vendor did not answer in time")]
    Timeout,
    /// A 5xx answer.
    #[error("the vendor answered {0}")]
    Server(u16),
    /// No connection.
    #[error("the vendor cannot be reached: {0}")]
    Unreachable(String),
    /// The circuit breaker is open: no request was sent.
    #[error("the vendor circuit breaker is open")]
    CircuitOpen,
    /// A 3xx answer; redirects are never followed.
    #[error("the vendor answered a redirect ({0}); redirects are not followed")]
    Redirect(u16),
    /// A 4xx answer; never retried.
    #[error("the vendor refused the request ({0})")]
    Rejected(u16),
    /// An answer that is not what the API promises.
    #[error("the vendor's answer is malformed: {0}")]
    BadResponse(String),
    /// The daily spending cap is reached.
    #[error("the daily cap of billable vendor calls is reached")]
    SpendingCap,
    /// A document could not be read for sending.
    #[error("a document could not be read: {0}")]
    Input(String),
    /// Our storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VendorError {
    /// The stable reason code a check ends with.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Timeout => "provider_timeout",
            Self::Server(_) | Self::Unreachable(_) | Self::Store(_) => "provider_unavailable",
            Self::CircuitOpen => "provider_circuit_open",
            Self::Redirect(_) => "provider_redirect_refused",
            Self::Rejected(_) => "provider_rejected",
            Self::BadResponse(_) => "provider_bad_response",
            Self::SpendingCap => "provider_spending_cap",
            Self::Input(_) => "provider_input_unreadable",
        }
    }

    /// Only timeouts and 5xx answers are retried.
    fn retryable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Server(_))
    }
}

impl From<VendorError> for ProviderError {
    fn from(e: VendorError) -> Self {
        ProviderError {
            reason: e.reason(),
            detail: e.to_string(),
        }
    }
}

/// Opens after `threshold` consecutive failures; after `cooldown` lets one
/// trial request through (half-open), which closes it on success or opens
/// it for another cool-down on failure.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<Instant>,
    /// A half-open trial in flight (a cancelled trial frees the slot after
    /// another cool-down).
    trial_since: Option<Instant>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// May a request be sent now?
    pub fn allow(&self) -> bool {
        let mut s = self.lock();
        let now = Instant::now();
        match s.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) => {
                if s.trial_since
                    .is_some_and(|t| now.duration_since(t) < self.cooldown)
                {
                    return false;
                }
                s.trial_since = Some(now);
                true
            }
        }
    }

    /// A request succeeded: closed.
    pub fn success(&self) {
        *self.lock() = BreakerState::default();
    }

    /// A request failed.
    pub fn failure(&self) {
        let mut s = self.lock();
        s.failures = s.failures.saturating_add(1);
        s.trial_since = None;
        if s.failures >= self.threshold {
            s.open_until = Some(Instant::now() + self.cooldown);
        }
    }

    /// Whether requests are refused now.
    pub fn is_open(&self) -> bool {
        self.lock()
            .open_until
            .is_some_and(|until| Instant::now() < until)
    }
}

/// What must be there for a check of `kind`, or the reason it is missing.
pub fn missing_input(kind: CheckKind, documents: &[DocumentFacts]) -> Option<&'static str> {
    if identity_documents(documents).is_empty() {
        return Some("document_missing");
    }
    if kind == CheckKind::Liveness && selfie(documents).is_none() {
        return Some("selfie_missing");
    }
    None
}

/// The identity document sent: the first kind present in order of
/// preference, with all its sides.
fn identity_documents(documents: &[DocumentFacts]) -> Vec<&DocumentFacts> {
    const PREFERENCE: [DocumentKind; 4] = [
        DocumentKind::Passport,
        DocumentKind::NationalIdCard,
        DocumentKind::ResidencePermit,
        DocumentKind::DrivingLicence,
    ];
    PREFERENCE
        .iter()
        .map(|k| {
            documents
                .iter()
                .filter(|d| d.kind == *k)
                .collect::<Vec<_>>()
        })
        .find(|docs| !docs.is_empty())
        .unwrap_or_default()
}

fn selfie(documents: &[DocumentFacts]) -> Option<&DocumentFacts> {
    documents.iter().find(|d| d.kind == DocumentKind::Selfie)
}

/// The vendor's document type names.
fn vendor_document_type(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Passport => "passport",
        DocumentKind::NationalIdCard => "national_identity_card",
        DocumentKind::ResidencePermit => "residence_permit",
        DocumentKind::DrivingLicence => "driving_licence",
        DocumentKind::ProofOfAddress | DocumentKind::Selfie => "unknown",
    }
}

fn report_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Liveness => "facial_similarity_photo",
        _ => "document",
    }
}

/// Vendor ids are short opaque tokens; anything else is a malformed answer
/// (and is never put into a URL).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

/// A vendor check as `GET /checks/{id}` returns it (fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct VendorCheckBody {
    /// The vendor's check id.
    pub id: String,
    /// `in_progress`, `awaiting_applicant`, `complete`, `withdrawn`, …
    pub status: String,
    /// `clear` or `consider` once complete.
    pub result: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CheckList {
    checks: Vec<VendorCheckBody>,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, VendorError> {
    serde_json::from_slice(body).map_err(|e| VendorError::BadResponse(format!("{what}: {e}")))
}

fn parse_id(what: &str, body: &[u8]) -> Result<String, VendorError> {
    let created: Created = parse(what, body)?;
    if !valid_id(&created.id) {
        return Err(VendorError::BadResponse(format!("{what}: invalid id")));
    }
    Ok(created.id)
}

fn parse_check(body: &[u8]) -> Result<VendorCheckBody, VendorError> {
    let check: VendorCheckBody = parse("check", body)?;
    if !valid_id(&check.id) {
        return Err(VendorError::BadResponse("check: invalid id".into()));
    }
    Ok(check)
}

/// A vendor check's outcome: still running, or ended.
pub fn outcome(
    kind: CheckKind,
    check: &VendorCheckBody,
) -> Result<Option<ProviderResult>, VendorError> {
    let evidence = |state: CheckState| {
        json!({
            "vendor_check_id": check.id,
            "status": check.status,
            "result": check.result,
            "report_names": [report_name(kind)],
            "outcome": state.as_str(),
        })
    };
    match check.status.as_str() {
        "in_progress" | "awaiting_applicant" | "awaiting_data" | "awaiting_approval" | "paused"
        | "reopened" => Ok(None),
        "complete" => {
            let (state, reasons) = match check.result.as_deref() {
                Some("clear") => (CheckState::Clear, Vec::new()),
                Some("consider") => (CheckState::Consider, vec![format!("{kind}_consider")]),
                _ => {
                    return Err(VendorError::BadResponse(
                        "a complete check without a clear or consider result".into(),
                    ));
                }
            };
            Ok(Some(ProviderResult {
                state,
                reasons,
                evidence: evidence(state),
            }))
        }
        "withdrawn" | "cancelled" => Ok(Some(ProviderResult {
            state: CheckState::Error,
            reasons: vec!["provider_check_withdrawn".to_owned()],
            evidence: evidence(CheckState::Error),
        })),
        _ => Err(VendorError::BadResponse("unknown check status".into())),
    }
}

fn pending(vendor_check_id: &str) -> ProviderResult {
    ProviderResult {
        state: CheckState::Pending,
        reasons: Vec::new(),
        evidence: json!({ "vendor_check_id": vendor_check_id }),
    }
}

/// The vendor could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
#[error("vendor: {0}")]
pub struct VendorSetupError(String);

/// The adapter: one HTTP client, one circuit breaker, per process.
pub struct Vendor {
    http: reqwest::Client,
    base: String,
    authorization: HeaderValue,
    webhook_key: ring::hmac::Key,
    settings: VendorSettings,
    breaker: CircuitBreaker,
    store: Arc<dyn VendorStore>,
    documents: Arc<Documents>,
    audit: Arc<AuditLog>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vendor")
            .field("base", &self.base)
            .field("breaker_open", &self.breaker.is_open())
            .finish_non_exhaustive()
    }
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The check it names has ended with the vendor's result.
    Applied,
    /// The event id was seen before: nothing done.
    Duplicate,
    /// Valid, but nothing to do (unknown or ended check, other event,
    /// result not ready); logged.
    Ignored,
}

impl WebhookOutcome {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
        }
    }
}

/// A webhook refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The signature header is missing or does not match the raw body.
    #[error("the signature does not match the body")]
    BadSignature,
    /// The event's time is outside the accepted window.
    #[error("the event is older or newer than the accepted window")]
    Stale,
    /// The signed body is not an event of the expected shape.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The result could not be fetched now; the vendor should retry.
    #[error(transparent)]
    Unavailable(VendorError),
    /// Storage or the checks use case failed.
    #[error("{0}")]
    Internal(String),
}

#[derive(Debug, Deserialize)]
struct WebhookEnvelope {
    payload: WebhookPayload,
}

#[derive(Debug, Deserialize)]
struct WebhookPayload {
    event_id: String,
    created_at_iso8601: String,
    resource_type: String,
    action: String,
    object: WebhookObject,
}

#[derive(Debug, Deserialize)]
struct WebhookObject {
    id: String,
}

fn hex_decode(raw: &str) -> Option<Vec<u8>> {
    if !raw.len().is_multiple_of(2) || raw.len() > 256 {
        return None;
    }
    (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok())
        .collect()
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Vendor {
    /// The adapter for a configured vendor (`settings.base_url` set).
    pub fn new(
        settings: &VendorSettings,
        store: Arc<dyn VendorStore>,
        documents: Arc<Documents>,
        audit: Arc<AuditLog>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, VendorSetupError> {
        let base = settings
            .base_url
            .as_deref()
            .ok_or_else(|| VendorSetupError("vendor.base_url is not set".into()))?
            .trim_end_matches('/')
            .to_owned();
        let token = settings
            .api_token
            .as_ref()
            .ok_or_else(|| VendorSetupError("vendor.api_token is not set".into()))?;
        let mut authorization =
            HeaderValue::from_str(&format!("Token token={}", token.expose_secret()))
                .map_err(|_| VendorSetupError("vendor.api_token is not header text".into()))?;
        authorization.set_sensitive(true);
        let secret = settings
            .webhook_secret
            .as_ref()
            .ok_or_else(|| VendorSetupError("vendor.webhook_secret is not set".into()))?;
        let webhook_key =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
        let (connect, request, https_only) = (
            Duration::from_millis(settings.connect_timeout_ms),
            Duration::from_millis(settings.request_timeout_ms),
            !settings.allow_http,
        );
        // reqwest's `rustls-no-provider` build panics when no rustls
        // CryptoProvider is installed; contain that (see `auth::jwks`).
        let http = std::panic::catch_unwind(move || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(connect)
                .timeout(request)
                .https_only(https_only)
                .build()
        })
        .map_err(|_| VendorSetupError("no rustls crypto provider installed".into()))?
        .map_err(|e| VendorSetupError(e.to_string()))?;
        Ok(Self {
            http,
            base,
            authorization,
            webhook_key,
            breaker: CircuitBreaker::new(
                settings.circuit_failure_threshold,
                Duration::from_secs(settings.circuit_cooldown_secs),
            ),
            settings: settings.clone(),
            store,
            documents,
            audit,
            clock,
        })
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Whether the circuit breaker refuses requests now.
    pub fn circuit_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Billable calls counted today (UTC).
    pub async fn spent_today(&self) -> Result<u64, StoreError> {
        self.store.vendor_spent(&self.today()).await
    }

    fn today(&self) -> String {
        self.clock.now().format("%Y-%m-%d").to_string()
    }

    /// One request: breaker first, then the answer classified and its body
    /// read within the size limit.
    async fn attempt(&self, request: reqwest::RequestBuilder) -> Result<Bytes, VendorError> {
        if !self.breaker.allow() {
            return Err(VendorError::CircuitOpen);
        }
        let sent = request
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.breaker.failure();
                return Err(if e.is_timeout() {
                    VendorError::Timeout
                } else {
                    VendorError::Unreachable(e.without_url().to_string())
                });
            }
        };
        let status = response.status();
        if status.is_redirection() {
            self.breaker.failure();
            return Err(VendorError::Redirect(status.as_u16()));
        }
        if status.is_server_error() {
            self.breaker.failure();
            return Err(VendorError::Server(status.as_u16()));
        }
        if status.is_client_error() {
            // The vendor is up; the request was wrong.
            self.breaker.success();
            return Err(VendorError::Rejected(status.as_u16()));
        }
        if !status.is_success() {
            self.breaker.failure();
            return Err(VendorError::BadResponse(format!("status {status}")));
        }
        if response
            .content_length()
            .is_some_and(|l| l > MAX_RESPONSE_BYTES as u64)
        {
            self.breaker.success();
            return Err(VendorError::BadResponse("body too large".into()));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        self.breaker.success();
                        return Err(VendorError::BadResponse("body too large".into()));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    self.breaker.failure();
                    return Err(if e.is_timeout() {
                        VendorError::Timeout
                    } else {
                        VendorError::Unreachable(e.without_url().to_string())
                    });
                }
            }
        }
        self.breaker.success();
        Ok(Bytes::from(body))
    }

    fn backoff(&self, retry: u32) -> Duration {
        Duration::from_millis(self.settings.retry_backoff_ms).saturating_mul(1u32 << retry.min(10))
    }

    /// A request with bounded retries on timeouts and 5xx answers only;
    /// `make` builds it afresh for each attempt.
    async fn request(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Bytes, VendorError> {
        let mut retry = 0;
        loop {
            match self.attempt(make()).await {
                Err(e) if e.retryable() && retry < self.settings.max_retries => {
                    tokio::time::sleep(self.backoff(retry)).await;
                    retry += 1;
                }
                other => return other,
            }
        }
    }

    async fn create_applicant(&self, identity: &Identity) -> Result<String, VendorError> {
        let body = json!({
            "first_name": identity.given_names,
            "last_name": identity.family_name,
            "dob": identity.date_of_birth,
        });
        let url = self.url("applicants");
        let answer = self.request(|| self.http.post(&url).json(&body)).await?;
        parse_id("applicant", &answer)
    }

    /// Uploads one image: a document (`documents`) or a selfie (`live_photos`).
    async fn upload(
        &self,
        application_id: &str,
        applicant_id: &str,
        document: &DocumentFacts,
    ) -> Result<String, VendorError> {
        let (record, bytes) = self
            .documents
            .read_for_provider(application_id, &document.id, PROVIDER)
            .await
            .map_err(|e| VendorError::Input(e.to_string()))?;
        let mime = record.content_type.mime();
        let ext = record.content_type.extension();
        let selfie = document.kind == DocumentKind::Selfie;
        let path = if selfie { "live_photos" } else { "documents" };
        let url = self.url(path);
        let file = || {
            reqwest::multipart::Part::stream_with_length(
                reqwest::Body::from(bytes.clone()),
                bytes.len() as u64,
            )
            .file_name(format!("{}.{ext}", record.id))
        };
        let make = || {
            // The stored type is one of a few well-formed media types.
            let part = file().mime_str(mime).unwrap_or_else(|_| file());
            let mut form =
                reqwest::multipart::Form::new().text("applicant_id", applicant_id.to_owned());
            if selfie {
                form = form.text("advanced_validation", "true");
            } else {
                form = form.text("type", vendor_document_type(document.kind));
                if let Some(side) = document.side {
                    form = form.text(
                        "side",
                        match side {
                            DocumentSide::Front => "front",
                            DocumentSide::Back => "back",
                        },
                    );
                }
            }
            self.http.post(&url).multipart(form.part("file", part))
        };
        let answer = self.request(make).await?;
        parse_id(path, &answer)
    }

    /// The applicant's existing check, if a previous attempt created one.
    async fn find_check(&self, applicant_id: &str) -> Result<Option<VendorCheckBody>, VendorError> {
        if !valid_id(applicant_id) {
            return Err(VendorError::BadResponse(
                "invalid stored applicant id".into(),
            ));
        }
        // A validated id needs no escaping in the query.
        let url = self.url(&format!("checks?applicant_id={applicant_id}"));
        let answer = self.request(|| self.http.get(&url)).await?;
        let list: CheckList = parse("check list", &answer)?;
        if list.checks.iter().any(|c| !valid_id(&c.id)) {
            return Err(VendorError::BadResponse("check list: invalid id".into()));
        }
        Ok(list.checks.into_iter().next())
    }

    /// Creates the billable check: each attempt is counted against the
    /// daily cap first; before a retry (the failed attempt may have created
    /// it) the applicant's checks are looked up and an existing one reused.
    async fn create_check(
        &self,
        kind: CheckKind,
        check_id: &str,
        row: &VendorCheckRow,
        applicant_id: &str,
    ) -> Result<VendorCheckBody, VendorError> {
        let mut body = json!({
            "applicant_id": applicant_id,
            "report_names": [report_name(kind)],
            "document_ids": row.document_ids,
        });
        if let Some(photo) = &row.live_photo_id {
            body["live_photo_ids"] = json!([photo]);
        }
        let url = self.url("checks");
        let mut retry = 0;
        loop {
            if !self
                .store
                .vendor_spend_reserve(&self.today(), self.settings.daily_check_cap)
                .await?
            {
                tracing::error!(check = %check_id, cap = self.settings.daily_check_cap, "daily vendor spending cap reached; no check created");
                return Err(VendorError::SpendingCap);
            }
            let sent = self
                .attempt(
                    self.http
                        .post(&url)
                        .header("Idempotency-Key", check_id)
                        .json(&body),
                )
                .await;
            match sent {
                Ok(answer) => return parse_check(&answer),
                Err(e) if e.retryable() && retry < self.settings.max_retries => {
                    tracing::warn!(check = %check_id, error = %e, "creating the vendor check failed; retrying");
                    tokio::time::sleep(self.backoff(retry)).await;
                    retry += 1;
                    if let Some(found) = self.find_check(applicant_id).await? {
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A vendor check as it stands.
    pub async fn fetch_check(&self, vendor_check_id: &str) -> Result<VendorCheckBody, VendorError> {
        if !valid_id(vendor_check_id) {
            return Err(VendorError::BadResponse("invalid stored check id".into()));
        }
        let url = self.url(&format!("checks/{vendor_check_id}"));
        let answer = self.request(|| self.http.get(&url)).await?;
        let check = parse_check(&answer)?;
        if check.id != vendor_check_id {
            return Err(VendorError::BadResponse(
                "a different check came back".into(),
            ));
        }
        Ok(check)
    }

    /// Runs one check at the vendor, resuming what an earlier attempt
    /// stored; `Pending` once the vendor check exists without a result.
    async fn run_check(
        &self,
        kind: CheckKind,
        check_id: &str,
        input: &CheckInput,
    ) -> Result<ProviderResult, VendorError> {
        let existing = self.store.vendor_check_get(check_id).await?;
        if let Some(id) = existing.as_ref().and_then(|r| r.vendor_check_id.as_deref()) {
            // Created by an earlier attempt: never again. The webhook or the
            // poller ends the check.
            return Ok(pending(id));
        }
        if let Some(missing) = missing_input(kind, &input.documents) {
            return Ok(ProviderResult {
                state: CheckState::Consider,
                reasons: vec![missing.to_owned()],
                evidence: json!({ "detail": "nothing to send to the vendor" }),
            });
        }
        let mut row = existing.unwrap_or_else(|| VendorCheckRow {
            check_id: check_id.to_owned(),
            ..VendorCheckRow::default()
        });
        let applicant = match &row.applicant_id {
            Some(a) => a.clone(),
            None => {
                let a = self.create_applicant(&input.identity).await?;
                row.applicant_id = Some(a.clone());
                self.store
                    .vendor_check_progress(&row, self.now_us())
                    .await?;
                a
            }
        };
        if row.document_ids.is_empty() {
            let mut ids = Vec::new();
            for d in identity_documents(&input.documents) {
                ids.push(self.upload(&input.application_id, &applicant, d).await?);
            }
            row.document_ids = ids;
            self.store
                .vendor_check_progress(&row, self.now_us())
                .await?;
        }
        if kind == CheckKind::Liveness
            && row.live_photo_id.is_none()
            && let Some(s) = selfie(&input.documents)
        {
            row.live_photo_id = Some(self.upload(&input.application_id, &applicant, s).await?);
            self.store
                .vendor_check_progress(&row, self.now_us())
                .await?;
        }
        let found = match row.check_requested_us {
            // An earlier attempt may have created it and died before storing the id.
            Some(_) => self.find_check(&applicant).await?,
            None => None,
        };
        let check = match found {
            Some(c) => c,
            None => {
                row.check_requested_us = Some(self.now_us());
                self.store
                    .vendor_check_progress(&row, self.now_us())
                    .await?;
                self.create_check(kind, check_id, &row, &applicant).await?
            }
        };
        let now = self.now_us();
        let mut event = self.audit.event(
            "check.submitted_to_vendor",
            self.audit.system_actor(),
            "success",
            None,
        );
        event.target = Some(Target {
            kind: "check".to_owned(),
            id: self.audit.pseudonym("check", check_id),
            state_before: Some(CheckState::Pending.as_str().to_owned()),
            state_after: Some(CheckState::Pending.as_str().to_owned()),
        });
        event.outcome.reason_code = Some(PROVIDER.to_owned());
        let audit = encode_all(&[event])
            .map_err(|e| VendorError::Store(StoreError::Other(e.to_string())))?;
        let linked = self
            .store
            .vendor_check_link(
                check_id,
                &check.id,
                now.saturating_add(micros(Duration::from_secs(
                    self.settings.poll_interval_secs,
                ))),
                now.saturating_add(micros(Duration::from_secs(
                    self.settings.result_timeout_secs,
                ))),
                now,
                &audit,
            )
            .await?;
        if linked {
            self.audit.wake_handle().notify_one();
        }
        Ok(outcome(kind, &check)?.unwrap_or_else(|| pending(&check.id)))
    }

    /// Polls the checks whose result is due (the webhook's fallback) and
    /// ends those with a result, or past their deadline as `error`.
    pub async fn poll_once(&self, checks: &Checks) -> Result<usize, CheckError> {
        let now = self.now_us();
        let due = self.store.vendor_checks_due(now, 50).await?;
        let mut ended = 0;
        for row in due {
            let Some(vendor_id) = row.vendor_check_id.as_deref() else {
                continue;
            };
            if row.deadline_us.is_some_and(|d| d <= now) {
                let result = ProviderResult {
                    state: CheckState::Error,
                    reasons: vec!["provider_timeout".to_owned()],
                    evidence: json!({
                        "error": "provider_timeout",
                        "detail": "no result from the vendor within vendor.result_timeout_secs",
                        "vendor_check_id": vendor_id,
                    }),
                };
                checks.finish(&row.check_id, result).await?;
                ended += 1;
                continue;
            }
            match self.result_of(checks, &row.check_id, vendor_id).await {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(check = %row.check_id, error = %e, "polling the vendor failed; trying again later");
                }
            }
            let next = now.saturating_add(micros(Duration::from_secs(
                self.settings.poll_interval_secs,
            )));
            self.store
                .vendor_check_poll_at(&row.check_id, next, now)
                .await?;
        }
        Ok(ended)
    }

    /// Reads a vendor check and ends our check if it has a result.
    async fn result_of(
        &self,
        checks: &Checks,
        check_id: &str,
        vendor_check_id: &str,
    ) -> Result<bool, VendorError> {
        let Some(check) = checks
            .get(check_id)
            .await
            .map_err(|e| VendorError::Store(StoreError::Other(e.to_string())))?
        else {
            return Ok(false);
        };
        if check.state.is_final() {
            return Ok(false);
        }
        let body = self.fetch_check(vendor_check_id).await?;
        let Some(result) = outcome(check.kind, &body)? else {
            return Ok(false);
        };
        checks
            .finish(check_id, result)
            .await
            .map_err(|e| VendorError::Store(StoreError::Other(e.to_string())))
    }

    /// Polls every `vendor.poll_interval_secs` until the task is aborted.
    pub fn spawn_poller(self: &Arc<Self>, checks: Arc<Checks>) -> tokio::task::JoinHandle<()> {
        let vendor = Arc::clone(self);
        let every = Duration::from_secs(self.settings.poll_interval_secs);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = vendor.poll_once(&checks).await {
                    tracing::warn!(error = %e, "vendor poll round failed");
                }
            }
        })
    }

    /// Handles one webhook delivery: signature over the raw bytes, then the
    /// time window, then the event id; a `check.completed` event makes the
    /// gateway read the result from the API and end the check.
    pub async fn webhook(
        &self,
        checks: &Checks,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookOutcome, WebhookError> {
        let signature = signature
            .and_then(|s| hex_decode(s.trim()))
            .ok_or(WebhookError::BadSignature)?;
        ring::hmac::verify(&self.webhook_key, body, &signature)
            .map_err(|_| WebhookError::BadSignature)?;
        let event: WebhookEnvelope =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let p = event.payload;
        let created = chrono::DateTime::parse_from_rfc3339(&p.created_at_iso8601)
            .map_err(|_| WebhookError::Malformed("created_at_iso8601 is not RFC 3339".into()))?;
        let age = (self.clock.now().timestamp() - created.timestamp()).unsigned_abs();
        if age > self.settings.webhook_tolerance_secs {
            tracing::warn!(event = %p.event_id, age_secs = age, "vendor webhook outside the time window refused");
            return Err(WebhookError::Stale);
        }
        if !valid_id(&p.event_id) || !valid_id(&p.object.id) {
            return Err(WebhookError::Malformed("event or object id".into()));
        }
        let internal = |e: StoreError| WebhookError::Internal(e.to_string());
        if self
            .store
            .vendor_event_seen(&p.event_id)
            .await
            .map_err(internal)?
        {
            tracing::info!(event = %p.event_id, "vendor webhook event seen before; ignored");
            return Ok(WebhookOutcome::Duplicate);
        }
        let outcome = if p.resource_type != "check" || p.action != "check.completed" {
            tracing::info!(event = %p.event_id, action = %p.action, "vendor webhook event not acted on");
            WebhookOutcome::Ignored
        } else {
            match self
                .store
                .vendor_check_by_vendor_id(&p.object.id)
                .await
                .map_err(internal)?
            {
                None => {
                    tracing::warn!(event = %p.event_id, vendor_check = %p.object.id, "vendor webhook for an unknown check; nothing changed");
                    WebhookOutcome::Ignored
                }
                Some(row) => match self.result_of(checks, &row.check_id, &p.object.id).await {
                    Ok(true) => WebhookOutcome::Applied,
                    Ok(false) => {
                        tracing::info!(event = %p.event_id, check = %row.check_id, "vendor webhook for a check already ended or without a result yet; nothing changed");
                        WebhookOutcome::Ignored
                    }
                    Err(e) => return Err(WebhookError::Unavailable(e)),
                },
            }
        };
        self.store
            .vendor_event_record(&p.event_id, outcome.as_str(), self.now_us())
            .await
            .map_err(internal)?;
        Ok(outcome)
    }
}

/// One kind of check done by the vendor.
#[derive(Debug, Clone)]
pub struct VendorCheck {
    vendor: Arc<Vendor>,
    kind: CheckKind,
}

impl VendorCheck {
    /// `kind` (`document` or `liveness`) checked by `vendor`.
    pub fn new(vendor: Arc<Vendor>, kind: CheckKind) -> Self {
        Self { vendor, kind }
    }
}

#[async_trait]
impl Provider for VendorCheck {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn run(
        &self,
        check_id: &str,
        input: &CheckInput,
    ) -> Result<ProviderResult, ProviderError> {
        Ok(self.vendor.run_check(self.kind, check_id, input).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_the_threshold_and_half_opens_after_the_cooldown() {
        let b = CircuitBreaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            assert!(b.allow());
            b.failure();
        }
        assert!(b.allow(), "two failures keep it closed");
        b.failure();
        assert!(!b.allow() && b.is_open(), "the third opens it");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow(), "one trial after the cool-down");
        assert!(!b.allow(), "only one trial at a time");
        b.failure();
        assert!(!b.allow(), "a failed trial opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow());
        b.success();
        assert!(
            b.allow() && b.allow() && !b.is_open(),
            "a good trial closes it"
        );
    }

    #[test]
    fn only_complete_checks_with_a_known_result_end() {
        let body = |status: &str, result: Option<&str>| VendorCheckBody {
            id: "chk_1".into(),
            status: status.into(),
            result: result.map(str::to_owned),
        };
        let state = |b| outcome(CheckKind::Document, &b).map(|o| o.map(|r| r.state));
        assert_eq!(state(body("in_progress", None)).unwrap(), None);
        assert_eq!(
            state(body("complete", Some("clear"))).unwrap(),
            Some(CheckState::Clear)
        );
        assert_eq!(
            state(body("complete", Some("consider"))).unwrap(),
            Some(CheckState::Consider)
        );
        assert_eq!(
            state(body("withdrawn", None)).unwrap(),
            Some(CheckState::Error)
        );
        assert!(state(body("complete", None)).is_err());
        assert!(state(body("complete", Some("approved"))).is_err());
        assert!(state(body("exploded", None)).is_err());
    }

    #[test]
    fn ids_and_signatures_are_checked_before_use() {
        assert!(valid_id("6a3b-ff_01"));
        assert!(!valid_id("../admin") && !valid_id("") && !valid_id(&"a".repeat(129)));
        assert_eq!(hex_decode("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(hex_decode("0g"), None);
        assert_eq!(hex_decode("abc"), None);
        assert!(parse_id("applicant", b"{\"id\": 7}").is_err());
        assert!(parse_id("applicant", b"<html>").is_err());
        assert!(parse_check(b"{\"id\":\"c1\"}").is_err());
    }
}
