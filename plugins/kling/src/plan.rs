//! A validated request: the checks the host cannot make from option specs
//! alone (combinations of model, mode, inputs and options), then the exact
//! body and endpoint Kling gets.
//!
//! `quote` and `submit` both build a [`Plan`], so a combination Kling would
//! refuse is `INVALID_INPUT` at `generate` time, before any job exists.
//! Every message names the option and lists what is allowed.

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{Map, Value as Json, json};
use serde::{Deserialize, Serialize};

use crate::catalog::{self, MAX_IMAGE_BYTES, MAX_PROMPT_CHARS, Model, Tiers};

/// Kling's two generation endpoints; also where a task is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `/v1/videos/text2video`.
    Text2video,
    /// `/v1/videos/image2video`.
    Image2video,
}

impl Endpoint {
    /// The path under the API origin, e.g. `/v1/videos/text2video`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Text2video => "/v1/videos/text2video",
            Endpoint::Image2video => "/v1/videos/image2video",
        }
    }
}

/// What to send to Kling for one request.
#[derive(Debug)]
pub struct Plan {
    /// Where to send it.
    pub endpoint: Endpoint,
    /// The built-in `model_name` of the chosen model (`submit` replaces it
    /// in [`Plan::body`] with the operator's setting, if any).
    pub model: &'static str,
    /// The JSON body.
    pub body: Json,
    /// Credits the request costs.
    pub credits: u32,
    /// Typical seconds to a result.
    pub estimated_seconds: u32,
}

impl Plan {
    /// Check `request` against what its model can do and build the body.
    /// `offering` prices it by its rules.
    pub fn new(request: &JobRequest, offering: &Offering) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let model_name = options.text("model").unwrap_or(catalog::DEFAULT_MODEL);
        let model = catalog::model(model_name).ok_or_else(|| {
            failure::invalid_input(format!(
                "option `model` must be one of {}; got {model_name}",
                catalog::model_names(|_| true)
            ))
        })?;
        let pro = tier(model, options.text("mode").unwrap_or("std"))?;
        let duration_s = options.integer("duration").unwrap_or(5);
        let sound = options.flag("sound").unwrap_or(false);
        check_sound(model, pro, sound)?;

        let mut body = Map::new();
        body.insert("model_name".into(), json!(model.name));
        let endpoint = match &request.input.image {
            Some(image) => {
                check_image_to_video(model, &options)?;
                body.insert("image".into(), json!(image_field(image)?));
                Endpoint::Image2video
            }
            None => {
                check_text_to_video(model)?;
                if let Some(ratio) = options.text("aspectRatio") {
                    body.insert("aspect_ratio".into(), json!(ratio));
                }
                Endpoint::Text2video
            }
        };
        if let Some(prompt) = request.input.text.as_deref().filter(|p| !p.is_empty()) {
            check_length("input.text", prompt)?;
            body.insert("prompt".into(), json!(prompt));
        }
        if let Some(negative) = options.text("negativePrompt").filter(|p| !p.is_empty()) {
            check_length("option `negativePrompt`", negative)?;
            body.insert("negative_prompt".into(), json!(negative));
        }
        if let Tiers::StdPro { .. } = model.tiers {
            body.insert("mode".into(), json!(if pro { "pro" } else { "std" }));
        }
        body.insert("duration".into(), json!(duration_s.to_string()));
        if model.sound_tenths_per_5s.is_some() {
            body.insert("sound".into(), json!(if sound { "on" } else { "off" }));
        }
        Ok(Plan {
            model: model.name,
            endpoint,
            body: Json::Object(body),
            credits: spec::price(offering, &request.options),
            estimated_seconds: catalog::estimated_seconds(&model.tiers, pro, duration_s as u32),
        })
    }
}

/// Whether the request runs in the `pro` tier; master models accept only
/// the default `std`, since they have a single tier.
fn tier(model: &Model, mode: &str) -> Result<bool, Failure> {
    match (model.tiers, mode) {
        (Tiers::StdPro { .. }, mode) => Ok(mode == "pro"),
        (Tiers::Single { .. }, "std") => Ok(false),
        (Tiers::Single { .. }, other) => Err(failure::invalid_input(format!(
            "option `mode` must be std for model `{}`, which has a single quality tier (got {other}); \
             models with a pro mode: {}",
            model.name,
            catalog::model_names(|m| matches!(m.tiers, Tiers::StdPro { .. }))
        ))),
    }
}

