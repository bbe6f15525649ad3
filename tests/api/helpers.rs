//! `spawn_app()`: the real gateway over real TLS on a free port, with a fresh
//! database (SQLite by default; PostgreSQL when `TEST_DATABASE_URL` names a
//! server), and HTTPS clients that trust the test CA.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use kyc_gateway::config::{Profile, Settings};
use kyc_gateway::startup::Application;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use tempfile::TempDir;

static INIT: Once = Once::new();

/// Installs ring for rustls clients and, with `TEST_LOG=1`, logs to stdout.
pub fn init() {
    INIT.call_once(|| {
        kyc_gateway::install_crypto_provider();
        if std::env::var_os("TEST_LOG").is_some() {
            let settings = Settings::default().telemetry;
            if let Ok(guard) = kyc_gateway::telemetry::init(&settings) {
                std::mem::forget(guard);
            }
        }
    });
}

/// A database of its own for one test.
pub struct TestDatabase {
    /// The URL the gateway connects to.
    pub url: String,
    /// PostgreSQL: admin URL and database name, to drop it afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// PostgreSQL when `TEST_DATABASE_URL` is set (an admin URL such as
    /// `postgres://postgres@127.0.0.1:5432/postgres`), else SQLite in `dir`.
    pub async fn create(dir: &Path) -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin) if admin.starts_with("postgres") => {
                use sqlx::Connection;
                let name = format!("kyc_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("TEST_DATABASE_URL: cannot connect to PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let (base, _) = admin.rsplit_once('/').expect("URL with a database name");
                Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((admin, name)),
                }
            }
            _ => Self {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                postgres: None,
            },
        }
    }

    /// True when the tests run against PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside async; a short-lived runtime on its own thread
            // removes the database so repeated runs do not pile them up.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&admin)
                        .await
                        .map_err(std::io::Error::other)?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await
                    .map_err(std::io::Error::other)?;
                    Ok::<_, std::io::Error>(())
                })
            })
            .join();
        }
    }
}

/// A running gateway and what a test needs to talk to it.
pub struct TestApp {
    /// `https://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// A client that trusts the dev CA (HTTP/2 when offered).
    pub client: reqwest::Client,
    /// The dev CA that signed the server certificate.
    pub ca_cert: PathBuf,
    /// The settings the gateway runs with.
    pub settings: Settings,
    /// The database, dropped with the app.
    _db: TestDatabase,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The data directory, removed with the app.
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Settings for a test gateway in `dir`.
pub fn test_settings(dir: &Path, db: &TestDatabase) -> Settings {
    let mut settings = Settings {
        profile: Profile::Dev,
        data_dir: dir.to_owned(),
        bind: "127.0.0.1:0".parse().expect("addr"),
        database_url: Some(SecretString::from(db.url.clone())),
        database_max_connections: 5,
        database_acquire_timeout_secs: 1,
        policy_path: concat!(env!("CARGO_MANIFEST_DIR"), "/policies/onboarding.toml").into(),
        ..Settings::default()
    };
    settings.http.workers = 1;
    settings.tls.reload_interval_secs = 1;
    settings
}

/// Starts the gateway with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the gateway after `customize` adjusted its settings.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    init();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDatabase::create(dir.path()).await;
    let mut settings = test_settings(dir.path(), &db);
    customize(&mut settings);
    settings.validate().expect("test settings must be valid");
    let app = Application::build(settings.clone())
        .await
        .expect("gateway starts");
    let port = app.port();
    let server = tokio::spawn(app.run_until_stopped());
    let ca_cert = settings.dev_dir().join("dev-ca.pem");
    // With configured certificates there is no dev CA; such tests make their own clients.
    let client = if ca_cert.is_file() {
        client_trusting(&[&ca_cert], None)
    } else {
        client_trusting(&[], None)
    };
    TestApp {
        address: format!("https://127.0.0.1:{port}"),
        port,
        client,
        ca_cert,
        settings,
        _db: db,
        server,
        _dir: dir,
    }
}

/// A rustls client configuration trusting these CA files, optionally
/// presenting a client certificate.
pub fn tls_client_config(cas: &[&Path], identity: Option<(&Path, &Path)>) -> rustls::ClientConfig {
    init();
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
            roots.add(cert.expect("CA cert")).expect("add CA");
        }
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .expect("client cert")
                .collect::<Result<Vec<_>, _>>()
                .expect("client cert");
            let key = PrivateKeyDer::from_pem_file(key).expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client identity")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// An HTTPS client trusting these CA files; a new one means new connections.
pub fn client_trusting(cas: &[&Path], identity: Option<(&Path, &Path)>) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_client_config(cas, identity))
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A client CA and a client certificate it signed, written to `dir`.
pub struct ClientPki {
    /// The CA the gateway is told to trust for client certificates.
    pub ca_cert: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// The client certificate in DER.
    pub cert_der: Vec<u8>,
}

/// Generates a client CA and one client certificate (rcgen, ring).
pub fn client_pki(dir: &Path, name: &str) -> ClientPki {
    std::fs::create_dir_all(dir).expect("dir");
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} client CA"));
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca).expect("client cert");
    let pki = ClientPki {
        ca_cert: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
        cert_der: cert.der().to_vec(),
    };
    std::fs::write(&pki.ca_cert, ca.pem()).expect("write");
    std::fs::write(&pki.cert, cert.pem()).expect("write");
    std::fs::write(&pki.key, key.serialize_pem()).expect("write");
    pki
}

/// Asserts an RFC 9457 problem response with this status and code, and
/// returns its body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    assert!(
        res.headers().contains_key("x-request-id"),
        "problem without request id"
    );
    let body: serde_json::Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["type"].as_str().is_some_and(|t| t.ends_with(code)),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// A shared flag, for fakes that tests switch on and off.
pub type Switch = Arc<std::sync::atomic::AtomicBool>;

impl TestApp {
    /// A dev-key token for `sub` with `roles`, as `kyc-gateway dev token` mints.
    pub fn token(&self, sub: &str, roles: &[&str]) -> String {
        let (key, _) =
            kyc_gateway::auth::dev::ensure_dev_key(&self.settings.dev_dir()).expect("dev key");
        let mut claims = serde_json::Map::new();
        claims.insert("iss".into(), self.settings.auth.effective_issuer().into());
        claims.insert("aud".into(), self.settings.auth.effective_audience().into());
        claims.insert("sub".into(), sub.into());
        claims.insert("client_id".into(), "kyc-gateway-tests".into());
        claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
        claims.insert(
            self.settings.auth.roles_claim.clone(),
            roles
                .iter()
                .map(|r| serde_json::Value::from(*r))
                .collect::<Vec<_>>()
                .into(),
        );
        key.mint(&claims, &key.kid(), std::time::Duration::from_secs(600))
            .expect("mint")
    }

    /// GET `path` with a bearer token.
    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// The audit events `GET /v1/audit/events?{query}` lists, once `done`
    /// holds for them: entries are listed after the sequencer has placed
    /// them in the tree, shortly after the request that recorded them.
    pub async fn audit_events_until(
        &self,
        token: &str,
        query: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        for _ in 0..100 {
            let res = self
                .get_as(&format!("/v1/audit/events?{query}"), token)
                .await;
            assert_eq!(res.status(), 200);
            let page: serde_json::Value = res.json().await.expect("json");
            events = page["events"].as_array().cloned().unwrap_or_default();
            if done(&events) {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the audit events for `{query}` never became what was expected: {events:?}");
    }
}
