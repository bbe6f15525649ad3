//! The HTTP edge: routes (one folder per resource, one file per action),
//! extractor configuration, middleware, RFC 9457 errors and the OpenAPI
//! document. Handlers translate HTTP to use-case calls and back; they hold no
//! business rules and no SQL.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod checks;
pub mod client_ip;
pub mod documents;
pub mod errors;
pub mod health;
pub mod me;
pub mod meta;
pub mod middleware;
pub mod multipart;
pub mod rate_limit;
pub mod review;
pub mod sanctions;
pub mod webhooks;

use actix_web::middleware::ErrorHandlers;
use actix_web::{Resource, web};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::RouteClass;

use crate::config::HttpSettings;

/// The OpenAPI 3.1 document, assembled from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kyc-gateway",
        description = "Compliance stage of bank customer onboarding: applications, consents, \
                       documents, KYC checks, review and a verifiable audit log. \
                       Errors are RFC 9457 problem details with a stable `code`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        health::live::get_liveness,
        health::ready::get_readiness,
        meta::metrics::get_metrics,
        meta::openapi::get_openapi,
        meta::connection::get_connection,
        me::get::get_me,
        applications::create::create_application,
        applications::get::get_application,
        applications::list::list_applications,
        applications::submit::submit_application,
        applications::withdraw::withdraw_application,
        applications::consent_texts::get_consent_texts,
        applications::record_consents::record_consents,
        applications::consent_history::get_consent_history,
        documents::upload::upload_document,
        documents::list::list_documents,
        documents::download::download_document,
        checks::list_checks,
        review::list_cases,
        review::get_case,
        review::claim_case,
        review::release_case,
        review::add_note,
        review::decide_case,
        review::confirm_case,
        review::list_handoff_events,
        review::replay_handoff_event,
        audit::list_events::list_events,
        audit::get_checkpoint::get_checkpoint,
        audit::get_public_key::get_public_key,
        audit::inclusion_proof::get_inclusion_proof,
        audit::consistency_proof::get_consistency_proof,
        audit::export::export_audit_log,
        sanctions::screen::create_screening,
        sanctions::list::list_sanctions_lists,
        sanctions::reload::reload_sanctions_lists,
        webhooks::vendor::receive_vendor_webhook,
    ),
    components(schemas(errors::Problem, errors::ErrorCode, errors::FieldError, me::get::MeView)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health, metrics and service metadata"),
        (name = "identity", description = "The authenticated caller"),
        (name = "applications", description = "Onboarding applications"),
        (name = "consents", description = "Consent texts and decisions (GDPR Art. 7)"),
        (name = "documents", description = "Identity documents: streamed upload, metadata, audited download"),
        (name = "review", description = "The exceptions queue: claims, notes, decisions, four-eyes approval"),
        (name = "checks", description = "KYC checks run on submission: summaries for applicants, results with evidence for staff"),
        (name = "audit", description = "The verifiable audit log, for auditors"),
        (name = "screening", description = "Sanctions screening against official lists, explained match by match"),
        (name = "webhooks", description = "Events from providers, authenticated by their signature over the raw body")
    )
)]
pub struct ApiDoc;

