//! Configuration: a TOML file, overridden by `DOITONG_*` environment
//! variables, overridden by command-line flags (ARCHITECTURE §9).
//!
//! Every layer is merged as a TOML table and deserialised once, with
//! unknown keys refused, so a typo in a file or a variable is an error that
//! names the key rather than a silently ignored setting.
//!
//! Environment mapping:
//! - `DOITONG_LISTEN`, `DOITONG_DATA_DIR`, `DOITONG_DATABASE_URL`, … — top-level keys;
//! - `DOITONG_WEBHOOKS_ALLOW_PRIVATE`, `DOITONG_WEBHOOKS_RETRY_SCHEDULE="5s,5m"` — `[webhooks]`
//!   (and alike for `[sandbox]`, `[jobs]`, `[artifacts]`, `[limits]`, `[metrics]`);
//! - `DOITONG_PLANS_FREE_RPM=20` — `[plans.free] rpm`;
//! - `DOITONG_PLUGINS_KLING_BASE_URL=…` — `[plugins.kling] base_url` (an id's
//!   `-` is written `_`: `DOITONG_PLUGINS_GOOGLE_TTS_ENABLED`);
//! - `DOITONG_SECRET_KLING_ACCESS_KEY=…` — secret `access_key` of plugin `kling`;
//! - `DOITONG_ROUTING_COOLDOWN_SECS=30`, `DOITONG_ROUTING_EXCLUDE="vidu,wan"` — `[routing]`.
//!
//! This module must never read anything but the file, the environment map
//! and the flags it is given.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::plugins::{PluginSettings, RuntimeLimits};

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The merged configuration is invalid (syntax, unknown key, wrong type).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration. Defaults are those of `doitong serve` with no flags.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// State directory: SQLite database, artifacts, plugins, compile cache. Default `./data`.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`. Default `sqlite://<data_dir>/doitong.db`.
    pub database_url: String,
    /// Redis for shared rate-limit counters; empty keeps them in process.
    pub redis_url: String,
    /// Token for the admin API; empty turns the admin API off.
    pub admin_token: String,
    /// Base of signed artifact URLs. Default `http://<listen>`.
    pub public_url: String,
    /// Load the plugins compiled into the binary. Default true.
    pub bundled_plugins: bool,
    /// Compiled-plugin cache. Default `<data_dir>/cache`. Several servers
    /// may share one (entries are named by the plugin's SHA-256 and the
    /// engine, written atomically and signed with `cache_key`).
    pub cache_dir: String,
    /// The secret that signs compiled-plugin cache entries (HMAC-SHA256);
    /// an entry it did not sign is never loaded. Default: 32 random bytes
    /// made on first start and kept in the database, so the nodes of one
    /// cluster share it. Set it only to share a cache between servers with
    /// separate databases.
    pub cache_key: String,
    /// On SIGTERM or Ctrl-C: how long steps, HTTP requests and webhook
    /// attempts in flight may take to finish before the rest is handed back
    /// to other nodes and the process exits. Default 30.
    pub shutdown_grace_secs: u64,
    /// This node's name in a cluster (the admin `plugins` query shows what
    /// each node serves). Default `<hostname>:<listen port>`.
    pub node_name: String,
    /// Webhook delivery.
    pub webhooks: WebhooksConfig,
    /// Plan limit overrides by plan name.
    pub plans: BTreeMap<String, PlanOverride>,
    /// Operator settings by plugin id.
    pub plugins: BTreeMap<String, PluginConfig>,
    /// Sandbox limits for every plugin call.
    pub sandbox: SandboxConfig,
    /// The job lifecycle.
    pub jobs: JobsConfig,
    /// Artifact storage.
    pub artifacts: ArtifactsConfig,
    /// Rate limits beyond the plans.
    pub limits: LimitsConfig,
    /// `GET /metrics`.
    pub metrics: MetricsConfig,
    /// Automatic provider selection, health and failover.
    pub routing: RoutingConfig,
    /// Browser access: CORS.
    pub http: HttpConfig,
    /// Secrets from `DOITONG_SECRET_*`, matched to plugins by id prefix.
    #[serde(skip)]
    env_secrets: BTreeMap<String, String>,
    /// Plugin ids known before any plugin loads (the bundled ones), so a
    /// `DOITONG_SECRET_<ID>_<NAME>` variable goes to the plugin it names
    /// even when a shorter id is a prefix of it. See [`Config::plugin_settings`].
    #[serde(skip)]
    known_plugin_ids: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            redis_url: String::new(),
            admin_token: String::new(),
            public_url: String::new(),
            bundled_plugins: true,
            cache_dir: String::new(),
            cache_key: String::new(),
            shutdown_grace_secs: 30,
            node_name: String::new(),
            webhooks: WebhooksConfig::default(),
            plans: BTreeMap::new(),
            plugins: BTreeMap::new(),
            sandbox: SandboxConfig::default(),
            jobs: JobsConfig::default(),
            artifacts: ArtifactsConfig::default(),
            limits: LimitsConfig::default(),
            metrics: MetricsConfig::default(),
            routing: RoutingConfig::default(),
            http: HttpConfig::default(),
            env_secrets: BTreeMap::new(),
            known_plugin_ids: Vec::new(),
        }
    }
}

