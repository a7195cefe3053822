//! HTTP wiring: authentication, the GraphQL endpoints, artifact downloads,
//! health checks, `/metrics`; request ids (`X-Request-Id`, taken from the
//! client or made, echoed, and on every log line of the request) and the
//! request metrics.
//!
//! Authentication happens before GraphQL runs: a missing or unknown key is
//! HTTP 401 with a GraphQL-shaped body (`extensions.code: UNAUTHENTICATED`),
//! so clients that only look at `errors` still see why.

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLProtocol;
use axum::Router;
use axum::body::Body;
use axum::extract::WebSocketUpgrade;
use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::schema::{DoitongSchema, IdempotentGeneration, PreferWait};
use crate::error::{ApiError, ErrorCode};
use crate::jobs::{Caller, Jobs};
use crate::limits::{Counters, Decision};
use crate::metrics::{Metrics, Operation};
use crate::store::jobs::IdempotencyTake;
use crate::store::{Account, Claim};

/// Longest `Prefer: wait` honoured, in seconds.
pub const MAX_PREFER_WAIT_SECS: u64 = 60;
/// The window of the per-minute limits.
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Longest accepted Idempotency-Key.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// How long a crashed request can hold its Idempotency-Key. A running
/// request renews its claim every quarter of this (a heartbeat), so a slow
/// request keeps it however long it runs.
const IDEMPOTENCY_LOCK_MS: i64 = 120_000;

#[derive(Clone)]
struct AppState {
    schema: DoitongSchema,
    jobs: Jobs,
    counters: Arc<Counters>,
    unknown_keys: Arc<UnknownKeys>,
}

/// Keys recently found unknown (by hash), so a flood of made-up keys costs
/// no database query after the first of each.
#[derive(Default)]
pub(super) struct UnknownKeys {
    seen: std::sync::Mutex<std::collections::HashMap<[u8; 32], Instant>>,
}

impl UnknownKeys {
    /// How long an unknown key is remembered.
    const TTL: Duration = Duration::from_secs(60);
    /// Most keys remembered (then the stale ones are dropped, or all).
    const CAPACITY: usize = 10_000;

    fn hash(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn is_known_bad(&self, token: &str) -> bool {
        let seen = self.seen.lock().expect("never poisoned");
        seen.get(&Self::hash(token)).is_some_and(|at| at.elapsed() < Self::TTL)
    }

    fn remember(&self, token: &str) {
        let mut seen = self.seen.lock().expect("never poisoned");
        if seen.len() >= Self::CAPACITY {
            seen.retain(|_, at| at.elapsed() < Self::TTL);
            if seen.len() >= Self::CAPACITY {
                seen.clear();
            }
        }
        seen.insert(Self::hash(token), Instant::now());
    }
}

/// The gateway's routes, to serve alone or nest under a prefix.
pub fn router(schema: DoitongSchema, jobs: Jobs, counters: Arc<Counters>) -> Router {
    let metrics = jobs.metrics().clone();
    let limits = jobs.config().limits.clone();
    let by_address = AddressLimit { counters: Arc::new(Counters::memory()), failures: limits.auth_failures_per_ip };
    let state = AppState { schema, jobs, counters, unknown_keys: Arc::default() };
    let span = |request: &axum::extract::Request| {
        let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/files/{id}", get(download))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(by_address, limit_by_address))
        .route_layer(middleware::from_fn_with_state(metrics, record_request))
        .layer(axum::extract::DefaultBodyLimit::max(limits.body_mib.max(1) << 20))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(Duration::from_secs(limits.body_timeout_secs.max(1))))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(span))
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
}

/// Failed authentications per minute from one peer address (this node's count).
#[derive(Clone)]
struct AddressLimit {
    counters: Arc<Counters>,
    failures: u32,
}

