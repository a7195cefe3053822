//! Prometheus metrics, served as OpenMetrics text on `GET /metrics`
//! (ARCHITECTURE §10): HTTP requests by route and operation, generations
//! accepted and finished by kind and provider, their durations, credits
//! moved, plan-limit refusals, webhook attempts, plugin calls (recorded by
//! the plugin runtime, [`crate::plugins::CallMetrics`]) and, read from the
//! database at scrape time, the generations waiting and running; each
//! offering's observed health (breaker state, success ratio, median time)
//! and failovers between offerings.
//!
//! Owns the registry and every metric handle; the rest of the host calls
//! the typed recording methods here, so metric names and labels live in
//! one file. It must never label a metric with an account, a key, a
//! prompt, a URL or any other value a user chooses: labels are bounded
//! sets (routes, operations, kinds, installed providers and plugins,
//! statuses, public error codes), so a scrape stays small and leaks
//! nothing. There is no global recorder: each [`Metrics`] has its own
//! registry, so an application embedding the gateway keeps its own.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::plugins::CallMetrics;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which part of the API a request used: what the HTTP metrics and logs
/// are labelled with. A handler sets it as a response extension; the
/// middleware reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A GraphQL query (or a document that does not parse).
    Query,
    /// A GraphQL mutation other than starting a generation.
    Mutation,
    /// A mutation that starts a generation (`generate`, `videoCreate`).
    Generate,
    /// A request with the admin token.
    Admin,
    /// Not a GraphQL request (downloads, health, metrics).
    Other,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Query => "query",
            Operation::Mutation => "mutation",
            Operation::Generate => "generate",
            Operation::Admin => "admin",
            Operation::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    operation: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AcceptedLabels {
    kind: String,
    provider: String,
    mode: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FinishedLabels {
    kind: String,
    provider: String,
    status: &'static str,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    kind: String,
    provider: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EntryLabels {
    entry: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OfferingLabels {
    offering: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailoverLabels {
    from: String,
    to: String,
    code: &'static str,
}

/// One offering's health for the scrape-time gauges.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferingGauge {
    /// Offering id.
    pub offering: String,
    /// 0 closed, 1 half-open, 2 open.
    pub breaker: i64,
    /// Results over results plus vendor failures in the window.
    pub success_ratio: Option<f64>,
    /// Median time to a result in the window.
    pub p50_seconds: Option<f64>,
    /// Outcomes in the window.
    pub samples: i64,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

/// Where a webhook attempt left its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Failed; another attempt is scheduled.
    Retry,
    /// Failed for good (attempts exhausted or the target refused).
    Failed,
    /// The receiver answered 410: the endpoint is disabled.
    Gone,
}

/// The gateway's metrics. Cheap to clone; clones share the registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    accepted: Family<AcceptedLabels, Counter>,
    finished: Family<FinishedLabels, Counter>,
    generation_seconds: Family<DurationLabels, Histogram>,
    credits: Family<EntryLabels, Counter>,
    rate_limited: Family<LimitLabels, Counter>,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    webhook_seconds: Histogram,
    active: Family<StatusLabels, Gauge>,
    plugins_loaded: Gauge,
    breaker: Family<OfferingLabels, Gauge>,
    success_ratio: Family<OfferingLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    p50_seconds: Family<OfferingLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    samples: Family<OfferingLabels, Gauge>,
    failovers: Family<FailoverLabels, Counter>,
}

/// 1 ms … ~4 min in ×2.5 steps: API requests, webhook attempts.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 14))
}

/// 0.5 s … ~2.3 h in ×2 steps: a generation from accepted to finished.
fn generation_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 15))
}

