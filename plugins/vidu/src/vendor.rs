//! Vidu's answers: tasks, their states as progress, and Vidu's error
//! reasons as failures. Pure functions of the response, unit-tested
//! natively.
//!
//! Errors arrive as `{"code": <http status>, "reason": "<Reason>",
//! "message": "…"}`; a failed task carries the same reasons in `err_code`.
//!
//! | reason | failure |
//! |---|---|
//! | `AuditSubmitIllegal`, `TaskPromptPolicyViolation`, `CreationPolicyViolation` | `content-rejected` |
//! | `QuotaExceeded`, `TooManyRequests`, `SystemThrottling` | `rate-limited`, retryable |
//! | `CreditInsufficient` | `rate-limited`, **not** retryable (billing) |
//! | `Unauthorized`, `Forbidden` | `unauthorized` |
//! | `ModelUnavailable`; `BadRequest`/`Field*` whose message names the `model` | `model-unavailable` (the model is retired or unknown) |
//! | `InternalServiceFailure`, `OperationInProcess`, `Canceled` | `provider-unavailable`, retryable |
//! | `TaskNotFound`, `CreationNotFound` | `generation-failed` (the task is gone) |
//! | `BadRequest`, `Field*`, `Image*`, `PageSizeOutOfRange`, `NotFound`, `Conflict` | `invalid-input` |
//! | anything else | by HTTP status (the SDK's table) |
//!
//! | task `state` | progress |
//! |---|---|
//! | `created`, `queueing`, `processing` | running (Vidu reports no percentage) |
//! | `success` | done: `creations[0].url` |
//! | `failed` with `err_code` `UserCancelled` | cancelled |
//! | `failed`, a moderation `err_code` | `content-rejected` |
//! | `failed`, any other `err_code` | `generation-failed` |
//! | anything else | `provider-unavailable`, retryable (polled again) |

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

/// How long the host waits between polls, in ms.
pub const POLL_AFTER_MS: u32 = 5_000;

/// The answer to a create call (Vidu echoes the request too).
#[derive(Debug, Deserialize)]
pub struct Created {
    /// Vidu's task id.
    pub task_id: String,
    /// `created`, or `failed` when refused on the spot.
    #[serde(default)]
    pub state: String,
    /// The reason when `failed`.
    #[serde(default)]
    pub err_code: String,
}

/// The answer to `GET /ent/v2/tasks/{id}/creations`.
#[derive(Debug, Deserialize)]
pub struct Task {
    /// `created`, `queueing`, `processing`, `success` or `failed`.
    pub state: String,
    /// The reason when `failed` (empty otherwise).
    #[serde(default)]
    pub err_code: String,
    /// The outputs, once `success`.
    #[serde(default)]
    pub creations: Vec<Creation>,
}

/// One output of a task.
#[derive(Debug, Deserialize)]
pub struct Creation {
    /// The MP4 (a signed URL that expires within hours).
    pub url: String,
}

/// Reasons that mean Vidu's moderation refused the prompt, the image or
/// the result.
const MODERATION_REASONS: [&str; 3] = ["AuditSubmitIllegal", "TaskPromptPolicyViolation", "CreationPolicyViolation"];

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

/// The body of a 2xx answer, or the failure Vidu's error stands for.
pub fn read<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, Failure> {
    if !(200..300).contains(&response.status) {
        return Err(error_failure(response));
    }
    http::decode_json(response)
}

/// The failure for a non-2xx answer, with Vidu's reason and message kept.
pub fn error_failure(response: &Response) -> Failure {
    let error = serde_json::from_slice::<ErrorBody>(&response.body).unwrap_or_default();
    let detail = match error.reason.as_str() {
        "" => http::error_text(&response.body),
        reason => format!("{reason}: {}", error.message),
    };
    let text = format!("Vidu answered HTTP {}, {detail}", response.status);
    let failure = if names_the_model(&error) {
        failure::model_unavailable(format!(
            "{text} (the model is retired or unknown: set `model.vidu` in [plugins.vidu] settings)"
        ))
    } else {
        reason_failure(&error.reason, text.clone()).unwrap_or_else(|| http::failure_for_status(response.status, text))
    };
    http::with_retry_after(failure, response)
}

