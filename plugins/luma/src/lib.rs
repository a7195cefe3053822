//! The `luma` provider: Luma's Dream Machine API
//! (`api.lumalabs.ai/dream-machine/v1`) for text- and image-to-video.
//!
//! Three offerings, one per Ray model ([`ray`]): `luma` (Ray 2, the
//! portal's provider id), `luma-ray-flash-2` and `luma-ray-1-6`. Requests
//! carry `Authorization: Bearer <api_key>`.
//!
//! | Export   | Luma call                                                        |
//! |----------|------------------------------------------------------------------|
//! | `quote`  | none: the offering's price rules; inline images are refused      |
//! | `submit` | `POST /generations/video` → a Generation object                  |
//! | `poll`   | `GET /generations/{id}`, mapped by [`generation::progress`]      |
//! | `cancel` | `DELETE /generations/{id}` (Luma has no cancel; this deletes it) |
//! | `check`  | `GET /credits` (the account's credit balance; free)              |
//!
//! The `model` sent is resolved through [`doitong_plugin_sdk::model_id`]:
//! the operator's setting `model.<offering>` replaces the built-in Ray id.
//! A refusal naming the model is `model-unavailable`. Luma documents no
//! idempotency key (its SDK sends none), so none is sent.
//!
//! Decisions where Luma's documentation is unclear (also in the README):
//! - Create goes to `POST /generations/video`, the path of Luma's official
//!   SDK since mid-2025 (older docs show `POST /generations`).
//! - Start frames must be https URLs Luma can fetch; Luma has no upload and
//!   takes no inline images, so a `data:` URI is refused in `quote`.
//! - Cancel deletes the generation and refunds nothing
//!   ([`CANCEL_REFUND_PERCENT`]): Luma does not document whether deleting a
//!   generation in flight stops its billing.
//! - Prices use Luma's per-million-pixel rates at 24 fps and the 16:9 frame
//!   size of the resolution (see [`ray`]).
//!
//! Layout: this file holds the manifest and the HTTP glue; [`ray`] the
//! offerings and prices; [`generation`] bodies, handles and the state
//! mapping, pure and unit-tested natively.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod generation;
pub mod ray;

use generation::{Generation, Handle};
use ray::Ray;

/// The plugin id (and the Ray 2 offering's, the portal's provider id).
pub const ID: &str = "luma";
/// The vendor origin (first allowed host, so operators can move it).
pub const API: &str = "https://api.lumalabs.ai";
/// The Dream Machine API's path under [`API`].
pub const API_PATH: &str = "/dream-machine/v1";
/// Share of the quote refunded on cancel: Luma documents no refund for a
/// deleted generation, so we assume it is charged.
pub const CANCEL_REFUND_PERCENT: u8 = 0;

/// The Luma provider.
pub struct Luma;

impl Provider for Luma {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Luma AI".to_string(),
            offerings: Ray::ALL.map(Ray::offering).to_vec(),
            allowed_hosts: vec![API.to_string()],
            secrets: vec!["api_key".to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let ray = ray_of(&request)?;
        generation::check_inputs(&request)?;
        Ok(Quote {
            credits: spec::price(&ray.offering(), &request.options),
            estimated_seconds: ray.estimated_seconds(),
        })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let ray = ray_of(&request)?;
        generation::check_inputs(&request)?;
        let key = require_secret("api_key")?;
        let mut body = generation::body(ray, &request);
        body["model"] = doitong_plugin_sdk::serde_json::json!(model_id(ray.offering_id(), ray.api_name()));
        let response = http::post(url("/generations/video"))
            .bearer(&key)
            .header("Accept", "application/json")
            .json(&body)
            .send_with(generation::creation_failure)?;
        let created: Generation = http::decode_json(&response)?;
        let encoded = handle::encode(&Handle { id: created.id.clone() });
        generation::submitted(generation::progress(&created, &encoded))
    }

