//! A plugin built against `doitong:provider@1.1.0` exactly as released
//! (`wit/frozen/1.1.0`, world `plugin-with-health`), with wit-bindgen alone
//! (no SDK, which follows the newest contract). The host speaks 1.2, whose
//! `failure` record has more fields; this plugin must load, generate and
//! answer its 1.1 health check unchanged. Its one offering, `legacy-1-1`,
//! finishes in `submit`; its health check fails, so the host's breaker
//! reports it.

#[allow(missing_docs, reason = "generated code")]
mod bindings {
    wit_bindgen::generate!({ world: "plugin-with-health", path: "../../../wit/frozen/1.1.0" });
}

use bindings::doitong::provider::types::{
    Artifact, CancelOutcome, Failure, InputField, JobRequest, Manifest, MediaKind, Offering, Progress, Quote, Submitted,
};
use bindings::exports::doitong::provider::provider::Guest;

struct Legacy;

impl Guest for Legacy {
    fn manifest() -> Manifest {
        Manifest {
            id: "legacy-1-1".into(),
            version: "1.1.0".into(),
            vendor: "Built against contract 1.1.0".into(),
            offerings: vec![Offering {
                id: "legacy-1-1".into(),
                name: "Legacy (contract 1.1.0)".into(),
                description: "A plugin that predates the host's contract".into(),
                kinds: vec![MediaKind::Image],
                accepts: vec![InputField::Text],
                requires: vec![InputField::Text],
                needs_bytes: vec![],
                features: vec![],
                limitations: vec![],
                options: vec![],
                quality: 10,
                base_credits: 1,
                pricing: vec![],
                estimated_seconds: 1,
            }],
            allowed_hosts: vec![],
            secrets: vec![],
        }
    }

    fn quote(_request: JobRequest) -> Result<Quote, Failure> {
        Ok(Quote { credits: 1, estimated_seconds: 1 })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let text = format!("legacy 1.1.0: {}", request.input.text.unwrap_or_default());
        Ok(Submitted::Done(vec![Artifact {
            url: None,
            bytes: Some(text.into_bytes()),
            mime: "text/plain".into(),
            width: None,
            height: None,
            duration_ms: None,
        }]))
    }

    fn poll(_handle: String) -> Progress {
        Progress::Cancelled
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

impl bindings::exports::doitong::provider::health::Guest for Legacy {
    fn check() -> Result<(), Failure> {
        Err(Failure {
            code: bindings::doitong::provider::types::FailureCode::ProviderUnavailable,
            message: "legacy 1.1 health check: vendor down".into(),
            retryable: true,
        })
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Legacy with_types_in bindings);
