//! The `flux` plugin: Black Forest Labs' FLUX image models through the BFL
//! API (`https://api.bfl.ai`, `x-key` auth).
//!
//! It owns nine IMAGE offerings: `flux-dev` (FLUX.1 [dev]), `flux-pro`
//! (FLUX.1 [pro]), `flux-pro-1-1` (FLUX1.1 [pro]), `flux-ultra` (FLUX1.1
//! [pro] Ultra, with Raw mode), `flux-kontext` (FLUX.1 Kontext [pro] or
//! [max], for editing an `input.image` or generating from text), and the
//! FLUX.2 family BFL now recommends: `flux-2-pro`, `flux-2-max`,
//! `flux-2-flex` and `flux-2-klein` (generation, or editing with an
//! `input.image`; priced per megapixel). Every BFL model id can be replaced
//! by the operator's `model.<offering>` setting
//! ([`catalogue::Plan::vendor_endpoint`]); the health check reads
//! `GET /v1/credits`. It keeps no state between
//! calls: the handle carries BFL's task id and the polling URL to use.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: models, options, sizes, prices and the combination
//!   rules `quote` enforces: pure and unit-tested;
//! - [`api`]: BFL's wire format, where to poll, its HTTP errors and task
//!   statuses mapped to failures and progress, and the two HTTP exchanges.
//!
//! A generation is: `POST /v1/<model>` → `{id, polling_url}` → poll
//! `GET <polling_url>` until `Ready` → `result.sample`, a signed URL valid
//! for ten minutes, handed to the host as the artifact's `url` (the host
//! downloads and re-hosts it at once). BFL routes tasks to regional
//! clusters and answers with that cluster's polling URL; the adapter polls
//! it as returned when it is one of BFL's API origins in the manifest, and
//! BFL's global endpoint otherwise ([`api::polling_target`]), so the key
//! never goes to a host the manifest does not list.
//!
//! BFL has no cancel endpoint and bills at submit: [`Provider::cancel`]
//! stops the wait and refunds nothing.
//!
//! Decisions where the vendor notes were uncertain (prices of [dev] and
//! [pro], Kontext defaults, progress scale, error bodies, FLUX Krea) are
//! listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin id (its offerings are `flux-dev`, `flux-pro`, …).
pub const ID: &str = "flux";
/// The one secret: a BFL API key (`x-key`).
pub const SECRET: &str = "api_key";

/// The Black Forest Labs provider.
pub struct Flux;

impl Provider for Flux {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "Black Forest Labs".to_string(),
            offerings: catalogue::offerings(),
            allowed_hosts: api::API_ORIGINS.iter().map(|o| o.to_string()).collect(),
            secrets: vec![SECRET.to_string()],
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        Ok(Quote { credits: plan.credits(), estimated_seconds: plan.estimated_seconds() })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let plan = catalogue::Plan::of(&request)?;
        let body = api::SubmitBody::new(&plan, &request.input)?;
        let key = require_secret(SECRET)?;
        let created = api::submit(&key, &plan.vendor_endpoint(), &body)?;
        let target = api::polling_target(created.polling_url.as_deref(), &created.id);
        if let Some(refused) = &target.refused {
            log(
                Level::Warn,
                &format!(
                    "task {}: BFL's polling_url {refused:?} is not on an allowed BFL API origin; polling {} instead",
                    created.id, target.url
                ),
            );
        }
        let size = plan.size();
        let task = api::Task {
            id: created.id,
            polling_url: target.url,
            mime: plan.format.mime().to_string(),
            width: size.map(|s| s.width),
            height: size.map(|s| s.height),
        };
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: Some(0), poll_after_ms: api::POLL_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_task(&handle).unwrap_or_else(Progress::Failed)
    }

    /// BFL cannot stop a task and bills it at submit: the wait ends, nothing
    /// is refunded.
    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 0 })
    }
}

/// Checked with `GET /v1/credits` (generates nothing): the key works and
/// the account has credits.
impl Health for Flux {
    fn check() -> Result<(), Failure> {
        api::check_credits(&require_secret(SECRET)?)
    }
}

export_plugin!(Flux, health);

/// Ask BFL how the task is doing; on `Ready`, hand over the sample URL.
fn poll_task(task_handle: &str) -> Result<Progress, Failure> {
    let task: api::Task = handle::decode(task_handle)?;
    let key = require_secret(SECRET)?;
    match api::task_state(&api::get_result(&key, &task)?, &task.id)? {
        api::TaskState::Working(percent) => {
            Ok(Progress::Running(Running { handle: task_handle.to_string(), percent, poll_after_ms: api::POLL_MS }))
        }
        api::TaskState::Ready(sample) => Ok(Progress::Done(vec![task.artifact(sample)])),
    }
}
