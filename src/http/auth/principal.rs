//! [`Principal`]: the verified caller, as an actix extractor, and the function-level
//! role check every route makes with [`Principal::require_any`].

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::Authenticator;
use super::failures::{AuthFailure, AuthFailureKind, AuthFailureSink, report};
use crate::auth::{Role, RouteClass, SenderBinding};
use crate::http::errors::{ApiError, ErrorCode};

/// The authenticated caller of a request: built only from a verified access token
/// in the `Authorization` header (never the query string or a cookie), after the
/// route class's sender-constraint, `acr`/`auth_time` and rate-limit rules passed.
///
/// Take it as a handler argument; the route then answers 401 without a valid token.
/// The route class comes from the resource's `app_data(RouteClass::…)`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub(super) subject: String,
    pub(super) roles: Vec<Role>,
    pub(super) client_id: Option<String>,
    pub(super) acr: Option<String>,
    pub(super) auth_time: Option<i64>,
    pub(super) binding: SenderBinding,
    pub(super) route_class: RouteClass,
    pub(super) request: RequestFacts,
    pub(super) failures: Arc<dyn AuthFailureSink>,
}

/// What a failure report needs to say about the request.
#[derive(Debug, Clone)]
pub(super) struct RequestFacts {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
    pub method: String,
    pub path: String,
}

impl Principal {
    /// `sub` of the token.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The recognised roles (unknown role strings are ignored), sorted.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Whether the caller has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The OAuth client the token was issued to (`client_id`, else `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The authentication context class (`acr`), if the token has one.
    pub fn acr(&self) -> Option<&str> {
        self.acr.as_deref()
    }

    /// When the user last authenticated (`auth_time`, Unix seconds), if known.
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    /// How the token was bound to this client (mTLS, DPoP, or plain bearer).
    pub fn binding(&self) -> SenderBinding {
        self.binding
    }

    /// The class of the route this principal was authenticated for.
    pub fn route_class(&self) -> RouteClass {
        self.route_class
    }

    /// Function-level authorization: `Ok` if the caller has any of `roles`, else a
    /// 403 `forbidden` problem. The refusal is logged and reported to the failure
    /// sink with the subject.
    ///
    /// ```ignore
    /// async fn export_audit(principal: Principal) -> Result<HttpResponse, ApiError> {
    ///     principal.require_any(&[Role::Auditor])?;
    ///     // …
    /// }
    /// ```
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.iter().any(|r| self.has_role(*r)) {
            return Ok(());
        }
        Err(self.forbid("required role missing"))
    }

    /// A 403 for an object-level refusal decided by the caller (e.g. four-eyes),
    /// reported like [`Principal::require_any`]'s. Use 404 instead where the object's
    /// existence must not be revealed.
    pub fn forbid(&self, reason: &'static str) -> ApiError {
        report(
            self.failures.as_ref(),
            &AuthFailure {
                kind: AuthFailureKind::Authorization,
                reason,
                request_id: self.request.request_id.clone(),
                client_ip: self.request.client_ip,
                route_class: Some(self.route_class),
                subject: Some(self.subject.clone()),
                method: self.request.method.clone(),
                path: self.request.path.clone(),
            },
        );
        ApiError::new(
            ErrorCode::Forbidden,
            "Your roles do not allow this request.",
        )
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(auth) = req.app_data::<web::Data<Authenticator>>().cloned() else {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "no Authenticator registered as app data"
                )));
            };
            auth.authenticate(&req).await
        })
    }
}

#[cfg(test)]
mod tests {
    //! Function-level role checks and the staff login rules, through actix's test
    //! service with tokens from a dev key (the staff routes themselves land later).

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use actix_web::{App, test, web};
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::auth::SystemClock;
    use crate::auth::dev::load_dev_key;
    use crate::auth::setup::build_verifier;
    use crate::config::{DEV_AUDIENCE, DEV_ISSUER, Settings};
    use crate::http::auth::failures::AuthFailure;

    #[derive(Debug, Default)]
    struct Collect(Mutex<Vec<AuthFailure>>);

    impl AuthFailureSink for Collect {
        fn record(&self, failure: &AuthFailure) {
            self.0.lock().unwrap().push(failure.clone());
        }
    }