fn check_sound(model: &Model, pro: bool, sound: bool) -> Result<(), Failure> {
    if !sound {
        return Ok(());
    }
    if model.sound_tenths_per_5s.is_none() {
        return Err(failure::invalid_input(format!(
            "option `sound` is only available with model {} (mode pro); model `{}` makes silent video, \
             so sound must be false",
            catalog::model_names(|m| m.sound_tenths_per_5s.is_some()),
            model.name
        )));
    }
    if !pro {
        return Err(failure::invalid_input(format!(
            "option `sound` needs option `mode` pro with model `{}`: allowed values of mode with sound: pro",
            model.name
        )));
    }
    Ok(())
}

fn check_text_to_video(model: &Model) -> Result<(), Failure> {
    if model.text_to_video {
        return Ok(());
    }
    Err(failure::invalid_input(format!(
        "model `{}` only animates images: send input.image, or choose a text-to-video model for option \
         `model`: {}",
        model.name,
        catalog::model_names(|m| m.text_to_video)
    )))
}

fn check_image_to_video(model: &Model, options: &Options) -> Result<(), Failure> {
    if !model.image_to_video {
        return Err(failure::invalid_input(format!(
            "model `{}` cannot animate images; allowed values of option `model` with input.image: {}",
            model.name,
            catalog::model_names(|m| m.image_to_video)
        )));
    }
    if options.text("aspectRatio").is_some() {
        return Err(failure::invalid_input(
            "option `aspectRatio` applies to text-to-video only: image-to-video keeps the image's aspect \
             ratio, so omit it when sending input.image",
        ));
    }
    Ok(())
}

fn check_length(what: &str, text: &str) -> Result<(), Failure> {
    let chars = text.chars().count();
    if chars <= MAX_PROMPT_CHARS {
        return Ok(());
    }
    Err(failure::invalid_input(format!("{what} has {chars} characters; Kling accepts at most {MAX_PROMPT_CHARS}")))
}

