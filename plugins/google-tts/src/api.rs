//! Google Cloud Text-to-Speech (REST v1) on the wire: the `text:synthesize`
//! request, its base64 answer turned into an artifact, and Google's error
//! envelope mapped to failures.
//!
//! One synchronous exchange: `POST /v1/text:synthesize` with the API key in
//! `X-Goog-Api-Key` (kept out of URLs and logs), answered with
//! `{"audioContent": "<base64 of the whole file>"}`. Errors come in
//! Google's envelope `{"error": {"code", "message", "status", "details"}}`;
//! the status (and, for keys, `ErrorInfo.reason`) decides:
//!
//! | Google                                                  | failure                        |
//! |---------------------------------------------------------|--------------------------------|
//! | reason `API_KEY_INVALID`, `API_KEY_EXPIRED`, …`API_KEY…`; `UNAUTHENTICATED`; `PERMISSION_DENIED` (API off, billing off, key restricted) | `unauthorized` |
//! | `RESOURCE_EXHAUSTED` (quota)                            | `rate-limited`, retryable      |
//! | `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `OUT_OF_RANGE`, `NOT_FOUND` (bad voice, encoding, SSML) | `invalid-input` |
//! | `INTERNAL`, `UNAVAILABLE`, `DEADLINE_EXCEEDED`          | `provider-unavailable`, retryable |
//! | anything else, or no envelope                           | by HTTP status (the SDK's table) |
//!
//! Google's Text-to-Speech has no moderation: nothing maps to
//! `content-rejected`.

use doitong_plugin_sdk::audio;
use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{self, Value as Json};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Plan, VoiceChoice};

/// The vendor origin: first in `allowed_hosts`, so operators can move it
/// with `base_url` (e.g. to a regional `https://eu-texttospeech.googleapis.com`).
pub const API: &str = "https://texttospeech.googleapis.com";
/// Per-request timeout: 5,000 bytes of text take Google seconds, Studio
/// and HD voices longer.
const REQUEST_TIMEOUT_MS: u32 = 120_000;

/// `input`: exactly one of `text` and `ssml`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub enum SynthesisInput<'a> {
    /// Plain text.
    Text(&'a str),
    /// An SSML document.
    Ssml(&'a str),
}

/// `voice`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct VoiceSelection<'a> {
    language_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssml_gender: Option<&'static str>,
}

/// `audioConfig`: fields at Google's defaults are left out, so voice
/// families without a control (pitch on Chirp 3 HD, say) are only sent
/// what the user asked for.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AudioConfig<'a> {
    audio_encoding: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    speaking_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pitch: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume_gain_db: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_rate_hertz: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effects_profile_id: Option<[&'a str; 1]>,
}

/// The body of `POST /v1/text:synthesize`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SynthesizeBody<'a> {
    input: SynthesisInput<'a>,
    voice: VoiceSelection<'a>,
    audio_config: AudioConfig<'a>,
}

/// `Some(value)` unless it is Google's default.
fn unless_default(value: f64, default: f64) -> Option<f64> {
    (value != default).then_some(value)
}

impl<'a> SynthesizeBody<'a> {
    /// The body for a checked request speaking `text`.
    pub fn new(plan: &'a Plan, text: &'a str) -> Self {
        let voice = match &plan.voice {
            VoiceChoice::Named(voice) => {
                VoiceSelection { language_code: &voice.language_code, name: Some(&voice.name), ssml_gender: None }
            }
            VoiceChoice::Chosen { language_code, gender } => {
                VoiceSelection { language_code, name: None, ssml_gender: gender.map(|g| g.vendor_name()) }
            }
        };
        SynthesizeBody {
            input: if plan.ssml { SynthesisInput::Ssml(text) } else { SynthesisInput::Text(text) },
            voice,
            audio_config: AudioConfig {
                audio_encoding: plan.format.vendor_name(),
                speaking_rate: unless_default(plan.speed, 1.0),
                pitch: unless_default(plan.pitch, 0.0),
                volume_gain_db: unless_default(plan.volume_gain_db, 0.0),
                sample_rate_hertz: plan.sample_rate,
                effects_profile_id: plan.effects_profile.as_deref().map(|p| [p]),
            },
        }
    }
}

/// Google's answer.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct SynthesizeAnswer {
    #[serde(default)]
    audio_content: String,
}

