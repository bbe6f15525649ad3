//! The access-token verifier: JWS checks (RFC 7515 §4.1, RFC 8725), claim checks
//! (RFC 7519, RFC 9068) and sender constraints (FAPI 2.0 Security Profile §5.3.3:
//! RFC 8705 mTLS or RFC 9449 DPoP).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::claims::{self, ClaimRules, SenderBinding, VerifiedToken};
use super::clock::Clock;
use super::dpop::{self, DpopConfig, ReplayCache};
use super::error::{AuthError, ProviderError};
use super::jwks::{JwksCache, VerificationKey};
use super::provider;

/// The only accepted JWS algorithms (FAPI 2.0 Security Profile §5.4.1). `none`, `HS*`
/// and `RS*` are never accepted (RFC 8725 §3.1, §3.2).
pub const ALLOWED_ALGS: [Algorithm; 3] = [Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];

/// The authorization scheme the client used (RFC 6750 §2.1 / RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: DPoP <token>`.
    DPoP,
}

/// Splits an `Authorization` header value into scheme and token (schemes compare
/// case-insensitively, RFC 9110 §11.1). Does not log or return the token on error.
pub fn parse_authorization(value: &str) -> Result<(AuthScheme, &str), AuthError> {
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(AuthError::InvalidRequest("malformed authorization header"))?;
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(AuthError::InvalidRequest("malformed authorization header"));
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok((AuthScheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Ok((AuthScheme::DPoP, token))
    } else {
        Err(AuthError::InvalidRequest(
            "unsupported authorization scheme",
        ))
    }
}

/// Facts about the HTTP request needed to check sender constraints.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The HTTP method, e.g. `GET` (compared with DPoP `htm`, RFC 9449 §4.3).
    pub method: String,
    /// The full request URL without query and fragment (DPoP `htu`, RFC 9449 §4.3).
    pub htu: String,
    /// DER of the client certificate from the mTLS handshake (RFC 8705 §3).
    pub client_cert_der: Option<Vec<u8>>,
    /// The single `DPoP` request header, if any (RFC 9449 §4.1; the caller must reject
    /// requests carrying more than one).
    pub dpop_header: Option<String>,
    /// The scheme of the `Authorization` header.
    pub authorization_scheme: AuthScheme,
    /// Whether this route class accepts tokens that are not sender-constrained.
    /// FAPI 2.0 §5.3.3 requires `false` for protected resources.
    pub allow_bearer: bool,
}

impl RequestContext {
    /// A context with no certificate, no DPoP header, and bearer tokens refused.
    pub fn new(method: impl Into<String>, htu: impl Into<String>, scheme: AuthScheme) -> Self {
        Self {
            method: method.into(),
            htu: htu.into(),
            client_cert_der: None,
            dpop_header: None,
            authorization_scheme: scheme,
            allow_bearer: false,
        }
    }
}

/// Verifier settings.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Expected `iss`, compared exactly (RFC 9068 §4).
    pub issuer: String,
    /// This resource server's audience; must appear in `aud` (RFC 9068 §4).
    pub audience: String,
    /// Clock leeway for `exp`/`nbf`, seconds (default 10).
    pub leeway_secs: i64,
    /// Maximum tolerated future `iat`, seconds (default 60).
    pub max_future_skew_secs: i64,
    /// Maximum access-token length in bytes (default 8 KiB).
    pub max_token_bytes: usize,
    /// Name of the claim holding roles (string or array of strings; default `roles`).
    pub roles_claim: String,
    /// DPoP proof settings.
    pub dpop: DpopConfig,
    /// Key ids never accepted, whatever the JWKS says (the dev key in production).
    pub denied_kids: Vec<String>,
}

impl VerifierConfig {
    /// Configuration with the defaults listed on each field.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: 10,
            max_future_skew_secs: 60,
            max_token_bytes: 8 * 1024,
            roles_claim: "roles".to_owned(),
            dpop: DpopConfig::default(),
            denied_kids: Vec::new(),
        }
    }
}

