//! Counts and times every call into a plugin, by plugin id, export and
//! outcome. The runtime owns these handles so it can be used alone; an
//! embedding (or [`crate::metrics::Metrics`]) registers them in its
//! Prometheus registry with [`CallMetrics::register`]. Labels are the
//! plugin id, the export name and a fixed outcome: never a request value.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    plugin: String,
    call: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeLabels {
    plugin: String,
    call: &'static str,
}

/// 50 µs … ~30 s in ×2.5 steps: a `manifest()` on a warm pool up to a
/// submit waiting on a slow vendor.
fn call_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.5, 15))
}

/// Plugin call counters and latencies. Cheap to clone; clones share.
#[derive(Clone, Debug)]
pub struct CallMetrics {
    calls: Family<CallLabels, Counter>,
    seconds: Family<TimeLabels, Histogram>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        CallMetrics { calls: Family::default(), seconds: Family::new_with_constructor(call_buckets as fn() -> _) }
    }
}

impl CallMetrics {
    /// Record one call of `call` on `plugin` that ended with `outcome`
    /// (`ok`, `limit`, `trap`) after `elapsed` (including host calls such
    /// as the plugin's outbound HTTP).
    pub fn record(&self, plugin: &str, call: &'static str, outcome: &'static str, elapsed: Duration) {
        self.calls.get_or_create(&CallLabels { plugin: plugin.to_string(), call, outcome }).inc();
        self.seconds.get_or_create(&TimeLabels { plugin: plugin.to_string(), call }).observe(elapsed.as_secs_f64());
    }

    /// Add these metrics to `registry` (`plugin_calls_total`,
    /// `plugin_call_duration_seconds`, under the registry's prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("plugin_calls", "Calls into plugins, by plugin, export and outcome", self.calls.clone());
        registry.register_with_unit(
            "plugin_call_duration",
            "Time of a call into a plugin, outbound HTTP included",
            Unit::Seconds,
            self.seconds.clone(),
        );
    }
}