/// `[webhooks]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Allow targets on private/loopback addresses. Default false.
    pub allow_private: bool,
    /// Delays before each retry, e.g. `["5s", "5m"]`: a delivery gets one
    /// attempt plus one per step, then is marked failed. Default 5s, 5m,
    /// 30m, 2h, 5h, 10h, 10h (8 attempts over about 28 hours).
    pub retry_schedule: Vec<String>,
    /// Time allowed for one attempt (connect, send, answer), seconds. Default 15.
    pub timeout_secs: u64,
    /// Deliveries in flight at once on this node; one slow receiver holds
    /// one slot only. Default 16.
    pub max_in_flight: usize,
    /// Deliveries of one account in flight at once on this node, so an
    /// account whose receivers hang cannot hold every slot and delay the
    /// others' events. Default 4.
    pub max_in_flight_per_account: usize,
    /// Endpoints one account may register. Default 10.
    pub max_endpoints: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_private: false,
            retry_schedule: ["5s", "5m", "30m", "2h", "5h", "10h", "10h"].map(String::from).to_vec(),
            timeout_secs: 15,
            max_in_flight: 16,
            max_in_flight_per_account: 4,
            max_endpoints: 10,
        }
    }
}

impl WebhooksConfig {
    /// The retry schedule as durations; an entry that is not a duration
    /// (`250ms`, `5s`, `5m`, `2h`, `1d`) is an error naming it.
    pub fn schedule(&self) -> Result<Vec<Duration>, ConfigError> {
        self.retry_schedule
            .iter()
            .map(|step| {
                parse_duration(step).ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "webhooks.retry_schedule: {step:?} is not a duration (use e.g. \"250ms\", \"5s\", \"5m\", \"2h\")"
                    ))
                })
            })
            .collect()
    }
}

/// `[plans.<name>]`: any limit left out keeps the plan's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanOverride {
    /// Write requests per minute.
    pub rpm: Option<u32>,
    /// Generations running at once.
    pub concurrent: Option<u32>,
    /// Generations per UTC day.
    pub daily: Option<u32>,
}

/// `[plugins.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginConfig {
    /// Serve this plugin's offerings. Default true.
    pub enabled: bool,
    /// Replace the vendor's origin (mock, region, self-hosted).
    pub base_url: Option<String>,
    /// Narrow the manifest's allowed hosts.
    pub allowed_hosts: Option<Vec<String>>,
    /// Let the plugin reach private/loopback addresses.
    pub allow_private: bool,
    /// Secret values by name.
    pub secrets: BTreeMap<String, String>,
    /// The operator's own price in credits per offering id, replacing the
    /// plugin's quote (e.g. `credits = { placeholder = 5 }`).
    pub credits: BTreeMap<String, u32>,
    /// Non-secret settings handed to the plugin (contract 1.2
    /// `context.setting`), e.g. `settings = { "model.veo" = "veo-3.1-generate-001" }`
    /// to replace a vendor model id without a rebuild.
    pub settings: BTreeMap<String, String>,
    /// Pin the plugin's code: the SHA-256 (hex) of the `.wasm` files this
    /// plugin id may be loaded from. Any other file declaring the id is
    /// refused before it receives secrets or requests. Empty: not pinned.
    pub sha256: Vec<String>,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enabled: true,
            base_url: None,
            allowed_hosts: None,
            allow_private: false,
            secrets: BTreeMap::new(),
            credits: BTreeMap::new(),
            settings: BTreeMap::new(),
            sha256: Vec::new(),
        }
    }
}

/// `[sandbox]`: limits of every plugin call (see [`RuntimeLimits`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Guest memory cap in MiB. Default 64.
    pub memory_mib: u32,
    /// Guest CPU budget per call in ms. Default 2000.
    pub cpu_ms: u64,
    /// Wall-clock cap per call in seconds. Default 120.
    pub call_timeout_secs: u64,
    /// Longest outbound HTTP request of a plugin (connect to last body
    /// byte), seconds; a plugin may ask for less, never more. At most
    /// `call_timeout_secs`. Default 60 (raise it for vendors that answer
    /// synchronously after a long render, e.g. high-quality images).
    pub http_timeout_secs: u64,
    /// Largest HTTP response a plugin may read, MiB. Default 32.
    pub http_response_mib: u64,
    /// Concurrent plugin calls (instance pool size). Default 64.
    pub max_concurrent_calls: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        let d = RuntimeLimits::default();
        SandboxConfig {
            memory_mib: (d.memory_bytes >> 20) as u32,
            cpu_ms: d.cpu_time.as_millis() as u64,
            call_timeout_secs: d.call_timeout.as_secs(),
            http_timeout_secs: d.http_timeout.as_secs(),
            http_response_mib: d.http_response_bytes >> 20,
            max_concurrent_calls: d.max_concurrent_calls,
        }
    }
}

