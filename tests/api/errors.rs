//! Every error a client can provoke is RFC 9457 problem+json with a stable code.

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/v1/nope",
        "/v1/connection/extra",
        "/v2/connection",
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_problem(res, 404, "not_found").await;
    }
}

#[tokio::test]
async fn wrong_methods_are_405_problems_with_allow() {
    let app = spawn_app().await;
    for path in ["/livez", "/readyz", "/metrics", "/v1/connection"] {
        let res = app
            .client
            .post(format!("{}{path}", app.address))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers().get("allow").unwrap(), "GET", "{path}");
        assert_problem(res, 405, "method_not_allowed").await;
    }
    let res = app
        .client
        .delete(format!("{}/livez", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn oversized_request_heads_are_431_problems() {
    let app = spawn_app().await;
    // Over HTTP/2 (the default client) and over HTTP/1.1.
    let http1 = reqwest::Client::builder()
        .use_preconfigured_tls({
            let mut c = crate::helpers::tls_client_config(&[&app.ca_cert], None);
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            c
        })
        .build()
        .unwrap();
    for client in [&app.client, &http1] {
        let res = client
            .get(format!("{}/livez", app.address))
            .header("X-Padding", "a".repeat(20 * 1024))
            .send()
            .await
            .unwrap();
        assert_problem(res, 431, "headers_too_large").await;
        let mut req = client.get(format!("{}/livez", app.address));
        for i in 0..70 {
            req = req.header(format!("x-h{i}"), "1");
        }
        assert_problem(req.send().await.unwrap(), 431, "headers_too_large").await;
    }
    // A normal request still passes.
    let res = app
        .client
        .get(format!("{}/livez", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn body_query_and_path_errors_on_real_routes_are_problems() {
    let app = spawn_app().await;
    let anna = app.token("anna", &["applicant"]);
    let officer = app.token("olga", &["officer"]);
    let url = format!("{}/v1/applications", app.address);
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&anna)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let res = post(b"{\"product\": ".to_vec(), "application/json")
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;
    let res = post(b"{\"product\": 5}".to_vec(), "application/json")
        .await
        .unwrap();
    assert_problem(res, 422, "invalid_body").await;
    let res = post(b"product=x".to_vec(), "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
    let big = format!("{{\"product\": \"{}\"}}", "x".repeat(70 * 1024));
    let res = post(big.into_bytes(), "application/json").await.unwrap();
    assert_problem(res, 413, "payload_too_large").await;

    for query in [
        "limit=lots",
        "limit=0",
        "state=approvedd",
        "cursor=not-a-cursor",
        "surprise=1",
    ] {
        let res = app
            .get_as(&format!("/v1/applications?{query}"), &officer)
            .await;
        assert_problem(res, 400, "invalid_query").await;
    }
    let res = app
        .get_as(
            "/v1/audit/events/not-a-uuid/inclusion-proof",
            &app.token("a", &["auditor"]),
        )
        .await;
    assert_problem(res, 400, "invalid_path_parameter").await;
}
