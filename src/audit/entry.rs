//! Owns the audit entry (`AuditEvent`) and its canonical byte encoding, which is what the
//! Merkle tree commits to.
//!
//! Canonical form: JSON with object keys sorted by their UTF-8 bytes at every level, no
//! insignificant whitespace, `null` kept for absent optional fields (so the shape is fixed),
//! strings escaped as `serde_json` does (RFC 8259 §7, non-ASCII emitted raw). The key sort is
//! done here explicitly rather than relying on `serde_json::Map` being a `BTreeMap`, because a
//! dependency enabling serde_json's `preserve_order` feature would silently change that.

use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::Value;

/// The only entry format version this module writes and accepts.
pub const FORMAT_VERSION: u8 = 1;

/// Maximum size of one encoded entry in bytes (16 KiB).
pub const MAX_ENTRY_BYTES: usize = 16 * 1024;

/// Errors from decoding or validating an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The encoded entry exceeds [`MAX_ENTRY_BYTES`].
    #[error("entry is {0} bytes, over the 16 KiB limit")]
    TooLarge(usize),
    /// The bytes are not valid JSON for an `AuditEvent` (includes unknown fields).
    #[error("invalid entry JSON: {0}")]
    Json(String),
    /// The bytes parse but are not the canonical encoding of what they contain.
    #[error("entry bytes are not canonical")]
    NotCanonical,
    /// The format version is not [`FORMAT_VERSION`].
    #[error("unsupported entry version {0}")]
    Version(u8),
    /// A field has a value outside its allowed set or syntax.
    #[error("invalid field {0}")]
    InvalidField(&'static str),
}

/// Who performed the action (pseudonymous identifiers only: no PII in the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// Actor category, e.g. `"user"`, `"service"`, `"operator"`.
    pub kind: String,
    /// Pseudonymous actor identifier.
    pub id: String,
    /// How the actor authenticated, e.g. `"oidc"`, `"mtls"`.
    pub auth_method: String,
    /// OAuth client the actor came through, if any.
    pub client_id: Option<String>,
}

/// Where the event was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// Service instance that recorded the event.
    pub instance: String,
    /// Source IP address of the request, if known.
    pub source_ip: Option<String>,
}

/// The result of the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// One of `"success"`, `"failure"`, `"denied"`.
    pub result: String,
    /// Machine-readable reason code for failures and denials.
    pub reason_code: Option<String>,
}

/// The object acted upon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Object category, e.g. `"kyc_case"`.
    pub kind: String,
    /// Object identifier.
    pub id: String,
    /// State before the action, if it changed state.
    pub state_before: Option<String>,
    /// State after the action, if it changed state.
    pub state_after: Option<String>,
}

/// One immutable audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Format version; must be [`FORMAT_VERSION`].
    pub v: u8,
    /// Identifier of the log this entry belongs to.
    pub log_id: String,
    /// UUIDv7 in canonical lowercase hyphenated form (RFC 9562 §5.7).
    pub event_id: String,
    /// Event time, UTC microseconds since the Unix epoch.
    pub time_us: i64,
    /// Who acted.
    pub actor: Actor,
    /// Where it was recorded.
    pub origin: Origin,
    /// What was done, e.g. `"kyc.case.approve"`.
    pub action: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What it was done to.
    pub target: Option<Target>,
    /// Request identifier for correlation.
    pub request_id: Option<String>,
    /// Distributed-trace identifier (W3C Trace Context).
    pub trace_id: Option<String>,
    /// Version of the policy that authorised the action.
    pub policy_version: Option<String>,
    /// Lowercase hex SHA-256 of the affected record, if any.
    pub record_digest: Option<String>,
}

