//! What Vidu can do and what it costs: the models, what each accepts, the
//! `vidu` offering with its option specs, and the price table.
//!
//! Data and pure functions only; it never calls the vendor.
//!
//! | model | text→video | image→video | seconds (default) | resolutions (default) | aspect ratios | extras |
//! |---|---|---|---|---|---|---|
//! | `viduq3-turbo` | yes | yes | 1–16 (5) | 540p, 720p (720p), 1080p | 16:9, 9:16, 1:1, 3:4, 4:3 | `audio` |
//! | `viduq3-pro` | yes | yes | 1–16 (5) | 540p, 720p (720p), 1080p | 16:9, 9:16, 1:1, 3:4, 4:3 | `audio` |
//! | `viduq1` | yes | yes | 5 | 1080p | 16:9, 9:16, 1:1 | `style`, `motionIntensity`, `bgm` |
//! | `vidu2.0` | no | yes | 4 or 8 (4) | 4 s: 360p (default), 720p, 1080p; 8 s: 720p | — | `motionIntensity`, `bgm` |
//! | `vidu1.5` | no | yes | 4 or 8 (4) | 4 s: 360p (default), 720p, 1080p; 8 s: 720p | — | `motionIntensity`, `bgm` |
//!
//! `vidu1.5` text-to-video is gone: Vidu's current text2video model list is
//! `viduq3-turbo`, `viduq3-pro`, `viduq2`, `viduq1` (platform.vidu.cn
//! docs, 2026), so `vidu1.5` is offered for image-to-video only (still in
//! the img2video list). The `model` sent is resolved through
//! [`doitong_plugin_sdk::model_id`] in `lib.rs`.
//!
//! Image-to-video keeps the image's aspect ratio; `style` is text-to-video
//! only.

use doitong_plugin_sdk::prelude::*;

/// The portal's provider id and our one offering.
pub const VIDU: &str = "vidu";
/// The model of a request that names none: fast, cheap, 1–16 s at up to
/// 1080p, text and image input.
pub const DEFAULT_MODEL: &str = "viduq3-turbo";
/// Every resolution some model makes.
pub const RESOLUTIONS: [&str; 4] = ["360p", "540p", "720p", "1080p"];
/// Every aspect ratio some model makes.
pub const ASPECT_RATIOS: [&str; 5] = ["16:9", "9:16", "1:1", "3:4", "4:3"];
/// Longest and shortest clip any model makes, in seconds.
pub const DURATION_RANGE_S: (i64, i64) = (1, 16);
/// Largest inline (base64) image Vidu decodes, in bytes (under 10 MB).
pub const MAX_INLINE_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// One Vidu model and what it accepts.
#[derive(Debug)]
pub struct Model {
    /// `model` as Vidu spells it.
    pub name: &'static str,
    /// Listed for `POST /ent/v2/text2video`.
    pub text_to_video: bool,
    /// Listed for `POST /ent/v2/img2video`.
    pub image_to_video: bool,
    /// Clip lengths and the resolutions each allows.
    pub lengths: Lengths,
    /// Aspect ratios of text-to-video.
    pub aspect_ratios: &'static [&'static str],
    /// `style` (general / anime) for text-to-video.
    pub style: bool,
    /// `movement_amplitude` and `bgm` (the Q3 models ignore both).
    pub motion_and_bgm: bool,
    /// `audio`: native sound, on by default (Q3 models only).
    pub audio: bool,
    /// Longest prompt, in characters.
    pub max_prompt_chars: usize,
    /// Typical seconds to a result with the model's defaults.
    pub estimated_seconds: u32,
}

