//! KYC checks as a bank app and an officer see them: submission queues the
//! policy's checks, the worker runs them (the MRZ check and sanctions
//! screening against the OFAC fixture list), staff read every result with
//! its evidence, the applicant only whether checks are still running.

use std::path::Path;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::applications::{decision, post, texts};
use crate::documents::fixture;
use crate::helpers::{TestApp, assert_problem, spawn_app_with};

/// ICAO 9303-3 §4.9 check digit: weights 7, 3, 1; `<` is 0, A–Z are 10–35.
fn check_digit(field: &str) -> char {
    let sum: u32 = field
        .chars()
        .zip([7, 3, 1].into_iter().cycle())
        .map(|(c, w)| {
            let v = match c {
                '0'..='9' => c as u32 - '0' as u32,
                'A'..='Z' => c as u32 - 'A' as u32 + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    char::from_digit(sum % 10, 10).unwrap()
}

/// A TD3 (passport) MRZ, ICAO 9303-4 §4.2, with correct check digits.
pub fn td3(
    state: &str,
    names: &str,
    number: &str,
    nationality: &str,
    dob: &str,
    sex: char,
    expiry: &str,
) -> String {
    let line1 = format!("P<{state}{names:<<39}").replace(' ', "<");
    let line1: String = format!("{line1:<<44}").chars().take(44).collect();
    let number = format!("{number:<<9}");
    let optional = "<".repeat(14);
    let doc = format!("{number}{}", check_digit(&number));
    let birth = format!("{dob}{}", check_digit(dob));
    let exp = format!("{expiry}{}", check_digit(expiry));
    let opt = format!("{optional}{}", check_digit(&optional));
    let composite = check_digit(&format!("{doc}{birth}{exp}{opt}"));
    let line2 = format!("{doc}{nationality}{birth}{sex}{exp}{opt}{composite}");
    assert_eq!((line1.len(), line2.len()), (44, 44), "{line1}\n{line2}");
    format!("{line1}\n{line2}")
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sanctions")
}

/// A gateway screening against the OFAC fixture list, with a quick worker.
pub async fn gateway(
    lists: bool,
    customize: impl FnOnce(&mut kyc_gateway::config::Settings),
) -> TestApp {
    spawn_app_with(move |s| {
        if lists {
            s.sanctions.lists = vec![kyc_gateway::config::SanctionsListSettings {
                name: "ofac_sdn".into(),
                format: kyc_gateway::config::SanctionsListFormat::OfacSdn,
                path: fixtures().join("ofac_tiny"),
            }];
        }
        s.checks.poll_interval_ms = 50;
        s.review.decide_interval_ms = 50;
        customize(s);
    })
    .await
}

/// Creates an application for `identity`, grants the required consents
/// and returns its id.
pub async fn application(app: &TestApp, token: &str, identity: Value) -> String {
    let body = json!({ "product": "current_account", "jurisdiction": "DE", "identity": identity });
    let res = post(
        app,
        "/v1/applications",
        token,
        &uuid::Uuid::new_v4().to_string(),
        Some(&body),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let en = texts(app, token, &id, "en").await;
    let decisions: Vec<Value> = en["consents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["required"] == true)
        .map(|t| decision(t, true))
        .collect();
    let res = post(
        app,
        &format!("/v1/applications/{id}/consents"),
        token,
        &uuid::Uuid::new_v4().to_string(),
        Some(&json!({ "channel": "mobile", "decisions": decisions })),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    id
}

pub fn identity(given: &str, family: &str, dob: &str, nationality: &str) -> Value {
    json!({
        "given_names": given,
        "family_name": family,
        "date_of_birth": dob,
        "nationality": nationality,
        "country_of_residence": "DE",
        "address": { "lines": ["Hauptstraße 5"], "city": "Berlin", "postal_code": "10115", "country": "DE" }
    })
}

pub async fn upload_passport(
    app: &TestApp,
    token: &str,
    id: &str,
    mrz: Option<&str>,
    kind: &str,
) -> reqwest::Response {
    let mut form = Form::new().text("kind", kind.to_owned());
    if let Some(mrz) = mrz {
        form = form.text("mrz", mrz.to_owned());
    }
    let part = Part::bytes(fixture("jpg"))
        .file_name("page.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    app.client
        .post(format!("{}/v1/applications/{id}/documents", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(form.part("file", part))
        .send()
        .await
        .unwrap()
}

pub async fn submit(app: &TestApp, token: &str, id: &str) {
    let res = post(
        app,
        &format!("/v1/applications/{id}/submit"),
        token,
        &uuid::Uuid::new_v4().to_string(),
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["state"], "checking", "{body}");
}

/// Polls the staff view until every check has ended (bounded).
pub async fn ended_checks(app: &TestApp, id: &str) -> Vec<Value> {
    let officer = app.token("olga", &["officer"]);
    for _ in 0..200 {
        let res = app
            .get_as(&format!("/v1/applications/{id}/checks"), &officer)
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let items = body["items"].as_array().unwrap().clone();
        if !items.is_empty() && items.iter().all(|c| c["state"] != "pending") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the checks of {id} did not end");
}

pub fn by_kind<'a>(checks: &'a [Value], kind: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} check"))
}

#[tokio::test]
async fn submission_runs_the_mrz_and_sanctions_checks_and_staff_see_the_evidence() {
    let app = gateway(true, |_| {}).await;
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
        "340415",
    );
    let res = upload_passport(&app, &anna, &id, Some(&mrz), "passport").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    submit(&app, &anna, &id).await;

    let checks = ended_checks(&app, &id).await;
    assert_eq!(checks.len(), 4, "{checks:?}");
    let m = by_kind(&checks, "mrz");
    assert_eq!(m["state"], "clear", "{m}");
    assert_eq!(m["provider"], "builtin-mrz");
    assert_eq!(m["round"], 1);
    assert_eq!(
        m["evidence"]["documents"][0]["check_digits_valid"], true,
        "{m}"
    );
    let s = by_kind(&checks, "sanctions");
    assert_eq!(s["state"], "clear", "{s}");
    assert_eq!(s["evidence"]["matches"], json!([]));
    // The list version screened against is recorded with the result.
    let list = &s["evidence"]["lists"][0];
    assert_eq!(list["name"], "ofac_sdn");
    assert_eq!(list["sha256"].as_str().unwrap().len(), 64, "{list}");
    assert!(
        s["policy_version"]
            .as_str()
            .unwrap()
            .starts_with("retail-onboarding@")
    );

    // The applicant learns only that the checks have run.
    let res = app
        .get_as(&format!("/v1/applications/{id}/checks"), &anna)
        .await;
    assert_eq!(res.status(), 200);
    let mine: Value = res.json().await.unwrap();
    for c in mine["items"].as_array().unwrap() {
        assert_eq!(c.as_object().unwrap().len(), 2, "{c}");
        assert_eq!(c["status"], "completed");
    }
    // Someone else's application does not exist for them.
    let bob = app.token("bob", &["applicant"]);
    let res = app
        .get_as(&format!("/v1/applications/{id}/checks"), &bob)
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_faulty_mrz_and_a_listed_person_are_for_review_with_their_reasons() {
    let app = gateway(true, |_| {}).await;
    let token = app.token("dmitry", &["applicant"]);
    // A person on the OFAC fixture list (entry 48603), born 17 Apr 1993.
    let id = application(
        &app,
        &token,
        identity("Dmitry Yuryevich", "Khoroshev", "1993-04-17", "RU"),
    )
    .await;
    let good = td3(
        "RUS",
        "KHOROSHEV<<DMITRY<YURYEVICH",
        "718237415",
        "RUS",
        "930417",
        'M',
        "330101",
    );
    // The document number's check digit (line 2, column 10) made wrong.
    let mut bad: Vec<char> = good.chars().collect();
    let at = 45 + 9;
    bad[at] = if bad[at] == '0' { '1' } else { '0' };
    let bad: String = bad.into_iter().collect();
    let res = upload_passport(&app, &token, &id, Some(&bad), "passport").await;
    assert_eq!(
        res.status(),
        201,
        "a faulty check digit is the check's to find, not an input error: {}",
        res.text().await.unwrap()
    );
    submit(&app, &token, &id).await;

    let checks = ended_checks(&app, &id).await;
    let m = by_kind(&checks, "mrz");
    assert_eq!(m["state"], "consider", "{m}");
    let reasons: Vec<&str> = m["reason_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"mrz_check_digit"), "{reasons:?}");
    let s = by_kind(&checks, "sanctions");
    assert_eq!(s["state"], "consider", "{s}");
    assert_eq!(s["reason_codes"], json!(["sanctions_potential_match"]));
    let best = &s["evidence"]["matches"][0];
    assert_eq!(best["entry_id"], "48603", "{best}");
    assert!(best["score"].as_f64().unwrap() >= best["threshold"].as_f64().unwrap());
}

#[tokio::test]
async fn without_a_list_or_a_document_nothing_is_cleared() {
    let app = gateway(false, |s| {
        s.checks.max_attempts = 2;
        s.checks.backoff_base_ms = 10;
        s.checks.backoff_cap_secs = 1;
    })
    .await;
    let anna = app.token("anna", &["applicant"]);
    let id = application(
        &app,
        &anna,
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
    )
    .await;
    submit(&app, &anna, &id).await;
    let checks = ended_checks(&app, &id).await;
    let s = by_kind(&checks, "sanctions");
    assert_eq!(s["state"], "error", "{s}");
    assert_eq!(s["reason_codes"], json!(["sanctions_lists_unavailable"]));
    assert_eq!(s["evidence"]["attempts"], 2);
    let m = by_kind(&checks, "mrz");
    assert_eq!(m["state"], "consider");
    assert_eq!(m["reason_codes"], json!(["mrz_document_missing"]));
}

#[tokio::test]
async fn an_mrz_that_is_not_one_is_refused_at_upload_and_nothing_is_stored() {
    let app = gateway(false, |_| {}).await;
    let anna = app.token("anna", &["applicant"]);
    let id = application(
        &app,
        &anna,
        identity("Anna Maria", "Eriksson", "1974-08-12", "SE"),
    )
    .await;
    let res = upload_passport(
        &app,
        &anna,
        &id,
        Some("P<SWE this is not an MRZ"),
        "passport",
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "mrz");
    assert_eq!(problem["errors"][0]["code"], "invalid_mrz");
    let mrz = td3(
        "SWE",
        "ERIKSSON<<ANNA<MARIA",
        "L898902C3",
        "SWE",
        "740812",
        'F',
        "340415",
    );
    let res = upload_passport(&app, &anna, &id, Some(&mrz), "selfie").await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "not_allowed");
    let res = upload_passport(&app, &anna, &id, Some(&"<".repeat(600)), "passport").await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "too_long");
    let res = app
        .get_as(&format!("/v1/applications/{id}/documents"), &anna)
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"], json!([]));
}
