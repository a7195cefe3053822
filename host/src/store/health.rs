//! What the vendors did: per-offering outcomes (the sliding window routing
//! reads success rates and medians from) and circuit breakers, shared by
//! every node on the database.
//!
//! A breaker row changes only through [`Store::update_breaker`], which
//! reads and writes it under a row lock in one transaction, so nodes that
//! see failures of the same offering at once never lose one another's
//! counts. The state machine itself lives in `crate::routing::breaker`;
//! this module only stores it.

use super::{Store, StoreError, now_ms, on_db};

/// An offering's circuit breaker as stored.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct BreakerRow {
    /// Offering id.
    pub offering_id: String,
    /// `closed` or `open` (open past `hold_until` reads as half-open).
    pub state: String,
    /// Vendor failures in a row.
    pub consecutive_failures: i64,
    /// When the breaker last opened (Unix ms).
    pub opened_at: Option<i64>,
    /// The offering is held back until then (cool-down, `Retry-After`).
    pub hold_until: Option<i64>,
    /// Why it is held back.
    pub hold_reason: Option<String>,
    /// The generation probing a half-open breaker.
    pub probe_job_id: Option<String>,
    /// The probe's claim lapses then (a probe that never reports back).
    pub probe_until: Option<i64>,
    /// Public code of the last vendor failure.
    pub last_error_code: Option<String>,
    /// Its message.
    pub last_error_message: Option<String>,
    /// When it happened (Unix ms).
    pub last_error_at: Option<i64>,
    /// Last change (Unix ms).
    pub updated_at: i64,
}

impl BreakerRow {
    /// A closed breaker for `offering_id`.
    pub fn closed(offering_id: &str) -> BreakerRow {
        BreakerRow { offering_id: offering_id.to_string(), state: "closed".into(), ..BreakerRow::default() }
    }
}

/// One outcome in the window.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutcomeRow {
    /// Offering id.
    pub offering_id: String,
    /// A result (true) or a vendor failure.
    pub ok: bool,
    /// Submit to result, for results.
    pub duration_ms: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
}

const BREAKER_COLUMNS: &str = "offering_id, state, consecutive_failures, opened_at, hold_until, hold_reason, \
    probe_job_id, probe_until, last_error_code, last_error_message, last_error_at, updated_at";

impl Store {
    /// Record what an offering did: a result (`ok`, with the time it took)
    /// or a vendor failure (`error_code`).
    pub async fn record_outcome(
        &self,
        offering_id: &str,
        ok: bool,
        duration_ms: Option<i64>,
        error_code: Option<&str>,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => {
            sqlx::query(
                "INSERT INTO offering_outcomes (offering_id, ok, duration_ms, error_code, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(offering_id).bind(ok).bind(duration_ms).bind(error_code).bind(now_ms())
            .execute(pool).await?;
        });
        Ok(())
    }

    /// Outcomes since `since` (Unix ms), newest first: at most the newest
    /// `per_offering` of each offering (the window a view keeps).
    pub async fn outcomes_since(&self, since: i64, per_offering: u32) -> Result<Vec<OutcomeRow>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT offering_id, ok, duration_ms, created_at FROM ( \
               SELECT id, offering_id, ok, duration_ms, created_at, \
                      ROW_NUMBER() OVER (PARTITION BY offering_id ORDER BY id DESC) AS newest \
               FROM offering_outcomes WHERE created_at >= $1) recent \
             WHERE newest <= $2 ORDER BY id DESC",
        )
        .bind(since).bind(i64::from(per_offering)).fetch_all(pool).await?))
    }

    /// Delete outcomes older than `before` (Unix ms).
    pub async fn purge_outcomes(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_db!(self, pool => sqlx::query("DELETE FROM offering_outcomes WHERE created_at < $1")
            .bind(before).execute(pool).await?.rows_affected()))
    }

    /// Every stored breaker.
    pub async fn breakers(&self) -> Result<Vec<BreakerRow>, StoreError> {
        let sql = format!("SELECT {BREAKER_COLUMNS} FROM offering_health");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?))
    }

    /// Change `offering_id`'s breaker with `transition` (given the stored
    /// row, or a closed one), under the row's lock; returns the new row.
    pub async fn update_breaker(
        &self,
        offering_id: &str,
        transition: impl FnOnce(BreakerRow) -> BreakerRow,
    ) -> Result<BreakerRow, StoreError> {
        let now = now_ms();
        let select = format!("SELECT {BREAKER_COLUMNS} FROM offering_health WHERE offering_id = $1");
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO offering_health (offering_id, state, consecutive_failures, updated_at) VALUES ($1, 'closed', 0, $2) \
                 ON CONFLICT (offering_id) DO NOTHING",
            )
            .bind(offering_id).bind(now).execute(&mut *tx).await?;
            // Lock the row (PostgreSQL; SQLite already holds the write lock).
            sqlx::query("UPDATE offering_health SET updated_at = updated_at WHERE offering_id = $1")
                .bind(offering_id).execute(&mut *tx).await?;
            let row: BreakerRow =
                sqlx::query_as(sqlx::AssertSqlSafe(select.clone())).bind(offering_id).fetch_one(&mut *tx).await?;
            let new = BreakerRow { updated_at: now, ..transition(row) };
            sqlx::query(
                "UPDATE offering_health SET state = $2, consecutive_failures = $3, opened_at = $4, hold_until = $5, \
                 hold_reason = $6, probe_job_id = $7, probe_until = $8, last_error_code = $9, last_error_message = $10, \
                 last_error_at = $11, updated_at = $12 WHERE offering_id = $1",
            )
            .bind(offering_id).bind(&new.state).bind(new.consecutive_failures).bind(new.opened_at)
            .bind(new.hold_until).bind(&new.hold_reason).bind(&new.probe_job_id).bind(new.probe_until)
            .bind(&new.last_error_code).bind(&new.last_error_message).bind(new.last_error_at).bind(new.updated_at)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            new
        }))
    }

    /// Let `job_id` be the one probe of `offering_id`'s half-open breaker
    /// until `until`: true if no other probe holds it (on any node).
    pub async fn claim_probe(&self, offering_id: &str, job_id: &str, until: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE offering_health SET probe_job_id = $2, probe_until = $3, updated_at = $4 \
             WHERE offering_id = $1 AND state = 'open' AND (hold_until IS NULL OR hold_until <= $4) \
             AND (probe_until IS NULL OR probe_until < $4)",
        )
        .bind(offering_id).bind(job_id).bind(until).bind(now)
        .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }
}
