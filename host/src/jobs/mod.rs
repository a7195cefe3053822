//! The generation lifecycle (ARCHITECTURE §5): accept, dispatch, poll,
//! finish, cancel, resume.
//!
//! - [`Jobs::generate`] accepts synchronously: choose the offering (`route`:
//!   named, named with fallbacks, or by priority over observed health),
//!   validate (`validate`), quote through the plugin, then reserve credits
//!   and insert the job with its routing record in one transaction, and
//!   answer `QUEUED`.
//! - Failover (`worker`): a job whose `submit` fails with unavailable,
//!   rate-limited, retired model or a timeout before any vendor accepted
//!   it moves to the next candidate under the same id, its reservation
//!   adjusted to the new quote in one transaction (`Store::fail_over`), if
//!   it was routed automatically or named explicit fallbacks.
//! - Every submit, poll and result is reported to `crate::routing::Health`
//!   (live keys only), and `checks` calls plugins' `health` exports.
//! - The worker (`worker`) steps due jobs: submit, poll at the plugin's
//!   suggested interval, store artifacts, settle credits. Every state lives
//!   in the database, so a restarted host resumes where the last one
//!   stopped: a job that was submitted is polled with its stored handle,
//!   never submitted twice.
//! - Test mode: a `dt_test_` key is validated, routed and quoted exactly as a
//!   live key, but executes on the `placeholder` plugin and moves no credits.
//!
//! Every status change is announced on a broadcast channel carrying the job
//! id; subscriptions, `Prefer: wait` and the webhook worker listen to it
//! instead of polling. The transactions that end a job (and, opted in,
//! record progress) also enqueue its webhook event (`crate::webhooks`).
//!
//! This module must never speak GraphQL or HTTP to clients; it returns
//! [`ApiError`]s and rows.

mod checks;
pub mod lenient;
pub mod media;
mod route;
mod uploads;
pub mod validate;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::{Notify, broadcast};

use crate::artifacts::ArtifactStore;
use crate::config::Config;
use crate::error::{ApiError, ErrorCode, code_for_failure, code_for_plugin_error};
use crate::limits::PlanLimits;
use crate::metrics::Metrics;
use crate::net::NetClients;
use crate::plugins::{JobRequest, LoadedPlugin, MediaKind, Offering, PluginManager, Quote, Registry};
use crate::routing::{self, Decision, Health, PLACEHOLDER, Priority};
use crate::store::Account;
use crate::store::ArtifactRow;
use crate::store::jobs::{IdempotencyTake, JobRow, JobStatus, NewJob, Refusal, StartNow};
use crate::store::webhooks::Event;
use crate::store::{Store, accounts::new_id, now_ms};
use crate::webhooks::event::EventType;

pub use route::{GivenRequest, RoutingRecord};
pub use validate::RawInput;

use route::{Choice, Route};

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account.
    pub account_id: String,
    /// Whether the key is a `dt_test_` key.
    pub test_mode: bool,
}

/// A generation request, as the API received it.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// Media kind.
    pub kind: MediaKind,
    /// Offering id; `None` chooses by priority.
    pub provider: Option<String>,
    /// Inputs.
    pub input: RawInput,
    /// Options (a JSON object).
    pub options: Option<Json>,
    /// Routing priority when `provider` is absent.
    pub priority: Priority,
    /// Per-request webhook target.
    pub webhook_url: Option<String>,
    /// Also send `generation.progress` events to `webhook_url`.
    pub webhook_progress: bool,
    /// The Idempotency-Key to take in the accepting transaction.
    pub idempotency: Option<IdempotencyTake>,
    /// Offerings to fail over to, in order, after `provider` (which must
    /// be set): without them a named provider never fails over.
    pub fallbacks: Vec<String>,
    /// `Prefer: handling=lenient`: adjust options the offering does not
    /// take instead of refusing them (see [`lenient`]).
    pub lenient: bool,
    /// The caller waits for the result (`Prefer: wait`): start the job in
    /// its accepting transaction and step it at once on this node, rather
    /// than through the queue (see [`Jobs::generate_adjusting`]).
    pub run_now: bool,
}

