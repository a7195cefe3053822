//! Luma's Ray video models, one offering each, with their options and the
//! price table derived from Luma's per-pixel rates.
//!
//! | Offering           | Luma `model`  | `duration` | `resolution`           | $ per million pixels |
//! |--------------------|---------------|------------|------------------------|----------------------|
//! | `luma`             | `ray-2`       | 5, 9       | 540p, 720p, 1080p, 4k  | 0.0064               |
//! | `luma-ray-flash-2` | `ray-flash-2` | 5, 9       | 540p, 720p, 1080p, 4k  | 0.0022               |
//! | `luma-ray-1-6`     | `ray-1-6`     | 5 (fixed)  | 720p (fixed)           | 0.0032               |
//!
//! Luma bills output pixels: width × height × 24 frames per second ×
//! seconds × the model's rate. [`credits`] rounds that up to whole cents
//! (1 credit ≈ $0.01), priced at the 16:9 frame size of the resolution.

use doitong_plugin_sdk::prelude::*;

/// Aspect ratios Luma generates, in the order shown to users.
pub const ASPECT_RATIOS: &[&str] = &["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"];
/// Ray 2's durations in seconds (Luma's `"5s"`, `"9s"`).
pub const DURATIONS_S: &[i64] = &[5, 9];
/// Ray 2's resolutions.
pub const RESOLUTIONS: &[&str] = &["540p", "720p", "1080p", "4k"];
/// `duration` when the user gives none.
pub const DEFAULT_DURATION_S: i64 = 5;
/// `resolution` when the user gives none.
pub const DEFAULT_RESOLUTION: &str = "720p";
/// `aspectRatio` when the user gives none (Luma's own default).
pub const DEFAULT_ASPECT_RATIO: &str = "16:9";
/// Frames per second Luma bills at.
const FPS: u64 = 24;

/// One Luma video model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ray {
    /// `ray-2`: Luma's flagship Dream Machine model.
    Ray2,
    /// `ray-flash-2`: the faster, cheaper distillation of Ray 2.
    Flash2,
    /// `ray-1-6`: the older Dream Machine 1.6, fixed 5 s at 720p.
    Ray16,
}

impl Ray {
    /// Every model, the portal's `luma` (Ray 2) first.
    pub const ALL: [Ray; 3] = [Ray::Ray2, Ray::Flash2, Ray::Ray16];

