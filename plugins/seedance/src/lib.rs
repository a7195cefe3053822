//! The `seedance` provider: ByteDance's Seedance video models through
//! BytePlus ModelArk's content generation API
//! (`https://ark.ap-southeast.bytepluses.com/api/v3`).
//!
//! It owns one offering, `seedance` (the portal's provider id), whose
//! `model` option picks among Seedance 1.0 Pro (the default), 1.0 Pro Fast,
//! 1.0 Lite and 1.5 Pro. It never fetches user media (image URLs and
//! `data:` URIs go to ModelArk as they came) and keeps no state between
//! calls: the handle carries the vendor's task id (`cgt-…`).
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue;
//! - [`catalogue`]: models, what each accepts, the option specs, the
//!   token-based price and the combination rules `quote` enforces: pure and
//!   unit-tested;
//! - [`api`]: ModelArk's wire format, its errors and task statuses mapped
//!   to failures and progress, and the HTTP exchanges (create, get, delete).
//!
//! A generation is: `POST /contents/generations/tasks` → poll `GET
//! /contents/generations/tasks/{id}` until `succeeded` → the host downloads
//! `content.video_url` and re-hosts it at once (ModelArk keeps it 24 hours).
//! Cancel: ModelArk cancels only tasks still `queued` (`DELETE`, nothing
//! billed); a task already `running` cannot be stopped and is billed, so
//! cancelling it ends the wait with no refund.
//!
//! Decisions where the vendor notes were uncertain (BytePlus rather than
//! Volcengine ids, defaults, per-model limits, Pro Fast's price, cancel of
//! running tasks) are listed in the crate's README.md.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod api;
pub mod catalogue;

/// The plugin's id and its offering's: the portal's provider id.
pub const ID: &str = "seedance";
/// The one secret: a ModelArk API key (`ARK_API_KEY`), region ap-southeast-1.
pub const SECRET: &str = "api_key";

/// The Seedance provider.
pub struct Seedance;

impl Provider for Seedance {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            vendor: "ByteDance (BytePlus ModelArk)".to_string(),
            offerings: vec![catalogue::offering()],
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
        let key = require_secret(SECRET)?;
        let mut body = api::SubmitBody::new(&plan, &request.input);
        body.model = vendor_model(&plan);
        let task = api::create(&key, &body)?;
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: Some(0), poll_after_ms: api::POLL_MS }))
    }

    fn poll(handle: String) -> Progress {
        poll_task(&handle).unwrap_or_else(Progress::Failed)
    }

    fn cancel(handle: String) -> Result<CancelOutcome, Failure> {
        let task: api::Task = handle::decode(&handle)?;
        let key = require_secret(SECRET)?;
        let refund_percent = match api::cancel_refund(&api::get(&key, &task)?.status) {
            api::CancelRefund::AfterDelete => match api::delete(&key, &task) {
                Ok(()) => 100,
                // It left the queue in the meantime: running, and billed.
                Err(failure) if failure.code == FailureCode::InvalidInput => 0,
                Err(failure) => return Err(failure),
            },
            api::CancelRefund::Now(percent) => percent,
        };
        Ok(CancelOutcome { refund_percent })
    }
}

export_plugin!(Seedance);

/// The ModelArk model id for `plan`: the operator's `model.seedance.<model
/// option value>` setting, else (for the default model) `model.seedance`,
/// else the built-in id (for `seedance-1-0-lite` the setting replaces both
/// its t2v and i2v ids).
fn vendor_model(plan: &catalogue::Plan) -> String {
    let specific = format!("{ID}.{}", plan.model.name());
    if plan.model == catalogue::Model::DEFAULT && setting(&format!("model.{specific}")).is_none() {
        model_id(ID, plan.vendor_model())
    } else {
        model_id(&specific, plan.vendor_model())
    }
}

fn poll_task(task_handle: &str) -> Result<Progress, Failure> {
    let task: api::Task = handle::decode(task_handle)?;
    let key = require_secret(SECRET)?;
    Ok(api::progress(task_handle, api::get(&key, &task)?))
}
