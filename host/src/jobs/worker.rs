//! The worker: claims due jobs with a lease and steps each once (submit or
//! poll), then releases it with the time it is next due.
//!
//! Steps run concurrently up to `jobs.workers`. The loop sleeps until the
//! earliest due job or a wake-up from `generate`, never longer than
//! [`IDLE_RECHECK`] (other nodes may add jobs).
//!
//! A job is stepped by one worker at a time: the node keeps the set of
//! jobs it is stepping (a claim of one it already steps is dropped), and a
//! running step renews its lease every third of `jobs.lease_secs`, so a
//! step longer than the lease (a slow vendor, a large download) is never
//! claimed by another node — the vendor is not submitted to twice. A step
//! whose lease was taken anyway (its node stalled past the lease) stops at
//! once. A node that dies leaves its jobs to be picked up once their
//! leases lapse; a single-node SQLite host clears leases at start-up and
//! resumes at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::Jobs;
use super::media;
use super::route::{Choice, Route, RoutingRecord};
use crate::artifacts::probe::{self, MediaInfo};
use crate::background::Background;
use crate::error::{ErrorCode, code_for_failure, code_for_plugin_error};
use crate::plugins::{
    Artifact, Failure, FailureCode, InputField, JobRequest, Limit, LoadedPlugin, MediaKind, PluginError, Progress,
    Running, Submitted,
};
use crate::routing::breaker::Observed;
use crate::store::artifacts::NewArtifact;
use crate::store::jobs::{Failover, LeaseRenewal, Refusal};
use crate::store::jobs::{JobRow, JobStatus};
use crate::store::webhooks::Event;
use crate::store::{accounts::new_id, now_ms};
use crate::webhooks::event::EventType;

/// Longest the loop sleeps without looking for due jobs.
const IDLE_RECHECK: Duration = Duration::from_secs(1);
/// How soon a job waiting for a concurrency slot looks again (a finishing
/// job of the same account also wakes the worker).
const QUEUE_RECHECK: Duration = Duration::from_millis(250);
/// How often expired Idempotency-Key records and drained plugin versions
/// are released.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// Wait after a retryable failure before submitting again.
const RETRY_BACKOFF: Duration = Duration::from_secs(2);
/// Most outputs one generation may have (a plugin or vendor could return
/// thousands, each a download and a row).
pub const MAX_OUTPUTS: usize = 16;
/// Longest task handle a plugin may ask the host to keep, bytes.
pub const MAX_HANDLE_BYTES: usize = 4096;
/// Longest failure message kept (and shown to users), bytes.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// The MIME type an output is stored and served with: the plugin's when it
/// is media or plain data, else `application/octet-stream` (a plugin must
/// not make the gateway serve HTML or scripts, even sandboxed).
fn stored_mime(mime: &str) -> String {
    let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let media = ["image/", "video/", "audio/"].iter().any(|p| essence.starts_with(p)) && essence != "image/svg+xml";
    let plain = ["text/plain", "application/json", "application/octet-stream"].contains(&essence.as_str());
    let well_formed = essence.len() <= 100 && essence.bytes().all(|b| b.is_ascii_graphic());
    if (media || plain) && well_formed { essence } else { "application/octet-stream".to_string() }
}

/// `message` cut to [`MAX_MESSAGE_BYTES`] on a character boundary.
fn bounded(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.into();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &message[..end], message.len() - end).into()
}

/// Start the worker; [`Background::shutdown`] stops claiming, lets steps
/// in flight finish within `shutdown_grace_secs` and hands back the jobs of
/// those that did not.
pub(super) fn spawn(jobs: Jobs) -> Background {
    Background::spawn(|stopped| run(jobs, stopped))
}

