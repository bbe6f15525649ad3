//! The one error type of the HTTP edge: stable codes, their HTTP status, and
//! the RFC 9457 `application/problem+json` rendering. Extractor rejections and
//! framework errors (404, 405, 413) go through the same envelope. 5xx bodies
//! say nothing internal; the cause goes to the log once, here.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of RFC 9457 problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Stable error codes the apps can localize. Never rename one; add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed in a way no other code describes.
    BadRequest,
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is JSON but does not fit the schema (unknown or missing fields, wrong types).
    InvalidBody,
    /// A field value breaks a rule.
    ValidationFailed,
    /// A query parameter is missing or malformed.
    InvalidQuery,
    /// A path parameter is malformed.
    InvalidPathParameter,
    /// The body's media type is not accepted here.
    UnsupportedMediaType,
    /// No such route or object.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The body exceeds the limit.
    PayloadTooLarge,
    /// The client took too long to send the request.
    RequestTimeout,
    /// The request head has too many or too large header fields.
    HeadersTooLarge,
    /// The service or its database is not ready.
    NotReady,
    /// No usable credentials: the `Authorization` header is missing (tokens in the
    /// query string or cookies are never read).
    Unauthorized,
    /// The access token is malformed, expired, not for this gateway, or not bound to
    /// this client as its `cnf` requires.
    InvalidToken,
    /// The DPoP proof is missing, malformed, replayed or does not match the request.
    InvalidDpopProof,
    /// The route needs a stronger or more recent login (RFC 9470).
    InsufficientUserAuthentication,
    /// Authenticated, but the route does not admit the caller's roles.
    Forbidden,
    /// Too many requests; retry after the `Retry-After` seconds.
    RateLimited,
    /// The identity provider's keys cannot be loaded right now.
    AuthenticationUnavailable,
    /// A changing POST arrived without an `Idempotency-Key` header.
    IdempotencyKeyRequired,
    /// The `Idempotency-Key` was already used with a different request.
    IdempotencyKeyReused,
    /// The application's state does not allow this action.
    InvalidTransition,
    /// Required consents are not granted yet; `errors` names them.
    ConsentsMissing,
    /// The caller already has an open application for this person and product.
    DuplicateApplication,
    /// The object changed at the same time; reload and retry.
    ConcurrentModification,
    /// The multipart body is malformed (no boundary, bad part headers, cut short).
    MalformedMultipart,
    /// The file's content is not JPEG, PNG, PDF or HEIC/HEIF (the type is decided
    /// by content, never by name or declared type).
    UnsupportedDocumentType,
    /// The file is of an accepted type but refused: active PDF content, encryption,
    /// a polyglot, too many pixels or pages, damage, or a kind or declared type it
    /// does not fit. `errors` names the reason.
    DocumentRejected,
    /// The same bytes are already stored for this application as another document.
    DuplicateDocument,
    /// The application's state does not take documents.
    DocumentsClosed,
    /// A stored document failed its integrity check; nothing was sent.
    DocumentIntegrityFailed,
    /// No sanctions list is active (none configured, or none loaded and
    /// validated), so no screening can be done; it is never done against nothing.
    ScreeningUnavailable,
    /// A webhook's signature is missing or does not match its raw body.
    InvalidWebhookSignature,
    /// A webhook's timestamp is outside the accepted window (a replay, or a
    /// clock far off).
    WebhookExpired,
    /// The document and liveness vendor cannot be reached now; retry later.
    VendorUnavailable,
    /// Decide on a case only while holding its claim.
    CaseNotClaimed,
    /// Another officer holds the case's claim.
    CaseClaimed,
    /// The case is not in the queue (decided, or waiting for the applicant).
    CaseClosed,
    /// No approval of this case waits for confirmation.
    NoPendingApproval,
    /// The evidence changed after the approval was proposed; it was cancelled.
    EvidenceChanged,
    /// Something failed inside the gateway; the log has the details.
    Internal,
}

