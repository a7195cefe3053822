//! Mock Hedra public API and the `hedra` adapter's end-to-end tests.
//!
//! The mock speaks Hedra's documented exchanges (`shared/vendors/hedra.md`,
//! from Hedra's OpenAPI document) under `/web-app/public`: `POST /assets`
//! reserves an asset, `POST /assets/{id}/upload` takes its file as
//! multipart (sniffed: an image asset must get an image, an audio asset
//! audio), `POST /generations` starts a video from a `start_keyframe_id`
//! and an `audio_id` or inline `audio_generation` (text-to-speech with one
//! of the account's voices), and `GET /generations/{id}/status` goes
//! `queued` → `processing` → `complete` with a `download_url` on a CDN
//! (the mock itself) serving an MP4 as long as `duration_ms`, else the
//! audio, else 400 ms a spoken word. It checks `X-API-Key` and answers
//! errors as FastAPI does (`{"detail": …}`, 422 for validation, naming
//! the field), refusing fields Hedra does not know.
//!
//! Markers in the prompt pick the failure scenarios: `[busy]` (429 on
//! `POST /generations`), `[moderated]` (status `error`,
//! `MODERATION_FAILED`), `[broken]` (status `error`, `INTERNAL`),
//! `[flaky]` (the first status answers 503) and `[slow]` (stays
//! `processing`).
//!
//! It knows two models, Character-3 and Hedra Avatar, by the ids Hedra's
//! public clients use; any other `ai_model_id` gets 404 `Model not found`.
//! `GET /models`, the adapter's health check, lists them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{
    FormPart, MockVendor, Recorded, Recorder, assert_completed, assert_failed, assert_job_count, assert_not_configured,
    assert_rehosted_mp4, cancel_to_end, credits, data_uri, generate_kind, generate_kind_to_end, listed_provider,
    live_server, mp4_file, option_names, parse_multipart, sample_mp4, sample_png, sample_wav, the_one, wav_ms,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "hedra-live-key-90be";
/// Hedra's model ids (Character-3, Hedra Avatar).
const CHARACTER_3: &str = "d1dd37a3-e39a-4854-a298-6510289f9cf2";
const AVATAR: &str = "26f0fc66-152b-40ab-abed-76c43df99bc8";
/// One of the account's voices.
const VOICE: &str = "6f1b3a52-8c4d-4e2f-9a7b-0c1d2e3f4a5b";
/// The prompt the adapter sends when the user gives none.
const DEFAULT_PROMPT: &str = "A person speaking naturally to the camera, with natural expressions and head movement.";
const PREFIX: &str = "/web-app/public";

/// A reserved (and maybe uploaded) asset.
struct Asset {
    kind: String,
    name: String,
    file: Option<(String, Vec<u8>)>,
}

/// A generation the mock renders.
struct Generation {
    asset_id: String,
    prompt: String,
    width: u32,
    height: u32,
    duration_ms: u32,
    polls: u32,
}

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    /// `http://127.0.0.1:<port>`: where results are served (the "CDN").
    origin: OnceLock<String>,
    assets: Mutex<HashMap<String, Asset>>,
    generations: Mutex<HashMap<String, Generation>>,
    next_id: AtomicU64,
    recorder: Recorder,
}

impl Mock {
    /// Record a request; whether it carries the key.
    fn record(&self, method: &str, path: String, headers: &HeaderMap, body: Value) -> bool {
        self.recorder.record(method, path, headers, body);
        headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(KEY)
    }

    fn uuid(&self, kind: u8) -> String {
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        format!(
            "{kind:x}{kind:x}{kind:x}{kind:x}{n:04x}-{kind:x}{kind:x}{kind:x}{kind:x}-4{kind:x}{kind:x}{kind:x}-8{kind:x}{kind:x}{kind:x}-{n:012x}"
        )
    }

