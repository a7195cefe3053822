//! The `predictLongRunning` request body, built from a validated job.
//!
//! ```json
//! { "instances": [ { "prompt": "…", "image": { "bytesBase64Encoded": "…", "mimeType": "image/png" } } ],
//!   "parameters": { "aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8, "negativePrompt": "…" } }
//! ```
//!
//! `personGeneration` is left out on purpose: Veo 3.1 accepts exactly one
//! value per mode and region (`allow_all` for text-to-video, `allow_adult`
//! for image-to-video, stricter in some regions) and applies it by default.
//! `sampleCount` is left at Veo's default of one clip.

use doitong_plugin_sdk::media;
use doitong_plugin_sdk::prelude::*;
use serde_json::{Map, Value as Json, json};

use crate::catalog::{
    ASPECT_RATIO, ASPECT_RATIOS, DEFAULT_DURATION, DEFAULT_RESOLUTION, DURATION, NEGATIVE_PROMPT, RESOLUTION,
};

/// Image types Veo takes as a first frame.
const IMAGE_TYPES: &[(&str, &[u8])] = &[("image/png", b"\x89PNG"), ("image/jpeg", b"\xFF\xD8\xFF")];

/// The JSON body for `request`.
pub fn body(request: &JobRequest) -> Result<Json, Failure> {
    let options = Options::of(request);
    let mut instance = Map::new();
    instance.insert("prompt".into(), json!(request.input.text.as_deref().unwrap_or_default()));
    if let Some(image) = &request.input.image {
        instance.insert("image".into(), first_frame(image)?);
    }
    let mut parameters = Map::new();
    parameters.insert("aspectRatio".into(), json!(options.text(ASPECT_RATIO).unwrap_or(ASPECT_RATIOS[0])));
    parameters.insert("resolution".into(), json!(options.text(RESOLUTION).unwrap_or(DEFAULT_RESOLUTION)));
    parameters.insert("durationSeconds".into(), json!(options.integer(DURATION).unwrap_or(DEFAULT_DURATION)));
    if let Some(negative) = options.text(NEGATIVE_PROMPT).filter(|t| !t.trim().is_empty()) {
        parameters.insert("negativePrompt".into(), json!(negative));
    }
    Ok(json!({ "instances": [instance], "parameters": parameters }))
}

/// `{"bytesBase64Encoded", "mimeType"}` for the first frame. The offering
/// declares `needs_bytes`, so the host has fetched URLs already.
fn first_frame(image: &Media) -> Result<Json, Failure> {
    let bytes = image
        .bytes
        .as_deref()
        .ok_or_else(|| failure::invalid_input("input.image: the host did not supply the image's bytes"))?;
    Ok(json!({ "bytesBase64Encoded": media::base64(bytes), "mimeType": image_type(image)? }))
}

/// Check an image whose bytes are already here (a `data:` URI at quote
/// time; every image at submit time).
pub fn check_image(image: &Media) -> Result<(), Failure> {
    match image.bytes {
        Some(_) => image_type(image).map(|_| ()),
        None => Ok(()),
    }
}

/// The image's type from its first bytes (a URL's `Content-Type` or a
/// `data:` URI's label can be wrong; Veo decodes the bytes).
fn image_type(image: &Media) -> Result<&'static str, Failure> {
    let bytes = image.bytes.as_deref().unwrap_or_default();
    IMAGE_TYPES.iter().find(|(_, magic)| bytes.starts_with(magic)).map(|(mime, _)| *mime).ok_or_else(|| {
        failure::invalid_input(format!(
            "input.image: Veo takes {} images only (got {})",
            IMAGE_TYPES.iter().map(|(mime, _)| *mime).collect::<Vec<_>>().join(" or "),
            image.mime.as_deref().unwrap_or("an unrecognised file")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n rest";

    fn request(image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: "veo".into(),
            kind: MediaKind::Video,
            input: JobInput {
                text: Some("A lighthouse in a storm".into()),
                image,
                audio: None,
                video: None,
                voice: None,
            },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn text_to_video_carries_the_options() {
        let options = [
            (DURATION, Value::Integer(6)),
            (RESOLUTION, Value::Text("720p".into())),
            (ASPECT_RATIO, Value::Text("9:16".into())),
            (NEGATIVE_PROMPT, Value::Text("cartoon".into())),
        ];
        let body = body(&request(None, &options)).unwrap();
        assert_eq!(
            body,
            json!({
                "instances": [ { "prompt": "A lighthouse in a storm" } ],
                "parameters": { "aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 6, "negativePrompt": "cartoon" }
            })
        );
    }

    #[test]
    fn image_to_video_inlines_the_first_frame() {
        let image = Media {
            url: "https://example.com/a.png".into(),
            mime: Some("image/png".into()),
            bytes: Some(PNG.to_vec()),
        };
        let body = body(&request(Some(image), &[])).unwrap();
        assert_eq!(
            body["instances"][0]["image"],
            json!({ "bytesBase64Encoded": media::base64(PNG), "mimeType": "image/png" })
        );
        assert_eq!(body["parameters"], json!({ "aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8 }));
        // A mislabelled JPEG is sent as what it is.
        let jpeg =
            Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(b"\xFF\xD8\xFF\xE0".to_vec()) };
        assert_eq!(super::body(&request(Some(jpeg), &[])).unwrap()["instances"][0]["image"]["mimeType"], "image/jpeg");
    }

    #[test]
    fn unsupported_images_are_refused() {
        let gif = Media { url: String::new(), mime: Some("image/gif".into()), bytes: Some(b"GIF89a".to_vec()) };
        assert_eq!(check_image(&gif).unwrap_err().code, FailureCode::InvalidInput);
        let failure = body(&request(Some(gif), &[])).unwrap_err();
        assert_eq!(failure.code, FailureCode::InvalidInput);
        assert!(failure.message.contains("image/png or image/jpeg") && failure.message.contains("image/gif"));
        let linked = Media { url: "https://example.com/a.gif".into(), mime: None, bytes: None };
        assert!(check_image(&linked).is_ok(), "URLs are checked once the host fetched them");
    }
}
