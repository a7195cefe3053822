//! Webhooks (issue 5): a real receiver on 127.0.0.1 verifies every
//! delivery with the independent `standardwebhooks` crate and answers from
//! a script; events, payloads, rotation, retries, 410, timeouts, a SIGKILL
//! between attempts (SQLite and PostgreSQL), SSRF rules, redelivery and the
//! `doitong webhooks verify` CLI.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::harness::{Backend, Server, ServerOptions};

/// What the receiver does with a request (paths starting `/hang` always hang).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Status(u16),
    /// Never answers (the sender's timeout ends the attempt).
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: i64,
    signature: String,
    content_type: String,
    user_agent: String,
    raw: Vec<u8>,
    body: Value,
    /// `standardwebhooks` verification with each secret the receiver held.
    verified: Vec<Result<(), String>>,
    answer: Answer,
    at: Instant,
}

impl Received {
    fn event(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }

    fn generation(&self) -> &str {
        self.body["data"]["id"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct ReceiverState {
    /// Secrets every delivery is verified with (each separately).
    secrets: Mutex<Vec<String>>,
    /// Answers for the next requests; then 200.
    script: Mutex<VecDeque<Answer>>,
    got: Mutex<Vec<Received>>,
    changed: Notify,
}

/// An HTTP receiver on 127.0.0.1 (a real socket, a real axum server).
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(secrets: &[&str]) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        *state.secrets.lock().unwrap() = secrets.iter().map(|s| s.to_string()).collect();
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { receive(state, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set_secrets(&self, secrets: &[&str]) {
        *self.state.secrets.lock().unwrap() = secrets.iter().map(|s| s.to_string()).collect();
    }

    fn script(&self, answers: &[Answer]) {
        self.state.script.lock().unwrap().extend(answers.iter().copied());
    }

    fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Wait (bounded, woken by each request) until `done` holds for what
    /// was received; returns the matching requests.
    async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&[Received]) -> Option<Vec<Received>>,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.state.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = done(&self.got()) {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("receiver: timed out waiting for {what}; got {:#?}", summary(&self.got()));
            }
        }
    }

    /// Wait for `n` requests of event `event` about generation `id` on `path`.
    async fn wait_events(&self, path: &str, id: &str, event: &str, n: usize) -> Vec<Received> {
        self.wait_for(&format!("{n} × {event} of {id} on {path}"), Duration::from_secs(20), |got| {
            let found: Vec<Received> =
                got.iter().filter(|r| r.path == path && r.generation() == id && r.event() == event).cloned().collect();
            (found.len() >= n).then_some(found)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn summary(got: &[Received]) -> Vec<String> {
    got.iter().map(|r| format!("{} {} {} {} {:?}", r.path, r.id, r.event(), r.generation(), r.answer)).collect()
}

async fn receive(state: Arc<ReceiverState>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let secrets = state.secrets.lock().unwrap().clone();
    let verified = secrets
        .iter()
        .map(|secret| {
            standardwebhooks::Webhook::new(secret)
                .map_err(|e| e.to_string())?
                .verify(&body, &headers)
                .map_err(|e| e.to_string())
        })
        .collect();
    let answer = if uri.path().starts_with("/hang") {
        Answer::Hang
    } else {
        state.script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200))
    };
    let received = Received {
        path: uri.path().to_string(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        user_agent: header("user-agent"),
        raw: body.to_vec(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        verified,
        answer,
        at: Instant::now(),
    };
    state.got.lock().unwrap().push(received);
    state.changed.notify_waiters();
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Hang => std::future::pending().await,
    }
}

/// Every delivery verified with every secret the receiver held.
fn assert_verified(received: &[Received]) {
    for r in received {
        assert!(!r.verified.is_empty(), "no secret to verify with");
        for v in &r.verified {
            assert_eq!(v, &Ok(()), "delivery {} on {} failed verification", r.id, r.path);
        }
        assert_eq!(r.content_type, "application/json");
        assert!(r.user_agent.starts_with("Doitong-Webhooks/"), "{}", r.user_agent);
        assert!(r.id.starts_with("msg_"), "{}", r.id);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((now - r.timestamp).abs() < 60, "fresh webhook-timestamp: {}", r.timestamp);
    }
}

/// Server env: private targets allowed (the receiver is on loopback), a
/// compressed schedule, a short timeout.
fn webhook_env(schedule: &str) -> Vec<(String, String)> {
    vec![
        ("DOITONG_WEBHOOKS_ALLOW_PRIVATE".into(), "true".into()),
        ("DOITONG_WEBHOOKS_RETRY_SCHEDULE".into(), schedule.into()),
        ("DOITONG_WEBHOOKS_TIMEOUT_SECS".into(), "1".into()),
    ]
}

async fn start_server(backend: Backend, env: Vec<(String, String)>) -> (Server, String) {
    let server = Server::start_with(ServerOptions { backend: Some(backend), env, ..Default::default() }).await;
    // A pro plan (the first-run account is free: 10 writes a minute, 1 at a time),
    // and a live key: test keys cannot read or rotate the signing secret.
    // Generations name the placeholder, which bills a live key 1 credit.
    let (_, key) = server.account_with_key("hooks", 100_000, false);
    (server, key)
}

async fn gql(server: &Server, key: &str, query: &str, variables: Value) -> Value {
    let (status, _, body) = server.post(Some(key), query, variables, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body}\n{}", server.log());
    body["data"].clone()
}

async fn gql_error(server: &Server, key: &str, query: &str, variables: Value) -> Value {
    let (_, _, body) = server.post(Some(key), query, variables, &[]).await;
    body["errors"][0].clone()
}

async fn secret(server: &Server, key: &str) -> String {
    gql(server, key, "{ account { webhookSecret } }", json!({})).await["account"]["webhookSecret"]
        .as_str()
        .unwrap()
        .to_string()
}

const GENERATE: &str = "mutation($i: GenerateInput!) { generate(input: $i) { id } }";

async fn generate(server: &Server, key: &str, input: Value) -> String {
    gql(server, key, GENERATE, json!({ "i": input })).await["generate"]["id"].as_str().unwrap().to_string()
}

fn image(text: &str, webhook: Option<&str>) -> Value {
    json!({ "type": "IMAGE", "provider": "placeholder", "input": { "text": text }, "webhookUrl": webhook })
}

const GENERATION_FIELDS: &str = "id status type provider url urls progress metadata { width height duration format resolution sizeBytes mimeType } creditCost estimatedTime error { code message } errorCode testMode createdAt completedAt";

async fn generation_json(server: &Server, key: &str, id: &str) -> Value {
    let q = format!("query($id: ID!) {{ generation(id: $id) {{ {GENERATION_FIELDS} }} }}");
    gql(server, key, &q, json!({ "id": id })).await["generation"].clone()
}

/// Signed URLs carry their own expiry: compare them without the query.
fn without_signatures(mut v: Value) -> Value {
    let strip = |u: &Value| json!(u.as_str().map(|s| s.split('?').next().unwrap().to_string()));
    v["url"] = strip(&v["url"]);
    if let Some(urls) = v["urls"].as_array_mut() {
        for u in urls.iter_mut() {
            *u = strip(u);
        }
    }
    v
}

const DELIVERIES: &str = "query($g: ID, $s: WebhookDeliveryStatus) { webhookDeliveries(generationId: $g, status: $s, first: 100) { nodes { id messageId eventType url endpointId status attempts { at httpStatus latencyMs error } nextAttemptAt } } }";

async fn deliveries(server: &Server, key: &str, generation: &str) -> Vec<Value> {
    gql(server, key, DELIVERIES, json!({ "g": generation })).await["webhookDeliveries"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Poll the delivery log (bounded) until `done` holds.
async fn wait_deliveries(
    server: &Server,
    key: &str,
    generation: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let nodes = deliveries(server, key, generation).await;
        if done(&nodes) {
            return nodes;
        }
        assert!(Instant::now() < deadline, "{what}: {nodes:#?}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn terminal_events_carry_the_generation_and_respect_filters() {
    let (server, key) = start_server(Backend::Sqlite, webhook_env("200ms")).await;
    let receiver = Receiver::start(&[&secret(&server, &key).await]).await;
    let create =
        "mutation($u: String!, $e: [String!]) { createWebhookEndpoint(url: $u, events: $e) { id url events enabled } }";
    let all = gql(&server, &key, create, json!({ "u": receiver.url("/all"), "e": null })).await;
    assert_eq!(all["createWebhookEndpoint"]["events"], json!(["*"]));
    gql(&server, &key, create, json!({ "u": receiver.url("/completed"), "e": ["generation.completed"] })).await;
    gql(&server, &key, create, json!({ "u": receiver.url("/progress"), "e": ["generation.progress"] })).await;
    let listed = gql(&server, &key, "{ webhookEndpoints { url events enabled } }", json!({})).await;
    assert_eq!(listed["webhookEndpoints"].as_array().unwrap().len(), 3);

    // Completed: the request's URL and both matching endpoints get one
    // event, with one webhook-id; `data` is the `generation` query's JSON.
    let id = generate(&server, &key, image("a lighthouse", Some(&receiver.url("/request")))).await;
    let mut got = Vec::new();
    for path in ["/request", "/all", "/completed"] {
        got.extend(receiver.wait_events(path, &id, "generation.completed", 1).await);
    }
    assert_verified(&got);
    assert!(got.iter().all(|r| r.id == got[0].id), "one webhook-id per event: {:?}", summary(&got));
    let body = &got[0].body;
    let queried = generation_json(&server, &key, &id).await;
    assert_eq!(queried["status"], "COMPLETED");
    assert_eq!(without_signatures(body["data"].clone()), without_signatures(queried.clone()));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
    let (status, ct, _) = server.download(body["data"]["url"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"), "the payload's signed URL works");
    // Nobody asked for progress on the request URL.
    assert!(receiver.got().iter().all(|r| !(r.path == "/request" && r.event() == "generation.progress")));

    // Cancelled: the `*` endpoint and the request's URL, not the completed-only one.
    let slow = json!({ "type": "VIDEO", "provider": "placeholder", "input": { "text": "slow" },
        "options": { "latencyMs": 60000 }, "webhookUrl": receiver.url("/request") });
    let cancelled = generate(&server, &key, slow).await;
    let done = gql(&server, &key, "mutation($id: ID!) { cancelGeneration(id: $id) }", json!({ "id": cancelled })).await;
    assert_eq!(done["cancelGeneration"], true);
    let mut got = receiver.wait_events("/request", &cancelled, "generation.cancelled", 1).await;
    got.extend(receiver.wait_events("/all", &cancelled, "generation.cancelled", 1).await);
    assert_verified(&got);
    assert_eq!(got[0].body["data"]["status"], "CANCELLED");
    assert_eq!(got[0].body["data"], generation_json(&server, &key, &cancelled).await);
    let logged = deliveries(&server, &key, &cancelled).await;
    let terminal: Vec<&Value> = logged.iter().filter(|d| d["eventType"] == "generation.cancelled").collect();
    assert_eq!(terminal.len(), 2, "no cancelled event for the completed-only endpoint: {logged:#?}");

    // Progress, opted in per request: progress events then the completion.
    let moving = json!({ "type": "VIDEO", "provider": "placeholder", "input": { "text": "moving" },
        "options": { "latencyMs": 1500, "duration": 1 }, "webhookUrl": receiver.url("/opted-in"), "webhookProgress": true });
    let moving = generate(&server, &key, moving).await;
    let completed = receiver.wait_events("/opted-in", &moving, "generation.completed", 1).await;
    let progress: Vec<Received> = receiver
        .got()
        .into_iter()
        .filter(|r| r.path == "/opted-in" && r.event() == "generation.progress" && r.generation() == moving)
        .collect();
    assert!(!progress.is_empty(), "progress events: {:#?}", summary(&receiver.got()));
    assert_verified(&progress);
    assert_verified(&completed);
    let values: Vec<i64> = progress.iter().map(|r| r.body["data"]["progress"].as_i64().unwrap()).collect();
    assert!(values.iter().all(|p| (1..100).contains(p)), "{values:?}");
    assert!(progress.iter().all(|r| r.body["data"]["status"] == "PROCESSING"));
    // The progress endpoint gets progress of every generation, and nothing else.
    receiver.wait_events("/progress", &moving, "generation.progress", 1).await;
    assert!(receiver.got().iter().filter(|r| r.path == "/progress").all(|r| r.event() == "generation.progress"));

    // Even with private targets allowed, cloud metadata is refused.
    for url in ["http://169.254.169.254/", "http://[fd00:ec2::254]/latest", "http://metadata.google.internal/"] {
        let e = gql_error(&server, &key, GENERATE, json!({ "i": image("x", Some(url)) })).await;
        assert_eq!(e["extensions"]["code"], "INVALID_INPUT", "{url}: {e}");
        assert_eq!(e["extensions"]["field"], "webhookUrl");
        assert!(e["message"].as_str().unwrap().contains("metadata"), "{e}");
        let e = gql_error(&server, &key, create, json!({ "u": url, "e": null })).await;
        assert_eq!(e["extensions"]["code"], "INVALID_INPUT", "{url}: {e}");
        assert_eq!(e["extensions"]["field"], "url");
    }
    let e = gql_error(&server, &key, create, json!({ "u": receiver.url("/x"), "e": ["generation.finished"] })).await;
    assert_eq!(
        (e["extensions"]["code"].as_str(), e["extensions"]["field"].as_str()),
        (Some("INVALID_INPUT"), Some("events"))
    );
}

#[tokio::test]
async fn failed_generations_send_failed_events() {
    let mut env = webhook_env("200ms");
    env.push(("DOITONG_JOBS_DEADLINE_SECS".into(), "1".into()));
    let (server, key) = start_server(Backend::Sqlite, env).await;
    let receiver = Receiver::start(&[&secret(&server, &key).await]).await;
    let slow = json!({ "type": "AUDIO", "provider": "placeholder", "input": { "text": "slow" },
        "options": { "latencyMs": 30000 }, "webhookUrl": receiver.url("/hook") });
    let id = generate(&server, &key, slow).await;
    let got = receiver.wait_events("/hook", &id, "generation.failed", 1).await;
    assert_verified(&got);
    let data = &got[0].body["data"];
    assert_eq!(data["status"], "FAILED");
    assert_eq!(data["errorCode"], "GENERATION_FAILED");
    assert_eq!(data["error"]["code"], "GENERATION_FAILED");
    assert_eq!(data, &generation_json(&server, &key, &id).await);
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_during_the_grace_only() {
    let (server, key) = start_server(Backend::Sqlite, webhook_env("200ms")).await;
    let old = secret(&server, &key).await;
    let receiver = Receiver::start(&[&old]).await;
    let first = generate(&server, &key, image("before", Some(&receiver.url("/hook")))).await;
    let got = receiver.wait_events("/hook", &first, "generation.completed", 1).await;
    assert_verified(&got);
    assert_eq!(got[0].signature.split(' ').count(), 1);

    let rotated = gql(&server, &key, "mutation { rotateWebhookSecret }", json!({})).await;
    let new = rotated["rotateWebhookSecret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    assert_eq!(secret(&server, &key).await, new);
    // During the grace: two signatures; the old and the new secret each verify.
    receiver.set_secrets(&[&old, &new]);
    let during = generate(&server, &key, image("during", Some(&receiver.url("/hook")))).await;
    let got = receiver.wait_events("/hook", &during, "generation.completed", 1).await;
    assert_verified(&got);
    assert_eq!(got[0].signature.split(' ').count(), 2, "{}", got[0].signature);

    // After the grace (moved into the past): only the new secret signs.
    let pool = sqlx::SqlitePool::connect(&server.database_url).await.unwrap();
    sqlx::query("UPDATE accounts SET webhook_secret_previous_until = 1 WHERE webhook_secret = $1")
        .bind(&new)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    receiver.set_secrets(&[&old, &new]);
    let after = generate(&server, &key, image("after", Some(&receiver.url("/hook")))).await;
    let got = receiver.wait_events("/hook", &after, "generation.completed", 1).await;
    assert_eq!(got[0].signature.split(' ').count(), 1, "{}", got[0].signature);
    assert!(got[0].verified[0].is_err(), "the old secret no longer verifies");
    assert_eq!(got[0].verified[1], Ok(()), "the new one does");
    let e = gql_error(&server, &key, "mutation { rotateWebhookSecret(graceHours: -1) }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "INVALID_INPUT");
}

#[tokio::test]
async fn retries_keep_the_webhook_id_until_delivered_then_redeliver_and_cli_verify() {
    let (server, key) = start_server(Backend::Sqlite, webhook_env("200ms,200ms,200ms,200ms")).await;
    let whsec = secret(&server, &key).await;
    let receiver = Receiver::start(&[&whsec]).await;
    receiver.script(&[Answer::Status(500), Answer::Status(500), Answer::Status(500), Answer::Status(200)]);
    let id = generate(&server, &key, image("retry me", Some(&receiver.url("/hook")))).await;
    let got = receiver.wait_events("/hook", &id, "generation.completed", 4).await;
    assert_verified(&got);
    assert!(got.iter().all(|r| r.id == got[0].id), "same webhook-id on every attempt: {:?}", summary(&got));
    assert!(got.iter().all(|r| r.raw == got[0].raw), "the same body on every attempt");
    for pair in got.windows(2) {
        assert!(pair[1].at - pair[0].at >= Duration::from_millis(150), "retries wait the schedule's 200 ms");
    }
    let log = wait_deliveries(&server, &key, &id, "delivered after 4 attempts", |d| {
        d.len() == 1 && d[0]["status"] == "DELIVERED"
    })
    .await;
    let delivery = &log[0];
    assert_eq!(delivery["messageId"], got[0].id.as_str());
    assert_eq!(delivery["eventType"], "generation.completed");
    assert_eq!(delivery["endpointId"], Value::Null);
    assert_eq!(delivery["nextAttemptAt"], Value::Null);
    let attempts = delivery["attempts"].as_array().unwrap();
    let statuses: Vec<i64> = attempts.iter().map(|a| a["httpStatus"].as_i64().unwrap()).collect();
    assert_eq!(statuses, vec![500, 500, 500, 200]);
    assert!(attempts.iter().all(|a| a["latencyMs"].as_i64().unwrap() >= 0 && a["at"].is_string()));
    assert_eq!(attempts[0]["error"], "HTTP 500");
    assert_eq!(attempts[3]["error"], Value::Null);
    assert_eq!(gql(&server, &key, DELIVERIES, json!({ "s": "FAILED" })).await["webhookDeliveries"]["nodes"], json!([]));

    // Redeliver: the same webhook-id and body again, one more attempt logged.
    let redelivered = gql(
        &server,
        &key,
        "mutation($id: ID!) { redeliverWebhook(id: $id) { id messageId status } }",
        json!({ "id": delivery["id"] }),
    )
    .await;
    assert_eq!(redelivered["redeliverWebhook"]["messageId"], got[0].id.as_str());
    let again = receiver.wait_events("/hook", &id, "generation.completed", 5).await;
    assert_eq!(again[4].id, got[0].id);
    assert_eq!(again[4].raw, got[0].raw);
    assert_verified(&again);
    wait_deliveries(&server, &key, &id, "redelivery logged", |d| {
        d[0]["status"] == "DELIVERED" && d[0]["attempts"].as_array().unwrap().len() == 5
    })
    .await;
    let e = gql_error(&server, &key, "mutation { redeliverWebhook(id: \"whd_nope\") { id } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "NOT_FOUND");

    // The CLI accepts a real delivery and rejects a tampered body.
    let real = &again[4];
    let verify = |body: &[u8], timestamp: i64| {
        use std::io::Write as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_doitong"))
            .args(["webhooks", "verify", "--secret", &whsec, "--id", &real.id])
            .args(["--timestamp", &timestamp.to_string(), "--signature", &real.signature])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(body).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    assert_eq!(verify(&real.raw, real.timestamp), (Some(0), "valid\n".to_string()));
    let mut tampered = real.raw.clone();
    tampered.extend_from_slice(b" ");
    let (code, out) = verify(&tampered, real.timestamp);
    assert_eq!(code, Some(1));
    assert!(out.starts_with("invalid: no signature matches"), "{out}");
    let (code, out) = verify(&real.raw, real.timestamp - 3600);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("webhook-timestamp"), "an old timestamp is refused first: {out}");
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_stops_its_deliveries() {
    let (server, key) = start_server(Backend::Sqlite, webhook_env("200ms,200ms")).await;
    let receiver = Receiver::start(&[&secret(&server, &key).await]).await;
    let create = "mutation($u: String!) { createWebhookEndpoint(url: $u) { id } }";
    let endpoint =
        gql(&server, &key, create, json!({ "u": receiver.url("/gone") })).await["createWebhookEndpoint"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    receiver.script(&[Answer::Status(410)]);
    let id = generate(&server, &key, image("gone", None)).await;
    receiver.wait_events("/gone", &id, "generation.completed", 1).await;
    let log =
        wait_deliveries(&server, &key, &id, "failed on 410", |d| d.len() == 1 && d[0]["status"] == "FAILED").await;
    assert_eq!(log[0]["endpointId"], endpoint.as_str());
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 1, "no retry after 410");
    assert_eq!(log[0]["attempts"][0]["httpStatus"], 410);
    let listed = gql(&server, &key, "{ webhookEndpoints { id enabled disabledReason } }", json!({})).await;
    let shown = &listed["webhookEndpoints"][0];
    assert_eq!(shown["enabled"], false, "{listed}");
    assert!(shown["disabledReason"].as_str().unwrap().contains("410"), "{listed}");
    // A disabled endpoint gets nothing more.
    let later = generate(&server, &key, image("later", Some(&receiver.url("/request")))).await;
    receiver.wait_events("/request", &later, "generation.completed", 1).await;
    let logged = deliveries(&server, &key, &later).await;
    assert_eq!(logged.len(), 1, "only the request URL: {logged:#?}");
    assert!(receiver.got().iter().filter(|r| r.path == "/gone").count() == 1);
    // Removing it.
    let removed =
        gql(&server, &key, "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": endpoint })).await;
    assert_eq!(removed["deleteWebhookEndpoint"], true);
    assert_eq!(gql(&server, &key, "{ webhookEndpoints { id } }", json!({})).await["webhookEndpoints"], json!([]));
    let e =
        gql_error(&server, &key, "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": endpoint }))
            .await;
    assert_eq!(e["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_silent_receiver_times_out_is_retried_then_failed() {
    let (server, key) = start_server(Backend::Sqlite, webhook_env("200ms,200ms")).await;
    let receiver = Receiver::start(&[&secret(&server, &key).await]).await;
    let create = "mutation($u: String!) { createWebhookEndpoint(url: $u) { id } }";
    gql(&server, &key, create, json!({ "u": receiver.url("/quick") })).await;
    let id = generate(&server, &key, image("silence", Some(&receiver.url("/hang")))).await;
    // A slow receiver holds one slot: the event's other target is served meanwhile.
    let quick = receiver.wait_events("/quick", &id, "generation.completed", 1).await;
    let first_hang = receiver.wait_events("/hang", &id, "generation.completed", 1).await;
    assert!(quick[0].at < first_hang[0].at + Duration::from_millis(500), "not queued behind the hanging attempt");
    let got = receiver.wait_events("/hang", &id, "generation.completed", 3).await;
    assert!(got.iter().all(|r| r.id == got[0].id && r.id == quick[0].id));
    let log = wait_deliveries(&server, &key, &id, "failed after the schedule", |d| {
        d.iter().any(|d| d["url"].as_str().unwrap().ends_with("/hang") && d["status"] == "FAILED")
    })
    .await;
    let hang = log.iter().find(|d| d["url"].as_str().unwrap().ends_with("/hang")).unwrap();
    let attempts = hang["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "one attempt and one per schedule step: {log:#?}");
    for a in attempts {
        assert_eq!(a["httpStatus"], Value::Null);
        assert!(a["error"].as_str().unwrap().contains("timeout"), "{a}");
        assert!(a["latencyMs"].as_i64().unwrap() >= 900, "{a}");
    }
    assert_eq!(receiver.got().iter().filter(|r| r.path == "/hang").count(), 3, "nothing after the last step");
}

async fn sigkill_between_attempts_on(backend: Backend) {
    let (mut server, key) = start_server(backend, webhook_env("1500ms,200ms,200ms")).await;
    let receiver = Receiver::start(&[&secret(&server, &key).await]).await;
    receiver.script(&[Answer::Status(500), Answer::Status(500), Answer::Status(500)]);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(generate(&server, &key, image(&format!("crash {n}"), Some(&receiver.url("/hook")))).await);
    }
    for id in &ids {
        receiver.wait_events("/hook", id, "generation.completed", 1).await;
        wait_deliveries(&server, &key, id, "first attempt recorded", |d| {
            d.len() == 1 && d[0]["status"] == "PENDING" && d[0]["attempts"].as_array().unwrap().len() == 1
        })
        .await;
    }
    // Every first attempt failed and is logged; the retries are due 1.5 s
    // later. Kill the server between the attempts.
    server.kill();
    let before = receiver.got().len();
    server.restart().await;
    let mut message_ids = Vec::new();
    for id in &ids {
        let got = receiver
            .wait_for(&format!("{id} delivered after the restart"), Duration::from_secs(20), |got| {
                let mine: Vec<Received> = got.iter().filter(|r| r.generation() == id).cloned().collect();
                mine.iter().any(|r| r.answer == Answer::Status(200)).then_some(mine)
            })
            .await;
        assert_verified(&got);
        assert!(got.iter().all(|r| r.id == got[0].id), "same webhook-id across the restart");
        message_ids.push(got[0].id.clone());
        let log =
            wait_deliveries(&server, &key, id, "delivered", |d| d.len() == 1 && d[0]["status"] == "DELIVERED").await;
        assert!(log[0]["attempts"].as_array().unwrap().len() >= 2);
    }
    assert!(receiver.got().len() > before);
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(message_ids.len(), 3, "one message per event, none lost");
}

#[tokio::test]
async fn sigkill_between_attempts_delivers_after_restart_sqlite() {
    sigkill_between_attempts_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn sigkill_between_attempts_delivers_after_restart_postgres() {
    sigkill_between_attempts_on(Backend::Postgres).await;
}

#[tokio::test]
async fn private_targets_are_refused_by_default() {
    let (server, key) = start_server(Backend::Sqlite, vec![]).await;
    let create = "mutation($u: String!) { createWebhookEndpoint(url: $u) { id } }";
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
    ] {
        let e = gql_error(&server, &key, GENERATE, json!({ "i": image("x", Some(url)) })).await;
        assert_eq!(e["extensions"]["code"], "INVALID_INPUT", "{url}: {e}");
        assert_eq!(e["extensions"]["field"], "webhookUrl", "{url}: {e}");
        let e = gql_error(&server, &key, create, json!({ "u": url })).await;
        assert_eq!(e["extensions"]["code"], "INVALID_INPUT", "{url}: {e}");
        assert_eq!(e["extensions"]["field"], "url", "{url}: {e}");
    }
    // A public name is accepted when given (its addresses are checked at delivery).
    let ok = gql(&server, &key, create, json!({ "u": "https://hooks.example.com/doitong" })).await;
    assert!(ok["createWebhookEndpoint"]["id"].as_str().unwrap().starts_with("whe_"));
}

#[tokio::test]
async fn sigkill_mid_attempt_resends_after_restart() {
    let (mut server, key) = start_server(Backend::Sqlite, webhook_env("200ms")).await;
    let receiver = Receiver::start(&[&secret(&server, &key).await]).await;
    receiver.script(&[Answer::Hang]);
    let id = generate(&server, &key, image("cut off", Some(&receiver.url("/hook")))).await;
    // The attempt is in flight (the receiver holds it): kill the sender.
    let first = receiver.wait_events("/hook", &id, "generation.completed", 1).await;
    server.kill();
    server.restart().await;
    // Not recorded as made, so sent again at once, with the same webhook-id.
    let got = receiver.wait_events("/hook", &id, "generation.completed", 2).await;
    assert_eq!(got[1].id, first[0].id);
    assert_eq!(got[1].answer, Answer::Status(200));
    assert_verified(&got);
    wait_deliveries(&server, &key, &id, "delivered", |d| d.len() == 1 && d[0]["status"] == "DELIVERED").await;
}

/// Endpoints are capped per account (`webhooks.max_endpoints`, 10) and one
/// URL is registered once: a single request can no longer fan one event out
/// to thousands of deliveries.
#[tokio::test]
async fn endpoints_are_capped_per_account_and_a_url_is_registered_once() {
    let (server, key) = start_server(Backend::Sqlite, webhook_env("200ms")).await;
    let create = "mutation($u: String!) { createWebhookEndpoint(url: $u) { id } }";
    for i in 0..10 {
        gql(&server, &key, create, json!({ "u": format!("https://hooks.example.com/{i}") })).await;
    }
    let (_, _, body) = server.post(Some(&key), create, json!({ "u": "https://hooks.example.com/3" }), &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("already delivers to this URL"), "{body}");
    let (_, _, body) = server.post(Some(&key), create, json!({ "u": "https://hooks.example.com/10" }), &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "webhooks.max_endpoints", "{body}");
    // Aliases do not get around it either.
    let many = "mutation { a: createWebhookEndpoint(url: \"https://hooks.example.com/a\") { id } \
        b: createWebhookEndpoint(url: \"https://hooks.example.com/b\") { id } }";
    let (_, _, body) = server.post(Some(&key), many, json!({}), &[]).await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2), "{body}");
    let listed = gql(&server, &key, "{ webhookEndpoints { id } }", json!({})).await;
    assert_eq!(listed["webhookEndpoints"].as_array().unwrap().len(), 10);
}

/// An account whose receivers all hang holds at most
/// `webhooks.max_in_flight_per_account` delivery slots: another account's
/// event is delivered meanwhile, not after the hanging attempts time out.
#[tokio::test]
async fn an_account_with_hanging_receivers_does_not_delay_others() {
    let mut env = webhook_env("30s");
    env.retain(|(k, _)| k != "DOITONG_WEBHOOKS_TIMEOUT_SECS");
    env.extend([
        ("DOITONG_WEBHOOKS_TIMEOUT_SECS".into(), "8".into()),
        ("DOITONG_WEBHOOKS_MAX_IN_FLIGHT".into(), "2".into()),
        ("DOITONG_WEBHOOKS_MAX_IN_FLIGHT_PER_ACCOUNT".into(), "1".into()),
    ]);
    let (server, noisy) = start_server(Backend::Sqlite, env).await;
    let (_, quiet) = server.account_with_key("quiet", 100_000, false);
    let receiver = Receiver::start(&[]).await;
    for n in 0..3 {
        generate(&server, &noisy, image("noisy", Some(&receiver.url(&format!("/hang-{n}"))))).await;
    }
    receiver
        .wait_for("a hanging attempt", Duration::from_secs(20), |got| {
            got.iter().any(|r| r.path.starts_with("/hang")).then(Vec::new)
        })
        .await;
    // Time for the worker to claim the other hanging deliveries, were it allowed to.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let id = generate(&server, &quiet, image("quiet", Some(&receiver.url("/quiet")))).await;
    receiver.wait_events("/quiet", &id, "generation.completed", 1).await;
    assert!(started.elapsed() < Duration::from_secs(6), "waited {:?} behind another account", started.elapsed());
    let hanging = receiver.got().iter().filter(|r| r.path.starts_with("/hang")).count();
    assert_eq!(hanging, 1, "one slot for the noisy account: {:#?}", summary(&receiver.got()));
}
