//! Cross-cutting request handling: request ids, W3C trace context, the
//! request span, metrics, the overall request timeout and security headers.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{HttpMessage, ResponseError, web};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::errors::{ApiError, ErrorCode};
use crate::startup::AppState;
use crate::telemetry::HttpLabels;

/// The request id header, accepted from clients when well-formed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Facts about the current request that use cases record (audit, logs).
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client's `X-Request-Id`, or one we generated.
    pub request_id: String,
    /// W3C trace id (32 lowercase hex), from `traceparent` or generated.
    pub trace_id: String,
    /// The client's address: the TCP peer, or, behind a configured trusted proxy,
    /// the right-most untrusted `X-Forwarded-For` entry (see `http::client_ip`).
    pub client_ip: Option<std::net::IpAddr>,
}

/// Accepts a client request id only if it is short and plain, so it cannot
/// inject anything into logs.
fn valid_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Parses the trace id of a W3C `traceparent` header (Trace Context §3.2):
/// `version-traceid-parentid-flags`, all lowercase hex, trace id not all zero.
pub fn trace_id_from_traceparent(value: &str) -> Option<String> {
    let mut parts = value.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let ok = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    ok.then(|| trace.to_owned())
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Upper bounds of a request head. HTTP/1.1 is bounded by actix itself
/// (96 headers, 128 KiB buffer); HTTP/2 header lists are bounded only by the
/// h2 defaults, so the application enforces this budget for both.
const MAX_HEADERS: usize = 64;
const MAX_HEADER_BYTES: usize = 16 * 1024;

fn headers_too_large(headers: &HeaderMap) -> bool {
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES
}

/// Outermost middleware: assigns the request id and trace id, runs the
/// request inside a span with a deadline, records metrics and logs one line.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let trace_id = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id_from_traceparent)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    if headers_too_large(req.headers()) {
        let error: actix_web::Error = ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!("At most {MAX_HEADERS} header fields and {MAX_HEADER_BYTES} bytes of headers."),
        )
        .into();
        return Err(WithRequestId { error, request_id }.into());
    }
    let ctx = RequestContext {
        request_id: request_id.clone(),
        trace_id: trace_id.clone(),
        client_ip: req.peer_addr().map(|a| {
            let trusted = state
                .as_ref()
                .map(|s| s.settings.auth.trusted_proxies.as_slice())
                .unwrap_or_default();
            super::client_ip::resolve(a.ip(), req.headers(), trusted)
        }),
    };
    req.extensions_mut().insert(ctx);

    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "request",
        http.method = %method,
        http.route = %route,
        request_id = %request_id,
        trace_id = %trace_id,
        http.status = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(req.headers()))
    });
    // Fails only when no OpenTelemetry layer is installed, which is fine.
    let _ = span.set_parent(parent);

    let timeout = state
        .as_ref()
        .map(|s| Duration::from_secs(s.settings.http.request_timeout_secs))
        .unwrap_or(Duration::from_secs(30));
    // The request cannot be cloned across `next.call` (the router needs it
    // unshared), so failures leave as errors that carry the request id.
    let result = tokio::time::timeout(timeout, next.call(req).instrument(span.clone())).await;
    let outcome = match result {
        Ok(Ok(res)) => Ok(res),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError::new(
            ErrorCode::RequestTimeout,
            format!("The request took longer than {} s.", timeout.as_secs()),
        )
        .into()),
    };
    let status = match &outcome {
        Ok(res) => res.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    span.record("http.status", status);
    let elapsed = started.elapsed();
    if let Some(state) = state {
        let labels = HttpLabels {
            method,
            route,
            status,
        };
        state.metrics.http_requests.get_or_create(&labels).inc();
        state
            .metrics
            .http_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            http.status = status,
            latency_ms = elapsed.as_millis() as u64,
            "request served"
        );
    });
    match outcome {
        Ok(mut res) => {
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(res)
        }
        Err(error) => Err(WithRequestId { error, request_id }.into()),
    }
}

/// An error leaving the middleware, rendered with the request id header.
#[derive(Debug)]
struct WithRequestId {
    error: actix_web::Error,
    request_id: String,
}

impl std::fmt::Display for WithRequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for WithRequestId {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut res = self.error.error_response();
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            res.headers_mut().insert(REQUEST_ID, value);
        }
        res
    }
}

/// Headers every response carries: HSTS (RFC 6797), no MIME sniffing, no
/// caching of API data, and no framing.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Cache-Control", "no-store"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add(("Referrer-Policy", "no-referrer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_per_w3c() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id_from_traceparent(good).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            assert_eq!(trace_id_from_traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn request_ids_that_could_inject_into_logs_are_replaced() {
        assert!(valid_request_id("req-123_abc.4:5"));
        assert!(!valid_request_id("a\nb"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id(&"x".repeat(129)));
    }
}