/// The clip lengths of a model, with their resolutions and prices.
#[derive(Debug)]
pub enum Lengths {
    /// Any whole number of seconds in `min..=max`, priced per second by
    /// resolution: `(resolution, credits per second)`.
    PerSecond {
        /// Shortest clip.
        min_s: i64,
        /// Longest clip.
        max_s: i64,
        /// Length when the request gives none.
        default_s: i64,
        /// Resolution when the request gives none.
        default_resolution: &'static str,
        /// Resolutions and their prices.
        rates: &'static [(&'static str, u32)],
    },
    /// A fixed menu of clips: `(seconds, resolution, credits)`; the first
    /// entry of a length is its default resolution, the first entry overall
    /// the default clip.
    Menu(&'static [(i64, &'static str, u32)]),
}

const Q3_RATIOS: &[&str] = &["16:9", "9:16", "1:1", "3:4", "4:3"];
const CLASSIC_RATIOS: &[&str] = &["16:9", "9:16", "1:1"];

/// Every model we expose, default first. Prices are credits (US cents),
/// rounded up; see the README for where each figure comes from.
pub const MODELS: [Model; 5] = [
    Model {
        name: "viduq3-turbo",
        text_to_video: true,
        image_to_video: true,
        lengths: Lengths::PerSecond {
            min_s: 1,
            max_s: 16,
            default_s: 5,
            default_resolution: "720p",
            rates: &[("540p", 3), ("720p", 4), ("1080p", 6)],
        },
        aspect_ratios: Q3_RATIOS,
        style: false,
        motion_and_bgm: false,
        audio: true,
        max_prompt_chars: 5000,
        estimated_seconds: 60,
    },
    Model {
        name: "viduq3-pro",
        text_to_video: true,
        image_to_video: true,
        lengths: Lengths::PerSecond {
            min_s: 1,
            max_s: 16,
            default_s: 5,
            default_resolution: "720p",
            rates: &[("540p", 7), ("720p", 15), ("1080p", 16)],
        },
        aspect_ratios: Q3_RATIOS,
        style: false,
        motion_and_bgm: false,
        audio: true,
        max_prompt_chars: 5000,
        estimated_seconds: 150,
    },
    Model {
        name: "viduq1",
        text_to_video: true,
        image_to_video: true,
        lengths: Lengths::Menu(&[(5, "1080p", 40)]),
        aspect_ratios: CLASSIC_RATIOS,
        style: true,
        motion_and_bgm: true,
        audio: false,
        max_prompt_chars: 1500,
        estimated_seconds: 120,
    },
    Model {
        name: "vidu2.0",
        text_to_video: false,
        image_to_video: true,
        lengths: Lengths::Menu(&[(4, "360p", 10), (4, "720p", 20), (4, "1080p", 50), (8, "720p", 50)]),
        aspect_ratios: &[],
        style: false,
        motion_and_bgm: true,
        audio: false,
        max_prompt_chars: 1500,
        estimated_seconds: 60,
    },
    Model {
        name: "vidu1.5",
        text_to_video: false,
        image_to_video: true,
        lengths: Lengths::Menu(&[(4, "360p", 20), (4, "720p", 50), (4, "1080p", 100), (8, "720p", 100)]),
        aspect_ratios: &[],
        style: false,
        motion_and_bgm: true,
        audio: false,
        max_prompt_chars: 1500,
        estimated_seconds: 90,
    },
];

/// The model named `name`.
pub fn model(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.name == name)
}

/// Names of the models satisfying `keep`, comma-separated (for messages).
pub fn model_names(keep: impl Fn(&Model) -> bool) -> String {
    MODELS.iter().filter(|m| keep(m)).map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// A clip a model can make: its length, resolution and price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clip {
    /// Seconds.
    pub duration_s: i64,
    /// E.g. `720p`.
    pub resolution: &'static str,
    /// Credits (US cents).
    pub credits: u32,
}

