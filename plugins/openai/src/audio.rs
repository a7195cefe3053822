//! The speech file formats OpenAI offers, and how long each file plays.
//!
//! OpenAI's speech endpoint answers with the audio and nothing about it,
//! and the host probes images and MP4 only, so the plugin measures the
//! duration of every format it offers with the SDK's `audio` readers:
//!
//! | format | container  | reader                                                   |
//! |--------|------------|----------------------------------------------------------|
//! | `mp3`  | MPEG audio | `mp3_length`: every frame walked, ID3 tags skipped, a Xing/Info frame not counted, a cut-off last frame not counted |
//! | `wav`  | RIFF       | `wav_length`: `data` bytes ÷ `fmt ` byte rate; a streamed header's placeholder size (0 or 0xFFFFFFFF) is replaced by the bytes present |
//! | `flac` | FLAC       | `flac_length`: STREAMINFO total samples ÷ sample rate (unknown when a streaming encoder left it 0) |
//! | `opus` | Ogg        | `ogg_opus_length`: last page's granule position − OpusHead pre-skip, at 48 kHz |
//! | `aac`  | ADTS       | `adts_length`: every frame walked, 1024 samples per raw data block |
//!
//! Durations are rounded down to the millisecond. Unreadable files give
//! `None` (the generation still succeeds, without a duration).

use doitong_plugin_sdk::audio::{self, AudioLength};

/// A speech file format, as the `format` option names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioFormat {
    /// MP3 (OpenAI's default).
    Mp3,
    /// Opus in an Ogg container.
    Opus,
    /// AAC in ADTS frames.
    Aac,
    /// FLAC.
    Flac,
    /// 16-bit PCM WAV.
    Wav,
}

impl AudioFormat {
    /// Every format, in option order.
    pub const ALL: [AudioFormat; 5] =
        [AudioFormat::Mp3, AudioFormat::Opus, AudioFormat::Aac, AudioFormat::Flac, AudioFormat::Wav];

    /// The option value, also OpenAI's `response_format`.
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Opus => "opus",
            AudioFormat::Aac => "aac",
            AudioFormat::Flac => "flac",
            AudioFormat::Wav => "wav",
        }
    }

    /// The format an option value names.
    pub fn from_name(name: &str) -> Option<AudioFormat> {
        AudioFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The MIME type of the file.
    pub fn mime(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::Opus => "audio/ogg",
            AudioFormat::Aac => "audio/aac",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::Wav => "audio/wav",
        }
    }

    /// Milliseconds of audio in `bytes` (rounded down), if the file says
    /// and it is not empty.
    pub fn duration_ms(self, bytes: &[u8]) -> Option<u32> {
        let length = match self {
            AudioFormat::Mp3 => audio::mp3_length(bytes),
            AudioFormat::Opus => audio::ogg_opus_length(bytes),
            AudioFormat::Aac => audio::adts_length(bytes),
            AudioFormat::Flac => audio::flac_length(bytes),
            AudioFormat::Wav => audio::wav_length(bytes),
        };
        length.and_then(AudioLength::ms_floor).filter(|ms| *ms > 0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An MP3 of `frames` MPEG-2 Layer III frames (24 kHz mono, 32 kbit/s:
    /// 96 bytes and 24 ms each) after an ID3v2 tag, as OpenAI's files open.
    pub(crate) fn sample_mp3(frames: usize) -> Vec<u8> {
        let mut out = b"ID3\x04\x00\x00\x00\x00\x00\x0a".to_vec();
        out.extend_from_slice(&[0; 10]);
        for _ in 0..frames {
            out.extend_from_slice(&[0xFF, 0xF3, 0x44, 0xC0]);
            out.extend_from_slice(&[0; 92]);
        }
        out
    }

    /// A 16-bit mono WAV at `rate` with `samples` samples; `announced`
    /// replaces the data chunk's size (streamed files announce 0 or
    /// 0xFFFFFFFF).
    pub(crate) fn sample_wav(rate: u32, samples: u32, announced: Option<u32>) -> Vec<u8> {
        let mut out = audio::wav_from_pcm16(&vec![0; samples as usize * 2], rate, 1);
        if let Some(size) = announced {
            out[40..44].copy_from_slice(&size.to_le_bytes());
        }
        out
    }

    #[test]
    fn every_format_is_measured_rounded_down_and_empty_files_have_no_duration() {
        assert_eq!(AudioFormat::Mp3.duration_ms(&sample_mp3(50)), Some(1200));
        assert_eq!(AudioFormat::Wav.duration_ms(&sample_wav(24_000, 12_000, Some(u32::MAX))), Some(500));
        assert_eq!(AudioFormat::Wav.duration_ms(&sample_wav(3, 2, None)), Some(666), "666.7 ms, rounded down");
        assert_eq!(AudioFormat::Wav.duration_ms(&sample_wav(24_000, 0, None)), None, "no audio, no duration");
        assert_eq!(AudioFormat::Flac.duration_ms(b"fLaC"), None);
        assert_eq!(AudioFormat::Opus.duration_ms(b"OggS"), None);
        assert_eq!(AudioFormat::Aac.duration_ms(&sample_mp3(3)), None, "an MP3 is not ADTS");
    }

    #[test]
    fn formats_name_their_mime_types() {
        let table: Vec<(&str, &str)> = AudioFormat::ALL.iter().map(|f| (f.name(), f.mime())).collect();
        assert_eq!(
            table,
            [
                ("mp3", "audio/mpeg"),
                ("opus", "audio/ogg"),
                ("aac", "audio/aac"),
                ("flac", "audio/flac"),
                ("wav", "audio/wav")
            ]
        );
        assert_eq!(AudioFormat::from_name("pcm"), None);
    }
}
