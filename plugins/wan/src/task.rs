//! The DashScope video-synthesis task: the request body built from a job,
//! the task as `GET /api/v1/tasks/{id}` returns it, and what each state
//! means for the job.
//!
//! | `output.task_status`            | outcome                                                     |
//! |---------------------------------|-------------------------------------------------------------|
//! | `PENDING`, `RUNNING`            | running (DashScope reports no percentage)                   |
//! | `SUCCEEDED` with `video_url`    | done: the signed OSS URL (valid 24 h), size from `usage`    |
//! | `SUCCEEDED` without `video_url` | `generation-failed`                                         |
//! | `FAILED`                        | by `output.code`, see [`crate::errors`]                     |
//! | `CANCELED`                      | cancelled                                                   |
//! | `UNKNOWN`                       | `generation-failed`: the task does not exist or expired     |
//! | anything else                   | running, until the job's deadline                           |

use doitong_plugin_sdk::media;
use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::catalog::{
    self, ASPECT_RATIO, CLIP_SECONDS, DEFAULT_ASPECT_RATIO, NEGATIVE_PROMPT, PROMPT_EXTEND, RESOLUTION, SEED, Tier,
    WATERMARK,
};
use crate::errors;

/// What the host keeps between calls.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Handle {
    /// DashScope's task id (valid for 24 hours).
    pub task_id: String,
}

/// `POST …/video-synthesis` and `GET /tasks/{id}` answers.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskAnswer {
    /// The task.
    pub output: Output,
    /// What was billed; field names vary by model, so none is required.
    pub usage: Usage,
}

/// `output` of a task answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Output {
    /// The task's id.
    pub task_id: String,
    /// `PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELED` or `UNKNOWN`.
    pub task_status: String,
    /// The clip, once `SUCCEEDED`.
    pub video_url: Option<String>,
    /// Why it failed, once `FAILED`.
    pub code: Option<String>,
    /// DashScope's words for it.
    pub message: Option<String>,
}

/// `usage` of a finished wan2.2 task.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Seconds of video.
    pub video_duration: Option<f64>,
    /// `"1920*1080"`.
    pub video_ratio: Option<String>,
}

/// The request body for `request` on `tier`.
pub fn body(tier: &Tier, request: &JobRequest) -> Json {
    let options = Options::of(request);
    let image = request.input.image.as_ref().and_then(media::url_or_data_uri);
    let mut input = Map::new();
    if let Some(prompt) = request.input.text.as_deref().filter(|t| !t.is_empty()) {
        input.insert("prompt".into(), json!(prompt));
    }
    if let Some(negative) = options.text(NEGATIVE_PROMPT).filter(|t| !t.trim().is_empty()) {
        input.insert("negative_prompt".into(), json!(negative));
    }
    let resolution = options.text(RESOLUTION).unwrap_or(tier.default_resolution);
    let mut parameters = Map::new();
    match &image {
        Some(url) => {
            input.insert("img_url".into(), json!(url));
            parameters.insert("resolution".into(), json!(resolution.to_ascii_uppercase()));
        }
        None => {
            let ratio = options.text(ASPECT_RATIO).unwrap_or(DEFAULT_ASPECT_RATIO);
            parameters.insert("size".into(), json!(catalog::t2v_size(resolution, ratio)));
        }
    }
    parameters.insert("duration".into(), json!(CLIP_SECONDS));
    parameters.insert("prompt_extend".into(), json!(options.flag(PROMPT_EXTEND).unwrap_or(true)));
    parameters.insert("watermark".into(), json!(options.flag(WATERMARK).unwrap_or(false)));
    if let Some(seed) = options.integer(SEED) {
        parameters.insert("seed".into(), json!(seed));
    }
    json!({ "model": tier.model(image.is_some()), "input": input, "parameters": parameters })
}

/// What a task answer means for the job holding `task_handle`.
pub fn progress(task_handle: &str, answer: TaskAnswer, poll_after_ms: u32) -> Progress {
    let TaskAnswer { output, usage } = answer;
    match output.task_status.as_str() {
        "SUCCEEDED" => match output.video_url.filter(|u| !u.is_empty()) {
            Some(url) => Progress::Done(vec![artifact(url, &usage)]),
            None => Progress::Failed(failure::generation_failed("Wan reported success without a video URL")),
        },
        "FAILED" => Progress::Failed(errors::task_failure(
            output.code.as_deref().unwrap_or("unknown"),
            output.message.as_deref().unwrap_or("no message"),
        )),
        "CANCELED" => Progress::Cancelled,
        "UNKNOWN" => Progress::Failed(failure::generation_failed(
            "Wan no longer knows the task (UNKNOWN): it does not exist or expired after 24 hours",
        )),
        _ => Progress::Running(Running { handle: task_handle.to_string(), percent: None, poll_after_ms }),
    }
}

/// The clip, with the size and length DashScope reports in `usage`.
fn artifact(url: String, usage: &Usage) -> Artifact {
    let mut artifact = Artifact::from_url(url, "video/mp4");
    if let Some((width, height)) = usage.video_ratio.as_deref().and_then(parse_size) {
        artifact.width = Some(width);
        artifact.height = Some(height);
    }
    artifact.duration_ms = usage.video_duration.filter(|s| *s > 0.0).map(|s| (s * 1000.0).round() as u32);
    artifact
}