impl Lengths {
    /// The clip for the requested length and resolution, each falling back
    /// to the model's default; `Err` says what is allowed instead.
    pub fn clip(&self, duration_s: Option<i64>, resolution: Option<&str>) -> Result<Clip, String> {
        match *self {
            Lengths::PerSecond { min_s, max_s, default_s, default_resolution, rates } => {
                let duration_s = duration_s.unwrap_or(default_s);
                if !(min_s..=max_s).contains(&duration_s) {
                    return Err(format!("option `duration` must be between {min_s} and {max_s}; got {duration_s}"));
                }
                let wanted = resolution.unwrap_or(default_resolution);
                let (resolution, per_second) = rates.iter().find(|(r, _)| *r == wanted).ok_or_else(|| {
                    let allowed: Vec<&str> = rates.iter().map(|(r, _)| *r).collect();
                    format!("option `resolution` must be one of {}; got {wanted}", allowed.join(", "))
                })?;
                Ok(Clip { duration_s, resolution, credits: per_second * duration_s as u32 })
            }
            Lengths::Menu(menu) => {
                let duration_s = duration_s.unwrap_or(menu[0].0);
                let for_length: Vec<_> = menu.iter().filter(|(d, _, _)| *d == duration_s).collect();
                let Some(first) = for_length.first() else {
                    let mut lengths: Vec<String> = menu.iter().map(|(d, _, _)| d.to_string()).collect();
                    lengths.dedup();
                    return Err(format!("option `duration` must be one of {}; got {duration_s}", lengths.join(", ")));
                };
                let wanted = resolution.unwrap_or(first.1);
                let (_, resolution, credits) = for_length.iter().find(|(_, r, _)| *r == wanted).ok_or_else(|| {
                    let allowed: Vec<&str> = for_length.iter().map(|(_, r, _)| *r).collect();
                    format!(
                        "option `resolution` must be one of {} for a {duration_s} s clip; got {wanted}",
                        allowed.join(", ")
                    )
                })?;
                Ok(Clip { duration_s, resolution, credits: *credits })
            }
        }
    }
}

/// The `vidu` offering.
pub fn offering() -> Offering {
    let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
    let default = default_model();
    let default_clip = default.lengths.clip(None, None).expect("a model's defaults make a clip");
    OfferingBuilder::new(VIDU, "Vidu", &[MediaKind::Video])
        .description(
            "ShengShu's Vidu: fast text-to-video and image-to-video, strong on product showcases and \
             marketing clips. Q3 models make 1-16 s with native audio up to 1080p; Vidu 1.5 and 2.0 make \
             4 or 8 s clips; Q1 makes 5 s at 1080p.",
        )
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[InputField::Text])
        .features(&[
            "e-commerce",
            "product video",
            "text-to-video",
            "image-to-video",
            "up to 16 seconds",
            "native audio",
        ])
        .limitations(&[
            "duration and resolution combinations depend on the model (see each option)",
            "image-to-video keeps the image's aspect ratio",
            "reference-to-video, start-end frames and off-peak mode are not exposed",
            "Vidu cancels only tasks that have not started",
        ])
        .option(
            OptionBuilder::text("model", "Vidu model; vidu2.0 animates images only")
                .allowed(&names)
                .default_text(DEFAULT_MODEL),
        )
        .option(
            OptionBuilder::integer(
                "duration",
                "Seconds of video: 1-16 on viduq3-*, 5 on viduq1, 4 or 8 on vidu2.0 and vidu1.5; when omitted 5, \
                 or 4 on vidu2.0 and vidu1.5",
            )
            .range(DURATION_RANGE_S.0 as f64, DURATION_RANGE_S.1 as f64),
        )
        .option(
            OptionBuilder::text(
                "resolution",
                "540p, 720p or 1080p on viduq3-* (720p when omitted); 1080p on viduq1; 360p, 720p or 1080p for \
                 4 s and 720p for 8 s on vidu2.0 and vidu1.5 (the first when omitted)",
            )
            .allowed(&RESOLUTIONS),
        )
        .option(
            OptionBuilder::text(
                "aspectRatio",
                "Width:height of text-to-video (16:9 when omitted); 3:4 and 4:3 on viduq3-* only",
            )
            .allowed(&ASPECT_RATIOS),
        )
        .option(
            OptionBuilder::text("style", "Text-to-video look on viduq1 (general when omitted)")
                .allowed(&["general", "anime"]),
        )
        .option(
            OptionBuilder::text(
                "motionIntensity",
                "Movement amplitude on viduq1, vidu2.0 and vidu1.5 (auto when omitted)",
            )
            .allowed(&["auto", "small", "medium", "large"]),
        )
        .option(
            OptionBuilder::integer("seed", "Same seed, same video (random when omitted)").range(0.0, 2_147_483_647.0),
        )
        .option(OptionBuilder::flag("bgm", "Add background music on viduq1, vidu2.0 and vidu1.5 (off when omitted)"))
        .option(OptionBuilder::flag("audio", "Native sound on viduq3-* (on when omitted)"))
        .quality(78)
        .credits(default_clip.credits)
        .estimated_seconds(default.estimated_seconds)
        .build()
}