/// Refuse a peer whose requests failed authentication more than
/// `limits.auth_failures_per_ip` times this minute, before its key is even
/// looked up, so guessing keys costs the database nothing. Counts the 401s
/// of requests served by [`crate::server::serve`] (an embedding server that
/// does not record the peer is not limited here).
async fn limit_by_address(
    State(limit): State<AddressLimit>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let Some(peer) = crate::server::peer(&request).filter(|_| limit.failures > 0) else {
        return next.run(request).await;
    };
    let key = format!("auth-failures:{}", peer.ip());
    if let Ok(d) = limit.counters.peek(&key, limit.failures, RATE_WINDOW).await
        && d.count >= limit.failures
    {
        let retry = d.reset.as_secs().max(1);
        let error = ApiError::new(
            ErrorCode::RateLimit,
            format!("too many failed authentications from this address ({} a minute); retry in {retry} s", d.limit),
        )
        .with("limit", "auth_failures_per_ip")
        .with("retryAfter", retry);
        let mut response = refusal(error);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return response;
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        let _ = limit.counters.hit(&key, limit.failures, RATE_WINDOW).await;
    }
    response
}

/// Count and time every routed request, labelled with its route and the
/// [`Operation`] the handler reported.
async fn record_request(
    State(metrics): State<Metrics>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| route_label(p.as_str()));
    let started = Instant::now();
    let response = next.run(request).await;
    let operation = response.extensions().get::<Operation>().copied().unwrap_or(Operation::Other);
    metrics.request(route, operation, response.status().as_u16(), started.elapsed());
    response
}

/// A bounded label for a matched route (the router may be nested under a
/// prefix, so match the end).
fn route_label(path: &str) -> &'static str {
    const ROUTES: [(&str, &str); 6] = [
        ("/graphql/ws", "graphql_ws"),
        ("/graphql", "graphql"),
        ("/files/{id}", "files"),
        ("/healthz", "healthz"),
        ("/readyz", "readyz"),
        ("/metrics", "metrics"),
    ];
    ROUTES.iter().find(|(route, _)| path.ends_with(route)).map_or("other", |(_, label)| label)
}

fn loaded_plugins(jobs: &Jobs) -> usize {
    let snapshot = jobs.registry().snapshot();
    snapshot.plugins.values().filter(|r| r.state == crate::plugins::PluginState::Loaded).count()
}

/// `GET /metrics`: OpenMetrics text, with the generations waiting and
/// running read from the database now.
async fn metrics_text(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = &state.jobs.config().metrics;
    if !config.enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    if config.token.is_empty() && !state.jobs.config().listen.ip().is_loopback() {
        let message = "set metrics.token: /metrics needs a token when the server listens beyond loopback";
        return (StatusCode::UNAUTHORIZED, message).into_response();
    }
    if !config.token.is_empty()
        && !bearer(&headers).is_some_and(|t| constant_time_eq(t.as_bytes(), config.token.as_bytes()))
    {
        let mut response =
            (StatusCode::UNAUTHORIZED, "metrics need `Authorization: Bearer <metrics.token>`").into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let metrics = state.jobs.metrics();
    match state.jobs.store().active_job_counts().await {
        Ok(counts) => metrics.set_current(counts, loaded_plugins(&state.jobs)),
        Err(e) => tracing::warn!("metrics: counting active generations failed: {e}"),
    }
    metrics.set_offering_health(&state.jobs.offering_gauges());
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], metrics.render()).into_response()
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("graphql").subscription_endpoint("graphql/ws").finish())
}

fn refusal(error: ApiError) -> Response {
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "data": null, "errors": [error.to_json()] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub(super) async fn authenticate(jobs: &Jobs, unknown: &UnknownKeys, token: Option<&str>) -> Result<Caller, ApiError> {
    authenticate_account(jobs, unknown, token).await.map(|(caller, _)| caller)
}

async fn authenticate_account(
    jobs: &Jobs,
    unknown: &UnknownKeys,
    token: Option<&str>,
) -> Result<(Caller, Account), ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "missing API key: send `Authorization: Bearer dt_live_…` or `dt_test_…`",
        ));
    };
    let refused = || ApiError::new(ErrorCode::Unauthenticated, "unknown or revoked API key");
    if unknown.is_known_bad(token) {
        return Err(refused());
    }
    let key = jobs.store().key_by_plaintext(token).await?;
    let Some(key) = key else {
        unknown.remember(token);
        return Err(refused());
    };
    let account = jobs.store().account(&key.account_id).await?;
    let account =
        account.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the key's account no longer exists"))?;
    Ok((Caller { account_id: key.account_id, test_mode: key.test_mode }, account))
}