impl AuditEvent {
    /// The canonical encoding (sorted keys, no whitespace, nulls kept).
    ///
    /// Written field by field in sorted key order (the same bytes as sorting
    /// a generic JSON object, which the tests check against), because this is
    /// on the hot path of both the sequencer and offline verification.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(640);
        let w = &mut out;
        w.extend_from_slice(b"{\"action\":");
        put_str(w, &self.action);
        w.extend_from_slice(b",\"actor\":{\"auth_method\":");
        put_str(w, &self.actor.auth_method);
        w.extend_from_slice(b",\"client_id\":");
        put_opt(w, self.actor.client_id.as_deref());
        w.extend_from_slice(b",\"id\":");
        put_str(w, &self.actor.id);
        w.extend_from_slice(b",\"kind\":");
        put_str(w, &self.actor.kind);
        w.extend_from_slice(b"},\"event_id\":");
        put_str(w, &self.event_id);
        w.extend_from_slice(b",\"log_id\":");
        put_str(w, &self.log_id);
        w.extend_from_slice(b",\"origin\":{\"instance\":");
        put_str(w, &self.origin.instance);
        w.extend_from_slice(b",\"source_ip\":");
        put_opt(w, self.origin.source_ip.as_deref());
        w.extend_from_slice(b"},\"outcome\":{\"reason_code\":");
        put_opt(w, self.outcome.reason_code.as_deref());
        w.extend_from_slice(b",\"result\":");
        put_str(w, &self.outcome.result);
        w.extend_from_slice(b"},\"policy_version\":");
        put_opt(w, self.policy_version.as_deref());
        w.extend_from_slice(b",\"record_digest\":");
        put_opt(w, self.record_digest.as_deref());
        w.extend_from_slice(b",\"request_id\":");
        put_opt(w, self.request_id.as_deref());
        w.extend_from_slice(b",\"target\":");
        match &self.target {
            None => w.extend_from_slice(b"null"),
            Some(t) => {
                w.extend_from_slice(b"{\"id\":");
                put_str(w, &t.id);
                w.extend_from_slice(b",\"kind\":");
                put_str(w, &t.kind);
                w.extend_from_slice(b",\"state_after\":");
                put_opt(w, t.state_after.as_deref());
                w.extend_from_slice(b",\"state_before\":");
                put_opt(w, t.state_before.as_deref());
                w.push(b'}');
            }
        }
        w.extend_from_slice(b",\"time_us\":");
        w.extend_from_slice(self.time_us.to_string().as_bytes());
        w.extend_from_slice(b",\"trace_id\":");
        put_opt(w, self.trace_id.as_deref());
        w.extend_from_slice(b",\"v\":");
        w.extend_from_slice(self.v.to_string().as_bytes());
        w.push(b'}');
        out
    }

    /// The generic canonical form (serialize, sort keys at every level): the
    /// reference `encode` must match.
    #[cfg(test)]
    fn encode_via_value(&self) -> Vec<u8> {
        let v = serde_json::to_value(self).unwrap_or(Value::Null);
        let mut out = Vec::new();
        write_canonical(&v, &mut out);
        out
    }

    /// Encodes and validates: the result is guaranteed to round-trip through [`decode`].
    ///
    /// [`decode`]: AuditEvent::decode
    pub fn try_encode(&self) -> Result<Vec<u8>, EntryError> {
        self.validate()?;
        let out = self.encode();
        if out.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(out.len()));
        }
        if out.is_empty() {
            return Err(EntryError::Json("serialization failed".into()));
        }
        Ok(out)
    }

    /// Decodes entry bytes, requiring that they are exactly the canonical encoding, within the
    /// size bound, of version 1, and that constrained fields are well-formed.
    pub fn decode(bytes: &[u8]) -> Result<AuditEvent, EntryError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        let ev: AuditEvent =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Json(e.to_string()))?;
        ev.validate()?;
        if ev.encode() != bytes {
            return Err(EntryError::NotCanonical);
        }
        Ok(ev)
    }

    /// The event id as a 128-bit integer (it is validated as a UUIDv7 by `decode`).
    pub fn event_id_u128(&self) -> Option<u128> {
        parse_uuid_v7(&self.event_id)
    }

    /// The event id as a `uuid::Uuid`.
    pub fn event_uuid(&self) -> Option<uuid::Uuid> {
        self.event_id_u128().map(uuid::Uuid::from_u128)
    }

    fn validate(&self) -> Result<(), EntryError> {
        if self.v != FORMAT_VERSION {
            return Err(EntryError::Version(self.v));
        }
        if parse_uuid_v7(&self.event_id).is_none() {
            return Err(EntryError::InvalidField("event_id"));
        }
        if !matches!(
            self.outcome.result.as_str(),
            "success" | "failure" | "denied"
        ) {
            return Err(EntryError::InvalidField("outcome.result"));
        }
        if let Some(d) = &self.record_digest {
            let ok = d.len() == 64 && d.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
            if !ok {
                return Err(EntryError::InvalidField("record_digest"));
            }
        }
        Ok(())
    }
}

/// Parses a canonical lowercase hyphenated UUID and requires version 7 and the RFC 9562
/// variant (RFC 9562 §4.1, §4.2, §5.7).
pub fn parse_uuid_v7(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | u128::from(d);
    }
    let version = (v >> 76) & 0xf;
    let variant = (v >> 62) & 0b11;
    (version == 7 && variant == 0b10).then_some(v)
}

