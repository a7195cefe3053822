//! The `minimax` provider: MiniMax's Hailuo video models through MiniMax's
//! video generation API (`https://api.minimax.io`, API v1).
//!
//! It owns one offering, `minimax` (the portal's provider id), whose `model`
//! option picks among Hailuo 02 (the default), Hailuo 2.3, Hailuo 2.3 Fast
//! and the older video-01 family. It never fetches user media (image URLs
//! and `data:` URIs go to MiniMax as they came) and keeps no state between
//! calls: the handle carries the vendor's task id.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: models, what each accepts (durations, resolutions,
//!   inputs), the option specs, prices and the combination rules `quote`
//!   enforces: pure and unit-tested;
//! - [`api`]: MiniMax's wire format, its error codes and task statuses
//!   mapped to failures and progress, and the three HTTP exchanges
//!   (submit, query, file retrieve).
//!
//! A generation is: `POST /v1/video_generation` → poll
//! `GET /v1/query/video_generation` until `Success` → `GET
//! /v1/files/retrieve` for the file's `download_url`, which the host
//! downloads and re-hosts at once (the link expires after about an hour).
//! MiniMax has no cancel endpoint: [`Provider::cancel`] stops the wait and
//! refunds nothing, since MiniMax still finishes and bills the task.
//!
//! Decisions where the vendor notes were uncertain (prices, error codes
//! with and without HTTP errors, final `Fail` codes, cancellation) are
//! listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id and its offering's: the portal's provider id.
pub const ID: &str = "minimax";
/// The one secret: a MiniMax API key (global platform, platform.minimax.io).
pub const SECRET: &str = "api_key";

/// The MiniMax provider.
pub struct Minimax;

impl Provider for Minimax {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "MiniMax".to_string(),
            offerings: vec![catalogue::offering()],
            allowed_hosts: vec![api::API.to_string()],
            secrets: vec![SECRET.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        Ok(Quote { credits: plan.credits(), estimated_seconds: plan.estimated_seconds() })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        let key = require_secret(SECRET)?;
        let task = api::submit(&key, &api::SubmitBody::new(&plan, &request.input))?;
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: Some(0), poll_after_ms: api::POLL_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_task(&handle).unwrap_or_else(Progress::Failed)
    }

    /// MiniMax cannot stop a task: the wait ends, the vendor still bills it.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

export_plugin!(Minimax);

/// Query the task; on success, fetch the file's download link.
fn poll_task(task_handle: &str) -> Result<Progress, Failure> {
    let task: api::Task = handle::decode(task_handle)?;
    let key = require_secret(SECRET)?;
    match api::task_state(&api::query(&key, &task)?)? {
        api::TaskState::Working => Ok(Progress::Running(Running {
            handle: task_handle.to_string(),
            percent: None,
            poll_after_ms: api::POLL_MS,
        })),
        api::TaskState::Succeeded(video) => {
            let url = api::download_url(&key, &video.file_id)?;
            Ok(Progress::Done(vec![video.artifact(url)]))
        }
    }
}
