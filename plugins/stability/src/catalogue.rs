//! What Stability's image services can do, and what they cost.
//!
//! Owns the three offerings (options, allowed values, defaults, prices)
//! and [`Plan`]: a validated request resolved against the service's real
//! capabilities. The host has already checked each option on its own;
//! [`Plan::of`] checks the combinations:
//!
//! | offering (endpoint)                        | models | image-to-image | `outputFormat` | credits |
//! |--------------------------------------------|--------|----------------|----------------|---------|
//! | `stable-diffusion` (`generate/sd3`)        | `sd3.5-large` (default), `sd3.5-large-turbo`, `sd3.5-medium`, `sd3.5-flash` | yes | png, jpeg | 7, 4, 4, 3 |
//! | `stable-image-ultra` (`generate/ultra`)    | Stable Image Ultra | yes | png, jpeg, webp | 8 |
//! | `stable-image-core` (`generate/core`)      | Stable Image Core  | no  | png, jpeg, webp | 3 |
//!
//! Every offering takes `aspectRatio` (text-to-image only: an input image
//! sets the output's shape), `negativePrompt` (not with the turbo and flash
//! models, which do not honour it), `seed`, `outputFormat` and
//! `stylePreset`; image-to-image takes `strength`; `stable-diffusion` also
//! takes `model` and `cfgScale`.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

/// Option names, as users send them.
pub const MODEL: &str = "model";
/// Output shape, text-to-image only.
pub const ASPECT_RATIO: &str = "aspectRatio";
/// Stability's `negative_prompt`.
pub const NEGATIVE_PROMPT: &str = "negativePrompt";
/// Stability's `seed` (0 or absent: random).
pub const SEED: &str = "seed";
/// Stability's `output_format`.
pub const OUTPUT_FORMAT: &str = "outputFormat";
/// Stability's `style_preset`.
pub const STYLE_PRESET: &str = "stylePreset";
/// Stability's `cfg_scale` (SD 3.5 only).
pub const CFG_SCALE: &str = "cfgScale";
/// Stability's `strength` (image-to-image only).
pub const STRENGTH: &str = "strength";

/// Stability's limit for `prompt` and `negative_prompt`, in characters.
pub const MAX_PROMPT_CHARS: usize = 10_000;
/// Largest seed Stability accepts.
pub const MAX_SEED: f64 = 4_294_967_294.0;
/// `strength` when an image is given without one: half way between the
/// input (0) and a fresh image (1), as Stability's own clients default.
pub const DEFAULT_STRENGTH: f64 = 0.5;
/// Output shapes Stability renders (text-to-image).
pub const ASPECT_RATIOS: [&str; 9] = ["16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"];
/// Stability's aspect ratio when none is sent.
pub const DEFAULT_ASPECT_RATIO: &str = "1:1";
/// Stability's style presets.
pub const STYLE_PRESETS: [&str; 17] = [
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
];

/// One of the three offerings, i.e. one Stability endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `POST /v2beta/stable-image/generate/sd3`: the SD 3.5 models.
    StableDiffusion,
    /// `POST /v2beta/stable-image/generate/ultra`.
    Ultra,
    /// `POST /v2beta/stable-image/generate/core`.
    Core,
}

impl Service {
    /// Every service, in manifest order.
    pub const ALL: [Service; 3] = [Service::StableDiffusion, Service::Ultra, Service::Core];

