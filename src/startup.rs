//! Builds the application from settings: the store (migrated), TLS, the HTTP
//! server bound to its port (port 0 in tests), and the background tasks.
//! `Application::build` → `port` → `run_until_stopped`.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use secrecy::ExposeSecret;

use crate::audit::keys::{self, Pseudonymizer};
use crate::audit::sequencer::{self, SequencerSettings};
use crate::audit::{AuditLog, AuditStore};
use crate::auth::SystemClock;
use crate::auth::setup::{AuthSetupError, build_verifier};
use crate::config::{Profile, Settings};
use crate::domain::check::CheckKind;

use crate::http;
use crate::http::auth::Authenticator;
use crate::store::{self, ConnectOptions, Store};
use crate::telemetry::Metrics;
use crate::tls::{self, ConnectionInfo, ReloadingCertResolver};

/// What every handler can reach.
pub struct AppState {
    /// The validated settings.
    pub settings: Settings,
    /// The database.
    pub store: Arc<dyn Store>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// The onboarding use cases.
    pub onboarding: Arc<crate::onboarding::Onboarding>,
    /// The document use cases.
    pub documents: Arc<crate::documents::Documents>,
    /// Decisions and the exceptions queue.
    pub review: Arc<crate::review::Review>,
    /// Delivery downstream, and the admin replay.
    pub handoff: Arc<crate::review::handoff::Handoff>,
    /// KYC checks and their results.
    pub checks: Arc<crate::checks::pipeline::Checks>,
    /// The document and liveness vendor, when one is configured.
    pub vendor: Option<Arc<crate::checks::vendor::Vendor>>,
    /// Sanctions lists and screening.
    pub sanctions: Arc<crate::checks::screening::Sanctions>,
}