/// Verifies access tokens. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Verifier {
    config: VerifierConfig,
    jwks: Arc<JwksCache>,
    clock: Arc<dyn Clock>,
    replay: Arc<ReplayCache>,
    signatures: SignatureCache,
}

/// Tokens whose signature has been verified, by SHA-256 of the whole token
/// (header, payload and signature), with the payload they carry.
///
/// A bank app sends the same access token on every request until it expires;
/// this lets it pay for one signature check (tens of microseconds for
/// Ed25519, more for ES256 and PS256) instead of one per request. Only the
/// signature check is skipped: the header, claims, times (`exp`, `nbf`,
/// `iat`) and sender constraints are checked on every request as before. An
/// entry counts only together with the very key object that verified it, so
/// a JWKS refresh, a rotated-out key or a newly denied `kid` take effect at
/// once. Failed verifications are never stored.
#[derive(Debug)]
struct SignatureCache {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], CachedSignature>>,
    capacity: usize,
}

#[derive(Debug)]
struct CachedSignature {
    key: Arc<VerificationKey>,
    payload: Arc<Map<String, Value>>,
}

impl SignatureCache {
    /// At most this many tokens are remembered; when full the cache starts
    /// over (bounded memory whatever the traffic, a few MiB at most).
    const CAPACITY: usize = 4096;

    fn new(capacity: usize) -> Self {
        Self {
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
            capacity,
        }
    }

    fn digest(token: &str) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    fn get(&self, digest: &[u8; 32], key: &Arc<VerificationKey>) -> Option<Map<String, Value>> {
        let payload = {
            let entries = self
                .entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            entries
                .get(digest)
                .filter(|hit| Arc::ptr_eq(&hit.key, key))
                .map(|hit| Arc::clone(&hit.payload))
        };
        // The copy is made outside the lock every worker shares.
        payload.map(|p| (*p).clone())
    }

    fn put(&self, digest: [u8; 32], key: &Arc<VerificationKey>, payload: &Map<String, Value>) {
        let entry = CachedSignature {
            key: Arc::clone(key),
            payload: Arc::new(payload.clone()),
        };
        let evicted = {
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let evicted = if entries.len() >= self.capacity {
                std::mem::take(&mut *entries)
            } else {
                std::collections::HashMap::new()
            };
            entries.insert(digest, entry);
            evicted
        };
        // Freed outside the lock.
        drop(evicted);
    }
}

