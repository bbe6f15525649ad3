//! Applications, identity data and consents, as a bank app, a back-end
//! service and staff use them over TLS (both databases).

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

pub fn identity() -> Value {
    json!({
        "given_names": "Anna María",
        "family_name": "Eriksson-Müller",
        "date_of_birth": "1974-08-12",
        "nationality": "SE",
        "country_of_residence": "DE",
        "address": {
            "lines": ["Hauptstraße 5", "Hinterhaus"],
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE"
        },
        "email": "anna@example.com",
        "phone": "+4915112345678"
    })
}

pub fn new_application() -> Value {
    json!({ "product": "current_account", "jurisdiction": "DE", "identity": identity() })
}

pub async fn post(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Option<&Value>,
) -> Response {
    let mut req = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", key);
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.unwrap()
}

pub async fn create(app: &TestApp, token: &str) -> String {
    let res = post(
        app,
        "/v1/applications",
        token,
        &uuid::Uuid::new_v4().to_string(),
        Some(&new_application()),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

pub async fn texts(app: &TestApp, token: &str, id: &str, accept_language: &str) -> Value {
    let res = app
        .client
        .get(format!(
            "{}/v1/applications/{id}/consent-texts",
            app.address
        ))
        .bearer_auth(token)
        .header("Accept-Language", accept_language)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub fn decision(text: &Value, granted: bool) -> Value {
    json!({
        "purpose": text["purpose"],
        "granted": granted,
        "text_version": text["version"],
        "text_sha256": text["sha256"],
        "locale": text["locale"],
    })
}

pub fn text_for<'a>(texts: &'a Value, purpose: &str) -> &'a Value {
    texts["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["purpose"] == purpose)
        .unwrap()
}

#[tokio::test]
async fn the_whole_consent_path_gates_submission_on_required_consents_only() {
    let app = spawn_app().await;
    let anna = app.token("anna", &["applicant"]);
    let id = create(&app, &anna).await;

    // Texts in German, from Accept-Language, with hashes of the exact text.
    let de = texts(&app, &anna, &id, "de-AT,de;q=0.9,en;q=0.5").await;
    assert_eq!(de["locale"], "de");
    let kyc = text_for(&de, "kyc_processing");
    assert!(kyc["required"].as_bool().unwrap());
    assert!(kyc["text"].as_str().unwrap().contains("Geldwäschegesetz"));
    use ring::digest::{SHA256, digest};
    let hash: String = digest(&SHA256, kyc["text"].as_str().unwrap().as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(kyc["sha256"], hash);

    // Submitting before the required consents: 409 naming what is missing.
    let res = post(
        &app,
        &format!("/v1/applications/{id}/submit"),
        &anna,
        "submit-1",
        None,
    )
    .await;
    let problem = assert_problem(res, 409, "consents_missing").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("kyc_processing"),
        "{problem}"
    );

    // A text the app did not get from us is refused and nothing is recorded.
    let mut forged = decision(kyc, true);
    forged["text_sha256"] = json!("0".repeat(64));
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "c-forged",
        Some(&json!({"channel": "mobile", "decisions": [forged]})),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "consent_text_mismatch");
    let mut old = decision(kyc, true);
    old["text_version"] = json!("0");
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "c-old",
        Some(&json!({"channel": "mobile", "decisions": [old]})),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    // `granted` has no default: leaving it out is a schema error.
    let mut implicit = decision(kyc, true);
    implicit.as_object_mut().unwrap().remove("granted");
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "c-implicit",
        Some(&json!({"channel": "mobile", "decisions": [implicit]})),
    )
    .await;
    assert_problem(res, 422, "invalid_body").await;

    // Grant the required ones and marketing.
    let body = json!({"channel": "mobile", "decisions": [
        decision(kyc, true), decision(text_for(&de, "terms"), true), decision(text_for(&de, "marketing"), true)
    ]});
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "c-1",
        Some(&body),
    )
    .await;
    assert_eq!(res.status(), 201);

    // Withdraw the optional one: one call, a new record.
    let body =
        json!({"channel": "mobile", "decisions": [decision(text_for(&de, "marketing"), false)]});
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "c-2",
        Some(&body),
    )
    .await;
    assert_eq!(res.status(), 201);
    let history: Value = app
        .get_as(&format!("/v1/applications/{id}/consents"), &anna)
        .await
        .json()
        .await
        .unwrap();
    let records = history["records"].as_array().unwrap();
    assert_eq!(records.len(), 4, "{history}");
    assert_eq!(records[3]["purpose"], "marketing");
    assert_eq!(records[3]["granted"], false);
    assert_eq!(records[0]["locale"], "de");
    assert!(history["missing_required"].as_array().unwrap().is_empty());

    // Staff read the same history.
    let officer = app.token("officer-1", &["officer"]);
    let staff_view: Value = app
        .get_as(&format!("/v1/applications/{id}/consents"), &officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff_view["records"].as_array().unwrap().len(), 4);

    // Withdrawn marketing does not block submission.
    let res = post(
        &app,
        &format!("/v1/applications/{id}/submit"),
        &anna,
        "submit-2",
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let view: Value = app
        .get_as(&format!("/v1/applications/{id}"), &anna)
        .await
        .json()
        .await
        .unwrap();
    // Submission starts the policy's checks in the same step.
    assert_eq!(view["state"], "checking");
    assert_eq!(view["identity"]["family_name"], "Eriksson-Müller");
    // Submitting twice is a state conflict that changes nothing.
    let res = post(
        &app,
        &format!("/v1/applications/{id}/submit"),
        &anna,
        "submit-3",
        None,
    )
    .await;
    assert_problem(res, 409, "invalid_transition").await;

    // Withdrawal takes one call; then nothing else moves it.
    let res = post(
        &app,
        &format!("/v1/applications/{id}/withdraw"),
        &anna,
        "w-1",
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post(
        &app,
        &format!("/v1/applications/{id}/withdraw"),
        &anna,
        "w-2",
        None,
    )
    .await;
    assert_problem(res, 409, "invalid_transition").await;
}

#[tokio::test]
async fn invalid_identity_data_is_refused_field_by_field_and_nothing_is_stored() {
    // Refused attempts count against the create limit too; this test makes many.
    let app = spawn_app_with(|s| {
        s.auth
            .action_limits
            .create_application
            .per_subject_per_minute = 100
    })
    .await;
    let anna = app.token("anna", &["applicant"]);
    let officer = app.token("officer-1", &["officer"]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "future date of birth",
            json!({"date_of_birth": "2090-01-01"}),
            "identity.date_of_birth",
        ),
        (
            "29 Feb in a non-leap year",
            json!({"date_of_birth": "2023-02-29"}),
            "identity.date_of_birth",
        ),
        (
            "impossible date",
            json!({"date_of_birth": "1990-13-40"}),
            "identity.date_of_birth",
        ),
        (
            "too young",
            json!({"date_of_birth": "2015-01-01"}),
            "identity.date_of_birth",
        ),
        (
            "unknown nationality",
            json!({"nationality": "XX"}),
            "identity.nationality",
        ),
        (
            "alpha-3 residence",
            json!({"country_of_residence": "DEU"}),
            "identity.country_of_residence",
        ),
        (
            "control character",
            json!({"family_name": "Eriks\u{0007}son"}),
            "identity.family_name",
        ),
        (
            "invisible character",
            json!({"given_names": "An\u{200B}na"}),
            "identity.given_names",
        ),
        (
            "10,000 characters",
            json!({"family_name": "x".repeat(10_000)}),
            "identity.family_name",
        ),
        (
            "emoji",
            json!({"given_names": "Anna 😀"}),
            "identity.given_names",
        ),
        (
            "markup",
            json!({"family_name": "<script>alert(1)</script>"}),
            "identity.family_name",
        ),
        ("bad email", json!({"email": "anna@"}), "identity.email"),
        ("bad phone", json!({"phone": "0151 123"}), "identity.phone"),
    ];
    for (name, patch, field) in cases {
        let mut body = new_application();
        for (k, v) in patch.as_object().unwrap() {
            body["identity"][k] = v.clone();
        }
        let res = post(
            &app,
            "/v1/applications",
            &anna,
            &uuid::Uuid::new_v4().to_string(),
            Some(&body),
        )
        .await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{name}: {problem}");
    }
    // Mass assignment: fields the app may not set are schema errors.
    for extra in [json!({"status": "approved"}), json!({"risk_score": 0})] {
        let mut body = new_application();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = post(
            &app,
            "/v1/applications",
            &anna,
            &uuid::Uuid::new_v4().to_string(),
            Some(&body),
        )
        .await;
        assert_problem(res, 422, "invalid_body").await;
    }
    let mut body = new_application();
    body["identity"]["nickname"] = json!("Annie");
    let res = post(&app, "/v1/applications", &anna, "x-1", Some(&body)).await;
    assert_problem(res, 422, "invalid_body").await;
    // Several bad fields at once are all reported.
    let mut body = new_application();
    body["identity"]["nationality"] = json!("ZZ");
    body["identity"]["date_of_birth"] = json!("2023-02-29");
    body["jurisdiction"] = json!("US");
    let res = post(&app, "/v1/applications", &anna, "x-2", Some(&body)).await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert!(
        problem["errors"].as_array().unwrap().len() >= 3,
        "{problem}"
    );
    // Without an Idempotency-Key nothing happens either.
    let res = app
        .client
        .post(format!("{}/v1/applications", app.address))
        .bearer_auth(&anna)
        .json(&new_application())
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;

    let list: Value = app
        .get_as("/v1/applications", &officer)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        list["applications"].as_array().unwrap().is_empty(),
        "{list}"
    );
}

