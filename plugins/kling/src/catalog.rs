//! What Kling can do and what it costs: its models, their quality tiers,
//! the two offerings and their option specs, and the price rules.
//!
//! This module is data and pure functions only; it never calls the vendor.
//!
//! Capabilities come from Kling's video capability map (updated
//! 2026-05-19) and price list, for the legacy `model_name` API:
//!
//! | model | text→video | image→video | tiers (`mode`) | `sound` |
//! |---|---|---|---|---|
//! | `kling-v2-5-turbo` | yes | yes | std 720p / pro 1080p | no |
//! | `kling-v2-6` | yes | yes | std 720p / pro 1080p | pro only |
//! | `kling-v3` | yes | yes | std 720p / pro 1080p | pro only (here) |
//!
//! Every model makes 5 s and 10 s clips in every tier. The older ids
//! (`kling-v1`, `-v1-5`, `-v1-6`, `-v2-master`, `-v2-1`, `-v2-1-master`)
//! are in neither Kling's 2026 capability map nor its price list and are
//! no longer offered ([`RETIRED_MODELS`]); Kling answers a model it does
//! not serve with code 1203, which `vendor` maps to `model-unavailable`.
//! The `model_name` sent is resolved through
//! [`doitong_plugin_sdk::model_id`] in `lib.rs`.

use doitong_plugin_sdk::prelude::*;

/// The portal's text-to-video offering (and image-to-video with an image).
pub const KLING: &str = "kling";
/// The portal's "Kling Animation": image-to-video, the image required.
pub const KLING_ANIMATION: &str = "kling-animation";

/// The model used when the request names none: Kling's current 1080p
/// model with both tiers, both durations and both input kinds, so every
/// portal snippet works with it.
pub const DEFAULT_MODEL: &str = "kling-v2-5-turbo";
/// Clip lengths Kling makes, in seconds (sent as the strings "5" / "10").
pub const DURATIONS_S: [i64; 2] = [5, 10];
/// Aspect ratios of text-to-video (image-to-video keeps the image's).
pub const ASPECT_RATIOS: [&str; 3] = ["16:9", "9:16", "1:1"];
/// Longest `prompt` and `negative_prompt` Kling accepts, in characters.
pub const MAX_PROMPT_CHARS: usize = 2500;
/// Largest image Kling accepts, in bytes (10 MB).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// US cents per Kling resource unit: the standard resource-pack price
/// (US$0.14 a unit). One Doitong credit is one US cent.
const CENTS_PER_UNIT: u32 = 14;

/// One Kling model (`model_name`) and what it accepts.
#[derive(Debug)]
pub struct Model {
    /// `model_name` as Kling spells it.
    pub name: &'static str,
    /// Listed for `POST /v1/videos/text2video`.
    pub text_to_video: bool,
    /// Listed for `POST /v1/videos/image2video`.
    pub image_to_video: bool,
    /// Quality tiers and their prices.
    pub tiers: Tiers,
    /// Native audio (`sound: "on"`) in the `pro` tier, priced in tenths of
    /// a resource unit per 5 s of video; `None` when the model has none.
    pub sound_tenths_per_5s: Option<u32>,
}

/// A model's quality tiers, priced in tenths of a resource unit per 5 s.
#[derive(Debug, Clone, Copy)]
pub enum Tiers {
    /// `mode: std` and `mode: pro`.
    StdPro {
        /// Price of `std`.
        std_tenths_per_5s: u32,
        /// Price of `pro`.
        pro_tenths_per_5s: u32,
    },
    /// Master models: a single tier, so `mode` is not sent.
    Single {
        /// Price of the one tier.
        tenths_per_5s: u32,
    },
}

const fn std_pro(std_tenths_per_5s: u32, pro_tenths_per_5s: u32) -> Tiers {
    Tiers::StdPro { std_tenths_per_5s, pro_tenths_per_5s }
}

/// Every model we expose, in the order users see them. Prices are Kling's
/// resource units per second (10 s costs double 5 s): 0.3 / 0.5 for 2.5
/// Turbo and 2.6, 1.0 for 2.6 with sound; 0.6 / 0.8 for 3.0, 1.2 with
/// sound at 1080p.
pub const MODELS: [Model; 3] = [
    Model {
        name: "kling-v2-5-turbo",
        text_to_video: true,
        image_to_video: true,
        tiers: std_pro(15, 25),
        sound_tenths_per_5s: None,
    },
    Model {
        name: "kling-v2-6",
        text_to_video: true,
        image_to_video: true,
        tiers: std_pro(15, 25),
        sound_tenths_per_5s: Some(50),
    },
    Model {
        name: "kling-v3",
        text_to_video: true,
        image_to_video: true,
        tiers: std_pro(30, 40),
        sound_tenths_per_5s: Some(60),
    },
];

