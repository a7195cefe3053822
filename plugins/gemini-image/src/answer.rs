//! What Google answers with a 200: the image in `candidates[].content.parts[]`,
//! or why there is none.
//!
//! ```json
//! { "candidates": [ { "content": { "role": "model",
//!                                  "parts": [ { "inlineData": { "mimeType": "image/png", "data": "<base64>" } } ] },
//!                     "finishReason": "STOP" } ],
//!   "promptFeedback": { "blockReason": "SAFETY" },
//!   "usageMetadata": { … } }
//! ```
//!
//! | answer                                                        | outcome                                  |
//! |---------------------------------------------------------------|------------------------------------------|
//! | at least one image part (not a `thought`)                     | done, every image in Google's order      |
//! | `promptFeedback.blockReason` (the prompt was blocked)         | `content-rejected`, with the reason      |
//! | no image, `finishReason` a safety/policy/recitation reason    | `content-rejected`, with the reason      |
//! | no image otherwise (`NO_IMAGE`, `IMAGE_OTHER`, `STOP` + text) | `generation-failed`, with Google's words |
//! | an image that is not base64 or not PNG/JPEG/WebP              | `generation-failed`                      |
//!
//! Each image's type and pixel size are read from its own header (the SDK's
//! `image` module); Google's `mimeType` label is only the fallback. Parts
//! marked `thought` are the model's interim drafts, not the result.
//! Google's REST answers use camelCase; the snake_case spellings are read
//! too, as Google's SDKs do.

use std::borrow::Cow;

use doitong_plugin_sdk::image::{self, ImageFormat};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

/// `finishReason`s that mean Google's filters withheld the image.
const REFUSALS: &[&str] = &[
    "SAFETY",
    "IMAGE_SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_RECITATION",
];

/// A 200 answer. Image data borrows from the body, so a 4K image is not
/// copied before it is decoded.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Answer<'a> {
    /// Absent when the prompt was blocked.
    #[serde(default, borrow)]
    pub candidates: Vec<Candidate<'a>>,
    /// Why the prompt was blocked, if it was.
    #[serde(default, alias = "prompt_feedback")]
    pub prompt_feedback: Option<PromptFeedback>,
}

/// Google's verdict on the prompt.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    /// `SAFETY`, `OTHER`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `IMAGE_SAFETY`, …
    #[serde(default, alias = "block_reason")]
    pub block_reason: Option<String>,
    /// Google's words, when it gives any.
    #[serde(default, alias = "block_reason_message")]
    pub block_reason_message: Option<String>,
}

/// One candidate answer (image models make one).
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Candidate<'a> {
    /// The parts; absent when the candidate was withheld.
    #[serde(default, borrow)]
    pub content: Option<Content<'a>>,
    /// `STOP`, `SAFETY`, `IMAGE_SAFETY`, `NO_IMAGE`, …
    #[serde(default, alias = "finish_reason")]
    pub finish_reason: Option<String>,
    /// Google's explanation of the finish reason, when it gives one.
    #[serde(default, alias = "finish_message")]
    pub finish_message: Option<String>,
}

/// A candidate's content.
#[derive(Deserialize, Debug, Default)]
pub struct Content<'a> {
    /// Text and image parts, in order.
    #[serde(default, borrow)]
    pub parts: Vec<Part<'a>>,
}

/// One part: text, an image, or an interim `thought`.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Part<'a> {
    /// Text the model wrote (a refusal, a caption).
    #[serde(default)]
    pub text: Option<String>,
    /// An image, base64.
    #[serde(default, borrow, alias = "inline_data")]
    pub inline_data: Option<Blob<'a>>,
    /// Set on the model's interim drafts.
    #[serde(default)]
    pub thought: bool,
}

