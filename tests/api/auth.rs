//! Authentication over TLS as a bank app, a back-end or an attacker would try it:
//! tokens from a JWKS file or URL written by the test, FAPI 2.0 algorithm and claim
//! rules, DPoP and mTLS sender constraints, `WWW-Authenticate` on every 401, rate
//! limits, and the dev key's tokens.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kyc_gateway::config::Settings;
use ring::rand::SystemRandom;
use ring::signature::{self as rsig, KeyPair};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, assert_problem, client_pki, client_trusting, spawn_app_with};

const ISS: &str = "https://idp.bank.example";
const AUD: &str = "https://kyc.bank.example";

/// The PS256 key of the verification core's unit tests, reused here.
const RSA_TEST_KEY_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/auth/testdata/rsa-2048-test-key.pem"
));

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sha256_b64(bytes: &[u8]) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// A fake identity provider: one key per FAPI algorithm, generated with ring.
struct Idp {
    ed: rsig::Ed25519KeyPair,
    ec: rsig::EcdsaKeyPair,
    rsa: rsig::RsaKeyPair,
}

impl Idp {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let ed = rsig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ec = rsig::EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let rsa_der: String = RSA_TEST_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----") && !l.is_empty())
            .collect();
        Self {
            ed: rsig::Ed25519KeyPair::from_pkcs8(ed.as_ref()).unwrap(),
            ec: rsig::EcdsaKeyPair::from_pkcs8(
                &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
                ec.as_ref(),
                &rng,
            )
            .unwrap(),
            rsa: rsig::RsaKeyPair::from_pkcs8(&STANDARD.decode(rsa_der).unwrap()).unwrap(),
        }
    }

    fn jwks(&self) -> String {
        let rsa: rsig::RsaPublicKeyComponents<Vec<u8>> = self.rsa.public().into();
        let mut ec = ec_jwk(&self.ec);
        ec["kid"] = json!("ec1");
        json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": b64(self.ed.public_key().as_ref())},
            ec,
            {"kty": "RSA", "kid": "rsa1", "n": b64(&rsa.n), "e": b64(&rsa.e)},
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
                let padding: &'static dyn rsig::RsaEncoding = if alg == "PS256" {
                    &rsig::RSA_PSS_SHA256
                } else {
                    &rsig::RSA_PKCS1_SHA256
                };
                self.rsa.sign(padding, &rng, msg, &mut sig).unwrap();
                sig
            }
            other => panic!("no signer for {other}"),
        }
    }

    /// A token with this header algorithm and key id.
    fn token(&self, alg: &str, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": alg, "kid": kid, "typ": "at+jwt"});
        compact(&header, claims, |input| self.sign(alg, input))
    }

    fn ed_token(&self, claims: &Value) -> String {
        self.token("EdDSA", "ed1", claims)
    }
}

fn ec_jwk(kp: &rsig::EcdsaKeyPair) -> Value {
    let p = kp.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "x": b64(&p[1..33]), "y": b64(&p[33..65])})
}

fn compact(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn claims(sub: &str) -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": sub, "exp": now() + 300, "iat": now(),
        "roles": ["applicant"], "client_id": "bank-app",
    })
}

/// A gateway trusting `idp` through a JWKS file, with roomy rate limits.
struct AuthApp {
    app: TestApp,
    idp: Idp,
    _keys: TempDir,
}

impl AuthApp {
    async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> Self {
        let idp = Idp::new();
        let keys = tempfile::tempdir().unwrap();
        let jwks = keys.path().join("jwks.json");
        std::fs::write(&jwks, idp.jwks()).unwrap();
        let app = spawn_app_with(|s| {
            configure_idp(s);
            s.auth.jwks_path = Some(jwks);
            customize(s);
        })
        .await;
        Self {
            app,
            idp,
            _keys: keys,
        }
    }

    fn me(&self) -> String {
        format!("{}/v1/me", self.app.address)
    }

    async fn get_me(&self, token: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.me())
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

fn configure_idp(s: &mut Settings) {
    s.auth.issuer = Some(ISS.to_owned());
    s.auth.audience = Some(AUD.to_owned());
    for limit in [
        &mut s.auth.rate_limits.applicant,
        &mut s.auth.rate_limits.staff,
    ] {
        limit.per_ip_per_minute = 100_000;
        limit.per_subject_per_minute = 100_000;
    }
}

/// A 401 problem with this code that carries a `WWW-Authenticate` challenge
/// (RFC 6750 §3) naming `scheme`.
async fn assert_rejected(res: reqwest::Response, code: &str, scheme: &str) -> Value {
    let challenges: Vec<String> = res
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with(scheme)),
        "no {scheme} challenge in {challenges:?}"
    );
    assert_problem(res, 401, code).await
}

