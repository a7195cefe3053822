//! Hedra's public API on the wire: asset creation and upload, the video
//! generation body, generation statuses and errors mapped to ours, and
//! the HTTP exchanges.
//!
//! Every call sends `X-API-Key` to `https://api.hedra.com/web-app/public`.
//! Hedra's API is FastAPI: request errors are `{"detail": "…"}` or, for
//! validation, `{"detail": [{"loc": […], "msg": "…", "type": "…"}]}`.
//!
//! | Hedra answer | failure |
//! |---|---|
//! | 401, 403 | `unauthorized` |
//! | 402 (credits) | `rate-limited`, not retryable (the account needs credits) |
//! | 400, 404, 410, 422 saying the model is not found, does not exist, is invalid or deprecated | `model-unavailable` (replace its id with `model.hedra`) |
//! | 400, 404, 409, 413, 422 | `invalid-input`, with every validation message |
//! | 429 | `rate-limited`, retryable, held back for `Retry-After` |
//! | 5xx, anything else | `provider-unavailable`, retryable |
//!
//! Generation statuses (`GET /generations/{id}/status`):
//!
//! | `status` | progress |
//! |---|---|
//! | `queued`, `processing`, `finalizing`, or one added later | running, `progress` (0–1) as a percentage |
//! | `complete` | done: `download_url` (else `url`), fetched by the host at once |
//! | `error` with `MODERATION_FAILED` | `content-rejected` |
//! | `error` with `MISSING_CREDITS` | `rate-limited`, final |
//! | `error` with any other type | `generation-failed`, with Hedra's message |

use doitong_plugin_sdk::audio::AudioFormat;
use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::multipart::Form;
use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{self, Map, Value as Json, json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::catalogue::{self, Plan, Speech};

/// The vendor origin: first (and only) in `allowed_hosts`, so operators
/// can move it with `base_url`.
pub const API: &str = "https://api.hedra.com";
/// Where the public API lives on that origin.
const PUBLIC: &str = "/web-app/public";
/// Between polls, as Hedra's own starter polls.
pub const POLL_MS: u32 = 5_000;
/// Per-request timeout for JSON calls.
const REQUEST_TIMEOUT_MS: u32 = 60_000;
/// Per-request timeout for uploads of up to 20 MiB.
const UPLOAD_TIMEOUT_MS: u32 = 180_000;

/// The task handle: Hedra's generation id.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Task {
    /// Hedra's generation `id`.
    pub generation_id: String,
}

/// The uploaded inputs, by Hedra asset id.
#[derive(Debug, PartialEq)]
pub struct Assets {
    /// The portrait (`start_keyframe_id`).
    pub image: String,
    /// The audio (`audio_id`), unless Hedra reads `input.text` itself.
    pub audio: Option<String>,
}

fn url(path: &str) -> String {
    format!("{API}{PUBLIC}{path}")
}

/// `POST /generations` for a checked plan, its script and its uploads.
pub fn generation_body(plan: &Plan, input: &JobInput, assets: &Assets) -> Json {
    let mut body = Map::new();
    body.insert("type".into(), json!("video"));
    body.insert("ai_model_id".into(), json!(plan.model.vendor_id()));
    body.insert("start_keyframe_id".into(), json!(assets.image));
    match &plan.speech {
        Speech::Audio => {
            body.insert("audio_id".into(), json!(assets.audio));
        }
        Speech::Tts { voice, speed } => {
            let mut tts = Map::new();
            tts.insert("type".into(), json!("text_to_speech"));
            tts.insert("voice_id".into(), json!(voice));
            tts.insert("text".into(), json!(input.text.as_deref().unwrap_or_default()));
            if let Some(speed) = speed {
                tts.insert("speed".into(), json!(speed));
            }
            body.insert("audio_generation".into(), Json::Object(tts));
        }
    }
    let mut inputs = Map::new();
    inputs.insert("text_prompt".into(), json!(plan.prompt));
    inputs.insert("resolution".into(), json!(plan.resolution));
    inputs.insert("aspect_ratio".into(), json!(plan.aspect_ratio));
    if let Some(ms) = plan.duration_ms {
        inputs.insert("duration_ms".into(), json!(ms));
    }
    if plan.enhance_prompt {
        inputs.insert("enhance_prompt".into(), json!(true));
    }
    body.insert("generated_video_inputs".into(), Json::Object(inputs));
    Json::Object(body)
}

