//! A plugin built against `doitong:provider@1.0.0` exactly as released
//! (`tests/wit-1.0.0`), with wit-bindgen alone (no SDK, which follows the
//! newest contract). The host speaks a newer 1.x; this plugin must load and
//! generate unchanged. Its one offering, `legacy`, finishes in `submit`.

#[allow(missing_docs, reason = "generated code")]
mod bindings {
    wit_bindgen::generate!({ world: "plugin", path: "../../wit-1.0.0" });
}

use bindings::doitong::provider::types::{
    Artifact, CancelOutcome, Failure, InputField, JobRequest, Manifest, MediaKind, Offering, Progress, Quote, Submitted,
};
use bindings::exports::doitong::provider::provider::Guest;

struct Legacy;

impl Guest for Legacy {
    fn manifest() -> Manifest {
        Manifest {
            id: "legacy".into(),
            version: "1.0.0".into(),
            vendor: "Built against contract 1.0.0".into(),
            offerings: vec![Offering {
                id: "legacy".into(),
                name: "Legacy (contract 1.0.0)".into(),
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
        let text = format!("legacy 1.0.0: {}", request.input.text.unwrap_or_default());
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

#[cfg(target_arch = "wasm32")]
bindings::export!(Legacy with_types_in bindings);
