//! Identity documents as a bank app uploads them and an officer downloads
//! them, over TLS, on both databases: real files, every limit, disguised
//! and dangerous content, encryption at rest and tampering, and a client
//! that goes away half-way.

use std::path::{Path, PathBuf};

use reqwest::Response;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::applications::create;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

/// The real sample files in `tests/fixtures/documents` (see its README for
/// where each comes from), by extension.
pub fn fixture(ext: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/documents");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
        .unwrap_or_else(|| panic!("no .{ext} fixture in {}", dir.display()));
    std::fs::read(path).unwrap()
}

/// A small valid PDF (ISO 32000-1 §7.5) with one page and `extra` inside a
/// comment, for tests that need a chosen size or content.
fn pdf(extra: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n%{extra}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
         2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
         3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\n\
         trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// A PNG signature and IHDR chunk claiming `width` × `height` (RFC 2083 §4.1.1).
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    out
}

struct Upload<'a> {
    kind: &'a str,
    side: Option<&'a str>,
    name: &'a str,
    mime: &'a str,
    bytes: Vec<u8>,
}

impl<'a> Upload<'a> {
    fn new(kind: &'a str, name: &'a str, mime: &'a str, bytes: Vec<u8>) -> Self {
        Self {
            kind,
            side: None,
            name,
            mime,
            bytes,
        }
    }

    fn form(self) -> Form {
        let mut form = Form::new().text("kind", self.kind.to_owned());
        if let Some(side) = self.side {
            form = form.text("side", side.to_owned());
        }
        let part = Part::bytes(self.bytes)
            .file_name(self.name.to_owned())
            .mime_str(self.mime)
            .unwrap();
        form.part("file", part)
    }
}

async fn upload(app: &TestApp, token: &str, id: &str, u: Upload<'_>) -> Response {
    app.client
        .post(format!("{}/v1/applications/{id}/documents", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(u.form())
        .send()
        .await
        .unwrap()
}

async fn raw_upload(
    app: &TestApp,
    token: &str,
    id: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Response {
    app.client
        .post(format!("{}/v1/applications/{id}/documents", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn list(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let res = app
        .get_as(&format!("/v1/applications/{id}/documents"), token)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn download(app: &TestApp, token: &str, id: &str, doc: &str) -> Response {
    app.get_as(
        &format!("/v1/applications/{id}/documents/{doc}/content"),
        token,
    )
    .await
}

/// Every file under the documents directory: blobs and staging files.
fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.settings.data_dir.join("documents"), &mut out);
    out
}

#[tokio::test]
async fn real_files_upload_list_and_download_byte_identical() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["applicant"]);
    let officer = app.token("olga", &["officer"]);
    let id = create(&app, &alice).await;
    let files = [
        ("passport", "pass.jpg", "image/jpeg", fixture("jpg")),
        ("selfie", "me.png", "image/png", fixture("png")),
        (
            "proof_of_address",
            "Stromrechnung März.pdf",
            "application/pdf",
            fixture("pdf"),
        ),
    ];
    let mut ids = Vec::new();
    for (kind, name, mime, bytes) in &files {
        let res = upload(
            &app,
            &alice,
            &id,
            Upload::new(kind, name, mime, bytes.clone()),
        )
        .await;
        assert_eq!(res.status(), 201, "{kind}: {}", res.text().await.unwrap());
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["content_type"], *mime);
        assert_eq!(doc["size_bytes"], bytes.len());
        ids.push(doc["id"].as_str().unwrap().to_owned());
    }
    let listed = list(&app, &alice, &id).await;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[2]["original_name"], "Stromrechnung März.pdf");
    assert!(listed[0]["width"].as_i64().unwrap() > 0);
    // Its pages sit in compressed object streams: counted there, or unknown.
    assert!(listed[2]["pages"].is_null() || listed[2]["pages"].as_i64().unwrap() >= 1);

    for ((_, _, mime, bytes), doc) in files.iter().zip(&ids) {
        let res = download(&app, &officer, &id, doc).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], *mime);
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert!(
            disposition.contains(doc.as_str()),
            "server-chosen name: {disposition}"
        );
        assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    // Applicants and auditors list but never download.
    assert_problem(download(&app, &alice, &id, &ids[0]).await, 403, "forbidden").await;
    let auditor = app.token("audrey", &["auditor"]);
    assert_problem(
        download(&app, &auditor, &id, &ids[0]).await,
        403,
        "forbidden",
    )
    .await;
    // Another applicant sees nothing.
    let mallory = app.token("mallory", &["applicant"]);
    let res = app
        .get_as(&format!("/v1/applications/{id}/documents"), &mallory)
        .await;
    assert_problem(res, 404, "not_found").await;

    // Every download is in the audit log (once the sequencer has placed it).
    let events = app
        .audit_events_until(&auditor, "action=document.downloaded", |e| e.len() >= 3)
        .await;
    assert_eq!(events.len(), 3);
}

