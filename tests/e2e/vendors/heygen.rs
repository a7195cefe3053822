//! Mock HeyGen API v3 and the `heygen` adapter's end-to-end tests.
//!
//! The mock speaks HeyGen's documented exchanges (`shared/vendors/
//! heygen.md`, and HeyGen's v3 reference for `POST /v3/videos`, `GET
//! /v3/videos/{id}`, `DELETE /v3/videos/{id}` and `POST /v3/assets`): it
//! checks `X-Api-Key`, refuses fields v3 does not have, knows the avatars
//! and voices of one HeyGen account (a Studio Avatar, a Digital Twin, a
//! photo avatar look and two voices) and applies HeyGen's rules on them
//! (`motion_prompt` only for photo avatars unless on Avatar V, Avatar V
//! only for twins, a voice required over a raw photo). Errors use v3's
//! `{"error": {"code", "message", "param"}}`. A video goes `pending` →
//! `processing` → `completed`, with a presigned `video_url` on a CDN (the
//! mock itself) serving an MP4 as long as the speech: the audio's length,
//! or 400 ms a word of script.
//!
//! Markers in the script pick the failure scenarios: `[blocked]` (400
//! `blocked_words_detected` on create), `[busy]` (429 on create),
//! `[render-fails]` (status `failed`, `rendering_failed`), `[flaky]` (the
//! first status answers 503) and `[slow]` (stays `processing`).
//!
//! Engines are HeyGen's of today (heygen-cli 2026-07, v3 schema):
//! `avatar_iv` and `avatar_v`; `avatar_iii`, which HeyGen deprecated at the
//! end of July 2026, is refused as deprecated. The `callback_id` a create
//! carries (the generation id) is kept apart from the recorded body, by
//! script. `GET /v3/users/me`, the adapter's health check, answers the
//! account.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{
    FormPart, GENERATION_FIELDS, MockVendor, Recorded, Recorder, assert_completed, assert_failed, assert_job_count,
    assert_not_configured, assert_rehosted_mp4, cancel_to_end, credits, data_uri, generate_kind, generate_kind_to_end,
    listed_provider, live_server, mp4_file, option_names, parse_multipart, sample_mp4, sample_png, sample_wav, the_one,
    wav_ms,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "hg-live-key-5c21";
/// The account's Studio Avatar (a video avatar).
const STUDIO: &str = "Abigail_expressive_2024112501";
/// The account's Digital Twin (a video avatar that Avatar V renders).
const TWIN: &str = "Daniel_twin_look_7c1e";
/// The account's photo avatar look.
const PHOTO_LOOK: &str = "f3b8e4c2a9d14e6b8a7c5d3e2f1a0b9c";
/// The account's voices.
const VOICE: &str = "1bd001e7e50f421d891986aad5158bc8";
const OTHER_VOICE: &str = "2d5b0e6cf36f460aa7fc47e3eee4ba54";
/// The portal's HeyGen snippet, as its curl/JS/Python examples send it.
const PORTAL_SNIPPET: &str = r#"{"type":"AVATAR","provider":"heygen","input":{"text":"Hello, I'm your AI assistant","voice":"professional_female"},"options":{"avatarId":"kate","background":"modern_office","gesture":"friendly"},"webhookUrl":"https://your-app.com/webhook"}"#;
/// The motion prompt the `friendly` gesture stands for.
const FRIENDLY: &str = "Friendly and warm: relaxed posture, open-palm hand gestures, gentle nods and a natural smile.";

#[derive(Clone, Copy, PartialEq)]
enum AvatarKind {
    Studio,
    Twin,
    Photo,
}

fn avatar_kind(id: &str) -> Option<AvatarKind> {
    match id {
        STUDIO => Some(AvatarKind::Studio),
        TWIN => Some(AvatarKind::Twin),
        PHOTO_LOOK => Some(AvatarKind::Photo),
        _ => None,
    }
}

/// An uploaded asset.
struct Asset {
    content_type: String,
    bytes: Vec<u8>,
}

/// A video the mock renders.
struct Video {
    script: String,
    width: u32,
    height: u32,
    duration_ms: u32,
    polls: u32,
}

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    /// `http://127.0.0.1:<port>`: where video links point (the "CDN").
    origin: OnceLock<String>,
    assets: Mutex<HashMap<String, Asset>>,
    videos: Mutex<HashMap<String, Video>>,
    next_id: AtomicU64,
    recorder: Recorder,
    /// The `callback_id` of each create, by script.
    callback_ids: Mutex<HashMap<String, String>>,
}

impl Mock {
    /// Record a request; whether it carries the key.
    fn record(&self, method: &str, path: String, headers: &HeaderMap, body: Value) -> bool {
        self.recorder.record(method, path, headers, body);
        headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(KEY)
    }

