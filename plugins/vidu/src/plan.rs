//! A validated request: the per-model checks the host cannot make from
//! option specs alone, the model's defaults applied, then the exact body
//! and endpoint Vidu gets.
//!
//! `quote` and `submit` both build a [`Plan`], so a combination Vidu would
//! refuse is `INVALID_INPUT` at `generate` time, before any job exists.
//! Every message names the option and lists what is allowed.

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{Map, Value as Json, json};

use crate::catalog::{self, Clip, MAX_INLINE_IMAGE_BYTES, Model};

/// Vidu's two generation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /ent/v2/text2video`.
    Text2video,
    /// `POST /ent/v2/img2video` (start frame).
    Img2video,
}

impl Endpoint {
    /// The path under the API origin.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Text2video => "/ent/v2/text2video",
            Endpoint::Img2video => "/ent/v2/img2video",
        }
    }
}

/// What to send to Vidu for one request.
#[derive(Debug)]
pub struct Plan {
    /// Where to send it.
    pub endpoint: Endpoint,
    /// The JSON body.
    pub body: Json,
    /// The clip it makes, with its price.
    pub clip: Clip,
    /// Typical seconds to a result.
    pub estimated_seconds: u32,
}

impl Plan {
    /// Check `request` against its model and build the body.
    pub fn new(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let model_name = options.text("model").unwrap_or(catalog::DEFAULT_MODEL);
        let model = catalog::model(model_name).ok_or_else(|| {
            failure::invalid_input(format!(
                "option `model` must be one of {}; got {model_name}",
                catalog::model_names(|_| true)
            ))
        })?;
        let clip = model
            .lengths
            .clip(options.integer("duration"), options.text("resolution"))
            .map_err(|why| failure::invalid_input(format!("{why} (model `{}`)", model.name)))?;
        check_extras(model, &options)?;

        let mut body = Map::new();
        body.insert("model".into(), json!(model.name));
        let endpoint = match &request.input.image {
            Some(image) => {
                check_image_to_video(model, &options)?;
                body.insert("images".into(), json!([image_field(image)?]));
                Endpoint::Img2video
            }
            None => {
                check_text_to_video(model, &options)?;
                Endpoint::Text2video
            }
        };
        if let Some(prompt) = request.input.text.as_deref().filter(|p| !p.is_empty()) {
            let chars = prompt.chars().count();
            if chars > model.max_prompt_chars {
                return Err(failure::invalid_input(format!(
                    "input.text has {chars} characters; model `{}` accepts at most {}",
                    model.name, model.max_prompt_chars
                )));
            }
            body.insert("prompt".into(), json!(prompt));
        }
        body.insert("duration".into(), json!(clip.duration_s));
        body.insert("resolution".into(), json!(clip.resolution));
        let fields = [
            ("aspectRatio", "aspect_ratio"),
            ("style", "style"),
            ("motionIntensity", "movement_amplitude"),
            ("seed", "seed"),
            ("bgm", "bgm"),
            ("audio", "audio"),
        ];
        for (option, field) in fields {
            if let Some(value) = options.get(option) {
                body.insert(field.into(), doitong_plugin_sdk::options::to_json(value));
            }
        }
        Ok(Plan { endpoint, body: Json::Object(body), clip, estimated_seconds: model.estimated_seconds })
    }
}

/// Options only some models have.
fn check_extras(model: &Model, options: &Options) -> Result<(), Failure> {
    let refuse = |option: &str, who: fn(&Model) -> bool| {
        failure::invalid_input(format!(
            "option `{option}` is only available with model {}; omit it for model `{}`",
            catalog::model_names(who),
            model.name
        ))
    };
    if !model.motion_and_bgm {
        for option in ["motionIntensity", "bgm"] {
            if options.get(option).is_some() {
                return Err(refuse(option, |m| m.motion_and_bgm));
            }
        }
    }
    if !model.audio && options.get("audio").is_some() {
        return Err(refuse("audio", |m| m.audio));
    }
    if !model.style && options.get("style").is_some() {
        return Err(refuse("style", |m| m.style));
    }
    Ok(())
}

