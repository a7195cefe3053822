//! What HeyGen's video API (v3) can make from a request, and what it costs.
//!
//! Owns the `heygen` offering (options, allowed values, defaults) and
//! [`Plan`]: a validated request resolved into what HeyGen is asked for.
//! The host has already checked each option on its own; [`Plan::of`]
//! checks what depends on several of them, and on the inputs:
//!
//! | who speaks | from | needs | cannot have |
//! |---|---|---|---|
//! | a HeyGen avatar (option `avatarId`) | `input.text` | nothing more (`input.voice` optional: the avatar's own voice otherwise) | `input.audio` too |
//! | a photo (`input.image`, PNG or JPEG) | `input.text` | `input.voice` | `engine: avatar-v` |
//! | either | `input.audio` (MP3 or WAV) | option `duration` when the audio is a URL | `input.voice`, `speed`, `pitch`, `locale` |
//!
//! Prices follow HeyGen's per-second list price (see [`rate`] and the
//! README); the length comes from the SDK's `audio` module (the script's
//! estimate, or the WAV or MP3 read from its bytes, rounded up to the
//! millisecond: HeyGen bills what plays).
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

use doitong_plugin_sdk::audio::{self, AudioFormat, AudioLength};
use doitong_plugin_sdk::image::ImageFormat;

use crate::ID;

/// HeyGen avatar or look id.
pub const AVATAR_ID: &str = "avatarId";
/// Rendering engine for avatars.
pub const ENGINE: &str = "engine";
/// Output resolution.
pub const RESOLUTION: &str = "resolution";
/// Output aspect ratio.
pub const ASPECT_RATIO: &str = "aspectRatio";
/// A colour or an image behind the avatar.
pub const BACKGROUND: &str = "background";
/// HeyGen's `remove_background`.
pub const REMOVE_BACKGROUND: &str = "removeBackground";
/// Body motion and hand gestures (HeyGen's `motion_prompt`).
pub const GESTURE: &str = "gesture";
/// HeyGen's `expressiveness`.
pub const EXPRESSIVENESS: &str = "expressiveness";
/// Voice speed (`voice_settings.speed`).
pub const SPEED: &str = "speed";
/// Voice pitch in semitones (`voice_settings.pitch`).
pub const PITCH: &str = "pitch";
/// Voice locale (`voice_settings.locale`).
pub const LOCALE: &str = "locale";
/// Seconds of audio given by URL, which the price follows.
pub const DURATION: &str = "duration";

/// HeyGen's script limit, in characters.
pub const MAX_SCRIPT_CHARS: usize = 5_000;
/// HeyGen's audio limit, and so the longest video priced here.
pub const MAX_AUDIO_SECONDS: i64 = 600;
/// Longest `gesture` description sent as a motion prompt.
pub const MAX_GESTURE_CHARS: usize = 1_000;
/// Slack when the audio's measured length is checked against `duration`:
/// encoders round, users round.
const DURATION_SLACK_MS: u32 = 500;
/// Quality rank of the offering.
const QUALITY: u8 = 85;

/// HeyGen's rendering engine for avatars (`engine.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `avatar_iv`, HeyGen's default for the v3 API.
    AvatarIv,
    /// `avatar_v`: higher fidelity, Digital Twins only.
    AvatarV,
}

impl Engine {
    /// Every engine, in the order the option lists them.
    pub const ALL: [Engine; 2] = [Engine::AvatarIv, Engine::AvatarV];

    /// The `engine` option value.
    pub fn name(self) -> &'static str {
        match self {
            Engine::AvatarIv => "avatar-iv",
            Engine::AvatarV => "avatar-v",
        }
    }

    /// HeyGen's `engine.type`.
    pub fn vendor_name(self) -> &'static str {
        match self {
            Engine::AvatarIv => "avatar_iv",
            Engine::AvatarV => "avatar_v",
        }
    }

    fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The engine a request without `engine` gets.
    pub const DEFAULT: Engine = Engine::AvatarIv;

    /// The settings name under which the operator replaces this engine's
    /// `engine.type`: `heygen` (setting `model.heygen`) for the default
    /// engine, `heygen.avatar-v` (`model.heygen.avatar-v`) for the other.
    pub fn setting_key(self) -> String {
        if self == Engine::DEFAULT { crate::ID.to_string() } else { format!("{}.{}", crate::ID, self.name()) }
    }

    /// HeyGen's `engine.type` as sent: the operator's replacement when set,
    /// else [`vendor_name`](Self::vendor_name).
    pub fn resolved_name(self) -> String {
        model_id(&self.setting_key(), self.vendor_name())
    }
}

/// Output resolution; HeyGen spells them the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// 720p.
    P720,
    /// 1080p, the default.
    P1080,
    /// 4K.
    K4,
}

impl Resolution {
    /// Every resolution, in the order the option lists them.
    pub const ALL: [Resolution; 3] = [Resolution::P720, Resolution::P1080, Resolution::K4];

