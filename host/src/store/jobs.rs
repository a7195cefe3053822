//! Generations: insertion with their credit reservation, claiming due work
//! with leases, progress, and settlement (capture or refund) together with
//! the terminal status change.
//!
//! Invariants, each enforced by a single conditional statement inside a
//! transaction:
//! - a reservation is taken only if the balance covers it
//!   (`credits >= cost`, backed by the `CHECK (credits >= 0)` constraint);
//! - a job leaves an active state (`queued`, `processing`) exactly once,
//!   so it is captured or refunded exactly once, whichever of worker,
//!   cancel or deadline gets there first (the others see zero rows);
//! - the ledger has at most one reserve, capture and refund per job
//!   (unique index), a second line for the same job fails the transaction;
//! - an Idempotency-Key is held by at most one generation of an account
//!   (partial unique index, migration 0007): the job's own INSERT takes
//!   it, before any limit is checked, so a replay finds the generation
//!   even when a new one would now be refused;
//! - the webhook event of a status change is enqueued in the transaction
//!   that makes it (`complete_job`, `end_job`, and `mark_running` for
//!   progress), so no committed change lacks its event and no event
//!   exists for a change that rolled back.

use super::artifacts::{ArtifactRow, NewArtifact};
use super::webhooks::{Event, Outbox};
use super::{Store, StoreError, now_ms, on_db};

/// Lifecycle of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Accepted, not yet submitted to the vendor.
    Queued,
    /// Submitted; being polled.
    Processing,
    /// Finished with artifacts.
    Completed,
    /// Finished without.
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl JobStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parse [`JobStatus::as_str`].
    pub fn parse(text: &str) -> Option<JobStatus> {
        Some(match text {
            "queued" => JobStatus::Queued,
            "processing" => JobStatus::Processing,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }

    /// Completed, failed or cancelled.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// A stored generation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    /// `gen_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Started with a `dt_test_` key.
    pub test_mode: bool,
    /// Media kind (`video`, …).
    pub kind: String,
    /// The offering the user asked for or was given.
    pub provider: String,
    /// Plugin executing it (`placeholder` in test mode).
    pub plugin_id: String,
    /// Plugin version (wasm sha256) it started on.
    pub plugin_sha256: String,
    /// Status text; see [`JobRow::status`].
    pub status: String,
    /// The validated request, JSON.
    pub request: String,
    /// Credits quoted (and reserved unless test mode).
    pub credit_cost: i64,
    /// Seconds quoted.
    pub estimated_seconds: i64,
    /// 0..=100.
    pub progress: i64,
    /// The plugin's task handle once submitted.
    pub handle: Option<String>,
    /// Submit attempts so far.
    pub attempts: i64,
    /// When the job is next due (Unix ms).
    pub poll_at: i64,
    /// Worker holding it.
    pub lease_owner: Option<String>,
    /// Lease expiry (Unix ms).
    pub lease_until: Option<i64>,
    /// Fail with a refund after this (Unix ms).
    pub deadline_at: i64,
    /// Public error code when failed.
    pub error_code: Option<String>,
    /// Error message when failed.
    pub error_message: Option<String>,
    /// Per-request webhook target.
    pub webhook_url: Option<String>,
    /// The per-request target also receives `generation.progress`.
    pub webhook_progress: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, first submit.
    pub started_at: Option<i64>,
    /// Unix ms, terminal.
    pub completed_at: Option<i64>,
    /// Unix ms.
    pub updated_at: i64,
    /// How it was routed ([`crate::jobs::RoutingRecord`], JSON).
    pub routing: Option<String>,
    /// When a cancel was asked for while a step held the job (Unix ms);
    /// the step honours it (see `crate::jobs::worker`).
    pub cancel_requested_at: Option<i64>,
}

impl JobRow {
    /// The job as it was when accepted (queued, nothing started): what an
    /// idempotent replay of the accepting request shows.
    pub fn as_accepted(self) -> JobRow {
        JobRow {
            status: JobStatus::Queued.as_str().to_string(),
            progress: 0,
            handle: None,
            attempts: 0,
            lease_owner: None,
            lease_until: None,
            error_code: None,
            error_message: None,
            started_at: None,
            completed_at: None,
            updated_at: self.created_at,
            cancel_requested_at: None,
            ..self
        }
    }

    /// Parsed status (a corrupt value reads as failed).
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }
}

