//! The catalogue: the `wan` and `wan-flash` offerings, their options and
//! prices, which DashScope model serves a request, and the option
//! combinations Wan refuses.
//!
//! | offering    | input                 | DashScope model    | resolutions       | credits per 5 s clip |
//! |-------------|-----------------------|--------------------|-------------------|----------------------|
//! | `wan`       | text                  | `wan2.2-t2v-plus`  | 480p, 1080p       | 10, 50               |
//! | `wan`       | text + image          | `wan2.2-i2v-plus`  | 480p, 1080p       | 10, 50               |
//! | `wan-flash` | text + image (needed) | `wan2.2-i2v-flash` | 480p, 720p, 1080p | 8, 15, 34            |
//!
//! Prices: Alibaba's list price per second of video (China price list:
//! ¥0.14 and ¥0.70 per second for the plus models at 480P and 1080P; ¥0.10,
//! ¥0.20 and ¥0.48 for flash) converted at ¥7.1 per US$, times the fixed 5
//! seconds, with 1 credit = US$0.01, rounded up.

use doitong_plugin_sdk::prelude::*;

/// Option names, as users send them.
pub const DURATION: &str = "duration";
/// See [`DURATION`].
pub const RESOLUTION: &str = "resolution";
/// See [`DURATION`].
pub const ASPECT_RATIO: &str = "aspectRatio";
/// See [`DURATION`].
pub const NEGATIVE_PROMPT: &str = "negativePrompt";
/// See [`DURATION`].
pub const SEED: &str = "seed";
/// See [`DURATION`].
pub const PROMPT_EXTEND: &str = "promptExtend";
/// See [`DURATION`].
pub const WATERMARK: &str = "watermark";

/// Wan 2.2 renders 5-second clips only.
pub const CLIP_SECONDS: i64 = 5;
/// The largest seed DashScope accepts.
pub const MAX_SEED: i64 = 2_147_483_647;
/// The largest first-frame image DashScope accepts.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// The frame text-to-video uses when `aspectRatio` is not given.
pub const DEFAULT_ASPECT_RATIO: &str = "16:9";

/// Text-to-video frame sizes (`parameters.size`, exactly as DashScope
/// spells them) by resolution tier and aspect ratio, for `wan2.2-t2v-plus`.
pub const T2V_SIZES: &[(&str, &str, &str)] = &[
    ("480p", "16:9", "832*480"),
    ("480p", "9:16", "480*832"),
    ("480p", "1:1", "624*624"),
    ("1080p", "16:9", "1920*1080"),
    ("1080p", "9:16", "1080*1920"),
    ("1080p", "1:1", "1440*1440"),
    ("1080p", "4:3", "1632*1248"),
    ("1080p", "3:4", "1248*1632"),
];

/// Every aspect ratio some resolution has, in display order.
const ASPECT_RATIOS: &[&str] = &["16:9", "9:16", "1:1", "4:3", "3:4"];

/// One Wan offering.
pub struct Tier {
    /// Public offering id.
    pub offering: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What it is good at.
    pub description: &'static str,
    /// Model for text-to-video, if the offering does it.
    pub text_model: Option<&'static str>,
    /// Model for image-to-video (first frame).
    pub image_model: &'static str,
    /// `(resolution, credits per clip)`, in display order.
    pub prices: &'static [(&'static str, u32)],
    /// Resolution when the option is omitted.
    pub default_resolution: &'static str,
    /// Quality rank, 1..=100.
    pub quality: u8,
    /// Typical seconds to a result with default options.
    pub estimated_seconds: u32,
}

/// The offerings; `wan` is the portal's provider id.
pub const TIERS: &[Tier] = &[
    Tier {
        offering: "wan",
        name: "Wan 2.2 Plus",
        description: "Alibaba's Wan 2.2 Plus: stable, reliable 5-second clips at 480p or 1080p, from text or from \
                      a first-frame image, with optional prompt rewriting.",
        text_model: Some("wan2.2-t2v-plus"),
        image_model: "wan2.2-i2v-plus",
        prices: &[("480p", 10), ("1080p", 50)],
        default_resolution: "1080p",
        quality: 72,
        estimated_seconds: 180,
    },
    Tier {
        offering: "wan-flash",
        name: "Wan 2.2 Flash (image-to-video)",
        description: "Alibaba's Wan 2.2 Flash: fast, low-cost 5-second clips animated from a first-frame image, at \
                      480p, 720p or 1080p.",
        text_model: None,
        image_model: "wan2.2-i2v-flash",
        prices: &[("480p", 8), ("720p", 15), ("1080p", 34)],
        default_resolution: "720p",
        quality: 62,
        estimated_seconds: 90,
    },
];

