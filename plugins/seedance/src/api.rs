//! ModelArk's content generation API on the wire: request and answer
//! bodies, its errors and task statuses mapped to ours, and the HTTP
//! exchanges.
//!
//! Refusals come as HTTP errors with `{"error": {"code", "message"}}`:
//!
//! | HTTP | `error.code`                                  | failure                         |
//! |------|-----------------------------------------------|---------------------------------|
//! | any  | `…SensitiveContentDetected…` (input or output moderation) | `content-rejected`  |
//! | 401  | `AuthenticationError`                         | `unauthorized`                  |
//! | 403  | `AccountOverdueError`                         | `rate-limited`, not retryable   |
//! | 403  | `AccessDenied` and others                     | `unauthorized`                  |
//! | 404 at create | `InvalidEndpointOrModel.NotFound` and other `…NotFound` (the model does not exist) | `model-unavailable` |
//! | 404  | anything else (model not activated)           | `unauthorized` (on a task: `generation-failed`) |
//! | 429  | `RateLimitExceeded…`, `QuotaExceeded`, `ServerOverloaded` | `rate-limited`, retryable |
//! | 400, 409, 413, 422 | `InvalidParameter`, `MissingParameter`, … | `invalid-input`         |
//! | 5xx and anything else | `InternalServiceError`, …             | `provider-unavailable`, retryable |
//!
//! Task statuses (`GET /contents/generations/tasks/{id}`):
//!
//! | `status`               | progress                                                  |
//! |------------------------|-----------------------------------------------------------|
//! | `queued`, `running`, or one added later | running (ModelArk reports no percentage) |
//! | `succeeded`            | done: `content.video_url`, with ModelArk's `duration`     |
//! | `failed`               | moderation codes → `content-rejected`; else `generation-failed`, with ModelArk's message |
//! | `expired`              | `generation-failed` (over `execution_expires_after`)      |
//! | `cancelled`            | cancelled                                                 |

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json;
use serde::{Deserialize, Serialize};

use crate::catalogue::Plan;

/// The vendor origin (BytePlus, ap-southeast-1): first in `allowed_hosts`,
/// so operators can move it with `base_url`.
pub const API: &str = "https://ark.ap-southeast.bytepluses.com";
/// The tasks collection under [`API`].
const TASKS: &str = "/api/v3/contents/generations/tasks";
/// Between polls: clips take about a minute.
pub const POLL_MS: u32 = 5_000;
/// Per-request timeout; creates carrying a 20 MiB data: URI need the time.
const REQUEST_TIMEOUT_MS: u32 = 60_000;

/// The task handle: ModelArk's task id.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Task {
    /// ModelArk's `id` (`cgt-…`).
    pub id: String,
}

/// `POST /contents/generations/tasks`.
#[derive(Serialize, Debug)]
pub struct SubmitBody<'a> {
    /// ModelArk's model id (`lib.rs` replaces it with the operator's
    /// setting, if any).
    pub model: String,
    content: Vec<Content<'a>>,
    resolution: &'static str,
    /// Left to ModelArk when not given: 16:9 from text, adaptive from an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio: Option<&'static str>,
    duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    camera_fixed: bool,
    watermark: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    generate_audio: Option<bool>,
}

/// One `content` item.
#[derive(Serialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Content<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl, role: &'static str },
}

#[derive(Serialize, Debug)]
struct ImageUrl {
    /// An https URL or a `data:image/…;base64,…` URI, as the user gave it.
    url: String,
}

impl<'a> SubmitBody<'a> {
    /// The body for a checked request.
    pub fn new(plan: &Plan, input: &'a JobInput) -> Self {
        let mut content = Vec::new();
        if let Some(text) = input.text.as_deref() {
            content.push(Content::Text { text });
        }
        if let Some(url) = input.image.as_ref().and_then(media::url_or_data_uri) {
            content.push(Content::ImageUrl { image_url: ImageUrl { url }, role: "first_frame" });
        }
        SubmitBody {
            model: plan.vendor_model().to_string(),
            content,
            resolution: plan.resolution.name(),
            ratio: plan.ratio.map(|r| r.name()),
            duration: plan.duration,
            seed: plan.seed,
            camera_fixed: plan.camera_fixed,
            watermark: plan.watermark,
            generate_audio: plan.generate_audio,
        }
    }
}

