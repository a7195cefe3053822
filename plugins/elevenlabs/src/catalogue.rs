//! What ElevenLabs' text-to-speech can do, and what it costs.
//!
//! Owns the `elevenlabs` offering (options, allowed values, defaults,
//! prices), the tables behind it (models, premade voices, emotion presets,
//! output formats) and [`Plan`]: a validated request resolved against the
//! model's real capabilities. The host has already checked each option on
//! its own; [`Plan::of`] resolves the voice and checks the combinations:
//!
//! | `model` (vendor id)                               | max characters | `language` | credits per 1,000 characters |
//! |---------------------------------------------------|----------------|------------|------------------------------|
//! | `multilingual-v2` (`eleven_multilingual_v2`), default | 10,000     | no         | 10                           |
//! | `eleven-v3` (`eleven_v3`)                         | 5,000          | no         | 10                           |
//! | `flash-v2.5` (`eleven_flash_v2_5`)                | 40,000         | yes        | 5                            |
//! | `turbo-v2.5` (`eleven_turbo_v2_5`)                | 40,000         | yes        | 5                            |
//! | `flash-v2` (`eleven_flash_v2`), English           | 30,000         | no         | 5                            |
//! | `turbo-v2` (`eleven_turbo_v2`), English           | 30,000         | no         | 5                            |
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

use crate::ID;

/// Option names, as users send them.
pub const VOICE: &str = "voice";
/// Which ElevenLabs model speaks.
pub const MODEL: &str = "model";
/// A delivery preset (ElevenLabs' voice settings).
pub const EMOTION: &str = "emotion";
/// Speaking speed, 1.0 = normal.
pub const SPEED: &str = "speed";
/// Output encoding and sample rate.
pub const FORMAT: &str = "format";
/// ISO 639-1 language to enforce (v2.5 models only).
pub const LANGUAGE: &str = "language";
/// Best-effort determinism.
pub const SEED: &str = "seed";

/// The voice when neither `options.voice` nor `input.voice` names one:
/// George, the voice of ElevenLabs' own SDK examples.
pub const DEFAULT_VOICE: &str = "george";
/// Speed bounds ElevenLabs documents for `voice_settings.speed`.
pub const SPEED_RANGE: (f64, f64) = (0.7, 1.2);
/// Largest `seed` ElevenLabs accepts (an unsigned 32-bit integer).
pub const MAX_SEED: i64 = 4_294_967_295;
/// Characters in the `providers` price: the catalogue's prices are per
/// 1,000 characters; a request costs its share, rounded up.
pub const PRICED_CHARS: usize = 1_000;
/// Quality rank of the offering (ElevenLabs leads public TTS rankings).
const QUALITY: u8 = 90;

/// An ElevenLabs text-to-speech model, as the `model` option names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `eleven_multilingual_v2`: 29 languages, ElevenLabs' default.
    MultilingualV2,
    /// `eleven_v3`: the most expressive; audio tags such as `[whispers]`.
    V3,
    /// `eleven_flash_v2_5`: ~75 ms latency, 32 languages, half price.
    FlashV25,
    /// `eleven_turbo_v2_5`: ~250 ms latency, 32 languages, half price.
    TurboV25,
    /// `eleven_flash_v2`: English only, half price.
    FlashV2,
    /// `eleven_turbo_v2`: English only, half price.
    TurboV2,
}

impl Model {
    /// Every model, in the order the `model` option lists them.
    pub const ALL: [Model; 6] =
        [Model::MultilingualV2, Model::V3, Model::FlashV25, Model::TurboV25, Model::FlashV2, Model::TurboV2];
    /// ElevenLabs' own default, the one behind the portal's "29 languages".
    pub const DEFAULT: Model = Model::MultilingualV2;

