//! Kling's answers: the `{code, message, data}` envelope, its error codes
//! as failures, and task states as progress. Pure functions of the
//! response, so they are unit-tested natively.
//!
//! Error codes (HTTP status, `code`) → failure:
//!
//! | HTTP | `code` | meaning | failure |
//! |---|---|---|---|
//! | 401 | 1000–1004 | bad, missing or expired token | `unauthorized` |
//! | 429 | 1100–1102 | account suspended, in arrears, resource pack used up | `rate-limited`, **not** retryable |
//! | 403 | 1103 | no access to the model | `unauthorized` |
//! | 400/404 | 1200–1202 | bad parameter or method | `invalid-input` |
//! | 404 | 1203 | resource (the model) does not exist | at submit: `model-unavailable`; elsewhere `invalid-input` |
//! | 400 | 1201, message about `external_task_id` | the generation was submitted before | at submit: [`Submit::Duplicate`], recovered by a query |
//! | 400 | 1300, 1301 | platform policy, content safety | `content-rejected` |
//! | 429 | 1302, 1303 | rate or concurrency limit | `rate-limited`, retryable |
//! | 429 | 1304 | IP not on the whitelist | `unauthorized` |
//! | 5xx | 5000–5002 | internal error, maintenance, timeout | `provider-unavailable`, retryable |
//! | other | other | | by HTTP status (the SDK's table) |
//!
//! Rate-limited failures carry Kling's `Retry-After` when it sends one.
//!
//! Task states (`data.task_status`) → progress:
//!
//! | state | progress |
//! |---|---|
//! | `submitted`, `processing` | running (Kling reports no percentage) |
//! | `succeed` | done: `task_result.videos[0].url`, its `duration` |
//! | `failed`, message about risk control / sensitive content | `content-rejected` |
//! | `failed`, any other message | `generation-failed` |
//! | anything else | `provider-unavailable`, retryable (polled again) |

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// How long the host waits between polls, in ms: Kling clips take one to
/// several minutes.
pub const POLL_AFTER_MS: u32 = 5_000;

/// Words in a failed task's message that mean moderation refused it
/// (Kling's own text is "Failure to pass the risk control system").
const MODERATION_WORDS: [&str; 4] = ["risk control", "sensitive", "content security", "policy"];

/// The envelope of every Kling answer.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    code: i64,
    #[serde(default)]
    message: String,
    data: Option<T>,
}

/// A task, as the create and query endpoints return it.
#[derive(Debug, Deserialize)]
pub struct Task {
    /// Kling's task id.
    pub task_id: String,
    /// `submitted`, `processing`, `succeed` or `failed`.
    pub task_status: String,
    /// Why it failed.
    #[serde(default)]
    pub task_status_msg: String,
    /// The videos, once it succeeded.
    pub task_result: Option<TaskResult>,
}

/// The result of a finished task.
#[derive(Debug, Deserialize)]
pub struct TaskResult {
    /// The generated videos (one for text- and image-to-video).
    #[serde(default)]
    pub videos: Vec<Video>,
}

/// One generated video.
#[derive(Debug, Deserialize)]
pub struct Video {
    /// Where Kling serves the MP4 (kept for 30 days).
    pub url: String,
    /// Seconds, as a string such as `"5.1"`.
    pub duration: Option<String>,
}

/// The `data` of a successful answer, or the failure Kling's status and
/// code stand for, with Kling's message kept.
pub fn read<T: DeserializeOwned>(response: &Response) -> Result<T, Failure> {
    let status = response.status;
    let envelope = match serde_json::from_slice::<Envelope<T>>(&response.body) {
        Ok(envelope) => envelope,
        Err(_) => {
            // Not Kling's envelope (a proxy's error page, or a changed API):
            // the status decides; a 2xx we cannot read is a vendor fault.
            http::check_status(response)?;
            return Err(failure::provider_unavailable(format!(
                "unexpected answer from Kling: {}",
                http::error_text(&response.body)
            )));
        }
    };
    match envelope {
        Envelope { code: 0, data: Some(data), .. } if (200..300).contains(&status) => Ok(data),
        Envelope { code, message, .. } => Err(http::with_retry_after(failure_for(status, code, &message), response)),
    }
}

/// What a create call's answer means.
#[derive(Debug)]
pub enum Submit {
    /// Kling created the task.
    Created(Task),
    /// Kling already has a task with our `external_task_id`: this submit
    /// is a retry of one whose answer was lost.
    Duplicate(Failure),
}

