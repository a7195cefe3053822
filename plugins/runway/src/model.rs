//! Runway's video models as the `model` option names them, and the rules
//! that turn a validated request into one Runway request.
//!
//! The host has already checked every option against the offering's specs
//! (names, kinds, allowed values, ranges); what is left here are the rules
//! that depend on two things at once: which model takes which inputs,
//! durations and ratios. [`plan`] applies them and fails with an
//! `invalid-input` naming the option and listing what that model allows.
//!
//! | `model` | Runway model  | text-to-video | image-to-video | `duration` | `aspectRatio`            | credits/s |
//! |---------|---------------|---------------|----------------|------------|--------------------------|-----------|
//! | gen-4.5 | `gen4.5`      | yes           | yes            | 2–10       | T2V 16:9, 9:16; I2V all  | 12        |
//! | gen-4   | `gen4_turbo`  | no            | yes            | 2–10       | all six                  | 5         |
//!
//! `gen-3` (`gen3a_turbo`) is gone: Runway removed it from its published
//! schema on 2026-06-10 (runwayml/sdk-python d106617), so the option no
//! longer allows it and the host refuses it with `INVALID_INPUT` listing
//! the models above.
//!
//! The Runway model id sent is resolved by the caller through
//! [`doitong_plugin_sdk::model_id`] (see `lib.rs`): the setting
//! `model.runway` replaces the default model's id (`gen4.5`), and
//! `model.runway.<option value>` (e.g. `model.runway.gen-4`) any model's.

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{Value as Json, json};

/// Every `aspectRatio` the offering accepts, in the order shown to users.
pub const ASPECT_RATIOS: &[&str] = &["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"];
/// Longest prompt Runway accepts, in UTF-16 code units.
pub const MAX_PROMPT_UTF16_UNITS: usize = 1000;
/// Largest `data:` URI Runway accepts for an image, encoded (5 MiB).
pub const MAX_DATA_URI_BYTES: usize = 5 * 1024 * 1024;
/// Shortest and longest clip of the Gen-4 family, in seconds.
pub const DURATION_RANGE_S: (i64, i64) = (2, 10);
/// `duration` when the user gives none.
pub const DEFAULT_DURATION_S: i64 = 5;
/// `aspectRatio` when the user gives none.
pub const DEFAULT_ASPECT_RATIO: &str = "16:9";

/// One Runway video model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// `gen4.5`: Runway's current flagship; text or image to video.
    Gen45,
    /// `gen4_turbo`: fast Gen-4 image animation.
    Gen4Turbo,
}

impl Model {
    /// Every model, the default first.
    pub const ALL: [Model; 2] = [Model::Gen45, Model::Gen4Turbo];
    /// `model` when the user gives none: the one model that takes text alone or an image.
    pub const DEFAULT: Model = Model::Gen45;

    /// The value of our `model` option.
    pub fn option_value(self) -> &'static str {
        match self {
            Model::Gen45 => "gen-4.5",
            Model::Gen4Turbo => "gen-4",
        }
    }

    /// The built-in `model` field Runway expects (an operator setting may
    /// replace it, see the module docs).
    pub fn api_name(self) -> &'static str {
        match self {
            Model::Gen45 => "gen4.5",
            Model::Gen4Turbo => "gen4_turbo",
        }
    }

    /// Runway's list price in its credits ($0.01 each) per output second,
    /// which is also ours (1 credit ≈ $0.01).
    pub fn credits_per_second(self) -> u32 {
        match self {
            Model::Gen45 => 12,
            Model::Gen4Turbo => 5,
        }
    }

    /// Typical seconds from submit to result for a 5 s clip.
    pub fn estimated_seconds(self) -> u32 {
        match self {
            Model::Gen45 => 120,
            Model::Gen4Turbo => 60,
        }
    }

    /// The model a `model` option value names.
    pub fn from_option(value: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.option_value() == value)
    }

    /// Whether Runway generates from text alone with this model.
    fn text_to_video(self) -> bool {
        matches!(self, Model::Gen45)
    }

    /// Whether Runway requires `promptText` with this model.
    fn needs_prompt(self) -> bool {
        !matches!(self, Model::Gen4Turbo)
    }

    /// The aspect ratios allowed for a generation with or without an image.
    fn aspect_ratios(self, with_image: bool) -> &'static [&'static str] {
        const LANDSCAPE_PORTRAIT: &[&str] = &["16:9", "9:16"];
        match self {
            Model::Gen45 if !with_image => LANDSCAPE_PORTRAIT,
            Model::Gen45 | Model::Gen4Turbo => ASPECT_RATIOS,
        }
    }

    /// Output size in pixels for an aspect ratio, or the ratios allowed.
    fn size(self, aspect_ratio: &str, with_image: bool) -> Result<(u32, u32), &'static [&'static str]> {
        let allowed = self.aspect_ratios(with_image);
        if !allowed.contains(&aspect_ratio) {
            return Err(allowed);
        }
        gen4_size(aspect_ratio).ok_or(allowed)
    }
}