impl Verifier {
    /// Creates a verifier and installs the ring `CryptoProvider` (see [`provider::install`]).
    pub fn new(
        config: VerifierConfig,
        jwks: Arc<JwksCache>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ProviderError> {
        let replay = Arc::new(ReplayCache::new(config.dpop.replay_capacity));
        Self::with_replay_cache(config, jwks, clock, replay)
    }

    /// Like [`Verifier::new`] with an explicit (shared) DPoP replay cache.
    pub fn with_replay_cache(
        config: VerifierConfig,
        jwks: Arc<JwksCache>,
        clock: Arc<dyn Clock>,
        replay: Arc<ReplayCache>,
    ) -> Result<Self, ProviderError> {
        provider::install()?;
        Ok(Self {
            config,
            jwks,
            clock,
            replay,
            signatures: SignatureCache::new(SignatureCache::CAPACITY),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// The clock every time check reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Verifies `token` for the request described by `ctx`.
    pub async fn verify(
        &self,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<VerifiedToken, AuthError> {
        let header = parse_compact_header(token, self.config.max_token_bytes)
            .map_err(AuthError::InvalidToken)?;
        let alg = header_alg(&header).map_err(AuthError::InvalidToken)?;
        // RFC 9068 §4: typ, when present, must be at+jwt (JWT tolerated for legacy ASs).
        match header.get("typ") {
            None => {}
            Some(Value::String(t))
                if t.eq_ignore_ascii_case("at+jwt")
                    || t.eq_ignore_ascii_case("application/at+jwt")
                    || t.eq_ignore_ascii_case("JWT") => {}
            Some(_) => return Err(AuthError::InvalidToken("unexpected typ")),
        }
        // RFC 7515 §4.1.4: kid selects the key; jku/x5u/x5c/jwk are never used
        // (RFC 8725 §3.10 — attacker-controlled key locations).
        let kid = match header.get("kid") {
            Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => k.clone(),
            Some(_) => return Err(AuthError::InvalidToken("kid malformed")),
            None => return Err(AuthError::InvalidToken("kid missing")),
        };
        if self.config.denied_kids.contains(&kid) {
            return Err(AuthError::InvalidToken("signing key not trusted"));
        }
        let key = self.jwks.key(&kid).await?;
        let digest = SignatureCache::digest(token);
        let payload = match self.signatures.get(&digest, &key) {
            // Same bytes, same key object: the signature was verified before.
            Some(payload) if key.algorithm() == alg => payload,
            _ => {
                let payload =
                    verify_signature(token, &key, alg).map_err(AuthError::InvalidToken)?;
                self.signatures.put(digest, &key, &payload);
                payload
            }
        };

        let now = self.clock.now();
        let rules = ClaimRules {
            issuer: &self.config.issuer,
            audience: &self.config.audience,
            leeway: self.config.leeway_secs,
            max_future_skew: self.config.max_future_skew_secs,
            roles_claim: &self.config.roles_claim,
        };
        let mut verified = claims::validate(payload, &rules, now, alg, kid)?;
        verified.binding = self.check_sender(token, &verified, ctx, now)?;
        Ok(verified)
    }

    /// FAPI 2.0 Security Profile §5.3.3: sender-constrained access tokens.
    fn check_sender(
        &self,
        token: &str,
        verified: &VerifiedToken,
        ctx: &RequestContext,
        now: i64,
    ) -> Result<SenderBinding, AuthError> {
        let (x5t, jkt) = match &verified.cnf {
            Some(c) => (c.x5t_s256.as_deref(), c.jkt.as_deref()),
            None => (None, None),
        };
        match (ctx.authorization_scheme, jkt) {
            // RFC 9449 §7.2: a DPoP-bound token must not be accepted as a bearer token.
            (AuthScheme::Bearer, Some(_)) => {
                return Err(AuthError::DpopRequired("dpop-bound token used as bearer"));
            }
            // RFC 9449 §7.1: the DPoP scheme requires a DPoP-bound token.
            (AuthScheme::DPoP, None) => {
                return Err(AuthError::InvalidToken("token is not dpop-bound"));
            }
            _ => {}
        }
        if let Some(expected) = x5t {
            // RFC 8705 §3: SHA-256 of the presented certificate's DER, base64url.
            let cert = ctx
                .client_cert_der
                .as_deref()
                .ok_or(AuthError::InvalidToken("client certificate required"))?;
            let digest = ring::digest::digest(&ring::digest::SHA256, cert);
            if URL_SAFE_NO_PAD.encode(digest.as_ref()) != expected {
                return Err(AuthError::InvalidToken("certificate binding mismatch"));
            }
        }
        if let Some(expected) = jkt {
            let proof = ctx
                .dpop_header
                .as_deref()
                .ok_or(AuthError::InvalidDpopProof("dpop proof missing"))?;
            dpop::verify_proof(
                proof,
                ctx,
                token,
                expected,
                &self.config.dpop,
                &self.replay,
                now,
            )?;
        }
        match (x5t.is_some(), jkt.is_some()) {
            (true, true) => Ok(SenderBinding::MtlsAndDpop),
            (true, false) => Ok(SenderBinding::Mtls),
            (false, true) => Ok(SenderBinding::Dpop),
            (false, false) if ctx.allow_bearer => Ok(SenderBinding::Unbound),
            (false, false) => Err(AuthError::InvalidToken("sender-constrained token required")),
        }
    }
}

/// Checks the JWS compact serialization shape (RFC 7515 §7.1) and returns the decoded
/// protected header as raw JSON.
pub(crate) fn parse_compact_header(
    token: &str,
    max_len: usize,
) -> Result<Map<String, Value>, &'static str> {
    if token.is_empty() {
        return Err("token empty");
    }
    if token.len() > max_len {
        return Err("token too large");
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err("token contains invalid characters");
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("token is not a compact jws");
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err("token is not a compact jws");
    }
    let raw = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| "header is not base64url")?;
    match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(m)) => {
            // RFC 7515 §4.1.11: no critical extensions are understood here.
            if m.contains_key("crit") {
                return Err("unsupported crit header");
            }
            Ok(m)
        }
        _ => Err("header is not a json object"),
    }
}

/// RFC 8725 §3.1: the algorithm must be one of [`ALLOWED_ALGS`].
pub(crate) fn header_alg(header: &Map<String, Value>) -> Result<Algorithm, &'static str> {
    match header.get("alg").and_then(Value::as_str) {
        Some("PS256") => Ok(Algorithm::PS256),
        Some("ES256") => Ok(Algorithm::ES256),
        Some("EdDSA") => Ok(Algorithm::EdDSA),
        Some(_) => Err("algorithm not allowed"),
        None => Err("alg missing"),
    }
}

