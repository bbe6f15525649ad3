//! kyc-gateway: the Compliance stage of bank customer onboarding.
//!
//! The map, from the edge inward (dependencies point inward):
//!
//! - [`http`]: the TLS-served HTTP edge: routes, extractors, RFC 9457 errors,
//!   middleware, OpenAPI. Translates HTTP to use-case calls.
//! - use cases (`audit`, `onboarding`, `documents`, `checks`, `review`,
//!   `handoff` as they land): one transaction per use case, state change and audit entry together.
//! - [`domain`]: pure types and rules; imports neither actix nor sqlx.
//! - [`store`]: the `Store` trait the use cases own, implemented for
//!   PostgreSQL and SQLite.
//!
//! Around them: [`config`] (typed settings and profiles), [`tls`] (rustls with
//! ring, reloading certificates, dev CA), [`telemetry`] (logs, traces,
//! metrics), [`startup`] (wiring) and [`cli`].

pub mod audit;
pub mod auth;
pub mod checks;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod documents;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod onboarding;
pub mod policy;
pub mod review;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;

/// Installs ring as the process-wide rustls provider, for clients (reqwest,
/// sqlx) that look it up. Idempotent.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The OpenAPI document as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    use utoipa::OpenApi;
    let mut json = http::ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
