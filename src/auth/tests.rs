//! Tests of the verification core as a whole: token verification, JWKS caching and
//! sender constraints, with a manual clock and a counting in-memory JWKS fetcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self as rsig, KeyPair};
use serde_json::{Value, json};

use super::DevKey;
use super::claims::{Role, SenderBinding};
use super::clock::ManualClock;
use super::error::{AuthError, JwksError};
use super::jwks::{FetchFuture, Jwks, JwksCache, JwksCacheConfig, JwksFetcher, JwksSource};
use super::verifier::{AuthScheme, RequestContext, Verifier, VerifierConfig};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://as.bank.example";
const AUD: &str = "https://kyc.bank.example";
const URL: &str = "https://kyc.bank.example/v1/applicants/42";

/// Fixed 2048-bit RSA test key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048),
/// shared with the API tests. A test fixture only; it protects nothing.
const RSA_TEST_KEY_PEM: &str = include_str!("testdata/rsa-2048-test-key.pem");

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn rsa_der() -> Vec<u8> {
    let body: String = RSA_TEST_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD.decode(body).unwrap()
}

struct Keys {
    ed: rsig::Ed25519KeyPair,
    ec: rsig::EcdsaKeyPair,
    rsa: rsig::RsaKeyPair,
}

impl Keys {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let ed_doc = rsig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ec_doc =
            rsig::EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .unwrap();
        Self {
            ed: rsig::Ed25519KeyPair::from_pkcs8(ed_doc.as_ref()).unwrap(),
            ec: rsig::EcdsaKeyPair::from_pkcs8(
                &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
                ec_doc.as_ref(),
                &rng,
            )
            .unwrap(),
            rsa: rsig::RsaKeyPair::from_pkcs8(&rsa_der()).unwrap(),
        }
    }

    fn jwks(&self) -> String {
        let rsa: rsig::RsaPublicKeyComponents<Vec<u8>> = self.rsa.public().into();
        json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": b64(self.ed.public_key().as_ref())},
            ec_jwk(&self.ec, Some("ec1")),
            {"kty": "RSA", "kid": "rsa1", "n": b64(&rsa.n), "e": b64(&rsa.e), "alg": "PS256"},
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
        ]})
        .to_string()
    }

    fn sign(&self, alg: &str, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match alg {
            "EdDSA" => self.ed.sign(msg).as_ref().to_vec(),
            "ES256" => self.ec.sign(&rng, msg).unwrap().as_ref().to_vec(),
            "PS256" | "RS256" => {
                let mut sig = vec![0; self.rsa.public().modulus_len()];
                let pad: &'static dyn rsig::RsaEncoding = if alg == "PS256" {
                    &rsig::RSA_PSS_SHA256
                } else {
                    &rsig::RSA_PKCS1_SHA256
                };
                self.rsa.sign(pad, &rng, msg, &mut sig).unwrap();
                sig
            }
            other => panic!("no signer for {other}"),
        }
    }
}

fn ec_jwk(kp: &rsig::EcdsaKeyPair, kid: Option<&str>) -> Value {
    let p = kp.public_key().as_ref();
    let mut j = json!({"kty": "EC", "crv": "P-256", "x": b64(&p[1..33]), "y": b64(&p[33..65])});
    if let Some(k) = kid {
        j["kid"] = json!(k);
    }
    j
}

fn compact(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

#[derive(Debug)]
struct CountingFetcher {
    doc: String,
    count: AtomicU64,
}

impl JwksFetcher for CountingFetcher {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            self.count.fetch_add(1, Ordering::SeqCst);
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            Ok(self.doc.clone().into_bytes())
        })
    }
}

struct Env {
    keys: Keys,
    clock: Arc<ManualClock>,
    fetcher: Arc<CountingFetcher>,
    cache: Arc<JwksCache>,
    verifier: Verifier,
}

fn env() -> Env {
    let keys = Keys::new();
    let clock = Arc::new(ManualClock::new(NOW));
    let fetcher = Arc::new(CountingFetcher {
        doc: keys.jwks(),
        count: AtomicU64::new(0),
    });
    let cache = Arc::new(JwksCache::with_fetcher(
        fetcher.clone(),
        300,
        30,
        clock.clone(),
    ));
    let verifier =
        Verifier::new(VerifierConfig::new(ISS, AUD), cache.clone(), clock.clone()).unwrap();
    Env {
        keys,
        clock,
        fetcher,
        cache,
        verifier,
    }
}

