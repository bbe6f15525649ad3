//! `GET /v1/connection`: what the gateway sees of the caller's TLS connection,
//! for integrators setting up mTLS and certificate-bound tokens.

use actix_web::HttpRequest;
use actix_web::web::Json;
use base64::Engine as _;
use serde::Serialize;
use utoipa::ToSchema;

use crate::tls::ConnectionInfo;

/// The caller's TLS connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    /// `TLSv1_3` or `TLSv1_2`.
    pub protocol: String,
    /// Negotiated cipher suite.
    pub cipher_suite: String,
    /// Negotiated ALPN protocol (`h2` or `http/1.1`).
    pub alpn: Option<String>,
    /// The verified client certificate, when mTLS is in use.
    pub client_certificate: Option<ClientCertificateView>,
}

/// A verified client certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCertificateView {
    /// base64url SHA-256 of the DER certificate: the `x5t#S256` value a
    /// certificate-bound access token carries (RFC 8705 §3.1).
    pub x5t_s256: String,
}

/// Describes the caller's TLS connection: protocol, cipher suite, ALPN, and
/// the thumbprint of the client certificate the gateway verified, if any.
#[utoipa::path(
    get,
    path = "/v1/connection",
    tag = "operations",
    responses((status = 200, description = "The caller's TLS connection", body = ConnectionView))
)]
pub async fn get_connection(req: HttpRequest) -> Json<ConnectionView> {
    let info = req.conn_data::<ConnectionInfo>();
    Json(ConnectionView {
        protocol: info.map(|i| i.protocol.clone()).unwrap_or_default(),
        cipher_suite: info.map(|i| i.cipher_suite.clone()).unwrap_or_default(),
        alpn: info.and_then(|i| i.alpn.clone()),
        client_certificate: info.and_then(|i| i.client_certificate.as_ref()).map(|der| {
            ClientCertificateView {
                x5t_s256: base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(ring::digest::digest(&ring::digest::SHA256, der.as_ref())),
            }
        }),
    })
}
