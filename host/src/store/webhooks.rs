//! The webhook outbox: account endpoints, deliveries and their attempts.
//!
//! Deliveries are written by `Outbox::enqueue` inside the transactions of
//! `store::jobs` that change a job's status (`complete_job`, `end_job`) or
//! progress (`mark_running`), so an event exists exactly when its cause
//! committed. The delivery worker (`crate::webhooks`) claims due rows with
//! a lease, and [`Store::record_attempt`] settles one attempt in one
//! transaction (the attempt's log line, the delivery's next state, and for
//! HTTP 410 the endpoint's disabling).
//!
//! Endpoint event filters are stored comma-framed (`,*,generation.progress,`)
//! so one `LIKE` matches an event type on SQLite and PostgreSQL alike.

use super::accounts::new_id;
use super::artifacts::ArtifactRow;
use super::jobs::JobRow;
use super::{Store, StoreError, now_ms, on_db};

/// The three terminal event types, what `*` stands for.
pub const TERMINAL_EVENTS: [&str; 3] = ["generation.completed", "generation.failed", "generation.cancelled"];
/// The opt-in event type.
pub const PROGRESS_EVENT: &str = "generation.progress";

/// An account's webhook endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    /// `whe_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Target URL (checked when created, and again at each delivery).
    pub url: String,
    /// Comma-framed event filter; see [`EndpointRow::events`].
    pub events: String,
    /// False once the receiver answered 410 Gone.
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// What [`Store::create_endpoint`] did.
#[derive(Debug)]
pub enum NewEndpoint {
    /// Added.
    Created(EndpointRow),
    /// The account already has an endpoint with this URL (its id).
    Duplicate(String),
    /// The account already has this many endpoints, the most allowed.
    TooMany(i64),
}

impl EndpointRow {
    /// The filter as a list (`*` and/or event type names).
    pub fn event_list(&self) -> Vec<String> {
        self.events.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect()
    }
}

/// Store a filter list in its comma-framed form.
pub fn frame_events(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

/// Lifecycle of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Retries exhausted, 410 Gone, or the target refused for good.
    Failed,
}

impl DeliveryStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parse [`DeliveryStatus::as_str`].
    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        Some(match text {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }
}

/// One event for one target.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    /// `whd_…`.
    pub id: String,
    /// `msg_…`, the `webhook-id` header: the same for every target of one
    /// event and across retries and redeliveries.
    pub message_id: String,
    /// Owner.
    pub account_id: String,
    /// The generation the event is about.
    pub job_id: String,
    /// The account endpoint; `None` for the per-request `webhookUrl`.
    pub endpoint_id: Option<String>,
    /// Target.
    pub url: String,
    /// `generation.completed`, …
    pub event_type: String,
    /// The JSON body, built once at enqueue.
    pub payload: String,
    /// See [`DeliveryRow::status`].
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (Unix ms).
    pub next_attempt_at: i64,
    /// While a worker is attempting it (Unix ms); also the claim's token.
    pub lease_until: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl DeliveryRow {
    /// Parsed status (a corrupt value reads as failed).
    pub fn status(&self) -> DeliveryStatus {
        DeliveryStatus::parse(&self.status).unwrap_or(DeliveryStatus::Failed)
    }
}

/// One attempt at a delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    /// Sequence number.
    pub id: i64,
    /// The delivery.
    pub delivery_id: String,
    /// Unix ms.
    pub attempted_at: i64,
    /// The receiver's HTTP status; `None` when none came (timeout, refused connection).
    pub http_status: Option<i64>,
    /// Time to the answer or the failure.
    pub latency_ms: i64,
    /// What went wrong, at most [`EXCERPT_CHARS`] characters.
    pub error: Option<String>,
    /// The start of the receiver's body, at most [`EXCERPT_CHARS`] characters.
    pub response: Option<String>,
}

/// The longest error or response excerpt kept per attempt.
pub const EXCERPT_CHARS: usize = 300;

/// Cut `text` to [`EXCERPT_CHARS`] characters.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// The event a status change raises, given to the job transactions.
pub struct Event<'a> {
    /// `generation.completed`, `generation.failed`, `generation.cancelled`
    /// or `generation.progress`.
    pub event_type: &'a str,
    /// Whether the job's per-request `webhookUrl` receives it (terminal
    /// events: always; progress: when the request opted in).
    pub to_request_url: bool,
    /// Builds the JSON body from the job's new row and artifacts. Pure (no
    /// I/O): it runs inside the transaction, and only when a target exists.
    pub render: &'a (dyn Fn(&JobRow, &[ArtifactRow]) -> String + Sync),
}

