//! JWK Set parsing (RFC 7517 §5) and a refreshing, fetch-rate-limited key cache.
//!
//! Only keys usable with the FAPI 2.0 Security Profile §5.4.1 algorithms are kept:
//! `RSA` (≥ 2048 bits, for PS256), `EC`/`P-256` (ES256) and `OKP`/`Ed25519` (EdDSA,
//! RFC 8037). Keys are selected by `kid` only; header parameters `jku`, `x5u`, `x5c`
//! and `jwk` are never consulted (RFC 8725 §3.10).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::clock::Clock;
use super::error::{AuthError, JwksError};

/// JWK members that only private (or symmetric) keys carry (RFC 7518 §6.2.2, §6.3.2,
/// RFC 8037 §2). Their presence in a published key set or a DPoP `jwk` header is an error.
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A public verification key from a JWK, bound to the single algorithm it may be used
/// with (RFC 8725 §3.1: one key, one algorithm).
#[derive(Clone, Debug)]
pub struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    decoding_key: DecodingKey,
    /// The RFC 7638 §3.2 canonical JSON of the required members.
    thumbprint_input: String,
}

impl VerificationKey {
    /// Parses one public JWK (RFC 7517 §4).
    ///
    /// Returns `Ok(None)` for keys this crate does not use (other `kty`/`crv`, `use`
    /// other than `sig`, `key_ops` without `verify`, an `alg` other than the key's FAPI
    /// algorithm, RSA keys shorter than 2048 bits). Returns an error for private key
    /// material or malformed parameters of a supported key type.
    pub fn from_jwk(jwk: &Value) -> Result<Option<Self>, JwksError> {
        let obj = jwk
            .as_object()
            .ok_or(JwksError::Malformed("jwk is not an object"))?;
        let kty = obj
            .get("kty")
            .and_then(Value::as_str)
            .ok_or(JwksError::Malformed("jwk kty missing"))?;
        if !matches!(kty, "RSA" | "EC" | "OKP") {
            return Ok(None);
        }
        if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            return Err(JwksError::PrivateKeyMaterial);
        }
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => return Err(JwksError::InvalidKey("kid must be a non-empty string")),
        };
        // RFC 7517 §4.2: `use`, if present, must be "sig" for a signature key.
        match obj.get("use") {
            None => {}
            Some(Value::String(u)) if u == "sig" => {}
            Some(_) => return Ok(None),
        }
        // RFC 7517 §4.3: `key_ops`, if present, must allow "verify".
        if let Some(ops) = obj.get("key_ops") {
            let allows_verify = ops
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
            if !allows_verify {
                return Ok(None);
            }
        }
        let parsed = match kty {
            "RSA" => parse_rsa(obj)?,
            "EC" => parse_ec(obj)?,
            _ => parse_okp(obj)?,
        };
        let Some((algorithm, decoding_key, thumbprint_input)) = parsed else {
            return Ok(None);
        };
        // RFC 7517 §4.4: a declared `alg` must be the one we would use with the key.
        match obj.get("alg") {
            None => {}
            Some(Value::String(a)) if a == alg_name(algorithm) => {}
            Some(_) => return Ok(None),
        }
        Ok(Some(Self {
            kid,
            algorithm,
            decoding_key,
            thumbprint_input,
        }))
    }

    /// The key id, if the JWK had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The only JWS algorithm this key may verify.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `jsonwebtoken` decoding key.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding_key
    }

    /// The RFC 7638 JWK SHA-256 thumbprint, base64url without padding.
    pub fn thumbprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.thumbprint_input.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }
}

/// The JWS `alg` name (RFC 7518 §3.1, RFC 8037 §3.1) of a supported algorithm.
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::PS256 => "PS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

type Parsed = Option<(Algorithm, DecodingKey, String)>;

fn member<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JwksError> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or(JwksError::InvalidKey("required key member missing"))
}

fn b64(s: &str) -> Result<Vec<u8>, JwksError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwksError::InvalidKey("key member is not base64url"))
}

