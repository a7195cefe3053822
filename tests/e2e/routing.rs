//! Routing that watches the vendors (issue 12): two test vendors with
//! known speed, price and failure behaviour (`tests/plugins/relay-a`,
//! `relay-b`: declared quality 90 / 60, 10 / 4 credits, 5 s / 20 s), each
//! behind its own mock HTTP server on 127.0.0.1 that a test can stop,
//! restart on the same port, slow down, throttle or retire.

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
enum Mode {
    Up,
    /// 429 with `Retry-After`.
    Throttled(u32),
    /// 404 model_not_found.
    Retired,
}

#[derive(Default)]
struct VendorState {
    mode: Option<Mode>,
    delay: Duration,
    /// How long `create` takes to answer.
    slow_create: Duration,
    tasks: HashMap<String, Instant>,
    tokens: Vec<String>,
}

type Shared = Arc<Mutex<VendorState>>;

/// One relay vendor on a fixed loopback port; stop and start it at will.
struct RelayVendor {
    addr: SocketAddr,
    state: Shared,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RelayVendor {
    async fn start() -> RelayVendor {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut vendor = RelayVendor { addr: listener.local_addr().unwrap(), state: Shared::default(), task: None };
        vendor.serve(listener);
        vendor
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let router = Router::new()
            .route("/v1/{offering}/tasks", post(create))
            .route("/v1/{offering}/tasks/{id}", get(status))
            .route("/v1/{offering}/health", get(health))
            .with_state(self.state.clone());
        self.task = Some(tokio::spawn(async move { axum::serve(listener, router).await.unwrap() }));
    }

    /// Connections refused from now on.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn set(&self, mode: Mode, delay: Duration) {
        let mut state = self.state.lock().unwrap();
        state.mode = Some(mode);
        state.delay = delay;
    }