    fn seen(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    /// Every create whose script contains `marker`.
    fn creates(&self, marker: &str) -> Vec<Recorded> {
        self.recorder
            .filter(|r| r.path == "/v3/videos" && r.body["script"].as_str().is_some_and(|s| s.contains(marker)))
    }

    /// The one create whose script contains `marker`.
    fn create(&self, marker: &str) -> Recorded {
        the_one(self.creates(marker), format_args!("one create for {marker:?}"))
    }

    fn asset(&self, id: &str) -> (String, Vec<u8>) {
        let assets = self.assets.lock().unwrap();
        let asset = assets.get(id).unwrap_or_else(|| panic!("no asset {id}"));
        (asset.content_type.clone(), asset.bytes.clone())
    }
}

/// HeyGen's v3 error body.
fn error(status: StatusCode, code: &str, message: &str, param: Option<&str>) -> Response {
    let mut error = json!({
        "code": code,
        "message": message,
        "doc_url": format!("https://developers.heygen.com/docs/error-codes#{}", code.replace('_', "-")),
    });
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "unauthorized", "The API key provided is invalid, expired, or missing.", None)
}

fn invalid(param: &str, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_parameter", message, Some(param))
}

/// What HeyGen sniffs an upload as.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        Some("audio/wav")
    } else if bytes.starts_with(b"ID3") || bytes.starts_with(&[0xFF, 0xFB]) {
        Some("audio/mpeg")
    } else {
        None
    }
}

/// `POST /v3/assets`.
async fn upload_asset(State(mock): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let parts = parse_multipart(&content_type, &body).ok();
    let summary = match &parts {
        Some(parts) => json!(
            parts
                .iter()
                .map(|part| json!({
                    "name": part.name,
                    "file": part.filename.as_deref().unwrap_or_default(),
                    "type": part.content_type.as_deref().unwrap_or_default(),
                    "size": part.body.len(),
                }))
                .collect::<Vec<_>>()
        ),
        None => Value::Null,
    };
    if !mock.record("POST", "/v3/assets".into(), &headers, summary) {
        return unauthorized();
    }
    let Some(parts) = parts else {
        return invalid("file", "Expected a multipart/form-data body with a file");
    };
    let [FormPart { name, filename, body: data, .. }] = &parts[..] else {
        return invalid("file", "Expected exactly one file part");
    };
    if name != "file" || filename.as_deref().is_none_or(str::is_empty) {
        return invalid("file", "The file must be sent in the `file` field with a file name");
    }
    let Some(mime) = sniff(data) else {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_media_type",
            "Supported files: PNG, JPEG, MP4, WebM, MP3, WAV, PDF",
            Some("file"),
        );
    };
    let id = format!("ast_{:08x}", mock.next_id.fetch_add(1, Ordering::SeqCst));
    mock.assets.lock().unwrap().insert(id.clone(), Asset { content_type: mime.to_string(), bytes: data.clone() });
    let origin = mock.origin.get().unwrap();
    Json(json!({ "data": {
        "asset_id": id,
        "url": format!("{origin}/files/asset/{id}"),
        "mime_type": mime,
        "size_bytes": data.len(),
    }}))
    .into_response()
}

/// Pixels of HeyGen's output.
fn frame(resolution: &str, aspect_ratio: &str) -> (u32, u32) {
    let short = match resolution {
        "720p" => 720,
        "4k" => 2160,
        _ => 1080,
    };
    match aspect_ratio {
        "9:16" => (short, short * 16 / 9),
        "1:1" => (short, short),
        "4:5" => (short, short * 5 / 4),
        "5:4" => (short * 5 / 4, short),
        _ => (short * 16 / 9, short),
    }
}

