//! MiniMax's video API v1 on the wire: request and answer bodies, its
//! error codes and task statuses mapped to ours, and the HTTP exchanges.
//!
//! Every answer carries `base_resp.status_code` (0 = success), usually with
//! HTTP 200, so errors are read from the body first and from the HTTP
//! status only when the body says nothing. Request-level codes:
//!
//! | `status_code`                      | failure                               |
//! |------------------------------------|---------------------------------------|
//! | 1002 rate limit, 1039 token limit, 1041 connection limit, 2045 rate growth limit, 2056 usage limit | `rate-limited`, retryable |
//! | 1008 insufficient balance          | `rate-limited`, not retryable         |
//! | 1004 not authorized, 2049 invalid API key | `unauthorized`                 |
//! | 1026 input sensitive, 1027 output sensitive | `content-rejected`           |
//! | 2013 invalid parameters, 1042 invisible characters | `invalid-input`       |
//! | 1000 unknown, 1001 timeout, 1024 internal, 1033 system error | `provider-unavailable`, retryable |
//! | any other code                     | `provider-unavailable`, not retryable |
//!
//! Task statuses (`GET /v1/query/video_generation`, compared
//! case-insensitively since MiniMax's callback docs spell them in lower
//! case):
//!
//! | `status`                            | progress                                       |
//! |-------------------------------------|------------------------------------------------|
//! | `Preparing`, `Queueing`, `Processing`, or one added later | running (MiniMax reports no percentage) |
//! | `Success`                           | done: `file_id` → `/v1/files/retrieve` → `download_url` |
//! | `Fail`                              | 1026/1027 → `content-rejected`; anything else → `generation-failed`, with MiniMax's message |

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{self, Value as Json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::catalogue::Plan;

/// The vendor origin (global platform): first in `allowed_hosts`, so
/// operators can move it with `base_url` (e.g. to `https://api.minimaxi.com`).
pub const API: &str = "https://api.minimax.io";
/// Between polls: MiniMax's samples poll every 10 s; clips take minutes.
pub const POLL_MS: u32 = 10_000;
/// Per-request timeout; submits carrying a 20 MiB data: URI need the time.
const REQUEST_TIMEOUT_MS: u32 = 60_000;

/// The task handle: MiniMax's task id.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Task {
    /// MiniMax's `task_id`.
    pub task_id: String,
}

/// `POST /v1/video_generation`.
#[derive(Serialize, Debug)]
pub struct SubmitBody<'a> {
    model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
    duration: i64,
    resolution: &'static str,
    prompt_optimizer: bool,
    /// Sent only to the models that know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    fast_pretreatment: Option<bool>,
    aigc_watermark: bool,
    /// An https URL or a `data:image/…;base64,…` URI, as the user gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_frame_image: Option<String>,
}

impl<'a> SubmitBody<'a> {
    /// The body for a checked request.
    pub fn new(plan: &Plan, input: &'a JobInput) -> Self {
        SubmitBody {
            model: plan.vendor_model().to_string(),
            prompt: input.text.as_deref().filter(|t| !t.trim().is_empty()),
            duration: plan.duration,
            resolution: plan.resolution.vendor_name(),
            prompt_optimizer: plan.prompt_optimizer,
            fast_pretreatment: plan.model.has_fast_pretreatment().then_some(plan.fast_pretreatment),
            aigc_watermark: plan.watermark,
            first_frame_image: input.image.as_ref().and_then(media::url_or_data_uri),
        }
    }

    /// The same body naming MiniMax model `model` (the operator's setting
    /// `model.minimax…`, resolved by `lib.rs`).
    pub fn with_model(self, model: String) -> Self {
        SubmitBody { model, ..self }
    }
}

/// `base_resp`: MiniMax's result code for every call.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct BaseResp {
    /// 0 on success.
    #[serde(default)]
    pub status_code: i64,
    /// MiniMax's message.
    #[serde(default)]
    pub status_msg: String,
}

