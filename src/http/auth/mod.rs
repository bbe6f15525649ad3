//! Authentication at the HTTP edge: the [`Principal`] extractor, the route-class
//! policy, rate limits, RFC 6750 / RFC 9449 / RFC 9470 challenges, and the failure
//! hook ([`failures::AuthFailureSink`]) the audit log will plug into.
//!
//! Verification itself lives in `crate::auth`; this module only gathers what it
//! needs from the request (the `Authorization` and `DPoP` headers, method, URL, the
//! verified client certificate) and turns its answers into problem responses.

pub mod audit_sink;
pub mod failures;
pub mod principal;

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpMessage, HttpRequest};

use self::failures::{AuthFailure, AuthFailureKind, AuthFailureSink, LogOnly, report};
pub use self::principal::Principal;
use self::principal::RequestFacts;
use super::errors::{ApiError, ErrorCode};
use super::middleware::RequestContext;
use super::rate_limit::{BucketKey, RateLimiter, retry_after_secs};
use crate::auth::error::DPOP_ALGS;
use crate::auth::verifier::{self, AuthScheme, parse_authorization};
use crate::auth::{AuthError, RouteClass, Verifier};
use crate::config::{AuthSettings, Profile, Settings};
use crate::tls::ConnectionInfo;

/// The `DPoP` proof header (RFC 9449 §4.1).
pub const DPOP: HeaderName = HeaderName::from_static("dpop");

/// Everything the [`Principal`] extractor needs, registered once as app data.
#[derive(Debug)]
pub struct Authenticator {
    verifier: Arc<Verifier>,
    settings: AuthSettings,
    profile: Profile,
    limiter: RateLimiter,
    failures: Arc<dyn AuthFailureSink>,
}

impl Authenticator {
    /// An authenticator over `verifier` with the `auth` settings, reporting failures
    /// to the log only.
    pub fn new(verifier: Arc<Verifier>, settings: &Settings) -> Self {
        Self {
            verifier,
            limiter: RateLimiter::new(settings.auth.rate_limit_max_entries),
            settings: settings.auth.clone(),
            profile: settings.profile,
            failures: Arc::new(LogOnly),
        }
    }

    /// Sends every failure to `sink` as well (the audit log's hook).
    pub fn with_failure_sink(mut self, sink: Arc<dyn AuthFailureSink>) -> Self {
        self.failures = sink;
        self
    }

