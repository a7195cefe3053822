//! The relay test vendor: a mock HTTP server on 127.0.0.1 speaking the
//! protocol of `tests/plugins/relay-a` / `relay-b` (see `relay.rs` there),
//! with the behaviour of a real vendor that supports idempotency keys.
//!
//! - `POST /v1/{offering}/tasks {prompt, idempotency_key}` → 201 `{id}`; a
//!   key seen before answers with the task it created (no second task);
//! - `GET /v1/{offering}/tasks/{id}` → `{status: running|done|cancelled}`;
//! - `DELETE /v1/{offering}/tasks/{id}` → 200 (cancelled), 409 if done;
//! - `GET /v1/{offering}/health`.
//!
//! A test can stop it, restart it on the same port, slow its `create`
//! down, make it throttle or retire the model, and count per idempotency
//! key what reached it (submits) and what it created (tasks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::{Server, ServerOptions, guest_wasm};
use crate::vendors::sample_png;

/// How a mock vendor answers.
#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Up,
    /// 429 with `Retry-After`.
    Throttled(u32),
    /// 404 model_not_found.
    Retired,
}

struct Task {
    ready: Instant,
    cancelled: bool,
}

#[derive(Default)]
pub struct VendorState {
    mode: Option<Mode>,
    delay: Duration,
    /// How long `create` takes to answer.
    pub slow_create: Duration,
    tasks: HashMap<String, Task>,
    /// Idempotency key → the task it created.
    by_key: HashMap<String, String>,
    /// The idempotency key of every submit, as it arrived.
    tokens: Vec<String>,
    /// Task ids cancelled, in order.
    cancels: Vec<String>,
    /// When each task was created, in order.
    created_at: Vec<Instant>,
    /// Finished tasks answer with a URL to a body of this many bytes
    /// (`video/mp4`, generated as it is sent) instead of an inline PNG.
    pub result_bytes: Option<u64>,
    /// Where this vendor listens (for result URLs).
    addr: Option<SocketAddr>,
}

pub type Shared = Arc<Mutex<VendorState>>;

/// One relay vendor on a fixed loopback port; stop and start it at will.
pub struct RelayVendor {
    pub addr: SocketAddr,
    pub state: Shared,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RelayVendor {
    pub async fn start() -> RelayVendor {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut vendor = RelayVendor { addr: listener.local_addr().unwrap(), state: Shared::default(), task: None };
        vendor.state.lock().unwrap().addr = Some(vendor.addr);
        vendor.serve(listener);
        vendor
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let router = Router::new()
            .route("/v1/{offering}/tasks", post(create))
            .route("/v1/{offering}/tasks/{id}", get(status).delete(cancel))
            .route("/v1/{offering}/health", get(health))
            .route("/results/{bytes}", get(result))
            .with_state(self.state.clone());
        self.task = Some(tokio::spawn(async move { axum::serve(listener, router).await.unwrap() }));
    }

    /// Connections refused from now on.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Answer in `mode`; tasks finish `delay` after creation.
    pub fn set(&self, mode: Mode, delay: Duration) {
        let mut state = self.state.lock().unwrap();
        state.mode = Some(mode);
        state.delay = delay;
    }

    /// The idempotency key of every submit that reached the vendor.
    pub fn tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.clone()
    }

    /// Tasks created for each idempotency key (at most 1 by construction:
    /// a repeated key gets its first task back).
    pub fn task_of(&self, key: &str) -> Option<String> {
        self.state.lock().unwrap().by_key.get(key).cloned()
    }

    /// Tasks created in all.
    pub fn tasks_created(&self) -> usize {
        self.state.lock().unwrap().tasks.len()
    }

    /// When each task was created, in order.
    pub fn creation_times(&self) -> Vec<Instant> {
        self.state.lock().unwrap().created_at.clone()
    }

    /// How many submits each idempotency key took to reach the vendor.
    pub fn submits_per_key(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for key in &self.state.lock().unwrap().tokens {
            *counts.entry(key.clone()).or_default() += 1;
        }
        counts
    }

    /// Task ids cancelled.
    pub fn cancels(&self) -> Vec<String> {
        self.state.lock().unwrap().cancels.clone()
    }
}

