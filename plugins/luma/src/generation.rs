//! Luma generations: the request body, the handle we keep, and what a
//! generation's `state` means to us. Pure functions only (no HTTP).
//!
//! | Luma `state`  | Our progress                                                      |
//! |---------------|-------------------------------------------------------------------|
//! | `queued`      | running, 0 %                                                      |
//! | `dreaming`    | running, progress unknown (Luma reports none)                     |
//! | `completed`   | done: `assets.video` (MP4)                                        |
//! | `failed`      | moderation in `failure_reason` → content-rejected, else generation-failed |
//! | anything else | running, progress unknown (a state newer than this adapter)      |
//!
//! Creation errors: a 400/422 whose text is about moderation is
//! content-rejected; 402 (out of Luma credits) is rate-limited (retryable,
//! it passes once the account is topped up); the rest follow the SDK's
//! status table.

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{Value as Json, json};
use serde::{Deserialize, Serialize};

use crate::ray::{DEFAULT_ASPECT_RATIO, DEFAULT_DURATION_S, DEFAULT_RESOLUTION, Ray};

/// Luma's own client polls about every 3 s.
pub const POLL_AFTER_MS: u32 = 3_000;

/// What `poll` and `cancel` need: Luma's generation id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handle {
    /// The generation's UUID.
    pub id: String,
}

/// A Generation object (create, get): the fields we read.
#[derive(Debug, Deserialize)]
pub struct Generation {
    /// UUID.
    pub id: String,
    /// `queued`, `dreaming`, `completed` or `failed`.
    pub state: String,
    /// Set when `failed`.
    pub failure_reason: Option<String>,
    /// Set when `completed`.
    pub assets: Option<Assets>,
}

/// A generation's outputs.
#[derive(Debug, Deserialize)]
pub struct Assets {
    /// The MP4.
    pub video: Option<String>,
}

/// Refuse inputs Luma cannot take: a start frame given inline.
pub fn check_inputs(request: &JobRequest) -> Result<(), Failure> {
    match &request.input.image {
        Some(image) if image.url.is_empty() => Err(failure::invalid_input(
            "input.image must be an https:// URL for Luma: it fetches start frames itself and accepts no \
             data: URIs",
        )),
        _ => Ok(()),
    }
}

/// The `POST /generations/video` body for `request` on `ray`.
pub fn body(ray: Ray, request: &JobRequest) -> Json {
    let options = Options::of(request);
    let mut body = json!({
        "model": ray.api_name(),
        "prompt": request.input.text.as_deref().unwrap_or_default(),
        "aspect_ratio": options.text("aspectRatio").unwrap_or(DEFAULT_ASPECT_RATIO),
        "loop": options.flag("loop").unwrap_or(false),
    });
    if ray.sizes_selectable() {
        body["duration"] = json!(format!("{}s", options.integer("duration").unwrap_or(DEFAULT_DURATION_S)));
        body["resolution"] = json!(options.text("resolution").unwrap_or(DEFAULT_RESOLUTION));
    }
    if let Some(image) = &request.input.image {
        body["keyframes"] = json!({ "frame0": { "type": "image", "url": image.url } });
    }
    body
}

/// What a generation's state means; `encoded` is the handle as stored.
pub fn progress(generation: &Generation, encoded: &str) -> Progress {
    let running =
        |percent| Progress::Running(Running { handle: encoded.to_string(), percent, poll_after_ms: POLL_AFTER_MS });
    match generation.state.as_str() {
        "queued" => running(Some(0)),
        "completed" => match generation.assets.as_ref().and_then(|a| a.video.as_deref()) {
            Some(url) => Progress::Done(vec![Artifact::from_url(url, "video/mp4")]),
            None => Progress::Failed(failure::generation_failed(format!(
                "Luma completed generation {} without a video",
                generation.id
            ))),
        },
        "failed" => Progress::Failed(generation_failure(generation.failure_reason.as_deref())),
        _ => running(None),
    }
}

