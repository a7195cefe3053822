//! `/graphql/ws`: subscriptions over WebSocket (`graphql-transport-ws` and
//! the older `graphql-ws` protocol), admitted like `POST /graphql`.
//!
//! A connection must authenticate (`connection_init` with
//! `{"Authorization": "Bearer …"}`) within `limits.ws_init_timeout_secs`;
//! every operation then goes through [`Admission`] with
//! [`Transport::Socket`]: queries and mutations are refused (they belong on
//! `POST /graphql`), each subscription counts as one read against the
//! plan. A connection may hold `limits.ws_subscriptions` subscriptions at
//! once, sends messages of at most `limits.ws_message_kib`, and is closed
//! once its key is revoked (checked every `limits.ws_recheck_secs`).
//!
//! This module must never run an operation admission has not allowed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Data, ErrorExtensions, Executor, Request, Response};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::schema::DoitongSchema;
use crate::admission::{self, Admission, Ask, Outcome, Principal, Transport};
use crate::error::{ApiError, ErrorCode};
use crate::jobs::Jobs;

/// The key a connection authenticated with, and who holds it.
type Authenticated = Arc<Mutex<Option<(String, Principal)>>>;

/// Answer the upgrade and serve the connection.
pub(super) fn upgrade(
    schema: DoitongSchema,
    jobs: Jobs,
    admission: Admission,
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
            let authenticated = Authenticated::default();
            let executor = Admitted {
                schema,
                admission: admission.clone(),
                authenticated: authenticated.clone(),
                open: Arc::new(AtomicUsize::new(0)),
                max: limits.ws_subscriptions.max(1),
            };
            let (on_init, init_admission) = (authenticated.clone(), admission.clone());
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
                    let principal = init_admission
                        .authenticate(given.as_deref())
                        .await
                        .map_err(|refused| async_graphql::Error::new(refused.error.message))?;
                    let mut data = Data::default();
                    data.insert(principal.caller.clone());
                    *on_init.lock().expect("never poisoned") = given.map(|token| (token, principal));
                    Ok(data)
                })
                .serve();
            let init_timeout = Duration::from_secs(limits.ws_init_timeout_secs.max(1));
            let recheck = Duration::from_secs(limits.ws_recheck_secs.max(1));
            tokio::select! {
                () = connection => {}
                () = watch_key(&admission, &authenticated, init_timeout, recheck) => {}
            }
            // Dropping the connection closes the socket.
        })
}

/// Returns when the connection must end: not authenticated in time, or
/// its key no longer authenticates.
async fn watch_key(admission: &Admission, authenticated: &Authenticated, init_timeout: Duration, recheck: Duration) {
    tokio::time::sleep(init_timeout).await;
    if authenticated.lock().expect("never poisoned").is_none() {
        tracing::info!("closing a WebSocket that did not authenticate within {init_timeout:?}");
        return;
    }
    loop {
        tokio::time::sleep(recheck).await;
        let token = authenticated.lock().expect("never poisoned").as_ref().map(|(token, _)| token.clone());
        match admission.authenticate(token.as_deref()).await {
            Ok(principal) => {
                if let Some((_, held)) = authenticated.lock().expect("never poisoned").as_mut() {
                    *held = principal;
                }
            }
            Err(refused) if refused.error.code == ErrorCode::Unauthenticated => {
                tracing::info!("closing a WebSocket: {}", refused.error.message);
                return;
            }
            Err(refused) => {
                tracing::warn!("re-checking a WebSocket's key failed (kept open): {}", refused.error.message);
            }
        }
    }
}

/// The schema, running what admission allows, at most `max` subscriptions at once.
#[derive(Clone)]
struct Admitted {
    schema: DoitongSchema,
    admission: Admission,
    authenticated: Authenticated,
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

fn refused(error: ApiError) -> Response {
    let mut server_error = async_graphql::Error::new(error.message.clone())
        .extend_with(|_, e| {
            e.set("code", error.code.as_str());
            for (name, value) in &error.details {
                if let Ok(value) = async_graphql::Value::from_json(value.clone()) {
                    e.set(name.as_str(), value);
                }
            }
        })
        .into_server_error(async_graphql::Pos::default());
    server_error.path.clear();
    Response::from_errors(vec![server_error])
}

impl Admitted {
    /// Admit `request`, then run it (at most `max` subscriptions at once).
    async fn run(self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let refuse = |error: ApiError| futures::stream::once(async move { refused(error) }).boxed();
        let principal = self.authenticated.lock().expect("never poisoned").as_ref().map(|(_, p)| p.clone());
        let Some(principal) = principal else {
            return refuse(ApiError::new(ErrorCode::Unauthenticated, "send connection_init with an API key first"));
        };
        let shape = admission::inspect(&request.query, request.operation_name.as_deref());
        let ask = Ask { shape, transport: Transport::Socket, idempotency_key: None, body: &[], prefer_wait: None };
        match self.admission.admit(&principal, ask).await {
            Outcome::Run(_) => {}
            Outcome::Refused(refusal) => return refuse(refusal.error),
            Outcome::Answered { .. } => unreachable!("a socket operation carries no Idempotency-Key"),
        }
        if self.open.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.open.fetch_sub(1, Ordering::SeqCst);
            let message = format!(
                "this connection already has {} subscriptions open, the most allowed (limits.ws_subscriptions)",
                self.max
            );
            return refuse(ApiError::invalid("query", message).with("limit", "ws_subscriptions"));
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

impl Executor for Admitted {
    async fn execute(&self, request: Request) -> Response {
        // Only reached by a client that sends a query as a single
        // response: admission refuses it like any query here.
        self.clone().run(request, None).await.next().await.unwrap_or_default()
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        futures::stream::once(self.clone().run(request, session_data)).flatten().boxed()
    }
}