    /// Authenticates `req` for its route class; see [`Principal`].
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Principal, ApiError> {
        let facts = request_facts(req);
        let Some(class) = req.app_data::<RouteClass>().copied() else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "route {} declares no RouteClass",
                req.path()
            )));
        };
        let limits = self.settings.rate_limits.for_class(class);
        // Per client IP first, so floods of bad tokens are limited too.
        if let Some(ip) = facts.client_ip
            && let Err(wait) = self.limiter.check(
                BucketKey::ip(class, ip),
                limits.per_ip_per_minute,
                Instant::now(),
            )
        {
            return Err(self.rate_limited(&facts, class, None, wait));
        }

        let (scheme, token) = match self.credentials(req) {
            Ok(found) => found,
            Err(refusal) => return Err(self.refuse(&facts, class, refusal)),
        };
        let dpop_header = match single_header(req, &DPOP) {
            Ok(value) => value,
            Err(()) => {
                let error = AuthError::InvalidDpopProof("repeated or malformed dpop header");
                return Err(self.refuse(&facts, class, Refusal::Token(error, scheme)));
            }
        };
        let mut context =
            verifier::RequestContext::new(facts.method.clone(), self.htu(req), scheme);
        context.client_cert_der = req
            .conn_data::<ConnectionInfo>()
            .and_then(|info| info.client_certificate.as_ref())
            .map(|der| der.as_ref().to_vec());
        context.dpop_header = dpop_header;
        context.allow_bearer = self.settings.bearer_allowed(self.profile, class);

        let verified = match self.verifier.verify(&token, &context).await {
            Ok(verified) => verified,
            Err(error) => return Err(self.refuse(&facts, class, Refusal::Token(error, scheme))),
        };
        if class.is_staff()
            && let Err(reason) = self.check_staff_login(verified.acr.as_deref(), verified.auth_time)
        {
            report(
                self.failures.as_ref(),
                &failure(
                    &facts,
                    class,
                    AuthFailureKind::Authentication,
                    reason,
                    Some(&verified.subject),
                ),
            );
            return Err(self.step_up(reason));
        }
        if let Err(wait) = self.limiter.check(
            BucketKey::subject(class, &verified.subject),
            limits.per_subject_per_minute,
            Instant::now(),
        ) {
            return Err(self.rate_limited(&facts, class, Some(&verified.subject), wait));
        }
        Ok(Principal {
            client_id: verified.client().map(str::to_owned),
            subject: verified.subject,
            roles: verified.roles,
            acr: verified.acr,
            auth_time: verified.auth_time,
            binding: verified.binding,
            route_class: class,
            request: facts,
            failures: Arc::clone(&self.failures),
        })
    }

    /// The access token from the one `Authorization` header. The query string and
    /// cookies are never read (RFC 9700 §2.5, FAPI 2.0 §5.3.3); a token found in
    /// `access_token` only makes the refusal's log line say so.
    fn credentials(&self, req: &HttpRequest) -> Result<(AuthScheme, String), Refusal> {
        let value = match single_header(req, &header::AUTHORIZATION) {
            Ok(Some(value)) => value,
            Ok(None) => {
                let in_query = req
                    .query_string()
                    .split('&')
                    .any(|pair| pair.split('=').next() == Some("access_token"));
                return Err(Refusal::Missing(if in_query {
                    "token in query string ignored"
                } else {
                    "no authorization header"
                }));
            }
            Err(()) => {
                return Err(Refusal::Token(
                    AuthError::InvalidRequest("repeated or malformed authorization header"),
                    AuthScheme::Bearer,
                ));
            }
        };
        parse_authorization(&value)
            .map(|(scheme, token)| (scheme, token.to_owned()))
            .map_err(|error| Refusal::Token(error, AuthScheme::Bearer))
    }

    /// RFC 9449 §4.3: the URL the client called, without query and fragment.
    fn htu(&self, req: &HttpRequest) -> String {
        match &self.settings.public_base_url {
            Some(base) => format!("{}{}", base.trim_end_matches('/'), req.path()),
            None => {
                // HTTP/2 carries the authority in the URI, HTTP/1.1 in Host.
                let authority = req
                    .uri()
                    .authority()
                    .map(|a| a.as_str().to_owned())
                    .or_else(|| {
                        req.headers()
                            .get(header::HOST)
                            .and_then(|h| h.to_str().ok())
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                format!("https://{authority}{}", req.path())
            }
        }
    }

    /// Staff routes' login strength and recency (RFC 9470), from config.
    fn check_staff_login(
        &self,
        acr: Option<&str>,
        auth_time: Option<i64>,
    ) -> Result<(), &'static str> {
        let accepted = &self.settings.staff_acr_values;
        if !accepted.is_empty() && !acr.is_some_and(|a| accepted.iter().any(|v| v == a)) {
            return Err("acr too weak for staff routes");
        }
        if let Some(max_age) = self.settings.staff_max_auth_age_secs {
            let now = self.verifier.clock().now();
            let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
            match auth_time {
                Some(t) if now.saturating_sub(t) <= max_age => {}
                _ => return Err("auth_time too old for staff routes"),
            }
        }
        Ok(())
    }

    fn step_up(&self, reason: &'static str) -> ApiError {
        let mut challenge = format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"{reason}\""
        );
        if !self.settings.staff_acr_values.is_empty() {
            challenge.push_str(&format!(
                ", acr_values=\"{}\"",
                self.settings.staff_acr_values.join(" ")
            ));
        }
        if let Some(max_age) = self.settings.staff_max_auth_age_secs {
            challenge.push_str(&format!(", max_age=\"{max_age}\""));
        }
        ApiError::new(
            ErrorCode::InsufficientUserAuthentication,
            "This route needs a stronger or more recent login.",
        )
        .with_header(header::WWW_AUTHENTICATE, &challenge)
    }

    fn refuse(&self, facts: &RequestFacts, class: RouteClass, refusal: Refusal) -> ApiError {
        let reason = refusal.reason();
        report(
            self.failures.as_ref(),
            &failure(facts, class, AuthFailureKind::Authentication, reason, None),
        );
        match refusal {
            // RFC 6750 §3.1: no error code when no credentials were sent; offer both
            // schemes (RFC 9449 §7.1).
            Refusal::Missing(_) => ApiError::new(
                ErrorCode::Unauthorized,
                "Send an access token in the Authorization header.",
            )
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"kyc-gateway\"")
            .with_header(
                header::WWW_AUTHENTICATE,
                &format!("DPoP realm=\"kyc-gateway\", algs=\"{DPOP_ALGS}\""),
            ),
            Refusal::Token(error, scheme) => {
                let code = match &error {
                    AuthError::InvalidRequest(_) => ErrorCode::BadRequest,
                    AuthError::InvalidToken(_) | AuthError::DpopRequired(_) => {
                        ErrorCode::InvalidToken
                    }
                    AuthError::InvalidDpopProof(_) => ErrorCode::InvalidDpopProof,
                    AuthError::Insufficient(_) => ErrorCode::Forbidden,
                    AuthError::Unavailable(_) => ErrorCode::AuthenticationUnavailable,
                };
                ApiError::new(
                    code,
                    format!("The request was not authenticated: {reason}."),
                )
                .with_header(header::WWW_AUTHENTICATE, &error.www_authenticate(scheme))
            }
        }
    }

    /// The tighter limit of one action (creating an application, an upload,
    /// a staff change, an audit export), per subject and per client IP, on top
    /// of the route class's. 429 with `Retry-After` when exceeded.
    pub fn limit_action(
        &self,
        req: &HttpRequest,
        principal: &Principal,
        action: crate::auth::RateAction,
    ) -> Result<(), ApiError> {
        let limit = self.settings.action_limits.for_action(action);
        let facts = request_facts(req);
        let now = Instant::now();
        let class = principal.route_class();
        if let Some(ip) = facts.client_ip
            && let Err(wait) = self.limiter.check(
                BucketKey::ActionIp(action, ip),
                limit.per_ip_per_minute,
                now,
            )
        {
            return Err(self.rate_limited(&facts, class, None, wait));
        }
        if let Err(wait) = self.limiter.check(
            BucketKey::action_subject(action, principal.subject()),
            limit.per_subject_per_minute,
            now,
        ) {
            return Err(self.rate_limited(&facts, class, Some(principal.subject()), wait));
        }
        Ok(())
    }

    fn rate_limited(
        &self,
        facts: &RequestFacts,
        class: RouteClass,
        subject: Option<&str>,
        wait: std::time::Duration,
    ) -> ApiError {
        let reason = if subject.is_some() {
            "subject rate limit exceeded"
        } else {
            "client ip rate limit exceeded"
        };
        report(
            self.failures.as_ref(),
            &failure(facts, class, AuthFailureKind::RateLimited, reason, subject),
        );
        let secs = retry_after_secs(wait);
        ApiError::new(
            ErrorCode::RateLimited,
            format!("Too many requests; retry in {secs} s."),
        )
        .with_header(header::RETRY_AFTER, &secs.to_string())
    }
}