/// `"1920*1080"` → `(1920, 1080)`.
fn parse_size(size: &str) -> Option<(u32, u32)> {
    let (width, height) = size.split_once('*')?;
    Some((width.trim().parse().ok()?, height.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(offering: &str, image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        // Defaults filled in, as the host does.
        let all = spec::with_defaults(&catalog::offering(catalog::tier(offering).unwrap()), options);
        JobRequest {
            offering: offering.into(),
            kind: MediaKind::Video,
            input: JobInput { text: Some("A tabby cat napping".into()), image, audio: None, video: None, voice: None },
            options: all,
        }
    }

    #[test]
    fn text_to_video_sends_an_exact_size() {
        let options = [
            (ASPECT_RATIO, Value::Text("9:16".into())),
            (NEGATIVE_PROMPT, Value::Text("distorted paws".into())),
            (SEED, Value::Integer(12345)),
        ];
        let wan = catalog::tier("wan").unwrap();
        assert_eq!(
            body(wan, &request("wan", None, &options)),
            json!({
                "model": "wan2.2-t2v-plus",
                "input": { "prompt": "A tabby cat napping", "negative_prompt": "distorted paws" },
                "parameters": { "size": "1080*1920", "duration": 5, "prompt_extend": true, "watermark": false, "seed": 12345 }
            })
        );
        let default = body(wan, &request("wan", None, &[(RESOLUTION, Value::Text("480p".into()))]));
        assert_eq!(default["parameters"]["size"], "832*480");
    }

    #[test]
    fn image_to_video_sends_the_url_or_data_uri_and_a_tier() {
        let wan = catalog::tier("wan").unwrap();
        let linked = Media { url: "https://example.com/cat.jpg".into(), mime: Some("image/jpeg".into()), bytes: None };
        let sent = body(wan, &request("wan", Some(linked), &[(PROMPT_EXTEND, Value::Flag(false))]));
        assert_eq!(sent["model"], "wan2.2-i2v-plus");
        assert_eq!(sent["input"]["img_url"], "https://example.com/cat.jpg");
        assert_eq!(
            sent["parameters"],
            json!({ "resolution": "1080P", "duration": 5, "prompt_extend": false, "watermark": false })
        );
        let flash = catalog::tier("wan-flash").unwrap();
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) };
        let sent = body(flash, &request("wan-flash", Some(inline), &[]));
        assert_eq!(sent["model"], "wan2.2-i2v-flash");
        assert_eq!(sent["input"]["img_url"], "data:image/png;base64,AQID");
        assert_eq!(sent["parameters"]["resolution"], "720P");
    }

    fn answer(value: Json) -> TaskAnswer {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn statuses_map_to_progress() {
        for status in ["PENDING", "RUNNING", "SUSPENDED"] {
            let running = progress("h", answer(json!({ "output": { "task_id": "t", "task_status": status } })), 5_000);
            assert!(matches!(running, Progress::Running(Running { percent: None, poll_after_ms: 5_000, .. })));
        }
        let done = progress(
            "h",
            answer(json!({
                "request_id": "r",
                "output": { "task_id": "t", "task_status": "SUCCEEDED", "video_url": "https://oss.example/v.mp4?Signature=x" },
                "usage": { "video_duration": 5, "video_ratio": "1920*1080", "video_count": 1 }
            })),
            5_000,
        );
        let Progress::Done(artifacts) = done else { panic!("done") };
        assert_eq!(artifacts[0].url.as_deref(), Some("https://oss.example/v.mp4?Signature=x"));
        assert_eq!(
            (artifacts[0].width, artifacts[0].height, artifacts[0].duration_ms),
            (Some(1920), Some(1080), Some(5_000))
        );

        let failed = progress(
            "h",
            answer(
                json!({ "output": { "task_status": "FAILED", "code": "DataInspectionFailed", "message": "output unsafe" } }),
            ),
            5_000,
        );
        let Progress::Failed(failure) = failed else { panic!("failed") };
        assert_eq!(failure.code, FailureCode::ContentRejected);
        assert!(matches!(
            progress("h", answer(json!({ "output": { "task_status": "CANCELED" } })), 1),
            Progress::Cancelled
        ));
        let Progress::Failed(unknown) = progress("h", answer(json!({ "output": { "task_status": "UNKNOWN" } })), 1)
        else {
            panic!("unknown")
        };
        assert_eq!(unknown.code, FailureCode::GenerationFailed);
        let Progress::Failed(empty) = progress("h", answer(json!({ "output": { "task_status": "SUCCEEDED" } })), 1)
        else {
            panic!("no url")
        };
        assert_eq!(empty.code, FailureCode::GenerationFailed);
    }

    #[test]
    fn usage_without_sizes_leaves_metadata_to_the_host() {
        let artifact =
            artifact("https://x/v.mp4".into(), &Usage { video_duration: None, video_ratio: Some("odd".into()) });
        assert_eq!((artifact.width, artifact.height, artifact.duration_ms), (None, None, None));
    }

    #[test]
    fn handles_round_trip() {
        let handle = Handle { task_id: "0385dc79-5ff8".into() };
        assert_eq!(handle::decode::<Handle>(&handle::encode(&handle)).unwrap(), handle);
    }
}