    /// The option value, which is also HeyGen's.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::P720 => "720p",
            Resolution::P1080 => "1080p",
            Resolution::K4 => "4k",
        }
    }

    fn from_name(name: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// Aspect ratios HeyGen renders with a known frame (its `auto` follows the
/// source and is not offered).
pub const ASPECT_RATIOS: [&str; 5] = ["16:9", "9:16", "1:1", "4:5", "5:4"];

/// HeyGen's `expressiveness` (photo avatars, Avatar IV).
pub const EXPRESSIVENESS_LEVELS: [&str; 3] = ["low", "medium", "high"];

/// `gesture` presets and the motion prompts they stand for. Any other
/// value is sent to HeyGen as a motion prompt of its own.
pub const GESTURES: [(&str, &str); 5] = [
    ("friendly", "Friendly and warm: relaxed posture, open-palm hand gestures, gentle nods and a natural smile."),
    (
        "professional",
        "Professional presenter: upright posture, measured hand gestures that underline key points, steady eye contact.",
    ),
    ("energetic", "Energetic and upbeat: lively hand gestures, animated facial expressions and dynamic head movement."),
    ("calm", "Calm and composed: slow, minimal gestures, relaxed shoulders and a steady gaze."),
    ("explaining", "Explaining: open hands moving to illustrate each point, occasional nods, an engaged expression."),
];

/// Who appears in the video.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// A HeyGen avatar or look, by id (`type: "avatar"`).
    Avatar(String),
    /// The photo in `input.image` (`type: "image"`).
    Image,
}

/// What the subject says.
#[derive(Clone, Debug, PartialEq)]
pub enum Speech {
    /// `input.text` read by a HeyGen voice (`input.voice`, or the avatar's
    /// own when absent).
    Script {
        /// HeyGen's `voice_id`.
        voice: Option<String>,
    },
    /// `input.audio`, lip-synced as it is.
    Audio {
        /// Its container, for the upload.
        format: AudioFormat,
    },
}

/// What goes behind the subject.
#[derive(Clone, Debug, PartialEq)]
pub enum Background {
    /// A colour, normalised to `#rrggbb`.
    Color(String),
    /// An image by https URL.
    Image(String),
}

/// HeyGen's `voice_settings`, each only when the user set it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VoiceSettings {
    /// 0.5–1.5.
    pub speed: Option<f64>,
    /// Semitones, -50–50.
    pub pitch: Option<f64>,
    /// E.g. `en-US`.
    pub locale: Option<String>,
}

impl VoiceSettings {
    /// Whether any setting was given.
    pub fn is_empty(&self) -> bool {
        *self == VoiceSettings::default()
    }
}

/// A request resolved against HeyGen's rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Avatar or photo.
    pub subject: Subject,
    /// Script or audio.
    pub speech: Speech,
    /// Engine (sent for avatars only: the photo mode has none).
    pub engine: Engine,
    /// Output resolution.
    pub resolution: Resolution,
    /// Output aspect ratio.
    pub aspect_ratio: &'static str,
    /// Behind the subject, if set.
    pub background: Option<Background>,
    /// HeyGen's `remove_background`.
    pub remove_background: bool,
    /// HeyGen's `motion_prompt`, from `gesture`.
    pub motion_prompt: Option<String>,
    /// HeyGen's `expressiveness`.
    pub expressiveness: Option<&'static str>,
    /// Voice tuning (scripts only).
    pub voice: VoiceSettings,
    /// The video's length the price is for, in milliseconds.
    pub duration_ms: u32,
}

