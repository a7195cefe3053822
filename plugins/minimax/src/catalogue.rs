//! What MiniMax's video models can do, and what it costs.
//!
//! Owns the `minimax` offering (options, allowed values, defaults, price
//! rules) and [`Plan`]: a validated request resolved against the model's
//! real capabilities. The host has already checked each option on its own;
//! [`Plan::of`] checks the combinations, which depend on the model:
//!
//! | `model` (vendor id)                        | text / image | `duration` | `resolution` |
//! |--------------------------------------------|--------------|------------|--------------|
//! | `hailuo-02` (`MiniMax-Hailuo-02`), default | both         | 6, 10      | 768p (default), 1080p (6 s only), 512p (image only) |
//! | `hailuo-2.3` (`MiniMax-Hailuo-2.3`)        | both         | 6, 10      | 768p (default), 1080p (6 s only) |
//! | `hailuo-2.3-fast` (`MiniMax-Hailuo-2.3-Fast`) | image only | 6, 10      | 768p (default), 1080p (6 s only) |
//!
//! The video-01 family (`T2V-01`, `I2V-01`, `-Director`, `I2V-01-live`) is
//! no longer offered: MiniMax's "Supported Models" (platform.minimax.io
//! and platform.minimaxi.com, video-generation-intro) lists only the three
//! Hailuo models above ([`RETIRED_MODELS`]). The vendor id sent is
//! resolved by `lib.rs` through [`doitong_plugin_sdk::model_id`]
//! (`model.minimax` for the default model, `model.minimax.<value>` for any).
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

use crate::ID;

/// Option names, as users send them.
pub const MODEL: &str = "model";
/// Seconds of video.
pub const DURATION: &str = "duration";
/// Output resolution.
pub const RESOLUTION: &str = "resolution";
/// MiniMax's `prompt_optimizer`.
pub const PROMPT_OPTIMIZER: &str = "promptOptimizer";
/// MiniMax's `fast_pretreatment`.
pub const FAST_PRETREATMENT: &str = "fastPretreatment";
/// MiniMax's `aigc_watermark`.
pub const WATERMARK: &str = "watermark";

/// MiniMax's prompt limit, in characters.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Quality rank of the offering (its default model, Hailuo 02).
const QUALITY: u8 = 80;

/// A MiniMax video model, as the `model` option names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// MiniMax-Hailuo-02.
    Hailuo02,
    /// MiniMax-Hailuo-2.3.
    Hailuo23,
    /// MiniMax-Hailuo-2.3-Fast (image-to-video only).
    Hailuo23Fast,
}

/// MiniMax model ids of the video-01 family, gone from MiniMax's supported
/// list: never offered, never sent unless an operator names one.
pub const RETIRED_MODELS: [&str; 5] = ["T2V-01", "I2V-01", "T2V-01-Director", "I2V-01-Director", "I2V-01-live"];

impl Model {
    /// Every model, in the order the `model` option lists them.
    pub const ALL: [Model; 3] = [Model::Hailuo02, Model::Hailuo23, Model::Hailuo23Fast];
    /// The model of the portal's `minimax` provider.
    pub const DEFAULT: Model = Model::Hailuo02;

    /// The `model` option value.
    pub fn name(self) -> &'static str {
        match self {
            Model::Hailuo02 => "hailuo-02",
            Model::Hailuo23 => "hailuo-2.3",
            Model::Hailuo23Fast => "hailuo-2.3-fast",
        }
    }

    /// The model an option value names.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// MiniMax's built-in model id (the same for text and image input).
    pub fn vendor_id(self) -> &'static str {
        match self {
            Model::Hailuo02 => "MiniMax-Hailuo-02",
            Model::Hailuo23 => "MiniMax-Hailuo-2.3",
            Model::Hailuo23Fast => "MiniMax-Hailuo-2.3-Fast",
        }
    }

    /// Whether the model generates from text alone.
    pub fn text_to_video(self) -> bool {
        self != Model::Hailuo23Fast
    }

    /// Whether MiniMax's `fast_pretreatment` applies (every Hailuo model).
    pub fn has_fast_pretreatment(self) -> bool {
        true
    }

    /// Seconds of video the model makes.
    pub fn durations(self) -> &'static [i64] {
        &[6, 10]
    }

    /// Resolutions available for `duration` seconds, from an image or not.
    pub fn resolutions(self, duration: i64, image: bool) -> Vec<Resolution> {
        let mut allowed = Vec::new();
        if self == Model::Hailuo02 && image {
            allowed.push(Resolution::P512);
        }
        allowed.push(Resolution::P768);
        if duration == 6 {
            allowed.push(Resolution::P1080);
        }
        allowed
    }

    /// MiniMax's default resolution for the model.
    pub fn default_resolution(self) -> Resolution {
        Resolution::P768
    }

    /// Typical seconds to a 6 s clip below 1080p (MiniMax samples poll for
    /// minutes; Fast is about twice as quick).
    fn base_seconds(self) -> u32 {
        match self {
            Model::Hailuo02 | Model::Hailuo23 => 180,
            Model::Hailuo23Fast => 90,
        }
    }
}

