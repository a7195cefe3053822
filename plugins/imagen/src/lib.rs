//! The `imagen` provider: Google Imagen 4 through the Gemini API.
//!
//! It owns three offerings, one per Imagen 4 tier: `imagen` (Standard, the
//! portal's "Google Imagen 3" card and its default), `imagen-ultra` and
//! `imagen-fast` (the card's "Large" and "Fast/turbo" sub-models). Why
//! offerings rather than a `model` option: each tier has its own price,
//! quality rank and options (Fast has no 2K, Ultra makes one image), which
//! the host then validates and lists per tier, and automatic selection can
//! weigh them, as the `veo` plugin does for Veo's tiers.
//!
//! Why the Gemini API and not Vertex AI: one API key (`x-goog-api-key`),
//! the operator's `api_key` secret, instead of OAuth tokens and a project
//! and region in every path.
//!
//! A generation is one synchronous exchange: `POST
//! /v1beta/models/{model}:predict` answers with every image inline (base64),
//! returned to the host as `bytes` artifacts with their type and pixel size
//! read from each image's header. Nothing runs at Google after the answer,
//! so there is nothing to poll or cancel, and no state between calls.
//!
//! Google is retiring Imagen on the Gemini API during 2026 (the vendor notes
//! quote shutdown dates from June to August 2026); a retired model answers
//! 404, reported as `provider-unavailable` (final) with a hint. Decisions
//! where the vendor notes were uncertain are listed in README.md.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: the tiers, their options, prices and the combination
//!   rules `quote` enforces: pure and unit-tested;
//! - [`api`]: the request body, the images in the answer, Google's errors
//!   mapped to failures, and the one HTTP exchange.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id, also the portal's provider id.
pub const ID: &str = "imagen";
/// The one secret: a Gemini API key from Google AI Studio (paid tier).
pub const API_KEY: &str = "api_key";

/// The Imagen provider.
pub struct Imagen;

impl Provider for Imagen {
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
        let key = require_secret(API_KEY)?;
        let images = api::generate(&key, &plan)?;
        if images.len() < plan.count as usize {
            log(
                Level::Warn,
                &format!(
                    "{} returned {} of {} images: Google's safety filters withheld the rest",
                    plan.tier.model,
                    images.len(),
                    plan.count
                ),
            );
        }
        Ok(Submitted::Done(images))
    }

    /// Never called: `submit` answers with the images, so no task exists.
    fn poll(_handle: String) -> Progress {
        Progress::Failed(failure::invalid_input("Imagen generates synchronously: there is no task to poll"))
    }

    /// Never needed: nothing runs at Google once `submit` has answered.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

export_plugin!(Imagen);