/// The `heygen` offering.
pub fn offering() -> Offering {
    let engines: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
    let resolutions: Vec<&str> = Resolution::ALL.iter().map(|r| r.name()).collect();
    let presets: Vec<&str> = GESTURES.iter().map(|(name, _)| *name).collect();
    let reference = reference_plan();
    let mut offering = OfferingBuilder::new(ID, "HeyGen Avatar Video", &[MediaKind::Avatar])
        .description(
            "HeyGen talking avatars (API v3, Avatar IV and Avatar V engines): one of your HeyGen avatars or any \
             portrait photo speaks a script in a HeyGen voice, or lip-syncs your own audio. Priced per second \
             of video.",
        )
        .accepts(&[InputField::Text, InputField::Voice, InputField::Audio, InputField::Image])
        .requires(&[])
        .needs_bytes(&[InputField::Audio])
        .features(&[
            "talking avatars",
            "photo to talking video",
            "text to speech or your own audio",
            "lip sync",
            "gesture control (motion prompt)",
            "colour or image backgrounds",
            "up to 4K",
        ])
        .limitations(&[
            "avatarId and input.voice are HeyGen ids from your HeyGen account (GET /v3/avatars/looks, GET /v3/voices)",
            "background is a hex colour or an https image URL; HeyGen has no named scenes",
            "gesture works with photo avatars and input.image, and with video avatars only on engine avatar-v",
            "script at most 5000 characters; audio MP3 or WAV, at most 10 minutes",
            "audio by URL needs option duration (its length in seconds), which sets the price",
            "priced on an estimate of the script's spoken length (150 words a minute)",
            "cancelling deletes the video at HeyGen but refunds nothing: HeyGen bills started renders",
        ])
        .option(OptionBuilder::text(
            AVATAR_ID,
            "HeyGen avatar or look id (GET /v3/avatars/looks); required unless input.image gives a photo",
        ))
        .option(
            OptionBuilder::text(
                ENGINE,
                "HeyGen's rendering engine for avatars; avatar-v is for Digital Twins (the operator's setting \
                 model.heygen replaces the default engine's id)",
            )
            .allowed(&engines)
            .default_text(Engine::AvatarIv.name()),
        )
        .option(
            OptionBuilder::text(RESOLUTION, "Output resolution (4k costs more)")
                .allowed(&resolutions)
                .default_text(Resolution::P1080.name()),
        )
        .option(
            OptionBuilder::text(ASPECT_RATIO, "Output aspect ratio")
                .allowed(&ASPECT_RATIOS)
                .default_text(ASPECT_RATIOS[0]),
        )
        .option(OptionBuilder::text(
            BACKGROUND,
            "A hex colour (#F5F5F5) or an https:// URL of a JPG or PNG image behind the avatar",
        ))
        .option(
            OptionBuilder::flag(
                REMOVE_BACKGROUND,
                "Cut the avatar out of its own background (avatars trained with matting)",
            )
            .default_flag(false),
        )
        .option(OptionBuilder::text(
            GESTURE,
            &format!(
                "Body motion and hand gestures: a preset ({}) or your own description, sent as HeyGen's motion prompt",
                presets.join(", ")
            ),
        ))
        .option(
            OptionBuilder::text(
                EXPRESSIVENESS,
                "Facial expressiveness of photo avatars (Avatar IV); HeyGen's default is low",
            )
            .allowed(&EXPRESSIVENESS_LEVELS),
        )
        .option(OptionBuilder::number(SPEED, "Voice speed for input.text; HeyGen's default is 1").range(0.5, 1.5))
        .option(
            OptionBuilder::number(PITCH, "Voice pitch in semitones for input.text; HeyGen's default is 0")
                .range(-50.0, 50.0),
        )
        .option(OptionBuilder::text(LOCALE, "Accent of a multilingual voice for input.text, e.g. en-US"))
        .option(
            OptionBuilder::integer(DURATION, "Length in seconds of input.audio given by URL; the price follows it")
                .range(1.0, MAX_AUDIO_SECONDS as f64),
        )
        .quality(QUALITY)
        .estimated_seconds(reference.estimated_seconds())
        .build();
    offering.base_credits = reference.credits();
    offering
}

/// What `pricing` shows: a 10-second script on an avatar, default options.
fn reference_plan() -> Plan {
    Plan {
        subject: Subject::Avatar(String::new()),
        speech: Speech::Script { voice: None },
        engine: Engine::AvatarIv,
        resolution: Resolution::P1080,
        aspect_ratio: ASPECT_RATIOS[0],
        background: None,
        remove_background: false,
        motion_prompt: None,
        expressiveness: None,
        voice: VoiceSettings::default(),
        duration_ms: 10_000,
    }
}

/// HeyGen's list price in hundredths of a US cent per second of video:
/// photos are billed as photo avatars; an `avatarId` is billed as a video
/// avatar (Digital Twin or Studio Avatar), since whether it is a photo
/// avatar is only known to HeyGen.
pub fn rate(subject: &Subject, resolution: Resolution) -> u64 {
    match (subject, resolution) {
        (Subject::Image, Resolution::K4) => 667,
        (Subject::Image, _) => 500,
        (Subject::Avatar(_), Resolution::K4) => 833,
        (Subject::Avatar(_), _) => 667,
    }
}

impl Plan {
    /// Resolve and check `request`; whatever HeyGen cannot do is an
    /// `invalid-input` failure naming the option or input and what is
    /// allowed.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        let options = Options::of(request);
        let input = &request.input;
        let subject = subject(options.text(AVATAR_ID), input.image.as_ref())?;
        let voice = VoiceSettings {
            speed: options.number(SPEED),
            pitch: options.number(PITCH),
            locale: options.text(LOCALE).map(locale).transpose()?,
        };
        let declared = options.integer(DURATION);
        let (speech, duration_ms) = speech(input, &subject, &voice, declared)?;
        let engine = options.text(ENGINE).and_then(Engine::from_name).unwrap_or(Engine::AvatarIv);
        if engine == Engine::AvatarV && subject == Subject::Image {
            return Err(failure::invalid_input(format!(
                "option `{ENGINE}` avatar-v of provider `{ID}` applies to HeyGen avatars (option `{AVATAR_ID}`); \
                 a photo from input.image is animated by avatar-iv"
            )));
        }
        let expressiveness =
            options.text(EXPRESSIVENESS).and_then(|e| EXPRESSIVENESS_LEVELS.into_iter().find(|l| *l == e));
        if expressiveness.is_some() && engine == Engine::AvatarV {
            return Err(failure::invalid_input(format!(
                "option `{EXPRESSIVENESS}` of provider `{ID}` is for engine avatar-iv only (HeyGen rejects it with \
                 avatar-v)"
            )));
        }
        Ok(Plan {
            subject,
            speech,
            engine,
            resolution: options.text(RESOLUTION).and_then(Resolution::from_name).unwrap_or(Resolution::P1080),
            aspect_ratio: options
                .text(ASPECT_RATIO)
                .and_then(|a| ASPECT_RATIOS.into_iter().find(|r| *r == a))
                .unwrap_or(ASPECT_RATIOS[0]),
            background: options.text(BACKGROUND).map(background).transpose()?,
            remove_background: options.flag(REMOVE_BACKGROUND).unwrap_or(false),
            motion_prompt: options.text(GESTURE).map(motion_prompt).transpose()?,
            expressiveness,
            voice,
            duration_ms,
        })
    }

    /// Credits: HeyGen's per-second price of the video's length, in cents,
    /// rounded up.
    pub fn credits(&self) -> u32 {
        let hundredths_of_cents_ms = u64::from(self.duration_ms) * rate(&self.subject, self.resolution);
        hundredths_of_cents_ms.div_ceil(100_000).clamp(1, u64::from(u32::MAX)) as u32
    }

    /// Typical seconds to the result: HeyGen takes minutes to start and
    /// about ten seconds of rendering per second of video.
    pub fn estimated_seconds(&self) -> u32 {
        180 + 10 * self.duration_ms.div_ceil(1000)
    }
}