/// Step `job`, which a waiting request just accepted already started and
/// leased to this node (`Store::insert_job` with `start_now`), on its own
/// task: the request's answer waits for it, but a client that goes away
/// does not cancel it (a synchronous vendor's result would be lost and a
/// resumed job submitted twice). Shutdown lets it finish like a worker's
/// step.
pub(super) fn step_inline(jobs: &Jobs, job: JobRow) {
    if !jobs.inner.stepping.lock().expect("never poisoned").insert(job.id.clone()) {
        return;
    }
    let span = tracing::info_span!("step", job = %job.id);
    jobs.inner.inline.spawn(tracing::Instrument::instrument(held_step(jobs.clone(), job), span));
}

/// Step `job` while holding (renewing) its lease; the step stops if the
/// lease is lost. `job` is in `Inner::stepping` and is taken out at the end.
async fn held_step(jobs: Jobs, job: JobRow) {
    let id = job.id.clone();
    let lease = jobs.lease_ms();
    tokio::select! {
        result = step(&jobs, job) => if let Err(e) = result {
            tracing::error!(job = %id, "job step failed: {e}");
        },
        other = hold_lease(&jobs, &id, &jobs.inner.owner, lease) => {
            tracing::warn!(job = %id, holder = %other, "lost the job's lease; stopped stepping it");
        }
    }
    jobs.inner.stepping.lock().expect("never poisoned").remove(&id);
}

async fn run(jobs: Jobs, mut stopped: watch::Receiver<bool>) {
    let owner = jobs.inner.owner.clone();
    let workers = jobs.inner.config.jobs.workers.max(1);
    let slots = Arc::new(Semaphore::new(workers));
    let lease = jobs.lease_ms();
    let mut steps = JoinSet::new();
    let mut last_purge = tokio::time::Instant::now();
    loop {
        if *stopped.borrow() {
            break;
        }
        if last_purge.elapsed() >= PURGE_INTERVAL {
            last_purge = tokio::time::Instant::now();
            // Plugin versions no job is pinned to any more can be dropped.
            if let Ok(pinned) = jobs.inner.store.active_plugin_versions().await {
                let dropped =
                    jobs.inner.registry.prune_versions(&|id, sha| pinned.contains(&(id.to_string(), sha.to_string())));
                if dropped > 0 {
                    tracing::info!(dropped, "drained plugin versions released");
                }
            }
            let ttl_ms = i64::from(jobs.inner.config.limits.idempotency_hours) * 3_600_000;
            match jobs.inner.store.purge_idempotency(ttl_ms).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "expired Idempotency-Key records deleted"),
                Err(e) => tracing::warn!("purging Idempotency-Key records failed: {e}"),
            }
        }
        while steps.try_join_next().is_some() {}
        let free = slots.available_permits() as i64;
        let claimed = if free > 0 {
            match jobs.inner.store.claim_due(&owner, lease, free).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!("claiming jobs failed: {e}");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let busy = !claimed.is_empty();
        for job in claimed {
            if !jobs.inner.stepping.lock().expect("never poisoned").insert(job.id.clone()) {
                continue; // already stepping it (its lease is ours and renewed)
            }
            let permit = slots.clone().acquire_owned().await.expect("semaphore never closed");
            // Every log line of the step (the plugin's output too) names the job.
            let span = tracing::info_span!("step", job = %job.id);
            let step = held_step(jobs.clone(), job);
            steps.spawn(tracing::Instrument::instrument(
                async move {
                    step.await;
                    drop(permit);
                },
                span,
            ));
        }
        if busy {
            continue;
        }
        let sleep = match jobs.inner.store.next_due().await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(5, IDLE_RECHECK.as_millis() as i64) as u64),
            _ => IDLE_RECHECK,
        };
        tokio::select! {
            _ = jobs.inner.wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            Some(_) = steps.join_next(), if !steps.is_empty() => {}
            _ = stopped.changed() => {}
        }
    }
    drain(&jobs, steps, &owner).await;
}

