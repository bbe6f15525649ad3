//! Typed settings: an optional TOML file plus `KYC_*` environment variables,
//! validated once at start-up. Owns the `dev`/`production` profile rules; it
//! must not open files other than the config file, nor touch the network.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::auth::RouteClass;

/// The deployment profile decides which shortcuts are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Everything works with no setup: SQLite, generated dev certificates.
    #[default]
    Dev,
    /// Refuses every development shortcut.
    Production,
}

/// All settings of the gateway. Field names are the config keys; nested
/// sections map to `KYC_<SECTION>__<KEY>` environment variables.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `dev` (default) or `production`.
    pub profile: Profile,
    /// Where the embedded database, documents and dev certificates live.
    pub data_dir: PathBuf,
    /// The TLS listener address; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `postgres://…` or `sqlite://…`; defaults to SQLite under `data_dir` in dev.
    /// Never serialized: it may hold a password.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    /// Production refuses SQLite unless this is set.
    pub allow_sqlite_in_production: bool,
    /// Upper bound of pooled database connections.
    pub database_max_connections: u32,
    /// How long a request waits for a pooled connection before failing.
    pub database_acquire_timeout_secs: u64,
    /// Names this replica in logs and audit entries.
    pub instance_id: String,
    /// TLS listener settings.
    pub tls: TlsSettings,
    /// HTTP limits and timeouts.
    pub http: HttpSettings,
    /// Logs, traces and metrics.
    pub telemetry: TelemetrySettings,
    /// Access tokens, roles and rate limits.
    pub auth: AuthSettings,
    /// The audit log.
    pub audit: AuditSettings,
    /// The onboarding policy file (products, consents, minimum age).
    pub policy_path: PathBuf,
    /// Keys that protect personal data at rest.
    pub data_keys: DataKeySettings,
    /// Identity document uploads: storage and limits.
    pub documents: DocumentSettings,
    /// Sanctions lists for the built-in screening.
    pub sanctions: SanctionsSettings,
    /// The KYC check worker.
    pub checks: CheckSettings,
    /// Decisions and the exceptions queue.
    pub review: ReviewSettings,
    /// Delivery of decisions to the bank's downstream systems.
    pub handoff: HandoffConfig,
    /// The document and liveness vendor.
    pub vendor: VendorSettings,
}

/// Where and how decisions are delivered downstream (signed webhooks).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffConfig {
    /// The downstream endpoint (https). None: events are kept until one is set.
    pub url: Option<String>,
    /// File with the Standard Webhooks secret (`whsec_` + base64); generated
    /// under the data directory in dev, required in production.
    pub secret_path: Option<PathBuf>,
    /// Dev only (tests against a local receiver): allow an `http://` URL.
    pub allow_http: bool,
    /// Attempts before an event is `failed` (an admin can replay it).
    pub max_attempts: u32,
    /// First retry delay; it doubles per attempt.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_cap_secs: u64,
    /// Per delivery attempt.
    pub timeout_secs: u64,
    /// Idle pause of the delivery worker.
    pub poll_interval_ms: u64,
}

impl Default for HandoffConfig {
    fn default() -> Self {
        Self {
            url: None,
            secret_path: None,
            allow_http: false,
            max_attempts: 12,
            backoff_base_ms: 1000,
            backoff_cap_secs: 3600,
            timeout_secs: 10,
            poll_interval_ms: 1000,
        }
    }
}

/// Decisions and the exceptions queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSettings {
    /// How long an officer's claim on a case lasts; claiming again renews
    /// it, and an expired claim returns the case to the queue.
    pub claim_lease_secs: u64,
    /// How often applications whose checks have all ended are decided.
    pub decide_interval_ms: u64,
    /// How often stalled applications and expiring documents are looked for.
    pub event_scan_interval_secs: u64,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            claim_lease_secs: 1800,
            decide_interval_ms: 1000,
            event_scan_interval_secs: 300,
        }
    }
}

/// How the check worker runs checks from the job queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// Attempts per check before it ends as `error` (retried with
    /// exponential backoff and jitter).
    pub max_attempts: u32,
    /// A claimed check is this worker's for so long; after a crash another
    /// worker takes it over once the lease has run out.
    pub lease_secs: u64,
    /// Longest a provider may take for one attempt.
    pub provider_timeout_secs: u64,
    /// Pause of an idle worker (a submission wakes it at once).
    pub poll_interval_ms: u64,
    /// First retry delay; it doubles per attempt.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_cap_secs: u64,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            lease_secs: 120,
            provider_timeout_secs: 30,
            poll_interval_ms: 1000,
            backoff_base_ms: 2000,
            backoff_cap_secs: 300,
        }
    }
}

/// The document and liveness vendor (an HTTPS API modelled on Onfido v3.6:
/// applicants, documents, live photos, checks, results by webhook or by
/// polling). Unset `base_url`: the dev profile uses the sandbox provider;
/// the production profile refuses to start when the policy requires
/// document or liveness checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorSettings {
    /// The API root, e.g. `https://api.eu.onfido.com/v3.6` (https only).
    pub base_url: Option<String>,
    /// Dev profile only, for tests against a local fake: allow an `http://` `base_url`.
    pub allow_http: bool,
    /// The API token (`Authorization: Token token=…`). Never serialized nor logged.
    #[serde(skip_serializing)]
    pub api_token: Option<SecretString>,
    /// The shared secret of the webhook HMAC-SHA256. Never serialized nor logged.
    #[serde(skip_serializing)]
    pub webhook_secret: Option<SecretString>,
    /// Time to open a connection to the vendor.
    pub connect_timeout_ms: u64,
    /// Time one vendor request may take, body included.
    pub request_timeout_ms: u64,
    /// Retries of one request after a 5xx answer or a timeout (never after a 4xx).
    pub max_retries: u32,
    /// Pause before the first retry; it doubles per retry.
    pub retry_backoff_ms: u64,
    /// Consecutive failed requests that open the circuit breaker.
    pub circuit_failure_threshold: u32,
    /// An open circuit lets one trial request through after this long.
    pub circuit_cooldown_secs: u64,
    /// Billable calls (check creations) per UTC day, across all replicas.
    pub daily_check_cap: u32,
    /// A webhook whose timestamp is further than this from now is refused.
    pub webhook_tolerance_secs: u64,
    /// How often results still outstanding are polled (the webhook's fallback).
    pub poll_interval_secs: u64,
    /// A vendor check with no result after this long ends as `error`.
    pub result_timeout_secs: u64,
}

