//! What Black Forest Labs' FLUX models can do, and what they cost.
//!
//! Owns the five offerings (options, allowed values, defaults, prices) and
//! [`Plan`]: a validated request resolved against what its model really
//! takes. The host has already checked each option on its own (names,
//! kinds, allowed values, ranges); [`Plan::of`] checks what depends on
//! several of them:
//!
//! | offering (BFL endpoint)                         | size                                   | model-specific options |
//! |-------------------------------------------------|----------------------------------------|------------------------|
//! | `flux-dev` (`/v1/flux-dev`)                     | `aspectRatio` *or* `width`+`height`    | `steps`, `guidance` |
//! | `flux-pro` (`/v1/flux-pro`)                     | `aspectRatio` *or* `width`+`height`    | `steps`, `guidance`, `interval` |
//! | `flux-pro-1-1` (`/v1/flux-pro-1.1`)             | `aspectRatio` *or* `width`+`height`    | — |
//! | `flux-ultra` (`/v1/flux-pro-1.1-ultra`)         | `aspectRatio` (default 16:9), ~4 MP    | `quality` (`ultra`), `raw`, `imagePromptStrength` (with an image) |
//! | `flux-kontext` (`/v1/flux-kontext-pro`, `-max`) | `aspectRatio`, else the input image's  | `mode` (`pro`, `max`) |
//! | `flux-2-pro` (`/v1/flux-2-pro`)                 | `aspectRatio` *or* `width`+`height` (FLUX.2 sides), else the input image's | — |
//! | `flux-2-max` (`/v1/flux-2-max`)                 | as `flux-2-pro`                        | — |
//! | `flux-2-flex` (`/v1/flux-2-flex`)               | as `flux-2-pro`                        | `steps`, `guidance` |
//! | `flux-2-klein` (`/v1/flux-2-klein-9b`)          | as `flux-2-pro`                        | — |
//!
//! FLUX.2 sides are multiples of 16 from 64 to 2048 px, at most four
//! megapixels in all; FLUX.2 is priced per megapixel (first megapixel,
//! each further output megapixel, each input megapixel), so its credits
//! follow the size. FLUX.2 takes `input.image` as a reference to edit or
//! follow (`input_image`: an https URL as given, else base64).
//!
//! Every BFL model id (the endpoint's last segment) can be replaced by the
//! operator: `model.<offering>` for an offering's default model, and
//! `model.flux-kontext.max` for Kontext's `max` mode ([`Plan::setting_key`]).
//!
//! Sides are multiples of 32 between 256 and 1440 px; an aspect ratio on a
//! width/height model becomes the size in [`ASPECT_RATIOS`] (about one
//! megapixel). Every offering also takes `seed`, `safetyTolerance` and
//! `outputFormat` (FLUX.1 and FLUX.2 [flex] `promptUpsampling` too), and an
//! optional `input.image`: an image prompt (Redux) for the four FLUX.1
//! text-to-image models, the image to edit for Kontext and FLUX.2.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

/// Option names, as users send them (camelCase, as in the portal).
pub const ASPECT_RATIO: &str = "aspectRatio";
/// Output width in pixels (width/height models).
pub const WIDTH: &str = "width";
/// Output height in pixels (width/height models).
pub const HEIGHT: &str = "height";
/// BFL's `seed`.
pub const SEED: &str = "seed";
/// BFL's `steps` (`flux-dev`, `flux-pro`).
pub const STEPS: &str = "steps";
/// BFL's `guidance` (`flux-dev`, `flux-pro`).
pub const GUIDANCE: &str = "guidance";
/// BFL's `interval` (`flux-pro`).
pub const INTERVAL: &str = "interval";
/// BFL's `prompt_upsampling`.
pub const PROMPT_UPSAMPLING: &str = "promptUpsampling";
/// BFL's `safety_tolerance`.
pub const SAFETY_TOLERANCE: &str = "safetyTolerance";
/// BFL's `output_format`.
pub const OUTPUT_FORMAT: &str = "outputFormat";
/// The portal's `quality` (`flux-ultra`: only `ultra`).
pub const QUALITY: &str = "quality";
/// BFL's `raw` (`flux-ultra`).
pub const RAW: &str = "raw";
/// BFL's `image_prompt_strength` (`flux-ultra` with an image).
pub const IMAGE_PROMPT_STRENGTH: &str = "imagePromptStrength";
/// Kontext's tier: `pro` or `max` (two BFL endpoints).
pub const MODE: &str = "mode";

/// Smallest FLUX.2 side, in pixels.
pub const FLUX2_MIN_SIDE_PX: i64 = 64;
/// Largest FLUX.2 side accepted here, in pixels.
pub const FLUX2_MAX_SIDE_PX: i64 = 2048;
/// FLUX.2 sides are multiples of this many pixels.
pub const FLUX2_SIDE_STEP_PX: i64 = 16;
/// FLUX.2's largest image, in pixels (four megapixels).
pub const FLUX2_MAX_PIXELS: i64 = 4 * 1024 * 1024;
/// FLUX.2's `safety_tolerance` range: 0 (strict) to 5 (permissive).
pub const FLUX2_SAFETY_TOLERANCE_RANGE: (i64, i64) = (0, 5);

/// Smallest side BFL's width/height models render, in pixels.
pub const MIN_SIDE_PX: i64 = 256;
/// Largest side BFL's width/height models render, in pixels.
pub const MAX_SIDE_PX: i64 = 1440;
/// Sides must be multiples of this many pixels.
pub const SIDE_STEP_PX: i64 = 32;
/// BFL's own default size, sent when neither a ratio nor sides are given.
pub const DEFAULT_SIZE: Size = Size { width: 1024, height: 768 };
/// `flux-ultra`'s default aspect ratio (BFL's default).
pub const ULTRA_DEFAULT_RATIO: &str = "16:9";
/// Largest seed accepted: BFL documents no bound; 32 bits is what every
/// FLUX pipeline uses.
pub const MAX_SEED: i64 = u32::MAX as i64;
/// BFL's `safety_tolerance` range: 0 (strict) to 6 (permissive); 2 by default.
pub const SAFETY_TOLERANCE_RANGE: (i64, i64) = (0, 6);
/// BFL's default `safety_tolerance`.
pub const DEFAULT_SAFETY_TOLERANCE: i64 = 2;

/// Output pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