/// Shutting down: let the steps in flight finish within
/// `shutdown_grace_secs`, then stop the rest and hand their jobs back (their
/// leases dropped, so another node resumes them at once instead of after
/// the lease). A step stopped mid-`submit` is submitted again by whoever
/// resumes it, with the same idempotency token (the job id).
async fn drain(jobs: &Jobs, mut steps: JoinSet<()>, owner: &str) {
    let grace = Duration::from_secs(jobs.inner.config.shutdown_grace_secs);
    let inline = &jobs.inner.inline;
    jobs.inner.stopping.store(true, std::sync::atomic::Ordering::Release);
    inline.close();
    let finished = tokio::time::timeout(grace, async {
        while steps.join_next().await.is_some() {}
        inline.wait().await;
    })
    .await;
    if finished.is_ok() {
        return;
    }
    steps.abort_all();
    while steps.join_next().await.is_some() {}
    // Inline steps still running are handed back too: their tasks end
    // with the runtime, and whoever resumes them submits with the same
    // idempotency token.
    let unfinished: Vec<String> = jobs.inner.stepping.lock().expect("never poisoned").drain().collect();
    for id in unfinished {
        match jobs.inner.store.release_lease(&id, owner).await {
            Ok(_) => tracing::info!(job = %id, "shutting down: job handed back unfinished"),
            Err(e) => tracing::warn!(job = %id, "handing the job back failed (it resumes when its lease lapses): {e}"),
        }
    }
}

/// Renew `owner`'s lease on job `id` every third of `lease_ms` while the
/// step runs. Returns only if another worker took the job (the holder);
/// once the step released the lease itself it waits for the step to end.
async fn hold_lease(jobs: &Jobs, id: &str, owner: &str, lease_ms: i64) -> String {
    let every = Duration::from_millis((lease_ms / 3).max(100) as u64);
    loop {
        tokio::time::sleep(every).await;
        match jobs.inner.store.renew_lease(id, owner, now_ms() + lease_ms).await {
            Ok(LeaseRenewal::Renewed) => {}
            Ok(LeaseRenewal::Released) => std::future::pending::<()>().await,
            Ok(LeaseRenewal::TakenBy(other)) => return other,
            Err(e) => tracing::warn!(job = %id, "renewing the lease failed: {e}"),
        }
    }
}

/// Errors that abort a step (the job stays leased until the lease expires).
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

async fn step(jobs: &Jobs, job: JobRow) -> Result<(), StepError> {
    let store = &jobs.inner.store;
    if now_ms() > job.deadline_at {
        let secs = (job.deadline_at - job.created_at + 500) / 1000; // rounded: both clocks read within ms
        if let (Some(plugin), Some(handle)) = (jobs.plugin_for(&job).await, job.handle.as_deref()) {
            let _ = plugin.cancel_with_token(handle, Some(&job.id)).await;
        }
        let message = format!("the generation did not finish within {secs} s");
        return fail(jobs, &job, ErrorCode::GenerationFailed, &message).await;
    }
    let Some(plugin) = jobs.plugin_for(&job).await else {
        let message = format!("plugin `{}` is no longer loaded", job.plugin_id);
        if job.status() == JobStatus::Queued {
            return fail(jobs, &job, ErrorCode::ProviderUnavailable, &message).await;
        }
        store.reschedule(&job.id, now_ms() + RETRY_BACKOFF.as_millis() as i64, false).await?;
        return Ok(());
    };
    if job.cancel_requested_at.is_some() && honour_cancel(jobs, &job, &plugin).await? {
        return Ok(());
    }
    match (job.status(), job.handle.clone()) {
        (JobStatus::Processing, Some(handle)) => poll(jobs, &job, &plugin, &handle).await,
        (JobStatus::Queued, _) => {
            // Take a concurrency slot first; without one, wait in the queue.
            let concurrent = match store.account(&job.account_id).await? {
                Some(account) => jobs.limits_for(&account).concurrent.map(i64::from),
                None => None,
            };
            if store.start_job(&job, concurrent).await? {
                jobs.announce(&job.id);
                submit(jobs, &job, &plugin).await
            } else {
                store.reschedule(&job.id, now_ms() + QUEUE_RECHECK.as_millis() as i64, false).await?;
                Ok(())
            }
        }
        _ => submit(jobs, &job, &plugin).await,
    }
}

