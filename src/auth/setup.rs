//! Builds the [`Verifier`] from settings: picks the JWKS source (configured file or
//! URL, or the generated dev key in the dev profile) and enforces that production never
//! trusts the dev signing key.

use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
#[cfg(test)]
use super::dev::DevKey;
use super::dev::{self, DevKeyError};
use super::error::{JwksError, ProviderError};
use super::jwks::{Jwks, JwksCache, JwksCacheConfig, JwksSource};
use super::verifier::{Verifier, VerifierConfig};
use crate::config::{Profile, Settings};

/// Why token verification cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The JWKS source is unusable.
    #[error("auth.jwks: {0}")]
    Jwks(#[from] JwksError),
    /// The dev signing key could not be created or read.
    #[error(transparent)]
    DevKey(#[from] DevKeyError),
    /// Another `jsonwebtoken` crypto provider is installed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Production was pointed at the dev signing key.
    #[error("auth.jwks_path: {0}")]
    DevKeyTrusted(String),
}

/// Builds the verifier for `settings`, reading time from `clock`.
pub fn build_verifier(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<Arc<Verifier>, AuthSetupError> {
    let auth = &settings.auth;
    let dev_dir = settings.dev_dir();
    let source = match (&auth.jwks_path, &auth.jwks_url) {
        (Some(path), _) => JwksSource::File(path.clone()),
        (None, Some(url)) => JwksSource::Url(url.clone()),
        (None, None) => {
            // `Settings::validate` guarantees this is the dev profile.
            let (key, jwks) = dev::ensure_dev_key(&dev_dir)?;
            tracing::info!(
                jwks = %jwks.display(),
                kid = %key.kid(),
                "trusting the generated dev signing key; mint tokens with `kyc-gateway dev token`"
            );
            JwksSource::File(jwks)
        }
    };
    let mut config = VerifierConfig::new(auth.effective_issuer(), auth.effective_audience());
    config.roles_claim = auth.roles_claim.clone();
    if settings.profile == Profile::Production {
        refuse_dev_key(settings, &source, &mut config)?;
    }
    let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let cache = JwksCache::new(
        JwksCacheConfig {
            refresh_interval_secs: secs(auth.jwks_refresh_interval_secs),
            min_refetch_interval_secs: secs(auth.jwks_min_refetch_interval_secs),
            allow_insecure_http: auth.jwks_allow_http && settings.profile == Profile::Dev,
            fetch_timeout: Duration::from_secs(5),
            ..JwksCacheConfig::new(source)
        },
        Arc::clone(&clock),
    )?;
    Ok(Arc::new(Verifier::new(config, Arc::new(cache), clock)?))
}

/// Production: a JWKS under the dev directory, or holding the dev key's `kid`, is
/// refused at start-up; the dev `kid` is also denied per token, for URL sources whose
/// content can change later.
fn refuse_dev_key(
    settings: &Settings,
    source: &JwksSource,
    config: &mut VerifierConfig,
) -> Result<(), AuthSetupError> {
    let dev_dir = settings.dev_dir();
    if let JwksSource::File(path) = source
        && let (Ok(file), Ok(dev)) = (path.canonicalize(), dev_dir.canonicalize())
        && file.starts_with(dev)
    {
        return Err(AuthSetupError::DevKeyTrusted(format!(
            "{} is in the dev directory; production never trusts the dev signing key",
            path.display()
        )));
    }
    let Some(dev_key) = dev::load_dev_key(&dev_dir)? else {
        return Ok(());
    };
    let dev_kid = dev_key.kid();
    if let JwksSource::File(path) = source {
        let doc = std::fs::read(path).map_err(|e| JwksError::Io(e.kind().to_string()))?;
        let jwks = Jwks::parse(&doc)?;
        if jwks.kids().any(|kid| kid == dev_kid) {
            return Err(AuthSetupError::DevKeyTrusted(format!(
                "{} contains the dev signing key (kid {dev_kid}); production never trusts it",
                path.display()
            )));
        }
    }
    config.denied_kids.push(dev_kid);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::clock::SystemClock;
    use crate::config::AuthSettings;

    fn production(data_dir: &std::path::Path, jwks: std::path::PathBuf) -> Settings {
        Settings {
            profile: Profile::Production,
            data_dir: data_dir.to_owned(),
            auth: AuthSettings {
                issuer: Some("https://idp.bank.example".to_owned()),
                audience: Some("kyc-gateway".to_owned()),
                jwks_path: Some(jwks),
                ..AuthSettings::default()
            },
            ..Settings::default()
        }
    }

    #[test]
    fn production_refuses_a_jwks_holding_the_dev_key() {
        crate::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let (dev_key, dev_jwks) = dev::ensure_dev_key(&dir.path().join("dev")).unwrap();
        // A copy outside the dev directory is still the dev key.
        let copy = dir.path().join("idp-jwks.json");
        std::fs::copy(&dev_jwks, &copy).unwrap();
        let err = build_verifier(&production(dir.path(), copy), Arc::new(SystemClock))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dev signing key"), "{err}");
        // Pointing into the dev directory (e.g. through a symlink) is refused too.
        let err = build_verifier(&production(dir.path(), dev_jwks), Arc::new(SystemClock))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dev directory"), "{err}");

        // The bank's own JWKS is fine, and the dev kid is denied per token anyway.
        let idp = DevKey::generate().unwrap();
        let idp_jwks = dir.path().join("bank-jwks.json");
        std::fs::write(&idp_jwks, idp.jwks_json()).unwrap();
        let verifier =
            build_verifier(&production(dir.path(), idp_jwks), Arc::new(SystemClock)).unwrap();
        assert_eq!(verifier.config().denied_kids, vec![dev_key.kid()]);
    }
}
