//! What one request may cost (issue 14): GraphQL limits, writes counted per
//! root field, the WebSocket transport limited to subscriptions, webhook
//! endpoints capped, offering ids unique, no proxy in front of the SSRF
//! resolvers. Each test fails on the commit the security review read.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::harness::{Server, ServerOptions};

fn aliased(field: &str, n: usize) -> String {
    (0..n).map(|i| format!("a{i}: {field}")).collect::<Vec<_>>().join(" ")
}

const GENERATE: &str = "generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"x\" } }) { id }";

/// Every root field of a mutation is one write: eleven aliased `generate`s
/// are eleven writes against a plan of ten a minute.
#[tokio::test]
async fn aliased_mutations_each_count_as_a_write() {
    let server = Server::start().await; // the first-run key: free plan, 10 writes a minute
    let (status, headers, body) =
        server.post(Some(&server.key), &format!("mutation {{ {} }}", aliased(GENERATE, 11)), json!({}), &[]).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMIT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("this request is 11 writes"), "{body}");
    assert!(headers.contains_key("x-ratelimit-limit"));
    // Five and five fit; the next one does not.
    for _ in 0..2 {
        let (status, _, body) =
            server.post(Some(&server.key), &format!("mutation {{ {} }}", aliased(GENERATE, 5)), json!({}), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"].as_object().unwrap().len(), 5, "{body}");
    }
    let (status, _, _) = server.post(Some(&server.key), &format!("mutation {{ {GENERATE} }}"), json!({}), &[]).await;
    assert_eq!(status, 429);
}

/// Too many root fields, too deep, too much work: refused before anything
/// runs, quickly, with the limit named.
#[tokio::test]
async fn oversized_queries_are_refused_quickly_with_the_limit_named() {
    let server = Server::start().await;
    let key = server.key.clone();

    let started = Instant::now();
    let query = format!("{{ {} }}", aliased("account { credits }", 10_000));
    let (status, _, body) = server.post(Some(&key), &query, json!({}), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "graphql_root_fields", "{body}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());

    // 17 levels: within the parser's recursion limit, past `graphql_depth`.
    let mut deep = String::from("name");
    for _ in 0..15 {
        deep = format!("ofType {{ {deep} }}");
    }
    let (_, _, body) =
        server.post(Some(&key), &format!("{{ __schema {{ types {{ {deep} }} }} }}"), json!({}), &[]).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{body}");

    // Twenty pages of a hundred generations with their outputs: too much work.
    let page = "generations(first: 100) { nodes { id status url urls metadata { width height format } } }";
    let (_, _, body) = server.post(Some(&key), &format!("{{ {} }}", aliased(page, 20)), json!({}), &[]).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("too complex"), "{body}");
    // One page is fine, and so is GraphiQL's introspection query.
    let (_, _, body) = server.post(Some(&key), &format!("{{ {page} }}"), json!({}), &[]).await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, _, body) = server.post(Some(&key), INTROSPECTION, json!({}), &[]).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 20);
}

/// graphql-js's introspection query (what GraphiQL sends).
const INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } \
    subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } } \
    fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description \
    args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } \
    interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } \
    possibleTypes { ...TypeRef } } \
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } \
    fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name \
    ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(server: &Server, key: Option<&str>) -> Socket {
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", server.port).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    if let Some(key) = key {
        send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {key}") } }))
            .await;
        assert_eq!(next_json(&mut ws).await.expect("ack")["type"], "connection_ack");
    }
    ws
}