#[tokio::test]
async fn the_same_bytes_are_recognized_and_a_new_file_replaces_the_old_one() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["applicant"]);
    let id = create(&app, &alice).await;
    let first = pdf("first");
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new(
            "proof_of_address",
            "a.pdf",
            "application/pdf",
            first.clone(),
        ),
    )
    .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    let again = upload(
        &app,
        &alice,
        &id,
        Upload::new(
            "proof_of_address",
            "b.pdf",
            "application/pdf",
            first.clone(),
        ),
    )
    .await;
    assert_eq!(again.status(), 200, "recognized, not stored twice");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], doc["id"]);
    // The same bytes as another kind: refused, naming the existing document.
    let other = upload(
        &app,
        &alice,
        &id,
        Upload::new("passport", "a.pdf", "application/pdf", first),
    )
    .await;
    assert_problem(other, 409, "duplicate_document").await;

    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new(
            "proof_of_address",
            "c.pdf",
            "application/pdf",
            pdf("second"),
        ),
    )
    .await;
    assert_eq!(res.status(), 201);
    let replacement: Value = res.json().await.unwrap();
    let listed = list(&app, &alice, &id).await;
    assert_eq!(
        listed.len(),
        2,
        "the replaced document is kept for the record"
    );
    assert_eq!(listed[0]["superseded_by"], replacement["id"]);
    assert!(listed[1]["superseded_by"].is_null());
    assert_eq!(stored_files(&app).len(), 2);

    // Cards need a side; passports refuse one.
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new("national_id_card", "id.pdf", "application/pdf", pdf("card")),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "side");
}

#[tokio::test]
async fn one_byte_over_each_limit_is_413_and_stores_nothing() {
    let app = spawn_app_with(|s| {
        s.documents.max_file_bytes = 2000;
        s.documents.max_request_bytes = 3000;
        s.documents.max_application_bytes = 3000;
        s.documents.max_documents_per_application = 3;
        s.documents.max_parts = 4;
        s.documents.max_part_header_bytes = 512;
    })
    .await;
    let alice = app.token("alice", &["applicant"]);
    let id = create(&app, &alice).await;
    let at_limit = |n: usize| pdf(&"x".repeat(n - pdf("").len()));

    // Per file: exactly the limit passes, one more byte does not.
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new(
            "proof_of_address",
            "a.pdf",
            "application/pdf",
            at_limit(2001),
        ),
    )
    .await;
    assert_problem(res, 413, "payload_too_large").await;
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new(
            "proof_of_address",
            "a.pdf",
            "application/pdf",
            at_limit(2000),
        ),
    )
    .await;
    assert_eq!(res.status(), 201);

    // Per application: 2000 used of 3000, so 1001 bytes is one too many.
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new("passport", "p.pdf", "application/pdf", at_limit(1001)),
    )
    .await;
    assert_problem(res, 413, "payload_too_large").await;
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new("passport", "p.pdf", "application/pdf", at_limit(1000)),
    )
    .await;
    assert_eq!(res.status(), 201);

    // Per request: a body over 3000 bytes, whatever it holds.
    let other = create_second(&app).await;
    let bob = app.token("bob", &["applicant"]);
    let mut body =
        b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\npassport\r\n".to_vec();
    body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n");
    body.extend(std::iter::repeat_n(b'x', 3001 - body.len() - 9));
    body.extend_from_slice(b"\r\n--b--\r\n");
    assert_eq!(body.len(), 3001);
    let res = raw_upload(&app, &bob, &other, "multipart/form-data; boundary=b", body).await;
    assert_problem(res, 413, "payload_too_large").await;

    // Parts: 10,000 tiny parts stop at the fifth.
    let mut body = Vec::new();
    for _ in 0..10_000 {
        body.extend_from_slice(
            b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nx\r\n",
        );
    }
    body.extend_from_slice(b"--b--\r\n");
    let res = raw_upload(&app, &bob, &other, "multipart/form-data; boundary=b", body).await;
    assert_problem(res, 413, "payload_too_large").await;

    // Part headers: 513 bytes of header block.
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\nX-Pad: ".to_vec();
    body.extend(std::iter::repeat_n(b'a', 600));
    body.extend_from_slice(b"\r\n\r\npassport\r\n--b--\r\n");
    let res = raw_upload(&app, &bob, &other, "multipart/form-data; boundary=b", body).await;
    assert_problem(res, 413, "payload_too_large").await;

    // Count per application: three documents fit, a fourth does not.
    for (kind, side) in [
        ("passport", None),
        ("proof_of_address", None),
        ("driving_licence", Some("front")),
    ] {
        let mut u = Upload::new(kind, "d.pdf", "application/pdf", pdf(kind));
        u.side = side;
        assert_eq!(upload(&app, &bob, &other, u).await.status(), 201);
    }
    let mut u = Upload::new("driving_licence", "d.pdf", "application/pdf", pdf("back"));
    u.side = Some("back");
    assert_problem(
        upload(&app, &bob, &other, u).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_eq!(list(&app, &bob, &other).await.len(), 3);
    assert_eq!(list(&app, &alice, &id).await.len(), 2);
    assert_eq!(stored_files(&app).len(), 5);
}

