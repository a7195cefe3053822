//! The delivery worker: claims due deliveries with a lease, attempts each
//! (sign, POST, read a short excerpt of the answer) and records the
//! outcome.
//!
//! Up to `webhooks.max_in_flight` attempts run at once, each in its own
//! task bounded by `webhooks.timeout_secs`, so one slow receiver holds one
//! slot and never the others; one account holds at most
//! `webhooks.max_in_flight_per_account` of them (its deliveries beyond
//! that wait in the outbox), so an account whose receivers all hang
//! delays only its own events. The loop sleeps until the earliest due
//! delivery, deliveries committed by this process's job transactions (not
//! every job change: most enqueue nothing, and each look is a query), a
//! redelivery, or a finished attempt, and never longer than
//! [`IDLE_RECHECK`] (other nodes may enqueue too).
//!
//! Outcomes: 2xx delivered; 410 Gone failed and the account endpoint
//! disabled; any other status (3xx included: redirects are not followed),
//! a timeout or a connection error is a failed attempt, retried after the
//! next step of `webhooks.retry_schedule`, and failed for good after the
//! last. A target the SSRF rules refuse at send time fails at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::{LEASE_MARGIN, USER_AGENT, Webhooks, signing, target};
use crate::background::Background;
use crate::metrics::WebhookOutcome;
use crate::store::now_ms;
use crate::store::webhooks::{AttemptOutcome, DeliveryRow, EXCERPT_CHARS, NextStep, excerpt};

/// Longest the loop sleeps without looking for due deliveries.
const IDLE_RECHECK: Duration = Duration::from_secs(1);
/// Shortest sleep when a delivery is due (a claim races the clock).
const MIN_SLEEP: Duration = Duration::from_millis(5);
/// Pause after the store failed, so a database outage is not a busy loop.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Start the delivery worker; [`Background::shutdown`] sends the
/// deliveries due now (within `shutdown_grace_secs`), stops claiming, and
/// waits for attempts in flight (each bounded by `webhooks.timeout_secs`).
pub(super) fn spawn(hooks: Webhooks) -> Background {
    Background::spawn(|stopped| run(hooks, stopped))
}