/// ModelArk's `error` object.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct VendorError {
    /// e.g. `InvalidParameter`, `OutputVideoSensitiveContentDetected`.
    #[serde(default)]
    pub code: String,
    /// ModelArk's words (they include its request id).
    #[serde(default)]
    pub message: String,
}

impl VendorError {
    fn describe(&self) -> String {
        match (self.code.is_empty(), self.message.is_empty()) {
            (true, true) => "ModelArk gave no reason".to_string(),
            (true, false) => self.message.clone(),
            (false, true) => self.code.clone(),
            (false, false) => format!("{}: {}", self.code, self.message),
        }
    }

    fn is_moderation(&self) -> bool {
        self.code.contains("SensitiveContentDetected")
    }
}

/// The failure for a refused call (see the module table).
pub fn refusal(status: u16, error: &VendorError) -> Failure {
    let message = format!("ModelArk answered HTTP {status}: {}", error.describe());
    if error.is_moderation() {
        return failure::content_rejected(message);
    }
    match status {
        401 => failure::unauthorized(message),
        403 if error.code == "AccountOverdueError" => Failure { retryable: false, ..failure::rate_limited(message) },
        403 | 404 => failure::unauthorized(message),
        429 => failure::rate_limited(message),
        400 | 409 | 413 | 422 => failure::invalid_input(message),
        _ => failure::provider_unavailable(message),
    }
}

/// A task as `GET /contents/generations/tasks/{id}` shows it.
#[derive(Deserialize, Debug, Default)]
pub struct VendorTask {
    /// See the module table.
    #[serde(default)]
    pub status: String,
    /// The result, once `succeeded`.
    #[serde(default)]
    pub content: Option<TaskContent>,
    /// Why it `failed`.
    #[serde(default)]
    pub error: Option<VendorError>,
    /// Seconds of the output.
    #[serde(default)]
    pub duration: Option<u32>,
}

/// `content` of a finished task.
#[derive(Deserialize, Debug, Default)]
pub struct TaskContent {
    /// The MP4, a signed link kept 24 hours.
    #[serde(default)]
    pub video_url: Option<String>,
}

/// A task's progress (see the module table).
pub fn progress(task_handle: &str, task: VendorTask) -> Progress {
    let running =
        || Progress::Running(Running { handle: task_handle.to_string(), percent: None, poll_after_ms: POLL_MS });
    match task.status.as_str() {
        "succeeded" => match task.content.and_then(|c| c.video_url).filter(|url| !url.is_empty()) {
            Some(url) => Progress::Done(vec![Artifact {
                duration_ms: task.duration.map(|seconds| seconds * 1000),
                ..Artifact::from_url(url, "video/mp4")
            }]),
            None => Progress::Failed(failure::generation_failed("ModelArk reported success without a video_url")),
        },
        "failed" => {
            let error = task.error.unwrap_or_default();
            let message = format!("ModelArk failed the task: {}", error.describe());
            Progress::Failed(if error.is_moderation() {
                failure::content_rejected(message)
            } else {
                failure::generation_failed(message)
            })
        }
        "expired" => Progress::Failed(failure::generation_failed(
            "ModelArk expired the task before it finished (execution_expires_after)",
        )),
        "cancelled" => Progress::Cancelled,
        _ => running(),
    }
}

/// What cancelling a task in a given status refunds.
#[derive(Debug, PartialEq)]
pub enum CancelRefund {
    /// Still queued: `DELETE` it, and nothing is billed.
    AfterDelete,
    /// Nothing to ask ModelArk: this share of the quote is not billed.
    Now(u8),
}

