//! MiniMax's image generation on the wire: the request body, the images in
//! the answer, and the one synchronous exchange.
//!
//! ```json
//! POST /v1/image_generation
//! {"model":"image-01","prompt":"…","aspect_ratio":"16:9","response_format":"url","n":2,
//!  "prompt_optimizer":false,"aigc_watermark":false}
//! → {"id":"…","data":{"image_urls":["https://….jpeg", …]},
//!    "metadata":{"success_count":"2","failed_count":"0"},"base_resp":{"status_code":0,"status_msg":"success"}}
//! ```
//!
//! Errors come as `base_resp` codes (usually under HTTP 200) and are mapped
//! as for video, by [`request_failure`]:
//! 1026/1027 are moderation, 1002 a rate limit, 1004/2049 a refused key, …
//! The answer itself:
//!
//! | answer                                        | outcome                                      |
//! |-----------------------------------------------|----------------------------------------------|
//! | `image_urls` with at least one URL            | done: one `url` artifact per image, re-hosted by the host at once (the links expire after 24 h) |
//! | no URL, `failed_count` above 0                | `content-rejected`: the safety filter withheld every image |
//! | no URL, nothing failed                        | `generation-failed`                          |
//!
//! Counts come as strings (`"1"`) or integers, under `metadata` or (as the
//! official CLI types them) under `data`; both are read. Images are asked
//! for as URLs, not base64: a nine-image answer stays small, and the host
//! streams each file to storage and reads its pixel size from the file.

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::Value as Json;
use serde::{Deserialize, Deserializer, Serialize};

use super::catalogue::{Frame, Plan};
use crate::api::{API, BaseResp, exchange, request_failure};

/// The type of the images MiniMax renders (its links end in `.jpeg`), for
/// links whose extension says nothing.
pub const DEFAULT_MIME: &str = "image/jpeg";

/// `POST /v1/image_generation`.
#[derive(Serialize, Debug)]
pub struct ImageBody<'a> {
    model: String,
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aspect_ratio: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<i64>,
    response_format: &'static str,
    n: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    prompt_optimizer: bool,
    aigc_watermark: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_reference: Option<[SubjectReference; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    style: Option<StyleBody>,
}

/// A character reference: the person in the image is kept.
#[derive(Serialize, Debug)]
struct SubjectReference {
    #[serde(rename = "type")]
    kind: &'static str,
    /// An https URL or a `data:image/…;base64,…` URI, as the user gave it.
    image_file: String,
}

/// image-01-live's style.
#[derive(Serialize, Debug)]
struct StyleBody {
    style_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    style_weight: Option<f64>,
}

impl<'a> ImageBody<'a> {
    /// The body for a checked request; `input.image`, if any, is the
    /// character reference.
    pub fn new(plan: &'a Plan, input: &JobInput) -> Self {
        let (aspect_ratio, width, height) = match plan.frame {
            Frame::Ratio(ratio) => (Some(ratio), None, None),
            Frame::Pixels { width, height } => (None, Some(width), Some(height)),
        };
        ImageBody {
            model: plan.model.name().to_string(),
            prompt: &plan.prompt,
            aspect_ratio,
            width,
            height,
            response_format: "url",
            n: plan.count,
            seed: plan.seed,
            prompt_optimizer: plan.prompt_optimizer,
            aigc_watermark: plan.watermark,
            subject_reference: input
                .image
                .as_ref()
                .and_then(media::url_or_data_uri)
                .map(|image_file| [SubjectReference { kind: "character", image_file }]),
            style: plan
                .style
                .map(|(style, weight)| StyleBody { style_type: style.vendor_name(), style_weight: weight }),
        }
    }
}

/// Answer to `POST /v1/image_generation`.
#[derive(Deserialize, Debug, Default)]
pub struct ImageAnswer {
    /// The images, when there are any.
    #[serde(default)]
    pub data: Option<ImageData>,
    /// How many images were made and withheld.
    #[serde(default)]
    pub metadata: Option<Counts>,
    /// The call's result.
    #[serde(default)]
    pub base_resp: BaseResp,
}