#[tokio::test]
async fn idempotency_replays_refuses_reuse_and_collapses_concurrent_retries() {
    // Room for 20 simultaneous first attempts (the create limit is per minute).
    let app = spawn_app_with(|s| {
        s.auth
            .action_limits
            .create_application
            .per_subject_per_minute = 100
    })
    .await;
    let anna = app.token("anna", &["applicant"]);
    let officer = app.token("officer-1", &["officer"]);
    let first = post(
        &app,
        "/v1/applications",
        &anna,
        "create-1",
        Some(&new_application()),
    )
    .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post(
        &app,
        "/v1/applications",
        &anna,
        "create-1",
        Some(&new_application()),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let mut other = new_application();
    other["product"] = json!("savings_account");
    let res = post(&app, "/v1/applications", &anna, "create-1", Some(&other)).await;
    assert_problem(res, 422, "idempotency_key_reused").await;

    // 20 concurrent identical requests from another applicant: one effect.
    let bob = app.token("bob", &["applicant"]);
    let mut body = new_application();
    body["identity"]["given_names"] = json!("Bob");
    let requests = (0..20).map(|_| post(&app, "/v1/applications", &bob, "bob-create", Some(&body)));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = std::collections::BTreeSet::new();
    for res in responses {
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let body: Value = res.json().await.unwrap();
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let list: Value = app
        .get_as("/v1/applications?limit=100", &officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["applications"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn applicants_reach_only_their_own_applications() {
    let app = spawn_app().await;
    let anna = app.token("anna", &["applicant"]);
    let bob = app.token("bob", &["applicant"]);
    let id = create(&app, &anna).await;
    for path in [
        format!("/v1/applications/{id}"),
        format!("/v1/applications/{id}/consent-texts"),
        format!("/v1/applications/{id}/consents"),
        format!("/v1/applications/{}", uuid::Uuid::now_v7()),
        "/v1/applications/not-a-uuid".to_owned(),
    ] {
        let res = app.get_as(&path, &bob).await;
        assert_problem(res, 404, "not_found").await;
    }
    for (path, body) in [
        (format!("/v1/applications/{id}/submit"), None),
        (format!("/v1/applications/{id}/withdraw"), None),
        (
            format!("/v1/applications/{id}/consents"),
            Some(json!({"channel": "web", "decisions": []})),
        ),
    ] {
        let res = post(
            &app,
            &path,
            &bob,
            &uuid::Uuid::new_v4().to_string(),
            body.as_ref(),
        )
        .await;
        assert_problem(res, 404, "not_found").await;
    }
    // Applicants do not list; auditors read but never change.
    assert_problem(
        app.get_as("/v1/applications", &anna).await,
        403,
        "forbidden",
    )
    .await;
    let auditor = app.token("auditor-1", &["auditor"]);
    let res = app
        .get_as(&format!("/v1/applications/{id}"), &auditor)
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert!(
        view.get("identity").is_none(),
        "auditors do not see identity data: {view}"
    );
    let res = post(
        &app,
        "/v1/applications",
        &auditor,
        "a-1",
        Some(&new_application()),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    let res = post(
        &app,
        &format!("/v1/applications/{id}/withdraw"),
        &auditor,
        "a-2",
        None,
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    // Still Anna's, untouched.
    let view: Value = app
        .get_as(&format!("/v1/applications/{id}"), &anna)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["state"], "draft");
}

#[tokio::test]
async fn a_service_creates_for_an_applicant_who_then_owns_it() {
    let app = spawn_app().await;
    let service = app.token("core-banking", &["service"]);
    let mut body = new_application();
    let res = post(&app, "/v1/applications", &service, "s-1", Some(&body)).await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "applicant_subject");
    body["applicant_subject"] = json!("carla");
    let res = post(&app, "/v1/applications", &service, "s-2", Some(&body)).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let carla = app.token("carla", &["applicant"]);
    assert_eq!(
        app.get_as(&format!("/v1/applications/{id}"), &carla)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn personal_data_is_unreadable_at_rest_and_survives_key_rotation() {
    let keys = tempfile::tempdir().unwrap();
    let (k1, k2) = (keys.path().join("k1.key"), keys.path().join("k2.key"));
    std::fs::write(&k1, [1u8; 32]).unwrap();
    std::fs::write(
        &k2,
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [2u8; 32]),
    )
    .unwrap();
    let blind = keys.path().join("blind.key");
    std::fs::write(&blind, [3u8; 32]).unwrap();
    let (k1c, blindc) = (k1.clone(), blind.clone());
    let first = spawn_app_with(move |s| {
        s.data_keys.kek_active = Some("k1".into());
        s.data_keys.kek_files = [("k1".to_owned(), k1c)].into();
        s.data_keys.blind_index_key_path = Some(blindc);
    })
    .await;
    let anna = first.token("anna", &["applicant"]);
    let id = create(&first, &anna).await;
    let de = texts(&first, &anna, &id, "de").await;
    let res = post(
        &first,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "c-1",
        Some(&json!({"channel": "web", "decisions": [decision(text_for(&de, "terms"), true)]})),
    )
    .await;
    assert_eq!(res.status(), 201);

    // Raw rows: no name, date of birth, address, email or client data.
    let url = first
        .settings
        .database_url
        .as_ref()
        .map(|u| secrecy::ExposeSecret::expose_secret(u).to_owned())
        .unwrap();
    let raw = raw_rows(&url).await;
    for secret in [
        "Eriksson",
        "Anna",
        "1974-08-12",
        "Hauptstraße",
        "Berlin",
        "10115",
        "anna@example.com",
        "+4915112345678",
        "127.0.0.1",
    ] {
        assert!(
            !raw.contains(secret),
            "`{secret}` is readable in the database"
        );
    }
    assert!(
        raw.contains("current_account"),
        "the dump did not read the rows"
    );

    // A second gateway on the same database with the rotated keyring: the old
    // record stays readable and new data keys are wrapped with k2.
    let second = spawn_app_with(move |s| {
        s.database_url = Some(url.clone().into());
        s.data_keys.kek_active = Some("k2".into());
        s.data_keys.kek_files = [("k1".to_owned(), k1), ("k2".to_owned(), k2)].into();
        s.data_keys.blind_index_key_path = Some(blind);
    })
    .await;
    let anna2 = second.token("anna", &["applicant"]);
    let view: Value = second
        .get_as(&format!("/v1/applications/{id}"), &anna2)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["identity"]["given_names"], "Anna María");
    let mut body = new_application();
    body["product"] = json!("savings_account");
    let res = post(&second, "/v1/applications", &anna2, "c-2", Some(&body)).await;
    assert_eq!(res.status(), 201);
    let url = second
        .settings
        .database_url
        .as_ref()
        .map(|u| secrecy::ExposeSecret::expose_secret(u).to_owned())
        .unwrap();
    let raw = raw_rows(&url).await;
    assert!(raw.contains("|k1|") && raw.contains("|k2|"), "{raw}");
}

/// Every application and consent row as text, as a database admin would see it.
async fn raw_rows(url: &str) -> String {
    use sqlx::{Connection, Row};
    let sql_apps = "SELECT id, product, jurisdiction, state, identity_sealed, dek_kek_id, dek_wrapped FROM applications";
    let sql_consents = "SELECT purpose, client_sealed FROM consent_records";
    let mut out = String::new();
    macro_rules! dump {
        ($conn:expr) => {{
            for row in sqlx::query(sql_apps).fetch_all(&mut $conn).await.unwrap() {
                for i in 0..4 {
                    out.push_str(&row.get::<String, _>(i));
                    out.push('|');
                }
                out.push_str(&String::from_utf8_lossy(&row.get::<Vec<u8>, _>(4)));
                out.push_str(&format!("|{}|", row.get::<String, _>(5)));
                out.push_str(&String::from_utf8_lossy(&row.get::<Vec<u8>, _>(6)));
                out.push('\n');
            }
            for row in sqlx::query(sql_consents)
                .fetch_all(&mut $conn)
                .await
                .unwrap()
            {
                out.push_str(&row.get::<String, _>(0));
                out.push_str(&String::from_utf8_lossy(&row.get::<Vec<u8>, _>(1)));
                out.push('\n');
            }
        }};
    }
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        dump!(c);
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        dump!(c);
    }
    out
}

#[tokio::test]
async fn stale_drafts_expire_by_policy_and_the_expiry_is_audited() {
    use kyc_gateway::domain::clock::Clock;
    use std::sync::Arc;
    let app = spawn_app().await;
    let anna = app.token("anna", &["applicant"]);
    let id = create(&app, &anna).await;

    /// A clock 31 days ahead: the policy expires drafts after 30.
    struct Later;
    impl Clock for Later {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::Utc::now() + chrono::Days::new(31)
        }
    }
    let store = kyc_gateway::startup::open_store(&app.settings)
        .await
        .unwrap();
    let audit =
        Arc::new(kyc_gateway::startup::audit_log(&app.settings, Arc::clone(&store)).unwrap());
    let policy = Arc::new(kyc_gateway::policy::Policy::load(&app.settings.policy_path).unwrap());
    let (keyring, blind) = kyc_gateway::onboarding::keys::load(&app.settings).unwrap();
    let onboarding = kyc_gateway::onboarding::Onboarding::new(
        store,
        audit,
        policy,
        keyring,
        blind,
        Arc::new(Later),
    );
    assert_eq!(onboarding.expire_stale_drafts().await.unwrap(), 1);
    assert_eq!(onboarding.expire_stale_drafts().await.unwrap(), 0);
    let view: Value = app
        .get_as(&format!("/v1/applications/{id}"), &anna)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["state"], "expired");
    let auditor = app.token("auditor-1", &["auditor"]);
    let events = app
        .audit_events_until(&auditor, "action=application.expired", |e| !e.is_empty())
        .await;
    assert_eq!(events[0]["entry"]["target"]["state_after"], "expired");
}

#[tokio::test]
async fn creating_applications_has_its_own_rate_limit() {
    let app = spawn_app_with(|s| {
        s.auth
            .action_limits
            .create_application
            .per_subject_per_minute = 2
    })
    .await;
    let anna = app.token("anna", &["applicant"]);
    for product in ["current_account", "savings_account"] {
        let mut body = new_application();
        body["product"] = json!(product);
        let res = post(&app, "/v1/applications", &anna, product, Some(&body)).await;
        assert_eq!(res.status(), 201);
    }
    let mut body = new_application();
    body["identity"]["given_names"] = json!("Someone Else");
    let res = post(&app, "/v1/applications", &anna, "third", Some(&body)).await;
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert_problem(res, 429, "rate_limited").await;
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
    // A replay of an earlier request is not a new application: it still answers.
    let res = post(
        &app,
        "/v1/applications",
        &anna,
        "current_account",
        Some(&new_application()),
    )
    .await;
    assert_eq!(res.status(), 201);
    // Other routes of the same applicant are not affected.
    assert_eq!(app.get_as("/v1/me", &anna).await.status(), 200);
}

#[tokio::test]
async fn parallel_creates_for_the_same_person_and_product_open_one_application() {
    let app = spawn_app_with(|s| {
        s.auth
            .action_limits
            .create_application
            .per_subject_per_minute = 100
    })
    .await;
    let carl = app.token("carl", &["applicant"]);
    let body = new_application();
    let keys: Vec<String> = (0..6).map(|i| format!("carl-{i}")).collect();
    let requests = keys
        .iter()
        .map(|key| post(&app, "/v1/applications", &carl, key, Some(&body)));
    let mut statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn consent_requests_are_consistent_and_closed_applications_take_only_withdrawals() {
    let app = spawn_app().await;
    let anna = app.token("anna", &["applicant"]);
    let id = create(&app, &anna).await;
    let en = texts(&app, &anna, &id, "en").await;
    let kyc = text_for(&en, "kyc_processing");
    let both = json!({"channel": "web", "decisions": [decision(kyc, true), decision(kyc, false)]});
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "both",
        Some(&both),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "duplicate_purpose");

    let res = post(
        &app,
        &format!("/v1/applications/{id}/withdraw"),
        &anna,
        "w",
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["state"], "withdrawn");
    assert!(
        after["updated_at"].as_str().unwrap() > after["created_at"].as_str().unwrap(),
        "{after}"
    );
    let grant = json!({"channel": "web", "decisions": [decision(kyc, true)]});
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "late-grant",
        Some(&grant),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "application_closed");
    let withdraw = json!({"channel": "web", "decisions": [decision(kyc, false)]});
    let res = post(
        &app,
        &format!("/v1/applications/{id}/consents"),
        &anna,
        "late-withdrawal",
        Some(&withdraw),
    )
    .await;
    assert_eq!(res.status(), 201);
}

/// Consent capture writes its idempotency record in the same transaction as
/// the consents, with no lookup first: a repeated key must still replay, a
/// reused key must still be refused, and concurrent retries must record once.
#[tokio::test]
async fn consent_capture_replays_refuses_a_reused_key_and_records_retries_once() {
    let app = spawn_app().await;
    let anna = app.token("anna", &["applicant"]);
    let id = create(&app, &anna).await;
    let path = format!("/v1/applications/{id}/consents");
    let en = texts(&app, &anna, &id, "en").await;
    let kyc = text_for(&en, "kyc_processing");
    let grant = json!({"channel": "web", "decisions": [decision(kyc, true)]});
    let first = post(&app, &path, &anna, "consent-1", Some(&grant)).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post(&app, &path, &anna, "consent-1", Some(&grant)).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let refuse = json!({"channel": "web", "decisions": [decision(kyc, false)]});
    let res = post(&app, &path, &anna, "consent-1", Some(&refuse)).await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    // A reused key with a body that does not even parse: still the reuse.
    let res = post(&app, &path, &anna, "consent-1", Some(&json!({"x": 1}))).await;
    assert_problem(res, 422, "idempotency_key_reused").await;

    let retries = (0..10).map(|_| post(&app, &path, &anna, "consent-2", Some(&refuse)));
    let mut bodies = std::collections::BTreeSet::new();
    for res in futures_util::future::join_all(retries).await {
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        bodies.insert(res.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let history: Value = app.get_as(&path, &anna).await.json().await.unwrap();
    let granted: Vec<bool> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["granted"].as_bool().unwrap())
        .collect();
    assert_eq!(granted, [true, false], "{history}");

    // The application closes; the first grant's retry no longer validates
    // but still answers with what was recorded.
    let res = post(
        &app,
        &format!("/v1/applications/{id}/withdraw"),
        &anna,
        "w",
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let late = post(&app, &path, &anna, "consent-1", Some(&grant)).await;
    assert_eq!(late.status(), 201);
    assert_eq!(late.headers()["idempotent-replayed"], "true");
    assert_eq!(late.json::<Value>().await.unwrap(), first);
}

#[tokio::test]
async fn the_audit_log_holds_no_personal_data() {
    let app = spawn_app().await;
    let anna = app.token("anna-subject-42", &["applicant"]);
    let id = create(&app, &anna).await;
    let view = app.get_as(&format!("/v1/applications/{id}"), &anna).await;
    assert_eq!(view.status(), 200);
    let auditor = app.token("auditor-1", &["auditor"]);
    // Wait for the PII read to be sequenced, then read every entry.
    let events = app
        .audit_events_until(&auditor, "limit=500", |e| {
            e.iter()
                .any(|e| e["entry"]["action"] == "application.pii_viewed")
        })
        .await;
    let entries = Value::Array(events).to_string();
    assert!(entries.contains("application.pii_viewed"), "{entries}");
    assert!(
        entries.contains("\"source_ip\":\"ps_"),
        "client IPs must be pseudonymised: {entries}"
    );
    for personal in [
        "127.0.0.1",
        "anna-subject-42",
        "Eriksson",
        "Anna",
        "1974-08-12",
        "Hauptstra",
        "anna@example.com",
        &id,
    ] {
        assert!(
            !entries.contains(personal),
            "`{personal}` appears in the audit log"
        );
    }
}