    /// Every generation whose prompt contains `marker`.
    fn generations(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| {
            r.path == format!("{PREFIX}/generations")
                && r.body["generated_video_inputs"]["text_prompt"].as_str().is_some_and(|p| p.contains(marker))
        })
    }

    /// The one generation whose prompt contains `marker`.
    fn generation(&self, marker: &str) -> Recorded {
        the_one(self.generations(marker), format_args!("one generation for {marker:?}"))
    }

    /// An uploaded asset: (name, kind, file name, bytes).
    fn asset(&self, id: &str) -> (String, String, String, Vec<u8>) {
        let assets = self.assets.lock().unwrap();
        let asset = assets.get(id).unwrap_or_else(|| panic!("no asset {id}"));
        let (file, bytes) = asset.file.clone().unwrap_or_else(|| panic!("asset {id} was never uploaded"));
        (asset.name.clone(), asset.kind.clone(), file, bytes)
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

/// FastAPI's validation error for one field.
fn unprocessable(loc: &[&str], message: &str, kind: &str) -> Response {
    let loc: Vec<Value> = loc.iter().map(|p| json!(p)).collect();
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "detail": [{ "loc": loc, "msg": message, "type": kind }] })))
        .into_response()
}

fn unauthorized() -> Response {
    detail(StatusCode::UNAUTHORIZED, "Invalid API key")
}

/// `POST /assets`.
async fn create_asset(State(mock): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !mock.record("POST", format!("{PREFIX}/assets"), &headers, json.clone()) {
        return unauthorized();
    }
    let Some(name) = json["name"].as_str().filter(|n| !n.is_empty()) else {
        return unprocessable(&["body", "name"], "Field required", "missing");
    };
    let kind = json["type"].as_str().unwrap_or_default();
    if !["image", "audio", "video", "voice", "text"].contains(&kind) {
        return unprocessable(
            &["body", "type"],
            "Input should be 'image', 'audio', 'video', 'voice' or 'text'",
            "enum",
        );
    }
    let id = mock.uuid(1);
    mock.assets
        .lock()
        .unwrap()
        .insert(id.clone(), Asset { kind: kind.to_string(), name: name.to_string(), file: None });
    Json(json!({ "name": name, "type": kind, "id": id, "upload_url": null })).into_response()
}

/// `POST /assets/{id}/upload`.
async fn upload_asset(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let parts = parse_multipart(&content_type, &body).ok();
    let summary = parts.as_ref().map_or(Value::Null, |parts| {
        json!(
            parts
                .iter()
                .map(|part| json!({ "name": part.name, "file": part.filename.as_deref().unwrap_or_default(), "size": part.body.len() }))
                .collect::<Vec<_>>()
        )
    });
    if !mock.record("POST", format!("{PREFIX}/assets/{id}/upload"), &headers, summary) {
        return unauthorized();
    }
    let Some(parts) = parts else {
        return unprocessable(&["body", "file"], "Field required", "missing");
    };
    let Some(FormPart { filename, body: data, .. }) = parts.into_iter().find(|part| part.name == "file") else {
        return unprocessable(&["body", "file"], "Field required", "missing");
    };
    let mut assets = mock.assets.lock().unwrap();
    let Some(asset) = assets.get_mut(&id) else {
        return detail(StatusCode::NOT_FOUND, &format!("Asset {id} not found"));
    };
    let origin = mock.origin.get().unwrap();
    let inner = match asset.kind.as_str() {
        "image" if data.starts_with(b"\x89PNG") => {
            let dimension = |at: usize| u32::from_be_bytes(data[at..at + 4].try_into().unwrap());
            json!({ "type": "uploaded_image", "width": dimension(16), "height": dimension(20), "url": format!("{origin}/cdn/a/{id}.png") })
        }
        "audio" => match wav_ms(&data) {
            Some(ms) => {
                json!({ "type": "uploaded_audio", "duration_ms": ms, "url": format!("{origin}/cdn/a/{id}.wav") })
            }
            None => return detail(StatusCode::BAD_REQUEST, "Could not decode the audio file"),
        },
        kind => return detail(StatusCode::BAD_REQUEST, &format!("The file is not a valid {kind}")),
    };
    asset.file = Some((filename.unwrap_or_default(), data));
    Json(json!({
        "id": id, "type": asset.kind, "name": asset.name, "thumbnail_url": null, "description": null,
        "is_favorite": false, "created_at": "2026-01-01T00:00:00Z", "asset": inner,
    }))
    .into_response()
}

