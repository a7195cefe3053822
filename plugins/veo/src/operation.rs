//! The Gemini API's long-running operation for Veo, and what each state of
//! it means for a Doitong job.
//!
//! Veo has no status enum; the state is derived from the operation:
//!
//! | operation                                                       | outcome                                    |
//! |-----------------------------------------------------------------|--------------------------------------------|
//! | `done` absent or false                                          | running (Veo reports no percentage)        |
//! | `done`, `error` set                                             | failed, see [`crate::errors`]              |
//! | `done`, a sample with `video.encodedVideo`                      | done, the bytes inline                     |
//! | `done`, a sample with `video.uri`                               | done, after fetching the file with the key |
//! | `done`, no sample, `raiMediaFilteredCount` > 0                  | `content-rejected` with Google's reasons   |
//! | `done`, no sample and no filter count                           | `generation-failed`                        |
//!
//! Fetching the file: the URI (`…/v1beta/files/{id}:download?alt=media`)
//! needs the API key, which the host's artifact download cannot send, and
//! Google may answer it with a redirect to a signed storage URL. So the
//! plugin requests it itself ([`download_artifact`]): a redirect's target
//! needs no key and becomes the artifact URL the host downloads and
//! re-hosts; a 2xx answer carries the file, which becomes the artifact's
//! bytes (within the host's HTTP response cap, 32 MiB by default).

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::media;
use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::{self, Status};

/// MIME type of every Veo clip.
pub const VIDEO_MP4: &str = "video/mp4";

/// What the host keeps between calls: the operation's name, e.g.
/// `models/veo-3.1-generate-preview/operations/k3x9q2mzt8ab`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Handle {
    /// Polled verbatim as `GET {base}/v1beta/{operation}`, as Google's SDK does.
    pub operation: String,
}

/// A `google.longrunning.Operation` from the Gemini API.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Operation {
    /// The operation's resource name.
    pub name: String,
    /// Set once the operation finished.
    pub done: bool,
    /// Why it failed, when it did.
    pub error: Option<Status>,
    /// What it produced, when it succeeded.
    pub response: Option<OperationResponse>,
}

/// `response` of a finished operation.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OperationResponse {
    /// The generated samples and safety-filter report.
    pub generate_video_response: GenerateVideoResponse,
}

/// `response.generateVideoResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GenerateVideoResponse {
    /// One entry per clip (Veo 3.1 makes one).
    pub generated_samples: Vec<GeneratedSample>,
    /// How many clips the safety filters removed.
    pub rai_media_filtered_count: u32,
    /// Google's words for why.
    pub rai_media_filtered_reasons: Vec<String>,
}

/// One generated clip.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GeneratedSample {
    /// Where the clip is.
    pub video: Video,
}

/// A clip: a URI to fetch with the key, or the bytes inline.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Video {
    /// `https://generativelanguage.googleapis.com/v1beta/files/{id}:download?alt=media`.
    pub uri: Option<String>,
    /// The clip in base64, when Google inlines it.
    pub encoded_video: Option<String>,
    /// The inline clip's MIME type.
    pub encoding: Option<String>,
}

/// What an operation means for the job.
#[derive(Debug)]
pub enum Outcome {
    /// Still generating.
    Running,
    /// Finished with the clip's bytes inline.
    Inline(Artifact),
    /// Finished with a clip to fetch with the key.
    Fetch(String),
    /// Finished without a clip.
    Failed(Failure),
}

/// Classify an operation (see the module table).
pub fn outcome(operation: Operation) -> Outcome {
    if !operation.done {
        return Outcome::Running;
    }
    if let Some(error) = &operation.error {
        return Outcome::Failed(errors::operation_failure(error));
    }
    let result = operation.response.unwrap_or_default().generate_video_response;
    if let Some(sample) = result.generated_samples.into_iter().next() {
        return clip(sample.video);
    }
    if result.rai_media_filtered_count > 0 {
        let reasons = result.rai_media_filtered_reasons.join("; ");
        return Outcome::Failed(failure::content_rejected(format!(
            "Veo's safety filters blocked the video: {}",
            if reasons.is_empty() { "no reason given" } else { &reasons }
        )));
    }
    Outcome::Failed(failure::generation_failed("Veo finished the operation without a video or a reason"))
}