impl ErrorCode {
    /// The HTTP status of this code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest
            | Self::MalformedMultipart
            | Self::MalformedJson
            | Self::InvalidQuery
            | Self::InvalidPathParameter => StatusCode::BAD_REQUEST,
            Self::InvalidBody
            | Self::ValidationFailed
            | Self::IdempotencyKeyReused
            | Self::DocumentRejected => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyRequired => StatusCode::BAD_REQUEST,
            Self::InvalidTransition
            | Self::ConsentsMissing
            | Self::DuplicateApplication
            | Self::DuplicateDocument
            | Self::DocumentsClosed
            | Self::CaseNotClaimed
            | Self::CaseClaimed
            | Self::CaseClosed
            | Self::NoPendingApproval
            | Self::EvidenceChanged
            | Self::ConcurrentModification => StatusCode::CONFLICT,
            Self::UnsupportedMediaType | Self::UnsupportedDocumentType => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::NotReady
            | Self::AuthenticationUnavailable
            | Self::ScreeningUnavailable
            | Self::VendorUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidWebhookSignature | Self::WebhookExpired => StatusCode::UNAUTHORIZED,
            Self::Unauthorized
            | Self::InvalidToken
            | Self::InvalidDpopProof
            | Self::InsufficientUserAuthentication => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal | Self::DocumentIntegrityFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, human-readable summary that does not change between occurrences.
    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::MalformedJson => "Malformed JSON body",
            Self::InvalidBody => "Request body does not match the schema",
            Self::ValidationFailed => "Validation failed",
            Self::InvalidQuery => "Invalid query parameters",
            Self::InvalidPathParameter => "Invalid path parameter",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::PayloadTooLarge => "Payload too large",
            Self::RequestTimeout => "Request timeout",
            Self::HeadersTooLarge => "Request header fields too large",
            Self::NotReady => "Service not ready",
            Self::Unauthorized => "Authentication required",
            Self::InvalidToken => "Invalid access token",
            Self::InvalidDpopProof => "Invalid DPoP proof",
            Self::InsufficientUserAuthentication => "Stronger or more recent login required",
            Self::Forbidden => "Forbidden",
            Self::RateLimited => "Too many requests",
            Self::AuthenticationUnavailable => "Authentication temporarily unavailable",
            Self::IdempotencyKeyRequired => "Idempotency-Key header required",
            Self::IdempotencyKeyReused => "Idempotency-Key reused with another request",
            Self::InvalidTransition => "Not allowed in the application's current state",
            Self::ConsentsMissing => "Required consents missing",
            Self::DuplicateApplication => "An open application already exists",
            Self::ConcurrentModification => "Changed concurrently",
            Self::MalformedMultipart => "Malformed multipart body",
            Self::UnsupportedDocumentType => "Unsupported document type",
            Self::DocumentRejected => "Document rejected",
            Self::DuplicateDocument => "Document already uploaded",
            Self::DocumentsClosed => "The application takes no documents now",
            Self::DocumentIntegrityFailed => "Stored document failed its integrity check",
            Self::ScreeningUnavailable => "Sanctions screening unavailable",
            Self::InvalidWebhookSignature => "Invalid webhook signature",
            Self::WebhookExpired => "Webhook outside the accepted time window",
            Self::VendorUnavailable => "Vendor unavailable",
            Self::CaseNotClaimed => "Claim the case first",
            Self::CaseClaimed => "Claimed by another officer",
            Self::CaseClosed => "The case is closed",
            Self::NoPendingApproval => "No approval waits for confirmation",
            Self::EvidenceChanged => "The evidence changed",
            Self::Internal => "Internal server error",
        }
    }

    /// The code as it appears in the `code` member.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::ValidationFailed => "validation_failed",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidPathParameter => "invalid_path_parameter",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::HeadersTooLarge => "headers_too_large",
            Self::NotReady => "not_ready",
            Self::Unauthorized => "unauthorized",
            Self::InvalidToken => "invalid_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::AuthenticationUnavailable => "authentication_unavailable",
            Self::IdempotencyKeyRequired => "idempotency_key_required",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::InvalidTransition => "invalid_transition",
            Self::ConsentsMissing => "consents_missing",
            Self::DuplicateApplication => "duplicate_application",
            Self::ConcurrentModification => "concurrent_modification",
            Self::MalformedMultipart => "malformed_multipart",
            Self::UnsupportedDocumentType => "unsupported_document_type",
            Self::DocumentRejected => "document_rejected",
            Self::DuplicateDocument => "duplicate_document",
            Self::DocumentsClosed => "documents_closed",
            Self::DocumentIntegrityFailed => "document_integrity_failed",
            Self::ScreeningUnavailable => "screening_unavailable",
            Self::InvalidWebhookSignature => "invalid_webhook_signature",
            Self::WebhookExpired => "webhook_expired",
            Self::VendorUnavailable => "vendor_unavailable",
            Self::CaseNotClaimed => "case_not_claimed",
            Self::CaseClaimed => "case_claimed",
            Self::CaseClosed => "case_closed",
            Self::NoPendingApproval => "no_pending_approval",
            Self::EvidenceChanged => "evidence_changed",
            Self::Internal => "internal",
        }
    }

    /// The code a bare framework response of this status stands for.
    fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => Self::RequestTimeout,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::HeadersTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => Self::NotReady,
            StatusCode::CONFLICT => Self::ConcurrentModification,
            s if s.is_server_error() => Self::Internal,
            _ => Self::BadRequest,
        }
    }
}

