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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::runtime::{LoadedPlugin, PluginRuntime, PluginSettings};

use super::{Offering, PluginError};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Compiled into the host binary.
    Bundled,
    /// A `.wasm` file in the plugins directory.
    Directory(PathBuf),
    /// Installed through the admin API: kept in the database and served by
    /// every node (see `super::cluster`). Wins over a directory file and a
    /// bundled plugin with the same id.
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

    /// [`offerings`](Self::offerings) by reference, without cloning any
    /// (routing reads every one on each request).
    pub fn offering_refs(&self) -> impl Iterator<Item = (&LoadedPlugin, &Offering)> {
        self.offerings.iter().filter_map(|(id, plugin_id)| {
            let plugin = self.plugins.get(plugin_id)?.plugin.as_ref()?;
            let offering = plugin.manifest_info().offerings.iter().find(|o| o.id == *id)?;
            Some((plugin, offering))
        })
    }
}

/// The live registry.
pub struct Registry {
    current: ArcSwap<Snapshot>,
    /// Every version loaded since start, by (plugin id, sha256), kept while
    /// jobs may still poll it (see [`Registry::prune_versions`]).
    versions: Mutex<HashMap<(String, String), LoadedPlugin>>,
    /// Bundled versions, restored when a directory override is removed.
    bundled: Mutex<HashMap<String, LoadedPlugin>>,
    /// Plugin id of each file loaded from the plugins directory.
    files: Mutex<HashMap<PathBuf, String>>,
    /// Ids the operator disabled at run time.
    disabled: Mutex<HashSet<String>>,
    /// Bumped after every change, so callers can await a swap.
    changes: watch::Sender<u64>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            current: ArcSwap::from_pointee(Snapshot::default()),
            versions: Mutex::new(HashMap::new()),
            bundled: Mutex::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
            disabled: Mutex::new(HashSet::new()),
            changes: watch::channel(0).0,
        }
    }
}

