//! Sanctions screening as an officer, an auditor and an admin use it: ad-hoc
//! screening with its explanation, the lists' state, reloads of changed, damaged
//! and truncated list files, and the audit trail, on both databases.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sanctions")
}

/// A writable copy of the OFAC tiny SDN set in `dir`.
fn copy_tiny(dir: &Path) -> PathBuf {
    let to = dir.join("sdn");
    std::fs::create_dir_all(&to).unwrap();
    for f in ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"] {
        std::fs::copy(fixtures().join("ofac_tiny").join(f), to.join(f)).unwrap();
    }
    to
}

/// A gateway screening against the OFAC SDN list in `dir`, checking its files
/// every `interval_secs`.
async fn app_with_sdn(dir: PathBuf, interval_secs: u64) -> TestApp {
    spawn_app_with(move |s| {
        s.sanctions.lists = vec![kyc_gateway::config::SanctionsListSettings {
            name: "ofac_sdn".into(),
            format: kyc_gateway::config::SanctionsListFormat::OfacSdn,
            path: dir,
        }];
        s.sanctions.reload_check_interval_secs = interval_secs;
    })
    .await
}

async fn screen(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/screenings", app.address))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn reload(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/admin/sanctions/reload", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn lists(app: &TestApp) -> Value {
    let auditor = app.token("audrey", &["auditor"]);
    let res = app.get_as("/v1/sanctions/lists", &auditor).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The ids of the entries a screening of `name` finds.
async fn found(app: &TestApp, name: &str) -> Vec<String> {
    let officer = app.token("olga", &["officer"]);
    let res = screen(app, &officer, json!({ "name": name })).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entry_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls the auditor listing until `action` shows up; returns the events.
async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    let auditor = app.token("audrey", &["auditor"]);
    app.audit_events_until(&auditor, &format!("action={action}"), |e| !e.is_empty())
        .await
}

#[tokio::test]
async fn an_officer_finds_a_listed_person_with_the_explanation_and_it_is_audited() {
    let app = app_with_sdn(fixtures().join("ofac_tiny"), 3600).await;
    let state = lists(&app).await;
    assert_eq!(state["screening_available"], true);
    let active = state["lists"][0]["active"].clone();
    assert_eq!(active["name"], "ofac_sdn");
    assert_eq!(active["entry_count"], 17);
    assert_eq!(active["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(state["lists"][0]["last_reload"]["result"], "activated");
    assert_eq!(state["lists"][0]["last_reload"]["trigger"], "startup");

    // In Cyrillic, with date of birth and nationality, by a senior officer.
    let senior = app.token("sergei", &["senior_officer"]);
    let res = screen(
        &app,
        &senior,
        json!({
            "name": "Дмитрий Хорошев",
            "date_of_birth": "1993-04-17",
            "nationality": "RU",
            "entity_type": "individual",
        }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["lists"], json!([active]));
    let m = &body["matches"][0];
    assert_eq!(m["entry_id"], "48603", "{body}");
    assert_eq!(m["primary_name"], "KHOROSHEV, Dmitry Yuryevich");
    assert_eq!(m["list"], active, "the match names its list version");
    assert!(m["matched_name"].as_str().unwrap().contains("KHOROSHEV"));
    assert!(!m["token_pairs"].as_array().unwrap().is_empty(), "{m}");
    let evidence = m["evidence"].as_array().unwrap();
    for field in ["birth_date", "nationality"] {
        let e = evidence
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no {field} evidence: {m}"));
        assert_eq!(e["effect"], "corroborates", "{e}");
        assert!(e["adjustment"].as_f64().unwrap() > 0.0);
    }
    assert!(m["score"].as_f64().unwrap() >= m["threshold"].as_f64().unwrap());
    assert_eq!(body["threshold"], json!(0.85));

    // The name alone finds the entry; a contradicting date of birth lowers the
    // score (here below the threshold).
    assert_eq!(found(&app, "Dmitry Khoroshev").await, ["48603"]);
    let officer = app.token("olga", &["officer"]);
    let other: Value = screen(
        &app,
        &officer,
        json!({ "name": "Dmitry Khoroshev", "date_of_birth": "1950" }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        other["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m2| m2["score"].as_f64() < m["score"].as_f64()),
        "{other}"
    );

    // Someone on no list.
    assert!(found(&app, "Maria Schmidt").await.is_empty());

    // The screenings are on record, without the name.
    let events = audited(&app, "screening.adhoc").await;
    let entry = &events[0]["entry"];
    assert_eq!(entry["target"]["kind"], "screening_query");
    assert_eq!(entry["actor"]["kind"], "staff");
    assert_eq!(entry["record_digest"].as_str().unwrap().len(), 64);
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e["entry"]["event_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&body["audit_event_id"].as_str().unwrap()));
    let printed = serde_json::to_string(&events).unwrap().to_lowercase();
    for secret in ["хорошев", "khoroshev", "schmidt", "1993-04-17"] {
        assert!(!printed.contains(secret), "{secret} in the audit log");
    }
}

#[tokio::test]
async fn only_officers_screen_staff_read_the_lists_and_admins_reload() {
    let app = app_with_sdn(fixtures().join("ofac_tiny"), 3600).await;
    let body = json!({ "name": "Elvis Angus Logan Morey" });
    for roles in [&["applicant"][..], &["auditor"], &["admin"], &["service"]] {
        let token = app.token("someone", roles);
        let res = screen(&app, &token, body.clone()).await;
        assert_problem(res, 403, "forbidden").await;
    }
    let applicant = app.token("anna", &["applicant"]);
    let res = app.get_as("/v1/sanctions/lists", &applicant).await;
    assert_problem(res, 403, "forbidden").await;
    for roles in [&["applicant"][..], &["officer"], &["senior_officer"]] {
        let token = app.token("someone", roles);
        assert_problem(reload(&app, &token).await, 403, "forbidden").await;
    }
    for roles in [
        &["officer"][..],
        &["senior_officer"],
        &["auditor"],
        &["admin"],
    ] {
        let token = app.token("staff", roles);
        assert_eq!(
            app.get_as("/v1/sanctions/lists", &token).await.status(),
            200
        );
    }
    let res = app
        .client
        .post(format!("{}/v1/screenings", app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    assert_eq!(found(&app, "Elvis Angus Logan Morey").await, ["10278"]);
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field() {
    let app = app_with_sdn(fixtures().join("ofac_tiny"), 3600).await;
    let officer = app.token("olga", &["officer"]);
    let res = screen(
        &app,
        &officer,
        json!({ "name": "  ", "date_of_birth": "1993-02-30", "nationality": "Russia" }),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "date_of_birth", "nationality"]);

    let long = "A".repeat(301);
    let res = screen(&app, &officer, json!({ "name": long })).await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "too_long");
    let res = screen(&app, &officer, json!({ "name": "Ali\u{200B}ce" })).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = screen(&app, &officer, json!({ "name": "X", "nationality": "ru" })).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = screen(
        &app,
        &officer,
        json!({ "name": "X", "entity_type": "person" }),
    )
    .await;
    assert_problem(res, 422, "invalid_body").await;
    let res = screen(&app, &officer, json!({ "name": "X", "alias": "Y" })).await;
    assert_problem(res, 422, "invalid_body").await;
    let res = screen(&app, &officer, json!({})).await;
    assert_problem(res, 422, "invalid_body").await;
}

#[tokio::test]
async fn without_an_active_list_screening_is_unavailable() {
    // Nothing configured.
    let app = spawn_app().await;
    let officer = app.token("olga", &["officer"]);
    let res = screen(&app, &officer, json!({ "name": "Maria Schmidt" })).await;
    assert_problem(res, 503, "screening_unavailable").await;
    let state = lists(&app).await;
    assert_eq!(state, json!({ "screening_available": false, "lists": [] }));
    drop(app);

    // Configured, but the files are missing: the gateway starts and says why.
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_sdn(dir.path().join("nowhere"), 3600).await;
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let res = screen(&app, &officer_of(&app), json!({ "name": "Maria Schmidt" })).await;
    assert_problem(res, 503, "screening_unavailable").await;
    let state = lists(&app).await;
    assert_eq!(state["screening_available"], false);
    let list = &state["lists"][0];
    assert_eq!(list["active"], Value::Null);
    assert_eq!(list["last_reload"]["result"], "load_failed");
    let reason = list["last_reload"]["reason"].as_str().unwrap();
    assert!(reason.contains("sdn.csv"), "{reason}");
    assert!(!reason.contains("nowhere"), "no server paths: {reason}");
}

fn officer_of(app: &TestApp) -> String {
    app.token("olga", &["officer"])
}

#[tokio::test]
async fn a_truncated_list_is_refused_and_the_active_version_stays() {
    let dir = tempfile::tempdir().unwrap();
    let sdn = copy_tiny(dir.path());
    let app = app_with_sdn(sdn.clone(), 3600).await;
    let before = lists(&app).await["lists"][0]["active"].clone();
    assert_eq!(before["entry_count"], 17);

    // A download cut off half-way through a record.
    let bytes = std::fs::read(sdn.join("sdn.csv")).unwrap();
    std::fs::write(sdn.join("sdn.csv"), &bytes[..bytes.len() / 2]).unwrap();
    let admin = app.token("ada", &["admin"]);
    let res = reload(&app, &admin).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let list = &body["lists"][0];
    assert_eq!(list["last_reload"]["result"], "refused", "{body}");
    assert_eq!(list["last_reload"]["trigger"], "admin");
    let refused = &list["last_reload"]["version"];
    assert!(refused["entry_count"].as_u64().unwrap() < 17, "{body}");
    assert_ne!(refused["sha256"], before["sha256"]);
    assert!(
        list["last_reload"]["reason"]
            .as_str()
            .unwrap()
            .contains("ofac_sdn")
    );
    assert_eq!(list["active"], before, "the good version stays active");
    assert_eq!(body["screening_available"], true);
    assert_eq!(lists(&app).await["lists"][0]["active"], before);

    // Entries past the cut are still found.
    assert_eq!(found(&app, "TASCA").await, ["52327"]);

    // Cut a few bytes short, inside the last record: as many entries, but the
    // damaged record is reported and the version refused.
    std::fs::write(sdn.join("sdn.csv"), &bytes[..bytes.len() - 40]).unwrap();
    let body: Value = reload(&app, &admin).await.json().await.unwrap();
    let last = &body["lists"][0]["last_reload"];
    assert_eq!(last["result"], "refused", "{body}");
    assert_eq!(last["malformed_records"], 1);
    assert_eq!(last["issues"][0]["file"], "sdn.csv");
    assert_eq!(last["issues"][0]["line"], 17);
    assert_eq!(body["lists"][0]["active"], before);

    let is_admin = |e: &Value| e["entry"]["target"]["id"] == "admin";
    let auditor = app.token("audrey", &["auditor"]);
    let events = app
        .audit_events_until(&auditor, "action=sanctions.reload", |events| {
            events.iter().any(is_admin)
        })
        .await;
    let admin_reload = events
        .iter()
        .find(|e| is_admin(e))
        .expect("the admin reload is audited");
    assert_eq!(admin_reload["entry"]["outcome"]["result"], "failure");
    assert_eq!(
        admin_reload["entry"]["target"]["state_after"],
        "ofac_sdn=refused"
    );
}

#[tokio::test]
async fn a_damaged_list_reports_its_bad_records_and_is_not_activated_at_start() {
    let app = app_with_sdn(fixtures().join("ofac_invalid"), 3600).await;
    let state = lists(&app).await;
    let list = &state["lists"][0];
    assert_eq!(list["active"], Value::Null);
    let last = &list["last_reload"];
    assert_eq!(last["result"], "refused", "{state}");
    assert!(last["malformed_records"].as_u64().unwrap() > 0);
    let issue = &last["issues"][0];
    assert!(issue["file"].as_str().unwrap().ends_with(".csv"), "{issue}");
    assert!(issue["line"].as_u64().unwrap() > 0);
    assert_eq!(state["screening_available"], false);
    let res = screen(&app, &officer_of(&app), json!({ "name": "Maria Schmidt" })).await;
    assert_problem(res, 503, "screening_unavailable").await;
}

/// The tiny list plus one more (invented) entry, as the first line.
fn add_entry(sdn: &Path, id: u32, name: &str) {
    let path = sdn.join("sdn.csv");
    let mut bytes = format!(
        "{id},\"{name}\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 01 Jan 1970.\"\r\n"
    )
    .into_bytes();
    bytes.extend(std::fs::read(&path).unwrap());
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_valid_change_is_activated_by_an_admin_reload() {
    let dir = tempfile::tempdir().unwrap();
    let sdn = copy_tiny(dir.path());
    let app = app_with_sdn(sdn.clone(), 3600).await;
    let before = lists(&app).await["lists"][0]["active"].clone();
    assert!(found(&app, "Bartholomew Quixfeather").await.is_empty());

    let admin = app.token("ada", &["admin"]);
    let body: Value = reload(&app, &admin).await.json().await.unwrap();
    assert_eq!(body["lists"][0]["last_reload"]["result"], "unchanged");

    add_entry(&sdn, 99_000_001, "QUIXFEATHER, Bartholomew");
    let body: Value = reload(&app, &admin).await.json().await.unwrap();
    let list = &body["lists"][0];
    assert_eq!(list["last_reload"]["result"], "activated", "{body}");
    assert_eq!(list["active"]["entry_count"], 18);
    assert_ne!(list["active"]["sha256"], before["sha256"]);
    assert_eq!(list["active"], list["last_reload"]["version"]);
    assert_eq!(found(&app, "Bartholomew Quixfeather").await, ["99000001"]);
}

#[tokio::test]
async fn the_watcher_picks_up_changed_files_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let sdn = copy_tiny(dir.path());
    let app = app_with_sdn(sdn.clone(), 1).await;
    add_entry(&sdn, 99_000_002, "ZELLWEGGER-PONTIFEX, Ottilie");
    for _ in 0..100 {
        let state = lists(&app).await;
        let list = &state["lists"][0];
        if list["active"]["entry_count"] == 18 {
            assert_eq!(list["last_reload"]["trigger"], "file_change");
            assert_eq!(
                found(&app, "Ottilie Zellwegger-Pontifex").await,
                ["99000002"]
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the changed list was never activated");
}