/// The Gen-4 family's output size for an aspect ratio (Runway's `ratio`).
fn gen4_size(aspect_ratio: &str) -> Option<(u32, u32)> {
    Some(match aspect_ratio {
        "16:9" => (1280, 720),
        "9:16" => (720, 1280),
        "4:3" => (1104, 832),
        "3:4" => (832, 1104),
        "1:1" => (960, 960),
        "21:9" => (1584, 672),
        _ => return None,
    })
}

/// Which Runway endpoint a generation goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/text_to_video`.
    TextToVideo,
    /// `POST /v1/image_to_video`.
    ImageToVideo,
}

impl Endpoint {
    /// The path under the API origin.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::TextToVideo => "/v1/text_to_video",
            Endpoint::ImageToVideo => "/v1/image_to_video",
        }
    }
}

/// A request checked against its model's rules: everything submit sends.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The Runway model.
    pub model: Model,
    /// `promptText`, when given.
    pub prompt: Option<&'a str>,
    /// `promptImage` (first frame), for image-to-video.
    pub image: Option<&'a Media>,
    /// Output width and height in pixels (Runway's `ratio`).
    pub size: (u32, u32),
    /// Seconds of video.
    pub duration_s: u32,
    /// Runway's `seed`, when given.
    pub seed: Option<i64>,
}

/// Check `request` against its model's rules.
pub fn plan(request: &JobRequest) -> Result<Plan<'_>, Failure> {
    let options = Options::of(request);
    let model_name = options.text("model").unwrap_or(Model::DEFAULT.option_value());
    let model = Model::from_option(model_name).ok_or_else(|| {
        failure::invalid_input(format!("option `model` must be one of {}; got \"{model_name}\"", model_list()))
    })?;
    let prompt = request.input.text.as_deref().filter(|t| !t.trim().is_empty());
    let image = request.input.image.as_ref();
    check_inputs(model, prompt, image)?;
    let duration = options.integer("duration").unwrap_or(DEFAULT_DURATION_S);
    let aspect_ratio = options.text("aspectRatio").unwrap_or(DEFAULT_ASPECT_RATIO);
    let size = model.size(aspect_ratio, image.is_some()).map_err(|allowed| {
        let when = if model == Model::Gen45 && image.is_none() { " for text-to-video" } else { "" };
        failure::invalid_input(format!(
            "option `aspectRatio` must be one of {} with model \"{}\"{when}; got \"{aspect_ratio}\"",
            quoted(allowed),
            model.option_value()
        ))
    })?;
    Ok(Plan { model, prompt, image, size, duration_s: duration as u32, seed: options.integer("seed") })
}

fn model_list() -> String {
    quoted(&Model::ALL.map(Model::option_value))
}

/// Text values as the host lists them: `"16:9", "9:16"`.
fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
}