/// Whether the error says the model is not served: `ModelUnavailable`, or
/// a field refusal whose message is about `model`.
fn names_the_model(error: &ErrorBody) -> bool {
    let field_refusal = matches!(error.reason.as_str(), "BadRequest" | "FieldInvalid" | "FieldUnwanted");
    error.reason == "ModelUnavailable" || (field_refusal && error.message.to_lowercase().contains("model"))
}

/// The failure Vidu's `reason` stands for, if it is one we know.
fn reason_failure(reason: &str, text: String) -> Option<Failure> {
    Some(match reason {
        r if MODERATION_REASONS.contains(&r) => failure::content_rejected(text),
        "QuotaExceeded" | "TooManyRequests" | "SystemThrottling" => failure::rate_limited(text),
        // Billing: retrying cannot help until the operator buys credits.
        "CreditInsufficient" => Failure { retryable: false, ..failure::rate_limited(text) },
        "Unauthorized" | "Forbidden" => failure::unauthorized(text),
        "InternalServiceFailure" | "OperationInProcess" | "Canceled" => failure::provider_unavailable(text),
        "TaskNotFound" | "CreationNotFound" => failure::generation_failed(text),
        "BadRequest"
        | "FieldLacking"
        | "FieldUnwanted"
        | "FieldInvalid"
        | "FieldItemCountOutOfRange"
        | "ImageDownloadFailure"
        | "ImageFormatInvalid"
        | "PageSizeOutOfRange"
        | "NotFound"
        | "Conflict" => failure::invalid_input(text),
        _ => return None,
    })
}

/// Where the task stands; `handle` is kept for the next poll.
pub fn progress(handle: &str, task_id: &str, task: Task) -> Progress {
    match task.state.as_str() {
        "created" | "queueing" | "processing" => {
            Progress::Running(Running { handle: handle.to_string(), percent: None, poll_after_ms: POLL_AFTER_MS })
        }
        "success" => match task.creations.into_iter().next() {
            Some(creation) => Progress::Done(vec![Artifact::from_url(creation.url, "video/mp4")]),
            None => {
                Progress::Failed(failure::generation_failed(format!("Vidu task {task_id} succeeded without a video")))
            }
        },
        "failed" if task.err_code == "UserCancelled" => Progress::Cancelled,
        "failed" => Progress::Failed(task_failure(task_id, &task.err_code)),
        other => Progress::Failed(failure::provider_unavailable(format!(
            "Vidu task {task_id} is in an unknown state `{other}`"
        ))),
    }
}

