//! The `openai` provider: OpenAI's image and speech models through its REST
//! API (`https://api.openai.com/v1`).
//!
//! It owns two offerings: `gpt-image` (IMAGE: GPT Image 2 by default, GPT
//! Image 1.5, 1 and 1 Mini, through the Images API) and `openai-tts` (AUDIO:
//! gpt-4o-mini-tts by default, tts-1 and tts-1-hd, through the Audio API).
//! Both are synchronous: the one call answers with the file (an image as
//! base64 in JSON, speech as raw audio), returned to the host inline with
//! its MIME type and pixel size or duration. Nothing survives between
//! calls, so there is nothing to poll or cancel. DALL·E 2 and 3 are not
//! offered: OpenAI shut them down in the API on 2026-05-12.
//!
//! Every vendor model id goes through the operator's settings
//! (`model.<offering>` for the default model, `model.<offering>.<value>`
//! for the others; [`catalogue::vendor_model`]), so a retirement is a
//! configuration change. The health check reads `GET /v1/models/{model}`.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: per offering, models, voices, options, prices and the
//!   combination rules `quote` enforces: pure and unit-tested;
//! - [`api`]: the two exchanges, their bodies and answers, and OpenAI's
//!   error envelope mapped to failures;
//! - [`audio`]: the speech formats offered and their durations (MP3, WAV,
//!   FLAC, Ogg Opus and ADTS AAC, read by the SDK's `audio` module).
//!
//! Decisions where the vendor notes were uncertain (prices, voices per
//! model, the estimated length of speech, formats) are listed in the
//! crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod audio;
pub mod catalogue;

/// The plugin's id.
pub const ID: &str = "openai";
/// The one secret: an OpenAI API key (platform.openai.com).
pub const SECRET: &str = "api_key";

/// The OpenAI provider.
pub struct OpenAi;

impl Provider for OpenAi {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "OpenAI".to_string(),
            offerings: catalogue::offerings(),
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
        let artifact = match &plan {
            catalogue::Plan::Image(plan) => api::image::generate(&key, plan)?,
            catalogue::Plan::Speech(plan) => api::speech::generate(&key, plan)?,
        };
        Ok(Submitted::Done(vec![artifact]))
    }

    /// Never called: every generation finishes inside `submit`.
    fn poll(_handle: String) -> Progress {
        Progress::Failed(failure::invalid_input("OpenAI generations finish at once; there is nothing to poll"))
    }

    /// Never needed: a synchronous generation has no task to stop.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /v1/models/{model}` for the default model of each
/// offering (free; a retired model answers 404 `model_not_found`).
impl Health for OpenAi {
    fn check() -> Result<(), Failure> {
        let key = require_secret(SECRET)?;
        use catalogue::{image, speech, vendor_model};
        let models = [
            vendor_model(image::ID, image::Model::DEFAULT.name(), image::Model::DEFAULT.name()),
            vendor_model(speech::ID, speech::Model::DEFAULT.name(), speech::Model::DEFAULT.name()),
        ];
        api::check_models(&key, &models)
    }
}

export_plugin!(OpenAi, health);