/// Model ids Kling's 2026 capability map and price list no longer carry:
/// never offered, never sent unless an operator names one in a setting.
pub const RETIRED_MODELS: [&str; 6] =
    ["kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-1-master"];

/// The model named `name`.
pub fn model(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.name == name)
}

/// Names of the models satisfying `keep`, comma-separated (for messages).
pub fn model_names(keep: impl Fn(&Model) -> bool) -> String {
    MODELS.iter().filter(|m| keep(m)).map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// Credits (US cents, rounded up) for `tenths_per_5s` over `duration_s`.
pub fn credits(tenths_per_5s: u32, duration_s: u32) -> u32 {
    (tenths_per_5s * CENTS_PER_UNIT * duration_s).div_ceil(50)
}

/// Both offerings.
pub fn offerings() -> Vec<Offering> {
    vec![
        offering(KLING, "Kling")
            .description(
                "Kuaishou's Kling video models (2.5 Turbo, 2.6, 3.0): text-to-video, or image-to-video \
                 when input.image is given. Standard (720p) and professional (up to 1080p) modes, 5 or 10 \
                 seconds, strong motion coherence.",
            )
            .accepts(&[InputField::Text, InputField::Image])
            .requires(&[InputField::Text])
            .build(),
        offering(KLING_ANIMATION, "Kling Animation")
            .description(
                "Kling image-to-video: animates input.image with natural motion, guided by an \
                 optional prompt. Kling 2.5 Turbo, 2.6 and 3.0, both quality modes.",
            )
            .accepts(&[InputField::Text, InputField::Image])
            .requires(&[InputField::Image])
            .build(),
    ]
}

/// What both offerings share: options, prices, quality and time.
fn offering(id: &str, name: &str) -> OfferingBuilder {
    let builder = OfferingBuilder::new(id, name, &[MediaKind::Video])
        .features(&["text-to-video", "image-to-video", "5-10 seconds", "1080p", "pro mode", "native audio (2.6, 3.0)"])
        .limitations(&[
            "no seed, style, resolution, cfg scale or motion intensity options",
            "image-to-video keeps the image's aspect ratio",
            "last-frame, motion brush and camera control are not exposed",
            "Kling cannot cancel a task: cancelling stops waiting and refunds nothing",
        ])
        .option(model_option())
        .option(
            OptionBuilder::text("mode", "Quality tier: std (720p) or pro (1080p)")
                .allowed(&["std", "pro"])
                .default_text("std"),
        )
        .option(
            OptionBuilder::integer("duration", "Seconds of video").allowed_integers(&DURATIONS_S).default_integer(5),
        )
        .option(
            OptionBuilder::text("aspectRatio", "Width:height of text-to-video (16:9 when omitted)")
                .allowed(&ASPECT_RATIOS),
        )
        .option(OptionBuilder::text("negativePrompt", "What the video should not show (at most 2500 characters)"))
        .option(
            OptionBuilder::flag("sound", "Native audio track; kling-v2-6 and kling-v3 in pro mode only")
                .default_flag(false),
        )
        .quality(88)
        .credits(credits(default_model().tiers.std_or_single_tenths_per_5s(), 5))
        .estimated_seconds(estimated_seconds(&default_model().tiers, false, 5));
    price_rules(builder)
}

/// The model of a request that names none.
pub fn default_model() -> &'static Model {
    model(DEFAULT_MODEL).expect("the default model is in MODELS")
}

impl Tiers {
    /// Price of the default tier (`std`, or the only one).
    pub fn std_or_single_tenths_per_5s(&self) -> u32 {
        match *self {
            Tiers::StdPro { std_tenths_per_5s, .. } => std_tenths_per_5s,
            Tiers::Single { tenths_per_5s } => tenths_per_5s,
        }
    }
}

fn model_option() -> OptionBuilder {
    let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
    OptionBuilder::text("model", "Kling version (model_name)").allowed(&names).default_text(DEFAULT_MODEL)
}