/// An output resolution, named as the portal names them (`768p`); MiniMax
/// spells them with a capital P (`768P`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// 512P (Hailuo 02 image-to-video).
    P512,
    /// 768P (1366×768 landscape).
    P768,
    /// 1080P (1920×1080 landscape).
    P1080,
}

impl Resolution {
    /// Every resolution, in the order the `resolution` option lists them.
    pub const ALL: [Resolution; 3] = [Resolution::P512, Resolution::P768, Resolution::P1080];

    /// The `resolution` option value.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::P512 => "512p",
            Resolution::P768 => "768p",
            Resolution::P1080 => "1080p",
        }
    }

    /// MiniMax's spelling.
    pub fn vendor_name(self) -> &'static str {
        match self {
            Resolution::P512 => "512P",
            Resolution::P768 => "768P",
            Resolution::P1080 => "1080P",
        }
    }

    /// The resolution an option value names.
    pub fn from_name(name: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// Credits per clip: MiniMax's pay-as-you-go list price in US cents, one
/// row per model × resolution × seconds it makes (see the README).
const PRICES: &[(Model, Resolution, i64, u32)] = &[
    (Model::Hailuo02, Resolution::P512, 6, 10),
    (Model::Hailuo02, Resolution::P512, 10, 15),
    (Model::Hailuo02, Resolution::P768, 6, 28),
    (Model::Hailuo02, Resolution::P768, 10, 56),
    (Model::Hailuo02, Resolution::P1080, 6, 49),
    (Model::Hailuo23, Resolution::P768, 6, 28),
    (Model::Hailuo23, Resolution::P768, 10, 56),
    (Model::Hailuo23, Resolution::P1080, 6, 49),
    (Model::Hailuo23Fast, Resolution::P768, 6, 19),
    (Model::Hailuo23Fast, Resolution::P768, 10, 32),
    (Model::Hailuo23Fast, Resolution::P1080, 6, 33),
];

/// The `minimax` offering.
pub fn offering() -> Offering {
    let models: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
    let resolutions: Vec<&str> = Resolution::ALL.iter().map(|r| r.name()).collect();
    let default = Plan::default_request();
    let mut offering = OfferingBuilder::new(ID, "MiniMax Hailuo", &[MediaKind::Video])
        .description(
            "MiniMax's Hailuo video models: Hailuo 02 by default, Hailuo 2.3 and 2.3 Fast. Text-to-video, or image-to-video from a first frame. Camera moves can be \
             written into the prompt in brackets, e.g. [Pan left] or [Push in].",
        )
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[])
        .features(&["text-to-video", "image-to-video", "camera commands in the prompt", "prompt optimizer"])
        .limitations(&[
            "1080p only for 6 s clips; 512p only for hailuo-02 image-to-video",
            "hailuo-2.3-fast needs input.image",
            "no aspect ratio: text-to-video is landscape, image-to-video follows the image",
            "prompt at most 2000 characters",
            "no style, seed or negative prompt",
            "cancelling stops the wait but not MiniMax: the clip is still billed",
        ])
        .option(
            OptionBuilder::text(MODEL, "Which Hailuo model generates the video")
                .allowed(&models)
                .default_text(Model::DEFAULT.name()),
        )
        .option(
            OptionBuilder::integer(DURATION, "Seconds of video: 6 or 10 (10 only with Hailuo models below 1080p)")
                .allowed_integers(&[6, 10])
                .default_integer(6),
        )
        .option(
            OptionBuilder::text(
                RESOLUTION,
                "Output resolution; 768p when omitted",
            )
            .allowed(&resolutions),
        )
        .option(
            OptionBuilder::flag(PROMPT_OPTIMIZER, "Let MiniMax rewrite the prompt; false keeps it literal")
                .default_flag(true),
        )
        .option(
            OptionBuilder::flag(FAST_PRETREATMENT, "Shorten the prompt optimizer's work (Hailuo models only)")
                .default_flag(false),
        )
        .option(OptionBuilder::flag(WATERMARK, "Add MiniMax's AIGC watermark").default_flag(false))
        .quality(QUALITY)
        .estimated_seconds(default.estimated_seconds());
    for &(model, resolution, seconds, credits) in PRICES {
        let when = [
            (MODEL, Value::Text(model.name().into())),
            (RESOLUTION, Value::Text(resolution.name().into())),
            (DURATION, Value::Integer(seconds)),
        ];
        offering = offering.price(&when, credits, false);
    }
    let mut offering = offering.build();
    offering.base_credits = spec::price(&offering, &default.priced_options());
    offering
}

