//! The `kling` provider: Kuaishou's Kling video models through Kling's
//! API (the "legacy" `model_name` standard, with access-key/secret-key
//! JWT authentication).
//!
//! The exchange, all under the vendor origin [`API`] (operators move it
//! with `plugins.kling.base_url`, e.g. to `https://api-beijing.klingai.com`
//! in China or `https://api.klingai.com`, the older global host):
//! 1. `submit`: `POST /v1/videos/text2video`, or `/v1/videos/image2video`
//!    when the request has an image, with `Authorization: Bearer <jwt>`
//!    ([`auth`]); the answer's `data.task_id` goes into the handle with the
//!    endpoint, since a task is queried under the path it was created on.
//! 2. `poll`: `GET /v1/videos/{text2video|image2video}/{task_id}` every 5 s
//!    until `succeed` or `failed` ([`vendor`]); the video URL (on Kling's
//!    CDN, kept 30 days) becomes the artifact the host re-hosts.
//! 3. `cancel`: Kling has no cancel endpoint. We stop waiting and report a
//!    0 % refund, because Kling still finishes and bills the task.
//! 4. `check` (health): `GET /account/costs` (the resource packs, free).
//!
//! Idempotency: `submit` sends the generation id as `external_task_id`
//! (unique per Kling account). A retried submit whose first answer was
//! lost is refused by Kling as a duplicate id; the adapter then queries
//! the task by that `external_task_id` and carries on with it, so a retry
//! never creates a second task.
//!
//! Model ids: `model_name` is resolved through
//! [`doitong_plugin_sdk::model_id`]: `model.<offering>` replaces the
//! default model's id, `model.<offering>.<model option value>` any one's.
//!
//! Decisions where Kling's documentation is unclear (details in the
//! README): the default model is `kling-v2-5-turbo`; the 1.x and 2.0/2.1
//! models are no longer offered; `aspectRatio` is refused on
//! image-to-video; prices are Kling's per-second unit list at US$0.14 a
//! unit; a failed task is a
//! moderation refusal when its message speaks of risk control, sensitive
//! content or policy; HTTP 429 is retried only for codes 1302/1303.
//!
//! Layout:
//! - [`catalog`]: models, offerings (`kling`, `kling-animation`), options
//!   and price rules;
//! - [`plan`]: combination checks and the request body;
//! - [`auth`]: the HS256 JWT;
//! - [`vendor`]: Kling's envelope, error codes and task states.

#![deny(missing_docs)]

use std::time::{SystemTime, UNIX_EPOCH};

use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

pub mod auth;
pub mod catalog;
pub mod plan;
pub mod vendor;

use plan::{Endpoint, Plan};

/// The plugin's id, also the portal's provider id.
pub const ID: &str = "kling";
/// The vendor origin: Kling's current global API host. First in
/// `allowed_hosts`, so `base_url` rewrites it.
pub const API: &str = "https://api-singapore.klingai.com";

/// Everything `poll` and `cancel` need, stored by the host as the handle.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskRef {
    /// Kling's task id.
    pub id: String,
    /// The endpoint it was created on, hence queried on.
    pub endpoint: Endpoint,
}

/// The Kling provider.
pub struct Kling;

impl Provider for Kling {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Kuaishou (Kling AI)".to_string(),
            offerings: catalog::offerings(),
            allowed_hosts: vec![API.to_string()],
            secrets: vec![auth::ACCESS_KEY.to_string(), auth::SECRET_KEY.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = plan_for(&request)?;
        Ok(Quote { credits: plan.credits, estimated_seconds: plan.estimated_seconds })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let mut plan = plan_for(&request)?;
        plan.body["model_name"] = serde_json::json!(vendor_model(&request.offering, plan.model));
        let external_id = idempotency_token();
        if let Some(id) = &external_id {
            plan.body["external_task_id"] = serde_json::json!(id);
        }
        let response = http::post(format!("{API}{}", plan.endpoint.path()))
            .bearer(&auth::bearer_token()?)
            .json(&plan.body)
            .send_raw()?;
        let task = match (vendor::read_submit(&response)?, external_id) {
            (vendor::Submit::Created(task), _) => task,
            // A retry of a submit Kling accepted: carry on with that task.
            (vendor::Submit::Duplicate(_), Some(id)) => query(plan.endpoint, &id)?,
            (vendor::Submit::Duplicate(failure), None) => return Err(failure),
        };
        let handle = handle::encode(&TaskRef { id: task.task_id.clone(), endpoint: plan.endpoint });
        match vendor::progress(&handle, task) {
            Progress::Running(running) => Ok(Submitted::Running(running)),
            Progress::Done(artifacts) => Ok(Submitted::Done(artifacts)),
            Progress::Failed(failure) => Err(failure),
            Progress::Cancelled => Err(failure::generation_failed("Kling cancelled the task on creation")),
        }
    }