    /// The `model` option value.
    pub fn name(self) -> &'static str {
        match self {
            Model::MultilingualV2 => "multilingual-v2",
            Model::V3 => "eleven-v3",
            Model::FlashV25 => "flash-v2.5",
            Model::TurboV25 => "turbo-v2.5",
            Model::FlashV2 => "flash-v2",
            Model::TurboV2 => "turbo-v2",
        }
    }

    /// The model an option value names.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// ElevenLabs' `model_id`.
    pub fn vendor_id(self) -> &'static str {
        match self {
            Model::MultilingualV2 => "eleven_multilingual_v2",
            Model::V3 => "eleven_v3",
            Model::FlashV25 => "eleven_flash_v2_5",
            Model::TurboV25 => "eleven_turbo_v2_5",
            Model::FlashV2 => "eleven_flash_v2",
            Model::TurboV2 => "eleven_turbo_v2",
        }
    }

    /// The offering name under which the operator's setting replaces
    /// this model's id: `elevenlabs` (setting `model.elevenlabs`) for the
    /// default model, `elevenlabs.<name>` (`model.elevenlabs.<name>`,
    /// e.g. `model.elevenlabs.turbo-v2.5`) for the others.
    pub fn setting_key(self) -> String {
        if self == Model::DEFAULT { crate::ID.to_string() } else { format!("{}.{}", crate::ID, self.name()) }
    }

    /// ElevenLabs' model id as sent: the operator's replacement when set
    /// (see [`setting_key`](Self::setting_key)), else [`vendor_id`](Self::vendor_id).
    pub fn resolved_id(self) -> String {
        model_id(&self.setting_key(), self.vendor_id())
    }

    /// ElevenLabs' character limit per request.
    pub fn max_chars(self) -> usize {
        match self {
            Model::MultilingualV2 => 10_000,
            Model::V3 => 5_000,
            Model::FlashV25 | Model::TurboV25 => 40_000,
            Model::FlashV2 | Model::TurboV2 => 30_000,
        }
    }

    /// US cents per 1,000 characters: $0.10 for Multilingual v2 and v3,
    /// half that for Flash and Turbo (ElevenLabs' API price list).
    pub fn cents_per_1000_chars(self) -> u32 {
        match self {
            Model::MultilingualV2 | Model::V3 => 10,
            Model::FlashV25 | Model::TurboV25 | Model::FlashV2 | Model::TurboV2 => 5,
        }
    }

    /// Whether ElevenLabs accepts `language_code` with the model.
    pub fn takes_language(self) -> bool {
        matches!(self, Model::FlashV25 | Model::TurboV25)
    }

    /// Typical seconds for a short request (v3 is not a real-time model).
    fn base_seconds(self) -> u32 {
        match self {
            Model::V3 => 8,
            Model::MultilingualV2 => 4,
            Model::FlashV25 | Model::TurboV25 | Model::FlashV2 | Model::TurboV2 => 2,
        }
    }
}

/// ISO 639-1 codes of the 32 languages of the v2.5 models (the 29 of
/// Multilingual v2 plus Hungarian, Norwegian and Vietnamese).
pub const LANGUAGES: [&str; 32] = [
    "en", "ja", "zh", "de", "hi", "fr", "ko", "pt", "it", "es", "id", "nl", "tr", "fil", "pl", "sv", "bg", "ro", "ar",
    "cs", "el", "fi", "hr", "ms", "sk", "da", "ta", "uk", "ru", "hu", "no", "vi",
];

