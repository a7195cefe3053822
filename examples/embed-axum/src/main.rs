//! An axum application that already has routes and its own auth, adding AI
//! media generation by mounting the Doitong gateway under `/ai`.
//!
//! `cargo run -p doitong-example-embed-axum` listens on 127.0.0.1:3000:
//! `GET /` is the app's own page; `/ai/graphql` is the gateway, reachable
//! only with the app's session header (`x-app-session: demo`) in front of
//! the gateway's own API-key check. Ctrl-C shuts down gracefully; running
//! generations resume on the next start.

use anyhow::Result;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use doitong_host::{Config, Gateway};

/// The application's own gate in front of the gateway.
async fn require_session(request: Request, next: Next) -> Result<Response, StatusCode> {
    match request.headers().get("x-app-session").and_then(|v| v.to_str().ok()) {
        Some("demo") => Ok(next.run(request).await),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut flags = toml::Table::new();
    flags.insert("data_dir".into(), toml::Value::String("./embed-data".into()));
    // Signed download links must point under the mount point.
    flags.insert("public_url".into(), toml::Value::String("http://127.0.0.1:3000/ai".into()));
    let config = Config::load(None, std::env::vars(), flags)?;
    let gateway = Gateway::start(config).await?;
    if let Some(key) = &gateway.first_run_key {
        println!("test key for the default account: {key}");
    }

    let app = Router::new()
        .route("/", get(|| async { "my existing application" }))
        .nest("/ai", gateway.router().layer(middleware::from_fn(require_session)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000 (gateway under /ai)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    gateway.shutdown().await;
    Ok(())
}
