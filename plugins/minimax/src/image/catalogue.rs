//! What MiniMax's image models can do, and what it costs.
//!
//! Owns the `minimax-image` offering (options, allowed values, defaults,
//! price rules) and [`Plan`]: a validated request resolved against the
//! model's real capabilities. The host has already checked each option on
//! its own; [`Plan::of`] checks the combinations:
//!
//! | `model`                  | `aspectRatio`                        | `width` × `height`      | `style` |
//! |--------------------------|--------------------------------------|-------------------------|---------|
//! | `image-01` (default)     | all eight (1:1 when no size is given) | 512–2048, multiples of 8 | —       |
//! | `image-01-live`          | all but 21:9                          | —                       | comic, energetic, medieval, watercolor |
//!
//! `width`/`height` go together and exclude `aspectRatio` (MiniMax would
//! silently ignore them next to a ratio; we refuse instead). `styleWeight`
//! needs `style`. One credit per image (MiniMax's list price is under a
//! cent), so a request costs `numberOfImages` credits.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

/// The offering's id: the portal's "Minimax Image" card.
pub const OFFERING: &str = "minimax-image";

/// Option names, as users send them.
pub const MODEL: &str = "model";
/// Frame of the images (MiniMax's `aspect_ratio`).
pub const ASPECT_RATIO: &str = "aspectRatio";
/// Exact pixel width (image-01 only), with [`HEIGHT`].
pub const WIDTH: &str = "width";
/// Exact pixel height (image-01 only), with [`WIDTH`].
pub const HEIGHT: &str = "height";
/// Images per request (MiniMax's `n`).
pub const NUMBER_OF_IMAGES: &str = "numberOfImages";
/// MiniMax's `seed`.
pub const SEED: &str = "seed";
/// MiniMax's `prompt_optimizer`.
pub const PROMPT_OPTIMIZER: &str = "promptOptimizer";
/// MiniMax's `aigc_watermark`.
pub const WATERMARK: &str = "watermark";
/// MiniMax's `style.style_type` (image-01-live only).
pub const STYLE: &str = "style";
/// MiniMax's `style.style_weight`.
pub const STYLE_WEIGHT: &str = "styleWeight";

/// MiniMax's prompt limit, in characters.
pub const MAX_PROMPT_CHARS: usize = 1500;
/// Most images per request.
pub const MAX_IMAGES: i64 = 9;
/// Bounds of `width` and `height`, pixels.
pub const SIZE_RANGE: (i64, i64) = (512, 2048);
/// `width` and `height` must be multiples of this.
pub const SIZE_STEP: i64 = 8;
/// Largest `seed` accepted (a signed 32-bit integer, which any backend reads).
pub const MAX_SEED: i64 = i32::MAX as i64;
/// Credits per image: MiniMax's list price (US$0.0035) rounded up to a cent.
pub const CREDITS_PER_IMAGE: u32 = 1;
/// Quality rank of the offering.
const QUALITY: u8 = 70;

/// `(aspectRatio, width, height)`: MiniMax's ratios and the pixels it
/// documents for each; the first is its default.
pub const ASPECT_RATIOS: &[(&str, u32, u32)] = &[
    ("1:1", 1024, 1024),
    ("16:9", 1280, 720),
    ("4:3", 1152, 864),
    ("3:2", 1248, 832),
    ("2:3", 832, 1248),
    ("3:4", 864, 1152),
    ("9:16", 720, 1280),
    ("21:9", 1344, 576),
];
/// The one ratio image-01-live does not render.
const IMAGE_01_ONLY_RATIO: &str = "21:9";

/// A MiniMax image model, as the `model` option names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageModel {
    /// image-01: photorealistic, any size.
    Image01,
    /// image-01-live: illustration styles.
    Image01Live,
}

impl ImageModel {
    /// Every model, in the order the `model` option lists them.
    pub const ALL: [ImageModel; 2] = [ImageModel::Image01, ImageModel::Image01Live];