/// Why Hedra would refuse this generation, if it would.
fn refusal(mock: &Mock, body: &Value) -> Option<Response> {
    const FIELDS: &[&str] = &[
        "type",
        "ai_model_id",
        "model_slug",
        "start_keyframe_id",
        "start_keyframe_url",
        "audio_id",
        "audio_generation",
        "audio_start_ms",
        "generated_video_inputs",
        "batch_size",
        "name",
    ];
    const INPUTS: &[&str] = &["text_prompt", "resolution", "aspect_ratio", "duration_ms", "enhance_prompt"];
    let object = body.as_object()?;
    if let Some(extra) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(unprocessable(&["body", extra], "Extra inputs are not permitted", "extra_forbidden"));
    }
    if body["type"] != "video" {
        return Some(unprocessable(&["body", "type"], "Input should be 'video'", "literal_error"));
    }
    if ![CHARACTER_3, AVATAR].contains(&body["ai_model_id"].as_str().unwrap_or_default()) {
        return Some(detail(StatusCode::NOT_FOUND, "Model not found"));
    }
    let assets = mock.assets.lock().unwrap();
    let uploaded = |id: &Value, kind: &str| {
        id.as_str().and_then(|id| assets.get(id)).is_some_and(|a| a.kind == kind && a.file.is_some())
    };
    if !uploaded(&body["start_keyframe_id"], "image") {
        return Some(detail(StatusCode::BAD_REQUEST, "start_keyframe_id must be an uploaded image asset"));
    }
    match (body.get("audio_id"), body.get("audio_generation")) {
        (Some(id), None) if uploaded(id, "audio") => {}
        (None, Some(tts)) => {
            let known = tts.as_object().is_some_and(|o| {
                o.keys().all(|k| ["type", "voice_id", "text", "speed", "stability", "language"].contains(&k.as_str()))
            });
            if !known || tts["type"] != "text_to_speech" {
                return Some(unprocessable(
                    &["body", "audio_generation"],
                    "Invalid text_to_speech request",
                    "value_error",
                ));
            }
            if tts["voice_id"] != VOICE {
                return Some(detail(StatusCode::NOT_FOUND, "Voice not found"));
            }
            if tts["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
                return Some(unprocessable(&["body", "audio_generation", "text"], "Field required", "missing"));
            }
            if tts.get("speed").is_some_and(|s| !s.as_f64().is_some_and(|s| (0.7..=1.2).contains(&s))) {
                return Some(unprocessable(
                    &["body", "audio_generation", "speed"],
                    "Input should be between 0.7 and 1.2",
                    "range",
                ));
            }
        }
        _ => {
            return Some(detail(
                StatusCode::BAD_REQUEST,
                "Give audio_id (an uploaded audio asset) or audio_generation",
            ));
        }
    }
    let inputs = &body["generated_video_inputs"];
    if let Some(extra) = inputs.as_object().and_then(|o| o.keys().find(|k| !INPUTS.contains(&k.as_str()))) {
        return Some(unprocessable(
            &["body", "generated_video_inputs", extra],
            "Extra inputs are not permitted",
            "extra_forbidden",
        ));
    }
    if inputs["text_prompt"].as_str().is_none_or(|p| p.trim().is_empty()) {
        return Some(unprocessable(&["body", "generated_video_inputs", "text_prompt"], "Field required", "missing"));
    }
    if !["540p", "720p"].contains(&inputs["resolution"].as_str().unwrap_or("720p")) {
        return Some(unprocessable(
            &["body", "generated_video_inputs", "resolution"],
            "Unsupported resolution",
            "value_error",
        ));
    }
    if !["16:9", "9:16", "1:1"].contains(&inputs["aspect_ratio"].as_str().unwrap_or("16:9")) {
        return Some(unprocessable(
            &["body", "generated_video_inputs", "aspect_ratio"],
            "Unsupported aspect ratio",
            "value_error",
        ));
    }
    if inputs.get("duration_ms").is_some_and(|d| !d.as_u64().is_some_and(|d| (1_000..=600_000).contains(&d))) {
        return Some(unprocessable(
            &["body", "generated_video_inputs", "duration_ms"],
            "Input should be between 1000 and 600000",
            "range",
        ));
    }
    None
}

