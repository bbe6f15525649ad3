//! Owns log checkpoints: the C2SP tlog-checkpoint body inside a C2SP signed-note, signed and
//! verified with Ed25519 (`ring`), plus verifier-key ("vkey") strings.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::merkle::Hash;

/// Maximum accepted size of a signed note (1 MiB).
pub const MAX_NOTE_BYTES: usize = 1024 * 1024;

/// Maximum number of signature lines examined in one note (the Go `note` package uses 100).
pub const MAX_SIGNATURES: usize = 100;

/// C2SP signed-note: signature lines start with an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// C2SP signed-note: the signature-type byte for Ed25519.
const ALG_ED25519: u8 = 0x01;

/// Errors from building, parsing or verifying checkpoints and keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note exceeds [`MAX_NOTE_BYTES`].
    #[error("note too large")]
    TooLarge,
    /// The note is not well-formed signed-note text.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The checkpoint body is not well-formed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A signature line is malformed.
    #[error("malformed signature line")]
    MalformedSignature,
    /// A signature by a known key did not verify.
    #[error("invalid signature by key {0}")]
    BadSignature(String),
    /// No signature by any known key was present.
    #[error("no signature by a known key")]
    NoKnownSignature,
    /// A key name, key string or key material is invalid.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// Random generation or key generation failed.
    #[error("key generation failed")]
    KeyGeneration,
}

/// A parsed checkpoint (C2SP tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log origin line, unique per log.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash (RFC 6962 MTH) at `size`.
    pub root: Hash,
}

/// C2SP signed-note: a key name is non-empty UTF-8 with no Unicode whitespace and no `+`.
fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// C2SP signed-note: key id = first 4 bytes of SHA-256(name || 0x0A || type || public key).
fn key_id(name: &str, public_key: &[u8]) -> u32 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ALG_ED25519]);
    ctx.update(public_key);
    let d = ctx.finish();
    let mut id = [0u8; 4];
    if let Some(first) = d.as_ref().get(..4) {
        id.copy_from_slice(first);
    }
    u32::from_be_bytes(id)
}

fn vkey_string(name: &str, id: u32, public_key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(ALG_ED25519);
    raw.extend_from_slice(public_key);
    format!("{name}+{id:08x}+{}", STANDARD.encode(raw))
}

/// Signs checkpoints with an Ed25519 key under a C2SP key name.
pub struct CheckpointSigner {
    name: String,
    key_pair: Ed25519KeyPair,
    id: u32,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("CheckpointSigner")
            .field("vkey", &self.vkey())
            .finish()
    }
}

impl CheckpointSigner {
    /// Loads a signer from a PKCS#8 DER Ed25519 private key (v2 as produced by `ring`, or v1).
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<Self, CheckpointError> {
        if !valid_key_name(name) {
            return Err(CheckpointError::InvalidKey("key name"));
        }
        let key_pair = Ed25519KeyPair::from_pkcs8(der)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
            .map_err(|_| CheckpointError::InvalidKey("pkcs8"))?;
        let id = key_id(name, key_pair.public_key().as_ref());
        Ok(Self {
            name: name.to_owned(),
            key_pair,
            id,
        })
    }

