//! HTTP wiring: authentication, the GraphQL endpoints, artifact downloads,
//! health checks, `/metrics`; request ids (`X-Request-Id`, taken from the
//! client or made, echoed, and on every log line of the request) and the
//! request metrics.
//!
//! Authentication happens before GraphQL runs: a missing or unknown key is
//! HTTP 401 with a GraphQL-shaped body (`extensions.code: UNAUTHENTICATED`),
//! so clients that only look at `errors` still see why.

use async_graphql_axum::GraphQLProtocol;
use axum::Router;
use axum::body::Body;
use axum::extract::WebSocketUpgrade;
use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::schema::{Admin, DoitongSchema, Lenient, PreferWait};
use crate::admission::{self, Admission, Ask, Earlier, IdempotentGeneration, Identity, Outcome, Ran, Rate, Refusal};
use crate::admission::{RATE_WINDOW, Transport};
use crate::error::{ApiError, ErrorCode};
use crate::jobs::{Caller, Jobs};
use crate::limits::{Counters, Decision};
use crate::metrics::{Metrics, Operation};

#[derive(Clone)]
struct AppState {
    schema: DoitongSchema,
    jobs: Jobs,
    admission: Admission,
}

/// The gateway's routes, to serve alone or nest under a prefix.
pub fn router(schema: DoitongSchema, jobs: Jobs, counters: Arc<Counters>) -> Router {
    let metrics = jobs.metrics().clone();
    let limits = jobs.config().limits.clone();
    let cors_origins = jobs.config().http.cors_origins.clone();
    let by_address = AddressLimit { counters: Arc::new(Counters::memory()), failures: limits.auth_failures_per_ip };
    let admission = Admission::new(jobs.clone(), counters);
    let state = AppState { schema, jobs, admission };
    let span = |request: &axum::extract::Request| {
        let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
    };
    Router::new()
        .route("/", get(super::assets::console))
        .route("/console/{name}", get(super::assets::console_asset))
        .route("/graphql", get(super::assets::graphiql).post(graphql))
        .route("/assets/graphiql/{name}", get(super::assets::graphiql_asset))
        .route("/graphql/ws", get(graphql_ws))
        .route("/files/{id}", get(download))
        .route("/uploads", post(upload).layer(axum::extract::DefaultBodyLimit::disable()))
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
                .layer(PropagateRequestIdLayer::x_request_id())
                .option_layer(cors(&cors_origins)),
        )
}

/// CORS for `http.cors_origins` (none: no CORS headers, browsers keep
/// other origins out). Preflights are answered here, before routing and
/// authentication; the API key travels in `Authorization`, never a cookie,
/// so credentials mode is not needed.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let headers = ["authorization", "content-type", "idempotency-key", "prefer", "x-request-id"];
    let exposed = [
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "idempotent-replayed",
        "preference-applied",
        "content-range",
        "etag",
    ];
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST, axum::http::Method::HEAD])
            .allow_headers(headers.map(header::HeaderName::from_static))
            .expose_headers(exposed.map(header::HeaderName::from_static))
            .max_age(Duration::from_secs(600)),
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
        let mut response = refusal(error.into());
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
        && !bearer(&headers).is_some_and(|t| admission::secret_eq(t.as_bytes(), config.token.as_bytes()))
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

