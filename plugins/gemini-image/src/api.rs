//! The two HTTP exchanges with the Gemini API: one `generateContent` per
//! generation, and the health check's `models.get`.
//!
//! Both send the key in `x-goog-api-key`, as Google's SDKs do; answers
//! other than 2xx become failures in [`errors`](crate::errors). Nothing else
//! here decides anything: the body is [`request`](crate::request)'s, the
//! reading of a 200 is [`answer`](crate::answer)'s.

use doitong_plugin_sdk::http;
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

use crate::answer::{self, Answer};
use crate::catalogue::Plan;
use crate::errors::http_failure;
use crate::request::{self, Reference};

/// The vendor origin: first in `allowed_hosts`, so operators can move it
/// with `base_url` (a Gemini-compatible gateway, or a mock).
pub const API: &str = "https://generativelanguage.googleapis.com";
/// The header Google's SDKs send the API key in.
pub const KEY_HEADER: &str = "x-goog-api-key";
/// Per-request timeout for a generation: Pro at 4K thinks before it draws
/// and can take over a minute (the host caps it with
/// `sandbox.http_timeout_secs`, 60 s by default).
const GENERATE_TIMEOUT_MS: u32 = 120_000;
/// Per-request timeout for the health check's metadata read.
const CHECK_TIMEOUT_MS: u32 = 10_000;

/// Generate `plan`'s image on `model`: one `generateContent` exchange.
pub fn generate(key: &str, model: &str, plan: &Plan, reference: Option<&Reference>) -> Result<Vec<Artifact>, Failure> {
    let url = format!("{API}/v1beta/models/{model}:generateContent");
    let response = http::post(url)
        .header(KEY_HEADER, key)
        .json(&request::body(plan, reference))
        .timeout_ms(GENERATE_TIMEOUT_MS)
        .send_with(|response| http_failure(response, model, plan.tier.offering))?;
    let answer: Answer = serde_json::from_slice(&response.body).map_err(|e| {
        failure::provider_unavailable(format!(
            "unexpected answer from the Gemini API ({e}): {}",
            http::error_text(&response.body)
        ))
    })?;
    answer::images(answer)
}

/// `models.get`'s answer, as far as the check reads it.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ModelInfo {
    supported_generation_methods: Option<Vec<String>>,
}

/// Whether Google serves `model` (behind `offering`) to this key: `GET
/// /v1beta/models/{model}`, no generation, no cost. A model that is listed
/// but no longer offers `generateContent` counts as unavailable.
pub fn check_model(key: &str, model: &str, offering: &str) -> Result<(), Failure> {
    let url = format!("{API}/v1beta/models/{model}");
    let response = http::get(url)
        .header(KEY_HEADER, key)
        .timeout_ms(CHECK_TIMEOUT_MS)
        .send_with(|response| http_failure(response, model, offering))?;
    let info: ModelInfo = serde_json::from_slice(&response.body).unwrap_or_default();
    match info.supported_generation_methods {
        Some(methods) if !methods.iter().any(|m| m == "generateContent") => Err(failure::model_unavailable(format!(
            "the Gemini API lists `{model}` (provider `{offering}`) without generateContent: {}",
            methods.join(", ")
        ))),
        _ => Ok(()),
    }
}