/// `data` of an answer.
#[derive(Deserialize, Debug, Default)]
pub struct ImageData {
    /// One link per image made.
    #[serde(default)]
    pub image_urls: Option<Vec<String>>,
    /// Counts, where the official CLI expects them.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Image counts, as strings or integers.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq)]
pub struct Counts {
    /// Images made.
    #[serde(default, deserialize_with = "count")]
    pub success_count: Option<u64>,
    /// Images the safety filter withheld.
    #[serde(default, deserialize_with = "count")]
    pub failed_count: Option<u64>,
}

/// The artifacts of an answer (see the module table).
pub fn images(answer: ImageAnswer) -> Result<Vec<Artifact>, Failure> {
    if answer.base_resp.status_code != 0 {
        return Err(image_failure(&answer.base_resp));
    }
    let data = answer.data.unwrap_or_default();
    let counts = answer.metadata.unwrap_or_default();
    let failed = counts.failed_count.or(data.counts.failed_count).unwrap_or(0);
    let urls: Vec<String> = data.image_urls.unwrap_or_default().into_iter().filter(|u| !u.trim().is_empty()).collect();
    if urls.is_empty() {
        return Err(if failed > 0 {
            failure::content_rejected(format!("MiniMax's safety filter withheld every image ({failed} failed)"))
        } else {
            failure::generation_failed("MiniMax reported success but returned no image")
        });
    }
    Ok(urls.into_iter().map(|url| Artifact::from_url(url.clone(), mime_of(&url))).collect())
}

/// The image type a link's extension names; [`DEFAULT_MIME`] otherwise.
pub fn mime_of(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    let extension = file.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => DEFAULT_MIME,
    }
}

/// The failure for a refused image request: MiniMax saying the model is
/// unknown, unsupported or retired (any code whose `status_msg` names the
/// model so) is `model-unavailable`; the rest as the video API's
/// [`request_failure`].
pub fn image_failure(base: &BaseResp) -> Failure {
    let failure = request_failure(base);
    let lowered = failure.message.to_ascii_lowercase();
    let model_gone = lowered.contains("model")
        && ["not support", "not exist", "not found", "invalid model", "deprecated", "no longer"]
            .iter()
            .any(|w| lowered.contains(w));
    if model_gone { failure::model_unavailable(failure.message) } else { failure }
}

/// `body` with the model id the operator's settings resolve: setting
/// `model.minimax-image` replaces image-01 (the default), and
/// `model.minimax-image.image-01-live` replaces image-01-live.
pub fn with_resolved_model<'a>(body: ImageBody<'a>, plan: &Plan) -> ImageBody<'a> {
    ImageBody { model: model_id(&plan.model.setting_key(), plan.model.name()), ..body }
}

/// Generate: one exchange, the images' links in the answer.
pub fn generate(key: &str, body: &ImageBody) -> Result<Vec<Artifact>, Failure> {
    let answer: ImageAnswer = exchange(http::post(format!("{API}/v1/image_generation")).bearer(key).json(body))?;
    images(answer)
}

