//! The `gpt-image` offering: OpenAI's GPT image models.
//!
//! | `model`                      | 1:1 low / medium / high | 3:2, 2:3 low / medium / high | text input |
//! |------------------------------|-------------------------|------------------------------|------------|
//! | `gpt-image-2` (default)      | $0.006 / $0.053 / $0.211 | $0.009 / $0.079 / $0.317 (estimated) | $5 / 1M tokens |
//! | `gpt-image-1.5`              | $0.009 / $0.034 / $0.133 | $0.013 / $0.050 / $0.200    | $5 / 1M tokens |
//! | `gpt-image-1`                | $0.011 / $0.042 / $0.167 | $0.016 / $0.063 / $0.250    | $5 / 1M tokens |
//! | `gpt-image-1-mini`           | $0.005 / $0.011 / $0.036 | $0.006 / $0.015 / $0.052    | $2 / 1M tokens |
//!
//! A request costs the image's price plus its prompt's estimated input
//! tokens, in credits of $0.01, rounded up once. `aspectRatio` picks the
//! size (1:1 → 1024x1024, 3:2 → 1536x1024, 2:3 → 1024x1536), so the price
//! is known before the call; OpenAI's `auto` size and quality are not
//! offered for that reason.
//!
//! Combination rules: `compression` only for `jpeg` and `webp`; a
//! `transparent` background only for `png` and `webp`, and not with
//! `gpt-image-2` (which draws no transparent backgrounds).
//!
//! The vendor model id is resolved at submit by [`vendor_model`]: the
//! operator's `model.gpt-image` setting replaces the default model's id,
//! `model.gpt-image.<value>` the id behind another `model` value.

use doitong_plugin_sdk::prelude::*;

use super::{estimated_tokens, invalid_option, pick};

/// The offering id.
pub const ID: &str = "gpt-image";

/// Option names, as users send them.
pub const MODEL: &str = "model";
/// Shape of the image; picks OpenAI's `size`.
pub const ASPECT_RATIO: &str = "aspectRatio";
/// OpenAI's `quality`.
pub const QUALITY: &str = "quality";
/// OpenAI's `output_format`.
pub const OUTPUT_FORMAT: &str = "outputFormat";
/// OpenAI's `output_compression`.
pub const COMPRESSION: &str = "compression";
/// OpenAI's `background`.
pub const BACKGROUND: &str = "background";
/// OpenAI's `moderation`.
pub const MODERATION: &str = "moderation";

/// OpenAI's prompt limit for GPT image models, in characters.
pub const MAX_PROMPT_CHARS: usize = 32_000;
/// The prompt the manifest's price rules assume: 100 tokens, about 400
/// characters of English. `quote` counts the real prompt, so a longer one
/// can cost a credit or more above the rule.
const RULE_PROMPT_TOKENS: u64 = 100;
/// Quality rank of the offering (its default model, GPT Image 2).
const RANK: u8 = 94;

/// A GPT image model, as the `model` option names it (OpenAI's own id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `gpt-image-2`: OpenAI's flagship image model since 2026-04-21.
    GptImage2,
    /// `gpt-image-1.5`.
    GptImage15,
    /// `gpt-image-1`.
    GptImage1,
    /// `gpt-image-1-mini`: the cheapest.
    GptImage1Mini,
}

impl Model {
    /// Every model, in option order (the first is the default).
    pub const ALL: [Model; 4] = [Model::GptImage2, Model::GptImage15, Model::GptImage1, Model::GptImage1Mini];
    /// The model a request without `model` gets.
    pub const DEFAULT: Model = Model::GptImage2;

    /// OpenAI's id, also the option value.
    pub fn name(self) -> &'static str {
        match self {
            Model::GptImage2 => "gpt-image-2",
            Model::GptImage15 => "gpt-image-1.5",
            Model::GptImage1 => "gpt-image-1",
            Model::GptImage1Mini => "gpt-image-1-mini",
        }
    }

    /// The model an option value names.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// OpenAI's per-image price, in tenths of a US cent.
    pub fn image_price_tenths(self, quality: Quality, shape: Shape) -> u64 {
        let [low, medium, high] = match (self, shape == Shape::Square) {
            (Model::GptImage2, true) => [6, 53, 211],
            // OpenAI publishes 1024x1024 only; 1.5x its output tokens.
            (Model::GptImage2, false) => [9, 79, 317],
            (Model::GptImage15, true) => [9, 34, 133],
            (Model::GptImage15, false) => [13, 50, 200],
            (Model::GptImage1, true) => [11, 42, 167],
            (Model::GptImage1, false) => [16, 63, 250],
            (Model::GptImage1Mini, true) => [5, 11, 36],
            (Model::GptImage1Mini, false) => [6, 15, 52],
        };
        match quality {
            Quality::Low => low,
            Quality::Medium => medium,
            Quality::High => high,
        }
    }

    /// Text input price, in tenths of a US cent per million tokens.
    fn text_price_tenths_per_million(self) -> u64 {
        match self {
            Model::GptImage2 | Model::GptImage15 | Model::GptImage1 => 5_000,
            Model::GptImage1Mini => 2_000,
        }
    }
}

