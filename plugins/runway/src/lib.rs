//! The `runway` provider: Runway's developer API (`api.dev.runwayml.com`)
//! for text-to-video and image animation.
//!
//! One offering, `runway`, whose `model` option picks the Runway model
//! (`gen-4.5` → `gen4.5`, `gen-4` → `gen4_turbo`; see [`model`] for what
//! each accepts; `gen-3` → `gen3a_turbo` was removed from Runway's schema
//! on 2026-06-10 and is no longer offered). Every Runway model id goes
//! through [`doitong_plugin_sdk::model_id`]: the operator's setting
//! `model.runway` replaces the default model's id, `model.runway.<value>`
//! (e.g. `model.runway.gen-4`) a given option value's. Every request carries
//! `Authorization: Bearer <api_key>` and `X-Runway-Version: 2024-11-06`,
//! which Runway requires on every call.
//!
//! | Export   | Runway call                                                    |
//! |----------|----------------------------------------------------------------|
//! | `quote`  | none: [`model::plan`] checks the combination, price per second |
//! | `submit` | `POST /v1/text_to_video` or `POST /v1/image_to_video` → `{id}` |
//! | `poll`   | `GET /v1/tasks/{id}`, mapped by [`task::progress`]             |
//! | `cancel` | `DELETE /v1/tasks/{id}`                                        |
//! | `check`  | `GET /v1/organization` (credit balance and tier; free)         |
//!
//! A 400 whose validation issues point at `model` (Runway's answer for a
//! model it no longer has) is `model-unavailable`; 429s carry
//! `Retry-After`. Runway documents no idempotency key (its SDK sends
//! none), so none is sent.
//! Decisions where Runway's documentation is silent or the portal asks for
//! more than Runway has (also in the README):
//! - `motionIntensity` is not an option: Runway's API has no motion control
//!   for these models, so the host refuses it with `INVALID_INPUT` listing
//!   the options we do have rather than silently ignoring it.
//! - Cancelling refunds nothing ([`CANCEL_REFUND_PERCENT`]): Runway does not
//!   document refunding the credits of a cancelled task.
//! - A task that is gone (`404` on poll, after someone deleted it) fails the
//!   generation instead of being retried.
//!
//! Layout: this file holds the manifest and the HTTP glue; [`model`] the
//! option rules and request bodies; [`task`] the handle and the status
//! mapping. Both are pure and unit-tested natively.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod model;
pub mod task;

use model::{ASPECT_RATIOS, DEFAULT_ASPECT_RATIO, DEFAULT_DURATION_S, DURATION_RANGE_S, Model};
use task::{Created, Handle, Task};

/// The plugin id, and its one offering's id (the portal's provider id).
pub const ID: &str = "runway";
/// The vendor origin (first allowed host, so operators can move it).
pub const API: &str = "https://api.dev.runwayml.com";
/// The `X-Runway-Version` Runway requires on every request.
pub const API_VERSION: &str = "2024-11-06";
/// Share of the quote refunded on cancel: Runway documents no refund for
/// cancelled tasks, so we assume it charges them.
pub const CANCEL_REFUND_PERCENT: u8 = 0;

/// The Runway provider.
pub struct Runway;

impl Provider for Runway {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Runway".to_string(),
            offerings: vec![offering()],
            allowed_hosts: vec![API.to_string()],
            secrets: vec!["api_key".to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = model::plan(&request)?;
        Ok(Quote { credits: plan.credits(), estimated_seconds: plan.model.estimated_seconds() })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let key = require_secret("api_key")?;
        let plan = model::plan(&request)?;
        let url = format!("{API}{}", plan.endpoint().path());
        let body = plan.body(&vendor_model(plan.model));
        let response = authorized(http::post(url), &key).json(&body).send_with(submit_failure)?;
        let created: Created = http::decode_json(&response)?;
        let handle =
            Handle { id: created.id, width: plan.size.0, height: plan.size.1, duration_ms: plan.duration_s * 1000 };
        Ok(Submitted::Running(Running {
            handle: handle::encode(&handle),
            percent: Some(0),
            poll_after_ms: task::POLL_AFTER_MS,
        }))
    }

    fn poll(encoded: String) -> Progress {
        match fetch_task(&encoded) {
            Ok(progress) => progress,
            Err(failure) => Progress::Failed(failure),
        }
    }