    /// The `model` option value, also MiniMax's model id.
    pub fn name(self) -> &'static str {
        match self {
            ImageModel::Image01 => "image-01",
            ImageModel::Image01Live => "image-01-live",
        }
    }

    /// The model a request without `model` gets.
    pub const DEFAULT: ImageModel = ImageModel::Image01;

    /// The settings name under which the operator replaces this model's
    /// id: `minimax-image` (setting `model.minimax-image`) for the default,
    /// `minimax-image.image-01-live` for the other.
    pub fn setting_key(self) -> String {
        if self == ImageModel::DEFAULT { OFFERING.to_string() } else { format!("{OFFERING}.{}", self.name()) }
    }

    /// The model an option value names.
    pub fn from_name(name: &str) -> Option<ImageModel> {
        ImageModel::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The aspect ratios the model renders.
    pub fn aspect_ratios(self) -> Vec<&'static str> {
        ASPECT_RATIOS
            .iter()
            .map(|(ratio, _, _)| *ratio)
            .filter(|ratio| self == ImageModel::Image01 || *ratio != IMAGE_01_ONLY_RATIO)
            .collect()
    }
}

/// An image-01-live style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// 漫画.
    Comic,
    /// 元气.
    Energetic,
    /// 中世纪.
    Medieval,
    /// 水彩.
    Watercolor,
}

impl Style {
    /// Every style, in the order the `style` option lists them.
    pub const ALL: [Style; 4] = [Style::Comic, Style::Energetic, Style::Medieval, Style::Watercolor];

    /// The `style` option value.
    pub fn name(self) -> &'static str {
        match self {
            Style::Comic => "comic",
            Style::Energetic => "energetic",
            Style::Medieval => "medieval",
            Style::Watercolor => "watercolor",
        }
    }

    /// MiniMax's `style_type`, as its API reference spells it.
    pub fn vendor_name(self) -> &'static str {
        match self {
            Style::Comic => "漫画",
            Style::Energetic => "元气",
            Style::Medieval => "中世纪",
            Style::Watercolor => "水彩",
        }
    }

    /// The style an option value names.
    pub fn from_name(name: &str) -> Option<Style> {
        Style::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What frames the images.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// One of [`ASPECT_RATIOS`].
    Ratio(&'static str),
    /// Exact pixels (image-01).
    Pixels {
        /// Width, pixels.
        width: i64,
        /// Height, pixels.
        height: i64,
    },
}

/// The `minimax-image` offering.
pub fn offering() -> Offering {
    let models: Vec<&str> = ImageModel::ALL.iter().map(|m| m.name()).collect();
    let ratios: Vec<&str> = ASPECT_RATIOS.iter().map(|(r, _, _)| *r).collect();
    let styles: Vec<&str> = Style::ALL.iter().map(|s| s.name()).collect();
    let counts: Vec<i64> = (1..=MAX_IMAGES).collect();
    let (min_size, max_size) = (SIZE_RANGE.0 as f64, SIZE_RANGE.1 as f64);
    let mut builder = OfferingBuilder::new(OFFERING, "MiniMax Image", &[MediaKind::Image])
        .description(
            "MiniMax's image-01 models: detailed images from Chinese or English prompts, up to nine per request, \
             in eight aspect ratios or exact sizes, optionally keeping the character of a reference photo \
             (input.image); image-01-live adds comic, energetic, medieval and watercolor styles.",
        )
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[InputField::Text])
        .features(&[
            "text-to-image",
            "character reference (input.image)",
            "up to 9 images per request",
            "Chinese and English prompts",
            "art styles (image-01-live)",
            "prompt optimizer",
        ])
        .limitations(&[
            "prompt at most 1500 characters",
            "width/height only with image-01, as multiples of 8 from 512 to 2048, and not with aspectRatio",
            "21:9 only with image-01; style only with image-01-live",
            "input.image is a character reference (one front-facing person works best), not an image to edit",
            "no negative prompt",
        ])
        .option(
            OptionBuilder::text(
                MODEL,
                "Which MiniMax image model draws the images (the operator's setting model.minimax-image replaces \
                 the default's id)",
            )
            .allowed(&models)
            .default_text(ImageModel::Image01.name()),
        )
        .option(
            OptionBuilder::text(
                ASPECT_RATIO,
                "Frame of the images; 1:1 (1024x1024) when neither it nor width/height is given",
            )
            .allowed(&ratios),
        )
        .option(
            OptionBuilder::integer(
                WIDTH,
                "Exact width in pixels, a multiple of 8 (image-01, with height, without aspectRatio)",
            )
            .range(min_size, max_size),
        )
        .option(
            OptionBuilder::integer(
                HEIGHT,
                "Exact height in pixels, a multiple of 8 (image-01, with width, without aspectRatio)",
            )
            .range(min_size, max_size),
        )
        .option(
            OptionBuilder::integer(NUMBER_OF_IMAGES, "How many images to make; each one is charged")
                .allowed_integers(&counts)
                .default_integer(1),
        )
        .option(OptionBuilder::integer(SEED, "Seed for reproducible images").range(0.0, MAX_SEED as f64))
        .option(
            OptionBuilder::flag(PROMPT_OPTIMIZER, "Let MiniMax rewrite the prompt; false keeps it literal")
                .default_flag(false),
        )
        .option(OptionBuilder::flag(WATERMARK, "Add MiniMax's AIGC watermark").default_flag(false))
        .option(OptionBuilder::text(STYLE, "Illustration style (image-01-live only)").allowed(&styles))
        .option(
            OptionBuilder::number(
                STYLE_WEIGHT,
                "How strongly the style applies, above 0 up to 1 (with style; MiniMax's default when omitted)",
            )
            .range(0.0, 1.0),
        )
        .quality(QUALITY)
        .credits(CREDITS_PER_IMAGE)
        .estimated_seconds(estimated_seconds(1));
    for count in 1..=MAX_IMAGES {
        builder = builder.price(&[(NUMBER_OF_IMAGES, Value::Integer(count))], CREDITS_PER_IMAGE * count as u32, false);
    }
    builder.build()
}