/// Why HeyGen would refuse this create, if it would.
fn refusal(mock: &Mock, body: &Value) -> Option<Response> {
    const FIELDS: &[&str] = &[
        "type",
        "avatar_id",
        "image",
        "engine",
        "script",
        "voice_id",
        "voice_settings",
        "audio_url",
        "audio_asset_id",
        "resolution",
        "aspect_ratio",
        "background",
        "remove_background",
        "motion_prompt",
        "expressiveness",
        "title",
        "callback_url",
        "callback_id",
        "fit",
        "output_format",
        "caption",
    ];
    let object = body.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(invalid(unknown, &format!("Unknown field `{unknown}`")));
    }
    let kind = match body["type"].as_str() {
        Some("avatar") => {
            let id = body["avatar_id"].as_str().unwrap_or_default();
            let Some(kind) = avatar_kind(id) else {
                return Some(error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    &format!("Avatar look '{id}' not found"),
                    Some("avatar_id"),
                ));
            };
            if body.get("image").is_some() {
                return Some(invalid("image", "`image` is not allowed with type avatar"));
            }
            Some(kind)
        }
        Some("image") => {
            if body.get("avatar_id").is_some() || body.get("engine").is_some() {
                return Some(invalid("avatar_id", "type image takes no avatar_id or engine"));
            }
            let image = &body["image"];
            let valid = match image["type"].as_str() {
                Some("url") => image["url"].as_str().is_some_and(|u| u.starts_with("https://")),
                Some("asset_id") => image["asset_id"].as_str().is_some_and(|id| {
                    mock.assets.lock().unwrap().get(id).is_some_and(|a| a.content_type.starts_with("image/"))
                }),
                _ => false,
            };
            if !valid {
                return Some(invalid("image", "image must be a public https URL or an image asset"));
            }
            None
        }
        _ => return Some(invalid("type", "type must be one of avatar, image, cinematic_avatar, studio")),
    };
    let engine = body.get("engine").map(|e| e["type"].as_str().unwrap_or_default());
    if engine == Some("avatar_iii") {
        return Some(invalid(
            "engine.type",
            "Engine avatar_iii is deprecated and no longer available; use avatar_iv or avatar_v",
        ));
    }
    if engine.is_some_and(|e| !["avatar_iv", "avatar_v"].contains(&e)) {
        return Some(invalid("engine.type", "engine.type must be avatar_iv or avatar_v"));
    }
    let avatar_v = engine == Some("avatar_v");
    if avatar_v && kind != Some(AvatarKind::Twin) {
        return Some(invalid(
            "engine",
            "This avatar look does not support engine avatar_v (supported_api_engines: avatar_iv)",
        ));
    }
    let script = body.get("script");
    let audio = body.get("audio_asset_id").or(body.get("audio_url"));
    match (script, audio) {
        (Some(_), Some(_)) => {
            return Some(invalid("script", "script is mutually exclusive with audio_url/audio_asset_id"));
        }
        (None, None) => return Some(invalid("script", "Provide a script with a voice, or audio_url/audio_asset_id")),
        (Some(script), None) => {
            if script.as_str().is_none_or(|s| s.trim().is_empty()) {
                return Some(invalid("script", "script must be a non-empty string"));
            }
            match body["voice_id"].as_str() {
                Some(voice) if ![VOICE, OTHER_VOICE].contains(&voice) => {
                    return Some(invalid("voice_id", &format!("Voice '{voice}' not found")));
                }
                None if kind.is_none() => {
                    return Some(invalid(
                        "voice_id",
                        "voice_id is required when script is provided without an avatar_id",
                    ));
                }
                _ => {}
            }
            if let Some(settings) = body.get("voice_settings") {
                let speed_ok =
                    settings.get("speed").is_none_or(|s| s.as_f64().is_some_and(|s| (0.5..=1.5).contains(&s)));
                let pitch_ok =
                    settings.get("pitch").is_none_or(|p| p.as_f64().is_some_and(|p| (-50.0..=50.0).contains(&p)));
                let known = settings
                    .as_object()
                    .is_some_and(|o| o.keys().all(|k| ["speed", "pitch", "locale", "volume"].contains(&k.as_str())));
                if !(speed_ok && pitch_ok && known) {
                    return Some(invalid("voice_settings", "voice_settings: speed 0.5–1.5, pitch -50–50, locale"));
                }
            }
        }
        (None, Some(_)) => {
            let id = body["audio_asset_id"].as_str().unwrap_or_default();
            let is_audio = mock.assets.lock().unwrap().get(id).is_some_and(|a| a.content_type.starts_with("audio/"));
            if !is_audio {
                return Some(invalid("audio_asset_id", &format!("Audio asset '{id}' not found")));
            }
            if body.get("voice_id").is_some() || body.get("voice_settings").is_some() {
                return Some(invalid("voice_id", "voice_id and voice_settings apply to script only"));
            }
        }
    }
    if !["4k", "1080p", "720p"].contains(&body["resolution"].as_str().unwrap_or("1080p")) {
        return Some(invalid("resolution", "resolution must be one of 4k, 1080p, 720p"));
    }
    if !["16:9", "9:16", "4:5", "5:4", "1:1", "auto"].contains(&body["aspect_ratio"].as_str().unwrap_or("16:9")) {
        return Some(invalid("aspect_ratio", "aspect_ratio must be one of 16:9, 9:16, 4:5, 5:4, 1:1, auto"));
    }
    if let Some(background) = body.get("background") {
        let valid = match background["type"].as_str() {
            Some("color") => background["value"]
                .as_str()
                .is_some_and(|v| v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit())),
            Some("image") => background["url"].as_str().is_some_and(|u| u.starts_with("https://")),
            _ => false,
        };
        if !valid {
            return Some(invalid("background", "background: {type: color, value: '#rrggbb'} or {type: image, url}"));
        }
    }
    let video_avatar = matches!(kind, Some(AvatarKind::Studio | AvatarKind::Twin));
    if body.get("motion_prompt").is_some() && video_avatar && !avatar_v {
        return Some(invalid(
            "motion_prompt",
            "motion_prompt is supported for photo avatars, and for video avatars only with engine avatar_v",
        ));
    }
    if body.get("expressiveness").is_some() && (video_avatar || avatar_v) {
        return Some(invalid("expressiveness", "expressiveness is supported for photo avatars on Avatar IV only"));
    }
    None
}