async fn create_second(app: &TestApp) -> String {
    create(app, &app.token("bob", &["applicant"])).await
}

#[tokio::test]
async fn disguised_and_dangerous_files_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["applicant"]);
    let id = create(&app, &alice).await;
    let cases: Vec<(Upload, u16, &str)> = vec![
        // A PDF labelled as a JPEG.
        (
            Upload::new("passport", "scan.jpg", "image/jpeg", pdf("x")),
            422,
            "document_rejected",
        ),
        // An HTML page named .jpg.
        (
            Upload::new(
                "passport",
                "scan.jpg",
                "image/jpeg",
                b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
            ),
            415,
            "unsupported_document_type",
        ),
        // An SVG selfie.
        (
            Upload::new(
                "selfie",
                "me.svg",
                "image/svg+xml",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec(),
            ),
            415,
            "unsupported_document_type",
        ),
        // A pixel flood: a PNG claiming 100,000 x 100,000 pixels.
        (
            Upload::new(
                "selfie",
                "big.png",
                "image/png",
                png_header(100_000, 100_000),
            ),
            422,
            "document_rejected",
        ),
        // A PDF with JavaScript.
        (
            Upload::new(
                "proof_of_address",
                "bill.pdf",
                "application/pdf",
                pdf("x\n4 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj"),
            ),
            422,
            "document_rejected",
        ),
        // A PDF as a selfie.
        (
            Upload::new("selfie", "me.pdf", "application/pdf", pdf("x")),
            422,
            "document_rejected",
        ),
        // A ZIP archive.
        (
            Upload::new(
                "passport",
                "p.zip",
                "application/octet-stream",
                b"PK\x03\x04\x14\x00\x00\x00".to_vec(),
            ),
            415,
            "unsupported_document_type",
        ),
        // Paths and hidden characters in the file name.
        (
            Upload::new(
                "proof_of_address",
                "../../etc/passwd",
                "application/pdf",
                pdf("x"),
            ),
            422,
            "validation_failed",
        ),
        (
            Upload::new(
                "proof_of_address",
                "bill\0.pdf",
                "application/pdf",
                pdf("x"),
            ),
            422,
            "validation_failed",
        ),
        (
            Upload::new(
                "proof_of_address",
                "fdp.\u{202E}exe",
                "application/pdf",
                pdf("x"),
            ),
            422,
            "validation_failed",
        ),
        (
            Upload::new("visa", "v.pdf", "application/pdf", pdf("x")),
            422,
            "validation_failed",
        ),
    ];
    for (u, status, code) in cases {
        let what = format!("{} {}", u.kind, u.name.escape_debug());
        let res = upload(&app, &alice, &id, u).await;
        assert_eq!(res.status(), status, "{what}");
        assert_problem(res, status, code).await;
    }
    // Broken multipart bodies.
    let res = raw_upload(
        &app,
        &alice,
        &id,
        "multipart/form-data",
        b"--b\r\n".to_vec(),
    )
    .await;
    assert_problem(res, 400, "malformed_multipart").await;
    let res = raw_upload(
        &app,
        &alice,
        &id,
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\npass".to_vec(),
    )
    .await;
    assert_problem(res, 400, "malformed_multipart").await;
    let res = raw_upload(&app, &alice, &id, "application/json", b"{}".to_vec()).await;
    assert_problem(res, 415, "unsupported_media_type").await;

    assert!(list(&app, &alice, &id).await.is_empty());
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