/// `Prefer: wait=N` → N (capped), per RFC 7240.
fn prefer_wait(headers: &HeaderMap) -> Option<u64> {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|p| {
        let (name, value) = p.trim().split_once('=')?;
        if name.trim().eq_ignore_ascii_case("wait") { value.trim().parse::<u64>().ok() } else { None }
    })
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut operation = Operation::Query;
    let mut response = answer(&state, &headers, &body, &mut operation).await;
    response.extensions_mut().insert(operation);
    response
}

/// Answer a `POST /graphql`; `operation` is set as soon as it is known.
async fn answer(state: &AppState, headers: &HeaderMap, body: &Bytes, operation: &mut Operation) -> Response {
    let body = body.as_ref();
    let admin_token = &state.jobs.config().admin_token;
    if !admin_token.is_empty()
        && bearer(headers).is_some_and(|t| constant_time_eq(t.as_bytes(), admin_token.as_bytes()))
    {
        *operation = Operation::Admin;
        return admin_request(state, body).await;
    }
    let (caller, account) = match authenticate_account(&state.jobs, &state.unknown_keys, bearer(headers)).await {
        Ok(found) => found,
        Err(e) => return refusal(e),
    };
    let request: async_graphql::Request = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return refusal(ApiError::invalid("body", format!("the body is not a GraphQL request: {e}"))),
    };
    let shape = inspect(&request);
    *operation = shape.operation;
    let operation = *operation;
    let write = operation != Operation::Query;
    let max_roots = state.jobs.config().limits.graphql_root_fields;
    if shape.roots > max_roots {
        return refusal(
            ApiError::invalid(
                "query",
                format!(
                    "the operation has {} root fields (aliases included); at most {max_roots} are allowed (limits.graphql_root_fields)",
                    shape.roots
                ),
            )
            .with("limit", "graphql_root_fields"),
        );
    }
    // Every root field of a mutation is one write.
    let cost = if write { u32::try_from(shape.roots.max(1)).unwrap_or(u32::MAX) } else { 1 };

    // Plan limits: writes against the plan's RPM, reads against `limits.read_rpm`.
    let plan = state.jobs.limits_for(&account);
    // An unlimited plan (enterprise) is unlimited for reads too.
    let read_rpm = plan.rpm.map(|_| state.jobs.config().limits.read_rpm);
    let (limit, policy) = if write { (plan.rpm, "writes") } else { (read_rpm, "reads") };
    let decision = match limit {
        Some(limit) => {
            let key = format!("{}:{policy}", caller.account_id);
            match state.counters.hit_n(&key, cost, limit, RATE_WINDOW).await {
                Ok(d) => Some(d),
                Err(e) => {
                    // Fail open: an unreachable Redis must not take the API down.
                    tracing::error!("rate-limit counter unavailable, request allowed: {e}");
                    None
                }
            }
        }
        None => None,
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        state.jobs.metrics().rate_limited(if write { "rpm" } else { "read_rpm" });
        let retry = d.reset.as_secs().max(1);
        let asked = if cost > 1 { format!(" (this request is {cost} writes)") } else { String::new() };
        let error = ApiError::new(
            ErrorCode::RateLimit,
            format!(
                "the plan allows {} {policy} per minute{asked}; retry in {retry} s (see X-RateLimit-Reset)",
                d.limit
            ),
        )
        .with("limit", if write { "rpm" } else { "read_rpm" })
        .with("retryAfter", retry);
        let mut response = refusal(error);
        rate_headers(response.headers_mut(), &d, policy);
        return response;
    }

    // Idempotency-Key, for mutations only (reads are naturally idempotent).
    let idempotency_key = match headers.get("idempotency-key").map(|v| v.to_str().map(str::trim)) {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN => Some(k.to_string()),
        Some(_) => {
            let mut response = refusal(ApiError::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
            ));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    }
    .filter(|_| write);
    // `Prefer: wait` applies to starting generations (mutations) only.
    let wait = prefer_wait(headers).filter(|_| write).map(|w| w.min(MAX_PREFER_WAIT_SECS));
    let idempotency = idempotency_key.map(|key| {
        let ttl_ms = i64::from(state.jobs.config().limits.idempotency_hours) * 3_600_000;
        Idempotency { hash: request_hash(body), key, ttl_ms, owner: uuid::Uuid::new_v4().simple().to_string() }
    });
    // A request that starts one generation (and does not wait for it) takes
    // its key inside the generation's own transaction: no extra statement.
    // Anything else claims the key first and stores its response after.
    let in_transaction = operation == Operation::Generate && wait.is_none();
    let lock_ms = i64::try_from(state.jobs.config().limits.idempotency_lock_ms).unwrap_or(IDEMPOTENCY_LOCK_MS);
    let mut extra = None;
    match &idempotency {
        Some(idem) if in_transaction => {
            extra = Some(IdempotentGeneration::Take(IdempotencyTake {
                key: idem.key.clone(),
                request_hash: idem.hash.clone(),
                ttl_ms: idem.ttl_ms,
            }));
        }
        Some(idem) => {
            let claim = state
                .jobs
                .store()
                .claim_idempotency(&caller.account_id, &idem.key, &idem.hash, &idem.owner, lock_ms, idem.ttl_ms)
                .await;
            match claim {
                Err(e) => return refusal(e.into()),
                Ok(Claim::Acquired) => {}
                Ok(answer) => {
                    let mut response = answer_from_record(state, &caller, body, answer).await;
                    if let Some(d) = &decision {
                        rate_headers(response.headers_mut(), d, policy);
                    }
                    return response;
                }
            }
        }
        None => {}
    }

    let execution = state.schema.execute(graphql_request(request, &caller, wait, extra));
    let result = match idempotency.as_ref().filter(|_| !in_transaction) {
        // Keep the claim while the request runs, however long that is.
        Some(idem) => {
            let heartbeat = async {
                let every = Duration::from_millis((lock_ms / 4).max(50) as u64);
                loop {
                    tokio::time::sleep(every).await;
                    let until = crate::store::now_ms() + lock_ms;
                    if let Err(e) =
                        state.jobs.store().renew_idempotency(&caller.account_id, &idem.key, &idem.owner, until).await
                    {
                        tracing::warn!("renewing an Idempotency-Key claim failed: {e}");
                    }
                }
            };
            tokio::select! {
                result = execution => result,
                () = heartbeat => unreachable!("the heartbeat never ends"),
            }
        }
        None => execution.await,
    };
    let rate_limited = result.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        (ext.get("code")? == &async_graphql::Value::from("RATE_LIMIT")).then(|| match ext.get("retryAfter") {
            Some(async_graphql::Value::Number(n)) => n.as_u64().unwrap_or(1),
            _ => 1,
        })
    });
    let status = if rate_limited.is_some() { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::OK };
    let response_body =
        serde_json::to_string(&result).unwrap_or_else(|e| format!("{{\"errors\":[{{\"message\":\"{e}\"}}]}}"));

    if let Some(idem) = &idempotency {
        let store = state.jobs.store();
        if in_transaction && has_code(&result, ErrorCode::IdempotencyInProgress) {
            // Another request with this key was accepted first: answer as it was.
            let answer = store.idempotency_answer(&caller.account_id, &idem.key, &idem.hash, idem.ttl_ms).await;
            let mut response = match answer {
                Ok(answer) => answer_from_record(state, &caller, body, answer.unwrap_or(Claim::InProgress)).await,
                Err(e) => refusal(e.into()),
            };
            if let Some(d) = &decision {
                rate_headers(response.headers_mut(), d, policy);
            }
            return response;
        }
        // A 429 that changed nothing is not stored: the client may retry it
        // with the same key. One where another root field already did
        // something (a generation created, then the next one refused) is
        // stored like any answer, so a retry cannot do that something twice.
        let changed_something = matches!(&result.data,
            async_graphql::Value::Object(fields) if fields.values().any(|v| *v != async_graphql::Value::Null));
        let stored = match (status == StatusCode::TOO_MANY_REQUESTS, in_transaction) {
            (true, true) => Ok(()),
            (true, false) if !changed_something => {
                store.release_idempotency(&caller.account_id, &idem.key, &idem.owner).await
            }
            (true, false) => {
                store
                    .complete_idempotency(&caller.account_id, &idem.key, &idem.owner, status.as_u16(), &response_body)
                    .await
            }
            // Accepted: recorded by its transaction. Refused: store the answer.
            (false, true) if result.errors.is_empty() => Ok(()),
            (false, true) => {
                store
                    .record_idempotent_response(
                        &caller.account_id,
                        &idem.key,
                        &idem.hash,
                        (200, &response_body),
                        idem.ttl_ms,
                    )
                    .await
            }
            (false, false) => {
                store
                    .complete_idempotency(&caller.account_id, &idem.key, &idem.owner, status.as_u16(), &response_body)
                    .await
            }
        };
        if let Err(e) = stored {
            tracing::error!("storing the idempotent response failed: {e}");
        }
    }

    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], response_body).into_response();
    let h = response.headers_mut();
    if let Some(d) = &decision {
        rate_headers(h, d, policy);
    }
    if let Some(retry) = rate_limited {
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
    if let Some(w) = wait
        && let Ok(v) = HeaderValue::from_str(&format!("wait={w}"))
    {
        h.insert("preference-applied", v);
    }
    response
}

