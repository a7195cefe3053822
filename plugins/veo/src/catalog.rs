//! The catalogue: one offering per Veo 3.1 tier, its options and prices,
//! and the option combinations Veo refuses.
//!
//! Everything here is data plus two pure functions ([`offering`] and
//! [`check_combination`]), so the manifest, the price table in the README
//! and the rules `quote` enforces come from one place.
//!
//! | offering   | built-in model (setting `model.<offering>`) | resolutions     | credits / second (720p, 1080p, 4k) |
//! |------------|---------------------------------------------|-----------------|------------------------------------|
//! | `veo`      | `veo-3.1-generate-001`                      | 720p 1080p 4k   | 40, 40, 60                         |
//! | `veo-fast` | `veo-3.1-fast-generate-001`                 | 720p 1080p 4k   | 10, 12, 30                         |
//! | `veo-lite` | `veo-3.1-lite-generate-001`                 | 720p 1080p      | 5, 8, —                            |
//!
//! The `*-generate-preview` ids the plugin used until 2026-12 were shut
//! down on the Gemini API on 2026-10-22 ([`RETIRED_MODELS`]); the built-ins
//! are Google's GA Veo 3.1 ids. The operator's setting `model.<offering>`
//! replaces a built-in id (`lib.rs` resolves every id through
//! [`doitong_plugin_sdk::model_id`]), so the next retirement is a
//! configuration change.
//!
//! One credit is US$0.01 of Google's list price per second of video (audio
//! is always included on the Gemini API), rounded up.

use doitong_plugin_sdk::prelude::*;

/// Option names, as users send them.
pub const DURATION: &str = "duration";
/// See [`DURATION`].
pub const RESOLUTION: &str = "resolution";
/// See [`DURATION`].
pub const ASPECT_RATIO: &str = "aspectRatio";
/// See [`DURATION`].
pub const NEGATIVE_PROMPT: &str = "negativePrompt";

/// Clip lengths Veo 3.1 renders, in seconds.
pub const DURATIONS: &[i64] = &[4, 6, 8];
/// The default clip length (Veo's own default).
pub const DEFAULT_DURATION: i64 = 8;
/// Resolutions some tiers render as 8-second clips only.
pub const HIGH_RESOLUTIONS: &[&str] = &["1080p", "4k"];
/// The only length those tiers render at [`HIGH_RESOLUTIONS`].
pub const HIGH_RESOLUTION_DURATION: i64 = 8;
/// Landscape and portrait: the only two frames Veo renders.
pub const ASPECT_RATIOS: &[&str] = &["16:9", "9:16"];
/// Veo's default resolution.
pub const DEFAULT_RESOLUTION: &str = "720p";

/// One Veo 3.1 tier, served as one offering.
pub struct Tier {
    /// Public offering id.
    pub offering: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Built-in Gemini API model id, the `{model}` in
    /// `models/{model}:predictLongRunning`, unless the operator's setting
    /// `model.<offering>` replaces it.
    pub model: &'static str,
    /// What it is good at.
    pub description: &'static str,
    /// `(resolution, credits per second)`: the resolutions the tier renders.
    pub prices: &'static [(&'static str, u32)],
    /// Whether 1080p and 4k are rendered as 8-second clips only.
    pub high_resolution_needs_8s: bool,
    /// Quality rank, 1..=100.
    pub quality: u8,
    /// Typical seconds to a result with default options.
    pub estimated_seconds: u32,
}

