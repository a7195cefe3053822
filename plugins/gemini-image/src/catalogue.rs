//! The catalogue: one offering per Gemini image model tier, its options and
//! prices, and the request a user's options resolve to.
//!
//! | offering           | built-in Gemini API model | `aspectRatio`            | `imageSize` (credits per image) |
//! |--------------------|---------------------------|--------------------------|---------------------------------|
//! | `gemini-image`     | `gemini-3.1-flash-image`  | 14 ratios, 1:8 … 8:1     | 512 (5), 1K (7), 2K (11), 4K (16) |
//! | `gemini-image-pro` | `gemini-3-pro-image`      | 10 ratios, 9:16 … 21:9   | 1K (14), 2K (14), 4K (24)       |
//!
//! One credit is US$0.01 of Google's paid-tier list price per output image,
//! rounded up (see README.md, "Pricing"). One request makes one image: the
//! Gemini API has no image count for these models (`candidateCount` is 1),
//! so there is no `numberOfImages` option. The model id is only the
//! built-in default: `lib.rs` resolves it through the operator's
//! `model.<offering>` setting.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

/// Option names, as users send them.
pub const ASPECT_RATIO: &str = "aspectRatio";
/// Output size class (Google's `imageConfig.imageSize`).
pub const IMAGE_SIZE: &str = "imageSize";
/// The size class Google uses when none is sent, and our default.
pub const DEFAULT_IMAGE_SIZE: &str = "1K";

/// Aspect ratios of Gemini 3.1 Flash Image (Google's model page; the SDK's
/// `AspectRatio` enum lists the same fourteen).
pub const FLASH_ASPECT_RATIOS: &[&str] =
    &["1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16", "16:9", "21:9"];
/// Aspect ratios of Gemini 3 Pro Image (no 1:4, 4:1, 1:8, 8:1).
pub const PRO_ASPECT_RATIOS: &[&str] = &["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];

/// One size class of a tier: Google's name for it and what it costs.
#[derive(Debug, PartialEq, Eq)]
pub struct Size {
    /// Google's `imageSize` value, also the option value (`512`, `1K`, …;
    /// Google refuses lower-case `1k`).
    pub name: &'static str,
    /// Credits per image at this size.
    pub credits: u32,
    /// Typical seconds to the image at this size.
    pub estimated_seconds: u32,
}

/// One Gemini image model tier, served as one offering.
#[derive(Debug, PartialEq, Eq)]
pub struct Tier {
    /// Public offering id; also the `<offering>` of the `model.<offering>` setting.
    pub offering: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Built-in Gemini API model id, the `{model}` in
    /// `models/{model}:generateContent`, unless the operator overrides it.
    pub model: &'static str,
    /// What it is good at.
    pub description: &'static str,
    /// Accepted `aspectRatio` values.
    pub aspect_ratios: &'static [&'static str],
    /// Accepted `imageSize` values, cheapest first.
    pub sizes: &'static [Size],
    /// Quality rank, 1..=100.
    pub quality: u8,
    /// Known limits shown in the catalogue.
    pub limitations: &'static [&'static str],
}

impl Tier {
    /// The size class named `name`, if this tier has it.
    pub fn size(&self, name: &str) -> Option<&'static Size> {
        self.sizes.iter().find(|s| s.name == name)
    }

    /// The default size class (Google's 1K).
    pub fn default_size(&self) -> &'static Size {
        self.size(DEFAULT_IMAGE_SIZE).expect("every tier has 1K")
    }
}

