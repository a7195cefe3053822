//! Operator actions on plugins: install from bytes, enable, disable,
//! remove, and the listing behind the admin `plugins` query.
//!
//! Installing validates completely before anything changes, then writes the
//! file into the plugins directory (temporary name, then rename) and swaps
//! it in, so the running server and the next start agree. This module must
//! never decide who may call it; the API layer checks the admin token.

use std::path::PathBuf;
use std::sync::Arc;

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
    dir: PathBuf,
    settings: SharedSettings,
    /// Where runtime disables are kept across restarts, if anywhere.
    store: Option<Store>,
}

impl PluginManager {
    /// A manager over `registry`, installing into `dir`.
    pub fn new(runtime: PluginRuntime, registry: Arc<Registry>, dir: PathBuf, settings: SharedSettings) -> Self {
        PluginManager { runtime, registry, dir, settings, store: None }
    }

    /// Keep runtime disables in `store`, and apply the ones it holds now.
    pub async fn with_store(mut self, store: Store) -> Result<Self, StoreError> {
        for id in store.disabled_plugins().await? {
            self.registry.set_enabled(&id, false);
        }
        self.store = Some(store);
        Ok(self)
    }

    /// Validate `wasm` and put it into service, saved as `<dir>/<id>.wasm`.
    pub async fn install(&self, wasm: &[u8]) -> Result<LoadedPlugin, ManageError> {
        let plugin = self.runtime.load_with("uploaded plugin", wasm, &*self.settings).await?;
        let id = plugin.id().to_string();
        debug_assert!(is_valid_id(&id), "validated manifests have valid ids");
        let path = self.dir.join(format!("{id}.wasm"));
        let tmp = self.dir.join(format!(".{id}.wasm.uploading"));
        let io = |source| ManageError::Io { path: path.clone(), source };
        std::fs::write(&tmp, wasm).map_err(io)?;
        // Register first so the watcher, seeing the file, finds it serving.
        self.registry.install(plugin.clone(), PluginSource::Uploaded(path.clone()));
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(plugin)
    }

    /// Serve or stop serving a plugin's offerings. With a store the choice
    /// outlives restarts (other nodes sharing the database apply it when
    /// they start); `[plugins.<id>] enabled = false` in the config is the
    /// operator's other, static switch.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), ManageError> {
        if !self.registry.snapshot().plugins.contains_key(id) {
            return Err(ManageError::Unknown(id.to_string()));
        }
        if let Some(store) = &self.store {
            store.set_plugin_disabled(id, !enabled).await?;
        }
        self.registry.set_enabled(id, enabled);
        Ok(())
    }

    /// Unload a plugin installed from the directory or uploaded, deleting
    /// its file; running jobs finish on it. A bundled version it overrode
    /// comes back.
    pub fn remove(&self, id: &str) -> Result<(), ManageError> {
        let snapshot = self.registry.snapshot();
        let record = snapshot.plugins.get(id).ok_or_else(|| ManageError::Unknown(id.to_string()))?;
        match &record.source {
            PluginSource::Bundled => Err(ManageError::Bundled(id.to_string())),
            PluginSource::Directory(path) | PluginSource::Uploaded(path) => {
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
                    PluginSource::Uploaded(_) => "uploaded",
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
