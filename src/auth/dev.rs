//! Development helper: an Ed25519 signing key that publishes a JWKS (RFC 7517) and
//! mints EdDSA access tokens (RFC 8037 §3.1, RFC 9068) for the `dev token` CLI and
//! tests. Never use it in production: the production profile refuses any JWKS that
//! holds this key (see `auth::setup`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Map, Value, json};
use thiserror::Error;

use super::clock::{Clock, SystemClock};
use super::provider;

/// Errors of the dev key helper.
#[derive(Debug, Error)]
pub enum DevKeyError {
    /// Key generation or parsing failed.
    #[error("ed25519 key generation/parsing failed")]
    Key,
    /// The ring provider could not be installed.
    #[error(transparent)]
    Provider(#[from] super::error::ProviderError),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// The key file could not be read or written.
    #[error("dev signing key {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
}

/// The dev signing key (PKCS#8 DER) under the dev directory, mode 0600.
pub const DEV_KEY_FILE: &str = "jwt-signing-key.pk8";
/// The JWKS publishing the dev key's public half, under the dev directory.
pub const DEV_JWKS_FILE: &str = "jwt-jwks.json";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DevKeyError + '_ {
    move |e| DevKeyError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Loads the dev key from `dev_dir`, if one was generated there.
pub fn load_dev_key(dev_dir: &Path) -> Result<Option<DevKey>, DevKeyError> {
    let path = dev_dir.join(DEV_KEY_FILE);
    match std::fs::read(&path) {
        Ok(der) => DevKey::from_pkcs8(&der).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(&path)(e)),
    }
}

/// Loads the dev key from `dev_dir`, generating it on first use (PKCS#8 DER, created
/// exclusively with mode 0600), and (re)writes its JWKS beside it. Returns the key and
/// the JWKS path.
pub fn ensure_dev_key(dev_dir: &Path) -> Result<(DevKey, PathBuf), DevKeyError> {
    std::fs::create_dir_all(dev_dir).map_err(io_error(dev_dir))?;
    let key = match load_dev_key(dev_dir)? {
        Some(key) => key,
        None => {
            let key = DevKey::generate()?;
            let path = dev_dir.join(DEV_KEY_FILE);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => file.write_all(key.pkcs8_der()).map_err(io_error(&path))?,
                // Another process (the server or `dev token`) won the race: use its key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
            load_dev_key(dev_dir)?.ok_or_else(|| DevKeyError::Io {
                path,
                reason: "vanished after creation".to_owned(),
            })?
        }
    };
    let jwks = dev_dir.join(DEV_JWKS_FILE);
    let tmp = dev_dir.join(format!("{DEV_JWKS_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, key.jwks_json()).map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, &jwks).map_err(io_error(&jwks))?;
    Ok((key, jwks))
}

/// An Ed25519 development signing key.
#[derive(Debug)]
pub struct DevKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl DevKey {
    /// Generates a fresh key.
    pub fn generate() -> Result<Self, DevKeyError> {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| DevKeyError::Key)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Loads a key from PKCS#8 DER (as returned by [`DevKey::pkcs8_der`]).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, DevKeyError> {
        let kp = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| DevKeyError::Key)?;
        Ok(Self {
            pkcs8: der.to_vec(),
            public: kp.public_key().as_ref().to_vec(),
        })
    }

    /// The private key as PKCS#8 DER, for saving it between CLI runs.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> String {
        let x = URL_SAFE_NO_PAD.encode(&self.public);
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let d = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(d.as_ref())
    }

    /// The public JWK (RFC 8037 §2) with `kid` = [`DevKey::kid`].
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&self.public),
            "kid": self.kid(),
            "use": "sig",
            "alg": "EdDSA",
        })
    }

    /// A JWKS document containing the public key.
    pub fn jwks_json(&self) -> String {
        json!({ "keys": [self.public_jwk()] }).to_string()
    }

    /// Mints an EdDSA JWT (`typ` `at+jwt`) with `claims`, `kid`, and `iat`/`exp`
    /// set from the system clock and `ttl` (overriding any in `claims`).
    pub fn mint(
        &self,
        claims: &Map<String, Value>,
        kid: &str,
        ttl: Duration,
    ) -> Result<String, DevKeyError> {
        self.mint_at(claims, kid, ttl, &SystemClock)
    }

    /// Like [`DevKey::mint`] with an explicit clock.
    pub fn mint_at(
        &self,
        claims: &Map<String, Value>,
        kid: &str,
        ttl: Duration,
        clock: &dyn Clock,
    ) -> Result<String, DevKeyError> {
        provider::install()?;
        let now = clock.now();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let mut claims = claims.clone();
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), now.saturating_add(ttl).into());
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .map_err(|_| DevKeyError::Sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{
        AUD, Arc, Fixed, ISS, JwksCache, ManualClock, NOW, Role, Verifier, VerifierConfig,
        bearer_ctx,
    };

    #[test]
    fn dev_key_is_created_once_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("dev");
        let (first, jwks) = ensure_dev_key(&dev).unwrap();
        let (second, _) = ensure_dev_key(&dev).unwrap();
        assert_eq!(first.kid(), second.kid());
        let published = std::fs::read_to_string(jwks).unwrap();
        assert!(published.contains(&first.kid()));
        assert!(
            !published.contains("\"d\""),
            "private half published: {published}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dev.join(DEV_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
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
}