async fn send(ws: &mut Socket, message: Value) {
    ws.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next text message, or `None` once the connection is closed.
async fn next_json(ws: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await.expect("an answer in time") {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Queries and mutations over the socket are refused (they would skip the
/// plan's limits and Idempotency-Keys); a connection holds at most
/// `ws_subscriptions` subscriptions.
#[tokio::test]
async fn the_socket_carries_subscriptions_only_and_a_bounded_number() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_LIMITS_WS_SUBSCRIPTIONS".into(), "2".into())],
        ..Default::default()
    })
    .await;
    let mut ws = socket(&server, Some(&server.key)).await;
    let mutation = format!("mutation {{ {GENERATE} }}");
    send(&mut ws, json!({ "id": "m", "type": "subscribe", "payload": { "query": mutation } })).await;
    let answer = next_json(&mut ws).await.unwrap();
    let text = answer.to_string();
    assert!(text.contains("POST /graphql") && text.contains("INVALID_INPUT"), "{answer}");
    let listed = server.gql("{ generations(first: 5) { nodes { id } } }", json!({})).await;
    assert_eq!(listed["generations"]["nodes"], json!([]), "nothing was generated over the socket");

    // Three generations that stay queued or running while we watch.
    let slow = "mutation { generate(input: { type: VIDEO, provider: \"placeholder\", input: { text: \"slow\" }, \
        options: { latencyMs: 60000 } }) { id } }";
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(server.gql(slow, json!({})).await["generate"]["id"].as_str().unwrap().to_string());
    }
    let subscription = "subscription($id: ID!) { generationUpdated(id: $id) { status } }";
    for (n, id) in ids.iter().enumerate() {
        let payload = json!({ "query": subscription, "variables": { "id": id } });
        send(&mut ws, json!({ "id": format!("s{}", n + 1), "type": "subscribe", "payload": payload })).await;
    }
    // The three are admitted concurrently: whichever comes third is refused
    // (not necessarily `s3`), the other two run.
    let mut refused = None;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused.is_none() && Instant::now() < deadline {
        let message = next_json(&mut ws).await.unwrap();
        if message.to_string().contains("ws_subscriptions") {
            refused = Some(message);
        } else {
            seen.push(message);
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("one of the three subscriptions was refused; instead: {seen:#?}"));
    let running: std::collections::HashSet<String> =
        seen.iter().filter(|m| m["type"] == "next").filter_map(|m| m["id"].as_str().map(String::from)).collect();
    assert!(!running.contains(refused["id"].as_str().unwrap_or_default()), "{refused}\n{seen:#?}");
}

/// A socket that does not authenticate in time is closed; so is one whose
/// key is revoked while it is open.
#[tokio::test]
async fn unauthenticated_and_revoked_sockets_are_closed() {
    let server = Server::start_with(ServerOptions {
        env: vec![
            ("DOITONG_LIMITS_WS_INIT_TIMEOUT_SECS".into(), "1".into()),
            ("DOITONG_LIMITS_WS_RECHECK_SECS".into(), "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let mut idle = socket(&server, None).await;
    let started = Instant::now();
    assert_eq!(next_json(&mut idle).await, None, "closed without connection_init");
    assert!(started.elapsed() < Duration::from_secs(5));

    let (account, key) = server.account_with_key("revoked", 0, true);
    let mut ws = socket(&server, Some(&key)).await;
    let keys = server.cli(&["keys", "list", "--account", &account]);
    let key_id = keys.lines().next().unwrap().split('\t').next().unwrap().to_string();
    server.cli(&["keys", "revoke", "--key", &key_id]);
    let started = Instant::now();
    assert_eq!(next_json(&mut ws).await, None, "closed once its key was revoked");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// An `HTTPS_PROXY` in the server's environment is not used: a proxy
/// resolves names itself, which would bypass the resolvers that keep
/// plugins, downloads and webhooks off private addresses.
#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used() {
    let server = Server::start_with(ServerOptions {
        env: vec![
            ("DOITONG_WEBHOOKS_ALLOW_PRIVATE".into(), "true".into()),
            ("HTTP_PROXY".into(), "http://127.0.0.1:9".into()),
            ("HTTPS_PROXY".into(), "http://127.0.0.1:9".into()),
            ("ALL_PROXY".into(), "http://127.0.0.1:9".into()),
        ],
        ..Default::default()
    })
    .await;
    // A webhook to a local receiver (private targets allowed here): with
    // the proxy honoured it would go to port 9 and fail.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let tx = tx.clone();
            async move {
                let _ = tx.send(());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let query = format!(
        "mutation {{ generate(input: {{ type: IMAGE, provider: \"placeholder\", input: {{ text: \"x\" }}, webhookUrl: \"{hook}\" }}) {{ id }} }}"
    );
    let (_, _, body) = server.post(Some(&server.key), &query, json!({}), &[]).await;
    assert!(body["errors"].is_null(), "{body}");
    tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect("delivered directly, not through the proxy");
}

/// The daily and queue limits are checked for the whole request before
/// any of it runs: two aliased `generate`s with room for one are refused
/// together (nothing created, nothing charged), and the refusal keeps no
/// hold on the Idempotency-Key. (A request that did create something
/// before a refusal keeps its key: `admission::idempotency` unit tests.)
#[tokio::test]
async fn a_request_that_cannot_fit_its_limits_is_refused_whole() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_PLANS_PRO_DAILY".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let (_, key) = server.account_with_key("partly", 100, true);
    let two = format!("mutation {{ {} }}", aliased(GENERATE, 2));
    let headers = [("Idempotency-Key", "twice-please")];
    let (status, _, first) = server.post(Some(&key), &two, json!({}), &headers).await;
    assert_eq!(status, 429, "{first}");
    assert_eq!(first["data"], Value::Null, "{first}");
    assert_eq!(first["errors"][0]["extensions"]["limit"], "daily", "{first}");
    assert!(first["errors"][0]["message"].as_str().unwrap().contains("this request starts 2 generations"), "{first}");
    let listed = server
        .post(Some(&key), "{ generations(first: 10) { nodes { id } } account { credits } }", json!({}), &[])
        .await
        .2;
    assert_eq!(listed["data"]["generations"]["nodes"].as_array().unwrap().len(), 0, "{listed}");
    assert_eq!(listed["data"]["account"]["credits"], 100, "{listed}");

    // One fits, under the same key: the refusal did not hold it.
    let one = format!("mutation {{ a0: {GENERATE} }}");
    let (status, _, body) = server.post(Some(&key), &one, json!({}), &[("Idempotency-Key", "once")]).await;
    assert_eq!(status, 200, "{body}");
    let created = body["data"]["a0"]["id"].clone();
    // Its retry is answered as before, although the day's limit is now reached.
    let (status, headers, again) = server.post(Some(&key), &one, json!({}), &[("Idempotency-Key", "once")]).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["a0"]["id"], created, "{again}");
    assert_eq!(headers.get("idempotent-replayed").map(String::as_str), Some("true"));
}

/// Test keys are not live keys: they see and cancel test-mode generations
/// only, and cannot read or rotate the webhook signing secret or delete
/// endpoints (a leaked test key could otherwise forge or break production
/// webhooks).
#[tokio::test]
async fn test_keys_reach_test_mode_only() {
    let server = Server::start().await;
    let (account, live) = server.account_with_key("roles", 100, false);
    let test =
        server.cli(&["keys", "create", "--account", &account, "--test"]).lines().last().unwrap().trim().to_string();
    let slow = "mutation { generate(input: { type: VIDEO, provider: \"placeholder\", input: { text: \"live\" }, \
        options: { latencyMs: 60000 } }) { id } }";
    let (_, _, body) = server.post(Some(&live), slow, json!({}), &[]).await;
    let live_id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();

    let one = "query($id: ID!) { generation(id: $id) { id url } }";
    let (_, _, body) = server.post(Some(&test), one, json!({ "id": live_id }), &[]).await;
    assert_eq!(body["data"]["generation"], Value::Null, "a test key does not see a live generation: {body}");
    let (_, _, body) = server.post(Some(&test), "{ generations(first: 10) { nodes { id } } }", json!({}), &[]).await;
    assert_eq!(body["data"]["generations"]["nodes"], json!([]), "{body}");
    let cancel = "mutation($id: ID!) { cancelGeneration(id: $id) }";
    let (_, _, body) = server.post(Some(&test), cancel, json!({ "id": live_id }), &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    for query in ["{ account { webhookSecret } }", "mutation { rotateWebhookSecret }"] {
        let (_, _, body) = server.post(Some(&test), query, json!({}), &[]).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{query}: {body}");
    }
    let create = "mutation { createWebhookEndpoint(url: \"https://hooks.example.com/x\") { id } }";
    let (_, _, body) = server.post(Some(&live), create, json!({}), &[]).await;
    let endpoint = body["data"]["createWebhookEndpoint"]["id"].as_str().unwrap().to_string();
    let delete = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }";
    let (_, _, body) = server.post(Some(&test), delete, json!({ "id": endpoint }), &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");

    // The live key sees both kinds and does all of it.
    let (_, _, body) = server.post(Some(&live), one, json!({ "id": live_id }), &[]).await;
    assert_eq!(body["data"]["generation"]["id"], json!(live_id));
    let (_, _, body) = server.post(Some(&live), "{ account { webhookSecret } }", json!({}), &[]).await;
    assert!(body["data"]["account"]["webhookSecret"].as_str().unwrap().starts_with("whsec_"));
    let (_, _, body) = server.post(Some(&live), cancel, json!({ "id": live_id }), &[]).await;
    assert_eq!(body["data"]["cancelGeneration"], true, "{body}");
}

/// A client that sends its headers too slowly is dropped (slowloris).
#[tokio::test]
async fn a_slow_client_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_LIMITS_HEADER_TIMEOUT_SECS".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    stream.write_all(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.expect("dropped in time");
    // Closed (0 bytes or a reset), or answered 408 and closed.
    if let Ok(n) = read
        && n > 0
    {
        assert!(String::from_utf8_lossy(&buf[..n]).contains("408"), "{}", String::from_utf8_lossy(&buf[..n]));
    }
    assert!(started.elapsed() < Duration::from_secs(5), "held for {:?}", started.elapsed());
    // The server is fine.
    assert!(server.gql("{ account { credits } }", json!({})).await["account"]["credits"].is_number());
}

/// The documented `data:` cap is reachable: a 20 MiB image is accepted,
/// 21 MiB is refused with the cap named (not a bare 413).
#[tokio::test]
async fn media_up_to_the_documented_cap_are_accepted() {
    use base64::Engine as _;
    let server = Server::start().await;
    let mutation = "mutation($image: String!) { generate(input: { type: VIDEO, provider: \"placeholder\", \
        input: { text: \"x\", image: $image }, options: { latencyMs: 60000 } }) { id status } }";
    let image = |mib: usize| {
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(vec![7u8; mib << 20]))
    };
    let (status, _, body) = server.post(Some(&server.key), mutation, json!({ "image": image(20) }), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["generate"]["status"],
        "QUEUED",
        "{}",
        &body.to_string()[..300.min(body.to_string().len())]
    );
    let (status, _, body) = server.post(Some(&server.key), mutation, json!({ "image": image(21) }), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("larger than 20 MiB"), "{body}");
}

/// An address that keeps failing authentication gets 429 before any key
/// is looked up.
#[tokio::test]
async fn an_address_guessing_keys_is_refused_before_lookup() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_LIMITS_AUTH_FAILURES_PER_IP".into(), "5".into())],
        ..Default::default()
    })
    .await;
    for n in 0..5 {
        let (status, _, _) =
            server.post(Some(&format!("dt_live_guess{n}")), "{ account { credits } }", json!({}), &[]).await;
        assert_eq!(status, 401);
    }
    let (status, headers, body) = server.post(Some("dt_live_guess5"), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "auth_failures_per_ip", "{body}");
    assert!(headers.contains_key("retry-after"));
}

