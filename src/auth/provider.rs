//! A `ring`-backed `jsonwebtoken` [`CryptoProvider`] (jsonwebtoken ≥ 10.3 pluggable crypto).
//!
//! Only the FAPI 2.0 Security Profile §5.4.1 algorithms are implemented: PS256
//! (`RSA_PSS_2048_8192_SHA256`), ES256 (`ECDSA_P256_SHA256_FIXED`, RFC 7518 §3.4) and
//! EdDSA/Ed25519 (RFC 8037 §3.1). HMAC, RSASSA-PKCS1-v1_5 and everything else make the
//! factories fail, so even a mistake elsewhere cannot verify `HS256` or `RS256`
//! (RFC 8725 §2.1, §3.1).

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{Error as SigError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self as rsig, KeyPair};

use super::error::ProviderError;

/// The ring provider. Install it with [`install`] (or `RING_PROVIDER.install_default()`).
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key,
        rsa_pub_components_from_public_key,
        ec_pub_components_from_private_key,
        ed_pub_components_from_private_key,
        compute_digest,
    },
};

/// Makes [`RING_PROVIDER`] the process-wide `jsonwebtoken` provider.
///
/// Idempotent: succeeds if it is already installed. Fails if a *different* provider
/// was installed first, because this crate then cannot guarantee which algorithms the
/// process accepts.
pub fn install() -> Result<(), ProviderError> {
    match RING_PROVIDER.install_default() {
        Ok(()) => Ok(()),
        Err(existing) if std::ptr::eq(existing, &RING_PROVIDER) => Ok(()),
        Err(_) => Err(ProviderError::ForeignProviderInstalled),
    }
}

/// Whether [`RING_PROVIDER`] is the installed process default.
pub fn is_installed() -> bool {
    CryptoProvider::try_get_default().is_some_and(|p| std::ptr::eq(p, &RING_PROVIDER))
}