/// `POST /generations`.
async fn create_generation(State(mock): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !mock.record("POST", format!("{PREFIX}/generations"), &headers, json.clone()) {
        return unauthorized();
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") || !json.is_object() {
        return unprocessable(&["body"], "Input should be a valid dictionary", "dict_type");
    }
    if let Some(refused) = refusal(&mock, &json) {
        return refused;
    }
    let inputs = &json["generated_video_inputs"];
    let prompt = inputs["text_prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[busy]") {
        return detail(StatusCode::TOO_MANY_REQUESTS, "Too many concurrent generations");
    }
    let duration_ms = match (inputs["duration_ms"].as_u64(), json["audio_id"].as_str()) {
        (Some(ms), _) => ms as u32,
        (None, Some(audio)) => wav_ms(&mock.asset(audio).3).unwrap_or(1_000),
        (None, None) => {
            let tts = &json["audio_generation"];
            let words = tts["text"].as_str().unwrap_or_default().split_whitespace().count() as f64;
            (words * 400.0 / tts["speed"].as_f64().unwrap_or(1.0)).round() as u32
        }
    };
    let short = if inputs["resolution"] == "540p" { 540 } else { 720 };
    let (width, height) = match inputs["aspect_ratio"].as_str().unwrap_or("16:9") {
        "9:16" => (short, short * 16 / 9),
        "1:1" => (short, short),
        _ => (short * 16 / 9, short),
    };
    let id = mock.uuid(3);
    let asset_id = mock.uuid(4);
    mock.generations
        .lock()
        .unwrap()
        .insert(id.clone(), Generation { asset_id: asset_id.clone(), prompt, width, height, duration_ms, polls: 0 });
    let mut answer = json.clone();
    answer["id"] = json!(id);
    answer["asset_id"] = json!(asset_id);
    answer["created_at"] = json!("2026-01-01T00:00:05Z");
    answer["status"] = json!("queued");
    answer["progress"] = json!(0);
    answer["eta_sec"] = json!(60);
    answer["batch_size"] = json!(1);
    Json(answer).into_response()
}

/// `GET /generations/{id}/status`.
async fn generation_status(State(mock): State<Arc<Mock>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !mock.record("GET", format!("{PREFIX}/generations/{id}/status"), &headers, Value::Null) {
        return unauthorized();
    }
    let mut generations = mock.generations.lock().unwrap();
    let Some(generation) = generations.get_mut(&id) else {
        return detail(StatusCode::NOT_FOUND, "Generation not found");
    };
    generation.polls += 1;
    let status = |status: &str, progress: f64| json!({ "id": id, "asset_id": generation.asset_id, "type": "video", "status": status, "progress": progress, "created_at": "2026-01-01T00:00:05Z" });
    let prompt = generation.prompt.clone();
    let answer = match generation.polls {
        1 if prompt.contains("[flaky]") => {
            return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
        }
        _ if prompt.contains("[slow]") => status("processing", 0.3),
        1 => status("queued", 0.0),
        2 => status("processing", 0.5),
        _ if prompt.contains("[moderated]") => {
            let mut failed = status("error", 0.0);
            failed["error"] =
                json!({ "type": "MODERATION_FAILED", "message": "The portrait failed content moderation" });
            failed
        }
        _ if prompt.contains("[broken]") => {
            let mut failed = status("error", 0.0);
            failed["error"] = json!({ "type": "INTERNAL", "message": "GPU worker crashed" });
            failed["error_message"] = json!("Generation failed: GPU worker crashed");
            failed
        }
        _ => {
            let origin = mock.origin.get().unwrap();
            let mut done = status("complete", 1.0);
            done["url"] = json!(format!("{origin}/cdn/v/{id}.mp4"));
            done["download_url"] = json!(format!("{origin}/cdn/v/{id}.mp4?dl=1"));
            done["streaming_url"] = json!(format!("{origin}/cdn/v/{id}.m3u8"));
            done["error_message"] = Value::Null;
            done
        }
    };
    Json(answer).into_response()
}

