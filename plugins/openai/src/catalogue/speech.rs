//! The `openai-tts` offering: OpenAI's text-to-speech models.
//!
//! | `model`                      | voices | steerable (`instructions`, `emotion`) | list price |
//! |------------------------------|--------|----------------------------------------|------------|
//! | `gpt-4o-mini-tts` (default)  | all 13 | yes | ≈ $0.015 per minute of audio (+ $0.60 / 1M input tokens) |
//! | `tts-1`                      | the 9 classic ones | no | $15 / 1M characters |
//! | `tts-1-hd`                   | the 9 classic ones | no | $30 / 1M characters |
//!
//! The voice comes from `input.voice` or the `voice` option (they must
//! agree when both are given), else `alloy`, which every model has.
//! `gpt-4o-mini-tts` is billed by audio length, which is only known
//! afterwards: the quote estimates it from the text at 900 characters a
//! minute (150 English words), a CJK character counting as 4, and at
//! speeds below 1.0 the audio is longer in proportion. Every request costs
//! at least 1 credit.

use doitong_plugin_sdk::prelude::*;

use super::{estimated_tokens, pick};
use crate::audio::AudioFormat;

/// The offering id.
pub const ID: &str = "openai-tts";

/// Option names, as users send them.
pub const MODEL: &str = "model";
/// The voice, when `input.voice` is not given.
pub const VOICE: &str = "voice";
/// OpenAI's `speed`.
pub const SPEED: &str = "speed";
/// OpenAI's `response_format`.
pub const FORMAT: &str = "format";
/// OpenAI's `instructions` (tone, accent, pacing…).
pub const INSTRUCTIONS: &str = "instructions";
/// An emotion, added to `instructions` as `Emotion: <value>.`.
pub const EMOTION: &str = "emotion";

/// OpenAI's limit for `input`, in characters.
pub const MAX_INPUT_CHARS: usize = 4096;
/// The voice when none is given: available with every model.
pub const DEFAULT_VOICE: &str = "alloy";
/// Every built-in voice.
pub const VOICES: [&str; 13] =
    ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"];
/// The voices of `tts-1` and `tts-1-hd`.
pub const CLASSIC_VOICES: [&str; 9] = ["alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"];
/// Speech length units spoken in a minute at speed 1.0 (150 words of ~6
/// characters; see [`speech_units`]).
const UNITS_PER_MINUTE: f64 = 900.0;
/// Quality rank of the offering (its default model).
const RANK: u8 = 80;

/// An OpenAI speech model, as the `model` option names it (OpenAI's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `gpt-4o-mini-tts`: steerable with instructions.
    Gpt4oMiniTts,
    /// `tts-1`: low latency.
    Tts1,
    /// `tts-1-hd`: higher quality.
    Tts1Hd,
}

impl Model {
    /// Every model, in option order (the first is the default).
    pub const ALL: [Model; 3] = [Model::Gpt4oMiniTts, Model::Tts1, Model::Tts1Hd];
    /// The model a request without `model` gets.
    pub const DEFAULT: Model = Model::Gpt4oMiniTts;

    /// OpenAI's id, also the option value.
    pub fn name(self) -> &'static str {
        match self {
            Model::Gpt4oMiniTts => "gpt-4o-mini-tts",
            Model::Tts1 => "tts-1",
            Model::Tts1Hd => "tts-1-hd",
        }
    }

    /// The voices the model speaks with.
    pub fn voices(self) -> &'static [&'static str] {
        match self {
            Model::Gpt4oMiniTts => &VOICES,
            Model::Tts1 | Model::Tts1Hd => &CLASSIC_VOICES,
        }
    }

    /// Whether the model follows `instructions`.
    pub fn steerable(self) -> bool {
        self == Model::Gpt4oMiniTts
    }
}