    /// The public offering id.
    pub fn offering_id(self) -> &'static str {
        match self {
            Service::StableDiffusion => "stable-diffusion",
            Service::Ultra => "stable-image-ultra",
            Service::Core => "stable-image-core",
        }
    }

    /// The service an offering id names.
    pub fn from_offering(id: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.offering_id() == id)
    }

    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            Service::StableDiffusion => "/v2beta/stable-image/generate/sd3",
            Service::Ultra => "/v2beta/stable-image/generate/ultra",
            Service::Core => "/v2beta/stable-image/generate/core",
        }
    }

    /// Whether the endpoint takes an input image.
    pub fn image_to_image(self) -> bool {
        !matches!(self, Service::Core)
    }

    /// Output formats the endpoint writes (first: Stability's default).
    pub fn output_formats(self) -> &'static [ImageFormat] {
        match self {
            Service::StableDiffusion => &[ImageFormat::Png, ImageFormat::Jpeg],
            Service::Ultra | Service::Core => &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp],
        }
    }

    /// The models of the offering (the first is its default).
    pub fn models(self) -> &'static [Model] {
        match self {
            Service::StableDiffusion => &[Model::Sd35Large, Model::Sd35LargeTurbo, Model::Sd35Medium, Model::Sd35Flash],
            Service::Ultra => &[Model::Ultra],
            Service::Core => &[Model::Core],
        }
    }
}

/// A model, as the `model` option (or the offering) names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Stable Diffusion 3.5 Large.
    Sd35Large,
    /// Stable Diffusion 3.5 Large Turbo.
    Sd35LargeTurbo,
    /// Stable Diffusion 3.5 Medium.
    Sd35Medium,
    /// Stable Diffusion 3.5 Flash.
    Sd35Flash,
    /// Stable Image Ultra.
    Ultra,
    /// Stable Image Core.
    Core,
}

impl Model {
    /// Stability's id, also the `model` option value for SD 3.5.
    pub fn name(self) -> &'static str {
        match self {
            Model::Sd35Large => "sd3.5-large",
            Model::Sd35LargeTurbo => "sd3.5-large-turbo",
            Model::Sd35Medium => "sd3.5-medium",
            Model::Sd35Flash => "sd3.5-flash",
            Model::Ultra => "ultra",
            Model::Core => "core",
        }
    }

    /// The settings name under which the operator replaces this model's id:
    /// the offering id for an offering's default model (setting
    /// `model.stable-diffusion`, `model.stable-image-ultra`,
    /// `model.stable-image-core`), `stable-diffusion.<name>` for the other
    /// SD 3.5 models (e.g. `model.stable-diffusion.sd3.5-flash`).
    pub fn setting_key(self, service: Service) -> String {
        if service.models().first() == Some(&self) {
            service.offering_id().to_string()
        } else {
            format!("{}.{}", service.offering_id(), self.name())
        }
    }

    /// Stability's id as sent (SD 3.5's `model` field; Ultra's and Core's
    /// endpoint segment): the operator's replacement when set, else
    /// [`name`](Self::name).
    pub fn resolved_id(self, service: Service) -> String {
        model_id(&self.setting_key(service), self.name())
    }

    /// Credits per image: Stability's list price in credits ($0.01 each),
    /// rounded up to a whole credit.
    pub fn credits(self) -> u32 {
        match self {
            Model::Ultra => 8,
            Model::Sd35Large => 7,                          // 6.5
            Model::Sd35LargeTurbo | Model::Sd35Medium => 4, // 4, 3.5
            Model::Core | Model::Sd35Flash => 3,            // 3, 2.5
        }
    }

    /// Typical seconds to an image.
    pub fn estimated_seconds(self) -> u32 {
        match self {
            Model::Ultra => 15,
            Model::Sd35Large => 12,
            Model::Sd35Medium => 8,
            Model::Sd35LargeTurbo | Model::Core => 6,
            Model::Sd35Flash => 4,
        }
    }

    /// Whether the model honours a negative prompt (the few-step distilled
    /// models do not).
    pub fn takes_negative_prompt(self) -> bool {
        !matches!(self, Model::Sd35LargeTurbo | Model::Sd35Flash)
    }
}

/// An image file format: what Stability writes (`output_format`, PNG by
/// default, WebP on Ultra and Core only) and reads (`image`); the SDK's,
/// by the same names.
pub use doitong_plugin_sdk::image::ImageFormat;