/// One rule per model, tier and duration (sound first, since the first
/// matching rule wins), derived from [`MODELS`].
fn price_rules(mut builder: OfferingBuilder) -> OfferingBuilder {
    let text = |s: &str| Value::Text(s.to_string());
    for model in &MODELS {
        for duration in DURATIONS_S {
            let seconds = duration as u32;
            let when = |extra: &[(&'static str, Value)]| {
                let mut pairs = vec![("model", text(model.name)), ("duration", Value::Integer(duration))];
                pairs.extend_from_slice(extra);
                pairs
            };
            match model.tiers {
                Tiers::StdPro { std_tenths_per_5s, pro_tenths_per_5s } => {
                    if let Some(sound) = model.sound_tenths_per_5s {
                        let pro_with_sound = when(&[("mode", text("pro")), ("sound", Value::Flag(true))]);
                        builder = builder.price(&pro_with_sound, credits(sound, seconds), false);
                    }
                    builder =
                        builder.price(&when(&[("mode", text("std"))]), credits(std_tenths_per_5s, seconds), false);
                    builder =
                        builder.price(&when(&[("mode", text("pro"))]), credits(pro_tenths_per_5s, seconds), false);
                }
                Tiers::Single { tenths_per_5s } => {
                    builder = builder.price(&when(&[]), credits(tenths_per_5s, seconds), false);
                }
            }
        }
    }
    builder
}

/// Typical seconds from submission to result: about 90 s for a 5 s
/// standard clip, twice that in pro, 240 s for a master model, and twice
/// as long for 10 s. Rough figures: Kling publishes none.
pub fn estimated_seconds(tiers: &Tiers, pro: bool, duration_s: u32) -> u32 {
    let per_5s = match tiers {
        Tiers::Single { .. } => 240,
        Tiers::StdPro { .. } if pro => 180,
        Tiers::StdPro { .. } => 90,
    };
    per_5s * duration_s / 5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
    }

    #[test]
    fn credits_follow_the_unit_price_and_round_up() {
        assert_eq!(credits(10, 5), 14); // 1 unit × $0.14
        assert_eq!(credits(35, 10), 98); // 7 units
        assert_eq!(credits(15, 5), 21); // 0.3 units/s × 5 s = 1.5 units = $0.21
        assert_eq!(credits(100, 10), 280);
        assert_eq!(credits(1, 1), 1); // 0.02 units → 0.28 cents, rounded up
    }

    #[test]
    fn the_default_model_is_in_the_table_and_priced_as_the_base() {
        let default = default_model();
        assert!(matches!(default.tiers, Tiers::StdPro { std_tenths_per_5s: 15, pro_tenths_per_5s: 25 }));
        for offering in offerings() {
            let defaults = spec::with_defaults(&offering, &[]);
            assert_eq!(spec::price(&offering, &defaults), offering.base_credits, "{}", offering.id);
            assert_eq!(offering.base_credits, 21);
        }
    }

    #[test]
    fn every_combination_has_its_own_rule() {
        let [kling, _] = &offerings()[..] else { panic!("two offerings") };
        let text = |s: &str| Value::Text(s.to_string());
        let cases = [
            ("kling-v2-5-turbo", "std", 5, false, 21),
            ("kling-v2-5-turbo", "pro", 10, false, 70),
            ("kling-v2-6", "pro", 5, false, 35),
            ("kling-v2-6", "pro", 5, true, 70),
            ("kling-v2-6", "pro", 10, true, 140),
            ("kling-v3", "std", 5, false, 42),
            ("kling-v3", "pro", 10, false, 112),
            ("kling-v3", "pro", 5, true, 84),
        ];
        for (name, mode, duration, sound, expected) in cases {
            let request = options(&[
                ("model", text(name)),
                ("mode", text(mode)),
                ("duration", Value::Integer(duration)),
                ("sound", Value::Flag(sound)),
            ]);
            assert_eq!(spec::price(kling, &request), expected, "{name} {mode} {duration}s sound={sound}");
        }
        // 3 models × 2 durations × 2 tiers, sound for 2.6 and 3.0.
        assert_eq!(kling.pricing.len(), 2 * (3 * 2 + 2));
    }

    #[test]
    fn retired_models_are_not_offered() {
        let [kling, animation] = &offerings()[..] else { panic!("two offerings") };
        for offering in [kling, animation] {
            let model = offering.options.iter().find(|o| o.name == "model").unwrap();
            let allowed: Vec<Value> = MODELS.iter().map(|m| Value::Text(m.name.into())).collect();
            assert_eq!(model.allowed_values, allowed);
        }
        assert!(RETIRED_MODELS.iter().all(|name| model(name).is_none()));
    }

    #[test]
    fn offerings_differ_only_in_required_inputs() {
        let [kling, animation] = &offerings()[..] else { panic!("two offerings") };
        assert_eq!((kling.id.as_str(), animation.id.as_str()), (KLING, KLING_ANIMATION));
        assert_eq!(kling.requires, [InputField::Text]);
        assert_eq!(animation.requires, [InputField::Image]);
        assert_eq!(kling.options, animation.options);
        let names: Vec<&str> = kling.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["model", "mode", "duration", "aspectRatio", "negativePrompt", "sound"]);
    }

    #[test]
    fn estimates_scale_with_tier_and_length() {
        let turbo = default_model();
        assert_eq!(estimated_seconds(&turbo.tiers, false, 5), 90);
        assert_eq!(estimated_seconds(&turbo.tiers, true, 10), 360);
        assert_eq!(estimated_seconds(&Tiers::Single { tenths_per_5s: 100 }, false, 10), 480);
    }
}
