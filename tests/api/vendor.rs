//! The document and liveness vendor over real HTTP: a local fake vendor
//! (wiremock, modelled on Onfido v3.6) behind the gateway's adapter, and
//! webhooks signed as the vendor signs them. Also the sandbox provider of the
//! dev profile, and a gateway killed while a vendor call hangs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::checks::{application, gateway, identity, submit, td3, upload_passport};
use crate::documents::fixture;
use crate::helpers::{TestApp, assert_problem};

const TOKEN: &str = "test-vendor-token-0001";
const SECRET: &str = "whsec-test-0123456789abcdef";

/// One check the fake vendor holds.
#[derive(Debug, Clone)]
struct FakeCheck {
    id: String,
    applicant_id: String,
    report: String,
}

/// What the fake vendor has seen and how it behaves.
#[derive(Debug, Default)]
struct VendorState {
    applicants: u32,
    uploads: u32,
    checks: Vec<FakeCheck>,
    create_calls: u32,
    check_reads: u32,
    /// Answer 500 to this many check creations (after creating nothing).
    fail_creates: u32,
    /// Create the check but answer only after a minute.
    hang_creates: bool,
    /// `GET /checks/{id}` says complete with this result.
    result: Option<&'static str>,
    unauthenticated: u32,
}

#[derive(Clone)]
struct FakeVendor(Arc<Mutex<VendorState>>);

fn created(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(body)
}

