//! What Hedra's avatar models can make from a request, and what it costs.
//!
//! Owns the `hedra` offering (options, allowed values, defaults) and
//! [`Plan`]: a validated request resolved into what Hedra is asked for.
//! The host has already checked each option on its own and that
//! `input.image` (the portrait) is there; [`Plan::of`] checks what depends
//! on several of them:
//!
//! | speech | needs | cannot have | length (and price) |
//! |---|---|---|---|
//! | `input.audio` (WAV, MP3, M4A, OGG, FLAC, WebM) | option `duration` unless a WAV or MP3 sent inline | `input.voice`, `speed` | `duration`, else the audio's |
//! | `input.text`, read by Hedra's text-to-speech | `input.voice` (a Hedra voice id) | `input.audio` | `duration`, else the script's estimate |
//!
//! Prices follow Hedra's per-second list price (see [`Plan::credits`] and
//! the README); lengths come from the SDK's `audio` module (the script's
//! estimate, or the WAV or MP3 read from its bytes, rounded up to the
//! millisecond: Hedra bills what plays).
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

use doitong_plugin_sdk::audio::{self, AudioFormat, AudioLength};

use crate::ID;

/// Which Hedra model animates the portrait.
pub const MODEL: &str = "model";
/// Output aspect ratio.
pub const ASPECT_RATIO: &str = "aspectRatio";
/// Output resolution.
pub const RESOLUTION: &str = "resolution";
/// Scene and motion description (Hedra's `text_prompt`).
pub const PROMPT: &str = "prompt";
/// Hedra's `enhance_prompt`.
pub const ENHANCE_PROMPT: &str = "enhancePrompt";
/// Seconds of video: the audio is trimmed or padded with silence to it.
pub const DURATION: &str = "duration";
/// Text-to-speech speed.
pub const SPEED: &str = "speed";

/// Hedra's longest avatar video, in seconds.
pub const MAX_SECONDS: i64 = 600;
/// The scene description sent when the user gives none: Hedra requires one.
pub const DEFAULT_PROMPT: &str =
    "A person speaking naturally to the camera, with natural expressions and head movement.";
/// Quality rank of the offering.
const QUALITY: u8 = 80;
/// Hedra's API price of a second of avatar video, in 1/1400 of a US cent:
/// 7 Hedra credits a second at 140 credits to the dollar is 5 cents.
const SECOND_UNITS: u64 = 7 * 1_000;
/// Hedra's text-to-speech price per character, in 1/1400 of a US cent:
/// 15 Hedra credits per 1000 characters.
const TTS_CHAR_UNITS: u64 = 15;
/// 1/1400 of a cent: the unit both prices above are whole in.
const UNITS_PER_CENT: u64 = 1_400;

/// A Hedra avatar model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Character-3, Hedra's omnimodal character model (the default).
    Character3,
    /// Hedra Avatar: long-form talking heads, up to 10 minutes.
    Avatar,
}

impl Model {
    /// Every model, in the order the option lists them.
    pub const ALL: [Model; 2] = [Model::Character3, Model::Avatar];

    /// The `model` option value.
    pub fn name(self) -> &'static str {
        match self {
            Model::Character3 => "character-3",
            Model::Avatar => "avatar",
        }
    }

    /// Hedra's `ai_model_id` (see the README: environment-specific UUIDs
    /// from Hedra's own documentation and starter).
    pub fn vendor_id(self) -> &'static str {
        match self {
            Model::Character3 => "d1dd37a3-e39a-4854-a298-6510289f9cf2",
            Model::Avatar => "26f0fc66-152b-40ab-abed-76c43df99bc8",
        }
    }

    fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The model a request without `model` gets.
    pub const DEFAULT: Model = Model::Character3;

    /// The settings name under which the operator replaces this model's
    /// `ai_model_id`: `hedra` (setting `model.hedra`) for the default model,
    /// `hedra.avatar` (`model.hedra.avatar`) for the other.
    pub fn setting_key(self) -> String {
        if self == Model::DEFAULT { crate::ID.to_string() } else { format!("{}.{}", crate::ID, self.name()) }
    }

    /// Hedra's `ai_model_id` as sent: the operator's replacement when set
    /// (Hedra's ids are environment-specific), else [`vendor_id`](Self::vendor_id).
    pub fn resolved_id(self) -> String {
        model_id(&self.setting_key(), self.vendor_id())
    }
}