/// Verifies the signature through `jsonwebtoken` (and so through the installed ring
/// provider) and returns the payload as raw JSON. All of jsonwebtoken's own claim
/// checks are disabled: they read the system clock and are lenient about types; the
/// claims are checked in `claims.rs` instead.
pub(crate) fn verify_signature(
    token: &str,
    key: &VerificationKey,
    alg: Algorithm,
) -> Result<Map<String, Value>, &'static str> {
    // RFC 8725 §3.1: the key determines the algorithm, not the attacker-chosen header.
    if key.algorithm() != alg {
        return Err("algorithm does not match key");
    }
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    match jsonwebtoken::decode::<Value>(token, key.decoding_key(), &validation) {
        Ok(data) => match data.claims {
            Value::Object(m) => Ok(m),
            _ => Err("payload is not a json object"),
        },
        Err(e) => match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Err("signature invalid"),
            _ => Err("token malformed"),
        },
    }
}

#[cfg(test)]
mod tests {
    //! Algorithms, header and claim rules, and sender constraints (mTLS, DPoP), with a
    //! manual clock and an in-memory JWKS fetcher.

    use crate::auth::test_support::*;

    #[tokio::test]
    async fn eddsa_accepted_with_claims() {
        let e = env();
        let v = e
            .verifier
            .verify(&e.ed_token(&base_claims()), &bearer_ctx())
            .await
            .unwrap();
        assert_eq!(v.subject, "user-1");
        assert_eq!(v.roles, vec![Role::Officer, Role::SeniorOfficer]);
        assert_eq!(v.acr.as_deref(), Some("urn:bank:loa:high"));
        assert_eq!(v.auth_time, Some(NOW - 5));
        assert_eq!(v.client(), Some("kyc-portal"));
        assert_eq!(v.binding, SenderBinding::Unbound);
        assert!(v.require_any_role(&[Role::Admin]).is_err());
    }

    #[tokio::test]
    async fn es256_accepted() {
        let e = env();
        let t = e.token("ES256", "ec1", &base_claims());
        e.verifier.verify(&t, &bearer_ctx()).await.unwrap();
    }

    #[tokio::test]
    async fn ps256_accepted() {
        let e = env();
        let t = e.token("PS256", "rsa1", &base_claims());
        e.verifier.verify(&t, &bearer_ctx()).await.unwrap();
    }