/// An operator request with the admin token: no plan limits, no idempotency.
async fn admin_request(state: &AppState, body: &[u8]) -> Response {
    let request: async_graphql::Request = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return refusal(ApiError::invalid("body", format!("the body is not a GraphQL request: {e}"))),
    };
    let result = state.schema.execute(request.data(super::schema::Admin)).await;
    let body = serde_json::to_string(&result).unwrap_or_default();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a request asks for, as far as limits, idempotency and metrics care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    /// A query (or a document that does not parse: execution reports it),
    /// a mutation, or a mutation whose only root field starts one generation.
    operation: Operation,
    /// Root fields of the operation, aliases and fragments included
    /// (`__typename` excepted).
    roots: usize,
}

/// The [`Shape`] of a request.
fn inspect(request: &async_graphql::Request) -> Shape {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let unknown = Shape { operation: Operation::Query, roots: 0 };
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else { return unknown };
    let operation = match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    let Some(operation) = operation else { return unknown };
    // Root fields, looking through fragments (a few levels: fragments that
    // nest deeper are refused by validation or the depth limit anyway).
    fn roots<'a>(
        set: &'a async_graphql::parser::types::SelectionSet,
        doc: &'a async_graphql::parser::types::ExecutableDocument,
        depth: usize,
        out: &mut Vec<&'a str>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) if f.node.name.node != "__typename" => out.push(f.node.name.node.as_str()),
                Selection::Field(_) => {}
                Selection::InlineFragment(f) if depth < 4 => roots(&f.node.selection_set.node, doc, depth + 1, out),
                Selection::FragmentSpread(s) if depth < 4 => {
                    if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                        roots(&f.node.selection_set.node, doc, depth + 1, out);
                    }
                }
                _ => out.push("…"),
            }
        }
    }
    let mut names = Vec::new();
    roots(&operation.node.selection_set.node, &doc, 0, &mut names);
    let kind = match operation.node.ty {
        OperationType::Mutation if names.len() == 1 && ["generate", "videoCreate"].contains(&names[0]) => {
            Operation::Generate
        }
        OperationType::Mutation => Operation::Mutation,
        _ => Operation::Query,
    };
    Shape { operation: kind, roots: names.len() }
}

