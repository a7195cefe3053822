//! Mock Google Cloud Text-to-Speech (REST v1) and the `google-tts`
//! adapter's end-to-end tests.
//!
//! The mock speaks the documented exchange (`shared/vendors/google-tts.md`):
//! `POST /v1/text:synthesize` with the API key in `X-Goog-Api-Key`,
//! answered `{"audioContent": "<base64>"}` holding a complete file: MPEG-2
//! Layer III at 24 kHz/32 kbps behind an ID3 tag for `MP3`, a WAV with its
//! header for `LINEAR16` (16-bit), `MULAW` and `ALAW` (8-bit), Ogg Opus
//! pages (with CRCs, `OpusHead` pre-skip and granule positions) for
//! `OGG_OPUS`; about 60 ms of speech per character over the speaking rate.
//! Like Google it refuses with its error envelope: `INVALID_ARGUMENT` +
//! `API_KEY_INVALID` for a wrong key, `INVALID_ARGUMENT` for a body it
//! cannot take (unknown fields, both or neither of text/ssml, SSML without
//! `<speak>`, over 5,000 bytes, a voice it does not have or of another
//! language, values out of range). Markers in the text pick failures:
//! `[quota]` (429 `RESOURCE_EXHAUSTED`), `[disabled]` (403
//! `PERMISSION_DENIED`, API not enabled) and `[flaky]` (the first attempt
//! answers 503 `UNAVAILABLE`).
//!
//! A voice it does not have (one Google retired, say) gets Google's 400
//! `Voice '…' does not exist`. `GET /v1/voices?languageCode=…`, the
//! adapter's health check, lists the voices of a language.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_not_configured, assert_spoken,
    assert_status, credits, generate_kind, generate_kind_to_end, listed_provider, live_server, option_names,
    sample_wav, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "AIzaSyMockGoogleTtsKey0123456789";
/// Milliseconds of speech per character at speaking rate 1.0.
const MS_PER_CHAR: f64 = 60.0;
/// Voices the mock's project has, and their natural sample rates.
const VOICES: [(&str, u32); 6] = [
    ("en-US-Neural2-F", 24_000),
    ("en-US-Standard-C", 24_000),
    ("de-DE-Wavenet-B", 24_000),
    ("en-US-Chirp3-HD-Kore", 24_000),
    ("en-US-Studio-O", 24_000),
    ("fr-FR-Standard-A", 24_000),
];

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    recorder: Recorder,
    /// Texts whose `[flaky]` first attempt already failed.
    flaked: Mutex<Vec<String>>,
}

/// The text or SSML of a recorded request.
fn spoken(request: &Recorded) -> &str {
    let input = &request.body["input"];
    input["text"].as_str().or(input["ssml"].as_str()).unwrap_or_default()
}

impl Mock {
    /// Every request whose input contains `marker`.
    fn calls(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| spoken(r).contains(marker))
    }

    /// The one request whose input contains `marker`.
    fn call(&self, marker: &str) -> Recorded {
        the_one(self.calls(marker), format_args!("one call for {marker:?}"))
    }
}

