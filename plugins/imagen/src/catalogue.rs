//! The catalogue: one offering per Imagen 4 tier, its options and prices,
//! and the option combinations Imagen refuses.
//!
//! | offering       | Gemini API model                | images per request | `imageSize` | credits per image |
//! |----------------|---------------------------------|--------------------|-------------|-------------------|
//! | `imagen`       | `imagen-4.0-generate-001`       | 1–4                | 1K, 2K      | 4                 |
//! | `imagen-ultra` | `imagen-4.0-ultra-generate-001` | 1                  | 1K, 2K      | 6                 |
//! | `imagen-fast`  | `imagen-4.0-fast-generate-001`  | 1–4                | —           | 2                 |
//!
//! One credit is US$0.01 of Google's list price per generated image,
//! rounded up; a request costs the price of an image times
//! `numberOfImages`. Per-tier differences are expressed in each offering's
//! option specs (the host refuses what a tier does not declare);
//! [`Plan::of`] checks what a single spec cannot say.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

/// Option names, as users send them.
pub const ASPECT_RATIO: &str = "aspectRatio";
/// How many images one request makes (Google's `sampleCount`).
pub const NUMBER_OF_IMAGES: &str = "numberOfImages";
/// Output size class (Google's `sampleImageSize`).
pub const IMAGE_SIZE: &str = "imageSize";
/// PNG or JPEG (Google's `outputOptions.mimeType`).
pub const OUTPUT_FORMAT: &str = "outputFormat";
/// JPEG quality (Google's `outputOptions.compressionQuality`).
pub const COMPRESSION_QUALITY: &str = "compressionQuality";
/// Whether people may appear (Google's `personGeneration`).
pub const PERSON_GENERATION: &str = "personGeneration";

/// Frames Imagen renders; the first is Google's default.
pub const ASPECT_RATIOS: &[&str] = &["1:1", "3:4", "4:3", "9:16", "16:9"];
/// Size classes of the tiers that have them; the first is Google's default.
pub const IMAGE_SIZES: &[&str] = &["1K", "2K"];
/// `personGeneration` values, Google's spelling; `allow_adult` is the default.
pub const PERSON_GENERATIONS: &[&str] = &["dont_allow", "allow_adult", "allow_all"];
/// The default of `personGeneration`.
pub const DEFAULT_PERSON_GENERATION: &str = "allow_adult";
/// Most images Imagen makes in one request.
pub const MAX_IMAGES: i64 = 4;
/// Most 2K PNGs asked for at once. Imagen's 2K PNGs run to 5–8 MB each,
/// a third more as base64: three or four overflow the host's default
/// answer cap (32 MiB) and a plugin's memory (64 MiB), so the request
/// would be paid for in waiting and then fail. JPEGs are a fifth the size.
pub const MAX_2K_PNG_IMAGES: i64 = 2;

/// An output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Lossless; Google's default.
    Png,
    /// Lossy, with an optional `compressionQuality`.
    Jpeg,
}

impl Format {
    /// Every format, in the order the option lists them.
    pub const ALL: [Format; 2] = [Format::Png, Format::Jpeg];

    /// The `outputFormat` option value.
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
        }
    }

    /// The MIME type Google is asked for.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
        }
    }

    /// The format an option value names.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One Imagen 4 tier, served as one offering.
#[derive(Debug, PartialEq, Eq)]
pub struct Tier {
    /// Public offering id.
    pub offering: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Gemini API model id, the `{model}` in `models/{model}:predict`.
    pub model: &'static str,
    /// What it is good at.
    pub description: &'static str,
    /// Credits per generated image.
    pub credits_per_image: u32,
    /// Most images per request.
    pub max_images: i64,
    /// Whether the tier takes `imageSize` (Google's `sampleImageSize`).
    pub has_image_size: bool,
    /// Quality rank, 1..=100.
    pub quality: u8,
    /// Typical seconds to a result.
    pub estimated_seconds: u32,
}

/// The tiers. `imagen` is the portal's provider id.
pub const TIERS: &[Tier] = &[
    Tier {
        offering: "imagen",
        name: "Google Imagen 4",
        model: "imagen-4.0-generate-001",
        description: "Google's Imagen 4 (Standard): photorealistic images with strong prompt adherence and legible \
                      text, at 1K or 2K, up to four per request. Prompts in English work best.",
        credits_per_image: 4,
        max_images: MAX_IMAGES,
        has_image_size: true,
        quality: 88,
        estimated_seconds: 10,
    },
    Tier {
        offering: "imagen-ultra",
        name: "Google Imagen 4 Ultra",
        model: "imagen-4.0-ultra-generate-001",
        description: "Imagen 4 Ultra: Google's most detailed Imagen, for hero images and print, at 1K or 2K; one \
                      image per request.",
        credits_per_image: 6,
        max_images: 1,
        has_image_size: true,
        quality: 93,
        estimated_seconds: 15,
    },
    Tier {
        offering: "imagen-fast",
        name: "Google Imagen 4 Fast",
        model: "imagen-4.0-fast-generate-001",
        description: "Imagen 4 Fast: quick drafts and iteration at half the price of Imagen 4, 1K only, up to four \
                      per request.",
        credits_per_image: 2,
        max_images: MAX_IMAGES,
        has_image_size: false,
        quality: 78,
        estimated_seconds: 5,
    },
];