/// What [`Store::insert_job`] needs.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// `gen_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Test mode: no credits move.
    pub test_mode: bool,
    /// Media kind.
    pub kind: String,
    /// Offering id.
    pub provider: String,
    /// Executing plugin id.
    pub plugin_id: String,
    /// Executing plugin version.
    pub plugin_sha256: String,
    /// Validated request, JSON.
    pub request: String,
    /// Quote.
    pub credit_cost: i64,
    /// Quote.
    pub estimated_seconds: i64,
    /// Deadline (Unix ms).
    pub deadline_at: i64,
    /// Per-request webhook.
    pub webhook_url: Option<String>,
    /// Send `generation.progress` to `webhook_url` too.
    pub webhook_progress: bool,
    /// Generations allowed per UTC day, if capped.
    pub daily_limit: Option<i64>,
    /// Start of the current UTC day (Unix ms).
    pub day_start: i64,
    /// Active (queued or running) generations allowed, if capped.
    pub queue_limit: Option<i64>,
    /// The request's Idempotency-Key, taken in the same transaction.
    pub idempotency: Option<IdempotencyTake>,
    /// How it was routed (JSON).
    pub routing: Option<String>,
    /// Start it at once, leased to the node that will step it, if the
    /// account's concurrency allows (the request waits for its result).
    pub start_now: Option<StartNow>,
}

/// A job started in its accepting transaction (see [`Store::insert_job`]).
#[derive(Debug, Clone)]
pub struct StartNow {
    /// The lease holder: the node's worker id.
    pub owner: String,
    /// Lease end (Unix ms).
    pub lease_until: i64,
    /// The account's concurrency limit, if capped.
    pub concurrent: Option<i64>,
}

/// What [`Store::renew_lease`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseRenewal {
    /// Still ours, extended.
    Renewed,
    /// Ended or released: nobody holds it (the step finished).
    Released,
    /// Another worker claimed it (ours lapsed).
    TakenBy(String),
}

/// Where [`Store::fail_over`] moves a job, and what the attempt it leaves
/// ended with.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The new offering.
    pub provider: String,
    /// Its plugin.
    pub plugin_id: String,
    /// Its plugin version.
    pub plugin_sha256: String,
    /// The request validated for it (JSON).
    pub request: String,
    /// Its quote.
    pub credit_cost: i64,
    /// Its quote.
    pub estimated_seconds: i64,
    /// The routing record with the new decision (JSON).
    pub routing: String,
    /// Public code of the failure that ended the attempt.
    pub error_code: String,
    /// Its message.
    pub error_message: String,
}

/// One provider a generation tried before the one it is on.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AttemptRow {
    /// 1 for the first provider.
    pub attempt: i64,
    /// Offering id.
    pub provider: String,
    /// What it had quoted.
    pub credit_cost: i64,
    /// Public code of the failure.
    pub error_code: Option<String>,
    /// Its message.
    pub error_message: Option<String>,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms.
    pub ended_at: i64,
}

/// An Idempotency-Key to record with the generation it accepted.
#[derive(Debug, Clone)]
pub struct IdempotencyTake {
    /// The key as sent.
    pub key: String,
    /// Canonical hash of the request.
    pub request_hash: String,
    /// How long the key is kept (ms): a generation older than this no
    /// longer holds it.
    pub ttl_ms: i64,
}

/// Why a job could not be inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The balance does not cover the quote.
    InsufficientCredits {
        /// The account's balance at the time.
        balance: i64,
        /// What was needed.
        cost: i64,
    },
    /// The daily cap is reached.
    Daily {
        /// Cap.
        limit: i64,
        /// Generations today.
        count: i64,
    },
    /// Too many generations are waiting or running.
    Queue {
        /// Cap.
        limit: i64,
        /// Active generations.
        count: i64,
    },
    /// The Idempotency-Key is already recorded (another request took it):
    /// nothing was inserted; answer from its record.
    IdempotencyKeyTaken,
}

const JOB_COLUMNS: &str = "id, account_id, test_mode, kind, provider, plugin_id, plugin_sha256, status, request, \
    credit_cost, estimated_seconds, progress, handle, attempts, poll_at, lease_owner, lease_until, deadline_at, \
    error_code, error_message, webhook_url, webhook_progress, created_at, started_at, completed_at, updated_at, routing, \
    cancel_requested_at";