/// Counts come as `"2"` or `2`.
fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Json>::deserialize(deserializer)? {
        Some(Json::String(text)) => text.trim().parse().ok(),
        Some(Json::Number(number)) => number.as_u64(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::catalogue::{ImageModel, Style};
    use doitong_plugin_sdk::serde_json::{self, json};

    fn plan() -> Plan {
        Plan {
            model: ImageModel::Image01,
            prompt: "a paper crane on a wooden desk, soft morning light".into(),
            frame: Frame::Ratio("16:9"),
            count: 2,
            seed: None,
            prompt_optimizer: false,
            watermark: false,
            style: None,
        }
    }

    fn input(image: Option<Media>) -> JobInput {
        JobInput { text: Some("x".into()), image, audio: None, video: None, voice: None }
    }

    fn answer(body: Json) -> Result<Vec<Artifact>, Failure> {
        images(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn the_body_mirrors_minimaxs_fields() {
        let plan = plan();
        assert_eq!(
            serde_json::to_value(ImageBody::new(&plan, &input(None))).unwrap(),
            json!({
                "model": "image-01",
                "prompt": "a paper crane on a wooden desk, soft morning light",
                "aspect_ratio": "16:9",
                "response_format": "url",
                "n": 2,
                "prompt_optimizer": false,
                "aigc_watermark": false
            })
        );
    }

    #[test]
    fn sizes_seeds_styles_and_references_are_sent_as_minimax_names_them() {
        let mut exact = plan();
        exact.frame = Frame::Pixels { width: 1536, height: 512 };
        exact.seed = Some(42);
        exact.watermark = true;
        let reference = Media { url: "https://img.example/face.jpg".into(), mime: None, bytes: None };
        let body = serde_json::to_value(ImageBody::new(&exact, &input(Some(reference)))).unwrap();
        assert_eq!(
            (body["width"].as_i64(), body["height"].as_i64(), body.get("aspect_ratio")),
            (Some(1536), Some(512), None)
        );
        assert_eq!((body["seed"].as_i64(), body["aigc_watermark"].as_bool()), (Some(42), Some(true)));
        assert_eq!(
            body["subject_reference"],
            json!([{ "type": "character", "image_file": "https://img.example/face.jpg" }])
        );

        let mut live = plan();
        live.model = ImageModel::Image01Live;
        live.style = Some((Style::Medieval, None));
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) };
        let body = serde_json::to_value(ImageBody::new(&live, &input(Some(inline)))).unwrap();
        assert_eq!(
            (body["model"].as_str(), body["style"].clone()),
            (Some("image-01-live"), json!({ "style_type": "中世纪" }))
        );
        assert_eq!(body["subject_reference"][0]["image_file"], "data:image/png;base64,AQID");
        live.style = Some((Style::Comic, Some(0.6)));
        let body = serde_json::to_value(ImageBody::new(&live, &input(None))).unwrap();
        assert_eq!(body["style"], json!({ "style_type": "漫画", "style_weight": 0.6 }));
        assert_eq!(body.get("subject_reference"), None);
    }

    #[test]
    fn every_link_becomes_an_artifact() {
        let artifacts = answer(json!({
            "id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "data": { "image_urls": ["https://cdn.example/img/0001.jpeg", "https://cdn.example/img/0002.png?Expires=1"] },
            "metadata": { "success_count": "2", "failed_count": "0" },
            "base_resp": { "status_code": 0, "status_msg": "success" }
        }))
        .unwrap();
        assert_eq!(
            artifacts,
            [
                Artifact::from_url("https://cdn.example/img/0001.jpeg", "image/jpeg"),
                Artifact::from_url("https://cdn.example/img/0002.png?Expires=1", "image/png"),
            ]
        );
    }

    #[test]
    fn withheld_images_are_moderation_and_empty_answers_failures() {
        // Some withheld: the rest are delivered.
        let partial = json!({
            "data": { "image_urls": ["https://cdn.example/a.jpeg"] },
            "metadata": { "success_count": 1, "failed_count": 2 },
            "base_resp": { "status_code": 0 }
        });
        assert_eq!(answer(partial).unwrap().len(), 1);
        // All withheld, counts as strings under metadata or integers under data.
        for body in [
            json!({ "data": { "image_urls": [] }, "metadata": { "success_count": "0", "failed_count": "3" }, "base_resp": { "status_code": 0 } }),
            json!({ "data": { "success_count": 0, "failed_count": 3 }, "base_resp": { "status_code": 0 } }),
        ] {
            let failure = answer(body).unwrap_err();
            assert_eq!((failure.code, failure.retryable), (FailureCode::ContentRejected, false));
            assert_eq!(failure.message, "MiniMax's safety filter withheld every image (3 failed)");
        }
        let empty = answer(json!({ "data": null, "base_resp": { "status_code": 0 } })).unwrap_err();
        assert_eq!(
            (empty.code, empty.message.as_str()),
            (FailureCode::GenerationFailed, "MiniMax reported success but returned no image")
        );
    }

    #[test]
    fn refusals_fail_by_code() {
        let cases = [
            (1026, FailureCode::ContentRejected),
            (1004, FailureCode::Unauthorized),
            (1002, FailureCode::RateLimited),
            (2013, FailureCode::InvalidInput),
        ];
        for (code, expected) in cases {
            let failure = answer(json!({ "base_resp": { "status_code": code, "status_msg": "why" } })).unwrap_err();
            assert_eq!((failure.code, failure.message.clone()), (expected, format!("MiniMax error {code}: why")));
        }
    }

    #[test]
    fn link_types_come_from_the_extension() {
        assert_eq!(mime_of("https://x.bcebos.com/a/b.PNG?auth=1.2.jpeg"), "image/png");
        assert_eq!(mime_of("https://x/b.webp#frag"), "image/webp");
        assert_eq!(mime_of("https://x/b.jpg"), "image/jpeg");
        assert_eq!(mime_of("https://x.example.png/noext"), "image/jpeg");
    }

    #[test]
    fn unknown_models_are_model_unavailable() {
        let gone = answer(
            json!({ "base_resp": { "status_code": 2013, "status_msg": "invalid params, model image-00 not support" } }),
        )
        .unwrap_err();
        assert_eq!(gone.code, FailureCode::ModelUnavailable);
        let other =
            answer(json!({ "base_resp": { "status_code": 2013, "status_msg": "invalid params, prompt too long" } }))
                .unwrap_err();
        assert_eq!(other.code, FailureCode::InvalidInput);
    }
}
