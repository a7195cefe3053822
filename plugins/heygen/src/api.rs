//! HeyGen's API v3 on the wire: the video body, asset uploads, video
//! statuses and errors mapped to ours, and the HTTP exchanges.
//!
//! Every call sends `X-Api-Key`. Errors come as `{"error": {"code",
//! "message", "param", "doc_url"}}` with a meaningful HTTP status:
//!
//! | HeyGen answer | failure |
//! |---|---|
//! | a code naming moderation or blocked content (`moderation…`, `…blocked…`, `…policy…`, `inappropriate…`) | `content-rejected` |
//! | 401 `unauthorized`, 403 `forbidden`/`resource_access_denied` | `unauthorized` |
//! | 402 `insufficient_credit` | `rate-limited`, not retryable (the account needs funds) |
//! | 400, 404, 410, 422 whose code or message says deprecated, retired or no longer available (an engine HeyGen stopped serving) | `model-unavailable` (replace it with `model.heygen`) |
//! | 400, 404, 409, 413, 422 (`invalid_parameter`, `not_found`, …) | `invalid-input` |
//! | 429 `rate_limit_exceeded` | `rate-limited`, retryable, held back for `Retry-After` |
//! | 5xx, anything else | `provider-unavailable`, retryable |
//!
//! Video statuses (`GET /v3/videos/{video_id}`):
//!
//! | `status` | progress |
//! |---|---|
//! | `pending`, `waiting`, `processing`, or one added later | running (HeyGen reports no percentage) |
//! | `completed` | done: `video_url` (presigned, expires after 7 days), `duration` |
//! | `failed` | `content-rejected` for a moderation `failure_code`, else `generation-failed`, with HeyGen's `failure_message` |

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::multipart::Form;
use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{self, Map, Value as Json, json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::catalogue::{self, Background, Plan, Speech, Subject};

/// The vendor origin: first (and only) in `allowed_hosts`, so operators
/// can move it with `base_url`.
pub const API: &str = "https://api.heygen.com";
/// Between polls: HeyGen renders take minutes.
pub const POLL_MS: u32 = 15_000;
/// Per-request timeout for JSON calls.
const REQUEST_TIMEOUT_MS: u32 = 60_000;
/// Per-request timeout for uploads of up to 20 MiB.
const UPLOAD_TIMEOUT_MS: u32 = 180_000;

/// The task handle: HeyGen's video id.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Task {
    /// HeyGen's `video_id`.
    pub video_id: String,
}

/// Where HeyGen finds the inputs it cannot take inline.
#[derive(Debug, Default, PartialEq)]
pub struct Assets {
    /// `asset_id` of the uploaded photo (a `data:` URI).
    pub image: Option<String>,
    /// `asset_id` of the uploaded audio (always uploaded: the bytes the
    /// price was checked against are the ones HeyGen lip-syncs).
    pub audio: Option<String>,
}

/// `POST /v3/videos` for a checked plan, its inputs and their uploads.
pub fn video_body(plan: &Plan, input: &JobInput, assets: &Assets) -> Json {
    let mut body = Map::new();
    match &plan.subject {
        Subject::Avatar(id) => {
            body.insert("type".into(), json!("avatar"));
            body.insert("avatar_id".into(), json!(id));
            body.insert("engine".into(), json!({ "type": plan.engine.vendor_name() }));
        }
        Subject::Image => {
            body.insert("type".into(), json!("image"));
            let image = match (&assets.image, input.image.as_ref()) {
                (Some(asset_id), _) => json!({ "type": "asset_id", "asset_id": asset_id }),
                (None, Some(media)) => json!({ "type": "url", "url": media.url }),
                (None, None) => Json::Null,
            };
            body.insert("image".into(), image);
        }
    }
    match &plan.speech {
        Speech::Script { voice } => {
            body.insert("script".into(), json!(input.text.as_deref().unwrap_or_default()));
            if let Some(voice) = voice {
                body.insert("voice_id".into(), json!(voice));
            }
            if !plan.voice.is_empty() {
                let mut settings = Map::new();
                if let Some(speed) = plan.voice.speed {
                    settings.insert("speed".into(), json!(speed));
                }
                if let Some(pitch) = plan.voice.pitch {
                    settings.insert("pitch".into(), json!(pitch));
                }
                if let Some(locale) = &plan.voice.locale {
                    settings.insert("locale".into(), json!(locale));
                }
                body.insert("voice_settings".into(), Json::Object(settings));
            }
        }
        Speech::Audio { .. } => {
            body.insert("audio_asset_id".into(), json!(assets.audio));
        }
    }
    body.insert("resolution".into(), json!(plan.resolution.name()));
    body.insert("aspect_ratio".into(), json!(plan.aspect_ratio));
    match &plan.background {
        Some(Background::Color(value)) => {
            body.insert("background".into(), json!({ "type": "color", "value": value }));
        }
        Some(Background::Image(url)) => {
            body.insert("background".into(), json!({ "type": "image", "url": url }));
        }
        None => {}
    }
    if plan.remove_background {
        body.insert("remove_background".into(), json!(true));
    }
    if let Some(prompt) = &plan.motion_prompt {
        body.insert("motion_prompt".into(), json!(prompt));
    }
    if let Some(level) = plan.expressiveness {
        body.insert("expressiveness".into(), json!(level));
    }
    Json::Object(body)
}