/// The aspect ratios every offering accepts (all within BFL's 21:9 to 9:21),
/// with the size a width/height model renders for each: about one
/// megapixel, both sides multiples of 32 and at most 1440. `flux-ultra` and
/// `flux-kontext` pass the ratio itself to BFL.
pub const ASPECT_RATIOS: &[(&str, Size)] = &[
    ("1:1", Size { width: 1024, height: 1024 }),
    ("16:9", Size { width: 1344, height: 768 }),
    ("9:16", Size { width: 768, height: 1344 }),
    ("4:3", Size { width: 1152, height: 864 }),
    ("3:4", Size { width: 864, height: 1152 }),
    ("3:2", Size { width: 1248, height: 832 }),
    ("2:3", Size { width: 832, height: 1248 }),
    ("5:4", Size { width: 1120, height: 896 }),
    ("4:5", Size { width: 896, height: 1120 }),
    ("21:9", Size { width: 1344, height: 576 }),
    ("9:21", Size { width: 576, height: 1344 }),
];

/// The `ASPECT_RATIOS` entry named `name`, with its `'static` spelling.
pub fn aspect_ratio(name: &str) -> Option<(&'static str, Size)> {
    ASPECT_RATIOS.iter().find(|(n, _)| *n == name).copied()
}

/// A FLUX model, one per offering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// FLUX.1 [dev].
    Dev,
    /// FLUX.1 [pro].
    Pro,
    /// FLUX1.1 [pro].
    Pro11,
    /// FLUX1.1 [pro] Ultra (and Raw).
    Ultra,
    /// FLUX.1 Kontext [pro] or [max].
    Kontext,
    /// FLUX.2 [pro]: BFL's recommended default for generation and editing.
    Flux2Pro,
    /// FLUX.2 [max]: the highest-quality FLUX.2 model.
    Flux2Max,
    /// FLUX.2 [flex]: adjustable steps and guidance, strong typography.
    Flux2Flex,
    /// FLUX.2 [klein] 9B: the fast, inexpensive FLUX.2 model.
    Flux2Klein,
}

impl Model {
    /// Every model, in manifest order.
    pub const ALL: [Model; 9] = [
        Model::Dev,
        Model::Pro,
        Model::Pro11,
        Model::Ultra,
        Model::Kontext,
        Model::Flux2Pro,
        Model::Flux2Max,
        Model::Flux2Flex,
        Model::Flux2Klein,
    ];

    /// The offering id (the portal's provider id).
    pub fn id(self) -> &'static str {
        match self {
            Model::Dev => "flux-dev",
            Model::Pro => "flux-pro",
            // The host's ids are `a-z0-9-`: no dot in "1.1".
            Model::Pro11 => "flux-pro-1-1",
            Model::Ultra => "flux-ultra",
            Model::Kontext => "flux-kontext",
            Model::Flux2Pro => "flux-2-pro",
            Model::Flux2Max => "flux-2-max",
            Model::Flux2Flex => "flux-2-flex",
            Model::Flux2Klein => "flux-2-klein",
        }
    }

    /// Whether the model is one of the FLUX.2 family (per-megapixel
    /// prices, FLUX.2 sides, `input_image` references).
    pub fn flux2(self) -> bool {
        matches!(self, Model::Flux2Pro | Model::Flux2Max | Model::Flux2Flex | Model::Flux2Klein)
    }

    /// FLUX.2 prices in tenths of a US cent: the first output megapixel,
    /// and each further output or input megapixel (BFL's pricing table).
    fn flux2_tenths(self) -> (u64, u64) {
        match self {
            Model::Flux2Pro => (30, 15),
            Model::Flux2Max => (70, 30),
            Model::Flux2Flex => (50, 50),
            Model::Flux2Klein => (15, 2),
            _ => (0, 0),
        }
    }

    /// The model an offering id names.
    pub fn from_id(id: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.id() == id)
    }

    /// Whether the model takes `width`/`height` (else an aspect ratio).
    pub fn sized(self) -> bool {
        matches!(self, Model::Dev | Model::Pro | Model::Pro11)
    }

    /// Credits per image at default options: BFL's list price in US cents,
    /// rounded up (see the README).
    fn base_credits(self) -> u32 {
        match self {
            Model::Dev => 3,   // $0.025
            Model::Pro => 5,   // $0.05
            Model::Pro11 => 4, // $0.04
            Model::Ultra => 6, // $0.06, Raw included
            Model::Kontext => KontextMode::Pro.credits(),
            // One megapixel from text.
            Model::Flux2Pro | Model::Flux2Max | Model::Flux2Flex | Model::Flux2Klein => {
                self.flux2_tenths().0.div_ceil(10) as u32
            }
        }
    }

    /// Typical seconds to an image (BFL renders FLUX.1 images in seconds;
    /// Ultra's 4 MP and [pro]'s 40 steps take longer).
    fn estimated_seconds(self) -> u32 {
        match self {
            Model::Dev => 10,
            Model::Pro => 15,
            Model::Pro11 => 8,
            Model::Ultra => 15,
            Model::Kontext => 10,
            Model::Flux2Pro => 10,
            Model::Flux2Max => 20,
            Model::Flux2Flex => 20,
            Model::Flux2Klein => 3,
        }
    }
}

/// Kontext's tier: two BFL endpoints with one request shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KontextMode {
    /// FLUX.1 Kontext [pro] (the default).
    Pro,
    /// FLUX.1 Kontext [max]: better prompt adherence and typography.
    Max,
}

impl KontextMode {
    /// Every mode, in the order the `mode` option lists them.
    pub const ALL: [KontextMode; 2] = [KontextMode::Pro, KontextMode::Max];

    /// The `mode` option value.
    pub fn name(self) -> &'static str {
        match self {
            KontextMode::Pro => "pro",
            KontextMode::Max => "max",
        }
    }

    fn from_name(name: &str) -> Option<KontextMode> {
        KontextMode::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Credits per image: $0.04 and $0.08.
    fn credits(self) -> u32 {
        match self {
            KontextMode::Pro => 4,
            KontextMode::Max => 8,
        }
    }
}

/// The file BFL delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `jpeg` (BFL's default for most models, and ours for all).
    Jpeg,
    /// `png`.
    Png,
}

impl OutputFormat {
    /// The `outputFormat` option value, also BFL's `output_format`.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
        }
    }

    /// The artifact's MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
        }
    }

    fn from_name(name: &str) -> Option<OutputFormat> {
        [OutputFormat::Jpeg, OutputFormat::Png].into_iter().find(|f| f.name() == name)
    }
}

