//! Mock ElevenLabs text-to-speech API and the `elevenlabs` adapter's
//! end-to-end tests.
//!
//! The mock speaks ElevenLabs' documented exchange (`shared/vendors/
//! elevenlabs.md`): `POST /v1/text-to-speech/{voice_id}?output_format=…`
//! with `xi-api-key`, answered synchronously with the audio: real MPEG
//! Layer III frames for `mp3_*` formats (MPEG-1 at 44.1 kHz, MPEG-2 at
//! 22.05/24 kHz, behind an ID3v2 tag), raw 16-bit mono PCM for `pcm_*`,
//! about 60 ms of speech per character over the requested speed. Like
//! ElevenLabs it answers `{"detail": {"status", "message"}}` errors:
//! `invalid_api_key` (401) for a wrong key, `voice_not_found` (404) for a
//! voice it does not have, `max_character_limit_exceeded` over the model's
//! limit, 422 for a body ElevenLabs would refuse (unknown fields or
//! models, settings out of range, `language_code` for a model that does
//! not take it). Markers in the text pick failures: `[quota]` (401
//! `quota_exceeded`), `[busy]` (429 `system_busy`), `[moderated]` (400
//! `bad_prompt`) and `[flaky]` (the first attempt answers 503).
//!
//! It serves the text-to-speech models ElevenLabs lists today
//! (elevenlabs.io/docs/models: Eleven v3, Multilingual v2, Flash and Turbo
//! v2/v2.5); any other `model_id`, such as the deprecated v1 models, gets
//! 400 `model_not_found`. `GET /v1/models`, the adapter's health check,
//! lists them.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    GENERATION_FIELDS, MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_not_configured,
    assert_spoken, assert_status, credits, generate_kind, generate_kind_to_end, listed_provider, live_server, metadata,
    option_names, sample_wav, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "sk_el_live_4c1d9e";
/// A cloned voice on the mock's account, given by raw id.
const CLONED_VOICE: &str = "c1OnEdV0iCe000000001";
/// The portal's ElevenLabs snippet, as its GraphQL example sends it.
const PORTAL_SNIPPET: &str = r#"{"type":"AUDIO","provider":"elevenlabs","input":{"text":"Welcome to the future of artificial intelligence"},"options":{"voice":"rachel","emotion":"excited","speed":1.0}}"#;
/// Milliseconds of speech per character at speed 1.0.
const MS_PER_CHAR: f64 = 60.0;

/// Voice ids the mock's account has: ElevenLabs' premade voices the tests
/// use, and one cloned voice.
const VOICES: [(&str, &str); 5] = [
    ("george", "JBFqnCBsd6RMkjVDRZzb"),
    ("rachel", "21m00Tcm4TlvDq8ikWAM"),
    ("adam", "pNInz6obpgDQGcFmaJgB"),
    ("sarah", "EXAVITQu4vr4xnSDxMaL"),
    ("cloned", CLONED_VOICE),
];

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    recorder: Recorder,
    /// Texts whose `[flaky]` first attempt already failed.
    flaked: Mutex<Vec<String>>,
}

impl Mock {
    /// Every request whose text contains `marker`.
    fn calls(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.body["text"].as_str().is_some_and(|t| t.contains(marker)))
    }

    /// The one request whose text contains `marker`.
    fn call(&self, marker: &str) -> Recorded {
        the_one(self.calls(marker), format_args!("one call for {marker:?}"))
    }
}

/// An ElevenLabs error answer.
fn detail(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "detail": { "status": code, "message": message } }))).into_response()
}

/// ElevenLabs' 422 for a body it cannot take.
fn unprocessable(place: &[&str], message: &str) -> Response {
    let answer = json!({ "detail": [{ "loc": place, "msg": message, "type": "value_error" }] });
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(answer)).into_response()
}

/// ElevenLabs' character limit per model id.
fn max_chars(model: &str) -> Option<usize> {
    match model {
        "eleven_multilingual_v2" => Some(10_000),
        "eleven_v3" => Some(5_000),
        "eleven_flash_v2_5" | "eleven_turbo_v2_5" => Some(40_000),
        "eleven_flash_v2" | "eleven_turbo_v2" => Some(30_000),
        _ => None,
    }
}