impl SandboxConfig {
    /// As runtime limits.
    pub fn limits(&self) -> RuntimeLimits {
        RuntimeLimits {
            memory_bytes: (self.memory_mib as usize) << 20,
            cpu_time: Duration::from_millis(self.cpu_ms),
            call_timeout: Duration::from_secs(self.call_timeout_secs),
            http_timeout: Duration::from_secs(self.http_timeout_secs),
            http_response_bytes: self.http_response_mib << 20,
            max_concurrent_calls: self.max_concurrent_calls,
            ..RuntimeLimits::default()
        }
    }
}

/// `[jobs]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs the queue steps at once on this node. Default 8. `0` makes an
    /// API-only node that accepts generations but leaves running them to
    /// other nodes sharing the database. A generation whose caller waits
    /// (`Prefer: wait`) is stepped by its own request instead, outside this
    /// count (requests are bounded by `limits.max_connections` and the
    /// plans' concurrency).
    pub workers: usize,
    /// A job not finished this long after creation fails with a refund. Default 3600.
    pub deadline_secs: u64,
    /// Shortest wait between polls of one job, whatever the plugin asks. Default 100 ms.
    pub min_poll_interval_ms: u64,
    /// Longest wait between polls. Default 30 000 ms.
    pub max_poll_interval_ms: u64,
    /// Attempts at `submit` for retryable failures. Default 3.
    pub submit_attempts: u32,
    /// How long a worker's claim on a job lasts without renewal. A step
    /// renews it every third of this while it runs (so a step may take
    /// longer than the lease); another node takes the job over only once a
    /// claim lapses, i.e. this long after its node died. At least 1. Default 150.
    pub lease_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            workers: 8,
            deadline_secs: 3600,
            min_poll_interval_ms: 100,
            max_poll_interval_ms: 30_000,
            submit_attempts: 3,
            lease_secs: 150,
        }
    }
}

/// `[artifacts]`: where outputs are kept, how they are handed out, and
/// for how long (see `crate::artifacts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArtifactsConfig {
    /// Lifetime of a signed download URL in seconds. Default 86 400 (24 h).
    pub url_ttl_secs: u64,
    /// Largest artifact accepted, MiB. Default 2048.
    pub max_mib: u64,
    /// `file` (default: `<data_dir>/artifacts`, one node) or `s3` (any
    /// S3-compatible bucket, shared by every node).
    pub store: ArtifactBackend,
    /// `proxy` (default): `/files/…` streams the file, with Range support.
    /// `redirect`: `/files/…` answers 307 to a presigned URL of the bucket
    /// (`s3` only), so the bytes never pass through the gateway.
    pub delivery: Delivery,
    /// Delete artifacts (objects and rows) this many days after they were
    /// made, and objects no row points at once they are this old (left by
    /// crashes). Fractions allowed. Default 0: keep forever.
    pub retention_days: f64,
    /// How often a node looks for expired artifacts (one node at a time
    /// in a cluster). Default 600.
    pub purge_interval_secs: u64,
    /// Bucket (`s3`).
    pub s3_bucket: String,
    /// Key prefix inside the bucket, e.g. `doitong/` (`s3`). Default none.
    pub s3_prefix: String,
    /// Endpoint of an S3-compatible server (MinIO, R2, moto…); empty for AWS.
    pub s3_endpoint: String,
    /// Region. Default `AWS_REGION`, else `us-east-1`.
    pub s3_region: String,
    /// Access key; default `AWS_ACCESS_KEY_ID`.
    pub s3_access_key_id: String,
    /// Secret key; default `AWS_SECRET_ACCESS_KEY`.
    pub s3_secret_access_key: String,
    /// Lifetime of a presigned URL in seconds (`redirect`). Default 300.
    pub presign_ttl_secs: u64,
    /// Largest file `POST /uploads` takes, MiB. Default 20 (the media cap).
    pub upload_max_mib: u64,
    /// How long an upload can be used, seconds. Default 86400 (a day).
    pub upload_ttl_secs: u64,
}

/// Where artifacts are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactBackend {
    /// The node's disk.
    File,
    /// An S3-compatible bucket.
    S3,
}

/// How `/files/…` hands out an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// Stream it through the gateway.
    Proxy,
    /// Redirect to a presigned bucket URL.
    Redirect,
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        ArtifactsConfig {
            url_ttl_secs: 86_400,
            max_mib: 2048,
            store: ArtifactBackend::File,
            delivery: Delivery::Proxy,
            retention_days: 0.0,
            purge_interval_secs: 600,
            s3_bucket: String::new(),
            s3_prefix: String::new(),
            s3_endpoint: String::new(),
            s3_region: String::new(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: String::new(),
            presign_ttl_secs: 300,
            upload_max_mib: 20,
            upload_ttl_secs: 86_400,
        }
    }
}