    /// Generates a fresh key; returns the signer and its PKCS#8 DER so a dev profile can
    /// persist it (treat the bytes as a secret).
    pub fn generate(name: &str) -> Result<(Self, Vec<u8>), CheckpointError> {
        let rng = SystemRandom::new();
        let doc =
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CheckpointError::KeyGeneration)?;
        let der = doc.as_ref().to_vec();
        let signer = Self::from_pkcs8(name, &der)?;
        Ok((signer, der))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key string `<name>+<key id hex>+<base64(0x01 || pubkey)>`.
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, self.id, self.key_pair.public_key().as_ref())
    }

    /// A verifier for this signer's key.
    pub fn verifier(&self) -> Verifier {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.key_pair.public_key().as_ref());
        Verifier {
            name: self.name.clone(),
            id: self.id,
            public_key: pk,
        }
    }

    /// Signs a checkpoint and returns the full signed-note text (body, blank line, one
    /// signature line). Fails only if `origin` is not a valid single non-empty line.
    pub fn sign(&self, origin: &str, size: u64, root: &Hash) -> Result<String, CheckpointError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::MalformedCheckpoint("origin"));
        }
        // C2SP tlog-checkpoint: origin, decimal size, base64 root, each newline-terminated.
        let body = format!("{origin}\n{size}\n{}\n", STANDARD.encode(root));
        let sig = self.key_pair.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(sig.as_ref());
        Ok(format!(
            "{body}\n{SIG_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

/// A trusted Ed25519 checkpoint verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: u32,
    public_key: [u8; 32],
}

impl Verifier {
    /// Parses a vkey `<name>+<8 hex key id>+<base64(0x01 || 32-byte pubkey)>`, checking that the
    /// key id matches the name and key (C2SP signed-note).
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        // The name has no '+' and the id is hex, so the first two '+' are the separators; the
        // base64 key itself may contain '+'.
        let mut parts = vkey.splitn(3, '+');
        let name = parts.next().ok_or(CheckpointError::InvalidKey("vkey"))?;
        let id_hex = parts.next().ok_or(CheckpointError::InvalidKey("vkey"))?;
        let key_b64 = parts.next().ok_or(CheckpointError::InvalidKey("vkey"))?;
        if !valid_key_name(name) {
            return Err(CheckpointError::InvalidKey("key name"));
        }
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(CheckpointError::InvalidKey("key id"));
        }
        let id =
            u32::from_str_radix(id_hex, 16).map_err(|_| CheckpointError::InvalidKey("key id"))?;
        let raw = STANDARD
            .decode(key_b64)
            .map_err(|_| CheckpointError::InvalidKey("base64"))?;
        let (alg, pk) = raw
            .split_first()
            .ok_or(CheckpointError::InvalidKey("key"))?;
        if *alg != ALG_ED25519 {
            return Err(CheckpointError::InvalidKey("algorithm"));
        }
        let public_key: [u8; 32] = pk
            .try_into()
            .map_err(|_| CheckpointError::InvalidKey("key length"))?;
        if key_id(name, &public_key) != id {
            return Err(CheckpointError::InvalidKey("key id does not match key"));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            public_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, self.id, &self.public_key)
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(msg, sig)
            .is_ok()
    }
}

/// Splits a signed note into its text (ending in `\n`) and signature-line block, checking the
/// C2SP signed-note framing.
fn split_note(note: &str) -> Result<(&str, &str), CheckpointError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::TooLarge);
    }
    // C2SP signed-note: no ASCII control characters other than newline.
    if note.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(CheckpointError::MalformedNote("control character"));
    }
    // The signature block follows the last blank line.
    let split = note
        .rfind("\n\n")
        .ok_or(CheckpointError::MalformedNote("no signature block"))?;
    let text = note
        .get(..split + 1)
        .ok_or(CheckpointError::MalformedNote("split"))?;
    let sigs = note
        .get(split + 2..)
        .ok_or(CheckpointError::MalformedNote("split"))?;
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(CheckpointError::MalformedNote("signature block"));
    }
    Ok((text, sigs))
}