async fn submit(jobs: &Jobs, job: &JobRow, plugin: &LoadedPlugin) -> Result<(), StepError> {
    let mut request: JobRequest = match serde_json::from_str(&job.request) {
        Ok(r) => r,
        Err(e) => return fail(jobs, job, ErrorCode::Internal, &format!("stored request is unreadable: {e}")).await,
    };
    if !job.test_mode
        && let Err(message) = fetch_needed_media(jobs, job, &mut request).await
    {
        return fail(jobs, job, ErrorCode::InvalidInput, &message).await;
    }
    let outcome = plugin.submit_with_token(&request, Some(&job.id)).await;
    if !job.test_mode {
        match &outcome {
            Ok(Ok(_)) => jobs.inner.health.accepted(&job.provider).await,
            Ok(Err(failure)) => {
                if let Some(observed) = vendor_failure(failure) {
                    jobs.inner.health.failed(&job.provider, &observed.as_observed(), true).await;
                }
            }
            Err(e) => {
                if let Some(observed) = vendor_error(e) {
                    jobs.inner.health.failed(&job.provider, &observed.as_observed(), true).await;
                }
            }
        }
    }
    // A failure before the vendor accepted anything may move the job to
    // the next candidate (same id, reservation adjusted).
    let failed_over = match &outcome {
        Ok(Err(failure)) if fails_over(failure.code) => {
            try_failover(jobs, job, code_for_failure(failure.code), &failure.message).await?
        }
        Err(e) if vendor_error(e).is_some() => {
            try_failover(jobs, job, ErrorCode::ProviderUnavailable, &e.to_string()).await?
        }
        _ => false,
    };
    if failed_over {
        return Ok(());
    }
    match outcome {
        Ok(Ok(Submitted::Done(artifacts))) => finish(jobs, job, plugin, artifacts).await,
        Ok(Ok(Submitted::Running(running))) => {
            record_running(jobs, job, &running).await?;
            // A cancel that came while the vendor was answering.
            if let Some(now) = jobs.inner.store.job(&job.id).await?
                && now.cancel_requested_at.is_some()
                && !now.status().is_terminal()
            {
                honour_cancel(jobs, &now, plugin).await?;
            }
            Ok(())
        }
        Ok(Err(failure)) => {
            let attempts = job.attempts + 1;
            let retryable = failure.retryable && failure.code != FailureCode::ModelUnavailable;
            if retryable && attempts < i64::from(jobs.inner.config.jobs.submit_attempts) {
                tracing::warn!(job = %job.id, attempt = attempts, "retryable submit failure: {}", failure.message);
                jobs.inner
                    .store
                    .reschedule(&job.id, now_ms() + RETRY_BACKOFF.as_millis() as i64 * attempts, true)
                    .await?;
                Ok(())
            } else {
                fail_with(jobs, job, &failure).await
            }
        }
        Err(e) => fail(jobs, job, code_for_plugin_error(&e), &e.to_string()).await,
    }
}