/// How the output size is asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// `width` and `height` (`flux-dev`, `flux-pro`, `flux-pro-1-1`).
    Pixels(Size),
    /// `aspect_ratio` (`flux-ultra`; `flux-kontext`, where `None` lets BFL
    /// follow the input image).
    Ratio(Option<&'static str>),
}

/// Model-specific sampling settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tuning {
    /// `flux-pro-1-1`: nothing to tune.
    None,
    /// `flux-dev` and `flux-pro`: steps and guidance; `interval` for [pro].
    Sampling {
        /// BFL's `steps`.
        steps: i64,
        /// BFL's `guidance`.
        guidance: f64,
        /// BFL's `interval` (`flux-pro` only).
        interval: Option<f64>,
    },
    /// `flux-ultra`.
    Ultra {
        /// BFL's `raw`.
        raw: bool,
        /// BFL's `image_prompt_strength`, sent with an image prompt only.
        image_prompt_strength: Option<f64>,
    },
    /// `flux-kontext`.
    Kontext(KontextMode),
    /// The FLUX.2 models; steps and guidance for [flex] only.
    Flux2 {
        /// BFL's `steps` (`flux-2-flex`).
        steps: Option<i64>,
        /// BFL's `guidance` (`flux-2-flex`).
        guidance: Option<f64>,
    },
}

/// A request resolved against its model: what BFL is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model (the offering).
    pub model: Model,
    /// The output size or ratio.
    pub shape: Shape,
    /// Model-specific settings.
    pub tuning: Tuning,
    /// BFL's `seed`, when given.
    pub seed: Option<i64>,
    /// BFL's `prompt_upsampling`.
    pub prompt_upsampling: bool,
    /// BFL's `safety_tolerance`.
    pub safety_tolerance: i64,
    /// BFL's `output_format`.
    pub format: OutputFormat,
    /// Whether `input.image` is given (image prompt, or the image to edit).
    pub image: bool,
}

impl Plan {
    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and what is allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let model = Model::from_id(&request.offering).ok_or_else(|| {
            failure::invalid_input(format!("offering `{}` is not served by the flux plugin", request.offering))
        })?;
        let id = model.id();
        if request.input.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(failure::invalid_input(format!("provider `{id}` needs input.text: the prompt")));
        }
        let options = Options::of(request);
        let image = request.input.image.is_some();
        let shape = shape(model, options)?;
        let tuning = match model {
            Model::Dev => Tuning::Sampling {
                steps: options.integer(STEPS).unwrap_or(28),
                guidance: options.number(GUIDANCE).unwrap_or(3.0),
                interval: None,
            },
            Model::Pro => Tuning::Sampling {
                steps: options.integer(STEPS).unwrap_or(40),
                guidance: options.number(GUIDANCE).unwrap_or(2.5),
                interval: Some(options.number(INTERVAL).unwrap_or(2.0)),
            },
            Model::Pro11 => Tuning::None,
            Model::Ultra => {
                let strength = options.number(IMAGE_PROMPT_STRENGTH);
                if strength.is_some() && !image {
                    return Err(failure::invalid_input(format!(
                        "option `{IMAGE_PROMPT_STRENGTH}` of provider `{id}` needs input.image, the image prompt \
                         it weighs"
                    )));
                }
                Tuning::Ultra { raw: options.flag(RAW).unwrap_or(false), image_prompt_strength: strength }
            }
            Model::Flux2Flex => Tuning::Flux2 {
                steps: Some(options.integer(STEPS).unwrap_or(50)),
                guidance: Some(options.number(GUIDANCE).unwrap_or(4.5)),
            },
            Model::Flux2Pro | Model::Flux2Max | Model::Flux2Klein => Tuning::Flux2 { steps: None, guidance: None },
            Model::Kontext => {
                let mode = options.text(MODE).map_or(Some(KontextMode::Pro), KontextMode::from_name);
                let mode = mode.ok_or_else(|| {
                    failure::invalid_input(format!("option `{MODE}` of provider `{id}` must be one of pro, max"))
                })?;
                Tuning::Kontext(mode)
            }
        };
        let format = options.text(OUTPUT_FORMAT).map_or(Some(OutputFormat::Jpeg), OutputFormat::from_name);
        let format = format.ok_or_else(|| {
            failure::invalid_input(format!("option `{OUTPUT_FORMAT}` of provider `{id}` must be one of jpeg, png"))
        })?;
        Ok(Plan {
            model,
            shape,
            tuning,
            seed: options.integer(SEED),
            prompt_upsampling: options.flag(PROMPT_UPSAMPLING).unwrap_or(model == Model::Flux2Flex),
            safety_tolerance: options.integer(SAFETY_TOLERANCE).unwrap_or(DEFAULT_SAFETY_TOLERANCE),
            format,
            image,
        })
    }

    /// BFL's built-in endpoint path for this request (`/v1/<model>`); the
    /// operator's setting may replace the model ([`Plan::vendor_endpoint`]).
    pub fn endpoint(&self) -> &'static str {
        match (self.model, &self.tuning) {
            (Model::Flux2Pro, _) => "/v1/flux-2-pro",
            (Model::Flux2Max, _) => "/v1/flux-2-max",
            (Model::Flux2Flex, _) => "/v1/flux-2-flex",
            (Model::Flux2Klein, _) => "/v1/flux-2-klein-9b",
            (Model::Dev, _) => "/v1/flux-dev",
            (Model::Pro, _) => "/v1/flux-pro",
            (Model::Pro11, _) => "/v1/flux-pro-1.1",
            (Model::Ultra, _) => "/v1/flux-pro-1.1-ultra",
            (Model::Kontext, Tuning::Kontext(KontextMode::Max)) => "/v1/flux-kontext-max",
            (Model::Kontext, _) => "/v1/flux-kontext-pro",
        }
    }

    /// The settings name under which the operator replaces this request's
    /// model: the offering id (setting `model.<offering>`), or
    /// `flux-kontext.max` (`model.flux-kontext.max`) for Kontext [max].
    pub fn setting_key(&self) -> String {
        match self.tuning {
            Tuning::Kontext(KontextMode::Max) => format!("{}.{}", self.model.id(), KontextMode::Max.name()),
            _ => self.model.id().to_string(),
        }
    }

    /// The endpoint path BFL is sent: `/v1/` and the operator's model id
    /// for [`setting_key`](Self::setting_key), else [`endpoint`](Self::endpoint).
    pub fn vendor_endpoint(&self) -> String {
        let built_in = self.endpoint().trim_start_matches("/v1/");
        format!("/v1/{}", model_id(&self.setting_key(), built_in))
    }

    /// Whether a request for this plan sends `prompt_upsampling` (FLUX.2
    /// takes it on [flex] only).
    pub fn sends_prompt_upsampling(&self) -> bool {
        !self.model.flux2() || self.model == Model::Flux2Flex
    }

    /// The options the price rules read.
    fn priced_options(&self) -> Vec<(String, Value)> {
        match self.tuning {
            Tuning::Kontext(mode) => vec![(MODE.to_string(), Value::Text(mode.name().into()))],
            _ => Vec::new(),
        }
    }

    /// Credits, by the offering's price rules; FLUX.2 by megapixels: the
    /// first output megapixel, each further one, and one megapixel per
    /// input image (its real size is unknown at quote), rounded up once.
    pub fn credits(&self) -> u32 {
        if !self.model.flux2() {
            return spec::price(&offering(self.model), &self.priced_options());
        }
        const PIXELS_PER_MP: u64 = 1_000_000;
        let (first, more) = self.model.flux2_tenths();
        let pixels = self.size().map_or(PIXELS_PER_MP, |s| u64::from(s.width) * u64::from(s.height));
        let extra_output = pixels.saturating_sub(PIXELS_PER_MP);
        let input = if self.image { PIXELS_PER_MP } else { 0 };
        let tenths_times_mp = first * PIXELS_PER_MP + more * (extra_output + input);
        tenths_times_mp.div_ceil(10 * PIXELS_PER_MP) as u32
    }

    /// Typical seconds to the image.
    pub fn estimated_seconds(&self) -> u32 {
        match self.tuning {
            Tuning::Kontext(KontextMode::Max) => 15,
            _ => self.model.estimated_seconds(),
        }
    }

    /// The output's pixels, when the request fixes them (width/height
    /// models); the host reads the others from the file.
    pub fn size(&self) -> Option<Size> {
        match self.shape {
            Shape::Pixels(size) => Some(size),
            Shape::Ratio(_) => None,
        }
    }
}