/// Parses a checkpoint body (C2SP tlog-checkpoint). Extension lines after the root are
/// allowed but must be non-empty.
fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
    let inner = text
        .strip_suffix('\n')
        .ok_or(CheckpointError::MalformedCheckpoint(
            "missing final newline",
        ))?;
    let mut lines = inner.split('\n');
    let origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or(CheckpointError::MalformedCheckpoint("origin"))?;
    let size_str = lines
        .next()
        .ok_or(CheckpointError::MalformedCheckpoint("size"))?;
    // Decimal ASCII, no sign, no leading zeros (except "0" itself), must fit u64.
    let canonical_decimal = !size_str.is_empty()
        && size_str.bytes().all(|c| c.is_ascii_digit())
        && (size_str == "0" || !size_str.starts_with('0'));
    if !canonical_decimal {
        return Err(CheckpointError::MalformedCheckpoint("size"));
    }
    let size: u64 = size_str
        .parse()
        .map_err(|_| CheckpointError::MalformedCheckpoint("size"))?;
    let root_str = lines
        .next()
        .ok_or(CheckpointError::MalformedCheckpoint("root"))?;
    let root_raw = STANDARD
        .decode(root_str)
        .map_err(|_| CheckpointError::MalformedCheckpoint("root base64"))?;
    let root: Hash = root_raw
        .as_slice()
        .try_into()
        .map_err(|_| CheckpointError::MalformedCheckpoint("root length"))?;
    if lines.any(str::is_empty) {
        return Err(CheckpointError::MalformedCheckpoint("empty extension line"));
    }
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    })
}

/// Parses a note's checkpoint body WITHOUT checking any signature. Only for diagnostics (e.g.
/// naming the size in an error); never trust its result.
pub fn parse_unverified(note: &str) -> Result<Checkpoint, CheckpointError> {
    let (text, _) = split_note(note)?;
    parse_body(text)
}