/// Failures while starting; each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The hand-off settings or secret are unusable.
    #[error("handoff: {0}")]
    Handoff(String),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    /// Certificates or TLS settings are unusable.
    #[error("tls: {0}")]
    Tls(#[from] tls::TlsError),
    /// Audit keys are missing or unusable.
    #[error("audit: {0}")]
    AuditKeys(#[from] keys::KeyError),
    /// The audit log refused to record.
    #[error("audit: {0}")]
    Audit(#[from] crate::audit::log::AuditError),
    /// The policy file is missing or invalid.
    #[error("policy: {0}")]
    Policy(#[from] crate::policy::PolicyError),
    /// Data-protection keys are missing or unusable.
    #[error("data keys: {0}")]
    DataKeys(#[from] crate::onboarding::keys::DataKeyError),
    /// Document storage cannot be opened.
    #[error("documents.storage_url: {0}")]
    Documents(#[from] crate::documents::blobs::BlobError),
    /// Access-token verification cannot be set up.
    #[error("auth: {0}")]
    Auth(#[from] AuthSetupError),
    /// The document and liveness vendor is required but missing, or unusable.
    #[error("vendor: {0}")]
    Vendor(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        reason: String,
    },
}

/// Opens the configured store and applies migrations.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StartupError> {
    let store = store::connect(
        &settings.effective_database_url(),
        &ConnectOptions {
            max_connections: settings.database_max_connections,
            acquire_timeout: Duration::from_secs(settings.database_acquire_timeout_secs),
        },
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// Builds the audit log over `store`: keys from config, or generated under
/// the dev directory in the dev profile.
pub fn audit_log(settings: &Settings, store: Arc<dyn Store>) -> Result<AuditLog, StartupError> {
    let origin = settings.audit.origin.clone();
    let signer = match &settings.audit.signing_key_path {
        Some(path) => keys::load_signer(&origin, path)?,
        None => keys::dev_signer(&origin, &settings.dev_dir())?,
    };
    let pseudonyms = match &settings.audit.pseudonym_key_path {
        Some(path) => Pseudonymizer::load(path)?,
        None => Pseudonymizer::dev(&settings.dev_dir())?,
    };
    let store: Arc<dyn AuditStore> = store;
    Ok(AuditLog::new(
        store,
        Arc::new(signer),
        origin,
        settings.instance_id.clone(),
        pseudonyms,
        Arc::new(crate::domain::clock::SystemClock),
    ))
}

/// The sequencer settings from config.
pub fn sequencer_settings(settings: &Settings) -> SequencerSettings {
    SequencerSettings {
        interval: Duration::from_millis(settings.audit.sequencer_interval_ms),
        batch: settings.audit.sequencer_batch,
        checkpoint_max_age: Duration::from_secs(settings.audit.checkpoint_max_age_secs),
    }
}

/// How often stale drafts are expired and old idempotency keys purged.
const JANITOR_INTERVAL: Duration = Duration::from_secs(300);

/// Background upkeep: expires drafts per policy and purges idempotency keys
/// (kept at least 24 hours). Errors are logged and retried next round.
fn spawn_janitor(
    onboarding: Arc<crate::onboarding::Onboarding>,
    documents: Arc<crate::documents::Documents>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let sweep_every = Duration::from_secs(documents.settings().sweep_interval_secs);
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_sweep {
                match documents.sweep_orphans().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(removed = n, "document blobs without a record removed"),
                    Err(error) => tracing::error!(%error, "sweeping document blobs failed"),
                }
                next_sweep = tokio::time::Instant::now() + sweep_every;
            }
            match onboarding.expire_stale_drafts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "stale drafts expired"),
                Err(error) => tracing::error!(%error, "expiring drafts failed"),
            }
            if let Err(error) = onboarding.purge_idempotency_keys().await {
                tracing::error!(%error, "purging idempotency keys failed");
            }
            tokio::time::sleep(JANITOR_INTERVAL.min(sweep_every)).await;
        }
    })
}

/// A built, bound, not yet running gateway.
pub struct Application {
    port: u16,
    server: Server,
    cert_watcher: tokio::task::JoinHandle<()>,
    sequencer: tokio::task::JoinHandle<()>,
    janitor: tokio::task::JoinHandle<()>,
    list_watcher: tokio::task::JoinHandle<()>,
    check_worker: tokio::task::JoinHandle<()>,
    vendor_poller: Option<tokio::task::JoinHandle<()>>,
    decider: tokio::task::JoinHandle<()>,
    handoff_worker: tokio::task::JoinHandle<()>,
    store: Arc<dyn Store>,
    audit: Arc<AuditLog>,
    sequencer_settings: SequencerSettings,
}

impl Application {
    /// Builds everything and binds the TLS listener; nothing is served until
    /// `run_until_stopped`.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let (cert_path, key_path) = match (&settings.tls.cert_path, &settings.tls.key_path) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ => {
                // `Settings::validate` guarantees this is the dev profile.
                let dev = tls::ensure_dev_certificates(&settings.dev_dir())?;
                tracing::info!(
                    ca_cert = %dev.ca_cert.display(),
                    server_cert = %dev.server_cert.display(),
                    "using generated development certificates; trust the CA with curl --cacert"
                );
                (dev.server_cert, dev.server_key)
            }
        };
        let resolver = Arc::new(ReloadingCertResolver::new(
            cert_path,
            key_path,
            settings.profile,
        )?);
        let tls_config = tls::server_config(&settings.tls, Arc::clone(&resolver))?;
        let cert_watcher =
            resolver.spawn_watcher(Duration::from_secs(settings.tls.reload_interval_secs));

        let verifier = build_verifier(&settings, Arc::new(SystemClock))?;
        let store = open_store(&settings).await?;
        let audit = Arc::new(audit_log(&settings, Arc::clone(&store))?);
        let policy = Arc::new(crate::policy::Policy::load(&settings.policy_path)?);
        require_vendor(&settings, &policy)?;
        let (keyring, blind) = crate::onboarding::keys::load(&settings)?;
        let onboarding = Arc::new(
            crate::onboarding::Onboarding::new(
                Arc::clone(&store) as Arc<dyn crate::onboarding::ApplicationStore>,
                Arc::clone(&audit),
                Arc::clone(&policy),
                keyring,
                blind,
                Arc::new(crate::domain::clock::SystemClock),
            )
            .with_check_attempts(settings.checks.max_attempts)
            .with_vendor_provider(vendor_provider_name(&settings)),
        );
        let blobs = match &settings.documents.storage_url {
            Some(url) => crate::documents::blobs::BlobStore::s3(url)?,
            None => {
                crate::documents::blobs::BlobStore::local(&settings.data_dir.join("documents"))?
            }
        };
        let documents = Arc::new(crate::documents::Documents::new(
            Arc::clone(&store) as Arc<dyn crate::documents::DocumentStore>,
            Arc::clone(&onboarding),
            blobs,
            settings.documents.clone(),
            Arc::new(crate::domain::clock::SystemClock),
        ));
        let janitor = spawn_janitor(Arc::clone(&onboarding), Arc::clone(&documents));
        let sanctions = Arc::new(crate::checks::screening::Sanctions::new(
            &settings.sanctions,
            Arc::clone(&audit),
            Arc::new(crate::domain::clock::SystemClock),
        ));
        // A list that cannot be read or fails validation is logged and stays
        // inactive; the gateway still starts (screening answers 503 until a list is
        // active).
        if let Err(error) = sanctions
            .reload(crate::checks::screening::ReloadTrigger::Startup, None)
            .await
        {
            tracing::error!(%error, "loading the sanctions lists failed");
        }
        let list_watcher = sanctions.spawn_watcher(Duration::from_secs(
            settings.sanctions.reload_check_interval_secs,
        ));
        let vendor = vendor_adapter(&settings, &store, &documents, &audit)?;
        let mut providers = crate::checks::pipeline::builtin_providers(Arc::clone(&sanctions));
        for kind in [CheckKind::Document, CheckKind::Liveness] {
            let provider: Arc<dyn crate::checks::pipeline::Provider> = match &vendor {
                Some(v) => Arc::new(crate::checks::vendor::VendorCheck::new(Arc::clone(v), kind)),
                None => Arc::new(crate::checks::sandbox::SandboxCheck::new(kind)),
            };
            providers.insert(kind, provider);
        }
        let checks = Arc::new(crate::checks::pipeline::Checks::new(
            Arc::clone(&store),
            Arc::clone(&onboarding),
            Arc::clone(&audit),
            providers,
            Arc::new(crate::domain::clock::SystemClock),
        ));
        let check_worker = checks.spawn_worker(check_worker_settings(&settings));
        let metrics = Metrics::new();
        let vendor_poller = vendor.as_ref().map(|v| v.spawn_poller(Arc::clone(&checks)));
        let review = Arc::new(crate::review::Review::new(
            Arc::clone(&store),
            Arc::clone(&onboarding),
            Arc::clone(&checks),
            Arc::clone(&audit),
            Arc::clone(&policy),
            Arc::new(crate::domain::clock::SystemClock),
            crate::review::ReviewSettings {
                claim_lease: Duration::from_secs(settings.review.claim_lease_secs),
            },
            Arc::clone(&metrics),
            Arc::clone(&sanctions),
        ));
        let decider = review.spawn_decider(
            Duration::from_millis(settings.review.decide_interval_ms),
            Duration::from_secs(settings.review.event_scan_interval_secs),
        );
        let handoff = Arc::new(
            crate::review::handoff::Handoff::new(
                Arc::clone(&store),
                Arc::clone(&onboarding),
                Arc::clone(&audit),
                Arc::new(crate::domain::clock::SystemClock),
                handoff_settings(&settings)?,
            )
            .map_err(|e| StartupError::Handoff(e.to_string()))?,
        );
        let handoff_worker = handoff.spawn();
        let authenticator = web::Data::new(
            Authenticator::new(verifier, &settings).with_failure_sink(Arc::new(
                crate::http::auth::audit_sink::AuditFailureSink::start(Arc::clone(&audit)),
            )),
        );
        let sequencer_settings = sequencer_settings(&settings);
        let sequencer = sequencer::spawn(
            Arc::clone(&store) as Arc<dyn AuditStore>,
            Arc::clone(audit.signer()),
            audit.origin().to_owned(),
            sequencer_settings.clone(),
            audit.wake_handle(),
        );
        let listener = TcpListener::bind(settings.bind).map_err(|e| StartupError::Bind {
            addr: settings.bind,
            reason: e.to_string(),
        })?;
        let addr = listener.local_addr().map_err(|e| StartupError::Bind {
            addr: settings.bind,
            reason: e.to_string(),
        })?;

        let state = web::Data::new(AppState {
            settings: settings.clone(),
            store: Arc::clone(&store),
            metrics,
            audit: Arc::clone(&audit),
            onboarding,
            documents,
            checks,
            vendor,
            review,
            handoff,
            sanctions,
        });
        let http_settings = settings.http.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(authenticator.clone())
                .configure(|cfg| http::configure_extractors(cfg, &http_settings))
                .configure(http::routes)
                .default_service(web::to(http::errors::not_found))
                .wrap(http::problem_errors())
                .wrap(http::middleware::security_headers())
                .wrap(actix_web::middleware::from_fn(
                    http::middleware::request_context,
                ))
        })
        .on_connect(|conn, ext| {
            use actix_tls::accept::rustls_0_23::TlsStream;
            if let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() {
                let (_, session) = tls.get_ref();
                ext.insert(ConnectionInfo::from_session(session));
            }
        })
        .client_request_timeout(Duration::from_secs(
            settings.http.client_request_timeout_secs,
        ))
        .client_disconnect_timeout(Duration::from_secs(2))
        .tls_handshake_timeout(Duration::from_secs(settings.tls.handshake_timeout_secs))
        .keep_alive(Duration::from_secs(settings.http.keep_alive_secs))
        // Responses go out as soon as they are written. With Nagle's
        // algorithm on (the OS default), the last small segment of a response
        // waits for the client's delayed ACK, up to 40 ms on Linux, after
        // every other request on a kept-alive connection.
        .tcp_nodelay(true)
        .shutdown_timeout(settings.http.shutdown_timeout_secs)
        .max_connections(settings.http.max_connections_per_worker);
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        let server = server
            .listen_rustls_0_23(listener, tls_config)
            .map_err(|e| StartupError::Bind {
                addr: settings.bind,
                reason: e.to_string(),
            })?
            .run();

        tracing::info!(
            address = %format!("https://{addr}"),
            profile = ?settings.profile,
            database = store_kind_name(&settings),
            "kyc-gateway listening (TLS only)"
        );
        if settings.profile == Profile::Dev {
            tracing::warn!(
                "dev profile: generated certificates and keys; never use it in production"
            );
        }
        let started = audit.event("gateway.started", audit.system_actor(), "success", None);
        audit.record(&[started]).await?;
        Ok(Self {
            port: addr.port(),
            server,
            cert_watcher,
            sequencer,
            janitor,
            list_watcher,
            check_worker,
            vendor_poller,
            decider,
            handoff_worker,
            store,
            audit,
            sequencer_settings,
        })
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT, then drains in-flight requests within
    /// the shutdown timeout and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.cert_watcher.abort();
        self.sequencer.abort();
        self.janitor.abort();
        self.list_watcher.abort();
        // A check cut off here keeps its lease until it runs out; then this
        // or another replica runs it again (it has not been recorded).
        self.check_worker.abort();
        if let Some(poller) = &self.vendor_poller {
            poller.abort();
        }
        self.decider.abort();
        self.handoff_worker.abort();
        let stopped = self.audit.event(
            "gateway.stopped",
            self.audit.system_actor(),
            "success",
            None,
        );
        if let Err(error) = self.audit.record(&[stopped]).await {
            tracing::error!(%error, "could not record the shutdown in the audit log");
        }
        // Sequence what is still queued, so the last checkpoint covers it.
        if let Err(error) = sequencer::run_once(
            self.store.as_ref(),
            self.audit.signer(),
            self.audit.origin(),
            &self.sequencer_settings,
        )
        .await
        {
            tracing::error!(%error, "final audit sequencer round failed");
        }
        self.store.close().await;
        tracing::info!("kyc-gateway stopped");
        result
    }
}