/// A refused request as a GraphQL-shaped response, with its status and
/// rate-limit headers.
fn refusal(refused: Refusal) -> Response {
    let status = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "data": null, "errors": [refused.error.to_json()] });
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    // Daily and queue refusals say when to come back in the error itself.
    if let Some(retry) = refused.error.details.get("retryAfter").and_then(serde_json::Value::as_u64) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
    with_rate(response, refused.rate.as_ref())
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether a `Prefer` header asks for `name=value` (RFC 7240).
fn prefers(headers: &HeaderMap, name: &str, value: &str) -> bool {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|p| {
        p.split(';').next().and_then(|p| p.trim().split_once('=')).is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case(name) && v.trim().trim_matches('"').eq_ignore_ascii_case(value)
        })
    })
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
    let principal = match state.admission.identify(bearer(headers)).await {
        Ok(Identity::Operator) => {
            *operation = Operation::Admin;
            return admin_request(state, body).await;
        }
        Ok(Identity::Key(principal)) => principal,
        Err(refused) => return refusal(refused),
    };
    let request: async_graphql::Request = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return refusal(ApiError::invalid("body", format!("the body is not a GraphQL request: {e}")).into());
        }
    };
    let shape = admission::inspect(&request.query, request.operation_name.as_deref());
    *operation = shape.operation();
    let ask = Ask {
        shape,
        transport: Transport::Http,
        idempotency_key: headers.get("idempotency-key").map(HeaderValue::as_bytes),
        body,
        prefer_wait: prefer_wait(headers),
    };
    let ticket = match state.admission.admit(&principal, ask).await {
        Outcome::Run(ticket) => ticket,
        Outcome::Answered { earlier, caller, rate } => {
            return with_rate(answer_from_record(state, &caller, body, earlier).await, rate.as_ref());
        }
        Outcome::Refused(refused) => return refusal(refused),
    };

    // `Prefer: handling=lenient` (RFC 7240) adjusts a mutation's options instead of refusing them.
    let lenient = (shape.is_write() && prefers(headers, "handling", "lenient")).then(Lenient::default);
    let mut request = graphql_request(request, &ticket.caller, ticket.wait, ticket.generation.clone());
    if let Some(lenient) = &lenient {
        request = request.data(lenient.clone());
    }
    let mut result = state.admission.hold(&ticket, state.schema.execute(request)).await;
    if let Some(lenient) = &lenient {
        let warnings = lenient.0.lock().expect("never poisoned").clone();
        let warnings = serde_json::to_value(warnings).unwrap_or_default();
        result.extensions.insert("warnings".into(), async_graphql::Value::from_json(warnings).unwrap_or_default());
    }
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
    let ran = Ran {
        rate_limited: rate_limited.is_some(),
        changed_something: matches!(&result.data,
            async_graphql::Value::Object(fields) if fields.values().any(|v| *v != async_graphql::Value::Null)),
        has_errors: !result.errors.is_empty(),
        lost_race: has_code(&result, ErrorCode::IdempotencyInProgress),
        status: status.as_u16(),
    };
    if let Some(earlier) = state.admission.settle(&ticket, ran, &response_body).await {
        // Another request with this key was accepted first: answer as it was.
        return with_rate(answer_from_record(state, &ticket.caller, body, earlier).await, ticket.rate.as_ref());
    }

    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], response_body).into_response();
    let h = response.headers_mut();
    if let Some(retry) = rate_limited {
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
    let applied: Vec<String> = ticket
        .wait
        .map(|w| format!("wait={w}"))
        .into_iter()
        .chain(lenient.map(|_| "handling=lenient".into()))
        .collect();
    if !applied.is_empty()
        && let Ok(v) = HeaderValue::from_str(&applied.join(", "))
    {
        h.insert("preference-applied", v);
    }
    with_rate(response, ticket.rate.as_ref())
}

/// An operator request with the admin token: no plan limits, no idempotency.
async fn admin_request(state: &AppState, body: &[u8]) -> Response {
    let request: async_graphql::Request = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return refusal(ApiError::invalid("body", format!("the body is not a GraphQL request: {e}")).into());
        }
    };
    if let Err(refused) = admission::check_size(&admission::inspect(&request.query, None)) {
        return refusal(refused.into());
    }
    let result = state.schema.execute(request.data(Admin)).await;
    let body = serde_json::to_string(&result).unwrap_or_default();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
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

