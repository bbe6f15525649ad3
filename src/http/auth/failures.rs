//! Authentication and authorization failures: each is logged here (request id,
//! reason, subject when known; never the token) and handed to an
//! [`AuthFailureSink`], the hook the audit log plugs into.

use std::net::IpAddr;

use crate::auth::RouteClass;

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailureKind {
    /// No usable credentials, or the token or DPoP proof was rejected (401/400/503).
    Authentication,
    /// Authenticated, but the route or object does not admit the caller (403).
    Authorization,
    /// A rate limit refused the request (429).
    RateLimited,
}

impl AuthFailureKind {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Authorization => "authorization",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// One failure, with nothing secret in it.
#[derive(Debug, Clone)]
pub struct AuthFailure {
    /// The kind.
    pub kind: AuthFailureKind,
    /// A fixed, non-secret reason (e.g. `token expired`, `required role missing`).
    pub reason: &'static str,
    /// The request id (`X-Request-Id`).
    pub request_id: String,
    /// The client IP the request is attributed to.
    pub client_ip: Option<IpAddr>,
    /// The route class.
    pub route_class: Option<RouteClass>,
    /// `sub` of the token, when it was verified (authorization failures).
    pub subject: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path (no query string: it could hold a misplaced token).
    pub path: String,
}

/// Receives every authentication and authorization failure, after it was logged.
/// The audit log implements this (issue 4: "audited once the audit log exists");
/// until then [`LogOnly`] is installed.
pub trait AuthFailureSink: Send + Sync + std::fmt::Debug {
    /// Records one failure. Must not block for long: it runs on the request path.
    fn record(&self, failure: &AuthFailure);
}

/// The default sink: the log line written by [`report`] is all there is.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogOnly;

impl AuthFailureSink for LogOnly {
    fn record(&self, _failure: &AuthFailure) {}
}

/// Logs `failure` and passes it to `sink`.
pub fn report(sink: &dyn AuthFailureSink, failure: &AuthFailure) {
    tracing::warn!(
        kind = failure.kind.as_str(),
        reason = failure.reason,
        request_id = %failure.request_id,
        client_ip = failure.client_ip.map(|ip| ip.to_string()),
        route_class = failure.route_class.map(RouteClass::as_str),
        subject = failure.subject.as_deref(),
        http.method = %failure.method,
        http.path = %failure.path,
        "request refused"
    );
    sink.record(failure);
}
