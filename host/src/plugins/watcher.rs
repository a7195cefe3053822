//! Hot reload: watches the plugins directory and swaps plugins in and out
//! without a restart.
//!
//! One reload task handles every change in order, so two swaps of the same
//! plugin never race. A changed file is compiled, pre-instantiated, its
//! manifest validated, and only then swapped in ([`Registry::load_file`]);
//! a removed file unloads its plugin ([`Registry::remove_file`]). Running
//! jobs keep the version they started on. Writers should write a new file
//! and rename it into place; a half-written file fails validation, is
//! recorded as such, and the next event reloads the complete file.
//!
//! Only writes, creations, renames and removals count: reading a file
//! raises inotify `OPEN`/`ACCESS`/`CLOSE_NOWRITE` events, and reacting to
//! those made the server re-read its own plugins forever (and log a broken
//! file several times a second). That is why this module filters raw
//! `notify` events by kind and debounces them itself instead of using
//! `notify-debouncer-mini`, which forgets the kind. As a second guard a
//! file is loaded again only when its size or modification time changed
//! since the last attempt, so a broken file is reported once per change.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::registry::Registry;
use super::runtime::{PluginRuntime, PluginSettings};

/// Quiet time after the last event on a file before it is reloaded.
pub const RELOAD_DEBOUNCE_DURATION: Duration = Duration::from_millis(150);

/// Operator settings by plugin id, shared with the reload task.
pub type SharedSettings = Arc<dyn Fn(&str) -> PluginSettings + Send + Sync>;

/// A running watcher; dropping it stops watching.
pub struct PluginWatcher {
    _watcher: RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PluginWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch plugin directory {dir}: {source}")]
pub struct WatchError {
    dir: PathBuf,
    source: notify::Error,
}

/// Whether an event means a file's content or presence changed (and not
/// that somebody, maybe this process, opened or read it).
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// What a load attempt saw of a file: a new attempt is made only when it
/// differs.
type Fingerprint = (u64, Option<SystemTime>);

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some((meta.len(), meta.modified().ok()))
}

/// Watch `dir` (which must exist; pass a canonical path, as the registry
/// keys files by path) and reload changed `*.wasm` files into `registry`.
pub fn watch(
    dir: &Path,
    registry: Arc<Registry>,
    runtime: PluginRuntime,
    settings: SharedSettings,
) -> Result<PluginWatcher, WatchError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<PathBuf>>();
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) if changes_content(&event.kind) => {
            let paths: Vec<PathBuf> =
                event.paths.into_iter().filter(|p| p.extension().is_some_and(|x| x == "wasm")).collect();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("plugin directory watch error: {e}"),
    };
    let err = |source| WatchError { dir: dir.to_path_buf(), source };
    let mut watcher = notify::recommended_watcher(handler).map_err(err)?;
    watcher.watch(dir, RecursiveMode::NonRecursive).map_err(err)?;

    // Files present at start were loaded by `Registry::load_initial`.
    let mut seen: HashMap<PathBuf, Fingerprint> =
        super::registry::wasm_files(dir).into_iter().filter_map(|p| Some((p.clone(), fingerprint(&p)?))).collect();
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut paths: BTreeSet<PathBuf> = first.into_iter().collect();
            // Debounce: wait until the directory is quiet.
            while let Ok(Some(more)) = tokio::time::timeout(RELOAD_DEBOUNCE_DURATION, rx.recv()).await {
                paths.extend(more);
            }
            for path in paths {
                match fingerprint(&path) {
                    Some(print) => {
                        if seen.get(&path) == Some(&print) {
                            continue; // nothing changed since the last attempt
                        }
                        seen.insert(path.clone(), print);
                        registry.load_file(&runtime, &path, &*settings).await;
                    }
                    None => {
                        seen.remove(&path);
                        registry.remove_file(&path);
                    }
                }
            }
        }
    });
    Ok(PluginWatcher { _watcher: watcher, task })
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    use super::*;

    #[test]
    fn reads_are_not_changes() {
        assert!(!changes_content(&EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Read)));
        assert!(!changes_content(&EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime))));
        assert!(changes_content(&EventKind::Create(CreateKind::File)));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Data(DataChange::Any))));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Name(RenameMode::To))));
        assert!(changes_content(&EventKind::Remove(RemoveKind::File)));
    }
}
