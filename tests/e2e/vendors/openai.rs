//! Mock OpenAI (Images and Audio APIs) and the `openai` adapter's
//! end-to-end tests.
//!
//! The mock speaks OpenAI's documented exchanges (`shared/vendors/
//! openai.md`): `POST /v1/images/generations` answers JSON with the image
//! as `b64_json`; `POST /v1/audio/speech` answers the audio file itself.
//! Like OpenAI it refuses with `{"error":{"message","type","param","code"}}`:
//! 401 `invalid_api_key` for a wrong key, 404 `model_not_found` for a
//! retired DALL·E model, 400 for a body OpenAI would refuse (unknown
//! parameters, `response_format` sent to a GPT image model, values outside
//! the enums, a voice the model lacks, `instructions` for tts-1). Markers in
//! the text pick the failure scenarios: `[moderated]` (400
//! `moderation_blocked`), `[busy]` (429 `rate_limit_exceeded`), `[quota]`
//! (429 `insufficient_quota`), `[unverified]` (403) and `[flaky]` (the
//! first call answers 500); `[slow]` answers an image after 1.5 s.
//!
//! It serves only the models OpenAI lists today (openai-python, 2026-08:
//! `ImageModel`, `SpeechModel`): any other model id, such as the DALL·E
//! models OpenAI shut down, gets OpenAI's 404 `model_not_found`. It also
//! serves `GET /v1/models/{model}`, the adapter's health check.
//!
//! Speech lasts 60 ms per character of input at speed 1.0, as real MP3
//! frames (24 ms each), a WAV whose header was streamed (sizes 0xFFFFFFFF,
//! as OpenAI's are) or Ogg Opus pages.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_not_configured, assert_rehosted, credits,
    generate_kind, generate_kind_to_end, live_server, sample_jpeg, sample_png, sample_wav, sample_webp, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "sk-proj-live-9c1d";
/// The image models OpenAI serves today.
const IMAGE_MODELS: [&str; 5] =
    ["gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini"];
/// The speech models OpenAI serves today.
const SPEECH_MODELS: [&str; 4] = ["gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15", "tts-1", "tts-1-hd"];

/// OpenAI's answer for a model it does not serve.
fn model_not_found(model: &str) -> Response {
    let message = format!("The model `{model}` does not exist or you do not have access to it.");
    error(StatusCode::NOT_FOUND, &message, "invalid_request_error", None, Some("model_not_found"))
}
const VOICES: [&str; 13] =
    ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"];
const CLASSIC_VOICES: [&str; 9] = ["alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"];
/// Milliseconds of speech per character of input at speed 1.0.
const MS_PER_CHAR: f64 = 60.0;

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    recorder: Recorder,
    /// Calls per text, for `[flaky]`.
    calls: Mutex<HashMap<String, u32>>,
    /// The file served for each text.
    served: Mutex<HashMap<String, Vec<u8>>>,
}

impl Mock {
    /// Every call (either endpoint) whose text contains `marker`.
    fn calls(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| {
            let text = r.body.get("prompt").or_else(|| r.body.get("input")).and_then(Value::as_str);
            text.is_some_and(|t| t.contains(marker))
        })
    }

    /// The one call whose text contains `marker`.
    fn call(&self, marker: &str) -> Recorded {
        the_one(self.calls(marker), format_args!("one call for {marker:?}"))
    }

    /// The file served for the text containing `marker`.
    fn served(&self, marker: &str) -> Vec<u8> {
        let served = self.served.lock().unwrap();
        served.iter().find(|(t, _)| t.contains(marker)).map(|(_, f)| f.clone()).expect("served")
    }

    /// Count a call of `text`; the number of calls so far.
    fn count(&self, text: &str) -> u32 {
        let mut calls = self.calls.lock().unwrap();
        let count = calls.entry(text.to_string()).or_default();
        *count += 1;
        *count
    }
}

/// OpenAI's error answer.
fn error(status: StatusCode, message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Response {
    let body = json!({ "error": { "message": message, "type": kind, "param": param, "code": code } });
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert("x-request-id", "req_mock0123456789".parse().unwrap());
    response
}

fn invalid(message: &str, param: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "invalid_request_error", Some(param), None)
}

