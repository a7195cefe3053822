//! The `veo` provider: Google Veo 3.1 through the Gemini API.
//!
//! Why the Gemini API and not Vertex AI: the Gemini API authenticates with
//! one API key (`x-goog-api-key`), which is what an operator configures as
//! the `api_key` secret; Vertex AI needs short-lived OAuth tokens from a
//! service account and a project and region in every path. Operators who
//! route through a Gemini-compatible gateway point `plugins.veo.base_url`
//! at it.
//!
//! The exchange (all under `https://generativelanguage.googleapis.com`):
//! 1. `submit`: `POST /v1beta/models/{model}:predictLongRunning` with the
//!    key header; the answer is an operation `{"name": …}`, kept as the handle.
//! 2. `poll`: `GET /v1beta/{name}` until `done` (see [`operation`]), every
//!    10 s as Google recommends.
//! 3. On success, the clip's URI is fetched with the key; a redirect's
//!    target (or the bytes themselves) becomes the artifact the host
//!    re-hosts before Google deletes the file (2 days).
//! 4. `cancel`: Google has no cancel for Veo operations, so we only stop
//!    waiting and refund nothing (Google still bills the clip).
//! 5. `check` (health): `GET /v1beta/models/{model}` for each offering's
//!    model, free and authenticated; fails when Google serves none of them.
//!
//! Every model id goes through [`doitong_plugin_sdk::model_id`]: the
//! operator's setting `model.<offering>` replaces the built-in id. A
//! `NOT_FOUND` for the model (retired, unknown) is `model-unavailable`.
//! `predictLongRunning` takes no idempotency key or client reference, so
//! none is sent.
//!
//! Decisions where the vendor notes were uncertain (details in README.md):
//! the Veo 3.1 GA model ids (the preview ids were shut down 2026-10-22); 1080p and 4k as 8-second clips on `veo`
//! and `veo-fast` but not `veo-lite`; Google's April–May 2026 per-second
//! prices; PNG and JPEG first frames recognised from their bytes;
//! `personGeneration` left to Veo's per-mode default; safety blocks mapped
//! only where documented (`raiMediaFilteredCount`).
//!
//! Layout:
//! - [`catalog`]: the three offerings (`veo`, `veo-fast`, `veo-lite`), their
//!   options, prices and combination rules;
//! - [`request`]: the request body;
//! - [`operation`]: the operation, its outcomes and the clip download;
//! - [`errors`]: Google's errors as failures.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod catalog;
pub mod errors;
pub mod operation;
pub mod request;

use catalog::Tier;
use operation::{Handle, Operation, Outcome};

/// The plugin's id, also the portal's provider id.
pub const ID: &str = "veo";
/// The vendor origin (first allowed host, rewritten onto `base_url`).
pub const API: &str = "https://generativelanguage.googleapis.com";
/// The one secret: a Gemini API key from Google AI Studio (paid tier).
pub const API_KEY: &str = "api_key";
/// The header Google's SDKs send the key in.
const KEY_HEADER: &str = "x-goog-api-key";
/// Google recommends polling Veo operations every 10 s.
const POLL_AFTER_MS: u32 = 10_000;

/// The Veo provider.
pub struct Veo;

impl Provider for Veo {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Google DeepMind".to_string(),
            offerings: catalog::TIERS.iter().map(catalog::offering).collect(),
            allowed_hosts: vec![API.to_string()],
            secrets: vec![API_KEY.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let tier = checked_tier(&request)?;
        let offering = catalog::offering(tier);
        Ok(Quote { credits: spec::price(&offering, &request.options), estimated_seconds: offering.estimated_seconds })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let tier = checked_tier(&request)?;
        let key = require_secret(API_KEY)?;
        let body = request::body(&request)?;
        let url = format!("{API}/v1beta/models/{}:predictLongRunning", model(tier));
        let request = http::post(url).json(&body).header(KEY_HEADER, &key);
        let started: Operation = http::decode_json(&request.send_with(errors::model_failure)?)?;
        if started.name.is_empty() {
            return Err(failure::provider_unavailable("Veo accepted the request but named no operation"));
        }
        let handle = handle::encode(&Handle { operation: started.name });
        Ok(Submitted::Running(Running { handle, percent: None, poll_after_ms: POLL_AFTER_MS }))
    }

    fn poll(task_handle: String) -> Progress {
        poll(&task_handle).unwrap_or_else(Progress::Failed)
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        // No cancel exists for Veo operations: stop waiting, Google bills the clip.
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

impl Health for Veo {
    /// `GET /v1beta/models/{model}` (models.get: free, no generation) for
    /// each offering's model. Fails with the first failure that is not a
    /// missing model (a refused key, an outage), or `model-unavailable`
    /// when Google serves none of the models; one missing model is left
    /// to `submit`, whose `model-unavailable` holds back that offering only.
    fn check() -> Result<(), Failure> {
        let key = require_secret(API_KEY)?;
        let mut missing = Vec::new();
        for tier in catalog::TIERS {
            let model = model(tier);
            let answer = http::get(format!("{API}/v1beta/models/{model}"))
                .header(KEY_HEADER, &key)
                .send_with(errors::model_failure);
            match answer {
                Ok(_) => {}
                Err(failure) if failure.code == FailureCode::ModelUnavailable => missing.push(failure),
                Err(failure) => return Err(failure),
            }
        }
        if missing.len() == catalog::TIERS.len() {
            return Err(missing.remove(0));
        }
        for failure in &missing {
            log(Level::Warn, &failure.message);
        }
        Ok(())
    }
}

export_plugin!(Veo, health);

/// The model id `tier` sends: the operator's `model.<offering>` setting or
/// the built-in id.
fn model(tier: &Tier) -> String {
    model_id(tier.offering, tier.model)
}

/// The request's tier, after the checks the host cannot make.
fn checked_tier(request: &JobRequest) -> Result<&'static Tier, Failure> {
    let tier = catalog::tier(&request.offering).ok_or_else(|| {
        failure::invalid_input(format!("offering `{}` is not served by the veo plugin", request.offering))
    })?;
    catalog::check_combination(tier, Options::of(request))?;
    if let Some(image) = &request.input.image {
        request::check_image(image)?;
    }
    Ok(tier)
}

fn poll(task_handle: &str) -> Result<Progress, Failure> {
    let Handle { operation } = handle::decode(task_handle)?;
    let key = require_secret(API_KEY)?;
    let response = send(http::get(format!("{API}/v1beta/{operation}")), &key)?;
    Ok(match operation::outcome(http::decode_json(&response)?) {
        Outcome::Running => {
            Progress::Running(Running { handle: task_handle.to_string(), percent: None, poll_after_ms: POLL_AFTER_MS })
        }
        Outcome::Inline(artifact) => Progress::Done(vec![artifact]),
        Outcome::Fetch(uri) => Progress::Done(vec![fetch_clip(&uri, &key)?]),
        Outcome::Failed(failure) => Progress::Failed(failure),
    })
}

/// Send `request` with the key; a non-2xx answer becomes the failure
/// Google's error means.
fn send(request: http::Request, key: &str) -> Result<http::Response, Failure> {
    request.header(KEY_HEADER, key).send_with(errors::http_failure)
}

/// The clip behind `uri`: fetched with the key when it is on Google's API,
/// else handed to the host as it is.
fn fetch_clip(uri: &str, key: &str) -> Result<Artifact, Failure> {
    if !uri.starts_with(&format!("{API}/")) {
        return Ok(Artifact::from_url(uri, operation::VIDEO_MP4));
    }
    operation::download_artifact(http::get(uri).header(KEY_HEADER, key).send_raw()?)
}