/// Premade voices by the name users call them, lower case, and their
/// ElevenLabs `voice_id`. The first twenty are ElevenLabs' current default
/// voices; the rest are the original premade voices (now "legacy", still
/// served by id), among them the portal's `rachel`. `bella` is Sarah's
/// former name.
pub const VOICES: [(&str, &str); 34] = [
    ("aria", "9BWtsMINqrJLrRacOk9x"),
    ("roger", "CwhRBWXzGAHq8TQ4Fs17"),
    ("sarah", "EXAVITQu4vr4xnSDxMaL"),
    ("laura", "FGY2WhTYpPnrIDTdsKH5"),
    ("charlie", "IKne3meq5aSn9XLyUdCD"),
    ("george", "JBFqnCBsd6RMkjVDRZzb"),
    ("callum", "N2lVS1w4EtoT3dr4eOWO"),
    ("river", "SAz9YHcvj6GT2YYXdXww"),
    ("liam", "TX3LPaxmHKxFdv7VOQHJ"),
    ("charlotte", "XB0fDUnXU5powFXDhCwa"),
    ("alice", "Xb7hH8MSUJpSbSDYk0k2"),
    ("matilda", "XrExE9yKIg1WjnnlVkGX"),
    ("will", "bIHbv24MWmeRgasZH58o"),
    ("jessica", "cgSgspJ2msm6clMCkdW9"),
    ("eric", "cjVigY5qzO86Huf0OWal"),
    ("chris", "iP95p4xoKVk53GoZ742B"),
    ("brian", "nPczCjzI2devNBz1zQrb"),
    ("daniel", "onwK4e9ZLuTAKqWW03F9"),
    ("lily", "pFZP5JQG7iQjIQuC4Bku"),
    ("bill", "pqHfZKP75CvOlQylNhV4"),
    ("rachel", "21m00Tcm4TlvDq8ikWAM"),
    ("drew", "29vD33N1CtxCmqQRPOHJ"),
    ("clyde", "2EiwWnXFnvU5JabPnv8n"),
    ("domi", "AZnzlk1XvdvUeBnXmlld"),
    ("dave", "CYw3kZ02Hs0563khs1Fj"),
    ("fin", "D38z5RcWu1voky8WS1ja"),
    ("bella", "EXAVITQu4vr4xnSDxMaL"),
    ("antoni", "ErXwobaYiN019PkySvjV"),
    ("elli", "MF3mGyEYCl7XYWbV9V6O"),
    ("dorothy", "ThT5KcBeYPX3keUQqHPh"),
    ("josh", "TxGEqnHWrfWFTfGW9XjX"),
    ("arnold", "VR6AewLTigWG4xSOukaG"),
    ("adam", "pNInz6obpgDQGcFmaJgB"),
    ("sam", "yoZ06aMxZJJ28mfd3POQ"),
];

/// Length of an ElevenLabs `voice_id` (premade, cloned or library voices).
const VOICE_ID_LEN: usize = 20;

/// The `voice_id` a voice option names: a premade voice's name (any case)
/// or a raw 20-character voice id, passed through.
pub fn voice_id(voice: &str) -> Option<String> {
    let voice = voice.trim();
    if let Some((_, id)) = VOICES.iter().find(|(name, _)| name.eq_ignore_ascii_case(voice)) {
        return Some(id.to_string());
    }
    let raw = voice.len() == VOICE_ID_LEN && voice.bytes().all(|b| b.is_ascii_alphanumeric());
    raw.then(|| voice.to_string())
}

/// A delivery preset. ElevenLabs has no emotion parameter; its voice
/// settings trade consistency (`stability`) for expressiveness, and
/// `style` exaggerates the voice's own style. The presets set those two
/// (see [`Emotion::settings`]); the words of an emotion are written into
/// the text, e.g. with eleven-v3's audio tags (`[excited]`, `[whispers]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emotion {
    /// Balanced: ElevenLabs' customary settings.
    Neutral,
    /// Steady and even.
    Calm,
    /// Animated: variable and exaggerated.
    Excited,
}

/// ElevenLabs' `voice_settings` less `speed`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// 0–1; lower is more variable and expressive.
    pub stability: f64,
    /// 0–1; adherence to the original voice.
    pub similarity_boost: f64,
    /// 0–1; style exaggeration.
    pub style: f64,
    /// Clarity boost.
    pub use_speaker_boost: bool,
}

impl Emotion {
    /// Every preset, in the order the `emotion` option lists them.
    pub const ALL: [Emotion; 3] = [Emotion::Neutral, Emotion::Calm, Emotion::Excited];

    /// The `emotion` option value.
    pub fn name(self) -> &'static str {
        match self {
            Emotion::Neutral => "neutral",
            Emotion::Calm => "calm",
            Emotion::Excited => "excited",
        }
    }

    /// The preset an option value names.
    pub fn from_name(name: &str) -> Option<Emotion> {
        Emotion::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The voice settings for `model`. eleven-v3 takes only three
    /// stability values (0 Creative, 0.5 Natural, 1 Robust), so its
    /// presets use those.
    pub fn settings(self, model: Model) -> Settings {
        let (stability, style) = match (self, model) {
            (Emotion::Neutral, Model::V3) => (0.5, 0.0),
            (Emotion::Calm, Model::V3) => (1.0, 0.0),
            (Emotion::Excited, Model::V3) => (0.0, 0.0),
            (Emotion::Neutral, _) => (0.5, 0.0),
            (Emotion::Calm, _) => (0.75, 0.0),
            (Emotion::Excited, _) => (0.3, 0.45),
        };
        Settings { stability, similarity_boost: 0.75, style, use_speaker_boost: true }
    }
}