    fn poll(encoded: String) -> Progress {
        match fetch_generation(&encoded) {
            Ok(progress) => progress,
            Err(failure) => Progress::Failed(failure),
        }
    }

    fn cancel(encoded: String) -> Result<CancelOutcome, Failure> {
        let handle: Handle = handle::decode(&encoded)?;
        let key = require_secret("api_key")?;
        let response = http::delete(url(&format!("/generations/{}", handle.id))).bearer(&key).send_raw()?;
        // 404: already gone at Luma; there is nothing left to stop.
        if response.status != 404 {
            http::check_status(&response)?;
        }
        Ok(CancelOutcome { refund_percent: CANCEL_REFUND_PERCENT })
    }
}

impl Health for Luma {
    /// `GET /credits`: the account's credit balance (free, authenticated).
    fn check() -> Result<(), Failure> {
        let key = require_secret("api_key")?;
        http::get(url("/credits")).bearer(&key).header("Accept", "application/json").send().map(|_| ())
    }
}

export_plugin!(Luma, health);

fn url(path: &str) -> String {
    format!("{API}{API_PATH}{path}")
}

/// The model behind the request's offering.
fn ray_of(request: &JobRequest) -> Result<Ray, Failure> {
    Ray::from_offering(&request.offering)
        .ok_or_else(|| failure::invalid_input(format!("`{}` is not a Luma offering", request.offering)))
}

/// `GET /generations/{id}` and what it means; transport and HTTP failures
/// come back as `Err` (retryable ones are polled again by the host).
fn fetch_generation(encoded: &str) -> Result<Progress, Failure> {
    let handle: Handle = handle::decode(encoded)?;
    let key = require_secret("api_key")?;
    let response = http::get(url(&format!("/generations/{}", handle.id)))
        .bearer(&key)
        .header("Accept", "application/json")
        .send_with(|response| match response.status {
            404 => failure::generation_failed(format!(
                "Luma no longer has generation {} (it was deleted): {}",
                handle.id,
                http::error_text(&response.body)
            )),
            _ => http::status_failure(response),
        })?;
    let generation: Generation = http::decode_json(&response)?;
    Ok(generation::progress(&generation, encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(offering: &str, image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: offering.into(),
            kind: MediaKind::Video,
            input: JobInput { text: Some("sunset".into()), image, audio: None, video: None, voice: None },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn manifest_serves_three_ray_models_behind_one_key() {
        let manifest = Luma::manifest();
        assert_eq!((manifest.id.as_str(), manifest.vendor.as_str()), ("luma", "Luma AI"));
        assert_eq!((manifest.allowed_hosts, manifest.secrets), (vec![API.to_string()], vec!["api_key".to_string()]));
        let ids: Vec<&str> = manifest.offerings.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["luma", "luma-ray-flash-2", "luma-ray-1-6"]);
        assert_eq!(url("/generations/video"), "https://api.lumalabs.ai/dream-machine/v1/generations/video");
    }

    #[test]
    fn quotes_price_by_model_resolution_and_duration() {
        let options = [("duration", Value::Integer(9)), ("resolution", Value::Text("720p".into()))];
        assert_eq!(
            Luma::quote(request("luma", None, &options)).unwrap(),
            Quote { credits: 128, estimated_seconds: 90 }
        );
        assert_eq!(Luma::quote(request("luma-ray-flash-2", None, &options)).unwrap().credits, 44);
        let fixed = Luma::quote(request("luma-ray-1-6", None, &[("duration", Value::Integer(5))])).unwrap();
        assert_eq!(fixed, Quote { credits: 36, estimated_seconds: 120 });
    }

    #[test]
    fn quotes_refuse_inline_images_and_foreign_offerings() {
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1]) };
        assert_eq!(Luma::quote(request("luma", Some(inline), &[])).unwrap_err().code, FailureCode::InvalidInput);
        assert_eq!(Luma::quote(request("runway", None, &[])).unwrap_err().code, FailureCode::InvalidInput);
    }
}
