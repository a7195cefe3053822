//! The plugin runtime: sandboxed WebAssembly vendor adapters.
//!
//! Owns the wasmtime engine ([`engine`]), the contract bindings
//! (`bindings`, `convert`), what guests may call (`host_imports`,
//! [`policy`]), compiling and caching components (`cache`), loading and
//! calling plugins ([`runtime`]) and the set of loaded plugins
//! ([`registry`]), hot reload of the plugins directory ([`watcher`]) and
//! operator actions ([`manager`]).
//!
//! It must never know about GraphQL, billing, accounts or the database:
//! callers hand it bytes, settings and requests, and get back manifests,
//! quotes and results. That is what lets an application use it alone
//! (`PluginRuntime` without a gateway).

mod bindings;
mod cache;
mod call_metrics;
pub mod cluster;
mod convert;
mod cpu_meter;
pub mod engine;
mod host_imports;
pub mod manager;
pub mod manifest;
pub mod policy;
pub mod registry;
pub mod runtime;
pub mod watcher;

use std::fmt;
use std::time::Duration;

pub use cache::CacheKey;
pub use call_metrics::CallMetrics;
pub use manager::{ManageError, PluginInfo, PluginManager};
pub use manifest::*;
pub use registry::{PluginRecord, PluginSource, PluginState, Registry};
pub use runtime::{LoadedPlugin, PluginRuntime, PluginSettings};

/// The contract version this host implements; plugins built against any
/// `1.x` with `x` ≤ this minor load. 1.1 added the optional `health`
/// export, probed by name ([`LoadedPlugin::capabilities`]). 1.2 added the
/// `context` import (idempotency token, operator settings), the
/// `model-unavailable` failure code and `retry-after-secs`; a 1.0/1.1
/// plugin's exports are called through the frozen 1.1 bindings
/// (`bindings::v1_1`), since its `failure` has the older shape.
pub const CONTRACT_VERSION: semver::Version = semver::Version::new(1, 2, 0);
/// The WIT package plugins export `provider` from.
pub const CONTRACT_PACKAGE: &str = "doitong:provider";

/// Limits applied to every plugin call. All derive from a few knobs; the
/// defaults suit vendor adapters that make a handful of HTTP calls.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Linear memory a guest may grow to. Default 64 MiB.
    pub memory_bytes: usize,
    /// Guest CPU time per call (time inside host imports excluded).
    /// Default 2 s; adapters need milliseconds.
    pub cpu_time: Duration,
    /// Wall-clock time per call, host calls included. Default 120 s.
    pub call_timeout: Duration,
    /// Cap on one outbound HTTP request, including reading the body. Default 60 s.
    pub http_timeout: Duration,
    /// Largest HTTP response body a plugin may receive. Default 32 MiB
    /// (vendors that answer with base64 media need a few MiB).
    pub http_response_bytes: u64,
    /// HTTP requests per call. Default 32.
    pub http_calls_per_call: u32,
    /// Bytes a guest may push into host calls per call (request bodies,
    /// log lines, secret names). Default 64 MiB.
    pub hostcall_bytes: u64,
    /// Calls running at once, which is also the size of the instance pool.
    /// Default 64; more wait for a slot.
    pub max_concurrent_calls: u32,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            memory_bytes: 64 << 20,
            cpu_time: Duration::from_secs(2),
            call_timeout: Duration::from_secs(120),
            http_timeout: Duration::from_secs(60),
            http_response_bytes: 32 << 20,
            http_calls_per_call: 32,
            hostcall_bytes: 64 << 20,
            max_concurrent_calls: 64,
        }
    }
}

/// A limit that stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Guest CPU budget.
    CpuTime(Duration),
    /// Memory cap in bytes.
    Memory(usize),
    /// Hostcall data cap in bytes.
    HostcallData(u64),
    /// HTTP requests per call.
    HttpCalls(u32),
    /// Wall-clock timeout.
    WallClock(Duration),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::CpuTime(d) => write!(f, "CPU time budget of {} ms", d.as_millis()),
            Limit::Memory(b) => write!(f, "memory cap of {} MiB", b >> 20),
            Limit::HostcallData(b) => write!(f, "host-call data cap of {} MiB", b >> 20),
            Limit::HttpCalls(n) => write!(f, "limit of {n} HTTP requests per call"),
            Limit::WallClock(d) => write!(f, "wall-clock timeout of {} s", d.as_secs()),
        }
    }
}

/// Why loading or calling a plugin failed. Every message names the plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a WebAssembly component (or not valid).
    #[error("{origin}: not a loadable WebAssembly component: {reason}")]
    NotAComponent {
        /// File name or "uploaded plugin".
        origin: String,
        /// The compiler's message.
        reason: String,
    },
    /// The component does not speak a contract version this host supports.
    #[error("{origin}: {reason}")]
    IncompatibleContract {
        /// File name or "uploaded plugin".
        origin: String,
        /// What was found and what is supported.
        reason: String,
    },
    /// The component's imports could not be satisfied.
    #[error("{origin}: cannot be linked: {reason}")]
    Link {
        /// File name or "uploaded plugin".
        origin: String,
        /// The linker's message.
        reason: String,
    },
    /// `manifest()` returned something the host refuses.
    #[error("{origin}: {error}")]
    InvalidManifest {
        /// File name, or plugin id when known.
        origin: String,
        /// Every problem found.
        error: ManifestError,
    },
    /// The plugin declares an offering another plugin already serves:
    /// offering ids are unique across plugins (else one plugin could take
    /// another's requests, prompts and input bytes included).
    #[error(
        "plugin `{plugin}` declares offering `{offering}`, which plugin `{serving}` already serves; offering ids must be unique across plugins"
    )]
    OfferingTaken {
        /// The plugin refused.
        plugin: String,
        /// The offering both declare.
        offering: String,
        /// The plugin serving it.
        serving: String,
    },
    /// The operator pinned this plugin id to other code: refused before it
    /// was given secrets, settings or requests.
    #[error(
        "plugin `{plugin}`: this file's sha256 is {sha256}, not one the operator pinned for `{plugin}` ({}); not loaded",
        pinned.join(", ")
    )]
    NotPinned {
        /// Plugin id the file declares.
        plugin: String,
        /// The file's SHA-256.
        sha256: String,
        /// What `[plugins.<id>] sha256` allows.
        pinned: Vec<String>,
    },
    /// Operator settings for the plugin are unusable.
    #[error("plugin {plugin}: bad operator settings: {reason}")]
    Settings {
        /// Plugin id.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
    /// A call hit a sandbox limit.
    #[error("plugin {plugin}@{version}: `{call}` was stopped: it exceeded its {limit}")]
    LimitExceeded {
        /// Plugin id.
        plugin: String,
        /// Plugin version.
        version: String,
        /// Export called.
        call: &'static str,
        /// The limit.
        limit: Limit,
    },
    /// A call trapped (guest panic, bad memory access, …).
    #[error("plugin {plugin}@{version}: `{call}` crashed: {message}")]
    Trap {
        /// Plugin id.
        plugin: String,
        /// Plugin version.
        version: String,
        /// Export called.
        call: &'static str,
        /// What happened, for users (the guest's output and the error
        /// chain are logged, never put here).
        message: String,
    },
}
