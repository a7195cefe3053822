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
            &[("Prefer", "wait=30")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("preference-applied").map(String::as_str), Some("wait=30"));
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
        server.post(Some(&live), generate, json!({ "t": "hello there" }), &[("Prefer", "wait=30")]).await;
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
    assert_eq!(body["data"]["cancelGeneration"], true, "{body}");
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