/// The refusals every endpoint shares: the key and the scenario markers.
fn common_refusal(mock: &Mock, headers: &HeaderMap, text: &str) -> Option<Response> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if authorization != Some(&format!("Bearer {KEY}")) {
        let message = "Incorrect API key provided: sk-revo***. You can find your API key at \
                       https://platform.openai.com/account/api-keys.";
        return Some(error(StatusCode::UNAUTHORIZED, message, "invalid_request_error", None, Some("invalid_api_key")));
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return Some(invalid("Expected a JSON body", "body"));
    }
    let calls = mock.count(text);
    if text.contains("[busy]") {
        let message = "Rate limit reached for requests per min. Please try again in 20s.";
        return Some(error(StatusCode::TOO_MANY_REQUESTS, message, "requests", None, Some("rate_limit_exceeded")));
    }
    if text.contains("[quota]") {
        let message = "You exceeded your current quota, please check your plan and billing details.";
        let code = Some("insufficient_quota");
        return Some(error(StatusCode::TOO_MANY_REQUESTS, message, "insufficient_quota", None, code));
    }
    if text.contains("[unverified]") {
        let message = "Your organization must be verified to use the model `gpt-image-1`.";
        return Some(error(StatusCode::FORBIDDEN, message, "invalid_request_error", None, None));
    }
    if text.contains("[flaky]") && calls == 1 {
        let message = "The server had an error while processing your request. Sorry about that!";
        return Some(error(StatusCode::INTERNAL_SERVER_ERROR, message, "server_error", None, None));
    }
    None
}

/// Why OpenAI would refuse this image body, if it would.
fn invalid_image_body(body: &Value) -> Option<Response> {
    const FIELDS: &[&str] =
        &["model", "prompt", "n", "size", "quality", "output_format", "output_compression", "background", "moderation"];
    let object = body.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(invalid(&format!("Unknown parameter: '{unknown}'."), unknown));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    match text("model") {
        Some(model) if IMAGE_MODELS.contains(&model) => {}
        Some(model) => return Some(model_not_found(model)),
        None => return Some(invalid("Missing required parameter: 'model'.", "model")),
    }
    if text("prompt").is_none_or(|p| p.is_empty() || p.chars().count() > 32_000) {
        return Some(invalid("Invalid 'prompt'.", "prompt"));
    }
    let enums: [(&str, &[&str]); 5] = [
        ("size", &["auto", "1024x1024", "1536x1024", "1024x1536"]),
        ("quality", &["auto", "low", "medium", "high"]),
        ("output_format", &["png", "jpeg", "webp"]),
        ("background", &["auto", "transparent", "opaque"]),
        ("moderation", &["auto", "low"]),
    ];
    for (name, allowed) in enums {
        if body.get(name).is_some() && !text(name).is_some_and(|v| allowed.contains(&v)) {
            return Some(invalid(&format!("Invalid value for '{name}'."), name));
        }
    }
    if body.get("n").is_some_and(|n| n.as_u64() != Some(1)) {
        return Some(invalid("This mock makes one image at a time.", "n"));
    }
    let format = text("output_format").unwrap_or("png");
    if body.get("output_compression").is_some() && format == "png" {
        return Some(invalid(
            "Compression less than 100 is not supported for PNG output format.",
            "output_compression",
        ));
    }
    if text("background") == Some("transparent") && format == "jpeg" {
        return Some(invalid("Transparent background is not supported for jpeg.", "background"));
    }
    if text("background") == Some("transparent") && text("model").is_some_and(|m| m.starts_with("gpt-image-2")) {
        return Some(invalid("Transparent background is not supported for this model.", "background"));
    }
    None
}