impl Respond for FakeVendor {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if auth != format!("Token token={TOKEN}") {
            s.unauthenticated += 1;
            return ResponseTemplate::new(401);
        }
        let path = req.url.path().trim_start_matches("/v3.6").to_owned();
        match (req.method.as_str(), path.as_str()) {
            ("POST", "/applicants") => {
                let body: Value = serde_json::from_slice(&req.body).unwrap();
                assert!(body["last_name"].is_string() && body["dob"].is_string());
                s.applicants += 1;
                created(json!({ "id": format!("app_{}", s.applicants) }))
            }
            ("POST", "/documents") | ("POST", "/live_photos") => {
                let body = String::from_utf8_lossy(&req.body);
                assert!(body.contains("name=\"applicant_id\"") && body.contains("name=\"file\""));
                s.uploads += 1;
                created(json!({ "id": format!("up_{}", s.uploads) }))
            }
            ("GET", "/checks") => {
                let applicant = req
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "applicant_id")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let checks: Vec<Value> = s
                    .checks
                    .iter()
                    .filter(|c| c.applicant_id == applicant)
                    .map(|c| json!({ "id": c.id, "status": "in_progress", "result": null }))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({ "checks": checks }))
            }
            ("POST", "/checks") => {
                s.create_calls += 1;
                if s.fail_creates > 0 {
                    s.fail_creates -= 1;
                    return ResponseTemplate::new(500);
                }
                let body: Value = serde_json::from_slice(&req.body).unwrap();
                let check = FakeCheck {
                    id: format!("chk_{}", s.checks.len() + 1),
                    applicant_id: body["applicant_id"].as_str().unwrap().to_owned(),
                    report: body["report_names"][0].as_str().unwrap().to_owned(),
                };
                s.checks.push(check.clone());
                let answer =
                    created(json!({ "id": check.id, "status": "in_progress", "result": null }));
                if s.hang_creates {
                    answer.set_delay(Duration::from_secs(60))
                } else {
                    answer
                }
            }
            ("GET", p) if p.starts_with("/checks/") => {
                s.check_reads += 1;
                let id = p.trim_start_matches("/checks/");
                if !s.checks.iter().any(|c| c.id == id) {
                    return ResponseTemplate::new(404);
                }
                let body = match s.result {
                    Some(r) => json!({ "id": id, "status": "complete", "result": r }),
                    None => json!({ "id": id, "status": "in_progress", "result": null }),
                };
                ResponseTemplate::new(200).set_body_json(body)
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

async fn fake_vendor() -> (MockServer, Arc<Mutex<VendorState>>) {
    let server = MockServer::start().await;
    let state = Arc::new(Mutex::new(VendorState::default()));
    Mock::given(any())
        .respond_with(FakeVendor(Arc::clone(&state)))
        .mount(&server)
        .await;
    (server, state)
}

/// Vendor settings pointing at `uri`, with quick polls and retries.
fn use_vendor(s: &mut kyc_gateway::config::Settings, uri: &str) {
    s.vendor.base_url = Some(format!("{uri}/v3.6"));
    s.vendor.allow_http = true;
    s.vendor.api_token = Some(SecretString::from(TOKEN));
    s.vendor.webhook_secret = Some(SecretString::from(SECRET));
    s.vendor.request_timeout_ms = 2000;
    s.vendor.retry_backoff_ms = 20;
    s.vendor.poll_interval_secs = 1;
    s.checks.backoff_base_ms = 50;
    s.checks.backoff_cap_secs = 1;
}

async fn upload_selfie(app: &TestApp, token: &str, id: &str) {
    let part = Part::bytes(fixture("png"))
        .file_name("me.png")
        .mime_str("image/png")
        .unwrap();
    let res = app
        .client
        .post(format!("{}/v1/applications/{id}/documents", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(Form::new().text("kind", "selfie").part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// An application with a passport and a selfie, submitted.
async fn submitted(app: &TestApp, sub: &str, family: &str) -> String {
    let token = app.token(sub, &["applicant"]);
    let id = application(
        app,
        &token,
        identity("Anna Maria", family, "1974-08-12", "SE"),
    )
    .await;
    let names = format!("{}<<ANNA<MARIA", family.to_uppercase());
    let mrz = td3("SWE", &names, "L898902C3", "SWE", "740812", 'F', "340415");
    let res = upload_passport(app, &token, &id, Some(&mrz), "passport").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    upload_selfie(app, &token, &id).await;
    submit(app, &token, &id).await;
    id
}

async fn checks_at(client: &reqwest::Client, address: &str, token: &str, id: &str) -> Vec<Value> {
    let res = client
        .get(format!("{address}/v1/applications/{id}/checks"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn kind<'a>(checks: &'a [Value], kind: &str) -> &'a Value {
    checks.iter().find(|c| c["kind"] == kind).unwrap()
}

/// Waits (bounded) until `done` holds for the staff view of the checks.
async fn wait_checks(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    id: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..300 {
        let checks = checks_at(client, address, token, id).await;
        if done(&checks) {
            return checks;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {:?}", checks_at(client, address, token, id).await);
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}");
}

fn all_ended(checks: &[Value]) -> bool {
    checks.len() == 4 && checks.iter().all(|c| c["state"] != "pending")
}

fn sign(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn event(event_id: &str, vendor_check: &str, age: chrono::Duration) -> Vec<u8> {
    let created = (chrono::Utc::now() - age).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::to_vec(&json!({
        "payload": {
            "event_id": event_id,
            "created_at_iso8601": created,
            "resource_type": "check",
            "action": "check.completed",
            "object": { "id": vendor_check, "status": "complete", "href": format!("/v3.6/checks/{vendor_check}") }
        }
    }))
    .unwrap()
}

async fn deliver(app: &TestApp, body: Vec<u8>, signature: Option<String>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/v1/webhooks/vendor", app.address))
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header("X-SHA2-Signature", sig);
    }
    req.send().await.unwrap()
}

async fn ack(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn vendor_check_of(state: &Arc<Mutex<VendorState>>, report: &str) -> String {
    let s = state.lock().unwrap();
    s.checks
        .iter()
        .find(|c| c.report == report)
        .unwrap()
        .id
        .clone()
}

#[tokio::test]
async fn a_vendor_failing_twice_then_answering_gives_one_vendor_check_and_the_results_are_stored() {
    let (vendor, state) = fake_vendor().await;
    state.lock().unwrap().fail_creates = 2;
    let uri = vendor.uri();
    let app = gateway(true, |s| use_vendor(s, &uri)).await;
    let officer = app.token("olga", &["officer"]);
    let id = submitted(&app, "anna", "Eriksson").await;

    wait_until("both vendor checks created", || {
        state.lock().unwrap().checks.len() == 2
    })
    .await;
    {
        let s = state.lock().unwrap();
        assert_eq!(s.create_calls, 4, "2 × 500, then one creation per check");
        assert_eq!(s.applicants, 2, "one applicant per check");
        assert_eq!(s.unauthenticated, 0);
        let mut owners: Vec<_> = s.checks.iter().map(|c| c.applicant_id.clone()).collect();
        owners.dedup();
        assert_eq!(
            owners.len(),
            2,
            "one vendor check per applicant: {:?}",
            s.checks
        );
    }
    let checks = wait_checks(
        &app.client,
        &app.address,
        &officer,
        &id,
        "built-ins end",
        |c| c.len() == 4 && c.iter().filter(|c| c["state"] == "pending").count() == 2,
    )
    .await;
    assert_eq!(kind(&checks, "document")["provider"], "vendor");
    assert_eq!(kind(&checks, "document")["state"], "pending");

    // The vendor finishes; its webhook ends the document check at once.
    state.lock().unwrap().result = Some("clear");
    let doc = vendor_check_of(&state, "document");
    let body = event("evt_1", &doc, chrono::Duration::zero());
    let sig = sign(SECRET, &body);
    assert_eq!(
        ack(deliver(&app, body.clone(), Some(sig.clone())).await).await,
        "applied"
    );
    // The poller (every second) ends the liveness check without a webhook.
    let checks = wait_checks(
        &app.client,
        &app.address,
        &officer,
        &id,
        "all end",
        all_ended,
    )
    .await;
    let d = kind(&checks, "document");
    assert_eq!(d["state"], "clear", "{d}");
    assert_eq!(d["evidence"]["vendor_check_id"], doc.as_str());
    let l = kind(&checks, "liveness");
    assert_eq!(l["state"], "clear", "{l}");
    assert_eq!(
        l["evidence"]["report_names"],
        json!(["facial_similarity_photo"])
    );
    // Nothing was created twice, whatever the retries and polls did.
    assert_eq!(state.lock().unwrap().checks.len(), 2);
    assert_eq!(state.lock().unwrap().create_calls, 4);
}

#[tokio::test]
async fn the_daily_spending_cap_stops_billable_calls_and_the_check_ends_in_error() {
    let (vendor, state) = fake_vendor().await;
    let uri = vendor.uri();
    let app = gateway(true, |s| {
        use_vendor(s, &uri);
        s.vendor.daily_check_cap = 1;
        s.checks.max_attempts = 2;
    })
    .await;
    let officer = app.token("olga", &["officer"]);
    let id = submitted(&app, "anna", "Eriksson").await;
    let checks = wait_checks(&app.client, &app.address, &officer, &id, "one ends", |c| {
        c.len() == 4 && c.iter().any(|c| c["state"] == "error")
    })
    .await;
    let capped: Vec<&Value> = checks.iter().filter(|c| c["state"] == "error").collect();
    assert_eq!(capped.len(), 1, "{checks:?}");
    assert_eq!(capped[0]["reason_codes"], json!(["provider_spending_cap"]));
    let s = state.lock().unwrap();
    assert_eq!(
        (s.create_calls, s.checks.len()),
        (1, 1),
        "one billable call only"
    );
}

#[tokio::test]
async fn webhooks_with_a_bad_signature_a_reserialized_body_an_old_time_or_a_seen_id_change_nothing()
{
    let (vendor, state) = fake_vendor().await;
    let uri = vendor.uri();
    let app = gateway(true, |s| {
        use_vendor(s, &uri);
        // No polling during this test: only webhooks may end a check.
        s.vendor.poll_interval_secs = 3600;
    })
    .await;
    let officer = app.token("olga", &["officer"]);
    let id = submitted(&app, "anna", "Eriksson").await;
    wait_until("vendor checks created", || {
        state.lock().unwrap().checks.len() == 2
    })
    .await;
    wait_checks(&app.client, &app.address, &officer, &id, "linked", |c| {
        c.len() == 4 && c.iter().filter(|c| c["state"] == "pending").count() == 2
    })
    .await;
    state.lock().unwrap().result = Some("consider");
    let doc = vendor_check_of(&state, "document");
    let body = event("evt_a", &doc, chrono::Duration::zero());

    // Signed with another secret, or not signed.
    let res = deliver(
        &app,
        body.clone(),
        Some(sign("another-secret-value-123", &body)),
    )
    .await;
    assert_problem(res, 401, "invalid_webhook_signature").await;
    let res = deliver(&app, body.clone(), None).await;
    assert_problem(res, 401, "invalid_webhook_signature").await;
    let res = deliver(&app, body.clone(), Some("zz".into())).await;
    assert_problem(res, 401, "invalid_webhook_signature").await;
    // The same JSON in other bytes: the signature is over the bytes.
    let reserialized =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    assert_ne!(reserialized, body);
    let res = deliver(&app, reserialized, Some(sign(SECRET, &body))).await;
    assert_problem(res, 401, "invalid_webhook_signature").await;
    // Correctly signed, but an hour old: a replay.
    let old = event("evt_old", &doc, chrono::Duration::hours(1));
    let res = deliver(&app, old.clone(), Some(sign(SECRET, &old))).await;
    assert_problem(res, 401, "webhook_expired").await;
    // Signed, for a check the gateway never created: logged, nothing changed.
    let unknown = event("evt_unknown", "chk_999", chrono::Duration::zero());
    assert_eq!(
        ack(deliver(&app, unknown.clone(), Some(sign(SECRET, &unknown))).await).await,
        "ignored"
    );
    // Signed garbage is refused.
    let junk = br#"{"payload": {"event_id": 5}}"#.to_vec();
    let res = deliver(&app, junk.clone(), Some(sign(SECRET, &junk))).await;
    assert_problem(res, 422, "invalid_body").await;

    let checks = checks_at(&app.client, &app.address, &officer, &id).await;
    assert_eq!(kind(&checks, "document")["state"], "pending");
    assert_eq!(state.lock().unwrap().check_reads, 0, "nothing was acted on");

    // The genuine event ends the check once.
    assert_eq!(
        ack(deliver(&app, body.clone(), Some(sign(SECRET, &body))).await).await,
        "applied"
    );
    let checks = checks_at(&app.client, &app.address, &officer, &id).await;
    let d = kind(&checks, "document").clone();
    assert_eq!(d["state"], "consider", "{d}");
    assert_eq!(d["reason_codes"], json!(["document_consider"]));
    // Replayed (the same bytes, or the same id re-signed later): no effect.
    assert_eq!(
        ack(deliver(&app, body.clone(), Some(sign(SECRET, &body))).await).await,
        "duplicate"
    );
    let again = event("evt_a", &doc, chrono::Duration::seconds(-2));
    assert_eq!(
        ack(deliver(&app, again.clone(), Some(sign(SECRET, &again))).await).await,
        "duplicate"
    );
    // A new event for the ended check: logged, nothing changed.
    let late = event("evt_b", &doc, chrono::Duration::zero());
    assert_eq!(
        ack(deliver(&app, late.clone(), Some(sign(SECRET, &late))).await).await,
        "ignored"
    );
    assert_eq!(
        state.lock().unwrap().check_reads,
        1,
        "read once, for the genuine event"
    );
    let checks = checks_at(&app.client, &app.address, &officer, &id).await;
    assert_eq!(kind(&checks, "document"), &d, "unchanged");
    assert_eq!(kind(&checks, "liveness")["state"], "pending");
}

#[tokio::test]
async fn a_vendor_that_never_answers_times_out_opens_the_circuit_and_nothing_is_cleared() {
    let vendor = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(60)))
        .mount(&vendor)
        .await;
    let uri = vendor.uri();
    let app = gateway(true, |s| {
        use_vendor(s, &uri);
        s.vendor.request_timeout_ms = 300;
        s.vendor.max_retries = 1;
        s.vendor.circuit_failure_threshold = 4;
        s.vendor.circuit_cooldown_secs = 600;
        s.checks.max_attempts = 3;
        s.checks.provider_timeout_secs = 5;
    })
    .await;
    let officer = app.token("olga", &["officer"]);
    let id = submitted(&app, "anna", "Eriksson").await;
    let checks = wait_checks(
        &app.client,
        &app.address,
        &officer,
        &id,
        "all end",
        all_ended,
    )
    .await;
    for k in ["document", "liveness"] {
        let c = kind(&checks, k);
        assert_eq!(c["state"], "error", "{c}");
        assert_eq!(c["evidence"]["attempts"], 3, "{c}");
        // The last attempts found the circuit open and sent nothing.
        assert_eq!(c["reason_codes"], json!(["provider_circuit_open"]), "{c}");
    }
    // Two timed-out attempts per check, then the breaker held every request back.
    let sent = vendor.received_requests().await.unwrap();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent.iter().all(|r| r.url.path() == "/v3.6/applicants"));
}

/// A gateway whose vendor answers `answer` to every request.
async fn vendor_answering(answer: ResponseTemplate) -> (MockServer, TestApp) {
    let vendor = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&vendor).await;
    let uri = vendor.uri();
    let app = gateway(true, |s| {
        use_vendor(s, &uri);
        s.checks.max_attempts = 2;
    })
    .await;
    (vendor, app)
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "app_1" })))
        .mount(&elsewhere)
        .await;
    let (_vendor, app) = vendor_answering(ResponseTemplate::new(302).insert_header(
        "location",
        format!("{}/v3.6/applicants", elsewhere.uri()).as_str(),
    ))
    .await;
    let officer = app.token("olga", &["officer"]);
    let id = submitted(&app, "anna", "Eriksson").await;
    let checks = wait_checks(
        &app.client,
        &app.address,
        &officer,
        &id,
        "all end",
        all_ended,
    )
    .await;
    for k in ["document", "liveness"] {
        let c = kind(&checks, k);
        assert_eq!(c["state"], "error", "{c}");
        assert_eq!(
            c["reason_codes"],
            json!(["provider_redirect_refused"]),
            "{c}"
        );
    }
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_malformed_vendor_answer_is_an_error_not_a_panic() {
    for body in [
        r#"{"id": 42}"#,
        "<html>oops</html>",
        r#"{"id": "../../admin"}"#,
    ] {
        let (_vendor, app) = vendor_answering(
            ResponseTemplate::new(201).set_body_raw(body.as_bytes().to_vec(), "application/json"),
        )
        .await;
        let officer = app.token("olga", &["officer"]);
        let id = submitted(&app, "anna", "Eriksson").await;
        let checks = wait_checks(
            &app.client,
            &app.address,
            &officer,
            &id,
            "all end",
            all_ended,
        )
        .await;
        for k in ["document", "liveness"] {
            let c = kind(&checks, k);
            assert_eq!(c["state"], "error", "{body}: {c}");
            assert_eq!(c["reason_codes"], json!(["provider_bad_response"]), "{c}");
        }
        // The gateway is still serving.
        let res = app
            .client
            .get(format!("{}/livez", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn the_sandbox_forces_outcomes_by_family_name_and_a_timeout_never_clears() {
    let app = gateway(true, |s| {
        s.checks.max_attempts = 2;
        s.checks.provider_timeout_secs = 1;
        s.checks.lease_secs = 5;
        s.checks.backoff_base_ms = 50;
    })
    .await;
    let officer = app.token("olga", &["officer"]);
    let webhook = deliver(&app, b"{}".to_vec(), Some(sign(SECRET, b"{}"))).await;
    assert_problem(webhook, 404, "not_found").await;
    for (family, want) in [
        ("Eriksson", "clear"),
        ("Considerata", "consider"),
        ("Failsworth", "fail"),
        ("Timeoutova", "error"),
    ] {
        let id = submitted(&app, &format!("user-{family}"), family).await;
        let checks = wait_checks(
            &app.client,
            &app.address,
            &officer,
            &id,
            "all end",
            all_ended,
        )
        .await;
        for k in ["document", "liveness"] {
            let c = kind(&checks, k);
            assert_eq!(c["provider"], "sandbox");
            assert_eq!(c["state"], want, "{family}: {c}");
            if want == "error" {
                assert_eq!(c["reason_codes"], json!(["provider_timeout"]), "{c}");
            }
        }
    }
}

#[tokio::test]
async fn a_gateway_killed_while_a_vendor_call_hangs_completes_every_check_exactly_once_after_restart()
 {
    let (vendor, state) = fake_vendor().await;
    state.lock().unwrap().hang_creates = true;
    let uri = vendor.uri();
    // The first gateway runs on a runtime of its own, so that shutting the
    // runtime down stops its worker mid-call, as a crash would.
    let (doomed, app) = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = runtime.block_on(gateway(true, |s| {
            use_vendor(s, &uri);
            s.vendor.request_timeout_ms = 1500;
            s.checks.lease_secs = 3;
            s.checks.provider_timeout_secs = 2;
        }));
        (runtime, app)
    })
    .join()
    .unwrap();
    let id = submitted(&app, "anna", "Eriksson").await;
    wait_until("a check creation is in flight", || {
        state.lock().unwrap().create_calls >= 1
    })
    .await;
    doomed.shutdown_background();
    {
        let mut s = state.lock().unwrap();
        assert_eq!(
            s.checks.len(),
            1,
            "the vendor created it; the answer never came"
        );
        s.hang_creates = false;
        s.result = Some("clear");
    }

    // A new gateway on the same database and keys takes the leased jobs over.
    let restarted = kyc_gateway::startup::Application::build(app.settings.clone())
        .await
        .unwrap();
    let address = format!("https://127.0.0.1:{}", restarted.port());
    let server = tokio::spawn(restarted.run_until_stopped());
    let officer = app.token("olga", &["officer"]);
    let checks = wait_checks(&app.client, &address, &officer, &id, "all end", all_ended).await;
    for c in &checks {
        assert_ne!(c["state"], "error", "{c}");
    }
    {
        let s = state.lock().unwrap();
        assert_eq!(
            s.checks.len(),
            2,
            "one vendor check per check: {:?}",
            s.checks
        );
        assert_eq!(
            s.create_calls, 2,
            "the hung creation was found, not repeated"
        );
    }
    // Exactly one recorded end per check, and one hand-over per vendor check.
    let auditor = app.token("audrey", &["auditor"]);
    let count = |action: &'static str| {
        let (client, address, auditor) = (app.client.clone(), address.clone(), auditor.clone());
        async move {
            let res = client
                .get(format!(
                    "{address}/v1/audit/events?action={action}&limit=500"
                ))
                .bearer_auth(&auditor)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()["events"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    let mut completed = 0;
    for _ in 0..100 {
        completed = count("check.completed").await;
        if completed >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!((completed, count("check.completed").await), (4, 4));
    assert_eq!(count("check.submitted_to_vendor").await, 2);
    server.abort();
}