fn check_text_to_video(model: &Model, options: &Options) -> Result<(), Failure> {
    if !model.text_to_video {
        return Err(failure::invalid_input(format!(
            "model `{}` only animates images: send input.image, or choose a text-to-video model for option \
             `model`: {}",
            model.name,
            catalog::model_names(|m| m.text_to_video)
        )));
    }
    match options.text("aspectRatio") {
        Some(ratio) if !model.aspect_ratios.contains(&ratio) => Err(failure::invalid_input(format!(
            "option `aspectRatio` must be one of {} for model `{}`; got {ratio}",
            model.aspect_ratios.join(", "),
            model.name
        ))),
        _ => Ok(()),
    }
}

fn check_image_to_video(model: &Model, options: &Options) -> Result<(), Failure> {
    if !model.image_to_video {
        return Err(failure::invalid_input(format!(
            "model `{}` cannot animate images; allowed values of option `model` with input.image: {}",
            model.name,
            catalog::model_names(|m| m.image_to_video)
        )));
    }
    for option in ["aspectRatio", "style"] {
        if options.get(option).is_some() {
            return Err(failure::invalid_input(format!(
                "option `{option}` applies to text-to-video only (image-to-video follows the image); omit it \
                 when sending input.image"
            )));
        }
    }
    Ok(())
}