async fn poll(jobs: &Jobs, job: &JobRow, plugin: &LoadedPlugin, handle: &str) -> Result<(), StepError> {
    let progress = plugin.poll_with_token(handle, Some(&job.id)).await;
    if !job.test_mode
        && let Ok(Progress::Failed(failure)) = &progress
        && !failure.retryable
        && let Some(observed) = vendor_failure(failure)
    {
        jobs.inner.health.failed(&job.provider, &observed.as_observed(), true).await;
    }
    match progress {
        Ok(Progress::Running(running)) => record_running(jobs, job, &running).await,
        Ok(Progress::Done(artifacts)) => finish(jobs, job, plugin, artifacts).await,
        Ok(Progress::Failed(failure)) if failure.retryable => {
            // A vendor hiccup while polling: the task may still be running.
            tracing::warn!(job = %job.id, "transient poll failure: {}", failure.message);
            let max = jobs.inner.config.jobs.max_poll_interval_ms as i64;
            jobs.inner.store.reschedule(&job.id, now_ms() + (RETRY_BACKOFF.as_millis() as i64).min(max), false).await?;
            Ok(())
        }
        Ok(Progress::Failed(failure)) => fail_with(jobs, job, &failure).await,
        Ok(Progress::Cancelled) => {
            let render = jobs.render(EventType::Cancelled);
            let event = Event { event_type: EventType::Cancelled.as_str(), to_request_url: true, render: &render };
            if jobs.inner.store.end_job(job, JobStatus::Cancelled, None, 100, &event).await? {
                jobs.record_end(job, JobStatus::Cancelled, None, 100);
                jobs.announce(&job.id);
            }
            Ok(())
        }
        Err(e) => fail(jobs, job, code_for_plugin_error(&e), &e.to_string()).await,
    }
}

/// Carry out a cancel asked for while a step held `job` (see
/// `Jobs::cancel`): cancel the task at the vendor and refund what the
/// adapter reports. True if the job ended; false if the vendor refused
/// (the task had finished): the request is dropped and the job goes on.
///
/// A job without a handle never reached a vendor that answered, and is
/// refunded in full. (If its node died inside `submit`, the vendor may
/// have started a task nobody can name; vendors that take the generation
/// id as an idempotency key are the ones where a resubmit finds it.)
async fn honour_cancel(jobs: &Jobs, job: &JobRow, plugin: &LoadedPlugin) -> Result<bool, StepError> {
    let Some(handle) = job.handle.as_deref() else {
        jobs.end_cancelled(job, 100).await?;
        return Ok(true);
    };
    let refused = match plugin.cancel_with_token(handle, Some(&job.id)).await {
        Ok(Ok(outcome)) => {
            jobs.end_cancelled(job, outcome.refund_percent).await?;
            return Ok(true);
        }
        Ok(Err(failure)) => failure.message,
        Err(e) => e.to_string(),
    };
    tracing::warn!(job = %job.id, "the vendor did not cancel the task, the generation goes on: {refused}");
    jobs.inner.store.clear_cancel_request(&job.id).await?;
    Ok(false)
}

async fn record_running(jobs: &Jobs, job: &JobRow, running: &Running) -> Result<(), StepError> {
    if running.handle.len() > MAX_HANDLE_BYTES {
        let message = format!(
            "the provider's task handle is {} bytes; at most {MAX_HANDLE_BYTES} are kept",
            running.handle.len()
        );
        return fail(jobs, job, ErrorCode::GenerationFailed, &message).await;
    }
    let config = &jobs.inner.config.jobs;
    let wait = u64::from(running.poll_after_ms).clamp(config.min_poll_interval_ms, config.max_poll_interval_ms);
    let progress = i64::from(running.percent.unwrap_or(0).min(99)).max(job.progress);
    // A progress event only when the progress changed.
    let render = jobs.render(EventType::Progress);
    let event =
        Event { event_type: EventType::Progress.as_str(), to_request_url: job.webhook_progress, render: &render };
    let changed = (progress != job.progress).then_some(&event);
    if jobs.inner.store.mark_running(&job.id, &running.handle, progress, now_ms() + wait as i64, changed).await? {
        jobs.announce(&job.id);
    }
    Ok(())
}

/// Bytes for inputs the offering needs as bytes (URLs given by the user).
async fn fetch_needed_media(jobs: &Jobs, job: &JobRow, request: &mut JobRequest) -> Result<(), String> {
    let Some(offering) = jobs.offering_for(job) else { return Ok(()) };
    jobs.open_uploads(&job.account_id, request, &offering.needs_bytes).await?;
    let net = &jobs.inner.net;
    let input = &mut request.input;
    for (field, media) in [
        (InputField::Image, input.image.as_mut()),
        (InputField::Audio, input.audio.as_mut()),
        (InputField::Video, input.video.as_mut()),
    ] {
        if let Some(media) = media.filter(|_| offering.needs_bytes.contains(&field)) {
            media::fetch_bytes(net, media).await.map_err(|e| format!("input.{}: {e}", field.as_str()))?;
        }
    }
    Ok(())
}