/// Aspect ratios, as Hedra spells them.
pub const ASPECT_RATIOS: [&str; 3] = ["16:9", "9:16", "1:1"];
/// Resolutions, as Hedra spells them.
pub const RESOLUTIONS: [&str; 2] = ["540p", "720p"];

/// A portrait's image format: PNG, JPEG or WebP, as the SDK reads them.
pub use doitong_plugin_sdk::image::ImageFormat;

/// What the portrait says.
#[derive(Clone, Debug, PartialEq)]
pub enum Speech {
    /// `input.audio`, uploaded as it is.
    Audio,
    /// `input.text` read by Hedra's text-to-speech in `voice`.
    Tts {
        /// Hedra's `voice_id`.
        voice: String,
        /// Hedra's `speed`, when given.
        speed: Option<f64>,
    },
}

/// A request resolved against Hedra's rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The model.
    pub model: Model,
    /// Audio or text-to-speech.
    pub speech: Speech,
    /// Output aspect ratio.
    pub aspect_ratio: &'static str,
    /// Output resolution.
    pub resolution: &'static str,
    /// Scene and motion description.
    pub prompt: String,
    /// Hedra's `enhance_prompt`.
    pub enhance_prompt: bool,
    /// Hedra's `duration_ms`, when `duration` is given.
    pub duration_ms: Option<u32>,
    /// The video's length the price is for, in milliseconds.
    pub priced_ms: u32,
    /// Characters Hedra's text-to-speech reads (0 for audio).
    pub tts_chars: u32,
}

/// The `hedra` offering.
pub fn offering() -> Offering {
    let models: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
    let reference = reference_plan();
    let mut offering = OfferingBuilder::new(ID, "Hedra Lip Sync", &[MediaKind::Avatar])
        .description(
            "Hedra's character animation: a portrait (input.image) comes to life speaking input.audio, or \
             input.text read by a Hedra voice, with audio-synced lips, expressions and head motion. \
             Character-3 by default, or Hedra Avatar for long talking heads. Priced per second of video.",
        )
        .accepts(&[InputField::Image, InputField::Audio, InputField::Text, InputField::Voice])
        .requires(&[InputField::Image])
        .needs_bytes(&[InputField::Image, InputField::Audio])
        .features(&[
            "character animation",
            "audio-visual sync",
            "portrait-driven",
            "expression control (prompt)",
            "text to speech with Hedra voices",
            "up to 10 minutes",
        ])
        .limitations(&[
            "input.image (a portrait: PNG, JPEG or WebP) is required",
            "input.voice is a Hedra voice id (a UUID from Hedra's GET /voices)",
            "audio by URL, or other than WAV/MP3, needs option duration (seconds), which sets the price",
            "at most 10 minutes of video",
            "no cancellation at Hedra: cancelling stops the wait, Hedra still bills the video",
        ])
        .option(
            OptionBuilder::text(
                MODEL,
                "Hedra model: character-3 (expressive characters) or avatar (long talking heads); the operator's \
                 setting model.hedra replaces the default's id",
            )
            .allowed(&models)
            .default_text(Model::Character3.name()),
        )
        .option(
            OptionBuilder::text(ASPECT_RATIO, "Output aspect ratio")
                .allowed(&ASPECT_RATIOS)
                .default_text(ASPECT_RATIOS[0]),
        )
        .option(OptionBuilder::text(RESOLUTION, "Output resolution").allowed(&RESOLUTIONS).default_text(RESOLUTIONS[1]))
        .option(
            OptionBuilder::text(PROMPT, "The scene, expression and motion to give the character")
                .default_text(DEFAULT_PROMPT),
        )
        .option(OptionBuilder::flag(ENHANCE_PROMPT, "Let Hedra rewrite the prompt").default_flag(false))
        .option(
            OptionBuilder::integer(
                DURATION,
                "Seconds of video; the audio is trimmed or padded with silence to it. Sets the price",
            )
            .range(1.0, MAX_SECONDS as f64),
        )
        .option(
            OptionBuilder::number(SPEED, "Speech speed of Hedra's voice for input.text; Hedra's default is 1")
                .range(0.7, 1.2),
        )
        .quality(QUALITY)
        .estimated_seconds(reference.estimated_seconds())
        .build();
    offering.base_credits = reference.credits();
    offering
}