/// The tier serving `offering`, if this plugin serves it.
pub fn tier(offering: &str) -> Option<&'static Tier> {
    TIERS.iter().find(|t| t.offering == offering)
}

/// The offering for `tier`.
pub fn offering(tier: &Tier) -> Offering {
    let counts: Vec<i64> = (1..=tier.max_images).collect();
    let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    let mut limitations = vec![
        "prompts up to 480 tokens; English works best",
        "aspect ratios 1:1, 3:4, 4:3, 9:16 and 16:9 only",
        "no seed, negative prompt or reference image on the Gemini API",
        "every image carries Google's invisible SynthID watermark",
        "Google is retiring Imagen on the Gemini API in 2026 (see the plugin README)",
    ];
    if tier.max_images == 1 {
        limitations.insert(0, "one image per request");
    }
    if !tier.has_image_size {
        limitations.insert(0, "1K output only (no imageSize)");
    } else if tier.max_images > MAX_2K_PNG_IMAGES {
        limitations.insert(0, "at most 2 images per request at 2K in PNG (JPEG: up to 4)");
    }
    let mut builder = OfferingBuilder::new(tier.offering, tier.name, &[MediaKind::Image])
        .description(tier.description)
        .features(&["text-to-image", "photorealistic", "text rendering", "several images per request"])
        .limitations(&limitations)
        .option(
            OptionBuilder::text(ASPECT_RATIO, "Frame of the images")
                .allowed(ASPECT_RATIOS)
                .default_text(ASPECT_RATIOS[0]),
        )
        .option(
            OptionBuilder::integer(NUMBER_OF_IMAGES, "How many images to make; each one is charged")
                .allowed_integers(&counts)
                .default_integer(1),
        );
    if tier.has_image_size {
        builder = builder.option(
            OptionBuilder::text(IMAGE_SIZE, "Size class: 1K (about 1024 px on the long side) or 2K (about 2048 px)")
                .allowed(IMAGE_SIZES)
                .default_text(IMAGE_SIZES[0]),
        );
    }
    builder = builder
        .option(
            OptionBuilder::text(OUTPUT_FORMAT, "File format of the images")
                .allowed(&formats)
                .default_text(Format::Png.name()),
        )
        .option(
            OptionBuilder::integer(
                COMPRESSION_QUALITY,
                "JPEG quality, 0-100 (outputFormat jpeg only; Google's default when omitted)",
            )
            .range(0.0, 100.0),
        )
        .option(
            OptionBuilder::text(
                PERSON_GENERATION,
                "Whether people may appear: dont_allow, allow_adult (adults only) or allow_all (Google refuses \
                 allow_all in the EU, UK, CH and MENA)",
            )
            .allowed(PERSON_GENERATIONS)
            .default_text(DEFAULT_PERSON_GENERATION),
        )
        .quality(tier.quality)
        .credits(tier.credits_per_image)
        .estimated_seconds(tier.estimated_seconds);
    for count in counts {
        builder =
            builder.price(&[(NUMBER_OF_IMAGES, Value::Integer(count))], tier.credits_per_image * count as u32, false);
    }
    builder.build()
}

/// A request resolved against its tier: what Imagen is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The tier (and so the model).
    pub tier: &'static Tier,
    /// The prompt, as given.
    pub prompt: String,
    /// Images to make (Google's `sampleCount`).
    pub count: u32,
    /// One of [`ASPECT_RATIOS`].
    pub aspect_ratio: String,
    /// One of [`IMAGE_SIZES`], for tiers that have them.
    pub image_size: Option<String>,
    /// File format.
    pub format: Format,
    /// JPEG quality, when given.
    pub compression_quality: Option<i64>,
    /// One of [`PERSON_GENERATIONS`].
    pub person_generation: String,
}