/// Why ElevenLabs would refuse this body, if it would.
fn refusal(body: &Value) -> Option<Response> {
    const FIELDS: &[&str] = &["text", "model_id", "language_code", "voice_settings", "seed"];
    const SETTINGS: &[&str] = &["stability", "similarity_boost", "style", "use_speaker_boost", "speed"];
    let Some(object) = body.as_object() else { return Some(unprocessable(&["body"], "expected an object")) };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(unprocessable(&["body", unknown], "extra fields not permitted"));
    }
    let Some(text) = body["text"].as_str() else { return Some(unprocessable(&["body", "text"], "field required")) };
    let model = body["model_id"].as_str().unwrap_or("eleven_multilingual_v2");
    let Some(limit) = max_chars(model) else {
        return Some(detail(
            StatusCode::BAD_REQUEST,
            "model_not_found",
            &format!("A model with model ID {model} does not exist"),
        ));
    };
    if text.chars().count() > limit {
        return Some(detail(
            StatusCode::BAD_REQUEST,
            "max_character_limit_exceeded",
            &format!("Text is too long for {model}: at most {limit} characters"),
        ));
    }
    if body.get("language_code").is_some() && !["eleven_flash_v2_5", "eleven_turbo_v2_5"].contains(&model) {
        return Some(detail(
            StatusCode::BAD_REQUEST,
            "unsupported_language",
            &format!("Model '{model}' does not support language_code"),
        ));
    }
    let settings = body["voice_settings"].as_object()?;
    if let Some(unknown) = settings.keys().find(|k| !SETTINGS.contains(&k.as_str())) {
        return Some(unprocessable(&["body", "voice_settings", unknown], "extra fields not permitted"));
    }
    for name in ["stability", "similarity_boost", "style"] {
        let value = settings.get(name).and_then(Value::as_f64);
        if !value.is_some_and(|v| (0.0..=1.0).contains(&v)) {
            return Some(unprocessable(&["body", "voice_settings", name], "must be between 0 and 1"));
        }
    }
    if model == "eleven_v3" && ![0.0, 0.5, 1.0].contains(&settings["stability"].as_f64().unwrap_or(-1.0)) {
        return Some(detail(
            StatusCode::BAD_REQUEST,
            "invalid_voice_settings",
            "eleven_v3 stability must be 0.0, 0.5 or 1.0",
        ));
    }
    if !settings.get("speed").and_then(Value::as_f64).is_some_and(|s| (0.7..=1.2).contains(&s)) {
        return Some(unprocessable(&["body", "voice_settings", "speed"], "must be between 0.7 and 1.2"));
    }
    None
}

/// An ElevenLabs output format: MP3 (`rate`, `kbps`) or raw PCM (`rate`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Output {
    Mp3 { rate: u32, kbps: u32 },
    Pcm { rate: u32 },
}

impl Output {
    fn parse(name: &str) -> Option<Output> {
        const MP3: &[(u32, u32)] =
            &[(22_050, 32), (24_000, 48), (44_100, 32), (44_100, 64), (44_100, 96), (44_100, 128), (44_100, 192)];
        const PCM: &[u32] = &[8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];
        let parts: Vec<&str> = name.split('_').collect();
        match parts.as_slice() {
            ["mp3", rate, kbps] => {
                let format = (rate.parse().ok()?, kbps.parse().ok()?);
                MP3.contains(&format).then_some(Output::Mp3 { rate: format.0, kbps: format.1 })
            }
            ["pcm", rate] => rate.parse().ok().filter(|r| PCM.contains(r)).map(|rate| Output::Pcm { rate }),
            _ => None,
        }
    }
}

/// Milliseconds of speech the mock makes for `text` at `speed`.
fn speech_ms(text: &str, speed: f64) -> u32 {
    (text.chars().count() as f64 * MS_PER_CHAR / speed).round() as u32
}