/// The `openai-tts` offering.
pub fn offering() -> Offering {
    let models: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
    let formats: Vec<&str> = AudioFormat::ALL.iter().map(|f| f.name()).collect();
    OfferingBuilder::new(ID, "OpenAI Text to Speech", &[MediaKind::Audio])
        .description(
            "OpenAI's text-to-speech: gpt-4o-mini-tts by default, steerable in tone, accent and emotion with \
             natural-language instructions; tts-1 and tts-1-hd for the classic voices. 13 built-in voices, tuned \
             for English and following Whisper's languages.",
        )
        .accepts(&[InputField::Text, InputField::Voice])
        .requires(&[InputField::Text])
        .features(&["text-to-speech", "13 voices", "instructions", "emotion", "speed", "mp3, opus, aac, flac, wav"])
        .limitations(&[
            "text at most 4096 characters",
            "ballad, verse, marin and cedar only with gpt-4o-mini-tts",
            "instructions and emotion only with gpt-4o-mini-tts",
            "priced per character (tts-1, tts-1-hd) or by estimated audio length (gpt-4o-mini-tts); at least 1 credit",
            "no language option: the language follows the text",
        ])
        .option(
            OptionBuilder::text(MODEL, "Which speech model speaks")
                .allowed(&models)
                .default_text(Model::DEFAULT.name()),
        )
        .option(
            OptionBuilder::text(VOICE, "Voice, when input.voice is not given; alloy when neither is").allowed(&VOICES),
        )
        .option(OptionBuilder::number(SPEED, "Speaking speed, 0.25-4.0").range(0.25, 4.0).default_number(1.0))
        .option(OptionBuilder::text(FORMAT, "Audio file format").allowed(&formats).default_text("mp3"))
        .option(OptionBuilder::text(
            INSTRUCTIONS,
            "How to speak: tone, accent, pacing, e.g. \"Speak warmly, like a radio host\" (gpt-4o-mini-tts only)",
        ))
        .option(OptionBuilder::text(
            EMOTION,
            "An emotion to convey, e.g. excited, calm, sad (gpt-4o-mini-tts only; added to the instructions)",
        ))
        .quality(RANK)
        .credits(1)
        .estimated_seconds(3)
        .build()
}

/// A checked `openai-tts` request: what OpenAI is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model.
    pub model: Model,
    /// The text to speak.
    pub text: String,
    /// The voice.
    pub voice: &'static str,
    /// `speed`.
    pub speed: f64,
    /// `response_format`.
    pub format: AudioFormat,
    /// `instructions`: the option and the emotion, when given.
    pub instructions: Option<String>,
}

impl Plan {
    /// OpenAI's model id for this request: the built-in id of `model`, or
    /// the operator's replacement (`model.openai-tts` for the default,
    /// `model.openai-tts.<value>` for the others).
    pub fn vendor_model(&self) -> String {
        super::vendor_model(ID, self.model.name(), Model::DEFAULT.name())
    }

    /// Resolve and check `request`; an impossible combination is an
    /// `invalid-input` failure naming the option and what is allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let text = request.input.text.as_deref().map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Err(failure::invalid_input(format!("provider `{ID}` needs input.text (the text to speak)")));
        }
        if text.chars().count() > MAX_INPUT_CHARS {
            return Err(failure::invalid_input(format!(
                "input.text is longer than OpenAI's limit of {MAX_INPUT_CHARS} characters"
            )));
        }
        let model = pick(&options, ID, MODEL, &Model::ALL, Model::name, Model::DEFAULT)?;
        let format = pick(&options, ID, FORMAT, &AudioFormat::ALL, AudioFormat::name, AudioFormat::Mp3)?;
        let voice = voice(model, request.input.voice.as_deref(), options.text(VOICE))?;
        let mut steering = Vec::new();
        if let Some(instructions) = options.text(INSTRUCTIONS).map(str::trim).filter(|i| !i.is_empty()) {
            steering.push((INSTRUCTIONS, instructions.to_string()));
        }
        if let Some(emotion) = options.text(EMOTION).map(str::trim).filter(|e| !e.is_empty()) {
            steering.push((EMOTION, format!("Emotion: {}.", emotion.trim_end_matches('.'))));
        }
        if let Some((name, _)) = steering.first().filter(|_| !model.steerable()) {
            let steerable: Vec<&str> = Model::ALL.iter().filter(|m| m.steerable()).map(|m| m.name()).collect();
            return Err(failure::invalid_input(format!(
                "option `{name}` of provider `{ID}` needs model {}; model `{}` cannot be steered",
                steerable.join(", "),
                model.name()
            )));
        }
        let instructions =
            (!steering.is_empty()).then(|| steering.into_iter().map(|(_, text)| text).collect::<Vec<_>>().join("\n"));
        Ok(Plan {
            model,
            text: text.to_string(),
            voice,
            speed: options.number(SPEED).unwrap_or(1.0),
            format,
            instructions,
        })
    }

    /// Credits, at least 1: per character for `tts-1` ($15 / 1M) and
    /// `tts-1-hd` ($30 / 1M); for `gpt-4o-mini-tts`, $0.015 per estimated
    /// minute plus $0.60 per million input tokens.
    pub fn credits(&self) -> u32 {
        let chars = self.text.chars().count() as f64;
        let cents = match self.model {
            Model::Tts1 => chars * 1_500.0 / 1e6,
            Model::Tts1Hd => chars * 3_000.0 / 1e6,
            Model::Gpt4oMiniTts => {
                let text = self.instructions.as_deref().map_or(0, estimated_tokens) + estimated_tokens(&self.text);
                1.5 * self.estimated_minutes() + text as f64 * 60.0 / 1e6
            }
        };
        (cents.ceil() as u32).max(1)
    }

    /// Minutes of audio the text makes: [`speech_units`] at 900 a minute,
    /// longer in proportion below speed 1.0 (faster speech is not assumed
    /// to be billed for less).
    pub fn estimated_minutes(&self) -> f64 {
        speech_units(&self.text) as f64 / UNITS_PER_MINUTE / self.speed.min(1.0)
    }

    /// Typical seconds to the file: a second, plus one per 15 s of audio.
    pub fn estimated_seconds(&self) -> u32 {
        1 + (self.estimated_minutes() * 4.0).ceil() as u32
    }
}