fn clip(video: Video) -> Outcome {
    if let Some(encoded) = video.encoded_video.filter(|e| !e.is_empty()) {
        return match media::decode_base64(&encoded) {
            Ok(bytes) => Outcome::Inline(Artifact::from_bytes(bytes, video.encoding.as_deref().unwrap_or(VIDEO_MP4))),
            Err(e) => Outcome::Failed(failure::generation_failed(format!("Veo's inline video is not base64: {e}"))),
        };
    }
    match video.uri.filter(|u| !u.is_empty()) {
        Some(uri) => Outcome::Fetch(uri),
        None => Outcome::Failed(failure::generation_failed("Veo reported a video with neither a URI nor bytes")),
    }
}

/// The artifact for the answer to fetching a clip's URI with the key.
pub fn download_artifact(response: Response) -> Result<Artifact, Failure> {
    match response.status {
        200..=299 if response.body.is_empty() => Err(failure::provider_unavailable("Veo served an empty video file")),
        200..=299 => Ok(Artifact::from_bytes(response.body, VIDEO_MP4)),
        300..=399 => match http::header(&response, "location") {
            Some(location) if location.starts_with("https://") || location.starts_with("http://") => {
                Ok(Artifact::from_url(location, VIDEO_MP4))
            }
            _ => Err(failure::provider_unavailable(format!(
                "Veo redirected the video download (HTTP {}) without an absolute Location",
                response.status
            ))),
        },
        _ => Err(errors::http_failure(&response)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Operation {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn running_operations_keep_running() {
        for running in [json!({ "name": "models/m/operations/o" }), json!({ "name": "x", "done": false })] {
            assert!(matches!(outcome(parse(running)), Outcome::Running));
        }
    }

    #[test]
    fn finished_operations_give_the_clip() {
        let uri = "https://generativelanguage.googleapis.com/v1beta/files/p7d2:download?alt=media";
        let done = parse(json!({
            "name": "models/m/operations/o",
            "done": true,
            "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": { "generatedSamples": [ { "video": { "uri": uri } } ] }
            }
        }));
        assert!(matches!(outcome(done), Outcome::Fetch(u) if u == uri));
        let inline = parse(json!({
            "done": true,
            "response": { "generateVideoResponse": { "generatedSamples": [
                { "video": { "encodedVideo": "AAAAIGZ0eXA=", "encoding": "video/mp4" } }
            ] } }
        }));
        let Outcome::Inline(artifact) = outcome(inline) else { panic!("inline bytes") };
        assert_eq!(artifact.bytes.as_deref(), Some(&b"\0\0\0 ftyp"[..]));
        assert_eq!(artifact.mime, "video/mp4");
    }

    #[test]
    fn filtered_and_failed_operations_fail() {
        let filtered = parse(json!({
            "done": true,
            "response": { "generateVideoResponse": {
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": ["The prompt could not be submitted: it may violate our policies."]
            } }
        }));
        let Outcome::Failed(failure) = outcome(filtered) else { panic!("filtered") };
        assert_eq!(failure.code, FailureCode::ContentRejected);
        assert!(failure.message.contains("may violate our policies"), "{}", failure.message);

        let errored = parse(json!({ "done": true, "error": { "code": 13, "message": "internal error" } }));
        let Outcome::Failed(failure) = outcome(errored) else { panic!("errored") };
        assert_eq!((failure.code, failure.retryable), (FailureCode::GenerationFailed, false));

        let Outcome::Failed(failure) = outcome(parse(json!({ "done": true, "response": {} }))) else { panic!("empty") };
        assert_eq!(failure.code, FailureCode::GenerationFailed);
    }

    #[test]
    fn downloads_give_bytes_or_follow_the_redirect() {
        let ok = Response { status: 200, headers: vec![], body: b"mp4".to_vec() };
        assert_eq!(download_artifact(ok).unwrap().bytes.as_deref(), Some(&b"mp4"[..]));
        let signed = "https://storage.example/v.mp4?sig=1";
        let redirect = Response { status: 302, headers: vec![("Location".into(), signed.into())], body: Vec::new() };
        let artifact = download_artifact(redirect).unwrap();
        assert_eq!((artifact.url.as_deref(), artifact.mime.as_str()), (Some(signed), "video/mp4"));
        let relative = Response { status: 302, headers: vec![("Location".into(), "/v.mp4".into())], body: vec![] };
        assert_eq!(download_artifact(relative).unwrap_err().code, FailureCode::ProviderUnavailable);
        let refused = Response {
            status: 403,
            headers: vec![],
            body: br#"{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}"#.to_vec(),
        };
        assert_eq!(download_artifact(refused).unwrap_err().code, FailureCode::Unauthorized);
    }

    #[test]
    fn handles_round_trip() {
        let handle = Handle { operation: "models/veo-3.1-generate-preview/operations/k3x9".into() };
        assert_eq!(handle::decode::<Handle>(&handle::encode(&handle)).unwrap(), handle);
    }
}