/// The refund for cancelling a task ModelArk shows in `status`.
pub fn cancel_refund(status: &str) -> CancelRefund {
    match status {
        "queued" => CancelRefund::AfterDelete,
        // Running tasks cannot be cancelled and are billed, as are finished ones.
        "running" | "succeeded" => CancelRefund::Now(0),
        // Only successful generations are billed.
        "failed" | "expired" | "cancelled" => CancelRefund::Now(100),
        _ => CancelRefund::Now(0),
    }
}

/// Create a task.
pub fn create(key: &str, body: &SubmitBody) -> Result<Task, Failure> {
    #[derive(Deserialize)]
    struct Created {
        #[serde(default)]
        id: String,
    }
    let request = http::post(format!("{API}{TASKS}")).bearer(key).json(body).timeout_ms(REQUEST_TIMEOUT_MS);
    let created: Created = http::decode_json(&request.send_with(create_refused)?)?;
    if created.id.is_empty() {
        // ModelArk may have started something: a retry could bill twice.
        return Err(failure::generation_failed("ModelArk answered without a task id"));
    }
    Ok(Task { id: created.id })
}

/// A task's current state; a task ModelArk no longer knows has failed.
pub fn get(key: &str, task: &Task) -> Result<VendorTask, Failure> {
    let request = http::get(format!("{API}{TASKS}/{}", task.id)).bearer(key).timeout_ms(REQUEST_TIMEOUT_MS);
    let response = request.send_with(|response| match response.status {
        404 => {
            let why = vendor_error(&response.body).describe();
            failure::generation_failed(format!("ModelArk no longer has task {}: {why}", task.id))
        }
        _ => refused(response),
    })?;
    http::decode_json(&response)
}

/// Cancel a queued task.
pub fn delete(key: &str, task: &Task) -> Result<(), Failure> {
    exchange(http::delete(format!("{API}{TASKS}/{}", task.id)).bearer(key)).map(drop)
}

/// Send a request; a non-2xx answer fails by [`refusal`].
fn exchange(request: http::Request) -> Result<http::Response, Failure> {
    request.timeout_ms(REQUEST_TIMEOUT_MS).send_with(refused)
}

/// The failure [`refusal`] gives for a non-2xx answer, with ModelArk's
/// `Retry-After` when it sent one.
fn refused(response: &http::Response) -> Failure {
    http::with_retry_after(refusal(response.status, &vendor_error(&response.body)), response)
}

/// A refused create: a 404 `…NotFound` there names the model (ModelArk's
/// `InvalidEndpointOrModel.NotFound`: the model does not exist, or is not
/// served to this account), which is `model-unavailable`.
pub fn create_refused(response: &http::Response) -> Failure {
    let error = vendor_error(&response.body);
    if response.status == 404 && error.code.ends_with("NotFound") {
        return failure::model_unavailable(format!(
            "ModelArk answered HTTP 404: {} (set `model.seedance` in [plugins.seedance] settings)",
            error.describe()
        ));
    }
    refused(response)
}

