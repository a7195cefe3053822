//! Operator actions on plugins: install from bytes, enable, disable,
//! remove, and the listing behind the admin `plugins` query; and bringing
//! this node in line with the cluster ([`PluginManager::sync`]).
//!
//! Installing validates completely before anything changes. With a store
//! (always, in a gateway) the component is kept in the database by its
//! SHA-256 and recorded as installed, and every node serves it (see
//! `super::cluster`); disables are kept there too. Versions that running
//! jobs are pinned to are read back from the database when this node does
//! not hold them (after a restart, or for a job another node started).
//!
//! This module must never decide who may call it; the API layer checks the
//! admin token.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::registry::{PluginSource, PluginState, Registry};
use super::runtime::{LoadedPlugin, PluginRuntime};
use super::watcher::SharedSettings;
use super::{PluginError, is_valid_id};
use crate::store::{Store, StoreError};

/// One line of the plugin listing.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// Plugin id (or file name, for a file that failed before its manifest).
    pub id: String,
    /// Semver version, when loaded.
    pub version: Option<String>,
    /// SHA-256 of the `.wasm`, when loaded.
    pub sha256: Option<String>,
    /// `bundled`, `dir` or `uploaded`.
    pub source: &'static str,
    /// Offering ids.
    pub offerings: Vec<String>,
    /// Optional contract interfaces the plugin exports (e.g. `health`).
    pub capabilities: Vec<String>,
    /// State.
    pub state: PluginState,
    /// Most recent load error.
    pub last_error: Option<String>,
    /// When the record last changed.
    pub loaded_at: OffsetDateTime,
}

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The plugin did not validate.
    #[error(transparent)]
    Invalid(#[from] PluginError),
    /// No such plugin.
    #[error("no plugin `{0}` is loaded")]
    Unknown(String),
    /// Bundled plugins cannot be removed (disable them instead).
    #[error("plugin `{0}` is bundled with the server; disable it instead of removing it")]
    Bundled(String),
    /// Writing or deleting the file failed.
    #[error("plugin file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Recording the choice in the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator's handle on the plugin set.
#[derive(Clone)]
pub struct PluginManager {
    runtime: PluginRuntime,
    registry: Arc<Registry>,
    settings: SharedSettings,
    /// Where installs, disables and versions are kept for every node and
    /// across restarts, if anywhere.
    store: Option<Store>,
    /// Versions known to be stored (so each is written once per process).
    stored: Arc<Mutex<HashSet<String>>>,
}

impl PluginManager {
    /// A manager over `registry`.
    pub fn new(runtime: PluginRuntime, registry: Arc<Registry>, settings: SharedSettings) -> Self {
        PluginManager { runtime, registry, settings, store: None, stored: Arc::default() }
    }

    /// Keep installs, disables and versions in `store`, and apply what it
    /// holds now.
    pub async fn with_store(mut self, store: Store) -> Result<Self, ManageError> {
        self.store = Some(store);
        self.sync().await?;
        Ok(self)
    }

    /// The registry this manager changes.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Validate `wasm` and put it into service on every node sharing the
    /// store (replacing a plugin with the same id).
    pub async fn install(&self, wasm: &[u8]) -> Result<LoadedPlugin, ManageError> {
        let plugin = self.runtime.load_with("uploaded plugin", wasm, &*self.settings).await?;
        self.registry.check_offerings(&plugin)?;
        let id = plugin.id().to_string();
        debug_assert!(is_valid_id(&id), "validated manifests have valid ids");
        if let Some(store) = &self.store {
            self.keep(store, &plugin).await?;
            store.set_installed_plugin(&id, Some(plugin.sha256())).await?;
        }
        self.registry.install(plugin.clone(), PluginSource::Uploaded);
        self.announce(&id).await;
        Ok(plugin)
    }

    /// Serve or stop serving a plugin's offerings. With a store the choice
    /// reaches every node and outlives restarts; `[plugins.<id>] enabled =
    /// false` in the config is the operator's other, static switch.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), ManageError> {
        if !self.registry.snapshot().plugins.contains_key(id) {
            return Err(ManageError::Unknown(id.to_string()));
        }
        if let Some(store) = &self.store {
            store.set_plugin_disabled(id, !enabled).await?;
        }
        self.registry.set_enabled(id, enabled);
        self.announce(id).await;
        Ok(())
    }

    /// Unload a plugin installed through the API (on every node) or from
    /// this node's directory (deleting its file); running jobs finish on
    /// it. A bundled version it overrode comes back.
    pub async fn remove(&self, id: &str) -> Result<(), ManageError> {
        let snapshot = self.registry.snapshot();
        let record = snapshot.plugins.get(id).ok_or_else(|| ManageError::Unknown(id.to_string()))?;
        match &record.source {
            PluginSource::Bundled => Err(ManageError::Bundled(id.to_string())),
            PluginSource::Uploaded => {
                if let Some(store) = &self.store {
                    store.set_installed_plugin(id, None).await?;
                }
                self.registry.unload(id);
                self.announce(id).await;
                Ok(())
            }
            PluginSource::Directory(path) => {
                let path = path.clone();
                self.registry.remove_file(&path);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(source) => Err(ManageError::Io { path, source }),
                }
            }
        }
    }

    /// Bring this node in line with the store: serve the installed
    /// versions (read from the database), drop removed ones, and apply the
    /// disables. Idempotent; cheap when nothing changed.
    pub async fn sync(&self) -> Result<(), ManageError> {
        let Some(store) = &self.store else { return Ok(()) };
        for row in store.installed_plugins().await? {
            let id = &row.plugin_id;
            match row.sha256 {
                Some(sha) => {
                    let serving = self.registry.snapshot().plugins.get(id).is_some_and(|r| {
                        r.source == PluginSource::Uploaded && r.plugin.as_ref().is_some_and(|p| p.sha256() == sha)
                    });
                    if serving {
                        continue;
                    }
                    match self.stored_version(store, &sha).await {
                        Ok(Some(plugin)) => match self.registry.check_offerings(&plugin) {
                            Ok(()) => self.registry.install(plugin, PluginSource::Uploaded),
                            Err(e) => self.registry.record_failure(id, PluginSource::Uploaded, &e),
                        },
                        Ok(None) => {
                            tracing::error!(plugin = %id, sha256 = %sha, "installed version missing from the database")
                        }
                        Err(e) => self.registry.record_failure(id, PluginSource::Uploaded, &e),
                    }
                }
                None if self.registry.serves_uploaded(id) => self.registry.unload(id),
                None => {}
            }
        }
        let disabled: HashSet<String> = store.disabled_plugins().await?.into_iter().collect();
        let known: Vec<String> = self.registry.snapshot().plugins.keys().cloned().collect();
        for id in known.iter().chain(disabled.iter()) {
            let want_disabled = disabled.contains(id);
            if self.registry.is_disabled(id) != want_disabled {
                self.registry.set_enabled(id, !want_disabled);
            }
        }
        Ok(())
    }

    /// Keep `plugin`'s version in the database before a job is pinned to
    /// it, so the job finishes on it after a restart or on another node
    /// (once per version and process; a failure is logged, not fatal).
    pub async fn keep_version(&self, plugin: &LoadedPlugin) {
        if let Some(store) = &self.store
            && let Err(e) = self.keep(store, plugin).await
        {
            tracing::warn!(plugin = plugin.id(), "storing the plugin version failed: {e}");
        }
    }

    /// Version `sha256` of plugin `id` for a job pinned to it: held here,
    /// or read back from the database (and held from then on).
    pub async fn pinned(&self, id: &str, sha256: &str) -> Option<LoadedPlugin> {
        if let Some(plugin) = self.registry.version(id, sha256) {
            return Some(plugin);
        }
        let store = self.store.as_ref()?;
        match self.stored_version(store, sha256).await {
            Ok(Some(plugin)) if plugin.id() == id => {
                tracing::info!(plugin = id, sha256 = &sha256[..12.min(sha256.len())], "pinned version read back");
                self.registry.add_version(plugin.clone());
                Some(plugin)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(plugin = id, "pinned version {sha256} does not load: {e}");
                None
            }
        }
    }

    /// What every node sharing the store last reported serving.
    pub async fn node_states(&self) -> Result<Vec<crate::store::plugins::NodePlugin>, ManageError> {
        match &self.store {
            Some(store) => Ok(store.node_plugins().await?),
            None => Ok(Vec::new()),
        }
    }

    /// Load version `sha256` from the database.
    async fn stored_version(&self, store: &Store, sha256: &str) -> Result<Option<LoadedPlugin>, PluginError> {
        let wasm = match store.plugin_blob(sha256).await {
            Ok(Some(w)) => w,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!("reading plugin version {sha256} failed: {e}");
                return Ok(None);
            }
        };
        let plugin = self.runtime.load_with("stored plugin", &wasm, &*self.settings).await?;
        Ok(Some(plugin))
    }

    /// Store `plugin`'s component unless this process did already.
    async fn keep(&self, store: &Store, plugin: &LoadedPlugin) -> Result<(), StoreError> {
        if self.stored.lock().expect("never poisoned").contains(plugin.sha256()) {
            return Ok(());
        }
        store.save_plugin_blob(plugin.sha256(), plugin.id(), &plugin.version().to_string(), plugin.wasm()).await?;
        self.stored.lock().expect("never poisoned").insert(plugin.sha256().to_string());
        Ok(())
    }

    /// Tell the other nodes (a failure only delays them until their next
    /// periodic check).
    async fn announce(&self, id: &str) {
        if let Some(store) = &self.store
            && let Err(e) = store.notify_plugins_changed(id).await
        {
            tracing::warn!(plugin = id, "announcing the plugin change failed: {e}");
        }
    }

    /// Every plugin record, plus versions that no longer serve but still
    /// finish running jobs (state `Draining`).
    pub fn list(&self) -> Vec<PluginInfo> {
        let snapshot = self.registry.snapshot();
        let mut out: Vec<PluginInfo> = snapshot
            .plugins
            .values()
            .map(|r| PluginInfo {
                id: r.id.clone(),
                version: r.plugin.as_ref().map(|p| p.version().to_string()),
                sha256: r.plugin.as_ref().map(|p| p.sha256().to_string()),
                source: match r.source {
                    PluginSource::Bundled => "bundled",
                    PluginSource::Directory(_) => "dir",
                    PluginSource::Uploaded => "uploaded",
                },
                offerings: r
                    .plugin
                    .as_ref()
                    .map(|p| p.manifest_info().offerings.iter().map(|o| o.id.clone()).collect())
                    .unwrap_or_default(),
                capabilities: r.plugin.as_ref().map(|p| p.capabilities().to_vec()).unwrap_or_default(),
                state: r.state,
                last_error: r.last_error.clone(),
                loaded_at: r.loaded_at,
            })
            .collect();
        for p in self.registry.versions() {
            let serving =
                snapshot.plugins.get(p.id()).and_then(|r| r.plugin.as_ref()).is_some_and(|s| s.sha256() == p.sha256());
            if !serving {
                out.push(PluginInfo {
                    id: p.id().to_string(),
                    version: Some(p.version().to_string()),
                    sha256: Some(p.sha256().to_string()),
                    source: "dir",
                    offerings: p.manifest_info().offerings.iter().map(|o| o.id.clone()).collect(),
                    capabilities: p.capabilities().to_vec(),
                    state: PluginState::Draining,
                    last_error: None,
                    loaded_at: OffsetDateTime::now_utc(),
                });
            }
        }
        out
    }
}
