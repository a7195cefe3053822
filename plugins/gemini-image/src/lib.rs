//! The `gemini-image` provider: Google's Gemini image models ("Nano
//! Banana") through the Gemini API's `generateContent`, replacing the
//! retired `imagen` plugin.
//!
//! It owns two offerings, one per model tier: `gemini-image` (Gemini 3.1
//! Flash Image, `gemini-3.1-flash-image`) and `gemini-image-pro` (Gemini 3
//! Pro Image, `gemini-3-pro-image`). Each tier has its own sizes, frames,
//! price and quality rank, which the host validates and lists per offering.
//! Every model id is resolved through the operator's `model.<offering>`
//! setting (contract 1.2), so Google's next retirement is a configuration
//! change: Imagen's was a rebuild.
//!
//! A generation is one synchronous exchange: `POST
//! /v1beta/models/{model}:generateContent` with the prompt (and the
//! reference image, inline) answers with the image inline (base64),
//! returned as a `bytes` artifact with its type and pixel size read from its
//! header. Nothing runs at Google after the answer, so there is nothing to
//! poll or cancel and no state between calls. The health check reads each
//! model's metadata (`GET /v1beta/models/{model}`), which costs nothing.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`]/[`Health`] glue;
//! - [`catalogue`]: the tiers, their options and prices, and the plan a
//!   request resolves to; pure and unit-tested;
//! - [`request`]: the `generateContent` body and the checked reference image;
//! - [`answer`]: the image (or the refusal) in a 200 answer;
//! - [`errors`]: Google's error answers mapped to failures;
//! - [`api`]: the two HTTP exchanges;
//! - [`health`]: the plugin's verdict from one check per offering.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod answer;
pub mod api;
pub mod catalogue;
pub mod errors;
pub mod health;
pub mod request;

/// The plugin's id, also the key of its operator configuration.
pub const ID: &str = "gemini-image";
/// The one secret: a Gemini API key from Google AI Studio (paid tier).
pub const API_KEY: &str = "api_key";

/// The Gemini image provider.
pub struct GeminiImage;

impl Provider for GeminiImage {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Google DeepMind".to_string(),
            offerings: catalogue::TIERS.iter().map(catalogue::offering).collect(),
            allowed_hosts: vec![api::API.to_string()],
            secrets: vec![API_KEY.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        Ok(Quote { credits: plan.credits(), estimated_seconds: plan.estimated_seconds() })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        let reference = request.input.image.as_ref().map(request::Reference::of).transpose()?;
        let key = require_secret(API_KEY)?;
        let model = model_id(plan.tier.offering, plan.tier.model);
        let images = api::generate(&key, &model, &plan, reference.as_ref())?;
        if images.len() > 1 {
            log(Level::Info, &format!("{model} returned {} images for one request; all are kept", images.len()));
        }
        Ok(Submitted::Done(images))
    }

    /// Never called: `submit` answers with the image, so no task exists.
    fn poll(_handle: String) -> Progress {
        Progress::Failed(failure::invalid_input("Gemini image generation is synchronous: there is no task to poll"))
    }

    /// Never needed: nothing runs at Google once `submit` has answered.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

impl Health for GeminiImage {
    fn check() -> Result<(), Failure> {
        health::check()
    }
}

export_plugin!(GeminiImage, health);