/// The answer to a creation: usually still running, but a generation that
/// already finished or failed is reported as such.
pub fn submitted(progress: Progress) -> Result<Submitted, Failure> {
    match progress {
        Progress::Running(running) => Ok(Submitted::Running(running)),
        Progress::Done(artifacts) => Ok(Submitted::Done(artifacts)),
        Progress::Failed(failure) => Err(failure),
        Progress::Cancelled => Err(failure::generation_failed("Luma cancelled the generation as it was created")),
    }
}

/// A failed generation, Luma's reason kept.
pub fn generation_failure(reason: Option<&str>) -> Failure {
    let reason = reason.filter(|r| !r.is_empty()).unwrap_or("no reason given");
    let message = format!("Luma failed the generation: {reason}");
    if is_moderation(reason) { failure::content_rejected(message) } else { failure::generation_failed(message) }
}

/// Whether Luma's text is about moderation, e.g. "Advanced moderation
/// failed" or "Prompt not allowed because it contains …".
fn is_moderation(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["moderat", "not allowed", "nsfw", "safety"].iter().any(|word| text.contains(word))
}

/// A non-2xx answer to `POST /generations/video`.
pub fn creation_failure(response: &http::Response) -> Failure {
    let detail = http::error_text(&response.body);
    match response.status {
        400 | 422 if is_moderation(&detail) => {
            failure::content_rejected(format!("Luma refused the prompt or image: {detail}"))
        }
        402 => failure::rate_limited(format!("the Luma account is out of credits (HTTP 402): {detail}")),
        400 | 404 | 422 if names_the_model(&detail) => failure::model_unavailable(format!(
            "Luma does not serve this model (set `model.<offering>` in [plugins.luma] settings): {detail}"
        )),
        _ => http::status_failure(response),
    }
}