impl BaseResp {
    /// `Ok` for code 0, else the failure the code stands for.
    fn check(&self) -> Result<(), Failure> {
        if self.status_code == 0 { Ok(()) } else { Err(request_failure(self)) }
    }

    fn describe(&self) -> String {
        match (self.status_code, self.status_msg.is_empty()) {
            (0, _) => "MiniMax reported the task failed".to_string(),
            (code, true) => format!("MiniMax error {code}"),
            (code, false) => format!("MiniMax error {code}: {}", self.status_msg),
        }
    }
}

/// The failure for a call MiniMax refused (see the module table).
pub fn request_failure(base: &BaseResp) -> Failure {
    let message = base.describe();
    match base.status_code {
        1002 | 1039 | 1041 | 2045 | 2056 => failure::rate_limited(message),
        1008 => Failure { retryable: false, ..failure::rate_limited(message) },
        1004 | 2049 => failure::unauthorized(message),
        1026 | 1027 => failure::content_rejected(message),
        1042 | 2013 => failure::invalid_input(message),
        1000 | 1001 | 1024 | 1033 => failure::provider_unavailable(message),
        _ => Failure { retryable: false, ..failure::provider_unavailable(message) },
    }
}

/// The failure for a task MiniMax ended with `Fail`: final, never retried.
pub fn task_failure(base: &BaseResp) -> Failure {
    match base.status_code {
        1026 | 1027 => failure::content_rejected(base.describe()),
        _ => failure::generation_failed(base.describe()),
    }
}

/// Answer to the submit.
#[derive(Deserialize, Debug)]
struct SubmitAnswer {
    #[serde(default, deserialize_with = "id_text")]
    task_id: Option<String>,
    #[serde(default)]
    base_resp: BaseResp,
}

/// Answer to `GET /v1/query/video_generation`.
#[derive(Deserialize, Debug, Default)]
pub struct QueryAnswer {
    /// `Preparing`, `Queueing`, `Processing`, `Success` or `Fail`.
    #[serde(default)]
    pub status: String,
    /// The output file, on `Success`.
    #[serde(default, deserialize_with = "id_text")]
    pub file_id: Option<String>,
    /// Pixels, on `Success`.
    #[serde(default)]
    pub video_width: Option<u32>,
    /// Pixels, on `Success`.
    #[serde(default)]
    pub video_height: Option<u32>,
    /// The call's result, or why the task failed.
    #[serde(default)]
    pub base_resp: BaseResp,
}

/// Answer to `GET /v1/files/retrieve`.
#[derive(Deserialize, Debug)]
struct FileAnswer {
    #[serde(default)]
    file: Option<FileInfo>,
    #[serde(default)]
    base_resp: BaseResp,
}

#[derive(Deserialize, Debug)]
struct FileInfo {
    #[serde(default)]
    download_url: Option<String>,
}

/// Where a task stands.
#[derive(Debug, PartialEq)]
pub enum TaskState {
    /// Preparing, queueing or generating.
    Working,
    /// Finished: the file to fetch.
    Succeeded(Video),
}

/// A finished task's output file.
#[derive(Debug, PartialEq)]
pub struct Video {
    /// MiniMax's `file_id`.
    pub file_id: String,
    /// Pixels, when MiniMax says.
    pub width: Option<u32>,
    /// Pixels, when MiniMax says.
    pub height: Option<u32>,
}

impl Video {
    /// The artifact for the file's download link. The duration is read by
    /// the host from the MP4: MiniMax does not report it.
    pub fn artifact(self, url: String) -> Artifact {
        Artifact { width: self.width, height: self.height, ..Artifact::from_url(url, "video/mp4") }
    }
}

/// Read a query answer (see the module table).
pub fn task_state(answer: &QueryAnswer) -> Result<TaskState, Failure> {
    match answer.status.to_ascii_lowercase().as_str() {
        "fail" | "failed" => Err(task_failure(&answer.base_resp)),
        _ if answer.base_resp.status_code != 0 => Err(request_failure(&answer.base_resp)),
        "success" => match &answer.file_id {
            Some(file_id) => Ok(TaskState::Succeeded(Video {
                file_id: file_id.clone(),
                width: answer.video_width,
                height: answer.video_height,
            })),
            None => Err(failure::generation_failed("MiniMax reported success without a file_id")),
        },
        _ => Ok(TaskState::Working),
    }
}