/// The "CDN": a generation's MP4.
async fn download(State(mock): State<Arc<Mock>>, Path(file): Path<String>) -> Response {
    let generations = mock.generations.lock().unwrap();
    mp4_file(generations.get(file.trim_end_matches(".mp4")).map(|g| (g.width, g.height, g.duration_ms)))
}

/// `GET /models`: the account's models.
async fn list_models(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    if !mock.record("GET", format!("{PREFIX}/models"), &headers, Value::Null) {
        return unauthorized();
    }
    Json(json!([
        { "id": CHARACTER_3, "name": "Character-3", "type": "video" },
        { "id": AVATAR, "name": "Hedra Avatar", "type": "video" },
    ]))
    .into_response()
}

/// Anything else: recorded, so a test sees calls Hedra has no endpoint for.
async fn unknown(State(mock): State<Arc<Mock>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    mock.record(method.as_str(), uri.path().to_string(), &headers, Value::Null);
    detail(StatusCode::NOT_FOUND, "Not Found")
}

/// Start the mock Hedra.
async fn mock_hedra() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/web-app/public/assets", post(create_asset))
        .route("/web-app/public/assets/{id}/upload", post(upload_asset))
        .route("/web-app/public/generations", post(create_generation))
        .route("/web-app/public/models", get(list_models))
        .route("/web-app/public/generations/{id}/status", get(generation_status))
        .route("/cdn/v/{file}", get(download))
        .fallback(unknown)
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.origin.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

/// Generate an avatar with `key` and wait for the end.
async fn run(server: &Server, key: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "AVATAR", "hedra", input, options).await
}

/// Credits Hedra's list price gives `ms` of video and `chars` of speech:
/// 5 cents a second, 15/14 of a cent per 1000 characters.
fn price(ms: u64, chars: u64) -> i64 {
    (ms * 7 + chars * 15).div_ceil(1_400) as i64
}