/// OpenAI's `quality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    /// Fastest, cheapest.
    Low,
    /// The default here.
    Medium,
    /// Slowest, most detailed.
    High,
}

impl Quality {
    /// Every quality, in option order.
    pub const ALL: [Quality; 3] = [Quality::Low, Quality::Medium, Quality::High];

    /// The option value, also OpenAI's.
    pub fn name(self) -> &'static str {
        match self {
            Quality::Low => "low",
            Quality::Medium => "medium",
            Quality::High => "high",
        }
    }

    /// The quality an option value names.
    pub fn from_name(name: &str) -> Option<Quality> {
        Quality::ALL.into_iter().find(|q| q.name() == name)
    }
}

/// The image's shape: one of OpenAI's fixed sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// 1:1, 1024x1024.
    Square,
    /// 3:2, 1536x1024.
    Landscape,
    /// 2:3, 1024x1536.
    Portrait,
}

impl Shape {
    /// Every shape, in option order.
    pub const ALL: [Shape; 3] = [Shape::Square, Shape::Landscape, Shape::Portrait];

    /// The `aspectRatio` value.
    pub fn aspect_ratio(self) -> &'static str {
        match self {
            Shape::Square => "1:1",
            Shape::Landscape => "3:2",
            Shape::Portrait => "2:3",
        }
    }

    /// The shape an `aspectRatio` value names.
    pub fn from_aspect_ratio(ratio: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.aspect_ratio() == ratio)
    }

    /// Pixels, width by height.
    pub fn pixels(self) -> (u32, u32) {
        match self {
            Shape::Square => (1024, 1024),
            Shape::Landscape => (1536, 1024),
            Shape::Portrait => (1024, 1536),
        }
    }

    /// OpenAI's `size`.
    pub fn size(self) -> String {
        let (width, height) = self.pixels();
        format!("{width}x{height}")
    }
}

/// OpenAI's `output_format`: the SDK's image formats, PNG (OpenAI's
/// default), JPEG and WebP, by the same names.
pub use doitong_plugin_sdk::image::ImageFormat;

/// Whether OpenAI compresses the format (`output_compression`).
fn compressible(format: &ImageFormat) -> bool {
    *format != ImageFormat::Png
}

/// Whether the format has an alpha channel (`background: transparent`).
fn has_alpha(format: &ImageFormat) -> bool {
    *format != ImageFormat::Jpeg
}

/// Backgrounds OpenAI draws.
pub const BACKGROUNDS: [&str; 3] = ["auto", "transparent", "opaque"];
/// OpenAI's moderation levels.
pub const MODERATIONS: [&str; 2] = ["auto", "low"];

