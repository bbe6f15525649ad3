//! DPoP proof validation at the resource server (RFC 9449 §4.3, §7.1) and a bounded,
//! expiring `jti` replay cache (RFC 9449 §11.1).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::claims::{numeric_date, opt_string};
use super::error::AuthError;
use super::jwks::{PRIVATE_MEMBERS, VerificationKey};
use super::verifier::{RequestContext, header_alg, parse_compact_header, verify_signature};

/// DPoP proof settings.
#[derive(Debug, Clone)]
pub struct DpopConfig {
    /// Accepted distance of the proof's `iat` from now, either direction (seconds).
    pub iat_window_secs: i64,
    /// Maximum proof length in bytes.
    pub max_proof_bytes: usize,
    /// Maximum number of remembered `jti`s; when full of unexpired entries new proofs
    /// are refused (fail closed) rather than forgetting entries that could be replayed.
    pub replay_capacity: usize,
    /// Maximum `jti` length.
    pub max_jti_len: usize,
}

impl Default for DpopConfig {
    /// ±60 s, 8 KiB, 100 000 entries, 256-byte `jti`.
    fn default() -> Self {
        Self {
            iat_window_secs: 60,
            max_proof_bytes: 8 * 1024,
            replay_capacity: 100_000,
            max_jti_len: 256,
        }
    }
}

type ReplayKey = [u8; 32];

#[derive(Debug, Default)]
struct ReplayInner {
    seen: HashMap<ReplayKey, i64>,
    /// Insertion order; expiries are non-decreasing along it for a monotonic clock.
    order: VecDeque<(ReplayKey, i64)>,
}

/// Remembers DPoP proof `jti`s until they can no longer pass the `iat` window, shared
/// across requests (RFC 9449 §11.1). Bounded in size.
#[derive(Debug)]
pub struct ReplayCache {
    inner: Mutex<ReplayInner>,
    capacity: usize,
}

impl ReplayCache {
    /// A cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(ReplayInner::default()),
            capacity: capacity.max(1),
        }
    }

    /// Number of remembered entries (including not yet purged expired ones).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `(jkt, jti)` until `expires_at`; fails if it was already seen.
    pub fn check_and_insert(
        &self,
        jkt: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), AuthError> {
        // Key on the proof key and jti (RFC 9449 §11.1), hashed to bound memory.
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(jkt.as_bytes());
        ctx.update(&[0]);
        ctx.update(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());

        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((k, exp)) = inner.order.front().copied() {
            if exp > now {
                break;
            }
            inner.order.pop_front();
            if inner.seen.get(&k) == Some(&exp) {
                inner.seen.remove(&k);
            }
        }
        if let Some(exp) = inner.seen.get(&key)
            && *exp > now
        {
            return Err(AuthError::InvalidDpopProof("dpop proof replayed"));
        }
        if inner.seen.len() >= self.capacity {
            return Err(AuthError::Unavailable("dpop replay cache full"));
        }
        inner.seen.insert(key, expires_at);
        inner.order.push_back((key, expires_at));
        Ok(())
    }
}

