//! Persistence: SQLite (one node, the default) or PostgreSQL (several
//! nodes), with the same SQL text on both.
//!
//! Two typed pools rather than `sqlx::Any` (which cannot carry our types,
//! ARCHITECTURE §11); `on_db!` runs one block of code against whichever
//! pool is configured, so every query is written once. Times are stored as
//! Unix milliseconds and JSON as text, which both engines handle alike.
//!
//! Repositories are grouped by table: `accounts` (accounts and API keys),
//! `jobs` (generations, their reservations and settlement), `artifacts`,
//! `health` (what each offering did and its circuit breaker),
//! `webhooks` (endpoints and the delivery outbox, written inside the job
//! transactions), `plugins` (installed plugins and their versions, shared
//! by every node).
//! Money moves only inside the job transactions here, so a balance change
//! and the state change that causes it commit together or not at all.
//!
//! This module must never call plugins, the network or anything above it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod accounts;
pub mod artifacts;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod plugins;
pub mod uploads;
pub mod webhooks;

pub use accounts::{Account, ApiKey};
pub use artifacts::ArtifactRow;
pub use idempotency::Claim;
pub use jobs::{JobRow, JobStatus, NewJob, Refusal};

/// Run `$body` with `$pool` bound to the configured pool (SQLite or
/// PostgreSQL). The body is compiled once per backend.
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// The configured database.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite:` or `postgres:`.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// The store handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// Signalled after a transaction of this process committed webhook
    /// deliveries to the outbox (the delivery worker waits on it).
    enqueued: std::sync::Arc<tokio::sync::Notify>,
}

/// Longest a request waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Connect to `url` (`sqlite://path` creates the file; `postgres://…`)
    /// without migrating.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true);
            if let Some(dir) = std::path::Path::new(options.get_filename()).parent()
                && !dir.as_os_str().is_empty()
            {
                let _ = std::fs::create_dir_all(dir);
            }
            // One connection: SQLite admits one writer at a time, and with
            // several connections concurrent writers wait in SQLite's busy
            // handler, which sleeps. Queueing them in the pool instead
            // measured +33% `generate` throughput and p99 90 ms -> 18 ms
            // (benches/load.rs). No code holds a transaction while
            // acquiring a second connection.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            Ok(Store { db: Db::Sqlite(pool), enqueued: Default::default() })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?;
            Ok(Store { db: Db::Postgres(pool), enqueued: Default::default() })
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    /// Connect and apply pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Apply pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Completes after this process committed webhook deliveries (at once
    /// if some were committed since the last wait). Other nodes' deliveries
    /// are found by looking at the outbox.
    pub async fn deliveries_enqueued(&self) {
        self.enqueued.notified().await
    }

    /// Say that a committed transaction added deliveries (`count`).
    pub(crate) fn signal_enqueued(&self, count: usize) {
        if count > 0 {
            self.enqueued.notify_one();
        }
    }

    /// Whether this is SQLite (one node: leases can be reset at start-up).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.db, Db::Sqlite(_))
    }

    /// Read a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value: Option<(String,)> = on_db!(self, pool => {
            sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await?
        });
        Ok(value.map(|(v,)| v))
    }

    /// Read a setting, creating it with `make()` if absent (first writer wins).
    pub async fn setting_or_insert(&self, key: &str, make: impl FnOnce() -> String) -> Result<String, StoreError> {
        if let Some(v) = self.setting(key).await? {
            return Ok(v);
        }
        let value = make();
        on_db!(self, pool => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(&value)
                .execute(pool)
                .await?;
        });
        Ok(self.setting(key).await?.unwrap_or(value))
    }

    /// Close the pool.
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
