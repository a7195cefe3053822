//! Imagen's `:predict` on the wire: the request body, the images in the
//! answer, and Google's errors mapped to failures.
//!
//! ```json
//! POST /v1beta/models/{model}:predict
//! { "instances": [ { "prompt": "…" } ],
//!   "parameters": { "sampleCount": 2, "aspectRatio": "16:9", "personGeneration": "allow_adult",
//!                   "sampleImageSize": "2K", "outputOptions": { "mimeType": "image/jpeg", "compressionQuality": 80 },
//!                   "includeRaiReason": true } }
//! → { "predictions": [ { "mimeType": "image/png", "bytesBase64Encoded": "…" },
//!                      { "raiFilteredReason": "…" } ] }
//! ```
//!
//! The answer is synchronous: every image comes back inline, base64. Each
//! one's type and pixel size are read from its own header (Google's
//! `mimeType` is only the fallback). Images Google's safety filters withheld
//! come back as a `raiFilteredReason` (we ask for reasons) or not at all:
//!
//! | answer                                   | outcome                                          |
//! |------------------------------------------|--------------------------------------------------|
//! | at least one image                       | done with the images (fewer than asked: see README) |
//! | no image, filter reasons or none, `{}`   | `content-rejected`, with Google's reasons         |
//! | an image that is not base64 / no image type | `generation-failed`                           |
//!
//! Errors over HTTP are Google's `{"error": {"code", "message", "status",
//! "details": [{"reason"}]}}`, classified by canonical status:
//!
//! | canonical status                                  | failure                              |
//! |---------------------------------------------------|--------------------------------------|
//! | `INVALID_ARGUMENT` with reason `API_KEY_INVALID`  | `unauthorized`                       |
//! | `INVALID_ARGUMENT` whose message is a Responsible AI / safety block | `content-rejected`  |
//! | `INVALID_ARGUMENT`, `OUT_OF_RANGE`                | `invalid-input`                      |
//! | `UNAUTHENTICATED`, `PERMISSION_DENIED`            | `unauthorized`                       |
//! | `RESOURCE_EXHAUSTED` (quota, rate)                | `rate-limited`, retryable            |
//! | `FAILED_PRECONDITION` (billing, region)           | `provider-unavailable`, final        |
//! | `NOT_FOUND` (model retired)                       | `provider-unavailable`, final, with a hint |
//! | `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`, … | `provider-unavailable`, retryable    |
//! | a body that is not Google's error shape           | the SDK's mapping of the HTTP status |

use std::borrow::Cow;

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::image::{self, ImageFormat};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::catalogue::{Format, Plan};

/// The vendor origin: first in `allowed_hosts`, so operators can move it
/// with `base_url` (a Gemini-compatible gateway, or a mock).
pub const API: &str = "https://generativelanguage.googleapis.com";
/// The header Google's SDKs send the API key in.
pub const KEY_HEADER: &str = "x-goog-api-key";
/// Per-request timeout: four 2K images take a while (the host caps it).
const REQUEST_TIMEOUT_MS: u32 = 60_000;

/// The `:predict` body for `plan`.
pub fn body(plan: &Plan) -> Json {
    let mut parameters = Map::new();
    parameters.insert("sampleCount".into(), json!(plan.count));
    parameters.insert("aspectRatio".into(), json!(plan.aspect_ratio));
    parameters.insert("personGeneration".into(), json!(plan.person_generation));
    if let Some(size) = &plan.image_size {
        parameters.insert("sampleImageSize".into(), json!(size));
    }
    let mut output = Map::new();
    output.insert("mimeType".into(), json!(plan.format.mime()));
    if let Some(quality) = plan.compression_quality.filter(|_| plan.format == Format::Jpeg) {
        output.insert("compressionQuality".into(), json!(quality));
    }
    parameters.insert("outputOptions".into(), Json::Object(output));
    // Without it, filtered images vanish silently; with it, Google says why.
    parameters.insert("includeRaiReason".into(), json!(true));
    json!({ "instances": [ { "prompt": plan.prompt } ], "parameters": parameters })
}

/// Generate `plan`'s images: one `:predict` exchange with the key.
pub fn generate(key: &str, plan: &Plan) -> Result<Vec<Artifact>, Failure> {
    let url = format!("{API}/v1beta/models/{}:predict", plan.tier.model);
    let response = http::post(url)
        .header(KEY_HEADER, key)
        .json(&body(plan))
        .timeout_ms(REQUEST_TIMEOUT_MS)
        .send_with(|response| http_failure(response, plan.tier.model))?;
    let answer: Answer = serde_json::from_slice(&response.body).map_err(|e| {
        failure::provider_unavailable(format!(
            "unexpected answer from Imagen ({e}): {}",
            http::error_text(&response.body)
        ))
    })?;
    images(answer)
}

