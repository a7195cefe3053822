//! Doitong: a self-hostable GraphQL gateway for AI media generation whose
//! vendor adapters are sandboxed WebAssembly components.
//!
//! Layout (dependency direction `graphql → admission → jobs → {routing, plugins,
//! artifacts} → store`):
//! - [`gateway`]: assembles everything from a [`config::Config`]; what the
//!   `doitong` binary and embedding applications start.
//! - [`graphql`]: the public API (schema, transports, downloads); no business rules.
//! - [`admission`]: who the caller is, what a request may cost, whether its
//!   limits and Idempotency-Key let it run; one typed outcome for HTTP and
//!   WebSocket.
//! - [`jobs`]: the generation lifecycle: accept, validate, quote, reserve,
//!   submit, poll, finish, cancel, resume.
//! - [`routing`]: choosing a provider when the request names none.
//! - [`limits`]: plans and rate-limit counters (in process or Redis).
//! - [`metrics`]: Prometheus metrics for `GET /metrics`.
//! - [`plugins`]: the wasmtime sandbox, the contract, loading and calling
//!   plugins; usable on its own ([`plugins::PluginRuntime`]).
//! - [`artifacts`]: stored outputs and signed URLs.
//! - [`webhooks`]: signed event deliveries from the durable outbox the job
//!   transactions write, retries, the delivery log.
//! - [`store`]: SQLite/PostgreSQL persistence, including the credits ledger.
//! - [`admin`]: operator actions on accounts, credits, plans and keys.
//! - [`keys`]: an account's own API keys, managed by their holders.
//! - [`builder`]: [`GatewayBuilder`], configuring a gateway in code.
//! - [`error`]: the one mapping from internal errors to public codes.
//! - [`config`], [`net`]: configuration and shared outbound HTTP.
//!
//! # Embedding the gateway in an axum application
//!
//! [`Gateway::builder`] takes the same settings as `doitong.toml`; the
//! router nests under any prefix, next to the application's own routes.
//! [`Gateway::shutdown`] lets steps in flight finish; jobs still running at
//! a vendor resume on the next start.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use doitong_host::Gateway;
//!
//! let gateway = Gateway::builder()
//!     .data_dir("./ai-data")
//!     // Signed artifact URLs must point at where the router is mounted.
//!     .public_url("https://app.example.com/ai")
//!     .plugin_secret("kling", "access_key", std::env::var("KLING_ACCESS_KEY")?)
//!     .plugin_secret("kling", "secret_key", std::env::var("KLING_SECRET_KEY")?)
//!     .start()
//!     .await?;
//!
//! // Typed calls, no HTTP: an account and a key for it.
//! let admin = gateway.admin();
//! let account = admin.create_account("acme", "pro", 500).await?;
//! let (api_key, _) = admin.create_key(&account.id, false).await?;
//! println!("give {api_key} to acme");
//!
//! let app = Router::new()
//!     .route("/", get(|| async { "my app" }))
//!     .nest("/ai", gateway.router()); // POST /ai/graphql
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
//!     .await?;
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The plugin runtime alone
//!
//! No database, no GraphQL: load a plugin, then quote, submit and poll it
//! under the same sandbox limits, with the secrets and HTTP rules the
//! caller supplies ([`plugins::PluginSettings`]).
//!
//! ```
//! use doitong_host::gateway::bundled;
//! use doitong_host::plugins::{JobInput, JobRequest, MediaKind, PluginRuntime, PluginSettings, Progress};
//! use doitong_host::plugins::{RuntimeLimits, Submitted};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = PluginRuntime::new(RuntimeLimits::default(), None)?;
//! let wasm = bundled::plugin("placeholder").expect("bundled");
//! let plugin = runtime.load("placeholder.wasm", wasm, &PluginSettings::default()).await?;
//!
//! let request = JobRequest {
//!     offering: "placeholder".into(),
//!     kind: MediaKind::Image,
//!     input: JobInput { text: Some("a lighthouse at dusk".into()), ..JobInput::default() },
//!     options: Vec::new(),
//! };
//! let quote = plugin.quote(&request).await?.expect("priced");
//! assert!(quote.credits >= 1);
//!
//! let mut outcome = plugin.submit(&request).await?.expect("accepted");
//! let artifacts = loop {
//!     match outcome {
//!         Submitted::Done(artifacts) => break artifacts,
//!         Submitted::Running(running) => match plugin.poll(&running.handle).await? {
//!             Progress::Running(next) => outcome = Submitted::Running(next),
//!             Progress::Done(artifacts) => break artifacts,
//!             other => panic!("{other:?}"),
//!         },
//!     }
//! };
//! assert_eq!(artifacts[0].mime, "image/png");
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod admin;
pub mod admission;
pub mod artifacts;
pub mod background;
pub mod builder;
pub mod config;
pub mod error;
pub mod gateway;
pub mod graphql;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod net;
pub mod plugins;
pub mod routing;
pub mod server;
pub mod store;
pub mod webhooks;

pub use builder::GatewayBuilder;
pub use config::Config;
pub use gateway::Gateway;