/// The three offerings.
pub fn offerings() -> Vec<Offering> {
    Service::ALL.into_iter().map(offering).collect()
}

/// The offering of `service`.
pub fn offering(service: Service) -> Offering {
    let formats: Vec<&str> = service.output_formats().iter().map(|f| f.name()).collect();
    let (name, description, quality, features, limitations): (&str, &str, u8, &[&str], &[&str]) = match service {
        Service::StableDiffusion => (
            "Stable Diffusion 3.5",
            "Stability AI's open-weight Stable Diffusion 3.5 models through Stability's API: 3.5 Large by default, \
             Large Turbo, Medium and Flash. Text-to-image, or image-to-image from input.image guided by `strength`; \
             negative prompts, seeds, style presets and a guidance scale.",
            82,
            &["text-to-image", "image-to-image", "negative prompt", "seed", "style presets", "guidance scale"],
            &[
                "png or jpeg only",
                "sd3.5-large-turbo and sd3.5-flash take no negative prompt",
                "image-to-image follows the input image's shape: no aspectRatio",
                "input image: JPEG, PNG or WebP, at least 64 px a side, request at most 10 MiB",
                "prompt at most 10,000 characters",
            ],
        ),
        Service::Ultra => (
            "Stable Image Ultra",
            "Stability AI's highest-quality image service (built on Stable Diffusion 3.5): photorealistic detail \
             and typography. Text-to-image, or image-to-image from input.image guided by `strength`.",
            90,
            &["text-to-image", "image-to-image", "negative prompt", "seed", "style presets", "webp output"],
            &[
                "image-to-image follows the input image's shape: no aspectRatio",
                "input image: JPEG, PNG or WebP, at least 64 px a side, request at most 10 MiB",
                "prompt at most 10,000 characters",
            ],
        ),
        Service::Core => (
            "Stable Image Core",
            "Stability AI's fast, low-cost image service: text-to-image with style presets.",
            72,
            &["text-to-image", "negative prompt", "seed", "style presets", "webp output"],
            &["text-to-image only", "prompt at most 10,000 characters"],
        ),
    };
    let mut builder = OfferingBuilder::new(service.offering_id(), name, &[MediaKind::Image])
        .description(description)
        .accepts(if service.image_to_image() { &[InputField::Text, InputField::Image] } else { &[InputField::Text] })
        .requires(&[InputField::Text])
        .needs_bytes(if service.image_to_image() { &[InputField::Image] } else { &[] })
        .features(features)
        .limitations(limitations)
        .quality(quality);
    if service == Service::StableDiffusion {
        let models: Vec<&str> = service.models().iter().map(|m| m.name()).collect();
        builder = builder.option(
            OptionBuilder::text(
                MODEL,
                "Which Stable Diffusion 3.5 model generates the image (the operator's setting \
                 model.stable-diffusion replaces the default's id)",
            )
            .allowed(&models)
            .default_text(Model::Sd35Large.name()),
        );
    }
    builder = builder
        .option(
            OptionBuilder::text(
                ASPECT_RATIO,
                "Shape of the image (text-to-image only); 1:1 when omitted. With input.image the output keeps its shape",
            )
            .allowed(&ASPECT_RATIOS),
        )
        .option(OptionBuilder::text(NEGATIVE_PROMPT, "What the image should not show (at most 10,000 characters)"))
        .option(OptionBuilder::integer(SEED, "Seed for reproducible results; 0 or omitted: random").range(0.0, MAX_SEED))
        .option(OptionBuilder::text(OUTPUT_FORMAT, "File format of the image").allowed(&formats).default_text("png"))
        .option(OptionBuilder::text(STYLE_PRESET, "Steer the image towards a style").allowed(&STYLE_PRESETS));
    if service == Service::StableDiffusion {
        builder = builder.option(
            OptionBuilder::number(
                CFG_SCALE,
                "How strictly the image follows the prompt (1-10); the model's own default when omitted",
            )
            .range(1.0, 10.0),
        );
    }
    if service.image_to_image() {
        builder = builder.option(
            OptionBuilder::number(
                STRENGTH,
                "Image-to-image only: how far to move from input.image (0 keeps it, 1 ignores it); 0.5 when omitted",
            )
            .range(0.0, 1.0),
        );
    }
    let default = service.models()[0];
    builder = builder.credits(default.credits()).estimated_seconds(default.estimated_seconds());
    if service == Service::StableDiffusion {
        for &model in service.models() {
            builder = builder.price(&[(MODEL, Value::Text(model.name().into()))], model.credits(), false);
        }
    }
    builder.build()
}