/// The provider recorded with document and liveness checks.
fn vendor_provider_name(settings: &Settings) -> &'static str {
    if settings.vendor.is_configured() {
        crate::checks::vendor::PROVIDER
    } else {
        crate::checks::sandbox::PROVIDER
    }
}

/// Production never runs document or liveness checks against the sandbox:
/// a policy that requires them needs a configured vendor.
fn require_vendor(settings: &Settings, policy: &crate::policy::Policy) -> Result<(), StartupError> {
    if settings.profile != Profile::Production || settings.vendor.is_configured() {
        return Ok(());
    }
    let needs: Vec<String> = policy
        .products
        .iter()
        .filter(|(_, p)| p.checks.iter().any(|k| k.by_vendor()))
        .map(|(id, _)| id.clone())
        .collect();
    if needs.is_empty() {
        return Ok(());
    }
    Err(StartupError::Vendor(format!(
        "configuration key `vendor.base_url` is not set, but the policy requires document or \
         liveness checks for {}; the production profile never uses the sandbox provider. \
         Configure vendor.base_url, vendor.api_token and vendor.webhook_secret.",
        needs.join(", ")
    )))
}

/// The vendor adapter, when one is configured.
fn vendor_adapter(
    settings: &Settings,
    store: &Arc<dyn Store>,
    documents: &Arc<crate::documents::Documents>,
    audit: &Arc<AuditLog>,
) -> Result<Option<Arc<crate::checks::vendor::Vendor>>, StartupError> {
    if !settings.vendor.is_configured() {
        if settings.profile == Profile::Dev {
            tracing::warn!(
                "no vendor configured: document and liveness checks use the sandbox provider"
            );
        }
        return Ok(None);
    }
    let vendor = crate::checks::vendor::Vendor::new(
        &settings.vendor,
        Arc::clone(store) as Arc<dyn crate::checks::vendor::VendorStore>,
        Arc::clone(documents),
        Arc::clone(audit),
        Arc::new(crate::domain::clock::SystemClock),
    )
    .map_err(|e| StartupError::Vendor(e.to_string()))?;
    Ok(Some(Arc::new(vendor)))
}