    fn cancel(encoded: String) -> Result<CancelOutcome, Failure> {
        let handle: Handle = handle::decode(&encoded)?;
        let key = require_secret("api_key")?;
        let response = authorized(http::delete(task_url(&handle.id)), &key).header("Accept", "*/*").send_raw()?;
        // 404: the task is already gone at Runway; there is nothing left to stop.
        if response.status != 404 {
            http::check_status(&response)?;
        }
        Ok(CancelOutcome { refund_percent: CANCEL_REFUND_PERCENT })
    }
}

impl Health for Runway {
    /// `GET /v1/organization`: the account's credit balance and tier,
    /// authenticated and free.
    fn check() -> Result<(), Failure> {
        let key = require_secret("api_key")?;
        authorized(http::get(format!("{API}/v1/organization")), &key).send().map(|_| ())
    }
}

export_plugin!(Runway, health);

/// The Runway model id for `model`: `model.runway.<option value>` when the
/// operator set it, else (for the default model) `model.runway`, else the
/// built-in id.
fn vendor_model(model: Model) -> String {
    let specific = format!("{ID}.{}", model.option_value());
    if model == Model::DEFAULT && setting(&format!("model.{specific}")).is_none() {
        model_id(ID, model.api_name())
    } else {
        model_id(&specific, model.api_name())
    }
}

/// A refused submit: Runway's validation 400 naming `model` means the model
/// is gone (or never existed), which is `model-unavailable`; anything else
/// as the SDK maps it (429 with `Retry-After`).
pub fn submit_failure(response: &http::Response) -> Failure {
    if response.status == 400 && names_the_model(&response.body) {
        return failure::model_unavailable(format!(
            "Runway no longer accepts this model (set `model.runway` in [plugins.runway] settings): {}",
            http::error_text(&response.body)
        ));
    }
    http::status_failure(response)
}

/// Whether a validation error's `issues` point at the `model` field.
fn names_the_model(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else { return false };
    json["issues"].as_array().is_some_and(|issues| {
        issues.iter().any(|issue| {
            issue["path"].as_array().and_then(|p| p.first()).and_then(|p| p.as_str()) == Some("model")
                || issue["discriminator"].as_str() == Some("model")
        })
    })
}

/// The `runway` offering.
pub fn offering() -> Offering {
    let default = Model::DEFAULT;
    let models: Vec<&str> = Model::ALL.iter().map(|m| m.option_value()).collect();
    let mut builder = OfferingBuilder::new(ID, "Runway Gen-4.5 / Gen-4", &[MediaKind::Video])
        .description(
            "Runway's video models: Gen-4.5 turns text or an image into video; Gen-4 Turbo animates an \
             image. Cinematic motion, 2 to 10 second clips.",
        )
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[])
        .features(&["text-to-video (gen-4.5)", "image-to-video", "cinematic motion", "seed"])
        .limitations(&[
            "gen-4 needs input.image; gen-4.5 needs input.text",
            "gen-4.5 text-to-video: aspectRatio 16:9 or 9:16",
            "no resolution choice (720p-class output) and no motion intensity control",
            "prompts up to 1000 UTF-16 code units; inline (data:) images up to 5 MB encoded",
            "cancelling is not refunded: Runway documents no refund for cancelled tasks",
        ])
        .option(
            OptionBuilder::text("model", "Runway model: gen-4.5 (gen4.5), gen-4 (gen4_turbo)")
                .allowed(&models)
                .default_text(default.option_value()),
        )
        .option(
            OptionBuilder::integer("duration", "Seconds of video: 2 to 10")
                .range(DURATION_RANGE_S.0 as f64, DURATION_RANGE_S.1 as f64)
                .default_integer(DEFAULT_DURATION_S),
        )
        .option(
            OptionBuilder::text("aspectRatio", "Width:height; sent as Runway's pixel ratio (16:9 is 1280:720)")
                .allowed(ASPECT_RATIOS)
                .default_text(DEFAULT_ASPECT_RATIO),
        )
        .option(
            OptionBuilder::integer("seed", "Same seed and inputs give similar results").range(0.0, 4_294_967_295.0),
        );
    for model in Model::ALL {
        builder =
            builder.price(&[("model", Value::Text(model.option_value().into()))], model.credits_per_second(), true);
    }
    builder
        .quality(85)
        .credits(default.credits_per_second() * DEFAULT_DURATION_S as u32)
        .estimated_seconds(default.estimated_seconds())
        .build()
}