fn unsupported() -> JwtError {
    ErrorKind::UnsupportedAlgorithm.into()
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, JwtError> {
    // RFC 8725 §3.1: the key's family must match the algorithm.
    match (alg, key.family()) {
        (Algorithm::PS256, AlgorithmFamily::Rsa) => Ok(Box::new(RingVerifier {
            alg: Algorithm::PS256,
            key: key.clone(),
        })),
        (Algorithm::ES256, AlgorithmFamily::Ec) | (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            Ok(Box::new(RingVerifier {
                alg: *alg,
                key: key.clone(),
            }))
        }
        (Algorithm::PS256 | Algorithm::ES256 | Algorithm::EdDSA, _) => {
            Err(ErrorKind::InvalidKeyFormat.into())
        }
        _ => Err(unsupported()),
    }
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, JwtError> {
    match (alg, key.family()) {
        (Algorithm::PS256, AlgorithmFamily::Rsa)
        | (Algorithm::ES256, AlgorithmFamily::Ec)
        | (Algorithm::EdDSA, AlgorithmFamily::Ed) => Ok(Box::new(RingSigner {
            alg: *alg,
            pkcs8: key.as_bytes().to_vec(),
        })),
        (Algorithm::PS256 | Algorithm::ES256 | Algorithm::EdDSA, _) => {
            Err(ErrorKind::InvalidKeyFormat.into())
        }
        _ => Err(unsupported()),
    }
}

/// Verifies one JWS signature (RFC 7515 §5.2) with ring.
struct RingVerifier {
    alg: Algorithm,
    key: DecodingKey,
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), SigError> {
        let ok = match (self.alg, self.key.kind()) {
            (Algorithm::PS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                rsig::RsaPublicKeyComponents { n, e }
                    .verify(&rsig::RSA_PSS_2048_8192_SHA256, msg, signature)
                    .is_ok()
            }
            (Algorithm::PS256, DecodingKeyKind::SecretOrDer(der)) => {
                // DER RSAPublicKey (RFC 8017 A.1.1), as `DecodingKey::from_rsa_der` holds it.
                rsig::UnparsedPublicKey::new(&rsig::RSA_PSS_2048_8192_SHA256, der)
                    .verify(msg, signature)
                    .is_ok()
            }
            (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => {
                // Uncompressed SEC1 point 0x04‖x‖y (RFC 7518 §6.2.1); the signature is
                // the fixed 64-byte R‖S form (RFC 7518 §3.4).
                point.len() == 65
                    && rsig::UnparsedPublicKey::new(&rsig::ECDSA_P256_SHA256_FIXED, point)
                        .verify(msg, signature)
                        .is_ok()
            }
            (Algorithm::EdDSA, DecodingKeyKind::SecretOrDer(x)) => {
                // RFC 8037 §2: `x` is the 32-byte Ed25519 public key.
                x.len() == 32
                    && rsig::UnparsedPublicKey::new(&rsig::ED25519, x)
                        .verify(msg, signature)
                        .is_ok()
            }
            _ => false,
        };
        if ok { Ok(()) } else { Err(SigError::new()) }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// Signs with a PKCS#8 private key (used by the dev helper and tests).
struct RingSigner {
    alg: Algorithm,
    pkcs8: Vec<u8>,
}

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigError> {
        let rng = SystemRandom::new();
        match self.alg {
            Algorithm::EdDSA => {
                let kp = rsig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&self.pkcs8)
                    .map_err(|_| SigError::new())?;
                Ok(kp.sign(msg).as_ref().to_vec())
            }
            Algorithm::ES256 => {
                let kp = rsig::EcdsaKeyPair::from_pkcs8(
                    &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &self.pkcs8,
                    &rng,
                )
                .map_err(|_| SigError::new())?;
                kp.sign(&rng, msg)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| SigError::new())
            }
            Algorithm::PS256 => {
                let kp = rsig::RsaKeyPair::from_pkcs8(&self.pkcs8).map_err(|_| SigError::new())?;
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(&rsig::RSA_PSS_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| SigError::new())?;
                Ok(sig)
            }
            _ => Err(SigError::new()),
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn provider_err(msg: &str) -> JwtError {
    ErrorKind::Provider(msg.to_owned()).into()
}

fn rsa_pub_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let kp = rsig::RsaKeyPair::from_pkcs8(der)
        .map_err(|_| ErrorKind::InvalidRsaKey("unparseable PKCS#8".to_owned()))?;
    let c: rsig::RsaPublicKeyComponents<Vec<u8>> = kp.public().into();
    Ok((c.n, c.e))
}

fn rsa_pub_components_from_public_key(_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    // ring exposes no public RSAPublicKey DER parser; JWKs here always carry n/e.
    Err(provider_err(
        "rsa public key DER parsing not supported by ring provider",
    ))
}

fn ec_pub_components_from_private_key(
    der: &[u8],
    alg: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), JwtError> {
    if alg != Algorithm::ES256 {
        return Err(unsupported());
    }
    let rng = SystemRandom::new();
    let kp = rsig::EcdsaKeyPair::from_pkcs8(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        .map_err(|_| JwtError::from(ErrorKind::InvalidEcdsaKey))?;
    let point = kp.public_key().as_ref();
    match point.split_first() {
        Some((0x04, xy)) if xy.len() == 64 => {
            let (x, y) = xy.split_at(32);
            Ok((EllipticCurve::P256, x.to_vec(), y.to_vec()))
        }
        _ => Err(ErrorKind::InvalidEcdsaKey.into()),
    }
}

fn ed_pub_components_from_private_key(
    der: &[u8],
    curve: &EllipticCurve,
) -> Result<Vec<u8>, JwtError> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(unsupported());
    }
    let kp = rsig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .map_err(|_| JwtError::from(ErrorKind::InvalidEddsaKey))?;
    Ok(kp.public_key().as_ref().to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, JwtError> {
    let alg = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(unsupported()),
    };
    Ok(ring::digest::digest(alg, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_hmac_and_pkcs1() {
        let hmac = DecodingKey::from_secret(b"secret").unwrap();
        assert!(new_verifier(&Algorithm::HS256, &hmac).is_err());
        let rsa = DecodingKey::from_rsa_raw_components(&[1; 256], &[1, 0, 1]);
        assert!(new_verifier(&Algorithm::RS256, &rsa).is_err());
        assert!(new_verifier(&Algorithm::PS256, &rsa).is_ok());
        // Wrong family for the algorithm.
        assert!(new_verifier(&Algorithm::ES256, &rsa).is_err());
    }

    #[test]
    fn install_is_idempotent() {
        install().unwrap();
        install().unwrap();
        assert!(is_installed());
    }
}