// Writes `v` with object keys sorted bytewise at every level and no whitespace.
/// A JSON string, escaped as serde_json escapes it (JCS-compatible for the
/// characters entries hold).
fn put_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(k.clone()), out);
                out.push(b':');
                write_canonical(val, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

#[cfg(test)]
fn write_scalar(v: &Value, out: &mut Vec<u8>) {
    // Writing a scalar Value into a Vec cannot fail (no I/O, no non-string map keys).
    let _ = serde_json::to_writer(&mut *out, v);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic valid event for tests elsewhere in the crate.
    pub(crate) fn sample(i: u64) -> AuditEvent {
        // Version 7 nibble and variant bits set; counter in the random part.
        let id = format!(
            "0190a1b2-c3d4-7{:03x}-8{:03x}-{:012x}",
            (i >> 12) & 0xfff,
            i & 0xfff,
            i
        );
        AuditEvent {
            v: 1,
            log_id: "kyc-gateway/test".into(),
            event_id: id,
            time_us: 1_720_000_000_000_000 + i as i64,
            actor: Actor {
                kind: "user".into(),
                id: format!("u-{}", i % 97),
                auth_method: "oidc".into(),
                client_id: None,
            },
            origin: Origin {
                instance: "gw-1".into(),
                source_ip: Some("203.0.113.7".into()),
            },
            action: "kyc.case.review".into(),
            outcome: Outcome {
                result: "success".into(),
                reason_code: None,
            },
            target: Some(Target {
                kind: "kyc_case".into(),
                id: format!("case-{i}"),
                state_before: Some("pending".into()),
                state_after: Some("approved".into()),
            }),
            request_id: None,
            trace_id: None,
            policy_version: Some("p-3".into()),
            record_digest: None,
        }
    }

    #[test]
    fn canonical_shape() {
        let e = sample(1);
        let bytes = e.encode();
        let s = String::from_utf8(bytes.clone()).unwrap();
        assert!(s.starts_with("{\"action\":\"kyc.case.review\",\"actor\":{\"auth_method\":"));
        assert!(s.contains("\"client_id\":null"));
        assert!(!s.contains(' ') || s.contains("203"));
        assert!(!s.contains(": "));
        assert_eq!(AuditEvent::decode(&bytes).unwrap(), e);
        assert_eq!(e.try_encode().unwrap(), bytes);
    }

    #[test]
    fn rejects_non_canonical_and_invalid() {
        let e = sample(2);
        let s = String::from_utf8(e.encode()).unwrap();
        // Whitespace.
        let spaced = s.replacen(",", ", ", 1);
        assert_eq!(
            AuditEvent::decode(spaced.as_bytes()),
            Err(EntryError::NotCanonical)
        );
        // Missing null field.
        let missing = s.replace("\"client_id\":null,", "");
        assert_eq!(
            AuditEvent::decode(missing.as_bytes()),
            Err(EntryError::NotCanonical)
        );
        // Unknown field.
        let unknown = s.replacen("{", "{\"zz\":1,", 1);
        assert!(matches!(
            AuditEvent::decode(unknown.as_bytes()),
            Err(EntryError::Json(_))
        ));
        // Escaped form of a plain character.
        let escaped = s.replace("kyc.case.review", "kyc.case.revi\\u0065w");
        assert_eq!(
            AuditEvent::decode(escaped.as_bytes()),
            Err(EntryError::NotCanonical)
        );
        // Version.
        let mut v2 = e.clone();
        v2.v = 2;
        assert_eq!(
            AuditEvent::decode(&v2.encode()),
            Err(EntryError::Version(2))
        );
        // Bad outcome / uuid.
        let mut bad = e.clone();
        bad.outcome.result = "ok".into();
        assert!(AuditEvent::decode(&bad.encode()).is_err());
        let mut bad = e.clone();
        bad.event_id = bad.event_id.to_uppercase();
        assert!(AuditEvent::decode(&bad.encode()).is_err());
        // Too large.
        let mut big = e;
        big.action = "x".repeat(MAX_ENTRY_BYTES);
        assert!(matches!(
            AuditEvent::decode(&big.encode()),
            Err(EntryError::TooLarge(_))
        ));
        assert!(big.try_encode().is_err());
    }

    #[test]
    fn unicode_round_trip() {
        let mut e = sample(3);
        e.actor.id = "Zoë \"q\" \\ \u{1}".into();
        let b = e.encode();
        assert_eq!(AuditEvent::decode(&b).unwrap(), e);
    }
}

#[cfg(test)]
mod encoder_tests {
    use super::*;
    use proptest::prelude::*;

    fn opt() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("\\PC{0,12}")
    }

    proptest! {
        #[test]
        fn direct_encoding_equals_the_generic_canonical_form(
            action in "\\PC{0,20}", id in "\\PC{0,20}", kind in "[a-z_]{1,10}",
            client in opt(), ip in opt(), reason in opt(), policy in opt(), digest in opt(),
            request in opt(), trace in opt(), time in any::<i64>(), with_target in any::<bool>(),
            before in opt(), after in opt(),
        ) {
            let e = AuditEvent {
                v: FORMAT_VERSION,
                log_id: "log\"\\\u{1}".into(),
                event_id: "0190f5a2-0000-7000-8000-000000000000".into(),
                time_us: time,
                actor: Actor { kind: kind.clone(), id: id.clone(), auth_method: "bearer".into(), client_id: client },
                origin: Origin { instance: "gw".into(), source_ip: ip },
                action,
                outcome: Outcome { result: "success".into(), reason_code: reason },
                target: with_target.then_some(Target { kind, id, state_before: before, state_after: after }),
                request_id: request,
                trace_id: trace,
                policy_version: policy,
                record_digest: digest,
            };
            prop_assert_eq!(e.encode(), e.encode_via_value());
        }
    }
}
