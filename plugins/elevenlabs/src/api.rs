//! ElevenLabs' text-to-speech API on the wire: the request, the audio
//! answer turned into an artifact, and error bodies mapped to failures.
//!
//! One synchronous exchange: `POST /v1/text-to-speech/{voice_id}
//! ?output_format=…` with `xi-api-key`, answered with the audio bytes.
//! Errors come as `{"detail": {"status": "<code>", "message": "…"}}`
//! (422 validation errors as `{"detail": [{"loc": […], "msg": "…"}]}`);
//! the code decides, since ElevenLabs uses 401 both for a bad key and for
//! an exhausted quota:
//!
//! | `detail.status`                                    | failure                                   |
//! |----------------------------------------------------|-------------------------------------------|
//! | `invalid_api_key`, `needs_authorization`           | `unauthorized`                            |
//! | `quota_exceeded`                                   | `rate-limited`, not retryable (no credits)|
//! | `too_many_concurrent_requests`, `system_busy`      | `rate-limited`, retryable                 |
//! | `bad_prompt`, anything with `moderation`           | `content-rejected`                        |
//! | `model_not_found`, `model_deprecated`, or a message saying the model does not exist / is deprecated | `model-unavailable` (replace it with the `model.elevenlabs…` setting) |
//! | `voice_not_found`, `max_character_limit_exceeded`, `only_for_creator+` (any `only_for…`) | `invalid-input` |
//! | any other, or no body                              | by HTTP status (SDK table: 401/403 unauthorized, 429 rate-limited, 400/404/422 invalid-input, 5xx retryable) |
//!
//! Every failure of a 429 carries its `Retry-After`, if any. The health
//! check reads `GET /v1/models` (free) and fails `model-unavailable` when
//! the default model is no longer listed.

use doitong_plugin_sdk::audio;
use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{self, Value as Json};
use serde::Serialize;

use crate::catalogue::{Format, Plan};

/// The vendor origin: first in `allowed_hosts`, so operators can move it
/// with `base_url` (e.g. to `https://api.eu.residency.elevenlabs.io`).
pub const API: &str = "https://api.elevenlabs.io";
/// Per-request timeout: 40,000 characters of speech take ElevenLabs well
/// over a minute to render.
const REQUEST_TIMEOUT_MS: u32 = 300_000;
/// The channel count of ElevenLabs' PCM (mono).
const PCM_CHANNELS: u16 = 1;

/// `voice_settings`, overriding the voice's stored settings.
#[derive(Serialize, Debug, PartialEq)]
pub struct VoiceSettings {
    stability: f64,
    similarity_boost: f64,
    style: f64,
    use_speaker_boost: bool,
    speed: f64,
}

/// The body of `POST /v1/text-to-speech/{voice_id}`.
#[derive(Serialize, Debug)]
pub struct SpeechBody<'a> {
    text: &'a str,
    model_id: String,
    /// Sent only to the models that take it (ElevenLabs refuses it elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<&'a str>,
    voice_settings: VoiceSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u32>,
}

impl<'a> SpeechBody<'a> {
    /// The body for a checked request speaking `text`.
    pub fn new(plan: &'a Plan, text: &'a str) -> Self {
        let settings = plan.settings();
        SpeechBody {
            text,
            model_id: plan.model.vendor_id().to_string(),
            language_code: plan.language.as_deref(),
            voice_settings: VoiceSettings {
                stability: settings.stability,
                similarity_boost: settings.similarity_boost,
                style: settings.style,
                use_speaker_boost: settings.use_speaker_boost,
                speed: plan.speed,
            },
            seed: plan.seed,
        }
    }
}

/// The URL for `plan`: its voice in the path, its format in the query.
/// Voice ids are checked to be 20 ASCII letters and digits, so they need
/// no escaping.
pub fn speech_url(plan: &Plan) -> String {
    format!("{API}/v1/text-to-speech/{}?output_format={}", plan.voice_id, plan.format.vendor_name())
}

/// Speak `text` as `plan` says; the audio as an artifact.
pub fn synthesize(key: &str, plan: &Plan, text: &str) -> Result<Artifact, Failure> {
    let response = http::post(speech_url(plan))
        .header("xi-api-key", key)
        .json(&SpeechBody { model_id: plan.model.resolved_id(), ..SpeechBody::new(plan, text) })
        .timeout_ms(REQUEST_TIMEOUT_MS)
        .send_with(classify)?;
    if let (Some(id), Some(cost)) = (http::header(&response, "request-id"), http::header(&response, "character-cost")) {
        log(Level::Debug, &format!("ElevenLabs request {id} billed {cost} characters"));
    }
    let content_type = http::header(&response, "content-type").unwrap_or_default().to_string();
    artifact(plan.format, &content_type, response.body)
}