/// An output format, named as ElevenLabs names it. WAV files are made from
/// ElevenLabs' raw PCM (`pcm_<rate>`) with a header added here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// MPEG-1/2 Layer III at a sample rate and kilobits per second.
    Mp3 {
        /// Hz.
        rate: u32,
        /// kbps.
        kbps: u32,
    },
    /// 16-bit mono PCM in a WAV file.
    Wav {
        /// Hz.
        rate: u32,
    },
}

impl Format {
    /// Every format, in the order the `format` option lists them
    /// (`mp3_44100_192` and 44.1 kHz PCM need paid ElevenLabs tiers).
    pub const ALL: [Format; 14] = [
        Format::Mp3 { rate: 22_050, kbps: 32 },
        Format::Mp3 { rate: 24_000, kbps: 48 },
        Format::Mp3 { rate: 44_100, kbps: 32 },
        Format::Mp3 { rate: 44_100, kbps: 64 },
        Format::Mp3 { rate: 44_100, kbps: 96 },
        Format::Mp3 { rate: 44_100, kbps: 128 },
        Format::Mp3 { rate: 44_100, kbps: 192 },
        Format::Wav { rate: 8_000 },
        Format::Wav { rate: 16_000 },
        Format::Wav { rate: 22_050 },
        Format::Wav { rate: 24_000 },
        Format::Wav { rate: 32_000 },
        Format::Wav { rate: 44_100 },
        Format::Wav { rate: 48_000 },
    ];
    /// ElevenLabs' default, `mp3_44100_128`.
    pub const DEFAULT: Format = Format::Mp3 { rate: 44_100, kbps: 128 };

    /// The `format` option value, e.g. `mp3_44100_128` or `wav_24000`.
    pub fn name(self) -> String {
        match self {
            Format::Mp3 { rate, kbps } => format!("mp3_{rate}_{kbps}"),
            Format::Wav { rate } => format!("wav_{rate}"),
        }
    }

    /// The format an option value names.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// ElevenLabs' `output_format`.
    pub fn vendor_name(self) -> String {
        match self {
            Format::Mp3 { .. } => self.name(),
            Format::Wav { rate } => format!("pcm_{rate}"),
        }
    }

    /// The artifact's MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Mp3 { .. } => "audio/mpeg",
            Format::Wav { .. } => "audio/wav",
        }
    }
}

/// The `elevenlabs` offering.
pub fn offering() -> Offering {
    let models: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
    let emotions: Vec<&str> = Emotion::ALL.iter().map(|e| e.name()).collect();
    let formats: Vec<String> = Format::ALL.iter().map(|f| f.name()).collect();
    let formats: Vec<&str> = formats.iter().map(String::as_str).collect();
    let voices: Vec<&str> = VOICES.iter().map(|(name, _)| *name).collect();
    let voice_help = format!(
        "A premade voice by name ({}) or any ElevenLabs voice id (20 characters, e.g. a cloned voice); \
         input.voice works too. Default: {DEFAULT_VOICE}",
        voices.join(", ")
    );
    let mut offering = OfferingBuilder::new(ID, "ElevenLabs TTS", &[MediaKind::Audio])
        .description(
            "ElevenLabs text-to-speech: the most natural AI voices, with delivery presets and 29 languages \
             (Multilingual v2, the default), the expressive Eleven v3 with audio tags such as [whispers], and \
             the fast, half-price Flash and Turbo models. Premade voices by name or any voice id.",
        )
        .accepts(&[InputField::Text, InputField::Voice])
        .requires(&[InputField::Text])
        .features(&["natural speech", "emotion presets", "29 languages", "voice ids (cloned voices)", "mp3 or wav"])
        .limitations(&[
            "emotion is a delivery preset (neutral, calm, excited): ElevenLabs has no emotion parameter; \
             with eleven-v3, write audio tags such as [excited] into the text",
            "text at most 10,000 characters (multilingual-v2), 5,000 (eleven-v3), 40,000 (v2.5 models), \
             30,000 (v2 models)",
            "language only with flash-v2.5 and turbo-v2.5; flash-v2 and turbo-v2 speak English only",
            "mp3_44100_192 needs an ElevenLabs Creator plan, wav_44100 a Pro plan",
            "priced per character: the listed price is for 1,000 characters",
        ])
        .option(OptionBuilder::text(VOICE, &voice_help))
        .option(
            OptionBuilder::text(
                MODEL,
                "Which ElevenLabs model speaks (the operator's setting model.elevenlabs replaces the default's id)",
            )
            .allowed(&models)
            .default_text(Model::DEFAULT.name()),
        )
        .option(
            OptionBuilder::text(
                EMOTION,
                "Delivery preset: neutral (balanced), calm (steady), excited (animated); sets ElevenLabs' \
                 stability and style",
            )
            .allowed(&emotions)
            .default_text(Emotion::Neutral.name()),
        )
        .option(
            OptionBuilder::number(SPEED, "Speaking speed, 1.0 = normal")
                .range(SPEED_RANGE.0, SPEED_RANGE.1)
                .default_number(1.0),
        )
        .option(
            OptionBuilder::text(FORMAT, "Output: mp3_<Hz>_<kbps> or wav_<Hz> (16-bit mono)")
                .allowed(&formats)
                .default_text(&Format::DEFAULT.name()),
        )
        .option(
            OptionBuilder::text(LANGUAGE, "ISO 639-1 language to enforce (flash-v2.5 and turbo-v2.5 only)")
                .allowed(&LANGUAGES),
        )
        .option(OptionBuilder::integer(SEED, "Best-effort determinism").range(0.0, MAX_SEED as f64))
        .quality(QUALITY)
        .estimated_seconds(Model::DEFAULT.base_seconds());
    for model in Model::ALL.into_iter().filter(|&m| m != Model::DEFAULT) {
        let credits = credits_for(model, PRICED_CHARS);
        offering = offering.price(&[(MODEL, Value::Text(model.name().into()))], credits, false);
    }
    let mut offering = offering.build();
    offering.base_credits = credits_for(Model::DEFAULT, PRICED_CHARS);
    offering
}