/// Google's error envelope.
fn google_error(status: StatusCode, google: &str, message: &str, reason: Option<&str>) -> Response {
    let details: Vec<Value> = reason
        .map(
            |r| json!({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": r, "domain": "googleapis.com" }),
        )
        .into_iter()
        .collect();
    let body =
        json!({ "error": { "code": status.as_u16(), "message": message, "status": google, "details": details } });
    (status, axum::Json(body)).into_response()
}

fn invalid(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message, None)
}

/// Why Google would refuse this body, if it would; else the voice's rate.
#[expect(clippy::result_large_err, reason = "a refusal is the response the mock sends; boxing it buys nothing here")]
fn check(body: &Value) -> Result<u32, Response> {
    let known = |value: &Value, names: &[&str], place: &str| -> Result<(), Response> {
        match value.as_object().and_then(|o| o.keys().find(|k| !names.contains(&k.as_str()))) {
            Some(unknown) => Err(invalid(&format!(
                "Invalid JSON payload received. Unknown name \"{unknown}\" at '{place}': Cannot find field."
            ))),
            None => Ok(()),
        }
    };
    known(body, &["input", "voice", "audioConfig"], "")?;
    let input = &body["input"];
    known(input, &["text", "ssml"], "input")?;
    let text = match (input["text"].as_str(), input["ssml"].as_str()) {
        (Some(text), None) => text,
        (None, Some(ssml)) if ssml.trim_start().starts_with("<speak") => ssml,
        (None, Some(_)) => return Err(invalid("Invalid SSML: the document must be enclosed in <speak>.")),
        _ => return Err(invalid("Exactly one of input.text and input.ssml must be set.")),
    };
    if text.len() > 5_000 {
        return Err(invalid("Either `input.text` or `input.ssml` is longer than the limit of 5000 bytes."));
    }
    let voice = &body["voice"];
    known(voice, &["languageCode", "name", "ssmlGender"], "voice")?;
    let Some(language) = voice["languageCode"].as_str() else {
        return Err(invalid("voice.language_code is required."));
    };
    let rate = match voice["name"].as_str() {
        Some(name) => match VOICES.iter().find(|(v, _)| *v == name) {
            Some((_, rate)) if name.starts_with(&format!("{language}-")) => *rate,
            Some(_) => return Err(invalid(&format!("Voice '{name}' does not speak language '{language}'."))),
            None => return Err(invalid(&format!("Voice '{name}' does not exist. Is it misspelled?"))),
        },
        None => 24_000,
    };
    if voice.get("ssmlGender").is_some_and(|g| !["MALE", "FEMALE", "NEUTRAL"].contains(&g.as_str().unwrap_or(""))) {
        return Err(invalid("Invalid value at 'voice.ssml_gender'."));
    }
    let config = &body["audioConfig"];
    known(
        config,
        &["audioEncoding", "speakingRate", "pitch", "volumeGainDb", "sampleRateHertz", "effectsProfileId"],
        "audio_config",
    )?;
    if !["MP3", "LINEAR16", "OGG_OPUS", "MULAW", "ALAW"].contains(&config["audioEncoding"].as_str().unwrap_or("")) {
        return Err(invalid("Invalid value at 'audio_config.audio_encoding'"));
    }
    for (field, low, high) in [("speakingRate", 0.25, 4.0), ("pitch", -20.0, 20.0), ("volumeGainDb", -96.0, 16.0)] {
        if config.get(field).is_some_and(|v| !v.as_f64().is_some_and(|v| (low..=high).contains(&v))) {
            return Err(invalid(&format!("audio_config.{field} is out of range.")));
        }
    }
    if let Some(profiles) = config.get("effectsProfileId") {
        let valid = profiles.as_array().is_some_and(|p| {
            p.iter()
                .all(|p| p.as_str().is_some_and(|p| p.ends_with("-class-device") || p == "telephony-class-application"))
        });
        if !valid {
            return Err(invalid("Invalid effects profile id."));
        }
    }
    Ok(config["sampleRateHertz"].as_u64().map_or(rate, |r| r as u32))
}

/// The speech the mock makes: `ms` of it in `encoding` at `rate`, and its
/// exact length in milliseconds.
fn speech(encoding: &str, rate: u32, ms: u32) -> (Vec<u8>, u32) {
    match encoding {
        "MP3" => mp3(ms),
        "LINEAR16" => {
            let file = sample_wav(rate, ms);
            let exact = ((file.len() as u64 - 44) / 2 * 1000 / u64::from(rate)) as u32;
            (file, exact)
        }
        "MULAW" | "ALAW" => {
            let samples = (u64::from(rate) * u64::from(ms) / 1000) as usize;
            let data: Vec<u8> = (0..samples).map(|i| (i * 13 % 256) as u8).collect();
            let format = if encoding == "MULAW" { 7 } else { 6 };
            (wav(format, rate, &data), (samples as u64 * 1000 / u64::from(rate)) as u32)
        }
        _ => ogg_opus(ms),
    }
}

/// A WAV of 8-bit mono `data` in `format` (6 A-law, 7 μ-law).
fn wav(format: u16, rate: u32, data: &[u8]) -> Vec<u8> {
    let (bits, block) = (8u16, 1u16);
    let mut out = b"RIFF".to_vec();
    out.extend((36 + data.len() as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(format.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(rate.to_le_bytes());
    out.extend((rate * u32::from(block)).to_le_bytes());
    out.extend(block.to_le_bytes());
    out.extend(bits.to_le_bytes());
    out.extend(b"data");
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    out
}

/// MPEG-2 Layer III, 24 kHz, 32 kbps mono (576 samples, 96 bytes a frame)
/// behind an ID3v2 tag: whole frames covering `ms`.
fn mp3(ms: u32) -> (Vec<u8>, u32) {
    let frames = (u64::from(ms) * 24).div_ceil(576);
    let mut out = b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE\x00\x00\x00\x0f\x00\x00\x03Lavf58.76.100".to_vec();
    out.resize(10 + 0x23, 0);
    for i in 0..frames {
        out.extend([0xFF, 0xF3, 0x44, 0xC4]);
        out.extend((4..96).map(|j| ((i as usize * 17 + j) % 253) as u8));
    }
    (out, (frames * 576 * 1000 / 24_000) as u32)
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, no reflection, initial 0).
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in bytes {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

/// One Ogg page of `packets` (each under 255 bytes).
fn ogg_page(flags: u8, granule: u64, sequence: u32, packets: &[Vec<u8>]) -> Vec<u8> {
    let mut page = b"OggS\0".to_vec();
    page.push(flags);
    page.extend(granule.to_le_bytes());
    page.extend(0x1D0C_5EEDu32.to_le_bytes());
    page.extend(sequence.to_le_bytes());
    page.extend([0; 4]);
    page.push(packets.len() as u8);
    page.extend(packets.iter().map(|p| p.len() as u8));
    for packet in packets {
        page.extend(packet);
    }
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// An Ogg Opus file of `ms` (20 ms packets, ten a page, 312 samples pre-skip).
fn ogg_opus(ms: u32) -> (Vec<u8>, u32) {
    const PRE_SKIP: u64 = 312;
    let mut head = b"OpusHead\x01\x01".to_vec();
    head.extend((PRE_SKIP as u16).to_le_bytes());
    head.extend(24_000u32.to_le_bytes());
    head.extend([0, 0, 0]);
    let mut out = ogg_page(2, 0, 0, &[head]);
    out.extend(ogg_page(0, 0, 1, &[b"OpusTags\x08\0\0\0Google\0\0\0\0".to_vec()]));
    let total = u64::from(ms) * 48; // samples at 48 kHz
    let packets = total.div_ceil(960);
    let mut granule = PRE_SKIP;
    for (sequence, first) in (2..).zip((0..packets).step_by(10)) {
        let count = (packets - first).min(10);
        let chunk: Vec<Vec<u8>> = (0..count).map(|i| vec![0xFC, ((first + i) % 251) as u8, 0x55, 0xAA]).collect();
        let last = first + count == packets;
        // The last page ends at the exact sample count (end trimming).
        granule = if last { PRE_SKIP + total } else { granule + count * 960 };
        out.extend(ogg_page(if last { 4 } else { 0 }, granule, sequence, &chunk));
    }
    (out, ms)
}

/// `GET /v1/voices?languageCode=…`: the project's voices of a language.
async fn list_voices(
    State(mock): State<Arc<Mock>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    mock.recorder.record("GET", uri.to_string(), &headers, Value::Null);
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            Some("API_KEY_INVALID"),
        );
    }
    let language = query.get("languageCode").cloned().unwrap_or_default();
    let voices: Vec<Value> = VOICES
        .iter()
        .filter(|(name, _)| language.is_empty() || name.starts_with(&language))
        .map(|(name, rate)| json!({ "name": name, "languageCodes": [&name[..5]], "ssmlGender": "FEMALE", "naturalSampleRateHertz": rate }))
        .collect();
    axum::Json(json!({ "voices": voices })).into_response()
}

async fn synthesize(
    State(mock): State<Arc<Mock>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    mock.recorder.record("POST", uri.to_string(), &headers, body.clone());
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            Some("API_KEY_INVALID"),
        );
    }
    let rate = match check(&body) {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let text = body["input"]["text"].as_str().or(body["input"]["ssml"].as_str()).unwrap_or_default().to_string();
    if text.contains("[quota]") {
        let message = "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.";
        return google_error(StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED", message, Some("RATE_LIMIT_EXCEEDED"));
    }
    if text.contains("[disabled]") {
        let message = "Cloud Text-to-Speech API has not been used in project 1234 before or it is disabled.";
        return google_error(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message, Some("SERVICE_DISABLED"));
    }
    if text.contains("[flaky]") {
        let mut flaked = mock.flaked.lock().unwrap();
        if !flaked.contains(&text) {
            flaked.push(text);
            return google_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                None,
            );
        }
    }
    let speed = body["audioConfig"]["speakingRate"].as_f64().unwrap_or(1.0);
    let ms = speech_ms(&text, speed);
    let (audio, _) = speech(body["audioConfig"]["audioEncoding"].as_str().unwrap_or_default(), rate, ms);
    axum::Json(json!({ "audioContent": base64::engine::general_purpose::STANDARD.encode(audio) })).into_response()
}

/// Milliseconds of speech the mock makes for `text` at `speed`.
fn speech_ms(text: &str, speed: f64) -> u32 {
    (text.chars().count() as f64 * MS_PER_CHAR / speed).round() as u32
}

/// Start the mock Google Text-to-Speech.
async fn mock_google() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v1/text:synthesize", post(synthesize))
        .route("/v1/voices", get(list_voices))
        .with_state(mock.clone());
    (MockVendor::start(router).await, mock)
}

/// Speak with `key` and wait for the end.
async fn speak(server: &Server, key: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "AUDIO", "google-tts", input, options).await
}

#[tokio::test]
async fn google_tts_speaks_every_encoding_and_stores_it_with_its_duration() {
    let (vendor, mock) = mock_google().await;
    let (server, key) = live_server("google-tts", &vendor, &[("api_key", KEY)]).await;
    let ssml =
        format!("<speak>Welcome back. <break time=\"300ms\"/> {} [ogg]</speak>", "Your order has shipped. ".repeat(40));
    let (default, wav, ogg, mulaw) = tokio::join!(
        speak(&server, &key, json!({ "text": "Your order has shipped. [default]" }), json!({})),
        speak(
            &server,
            &key,
            json!({ "text": "Guten Tag, Ihre Bestellung ist unterwegs. [wav]", "voice": "de-DE-Wavenet-B" }),
            json!({ "format": "wav", "sampleRate": 16000, "speed": 1.25, "pitch": -2.5, "volumeGainDb": 3.0, "languageCode": "de-DE" })
        ),
        speak(
            &server,
            &key,
            json!({ "text": ssml }),
            json!({ "voice": "en-US-Studio-O", "ssml": true, "format": "ogg-opus", "effectsProfile": "headphone-class-device" })
        ),
        speak(
            &server,
            &key,
            json!({ "text": "Bonjour, votre commande est en route. [mulaw]" }),
            json!({ "languageCode": "fr-FR", "gender": "female", "format": "mulaw", "sampleRate": 8000 })
        ),
    );

    // Every default: en-US-Neural2-F as MP3; 33 characters of Neural2 = 1 credit.
    let text = "Your order has shipped. [default]";
    let expected = mp3(speech_ms(text, 1.0));
    assert_eq!(expected.1, 1992, "83 frames of 24 ms");
    assert_spoken(&server, &default, "google-tts", 1, ("audio/mpeg", "mp3"), &expected).await;
    let call = mock.call("[default]");
    assert_eq!(call.path, "/v1/text:synthesize", "the key is not in the URL");
    assert_eq!(call.header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        call.body,
        json!({
            "input": { "text": text },
            "voice": { "languageCode": "en-US", "name": "en-US-Neural2-F" },
            "audioConfig": { "audioEncoding": "MP3" }
        })
    );

    // LINEAR16 from input.voice, resampled to 16 kHz, faster, lower, louder: a WAV with its header.
    let text = "Guten Tag, Ihre Bestellung ist unterwegs. [wav]";
    let expected = speech("LINEAR16", 16_000, speech_ms(text, 1.25));
    assert_spoken(&server, &wav, "google-tts", 1, ("audio/wav", "wav"), &expected).await;
    assert_eq!(
        mock.call("[wav]").body,
        json!({
            "input": { "text": text },
            "voice": { "languageCode": "de-DE", "name": "de-DE-Wavenet-B" },
            "audioConfig": {
                "audioEncoding": "LINEAR16", "speakingRate": 1.25, "pitch": -2.5, "volumeGainDb": 3.0, "sampleRateHertz": 16000
            }
        })
    );

    // SSML to a Studio voice as Ogg Opus: 1,017 characters (tags billed) at $160/1M = 17 credits.
    assert_eq!(ssml.chars().count(), 1017);
    let expected = ogg_opus(speech_ms(&ssml, 1.0));
    assert_spoken(&server, &ogg, "google-tts", 17, ("audio/ogg", "ogg"), &expected).await;
    let body = mock.call("[ogg]").body;
    assert_eq!(body["input"], json!({ "ssml": ssml }));
    assert_eq!(
        body["audioConfig"],
        json!({ "audioEncoding": "OGG_OPUS", "effectsProfileId": ["headphone-class-device"] })
    );

    // A language and a gender: Google chooses the voice; μ-law at 8 kHz in a WAV.
    let text = "Bonjour, votre commande est en route. [mulaw]";
    let expected = speech("MULAW", 8_000, speech_ms(text, 1.0));
    assert_spoken(&server, &mulaw, "google-tts", 1, ("audio/wav", "wav"), &expected).await;
    let body = mock.call("[mulaw]").body;
    assert_eq!(body["voice"], json!({ "languageCode": "fr-FR", "ssmlGender": "FEMALE" }));
    assert_eq!(body["audioConfig"], json!({ "audioEncoding": "MULAW", "sampleRateHertz": 8000 }));

    assert_eq!(credits(&server, &key).await, 100_000 - 1 - 1 - 17 - 1);
}

#[tokio::test]
async fn google_tts_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_google().await;
    let (server, key) = live_server("google-tts", &vendor, &[("api_key", KEY)]).await;
    let (quota, disabled, flaky, missing_voice) = tokio::join!(
        speak(&server, &key, json!({ "text": "Too many [quota]" }), json!({})),
        speak(&server, &key, json!({ "text": "API off [disabled]" }), json!({})),
        speak(&server, &key, json!({ "text": "A hiccup, then fine [flaky]" }), json!({ "voice": "en-US-Standard-C" })),
        speak(&server, &key, json!({ "text": "Nobody [no voice]" }), json!({ "voice": "en-US-Neural2-Z" })),
    );
    // Quota: retryable, so the host tried three times in all.
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["Google Text-to-Speech RESOURCE_EXHAUSTED", "Quota exceeded"]);
    assert_eq!(mock.calls("[quota]").len(), 3, "the host retries a rate-limited submit");
    // The API is not enabled on the project: the operator's to fix, not retried.
    assert_failed(&disabled, "PROVIDER_UNAVAILABLE", &["PERMISSION_DENIED", "has not been used in project"]);
    assert_eq!(mock.calls("[disabled]").len(), 1);
    // A voice Google does not have.
    assert_failed(&missing_voice, "INVALID_INPUT", &["INVALID_ARGUMENT", "Voice 'en-US-Neural2-Z' does not exist"]);
    // A transient 503, then the audio.
    assert_status(&flaky, "COMPLETED", None, &server);
    assert_eq!(mock.calls("[flaky]").len(), 2);

    // What Google cannot take: refused before any job exists.
    let long = format!("{} [refused]", "é".repeat(2_500)); // 5,010 bytes
    let cases = [
        (
            json!({ "text": "Hallo [refused]", "voice": "de-DE-Wavenet-B" }),
            json!({ "languageCode": "fr-FR" }),
            "",
            "provider `google-tts` refused the request: option `languageCode` of provider `google-tts` is fr-FR but \
             voice `de-DE-Wavenet-B` speaks de-DE; name a fr-FR voice, or leave one of them out",
        ),
        (
            json!({ "text": "Hi [refused]" }),
            json!({ "voice": "en-US-Wavenet-D", "gender": "male" }),
            "",
            "provider `google-tts` refused the request: option `gender` of provider `google-tts` applies only when no \
             voice is named; voice `en-US-Wavenet-D` already fixes it (got gender male)",
        ),
        (
            json!({ "text": "Hello <break time=\"1s\"/> [refused]" }),
            json!({ "ssml": true }),
            "",
            "provider `google-tts` refused the request: option `ssml` of provider `google-tts` is true, so input.text \
             must be an SSML document: <speak>…</speak>",
        ),
        (
            json!({ "text": long }),
            json!({}),
            "",
            "provider `google-tts` refused the request: input.text is 5010 bytes; Google Text-to-Speech takes at most \
             5000 bytes (UTF-8) a request",
        ),
        (json!({ "text": "Hi [refused]", "voice": "rachel" }), json!({}), "", ""),
        (json!({ "text": "Hi [refused]" }), json!({ "format": "flac" }), "options.format", ""),
        (
            json!({ "text": "Hi [refused]" }),
            json!({ "speed": 5.0 }),
            "options.speed",
            "option `speed` of provider `google-tts` must be between 0.25 and 4; got 5.0",
        ),
        (json!({ "text": "Hi [refused]" }), json!({ "sampleRate": 11025 }), "options.sampleRate", ""),
    ];
    for (input, options, field, message) in cases {
        let error = generate_kind(&server, &key, "AUDIO", "google-tts", input.clone(), options.clone())
            .await
            .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{input} {options}: {error}");
        if !message.is_empty() {
            assert_eq!(error["message"], message, "{options}");
        }
        if !field.is_empty() {
            assert_eq!(error["extensions"]["field"], field, "{options}: {error}");
        }
    }
    assert!(mock.calls("[refused]").is_empty(), "nothing refused reached Google");
    assert_job_count(&server, &key, 4).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 1);
}