/// A request resolved against its model: what MiniMax is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model.
    pub model: Model,
    /// Whether a first-frame image is given (image-to-video).
    pub image: bool,
    /// Seconds of video.
    pub duration: i64,
    /// Output resolution (the model's default when not given).
    pub resolution: Resolution,
    /// MiniMax's `prompt_optimizer`.
    pub prompt_optimizer: bool,
    /// MiniMax's `fast_pretreatment`.
    pub fast_pretreatment: bool,
    /// MiniMax's `aigc_watermark`.
    pub watermark: bool,
}

impl Plan {
    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and the allowed values.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let model = options.text(MODEL).and_then(Model::from_name).unwrap_or(Model::DEFAULT);
        let image = request.input.image.is_some();
        check_inputs(model, request.input.text.as_deref(), image)?;
        let duration = options.integer(DURATION).unwrap_or(6);
        if !model.durations().contains(&duration) {
            let allowed: Vec<String> = model.durations().iter().map(i64::to_string).collect();
            return Err(invalid_option(
                DURATION,
                &allowed.join(", "),
                &format!("with model `{}`", model.name()),
                duration,
            ));
        }
        let resolution = match options.text(RESOLUTION) {
            None => model.default_resolution(),
            Some(name) => {
                let allowed = model.resolutions(duration, image);
                match Resolution::from_name(name).filter(|r| allowed.contains(r)) {
                    Some(resolution) => resolution,
                    None => {
                        let names: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
                        let mode = if image { "image-to-video" } else { "text-to-video" };
                        let context = format!("with model `{}`, {duration} s, {mode}", model.name());
                        return Err(invalid_option(RESOLUTION, &names.join(", "), &context, name));
                    }
                }
            }
        };
        let fast_pretreatment = options.flag(FAST_PRETREATMENT).unwrap_or(false);
        if fast_pretreatment && !model.has_fast_pretreatment() {
            let hailuo: Vec<&str> = Model::ALL.iter().filter(|m| m.has_fast_pretreatment()).map(|m| m.name()).collect();
            return Err(failure::invalid_input(format!(
                "option `{FAST_PRETREATMENT}` of provider `{ID}` is only available with model {}; got model `{}`",
                hailuo.join(", "),
                model.name()
            )));
        }
        Ok(Plan {
            model,
            image,
            duration,
            resolution,
            prompt_optimizer: options.flag(PROMPT_OPTIMIZER).unwrap_or(true),
            fast_pretreatment,
            watermark: options.flag(WATERMARK).unwrap_or(false),
        })
    }

    /// What a request with no options asks for.
    fn default_request() -> Plan {
        Plan {
            model: Model::DEFAULT,
            image: false,
            duration: 6,
            resolution: Model::DEFAULT.default_resolution(),
            prompt_optimizer: true,
            fast_pretreatment: false,
            watermark: false,
        }
    }

    /// The options the price rules read, with the resolution resolved.
    fn priced_options(&self) -> Vec<(String, Value)> {
        vec![
            (MODEL.to_string(), Value::Text(self.model.name().into())),
            (DURATION.to_string(), Value::Integer(self.duration)),
            (RESOLUTION.to_string(), Value::Text(self.resolution.name().into())),
        ]
    }

    /// Credits, by the offering's price rules.
    pub fn credits(&self) -> u32 {
        spec::price(&offering(), &self.priced_options())
    }

    /// Typical seconds to the result: longer clips and 1080p take longer.
    pub fn estimated_seconds(&self) -> u32 {
        let seconds = self.model.base_seconds() * self.duration as u32 / 6;
        if self.resolution == Resolution::P1080 { seconds * 3 / 2 } else { seconds }
    }

    /// MiniMax's built-in model id for this request (`lib.rs` lets the
    /// operator's setting replace it).
    pub fn vendor_model(&self) -> &'static str {
        self.model.vendor_id()
    }
}

