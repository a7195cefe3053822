//! Audio facts read from a file's bytes: which container it is and how long
//! it plays; and how long a script takes to read aloud.
//!
//! The host reads durations from MP4 headers only, so an adapter that
//! returns audio bytes reports `duration-ms` itself, and an adapter that
//! prices by the length of the audio a user sends measures it before the
//! vendor sees it. This module owns those readers. It never decodes audio
//! and never guesses: a file it cannot read to its end gives `None`.
//!
//! | format         | length read from                                                                 |
//! |----------------|----------------------------------------------------------------------------------|
//! | MP3 (MPEG audio, layers I–III) | every frame's samples, after any ID3v2 tags; a Xing/Info/VBRI frame is not audio; [`mp3_length`] |
//! | WAV (RIFF)     | the `data` chunk's bytes over the `fmt ` chunk's byte rate; [`wav_length`]       |
//! | Ogg Opus       | the last page's granule position less the `OpusHead` pre-skip, at 48 kHz; [`ogg_opus_length`] |
//! | FLAC           | STREAMINFO's total samples over its sample rate; [`flac_length`]                 |
//! | AAC in ADTS    | every ADTS frame, 1,024 samples per raw data block; [`adts_length`]              |
//!
//! Lengths come back exact, as an [`AudioLength`], and each adapter rounds
//! them as its use needs: to the nearest millisecond for a duration it
//! reports, up for one it prices (a vendor bills what plays).
//!
//! [`AudioFormat::sniff`] names a file's container from its first bytes
//! (for adapters that take audio from users), and [`speech_ms`] estimates
//! the length of a script that is not spoken yet, for a quote.
//!
//! Pure and dependency-free: unit-tested natively.

/// An exact length of audio: so many units (samples, or bytes) at so many
/// a second. Round it to milliseconds with the method the use calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioLength {
    units: u64,
    per_second: u64,
}

impl AudioLength {
    /// `units` at `per_second`; `None` for a rate of 0.
    fn new(units: u64, per_second: u64) -> Option<AudioLength> {
        (per_second > 0).then_some(AudioLength { units, per_second })
    }

    /// Whole milliseconds, rounded to the nearest (half up); `None` past
    /// `u32::MAX` (49 days).
    pub fn ms_rounded(self) -> Option<u32> {
        self.ms_plus(self.per_second / 2)
    }

    /// Whole milliseconds, rounded down; `None` past `u32::MAX`.
    pub fn ms_floor(self) -> Option<u32> {
        self.ms_plus(0)
    }

    /// Whole milliseconds, rounded up; `None` past `u32::MAX`.
    pub fn ms_ceil(self) -> Option<u32> {
        self.ms_plus(self.per_second - 1)
    }

    /// `(units × 1000 + bias) / per_second`, in 128 bits so it cannot overflow.
    fn ms_plus(self, bias: u64) -> Option<u32> {
        let ms = (u128::from(self.units) * 1000 + u128::from(bias)) / u128::from(self.per_second);
        u32::try_from(ms).ok()
    }
}

/// Milliseconds of audio in `bytes` of type `mime` (the MIME types
/// [`AudioFormat::from_mime`] knows), rounded to the nearest; `None` when
/// the type has no length reader here (MP4, WebM, another type) or the
/// file cannot be read to its end.
pub fn duration_ms(bytes: &[u8], mime: &str) -> Option<u32> {
    AudioFormat::from_mime(mime)?.length(bytes)?.ms_rounded()
}

// ---------------------------------------------------------------- formats

/// An audio container, recognised by its first bytes or named by a MIME
/// type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioFormat {
    /// RIFF/WAVE.
    Wav,
    /// MPEG audio layer III, with or without an ID3v2 tag.
    Mp3,
    /// MP4/M4A (`ftyp`); AAC as apps save it.
    M4a,
    /// Ogg (Vorbis, Opus).
    Ogg,
    /// FLAC.
    Flac,
    /// WebM/Matroska.
    Webm,
}

impl AudioFormat {
    /// The usual MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            AudioFormat::Wav => "audio/wav",
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::M4a => "audio/mp4",
            AudioFormat::Ogg => "audio/ogg",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::Webm => "audio/webm",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Wav => "wav",
            AudioFormat::Mp3 => "mp3",
            AudioFormat::M4a => "m4a",
            AudioFormat::Ogg => "ogg",
            AudioFormat::Flac => "flac",
            AudioFormat::Webm => "webm",
        }
    }

    /// The format a MIME type names (parameters and case ignored), when it
    /// names one of these. `audio/aac` counts as M4A, the container apps
    /// save AAC in; raw ADTS streams are read with [`adts_length`].
    pub fn from_mime(mime: &str) -> Option<AudioFormat> {
        match mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase().as_str() {
            "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Some(AudioFormat::Wav),
            "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => Some(AudioFormat::Mp3),
            "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => Some(AudioFormat::M4a),
            "audio/ogg" | "audio/opus" => Some(AudioFormat::Ogg),
            "audio/flac" | "audio/x-flac" => Some(AudioFormat::Flac),
            "audio/webm" => Some(AudioFormat::Webm),
            _ => None,
        }
    }

    /// The format of `bytes`, from their first bytes; `None` when they are
    /// no format here. An MP3 needs two layer III frames of one stream back
    /// to back (after any ID3v2 tags): one sync pattern is too easily found
    /// in other data.
    pub fn sniff(bytes: &[u8]) -> Option<AudioFormat> {
        if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
            Some(AudioFormat::Wav)
        } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
            Some(AudioFormat::M4a)
        } else if bytes.starts_with(b"OggS") {
            Some(AudioFormat::Ogg)
        } else if bytes.starts_with(b"fLaC") {
            Some(AudioFormat::Flac)
        } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(AudioFormat::Webm)
        } else {
            is_mp3(bytes).then_some(AudioFormat::Mp3)
        }
    }

    /// The length of `bytes` read as this format: WAV, MP3, FLAC, and Ogg
    /// when it holds Opus; `None` for M4A and WebM (not read here) and for
    /// files that cannot be read to their end.
    pub fn length(self, bytes: &[u8]) -> Option<AudioLength> {
        match self {
            AudioFormat::Wav => wav_length(bytes),
            AudioFormat::Mp3 => mp3_length(bytes),
            AudioFormat::Ogg => ogg_opus_length(bytes),
            AudioFormat::Flac => flac_length(bytes),
            AudioFormat::M4a | AudioFormat::Webm => None,
        }
    }
}