/// The tiers; `gemini-image` (the Flash model) first, as the cheaper default.
pub const TIERS: &[Tier] = &[
    Tier {
        offering: "gemini-image",
        name: "Google Gemini 3.1 Flash Image (Nano Banana 2)",
        model: "gemini-3.1-flash-image",
        description: "Google's fast Gemini image model: text-to-image and image editing from a reference image, \
                      legible text, 512 px to 4K, fourteen aspect ratios from 1:8 to 8:1. Replaces Imagen 4 \
                      (retired on the Gemini API in 2026).",
        aspect_ratios: FLASH_ASPECT_RATIOS,
        sizes: &[
            Size { name: "512", credits: 5, estimated_seconds: 6 },
            Size { name: "1K", credits: 7, estimated_seconds: 8 },
            Size { name: "2K", credits: 11, estimated_seconds: 12 },
            Size { name: "4K", credits: 16, estimated_seconds: 20 },
        ],
        quality: 90,
        limitations: &[
            "one image per request",
            "one reference image (PNG, JPEG or WebP, at most 7 MiB)",
            "no seed, negative prompt or output format choice on the Gemini API",
            "every image carries Google's invisible SynthID watermark",
        ],
    },
    Tier {
        offering: "gemini-image-pro",
        name: "Google Gemini 3 Pro Image (Nano Banana Pro)",
        model: "gemini-3-pro-image",
        description: "Google's most capable Gemini image model: reasons about the prompt before drawing, for \
                      complex scenes, infographics and accurate text; image editing from a reference image; 1K to 4K.",
        aspect_ratios: PRO_ASPECT_RATIOS,
        sizes: &[
            Size { name: "1K", credits: 14, estimated_seconds: 15 },
            Size { name: "2K", credits: 14, estimated_seconds: 20 },
            Size { name: "4K", credits: 24, estimated_seconds: 30 },
        ],
        quality: 95,
        limitations: &[
            "one image per request",
            "one reference image (PNG, JPEG or WebP, at most 7 MiB)",
            "no 512 size and no 1:4, 4:1, 1:8 or 8:1 frames",
            "no seed, negative prompt or output format choice on the Gemini API",
            "every image carries Google's invisible SynthID watermark",
        ],
    },
];

/// The tier serving `offering`, if this plugin serves it.
pub fn tier(offering: &str) -> Option<&'static Tier> {
    TIERS.iter().find(|t| t.offering == offering)
}

/// The offering for `tier`: options, one price rule per size class.
pub fn offering(tier: &Tier) -> Offering {
    let sizes: Vec<&str> = tier.sizes.iter().map(|s| s.name).collect();
    let default = tier.default_size();
    let mut builder = OfferingBuilder::new(tier.offering, tier.name, &[MediaKind::Image])
        .description(tier.description)
        .accepts(&[InputField::Text, InputField::Image])
        .requires(&[InputField::Text])
        // Google takes reference images inline (base64) only: the host
        // fetches a URL's bytes for us.
        .needs_bytes(&[InputField::Image])
        .features(&["text-to-image", "image editing", "reference image", "text rendering", "up to 4K"])
        .limitations(tier.limitations)
        .option(
            // No default: Google then picks 1:1, or the reference image's frame.
            OptionBuilder::text(
                ASPECT_RATIO,
                "Frame of the image; when omitted, 1:1, or the reference image's frame when one is given",
            )
            .allowed(tier.aspect_ratios),
        )
        .option(
            OptionBuilder::text(
                IMAGE_SIZE,
                "Size class: 512 (about 512 px on the long side), 1K (about 1024 px), 2K or 4K; the price depends on it",
            )
            .allowed(&sizes)
            .default_text(default.name),
        )
        .quality(tier.quality)
        .credits(default.credits)
        .estimated_seconds(default.estimated_seconds);
    for size in tier.sizes {
        builder = builder.price(&[(IMAGE_SIZE, Value::Text(size.name.to_string()))], size.credits, false);
    }
    builder.build()
}

/// A request resolved against its tier: what Google is asked for (the
/// model id aside, which the operator's settings decide).
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The tier.
    pub tier: &'static Tier,
    /// The prompt, as given.
    pub prompt: String,
    /// One of the tier's aspect ratios; `None` leaves the frame to Google.
    pub aspect_ratio: Option<String>,
    /// One of the tier's size classes.
    pub size: &'static Size,
}