/// Text and image against what the model generates from.
fn check_inputs(model: Model, text: Option<&str>, image: bool) -> Result<(), Failure> {
    let text = text.filter(|t| !t.trim().is_empty());
    if !image && !model.text_to_video() {
        return Err(failure::invalid_input(format!(
            "model `{}` of provider `{ID}` is image-to-video only: input.image is required",
            model.name()
        )));
    }
    if !image && text.is_none() {
        return Err(failure::invalid_input(format!(
            "provider `{ID}` needs input.text (text-to-video) or input.image (image-to-video)"
        )));
    }
    if text.is_some_and(|t| t.chars().count() > MAX_PROMPT_CHARS) {
        return Err(failure::invalid_input(format!(
            "input.text is longer than MiniMax's limit of {MAX_PROMPT_CHARS} characters"
        )));
    }
    Ok(())
}

/// The host's wording for a value outside the allowed set, with the
/// combination that narrowed it.
fn invalid_option(name: &str, allowed: &str, context: &str, got: impl std::fmt::Display) -> Failure {
    failure::invalid_input(format!("option `{name}` of provider `{ID}` must be one of {allowed} {context}; got {got}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: Option<&str>, image: bool, options: &[(&str, Value)]) -> JobRequest {
        // As the host sends them: declared defaults filled in, spec order.
        let options = spec::with_defaults(&offering(), options);
        JobRequest {
            offering: ID.into(),
            kind: MediaKind::Video,
            input: JobInput {
                text: text.map(str::to_string),
                image: image.then(|| Media { url: "https://img.example/a.png".into(), mime: None, bytes: None }),
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

    #[test]
    fn defaults_resolve_to_hailuo_02_at_768p_for_6_seconds() {
        let plan = Plan::of(&request(Some("a kite"), false, &[])).unwrap();
        assert_eq!(plan, Plan::default_request());
        assert_eq!((plan.vendor_model(), plan.credits(), plan.estimated_seconds()), ("MiniMax-Hailuo-02", 28, 180));
        let offering = offering();
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (28, 180, 80));
    }

    #[test]
    fn every_combination_the_models_accept_has_a_price_and_no_other() {
        let mut accepted = Vec::new();
        for model in Model::ALL {
            for &duration in model.durations() {
                for image in [false, true] {
                    for resolution in model.resolutions(duration, image) {
                        if !accepted.contains(&(model, resolution, duration)) {
                            accepted.push((model, resolution, duration));
                        }
                    }
                }
            }
        }
        let priced: Vec<_> = PRICES.iter().map(|&(m, r, d, _)| (m, r, d)).collect();
        assert_eq!(accepted.len(), priced.len(), "one price per combination");
        for combination in accepted {
            assert!(priced.contains(&combination), "{combination:?} has no price");
        }
    }

    #[test]
    fn prices_follow_model_resolution_and_duration() {
        let cases = [
            ("hailuo-02", "1080p", 6, true, 49),
            ("hailuo-02", "768p", 10, false, 56),
            ("hailuo-02", "512p", 10, true, 15),
            ("hailuo-2.3-fast", "1080p", 6, true, 33),
            ("hailuo-2.3-fast", "768p", 10, true, 32),
        ];
        for (model, resolution, duration, image, credits) in cases {
            let options = [(MODEL, text(model)), (RESOLUTION, text(resolution)), (DURATION, Value::Integer(duration))];
            let plan = Plan::of(&request(Some("x"), image, &options)).unwrap();
            assert_eq!(plan.credits(), credits, "{model} {resolution} {duration}");
        }
    }

    #[test]
    fn only_the_hailuo_models_are_offered() {
        let ids: Vec<&str> = Model::ALL.iter().map(|m| m.vendor_id()).collect();
        assert_eq!(ids, ["MiniMax-Hailuo-02", "MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast"]);
        assert!(ids.iter().all(|id| !RETIRED_MODELS.contains(id)));
        let model = offering().options.into_iter().find(|o| o.name == MODEL).unwrap();
        let names: Vec<Value> = ["hailuo-02", "hailuo-2.3", "hailuo-2.3-fast"].map(text).to_vec();
        assert_eq!(model.allowed_values, names);
        assert_eq!(Model::from_name("video-01"), None, "the host refuses it against the allowed values");
    }

    #[test]
    fn impossible_combinations_name_the_option_and_the_allowed_values() {
        // (prompt, image, options, the exact message)
        type Case<'a> = (Option<&'a str>, bool, Vec<(&'a str, Value)>, &'a str);
        let cases: [Case; 5] = [
            (
                Some("x"),
                false,
                vec![(DURATION, Value::Integer(10)), (RESOLUTION, text("1080p"))],
                "option `resolution` of provider `minimax` must be one of 768p with model `hailuo-02`, 10 s, \
                 text-to-video; got 1080p",
            ),
            (
                Some("x"),
                false,
                vec![(RESOLUTION, text("512p"))],
                "option `resolution` of provider `minimax` must be one of 768p, 1080p with model `hailuo-02`, 6 s, \
                 text-to-video; got 512p",
            ),
            (
                Some("x"),
                true,
                vec![(MODEL, text("hailuo-2.3")), (RESOLUTION, text("512p"))],
                "option `resolution` of provider `minimax` must be one of 768p, 1080p with model `hailuo-2.3`, 6 s, \
                 image-to-video; got 512p",
            ),
            (
                Some("x"),
                false,
                vec![(MODEL, text("hailuo-2.3-fast"))],
                "model `hailuo-2.3-fast` of provider `minimax` is image-to-video only: input.image is required",
            ),
            (
                None,
                false,
                vec![],
                "provider `minimax` needs input.text (text-to-video) or input.image (image-to-video)",
            ),
        ];
        for (text, image, options, message) in cases {
            let failure = Plan::of(&request(text, image, &options)).unwrap_err();
            assert_eq!(failure.code, FailureCode::InvalidInput);
            assert_eq!(failure.message, message);
        }
    }

    #[test]
    fn prompts_over_2000_characters_are_refused_and_images_need_no_prompt() {
        let long = "a".repeat(MAX_PROMPT_CHARS + 1);
        let failure = Plan::of(&request(Some(&long), false, &[])).unwrap_err();
        assert_eq!(failure.message, "input.text is longer than MiniMax's limit of 2000 characters");
        assert!(Plan::of(&request(Some(&long[1..]), false, &[])).is_ok());
        let plan = Plan::of(&request(None, true, &[(RESOLUTION, text("512p"))])).unwrap();
        assert_eq!((plan.resolution, plan.credits()), (Resolution::P512, 10));
    }

    #[test]
    fn longer_and_sharper_clips_take_longer() {
        let plan = |options: &[(&str, Value)]| Plan::of(&request(Some("x"), false, options)).unwrap();
        assert_eq!(plan(&[(DURATION, Value::Integer(10))]).estimated_seconds(), 300);
        assert_eq!(plan(&[(RESOLUTION, text("1080p"))]).estimated_seconds(), 270);
        assert_eq!(plan(&[(MODEL, text("hailuo-2.3"))]).estimated_seconds(), 180);
    }
}