/// Start a task.
pub fn submit(key: &str, body: &SubmitBody) -> Result<Task, Failure> {
    let answer: SubmitAnswer =
        exchange(http::post(format!("{API}/v1/video_generation")).bearer(key).json(body)).map_err(at_submit)?;
    answer.base_resp.check().map_err(at_submit)?;
    // MiniMax may have started something: not retryable, or a retry could
    // start (and bill) a second task.
    let task_id = answer.task_id.ok_or_else(|| failure::generation_failed("MiniMax answered without a task_id"))?;
    Ok(Task { task_id })
}

/// A refused submit: an invalid-parameter refusal about the model (MiniMax
/// answers 2013 "invalid params" naming the model it does not serve) is
/// `model-unavailable`; anything else is kept.
pub fn at_submit(failure: Failure) -> Failure {
    if failure.code == FailureCode::InvalidInput && failure.message.to_lowercase().contains("model") {
        return failure::model_unavailable(format!(
            "{} (the model is retired or unknown: set `model.minimax` in [plugins.minimax] settings)",
            failure.message
        ));
    }
    failure
}

/// The task's current state.
pub fn query(key: &str, task: &Task) -> Result<QueryAnswer, Failure> {
    exchange(http::get(format!("{API}/v1/query/video_generation?task_id={}", task.task_id)).bearer(key))
}

/// A fresh download link for a finished task's file (valid about an hour).
pub fn download_url(key: &str, file_id: &str) -> Result<String, Failure> {
    let answer: FileAnswer = exchange(http::get(format!("{API}/v1/files/retrieve?file_id={file_id}")).bearer(key))?;
    answer.base_resp.check()?;
    answer
        .file
        .and_then(|f| f.download_url)
        .filter(|url| !url.is_empty())
        .ok_or_else(|| failure::generation_failed(format!("MiniMax gave no download_url for file {file_id}")))
}

/// Send a request and decode its answer. A non-2xx answer fails by its
/// `base_resp` code when it has one, else by its HTTP status. Shared with
/// the image offering ([`crate::image::api`]).
pub(crate) fn exchange<T: DeserializeOwned>(request: http::Request) -> Result<T, Failure> {
    let response = request.timeout_ms(REQUEST_TIMEOUT_MS).send_with(|response| {
        match base_resp_of(&response.body).filter(|b| b.status_code != 0) {
            Some(base) => http::with_retry_after(request_failure(&base), response),
            None => http::status_failure(response),
        }
    })?;
    http::decode_json(&response)
}

/// The `base_resp` of any MiniMax body, if it has one.
fn base_resp_of(body: &[u8]) -> Option<BaseResp> {
    #[derive(Deserialize)]
    struct Envelope {
        base_resp: Option<BaseResp>,
    }
    serde_json::from_slice::<Envelope>(body).ok()?.base_resp
}