impl Default for VendorSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            allow_http: false,
            api_token: None,
            webhook_secret: None,
            connect_timeout_ms: 3000,
            request_timeout_ms: 15_000,
            max_retries: 2,
            retry_backoff_ms: 500,
            circuit_failure_threshold: 5,
            circuit_cooldown_secs: 30,
            daily_check_cap: 1000,
            webhook_tolerance_secs: 300,
            poll_interval_secs: 60,
            result_timeout_secs: 86_400,
        }
    }
}

impl VendorSettings {
    /// Whether a vendor is configured.
    pub fn is_configured(&self) -> bool {
        self.base_url.is_some()
    }

    /// A configured vendor needs its token and webhook secret, an https URL
    /// (http only as a dev-profile test switch) and positive limits.
    fn validate(&self, profile: Profile) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        for (key, value) in [
            ("vendor.connect_timeout_ms", self.connect_timeout_ms),
            ("vendor.request_timeout_ms", self.request_timeout_ms),
            (
                "vendor.circuit_failure_threshold",
                u64::from(self.circuit_failure_threshold),
            ),
            ("vendor.circuit_cooldown_secs", self.circuit_cooldown_secs),
            ("vendor.webhook_tolerance_secs", self.webhook_tolerance_secs),
            ("vendor.poll_interval_secs", self.poll_interval_secs),
            ("vendor.result_timeout_secs", self.result_timeout_secs),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        if self.max_retries > 10 {
            return Err(invalid("vendor.max_retries", "must be at most 10"));
        }
        if profile == Profile::Production && self.allow_http {
            return Err(invalid(
                "vendor.allow_http",
                "is a dev-profile test switch; production calls the vendor over https only",
            ));
        }
        let Some(raw) = &self.base_url else {
            return Ok(());
        };
        match url::Url::parse(raw) {
            Ok(u)
                if u.host_str().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
                    && (u.scheme() == "https" || (u.scheme() == "http" && self.allow_http)) => {}
            _ => {
                return Err(invalid(
                    "vendor.base_url",
                    "must be an https:// URL without credentials, query or fragment",
                ));
            }
        }
        if self
            .api_token
            .as_ref()
            .is_none_or(|t| t.expose_secret().is_empty())
        {
            return Err(invalid(
                "vendor.api_token",
                "is required with vendor.base_url",
            ));
        }
        if self
            .webhook_secret
            .as_ref()
            .is_none_or(|t| t.expose_secret().len() < 16)
        {
            return Err(invalid(
                "vendor.webhook_secret",
                "is required with vendor.base_url, at least 16 characters",
            ));
        }
        Ok(())
    }
}

/// The sanctions lists screened against, and how screening scores. With no list
/// configured, screening answers that it is unavailable: it never screens against
/// nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionsSettings {
    /// The configured lists; none by default.
    pub lists: Vec<SanctionsListSettings>,
    /// How often the list files are checked for changes (size and modification
    /// time); a changed list is reloaded, validated and swapped in.
    pub reload_check_interval_secs: u64,
    /// A name scoring at least this (0 to 1, after date-of-birth and nationality
    /// evidence) is a potential match for review.
    pub review_threshold: f32,
}

impl Default for SanctionsSettings {
    fn default() -> Self {
        Self {
            lists: Vec::new(),
            reload_check_interval_secs: 60,
            review_threshold: 0.85,
        }
    }
}

/// One configured sanctions list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanctionsListSettings {
    /// Stable name (`a-z`, `0-9`, `_`, `-`), recorded with every screening; a new
    /// version replaces the active version of the same name.
    pub name: String,
    /// The file format.
    pub format: SanctionsListFormat,
    /// The folder with the CSV files (OFAC formats) or the XML file (UN).
    pub path: PathBuf,
}

/// The official list formats the gateway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionsListFormat {
    /// OFAC SDN legacy CSV: a folder with `sdn.csv` and optionally `alt.csv`,
    /// `add.csv`, `sdn_comments.csv`.
    OfacSdn,
    /// OFAC consolidated non-SDN legacy CSV: a folder with `cons_prim.csv` and
    /// optionally `cons_alt.csv`, `cons_add.csv`, `cons_comments.csv`.
    OfacNonSdn,
    /// The UN Security Council consolidated list XML file.
    UnConsolidated,
}

impl SanctionsListFormat {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfacSdn => "ofac_sdn",
            Self::OfacNonSdn => "ofac_non_sdn",
            Self::UnConsolidated => "un_consolidated",
        }
    }
}

/// Where documents are stored and how large they may be. Every limit is
/// enforced while the upload streams in, so crossing one costs no memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    /// Unset: the local filesystem under `data_dir/documents`. `s3://bucket/prefix`:
    /// an S3-compatible store, configured by the standard `AWS_*` environment
    /// variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID` …).
    pub storage_url: Option<String>,
    /// Largest document, bytes.
    pub max_file_bytes: u64,
    /// Largest upload request body (the file plus the form around it), bytes.
    pub max_request_bytes: u64,
    /// All documents of one application together, superseded ones included, bytes.
    pub max_application_bytes: u64,
    /// Documents one application may hold, superseded ones included.
    pub max_documents_per_application: u32,
    /// Parts in one upload request.
    pub max_parts: usize,
    /// Bytes of one part's header block.
    pub max_part_header_bytes: usize,
    /// Width or height of an image, pixels.
    pub max_image_side: u32,
    /// Width × height of an image (pixel-flood guard).
    pub max_image_pixels: u64,
    /// Pages of a PDF.
    pub max_pdf_pages: u32,
    /// How often the sweeper looks for blobs without a row.
    pub sweep_interval_secs: u64,
    /// A blob without a row is removed only after this long (an upload may
    /// still be committing it).
    pub orphan_grace_secs: u64,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            storage_url: None,
            max_file_bytes: 10 * 1024 * 1024,
            max_request_bytes: 10 * 1024 * 1024 + 64 * 1024,
            max_application_bytes: 60 * 1024 * 1024,
            max_documents_per_application: 20,
            max_parts: 8,
            max_part_header_bytes: 4096,
            max_image_side: 12_000,
            max_image_pixels: 100_000_000,
            max_pdf_pages: 50,
            sweep_interval_secs: 600,
            orphan_grace_secs: 3600,
        }
    }
}

