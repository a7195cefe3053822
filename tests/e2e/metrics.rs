//! `/metrics` (Prometheus, OpenMetrics text) and `X-Request-Id`.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Server, ServerOptions};

/// `(status, content type, body)` of `GET /metrics`, with an optional token.
async fn scrape(server: &Server, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(server.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The value of the sample `line_start` (metric name and labels) in `text`.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(line_start)?.trim().split(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_generations_credits_and_plugin_calls() {
    let server = Server::start_with(ServerOptions {
        config_toml: Some("[plugins.placeholder]\ncredits = { placeholder = 5 }\n".into()),
        ..Default::default()
    })
    .await;
    let (account, live) = server.account_with_key("metered", 20, false);
    let generate = |latency: u32| {
        format!(
            "mutation {{ generate(input: {{ type: IMAGE, provider: \"placeholder\", input: {{ text: \"a private prompt\" }}, \
             options: {{ latencyMs: {latency} }} }}) {{ id status }} }}"
        )
    };
    // One completed (waited for), one cancelled while running.
    let (status, _, done) = server.post(Some(&live), &generate(10), json!({}), &[("Prefer", "wait=60")]).await;
    assert_eq!((status, &done["data"]["generate"]["status"]), (200, &json!("COMPLETED")), "{done}");
    let (_, _, slow) = server.post(Some(&live), &generate(30_000), json!({}), &[]).await;
    let slow_id = slow["data"]["generate"]["id"].as_str().unwrap().to_string();
    let (_, _, cancelled) = server
        .post(Some(&live), "mutation($id: ID!) { cancelGeneration(id: $id) }", json!({ "id": slow_id }), &[])
        .await;
    assert_eq!(cancelled["data"]["cancelGeneration"], true, "{cancelled}");
    server.wait_terminal(&live, &slow_id, Duration::from_secs(20)).await;
    let (_, _, read) = server.post(Some(&live), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(read["data"]["account"]["credits"], 15, "5 captured, 5 reserved then refunded");

    let (status, content_type, text) = scrape(&server, None).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let expect = |line_start: &str, value: f64| {
        assert_eq!(sample(&text, line_start), Some(value), "{line_start} in\n{text}");
    };
    expect("doitong_http_requests_total{route=\"graphql\",operation=\"generate\",status=\"200\"}", 2.0);
    expect("doitong_http_requests_total{route=\"graphql\",operation=\"mutation\",status=\"200\"}", 1.0);
    expect("doitong_generations_accepted_total{kind=\"image\",provider=\"placeholder\",mode=\"live\"}", 2.0);
    expect(
        "doitong_generations_finished_total{kind=\"image\",provider=\"placeholder\",status=\"completed\",code=\"\"}",
        1.0,
    );
    expect(
        "doitong_generations_finished_total{kind=\"image\",provider=\"placeholder\",status=\"cancelled\",code=\"\"}",
        1.0,
    );
    expect("doitong_credits_total{entry=\"reserved\"}", 10.0);
    expect("doitong_credits_total{entry=\"captured\"}", 5.0);
    expect("doitong_credits_total{entry=\"refunded\"}", 5.0);
    expect("doitong_generations_active{status=\"queued\"}", 0.0);
    expect("doitong_generations_active{status=\"processing\"}", 0.0);
    assert!(sample(&text, "doitong_plugins_loaded").unwrap() >= 1.0, "{text}");
    for call in ["quote", "submit", "poll"] {
        let calls = sample(
            &text,
            &format!("doitong_plugin_calls_total{{plugin=\"placeholder\",call=\"{call}\",outcome=\"ok\"}}"),
        );
        assert!(calls.is_some_and(|n| n >= 1.0), "{call} in\n{text}");
    }
    assert!(text.contains("doitong_http_request_duration_seconds_bucket{"), "{text}");
    assert!(text.contains("doitong_generation_duration_seconds_bucket{"), "{text}");
    assert!(text.ends_with("# EOF\n"));
    // Nothing a user chose or owns is a label.
    for private in [account.as_str(), live.as_str(), "a private prompt", slow_id.as_str()] {
        assert!(!text.contains(private), "{private:?} leaked into the metrics");
    }
}

#[tokio::test]
async fn metrics_can_require_a_token_or_be_off() {
    let guarded = Server::start_with(ServerOptions {
        env: vec![("DOITONG_METRICS_TOKEN".into(), "scrape-secret".into())],
        ..Default::default()
    })
    .await;
    assert_eq!(scrape(&guarded, None).await.0, 401);
    assert_eq!(scrape(&guarded, Some("wrong")).await.0, 401);
    assert_eq!(scrape(&guarded, Some("scrape-secret")).await.0, 200);

    let off = Server::start_with(ServerOptions {
        config_toml: Some("[metrics]\nenabled = false\n".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(scrape(&off, None).await.0, 404);
}

#[tokio::test]
async fn every_response_carries_a_request_id_that_is_logged() {
    // Accepting a generation is logged at DEBUG (nothing per request at INFO).
    let env = vec![("RUST_LOG".to_string(), "info,doitong_host::jobs=debug".to_string())];
    let server = Server::start_with(ServerOptions { env, ..Default::default() }).await;
    let (_, headers, _) = server.post(Some(&server.key), "{ account { credits } }", json!({}), &[]).await;
    let made = &headers["x-request-id"];
    assert_eq!(made.len(), 36, "a UUID: {made}");

    // A client's own id is kept, echoed, and on the request's log lines.
    let (_, headers, body) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"x\" } }) { id } }",
            json!({}),
            &[("X-Request-Id", "client-trace-4711")],
        )
        .await;
    assert!(body["data"]["generate"]["id"].is_string(), "{body}");
    assert_eq!(headers["x-request-id"], "client-trace-4711");
    let log = server.log();
    let accepted = log.lines().find(|l| l.contains("generation accepted")).unwrap_or_else(|| panic!("{log}"));
    assert!(accepted.contains("client-trace-4711"), "{accepted}");

    // Also on refusals before GraphQL runs.
    let (status, headers, _) = server.post(Some("dt_live_nope"), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(status, 401);
    assert_eq!(headers["x-request-id"].len(), 36);
}
