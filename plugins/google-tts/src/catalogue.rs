//! What Google Cloud Text-to-Speech can do, and what it costs.
//!
//! Owns the `google-tts` offering (options, allowed values, defaults), the
//! voice families and their prices, the output encodings, and [`Plan`]: a
//! validated request resolved to a voice. The host has already checked
//! each option on its own; [`Plan::of`] resolves the voice and checks the
//! combinations. A voice is named `<language>-<REGION>-<family>-<variant>`
//! (`en-US-Neural2-F`, `en-US-Chirp3-HD-Kore`); its family sets the price:
//!
//! | family (in the voice name)              | US$ per 1M characters | credits for 1,000 characters |
//! |-----------------------------------------|-----------------------|------------------------------|
//! | `Standard`                              | 4                     | 1                            |
//! | `Wavenet`                               | 16                    | 2                            |
//! | `Neural2`, `Polyglot`, `News`, `Casual` | 16                    | 2                            |
//! | `Chirp3-HD`, `Chirp-HD`, `Journey`      | 30                    | 3                            |
//! | `Studio`                                | 160                   | 16                           |
//!
//! A request costs its characters (SSML tags included, as Google bills)
//! at the family's price, rounded up to a whole credit, at least 1.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

use crate::ID;

/// Option names, as users send them.
pub const VOICE: &str = "voice";
/// BCP-47 language, e.g. `en-US`.
pub const LANGUAGE_CODE: &str = "languageCode";
/// A gender preference when no voice is named.
pub const GENDER: &str = "gender";
/// Speaking rate, 1.0 = normal.
pub const SPEED: &str = "speed";
/// Semitones up or down.
pub const PITCH: &str = "pitch";
/// Loudness change in dB.
pub const VOLUME_GAIN_DB: &str = "volumeGainDb";
/// Output encoding.
pub const FORMAT: &str = "format";
/// Output sample rate (Google resamples).
pub const SAMPLE_RATE: &str = "sampleRate";
/// `input.text` is an SSML document.
pub const SSML: &str = "ssml";
/// Google's audio effects profile (device class).
pub const EFFECTS_PROFILE: &str = "effectsProfile";

/// The voice when neither a voice nor a language is given: a Neural2
/// voice, the notes' own example.
pub const DEFAULT_VOICE: &str = "en-US-Neural2-F";
/// The language Google chooses a voice in when only a gender is given.
pub const DEFAULT_LANGUAGE: &str = "en-US";
/// Google's limit on `input.text` / `input.ssml`, in UTF-8 bytes.
pub const MAX_INPUT_BYTES: usize = 5_000;
/// Characters in the `providers` price (the default voice's price for
/// 1,000 characters); a request costs its share, rounded up.
pub const PRICED_CHARS: usize = 1_000;
/// Speaking-rate bounds of `text:synthesize`.
pub const SPEED_RANGE: (f64, f64) = (0.25, 4.0);
/// Pitch bounds, in semitones.
pub const PITCH_RANGE: (f64, f64) = (-20.0, 20.0);
/// Volume gain bounds, in dB.
pub const VOLUME_RANGE: (f64, f64) = (-96.0, 16.0);
/// Output sample rates offered (Google resamples to them).
pub const SAMPLE_RATES: [i64; 7] = [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];
/// Google's audio effects profiles.
pub const EFFECTS_PROFILES: [&str; 8] = [
    "wearable-class-device",
    "handset-class-device",
    "headphone-class-device",
    "small-bluetooth-speaker-class-device",
    "medium-bluetooth-speaker-class-device",
    "large-home-entertainment-class-device",
    "large-automotive-class-device",
    "telephony-class-application",
];
/// Quality rank of the offering (its default Neural2 voice).
const QUALITY: u8 = 75;

/// A family of Google voices, priced alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `Standard`: parametric voices.
    Standard,
    /// `Wavenet`: DeepMind WaveNet voices.
    Wavenet,
    /// `Neural2`, and the Neural2-priced `Polyglot`, `News`, `Casual`.
    Neural2,
    /// `Chirp3-HD`, `Chirp-HD`, `Journey`: LLM-based HD voices.
    ChirpHd,
    /// `Studio`: narration voices.
    Studio,
}