/// One invalid field, for forms the app can highlight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer-like path of the field, e.g. `address.postal_code`.
    pub field: String,
    /// A stable code for the rule it broke, e.g. `too_long`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// RFC 9457 problem details, as every error response carries them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:kyc-gateway:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// Stable machine-readable code.
    #[schema(value_type = ErrorCode)]
    pub code: &'static str,
    /// Invalid fields, when the problem concerns the request body.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The error every handler returns.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldError>,
    /// Headers the response must carry (`WWW-Authenticate`, `Retry-After`).
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The internal cause, logged and never sent.
    source: Option<anyhow::Error>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl ApiError {
    /// A client error with a detail message for the caller.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
            source: None,
        }
    }

    /// Adds field errors.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// An internal failure: the cause is logged, the body stays generic.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            code: ErrorCode::Internal,
            detail: "The request could not be completed. Quote the X-Request-Id header when reporting it.".to_owned(),
            errors: Vec::new(),
            headers: Vec::new(),
            source: Some(cause.into()),
        }
    }

    /// Adds a response header; several values of one name are all sent
    /// (e.g. a `Bearer` and a `DPoP` challenge). Values that are not valid header
    /// text are dropped.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    fn problem(&self) -> Problem {
        problem(self.code, self.detail.clone(), self.errors.clone())
    }
}

fn problem(code: ErrorCode, detail: String, errors: Vec<FieldError>) -> Problem {
    Problem {
        type_uri: format!("urn:kyc-gateway:problem:{}", code.as_str()),
        title: code.title().to_owned(),
        status: code.status().as_u16(),
        detail,
        code: code.as_str(),
        errors,
    }
}

fn problem_response(status: StatusCode, problem: &Problem) -> HttpResponse {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(body)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.source {
            // The one place internal causes are logged; `{:#}` keeps the chain.
            tracing::error!(
                error = format!("{cause:#}"),
                code = self.code.as_str(),
                "request failed"
            );
        }
        let mut res = problem_response(self.status_code(), &self.problem());
        for (name, value) in &self.headers {
            res.headers_mut().append(name.clone(), value.clone());
        }
        res
    }
}

/// JSON body rejections: syntax errors are 400, schema mismatches 422,
/// oversize 413, wrong media type 415.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The body exceeds {limit} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::new(ErrorCode::InvalidBody, e.to_string())
        }
        JsonPayloadError::Deserialize(e) => ApiError::new(ErrorCode::MalformedJson, e.to_string()),
        _ => ApiError::new(ErrorCode::BadRequest, "The body could not be read."),
    };
    api.into()
}

/// Query string rejections.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidQuery, err.to_string()).into()
}

/// Path parameter rejections.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidPathParameter, err.to_string()).into()
}

/// Catch-all for error responses produced outside our handlers (unknown
/// routes, wrong methods, payload limits): rewrite them as problem+json.
/// Responses that already are problem+json pass through untouched.
pub fn render_framework_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = ErrorCode::for_status(status);
    let detail = match code {
        ErrorCode::NotFound => format!("No route for {}.", res.request().path()),
        ErrorCode::MethodNotAllowed => {
            format!(
                "{} is not allowed on {}.",
                res.request().method(),
                res.request().path()
            )
        }
        ErrorCode::Internal => {
            // The framework's own message may be internal; keep it in the log.
            if let Some(error) = res.response().error() {
                tracing::error!(%error, "request failed");
            }
            "The request could not be completed. Quote the X-Request-Id header when reporting it."
                .to_owned()
        }
        _ => res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_else(|| code.title().to_owned()),
    };
    let body = problem(code, detail, Vec::new());
    let (req, res) = res.into_parts();
    let mut new = problem_response(status, &body);
    // Keep headers the framework set for a reason (e.g. `Allow` on 405).
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let res = ServiceResponse::new(req, new.map_into_boxed_body()).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// The default service of every resource: the path exists, the method does
/// not. RFC 9110 §15.5.6 requires the `Allow` header.
pub async fn method_not_allowed(req: HttpRequest, allow: &'static str) -> HttpResponse {
    let mut res = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}; use {allow}.",
            req.method(),
            req.path()
        ),
    )
    .error_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