async fn assert_accepted(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    res.json().await.unwrap()
}

// --- Rejected: algorithms -------------------------------------------------------

#[tokio::test]
async fn alg_none_is_rejected() {
    let t = AuthApp::spawn().await;
    let header = json!({"alg": "none", "kid": "ed1", "typ": "at+jwt"});
    let unsigned = compact(&header, &claims("mallory"), |_| Vec::new());
    assert_rejected(t.get_me(&unsigned).await, "invalid_token", "Bearer").await;
    // Even with some bytes where the signature goes.
    let padded = compact(&header, &claims("mallory"), |_| b"sig".to_vec());
    let body = assert_rejected(t.get_me(&padded).await, "invalid_token", "Bearer").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("algorithm not allowed"),
        "{body}"
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_as_secret_is_rejected() {
    let t = AuthApp::spawn().await;
    for (kid, public) in [
        ("ed1", t.idp.ed.public_key().as_ref().to_vec()),
        ("ec1", t.idp.ec.public_key().as_ref().to_vec()),
        ("rsa1", t.idp.jwks().into_bytes()),
    ] {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &public);
        let header = json!({"alg": "HS256", "kid": kid, "typ": "at+jwt"});
        let token = compact(&header, &claims("mallory"), |input| {
            ring::hmac::sign(&key, input).as_ref().to_vec()
        });
        let body = assert_rejected(t.get_me(&token).await, "invalid_token", "Bearer").await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("algorithm not allowed"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn rs256_is_rejected() {
    let t = AuthApp::spawn().await;
    let token = t.idp.token("RS256", "rsa1", &claims("alice"));
    let body = assert_rejected(t.get_me(&token).await, "invalid_token", "Bearer").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("algorithm not allowed"),
        "{body}"
    );
    // The same key and claims as PS256 are fine: only the algorithm is wrong.
    assert_accepted(
        t.get_me(&t.idp.token("PS256", "rsa1", &claims("alice")))
            .await,
    )
    .await;
}

// --- Rejected: claims -------------------------------------------------------------

async fn assert_claims_rejected(mutate: impl FnOnce(&mut Value), reason: &str) {
    let t = AuthApp::spawn().await;
    let mut c = claims("alice");
    mutate(&mut c);
    let body = assert_rejected(
        t.get_me(&t.idp.ed_token(&c)).await,
        "invalid_token",
        "Bearer",
    )
    .await;
    // The detail names the reason, never the token.
    assert!(body["detail"].as_str().unwrap().contains(reason), "{body}");
    assert!(!body.to_string().contains("eyJ"), "{body}");
}

#[tokio::test]
async fn missing_aud_is_rejected() {
    let remove_aud = |c: &mut Value| {
        c.as_object_mut().unwrap().remove("aud");
    };
    assert_claims_rejected(remove_aud, "aud missing").await;
}

#[tokio::test]
async fn missing_iss_is_rejected() {
    let remove_iss = |c: &mut Value| {
        c.as_object_mut().unwrap().remove("iss");
    };
    assert_claims_rejected(remove_iss, "iss missing").await;
}

#[tokio::test]
async fn another_services_aud_is_rejected() {
    let other = |c: &mut Value| c["aud"] = json!(["https://payments.bank.example"]);
    assert_claims_rejected(other, "audience mismatch").await;
}

#[tokio::test]
async fn exp_as_a_string_is_rejected() {
    let string_exp = |c: &mut Value| c["exp"] = json!((now() + 300).to_string());
    assert_claims_rejected(string_exp, "exp is not a number").await;
}

#[tokio::test]
async fn nbf_as_a_string_is_rejected() {
    let string_nbf = |c: &mut Value| c["nbf"] = json!((now() - 10).to_string());
    assert_claims_rejected(string_nbf, "nbf is not a number").await;
}

#[tokio::test]
async fn iat_more_than_60_seconds_in_the_future_is_rejected() {
    // The exact 61 s boundary is a unit test on a fixed clock (src/auth/verifier.rs);
    // over the wire the server's clock may tick a second past ours, which would turn
    // +61 into +60 and make the test flaky, so stay clear of the boundary here.
    let future = |c: &mut Value| c["iat"] = json!(now() + 75);
    assert_claims_rejected(future, "iat in the future").await;
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let expired = |c: &mut Value| {
        c["iat"] = json!(now() - 600);
        c["exp"] = json!(now() - 60);
    };
    assert_claims_rejected(expired, "token expired").await;
}

// --- Accepted ------------------------------------------------------------------------

#[tokio::test]
async fn ps256_es256_and_eddsa_tokens_from_the_jwks_are_accepted() {
    let t = AuthApp::spawn().await;
    for (alg, kid) in [("PS256", "rsa1"), ("ES256", "ec1"), ("EdDSA", "ed1")] {
        let mut c = claims(&format!("user-{alg}"));
        c["roles"] = json!(["officer", "janitor"]);
        let me = assert_accepted(t.get_me(&t.idp.token(alg, kid, &c)).await).await;
        assert_eq!(
            me,
            json!({
                "subject": format!("user-{alg}"),
                "roles": ["officer"],
                "client_id": "bank-app",
                "binding": "bearer",
            })
        );
    }
}

#[tokio::test]
async fn iat_9_seconds_in_the_future_is_accepted() {
    let t = AuthApp::spawn().await;
    let mut c = claims("alice");
    c["iat"] = json!(now() + 9);
    assert_accepted(t.get_me(&t.idp.ed_token(&c)).await).await;
}

// --- Where the token may come from ------------------------------------------------

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let t = AuthApp::spawn().await;
    let token = t.idp.ed_token(&claims("alice"));
    let res = t
        .app
        .client
        .get(format!("{}?access_token={token}", t.me()))
        .send()
        .await
        .unwrap();
    let body = assert_rejected(res, "unauthorized", "Bearer").await;
    assert!(!body.to_string().contains(&token));
    // The same token in the Authorization header is fine.
    assert_accepted(t.get_me(&token).await).await;
}

#[tokio::test]
async fn a_request_without_credentials_gets_both_challenges() {
    let t = AuthApp::spawn().await;
    let res = t.app.client.get(t.me()).send().await.unwrap();
    let challenges: Vec<_> = res.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert_rejected(res, "unauthorized", "DPoP").await;
}

// --- Keys: unknown kid and the JWKS URL ---------------------------------------------

#[tokio::test]
async fn unknown_kids_are_rejected_and_1000_of_them_cause_at_most_one_jwks_fetch() {
    let idp = Idp::new();
    let jwks_server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_string(idp.jwks()))
        .mount(&jwks_server)
        .await;
    let app = spawn_app_with(|s| {
        configure_idp(s);
        s.auth.jwks_url = Some(format!("{}/jwks", jwks_server.uri()));
        // Dev-profile-only switch: the fake IdP speaks plain HTTP.
        s.auth.jwks_allow_http = true;
    })
    .await;
    let me = format!("{}/v1/me", app.address);
    let fetches = || async { jwks_server.received_requests().await.unwrap().len() };

    let mut handles = Vec::new();
    for i in 0..1000 {
        let client = app.client.clone();
        let me = me.clone();
        let token = idp.token("EdDSA", &format!("rotated-{i}"), &claims("alice"));
        handles.push(tokio::spawn(async move {
            client.get(me).bearer_auth(token).send().await.unwrap()
        }));
        if handles.len() == 100 {
            for h in handles.drain(..) {
                let body = assert_rejected(h.await.unwrap(), "invalid_token", "Bearer").await;
                assert!(
                    body["detail"].as_str().unwrap().contains("unknown kid"),
                    "{body}"
                );
            }
        }
    }
    assert!(fetches().await <= 1, "{} JWKS fetches", fetches().await);
    // The keys themselves were loaded: a known kid works without another fetch.
    let res = app
        .client
        .get(&me)
        .bearer_auth(idp.ed_token(&claims("alice")))
        .send()
        .await
        .unwrap();
    assert_accepted(res).await;
    assert_eq!(fetches().await, 1);
}