/// The access-token schemes: `Authorization: Bearer` (RFC 6750) and
/// `Authorization: DPoP` with a `DPoP` proof header (RFC 9449).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        bearer.description = Some(
            "JWT access token (RFC 9068) from the bank's identity provider, signed with \
             PS256, ES256 or EdDSA. Certificate-bound tokens (RFC 8705, `cnf.x5t#S256`) \
             need the same client certificate on the TLS connection. Unbound tokens are \
             accepted only on route classes configured for them."
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "dpop",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Authorization: DPoP <token>` with a DPoP-bound access token (`cnf.jkt`) \
                 and a `DPoP` proof header (RFC 9449) for this method and URL.",
            ))),
        );
    }
}

/// Extractor limits and error rendering shared by every route.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, http: &HttpSettings) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(http.max_body_bytes)
            .error_handler(errors::json_error),
    )
    .app_data(web::PayloadConfig::new(http.max_body_bytes))
    .app_data(web::QueryConfig::default().error_handler(errors::query_error))
    .app_data(web::PathConfig::default().error_handler(errors::path_error));
}

/// A resource whose other methods answer 405 with `Allow`, rather than
/// falling through to the application's 404.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req| errors::method_not_allowed(req, allow)))
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/livez", "GET").get(health::live::get_liveness))
        .service(resource("/readyz", "GET").get(health::ready::get_readiness))
        .service(resource("/metrics", "GET").get(meta::metrics::get_metrics))
        .service(resource("/openapi.json", "GET").get(meta::openapi::get_openapi))
        .service(
            web::scope("/v1")
                .service(resource("/connection", "GET").get(meta::connection::get_connection))
                // Any authenticated caller; the applicant class's token policy and
                // rate limits apply.
                .service(
                    resource("/me", "GET")
                        .app_data(RouteClass::Applicant)
                        .get(me::get::get_me),
                )
                .service(
                    resource("/applications", "GET, POST")
                        .app_data(RouteClass::Applicant)
                        .post(applications::create::create_application)
                        .get(applications::list::list_applications),
                )
                .service(
                    resource("/applications/{id}", "GET")
                        .app_data(RouteClass::Applicant)
                        .get(applications::get::get_application),
                )
                .service(
                    resource("/applications/{id}/submit", "POST")
                        .app_data(RouteClass::Applicant)
                        .post(applications::submit::submit_application),
                )
                .service(
                    resource("/applications/{id}/withdraw", "POST")
                        .app_data(RouteClass::Applicant)
                        .post(applications::withdraw::withdraw_application),
                )
                .service(
                    resource("/applications/{id}/consent-texts", "GET")
                        .app_data(RouteClass::Applicant)
                        .get(applications::consent_texts::get_consent_texts),
                )
                .service(
                    resource("/applications/{id}/consents", "GET, POST")
                        .app_data(RouteClass::Applicant)
                        .get(applications::consent_history::get_consent_history)
                        .post(applications::record_consents::record_consents),
                )
                .service(
                    resource("/applications/{id}/documents", "GET, POST")
                        .app_data(RouteClass::Applicant)
                        .get(documents::list::list_documents)
                        .post(documents::upload::upload_document),
                )
                .service(
                    resource("/applications/{id}/documents/{document_id}/content", "GET")
                        .app_data(RouteClass::Applicant)
                        .get(documents::download::download_document),
                )
                .service(
                    resource("/applications/{id}/checks", "GET")
                        .app_data(RouteClass::Applicant)
                        .get(checks::list_checks),
                )
                .service(
                    resource("/review/cases", "GET")
                        .app_data(RouteClass::Staff)
                        .get(review::list_cases),
                )
                .service(
                    resource("/review/cases/{case_id}", "GET")
                        .app_data(RouteClass::Staff)
                        .get(review::get_case),
                )
                .service(
                    resource("/review/cases/{case_id}/claim", "POST")
                        .app_data(RouteClass::Staff)
                        .post(review::claim_case),
                )
                .service(
                    resource("/review/cases/{case_id}/release", "POST")
                        .app_data(RouteClass::Staff)
                        .post(review::release_case),
                )
                .service(
                    resource("/review/cases/{case_id}/notes", "POST")
                        .app_data(RouteClass::Staff)
                        .post(review::add_note),
                )
                .service(
                    resource("/review/cases/{case_id}/decision", "POST")
                        .app_data(RouteClass::Staff)
                        .post(review::decide_case),
                )
                .service(
                    resource("/review/cases/{case_id}/confirm", "POST")
                        .app_data(RouteClass::Staff)
                        .post(review::confirm_case),
                )
                .service(
                    resource("/admin/handoff/events", "GET")
                        .app_data(RouteClass::Staff)
                        .get(review::list_handoff_events),
                )
                .service(
                    resource("/admin/handoff/events/{event_id}/replay", "POST")
                        .app_data(RouteClass::Staff)
                        .post(review::replay_handoff_event),
                )
                .service(
                    resource("/audit/public-key", "GET").get(audit::get_public_key::get_public_key),
                )
                .service(
                    resource("/audit/events", "GET")
                        .app_data(RouteClass::Audit)
                        .get(audit::list_events::list_events),
                )
                .service(
                    resource("/audit/events/{event_id}/inclusion-proof", "GET")
                        .app_data(RouteClass::Audit)
                        .get(audit::inclusion_proof::get_inclusion_proof),
                )
                .service(
                    resource("/audit/checkpoint", "GET")
                        .app_data(RouteClass::Audit)
                        .get(audit::get_checkpoint::get_checkpoint),
                )
                .service(
                    resource("/audit/consistency-proof", "GET")
                        .app_data(RouteClass::Audit)
                        .get(audit::consistency_proof::get_consistency_proof),
                )
                .service(
                    resource("/audit/export", "GET")
                        .app_data(RouteClass::Audit)
                        .get(audit::export::export_audit_log),
                )
                .service(
                    resource("/screenings", "POST")
                        .app_data(RouteClass::Staff)
                        .post(sanctions::screen::create_screening),
                )
                .service(
                    resource("/sanctions/lists", "GET")
                        .app_data(RouteClass::Staff)
                        .get(sanctions::list::list_sanctions_lists),
                )
                .service(
                    resource("/admin/sanctions/reload", "POST")
                        .app_data(RouteClass::Staff)
                        .post(sanctions::reload::reload_sanctions_lists),
                )
                // No access token: the vendor signs each event (HMAC over the raw body).
                .service(
                    resource("/webhooks/vendor", "POST")
                        .post(webhooks::vendor::receive_vendor_webhook),
                ),
        );
}

/// The catch-all that turns framework error responses into problem+json.
pub fn problem_errors<B: actix_web::body::MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(errors::render_framework_error)
}
