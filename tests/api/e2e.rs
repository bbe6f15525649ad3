//! The whole onboarding end to end, as a bank would run it: the real
//! binary started with a config file (`kyc-gateway serve --config`), tokens
//! from `kyc-gateway dev token`, every step over HTTPS, twenty applicants
//! built from real public data (ICAO specimen names and MRZs, real JPEG, PNG
//! and PDF files, real OFAC 2019 and UN list entries, in Latin and Cyrillic,
//! with a typo), an officer and two senior officers working the queue, a
//! downstream receiver, and an auditor who exports the log and verifies it
//! offline with `kyc-gateway audit verify`. Runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set. It starts the binary of the
//! build it is part of: `cargo test --release --test api e2e` runs it
//! against the release binary, as CI does on both databases.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::checks::td3;
use crate::documents::fixture;
use crate::helpers::{TestDatabase, client_trusting, init};

const BIN: &str = env!("CARGO_BIN_EXE_kyc-gateway");

/// The gateway process; killed when dropped.
struct Gateway {
    child: Child,
    dir: PathBuf,
    address: String,
    client: reqwest::Client,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

impl Gateway {
    fn start(dir: &Path, database_url: &str, receiver: &str) -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let config = format!(
            r#"
bind = "127.0.0.1:0"
data_dir = "data"
database_url = "{database_url}"
policy_path = "{root}/policies/onboarding.toml"

[telemetry]
log_level = "warn,kyc_gateway::startup=info"

[checks]
poll_interval_ms = 50
provider_timeout_secs = 1
lease_secs = 3
max_attempts = 2
backoff_base_ms = 50
backoff_cap_secs = 1

[review]
decide_interval_ms = 50

[handoff]
url = "{receiver}/bank/kyc-events"
allow_http = true
poll_interval_ms = 50
backoff_base_ms = 50
backoff_cap_secs = 1

[auth.action_limits]
create_application = {{ per_subject_per_minute = 1000, per_ip_per_minute = 1000 }}
upload = {{ per_subject_per_minute = 1000, per_ip_per_minute = 1000 }}
staff_action = {{ per_subject_per_minute = 1000, per_ip_per_minute = 1000 }}
audit_export = {{ per_subject_per_minute = 1000, per_ip_per_minute = 1000 }}

[[sanctions.lists]]
name = "ofac_sdn"
format = "ofac_sdn"
path = "{root}/tests/fixtures/sanctions/ofac_sdn_2019"

[[sanctions.lists]]
name = "un"
format = "un_consolidated"
path = "{root}/tests/fixtures/sanctions/un/UN_consolidated.xml"
"#
        );
        std::fs::write(dir.join("gateway.toml"), config).unwrap();
        let mut child = command(dir)
            .args(["--config", "gateway.toml", "serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let (mut ca, mut address) = (None, None);
        while address.is_none() {
            let v = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("gateway start");
            if let Some(p) = v["ca_cert"].as_str() {
                ca = Some(dir.join(p));
            }
            if v["message"] == "kyc-gateway listening (TLS only)" {
                address = v["address"].as_str().map(str::to_owned);
            }
        }
        let ca = ca.unwrap();
        Self {
            child,
            dir: dir.to_owned(),
            address: address.unwrap(),
            client: client_trusting(&[&ca], None),
        }
    }

    /// A token from `kyc-gateway dev token`, as the README shows.
    fn token(&self, sub: &str, role: &str) -> String {
        let out = command(&self.dir)
            .args([
                "--config",
                "gateway.toml",
                "dev",
                "token",
                "--role",
                role,
                "--sub",
                sub,
                "--ttl",
                "1h",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let res = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.unwrap()
    }

    async fn post(&self, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    async fn upload(
        &self,
        token: &str,
        id: &str,
        kind: &str,
        file: (&str, &str, Vec<u8>),
        mrz: Option<&str>,
    ) {
        let mut form = Form::new().text("kind", kind.to_owned());
        if let Some(m) = mrz {
            form = form.text("mrz", m.to_owned());
        }
        let (name, mime, bytes) = file;
        let part = Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap();
        let res = self
            .client
            .post(format!("{}/v1/applications/{id}/documents", self.address))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .multipart(form.part("file", part))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "upload {kind}: {}",
            res.text().await.unwrap()
        );
    }
}

/// One applicant of the scenario.
struct Applicant {
    sub: &'static str,
    given: &'static str,
    family: &'static str,
    dob: &'static str,
    nationality: &'static str,
    /// (MRZ issuing state/nationality, MRZ name field, expiry YYMMDD); none: no MRZ sent.
    mrz: Option<(&'static str, &'static str, &'static str)>,
    /// Corrupt the document number's check digit.
    bad_check_digit: bool,
    /// Also upload a PDF proof of address.
    pdf: bool,
    /// `approved`, or the reason codes the case must carry.
    expect: Expect,
}

enum Expect {
    Approved,
    Review(&'static [&'static str]),
}

fn applicants() -> Vec<Applicant> {
    use Expect::{Approved, Review};
    let a = |sub, given, family, dob, nationality, mrz, expect| Applicant {
        sub,
        given,
        family,
        dob,
        nationality,
        mrz,
        bad_check_digit: false,
        pdf: false,
        expect,
    };
    let mut list = vec![
        // Clean, named after the ICAO 9303 specimens (vectors.md T3-01, T3-02, T3-03, T3-12).
        a(
            "anna",
            "Anna Maria",
            "Eriksson",
            "1974-08-12",
            "SE",
            Some(("SWE", "ERIKSSON<<ANNA<MARIA", "340415")),
            Approved,
        ),
        a(
            "joanna",
            "Joanna",
            "Kowalska Kwiatkowska",
            "1960-02-08",
            "PL",
            Some(("POL", "KOWALSKA<KWIATKOWSKA<<JOANNA", "341231")),
            Approved,
        ),
        a(
            "sarah",
            "Sarah",
            "Martin",
            "1985-01-01",
            "CA",
            Some(("CAN", "MARTIN<<SARAH", "330114")),
            Approved,
        ),
        a(
            "yangben",
            "Yangben",
            "Ceshi",
            "1983-10-29",
            "CN",
            Some(("CHN", "CESHI<<YANGBEN", "340422")),
            Approved,
        ),
        a(
            "hans",
            "Hans",
            "Müller",
            "1964-08-12",
            "DE",
            Some(("D<<", "MUELLER<<HANS", "320101")),
            Approved,
        ),
        a(
            "maria",
            "María José",
            "García López",
            "1979-03-14",
            "ES",
            Some(("ESP", "GARCIA<LOPEZ<<MARIA<JOSE", "310630")),
            Approved,
        ),
        a(
            "jean",
            "Jean",
            "Dupont",
            "1990-05-20",
            "FR",
            Some(("FRA", "DUPONT<<JEAN", "350101")),
            Approved,
        ),
        a(
            "giulia",
            "Giulia",
            "Rossi",
            "1988-11-03",
            "IT",
            Some(("ITA", "ROSSI<<GIULIA", "330909")),
            Approved,
        ),
        // An expired passport.
        a(
            "petr",
            "Petr",
            "Novák",
            "1970-06-15",
            "CZ",
            Some(("CZE", "NOVAK<<PETR", "230114")),
            Review(&["document_expired"]),
        ),
        // An identity that does not match its passport.
        a(
            "ole",
            "Ole",
            "Jensen",
            "1982-02-02",
            "DK",
            Some(("DNK", "HANSEN<<OLE", "320202")),
            Review(&["mrz_name_mismatch"]),
        ),
        // Real list entries: OFAC 2019 (exact, and with a typo), UN, and a Cyrillic spelling.
        a(
            "kahie",
            "Abdullahi Hussein",
            "Kahie",
            "1959-09-22",
            "NO",
            None,
            Review(&["sanctions_potential_match"]),
        ),
        a(
            "uthman",
            "Omar Mahmud",
            "Uthman",
            "1960-12-30",
            "JO",
            None,
            Review(&["sanctions_potential_match"]),
        ),
        a(
            "katanga",
            "Germain",
            "Katanga",
            "1978-04-28",
            "CD",
            None,
            Review(&["sanctions_potential_match"]),
        ),
        a(
            "leontyev",
            "Владислав",
            "Леонтьев",
            "1971-07-05",
            "RU",
            None,
            Review(&["sanctions_potential_match"]),
        ),
        // The vendor never answers for this one (sandbox): provider timeout.
        a(
            "erik",
            "Erik",
            "Timeoutsson",
            "1975-07-07",
            "SE",
            Some(("SWE", "TIMEOUTSSON<<ERIK", "330707")),
            Review(&["check_error", "provider_timeout"]),
        ),
        // No MRZ sent: the officer asks for it.
        a(
            "karin",
            "Karin",
            "Lind",
            "1991-09-09",
            "SE",
            None,
            Review(&["mrz_not_provided"]),
        ),
        // A high-risk nationality: four-eyes approval.
        a(
            "ali",
            "Ali",
            "Rezaei",
            "1984-04-04",
            "IR",
            Some(("IRN", "REZAEI<<ALI", "310404")),
            Review(&["high_risk_jurisdiction"]),
        ),
        a(
            "lena",
            "Lena",
            "Berg",
            "1993-03-03",
            "NO",
            Some(("NOR", "BERG<<LENA", "330303")),
            Review(&["mrz_check_digit"]),
        ),
        a(
            "tomas",
            "Tomás",
            "Silva",
            "1987-12-12",
            "PT",
            Some(("PRT", "SILVA<<TOMAS", "321212")),
            Approved,
        ),
        a(
            "eva",
            "Eva",
            "Horváth",
            "1969-01-31",
            "HU",
            Some(("HUN", "HORVATH<<EVA", "320131")),
            Approved,
        ),
    ];
    list[7].pdf = true;
    list[17].bad_check_digit = true;
    list
}

fn mrz_for(p: &Applicant) -> Option<String> {
    let (state, names, expiry) = p.mrz?;
    let dob = p.dob.replace('-', "");
    let nat = if state == "D<<" { "D<<" } else { state };
    let sex = '<';
    let mut text = td3(state, names, "C01X00T47", nat, &dob[2..], sex, expiry);
    if p.bad_check_digit {
        let mut chars: Vec<char> = text.chars().collect();
        let at = 45 + 9;
        chars[at] = if chars[at] == '0' { '1' } else { '0' };
        text = chars.into_iter().collect();
    }
    Some(text)
}

async fn onboard(gw: &Gateway, p: &Applicant) -> (String, String) {
    let token = gw.token(p.sub, "applicant");
    let body = json!({
        "product": "current_account",
        "jurisdiction": "DE",
        "identity": {
            "given_names": p.given,
            "family_name": p.family,
            "date_of_birth": p.dob,
            "nationality": p.nationality,
            "country_of_residence": "DE",
            "address": { "lines": ["Friedrichstraße 43"], "city": "Berlin", "postal_code": "10117", "country": "DE" }
        }
    });
    let res = gw.post("/v1/applications", &token, Some(body)).await;
    assert_eq!(
        res.status(),
        201,
        "{}: {}",
        p.sub,
        res.text().await.unwrap()
    );
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let texts = gw
        .get(&format!("/v1/applications/{id}/consent-texts"), &token)
        .await;
    let decisions: Vec<Value> = texts["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"purpose": t["purpose"], "granted": t["required"], "text_version": t["version"], "text_sha256": t["sha256"], "locale": t["locale"]}))
        .collect();
    let res = gw
        .post(
            &format!("/v1/applications/{id}/consents"),
            &token,
            Some(json!({"channel": "web", "decisions": decisions})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let mrz = mrz_for(p);
    gw.upload(
        &token,
        &id,
        "passport",
        ("passport.jpg", "image/jpeg", fixture("jpg")),
        mrz.as_deref(),
    )
    .await;
    gw.upload(
        &token,
        &id,
        "selfie",
        ("selfie.png", "image/png", fixture("png")),
        None,
    )
    .await;
    if p.pdf {
        gw.upload(
            &token,
            &id,
            "proof_of_address",
            ("statement.pdf", "application/pdf", fixture("pdf")),
            None,
        )
        .await;
    }
    let res = gw
        .post(&format!("/v1/applications/{id}/submit"), &token, None)
        .await;
    assert_eq!(
        res.status(),
        200,
        "{}: {}",
        p.sub,
        res.text().await.unwrap()
    );
    (token, id)
}

async fn state_after_checks(gw: &Gateway, token: &str, id: &str) -> String {
    for _ in 0..400 {
        let v = gw.get(&format!("/v1/applications/{id}"), token).await;
        let s = v["state"].as_str().unwrap().to_owned();
        if s != "checking" && s != "submitted" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} was not decided");
}

#[tokio::test]
async fn twenty_applicants_an_officer_a_senior_officer_and_an_auditor() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(dir.path()).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let gw = Gateway::start(dir.path(), &db.url, &receiver.uri());

    // Every applicant goes through create → consents → documents → submit.
    let people = applicants();
    assert!(people.len() >= 20);
    let mut ids = Vec::new();
    for p in &people {
        ids.push(onboard(&gw, p).await);
    }
    // Checks → decision, with the expected outcome and reasons.
    let olga = gw.token("olga", "officer");
    let mut approved = Vec::new();
    let mut cases = std::collections::HashMap::new();
    for (p, (token, id)) in people.iter().zip(&ids) {
        let state = state_after_checks(&gw, token, id).await;
        match p.expect {
            Expect::Approved => {
                assert_eq!(state, "approved", "{} should be approved", p.sub);
                approved.push(id.clone());
            }
            Expect::Review(reasons) => {
                assert_eq!(state, "in_review", "{} should be in review", p.sub);
                let page = gw.get("/v1/review/cases?limit=100", &olga).await;
                let case = page["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["application_id"] == id.as_str())
                    .unwrap_or_else(|| panic!("no case for {}", p.sub))
                    .clone();
                for r in reasons {
                    assert!(
                        case["reason_codes"].as_array().unwrap().contains(&json!(r)),
                        "{}: {r} missing in {case}",
                        p.sub
                    );
                }
                cases.insert(p.sub, case["id"].as_str().unwrap().to_owned());
            }
        }
    }

    let idx = |sub: &str| people.iter().position(|p| p.sub == sub).unwrap();
    let decide = |case: &str| format!("/v1/review/cases/{case}/decision");
    let claim = |case: &str| format!("/v1/review/cases/{case}/claim");

    // The officer asks Karin for her MRZ; she adds it and resubmits.
    let karin_case = &cases["karin"];
    assert_eq!(gw.post(&claim(karin_case), &olga, None).await.status(), 200);
    let ask = json!({"action": "request_info", "reason_code": "mrz_missing", "note": "The app did not read the MRZ.", "items": ["Photograph the passport data page again, with the two bottom lines readable."]});
    assert_eq!(
        gw.post(&decide(karin_case), &olga, Some(ask))
            .await
            .status(),
        200
    );
    let (karin_token, karin_id) = &ids[idx("karin")];
    let view = gw
        .get(&format!("/v1/applications/{karin_id}"), karin_token)
        .await;
    assert_eq!(view["info_requested"]["reason_code"], "mrz_missing");
    let karin_mrz = td3(
        "SWE",
        "LIND<<KARIN",
        "C01X00T47",
        "SWE",
        "910909",
        '<',
        "330909",
    );
    gw.upload(
        karin_token,
        karin_id,
        "passport",
        ("passport.jpg", "image/jpeg", fixture("jpg")),
        Some(&karin_mrz),
    )
    .await;
    assert_eq!(
        gw.post(
            &format!("/v1/applications/{karin_id}/submit"),
            karin_token,
            None
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        state_after_checks(&gw, karin_token, karin_id).await,
        "in_review"
    );
    let case = gw
        .get(&format!("/v1/review/cases/{karin_case}"), &olga)
        .await;
    let kinds: Vec<&str> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "claimed", "decided", "reopened"]);
    assert_eq!(gw.post(&claim(karin_case), &olga, None).await.status(), 200);
    let ok = json!({"action": "approve", "reason_code": "documents_sufficient", "note": "MRZ now clear and matching."});
    assert_eq!(
        gw.post(&decide(karin_case), &olga, Some(ok)).await.status(),
        200
    );
    approved.push(karin_id.clone());

    // The officer rejects a confirmed sanctions match.
    let kahie_case = &cases["kahie"];
    assert_eq!(gw.post(&claim(kahie_case), &olga, None).await.status(), 200);
    let reject = json!({"action": "reject", "reason_code": "sanctions_confirmed", "note": "Name, date of birth and nationality match OFAC entry."});
    assert_eq!(
        gw.post(&decide(kahie_case), &olga, Some(reject))
            .await
            .status(),
        200
    );

    // A high-risk approval: proposed by one senior officer, confirmed by another.
    let (sam, sue) = (
        gw.token("sam", "senior_officer"),
        gw.token("sue", "senior_officer"),
    );
    let ali_case = &cases["ali"];
    assert_eq!(gw.post(&claim(ali_case), &sam, None).await.status(), 200);
    let propose = json!({"action": "approve", "reason_code": "identity_verified", "note": "Resident in Germany for ten years; documents verified."});
    assert_eq!(
        gw.post(&decide(ali_case), &sam, Some(propose))
            .await
            .status(),
        202
    );
    let confirm = format!("/v1/review/cases/{ali_case}/confirm");
    assert_eq!(
        gw.post(&confirm, &sam, Some(json!({"note": "self"})))
            .await
            .status(),
        403
    );
    let release = format!("/v1/review/cases/{ali_case}/release");
    assert_eq!(gw.post(&release, &sam, None).await.status(), 200);
    assert_eq!(gw.post(&claim(ali_case), &sue, None).await.status(), 200);
    assert_eq!(
        gw.post(&confirm, &sue, Some(json!({"note": "Agreed."})))
            .await
            .status(),
        200
    );
    approved.push(ids[idx("ali")].1.clone());

    // The downstream receiver gets exactly the approvals, once each.
    let mut got = Vec::new();
    for _ in 0..200 {
        got = receiver
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter(|b| b["type"] == "application.approved")
            .map(|b| b["data"]["application_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        if got.len() >= approved.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got_sorted = got.clone();
    got_sorted.sort();
    got_sorted.dedup();
    assert_eq!(
        got_sorted.len(),
        got.len(),
        "an approval was delivered twice"
    );
    let mut want = approved.clone();
    want.sort();
    assert_eq!(got_sorted, want);

    // An auditor exports the log; `kyc-gateway audit verify` accepts it, and
    // refuses it with one byte changed.
    let udo = gw.token("udo", "auditor");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bundle = gw
        .client
        .get(format!("{}/v1/audit/export", gw.address))
        .bearer_auth(&udo)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let vkey = gw.get("/v1/audit/public-key", &udo).await["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = dir.path().join("bundle.ndjson");
    std::fs::write(&path, &bundle).unwrap();
    let verify = |p: &Path| {
        command(dir.path())
            .args(["audit", "verify"])
            .arg(p)
            .args(["--key", &vkey])
            .output()
            .unwrap()
    };
    let out = verify(&path);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tampered = bundle.to_vec();
    let text = String::from_utf8(tampered.clone()).unwrap();
    // One character of one entry's base64, in the middle of the log.
    let entries: Vec<usize> = text
        .match_indices("{\"type\":\"entry\"")
        .map(|(i, _)| i)
        .collect();
    assert!(
        entries.len() > 100,
        "every step is logged: {}",
        entries.len()
    );
    let line = entries[entries.len() / 2];
    let field = "\"entry\":\"";
    let at = line + text[line..].find(field).unwrap() + field.len() + 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let bad = dir.path().join("tampered.ndjson");
    std::fs::write(&bad, tampered).unwrap();
    assert!(
        !verify(&bad).status.success(),
        "a changed byte must fail verification"
    );
    drop(gw);
}