/// [`JOB_COLUMNS`] without the stored request (which can hold megabytes of
/// base64 media): what listings load.
const LISTED_COLUMNS: &str = "id, account_id, test_mode, kind, provider, plugin_id, plugin_sha256, status, '' AS request, \
    credit_cost, estimated_seconds, progress, handle, attempts, poll_at, lease_owner, lease_until, deadline_at, \
    error_code, error_message, webhook_url, webhook_progress, created_at, started_at, completed_at, updated_at, routing, \
    cancel_requested_at";

/// Take the account's row lock (PostgreSQL) or the write lock (SQLite).
///
/// Every transaction that touches an account's jobs and its balance takes
/// this lock first, so they all lock in the same order (account, then
/// jobs) and cannot deadlock each other.
pub(super) trait LockAccount {
    async fn lock(&mut self, account_id: &str) -> Result<(), sqlx::Error>;
}

const LOCK_ACCOUNT: &str = "UPDATE accounts SET credits = credits WHERE id = $1";

impl LockAccount for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn lock(&mut self, account_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(LOCK_ACCOUNT).bind(account_id).execute(&mut **self).await.map(drop)
    }
}

impl LockAccount for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn lock(&mut self, account_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(LOCK_ACCOUNT).bind(account_id).execute(&mut **self).await.map(drop)
    }
}

pub(super) async fn lock_account(tx: &mut impl LockAccount, account_id: &str) -> Result<(), sqlx::Error> {
    tx.lock(account_id).await
}

/// A job left the active states: one fewer against the queue depth.
const RELEASE_ACTIVE: &str = "UPDATE accounts SET active_jobs = active_jobs - 1 WHERE id = $1";

/// Statuses a job can still leave.
const ACTIVE: &str = "status IN ('queued', 'processing')";