impl Plan {
    /// Resolve and check `request`. The host has already refused options
    /// and values the offering does not declare; what is left to refuse
    /// (an empty prompt, an offering of another plugin) is `invalid-input`.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let tier = tier(&request.offering).ok_or_else(|| {
            failure::invalid_input(format!("offering `{}` is not served by the gemini-image plugin", request.offering))
        })?;
        let prompt = request.input.text.clone().unwrap_or_default();
        if prompt.trim().is_empty() {
            return Err(failure::invalid_input(format!("provider `{}` needs a prompt in input.text", tier.offering)));
        }
        let options = Options::of(request);
        let aspect_ratio = options.text(ASPECT_RATIO).map(str::to_string);
        if let Some(ratio) = &aspect_ratio
            && !tier.aspect_ratios.contains(&ratio.as_str())
        {
            return Err(failure::invalid_input(format!(
                "option `{ASPECT_RATIO}` of provider `{}` must be one of {}; got {ratio:?}",
                tier.offering,
                tier.aspect_ratios.join(", ")
            )));
        }
        let size_name = options.text(IMAGE_SIZE).unwrap_or(DEFAULT_IMAGE_SIZE);
        let size = tier.size(size_name).ok_or_else(|| {
            let names: Vec<&str> = tier.sizes.iter().map(|s| s.name).collect();
            failure::invalid_input(format!(
                "option `{IMAGE_SIZE}` of provider `{}` must be one of {}; got {size_name:?}",
                tier.offering,
                names.join(", ")
            ))
        })?;
        Ok(Plan { tier, prompt, aspect_ratio, size })
    }

    /// Credits: the price of one image at the size asked for.
    pub fn credits(&self) -> u32 {
        self.size.credits
    }

    /// Typical seconds to the image.
    pub fn estimated_seconds(&self) -> u32 {
        self.size.estimated_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    /// A request as the host hands it over: declared defaults filled in.
    pub(crate) fn request(offering: &str, prompt: Option<&str>, given: &[(&str, Value)]) -> JobRequest {
        let declared = tier(offering).map(super::offering);
        let options = match &declared {
            Some(o) => spec::with_defaults(o, given),
            None => given.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        };
        JobRequest {
            offering: offering.into(),
            kind: MediaKind::Image,
            input: JobInput { text: prompt.map(str::to_string), image: None, audio: None, video: None, voice: None },
            options,
        }
    }

    fn option<'a>(offering: &'a Offering, name: &str) -> Option<&'a OptionSpec> {
        offering.options.iter().find(|o| o.name == name)
    }

    #[test]
    fn two_tiers_on_current_ga_models() {
        let ids: Vec<(&str, &str)> = TIERS.iter().map(|t| (t.offering, t.model)).collect();
        assert_eq!(ids, [("gemini-image", "gemini-3.1-flash-image"), ("gemini-image-pro", "gemini-3-pro-image")]);
        for t in TIERS {
            assert!(t.offering.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(!t.model.contains("preview"), "previews were shut down on 2026-06-25: {}", t.model);
            assert!(!t.model.starts_with("imagen"), "Imagen is retired");
        }
        assert!(tier("imagen").is_none());
    }

    #[test]
    fn offerings_take_text_and_one_reference_image_with_its_bytes() {
        for t in TIERS {
            let o = offering(t);
            assert_eq!(o.kinds, [MediaKind::Image]);
            assert_eq!(o.accepts, [InputField::Text, InputField::Image]);
            assert_eq!(o.requires, [InputField::Text]);
            assert_eq!(o.needs_bytes, [InputField::Image]);
            let names: Vec<&str> = o.options.iter().map(|o| o.name.as_str()).collect();
            assert_eq!(names, [ASPECT_RATIO, IMAGE_SIZE], "no numberOfImages: one image per request");
            assert_eq!(option(&o, ASPECT_RATIO).unwrap().default, None, "Google picks the frame when omitted");
            assert_eq!(option(&o, IMAGE_SIZE).unwrap().default, Some(text("1K")));
        }
        let flash = offering(tier("gemini-image").unwrap());
        let sizes = &option(&flash, IMAGE_SIZE).unwrap().allowed_values;
        assert_eq!(sizes, &[text("512"), text("1K"), text("2K"), text("4K")]);
        assert_eq!(option(&flash, ASPECT_RATIO).unwrap().allowed_values.len(), 14);
        let pro = offering(tier("gemini-image-pro").unwrap());
        assert_eq!(option(&pro, IMAGE_SIZE).unwrap().allowed_values, [text("1K"), text("2K"), text("4K")]);
        let ratios = &option(&pro, ASPECT_RATIO).unwrap().allowed_values;
        assert_eq!(ratios.len(), 10);
        assert!(!ratios.contains(&text("8:1")) && ratios.contains(&text("21:9")));
        assert!(pro.quality > flash.quality);
    }

    #[test]
    fn prices_follow_the_size_class_and_agree_with_the_declared_rules() {
        let table = [
            ("gemini-image", "512", 5),
            ("gemini-image", "1K", 7),
            ("gemini-image", "2K", 11),
            ("gemini-image", "4K", 16),
            ("gemini-image-pro", "1K", 14),
            ("gemini-image-pro", "2K", 14),
            ("gemini-image-pro", "4K", 24),
        ];
        for (offering_id, size, credits) in table {
            let declared = offering(tier(offering_id).unwrap());
            let given = [(IMAGE_SIZE, text(size))];
            let plan = Plan::of(&request(offering_id, Some("x"), &given)).unwrap();
            assert_eq!(plan.credits(), credits, "{offering_id} {size}");
            assert_eq!(
                spec::price(&declared, &spec::with_defaults(&declared, &given)),
                credits,
                "{offering_id} {size}"
            );
        }
        assert_eq!(offering(tier("gemini-image").unwrap()).base_credits, 7);
        assert_eq!(offering(tier("gemini-image-pro").unwrap()).base_credits, 14);
    }

    #[test]
    fn defaults_leave_the_frame_to_google_at_1k() {
        let plan = Plan::of(&request("gemini-image", Some("a red bicycle"), &[])).unwrap();
        assert_eq!(
            plan,
            Plan {
                tier: tier("gemini-image").unwrap(),
                prompt: "a red bicycle".into(),
                aspect_ratio: None,
                size: tier("gemini-image").unwrap().size("1K").unwrap(),
            }
        );
        assert_eq!((plan.credits(), plan.estimated_seconds()), (7, 8));
        let wide = Plan::of(&request("gemini-image-pro", Some("x"), &[(ASPECT_RATIO, text("21:9"))])).unwrap();
        assert_eq!(wide.aspect_ratio.as_deref(), Some("21:9"));
    }

    #[test]
    fn what_the_tier_cannot_do_is_refused_by_name() {
        let cases = [
            ("gemini-image", Some("   "), vec![], "provider `gemini-image` needs a prompt in input.text"),
            ("gemini-image-pro", None, vec![], "provider `gemini-image-pro` needs a prompt in input.text"),
            ("imagen", Some("x"), vec![], "offering `imagen` is not served by the gemini-image plugin"),
            (
                "gemini-image-pro",
                Some("x"),
                vec![(IMAGE_SIZE, text("512"))],
                "option `imageSize` of provider `gemini-image-pro` must be one of 1K, 2K, 4K; got \"512\"",
            ),
            (
                "gemini-image-pro",
                Some("x"),
                vec![(ASPECT_RATIO, text("8:1"))],
                "option `aspectRatio` of provider `gemini-image-pro` must be one of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, \
                 5:4, 9:16, 16:9, 21:9; got \"8:1\"",
            ),
        ];
        for (offering_id, prompt, given, message) in cases {
            // Built by hand: the host would already refuse undeclared values.
            let mut req = request(offering_id, prompt, &[]);
            for (name, value) in given {
                req.options.retain(|(n, _)| n != name);
                req.options.push((name.to_string(), value));
            }
            let failure = Plan::of(&req).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
    }
}