async fn finish(jobs: &Jobs, job: &JobRow, plugin: &LoadedPlugin, artifacts: Vec<Artifact>) -> Result<(), StepError> {
    if artifacts.is_empty() {
        return fail(jobs, job, ErrorCode::GenerationFailed, "the provider reported success but returned no output")
            .await;
    }
    if artifacts.len() > MAX_OUTPUTS {
        let message = format!("the provider returned {} outputs; at most {MAX_OUTPUTS} are accepted", artifacts.len());
        return fail(jobs, job, ErrorCode::GenerationFailed, &message).await;
    }
    let store = jobs.artifacts();
    let mut records = Vec::with_capacity(artifacts.len());
    for (position, artifact) in artifacts.iter().enumerate() {
        let mime = stored_mime(&artifact.mime);
        let stored = match (&artifact.bytes, &artifact.url) {
            (Some(bytes), _) => store.put_bytes(&job.id, position, &mime, bytes).await,
            (None, Some(url)) => {
                store.fetch(&jobs.inner.net, plugin.http_policy(), url, &job.id, position, &mime).await
            }
            (None, None) => {
                return fail(
                    jobs,
                    job,
                    ErrorCode::GenerationFailed,
                    "the provider returned an output with neither bytes nor URL",
                )
                .await;
            }
        };
        let staged = match stored {
            Ok(s) => s,
            Err(e) => {
                return fail(jobs, job, ErrorCode::GenerationFailed, &format!("could not store the result: {e}")).await;
            }
        };
        // What the plugin reported wins; the file's header fills the gaps.
        let reported = MediaInfo { width: artifact.width, height: artifact.height, duration_ms: artifact.duration_ms };
        let info = if reported.width.is_some() && reported.height.is_some() && reported.duration_ms.is_some() {
            reported
        } else {
            let probed = match staged.probed() {
                Some(probed) => probed,
                None => {
                    let (path, mime) = (staged.local().to_path_buf(), mime.clone());
                    tokio::task::spawn_blocking(move || probe::probe(&path, &mime)).await.unwrap_or_default()
                }
            };
            MediaInfo {
                width: reported.width.or(probed.width),
                height: reported.height.or(probed.height),
                duration_ms: reported.duration_ms.or(probed.duration_ms),
            }
        };
        let stored = match store.publish(staged, &mime).await {
            Ok(s) => s,
            // The bucket failed (after the object store's own retries),
            // not the vendor. A task at the vendor is polled again later
            // for its result; a synchronous result cannot be asked for
            // again without a second charge, so that generation fails.
            Err(e) if job.handle.is_some() => {
                tracing::warn!(job = %job.id, "storing the result failed, polling again later: {e}");
                let later = now_ms() + RETRY_BACKOFF.as_millis() as i64;
                jobs.inner.store.reschedule(&job.id, later, false).await?;
                return Ok(());
            }
            Err(e) => {
                return fail(jobs, job, ErrorCode::GenerationFailed, &format!("could not store the result: {e}")).await;
            }
        };
        records.push(NewArtifact {
            id: new_id("art"),
            position: position as i64,
            path: stored.path,
            mime: mime.clone(),
            size_bytes: stored.size as i64,
            width: info.width.map(i64::from),
            height: info.height.map(i64::from),
            duration_ms: info.duration_ms.map(i64::from),
        });
    }
    let render = jobs.render(EventType::Completed);
    let event = Event { event_type: EventType::Completed.as_str(), to_request_url: true, render: &render };
    if jobs.inner.store.complete_job(job, &records, &event).await? {
        tracing::debug!(job = %job.id, outputs = records.len(), "generation completed");
        if !job.test_mode {
            let took = now_ms() - job.started_at.unwrap_or(job.created_at);
            jobs.inner.health.completed(&job.provider, took.max(0)).await;
        }
        jobs.record_end(job, JobStatus::Completed, None, 0);
        jobs.announce(&job.id);
    }
    Ok(())
}