/// Runway's authentication and version headers.
fn authorized(request: http::Request, key: &str) -> http::Request {
    request.bearer(key).header("X-Runway-Version", API_VERSION)
}

fn task_url(id: &str) -> String {
    format!("{API}/v1/tasks/{id}")
}

/// `GET /v1/tasks/{id}` and what it means; transport and HTTP failures come
/// back as `Err` (retryable ones are polled again by the host).
fn fetch_task(encoded: &str) -> Result<Progress, Failure> {
    let handle: Handle = handle::decode(encoded)?;
    let key = require_secret("api_key")?;
    let response = authorized(http::get(task_url(&handle.id)), &key).send_with(|response| match response.status {
        404 => failure::generation_failed(format!(
            "Runway no longer has task {} (it was cancelled or deleted): {}",
            handle.id,
            http::error_text(&response.body)
        )),
        _ => http::status_failure(response),
    })?;
    let task: Task = http::decode_json(&response)?;
    Ok(task::progress(&task, &handle, encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: ID.into(),
            kind: MediaKind::Video,
            input: JobInput { text: Some("a fox".into()), image: None, audio: None, video: None, voice: None },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn manifest_declares_the_portal_id_origin_and_secret() {
        let manifest = Runway::manifest();
        assert_eq!((manifest.id.as_str(), manifest.vendor.as_str()), ("runway", "Runway"));
        assert_eq!((manifest.allowed_hosts, manifest.secrets), (vec![API.to_string()], vec!["api_key".to_string()]));
        let [offering] = &manifest.offerings[..] else { panic!("one offering") };
        let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["model", "duration", "aspectRatio", "seed"]);
        assert_eq!((offering.base_credits, offering.quality, offering.estimated_seconds), (60, 85, 120));
        assert!(offering.requires.is_empty());
    }

    #[test]
    fn prices_are_runways_credits_per_second() {
        let offering = offering();
        let price = |model: &str, seconds: i64| {
            spec::price(
                &offering,
                &request(&[("model", Value::Text(model.into())), ("duration", Value::Integer(seconds))]).options,
            )
        };
        assert_eq!((price("gen-4.5", 5), price("gen-4.5", 10), price("gen-4", 2)), (60, 120, 10));
        let allowed = &offering.options[0].allowed_values;
        assert_eq!(allowed.len(), 2, "gen-3 is no longer offered: {allowed:?}");
        let quote =
            Runway::quote(request(&[("model", Value::Text("gen-4.5".into())), ("duration", Value::Integer(8))]));
        assert_eq!(quote.unwrap(), Quote { credits: 96, estimated_seconds: 120 });
    }

    #[test]
    fn a_validation_error_on_model_is_model_unavailable() {
        let response = |status: u16, body: &str| http::Response { status, headers: vec![], body: body.into() };
        let unknown = response(
            400,
            r#"{"error":"Validation of body failed","issues":[{"code":"invalid_union","errors":[],"note":"No matching discriminator","discriminator":"model","path":["model"],"message":"Invalid input"}],"docUrl":"https://docs.dev.runwayml.com/api"}"#,
        );
        let failure = submit_failure(&unknown);
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        assert!(failure.message.contains("Validation of body failed"), "{}", failure.message);
        let ratio = response(
            400,
            r#"{"error":"Validation of body failed","issues":[{"code":"invalid_value","path":["ratio"],"message":"Invalid option"}]}"#,
        );
        assert_eq!(submit_failure(&ratio).code, FailureCode::InvalidInput);
        assert_eq!(submit_failure(&response(400, r#"{"error":"bad"}"#)).code, FailureCode::InvalidInput);
        let mut throttled = response(429, r#"{"error":"You have exceeded your daily task limit"}"#);
        throttled.headers.push(("Retry-After".into(), "17".into()));
        let failure = submit_failure(&throttled);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(17)));
    }

    #[test]
    fn quote_refuses_what_the_model_cannot_do() {
        let gen4_without_image = request(&[("model", Value::Text("gen-4".into())), ("duration", Value::Integer(5))]);
        assert_eq!(Runway::quote(gen4_without_image).unwrap_err().code, FailureCode::InvalidInput);
    }
}