/// A request that runs longer than its Idempotency-Key claim keeps it (a
/// heartbeat renews it): a retry meanwhile gets 409, and the work is done
/// once. (A waiting request's job is stepped at once, off the queue: the
/// replay after it finished finds the same generation.)
#[tokio::test]
async fn a_long_request_keeps_its_idempotency_claim() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_LIMITS_IDEMPOTENCY_LOCK_MS".into(), "1000".into())],
        ..Default::default()
    })
    .await;
    let slow = "mutation { generate(input: { type: AUDIO, provider: \"placeholder\", input: { text: \"hb\" }, \
        options: { latencyMs: 3000 } }) { id status } }";
    let headers = [("Idempotency-Key", "heartbeat"), ("Prefer", "wait=10")];
    let first = server.post(Some(&server.key), slow, json!({}), &headers);
    let retry = async {
        tokio::time::sleep(Duration::from_millis(1800)).await;
        server.post(Some(&server.key), slow, json!({}), &headers).await
    };
    let ((status, _, body), (retry_status, _, retry_body)) = tokio::join!(first, retry);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["generate"]["status"], "COMPLETED", "{body}");
    assert_eq!(retry_status, 409, "{retry_body}");
    assert_eq!(retry_body["errors"][0]["extensions"]["code"], "IDEMPOTENCY_IN_PROGRESS", "{retry_body}");
    // Once it is done, the same key answers with the same generation: no
    // second job, no second step.
    let (status, _, replay) = server.post(Some(&server.key), slow, json!({}), &headers).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["data"]["generate"]["id"], body["data"]["generate"]["id"], "{replay}");
    let listed = server.gql("{ generations(first: 10) { nodes { id } } }", json!({})).await;
    assert_eq!(listed["generations"]["nodes"].as_array().unwrap().len(), 1, "{listed}");
}