/// Inline media.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Blob<'a> {
    /// Google's label of the type.
    #[serde(default, alias = "mime_type")]
    pub mime_type: Option<String>,
    /// Base64, borrowed from the body unless JSON escapes forced a copy.
    #[serde(borrow)]
    pub data: Cow<'a, str>,
}

/// The artifacts of an answer (see the module table).
pub fn images(answer: Answer) -> Result<Vec<Artifact>, Failure> {
    if let Some(feedback) = &answer.prompt_feedback
        && let Some(reason) = feedback.block_reason.as_deref().filter(|r| !r.is_empty())
    {
        return Err(failure::content_rejected(format!(
            "Google blocked the prompt ({reason}){}",
            words(feedback.block_reason_message.as_deref())
        )));
    }
    let mut artifacts = Vec::new();
    let mut texts = Vec::new();
    let mut reasons = Vec::new();
    for candidate in answer.candidates {
        if let Some(reason) = candidate.finish_reason.filter(|r| !r.is_empty()) {
            reasons.push((reason, candidate.finish_message));
        }
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if part.thought {
                continue;
            }
            if let Some(blob) = part.inline_data {
                artifacts.push(artifact(&blob.data, blob.mime_type.as_deref())?);
            } else if let Some(text) = part.text.filter(|t| !t.trim().is_empty()) {
                texts.push(text);
            }
        }
    }
    if !artifacts.is_empty() {
        return Ok(artifacts);
    }
    let said = if texts.is_empty() { String::new() } else { format!("; the model said: {}", texts.join(" ")) };
    match reasons.into_iter().next() {
        Some((reason, message)) if REFUSALS.contains(&reason.as_str()) => Err(failure::content_rejected(format!(
            "Google's filters withheld the image ({reason}){}{said}",
            words(message.as_deref())
        ))),
        Some((reason, message)) => Err(failure::generation_failed(format!(
            "Google returned no image ({reason}){}{said}",
            words(message.as_deref())
        ))),
        None => Err(failure::generation_failed(format!("Google returned no image{said}"))),
    }
}

/// `: <message>` when Google gave one.
fn words(message: Option<&str>) -> String {
    message.filter(|m| !m.trim().is_empty()).map(|m| format!(": {m}")).unwrap_or_default()
}

