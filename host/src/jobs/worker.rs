//! The worker: claims due jobs with a lease and steps each once (submit or
//! poll), then releases it with the time it is next due.
//!
//! Steps run concurrently up to `jobs.workers`. The loop sleeps until the
//! earliest due job or a wake-up from `generate`, never longer than
//! [`IDLE_RECHECK`] (other nodes may add jobs). A lease outlives the
//! longest plugin call, so a node that dies mid-step leaves its job to be
//! picked up after the lease expires; a single-node SQLite host clears
//! leases at start-up and resumes at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::Jobs;
use super::media;
use crate::artifacts::probe::{self, MediaInfo};
use crate::error::{ErrorCode, code_for_failure, code_for_plugin_error};
use crate::plugins::{Artifact, Failure, InputField, JobRequest, LoadedPlugin, Progress, Running, Submitted};
use crate::store::artifacts::NewArtifact;
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

/// Stops the worker; dropping it does too.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stop claiming jobs and wait for steps in flight to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

pub(super) fn spawn(jobs: Jobs) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(jobs, stopped));
    WorkerHandle { stop, task }
}

async fn run(jobs: Jobs, mut stopped: watch::Receiver<bool>) {
    let owner = new_id("worker");
    let workers = jobs.inner.config.jobs.workers.max(1);
    let slots = Arc::new(Semaphore::new(workers));
    let lease = Duration::from_secs(jobs.inner.config.jobs.lease_secs).as_millis() as i64;
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
            let permit = slots.clone().acquire_owned().await.expect("semaphore never closed");
            let jobs = jobs.clone();
            steps.spawn(async move {
                let id = job.id.clone();
                if let Err(e) = step(&jobs, job).await {
                    tracing::error!(job = %id, "job step failed: {e}");
                }
                drop(permit);
            });
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
    while steps.join_next().await.is_some() {}
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
        let secs = (job.deadline_at - job.created_at) / 1000;
        if let (Some(plugin), Some(handle)) = (jobs.plugin_for(&job), job.handle.as_deref()) {
            let _ = plugin.cancel(handle).await;
        }
        let message = format!("the generation did not finish within {secs} s");
        return fail(jobs, &job, ErrorCode::GenerationFailed, &message).await;
    }
    let Some(plugin) = jobs.plugin_for(&job) else {
        let message = format!("plugin `{}` is no longer loaded", job.plugin_id);
        if job.status() == JobStatus::Queued {
            return fail(jobs, &job, ErrorCode::ProviderUnavailable, &message).await;
        }
        store.reschedule(&job.id, now_ms() + RETRY_BACKOFF.as_millis() as i64, false).await?;
        return Ok(());
    };
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
    match plugin.submit(&request).await {
        Ok(Ok(Submitted::Done(artifacts))) => finish(jobs, job, plugin, artifacts).await,
        Ok(Ok(Submitted::Running(running))) => {
            record_running(jobs, job, &running).await?;
            Ok(())
        }
        Ok(Err(failure)) => {
            let attempts = job.attempts + 1;
            if failure.retryable && attempts < i64::from(jobs.inner.config.jobs.submit_attempts) {
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
    match plugin.poll(handle).await {
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

async fn record_running(jobs: &Jobs, job: &JobRow, running: &Running) -> Result<(), StepError> {
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
    let store = jobs.artifacts();
    let mut records = Vec::with_capacity(artifacts.len());
    for (position, artifact) in artifacts.iter().enumerate() {
        let stored = match (&artifact.bytes, &artifact.url) {
            (Some(bytes), _) => store.put_bytes(&job.id, position, &artifact.mime, bytes).await,
            (None, Some(url)) => {
                store.fetch(&jobs.inner.net, plugin.http_policy(), url, &job.id, position, &artifact.mime).await
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
        let stored = match stored {
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
            let (path, mime) = (store.path_of(&stored.path), artifact.mime.clone());
            let probed = tokio::task::spawn_blocking(move || probe::probe(&path, &mime)).await.unwrap_or_default();
            MediaInfo {
                width: reported.width.or(probed.width),
                height: reported.height.or(probed.height),
                duration_ms: reported.duration_ms.or(probed.duration_ms),
            }
        };
        records.push(NewArtifact {
            id: new_id("art"),
            position: position as i64,
            path: stored.path,
            mime: artifact.mime.clone(),
            size_bytes: stored.size as i64,
            width: info.width.map(i64::from),
            height: info.height.map(i64::from),
            duration_ms: info.duration_ms.map(i64::from),
        });
    }
    let render = jobs.render(EventType::Completed);
    let event = Event { event_type: EventType::Completed.as_str(), to_request_url: true, render: &render };
    if jobs.inner.store.complete_job(job, &records, &event).await? {
        tracing::info!(job = %job.id, outputs = records.len(), "generation completed");
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
    let render = jobs.render(EventType::Failed);
    let event = Event { event_type: EventType::Failed.as_str(), to_request_url: true, render: &render };
    if jobs.inner.store.end_job(job, JobStatus::Failed, Some((code.as_str(), message)), 100, &event).await? {
        tracing::warn!(job = %job.id, code = code.as_str(), "generation failed: {message}");
        jobs.record_end(job, JobStatus::Failed, Some(code), 100);
        jobs.announce(&job.id);
    }
    Ok(())
}