    fn tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.clone()
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
    // Every submit is counted as it arrives, before the vendor answers.
    let slow = {
        let mut state = state.lock().unwrap();
        state.tokens.push(body["idempotency_key"].as_str().unwrap_or_default().to_string());
        state.slow_create
    };
    tokio::time::sleep(slow).await;
    let mut state = state.lock().unwrap();
    if let Some(refused) = refusal(&state) {
        return refused;
    }
    let id = format!("task-{}", state.tasks.len() + 1);
    let ready = Instant::now() + state.delay;
    state.tasks.insert(id.clone(), ready);
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn status(State(state): State<Shared>, Path((_offering, id)): Path<(String, String)>) -> Response {
    let state = state.lock().unwrap();
    match state.tasks.get(&id) {
        Some(ready) if Instant::now() >= *ready => {
            let png = base64::engine::general_purpose::STANDARD.encode(sample_png(8, 8));
            Json(json!({ "status": "done", "png_base64": png })).into_response()
        }
        Some(_) => Json(json!({ "status": "running" })).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such task"}))).into_response(),
    }
}

async fn health(State(state): State<Shared>, Path(_offering): Path<String>) -> Response {
    let state = state.lock().unwrap();
    refusal(&state).unwrap_or_else(|| Json(json!({ "ok": true })).into_response())
}

/// A webhook receiver keeping every body it gets.
struct Hook {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Hook {
    async fn start() -> Hook {
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let keep = got.clone();
        let router = Router::new().route(
            "/hook",
            post(move |Json(body): Json<Value>| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push(body);
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Hook { addr, got }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    async fn wait_for(&self, matches: impl Fn(&Value) -> bool) -> Value {
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
async fn gateway(a: &RelayVendor, b: &RelayVendor, credits: i64, extra: &[(&str, &str)]) -> (Server, String) {
    gateway_with(a, b, credits, extra, ServerOptions::default()).await
}

async fn gateway_with(
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

const FIELDS: &str = "id status provider creditCost errorCode error { code message } \
    routing { priority automatic chosen reason fallbacks candidates { id score skippedBecause } } \
    attempts { provider code error creditCost startedAt endedAt }";

/// `generate` an image; `Ok(generation)` or `Err(first error)`.
async fn generate(server: &Server, key: &str, input: Value) -> Result<Value, Value> {
    let query = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {FIELDS} }} }}");
    let mut input = input;
    input["type"] = json!("IMAGE");
    input["input"] = json!({ "text": "a lighthouse at dusk" });
    let (_, _, body) = server.post(Some(key), &query, json!({ "input": input }), &[]).await;
    match body["errors"].get(0) {
        Some(error) => Err(error.clone()),
        None => Ok(body["data"]["generate"].clone()),
    }
}

async fn finished(server: &Server, key: &str, id: &str) -> Value {
    server.wait_terminal(key, id, Duration::from_secs(30)).await;
    let query = format!("query($id: ID!) {{ generation(id: $id) {{ {FIELDS} }} }}");
    let (_, _, body) = server.post(Some(key), &query, json!({ "id": id }), &[]).await;
    body["data"]["generation"].clone()
}

async fn health_of(server: &Server, key: &str, id: &str) -> Value {
    let query = "{ providers(type: IMAGE) { id health { state successRate p50Seconds sampleSize consecutiveFailures lastError { code message } openedAt retryAt } } }";
    let (_, _, body) = server.post(Some(key), query, json!({}), &[]).await;
    let providers = body["data"]["providers"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    providers.into_iter().find(|p| p["id"] == id).unwrap()["health"].clone()
}

/// Poll until `offering`'s breaker is `state` (bounded).
async fn until_state(server: &Server, key: &str, offering: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health = health_of(server, key, offering).await;
        if health["state"] == state {
            return health;
        }
        assert!(Instant::now() < deadline, "{offering} never reached {state}: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn candidate<'a>(generation: &'a Value, id: &str) -> &'a Value {
    let list = generation["routing"]["candidates"].as_array().unwrap_or_else(|| panic!("{generation}"));
    list.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} not among {generation}"))
}

#[tokio::test]
async fn each_priority_picks_the_expected_offering_and_observed_speed_takes_over() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(1500));
    b.set(Mode::Up, Duration::from_millis(50));
    let (server, key) = gateway(&a, &b, 10_000, &[]).await;

    for (priority, chosen, because) in [
        ("SPEED", "relay-a", "declared estimate 5 s"),
        ("QUALITY", "relay-a", "declared quality 90"),
        ("COST", "relay-b", "quoted 4 credits"),
        ("BALANCED", "relay-a", "quality 90 at 10 credits"),
    ] {
        let g = generate(&server, &key, json!({ "priority": priority })).await.unwrap();
        let routing = &g["routing"];
        assert_eq!(
            (routing["chosen"].as_str(), g["provider"].as_str()),
            (Some(chosen), Some(chosen)),
            "{priority}: {g}"
        );
        assert_eq!(routing["priority"], priority);
        assert_eq!(routing["automatic"], true);
        assert!(routing["reason"].as_str().unwrap().contains(because), "{priority}: {routing}");
        assert!(candidate(&g, "relay-b")["score"].is_number());
        // Bundled image adapters without keys are listed, skipped, with why.
        let flux = candidate(&g, "flux-dev");
        assert!(flux["skippedBecause"].as_str().unwrap().contains("missing secret"), "{flux}");
        finished(&server, &key, g["id"].as_str().unwrap()).await;
    }
    // Observed: relay-a took ~1.5 s (three jobs), relay-b ~0.05 s (one so
    // far; one more makes the two samples SPEED needs).
    let g = generate(&server, &key, json!({ "provider": "relay-b" })).await.unwrap();
    assert_eq!(g["routing"]["reason"], "named by the request");
    finished(&server, &key, g["id"].as_str().unwrap()).await;
    let health = health_of(&server, &key, "relay-b").await;
    assert_eq!((health["state"].as_str(), health["sampleSize"].as_i64()), (Some("CLOSED"), Some(2)), "{health}");
    assert_eq!(health["successRate"], 1.0);
    let g = generate(&server, &key, json!({ "priority": "SPEED" })).await.unwrap();
    assert_eq!(g["routing"]["chosen"], "relay-b", "{g}");
    assert!(g["routing"]["reason"].as_str().unwrap().contains("observed median"), "{g}");
    let slow = health_of(&server, &key, "relay-a").await["p50Seconds"].as_f64().unwrap();
    assert!(slow >= 1.4, "relay-a's median {slow}");
    assert!(candidate(&g, "relay-a")["score"].as_f64().unwrap() <= -1.4);
    // Each submit carried the generation id as the vendor's idempotency key.
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert!(b.tokens().contains(&g["id"].as_str().unwrap().to_string()), "{:?}", b.tokens());
}

#[tokio::test]
async fn a_stopped_vendor_fails_over_opens_its_breaker_and_a_probe_closes_it() {
    let mut a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(50));
    b.set(Mode::Up, Duration::from_millis(50));
    let hook = Hook::start().await;
    let (server, key) = gateway(&a, &b, 1_000, &[]).await;
    a.stop().await;