/// Read a create call's answer: as [`read`], except that code 1203 (the
/// model does not exist) is `model-unavailable`, and a refusal naming
/// `external_task_id` is [`Submit::Duplicate`].
pub fn read_submit(response: &Response) -> Result<Submit, Failure> {
    match read::<Task>(response) {
        Ok(task) => Ok(Submit::Created(task)),
        Err(failure) => {
            let code = serde_json::from_slice::<Envelope<serde_json::Value>>(&response.body).map(|e| e.code).ok();
            let lower = failure.message.to_lowercase();
            match code {
                Some(1203) => Err(failure::model_unavailable(format!(
                    "{} (the model is retired or unknown: set `model.<offering>` in [plugins.kling] settings)",
                    failure.message
                ))),
                Some(1200 | 1201) if lower.contains("external_task_id") => Ok(Submit::Duplicate(failure)),
                _ => Err(failure),
            }
        }
    }
}

/// The failure for Kling's HTTP `status` and service `code`.
pub fn failure_for(status: u16, code: i64, message: &str) -> Failure {
    let text = format!("Kling answered HTTP {status}, code {code}: {message}");
    match code {
        1000..=1004 | 1103 | 1304 => failure::unauthorized(text),
        // Billing: retrying cannot help until the operator tops up.
        1100..=1102 => Failure { retryable: false, ..failure::rate_limited(text) },
        1200..=1203 => failure::invalid_input(text),
        1300 | 1301 => failure::content_rejected(text),
        1302 | 1303 => failure::rate_limited(text),
        5000..=5002 => failure::provider_unavailable(text),
        _ => http::failure_for_status(status, text),
    }
}

/// Where `task` stands; `handle` is kept for the next poll.
pub fn progress(handle: &str, task: Task) -> Progress {
    match task.task_status.as_str() {
        "submitted" | "processing" => {
            Progress::Running(Running { handle: handle.to_string(), percent: None, poll_after_ms: POLL_AFTER_MS })
        }
        "succeed" => match task.task_result.and_then(|r| r.videos.into_iter().next()) {
            Some(video) => Progress::Done(vec![artifact(video)]),
            None => Progress::Failed(failure::generation_failed(format!(
                "Kling task {} succeeded without a video",
                task.task_id
            ))),
        },
        "failed" => Progress::Failed(task_failure(&task.task_id, &task.task_status_msg)),
        other => Progress::Failed(failure::provider_unavailable(format!(
            "Kling task {} is in an unknown state `{other}`",
            task.task_id
        ))),
    }
}

fn task_failure(task_id: &str, message: &str) -> Failure {
    let text = format!("Kling task {task_id} failed: {message}");
    let lower = message.to_lowercase();
    if MODERATION_WORDS.iter().any(|word| lower.contains(word)) {
        failure::content_rejected(text)
    } else {
        failure::generation_failed(text)
    }
}

