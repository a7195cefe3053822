//! The background task that keeps routing's view of the vendors current:
//! it re-reads the shared health every `routing.refresh_ms` (what other
//! nodes saw) and calls each configured plugin's `health` export every
//! `routing.health_check_secs`, feeding failures to the offerings'
//! breakers.
//!
//! Only plugins that are enabled, loaded and have every secret configured
//! are checked: a check of an unconfigured plugin would only say so, and
//! it is never chosen for live traffic anyway.

use std::time::Duration;

use tokio::sync::watch;

use super::Jobs;
use crate::background::Background;
use crate::plugins::Failure;

pub(super) fn spawn(jobs: Jobs) -> Background {
    let refresh = jobs.inner.health.clone();
    let tasks = Background::spawn(|stopped| refresh.run_refresh(stopped));
    match jobs.inner.config.routing.health_check_secs {
        0 => tasks,
        every => tasks.and(move |stopped| run_checks(jobs, Duration::from_secs(every), stopped)),
    }
}

async fn run_checks(jobs: Jobs, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        check_all(&jobs).await;
    }
}

/// Call every configured plugin's `health` export once.
pub(super) async fn check_all(jobs: &Jobs) {
    let snapshot = jobs.inner.registry.snapshot();
    for record in snapshot.plugins.values() {
        let Some(plugin) = record.plugin.as_ref() else { continue };
        if !jobs.plugin_enabled(plugin.id()) || !plugin.missing_secrets().is_empty() {
            continue;
        }
        let failure = match plugin.health().await {
            None | Some(Ok(Ok(()))) => continue,
            Some(Ok(Err(failure))) => failure,
            Some(Err(e)) => {
                tracing::warn!(plugin = plugin.id(), "health check failed to run: {e}");
                continue;
            }
        };
        let failure = Failure { message: format!("health check: {}", failure.message), ..failure };
        // A check the host refused to send, say, is no news of the vendor.
        let Some(vendor) = super::worker::vendor_failure(&failure) else { continue };
        for offering in &plugin.manifest_info().offerings {
            jobs.inner.health.failed(&offering.id, &vendor.as_observed(), false).await;
        }
    }
}