/// The tier serving `offering`.
pub fn tier(offering: &str) -> Option<&'static Tier> {
    TIERS.iter().find(|t| t.offering == offering)
}

impl Tier {
    fn resolutions(&self) -> Vec<&'static str> {
        self.prices.iter().map(|(resolution, _)| *resolution).collect()
    }

    /// The model for a request with or without an image.
    pub fn model(&self, has_image: bool) -> &'static str {
        match self.text_model {
            Some(text_model) if !has_image => text_model,
            _ => self.image_model,
        }
    }
}

/// The offering a tier is served as.
pub fn offering(tier: &Tier) -> Offering {
    let default_price =
        tier.prices.iter().find(|(r, _)| *r == tier.default_resolution).map(|(_, c)| *c).expect("default is priced");
    let mut limitations = vec![
        "5-second clips only",
        "a prompt is required, also for image-to-video; the vendor truncates it at 800 characters",
        "no audio",
        "cancelling works only while the task is queued; a started clip is billed",
    ];
    let mut builder = OfferingBuilder::new(tier.offering, tier.name, &[MediaKind::Video]).description(tier.description);
    builder = match tier.text_model {
        Some(_) => {
            limitations.push("image-to-video keeps the image's aspect ratio; aspectRatio is for text-to-video");
            builder
                .accepts(&[InputField::Text, InputField::Image])
                .features(&["text-to-video", "image-to-video", "prompt rewriting", "stable motion"])
                .option(
                    OptionBuilder::text(
                        ASPECT_RATIO,
                        "Frame of text-to-video (default 16:9); 4:3 and 3:4 need 1080p. Image-to-video keeps the \
                         image's own ratio.",
                    )
                    .allowed(ASPECT_RATIOS),
                )
        }
        None => {
            limitations.push("image-to-video only: input.image is required; the clip keeps the image's ratio");
            builder
                .accepts(&[InputField::Text, InputField::Image])
                .requires(&[InputField::Text, InputField::Image])
                .features(&["image-to-video", "prompt rewriting", "fast"])
        }
    };
    builder = builder
        .limitations(&limitations)
        .option(
            OptionBuilder::integer(DURATION, "Seconds of video: Wan 2.2 makes 5")
                .allowed_integers(&[CLIP_SECONDS])
                .default_integer(CLIP_SECONDS),
        )
        .option(
            OptionBuilder::text(RESOLUTION, "Output resolution tier")
                .allowed(&tier.resolutions())
                .default_text(tier.default_resolution),
        )
        .option(OptionBuilder::text(NEGATIVE_PROMPT, "What the video should not show (up to 500 characters)"))
        .option(OptionBuilder::integer(SEED, "Makes results repeatable").range(0.0, MAX_SEED as f64))
        .option(
            OptionBuilder::flag(PROMPT_EXTEND, "Let Wan rewrite the prompt with more detail (slower, often better)")
                .default_flag(true),
        )
        .option(OptionBuilder::flag(WATERMARK, "Add Wan's \"AI生成\" mark in the corner").default_flag(false))
        .quality(tier.quality)
        .credits(default_price)
        .estimated_seconds(tier.estimated_seconds);
    for (resolution, credits) in tier.prices {
        builder = builder.price(&[(RESOLUTION, Value::Text(resolution.to_string()))], *credits, false);
    }
    builder.build()
}

/// The DashScope `size` for text-to-video at `resolution` and `aspect_ratio`.
pub fn t2v_size(resolution: &str, aspect_ratio: &str) -> Option<&'static str> {
    T2V_SIZES.iter().find(|(r, a, _)| *r == resolution && *a == aspect_ratio).map(|(_, _, size)| *size)
}