fn artifact(video: Video) -> Artifact {
    let mut artifact = Artifact::from_url(video.url, "video/mp4");
    artifact.duration_ms = video
        .duration
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| (s * 1000.0).round() as u32);
    artifact
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
    fn reads_the_data_of_a_successful_answer() {
        let answer = response(
            200,
            json!({"code": 0, "message": "SUCCEED", "request_id": "r", "data": {"task_id": "862", "task_status": "submitted", "created_at": 1}}),
        );
        let task: Task = read(&answer).unwrap();
        assert_eq!((task.task_id.as_str(), task.task_status.as_str()), ("862", "submitted"));
    }

    #[test]
    fn codes_map_to_failures() {
        let cases = [
            (401, 1002, FailureCode::Unauthorized, false),
            (401, 1004, FailureCode::Unauthorized, false),
            (429, 1102, FailureCode::RateLimited, false),
            (403, 1103, FailureCode::Unauthorized, false),
            (400, 1201, FailureCode::InvalidInput, false),
            (404, 1203, FailureCode::InvalidInput, false),
            (400, 1301, FailureCode::ContentRejected, false),
            (429, 1302, FailureCode::RateLimited, true),
            (429, 1303, FailureCode::RateLimited, true),
            (429, 1304, FailureCode::Unauthorized, false),
            (500, 5000, FailureCode::ProviderUnavailable, true),
            (504, 5002, FailureCode::ProviderUnavailable, true),
            (502, 9999, FailureCode::ProviderUnavailable, true),
            (400, 9999, FailureCode::InvalidInput, false),
        ];
        for (status, code, expected, retryable) in cases {
            let answer = response(status, json!({"code": code, "message": "vendor says no", "request_id": "r"}));
            let failure = read::<Task>(&answer).unwrap_err();
            assert_eq!((failure.code, failure.retryable), (expected, retryable), "{status}/{code}");
            assert_eq!(failure.message, format!("Kling answered HTTP {status}, code {code}: vendor says no"));
        }
    }

    #[test]
    fn a_missing_model_at_submit_is_model_unavailable_and_a_duplicate_id_is_recognised() {
        let missing =
            response(404, json!({"code": 1203, "message": "model is not supported: kling-v1", "request_id": "r"}));
        let failure = read_submit(&missing).unwrap_err();
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        assert!(failure.message.contains("model is not supported: kling-v1"), "{}", failure.message);
        assert_eq!(read::<Task>(&missing).unwrap_err().code, FailureCode::InvalidInput, "only at submit");
        let duplicate =
            response(400, json!({"code": 1201, "message": "external_task_id already exists", "request_id": "r"}));
        assert!(matches!(read_submit(&duplicate), Ok(Submit::Duplicate(_))));
        let bad = response(400, json!({"code": 1201, "message": "duration value is invalid", "request_id": "r"}));
        assert_eq!(read_submit(&bad).unwrap_err().code, FailureCode::InvalidInput);
        let created = response(200, json!({"code": 0, "data": {"task_id": "9", "task_status": "submitted"}}));
        assert!(matches!(read_submit(&created), Ok(Submit::Created(task)) if task.task_id == "9"));
    }

    #[test]
    fn a_429_carries_retry_after() {
        let mut busy = response(429, json!({"code": 1302, "message": "too many requests"}));
        busy.headers.push(("Retry-After".into(), "9".into()));
        let failure = read::<Task>(&busy).unwrap_err();
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(9)));
    }

    #[test]
    fn an_error_code_in_a_200_is_still_an_error() {
        let answer = response(200, json!({"code": 1301, "message": "content safety", "data": null}));
        assert_eq!(read::<Task>(&answer).unwrap_err().code, FailureCode::ContentRejected);
    }

    #[test]
    fn unreadable_answers_fall_back_to_the_status() {
        let gateway = Response { status: 502, headers: Vec::new(), body: b"<html>bad gateway</html>".to_vec() };
        let failure = read::<Task>(&gateway).unwrap_err();
        assert_eq!((failure.code, failure.retryable), (FailureCode::ProviderUnavailable, true));
        let garbled = Response { status: 200, headers: Vec::new(), body: b"{}".to_vec() };
        assert!(read::<Task>(&garbled).unwrap_err().message.starts_with("unexpected answer from Kling"));
    }

    #[test]
    fn states_map_to_progress() {
        for state in ["submitted", "processing"] {
            let Progress::Running(running) = progress("h", task(json!({"task_id": "1", "task_status": state}))) else {
                panic!("{state} is running")
            };
            assert_eq!((running.handle.as_str(), running.percent, running.poll_after_ms), ("h", None, POLL_AFTER_MS));
        }
        let done = task(json!({
            "task_id": "1", "task_status": "succeed", "task_status_msg": "",
            "task_result": {"videos": [{"id": "v", "url": "https://cdn.example/v.mp4", "duration": "5.1"}]}
        }));
        let Progress::Done(artifacts) = progress("h", done) else { panic!("done") };
        assert_eq!(artifacts[0].url.as_deref(), Some("https://cdn.example/v.mp4"));
        assert_eq!((artifacts[0].mime.as_str(), artifacts[0].duration_ms), ("video/mp4", Some(5100)));
    }

    #[test]
    fn failed_tasks_separate_moderation_from_other_failures() {
        let cases = [
            ("Failure to pass the risk control system", FailureCode::ContentRejected),
            ("Image pixel is invalid", FailureCode::GenerationFailed),
            ("", FailureCode::GenerationFailed),
        ];
        for (message, code) in cases {
            let failed = task(json!({"task_id": "7", "task_status": "failed", "task_status_msg": message}));
            let Progress::Failed(failure) = progress("h", failed) else { panic!("failed") };
            assert_eq!(failure.code, code, "{message}");
            assert_eq!(failure.message, format!("Kling task 7 failed: {message}"));
        }
    }

    #[test]
    fn odd_answers_do_not_pass_for_success() {
        let empty = task(json!({"task_id": "1", "task_status": "succeed", "task_result": {"videos": []}}));
        let Progress::Failed(failure) = progress("h", empty) else { panic!("no video") };
        assert_eq!(failure.code, FailureCode::GenerationFailed);
        let unknown = task(json!({"task_id": "1", "task_status": "paused"}));
        let Progress::Failed(failure) = progress("h", unknown) else { panic!("unknown") };
        assert_eq!((failure.code, failure.retryable), (FailureCode::ProviderUnavailable, true));
    }
}