async fn run(hooks: Webhooks, mut stopped: watch::Receiver<bool>) {
    let config = &hooks.inner.config.webhooks;
    let slots = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let per_account = config.max_in_flight_per_account.max(1);
    let accounts = Arc::new(InFlight::default());
    let timeout = Duration::from_secs(config.timeout_secs);
    let lease_ms = (timeout + LEASE_MARGIN).as_millis() as i64;
    let mut in_flight = JoinSet::new();
    let grace = Duration::from_secs(hooks.inner.config.shutdown_grace_secs);
    let mut flush_until = None;
    loop {
        // Stopping: send what is due now (the events of the last job steps)
        // within the grace, then leave the rest to other nodes.
        let stopping = *stopped.borrow();
        if stopping && *flush_until.get_or_insert_with(|| Instant::now() + grace) <= Instant::now() {
            break;
        }
        while in_flight.try_join_next().is_some() {}
        let free = slots.available_permits() as i64;
        let mut pause = None;
        let claimed = if free > 0 {
            let busy = accounts.at_least(per_account);
            match hooks.inner.store.claim_deliveries(now_ms() + lease_ms, free, &busy).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!("claiming webhook deliveries failed: {e}");
                    pause = Some(STORE_RETRY);
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let busy = !claimed.is_empty();
        if stopping && !busy && pause.is_none() {
            break;
        }
        for delivery in claimed {
            // One claim can hold several deliveries of one account: past its
            // share, give them back for a later round.
            let Some(account) = accounts.enter(&delivery.account_id, per_account) else {
                let lease = delivery.lease_until.unwrap_or_default();
                if let Err(e) = hooks.inner.store.unclaim_delivery(&delivery.id, lease).await {
                    tracing::warn!(delivery = %delivery.id, "giving back a webhook delivery failed: {e}");
                }
                continue;
            };
            let permit = slots.clone().acquire_owned().await.expect("semaphore never closed");
            let hooks = hooks.clone();
            in_flight.spawn(async move {
                attempt(&hooks, delivery, timeout).await;
                drop((permit, account));
            });
        }
        if busy {
            continue;
        }
        let sleep = match pause {
            Some(p) => p,
            None => match hooks.inner.store.next_delivery_due(&accounts.at_least(per_account)).await {
                Ok(Some(at)) => Duration::from_millis(
                    (at - now_ms()).clamp(MIN_SLEEP.as_millis() as i64, IDLE_RECHECK.as_millis() as i64) as u64,
                ),
                _ => IDLE_RECHECK,
            },
        };
        tokio::select! {
            _ = hooks.inner.wake.notified() => {}
            // Deliveries this process committed (a burst wakes it once).
            () = hooks.inner.store.deliveries_enqueued() => {}
            _ = tokio::time::sleep(sleep) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = stopped.changed() => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Attempts in flight per account on this node.
#[derive(Default)]
struct InFlight(std::sync::Mutex<std::collections::HashMap<String, usize>>);

/// One account's attempt in flight, until dropped.
struct Entered(Arc<InFlight>, String);

impl InFlight {
    /// Accounts with at least `n` attempts in flight.
    fn at_least(&self, n: usize) -> Vec<String> {
        let counts = self.0.lock().expect("never poisoned");
        counts.iter().filter(|(_, c)| **c >= n).map(|(a, _)| a.clone()).collect()
    }

    /// Count one more attempt of `account`, if it has fewer than `max`.
    fn enter(self: &Arc<Self>, account: &str, max: usize) -> Option<Entered> {
        let mut counts = self.0.lock().expect("never poisoned");
        let count = counts.entry(account.to_string()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Entered(self.clone(), account.to_string()))
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let mut counts = self.0.0.lock().expect("never poisoned");
        if let Some(count) = counts.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.1);
            }
        }
    }
}

/// One attempt at one delivery, recorded.
async fn attempt(hooks: &Webhooks, delivery: DeliveryRow, timeout: Duration) {
    let attempted_at = now_ms();
    let started = Instant::now();
    let sent = send(hooks, &delivery, timeout).await;
    let latency_ms = started.elapsed().as_millis() as i64;
    let attempts = delivery.attempts as usize + 1;
    let retry = || match hooks.retry_delay(attempts) {
        Some(delay) => NextStep::RetryAt(now_ms() + delay.as_millis() as i64),
        None => NextStep::Failed,
    };
    let (http_status, error, response, next) = match sent {
        Sent::Answered { status, body } => {
            let next = match status {
                200..=299 => NextStep::Delivered,
                410 => {
                    NextStep::Gone(format!("the receiver answered 410 Gone at {}", super::event::rfc3339(attempted_at)))
                }
                _ => retry(),
            };
            let error = (!(200..=299).contains(&status)).then(|| format!("HTTP {status}"));
            (Some(status), error, Some(body), next)
        }
        Sent::Failed(message) => (None, Some(excerpt(&message)), None, retry()),
        Sent::Refused(message) => (None, Some(excerpt(&message)), None, NextStep::Failed),
    };
    let outcome = AttemptOutcome { attempted_at, http_status, latency_ms, error, response, next };
    let measured = match &outcome.next {
        NextStep::Delivered => WebhookOutcome::Delivered,
        NextStep::RetryAt(_) => WebhookOutcome::Retry,
        NextStep::Failed => WebhookOutcome::Failed,
        NextStep::Gone(_) => WebhookOutcome::Gone,
    };
    hooks.inner.metrics.webhook_attempt(measured, started.elapsed());
    match &outcome.next {
        NextStep::Delivered => {
            tracing::debug!(delivery = %delivery.id, msg = %delivery.message_id, latency_ms, "webhook delivered")
        }
        next => tracing::info!(
            delivery = %delivery.id, msg = %delivery.message_id, attempt = attempts, status = ?http_status,
            error = outcome.error.as_deref().unwrap_or_default(), ?next, "webhook attempt failed"
        ),
    }
    if let Err(e) = hooks.inner.store.record_attempt(&delivery, &outcome).await {
        // The lease expires and the delivery is attempted again.
        tracing::error!(delivery = %delivery.id, "recording a webhook attempt failed: {e}");
    }
}

/// What became of a POST.
enum Sent {
    /// The receiver answered (any status); an excerpt of its body.
    Answered { status: u16, body: String },
    /// No answer: timeout, connection or protocol error. Retried.
    Failed(String),
    /// Not sent, and never will be (refused target, no usable secret).
    Refused(String),
}

async fn send(hooks: &Webhooks, delivery: &DeliveryRow, timeout: Duration) -> Sent {
    let allow_private = hooks.allow_private();
    let url = match target::check(&delivery.url, allow_private) {
        Ok(url) => url,
        Err(e) => return Sent::Refused(format!("the URL {e}")),
    };
    let account = match hooks.inner.store.account(&delivery.account_id).await {
        Ok(Some(account)) => account,
        Ok(None) => return Sent::Refused("the account no longer exists".into()),
        Err(e) => return Sent::Failed(format!("could not read the signing secret: {e}")),
    };
    let keys: Vec<Vec<u8>> =
        account.webhook_secrets(now_ms()).into_iter().filter_map(|s| signing::decode_secret(s).ok()).collect();
    if keys.is_empty() {
        return Sent::Refused("the account has no valid webhook secret; rotate it".into());
    }
    let timestamp = now_ms() / 1000;
    let body = delivery.payload.as_bytes();
    let signature = signing::signature_header(&keys, &delivery.message_id, timestamp, body);
    let request = hooks
        .inner
        .net
        .webhook_client(allow_private)
        .post(url)
        .timeout(timeout)
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .body(delivery.payload.clone());
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Sent::Failed(describe(&e, timeout)),
    };
    let status = response.status().as_u16();
    // Only the start of the answer is kept; the rest is never read.
    let mut head = Vec::new();
    while head.len() < EXCERPT_CHARS * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    Sent::Answered { status, body: excerpt(&String::from_utf8_lossy(&head)) }
}

/// A transport error as one line: what failed, with its causes.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if let Some(refused) = crate::net::is_private_refusal(error) {
        return format!("refused: {refused}");
    }
    if error.is_timeout() {
        return format!("no answer within {} s (timeout)", timeout.as_secs());
    }
    let mut text = if error.is_connect() { "connection failed".to_string() } else { "request failed".to_string() };
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