/// Enqueue an event's deliveries in an open transaction.
pub(super) trait Outbox {
    /// Insert one pending delivery per target (the job's `webhookUrl` and
    /// each enabled endpoint of the account whose filter matches), all
    /// with one new `msg_…` id. Returns how many.
    async fn enqueue(
        &mut self,
        job: &JobRow,
        artifacts: &[ArtifactRow],
        event: &Event<'_>,
    ) -> Result<usize, sqlx::Error>;
}

const MATCHING_ENDPOINTS: &str = "SELECT id, url FROM webhook_endpoints WHERE account_id = $1 AND enabled \
     AND (events LIKE '%,' || $2 || ',%' OR ($2 <> 'generation.progress' AND events LIKE '%,*,%')) \
     ORDER BY created_at, id";

const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, message_id, account_id, job_id, endpoint_id, url, \
     event_type, payload, status, attempts, next_attempt_at, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9, $9)";

macro_rules! outbox_for {
    ($db:ty) => {
        impl Outbox for sqlx::Transaction<'_, $db> {
            async fn enqueue(
                &mut self,
                job: &JobRow,
                artifacts: &[ArtifactRow],
                event: &Event<'_>,
            ) -> Result<usize, sqlx::Error> {
                let endpoints: Vec<(String, String)> = sqlx::query_as(MATCHING_ENDPOINTS)
                    .bind(&job.account_id)
                    .bind(event.event_type)
                    .fetch_all(&mut **self)
                    .await?;
                let request_url = job.webhook_url.as_deref().filter(|_| event.to_request_url);
                let targets: Vec<(Option<&str>, &str)> = request_url
                    .map(|u| (None, u))
                    .into_iter()
                    .chain(endpoints.iter().map(|(id, url)| (Some(id.as_str()), url.as_str())))
                    .collect();
                if targets.is_empty() {
                    return Ok(0);
                }
                let payload = (event.render)(job, artifacts);
                let message_id = new_id("msg");
                let now = now_ms();
                for (endpoint_id, url) in &targets {
                    sqlx::query(INSERT_DELIVERY)
                        .bind(new_id("whd"))
                        .bind(&message_id)
                        .bind(&job.account_id)
                        .bind(&job.id)
                        .bind(*endpoint_id)
                        .bind(*url)
                        .bind(event.event_type)
                        .bind(&payload)
                        .bind(now)
                        .execute(&mut **self)
                        .await?;
                }
                Ok(targets.len())
            }
        }
    };
}
outbox_for!(sqlx::Sqlite);
outbox_for!(sqlx::Postgres);

/// How one attempt ended, as [`Store::record_attempt`] records it.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// When it started (Unix ms).
    pub attempted_at: i64,
    /// The receiver's status, if it answered.
    pub http_status: Option<u16>,
    /// Time to the answer or failure.
    pub latency_ms: i64,
    /// Error excerpt.
    pub error: Option<String>,
    /// Response excerpt.
    pub response: Option<String>,
    /// What happens to the delivery.
    pub next: NextStep,
}

/// The delivery's state after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// 2xx: done.
    Delivered,
    /// Try again at this time (Unix ms).
    RetryAt(i64),
    /// Give up (schedule exhausted, or the target is refused for good).
    Failed,
    /// 410 Gone: give up, and disable the account endpoint (if any) with
    /// this reason, failing its other pending deliveries.
    Gone(String),
}

/// The condition for a pending delivery no worker holds (`now` names the
/// parameter bound to now), meeting `due`, of an account not in `busy`
/// (bound from parameter `first_busy` on).
fn claimable(due: &str, now: &str, busy: &[String], first_busy: usize) -> String {
    let mut condition = format!("status = 'pending' AND {due} AND (lease_until IS NULL OR lease_until < {now})");
    if !busy.is_empty() {
        let params: Vec<String> = (0..busy.len()).map(|i| format!("${}", i + first_busy)).collect();
        condition.push_str(&format!(" AND account_id NOT IN ({})", params.join(", ")));
    }
    condition
}

const DELIVERY_COLUMNS: &str = "id, message_id, account_id, job_id, endpoint_id, url, event_type, payload, status, \
     attempts, next_attempt_at, lease_until, created_at, updated_at";
const ENDPOINT_COLUMNS: &str = "id, account_id, url, events, enabled, disabled_reason, created_at";
const ATTEMPT_COLUMNS: &str = "id, delivery_id, attempted_at, http_status, latency_ms, error, response";