fn check_inputs(model: Model, prompt: Option<&str>, image: Option<&Media>) -> Result<(), Failure> {
    let name = model.option_value();
    if image.is_none() && !model.text_to_video() {
        return Err(failure::invalid_input(format!(
            "model \"{name}\" animates an image and needs input.image; for text-to-video use model \"gen-4.5\""
        )));
    }
    if prompt.is_none() && model.needs_prompt() {
        return Err(failure::invalid_input(format!("model \"{name}\" needs input.text (the prompt)")));
    }
    if let Some(prompt) = prompt {
        let units = prompt.encode_utf16().count();
        if units > MAX_PROMPT_UTF16_UNITS {
            return Err(failure::invalid_input(format!(
                "input.text is {units} UTF-16 code units long; Runway accepts at most {MAX_PROMPT_UTF16_UNITS}"
            )));
        }
    }
    if let Some(bytes) = image.and_then(inline_data_uri_len)
        && bytes > MAX_DATA_URI_BYTES
    {
        return Err(failure::invalid_input(format!(
            "input.image as a data: URI is {bytes} bytes encoded; Runway accepts at most {MAX_DATA_URI_BYTES} \
             inline, so pass an https:// URL instead"
        )));
    }
    Ok(())
}

/// The length of the `data:` URI an inline image becomes, without building it.
fn inline_data_uri_len(media: &Media) -> Option<usize> {
    if !media.url.is_empty() {
        return None;
    }
    let bytes = media.bytes.as_ref()?;
    let mime = media.mime.as_deref().unwrap_or("application/octet-stream");
    Some("data:".len() + mime.len() + ";base64,".len() + bytes.len().div_ceil(3) * 4)
}