/// The artifact for ElevenLabs' answer: MP3 as it came (its duration read
/// from the frames), PCM wrapped in a WAV header. A 200 without audio is
/// a failed generation, not a file.
pub fn artifact(format: Format, content_type: &str, body: Vec<u8>) -> Result<Artifact, Failure> {
    if body.is_empty() {
        return Err(failure::generation_failed("ElevenLabs answered without audio"));
    }
    if content_type.starts_with("application/json") || content_type.starts_with("text/") {
        return Err(failure::generation_failed(format!(
            "ElevenLabs answered {content_type} instead of audio: {}",
            http::error_text(&body)
        )));
    }
    let bytes = match format {
        Format::Mp3 { .. } => body,
        Format::Wav { rate } => {
            if !body.len().is_multiple_of(2) {
                return Err(failure::generation_failed(format!(
                    "ElevenLabs' 16-bit PCM has an odd length ({} bytes)",
                    body.len()
                )));
            }
            audio::wav_from_pcm16(&body, rate, PCM_CHANNELS)
        }
    };
    let duration_ms = audio::duration_ms(&bytes, format.mime());
    Ok(Artifact { duration_ms, ..Artifact::from_bytes(bytes, format.mime()) })
}

/// ElevenLabs' error code and message, when the body has them.
fn detail(body: &[u8]) -> Option<(String, String)> {
    let json: Json = serde_json::from_slice(body).ok()?;
    match json.get("detail")? {
        Json::Object(detail) => {
            let text = |key: &str| detail.get(key).and_then(Json::as_str).unwrap_or_default().to_string();
            let status = Some(text("status")).filter(|s| !s.is_empty()).unwrap_or_else(|| text("code"));
            Some((status, text("message")))
        }
        // Validation errors: where and what.
        Json::Array(errors) => {
            let each: Vec<String> = errors
                .iter()
                .map(|e| {
                    let place: Vec<String> = e["loc"]
                        .as_array()
                        .map(|l| l.iter().map(|p| p.as_str().map_or(p.to_string(), str::to_string)).collect())
                        .unwrap_or_default();
                    format!("{}: {}", place.join("."), e["msg"].as_str().unwrap_or("invalid"))
                })
                .collect();
            Some(("validation_error".into(), each.join("; ")))
        }
        Json::String(message) => Some((String::new(), message.clone())),
        _ => None,
    }
}

/// The failure for a non-2xx answer (see the module table).
pub fn classify(response: &http::Response) -> Failure {
    http::with_retry_after(classify_body(response), response)
}

/// Whether ElevenLabs says the model is unknown or retired.
fn model_gone(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    matches!(code, "model_not_found" | "model_deprecated" | "invalid_model_id" | "model_not_available")
        || (message.contains("model")
            && (message.contains("does not exist") || message.contains("deprecated") || message.contains("not found")))
}

fn classify_body(response: &http::Response) -> Failure {
    let status = response.status;
    let Some((code, message)) = detail(&response.body) else {
        return http::status_failure(response);
    };
    let text = match (code.is_empty(), message.is_empty()) {
        (true, _) => format!("ElevenLabs answered HTTP {status}: {message}"),
        (false, true) => format!("ElevenLabs {code} (HTTP {status})"),
        (false, false) => format!("ElevenLabs {code}: {message}"),
    };
    match code.as_str() {
        "invalid_api_key" | "needs_authorization" => failure::unauthorized(text),
        "quota_exceeded" => Failure { retryable: false, ..failure::rate_limited(text) },
        "too_many_concurrent_requests" | "system_busy" => failure::rate_limited(text),
        "bad_prompt" => failure::content_rejected(text),
        c if model_gone(c, &message) => failure::model_unavailable(text),
        c if c.contains("moderation") => failure::content_rejected(text),
        "voice_not_found" | "max_character_limit_exceeded" | "validation_error" => failure::invalid_input(text),
        c if c.starts_with("only_for") => failure::invalid_input(text),
        _ => http::failure_for_status(status, text),
    }
}

/// One entry of `GET /v1/models`.
#[derive(serde::Deserialize, Debug)]
pub struct ListedModel {
    /// ElevenLabs' model id.
    pub model_id: String,
}