/// `POST /v3/videos`.
async fn create_video(State(mock): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let callback_id = json.as_object_mut().and_then(|o| o.remove("callback_id"));
    if let Some(id) = &callback_id {
        let script = json["script"].as_str().unwrap_or_default().to_string();
        mock.callback_ids.lock().unwrap().insert(script, id.as_str().unwrap_or("<not a string>").to_string());
    }
    if !mock.record("POST", "/v3/videos".into(), &headers, json.clone()) {
        return unauthorized();
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") || !json.is_object() {
        return invalid("body", "Expected a JSON object");
    }
    if let Some(refused) = refusal(&mock, &json) {
        return refused;
    }
    let script = json["script"].as_str().unwrap_or_default().to_string();
    if script.contains("[blocked]") {
        return error(
            StatusCode::BAD_REQUEST,
            "blocked_words_detected",
            "Blocked words detected in the script",
            Some("script"),
        );
    }
    if script.contains("[busy]") {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "Too many concurrent video jobs (limit 10)",
            None,
        );
        response.headers_mut().insert("retry-after", "1".parse().unwrap());
        return response;
    }
    let duration_ms = match json["audio_asset_id"].as_str() {
        Some(id) => wav_ms(&mock.asset(id).1).unwrap_or(1_000),
        None => {
            let speed = json["voice_settings"]["speed"].as_f64().unwrap_or(1.0);
            ((script.split_whitespace().count() as f64 * 400.0) / speed).round() as u32
        }
    };
    let (width, height) =
        frame(json["resolution"].as_str().unwrap_or("1080p"), json["aspect_ratio"].as_str().unwrap_or("16:9"));
    let id = format!("{:032x}", 0xa1b2_c3d4_0000_u64 + mock.next_id.fetch_add(1, Ordering::SeqCst));
    mock.videos.lock().unwrap().insert(id.clone(), Video { script, width, height, duration_ms, polls: 0 });
    Json(json!({ "data": { "video_id": id, "status": "waiting", "output_format": "mp4" } })).into_response()
}

/// `GET /v3/videos/{video_id}`.
async fn get_video(State(mock): State<Arc<Mock>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !mock.record("GET", format!("/v3/videos/{id}"), &headers, Value::Null) {
        return unauthorized();
    }
    let mut videos = mock.videos.lock().unwrap();
    let Some(video) = videos.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "Video not found", None);
    };
    video.polls += 1;
    let detail = |status: &str| json!({ "id": id, "status": status, "title": null, "created_at": 1_767_225_600 });
    let script = video.script.clone();
    let data = match video.polls {
        1 if script.contains("[flaky]") => {
            return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
        }
        _ if script.contains("[slow]") => detail("processing"),
        1 => detail("pending"),
        2 => detail("processing"),
        _ if script.contains("[render-fails]") => {
            let mut failed = detail("failed");
            failed["failure_code"] = json!("rendering_failed");
            failed["failure_message"] = json!("Avatar rendering timed out");
            failed
        }
        _ => {
            let origin = mock.origin.get().unwrap();
            let mut done = detail("completed");
            done["video_url"] = json!(format!("{origin}/files/video/{id}.mp4?Expires=1767830400&Signature=TEST"));
            done["thumbnail_url"] = json!(format!("{origin}/files/thumb/{id}.jpg"));
            done["duration"] = json!(f64::from(video.duration_ms) / 1000.0);
            done["completed_at"] = json!(1_767_225_900);
            done
        }
    };
    Json(json!({ "data": data })).into_response()
}

/// `DELETE /v3/videos/{video_id}`.
async fn delete_video(State(mock): State<Arc<Mock>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !mock.record("DELETE", format!("/v3/videos/{id}"), &headers, Value::Null) {
        return unauthorized();
    }
    match mock.videos.lock().unwrap().remove(&id) {
        Some(_) => Json(json!({ "data": { "id": id, "deleted": true } })).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "Video not found", None),
    }
}

/// The "CDN": the MP4 of a video.
async fn download(State(mock): State<Arc<Mock>>, Path(file): Path<String>) -> Response {
    let videos = mock.videos.lock().unwrap();
    mp4_file(videos.get(file.trim_end_matches(".mp4")).map(|v| (v.width, v.height, v.duration_ms)))
}

/// Start the mock HeyGen.
/// `GET /v3/users/me`: the account and its balance.
async fn me(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    if !mock.record("GET", "/v3/users/me".into(), &headers, Value::Null) {
        return unauthorized();
    }
    Json(json!({ "data": { "email": "ops@example.com", "billing_type": "wallet", "wallet": { "remaining_balance": 42.5, "currency": "USD" } } }))
        .into_response()
}

async fn mock_heygen() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v3/assets", post(upload_asset))
        .route("/v3/videos", post(create_video))
        .route("/v3/users/me", get(me))
        .route("/v3/videos/{id}", get(get_video).delete(delete_video))
        .route("/files/video/{file}", get(download))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.origin.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

/// Generate an avatar with `key` and wait for the end.
async fn run(server: &Server, key: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "AVATAR", "heygen", input, options).await
}