/// `ms` of speech as ElevenLabs sends it in `output`, and its exact length
/// in milliseconds (whole MP3 frames round it up).
fn speech(output: Output, ms: u32) -> (Vec<u8>, u32) {
    match output {
        Output::Pcm { rate } => {
            // Headerless 16-bit mono: a WAV's samples.
            let pcm = sample_wav(rate, ms)[44..].to_vec();
            let exact = (pcm.len() as u64 / 2 * 1000 / u64::from(rate)) as u32;
            (pcm, exact)
        }
        Output::Mp3 { rate, kbps } => {
            // MPEG-1 at 44.1 kHz (1152 samples a frame), MPEG-2 below (576).
            let (mpeg1, samples_per_frame) = if rate == 44_100 { (true, 1152u64) } else { (false, 576) };
            let frames = (u64::from(ms) * u64::from(rate)).div_ceil(1000 * samples_per_frame);
            let (version_byte, rate_index, bitrates): (u8, u8, &[u32]) = if mpeg1 {
                (0xFB, 0, &[32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320])
            } else {
                (0xF3, if rate == 22_050 { 0 } else { 1 }, &[8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160])
            };
            let bitrate_index = bitrates.iter().position(|&b| b == kbps).unwrap() as u8 + 1;
            let slot_bytes = samples_per_frame / 8 * u64::from(kbps) * 1000; // per frame × sample rate
            let mut out = b"ID3\x04\x00\x00\x00\x00\x00\x17TSSE\x00\x00\x00\x0d\x00\x00\x03Lavf60.3.100".to_vec();
            let mut remainder = 0u64;
            for i in 0..frames {
                // Padding slots keep the mean bitrate, as encoders do.
                remainder += slot_bytes % u64::from(rate);
                let padded = remainder >= u64::from(rate);
                if padded {
                    remainder -= u64::from(rate);
                }
                let length = (slot_bytes / u64::from(rate)) as usize + usize::from(padded);
                let mut frame =
                    vec![0xFF, version_byte, bitrate_index << 4 | rate_index << 2 | u8::from(padded) << 1, 0xC4];
                frame.extend((4..length).map(|j| ((i as usize * 31 + j * 7) % 251) as u8));
                out.extend(frame);
            }
            let exact = (frames * samples_per_frame * 1000 + u64::from(rate) / 2) / u64::from(rate);
            (out, exact as u32)
        }
    }
}

async fn text_to_speech(
    State(mock): State<Arc<Mock>>,
    Path(voice_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let query = query.unwrap_or_default();
    mock.recorder.record("POST", format!("/v1/text-to-speech/{voice_id}?{query}"), &headers, body.clone());
    if headers.get("xi-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return detail(StatusCode::UNAUTHORIZED, "invalid_api_key", "Invalid API key");
    }
    if body.is_null() {
        return unprocessable(&["body"], "invalid JSON");
    }
    let format = query.strip_prefix("output_format=").unwrap_or("mp3_44100_128");
    let Some(output) = Output::parse(format) else {
        return unprocessable(&["query", "output_format"], "unexpected value");
    };
    if let Some(refused) = refusal(&body) {
        return refused;
    }
    if !VOICES.iter().any(|(_, id)| *id == voice_id) {
        return detail(
            StatusCode::NOT_FOUND,
            "voice_not_found",
            &format!("A voice with the voice_id {voice_id} was not found."),
        );
    }
    let text = body["text"].as_str().unwrap_or_default().to_string();
    if text.contains("[quota]") {
        return detail(
            StatusCode::UNAUTHORIZED,
            "quota_exceeded",
            "This request exceeds your quota. You have 0 credits remaining.",
        );
    }
    if text.contains("[busy]") {
        return detail(
            StatusCode::TOO_MANY_REQUESTS,
            "system_busy",
            "The system is experiencing heavy traffic, please try again later.",
        );
    }
    if text.contains("[moderated]") {
        return detail(
            StatusCode::BAD_REQUEST,
            "bad_prompt",
            "Your prompt appears to have violated our Terms of Service.",
        );
    }
    if text.contains("[flaky]") {
        let mut flaked = mock.flaked.lock().unwrap();
        if !flaked.contains(&text) {
            flaked.push(text);
            return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
        }
    }
    let speed = body["voice_settings"]["speed"].as_f64().unwrap_or(1.0);
    let (audio, _) = speech(output, speech_ms(&text, speed));
    let characters = text.chars().count().to_string();
    // ElevenLabs' OpenAPI declares audio/mpeg whatever the format.
    (
        [
            (CONTENT_TYPE, "audio/mpeg"),
            ("request-id".parse().unwrap(), "3tPgBrD1UdW3snUkGw1K"),
            ("character-cost".parse().unwrap(), characters.as_str()),
        ],
        audio,
    )
        .into_response()
}

/// `GET /v1/models`: the models the mock serves, as ElevenLabs lists them.
async fn list_models(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", "/v1/models", &headers, Value::Null);
    if headers.get("xi-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return detail(StatusCode::UNAUTHORIZED, "invalid_api_key", "Invalid API key");
    }
    let ids = [
        "eleven_v3",
        "eleven_multilingual_v2",
        "eleven_flash_v2_5",
        "eleven_flash_v2",
        "eleven_turbo_v2_5",
        "eleven_turbo_v2",
    ];
    let models: Vec<Value> =
        ids.iter().map(|id| json!({ "model_id": id, "name": id, "can_do_text_to_speech": true })).collect();
    axum::Json(Value::from(models)).into_response()
}

/// Start the mock ElevenLabs.
async fn mock_elevenlabs() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v1/text-to-speech/{voice_id}", post(text_to_speech))
        .route("/v1/models", get(list_models))
        .with_state(mock.clone());
    (MockVendor::start(router).await, mock)
}