/// The failure of a task Vidu ended as `failed` with `err_code`: refused
/// by moderation, or failed on Vidu's side.
pub fn task_failure(task_id: &str, err_code: &str) -> Failure {
    let reason = if err_code.is_empty() { "no reason given" } else { err_code };
    let text = format!("Vidu task {task_id} failed: {reason}");
    if MODERATION_REASONS.contains(&err_code) {
        failure::content_rejected(text)
    } else {
        failure::generation_failed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doitong_plugin_sdk::serde_json::json;

    fn response(status: u16, body: serde_json::Value) -> Response {
        Response { status, headers: Vec::new(), body: body.to_string().into_bytes() }
    }

    fn task(value: serde_json::Value) -> Task {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_model_vidu_does_not_serve_is_model_unavailable() {
        let answer = |status: u16, body: &str| Response { status, headers: Vec::new(), body: body.as_bytes().to_vec() };
        for body in [
            r#"{"code":400,"reason":"ModelUnavailable","message":"model unavailable"}"#,
            r#"{"code":400,"reason":"FieldInvalid","message":"model vidu1.5 is not supported for text2video"}"#,
        ] {
            let failure = error_failure(&answer(400, body));
            assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false), "{body}");
        }
        let other = answer(400, r#"{"code":400,"reason":"FieldInvalid","message":"duration must be 4 or 8"}"#);
        assert_eq!(error_failure(&other).code, FailureCode::InvalidInput);
        let mut busy = answer(429, r#"{"code":429,"reason":"TooManyRequests","message":"slow down"}"#);
        busy.headers.push(("Retry-After".into(), "4".into()));
        let failure = error_failure(&busy);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(4)));
    }

    #[test]
    fn reads_a_created_task() {
        let created: Created = read(&response(
            200,
            json!({"task_id": "812", "state": "created", "model": "vidu2.0", "credits": 10, "created_at": "2025-06-01T12:00:00Z"}),
        ))
        .unwrap();
        assert_eq!((created.task_id.as_str(), created.state.as_str()), ("812", "created"));
    }

    #[test]
    fn reasons_map_to_failures() {
        let cases = [
            (400, "TaskPromptPolicyViolation", FailureCode::ContentRejected, false),
            (400, "CreditInsufficient", FailureCode::RateLimited, false),
            (429, "TooManyRequests", FailureCode::RateLimited, true),
            (429, "QuotaExceeded", FailureCode::RateLimited, true),
            (401, "Unauthorized", FailureCode::Unauthorized, false),
            (500, "InternalServiceFailure", FailureCode::ProviderUnavailable, true),
            (400, "OperationInProcess", FailureCode::ProviderUnavailable, true),
            (404, "TaskNotFound", FailureCode::GenerationFailed, false),
            (400, "FieldInvalid", FailureCode::InvalidInput, false),
            (400, "task state is scheduled", FailureCode::InvalidInput, false),
            (503, "SomethingNew", FailureCode::ProviderUnavailable, true),
        ];
        for (status, reason, code, retryable) in cases {
            let failure =
                error_failure(&response(status, json!({"code": status, "reason": reason, "message": "nope"})));
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{reason}");
            assert!(failure.message.contains("nope"), "{}", failure.message);
        }
        let plain = Response { status: 502, headers: Vec::new(), body: b"bad gateway".to_vec() };
        assert_eq!(error_failure(&plain).code, FailureCode::ProviderUnavailable);
    }

    #[test]
    fn states_map_to_progress() {
        for state in ["created", "queueing", "processing"] {
            let Progress::Running(running) = progress("h", "1", task(json!({"state": state, "err_code": ""}))) else {
                panic!("{state} runs")
            };
            assert_eq!((running.percent, running.poll_after_ms), (None, POLL_AFTER_MS));
        }
        let done = task(json!({
            "id": "1", "state": "success", "err_code": "", "credits": 10,
            "creations": [{"id": "c", "url": "https://cdn.example/c.mp4", "cover_url": "https://cdn.example/c.jpeg"}]
        }));
        let Progress::Done(artifacts) = progress("h", "1", done) else { panic!("done") };
        assert_eq!(
            (artifacts[0].url.as_deref(), artifacts[0].mime.as_str()),
            (Some("https://cdn.example/c.mp4"), "video/mp4")
        );
    }

    #[test]
    fn failed_tasks_keep_the_reason() {
        let cases = [
            ("CreationPolicyViolation", Some(FailureCode::ContentRejected)),
            ("InternalServiceFailure", Some(FailureCode::GenerationFailed)),
            ("ImageDownloadFailure", Some(FailureCode::GenerationFailed)),
            ("", Some(FailureCode::GenerationFailed)),
            ("UserCancelled", None),
        ];
        for (err_code, code) in cases {
            let failed = task(json!({"state": "failed", "err_code": err_code, "creations": []}));
            match (progress("h", "9", failed), code) {
                (Progress::Failed(failure), Some(code)) => {
                    assert_eq!((failure.code, failure.retryable), (code, false), "{err_code}");
                    assert!(failure.message.starts_with("Vidu task 9 failed: "), "{}", failure.message);
                }
                (Progress::Cancelled, None) => {}
                (other, _) => panic!("{err_code}: {other:?}"),
            }
        }
    }

    #[test]
    fn odd_answers_do_not_pass_for_success() {
        let Progress::Failed(failure) = progress("h", "1", task(json!({"state": "success", "creations": []}))) else {
            panic!("no video")
        };
        assert_eq!(failure.code, FailureCode::GenerationFailed);
        let Progress::Failed(failure) = progress("h", "1", task(json!({"state": "paused"}))) else { panic!("unknown") };
        assert_eq!((failure.code, failure.retryable), (FailureCode::ProviderUnavailable, true));
    }
}
