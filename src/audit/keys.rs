//! Keys of the audit log: the Ed25519 checkpoint signing key and the HMAC
//! key that turns identifiers into pseudonymous ids. Loaded from files in
//! production; generated once under the data directory in the dev profile.

use std::path::Path;

use base64::Engine as _;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::checkpoint::CheckpointSigner;
use crate::tls::write_file;

/// Problems with audit keys; messages name the file or the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file is missing, unreadable or unwritable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The contents are not a usable key.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn file_error(path: &Path, reason: impl ToString) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads a key file that is either raw DER/bytes or PEM (`-----BEGIN …`).
fn read_key_file(path: &Path) -> Result<Vec<u8>, KeyError> {
    let raw = std::fs::read(path).map_err(|e| file_error(path, e))?;
    if raw.starts_with(b"-----BEGIN") {
        let text = String::from_utf8_lossy(&raw);
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        return base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| KeyError::Invalid {
                path: path.display().to_string(),
                reason: format!("bad PEM: {e}"),
            });
    }
    Ok(raw)
}

/// Loads the checkpoint signing key (PKCS#8 Ed25519, DER or PEM).
pub fn load_signer(origin: &str, path: &Path) -> Result<CheckpointSigner, KeyError> {
    let der = read_key_file(path)?;
    CheckpointSigner::from_pkcs8(origin, &der).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        reason: format!("not a PKCS#8 Ed25519 key: {e}"),
    })
}

/// Dev profile: loads the signing key under `dir`, generating it on first run.
pub fn dev_signer(origin: &str, dir: &Path) -> Result<CheckpointSigner, KeyError> {
    let path = dir.join("audit-signing-key.p8");
    if path.is_file() {
        return load_signer(origin, &path);
    }
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let (signer, pkcs8) = CheckpointSigner::generate(origin).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_file(&path, &pkcs8, true).map_err(|e| file_error(&path, e))?;
    Ok(signer)
}

/// Keyed pseudonyms (HMAC-SHA256): the same identifier always maps to the
/// same id, which cannot be reversed or recomputed without the key. The
/// audit log stores only these, so it stays verifiable after erasure of the
/// underlying personal data (GDPR Art. 17 with Art. 5(1)(e)).
pub struct Pseudonymizer {
    key: hmac::Key,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(<redacted>)")
    }
}

/// Shortest accepted pseudonym key.
const MIN_KEY_BYTES: usize = 32;

impl Pseudonymizer {
    /// Builds from raw key bytes (at least 32).
    pub fn from_bytes(key: &[u8], path: &Path) -> Result<Self, KeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::Invalid {
                path: path.display().to_string(),
                reason: format!("a pseudonym key needs at least {MIN_KEY_BYTES} random bytes"),
            });
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        })
    }

    /// Loads the key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        Self::from_bytes(&read_key_file(path)?, path)
    }

    /// Dev profile: loads the key under `dir`, generating it on first run.
    pub fn dev(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join("audit-pseudonym.key");
        if path.is_file() {
            return Self::load(&path);
        }
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| file_error(&path, "no randomness"))?;
        write_file(&path, &key, true).map_err(|e| file_error(&path, e))?;
        Self::from_bytes(&key, &path)
    }

    /// The pseudonymous id of `value` in namespace `kind` (e.g. `subject`):
    /// `ps_` + 32 hex characters (128 bits of the HMAC).
    pub fn id(&self, kind: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(kind.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        let tag = ctx.sign();
        let hex: String = tag
            .as_ref()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("ps_{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_namespaced() {
        let dir = tempfile::tempdir().unwrap();
        let a = Pseudonymizer::dev(dir.path()).unwrap();
        let again = Pseudonymizer::dev(dir.path()).unwrap();
        assert_eq!(a.id("subject", "alice"), again.id("subject", "alice"));
        assert_ne!(a.id("subject", "alice"), a.id("application", "alice"));
        let other = Pseudonymizer::from_bytes(&[7u8; 32], Path::new("k")).unwrap();
        assert_ne!(a.id("subject", "alice"), other.id("subject", "alice"));
        assert!(!a.id("subject", "alice").contains("alice"));
        assert!(Pseudonymizer::from_bytes(&[1u8; 8], Path::new("k")).is_err());
    }

    #[test]
    fn dev_signing_key_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dev_signer("kyc/test", dir.path()).unwrap();
        let b = dev_signer("kyc/test", dir.path()).unwrap();
        assert_eq!(a.vkey(), b.vkey());
    }
}