/// What `pricing` shows: 10 seconds of audio with default options.
fn reference_plan() -> Plan {
    Plan {
        model: Model::Character3,
        speech: Speech::Audio,
        aspect_ratio: ASPECT_RATIOS[0],
        resolution: RESOLUTIONS[1],
        prompt: DEFAULT_PROMPT.to_string(),
        enhance_prompt: false,
        duration_ms: None,
        priced_ms: 10_000,
        tts_chars: 0,
    }
}

impl Plan {
    /// Resolve and check `request`; whatever Hedra cannot do is an
    /// `invalid-input` failure naming the option or input and what is
    /// allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let input = &request.input;
        if let Some(image) = &input.image {
            image_format(image)?;
        }
        let duration_ms = options.integer(DURATION).map(|s| (s.clamp(1, MAX_SECONDS) * 1000) as u32);
        let speed = options.number(SPEED);
        let text = input.text.as_deref().filter(|t| !t.trim().is_empty());
        let voice = input.voice.as_deref().map(str::trim).filter(|v| !v.is_empty());
        let (speech, natural_ms, tts_chars) = match (text, &input.audio) {
            (Some(_), Some(_)) => {
                return Err(failure::invalid_input(format!(
                    "provider `{ID}` takes input.audio (speech to lip-sync) or input.text (a script for a Hedra \
                     voice), not both; describe the scene with option `{PROMPT}`"
                )));
            }
            (None, None) => {
                return Err(failure::invalid_input(format!(
                    "provider `{ID}` needs input.audio (speech to lip-sync) or input.text with input.voice (a script \
                     for a Hedra voice)"
                )));
            }
            (None, Some(audio)) => {
                if voice.is_some() {
                    return Err(failure::invalid_input(format!(
                        "input.voice reads input.text; provider `{ID}` lip-syncs input.audio as it is"
                    )));
                }
                if speed.is_some() {
                    return Err(failure::invalid_input(format!(
                        "option `{SPEED}` of provider `{ID}` sets the speed of Hedra's voice for input.text; it \
                         does not apply to input.audio"
                    )));
                }
                (Speech::Audio, audio_ms(audio, duration_ms)?, 0)
            }
            (Some(script), None) => {
                let voice = voice.ok_or_else(|| {
                    failure::invalid_input(format!(
                        "input.voice is required by provider `{ID}` to read input.text: a Hedra voice id (a UUID \
                         from Hedra's GET /voices)"
                    ))
                })?;
                if !is_uuid(voice) {
                    return Err(failure::invalid_input(format!(
                        "input.voice must be a Hedra voice id (a UUID from Hedra's GET /voices); got {voice:?}"
                    )));
                }
                let estimate = audio::speech_ms(script, speed.unwrap_or(1.0));
                let chars = script.chars().count() as u32;
                (Speech::Tts { voice: voice.to_string(), speed }, estimate, chars)
            }
        };
        let priced_ms = duration_ms.unwrap_or(natural_ms);
        if i64::from(priced_ms) > MAX_SECONDS * 1000 {
            let what = if speech == Speech::Audio { "input.audio" } else { "input.text read aloud" };
            return Err(failure::invalid_input(format!(
                "{what} lasts about {:.0} s; Hedra makes at most {MAX_SECONDS} s of video (option `{DURATION}` \
                 trims it)",
                f64::from(priced_ms) / 1000.0
            )));
        }
        let prompt = options.text(PROMPT).map(str::trim).filter(|p| !p.is_empty()).unwrap_or(DEFAULT_PROMPT);
        Ok(Plan {
            model: options.text(MODEL).and_then(Model::from_name).unwrap_or(Model::Character3),
            speech,
            aspect_ratio: options
                .text(ASPECT_RATIO)
                .and_then(|a| ASPECT_RATIOS.into_iter().find(|r| *r == a))
                .unwrap_or(ASPECT_RATIOS[0]),
            resolution: options
                .text(RESOLUTION)
                .and_then(|r| RESOLUTIONS.into_iter().find(|x| *x == r))
                .unwrap_or(RESOLUTIONS[1]),
            prompt: prompt.to_string(),
            enhance_prompt: options.flag(ENHANCE_PROMPT).unwrap_or(false),
            duration_ms,
            priced_ms,
            tts_chars,
        })
    }

    /// Credits: Hedra's per-second price of the video, plus its
    /// text-to-speech per character, in cents, rounded up.
    pub fn credits(&self) -> u32 {
        let units = u64::from(self.priced_ms) * SECOND_UNITS / 1_000 + u64::from(self.tts_chars) * TTS_CHAR_UNITS;
        units.div_ceil(UNITS_PER_CENT).clamp(1, u64::from(u32::MAX)) as u32
    }

    /// Typical seconds to the result: a minute in the queue and about three
    /// seconds of rendering per second of video.
    pub fn estimated_seconds(&self) -> u32 {
        60 + 3 * self.priced_ms.div_ceil(1000)
    }
}