/// Speak `text` with `key` and wait for the end.
async fn speak(server: &Server, key: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "AUDIO", "elevenlabs", input, options).await
}

#[tokio::test]
async fn elevenlabs_speaks_and_the_audio_is_stored_with_its_duration() {
    let (vendor, mock) = mock_elevenlabs().await;
    let (server, key) = live_server("elevenlabs", &vendor, &[("api_key", KEY)]).await;
    let german = "Guten Tag! Willkommen bei unserem Dienst. [wav] ".repeat(10); // 480 characters
    let v3 = "[whispers] I have a secret to tell you... [excited] It works! [v3]";
    let (default, wav, expressive) = tokio::join!(
        speak(&server, &key, json!({ "text": "Hello from the gateway. [default]" }), json!({})),
        speak(
            &server,
            &key,
            json!({ "text": german, "voice": "Adam" }),
            json!({ "model": "flash-v2.5", "language": "de", "format": "wav_24000", "emotion": "calm", "speed": 0.8, "seed": 42 })
        ),
        speak(
            &server,
            &key,
            json!({ "text": v3 }),
            json!({ "voice": CLONED_VOICE, "model": "eleven-v3", "emotion": "excited", "format": "mp3_22050_32" })
        ),
    );

    // Every default: Multilingual v2, George, neutral, MP3 at 44.1 kHz/128 kbps; 33 characters = 1 credit.
    let text = "Hello from the gateway. [default]";
    let expected = speech(Output::Mp3 { rate: 44_100, kbps: 128 }, speech_ms(text, 1.0));
    assert_eq!(expected.1, 1985, "whole frames: 76 × 1152 samples at 44.1 kHz");
    assert_spoken(&server, &default, "elevenlabs", 1, ("audio/mpeg", "mp3"), &expected).await;
    let call = mock.call("[default]");
    assert_eq!(call.path, "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb?output_format=mp3_44100_128");
    assert_eq!(call.header("xi-api-key"), Some(KEY));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.body,
        json!({
            "text": text,
            "model_id": "eleven_multilingual_v2",
            "voice_settings": { "stability": 0.5, "similarity_boost": 0.75, "style": 0.0, "use_speaker_boost": true, "speed": 1.0 }
        })
    );
    let stored = metadata(&server, &key, &default["id"]).await;
    assert_eq!(stored["duration"].as_f64(), Some(1.985), "{stored}");

    // Flash v2.5 in German, input.voice by name, calm, slower, as WAV: ElevenLabs' PCM gets a header.
    let (pcm, ms) = speech(Output::Pcm { rate: 24_000 }, speech_ms(&german, 0.8));
    assert_eq!(ms, 36_000, "480 characters × 60 ms / 0.8");
    assert_eq!(pcm.len(), 24_000 * 36 * 2);
    // The stored file is ElevenLabs' samples behind a standard 44-byte header.
    assert_spoken(&server, &wav, "elevenlabs", 3, ("audio/wav", "wav"), &(sample_wav(24_000, 36_000), ms)).await;
    let call = mock.call("[wav]");
    assert_eq!(call.path, "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB?output_format=pcm_24000");
    assert_eq!(call.body["model_id"], "eleven_flash_v2_5");
    assert_eq!((call.body["language_code"].as_str(), call.body["seed"].as_i64()), (Some("de"), Some(42)));
    assert_eq!(
        call.body["voice_settings"],
        json!({ "stability": 0.75, "similarity_boost": 0.75, "style": 0.0, "use_speaker_boost": true, "speed": 0.8 })
    );

    // Eleven v3 with a cloned voice's raw id, excited (v3's "Creative" stability), MPEG-2 MP3.
    let expected = speech(Output::Mp3 { rate: 22_050, kbps: 32 }, speech_ms(v3, 1.0));
    assert_spoken(&server, &expressive, "elevenlabs", 1, ("audio/mpeg", "mp3"), &expected).await;
    let call = mock.call("[v3]");
    assert_eq!(call.path, format!("/v1/text-to-speech/{CLONED_VOICE}?output_format=mp3_22050_32"));
    assert_eq!(call.body["text"], v3, "audio tags reach ElevenLabs as written");
    assert_eq!(
        (call.body["model_id"].as_str(), call.body["voice_settings"]["stability"].as_f64()),
        (Some("eleven_v3"), Some(0.0))
    );

    assert_eq!(credits(&server, &key).await, 100_000 - 1 - 3 - 1);
}

