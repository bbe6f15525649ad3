//! Envelope encryption: each applicant gets a random 256-bit data key; the
//! data key is stored only wrapped (AES-256-GCM) by a key-encryption key
//! (KEK) named by an id. Deleting the wrapped data key makes the data
//! unreadable for good (crypto-shredding, GDPR Art. 17). Rotating the KEK
//! means wrapping new data keys with the new KEK while old ids still unwrap.

use std::collections::BTreeMap;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of an AES-256 key.
pub const KEY_LEN: usize = 32;
/// Format byte of sealed values, so the layout can change later.
const FORMAT_V1: u8 = 1;

/// Encryption failures. Decryption failures say nothing about why, on purpose.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The system random generator failed.
    #[error("no randomness available")]
    Random,
    /// Key material of the wrong size or an unknown key id.
    #[error("key error: {0}")]
    Key(String),
    /// Authentication failed: wrong key, wrong context, or altered bytes.
    #[error("decryption failed")]
    Decrypt,
}

/// A secret key that never prints.
struct SecretKey {
    key: LessSafeKey,
}

impl SecretKey {
    fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CryptoError::Key(format!("an AES-256 key has {KEY_LEN} bytes")))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// `FORMAT_V1 ‖ nonce ‖ ciphertext ‖ tag`, with a random 96-bit nonce.
    /// Random nonces are safe here: each data key seals few values, far below
    /// the 2^32 messages NIST SP 800-38D §8.3 allows per key.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut body,
            )
            .map_err(|_| CryptoError::Decrypt)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (format, rest) = sealed.split_first().ok_or(CryptoError::Decrypt)?;
        if *format != FORMAT_V1 || rest.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut body)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

/// A data key in the clear, used for one applicant's fields and documents.
pub struct DataKey {
    key: SecretKey,
    raw: [u8; KEY_LEN],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut raw = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| CryptoError::Random)?;
        Ok(Self {
            key: SecretKey::new(&raw)?,
            raw,
        })
    }

    fn from_raw(raw: &[u8]) -> Result<Self, CryptoError> {
        let raw: [u8; KEY_LEN] = raw.try_into().map_err(|_| CryptoError::Decrypt)?;
        Ok(Self {
            key: SecretKey::new(&raw)?,
            raw,
        })
    }

    /// The raw key bytes, for streaming encryption of documents.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        &self.raw
    }

    /// Encrypts one value; `context` (e.g. `application:<id>:given_name`) is
    /// authenticated, so a value cannot be moved to another field or record.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        self.key.seal(plaintext, context.as_bytes())
    }

    /// Decrypts a value sealed with the same context.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        self.key.open(sealed, context.as_bytes())
    }
}

/// A data key as stored: the KEK id and the wrapped bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which key-encryption key wrapped it.
    pub kek_id: String,
    /// The sealed data key.
    pub wrapped: Vec<u8>,
}

/// The key-encryption keys: one active (wraps new data keys), older ones
/// kept to unwrap what they wrapped. In production the KEKs come from a KMS
/// or HSM behind this same interface.
pub struct Keyring {
    active: String,
    keys: BTreeMap<String, SecretKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Builds a keyring from `(id, 32-byte key)` pairs; `active` must be one of them.
    pub fn new(active: &str, keys: Vec<(String, Vec<u8>)>) -> Result<Self, CryptoError> {
        let mut map = BTreeMap::new();
        for (id, bytes) in keys {
            if id.is_empty()
                || id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(CryptoError::Key(format!("invalid key id `{id}`")));
            }
            map.insert(id, SecretKey::new(&bytes)?);
        }
        if !map.contains_key(active) {
            return Err(CryptoError::Key(format!(
                "active key `{active}` is not in the keyring"
            )));
        }
        Ok(Self {
            active: active.to_owned(),
            keys: map,
        })
    }

    /// The id new data keys are wrapped with.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Wraps a data key for `owner` (authenticated as context).
    pub fn wrap(&self, key: &DataKey, owner: &str) -> Result<WrappedKey, CryptoError> {
        let kek = self
            .keys
            .get(&self.active)
            .ok_or_else(|| CryptoError::Key("no active key".to_owned()))?;
        Ok(WrappedKey {
            kek_id: self.active.clone(),
            wrapped: kek.seal(&key.raw, &wrap_context(owner))?,
        })
    }

    /// Unwraps a stored data key of `owner` with the KEK it names.
    pub fn unwrap_key(&self, wrapped: &WrappedKey, owner: &str) -> Result<DataKey, CryptoError> {
        let kek = self
            .keys
            .get(&wrapped.kek_id)
            .ok_or_else(|| CryptoError::Key(format!("unknown key id `{}`", wrapped.kek_id)))?;
        DataKey::from_raw(&kek.open(&wrapped.wrapped, &wrap_context(owner))?)
    }
}

fn wrap_context(owner: &str) -> Vec<u8> {
    format!("kyc-gateway/dek/v1/{owner}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keyring(active: &str) -> Keyring {
        Keyring::new(
            active,
            vec![("k1".into(), vec![1; 32]), ("k2".into(), vec![2; 32])],
        )
        .unwrap()
    }

    #[test]
    fn values_are_bound_to_their_context_and_key() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"Anna Maria", "application:1:given_name").unwrap();
        assert_eq!(
            key.open(&sealed, "application:1:given_name").unwrap(),
            b"Anna Maria"
        );
        assert_eq!(
            key.open(&sealed, "application:2:given_name"),
            Err(CryptoError::Decrypt)
        );
        let other = DataKey::generate().unwrap();
        assert_eq!(
            other.open(&sealed, "application:1:given_name"),
            Err(CryptoError::Decrypt)
        );
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            key.open(&altered, "application:1:given_name"),
            Err(CryptoError::Decrypt)
        );
        assert!(!sealed.windows(4).any(|w| w == b"Anna"));
    }

    #[test]
    fn rotation_keeps_old_data_keys_readable() {
        let old = keyring("k1");
        let key = DataKey::generate().unwrap();
        let wrapped = old.wrap(&key, "app-1").unwrap();
        assert_eq!(wrapped.kek_id, "k1");
        let rotated = keyring("k2");
        let unwrapped = rotated.unwrap_key(&wrapped, "app-1").unwrap();
        assert_eq!(unwrapped.expose_bytes(), key.expose_bytes());
        assert_eq!(rotated.wrap(&key, "app-1").unwrap().kek_id, "k2");
        assert!(
            rotated.unwrap_key(&wrapped, "app-2").is_err(),
            "owner not bound"
        );
    }

    #[test]
    fn debug_never_prints_keys() {
        let key = DataKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
        let ring = keyring("k1");
        assert!(!format!("{ring:?}").contains("[1, 1"));
    }

    proptest! {
        #[test]
        fn round_trip(plain in proptest::collection::vec(any::<u8>(), 0..2048), ctx in "[a-z:0-9]{0,40}") {
            let key = DataKey::generate().unwrap();
            let sealed = key.seal(&plain, &ctx).unwrap();
            prop_assert_eq!(key.open(&sealed, &ctx).unwrap(), plain);
        }
    }
}