/// The portrait's format from its bytes. Before a URL's bytes are here,
/// the type its name suggests is checked, so an obvious GIF is refused at
/// once; the bytes decide once the host has fetched them.
pub fn image_format(image: &Media) -> Result<Option<ImageFormat>, Failure> {
    let found = match image.bytes.as_deref() {
        Some(bytes) => ImageFormat::sniff(bytes).map(Some),
        None => match image.mime.as_deref() {
            None | Some("image/png" | "image/jpeg" | "image/jpg" | "image/webp") => Some(None),
            Some(_) => None,
        },
    };
    found.ok_or_else(|| {
        failure::invalid_input(format!(
            "input.image: Hedra animates PNG, JPEG or WebP portraits (got {})",
            image.mime.as_deref().unwrap_or("an unrecognised file")
        ))
    })
}

/// The audio's format from its bytes (or, for a URL not fetched yet, from
/// its name); a format Hedra does not take is refused.
pub fn audio_format(audio: &Media) -> Result<Option<AudioFormat>, Failure> {
    let found = match audio.bytes.as_deref() {
        Some(bytes) => AudioFormat::sniff(bytes),
        None => match audio.mime.as_deref() {
            None => return Ok(None),
            Some(mime) => AudioFormat::from_mime(mime),
        },
    };
    found.map(Some).ok_or_else(|| {
        failure::invalid_input(format!(
            "input.audio: Hedra lip-syncs WAV, MP3, M4A, OGG, FLAC or WebM audio (got {})",
            audio.mime.as_deref().unwrap_or("an unrecognised file")
        ))
    })
}

/// The audio's natural length: `duration` when given (Hedra trims or
/// pads to it), else read from WAV or MP3 bytes.
fn audio_ms(audio: &Media, duration_ms: Option<u32>) -> Result<u32, Failure> {
    let format = audio_format(audio)?;
    if let Some(ms) = duration_ms {
        return Ok(ms);
    }
    let measured = audio.bytes.as_deref().and_then(measured_ms);
    measured.ok_or_else(|| {
        let why = match (audio.url.is_empty(), format) {
            (false, _) => "it is given by URL".to_string(),
            (true, Some(format)) => format!("the length of {} audio is not read here", format.mime()),
            (true, None) => "its length could not be read".to_string(),
        };
        failure::invalid_input(format!(
            "input.audio needs option `{DURATION}` (seconds of video, which set the price): {why}; WAV and MP3 \
             sent as data: URIs are measured"
        ))
    })
}