/// The output size or ratio a request asks for.
fn shape(model: Model, options: Options) -> Result<Shape, Failure> {
    let id = model.id();
    let ratio = match options.text(ASPECT_RATIO) {
        None => None,
        Some(name) => Some(aspect_ratio(name).ok_or_else(|| {
            let names: Vec<&str> = ASPECT_RATIOS.iter().map(|(n, _)| *n).collect();
            failure::invalid_input(format!(
                "option `{ASPECT_RATIO}` of provider `{id}` must be one of {}; got {name}",
                names.join(", ")
            ))
        })?),
    };
    if model.flux2() {
        return flux2_shape(id, ratio, options);
    }
    if !model.sized() {
        let default = (model == Model::Ultra).then_some(ULTRA_DEFAULT_RATIO);
        return Ok(Shape::Ratio(ratio.map(|(name, _)| name).or(default)));
    }
    let size = match (ratio, options.integer(WIDTH), options.integer(HEIGHT)) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(failure::invalid_input(format!(
                "options `{ASPECT_RATIO}` and `{WIDTH}`/`{HEIGHT}` of provider `{id}` exclude each other: give an \
                 aspect ratio or both sides"
            )));
        }
        (Some((_, size)), None, None) => size,
        (None, None, None) => DEFAULT_SIZE,
        (None, Some(_), None) => return Err(missing_side(id, HEIGHT, WIDTH)),
        (None, None, Some(_)) => return Err(missing_side(id, WIDTH, HEIGHT)),
        (None, Some(width), Some(height)) => Size { width: side(id, WIDTH, width)?, height: side(id, HEIGHT, height)? },
    };
    Ok(Shape::Pixels(size))
}

/// A FLUX.2 request's size: an aspect ratio (about one megapixel, as
/// [`ASPECT_RATIOS`]), both sides, or neither (BFL follows the input
/// image, or renders its default).
fn flux2_shape(id: &str, ratio: Option<(&'static str, Size)>, options: Options) -> Result<Shape, Failure> {
    let side = |name: &str, pixels: i64| -> Result<u32, Failure> {
        if (FLUX2_MIN_SIDE_PX..=FLUX2_MAX_SIDE_PX).contains(&pixels) && pixels % FLUX2_SIDE_STEP_PX == 0 {
            Ok(pixels as u32)
        } else {
            Err(failure::invalid_input(format!(
                "option `{name}` of provider `{id}` must be a multiple of {FLUX2_SIDE_STEP_PX} between \
                 {FLUX2_MIN_SIDE_PX} and {FLUX2_MAX_SIDE_PX}; got {pixels}"
            )))
        }
    };
    match (ratio, options.integer(WIDTH), options.integer(HEIGHT)) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(failure::invalid_input(format!(
            "options `{ASPECT_RATIO}` and `{WIDTH}`/`{HEIGHT}` of provider `{id}` exclude each other: give an \
             aspect ratio or both sides"
        ))),
        (Some((_, size)), None, None) => Ok(Shape::Pixels(size)),
        (None, None, None) => Ok(Shape::Ratio(None)),
        (None, Some(_), None) => Err(missing_side(id, HEIGHT, WIDTH)),
        (None, None, Some(_)) => Err(missing_side(id, WIDTH, HEIGHT)),
        (None, Some(width), Some(height)) => {
            let size = Size { width: side(WIDTH, width)?, height: side(HEIGHT, height)? };
            if i64::from(size.width) * i64::from(size.height) > FLUX2_MAX_PIXELS {
                return Err(failure::invalid_input(format!(
                    "options `{WIDTH}` x `{HEIGHT}` of provider `{id}` must make at most four megapixels \
                     ({FLUX2_MAX_PIXELS} pixels); got {}x{}",
                    size.width, size.height
                )));
            }
            Ok(Shape::Pixels(size))
        }
    }
}

fn missing_side(id: &str, missing: &str, given: &str) -> Failure {
    failure::invalid_input(format!(
        "option `{missing}` of provider `{id}` is required with `{given}`: give both sides (multiples of \
         {SIDE_STEP_PX} between {MIN_SIDE_PX} and {MAX_SIDE_PX}) or `{ASPECT_RATIO}`"
    ))
}

/// A side BFL renders: a multiple of 32 in 256..=1440.
fn side(id: &str, name: &str, pixels: i64) -> Result<u32, Failure> {
    if (MIN_SIDE_PX..=MAX_SIDE_PX).contains(&pixels) && pixels % SIDE_STEP_PX == 0 {
        Ok(pixels as u32)
    } else {
        Err(failure::invalid_input(format!(
            "option `{name}` of provider `{id}` must be a multiple of {SIDE_STEP_PX} between {MIN_SIDE_PX} and \
             {MAX_SIDE_PX}; got {pixels}"
        )))
    }
}

