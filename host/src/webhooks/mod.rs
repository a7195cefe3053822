//! Webhooks (ARCHITECTURE §7): Standard Webhooks signatures, a durable
//! outbox, retries on a schedule, a delivery log, redelivery.
//!
//! What it owns:
//! - [`signing`]: secrets and `v1` signatures (also used by
//!   `doitong webhooks verify`);
//! - [`event`]: event types and payloads (`data` is the GraphQL
//!   `Generation`, rendered by the same code the GraphQL type uses);
//! - [`target`]: which URLs may receive webhooks (SSRF rules);
//! - [`Webhooks`]: the account-facing operations (endpoints, the delivery
//!   log, redelivery, secret rotation) and the delivery worker.
//!
//! How an event travels: the job transactions in `store::jobs` that make a
//! generation completed, failed or cancelled (and, opted in, change its
//! progress) insert one `webhook_deliveries` row per target in the same
//! transaction — the outbox — with the payload rendered once. The worker
//! claims due rows with a lease, signs and POSTs them, and records each
//! attempt. A crash between commit and delivery, or mid-attempt, loses
//! nothing: the row is still pending and is sent after the restart
//! (at-least-once; receivers deduplicate on `webhook-id`).
//!
//! Decisions:
//! - The payload is stored, the signature is not: each attempt is signed
//!   when sent, with a fresh `webhook-timestamp` (receivers refuse stale
//!   ones) and the secrets in force then, so a rotation applies to retries.
//! - The worker runs only on nodes that run jobs (`jobs.workers > 0`): an
//!   API-only node writes events to the shared database and the worker
//!   nodes deliver them, as they run its generations.
//! - A delivery's lease is the attempt timeout plus [`LEASE_MARGIN`]; a
//!   single-node SQLite host drops leases at start-up and re-sends at once.
//! - Names are judged at connect time by the resolver of
//!   [`crate::net::NetClients::webhook_client`] (public-only, or with
//!   `allow_private` everything but cloud metadata): checking a name when a
//!   URL is given would not stop it from resolving elsewhere later.
//!
//! This module must never change a job or move credits, follow a
//! redirect, keep more of a receiver's answer than an excerpt, or send
//! anything that the outbox does not hold.

pub mod event;
pub mod signing;
pub mod target;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::{Config, ConfigError};
use crate::error::{ApiError, ErrorCode};
use crate::metrics::Metrics;
use crate::net::NetClients;
use crate::store::webhooks::{DeliveryRow, DeliveryStatus, EndpointRow, NewEndpoint};
use crate::store::{Store, now_ms};

/// Added to the attempt timeout to make a delivery's lease: another node
/// takes a delivery over only when its attempt cannot still be running.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// Longest grace a rotated secret can keep (30 days).
pub const MAX_GRACE_HOURS: i32 = 24 * 30;
/// The `user-agent` of deliveries.
pub const USER_AGENT: &str = concat!("Doitong-Webhooks/", env!("CARGO_PKG_VERSION"));

struct Inner {
    store: Store,
    net: NetClients,
    config: Arc<Config>,
    schedule: Vec<Duration>,
    wake: Notify,
    metrics: Metrics,
}

/// The webhook service. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

impl Webhooks {
    /// The service over the store and the outbound clients; fails on an
    /// invalid `webhooks.retry_schedule`.
    pub fn new(store: Store, net: NetClients, config: Arc<Config>, metrics: Metrics) -> Result<Webhooks, ConfigError> {
        let schedule = config.webhooks.schedule()?;
        Ok(Webhooks { inner: Arc::new(Inner { store, net, config, schedule, wake: Notify::new(), metrics }) })
    }

    /// Start the delivery worker; it wakes when this process commits
    /// deliveries (`Store::deliveries_enqueued`) and looks at the outbox
    /// at least every second for other nodes' ones.
    pub fn spawn_worker(&self) -> crate::background::Background {
        worker::spawn(self.clone())
    }

    /// The delay before retry `n` (1-based) if the schedule has one.
    pub fn retry_delay(&self, n: usize) -> Option<Duration> {
        n.checked_sub(1).and_then(|i| self.inner.schedule.get(i)).copied()
    }