/// Kling's `image`: the user's URL as given, or the inline bytes as plain
/// base64 (Kling wants no `data:` prefix), JPEG or PNG of at most 10 MB.
fn image_field(image: &Media) -> Result<String, Failure> {
    if !image.url.is_empty() {
        return Ok(image.url.clone());
    }
    let bytes =
        image.bytes.as_deref().ok_or_else(|| failure::invalid_input("input.image has neither a URL nor data"))?;
    let mime = image.mime.as_deref().unwrap_or("");
    if !matches!(mime, "image/jpeg" | "image/jpg" | "image/png") {
        return Err(failure::invalid_input(format!(
            "input.image is {}; Kling accepts image/jpeg or image/png",
            if mime.is_empty() { "of unknown type" } else { mime }
        )));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(failure::invalid_input(format!(
            "input.image is {} bytes; Kling accepts at most {MAX_IMAGE_BYTES} bytes (10 MB)",
            bytes.len()
        )));
    }
    Ok(media::base64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{KLING, KLING_ANIMATION, offerings};

    fn offering(id: &str) -> Offering {
        offerings().into_iter().find(|o| o.id == id).unwrap()
    }

    /// A request as the host passes it: defaults filled in, then `options`.
    fn request(id: &str, text: Option<&str>, image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        let filled = spec::with_defaults(&offering(id), options);
        JobRequest {
            offering: id.into(),
            kind: MediaKind::Video,
            input: JobInput { text: text.map(Into::into), image, audio: None, video: None, voice: None },
            options: filled,
        }
    }

    fn plan(id: &str, text: Option<&str>, image: Option<Media>, options: &[(&str, Value)]) -> Result<Plan, Failure> {
        Plan::new(&request(id, text, image, options), &offering(id))
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn url_image() -> Media {
        Media { url: "https://images.example.com/cat.png".into(), mime: Some("image/png".into()), bytes: None }
    }

    fn invalid(result: Result<Plan, Failure>) -> String {
        let failure = result.expect_err("refused");
        assert_eq!(failure.code, FailureCode::InvalidInput);
        failure.message
    }

    #[test]
    fn defaults_make_a_standard_turbo_text_to_video() {
        let plan = plan(KLING, Some("a paper boat"), None, &[]).unwrap();
        assert_eq!(plan.endpoint, Endpoint::Text2video);
        assert_eq!(
            plan.body,
            json!({ "model_name": "kling-v2-5-turbo", "prompt": "a paper boat", "mode": "std", "duration": "5" })
        );
        assert_eq!((plan.credits, plan.estimated_seconds), (21, 90));
    }

    #[test]
    fn the_portal_snippet_is_pro_ten_seconds_wide() {
        let options = [("mode", text("pro")), ("duration", Value::Integer(10)), ("aspectRatio", text("16:9"))];
        let plan = plan(KLING, Some("Epic space battle scene"), None, &options).unwrap();
        assert_eq!(
            plan.body,
            json!({
                "model_name": "kling-v2-5-turbo", "prompt": "Epic space battle scene", "aspect_ratio": "16:9",
                "mode": "pro", "duration": "10"
            })
        );
        assert_eq!((plan.credits, plan.estimated_seconds), (70, 360));
    }

    #[test]
    fn every_option_maps_to_its_field() {
        let options = [("model", text("kling-v3")), ("negativePrompt", text("blurry")), ("aspectRatio", text("9:16"))];
        let plan = plan(KLING, Some("a fox"), None, &options).unwrap();
        assert_eq!(plan.model, "kling-v3");
        assert_eq!(
            plan.body,
            json!({
                "model_name": "kling-v3", "aspect_ratio": "9:16", "prompt": "a fox", "negative_prompt": "blurry",
                "mode": "std", "duration": "5", "sound": "off"
            })
        );
    }

    #[test]
    fn retired_models_are_refused() {
        let message = invalid(plan(KLING, Some("x"), None, &[("model", text("kling-v1-6"))]));
        assert!(message.contains("kling-v2-5-turbo, kling-v2-6, kling-v3; got kling-v1-6"), "{message}");
    }

    #[test]
    fn sound_needs_2_6_in_pro_and_is_sent_only_to_2_6() {
        let silent = plan(KLING, Some("x"), None, &[("model", text("kling-v2-6"))]).unwrap();
        assert_eq!(silent.body["sound"], "off");
        let loud = [("model", text("kling-v2-6")), ("mode", text("pro")), ("sound", Value::Flag(true))];
        let loud = plan(KLING, Some("x"), None, &loud).unwrap();
        assert_eq!((loud.body["sound"].as_str(), loud.credits), (Some("on"), 70));
        let message =
            invalid(plan(KLING, Some("x"), None, &[("model", text("kling-v2-6")), ("sound", Value::Flag(true))]));
        assert!(message.contains("allowed values of mode with sound: pro"), "{message}");
        let message = invalid(plan(KLING, Some("x"), None, &[("sound", Value::Flag(true))]));
        assert!(message.contains("only available with model kling-v2-6, kling-v3"), "{message}");
    }

    #[test]
    fn images_go_as_url_or_bare_base64() {
        let plan_url = plan(KLING_ANIMATION, None, Some(url_image()), &[]).unwrap();
        assert_eq!(
            plan_url.body,
            json!({
                "model_name": "kling-v2-5-turbo", "image": "https://images.example.com/cat.png", "mode": "std",
                "duration": "5"
            })
        );
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) };
        let plan_inline = plan(KLING, Some("wave"), Some(inline), &[]).unwrap();
        assert_eq!(plan_inline.body["image"], "AQID");
        assert_eq!(plan_inline.body["prompt"], "wave");
    }

    #[test]
    fn image_to_video_refuses_aspect_ratio_and_bad_images() {
        let message = invalid(plan(KLING, Some("x"), Some(url_image()), &[("aspectRatio", text("1:1"))]));
        assert!(message.contains("option `aspectRatio` applies to text-to-video only"), "{message}");
        let gif = Media { url: String::new(), mime: Some("image/gif".into()), bytes: Some(vec![1]) };
        assert!(invalid(plan(KLING, Some("x"), Some(gif), &[])).contains("image/jpeg or image/png"));
        let huge =
            Media { url: String::new(), mime: Some("image/jpeg".into()), bytes: Some(vec![0; MAX_IMAGE_BYTES + 1]) };
        assert!(invalid(plan(KLING, Some("x"), Some(huge), &[])).contains("at most 10485760 bytes"));
    }

    #[test]
    fn long_prompts_are_refused() {
        let long = "a".repeat(MAX_PROMPT_CHARS + 1);
        assert!(invalid(plan(KLING, Some(&long), None, &[])).contains("input.text has 2501 characters"));
        let negative = [("negativePrompt", text(&long))];
        assert!(invalid(plan(KLING, Some("x"), None, &negative)).contains("option `negativePrompt` has 2501"));
    }

    #[test]
    fn endpoints_round_trip_through_handles() {
        assert_eq!(serde_json::to_string(&Endpoint::Image2video).unwrap(), "\"image2video\"");
        assert_eq!(Endpoint::Text2video.path(), "/v1/videos/text2video");
    }
}
