//! Authentication: FAPI 2.0 access-token verification for the resource server.
//!
//! Verifies JWT access tokens (RFC 9068) signed with PS256, ES256 or EdDSA against a
//! JWKS (file or URL, cached, refetched at most once per interval for unknown `kid`s),
//! checks the claims against an injected [`clock::Clock`], and enforces sender
//! constraints (mTLS per RFC 8705, DPoP per RFC 9449). Every signature operation goes
//! through the ring-backed `jsonwebtoken` [`provider::RING_PROVIDER`].
//!
//! This module knows nothing about actix: the HTTP edge (`http::auth`) turns requests
//! into a [`verifier::RequestContext`] and errors into problem responses. It must not
//! log tokens; every error carries a fixed, non-secret reason.

pub mod claims;
pub mod clock;
pub mod dev;
pub mod dpop;
pub mod error;
pub mod jwks;
pub mod provider;
pub mod route_class;
pub mod setup;
pub mod verifier;

#[cfg(test)]
mod test_support;

pub use claims::{Confirmation, Role, SenderBinding, VerifiedToken};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dev::DevKey;
pub use error::{AuthError, JwksError, ProviderError};
pub use route_class::{RateAction, RouteClass};
pub use verifier::{AuthScheme, Verifier, VerifierConfig};