/// Key-encryption keys (envelope encryption of per-application data keys) and
/// the blind-index key. Files hold 32 random bytes, raw or base64.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataKeySettings {
    /// Id of the KEK that wraps new data keys; generated (`dev-1`) in dev.
    pub kek_active: Option<String>,
    /// Every KEK by id; old ids stay listed so old records remain readable.
    pub kek_files: std::collections::BTreeMap<String, PathBuf>,
    /// HMAC key for blind indexes (equality lookups without plaintext).
    pub blind_index_key_path: Option<PathBuf>,
}

/// The default log origin; production must name its own.
pub const DEV_AUDIT_ORIGIN: &str = "kyc-gateway.localhost/audit";

/// Audit log keys and the sequencer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The log's origin line in checkpoints (C2SP tlog-checkpoint), e.g.
    /// `bank.example/kyc-gateway/audit`; also the log id in every entry.
    pub origin: String,
    /// PKCS#8 Ed25519 checkpoint signing key (DER or PEM); generated in dev.
    pub signing_key_path: Option<PathBuf>,
    /// At least 32 random bytes for pseudonymous ids (HMAC); generated in dev.
    pub pseudonym_key_path: Option<PathBuf>,
    /// Sequencer pause when the queue is empty.
    pub sequencer_interval_ms: u64,
    /// Entries per sequencer transaction.
    pub sequencer_batch: u32,
    /// A checkpoint is re-signed at least this often.
    pub checkpoint_max_age_secs: u64,
}

/// Issuer: the `iss` the dev profile expects (and `dev token` mints) by default.
pub const DEV_ISSUER: &str = "https://kyc-gateway.dev.invalid/dev-issuer";
/// Audience: the `aud` the dev profile expects (and `dev token` mints) by default.
pub const DEV_AUDIENCE: &str = "kyc-gateway";

/// Access-token verification, route-class policy and rate limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Expected `iss`, compared exactly. Required in production; dev default [`DEV_ISSUER`].
    pub issuer: Option<String>,
    /// This gateway's audience, must be in `aud`. Required in production; dev default
    /// [`DEV_AUDIENCE`].
    pub audience: Option<String>,
    /// JWKS file of the identity provider (exclusive with `jwks_url`).
    pub jwks_path: Option<PathBuf>,
    /// `https://` JWKS URL of the identity provider (exclusive with `jwks_path`).
    pub jwks_url: Option<String>,
    /// Dev profile only, for tests against a local fake: allow an `http://` `jwks_url`.
    pub jwks_allow_http: bool,
    /// Keys older than this are refetched on the next request.
    pub jwks_refresh_interval_secs: u64,
    /// At most one JWKS fetch per this interval, whatever triggers it (unknown `kid`s).
    pub jwks_min_refetch_interval_secs: u64,
    /// The claim holding the roles (a string or an array of strings).
    pub roles_claim: String,
    /// Route classes that accept tokens that are not sender-constrained (no
    /// `cnf`). Unset: every class in dev, none in production (FAPI 2.0 §5.3.3).
    pub bearer_route_classes: Option<Vec<RouteClass>>,
    /// Staff and audit routes accept only tokens whose `acr` is one of these; empty
    /// means no requirement.
    pub staff_acr_values: Vec<String>,
    /// Staff and audit routes need an `auth_time` at most this many seconds old.
    pub staff_max_auth_age_secs: Option<u64>,
    /// The URL clients use to reach the gateway (scheme and authority, e.g.
    /// `https://kyc.bank.example`), for DPoP `htu` checks behind a proxy. Unset: the
    /// request's own authority (`https://` + Host).
    pub public_base_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed. Anyone else's is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Rate limits per route class.
    pub rate_limits: RateLimits,
    /// Tighter limits for single actions, on top of the route class's.
    pub action_limits: ActionLimits,
    /// Upper bound of remembered rate-limit buckets (idle ones are evicted first).
    pub rate_limit_max_entries: usize,
}

/// Rate limits, one per route class.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// The applicant routes.
    pub applicant: RateLimit,
    /// Staff routes.
    pub staff: RateLimit,
    /// Service (back-end) routes.
    pub service: RateLimit,
    /// Audit routes.
    pub audit: RateLimit,
}

impl RateLimits {
    /// The limit of `class`.
    pub fn for_class(&self, class: RouteClass) -> RateLimit {
        match class {
            RouteClass::Applicant => self.applicant,
            RouteClass::Staff => self.staff,
            RouteClass::Service => self.service,
            RouteClass::Audit => self.audit,
        }
    }
}

/// Limits per action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionLimits {
    /// `POST /v1/applications`.
    pub create_application: RateLimit,
    /// Document uploads.
    pub upload: RateLimit,
    /// Staff decisions and changes.
    pub staff_action: RateLimit,
    /// Audit export, by API.
    pub audit_export: RateLimit,
}

impl ActionLimits {
    /// The limit of `action`.
    pub fn for_action(&self, action: crate::auth::RateAction) -> RateLimit {
        use crate::auth::RateAction as A;
        match action {
            A::CreateApplication => self.create_application,
            A::Upload => self.upload,
            A::StaffAction => self.staff_action,
            A::AuditExport => self.audit_export,
        }
    }
}

/// Requests per minute (a token bucket: the full minute may come as one burst).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Per token subject.
    pub per_subject_per_minute: u32,
    /// Per client IP (authenticated or not).
    pub per_ip_per_minute: u32,
}

impl AuthSettings {
    /// The route classes that accept unbound bearer tokens in `profile`.
    pub fn bearer_allowed(&self, profile: Profile, class: RouteClass) -> bool {
        match &self.bearer_route_classes {
            Some(classes) => classes.contains(&class),
            None => profile == Profile::Dev,
        }
    }