impl ArtifactsConfig {
    /// How long artifacts are kept, if not forever.
    pub fn retention(&self) -> Option<Duration> {
        (self.retention_days > 0.0).then(|| Duration::from_secs_f64(self.retention_days * 86_400.0))
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if !self.retention_days.is_finite() || self.retention_days < 0.0 {
            return invalid("artifacts.retention_days must be 0 (keep forever) or a positive number of days");
        }
        if self.purge_interval_secs == 0 {
            return invalid("artifacts.purge_interval_secs must be at least 1");
        }
        match self.store {
            ArtifactBackend::S3 if self.s3_bucket.is_empty() => {
                invalid("artifacts.store = \"s3\" needs artifacts.s3_bucket")
            }
            ArtifactBackend::File if self.delivery == Delivery::Redirect => {
                invalid("artifacts.delivery = \"redirect\" needs artifacts.store = \"s3\"")
            }
            _ => Ok(()),
        }
    }
}

/// `[routing]`: choosing a provider when a request names none, watching
/// how the vendors behave, and failing over (see `crate::routing`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Outcomes older than this do not count. Default 900 (15 min).
    pub window_secs: u64,
    /// At most this many latest outcomes count per offering. Default 50.
    pub window_jobs: u32,
    /// Observed numbers replace declared ones from this many samples on
    /// (SPEED's median, BALANCED's success rate). Default 5.
    pub min_samples: u32,
    /// Consecutive vendor failures that open an offering's breaker. Default 3.
    pub failure_threshold: u32,
    /// How long an open breaker keeps an offering out before one probe job
    /// may try it (`HALF_OPEN`). Default 60.
    pub cooldown_secs: u64,
    /// Providers tried per automatically routed generation, the first
    /// included. Default 3.
    pub max_attempts: u32,
    /// No failover once a generation is older than this. Default 600.
    pub failover_deadline_secs: u64,
    /// How often each configured plugin's `health` export is called;
    /// 0 turns the checks off. Default 60.
    pub health_check_secs: u64,
    /// How often a node re-reads the health every node writes to the
    /// shared database, ms. Default 1000.
    pub refresh_ms: u64,
    /// Offerings never chosen automatically (still usable by name).
    pub exclude: Vec<String>,
    /// Offerings ranked first, in this order, when they accept the request.
    pub prefer: Vec<String>,
    /// Narrower rules by kind and/or priority; every matching rule applies.
    pub rules: Vec<RoutingRule>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            window_secs: 900,
            window_jobs: 50,
            min_samples: 5,
            failure_threshold: 3,
            cooldown_secs: 60,
            max_attempts: 3,
            failover_deadline_secs: 600,
            health_check_secs: 60,
            refresh_ms: 1000,
            exclude: Vec::new(),
            prefer: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// `[[routing.rules]]`: pin, prefer or exclude offerings for one kind
/// (`video`, `image`, `audio`, `avatar`) and/or one priority (`balanced`,
/// `quality`, `speed`, `cost`); a rule without either applies to all.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// Media kind the rule applies to.
    pub kind: Option<String>,
    /// Priority the rule applies to.
    pub priority: Option<String>,
    /// Only this offering is chosen automatically (failover may still use
    /// the rule's `prefer` list).
    pub pin: Option<String>,
    /// Ranked first, in this order.
    #[serde(default)]
    pub prefer: Vec<String>,
    /// Never chosen automatically.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `[limits]`: what plans do not say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Read requests (queries, subscriptions) per minute per account, for
    /// every plan: high enough that polling every 2 s never trips it. Default 600.
    pub read_rpm: u32,
    /// Queue depth as a multiple of the plan's concurrency: `generate` is
    /// refused once an account has this many generations waiting or
    /// running. Default 10.
    pub queue_factor: u32,
    /// How long an Idempotency-Key's response is kept, hours. Default 24.
    pub idempotency_hours: u32,
    /// How long a crashed request holds its Idempotency-Key claim, ms (a
    /// running request renews it every quarter of this). Default 120 000.
    pub idempotency_lock_ms: u64,
    /// Deepest GraphQL selection accepted (GraphiQL's introspection query
    /// needs 13). Default 16.
    pub graphql_depth: usize,
    /// Most work one GraphQL request may ask for: one per field, list
    /// fields counted `first` times their selection. Default 2000 (a page
    /// of 100 generations with a dozen fields each).
    pub graphql_complexity: usize,
    /// Most directives on one field. Default 10.
    pub graphql_directives: usize,
    /// Most root fields (aliases included) in one operation; every root
    /// field of a mutation counts as one write against the plan's RPM.
    /// Default 20.
    pub graphql_root_fields: usize,
    /// Subscriptions open at once on one `/graphql/ws` connection. Default 20.
    pub ws_subscriptions: usize,
    /// Seconds a new `/graphql/ws` connection has to authenticate
    /// (`connection_init`). Default 10.
    pub ws_init_timeout_secs: u64,
    /// How often an open `/graphql/ws` connection's key is checked again;
    /// a revoked key's connection is closed. Default 30.
    pub ws_recheck_secs: u64,
    /// Largest `/graphql/ws` message, KiB. Default 64.
    pub ws_message_kib: usize,
    /// Largest request body, MiB: room for a 20 MiB `data:` URI (27 MiB
    /// as base64) and a plugin upload. Default 32.
    pub body_mib: usize,
    /// Seconds a client has to send a request's headers (`doitong serve`).
    /// Default 10.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body. Default 60.
    pub body_timeout_secs: u64,
    /// Connections open at once (`doitong serve`). Default 4096.
    pub max_connections: usize,
    /// Failed authentications (401) per minute from one address; past it
    /// the address gets 429 before any key is looked up (each node counts
    /// its own; behind a proxy the proxy is the address). 0 turns it off.
    /// Default 300.
    pub auth_failures_per_ip: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            read_rpm: 600,
            queue_factor: 10,
            idempotency_hours: 24,
            idempotency_lock_ms: 120_000,
            graphql_depth: 16,
            graphql_complexity: 2000,
            graphql_directives: 10,
            graphql_root_fields: 20,
            ws_subscriptions: 20,
            ws_init_timeout_secs: 10,
            ws_recheck_secs: 30,
            ws_message_kib: 64,
            body_mib: 32,
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            max_connections: 4096,
            auth_failures_per_ip: 300,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `GET /metrics`. Default true.
    pub enabled: bool,
    /// Bearer token a scraper must send; empty: no token (fine on the
    /// default loopback listener; set one when the port is reachable).
    pub token: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true, token: String::new() }
    }
}

