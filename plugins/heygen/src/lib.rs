//! The `heygen` provider: HeyGen's talking avatars through its API v3
//! (`https://api.heygen.com`).
//!
//! It owns one offering, `heygen` (the portal's provider id, kind
//! `AVATAR`): a HeyGen avatar (option `avatarId`) or a portrait photo
//! (`input.image`) speaks `input.text` in a HeyGen voice (`input.voice`)
//! or lip-syncs `input.audio`. It never fetches user URLs itself: photos by
//! URL go to HeyGen as they came, and audio arrives as bytes from the host
//! (the offering lists audio in `needs-bytes`) so its length, which sets
//! the price, is measured before it is uploaded. The handle carries the
//! video id; nothing else survives between calls.
//!
//! The engine (`engine.type`) goes through the operator's settings
//! (`model.heygen` for the default engine, `model.heygen.avatar-v` for
//! the other); the generation id goes to HeyGen as `callback_id`; the
//! health check reads `GET /v3/users/me`.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: options, the combination rules `quote` enforces, and
//!   per-second prices and how long the video will be (the SDK's `audio`
//!   module: script length estimate, audio length read from WAV and MP3
//!   bytes): pure and unit-tested;
//! - [`api`]: HeyGen's wire format, its errors and video statuses mapped to
//!   failures and progress, and the HTTP exchanges (uploads encoded by the
//!   SDK's `multipart` module).
//!
//! A generation is: upload inline media (`POST /v3/assets`) → `POST
//! /v3/videos` → poll `GET /v3/videos/{video_id}` until `completed` → the
//! presigned `video_url`, which the host downloads and re-hosts at once.
//! [`Provider::cancel`] deletes the video at HeyGen and refunds nothing:
//! HeyGen bills what it started rendering.
//!
//! Decisions where HeyGen's documentation is silent or the vendor notes
//! were uncertain (API version, ids, backgrounds, gestures, prices) are
//! listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id and its offering's: the portal's provider id.
pub const ID: &str = "heygen";
/// The one secret: a HeyGen API key (app.heygen.com → Settings → API).
pub const SECRET: &str = "api_key";

/// The HeyGen provider.
pub struct Heygen;

impl Provider for Heygen {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "HeyGen".to_string(),
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
        // Checked again: the audio's bytes are here now, so a URL's
        // declared length is verified before HeyGen sees anything.
        let plan = catalogue::Plan::of(&request)?;
        let key = require_secret(SECRET)?;
        let assets = api::upload_inputs(&key, &plan, &request.input)?;
        let body = api::video_body(&plan, &request.input, &assets);
        let body = api::finish_body(body, Some(plan.engine.resolved_name()), idempotency_token());
        let task = api::create(&key, &body)?;
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: None, poll_after_ms: api::POLL_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_video(&handle).unwrap_or_else(Progress::Failed)
    }

    /// Deletes the video at HeyGen so it stops rendering; HeyGen still
    /// bills what it started, so nothing is refunded, and a failed delete
    /// does not keep the user waiting.
    fn cancel(encoded: String) -> Result<CancelOutcome, Failure> {
        let task: api::Task = handle::decode(&encoded)?;
        let key = require_secret(SECRET)?;
        if let Err(failure) = api::delete(&key, &task) {
            log(Level::Warn, &format!("could not delete HeyGen video {}: {}", task.video_id, failure.message));
        }
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /v3/users/me` (generates nothing): the key works.
impl Health for Heygen {
    fn check() -> Result<(), Failure> {
        api::check_account(&require_secret(SECRET)?)
    }
}

export_plugin!(Heygen, health);

fn poll_video(encoded: &str) -> Result<Progress, Failure> {
    let task: api::Task = handle::decode(encoded)?;
    let key = require_secret(SECRET)?;
    match api::video_state(&api::video(&key, &task)?)? {
        api::VideoState::Working => {
            Ok(Progress::Running(Running { handle: encoded.to_string(), percent: None, poll_after_ms: api::POLL_MS }))
        }
        api::VideoState::Done(artifact) => Ok(Progress::Done(vec![artifact])),
    }
}