/// The `error` of an error body, or the body's text when it has none.
fn vendor_error(body: &[u8]) -> VendorError {
    #[derive(Deserialize)]
    struct Envelope {
        error: Option<VendorError>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error: Some(error) }) => error,
        _ => VendorError { code: String::new(), message: http::error_text(body) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Model, Ratio, Resolution};
    use doitong_plugin_sdk::serde_json::{Value as Json, json};

    fn plan(model: Model, image: bool) -> Plan {
        Plan {
            model,
            image,
            duration: 5,
            resolution: Resolution::P1080,
            ratio: None,
            seed: None,
            camera_fixed: false,
            watermark: false,
            generate_audio: None,
        }
    }

    fn input(image: Option<Media>) -> JobInput {
        JobInput { text: Some("A fox trotting through snow".into()), image, audio: None, video: None, voice: None }
    }

    fn task(body: Json) -> VendorTask {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn text_to_video_body_mirrors_modelark_fields() {
        let mut plan = plan(Model::Pro15, false);
        plan.ratio = Some(Ratio::Fixed(4));
        plan.seed = Some(11);
        plan.generate_audio = Some(false);
        plan.camera_fixed = true;
        let input = input(None);
        let body = serde_json::to_value(SubmitBody::new(&plan, &input)).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "seedance-1-5-pro-251215",
                "content": [{"type": "text", "text": "A fox trotting through snow"}],
                "resolution": "1080p",
                "ratio": "9:16",
                "duration": 5,
                "seed": 11,
                "camera_fixed": true,
                "watermark": false,
                "generate_audio": false
            })
        );
    }

    #[test]
    fn image_to_video_adds_a_first_frame_by_url_or_data_uri() {
        let linked = Media { url: "https://img.example/fox.png".into(), mime: None, bytes: None };
        let input = input(Some(linked));
        let body = serde_json::to_value(SubmitBody::new(&plan(Model::Lite, true), &input)).unwrap();
        assert_eq!(body["model"], "seedance-1-0-lite-i2v-250428");
        assert_eq!(
            body["content"][1],
            json!({"type": "image_url", "image_url": {"url": "https://img.example/fox.png"}, "role": "first_frame"})
        );
        assert_eq!((body.get("ratio"), body.get("seed"), body.get("generate_audio")), (None, None, None));

        let inline = Media { url: String::new(), mime: Some("image/jpeg".into()), bytes: Some(vec![0xff, 0xd8]) };
        let input = self::input(Some(inline));
        let body = serde_json::to_value(SubmitBody::new(&plan(Model::Pro, true), &input)).unwrap();
        assert_eq!(body["content"][1]["image_url"]["url"], "data:image/jpeg;base64,/9g=");
    }

    #[test]
    fn a_model_modelark_does_not_serve_is_model_unavailable_at_create() {
        let answer = |status: u16, body: &str| http::Response { status, headers: vec![], body: body.into() };
        let missing = answer(
            404,
            r#"{"error":{"code":"InvalidEndpointOrModel.NotFound","message":"The model or endpoint seedance-1-0-pro-250528 does not exist or you do not have access to it."}}"#,
        );
        let failure = create_refused(&missing);
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        assert!(failure.message.contains("does not exist"), "{}", failure.message);
        let mut busy = answer(429, r#"{"error":{"code":"RateLimitExceeded","message":"slow"}}"#);
        busy.headers.push(("Retry-After".into(), "3".into()));
        let failure = create_refused(&busy);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(3)));
    }

    #[test]
    fn refusals_map_to_failures() {
        let error = |code: &str| VendorError { code: code.into(), message: "why (request id 1)".into() };
        let cases = [
            (400, "InputTextSensitiveContentDetected", FailureCode::ContentRejected, false),
            (400, "InputImageSensitiveContentDetected.PrivacyInformation", FailureCode::ContentRejected, false),
            (400, "InvalidParameter", FailureCode::InvalidInput, false),
            (401, "AuthenticationError", FailureCode::Unauthorized, false),
            (403, "AccessDenied", FailureCode::Unauthorized, false),
            (403, "AccountOverdueError", FailureCode::RateLimited, false),
            (404, "InvalidEndpoint.NotFound", FailureCode::Unauthorized, false),
            (429, "RateLimitExceeded.EndpointRPMExceeded", FailureCode::RateLimited, true),
            (429, "QuotaExceeded", FailureCode::RateLimited, true),
            (500, "InternalServiceError", FailureCode::ProviderUnavailable, true),
            (503, "", FailureCode::ProviderUnavailable, true),
        ];
        for (status, code, expected, retryable) in cases {
            let failure = refusal(status, &error(code));
            assert_eq!((failure.code, failure.retryable), (expected, retryable), "{status} {code}");
            assert!(failure.message.starts_with(&format!("ModelArk answered HTTP {status}: ")), "{}", failure.message);
            assert!(failure.message.ends_with("why (request id 1)"));
        }
    }

    #[test]
    fn error_bodies_are_read_or_quoted() {
        let body = br#"{"error":{"code":"QuotaExceeded","message":"too many","param":"","type":"TooManyRequests"}}"#;
        assert_eq!(vendor_error(body), VendorError { code: "QuotaExceeded".into(), message: "too many".into() });
        assert_eq!(
            vendor_error(b"upstream connect error"),
            VendorError { code: String::new(), message: "upstream connect error".into() }
        );
    }

    #[test]
    fn statuses_map_to_progress() {
        for status in ["queued", "running", "paused"] {
            let progress = progress("h", task(json!({"id": "cgt-1", "status": status})));
            assert_eq!(
                progress,
                Progress::Running(Running { handle: "h".into(), percent: None, poll_after_ms: POLL_MS })
            );
        }
        let done = task(json!({
            "id": "cgt-20250601120000-x7k2p", "status": "succeeded",
            "content": {"video_url": "https://tos.example/v.mp4?X-Tos-Expires=86400"},
            "usage": {"completion_tokens": 246840, "total_tokens": 246840},
            "resolution": "1080p", "ratio": "16:9", "duration": 5, "framespersecond": 24
        }));
        let Progress::Done(artifacts) = progress("h", done) else { panic!("done") };
        assert_eq!(artifacts[0].url.as_deref(), Some("https://tos.example/v.mp4?X-Tos-Expires=86400"));
        assert_eq!((artifacts[0].duration_ms, artifacts[0].mime.as_str()), (Some(5000), "video/mp4"));
        assert_eq!(progress("h", task(json!({"status": "cancelled"}))), Progress::Cancelled);
        let Progress::Failed(failure) = progress("h", task(json!({"status": "succeeded", "content": {}}))) else {
            panic!("failed")
        };
        assert_eq!(failure.code, FailureCode::GenerationFailed);
    }

    #[test]
    fn failed_and_expired_tasks_are_final_and_keep_modelark_words() {
        let cases = [
            (
                json!({"status": "failed", "error": {"code": "OutputVideoSensitiveContentDetected", "message": "flagged"}}),
                FailureCode::ContentRejected,
                "ModelArk failed the task: OutputVideoSensitiveContentDetected: flagged",
            ),
            (
                json!({"status": "failed", "error": {"code": "InternalServiceError", "message": "boom"}}),
                FailureCode::GenerationFailed,
                "ModelArk failed the task: InternalServiceError: boom",
            ),
            (
                json!({"status": "failed"}),
                FailureCode::GenerationFailed,
                "ModelArk failed the task: ModelArk gave no reason",
            ),
            (
                json!({"status": "expired"}),
                FailureCode::GenerationFailed,
                "ModelArk expired the task before it finished (execution_expires_after)",
            ),
        ];
        for (body, code, message) in cases {
            let Progress::Failed(failure) = progress("h", task(body)) else { panic!("failed") };
            assert_eq!((failure.code, failure.retryable, failure.message.as_str()), (code, false, message));
        }
    }

    #[test]
    fn cancel_refunds_follow_what_modelark_bills() {
        assert_eq!(cancel_refund("queued"), CancelRefund::AfterDelete);
        assert_eq!(cancel_refund("running"), CancelRefund::Now(0));
        assert_eq!(cancel_refund("succeeded"), CancelRefund::Now(0));
        assert_eq!(cancel_refund("failed"), CancelRefund::Now(100));
        assert_eq!(cancel_refund("expired"), CancelRefund::Now(100));
    }

    #[test]
    fn handles_round_trip() {
        let task = Task { id: "cgt-20250601120000-x7k2p".into() };
        assert_eq!(handle::decode::<Task>(&handle::encode(&task)).unwrap(), task);
    }
}