fn refusal(state: &VendorState) -> Option<Response> {
    match state.mode.unwrap_or(Mode::Up) {
        Mode::Up => None,
        Mode::Throttled(secs) => Some(
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], Json(json!({"error": "slow down"})))
                .into_response(),
        ),
        Mode::Retired => Some(
            (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "model_not_found", "message": "model retired"}})))
                .into_response(),
        ),
    }
}

async fn create(State(state): State<Shared>, Path(_offering): Path<String>, Json(body): Json<Value>) -> Response {
    let key = body["idempotency_key"].as_str().unwrap_or_default().to_string();
    // Every submit is counted as it arrives, before the vendor answers.
    let slow = {
        let mut state = state.lock().unwrap();
        state.tokens.push(key.clone());
        state.slow_create
    };
    tokio::time::sleep(slow).await;
    let mut state = state.lock().unwrap();
    if let Some(refused) = refusal(&state) {
        return refused;
    }
    if let Some(id) = state.by_key.get(&key).filter(|_| !key.is_empty()) {
        return (StatusCode::OK, Json(json!({ "id": id }))).into_response();
    }
    let id = format!("task-{}", state.tasks.len() + 1);
    let ready = Instant::now() + state.delay;
    state.tasks.insert(id.clone(), Task { ready, cancelled: false });
    state.created_at.push(Instant::now());
    if !key.is_empty() {
        state.by_key.insert(key, id.clone());
    }
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn status(State(state): State<Shared>, Path((_offering, id)): Path<(String, String)>) -> Response {
    let state = state.lock().unwrap();
    match state.tasks.get(&id) {
        Some(task) if task.cancelled => Json(json!({ "status": "cancelled" })).into_response(),
        Some(task) if Instant::now() >= task.ready && state.result_bytes.is_some() => {
            let (addr, bytes) = (state.addr.unwrap(), state.result_bytes.unwrap());
            let url = format!("http://{addr}/results/{bytes}");
            Json(json!({ "status": "done", "url": url, "mime": "video/mp4" })).into_response()
        }
        Some(task) if Instant::now() >= task.ready => {
            let png = base64::engine::general_purpose::STANDARD.encode(sample_png(8, 8));
            Json(json!({ "status": "done", "png_base64": png })).into_response()
        }
        Some(_) => Json(json!({ "status": "running" })).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such task"}))).into_response(),
    }
}

/// A result of `bytes` bytes, generated while it is sent (a 500 MiB body
/// never exists in memory here either). Byte `i` is `i % 251`.
async fn result(Path(bytes): Path<u64>) -> Response {
    const CHUNK: u64 = 64 << 10;
    let chunks = futures::stream::iter((0..bytes.div_ceil(CHUNK)).map(move |n| {
        let (start, end) = (n * CHUNK, ((n + 1) * CHUNK).min(bytes));
        Ok::<_, std::io::Error>(axum::body::Bytes::from((start..end).map(|i| (i % 251) as u8).collect::<Vec<u8>>()))
    }));
    let headers = [("content-type", "video/mp4".to_string()), ("content-length", bytes.to_string())];
    (headers, axum::body::Body::from_stream(chunks)).into_response()
}

async fn cancel(State(state): State<Shared>, Path((_offering, id)): Path<(String, String)>) -> Response {
    let mut state = state.lock().unwrap();
    let Some(task) = state.tasks.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such task"}))).into_response();
    };
    if Instant::now() >= task.ready && !task.cancelled {
        return (StatusCode::CONFLICT, Json(json!({"error": "the task already finished"}))).into_response();
    }
    task.cancelled = true;
    state.cancels.push(id.clone());
    Json(json!({ "id": id, "status": "cancelled" })).into_response()
}

async fn health(State(state): State<Shared>, Path(_offering): Path<String>) -> Response {
    let state = state.lock().unwrap();
    refusal(&state).unwrap_or_else(|| Json(json!({ "ok": true })).into_response())
}

/// A webhook receiver keeping every body it gets, with its `webhook-id`.
pub struct Hook {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Vec<Value>>>,
    /// `webhook-id` header of each body in `got`, in the same order.
    pub ids: Arc<Mutex<Vec<String>>>,
}