async fn create_image(State(mock): State<Arc<Mock>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    mock.recorder.record("POST", "/v1/images/generations", &headers, body.clone());
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    if let Some(refusal) = common_refusal(&mock, &headers, &prompt) {
        return refusal;
    }
    if let Some(refusal) = invalid_image_body(&body) {
        return refusal;
    }
    if prompt.contains("[slow]") {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
    if prompt.contains("[moderated]") {
        let message = "Your request was rejected by the safety system.";
        let code = Some("moderation_blocked");
        return error(StatusCode::BAD_REQUEST, message, "image_generation_user_error", None, code);
    }
    let size = body["size"].as_str().unwrap_or("1024x1024");
    let (width, height) = size.split_once('x').map(|(w, h)| (w.parse().unwrap(), h.parse().unwrap())).unwrap();
    let format = body["output_format"].as_str().unwrap_or("png");
    let file = match format {
        "jpeg" => sample_jpeg(width, height),
        "webp" => sample_webp(width, height),
        _ => sample_png(width, height),
    };
    mock.served.lock().unwrap().insert(prompt, file.clone());
    let answer = json!({
        "created": 1_767_225_600,
        "data": [{ "b64_json": base64::engine::general_purpose::STANDARD.encode(&file) }],
        "background": "opaque",
        "output_format": format,
        "quality": body["quality"],
        "size": size,
        "usage": {
            "input_tokens": 12, "input_tokens_details": { "text_tokens": 12, "image_tokens": 0 },
            "output_tokens": 272, "total_tokens": 284
        }
    });
    let mut response = Json(answer).into_response();
    response.headers_mut().insert("x-request-id", "req_0123456789abcdef".parse().unwrap());
    response
}

/// `frames` MPEG-2 Layer III frames (24 kHz mono, 32 kbit/s, 24 ms each)
/// after an ID3v2 tag.
fn sample_mp3(frames: usize) -> Vec<u8> {
    let mut out = b"ID3\x04\x00\x00\x00\x00\x00\x0a".to_vec();
    out.extend_from_slice(&[0; 10]);
    for _ in 0..frames {
        out.extend_from_slice(&[0xFF, 0xF3, 0x44, 0xC0]);
        out.extend_from_slice(&[0; 92]);
    }
    out
}

/// An Ogg Opus file of `ms` milliseconds (pre-skip 312).
fn sample_opus(ms: u64) -> Vec<u8> {
    fn page(granule: u64, body: &[u8]) -> Vec<u8> {
        let mut out = b"OggS\0\0".to_vec();
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&[0; 12]);
        out.push(1);
        out.push(body.len() as u8);
        out.extend_from_slice(body);
        out
    }
    let mut head = b"OpusHead\x01\x01".to_vec();
    head.extend_from_slice(&312u16.to_le_bytes());
    head.extend_from_slice(&24_000u32.to_le_bytes());
    head.extend_from_slice(&[0, 0, 0]);
    let mut out = page(0, &head);
    out.extend(page(0, b"OpusTags\0\0\0\0\0\0\0\0"));
    out.extend(page(312 + ms * 48, &[0xFC; 60]));
    out
}

/// Why OpenAI would refuse this speech body, if it would.
fn invalid_speech_body(body: &Value) -> Option<Response> {
    const FIELDS: &[&str] = &["model", "input", "voice", "response_format", "speed", "instructions", "stream_format"];
    let object = body.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(invalid(&format!("Unknown parameter: '{unknown}'."), unknown));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let model = text("model").unwrap_or_default();
    let voices: &[&str] = match model {
        "gpt-4o-mini-tts" | "gpt-4o-mini-tts-2025-12-15" => &VOICES,
        "tts-1" | "tts-1-hd" => &CLASSIC_VOICES,
        "" => return Some(invalid("Missing required parameter: 'model'.", "model")),
        other => return Some(model_not_found(other)),
    };
    if text("input").is_none_or(|i| i.is_empty() || i.chars().count() > 4096) {
        return Some(invalid("Invalid 'input'.", "input"));
    }
    if !text("voice").is_some_and(|v| voices.contains(&v)) {
        return Some(invalid("Invalid value for 'voice'.", "voice"));
    }
    if !text("response_format").is_none_or(|f| ["mp3", "opus", "aac", "flac", "wav", "pcm"].contains(&f)) {
        return Some(invalid("Invalid value for 'response_format'.", "response_format"));
    }
    if body.get("speed").is_some_and(|s| !s.as_f64().is_some_and(|s| (0.25..=4.0).contains(&s))) {
        return Some(invalid("Invalid value for 'speed'.", "speed"));
    }
    if !model.starts_with("gpt-4o-mini-tts") && body.get("instructions").is_some() {
        return Some(invalid("Instructions are not supported for tts-1 and tts-1-hd.", "instructions"));
    }
    None
}

