//! The `vidu` provider: ShengShu's Vidu models through the Vidu API
//! (platform.vidu.com).
//!
//! The exchange, all under the vendor origin [`API`] (operators in China
//! set `plugins.vidu.base_url = "https://api.vidu.cn"`), every call with
//! `Authorization: Token <api_key>` (the literal word `Token`, not
//! `Bearer`):
//! 1. `submit`: `POST /ent/v2/text2video`, or `/ent/v2/img2video` when the
//!    request has an image; the answer's `task_id` is the handle.
//! 2. `poll`: `GET /ent/v2/tasks/{id}/creations` every 5 s until `success`
//!    or `failed` ([`vendor`]); `creations[0].url` (a signed URL valid for
//!    an hour or so) becomes the artifact the host downloads at once.
//! 3. `cancel`: `POST /ent/v2/tasks/{id}/cancel`. Vidu cancels only tasks
//!    not yet scheduled and charges nothing for them (100 % refund); for a
//!    task already running it answers 400, which `cancelGeneration`
//!    returns, and the job carries on.
//!
//! Decisions where Vidu's documentation is unclear (details in the
//! README): the models are Q3 Turbo (the default), Q3 Pro, Q1, 2.0 and
//! 1.5, whose limits and prices could be pinned down; `duration` and
//! `resolution` default per model; options a model ignores are refused;
//! Q3 Turbo is priced from resellers' at-cost figures; a cancelled task's
//! `failed`/`UserCancelled` reads as cancelled.
//!
//! Layout:
//! - [`catalog`]: the models, the `vidu` offering and its prices;
//! - [`plan`]: per-model checks, defaults and the request body;
//! - [`vendor`]: Vidu's tasks, states and error reasons.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::json;
use serde::{Deserialize, Serialize};

pub mod catalog;
pub mod plan;
pub mod vendor;

use plan::Plan;

/// The plugin's id, also the portal's provider id.
pub const ID: &str = "vidu";
/// The vendor origin (global). First in `allowed_hosts`, so `base_url`
/// rewrites it.
pub const API: &str = "https://api.vidu.com";
/// The one secret: the API key from Vidu's dashboard.
pub const API_KEY: &str = "api_key";

/// Everything `poll` and `cancel` need, stored by the host as the handle.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskRef {
    /// Vidu's task id.
    pub id: String,
}

/// The Vidu provider.
pub struct Vidu;

impl Provider for Vidu {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "ShengShu (Vidu)".to_string(),
            offerings: vec![catalog::offering()],
            allowed_hosts: vec![API.to_string()],
            secrets: vec![API_KEY.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = Plan::new(&request)?;
        Ok(Quote { credits: plan.clip.credits, estimated_seconds: plan.estimated_seconds })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let mut plan = Plan::new(&request)?;
        let model = vendor_model(plan.body["model"].as_str().unwrap_or(catalog::DEFAULT_MODEL));
        plan.body["model"] = json!(model);
        let response = http::post(format!("{API}{}", plan.endpoint.path()))
            .header("Authorization", authorization()?)
            .json(&plan.body)
            .send_raw()?;
        let created: vendor::Created = vendor::read(&response)?;
        if created.state == "failed" {
            return Err(vendor::task_failure(&created.task_id, &created.err_code));
        }
        let handle = handle::encode(&TaskRef { id: created.task_id });
        Ok(Submitted::Running(Running { handle, percent: None, poll_after_ms: vendor::POLL_AFTER_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_task(&handle).unwrap_or_else(Progress::Failed)
    }

    fn cancel(handle: String) -> Result<CancelOutcome, Failure> {
        let task: TaskRef = handle::decode(&handle)?;
        http::post(format!("{API}/ent/v2/tasks/{}/cancel", task.id))
            .header("Authorization", authorization()?)
            .json(&json!({ "id": task.id }))
            .send_with(vendor::error_failure)?;
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

impl Health for Vidu {
    /// `GET /ent/v2/credits`: the account's remaining credits (free,
    /// authenticated with the same `Token` header).
    fn check() -> Result<(), Failure> {
        http::get(format!("{API}/ent/v2/credits"))
            .header("Authorization", authorization()?)
            .send_with(vendor::error_failure)
            .map(|_| ())
    }
}

export_plugin!(Vidu, health);

/// The `model` sent for the `model` option value `name`: the operator's
/// `model.vidu.<name>` setting, else (for the default model) `model.vidu`,
/// else `name`.
fn vendor_model(name: &str) -> String {
    let specific = format!("{ID}.{name}");
    if name == catalog::DEFAULT_MODEL && setting(&format!("model.{specific}")).is_none() {
        model_id(ID, name)
    } else {
        model_id(&specific, name)
    }
}

/// `Token <api_key>`, or `unauthorized` naming the missing secret.
fn authorization() -> Result<String, Failure> {
    Ok(format!("Token {}", require_secret(API_KEY)?))
}

fn poll_task(handle: &str) -> Result<Progress, Failure> {
    let task_ref: TaskRef = handle::decode(handle)?;
    let response = http::get(format!("{API}/ent/v2/tasks/{}/creations", task_ref.id))
        .header("Authorization", authorization()?)
        .send_raw()?;
    let task: vendor::Task = vendor::read(&response)?;
    Ok(vendor::progress(handle, &task_ref.id, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_declares_the_key_and_the_vendor_origin() {
        let manifest = Vidu::manifest();
        assert_eq!(
            (manifest.id.as_str(), manifest.allowed_hosts.as_slice()),
            ("vidu", &["https://api.vidu.com".to_string()][..])
        );
        assert_eq!(manifest.secrets, ["api_key"]);
        assert_eq!(manifest.offerings.len(), 1);
    }

    #[test]
    fn quotes_follow_the_clip() {
        let request = JobRequest {
            offering: "vidu".into(),
            kind: MediaKind::Video,
            input: JobInput { text: Some("x".into()), image: None, audio: None, video: None, voice: None },
            options: vec![
                ("model".into(), Value::Text("viduq3-pro".into())),
                ("duration".into(), Value::Integer(8)),
                ("resolution".into(), Value::Text("1080p".into())),
            ],
        };
        let quote = Vidu::quote(request).unwrap();
        assert_eq!((quote.credits, quote.estimated_seconds), (128, 150));
    }

    #[test]
    fn handles_round_trip() {
        let handle = handle::encode(&TaskRef { id: "812".into() });
        assert_eq!(handle, r#"{"id":"812"}"#);
        assert_eq!(handle::decode::<TaskRef>(&handle).unwrap().id, "812");
    }
}
