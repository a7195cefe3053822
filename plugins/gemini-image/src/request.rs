//! What Google is sent: the `generateContent` body for a plan, and the
//! checked reference image that goes inline in it.
//!
//! ```json
//! POST /v1beta/models/{model}:generateContent
//! { "contents": [ { "role": "user",
//!                   "parts": [ { "text": "…" },
//!                              { "inlineData": { "mimeType": "image/png", "data": "<base64>" } } ] } ],
//!   "generationConfig": { "responseModalities": ["IMAGE"],
//!                         "imageConfig": { "aspectRatio": "16:9", "imageSize": "2K" } } }
//! ```
//!
//! Field names are the REST API's camelCase, as Google's SDKs send them
//! (the API reads `inline_data`/`mime_type` too). `responseModalities` is
//! `["IMAGE"]`: we want the picture, not the model's commentary, and Google
//! then bills no text output. `aspectRatio` is sent only when the user
//! chose one (Google otherwise picks 1:1, or the reference image's frame);
//! `imageSize` always, because the price depends on it.

use doitong_plugin_sdk::image::{self, ImageFormat};
use doitong_plugin_sdk::prelude::*;
use serde_json::{Value as Json, json};

use crate::catalogue::Plan;

/// Largest reference image we send, in bytes: Google's per-file limit for
/// inline data on its image models' pages (7 MB). Base64 adds a third, so
/// the request stays under 10 MiB.
pub const MAX_REFERENCE_BYTES: usize = 7 * 1024 * 1024;

/// A checked reference image (`input.image`) for editing or guidance.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// The file.
    pub bytes: Vec<u8>,
    /// Its format, read from its header (not from the user's label).
    pub format: ImageFormat,
}

impl Reference {
    /// Check `media` (bytes the host supplied: the offering lists `image`
    /// in `needs-bytes`): a PNG, JPEG or WebP of at most
    /// [`MAX_REFERENCE_BYTES`] whose header reads.
    pub fn of(media: &Media) -> Result<Reference, Failure> {
        let bytes = media
            .bytes
            .clone()
            .ok_or_else(|| failure::invalid_input("input.image: the image's bytes were not supplied"))?;
        let format = ImageFormat::sniff(&bytes).ok_or_else(|| {
            failure::invalid_input(format!(
                "input.image must be a PNG, JPEG or WebP image{}",
                media.mime.as_deref().map(|m| format!("; got {m}")).unwrap_or_default()
            ))
        })?;
        image::size(&bytes)
            .map_err(|e| failure::invalid_input(format!("input.image: unreadable {} header ({e})", format.name())))?;
        if bytes.len() > MAX_REFERENCE_BYTES {
            return Err(failure::invalid_input(format!(
                "input.image is {:.1} MiB; Google takes reference images of at most 7 MiB",
                bytes.len() as f64 / (1024.0 * 1024.0)
            )));
        }
        Ok(Reference { bytes, format })
    }
}

/// The `generateContent` body for `plan`, with `reference` after the prompt.
pub fn body(plan: &Plan, reference: Option<&Reference>) -> Json {
    let mut parts = vec![json!({ "text": plan.prompt })];
    if let Some(reference) = reference {
        parts.push(json!({
            "inlineData": { "mimeType": reference.format.mime(), "data": media::base64(&reference.bytes) }
        }));
    }
    let mut image_config = serde_json::Map::new();
    if let Some(ratio) = &plan.aspect_ratio {
        image_config.insert("aspectRatio".into(), json!(ratio));
    }
    image_config.insert("imageSize".into(), json!(plan.size.name));
    json!({
        "contents": [ { "role": "user", "parts": parts } ],
        "generationConfig": { "responseModalities": ["IMAGE"], "imageConfig": image_config }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::tier;

    /// A PNG's signature and IHDR: enough for its type and size.
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        out
    }

    fn plan(offering: &str, ratio: Option<&str>, size: &str) -> Plan {
        let tier = tier(offering).unwrap();
        Plan {
            tier,
            prompt: "a red bicycle leaning on a brick wall".into(),
            aspect_ratio: ratio.map(str::to_string),
            size: tier.size(size).unwrap(),
        }
    }

    fn media(bytes: Option<Vec<u8>>, mime: Option<&str>) -> Media {
        Media { url: String::new(), mime: mime.map(str::to_string), bytes }
    }

    #[test]
    fn text_to_image_sends_the_prompt_and_the_image_config() {
        assert_eq!(
            body(&plan("gemini-image", Some("16:9"), "2K"), None),
            json!({
                "contents": [ { "role": "user", "parts": [ { "text": "a red bicycle leaning on a brick wall" } ] } ],
                "generationConfig": {
                    "responseModalities": ["IMAGE"],
                    "imageConfig": { "aspectRatio": "16:9", "imageSize": "2K" }
                }
            })
        );
        // No ratio chosen: Google's own choice; the size always goes.
        let config = &body(&plan("gemini-image-pro", None, "1K"), None)["generationConfig"];
        assert_eq!(config["imageConfig"], json!({ "imageSize": "1K" }));
        assert_eq!(
            body(&plan("gemini-image", None, "512"), None)["generationConfig"]["imageConfig"]["imageSize"],
            "512"
        );
    }

    #[test]
    fn a_reference_image_goes_inline_after_the_prompt() {
        let reference = Reference::of(&media(Some(png(640, 480)), Some("image/jpeg"))).unwrap();
        assert_eq!(reference.format, ImageFormat::Png, "the header wins over the label");
        let parts = &body(&plan("gemini-image", None, "1K"), Some(&reference))["contents"][0]["parts"];
        assert_eq!(
            parts,
            &json!([
                { "text": "a red bicycle leaning on a brick wall" },
                { "inlineData": { "mimeType": "image/png", "data": media::base64(&png(640, 480)) } }
            ])
        );
    }

    #[test]
    fn reference_images_google_cannot_read_are_refused() {
        let gif = Reference::of(&media(Some(b"GIF89a\x01\0\x01\0\0\0\0".to_vec()), Some("image/gif"))).unwrap_err();
        assert_eq!(
            (gif.code, gif.message.as_str()),
            (FailureCode::InvalidInput, "input.image must be a PNG, JPEG or WebP image; got image/gif")
        );
        let missing = Reference::of(&media(None, None)).unwrap_err();
        assert_eq!(missing.message, "input.image: the image's bytes were not supplied");
        let cut = Reference::of(&media(Some(png(4, 4)[..12].to_vec()), None)).unwrap_err();
        assert!(cut.message.starts_with("input.image: unreadable png header"), "{}", cut.message);
        let mut big = png(4000, 3000);
        big.resize(MAX_REFERENCE_BYTES + 1, 0);
        let too_big = Reference::of(&media(Some(big), None)).unwrap_err();
        assert_eq!(too_big.message, "input.image is 7.0 MiB; Google takes reference images of at most 7 MiB");
    }
}