// ---------------------------------------------------------------- MP3

/// The MPEG audio version a frame header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Mpeg1,
    Mpeg2,
    Mpeg25,
}

/// One decoded MPEG audio frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FrameHeader {
    version: Version,
    /// 1, 2 or 3.
    layer: u8,
    sample_rate: u32,
    /// Samples per channel in the frame.
    samples: u32,
    /// Bytes, header included.
    length: usize,
    mono: bool,
    crc: bool,
}

/// Kilobits per second by bitrate index 1..=14 (index 0 is "free format",
/// which has no computable frame length, and 15 is invalid).
const BITRATES_V1_L1: [u32; 14] = [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448];
const BITRATES_V1_L2: [u32; 14] = [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384];
const BITRATES_V1_L3: [u32; 14] = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2_L1: [u32; 14] = [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256];
const BITRATES_V2_L23: [u32; 14] = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

impl FrameHeader {
    /// Decode the four bytes at the start of `bytes`, if they are a frame header.
    fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let [b0, b1, b2, b3] = *bytes.get(..4)? else { return None };
        if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
            return None;
        }
        let version = match (b1 >> 3) & 3 {
            0 => Version::Mpeg25,
            2 => Version::Mpeg2,
            3 => Version::Mpeg1,
            _ => return None,
        };
        let layer = match (b1 >> 1) & 3 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return None,
        };
        let bitrate_index = usize::from(b2 >> 4);
        if bitrate_index == 0 || bitrate_index == 15 {
            return None;
        }
        let table = match (version, layer) {
            (Version::Mpeg1, 1) => &BITRATES_V1_L1,
            (Version::Mpeg1, 2) => &BITRATES_V1_L2,
            (Version::Mpeg1, _) => &BITRATES_V1_L3,
            (_, 1) => &BITRATES_V2_L1,
            _ => &BITRATES_V2_L23,
        };
        let bitrate = table[bitrate_index - 1] * 1000;
        let base_rate = match (b2 >> 2) & 3 {
            0 => 44_100,
            1 => 48_000,
            2 => 32_000,
            _ => return None,
        };
        let sample_rate = match version {
            Version::Mpeg1 => base_rate,
            Version::Mpeg2 => base_rate / 2,
            Version::Mpeg25 => base_rate / 4,
        };
        let padding = u32::from((b2 >> 1) & 1);
        let (samples, length) = match layer {
            1 => (384, (12 * bitrate / sample_rate + padding) * 4),
            2 => (1152, 144 * bitrate / sample_rate + padding),
            _ if version == Version::Mpeg1 => (1152, 144 * bitrate / sample_rate + padding),
            _ => (576, 72 * bitrate / sample_rate + padding),
        };
        Some(FrameHeader {
            version,
            layer,
            sample_rate,
            samples,
            length: length as usize,
            mono: b3 >> 6 == 3,
            crc: b1 & 1 == 0,
        })
    }

    /// Whether two frames belong to one stream (a false sync in the middle
    /// of garbage rarely agrees on all three).
    fn same_stream(&self, other: &FrameHeader) -> bool {
        (self.version, self.layer, self.sample_rate) == (other.version, other.layer, other.sample_rate)
    }

    /// Whether the frame carries a Xing/Info or VBRI header: encoder
    /// metadata in the place of audio, which players skip.
    fn is_metadata(&self, frame: &[u8]) -> bool {
        let side_info = match (self.version, self.mono) {
            (Version::Mpeg1, true) => 17,
            (Version::Mpeg1, false) => 32,
            (_, true) => 9,
            (_, false) => 17,
        };
        let xing_at = 4 + usize::from(self.crc) * 2 + side_info;
        let tag = |at: usize| frame.get(at..at + 4);
        self.layer == 3 && (matches!(tag(xing_at), Some(b"Xing" | b"Info")) || tag(36) == Some(b"VBRI"))
    }
}

/// Bytes taken by the ID3v2 tags at the start of `bytes`.
fn id3v2_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 10).filter(|h| h.starts_with(b"ID3")) {
        let size = header[6..10].iter().fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7F));
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        at += 10 + size + footer;
    }
    at
}

/// Where the first frame may start: after the ID3v2 tags and any zero
/// bytes (padding some taggers leave beyond a tag's stated size; a zero
/// byte never starts a frame, so skipping them guesses nothing).
fn audio_start(bytes: &[u8]) -> usize {
    let mut at = id3v2_len(bytes);
    while bytes.get(at) == Some(&0) {
        at += 1;
    }
    at
}

/// What may follow the last frame: an ID3v1 tag, an APE tag, a Lyrics3
/// tag, or nothing.
fn is_trailer(rest: &[u8]) -> bool {
    rest.is_empty() || rest.starts_with(b"TAG") || rest.starts_with(b"APETAGEX") || rest.starts_with(b"LYRICSBEGIN")
}