/// Ids come as strings (`task_id`, query `file_id`) or integers (files API).
fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Json>::deserialize(deserializer)? {
        Some(Json::String(text)) if !text.is_empty() => Some(text),
        Some(Json::Number(number)) => Some(number.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Model, Resolution};
    use doitong_plugin_sdk::serde_json::json;

    fn plan(model: Model, image: bool) -> Plan {
        Plan {
            model,
            image,
            duration: 6,
            resolution: model.default_resolution(),
            prompt_optimizer: true,
            fast_pretreatment: false,
            watermark: false,
        }
    }

    fn input(text: Option<&str>, image: Option<Media>) -> JobInput {
        JobInput { text: text.map(str::to_string), image, audio: None, video: None, voice: None }
    }

    fn answer(body: Json) -> QueryAnswer {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn text_to_video_body_mirrors_minimax_fields() {
        let input = input(Some("A red kite [Tracking shot]"), None);
        let mut plan = plan(Model::Hailuo02, false);
        plan.resolution = Resolution::P1080;
        plan.fast_pretreatment = true;
        let body = serde_json::to_value(SubmitBody::new(&plan, &input)).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "MiniMax-Hailuo-02",
                "prompt": "A red kite [Tracking shot]",
                "duration": 6,
                "resolution": "1080P",
                "prompt_optimizer": true,
                "fast_pretreatment": true,
                "aigc_watermark": false
            })
        );
    }

    #[test]
    fn image_to_video_passes_urls_and_data_uris_as_given() {
        let linked = Media { url: "https://img.example/first.png".into(), mime: None, bytes: None };
        let body =
            serde_json::to_value(SubmitBody::new(&plan(Model::Hailuo23, true), &input(None, Some(linked)))).unwrap();
        assert_eq!(body["first_frame_image"], "https://img.example/first.png");
        assert_eq!(body.get("prompt"), None);
        assert_eq!(body["model"], "MiniMax-Hailuo-2.3");

        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) };
        let body =
            serde_json::to_value(SubmitBody::new(&plan(Model::Hailuo23Fast, true), &input(Some("x"), Some(inline))))
                .unwrap();
        assert_eq!(body["first_frame_image"], "data:image/png;base64,AQID");
        assert_eq!(
            (body["model"].as_str(), body["resolution"].as_str()),
            (Some("MiniMax-Hailuo-2.3-Fast"), Some("768P"))
        );
    }

    #[test]
    fn a_model_minimax_does_not_serve_is_model_unavailable_at_submit() {
        let refused = request_failure(&BaseResp {
            status_code: 2013,
            status_msg: "invalid params, model T2V-01 not support".into(),
        });
        let failure = at_submit(refused);
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        assert!(failure.message.contains("model T2V-01 not support"), "{}", failure.message);
        let other = at_submit(request_failure(&BaseResp { status_code: 2013, status_msg: "duration invalid".into() }));
        assert_eq!(other.code, FailureCode::InvalidInput);
        let busy = at_submit(request_failure(&BaseResp { status_code: 1002, status_msg: "rate limit model".into() }));
        assert_eq!(busy.code, FailureCode::RateLimited, "only invalid-input refusals are about the model");
    }

    #[test]
    fn error_codes_map_to_failures() {
        let cases = [
            (1002, FailureCode::RateLimited, true),
            (1039, FailureCode::RateLimited, true),
            (2056, FailureCode::RateLimited, true),
            (1008, FailureCode::RateLimited, false),
            (1004, FailureCode::Unauthorized, false),
            (2049, FailureCode::Unauthorized, false),
            (1026, FailureCode::ContentRejected, false),
            (1027, FailureCode::ContentRejected, false),
            (2013, FailureCode::InvalidInput, false),
            (1042, FailureCode::InvalidInput, false),
            (1000, FailureCode::ProviderUnavailable, true),
            (1001, FailureCode::ProviderUnavailable, true),
            (1033, FailureCode::ProviderUnavailable, true),
            (4242, FailureCode::ProviderUnavailable, false),
        ];
        for (code, expected, retryable) in cases {
            let failure = request_failure(&BaseResp { status_code: code, status_msg: "why".into() });
            assert_eq!((failure.code, failure.retryable), (expected, retryable), "code {code}");
            assert_eq!(failure.message, format!("MiniMax error {code}: why"));
        }
    }

    #[test]
    fn statuses_map_to_progress() {
        for status in ["Preparing", "Queueing", "Processing", "processing", "Rendering"] {
            let state = task_state(&answer(json!({"task_id": "1", "status": status, "base_resp": {"status_code": 0}})));
            assert_eq!(state, Ok(TaskState::Working), "{status}");
        }
        let done = answer(json!({
            "task_id": "106916112212032", "status": "Success", "file_id": "205258526306433",
            "video_width": 1920, "video_height": 1080, "base_resp": {"status_code": 0, "status_msg": "success"}
        }));
        let video = Video { file_id: "205258526306433".into(), width: Some(1920), height: Some(1080) };
        assert_eq!(task_state(&done), Ok(TaskState::Succeeded(video)));
        let no_file = answer(json!({"status": "Success", "base_resp": {"status_code": 0}}));
        assert_eq!(task_state(&no_file).unwrap_err().code, FailureCode::GenerationFailed);
    }

    #[test]
    fn failed_tasks_are_final_and_keep_minimax_words() {
        let moderated =
            answer(json!({"status": "Fail", "base_resp": {"status_code": 1027, "status_msg": "output new_sensitive"}}));
        let failure = task_state(&moderated).unwrap_err();
        assert_eq!((failure.code, failure.retryable), (FailureCode::ContentRejected, false));
        assert_eq!(failure.message, "MiniMax error 1027: output new_sensitive");
        // Even a "retry later" code ends a task MiniMax has failed.
        let system =
            answer(json!({"status": "Fail", "base_resp": {"status_code": 1033, "status_msg": "system error"}}));
        let failure = task_state(&system).unwrap_err();
        assert_eq!((failure.code, failure.retryable), (FailureCode::GenerationFailed, false));
        let silent = answer(json!({"status": "failed"}));
        assert_eq!(task_state(&silent).unwrap_err().message, "MiniMax reported the task failed");
    }

    #[test]
    fn refused_queries_fail_by_code() {
        let limited = answer(json!({"status": "", "base_resp": {"status_code": 1002, "status_msg": "rate limit"}}));
        let failure = task_state(&limited).unwrap_err();
        assert_eq!((failure.code, failure.retryable), (FailureCode::RateLimited, true));
        let denied = answer(json!({"base_resp": {"status_code": 1004, "status_msg": "login fail"}}));
        assert_eq!(task_state(&denied).unwrap_err().code, FailureCode::Unauthorized);
    }

    #[test]
    fn ids_read_from_strings_or_integers_and_bodies_from_error_answers() {
        let retrieved: FileAnswer = serde_json::from_value(json!({
            "file": {"file_id": 205258526306433_u64, "download_url": "https://cdn.example/v.mp4"},
            "base_resp": {"status_code": 0, "status_msg": "success"}
        }))
        .unwrap();
        assert_eq!(retrieved.file.unwrap().download_url.as_deref(), Some("https://cdn.example/v.mp4"));
        let submitted: SubmitAnswer =
            serde_json::from_value(json!({"task_id": 106916112212032_u64, "base_resp": {"status_code": 0}})).unwrap();
        assert_eq!(submitted.task_id.as_deref(), Some("106916112212032"));
        let empty: SubmitAnswer =
            serde_json::from_value(json!({"task_id": "", "base_resp": {"status_code": 1002}})).unwrap();
        assert_eq!((empty.task_id, empty.base_resp.status_code), (None, 1002));
        let base = base_resp_of(br#"{"base_resp":{"status_code":1004,"status_msg":"login fail"}}"#).unwrap();
        assert_eq!(base, BaseResp { status_code: 1004, status_msg: "login fail".into() });
        assert_eq!(base_resp_of(b"<html>bad gateway</html>"), None);
    }

    #[test]
    fn artifacts_carry_minimax_dimensions() {
        let video = Video { file_id: "7".into(), width: Some(1366), height: Some(768) };
        let artifact = video.artifact("https://cdn.example/7.mp4".into());
        assert_eq!(artifact.url.as_deref(), Some("https://cdn.example/7.mp4"));
        assert_eq!((artifact.width, artifact.height, artifact.duration_ms), (Some(1366), Some(768), None));
        assert_eq!(artifact.mime, "video/mp4");
    }

    #[test]
    fn handles_round_trip() {
        let task = Task { task_id: "106916112212032".into() };
        assert_eq!(handle::decode::<Task>(&handle::encode(&task)).unwrap(), task);
    }
}