#[tokio::test]
async fn google_tts_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_google().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("google-tts", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("google-tts", &vendor, &[("api_key", "AIza-revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    let listed = listed_provider(&unconfigured, "AUDIO", "google-tts").await;
    assert_eq!((listed["available"].clone(), listed["vendor"].clone()), (json!(false), json!("Google Cloud")));
    assert_eq!(listed["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(listed["pricing"], json!({ "creditCost": 2, "estimatedTime": 2 }), "1,000 characters of Neural2");
    let options = option_names(&listed);
    assert_eq!(
        options,
        [
            "voice",
            "languageCode",
            "gender",
            "speed",
            "pitch",
            "volumeGainDb",
            "format",
            "sampleRate",
            "ssml",
            "effectsProfile"
        ]
    );
    assert_not_configured(
        &unconfigured,
        &live,
        "AUDIO",
        "google-tts",
        json!({ "text": "hi" }),
        json!({}),
        "google-tts",
    )
    .await;
    let text = format!("{} [test mode]", "Studio voices cost more. ".repeat(4)); // 112 characters
    let test_mode =
        speak(&unconfigured, &unconfigured.key, json!({ "text": text }), json!({ "voice": "en-US-Studio-O" })).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 2, "priced as Google would charge a Studio voice");

    // A key Google refuses: final, not retried.
    let refused = speak(&wrong, &wrong_key, json!({ "text": "hello [wrong key]" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["INVALID_ARGUMENT", "API key not valid"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("x-goog-api-key"), Some("AIza-revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach Google");
}

/// A server like [`live_server`] whose `[plugins.google-tts]` also carries
/// the operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("google-tts", vendor, &[("api_key", KEY)], settings).await
}

/// The default voice follows the operator's `model.google-tts` setting
/// (priced by its family); a default voice Google no longer has fails as
/// `PROVIDER_UNAVAILABLE` (refunded), while a voice the user names wrongly
/// stays `INVALID_INPUT`.
#[tokio::test]
async fn google_tts_settings_replace_the_default_voice_and_a_retired_one_is_unavailable() {
    let (vendor, mock) = mock_google().await;
    let (moved_server, moved_key) =
        live_server_with_settings(&vendor, r#""model.google-tts" = "en-US-Chirp3-HD-Kore""#).await;
    let moved = speak(&moved_server, &moved_key, json!({ "text": "A new default voice [moved]" }), json!({})).await;
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", moved_server.log());
    assert_eq!(mock.call("[moved]").body["voice"]["name"], "en-US-Chirp3-HD-Kore");

    let (server, key) = live_server_with_settings(&vendor, r#""model.google-tts" = "en-US-Journey-F""#).await;
    let retired = speak(&server, &key, json!({ "text": "An old default voice [retired]" }), json!({})).await;
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["Voice 'en-US-Journey-F' does not exist"]);
    assert_eq!(mock.calls("[retired]").len(), 1, "not retried");
    assert_eq!(credits(&server, &key).await, 100_000, "refunded");
    // A voice the user names wrongly stays the user's fault (asked on the
    // other server: the failure above opened `google-tts`'s circuit here).
    let named = speak(
        &moved_server,
        &moved_key,
        json!({ "text": "A misspelt voice [named]" }),
        json!({ "voice": "en-US-Neural2-Z" }),
    )
    .await;
    assert_failed(&named, "INVALID_INPUT", &["Voice 'en-US-Neural2-Z' does not exist"]);
}