/// Typical seconds to `count` images.
fn estimated_seconds(count: u32) -> u32 {
    10 + 2 * (count.max(1) - 1)
}

/// A request resolved against its model: what MiniMax is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model.
    pub model: ImageModel,
    /// The prompt, as given.
    pub prompt: String,
    /// Ratio or exact pixels.
    pub frame: Frame,
    /// Images to make (MiniMax's `n`).
    pub count: u32,
    /// MiniMax's `seed`, when given.
    pub seed: Option<i64>,
    /// MiniMax's `prompt_optimizer`.
    pub prompt_optimizer: bool,
    /// MiniMax's `aigc_watermark`.
    pub watermark: bool,
    /// The style and its weight, when given (image-01-live).
    pub style: Option<(Style, Option<f64>)>,
}

impl Plan {
    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and the allowed values.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let model = options.text(MODEL).and_then(ImageModel::from_name).unwrap_or(ImageModel::Image01);
        let prompt = request.input.text.clone().unwrap_or_default();
        if prompt.trim().is_empty() {
            return Err(failure::invalid_input(format!("provider `{OFFERING}` needs a prompt in input.text")));
        }
        if prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(failure::invalid_input(format!(
                "input.text is longer than MiniMax's limit of {MAX_PROMPT_CHARS} characters"
            )));
        }
        let frame = frame(model, options)?;
        let count = options.integer(NUMBER_OF_IMAGES).unwrap_or(1);
        if !(1..=MAX_IMAGES).contains(&count) {
            return Err(failure::invalid_input(format!(
                "option `{NUMBER_OF_IMAGES}` of provider `{OFFERING}` must be from 1 to {MAX_IMAGES}; got {count}"
            )));
        }
        Ok(Plan {
            model,
            prompt,
            frame,
            count: count as u32,
            seed: options.integer(SEED),
            prompt_optimizer: options.flag(PROMPT_OPTIMIZER).unwrap_or(false),
            watermark: options.flag(WATERMARK).unwrap_or(false),
            style: style(model, options)?,
        })
    }

    /// Credits: one per image.
    pub fn credits(&self) -> u32 {
        CREDITS_PER_IMAGE * self.count
    }

    /// Typical seconds to the result.
    pub fn estimated_seconds(&self) -> u32 {
        estimated_seconds(self.count)
    }
}