/// A request resolved against its service: what Stability is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The endpoint.
    pub service: Service,
    /// The model (SD 3.5 sends it as `model`).
    pub model: Model,
    /// The prompt.
    pub prompt: String,
    /// Image-to-image: how far to move from the input (`strength`); `None`
    /// for text-to-image.
    pub strength: Option<f64>,
    /// `aspect_ratio` (text-to-image only).
    pub aspect_ratio: Option<&'static str>,
    /// `negative_prompt`.
    pub negative_prompt: Option<String>,
    /// `seed`; `None` lets Stability pick.
    pub seed: Option<i64>,
    /// `output_format`.
    pub output_format: ImageFormat,
    /// `style_preset`.
    pub style_preset: Option<String>,
    /// `cfg_scale` (SD 3.5 only).
    pub cfg_scale: Option<f64>,
}

impl Plan {
    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and what is allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let service = Service::from_offering(&request.offering).ok_or_else(|| {
            failure::invalid_input(format!("the stability plugin has no offering `{}`", request.offering))
        })?;
        let id = service.offering_id();
        let options = Options::of(request);
        let model = match options.text(MODEL) {
            Some(name) => *service.models().iter().find(|m| m.name() == name).ok_or_else(|| {
                let names: Vec<&str> = service.models().iter().map(|m| m.name()).collect();
                invalid_option(id, MODEL, &names.join(", "), name)
            })?,
            None => service.models()[0],
        };
        let prompt = request.input.text.as_deref().map(str::trim).unwrap_or_default();
        if prompt.is_empty() {
            return Err(failure::invalid_input(format!("provider `{id}` needs input.text (the prompt)")));
        }
        if prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(failure::invalid_input(format!(
                "input.text is longer than Stability's limit of {MAX_PROMPT_CHARS} characters"
            )));
        }
        let image = request.input.image.is_some();
        if image && !service.image_to_image() {
            return Err(failure::invalid_input(format!("provider `{id}` is text-to-image only: no input.image")));
        }
        let strength = match (image, options.number(STRENGTH)) {
            (true, strength) => Some(strength.unwrap_or(DEFAULT_STRENGTH)),
            (false, None) => None,
            (false, Some(_)) => {
                return Err(failure::invalid_input(format!(
                    "option `{STRENGTH}` of provider `{id}` applies only to image-to-image: give input.image or \
                     leave `{STRENGTH}` out"
                )));
            }
        };
        let aspect_ratio = match (options.text(ASPECT_RATIO), image) {
            (Some(ratio), true) => {
                return Err(failure::invalid_input(format!(
                    "option `{ASPECT_RATIO}` of provider `{id}` applies only to text-to-image: with input.image the \
                     output keeps the image's shape; got {ratio}"
                )));
            }
            (Some(ratio), false) => Some(
                *ASPECT_RATIOS
                    .iter()
                    .find(|r| **r == ratio)
                    .ok_or_else(|| invalid_option(id, ASPECT_RATIO, &ASPECT_RATIOS.join(", "), ratio))?,
            ),
            (None, false) => Some(DEFAULT_ASPECT_RATIO),
            (None, true) => None,
        };
        let negative_prompt = options.text(NEGATIVE_PROMPT).map(str::trim).filter(|n| !n.is_empty());
        if let Some(negative) = negative_prompt {
            if !model.takes_negative_prompt() {
                let takers: Vec<&str> =
                    service.models().iter().filter(|m| m.takes_negative_prompt()).map(|m| m.name()).collect();
                return Err(failure::invalid_input(format!(
                    "option `{NEGATIVE_PROMPT}` of provider `{id}` is not supported by model `{}`, which ignores \
                     negative prompts; models that take it: {}",
                    model.name(),
                    takers.join(", ")
                )));
            }
            if negative.chars().count() > MAX_PROMPT_CHARS {
                return Err(failure::invalid_input(format!(
                    "option `{NEGATIVE_PROMPT}` is longer than Stability's limit of {MAX_PROMPT_CHARS} characters"
                )));
            }
        }
        let format_name = options.text(OUTPUT_FORMAT).unwrap_or("png");
        let output_format =
            ImageFormat::from_name(format_name).filter(|f| service.output_formats().contains(f)).ok_or_else(|| {
                let names: Vec<&str> = service.output_formats().iter().map(|f| f.name()).collect();
                invalid_option(id, OUTPUT_FORMAT, &names.join(", "), format_name)
            })?;
        Ok(Plan {
            service,
            model,
            prompt: prompt.to_string(),
            strength,
            aspect_ratio,
            negative_prompt: negative_prompt.map(str::to_string),
            seed: options.integer(SEED).filter(|s| *s > 0),
            output_format,
            style_preset: options.text(STYLE_PRESET).map(str::to_string),
            cfg_scale: options.number(CFG_SCALE),
        })
    }

    /// Credits: one image at the model's price.
    pub fn credits(&self) -> u32 {
        self.model.credits()
    }

    /// Typical seconds to the image.
    pub fn estimated_seconds(&self) -> u32 {
        self.model.estimated_seconds()
    }
}