// --- Sender constraints: DPoP ---------------------------------------------------------

/// A client's DPoP key (RFC 9449 §4).
struct DpopKey {
    key: rsig::EcdsaKeyPair,
}

impl DpopKey {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let doc = rsig::EcdsaKeyPair::generate_pkcs8(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        Self {
            key: rsig::EcdsaKeyPair::from_pkcs8(
                &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
                doc.as_ref(),
                &rng,
            )
            .unwrap(),
        }
    }

    /// RFC 7638 thumbprint, the token's `cnf.jkt`.
    fn jkt(&self) -> String {
        let jwk = ec_jwk(&self.key);
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        sha256_b64(canonical.as_bytes())
    }

    fn proof(&self, htm: &str, htu: &str, token: &str) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": ec_jwk(&self.key)});
        let claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(), "htm": htm, "htu": htu,
            "iat": now(), "ath": sha256_b64(token.as_bytes()),
        });
        let rng = SystemRandom::new();
        compact(&header, &claims, |input| {
            self.key.sign(&rng, input).unwrap().as_ref().to_vec()
        })
    }
}

struct DpopCase {
    t: AuthApp,
    key: DpopKey,
    token: String,
}

async fn dpop_case() -> DpopCase {
    let t = AuthApp::spawn().await;
    let key = DpopKey::new();
    let mut c = claims("alice");
    c["cnf"] = json!({"jkt": key.jkt()});
    let token = t.idp.ed_token(&c);
    DpopCase { t, key, token }
}