/// Every offering, in manifest order.
pub fn offerings() -> Vec<Offering> {
    Model::ALL.into_iter().map(offering).collect()
}

/// The offering of `model`.
pub fn offering(model: Model) -> Offering {
    let ratios: Vec<&str> = ASPECT_RATIOS.iter().map(|(n, _)| *n).collect();
    let (name, description) = match model {
        Model::Dev => (
            "Flux Dev",
            "FLUX.1 [dev] by Black Forest Labs: the fast, inexpensive FLUX model for iterating on prompts. Any \
             aspect ratio, or exact sides up to 1440 px; tunable steps and guidance; an optional image prompt.",
        ),
        Model::Pro => (
            "Flux Pro",
            "FLUX.1 [pro] by Black Forest Labs: professional image generation with fine detail and control over \
             steps, guidance and guidance interval; sides up to 1440 px; an optional image prompt.",
        ),
        Model::Pro11 => (
            "Flux Pro 1.1",
            "FLUX1.1 [pro] by Black Forest Labs: better prompt understanding and composition than FLUX.1 [pro], \
             and faster; sides up to 1440 px; an optional image prompt.",
        ),
        Model::Ultra => (
            "Flux Pro 1.1 Ultra",
            "FLUX1.1 [pro] Ultra by Black Forest Labs: about four-megapixel images at any aspect ratio from 21:9 \
             to 9:21; `raw` gives a less processed, more natural look; an optional image prompt with adjustable \
             strength.",
        ),
        Model::Kontext => (
            "Flux Kontext",
            "FLUX.1 Kontext by Black Forest Labs: context-aware generation and image editing. Give input.image \
             and describe the change, or generate from text alone. `mode` picks [pro] or [max] (better prompt \
             adherence and typography).",
        ),
        Model::Flux2Pro => (
            "Flux 2 Pro",
            "FLUX.2 [pro] by Black Forest Labs: BFL's recommended default for generation and editing. Photoreal \
             detail, legible text, hex-code colours; give input.image to edit it or use it as a reference. Sides \
             up to 2048 px (4 MP), priced per megapixel.",
        ),
        Model::Flux2Max => (
            "Flux 2 Max",
            "FLUX.2 [max] by Black Forest Labs: the highest-quality FLUX.2 model for final assets, generation or \
             editing with input.image. Sides up to 2048 px (4 MP), priced per megapixel.",
        ),
        Model::Flux2Flex => (
            "Flux 2 Flex",
            "FLUX.2 [flex] by Black Forest Labs: quality with control, adjustable steps and guidance, strong \
             typography; generation or editing with input.image. Priced per megapixel.",
        ),
        Model::Flux2Klein => (
            "Flux 2 Klein",
            "FLUX.2 [klein] 9B by Black Forest Labs: sub-second, inexpensive generation and editing for high \
             volume. Priced per megapixel.",
        ),
    };
    let features: &[&str] = match model {
        Model::Dev | Model::Pro => {
            &["text-to-image", "image prompt", "any aspect ratio", "custom size", "steps and guidance", "seed"]
        }
        Model::Pro11 => &["text-to-image", "image prompt", "any aspect ratio", "custom size", "seed"],
        Model::Ultra => {
            &["text-to-image", "image prompt", "4 MP output", "aspect ratios 21:9 to 9:21", "raw mode", "seed"]
        }
        Model::Kontext => &["image editing", "reference image", "text-to-image", "pro and max modes", "seed"],
        Model::Flux2Flex => {
            &["text-to-image", "image editing", "reference image", "custom size", "steps and guidance", "seed"]
        }
        Model::Flux2Pro | Model::Flux2Max | Model::Flux2Klein => {
            &["text-to-image", "image editing", "reference image", "custom size", "seed"]
        }
    };
    let mut limitations =
        vec!["one image per request", "the prompt is required", "cancelling stops the wait only: BFL bills the image"];
    limitations.push(match model {
        Model::Dev | Model::Pro | Model::Pro11 => {
            "sides are multiples of 32 between 256 and 1440 px (aspect ratios map to about one megapixel)"
        }
        Model::Ultra => "no width/height: the size follows the aspect ratio (about 4 MP); quality is always ultra",
        Model::Kontext => "no width/height: the size follows aspectRatio, else the input image",
        Model::Flux2Pro | Model::Flux2Max | Model::Flux2Flex | Model::Flux2Klein => {
            "sides are multiples of 16 between 64 and 2048 px, at most 4 MP; priced per megapixel (an input image \
             counts as one)"
        }
    });
    let mut builder = OfferingBuilder::new(model.id(), name, &[MediaKind::Image])
        .description(description)
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[InputField::Text])
        .features(features)
        .limitations(&limitations)
        .quality(match model {
            Model::Dev => 70,
            Model::Pro => 78,
            Model::Pro11 => 84,
            Model::Ultra => 92,
            Model::Kontext => 86,
            Model::Flux2Pro => 93,
            Model::Flux2Max => 96,
            Model::Flux2Flex => 91,
            Model::Flux2Klein => 80,
        })
        .credits(model.base_credits())
        .estimated_seconds(model.estimated_seconds());
    if model.flux2() {
        // FLUX.2 takes an image URL as it is (and base64 for data: URIs).
    } else if model != Model::Kontext {
        // BFL's image prompt is base64 only: the host fetches URLs for us.
        builder = builder.needs_bytes(&[InputField::Image]);
    } else {
        // Kontext takes an image URL as it is (and base64 for data: URIs).
        let modes: Vec<&str> = KontextMode::ALL.iter().map(|m| m.name()).collect();
        builder = builder
            .option(
                OptionBuilder::text(MODE, "Kontext tier: pro, or max for better prompt adherence and typography")
                    .allowed(&modes)
                    .default_text(KontextMode::Pro.name()),
            )
            .price(&[(MODE, Value::Text(KontextMode::Max.name().into()))], KontextMode::Max.credits(), false);
    }
    builder = match model {
        Model::Dev | Model::Pro | Model::Pro11 => builder
            .option(
                OptionBuilder::text(
                    ASPECT_RATIO,
                    "Aspect ratio, rendered at about one megapixel; excludes width/height (default 1024x768)",
                )
                .allowed(&ratios),
            )
            .option(
                OptionBuilder::integer(WIDTH, "Width in pixels, a multiple of 32; needs height")
                    .range(MIN_SIDE_PX as f64, MAX_SIDE_PX as f64),
            )
            .option(
                OptionBuilder::integer(HEIGHT, "Height in pixels, a multiple of 32; needs width")
                    .range(MIN_SIDE_PX as f64, MAX_SIDE_PX as f64),
            ),
        Model::Ultra => builder
            .option(
                OptionBuilder::text(ASPECT_RATIO, "Aspect ratio of the ~4 MP image")
                    .allowed(&ratios)
                    .default_text(ULTRA_DEFAULT_RATIO),
            )
            .option(
                OptionBuilder::text(QUALITY, "Output quality: Ultra renders one quality, ultra (~4 MP)")
                    .allowed(&["ultra"])
                    .default_text("ultra"),
            )
            .option(OptionBuilder::flag(RAW, "Raw mode: a less processed, more natural look").default_flag(false)),
        Model::Kontext => builder.option(
            OptionBuilder::text(ASPECT_RATIO, "Aspect ratio; when omitted, the input image's (1:1 from text alone)")
                .allowed(&ratios),
        ),
        Model::Flux2Pro | Model::Flux2Max | Model::Flux2Flex | Model::Flux2Klein => builder
            .option(
                OptionBuilder::text(
                    ASPECT_RATIO,
                    "Aspect ratio, rendered at about one megapixel; excludes width/height (when all are omitted, \
                     the input image's size or BFL's default)",
                )
                .allowed(&ratios),
            )
            .option(
                OptionBuilder::integer(WIDTH, "Width in pixels, a multiple of 16; needs height; at most 4 MP in all")
                    .range(FLUX2_MIN_SIDE_PX as f64, FLUX2_MAX_SIDE_PX as f64),
            )
            .option(
                OptionBuilder::integer(HEIGHT, "Height in pixels, a multiple of 16; needs width; at most 4 MP in all")
                    .range(FLUX2_MIN_SIDE_PX as f64, FLUX2_MAX_SIDE_PX as f64),
            ),
    };
    builder = builder.option(
        OptionBuilder::integer(SEED, "Seed for reproducible results; random when omitted").range(0.0, MAX_SEED as f64),
    );
    builder = match model {
        Model::Dev => builder
            .option(OptionBuilder::integer(STEPS, "Diffusion steps").range(1.0, 50.0).default_integer(28))
            .option(OptionBuilder::number(GUIDANCE, "Prompt guidance").range(1.5, 5.0).default_number(3.0)),
        Model::Pro => builder
            .option(OptionBuilder::integer(STEPS, "Diffusion steps").range(1.0, 50.0).default_integer(40))
            .option(OptionBuilder::number(GUIDANCE, "Prompt guidance").range(1.5, 5.0).default_number(2.5))
            .option(
                OptionBuilder::number(INTERVAL, "Guidance interval: higher is more varied and dynamic")
                    .range(1.0, 4.0)
                    .default_number(2.0),
            ),
        Model::Ultra => builder.option(
            OptionBuilder::number(IMAGE_PROMPT_STRENGTH, "How much input.image shapes the result (BFL's default 0.1)")
                .range(0.0, 1.0),
        ),
        Model::Flux2Flex => builder
            .option(OptionBuilder::integer(STEPS, "Diffusion steps").range(1.0, 50.0).default_integer(50))
            .option(OptionBuilder::number(GUIDANCE, "Prompt guidance").range(1.5, 10.0).default_number(4.5)),
        Model::Pro11 | Model::Kontext | Model::Flux2Pro | Model::Flux2Max | Model::Flux2Klein => builder,
    };
    if !model.flux2() || model == Model::Flux2Flex {
        builder = builder.option(
            OptionBuilder::flag(PROMPT_UPSAMPLING, "Let BFL rewrite the prompt for more creative results")
                .default_flag(model == Model::Flux2Flex),
        );
    }
    let tolerance = if model.flux2() { FLUX2_SAFETY_TOLERANCE_RANGE } else { SAFETY_TOLERANCE_RANGE };
    builder
        .option(
            OptionBuilder::integer(
                SAFETY_TOLERANCE,
                &format!("Moderation: 0 is strictest, {} most permissive", tolerance.1),
            )
            .range(tolerance.0 as f64, tolerance.1 as f64)
            .default_integer(DEFAULT_SAFETY_TOLERANCE),
        )
        .option(
            OptionBuilder::text(OUTPUT_FORMAT, "File format")
                .allowed(&[OutputFormat::Jpeg.name(), OutputFormat::Png.name()])
                .default_text(OutputFormat::Jpeg.name()),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::Text(value.to_string())
    }

    /// A request as the host hands it over: defaults filled in.
    fn request(model: Model, image: bool, options: &[(&str, Value)]) -> JobRequest {
        let image = image.then(|| Media { url: "https://img.example/cat.png".into(), mime: None, bytes: None });
        JobRequest {
            offering: model.id().to_string(),
            kind: MediaKind::Image,
            input: JobInput { text: Some("a lighthouse at dusk".into()), image, audio: None, video: None, voice: None },
            options: spec::with_defaults(&offering(model), options),
        }
    }

    fn plan(model: Model, options: &[(&str, Value)]) -> Plan {
        Plan::of(&request(model, false, options)).unwrap()
    }

    fn refusal(model: Model, image: bool, options: &[(&str, Value)]) -> String {
        let failure = Plan::of(&request(model, image, options)).unwrap_err();
        assert_eq!(failure.code, FailureCode::InvalidInput);
        failure.message
    }

    #[test]
    fn offerings_follow_the_portal_ids_and_list_prices() {
        let offerings = offerings();
        let ids: Vec<&str> = offerings.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "flux-dev",
                "flux-pro",
                "flux-pro-1-1",
                "flux-ultra",
                "flux-kontext",
                "flux-2-pro",
                "flux-2-max",
                "flux-2-flex",
                "flux-2-klein"
            ]
        );
        for id in ids {
            let host_rule = id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(host_rule, "{id} breaks the host's id rule");
        }
        let credits: Vec<u32> = offerings.iter().map(|o| o.base_credits).collect();
        assert_eq!(credits, [3, 5, 4, 6, 4, 3, 7, 5, 2]);
        for offering in &offerings {
            assert_eq!(offering.kinds, [MediaKind::Image]);
            assert_eq!(offering.requires, [InputField::Text]);
            assert_eq!(offering.accepts, [InputField::Text, InputField::Image]);
            let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
            for common in [SEED, SAFETY_TOLERANCE, OUTPUT_FORMAT, ASPECT_RATIO] {
                assert!(names.contains(&common), "{} lacks {common}", offering.id);
            }
        }
        let kontext = offering(Model::Kontext);
        assert!(kontext.needs_bytes.is_empty(), "Kontext takes image URLs as they are");
        assert_eq!(offering(Model::Ultra).needs_bytes, [InputField::Image], "image prompts are base64 only");
    }

    #[test]
    fn options_per_offering_are_what_each_endpoint_takes() {
        let names = |model| -> Vec<String> { offering(model).options.into_iter().map(|o| o.name).collect() };
        let tail = [PROMPT_UPSAMPLING, SAFETY_TOLERANCE, OUTPUT_FORMAT];
        let sized = [ASPECT_RATIO, WIDTH, HEIGHT, SEED];
        assert_eq!(names(Model::Dev), [&sized[..], &[STEPS, GUIDANCE], &tail].concat());
        assert_eq!(names(Model::Pro), [&sized[..], &[STEPS, GUIDANCE, INTERVAL], &tail].concat());
        assert_eq!(names(Model::Pro11), [&sized[..], &tail].concat());
        assert_eq!(
            names(Model::Ultra),
            [&[ASPECT_RATIO, QUALITY, RAW, SEED, IMAGE_PROMPT_STRENGTH][..], &tail].concat()
        );
        assert_eq!(names(Model::Kontext), [&[MODE, ASPECT_RATIO, SEED][..], &tail].concat());
        let quality = offering(Model::Ultra).options.into_iter().find(|o| o.name == QUALITY).unwrap();
        assert_eq!((quality.allowed_values, quality.default), (vec![text("ultra")], Some(text("ultra"))));
    }

    #[test]
    fn aspect_ratio_sizes_are_sides_bfl_renders_at_about_one_megapixel() {
        for (name, size) in ASPECT_RATIOS {
            for pixels in [size.width, size.height] {
                let pixels = i64::from(pixels);
                assert!((MIN_SIDE_PX..=MAX_SIDE_PX).contains(&pixels) && pixels % SIDE_STEP_PX == 0, "{name}");
            }
            let (w, h) = name.split_once(':').unwrap();
            let wanted = w.parse::<f64>().unwrap() / h.parse::<f64>().unwrap();
            let got = f64::from(size.width) / f64::from(size.height);
            assert!((got / wanted - 1.0).abs() < 0.02, "{name}: {got} vs {wanted}");
            let megapixels = f64::from(size.width * size.height) / 1e6;
            assert!((0.75..=1.2).contains(&megapixels), "{name}: {megapixels} MP");
        }
    }

    #[test]
    fn defaults_resolve_to_bfl_defaults() {
        let dev = plan(Model::Dev, &[]);
        assert_eq!(dev.shape, Shape::Pixels(DEFAULT_SIZE));
        assert_eq!(dev.tuning, Tuning::Sampling { steps: 28, guidance: 3.0, interval: None });
        assert_eq!((dev.seed, dev.prompt_upsampling, dev.safety_tolerance), (None, false, 2));
        assert_eq!((dev.format, dev.endpoint(), dev.credits()), (OutputFormat::Jpeg, "/v1/flux-dev", 3));
        let pro = plan(Model::Pro, &[]);
        assert_eq!(pro.tuning, Tuning::Sampling { steps: 40, guidance: 2.5, interval: Some(2.0) });
        assert_eq!((pro.endpoint(), pro.credits()), ("/v1/flux-pro", 5));
        let pro11 = plan(Model::Pro11, &[]);
        assert_eq!((pro11.tuning, pro11.endpoint(), pro11.credits()), (Tuning::None, "/v1/flux-pro-1.1", 4));
        let ultra = plan(Model::Ultra, &[]);
        assert_eq!(ultra.shape, Shape::Ratio(Some("16:9")));
        assert_eq!(ultra.tuning, Tuning::Ultra { raw: false, image_prompt_strength: None });
        assert_eq!((ultra.endpoint(), ultra.credits(), ultra.size()), ("/v1/flux-pro-1.1-ultra", 6, None));
        let kontext = plan(Model::Kontext, &[]);
        assert_eq!((kontext.shape, kontext.tuning), (Shape::Ratio(None), Tuning::Kontext(KontextMode::Pro)));
        assert_eq!((kontext.endpoint(), kontext.credits()), ("/v1/flux-kontext-pro", 4));
    }

    #[test]
    fn options_map_to_the_plan() {
        let wide = plan(Model::Pro11, &[(ASPECT_RATIO, text("16:9")), (SEED, Value::Integer(7))]);
        assert_eq!((wide.shape, wide.seed), (Shape::Pixels(Size { width: 1344, height: 768 }), Some(7)));
        assert_eq!(wide.size(), Some(Size { width: 1344, height: 768 }));
        let exact = plan(Model::Dev, &[(WIDTH, Value::Integer(1440)), (HEIGHT, Value::Integer(256))]);
        assert_eq!(exact.shape, Shape::Pixels(Size { width: 1440, height: 256 }));
        let tuned = plan(
            Model::Pro,
            &[(STEPS, Value::Integer(50)), (GUIDANCE, Value::Number(4.5)), (INTERVAL, Value::Number(3.5))],
        );
        assert_eq!(tuned.tuning, Tuning::Sampling { steps: 50, guidance: 4.5, interval: Some(3.5) });
        let png = plan(
            Model::Dev,
            &[
                (OUTPUT_FORMAT, text("png")),
                (PROMPT_UPSAMPLING, Value::Flag(true)),
                (SAFETY_TOLERANCE, Value::Integer(6)),
            ],
        );
        assert_eq!((png.format, png.prompt_upsampling, png.safety_tolerance), (OutputFormat::Png, true, 6));
        let raw = plan(Model::Ultra, &[(ASPECT_RATIO, text("9:21")), (RAW, Value::Flag(true))]);
        assert_eq!(
            (raw.shape, raw.tuning),
            (Shape::Ratio(Some("9:21")), Tuning::Ultra { raw: true, image_prompt_strength: None })
        );
        let strength = Plan::of(&request(Model::Ultra, true, &[(IMAGE_PROMPT_STRENGTH, Value::Number(0.6))])).unwrap();
        assert_eq!(strength.tuning, Tuning::Ultra { raw: false, image_prompt_strength: Some(0.6) });
        assert!(strength.image);
        let max =
            Plan::of(&request(Model::Kontext, true, &[(MODE, text("max")), (ASPECT_RATIO, text("4:5"))])).unwrap();
        assert_eq!((max.endpoint(), max.credits(), max.estimated_seconds()), ("/v1/flux-kontext-max", 8, 15));
        assert_eq!(max.shape, Shape::Ratio(Some("4:5")));
    }

    #[test]
    fn the_portal_ultra_snippet_is_served() {
        let snippet =
            plan(Model::Ultra, &[(ASPECT_RATIO, text("16:9")), (QUALITY, text("ultra")), (SEED, Value::Integer(42))]);
        assert_eq!(snippet.shape, Shape::Ratio(Some("16:9")));
        assert_eq!((snippet.seed, snippet.credits()), (Some(42), 6));
    }

    #[test]
    fn impossible_combinations_are_refused_with_what_is_allowed() {
        type Case<'a> = (Model, bool, Vec<(&'a str, Value)>, &'a str);
        let cases: [Case; 7] = [
            (
                Model::Dev,
                false,
                vec![(ASPECT_RATIO, text("1:1")), (WIDTH, Value::Integer(512))],
                "options `aspectRatio` and `width`/`height` of provider `flux-dev` exclude each other: give an aspect \
                 ratio or both sides",
            ),
            (
                Model::Pro11,
                false,
                vec![(WIDTH, Value::Integer(512))],
                "option `height` of provider `flux-pro-1-1` is required with `width`: give both sides (multiples of \
                 32 between 256 and 1440) or `aspectRatio`",
            ),
            (
                Model::Pro,
                false,
                vec![(HEIGHT, Value::Integer(512))],
                "option `width` of provider `flux-pro` is required with `height`: give both sides (multiples of 32 \
                 between 256 and 1440) or `aspectRatio`",
            ),
            (
                Model::Dev,
                false,
                vec![(WIDTH, Value::Integer(1000)), (HEIGHT, Value::Integer(768))],
                "option `width` of provider `flux-dev` must be a multiple of 32 between 256 and 1440; got 1000",
            ),
            (
                Model::Dev,
                false,
                vec![(WIDTH, Value::Integer(1024)), (HEIGHT, Value::Integer(1460))],
                "option `height` of provider `flux-dev` must be a multiple of 32 between 256 and 1440; got 1460",
            ),
            (
                Model::Ultra,
                false,
                vec![(IMAGE_PROMPT_STRENGTH, Value::Number(0.5))],
                "option `imagePromptStrength` of provider `flux-ultra` needs input.image, the image prompt it weighs",
            ),
            (
                Model::Kontext,
                false,
                vec![(ASPECT_RATIO, text("7:3"))],
                "option `aspectRatio` of provider `flux-kontext` must be one of 1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3, \
                 5:4, 4:5, 21:9, 9:21; got 7:3",
            ),
        ];
        for (model, image, options, message) in cases {
            assert_eq!(refusal(model, image, &options), message);
        }
    }

    #[test]
    fn a_blank_prompt_or_a_foreign_offering_is_refused() {
        let mut blank = request(Model::Dev, false, &[]);
        blank.input.text = Some("  ".into());
        assert_eq!(Plan::of(&blank).unwrap_err().message, "provider `flux-dev` needs input.text: the prompt");
        let mut foreign = request(Model::Dev, false, &[]);
        foreign.offering = "flux-krea".into();
        assert_eq!(Plan::of(&foreign).unwrap_err().message, "offering `flux-krea` is not served by the flux plugin");
    }

    #[test]
    fn kontext_max_is_priced_by_rule() {
        let kontext = offering(Model::Kontext);
        let max = vec![(MODE.to_string(), text("max"))];
        assert_eq!((spec::price(&kontext, &max), spec::price(&kontext, &[])), (8, 4));
    }

    #[test]
    fn flux2_offerings_take_flux2_sides_and_price_per_megapixel() {
        let names = |model| -> Vec<String> { offering(model).options.into_iter().map(|o| o.name).collect() };
        let sized = [ASPECT_RATIO, WIDTH, HEIGHT, SEED];
        assert_eq!(names(Model::Flux2Pro), [&sized[..], &[SAFETY_TOLERANCE, OUTPUT_FORMAT]].concat());
        assert_eq!(
            names(Model::Flux2Flex),
            [&sized[..], &[STEPS, GUIDANCE, PROMPT_UPSAMPLING, SAFETY_TOLERANCE, OUTPUT_FORMAT]].concat()
        );
        assert!(offering(Model::Flux2Max).needs_bytes.is_empty(), "FLUX.2 takes image URLs as they are");
        // Neither size nor image: BFL's default, priced as one megapixel.
        let pro = plan(Model::Flux2Pro, &[]);
        assert_eq!((pro.shape, pro.endpoint(), pro.credits()), (Shape::Ratio(None), "/v1/flux-2-pro", 3));
        // 2048x2048 = 4.19 MP: 3c + 3.19 × 1.5c = 7.8c → 8.
        let big = plan(Model::Flux2Pro, &[(WIDTH, Value::Integer(2048)), (HEIGHT, Value::Integer(2048))]);
        assert_eq!((big.size(), big.credits()), (Some(Size { width: 2048, height: 2048 }), 8));
        // An input image adds a megapixel at the per-megapixel rate: max 7c + 3c.
        let edit = Plan::of(&request(Model::Flux2Max, true, &[])).unwrap();
        assert_eq!(edit.credits(), 10);
        let klein = plan(Model::Flux2Klein, &[(ASPECT_RATIO, text("1:1"))]);
        assert_eq!((klein.endpoint(), klein.credits()), ("/v1/flux-2-klein-9b", 2));
        let flex = plan(Model::Flux2Flex, &[]);
        assert_eq!(
            (flex.tuning, flex.prompt_upsampling),
            (Tuning::Flux2 { steps: Some(50), guidance: Some(4.5) }, true)
        );
        assert_eq!(
            refusal(Model::Flux2Pro, false, &[(WIDTH, Value::Integer(2040)), (HEIGHT, Value::Integer(1024))]),
            "option `width` of provider `flux-2-pro` must be a multiple of 16 between 64 and 2048; got 2040"
        );
    }

    #[test]
    fn settings_keys_name_the_offering_and_kontext_max() {
        assert_eq!(plan(Model::Dev, &[]).setting_key(), "flux-dev");
        assert_eq!(plan(Model::Kontext, &[]).setting_key(), "flux-kontext");
        assert_eq!(plan(Model::Kontext, &[(MODE, text("max"))]).setting_key(), "flux-kontext.max");
        assert_eq!(plan(Model::Flux2Klein, &[]).setting_key(), "flux-2-klein");
    }
}