async fn create_speech(State(mock): State<Arc<Mock>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    mock.recorder.record("POST", "/v1/audio/speech", &headers, body.clone());
    let input = body["input"].as_str().unwrap_or_default().to_string();
    if let Some(refusal) = common_refusal(&mock, &headers, &input) {
        return refusal;
    }
    if let Some(refusal) = invalid_speech_body(&body) {
        return refusal;
    }
    let ms = (input.chars().count() as f64 * MS_PER_CHAR / body["speed"].as_f64().unwrap_or(1.0)) as u64;
    let (file, content_type) = match body["response_format"].as_str().unwrap_or("mp3") {
        "wav" => {
            let mut wav = sample_wav(24_000, ms as u32);
            // Streamed: the sizes are not known when the header goes out.
            wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
            wav[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
            (wav, "audio/wav")
        }
        "opus" => (sample_opus(ms), "audio/ogg"),
        _ => (sample_mp3(ms.div_ceil(24) as usize), "audio/mpeg"),
    };
    mock.served.lock().unwrap().insert(input, file.clone());
    let mut response = file.into_response();
    response.headers_mut().insert("content-type", content_type.parse().unwrap());
    response.headers_mut().insert("x-request-id", "req_fedcba9876543210".parse().unwrap());
    response
}

/// `GET /v1/models/{model}`: the model object, or 404 `model_not_found`.
async fn retrieve_model(State(mock): State<Arc<Mock>>, Path(model): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("/v1/models/{model}"), &headers, Value::Null);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        let message = "Incorrect API key provided.";
        return error(StatusCode::UNAUTHORIZED, message, "invalid_request_error", None, Some("invalid_api_key"));
    }
    if !IMAGE_MODELS.contains(&model.as_str()) && !SPEECH_MODELS.contains(&model.as_str()) {
        return model_not_found(&model);
    }
    Json(json!({ "id": model, "object": "model", "created": 1_745_000_000, "owned_by": "system" })).into_response()
}

/// Start the mock OpenAI.
async fn mock_openai() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v1/images/generations", post(create_image))
        .route("/v1/audio/speech", post(create_speech))
        .route("/v1/models/{model}", get(retrieve_model))
        .with_state(mock.clone());
    (MockVendor::start(router).await, mock)
}

/// Generate an image with `key` and wait for the end.
async fn image(server: &Server, key: &str, prompt: &str, options: Value) -> Value {
    generate_kind_to_end(server, key, "IMAGE", "gpt-image", json!({ "text": prompt }), options).await
}

/// Generate speech with `key` and wait for the end.
async fn speech(server: &Server, key: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "AUDIO", "openai-tts", input, options).await
}

/// A completed generation that cost `credits` with a `format` file in its
/// metadata.
fn assert_completed(generation: &Value, provider: &str, credits: i64, format: &str) {
    assert_eq!(generation["status"], "COMPLETED", "{generation}");
    assert_eq!(generation["provider"], provider, "{generation}");
    assert_eq!(generation["creditCost"], credits, "{generation}");
    assert_eq!(generation["metadata"]["format"], format, "{generation}");
}

fn pixels(generation: &Value) -> (Option<u64>, Option<u64>) {
    (generation["metadata"]["width"].as_u64(), generation["metadata"]["height"].as_u64())
}

#[tokio::test]
async fn openai_images_complete_with_the_file_stored() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    let hd = json!({ "model": "gpt-image-1", "quality": "high", "aspectRatio": "3:2", "outputFormat": "jpeg", "compression": 80 });
    let sticker = json!({
        "model": "gpt-image-1-mini", "quality": "low", "aspectRatio": "2:3", "outputFormat": "webp",
        "background": "transparent", "moderation": "low"
    });
    let (default, landscape, portrait) = tokio::join!(
        image(&server, &key, "A red bicycle leaning on a brick wall [default]", json!({})),
        image(&server, &key, "A harbour at golden hour [hd]", hd),
        image(&server, &key, "A fox sticker [sticker]", sticker),
    );

    // Every default: GPT Image 2, medium, 1024x1024 PNG, 6 credits.
    assert_completed(&default, "gpt-image", 6, "png");
    assert_eq!(pixels(&default), (Some(1024), Some(1024)));
    assert_rehosted(&server, &default, "image/png", &mock.served("[default]")).await;
    let call = mock.call("[default]");
    assert_eq!(call.path, "/v1/images/generations");
    assert_eq!(call.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.body,
        json!({
            "model": "gpt-image-2",
            "prompt": "A red bicycle leaning on a brick wall [default]",
            "n": 1,
            "size": "1024x1024",
            "quality": "medium",
            "output_format": "png",
            "background": "auto",
            "moderation": "auto",
        })
    );

    // GPT Image 1, high, 3:2 JPEG at compression 80: $0.25 and the prompt, 26 credits.
    assert_completed(&landscape, "gpt-image", 26, "jpg");
    assert_eq!(pixels(&landscape), (Some(1536), Some(1024)));
    assert_rehosted(&server, &landscape, "image/jpeg", &mock.served("[hd]")).await;
    let body = mock.call("[hd]").body;
    assert_eq!((body["model"].as_str(), body["quality"].as_str()), (Some("gpt-image-1"), Some("high")));
    assert_eq!((body["size"].as_str(), body["output_format"].as_str()), (Some("1536x1024"), Some("jpeg")));
    assert_eq!(body["output_compression"], 80);

    // Mini, low, 2:3 transparent WebP with light moderation: 1 credit.
    assert_completed(&portrait, "gpt-image", 1, "webp");
    assert_eq!(pixels(&portrait), (Some(1024), Some(1536)));
    assert_rehosted(&server, &portrait, "image/webp", &mock.served("[sticker]")).await;
    let body = mock.call("[sticker]").body;
    assert_eq!((body["size"].as_str(), body["background"].as_str()), (Some("1024x1536"), Some("transparent")));
    assert_eq!((body["moderation"].as_str(), body.get("output_compression")), (Some("low"), None));

    assert_eq!(credits(&server, &key).await, 100_000 - 6 - 26 - 1);
}