/// The account's cheap limits come first: past its daily cap, a request is
/// refused before validation, media decoding or the sandboxed quote run (a
/// bad option no longer even gets looked at).
#[tokio::test]
async fn cheap_limits_are_checked_before_any_quote() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_PLANS_PRO_DAILY".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let (_, key) = server.account_with_key("capped", 100, true);
    let (status, _, body) = server.post(Some(&key), &format!("mutation {{ {GENERATE} }}"), json!({}), &[]).await;
    assert_eq!(status, 200, "{body}");
    let bad = "mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"x\" }, \
        options: { aspectRatio: \"not-a-ratio\" } }) { id } }";
    let (status, _, body) = server.post(Some(&key), bad, json!({}), &[]).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "daily", "{body}");
}

/// Documents the GraphQL parser cannot take safely are refused before it
/// sees them: arguments nested thousands deep (the parser recurses per
/// level and would overflow a worker's stack, aborting the server) and
/// fragments that fan out to millions of selections from a few kilobytes.
#[tokio::test]
async fn documents_too_deep_or_too_wide_to_parse_are_refused_and_the_server_lives() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let depth = 20_000;
    let deep = format!("mutation {{ generate(input: {}1{}) {{ id }} }}", "[{a: ".repeat(depth), "}]".repeat(depth));
    for key in [server.key.as_str(), "admin-token"] {
        let (status, _, body) = server.post(Some(key), &deep, json!({}), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["limit"], "graphql_nesting", "{body}");
    }

    // F0 spreads F1 forty times, F1 spreads F2 forty times, …: 40⁵ selections.
    let mut fragments = String::new();
    for level in 0..5 {
        let spread = format!("...F{} ", level + 1).repeat(40);
        fragments.push_str(&format!("fragment F{level} on QueryRoot {{ {spread} }} "));
    }
    fragments.push_str("fragment F5 on QueryRoot { __typename account { id } }");
    let wide = format!("query {{ ...F0 }} {fragments}");
    let started = Instant::now();
    let (_, _, body) = server.post(Some(&server.key), &wide, json!({}), &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["limit"], "graphql_selections", "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    let (status, _, body) = server.post(Some(&server.key), "{ account { id } }", json!({}), &[]).await;
    assert_eq!(status, 200, "still serving: {body}");
    assert!(body["data"]["account"]["id"].is_string(), "{body}");
}
