//! Fixtures of the verification core's unit tests (beside the code in `verifier.rs`,
//! `jwks.rs`, `dev.rs`, `error.rs`): keys of every FAPI algorithm, a manual clock, a
//! counting in-memory JWKS fetcher, token and DPoP proof builders.

pub(crate) use std::sync::Arc;
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use base64::Engine;
pub(crate) use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
pub(crate) use ring::rand::SystemRandom;
pub(crate) use ring::signature::{self as rsig, KeyPair};
pub(crate) use serde_json::{Value, json};

pub(crate) use crate::auth::claims::{Role, SenderBinding};
pub(crate) use crate::auth::clock::ManualClock;
pub(crate) use crate::auth::error::{AuthError, JwksError};
pub(crate) use crate::auth::jwks::{
    FetchFuture, Jwks, JwksCache, JwksCacheConfig, JwksFetcher, JwksSource,
};
pub(crate) use crate::auth::verifier::{AuthScheme, RequestContext, Verifier, VerifierConfig};

pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const ISS: &str = "https://as.bank.example";
pub(crate) const AUD: &str = "https://kyc.bank.example";
pub(crate) const URL: &str = "https://kyc.bank.example/v1/applicants/42";

/// Fixed 2048-bit RSA test key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048),
/// shared with the API tests. A test fixture only; it protects nothing.
pub(crate) const RSA_TEST_KEY_PEM: &str = include_str!("testdata/rsa-2048-test-key.pem");

pub(crate) fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

pub(crate) fn rsa_der() -> Vec<u8> {
    let body: String = RSA_TEST_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD.decode(body).unwrap()
}

pub(crate) struct Keys {
    pub(crate) ed: rsig::Ed25519KeyPair,
    pub(crate) ec: rsig::EcdsaKeyPair,
    pub(crate) rsa: rsig::RsaKeyPair,
}

impl Keys {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn jwks(&self) -> String {
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

    pub(crate) fn sign(&self, alg: &str, msg: &[u8]) -> Vec<u8> {
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

pub(crate) fn ec_jwk(kp: &rsig::EcdsaKeyPair, kid: Option<&str>) -> Value {
    let p = kp.public_key().as_ref();
    let mut j = json!({"kty": "EC", "crv": "P-256", "x": b64(&p[1..33]), "y": b64(&p[33..65])});
    if let Some(k) = kid {
        j["kid"] = json!(k);
    }
    j
}

pub(crate) fn compact(
    header: &Value,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

#[derive(Debug)]
pub(crate) struct CountingFetcher {
    pub(crate) doc: String,
    pub(crate) count: AtomicU64,
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

pub(crate) struct Env {
    pub(crate) keys: Keys,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) fetcher: Arc<CountingFetcher>,
    pub(crate) cache: Arc<JwksCache>,
    pub(crate) verifier: Verifier,
}

pub(crate) fn env() -> Env {
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

pub(crate) fn base_claims() -> Value {
    json!({
        "iss": ISS, "aud": [AUD, "other"], "sub": "user-1", "exp": NOW + 300, "iat": NOW,
        "roles": ["officer", "senior_officer", "janitor"], "acr": "urn:bank:loa:high",
        "auth_time": NOW - 5, "client_id": "kyc-portal", "scope": "kyc.read kyc.write",
    })
}

impl Env {
    pub(crate) fn token(&self, alg: &str, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": alg, "kid": kid, "typ": "at+jwt"});
        compact(&header, claims, |m| self.keys.sign(alg, m))
    }

    pub(crate) fn ed_token(&self, claims: &Value) -> String {
        self.token("EdDSA", "ed1", claims)
    }
}

pub(crate) fn bearer_ctx() -> RequestContext {
    let mut c = RequestContext::new("GET", URL, AuthScheme::Bearer);
    c.allow_bearer = true;
    c
}

pub(crate) async fn reason(env: &Env, token: &str) -> AuthError {
    env.verifier.verify(token, &bearer_ctx()).await.unwrap_err()
}

pub(crate) fn mtls_claims(cert: &[u8]) -> Value {
    let mut c = base_claims();
    let d = ring::digest::digest(&ring::digest::SHA256, cert);
    c["cnf"] = json!({"x5t#S256": b64(d.as_ref())});
    c
}

pub(crate) struct Dpop {
    pub(crate) key: rsig::EcdsaKeyPair,
    pub(crate) jkt: String,
}

impl Dpop {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn proof(&self, htm: &str, htu: &str, token: &str, jti: &str, iat: i64) -> String {
        let ath = b64(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        let claims = json!({"jti": jti, "htm": htm, "htu": htu, "iat": iat, "ath": ath});
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": ec_jwk(&self.key, None)});
        let rng = SystemRandom::new();
        compact(&header, &claims, |m| {
            self.key.sign(&rng, m).unwrap().as_ref().to_vec()
        })
    }
}

pub(crate) fn dpop_setup() -> (Env, Dpop, String) {
    let e = env();
    let d = Dpop::new();
    let mut c = base_claims();
    c["cnf"] = json!({"jkt": d.jkt});
    let t = e.ed_token(&c);
    (e, d, t)
}

pub(crate) fn dpop_ctx(proof: String) -> RequestContext {
    let mut ctx = RequestContext::new("GET", URL, AuthScheme::DPoP);
    ctx.dpop_header = Some(proof);
    ctx
}

#[derive(Debug)]
pub(crate) struct Fixed(pub(crate) String);

impl JwksFetcher for Fixed {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move { Ok(self.0.clone().into_bytes()) })
    }
}