/// The avatar or the photo; exactly one.
fn subject(avatar_id: Option<&str>, image: Option<&Media>) -> Result<Subject, Failure> {
    match (avatar_id.map(str::trim), image) {
        (Some(_), Some(_)) => Err(failure::invalid_input(format!(
            "provider `{ID}` animates either a HeyGen avatar (option `{AVATAR_ID}`) or a photo (input.image), not both"
        ))),
        (None, None) => Err(failure::invalid_input(format!(
            "provider `{ID}` needs option `{AVATAR_ID}` (a HeyGen avatar or look id from your HeyGen account) or \
             input.image (a portrait photo to animate)"
        ))),
        (Some(id), None) => {
            let valid = !id.is_empty() && id.len() <= 128 && !id.chars().any(|c| c.is_whitespace() || c.is_control());
            if valid {
                Ok(Subject::Avatar(id.to_string()))
            } else {
                Err(failure::invalid_input(format!(
                    "option `{AVATAR_ID}` of provider `{ID}` must be a HeyGen avatar or look id (no spaces, at most \
                     128 characters); got {id:?}"
                )))
            }
        }
        (None, Some(image)) => {
            check_image(image)?;
            Ok(Subject::Image)
        }
    }
}

/// HeyGen animates JPG and PNG photos: checked on the bytes when they are
/// at hand, else on the type a URL's name suggests (HeyGen reads the file).
fn check_image(image: &Media) -> Result<(), Failure> {
    let accepted = match image.bytes.as_deref() {
        Some(bytes) => matches!(ImageFormat::sniff(bytes), Some(ImageFormat::Png | ImageFormat::Jpeg)),
        None => image.mime.as_deref().is_none_or(|m| matches!(m, "image/png" | "image/jpeg" | "image/jpg")),
    };
    if accepted {
        return Ok(());
    }
    Err(failure::invalid_input(format!(
        "input.image: HeyGen animates PNG or JPEG photos (got {})",
        image.mime.as_deref().unwrap_or("an unrecognised file")
    )))
}

/// The image's format from its bytes (PNG or JPEG, as [`check_image`]
/// allowed), for the upload.
pub fn image_type(bytes: &[u8]) -> ImageFormat {
    match ImageFormat::sniff(bytes) {
        Some(ImageFormat::Png) => ImageFormat::Png,
        _ => ImageFormat::Jpeg,
    }
}

/// The speech and the video's length.
fn speech(
    input: &JobInput,
    subject: &Subject,
    voice: &VoiceSettings,
    declared_seconds: Option<i64>,
) -> Result<(Speech, u32), Failure> {
    let text = input.text.as_deref().filter(|t| !t.trim().is_empty());
    match (text, input.audio.as_ref()) {
        (Some(_), Some(_)) => Err(failure::invalid_input(format!(
            "provider `{ID}` takes input.text (a script for a HeyGen voice) or input.audio (speech to lip-sync), not both"
        ))),
        (None, None) => Err(failure::invalid_input(format!(
            "provider `{ID}` needs input.text (a script for a HeyGen voice) or input.audio (speech to lip-sync)"
        ))),
        (Some(script), None) => {
            if script.chars().count() > MAX_SCRIPT_CHARS {
                return Err(failure::invalid_input(format!(
                    "input.text is longer than HeyGen's limit of {MAX_SCRIPT_CHARS} characters"
                )));
            }
            if declared_seconds.is_some() {
                return Err(failure::invalid_input(format!(
                    "option `{DURATION}` of provider `{ID}` is for input.audio given by URL; a script's length sets \
                     the video's"
                )));
            }
            let voice_id = input.voice.as_deref().map(str::trim).filter(|v| !v.is_empty());
            if let Some(id) = voice_id.filter(|id| id.len() > 128 || id.chars().any(|c| c.is_whitespace())) {
                return Err(failure::invalid_input(format!(
                    "input.voice must be a HeyGen voice id (GET /v3/voices; no spaces); got {id:?}"
                )));
            }
            if voice_id.is_none() && *subject == Subject::Image {
                return Err(failure::invalid_input(format!(
                    "input.voice is required by provider `{ID}` to read input.text over a photo (a HeyGen voice id \
                     from GET /v3/voices); only avatars have a voice of their own"
                )));
            }
            let length = audio::speech_ms(script, voice.speed.unwrap_or(1.0));
            Ok((Speech::Script { voice: voice_id.map(str::to_string) }, length))
        }
        (None, Some(audio)) => {
            if input.voice.as_deref().is_some_and(|v| !v.trim().is_empty()) {
                return Err(failure::invalid_input(format!(
                    "input.voice reads input.text; provider `{ID}` lip-syncs input.audio as it is"
                )));
            }
            if !voice.is_empty() {
                return Err(failure::invalid_input(format!(
                    "options `{SPEED}`, `{PITCH}` and `{LOCALE}` of provider `{ID}` tune HeyGen's voice for \
                     input.text; they do not apply to input.audio"
                )));
            }
            audio_speech(audio, declared_seconds)
        }
    }
}

