//! `GET /v1/me`: who the access token says the caller is.

use actix_web::web::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::auth::Principal;

/// The authenticated caller. Only what the token says about the caller; nothing
/// internal.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// `sub` of the access token.
    pub subject: String,
    /// The recognised roles.
    #[schema(example = json!(["officer"]))]
    pub roles: Vec<String>,
    /// The OAuth client the token was issued to (`client_id`, else `azp`).
    pub client_id: Option<String>,
    /// How the token is bound to this client: `mtls` (RFC 8705), `dpop` (RFC 9449),
    /// `mtls+dpop`, or `bearer` (unbound, where the route class allows it).
    #[schema(example = "dpop")]
    pub binding: String,
}

/// Returns the authenticated caller: subject, roles, client id and how the access
/// token is bound to the client. Any role may call it.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "identity",
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 200, description = "The authenticated caller", body = MeView),
        (status = 401, description = "Missing or rejected access token; see WWW-Authenticate",
            body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited; see Retry-After",
            body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(principal: Principal) -> Json<MeView> {
    Json(MeView {
        subject: principal.subject().to_owned(),
        roles: principal
            .roles()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        client_id: principal.client_id().map(str::to_owned),
        binding: principal.binding().as_str().to_owned(),
    })
}