    #[tokio::test]
    async fn alg_none_rejected() {
        let e = env();
        let t = compact(
            &json!({"alg": "none", "kid": "ed1"}),
            &base_claims(),
            |_| b"x".to_vec(),
        );
        assert_eq!(
            reason(&e, &t).await,
            AuthError::InvalidToken("algorithm not allowed")
        );
        let unsigned = format!("{}.", t.rsplit_once('.').unwrap().0);
        assert!(matches!(
            reason(&e, &unsigned).await,
            AuthError::InvalidToken(_)
        ));
    }

    #[tokio::test]
    async fn hs256_with_public_key_as_secret_rejected() {
        let e = env();
        for (kid, secret) in [
            ("ed1", e.keys.ed.public_key().as_ref().to_vec()),
            ("rsa1", e.keys.jwks().into_bytes()),
        ] {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            let t = compact(&json!({"alg": "HS256", "kid": kid}), &base_claims(), |m| {
                ring::hmac::sign(&key, m).as_ref().to_vec()
            });
            assert_eq!(
                reason(&e, &t).await,
                AuthError::InvalidToken("algorithm not allowed")
            );
        }
    }

    #[tokio::test]
    async fn rs256_rejected() {
        let e = env();
        let t = e.token("RS256", "rsa1", &base_claims());
        assert_eq!(
            reason(&e, &t).await,
            AuthError::InvalidToken("algorithm not allowed")
        );
    }

    #[tokio::test]
    async fn alg_key_mismatch_rejected() {
        let e = env();
        // ES256 header pointing at the RSA key: the key decides the algorithm.
        let t = e.token("ES256", "rsa1", &base_claims());
        assert_eq!(
            reason(&e, &t).await,
            AuthError::InvalidToken("algorithm does not match key")
        );
    }

    #[tokio::test]
    async fn bad_signature_rejected() {
        let e = env();
        let good = e.ed_token(&base_claims());
        let other = e.token("EdDSA", "ed1", &json!({"sub": "x"}));
        let forged = format!(
            "{}.{}",
            good.rsplit_once('.').unwrap().0,
            other.rsplit_once('.').unwrap().1
        );
        assert_eq!(
            reason(&e, &forged).await,
            AuthError::InvalidToken("signature invalid")
        );
    }

    async fn claim_case(mutate: impl FnOnce(&mut Value), expected: &'static str) {
        let e = env();
        let mut c = base_claims();
        mutate(&mut c);
        let t = e.ed_token(&c);
        let err = reason(&e, &t).await;
        assert_eq!(err, AuthError::InvalidToken(expected));
        assert!(!err.to_string().contains(&t));
    }

    fn remove(c: &mut Value, k: &str) {
        c.as_object_mut().unwrap().remove(k);
    }

    #[tokio::test]
    async fn missing_aud_rejected() {
        claim_case(|c| remove(c, "aud"), "aud missing").await;
    }

    #[tokio::test]
    async fn missing_iss_rejected() {
        claim_case(|c| remove(c, "iss"), "iss missing").await;
    }

    #[tokio::test]
    async fn missing_sub_rejected() {
        claim_case(|c| remove(c, "sub"), "sub missing").await;
    }

    #[tokio::test]
    async fn missing_exp_rejected() {
        claim_case(|c| remove(c, "exp"), "exp missing").await;
    }

    #[tokio::test]
    async fn other_aud_rejected() {
        claim_case(
            |c| c["aud"] = json!("https://other.example"),
            "audience mismatch",
        )
        .await;
    }

    #[tokio::test]
    async fn other_iss_rejected() {
        claim_case(
            |c| c["iss"] = json!("https://evil.example"),
            "issuer mismatch",
        )
        .await;
    }

    #[tokio::test]
    async fn exp_as_string_rejected() {
        claim_case(
            |c| c["exp"] = json!((NOW + 300).to_string()),
            "exp is not a number",
        )
        .await;
    }

    #[tokio::test]
    async fn nbf_as_string_rejected() {
        claim_case(|c| c["nbf"] = json!(NOW.to_string()), "nbf is not a number").await;
    }