/// The `gpt-image` offering.
pub fn offering() -> Offering {
    let models: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
    let ratios: Vec<&str> = Shape::ALL.iter().map(|s| s.aspect_ratio()).collect();
    let qualities: Vec<&str> = Quality::ALL.iter().map(|q| q.name()).collect();
    let formats: Vec<&str> = ImageFormat::ALL.iter().map(|f| f.name()).collect();
    let default = Plan::default_request();
    let mut builder = OfferingBuilder::new(ID, "OpenAI GPT Image", &[MediaKind::Image])
        .description(
            "OpenAI's GPT image models through the Images API: GPT Image 2 by default, GPT Image 1.5, 1 and 1 \
             Mini. Strong prompt following and legible text in images; transparent backgrounds in PNG or WebP \
             (not with GPT Image 2).",
        )
        .accepts(&[InputField::Text])
        .requires(&[InputField::Text])
        .features(&["text-to-image", "text rendering", "transparent background", "png, jpeg or webp"])
        .limitations(&[
            "three sizes: 1024x1024 (1:1), 1536x1024 (3:2), 1024x1536 (2:3)",
            "no seed, negative prompt or style preset",
            "text-to-image only (no edits or references)",
            "compression only for jpeg and webp; a transparent background only for png and webp, and not with gpt-image-2",
            "the price adds the prompt's input tokens to the per-image price",
        ])
        .option(
            OptionBuilder::text(
                MODEL,
                "Which GPT image model draws the image (the operator's setting model.gpt-image replaces the default's id)",
            )
            .allowed(&models)
            .default_text(Model::DEFAULT.name()),
        )
        .option(
            OptionBuilder::text(ASPECT_RATIO, "Shape: 1:1 (1024x1024), 3:2 (1536x1024) or 2:3 (1024x1536)")
                .allowed(&ratios)
                .default_text("1:1"),
        )
        .option(
            OptionBuilder::text(QUALITY, "Rendering quality; higher is slower and dearer")
                .allowed(&qualities)
                .default_text("medium"),
        )
        .option(OptionBuilder::text(OUTPUT_FORMAT, "File format of the image").allowed(&formats).default_text("png"))
        .option(
            OptionBuilder::integer(COMPRESSION, "Compression level 0-100 for jpeg and webp (OpenAI's default: 100)")
                .range(0.0, 100.0),
        )
        .option(
            OptionBuilder::text(BACKGROUND, "Background: transparent needs png or webp; auto lets the model choose")
                .allowed(&BACKGROUNDS)
                .default_text("auto"),
        )
        .option(
            OptionBuilder::text(MODERATION, "Content filtering: auto (OpenAI's standard) or low (less restrictive)")
                .allowed(&MODERATIONS)
                .default_text("auto"),
        )
        .quality(RANK)
        .credits(credits(default.model, default.quality, default.shape, RULE_PROMPT_TOKENS))
        .estimated_seconds(default.estimated_seconds());
    for model in Model::ALL {
        for quality in Quality::ALL {
            for shape in Shape::ALL {
                let when = [
                    (MODEL, Value::Text(model.name().into())),
                    (QUALITY, Value::Text(quality.name().into())),
                    (ASPECT_RATIO, Value::Text(shape.aspect_ratio().into())),
                ];
                builder = builder.price(&when, credits(model, quality, shape, RULE_PROMPT_TOKENS), false);
            }
        }
    }
    builder.build()
}

/// Credits for an image of `model`, `quality` and `shape` drawn from a
/// prompt of `tokens` input tokens: the sum in $0.01, rounded up once.
fn credits(model: Model, quality: Quality, shape: Shape, tokens: u64) -> u32 {
    const MILLION: u64 = 1_000_000;
    let image = model.image_price_tenths(quality, shape) * MILLION;
    let text = tokens * model.text_price_tenths_per_million();
    (image + text).div_ceil(10 * MILLION) as u32
}

/// A checked `gpt-image` request: what OpenAI is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model.
    pub model: Model,
    /// The prompt.
    pub prompt: String,
    /// The size.
    pub shape: Shape,
    /// `quality`.
    pub quality: Quality,
    /// `output_format`.
    pub format: ImageFormat,
    /// `output_compression` (jpeg and webp only).
    pub compression: Option<u8>,
    /// `background`.
    pub background: &'static str,
    /// `moderation`.
    pub moderation: &'static str,
}