/// Upload what HeyGen cannot fetch itself: an inline photo, and the audio.
pub fn upload_inputs(key: &str, plan: &Plan, input: &JobInput) -> Result<Assets, Failure> {
    let mut assets = Assets::default();
    if plan.subject == Subject::Image
        && let Some(image) = input.image.as_ref().filter(|m| m.url.is_empty())
    {
        let bytes = image.bytes.as_deref().ok_or_else(|| missing_bytes("image"))?;
        let format = catalogue::image_type(bytes);
        assets.image = Some(upload(key, &format!("photo.{}", format.extension()), format.mime(), bytes)?);
    }
    if let Speech::Audio { format } = plan.speech {
        let audio = input.audio.as_ref().ok_or_else(|| missing_bytes("audio"))?;
        let bytes = audio.bytes.as_deref().ok_or_else(|| missing_bytes("audio"))?;
        assets.audio = Some(upload(key, &format!("speech.{}", format.extension()), format.mime(), bytes)?);
    }
    Ok(assets)
}

fn missing_bytes(field: &str) -> Failure {
    failure::invalid_input(format!("input.{field}: the host did not supply the file's bytes"))
}

/// Answer to `POST /v3/assets`.
#[derive(Deserialize, Debug)]
struct AssetAnswer {
    data: AssetData,
}

#[derive(Deserialize, Debug)]
struct AssetData {
    asset_id: String,
}

/// `POST /v3/assets` (multipart, field `file`): the new asset's id.
fn upload(key: &str, file_name: &str, mime: &str, bytes: &[u8]) -> Result<String, Failure> {
    let form = Form::new().file("file", file_name, mime, bytes.to_vec()).encode();
    let request = http::post(format!("{API}/v3/assets"))
        .header("X-Api-Key", key)
        .body(form.body, &form.content_type)
        .timeout_ms(UPLOAD_TIMEOUT_MS);
    let answer: AssetAnswer = exchange(request)?;
    Ok(answer.data.asset_id)
}

/// Answer to `POST /v3/videos`.
#[derive(Deserialize, Debug)]
struct CreateAnswer {
    data: CreateData,
}

#[derive(Deserialize, Debug)]
struct CreateData {
    video_id: String,
}

/// `body` with the engine the operator's settings resolve
/// ([`Engine::resolved_name`](crate::catalogue::Engine::resolved_name)) and,
/// when there is one, the generation id as `callback_id`: HeyGen's
/// client reference for the video, echoed in its webhooks and listings.
pub fn finish_body(mut body: Json, engine: Option<String>, callback_id: Option<String>) -> Json {
    if let (Some(engine), Some(object)) = (engine, body.get_mut("engine").and_then(Json::as_object_mut)) {
        object.insert("type".into(), json!(engine));
    }
    if let (Some(id), Some(object)) = (callback_id, body.as_object_mut()) {
        object.insert("callback_id".into(), json!(id));
    }
    body
}

