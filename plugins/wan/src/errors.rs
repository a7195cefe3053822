//! DashScope's errors mapped to our failures.
//!
//! DashScope answers errors as `{"request_id", "code", "message"}` with an
//! HTTP status, and a failed task carries `output.code` / `output.message`.
//! The code decides first; an unknown code falls back to the HTTP status
//! (the SDK's table) for answers, and to `generation-failed` for tasks:
//!
//! | code                                                   | HTTP answer                    | failed task                 |
//! |--------------------------------------------------------|--------------------------------|-----------------------------|
//! | `DataInspectionFailed`, `*DataInspection*`, `IPInfringementSuspect` | `content-rejected` | `content-rejected`          |
//! | `Throttling`, `Throttling.*` (rate, concurrency, quota) | `rate-limited`, retryable     | `rate-limited`, final       |
//! | `InvalidApiKey`, `AccessDenied*`, `*.AccessDenied`, `Arrearage` | `unauthorized`        | `unauthorized`              |
//! | at submit: `ModelNotFound`, `Model.*NotFound`, or `InvalidParameter` whose message says the model does not exist | `model-unavailable` | — |
//! | anything else                                          | by HTTP status (400 → `invalid-input`, 5xx → retryable `provider-unavailable`, …) | `generation-failed` |
//!
//! Rate-limited answers carry DashScope's `Retry-After` when it sends one.
//!
//! A finished task never changes, so nothing failed inside one is
//! retryable. The vendor's code and message are kept in every failure.

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

/// DashScope's error body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    code: String,
    message: String,
}

/// What a DashScope error code means, when the code alone tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Moderation,
    Throttled,
    Credentials,
}

fn kind(code: &str) -> Option<Kind> {
    if code.contains("DataInspection") || code == "IPInfringementSuspect" {
        Some(Kind::Moderation)
    } else if code == "Throttling" || code.starts_with("Throttling.") {
        Some(Kind::Throttled)
    } else if code == "InvalidApiKey"
        || code == "Arrearage"
        || code.starts_with("AccessDenied")
        || code.ends_with(".AccessDenied")
    {
        Some(Kind::Credentials)
    } else {
        None
    }
}

/// The failure for a non-2xx answer to the create call: as
/// [`http_failure`], except that a model DashScope does not serve is
/// `model-unavailable`.
pub fn submit_failure(response: &Response) -> Failure {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let lower = body.message.to_lowercase();
    let missing_model = body.code == "ModelNotFound"
        || (body.code.starts_with("Model") && body.code.ends_with("NotFound"))
        || (body.code == "InvalidParameter"
            && lower.contains("model")
            && ["not exist", "not found", "not support", "no longer"].iter().any(|w| lower.contains(w)));
    if missing_model {
        return failure::model_unavailable(format!(
            "Wan answered HTTP {} {}: {} (set `model.<offering>.t2v|i2v` in [plugins.wan] settings)",
            response.status, body.code, body.message
        ));
    }
    http_failure(response)
}

/// The failure for a non-2xx DashScope answer.
pub fn http_failure(response: &Response) -> Failure {
    http::with_retry_after(classify(response), response)
}

fn classify(response: &Response) -> Failure {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let message = format!("Wan answered HTTP {} {}: {}", response.status, body.code, body.message);
    match kind(&body.code) {
        Some(Kind::Moderation) => failure::content_rejected(message),
        Some(Kind::Throttled) => failure::rate_limited(message),
        Some(Kind::Credentials) => failure::unauthorized(message),
        None if body.code.is_empty() => http::status_failure(response),
        None => http::failure_for_status(response.status, message),
    }
}

/// The failure for a task that ended `FAILED` with `code` and `message`.
pub fn task_failure(code: &str, message: &str) -> Failure {
    let text = format!("Wan failed the task ({code}): {message}");
    match kind(code) {
        Some(Kind::Moderation) => failure::content_rejected(text),
        Some(Kind::Throttled) => Failure { retryable: false, ..failure::rate_limited(text) },
        Some(Kind::Credentials) => failure::unauthorized(text),
        None => failure::generation_failed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: &str) -> Response {
        let body = format!(r#"{{"request_id":"r1","code":"{code}","message":"the words"}}"#);
        Response { status, headers: vec![], body: body.into_bytes() }
    }

    #[test]
    fn answers_map_by_code_then_status() {
        let cases = [
            (answer(400, "DataInspectionFailed"), FailureCode::ContentRejected, false),
            (answer(400, "InvalidParameter.DataInspection"), FailureCode::ContentRejected, false),
            (answer(429, "Throttling.RateQuota"), FailureCode::RateLimited, true),
            (answer(400, "Throttling.AllocationQuota"), FailureCode::RateLimited, true),
            (answer(401, "InvalidApiKey"), FailureCode::Unauthorized, false),
            (answer(403, "Model.AccessDenied"), FailureCode::Unauthorized, false),
            (answer(400, "Arrearage"), FailureCode::Unauthorized, false),
            (answer(400, "InvalidParameter"), FailureCode::InvalidInput, false),
            (answer(500, "InternalError"), FailureCode::ProviderUnavailable, true),
        ];
        for (response, code, retryable) in cases {
            let failure = http_failure(&response);
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{}", failure.message);
            assert!(failure.message.contains("the words"), "{}", failure.message);
        }
        let bare = Response { status: 502, headers: vec![], body: b"Bad Gateway".to_vec() };
        let failure = http_failure(&bare);
        assert_eq!((failure.code, failure.retryable), (FailureCode::ProviderUnavailable, true));
        assert!(failure.message.contains("Bad Gateway"), "{}", failure.message);
    }

    #[test]
    fn a_missing_model_at_submit_is_model_unavailable() {
        let body = |code: &str, message: &str| Response {
            status: 400,
            headers: vec![],
            body: format!(r#"{{"request_id":"r","code":"{code}","message":"{message}"}}"#).into_bytes(),
        };
        for (code, message) in [("InvalidParameter", "Model not exist."), ("ModelNotFound", "model not found")] {
            let failure = submit_failure(&body(code, message));
            assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false), "{code}");
        }
        assert_eq!(submit_failure(&body("InvalidParameter", "size is invalid")).code, FailureCode::InvalidInput);
        assert_eq!(http_failure(&body("InvalidParameter", "Model not exist.")).code, FailureCode::InvalidInput);
    }

    #[test]
    fn failed_tasks_are_final() {
        let cases = [
            ("DataInspectionFailed", FailureCode::ContentRejected),
            ("Throttling.AllocationQuota", FailureCode::RateLimited),
            ("InternalError", FailureCode::GenerationFailed),
            ("InvalidParameter", FailureCode::GenerationFailed),
        ];
        for (code, expected) in cases {
            let failure = task_failure(code, "why");
            assert_eq!((failure.code, failure.retryable), (expected, false), "{code}");
            assert_eq!(failure.message, format!("Wan failed the task ({code}): why"));
        }
    }
}