/// Whether `bytes` open (after their tags) with two layer III frames of
/// one stream, back to back.
fn is_mp3(bytes: &[u8]) -> bool {
    let at = audio_start(bytes);
    let Some(first) = bytes.get(at..).and_then(FrameHeader::parse).filter(|f| f.layer == 3) else {
        return false;
    };
    bytes.get(at + first.length..).and_then(FrameHeader::parse).is_some_and(|next| next.same_stream(&first))
}

/// The length of an MPEG audio file (MP3, or layers I/II), counted frame by
/// frame: every frame's samples over the sample rate.
///
/// Leading ID3v2 tags (and zero padding after them) are skipped, a
/// Xing/Info/VBRI frame is not audio, and the file may end with an
/// ID3v1/APE/Lyrics3 tag or a frame cut short (not counted). Anything else
/// between frames, or frames of another version, layer or rate, gives
/// `None`; so does a free-format stream (no frame length to walk by).
pub fn mp3_length(bytes: &[u8]) -> Option<AudioLength> {
    let mut at = audio_start(bytes);
    let first = FrameHeader::parse(bytes.get(at..)?)?;
    let rate = u64::from(first.sample_rate);
    let mut samples = 0u64;
    let mut frames = 0u32;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some(frame) = FrameHeader::parse(rest).filter(|f| f.same_stream(&first)) else {
            // Not a frame: fine only where the file ends in a tag.
            return is_trailer(rest).then(|| AudioLength::new(samples, rate)).flatten();
        };
        if frame.length > rest.len() {
            break; // A last frame cut short: no whole samples in it.
        }
        if !(frames == 0 && frame.is_metadata(&rest[..frame.length])) {
            samples += u64::from(frame.samples);
        }
        frames += 1;
        at += frame.length;
    }
    if samples == 0 {
        return None;
    }
    AudioLength::new(samples, rate)
}

// ---------------------------------------------------------------- WAV

