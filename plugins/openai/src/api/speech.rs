//! `POST /v1/audio/speech`: a JSON body, answered with the audio file
//! itself. The file is returned inline with the MIME type of the requested
//! `response_format` (OpenAI's own `Content-Type` for formats other than
//! MP3 is not documented) and the duration read from it ([`crate::audio`]).

use doitong_plugin_sdk::prelude::*;
use serde::Serialize;

use super::post;
use crate::catalogue::speech::Plan;

/// The request body.
#[derive(Serialize, Debug, PartialEq)]
pub struct Body<'a> {
    model: String,
    input: &'a str,
    voice: &'static str,
    response_format: &'static str,
    speed: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<&'a str>,
}

impl<'a> Body<'a> {
    /// The body for a checked request.
    pub fn new(plan: &'a Plan) -> Self {
        Body {
            model: plan.model.name().to_string(),
            input: &plan.text,
            voice: plan.voice,
            response_format: plan.format.name(),
            speed: plan.speed,
            instructions: plan.instructions.as_deref(),
        }
    }
}

/// Speak the text.
pub fn generate(key: &str, plan: &Plan) -> Result<Artifact, Failure> {
    // The official SDK asks for octet-stream; the body is the file.
    let body = Body { model: plan.vendor_model(), ..Body::new(plan) };
    let response = post(key, "/v1/audio/speech", "application/octet-stream", &body)?;
    read_answer(&response, plan)
}

/// The artifact in a 2xx answer.
pub fn read_answer(response: &http::Response, plan: &Plan) -> Result<Artifact, Failure> {
    let content_type = http::header(response, "content-type").unwrap_or_default().to_ascii_lowercase();
    if content_type.starts_with("application/json") || content_type.starts_with("text/") {
        return Err(failure::generation_failed(format!(
            "OpenAI answered {content_type} instead of audio: {}",
            http::error_text(&response.body)
        )));
    }
    if response.body.is_empty() {
        return Err(failure::generation_failed("OpenAI answered without audio"));
    }
    let duration_ms = plan.format.duration_ms(&response.body);
    Ok(Artifact { duration_ms, ..Artifact::from_bytes(response.body.clone(), plan.format.mime()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::AudioFormat;
    use crate::audio::tests::{sample_mp3, sample_wav};
    use crate::catalogue::speech::Model;
    use doitong_plugin_sdk::serde_json::{self, json};

    fn plan(format: AudioFormat) -> Plan {
        Plan {
            model: Model::Gpt4oMiniTts,
            text: "Hello from the gateway.".into(),
            voice: "coral",
            speed: 1.0,
            format,
            instructions: Some("Speak warmly.".into()),
        }
    }

    fn answer(content_type: &str, body: &[u8]) -> http::Response {
        http::Response { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body: body.to_vec() }
    }

    #[test]
    fn bodies_mirror_openais_fields() {
        let plan = plan(AudioFormat::Mp3);
        assert_eq!(
            serde_json::to_value(Body::new(&plan)).unwrap(),
            json!({
                "model": "gpt-4o-mini-tts",
                "input": "Hello from the gateway.",
                "voice": "coral",
                "response_format": "mp3",
                "speed": 1.0,
                "instructions": "Speak warmly."
            })
        );
        let plain = Plan { model: Model::Tts1, instructions: None, speed: 1.5, ..plan };
        let body = serde_json::to_value(Body::new(&plain)).unwrap();
        assert_eq!((body.get("instructions"), body["speed"].as_f64()), (None, Some(1.5)));
    }

    #[test]
    fn audio_answers_become_artifacts_with_their_duration() {
        let mp3 = sample_mp3(125);
        let artifact = read_answer(&answer("audio/mpeg", &mp3), &plan(AudioFormat::Mp3)).unwrap();
        assert_eq!((artifact.mime.as_str(), artifact.duration_ms), ("audio/mpeg", Some(3000)));
        assert_eq!(artifact.bytes.as_deref(), Some(mp3.as_slice()));
        let wav = sample_wav(24_000, 24_000, Some(u32::MAX));
        let artifact = read_answer(&answer("audio/wav", &wav), &plan(AudioFormat::Wav)).unwrap();
        assert_eq!((artifact.mime.as_str(), artifact.duration_ms), ("audio/wav", Some(1000)));
        // The requested format names the type, whatever the header says.
        let labelled = read_answer(&answer("application/octet-stream", &wav), &plan(AudioFormat::Wav)).unwrap();
        assert_eq!(labelled.mime, "audio/wav");
    }

    #[test]
    fn non_audio_answers_fail() {
        let json = read_answer(&answer("application/json", br#"{"error":{"message":"odd"}}"#), &plan(AudioFormat::Mp3));
        assert_eq!(json.unwrap_err().message, "OpenAI answered application/json instead of audio: odd");
        let empty = read_answer(&answer("audio/mpeg", b""), &plan(AudioFormat::Mp3)).unwrap_err();
        assert_eq!(
            (empty.code, empty.message.as_str()),
            (FailureCode::GenerationFailed, "OpenAI answered without audio")
        );
        let unmeasured = read_answer(&answer("audio/flac", b"fLaC-not-really"), &plan(AudioFormat::Flac)).unwrap();
        assert_eq!(unmeasured.duration_ms, None, "delivered without a duration");
    }
}
