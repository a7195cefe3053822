//! Plugins shared by every node: each version's component by SHA-256
//! (`plugin_blobs`), the plugins installed through the admin API
//! (`installed_plugins`), run-time disables (`settings`), and what each
//! node serves (`plugin_nodes`). A change is announced on PostgreSQL with
//! `NOTIFY doitong_plugins` (see `crate::plugins::cluster`).

use std::collections::HashSet;

use super::{Store, StoreError, now_ms, on_db};

/// The `NOTIFY` channel of plugin changes.
pub const PLUGINS_CHANNEL: &str = "doitong_plugins";

/// Settings key prefix of a plugin disabled at run time.
const DISABLED_PLUGIN: &str = "plugin_disabled:";

/// A plugin installed cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstalledPlugin {
    /// Plugin id.
    pub plugin_id: String,
    /// The version to serve; `None` once removed.
    pub sha256: Option<String>,
    /// Unix ms.
    pub updated_at: i64,
}

/// What one node serves of one plugin, as it last reported.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NodePlugin {
    /// The node (`node_name`).
    pub node: String,
    /// Plugin id.
    pub plugin_id: String,
    /// Serving version.
    pub version: Option<String>,
    /// Serving version's SHA-256.
    pub sha256: Option<String>,
    /// `bundled`, `dir` or `uploaded`.
    pub source: String,
    /// `loaded`, `failed`, `draining`, `disabled`.
    pub state: String,
    /// Latest load error.
    pub last_error: Option<String>,
    /// When the node last reported (Unix ms).
    pub seen_at: i64,
}

impl Store {
    /// Keep a plugin version's component (once per SHA-256).
    pub async fn save_plugin_blob(&self, sha256: &str, id: &str, version: &str, wasm: &[u8]) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO plugin_blobs (sha256, plugin_id, version, wasm, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (sha256) DO NOTHING",
        ).bind(sha256).bind(id).bind(version).bind(wasm).bind(now_ms()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The component with this SHA-256, if any node ever stored it.
    pub async fn plugin_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_db!(self, pool => sqlx::query_as(
            "SELECT wasm FROM plugin_blobs WHERE sha256 = $1",
        ).bind(sha256).fetch_optional(pool).await?);
        Ok(row.map(|(w,)| w))
    }

    /// Which of these SHA-256s are stored.
    pub async fn stored_plugin_blobs(&self) -> Result<HashSet<String>, StoreError> {
        let rows: Vec<(String,)> =
            on_db!(self, pool => sqlx::query_as("SELECT sha256 FROM plugin_blobs").fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// Serve version `sha256` of plugin `id` on every node (`None`: remove it).
    pub async fn set_installed_plugin(&self, id: &str, sha256: Option<&str>) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO installed_plugins (plugin_id, sha256, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plugin_id) DO UPDATE SET sha256 = excluded.sha256, updated_at = excluded.updated_at",
        ).bind(id).bind(sha256).bind(now_ms()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Every plugin installed (or removed) through the admin API.
    pub async fn installed_plugins(&self) -> Result<Vec<InstalledPlugin>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT plugin_id, sha256, updated_at FROM installed_plugins ORDER BY plugin_id",
        ).fetch_all(pool).await?))
    }

    /// Plugin ids the operator disabled at run time (kept across restarts).
    pub async fn disabled_plugins(&self) -> Result<Vec<String>, StoreError> {
        let keys: Vec<(String,)> = on_db!(self, pool => {
            sqlx::query_as("SELECT key FROM settings WHERE key LIKE 'plugin_disabled:%'").fetch_all(pool).await?
        });
        Ok(keys.into_iter().filter_map(|(k,)| k.strip_prefix(DISABLED_PLUGIN).map(str::to_string)).collect())
    }

    /// Record that plugin `id` is disabled (or no longer is).
    pub async fn set_plugin_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        let key = format!("{DISABLED_PLUGIN}{id}");
        on_db!(self, pool => {
            if disabled {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, 'true') ON CONFLICT (key) DO NOTHING")
                    .bind(&key).execute(pool).await?;
            } else {
                sqlx::query("DELETE FROM settings WHERE key = $1").bind(&key).execute(pool).await?;
            }
        });
        Ok(())
    }

    /// Tell every node the plugin set changed (PostgreSQL `NOTIFY`; on
    /// SQLite, where one node runs, nothing to do).
    pub async fn notify_plugins_changed(&self, id: &str) -> Result<(), StoreError> {
        if let super::Db::Postgres(pool) = &self.db {
            sqlx::query("SELECT pg_notify($1, $2)").bind(PLUGINS_CHANNEL).bind(id).execute(pool).await?;
        }
        Ok(())
    }

    /// Replace what `node` reports serving.
    pub async fn report_node_plugins(&self, node: &str, plugins: &[NodePlugin]) -> Result<(), StoreError> {
        on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM plugin_nodes WHERE node = $1").bind(node).execute(&mut *tx).await?;
            for p in plugins {
                sqlx::query(
                    "INSERT INTO plugin_nodes (node, plugin_id, version, sha256, source, state, last_error, seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(node).bind(&p.plugin_id).bind(&p.version).bind(&p.sha256).bind(&p.source)
                .bind(&p.state).bind(&p.last_error).bind(p.seen_at)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// What every node reported, by plugin then node.
    pub async fn node_plugins(&self) -> Result<Vec<NodePlugin>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT node, plugin_id, version, sha256, source, state, last_error, seen_at FROM plugin_nodes \
             ORDER BY plugin_id, node",
        ).fetch_all(pool).await?))
    }

    /// Forget nodes that have not reported since `before` (Unix ms).
    pub async fn forget_silent_nodes(&self, before: i64) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM plugin_nodes WHERE seen_at < $1")
            .bind(before).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// A connection that receives `NOTIFY`s of `channel`, on PostgreSQL.
    pub async fn listen(&self, channel: &str) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        let super::Db::Postgres(pool) = &self.db else { return Ok(None) };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok(Some(listener))
    }
}
