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
//! - [`store`]: SQLite/PostgreSQL persistence, including the credits ledger.
//! - [`admin`]: operator actions on accounts, credits, plans and keys.
//! - [`builder`]: [`GatewayBuilder`], configuring a gateway in code.
//! - [`error`]: the one mapping from internal errors to public codes.
//! - [`config`], [`net`]: configuration and shared outbound HTTP.

#![deny(missing_docs)]

pub mod admin;
pub mod artifacts;
pub mod builder;
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

pub use builder::GatewayBuilder;
pub use config::Config;
pub use gateway::Gateway;