async fn fail_with(jobs: &Jobs, job: &JobRow, failure: &Failure) -> Result<(), StepError> {
    let message = format!("provider `{}`: {}", job.provider, failure.message);
    fail(jobs, job, code_for_failure(failure.code), &message).await
}

async fn fail(jobs: &Jobs, job: &JobRow, code: ErrorCode, message: &str) -> Result<(), StepError> {
    let message = &*bounded(message);
    let render = jobs.render(EventType::Failed);
    let event = Event { event_type: EventType::Failed.as_str(), to_request_url: true, render: &render };
    if jobs.inner.store.end_job(job, JobStatus::Failed, Some((code.as_str(), message)), 100, &event).await? {
        tracing::warn!(job = %job.id, code = code.as_str(), "generation failed: {message}");
        jobs.record_end(job, JobStatus::Failed, Some(code), 100);
        jobs.announce(&job.id);
    }
    Ok(())
}

/// A vendor-side failure as routing records it.
pub(super) struct VendorFailure {
    code: &'static str,
    message: String,
    open_now: bool,
    retry_after_secs: Option<u32>,
}

impl VendorFailure {
    pub(super) fn as_observed(&self) -> Observed<'_> {
        Observed {
            code: self.code,
            message: &self.message,
            open_now: self.open_now,
            retry_after_secs: self.retry_after_secs,
        }
    }
}

/// Failures that open a breaker at once: the model is gone.
pub(super) fn opens_at_once(code: FailureCode) -> bool {
    code == FailureCode::ModelUnavailable
}

/// Failures that move an automatically routed job to the next candidate.
fn fails_over(code: FailureCode) -> bool {
    matches!(code, FailureCode::ProviderUnavailable | FailureCode::RateLimited | FailureCode::ModelUnavailable)
}

/// `failure` if it says something about the vendor (not the user's input
/// or content, nor a request the host refused to send: an unavailable
/// vendor counts only when retryable, as transport faults and 5xx are).
pub(super) fn vendor_failure(failure: &Failure) -> Option<VendorFailure> {
    match failure.code {
        FailureCode::ProviderUnavailable if !failure.retryable => None,
        FailureCode::ProviderUnavailable
        | FailureCode::RateLimited
        | FailureCode::ModelUnavailable
        | FailureCode::Unauthorized => Some(VendorFailure {
            code: code_for_failure(failure.code).as_str(),
            message: failure.message.clone(),
            open_now: opens_at_once(failure.code),
            retry_after_secs: failure.retry_after_secs,
        }),
        FailureCode::InvalidInput | FailureCode::GenerationFailed | FailureCode::ContentRejected => None,
    }
}

/// A plugin call that timed out is the vendor's slowness; a crash or
/// another limit is the plugin's own fault and says nothing about it.
fn vendor_error(error: &PluginError) -> Option<VendorFailure> {
    match error {
        PluginError::LimitExceeded { limit: Limit::WallClock(_), .. } => Some(VendorFailure {
            code: ErrorCode::ProviderUnavailable.as_str(),
            message: error.to_string(),
            open_now: false,
            retry_after_secs: None,
        }),
        _ => None,
    }
}