impl Metrics {
    /// Fresh metrics, with the plugin runtime's call metrics registered
    /// under the same registry.
    pub fn new(plugin_calls: &CallMetrics) -> Metrics {
        let mut registry = Registry::with_prefix("doitong");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route, operation and status", requests.clone());
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(request_buckets as fn() -> _);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request",
            Unit::Seconds,
            request_seconds.clone(),
        );
        let accepted = Family::<AcceptedLabels, Counter>::default();
        registry.register(
            "generations_accepted",
            "Generations accepted, by kind, provider and mode (live or test)",
            accepted.clone(),
        );
        let finished = Family::<FinishedLabels, Counter>::default();
        registry.register(
            "generations_finished",
            "Generations that ended, by kind, provider, status and public error code",
            finished.clone(),
        );
        let generation_seconds =
            Family::<DurationLabels, Histogram>::new_with_constructor(generation_buckets as fn() -> _);
        registry.register_with_unit(
            "generation_duration",
            "Time from accepting a generation to its end",
            Unit::Seconds,
            generation_seconds.clone(),
        );
        let credits = Family::<EntryLabels, Counter>::default();
        registry.register("credits", "Credits reserved, captured and refunded (live keys)", credits.clone());
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register("rate_limited", "Requests refused by a plan limit, by limit", rate_limited.clone());
        let webhook_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register("webhook_attempts", "Webhook delivery attempts, by outcome", webhook_attempts.clone());
        let webhook_seconds = request_buckets();
        registry.register_with_unit(
            "webhook_attempt_duration",
            "Time of one webhook delivery attempt",
            Unit::Seconds,
            webhook_seconds.clone(),
        );
        let active = Family::<StatusLabels, Gauge>::default();
        registry.register("generations_active", "Generations queued or processing (read at scrape)", active.clone());
        let plugins_loaded = Gauge::default();
        registry.register("plugins_loaded", "Plugins loaded and serving", plugins_loaded.clone());
        let breaker = Family::<OfferingLabels, Gauge>::default();
        registry.register(
            "offering_breaker_state",
            "Each offering's circuit breaker: 0 closed, 1 half-open, 2 open (read at scrape)",
            breaker.clone(),
        );
        let success_ratio = Family::<OfferingLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "offering_success_ratio",
            "Results over results plus vendor failures in the routing window (read at scrape)",
            success_ratio.clone(),
        );
        let p50_seconds = Family::<OfferingLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register_with_unit(
            "offering_p50",
            "Median time from submit to result in the routing window (read at scrape)",
            Unit::Seconds,
            p50_seconds.clone(),
        );
        let samples = Family::<OfferingLabels, Gauge>::default();
        registry.register("offering_samples", "Outcomes in the routing window (read at scrape)", samples.clone());
        let failovers = Family::<FailoverLabels, Counter>::default();
        registry.register(
            "failovers",
            "Generations moved to another offering before a vendor accepted them, by from, to and code",
            failovers.clone(),
        );
        plugin_calls.register(&mut registry);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                accepted,
                finished,
                generation_seconds,
                credits,
                rate_limited,
                webhook_attempts,
                webhook_seconds,
                active,
                plugins_loaded,
                breaker,
                success_ratio,
                p50_seconds,
                samples,
                failovers,
            }),
        }
    }

    /// One HTTP request answered.
    pub fn request(&self, route: &'static str, operation: Operation, status: u16, elapsed: Duration) {
        let operation = operation.as_str();
        self.inner.requests.get_or_create(&RequestLabels { route, operation, status }).inc();
        self.inner.request_seconds.get_or_create(&RouteLabels { route, operation }).observe(elapsed.as_secs_f64());
    }

    /// A generation was accepted; `reserved` credits were reserved for it.
    pub fn accepted(&self, kind: &str, provider: &str, test_mode: bool, reserved: i64) {
        let mode = if test_mode { "test" } else { "live" };
        let labels = AcceptedLabels { kind: kind.to_string(), provider: provider.to_string(), mode };
        self.inner.accepted.get_or_create(&labels).inc();
        self.credits("reserved", reserved);
    }

    /// A generation ended with `status` (and the public error `code`, if
    /// any) `elapsed` after it was accepted.
    pub fn finished(
        &self,
        kind: &str,
        provider: &str,
        status: &'static str,
        code: Option<&'static str>,
        elapsed: Duration,
    ) {
        let labels =
            FinishedLabels { kind: kind.to_string(), provider: provider.to_string(), status, code: code.unwrap_or("") };
        self.inner.finished.get_or_create(&labels).inc();
        let labels = DurationLabels { kind: kind.to_string(), provider: provider.to_string(), status };
        self.inner.generation_seconds.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// Credits moved by the ledger: `entry` is `reserved`, `captured` or
    /// `refunded`.
    pub fn credits(&self, entry: &'static str, amount: i64) {
        if amount > 0 {
            self.inner.credits.get_or_create(&EntryLabels { entry }).inc_by(amount as u64);
        }
    }

    /// A request refused by a plan limit (`rpm`, `read_rpm`, `daily`, `queue`).
    pub fn rate_limited(&self, limit: &'static str) {
        self.inner.rate_limited.get_or_create(&LimitLabels { limit }).inc();
    }

    /// One webhook attempt and how long it took.
    pub fn webhook_attempt(&self, outcome: WebhookOutcome, elapsed: Duration) {
        let outcome = match outcome {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Retry => "retry",
            WebhookOutcome::Failed => "failed",
            WebhookOutcome::Gone => "gone",
        };
        self.inner.webhook_attempts.get_or_create(&OutcomeLabels { outcome }).inc();
        self.inner.webhook_seconds.observe(elapsed.as_secs_f64());
    }

    /// Set the scrape-time gauges: generations `(queued, processing)` and
    /// the plugins serving.
    pub fn set_current(&self, (queued, processing): (i64, i64), plugins_loaded: usize) {
        self.inner.active.get_or_create(&StatusLabels { status: "queued" }).set(queued);
        self.inner.active.get_or_create(&StatusLabels { status: "processing" }).set(processing);
        self.inner.plugins_loaded.set(plugins_loaded as i64);
    }

    /// Set the scrape-time gauges of every offering's health.
    pub fn set_offering_health(&self, offerings: &[OfferingGauge]) {
        for o in offerings {
            let labels = OfferingLabels { offering: o.offering.clone() };
            self.inner.breaker.get_or_create(&labels).set(o.breaker);
            self.inner.samples.get_or_create(&labels).set(o.samples);
            if let Some(ratio) = o.success_ratio {
                self.inner.success_ratio.get_or_create(&labels).set(ratio);
            }
            if let Some(p50) = o.p50_seconds {
                self.inner.p50_seconds.get_or_create(&labels).set(p50);
            }
        }
    }

    /// A generation moved from offering `from` to `to` after a failure
    /// with public `code`.
    pub fn failover(&self, from: &str, to: &str, code: &'static str) {
        self.inner.failovers.get_or_create(&FailoverLabels { from: from.into(), to: to.into(), code }).inc();
    }

    /// Everything, as OpenMetrics text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_was_recorded_with_bounded_labels() {
        let calls = CallMetrics::default();
        let metrics = Metrics::new(&calls);
        metrics.request("graphql", Operation::Generate, 200, Duration::from_millis(3));
        metrics.accepted("video", "kling", false, 40);
        metrics.accepted("image", "placeholder", true, 0);
        metrics.finished("video", "kling", "failed", Some("GENERATION_FAILED"), Duration::from_secs(30));
        metrics.credits("refunded", 40);
        metrics.rate_limited("rpm");
        metrics.webhook_attempt(WebhookOutcome::Delivered, Duration::from_millis(12));
        metrics.set_current((2, 1), 9);
        calls.record("kling", "submit", "ok", Duration::from_millis(40));
        let text = metrics.render();
        for line in [
            "doitong_http_requests_total{route=\"graphql\",operation=\"generate\",status=\"200\"} 1",
            "doitong_http_request_duration_seconds_count{route=\"graphql\",operation=\"generate\"} 1",
            "doitong_generations_accepted_total{kind=\"video\",provider=\"kling\",mode=\"live\"} 1",
            "doitong_generations_accepted_total{kind=\"image\",provider=\"placeholder\",mode=\"test\"} 1",
            "doitong_generations_finished_total{kind=\"video\",provider=\"kling\",status=\"failed\",code=\"GENERATION_FAILED\"} 1",
            "doitong_credits_total{entry=\"reserved\"} 40",
            "doitong_credits_total{entry=\"refunded\"} 40",
            "doitong_rate_limited_total{limit=\"rpm\"} 1",
            "doitong_webhook_attempts_total{outcome=\"delivered\"} 1",
            "doitong_generations_active{status=\"queued\"} 2",
            "doitong_plugins_loaded 9",
            "doitong_plugin_calls_total{plugin=\"kling\",call=\"submit\",outcome=\"ok\"} 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