struct Inner {
    store: Store,
    registry: Arc<Registry>,
    /// Reads back versions jobs are pinned to.
    plugins: PluginManager,
    artifacts: ArtifactStore,
    net: NetClients,
    config: Arc<Config>,
    events: broadcast::Sender<String>,
    wake: Notify,
    metrics: Metrics,
    health: Health,
    /// This node's lease-holder id: its worker and its inline steps.
    owner: String,
    /// Jobs this node is stepping now (a claim of one is dropped).
    stepping: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Steps started by waiting requests, which shutdown lets finish.
    inline: tokio_util::task::TaskTracker,
    /// Set when the worker starts shutting down: no more inline steps.
    stopping: std::sync::atomic::AtomicBool,
}

/// The lifecycle service. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

/// One UTC day.
const DAY_MS: i64 = 86_400_000;
/// `Retry-After` suggested when the queue is full.
const QUEUE_RETRY_AFTER_SECS: i64 = 5;

/// Capacity of the job-event channel; slow listeners re-read the job.
const EVENT_CHANNEL_CAPACITY: usize = 4096;
/// Longest a `cancelGeneration` waits for a `submit` in flight to answer
/// before it returns with the cancel recorded.
pub const CANCEL_WAIT: Duration = Duration::from_secs(30);

impl Jobs {
    /// The service over its collaborators.
    pub fn new(
        store: Store,
        plugins: PluginManager,
        artifacts: ArtifactStore,
        net: NetClients,
        config: Arc<Config>,
        metrics: Metrics,
    ) -> Jobs {
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let wake = Notify::new();
        let health = Health::new(store.clone(), config.routing.clone());
        let registry = plugins.registry().clone();
        Jobs {
            inner: Arc::new(Inner {
                store,
                registry,
                plugins,
                artifacts,
                net,
                config,
                events,
                wake,
                metrics,
                health,
                owner: new_id("worker"),
                stepping: Default::default(),
                inline: tokio_util::task::TaskTracker::new(),
                stopping: Default::default(),
            }),
        }
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Record that `job` ended with `status` (and public `code`) and what
    /// its ledger did: captured on completion, `refund_percent` refunded
    /// otherwise.
    fn record_end(&self, job: &JobRow, status: JobStatus, code: Option<ErrorCode>, refund_percent: u8) {
        let elapsed = Duration::from_millis((now_ms() - job.created_at).max(0) as u64);
        let metrics = &self.inner.metrics;
        metrics.finished(&job.kind, &job.provider, status.as_str(), code.map(ErrorCode::as_str), elapsed);
        if !job.test_mode {
            match status {
                JobStatus::Completed => metrics.credits("captured", job.credit_cost),
                _ => metrics.credits("refunded", crate::store::jobs::refund_amount(job.credit_cost, refund_percent)),
            }
        }
    }

    /// Observed health of every offering (routing's input).
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Every serving offering's health, for the scrape-time gauges.
    pub fn offering_gauges(&self) -> Vec<crate::metrics::OfferingGauge> {
        let view = self.inner.health.view();
        let now = crate::store::now_ms();
        self.offerings(None)
            .into_iter()
            .map(|(_, o)| {
                let h = view.get(&o.id);
                crate::metrics::OfferingGauge {
                    breaker: h.state(now).gauge(),
                    success_ratio: h.success_rate,
                    p50_seconds: h.p50_ms.map(|ms| ms as f64 / 1000.0),
                    samples: i64::from(h.samples),
                    offering: o.id,
                }
            })
            .collect()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The artifact store.
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.inner.artifacts
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// Whether the operator enabled plugin `id`.
    pub fn plugin_enabled(&self, id: &str) -> bool {
        self.inner.config.plugin_enabled(id)
    }

    /// The catalogue: offerings of enabled, loaded plugins, of `kind` if
    /// given, each with the plugin serving it (for availability, e.g.
    /// [`LoadedPlugin::missing_secrets`]).
    pub fn offerings(&self, kind: Option<MediaKind>) -> Vec<(LoadedPlugin, Offering)> {
        let snapshot = self.inner.registry.snapshot();
        snapshot
            .offerings()
            .into_iter()
            .filter(|(p, o)| self.plugin_enabled(p.id()) && kind.is_none_or(|k| o.kinds.contains(&k)))
            .collect()
    }

    /// How long a step's lease lasts (renewed every third of it).
    fn lease_ms(&self) -> i64 {
        Duration::from_secs(self.inner.config.jobs.lease_secs).as_millis() as i64
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The limits that apply to `account`: its plan's (with the operator's
    /// overrides), then the account's own overrides. An unknown plan name
    /// gets the free plan's limits.
    pub fn limits_for(&self, account: &Account) -> PlanLimits {
        let config = &self.inner.config;
        let base = config.plan_limits(&account.plan).or_else(|| config.plan_limits("free")).unwrap_or_default();
        let own = |v: Option<i64>| v.map(|n| n.clamp(0, i64::from(u32::MAX)) as u32);
        base.with_overrides(own(account.rpm_limit), own(account.concurrent_limit), own(account.daily_limit))
    }

    /// Start the worker that steps jobs.
    pub fn spawn_worker(&self) -> crate::background::Background {
        worker::spawn(self.clone())
    }

    /// Start the task that keeps the offerings' health current (every node,
    /// API-only ones too: they route).
    pub fn spawn_health_checks(&self) -> crate::background::Background {
        checks::spawn(self.clone())
    }

    /// Call every configured plugin's `health` export now (what the
    /// background task does every `routing.health_check_secs`).
    pub async fn check_health(&self) {
        checks::check_all(self).await;
    }

    /// Listen to job changes (each message is a job id).
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.inner.events.subscribe()
    }

    fn announce(&self, job_id: &str) {
        let _ = self.inner.events.send(job_id.to_string());
    }

    /// The account's plan limits, today's start (Unix ms, UTC) and its
    /// queue limit (`concurrent × limits.queue_factor`).
    fn account_limits(&self, account: &Account) -> (PlanLimits, i64, Option<i64>) {
        let limits = self.limits_for(account);
        let now = now_ms();
        let day_start = now - now.rem_euclid(DAY_MS);
        let queue_limit =
            limits.concurrent.map(|c| i64::from(c) * i64::from(self.inner.config.limits.queue_factor.max(1)));
        (limits, day_start, queue_limit)
    }

    /// Refuse (`RATE_LIMIT`) starting `starts` more generations when the
    /// account's daily or queue limit, as read in `account`, has no room
    /// for them all. Cheap: no query.
    pub fn check_cheap_limits(&self, account: &Account, starts: usize) -> Result<(), ApiError> {
        if starts == 0 {
            return Ok(());
        }
        let starts = i64::try_from(starts).unwrap_or(i64::MAX);
        let (limits, day_start, queue_limit) = self.account_limits(account);
        let today = if account.day_start == day_start { account.day_count } else { 0 };
        let plural = |refused: ApiError| {
            if starts == 1 {
                return refused;
            }
            let message = format!("{} (this request starts {starts} generations)", refused.message);
            ApiError { message, ..refused }
        };
        if let Some(limit) = limits.daily.map(i64::from).filter(|limit| today.saturating_add(starts) > *limit) {
            return Err(plural(self.refused(Refusal::Daily { limit, count: today }, day_start)));
        }
        if let Some(limit) = queue_limit.filter(|limit| account.active_jobs.saturating_add(starts) > *limit) {
            return Err(plural(self.refused(Refusal::Queue { limit, count: account.active_jobs }, day_start)));
        }
        Ok(())
    }

    /// Accept a generation: route, validate, quote, reserve and queue it.
    pub async fn generate(&self, caller: &Caller, request: GenerateRequest) -> Result<JobRow, ApiError> {
        self.generate_adjusting(caller, request).await.map(|(row, _)| row)
    }

    /// [`Jobs::generate`], with the changes lenient handling made to the
    /// request's options (none for a strict request).
    pub async fn generate_adjusting(
        &self,
        caller: &Caller,
        request: GenerateRequest,
    ) -> Result<(JobRow, Vec<lenient::Adjustment>), ApiError> {
        let snapshot = self.inner.registry.snapshot();
        let kind = request.kind;
        let id = new_id("gen");
        if request.provider.is_none() && !request.fallbacks.is_empty() {
            return Err(ApiError::invalid(
                "fallbacks",
                "fallbacks follow a named provider: set `provider` (without it the gateway chooses and fails over by itself)",
            ));
        }
        if let Some(url) = &request.webhook_url {
            crate::webhooks::target::check(url, self.inner.config.webhooks.allow_private)
                .map_err(|e| crate::error::webhook_target("webhookUrl", &e))?;
        }
        // The account's cheap limits first: a request the daily or queue
        // limit refuses costs no validation, media decoding or sandboxed
        // quote. (Admission checked them for the whole request; this reads
        // the account again, after the request's earlier generations, and
        // the accepting transaction checks them once more, exactly.)
        let account = self
            .inner
            .store
            .account(&caller.account_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the key's account no longer exists"))?;
        self.check_cheap_limits(&account, 1)?;
        let (limits, day_start, queue_limit) = self.account_limits(&account);
        let mut adjustments = Vec::new();
        let (plugin, offering, mut job_request, quote, record) = match &request.provider {
            Some(named) if request.fallbacks.is_empty() => {
                let (plugin, offering) = snapshot
                    .offering(named)
                    .filter(|(p, _)| self.plugin_enabled(p.id()))
                    .ok_or_else(|| self.unknown_provider(named, kind))?;
                if !caller.test_mode {
                    let missing = plugin.missing_secrets();
                    if !missing.is_empty() {
                        return Err(ApiError::new(
                            ErrorCode::ProviderUnavailable,
                            format!(
                                "provider `{named}` is not configured: missing secret(s) {} (set DOITONG_SECRET_{}_{})",
                                missing.join(", "),
                                plugin.id().to_uppercase().replace('-', "_"),
                                missing[0].to_uppercase()
                            ),
                        )
                        .with("provider", named.as_str()));
                    }
                }
                // The caller's own mistakes first (options, then the
                // combinations the plugin's quote refuses): they hold
                // whatever the vendor's state.
                let options = match request.lenient {
                    true => lenient::adjust(&offering, request.options.as_ref()),
                    false => (request.options.clone(), Vec::new()),
                };
                adjustments = options.1;
                let job_request = validate::validate(&offering, kind, &request.input, options.0.as_ref())?;
                let (job_request, quote) = match self.quote(&plugin, &offering, &job_request).await {
                    // Each value allowed, the combination not (MiniMax: 1080p
                    // at 6 s only): lenient handling gives options back to
                    // their defaults, the last declared first, until one fits.
                    Err(refused) if request.lenient && refused.code == ErrorCode::InvalidInput => {
                        let given = options.0.unwrap_or(Json::Null);
                        let (job_request, quote, adjustment) =
                            self.quote_leniently(&plugin, &offering, kind, &request.input, &given, refused).await?;
                        adjustments.push(adjustment);
                        (job_request, quote)
                    }
                    quoted => (job_request, quoted?),
                };
                self.refuse_if_held_back(named)?;
                let decision = Decision {
                    priority: request.priority,
                    chosen: Some(named.clone()),
                    reason: "named by the request".into(),
                    candidates: vec![routing::CandidateReport {
                        id: named.clone(),
                        score: None,
                        skipped_because: None,
                    }],
                };
                let record = RoutingRecord {
                    priority: request.priority,
                    named: Some(named.clone()),
                    decision,
                    ..RoutingRecord::default()
                };
                (plugin, offering, job_request, quote, record)
            }
            listed => {
                let list: Vec<String>;
                let route = match listed {
                    Some(named) => {
                        for id in std::iter::once(named).chain(&request.fallbacks) {
                            snapshot
                                .offering(id)
                                .filter(|(p, o)| self.plugin_enabled(p.id()) && o.kinds.contains(&kind))
                                .ok_or_else(|| self.unknown_provider(id, kind))?;
                        }
                        list = std::iter::once(named.clone()).chain(request.fallbacks.iter().cloned()).collect();
                        Route::Listed(&list)
                    }
                    None => Route::Automatic,
                };
                let routed = self
                    .choose(Choice {
                        caller,
                        kind,
                        priority: request.priority,
                        input: &request.input,
                        options: request.options.as_ref(),
                        lenient: request.lenient,
                        route,
                        tried: &[],
                        job_id: &id,
                    })
                    .await?;
                if request.lenient {
                    adjustments = lenient::adjust(&routed.offering, request.options.as_ref()).1;
                }
                let record = RoutingRecord {
                    priority: request.priority,
                    automatic: request.provider.is_none(),
                    named: request.provider.clone(),
                    fallbacks: request.fallbacks.clone(),
                    given: Some(GivenRequest::new(&request.input, request.options.as_ref(), request.lenient)),
                    decision: routed.decision,
                };
                (routed.plugin, routed.offering, routed.request, routed.quote, record)
            }
        };

        let executor = if caller.test_mode {
            snapshot.offering(PLACEHOLDER).map(|(p, _)| p).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::ProviderUnavailable,
                    "test mode needs the `placeholder` plugin, which is not loaded",
                )
            })?
        } else {
            plugin.clone()
        };
        // Before the clock is read for the deadline: the first job on a
        // version stores it (so it can finish on it anywhere), which takes a moment.
        self.inner.plugins.keep_version(&executor).await;
        self.resolve_uploads(caller, &mut job_request).await?;
        let request_json = serde_json::to_string(&job_request).map_err(|e| ApiError::internal(&e))?;
        let routing_json = serde_json::to_string(&record).map_err(|e| ApiError::internal(&e))?;
        let new = NewJob {
            id,
            account_id: caller.account_id.clone(),
            test_mode: caller.test_mode,
            kind: kind.as_str().to_string(),
            provider: offering.id.clone(),
            plugin_id: executor.id().to_string(),
            plugin_sha256: executor.sha256().to_string(),
            request: request_json,
            credit_cost: i64::from(quote.credits),
            estimated_seconds: i64::from(quote.estimated_seconds),
            deadline_at: now_ms() + (self.inner.config.jobs.deadline_secs as i64) * 1000,
            webhook_url: request.webhook_url.clone(),
            webhook_progress: request.webhook_progress && request.webhook_url.is_some(),
            daily_limit: limits.daily.map(i64::from),
            day_start,
            queue_limit,
            idempotency: request.idempotency.clone(),
            routing: Some(routing_json),
            // Only a node that runs jobs steps them (`jobs.workers = 0`: API
            // only), and not once it is shutting down (the job is queued for
            // whichever node runs next).
            start_now: (request.run_now
                && self.inner.config.jobs.workers > 0
                && !self.inner.stopping.load(std::sync::atomic::Ordering::Acquire))
            .then(|| StartNow {
                owner: self.inner.owner.clone(),
                lease_until: now_ms() + self.lease_ms(),
                concurrent: limits.concurrent.map(i64::from),
            }),
        };
        let inserted = if new.start_now.is_some() {
            // Inserting a started job and handing it to its step must not be
            // torn apart by the request going away in between (its job would
            // sit leased to this node, unstepped, until the lease lapsed):
            // both run on a task of their own.
            let jobs = self.clone();
            tokio::spawn(async move {
                let inserted = jobs.inner.store.insert_job(&new).await;
                if let Ok(Ok(row)) = &inserted
                    && row.lease_owner.as_deref() == Some(jobs.inner.owner.as_str())
                {
                    worker::step_inline(&jobs, row.clone());
                }
                inserted
            })
            .await
            .map_err(|e| ApiError::internal(&e))?
        } else {
            self.inner.store.insert_job(&new).await
        };
        match inserted? {
            Ok(row) => {
                tracing::debug!(job = %row.id, provider = %row.provider, test_mode = row.test_mode, credits = row.credit_cost, "generation accepted");
                let reserved = if row.test_mode { 0 } else { row.credit_cost };
                self.inner.metrics.accepted(&row.kind, &row.provider, row.test_mode, reserved);
                self.announce(&row.id);
                if row.lease_owner.is_none() {
                    self.inner.wake.notify_one();
                }
                Ok((row, adjustments))
            }
            Err(refusal) => Err(self.refused(refusal, day_start)),
        }
    }