/// `[http]`: what browsers on other origins may do.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Origins (`https://app.example.com`) whose pages may call the API
    /// from a browser (CORS). Default none: only same-origin pages (the
    /// console) and non-browser clients. `"*"` allows any origin (API keys
    /// travel in the `Authorization` header, never in cookies).
    pub cors_origins: Vec<String>,
}

impl HttpConfig {
    /// Refuse origins that are not `scheme://host[:port]`.
    fn check(&self) -> Result<(), ConfigError> {
        for origin in &self.cors_origins {
            let valid = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.path() == "/"
                        && !origin.ends_with('/')
                        && u.query().is_none()
                });
            if !valid {
                return Err(ConfigError::Invalid(format!(
                    "http.cors_origins: `{origin}` is not an origin like `https://app.example.com` (scheme, host, optional port; no path)"
                )));
            }
        }
        Ok(())
    }
}

/// Top-level keys settable from the environment as `DOITONG_<KEY>`.
const TOP_LEVEL_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "redis_url",
    "admin_token",
    "public_url",
    "bundled_plugins",
    "cache_dir",
    "cache_key",
    "shutdown_grace_secs",
];
/// Keys of `[plugins.<id>]`, longest first so `allow_private` wins over a shorter match.
const PLUGIN_KEYS: &[&str] = &["allowed_hosts", "allow_private", "base_url", "enabled", "sha256"];
/// Keys whose environment form is a comma-separated list.
const LIST_KEYS: &[&str] = &["retry_schedule", "allowed_hosts", "exclude", "prefer", "sha256", "cors_origins"];

