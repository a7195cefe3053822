//! Hot reload: watches the plugins directory and swaps plugins in and out
//! without a restart (the `notify` crate, debounced).
//!
//! One reload task handles every change in order, so two swaps of the same
//! plugin never race. A changed file is compiled, pre-instantiated, its
//! manifest validated, and only then swapped in ([`Registry::load_file`]);
//! a removed file unloads its plugin ([`Registry::remove_file`]). Running
//! jobs keep the version they started on. Writers should write a new file
//! and rename it into place; a half-written file fails validation, is
//! recorded as such, and the next event reloads the complete file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::mpsc;

use super::registry::Registry;
use super::runtime::{PluginRuntime, PluginSettings};

/// Quiet time after the last event on a file before it is reloaded.
pub const RELOAD_DEBOUNCE_DURATION: Duration = Duration::from_millis(150);

/// Operator settings by plugin id, shared with the reload task.
pub type SharedSettings = Arc<dyn Fn(&str) -> PluginSettings + Send + Sync>;

/// A running watcher; dropping it stops watching.
pub struct PluginWatcher {
    _debouncer: Debouncer<RecommendedWatcher>,
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
    source: notify_debouncer_mini::notify::Error,
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
    let handler = move |result: DebounceEventResult| match result {
        Ok(events) => {
            let paths: Vec<PathBuf> =
                events.into_iter().map(|e| e.path).filter(|p| p.extension().is_some_and(|x| x == "wasm")).collect();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        }
        Err(e) => tracing::warn!("plugin directory watch error: {e}"),
    };
    let err = |source| WatchError { dir: dir.to_path_buf(), source };
    let mut debouncer = new_debouncer(RELOAD_DEBOUNCE_DURATION, handler).map_err(err)?;
    debouncer.watcher().watch(dir, RecursiveMode::NonRecursive).map_err(err)?;

    let task = tokio::spawn(async move {
        while let Some(mut paths) = rx.recv().await {
            while let Ok(more) = rx.try_recv() {
                paths.extend(more);
            }
            paths.sort();
            paths.dedup();
            for path in paths {
                if path.is_file() {
                    registry.load_file(&runtime, &path, &*settings).await;
                } else {
                    registry.remove_file(&path);
                }
            }
        }
    });
    Ok(PluginWatcher { _debouncer: debouncer, task })
}