/// The format of audio bytes and their length rounded up to the
/// millisecond (HeyGen bills what plays); `None` for bytes that are no
/// audio format the SDK knows.
fn measure(bytes: &[u8]) -> Option<(AudioFormat, Option<u32>)> {
    let format = AudioFormat::sniff(bytes)?;
    Some((format, format.length(bytes).and_then(AudioLength::ms_ceil)))
}

/// The audio's format and the length to price: measured from its bytes,
/// or as declared by `duration` for a URL (checked against the bytes once
/// the host has fetched them, before anything reaches HeyGen).
fn audio_speech(audio: &Media, declared_seconds: Option<i64>) -> Result<(Speech, u32), Failure> {
    let measured = audio.bytes.as_deref().map(measure);
    let format = match measured {
        Some(found) => found.map(|(format, _)| format),
        None => audio.mime.as_deref().and_then(AudioFormat::from_mime),
    };
    let format = match format {
        Some(format @ (AudioFormat::Mp3 | AudioFormat::Wav)) => format,
        None if audio.bytes.is_none() => AudioFormat::Mp3, // a URL without a telling extension: read it at submit
        other => {
            return Err(failure::invalid_input(format!(
                "input.audio: HeyGen lip-syncs MP3 or WAV audio (got {})",
                other.map(AudioFormat::mime).or(audio.mime.as_deref()).unwrap_or("an unrecognised file")
            )));
        }
    };
    let measured_ms = match measured {
        Some(found) => Some(found.and_then(|(_, ms)| ms).ok_or_else(|| {
            failure::invalid_input(format!("input.audio: could not read the length of this {} file", format.mime()))
        })?),
        None => None,
    };
    let by_url = !audio.url.is_empty();
    let length_ms = match (by_url, declared_seconds, measured_ms) {
        (false, Some(_), _) => {
            return Err(failure::invalid_input(format!(
                "option `{DURATION}` of provider `{ID}` is for input.audio given by URL; this audio was sent inline \
                 and its length is read from it"
            )));
        }
        (false, None, Some(ms)) => ms,
        (false, None, None) => {
            return Err(failure::invalid_input("input.audio: the inline audio carried no bytes"));
        }
        (true, None, _) => {
            return Err(failure::invalid_input(format!(
                "input.audio given by URL needs option `{DURATION}`: its length in seconds (HeyGen bills the \
                 video's length, which is the audio's; a data: URI is measured instead)"
            )));
        }
        (true, Some(seconds), measured) => {
            let declared_ms = (seconds * 1000) as u32;
            if let Some(ms) = measured.filter(|ms| *ms > declared_ms + DURATION_SLACK_MS) {
                return Err(failure::invalid_input(format!(
                    "input.audio is {:.1} s long, longer than option `{DURATION}` ({seconds} s) that priced it; \
                     send it again with `{DURATION}` {}",
                    f64::from(ms) / 1000.0,
                    ms.div_ceil(1000)
                )));
            }
            declared_ms
        }
    };
    if i64::from(length_ms) > MAX_AUDIO_SECONDS * 1000 {
        return Err(failure::invalid_input(format!(
            "input.audio is {:.1} s long; HeyGen lip-syncs at most {MAX_AUDIO_SECONDS} s",
            f64::from(length_ms) / 1000.0
        )));
    }
    Ok((Speech::Audio { format }, length_ms.max(1)))
}

/// `#rgb`/`#rrggbb` or an https URL.
fn background(value: &str) -> Result<Background, Failure> {
    let value = value.trim();
    if let Some(hex) = value.strip_prefix('#').filter(|h| h.chars().all(|c| c.is_ascii_hexdigit())) {
        let full = match hex.len() {
            3 => Some(hex.chars().flat_map(|c| [c, c]).collect::<String>()),
            6 => Some(hex.to_string()),
            _ => None,
        };
        if let Some(full) = full {
            return Ok(Background::Color(format!("#{}", full.to_ascii_lowercase())));
        }
    }
    let host = value.strip_prefix("https://").map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    if host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace)) && !value.contains(char::is_whitespace) {
        return Ok(Background::Image(value.to_string()));
    }
    Err(failure::invalid_input(format!(
        "option `{BACKGROUND}` of provider `{ID}` must be a hex colour such as #F5F5F5 or an https:// URL of a JPG \
         or PNG image (HeyGen has no named backgrounds); got {value}"
    )))
}

