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
