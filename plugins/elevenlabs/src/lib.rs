//! The `elevenlabs` provider: ElevenLabs text-to-speech through its HTTP
//! API (`https://api.elevenlabs.io`, `POST /v1/text-to-speech/{voice_id}`).
//!
//! It owns one offering, `elevenlabs` (the portal's provider id), whose
//! `model` option picks among Multilingual v2 (the default), Eleven v3 and
//! the Flash/Turbo models. Voices are named (`rachel`, `george`, … mapped
//! to ElevenLabs' voice ids) or given as raw voice ids, in `options.voice`
//! or `input.voice`; the portal's `emotion` is a delivery preset over
//! ElevenLabs' voice settings. ElevenLabs answers synchronously with the
//! audio, so `submit` returns it at once as bytes (MP3 as it came, PCM
//! wrapped in a WAV header), with its duration read from the file; there
//! is nothing to poll or cancel.
//!
//! Model ids go through the operator's settings (`model.elevenlabs` for
//! the default model, `model.elevenlabs.<name>` for the others), so a
//! retirement is a configuration change.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: models, voices, emotion presets, formats, the option
//!   specs, per-character prices and the combination rules: pure and
//!   unit-tested;
//! - [`api`]: ElevenLabs' wire format, its error codes mapped to failures,
//!   the HTTP exchange and the artifact made of its answer (PCM wrapped
//!   and durations read by the SDK's `audio` module).
//!
//! Decisions where the vendor notes were uncertain (prices, emotion,
//! voices, error codes) are listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id and its offering's: the portal's provider id.
pub const ID: &str = "elevenlabs";
/// The one secret: an ElevenLabs API key (`xi-api-key`).
pub const SECRET: &str = "api_key";

/// The ElevenLabs provider.
pub struct ElevenLabs;

impl Provider for ElevenLabs {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "ElevenLabs".to_string(),
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
        let text = request.input.text.as_deref().unwrap_or_default();
        Ok(Submitted::Done(vec![api::synthesize(&key, &plan, text)?]))
    }

    /// Never called: `submit` finishes every generation.
    fn poll(_handle: String) -> Progress {
        Progress::Failed(failure::invalid_input("ElevenLabs speech is synchronous: there is no task to poll"))
    }

    /// Nothing runs after `submit`, so nothing is left to stop or refund.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /v1/models` (free): the key works and the default
/// model, as the operator's settings resolve it, is still listed.
impl Health for ElevenLabs {
    fn check() -> Result<(), Failure> {
        let key = require_secret(SECRET)?;
        api::check(&key, &catalogue::Model::DEFAULT.resolved_id())
    }
}

export_plugin!(ElevenLabs, health);