/// The frame: a ratio, exact pixels, or MiniMax's default ratio.
fn frame(model: ImageModel, options: Options) -> Result<Frame, Failure> {
    let ratio = options.text(ASPECT_RATIO);
    match (options.integer(WIDTH), options.integer(HEIGHT)) {
        (None, None) => {
            let Some(ratio) = ratio else { return Ok(Frame::Ratio(ASPECT_RATIOS[0].0)) };
            let allowed = model.aspect_ratios();
            match allowed.iter().find(|r| **r == ratio) {
                Some(found) => Ok(Frame::Ratio(found)),
                None => Err(failure::invalid_input(format!(
                    "option `{ASPECT_RATIO}` of provider `{OFFERING}` must be one of {} with model `{}`; got {ratio}",
                    allowed.join(", "),
                    model.name()
                ))),
            }
        }
        (Some(_), None) | (None, Some(_)) => Err(failure::invalid_input(format!(
            "options `{WIDTH}` and `{HEIGHT}` of provider `{OFFERING}` go together: give both or neither"
        ))),
        (Some(width), Some(height)) => {
            if model != ImageModel::Image01 {
                return Err(failure::invalid_input(format!(
                    "options `{WIDTH}` and `{HEIGHT}` of provider `{OFFERING}` are only available with model {}; \
                     got model `{}` (use {ASPECT_RATIO})",
                    ImageModel::Image01.name(),
                    model.name()
                )));
            }
            if let Some(ratio) = ratio {
                return Err(failure::invalid_input(format!(
                    "options `{WIDTH}`/`{HEIGHT}` and `{ASPECT_RATIO}` of provider `{OFFERING}` exclude each other; \
                     got {width}x{height} and {ratio}"
                )));
            }
            for (name, value) in [(WIDTH, width), (HEIGHT, height)] {
                if !(SIZE_RANGE.0..=SIZE_RANGE.1).contains(&value) || value % SIZE_STEP != 0 {
                    return Err(failure::invalid_input(format!(
                        "option `{name}` of provider `{OFFERING}` must be a multiple of {SIZE_STEP} from {} to {}; \
                         got {value}",
                        SIZE_RANGE.0, SIZE_RANGE.1
                    )));
                }
            }
            Ok(Frame::Pixels { width, height })
        }
    }
}

