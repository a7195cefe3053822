//! The `hedra` provider: Hedra's character animation and lip sync through
//! Hedra's public API (`https://api.hedra.com/web-app/public`).
//!
//! It owns one offering, `hedra` (the portal's "Hedra Lip Sync", kind
//! `AVATAR`): a portrait (`input.image`) speaks `input.audio`, or
//! `input.text` read by a Hedra voice (`input.voice`), animated by
//! Character-3 or Hedra Avatar. Hedra takes media only as uploaded assets,
//! so the offering lists image and audio in `needs-bytes`: the host fetches
//! URLs and hands the plugin the bytes, which it uploads. The handle
//! carries the generation id; nothing else survives between calls.
//!
//! Hedra's `ai_model_id` goes through the operator's settings
//! (`model.hedra` for the default model, `model.hedra.avatar` for the
//! other), so an environment's own ids or a successor are configuration;
//! the health check reads `GET /models`.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: models, options, the combination rules `quote`
//!   enforces, per-second prices and how long the video will be (the SDK's
//!   `audio` module: script estimate, WAV and MP3 lengths): pure and
//!   unit-tested;
//! - [`api`]: Hedra's wire format, its errors and generation statuses
//!   mapped to failures and progress, and the HTTP exchanges (uploads
//!   encoded by the SDK's `multipart` module).
//!
//! A generation is: `POST /assets` + `POST /assets/{id}/upload` for the
//! portrait (and the audio) → `POST /generations` → poll `GET
//! /generations/{id}/status` until `complete` → `download_url`, which the
//! host downloads and re-hosts at once. Hedra has no cancel endpoint:
//! [`Provider::cancel`] stops the wait and refunds nothing.
//!
//! Decisions where the vendor notes were uncertain (model ids, prices,
//! error bodies, durations) are listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id and its offering's: the portal's provider id.
pub const ID: &str = "hedra";
/// The one secret: a Hedra API key (hedra.com/api-profile, paid plans).
pub const SECRET: &str = "api_key";

/// The Hedra provider.
pub struct Hedra;

impl Provider for Hedra {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Hedra".to_string(),
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
        // Checked again: the fetched bytes of URL inputs are here now.
        let plan = catalogue::Plan::of(&request)?;
        let key = require_secret(SECRET)?;
        let assets = api::upload_inputs(&key, &plan, &request.input)?;
        let mut body = api::generation_body(&plan, &request.input, &assets);
        body["ai_model_id"] = plan.model.resolved_id().into();
        let task = api::generate(&key, &body)?;
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: Some(0), poll_after_ms: api::POLL_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_generation(&handle).unwrap_or_else(Progress::Failed)
    }

    /// Hedra cannot stop a generation: the wait ends, Hedra still bills it.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /models` (generates nothing): the key works and the
/// default model, as the operator's settings resolve it, is still listed.
impl Health for Hedra {
    fn check() -> Result<(), Failure> {
        api::check(&require_secret(SECRET)?, &catalogue::Model::DEFAULT.resolved_id())
    }
}

export_plugin!(Hedra, health);

fn poll_generation(encoded: &str) -> Result<Progress, Failure> {
    let task: api::Task = handle::decode(encoded)?;
    let key = require_secret(SECRET)?;
    match api::state(&api::status(&key, &task)?)? {
        api::State::Working(percent) => {
            Ok(Progress::Running(Running { handle: encoded.to_string(), percent, poll_after_ms: api::POLL_MS }))
        }
        api::State::Done(artifact) => Ok(Progress::Done(vec![artifact])),
    }
}