    async fn export_audit(principal: Principal) -> Result<&'static str, ApiError> {
        principal.require_any(&[Role::Auditor])?;
        Ok("exported")
    }

    struct Harness {
        settings: Settings,
        sink: Arc<Collect>,
        _dir: tempfile::TempDir,
    }

    impl Harness {
        fn new(customize: impl FnOnce(&mut Settings)) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut settings = Settings {
                data_dir: dir.path().to_owned(),
                ..Settings::default()
            };
            customize(&mut settings);
            Self {
                settings,
                sink: Arc::new(Collect::default()),
                _dir: dir,
            }
        }

        fn token(&self, roles: &[&str], extra: Value) -> String {
            let key = load_dev_key(&self.settings.dev_dir()).unwrap().unwrap();
            let mut claims: Map<String, Value> = json!({
                "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "carol", "roles": roles,
            })
            .as_object()
            .unwrap()
            .clone();
            claims.extend(extra.as_object().unwrap().clone());
            key.mint(&claims, &key.kid(), Duration::from_secs(300))
                .unwrap()
        }

        async fn call(&self, token: &str) -> (u16, Value, Vec<String>) {
            let verifier = build_verifier(&self.settings, Arc::new(SystemClock)).unwrap();
            let auth =
                Authenticator::new(verifier, &self.settings).with_failure_sink(self.sink.clone());
            let app = test::init_service(
                App::new().app_data(web::Data::new(auth)).service(
                    web::resource("/v1/audit/export")
                        .app_data(RouteClass::Audit)
                        .route(web::get().to(export_audit)),
                ),
            )
            .await;
            let req = test::TestRequest::get()
                .uri("/v1/audit/export")
                .insert_header(("authorization", format!("Bearer {token}")))
                .to_request();
            let res = test::call_service(&app, req).await;
            let status = res.status().as_u16();
            let challenges = res
                .headers()
                .get_all("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let body = test::read_body(res).await;
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            (status, json, challenges)
        }
    }

    #[actix_web::test]
    async fn a_route_admits_only_the_roles_it_names_and_reports_refusals() {
        let h = Harness::new(|_| {});
        // The verifier generates the dev key on first use.
        let _ = build_verifier(&h.settings, Arc::new(SystemClock)).unwrap();
        let (status, _, _) = h.call(&h.token(&["auditor"], json!({}))).await;
        assert_eq!(status, 200);

        let officer = h.token(&["officer", "applicant"], json!({}));
        let (status, body, _) = h.call(&officer).await;
        assert_eq!(status, 403);
        assert_eq!(body["code"], "forbidden");
        let failures = h.sink.0.lock().unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].kind, AuthFailureKind::Authorization);
        assert_eq!(failures[0].subject.as_deref(), Some("carol"));
        assert_eq!(failures[0].reason, "required role missing");
        assert!(!format!("{:?}", failures[0]).contains(&officer));
    }

    #[actix_web::test]
    async fn staff_routes_can_require_a_strong_and_recent_login() {
        let h = Harness::new(|s| {
            s.auth.staff_acr_values = vec!["urn:bank:loa:high".to_owned()];
            s.auth.staff_max_auth_age_secs = Some(600);
        });
        let _ = build_verifier(&h.settings, Arc::new(SystemClock)).unwrap();
        let now = chrono::Utc::now().timestamp();
        let strong = json!({"acr": "urn:bank:loa:high", "auth_time": now - 60});
        assert_eq!(h.call(&h.token(&["auditor"], strong)).await.0, 200);

        for (extra, reason) in [
            (json!({"auth_time": now - 60}), "acr too weak"),
            (
                json!({"acr": "urn:bank:loa:low", "auth_time": now - 60}),
                "acr too weak",
            ),
            (
                json!({"acr": "urn:bank:loa:high", "auth_time": now - 3600}),
                "auth_time too old",
            ),
            (json!({"acr": "urn:bank:loa:high"}), "auth_time too old"),
        ] {
            let (status, body, challenges) = h.call(&h.token(&["auditor"], extra)).await;
            assert_eq!(status, 401, "{body}");
            assert_eq!(body["code"], "insufficient_user_authentication");
            // RFC 9470 §3: the challenge tells the client what to ask the IdP for.
            assert!(
                challenges[0].contains("insufficient_user_authentication")
                    && challenges[0].contains("acr_values=\"urn:bank:loa:high\"")
                    && challenges[0].contains("max_age=\"600\""),
                "{challenges:?}"
            );
            assert!(
                h.sink
                    .0
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|f| f.reason.starts_with(reason)),
                "{reason}"
            );
        }
    }
}
