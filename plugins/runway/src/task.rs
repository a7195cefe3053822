//! Runway tasks: the handle we keep for one, and what its state means to us.
//!
//! Pure functions only (no HTTP), so the mapping is unit-tested natively.
//!
//! | Runway `status` | Our progress                                                        |
//! |-----------------|---------------------------------------------------------------------|
//! | `PENDING`       | running, 0 %                                                        |
//! | `THROTTLED`     | running, 0 % (held at the org's concurrency limit; starts by itself) |
//! | `RUNNING`       | running, `progress` × 100 %                                         |
//! | `SUCCEEDED`     | done: `output[0]`, an MP4 of the planned size and duration          |
//! | `FAILED`        | `failureCode` `SAFETY.*` → content-rejected, else generation-failed |
//! | `CANCELLED`     | cancelled (someone cancelled or deleted the task at Runway)         |
//! | anything else   | running, progress unknown (a status newer than this adapter)        |

use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// How long Runway asks clients to wait between polls of one task.
pub const POLL_AFTER_MS: u32 = 5_000;

/// What `poll` and `cancel` need: the task id, and the output's planned
/// size and length (Runway's `ratio` and `duration` fix them) for the
/// artifact's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handle {
    /// Runway's task id.
    pub id: String,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Output length in milliseconds.
    pub duration_ms: u32,
}

/// `POST /v1/{text,image}_to_video` answers with the new task's id.
#[derive(Debug, Deserialize)]
pub struct Created {
    /// The task id to poll.
    pub id: String,
}

/// `GET /v1/tasks/{id}`: the fields we read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// `PENDING`, `THROTTLED`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELLED`.
    pub status: String,
    /// 0–1 while `RUNNING`.
    pub progress: Option<f64>,
    /// Result URLs once `SUCCEEDED`; they expire within 24–48 h.
    #[serde(default)]
    pub output: Vec<String>,
    /// Human-readable reason once `FAILED`.
    pub failure: Option<String>,
    /// Machine-readable reason once `FAILED`, e.g. `SAFETY.INPUT.TEXT`.
    pub failure_code: Option<String>,
}

/// What a task's state means for the generation; `encoded` is the handle
/// as the host stores it.
pub fn progress(task: &Task, handle: &Handle, encoded: &str) -> Progress {
    let running =
        |percent| Progress::Running(Running { handle: encoded.to_string(), percent, poll_after_ms: POLL_AFTER_MS });
    match task.status.as_str() {
        "PENDING" | "THROTTLED" => running(Some(0)),
        "RUNNING" => running(task.progress.map(percent)),
        "SUCCEEDED" => match task.output.first() {
            Some(url) => Progress::Done(vec![artifact(url, handle)]),
            None => Progress::Failed(failure::generation_failed("Runway reported success but returned no video")),
        },
        "FAILED" => Progress::Failed(task_failure(task.failure.as_deref(), task.failure_code.as_deref())),
        "CANCELLED" => Progress::Cancelled,
        _ => running(None),
    }
}

/// A 0–1 fraction as a whole percentage.
fn percent(fraction: f64) -> u8 {
    (fraction * 100.0).round().clamp(0.0, 100.0) as u8
}

fn artifact(url: &str, handle: &Handle) -> Artifact {
    Artifact {
        width: Some(handle.width),
        height: Some(handle.height),
        duration_ms: Some(handle.duration_ms),
        ..Artifact::from_url(url, "video/mp4")
    }
}