    #[tokio::test]
    async fn iat_as_string_rejected() {
        claim_case(|c| c["iat"] = json!(NOW.to_string()), "iat is not a number").await;
    }

    #[tokio::test]
    async fn iat_61s_future_rejected() {
        claim_case(|c| c["iat"] = json!(NOW + 61), "iat in the future").await;
    }

    #[tokio::test]
    async fn nbf_future_rejected() {
        claim_case(|c| c["nbf"] = json!(NOW + 61), "token not yet valid").await;
    }

    #[tokio::test]
    async fn expired_rejected() {
        claim_case(|c| c["exp"] = json!(NOW - 11), "token expired").await;
    }

    #[tokio::test]
    async fn roles_malformed_rejected() {
        claim_case(|c| c["roles"] = json!([1, 2]), "roles claim malformed").await;
    }

    #[tokio::test]
    async fn iat_9s_future_accepted_and_leeway() {
        let e = env();
        let mut c = base_claims();
        c["iat"] = json!(NOW + 9);
        c["nbf"] = json!(NOW + 9);
        e.verifier
            .verify(&e.ed_token(&c), &bearer_ctx())
            .await
            .unwrap();
        // exp 5 s in the past is within the 10 s leeway.
        c["exp"] = json!(NOW - 5);
        e.verifier
            .verify(&e.ed_token(&c), &bearer_ctx())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn header_rules() {
        let e = env();
        let c = base_claims();
        let sign = |h: Value| compact(&h, &c, |m| e.keys.sign("EdDSA", m));
        assert_eq!(
            reason(&e, &sign(json!({"alg": "EdDSA"}))).await,
            AuthError::InvalidToken("kid missing")
        );
        assert_eq!(
            reason(
                &e,
                &sign(json!({"alg": "EdDSA", "kid": "ed1", "typ": "dpop+jwt"}))
            )
            .await,
            AuthError::InvalidToken("unexpected typ")
        );
        // typ JWT and application/at+jwt are fine; jku/x5u are ignored for key selection.
        for typ in ["JWT", "application/at+jwt"] {
            let t = sign(json!({"alg": "EdDSA", "kid": "ed1", "typ": typ,
                "jku": "https://evil.example/jwks", "x5u": "https://evil.example/c"}));
            e.verifier.verify(&t, &bearer_ctx()).await.unwrap();
        }
        assert_eq!(
            reason(
                &e,
                &sign(json!({"alg": "EdDSA", "kid": "ed1", "crit": ["exp"]}))
            )
            .await,
            AuthError::InvalidToken("unsupported crit header")
        );
        let huge = "a".repeat(9000);
        assert_eq!(
            reason(&e, &format!("{huge}.b.c")).await,
            AuthError::InvalidToken("token too large")
        );
        assert!(e.fetcher.count.load(Ordering::SeqCst) <= 1);
    }

    #[tokio::test]
    async fn unbound_bearer_needs_allow_bearer() {
        let e = env();
        let mut ctx = bearer_ctx();
        ctx.allow_bearer = false;
        let err = e
            .verifier
            .verify(&e.ed_token(&base_claims()), &ctx)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            AuthError::InvalidToken("sender-constrained token required")
        );
    }

    #[tokio::test]
    async fn unknown_kid_rejected() {
        let e = env();
        let t = e.token("EdDSA", "nope", &base_claims());
        assert_eq!(reason(&e, &t).await, AuthError::InvalidToken("unknown kid"));
    }

    #[tokio::test]
    async fn mtls_bound_token() {
        let e = env();
        let t = e.ed_token(&mtls_claims(b"cert-A"));
        let mut ctx = RequestContext::new("GET", URL, AuthScheme::Bearer);
        ctx.client_cert_der = Some(b"cert-A".to_vec());
        let v = e.verifier.verify(&t, &ctx).await.unwrap();
        assert_eq!(v.binding, SenderBinding::Mtls);
        ctx.client_cert_der = Some(b"cert-B".to_vec());
        assert_eq!(
            e.verifier.verify(&t, &ctx).await.unwrap_err(),
            AuthError::InvalidToken("certificate binding mismatch")
        );
        ctx.client_cert_der = None;
        assert_eq!(
            e.verifier.verify(&t, &ctx).await.unwrap_err(),
            AuthError::InvalidToken("client certificate required")
        );
    }