/// Speak `text` as `plan` says; the audio as an artifact. `default_voice`:
/// the voice is the offering's default (built in or the operator's), not
/// one the user named, so Google refusing it means it was retired.
pub fn synthesize(key: &str, plan: &Plan, text: &str, default_voice: bool) -> Result<Artifact, Failure> {
    let response = http::post(format!("{API}/v1/text:synthesize"))
        .header("X-Goog-Api-Key", key)
        .json(&SynthesizeBody::new(plan, text))
        .timeout_ms(REQUEST_TIMEOUT_MS)
        .send_with(|r| classify_for(r, default_voice))?;
    artifact(plan, &response.body)
}

/// The artifact for Google's answer: `audioContent` decoded, a complete
/// file (MP3, Ogg Opus, or WAV with its header), its duration read from it.
pub fn artifact(plan: &Plan, body: &[u8]) -> Result<Artifact, Failure> {
    let answer: SynthesizeAnswer = serde_json::from_slice(body).map_err(|e| {
        failure::provider_unavailable(format!(
            "unexpected answer from Google Text-to-Speech ({e}): {}",
            http::error_text(body)
        ))
    })?;
    if answer.audio_content.is_empty() {
        return Err(failure::generation_failed("Google Text-to-Speech answered without audioContent"));
    }
    let bytes = media::decode_base64(&answer.audio_content)
        .map_err(|e| failure::generation_failed(format!("Google Text-to-Speech's audioContent is not base64: {e}")))?;
    let mime = plan.format.mime();
    let duration_ms = audio::duration_ms(&bytes, mime);
    Ok(Artifact { duration_ms, ..Artifact::from_bytes(bytes, mime) })
}