/// Parses a signed checkpoint note and verifies it: at least one signature must be by a key in
/// `verifiers` and valid; signatures by unknown keys are ignored (C2SP signed-note); a
/// signature by a known key that fails to verify is an error.
pub fn parse_and_verify(note: &str, verifiers: &[Verifier]) -> Result<Checkpoint, CheckpointError> {
    let (text, sigs) = split_note(note)?;
    let checkpoint = parse_body(text)?;
    let mut verified = false;
    let sig_block = sigs.strip_suffix('\n').unwrap_or(sigs);
    for (i, line) in sig_block.split('\n').enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(CheckpointError::MalformedNote("too many signatures"));
        }
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(CheckpointError::MalformedSignature)?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(CheckpointError::MalformedSignature)?;
        if !valid_key_name(name) {
            return Err(CheckpointError::MalformedSignature);
        }
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| CheckpointError::MalformedSignature)?;
        let (id_bytes, sig) = blob
            .split_at_checked(4)
            .ok_or(CheckpointError::MalformedSignature)?;
        let id_arr: [u8; 4] = id_bytes
            .try_into()
            .map_err(|_| CheckpointError::MalformedSignature)?;
        let id = u32::from_be_bytes(id_arr);
        let Some(v) = verifiers.iter().find(|v| v.name == name && v.id == id) else {
            // Unknown key: ignored per C2SP signed-note.
            continue;
        };
        if sig.len() != 64 || !v.verify(text.as_bytes(), sig) {
            return Err(CheckpointError::BadSignature(v.vkey()));
        }
        verified = true;
    }
    if verified {
        Ok(checkpoint)
    } else {
        Err(CheckpointError::NoKnownSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "example.com/kyc-gateway/audit";

    fn signer(name: &str) -> CheckpointSigner {
        CheckpointSigner::generate(name).unwrap().0
    }

    #[test]
    fn round_trip_and_vkey() {
        let (s, der) = CheckpointSigner::generate("kyc-audit").unwrap();
        let s2 = CheckpointSigner::from_pkcs8("kyc-audit", &der).unwrap();
        assert_eq!(s.vkey(), s2.vkey());
        let v = Verifier::from_vkey(&s.vkey()).unwrap();
        assert_eq!(v.vkey(), s.vkey());
        let root = [7u8; 32];
        let note = s.sign(ORIGIN, 42, &root).unwrap();
        assert!(note.contains("\n\n\u{2014} kyc-audit "));
        let cp = parse_and_verify(&note, &[v]).unwrap();
        assert_eq!(
            cp,
            Checkpoint {
                origin: ORIGIN.into(),
                size: 42,
                root
            }
        );
    }

    #[test]
    fn known_key_id_vector() {
        // Go golang.org/x/mod/sumdb/note test vector for a known vkey.
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let v = Verifier::from_vkey(vkey).unwrap();
        assert_eq!(v.vkey(), vkey);
        assert!(
            Verifier::from_vkey(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_err()
        );
    }

    #[test]
    fn tampering_and_bad_inputs() {
        let s = signer("k1");
        let v = s.verifier();
        let note = s.sign(ORIGIN, 10, &[1u8; 32]).unwrap();
        // Tampered body byte.
        let mut b = note.clone().into_bytes();
        b[3] ^= 1;
        let t = String::from_utf8(b).unwrap();
        assert!(matches!(
            parse_and_verify(&t, std::slice::from_ref(&v)),
            Err(CheckpointError::BadSignature(_))
        ));
        // Wrong key: same name, different key → different id → unknown → no known signature.
        let other = signer("k1").verifier();
        assert_eq!(
            parse_and_verify(&note, std::slice::from_ref(&other)),
            Err(CheckpointError::NoKnownSignature)
        );
        // Unknown signature lines are ignored when a known one verifies.
        let extra = signer("k2").sign(ORIGIN, 10, &[1u8; 32]).unwrap();
        let extra_line = extra.rsplit("\n\n").next().unwrap();
        let both = format!("{note}{extra_line}");
        assert!(parse_and_verify(&both, std::slice::from_ref(&v)).is_ok());
        // Bad base64 in signature.
        let bad = note.replace(" k1 ", " k1 !!!");
        assert!(parse_and_verify(&bad, std::slice::from_ref(&v)).is_err());
        // Signature by known key but garbled signature bytes (id kept).
        let line = note.rsplit("\n\n").next().unwrap().trim_end();
        let b64 = line.rsplit(' ').next().unwrap();
        let mut blob = STANDARD.decode(b64).unwrap();
        blob[10] ^= 0xff;
        let garbled = note.replace(b64, &STANDARD.encode(blob));
        assert!(matches!(
            parse_and_verify(&garbled, std::slice::from_ref(&v)),
            Err(CheckpointError::BadSignature(_))
        ));
        // Too large.
        let huge = "a".repeat(MAX_NOTE_BYTES + 1);
        assert_eq!(
            parse_and_verify(&huge, std::slice::from_ref(&v)),
            Err(CheckpointError::TooLarge)
        );
        // Missing signature block.
        assert!(parse_and_verify("o\n1\nAA==\n", &[v]).is_err());
        // Invalid vkeys.
        assert!(Verifier::from_vkey("nope").is_err());
        assert!(Verifier::from_vkey("a+b+c").is_err());
        assert!(s.sign("bad\norigin", 1, &[0; 32]).is_err());
    }

    #[test]
    fn size_and_root_syntax() {
        let root_b64 = STANDARD.encode([3u8; 32]);
        for (size, ok) in [
            ("0", true),
            ("18446744073709551615", true),
            ("18446744073709551616", false),
            ("007", false),
            ("+7", false),
            ("-7", false),
            ("7 ", false),
            ("0x7", false),
            ("", false),
        ] {
            let body = format!("{ORIGIN}\n{size}\n{root_b64}\n");
            assert_eq!(parse_body(&body).is_ok(), ok, "size {size:?}");
        }
        assert!(parse_body(&format!("{ORIGIN}\n1\n{root_b64}\next\n")).is_ok());
        assert!(parse_body(&format!("{ORIGIN}\n1\n{root_b64}\n\nx\n")).is_err());
        assert!(parse_body(&format!("{ORIGIN}\n1\nAAAA\n")).is_err());
        assert!(parse_body(&format!("{ORIGIN}\n1\n{}\n", &root_b64[1..])).is_err());
        assert!(parse_body(&format!("\n1\n{root_b64}\n")).is_err());
    }
}
