//! Assembling a running gateway from a [`Config`]: store, plugin runtime and
//! registry, artifact store, job service and worker, webhook service and
//! delivery worker, and the HTTP router.
//!
//! [`Gateway::start`] is what `doitong serve` calls and what an embedding
//! application calls; [`Gateway::router`] can be served alone or nested
//! under a prefix of another axum app.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::admin::Admin;
use crate::artifacts::ArtifactStore;
use crate::background::Background;
use crate::builder::GatewayBuilder;
use crate::config::{Config, ConfigError};
use crate::jobs::Jobs;
use crate::limits::Counters;
use crate::metrics::Metrics;
use crate::plugins::watcher::{self, PluginWatcher, SharedSettings, WatchError};
use crate::plugins::{CacheKey, PluginInfo, PluginManager, PluginRuntime, Registry, runtime::RuntimeInitError};
use crate::store::{Store, StoreError};
use crate::webhooks::Webhooks;

/// The plugins compiled into this binary.
pub mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

    /// The `.wasm` of bundled plugin crate `plugins/<name>` (e.g. `placeholder`).
    pub fn plugin(name: &str) -> Option<&'static [u8]> {
        let file = format!("doitong_plugin_{}.wasm", name.replace('-', "_"));
        BUNDLED_PLUGINS.iter().find(|(f, _)| *f == file).map(|(_, wasm)| *wasm)
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Plugin runtime.
    #[error(transparent)]
    Runtime(#[from] RuntimeInitError),
    /// Watching the plugins directory.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// Plugins shared through the database.
    #[error(transparent)]
    Plugins(#[from] crate::plugins::ManageError),
    /// Artifact store.
    #[error(transparent)]
    Artifacts(#[from] crate::artifacts::ArtifactError),
    /// Rate-limit backend.
    #[error("rate-limit counters: {0}")]
    Limits(#[from] crate::limits::LimitError),
    /// Filesystem.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A running gateway.
pub struct Gateway {
    config: Arc<Config>,
    jobs: Jobs,
    runtime: PluginRuntime,
    manager: PluginManager,
    worker: Option<Background>,
    health_checks: Option<Background>,
    webhooks: Webhooks,
    webhook_worker: Option<Background>,
    purge: Option<Background>,
    upload_purge: Option<Background>,
    cluster: Option<Background>,
    _watcher: PluginWatcher,
    router: Router,
    /// The key created for the `default` account on a brand-new database.
    pub first_run_key: Option<String>,
}

impl Gateway {
    /// Open the store (migrating it), load plugins, start the worker.
    pub async fn start(mut config: Config) -> Result<Gateway, StartError> {
        config.fill_defaults();
        let ids = bundled_ids(&config);
        let config = config.with_known_plugins(ids);
        config.check_secret_names()?;
        let config = Arc::new(config);
        for dir in [config.data_dir.clone(), config.plugins_dir()] {
            std::fs::create_dir_all(&dir).map_err(|source| StartError::DataDir { path: dir.clone(), source })?;
        }
        let store = Store::open(&config.database_url).await?;
        if store.is_sqlite() {
            let released = store.release_all_leases().await?;
            if released > 0 {
                tracing::info!(released, "resuming jobs left leased by a previous run");
            }
            let released = store.release_delivery_leases().await?;
            if released > 0 {
                tracing::info!(released, "re-sending webhook deliveries cut off by a previous run");
            }
        }
        let first_run_key = if store.has_accounts().await? {
            None
        } else {
            let account = store.create_account("default", "free", 1000).await?;
            let (key, _) = store.create_key(&account.id, true).await?;
            Some(key)
        };

        // Compiled plugins are signed with a key only the database knows,
        // so a shared or writable cache directory cannot inject native code.
        let cache_secret = match config.cache_key.as_str() {
            "" => store.setting_or_insert("compile_cache_key", || hex::encode(rand::random::<[u8; 32]>())).await?,
            configured => configured.to_string(),
        };
        let cache = CacheKey::new(config.compile_cache_dir(), cache_secret.into_bytes());
        let runtime = PluginRuntime::new(config.sandbox.limits(), Some(cache))?;
        let (manager, registry, plugins_dir, settings) = load_plugins(&config, &runtime).await?;
        // Installs, disables and versions shared by every node, kept across restarts.
        let manager = manager.with_store(store.clone()).await?;
        let cluster = crate::plugins::cluster::spawn(manager.clone(), store.clone(), node_name(&config));
        let watcher = watcher::watch(&plugins_dir, registry.clone(), runtime.clone(), settings)?;

        let secret =
            store.setting_or_insert("artifact_signing_key", || hex::encode(rand::random::<[u8; 32]>())).await?;
        let artifacts = ArtifactStore::from_config(
            &config.artifacts,
            &config.data_dir.join("artifacts"),
            hex::decode(&secret).unwrap_or_else(|_| secret.into_bytes()),
            config.public_url.clone(),
        )?;
        let purge = config.artifacts.retention().map(|retention| {
            let interval = Duration::from_secs(config.artifacts.purge_interval_secs);
            crate::artifacts::retention::spawn(store.clone(), artifacts.clone(), retention, interval)
        });
        let metrics = Metrics::new(runtime.call_metrics());
        let webhooks = Webhooks::new(store.clone(), runtime.net().clone(), config.clone(), metrics.clone())?;
        let jobs = Jobs::new(store, manager.clone(), artifacts, runtime.net().clone(), config.clone(), metrics);
        // Read what other nodes saw before the first request is routed.
        if let Err(e) = jobs.health().refresh().await {
            tracing::warn!("reading offering health failed: {e}");
        }
        let health_checks = Some(jobs.spawn_health_checks());
        let upload_purge = Some(jobs.spawn_upload_purge());
        let worker = (config.jobs.workers > 0).then(|| jobs.spawn_worker());
        // Nodes that run jobs deliver webhooks; an API-only node leaves its
        // events in the shared outbox for them (see `crate::webhooks`).
        let webhook_worker = (config.jobs.workers > 0).then(|| webhooks.spawn_worker());
        let counters = Arc::new(if config.redis_url.is_empty() {
            Counters::memory()
        } else {
            Counters::redis(&config.redis_url, "doitong:rl:").await?
        });
        let schema = crate::graphql::build_schema(jobs.clone(), counters.clone(), manager.clone(), webhooks.clone());
        let router = crate::graphql::router(schema, jobs.clone(), counters);
        Ok(Gateway {
            config,
            jobs,
            webhooks,
            runtime,
            manager,
            worker,
            health_checks,
            webhook_worker,
            purge,
            upload_purge,
            cluster: Some(cluster),
            _watcher: watcher,
            router,
            first_run_key,
        })
    }

    /// Configure a gateway step by step (the same settings as [`Config`]).
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::new()
    }

    /// The HTTP routes (`/graphql`, `/graphql/ws`, `/files/…`, `/healthz`,
    /// `/readyz`, `/metrics`), with request ids and request metrics.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The job service, for typed calls without HTTP.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// Operator actions on accounts, credits, plans and keys.
    pub fn admin(&self) -> Admin {
        Admin::new(self.jobs.store().clone())
    }

    /// The webhook service.
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }

    /// The plugin runtime.
    pub fn runtime(&self) -> &PluginRuntime {
        &self.runtime
    }

    /// Operator actions on plugins (install, enable, disable, remove, list).
    pub fn plugins(&self) -> &PluginManager {
        &self.manager
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The plugins a gateway with `config` would serve (bundled and in the
    /// plugins directory), loaded without starting anything: what
    /// `doitong plugins list` shows.
    pub async fn inspect_plugins(mut config: Config) -> Result<Vec<PluginInfo>, StartError> {
        config.fill_defaults();
        let ids = bundled_ids(&config);
        let config = Arc::new(config.with_known_plugins(ids));
        // No database here, so no cache key: compile without the cache.
        let runtime = PluginRuntime::new(config.sandbox.limits(), None)?;
        let (manager, ..) = load_plugins(&config, &runtime).await?;
        Ok(manager.list())
    }

    /// Stop the workers: steps in flight finish within
    /// `shutdown_grace_secs` and the jobs of those that do not are handed
    /// back (their leases dropped, so another node resumes them at once);
    /// then the webhook deliveries due now are sent, within the grace.
    /// Jobs still running at the vendor resume on another node or the next
    /// start, and deliveries left in the outbox are sent from there.
    pub async fn shutdown(mut self) {
        if let Some(worker) = self.worker.take() {
            worker.shutdown().await;
        }
        if let Some(worker) = self.webhook_worker.take() {
            worker.shutdown().await;
        }
        if let Some(checks) = self.health_checks.take() {
            checks.shutdown().await;
        }
        for purge in [self.purge.take(), self.upload_purge.take()].into_iter().flatten() {
            purge.shutdown().await;
        }
        if let Some(cluster) = self.cluster.take() {
            cluster.shutdown().await;
        }
        self.jobs.store().close().await;
    }
}

/// The ids of the bundled plugins (`doitong_plugin_google_tts.wasm` →
/// `google-tts`), known before they load.
fn bundled_ids(config: &Config) -> Vec<String> {
    if !config.bundled_plugins {
        return Vec::new();
    }
    bundled::BUNDLED_PLUGINS
        .iter()
        .filter_map(|(file, _)| file.strip_prefix("doitong_plugin_")?.strip_suffix(".wasm"))
        .map(|id| id.replace('_', "-"))
        .collect()
}

/// `node_name`, else `<hostname>:<listen port>`.
fn node_name(config: &Config) -> String {
    if !config.node_name.is_empty() {
        return config.node_name.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", config.listen.port())
}

/// Load the bundled plugins and the plugins directory into a new registry.
async fn load_plugins(
    config: &Arc<Config>,
    runtime: &PluginRuntime,
) -> Result<(PluginManager, Arc<Registry>, std::path::PathBuf, SharedSettings), StartError> {
    let registry = Arc::new(Registry::default());
    let bundled: &[(&str, &[u8])] = if config.bundled_plugins { bundled::BUNDLED_PLUGINS } else { &[] };
    std::fs::create_dir_all(config.plugins_dir())
        .map_err(|source| StartError::DataDir { path: config.plugins_dir(), source })?;
    // Canonical, because the watcher reports canonical paths and the
    // registry keys directory plugins by path.
    let plugins_dir = std::fs::canonicalize(config.plugins_dir())
        .map_err(|source| StartError::DataDir { path: config.plugins_dir(), source })?;
    let settings_config = config.clone();
    let settings: SharedSettings = Arc::new(move |id: &str| settings_config.plugin_settings(id));
    registry.load_initial(runtime, bundled, Some(&plugins_dir), &*settings).await;
    let manager = PluginManager::new(runtime.clone(), registry.clone(), settings.clone());
    Ok((manager, registry, plugins_dir, settings))
}