    /// Our offering id.
    pub fn offering_id(self) -> &'static str {
        match self {
            Ray::Ray2 => "luma",
            Ray::Flash2 => "luma-ray-flash-2",
            Ray::Ray16 => "luma-ray-1-6",
        }
    }

    /// Luma's `model` value.
    pub fn api_name(self) -> &'static str {
        match self {
            Ray::Ray2 => "ray-2",
            Ray::Flash2 => "ray-flash-2",
            Ray::Ray16 => "ray-1-6",
        }
    }

    /// The model an offering id names.
    pub fn from_offering(id: &str) -> Option<Ray> {
        Ray::ALL.into_iter().find(|r| r.offering_id() == id)
    }

    /// Whether `duration` and `resolution` are sent to Luma (Ray 1.6 has one
    /// length and one size).
    pub fn sizes_selectable(self) -> bool {
        !matches!(self, Ray::Ray16)
    }

    /// Luma's price in ten-thousandths of a dollar per million pixels.
    fn rate_per_megapixel_e4(self) -> u64 {
        match self {
            Ray::Ray2 => 64,
            Ray::Flash2 => 22,
            Ray::Ray16 => 32,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ray::Ray2 => "Luma Ray 2 (Dream Machine)",
            Ray::Flash2 => "Luma Ray Flash 2 (Dream Machine)",
            Ray::Ray16 => "Luma Ray 1.6 (Dream Machine)",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Ray::Ray2 => {
                "Luma's Ray 2: realistic, coherent motion and strong camera work from text or a start \
                 frame, 5 or 9 seconds from 540p to 4K."
            }
            Ray::Flash2 => "Ray 2's faster, cheaper sibling: the same options at about a third of the price.",
            Ray::Ray16 => "Dream Machine 1.6: the older model, 5 seconds at 720p, from text or a start frame.",
        }
    }

    fn quality(self) -> u8 {
        match self {
            Ray::Ray2 => 82,
            Ray::Flash2 => 70,
            Ray::Ray16 => 55,
        }
    }

    /// Typical seconds to a result with default options.
    pub fn estimated_seconds(self) -> u32 {
        match self {
            Ray::Ray2 => 90,
            Ray::Flash2 => 45,
            Ray::Ray16 => 120,
        }
    }

    /// The offering this model is served as.
    pub fn offering(self) -> Offering {
        let mut builder = OfferingBuilder::new(self.offering_id(), self.name(), &[MediaKind::Video])
            .description(self.description())
            .accepts(&[InputField::Text, InputField::Image])
            .requires(&[InputField::Text])
            .features(&["text-to-video", "image-to-video (start frame)", "seamless loop", "artistic styles"])
            .limitations(&[
                "input.image must be an https URL: Luma fetches start frames itself and takes no data: URIs",
                "no end frame, camera concepts, extend or upscale",
                "cancelling deletes the generation at Luma but is not refunded",
            ]);
        builder = if self.sizes_selectable() {
            builder
                .option(
                    OptionBuilder::integer("duration", "Seconds of video (Luma's 5s or 9s)")
                        .allowed_integers(DURATIONS_S)
                        .default_integer(DEFAULT_DURATION_S),
                )
                .option(
                    OptionBuilder::text("resolution", "Output resolution")
                        .allowed(RESOLUTIONS)
                        .default_text(DEFAULT_RESOLUTION),
                )
        } else {
            builder.option(
                OptionBuilder::integer("duration", "Seconds of video (fixed for Ray 1.6)")
                    .allowed_integers(&[DEFAULT_DURATION_S])
                    .default_integer(DEFAULT_DURATION_S),
            )
        };
        builder = builder
            .option(
                OptionBuilder::text("aspectRatio", "Width:height")
                    .allowed(ASPECT_RATIOS)
                    .default_text(DEFAULT_ASPECT_RATIO),
            )
            .option(
                OptionBuilder::flag("loop", "Blend the end into the start for a seamless loop").default_flag(false),
            );
        if self.sizes_selectable() {
            for resolution in RESOLUTIONS {
                for seconds in DURATIONS_S {
                    builder = builder.price(
                        &[("duration", Value::Integer(*seconds)), ("resolution", Value::Text(resolution.to_string()))],
                        self.credits(resolution, *seconds as u64),
                        false,
                    );
                }
            }
        }
        builder
            .credits(self.credits(DEFAULT_RESOLUTION, DEFAULT_DURATION_S as u64))
            .quality(self.quality())
            .estimated_seconds(self.estimated_seconds())
            .build()
    }

    /// Luma's list price of one clip in credits (cents), rounded up.
    pub fn credits(self, resolution: &str, seconds: u64) -> u32 {
        let pixels = frame_pixels(resolution) * FPS * seconds;
        // dollars = pixels / 1e6 × rate_e4 / 1e4; cents = that × 100.
        (pixels * self.rate_per_megapixel_e4()).div_ceil(100_000_000) as u32
    }
}

/// Pixels in one 16:9 frame at `resolution`.
fn frame_pixels(resolution: &str) -> u64 {
    match resolution {
        "540p" => 960 * 540,
        "1080p" => 1920 * 1080,
        "4k" => 3840 * 2160,
        _ => 1280 * 720,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_follow_lumas_per_pixel_rates() {
        // Luma's published examples: ray-2 720p 5 s $0.71, 4k 9 s $11.47;
        // ray-flash-2 4k 5 s $2.19; ray-1-6 720p 5 s $0.35.
        let table: Vec<u32> = RESOLUTIONS.iter().flat_map(|r| [5, 9].map(|s| Ray::Ray2.credits(r, s))).collect();
        assert_eq!(table, [40, 72, 71, 128, 160, 287, 638, 1147]);
        let flash: Vec<u32> = RESOLUTIONS.iter().flat_map(|r| [5, 9].map(|s| Ray::Flash2.credits(r, s))).collect();
        assert_eq!(flash, [14, 25, 25, 44, 55, 99, 219, 395]);
        assert_eq!(Ray::Ray16.credits("720p", 5), 36);
    }

    #[test]
    fn offerings_price_every_combination_by_rule() {
        let offering = Ray::Ray2.offering();
        assert_eq!((offering.id.as_str(), offering.base_credits, offering.pricing.len()), ("luma", 71, 8));
        let options = |d: i64, r: &str| {
            vec![("duration".to_string(), Value::Integer(d)), ("resolution".to_string(), Value::Text(r.into()))]
        };
        assert_eq!(spec::price(&offering, &options(9, "720p")), 128);
        assert_eq!(spec::price(&offering, &options(5, "4k")), 638);
        let old = Ray::Ray16.offering();
        let names: Vec<&str> = old.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!((names, old.base_credits, old.pricing.len()), (vec!["duration", "aspectRatio", "loop"], 36, 0));
    }

    #[test]
    fn offering_ids_name_their_models() {
        for ray in Ray::ALL {
            assert_eq!(Ray::from_offering(ray.offering_id()), Some(ray));
        }
        assert_eq!(Ray::from_offering("luma-ray-3"), None);
    }
}