/// The tiers, best first. `veo` is the portal's provider id.
pub const TIERS: &[Tier] = &[
    Tier {
        offering: "veo",
        name: "Google Veo 3.1",
        model: "veo-3.1-generate-001",
        description: "Google DeepMind's Veo 3.1: hyper-realistic 4 to 8 second clips with physically plausible \
                      motion and native audio (dialogue, effects, music), at 720p, 1080p or 4K. Text-to-video, or \
                      image-to-video from a first frame.",
        prices: &[("720p", 40), ("1080p", 40), ("4k", 60)],
        high_resolution_needs_8s: true,
        quality: 95,
        estimated_seconds: 120,
    },
    Tier {
        offering: "veo-fast",
        name: "Google Veo 3.1 Fast",
        model: "veo-3.1-fast-generate-001",
        description: "Veo 3.1 Fast: the same controls and native audio as Veo 3.1, generated faster and for a \
                      quarter of the price, with slightly less detail.",
        prices: &[("720p", 10), ("1080p", 12), ("4k", 30)],
        high_resolution_needs_8s: true,
        quality: 88,
        estimated_seconds: 60,
    },
    Tier {
        offering: "veo-lite",
        name: "Google Veo 3.1 Lite",
        model: "veo-3.1-lite-generate-001",
        description: "Veo 3.1 Lite: the lowest-cost Veo for drafts and high volume, with native audio, at 720p or \
                      1080p.",
        prices: &[("720p", 5), ("1080p", 8)],
        high_resolution_needs_8s: false,
        quality: 80,
        estimated_seconds: 45,
    },
];

/// Model ids Google shut down on the Gemini API (2026-10-22): never sent
/// unless an operator names one in a setting.
pub const RETIRED_MODELS: &[&str] =
    &["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview"];

/// The tier serving `offering`.
pub fn tier(offering: &str) -> Option<&'static Tier> {
    TIERS.iter().find(|t| t.offering == offering)
}

impl Tier {
    /// The resolutions this tier renders.
    pub fn resolutions(&self) -> Vec<&'static str> {
        self.prices.iter().map(|(resolution, _)| *resolution).collect()
    }

    /// Credits per second at `resolution`.
    pub fn per_second(&self, resolution: &str) -> Option<u32> {
        self.prices.iter().find(|(r, _)| *r == resolution).map(|(_, credits)| *credits)
    }

    /// The durations Veo accepts at `resolution` on this tier.
    pub fn durations_at(&self, resolution: &str) -> &'static [i64] {
        if self.high_resolution_needs_8s && HIGH_RESOLUTIONS.contains(&resolution) {
            std::slice::from_ref(&HIGH_RESOLUTION_DURATION)
        } else {
            DURATIONS
        }
    }
}

/// The offering a tier is served as.
pub fn offering(tier: &Tier) -> Offering {
    let default_price = tier.per_second(DEFAULT_RESOLUTION).expect("every tier renders 720p");
    let mut limitations = vec![
        "one clip per request, 4, 6 or 8 seconds, 24 fps",
        "aspect ratios 16:9 and 9:16 only",
        "a prompt is required, also for image-to-video",
        "no seed: the Gemini API does not accept one for Veo",
        "cancelling stops our waiting only: Google has no cancel for Veo and charges the clip",
    ];
    if tier.high_resolution_needs_8s {
        limitations.push("1080p and 4k are 8-second clips only");
    }
    let mut builder = OfferingBuilder::new(tier.offering, tier.name, &[MediaKind::Video])
        .description(tier.description)
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[InputField::Text])
        // The Gemini API takes images inline only (base64), never by URL.
        .needs_bytes(&[InputField::Image])
        .features(&["text-to-video", "image-to-video", "native audio", "physics-aware motion", "SynthID watermark"])
        .limitations(&limitations)
        .option(
            OptionBuilder::integer(DURATION, "Seconds of video: 4, 6 or 8")
                .allowed_integers(DURATIONS)
                .default_integer(DEFAULT_DURATION),
        )
        .option(
            OptionBuilder::text(RESOLUTION, "Output resolution")
                .allowed(&tier.resolutions())
                .default_text(DEFAULT_RESOLUTION),
        )
        .option(
            OptionBuilder::text(ASPECT_RATIO, "16:9 (landscape) or 9:16 (portrait)")
                .allowed(ASPECT_RATIOS)
                .default_text(ASPECT_RATIOS[0]),
        )
        .option(OptionBuilder::text(NEGATIVE_PROMPT, "What the video should not show"))
        .quality(tier.quality)
        .credits(default_price * DEFAULT_DURATION as u32)
        .estimated_seconds(tier.estimated_seconds);
    for (resolution, credits) in tier.prices {
        builder = builder.price(&[(RESOLUTION, Value::Text(resolution.to_string()))], *credits, true);
    }
    builder.build()
}

