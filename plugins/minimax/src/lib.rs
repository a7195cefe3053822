//! The `minimax` provider: MiniMax's Hailuo video models through MiniMax's
//! video generation API, and its image-01 models through its image
//! generation API (`https://api.minimax.io`, API v1, one key for both).
//!
//! It owns two offerings:
//! - `minimax` (video, the portal's provider id), whose `model` option picks
//!   among Hailuo 02 (the default), Hailuo 2.3, Hailuo 2.3 Fast and the older
//!   video-01 family;
//! - `minimax-image` (image, the portal's "Minimax Image" card), whose
//!   `model` option picks image-01 (the default) or image-01-live.
//!
//! It never fetches user media (image URLs and `data:` URIs go to MiniMax
//! as they came) and keeps no state between calls: a video handle carries
//! the vendor's task id; images need no handle.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue, dispatching on
//!   the offering;
//! - [`catalogue`]: video models, what each accepts (durations, resolutions,
//!   inputs), the option specs, prices and the combination rules `quote`
//!   enforces: pure and unit-tested;
//! - [`api`]: MiniMax's wire format for video, its error codes and task
//!   statuses mapped to failures and progress, and the three HTTP exchanges
//!   (submit, query, file retrieve); the error mapping and the exchange are
//!   shared with images;
//! - [`image`]: the `minimax-image` offering (its own catalogue and wire format).
//!
//! A video generation is: `POST /v1/video_generation` → poll
//! `GET /v1/query/video_generation` until `Success` → `GET
//! /v1/files/retrieve` for the file's `download_url`, which the host
//! downloads and re-hosts at once (the link expires after about an hour).
//! MiniMax has no cancel endpoint: [`Provider::cancel`] stops the wait and
//! refunds nothing, since MiniMax still finishes and bills the task.
//!
//! An image generation is one synchronous `POST /v1/image_generation`
//! whose answer links the images (valid 24 h); `submit` returns them as
//! `url` artifacts the host re-hosts at once.
//!
//! Decisions where the vendor notes were uncertain (prices, error codes
//! with and without HTTP errors, final `Fail` codes, cancellation, image
//! styles and counts) are listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;
pub mod image;

/// The plugin's id and its video offering's: the portal's provider id.
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
            offerings: vec![catalogue::offering(), image::catalogue::offering()],
            allowed_hosts: vec![api::API.to_string()],
            secrets: vec![SECRET.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        if request.offering == image::OFFERING {
            let plan = image::catalogue::Plan::of(&request)?;
            return Ok(Quote { credits: plan.credits(), estimated_seconds: plan.estimated_seconds() });
        }
        let plan = catalogue::Plan::of(&request)?;
        Ok(Quote { credits: plan.credits(), estimated_seconds: plan.estimated_seconds() })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        if request.offering == image::OFFERING {
            return submit_image(&request);
        }
        let plan = catalogue::Plan::of(&request)?;
        let key = require_secret(SECRET)?;
        let body = api::SubmitBody::new(&plan, &request.input).with_model(video_model(plan.model));
        let task = api::submit(&key, &body)?;
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: Some(0), poll_after_ms: api::POLL_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_task(&handle).unwrap_or_else(Progress::Failed)
    }

    /// MiniMax cannot stop a video task: the wait ends, the vendor still
    /// bills it. (Images never run as tasks.)
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

export_plugin!(Minimax);

/// The MiniMax model id for the video `model` option value: the operator's
/// `model.minimax.<value>` setting, else (for the default model)
/// `model.minimax`, else the built-in id.
fn video_model(model: catalogue::Model) -> String {
    let specific = format!("{ID}.{}", model.name());
    if model == catalogue::Model::DEFAULT && setting(&format!("model.{specific}")).is_none() {
        model_id(ID, model.vendor_id())
    } else {
        model_id(&specific, model.vendor_id())
    }
}

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

/// Generate images: one exchange, done at once.
fn submit_image(request: &JobRequest) -> Result<Submitted, Failure> {
    let plan = image::catalogue::Plan::of(request)?;
    let key = require_secret(SECRET)?;
    let body = image::api::with_resolved_model(image::api::ImageBody::new(&plan, &request.input), &plan);
    let images = image::api::generate(&key, &body)?;
    if images.len() < plan.count as usize {
        log(
            Level::Warn,
            &format!("MiniMax returned {} of {} images: its safety filter withheld the rest", images.len(), plan.count),
        );
    }
    Ok(Submitted::Done(images))
}
