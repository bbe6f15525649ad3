//! Keyed blind indexes: `HMAC-SHA256(key, purpose ‖ 0 ‖ normalized value)`.
//! They let the store find equal values (duplicate applicants) without
//! holding the values; unlike plain hashes they cannot be brute-forced
//! without the key.

use ring::hmac;

/// An HMAC key for blind indexes.
pub struct BlindIndexKey {
    key: hmac::Key,
}

impl std::fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndexKey(<redacted>)")
    }
}

impl BlindIndexKey {
    /// From at least 32 bytes of key material.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        (bytes.len() >= 32).then(|| Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        })
    }

    /// The index of `value` for `purpose` (e.g. `identity`), hex encoded.
    /// Callers normalize `value` first (case, Unicode form, whitespace).
    pub fn index(&self, purpose: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        ctx.sign()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_match_and_keys_separate() {
        let a = BlindIndexKey::new(&[1; 32]).unwrap();
        let b = BlindIndexKey::new(&[2; 32]).unwrap();
        assert_eq!(a.index("identity", "x"), a.index("identity", "x"));
        assert_ne!(a.index("identity", "x"), a.index("email", "x"));
        assert_ne!(a.index("identity", "x"), b.index("identity", "x"));
        assert!(BlindIndexKey::new(&[0; 16]).is_none());
    }
}