impl Plan {
    /// Resolve and check `request`; what Imagen would refuse is an
    /// `invalid-input` failure naming the option and the allowed values.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let tier = tier(&request.offering).ok_or_else(|| {
            failure::invalid_input(format!("offering `{}` is not served by the imagen plugin", request.offering))
        })?;
        let options = Options::of(request);
        let prompt = request.input.text.clone().unwrap_or_default();
        if prompt.trim().is_empty() {
            return Err(failure::invalid_input(format!("provider `{}` needs a prompt in input.text", tier.offering)));
        }
        let count = options.integer(NUMBER_OF_IMAGES).unwrap_or(1);
        if !(1..=tier.max_images).contains(&count) {
            let allowed: Vec<String> = (1..=tier.max_images).map(|n| n.to_string()).collect();
            return Err(failure::invalid_input(format!(
                "option `{NUMBER_OF_IMAGES}` of provider `{}` must be one of {}; got {count}",
                tier.offering,
                allowed.join(", ")
            )));
        }
        let format = options.text(OUTPUT_FORMAT).and_then(Format::from_name).unwrap_or(Format::Png);
        let compression_quality = options.integer(COMPRESSION_QUALITY);
        if compression_quality.is_some() && format != Format::Jpeg {
            return Err(failure::invalid_input(format!(
                "option `{COMPRESSION_QUALITY}` of provider `{}` applies to {OUTPUT_FORMAT} jpeg only; got \
                 {OUTPUT_FORMAT} {}",
                tier.offering,
                format.name()
            )));
        }
        // Tiers without sizes do not declare `imageSize`: the host refuses it.
        let image_size = tier.has_image_size.then(|| options.text(IMAGE_SIZE).unwrap_or(IMAGE_SIZES[0]).to_string());
        if image_size.as_deref() == Some("2K") && format == Format::Png && count > MAX_2K_PNG_IMAGES {
            return Err(failure::invalid_input(format!(
                "option `{NUMBER_OF_IMAGES}` of provider `{}` must be at most {MAX_2K_PNG_IMAGES} with {IMAGE_SIZE} 2K \
                 and {OUTPUT_FORMAT} png (larger answers exceed the gateway's limits); got {count}: ask for fewer \
                 images or {OUTPUT_FORMAT} jpeg",
                tier.offering
            )));
        }
        Ok(Plan {
            tier,
            prompt,
            count: count as u32,
            aspect_ratio: options.text(ASPECT_RATIO).unwrap_or(ASPECT_RATIOS[0]).to_string(),
            image_size,
            format,
            compression_quality,
            person_generation: options.text(PERSON_GENERATION).unwrap_or(DEFAULT_PERSON_GENERATION).to_string(),
        })
    }

    /// Credits: the tier's price per image times the images asked for.
    pub fn credits(&self) -> u32 {
        self.tier.credits_per_image * self.count
    }

    /// Typical seconds to the result (Imagen renders a request's images together).
    pub fn estimated_seconds(&self) -> u32 {
        let size_factor = if self.image_size.as_deref() == Some("2K") { 2 } else { 1 };
        self.tier.estimated_seconds * size_factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    /// A request as the host hands it over: declared defaults filled in.
    fn request(offering: &str, prompt: Option<&str>, given: &[(&str, Value)]) -> JobRequest {
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
    fn three_tiers_with_the_portal_id_first() {
        let ids: Vec<&str> = TIERS.iter().map(|t| t.offering).collect();
        assert_eq!(ids, ["imagen", "imagen-ultra", "imagen-fast"]);
        let models: Vec<&str> = TIERS.iter().map(|t| t.model).collect();
        assert_eq!(
            models,
            ["imagen-4.0-generate-001", "imagen-4.0-ultra-generate-001", "imagen-4.0-fast-generate-001"]
        );
        assert!(tier("imagen-3").is_none());
    }

    #[test]
    fn options_follow_each_tier() {
        let standard = offering(tier("imagen").unwrap());
        let names: Vec<&str> = standard.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [ASPECT_RATIO, NUMBER_OF_IMAGES, IMAGE_SIZE, OUTPUT_FORMAT, COMPRESSION_QUALITY, PERSON_GENERATION]
        );
        let counts = &option(&standard, NUMBER_OF_IMAGES).unwrap().allowed_values;
        assert_eq!(counts, &[Value::Integer(1), Value::Integer(2), Value::Integer(3), Value::Integer(4)]);
        assert_eq!(option(&standard, ASPECT_RATIO).unwrap().default, Some(text("1:1")));
        assert_eq!(option(&standard, IMAGE_SIZE).unwrap().default, Some(text("1K")));
        assert_eq!(option(&standard, PERSON_GENERATION).unwrap().default, Some(text("allow_adult")));
        let quality = option(&standard, COMPRESSION_QUALITY).unwrap();
        assert_eq!((quality.default.clone(), quality.minimum, quality.maximum), (None, Some(0.0), Some(100.0)));

        let fast = offering(tier("imagen-fast").unwrap());
        assert!(option(&fast, IMAGE_SIZE).is_none(), "Imagen 4 Fast has no sampleImageSize");
        assert!(fast.limitations[0].contains("1K"));
        assert_eq!(standard.limitations[0], "at most 2 images per request at 2K in PNG (JPEG: up to 4)");
        let ultra = offering(tier("imagen-ultra").unwrap());
        assert_eq!(option(&ultra, NUMBER_OF_IMAGES).unwrap().allowed_values, [Value::Integer(1)]);
        assert_eq!(ultra.limitations[0], "one image per request");
        for o in [&standard, &fast, &ultra] {
            assert_eq!(o.kinds, [MediaKind::Image]);
            assert_eq!(
                (o.accepts.as_slice(), o.requires.as_slice()),
                (&[InputField::Text][..], &[InputField::Text][..])
            );
            assert!(o.needs_bytes.is_empty());
        }
    }

    #[test]
    fn prices_are_per_image() {
        for (offering_id, per_image, max) in [("imagen", 4, 4), ("imagen-ultra", 6, 1), ("imagen-fast", 2, 4)] {
            let declared = offering(tier(offering_id).unwrap());
            assert_eq!(declared.base_credits, per_image, "{offering_id}");
            for count in 1..=max {
                let given = [(NUMBER_OF_IMAGES, Value::Integer(count))];
                let plan = Plan::of(&request(offering_id, Some("x"), &given)).unwrap();
                assert_eq!(plan.credits(), per_image * count as u32, "{offering_id} × {count}");
                // The declared rules agree with what `quote` charges.
                assert_eq!(spec::price(&declared, &spec::with_defaults(&declared, &given)), plan.credits());
            }
        }
    }

    #[test]
    fn defaults_resolve_to_googles() {
        let plan = Plan::of(&request("imagen", Some("a red bicycle"), &[])).unwrap();
        assert_eq!(
            plan,
            Plan {
                tier: tier("imagen").unwrap(),
                prompt: "a red bicycle".into(),
                count: 1,
                aspect_ratio: "1:1".into(),
                image_size: Some("1K".into()),
                format: Format::Png,
                compression_quality: None,
                person_generation: "allow_adult".into(),
            }
        );
        assert_eq!((plan.credits(), plan.estimated_seconds()), (4, 10));
        let fast = Plan::of(&request("imagen-fast", Some("x"), &[])).unwrap();
        assert_eq!((fast.image_size.as_deref(), fast.credits(), fast.estimated_seconds()), (None, 2, 5));
        let sharp = Plan::of(&request("imagen-ultra", Some("x"), &[(IMAGE_SIZE, text("2K"))])).unwrap();
        assert_eq!((sharp.image_size.as_deref(), sharp.estimated_seconds()), (Some("2K"), 30));
    }

    #[test]
    fn what_imagen_cannot_do_is_refused_by_name() {
        let cases = [
            (
                "imagen",
                Some("x"),
                vec![(COMPRESSION_QUALITY, Value::Integer(80))],
                "option `compressionQuality` of provider `imagen` applies to outputFormat jpeg only; got outputFormat png",
            ),
            (
                "imagen-ultra",
                Some("x"),
                vec![(NUMBER_OF_IMAGES, Value::Integer(2))],
                "option `numberOfImages` of provider `imagen-ultra` must be one of 1; got 2",
            ),
            ("imagen", Some("   "), vec![], "provider `imagen` needs a prompt in input.text"),
            ("imagen", None, vec![], "provider `imagen` needs a prompt in input.text"),
            ("imagen-3", Some("x"), vec![], "offering `imagen-3` is not served by the imagen plugin"),
        ];
        for (offering_id, prompt, given, message) in cases {
            let failure = Plan::of(&request(offering_id, prompt, &given)).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
        let big = [(IMAGE_SIZE, text("2K")), (NUMBER_OF_IMAGES, Value::Integer(3))];
        let failure = Plan::of(&request("imagen", Some("x"), &big)).unwrap_err();
        assert_eq!(
            failure.message,
            "option `numberOfImages` of provider `imagen` must be at most 2 with imageSize 2K and outputFormat png \
             (larger answers exceed the gateway's limits); got 3: ask for fewer images or outputFormat jpeg"
        );
        let big_jpeg = [(IMAGE_SIZE, text("2K")), (NUMBER_OF_IMAGES, Value::Integer(4)), (OUTPUT_FORMAT, text("jpeg"))];
        assert_eq!(Plan::of(&request("imagen", Some("x"), &big_jpeg)).unwrap().credits(), 16);
        let two = [(IMAGE_SIZE, text("2K")), (NUMBER_OF_IMAGES, Value::Integer(2))];
        assert!(Plan::of(&request("imagen", Some("x"), &two)).is_ok());
        let jpeg = [(OUTPUT_FORMAT, text("jpeg")), (COMPRESSION_QUALITY, Value::Integer(90))];
        let plan = Plan::of(&request("imagen", Some("x"), &jpeg)).unwrap();
        assert_eq!((plan.format, plan.compression_quality), (Format::Jpeg, Some(90)));
    }
}
