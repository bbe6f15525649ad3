//! Decisions and the exceptions queue, as compliance officers use them:
//! automatic approval of clean applications, cases with their reasons and
//! evidence, claims with leases, four-eyes approval of high-risk cases, and
//! a request for information that comes back with its history.

use std::time::Duration;

use serde_json::{Value, json};

use crate::applications::post;
use crate::checks::{application, gateway, identity, submit, td3, upload_passport};
use crate::helpers::{TestApp, assert_problem};

const ANNA_MRZ: (&str, &str, &str, &str, &str, char, &str) = (
    "SWE",
    "ERIKSSON<<ANNA<MARIA",
    "L898902C3",
    "SWE",
    "740812",
    'F',
    "340415",
);

fn anna_mrz() -> String {
    let (s, n, d, nat, dob, sex, exp) = ANNA_MRZ;
    td3(s, n, d, nat, dob, sex, exp)
}

/// Polls the application (as its applicant) until it leaves `checking`.
async fn settled(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..300 {
        let res = app.get_as(&format!("/v1/applications/{id}"), token).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        if body["state"] != "checking" && body["state"] != "submitted" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("application {id} was not decided");
}

/// The queue's case for an application.
async fn case_of(app: &TestApp, officer: &str, application_id: &str) -> Value {
    let res = app.get_as("/v1/review/cases?limit=100", officer).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["application_id"] == application_id)
        .cloned()
        .unwrap_or_else(|| panic!("no case for {application_id} in {page}"))
}

async fn act(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    post(
        app,
        path,
        token,
        &uuid::Uuid::new_v4().to_string(),
        body.as_ref(),
    )
    .await
}