/// Voice-name families as Google spells them, and their price class.
const FAMILIES: [(&str, Family); 10] = [
    ("Standard", Family::Standard),
    ("Wavenet", Family::Wavenet),
    ("Neural2", Family::Neural2),
    ("Polyglot", Family::Neural2),
    ("News", Family::Neural2),
    ("Casual", Family::Neural2),
    ("Chirp3-HD", Family::ChirpHd),
    ("Chirp-HD", Family::ChirpHd),
    ("Journey", Family::ChirpHd),
    ("Studio", Family::Studio),
];

impl Family {
    /// US dollars per million characters (Google's list price).
    pub fn usd_per_million_chars(self) -> u32 {
        match self {
            Family::Standard => 4,
            Family::Wavenet | Family::Neural2 => 16,
            Family::ChirpHd => 30,
            Family::Studio => 160,
        }
    }
}

/// A voice name taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voice {
    /// The name as given, e.g. `en-US-Neural2-F`.
    pub name: String,
    /// Its locale, e.g. `en-US`.
    pub language_code: String,
    /// Its price class.
    pub family: Family,
}

impl Voice {
    /// Read a Google voice name: `<lang>-<REGION>-<family>-<variant>`,
    /// with a family Google prices (see the module table).
    pub fn parse(name: &str) -> Option<Voice> {
        let name = name.trim();
        let parts: Vec<&str> = name.split('-').collect();
        if parts.len() < 4 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return None;
        }
        let (language, region) = (parts[0], parts[1]);
        let language_ok = (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
        let region_ok =
            (2..=3).contains(&region.len()) && region.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !(language_ok && region_ok) {
            return None;
        }
        let family_name = parts[2..parts.len() - 1].join("-");
        let family = FAMILIES.iter().find(|(spelled, _)| spelled.eq_ignore_ascii_case(&family_name))?.1;
        Some(Voice { name: name.to_string(), language_code: format!("{language}-{region}"), family })
    }
}

/// A `gender` preference: Google's `ssmlGender`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gender {
    /// `MALE`.
    Male,
    /// `FEMALE`.
    Female,
    /// `NEUTRAL` (Google: "not yet supported" by most voices).
    Neutral,
}

impl Gender {
    /// Every gender, in the order the `gender` option lists them.
    pub const ALL: [Gender; 3] = [Gender::Female, Gender::Male, Gender::Neutral];

    /// The `gender` option value.
    pub fn name(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Neutral => "neutral",
        }
    }

    /// Google's `ssmlGender`.
    pub fn vendor_name(self) -> &'static str {
        match self {
            Gender::Male => "MALE",
            Gender::Female => "FEMALE",
            Gender::Neutral => "NEUTRAL",
        }
    }

    fn from_name(name: &str) -> Option<Gender> {
        Gender::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// An output encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `MP3`.
    Mp3,
    /// `LINEAR16`: 16-bit PCM, in a WAV file.
    Wav,
    /// `OGG_OPUS`.
    OggOpus,
    /// `MULAW`: 8-bit μ-law, in a WAV file.
    Mulaw,
    /// `ALAW`: 8-bit A-law, in a WAV file.
    Alaw,
}

impl Format {
    /// Every encoding, in the order the `format` option lists them.
    pub const ALL: [Format; 5] = [Format::Mp3, Format::Wav, Format::OggOpus, Format::Mulaw, Format::Alaw];

    /// The `format` option value.
    pub fn name(self) -> &'static str {
        match self {
            Format::Mp3 => "mp3",
            Format::Wav => "wav",
            Format::OggOpus => "ogg-opus",
            Format::Mulaw => "mulaw",
            Format::Alaw => "alaw",
        }
    }

    fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Google's `audioEncoding`.
    pub fn vendor_name(self) -> &'static str {
        match self {
            Format::Mp3 => "MP3",
            Format::Wav => "LINEAR16",
            Format::OggOpus => "OGG_OPUS",
            Format::Mulaw => "MULAW",
            Format::Alaw => "ALAW",
        }
    }

    /// The artifact's MIME type: Google wraps PCM, μ-law and A-law in WAV.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Mp3 => "audio/mpeg",
            Format::Wav | Format::Mulaw | Format::Alaw => "audio/wav",
            Format::OggOpus => "audio/ogg",
        }
    }
}