/// The length of WAV or MP3 bytes, rounded up to the millisecond; other
/// formats are not measured (they need `duration`).
fn measured_ms(bytes: &[u8]) -> Option<u32> {
    match AudioFormat::sniff(bytes)? {
        format @ (AudioFormat::Wav | AudioFormat::Mp3) => format.length(bytes).and_then(AudioLength::ms_ceil),
        _ => None,
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `frames` MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz (417 bytes,
    /// 1152 samples each) after an ID3v2 tag of 20 bytes.
    fn mp3(frames: usize) -> Vec<u8> {
        let frame = [[0xFF, 0xFB, 0x90, 0x64].as_slice(), &[0; 413]].concat();
        [b"ID3\x04\0\0\0\0\0\x14".as_slice(), &[0; 20], &frame.repeat(frames)].concat()
    }

    /// A WAV of `ms` milliseconds of 16-bit mono silence at `rate`.
    fn wav(rate: u32, ms: u32) -> Vec<u8> {
        audio::wav_from_pcm16(&vec![0; (u64::from(rate) * 2 * u64::from(ms) / 1000) as usize], rate, 1)
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n rest";
    const VOICE: &str = "f0e9d8c7-b6a5-4f43-9210-fedcba987654";

    fn inline(mime: &str, bytes: Vec<u8>) -> Media {
        Media { url: String::new(), mime: Some(mime.into()), bytes: Some(bytes) }
    }

    fn linked(url: &str, mime: &str) -> Media {
        Media { url: url.into(), mime: Some(mime.into()), bytes: None }
    }

    fn input(text: Option<&str>, audio: Option<Media>, voice: Option<&str>) -> JobInput {
        JobInput {
            text: text.map(str::to_string),
            image: Some(inline("image/png", PNG.to_vec())),
            audio,
            video: None,
            voice: voice.map(str::to_string),
        }
    }

    fn request(input: JobInput, options: &[(&str, Value)]) -> JobRequest {
        // As the host sends them: declared defaults filled in, spec order.
        let options = spec::with_defaults(&offering(), options);
        JobRequest { offering: ID.into(), kind: MediaKind::Avatar, input, options }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    fn refused(input: JobInput, options: &[(&str, Value)]) -> String {
        let failure = Plan::of(&request(input, options)).unwrap_err();
        assert_eq!(failure.code, FailureCode::InvalidInput, "{}", failure.message);
        failure.message
    }

    #[test]
    fn a_portrait_lip_syncing_inline_audio_with_defaults() {
        let plan = Plan::of(&request(input(None, Some(inline("audio/wav", wav(16_000, 4_200))), None), &[])).unwrap();
        assert_eq!(plan, Plan { priced_ms: 4_200, ..reference_plan() });
        // 4.2 s × 5 cents = 21 cents.
        assert_eq!((plan.credits(), plan.estimated_seconds()), (21, 75));
        let offering = offering();
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (50, 90, 80));
        assert_eq!(offering.needs_bytes, [InputField::Image, InputField::Audio]);
        assert_eq!(offering.requires, [InputField::Image]);
    }

    #[test]
    fn duration_trims_and_prices_any_audio() {
        let options = [(DURATION, Value::Integer(12)), (MODEL, text("avatar")), (RESOLUTION, text("540p"))];
        let by_url =
            Plan::of(&request(input(None, Some(linked("https://a.example/s.m4a", "audio/mp4")), None), &options))
                .unwrap();
        assert_eq!(
            (by_url.model, by_url.duration_ms, by_url.priced_ms, by_url.credits()),
            (Model::Avatar, Some(12_000), 12_000, 60)
        );
        assert_eq!(by_url.resolution, "540p");
        let ogg =
            Plan::of(&request(input(None, Some(inline("audio/ogg", b"OggS....".to_vec())), None), &options)).unwrap();
        assert_eq!(ogg.priced_ms, 12_000);
        let trimmed = Plan::of(&request(
            input(None, Some(inline("audio/mpeg", mp3(100))), None),
            &[(DURATION, Value::Integer(1))],
        ))
        .unwrap();
        assert_eq!((trimmed.duration_ms, trimmed.credits()), (Some(1_000), 5));
    }

    #[test]
    fn text_is_read_by_a_hedra_voice_and_priced_with_its_speech() {
        let script = "Hello, welcome to our platform! We are glad you are here.";
        let options = [(SPEED, Value::Number(0.8)), (PROMPT, text("smiling, in a bright studio"))];
        let plan = Plan::of(&request(input(Some(script), None, Some(VOICE)), &options)).unwrap();
        assert_eq!(plan.speech, Speech::Tts { voice: VOICE.into(), speed: Some(0.8) });
        assert_eq!(plan.prompt, "smiling, in a bright studio");
        // 11 words at 0.8 speed = 5.5 s: 27.5 cents, plus 57 characters of speech (0.61 cents).
        assert_eq!((plan.priced_ms, plan.tts_chars, plan.credits()), (5_500, 57, 29));
        let fixed =
            Plan::of(&request(input(Some(script), None, Some(VOICE)), &[(DURATION, Value::Integer(8))])).unwrap();
        assert_eq!((fixed.duration_ms, fixed.priced_ms, fixed.credits()), (Some(8_000), 8_000, 41));
    }

    #[test]
    fn impossible_requests_name_what_is_allowed() {
        let wav_audio = || Some(inline("audio/wav", wav(8_000, 1_000)));
        // (input, options, the exact message)
        type Case<'a> = (JobInput, Vec<(&'a str, Value)>, &'a str);
        let cases: Vec<Case> = vec![
            (
                input(None, None, None),
                vec![],
                "provider `hedra` needs input.audio (speech to lip-sync) or input.text with input.voice (a script \
                 for a Hedra voice)",
            ),
            (
                input(Some("hi"), wav_audio(), None),
                vec![],
                "provider `hedra` takes input.audio (speech to lip-sync) or input.text (a script for a Hedra voice), \
                 not both; describe the scene with option `prompt`",
            ),
            (
                input(Some("hi"), None, None),
                vec![],
                "input.voice is required by provider `hedra` to read input.text: a Hedra voice id (a UUID from \
                 Hedra's GET /voices)",
            ),
            (
                input(Some("hi"), None, Some("professional_female")),
                vec![],
                "input.voice must be a Hedra voice id (a UUID from Hedra's GET /voices); got \"professional_female\"",
            ),
            (
                input(None, wav_audio(), Some(VOICE)),
                vec![],
                "input.voice reads input.text; provider `hedra` lip-syncs input.audio as it is",
            ),
            (
                input(None, wav_audio(), None),
                vec![(SPEED, Value::Number(1.1))],
                "option `speed` of provider `hedra` sets the speed of Hedra's voice for input.text; it does not \
                 apply to input.audio",
            ),
            (
                input(None, Some(linked("https://a.example/line.mp3", "audio/mpeg")), None),
                vec![],
                "input.audio needs option `duration` (seconds of video, which set the price): it is given by URL; \
                 WAV and MP3 sent as data: URIs are measured",
            ),
            (
                input(None, Some(inline("audio/ogg", b"OggS....".to_vec())), None),
                vec![],
                "input.audio needs option `duration` (seconds of video, which set the price): the length of \
                 audio/ogg audio is not read here; WAV and MP3 sent as data: URIs are measured",
            ),
            (
                input(None, Some(inline("audio/x-unknown", b"not audio".to_vec())), None),
                vec![(DURATION, Value::Integer(3))],
                "input.audio: Hedra lip-syncs WAV, MP3, M4A, OGG, FLAC or WebM audio (got audio/x-unknown)",
            ),
            (
                JobInput { image: Some(inline("image/gif", b"GIF89a".to_vec())), ..input(None, wav_audio(), None) },
                vec![],
                "input.image: Hedra animates PNG, JPEG or WebP portraits (got image/gif)",
            ),
            (
                JobInput {
                    image: Some(linked("https://a.example/face.bmp", "image/bmp")),
                    ..input(None, wav_audio(), None)
                },
                vec![],
                "input.image: Hedra animates PNG, JPEG or WebP portraits (got image/bmp)",
            ),
            (
                input(None, Some(inline("audio/wav", wav(100, 601_000))), None),
                vec![],
                "input.audio lasts about 601 s; Hedra makes at most 600 s of video (option `duration` trims it)",
            ),
        ];
        for (input, options, message) in cases {
            assert_eq!(refused(input, &options), message);
        }
    }

    #[test]
    fn formats_and_ids() {
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xDB]).map(ImageFormat::extension), Some("jpg"));
        assert_eq!(measured_ms(&mp3(100)), Some(2_613), "2612.2 ms, rounded up");
        assert_eq!(measured_ms(b"OggS\x00\x02rest"), None, "Ogg is taken, but not measured");
        assert!(is_uuid(VOICE) && is_uuid(&VOICE.to_uppercase()));
        assert!(!is_uuid("f0e9d8c7b6a54f439210fedcba987654") && !is_uuid("f0e9d8c7-b6a5-4f43-9210-fedcba98765g"));
        assert_eq!(
            audio_format(&linked("https://a.example/x", "application/octet-stream")).unwrap_err().code,
            FailureCode::InvalidInput
        );
        assert_eq!(audio_format(&Media { url: "https://a.example/x".into(), mime: None, bytes: None }), Ok(None));
    }

    #[test]
    fn settings_replace_the_default_model_by_offering_and_the_other_by_name() {
        assert_eq!(Model::DEFAULT.setting_key(), "hedra");
        assert_eq!(Model::Avatar.setting_key(), "hedra.avatar");
    }
}
