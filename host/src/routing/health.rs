//! Observed health per offering, shared by every node on the database.
//!
//! Writers ([`Health::accepted`], [`Health::completed`], [`Health::failed`],
//! the periodic `health` checks) go to the database first; readers (the
//! router on every `generate`, `providers { health }`, `/metrics`) read an
//! in-memory [`HealthView`] that is rebuilt from the database every
//! `routing.refresh_ms` and at once after a local breaker change. Routing
//! therefore costs no query per request, and a breaker another node opened
//! is seen here within one refresh. A local result is added to the view
//! itself (it keeps each offering's window of outcomes), not re-read: the
//! read loads the newest `window_jobs` outcomes of every offering, and
//! doing that on every completed generation cost more CPU than the rest of
//! the generation (`bench/`: the whole 15-minute window was read each time).
//!
//! What counts: a result (with its time from submit to result) and
//! vendor-side failures (unavailable, rate-limited, refused credentials,
//! retired model, a call that timed out). A user's own mistakes (invalid
//! input, moderation) and test-mode generations say nothing about the
//! vendor and are not recorded.
//!
//! This module must never choose offerings; it only observes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::breaker::{self, BreakerState, Event, Observed, Policy};
use crate::config::RoutingConfig;
use crate::store::health::BreakerRow;
use crate::store::{Store, StoreError, now_ms};

/// One offering's health at the last refresh.
#[derive(Debug, Clone, Default)]
pub struct OfferingHealth {
    /// The stored breaker (closed when never written).
    pub breaker: BreakerRow,
    /// Results over results plus vendor failures, in the window.
    pub success_rate: Option<f64>,
    /// Median submit-to-result time of the window's results, ms.
    pub p50_ms: Option<i64>,
    /// Outcomes in the window.
    pub samples: u32,
    /// Results among them.
    pub successes: u32,
}

impl OfferingHealth {
    /// The breaker state at `now`.
    pub fn state(&self, now: i64) -> BreakerState {
        breaker::state(&self.breaker, now)
    }
}

/// Every offering's health, as of `at`.
#[derive(Debug, Clone, Default)]
pub struct HealthView {
    /// When it was read (Unix ms).
    pub at: i64,
    offerings: HashMap<String, OfferingHealth>,
    /// Each offering's window, newest first: (a result, its duration).
    windows: HashMap<String, VecDeque<(bool, Option<i64>)>>,
}

impl HealthView {
    /// `offering`'s health; a never-seen offering is closed with no samples.
    pub fn get(&self, offering: &str) -> OfferingHealth {
        self.offerings
            .get(offering)
            .cloned()
            .unwrap_or_else(|| OfferingHealth { breaker: BreakerRow::closed(offering), ..OfferingHealth::default() })
    }

    /// Like [`get`](Self::get) without cloning, `None` for never-seen ones.
    pub fn peek(&self, offering: &str) -> Option<&OfferingHealth> {
        self.offerings.get(offering)
    }

    /// Every offering with any record.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &OfferingHealth)> {
        self.offerings.iter()
    }

    /// A view from stored rows: the window is the newest `window_jobs`
    /// outcomes per offering among `outcomes` (newest first, already cut
    /// to the time window).
    pub fn build(
        at: i64,
        breakers: Vec<BreakerRow>,
        outcomes: &[crate::store::health::OutcomeRow],
        window_jobs: u32,
    ) -> HealthView {
        let mut offerings: HashMap<String, OfferingHealth> = breakers
            .into_iter()
            .map(|b| (b.offering_id.clone(), OfferingHealth { breaker: b, ..OfferingHealth::default() }))
            .collect();
        let mut windows: HashMap<String, VecDeque<(bool, Option<i64>)>> = HashMap::new();
        for outcome in outcomes {
            let window = windows.entry(outcome.offering_id.clone()).or_default();
            if window.len() < window_jobs as usize {
                window.push_back((outcome.ok, outcome.duration_ms));
            }
        }
        for (id, window) in &windows {
            let entry = offerings
                .entry(id.clone())
                .or_insert_with(|| OfferingHealth { breaker: BreakerRow::closed(id), ..OfferingHealth::default() });
            summarise(entry, window);
        }
        HealthView { at, offerings, windows }
    }

    /// This view with one more outcome of `offering` (newest), its window
    /// cut to `window_jobs`.
    pub fn with_outcome(&self, offering: &str, ok: bool, duration_ms: Option<i64>, window_jobs: u32) -> HealthView {
        let mut view = self.clone();
        let window = view.windows.entry(offering.to_string()).or_default();
        window.push_front((ok, duration_ms));
        window.truncate(window_jobs.max(1) as usize);
        let entry = view
            .offerings
            .entry(offering.to_string())
            .or_insert_with(|| OfferingHealth { breaker: BreakerRow::closed(offering), ..OfferingHealth::default() });
        summarise(entry, window);
        view
    }
}