#[tokio::test]
async fn elevenlabs_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_elevenlabs().await;
    let (server, key) = live_server("elevenlabs", &vendor, &[("api_key", KEY)]).await;
    let unknown_voice = "nOtAvOiCeOnThIsAcCt1";
    let (quota, busy, moderated, flaky, missing_voice) = tokio::join!(
        speak(&server, &key, json!({ "text": "Out of credits [quota]" }), json!({})),
        speak(&server, &key, json!({ "text": "Rush hour [busy]" }), json!({})),
        speak(&server, &key, json!({ "text": "Something forbidden [moderated]" }), json!({})),
        speak(&server, &key, json!({ "text": "A hiccup, then fine [flaky]" }), json!({ "model": "turbo-v2.5" })),
        speak(&server, &key, json!({ "text": "Nobody home [no voice]" }), json!({ "voice": unknown_voice })),
    );
    // Out of ElevenLabs credits (a 401 that is not a bad key): final, not retried.
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["ElevenLabs quota_exceeded", "0 credits remaining"]);
    assert_eq!(mock.calls("[quota]").len(), 1, "retrying cannot buy credits");
    // Busy: retryable, so the host tried three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["ElevenLabs system_busy", "heavy traffic"]);
    assert_eq!(mock.calls("[busy]").len(), 3, "the host retries a rate-limited submit");
    // Moderation: final.
    assert_failed(&moderated, "GENERATION_FAILED", &["ElevenLabs bad_prompt", "Terms of Service"]);
    assert_eq!(mock.calls("[moderated]").len(), 1);
    // A voice the account does not have.
    assert_failed(&missing_voice, "INVALID_INPUT", &["ElevenLabs voice_not_found", unknown_voice]);
    // A transient 503, then the audio.
    assert_status(&flaky, "COMPLETED", None, &server);
    assert_eq!(flaky["creditCost"], 1);
    assert_eq!(mock.calls("[flaky]").len(), 2);

    // What ElevenLabs cannot do: refused before any job exists.
    let cases = [
        (
            json!({ "text": "Bonjour [refused]" }),
            json!({ "language": "fr" }),
            "",
            "provider `elevenlabs` refused the request: option `language` of provider `elevenlabs` is only available \
             with model flash-v2.5, turbo-v2.5; got model `multilingual-v2` (multilingual-v2 and eleven-v3 detect the \
             language from the text)",
        ),
        (
            json!({ "text": "Two voices [refused]", "voice": "adam" }),
            json!({ "voice": "rachel" }),
            "",
            "provider `elevenlabs` refused the request: option `voice` (\"rachel\") and input.voice (\"adam\") of \
             provider `elevenlabs` name different voices; give one of them",
        ),
        (
            json!({ "text": format!("{} [refused]", "a".repeat(9_991)) }),
            json!({}),
            "",
            "provider `elevenlabs` refused the request: input.text has 10001 characters; model `multilingual-v2` of \
             provider `elevenlabs` takes at most 10000 (models that take it: flash-v2.5, turbo-v2.5, \
             flash-v2, turbo-v2)",
        ),
        (
            json!({ "text": "Sad news [refused]" }),
            json!({ "emotion": "sad" }),
            "options.emotion",
            "option `emotion` of provider `elevenlabs` must be one of \"neutral\", \"calm\", \"excited\"; got \"sad\"",
        ),
        (
            json!({ "text": "Hurry [refused]" }),
            json!({ "speed": 1.5 }),
            "options.speed",
            "option `speed` of provider `elevenlabs` must be between 0.7 and 1.2; got 1.5",
        ),
        (json!({ "text": "Wrong kind [refused]" }), json!({ "format": "ogg" }), "options.format", ""),
    ];
    for (input, options, field, message) in cases {
        let error =
            generate_kind(&server, &key, "AUDIO", "elevenlabs", input, options.clone()).await.expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        if !message.is_empty() {
            assert_eq!(error["message"], message, "{options}");
        }
        if !field.is_empty() {
            assert_eq!(error["extensions"]["field"], field, "{options}: {error}");
        }
    }
    assert!(mock.calls("[refused]").is_empty(), "nothing refused reached ElevenLabs");
    assert_job_count(&server, &key, 5).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 1);
}