/// Credits for `chars` characters on `model`: its price, rounded up to a
/// whole credit (1 credit = US$0.01), at least 1.
pub fn credits_for(model: Model, chars: usize) -> u32 {
    let cents = chars as u64 * u64::from(model.cents_per_1000_chars());
    u32::try_from(cents.div_ceil(1000)).unwrap_or(u32::MAX).max(1)
}

/// A request resolved against its model: what ElevenLabs is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model.
    pub model: Model,
    /// ElevenLabs' `voice_id`.
    pub voice_id: String,
    /// The delivery preset.
    pub emotion: Emotion,
    /// `voice_settings.speed`.
    pub speed: f64,
    /// Output format.
    pub format: Format,
    /// `language_code`, for the models that take it.
    pub language: Option<String>,
    /// `seed`.
    pub seed: Option<u32>,
    /// Characters of text (what ElevenLabs bills).
    pub chars: usize,
}

impl Plan {
    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and the allowed values.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let model = options.text(MODEL).and_then(Model::from_name).unwrap_or(Model::DEFAULT);
        let text = request.input.text.as_deref().filter(|t| !t.trim().is_empty());
        let chars = text
            .map(|t| t.chars().count())
            .ok_or_else(|| failure::invalid_input(format!("provider `{ID}` needs input.text: the words to speak")))?;
        if chars > model.max_chars() {
            let roomier: Vec<&str> = Model::ALL.iter().filter(|m| m.max_chars() >= chars).map(|m| m.name()).collect();
            let hint = if roomier.is_empty() {
                String::new()
            } else {
                format!(" (models that take it: {})", roomier.join(", "))
            };
            return Err(failure::invalid_input(format!(
                "input.text has {chars} characters; model `{}` of provider `{ID}` takes at most {}{hint}",
                model.name(),
                model.max_chars()
            )));
        }
        let voice_id = resolve_voice(options.text(VOICE), request.input.voice.as_deref())?;
        let language = options.text(LANGUAGE).map(str::to_string);
        if language.is_some() && !model.takes_language() {
            let takers: Vec<&str> = Model::ALL.iter().filter(|m| m.takes_language()).map(|m| m.name()).collect();
            return Err(failure::invalid_input(format!(
                "option `{LANGUAGE}` of provider `{ID}` is only available with model {}; got model `{}` \
                 (multilingual-v2 and eleven-v3 detect the language from the text)",
                takers.join(", "),
                model.name()
            )));
        }
        let format = match options.text(FORMAT) {
            None => Format::DEFAULT,
            Some(name) => Format::from_name(name).ok_or_else(|| {
                failure::invalid_input(format!("option `{FORMAT}` of provider `{ID}`: unknown format {name}"))
            })?,
        };
        Ok(Plan {
            model,
            voice_id,
            emotion: options.text(EMOTION).and_then(Emotion::from_name).unwrap_or(Emotion::Neutral),
            speed: options.number(SPEED).unwrap_or(1.0),
            format,
            language,
            seed: options.integer(SEED).and_then(|s| u32::try_from(s).ok()),
            chars,
        })
    }

    /// Credits: the model's price per character, rounded up, at least 1.
    pub fn credits(&self) -> u32 {
        credits_for(self.model, self.chars)
    }

    /// Typical seconds to the audio: the model's latency plus generation,
    /// about a second per 500 characters.
    pub fn estimated_seconds(&self) -> u32 {
        self.model.base_seconds() + (self.chars / 500) as u32
    }

    /// The voice settings sent: the emotion preset and the speed.
    pub fn settings(&self) -> Settings {
        self.emotion.settings(self.model)
    }
}