/// Credits HeyGen's list price gives `ms` of video at `rate` hundredths of a cent a second.
fn price(ms: u64, rate: u64) -> i64 {
    (ms * rate).div_ceil(100_000) as i64
}

#[tokio::test]
async fn heygen_avatars_and_photos_speak_and_the_video_is_rehosted() {
    let (vendor, mock) = mock_heygen().await;
    let (server, key) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    let photo = sample_png(64, 80);
    let speech = sample_wav(16_000, 3_200);
    let (studio, from_photo, look, twin) = tokio::join!(
        // A Studio Avatar reads a script in a chosen voice, on a colour.
        run(
            &server,
            &key,
            json!({ "text": "Welcome to the quarterly update from our team", "voice": VOICE }),
            json!({ "avatarId": STUDIO, "background": "#F5F5F5" }),
        ),
        // A photo lip-syncs inline audio, with a gesture preset, upright at 720p.
        run(
            &server,
            &key,
            json!({ "image": data_uri("image/png", &photo), "audio": data_uri("audio/wav", &speech) }),
            json!({ "gesture": "friendly", "aspectRatio": "9:16", "resolution": "720p" }),
        ),
        // A photo avatar look, its own voice, an image behind it, free-form motion, 4K square.
        run(
            &server,
            &key,
            json!({ "text": "Our new office opens on Monday [look]" }),
            json!({
                "avatarId": PHOTO_LOOK,
                "background": "https://images.example.com/office.jpg",
                "gesture": "points at the sign behind her",
                "expressiveness": "high",
                "resolution": "4k",
                "aspectRatio": "1:1",
            }),
        ),
        // A Digital Twin on Avatar V, its voice tuned.
        run(
            &server,
            &key,
            json!({ "text": "Quick tip number four [twin]", "voice": OTHER_VOICE }),
            json!({ "avatarId": TWIN, "engine": "avatar-v", "speed": 1.25, "pitch": 2, "locale": "en-GB" }),
        ),
    );

    // 8 words: 3.2 s of a video avatar at 1080p ($0.0667/s).
    assert_completed(&studio, "heygen", price(3_200, 667), (1920, 1080), 3.2);
    assert_rehosted_mp4(&server, &studio, &sample_mp4(1920, 1080, 3_200)).await;
    let create = mock.create("quarterly update");
    assert_eq!(create.header("x-api-key"), Some(KEY));
    assert_eq!(create.header("content-type"), Some("application/json"));
    assert_eq!(
        create.body,
        json!({
            "type": "avatar",
            "avatar_id": STUDIO,
            "engine": { "type": "avatar_iv" },
            "script": "Welcome to the quarterly update from our team",
            "voice_id": VOICE,
            "resolution": "1080p",
            "aspect_ratio": "16:9",
            "background": { "type": "color", "value": "#f5f5f5" },
        })
    );

    // The photo and the audio were uploaded byte for byte, then named by asset id.
    assert_completed(&from_photo, "heygen", price(3_200, 500), (720, 1280), 3.2);
    assert_rehosted_mp4(&server, &from_photo, &sample_mp4(720, 1280, 3_200)).await;
    let photo_create: Vec<Recorded> = mock.recorder.filter(|r| r.path == "/v3/videos" && r.body["type"] == "image");
    let [photo_create] = &photo_create[..] else { panic!("one photo video: {photo_create:?}") };
    let image_asset = photo_create.body["image"]["asset_id"].as_str().unwrap().to_string();
    let audio_asset = photo_create.body["audio_asset_id"].as_str().unwrap().to_string();
    assert_eq!(
        photo_create.body,
        json!({
            "type": "image",
            "image": { "type": "asset_id", "asset_id": image_asset },
            "audio_asset_id": audio_asset,
            "resolution": "720p",
            "aspect_ratio": "9:16",
            "motion_prompt": FRIENDLY,
        })
    );
    assert_eq!(mock.asset(&image_asset), ("image/png".to_string(), photo.clone()));
    assert_eq!(mock.asset(&audio_asset), ("audio/wav".to_string(), speech.clone()));
    let uploads: Vec<Value> = mock.recorder.filter(|r| r.path == "/v3/assets").iter().map(|r| r.body.clone()).collect();
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    assert!(
        uploads.contains(&json!([{ "name": "file", "file": "photo.png", "type": "image/png", "size": photo.len() }]))
    );
    assert!(
        uploads.contains(&json!([{ "name": "file", "file": "speech.wav", "type": "audio/wav", "size": speech.len() }]))
    );

    // 7 words = 2.8 s of an avatar at 4K ($0.0833/s): an avatarId is billed as a video avatar.
    assert_completed(&look, "heygen", price(2_800, 833), (2160, 2160), 2.8);
    assert_eq!(
        mock.create("[look]").body,
        json!({
            "type": "avatar",
            "avatar_id": PHOTO_LOOK,
            "engine": { "type": "avatar_iv" },
            "script": "Our new office opens on Monday [look]",
            "resolution": "4k",
            "aspect_ratio": "1:1",
            "background": { "type": "image", "url": "https://images.example.com/office.jpg" },
            "motion_prompt": "points at the sign behind her",
            "expressiveness": "high",
        })
    );

    // 5 words at speed 1.25 = 1.6 s.
    assert_completed(&twin, "heygen", price(1_600, 667), (1920, 1080), 1.6);
    let body = mock.create("[twin]").body;
    assert_eq!(body["engine"], json!({ "type": "avatar_v" }));
    assert_eq!(body["voice_settings"], json!({ "speed": 1.25, "pitch": 2.0, "locale": "en-GB" }));

    // Every video was polled to the end, every call with the key.
    let seen = mock.seen();
    assert!(seen.iter().filter(|r| r.method == "GET").count() >= 4 * 3, "{seen:?}");
    assert!(seen.iter().all(|r| r.header("x-api-key") == Some(KEY)), "every call carries the key");
    let spent = price(3_200, 667) + price(3_200, 500) + price(2_800, 833) + price(1_600, 667);
    assert_eq!(credits(&server, &key).await, 100_000 - spent);
}