    /// The public error for a refused generation.
    fn refused(&self, refusal: Refusal, day_start: i64) -> ApiError {
        match refusal {
            Refusal::InsufficientCredits { balance, cost } => ApiError::new(
                ErrorCode::InsufficientCredits,
                format!(
                    "this generation costs {cost} credits and the account has {balance}; add credits to the account"
                ),
            )
            .with("cost", cost)
            .with("balance", balance),
            Refusal::Daily { limit, .. } => {
                self.inner.metrics.rate_limited("daily");
                let retry_after = (day_start + DAY_MS - now_ms()).max(1000) / 1000;
                ApiError::new(
                    ErrorCode::RateLimit,
                    format!("the plan's daily limit of {limit} generations is reached; it resets at 00:00 UTC"),
                )
                .with("limit", "daily")
                .with("retryAfter", retry_after)
            }
            Refusal::Queue { limit, .. } => {
                self.inner.metrics.rate_limited("queue");
                ApiError::new(
                    ErrorCode::RateLimit,
                    format!(
                        "{limit} generations are already waiting or running for this account; wait for some to finish"
                    ),
                )
                .with("limit", "queue")
                .with("retryAfter", QUEUE_RETRY_AFTER_SECS)
            }
            Refusal::IdempotencyKeyTaken => ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "another request with this Idempotency-Key was accepted first",
            ),
        }
    }

    /// A request the plugin refused as a combination (`refused`), quoted
    /// with one of the options it was given back at its default: the last
    /// declared first. The refusal when none fits.
    async fn quote_leniently(
        &self,
        plugin: &LoadedPlugin,
        offering: &Offering,
        kind: MediaKind,
        input: &validate::RawInput,
        given: &Json,
        refused: ApiError,
    ) -> Result<(JobRequest, Quote, lenient::Adjustment), ApiError> {
        let Json::Object(options) = given else { return Err(refused) };
        for spec in offering.options.iter().rev().filter(|spec| options.contains_key(&spec.name)) {
            let mut fewer = options.clone();
            let value = fewer.remove(&spec.name).unwrap_or_default();
            let Ok(job_request) = validate::validate(offering, kind, input, Some(&Json::Object(fewer))) else {
                continue;
            };
            let Ok(quote) = self.quote(plugin, offering, &job_request).await else { continue };
            let applied = spec.default.as_ref().map_or(Json::Null, crate::plugins::Value::to_json);
            let instead = match applied.is_null() {
                true => "left to the provider's default".to_string(),
                false => format!("its default {applied} is used"),
            };
            let adjustment = lenient::Adjustment {
                field: format!("options.{}", spec.name),
                given: value,
                applied,
                message: format!("{} — so `{}` is {instead}", refused.message, spec.name),
            };
            return Ok((job_request, quote, adjustment));
        }
        Err(refused)
    }

    /// Quote a validated request (the operator's price wins).
    async fn quote(&self, plugin: &LoadedPlugin, offering: &Offering, request: &JobRequest) -> Result<Quote, ApiError> {
        let mut quote = match plugin.quote(request).await {
            Ok(Ok(q)) => q,
            Ok(Err(failure)) => {
                return Err(ApiError::new(
                    code_for_failure(failure.code),
                    format!("provider `{}` refused the request: {}", offering.id, failure.message),
                ));
            }
            Err(e) => {
                return Err(ApiError::new(
                    ErrorCode::ProviderUnavailable,
                    format!("provider `{}` is unavailable: {e}", offering.id),
                ));
            }
        };
        if let Some(credits) = self.inner.config.credit_override(plugin.id(), &offering.id) {
            quote.credits = credits;
        }
        Ok(quote)
    }

    /// `PROVIDER_UNAVAILABLE` for a named offering whose circuit is open or
    /// that its vendor asked us to hold back (a half-open one may serve as
    /// the probe).
    fn refuse_if_held_back(&self, id: &str) -> Result<(), ApiError> {
        let view = self.inner.health.view();
        let now = now_ms();
        let Some(health) = view.peek(id) else { return Ok(()) };
        match routing::unavailable_because(health, now) {
            Some(reason) if !reason.is_empty() => {
                let retry_after = health.breaker.hold_until.map_or(1, |t| ((t - now).max(1000) + 999) / 1000);
                Err(ApiError::new(ErrorCode::ProviderUnavailable, format!("provider `{id}` is unavailable: {reason}"))
                    .with("provider", id)
                    .with("reason", reason)
                    .with("retryAfter", retry_after))
            }
            _ => Ok(()),
        }
    }

    fn unknown_provider(&self, id: &str, kind: MediaKind) -> ApiError {
        let snapshot = self.inner.registry.snapshot();
        let available: Vec<String> = snapshot
            .offerings()
            .into_iter()
            .filter(|(p, o)| o.kinds.contains(&kind) && self.plugin_enabled(p.id()))
            .map(|(_, o)| o.id)
            .collect();
        ApiError::invalid(
            "provider",
            format!(
                "unknown provider `{id}`; providers available for {}: {}",
                kind.as_str().to_uppercase(),
                if available.is_empty() { "none".to_string() } else { available.join(", ") }
            ),
        )
        .with("allowedValues", available)
    }

    /// A job of the caller's account.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Option<JobRow>, ApiError> {
        Ok(self.inner.store.job_of(&caller.account_id, id, caller.test_mode).await?)
    }

    /// Cancel a generation. Not yet at the vendor: refunded in full.
    /// Running at the vendor: the vendor is asked to stop and the share it
    /// does not charge is refunded. Being submitted right now (a step holds
    /// it and the vendor has not answered): the cancel is recorded, the
    /// step cancels the task at the vendor as soon as it has the vendor's
    /// handle, and this call waits for that (at most [`CANCEL_WAIT`]).
    ///
    /// Returns false when the job had already finished (or finished first);
    /// true when it is cancelled, or the cancel is recorded and still
    /// waiting for the vendor's answer to `submit`.
    pub async fn cancel(&self, caller: &Caller, id: &str) -> Result<bool, ApiError> {
        let job = self
            .inner
            .store
            .job_of(&caller.account_id, id, caller.test_mode)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no generation `{id}`")).with("id", id))?;
        if job.status().is_terminal() {
            return Ok(false);
        }
        let Some(handle) = job.handle.as_deref() else {
            return self.cancel_before_vendor(&job).await;
        };
        let plugin = self.plugin_for(&job).await.ok_or_else(|| {
            ApiError::new(ErrorCode::ProviderUnavailable, format!("plugin `{}` is not loaded", job.plugin_id))
        })?;
        let refund = match plugin.cancel_with_token(handle, Some(&job.id)).await {
            Ok(Ok(outcome)) => outcome.refund_percent,
            Ok(Err(failure)) => {
                return Err(ApiError::new(
                    code_for_failure(failure.code),
                    format!("provider `{}` could not cancel the generation: {}", job.provider, failure.message),
                ));
            }
            Err(e) => return Err(ApiError::new(code_for_plugin_error(&e), e.to_string())),
        };
        Ok(self.end_cancelled(&job, refund).await?)
    }

    /// Cancel a job the vendor has not accepted: at once if no step holds
    /// it, else through the step (which may be inside `submit`).
    async fn cancel_before_vendor(&self, job: &JobRow) -> Result<bool, ApiError> {
        let render = self.render(EventType::Cancelled);
        let event = Event { event_type: EventType::Cancelled.as_str(), to_request_url: true, render: &render };
        if self.inner.store.cancel_unclaimed(job, &event).await? {
            self.after_cancel(job, 100);
            return Ok(true);
        }
        if self.inner.store.request_cancel(&job.id).await?.is_none() {
            return Ok(false); // it ended meanwhile
        }
        self.inner.wake.notify_one();
        let wait = CANCEL_WAIT.min(Duration::from_secs(self.inner.config.sandbox.call_timeout_secs + 5));
        match self.wait(&job.id, wait).await?.map(|j| j.status()) {
            Some(JobStatus::Cancelled) => Ok(true),
            Some(status) if status.is_terminal() => Ok(false),
            _ => Ok(true), // recorded; the step cancels when the vendor answers
        }
    }

    /// End `job` as cancelled with `refund` percent back; false if it had
    /// ended meanwhile.
    pub(crate) async fn end_cancelled(&self, job: &JobRow, refund: u8) -> Result<bool, crate::store::StoreError> {
        let render = self.render(EventType::Cancelled);
        let event = Event { event_type: EventType::Cancelled.as_str(), to_request_url: true, render: &render };
        let ended = self.inner.store.end_job(job, JobStatus::Cancelled, None, refund, &event).await?;
        if ended {
            self.after_cancel(job, refund);
        }
        Ok(ended)
    }

    fn after_cancel(&self, job: &JobRow, refund: u8) {
        tracing::info!(job = %job.id, refund_percent = refund, "generation cancelled");
        self.record_end(job, JobStatus::Cancelled, None, refund);
        self.announce(&job.id);
    }

    /// Wait until job `id` is terminal or `timeout` passes; returns it as it
    /// stands then.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<JobRow>, ApiError> {
        let mut events = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.inner.store.job(id).await?;
            if job.as_ref().is_none_or(|j| j.status().is_terminal()) {
                return Ok(job);
            }
            loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) => return Ok(self.inner.store.job(id).await?),
                    Ok(Ok(changed)) if changed != id => continue,
                    Ok(_) => break,
                }
            }
        }
    }

    /// The plugin version a job runs on: the exact version it started on
    /// (held here, or read back from the database), else the current
    /// version of its plugin.
    async fn plugin_for(&self, job: &JobRow) -> Option<LoadedPlugin> {
        if let Some(pinned) = self.inner.plugins.pinned(&job.plugin_id, &job.plugin_sha256).await {
            return Some(pinned);
        }
        let snapshot = self.inner.registry.snapshot();
        snapshot.plugins.get(&job.plugin_id).and_then(|r| r.plugin.clone())
    }

    /// Renders the payload of an `event` about a job, for the transaction
    /// that enqueues it.
    fn render(&self, event: EventType) -> impl Fn(&JobRow, &[ArtifactRow]) -> String + Sync + '_ {
        move |row, artifacts| crate::webhooks::event::payload(event, row, artifacts, &self.inner.artifacts)
    }

    /// The declared offering a job was validated against, if still loaded.
    fn offering_for(&self, job: &JobRow) -> Option<Offering> {
        self.inner.registry.snapshot().offering(&job.provider).map(|(_, o)| o)
    }
}