/// Move `job` to its next candidate if its routing allows it (chosen
/// automatically or given explicit fallbacks, under `routing.max_attempts`
/// and `routing.failover_deadline_secs`), then submit it there. True when
/// the job was moved (or ended because the new quote could not be
/// covered).
async fn try_failover(jobs: &Jobs, job: &JobRow, code: ErrorCode, message: &str) -> Result<bool, StepError> {
    let config = &jobs.inner.config.routing;
    let Some(mut record) = job.routing.as_deref().and_then(|r| serde_json::from_str::<RoutingRecord>(r).ok()) else {
        return Ok(false);
    };
    let Some(given) = record.given.clone().filter(|_| record.may_fail_over() && !job.test_mode) else {
        return Ok(false);
    };
    if now_ms() - job.created_at > (config.failover_deadline_secs as i64).saturating_mul(1000) {
        return Ok(false);
    }
    let mut tried: Vec<String> =
        jobs.inner.store.job_attempts(&job.id).await?.into_iter().map(|a| a.provider).collect();
    tried.push(job.provider.clone());
    if tried.len() >= config.max_attempts.max(1) as usize {
        return Ok(false);
    }
    let Some(kind) = MediaKind::parse(&job.kind) else { return Ok(false) };
    let caller = super::Caller { account_id: job.account_id.clone(), test_mode: job.test_mode };
    let list: Vec<String>;
    let route = if record.automatic {
        Route::Automatic
    } else {
        list = record.named.iter().chain(&record.fallbacks).cloned().collect();
        Route::Listed(&list)
    };
    let input = given.input();
    let choice = Choice {
        caller: &caller,
        kind,
        priority: record.priority,
        input: &input,
        options: given.options(),
        lenient: given.lenient(),
        route,
        tried: &tried,
        job_id: &job.id,
    };
    let routed = match jobs.choose(choice).await {
        Ok(routed) => routed,
        Err(e) => {
            tracing::info!(job = %job.id, "no provider to fail over to: {}", e.message);
            return Ok(false);
        }
    };
    record.decision = routed.decision;
    let to = Failover {
        provider: routed.offering.id.clone(),
        plugin_id: routed.plugin.id().to_string(),
        plugin_sha256: routed.plugin.sha256().to_string(),
        request: serde_json::to_string(&routed.request).unwrap_or_default(),
        credit_cost: i64::from(routed.quote.credits),
        estimated_seconds: i64::from(routed.quote.estimated_seconds),
        routing: serde_json::to_string(&record).unwrap_or_default(),
        error_code: code.as_str().to_string(),
        error_message: message.to_string(),
    };
    jobs.inner.plugins.keep_version(&routed.plugin).await;
    match jobs.inner.store.fail_over(job, &to).await? {
        Ok(Some(moved)) => {
            tracing::warn!(job = %job.id, from = %job.provider, to = %moved.provider, code = code.as_str(), "failed over: {message}");
            jobs.inner.metrics.failover(&job.provider, &moved.provider, code.as_str());
            jobs.announce(&job.id);
            Box::pin(submit(jobs, &moved, &routed.plugin)).await?;
            Ok(true)
        }
        Ok(None) => Ok(true),
        Err(Refusal::InsufficientCredits { balance, cost }) => {
            let message = format!(
                "provider `{}` failed ({message}); failing over to `{}` needs {cost} more credits and the account has {balance}",
                job.provider, to.provider
            );
            fail(jobs, job, ErrorCode::InsufficientCredits, &message).await?;
            Ok(true)
        }
        Err(other) => {
            tracing::error!(job = %job.id, "unexpected refusal while failing over: {other:?}");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_served_as_media_or_as_bytes() {
        assert_eq!(stored_mime("image/PNG"), "image/png");
        assert_eq!(stored_mime("audio/mpeg; rate=44100"), "audio/mpeg");
        assert_eq!(stored_mime("text/plain"), "text/plain");
        for risky in ["text/html", "image/svg+xml", "application/javascript", "", "video/\u{7f}x"] {
            assert_eq!(stored_mime(risky), "application/octet-stream", "{risky}");
        }
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = bounded(&long);
        assert!(cut.len() < MAX_MESSAGE_BYTES + 40 && cut.contains("bytes cut"), "{}", cut.len());
        assert_eq!(bounded("short"), "short");
    }
}