/// A caller that waits (`Prefer: wait`) has its generation stepped at once,
/// on a task of its own: a client that gives up while the vendor is still
/// answering leaves a generation that completes, with the vendor called once
/// and the account charged once.
#[tokio::test]
async fn openai_a_waiting_client_that_leaves_mid_call_still_gets_one_charged_image() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    let before = credits(&server, &key).await;
    let query = "mutation { generate(input: { type: IMAGE, provider: \"gpt-image\", input: { text: \"A heron [slow]\" } }) { id } }";
    let impatient = reqwest::Client::builder().timeout(std::time::Duration::from_millis(500)).build().unwrap();
    let sent = impatient
        .post(server.endpoint())
        .bearer_auth(&key)
        .header("Prefer", "wait=30")
        .json(&json!({ "query": query }))
        .send()
        .await;
    assert!(sent.is_err(), "the client gave up before the vendor answered: {sent:?}");
    let (_, _, listed) = server.post(Some(&key), "{ generations(first: 5) { nodes { id } } }", json!({}), &[]).await;
    let nodes = listed["data"]["generations"]["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(nodes.len(), 1, "{listed}");
    let done = server.wait_terminal(&key, nodes[0]["id"].as_str().unwrap(), std::time::Duration::from_secs(30)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    let (status, _, _) = server.download(done["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    the_one(mock.calls("[slow]"), format_args!("one vendor call"));
    assert_eq!(credits(&server, &key).await, before - done["creditCost"].as_i64().unwrap(), "charged once");
}

#[tokio::test]
async fn openai_speech_completes_with_its_duration() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    let steered = json!({ "instructions": "Speak like a radio host.", "emotion": "excited" });
    let hd = json!({ "model": "tts-1-hd", "voice": "onyx", "speed": 1.25, "format": "wav" });
    let (mp3, wav, opus) = tokio::join!(
        speech(&server, &key, json!({ "text": "Welcome to the future of AI [mp3]", "voice": "Coral" }), steered),
        speech(&server, &key, json!({ "text": "The quick brown fox jumps over the lazy dog [wav]" }), hd),
        speech(&server, &key, json!({ "text": "Bonjour [opus]", "voice": "marin" }), json!({ "format": "opus" })),
    );

    // gpt-4o-mini-tts in MP3: 33 characters × 60 ms = 1980 ms, sent as 83 frames of 24 ms.
    assert_completed(&mp3, "openai-tts", 1, "mp3");
    assert_eq!(mp3["metadata"]["duration"].as_f64(), Some(1.992), "{mp3}");
    assert_rehosted(&server, &mp3, "audio/mpeg", &mock.served("[mp3]")).await;
    let call = mock.call("[mp3]");
    assert_eq!(call.path, "/v1/audio/speech");
    assert_eq!(call.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(call.header("accept"), Some("application/octet-stream"));
    assert_eq!(
        call.body,
        json!({
            "model": "gpt-4o-mini-tts",
            "input": "Welcome to the future of AI [mp3]",
            "voice": "coral",
            "response_format": "mp3",
            "speed": 1.0,
            "instructions": "Speak like a radio host.\nEmotion: excited.",
        })
    );

    // tts-1-hd in WAV, faster: 49 characters × 60 ms ÷ 1.25 = 2352 ms, read
    // from a streamed header whose sizes say nothing.
    assert_completed(&wav, "openai-tts", 1, "wav");
    assert_eq!(wav["metadata"]["duration"].as_f64(), Some(2.352), "{wav}");
    assert_rehosted(&server, &wav, "audio/wav", &mock.served("[wav]")).await;
    let body = mock.call("[wav]").body;
    assert_eq!((body["model"].as_str(), body["voice"].as_str()), (Some("tts-1-hd"), Some("onyx")));
    assert_eq!((body["speed"].as_f64(), body["response_format"].as_str()), (Some(1.25), Some("wav")));
    assert_eq!(body.get("instructions"), None);

    // Opus in Ogg: 14 characters, 840 ms.
    assert_completed(&opus, "openai-tts", 1, "ogg");
    assert_eq!(opus["metadata"]["duration"].as_f64(), Some(0.84), "{opus}");
    assert_rehosted(&server, &opus, "audio/ogg", &mock.served("[opus]")).await;
    assert_eq!(mock.call("[opus]").body["voice"], "marin");

    assert_eq!(credits(&server, &key).await, 100_000 - 3);
}

#[tokio::test]
async fn openai_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    let (moderated, busy, quota, unverified, flaky) = tokio::join!(
        image(&server, &key, "something forbidden [moderated]", json!({})),
        image(&server, &key, "a crowd at rush hour [busy]", json!({})),
        image(&server, &key, "a penniless painter [quota]", json!({})),
        image(&server, &key, "a verified badge [unverified]", json!({ "model": "gpt-image-1" })),
        speech(&server, &key, json!({ "text": "A river at dusk [flaky]" }), json!({})),
    );
    assert_failed(&moderated, "GENERATION_FAILED", &["moderation_blocked", "rejected by the safety system"]);
    assert_eq!(mock.calls("[moderated]").len(), 1, "moderation is final");
    // Rate limited: retryable, so the host called three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["rate_limit_exceeded", "try again in 20s"]);
    assert_eq!(mock.calls("[busy]").len(), 3, "the host retries a rate-limited call");
    // Out of quota: billing, not a passing limit.
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["insufficient_quota", "check your plan and billing"]);
    assert_eq!(mock.calls("[quota]").len(), 1);
    assert_failed(&unverified, "PROVIDER_UNAVAILABLE", &["HTTP 403", "must be verified", "[request req_mock"]);
    assert_eq!(mock.calls("[unverified]").len(), 1);
    // A transient 500, then the audio.
    assert_completed(&flaky, "openai-tts", 1, "mp3");
    assert_eq!(mock.calls("[flaky]").len(), 2);

    // What OpenAI cannot do: refused before any job exists. On a second
    // server: the 403 above opened `gpt-image`'s circuit on this one.
    let (refusing, refusing_key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    let long = "a".repeat(4097);
    let cases = [
        (
            "AUDIO",
            "openai-tts",
            json!({ "text": "x [refused]" }),
            json!({ "model": "tts-1", "instructions": "Whisper." }),
            "provider `openai-tts` refused the request: option `instructions` of provider `openai-tts` needs model \
             gpt-4o-mini-tts; model `tts-1` cannot be steered",
        ),
        (
            "AUDIO",
            "openai-tts",
            json!({ "text": "x [refused]", "voice": "coral" }),
            json!({ "voice": "echo" }),
            "provider `openai-tts` refused the request: input.voice `coral` and option `voice` `echo` of provider \
             `openai-tts` disagree: give one of them",
        ),
        (
            "AUDIO",
            "openai-tts",
            json!({ "text": "x [refused]" }),
            json!({ "model": "tts-1", "voice": "ballad" }),
            "provider `openai-tts` refused the request: option `voice` of provider `openai-tts` must be one of alloy, \
             ash, coral, echo, fable, onyx, nova, sage, shimmer with model `tts-1`; got ballad",
        ),
        (
            "AUDIO",
            "openai-tts",
            json!({ "text": format!("{long} [refused]") }),
            json!({}),
            "provider `openai-tts` refused the request: input.text is longer than OpenAI's limit of 4096 characters",
        ),
        (
            "IMAGE",
            "gpt-image",
            json!({ "text": "x [refused]" }),
            json!({ "outputFormat": "jpeg", "background": "transparent" }),
            "provider `gpt-image` refused the request: option `outputFormat` of provider `gpt-image` must be one of \
             png, webp with a transparent background; got jpeg",
        ),
        (
            "IMAGE",
            "gpt-image",
            json!({ "text": "x [refused]" }),
            json!({ "compression": 50 }),
            "provider `gpt-image` refused the request: option `compression` of provider `gpt-image` applies only to \
             outputFormat jpeg, webp; got outputFormat png",
        ),
        (
            "IMAGE",
            "gpt-image",
            json!({ "text": "x [refused]" }),
            json!({ "quality": "auto" }),
            "option `quality` of provider `gpt-image` must be one of \"low\", \"medium\", \"high\"; got \"auto\"",
        ),
        (
            "IMAGE",
            "gpt-image",
            json!({ "text": "x [refused]" }),
            json!({ "model": "dall-e-3" }),
            "option `model` of provider `gpt-image` must be one of \"gpt-image-2\", \"gpt-image-1.5\", \
             \"gpt-image-1\", \"gpt-image-1-mini\"; got \"dall-e-3\"",
        ),
    ];
    for (kind, provider, input, options, message) in cases {
        let error =
            generate_kind(&refusing, &refusing_key, kind, provider, input, options.clone()).await.expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        assert_eq!(error["message"], message, "{options}");
    }
    assert!(mock.calls("[refused]").is_empty(), "nothing refused reached OpenAI");
    assert_job_count(&refusing, &refusing_key, 0).await;
    assert_job_count(&server, &key, 5).await;

    // Every failure was refunded; only the flaky speech was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 1);
}

#[tokio::test]
async fn openai_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_openai().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("openai", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("openai", &vendor, &[("api_key", "sk-revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    for (kind, id, credits, options) in [
        (
            "IMAGE",
            "gpt-image",
            6,
            json!(["model", "aspectRatio", "quality", "outputFormat", "compression", "background", "moderation"]),
        ),
        ("AUDIO", "openai-tts", 1, json!(["model", "voice", "speed", "format", "instructions", "emotion"])),
    ] {
        let query = format!(
            "{{ providers(type: {kind}) {{ id vendor available unavailableReason pricing {{ creditCost }} options {{ name }} }} }}"
        );
        let data = unconfigured.gql(&query, json!({})).await;
        let p = data["providers"].as_array().unwrap().iter().find(|p| p["id"] == id).expect("listed").clone();
        assert_eq!((p["available"].as_bool(), p["vendor"].as_str()), (Some(false), Some("OpenAI")), "{p}");
        assert_eq!(p["unavailableReason"], "missing secret(s): api_key");
        assert_eq!(p["pricing"]["creditCost"], credits);
        let names: Vec<Value> = p["options"].as_array().unwrap().iter().map(|o| o["name"].clone()).collect();
        assert_eq!(Value::from(names), options);
        assert_not_configured(&unconfigured, &live, kind, id, json!({ "text": "hello" }), json!({}), "openai").await;
    }
    let test_image = image(&unconfigured, &unconfigured.key, "a fox [test mode]", json!({ "quality": "high" })).await;
    assert_eq!((test_image["status"].as_str(), test_image["creditCost"].as_i64()), (Some("COMPLETED"), Some(22)));
    let test_speech = speech(&unconfigured, &unconfigured.key, json!({ "text": "hello [test mode]" }), json!({})).await;
    assert_eq!(test_speech["status"], "COMPLETED", "{test_speech}");

    // A key OpenAI refuses (401): final, not retried.
    let refused = speech(&wrong, &wrong_key, json!({ "text": "hello [wrong key]" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["HTTP 401 invalid_api_key", "Incorrect API key provided"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("authorization"), Some("Bearer sk-revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach OpenAI");
    assert_eq!(credits(&wrong, &wrong_key).await, 100_000, "refunded");
}

/// The portal has no OpenAI snippet; its AUDIO and IMAGE examples (written
/// for `elevenlabs` and `flux-ultra`) are what users try first.
#[tokio::test]
async fn openai_answers_the_portals_audio_and_image_examples_exactly() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    let text = json!({ "text": "Welcome to the future of artificial intelligence" });
    let portal = json!({ "voice": "rachel", "emotion": "excited", "speed": 1.0 });
    let error = generate_kind(&server, &key, "AUDIO", "openai-tts", text.clone(), portal).await.unwrap_err();
    assert_eq!(
        (error["extensions"]["code"].as_str(), error["extensions"]["field"].as_str()),
        (Some("INVALID_INPUT"), Some("options.voice"))
    );
    assert_eq!(
        error["message"],
        "option `voice` of provider `openai-tts` must be one of \"alloy\", \"ash\", \"ballad\", \"coral\", \"echo\", \
         \"fable\", \"onyx\", \"nova\", \"sage\", \"shimmer\", \"verse\", \"marin\", \"cedar\"; got \"rachel\""
    );
    // With one of OpenAI's voices, the emotion steers gpt-4o-mini-tts.
    let done = speech(&server, &key, text, json!({ "voice": "shimmer", "emotion": "excited", "speed": 1.0 })).await;
    assert_completed(&done, "openai-tts", 1, "mp3");
    let body = mock.call("artificial intelligence").body;
    assert_eq!((body["voice"].as_str(), body["instructions"].as_str()), (Some("shimmer"), Some("Emotion: excited.")));

    // The IMAGE example: OpenAI draws three shapes and has no seed.
    let prompt = json!({ "text": "Photorealistic portrait in Rembrandt style" });
    let portal = json!({ "aspectRatio": "16:9", "quality": "ultra", "seed": 42 });
    let error = generate_kind(&server, &key, "IMAGE", "gpt-image", prompt.clone(), portal).await.unwrap_err();
    assert_eq!(error["extensions"]["field"], "options.seed", "{error}");
    assert_eq!(
        error["message"],
        "option `seed` is not supported by provider `gpt-image`; supported options: model, aspectRatio, quality, \
         outputFormat, compression, background, moderation"
    );
    let error =
        generate_kind(&server, &key, "IMAGE", "gpt-image", prompt, json!({ "aspectRatio": "16:9" })).await.unwrap_err();
    assert_eq!(
        error["message"],
        "option `aspectRatio` of provider `gpt-image` must be one of \"1:1\", \"3:2\", \"2:3\"; got \"16:9\""
    );
    assert!(mock.calls("Rembrandt").is_empty());
}

/// A server like [`live_server`] whose `[plugins.openai]` also carries the
/// operator's `settings` (a TOML inline table's body), checking health
/// every second.
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("openai", vendor, &[("api_key", KEY)], settings).await
}

/// A retired model id (a stale operator setting naming DALL·E 3) fails the
/// job as `PROVIDER_UNAVAILABLE` (model-unavailable, not retried, refunded);
/// a setting for another value reaches OpenAI as the model id.
#[tokio::test]
async fn openai_settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) =
        live_server_with_settings(&vendor, r#""model.gpt-image" = "dall-e-3", "model.openai-tts.tts-1" = "tts-1-hd""#)
            .await;
    let (retired, moved) = tokio::join!(
        image(&server, &key, "A lighthouse [retired]", json!({})),
        speech(&server, &key, json!({ "text": "Hello there [moved]" }), json!({ "model": "tts-1", "voice": "alloy" })),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["model_not_found", "dall-e-3"]);
    assert_eq!(mock.calls("[retired]").len(), 1, "a retired model is not retried: {:?}", mock.recorder.requests());
    assert_eq!(mock.call("[retired]").body["model"], "dall-e-3");
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    assert_eq!(mock.call("[moved]").body["model"], "tts-1-hd");
    assert_eq!(credits(&server, &key).await, 100_000 - 1, "the failed image is refunded");
}

/// Without settings, the built-in models are ones OpenAI serves; a model
/// the mock does not know (as OpenAI) is model-unavailable.
#[tokio::test]
async fn openai_the_built_in_models_are_served_today() {
    let (vendor, mock) = mock_openai().await;
    let (server, key) = live_server("openai", &vendor, &[("api_key", KEY)]).await;
    for model in ["gpt-image-2", "gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini"] {
        let done = image(&server, &key, &format!("A kite [{model}]"), json!({ "model": model })).await;
        assert_eq!(done["status"], "COMPLETED", "{model}: {done}");
        assert_eq!(mock.call(&format!("[{model}]")).body["model"], model);
    }
    for model in ["gpt-4o-mini-tts", "tts-1", "tts-1-hd"] {
        let done = speech(
            &server,
            &key,
            json!({ "text": format!("Hi [{model}]") }),
            json!({ "model": model, "voice": "alloy" }),
        )
        .await;
        assert_eq!(done["status"], "COMPLETED", "{model}: {done}");
    }
    let error =
        generate_kind(&server, &key, "IMAGE", "gpt-image", json!({ "text": "x" }), json!({ "model": "dall-e-3" }))
            .await
            .unwrap_err();
    assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "DALL·E is not offered: {error}");
}