    // QUALITY prefers relay-a, which is down: the job moves to relay-b with
    // the same id, both attempts listed, the reservation following the quote.
    let g = generate(&server, &key, json!({ "priority": "QUALITY", "webhookUrl": hook.url() })).await.unwrap();
    assert_eq!((g["provider"].as_str(), g["creditCost"].as_i64()), (Some("relay-a"), Some(10)));
    let id = g["id"].as_str().unwrap().to_string();
    let g = finished(&server, &key, &id).await;
    assert_eq!((g["id"].as_str(), g["status"].as_str()), (Some(id.as_str()), Some("COMPLETED")), "{g}");
    assert_eq!((g["provider"].as_str(), g["creditCost"].as_i64()), (Some("relay-b"), Some(4)), "{g}");
    let attempts = g["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{g}");
    assert_eq!(
        (attempts[0]["provider"].as_str(), attempts[0]["code"].as_str()),
        (Some("relay-a"), Some("PROVIDER_UNAVAILABLE"))
    );
    assert_eq!((attempts[0]["creditCost"].as_i64(), attempts[1]["provider"].as_str()), (Some(10), Some("relay-b")));
    assert!(attempts[1]["code"].is_null());
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("already tried"), "{g}");
    // The ledger adds up: reserve 10, adjust +6, capture 0; 4 spent.
    let (_, _, body) = server
        .post(
            Some(&key),
            "{ account { credits } creditTransactions(first: 10) { nodes { kind amount generationId } } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(body["data"]["account"]["credits"], 996, "{body}");
    let lines: Vec<(String, i64)> = body["data"]["creditTransactions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["generationId"] == id.as_str())
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount"].as_i64().unwrap()))
        .collect();
    let mut entries: Vec<&str> = lines.iter().map(|(e, _)| e.as_str()).collect();
    entries.sort();
    assert_eq!(entries, ["ADJUST", "CAPTURE", "RESERVE"], "{lines:?}");
    assert_eq!(lines.iter().map(|(_, a)| a).sum::<i64>(), -4, "{lines:?}");
    // The webhook names the final provider.
    let event = hook.wait_for(|e| e["data"]["id"] == id.as_str() && e["type"] == "generation.completed").await;
    assert_eq!(event["data"]["provider"], "relay-b", "{event}");

    // A second failure opens relay-a's breaker (threshold 2).
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!(g["provider"], "relay-b");
    let health = until_state(&server, &key, "relay-a", "OPEN").await;
    assert_eq!(health["lastError"]["code"], "PROVIDER_UNAVAILABLE", "{health}");
    assert!(health["openedAt"].is_string() && health["retryAt"].is_string(), "{health}");
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("doitong_offering_breaker_state{offering=\"relay-a\"} 2"), "{metrics}");
    assert!(
        metrics.contains("doitong_failovers_total{from=\"relay-a\",to=\"relay-b\",code=\"PROVIDER_UNAVAILABLE\"} 2"),
        "{metrics}"
    );

    // While open: skipped with the reason, and refused by name.
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b");
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("circuit OPEN"), "{g}");
    finished(&server, &key, g["id"].as_str().unwrap()).await;
    let e = generate(&server, &key, json!({ "provider": "relay-a" })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{e}");
    assert!(e["extensions"]["reason"].as_str().unwrap().contains("circuit OPEN"), "{e}");

    // The vendor comes back; after the cool-down one probe job closes it.
    a.restart().await;
    until_state(&server, &key, "relay-a", "HALF_OPEN").await;
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-a", "{g}");
    assert!(g["routing"]["reason"].as_str().unwrap().contains("HALF_OPEN"), "{g}");
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-a")), "{g}");
    let health = until_state(&server, &key, "relay-a", "CLOSED").await;
    assert_eq!(health["consecutiveFailures"], 0);
}

#[tokio::test]
async fn a_retired_model_opens_at_once_and_a_throttled_vendor_is_held_back() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Retired, Duration::ZERO);
    b.set(Mode::Up, Duration::from_millis(50));
    let (server, key) = gateway(&a, &b, 1_000, &[]).await;

    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-b")), "{g}");
    // One model-not-found is enough.
    let health = until_state(&server, &key, "relay-a", "OPEN").await;
    assert!(health["lastError"]["message"].as_str().unwrap().contains("no longer serves"), "{health}");
    let e = generate(&server, &key, json!({ "provider": "relay-a" })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{e}");
    assert!(e["message"].as_str().unwrap().contains("no longer serves"), "{e}");

    // A 429 with Retry-After holds relay-b back that long.
    b.set(Mode::Throttled(30), Duration::ZERO);
    let g = generate(&server, &key, json!({ "provider": "relay-b" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!(g["errorCode"], "PROVIDER_UNAVAILABLE", "{g}");
    let e = generate(&server, &key, json!({ "provider": "relay-b" })).await.unwrap_err();
    assert!(e["extensions"]["reason"].as_str().unwrap().contains("Retry-After"), "{e}");
    assert!(e["extensions"]["retryAfter"].as_i64().unwrap() > 20, "{e}");
    // Nothing is left for automatic routing: every candidate says why.
    let e = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{e}");
    assert!(e["message"].as_str().unwrap().contains("relay-b: held back"), "{e}");
}

#[tokio::test]
async fn named_providers_fail_over_only_to_listed_fallbacks_and_only_if_the_credits_cover_it() {
    let mut a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(50));
    b.set(Mode::Up, Duration::from_millis(50));
    // Failures never open a breaker here: each case starts from a clean slate.
    let (server, key) = gateway(&a, &b, 1_000, &[("DOITONG_ROUTING_FAILURE_THRESHOLD", "100")]).await;
    a.stop().await;

    let g = generate(&server, &key, json!({ "provider": "relay-a" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["errorCode"].as_str()), (Some("FAILED"), Some("PROVIDER_UNAVAILABLE")), "{g}");
    assert_eq!(g["attempts"].as_array().unwrap().len(), 1);

    let e = generate(&server, &key, json!({ "fallbacks": ["relay-b"] })).await.unwrap_err();
    assert_eq!(
        (e["extensions"]["code"].as_str(), e["extensions"]["field"].as_str()),
        (Some("INVALID_INPUT"), Some("fallbacks"))
    );
    let e = generate(&server, &key, json!({ "provider": "relay-a", "fallbacks": ["nope"] })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "INVALID_INPUT", "{e}");
    let g = generate(&server, &key, json!({ "provider": "relay-a", "fallbacks": ["relay-b"] })).await.unwrap();
    assert_eq!(g["routing"]["fallbacks"], json!(["relay-b"]));
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-b")), "{g}");

    // COST picks relay-b (4); down, the move to relay-a (10) needs 6 more
    // credits than an account of 7 has left after the reservation.
    a.restart().await;
    b.set(Mode::Throttled(0), Duration::ZERO);
    let (_, poor) = server.account_with_key("poor", 7, false);
    let g = generate(&server, &poor, json!({ "priority": "COST" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b");
    let g = finished(&server, &poor, g["id"].as_str().unwrap()).await;
    assert_eq!(g["errorCode"], "INSUFFICIENT_CREDITS", "{g}");
    assert!(g["error"]["message"].as_str().unwrap().contains("needs 6 more credits"), "{g}");
    assert_eq!(crate::vendors::credits(&server, &poor).await, 7, "the reservation came back");
}

#[tokio::test]
async fn operator_rules_prefer_pin_and_exclude_per_kind_and_priority() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    b.set(Mode::Up, Duration::from_millis(20));
    let config = r#"
        [routing]
        exclude = ["flux-dev"]

        [[routing.rules]]
        kind = "image"
        priority = "quality"
        prefer = ["relay-b"]

        [[routing.rules]]
        kind = "image"
        priority = "balanced"
        exclude = ["relay-a"]
    "#;
    let options = ServerOptions { config_toml: Some(config.into()), ..Default::default() };
    let (server, key) = gateway_with(&a, &b, 1_000, &[], options).await;
    // QUALITY would pick relay-a (90 > 60): the rule prefers relay-b.
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b", "{g}");
    assert!(g["routing"]["reason"].as_str().unwrap().starts_with("preferred by [routing] config"), "{g}");
    assert!(candidate(&g, "flux-dev")["skippedBecause"].as_str().unwrap().contains("excluded"), "{g}");
    // BALANCED excludes relay-a; SPEED has no rule and picks it.
    let g = generate(&server, &key, json!({ "priority": "BALANCED" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b", "{g}");
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("excluded"), "{g}");
    let g = generate(&server, &key, json!({ "priority": "SPEED" })).await.unwrap();
    assert_eq!(g["provider"], "relay-a", "{g}");
}

/// Health is shared through the database: a breaker one node opens keeps
/// the other node's automatic routing away too (PostgreSQL, two servers).
#[tokio::test]
async fn servers_sharing_a_database_share_what_they_saw() {
    let mut a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    b.set(Mode::Up, Duration::from_millis(20));
    let backend = ServerOptions { backend: Some(crate::harness::Backend::Postgres), ..Default::default() };
    let (first, key) = gateway_with(&a, &b, 1_000, &[], backend).await;
    let shared = ServerOptions { database_url: Some(first.database_url.clone()), ..Default::default() };
    let (second, _) = gateway_with(&a, &b, 0, &[], shared).await;
    a.stop().await;
    for _ in 0..2 {
        let g = generate(&first, &key, json!({ "priority": "QUALITY" })).await.unwrap();
        let g = finished(&first, &key, g["id"].as_str().unwrap()).await;
        assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-b")), "{g}");
    }
    until_state(&first, &key, "relay-a", "OPEN").await;
    // The second node never saw relay-a fail, yet it routes around it.
    until_state(&second, &key, "relay-a", "OPEN").await;
    let g = generate(&second, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b", "{g}");
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("circuit OPEN"), "{g}");
    let g = finished(&second, &key, g["id"].as_str().unwrap()).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    // Both nodes agree on the window: two vendor failures for relay-a.
    let health = health_of(&second, &key, "relay-a").await;
    assert_eq!((health["sampleSize"].as_i64(), health["successRate"].as_f64()), (Some(2), Some(0.0)), "{health}");
}

/// A submit slower than the job's lease (1 s here, the vendor takes 3.5 s)
/// is stepped once: the step renews its lease, its node never claims it
/// again, and neither does the other node on the same database.
#[tokio::test]
async fn a_step_longer_than_its_lease_is_not_claimed_twice() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    b.set(Mode::Up, Duration::from_millis(20));
    a.state.lock().unwrap().slow_create = Duration::from_millis(3500);
    let lease = [("DOITONG_JOBS_LEASE_SECS", "1")];
    let backend = ServerOptions { backend: Some(crate::harness::Backend::Postgres), ..Default::default() };
    let (first, key) = gateway_with(&a, &b, 1_000, &lease, backend).await;
    let shared = ServerOptions { database_url: Some(first.database_url.clone()), ..Default::default() };
    let (_second, _) = gateway_with(&a, &b, 0, &lease, shared).await;
    let g = generate(&first, &key, json!({ "provider": "relay-a" })).await.unwrap();
    let id = g["id"].as_str().unwrap().to_string();
    let g = finished(&first, &key, &id).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    let submits = a.tokens().iter().filter(|t| **t == id).count();
    assert_eq!(submits, 1, "the vendor saw {submits} submits of {id}");
    assert_eq!(g["attempts"].as_array().unwrap().len(), 1, "{g}");
}