/// The `google-tts` offering.
pub fn offering() -> Offering {
    let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    let genders: Vec<&str> = Gender::ALL.iter().map(|g| g.name()).collect();
    let families: Vec<&str> = FAMILIES.iter().map(|(name, _)| *name).collect();
    let voice_help = format!(
        "A Google voice name, e.g. {DEFAULT_VOICE} or en-US-Chirp3-HD-Kore (families: {}); input.voice works too. \
         Default: {DEFAULT_VOICE} unless languageCode asks Google to choose",
        families.join(", ")
    );
    let mut offering = OfferingBuilder::new(ID, "Google TTS", &[MediaKind::Audio])
        .description(
            "Google Cloud Text-to-Speech: 380+ voices in 50+ languages (Standard, WaveNet, Neural2, Studio and \
             Chirp 3 HD), with SSML, speaking rate, pitch and volume, as MP3, WAV or Ogg Opus.",
        )
        .accepts(&[InputField::Text, InputField::Voice])
        .requires(&[InputField::Text])
        .features(&["380+ voices", "50+ languages", "WaveNet", "SSML", "pitch and rate control"])
        .limitations(&[
            "input at most 5,000 bytes (UTF-8; SSML tags count)",
            "priced per character by voice family (Standard < WaveNet = Neural2 < Chirp 3 HD < Studio): the listed \
             price is 1,000 characters with the default Neural2 voice",
            "gender only when no voice is named; some families (Chirp 3 HD, Journey) ignore or refuse SSML and pitch",
            "API keys only (no service-account OAuth); no long-audio synthesis",
        ])
        .option(OptionBuilder::text(VOICE, &voice_help))
        .option(OptionBuilder::text(
            LANGUAGE_CODE,
            "BCP-47 language, e.g. de-DE: with a voice, it must be the voice's; alone, Google chooses a voice",
        ))
        .option(OptionBuilder::text(GENDER, "Preferred gender when no voice is named").allowed(&genders))
        .option(
            OptionBuilder::number(SPEED, "Speaking rate, 1.0 = normal")
                .range(SPEED_RANGE.0, SPEED_RANGE.1)
                .default_number(1.0),
        )
        .option(
            OptionBuilder::number(PITCH, "Pitch change in semitones")
                .range(PITCH_RANGE.0, PITCH_RANGE.1)
                .default_number(0.0),
        )
        .option(
            OptionBuilder::number(VOLUME_GAIN_DB, "Volume change in dB")
                .range(VOLUME_RANGE.0, VOLUME_RANGE.1)
                .default_number(0.0),
        )
        .option(
            OptionBuilder::text(FORMAT, "Output: mp3, wav (16-bit PCM), ogg-opus, mulaw or alaw (8-bit, in WAV)")
                .allowed(&formats)
                .default_text(Format::Mp3.name()),
        )
        .option(
            OptionBuilder::integer(SAMPLE_RATE, "Output sample rate in Hz; the voice's natural rate when omitted")
                .allowed_integers(&SAMPLE_RATES),
        )
        .option(OptionBuilder::flag(SSML, "input.text is an SSML document (<speak>…</speak>)").default_flag(false))
        .option(
            OptionBuilder::text(EFFECTS_PROFILE, "Optimise the audio for a class of device").allowed(&EFFECTS_PROFILES),
        )
        .quality(QUALITY)
        .estimated_seconds(2)
        .build();
    offering.base_credits = credits_for(Family::Neural2, PRICED_CHARS);
    offering
}

/// Credits for `chars` characters of a `family` voice: Google's price,
/// rounded up to a whole credit (1 credit = US$0.01), at least 1.
pub fn credits_for(family: Family, chars: usize) -> u32 {
    // US$ per 1M characters × 100 cents / 1M = cents per 10,000 characters.
    let cents_times_10k = chars as u64 * u64::from(family.usd_per_million_chars());
    u32::try_from(cents_times_10k.div_ceil(10_000)).unwrap_or(u32::MAX).max(1)
}

/// Which voice Google is asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum VoiceChoice {
    /// A named voice.
    Named(Voice),
    /// A language (and maybe a gender): Google chooses the voice.
    Chosen {
        /// BCP-47.
        language_code: String,
        /// `ssmlGender`.
        gender: Option<Gender>,
    },
}