/// A failed task: moderation (`SAFETY.*` anywhere in the code, e.g.
/// `SAFETY.INPUT.TEXT` or `INPUT_PREPROCESSING.SAFETY.TEXT`) is
/// content-rejected; anything else is a generation failure. Runway's own
/// words and code are kept.
pub fn task_failure(reason: Option<&str>, code: Option<&str>) -> Failure {
    let reason = reason.filter(|r| !r.is_empty()).unwrap_or("no reason given");
    let message = match code {
        Some(code) => format!("Runway failed the task: {reason} ({code})"),
        None => format!("Runway failed the task: {reason}"),
    };
    let moderated = code.is_some_and(|c| c.split('.').any(|part| part == "SAFETY"));
    if moderated { failure::content_rejected(message) } else { failure::generation_failed(message) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doitong_plugin_sdk::serde_json::{self, json};

    fn handle() -> Handle {
        Handle { id: "17f20503".into(), width: 1280, height: 720, duration_ms: 5_000 }
    }

    fn task(value: serde_json::Value) -> Task {
        serde_json::from_value(value).unwrap()
    }

    fn running_percent(progress: Progress) -> Option<u8> {
        match progress {
            Progress::Running(running) => {
                assert_eq!((running.handle.as_str(), running.poll_after_ms), ("h", POLL_AFTER_MS));
                running.percent
            }
            other => panic!("expected running, got {other:?}"),
        }
    }

    #[test]
    fn waiting_and_running_states_report_progress() {
        for status in ["PENDING", "THROTTLED"] {
            assert_eq!(running_percent(progress(&task(json!({ "status": status })), &handle(), "h")), Some(0));
        }
        let running =
            task(json!({ "id": "t", "createdAt": "2025-06-01T12:00:00.000Z", "status": "RUNNING", "progress": 0.42 }));
        assert_eq!(running_percent(progress(&running, &handle(), "h")), Some(42));
        assert_eq!(running_percent(progress(&task(json!({ "status": "RUNNING" })), &handle(), "h")), None);
        assert_eq!(running_percent(progress(&task(json!({ "status": "PAUSED" })), &handle(), "h")), None);
    }

    #[test]
    fn success_is_the_first_output_with_the_planned_metadata() {
        let done = task(json!({ "status": "SUCCEEDED", "output": ["https://cdn.example/out.mp4?_jwt=x"] }));
        let Progress::Done(artifacts) = progress(&done, &handle(), "h") else { panic!("done") };
        let [artifact] = &artifacts[..] else { panic!("one artifact") };
        assert_eq!(artifact.url.as_deref(), Some("https://cdn.example/out.mp4?_jwt=x"));
        assert_eq!((artifact.mime.as_str(), artifact.width, artifact.height), ("video/mp4", Some(1280), Some(720)));
        assert_eq!(artifact.duration_ms, Some(5_000));
        let empty = task(json!({ "status": "SUCCEEDED", "output": [] }));
        let Progress::Failed(failure) = progress(&empty, &handle(), "h") else { panic!("no output is a failure") };
        assert_eq!(failure.code, FailureCode::GenerationFailed);
    }

    #[test]
    fn failures_keep_runways_words_and_moderation_is_content_rejected() {
        let cases = [
            (Some("SAFETY.INPUT.TEXT"), FailureCode::ContentRejected),
            (Some("INPUT_PREPROCESSING.SAFETY.TEXT"), FailureCode::ContentRejected),
            (Some("SAFETY.OUTPUT.VIDEO"), FailureCode::ContentRejected),
            (Some("INTERNAL.BAD_OUTPUT.CODE01"), FailureCode::GenerationFailed),
            (Some("ASSET.INVALID"), FailureCode::GenerationFailed),
            (None, FailureCode::GenerationFailed),
        ];
        for (code, expected) in cases {
            let failed =
                task(json!({ "status": "FAILED", "failure": "The prompt was rejected.", "failureCode": code }));
            let Progress::Failed(failure) = progress(&failed, &handle(), "h") else { panic!("failed") };
            assert_eq!((failure.code, failure.retryable), (expected, false), "{code:?}");
            assert!(failure.message.contains("The prompt was rejected."), "{}", failure.message);
            assert!(code.is_none_or(|c| failure.message.contains(c)), "{}", failure.message);
        }
    }

    #[test]
    fn cancelled_tasks_end_cancelled() {
        assert_eq!(progress(&task(json!({ "status": "CANCELLED" })), &handle(), "h"), Progress::Cancelled);
    }

    #[test]
    fn handles_round_trip() {
        let encoded = handle::encode(&handle());
        assert_eq!(handle::decode::<Handle>(&encoded).unwrap(), handle());
        assert_eq!(handle::decode::<Handle>("{}").unwrap_err().code, FailureCode::InvalidInput);
    }
}
