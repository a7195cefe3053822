//! Doitong: a self-hostable GraphQL gateway for AI media generation whose
//! vendor adapters are sandboxed WebAssembly components.
//!
//! Layout (dependency direction `graphql → jobs → {routing, plugins,
//! artifacts} → store`):
//! - [`gateway`]: assembles everything from a [`config::Config`]; what the
//!   `doitong` binary and embedding applications start.
//! - [`graphql`]: the public API (auth, schema, downloads); no business rules.
//! - [`jobs`]: the generation lifecycle: accept, validate, quote, reserve,
//!   submit, poll, finish, cancel, resume.
//! - [`routing`]: choosing a provider when the request names none.
//! - [`limits`]: plans and rate-limit counters (in process or Redis).
//! - [`plugins`]: the wasmtime sandbox, the contract, loading and calling
//!   plugins; usable on its own ([`plugins::PluginRuntime`]).
//! - [`artifacts`]: stored outputs and signed URLs.
//! - [`webhooks`]: signed event deliveries from the durable outbox the job
//!   transactions write, retries, the delivery log.
//! - [`store`]: SQLite/PostgreSQL persistence, including the credits ledger.
//! - [`error`]: the one mapping from internal errors to public codes.
//! - [`config`], [`net`]: configuration and shared outbound HTTP.

#![deny(missing_docs)]

pub mod artifacts;
pub mod config;
pub mod error;
pub mod gateway;
pub mod graphql;
pub mod jobs;
pub mod limits;
pub mod net;
pub mod plugins;
pub mod routing;
pub mod store;
pub mod webhooks;

pub use config::Config;
pub use gateway::Gateway;