/// Blob layout (src/crypto/stream.rs): a header, then chunks of
/// `CHUNK_SIZE` plaintext bytes plus a 16-byte tag.
const SEALED_CHUNK: usize = kyc_gateway::crypto::stream::CHUNK_SIZE + 16;

#[tokio::test]
async fn blobs_are_unreadable_at_rest_and_tampering_fails_the_download() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["applicant"]);
    let officer = app.token("olga", &["officer"]);
    let id = create(&app, &alice).await;
    // Three chunks and a bit, so chunks can be swapped.
    let file =
        pdf(&"0123456789abcdef".repeat(3 * kyc_gateway::crypto::stream::CHUNK_SIZE / 16 + 100));
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new("proof_of_address", "a.pdf", "application/pdf", file.clone()),
    )
    .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    let doc = doc["id"].as_str().unwrap().to_owned();
    let blobs = stored_files(&app);
    assert_eq!(blobs.len(), 1);
    let blob = blobs[0].clone();
    assert!(
        !blob.to_string_lossy().contains("a.pdf"),
        "stored under a server-chosen name"
    );
    let sealed = std::fs::read(&blob).unwrap();
    assert!(
        !sealed.windows(4).any(|w| w == b"%PDF"),
        "no plaintext at rest"
    );
    assert!(!sealed.windows(16).any(|w| w == b"0123456789abcdef"));
    let header = kyc_gateway::crypto::stream::HEADER_LEN;
    let tampered: Vec<(&str, Vec<u8>)> = vec![
        ("a flipped byte", {
            let mut b = sealed.clone();
            b[header + 10] ^= 1;
            b
        }),
        ("a truncated blob", sealed[..sealed.len() - 17].to_vec()),
        (
            "a blob without its last chunk",
            sealed[..header + 3 * SEALED_CHUNK].to_vec(),
        ),
        ("two swapped chunks", {
            let mut b = sealed.clone();
            let (first, second) = (
                header..header + SEALED_CHUNK,
                header + SEALED_CHUNK..header + 2 * SEALED_CHUNK,
            );
            let one = b[first.clone()].to_vec();
            let two = b[second.clone()].to_vec();
            b[first].copy_from_slice(&two);
            b[second].copy_from_slice(&one);
            b
        }),
    ];
    for (what, bytes) in tampered {
        std::fs::write(&blob, &bytes).unwrap();
        let res = download(&app, &officer, &id, &doc).await;
        assert_eq!(res.status(), 500, "{what}");
        assert_problem(res, 500, "document_integrity_failed").await;
    }
    std::fs::write(&blob, &sealed).unwrap();
    let res = download(&app, &officer, &id, &doc).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), file.as_slice());
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_no_row_and_no_blob() {
    let app = spawn_app_with(|s| {
        s.documents.sweep_interval_secs = 1;
        s.documents.orphan_grace_secs = 0;
    })
    .await;
    let alice = app.token("alice", &["applicant"]);
    let id = create(&app, &alice).await;
    let mut head =
        b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nproof_of_address\r\n"
            .to_vec();
    head.extend_from_slice(
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n",
    );
    head.extend_from_slice(&pdf(&"y".repeat(600_000))[..500_000]);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(head),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the app was closed",
        )),
    ];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let sent = app
        .client
        .post(format!("{}/v1/applications/{id}/documents", app.address))
        .bearer_auth(&alice)
        .header("Idempotency-Key", "gone-away")
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .send()
        .await;
    assert!(sent.is_err() || !sent.unwrap().status().is_success());
    // The sweeper runs every second with no grace here.
    let mut files = stored_files(&app);
    for _ in 0..50 {
        if files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        files = stored_files(&app);
    }
    assert!(files.is_empty(), "{files:?}");
    assert!(list(&app, &alice, &id).await.is_empty());
    // And the application still takes the document afterwards.
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new("proof_of_address", "a.pdf", "application/pdf", pdf("z")),
    )
    .await;
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn submitted_applications_take_no_documents() {
    let app = spawn_app().await;
    let alice = app.token("alice", &["applicant"]);
    let id = create(&app, &alice).await;
    let res = app
        .client
        .post(format!("{}/v1/applications/{id}/withdraw", app.address))
        .bearer_auth(&alice)
        .header("Idempotency-Key", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = upload(
        &app,
        &alice,
        &id,
        Upload::new("passport", "p.pdf", "application/pdf", pdf("x")),
    )
    .await;
    assert_problem(res, 409, "documents_closed").await;
    assert!(stored_files(&app).is_empty());
}