async fn upload_selfie(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(crate::documents::fixture("png"))
        .file_name("selfie.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("kind", "selfie")
        .part("file", part);
    app.client
        .post(format!("{}/v1/applications/{id}/documents", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// An applicant with a matching passport MRZ, submitted.
async fn submitted(app: &TestApp, sub: &str, who: Value, mrz: Option<String>) -> (String, String) {
    let token = app.token(sub, &["applicant"]);
    let id = application(app, &token, who).await;
    let res = upload_passport(app, &token, &id, mrz.as_deref(), "passport").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = upload_selfie(app, &token, &id).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    submit(app, &token, &id).await;
    (token, id)
}

#[tokio::test]
async fn clean_applications_are_approved_and_findings_go_to_the_queue_with_their_reasons() {
    let app = gateway(true, |_| {}).await;
    let (anna, clean) = submitted(
        &app,
        "anna",
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
        Some(anna_mrz()),
    )
    .await;
    let view = settled(&app, &anna, &clean).await;
    assert_eq!(view["state"], "approved", "{view}");

    // A listed person: in the queue with the explanation, high risk.
    let mrz = td3(
        "RUS",
        "KHOROSHEV<<DMITRY<YURYEVICH",
        "718237415",
        "RUS",
        "930417",
        'M',
        "330101",
    );
    let (dmitry, listed) = submitted(
        &app,
        "dmitry",
        identity("Dmitry Yuryevich", "Khoroshev", "1993-04-17", "RU"),
        Some(mrz),
    )
    .await;
    assert_eq!(settled(&app, &dmitry, &listed).await["state"], "in_review");
    let olga = app.token("olga", &["officer"]);
    let case = case_of(&app, &olga, &listed).await;
    let reasons = case["reason_codes"].as_array().unwrap();
    assert!(
        reasons.contains(&json!("sanctions_potential_match")),
        "{case}"
    );
    assert_eq!(case["high_risk"], true);
    assert_eq!(case["priority"], 1, "sanctions matches come first: {case}");
    let res = app
        .get_as(
            &format!("/v1/review/cases/{}", case["id"].as_str().unwrap()),
            &olga,
        )
        .await;
    assert_eq!(res.status(), 200);
    let detail: Value = res.json().await.unwrap();
    let screening = detail["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "sanctions")
        .unwrap();
    assert_eq!(
        screening["evidence"]["matches"][0]["entry_id"], "48603",
        "{screening}"
    );
    assert_eq!(
        detail["application"]["identity"]["family_name"],
        "Khoroshev"
    );
    assert_eq!(detail["decisions"][0]["outcome"], "review");
    assert_eq!(
        detail["decisions"][0]["policy_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(detail["history"][0]["kind"], "opened");

    // The applicant is not told why.
    let res = app
        .get_as(&format!("/v1/applications/{listed}/checks"), &dmitry)
        .await;
    let mine: Value = res.json().await.unwrap();
    assert!(
        !mine.to_string().contains("sanctions_potential_match"),
        "{mine}"
    );
    // Applicants and auditors do not see the queue.
    let res = app.get_as("/v1/review/cases", &dmitry).await;
    assert_problem(res, 403, "forbidden").await;

    // The metrics count the automatic approval, the referral and its reasons.
    let mut text = String::new();
    for _ in 0..100 {
        text = app
            .client
            .get(format!("{}/metrics", app.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("kyc_gateway_review_queue_depth 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for line in [
        "kyc_gateway_onboarding_decisions_total{outcome=\"approve\",by=\"policy\"} 1",
        "kyc_gateway_onboarding_decisions_total{outcome=\"review\",by=\"policy\"} 1",
        "kyc_gateway_onboarding_decision_reasons_total{reason=\"sanctions_potential_match\"} 1",
        "kyc_gateway_review_queue_depth 1",
        "kyc_gateway_review_queue_overdue 0",
        "kyc_gateway_onboarding_time_to_decision_seconds_count 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}

#[tokio::test]
async fn a_check_that_cannot_be_done_sends_the_case_to_review_with_that_reason() {
    let app = gateway(false, |s| {
        s.checks.max_attempts = 1;
    })
    .await;
    let (anna, id) = submitted(
        &app,
        "anna",
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
        Some(anna_mrz()),
    )
    .await;
    assert_eq!(settled(&app, &anna, &id).await["state"], "in_review");
    let olga = app.token("olga", &["officer"]);
    let case = case_of(&app, &olga, &id).await;
    let reasons = case["reason_codes"].as_array().unwrap();
    assert!(reasons.contains(&json!("check_error")), "{case}");
    assert!(
        reasons.contains(&json!("sanctions_lists_unavailable")),
        "{case}"
    );
    // Filtering by reason finds it; by another reason does not.
    let res = app
        .get_as("/v1/review/cases?reason=check_error", &olga)
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["cases"].as_array().unwrap().len(), 1);
    let res = app
        .get_as("/v1/review/cases?reason=document_fraud", &olga)
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["cases"], json!([]));
    // `_` is a character like any other, not a wildcard.
    let res = app
        .get_as(
            &format!("/v1/review/cases?reason={}", "_".repeat(11)),
            &olga,
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["cases"], json!([]));
    let res = app.get_as("/v1/review/cases?assignee=someone", &olga).await;
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn one_officer_gets_a_case_and_an_expired_claim_returns_it_to_the_queue() {
    let app = gateway(false, |s| {
        s.checks.max_attempts = 1;
        s.review.claim_lease_secs = 1;
    })
    .await;
    let (anna, id) = submitted(
        &app,
        "anna",
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
        Some(anna_mrz()),
    )
    .await;
    settled(&app, &anna, &id).await;
    let olga = app.token("olga", &["officer"]);
    let omar = app.token("omar", &["officer"]);
    let case_id = case_of(&app, &olga, &id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let claim = format!("/v1/review/cases/{case_id}/claim");
    let (a, b) = tokio::join!(
        act(&app, &olga, &claim, None),
        act(&app, &omar, &claim, None)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "exactly one claim wins");
    let (winner, loser) = if a.status() == 200 {
        (&olga, &omar)
    } else {
        (&omar, &olga)
    };
    // The loser cannot decide.
    let decision = json!({"action": "reject", "reason_code": "document_fraud", "note": "forged"});
    let res = act(
        &app,
        loser,
        &format!("/v1/review/cases/{case_id}/decision"),
        Some(decision),
    )
    .await;
    assert_problem(res, 409, "case_not_claimed").await;
    // The lease runs out: the case is back in the queue for anyone.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let res = app.get_as("/v1/review/cases?assignee=none", loser).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["cases"].as_array().unwrap().len(), 1, "{page}");
    let res = act(&app, loser, &claim, None).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = act(
        &app,
        winner,
        &format!("/v1/review/cases/{case_id}/release"),
        None,
    )
    .await;
    assert_problem(res, 409, "case_not_claimed").await;

    // Two decisions at once on one case (two tabs, two keys): one wins, the
    // other is a conflict, and exactly one decision is recorded.
    let decide = format!("/v1/review/cases/{case_id}/decision");
    let reject = json!({"action": "reject", "reason_code": "document_fraud", "note": "Forged."});
    let ask = json!({"action": "request_info", "reason_code": "document_unreadable", "note": "Blurred.", "items": ["A sharper photo of the passport."]});
    let (a, b) = tokio::join!(
        act(&app, loser, &decide, Some(reject)),
        act(&app, loser, &decide, Some(ask))
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "exactly one decision wins");
    let res = app
        .get_as(&format!("/v1/review/cases/{case_id}"), loser)
        .await;
    let detail: Value = res.json().await.unwrap();
    let officer_decisions = detail["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["decided_by"] != "policy")
        .count();
    assert_eq!(officer_decisions, 1, "{detail}");
}

#[tokio::test]
async fn a_high_risk_approval_needs_a_second_different_senior_officer() {
    let app = gateway(true, |_| {}).await;
    let mrz = td3(
        "RUS",
        "KHOROSHEV<<DMITRY<YURYEVICH",
        "718237415",
        "RUS",
        "930417",
        'M',
        "330101",
    );
    let (dmitry, id) = submitted(
        &app,
        "dmitry",
        identity("Dmitry Yuryevich", "Khoroshev", "1993-04-17", "RU"),
        Some(mrz),
    )
    .await;
    settled(&app, &dmitry, &id).await;
    let olga = app.token("olga", &["officer"]);
    let sam = app.token("sam", &["senior_officer"]);
    let sue = app.token("sue", &["senior_officer"]);
    let case_id = case_of(&app, &olga, &id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let decide = format!("/v1/review/cases/{case_id}/decision");
    let confirm = format!("/v1/review/cases/{case_id}/confirm");
    let approve = json!({"action": "approve", "reason_code": "false_positive_match", "note": "Different person: passport photo and birthplace differ."});

    // An officer who is not senior may not approve it.
    assert_eq!(
        act(
            &app,
            &olga,
            &format!("/v1/review/cases/{case_id}/claim"),
            None
        )
        .await
        .status(),
        200
    );
    let res = act(&app, &olga, &decide, Some(approve.clone())).await;
    assert_problem(res, 403, "forbidden").await;
    // An unknown reason code or an empty note is refused.
    let res = act(
        &app,
        &olga,
        &format!("/v1/review/cases/{case_id}/release"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        act(
            &app,
            &sam,
            &format!("/v1/review/cases/{case_id}/claim"),
            None
        )
        .await
        .status(),
        200
    );
    let res = act(
        &app,
        &sam,
        &decide,
        Some(json!({"action": "approve", "reason_code": "looks_fine", "note": ""})),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");

    // Sam proposes: pending until someone else confirms.
    let res = act(&app, &sam, &decide, Some(approve.clone())).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    assert_eq!(settled(&app, &dmitry, &id).await["state"], "in_review");
    let note = json!({"note": "Agreed after checking the birthplace."});
    let res = act(&app, &sam, &confirm, Some(note.clone())).await;
    assert_problem(res, 403, "forbidden").await;
    let res = act(&app, &olga, &confirm, Some(note.clone())).await;
    assert_problem(res, 403, "forbidden").await;
    // The second senior officer works the case with its claim, like anyone.
    let res = act(&app, &sue, &confirm, Some(note.clone())).await;
    assert_problem(res, 409, "case_not_claimed").await;
    let res = act(
        &app,
        &sue,
        &format!("/v1/review/cases/{case_id}/claim"),
        None,
    )
    .await;
    assert_problem(res, 409, "case_claimed").await;
    let res = act(
        &app,
        &sam,
        &format!("/v1/review/cases/{case_id}/release"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = act(
        &app,
        &sue,
        &format!("/v1/review/cases/{case_id}/claim"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = act(&app, &sue, &confirm, Some(note.clone())).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["application_state"], "approved");
    assert_eq!(settled(&app, &dmitry, &id).await["state"], "approved");
    // Decided cases are closed: a second decision is a conflict, and the
    // record takes no notes after the fact.
    let res = act(&app, &sue, &confirm, Some(note)).await;
    assert_problem(res, 409, "no_pending_approval").await;
    let res = act(
        &app,
        &olga,
        &format!("/v1/review/cases/{case_id}/notes"),
        Some(json!({"note": "afterthought"})),
    )
    .await;
    assert_problem(res, 409, "case_closed").await;

    // The history holds both officers, and the audit log every step.
    let res = app
        .get_as(&format!("/v1/review/cases/{case_id}"), &sue)
        .await;
    let detail: Value = res.json().await.unwrap();
    let kinds: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "claimed",
            "released",
            "claimed",
            "proposed",
            "released",
            "claimed",
            "confirmed"
        ],
        "{detail}"
    );
    let last = detail["decisions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["outcome"], "approve");
    assert_ne!(last["decided_by"], last["confirmed_by"]);
    let auditor = app.token("udo", &["auditor"]);
    for action in [
        "case.approval_proposed",
        "case.approve",
        "application.approved",
        "case.claimed",
    ] {
        app.audit_events_until(&auditor, &format!("action={action}"), |e| !e.is_empty())
            .await;
    }
}

#[tokio::test]
async fn requested_information_comes_back_to_the_queue_with_its_history() {
    let app = gateway(true, |_| {}).await;
    // No MRZ sent: the MRZ check asks for review.
    let (anna, id) = submitted(
        &app,
        "anna",
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
        None,
    )
    .await;
    assert_eq!(settled(&app, &anna, &id).await["state"], "in_review");
    let olga = app.token("olga", &["officer"]);
    let case = case_of(&app, &olga, &id).await;
    assert!(
        case["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&json!("mrz_not_provided")),
        "{case}"
    );
    let case_id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(
        act(
            &app,
            &olga,
            &format!("/v1/review/cases/{case_id}/claim"),
            None
        )
        .await
        .status(),
        200
    );
    let res = act(
        &app,
        &olga,
        &format!("/v1/review/cases/{case_id}/notes"),
        Some(json!({"note": "Photo fine, MRZ not read by the app."})),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let ask = json!({
        "action": "request_info",
        "reason_code": "mrz_missing",
        "note": "Ask for the passport again, with the MRZ.",
        "items": ["Photograph your passport's data page again so that the two lines at the bottom are readable."]
    });
    // Items are shown to the applicant: no invisible or bidi characters.
    let mut hidden = ask.clone();
    hidden["items"] = json!(["Upload \u{202E}tropssap"]);
    let res = act(
        &app,
        &olga,
        &format!("/v1/review/cases/{case_id}/decision"),
        Some(hidden),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = act(
        &app,
        &olga,
        &format!("/v1/review/cases/{case_id}/decision"),
        Some(ask),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // The app sees what to add.
    let view = settled(&app, &anna, &id).await;
    assert_eq!(view["state"], "info_requested");
    assert_eq!(view["info_requested"]["reason_code"], "mrz_missing");
    assert_eq!(view["info_requested"]["items"].as_array().unwrap().len(), 1);
    // The applicant adds the passport with its MRZ and resubmits.
    let res = upload_passport(&app, &anna, &id, Some(&anna_mrz()), "passport").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    submit(&app, &anna, &id).await;
    let view = settled(&app, &anna, &id).await;
    // Back in the queue (an officer asked), with the whole history.
    assert_eq!(view["state"], "in_review", "{view}");
    let case = case_of(&app, &olga, &id).await;
    assert_eq!(case["id"], case_id.as_str());
    assert_eq!(case["round"], 2);
    assert!(
        case["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&json!("resubmitted")),
        "{case}"
    );
    let res = app
        .get_as(&format!("/v1/review/cases/{case_id}"), &olga)
        .await;
    let detail: Value = res.json().await.unwrap();
    let kinds: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["opened", "claimed", "note", "decided", "reopened"],
        "{detail}"
    );
    let outcomes: Vec<&str> = detail["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["review", "request_info", "review"]);
    assert_eq!(detail["decisions"][2]["round"], 2);
    assert_eq!(
        detail["history"][2]["note"],
        "Photo fine, MRZ not read by the app."
    );
    // The new round's MRZ check is clear.
    let mrz = detail["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "mrz" && c["round"] == 2)
        .unwrap();
    assert_eq!(mrz["state"], "clear", "{mrz}");
}

/// Standard Webhooks v1 signature, computed independently of the gateway.
fn standard_webhooks_signature(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat();
    let tag = ring::hmac::sign(&key, &signed);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    )
}

async fn handoff_events(app: &TestApp, admin: &str, state: &str) -> Vec<Value> {
    let res = app
        .get_as(&format!("/v1/admin/handoff/events?state={state}"), admin)
        .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_for_events(app: &TestApp, admin: &str, state: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let events = handoff_events(app, admin, state).await;
        if events.len() >= n {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {n} {state} hand-off events");
}

#[tokio::test]
async fn the_downstream_gets_each_approval_once_signed_even_after_failures_and_outages() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/kyc-events"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/kyc-events"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let secret = dir.path().join("downstream.secret");
    {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(key);
        std::fs::write(&secret, format!("whsec_{encoded}\n")).unwrap();
    }
    let url = format!("{}/kyc-events", receiver.uri());
    let app = gateway(true, move |s| {
        s.handoff.url = Some(url);
        s.handoff.allow_http = true;
        s.handoff.secret_path = Some(secret);
        s.handoff.backoff_base_ms = 20;
        s.handoff.backoff_cap_secs = 1;
        s.handoff.poll_interval_ms = 20;
        s.handoff.max_attempts = 4;
    })
    .await;
    let (anna, id) = submitted(
        &app,
        "anna",
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
        Some(anna_mrz()),
    )
    .await;
    assert_eq!(settled(&app, &anna, &id).await["state"], "approved");
    let admin = app.token("ada", &["admin"]);
    let delivered = wait_for_events(&app, &admin, "delivered", 1).await;
    assert_eq!(delivered[0]["attempts"], 3, "{delivered:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        3,
        "two failures, then one delivery, and nothing after"
    );
    let last = requests.last().unwrap();
    let header = |name: &str| last.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let webhook_id = header("webhook-id");
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("webhook-id").unwrap().to_str().unwrap() == webhook_id),
        "one event id for every attempt"
    );
    assert_eq!(
        header("webhook-signature"),
        standard_webhooks_signature(&key, &webhook_id, &header("webhook-timestamp"), &last.body)
    );
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(body["type"], "application.approved");
    assert_eq!(body["data"]["application_id"], id.as_str());
    assert_eq!(body["data"]["customer"]["family_name"], "Eriksson");

    // An outage: every delivery fails, the approval stands, the event is kept
    // as failed for an admin to replay once the receiver is back.
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let (bob, other) = submitted(
        &app,
        "bob",
        identity("Bob", "Andersson", "1980-01-02", "SE"),
        Some(td3(
            "SWE",
            "ANDERSSON<<BOB",
            "X12345678",
            "SWE",
            "800102",
            'M',
            "320101",
        )),
    )
    .await;
    assert_eq!(settled(&app, &bob, &other).await["state"], "approved");
    let failed = wait_for_events(&app, &admin, "failed", 1).await;
    assert_eq!(failed[0]["application_id"], other.as_str());
    assert_eq!(failed[0]["attempts"], 4);
    let olga = app.token("olga", &["officer"]);
    let replay = format!(
        "/v1/admin/handoff/events/{}/replay",
        failed[0]["id"].as_str().unwrap()
    );
    let res = act(&app, &olga, &replay, None).await;
    assert_problem(res, 403, "forbidden").await;
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let res = act(&app, &admin, &replay, None).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let delivered = wait_for_events(&app, &admin, "delivered", 2).await;
    assert_eq!(delivered.len(), 2);
    let res = act(&app, &admin, &replay, None).await;
    assert_problem(res, 409, "invalid_transition").await;
}

/// Moves an application's last change `hours` into the past, as if the
/// applicant had gone quiet that long (the gateway's clock is real time).
async fn age_application(app: &TestApp, id: &str, hours: i64) {
    use secrecy::ExposeSecret;
    let url = app
        .settings
        .database_url
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    let sql = "UPDATE applications SET updated_us = updated_us - $1 WHERE id = $2";
    let shift = hours * 3_600_000_000;
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sql)
            .bind(shift)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(sql)
            .bind(shift)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

/// Webhook bodies the receiver got, by `type`.
async fn received(receiver: &wiremock::MockServer, event_type: &str) -> Vec<Value> {
    receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["type"] == event_type)
        .collect()
}

async fn wait_received(receiver: &wiremock::MockServer, event_type: &str) -> Vec<Value> {
    for _ in 0..200 {
        let got = received(receiver, event_type).await;
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {event_type} event arrived");
}

#[tokio::test]
async fn the_bank_hears_of_withdrawals_stalled_applications_and_expiring_documents() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let url = receiver.uri();
    let app = gateway(true, move |s| {
        s.handoff.url = Some(url);
        s.handoff.allow_http = true;
        s.handoff.poll_interval_ms = 20;
        s.review.event_scan_interval_secs = 1;
    })
    .await;

    // A passport that expires in 16 days, on an application in progress.
    let today = chrono::Utc::now().date_naive();
    let soon = (today + chrono::Days::new(16)).format("%y%m%d").to_string();
    let anna = app.token("anna", &["applicant"]);
    let id = application(
        &app,
        &anna,
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
    )
    .await;
    let mrz = td3(
        "SWE",
        "ERIKSSON<<ANNA<MARIA",
        "L898902C3",
        "SWE",
        "740812",
        'F',
        &soon,
    );
    let res = upload_passport(&app, &anna, &id, Some(&mrz), "passport").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let expiring = wait_received(&receiver, "document.expiring").await;
    assert_eq!(expiring[0]["data"]["application_id"], id.as_str());
    assert_eq!(expiring[0]["data"]["days_left"], 16);

    // A draft nobody touched for four days.
    let bob = app.token("bob", &["applicant"]);
    let quiet = application(&app, &bob, identity("Bob", "Andersson", "1980-01-02", "SE")).await;
    age_application(&app, &quiet, 96).await;
    let stalled = wait_received(&receiver, "application.stalled").await;
    assert_eq!(stalled[0]["data"]["application_id"], quiet.as_str());
    assert_eq!(stalled[0]["data"]["state"], "draft");

    // A withdrawal.
    let res = post(
        &app,
        &format!("/v1/applications/{quiet}/withdraw"),
        &bob,
        "w-1",
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let withdrawn = wait_received(&receiver, "application.withdrawn").await;
    assert_eq!(withdrawn[0]["data"]["application_id"], quiet.as_str());

    // Each is raised once, however often the scan runs.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(received(&receiver, "document.expiring").await.len(), 1);
    assert_eq!(received(&receiver, "application.stalled").await.len(), 1);
}

#[tokio::test]
async fn a_new_list_version_rescreens_approved_customers_and_a_new_match_opens_a_case() {
    // A writable copy of the OFAC fixture list, so a "new version" can be published.
    let lists = tempfile::tempdir().unwrap();
    let sdn = lists.path().join("sdn");
    std::fs::create_dir_all(&sdn).unwrap();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sanctions/ofac_tiny");
    for f in ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"] {
        std::fs::copy(fixtures.join(f), sdn.join(f)).unwrap();
    }
    let dir = sdn.clone();
    let app = gateway(false, move |s| {
        s.sanctions.lists = vec![kyc_gateway::config::SanctionsListSettings {
            name: "ofac_sdn".into(),
            format: kyc_gateway::config::SanctionsListFormat::OfacSdn,
            path: dir,
        }];
        s.sanctions.reload_check_interval_secs = 3600;
        s.review.event_scan_interval_secs = 1;
    })
    .await;
    let (anna, id) = submitted(
        &app,
        "anna",
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
        Some(anna_mrz()),
    )
    .await;
    assert_eq!(settled(&app, &anna, &id).await["state"], "approved");

    // OFAC publishes a new entry for her; an admin reloads the lists.
    let mut csv = std::fs::read(sdn.join("sdn.csv")).unwrap();
    csv.extend_from_slice(
        b"99999,\"ERIKSSON, Anna Maria\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 12 Aug 1974; nationality Sweden.\"\r\n",
    );
    std::fs::write(sdn.join("sdn.csv"), csv).unwrap();
    let admin = app.token("ada", &["admin"]);
    let res = act(&app, &admin, "/v1/admin/sanctions/reload", None).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // The approved customer is screened again; the new match opens a case.
    let sam = app.token("sam", &["senior_officer"]);
    let mut case = Value::Null;
    for _ in 0..100 {
        let res = app.get_as("/v1/review/cases", &sam).await;
        let page: Value = res.json().await.unwrap();
        if let Some(c) = page["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["application_id"] == id.as_str())
        {
            case = c.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        case["reason_codes"],
        json!(["rescreening_potential_match"]),
        "{case}"
    );
    assert_eq!(case["high_risk"], true);
    assert_eq!(
        settled(&app, &anna, &id).await["state"],
        "approved",
        "the customer stays approved"
    );
    let case_id = case["id"].as_str().unwrap().to_owned();
    let res = app
        .get_as(&format!("/v1/review/cases/{case_id}"), &sam)
        .await;
    let detail: Value = res.json().await.unwrap();
    let last = detail["rescreenings"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["new_matches"], json!(["ofac_sdn:99999"]), "{last}");
    assert_eq!(last["evidence"]["matches"][0]["entry_id"], "99999");

    // A request for information makes no sense for a customer; confirming does.
    assert_eq!(
        act(
            &app,
            &sam,
            &format!("/v1/review/cases/{case_id}/claim"),
            None
        )
        .await
        .status(),
        200
    );
    let decide = format!("/v1/review/cases/{case_id}/decision");
    let ask = json!({"action": "request_info", "reason_code": "mrz_missing", "note": "n", "items": ["x"]});
    assert_problem(
        act(&app, &sam, &decide, Some(ask)).await,
        422,
        "validation_failed",
    )
    .await;
    let confirm = json!({"action": "reject", "reason_code": "sanctions_confirmed", "note": "Same person: name, date of birth and nationality."});
    let res = act(&app, &sam, &decide, Some(confirm)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let events = handoff_events(&app, &admin, "pending").await;
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "customer.sanctions_match_confirmed"
                && e["application_id"] == id.as_str()),
        "{events:?}"
    );

    // The same list again finds nothing new: no second case.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let res = app.get_as("/v1/review/cases", &sam).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["cases"], json!([]), "{page}");
}

#[tokio::test]
async fn a_withdrawal_closes_the_case_and_cancels_a_pending_approval() {
    let app = gateway(true, |_| {}).await;
    let mrz = td3(
        "RUS",
        "KHOROSHEV<<DMITRY<YURYEVICH",
        "718237415",
        "RUS",
        "930417",
        'M',
        "330101",
    );
    let (dmitry, id) = submitted(
        &app,
        "dmitry",
        identity("Dmitry Yuryevich", "Khoroshev", "1993-04-17", "RU"),
        Some(mrz),
    )
    .await;
    assert_eq!(settled(&app, &dmitry, &id).await["state"], "in_review");
    let sam = app.token("sam", &["senior_officer"]);
    let case_id = case_of(&app, &sam, &id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let claim = format!("/v1/review/cases/{case_id}/claim");
    assert_eq!(act(&app, &sam, &claim, None).await.status(), 200);
    let approve = json!({"action": "approve", "reason_code": "false_positive_match", "note": "Different person."});
    let res = act(
        &app,
        &sam,
        &format!("/v1/review/cases/{case_id}/decision"),
        Some(approve),
    )
    .await;
    assert_eq!(res.status(), 202);
    let res = post(
        &app,
        &format!("/v1/applications/{id}/withdraw"),
        &dmitry,
        "w-1",
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Out of the queue, proposal gone, the reason in the history.
    let res = app.get_as("/v1/review/cases", &sam).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["cases"], json!([]), "{page}");
    let res = app
        .get_as(&format!("/v1/review/cases/{case_id}"), &sam)
        .await;
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["case"]["state"], "closed");
    assert_eq!(detail["case"]["approval_proposed_by"], Value::Null);
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "closed_by_withdrawal", "{detail}");
    let sue = app.token("sue", &["senior_officer"]);
    let res = act(
        &app,
        &sue,
        &format!("/v1/review/cases/{case_id}/confirm"),
        Some(json!({"note": "late"})),
    )
    .await;
    assert_problem(res, 409, "no_pending_approval").await;
}

#[tokio::test]
async fn the_queue_pages_through_every_case_once() {
    let app = gateway(false, |s| {
        s.checks.max_attempts = 1;
    })
    .await;
    let mut ids = Vec::new();
    for (sub, given, family) in [
        ("anna", "Anna Maria", "Eriksson"),
        ("bob", "Bob", "Andersson"),
        ("cecilia", "Cecilia", "Lund"),
    ] {
        let (token, id) =
            submitted(&app, sub, identity(given, family, "1974-08-12", "SE"), None).await;
        assert_eq!(settled(&app, &token, &id).await["state"], "in_review");
        ids.push(id);
    }
    let olga = app.token("olga", &["officer"]);
    let mut seen = Vec::new();
    let mut path = "/v1/review/cases?limit=1".to_owned();
    for _ in 0..10 {
        let res = app.get_as(&path, &olga).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        for c in page["cases"].as_array().unwrap() {
            seen.push(c["application_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/review/cases?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "every case once, in pages of one");
    let res = app.get_as("/v1/review/cases?cursor=1.2.3", &olga).await;
    assert_problem(res, 422, "validation_failed").await;
}