/// A request resolved: what Google is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The voice.
    pub voice: VoiceChoice,
    /// `speakingRate`.
    pub speed: f64,
    /// `pitch`.
    pub pitch: f64,
    /// `volumeGainDb`.
    pub volume_gain_db: f64,
    /// `audioEncoding`.
    pub format: Format,
    /// `sampleRateHertz`.
    pub sample_rate: Option<u32>,
    /// The text is SSML.
    pub ssml: bool,
    /// `effectsProfileId`.
    pub effects_profile: Option<String>,
    /// Characters of input (what Google bills).
    pub chars: usize,
}

impl Plan {
    /// Whether the plan speaks with the built-in default voice (named
    /// [`DEFAULT_VOICE`], given or by default).
    pub fn uses_default_voice(&self) -> bool {
        matches!(&self.voice, VoiceChoice::Named(voice) if voice.name == DEFAULT_VOICE)
    }

    /// The plan with the default voice replaced by `replacement` (the
    /// operator's `model.google-tts` setting), its language and price
    /// class read from the name; unchanged when the plan names another
    /// voice, or when `replacement` is not a Google voice name this
    /// plugin can price (an `invalid-input` naming the setting).
    pub fn with_default_voice(mut self, replacement: &str) -> Result<Plan, Failure> {
        if !self.uses_default_voice() || replacement == DEFAULT_VOICE {
            return Ok(self);
        }
        let voice = Voice::parse(replacement).ok_or_else(|| {
            failure::invalid_input(format!(
                "the operator's setting `model.{ID}` ({replacement:?}) is not a Google voice name with a family \
                 this plugin prices, e.g. en-US-Chirp3-HD-Kore"
            ))
        })?;
        self.voice = VoiceChoice::Named(voice);
        Ok(self)
    }

    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and what is allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let text = request.input.text.as_deref().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            failure::invalid_input(format!("provider `{ID}` needs input.text: the words (or SSML) to speak"))
        })?;
        if text.len() > MAX_INPUT_BYTES {
            return Err(failure::invalid_input(format!(
                "input.text is {} bytes; Google Text-to-Speech takes at most {MAX_INPUT_BYTES} bytes (UTF-8) a request",
                text.len()
            )));
        }
        let ssml = options.flag(SSML).unwrap_or(false);
        if ssml {
            let trimmed = text.trim();
            if !(trimmed.starts_with("<speak") && trimmed.ends_with("</speak>")) {
                return Err(failure::invalid_input(format!(
                    "option `{SSML}` of provider `{ID}` is true, so input.text must be an SSML document: \
                     <speak>…</speak>"
                )));
            }
        }
        let gender = options.text(GENDER).and_then(Gender::from_name);
        let voice =
            resolve_voice(options.text(VOICE), request.input.voice.as_deref(), options.text(LANGUAGE_CODE), gender)?;
        Ok(Plan {
            voice,
            speed: options.number(SPEED).unwrap_or(1.0),
            pitch: options.number(PITCH).unwrap_or(0.0),
            volume_gain_db: options.number(VOLUME_GAIN_DB).unwrap_or(0.0),
            format: options.text(FORMAT).and_then(Format::from_name).unwrap_or(Format::Mp3),
            sample_rate: options.integer(SAMPLE_RATE).and_then(|r| u32::try_from(r).ok()),
            ssml,
            effects_profile: options.text(EFFECTS_PROFILE).map(str::to_string),
            chars: text.chars().count(),
        })
    }

    /// The price class: the named voice's family, or Neural2/WaveNet when
    /// Google chooses (the highest-priced family it picks by language).
    pub fn family(&self) -> Family {
        match &self.voice {
            VoiceChoice::Named(voice) => voice.family,
            VoiceChoice::Chosen { .. } => Family::Neural2,
        }
    }

    /// Credits: the family's price per character, rounded up, at least 1.
    pub fn credits(&self) -> u32 {
        credits_for(self.family(), self.chars)
    }

    /// Typical seconds to the audio: a second or two, plus one per 1,000
    /// characters.
    pub fn estimated_seconds(&self) -> u32 {
        2 + (self.chars / 1_000) as u32
    }
}