/// `health`'s samples, success rate and median time from its `window`.
fn summarise(health: &mut OfferingHealth, window: &VecDeque<(bool, Option<i64>)>) {
    health.samples = window.len() as u32;
    health.successes = window.iter().filter(|(ok, _)| *ok).count() as u32;
    health.success_rate = (health.samples > 0).then(|| f64::from(health.successes) / f64::from(health.samples));
    let mut durations: Vec<i64> = window.iter().filter(|(ok, _)| *ok).filter_map(|(_, d)| *d).collect();
    durations.sort_unstable();
    health.p50_ms = (!durations.is_empty()).then(|| median(&durations));
}

/// The median of sorted `values` (the mean of the middle two for an even count).
fn median(sorted: &[i64]) -> i64 {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2 }
}

/// The health service. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: RoutingConfig,
    view: ArcSwap<HealthView>,
}

impl Health {
    /// Over `store`, with `[routing]`'s window and thresholds.
    pub fn new(store: Store, config: RoutingConfig) -> Health {
        Health { inner: Arc::new(Inner { store, config, view: ArcSwap::from_pointee(HealthView::default()) }) }
    }

    /// The latest view (no I/O).
    pub fn view(&self) -> Arc<HealthView> {
        self.inner.view.load_full()
    }

    fn policy(&self) -> Policy {
        Policy {
            threshold: self.inner.config.failure_threshold,
            cooldown_ms: (self.inner.config.cooldown_secs as i64).saturating_mul(1000),
        }
    }

    /// The routing configuration this service was built with.
    pub fn config(&self) -> &RoutingConfig {
        &self.inner.config
    }