/// Upload the portrait and, unless Hedra speaks `input.text` itself, the
/// audio. The offering lists both in `needs-bytes`, so the host supplies
/// their bytes whether they came as URLs or `data:` URIs.
pub fn upload_inputs(key: &str, plan: &Plan, input: &JobInput) -> Result<Assets, Failure> {
    let image = input.image.as_ref().ok_or_else(|| failure::invalid_input("input.image is required"))?;
    let bytes = image.bytes.as_deref().ok_or_else(|| missing_bytes("image"))?;
    let format = catalogue::image_format(image)?.ok_or_else(|| missing_bytes("image"))?;
    let image = upload(key, "image", &format!("portrait.{}", format.extension()), format.mime(), bytes)?;
    let audio = match plan.speech {
        Speech::Tts { .. } => None,
        Speech::Audio => {
            let audio = input.audio.as_ref().ok_or_else(|| missing_bytes("audio"))?;
            let bytes = audio.bytes.as_deref().ok_or_else(|| missing_bytes("audio"))?;
            let format: AudioFormat = catalogue::audio_format(audio)?.ok_or_else(|| missing_bytes("audio"))?;
            Some(upload(key, "audio", &format!("speech.{}", format.extension()), format.mime(), bytes)?)
        }
    };
    Ok(Assets { image, audio })
}

fn missing_bytes(field: &str) -> Failure {
    failure::invalid_input(format!("input.{field}: the host did not supply the file's bytes"))
}

/// Answer to `POST /assets` and `POST /assets/{id}/upload`: the asset id.
#[derive(Deserialize, Debug)]
struct AssetAnswer {
    id: String,
}

/// Create an asset record of `kind` (`image`, `audio`), then upload its
/// bytes: the asset's id.
fn upload(key: &str, kind: &str, name: &str, mime: &str, bytes: &[u8]) -> Result<String, Failure> {
    let created: AssetAnswer = exchange(
        http::post(url("/assets"))
            .header("X-API-Key", key)
            .json(&json!({ "name": name, "type": kind }))
            .timeout_ms(REQUEST_TIMEOUT_MS),
    )?;
    let form = Form::new().file("file", name, mime, bytes.to_vec()).encode();
    let uploaded: AssetAnswer = exchange(
        http::post(url(&format!("/assets/{}/upload", created.id)))
            .header("X-API-Key", key)
            .body(form.body, &form.content_type)
            .timeout_ms(UPLOAD_TIMEOUT_MS),
    )?;
    Ok(uploaded.id)
}

/// Answer to `POST /generations`.
#[derive(Deserialize, Debug)]
struct GenerationAnswer {
    id: String,
}

/// Start the generation.
pub fn generate(key: &str, body: &Json) -> Result<Task, Failure> {
    let request = http::post(url("/generations")).header("X-API-Key", key).json(body).timeout_ms(REQUEST_TIMEOUT_MS);
    let answer: GenerationAnswer = exchange(request)?;
    Ok(Task { generation_id: answer.id })
}

/// Answer to `GET /generations/{id}/status`: the fields this adapter reads.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Status {
    /// `queued`, `processing`, `finalizing`, `complete` or `error`.
    pub status: String,
    /// 0–1.
    pub progress: Option<f64>,
    /// The produced asset's URL.
    pub url: Option<String>,
    /// A direct download URL.
    pub download_url: Option<String>,
    /// Why it failed, when `error_message` is absent.
    pub error: Option<GenerationError>,
    /// Why it failed.
    pub error_message: Option<String>,
}

/// Hedra's `GenerationError`.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(default)]
pub struct GenerationError {
    /// Hedra's `ErrorCode`, e.g. `MODERATION_FAILED`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hedra's explanation.
    pub message: String,
}

/// The generation's status. One Hedra no longer knows (404) has failed for
/// good rather than being bad input.
pub fn status(key: &str, task: &Task) -> Result<Status, Failure> {
    let request = http::get(url(&format!("/generations/{}/status", task.generation_id))).header("X-API-Key", key);
    let response = request.timeout_ms(REQUEST_TIMEOUT_MS).send_with(|response| {
        if response.status == 404 {
            failure::generation_failed(format!(
                "Hedra no longer knows generation {}: {}",
                task.generation_id,
                message(response)
            ))
        } else {
            http_failure(response)
        }
    })?;
    http::decode_json(&response)
}