#[tokio::test]
async fn hedra_portraits_speak_audio_or_text_and_the_video_is_rehosted() {
    let (vendor, mock) = mock_hedra().await;
    let (server, key) = live_server("hedra", &vendor, &[("api_key", KEY)]).await;
    let portrait = sample_png(48, 64);
    let speech = sample_wav(16_000, 4_200);
    let script = "Hello, welcome to our platform! We are glad you are here.";
    let (audio, text, trimmed) = tokio::join!(
        // A portrait lip-syncs inline audio, every option at its default.
        run(
            &server,
            &key,
            json!({ "image": data_uri("image/png", &portrait), "audio": data_uri("audio/wav", &speech) }),
            json!({}),
        ),
        // Hedra's own voice reads the text, on Hedra Avatar, upright at 540p.
        run(
            &server,
            &key,
            json!({ "image": data_uri("image/png", &portrait), "text": script, "voice": VOICE }),
            json!({
                "model": "avatar",
                "aspectRatio": "9:16",
                "resolution": "540p",
                "speed": 0.9,
                "prompt": "smiling in a bright studio [tts]",
            }),
        ),
        // The audio trimmed to 3 s, square, the prompt enhanced.
        run(
            &server,
            &key,
            json!({ "image": data_uri("image/png", &portrait), "audio": data_uri("audio/wav", &speech) }),
            json!({ "duration": 3, "aspectRatio": "1:1", "enhancePrompt": true, "prompt": "laughing [trimmed]" }),
        ),
    );

    // 4.2 s at 5 cents a second.
    assert_completed(&audio, "hedra", price(4_200, 0), (1280, 720), 4.2);
    assert_rehosted_mp4(&server, &audio, &sample_mp4(1280, 720, 4_200)).await;
    let sent = mock.generation(DEFAULT_PROMPT);
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let image_id = sent.body["start_keyframe_id"].as_str().unwrap().to_string();
    let audio_id = sent.body["audio_id"].as_str().unwrap().to_string();
    assert_eq!(
        sent.body,
        json!({
            "type": "video",
            "ai_model_id": CHARACTER_3,
            "start_keyframe_id": image_id,
            "audio_id": audio_id,
            "generated_video_inputs": { "text_prompt": DEFAULT_PROMPT, "resolution": "720p", "aspect_ratio": "16:9" },
        })
    );
    // Both files were reserved, then uploaded byte for byte.
    let image = mock.asset(&image_id);
    assert_eq!(image, ("portrait.png".into(), "image".into(), "portrait.png".into(), portrait.clone()));
    let audio_asset = mock.asset(&audio_id);
    assert_eq!(audio_asset, ("speech.wav".into(), "audio".into(), "speech.wav".into(), speech.clone()));
    let reserved = mock.recorder.filter(|r| r.path == format!("{PREFIX}/assets"));
    assert!(reserved.iter().any(|r| r.body == json!({ "name": "portrait.png", "type": "image" })));
    assert!(reserved.iter().any(|r| r.body == json!({ "name": "speech.wav", "type": "audio" })));

    // 11 words at speed 0.9: 4.89 s of video plus 57 characters of speech.
    assert_completed(&text, "hedra", price(4_889, 57), (540, 960), 4.889);
    let sent = mock.generation("[tts]");
    assert_eq!(sent.body["ai_model_id"], AVATAR);
    assert_eq!(
        sent.body["audio_generation"],
        json!({ "type": "text_to_speech", "voice_id": VOICE, "text": script, "speed": 0.9 })
    );
    assert_eq!(sent.body.get("audio_id"), None);
    assert_eq!(
        sent.body["generated_video_inputs"],
        json!({ "text_prompt": "smiling in a bright studio [tts]", "resolution": "540p", "aspect_ratio": "9:16" })
    );

    // `duration` trims the audio, sets the length and the price.
    assert_completed(&trimmed, "hedra", price(3_000, 0), (720, 720), 3.0);
    assert_eq!(
        mock.generation("[trimmed]").body["generated_video_inputs"],
        json!({
            "text_prompt": "laughing [trimmed]",
            "resolution": "720p",
            "aspect_ratio": "1:1",
            "duration_ms": 3000,
            "enhance_prompt": true,
        })
    );

    // Five uploads (a portrait each, two audio files), all with the key.
    let uploads = mock.recorder.filter(|r| r.path.ends_with("/upload"));
    assert_eq!(uploads.len(), 5, "{uploads:?}");
    let seen = mock.recorder.requests();
    assert!(seen.iter().all(|r| r.header("x-api-key") == Some(KEY)), "every call carries the key");
    let spent = price(4_200, 0) + price(4_889, 57) + price(3_000, 0);
    assert_eq!(credits(&server, &key).await, 100_000 - spent);
}