    fn poll(handle: String) -> Progress {
        poll_task(&handle).unwrap_or_else(Progress::Failed)
    }

    fn cancel(handle: String) -> Result<CancelOutcome, Failure> {
        // Kling has no cancel endpoint: the task runs on and is billed.
        handle::decode::<TaskRef>(&handle)?;
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

impl Health for Kling {
    /// `GET /account/costs` for the last day: the account's resource
    /// packs. Free (Kling asks for at most one call a second) and
    /// authenticated with the same token as every call.
    fn check() -> Result<(), Failure> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let url = format!("{API}/account/costs?start_time={}&end_time={now_ms}", now_ms.saturating_sub(DAY_MS));
        let response = http::get(url).bearer(&auth::bearer_token()?).send_raw()?;
        vendor::read::<serde_json::Value>(&response).map(|_| ())
    }
}

export_plugin!(Kling, health);

/// One day in milliseconds: the window the health check asks about.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// The `model_name` sent for `model` on `offering`: the operator's
/// `model.<offering>.<model>` setting, else (for the default model)
/// `model.<offering>`, else the built-in id.
fn vendor_model(offering: &str, model: &str) -> String {
    let specific = format!("{offering}.{model}");
    if model == catalog::DEFAULT_MODEL && setting(&format!("model.{specific}")).is_none() {
        model_id(offering, model)
    } else {
        model_id(&specific, model)
    }
}

/// `GET /v1/videos/{endpoint}/{id}`: the task by Kling's `task_id` or by
/// our `external_task_id` (Kling takes either in the path).
fn query(endpoint: Endpoint, id: &str) -> Result<vendor::Task, Failure> {
    let response = http::get(format!("{API}{}/{id}", endpoint.path())).bearer(&auth::bearer_token()?).send_raw()?;
    vendor::read(&response)
}

/// The plan for `request`, priced by its offering's rules.
fn plan_for(request: &JobRequest) -> Result<Plan, Failure> {
    let offering = catalog::offerings()
        .into_iter()
        .find(|o| o.id == request.offering)
        .ok_or_else(|| failure::invalid_input(format!("plugin `{ID}` has no offering `{}`", request.offering)))?;
    Plan::new(request, &offering)
}

fn poll_task(handle: &str) -> Result<Progress, Failure> {
    let task_ref: TaskRef = handle::decode(handle)?;
    let task = query(task_ref.endpoint, &task_ref.id)?;
    Ok(vendor::progress(handle, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_declares_both_keys_and_the_vendor_origin() {
        let manifest = Kling::manifest();
        assert_eq!(manifest.id, "kling");
        assert_eq!(manifest.allowed_hosts, ["https://api-singapore.klingai.com"]);
        assert_eq!(manifest.secrets, ["access_key", "secret_key"]);
        let ids: Vec<&str> = manifest.offerings.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["kling", "kling-animation"]);
    }

    #[test]
    fn handles_round_trip() {
        let handle = handle::encode(&TaskRef { id: "862".into(), endpoint: Endpoint::Image2video });
        assert_eq!(handle, r#"{"id":"862","endpoint":"image2video"}"#);
        let back: TaskRef = handle::decode(&handle).unwrap();
        assert_eq!((back.id.as_str(), back.endpoint), ("862", Endpoint::Image2video));
    }

    #[test]
    fn quotes_price_the_request() {
        let request = JobRequest {
            offering: "kling".into(),
            kind: MediaKind::Video,
            input: JobInput { text: Some("x".into()), image: None, audio: None, video: None, voice: None },
            options: vec![
                ("model".into(), Value::Text("kling-v3".into())),
                ("mode".into(), Value::Text("pro".into())),
                ("duration".into(), Value::Integer(10)),
                ("sound".into(), Value::Flag(false)),
            ],
        };
        let quote = Kling::quote(request).unwrap();
        assert_eq!((quote.credits, quote.estimated_seconds), (112, 360));
    }
}