impl Plan {
    /// OpenAI's model id for this request: the built-in id of `model`,
    /// or the operator's replacement for it (see [`vendor_model`]).
    pub fn vendor_model(&self) -> String {
        super::vendor_model(ID, self.model.name(), Model::DEFAULT.name())
    }

    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and what is allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let prompt = request.input.text.as_deref().map(str::trim).unwrap_or_default();
        if prompt.is_empty() {
            return Err(failure::invalid_input(format!("provider `{ID}` needs input.text (the prompt)")));
        }
        if prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(failure::invalid_input(format!(
                "input.text is longer than OpenAI's limit of {MAX_PROMPT_CHARS} characters"
            )));
        }
        let model = pick(&options, ID, MODEL, &Model::ALL, Model::name, Model::DEFAULT)?;
        let shape = pick(&options, ID, ASPECT_RATIO, &Shape::ALL, Shape::aspect_ratio, Shape::Square)?;
        let quality = pick(&options, ID, QUALITY, &Quality::ALL, Quality::name, Quality::Medium)?;
        let format = pick(&options, ID, OUTPUT_FORMAT, &ImageFormat::ALL, ImageFormat::name, ImageFormat::Png)?;
        let background = pick(&options, ID, BACKGROUND, &BACKGROUNDS, |b| b, "auto")?;
        let moderation = pick(&options, ID, MODERATION, &MODERATIONS, |m| m, "auto")?;
        let compression = options.integer(COMPRESSION).map(|c| c.clamp(0, 100) as u8);
        if compression.is_some() && !compressible(&format) {
            let allowed: Vec<&str> = ImageFormat::ALL.iter().filter(|f| compressible(f)).map(|f| f.name()).collect();
            return Err(failure::invalid_input(format!(
                "option `{COMPRESSION}` of provider `{ID}` applies only to outputFormat {}; got outputFormat {}",
                allowed.join(", "),
                format.name()
            )));
        }
        if background == "transparent" && !has_alpha(&format) {
            let allowed: Vec<&str> = ImageFormat::ALL.iter().filter(|f| has_alpha(f)).map(|f| f.name()).collect();
            return Err(invalid_option(ID, OUTPUT_FORMAT, &allowed, "with a transparent background", format.name()));
        }
        if background == "transparent" && model == Model::GptImage2 {
            let allowed: Vec<&str> = Model::ALL.iter().filter(|m| **m != Model::GptImage2).map(|m| m.name()).collect();
            return Err(invalid_option(ID, MODEL, &allowed, "with a transparent background", model.name()));
        }
        Ok(Plan { model, prompt: prompt.to_string(), shape, quality, format, compression, background, moderation })
    }

    /// What a request with no options asks for (the prompt aside).
    fn default_request() -> Plan {
        Plan {
            model: Model::DEFAULT,
            prompt: String::new(),
            shape: Shape::Square,
            quality: Quality::Medium,
            format: ImageFormat::Png,
            compression: None,
            background: "auto",
            moderation: "auto",
        }
    }

    /// Credits: the image's price plus the prompt's input tokens, in
    /// $0.01, rounded up once.
    pub fn credits(&self) -> u32 {
        credits(self.model, self.quality, self.shape, estimated_tokens(&self.prompt))
    }

    /// Typical seconds to the image: high quality and large sizes take
    /// longest; Mini is about twice as fast.
    pub fn estimated_seconds(&self) -> u32 {
        let base = match self.quality {
            Quality::Low => 10,
            Quality::Medium => 25,
            Quality::High => 60,
        };
        let sized = if self.shape == Shape::Square { base } else { base * 3 / 2 };
        if self.model == Model::GptImage1Mini { sized / 2 } else { sized }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: ID.into(),
            kind: MediaKind::Image,
            input: JobInput { text: Some(prompt.into()), image: None, audio: None, video: None, voice: None },
            options: spec::with_defaults(&offering(), options),
        }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    #[test]
    fn defaults_are_gpt_image_2_square_medium_png() {
        let plan = Plan::of(&request("A red bicycle leaning on a brick wall", &[])).unwrap();
        assert_eq!(plan, Plan { prompt: "A red bicycle leaning on a brick wall".into(), ..Plan::default_request() });
        assert_eq!(plan.model.name(), "gpt-image-2");
        assert_eq!((plan.credits(), plan.estimated_seconds()), (6, 25));
        let offering = offering();
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (6, 25, 94));
        assert_eq!(offering.pricing.len(), 36, "a rule per model, quality and shape");
    }

    #[test]
    fn prices_follow_model_quality_and_shape() {
        let cases = [
            ("gpt-image-2", "low", "1:1", 1),
            ("gpt-image-2", "medium", "1:1", 6),
            ("gpt-image-2", "high", "1:1", 22),
            ("gpt-image-2", "high", "3:2", 32),
            ("gpt-image-1.5", "low", "1:1", 1),
            ("gpt-image-1.5", "high", "1:1", 14),
            ("gpt-image-1.5", "high", "3:2", 21),
            ("gpt-image-1.5", "medium", "2:3", 6),
            ("gpt-image-1", "low", "1:1", 2),
            ("gpt-image-1", "medium", "1:1", 5),
            ("gpt-image-1", "high", "2:3", 26),
            ("gpt-image-1-mini", "low", "1:1", 1),
            ("gpt-image-1-mini", "medium", "3:2", 2),
            ("gpt-image-1-mini", "high", "1:1", 4),
            ("gpt-image-1-mini", "high", "3:2", 6),
        ];
        let offering = offering();
        for (model, quality, ratio, credits) in cases {
            let options = [(MODEL, text(model)), (QUALITY, text(quality)), (ASPECT_RATIO, text(ratio))];
            let plan = Plan::of(&request("x", &options)).unwrap();
            assert_eq!(plan.credits(), credits, "{model} {quality} {ratio}");
            let listed = spec::price(&offering, &spec::with_defaults(&offering, &options));
            assert_eq!(listed, credits, "the manifest's rule for {model} {quality} {ratio}");
        }
    }

    #[test]
    fn long_prompts_add_their_input_tokens() {
        // 2 medium square: $0.053 + 20,000 ASCII characters ≈ 5,000 tokens × $5/1M = $0.025.
        let long = "a".repeat(20_000);
        assert_eq!(Plan::of(&request(&long, &[])).unwrap().credits(), 8);
        // Mini low square: $0.005 + 5,000 CJK characters × $2/1M = $0.01.
        let cjk = "猫".repeat(5_000);
        assert_eq!(
            Plan::of(&request(&cjk, &[(MODEL, text("gpt-image-1-mini")), (QUALITY, text("low"))])).unwrap().credits(),
            2
        );
    }

    #[test]
    fn options_map_onto_the_plan() {
        let options = [
            (MODEL, text("gpt-image-1-mini")),
            (ASPECT_RATIO, text("2:3")),
            (QUALITY, text("high")),
            (OUTPUT_FORMAT, text("webp")),
            (COMPRESSION, Value::Integer(60)),
            (BACKGROUND, text("transparent")),
            (MODERATION, text("low")),
        ];
        let plan = Plan::of(&request("a sticker of a fox", &options)).unwrap();
        assert_eq!(
            (plan.model, plan.shape.size(), plan.quality),
            (Model::GptImage1Mini, "1024x1536".into(), Quality::High)
        );
        assert_eq!(
            (plan.format, plan.compression, plan.background, plan.moderation),
            (ImageFormat::Webp, Some(60), "transparent", "low")
        );
        assert_eq!(plan.estimated_seconds(), 45);
    }

    #[test]
    fn impossible_combinations_name_the_option_and_what_is_allowed() {
        let cases: [(Vec<(&str, Value)>, &str); 3] = [
            (
                vec![(COMPRESSION, Value::Integer(80))],
                "option `compression` of provider `gpt-image` applies only to outputFormat jpeg, webp; got outputFormat png",
            ),
            (
                vec![(OUTPUT_FORMAT, text("jpeg")), (BACKGROUND, text("transparent"))],
                "option `outputFormat` of provider `gpt-image` must be one of png, webp with a transparent background; got jpeg",
            ),
            (
                vec![(QUALITY, text("ultra"))],
                "option `quality` of provider `gpt-image` must be one of low, medium, high; got ultra",
            ),
        ];
        for (options, message) in cases {
            let failure = Plan::of(&request("x", &options)).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
        let empty = Plan::of(&request("  ", &[])).unwrap_err();
        assert_eq!(empty.message, "provider `gpt-image` needs input.text (the prompt)");
        let long = Plan::of(&request(&"b".repeat(MAX_PROMPT_CHARS + 1), &[])).unwrap_err();
        assert_eq!(long.message, "input.text is longer than OpenAI's limit of 32000 characters");
    }

    #[test]
    fn gpt_image_2_draws_no_transparent_background() {
        let refused = Plan::of(&request("a sticker", &[(BACKGROUND, text("transparent"))])).unwrap_err();
        assert_eq!(
            refused.message,
            "option `model` of provider `gpt-image` must be one of gpt-image-1.5, gpt-image-1, gpt-image-1-mini with a \
             transparent background; got gpt-image-2"
        );
        let options = [(MODEL, text("gpt-image-1.5")), (BACKGROUND, text("transparent"))];
        assert!(Plan::of(&request("a sticker", &options)).is_ok());
    }

    #[test]
    fn the_default_model_is_overridden_by_the_offerings_setting_others_by_their_value() {
        let plan = Plan::of(&request("x", &[])).unwrap();
        assert_eq!(super::super::model_setting_key(ID, plan.model.name(), Model::DEFAULT.name()), "gpt-image");
        let mini = Plan::of(&request("x", &[(MODEL, text("gpt-image-1-mini"))])).unwrap();
        assert_eq!(
            super::super::model_setting_key(ID, mini.model.name(), Model::DEFAULT.name()),
            "gpt-image.gpt-image-1-mini"
        );
    }
}