    #[tokio::test]
    async fn dpop_valid_accepted() {
        let (e, d, t) = dpop_setup();
        // htu in the proof differs only in scheme/host case and default port.
        let htu = "HTTPS://KYC.bank.example:443/v1/applicants/42";
        let ctx = dpop_ctx(d.proof("GET", htu, &t, "j1", NOW));
        let v = e.verifier.verify(&t, &ctx).await.unwrap();
        assert_eq!(v.binding, SenderBinding::Dpop);
    }

    #[tokio::test]
    async fn dpop_replayed_jti_rejected() {
        let (e, d, t) = dpop_setup();
        let p = d.proof("GET", URL, &t, "j1", NOW);
        e.verifier.verify(&t, &dpop_ctx(p.clone())).await.unwrap();
        assert_eq!(
            e.verifier.verify(&t, &dpop_ctx(p)).await.unwrap_err(),
            AuthError::InvalidDpopProof("dpop proof replayed")
        );
    }

    #[tokio::test]
    async fn dpop_wrong_htm_rejected() {
        let (e, d, t) = dpop_setup();
        let p = d.proof("POST", URL, &t, "j1", NOW);
        assert_eq!(
            e.verifier.verify(&t, &dpop_ctx(p)).await.unwrap_err(),
            AuthError::InvalidDpopProof("htm mismatch")
        );
    }

    #[tokio::test]
    async fn dpop_wrong_htu_rejected() {
        let (e, d, t) = dpop_setup();
        let p = d.proof(
            "GET",
            "https://kyc.bank.example/v1/applicants/43",
            &t,
            "j1",
            NOW,
        );
        assert_eq!(
            e.verifier.verify(&t, &dpop_ctx(p)).await.unwrap_err(),
            AuthError::InvalidDpopProof("htu mismatch")
        );
    }

    #[tokio::test]
    async fn dpop_wrong_ath_rejected() {
        let (e, d, t) = dpop_setup();
        let p = d.proof("GET", URL, "some-other-token", "j1", NOW);
        assert_eq!(
            e.verifier.verify(&t, &dpop_ctx(p)).await.unwrap_err(),
            AuthError::InvalidDpopProof("ath mismatch")
        );
    }

    #[tokio::test]
    async fn dpop_other_key_and_stale_iat_rejected() {
        let (e, d, t) = dpop_setup();
        let p = Dpop::new().proof("GET", URL, &t, "j1", NOW);
        assert_eq!(
            e.verifier.verify(&t, &dpop_ctx(p)).await.unwrap_err(),
            AuthError::InvalidDpopProof("jkt mismatch")
        );
        let p = d.proof("GET", URL, &t, "j2", NOW - 61);
        assert_eq!(
            e.verifier.verify(&t, &dpop_ctx(p)).await.unwrap_err(),
            AuthError::InvalidDpopProof("iat outside window")
        );
    }

    #[tokio::test]
    async fn dpop_bound_token_as_bearer_rejected() {
        let (e, d, t) = dpop_setup();
        let mut ctx = dpop_ctx(d.proof("GET", URL, &t, "j1", NOW));
        ctx.authorization_scheme = AuthScheme::Bearer;
        ctx.allow_bearer = true;
        let err = e.verifier.verify(&t, &ctx).await.unwrap_err();
        assert_eq!(
            err,
            AuthError::DpopRequired("dpop-bound token used as bearer")
        );
        assert_eq!(
            err.www_authenticate(AuthScheme::Bearer),
            "DPoP error=\"invalid_token\", error_description=\"dpop-bound token used as bearer\", algs=\"PS256 ES256 EdDSA\""
        );
    }

