//! Cryptography for data at rest, all through `ring`: envelope encryption
//! (AES-256-GCM data keys wrapped by key-encryption keys with ids, so keys
//! rotate) and keyed blind indexes (HMAC-SHA256) for equality lookups.
//! Nothing here reads files or config; callers hand in key material.

pub mod blind_index;
pub mod envelope;
pub mod stream;