    /// The issuer in effect (the dev default when unset).
    pub fn effective_issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or(DEV_ISSUER)
    }

    /// The audience in effect (the dev default when unset).
    pub fn effective_audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(DEV_AUDIENCE)
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        let limit = |per_subject_per_minute, per_ip_per_minute| RateLimit {
            per_subject_per_minute,
            per_ip_per_minute,
        };
        Self {
            issuer: None,
            audience: None,
            jwks_path: None,
            jwks_url: None,
            jwks_allow_http: false,
            jwks_refresh_interval_secs: 300,
            jwks_min_refetch_interval_secs: 30,
            roles_claim: "roles".to_owned(),
            bearer_route_classes: None,
            staff_acr_values: Vec::new(),
            staff_max_auth_age_secs: None,
            public_base_url: None,
            trusted_proxies: Vec::new(),
            rate_limits: RateLimits {
                applicant: limit(120, 600),
                staff: limit(600, 1200),
                service: limit(6000, 6000),
                audit: limit(60, 120),
            },
            action_limits: ActionLimits {
                create_application: limit(10, 30),
                upload: limit(30, 120),
                staff_action: limit(120, 240),
                audit_export: limit(5, 20),
            },
            rate_limit_max_entries: 100_000,
        }
    }
}

/// Certificate, key and client-certificate settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain; generated in dev when absent.
    pub cert_path: Option<PathBuf>,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1); generated in dev when absent.
    pub key_path: Option<PathBuf>,
    /// PEM CA bundle; when set, client certificates are verified against it (mTLS).
    pub client_ca_path: Option<PathBuf>,
    /// With a client CA: refuse connections without a client certificate.
    pub client_cert_required: bool,
    /// How often the certificate files are checked for changes.
    pub reload_interval_secs: u64,
    /// A TLS handshake that takes longer is dropped.
    pub handshake_timeout_secs: u64,
}

/// Limits that keep one client from holding the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest JSON or form body accepted.
    pub max_body_bytes: usize,
    /// Time a client has to send its request head.
    pub client_request_timeout_secs: u64,
    /// Time a request may take in the application, body included.
    pub request_timeout_secs: u64,
    /// Idle keep-alive connections are closed after this.
    pub keep_alive_secs: u64,
    /// On SIGTERM, in-flight requests get this long to finish.
    pub shutdown_timeout_secs: u64,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Upper bound of open connections per worker.
    pub max_connections_per_worker: usize,
}

/// Logging and tracing settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directive, e.g. `info` or `kyc_gateway=debug,info`.
    pub log_level: String,
    /// `json` (default) or `pretty` for humans at a terminal.
    pub log_format: LogFormat,
    /// OTLP/HTTP endpoint (e.g. `http://collector:4318/v1/traces`); traces are off when unset.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of exported traces.
    pub service_name: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            profile: Profile::Dev,
            data_dir: PathBuf::from("data"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8443)),
            database_url: None,
            allow_sqlite_in_production: false,
            database_max_connections: 10,
            database_acquire_timeout_secs: 3,
            instance_id: "gateway-1".to_owned(),
            tls: TlsSettings {
                cert_path: None,
                key_path: None,
                client_ca_path: None,
                client_cert_required: false,
                reload_interval_secs: 10,
                handshake_timeout_secs: 5,
            },
            http: HttpSettings {
                max_body_bytes: 64 * 1024,
                client_request_timeout_secs: 5,
                request_timeout_secs: 30,
                keep_alive_secs: 30,
                shutdown_timeout_secs: 30,
                workers: 0,
                max_connections_per_worker: 10_000,
            },
            telemetry: TelemetrySettings {
                log_level: "info".to_owned(),
                log_format: LogFormat::Json,
                otlp_endpoint: None,
                service_name: "kyc-gateway".to_owned(),
            },
            auth: AuthSettings::default(),
            audit: AuditSettings {
                origin: DEV_AUDIT_ORIGIN.to_owned(),
                signing_key_path: None,
                pseudonym_key_path: None,
                sequencer_interval_ms: 200,
                sequencer_batch: 1000,
                checkpoint_max_age_secs: 3600,
            },
            policy_path: PathBuf::from("policies/onboarding.toml"),
            data_keys: DataKeySettings::default(),
            documents: DocumentSettings::default(),
            sanctions: SanctionsSettings::default(),
            checks: CheckSettings::default(),
            review: ReviewSettings::default(),
            handoff: HandoffConfig::default(),
            vendor: VendorSettings::default(),
        }
    }
}

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be parsed.
    #[error("configuration: {0}")]
    Parse(String),
    /// A value parsed but breaks a rule.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The offending key, as written in the TOML file.
        key: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// The database backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// PostgreSQL, the production store.
    Postgres,
    /// SQLite, the embedded default.
    Sqlite,
}

impl DatabaseKind {
    /// Picks the backend from the URL scheme; anything else is rejected.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "sqlite" => Ok(Self::Sqlite),
            other => Err(ConfigError::Invalid {
                key: "database_url",
                reason: format!("unsupported scheme `{other}`; use postgres://… or sqlite://…"),
            }),
        }
    }
}

