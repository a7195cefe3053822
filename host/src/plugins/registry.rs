//! The set of loaded plugins, as an immutable snapshot behind an `ArcSwap`.
//!
//! Readers (every request) take the current snapshot without locking;
//! writers build a new snapshot and swap it in whole, so a request never
//! sees half a change. Every plugin version ever loaded stays reachable by
//! `(id, sha256)` while jobs that started on it may still poll it.
//!
//! A plugin that fails to load appears as a record in state `Failed` with
//! its error; if an older version of the same id was serving, it keeps
//! serving.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use super::runtime::{LoadedPlugin, PluginRuntime, PluginSettings};

use super::{Offering, PluginError};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Compiled into the host binary.
    Bundled,
    /// A `.wasm` file in the plugins directory.
    Directory(PathBuf),
    /// Uploaded through the admin API.
    Uploaded,
}

/// Lifecycle state of a plugin record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginState {
    /// Serving new requests.
    Loaded,
    /// The latest attempt to load failed (an older version may still serve).
    Failed,
    /// Being replaced or removed; finishing in-flight work only.
    Draining,
    /// Turned off by the operator.
    Disabled,
}

/// One entry of the registry.
#[derive(Clone)]
pub struct PluginRecord {
    /// Plugin id, or the file name when loading failed before the manifest.
    pub id: String,
    /// The serving version, if any.
    pub plugin: Option<LoadedPlugin>,
    /// Origin.
    pub source: PluginSource,
    /// State.
    pub state: PluginState,
    /// The most recent load error.
    pub last_error: Option<String>,
    /// When this record last changed.
    pub loaded_at: OffsetDateTime,
}

/// An immutable view of every plugin.
#[derive(Clone, Default)]
pub struct Snapshot {
    /// Records by id.
    pub plugins: BTreeMap<String, PluginRecord>,
    /// Offering id → plugin id, for serving plugins only.
    offerings: BTreeMap<String, String>,
}

impl Snapshot {
    fn rebuild_offerings(&mut self) {
        self.offerings.clear();
        for (id, record) in &self.plugins {
            if record.state != PluginState::Loaded {
                continue;
            }
            if let Some(plugin) = &record.plugin {
                for offering in &plugin.manifest_info().offerings {
                    self.offerings.entry(offering.id.clone()).or_insert_with(|| id.clone());
                }
            }
        }
    }

    /// The serving plugin and offering for an offering id.
    pub fn offering(&self, id: &str) -> Option<(LoadedPlugin, Offering)> {
        let plugin = self.plugins.get(self.offerings.get(id)?)?.plugin.clone()?;
        let offering = plugin.manifest_info().offerings.iter().find(|o| o.id == id)?.clone();
        Some((plugin, offering))
    }

    /// Every serving offering with its plugin, ordered by offering id.
    pub fn offerings(&self) -> Vec<(LoadedPlugin, Offering)> {
        self.offerings.keys().filter_map(|id| self.offering(id)).collect()
    }
}

/// The live registry.
pub struct Registry {
    current: ArcSwap<Snapshot>,
    /// Every version loaded since start, by (plugin id, sha256).
    versions: Mutex<HashMap<(String, String), LoadedPlugin>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { current: ArcSwap::from_pointee(Snapshot::default()), versions: Mutex::new(HashMap::new()) }
    }
}

/// Supplies operator settings for a plugin id.
pub type SettingsFor<'a> = &'a (dyn Fn(&str) -> PluginSettings + Sync);

impl Registry {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// A specific version, for jobs pinned to it; falls back to nothing.
    pub fn version(&self, id: &str, sha256: &str) -> Option<LoadedPlugin> {
        self.versions.lock().expect("registry lock").get(&(id.to_string(), sha256.to_string())).cloned()
    }

    /// Apply `change` to a copy of the current snapshot and swap it in.
    /// `rcu` may run the closure again if another writer raced us, so
    /// `change` must be repeatable.
    fn update(&self, change: impl Fn(&mut Snapshot)) {
        self.current.rcu(|current| {
            let mut next = Snapshot::clone(current);
            change(&mut next);
            next.rebuild_offerings();
            next
        });
    }

    /// Put a loaded plugin into service under its id, replacing any other
    /// version (which keeps serving the jobs that pinned it).
    pub fn install(&self, plugin: LoadedPlugin, source: PluginSource) {
        let id = plugin.id().to_string();
        self.versions.lock().expect("registry lock").insert((id.clone(), plugin.sha256().to_string()), plugin.clone());
        self.update(|snap| {
            snap.plugins.insert(
                id.clone(),
                PluginRecord {
                    id: id.clone(),
                    plugin: Some(plugin.clone()),
                    source: source.clone(),
                    state: PluginState::Loaded,
                    last_error: None,
                    loaded_at: OffsetDateTime::now_utc(),
                },
            );
        });
    }

    /// Record a failed load under `key` (the plugin id if known, else the
    /// file name). A serving version under that key keeps serving.
    pub fn record_failure(&self, key: &str, source: PluginSource, error: &PluginError) {
        let message = error.to_string();
        tracing::error!(plugin = key, "plugin failed to load: {message}");
        self.update(|snap| {
            let entry = snap.plugins.entry(key.to_string()).or_insert_with(|| PluginRecord {
                id: key.to_string(),
                plugin: None,
                source: source.clone(),
                state: PluginState::Failed,
                last_error: None,
                loaded_at: OffsetDateTime::now_utc(),
            });
            entry.last_error = Some(message.clone());
            if entry.plugin.is_none() {
                entry.state = PluginState::Failed;
            }
        });
    }

    /// Load the bundled plugins, then every `*.wasm` in `dir` (a file whose
    /// plugin id matches a bundled one overrides it). Failures are recorded,
    /// not returned: one bad file never stops the others.
    pub async fn load_initial(
        &self,
        runtime: &PluginRuntime,
        bundled: &[(&str, &[u8])],
        dir: Option<&Path>,
        settings: SettingsFor<'_>,
    ) {
        for (name, wasm) in bundled {
            self.load_one(runtime, name, wasm, PluginSource::Bundled, settings).await;
        }
        let Some(dir) = dir else { return };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect(),
            Err(_) => return,
        };
        files.sort();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match std::fs::read(&path) {
                Ok(wasm) => self.load_one(runtime, &name, &wasm, PluginSource::Directory(path.clone()), settings).await,
                Err(e) => tracing::error!(file = %path.display(), "cannot read plugin: {e}"),
            }
        }
    }

    async fn load_one(
        &self,
        runtime: &PluginRuntime,
        name: &str,
        wasm: &[u8],
        source: PluginSource,
        settings: SettingsFor<'_>,
    ) {
        match runtime.load_with(name, wasm, settings).await {
            Ok(plugin) => {
                tracing::info!(
                    plugin = plugin.id(),
                    version = %plugin.version(),
                    offerings = plugin.manifest_info().offerings.len(),
                    "plugin loaded from {name}"
                );
                self.install(plugin, source);
            }
            Err(e) => self.record_failure(name, source, &e),
        }
    }
}