    /// Re-read every breaker and the window's outcomes.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let now = now_ms();
        let since = now - (self.inner.config.window_secs as i64).saturating_mul(1000);
        let breakers = self.inner.store.breakers().await?;
        let outcomes = self.inner.store.outcomes_since(since, self.inner.config.window_jobs).await?;
        self.inner.view.store(Arc::new(HealthView::build(now, breakers, &outcomes, self.inner.config.window_jobs)));
        Ok(())
    }

    async fn breaker_event(&self, offering: &str, event: Event<'_>) -> Result<BreakerRow, StoreError> {
        let policy = self.policy();
        let now = now_ms();
        self.inner.store.update_breaker(offering, |row| breaker::apply(row, event, policy, now)).await
    }

    /// The vendor accepted a job of `offering` (closes a half-open breaker).
    pub async fn accepted(&self, offering: &str) {
        let view = self.view();
        // Nothing to write for a closed breaker with no failures in a row.
        let clean =
            view.peek(offering).is_none_or(|h| h.breaker.state == "closed" && h.breaker.consecutive_failures == 0);
        if clean {
            return;
        }
        if let Err(e) = self.breaker_event(offering, Event::Accepted).await {
            tracing::warn!(offering, "recording an accepted job failed: {e}");
        }
        self.refresh_logged().await;
    }

    /// A job of `offering` produced its result `duration_ms` after submit.
    pub async fn completed(&self, offering: &str, duration_ms: i64) {
        if let Err(e) = self.inner.store.record_outcome(offering, true, Some(duration_ms), None).await {
            tracing::warn!(offering, "recording an outcome failed: {e}");
        }
        // This node routes by it at once; others within `refresh_ms`.
        let window_jobs = self.inner.config.window_jobs;
        self.inner.view.rcu(|view| view.with_outcome(offering, true, Some(duration_ms), window_jobs));
    }

    /// A vendor-side failure of `offering`; `outcome` also counts it in the
    /// success rate (jobs do, health checks do not).
    pub async fn failed(&self, offering: &str, observed: &Observed<'_>, outcome: bool) {
        if outcome && let Err(e) = self.inner.store.record_outcome(offering, false, None, Some(observed.code)).await {
            tracing::warn!(offering, "recording an outcome failed: {e}");
        }
        match self.breaker_event(offering, Event::Failed(observed)).await {
            Ok(row) if row.state == "open" => {
                tracing::warn!(
                    offering,
                    code = observed.code,
                    "offering held back: {}",
                    row.hold_reason.as_deref().unwrap_or("")
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(offering, "recording a failure failed: {e}"),
        }
        self.refresh_logged().await;
    }

    /// Claim the one probe of `offering`'s half-open breaker for `job_id`.
    pub async fn claim_probe(&self, offering: &str, job_id: &str) -> Result<bool, StoreError> {
        // A probe that never reports back frees the slot after a cool-down.
        let until = now_ms() + self.policy().cooldown_ms.max(1000);
        let claimed = self.inner.store.claim_probe(offering, job_id, until).await?;
        self.refresh_logged().await;
        Ok(claimed)
    }

    async fn refresh_logged(&self) {
        if let Err(e) = self.refresh().await {
            tracing::warn!("reading offering health failed: {e}");
        }
    }

    /// Keep the view fresh until `stop` turns true; drop outcomes past
    /// twice the window every minute.
    pub(crate) async fn run_refresh(self, mut stop: watch::Receiver<bool>) {
        let every = Duration::from_millis(self.inner.config.refresh_ms.max(50));
        let mut last_purge = tokio::time::Instant::now();
        loop {
            self.refresh_logged().await;
            if last_purge.elapsed() >= Duration::from_secs(60) {
                last_purge = tokio::time::Instant::now();
                let keep = (self.inner.config.window_secs as i64).saturating_mul(2000);
                if let Err(e) = self.inner.store.purge_outcomes(now_ms() - keep).await {
                    tracing::warn!("purging old outcomes failed: {e}");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::health::OutcomeRow;

    fn outcome(id: &str, ok: bool, ms: i64) -> OutcomeRow {
        OutcomeRow { offering_id: id.into(), ok, duration_ms: ok.then_some(ms), created_at: 0 }
    }

    #[test]
    fn the_window_counts_the_newest_outcomes_per_offering() {
        let outcomes = vec![
            outcome("a", true, 4000),
            outcome("a", false, 0),
            outcome("a", true, 2000),
            outcome("a", true, 9000), // beyond window_jobs = 3
            outcome("b", true, 1000),
            outcome("b", true, 3000),
        ];
        let view = HealthView::build(0, vec![], &outcomes, 3);
        let a = view.get("a");
        assert_eq!((a.samples, a.successes, a.p50_ms), (3, 2, Some(3000)));
        assert!((a.success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(view.get("b").p50_ms, Some(2000));
        assert_eq!(view.get("never").samples, 0);
        assert_eq!(view.get("never").state(0), BreakerState::Closed);
    }

    #[test]
    fn a_local_outcome_slides_the_window_as_a_refresh_would() {
        let outcomes = vec![outcome("a", true, 4000), outcome("a", false, 0), outcome("a", true, 2000)];
        let view = HealthView::build(0, vec![], &outcomes, 3);
        let added = view.with_outcome("a", true, Some(1000), 3);
        let rebuilt = HealthView::build(0, vec![], &[vec![outcome("a", true, 1000)], outcomes].concat(), 3);
        for v in [&added, &rebuilt] {
            let a = v.get("a");
            assert_eq!((a.samples, a.successes, a.p50_ms), (3, 2, Some(2500)), "{v:?}");
        }
        let first = HealthView::default().with_outcome("new", true, Some(700), 3).get("new");
        assert_eq!((first.samples, first.successes, first.p50_ms, first.success_rate), (1, 1, Some(700), Some(1.0)));
    }
}