#[tokio::test]
async fn hedra_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_hedra().await;
    let (server, key) = live_server("hedra", &vendor, &[("api_key", KEY)]).await;
    let portrait = data_uri("image/png", &sample_png(16, 16));
    let speech = data_uri("audio/wav", &sample_wav(8_000, 2_000));
    let media = json!({ "image": portrait, "audio": speech });
    let prompt = |marker: &str| json!({ "prompt": format!("talking {marker}") });
    let (moderated, broken, busy, flaky) = tokio::join!(
        run(&server, &key, media.clone(), prompt("[moderated]")),
        run(&server, &key, media.clone(), prompt("[broken]")),
        run(&server, &key, media.clone(), prompt("[busy]")),
        run(&server, &key, media.clone(), prompt("[flaky]")),
    );
    assert_failed(
        &moderated,
        "GENERATION_FAILED",
        &["Hedra failed the generation (MODERATION_FAILED): The portrait failed content moderation"],
    );
    assert_failed(
        &broken,
        "GENERATION_FAILED",
        &["Hedra failed the generation (INTERNAL): Generation failed: GPU worker crashed"],
    );
    // Rate limited: retryable, so the host submitted three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["Hedra answered HTTP 429: Too many concurrent generations"]);
    assert_eq!(mock.generations("[busy]").len(), 3, "the host retries a rate-limited submit");
    assert_eq!(mock.generations("[moderated]").len(), 1, "moderation is final");
    // A transient 503 while polling, then success.
    assert_completed(&flaky, "hedra", price(2_000, 0), (1280, 720), 2.0);

    // What Hedra cannot do: refused before any job exists.
    let cases = [
        (
            json!({ "image": portrait }),
            json!({}),
            "provider `hedra` refused the request: provider `hedra` needs input.audio (speech to lip-sync) or \
             input.text with input.voice (a script for a Hedra voice)",
        ),
        (json!({ "audio": speech }), json!({}), "input.image is required by provider `hedra`"),
        (
            json!({ "image": portrait, "text": "Hello, welcome!", "voice": "professional_female" }),
            json!({}),
            "provider `hedra` refused the request: input.voice must be a Hedra voice id (a UUID from Hedra's GET \
             /voices); got \"professional_female\"",
        ),
        (
            json!({ "image": portrait, "text": "Hello, welcome!" }),
            json!({}),
            "provider `hedra` refused the request: input.voice is required by provider `hedra` to read input.text: \
             a Hedra voice id (a UUID from Hedra's GET /voices)",
        ),
        (
            json!({ "image": portrait, "audio": "https://voices.invalid/line.mp3" }),
            json!({}),
            "provider `hedra` refused the request: input.audio needs option `duration` (seconds of video, which set \
             the price): it is given by URL; WAV and MP3 sent as data: URIs are measured",
        ),
        (
            json!({ "image": data_uri("image/gif", b"GIF89a\x01\x00\x01\x00"), "audio": speech }),
            json!({}),
            "provider `hedra` refused the request: input.image: Hedra animates PNG, JPEG or WebP portraits (got \
             image/gif)",
        ),
        (
            media.clone(),
            json!({ "aspectRatio": "4:3" }),
            "option `aspectRatio` of provider `hedra` must be one of \"16:9\", \"9:16\", \"1:1\"; got \"4:3\"",
        ),
    ];
    for (input, options, message) in cases {
        let error = generate_kind(&server, &key, "AVATAR", "hedra", input.clone(), options).await.expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{input}: {error}");
        assert_eq!(error["message"], message, "{input}");
    }
    assert_eq!(
        mock.recorder.filter(|r| r.path == format!("{PREFIX}/generations")).len(),
        3 + 3,
        "no refusal reached Hedra"
    );
    assert_job_count(&server, &key, 4).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - price(2_000, 0));
}