/// Per-request timeout of the health check.
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// The health check: the key works (`GET /v1/models`, free) and `model`
/// is still listed.
pub fn check(key: &str, model: &str) -> Result<(), Failure> {
    let response = http::get(format!("{API}/v1/models"))
        .header("xi-api-key", key)
        .timeout_ms(HEALTH_TIMEOUT_MS)
        .send_with(classify)?;
    let models: Vec<ListedModel> = http::decode_json(&response)?;
    listed(&models, model)
}

/// `Ok` when `model` is among `models`, else `model-unavailable`.
pub fn listed(models: &[ListedModel], model: &str) -> Result<(), Failure> {
    if models.iter().any(|m| m.model_id == model) {
        Ok(())
    } else {
        Err(failure::model_unavailable(format!(
            "ElevenLabs no longer lists model `{model}` (GET /v1/models); set `model.elevenlabs` to a current model"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Emotion, Model};
    use doitong_plugin_sdk::serde_json::json;

    fn plan() -> Plan {
        Plan {
            model: Model::MultilingualV2,
            voice_id: "21m00Tcm4TlvDq8ikWAM".into(),
            emotion: Emotion::Excited,
            speed: 1.1,
            format: Format::Mp3 { rate: 44_100, kbps: 128 },
            language: None,
            seed: None,
            chars: 5,
        }
    }

    fn response(status: u16, body: Json) -> http::Response {
        http::Response { status, headers: vec![], body: serde_json::to_vec(&body).unwrap() }
    }

    #[test]
    fn the_body_carries_the_model_the_preset_and_the_speed() {
        let plan = plan();
        let body = serde_json::to_value(SpeechBody::new(&plan, "Hello")).unwrap();
        assert_eq!(
            body,
            json!({
                "text": "Hello",
                "model_id": "eleven_multilingual_v2",
                "voice_settings": {
                    "stability": 0.3, "similarity_boost": 0.75, "style": 0.45, "use_speaker_boost": true, "speed": 1.1
                }
            })
        );
        assert_eq!(
            speech_url(&plan),
            "https://api.elevenlabs.io/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM?output_format=mp3_44100_128"
        );
        let v25 = Plan {
            model: Model::FlashV25,
            language: Some("de".into()),
            seed: Some(7),
            format: Format::Wav { rate: 16_000 },
            ..plan
        };
        let body = serde_json::to_value(SpeechBody::new(&v25, "Hallo")).unwrap();
        assert_eq!(
            (body["model_id"].as_str(), body["language_code"].as_str()),
            (Some("eleven_flash_v2_5"), Some("de"))
        );
        assert_eq!(body["seed"], 7);
        assert!(speech_url(&v25).ends_with("?output_format=pcm_16000"));
    }

    #[test]
    fn mp3_comes_back_as_given_with_its_duration() {
        // 20 frames of MPEG-1 Layer III, 32 kbps at 48 kHz: 480 ms.
        let mut mp3 = b"ID3\x04\0\0\0\0\0\0".to_vec();
        for _ in 0..20 {
            let mut frame = vec![0xFF, 0xFB, 0x14, 0xC0];
            frame.resize(96, 0);
            mp3.extend(frame);
        }
        let artifact = artifact(Format::Mp3 { rate: 48_000, kbps: 32 }, "audio/mpeg", mp3.clone()).unwrap();
        assert_eq!(artifact.bytes.as_deref(), Some(mp3.as_slice()));
        assert_eq!((artifact.mime.as_str(), artifact.duration_ms, artifact.url), ("audio/mpeg", Some(480), None));
        // Bytes ElevenLabs calls MP3 but that are not: kept, duration unknown.
        let odd = super::artifact(Format::DEFAULT, "audio/mpeg", b"\x00\x01junk".to_vec()).unwrap();
        assert_eq!(odd.duration_ms, None);
    }

    #[test]
    fn pcm_is_wrapped_in_a_wav_header() {
        let pcm = vec![1u8; 24_000 * 2]; // 1 s at 24 kHz
        let artifact = artifact(Format::Wav { rate: 24_000 }, "audio/pcm", pcm.clone()).unwrap();
        let wav = artifact.bytes.unwrap();
        assert_eq!((&wav[..4], &wav[44..]), (&b"RIFF"[..], pcm.as_slice()));
        assert_eq!((artifact.mime.as_str(), artifact.duration_ms), ("audio/wav", Some(1000)));
        let odd = super::artifact(Format::Wav { rate: 24_000 }, "audio/pcm", vec![0; 3]).unwrap_err();
        assert_eq!(odd.code, FailureCode::GenerationFailed);
    }

    #[test]
    fn answers_without_audio_are_failed_generations() {
        let empty = artifact(Format::DEFAULT, "audio/mpeg", Vec::new()).unwrap_err();
        assert_eq!(
            (empty.code, empty.message.as_str()),
            (FailureCode::GenerationFailed, "ElevenLabs answered without audio")
        );
        let json = artifact(Format::DEFAULT, "application/json", br#"{"detail":"odd"}"#.to_vec()).unwrap_err();
        assert_eq!(json.message, "ElevenLabs answered application/json instead of audio: odd");
    }

    #[test]
    fn error_codes_decide_before_http_statuses() {
        let coded = |status, code: &str| response(status, json!({"detail": {"status": code, "message": "why"}}));
        let cases = [
            (coded(401, "invalid_api_key"), FailureCode::Unauthorized, false),
            (coded(400, "invalid_api_key"), FailureCode::Unauthorized, false),
            (coded(401, "quota_exceeded"), FailureCode::RateLimited, false),
            (coded(429, "too_many_concurrent_requests"), FailureCode::RateLimited, true),
            (coded(429, "system_busy"), FailureCode::RateLimited, true),
            (coded(400, "bad_prompt"), FailureCode::ContentRejected, false),
            (coded(400, "text_moderation_failed"), FailureCode::ContentRejected, false),
            (coded(404, "voice_not_found"), FailureCode::InvalidInput, false),
            (coded(400, "max_character_limit_exceeded"), FailureCode::InvalidInput, false),
            (coded(403, "only_for_creator+"), FailureCode::InvalidInput, false),
            (coded(500, "internal_error"), FailureCode::ProviderUnavailable, true),
            (coded(403, "something_new"), FailureCode::Unauthorized, false),
        ];
        for (response, code, retryable) in cases {
            let failure = classify(&response);
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{response:?}");
        }
        assert_eq!(classify(&coded(401, "quota_exceeded")).message, "ElevenLabs quota_exceeded: why");
    }

    #[test]
    fn other_error_shapes_keep_the_vendor_words() {
        let validation = response(
            422,
            json!({"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "missing"},
                              {"loc": ["body", "voice_settings", "speed"], "msg": "too fast"}]}),
        );
        let failure = classify(&validation);
        assert_eq!(failure.code, FailureCode::InvalidInput);
        assert_eq!(
            failure.message,
            "ElevenLabs validation_error: body.text: field required; body.voice_settings.speed: too fast"
        );
        let plain = classify(&response(503, json!({"detail": "try later"})));
        assert_eq!((plain.code, plain.retryable), (FailureCode::ProviderUnavailable, true));
        assert_eq!(plain.message, "ElevenLabs answered HTTP 503: try later");
        let html = http::Response { status: 502, headers: vec![], body: b"<html>bad gateway</html>".to_vec() };
        assert_eq!(classify(&html).message, "vendor answered HTTP 502: <html>bad gateway</html>");
        let code_only = classify(&response(429, json!({"detail": {"code": "rate_limited"}})));
        assert_eq!(
            (code_only.code, code_only.message.as_str()),
            (FailureCode::RateLimited, "ElevenLabs rate_limited (HTTP 429)")
        );
    }

    #[test]
    fn retired_models_are_model_unavailable_and_429s_carry_retry_after() {
        let gone = response(
            400,
            json!({"detail": {"status": "model_not_found", "message": "A model with model ID eleven_x does not exist"}}),
        );
        assert_eq!(classify(&gone).code, FailureCode::ModelUnavailable);
        let deprecated =
            response(400, json!({"detail": {"status": "invalid_request", "message": "This model is deprecated"}}));
        assert_eq!(classify(&deprecated).code, FailureCode::ModelUnavailable);
        let mut busy = response(429, json!({"detail": {"status": "system_busy", "message": "busy"}}));
        busy.headers.push(("Retry-After".into(), "7".into()));
        let failure = classify(&busy);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(7)));
    }

    #[test]
    fn the_health_check_wants_the_model_listed() {
        let models: Vec<ListedModel> =
            serde_json::from_value(json!([{"model_id": "eleven_multilingual_v2", "name": "Eleven Multilingual v2"}]))
                .unwrap();
        assert!(listed(&models, "eleven_multilingual_v2").is_ok());
        assert_eq!(listed(&models, "eleven_monolingual_v1").unwrap_err().code, FailureCode::ModelUnavailable);
    }
}