/// RFC 9449 §4.3 step 9 / RFC 3986 §6.2.2–6.2.3: syntax- and scheme-based
/// normalisation (case of scheme and host, default port, empty path, dot segments),
/// with query and fragment removed.
pub(crate) fn normalize_htu(raw: &str) -> Option<String> {
    let mut url = url::Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// Validates a DPoP proof for an access token bound to `expected_jkt`
/// (RFC 9449 §4.3 checks 1–12, §7.1). Returns the proof key's thumbprint.
pub(crate) fn verify_proof(
    proof: &str,
    ctx: &RequestContext,
    access_token: &str,
    expected_jkt: &str,
    cfg: &DpopConfig,
    replay: &ReplayCache,
    now: i64,
) -> Result<String, AuthError> {
    let bad = AuthError::InvalidDpopProof;
    // §4.3 (2): a well-formed JWT.
    let header = parse_compact_header(proof, cfg.max_proof_bytes).map_err(bad)?;
    // §4.3 (4): typ is dpop+jwt.
    match header.get("typ").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("dpop+jwt") => {}
        _ => return Err(bad("typ is not dpop+jwt")),
    }
    // §4.3 (5): asymmetric, allowed algorithm (FAPI 2.0 §5.4.1).
    let alg = header_alg(&header).map_err(bad)?;
    // §4.3 (6): jwk is a public key (no private members).
    let jwk = header.get("jwk").ok_or(bad("jwk missing"))?;
    let jwk_obj = jwk.as_object().ok_or(bad("jwk malformed"))?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk_obj.contains_key(*m)) {
        return Err(bad("jwk contains private key"));
    }
    let key = match VerificationKey::from_jwk(jwk) {
        Ok(Some(k)) => k,
        Ok(None) => return Err(bad("jwk type not supported")),
        Err(_) => return Err(bad("jwk malformed")),
    };
    // §4.3 (7): signature verifies with the jwk.
    let claims = verify_signature(proof, &key, alg).map_err(bad)?;

    // §4.3 (3), (8)-(12): required claims.
    let jti = opt_string(&claims, "jti", "jti is not a string")
        .map_err(|_| bad("jti malformed"))?
        .ok_or(bad("jti missing"))?;
    if jti.is_empty() || jti.len() > cfg.max_jti_len {
        return Err(bad("jti malformed"));
    }
    // §4.3 (8): htm matches the method (case-sensitive, RFC 9110 §9.1).
    let htm = opt_string(&claims, "htm", "htm malformed")
        .map_err(|_| bad("htm malformed"))?
        .ok_or(bad("htm missing"))?;
    if htm != ctx.method {
        return Err(bad("htm mismatch"));
    }
    // §4.3 (9): htu matches the request URL, ignoring query and fragment.
    let htu = opt_string(&claims, "htu", "htu malformed")
        .map_err(|_| bad("htu malformed"))?
        .ok_or(bad("htu missing"))?;
    match (normalize_htu(&htu), normalize_htu(&ctx.htu)) {
        (Some(a), Some(b)) if a == b => {}
        _ => return Err(bad("htu mismatch")),
    }
    // §4.3 (11): iat within the acceptable window.
    let iat = numeric_date(&claims, "iat", "iat malformed")
        .map_err(|_| bad("iat malformed"))?
        .ok_or(bad("iat missing"))?;
    if (iat - now).abs() > cfg.iat_window_secs {
        return Err(bad("iat outside window"));
    }
    // §4.3 (12) / §7.1: ath is base64url(SHA-256(access token)).
    let ath = opt_string(&claims, "ath", "ath malformed")
        .map_err(|_| bad("ath malformed"))?
        .ok_or(bad("ath missing"))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    if URL_SAFE_NO_PAD.encode(digest.as_ref()) != ath {
        return Err(bad("ath mismatch"));
    }
    // §6.1 / §7.1: the proof key is the one the token is bound to (RFC 7638 thumbprint).
    let jkt = key.thumbprint();
    if jkt != expected_jkt {
        return Err(bad("jkt mismatch"));
    }
    // §11.1: reject replays; remember until the proof can no longer pass the window.
    replay.check_and_insert(&jkt, &jti, now + 2 * cfg.iat_window_secs, now)?;
    Ok(jkt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalisation() {
        assert_eq!(
            normalize_htu("HTTPS://API.Example.COM:443/a/./b?x=1#f"),
            normalize_htu("https://api.example.com/a/b")
        );
        assert_ne!(
            normalize_htu("https://api.example.com/a/B"),
            normalize_htu("https://api.example.com/a/b")
        );
        assert_eq!(normalize_htu("ftp://x/y"), None);
    }

    #[test]
    fn replay_cache_expires_and_bounds() {
        let c = ReplayCache::new(2);
        c.check_and_insert("k", "a", 100, 0).unwrap();
        assert!(c.check_and_insert("k", "a", 100, 1).is_err());
        c.check_and_insert("k", "b", 100, 1).unwrap();
        assert_eq!(
            c.check_and_insert("k", "c", 100, 2),
            Err(AuthError::Unavailable("dpop replay cache full"))
        );
        // After expiry, entries are purged and space is available again.
        c.check_and_insert("k", "c", 300, 100).unwrap();
        assert_eq!(c.len(), 1);
    }
}