impl Store {
    /// Add an endpoint (URL and filter already checked by the caller).
    pub async fn create_endpoint(
        &self,
        account_id: &str,
        url: &str,
        events: &[String],
        max_per_account: i64,
    ) -> Result<NewEndpoint, StoreError> {
        let sql = format!(
            "INSERT INTO webhook_endpoints (id, account_id, url, events, enabled, created_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING {ENDPOINT_COLUMNS}"
        );
        Ok(on_db!(self, pool => {
            // Under the account's lock, so two requests cannot both pass the cap.
            let mut tx = pool.begin().await?;
            super::jobs::lock_account(&mut tx, account_id).await?;
            let existing: Vec<(String, String)> =
                sqlx::query_as("SELECT id, url FROM webhook_endpoints WHERE account_id = $1")
                    .bind(account_id).fetch_all(&mut *tx).await?;
            if let Some((id, _)) = existing.iter().find(|(_, u)| u == url) {
                NewEndpoint::Duplicate(id.clone())
            } else if existing.len() as i64 >= max_per_account {
                NewEndpoint::TooMany(existing.len() as i64)
            } else {
                let row: EndpointRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(new_id("whe")).bind(account_id).bind(url).bind(frame_events(events)).bind(now_ms())
                    .fetch_one(&mut *tx).await?;
                tx.commit().await?;
                NewEndpoint::Created(row)
            }
        }))
    }

    /// An account's endpoints, oldest first.
    pub async fn endpoints_of(&self, account_id: &str) -> Result<Vec<EndpointRow>, StoreError> {
        let sql =
            format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at, id");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_all(pool).await?))
    }