fn base_claims() -> Value {
    json!({
        "iss": ISS, "aud": [AUD, "other"], "sub": "user-1", "exp": NOW + 300, "iat": NOW,
        "roles": ["officer", "senior_officer", "janitor"], "acr": "urn:bank:loa:high",
        "auth_time": NOW - 5, "client_id": "kyc-portal", "scope": "kyc.read kyc.write",
    })
}

impl Env {
    fn token(&self, alg: &str, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": alg, "kid": kid, "typ": "at+jwt"});
        compact(&header, claims, |m| self.keys.sign(alg, m))
    }

    fn ed_token(&self, claims: &Value) -> String {
        self.token("EdDSA", "ed1", claims)
    }
}

fn bearer_ctx() -> RequestContext {
    let mut c = RequestContext::new("GET", URL, AuthScheme::Bearer);
    c.allow_bearer = true;
    c
}

async fn reason(env: &Env, token: &str) -> AuthError {
    env.verifier.verify(token, &bearer_ctx()).await.unwrap_err()
}

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
    let small = json!({"keys": [{"kty": "RSA", "kid": "r", "n": b64(&[0xff; 128]), "e": "AQAB"}]});
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

// ---- sender constraints ----

fn mtls_claims(cert: &[u8]) -> Value {
    let mut c = base_claims();
    let d = ring::digest::digest(&ring::digest::SHA256, cert);
    c["cnf"] = json!({"x5t#S256": b64(d.as_ref())});
    c
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

struct Dpop {
    key: rsig::EcdsaKeyPair,
    jkt: String,
}

impl Dpop {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let alg = &rsig::ECDSA_P256_SHA256_FIXED_SIGNING;
        let doc = rsig::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let key = rsig::EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap();
        let j = ec_jwk(&key, None);
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            j["x"].as_str().unwrap(),
            j["y"].as_str().unwrap()
        );
        let jkt = b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref());
        Self { key, jkt }
    }

    fn proof(&self, htm: &str, htu: &str, token: &str, jti: &str, iat: i64) -> String {
        let ath = b64(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        let claims = json!({"jti": jti, "htm": htm, "htu": htu, "iat": iat, "ath": ath});
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": ec_jwk(&self.key, None)});
        let rng = SystemRandom::new();
        compact(&header, &claims, |m| {
            self.key.sign(&rng, m).unwrap().as_ref().to_vec()
        })
    }
}

fn dpop_setup() -> (Env, Dpop, String) {
    let e = env();
    let d = Dpop::new();
    let mut c = base_claims();
    c["cnf"] = json!({"jkt": d.jkt});
    let t = e.ed_token(&c);
    (e, d, t)
}

fn dpop_ctx(proof: String) -> RequestContext {
    let mut ctx = RequestContext::new("GET", URL, AuthScheme::DPoP);
    ctx.dpop_header = Some(proof);
    ctx
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

#[test]
fn www_authenticate_bearer() {
    let err = AuthError::InvalidToken("token expired");
    assert_eq!(
        err.www_authenticate(AuthScheme::Bearer),
        "Bearer error=\"invalid_token\", error_description=\"token expired\""
    );
    assert_eq!(err.http_status(), 401);
    assert_eq!(AuthError::Insufficient("x").http_status(), 403);
}

#[derive(Debug)]
struct Fixed(String);

impl JwksFetcher for Fixed {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move { Ok(self.0.clone().into_bytes()) })
    }
}

#[tokio::test]
async fn dev_key_mints_verifiable_tokens() {
    let dev = DevKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let cache = Arc::new(JwksCache::with_fetcher(
        Arc::new(Fixed(dev.jwks_json())),
        300,
        30,
        clock.clone(),
    ));
    let verifier = Verifier::new(VerifierConfig::new(ISS, AUD), cache, clock.clone()).unwrap();
    let claims = json!({"iss": ISS, "aud": AUD, "sub": "dev", "roles": "admin"});
    let token = dev
        .mint_at(
            claims.as_object().unwrap(),
            &dev.kid(),
            Duration::from_secs(60),
            clock.as_ref(),
        )
        .unwrap();
    let v = verifier.verify(&token, &bearer_ctx()).await.unwrap();
    assert_eq!(v.roles, vec![Role::Admin]);
    assert_eq!(v.algorithm, jsonwebtoken::Algorithm::EdDSA);
}