#[tokio::test]
async fn heygen_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_heygen().await;
    let (server, key) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    let avatar = json!({ "avatarId": STUDIO });
    let say = |text: &str| json!({ "text": text });
    let (blocked, render_fails, busy, flaky, unknown_avatar, no_motion) = tokio::join!(
        run(&server, &key, say("something forbidden [blocked]"), avatar.clone()),
        run(&server, &key, say("a long speech [render-fails]"), avatar.clone()),
        run(&server, &key, say("a crowded hour [busy]"), avatar.clone()),
        run(&server, &key, say("a shaky start [flaky]"), avatar.clone()),
        run(&server, &key, say("who am I [kate]"), json!({ "avatarId": "kate" })),
        run(&server, &key, say("wave please [studio-motion]"), json!({ "avatarId": STUDIO, "gesture": "energetic" })),
    );
    assert_failed(&blocked, "GENERATION_FAILED", &["HeyGen answered HTTP 400 (blocked_words_detected, param script)"]);
    assert_eq!(mock.creates("[blocked]").len(), 1, "moderation is final");
    assert_failed(
        &render_fails,
        "GENERATION_FAILED",
        &["HeyGen failed the video (rendering_failed): Avatar rendering timed out"],
    );
    // Rate limited: retryable, so the host submitted three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["HeyGen answered HTTP 429 (rate_limit_exceeded)", "limit 10"]);
    assert_eq!(mock.creates("[busy]").len(), 3, "the host retries a rate-limited create");
    // A transient 503 while polling, then success.
    assert_completed(&flaky, "heygen", price(1_600, 667), (1920, 1080), 1.6);
    // HeyGen's own refusals of ids and combinations it alone can judge.
    assert_failed(
        &unknown_avatar,
        "INVALID_INPUT",
        &["HeyGen answered HTTP 404 (not_found, param avatar_id): Avatar look 'kate' not found"],
    );
    assert_failed(
        &no_motion,
        "INVALID_INPUT",
        &["(invalid_parameter, param motion_prompt)", "only with engine avatar_v"],
    );

    // What HeyGen cannot do at all: refused before any job exists. On a
    // second server: the 429 above carried `Retry-After`, which holds the
    // offering back on this one.
    let (refusing, refusing_key) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    let cases = [
        (
            say("hi [refused]"),
            json!({ "avatarId": STUDIO, "background": "modern_office" }),
            "provider `heygen` refused the request: option `background` of provider `heygen` must be a hex colour \
             such as #F5F5F5 or an https:// URL of a JPG or PNG image (HeyGen has no named backgrounds); got \
             modern_office",
        ),
        (
            say("hi [refused]"),
            json!({}),
            "provider `heygen` refused the request: provider `heygen` needs option `avatarId` (a HeyGen avatar or \
             look id from your HeyGen account) or input.image (a portrait photo to animate)",
        ),
        (
            say("hi [refused]"),
            json!({ "avatarId": TWIN, "engine": "avatar-v", "expressiveness": "high" }),
            "provider `heygen` refused the request: option `expressiveness` of provider `heygen` is for engine \
             avatar-iv only (HeyGen rejects it with avatar-v)",
        ),
        (
            json!({ "text": "hi [refused]", "image": data_uri("image/png", &sample_png(8, 8)) }),
            json!({}),
            "provider `heygen` refused the request: input.voice is required by provider `heygen` to read input.text \
             over a photo (a HeyGen voice id from GET /v3/voices); only avatars have a voice of their own",
        ),
        (
            json!({ "audio": "https://speech.invalid/line.mp3" }),
            json!({ "avatarId": STUDIO }),
            "provider `heygen` refused the request: input.audio given by URL needs option `duration`: its length in \
             seconds (HeyGen bills the video's length, which is the audio's; a data: URI is measured instead)",
        ),
        (
            say("hi [refused]"),
            json!({ "avatarId": STUDIO, "resolution": "8k" }),
            "option `resolution` of provider `heygen` must be one of \"720p\", \"1080p\", \"4k\"; got \"8k\"",
        ),
        (
            say("hi [refused]"),
            json!({ "avatarId": STUDIO, "emotion": "Friendly" }),
            "option `emotion` is not supported by provider `heygen`; supported options: avatarId, engine, \
             resolution, aspectRatio, background, removeBackground, gesture, expressiveness, speed, pitch, locale, \
             duration",
        ),
    ];
    for (input, options, message) in cases {
        let error = generate_kind(&refusing, &refusing_key, "AVATAR", "heygen", input, options.clone())
            .await
            .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        assert_eq!(error["message"], message, "{options}");
    }
    assert!(mock.creates("[refused]").is_empty(), "nothing refused reached HeyGen");
    assert_job_count(&refusing, &refusing_key, 0).await;
    assert_job_count(&server, &key, 6).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - price(1_600, 667));
}