impl DpopCase {
    async fn send(&self, proof: &str) -> reqwest::Response {
        self.t
            .app
            .client
            .get(self.t.me())
            .header("authorization", format!("DPoP {}", self.token))
            .header("dpop", proof)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_dpop_bound_token_works_with_a_fresh_proof() {
    let case = dpop_case().await;
    let proof = case.key.proof("GET", &case.t.me(), &case.token);
    let me = assert_accepted(case.send(&proof).await).await;
    assert_eq!(me["binding"], "dpop");
}

#[tokio::test]
async fn a_dpop_bound_token_sent_as_bearer_is_rejected() {
    let case = dpop_case().await;
    let res = case.t.get_me(&case.token).await;
    let body = assert_rejected(res, "invalid_token", "DPoP").await;
    assert!(
        body["detail"].as_str().unwrap().contains("used as bearer"),
        "{body}"
    );
}

#[tokio::test]
async fn a_replayed_dpop_proof_is_rejected() {
    let case = dpop_case().await;
    let proof = case.key.proof("GET", &case.t.me(), &case.token);
    assert_accepted(case.send(&proof).await).await;
    let body = assert_rejected(case.send(&proof).await, "invalid_dpop_proof", "DPoP").await;
    assert!(
        body["detail"].as_str().unwrap().contains("replayed"),
        "{body}"
    );
}

#[tokio::test]
async fn a_dpop_proof_for_another_method_is_rejected() {
    let case = dpop_case().await;
    let proof = case.key.proof("POST", &case.t.me(), &case.token);
    let body = assert_rejected(case.send(&proof).await, "invalid_dpop_proof", "DPoP").await;
    assert!(
        body["detail"].as_str().unwrap().contains("htm mismatch"),
        "{body}"
    );
}

#[tokio::test]
async fn a_dpop_proof_for_another_url_is_rejected() {
    let case = dpop_case().await;
    let other = format!("{}/v1/connection", case.t.app.address);
    let proof = case.key.proof("GET", &other, &case.token);
    let body = assert_rejected(case.send(&proof).await, "invalid_dpop_proof", "DPoP").await;
    assert!(
        body["detail"].as_str().unwrap().contains("htu mismatch"),
        "{body}"
    );
}

#[tokio::test]
async fn a_dpop_proof_for_another_token_is_rejected() {
    let case = dpop_case().await;
    let other_token = case.t.idp.ed_token(&claims("bob"));
    let proof = case.key.proof("GET", &case.t.me(), &other_token);
    let body = assert_rejected(case.send(&proof).await, "invalid_dpop_proof", "DPoP").await;
    assert!(
        body["detail"].as_str().unwrap().contains("ath mismatch"),
        "{body}"
    );
}

// --- Sender constraints: mTLS -----------------------------------------------------------

#[tokio::test]
async fn an_mtls_bound_token_needs_its_own_client_certificate() {
    let pki_dir = tempfile::tempdir().unwrap();
    let owner = client_pki(pki_dir.path(), "owner");
    let other = client_pki(pki_dir.path(), "other");
    let bundle = pki_dir.path().join("client-cas.pem");
    let cas = [&owner.ca_cert, &other.ca_cert].map(|p| std::fs::read_to_string(p).unwrap());
    std::fs::write(&bundle, cas.concat()).unwrap();
    let t = AuthApp::spawn_with(|s| s.tls.client_ca_path = Some(bundle.clone())).await;
    let mut c = claims("back-office");
    c["roles"] = json!(["service"]);
    c["cnf"] = json!({"x5t#S256": sha256_b64(&owner.cert_der)});
    let token = t.idp.ed_token(&c);

    let call = |identity: &crate::helpers::ClientPki| {
        let client = client_trusting(&[&t.app.ca_cert], Some((&identity.cert, &identity.key)));
        let (me, token) = (t.me(), token.clone());
        async move { client.get(me).bearer_auth(token).send().await.unwrap() }
    };
    let body = assert_rejected(call(&other).await, "invalid_token", "Bearer").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("certificate binding mismatch"),
        "{body}"
    );
    // Without any certificate, too.
    assert_rejected(t.get_me(&token).await, "invalid_token", "Bearer").await;
    let me = assert_accepted(call(&owner).await).await;
    assert_eq!(me["binding"], "mtls");
}

// --- Rate limits ------------------------------------------------------------------------

#[tokio::test]
async fn a_burst_over_the_ip_limit_gets_429_and_forwarded_for_does_not_reset_it() {
    let t = AuthApp::spawn_with(|s| s.auth.rate_limits.applicant.per_ip_per_minute = 5).await;
    let token = t.idp.ed_token(&claims("alice"));
    for _ in 0..5 {
        assert_accepted(t.get_me(&token).await).await;
    }
    let res = t.get_me(&token).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(res, 429, "rate_limited").await;
    // 127.0.0.1 is no trusted proxy: its X-Forwarded-For is ignored.
    for i in 0..5 {
        let res = t
            .app
            .client
            .get(t.me())
            .bearer_auth(&token)
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        assert_problem(res, 429, "rate_limited").await;
    }
}

#[tokio::test]
async fn each_subject_has_its_own_limit() {
    let t = AuthApp::spawn_with(|s| s.auth.rate_limits.applicant.per_subject_per_minute = 2).await;
    let alice = t.idp.ed_token(&claims("alice"));
    for _ in 0..2 {
        assert_accepted(t.get_me(&alice).await).await;
    }
    let res = t.get_me(&alice).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate_limited").await;
    // A fresh token for the same subject does not help; another subject is fine.
    assert_problem(
        t.get_me(&t.idp.ed_token(&claims("alice"))).await,
        429,
        "rate_limited",
    )
    .await;
    assert_accepted(t.get_me(&t.idp.ed_token(&claims("bob"))).await).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let t = AuthApp::spawn_with(|s| {
        s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.auth.rate_limits.applicant.per_ip_per_minute = 2;
    })
    .await;
    let token = t.idp.ed_token(&claims("alice"));
    let from = |xff: &'static str| {
        t.app
            .client
            .get(t.me())
            .bearer_auth(&token)
            .header("x-forwarded-for", xff)
            .send()
    };
    // The client forged the left entry; the proxy appended the real one.
    assert_accepted(from("1.1.1.1, 203.0.113.7").await.unwrap()).await;
    assert_accepted(from("2.2.2.2, 203.0.113.7").await.unwrap()).await;
    assert_problem(
        from("3.3.3.3, 203.0.113.7").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
    assert_accepted(from("203.0.113.8").await.unwrap()).await;
}

// --- The dev key ---------------------------------------------------------------------------

#[tokio::test]
async fn a_dev_token_from_the_cli_is_accepted_by_a_dev_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyc-gateway"))
        .env_clear()
        .current_dir(dir.path())
        .args(["dev", "token", "--role", "officer", "--role", "auditor"])
        .args(["--sub", "alice", "--ttl", "5m"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_dev_key_is_private(&dir.path().join("data/dev"));

    let data_dir = dir.path().join("data");
    let app = spawn_app_with(|s| s.data_dir = data_dir).await;
    let res = app
        .client
        .get(format!("{}/v1/me", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let me = assert_accepted(res).await;
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["roles"], json!(["officer", "auditor"]));
}

fn assert_dev_key_is_private(dev_dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dev_dir.join("jwt-signing-key.pk8"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