impl Store {
    /// Check the account's daily and queue limits, reserve the job's cost
    /// (unless test mode) and insert it as queued, in one transaction that
    /// holds the account's row lock, so concurrent requests cannot slip past
    /// a limit or overdraw the balance.
    ///
    /// With [`NewJob::start_now`], and room under the account's concurrency
    /// limit (fewer active jobs than the limit: then every queued job of
    /// the account has a slot too, so none is overtaken), the job is
    /// inserted already `processing` and leased to `owner`: what
    /// [`Store::start_job`] and [`Store::claim_due`] would do, in the same
    /// transaction.
    pub async fn insert_job(&self, job: &NewJob) -> Result<Result<JobRow, Refusal>, StoreError> {
        let now = now_ms();
        let charge = !job.test_mode && job.credit_cost > 0;
        // The job's INSERT, which also takes its Idempotency-Key: no row when
        // the account already has a generation with this key, or a live
        // record of it from another request (a stored refusal, a claim).
        let sql = format!(
            "INSERT INTO jobs (id, account_id, test_mode, kind, provider, plugin_id, plugin_sha256, status, request, \
             credit_cost, estimated_seconds, poll_at, deadline_at, webhook_url, webhook_progress, created_at, updated_at, \
             idempotency_key, idempotency_hash, routing, started_at, lease_owner, lease_until) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $18, $8, $9, $10, $11, $12, $13, $14, $11, $11, $15, $16, $17, $19, $20, $21 \
             WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE account_id = $2 AND key = $15 AND expires_at >= $11) \
             ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING {JOB_COLUMNS}"
        );
        let (key, hash) = match &job.idempotency {
            Some(take) => (Some(take.key.as_str()), Some(take.request_hash.as_str())),
            None => (None, None),
        };
        macro_rules! insert_row {
            ($tx:ident, $started:expr) => {{
                let started: Option<&StartNow> = $started;
                sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&job.id)
                    .bind(&job.account_id)
                    .bind(job.test_mode)
                    .bind(&job.kind)
                    .bind(&job.provider)
                    .bind(&job.plugin_id)
                    .bind(&job.plugin_sha256)
                    .bind(&job.request)
                    .bind(job.credit_cost)
                    .bind(job.estimated_seconds)
                    .bind(now)
                    .bind(job.deadline_at)
                    .bind(&job.webhook_url)
                    .bind(job.webhook_progress)
                    .bind(key)
                    .bind(hash)
                    .bind(&job.routing)
                    .bind(if started.is_some() { "processing" } else { "queued" })
                    .bind(started.map(|_| now))
                    .bind(started.map(|s| s.owner.as_str()))
                    .bind(started.map(|s| s.lease_until))
                    .fetch_optional(&mut *$tx)
                    .await?
            }};
        }
        let outcome: Result<JobRow, Refusal> = on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            // Lock the account row and read its counters in one statement.
            let (active, day_start, day_count, credits): (i64, i64, i64, i64) = sqlx::query_as(
                "UPDATE accounts SET credits = credits WHERE id = $1 RETURNING active_jobs, day_start, day_count, credits",
            )
            .bind(&job.account_id).fetch_one(&mut *tx).await?;
            let today = if day_start == job.day_start { day_count } else { 0 };
            let started = job.start_now.as_ref().filter(|s| s.concurrent.is_none_or(|limit| active < limit));
            // The job goes in first: with an Idempotency-Key its INSERT is
            // what takes the key (unique per account), before any limit is
            // looked at, so a replay finds the generation even once the
            // balance or the day's cap would refuse a new one. A refusal
            // below rolls the row back.
            let mut inserted = insert_row!(tx, started);
            if inserted.is_none() && let Some(take) = &job.idempotency {
                // A key past its retention that the purge has not cleared
                // yet does not count: clear it and insert again.
                let cleared = sqlx::query(
                    "UPDATE jobs SET idempotency_key = NULL, idempotency_hash = NULL \
                     WHERE account_id = $1 AND idempotency_key = $2 AND created_at < $3",
                )
                .bind(&job.account_id).bind(&take.key).bind(now - take.ttl_ms)
                .execute(&mut *tx).await?.rows_affected();
                if cleared > 0 {
                    inserted = insert_row!(tx, started);
                }
            }
            let mut refused = inserted.is_none().then_some(Refusal::IdempotencyKeyTaken);
            if let (None, Some(limit)) = (&refused, job.daily_limit.filter(|limit| today >= *limit)) {
                refused = Some(Refusal::Daily { limit, count: today });
            }
            if let (None, Some(limit)) = (&refused, job.queue_limit.filter(|limit| active >= *limit)) {
                refused = Some(Refusal::Queue { limit, count: active });
            }
            // The reservation and the counters in one statement; no row:
            // the balance does not cover the cost.
            if refused.is_none() {
                let cost = if charge { job.credit_cost } else { 0 };
                let reserved: Option<(i64,)> = sqlx::query_as(
                    "UPDATE accounts SET credits = credits - $1, active_jobs = active_jobs + 1, day_start = $3, day_count = $4 \
                     WHERE id = $2 AND credits >= $1 RETURNING credits",
                )
                .bind(cost).bind(&job.account_id).bind(job.day_start).bind(today + 1)
                .fetch_optional(&mut *tx).await?;
                match reserved {
                    Some((balance,)) if charge => {
                        sqlx::query(
                            "INSERT INTO ledger (account_id, job_id, entry, amount, balance_after, created_at) VALUES ($1, $2, 'reserve', $3, $4, $5)",
                        )
                        .bind(&job.account_id).bind(&job.id).bind(-job.credit_cost).bind(balance).bind(now)
                        .execute(&mut *tx).await?;
                    }
                    Some(_) => {}
                    None => refused = Some(Refusal::InsufficientCredits { balance: credits, cost: job.credit_cost }),
                }
            }
            match (refused, inserted) {
                (None, Some(row)) => { tx.commit().await?; Ok(row) }
                (refusal, _) => { tx.rollback().await?; Err(refusal.expect("no refusal means a row was inserted")) }
            }
        });
        Ok(outcome)
    }

    /// Move a queued job to `processing` (a concurrency slot) if the account
    /// runs fewer than `concurrent` jobs and no older queued job of the
    /// account is waiting, so jobs start in order as slots free. Holds the
    /// account's row lock while deciding. False: not now.
    pub async fn start_job(&self, job: &JobRow, concurrent: Option<i64>) -> Result<bool, StoreError> {
        let now = now_ms();
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_account(&mut tx, &job.account_id).await?;
            let mut allowed = true;
            if let Some(limit) = concurrent {
                let (running,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM jobs WHERE account_id = $1 AND status = 'processing'",
                )
                .bind(&job.account_id).fetch_one(&mut *tx).await?;
                let (older,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM jobs WHERE account_id = $1 AND status = 'queued' \
                     AND (created_at < $2 OR (created_at = $2 AND id < $3))",
                )
                .bind(&job.account_id).bind(job.created_at).bind(&job.id).fetch_one(&mut *tx).await?;
                allowed = running < limit && older == 0;
            }
            let started = if allowed {
                sqlx::query(
                    "UPDATE jobs SET status = 'processing', started_at = COALESCE(started_at, $2), updated_at = $2 \
                     WHERE id = $1 AND status = 'queued'",
                )
                .bind(&job.id).bind(now).execute(&mut *tx).await?.rows_affected() == 1
            } else {
                false
            };
            tx.commit().await?;
            started
        }))
    }

    /// Generations an account created since `since` (Unix ms).
    pub async fn jobs_created_since(&self, account_id: &str, since: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_db!(self, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE account_id = $1 AND created_at >= $2",
        ).bind(account_id).bind(since).fetch_one(pool).await?);
        Ok(n)
    }

    /// A job by id.
    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?))
    }

    /// A job by id, only if `account_id` owns it.
    pub async fn job_of(&self, account_id: &str, id: &str, test_only: bool) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND account_id = $2 AND (test_mode OR NOT $3)");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(account_id).bind(test_only).fetch_optional(pool).await?))
    }

    /// An account's jobs, newest first, after the cursor `(created_at, id)`,
    /// without their stored requests (`request` reads empty).
    pub async fn jobs_of(
        &self,
        account_id: &str,
        status: Option<JobStatus>,
        kind: Option<&str>,
        after: Option<(i64, String)>,
        limit: i64,
        test_only: bool,
    ) -> Result<Vec<JobRow>, StoreError> {
        let (after_ts, after_id) = after.unwrap_or((i64::MAX, String::new()));
        let sql = format!(
            "SELECT {LISTED_COLUMNS} FROM jobs WHERE account_id = $1 \
             AND ($2 = '' OR status = $2) AND ($3 = '' OR kind = $3) \
             AND (created_at < $4 OR (created_at = $4 AND id < $5)) AND (test_mode OR NOT $7) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        let status = status.map(JobStatus::as_str).unwrap_or("");
        let kind = kind.unwrap_or("");
        let after_id = if after_ts == i64::MAX { "\u{10FFFF}".to_string() } else { after_id };
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(status).bind(kind).bind(after_ts).bind(after_id).bind(limit).bind(test_only)
            .fetch_all(pool).await?))
    }

    /// (plugin id, sha256) of every version an active job is pinned to.
    pub async fn active_plugin_versions(&self) -> Result<std::collections::HashSet<(String, String)>, StoreError> {
        let sql = format!("SELECT DISTINCT plugin_id, plugin_sha256 FROM jobs WHERE {ACTIVE}");
        let rows: Vec<(String, String)> =
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        Ok(rows.into_iter().collect())
    }

    /// Running jobs of an account (holding a concurrency slot).
    pub async fn running_jobs_of(&self, account_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_db!(self, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE account_id = $1 AND status = 'processing'",
        ).bind(account_id).fetch_one(pool).await?);
        Ok(n)
    }

    /// Jobs of every account `(queued, processing)`, for the metrics.
    pub async fn active_job_counts(&self) -> Result<(i64, i64), StoreError> {
        let sql = format!("SELECT status, COUNT(*) FROM jobs WHERE {ACTIVE} GROUP BY status");
        let rows: Vec<(String, i64)> =
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        let count = |status: JobStatus| rows.iter().find(|(s, _)| s == status.as_str()).map_or(0, |(_, n)| *n);
        Ok((count(JobStatus::Queued), count(JobStatus::Processing)))
    }

    /// Active jobs of an account (queued or processing).
    pub async fn active_jobs_of(&self, account_id: &str) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM jobs WHERE account_id = $1 AND {ACTIVE}");
        let (n,): (i64,) =
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_one(pool).await?);
        Ok(n)
    }

    /// Lease up to `limit` due active jobs to `owner` until `now + lease_ms`.
    pub async fn claim_due(&self, owner: &str, lease_ms: i64, limit: i64) -> Result<Vec<JobRow>, StoreError> {
        let now = now_ms();
        let pick = format!(
            "SELECT id FROM jobs WHERE {ACTIVE} AND poll_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
             ORDER BY poll_at, created_at LIMIT $4"
        );
        Ok(on_db!(self, pool => {
            let pick = if self.is_sqlite() { pick.clone() } else { format!("{pick} FOR UPDATE SKIP LOCKED") };
            let sql = format!(
                "UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE id IN ({pick}) RETURNING {JOB_COLUMNS}"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(owner).bind(now + lease_ms).bind(now).bind(limit)
                .fetch_all(pool).await?
        }))
    }

    /// Extend `owner`'s lease on active job `id` to `until`, or say why not:
    /// the job ended or its lease was released (by the step itself), or
    /// another worker holds it now.
    pub async fn renew_lease(&self, id: &str, owner: &str, until: i64) -> Result<LeaseRenewal, StoreError> {
        let sql = format!("UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND {ACTIVE}");
        let renewed = on_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(owner).bind(until).execute(pool).await?.rows_affected())
            == 1;
        if renewed {
            return Ok(LeaseRenewal::Renewed);
        }
        let holder: Option<(Option<String>,)> = on_db!(self, pool => sqlx::query_as(
            "SELECT lease_owner FROM jobs WHERE id = $1",
        ).bind(id).fetch_optional(pool).await?);
        Ok(match holder.and_then(|(h,)| h) {
            Some(other) if other != owner => LeaseRenewal::TakenBy(other),
            _ => LeaseRenewal::Released,
        })
    }

    /// When the next active job can be claimed: its `poll_at`, or the end
    /// of its lease if one holds it longer. (A job being stepped is not
    /// due: counting its past `poll_at` made idle workers poll the
    /// database every few milliseconds while other steps ran.)
    pub async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > poll_at THEN lease_until ELSE poll_at END) \
             FROM jobs WHERE {ACTIVE}"
        );
        let (at,): (Option<i64>,) =
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?);
        Ok(at)
    }

    /// Hand job `id` back: drop `owner`'s lease so any node may step it at
    /// once (a node shutting down with steps unfinished). False if `owner`
    /// no longer held it.
    pub async fn release_lease(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        Ok(on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
        ).bind(id).bind(owner).execute(pool).await?.rows_affected())
            == 1)
    }

    /// Drop every lease (single-node start-up: no other process holds one).
    pub async fn release_all_leases(&self) -> Result<u64, StoreError> {
        Ok(on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL",
        ).execute(pool).await?.rows_affected()))
    }

    /// Record a submitted or polled running task; returns false if the job
    /// is no longer active (cancelled meanwhile). With `progress_event`
    /// (the caller passes it when the progress changed), its
    /// `generation.progress` deliveries are enqueued in the same transaction.
    pub async fn mark_running(
        &self,
        id: &str,
        handle: &str,
        progress: i64,
        poll_at: i64,
        progress_event: Option<&Event<'_>>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let sql = format!(
            "UPDATE jobs SET status = 'processing', handle = $2, progress = $3, poll_at = $4, \
             started_at = COALESCE(started_at, $5), lease_owner = NULL, lease_until = NULL, updated_at = $5 \
             WHERE id = $1 AND {ACTIVE} RETURNING {JOB_COLUMNS}"
        );
        Ok(on_db!(self, pool => match progress_event {
            None => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id).bind(handle).bind(progress).bind(poll_at).bind(now)
                .execute(pool).await?.rows_affected() == 1,
            Some(event) => {
                let mut tx = pool.begin().await?;
                let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id).bind(handle).bind(progress).bind(poll_at).bind(now)
                    .fetch_optional(&mut *tx).await?;
                let mut enqueued = 0;
                if let Some(row) = &row {
                    enqueued = tx.enqueue(row, &[], event).await?;
                }
                tx.commit().await?;
                self.signal_enqueued(enqueued);
                row.is_some()
            }
        }))
    }

    /// Try again later (a retryable failure); counts a submit attempt when
    /// `attempted` is set.
    pub async fn reschedule(&self, id: &str, poll_at: i64, attempted: bool) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET poll_at = $2, attempts = attempts + $3, lease_owner = NULL, lease_until = NULL, updated_at = $4 \
             WHERE id = $1 AND {ACTIVE}"
        );
        let n = on_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(poll_at).bind(i64::from(attempted)).bind(now_ms())
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Move an active job to `completed` with its artifacts, capture its
    /// reservation and enqueue `event`'s deliveries. False if it was no
    /// longer active.
    pub async fn complete_job(
        &self,
        job: &JobRow,
        artifacts: &[NewArtifact],
        event: &Event<'_>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let sql = format!(
            "UPDATE jobs SET status = 'completed', progress = 100, completed_at = $2, updated_at = $2, \
             lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {ACTIVE} RETURNING {JOB_COLUMNS}"
        );
        let rows: Vec<ArtifactRow> = artifacts
            .iter()
            .map(|a| ArtifactRow {
                id: a.id.clone(),
                job_id: job.id.clone(),
                position: a.position,
                path: a.path.clone(),
                mime: a.mime.clone(),
                size_bytes: a.size_bytes,
                width: a.width,
                height: a.height,
                duration_ms: a.duration_ms,
                created_at: now,
            })
            .collect();
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            // The account's lock, and its balance (which the capture records).
            let (balance,): (i64,) = sqlx::query_as("UPDATE accounts SET credits = credits WHERE id = $1 RETURNING credits")
                .bind(&job.account_id).fetch_one(&mut *tx).await?;
            let updated: Option<JobRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&job.id).bind(now).fetch_optional(&mut *tx).await?;
            let n = u64::from(updated.is_some());
            let mut enqueued = 0;
            if let Some(updated) = &updated {
                sqlx::query(RELEASE_ACTIVE).bind(&job.account_id).execute(&mut *tx).await?;
                for a in artifacts {
                    sqlx::query(
                        "INSERT INTO artifacts (id, job_id, position, path, mime, size_bytes, width, height, duration_ms, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&a.id).bind(&job.id).bind(a.position).bind(&a.path).bind(&a.mime).bind(a.size_bytes)
                    .bind(a.width).bind(a.height).bind(a.duration_ms).bind(now)
                    .execute(&mut *tx).await?;
                }
                if !job.test_mode && job.credit_cost > 0 {
                    sqlx::query(
                        "INSERT INTO ledger (account_id, job_id, entry, amount, balance_after, created_at) VALUES ($1, $2, 'capture', 0, $3, $4)",
                    )
                    .bind(&job.account_id).bind(&job.id).bind(balance).bind(now)
                    .execute(&mut *tx).await?;
                }
                enqueued = tx.enqueue(updated, &rows, event).await?;
            }
            tx.commit().await?;
            self.signal_enqueued(enqueued);
            n == 1
        }))
    }

    /// Move an active job to `failed` or `cancelled`, refunding
    /// `refund_percent` of its reservation and enqueueing `event`'s
    /// deliveries. False if it was no longer active.
    pub async fn end_job(
        &self,
        job: &JobRow,
        status: JobStatus,
        error: Option<(&str, &str)>,
        refund_percent: u8,
        event: &Event<'_>,
    ) -> Result<bool, StoreError> {
        self.end_job_if(job, status, error, refund_percent, event, "TRUE").await
    }

    /// Cancel an active job no step holds and no vendor accepted (no
    /// handle, no live lease), refunding it in full. False otherwise: a
    /// step may be submitting it (see [`Store::request_cancel`]).
    pub async fn cancel_unclaimed(&self, job: &JobRow, event: &Event<'_>) -> Result<bool, StoreError> {
        let unclaimed = format!("handle IS NULL AND (lease_until IS NULL OR lease_until < {})", now_ms());
        self.end_job_if(job, JobStatus::Cancelled, None, 100, event, &unclaimed).await
    }

    /// Ask the step holding active job `id` to cancel it (and make the job
    /// due, so the next step comes at once). The job as it is now, or
    /// `None` if it is no longer active.
    pub async fn request_cancel(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, $2), poll_at = $2, updated_at = $2 \
             WHERE id = $1 AND {ACTIVE} RETURNING {JOB_COLUMNS}"
        );
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(now_ms()).fetch_optional(pool).await?))
    }

    /// Forget a cancel request the vendor refused (the task finished
    /// first): the job goes on and is charged as usual.
    pub async fn clear_cancel_request(&self, id: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE jobs SET cancel_requested_at = NULL WHERE id = $1")
            .bind(id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// [`Store::end_job`] if the active job also meets SQL `condition`.
    async fn end_job_if(
        &self,
        job: &JobRow,
        status: JobStatus,
        error: Option<(&str, &str)>,
        refund_percent: u8,
        event: &Event<'_>,
        condition: &str,
    ) -> Result<bool, StoreError> {
        debug_assert!(matches!(status, JobStatus::Failed | JobStatus::Cancelled));
        let now = now_ms();
        let refund = refund_amount(job.credit_cost, refund_percent);
        let sql = format!(
            "UPDATE jobs SET status = $2, error_code = $3, error_message = $4, completed_at = $5, updated_at = $5, \
             lease_owner = NULL, lease_until = NULL WHERE id = $1 AND {ACTIVE} AND ({condition}) RETURNING {JOB_COLUMNS}"
        );
        let (code, message) = error.unzip();
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_account(&mut tx, &job.account_id).await?;
            let updated: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&job.id).bind(status.as_str()).bind(code).bind(message).bind(now)
                .fetch_optional(&mut *tx).await?;
            let n = u64::from(updated.is_some());
            let mut enqueued = 0;
            if let Some(updated) = &updated {
                sqlx::query(RELEASE_ACTIVE).bind(&job.account_id).execute(&mut *tx).await?;
                enqueued = tx.enqueue(updated, &[], event).await?;
            }
            if n == 1 && !job.test_mode && refund > 0 {
                let (balance,): (i64,) = sqlx::query_as(
                    "UPDATE accounts SET credits = credits + $1 WHERE id = $2 RETURNING credits",
                )
                .bind(refund).bind(&job.account_id).fetch_one(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO ledger (account_id, job_id, entry, amount, balance_after, created_at) VALUES ($1, $2, 'refund', $3, $4, $5)",
                )
                .bind(&job.account_id).bind(&job.id).bind(refund).bind(balance).bind(now)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            self.signal_enqueued(enqueued);
            n == 1
        }))
    }
}