/// A 200 answer. Predictions borrow their base64 from the body, so a
/// four-image answer is not copied before it is decoded.
#[derive(Deserialize, Debug, Default)]
pub struct Answer<'a> {
    /// Absent when every image was filtered and no reason was asked for.
    #[serde(default, borrow)]
    pub predictions: Vec<Prediction<'a>>,
}

/// One prediction: an image, or why it was withheld.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Prediction<'a> {
    /// The image, base64.
    #[serde(default, borrow)]
    pub bytes_base64_encoded: Option<Base64<'a>>,
    /// Google's label of the image's type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Why the image was withheld.
    #[serde(default)]
    pub rai_filtered_reason: Option<String>,
}

/// Base64 text, borrowed from the body unless JSON escapes forced a copy
/// (serde borrows a `Cow` only as a field of its own, not inside an `Option`).
#[derive(Deserialize, Debug)]
pub struct Base64<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// The artifacts of an answer (see the module table).
pub fn images(answer: Answer) -> Result<Vec<Artifact>, Failure> {
    let mut artifacts = Vec::new();
    let mut withheld = Vec::new();
    for prediction in answer.predictions {
        match (prediction.bytes_base64_encoded, prediction.rai_filtered_reason) {
            (Some(Base64(encoded)), _) if !encoded.is_empty() => {
                artifacts.push(artifact(&encoded, prediction.mime_type.as_deref())?);
            }
            (_, Some(reason)) => withheld.push(reason),
            _ => withheld.push(String::new()),
        }
    }
    if artifacts.is_empty() {
        let reasons: Vec<String> = withheld.into_iter().filter(|r| !r.trim().is_empty()).collect();
        return Err(failure::content_rejected(if reasons.is_empty() {
            "Imagen returned no image: Google's safety filters withheld every one".to_string()
        } else {
            format!("Google's safety filters withheld every image: {}", reasons.join("; "))
        }));
    }
    Ok(artifacts)
}

/// One decoded image with its type and size read from its header.
fn artifact(encoded: &str, labelled: Option<&str>) -> Result<Artifact, Failure> {
    let bytes = media::decode_base64(encoded)
        .map_err(|e| failure::generation_failed(format!("Imagen sent an image that is not valid base64: {e}")))?;
    let mime = match ImageFormat::sniff(&bytes) {
        Some(format) => format.mime(),
        None => match labelled {
            Some(label @ ("image/png" | "image/jpeg" | "image/webp")) => label,
            _ => {
                return Err(failure::generation_failed(format!(
                    "Imagen sent {} bytes that are not a PNG, JPEG or WebP image (labelled {})",
                    bytes.len(),
                    labelled.unwrap_or("nothing")
                )));
            }
        },
    };
    let size = image::size(&bytes).ok();
    Ok(Artifact {
        width: size.map(|(width, _)| width),
        height: size.map(|(_, height)| height),
        ..Artifact::from_bytes(bytes, mime)
    })
}

/// `google.rpc.Status` as found in error bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    message: String,
    status: String,
    details: Vec<Detail>,
}

/// One entry of `details`; only `google.rpc.ErrorInfo` carries a reason.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Detail {
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

/// Words of Google's refusals of a prompt by its safety filters (Vertex
/// and the Gemini API answer them as `INVALID_ARGUMENT`, e.g. "The prompt
/// could not be submitted. This prompt contains sensitive words that
/// violate Google's Responsible AI practices…").
const SAFETY_WORDS: &[&str] = &["responsible ai", "safety filter", "sensitive words"];

/// The failure for a non-2xx answer to `:predict` on `model`.
pub fn http_failure(response: &Response, model: &str) -> Failure {
    let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(&response.body) else {
        return http::status_failure(response);
    };
    let message = format!("Imagen answered HTTP {} {}: {}", response.status, error.status, error.message);
    let key_invalid = error.details.iter().any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"));
    let lower = error.message.to_ascii_lowercase();
    match error.status.as_str() {
        _ if key_invalid => failure::unauthorized(message),
        "INVALID_ARGUMENT" if SAFETY_WORDS.iter().any(|w| lower.contains(w)) => failure::content_rejected(message),
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => failure::invalid_input(message),
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => failure::unauthorized(message),
        "RESOURCE_EXHAUSTED" => failure::rate_limited(message),
        "FAILED_PRECONDITION" => final_failure(failure::provider_unavailable(message)),
        "NOT_FOUND" => final_failure(failure::provider_unavailable(format!(
            "{message} (Google retires the Imagen models on the Gemini API during 2026; `{model}` may no longer \
             be served: see the imagen plugin's README)"
        ))),
        "" => http::failure_for_status(response.status, message),
        _ => failure::provider_unavailable(message),
    }
}