/// The answer an earlier request with the same Idempotency-Key left.
async fn answer_from_record(state: &AppState, caller: &Caller, request_body: &[u8], earlier: Earlier) -> Response {
    let replayed = |mut response: Response| {
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    };
    match earlier {
        Earlier::Refused(error) => refusal(error.into()),
        Earlier::Replay { status, body } => {
            replayed((StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response())
        }
        Earlier::Accepted { job_id } => {
            // The same request (the hash matched) rendered over the generation as accepted.
            let Ok(request) = serde_json::from_slice::<async_graphql::Request>(request_body) else {
                return refusal(ApiError::invalid("body", "the body is not a GraphQL request").into());
            };
            let request = graphql_request(request, caller, None, Some(IdempotentGeneration::Replay { job_id }));
            let result = state.schema.execute(request).await;
            replayed((StatusCode::OK, serde_json::to_string(&result).unwrap_or_default()).into_response())
        }
    }
}

/// `response` with the rate-limit headers of the window it was counted in.
fn with_rate(mut response: Response, rate: Option<&Rate>) -> Response {
    if let Some(rate) = rate {
        rate_headers(response.headers_mut(), &rate.decision, rate.policy);
    }
    response
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
    super::socket::upgrade(state.schema.clone(), state.jobs.clone(), state.admission.clone(), protocol, upgrade)
}

/// A file `/files/…` serves: a generation's output, or an upload until it expires.
struct StoredFile {
    id: String,
    path: String,
    mime: String,
    size_bytes: i64,
}

async fn stored_file(state: &AppState, id: &str) -> Result<Option<StoredFile>, crate::store::StoreError> {
    let store = state.jobs.store();
    if crate::jobs::media::is_upload_id(id) {
        let upload = store.upload(id).await?.filter(|u| u.expires_at > crate::store::now_ms());
        return Ok(upload.map(|u| StoredFile { id: u.id, path: u.path, mime: u.mime, size_bytes: u.size_bytes }));
    }
    let artifact = store.artifact(id).await?;
    Ok(artifact.map(|a| StoredFile { id: a.id, path: a.path, mime: a.mime, size_bytes: a.size_bytes }))
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
    let row = match stored_file(&state, &id).await {
        Ok(Some(row)) => row,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such file").into_response(),
        Err(e) => return refusal(ApiError::from(e).into()),
    };
    let size = row.size_bytes.max(0) as u64;
    // Outputs never change once stored: the id and size name the bytes.
    let etag = format!("\"{}-{size}\"", row.id);
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
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
            (header::ETAG, etag),
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

/// `POST /uploads`: the file as the raw body (any `Content-Type`) or as
/// the `file` part of `multipart/form-data`; answers 201 with the upload's
/// id (`input.image: "upload_…"`), a signed URL, its type, size and expiry.
/// Counts as one write against the plan's RPM.
async fn upload(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let rest = |refused: Refusal| {
        let status = match refused.error.code {
            ErrorCode::InvalidInput if refused.error.details.contains_key("maxBytes") => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
            _ => StatusCode::from_u16(refused.status).unwrap_or(StatusCode::BAD_REQUEST),
        };
        let mut response = refusal(refused);
        *response.status_mut() = status;
        response
    };
    let principal = match state.admission.authenticate(bearer(&headers)).await {
        Ok(principal) => principal,
        Err(refused) => return rest(refused),
    };
    let shape = admission::Shape { kind: admission::Kind::Mutation, roots: 1, starts: 0, oversized: None };
    let ask = Ask { shape, transport: Transport::Http, idempotency_key: None, body: &[], prefer_wait: None };
    let ticket = match state.admission.admit(&principal, ask).await {
        Outcome::Run(ticket) => ticket,
        Outcome::Refused(refused) => return rest(refused),
        Outcome::Answered { .. } => unreachable!("an upload carries no Idempotency-Key"),
    };
    let cap = state.jobs.config().artifacts.upload_max_mib.max(1) << 20;
    let too_large = || {
        let error = ApiError::invalid(
            "body",
            format!("the upload is larger than {} MiB (artifacts.upload_max_mib)", cap >> 20),
        )
        .with("limit", "upload_max_mib")
        .with("maxBytes", cap);
        rest(error.into())
    };
    // Multipart framing adds a little; the file itself is checked against the cap.
    let raw = match axum::body::to_bytes(body, (cap + (64 << 10)) as usize).await {
        Ok(raw) => raw,
        Err(_) => return too_large(),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let bytes = match multer::parse_boundary(content_type) {
        Ok(boundary) => match multipart_file(raw, boundary).await {
            Ok(bytes) => bytes,
            Err(message) => return rest(ApiError::invalid("file", message).into()),
        },
        Err(_) => raw,
    };
    let row = match state.jobs.upload(&ticket.caller, &bytes).await {
        Ok(row) => row,
        Err(error) => return rest(error.into()),
    };
    let expires = time::OffsetDateTime::from_unix_timestamp(row.expires_at / 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
    let answer = serde_json::json!({
        "id": row.id,
        "url": state.jobs.upload_url(&row),
        "mimeType": row.mime,
        "sizeBytes": row.size_bytes,
        "expiresAt": expires,
    });
    let response =
        (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response();
    with_rate(response, ticket.rate.as_ref())
}

/// The `file` part (or the first part with a file name) of a multipart body.
async fn multipart_file(raw: Bytes, boundary: String) -> Result<Bytes, String> {
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(raw) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Some(field) = multipart.next_field().await.map_err(|e| format!("unreadable multipart body: {e}"))? {
        if field.name() == Some("file") || field.file_name().is_some() {
            return field.bytes().await.map_err(|e| format!("unreadable multipart body: {e}"));
        }
    }
    Err("the multipart body has no `file` part".into())
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.jobs.store().has_accounts().await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::error!("readiness: the database did not answer: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database did not answer (see the server log)")
                .into_response()
        }
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
        assert!(!prefers(&h, "handling", "lenient"));
        h.append("prefer", HeaderValue::from_static("handling=lenient"));
        assert!(prefers(&h, "handling", "lenient") && !prefers(&h, "handling", "strict"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