/// The health check: `GET /v3/users/me` (the account and its balance;
/// generates nothing).
pub fn check_account(key: &str) -> Result<(), Failure> {
    let request = http::get(format!("{API}/v3/users/me")).header("X-Api-Key", key).timeout_ms(HEALTH_TIMEOUT_MS);
    request.send_with(http_failure).map(|_| ())
}

/// Per-request timeout of the health check.
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// Start the video.
pub fn create(key: &str, body: &Json) -> Result<Task, Failure> {
    let request = http::post(format!("{API}/v3/videos")).header("X-Api-Key", key).json(body);
    let answer: CreateAnswer = exchange(request.timeout_ms(REQUEST_TIMEOUT_MS))?;
    Ok(Task { video_id: answer.data.video_id })
}

/// Answer to `GET /v3/videos/{video_id}`.
#[derive(Deserialize, Debug)]
pub struct VideoAnswer {
    /// The video.
    pub data: VideoDetail,
}

/// The fields of a video this adapter reads.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(default)]
pub struct VideoDetail {
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    /// Presigned MP4 link, once completed.
    pub video_url: Option<String>,
    /// Seconds, once completed.
    pub duration: Option<f64>,
    /// Machine-readable reason, once failed.
    pub failure_code: Option<String>,
    /// HeyGen's explanation, once failed.
    pub failure_message: Option<String>,
}

/// The video's current state. A video HeyGen no longer knows (404) has
/// failed for good rather than being bad input.
pub fn video(key: &str, task: &Task) -> Result<VideoDetail, Failure> {
    let request = http::get(format!("{API}/v3/videos/{}", task.video_id)).header("X-Api-Key", key);
    let response = request.timeout_ms(REQUEST_TIMEOUT_MS).send_with(|response| {
        if response.status == 404 {
            failure::generation_failed(format!("HeyGen no longer knows video {}: {}", task.video_id, message(response)))
        } else {
            http_failure(response)
        }
    })?;
    Ok(http::decode_json::<VideoAnswer>(&response)?.data)
}

/// Where a video stands.
#[derive(Debug, PartialEq)]
pub enum VideoState {
    /// Queued or rendering.
    Working,
    /// Rendered: the MP4 for the host to fetch.
    Done(Artifact),
}

/// Read a video's state (see the module table).
pub fn video_state(video: &VideoDetail) -> Result<VideoState, Failure> {
    match video.status.to_ascii_lowercase().as_str() {
        "completed" => {
            let url =
                video.video_url.as_deref().filter(|u| !u.is_empty()).ok_or_else(|| {
                    failure::generation_failed("HeyGen reported the video completed without a video_url")
                })?;
            let duration_ms = video.duration.filter(|d| d.is_finite() && *d > 0.0).map(|d| (d * 1000.0).round() as u32);
            Ok(VideoState::Done(Artifact { duration_ms, ..Artifact::from_url(url, "video/mp4") }))
        }
        "failed" => Err(task_failure(video.failure_code.as_deref(), video.failure_message.as_deref())),
        _ => Ok(VideoState::Working),
    }
}

/// The failure for a video HeyGen failed: final, never retried.
pub fn task_failure(code: Option<&str>, reason: Option<&str>) -> Failure {
    let code_part = code.map(|c| format!(" ({c})")).unwrap_or_default();
    let message = format!("HeyGen failed the video{code_part}: {}", reason.unwrap_or("no reason given"));
    if code.is_some_and(is_moderation) {
        failure::content_rejected(message)
    } else {
        failure::generation_failed(message)
    }
}

/// Ask HeyGen to delete a video (and so stop rendering it).
pub fn delete(key: &str, task: &Task) -> Result<(), Failure> {
    let request = http::delete(format!("{API}/v3/videos/{}", task.video_id)).header("X-Api-Key", key);
    let response = request.timeout_ms(REQUEST_TIMEOUT_MS).send_raw()?;
    // 404: already gone; nothing left to stop.
    if http::is_success(response.status) || response.status == 404 { Ok(()) } else { Err(http_failure(&response)) }
}

/// HeyGen's error object, as found in v3 bodies (and in the legacy
/// `{"code", "message"}` shape).
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(default)]
pub struct VendorError {
    /// `invalid_parameter`, `not_found`, … (legacy: a number).
    pub code: Option<Json>,
    /// HeyGen's explanation.
    pub message: Option<String>,
    /// The offending request field, for validation errors.
    pub param: Option<String>,
}