fn final_failure(failure: Failure) -> Failure {
    Failure { retryable: false, ..failure }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::tier;

    /// A 3×2 PNG and a 2×5 JPEG, headers enough for type and size.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        out
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        out
    }

    fn plan(offering: &str) -> Plan {
        Plan {
            tier: tier(offering).unwrap(),
            prompt: "a red bicycle leaning on a brick wall".into(),
            count: 1,
            aspect_ratio: "1:1".into(),
            image_size: tier(offering).unwrap().has_image_size.then(|| "1K".to_string()),
            format: Format::Png,
            compression_quality: None,
            person_generation: "allow_adult".into(),
        }
    }

    fn answer(body: &str) -> Result<Vec<Artifact>, Failure> {
        images(serde_json::from_str(body).unwrap())
    }

    fn google(http: u16, status: &str, message: &str, reason: Option<&str>) -> Response {
        let details = match reason {
            Some(r) => format!(r#"[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"{r}"}}]"#),
            None => "[]".into(),
        };
        let body =
            format!(r#"{{"error":{{"code":{http},"message":"{message}","status":"{status}","details":{details}}}}}"#);
        Response { status: http, headers: vec![], body: body.into_bytes() }
    }

    #[test]
    fn the_body_mirrors_googles_fields() {
        assert_eq!(
            body(&plan("imagen")),
            json!({
                "instances": [ { "prompt": "a red bicycle leaning on a brick wall" } ],
                "parameters": {
                    "sampleCount": 1,
                    "aspectRatio": "1:1",
                    "personGeneration": "allow_adult",
                    "sampleImageSize": "1K",
                    "outputOptions": { "mimeType": "image/png" },
                    "includeRaiReason": true
                }
            })
        );
        let mut jpeg = plan("imagen-fast");
        jpeg.count = 3;
        jpeg.aspect_ratio = "9:16".into();
        jpeg.format = Format::Jpeg;
        jpeg.compression_quality = Some(60);
        jpeg.person_generation = "dont_allow".into();
        let parameters = &body(&jpeg)["parameters"];
        assert_eq!(
            parameters,
            &json!({
                "sampleCount": 3,
                "aspectRatio": "9:16",
                "personGeneration": "dont_allow",
                "outputOptions": { "mimeType": "image/jpeg", "compressionQuality": 60 },
                "includeRaiReason": true
            }),
            "Imagen 4 Fast is sent no sampleImageSize"
        );
    }

    #[test]
    fn images_are_decoded_with_their_own_type_and_size() {
        let body = format!(
            r#"{{"predictions":[{{"mimeType":"image/png","bytesBase64Encoded":"{}"}},
                               {{"mimeType":"image/png","bytesBase64Encoded":"{}"}}]}}"#,
            media::base64(&png(1408, 768)),
            media::base64(&jpeg(896, 1280)),
        );
        let artifacts = answer(&body).unwrap();
        assert_eq!(artifacts.len(), 2);
        assert_eq!(
            artifacts[0],
            Artifact { width: Some(1408), height: Some(768), ..Artifact::from_bytes(png(1408, 768), "image/png") }
        );
        // Labelled PNG, but a JPEG: the bytes win.
        assert_eq!(
            (artifacts[1].mime.as_str(), artifacts[1].width, artifacts[1].height),
            ("image/jpeg", Some(896), Some(1280))
        );
        assert_eq!(artifacts[1].bytes.as_deref(), Some(&jpeg(896, 1280)[..]));
        assert!(artifacts.iter().all(|a| a.url.is_none() && a.duration_ms.is_none()));
    }

    #[test]
    fn filtered_images_are_dropped_and_all_filtered_is_a_rejection() {
        let one_left = format!(
            r#"{{"predictions":[{{"raiFilteredReason":"Unable to show generated images. Support codes: 56562880"}},
                               {{"bytesBase64Encoded":"{}"}}]}}"#,
            media::base64(&png(1024, 1024))
        );
        assert_eq!(answer(&one_left).unwrap().len(), 1);
        let all = answer(
            r#"{"predictions":[{"raiFilteredReason":"Support codes: 1"},{"raiFilteredReason":"Support codes: 2"}]}"#,
        )
        .unwrap_err();
        assert_eq!((all.code, all.retryable), (FailureCode::ContentRejected, false));
        assert_eq!(all.message, "Google's safety filters withheld every image: Support codes: 1; Support codes: 2");
        for silent in ["{}", r#"{"predictions":[]}"#, r#"{"predictions":[{"mimeType":"image/png"}]}"#] {
            let failure = answer(silent).unwrap_err();
            assert_eq!(failure.code, FailureCode::ContentRejected, "{silent}");
            assert_eq!(failure.message, "Imagen returned no image: Google's safety filters withheld every one");
        }
    }

    #[test]
    fn undecodable_images_fail_the_generation() {
        let failure = answer(r#"{"predictions":[{"bytesBase64Encoded":"not base64!"}]}"#).unwrap_err();
        assert_eq!(failure.code, FailureCode::GenerationFailed);
        assert!(failure.message.starts_with("Imagen sent an image that is not valid base64"), "{}", failure.message);
        let text = format!(r#"{{"predictions":[{{"bytesBase64Encoded":"{}"}}]}}"#, media::base64(b"hello"));
        let failure = answer(&text).unwrap_err();
        assert_eq!(failure.message, "Imagen sent 5 bytes that are not a PNG, JPEG or WebP image (labelled nothing)");
        // Unknown header but a label we know: trusted, size unknown.
        let labelled = format!(
            r#"{{"predictions":[{{"mimeType":"image/jpeg","bytesBase64Encoded":"{}"}}]}}"#,
            media::base64(b"hello")
        );
        let artifact = &answer(&labelled).unwrap()[0];
        assert_eq!((artifact.mime.as_str(), artifact.width), ("image/jpeg", None));
    }

    #[test]
    fn answers_borrow_base64_and_accept_escaped_slashes() {
        let encoded = media::base64(&png(2, 3));
        let escaped = format!(r#"{{"predictions":[{{"bytesBase64Encoded":"{}"}}]}}"#, encoded.replace('/', "\\/"));
        let parsed: Answer = serde_json::from_str(&escaped).unwrap();
        let Some(Base64(copied)) = &parsed.predictions[0].bytes_base64_encoded else { panic!("no image") };
        assert_eq!(copied, &encoded);
        let plain = format!(r#"{{"predictions":[{{"bytesBase64Encoded":"{encoded}"}}]}}"#);
        let parsed: Answer = serde_json::from_str(&plain).unwrap();
        assert!(matches!(parsed.predictions[0].bytes_base64_encoded, Some(Base64(Cow::Borrowed(_)))));
    }

    #[test]
    fn google_errors_follow_the_canonical_status() {
        let model = "imagen-4.0-generate-001";
        let cases = [
            (
                google(400, "INVALID_ARGUMENT", "API key not valid.", Some("API_KEY_INVALID")),
                FailureCode::Unauthorized,
                false,
            ),
            (google(400, "INVALID_ARGUMENT", "sampleCount must be 1-4", None), FailureCode::InvalidInput, false),
            (
                google(
                    400,
                    "INVALID_ARGUMENT",
                    "The prompt could not be submitted. This prompt contains sensitive words that violate Google's Responsible AI practices.",
                    None,
                ),
                FailureCode::ContentRejected,
                false,
            ),
            (
                google(403, "PERMISSION_DENIED", "API not enabled", Some("SERVICE_DISABLED")),
                FailureCode::Unauthorized,
                false,
            ),
            (google(429, "RESOURCE_EXHAUSTED", "Quota exceeded", None), FailureCode::RateLimited, true),
            (
                google(400, "FAILED_PRECONDITION", "Imagen API is only accessible to billed users", None),
                FailureCode::ProviderUnavailable,
                false,
            ),
            (
                google(404, "NOT_FOUND", "models/imagen-4.0-generate-001 is not found", None),
                FailureCode::ProviderUnavailable,
                false,
            ),
            (google(503, "UNAVAILABLE", "The model is overloaded", None), FailureCode::ProviderUnavailable, true),
            (google(500, "INTERNAL", "Internal error", None), FailureCode::ProviderUnavailable, true),
        ];
        for (response, code, retryable) in cases {
            let failure = http_failure(&response, model);
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{}", failure.message);
            assert!(
                failure.message.starts_with(&format!("Imagen answered HTTP {}", response.status)),
                "{}",
                failure.message
            );
        }
        let retired = http_failure(&google(404, "NOT_FOUND", "gone", None), model);
        assert!(retired.message.contains("`imagen-4.0-generate-001` may no longer be served"), "{}", retired.message);
    }

    #[test]
    fn other_bodies_fall_back_to_the_http_status() {
        let gateway = Response { status: 502, headers: vec![], body: b"<html>Bad Gateway</html>".to_vec() };
        let failure = http_failure(&gateway, "m");
        assert_eq!((failure.code, failure.retryable), (FailureCode::ProviderUnavailable, true));
        let limited = Response { status: 429, headers: vec![], body: b"slow down".to_vec() };
        assert_eq!(http_failure(&limited, "m").code, FailureCode::RateLimited);
        let bare = Response { status: 401, headers: vec![], body: br#"{"error":{"message":"no key"}}"#.to_vec() };
        assert_eq!(http_failure(&bare, "m").code, FailureCode::Unauthorized);
    }
}
