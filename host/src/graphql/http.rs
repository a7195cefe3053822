//! HTTP wiring: authentication, the GraphQL endpoints, artifact downloads,
//! health checks.
//!
//! Authentication happens before GraphQL runs: a missing or unknown key is
//! HTTP 401 with a GraphQL-shaped body (`extensions.code: UNAUTHENTICATED`),
//! so clients that only look at `errors` still see why.

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::body::Body;
use axum::extract::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::schema::{DoitongSchema, PreferWait};
use crate::error::{ApiError, ErrorCode};
use crate::jobs::{Caller, Jobs};

/// Longest `Prefer: wait` honoured, in seconds.
pub const MAX_PREFER_WAIT_SECS: u64 = 60;

#[derive(Clone)]
struct AppState {
    schema: DoitongSchema,
    jobs: Jobs,
}

/// The gateway's routes, to serve alone or nest under a prefix.
pub fn router(schema: DoitongSchema, jobs: Jobs) -> Router {
    let state = AppState { schema, jobs };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/files/{id}", get(download))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
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

async fn authenticate(jobs: &Jobs, token: Option<&str>) -> Result<Caller, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "missing API key: send `Authorization: Bearer dt_live_…` or `dt_test_…`",
        ));
    };
    let key = jobs.store().key_by_plaintext(token).await?;
    match key {
        Some(key) => Ok(Caller { account_id: key.account_id, test_mode: key.test_mode }),
        None => Err(ApiError::new(ErrorCode::Unauthenticated, "unknown or revoked API key")),
    }
}

/// `Prefer: wait=N` → N (capped), per RFC 7240.
fn prefer_wait(headers: &HeaderMap) -> Option<u64> {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|p| {
        let (name, value) = p.trim().split_once('=')?;
        if name.trim().eq_ignore_ascii_case("wait") { value.trim().parse::<u64>().ok() } else { None }
    })
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, request: GraphQLRequest) -> Response {
    let caller = match authenticate(&state.jobs, bearer(&headers)).await {
        Ok(c) => c,
        Err(e) => return refusal(e),
    };
    let mut request = request.into_inner().data(caller);
    let wait = prefer_wait(&headers).map(|w| w.min(MAX_PREFER_WAIT_SECS));
    if let Some(w) = wait {
        request = request.data(PreferWait(w));
    }
    let response = state.schema.execute(request).await;
    let mut response = GraphQLResponse::from(response).into_response();
    if let Some(w) = wait
        && let Ok(v) = HeaderValue::from_str(&format!("wait={w}"))
    {
        response.headers_mut().insert("preference-applied", v);
    }
    response
}

async fn graphql_ws(State(state): State<AppState>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    let jobs = state.jobs.clone();
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                // `connection_init` payload: {"Authorization": "Bearer dt_…"}
                let token = payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
                    .and_then(|v| v.as_str())
                    .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim().to_string()));
                let caller =
                    authenticate(&jobs, token.as_deref()).await.map_err(|e| async_graphql::Error::new(e.message))?;
                let mut data = async_graphql::Data::default();
                data.insert(caller);
                Ok(data)
            })
            .serve()
    })
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
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
    let file = match tokio::fs::File::open(store.path_of(&row.path)).await {
        Ok(f) => f,
        Err(_) => return (StatusCode::NOT_FOUND, "file is gone").into_response(),
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let name = format!("{}.{}", row.id, crate::artifacts::extension_for(&row.mime));
    (
        [
            (header::CONTENT_TYPE, row.mime.clone()),
            (header::CONTENT_LENGTH, row.size_bytes.to_string()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        body,
    )
        .into_response()
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
