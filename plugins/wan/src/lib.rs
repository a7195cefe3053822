//! The `wan` provider: Alibaba's Wan 2.2 through DashScope (Model Studio)
//! asynchronous video synthesis.
//!
//! The exchange (under `https://dashscope-intl.aliyuncs.com`, the Singapore
//! region; the key only works in the region that issued it, so operators
//! with a Beijing key set `plugins.wan.base_url =
//! "https://dashscope.aliyuncs.com"`, or their workspace endpoint):
//! 1. `submit`: `POST /api/v1/services/aigc/video-generation/video-synthesis`
//!    with `Authorization: Bearer <api_key>` and `X-DashScope-Async: enable`
//!    (DashScope refuses synchronous calls); the answer's `output.task_id`
//!    is the handle.
//! 2. `poll`: `GET /api/v1/tasks/{task_id}` every 5 s (see [`task`] for the
//!    statuses).
//! 3. On success `output.video_url` is a signed OSS link valid for 24 hours;
//!    the host downloads and re-hosts it at once.
//! 4. `cancel`: `POST /api/v1/tasks/{task_id}/cancel`. DashScope cancels
//!    queued (`PENDING`) tasks only, without charge (refund 100 %); a task
//!    that already started is refused and finishes and is billed, so we
//!    stop waiting and refund nothing.
//!
//! Decisions where the vendor notes were uncertain (details in README.md):
//! Singapore as the default region; prices from the China list at ¥7.1 per
//! US$; 1080P offered on `wan2.2-i2v-flash`; any 400/409 answer to a cancel
//! read as "already started" (refund 0 %); unknown task statuses treated as
//! running until the job's deadline.
//!
//! Layout:
//! - [`catalog`]: the `wan` and `wan-flash` offerings, their options,
//!   prices, models and combination rules;
//! - [`task`]: the request body, the task answer and its outcomes;
//! - [`errors`]: DashScope's error codes as failures.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod catalog;
pub mod errors;
pub mod task;

use catalog::Tier;
use task::{Handle, TaskAnswer};

/// The plugin's id, also the portal's provider id.
pub const ID: &str = "wan";
/// The vendor origin (first allowed host, rewritten onto `base_url`).
pub const API: &str = "https://dashscope-intl.aliyuncs.com";
/// The one secret: a DashScope API key (`sk-…`) of the region `API` points at.
pub const API_KEY: &str = "api_key";
/// DashScope's advice is to poll every 5 to 15 s; clips take 1 to 5 minutes.
const POLL_AFTER_MS: u32 = 5_000;

/// The Wan provider.
pub struct Wan;

impl Provider for Wan {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Alibaba Cloud (Tongyi Wanxiang)".to_string(),
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
        let mut body = task::body(tier, &request);
        let image = request.input.image.is_some();
        let mode = if image { "i2v" } else { "t2v" };
        body["model"] =
            doitong_plugin_sdk::serde_json::json!(model_id(&format!("{}.{mode}", tier.offering), tier.model(image)));
        let response = http::post(format!("{API}/api/v1/services/aigc/video-generation/video-synthesis"))
            .bearer(&key)
            .header("X-DashScope-Async", "enable")
            .json(&body)
            .send_with(errors::submit_failure)?;
        let created: TaskAnswer = http::decode_json(&response)?;
        if created.output.task_id.is_empty() {
            return Err(failure::provider_unavailable("Wan accepted the request but returned no task id"));
        }
        let handle = handle::encode(&Handle { task_id: created.output.task_id });
        Ok(Submitted::Running(Running { handle, percent: None, poll_after_ms: POLL_AFTER_MS }))
    }

    fn poll(task_handle: String) -> Progress {
        fetch_task(&task_handle)
            .map(|answer| task::progress(&task_handle, answer, POLL_AFTER_MS))
            .unwrap_or_else(Progress::Failed)
    }

    fn cancel(task_handle: String) -> Result<CancelOutcome, Failure> {
        let Handle { task_id } = handle::decode(&task_handle)?;
        let key = require_secret(API_KEY)?;
        let response = http::post(format!("{API}/api/v1/tasks/{task_id}/cancel")).bearer(&key).send_raw()?;
        cancel_outcome(&response)
    }
}

export_plugin!(Wan);

/// The request's tier, after the checks the host cannot make.
fn checked_tier(request: &JobRequest) -> Result<&'static Tier, Failure> {
    let tier = catalog::tier(&request.offering).ok_or_else(|| {
        failure::invalid_input(format!("offering `{}` is not served by the wan plugin", request.offering))
    })?;
    catalog::check_combination(tier, request.input.image.is_some(), Options::of(request))?;
    if let Some(image) = &request.input.image {
        catalog::check_image(image)?;
    }
    Ok(tier)
}

fn fetch_task(task_handle: &str) -> Result<TaskAnswer, Failure> {
    let Handle { task_id } = handle::decode(task_handle)?;
    let key = require_secret(API_KEY)?;
    let response = http::get(format!("{API}/api/v1/tasks/{task_id}")).bearer(&key).send_with(errors::http_failure)?;
    http::decode_json(&response)
}

/// What the answer to a cancel means: accepted → nothing billed; refused
/// as a request (the task already left the queue) → we stop waiting and the
/// clip is billed; anything else is an error and the job keeps running.
fn cancel_outcome(response: &http::Response) -> Result<CancelOutcome, Failure> {
    match response.status {
        200..=299 => Ok(CancelOutcome { refund_percent: 100 }),
        400 | 409 => {
            log(
                Level::Info,
                &format!(
                    "Wan refused to cancel a started task; it will be billed: {}",
                    http::error_text(&response.body)
                ),
            );
            Ok(CancelOutcome { refund_percent: 0 })
        }
        _ => Err(errors::http_failure(response)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_declares_both_offerings_and_the_secret() {
        let manifest = Wan::manifest();
        let ids: Vec<&str> = manifest.offerings.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["wan", "wan-flash"]);
        assert_eq!(
            (manifest.allowed_hosts.as_slice(), manifest.secrets.as_slice()),
            (&[API.to_string()][..], &[API_KEY.to_string()][..])
        );
    }

    #[test]
    fn cancel_answers_map_to_refunds() {
        let answer =
            |status: u16| http::Response { status, headers: vec![], body: br#"{"code":"x","message":"y"}"#.to_vec() };
        assert_eq!(cancel_outcome(&answer(200)).unwrap().refund_percent, 100);
        let unauthorized = cancel_outcome(&answer(401)).unwrap_err();
        assert_eq!(unauthorized.code, FailureCode::Unauthorized);
        assert!(cancel_outcome(&answer(503)).unwrap_err().retryable);
    }
}