#[tokio::test]
async fn heygen_audio_by_url_is_priced_by_its_stated_length_and_fetched_by_the_host() {
    let (vendor, mock) = mock_heygen().await;
    let (server, key) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    // 30 s of a video avatar: the price is set at once from `duration`.
    let accepted = generate_kind(
        &server,
        &key,
        "AVATAR",
        "heygen",
        json!({ "audio": "https://speech.invalid/line.mp3" }),
        json!({ "avatarId": STUDIO, "duration": 30 }),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(accepted["creditCost"], price(30_000, 667));
    // The host fetches the audio for the adapter (needs-bytes) before HeyGen
    // sees anything; this one cannot be fetched, so the job fails, refunded.
    let ended = server.wait_terminal(&key, accepted["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_failed(&ended, "INVALID_INPUT", &["input.audio", "speech.invalid"]);
    assert!(mock.seen().is_empty(), "HeyGen never saw it: {:?}", mock.seen());
    assert_eq!(credits(&server, &key).await, 100_000);
}

#[tokio::test]
async fn heygen_cancel_deletes_the_video_but_heygen_still_bills() {
    let (vendor, mock) = mock_heygen().await;
    let (server, key) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    let accepted = generate_kind(
        &server,
        &key,
        "AVATAR",
        "heygen",
        json!({ "text": "a long take [slow]" }),
        json!({ "avatarId": STUDIO }),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    mock.recorder.wait_for("a poll of the video", |r| r.method == "GET").await;
    let ended = cancel_to_end(&server, &key, accepted["id"].as_str().unwrap()).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    // The video polled is the one deleted, with the key.
    let polled = mock.recorder.filter(|r| r.method == "GET");
    let deletes = mock.recorder.filter(|r| r.method == "DELETE");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!((deletes[0].path.as_str(), deletes[0].header("x-api-key")), (polled[0].path.as_str(), Some(KEY)));
    assert!(mock.videos.lock().unwrap().is_empty(), "the video is gone at HeyGen");
    // HeyGen bills a started render, so nothing is refunded.
    assert_eq!(credits(&server, &key).await, 100_000 - price(1_600, 667));
}

#[tokio::test]
async fn heygen_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_heygen().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("heygen", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("heygen", &vendor, &[("api_key", "hg-revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    let heygen = listed_provider(&unconfigured, "AVATAR", "heygen").await;
    assert_eq!((heygen["vendor"].as_str(), heygen["available"].as_bool()), (Some("HeyGen"), Some(false)));
    assert_eq!(heygen["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(heygen["pricing"], json!({ "creditCost": 67, "estimatedTime": 280 }));
    let options = option_names(&heygen);
    assert_eq!(
        options,
        [
            "avatarId",
            "engine",
            "resolution",
            "aspectRatio",
            "background",
            "removeBackground",
            "gesture",
            "expressiveness",
            "speed",
            "pitch",
            "locale",
            "duration"
        ]
    );
    let input = json!({ "text": "Hello there [test mode]" });
    assert_not_configured(
        &unconfigured,
        &live,
        "AVATAR",
        "heygen",
        input.clone(),
        json!({ "avatarId": STUDIO }),
        "heygen",
    )
    .await;
    let test_mode = run(&unconfigured, &unconfigured.key, input, json!({ "avatarId": STUDIO })).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], price(1_600, 667));

    // A key HeyGen refuses: final, not retried.
    let refused = run(&wrong, &wrong_key, json!({ "text": "hello [wrong key]" }), json!({ "avatarId": STUDIO })).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["HeyGen answered HTTP 401 (unauthorized)", "invalid"]);
    let creates = mock.creates("[wrong key]");
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].header("x-api-key"), Some("hg-revoked"));
    assert!(mock.creates("[test mode]").is_empty(), "test keys never reach HeyGen");
}

#[tokio::test]
async fn heygen_portal_snippet_gets_the_exact_answer_for_what_heygen_cannot_do() {
    let (vendor, mock) = mock_heygen().await;
    let (server, live) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    let snippet: Value = serde_json::from_str(PORTAL_SNIPPET).unwrap();
    let mutation = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {GENERATION_FIELDS} }} }}");
    let send = |key: String, input: Value| {
        let (server, mutation) = (&server, &mutation);
        async move {
            let (_, _, body) = server.post(Some(&key), mutation, json!({ "input": input }), &[]).await;
            body
        }
    };

    // As published: HeyGen has no named backgrounds.
    for key in [server.key.clone(), live.clone()] {
        let body = send(key, snippet.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(
            body["errors"][0]["message"],
            "provider `heygen` refused the request: option `background` of provider `heygen` must be a hex colour \
             such as #F5F5F5 or an https:// URL of a JPG or PNG image (HeyGen has no named backgrounds); got \
             modern_office"
        );
    }
    assert!(mock.seen().is_empty(), "nothing reached HeyGen");

    // With a colour instead: the gesture becomes HeyGen's motion prompt, and
    // the friendly names go to HeyGen, which knows no avatar `kate`.
    let mut coloured = snippet.clone();
    coloured["options"]["background"] = json!("#F5F5F5");
    let body = send(live.clone(), coloured.clone()).await;
    let generation = &body["data"]["generate"];
    assert_eq!(generation["creditCost"], price(2_000, 667), "{body}");
    let ended = server.wait_terminal(&live, generation["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_failed(
        &ended,
        "INVALID_INPUT",
        &["HeyGen answered HTTP 404 (not_found, param avatar_id): Avatar look 'kate' not found"],
    );
    let sent = mock.create("I'm your AI assistant").body;
    assert_eq!((sent["avatar_id"].as_str(), sent["voice_id"].as_str()), (Some("kate"), Some("professional_female")));
    assert_eq!(sent["motion_prompt"], FRIENDLY);
    // A test key runs it on the placeholder at HeyGen's price.
    let body = send(server.key.clone(), coloured.clone()).await;
    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    let done = server.wait_terminal(&server.key, id, Duration::from_secs(60)).await;
    assert_eq!((done["status"].as_str(), done["creditCost"].as_i64()), (Some("COMPLETED"), Some(price(2_000, 667))));

    // With the account's own ids: the snippet renders.
    let mut own = coloured.clone();
    own["input"]["voice"] = json!(VOICE);
    own["options"]["avatarId"] = json!(PHOTO_LOOK);
    let body = send(live.clone(), own).await;
    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    let done = server.wait_terminal(&live, id, Duration::from_secs(60)).await;
    assert_completed(&done, "heygen", price(2_000, 667), (1920, 1080), 2.0);
    let creates = mock.creates("I'm your AI assistant");
    assert_eq!(creates.len(), 2);
    assert_eq!(
        creates[1].body,
        json!({
            "type": "avatar",
            "avatar_id": PHOTO_LOOK,
            "engine": { "type": "avatar_iv" },
            "script": "Hello, I'm your AI assistant",
            "voice_id": VOICE,
            "resolution": "1080p",
            "aspect_ratio": "16:9",
            "background": { "type": "color", "value": "#f5f5f5" },
            "motion_prompt": FRIENDLY,
        })
    );
    assert_eq!(credits(&server, &live).await, 100_000 - price(2_000, 667));
}

/// A server like [`live_server`] whose `[plugins.heygen]` also carries the
/// operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("heygen", vendor, &[("api_key", KEY)], settings).await
}

/// A retired engine (a stale setting naming Avatar III) fails as
/// `PROVIDER_UNAVAILABLE`, not retried and refunded; the generation id
/// reaches HeyGen as the video's `callback_id`.
#[tokio::test]
async fn heygen_settings_replace_the_engine_and_a_retired_one_is_unavailable() {
    let (vendor, mock) = mock_heygen().await;
    let (server, key) = live_server_with_settings(&vendor, r#""model.heygen" = "avatar_iii""#).await;
    let retired = run(
        &server,
        &key,
        json!({ "text": "An old engine speaks [retired]", "voice": VOICE }),
        json!({ "avatarId": STUDIO }),
    )
    .await;
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["deprecated", "avatar_iii"]);
    let [create] = &mock.creates("[retired]")[..] else { panic!("one create, not retried: {:?}", mock.seen()) };
    assert_eq!(create.body["engine"], json!({ "type": "avatar_iii" }));
    assert_eq!(credits(&server, &key).await, 100_000, "refunded");

    let (plain, plain_key) = live_server("heygen", &vendor, &[("api_key", KEY)]).await;
    let done = run(
        &plain,
        &plain_key,
        json!({ "text": "The current engine speaks [callback]", "voice": VOICE }),
        json!({ "avatarId": STUDIO }),
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", plain.log());
    assert_eq!(mock.create("[callback]").body["engine"], json!({ "type": "avatar_iv" }));
    let callback_ids = mock.callback_ids.lock().unwrap().clone();
    assert_eq!(
        callback_ids.get("The current engine speaks [callback]").map(String::as_str),
        done["id"].as_str(),
        "the generation id is HeyGen's callback_id: {callback_ids:?}"
    );
}