/// Supplies operator settings for a plugin id.
pub type SettingsFor<'a> = &'a (dyn Fn(&str) -> PluginSettings + Sync);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Registry {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// A receiver that sees a new value after every change (load, swap,
    /// failure, removal, enable/disable).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A specific version, for jobs pinned to it.
    pub fn version(&self, id: &str, sha256: &str) -> Option<LoadedPlugin> {
        lock(&self.versions).get(&(id.to_string(), sha256.to_string())).cloned()
    }

    /// Hold `plugin` as a version jobs may be pinned to, without serving it
    /// (a version read back from the database after a restart).
    pub fn add_version(&self, plugin: LoadedPlugin) {
        lock(&self.versions).insert((plugin.id().to_string(), plugin.sha256().to_string()), plugin);
    }

    /// Every version still held (serving or draining).
    pub fn versions(&self) -> Vec<LoadedPlugin> {
        lock(&self.versions).values().cloned().collect()
    }

    /// Forget versions that no longer serve and for which `in_use(id, sha)`
    /// is false (no active job pinned to them). Returns how many.
    pub fn prune_versions(&self, in_use: &dyn Fn(&str, &str) -> bool) -> usize {
        let snapshot = self.snapshot();
        let serving = |id: &str, sha: &str| {
            snapshot.plugins.get(id).and_then(|r| r.plugin.as_ref()).is_some_and(|p| p.sha256() == sha)
        };
        let bundled = lock(&self.bundled);
        let mut versions = lock(&self.versions);
        let before = versions.len();
        versions.retain(|(id, sha), _| {
            serving(id, sha) || bundled.get(id).is_some_and(|b| b.sha256() == sha) || in_use(id, sha)
        });
        before - versions.len()
    }

    /// Apply `change` to a copy of the current snapshot and swap it in.
    /// `rcu` may run the closure again if another writer raced us, so
    /// `change` must be repeatable.
    fn update(&self, change: impl Fn(&mut Snapshot)) {
        let disabled = lock(&self.disabled).clone();
        self.current.rcu(|current| {
            let mut next = Snapshot::clone(current);
            change(&mut next);
            for record in next.plugins.values_mut() {
                match (disabled.contains(&record.id), record.state) {
                    (true, PluginState::Loaded) => record.state = PluginState::Disabled,
                    (false, PluginState::Disabled) => record.state = PluginState::Loaded,
                    _ => {}
                }
            }
            next.rebuild_offerings();
            next
        });
        self.changes.send_modify(|n| *n += 1);
    }

    /// Put a loaded plugin into service under its id, replacing any other
    /// version (which keeps serving the jobs that pinned it).
    pub fn install(&self, plugin: LoadedPlugin, source: PluginSource) {
        let id = plugin.id().to_string();
        lock(&self.versions).insert((id.clone(), plugin.sha256().to_string()), plugin.clone());
        match &source {
            PluginSource::Bundled => {
                lock(&self.bundled).insert(id.clone(), plugin.clone());
            }
            PluginSource::Directory(path) => {
                lock(&self.files).insert(path.clone(), id.clone());
            }
            PluginSource::Uploaded => {}
        }
        let loaded_at = OffsetDateTime::now_utc();
        self.update(|snap| {
            // A file that failed before its manifest was read may have left
            // a record under its file name; the plugin now has its id.
            if let PluginSource::Directory(path) = &source
                && let Some(name) = path.file_name().and_then(|n| n.to_str())
                && snap.plugins.get(name).is_some_and(|r| r.plugin.is_none())
            {
                snap.plugins.remove(name);
            }
            snap.plugins.insert(
                id.clone(),
                PluginRecord {
                    id: id.clone(),
                    plugin: Some(plugin.clone()),
                    source: source.clone(),
                    state: PluginState::Loaded,
                    last_error: None,
                    loaded_at,
                },
            );
        });
        tracing::info!(plugin = %id, version = %plugin.version(), sha256 = %&plugin.sha256()[..12], "plugin serving");
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

    /// Turn a plugin's offerings off or on at run time.
    pub fn set_enabled(&self, id: &str, enabled: bool) {
        if enabled {
            lock(&self.disabled).remove(id);
        } else {
            lock(&self.disabled).insert(id.to_string());
        }
        self.update(|_| {});
    }

    /// Whether the operator disabled `id` at run time.
    pub fn is_disabled(&self, id: &str) -> bool {
        lock(&self.disabled).contains(id)
    }

    /// Stop serving plugin `id` (its running jobs finish on their version).
    /// A bundled version comes back if a directory file had overridden it.
    pub fn unload(&self, id: &str) {
        let bundled = lock(&self.bundled).get(id).cloned();
        lock(&self.files).retain(|_, v| v != id);
        match bundled {
            Some(plugin) => {
                let serving_bundled = self
                    .snapshot()
                    .plugins
                    .get(id)
                    .is_some_and(|r| r.source == PluginSource::Bundled && r.plugin.is_some());
                if !serving_bundled {
                    self.install(plugin, PluginSource::Bundled);
                }
            }
            None => {
                self.update(|snap| {
                    snap.plugins.remove(id);
                });
                tracing::info!(plugin = id, "plugin unloaded");
            }
        }
    }

    /// Refuse `plugin` if another plugin (any other id, serving or
    /// disabled) declares one of its offering ids.
    pub fn check_offerings(&self, plugin: &LoadedPlugin) -> Result<(), PluginError> {
        let snapshot = self.snapshot();
        for other in snapshot.plugins.values().filter(|r| r.id != plugin.id()) {
            let Some(serving) = &other.plugin else { continue };
            for offering in &plugin.manifest_info().offerings {
                if serving.manifest_info().offerings.iter().any(|o| o.id == offering.id) {
                    return Err(PluginError::OfferingTaken {
                        plugin: plugin.id().to_string(),
                        offering: offering.id.clone(),
                        serving: other.id.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether plugin `id` serves an uploaded (cluster-wide) version.
    pub fn serves_uploaded(&self, id: &str) -> bool {
        self.snapshot().plugins.get(id).is_some_and(|r| r.source == PluginSource::Uploaded && r.plugin.is_some())
    }

    /// The plugin id a directory file was loaded as.
    pub fn id_of_file(&self, path: &Path) -> Option<String> {
        lock(&self.files).get(path).cloned()
    }

    /// (Re)load one file of the plugins directory: validate it completely
    /// and only then swap it in. A file whose bytes are already serving is
    /// left alone; a failure leaves any serving version in place.
    pub async fn load_file(&self, runtime: &PluginRuntime, path: &Path, settings: SettingsFor<'_>) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let known_id = self.id_of_file(path);
        let wasm = match std::fs::read(path) {
            Ok(w) => w,
            Err(e) => return tracing::warn!(file = %path.display(), "cannot read plugin: {e}"),
        };
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&wasm));
        if let Some(id) = &known_id {
            let serving = self.snapshot().plugins.get(id).and_then(|r| r.plugin.clone());
            if serving.is_some_and(|p| p.sha256() == sha) {
                return;
            }
        }
        let source = PluginSource::Directory(path.to_path_buf());
        match runtime.load_with(&name, &wasm, settings).await {
            Ok(plugin) if self.check_offerings(&plugin).is_err() => {
                let refused = self.check_offerings(&plugin).expect_err("just checked");
                self.record_failure(plugin.id(), source, &refused);
            }
            Ok(plugin) if self.serves_uploaded(plugin.id()) => {
                tracing::warn!(
                    plugin = plugin.id(),
                    file = %path.display(),
                    "directory file ignored: this plugin is installed cluster-wide (remove it there first)"
                );
            }
            Ok(plugin) => {
                if let Some(old) = known_id.filter(|old| old != plugin.id()) {
                    self.unload(&old);
                }
                self.install(plugin, source);
            }
            Err(e) => self.record_failure(known_id.as_deref().unwrap_or(&name), source, &e),
        }
    }

    /// A file of the plugins directory disappeared: unload what it served.
    pub fn remove_file(&self, path: &Path) {
        let Some(id) = self.id_of_file(path) else {
            // It may only have a failure record under its file name.
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                let name = name.to_string();
                self.update(|snap| {
                    if snap.plugins.get(&name).is_some_and(|r| r.plugin.is_none()) {
                        snap.plugins.remove(&name);
                    }
                });
            }
            return;
        };
        let from_this_file = self.snapshot().plugins.get(&id).is_some_and(|r| match &r.source {
            PluginSource::Directory(p) => p == path,
            PluginSource::Bundled | PluginSource::Uploaded => false,
        });
        lock(&self.files).remove(path);
        if from_this_file {
            self.unload(&id);
        }
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
            match runtime.load_with(name, wasm, settings).await.and_then(|p| self.check_offerings(&p).map(|()| p)) {
                Ok(plugin) => self.install(plugin, PluginSource::Bundled),
                Err(e) => self.record_failure(name, PluginSource::Bundled, &e),
            }
        }
        let Some(dir) = dir else { return };
        for path in wasm_files(dir) {
            self.load_file(runtime, &path, settings).await;
        }
    }
}

/// The `*.wasm` files directly in `dir`, sorted.
pub fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}