fn handoff_settings(
    settings: &Settings,
) -> Result<crate::review::handoff::HandoffSettings, StartupError> {
    let h = &settings.handoff;
    let url = match &h.url {
        Some(raw) => Some(url::Url::parse(raw).map_err(|e| StartupError::Handoff(e.to_string()))?),
        None => None,
    };
    let key = match (&h.secret_path, settings.profile) {
        (Some(path), _) => crate::review::handoff::load_secret(path, false),
        (None, Profile::Dev) => crate::review::handoff::load_secret(
            &settings.dev_dir().join("handoff-webhook-secret"),
            true,
        ),
        // Validation refuses a production URL without a secret; with no URL
        // nothing is sent, so no key is needed.
        (None, _) => Ok(Vec::new()),
    }
    .map_err(|e| StartupError::Handoff(e.to_string()))?;
    Ok(crate::review::handoff::HandoffSettings {
        url,
        key,
        max_attempts: h.max_attempts,
        backoff_base: Duration::from_millis(h.backoff_base_ms),
        backoff_cap: Duration::from_secs(h.backoff_cap_secs),
        timeout: Duration::from_secs(h.timeout_secs),
        idle: Duration::from_millis(h.poll_interval_ms),
    })
}

fn check_worker_settings(settings: &Settings) -> crate::checks::pipeline::WorkerSettings {
    let c = &settings.checks;
    crate::checks::pipeline::WorkerSettings {
        owner: crate::checks::pipeline::worker_owner(&settings.instance_id),
        lease: Duration::from_secs(c.lease_secs),
        provider_timeout: Duration::from_secs(c.provider_timeout_secs),
        batch: 8,
        idle: Duration::from_millis(c.poll_interval_ms),
        backoff_base: Duration::from_millis(c.backoff_base_ms),
        backoff_cap: Duration::from_secs(c.backoff_cap_secs),
    }
}

fn store_kind_name(settings: &Settings) -> &'static str {
    if settings
        .effective_database_url()
        .expose_secret()
        .starts_with("sqlite")
    {
        "sqlite"
    } else {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_to_start_without_a_vendor_when_the_policy_needs_one() {
        let policy = crate::policy::Policy::load(&std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/onboarding.toml"
        )))
        .unwrap();
        let mut s = Settings::default();
        assert!(require_vendor(&s, &policy).is_ok(), "dev uses the sandbox");
        s.profile = Profile::Production;
        let err = require_vendor(&s, &policy).unwrap_err().to_string();
        assert!(
            err.contains("vendor.base_url") && err.contains("current_account"),
            "{err}"
        );
        s.vendor.base_url = Some("https://vendor.example/v3.6".to_owned());
        assert!(require_vendor(&s, &policy).is_ok());
    }
}