/// Refuse what the host's per-option checks cannot see: a duration the
/// chosen resolution does not allow.
pub fn check_combination(tier: &Tier, options: Options<'_>) -> Result<(), Failure> {
    let resolution = options.text(RESOLUTION).unwrap_or(DEFAULT_RESOLUTION);
    let duration = options.integer(DURATION).unwrap_or(DEFAULT_DURATION);
    let allowed = tier.durations_at(resolution);
    if allowed.contains(&duration) {
        return Ok(());
    }
    Err(failure::invalid_input(format!(
        "option `{DURATION}`: {duration} s is not available at resolution {resolution} on {}; allowed at \
         {resolution}: {} (4 and 6 s need resolution {DEFAULT_RESOLUTION})",
        tier.offering,
        list(allowed),
    )))
}

fn list(values: &[i64]) -> String {
    values.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
    }

    #[test]
    fn offerings_price_per_second_by_resolution() {
        let veo = offering(tier("veo").unwrap());
        assert_eq!(veo.base_credits, 320);
        let at = |resolution: &str, seconds: i64| {
            spec::price(
                &veo,
                &options(&[(DURATION, Value::Integer(seconds)), (RESOLUTION, Value::Text(resolution.into()))]),
            )
        };
        assert_eq!((at("720p", 4), at("1080p", 8), at("4k", 8)), (160, 320, 480));
        let fast = offering(tier("veo-fast").unwrap());
        assert_eq!(fast.base_credits, 80);
        let lite = offering(tier("veo-lite").unwrap());
        assert_eq!(lite.base_credits, 40);
        let resolution = lite.options.iter().find(|o| o.name == RESOLUTION).unwrap();
        assert_eq!(resolution.allowed_values, vec![Value::Text("720p".into()), Value::Text("1080p".into())]);
    }

    #[test]
    fn high_resolutions_need_eight_seconds_where_documented() {
        let veo = tier("veo").unwrap();
        let four_at =
            |resolution: &str| options(&[(DURATION, Value::Integer(4)), (RESOLUTION, Value::Text(resolution.into()))]);
        assert!(check_combination(veo, Options::new(&four_at("720p"))).is_ok());
        let refused = check_combination(veo, Options::new(&four_at("1080p"))).unwrap_err();
        assert_eq!(refused.code, FailureCode::InvalidInput);
        assert!(refused.message.contains("option `duration`"), "{}", refused.message);
        assert!(refused.message.contains("allowed at 1080p: 8"), "{}", refused.message);
        assert!(check_combination(veo, Options::new(&four_at("4k"))).is_err());
        assert!(check_combination(tier("veo-lite").unwrap(), Options::new(&four_at("1080p"))).is_ok());
        assert!(check_combination(veo, Options::new(&[])).is_ok(), "defaults are a valid combination");
    }

    #[test]
    fn offering_ids_are_unique_and_start_with_the_portal_id() {
        let ids: Vec<&str> = TIERS.iter().map(|t| t.offering).collect();
        assert_eq!(ids, ["veo", "veo-fast", "veo-lite"]);
        assert!(tier("veo-2").is_none());
    }

    #[test]
    fn built_in_models_are_current() {
        let models: Vec<&str> = TIERS.iter().map(|t| t.model).collect();
        assert_eq!(models, ["veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001"]);
        assert!(TIERS.iter().all(|t| !RETIRED_MODELS.contains(&t.model)), "no retired id is built in");
    }
}