impl Config {
    /// Merge `file` (if any), the `DOITONG_*` entries of `env`, and `flags`
    /// (a TOML table of top-level keys), in that order of precedence.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: toml::Table,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        let mut env_secrets = BTreeMap::new();
        for (name, value) in env {
            let Some(key) = name.strip_prefix("DOITONG_") else { continue };
            let key = key.to_ascii_lowercase();
            if let Some(rest) = key.strip_prefix("secret_") {
                env_secrets.insert(rest.to_string(), value);
                continue;
            }
            apply_env(&mut table, &name, &key, &value)?;
        }
        merge(&mut table, flags);
        let mut config: Config =
            toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.env_secrets = env_secrets;
        config.fill_defaults();
        config.webhooks.schedule()?;
        config.http.check()?;
        if config.sandbox.http_timeout_secs == 0 || config.sandbox.http_timeout_secs > config.sandbox.call_timeout_secs
        {
            return Err(ConfigError::Invalid(format!(
                "sandbox.http_timeout_secs must be from 1 to sandbox.call_timeout_secs ({})",
                config.sandbox.call_timeout_secs
            )));
        }
        if config.jobs.lease_secs == 0 {
            return Err(ConfigError::Invalid(
                "jobs.lease_secs must be at least 1 (steps renew their lease every third of it)".into(),
            ));
        }
        config.artifacts.check()?;
        if config.webhooks.timeout_secs == 0 {
            return Err(ConfigError::Invalid("webhooks.timeout_secs must be at least 1".into()));
        }
        Ok(config)
    }

    /// Derive what was left empty: the SQLite URL from the data directory,
    /// the public URL from the listen address. Idempotent.
    pub(crate) fn fill_defaults(&mut self) {
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}", self.data_dir.join("doitong.db").display());
        }
        if self.public_url.is_empty() {
            self.public_url = format!("http://{}", self.listen);
        }
        self.public_url = self.public_url.trim_end_matches('/').to_string();
    }

    /// Where `*.wasm` plugins are loaded from.
    pub fn plugins_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    /// Where compiled plugins are cached.
    pub fn compile_cache_dir(&self) -> PathBuf {
        if self.cache_dir.is_empty() { self.data_dir.join("cache") } else { PathBuf::from(&self.cache_dir) }
    }

    /// Record plugin ids known before loading (the bundled ones).
    pub fn with_known_plugins(mut self, ids: impl IntoIterator<Item = String>) -> Config {
        self.known_plugin_ids.extend(ids);
        self
    }

    /// Refuse a short-form `DOITONG_SECRET_<ID>_<NAME>` that two known
    /// plugin ids could claim (`google` and `google-tts` both known,
    /// `GOOGLE_TTS_API_KEY` set): the operator must write the exact form.
    pub fn check_secret_names(&self) -> Result<(), ConfigError> {
        let mut known: Vec<String> =
            self.known_plugin_ids.iter().chain(self.plugins.keys()).map(|k| k.replace('-', "_")).collect();
        known.sort();
        known.dedup();
        for key in self.env_secrets.keys().filter(|k| !k.contains("__")) {
            let owners: Vec<&String> = known.iter().filter(|id| key.starts_with(&format!("{id}_"))).collect();
            if let [first, second, ..] = owners.as_slice() {
                let name = |id: &str| key[id.len() + 1..].to_ascii_uppercase();
                return Err(ConfigError::Invalid(format!(
                    "DOITONG_SECRET_{} could be plugin `{}`'s `{}` or plugin `{}`'s `{}`: write \
                     DOITONG_SECRET_{}__{} or DOITONG_SECRET_{}__{}",
                    key.to_ascii_uppercase(),
                    first.replace('_', "-"),
                    name(first).to_ascii_lowercase(),
                    second.replace('_', "-"),
                    name(second).to_ascii_lowercase(),
                    first.to_ascii_uppercase(),
                    name(first),
                    second.to_ascii_uppercase(),
                    name(second),
                )));
            }
        }
        Ok(())
    }

    /// Operator settings for plugin `id`, including `DOITONG_SECRET_*` values.
    ///
    /// `DOITONG_SECRET_<ID>__<NAME>` (two underscores) names its plugin
    /// exactly. The short form `DOITONG_SECRET_<ID>_<NAME>` is ambiguous
    /// (`GOOGLE_TTS_API_KEY` could be plugin `google`'s `tts_api_key` or
    /// `google-tts`'s `api_key`), so it goes to the longest id it can name
    /// among the plugins known (bundled and configured ones, and `id`):
    /// a plugin never receives another known plugin's secret.
    pub fn plugin_settings(&self, id: &str) -> PluginSettings {
        let config = self.plugins.get(id).cloned().unwrap_or_default();
        let mut secrets: std::collections::HashMap<String, String> = config.secrets.into_iter().collect();
        let env_id = id.replace('-', "_");
        let known: Vec<String> = self
            .known_plugin_ids
            .iter()
            .map(String::as_str)
            .chain(self.plugins.keys().map(String::as_str))
            .map(|k| k.replace('-', "_"))
            .filter(|k| k.len() > env_id.len())
            .collect();
        for (key, value) in &self.env_secrets {
            if let Some((owner, name)) = key.split_once("__") {
                if owner == env_id && !name.is_empty() {
                    secrets.insert(name.to_string(), value.clone());
                }
                continue;
            }
            let Some(name) = key.strip_prefix(&format!("{env_id}_")) else { continue };
            let longer_owner = known.iter().any(|other| key.starts_with(&format!("{other}_")));
            if !longer_owner {
                secrets.insert(name.to_string(), value.clone());
            }
        }
        PluginSettings {
            base_url: config.base_url,
            allowed_hosts: config.allowed_hosts,
            allow_private: config.allow_private,
            secrets,
            settings: config.settings.into_iter().collect(),
            sha256: config.sha256.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        }
    }

    /// The limits of `plan` with this configuration's overrides; `None`
    /// for an unknown plan name.
    pub fn plan_limits(&self, plan: &str) -> Option<crate::limits::PlanLimits> {
        let base = crate::limits::default_plan(plan)?;
        Some(match self.plans.get(plan) {
            Some(o) => base.with_overrides(o.rpm, o.concurrent, o.daily),
            None => base,
        })
    }

    /// The operator's fixed price for an offering of plugin `plugin`, if set.
    pub fn credit_override(&self, plugin: &str, offering: &str) -> Option<u32> {
        self.plugins.get(plugin)?.credits.get(offering).copied()
    }

    /// Whether the operator turned plugin `id` off.
    pub fn plugin_enabled(&self, id: &str) -> bool {
        self.plugins.get(id).is_none_or(|p| p.enabled)
    }
}