/// Characters weighted by how long they take to say: 1 for alphabetic
/// scripts, 4 for CJK ideographs, kana and hangul (a syllable each).
pub fn speech_units(text: &str) -> u64 {
    text.chars().map(|c| if ('\u{2E80}'..='\u{D7AF}').contains(&c) { 4 } else { 1 }).sum()
}

/// The voice from `input.voice` or the `voice` option, checked against the
/// model's voices.
fn voice(model: Model, input: Option<&str>, option: Option<&str>) -> Result<&'static str, Failure> {
    let input = input.map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty());
    let chosen = match (input.as_deref(), option) {
        (Some(given), Some(option)) if given != option => {
            return Err(failure::invalid_input(format!(
                "input.voice `{given}` and option `{VOICE}` `{option}` of provider `{ID}` disagree: give one of them"
            )));
        }
        (Some(given), _) => given,
        (None, Some(option)) => option,
        (None, None) => DEFAULT_VOICE,
    };
    model.voices().iter().copied().find(|v| *v == chosen).ok_or_else(|| {
        let source = if input.is_some() { "input.voice".to_string() } else { format!("option `{VOICE}`") };
        failure::invalid_input(format!(
            "{source} of provider `{ID}` must be one of {} with model `{}`; got {chosen}",
            model.voices().join(", "),
            model.name()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str, voice: Option<&str>, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: ID.into(),
            kind: MediaKind::Audio,
            input: JobInput {
                text: Some(text.into()),
                image: None,
                audio: None,
                video: None,
                voice: voice.map(str::to_string),
            },
            options: spec::with_defaults(&offering(), options),
        }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    #[test]
    fn defaults_are_gpt_4o_mini_tts_alloy_mp3_at_normal_speed() {
        let plan = Plan::of(&request("Welcome to the future of AI", None, &[])).unwrap();
        assert_eq!(
            plan,
            Plan {
                model: Model::Gpt4oMiniTts,
                text: "Welcome to the future of AI".into(),
                voice: "alloy",
                speed: 1.0,
                format: AudioFormat::Mp3,
                instructions: None,
            }
        );
        assert_eq!((plan.credits(), plan.estimated_seconds()), (1, 2));
        let offering = offering();
        assert_eq!((offering.base_credits, offering.quality), (1, 80));
        let names: Vec<String> = offering.options.into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["model", "voice", "speed", "format", "instructions", "emotion"]);
    }

    #[test]
    fn voices_come_from_the_input_or_the_option_and_must_fit_the_model() {
        let voice = |input: Option<&str>, options: &[(&str, Value)]| Plan::of(&request("hi", input, options));
        assert_eq!(voice(Some(" Coral "), &[]).unwrap().voice, "coral");
        assert_eq!(voice(None, &[(VOICE, text("marin"))]).unwrap().voice, "marin");
        assert_eq!(voice(Some("sage"), &[(VOICE, text("sage"))]).unwrap().voice, "sage");
        assert_eq!(voice(None, &[(MODEL, text("tts-1"))]).unwrap().voice, "alloy");
        // (input.voice, options, the exact message)
        type Case<'a> = (Option<&'a str>, Vec<(&'a str, Value)>, &'a str);
        let cases: [Case; 4] = [
            (
                Some("coral"),
                vec![(VOICE, text("echo"))],
                "input.voice `coral` and option `voice` `echo` of provider `openai-tts` disagree: give one of them",
            ),
            (
                None,
                vec![(MODEL, text("tts-1-hd")), (VOICE, text("ballad"))],
                "option `voice` of provider `openai-tts` must be one of alloy, ash, coral, echo, fable, onyx, nova, \
                 sage, shimmer with model `tts-1-hd`; got ballad",
            ),
            (
                Some("rachel"),
                vec![],
                "input.voice of provider `openai-tts` must be one of alloy, ash, ballad, coral, echo, fable, onyx, \
                 nova, sage, shimmer, verse, marin, cedar with model `gpt-4o-mini-tts`; got rachel",
            ),
            (
                Some("cedar"),
                vec![(MODEL, text("tts-1"))],
                "input.voice of provider `openai-tts` must be one of alloy, ash, coral, echo, fable, onyx, nova, sage, \
                 shimmer with model `tts-1`; got cedar",
            ),
        ];
        for (input, options, message) in cases {
            let failure = voice(input, &options).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (FailureCode::InvalidInput, message));
        }
    }

    #[test]
    fn instructions_and_emotion_steer_gpt_4o_mini_tts_only() {
        let options = [(INSTRUCTIONS, text("Speak like a radio host.")), (EMOTION, text("excited"))];
        let plan = Plan::of(&request("Hello!", None, &options)).unwrap();
        assert_eq!(plan.instructions.as_deref(), Some("Speak like a radio host.\nEmotion: excited."));
        let only_emotion = Plan::of(&request("Hello!", None, &[(EMOTION, text("calm."))])).unwrap();
        assert_eq!(only_emotion.instructions.as_deref(), Some("Emotion: calm."));
        let refused =
            Plan::of(&request("Hello!", None, &[(MODEL, text("tts-1")), (EMOTION, text("sad"))])).unwrap_err();
        assert_eq!(
            refused.message,
            "option `emotion` of provider `openai-tts` needs model gpt-4o-mini-tts; model `tts-1` cannot be steered"
        );
        let refused = Plan::of(&request("Hello!", None, &[(MODEL, text("tts-1-hd")), (INSTRUCTIONS, text("whisper"))]))
            .unwrap_err();
        assert!(
            refused.message.starts_with("option `instructions` of provider `openai-tts` needs model"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn prices_follow_characters_or_estimated_minutes() {
        let price = |text: &str, options: &[(&str, Value)]| Plan::of(&request(text, None, options)).unwrap().credits();
        let page = "a".repeat(4000);
        assert_eq!(price(&page, &[(MODEL, text("tts-1"))]), 6, "4000 × $15/1M = $0.06");
        assert_eq!(price(&page, &[(MODEL, text("tts-1-hd"))]), 12, "4000 × $30/1M = $0.12");
        assert_eq!(price("short", &[(MODEL, text("tts-1"))]), 1, "at least a credit");
        // 4000 units ≈ 4.44 min × $0.015 = 6.67 cents (+ 1000 tokens × $0.60/1M).
        assert_eq!(price(&page, &[]), 7);
        assert_eq!(price(&page, &[(SPEED, Value::Number(0.5))]), 14, "half speed, twice the audio");
        assert_eq!(price(&page, &[(SPEED, Value::Number(2.0))]), 7, "faster speech is not assumed cheaper");
        // 1000 CJK characters take as long as 4000 Latin ones.
        assert_eq!(price(&"猫".repeat(1000), &[]), 7);
        let minutes = Plan::of(&request(&page, None, &[])).unwrap();
        assert_eq!(minutes.estimated_seconds(), 19);
    }

    #[test]
    fn texts_are_required_and_bounded() {
        let empty = Plan::of(&request(" ", None, &[])).unwrap_err();
        assert_eq!(empty.message, "provider `openai-tts` needs input.text (the text to speak)");
        let long = Plan::of(&request(&"a".repeat(MAX_INPUT_CHARS + 1), None, &[])).unwrap_err();
        assert_eq!(long.message, "input.text is longer than OpenAI's limit of 4096 characters");
        assert!(Plan::of(&request(&"a".repeat(MAX_INPUT_CHARS), None, &[])).is_ok());
    }

    #[test]
    fn formats_map_to_response_formats() {
        let plan = Plan::of(&request("x", None, &[(FORMAT, text("flac")), (SPEED, Value::Number(1.25))])).unwrap();
        assert_eq!((plan.format, plan.speed), (AudioFormat::Flac, 1.25));
    }
}