/// Google's error envelope: status, message and the `ErrorInfo` reasons.
fn envelope(body: &[u8]) -> Option<(String, String, Vec<String>)> {
    let json: Json = serde_json::from_slice(body).ok()?;
    let error = json.get("error")?;
    let status = error["status"].as_str().unwrap_or_default().to_string();
    let message = error["message"].as_str().unwrap_or_default().to_string();
    let reasons = error["details"]
        .as_array()
        .map(|details| details.iter().filter_map(|d| d["reason"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Some((status, message, reasons))
}

/// The failure for a non-2xx answer (see the module table), with the
/// `Retry-After` of a 429; `default_voice` as in [`synthesize`]: a default
/// voice Google says does not exist is `model-unavailable`.
pub fn classify_for(response: &http::Response, default_voice: bool) -> Failure {
    let failure = classify(response);
    let lowered = failure.message.to_ascii_lowercase();
    let voice_gone = lowered.contains("voice")
        && ["does not exist", "not found", "deprecated", "no longer"].iter().any(|w| lowered.contains(w));
    let failure = if default_voice && voice_gone && matches!(response.status, 400 | 404) {
        failure::model_unavailable(failure.message)
    } else {
        failure
    };
    http::with_retry_after(failure, response)
}

/// `GET /v1/voices` answer.
#[derive(Deserialize, Debug, Default)]
pub struct VoiceList {
    /// The voices Google serves for the language asked.
    #[serde(default)]
    pub voices: Vec<ListedVoice>,
}

/// One voice of [`VoiceList`].
#[derive(Deserialize, Debug)]
pub struct ListedVoice {
    /// The voice name, e.g. `en-US-Neural2-F`.
    pub name: String,
}

/// Per-request timeout of the health check.
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// The health check: the key works (`GET /v1/voices?languageCode=…`,
/// which synthesises nothing) and the default voice `voice` of
/// `language_code` is still listed.
pub fn check(key: &str, voice: &str, language_code: &str) -> Result<(), Failure> {
    let response = http::get(format!("{API}/v1/voices?languageCode={language_code}"))
        .header("X-Goog-Api-Key", key)
        .timeout_ms(HEALTH_TIMEOUT_MS)
        .send_with(|r| classify_for(r, true))?;
    let list: VoiceList = http::decode_json(&response)?;
    listed(&list, voice)
}

/// `Ok` when `voice` is in `list`, else `model-unavailable`.
pub fn listed(list: &VoiceList, voice: &str) -> Result<(), Failure> {
    if list.voices.iter().any(|v| v.name == voice) {
        Ok(())
    } else {
        Err(failure::model_unavailable(format!(
            "Google Text-to-Speech no longer lists the default voice {voice}; set `model.google-tts` to a current voice"
        )))
    }
}

/// The failure for a non-2xx answer (see the module table).
pub fn classify(response: &http::Response) -> Failure {
    let Some((status, message, reasons)) = envelope(&response.body) else {
        return http::status_failure(response);
    };
    let label = if status.is_empty() { format!("HTTP {}", response.status) } else { status.clone() };
    let text = format!("Google Text-to-Speech {label}: {message}");
    if reasons.iter().any(|r| r.starts_with("API_KEY")) {
        return failure::unauthorized(text);
    }
    match status.as_str() {
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => failure::unauthorized(text),
        "RESOURCE_EXHAUSTED" => failure::rate_limited(text),
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" | "NOT_FOUND" => failure::invalid_input(text),
        "INTERNAL" | "UNAVAILABLE" | "DEADLINE_EXCEEDED" => failure::provider_unavailable(text),
        _ => http::failure_for_status(response.status, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Family, Format, Gender, Voice};
    use doitong_plugin_sdk::serde_json::json;

    fn plan(voice: VoiceChoice) -> Plan {
        Plan {
            voice,
            speed: 1.0,
            pitch: 0.0,
            volume_gain_db: 0.0,
            format: Format::Mp3,
            sample_rate: None,
            ssml: false,
            effects_profile: None,
            chars: 5,
        }
    }

    fn named(name: &str) -> VoiceChoice {
        VoiceChoice::Named(Voice::parse(name).unwrap())
    }

    fn error(status: u16, google: &str, message: &str, reasons: &[&str]) -> http::Response {
        let details: Vec<Json> = reasons
            .iter()
            .map(|r| json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": r, "domain": "googleapis.com"}))
            .collect();
        let body = json!({"error": {"code": status, "message": message, "status": google, "details": details}});
        http::Response { status, headers: vec![], body: serde_json::to_vec(&body).unwrap() }
    }

    #[test]
    fn the_default_body_names_the_voice_and_nothing_at_its_default() {
        let plan = plan(named("en-US-Neural2-F"));
        let body = serde_json::to_value(SynthesizeBody::new(&plan, "Your order has shipped.")).unwrap();
        assert_eq!(
            body,
            json!({
                "input": {"text": "Your order has shipped."},
                "voice": {"languageCode": "en-US", "name": "en-US-Neural2-F"},
                "audioConfig": {"audioEncoding": "MP3"}
            })
        );
    }

    #[test]
    fn every_option_maps_to_its_google_field() {
        let mut plan = plan(VoiceChoice::Chosen { language_code: "fr-FR".into(), gender: Some(Gender::Male) });
        plan.ssml = true;
        plan.speed = 0.9;
        plan.pitch = -3.5;
        plan.volume_gain_db = 2.0;
        plan.format = Format::Wav;
        plan.sample_rate = Some(16_000);
        plan.effects_profile = Some("telephony-class-application".into());
        let ssml = "<speak>Bonjour</speak>";
        let body = serde_json::to_value(SynthesizeBody::new(&plan, ssml)).unwrap();
        assert_eq!(
            body,
            json!({
                "input": {"ssml": ssml},
                "voice": {"languageCode": "fr-FR", "ssmlGender": "MALE"},
                "audioConfig": {
                    "audioEncoding": "LINEAR16", "speakingRate": 0.9, "pitch": -3.5, "volumeGainDb": 2.0,
                    "sampleRateHertz": 16000, "effectsProfileId": ["telephony-class-application"]
                }
            })
        );
    }

    #[test]
    fn audio_content_is_decoded_with_its_duration() {
        // LINEAR16 comes as a WAV with its header: 0.5 s at 24 kHz.
        let wav = audio::wav_from_pcm16(&vec![7u8; 24_000], 24_000, 1);
        let mut linear16 = plan(named("en-US-Standard-C"));
        linear16.format = Format::Wav;
        let body = serde_json::to_vec(&json!({"audioContent": media::base64(&wav)})).unwrap();
        let artifact = artifact(&linear16, &body).unwrap();
        assert_eq!(artifact.bytes.as_deref(), Some(wav.as_slice()));
        assert_eq!((artifact.mime.as_str(), artifact.duration_ms), ("audio/wav", Some(500)));
        // The notes' stub MP3 (an ID3 tag and one frame header): a file, duration unknown.
        let stub = json!({"audioContent": "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA//tQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
        let mp3 = super::artifact(&plan(named("en-US-Neural2-F")), &serde_json::to_vec(&stub).unwrap()).unwrap();
        assert!(mp3.bytes.as_deref().unwrap().starts_with(b"ID3"));
        assert_eq!((mp3.mime.as_str(), mp3.duration_ms), ("audio/mpeg", None));
    }

    #[test]
    fn answers_without_audio_are_failures() {
        let plan = plan(named("en-US-Neural2-F"));
        let empty = artifact(&plan, br#"{"audioContent": ""}"#).unwrap_err();
        assert_eq!(empty.code, FailureCode::GenerationFailed);
        let garbled = artifact(&plan, br#"{"audioContent": "not base64 at all!"}"#).unwrap_err();
        assert_eq!(garbled.code, FailureCode::GenerationFailed);
        let html = artifact(&plan, b"<html>oops</html>").unwrap_err();
        assert_eq!(html.code, FailureCode::ProviderUnavailable);
    }

    #[test]
    fn google_statuses_and_reasons_map_to_failures() {
        let cases = [
            (
                error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", &["API_KEY_INVALID"]),
                FailureCode::Unauthorized,
                false,
            ),
            (
                error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", &[]),
                FailureCode::Unauthorized,
                false,
            ),
            (
                error(
                    403,
                    "PERMISSION_DENIED",
                    "Cloud Text-to-Speech API has not been used in project 1 before or it is disabled.",
                    &["SERVICE_DISABLED"],
                ),
                FailureCode::Unauthorized,
                false,
            ),
            (
                error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Requests'.",
                    &["RATE_LIMIT_EXCEEDED"],
                ),
                FailureCode::RateLimited,
                true,
            ),
            (
                error(400, "INVALID_ARGUMENT", "Voice 'en-US-Neural2-Z' does not exist.", &[]),
                FailureCode::InvalidInput,
                false,
            ),
            (
                error(400, "FAILED_PRECONDITION", "This voice does not support SSML input.", &[]),
                FailureCode::InvalidInput,
                false,
            ),
            (error(500, "INTERNAL", "Internal error encountered.", &[]), FailureCode::ProviderUnavailable, true),
            (
                error(503, "UNAVAILABLE", "The service is currently unavailable.", &[]),
                FailureCode::ProviderUnavailable,
                true,
            ),
            (error(409, "ABORTED", "Try again.", &[]), FailureCode::InvalidInput, false),
        ];
        for (response, code, retryable) in cases {
            let failure = classify(&response);
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{failure:?}");
        }
        let bad_voice = classify(&error(400, "INVALID_ARGUMENT", "Voice 'x' does not exist.", &[]));
        assert_eq!(bad_voice.message, "Google Text-to-Speech INVALID_ARGUMENT: Voice 'x' does not exist.");
        let plain = http::Response { status: 502, headers: vec![], body: b"<html>Bad Gateway</html>".to_vec() };
        let failure = classify(&plain);
        assert_eq!(
            (failure.code, failure.message.as_str()),
            (FailureCode::ProviderUnavailable, "vendor answered HTTP 502: <html>Bad Gateway</html>")
        );
        assert_eq!(Family::Standard.usd_per_million_chars(), 4);
    }

    #[test]
    fn a_retired_default_voice_is_model_unavailable_and_429s_carry_retry_after() {
        let gone = error(400, "INVALID_ARGUMENT", "Voice 'en-US-Neural2-F' does not exist.", &[]);
        assert_eq!(classify_for(&gone, true).code, FailureCode::ModelUnavailable);
        assert_eq!(classify_for(&gone, false).code, FailureCode::InvalidInput, "a voice the user named");
        let mut busy = error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", &[]);
        busy.headers.push(("Retry-After".into(), "9".into()));
        let failure = classify_for(&busy, false);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(9)));
    }

    #[test]
    fn the_health_check_wants_the_default_voice_listed() {
        let list: VoiceList =
            serde_json::from_value(json!({"voices": [{"name": "en-US-Neural2-F", "languageCodes": ["en-US"]}]}))
                .unwrap();
        assert!(listed(&list, "en-US-Neural2-F").is_ok());
        assert_eq!(listed(&list, "en-US-Journey-F").unwrap_err().code, FailureCode::ModelUnavailable);
    }
}