/// The style and its weight, checked against the model.
fn style(model: ImageModel, options: Options) -> Result<Option<(Style, Option<f64>)>, Failure> {
    let weight = options.number(STYLE_WEIGHT);
    let Some(name) = options.text(STYLE) else {
        return match weight {
            None => Ok(None),
            Some(_) => Err(failure::invalid_input(format!(
                "option `{STYLE_WEIGHT}` of provider `{OFFERING}` needs option `{STYLE}`"
            ))),
        };
    };
    let style = Style::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Style::ALL.iter().map(|s| s.name()).collect();
        failure::invalid_input(format!(
            "option `{STYLE}` of provider `{OFFERING}` must be one of {}; got {name}",
            names.join(", ")
        ))
    })?;
    if model != ImageModel::Image01Live {
        return Err(failure::invalid_input(format!(
            "option `{STYLE}` of provider `{OFFERING}` is only available with model {}; got model `{}`",
            ImageModel::Image01Live.name(),
            model.name()
        )));
    }
    if let Some(weight) = weight.filter(|w| !(*w > 0.0 && *w <= 1.0)) {
        return Err(failure::invalid_input(format!(
            "option `{STYLE_WEIGHT}` of provider `{OFFERING}` must be above 0 and at most 1; got {weight}"
        )));
    }
    Ok(Some((style, weight)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    /// A request as the host hands it over: declared defaults filled in.
    fn request(prompt: Option<&str>, image: bool, given: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: OFFERING.into(),
            kind: MediaKind::Image,
            input: JobInput {
                text: prompt.map(str::to_string),
                image: image.then(|| Media { url: "https://img.example/face.jpg".into(), mime: None, bytes: None }),
                audio: None,
                video: None,
                voice: None,
            },
            options: spec::with_defaults(&offering(), given),
        }
    }

    fn plan(given: &[(&str, Value)]) -> Result<Plan, Failure> {
        Plan::of(&request(Some("a paper crane on a wooden desk"), false, given))
    }

    #[test]
    fn the_offering_lists_minimaxs_options() {
        let offering = offering();
        assert_eq!((offering.id.as_str(), offering.kinds.as_slice()), (OFFERING, &[MediaKind::Image][..]));
        assert_eq!(
            (offering.accepts.as_slice(), offering.requires.as_slice()),
            (&[InputField::Text, InputField::Image][..], &[InputField::Text][..])
        );
        assert!(offering.needs_bytes.is_empty(), "reference images go to MiniMax as URLs or data: URIs");
        let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                MODEL,
                ASPECT_RATIO,
                WIDTH,
                HEIGHT,
                NUMBER_OF_IMAGES,
                SEED,
                PROMPT_OPTIMIZER,
                WATERMARK,
                STYLE,
                STYLE_WEIGHT
            ]
        );
        let spec = |name: &str| offering.options.iter().find(|o| o.name == name).unwrap();
        assert_eq!(spec(MODEL).default, Some(text("image-01")));
        assert_eq!(spec(ASPECT_RATIO).allowed_values.len(), 8);
        assert_eq!(spec(ASPECT_RATIO).default, None, "a default would hide whether width/height may apply");
        assert_eq!(spec(STYLE).default, None);
        assert_eq!(spec(STYLE_WEIGHT).default, None);
        assert_eq!((spec(WIDTH).minimum, spec(WIDTH).maximum), (Some(512.0), Some(2048.0)));
        assert_eq!(spec(NUMBER_OF_IMAGES).allowed_values.len(), 9);
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (1, 10, 70));
    }

    #[test]
    fn defaults_are_one_square_image_from_image_01() {
        let plan = plan(&[]).unwrap();
        assert_eq!(
            plan,
            Plan {
                model: ImageModel::Image01,
                prompt: "a paper crane on a wooden desk".into(),
                frame: Frame::Ratio("1:1"),
                count: 1,
                seed: None,
                prompt_optimizer: false,
                watermark: false,
                style: None,
            }
        );
        assert_eq!((plan.credits(), plan.estimated_seconds()), (1, 10));
    }

    #[test]
    fn each_image_costs_a_credit() {
        let declared = offering();
        for count in 1..=MAX_IMAGES {
            let given = [(NUMBER_OF_IMAGES, Value::Integer(count))];
            let plan = plan(&given).unwrap();
            assert_eq!(plan.credits(), count as u32);
            assert_eq!(spec::price(&declared, &spec::with_defaults(&declared, &given)), plan.credits());
        }
        assert_eq!(plan(&[(NUMBER_OF_IMAGES, Value::Integer(9))]).unwrap().estimated_seconds(), 26);
    }

    #[test]
    fn sizes_styles_and_seeds_resolve() {
        let exact = plan(&[(WIDTH, Value::Integer(1536)), (HEIGHT, Value::Integer(512))]).unwrap();
        assert_eq!(exact.frame, Frame::Pixels { width: 1536, height: 512 });
        let wide = plan(&[(ASPECT_RATIO, text("21:9")), (SEED, Value::Integer(42))]).unwrap();
        assert_eq!((wide.frame, wide.seed), (Frame::Ratio("21:9"), Some(42)));
        let styled = plan(&[
            (MODEL, text("image-01-live")),
            (STYLE, text("watercolor")),
            (STYLE_WEIGHT, Value::Number(0.5)),
            (ASPECT_RATIO, text("9:16")),
        ])
        .unwrap();
        assert_eq!((styled.style, styled.frame), (Some((Style::Watercolor, Some(0.5))), Frame::Ratio("9:16")));
        let vendor: Vec<&str> = Style::ALL.iter().map(|s| s.vendor_name()).collect();
        assert_eq!(vendor, ["漫画", "元气", "中世纪", "水彩"]);
    }

    #[test]
    fn what_minimax_cannot_do_is_refused_by_name() {
        let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
            (
                vec![(WIDTH, Value::Integer(1024))],
                "options `width` and `height` of provider `minimax-image` go together: give both or neither",
            ),
            (
                vec![(WIDTH, Value::Integer(1024)), (HEIGHT, Value::Integer(1024)), (ASPECT_RATIO, text("16:9"))],
                "options `width`/`height` and `aspectRatio` of provider `minimax-image` exclude each other; got \
                 1024x1024 and 16:9",
            ),
            (
                vec![(WIDTH, Value::Integer(1001)), (HEIGHT, Value::Integer(1024))],
                "option `width` of provider `minimax-image` must be a multiple of 8 from 512 to 2048; got 1001",
            ),
            (
                vec![(MODEL, text("image-01-live")), (WIDTH, Value::Integer(1024)), (HEIGHT, Value::Integer(768))],
                "options `width` and `height` of provider `minimax-image` are only available with model image-01; \
                 got model `image-01-live` (use aspectRatio)",
            ),
            (
                vec![(MODEL, text("image-01-live")), (ASPECT_RATIO, text("21:9"))],
                "option `aspectRatio` of provider `minimax-image` must be one of 1:1, 16:9, 4:3, 3:2, 2:3, 3:4, 9:16 \
                 with model `image-01-live`; got 21:9",
            ),
            (
                vec![(STYLE, text("comic"))],
                "option `style` of provider `minimax-image` is only available with model image-01-live; got model \
                 `image-01`",
            ),
            (
                vec![(MODEL, text("image-01-live")), (STYLE_WEIGHT, Value::Number(0.3))],
                "option `styleWeight` of provider `minimax-image` needs option `style`",
            ),
            (
                vec![(MODEL, text("image-01-live")), (STYLE, text("comic")), (STYLE_WEIGHT, Value::Number(0.0))],
                "option `styleWeight` of provider `minimax-image` must be above 0 and at most 1; got 0",
            ),
        ];
        for (given, message) in cases {
            let failure = plan(&given).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message), "{given:?}");
        }
    }

    #[test]
    fn prompts_are_required_and_at_most_1500_characters() {
        let long = "字".repeat(MAX_PROMPT_CHARS + 1);
        let failure = Plan::of(&request(Some(&long), false, &[])).unwrap_err();
        assert_eq!(failure.message, "input.text is longer than MiniMax's limit of 1500 characters");
        assert!(Plan::of(&request(Some(&long[3..]), false, &[])).is_ok(), "characters, not bytes");
        let failure = Plan::of(&request(Some(" "), true, &[])).unwrap_err();
        assert_eq!(failure.message, "provider `minimax-image` needs a prompt in input.text");
    }

    #[test]
    fn settings_replace_the_default_model_by_offering_and_the_other_by_name() {
        assert_eq!(ImageModel::DEFAULT.setting_key(), "minimax-image");
        assert_eq!(ImageModel::Image01Live.setting_key(), "minimax-image.image-01-live");
    }
}
