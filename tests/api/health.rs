//! Operators' endpoints: liveness, readiness, metrics, OpenAPI, headers.

use std::sync::atomic::Ordering;

use crate::helpers::{Switch, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn livez_and_readyz_answer_over_https() {
    let app = spawn_app().await;
    for path in ["/livez", "/readyz"] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
}

#[tokio::test]
async fn api_responses_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/livez", app.address))
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let generated = h["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    let res = app
        .client
        .get(format!("{}/livez", app.address))
        .header("X-Request-Id", "app-42.retry-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "app-42.retry-1");

    // A request id that could forge log lines is replaced, not echoed.
    let res = app
        .client
        .get(format!("{}/livez", app.address))
        .header("X-Request-Id", "id\" level=\"error")
        .send()
        .await
        .unwrap();
    let echoed = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_requests() {
    let app = spawn_app().await;
    app.client
        .get(format!("{}/livez", app.address))
        .send()
        .await
        .unwrap();
    let res = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let body = res.text().await.unwrap();
    assert!(
        body.contains("# TYPE kyc_gateway_http_requests counter"),
        "{body}"
    );
    assert!(
        body.contains(
            r#"kyc_gateway_http_requests_total{method="GET",route="/livez",status="200"} 1"#
        ),
        "{body}"
    );
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
}

#[tokio::test]
async fn served_openapi_matches_the_committed_document() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let served: serde_json::Value = res.json().await.unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(served, committed);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[test]
fn committed_openapi_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = kyc_gateway::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi --output openapi/openapi.json` and commit it"
    );
}

/// A TCP relay between the gateway and PostgreSQL that a test can cut, to
/// play a database outage without stopping the shared server.
async fn start_relay(target: std::net::SocketAddr, up: Switch) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            if !up.load(Ordering::SeqCst) {
                continue; // dropped: connection refused in effect
            }
            let up = up.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let relay = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                let cut = async {
                    while up.load(Ordering::SeqCst) {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                };
                tokio::select! { _ = relay => {}, _ = cut => {} }
            });
        }
    });
    port
}

async fn wait_for_status(
    app: &crate::helpers::TestApp,
    path: &str,
    want: u16,
) -> reqwest::Response {
    // Bounded wait for the state to change (not a timing assertion).
    for _ in 0..100 {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        if res.status().as_u16() == want {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never answered {want}");
}

#[tokio::test]
async fn readyz_follows_postgres_going_away_and_coming_back() {
    let probe = crate::helpers::TestDatabase::create(std::path::Path::new("/tmp")).await;
    if !probe.is_postgres() {
        eprintln!("skipped: needs TEST_DATABASE_URL (runs in the PostgreSQL pass of .ci/run)");
        return;
    }
    let up: Switch = Default::default();
    up.store(true, Ordering::SeqCst);
    let relay_port = start_relay("127.0.0.1:5432".parse().unwrap(), up.clone()).await;
    let relayed = probe
        .url
        .replacen("127.0.0.1:5432", &format!("127.0.0.1:{relay_port}"), 1);
    assert_ne!(
        relayed, probe.url,
        "TEST_DATABASE_URL must point at 127.0.0.1:5432"
    );
    let app = spawn_app_with(|s| s.database_url = Some(relayed.into())).await;

    wait_for_status(&app, "/readyz", 200).await;
    up.store(false, Ordering::SeqCst);
    let res = wait_for_status(&app, "/readyz", 503).await;
    let body = assert_problem(res, 503, "not_ready").await;
    assert!(
        !body.to_string().contains("5432"),
        "leaks internals: {body}"
    );
    // Liveness does not depend on the database.
    let live = app
        .client
        .get(format!("{}/livez", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    up.store(true, Ordering::SeqCst);
    wait_for_status(&app, "/readyz", 200).await;
    drop(probe);
}