impl Hook {
    pub async fn start() -> Hook {
        Hook::answering_after(Duration::ZERO).await
    }

    /// A receiver that takes `delay` to answer each delivery.
    pub async fn answering_after(delay: Duration) -> Hook {
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let ids: Arc<Mutex<Vec<String>>> = Arc::default();
        let (keep, keep_ids) = (got.clone(), ids.clone());
        let router = Router::new().route(
            "/hook",
            post(move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let (keep, keep_ids) = (keep.clone(), keep_ids.clone());
                async move {
                    tokio::time::sleep(delay).await;
                    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    // One lock for both lists keeps them in step.
                    let mut got = keep.lock().unwrap();
                    keep_ids.lock().unwrap().push(id.to_string());
                    got.push(body);
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Hook { addr, got, ids }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub async fn wait_for(&self, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(found) = self.got.lock().unwrap().iter().find(|e| matches(e)) {
                return found.clone();
            }
            assert!(Instant::now() < deadline, "no such webhook: {:?}", self.got.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A gateway with both relay plugins pointed at their vendors, a short
/// cool-down and small windows, and a live key with `credits`.
pub async fn gateway(a: &RelayVendor, b: &RelayVendor, credits: i64, extra: &[(&str, &str)]) -> (Server, String) {
    gateway_with(a, b, credits, extra, ServerOptions::default()).await
}

pub async fn gateway_with(
    a: &RelayVendor,
    b: &RelayVendor,
    credits: i64,
    extra: &[(&str, &str)],
    options: ServerOptions,
) -> (Server, String) {
    let mut env: Vec<(String, String)> = vec![
        ("DOITONG_PLUGINS_RELAY_A_BASE_URL".into(), format!("http://{}", a.addr)),
        ("DOITONG_PLUGINS_RELAY_A_ALLOW_PRIVATE".into(), "true".into()),
        ("DOITONG_PLUGINS_RELAY_B_BASE_URL".into(), format!("http://{}", b.addr)),
        ("DOITONG_PLUGINS_RELAY_B_ALLOW_PRIVATE".into(), "true".into()),
        ("DOITONG_JOBS_MIN_POLL_INTERVAL_MS".into(), "50".into()),
        ("DOITONG_JOBS_MAX_POLL_INTERVAL_MS".into(), "200".into()),
        ("DOITONG_JOBS_SUBMIT_ATTEMPTS".into(), "1".into()),
        ("DOITONG_ROUTING_MIN_SAMPLES".into(), "2".into()),
        ("DOITONG_ROUTING_FAILURE_THRESHOLD".into(), "2".into()),
        ("DOITONG_ROUTING_COOLDOWN_SECS".into(), "2".into()),
        ("DOITONG_ROUTING_REFRESH_MS".into(), "100".into()),
        ("DOITONG_ROUTING_HEALTH_CHECK_SECS".into(), "0".into()),
        ("DOITONG_WEBHOOKS_ALLOW_PRIVATE".into(), "true".into()),
        ("DOITONG_WEBHOOKS_RETRY_SCHEDULE".into(), "200ms".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    // The caller's own settings come last and win.
    let mut options = options;
    env.append(&mut options.env);
    let server = Server::start_with(ServerOptions {
        env,
        plugins: vec![
            ("relay-a.wasm".into(), guest_wasm("doitong-test-plugin-relay-a")),
            ("relay-b.wasm".into(), guest_wasm("doitong-test-plugin-relay-b")),
        ],
        ..options
    })
    .await;
    let (_, key) = server.account_with_key(&format!("router-{}", server.port), credits, false);
    (server, key)
}

/// `generate` an image on `provider`; the generation id.
pub async fn generate(server: &Server, key: &str, provider: &str) -> String {
    let query = "mutation($input: GenerateInput!) { generate(input: $input) { id status } }";
    let input = json!({ "type": "IMAGE", "provider": provider, "input": { "text": "a lighthouse at dusk" } });
    let (_, _, body) = server.post(Some(key), query, json!({ "input": input }), &[]).await;
    body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string()
}
