//! The API's contract beyond the seed: authentication, validation errors,
//! signed downloads, `Prefer: wait`, pagination, cancellation, and the same
//! flows on PostgreSQL.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Backend, Server, ServerOptions};

#[tokio::test]
async fn missing_or_bad_keys_get_401() {
    let server = Server::start().await;
    for key in [None, Some("dt_test_nope"), Some("")] {
        let (status, _, body) = server.post(key, "{ account { id } }", json!({}), &[]).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let server = Server::start().await;
    let cases = [
        (json!({"type": "IMAGE", "provider": "nope", "input": {"text": "x"}}), "provider", "unknown provider `nope`"),
        (
            json!({"type": "IMAGE", "provider": "placeholder", "input": {"text": "x"}, "options": {"colour": 1}}),
            "options.colour",
            "not supported",
        ),
        (
            json!({"type": "IMAGE", "provider": "placeholder", "input": {"text": "x"}, "options": {"aspectRatio": "5:4"}}),
            "options.aspectRatio",
            "must be one of",
        ),
        (
            json!({"type": "VIDEO", "provider": "placeholder", "input": {"text": "x"}, "options": {"duration": 99}}),
            "options.duration",
            "between 1 and 20",
        ),
        (
            json!({"type": "VIDEO", "provider": "placeholder", "input": {"text": "x"}, "options": {"seed": "abc"}}),
            "options.seed",
            "must be an integer",
        ),
        (json!({"type": "IMAGE", "provider": "placeholder", "input": {}}), "input.text", "required"),
        (json!({"type": "IMAGE", "input": {"text": "x", "image": "http://127.0.0.1/a.png"}}), "input.image", "https"),
    ];
    for (input, field, message) in cases {
        let error = server
            .gql_error("mutation($i: GenerateInput!) { generate(input: $i) { id } }", json!({ "i": input }))
            .await;
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
        assert_eq!(error["extensions"]["field"], field, "{error}");
        assert!(error["message"].as_str().unwrap().contains(message), "{error}");
    }
    let error = server
        .gql_error("mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"x\" }, options: { aspectRatio: \"5:4\" } }) { id } }", json!({}))
        .await;
    assert!(error["extensions"]["allowedValues"].as_array().unwrap().contains(&json!("16:9")), "{error}");
}

#[tokio::test]
async fn prefer_wait_signed_urls_and_listing() {
    let server = Server::start().await;
    let (status, headers, body) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: IMAGE, input: { text: \"a red fox\" }, options: { aspectRatio: \"16:9\" } }) { id status url urls metadata { width height format sizeBytes } } }",
            json!({}),
            &[("Prefer", "wait=60")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("preference-applied").map(String::as_str), Some("wait=60"));
    // Queries are answered at once: the preference does not apply to them.
    let (_, query_headers, _) =
        server.post(Some(&server.key), "{ account { id } }", json!({}), &[("Prefer", "wait=60")]).await;
    assert!(!query_headers.contains_key("preference-applied"));
    let g = &body["data"]["generate"];
    assert_eq!(g["status"], "COMPLETED", "{body}");
    assert_eq!((g["metadata"]["width"].as_i64(), g["metadata"]["height"].as_i64()), (Some(512), Some(288)));
    let url = g["url"].as_str().unwrap();
    let (code, ct, bytes) = server.download(url).await;
    assert_eq!((code, ct.as_str()), (200, "image/png"));
    assert_eq!(bytes.len() as i64, g["metadata"]["sizeBytes"].as_i64().unwrap());

    // Tampered and unsigned links are refused.
    let tampered = url.replace("sig=", "sig=0");
    assert_eq!(server.download(&tampered).await.0, 403);
    let (id_part, _) = url.split_once('?').unwrap();
    assert_eq!(server.download(id_part).await.0, 403);
    let later = url.replace("exp=", "exp=9");
    assert_eq!(server.download(&later).await.0, 403);

    // Pagination over three generations.
    for i in 0..2 {
        server
            .gql(
                &format!("mutation {{ generate(input: {{ type: AUDIO, input: {{ text: \"n{i}\" }} }}) {{ id }} }}"),
                json!({}),
            )
            .await;
    }
    let page = server
        .gql("{ generations(first: 2) { nodes { id type } pageInfo { hasNextPage endCursor } } }", json!({}))
        .await;
    assert_eq!(page["generations"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(page["generations"]["pageInfo"]["hasNextPage"], true);
    let cursor = page["generations"]["pageInfo"]["endCursor"].as_str().unwrap();
    let next = server
        .gql(
            "query($c: String) { generations(first: 2, after: $c) { nodes { id type } pageInfo { hasNextPage } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(next["generations"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(next["generations"]["nodes"][0]["type"], "IMAGE");
    let audio = server.gql("{ generations(type: AUDIO) { nodes { id } } }", json!({})).await;
    assert_eq!(audio["generations"]["nodes"].as_array().unwrap().len(), 2);
}

/// The core flow on a backend: live key billing, test key not billing,
/// cancel refund, results downloadable.
async fn lifecycle_on(backend: Backend) {
    let server = Server::start_with(ServerOptions { backend: Some(backend), ..Default::default() }).await;
    let (account, live) = server.account_with_key("acme", 10, false);
    let generate = "mutation($t: String!) { generate(input: { type: AUDIO, provider: \"placeholder\", input: { text: $t } }) { id status creditCost } }";
    let (_, _, body) =
        server.post(Some(&live), generate, json!({ "t": "hello there" }), &[("Prefer", "wait=60")]).await;
    let g = &body["data"]["generate"];
    assert_eq!(g["status"], "COMPLETED", "{body}");
    assert_eq!(g["creditCost"], 1);
    let credits = |key: String| {
        let server = &server;
        async move {
            let (_, _, b) = server.post(Some(&key), "{ account { credits } }", json!({}), &[]).await;
            b["data"]["account"]["credits"].as_i64().unwrap()
        }
    };
    assert_eq!(credits(live.clone()).await, 9);

    // A slow job cancelled while running is refunded in full.
    let (_, _, body) = server
        .post(
            Some(&live),
            "mutation { generate(input: { type: VIDEO, provider: \"placeholder\", input: { text: \"slow\" }, options: { latencyMs: 60000 } }) { id } }",
            json!({}),
            &[],
        )
        .await;
    let id = body["data"]["generate"]["id"].as_str().unwrap().to_string();
    assert_eq!(credits(live.clone()).await, 8);
    let (_, _, body) =
        server.post(Some(&live), "mutation($id: ID!) { cancelGeneration(id: $id) }", json!({ "id": id }), &[]).await;
    assert_eq!(body["data"]["cancelGeneration"], true, "{body}\n{}", server.log());
    let done = server.wait_terminal(&live, &id, Duration::from_secs(10)).await;
    assert_eq!(done["status"], "CANCELLED");
    assert_eq!(credits(live.clone()).await, 9);
    // Cancelling again is a no-op.
    let (_, _, body) =
        server.post(Some(&live), "mutation($id: ID!) { cancelGeneration(id: $id) }", json!({ "id": id }), &[]).await;
    assert_eq!(body["data"]["cancelGeneration"], false);

    // Another account cannot see it.
    let (_, other) = server.account_with_key("other", 0, true);
    let (_, _, body) =
        server.post(Some(&other), "query($id: ID!) { generation(id: $id) { id } }", json!({ "id": id }), &[]).await;
    assert!(body["data"]["generation"].is_null(), "{body}");

    // Insufficient credits: nothing reserved, no job.
    let (_, poor) = server.account_with_key("poor", 0, false);
    let (_, _, body) = server.post(Some(&poor), generate, json!({ "t": "x" }), &[]).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INSUFFICIENT_CREDITS", "{body}");
    assert_eq!(error["extensions"]["cost"], 1);
    assert_eq!(error["extensions"]["balance"], 0);
    let (_, _, body) = server.post(Some(&poor), "{ generations { nodes { id } } }", json!({}), &[]).await;
    assert_eq!(body["data"]["generations"]["nodes"], json!([]));
    let _ = account;
}

#[tokio::test]
async fn lifecycle_on_sqlite() {
    lifecycle_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn lifecycle_on_postgres() {
    lifecycle_on(Backend::Postgres).await;
}

#[tokio::test]
async fn deadline_fails_and_refunds_and_test_keys_move_no_credits() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_JOBS_DEADLINE_SECS".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let (_, live) = server.account_with_key("late", 5, false);
    let (_, _, body) = server
        .post(
            Some(&live),
            "mutation { generate(input: { type: AUDIO, provider: \"placeholder\", input: { text: \"slow\" }, options: { latencyMs: 30000 } }) { id } }",
            json!({}),
            &[],
        )
        .await;
    let id = body["data"]["generate"]["id"].as_str().unwrap().to_string();
    let done = server.wait_terminal(&live, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["errorCode"], "GENERATION_FAILED");
    assert!(done["error"]["message"].as_str().unwrap().contains("did not finish within 1 s"), "{done}");
    let (_, _, b) = server.post(Some(&live), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(b["data"]["account"]["credits"], 5, "refunded");

    // The first-run test key's account keeps its balance whatever it runs.
    let before = server.gql("{ account { credits testMode } }", json!({})).await;
    assert_eq!(before["account"]["testMode"], true);
    let (_, _, body) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: IMAGE, input: { text: \"free\" } }) { status creditCost } }",
            json!({}),
            &[("Prefer", "wait=60")],
        )
        .await;
    assert_eq!(body["data"]["generate"]["status"], "COMPLETED", "{body}");
    assert_eq!(body["data"]["generate"]["creditCost"], 1, "test mode still reports the cost");
    let after = server.gql("{ account { credits } }", json!({})).await;
    assert_eq!(after["account"]["credits"], before["account"]["credits"]);
}

#[tokio::test]
async fn admin_token_manages_accounts_and_keys() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "operator-secret".into())],
        ..Default::default()
    })
    .await;
    let admin = |query: &'static str, variables: serde_json::Value| {
        let server = &server;
        async move {
            let (status, _, body) = server.post(Some("operator-secret"), query, variables, &[]).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let b = admin("mutation { createAccount(name: \"acme\", plan: \"starter\", credits: 5) { id plan credits limits { rpm concurrent daily } } }", json!({})).await;
    let account = &b["data"]["createAccount"];
    assert_eq!(account["limits"], json!({ "rpm": 30, "concurrent": 3, "daily": 1000 }), "{b}");
    let id = account["id"].as_str().unwrap().to_string();
    let b = admin("mutation($id: ID!) { createApiKey(accountId: $id) }", json!({ "id": id })).await;
    let key = b["data"]["createApiKey"].as_str().unwrap().to_string();
    assert!(key.starts_with("dt_live_"));
    let b = admin("mutation($id: ID!) { grantCredits(accountId: $id, amount: 10) }", json!({ "id": id })).await;
    assert_eq!(b["data"]["grantCredits"], 15);
    let b = admin("mutation($id: ID!) { grantCredits(accountId: $id, amount: -100) }", json!({ "id": id })).await;
    assert_eq!(b["errors"][0]["extensions"]["code"], "INSUFFICIENT_CREDITS", "never negative");
    let b = admin("mutation($id: ID!) { setPlan(accountId: $id, plan: \"pro\", rpm: 5) }", json!({ "id": id })).await;
    assert_eq!(b["data"]["setPlan"], true);
    let b = admin("mutation($id: ID!) { setPlan(accountId: $id, plan: \"gold\") }", json!({ "id": id })).await;
    assert_eq!(b["errors"][0]["extensions"]["code"], "INVALID_INPUT");

    // The key works and sees the new plan with its override.
    let (_, headers, b) =
        server.post(Some(&key), "{ account { plan credits limits { rpm concurrent } } }", json!({}), &[]).await;
    assert_eq!(b["data"]["account"], json!({ "plan": "pro", "credits": 15, "limits": { "rpm": 5, "concurrent": 10 } }));
    assert_eq!(headers["x-ratelimit-limit"], "600", "reads have their own limit");
    // Account keys cannot use admin fields.
    let (_, _, b) = server.post(Some(&key), "{ accounts { id } }", json!({}), &[]).await;
    assert_eq!(b["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // Revoked keys stop working.
    let keys = server.cli(&["keys", "list", "--account", &id]);
    let key_id = keys.split('\t').next().unwrap().to_string();
    let b = admin("mutation($k: ID!) { revokeApiKey(keyId: $k) }", json!({ "k": key_id })).await;
    assert_eq!(b["data"]["revokeApiKey"], true, "{b}");
    let (status, _, _) = server.post(Some(&key), "{ account { id } }", json!({}), &[]).await;
    assert_eq!(status, 401);
    // CLI mirrors.
    assert_eq!(server.cli(&["accounts", "grant", "--account", "acme", "--credits", "-5"]).trim(), "10");
    server.cli(&["accounts", "set-plan", "--account", "acme", "--plan", "free"]);
    assert!(server.cli(&["accounts", "list"]).contains("acme\tfree\t10"));
}

#[tokio::test]
async fn live_keys_bill_the_placeholder_only_when_named() {
    let server = Server::start_with(ServerOptions {
        config_toml: Some("[plugins.placeholder]\ncredits = { placeholder = 5 }\n".into()),
        ..Default::default()
    })
    .await;
    let (_, live) = server.account_with_key("operator", 12, false);
    // Never chosen automatically for a live key.
    let (_, _, b) = server
        .post(
            Some(&live),
            "mutation { generate(input: { type: IMAGE, input: { text: \"x\" } }) { id } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(b["errors"][0]["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{b}");
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("no provider is available for IMAGE"));
    // Named explicitly, it bills the operator's price.
    let (_, _, b) = server
        .post(Some(&live), "mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"x\" } }) { id creditCost } }", json!({}), &[("Prefer", "wait=60")])
        .await;
    assert_eq!(b["data"]["generate"]["creditCost"], 5, "{b}");
    let (_, _, b) = server.post(Some(&live), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(b["data"]["account"]["credits"], 7);
    crate::limits::assert_ledger_consistent(&server, &live).await;
}

#[tokio::test]
async fn subscription_streams_progress_until_completed() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

    let server = Server::start().await;
    let (_, _, b) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: VIDEO, provider: \"placeholder\", input: { text: \"stream\" }, options: { latencyMs: 1500, duration: 1 } }) { id } }",
            json!({}),
            &[],
        )
        .await;
    let id = b["data"]["generate"]["id"].as_str().unwrap().to_string();

    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", server.port).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |v: serde_json::Value| Message::Text(v.to_string().into());
    ws.send(send(
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", server.key) } }),
    ))
    .await
    .unwrap();
    ws.send(send(json!({
        "id": "1",
        "type": "subscribe",
        "payload": { "query": "subscription($id: ID!) { generationUpdated(id: $id) { status progress url } }", "variables": { "id": id } }
    })))
    .await
    .unwrap();
    let mut statuses = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let message =
            tokio::time::timeout_at(deadline, ws.next()).await.expect("subscription ends in time").unwrap().unwrap();
        let Message::Text(text) = message else { continue };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        match v["type"].as_str().unwrap() {
            "connection_ack" => {}
            "next" => {
                let g = &v["payload"]["data"]["generationUpdated"];
                statuses.push(g["status"].as_str().unwrap().to_string());
                if g["status"] == "COMPLETED" {
                    assert!(g["url"].as_str().unwrap().contains("/files/"));
                }
            }
            "complete" => break,
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(statuses.last().map(String::as_str), Some("COMPLETED"), "{statuses:?}");
    assert!(statuses.len() >= 2, "progress updates arrived before completion: {statuses:?}");

    // Without a key the connection is refused.
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", server.port).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(send(json!({ "type": "connection_init", "payload": {} }))).await.unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap();
    assert!(!matches!(refused, Some(Ok(Message::Text(ref t))) if t.contains("connection_ack")), "{refused:?}");
}