    #[tokio::test]
    async fn dpop_missing_proof_and_unbound_dpop_rejected() {
        let (e, _d, t) = dpop_setup();
        let ctx = RequestContext::new("GET", URL, AuthScheme::DPoP);
        assert_eq!(
            e.verifier.verify(&t, &ctx).await.unwrap_err(),
            AuthError::InvalidDpopProof("dpop proof missing")
        );
        let unbound = e.ed_token(&base_claims());
        assert_eq!(
            e.verifier.verify(&unbound, &ctx).await.unwrap_err(),
            AuthError::InvalidToken("token is not dpop-bound")
        );
    }

    /// A JWKS document that the test can replace (a key rotation at the
    /// authorization server).
    #[derive(Debug)]
    struct RotatingFetcher(std::sync::Mutex<String>);

    impl JwksFetcher for RotatingFetcher {
        fn fetch(&self) -> crate::auth::jwks::FetchFuture<'_> {
            let doc = self.0.lock().unwrap().clone();
            Box::pin(async move { Ok(doc.into_bytes()) })
        }
    }

    #[tokio::test]
    async fn a_remembered_signature_still_has_its_claims_and_key_checked() {
        let keys = Keys::new();
        let clock = Arc::new(ManualClock::new(NOW));
        let fetcher = Arc::new(RotatingFetcher(std::sync::Mutex::new(keys.jwks())));
        let cache = Arc::new(JwksCache::with_fetcher(
            fetcher.clone(),
            300,
            0,
            clock.clone(),
        ));
        let verifier = Verifier::new(VerifierConfig::new(ISS, AUD), cache, clock.clone()).unwrap();
        let mut claims = base_claims();
        claims["exp"] = json!(NOW + 3600);
        let header = json!({"alg": "EdDSA", "kid": "ed1", "typ": "at+jwt"});
        let token = compact(&header, &claims, |m| keys.sign("EdDSA", m));
        // Verified, then served from the cache: the same answer.
        for _ in 0..2 {
            assert_eq!(
                verifier
                    .verify(&token, &bearer_ctx())
                    .await
                    .unwrap()
                    .subject,
                "user-1"
            );
        }
        // A different signature over the same header and payload is a
        // different token: checked, and refused.
        let (input, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{input}.{}", b64(&[7; 64]));
        assert_eq!(
            verifier.verify(&forged, &bearer_ctx()).await.unwrap_err(),
            AuthError::InvalidToken("signature invalid")
        );
        // The authorization server rotates `ed1` to a new key: once the JWKS
        // is refreshed, the remembered verification no longer counts.
        let rotated = Keys::new();
        *fetcher.0.lock().unwrap() = rotated.jwks();
        clock.advance(301);
        assert_eq!(
            verifier.verify(&token, &bearer_ctx()).await.unwrap_err(),
            AuthError::InvalidToken("signature invalid")
        );
        // Time checks run on every request, remembered or not.
        let fresh = compact(&header, &claims, |m| rotated.sign("EdDSA", m));
        verifier.verify(&fresh, &bearer_ctx()).await.unwrap();
        clock.advance(3600);
        assert!(matches!(
            verifier.verify(&fresh, &bearer_ctx()).await.unwrap_err(),
            AuthError::InvalidToken(_)
        ));
    }

    #[test]
    fn the_signature_cache_is_bounded() {
        let keys = Arc::new(
            crate::auth::jwks::VerificationKey::from_jwk(
                &serde_json::from_str::<Value>(&Keys::new().jwks()).unwrap()["keys"][0],
            )
            .unwrap()
            .unwrap(),
        );
        let cache = super::SignatureCache::new(8);
        for i in 0..20 {
            let digest = super::SignatureCache::digest(&format!("token-{i}"));
            cache.put(digest, &keys, &serde_json::Map::new());
            assert!(cache.entries.lock().unwrap().len() <= 8);
            assert!(cache.get(&digest, &keys).is_some());
        }
    }
}