/// The voice from `options.voice`, `input.voice`, `options.languageCode`
/// and `options.gender`: a named voice (whose language and gender are its
/// own), or a language and gender Google chooses a voice for; with none of
/// them, [`DEFAULT_VOICE`] (with only a gender, Google chooses in en-US).
fn resolve_voice(
    option: Option<&str>,
    input: Option<&str>,
    language: Option<&str>,
    gender: Option<Gender>,
) -> Result<VoiceChoice, Failure> {
    let parse = |name: &str, field: &str| {
        Voice::parse(name).ok_or_else(|| {
            let families: Vec<&str> = FAMILIES.iter().map(|(name, _)| *name).collect();
            failure::invalid_input(format!(
                "{field} of provider `{ID}` must be a Google voice name <language>-<REGION>-<family>-<variant> with \
                 family {}, e.g. {DEFAULT_VOICE}; got {name:?}",
                families.join(", ")
            ))
        })
    };
    let option = option.map(str::trim).filter(|v| !v.is_empty());
    let input = input.map(str::trim).filter(|v| !v.is_empty());
    let named = match (option, input) {
        (None, None) => None,
        (Some(name), None) => Some(parse(name, "option `voice`")?),
        (None, Some(name)) => Some(parse(name, "input.voice")?),
        (Some(option), Some(input)) => {
            if !option.eq_ignore_ascii_case(input) {
                return Err(failure::invalid_input(format!(
                    "option `voice` ({option:?}) and input.voice ({input:?}) of provider `{ID}` name different \
                     voices; give one of them"
                )));
            }
            Some(parse(option, "option `voice`")?)
        }
    };
    let language = language.map(str::trim).filter(|l| !l.is_empty());
    if let (Some(voice), Some(gender)) = (&named, gender) {
        return Err(failure::invalid_input(format!(
            "option `{GENDER}` of provider `{ID}` applies only when no voice is named; voice `{}` already fixes it \
             (got gender {})",
            voice.name,
            gender.name()
        )));
    }
    match (named, language) {
        (Some(voice), Some(language)) if !voice.language_code.eq_ignore_ascii_case(language) => {
            Err(failure::invalid_input(format!(
                "option `{LANGUAGE_CODE}` of provider `{ID}` is {language} but voice `{}` speaks {}; name a {language} \
                 voice, or leave one of them out",
                voice.name, voice.language_code
            )))
        }
        (Some(voice), _) => Ok(VoiceChoice::Named(voice)),
        (None, Some(language)) => {
            if !is_language_code(language) {
                return Err(failure::invalid_input(format!(
                    "option `{LANGUAGE_CODE}` of provider `{ID}` must be a BCP-47 code such as en-US or cmn-CN; got \
                     {language:?}"
                )));
            }
            Ok(VoiceChoice::Chosen { language_code: language.to_string(), gender })
        }
        (None, None) => match gender {
            Some(gender) => {
                Ok(VoiceChoice::Chosen { language_code: DEFAULT_LANGUAGE.to_string(), gender: Some(gender) })
            }
            None => Ok(VoiceChoice::Named(Voice::parse(DEFAULT_VOICE).expect("the default voice parses"))),
        },
    }
}