/// Vidu's `images[0]`: the user's URL, or a `data:` URI of the inline
/// bytes (PNG, JPEG or WebP, under 10 MB decoded).
fn image_field(image: &Media) -> Result<String, Failure> {
    if !image.url.is_empty() {
        return Ok(image.url.clone());
    }
    let size = image.bytes.as_ref().map_or(0, Vec::len);
    let mime = image.mime.as_deref().unwrap_or("");
    if !matches!(mime, "image/png" | "image/jpeg" | "image/jpg" | "image/webp") {
        return Err(failure::invalid_input(format!(
            "input.image is {}; Vidu accepts image/png, image/jpeg or image/webp",
            if mime.is_empty() { "of unknown type" } else { mime }
        )));
    }
    if size >= MAX_INLINE_IMAGE_BYTES {
        return Err(failure::invalid_input(format!(
            "input.image is {size} bytes; Vidu accepts inline images under {MAX_INLINE_IMAGE_BYTES} bytes (10 MB): \
             send a URL for larger ones"
        )));
    }
    media::data_uri(image).ok_or_else(|| failure::invalid_input("input.image has neither a URL nor data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: Option<&str>, image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        let mut filled = vec![("model".to_string(), Value::Text(catalog::DEFAULT_MODEL.into()))];
        for (name, value) in options {
            match filled.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value.clone(),
                None => filled.push((name.to_string(), value.clone())),
            }
        }
        JobRequest {
            offering: catalog::VIDU.into(),
            kind: MediaKind::Video,
            input: JobInput { text: text.map(Into::into), image, audio: None, video: None, voice: None },
            options: filled,
        }
    }

    fn plan(text: Option<&str>, image: Option<Media>, options: &[(&str, Value)]) -> Result<Plan, Failure> {
        Plan::new(&request(text, image, options))
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn invalid(result: Result<Plan, Failure>) -> String {
        let failure = result.expect_err("refused");
        assert_eq!(failure.code, FailureCode::InvalidInput);
        failure.message
    }

    fn lantern() -> Media {
        Media { url: "https://images.example.com/lantern.png".into(), mime: None, bytes: None }
    }

    #[test]
    fn defaults_make_a_five_second_720p_turbo_clip() {
        let plan = plan(Some("a red sneaker spinning"), None, &[]).unwrap();
        assert_eq!(plan.endpoint, Endpoint::Text2video);
        assert_eq!(
            plan.body,
            json!({ "model": "viduq3-turbo", "prompt": "a red sneaker spinning", "duration": 5, "resolution": "720p" })
        );
        assert_eq!((plan.clip.credits, plan.estimated_seconds), (20, 60));
    }

    #[test]
    fn options_map_to_vidu_fields() {
        let options = [
            ("model", text("viduq1")),
            ("aspectRatio", text("9:16")),
            ("style", text("anime")),
            ("motionIntensity", text("large")),
            ("seed", Value::Integer(42)),
            ("bgm", Value::Flag(true)),
        ];
        let plan = plan(Some("x"), None, &options).unwrap();
        assert_eq!(
            plan.body,
            json!({
                "model": "viduq1", "prompt": "x", "duration": 5, "resolution": "1080p", "aspect_ratio": "9:16",
                "style": "anime", "movement_amplitude": "large", "seed": 42, "bgm": true
            })
        );
        assert_eq!(plan.clip.credits, 40);
        let animated = [("model", text("vidu1.5")), ("duration", Value::Integer(8)), ("bgm", Value::Flag(true))];
        let plan = self::plan(Some("x"), Some(lantern()), &animated).unwrap();
        assert_eq!((plan.body["model"].as_str(), plan.clip.credits), (Some("vidu1.5"), 100));
    }

    #[test]
    fn vidu_1_5_no_longer_makes_text_to_video() {
        let message = invalid(plan(Some("x"), None, &[("model", text("vidu1.5"))]));
        assert!(
            message.contains("only animates images") && message.contains("viduq3-turbo, viduq3-pro, viduq1"),
            "{message}"
        );
    }

    #[test]
    fn images_go_as_url_or_data_uri() {
        let plan_url = plan(Some("lanterns rise"), Some(lantern()), &[("model", text("vidu2.0"))]).unwrap();
        assert_eq!(plan_url.endpoint, Endpoint::Img2video);
        assert_eq!(
            plan_url.body,
            json!({
                "model": "vidu2.0", "images": ["https://images.example.com/lantern.png"], "prompt": "lanterns rise",
                "duration": 4, "resolution": "360p"
            })
        );
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) };
        let plan_inline = plan(Some("x"), Some(inline), &[]).unwrap();
        assert_eq!(plan_inline.body["images"], json!(["data:image/png;base64,AQID"]));
    }

    #[test]
    fn combinations_are_checked_per_model() {
        let cases: [(&[(&str, Value)], &str); 7] = [
            (&[("model", text("viduq1")), ("duration", Value::Integer(8))], "must be one of 5; got 8 (model `viduq1`)"),
            (
                &[("model", text("vidu1.5")), ("duration", Value::Integer(8)), ("resolution", text("1080p"))],
                "must be one of 720p for a 8 s clip",
            ),
            (&[("resolution", text("360p"))], "must be one of 540p, 720p, 1080p"),
            (&[("model", text("viduq1")), ("aspectRatio", text("4:3"))], "must be one of 16:9, 9:16, 1:1"),
            (&[("bgm", Value::Flag(true))], "only available with model viduq1, vidu2.0, vidu1.5"),
            (
                &[("model", text("vidu1.5")), ("audio", Value::Flag(true))],
                "only available with model viduq3-turbo, viduq3-pro",
            ),
            (&[("model", text("vidu2.0"))], "only animates images"),
        ];
        for (options, needle) in cases {
            let message = invalid(plan(Some("x"), None, options));
            assert!(message.contains(needle), "{message:?} should contain {needle:?}");
        }
        let message = invalid(plan(Some("x"), None, &[("style", text("anime"))]));
        assert!(message.contains("only available with model viduq1;"), "{message}");
    }

    #[test]
    fn image_to_video_refuses_text_only_options_and_bad_images() {
        for option in [("aspectRatio", text("1:1")), ("style", text("general"))] {
            let message = invalid(plan(Some("x"), Some(lantern()), &[("model", text("viduq1")), option.clone()]));
            assert!(message.contains("applies to text-to-video only"), "{message}");
        }
        let gif = Media { url: String::new(), mime: Some("image/gif".into()), bytes: Some(vec![1]) };
        assert!(invalid(plan(Some("x"), Some(gif), &[])).contains("image/png, image/jpeg or image/webp"));
        let huge =
            Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![0; MAX_INLINE_IMAGE_BYTES]) };
        assert!(invalid(plan(Some("x"), Some(huge), &[])).contains("send a URL for larger ones"));
    }

    #[test]
    fn prompt_limits_depend_on_the_model() {
        let long = "a".repeat(1501);
        assert!(plan(Some(&long), None, &[]).is_ok());
        let message = invalid(plan(Some(&long), None, &[("model", text("viduq1"))]));
        assert!(message.contains("input.text has 1501 characters; model `viduq1` accepts at most 1500"), "{message}");
    }
}