/// Where a generation stands.
#[derive(Debug, PartialEq)]
pub enum State {
    /// Queued or rendering, with Hedra's percentage when it gives one.
    Working(Option<u8>),
    /// Rendered: the MP4 for the host to fetch.
    Done(Artifact),
}

/// Read a status (see the module table).
pub fn state(status: &Status) -> Result<State, Failure> {
    match status.status.to_ascii_lowercase().as_str() {
        "complete" | "completed" => {
            let link = [&status.download_url, &status.url]
                .into_iter()
                .flatten()
                .find(|u| !u.is_empty())
                .ok_or_else(|| failure::generation_failed("Hedra reported the video complete without a URL"))?;
            Ok(State::Done(Artifact::from_url(link.clone(), "video/mp4")))
        }
        "error" | "failed" => Err(task_failure(status)),
        _ => {
            let percent = status.progress.filter(|p| p.is_finite()).map(|p| (p.clamp(0.0, 0.99) * 100.0) as u8);
            Ok(State::Working(percent))
        }
    }
}

/// The failure for a generation Hedra ended with `error`: final.
pub fn task_failure(status: &Status) -> Failure {
    let kind = status.error.as_ref().map(|e| e.kind.as_str()).filter(|k| !k.is_empty());
    let reason = status
        .error_message
        .as_deref()
        .filter(|m| !m.is_empty())
        .or(status.error.as_ref().map(|e| e.message.as_str()).filter(|m| !m.is_empty()))
        .unwrap_or("no reason given");
    let message =
        format!("Hedra failed the generation{}: {reason}", kind.map(|k| format!(" ({k})")).unwrap_or_default());
    match kind {
        Some("MODERATION_FAILED") => failure::content_rejected(message),
        Some("MISSING_CREDITS") => Failure { retryable: false, ..failure::rate_limited(message) },
        _ => failure::generation_failed(message),
    }
}