/// Whether a refusal is about the `model` field (a model Luma no longer
/// has answers with a validation error naming it).
fn names_the_model(detail: &str) -> bool {
    let lower = detail.to_lowercase();
    lower.contains("model")
        && [
            "invalid",
            "not found",
            "not supported",
            "no longer",
            "does not exist",
            "unknown",
            "not one of",
            "input should be",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use doitong_plugin_sdk::serde_json;

    fn request(image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: "luma".into(),
            kind: MediaKind::Video,
            input: JobInput { text: Some("A hot air balloon".into()), image, audio: None, video: None, voice: None },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    fn generation(value: Json) -> Generation {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_refused_model_is_model_unavailable() {
        let answer = |status: u16, body: &str| http::Response { status, headers: vec![], body: body.into() };
        let retired = answer(400, r#"{"detail":"Invalid model: ray-1-6 is no longer available"}"#);
        assert_eq!(creation_failure(&retired).code, FailureCode::ModelUnavailable);
        let other = answer(400, r#"{"detail":"Invalid resolution 8k"}"#);
        assert_eq!(creation_failure(&other).code, FailureCode::InvalidInput);
        let mut busy = answer(429, r#"{"detail":"Too many requests"}"#);
        busy.headers.push(("Retry-After".into(), "12".into()));
        assert_eq!(creation_failure(&busy).retry_after_secs, Some(12));
    }

    #[test]
    fn bodies_follow_lumas_schema() {
        let options = [
            ("duration", Value::Integer(9)),
            ("resolution", Value::Text("1080p".into())),
            ("aspectRatio", Value::Text("9:21".into())),
            ("loop", Value::Flag(true)),
        ];
        let start = Media { url: "https://images.example/start.jpg".into(), mime: None, bytes: None };
        assert_eq!(
            body(Ray::Ray2, &request(Some(start), &options)),
            json!({
                "model": "ray-2",
                "prompt": "A hot air balloon",
                "aspect_ratio": "9:21",
                "loop": true,
                "duration": "9s",
                "resolution": "1080p",
                "keyframes": { "frame0": { "type": "image", "url": "https://images.example/start.jpg" } },
            })
        );
        let fixed = body(Ray::Ray16, &request(None, &[("duration", Value::Integer(5))]));
        assert_eq!(
            fixed,
            json!({ "model": "ray-1-6", "prompt": "A hot air balloon", "aspect_ratio": "16:9", "loop": false })
        );
    }

    #[test]
    fn inline_images_are_refused_and_urls_accepted() {
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1]) };
        let refused = check_inputs(&request(Some(inline), &[])).unwrap_err();
        assert_eq!(refused.code, FailureCode::InvalidInput);
        assert!(refused.message.contains("https:// URL"), "{}", refused.message);
        let linked = Media { url: "https://images.example/a.png".into(), mime: None, bytes: None };
        assert!(check_inputs(&request(Some(linked), &[])).is_ok() && check_inputs(&request(None, &[])).is_ok());
    }

    #[test]
    fn states_map_to_progress() {
        let queued = generation(json!({ "id": "g", "state": "queued", "failure_reason": null, "assets": null }));
        let Progress::Running(running) = progress(&queued, "h") else { panic!("queued runs") };
        assert_eq!((running.percent, running.poll_after_ms, running.handle.as_str()), (Some(0), POLL_AFTER_MS, "h"));
        let dreaming =
            generation(json!({ "id": "g", "state": "dreaming", "assets": { "progress_video": "https://x/p.mp4" } }));
        assert!(matches!(progress(&dreaming, "h"), Progress::Running(Running { percent: None, .. })));
        let done = generation(json!({
            "id": "g", "state": "completed",
            "assets": { "video": "https://storage.cdn-luma.example/v.mp4", "image": "https://storage.cdn-luma.example/t.jpg" }
        }));
        let Progress::Done(artifacts) = progress(&done, "h") else { panic!("done") };
        assert_eq!(
            (artifacts[0].url.as_deref(), artifacts[0].mime.as_str()),
            (Some("https://storage.cdn-luma.example/v.mp4"), "video/mp4")
        );
        let empty = generation(json!({ "id": "g", "state": "completed", "assets": {} }));
        assert!(matches!(progress(&empty, "h"), Progress::Failed(Failure { code: FailureCode::GenerationFailed, .. })));
    }

    #[test]
    fn failures_keep_lumas_reason_and_spot_moderation() {
        let cases = [
            ("Advanced moderation failed", FailureCode::ContentRejected),
            ("400: failed to moderate image", FailureCode::ContentRejected),
            ("Prompt not allowed because it contains blacklisted words", FailureCode::ContentRejected),
            ("Internal error during generation", FailureCode::GenerationFailed),
        ];
        for (reason, code) in cases {
            let failed = generation(json!({ "id": "g", "state": "failed", "failure_reason": reason }));
            let Progress::Failed(failure) = progress(&failed, "h") else { panic!("failed") };
            assert_eq!((failure.code, failure.retryable), (code, false), "{reason}");
            assert!(failure.message.ends_with(reason), "{}", failure.message);
        }
    }

    #[test]
    fn creation_errors_map_to_failures() {
        let cases = [
            (
                400,
                r#"{"detail":"Prompt not allowed because advanced moderation failed"}"#,
                FailureCode::ContentRejected,
            ),
            (400, r#"{"detail":"Invalid aspect ratio"}"#, FailureCode::InvalidInput),
            (401, r#"{"detail":"Invalid API key"}"#, FailureCode::Unauthorized),
            (402, r#"{"detail":"Insufficient credits"}"#, FailureCode::RateLimited),
            (429, r#"{"detail":"Too many concurrent generations"}"#, FailureCode::RateLimited),
            (503, "upstream unavailable", FailureCode::ProviderUnavailable),
        ];
        let answer = |status: u16, body: &str| http::Response { status, headers: vec![], body: body.into() };
        for (status, body, code) in cases {
            let failure = creation_failure(&answer(status, body));
            assert_eq!(failure.code, code, "{status} {body}");
            let detail = http::error_text(body.as_bytes());
            assert!(failure.message.contains(&detail), "{}", failure.message);
        }
        assert!(creation_failure(&answer(402, "{}")).retryable);
    }

    #[test]
    fn created_generations_become_submissions() {
        let queued = generation(json!({ "id": "g", "state": "queued" }));
        assert!(matches!(submitted(progress(&queued, "h")), Ok(Submitted::Running(_))));
        let refused =
            generation(json!({ "id": "g", "state": "failed", "failure_reason": "Advanced moderation failed" }));
        assert_eq!(submitted(progress(&refused, "h")).unwrap_err().code, FailureCode::ContentRejected);
    }
}