    fn allow_private(&self) -> bool {
        self.inner.config.webhooks.allow_private
    }

    /// Add an endpoint to the account. `events` defaults to `["*"]` (the
    /// three terminal events); `generation.progress` only when listed.
    pub async fn create_endpoint(
        &self,
        account_id: &str,
        url: &str,
        events: Option<Vec<String>>,
    ) -> Result<EndpointRow, ApiError> {
        target::check(url, self.allow_private()).map_err(|e| crate::error::webhook_target("url", &e))?;
        let mut events = events.unwrap_or_else(|| vec!["*".to_string()]);
        events.iter_mut().for_each(|e| *e = e.trim().to_string());
        if events.is_empty() {
            return Err(ApiError::invalid("events", "events must list at least one event type, or `*`"));
        }
        if let Some(bad) = events.iter().find(|e| !event::EventType::is_filter_name(e)) {
            let allowed =
                ["*", "generation.completed", "generation.failed", "generation.cancelled", "generation.progress"];
            return Err(ApiError::invalid("events", format!("unknown event type {bad:?}; use {}", allowed.join(", ")))
                .with("allowedValues", allowed.to_vec()));
        }
        events.sort();
        events.dedup();
        let max = self.inner.config.webhooks.max_endpoints;
        match self.inner.store.create_endpoint(account_id, url.trim(), &events, i64::from(max)).await? {
            NewEndpoint::Created(row) => Ok(row),
            NewEndpoint::Duplicate(id) => {
                Err(ApiError::invalid("url", format!("endpoint `{id}` already delivers to this URL"))
                    .with("endpointId", id))
            }
            NewEndpoint::TooMany(n) => Err(ApiError::invalid(
                "url",
                format!(
                    "the account has {n} webhook endpoints, the most allowed (webhooks.max_endpoints); delete one first"
                ),
            )
            .with("limit", "webhooks.max_endpoints")),
        }
    }

    /// The account's endpoints.
    pub async fn endpoints(&self, account_id: &str) -> Result<Vec<EndpointRow>, ApiError> {
        Ok(self.inner.store.endpoints_of(account_id).await?)
    }

    /// Remove an endpoint of the account (its pending deliveries fail).
    pub async fn delete_endpoint(&self, account_id: &str, id: &str) -> Result<bool, ApiError> {
        if self.inner.store.delete_endpoint(account_id, id).await? {
            Ok(true)
        } else {
            Err(ApiError::new(ErrorCode::NotFound, format!("no webhook endpoint `{id}`")).with("id", id))
        }
    }

    /// A page of the account's deliveries, newest first.
    pub async fn deliveries(
        &self,
        account_id: &str,
        generation_id: Option<&str>,
        status: Option<DeliveryStatus>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, ApiError> {
        Ok(self.inner.store.deliveries_of(account_id, generation_id, status, after, limit).await?)
    }

    /// The store (for the delivery log's attempts).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Attempt a delivery of the account again now, with the same
    /// `webhook-id` and payload. It counts toward the retry schedule: a
    /// delivery whose retries were exhausted gets this one attempt.
    pub async fn redeliver(&self, account_id: &str, id: &str) -> Result<DeliveryRow, ApiError> {
        let row =
            self.inner.store.redeliver(account_id, id).await?.ok_or_else(|| {
                ApiError::new(ErrorCode::NotFound, format!("no webhook delivery `{id}`")).with("id", id)
            })?;
        self.inner.wake.notify_one();
        Ok(row)
    }

    /// Replace the account's signing secret; the old one keeps signing (a
    /// second signature) for `grace_hours` (0..=720). Returns the new secret.
    pub async fn rotate_secret(&self, account_id: &str, grace_hours: i32) -> Result<String, ApiError> {
        if !(0..=MAX_GRACE_HOURS).contains(&grace_hours) {
            return Err(ApiError::invalid("graceHours", format!("graceHours must be between 0 and {MAX_GRACE_HOURS}")));
        }
        let secret = signing::new_secret();
        let until = now_ms() + i64::from(grace_hours) * 3_600_000;
        if !self.inner.store.rotate_webhook_secret(account_id, &secret, until).await? {
            return Err(ApiError::new(ErrorCode::NotFound, "account not found"));
        }
        Ok(secret)
    }
}