#[tokio::test]
async fn elevenlabs_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_elevenlabs().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("elevenlabs", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("elevenlabs", &vendor, &[("api_key", "sk_revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    let listed = listed_provider(&unconfigured, "AUDIO", "elevenlabs").await;
    assert_eq!(listed["available"], false);
    assert_eq!(listed["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(listed["pricing"], json!({ "creditCost": 10, "estimatedTime": 4 }), "per 1,000 characters");
    let options = option_names(&listed);
    assert_eq!(options, ["voice", "model", "emotion", "speed", "format", "language", "seed"]);
    let emotion = listed["options"].as_array().unwrap().iter().find(|o| o["name"] == "emotion").unwrap();
    assert_eq!(emotion["allowedValues"], json!(["neutral", "calm", "excited"]), "{emotion}");
    assert_not_configured(
        &unconfigured,
        &live,
        "AUDIO",
        "elevenlabs",
        json!({ "text": "hi" }),
        json!({}),
        "elevenlabs",
    )
    .await;
    let long = "Test mode speaks on the placeholder. [test mode] ".repeat(5); // 245 characters
    let test_mode = speak(&unconfigured, &unconfigured.key, json!({ "text": long }), json!({})).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 3, "priced as ElevenLabs would charge");

    // A key ElevenLabs refuses: final, not retried.
    let refused = speak(&wrong, &wrong_key, json!({ "text": "hello [wrong key]" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["ElevenLabs invalid_api_key", "Invalid API key"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("xi-api-key"), Some("sk_revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach ElevenLabs");
}

#[tokio::test]
async fn elevenlabs_portal_snippet_speaks_with_rachel_excited() {
    let (vendor, mock) = mock_elevenlabs().await;
    let (server, live) = live_server("elevenlabs", &vendor, &[("api_key", KEY)]).await;
    let snippet: Value = serde_json::from_str(PORTAL_SNIPPET).unwrap();
    let mutation = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {GENERATION_FIELDS} }} }}");
    for key in [server.key.clone(), live.clone()] {
        let (_, _, body) = server.post(Some(&key), &mutation, json!({ "input": snippet }), &[]).await;
        let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
        let done = server.wait_terminal(&key, id, std::time::Duration::from_secs(60)).await;
        assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
        assert_eq!(done["creditCost"], 1, "48 characters of Multilingual v2");
        if key == live {
            let text = "Welcome to the future of artificial intelligence";
            let expected = speech(Output::Mp3 { rate: 44_100, kbps: 128 }, speech_ms(text, 1.0));
            assert_spoken(&server, &done, "elevenlabs", 1, ("audio/mpeg", "mp3"), &expected).await;
        }
    }
    // Only the live key reached ElevenLabs: Rachel, the excited preset, normal speed.
    let calls = mock.recorder.requests();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].path, "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM?output_format=mp3_44100_128");
    assert_eq!(
        calls[0].body,
        json!({
            "text": "Welcome to the future of artificial intelligence",
            "model_id": "eleven_multilingual_v2",
            "voice_settings": { "stability": 0.3, "similarity_boost": 0.75, "style": 0.45, "use_speaker_boost": true, "speed": 1.0 }
        })
    );
}

/// A server like [`live_server`] whose `[plugins.elevenlabs]` also carries
/// the operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("elevenlabs", vendor, &[("api_key", KEY)], settings).await
}

/// A retired model (a stale setting naming the deprecated
/// `eleven_monolingual_v1`) fails as `PROVIDER_UNAVAILABLE`, not retried
/// and refunded; a setting for another model value reaches ElevenLabs.
#[tokio::test]
async fn elevenlabs_settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = mock_elevenlabs().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        r#""model.elevenlabs" = "eleven_monolingual_v1", "model.elevenlabs.turbo-v2.5" = "eleven_flash_v2_5""#,
    )
    .await;
    let (retired, moved) = tokio::join!(
        speak(&server, &key, json!({ "text": "An old model [retired]" }), json!({})),
        speak(&server, &key, json!({ "text": "A turbo request [moved]" }), json!({ "model": "turbo-v2.5" })),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["model_not_found", "eleven_monolingual_v1"]);
    assert_eq!(mock.calls("[retired]").len(), 1, "not retried: {:?}", mock.recorder.requests());
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    assert_eq!(mock.call("[moved]").body["model_id"], "eleven_flash_v2_5");
    assert_eq!(credits(&server, &key).await, 100_000 - 1, "the failed job is refunded");
}