/// Hedra's request errors: FastAPI's `detail`, a string or validation
/// entries.
#[derive(Deserialize, Debug)]
struct ErrorBody {
    detail: Detail,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Detail {
    Text(String),
    Fields(Vec<FieldError>),
}

#[derive(Deserialize, Debug)]
struct FieldError {
    #[serde(default)]
    loc: Vec<Json>,
    #[serde(default)]
    msg: String,
}

/// `Hedra answered HTTP <status>: <detail>`, every validation entry as
/// `<loc.joined>: <msg>`.
fn message(response: &Response) -> String {
    let detail = match serde_json::from_slice::<ErrorBody>(&response.body) {
        Ok(ErrorBody { detail: Detail::Text(text) }) => text,
        Ok(ErrorBody { detail: Detail::Fields(fields) }) => fields
            .iter()
            .map(|f| {
                let loc: Vec<String> =
                    f.loc.iter().map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string())).collect();
                format!("{}: {}", loc.join("."), f.msg)
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => http::error_text(&response.body),
    };
    format!("Hedra answered HTTP {}: {detail}", response.status)
}

/// The failure for a non-2xx answer (see the module table), with the
/// `Retry-After` of a 429.
pub fn http_failure(response: &Response) -> Failure {
    let text = message(response);
    let lowered = text.to_ascii_lowercase();
    let model_gone = lowered.contains("model")
        && ["not found", "does not exist", "invalid", "deprecated", "no longer"].iter().any(|w| lowered.contains(w));
    let failure = match response.status {
        402 => Failure { retryable: false, ..failure::rate_limited(text) },
        400 | 404 | 410 | 422 if model_gone => failure::model_unavailable(text),
        status => http::failure_for_status(status, text),
    };
    http::with_retry_after(failure, response)
}

/// One entry of `GET /models`.
#[derive(Deserialize, Debug)]
pub struct ListedModel {
    /// Hedra's `ai_model_id`.
    pub id: String,
}

/// Per-request timeout of the health check.
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// The health check: the key works (`GET /models`, which generates
/// nothing) and `model` is still listed.
pub fn check(key: &str, model: &str) -> Result<(), Failure> {
    let request = http::get(url("/models")).header("X-API-Key", key).timeout_ms(HEALTH_TIMEOUT_MS);
    let models: Vec<ListedModel> = exchange(request)?;
    listed(&models, model)
}

/// `Ok` when `model` is among `models`, else `model-unavailable`.
pub fn listed(models: &[ListedModel], model: &str) -> Result<(), Failure> {
    if models.iter().any(|m| m.id == model) {
        Ok(())
    } else {
        Err(failure::model_unavailable(format!(
            "Hedra no longer lists model {model} (GET /models); set `model.hedra` to a current model id"
        )))
    }
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
    use crate::catalogue::{DEFAULT_PROMPT, Model};

    fn plan(speech: Speech) -> Plan {
        Plan {
            model: Model::Character3,
            speech,
            aspect_ratio: "9:16",
            resolution: "720p",
            prompt: DEFAULT_PROMPT.into(),
            enhance_prompt: false,
            duration_ms: None,
            priced_ms: 4_200,
            tts_chars: 0,
        }
    }

    fn response(status: u16, body: &str) -> Response {
        Response { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    fn status(value: Json) -> Status {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_audio_generation_names_the_model_the_assets_and_the_frame() {
        let assets = Assets { image: "11111111-1111-4111-8111-111111111111".into(), audio: Some("2222".into()) };
        let input = JobInput { text: None, image: None, audio: None, video: None, voice: None };
        assert_eq!(
            generation_body(&plan(Speech::Audio), &input, &assets),
            json!({
                "type": "video",
                "ai_model_id": "d1dd37a3-e39a-4854-a298-6510289f9cf2",
                "start_keyframe_id": "11111111-1111-4111-8111-111111111111",
                "audio_id": "2222",
                "generated_video_inputs": { "text_prompt": DEFAULT_PROMPT, "resolution": "720p", "aspect_ratio": "9:16" },
            })
        );
    }

    #[test]
    fn a_text_generation_asks_hedra_for_its_speech() {
        let mut plan = plan(Speech::Tts { voice: "f0e9".into(), speed: Some(0.9) });
        plan.model = Model::Avatar;
        plan.duration_ms = Some(8_000);
        plan.enhance_prompt = true;
        let input = JobInput { text: Some("Hello!".into()), image: None, audio: None, video: None, voice: None };
        let assets = Assets { image: "img".into(), audio: None };
        assert_eq!(
            generation_body(&plan, &input, &assets),
            json!({
                "type": "video",
                "ai_model_id": "26f0fc66-152b-40ab-abed-76c43df99bc8",
                "start_keyframe_id": "img",
                "audio_generation": { "type": "text_to_speech", "voice_id": "f0e9", "text": "Hello!", "speed": 0.9 },
                "generated_video_inputs": {
                    "text_prompt": DEFAULT_PROMPT,
                    "resolution": "720p",
                    "aspect_ratio": "9:16",
                    "duration_ms": 8000,
                    "enhance_prompt": true,
                },
            })
        );
    }

    #[test]
    fn statuses_map_to_progress() {
        let queued = status(json!({"id": "3", "asset_id": "4", "type": "video", "status": "queued", "progress": 0}));
        assert_eq!(state(&queued), Ok(State::Working(Some(0))));
        let half = status(json!({"status": "processing", "progress": 0.5}));
        assert_eq!(state(&half), Ok(State::Working(Some(50))));
        let finalizing = status(json!({"status": "finalizing", "progress": 1.0}));
        assert_eq!(state(&finalizing), Ok(State::Working(Some(99))));
        assert_eq!(state(&status(json!({"status": "something_new"}))), Ok(State::Working(None)));
        let done = status(json!({
            "id": "3", "status": "complete", "progress": 1, "url": "https://cdn.hedra.test/v/4444.mp4",
            "download_url": "https://cdn.hedra.test/v/4444.mp4?dl=1", "streaming_url": "https://cdn.hedra.test/v/4444.m3u8",
            "error_message": null
        }));
        let State::Done(artifact) = state(&done).unwrap() else { panic!("done") };
        assert_eq!(artifact.url.as_deref(), Some("https://cdn.hedra.test/v/4444.mp4?dl=1"));
        assert_eq!(artifact.mime, "video/mp4");
        let url_only =
            status(json!({"status": "complete", "url": "https://cdn.hedra.test/v/4.mp4", "download_url": ""}));
        let State::Done(artifact) = state(&url_only).unwrap() else { panic!("done") };
        assert_eq!(artifact.url.as_deref(), Some("https://cdn.hedra.test/v/4.mp4"));
        let nothing = status(json!({"status": "complete"}));
        assert_eq!(state(&nothing).unwrap_err().code, FailureCode::GenerationFailed);
    }

    #[test]
    fn failed_generations_are_final_and_keep_hedra_words() {
        let cases = [
            (json!({"type": "MODERATION_FAILED", "message": "unsafe"}), "x", FailureCode::ContentRejected),
            (json!({"type": "MISSING_CREDITS", "message": "buy"}), "", FailureCode::RateLimited),
            (json!({"type": "INTERNAL", "message": "boom"}), "", FailureCode::GenerationFailed),
        ];
        for (error, error_message, code) in cases {
            let failed = status(json!({"status": "error", "error": error, "error_message": error_message}));
            let failure = state(&failed).unwrap_err();
            assert_eq!((failure.code, failure.retryable), (code, false), "{error}");
        }
        let moderated =
            status(json!({"status": "error", "error": {"type": "MODERATION_FAILED", "message": "Face not allowed"}}));
        assert_eq!(
            task_failure(&moderated).message,
            "Hedra failed the generation (MODERATION_FAILED): Face not allowed"
        );
        let plain = status(json!({"status": "error", "error_message": "Could not detect a face"}));
        assert_eq!(task_failure(&plain).message, "Hedra failed the generation: Could not detect a face");
    }

    #[test]
    fn error_answers_map_to_failures() {
        let cases = [
            (401, r#"{"detail":"Invalid API key"}"#, FailureCode::Unauthorized, false),
            (403, r#"{"detail":"API access requires a paid plan"}"#, FailureCode::Unauthorized, false),
            (402, r#"{"detail":"Insufficient credits"}"#, FailureCode::RateLimited, false),
            (429, r#"{"detail":"Too many requests"}"#, FailureCode::RateLimited, true),
            (404, r#"{"detail":"Asset not found"}"#, FailureCode::InvalidInput, false),
            (500, r#"{"detail":"Internal Server Error"}"#, FailureCode::ProviderUnavailable, true),
            (503, "upstream unavailable", FailureCode::ProviderUnavailable, true),
        ];
        for (code, body, expected, retryable) in cases {
            let failure = http_failure(&response(code, body));
            assert_eq!((failure.code, failure.retryable), (expected, retryable), "{code} {body}");
        }
        let invalid = http_failure(&response(
            422,
            r#"{"detail":[{"loc":["body","generated_video_inputs","text_prompt"],"msg":"Field required","type":"missing"},{"loc":["body","audio_id",0],"msg":"Input should be a valid UUID","type":"uuid_parsing"}]}"#,
        ));
        assert_eq!(invalid.code, FailureCode::InvalidInput);
        assert_eq!(
            invalid.message,
            "Hedra answered HTTP 422: body.generated_video_inputs.text_prompt: Field required; body.audio_id.0: Input \
             should be a valid UUID"
        );
        assert_eq!(
            http_failure(&response(503, "upstream unavailable")).message,
            "Hedra answered HTTP 503: upstream unavailable"
        );
    }

    #[test]
    fn handles_round_trip() {
        let task = Task { generation_id: "33333333-3333-4333-8333-333333333333".into() };
        assert_eq!(handle::decode::<Task>(&handle::encode(&task)).unwrap(), task);
    }

    #[test]
    fn unknown_models_are_model_unavailable_and_429s_carry_retry_after() {
        let gone = response(404, r#"{"detail":"Model not found"}"#);
        assert_eq!(http_failure(&gone).code, FailureCode::ModelUnavailable);
        let asset = response(404, r#"{"detail":"Asset not found"}"#);
        assert_eq!(http_failure(&asset).code, FailureCode::InvalidInput);
        let mut busy = response(429, r#"{"detail":"Too many requests"}"#);
        busy.headers.push(("Retry-After".into(), "5".into()));
        assert_eq!(http_failure(&busy).retry_after_secs, Some(5));
    }

    #[test]
    fn the_health_check_wants_the_model_listed() {
        let models: Vec<ListedModel> =
            serde_json::from_value(json!([{ "id": "d1dd37a3-e39a-4854-a298-6510289f9cf2", "name": "Character-3" }]))
                .unwrap();
        assert!(listed(&models, "d1dd37a3-e39a-4854-a298-6510289f9cf2").is_ok());
        assert_eq!(listed(&models, "0000").unwrap_err().code, FailureCode::ModelUnavailable);
    }
}
