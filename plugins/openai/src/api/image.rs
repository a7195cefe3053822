//! `POST /v1/images/generations` for the GPT image models: a JSON body,
//! answered with the image as base64 (`data[0].b64_json`) in the same
//! response. `response_format` is never sent (DALL·E only); an answer with
//! a `url` instead (an OpenAI-compatible gateway, say) is taken too, and
//! the host downloads it at once.

use doitong_plugin_sdk::image::{self, ImageFormat};
use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use super::post;
use crate::catalogue::image::Plan;

/// The request body.
#[derive(Serialize, Debug, PartialEq)]
pub struct Body<'a> {
    model: String,
    prompt: &'a str,
    /// One image per generation.
    n: u8,
    size: String,
    quality: &'static str,
    output_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_compression: Option<u8>,
    background: &'static str,
    moderation: &'static str,
}

impl<'a> Body<'a> {
    /// The body for a checked request.
    pub fn new(plan: &'a Plan) -> Self {
        Body {
            model: plan.model.name().to_string(),
            prompt: &plan.prompt,
            n: 1,
            size: plan.shape.size(),
            quality: plan.quality.name(),
            output_format: plan.format.name(),
            output_compression: plan.compression,
            background: plan.background,
            moderation: plan.moderation,
        }
    }
}

/// The answer (every field but `created` is optional in OpenAI's types).
#[derive(Deserialize, Debug, Default)]
struct Answer {
    #[serde(default)]
    data: Vec<Item>,
}

#[derive(Deserialize, Debug, Default)]
struct Item {
    #[serde(default)]
    b64_json: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Generate one image.
pub fn generate(key: &str, plan: &Plan) -> Result<Artifact, Failure> {
    let body = Body { model: plan.vendor_model(), ..Body::new(plan) };
    let response = post(key, "/v1/images/generations", "application/json", &body)?;
    read_answer(&response, plan)
}

/// The artifact in a 2xx answer: the decoded image with the type and size
/// its header gives (the requested size when it cannot be read).
pub fn read_answer(response: &http::Response, plan: &Plan) -> Result<Artifact, Failure> {
    let answer: Answer = http::decode_json(response)?;
    let item = answer.data.into_iter().next().unwrap_or_default();
    let (width, height) = plan.shape.pixels();
    if let Some(encoded) = item.b64_json.filter(|b| !b.is_empty()) {
        let bytes = media::decode_base64(&encoded)
            .map_err(|e| failure::generation_failed(format!("OpenAI's image is not valid base64: {e}")))?;
        let format = ImageFormat::sniff(&bytes)
            .ok_or_else(|| failure::generation_failed("OpenAI's answer holds no PNG, JPEG or WebP image"))?;
        let (width, height) = image::size(&bytes).unwrap_or((width, height));
        return Ok(Artifact { width: Some(width), height: Some(height), ..Artifact::from_bytes(bytes, format.mime()) });
    }
    match item.url.filter(|u| !u.is_empty()) {
        Some(url) => {
            Ok(Artifact { width: Some(width), height: Some(height), ..Artifact::from_url(url, plan.format.mime()) })
        }
        None => Err(failure::generation_failed("OpenAI answered without an image")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::image::{ImageFormat, Model, Quality, Shape};
    use doitong_plugin_sdk::serde_json::json;

    /// A real 1x1 PNG (from the vendor notes).
    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

    fn plan() -> Plan {
        Plan {
            model: Model::GptImage1,
            prompt: "A red bicycle leaning on a brick wall".into(),
            shape: Shape::Square,
            quality: Quality::Low,
            format: ImageFormat::Png,
            compression: None,
            background: "auto",
            moderation: "auto",
        }
    }

    fn answer(body: serde_json::Value) -> http::Response {
        http::Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn bodies_mirror_openais_fields() {
        let plan = plan();
        assert_eq!(
            serde_json::to_value(Body::new(&plan)).unwrap(),
            json!({
                "model": "gpt-image-1",
                "prompt": "A red bicycle leaning on a brick wall",
                "n": 1,
                "size": "1024x1024",
                "quality": "low",
                "output_format": "png",
                "background": "auto",
                "moderation": "auto"
            })
        );
        let webp = Plan {
            shape: Shape::Landscape,
            format: ImageFormat::Webp,
            compression: Some(70),
            background: "transparent",
            moderation: "low",
            ..plan
        };
        let body = serde_json::to_value(Body::new(&webp)).unwrap();
        assert_eq!((body["size"].as_str(), body["output_compression"].as_u64()), (Some("1536x1024"), Some(70)));
        assert_eq!((body["background"].as_str(), body["moderation"].as_str()), (Some("transparent"), Some("low")));
        assert_eq!(body.get("response_format"), None, "DALL·E only");
    }

    #[test]
    fn base64_images_become_inline_artifacts_with_their_header_size() {
        let response = answer(json!({
            "created": 1767225600,
            "data": [{ "b64_json": PNG_1X1 }],
            "output_format": "png", "quality": "low", "size": "1024x1024",
            "usage": { "input_tokens": 12, "output_tokens": 272, "total_tokens": 284 }
        }));
        let artifact = read_answer(&response, &plan()).unwrap();
        assert_eq!(artifact.bytes.unwrap(), media::decode_base64(PNG_1X1).unwrap());
        assert_eq!((artifact.mime.as_str(), artifact.width, artifact.height), ("image/png", Some(1), Some(1)));
    }

    #[test]
    fn url_answers_and_empty_answers() {
        let linked =
            read_answer(&answer(json!({ "data": [{ "url": "https://cdn.example/i.png" }] })), &plan()).unwrap();
        assert_eq!(linked.url.as_deref(), Some("https://cdn.example/i.png"));
        assert_eq!((linked.width, linked.height, linked.mime.as_str()), (Some(1024), Some(1024), "image/png"));
        let empty = read_answer(&answer(json!({ "created": 1, "data": [] })), &plan()).unwrap_err();
        assert_eq!(
            (empty.code, empty.message.as_str()),
            (FailureCode::GenerationFailed, "OpenAI answered without an image")
        );
        let garbage = read_answer(&answer(json!({ "data": [{ "b64_json": "aGVsbG8=" }] })), &plan()).unwrap_err();
        assert_eq!(garbage.message, "OpenAI's answer holds no PNG, JPEG or WebP image");
        let broken = read_answer(&answer(json!({ "data": [{ "b64_json": "!!" }] })), &plan()).unwrap_err();
        assert_eq!(broken.code, FailureCode::GenerationFailed);
    }
}