    /// Remove an endpoint of the account; its pending deliveries fail (the
    /// log of past ones stays). False if there was no such endpoint.
    pub async fn delete_endpoint(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND account_id = $2")
                .bind(id).bind(account_id).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'failed', lease_until = NULL, updated_at = $2 \
                     WHERE endpoint_id = $1 AND status = 'pending'",
                )
                .bind(id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n == 1
        }))
    }

    /// Lease up to `limit` due pending deliveries until `lease_until` (Unix
    /// ms, also the token [`Store::record_attempt`] checks), skipping the
    /// accounts in `busy` (those with as many attempts in flight as allowed).
    pub async fn claim_deliveries(
        &self,
        lease_until: i64,
        limit: i64,
        busy: &[String],
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let pick = format!(
            "SELECT id FROM webhook_deliveries WHERE {} ORDER BY next_attempt_at LIMIT $3",
            claimable("next_attempt_at <= $2", "$2", busy, 4)
        );
        Ok(on_db!(self, pool => {
            let pick = if self.is_sqlite() { pick.clone() } else { format!("{pick} FOR UPDATE SKIP LOCKED") };
            let sql = format!(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN ({pick}) RETURNING {DELIVERY_COLUMNS}"
            );
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(lease_until).bind(now_ms()).bind(limit);
            for account in busy {
                query = query.bind(account);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Give a claimed delivery back unattempted (its lease, `lease_until`,
    /// still held), for any worker to claim again.
    pub async fn unclaim_delivery(&self, id: &str, lease_until: i64) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = NULL WHERE id = $1 AND lease_until = $2",
        ).bind(id).bind(lease_until).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The earliest `next_attempt_at` of a pending delivery no worker
    /// holds, of an account not in `busy`.
    pub async fn next_delivery_due(&self, busy: &[String]) -> Result<Option<i64>, StoreError> {
        let sql =
            format!("SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE {}", claimable("1 = 1", "$1", busy, 2));
        let (at,): (Option<i64>,) = on_db!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(now_ms());
            for account in busy {
                query = query.bind(account);
            }
            query.fetch_one(pool).await?
        });
        Ok(at)
    }

    /// Drop every delivery lease (single-node start-up: attempts cut off by
    /// a crash are made again at once).
    pub async fn release_delivery_leases(&self) -> Result<u64, StoreError> {
        Ok(on_db!(self, pool => sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL",
        ).execute(pool).await?.rows_affected()))
    }

    /// Log an attempt and move the delivery on, in one transaction. The
    /// delivery changes only if the claim that made the attempt still holds
    /// (`lease_until` unchanged): a redelivery requested meanwhile wins.
    /// Returns whether the delivery changed.
    pub async fn record_attempt(&self, delivery: &DeliveryRow, outcome: &AttemptOutcome) -> Result<bool, StoreError> {
        let now = now_ms();
        let (status, next_at) = match &outcome.next {
            NextStep::Delivered => (DeliveryStatus::Delivered, delivery.next_attempt_at),
            NextStep::RetryAt(at) => (DeliveryStatus::Pending, *at),
            NextStep::Failed | NextStep::Gone(_) => (DeliveryStatus::Failed, delivery.next_attempt_at),
        };
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO webhook_attempts (delivery_id, attempted_at, http_status, latency_ms, error, response) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&delivery.id).bind(outcome.attempted_at).bind(outcome.http_status.map(i64::from))
            .bind(outcome.latency_ms).bind(&outcome.error).bind(&outcome.response)
            .execute(&mut *tx).await?;
            let changed = sqlx::query(
                "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, next_attempt_at = $3, \
                 lease_until = NULL, updated_at = $4 WHERE id = $1 AND lease_until = $5 AND status = 'pending'",
            )
            .bind(&delivery.id).bind(status.as_str()).bind(next_at).bind(now).bind(delivery.lease_until)
            .execute(&mut *tx).await?.rows_affected() == 1;
            if let (NextStep::Gone(reason), Some(endpoint)) = (&outcome.next, &delivery.endpoint_id) {
                sqlx::query("UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2 WHERE id = $1")
                    .bind(endpoint).bind(reason).execute(&mut *tx).await?;
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'failed', lease_until = NULL, updated_at = $2 \
                     WHERE endpoint_id = $1 AND status = 'pending' AND id <> $3",
                )
                .bind(endpoint).bind(now).bind(&delivery.id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            changed
        }))
    }

    /// An account's deliveries, newest first, after the cursor `(created_at, id)`.
    pub async fn deliveries_of(
        &self,
        account_id: &str,
        job_id: Option<&str>,
        status: Option<DeliveryStatus>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let (after_ts, after_id) = after.unwrap_or((i64::MAX, "\u{10FFFF}".to_string()));
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 \
             AND ($2 = '' OR job_id = $2) AND ($3 = '' OR status = $3) \
             AND (created_at < $4 OR (created_at = $4 AND id < $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(job_id.unwrap_or("")).bind(status.map(DeliveryStatus::as_str).unwrap_or(""))
            .bind(after_ts).bind(after_id).bind(limit)
            .fetch_all(pool).await?))
    }

    /// A delivery of the account.
    pub async fn delivery_of(&self, account_id: &str, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND account_id = $2");
        Ok(
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).fetch_optional(pool).await?),
        )
    }

    /// A delivery's attempts, oldest first.
    pub async fn attempts_of(&self, delivery_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(delivery_id).fetch_all(pool).await?))
    }

    /// Make a delivery of the account due now again, whatever its state
    /// (same `msg_…` id and payload). The attempt counts toward the retry
    /// schedule: a delivery whose retries were exhausted gets this one.
    pub async fn redeliver(&self, account_id: &str, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let now = now_ms();
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, lease_until = NULL, updated_at = $3 \
             WHERE id = $1 AND account_id = $2 RETURNING {DELIVERY_COLUMNS}"
        );
        Ok(
            on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(account_id).bind(now).fetch_optional(pool).await?),
        )
    }

    /// Make `new_secret` the account's webhook secret; the current one keeps
    /// signing as a second signature until `previous_until` (Unix ms). A
    /// secret still in its grace from an earlier rotation is dropped.
    pub async fn rotate_webhook_secret(
        &self,
        account_id: &str,
        new_secret: &str,
        previous_until: i64,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE accounts SET webhook_secret_previous = webhook_secret, webhook_secret_previous_until = $3, \
             webhook_secret = $2 WHERE id = $1",
        ).bind(account_id).bind(new_secret).bind(previous_until).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_frame_and_excerpts_cut_on_characters() {
        let framed = frame_events(&["*".into(), PROGRESS_EVENT.into()]);
        assert_eq!(framed, ",*,generation.progress,");
        let row = EndpointRow {
            id: "whe_1".into(),
            account_id: "acc".into(),
            url: "https://example.com/".into(),
            events: framed,
            enabled: true,
            disabled_reason: None,
            created_at: 0,
        };
        assert_eq!(row.event_list(), vec!["*", "generation.progress"]);
        assert_eq!(excerpt(&"é".repeat(400)).chars().count(), EXCERPT_CHARS);
        assert_eq!(excerpt("short"), "short");
    }
}