/// A request's Idempotency-Key with what it is checked against.
struct Idempotency {
    key: String,
    hash: String,
    ttl_ms: i64,
    /// This request's claim token.
    owner: String,
}

/// The GraphQL request with the caller and per-request settings attached.
fn graphql_request(
    request: async_graphql::Request,
    caller: &Caller,
    wait: Option<u64>,
    idempotent: Option<IdempotentGeneration>,
) -> async_graphql::Request {
    let mut request = request.data(caller.clone());
    if let Some(w) = wait {
        request = request.data(PreferWait(w));
    }
    if let Some(idempotent) = idempotent {
        request = request.data(idempotent);
    }
    request
}

fn has_code(response: &async_graphql::Response, code: ErrorCode) -> bool {
    let code = async_graphql::Value::from(code.as_str());
    response.errors.iter().any(|e| e.extensions.as_ref().and_then(|ext| ext.get("code")) == Some(&code))
}

/// The answer to a request whose Idempotency-Key another request holds.
async fn answer_from_record(state: &AppState, caller: &Caller, request_body: &[u8], answer: Claim) -> Response {
    let replayed = |mut response: Response| {
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    };
    match answer {
        Claim::Mismatch => refusal(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different request; use a new key for a new request",
        )),
        Claim::Acquired | Claim::InProgress => refusal(ApiError::new(
            ErrorCode::IdempotencyInProgress,
            "a request with this Idempotency-Key is still running; retry shortly to get its response",
        )),
        Claim::Replay { status, body } => {
            replayed((StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response())
        }
        Claim::Accepted { job_id } => {
            // The same request (the hash matched) rendered over the generation as accepted.
            let Ok(request) = serde_json::from_slice::<async_graphql::Request>(request_body) else {
                return refusal(ApiError::invalid("body", "the body is not a GraphQL request"));
            };
            let request = graphql_request(request, caller, None, Some(IdempotentGeneration::Replay { job_id }));
            let result = state.schema.execute(request).await;
            replayed((StatusCode::OK, serde_json::to_string(&result).unwrap_or_default()).into_response())
        }
    }
}