/// The model of a request that names none.
pub fn default_model() -> &'static Model {
    model(DEFAULT_MODEL).expect("the default model is in MODELS")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(model_name: &str, duration_s: Option<i64>, resolution: Option<&str>) -> Result<Clip, String> {
        model(model_name).unwrap().lengths.clip(duration_s, resolution)
    }

    #[test]
    fn defaults_follow_each_model() {
        let cases = [
            ("viduq3-turbo", 5, "720p", 20),
            ("viduq3-pro", 5, "720p", 75),
            ("viduq1", 5, "1080p", 40),
            ("vidu2.0", 4, "360p", 10),
            ("vidu1.5", 4, "360p", 20),
        ];
        for (name, duration_s, resolution, credits) in cases {
            assert_eq!(clip(name, None, None), Ok(Clip { duration_s, resolution, credits }), "{name}");
        }
        assert_eq!(clip("vidu1.5", Some(8), None), Ok(Clip { duration_s: 8, resolution: "720p", credits: 100 }));
    }

    #[test]
    fn per_second_models_price_by_length_and_resolution() {
        assert_eq!(clip("viduq3-turbo", Some(8), Some("1080p")).unwrap().credits, 48);
        assert_eq!(clip("viduq3-pro", Some(16), Some("1080p")).unwrap().credits, 256);
        assert_eq!(clip("viduq3-pro", Some(1), Some("540p")).unwrap().credits, 7);
    }

    #[test]
    fn impossible_clips_say_what_is_allowed() {
        assert_eq!(clip("viduq1", Some(8), None), Err("option `duration` must be one of 5; got 8".into()));
        assert_eq!(
            clip("vidu1.5", Some(8), Some("1080p")),
            Err("option `resolution` must be one of 720p for a 8 s clip; got 1080p".into())
        );
        assert_eq!(clip("vidu2.0", Some(5), None), Err("option `duration` must be one of 4, 8; got 5".into()));
        assert_eq!(
            clip("viduq3-turbo", None, Some("360p")),
            Err("option `resolution` must be one of 540p, 720p, 1080p; got 360p".into())
        );
    }

    #[test]
    fn the_offering_prices_its_default_request() {
        let offering = offering();
        assert_eq!((offering.id.as_str(), offering.base_credits, offering.estimated_seconds), ("vidu", 20, 60));
        let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            ["model", "duration", "resolution", "aspectRatio", "style", "motionIntensity", "seed", "bgm", "audio"]
        );
        // Only the model has a default: the others depend on it.
        assert!(offering.options.iter().all(|o| (o.name == "model") == o.default.is_some()));
    }

    #[test]
    fn every_model_allows_only_declared_values() {
        for model in &MODELS {
            assert!(model.aspect_ratios.iter().all(|r| ASPECT_RATIOS.contains(r)), "{}", model.name);
            let resolutions: Vec<&str> = match model.lengths {
                Lengths::PerSecond { rates, .. } => rates.iter().map(|(r, _)| *r).collect(),
                Lengths::Menu(menu) => menu.iter().map(|(_, r, _)| *r).collect(),
            };
            assert!(resolutions.iter().all(|r| RESOLUTIONS.contains(r)), "{}", model.name);
        }
    }
}