/// `ll[l]-RR[R]`: the language codes Google's voices use.
fn is_language_code(code: &str) -> bool {
    match code.split_once('-') {
        Some((language, region)) => {
            (2..=3).contains(&language.len())
                && language.bytes().all(|b| b.is_ascii_alphabetic())
                && (2..=3).contains(&region.len())
                && region.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
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

    fn neural2() -> Voice {
        Voice { name: DEFAULT_VOICE.into(), language_code: "en-US".into(), family: Family::Neural2 }
    }

    #[test]
    fn defaults_resolve_to_neural2_f_as_mp3() {
        let plan = Plan::of(&request(Some("Your order has shipped."), None, &[])).unwrap();
        assert_eq!(
            plan,
            Plan {
                voice: VoiceChoice::Named(neural2()),
                speed: 1.0,
                pitch: 0.0,
                volume_gain_db: 0.0,
                format: Format::Mp3,
                sample_rate: None,
                ssml: false,
                effects_profile: None,
                chars: 23,
            }
        );
        assert_eq!((plan.credits(), plan.estimated_seconds()), (1, 2));
        let offering = offering();
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (2, 2, 75));
        let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [VOICE, LANGUAGE_CODE, GENDER, SPEED, PITCH, VOLUME_GAIN_DB, FORMAT, SAMPLE_RATE, SSML, EFFECTS_PROFILE]
        );
    }

    #[test]
    fn voice_names_give_their_language_and_price_family() {
        let cases = [
            ("en-US-Standard-C", "en-US", Family::Standard),
            ("en-US-Wavenet-D", "en-US", Family::Wavenet),
            ("de-DE-Neural2-B", "de-DE", Family::Neural2),
            ("en-US-Polyglot-1", "en-US", Family::Neural2),
            ("en-US-News-K", "en-US", Family::Neural2),
            ("en-US-Studio-O", "en-US", Family::Studio),
            ("en-US-Chirp3-HD-Kore", "en-US", Family::ChirpHd),
            ("en-US-Chirp-HD-F", "en-US", Family::ChirpHd),
            ("en-US-Journey-D", "en-US", Family::ChirpHd),
            ("cmn-CN-Wavenet-A", "cmn-CN", Family::Wavenet),
            ("es-419-Standard-A", "es-419", Family::Standard),
        ];
        for (name, language, family) in cases {
            let voice = Voice::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!((voice.name.as_str(), voice.language_code.as_str(), voice.family), (name, language, family));
        }
        for bad in ["rachel", "en-US-Neural2", "en-US-Custom-A", "EN-us-Neural2-F", "en-US--F", "en-US-Neural2-F/../x"]
        {
            assert_eq!(Voice::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn prices_follow_the_voice_family_per_character() {
        let cases = [
            (Family::Standard, 2_500, 1),
            (Family::Standard, 2_501, 2),
            (Family::Neural2, 625, 1),
            (Family::Neural2, 1_000, 2),
            (Family::Wavenet, 5_000, 8),
            (Family::ChirpHd, 1_000, 3),
            (Family::Studio, 62, 1),
            (Family::Studio, 63, 2),
            (Family::Studio, 5_000, 80),
            (Family::Standard, 1, 1),
        ];
        for (family, chars, credits) in cases {
            assert_eq!(credits_for(family, chars), credits, "{family:?} {chars}");
        }
        let studio = Plan::of(&request(Some(&"a".repeat(1_000)), None, &[(VOICE, text("en-US-Studio-O"))])).unwrap();
        assert_eq!(studio.credits(), 16);
        let chosen = Plan::of(&request(Some(&"a".repeat(1_000)), None, &[(LANGUAGE_CODE, text("fr-FR"))])).unwrap();
        assert_eq!((chosen.family(), chosen.credits()), (Family::Neural2, 2));
    }

    #[test]
    fn a_language_alone_lets_google_choose_and_gender_only_applies_then() {
        let chosen =
            Plan::of(&request(Some("Bonjour"), None, &[(LANGUAGE_CODE, text("fr-FR")), (GENDER, text("male"))]))
                .unwrap();
        assert_eq!(chosen.voice, VoiceChoice::Chosen { language_code: "fr-FR".into(), gender: Some(Gender::Male) });
        let only_gender = Plan::of(&request(Some("Hi"), None, &[(GENDER, text("female"))])).unwrap();
        assert_eq!(
            only_gender.voice,
            VoiceChoice::Chosen { language_code: "en-US".into(), gender: Some(Gender::Female) }
        );
        let same = Plan::of(&request(Some("x"), Some("de-DE-Neural2-B"), &[(LANGUAGE_CODE, text("de-de"))])).unwrap();
        assert_eq!(same.voice, VoiceChoice::Named(Voice::parse("de-DE-Neural2-B").unwrap()));
    }

    #[test]
    fn impossible_combinations_name_the_option_and_what_is_allowed() {
        let long = "é".repeat(2_501); // 5,002 bytes
        // (text, input.voice, options, the exact message)
        type Case<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, Value)>, &'a str);
        let cases: [Case; 7] = [
            (
                "Hallo",
                None,
                vec![(VOICE, text("de-DE-Neural2-B")), (LANGUAGE_CODE, text("fr-FR"))],
                "option `languageCode` of provider `google-tts` is fr-FR but voice `de-DE-Neural2-B` speaks de-DE; \
                 name a fr-FR voice, or leave one of them out",
            ),
            (
                "x",
                None,
                vec![(VOICE, text("en-US-Wavenet-D")), (GENDER, text("female"))],
                "option `gender` of provider `google-tts` applies only when no voice is named; voice `en-US-Wavenet-D` \
                 already fixes it (got gender female)",
            ),
            (
                "x",
                Some("en-US-Wavenet-D"),
                vec![(VOICE, text("en-US-Neural2-F"))],
                "option `voice` (\"en-US-Neural2-F\") and input.voice (\"en-US-Wavenet-D\") of provider `google-tts` \
                 name different voices; give one of them",
            ),
            (
                "x",
                Some("professional_female"),
                vec![],
                "input.voice of provider `google-tts` must be a Google voice name <language>-<REGION>-<family>-<variant> \
                 with family Standard, Wavenet, Neural2, Polyglot, News, Casual, Chirp3-HD, Chirp-HD, Journey, Studio, \
                 e.g. en-US-Neural2-F; got \"professional_female\"",
            ),
            (
                "x",
                None,
                vec![(LANGUAGE_CODE, text("english"))],
                "option `languageCode` of provider `google-tts` must be a BCP-47 code such as en-US or cmn-CN; got \
                 \"english\"",
            ),
            (
                "Hello <break time=\"1s\"/> world",
                None,
                vec![(SSML, Value::Flag(true))],
                "option `ssml` of provider `google-tts` is true, so input.text must be an SSML document: \
                 <speak>…</speak>",
            ),
            (
                &long,
                None,
                vec![],
                "input.text is 5002 bytes; Google Text-to-Speech takes at most 5000 bytes (UTF-8) a request",
            ),
        ];
        for (text, voice, options, message) in cases {
            let failure = Plan::of(&request(Some(text), voice, &options)).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
        let blank = Plan::of(&request(Some("  "), None, &[])).unwrap_err();
        assert_eq!(blank.message, "provider `google-tts` needs input.text: the words (or SSML) to speak");
        assert!(Plan::of(&request(Some(&long[2..]), None, &[])).is_ok(), "5,000 bytes is fine");
    }

    #[test]
    fn options_reach_the_plan() {
        let ssml = "<speak>Hello <break time=\"300ms\"/> there.</speak>";
        let options = [
            (SSML, Value::Flag(true)),
            (SPEED, Value::Number(1.25)),
            (PITCH, Value::Number(-2.5)),
            (VOLUME_GAIN_DB, Value::Number(3.0)),
            (FORMAT, text("ogg-opus")),
            (SAMPLE_RATE, Value::Integer(48_000)),
            (EFFECTS_PROFILE, text("headphone-class-device")),
        ];
        let plan = Plan::of(&request(Some(ssml), Some("en-GB-Wavenet-B"), &options)).unwrap();
        assert!(plan.ssml);
        assert_eq!((plan.speed, plan.pitch, plan.volume_gain_db), (1.25, -2.5, 3.0));
        assert_eq!((plan.format, plan.sample_rate), (Format::OggOpus, Some(48_000)));
        assert_eq!(plan.effects_profile.as_deref(), Some("headphone-class-device"));
        assert_eq!(plan.chars, ssml.chars().count(), "SSML tags are billed");
        for (format, encoding, mime) in [
            (Format::Mp3, "MP3", "audio/mpeg"),
            (Format::Wav, "LINEAR16", "audio/wav"),
            (Format::OggOpus, "OGG_OPUS", "audio/ogg"),
            (Format::Mulaw, "MULAW", "audio/wav"),
            (Format::Alaw, "ALAW", "audio/wav"),
        ] {
            assert_eq!((format.vendor_name(), format.mime()), (encoding, mime));
            assert_eq!(Format::from_name(format.name()), Some(format));
        }
    }

    #[test]
    fn the_default_voice_can_be_replaced_and_repriced() {
        let plan = Plan::of(&request(Some("Hello"), None, &[])).unwrap();
        assert!(plan.uses_default_voice());
        let chirp = plan.clone().with_default_voice("en-GB-Chirp3-HD-Kore").unwrap();
        assert_eq!(chirp.family(), Family::ChirpHd);
        assert!(!chirp.uses_default_voice());
        assert_eq!(plan.clone().with_default_voice(DEFAULT_VOICE).unwrap(), plan);
        assert_eq!(plan.with_default_voice("nonsense").unwrap_err().code, FailureCode::InvalidInput);
        let named = Plan::of(&request(Some("Hello"), Some("en-US-Wavenet-D"), &[])).unwrap();
        assert_eq!(named.clone().with_default_voice("en-GB-Chirp3-HD-Kore").unwrap(), named);
    }
}