/// A preset's motion prompt, or the user's own words.
fn motion_prompt(value: &str) -> Result<String, Failure> {
    let value = value.trim();
    if let Some((_, prompt)) = GESTURES.iter().find(|(name, _)| name.eq_ignore_ascii_case(value)) {
        return Ok(prompt.to_string());
    }
    if value.is_empty() || value.chars().count() > MAX_GESTURE_CHARS {
        let presets: Vec<&str> = GESTURES.iter().map(|(name, _)| *name).collect();
        return Err(failure::invalid_input(format!(
            "option `{GESTURE}` of provider `{ID}` must be one of {} or a description of the motion of at most \
             {MAX_GESTURE_CHARS} characters",
            presets.join(", ")
        )));
    }
    Ok(value.to_string())
}

/// A BCP-47-looking locale (`en`, `en-US`, `zh-Hans-CN`).
fn locale(value: &str) -> Result<String, Failure> {
    let mut parts = value.split('-');
    let language = parts.next().unwrap_or_default();
    let valid = (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if valid {
        Ok(value.to_string())
    } else {
        Err(failure::invalid_input(format!(
            "option `{LOCALE}` of provider `{ID}` must be a locale such as en-US; got {value}"
        )))
    }
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

    fn media(url: &str, mime: Option<&str>, bytes: Option<Vec<u8>>) -> Media {
        Media { url: url.into(), mime: mime.map(str::to_string), bytes }
    }

    fn inline(mime: &str, bytes: Vec<u8>) -> Media {
        media("", Some(mime), Some(bytes))
    }

    fn request(input: JobInput, options: &[(&str, Value)]) -> JobRequest {
        // As the host sends them: declared defaults filled in, spec order.
        let options = spec::with_defaults(&offering(), options);
        JobRequest { offering: ID.into(), kind: MediaKind::Avatar, input, options }
    }

    fn script(text: &str, voice: Option<&str>) -> JobInput {
        JobInput { text: Some(text.into()), image: None, audio: None, video: None, voice: voice.map(str::to_string) }
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    fn avatar() -> (&'static str, Value) {
        (AVATAR_ID, text("Abigail_expressive_2024112501"))
    }

    fn refused(input: JobInput, options: &[(&str, Value)]) -> String {
        let failure = Plan::of(&request(input, options)).unwrap_err();
        assert_eq!(failure.code, FailureCode::InvalidInput, "{}", failure.message);
        failure.message
    }

    #[test]
    fn an_avatar_reading_a_script_with_defaults() {
        let plan = Plan::of(&request(script("Hello, I'm your AI assistant", None), &[avatar()])).unwrap();
        assert_eq!(
            plan,
            Plan {
                subject: Subject::Avatar("Abigail_expressive_2024112501".into()),
                speech: Speech::Script { voice: None },
                engine: Engine::AvatarIv,
                resolution: Resolution::P1080,
                aspect_ratio: "16:9",
                background: None,
                remove_background: false,
                motion_prompt: None,
                expressiveness: None,
                voice: VoiceSettings::default(),
                duration_ms: 2_000,
            }
        );
        // 2 s × $0.0667 = 13.34 cents.
        assert_eq!((plan.credits(), plan.estimated_seconds()), (14, 200));
        let offering = offering();
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (67, 280, 85));
        assert_eq!(offering.needs_bytes, [InputField::Audio]);
    }

    #[test]
    fn prices_follow_the_subject_the_resolution_and_the_length() {
        let long = "word ".repeat(150); // 60 s at 150 words a minute
        let cases: [(Option<&str>, &str, u32); 4] =
            [(Some("a"), "1080p", 401), (Some("a"), "4k", 500), (None, "720p", 300), (None, "4k", 401)];
        for (avatar_id, resolution, credits) in cases {
            let mut input = script(&long, Some("v1"));
            let mut options = vec![(RESOLUTION, text(resolution))];
            match avatar_id {
                Some(id) => options.push((AVATAR_ID, text(id))),
                None => input.image = Some(inline("image/png", PNG.to_vec())),
            }
            let plan = Plan::of(&request(input, &options)).unwrap();
            assert_eq!(plan.duration_ms, 60_000);
            assert_eq!(plan.credits(), credits, "{avatar_id:?} {resolution}");
        }
        let slow = Plan::of(&request(script(&long, None), &[avatar(), (SPEED, Value::Number(0.5))])).unwrap();
        assert_eq!((slow.duration_ms, slow.credits(), slow.estimated_seconds()), (120_000, 801, 1_380));
    }

    #[test]
    fn a_photo_lip_syncing_inline_audio_is_priced_by_the_audio() {
        let input = JobInput {
            text: None,
            image: Some(inline("image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0])),
            audio: Some(inline("audio/wav", wav(16_000, 3_200))),
            video: None,
            voice: None,
        };
        let options = [(GESTURE, text("Friendly")), (ASPECT_RATIO, text("9:16")), (RESOLUTION, text("720p"))];
        let plan = Plan::of(&request(input, &options)).unwrap();
        assert_eq!(plan.subject, Subject::Image);
        assert_eq!(plan.speech, Speech::Audio { format: AudioFormat::Wav });
        assert_eq!(plan.motion_prompt.as_deref(), Some(GESTURES[0].1));
        assert_eq!((plan.duration_ms, plan.credits()), (3_200, 16));
        let mp3_input = JobInput { audio: Some(inline("audio/mpeg", mp3(100))), ..plan_input_with_avatar() };
        let plan = Plan::of(&request(mp3_input, &[avatar()])).unwrap();
        assert_eq!((plan.speech, plan.duration_ms), (Speech::Audio { format: AudioFormat::Mp3 }, 2_613));
    }

    fn plan_input_with_avatar() -> JobInput {
        JobInput { text: None, image: None, audio: None, video: None, voice: None }
    }

    #[test]
    fn audio_by_url_is_priced_by_its_declared_length_and_checked_once_fetched() {
        let by_url = |bytes: Option<Vec<u8>>| JobInput {
            audio: Some(media("https://cdn.example/line.mp3", Some("audio/mpeg"), bytes)),
            ..plan_input_with_avatar()
        };
        // At quote time: no bytes yet.
        let message = refused(by_url(None), &[avatar()]);
        assert_eq!(
            message,
            "input.audio given by URL needs option `duration`: its length in seconds (HeyGen bills the video's \
             length, which is the audio's; a data: URI is measured instead)"
        );
        let quoted = Plan::of(&request(by_url(None), &[avatar(), (DURATION, Value::Integer(30))])).unwrap();
        assert_eq!((quoted.duration_ms, quoted.credits()), (30_000, 201));
        // At submit time the host has fetched it: a shorter file is fine, a longer one is refused.
        let fits = Plan::of(&request(by_url(Some(mp3(100))), &[avatar(), (DURATION, Value::Integer(3))])).unwrap();
        assert_eq!(fits, quoted_with(3_000));
        let message = refused(by_url(Some(mp3(100))), &[avatar(), (DURATION, Value::Integer(2))]);
        assert_eq!(
            message,
            "input.audio is 2.6 s long, longer than option `duration` (2 s) that priced it; send it again with \
             `duration` 3"
        );
        let message = refused(by_url(Some(b"OggS...".to_vec())), &[avatar(), (DURATION, Value::Integer(2))]);
        assert_eq!(message, "input.audio: HeyGen lip-syncs MP3 or WAV audio (got audio/ogg)");
    }

    fn quoted_with(duration_ms: u32) -> Plan {
        Plan {
            subject: Subject::Avatar("Abigail_expressive_2024112501".into()),
            speech: Speech::Audio { format: AudioFormat::Mp3 },
            duration_ms,
            ..reference_plan()
        }
    }

    #[test]
    fn backgrounds_are_colours_or_image_urls() {
        let plan = |value: &str| Plan::of(&request(script("hi", None), &[avatar(), (BACKGROUND, text(value))]));
        assert_eq!(plan("#F5F5F5").unwrap().background, Some(Background::Color("#f5f5f5".into())));
        assert_eq!(plan("#0aF").unwrap().background, Some(Background::Color("#00aaff".into())));
        assert_eq!(
            plan("https://cdn.example/office.jpg?v=2").unwrap().background,
            Some(Background::Image("https://cdn.example/office.jpg?v=2".into()))
        );
        for bad in ["modern_office", "#12345", "http://cdn.example/a.png", "https://", "https://a b.png", "red"] {
            let failure = plan(bad).unwrap_err();
            assert_eq!(
                failure.message,
                format!(
                    "option `background` of provider `heygen` must be a hex colour such as #F5F5F5 or an https:// \
                     URL of a JPG or PNG image (HeyGen has no named backgrounds); got {bad}"
                ),
            );
        }
    }

    #[test]
    fn gestures_are_presets_or_descriptions() {
        let plan = |value: &str| Plan::of(&request(script("hi", None), &[avatar(), (GESTURE, text(value))]));
        for (name, prompt) in GESTURES {
            assert_eq!(plan(name).unwrap().motion_prompt.as_deref(), Some(prompt));
        }
        let own = plan("waves with the left hand, then points at the camera").unwrap();
        assert_eq!(own.motion_prompt.as_deref(), Some("waves with the left hand, then points at the camera"));
        let message = plan(&"x".repeat(MAX_GESTURE_CHARS + 1)).unwrap_err().message;
        assert_eq!(
            message,
            "option `gesture` of provider `heygen` must be one of friendly, professional, energetic, calm, \
             explaining or a description of the motion of at most 1000 characters"
        );
    }

    #[test]
    fn voice_settings_go_with_scripts_only() {
        let options = [avatar(), (SPEED, Value::Number(1.2)), (PITCH, Value::Integer(-3)), (LOCALE, text("en-GB"))];
        let plan =
            Plan::of(&request(script("Good morning", Some("1bd001e7e50f421d891986aad5158bc8")), &options)).unwrap();
        assert_eq!(plan.voice, VoiceSettings { speed: Some(1.2), pitch: Some(-3.0), locale: Some("en-GB".into()) });
        assert_eq!(plan.speech, Speech::Script { voice: Some("1bd001e7e50f421d891986aad5158bc8".into()) });
        assert_eq!(
            refused(script("x", None), &[avatar(), (LOCALE, text("english"))]),
            "option `locale` of provider `heygen` must be a locale such as en-US; got english"
        );
    }

    #[test]
    fn impossible_combinations_name_what_is_allowed() {
        let image = || Some(inline("image/png", PNG.to_vec()));
        let audio = || Some(inline("audio/wav", wav(8_000, 1_000)));
        // (input, options, the exact message)
        type Case<'a> = (JobInput, Vec<(&'a str, Value)>, &'a str);
        let cases: Vec<Case> = vec![
            (
                script("hi", None),
                vec![],
                "provider `heygen` needs option `avatarId` (a HeyGen avatar or look id from your HeyGen account) or \
                 input.image (a portrait photo to animate)",
            ),
            (
                JobInput { image: image(), ..script("hi", Some("v")) },
                vec![avatar()],
                "provider `heygen` animates either a HeyGen avatar (option `avatarId`) or a photo (input.image), not both",
            ),
            (
                JobInput { image: image(), ..script("hi", None) },
                vec![],
                "input.voice is required by provider `heygen` to read input.text over a photo (a HeyGen voice id \
                 from GET /v3/voices); only avatars have a voice of their own",
            ),
            (
                JobInput { audio: audio(), ..script("hi", None) },
                vec![avatar()],
                "provider `heygen` takes input.text (a script for a HeyGen voice) or input.audio (speech to \
                 lip-sync), not both",
            ),
            (
                plan_input_with_avatar(),
                vec![avatar()],
                "provider `heygen` needs input.text (a script for a HeyGen voice) or input.audio (speech to lip-sync)",
            ),
            (
                JobInput { audio: audio(), voice: Some("v".into()), ..plan_input_with_avatar() },
                vec![avatar()],
                "input.voice reads input.text; provider `heygen` lip-syncs input.audio as it is",
            ),
            (
                JobInput { audio: audio(), ..plan_input_with_avatar() },
                vec![avatar(), (SPEED, Value::Number(1.1))],
                "options `speed`, `pitch` and `locale` of provider `heygen` tune HeyGen's voice for input.text; \
                 they do not apply to input.audio",
            ),
            (
                JobInput { audio: audio(), ..plan_input_with_avatar() },
                vec![avatar(), (DURATION, Value::Integer(1))],
                "option `duration` of provider `heygen` is for input.audio given by URL; this audio was sent inline \
                 and its length is read from it",
            ),
            (
                script("hi", None),
                vec![avatar(), (DURATION, Value::Integer(5))],
                "option `duration` of provider `heygen` is for input.audio given by URL; a script's length sets the \
                 video's",
            ),
            (
                JobInput { image: image(), ..script("hi", Some("v")) },
                vec![(ENGINE, text("avatar-v"))],
                "option `engine` avatar-v of provider `heygen` applies to HeyGen avatars (option `avatarId`); a \
                 photo from input.image is animated by avatar-iv",
            ),
            (
                script("hi", None),
                vec![avatar(), (ENGINE, text("avatar-v")), (EXPRESSIVENESS, text("high"))],
                "option `expressiveness` of provider `heygen` is for engine avatar-iv only (HeyGen rejects it with \
                 avatar-v)",
            ),
            (
                JobInput { image: Some(inline("image/webp", b"RIFF\0\0\0\0WEBP".to_vec())), ..script("hi", Some("v")) },
                vec![],
                "input.image: HeyGen animates PNG or JPEG photos (got image/webp)",
            ),
            (
                JobInput {
                    image: Some(media("https://img.example/face.gif", Some("image/gif"), None)),
                    ..script("hi", Some("v"))
                },
                vec![],
                "input.image: HeyGen animates PNG or JPEG photos (got image/gif)",
            ),
            (
                script("hi", None),
                vec![(AVATAR_ID, text("kate smith"))],
                "option `avatarId` of provider `heygen` must be a HeyGen avatar or look id (no spaces, at most 128 \
                 characters); got \"kate smith\"",
            ),
            (
                script(&"a".repeat(MAX_SCRIPT_CHARS + 1), None),
                vec![avatar()],
                "input.text is longer than HeyGen's limit of 5000 characters",
            ),
            (
                JobInput { audio: Some(inline("audio/wav", wav(100, 601_000))), ..plan_input_with_avatar() },
                vec![avatar()],
                "input.audio is 601.0 s long; HeyGen lip-syncs at most 600 s",
            ),
        ];
        for (input, options, message) in cases {
            assert_eq!(refused(input, &options), message);
        }
    }

    #[test]
    fn settings_replace_the_default_engine_by_offering_and_the_other_by_name() {
        assert_eq!(Engine::DEFAULT.setting_key(), "heygen");
        assert_eq!(Engine::AvatarV.setting_key(), "heygen.avatar-v");
    }
}