/// The length of a RIFF/WAVE file: the `data` chunk's bytes over the
/// `fmt ` chunk's byte rate (so μ-law, A-law and PCM alike), other chunks
/// skipped. A streaming writer cannot go back to fill in the data length:
/// a length of 0, or one past the end of the file (`0xFFFFFFFF`), counts
/// the bytes present.
pub fn wav_length(bytes: &[u8]) -> Option<AudioLength> {
    if bytes.get(..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut byte_rate = None;
    let mut data_len = None;
    while let Some(header) = bytes.get(at..at + 8) {
        let size = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
        let body = &bytes[at + 8..];
        match &header[..4] {
            b"fmt " => byte_rate = Some(u32::from_le_bytes(body.get(8..12)?.try_into().ok()?)),
            b"data" => {
                data_len = Some(if size == 0 { body.len() } else { size.min(body.len()) });
                if byte_rate.is_some() {
                    break;
                }
            }
            _ => {}
        }
        at = at.checked_add(8 + size + (size & 1))?;
    }
    AudioLength::new(data_len? as u64, u64::from(byte_rate?))
}

/// Bytes per sample of 16-bit PCM.
const PCM_BYTES_PER_SAMPLE: u16 = 2;

/// A WAV file around raw 16-bit little-endian PCM (`pcm`), as vendors
/// return it without a header: `channels` interleaved at `sample_rate`.
pub fn wav_from_pcm16(pcm: &[u8], sample_rate: u32, channels: u16) -> Vec<u8> {
    let block_align = channels * PCM_BYTES_PER_SAMPLE;
    let data_len = u32::try_from(pcm.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + pcm.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&(PCM_BYTES_PER_SAMPLE * 8).to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(pcm);
    out
}

// ---------------------------------------------------------------- Ogg Opus

/// Opus granule positions count samples at 48 kHz, whatever the input rate.
const OPUS_GRANULE_RATE: u64 = 48_000;

/// One Ogg page: its granule position, stream serial and payload.
struct Page<'a> {
    granule: i64,
    serial: u32,
    payload: &'a [u8],
}

/// The page at the start of `bytes`, and its length.
fn ogg_page(bytes: &[u8]) -> Option<(Page<'_>, usize)> {
    if bytes.get(..4)? != b"OggS" || *bytes.get(4)? != 0 {
        return None;
    }
    let segments = usize::from(*bytes.get(26)?);
    let table = bytes.get(27..27 + segments)?;
    let header_len = 27 + segments;
    let payload_len: usize = table.iter().map(|&n| usize::from(n)).sum();
    let payload = bytes.get(header_len..header_len + payload_len)?;
    let page = Page {
        granule: i64::from_le_bytes(bytes[6..14].try_into().ok()?),
        serial: u32::from_le_bytes(bytes[14..18].try_into().ok()?),
        payload,
    };
    Some((page, header_len + payload_len))
}

/// The length of an Ogg Opus file: the last page's granule position less
/// the `OpusHead` pre-skip, at 48 kHz (RFC 7845 §4). Pages of other logical
/// streams are ignored; a file that is not Opus, or that does not parse to
/// its end, gives `None`.
pub fn ogg_opus_length(bytes: &[u8]) -> Option<AudioLength> {
    let (first, mut at) = ogg_page(bytes)?;
    let head = first.payload;
    if !head.starts_with(b"OpusHead") {
        return None;
    }
    let pre_skip = u16::from_le_bytes(head.get(10..12)?.try_into().ok()?);
    let serial = first.serial;
    let mut last_granule = None;
    while at < bytes.len() {
        let (page, len) = ogg_page(&bytes[at..])?;
        // -1: no packet ends on this page.
        if page.serial == serial && page.granule >= 0 {
            last_granule = Some(page.granule as u64);
        }
        at += len;
    }
    let samples = last_granule?.checked_sub(u64::from(pre_skip))?;
    AudioLength::new(samples, OPUS_GRANULE_RATE)
}

// ---------------------------------------------------------------- FLAC

/// The length of a FLAC file: STREAMINFO's total samples over its sample
/// rate. `None` when a streaming encoder left the total at 0 (unknown).
pub fn flac_length(bytes: &[u8]) -> Option<AudioLength> {
    // "fLaC", then the STREAMINFO block (always first): a 4-byte block
    // header and 34 bytes, whose bytes 10.. hold 20 bits of sample rate,
    // 3 of channels, 5 of bits per sample and 36 of total samples.
    if bytes.get(..4)? != b"fLaC" || bytes.get(4)? & 0x7F != 0 {
        return None;
    }
    let info = bytes.get(8..8 + 34)?;
    let rate = (u64::from(info[10]) << 12) | (u64::from(info[11]) << 4) | (u64::from(info[12]) >> 4);
    let total = (u64::from(info[13] & 0x0F) << 32) | u64::from(u32::from_be_bytes(info[14..18].try_into().ok()?));
    if total == 0 {
        return None;
    }
    AudioLength::new(total, rate)
}

// ---------------------------------------------------------------- AAC (ADTS)

/// ADTS sampling frequencies by index.
const ADTS_RATES: [u64; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/// The length of raw AAC in ADTS frames: 1,024 samples per raw data block
/// of every frame, from the first byte up to the first that is not an ADTS
/// header (a trailing tag is not counted). Frames of different rates give
/// `None`; so do bytes that do not open with a frame.
pub fn adts_length(bytes: &[u8]) -> Option<AudioLength> {
    let (mut at, mut samples, mut rate) = (0usize, 0u64, None);
    while let Some(header) = bytes.get(at..at + 7) {
        if header[0] != 0xFF || header[1] & 0xF6 != 0xF0 {
            break;
        }
        let frame_rate = *ADTS_RATES.get(usize::from((header[2] >> 2) & 0x0F))?;
        if rate.is_some_and(|r| r != frame_rate) {
            return None;
        }
        rate = Some(frame_rate);
        let length =
            (usize::from(header[3] & 0x03) << 11) | (usize::from(header[4]) << 3) | usize::from(header[5] >> 5);
        if length < 7 {
            break;
        }
        samples += 1024 * (u64::from(header[6] & 0x03) + 1);
        at += length;
    }
    AudioLength::new(samples, rate?)
}

// ---------------------------------------------------------------- speech

/// Milliseconds a word takes at speed 1.0 (150 words a minute, about the
/// pace of text-to-speech voices).
pub const WORD_MS: u64 = 400;
/// Milliseconds a CJK character (Han, kana, Hangul) takes at speed 1.0
/// (4.5 characters a second).
pub const CJK_CHAR_MS: u64 = 222;
/// The shortest estimate [`speech_ms`] gives: even nothing to read makes a
/// second of output, which is what vendors bill at the least.
pub const MIN_SPEECH_MS: u32 = 1_000;

/// The estimated length of `script` read aloud at `speed` (1.0 = the
/// voice's normal pace, clamped to 0.1–10), in milliseconds: words at
/// [`WORD_MS`], CJK characters at [`CJK_CHAR_MS`], punctuation free, plus
/// the pauses its SSML `<break time="…"/>` tags ask for (`1.5s`, `500ms`;
/// an unreadable time counts as 0). At least [`MIN_SPEECH_MS`].
pub fn speech_ms(script: &str, speed: f64) -> u32 {
    let (text, pauses_ms) = strip_breaks(script);
    let mut words = 0u64;
    let mut cjk = 0u64;
    for token in text.split_whitespace() {
        let mut other = false;
        for c in token.chars() {
            if is_cjk(c) {
                cjk += 1;
            } else if c.is_alphanumeric() {
                other = true;
            }
        }
        words += u64::from(other);
    }
    let spoken = (words * WORD_MS + cjk * CJK_CHAR_MS) as f64 / speed.clamp(0.1, 10.0);
    let total = spoken.ceil() as u64 + pauses_ms;
    total.clamp(u64::from(MIN_SPEECH_MS), u64::from(u32::MAX)) as u32
}

/// The script without its `<break time="…"/>` tags, and the pauses they ask
/// for in milliseconds.
fn strip_breaks(script: &str) -> (String, u64) {
    let mut text = String::with_capacity(script.len());
    let mut pauses = 0u64;
    let mut rest = script;
    while let Some(start) = rest.find("<break") {
        let Some(len) = rest[start..].find('>') else { break };
        text.push_str(&rest[..start]);
        text.push(' ');
        pauses += break_ms(&rest[start..start + len]);
        rest = &rest[start + len + 1..];
    }
    text.push_str(rest);
    (text, pauses)
}

/// The `time` of one break tag, in milliseconds.
fn break_ms(tag: &str) -> u64 {
    let Some(at) = tag.find("time=") else { return 0 };
    let value = tag[at + 5..].trim_start_matches(['"', '\'']);
    let value: String = value.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    let (number, scale) = match value.strip_suffix("ms") {
        Some(ms) => (ms, 1.0),
        None => (value.strip_suffix('s').unwrap_or(&value), 1000.0),
    };
    number.parse::<f64>().map(|n| (n.max(0.0) * scale).round() as u64).unwrap_or(0)
}

/// Han ideographs, kana and Hangul: read a character at a time.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x3400..=0x4DBF      // CJK Extension A
        | 0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0xAC00..=0xD7AF      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK Extensions B–F, supplement
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length in milliseconds: rounded, as speech vendors' durations are reported.
    fn rounded(length: Option<AudioLength>) -> Option<u32> {
        length?.ms_rounded()
    }

    /// The length in milliseconds, rounded down.
    fn floor(length: Option<AudioLength>) -> Option<u32> {
        length?.ms_floor()
    }

    /// The format and the length rounded up, as avatar vendors price audio.
    fn sniffed(bytes: &[u8]) -> Option<(AudioFormat, Option<u32>)> {
        let format = AudioFormat::sniff(bytes)?;
        Some((format, format.length(bytes).and_then(AudioLength::ms_ceil)))
    }

    /// A frame of `header` of `length` bytes, audio zeroed.
    fn frame(header: [u8; 4], length: usize) -> Vec<u8> {
        let mut out = header.to_vec();
        out.resize(length, 0);
        out
    }

    /// MPEG-1 Layer III, 128 kbps, 44.1 kHz, stereo: 417 bytes (418 padded).
    const V1_128_44K: [u8; 4] = [0xFF, 0xFB, 0x90, 0x00];
    const V1_128_44K_PADDED: [u8; 4] = [0xFF, 0xFB, 0x92, 0x00];
    /// MPEG-2 Layer III, 32 kbps, 24 kHz, mono: 96 bytes, 24 ms.
    const V2_32_24K: [u8; 4] = [0xFF, 0xF3, 0x44, 0xC0];

    fn id3v2(body_len: usize) -> Vec<u8> {
        let size = [(body_len >> 21) & 0x7F, (body_len >> 14) & 0x7F, (body_len >> 7) & 0x7F, body_len & 0x7F];
        let mut out = b"ID3\x04\x00\x00".to_vec();
        out.extend(size.iter().map(|&b| b as u8));
        out.resize(10 + body_len, 0);
        out
    }

    /// An ID3v2 tag of `tag_len` bytes, then `frames` frames of `header`.
    fn mp3(tag_len: usize, header: [u8; 4], frames: usize) -> Vec<u8> {
        let length = FrameHeader::parse(&header).unwrap().length;
        let mut out = id3v2(tag_len);
        for _ in 0..frames {
            out.extend(frame(header, length));
        }
        out
    }

    /// `frames` MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz (joint
    /// stereo) after an ID3v2 tag of 20 bytes.
    fn mp3_44k(frames: usize) -> Vec<u8> {
        mp3(20, [0xFF, 0xFB, 0x90, 0x64], frames)
    }

    /// `frames` MPEG-2 layer III frames (24 ms each) after an ID3v2 tag, as
    /// OpenAI's files open.
    fn mp3_24k(frames: usize) -> Vec<u8> {
        mp3(10, V2_32_24K, frames)
    }

    /// A WAV of `ms` milliseconds of 16-bit mono silence at `rate`.
    fn wav(rate: u32, ms: u32) -> Vec<u8> {
        wav_from_pcm16(&vec![0; (u64::from(rate) * 2 * u64::from(ms) / 1000) as usize], rate, 1)
    }

    /// A 16-bit mono WAV at `rate` with `samples` samples and an odd-sized
    /// LIST chunk before the data; `announced` replaces the data chunk's
    /// size (streamed files announce 0 or 0xFFFFFFFF).
    fn wav_with_list(rate: u32, samples: u32, announced: Option<u32>) -> Vec<u8> {
        let data = samples * 2;
        let plain = wav_from_pcm16(&vec![0; data as usize], rate, 1);
        let mut out = plain[..36].to_vec();
        out.extend_from_slice(b"LIST");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(b"abc\0"); // odd size, padded
        out.extend_from_slice(b"data");
        out.extend_from_slice(&announced.unwrap_or(data).to_le_bytes());
        out.extend_from_slice(&plain[44..]);
        out
    }

    #[test]
    fn lengths_round_as_asked() {
        let length = AudioLength::new(2_612_244_898, 1_000_000_000).unwrap(); // 2612.244898 ms
        assert_eq!((length.ms_floor(), length.ms_rounded(), length.ms_ceil()), (Some(2612), Some(2612), Some(2613)));
        let half = AudioLength::new(3, 2_000).unwrap(); // 1.5 ms
        assert_eq!((half.ms_floor(), half.ms_rounded(), half.ms_ceil()), (Some(1), Some(2), Some(2)));
        let exact = AudioLength::new(72_000, 48_000).unwrap();
        assert_eq!((exact.ms_floor(), exact.ms_rounded(), exact.ms_ceil()), (Some(1500), Some(1500), Some(1500)));
        assert_eq!(AudioLength::new(1, 0), None, "no rate, no length");
        assert_eq!(AudioLength::new(u64::MAX, 1).unwrap().ms_floor(), None, "past u32::MAX milliseconds");
    }

    #[test]
    fn frame_headers_decode_every_version_and_layer() {
        let cases = [
            // (header, version, layer, rate, samples, length)
            ([0xFF, 0xFB, 0x90, 0x00], Version::Mpeg1, 3, 44_100, 1152, 417),
            ([0xFF, 0xFB, 0x92, 0x00], Version::Mpeg1, 3, 44_100, 1152, 418),
            ([0xFF, 0xFB, 0x14, 0xC0], Version::Mpeg1, 3, 48_000, 1152, 96), // 32 kbps
            ([0xFF, 0xF3, 0x64, 0xC0], Version::Mpeg2, 3, 24_000, 576, 144), // 48 kbps
            ([0xFF, 0xF3, 0x40, 0xC0], Version::Mpeg2, 3, 22_050, 576, 104), // 32 kbps
            ([0xFF, 0xE3, 0x88, 0xC0], Version::Mpeg25, 3, 8_000, 576, 576), // 64 kbps
            ([0xFF, 0xFD, 0x90, 0x00], Version::Mpeg1, 2, 44_100, 1152, 522), // 160 kbps
            ([0xFF, 0xFF, 0x90, 0x00], Version::Mpeg1, 1, 44_100, 384, 312), // 288 kbps
        ];
        for (header, version, layer, rate, samples, length) in cases {
            let h = FrameHeader::parse(&header).unwrap_or_else(|| panic!("{header:02X?}"));
            assert_eq!(
                (h.version, h.layer, h.sample_rate, h.samples, h.length),
                (version, layer, rate, samples, length)
            );
        }
        for bad in [[0xFF, 0xFB, 0x00, 0x00], [0xFF, 0xFB, 0xF0, 0x00], [0xFF, 0xFB, 0x9C, 0x00], [0xFF, 0xEB, 0x90, 0]]
        {
            assert_eq!(FrameHeader::parse(&bad), None, "{bad:02X?}: free format, bad bitrate, rate or version");
        }
        assert_eq!(FrameHeader::parse(&[0xFF, 0xF9, 0x90, 0x00]), None, "layer 0 is reserved");
        assert_eq!(FrameHeader::parse(b"ID3\x04"), None);
    }

    #[test]
    fn mp3_length_counts_frames_after_id3_tags() {
        // 100 frames × 1152 samples at 44.1 kHz = 2612.24 ms.
        let mut mp3 = id3v2(300);
        for i in 0..100 {
            mp3.extend(if i % 3 == 0 { frame(V1_128_44K_PADDED, 418) } else { frame(V1_128_44K, 417) });
        }
        assert_eq!(rounded(mp3_length(&mp3)), Some(2612));
        // An ID3v1 tag at the end, or a last frame cut short, changes nothing.
        let mut tagged = mp3.clone();
        tagged.extend_from_slice(b"TAG");
        tagged.resize(tagged.len() + 125, b' ');
        assert_eq!(rounded(mp3_length(&tagged)), Some(2612));
        let mut cut = mp3.clone();
        cut.extend_from_slice(&frame(V1_128_44K, 417)[..200]);
        assert_eq!(rounded(mp3_length(&cut)), Some(2612));
        // Twice the frames, twice the time (to the rounding).
        let mut double = mp3.clone();
        double.extend_from_slice(&mp3[310..]);
        assert_eq!(rounded(mp3_length(&double)), Some(5224));
        // Zero padding between the tag and the first frame is not audio.
        let mut padded = id3v2(300);
        padded.extend_from_slice(&[0; 57]);
        padded.extend_from_slice(&mp3[310..]);
        assert_eq!(rounded(mp3_length(&padded)), Some(2612));
    }

    #[test]
    fn mp3_length_of_mpeg2_files_as_openai_sends_them() {
        assert_eq!(floor(mp3_length(&mp3_24k(50))), Some(1200));
        let mut cut = mp3_24k(50);
        cut.truncate(cut.len() - 40);
        assert_eq!(floor(mp3_length(&cut)), Some(1176), "a cut-off last frame is not counted");
        assert_eq!(mp3_length(b"{\"error\":{}}"), None);
    }

    #[test]
    fn mp3_length_skips_the_xing_frame_and_handles_mpeg2() {
        // A LAME-style Info frame first: metadata, not audio.
        let mut info = frame(V1_128_44K, 417);
        info[36..40].copy_from_slice(b"Info");
        let mut mp3 = info;
        for _ in 0..50 {
            mp3.extend(frame(V1_128_44K, 417));
        }
        assert_eq!(rounded(mp3_length(&mp3)), Some(1306)); // 50 × 1152 / 44100
        // MPEG-2 Layer III at 24 kHz, 48 kbps mono with a Xing frame at 4 + 9.
        let header = [0xFF, 0xF3, 0x64, 0xC0];
        let mut xing = frame(header, 144);
        xing[13..17].copy_from_slice(b"Xing");
        let mut mp3 = xing;
        for _ in 0..125 {
            mp3.extend(frame(header, 144));
        }
        assert_eq!(rounded(mp3_length(&mp3)), Some(3000)); // 125 × 576 / 24000
    }

    #[test]
    fn mp3_length_refuses_what_it_cannot_read_to_the_end() {
        let mut garbage = frame(V1_128_44K, 417);
        garbage.extend_from_slice(b"not a frame at all, and not a tag either");
        garbage.extend(frame(V1_128_44K, 417));
        assert_eq!(mp3_length(&garbage), None, "garbage between frames");
        let mut mixed = frame(V1_128_44K, 417);
        mixed.extend(frame([0xFF, 0xF3, 0x64, 0xC0], 144));
        assert_eq!(mp3_length(&mixed), None, "another version and rate mid-stream");
        assert_eq!(mp3_length(b""), None);
        assert_eq!(mp3_length(&id3v2(20)), None, "a tag and no audio");
        assert_eq!(mp3_length(b"{\"detail\":\"json, not audio\"}"), None);
        assert_eq!(mp3_length(&frame(V1_128_44K, 100)), None, "only a cut frame");
        assert_eq!(mp3_length(b"\x00\x01junk"), None, "zeros, then no frame");
    }

    #[test]
    fn wav_length_reads_the_data_chunk_over_the_byte_rate() {
        let pcm = vec![0u8; 24_000 * 2 * 3 / 2]; // 1.5 s at 24 kHz, 16-bit mono
        let wav = wav_from_pcm16(&pcm, 24_000, 1);
        assert_eq!(wav.len(), 44 + pcm.len());
        assert_eq!((&wav[..4], &wav[8..16], &wav[36..40]), (&b"RIFF"[..], &b"WAVEfmt "[..], &b"data"[..]));
        assert_eq!(u32::from_le_bytes(wav[4..8].try_into().unwrap()), 36 + pcm.len() as u32);
        assert_eq!(u32::from_le_bytes(wav[28..32].try_into().unwrap()), 48_000, "byte rate");
        assert_eq!(rounded(wav_length(&wav)), Some(1500));
        assert_eq!(duration_ms(&wav, "audio/wav"), Some(1500));
        let stereo = wav_from_pcm16(&pcm, 24_000, 2);
        assert_eq!(rounded(wav_length(&stereo)), Some(750));
    }

    #[test]
    fn wav_length_skips_other_chunks_and_tolerates_streamed_lengths() {
        let wav = wav_from_pcm16(&[0u8; 16_000], 8_000, 1); // 1 s
        // A LIST chunk (odd length, padded) between fmt and data.
        let mut listed = wav[..36].to_vec();
        listed.extend_from_slice(b"LIST");
        listed.extend_from_slice(&5u32.to_le_bytes());
        listed.extend_from_slice(b"INFO!\0");
        listed.extend_from_slice(&wav[36..]);
        assert_eq!(rounded(wav_length(&listed)), Some(1000));
        // A streamed header's 0xFFFFFFFF data length: the bytes present count.
        let mut streamed = wav.clone();
        streamed[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(rounded(wav_length(&streamed)), Some(1000));
        // μ-law (1 byte a sample): the byte rate says so.
        let mut mulaw = wav.clone();
        mulaw[20..22].copy_from_slice(&7u16.to_le_bytes());
        mulaw[28..32].copy_from_slice(&8_000u32.to_le_bytes());
        assert_eq!(rounded(wav_length(&mulaw)), Some(2000));
        assert_eq!(wav_length(&wav[..36]), None, "no data chunk");
        assert_eq!(wav_length(b"RIFF\0\0\0\0AVI "), None);
    }

    #[test]
    fn wav_length_uses_the_bytes_present_when_the_header_was_streamed() {
        assert_eq!(floor(wav_length(&wav_with_list(24_000, 36_000, None))), Some(1500));
        assert_eq!(floor(wav_length(&wav_with_list(24_000, 12_000, Some(u32::MAX)))), Some(500));
        assert_eq!(floor(wav_length(&wav_with_list(24_000, 12_000, Some(0)))), Some(500));
        assert_eq!(wav_length(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(wav_length(&mp3_24k(2)), None);
    }

    /// An Ogg page of `serial` with `granule` carrying `payload` (< 255 bytes).
    fn page(serial: u32, sequence: u32, granule: i64, payload: &[u8]) -> Vec<u8> {
        let mut out = b"OggS\0\0".to_vec();
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&serial.to_le_bytes());
        out.extend_from_slice(&sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // CRC, not checked
        out.push(1);
        out.push(payload.len() as u8);
        out.extend_from_slice(payload);
        out
    }

    fn opus_head(pre_skip: u16) -> Vec<u8> {
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&24_000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]);
        head
    }

    /// One stream: head, tags, a page at 1 s and a last page at `final_granule`.
    fn ogg_opus(pre_skip: u16, final_granule: i64) -> Vec<u8> {
        let mut out = page(0, 0, 0, &opus_head(pre_skip));
        out.extend(page(0, 1, 0, b"OpusTags\0\0\0\0\0\0\0\0"));
        out.extend(page(0, 2, 48_000, &[0xFC; 40]));
        out.extend(page(0, 3, final_granule, &[0xFC; 40]));
        out
    }

    #[test]
    fn ogg_opus_length_is_the_last_granule_less_pre_skip() {
        let mut ogg = page(7, 0, 0, &opus_head(312));
        ogg.extend(page(7, 1, 0, b"OpusTags\0\0\0\0\0\0\0\0"));
        ogg.extend(page(7, 2, 48_000, &[0xFC; 40]));
        ogg.extend(page(9, 0, 999_999, b"another stream"));
        ogg.extend(page(7, 3, -1, &[0xFC; 40])); // no packet ends here
        ogg.extend(page(7, 4, 120_312, &[0xFC; 40]));
        assert_eq!(rounded(ogg_opus_length(&ogg)), Some(2500)); // (120312 - 312) / 48000
        assert_eq!(duration_ms(&ogg, "audio/ogg"), Some(2500));
        let truncated = &ogg[..ogg.len() - 10];
        assert_eq!(ogg_opus_length(truncated), None, "a page cut short");
        let vorbis = page(7, 0, 0, b"\x01vorbis\0\0\0\0");
        assert_eq!(ogg_opus_length(&vorbis), None, "not Opus");
        assert_eq!(floor(ogg_opus_length(&ogg_opus(312, 96_312))), Some(2000));
        assert_eq!(floor(ogg_opus_length(&ogg_opus(312, 0))), None, "a last granule before the pre-skip");
        assert_eq!(ogg_opus_length(b"OggS"), None);
    }

    fn flac(rate: u32, total: u64) -> Vec<u8> {
        let mut out = b"fLaC".to_vec();
        out.extend_from_slice(&[0x80, 0, 0, 34]); // last block, STREAMINFO, 34 bytes
        let mut info = vec![0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0];
        info.push((rate >> 12) as u8);
        info.push((rate >> 4) as u8);
        info.push(((rate & 0x0F) << 4) as u8); // mono; bits per sample - 1 = 15: high bit 0
        info.push(0xF0 | (total >> 32) as u8); // 16 bits per sample (15 = 0b01111)
        info.extend_from_slice(&(total as u32).to_be_bytes());
        info.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&info);
        out
    }

    #[test]
    fn flac_length_comes_from_streaminfo() {
        assert_eq!(floor(flac_length(&flac(24_000, 60_000))), Some(2500));
        assert_eq!(floor(flac_length(&flac(44_100, 1 << 33))), Some(194_783_097));
        assert_eq!(flac_length(&flac(24_000, 0)), None, "a streaming encoder's unknown length");
        assert_eq!(duration_ms(&flac(24_000, 60_000), "audio/flac"), Some(2500));
    }

    fn adts(frames: usize, rate_index: u8) -> Vec<u8> {
        let length = 20usize;
        let mut out = Vec::new();
        for _ in 0..frames {
            out.extend_from_slice(&[
                0xFF,
                0xF1,
                0x40 | (rate_index << 2),
                0x80 | (length >> 11) as u8,
                (length >> 3) as u8,
                ((length & 7) << 5) as u8 | 0x1F,
                0xFC,
            ]);
            out.extend_from_slice(&[0; 13]);
        }
        out
    }

    #[test]
    fn adts_length_counts_its_frames() {
        // 24 kHz (index 6): 1024 samples per frame.
        assert_eq!(floor(adts_length(&adts(75, 6))), Some(3200));
        assert_eq!(adts_length(&adts(0, 6)), None);
        assert_eq!(adts_length(&mp3_24k(3)), None, "an MP3 is not ADTS");
    }

    #[test]
    fn duration_dispatches_on_the_mime_essence() {
        let mut mp3 = Vec::new();
        for _ in 0..375 {
            mp3.extend(frame([0xFF, 0xFB, 0x14, 0xC0], 96)); // 48 kHz: 375 × 24 ms
        }
        assert_eq!(duration_ms(&mp3, "audio/mpeg"), Some(9000));
        assert_eq!(duration_ms(&mp3, "audio/mpeg; charset=binary"), Some(9000));
        assert_eq!(duration_ms(&mp3, "audio/flac"), None);
        assert_eq!(duration_ms(&mp3, "audio/mp4"), None, "MP4 is not read here");
    }

    #[test]
    fn scripts_are_timed_by_words_cjk_characters_breaks_and_speed() {
        assert_eq!(speech_ms("Hello, I'm your AI assistant", 1.0), 5 * 400);
        assert_eq!(speech_ms("Hello, I'm your AI assistant", 0.5), 5 * 800);
        assert_eq!(speech_ms("one two three four five six seven eight nine ten", 1.25), 3_200);
        assert_eq!(speech_ms("你好,欢迎来到我们的平台", 1.0), 11 * 222, "punctuation is not read");
        assert_eq!(speech_ms("Welcome <break time=\"1.5s\"/> to <break time='500ms' /> Doitong", 1.0), 3 * 400 + 2_000);
        assert_eq!(speech_ms("— !", 1.0), MIN_SPEECH_MS, "nothing to read is still a second of video");
        assert_eq!(speech_ms("a <break time=\"soon\"/> b", 1.0), MIN_SPEECH_MS);
    }

    #[test]
    fn sniffed_wav_length_comes_from_its_headers_rounded_up() {
        assert_eq!(sniffed(&wav(16_000, 3_200)), Some((AudioFormat::Wav, Some(3_200))));
        assert_eq!(sniffed(&wav(44_100, 1_000)), Some((AudioFormat::Wav, Some(1_000))));
        // A LIST chunk before the data, and an odd-sized chunk padded to even.
        let mut with_list = wav(8_000, 500);
        let tail = with_list.split_off(36);
        with_list.extend_from_slice(b"LIST\x03\x00\x00\x00abc\x00");
        with_list.extend_from_slice(&tail);
        assert_eq!(sniffed(&with_list), Some((AudioFormat::Wav, Some(500))));
        assert_eq!(sniffed(&wav(16_000, 100)[..40]), Some((AudioFormat::Wav, None)), "no data chunk yet");
    }

    #[test]
    fn sniffed_mp3_length_sums_its_frames_rounded_up() {
        // 100 frames × 1152 samples / 44.1 kHz = 2612.2 ms.
        assert_eq!(sniffed(&mp3_44k(100)), Some((AudioFormat::Mp3, Some(2_613))));
        let without_tag = mp3_44k(10).split_off(30);
        assert_eq!(sniffed(&without_tag), Some((AudioFormat::Mp3, Some(262))));
        assert_eq!(sniffed(&mp3_44k(1)), None, "one frame is not enough to call it MP3");
        assert_eq!(sniffed(b"\xFF\xFB\x90\x64 and then text"), None);
        let layer_two = [frame([0xFF, 0xFD, 0x90, 0x00], 522), frame([0xFF, 0xFD, 0x90, 0x00], 522)].concat();
        assert_eq!(sniffed(&layer_two), None, "MPEG layer II is not MP3");
    }

    #[test]
    fn other_formats_are_recognised_and_named() {
        let mut m4a = vec![0, 0, 0, 32];
        m4a.extend_from_slice(b"ftypM4A ");
        assert_eq!(sniffed(&m4a), Some((AudioFormat::M4a, None)));
        assert_eq!(sniffed(b"OggS\x00\x02rest"), Some((AudioFormat::Ogg, None)));
        assert_eq!(sniffed(b"fLaC\x00\x00"), Some((AudioFormat::Flac, None)));
        assert_eq!(sniffed(&[0x1A, 0x45, 0xDF, 0xA3, 1]), Some((AudioFormat::Webm, None)));
        assert_eq!(sniffed(b"GIF89a"), None);
        assert_eq!(AudioFormat::from_mime("audio/x-wav"), Some(AudioFormat::Wav));
        assert_eq!(AudioFormat::from_mime("audio/mpeg; charset=binary"), Some(AudioFormat::Mp3));
        assert_eq!(AudioFormat::from_mime("video/mp4"), None);
        assert_eq!((AudioFormat::M4a.mime(), AudioFormat::M4a.extension()), ("audio/mp4", "m4a"));
    }
}
