//! The `stability` provider: Stability AI's image models through the v2beta
//! Stable Image API (`https://api.stability.ai`).
//!
//! It owns three image offerings, one per Stability endpoint:
//! `stable-diffusion` (the portal's "Stable Diffusion": SD 3.5 Large by
//! default, Large Turbo, Medium and Flash through its `model` option),
//! `stable-image-ultra` and `stable-image-core`. Generation is synchronous:
//! one multipart `POST` answers with the image's bytes, which go back to
//! the host as an inline artifact (mime sniffed from the bytes, pixel size
//! read from the header). Nothing survives between calls, so there is
//! nothing to poll or cancel. Input images for image-to-image arrive as
//! bytes (the offerings declare `needs-bytes`) and go to Stability as a
//! file part; the plugin never fetches user URLs itself.
//!
//! Every model id (SD 3.5's `model` field, Ultra's and Core's endpoint)
//! goes through the operator's settings (`model.<offering>` for an
//! offering's default model, `model.stable-diffusion.<model>` for the
//! other SD 3.5 models); the health check reads `GET /v1/user/balance`.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: services, models, options, prices and the combination
//!   rules `quote` enforces: pure and unit-tested;
//! - [`api`]: the request form, the answer (finish reason, image), the
//!   error mapping and the one HTTP exchange (the form encoded by the
//!   SDK's `multipart` module).
//!
//! Decisions where the vendor notes were uncertain (style presets on Ultra
//! and SD 3.5, negative prompts on Flash, default strength, prices) are
//! listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id (its offerings are named after Stability's products).
pub const ID: &str = "stability";
/// The one secret: a Stability API key (`sk-…`, platform.stability.ai).
pub const SECRET: &str = "api_key";

/// The Stability AI provider.
pub struct Stability;

impl Provider for Stability {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Stability AI".to_string(),
            offerings: catalogue::offerings(),
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
        let image = request.input.image.as_ref().map(api::InputImage::of).transpose()?;
        let key = require_secret(SECRET)?;
        let generated = api::generate(&key, &plan, image)?;
        log(
            Level::Info,
            &format!(
                "{} ({}) generated an image: seed {}, request {}",
                plan.service.offering_id(),
                plan.model.name(),
                generated.seed.as_deref().unwrap_or("unknown"),
                generated.request_id.as_deref().unwrap_or("unknown"),
            ),
        );
        Ok(Submitted::Done(vec![generated.artifact]))
    }

    /// Never called: every generation finishes inside `submit`.
    fn poll(_handle: String) -> Progress {
        Progress::Failed(failure::invalid_input("Stability generations finish at once; there is nothing to poll"))
    }

    /// Never needed: a synchronous generation has no task to stop.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /v1/user/balance` (generates nothing): the key works
/// and the account has credits.
impl Health for Stability {
    fn check() -> Result<(), Failure> {
        api::check_balance(&require_secret(SECRET)?)
    }
}

export_plugin!(Stability, health);
