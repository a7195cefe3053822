//! The `google-tts` provider: Google Cloud Text-to-Speech through its REST
//! API v1 (`https://texttospeech.googleapis.com`, `POST /v1/text:synthesize`).
//!
//! It owns one offering, `google-tts` (the portal's "Google TTS"): any of
//! Google's voices by name (`en-US-Neural2-F`, `en-US-Wavenet-D`,
//! `en-US-Chirp3-HD-Kore`, …, in `options.voice` or `input.voice`), or a
//! language and gender for Google to choose from; speaking rate, pitch,
//! volume, SSML input, and MP3, WAV (LINEAR16, μ-law, A-law) or Ogg Opus
//! output. Google answers synchronously with the whole file in base64, so
//! `submit` returns it at once as bytes, with its duration read from the
//! file; there is nothing to poll or cancel. The price depends on the voice
//! family named in the voice.
//!
//! The default voice (Google's closest thing to a model id) goes through
//! the operator's `model.google-tts` setting, so a retired voice is a
//! configuration change; the health check reads `GET /v1/voices`.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: voice names and families, prices, encodings, the option
//!   specs and the combination rules: pure and unit-tested;
//! - [`api`]: Google's wire format, its error envelope mapped to failures,
//!   the HTTP exchange and the artifact made of its answer (durations read
//!   by the SDK's `audio` module).
//!
//! Decisions where the vendor notes were uncertain (prices, auth, which
//! voice Google picks) are listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id and its offering's: the portal's provider id.
pub const ID: &str = "google-tts";
/// The one secret: a Google Cloud API key with the Text-to-Speech API enabled.
pub const SECRET: &str = "api_key";

/// The Google Cloud Text-to-Speech provider.
pub struct GoogleTts;

impl Provider for GoogleTts {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Google Cloud".to_string(),
            offerings: vec![catalogue::offering()],
            allowed_hosts: vec![api::API.to_string()],
            secrets: vec![SECRET.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = catalogue::Plan::of(&request)?.with_default_voice(&default_voice())?;
        Ok(Quote { credits: plan.credits(), estimated_seconds: plan.estimated_seconds() })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        let default = plan.uses_default_voice();
        let plan = plan.with_default_voice(&default_voice())?;
        let key = require_secret(SECRET)?;
        let text = request.input.text.as_deref().unwrap_or_default();
        Ok(Submitted::Done(vec![api::synthesize(&key, &plan, text, default)?]))
    }

    /// Never called: `submit` finishes every generation.
    fn poll(_handle: String) -> Progress {
        Progress::Failed(failure::invalid_input("Google Text-to-Speech is synchronous: there is no task to poll"))
    }

    /// Nothing runs after `submit`, so nothing is left to stop or refund.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /v1/voices?languageCode=…` (synthesises nothing): the
/// key works and the default voice is still listed.
impl Health for GoogleTts {
    fn check() -> Result<(), Failure> {
        let key = require_secret(SECRET)?;
        let voice = default_voice();
        let language = catalogue::Voice::parse(&voice).map_or_else(|| "en-US".to_string(), |v| v.language_code);
        api::check(&key, &voice, &language)
    }
}

export_plugin!(GoogleTts, health);

/// The default voice: the operator's `model.google-tts` setting, else
/// [`catalogue::DEFAULT_VOICE`].
fn default_voice() -> String {
    model_id(ID, catalogue::DEFAULT_VOICE)
}