/// The voice id from `options.voice` and `input.voice`: either may name it;
/// both must agree; neither means [`DEFAULT_VOICE`].
fn resolve_voice(option: Option<&str>, input: Option<&str>) -> Result<String, Failure> {
    let resolve = |voice: &str, field: &str| {
        voice_id(voice).ok_or_else(|| {
            let names: Vec<&str> = VOICES.iter().map(|(name, _)| *name).collect();
            failure::invalid_input(format!(
                "{field} of provider `{ID}` must be a premade voice ({}) or a 20-character ElevenLabs voice id; \
                 got {voice:?}",
                names.join(", ")
            ))
        })
    };
    let option = option.filter(|v| !v.trim().is_empty());
    let input = input.filter(|v| !v.trim().is_empty());
    match (option, input) {
        (None, None) => resolve(DEFAULT_VOICE, "voice"),
        (Some(voice), None) => resolve(voice, "option `voice`"),
        (None, Some(voice)) => resolve(voice, "input.voice"),
        (Some(option), Some(input)) => {
            let (from_option, from_input) = (resolve(option, "option `voice`")?, resolve(input, "input.voice")?);
            if from_option != from_input {
                return Err(failure::invalid_input(format!(
                    "option `voice` ({option:?}) and input.voice ({input:?}) of provider `{ID}` name different \
                     voices; give one of them"
                )));
            }
            Ok(from_option)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: Option<&str>, voice: Option<&str>, options: &[(&str, Value)]) -> JobRequest {
        // As the host sends them: declared defaults filled in, spec order.
        let options = spec::with_defaults(&offering(), options);
        JobRequest {
            offering: ID.into(),
            kind: MediaKind::Audio,
            input: JobInput {
                text: text.map(str::to_string),
                image: None,
                audio: None,
                video: None,
                voice: voice.map(str::to_string),
            },
            options,
        }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    fn plan(options: &[(&str, Value)]) -> Plan {
        Plan::of(&request(Some("Hello there."), None, options)).unwrap()
    }

    #[test]
    fn defaults_resolve_to_multilingual_v2_george_neutral_mp3() {
        let plan = plan(&[]);
        assert_eq!(
            plan,
            Plan {
                model: Model::MultilingualV2,
                voice_id: "JBFqnCBsd6RMkjVDRZzb".into(),
                emotion: Emotion::Neutral,
                speed: 1.0,
                format: Format::Mp3 { rate: 44_100, kbps: 128 },
                language: None,
                seed: None,
                chars: 12,
            }
        );
        assert_eq!((plan.credits(), plan.estimated_seconds()), (1, 4));
        assert_eq!(
            plan.settings(),
            Settings { stability: 0.5, similarity_boost: 0.75, style: 0.0, use_speaker_boost: true }
        );
        let offering = offering();
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (10, 4, 90));
    }

    #[test]
    fn the_portal_snippet_resolves_rachel_excited_at_normal_speed() {
        let options = [(VOICE, text("rachel")), (EMOTION, text("excited")), (SPEED, Value::Number(1.0))];
        let plan =
            Plan::of(&request(Some("Welcome to the future of artificial intelligence"), None, &options)).unwrap();
        assert_eq!(plan.voice_id, "21m00Tcm4TlvDq8ikWAM");
        assert_eq!((plan.emotion, plan.speed, plan.chars, plan.credits()), (Emotion::Excited, 1.0, 48, 1));
        assert_eq!(
            plan.settings(),
            Settings { stability: 0.3, similarity_boost: 0.75, style: 0.45, use_speaker_boost: true }
        );
    }

    #[test]
    fn prices_are_per_character_rounded_up_to_a_credit() {
        let cases = [
            (Model::MultilingualV2, 1, 1),
            (Model::MultilingualV2, 100, 1),
            (Model::MultilingualV2, 101, 2),
            (Model::MultilingualV2, 1_000, 10),
            (Model::MultilingualV2, 10_000, 100),
            (Model::V3, 5_000, 50),
            (Model::FlashV25, 200, 1),
            (Model::FlashV25, 201, 2),
            (Model::TurboV25, 40_000, 200),
            (Model::FlashV2, 1_000, 5),
        ];
        for (model, chars, credits) in cases {
            assert_eq!(credits_for(model, chars), credits, "{model:?} {chars}");
        }
        // The catalogue lists each model's price for 1,000 characters.
        let offering = offering();
        for model in Model::ALL {
            let options = spec::with_defaults(&offering, &[(MODEL, text(model.name()))]);
            assert_eq!(spec::price(&offering, &options), credits_for(model, PRICED_CHARS), "{model:?}");
        }
        let long = "é".repeat(250); // characters, not bytes
        let plan = Plan::of(&request(Some(&long), None, &[(MODEL, text("flash-v2.5"))])).unwrap();
        assert_eq!((plan.chars, plan.credits()), (250, 2));
    }

    #[test]
    fn voices_resolve_by_name_in_any_case_or_raw_id() {
        assert_eq!(voice_id("Rachel").as_deref(), Some("21m00Tcm4TlvDq8ikWAM"));
        assert_eq!(voice_id(" GEORGE ").as_deref(), Some("JBFqnCBsd6RMkjVDRZzb"));
        assert_eq!(voice_id("bella"), voice_id("sarah"), "Bella is Sarah's old name");
        assert_eq!(voice_id("AbCdEfGhIj0123456789").as_deref(), Some("AbCdEfGhIj0123456789"), "a cloned voice");
        for bad in ["professional_female", "AbCdEfGhIj012345678", "AbCdEfGhIj0123456789x", "../../v1/voices/xx", ""] {
            assert_eq!(voice_id(bad), None, "{bad:?}");
        }
        let mut ids: Vec<&str> = VOICES.iter().map(|(_, id)| *id).collect();
        assert!(ids.iter().all(|id| id.len() == VOICE_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), VOICES.len() - 1, "only bella/sarah share an id");
    }

    #[test]
    fn input_voice_works_and_must_agree_with_the_option() {
        let from_input = Plan::of(&request(Some("x"), Some("adam"), &[])).unwrap();
        assert_eq!(from_input.voice_id, "pNInz6obpgDQGcFmaJgB");
        let both = Plan::of(&request(Some("x"), Some("Adam"), &[(VOICE, text("pNInz6obpgDQGcFmaJgB"))])).unwrap();
        assert_eq!(both.voice_id, "pNInz6obpgDQGcFmaJgB", "a name and its id agree");
        let clash = Plan::of(&request(Some("x"), Some("adam"), &[(VOICE, text("rachel"))])).unwrap_err();
        assert_eq!(clash.code, FailureCode::InvalidInput);
        assert_eq!(
            clash.message,
            "option `voice` (\"rachel\") and input.voice (\"adam\") of provider `elevenlabs` name different voices; \
             give one of them"
        );
        let unknown = Plan::of(&request(Some("x"), Some("professional_female"), &[])).unwrap_err();
        assert!(
            unknown.message.starts_with(
                "input.voice of provider `elevenlabs` must be a premade voice (aria, roger, sarah, laura, charlie, george"
            ),
            "{}",
            unknown.message
        );
        assert!(unknown.message.ends_with("or a 20-character ElevenLabs voice id; got \"professional_female\""));
    }

    #[test]
    fn impossible_combinations_name_the_option_and_the_allowed_values() {
        // (text, options, the exact message)
        type Case<'a> = (Option<&'a str>, Vec<(&'a str, Value)>, &'a str);
        let cases: [Case; 4] = [
            (
                Some("Bonjour"),
                vec![(LANGUAGE, text("fr"))],
                "option `language` of provider `elevenlabs` is only available with model flash-v2.5, turbo-v2.5; \
                 got model `multilingual-v2` (multilingual-v2 and eleven-v3 detect the language from the text)",
            ),
            (
                Some(&"a".repeat(10_001)),
                vec![],
                "input.text has 10001 characters; model `multilingual-v2` of provider `elevenlabs` takes at most 10000 \
                 (models that take it: flash-v2.5, turbo-v2.5, flash-v2, turbo-v2)",
            ),
            (
                Some(&"a".repeat(5_001)),
                vec![(MODEL, text("eleven-v3"))],
                "input.text has 5001 characters; model `eleven-v3` of provider `elevenlabs` takes at most 5000 \
                 (models that take it: multilingual-v2, flash-v2.5, turbo-v2.5, flash-v2, turbo-v2)",
            ),
            (Some("   "), vec![], "provider `elevenlabs` needs input.text: the words to speak"),
        ];
        for (text, options, message) in cases {
            let failure = Plan::of(&request(text, None, &options)).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
        let french = Plan::of(&request(Some("Bonjour"), None, &[(MODEL, text("turbo-v2.5")), (LANGUAGE, text("fr"))]));
        assert_eq!(french.unwrap().language.as_deref(), Some("fr"));
    }

    #[test]
    fn emotion_presets_respect_eleven_v3_stability_steps() {
        for emotion in Emotion::ALL {
            let v3 = emotion.settings(Model::V3);
            assert!([0.0, 0.5, 1.0].contains(&v3.stability), "{emotion:?}");
            let v2 = emotion.settings(Model::MultilingualV2);
            assert!((0.0..=1.0).contains(&v2.stability) && (0.0..=1.0).contains(&v2.style));
        }
        assert!(
            Emotion::Excited.settings(Model::FlashV25).stability < Emotion::Calm.settings(Model::FlashV25).stability
        );
        let calm = plan(&[(EMOTION, text("calm")), (MODEL, text("eleven-v3"))]);
        assert_eq!((calm.settings().stability, calm.estimated_seconds()), (1.0, 8));
    }

    #[test]
    fn formats_map_to_elevenlabs_output_formats() {
        let names: Vec<String> = Format::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names[5], "mp3_44100_128");
        for format in Format::ALL {
            assert_eq!(Format::from_name(&format.name()), Some(format));
        }
        let wav = plan(&[(FORMAT, text("wav_24000")), (SEED, Value::Integer(42))]);
        assert_eq!(
            (wav.format.vendor_name(), wav.format.mime(), wav.seed),
            ("pcm_24000".into(), "audio/wav", Some(42))
        );
        let mp3 = plan(&[(FORMAT, text("mp3_22050_32"))]);
        assert_eq!((mp3.format.vendor_name(), mp3.format.mime()), ("mp3_22050_32".into(), "audio/mpeg"));
        let slow = plan(&[(SPEED, Value::Number(0.7))]);
        assert_eq!(slow.speed, 0.7);
    }

    #[test]
    fn the_offering_lists_every_option_with_its_default() {
        let offering = offering();
        let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, [VOICE, MODEL, EMOTION, SPEED, FORMAT, LANGUAGE, SEED]);
        let speed = &offering.options[3];
        assert_eq!(
            (speed.minimum, speed.maximum, speed.default.clone()),
            (Some(0.7), Some(1.2), Some(Value::Number(1.0)))
        );
        assert_eq!(offering.options[0].default, None, "the voice default is resolved with input.voice");
        assert!(offering.accepts.contains(&InputField::Voice));
        assert_eq!(offering.options[2].allowed_values.len(), 3);
    }

    #[test]
    fn settings_replace_the_default_model_by_offering_and_others_by_name() {
        assert_eq!(Model::DEFAULT.setting_key(), "elevenlabs");
        assert_eq!(Model::TurboV25.setting_key(), "elevenlabs.turbo-v2.5");
        assert_eq!(Model::V3.setting_key(), "elevenlabs.eleven-v3");
    }
}