/// SHA-256 of the request body with object keys sorted, so the same request
/// serialised in another key order still matches its Idempotency-Key.
fn request_hash(body: &[u8]) -> String {
    fn canonical(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: std::collections::BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(canonical).collect()),
            other => other,
        }
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => canonical(v).to_string(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `X-RateLimit-*` and the IETF `RateLimit-Policy` / `RateLimit` fields.
fn rate_headers(h: &mut HeaderMap, d: &Decision, policy: &str) {
    let reset = d.reset.as_millis().div_ceil(1000).max(1);
    let window = RATE_WINDOW.as_secs();
    let pairs = [
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("ratelimit-policy", format!("\"{policy}\";q={};w={window}", d.limit)),
        ("ratelimit", format!("\"{policy}\";r={};t={reset}", d.remaining)),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    if !d.allowed {
        h.insert(header::RETRY_AFTER, HeaderValue::from(reset as u64));
    }
}

async fn graphql_ws(State(state): State<AppState>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    super::socket::upgrade(state.schema.clone(), state.jobs.clone(), state.unknown_keys.clone(), protocol, upgrade)
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let store = state.jobs.artifacts();
    let exp = query.get("exp").and_then(|e| e.parse::<i64>().ok());
    let (Some(exp), Some(sig)) = (exp, query.get("sig")) else {
        return (StatusCode::FORBIDDEN, "missing signature").into_response();
    };
    if !store.verify(&id, exp, sig) {
        return (StatusCode::FORBIDDEN, "invalid or expired link").into_response();
    }
    let row = match state.jobs.store().artifact(&id).await {
        Ok(Some(row)) => row,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such file").into_response(),
        Err(e) => return refusal(e.into()),
    };
    let size = row.size_bytes.max(0) as u64;
    // One range is served as 206; several (rare) get the whole file.
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(value) => match http_range_header::parse_range_header(value).and_then(|r| r.validate(size)) {
            Ok(ranges) if ranges.len() == 1 => Some(*ranges[0].start()..*ranges[0].end() + 1),
            Ok(_) => None,
            Err(_) => {
                return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{size}"))])
                    .into_response();
            }
        },
    };
    let (body, range) = match store.download(&row.path, size, range).await {
        Ok(crate::artifacts::Download::Redirect(url)) => {
            return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, url)]).into_response();
        }
        Ok(crate::artifacts::Download::Bytes { body, range, .. }) => (body, range),
        Err(crate::artifacts::ArtifactError::Objects(object_store::Error::NotFound { .. })) => {
            return (StatusCode::NOT_FOUND, "file is gone").into_response();
        }
        Err(e) => {
            tracing::error!(artifact = %row.id, "reading the artifact failed: {e}");
            return (StatusCode::BAD_GATEWAY, "the artifact store failed").into_response();
        }
    };
    let name = format!("{}.{}", row.id, crate::artifacts::extension_for(&row.mime));
    let (status, length) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, size),
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, row.mime.clone()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::ACCEPT_RANGES, "bytes".to_string()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
            // Outputs come from plugins and vendors: never let a browser
            // run them as active content on the gateway's origin.
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"
                    .to_string(),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response();
    if let Some(r) = range {
        let value = format!("bytes {}-{}/{size}", r.start, r.end - 1);
        response.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&value).expect("ASCII"));
    }
    response
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.jobs.store().has_accounts().await {
        Ok(_) => "ready".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer dt_test_x"));
        h.insert("prefer", HeaderValue::from_static("respond-async, wait=15"));
        assert_eq!(bearer(&h), Some("dt_test_x"));
        assert_eq!(prefer_wait(&h), Some(15));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