/// The host's wording for a value outside the allowed set.
fn invalid_option(id: &str, name: &str, allowed: &str, got: &str) -> Failure {
    failure::invalid_input(format!("option `{name}` of provider `{id}` must be one of {allowed}; got {got}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(service: Service, text: &str, image: bool, options: &[(&str, Value)]) -> JobRequest {
        // As the host sends them: declared defaults filled in, spec order.
        let options = spec::with_defaults(&offering(service), options);
        JobRequest {
            offering: service.offering_id().into(),
            kind: MediaKind::Image,
            input: JobInput {
                text: Some(text.to_string()),
                image: image.then(|| Media {
                    url: String::new(),
                    mime: Some("image/png".into()),
                    bytes: Some(vec![1]),
                }),
                audio: None,
                video: None,
                voice: None,
            },
            options,
        }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    fn plan(service: Service, options: &[(&str, Value)]) -> Result<Plan, Failure> {
        Plan::of(&request(service, "a fox in the snow", false, options))
    }

    #[test]
    fn defaults_resolve_to_each_services_own_defaults() {
        let sd = plan(Service::StableDiffusion, &[]).unwrap();
        assert_eq!(
            sd,
            Plan {
                service: Service::StableDiffusion,
                model: Model::Sd35Large,
                prompt: "a fox in the snow".into(),
                strength: None,
                aspect_ratio: Some("1:1"),
                negative_prompt: None,
                seed: None,
                output_format: ImageFormat::Png,
                style_preset: None,
                cfg_scale: None,
            }
        );
        assert_eq!((sd.credits(), sd.estimated_seconds()), (7, 12));
        let ultra = plan(Service::Ultra, &[]).unwrap();
        assert_eq!((ultra.model, ultra.credits(), ultra.estimated_seconds()), (Model::Ultra, 8, 15));
        let core = plan(Service::Core, &[]).unwrap();
        assert_eq!((core.model, core.credits(), core.estimated_seconds()), (Model::Core, 3, 6));
    }

    #[test]
    fn offerings_declare_ids_prices_inputs_and_options() {
        let listed: Vec<(String, u32, u8, usize)> =
            offerings().into_iter().map(|o| (o.id.clone(), o.base_credits, o.quality, o.options.len())).collect();
        assert_eq!(
            listed,
            [
                ("stable-diffusion".to_string(), 7, 82, 8),
                ("stable-image-ultra".to_string(), 8, 90, 6),
                ("stable-image-core".to_string(), 3, 72, 5),
            ]
        );
        let core = offering(Service::Core);
        assert_eq!((core.accepts, core.needs_bytes), (vec![InputField::Text], vec![]));
        let ultra = offering(Service::Ultra);
        assert_eq!(ultra.accepts, [InputField::Text, InputField::Image]);
        assert_eq!(ultra.needs_bytes, [InputField::Image], "Stability takes the image as a file part");
        let names: Vec<String> = offering(Service::StableDiffusion).options.into_iter().map(|o| o.name).collect();
        assert_eq!(
            names,
            ["model", "aspectRatio", "negativePrompt", "seed", "outputFormat", "stylePreset", "cfgScale", "strength"]
        );
    }

    #[test]
    fn stable_diffusion_prices_follow_the_model() {
        let sd = offering(Service::StableDiffusion);
        for (model, credits) in [("sd3.5-large", 7), ("sd3.5-large-turbo", 4), ("sd3.5-medium", 4), ("sd3.5-flash", 3)]
        {
            let resolved = plan(Service::StableDiffusion, &[(MODEL, text(model))]).unwrap();
            assert_eq!((resolved.model.name(), resolved.credits()), (model, credits));
            let options = spec::with_defaults(&sd, &[(MODEL, text(model))]);
            assert_eq!(spec::price(&sd, &options), credits, "the manifest's rules agree with quote");
        }
    }

    #[test]
    fn every_option_maps_onto_the_plan() {
        let options = [
            (MODEL, text("sd3.5-medium")),
            (ASPECT_RATIO, text("21:9")),
            (NEGATIVE_PROMPT, text("  blurry, text  ")),
            (SEED, Value::Integer(42)),
            (OUTPUT_FORMAT, text("jpeg")),
            (STYLE_PRESET, text("analog-film")),
            (CFG_SCALE, Value::Number(6.5)),
        ];
        let mapped = plan(Service::StableDiffusion, &options).unwrap();
        assert_eq!(mapped.model, Model::Sd35Medium);
        assert_eq!(mapped.aspect_ratio, Some("21:9"));
        assert_eq!(mapped.negative_prompt.as_deref(), Some("blurry, text"));
        assert_eq!((mapped.seed, mapped.output_format), (Some(42), ImageFormat::Jpeg));
        assert_eq!((mapped.style_preset.as_deref(), mapped.cfg_scale), (Some("analog-film"), Some(6.5)));
        let random = plan(Service::Core, &[(SEED, Value::Integer(0))]).unwrap();
        assert_eq!(random.seed, None, "seed 0 means random: nothing is sent");
        let webp = plan(Service::Ultra, &[(OUTPUT_FORMAT, text("webp"))]).unwrap();
        assert_eq!((webp.output_format.mime(), webp.output_format.name()), ("image/webp", "webp"));
    }

    #[test]
    fn image_to_image_takes_strength_and_no_aspect_ratio() {
        let i2i = Plan::of(&request(Service::Ultra, "make it night", true, &[])).unwrap();
        assert_eq!((i2i.strength, i2i.aspect_ratio), (Some(DEFAULT_STRENGTH), None));
        let strong =
            Plan::of(&request(Service::StableDiffusion, "x", true, &[(STRENGTH, Value::Number(0.8))])).unwrap();
        assert_eq!(strong.strength, Some(0.8));
    }

    #[test]
    fn impossible_combinations_name_the_option_and_what_is_allowed() {
        type Case<'a> = (Service, bool, Vec<(&'a str, Value)>, &'a str);
        let cases: [Case; 7] = [
            (
                Service::StableDiffusion,
                false,
                vec![(MODEL, text("sd3.5-large-turbo")), (NEGATIVE_PROMPT, text("blur"))],
                "option `negativePrompt` of provider `stable-diffusion` is not supported by model `sd3.5-large-turbo`, \
                 which ignores negative prompts; models that take it: sd3.5-large, sd3.5-medium",
            ),
            (
                Service::StableDiffusion,
                false,
                vec![(MODEL, text("sd3.5-flash")), (NEGATIVE_PROMPT, text("blur"))],
                "option `negativePrompt` of provider `stable-diffusion` is not supported by model `sd3.5-flash`, \
                 which ignores negative prompts; models that take it: sd3.5-large, sd3.5-medium",
            ),
            (
                Service::Ultra,
                true,
                vec![(ASPECT_RATIO, text("16:9"))],
                "option `aspectRatio` of provider `stable-image-ultra` applies only to text-to-image: with input.image \
                 the output keeps the image's shape; got 16:9",
            ),
            (
                Service::StableDiffusion,
                false,
                vec![(STRENGTH, Value::Number(0.3))],
                "option `strength` of provider `stable-diffusion` applies only to image-to-image: give input.image or \
                 leave `strength` out",
            ),
            (
                Service::StableDiffusion,
                false,
                vec![(OUTPUT_FORMAT, text("webp"))],
                "option `outputFormat` of provider `stable-diffusion` must be one of png, jpeg; got webp",
            ),
            (Service::Core, true, vec![], "provider `stable-image-core` is text-to-image only: no input.image"),
            (
                Service::StableDiffusion,
                false,
                vec![(MODEL, text("sd3-medium"))],
                "option `model` of provider `stable-diffusion` must be one of sd3.5-large, sd3.5-large-turbo, \
                 sd3.5-medium, sd3.5-flash; got sd3-medium",
            ),
        ];
        for (service, image, options, message) in cases {
            let failure = Plan::of(&request(service, "a fox", image, &options)).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
    }

    #[test]
    fn prompts_are_required_and_bounded() {
        let empty = Plan::of(&request(Service::Core, "   ", false, &[])).unwrap_err();
        assert_eq!(empty.message, "provider `stable-image-core` needs input.text (the prompt)");
        let long = "a".repeat(MAX_PROMPT_CHARS + 1);
        let failure = Plan::of(&request(Service::Core, &long, false, &[])).unwrap_err();
        assert_eq!(failure.message, "input.text is longer than Stability's limit of 10000 characters");
        assert!(Plan::of(&request(Service::Core, &long[1..], false, &[])).is_ok());
        let negative = Plan::of(&request(Service::Core, "x", false, &[(NEGATIVE_PROMPT, text(&long))])).unwrap_err();
        assert_eq!(negative.message, "option `negativePrompt` is longer than Stability's limit of 10000 characters");
    }

    #[test]
    fn unknown_offerings_are_refused() {
        let mut request = request(Service::Core, "x", false, &[]);
        request.offering = "stability".into();
        assert_eq!(Plan::of(&request).unwrap_err().message, "the stability plugin has no offering `stability`");
    }

    #[test]
    fn settings_replace_each_offerings_default_model_and_the_others_by_name() {
        assert_eq!(Model::Sd35Large.setting_key(Service::StableDiffusion), "stable-diffusion");
        assert_eq!(Model::Sd35Flash.setting_key(Service::StableDiffusion), "stable-diffusion.sd3.5-flash");
        assert_eq!(Model::Ultra.setting_key(Service::Ultra), "stable-image-ultra");
        assert_eq!(Model::Core.setting_key(Service::Core), "stable-image-core");
    }
}