impl VendorError {
    fn code_text(&self) -> Option<String> {
        match &self.code {
            Some(Json::String(code)) if !code.is_empty() => Some(code.clone()),
            Some(Json::Number(code)) => Some(code.to_string()),
            _ => None,
        }
    }
}

/// The error object of any HeyGen error body.
pub fn vendor_error(body: &[u8]) -> Option<VendorError> {
    let json: Json = serde_json::from_slice(body).ok()?;
    match json.get("error") {
        Some(error @ Json::Object(_)) => serde_json::from_value(error.clone()).ok(),
        Some(Json::String(message)) => Some(VendorError { message: Some(message.clone()), ..VendorError::default() }),
        _ => serde_json::from_value::<VendorError>(json).ok().filter(|e| e.message.is_some() || e.code.is_some()),
    }
}

/// `HeyGen answered HTTP <status> (<code>, param <param>): <message>`.
fn message(response: &Response) -> String {
    let status = response.status;
    match vendor_error(&response.body) {
        Some(error) => {
            let mut tags: Vec<String> = error.code_text().into_iter().collect();
            tags.extend(error.param.as_ref().map(|p| format!("param {p}")));
            let tags = if tags.is_empty() { String::new() } else { format!(" ({})", tags.join(", ")) };
            let text = error.message.unwrap_or_else(|| http::error_text(&response.body));
            format!("HeyGen answered HTTP {status}{tags}: {text}")
        }
        None => format!("HeyGen answered HTTP {status}: {}", http::error_text(&response.body)),
    }
}

/// The failure for a non-2xx answer (see the module table), with the
/// `Retry-After` of a 429.
pub fn http_failure(response: &Response) -> Failure {
    http::with_retry_after(classify(response), response)
}

/// Whether HeyGen says what was asked for (an engine) is retired.
fn is_retired(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["deprecated", "retired", "no longer available", "no longer supported", "sunset"].iter().any(|w| text.contains(w))
}

fn classify(response: &Response) -> Failure {
    let text = message(response);
    let code = vendor_error(&response.body).and_then(|e| e.code_text());
    if code.as_deref().is_some_and(is_moderation) {
        return failure::content_rejected(text);
    }
    match response.status {
        402 => Failure { retryable: false, ..failure::rate_limited(text) },
        400 | 404 | 410 | 422 if code.as_deref().is_some_and(is_retired) || is_retired(&text) => {
            failure::model_unavailable(text)
        }
        status => http::failure_for_status(status, text),
    }
}

/// Whether an error or failure code names moderation.
fn is_moderation(code: &str) -> bool {
    let code = code.to_ascii_lowercase();
    ["moderation", "blocked", "policy", "inappropriate", "nsfw", "400105"].iter().any(|word| code.contains(word))
}

