//! `/graphql/ws`: subscriptions over WebSocket (`graphql-transport-ws` and
//! the older `graphql-ws` protocol).
//!
//! The socket carries subscriptions only: queries and mutations are
//! refused with a message pointing at `POST /graphql`, where the plan's
//! limits, Idempotency-Keys and metrics apply (async-graphql would run any
//! operation here). A connection must authenticate (`connection_init` with
//! `{"Authorization": "Bearer …"}`) within `limits.ws_init_timeout_secs`,
//! may hold `limits.ws_subscriptions` subscriptions at once, sends messages
//! of at most `limits.ws_message_kib`, and is closed once its key is
//! revoked (checked every `limits.ws_recheck_secs`).
//!
//! This module must never run an operation without the caller attached.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, ErrorExtensions, Executor, Request, Response};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::schema::DoitongSchema;
use crate::error::ErrorCode;
use crate::jobs::Jobs;

/// Answer the upgrade and serve the connection.
pub(super) fn upgrade(
    schema: DoitongSchema,
    jobs: Jobs,
    unknown: Arc<super::http::UnknownKeys>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    let limits = jobs.config().limits.clone();
    let max_message = limits.ws_message_kib.max(1) << 10;
    upgrade
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let token: Arc<Mutex<Option<String>>> = Arc::default();
            let executor =
                SubscriptionsOnly { schema, open: Arc::new(AtomicUsize::new(0)), max: limits.ws_subscriptions.max(1) };
            let (authenticated, auth_jobs, auth_unknown) = (token.clone(), jobs.clone(), unknown.clone());
            let connection = GraphQLWebSocket::new(socket, executor, protocol)
                .on_connection_init(move |payload| async move {
                    // `connection_init` payload: {"Authorization": "Bearer dt_…"}
                    let given = payload
                        .get("Authorization")
                        .or_else(|| payload.get("authorization"))
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.split_once(' '))
                        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                        .map(|(_, t)| t.trim().to_string());
                    let caller = super::http::authenticate(&auth_jobs, &auth_unknown, given.as_deref())
                        .await
                        .map_err(|e| async_graphql::Error::new(e.message))?;
                    *authenticated.lock().expect("never poisoned") = given;
                    let mut data = Data::default();
                    data.insert(caller);
                    Ok(data)
                })
                .serve();
            let init_timeout = Duration::from_secs(limits.ws_init_timeout_secs.max(1));
            let recheck = Duration::from_secs(limits.ws_recheck_secs.max(1));
            tokio::select! {
                () = connection => {}
                () = watch_key(&jobs, &unknown, &token, init_timeout, recheck) => {}
            }
            // Dropping the connection closes the socket.
        })
}

/// Returns when the connection must end: not authenticated in time, or
/// its key no longer authenticates.
async fn watch_key(
    jobs: &Jobs,
    unknown: &super::http::UnknownKeys,
    token: &Mutex<Option<String>>,
    init_timeout: Duration,
    recheck: Duration,
) {
    tokio::time::sleep(init_timeout).await;
    if token.lock().expect("never poisoned").is_none() {
        tracing::info!("closing a WebSocket that did not authenticate within {init_timeout:?}");
        return;
    }
    loop {
        tokio::time::sleep(recheck).await;
        let current = token.lock().expect("never poisoned").clone();
        match super::http::authenticate(jobs, unknown, current.as_deref()).await {
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::Unauthenticated => {
                tracing::info!("closing a WebSocket: {}", e.message);
                return;
            }
            Err(e) => tracing::warn!("re-checking a WebSocket's key failed (kept open): {}", e.message),
        }
    }
}

/// The schema, for subscriptions only, at most `max` at once.
#[derive(Clone)]
struct SubscriptionsOnly {
    schema: DoitongSchema,
    open: Arc<AtomicUsize>,
    max: usize,
}

/// Counts an open subscription until dropped.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refused(message: String) -> Response {
    let error = async_graphql::Error::new(message).extend_with(|_, e| e.set("code", ErrorCode::InvalidInput.as_str()));
    Response::from_errors(vec![error.into_server_error(async_graphql::Pos::default())])
}

/// Whether `request` is a subscription (`None`: it does not parse, and
/// executing it reports why).
fn is_subscription(request: &Request) -> Option<bool> {
    let doc = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    Some(operation.node.ty == OperationType::Subscription)
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        refused("queries and mutations go to POST /graphql; /graphql/ws carries subscriptions".into())
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        if is_subscription(&request) == Some(false) {
            let message = "queries and mutations go to POST /graphql (where plan limits and Idempotency-Key apply); \
                           /graphql/ws carries subscriptions only";
            return futures::stream::once(async move { refused(message.into()) }).boxed();
        }
        if self.open.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.open.fetch_sub(1, Ordering::SeqCst);
            let message = format!(
                "this connection already has {} subscriptions open, the most allowed (limits.ws_subscriptions)",
                self.max
            );
            return futures::stream::once(async move { refused(message) }).boxed();
        }
        let open = Open(self.open.clone());
        Executor::execute_stream(&self.schema, request, session_data)
            .map(move |response| {
                let _open = &open;
                response
            })
            .boxed()
    }
}
