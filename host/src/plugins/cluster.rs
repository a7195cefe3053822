//! Plugins cluster-wide: keeps this node's plugin set in line with the
//! database every node shares, and reports what this node serves.
//!
//! An install, enable, disable or removal on any node is written to the
//! database and announced with PostgreSQL `NOTIFY doitong_plugins`; every
//! node `LISTEN`s and runs [`PluginManager::sync`] at once (well within a
//! second), and again every [`RECHECK`] as the safety net for a lost
//! connection or notification (and on SQLite, which has no `NOTIFY`).
//! After each change of its registry, and on every re-check, a node
//! records what it serves in `plugin_nodes`, which the admin `plugins`
//! query shows per node.
//!
//! This module must never change a plugin by itself: it only applies what
//! the database says.

use std::time::Duration;

use tokio::sync::watch;

use super::manager::PluginManager;
use crate::background::Background;
use crate::store::plugins::{NodePlugin, PLUGINS_CHANNEL};
use crate::store::{Store, now_ms};

/// How often a node re-reads the plugin set without being told to.
pub const RECHECK: Duration = Duration::from_secs(5);
/// A node silent this long is dropped from the per-node listing.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// Start syncing `manager` with `store`, reporting as `node`; on
/// [`Background::shutdown`] the node's report is withdrawn.
pub fn spawn(manager: PluginManager, store: Store, node: String) -> Background {
    Background::spawn(|stopped| run(manager, store, node, stopped))
}

async fn run(manager: PluginManager, store: Store, node: String, mut stopped: watch::Receiver<bool>) {
    let mut listener = match store.listen(PLUGINS_CHANNEL).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!("cannot LISTEN for plugin changes (re-checking every {RECHECK:?} instead): {e}");
            None
        }
    };
    let mut changes = manager.registry().changes();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    report(&manager, &store, &node).await;
    loop {
        tokio::select! {
            notified = async { listener.as_mut().expect("guarded").recv().await }, if listener.is_some() => {
                if let Err(e) = notified {
                    // PgListener reconnects on the next `recv`; changes
                    // missed meanwhile are caught by this sync.
                    tracing::warn!("plugin change notifications interrupted: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                sync(&manager).await;
            }
            _ = recheck.tick() => {
                sync(&manager).await;
                report(&manager, &store, &node).await;
                let _ = store.forget_silent_nodes(now_ms() - FORGET_AFTER.as_millis() as i64).await;
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                report(&manager, &store, &node).await;
            }
            _ = stopped.changed() => break,
        }
    }
    let _ = store.report_node_plugins(&node, &[]).await;
}

async fn sync(manager: &PluginManager) {
    if let Err(e) = manager.sync().await {
        tracing::warn!("syncing plugins with the database failed: {e}");
    }
}

async fn report(manager: &PluginManager, store: &Store, node: &str) {
    let now = now_ms();
    let rows: Vec<NodePlugin> = manager
        .list()
        .into_iter()
        .filter(|p| p.state != super::PluginState::Draining)
        .map(|p| NodePlugin {
            node: node.to_string(),
            plugin_id: p.id,
            version: p.version,
            sha256: p.sha256,
            source: p.source.to_string(),
            state: format!("{:?}", p.state).to_ascii_lowercase(),
            last_error: p.last_error,
            seen_at: now,
        })
        .collect();
    if let Err(e) = store.report_node_plugins(node, &rows).await {
        tracing::warn!("reporting this node's plugins failed: {e}");
    }
}