impl Store {
    /// Move an active job whose vendor never accepted it (no handle) to
    /// another offering, in one transaction under the account's lock:
    /// record the attempt it leaves, adjust the reservation to the new
    /// quote (an `adjust` ledger line), and point the job at the new
    /// plugin. `Ok(None)` if the job ended or was accepted meanwhile;
    /// `InsufficientCredits` (nothing changed) when the balance cannot
    /// cover a higher quote.
    pub async fn fail_over(&self, job: &JobRow, to: &Failover) -> Result<Result<Option<JobRow>, Refusal>, StoreError> {
        let now = now_ms();
        let delta = if job.test_mode { 0 } else { to.credit_cost - job.credit_cost };
        let sql = format!(
            "UPDATE jobs SET provider = $2, plugin_id = $3, plugin_sha256 = $4, request = $5, credit_cost = $6, \
             estimated_seconds = $7, routing = $8, attempts = 0, started_at = $9, updated_at = $9, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND {ACTIVE} AND handle IS NULL RETURNING {JOB_COLUMNS}"
        );
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_account(&mut tx, &job.account_id).await?;
            let updated: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&job.id).bind(&to.provider).bind(&to.plugin_id).bind(&to.plugin_sha256).bind(&to.request)
                .bind(to.credit_cost).bind(to.estimated_seconds).bind(&to.routing).bind(now)
                .fetch_optional(&mut *tx).await?;
            let Some(updated) = updated else {
                tx.commit().await?;
                return Ok(Ok(None));
            };
            if delta != 0 {
                let balance: Option<(i64,)> = sqlx::query_as(
                    "UPDATE accounts SET credits = credits - $1 WHERE id = $2 AND credits >= $1 RETURNING credits",
                )
                .bind(delta).bind(&job.account_id).fetch_optional(&mut *tx).await?;
                let Some((balance,)) = balance else {
                    let (balance,): (i64,) = sqlx::query_as("SELECT credits FROM accounts WHERE id = $1")
                        .bind(&job.account_id).fetch_one(&mut *tx).await?;
                    // Dropping the transaction rolls the move back.
                    return Ok(Err(Refusal::InsufficientCredits { balance, cost: delta }));
                };
                sqlx::query(
                    "INSERT INTO ledger (account_id, job_id, entry, amount, balance_after, created_at) VALUES ($1, $2, 'adjust', $3, $4, $5)",
                )
                .bind(&job.account_id).bind(&job.id).bind(-delta).bind(balance).bind(now)
                .execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO job_attempts (job_id, attempt, provider, credit_cost, error_code, error_message, started_at, ended_at) \
                 SELECT $1, COUNT(*) + 1, $2, $3, $4, $5, $6, $7 FROM job_attempts WHERE job_id = $1",
            )
            .bind(&job.id).bind(&job.provider).bind(job.credit_cost).bind(&to.error_code).bind(&to.error_message)
            .bind(job.started_at.unwrap_or(job.created_at)).bind(now)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(updated))
        }))
    }

    /// The providers a job tried before its current one, in order.
    pub async fn job_attempts(&self, job_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT attempt, provider, credit_cost, error_code, error_message, started_at, ended_at \
             FROM job_attempts WHERE job_id = $1 ORDER BY attempt",
        )
        .bind(job_id).fetch_all(pool).await?))
    }
}

/// Credits refunded when a job of `cost` ends with `refund_percent`
/// refunded (rounded down: the vendor's share is never refunded twice).
pub fn refund_amount(cost: i64, refund_percent: u8) -> i64 {
    cost * i64::from(refund_percent.min(100)) / 100
}