impl Settings {
    /// Loads defaults, then the TOML file (if any), then `KYC_*` variables,
    /// and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Parse(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // `KYC_TLS__CERT_PATH` → `tls.cert_path`.
        figment = figment.merge(Env::prefixed("KYC_").split("__"));
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Only the profile the file and environment select, without validating
    /// anything else (so `dev token` can refuse production with a clear message).
    pub fn load_profile(file: Option<&Path>) -> Result<Profile, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file(path));
        }
        figment
            .merge(Env::prefixed("KYC_").split("__"))
            .extract_inner("profile")
            .map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// The database URL in effect: the configured one, or SQLite under `data_dir`.
    pub fn effective_database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("kyc-gateway.db").display()
            )),
        }
    }

    /// Rules that hold in every profile, and the stricter production rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let db = DatabaseKind::from_url(self.effective_database_url().expose_secret())?;
        let positive = [
            (
                "database_max_connections",
                u64::from(self.database_max_connections),
            ),
            (
                "database_acquire_timeout_secs",
                self.database_acquire_timeout_secs,
            ),
            ("tls.reload_interval_secs", self.tls.reload_interval_secs),
            (
                "tls.handshake_timeout_secs",
                self.tls.handshake_timeout_secs,
            ),
            (
                "http.client_request_timeout_secs",
                self.http.client_request_timeout_secs,
            ),
            ("http.request_timeout_secs", self.http.request_timeout_secs),
            ("http.max_body_bytes", self.http.max_body_bytes as u64),
            (
                "http.max_connections_per_worker",
                self.http.max_connections_per_worker as u64,
            ),
            (
                "audit.sequencer_interval_ms",
                self.audit.sequencer_interval_ms,
            ),
            (
                "audit.sequencer_batch",
                u64::from(self.audit.sequencer_batch),
            ),
            (
                "audit.checkpoint_max_age_secs",
                self.audit.checkpoint_max_age_secs,
            ),
            ("documents.max_file_bytes", self.documents.max_file_bytes),
            (
                "documents.max_request_bytes",
                self.documents.max_request_bytes,
            ),
            (
                "documents.max_application_bytes",
                self.documents.max_application_bytes,
            ),
            (
                "documents.max_documents_per_application",
                u64::from(self.documents.max_documents_per_application),
            ),
            ("documents.max_parts", self.documents.max_parts as u64),
            (
                "documents.max_part_header_bytes",
                self.documents.max_part_header_bytes as u64,
            ),
            (
                "documents.max_image_side",
                u64::from(self.documents.max_image_side),
            ),
            (
                "documents.max_image_pixels",
                self.documents.max_image_pixels,
            ),
            (
                "documents.max_pdf_pages",
                u64::from(self.documents.max_pdf_pages),
            ),
            (
                "documents.sweep_interval_secs",
                self.documents.sweep_interval_secs,
            ),
            (
                "sanctions.reload_check_interval_secs",
                self.sanctions.reload_check_interval_secs,
            ),
            ("checks.max_attempts", u64::from(self.checks.max_attempts)),
            ("checks.lease_secs", self.checks.lease_secs),
            (
                "checks.provider_timeout_secs",
                self.checks.provider_timeout_secs,
            ),
            ("checks.poll_interval_ms", self.checks.poll_interval_ms),
            ("checks.backoff_base_ms", self.checks.backoff_base_ms),
            ("checks.backoff_cap_secs", self.checks.backoff_cap_secs),
            ("review.claim_lease_secs", self.review.claim_lease_secs),
            ("review.decide_interval_ms", self.review.decide_interval_ms),
            (
                "review.event_scan_interval_secs",
                self.review.event_scan_interval_secs,
            ),
            ("handoff.max_attempts", u64::from(self.handoff.max_attempts)),
            ("handoff.backoff_base_ms", self.handoff.backoff_base_ms),
            ("handoff.backoff_cap_secs", self.handoff.backoff_cap_secs),
            ("handoff.timeout_secs", self.handoff.timeout_secs),
            ("handoff.poll_interval_ms", self.handoff.poll_interval_ms),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: "must be greater than 0".to_owned(),
                });
            }
        }
        if let Some(raw) = &self.handoff.url {
            let ok = match url::Url::parse(raw) {
                Ok(u) if u.host().is_none() => false,
                Ok(u) if u.scheme() == "https" => true,
                Ok(u) => {
                    u.scheme() == "http" && self.handoff.allow_http && self.profile == Profile::Dev
                }
                Err(_) => false,
            };
            if !ok {
                return Err(ConfigError::Invalid {
                    key: "handoff.url",
                    reason: "must be an https:// URL (http:// only with handoff.allow_http in dev)"
                        .to_owned(),
                });
            }
        }
        if self.profile == Profile::Production && self.handoff.allow_http {
            return Err(ConfigError::Invalid {
                key: "handoff.allow_http",
                reason: "refused in the production profile".to_owned(),
            });
        }
        if self.profile == Profile::Production
            && self.handoff.url.is_some()
            && self
                .handoff
                .secret_path
                .as_ref()
                .is_none_or(|p| p.starts_with(self.dev_dir()))
        {
            return Err(ConfigError::Invalid {
                key: "handoff.secret_path",
                reason: "production needs its own webhook secret file (not a dev-generated one)"
                    .to_owned(),
            });
        }
        if self.checks.lease_secs <= self.checks.provider_timeout_secs {
            return Err(ConfigError::Invalid {
                key: "checks.lease_secs",
                reason: "must be longer than checks.provider_timeout_secs, or a slow check would be taken over while it runs".to_owned(),
            });
        }
        if self.checks.max_attempts > 100 {
            return Err(ConfigError::Invalid {
                key: "checks.max_attempts",
                reason: "must be at most 100".to_owned(),
            });
        }
        if self.http.max_body_bytes > 16 * 1024 * 1024 {
            return Err(ConfigError::Invalid {
                key: "http.max_body_bytes",
                reason: "must be at most 16 MiB; documents have their own limits".to_owned(),
            });
        }
        if let Some(url) = &self.documents.storage_url
            && !url.starts_with("s3://")
        {
            return Err(ConfigError::Invalid {
                key: "documents.storage_url",
                reason: "use s3://bucket/prefix, or leave it unset for the local data directory"
                    .to_owned(),
            });
        }
        if self.tls.cert_path.is_some() != self.tls.key_path.is_some() {
            return Err(ConfigError::Invalid {
                key: "tls.key_path",
                reason: "tls.cert_path and tls.key_path must be set together".to_owned(),
            });
        }
        if self.tls.client_cert_required && self.tls.client_ca_path.is_none() {
            return Err(ConfigError::Invalid {
                key: "tls.client_cert_required",
                reason: "requires tls.client_ca_path".to_owned(),
            });
        }
        if self.instance_id.is_empty()
            || self.instance_id.len() > 64
            || !self
                .instance_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::Invalid {
                key: "instance_id",
                reason: "1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'".to_owned(),
            });
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "telemetry.otlp_endpoint",
                reason: "must be an http:// or https:// URL".to_owned(),
            });
        }
        if self.audit.sequencer_batch > 5_000 {
            return Err(ConfigError::Invalid {
                key: "audit.sequencer_batch",
                reason: "must be at most 5000".to_owned(),
            });
        }
        let origin = &self.audit.origin;
        if origin.is_empty() || origin.len() > 200 || origin.chars().any(|c| c.is_control()) {
            return Err(ConfigError::Invalid {
                key: "audit.origin",
                reason: "1 to 200 printable characters, one line".to_owned(),
            });
        }
        if self.profile == Profile::Production {
            if self.tls.cert_path.is_none() {
                return Err(ConfigError::Invalid {
                    key: "tls.cert_path",
                    reason: "the production profile needs a configured certificate and key; \
                             dev certificates are never generated in production"
                        .to_owned(),
                });
            }
            if self.database_url.is_none() {
                return Err(ConfigError::Invalid {
                    key: "database_url",
                    reason: "the production profile needs an explicit database URL".to_owned(),
                });
            }
            if db == DatabaseKind::Sqlite && !self.allow_sqlite_in_production {
                return Err(ConfigError::Invalid {
                    key: "database_url",
                    reason: "SQLite is refused in production; use PostgreSQL, or set \
                             allow_sqlite_in_production = true if you accept a single node"
                        .to_owned(),
                });
            }
            self.validate_production_audit()?;
            self.validate_production_data_keys()?;
        }
        self.sanctions.validate()?;
        self.vendor.validate(self.profile)?;
        if let Some(active) = &self.data_keys.kek_active
            && !self.data_keys.kek_files.contains_key(active)
        {
            return Err(ConfigError::Invalid {
                key: "data_keys.kek_active",
                reason: format!("`{active}` has no entry in data_keys.kek_files"),
            });
        }
        self.validate_auth()
    }

    fn validate_production_data_keys(&self) -> Result<(), ConfigError> {
        let keys = &self.data_keys;
        let dev = self.dev_dir();
        match &keys.kek_active {
            None => {
                return Err(ConfigError::Invalid {
                    key: "data_keys.kek_active",
                    reason: "required in production: the id of the key-encryption key".to_owned(),
                });
            }
            Some(id) if !keys.kek_files.contains_key(id) => {
                return Err(ConfigError::Invalid {
                    key: "data_keys.kek_files",
                    reason: format!("has no file for the active key `{id}`"),
                });
            }
            Some(_) => {}
        }
        if keys.kek_files.values().any(|p| p.starts_with(&dev)) {
            return Err(ConfigError::Invalid {
                key: "data_keys.kek_files",
                reason: "a development key is refused in production".to_owned(),
            });
        }
        match &keys.blind_index_key_path {
            None => Err(ConfigError::Invalid {
                key: "data_keys.blind_index_key_path",
                reason: "required in production".to_owned(),
            }),
            Some(p) if p.starts_with(&dev) => Err(ConfigError::Invalid {
                key: "data_keys.blind_index_key_path",
                reason: "a development key is refused in production".to_owned(),
            }),
            Some(_) => Ok(()),
        }
    }

    fn validate_production_audit(&self) -> Result<(), ConfigError> {
        if self.audit.origin == DEV_AUDIT_ORIGIN {
            return Err(ConfigError::Invalid {
                key: "audit.origin",
                reason:
                    "production needs the log's own origin, e.g. bank.example/kyc-gateway/audit"
                        .to_owned(),
            });
        }
        let dev = self.dev_dir();
        for (key, path) in [
            ("audit.signing_key_path", &self.audit.signing_key_path),
            ("audit.pseudonym_key_path", &self.audit.pseudonym_key_path),
        ] {
            match path {
                None => {
                    return Err(ConfigError::Invalid {
                        key,
                        reason: "required in production; dev keys are never generated there"
                            .to_owned(),
                    });
                }
                Some(p) if p.starts_with(&dev) => {
                    return Err(ConfigError::Invalid {
                        key,
                        reason: format!("{} is a development key", p.display()),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The `auth` section's rules; production refuses the dev shortcuts.
    fn validate_auth(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        let invalid = |key: &'static str, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        let positive = [
            (
                "auth.jwks_refresh_interval_secs",
                auth.jwks_refresh_interval_secs,
            ),
            (
                "auth.rate_limit_max_entries",
                auth.rate_limit_max_entries as u64,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        for (key, limit) in [
            ("auth.rate_limits.applicant", auth.rate_limits.applicant),
            ("auth.rate_limits.staff", auth.rate_limits.staff),
            ("auth.rate_limits.service", auth.rate_limits.service),
            ("auth.rate_limits.audit", auth.rate_limits.audit),
            (
                "auth.action_limits.create_application",
                auth.action_limits.create_application,
            ),
            ("auth.action_limits.upload", auth.action_limits.upload),
            (
                "auth.action_limits.staff_action",
                auth.action_limits.staff_action,
            ),
            (
                "auth.action_limits.audit_export",
                auth.action_limits.audit_export,
            ),
        ] {
            if limit.per_subject_per_minute == 0 || limit.per_ip_per_minute == 0 {
                return Err(invalid(
                    key,
                    "per_subject_per_minute and per_ip_per_minute must be greater than 0",
                ));
            }
        }
        if auth.jwks_min_refetch_interval_secs > auth.jwks_refresh_interval_secs {
            return Err(invalid(
                "auth.jwks_min_refetch_interval_secs",
                "must not exceed auth.jwks_refresh_interval_secs",
            ));
        }
        for (key, value) in [
            ("auth.issuer", &auth.issuer),
            ("auth.audience", &auth.audience),
        ] {
            if value.as_deref().is_some_and(str::is_empty) {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if auth.roles_claim.is_empty() {
            return Err(invalid("auth.roles_claim", "must not be empty"));
        }
        if auth.jwks_path.is_some() && auth.jwks_url.is_some() {
            return Err(invalid(
                "auth.jwks_url",
                "set either auth.jwks_path or auth.jwks_url, not both",
            ));
        }
        if let Some(raw) = &auth.jwks_url {
            match url::Url::parse(raw) {
                Ok(u) if u.scheme() == "https" && u.host().is_some() => {}
                Ok(u) if u.scheme() == "http" && u.host().is_some() && auth.jwks_allow_http => {}
                Ok(u) if u.scheme() == "http" => {
                    return Err(invalid(
                        "auth.jwks_url",
                        "must be an https:// URL (http:// only with auth.jwks_allow_http in dev)",
                    ));
                }
                _ => return Err(invalid("auth.jwks_url", "must be an https:// URL")),
            }
        }
        if let Some(raw) = &auth.public_base_url {
            match url::Url::parse(raw) {
                Ok(u)
                    if u.scheme() == "https"
                        && u.host().is_some()
                        && u.path() == "/"
                        && u.query().is_none() => {}
                _ => {
                    return Err(invalid(
                        "auth.public_base_url",
                        "must be https://host[:port] without a path",
                    ));
                }
            }
        }
        if self.profile == Profile::Production {
            if auth.jwks_allow_http {
                return Err(invalid(
                    "auth.jwks_allow_http",
                    "is a dev-profile test switch; production fetches keys over https only",
                ));
            }
            if auth.issuer.is_none() {
                return Err(invalid(
                    "auth.issuer",
                    "the production profile needs the identity provider's issuer",
                ));
            }
            if auth.audience.is_none() {
                return Err(invalid(
                    "auth.audience",
                    "the production profile needs this gateway's audience",
                ));
            }
            if auth.jwks_path.is_none() && auth.jwks_url.is_none() {
                return Err(invalid(
                    "auth.jwks_path",
                    "the production profile needs auth.jwks_path or auth.jwks_url; \
                     the dev signing key is never trusted in production",
                ));
            }
            if let Some(path) = &auth.jwks_path
                && path.starts_with(self.dev_dir())
            {
                return Err(invalid(
                    "auth.jwks_path",
                    "points into the dev directory; the dev signing key is never \
                     trusted in production",
                ));
            }
        }
        Ok(())
    }

    /// The folder for generated development keys and certificates (git-ignored).
    pub fn dev_dir(&self) -> PathBuf {
        self.data_dir.join("dev")
    }
}

impl SanctionsSettings {
    /// Threshold in range; list names well-formed and unique; paths set.
    fn validate(&self) -> Result<(), ConfigError> {
        let t = self.review_threshold;
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            return Err(ConfigError::Invalid {
                key: "sanctions.review_threshold",
                reason: format!("{t} is not in (0, 1]"),
            });
        }
        let invalid = |reason: String| ConfigError::Invalid {
            key: "sanctions.lists",
            reason,
        };
        for (i, list) in self.lists.iter().enumerate() {
            let name = &list.name;
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(invalid(format!(
                    "list {i}: name `{name}` must be 1 to 64 characters of a-z, 0-9, '_', '-'"
                )));
            }
            if self.lists[..i].iter().any(|l| &l.name == name) {
                return Err(invalid(format!("list {i}: name `{name}` is used twice")));
            }
            if list.path.as_os_str().is_empty() {
                return Err(invalid(format!(
                    "list {i} (`{name}`): path must not be empty"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        Settings {
            profile: Profile::Production,
            database_url: Some(SecretString::from("postgres://u:hunter2@db/kyc")),
            tls: TlsSettings {
                cert_path: Some("cert.pem".into()),
                key_path: Some("key.pem".into()),
                ..Settings::default().tls
            },
            auth: AuthSettings {
                issuer: Some("https://idp.bank.example".to_owned()),
                audience: Some("kyc-gateway".to_owned()),
                jwks_url: Some("https://idp.bank.example/jwks".to_owned()),
                ..AuthSettings::default()
            },
            audit: AuditSettings {
                origin: "bank.example/kyc-gateway/audit".into(),
                signing_key_path: Some("/etc/kyc/audit.p8".into()),
                pseudonym_key_path: Some("/etc/kyc/pseudonym.key".into()),
                ..Settings::default().audit
            },
            data_keys: DataKeySettings {
                kek_active: Some("2026-12".into()),
                kek_files: [(
                    "2026-12".to_owned(),
                    PathBuf::from("/etc/kyc/kek-2026-12.key"),
                )]
                .into(),
                blind_index_key_path: Some("/etc/kyc/blind-index.key".into()),
            },
            ..Settings::default()
        }
    }

    #[test]
    fn production_needs_its_own_data_keys() {
        let mut s = production();
        s.data_keys.kek_active = None;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("data_keys.kek_active")
        );
        let mut s = production();
        s.data_keys.kek_active = Some("2027-01".into());
        assert!(s.validate().unwrap_err().to_string().contains("2027-01"));
        let mut s = production();
        s.data_keys.blind_index_key_path = Some(s.dev_dir().join("blind-index.key"));
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("blind_index_key_path")
        );
    }

    #[test]
    fn production_refuses_dev_audit_keys_and_origin() {
        let mut s = production();
        s.audit.signing_key_path = Some(s.dev_dir().join("audit-signing-key.p8"));
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("audit.signing_key_path")
        );
        let mut s = production();
        s.audit.pseudonym_key_path = None;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("audit.pseudonym_key_path")
        );
        let mut s = production();
        s.audit.origin = DEV_AUDIT_ORIGIN.into();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("audit.origin")
        );
    }

    #[test]
    fn production_needs_issuer_audience_and_keys() {
        assert!(production().validate().is_ok());
        for (key, clear) in [
            (
                "auth.issuer",
                (|s: &mut Settings| s.auth.issuer = None) as fn(&mut Settings),
            ),
            ("auth.audience", |s| s.auth.audience = None),
            ("auth.jwks_path", |s| s.auth.jwks_url = None),
        ] {
            let mut s = production();
            clear(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn production_never_trusts_the_dev_key_directory_nor_http() {
        let mut s = production();
        s.auth.jwks_url = None;
        s.auth.jwks_path = Some(s.dev_dir().join("jwt-jwks.json"));
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("auth.jwks_path") && err.contains("dev"),
            "{err}"
        );

        let mut s = production();
        s.auth.jwks_url = Some("http://idp/jwks".to_owned());
        s.auth.jwks_allow_http = true;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("auth.jwks_allow_http"), "{err}");
    }

    #[test]
    fn jwks_url_must_be_https_and_exclusive() {
        let mut s = Settings::default();
        s.auth.jwks_url = Some("http://idp/jwks".to_owned());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("auth.jwks_url")
        );
        s.auth.jwks_allow_http = true;
        assert!(s.validate().is_ok());
        s.auth.jwks_path = Some("jwks.json".into());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("auth.jwks_url")
        );
    }

    #[test]
    fn bearer_tokens_default_to_dev_only() {
        let s = Settings::default();
        assert!(s.auth.bearer_allowed(Profile::Dev, RouteClass::Staff));
        assert!(
            !s.auth
                .bearer_allowed(Profile::Production, RouteClass::Staff)
        );
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment::Jail's closure signature")]
    fn auth_keys_come_from_the_environment_and_bad_ones_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KYC_AUTH__RATE_LIMITS__AUDIT__PER_IP_PER_MINUTE", "7");
            jail.set_env("KYC_AUTH__BEARER_ROUTE_CLASSES", "[applicant]");
            let s = Settings::load(None).unwrap();
            assert_eq!(s.auth.rate_limits.audit.per_ip_per_minute, 7);
            assert_eq!(
                s.auth.bearer_route_classes,
                Some(vec![RouteClass::Applicant])
            );
            jail.set_env("KYC_AUTH__RATE_LIMITS__AUDIT__PER_IP_PER_MINUTE", "0");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("auth.rate_limits.audit"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment::Jail's closure signature")]
    fn sanctions_lists_load_from_the_file_and_bad_ones_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kyc.toml",
                "[sanctions]\nreview_threshold = 0.9\n\
                 [[sanctions.lists]]\nname = \"ofac_sdn\"\nformat = \"ofac_sdn\"\npath = \"lists/sdn\"\n\
                 [[sanctions.lists]]\nname = \"un\"\nformat = \"un_consolidated\"\npath = \"lists/un.xml\"\n",
            )?;
            let s = Settings::load(Some(Path::new("kyc.toml"))).unwrap();
            assert_eq!(s.sanctions.lists.len(), 2);
            assert_eq!(
                s.sanctions.lists[1].format,
                SanctionsListFormat::UnConsolidated
            );
            assert_eq!(s.sanctions.review_threshold, 0.9);

            jail.create_file(
                "bad.toml",
                "[[sanctions.lists]]\nname = \"eu\"\nformat = \"eu_xml\"\npath = \"eu.xml\"\n",
            )?;
            let err = Settings::load(Some(Path::new("bad.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("eu_xml") && err.contains("format"), "{err}");
            jail.create_file(
                "typo.toml",
                "[[sanctions.lists]]\nname = \"un\"\nformat = \"un_consolidated\"\nfile = \"un.xml\"\n",
            )?;
            let err = Settings::load(Some(Path::new("typo.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("file"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn sanctions_rules_name_the_key() {
        let list = |name: &str| SanctionsListSettings {
            name: name.to_owned(),
            format: SanctionsListFormat::OfacSdn,
            path: "sdn".into(),
        };
        let mut s = Settings::default();
        assert!(s.sanctions.lists.is_empty(), "no list unless configured");
        s.sanctions.lists = vec![list("ofac_sdn"), list("ofac_sdn")];
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("sanctions.lists") && err.contains("twice"),
            "{err}"
        );
        s.sanctions.lists = vec![list("OFAC SDN")];
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("sanctions.lists")
        );
        s.sanctions.lists = vec![list("ofac_sdn")];
        assert!(s.validate().is_ok());
        for bad in [0.0, 1.5, f32::NAN] {
            s.sanctions.review_threshold = bad;
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains("sanctions.review_threshold"), "{err}");
        }
        s.sanctions.review_threshold = 0.85;
        s.sanctions.reload_check_interval_secs = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("sanctions.reload_check_interval_secs"),
            "{err}"
        );
    }

    #[test]
    fn vendor_rules_name_the_key_and_never_print_the_secrets() {
        let mut s = Settings::default();
        assert!(!s.vendor.is_configured() && s.validate().is_ok());
        s.vendor.base_url = Some("https://vendor.example/v3.6".to_owned());
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("vendor.api_token"), "{err}");
        s.vendor.api_token = Some(SecretString::from("api_sandbox.tok3n-value"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("vendor.webhook_secret"), "{err}");
        s.vendor.webhook_secret = Some(SecretString::from("whsec-0123456789abcdef"));
        assert!(s.validate().is_ok());
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("tok3n") && !printed.contains("whsec"),
            "{printed}"
        );
        s.vendor.base_url = Some("http://127.0.0.1:9/v3.6".to_owned());
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("vendor.base_url"), "{err}");
        s.vendor.allow_http = true;
        assert!(s.validate().is_ok());
        let mut p = production();
        p.vendor = s.vendor.clone();
        let err = p.validate().unwrap_err().to_string();
        assert!(err.contains("vendor.allow_http"), "{err}");
        let mut s = Settings::default();
        s.vendor.request_timeout_ms = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("vendor.request_timeout_ms"), "{err}");
    }

    #[test]
    fn defaults_are_valid_dev_settings() {
        let s = Settings::default();
        assert!(s.validate().is_ok());
        assert!(
            s.effective_database_url()
                .expose_secret()
                .starts_with("sqlite://")
        );
    }

    #[test]
    fn production_refuses_missing_certificate() {
        let mut s = production();
        s.tls.cert_path = None;
        s.tls.key_path = None;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("tls.cert_path"), "{err}");
    }

    #[test]
    fn production_refuses_sqlite_unless_allowed() {
        let mut s = production();
        s.database_url = Some(SecretString::from("sqlite:///var/lib/kyc.db"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("SQLite is refused"), "{err}");
        s.allow_sqlite_in_production = true;
        assert!(s.validate().is_ok());
    }

    #[test]
    fn unknown_database_scheme_is_rejected() {
        let s = Settings {
            database_url: Some(SecretString::from("mysql://db/kyc")),
            ..Settings::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("database_url") && err.contains("mysql"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_never_shows_the_database_password() {
        let printed = format!("{:?}", production());
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment::Jail's closure signature")]
    fn bad_types_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KYC_TLS__RELOAD_INTERVAL_SECS", "soon");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("reload_interval_secs"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment::Jail's closure signature")]
    fn unknown_keys_in_the_file_are_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kyc.toml", "bind = \"127.0.0.1:9443\"\nbindd = 1\n")?;
            let err = Settings::load(Some(Path::new("kyc.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("bindd"), "{err}");
            Ok(())
        });
    }
}