/// RFC 7638 §3.2: required members, lexicographic order, no whitespace.
fn canonical(members: &[(&str, &str)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(*k), Value::from(*v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn parse_rsa(obj: &Map<String, Value>) -> Result<Parsed, JwksError> {
    let (n_s, e_s) = (member(obj, "n")?, member(obj, "e")?);
    let (n, e) = (b64(n_s)?, b64(e_s)?);
    let n_trim: &[u8] = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => return Err(JwksError::InvalidKey("rsa modulus is zero")),
    };
    let bits = n_trim.len() * 8 - n_trim.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(2048..=8192).contains(&bits) {
        // FAPI 2.0 §5.4.1 / RFC 7518 §3.5: RSA keys must be at least 2048 bits.
        return Ok(None);
    }
    if e.is_empty() || e.len() > 8 {
        return Err(JwksError::InvalidKey("rsa exponent out of range"));
    }
    let key = DecodingKey::from_rsa_raw_components(n_trim, &e);
    let tp = canonical(&[("e", e_s), ("kty", "RSA"), ("n", n_s)]);
    Ok(Some((Algorithm::PS256, key, tp)))
}

fn parse_ec(obj: &Map<String, Value>) -> Result<Parsed, JwksError> {
    if obj.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Ok(None);
    }
    let (x_s, y_s) = (member(obj, "x")?, member(obj, "y")?);
    let (x, y) = (b64(x_s)?, b64(y_s)?);
    // RFC 7518 §6.2.1.2/§6.2.1.3: full-length 32-byte coordinates for P-256.
    if x.len() != 32 || y.len() != 32 {
        return Err(JwksError::InvalidKey("p-256 coordinates must be 32 bytes"));
    }
    let key = DecodingKey::from_ec_components(x_s, y_s)
        .map_err(|_| JwksError::InvalidKey("p-256 coordinates"))?;
    let tp = canonical(&[("crv", "P-256"), ("kty", "EC"), ("x", x_s), ("y", y_s)]);
    Ok(Some((Algorithm::ES256, key, tp)))
}

fn parse_okp(obj: &Map<String, Value>) -> Result<Parsed, JwksError> {
    if obj.get("crv").and_then(Value::as_str) != Some("Ed25519") {
        return Ok(None);
    }
    let x_s = member(obj, "x")?;
    if b64(x_s)?.len() != 32 {
        return Err(JwksError::InvalidKey("ed25519 key must be 32 bytes"));
    }
    let key =
        DecodingKey::from_ed_components(x_s).map_err(|_| JwksError::InvalidKey("ed25519 key"))?;
    let tp = canonical(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", x_s)]);
    Ok(Some((Algorithm::EdDSA, key, tp)))
}

/// A parsed JWK Set: usable keys indexed by `kid`.
#[derive(Clone, Debug, Default)]
pub struct Jwks {
    keys: HashMap<String, Arc<VerificationKey>>,
    skipped: usize,
}

impl Jwks {
    /// Parses a JWK Set document (RFC 7517 §5).
    ///
    /// Keys without a `kid`, of unsupported types/curves, or unusable for PS256/ES256/EdDSA
    /// are skipped. Duplicate `kid`s and private key material reject the whole document.
    pub fn parse(doc: &[u8]) -> Result<Self, JwksError> {
        let value: Value =
            serde_json::from_slice(doc).map_err(|_| JwksError::Malformed("not json"))?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::Malformed("missing keys array"))?;
        let mut out = Jwks::default();
        let mut seen = std::collections::HashSet::new();
        for jwk in keys {
            // Duplicate detection covers every key with a kid, usable or not, so that a
            // kid can never be ambiguous (RFC 7517 §4.5).
            if let Some(kid) = jwk.get("kid").and_then(Value::as_str)
                && !seen.insert(kid.to_owned())
            {
                return Err(JwksError::DuplicateKid);
            }
            let key = match VerificationKey::from_jwk(jwk) {
                Ok(Some(k)) => k,
                Ok(None) | Err(JwksError::InvalidKey(_) | JwksError::Malformed(_)) => {
                    out.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(kid) = key.kid.clone() else {
                out.skipped += 1;
                continue;
            };
            match out.keys.entry(kid) {
                Entry::Occupied(_) => return Err(JwksError::DuplicateKid),
                Entry::Vacant(v) => {
                    v.insert(Arc::new(key));
                }
            }
        }
        Ok(out)
    }

    /// The key with this `kid`, if any.
    pub fn get(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        self.keys.get(kid).cloned()
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no usable key was found.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of keys that were skipped as unsupported or invalid.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The `kid`s of the usable keys.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// A boxed future returned by [`JwksFetcher::fetch`].
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, JwksError>> + Send + 'a>>;

/// Retrieves the raw JWKS document. Implemented for files and HTTPS URLs; tests may
/// supply their own (e.g. a counting fetcher).
pub trait JwksFetcher: Send + Sync + Debug {
    /// Fetches the current document.
    fn fetch(&self) -> FetchFuture<'_>;
}

/// Where the JWKS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    /// A local file (e.g. mounted from a secret or written by a sidecar).
    File(PathBuf),
    /// An `https` URL (the authorization server's `jwks_uri`, RFC 8414 §2).
    Url(String),
}

/// Settings of a [`JwksCache`].
#[derive(Clone, Debug)]
pub struct JwksCacheConfig {
    /// Where to read the key set from.
    pub source: JwksSource,
    /// Keys older than this are refreshed on the next lookup (seconds).
    pub refresh_interval_secs: i64,
    /// At most one fetch is attempted per this many seconds, whatever triggers it.
    pub min_refetch_interval_secs: i64,
    /// Permit `http://` URLs. For tests against a local server only.
    pub allow_insecure_http: bool,
    /// Upper bound on the document size.
    pub max_document_bytes: usize,
    /// Timeout of one HTTP fetch.
    pub fetch_timeout: Duration,
}

impl JwksCacheConfig {
    /// Defaults: refresh every 300 s, at most one fetch per 30 s, 256 KiB, 5 s timeout.
    pub fn new(source: JwksSource) -> Self {
        Self {
            source,
            refresh_interval_secs: 300,
            min_refetch_interval_secs: 30,
            allow_insecure_http: false,
            max_document_bytes: 256 * 1024,
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// Reads the JWKS from a file.
#[derive(Debug)]
struct FileFetcher {
    path: PathBuf,
    max_bytes: usize,
}

impl JwksFetcher for FileFetcher {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let doc = tokio::fs::read(&self.path)
                .await
                .map_err(|e| JwksError::Io(e.kind().to_string()))?;
            if doc.len() > self.max_bytes {
                return Err(JwksError::TooLarge(self.max_bytes));
            }
            Ok(doc)
        })
    }
}

/// Fetches the JWKS over HTTPS with reqwest (no redirects, bounded size, timeout).
#[derive(Debug)]
struct HttpFetcher {
    client: reqwest::Client,
    url: url::Url,
    max_bytes: usize,
}

impl HttpFetcher {
    fn new(cfg: &JwksCacheConfig, raw: &str) -> Result<Self, JwksError> {
        let url = url::Url::parse(raw).map_err(|_| JwksError::InvalidUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if cfg.allow_insecure_http => {}
            _ => return Err(JwksError::InsecureUrl),
        }
        let (timeout, insecure) = (cfg.fetch_timeout, cfg.allow_insecure_http);
        // reqwest's `rustls-no-provider` build panics when no rustls CryptoProvider is
        // installed; contain that and report it as an error instead.
        let client = std::panic::catch_unwind(move || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .https_only(!insecure)
                .build()
        })
        .map_err(|_| JwksError::Fetch("no rustls crypto provider installed".into()))?
        .map_err(|e| JwksError::Fetch(e.to_string()))?;
        Ok(Self {
            client,
            url,
            max_bytes: cfg.max_document_bytes,
        })
    }
}

impl JwksFetcher for HttpFetcher {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let mut resp = self
                .client
                .get(self.url.clone())
                .header("accept", "application/jwk-set+json, application/json")
                .send()
                .await
                .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?;
            if !resp.status().is_success() {
                return Err(JwksError::HttpStatus(resp.status().as_u16()));
            }
            if resp
                .content_length()
                .is_some_and(|l| l > self.max_bytes as u64)
            {
                return Err(JwksError::TooLarge(self.max_bytes));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?
            {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(JwksError::TooLarge(self.max_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
    }
}

#[derive(Clone, Debug, Default)]
struct Snapshot {
    jwks: Arc<Jwks>,
    loaded_at: Option<i64>,
}

/// A JWKS cache that refreshes on an interval and on unknown `kid`s, with at most one
/// fetch in flight and at most one fetch per `min_refetch_interval_secs`
/// (RFC 8725 §3.10 / FAPI 2.0 §5.3.3: key rotation without letting attacker-chosen
/// `kid`s drive traffic to the authorization server).
#[derive(Debug)]
pub struct JwksCache {
    fetcher: Arc<dyn JwksFetcher>,
    clock: Arc<dyn Clock>,
    refresh_interval: i64,
    min_refetch: i64,
    current: RwLock<Snapshot>,
    /// Serialises fetches; holds the time of the last attempt.
    gate: tokio::sync::Mutex<Option<i64>>,
    /// Completed fetch attempts, used to coalesce waiters onto one fetch.
    attempts: AtomicU64,
    /// Fetches started (observable for tests and metrics).
    fetches: AtomicU64,
    last_error: RwLock<Option<JwksError>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Initial,
    Stale,
    UnknownKid,
}

impl JwksCache {
    /// Builds a cache for a file or URL source. Nothing is fetched until first use.
    pub fn new(config: JwksCacheConfig, clock: Arc<dyn Clock>) -> Result<Self, JwksError> {
        let fetcher: Arc<dyn JwksFetcher> = match &config.source {
            JwksSource::File(path) => Arc::new(FileFetcher {
                path: path.clone(),
                max_bytes: config.max_document_bytes,
            }),
            JwksSource::Url(raw) => Arc::new(HttpFetcher::new(&config, raw)?),
        };
        Ok(Self::with_fetcher(
            fetcher,
            config.refresh_interval_secs,
            config.min_refetch_interval_secs,
            clock,
        ))
    }

    /// Builds a cache over a custom fetcher.
    pub fn with_fetcher(
        fetcher: Arc<dyn JwksFetcher>,
        refresh_interval_secs: i64,
        min_refetch_interval_secs: i64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            fetcher,
            clock,
            refresh_interval: refresh_interval_secs.max(1),
            min_refetch: min_refetch_interval_secs.max(0),
            current: RwLock::new(Snapshot::default()),
            gate: tokio::sync::Mutex::new(None),
            attempts: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            last_error: RwLock::new(None),
        }
    }

    /// How many fetches have been started so far.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The error of the most recent failed fetch, cleared by a successful one.
    pub fn last_error(&self) -> Option<JwksError> {
        self.last_error
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The currently cached key set.
    pub fn current(&self) -> Arc<Jwks> {
        self.snapshot().jwks
    }

    fn snapshot(&self) -> Snapshot {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Refreshes the key set if it is older than the refresh interval (or was never
    /// loaded). Suitable for a caller-driven periodic task.
    pub async fn refresh_if_stale(&self) -> Result<(), JwksError> {
        let snap = self.snapshot();
        match snap.loaded_at {
            None => self.refresh(Trigger::Initial).await,
            Some(t) if self.clock.now() - t >= self.refresh_interval => {
                self.refresh(Trigger::Stale).await
            }
            Some(_) => {}
        }
        match self.last_error() {
            Some(e) if self.snapshot().loaded_at.is_none() => Err(e),
            _ => Ok(()),
        }
    }

    /// Looks a key up by `kid`, refreshing when stale and — at most once per
    /// `min_refetch_interval_secs` — when the `kid` is unknown.
    pub async fn key(&self, kid: &str) -> Result<Arc<VerificationKey>, AuthError> {
        let snap = self.snapshot();
        match snap.loaded_at {
            None => self.refresh(Trigger::Initial).await,
            Some(t) if self.clock.now() - t >= self.refresh_interval => {
                self.refresh(Trigger::Stale).await
            }
            Some(_) => {}
        }
        let snap = self.snapshot();
        if let Some(k) = snap.jwks.get(kid) {
            return Ok(k);
        }
        if snap.loaded_at.is_some() {
            // RFC 7517 §4.5 / key rotation: an unknown kid may be a freshly rotated key.
            self.refresh(Trigger::UnknownKid).await;
        }
        let snap = self.snapshot();
        match (snap.jwks.get(kid), snap.loaded_at) {
            (Some(k), _) => Ok(k),
            (None, Some(_)) => Err(AuthError::InvalidToken("unknown kid")),
            (None, None) => Err(AuthError::Unavailable("signing keys unavailable")),
        }
    }

    async fn refresh(&self, trigger: Trigger) {
        let observed = self.attempts.load(Ordering::SeqCst);
        let mut gate = if trigger == Trigger::Stale && self.snapshot().loaded_at.is_some() {
            // Stale but usable keys: let one request refresh, the others go on.
            match self.gate.try_lock() {
                Ok(g) => g,
                Err(_) => return,
            }
        } else {
            self.gate.lock().await
        };
        if self.attempts.load(Ordering::SeqCst) != observed {
            // Another task fetched while we waited: use its result.
            return;
        }
        let now = self.clock.now();
        if let Some(last) = *gate
            && now - last < self.min_refetch
        {
            return;
        }
        *gate = Some(now);
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let result = self.fetcher.fetch().await.and_then(|doc| Jwks::parse(&doc));
        match result {
            Ok(jwks) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Snapshot {
                    jwks: Arc::new(jwks),
                    loaded_at: Some(self.clock.now()),
                };
                *self
                    .last_error
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = None;
            }
            Err(e) => {
                // Keep serving the previous keys (if any); record the failure.
                *self
                    .last_error
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(e);
            }
        }
        self.attempts.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    //! Key lookup, refetch limits under load, file refresh and JWKS parsing rules.

    use crate::auth::test_support::*;

    #[tokio::test]
    async fn unknown_kids_cause_at_most_one_fetch_sequential() {
        let e = env();
        e.cache.key("ed1").await.unwrap();
        assert_eq!(e.cache.fetch_count(), 1);
        e.clock.advance(31);
        for i in 0..1000 {
            let err = e.cache.key(&format!("unknown-{i}")).await.unwrap_err();
            assert_eq!(err, AuthError::InvalidToken("unknown kid"));
        }
        assert_eq!(e.cache.fetch_count(), 2);
        assert_eq!(
            e.fetcher.count.load(Ordering::SeqCst),
            e.cache.fetch_count()
        );
        // Within the interval no further fetch happens.
        e.cache.key("still-unknown").await.unwrap_err();
        assert_eq!(e.cache.fetch_count(), 2);
    }

    #[tokio::test]
    async fn unknown_kids_cause_at_most_one_fetch_concurrent() {
        let e = env();
        e.cache.key("ed1").await.unwrap();
        e.clock.advance(31);
        let before = e.cache.fetch_count();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..1000 {
            let cache = e.cache.clone();
            set.spawn(async move { cache.key(&format!("u{i}")).await });
        }
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap().is_err());
        }
        assert!(e.cache.fetch_count() - before <= 1);
    }

    #[tokio::test]
    async fn concurrent_cold_start_fetches_once() {
        let e = env();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let cache = e.cache.clone();
            set.spawn(async move { cache.key("ed1").await.is_ok() });
        }
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap());
        }
        assert_eq!(e.cache.fetch_count(), 1);
    }

    #[tokio::test]
    async fn file_source_and_refresh_interval() {
        let keys = Keys::new();
        let dir = std::env::temp_dir().join(format!("auth-core-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwks.json");
        std::fs::write(&path, keys.jwks()).unwrap();
        let clock = Arc::new(ManualClock::new(NOW));
        let cache = JwksCache::new(
            JwksCacheConfig::new(JwksSource::File(path.clone())),
            clock.clone(),
        )
        .unwrap();
        cache.key("ec1").await.unwrap();
        for i in 0..1000 {
            cache.key(&format!("x{i}")).await.unwrap_err();
        }
        assert_eq!(cache.fetch_count(), 1);
        // After the refresh interval the next lookup refreshes.
        clock.advance(301);
        cache.key("ec1").await.unwrap();
        assert_eq!(cache.fetch_count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jwks_parsing_rules() {
        let keys = Keys::new();
        let jwks = Jwks::parse(keys.jwks().as_bytes()).unwrap();
        assert_eq!(jwks.len(), 3);
        assert_eq!(jwks.skipped(), 2);
        let dup = json!({"keys": [ec_jwk(&keys.ec, Some("a")), ec_jwk(&keys.ec, Some("a"))]});
        assert_eq!(
            Jwks::parse(dup.to_string().as_bytes()).unwrap_err(),
            JwksError::DuplicateKid
        );
        let mut private = ec_jwk(&keys.ec, Some("p"));
        private["d"] = json!("AAAA");
        let doc = json!({ "keys": [private] }).to_string();
        assert_eq!(
            Jwks::parse(doc.as_bytes()).unwrap_err(),
            JwksError::PrivateKeyMaterial
        );
        // A 1024-bit RSA key is skipped.
        let small =
            json!({"keys": [{"kty": "RSA", "kid": "r", "n": b64(&[0xff; 128]), "e": "AQAB"}]});
        assert!(
            Jwks::parse(small.to_string().as_bytes())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn http_url_needs_flag() {
        let clock = Arc::new(ManualClock::new(NOW));
        let cfg = JwksCacheConfig::new(JwksSource::Url("http://127.0.0.1:1/jwks".into()));
        assert_eq!(
            JwksCache::new(cfg, clock).unwrap_err(),
            JwksError::InsecureUrl
        );
    }
}