impl Plan<'_> {
    /// Text-to-video without an image, image-to-video with one.
    pub fn endpoint(&self) -> Endpoint {
        if self.image.is_some() { Endpoint::ImageToVideo } else { Endpoint::TextToVideo }
    }

    /// Runway's `ratio`: the output size as `"<width>:<height>"`.
    pub fn ratio(&self) -> String {
        format!("{}:{}", self.size.0, self.size.1)
    }

    /// Credits: the model's per-second price times the duration.
    pub fn credits(&self) -> u32 {
        self.model.credits_per_second() * self.duration_s
    }

    /// The JSON body for [`Plan::endpoint`], naming the Runway model
    /// `model_id` (the built-in [`Model::api_name`] or the operator's).
    pub fn body(&self, model_id: &str) -> Json {
        let mut body = json!({
            "model": model_id,
            "ratio": self.ratio(),
            "duration": self.duration_s,
        });
        if let Some(prompt) = self.prompt {
            body["promptText"] = json!(prompt);
        }
        if let Some(image) = self.image.and_then(media::url_or_data_uri) {
            body["promptImage"] = json!(image);
        }
        if let Some(seed) = self.seed {
            body["seed"] = json!(seed);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: Option<&str>, image: Option<Media>, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: "runway".into(),
            kind: MediaKind::Video,
            input: JobInput { text: text.map(str::to_string), image, audio: None, video: None, voice: None },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    fn linked(url: &str) -> Option<Media> {
        Some(Media { url: url.into(), mime: Some("image/jpeg".into()), bytes: None })
    }

    fn invalid(request: &JobRequest) -> String {
        let failure = plan(request).unwrap_err();
        assert_eq!(failure.code, FailureCode::InvalidInput);
        failure.message
    }

    #[test]
    fn text_to_video_uses_gen45_by_default() {
        let request = request(Some("a fox"), None, &[("duration", Value::Integer(5))]);
        let plan = plan(&request).unwrap();
        assert_eq!((plan.model, plan.endpoint(), plan.credits()), (Model::Gen45, Endpoint::TextToVideo, 60));
        assert_eq!(
            plan.body(plan.model.api_name()),
            json!({ "model": "gen4.5", "ratio": "1280:720", "duration": 5, "promptText": "a fox" })
        );
    }

    #[test]
    fn image_to_video_maps_model_ratio_and_seed() {
        let options = [
            ("model", text("gen-4")),
            ("duration", Value::Integer(3)),
            ("aspectRatio", text("21:9")),
            ("seed", Value::Integer(4242)),
        ];
        let request = request(None, linked("https://images.example/harbor.jpg"), &options);
        let plan = plan(&request).unwrap();
        assert_eq!((plan.endpoint(), plan.size, plan.credits()), (Endpoint::ImageToVideo, (1584, 672), 15));
        assert_eq!(
            plan.body(plan.model.api_name()),
            json!({
                "model": "gen4_turbo",
                "ratio": "1584:672",
                "duration": 3,
                "promptImage": "https://images.example/harbor.jpg",
                "seed": 4242,
            })
        );
    }

    #[test]
    fn inline_images_become_data_uris() {
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) };
        let request = request(Some("dance"), Some(inline), &[("aspectRatio", text("9:16"))]);
        let plan = plan(&request).unwrap();
        assert_eq!(plan.body(plan.model.api_name())["promptImage"], "data:image/png;base64,AQID");
        assert_eq!(plan.ratio(), "720:1280");
    }

    #[test]
    fn gen3_is_retired() {
        assert_eq!(Model::from_option("gen-3"), None);
        assert!(Model::ALL.iter().all(|m| m.api_name() != "gen3a_turbo"));
        let options = [("model", text("gen-3"))];
        let request = request(Some("dance"), linked("https://e.example/c.jpg"), &options);
        assert_eq!(invalid(&request), r#"option `model` must be one of "gen-4.5", "gen-4"; got "gen-3""#);
    }

    #[test]
    fn the_body_names_the_resolved_model() {
        let request = request(Some("a fox"), None, &[]);
        assert_eq!(plan(&request).unwrap().body("gen4.5_2026")["model"], "gen4.5_2026");
    }

    #[test]
    fn combinations_each_model_lacks_are_refused_with_the_allowed_values() {
        let image = || linked("https://e.example/c.jpg");
        let cases: Vec<(JobRequest, &str)> = vec![
            (
                request(Some("x"), None, &[("aspectRatio", text("4:3"))]),
                r#"option `aspectRatio` must be one of "16:9", "9:16" with model "gen-4.5" for text-to-video; got "4:3""#,
            ),
            (
                request(Some("x"), None, &[("model", text("gen-4"))]),
                r#"model "gen-4" animates an image and needs input.image; for text-to-video use model "gen-4.5""#,
            ),
            (request(None, image(), &[]), r#"model "gen-4.5" needs input.text (the prompt)"#),
            (
                request(Some("x"), None, &[("model", text("gen-2"))]),
                r#"option `model` must be one of "gen-4.5", "gen-4"; got "gen-2""#,
            ),
        ];
        for (request, message) in cases {
            assert_eq!(invalid(&request), message);
        }
    }

    #[test]
    fn gen45_with_an_image_takes_every_ratio_and_gen4_needs_no_prompt() {
        let with_image = request(Some("x"), linked("https://e.example/c.jpg"), &[("aspectRatio", text("1:1"))]);
        assert_eq!(plan(&with_image).unwrap().size, (960, 960));
        let image_only = request(None, linked("https://e.example/c.jpg"), &[("model", text("gen-4"))]);
        assert!(plan(&image_only).unwrap().body("gen4_turbo").get("promptText").is_none());
    }

    #[test]
    fn prompt_and_inline_image_limits_are_runways() {
        let long = "é".repeat(1001);
        assert!(invalid(&request(Some(&long), None, &[])).contains("1001 UTF-16 code units"));
        let emoji = "🦊".repeat(500); // 1000 UTF-16 units: exactly at the limit
        assert!(plan(&request(Some(&emoji), None, &[])).is_ok());
        let big = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![0; 4 * 1024 * 1024]) };
        assert!(invalid(&request(Some("x"), Some(big), &[])).contains("pass an https:// URL instead"));
    }
}