fn apply_env(table: &mut toml::Table, name: &str, key: &str, value: &str) -> Result<(), ConfigError> {
    let unknown = || ConfigError::Invalid(format!("unknown environment variable {name}"));
    let (path, leaf): (Vec<String>, String) = if TOP_LEVEL_KEYS.contains(&key) {
        (vec![], key.to_string())
    } else if let Some(rest) = key.strip_prefix("webhooks_") {
        (vec!["webhooks".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("sandbox_") {
        (vec!["sandbox".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("jobs_") {
        (vec!["jobs".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("artifacts_") {
        (vec!["artifacts".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("limits_") {
        (vec!["limits".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("metrics_") {
        (vec!["metrics".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("routing_") {
        (vec!["routing".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("http_") {
        (vec!["http".into()], rest.to_string())
    } else if let Some(rest) = key.strip_prefix("plans_") {
        let (plan, limit) = rest.rsplit_once('_').ok_or_else(unknown)?;
        (vec!["plans".into(), plan.to_string()], limit.to_string())
    } else if let Some(rest) = key.strip_prefix("plugins_") {
        let leaf = PLUGIN_KEYS.iter().find(|k| rest.ends_with(&format!("_{k}"))).ok_or_else(unknown)?;
        let id = rest[..rest.len() - leaf.len() - 1].replace('_', "-");
        (vec!["plugins".into(), id], leaf.to_string())
    } else {
        return Err(unknown());
    };
    let parsed = if LIST_KEYS.contains(&leaf.as_str()) {
        toml::Value::Array(value.split(',').map(|s| toml::Value::String(s.trim().to_string())).collect())
    } else {
        parse_scalar(value)
    };
    let mut at = table;
    for part in path {
        at = at
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError::Invalid(format!("{name} conflicts with a non-table value")))?;
    }
    at.insert(leaf, parsed);
    Ok(())
}

/// `true`/`false` and numbers (`7`, `0.5`) become typed values; anything
/// else a string.
fn parse_scalar(value: &str) -> toml::Value {
    if let Ok(b) = value.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if value.contains('.')
        && let Ok(f) = value.parse::<f64>()
    {
        return toml::Value::Float(f);
    }
    toml::Value::String(value.to_string())
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Parse `"5s"`, `"5m"`, `"2h"`, `"1d"`, `"250ms"` into a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    Some(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults() {
        let c = Config::load(None, vec![], toml::Table::new()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./data/doitong.db");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.webhooks.retry_schedule.len(), 7);
    }

    /// A secret named for `google-tts` never reaches a plugin `google`.
    #[test]
    fn secrets_go_to_the_plugin_they_name() {
        let vars = env(&[
            ("DOITONG_SECRET_GOOGLE_TTS_API_KEY", "tts-key"),
            ("DOITONG_SECRET_GOOGLE__TTS_API_KEY", "google-own"),
            ("DOITONG_SECRET_GOOGLE_TOKEN", "google-token"),
        ]);
        let c = Config::load(None, vars, toml::Table::new()).unwrap().with_known_plugins(["google-tts".to_string()]);
        let google = c.plugin_settings("google").secrets;
        assert_eq!(google.get("tts_api_key").map(String::as_str), Some("google-own"), "the exact form only");
        assert_eq!(google.get("token").map(String::as_str), Some("google-token"));
        let tts = c.plugin_settings("google-tts").secrets;
        assert_eq!(tts.get("api_key").map(String::as_str), Some("tts-key"));
        assert_eq!(tts.len(), 1, "{tts:?}");
        c.check_secret_names().unwrap();

        // Both ids known: the short form is refused at start-up, naming both readings.
        let both = c.with_known_plugins(["google".to_string()]);
        let err = both.check_secret_names().unwrap_err().to_string();
        assert!(
            err.contains("DOITONG_SECRET_GOOGLE_TTS__API_KEY") && err.contains("DOITONG_SECRET_GOOGLE__TTS_API_KEY"),
            "{err}"
        );
    }

    /// The deployment guide's files are valid configuration.
    #[test]
    fn the_deployment_guide_configures_a_cluster_node() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deploy/doitong.toml");
        let c = Config::load(Some(&file), vec![], toml::Table::new()).unwrap();
        assert_eq!((c.artifacts.store, c.artifacts.delivery), (ArtifactBackend::S3, Delivery::Redirect));
        assert!(c.database_url.starts_with("postgres://") && c.redis_url.starts_with("redis://"));
        let compose = std::fs::read_to_string(file.with_file_name("compose.yaml")).unwrap();
        let vars: Vec<(String, String)> = compose
            .lines()
            .filter_map(|l| l.trim().split_once(": "))
            .filter(|(k, _)| k.starts_with("DOITONG_"))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        assert!(vars.len() >= 10, "{vars:?}");
        let c = Config::load(None, vars, toml::Table::new()).unwrap();
        assert_eq!(c.artifacts.s3_endpoint, "http://minio:9000");
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("doitong.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\nadmin_token = \"file\"\n[plugins.kling]\nbase_url = \"http://a\"\nsecrets = { access_key = \"f\" }\n[plans.free]\nrpm = 5\n",
        )
        .unwrap();
        let e = env(&[
            ("DOITONG_ADMIN_TOKEN", "env"),
            ("DOITONG_LISTEN", "127.0.0.1:2"),
            ("DOITONG_PLUGINS_KLING_ALLOW_PRIVATE", "true"),
            ("DOITONG_PLUGINS_GOOGLE_TTS_BASE_URL", "http://g"),
            ("DOITONG_PLANS_FREE_DAILY", "7"),
            ("DOITONG_WEBHOOKS_RETRY_SCHEDULE", "1s, 2s"),
            ("DOITONG_SECRET_KLING_SECRET_KEY", "s"),
            ("DOITONG_SECRET_GOOGLE_TTS_API_KEY", "g"),
            ("OTHER", "ignored"),
        ]);
        let mut flags = toml::Table::new();
        flags.insert("listen".into(), toml::Value::String("127.0.0.1:3".into()));
        let c = Config::load(Some(&file), e, flags).unwrap();
        assert_eq!(c.listen.port(), 3);
        assert_eq!(c.admin_token, "env");
        assert_eq!(c.plans["free"].rpm, Some(5));
        assert_eq!(c.plans["free"].daily, Some(7));
        assert_eq!(c.webhooks.retry_schedule, vec!["1s", "2s"]);
        let kling = c.plugin_settings("kling");
        assert_eq!(kling.base_url.as_deref(), Some("http://a"));
        assert!(kling.allow_private);
        assert_eq!(kling.secrets["access_key"], "f");
        assert_eq!(kling.secrets["secret_key"], "s");
        let tts = c.plugin_settings("google-tts");
        assert_eq!(tts.base_url.as_deref(), Some("http://g"));
        assert_eq!(tts.secrets["api_key"], "g");
    }

    #[test]
    fn unknown_keys_are_errors_that_name_them() {
        let err = Config::load(None, env(&[("DOITONG_LISTN", "x")]), toml::Table::new()).unwrap_err();
        assert!(err.to_string().contains("DOITONG_LISTN"), "{err}");
        let mut flags = toml::Table::new();
        flags.insert("colour".into(), toml::Value::Boolean(true));
        let err = Config::load(None, vec![], flags).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10h"), Some(Duration::from_secs(36_000)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("s"), None);
    }

    #[test]
    fn artifact_store_settings_are_checked_at_load() {
        let load = |vars: &[(&str, &str)]| Config::load(None, env(vars), toml::Table::new());
        let c = load(&[("DOITONG_ARTIFACTS_RETENTION_DAYS", "0.5")]).unwrap();
        assert_eq!(c.artifacts.retention(), Some(Duration::from_secs(43_200)));
        assert_eq!(load(&[("DOITONG_ARTIFACTS_RETENTION_DAYS", "30")]).unwrap().artifacts.retention_days, 30.0);
        assert_eq!(load(&[]).unwrap().artifacts.retention(), None, "kept forever by default");
        let err = load(&[("DOITONG_ARTIFACTS_STORE", "s3")]).unwrap_err();
        assert!(err.to_string().contains("s3_bucket"), "{err}");
        let err = load(&[("DOITONG_ARTIFACTS_DELIVERY", "redirect")]).unwrap_err();
        assert!(err.to_string().contains("store = \"s3\""), "{err}");
        assert!(load(&[("DOITONG_ARTIFACTS_RETENTION_DAYS", "-1")]).is_err());
        let c = load(&[("DOITONG_ARTIFACTS_STORE", "s3"), ("DOITONG_ARTIFACTS_S3_BUCKET", "b")]).unwrap();
        assert_eq!((c.artifacts.store, c.artifacts.s3_bucket.as_str()), (ArtifactBackend::S3, "b"));
    }

    #[test]
    fn retry_schedule_is_checked_at_load() {
        let c =
            Config::load(None, env(&[("DOITONG_WEBHOOKS_RETRY_SCHEDULE", "200ms, 1s")]), toml::Table::new()).unwrap();
        assert_eq!(c.webhooks.schedule().unwrap(), vec![Duration::from_millis(200), Duration::from_secs(1)]);
        let default = Config::load(None, vec![], toml::Table::new()).unwrap().webhooks.schedule().unwrap();
        let secs: Vec<u64> = default.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
        let err =
            Config::load(None, env(&[("DOITONG_WEBHOOKS_RETRY_SCHEDULE", "5s,soon")]), toml::Table::new()).unwrap_err();
        assert!(err.to_string().contains("\"soon\""), "{err}");
        let c = Config::load(None, env(&[("DOITONG_SANDBOX_HTTP_TIMEOUT_SECS", "110")]), toml::Table::new()).unwrap();
        assert_eq!(c.sandbox.limits().http_timeout, Duration::from_secs(110));
        let err =
            Config::load(None, env(&[("DOITONG_SANDBOX_HTTP_TIMEOUT_SECS", "121")]), toml::Table::new()).unwrap_err();
        assert!(err.to_string().contains("sandbox.http_timeout_secs"), "{err}");
        let err = Config::load(None, env(&[("DOITONG_WEBHOOKS_TIMEOUT_SECS", "0")]), toml::Table::new()).unwrap_err();
        assert!(err.to_string().contains("timeout_secs"), "{err}");
    }
}