/// Refuse what the host's per-option checks cannot see: an aspect ratio
/// with an image, or one the resolution does not have.
pub fn check_combination(tier: &Tier, has_image: bool, options: Options<'_>) -> Result<(), Failure> {
    let Some(aspect_ratio) = options.text(ASPECT_RATIO) else { return Ok(()) };
    if has_image {
        return Err(failure::invalid_input(format!(
            "option `{ASPECT_RATIO}` applies to text-to-video only: image-to-video keeps the input image's aspect \
             ratio; omit `{ASPECT_RATIO}` or crop the image"
        )));
    }
    let resolution = options.text(RESOLUTION).unwrap_or(tier.default_resolution);
    if t2v_size(resolution, aspect_ratio).is_some() {
        return Ok(());
    }
    let allowed: Vec<&str> = T2V_SIZES.iter().filter(|(r, _, _)| *r == resolution).map(|(_, a, _)| *a).collect();
    Err(failure::invalid_input(format!(
        "option `{ASPECT_RATIO}`: {aspect_ratio} is not available at resolution {resolution}; allowed at \
         {resolution}: {}",
        allowed.join(", ")
    )))
}

/// Refuse an inline image DashScope would refuse (URLs are fetched by
/// DashScope, which checks them itself).
pub fn check_image(image: &Media) -> Result<(), Failure> {
    match &image.bytes {
        Some(bytes) if bytes.len() > MAX_IMAGE_BYTES => Err(failure::invalid_input(format!(
            "input.image: Wan takes images up to 10 MiB; this one has {} bytes",
            bytes.len()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(n, v)| (n.to_string(), Value::Text(v.to_string()))).collect()
    }

    #[test]
    fn prices_follow_the_resolution() {
        let wan = offering(tier("wan").unwrap());
        assert_eq!(wan.base_credits, 50);
        assert_eq!(spec::price(&wan, &options(&[(RESOLUTION, "480p")])), 10);
        let flash = offering(tier("wan-flash").unwrap());
        assert_eq!(flash.base_credits, 15);
        assert_eq!(spec::price(&flash, &options(&[(RESOLUTION, "1080p")])), 34);
        assert_eq!(flash.requires, vec![InputField::Text, InputField::Image]);
        assert!(flash.options.iter().all(|o| o.name != ASPECT_RATIO));
    }

    #[test]
    fn the_model_follows_the_input() {
        let wan = tier("wan").unwrap();
        assert_eq!((wan.model(false), wan.model(true)), ("wan2.2-t2v-plus", "wan2.2-i2v-plus"));
        let flash = tier("wan-flash").unwrap();
        assert_eq!(flash.model(true), "wan2.2-i2v-flash");
    }

    fn check(has_image: bool, pairs: &[(&str, &str)]) -> Result<(), Failure> {
        check_combination(tier("wan").unwrap(), has_image, Options::new(&options(pairs)))
    }

    #[test]
    fn aspect_ratios_depend_on_resolution_and_input() {
        assert!(check(false, &[(ASPECT_RATIO, "4:3")]).is_ok());
        let refused = check(false, &[(ASPECT_RATIO, "4:3"), (RESOLUTION, "480p")]).unwrap_err();
        assert_eq!(refused.code, FailureCode::InvalidInput);
        assert!(refused.message.contains("allowed at 480p: 16:9, 9:16, 1:1"), "{}", refused.message);
        let with_image = check(true, &[(ASPECT_RATIO, "16:9")]).unwrap_err();
        assert!(with_image.message.contains("text-to-video only"), "{}", with_image.message);
        assert!(check(true, &[(RESOLUTION, "480p")]).is_ok());
        assert_eq!(t2v_size("480p", "9:16"), Some("480*832"));
    }

    #[test]
    fn inline_images_are_capped_at_ten_mebibytes() {
        let image =
            |len: usize| Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![0; len]) };
        assert!(check_image(&image(MAX_IMAGE_BYTES)).is_ok());
        assert_eq!(check_image(&image(MAX_IMAGE_BYTES + 1)).unwrap_err().code, FailureCode::InvalidInput);
    }
}