/// Why a request carried no acceptable credentials.
enum Refusal {
    /// No `Authorization` header.
    Missing(&'static str),
    /// The header, token or proof was rejected.
    Token(AuthError, AuthScheme),
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Self::Missing(reason) => reason,
            Self::Token(error, _) => error.reason(),
        }
    }
}

fn failure(
    facts: &RequestFacts,
    class: RouteClass,
    kind: AuthFailureKind,
    reason: &'static str,
    subject: Option<&str>,
) -> AuthFailure {
    AuthFailure {
        kind,
        reason,
        request_id: facts.request_id.clone(),
        client_ip: facts.client_ip,
        route_class: Some(class),
        subject: subject.map(str::to_owned),
        method: facts.method.clone(),
        path: facts.path.clone(),
    }
}

/// The value of a header that may appear at most once; `Err` if it appears more
/// often or is not visible ASCII.
fn single_header(req: &HttpRequest, name: &HeaderName) -> Result<Option<String>, ()> {
    let mut values = req.headers().get_all(name);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    first.to_str().map(|v| Some(v.to_owned())).map_err(|_| ())
}

/// What failure reports say about a request: id, client IP, method, path.
fn request_facts(req: &HttpRequest) -> RequestFacts {
    let context = req.extensions().get::<RequestContext>().cloned();
    RequestFacts {
        request_id: context
            .as_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default(),
        client_ip: context
            .and_then(|c| c.client_ip)
            .or_else(|| req.peer_addr().map(|a| a.ip())),
        method: req.method().to_string(),
        path: req.path().to_owned(),
    }
}
