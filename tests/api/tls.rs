//! TLS only: no plaintext, no TLS 1.0/1.1, no CBC or non-ECDHE suites;
//! TLS 1.3 and h2 work; certificates reload without a restart; mTLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::helpers::{client_pki, client_trusting, spawn_app, spawn_app_with};

/// A minimal, hand-built TLS ClientHello (RFC 5246 §7.4.1.2), so the tests
/// can offer exactly what an old or weak client would.
fn client_hello(legacy_version: u16, suites: &[u16]) -> Vec<u8> {
    let mut ext = Vec::new();
    let mut push_ext = |kind: u16, data: &[u8]| {
        ext.extend_from_slice(&kind.to_be_bytes());
        ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
        ext.extend_from_slice(data);
    };
    let host = b"localhost";
    let mut sni = Vec::new();
    sni.extend_from_slice(&((host.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(host.len() as u16).to_be_bytes());
    sni.extend_from_slice(host);
    push_ext(0x0000, &sni); // server_name
    push_ext(0x000a, &[0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]); // groups: x25519, secp256r1
    push_ext(0x000b, &[0x01, 0x00]); // ec_point_formats: uncompressed
    push_ext(0x000d, &[0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01]); // signature_algorithms
    push_ext(0x0017, &[]); // extended_master_secret
    push_ext(0xff01, &[0x00]); // renegotiation_info

    let mut body = Vec::new();
    body.extend_from_slice(&legacy_version.to_be_bytes());
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);

    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// What the server answered to a ClientHello.
#[derive(Debug, PartialEq)]
enum Answer {
    ServerHello,
    Alert,
    Closed,
}

fn offer(port: u16, hello: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(hello).unwrap();
    let mut head = [0u8; 6];
    match stream.read_exact(&mut head) {
        Ok(()) if head[0] == 0x16 && head[5] == 0x02 => Answer::ServerHello,
        Ok(()) if head[0] == 0x15 => Answer::Alert,
        Ok(()) => panic!("unexpected answer {head:?}"),
        Err(_) if head[0] == 0x15 => Answer::Alert,
        Err(_) => Answer::Closed,
    }
}

const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
const ECDHE_ECDSA_AES128_CBC_SHA: u16 = 0xc009;
const ECDHE_ECDSA_AES256_CBC_SHA384: u16 = 0xc024;
const RSA_AES128_GCM: u16 = 0x009c; // static RSA key exchange
const RSA_AES128_CBC_SHA: u16 = 0x002f;
const DHE_RSA_AES128_GCM: u16 = 0x009e;

#[tokio::test]
async fn only_tls_12_with_ecdhe_aead_is_negotiated() {
    let app = spawn_app().await;
    let port = app.port;
    tokio::task::spawn_blocking(move || {
        // The control: a proper TLS 1.2 ECDHE + AES-GCM offer is answered,
        // which shows the hand-built hello itself is sound.
        assert_eq!(
            offer(port, &client_hello(0x0303, &[ECDHE_ECDSA_AES128_GCM])),
            Answer::ServerHello
        );
        for (name, hello) in [
            (
                "TLS 1.0",
                client_hello(
                    0x0301,
                    &[ECDHE_ECDSA_AES128_GCM, ECDHE_ECDSA_AES128_CBC_SHA],
                ),
            ),
            (
                "TLS 1.1",
                client_hello(
                    0x0302,
                    &[ECDHE_ECDSA_AES128_GCM, ECDHE_ECDSA_AES128_CBC_SHA],
                ),
            ),
            (
                "TLS 1.2 CBC only",
                client_hello(
                    0x0303,
                    &[
                        ECDHE_ECDSA_AES128_CBC_SHA,
                        ECDHE_ECDSA_AES256_CBC_SHA384,
                        RSA_AES128_CBC_SHA,
                    ],
                ),
            ),
            (
                "TLS 1.2 non-ECDHE",
                client_hello(0x0303, &[RSA_AES128_GCM, DHE_RSA_AES128_GCM]),
            ),
        ] {
            assert_ne!(
                offer(port, &hello),
                Answer::ServerHello,
                "{name} was accepted"
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn plaintext_http_gets_no_http_response() {
    let app = spawn_app().await;
    let port = app.port;
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        buf
    })
    .await
    .unwrap();
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plaintext answered: {answer:?}"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("ok"));
}

#[tokio::test]
async fn tls13_and_http2_work() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/v1/connection", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["protocol"], "TLSv1_3");
    assert_eq!(body["alpn"], "h2");
    assert!(body["client_certificate"].is_null());

    // A TLS 1.2-only client is served too, with an ECDHE AEAD suite.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls12 = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(root_store(&app.ca_cert))
        .with_no_client_auth();
    let mut tls12 = tls12;
    tls12.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls12)
        .build()
        .unwrap();
    let body: serde_json::Value = client
        .get(format!("{}/v1/connection", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["protocol"], "TLSv1_2");
    let suite = body["cipher_suite"].as_str().unwrap();
    assert!(
        suite.starts_with("TLS_ECDHE_") && (suite.contains("GCM") || suite.contains("CHACHA20")),
        "{suite}"
    );
}

fn root_store(ca: &Path) -> rustls::RootCertStore {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

async fn served_certificate(client: &reqwest::Client, address: &str) -> Vec<u8> {
    let res = client.get(format!("{address}/livez")).send().await.unwrap();
    let info = res.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    info.peer_certificate().unwrap().to_vec()
}

fn first_cert_der(pem: &Path) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_file_iter(pem)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn replaced_certificate_files_are_served_without_restart() {
    let certs = tempfile::tempdir().unwrap();
    let old = kyc_gateway::tls::ensure_dev_certificates(&certs.path().join("old")).unwrap();
    let new = kyc_gateway::tls::ensure_dev_certificates(&certs.path().join("new")).unwrap();
    let (cert, key) = (certs.path().join("live.pem"), certs.path().join("live.key"));
    std::fs::copy(&old.server_cert, &cert).unwrap();
    std::fs::copy(&old.server_key, &key).unwrap();
    let app = spawn_app_with(|s| {
        s.tls.cert_path = Some(cert.clone());
        s.tls.key_path = Some(key.clone());
    })
    .await;
    let cas = [old.ca_cert.as_path(), new.ca_cert.as_path()];
    assert_eq!(
        served_certificate(&client_trusting(&cas, None), &app.address).await,
        first_cert_der(&old.server_cert)
    );

    // A deployment tool swaps the files; the key first, so for a moment they
    // do not match: the gateway must keep serving the old certificate.
    std::fs::copy(&new.server_key, &key).unwrap();
    std::fs::copy(&new.server_cert, &cert).unwrap();
    let want = first_cert_der(&new.server_cert);
    let mut served = Vec::new();
    for _ in 0..50 {
        // A new client per attempt: new connections get the new certificate.
        served = served_certificate(&client_trusting(&cas, None), &app.address).await;
        if served == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(served, want, "the new certificate was never served");
}

#[tokio::test]
async fn client_certificates_are_verified_and_visible_to_handlers() {
    let pki_dir = tempfile::tempdir().unwrap();
    let bank = client_pki(pki_dir.path(), "core-banking");
    let stranger = client_pki(pki_dir.path(), "stranger");
    let ca = bank.ca_cert.clone();
    let app = spawn_app_with(|s| s.tls.client_ca_path = Some(ca)).await;

    let client = client_trusting(&[&app.ca_cert], Some((&bank.cert, &bank.key)));
    let body: serde_json::Value = client
        .get(format!("{}/v1/connection", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    use base64::Engine as _;
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::digest::digest(&ring::digest::SHA256, &bank.cert_der));
    assert_eq!(body["client_certificate"]["x5t_s256"], thumbprint);

    // Without a certificate (optional mode) the app still works, anonymously.
    let body: serde_json::Value = app
        .client
        .get(format!("{}/v1/connection", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["client_certificate"].is_null());

    // A certificate from another CA fails the handshake.
    let other = client_trusting(&[&app.ca_cert], Some((&stranger.cert, &stranger.key)));
    assert!(
        other
            .get(format!("{}/livez", app.address))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn required_client_certificates_refuse_anonymous_clients() {
    let pki_dir = tempfile::tempdir().unwrap();
    let bank = client_pki(pki_dir.path(), "core-banking");
    let ca = bank.ca_cert.clone();
    let app = spawn_app_with(|s| {
        s.tls.client_ca_path = Some(ca);
        s.tls.client_cert_required = true;
    })
    .await;
    assert!(
        app.client
            .get(format!("{}/livez", app.address))
            .send()
            .await
            .is_err()
    );
    let client = client_trusting(&[&app.ca_cert], Some((&bank.cert, &bank.key)));
    let res = client
        .get(format!("{}/livez", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_dev_certificate_names_localhost_and_loopback_addresses() {
    let app = spawn_app().await;
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}/livez", app.port);
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
    // ::1 is checked against the certificate directly: the listener here is
    // IPv4 only.
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    let verifier = rustls::client::WebPkiServerVerifier::builder(std::sync::Arc::new(root_store(
        &app.ca_cert,
    )))
    .build()
    .unwrap();
    let leaf = rustls::pki_types::CertificateDer::from(first_cert_der(
        &app.settings.dev_dir().join("server.pem"),
    ));
    for name in ["::1", "127.0.0.1", "localhost"] {
        let server_name = ServerName::try_from(name).unwrap();
        verifier
            .verify_server_cert(&leaf, &[], &server_name, &[], UnixTime::now())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let other = ServerName::try_from("bank.example").unwrap();
    assert!(
        verifier
            .verify_server_cert(&leaf, &[], &other, &[], UnixTime::now())
            .is_err()
    );
}