/// Send a request and decode its answer; non-2xx answers fail by
/// [`http_failure`].
fn exchange<T: DeserializeOwned>(request: http::Request) -> Result<T, Failure> {
    let response = request.send_with(http_failure)?;
    http::decode_json(&response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Engine, Resolution, VoiceSettings};
    use doitong_plugin_sdk::audio::AudioFormat;

    fn plan(subject: Subject, speech: Speech) -> Plan {
        Plan {
            subject,
            speech,
            engine: Engine::AvatarIv,
            resolution: Resolution::P1080,
            aspect_ratio: "16:9",
            background: None,
            remove_background: false,
            motion_prompt: None,
            expressiveness: None,
            voice: VoiceSettings::default(),
            duration_ms: 2_000,
        }
    }

    fn input(text: Option<&str>, image: Option<Media>) -> JobInput {
        JobInput { text: text.map(str::to_string), image, audio: None, video: None, voice: None }
    }

    fn response(status: u16, body: &str) -> Response {
        Response { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn an_avatar_script_body_carries_every_setting_given_and_nothing_else() {
        let mut plan = plan(Subject::Avatar("Abigail_expressive_2024112501".into()), Speech::Script { voice: None });
        let body = video_body(&plan, &input(Some("Hello there"), None), &Assets::default());
        assert_eq!(
            body,
            json!({
                "type": "avatar",
                "avatar_id": "Abigail_expressive_2024112501",
                "engine": { "type": "avatar_iv" },
                "script": "Hello there",
                "resolution": "1080p",
                "aspect_ratio": "16:9",
            })
        );
        plan.speech = Speech::Script { voice: Some("1bd001e7e50f421d891986aad5158bc8".into()) };
        plan.engine = Engine::AvatarV;
        plan.resolution = Resolution::K4;
        plan.aspect_ratio = "9:16";
        plan.background = Some(Background::Color("#f5f5f5".into()));
        plan.remove_background = true;
        plan.motion_prompt = Some("waves".into());
        plan.voice = VoiceSettings { speed: Some(1.1), pitch: None, locale: Some("en-US".into()) };
        let body = video_body(&plan, &input(Some("Hello there"), None), &Assets::default());
        assert_eq!(
            body,
            json!({
                "type": "avatar",
                "avatar_id": "Abigail_expressive_2024112501",
                "engine": { "type": "avatar_v" },
                "script": "Hello there",
                "voice_id": "1bd001e7e50f421d891986aad5158bc8",
                "voice_settings": { "speed": 1.1, "locale": "en-US" },
                "resolution": "4k",
                "aspect_ratio": "9:16",
                "background": { "type": "color", "value": "#f5f5f5" },
                "remove_background": true,
                "motion_prompt": "waves",
            })
        );
    }

    #[test]
    fn a_photo_body_points_at_the_url_or_the_uploaded_asset() {
        let mut plan = plan(Subject::Image, Speech::Audio { format: AudioFormat::Wav });
        plan.background = Some(Background::Image("https://cdn.example/office.jpg".into()));
        plan.expressiveness = Some("high");
        let linked = Media { url: "https://img.example/face.png".into(), mime: None, bytes: None };
        let assets = Assets { image: None, audio: Some("ast_audio".into()) };
        let body = video_body(&plan, &input(None, Some(linked)), &assets);
        assert_eq!(
            body,
            json!({
                "type": "image",
                "image": { "type": "url", "url": "https://img.example/face.png" },
                "audio_asset_id": "ast_audio",
                "resolution": "1080p",
                "aspect_ratio": "16:9",
                "background": { "type": "image", "url": "https://cdn.example/office.jpg" },
                "expressiveness": "high",
            })
        );
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1]) };
        let assets = Assets { image: Some("ast_photo".into()), audio: Some("ast_audio".into()) };
        let body = video_body(&plan, &input(None, Some(inline)), &assets);
        assert_eq!(body["image"], json!({ "type": "asset_id", "asset_id": "ast_photo" }));
    }

    #[test]
    fn statuses_map_to_progress() {
        for status in ["pending", "waiting", "processing", "Processing", "rendering"] {
            let video = VideoDetail { status: status.into(), ..VideoDetail::default() };
            assert_eq!(video_state(&video), Ok(VideoState::Working), "{status}");
        }
        let done: VideoAnswer = serde_json::from_value(json!({ "data": {
            "id": "v1", "status": "completed", "video_url": "https://files.heygen.ai/video/v1.mp4?Expires=1",
            "thumbnail_url": "https://files.heygen.ai/thumb/v1.jpg", "duration": 3.2, "created_at": 1711929600
        }}))
        .unwrap();
        let VideoState::Done(artifact) = video_state(&done.data).unwrap() else { panic!("done") };
        assert_eq!(artifact.url.as_deref(), Some("https://files.heygen.ai/video/v1.mp4?Expires=1"));
        assert_eq!((artifact.mime.as_str(), artifact.duration_ms, artifact.width), ("video/mp4", Some(3_200), None));
        let no_url = VideoDetail { status: "completed".into(), ..VideoDetail::default() };
        assert_eq!(video_state(&no_url).unwrap_err().code, FailureCode::GenerationFailed);
    }

    #[test]
    fn failed_videos_are_final_and_keep_heygen_words() {
        let failed = VideoDetail {
            status: "failed".into(),
            failure_code: Some("rendering_failed".into()),
            failure_message: Some("Avatar rendering timed out".into()),
            ..VideoDetail::default()
        };
        let failure = video_state(&failed).unwrap_err();
        assert_eq!((failure.code, failure.retryable), (FailureCode::GenerationFailed, false));
        assert_eq!(failure.message, "HeyGen failed the video (rendering_failed): Avatar rendering timed out");
        let moderated = task_failure(Some("content_moderation_failed"), Some("The script violates our policy"));
        assert_eq!((moderated.code, moderated.retryable), (FailureCode::ContentRejected, false));
        assert_eq!(task_failure(None, None).message, "HeyGen failed the video: no reason given");
    }

    #[test]
    fn error_answers_map_to_failures() {
        let cases = [
            (401, r#"{"error":{"code":"unauthorized","message":"Invalid API key"}}"#, FailureCode::Unauthorized, false),
            (403, r#"{"error":{"code":"resource_access_denied","message":"no"}}"#, FailureCode::Unauthorized, false),
            (402, r#"{"error":{"code":"insufficient_credit","message":"top up"}}"#, FailureCode::RateLimited, false),
            (429, r#"{"error":{"code":"rate_limit_exceeded","message":"slow"}}"#, FailureCode::RateLimited, true),
            (404, r#"{"error":{"code":"not_found","message":"Avatar not found"}}"#, FailureCode::InvalidInput, false),
            (400, r#"{"error":{"code":"blocked_words_detected","message":"x"}}"#, FailureCode::ContentRejected, false),
            (400, r#"{"code":400105,"message":"Blocked words detected"}"#, FailureCode::ContentRejected, false),
            (500, r#"{"error":{"code":"internal_error","message":"oops"}}"#, FailureCode::ProviderUnavailable, true),
            (502, "<html>bad gateway</html>", FailureCode::ProviderUnavailable, true),
        ];
        for (status, body, code, retryable) in cases {
            let failure = http_failure(&response(status, body));
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{status} {body}");
        }
        let failure = http_failure(&response(
            400,
            r#"{"error":{"code":"invalid_parameter","message":"motion_prompt is not supported for this avatar","param":"motion_prompt","doc_url":"https://developers.heygen.com/docs/error-codes#invalid-parameter"}}"#,
        ));
        assert_eq!(
            failure.message,
            "HeyGen answered HTTP 400 (invalid_parameter, param motion_prompt): motion_prompt is not supported for \
             this avatar"
        );
        assert_eq!(http_failure(&response(502, "bad gateway")).message, "HeyGen answered HTTP 502: bad gateway");
        assert_eq!(
            vendor_error(br#"{"error":"Invalid video id"}"#).and_then(|e| e.message).as_deref(),
            Some("Invalid video id")
        );
    }

    #[test]
    fn handles_round_trip() {
        let task = Task { video_id: "a1b2c3d4e5f64a7b8c9d0e1f2a3b4c5d".into() };
        assert_eq!(handle::decode::<Task>(&handle::encode(&task)).unwrap(), task);
    }

    #[test]
    fn retired_engines_are_model_unavailable_and_429s_carry_retry_after() {
        let retired = response(
            400,
            r#"{"error":{"code":"invalid_parameter","message":"Engine avatar_iii is deprecated","param":"engine.type"}}"#,
        );
        assert_eq!(http_failure(&retired).code, FailureCode::ModelUnavailable);
        let mut busy = response(429, r#"{"error":{"code":"rate_limit_exceeded","message":"slow"}}"#);
        busy.headers.push(("Retry-After".into(), "30".into()));
        let failure = http_failure(&busy);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(30)));
    }

    #[test]
    fn the_finished_body_carries_the_resolved_engine_and_the_callback_id() {
        let body = json!({ "type": "avatar", "avatar_id": "a1", "engine": { "type": "avatar_iv" } });
        let done = finish_body(body, Some("avatar_iv_2".into()), Some("gen_123".into()));
        assert_eq!(done["engine"]["type"], "avatar_iv_2");
        assert_eq!(done["callback_id"], "gen_123");
        let photo = finish_body(json!({ "type": "image" }), Some("avatar_iv".into()), None);
        assert_eq!(photo, json!({ "type": "image" }), "photos have no engine; no id, no callback_id");
    }
}