#[tokio::test]
async fn hedra_gets_url_media_from_the_host_and_cannot_cancel() {
    let (vendor, mock) = mock_hedra().await;
    let (server, key) = live_server("hedra", &vendor, &[("api_key", KEY)]).await;
    // A portrait by URL: accepted and priced by `duration`; the host fetches
    // it for the adapter (needs-bytes), and this one cannot be fetched.
    let accepted = generate_kind(
        &server,
        &key,
        "AVATAR",
        "hedra",
        json!({ "image": "https://portraits.invalid/face.png", "audio": "https://voices.invalid/line.mp3" }),
        json!({ "duration": 12 }),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(accepted["creditCost"], price(12_000, 0));
    let ended = server.wait_terminal(&key, accepted["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_failed(&ended, "INVALID_INPUT", &["input.image", "portraits.invalid"]);
    assert!(mock.recorder.requests().is_empty(), "Hedra never saw it");
    assert_eq!(credits(&server, &key).await, 100_000);

    // Cancelling stops the wait; Hedra has nothing to stop a generation with.
    let media = json!({
        "image": data_uri("image/png", &sample_png(16, 16)),
        "audio": data_uri("audio/wav", &sample_wav(8_000, 2_000)),
    });
    let accepted = generate_kind(&server, &key, "AVATAR", "hedra", media, json!({ "prompt": "a long take [slow]" }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    mock.recorder.wait_for("a status poll", |r| r.method == "GET").await;
    let ended = cancel_to_end(&server, &key, accepted["id"].as_str().unwrap()).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    let calls: Vec<(String, String)> = mock
        .recorder
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.split('/').take(4).collect::<Vec<_>>().join("/")))
        .collect();
    for call in &calls {
        let expected = [
            ("POST", "/web-app/public/assets"),
            ("POST", "/web-app/public/generations"),
            ("GET", "/web-app/public/generations"),
        ];
        assert!(
            expected.contains(&(call.0.as_str(), call.1.as_str())),
            "only uploads, the submit and polls: {calls:?}"
        );
    }
    assert_eq!(credits(&server, &key).await, 100_000 - price(2_000, 0), "Hedra bills it, so nothing is refunded");
}

#[tokio::test]
async fn hedra_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_hedra().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("hedra", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("hedra", &vendor, &[("api_key", "hedra-revoked")]).await;

    // The portal's "Hedra Lip Sync" card, unavailable without a key.
    let hedra = listed_provider(&unconfigured, "AVATAR", "hedra").await;
    assert_eq!((hedra["name"].as_str(), hedra["vendor"].as_str()), (Some("Hedra Lip Sync"), Some("Hedra")));
    for feature in ["character animation", "audio-visual sync", "portrait-driven"] {
        assert!(hedra["features"].as_array().unwrap().contains(&json!(feature)), "{hedra}");
    }
    assert_eq!(hedra["available"], false);
    assert_eq!(hedra["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(hedra["pricing"], json!({ "creditCost": 50, "estimatedTime": 90 }));
    let options = option_names(&hedra);
    assert_eq!(options, ["model", "aspectRatio", "resolution", "prompt", "enhancePrompt", "duration", "speed"]);
    let media = json!({
        "image": data_uri("image/png", &sample_png(16, 16)),
        "audio": data_uri("audio/wav", &sample_wav(8_000, 2_000)),
    });
    assert_not_configured(&unconfigured, &live, "AVATAR", "hedra", media.clone(), json!({}), "hedra").await;
    let test_mode = run(&unconfigured, &unconfigured.key, media.clone(), json!({})).await;
    assert_eq!(
        (test_mode["status"].as_str(), test_mode["creditCost"].as_i64()),
        (Some("COMPLETED"), Some(price(2_000, 0)))
    );

    // A key Hedra refuses: final, not retried.
    let refused = run(&wrong, &wrong_key, media, json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["Hedra answered HTTP 401: Invalid API key"]);
    let seen = mock.recorder.requests();
    assert_eq!(seen.len(), 1, "one refused call, never retried: {seen:?}");
    assert_eq!(seen[0].header("x-api-key"), Some("hedra-revoked"));
}

/// A server like [`live_server`] whose `[plugins.hedra]` also carries the
/// operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("hedra", vendor, &[("api_key", KEY)], settings).await
}

/// A model id Hedra does not serve (a stale setting) fails as
/// `PROVIDER_UNAVAILABLE`, not retried and refunded; a setting for the
/// other model value reaches Hedra as its `ai_model_id`.
#[tokio::test]
async fn hedra_settings_replace_model_ids_and_an_unknown_model_is_unavailable() {
    let (vendor, mock) = mock_hedra().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        &format!(r#""model.hedra" = "00000000-0000-4000-8000-000000000000", "model.hedra.avatar" = "{CHARACTER_3}""#),
    )
    .await;
    let portrait = data_uri("image/png", &sample_png(48, 64));
    let (retired, moved) = tokio::join!(
        run(
            &server,
            &key,
            json!({ "image": portrait, "text": "Hello there", "voice": VOICE }),
            json!({ "prompt": "an old model [retired]" }),
        ),
        run(
            &server,
            &key,
            json!({ "image": portrait, "text": "Hello there", "voice": VOICE }),
            json!({ "model": "avatar", "prompt": "a moved model [moved]" }),
        ),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["Model not found"]);
    let [old] = &mock.generations("[retired]")[..] else { panic!("one generation, not retried") };
    assert_eq!(old.body["ai_model_id"], "00000000-0000-4000-8000-000000000000");
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    assert_eq!(mock.generation("[moved]").body["ai_model_id"], CHARACTER_3);
}