/// The default service of the application: no such route.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorCode::NotFound,
        format!("No route for {}.", req.path()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_reveal_nothing() {
        let err = ApiError::internal(anyhow::anyhow!("password=hunter2 at db.internal:5432"));
        let body = serde_json::to_string(&err.problem()).unwrap();
        assert!(
            !body.contains("hunter2") && !body.contains("db.internal"),
            "{body}"
        );
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn problem_has_the_rfc_9457_members() {
        let body = serde_json::to_value(ApiError::new(ErrorCode::NotFound, "x").problem()).unwrap();
        for member in ["type", "title", "status", "detail", "code"] {
            assert!(body.get(member).is_some(), "missing {member}: {body}");
        }
        assert_eq!(body["status"], 404);
        assert_eq!(body["code"], "not_found");
    }
}

#[cfg(test)]
mod extractor_tests {
    //! The extractor configuration of `http::configure_extractors`, exercised
    //! through actix's test service with a probe route (the real routes that
    //! take bodies and queries are tested over TLS in `tests/api`).

    use actix_web::{App, test, web};
    use serde::Deserialize;

    use crate::config::Settings;
    use crate::http::{configure_extractors, problem_errors};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialized")]
    struct Body {
        name: String,
        count: u8,
    }

    #[derive(Deserialize)]
    #[expect(dead_code, reason = "only deserialized")]
    struct Query {
        limit: u16,
    }

    async fn probe(_body: web::Json<Body>) -> &'static str {
        "ok"
    }

    async fn probe_query(_q: web::Query<Query>, _id: web::Path<uuid::Uuid>) -> &'static str {
        "ok"
    }

    async fn call(req: test::TestRequest) -> (u16, serde_json::Value, String) {
        let mut http = Settings::default().http;
        http.max_body_bytes = 64;
        let app = test::init_service(
            App::new()
                .configure(|cfg| configure_extractors(cfg, &http))
                .route("/probe", web::post().to(probe))
                .route("/items/{id}", web::get().to(probe_query))
                .wrap(problem_errors()),
        )
        .await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = test::read_body(res).await;
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, json, content_type)
    }

    fn post(body: &str) -> test::TestRequest {
        test::TestRequest::post()
            .uri("/probe")
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_owned())
    }

    #[actix_web::test]
    async fn malformed_json_is_400() {
        let (status, body, ct) = call(post("{\"name\": ")).await;
        assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
        assert_eq!(body["code"], "malformed_json");
    }

    #[actix_web::test]
    async fn unknown_fields_and_wrong_types_are_422() {
        let (status, body, _) = call(post(r#"{"name":"a","count":1,"role":"admin"}"#)).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("invalid_body")));
        let (status, body, _) = call(post(r#"{"name":"a","count":"1"}"#)).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("invalid_body")));
    }

    #[actix_web::test]
    async fn oversized_bodies_are_413() {
        let big = format!(r#"{{"name":"{}","count":1}}"#, "a".repeat(100));
        let (status, body, ct) = call(post(&big)).await;
        assert_eq!((status, ct.as_str()), (413, "application/problem+json"));
        assert_eq!(body["code"], "payload_too_large");
    }

    #[actix_web::test]
    async fn wrong_media_type_is_415() {
        let req = test::TestRequest::post()
            .uri("/probe")
            .insert_header(("content-type", "text/plain"))
            .set_payload("x");
        let (status, body, _) = call(req).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (415, Some("unsupported_media_type"))
        );
    }

    #[actix_web::test]
    async fn bad_query_and_path_parameters_are_400() {
        let id = uuid::Uuid::nil();
        let (status, body, _) =
            call(test::TestRequest::get().uri(&format!("/items/{id}?limit=lots"))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_query"))
        );
        let (status, body, _) =
            call(test::TestRequest::get().uri("/items/not-a-uuid?limit=1")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_path_parameter"))
        );
        let (status, _, _) =
            call(test::TestRequest::get().uri(&format!("/items/{id}?limit=1"))).await;
        assert_eq!(status, 200);
    }

    #[actix_web::test]
    async fn framework_500s_are_rendered_opaque() {
        async fn failing() -> actix_web::Result<&'static str> {
            Err(actix_web::error::ErrorInternalServerError(
                "connection to db.internal:5432 refused",
            ))
        }
        let app = test::init_service(
            App::new()
                .route("/fail", web::get().to(failing))
                .wrap(problem_errors()),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/fail").to_request()).await;
        assert_eq!(res.status().as_u16(), 500);
        let body = test::read_body(res).await;
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("db.internal"), "{text}");
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "internal");
    }
}