/// One decoded image with its type and size read from its header.
fn artifact(encoded: &str, labelled: Option<&str>) -> Result<Artifact, Failure> {
    let bytes = media::decode_base64(encoded)
        .map_err(|e| failure::generation_failed(format!("Google sent an image that is not valid base64: {e}")))?;
    let mime = match ImageFormat::sniff(&bytes) {
        Some(format) => format.mime(),
        None => match labelled {
            Some(label @ ("image/png" | "image/jpeg" | "image/webp")) => label,
            _ => {
                return Err(failure::generation_failed(format!(
                    "Google sent {} bytes that are not a PNG, JPEG or WebP image (labelled {})",
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn answer(body: &str) -> Result<Vec<Artifact>, Failure> {
        images(serde_json::from_str(body).unwrap())
    }

    fn refused(body: &str) -> (FailureCode, String) {
        let failure = answer(body).unwrap_err();
        (failure.code, failure.message)
    }

    #[test]
    fn the_image_comes_back_with_its_own_type_and_size() {
        let body = format!(
            r#"{{"candidates":[{{"content":{{"role":"model","parts":[
                 {{"inlineData":{{"mimeType":"image/png","data":"{}"}}}}]}},"finishReason":"STOP","index":0}}],
                "usageMetadata":{{"promptTokenCount":12,"candidatesTokenCount":1120}}}}"#,
            media::base64(&png(1376, 768))
        );
        assert_eq!(
            answer(&body).unwrap(),
            [Artifact { width: Some(1376), height: Some(768), ..Artifact::from_bytes(png(1376, 768), "image/png") }]
        );
        // Labelled PNG, but a JPEG: the bytes win; snake_case is read too.
        let body = format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":"Here you go."}},
                 {{"inline_data":{{"mime_type":"image/png","data":"{}"}}}}]}}}}]}}"#,
            media::base64(&jpeg(896, 1200))
        );
        let artifacts = answer(&body).unwrap();
        assert_eq!(
            (artifacts[0].mime.as_str(), artifacts[0].width, artifacts[0].height),
            ("image/jpeg", Some(896), Some(1200))
        );
    }

    #[test]
    fn interim_thought_images_are_not_the_result() {
        let body = format!(
            r#"{{"candidates":[{{"content":{{"parts":[
                 {{"thought":true,"inlineData":{{"mimeType":"image/png","data":"{}"}}}},
                 {{"inlineData":{{"mimeType":"image/png","data":"{}"}}}}]}},"finishReason":"STOP"}}]}}"#,
            media::base64(&png(10, 10)),
            media::base64(&png(1024, 1024))
        );
        let artifacts = answer(&body).unwrap();
        assert_eq!(artifacts.len(), 1);
        assert_eq!(artifacts[0].width, Some(1024));
    }

    #[test]
    fn blocked_prompts_and_withheld_images_are_content_rejected() {
        assert_eq!(
            refused(r#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{}}"#),
            (FailureCode::ContentRejected, "Google blocked the prompt (PROHIBITED_CONTENT)".into())
        );
        assert_eq!(
            refused(r#"{"promptFeedback":{"blockReason":"SAFETY","blockReasonMessage":"unsafe prompt"}}"#),
            (FailureCode::ContentRejected, "Google blocked the prompt (SAFETY): unsafe prompt".into())
        );
        assert_eq!(
            refused(r#"{"candidates":[{"finishReason":"IMAGE_SAFETY","finishMessage":"The image was filtered."}]}"#),
            (
                FailureCode::ContentRejected,
                "Google's filters withheld the image (IMAGE_SAFETY): The image was filtered.".into()
            )
        );
        for reason in REFUSALS {
            let body = format!(r#"{{"candidates":[{{"content":{{"parts":[]}},"finishReason":"{reason}"}}]}}"#);
            assert_eq!(refused(&body).0, FailureCode::ContentRejected, "{reason}");
        }
    }

    #[test]
    fn no_image_for_other_reasons_is_a_failed_generation_with_googles_words() {
        assert_eq!(
            refused(
                r#"{"candidates":[{"content":{"parts":[{"text":"I can only make pictures."}]},"finishReason":"NO_IMAGE"}]}"#
            ),
            (
                FailureCode::GenerationFailed,
                "Google returned no image (NO_IMAGE); the model said: I can only make pictures.".into()
            )
        );
        assert_eq!(
            refused(r#"{"candidates":[{"content":{"parts":[{"text":"Sure!"}]},"finishReason":"STOP"}]}"#),
            (FailureCode::GenerationFailed, "Google returned no image (STOP); the model said: Sure!".into())
        );
        assert_eq!(refused("{}"), (FailureCode::GenerationFailed, "Google returned no image".into()));
        assert_eq!(refused(r#"{"candidates":[{"finishReason":"IMAGE_OTHER"}]}"#).0, FailureCode::GenerationFailed);
    }

    #[test]
    fn images_that_are_not_images_fail_the_generation() {
        let bad =
            refused(r#"{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"%%%"}}]}}]}"#);
        assert_eq!(bad.0, FailureCode::GenerationFailed);
        assert!(bad.1.starts_with("Google sent an image that is not valid base64"), "{}", bad.1);
        let gif = format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"inlineData":{{"mimeType":"image/gif","data":"{}"}}}}]}}}}]}}"#,
            media::base64(b"GIF89a\x01\0\x01\0")
        );
        assert_eq!(
            refused(&gif),
            (
                FailureCode::GenerationFailed,
                "Google sent 10 bytes that are not a PNG, JPEG or WebP image (labelled image/gif)".into()
            )
        );
    }
}
