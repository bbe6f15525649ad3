//! Error types, and the RFC 6750 §3 / RFC 9449 §7.1 `WWW-Authenticate` challenges.
//!
//! Every reason string is a `&'static str` chosen inside this crate, so an error can be
//! logged or put in a response header without ever echoing the token (RFC 8725 §3.x
//! leaves error reporting to the application; FAPI 2.0 §5.3.3 requires rejection only).

use thiserror::Error;

use super::verifier::AuthScheme;

/// The algorithms advertised in a DPoP challenge (`algs`, RFC 9449 §7.1), which are the
/// FAPI 2.0 Security Profile §5.4.1 set.
pub const DPOP_ALGS: &str = "PS256 ES256 EdDSA";

/// Why a request was not authenticated or authorised.
///
/// The variants map onto RFC 6750 §3.1 / RFC 9449 §7.1 error codes; the payload is a
/// short, non-secret reason suitable for audit logs and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The request itself is malformed (RFC 6750 §3.1 `invalid_request`, HTTP 400).
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// The access token is malformed, expired, has a bad signature or fails a claim
    /// check (RFC 6750 §3.1 `invalid_token`, HTTP 401).
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// The token is DPoP-bound (RFC 9449 §6) but was not presented with the `DPoP`
    /// scheme (RFC 9449 §7.1); answered with `invalid_token` and a DPoP challenge.
    #[error("invalid_token: {0}")]
    DpopRequired(&'static str),
    /// The DPoP proof is missing or invalid (RFC 9449 §7.1 `invalid_dpop_proof`, HTTP 401).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(&'static str),
    /// The token is valid but does not grant what the route needs
    /// (RFC 6750 §3.1 `insufficient_scope`, HTTP 403).
    #[error("insufficient_scope: {0}")]
    Insufficient(&'static str),
    /// Verification could not be completed (keys unavailable, replay cache saturated);
    /// fails closed with HTTP 503.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(&'static str),
}

impl AuthError {
    /// The RFC 6750 / RFC 9449 error code.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(_) | Self::DpopRequired(_) => "invalid_token",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::Insufficient(_) => "insufficient_scope",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }

    /// The short, non-secret reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidRequest(r)
            | Self::InvalidToken(r)
            | Self::DpopRequired(r)
            | Self::InvalidDpopProof(r)
            | Self::Insufficient(r)
            | Self::Unavailable(r) => r,
        }
    }

    /// The HTTP status the resource server should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) => 400,
            Self::InvalidToken(_) | Self::DpopRequired(_) | Self::InvalidDpopProof(_) => 401,
            Self::Insufficient(_) => 403,
            Self::Unavailable(_) => 503,
        }
    }

    /// The `WWW-Authenticate` header value for a request made with `scheme`.
    ///
    /// RFC 6750 §3: `Bearer error="invalid_token", error_description="..."`.
    /// RFC 9449 §7.1: `DPoP error="...", error_description="...", algs="PS256 ES256 EdDSA"`;
    /// the DPoP form is used when the request used DPoP or the failure is DPoP-specific.
    /// For [`AuthError::Unavailable`] the challenge carries no error code (RFC 6750 §3.1).
    pub fn www_authenticate(&self, scheme: AuthScheme) -> String {
        let dpop = matches!(scheme, AuthScheme::DPoP)
            || matches!(self, Self::DpopRequired(_) | Self::InvalidDpopProof(_));
        let mut out = String::from(if dpop { "DPoP" } else { "Bearer" });
        if !matches!(self, Self::Unavailable(_)) {
            out.push_str(&format!(
                " error=\"{}\", error_description=\"{}\"",
                self.error_code(),
                sanitize(self.reason())
            ));
            if dpop {
                out.push(',');
            }
        }
        if dpop {
            out.push_str(&format!(" algs=\"{DPOP_ALGS}\""));
        }
        out
    }
}

/// Keeps a header quoted-string well formed (RFC 6750 §3: no `"` or `\`).
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
        .collect()
}

/// Failure to load, fetch or parse a JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwksError {
    /// The JWKS file could not be read.
    #[error("jwks file unreadable: {0}")]
    Io(String),
    /// The JWKS endpoint could not be reached or answered badly.
    #[error("jwks fetch failed: {0}")]
    Fetch(String),
    /// The JWKS endpoint answered with a non-success HTTP status.
    #[error("jwks endpoint returned HTTP {0}")]
    HttpStatus(u16),
    /// The document exceeds the configured size limit.
    #[error("jwks document larger than {0} bytes")]
    TooLarge(usize),
    /// The document is not valid JSON or not a JWK Set.
    #[error("jwks document malformed: {0}")]
    Malformed(&'static str),
    /// Two keys share one `kid` (RFC 7517 §4.5 requires distinct kids for selection).
    #[error("duplicate kid in jwks")]
    DuplicateKid,
    /// A key carries private members (RFC 7517 §9.2 / RFC 7518 §6.2.2, §6.3.2).
    #[error("jwks contains private key material")]
    PrivateKeyMaterial,
    /// A supported key type has invalid parameters.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The URL is not https (and plain http was not explicitly allowed).
    #[error("jwks url must be https")]
    InsecureUrl,
    /// The URL could not be parsed.
    #[error("jwks url invalid")]
    InvalidUrl,
}

/// Failure to install the ring crypto provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ProviderError {
    /// Another `jsonwebtoken` `CryptoProvider` is already the process default.
    #[error("a different jsonwebtoken CryptoProvider is already installed")]
    ForeignProviderInstalled,
}

#[cfg(test)]
mod tests {
    //! The RFC 6750 challenge.

    use crate::auth::test_support::*;

    #[test]
    fn www_authenticate_bearer() {
        let err = AuthError::InvalidToken("token expired");
        assert_eq!(
            err.www_authenticate(AuthScheme::Bearer),
            "Bearer error=\"invalid_token\", error_description=\"token expired\""
        );
        assert_eq!(err.http_status(), 401);
        assert_eq!(AuthError::Insufficient("x").http_status(), 403);
    }
}
