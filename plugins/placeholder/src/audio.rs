//! Speech stand-in: a WAV whose length follows the text, one soft note per
//! character on a pentatonic scale, rests for spaces.

use crate::paint::{Rng, wave};

/// Samples per second of the WAV (16-bit mono).
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// Spoken length of one character at speed 1 (roughly 150 words a minute).
pub const MS_PER_CHARACTER: f64 = 60.0;
/// Shortest clip, so a one-word prompt is still audible.
pub const MIN_DURATION_MS: u32 = 1_000;
/// Longest clip, so a long prompt stays a small file (~1.9 MB).
pub const MAX_DURATION_MS: u32 = 60_000;
/// Slowest and fastest `speed`, as in the manifest.
pub const SPEED_RANGE: (f64, f64) = (0.25, 4.0);
/// Characters that get a note; longer texts are cut (the clip is capped
/// anyway, and a 15 ms note is the shortest the fades allow).
pub const MAX_NOTES: usize = (MAX_DURATION_MS / 15) as usize;
/// Fade in and out of every note, so notes join without clicks.
const FADE_SAMPLES: usize = (SAMPLE_RATE_HZ / 200) as usize; // 5 ms
/// Peak level, leaving headroom below full scale.
const AMPLITUDE: f32 = 0.4 * i16::MAX as f32;

/// Length of the clip for `characters` of text read at `speed` (1 = normal;
/// out-of-range or non-finite speeds are clamped, or taken as 1).
pub fn duration_ms(characters: usize, speed: f64) -> u32 {
    let speed = if speed.is_finite() { speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1) } else { 1.0 };
    let ms = (characters as f64 * MS_PER_CHARACTER / speed).round();
    ms.clamp(f64::from(MIN_DURATION_MS), f64::from(MAX_DURATION_MS)) as u32
}

/// The clip as WAV bytes: `duration_ms` long, the notes spread evenly over it.
pub fn wav(hash: u64, text: &str, duration_ms: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("WAV header into memory");
    for sample in samples(hash, text, duration_ms) {
        writer.write_sample(sample).expect("WAV sample into memory");
    }
    writer.finalize().expect("WAV trailer into memory");
    out.into_inner()
}

/// The clip's samples.
fn samples(hash: u64, text: &str, duration_ms: u32) -> Vec<i16> {
    let total = duration_ms as usize * (SAMPLE_RATE_HZ / 1000) as usize;
    let mut notes: Vec<Option<f32>> = text.chars().take(MAX_NOTES).map(|c| pitch(hash, c)).collect();
    if notes.is_empty() {
        notes.push(pitch(hash, 'a'));
    }
    let note_len = (total / notes.len()).max(1);
    let fade = FADE_SAMPLES.min(note_len / 3).max(1);
    let mut out = Vec::with_capacity(total);
    for i in 0..total {
        let note = (i / note_len).min(notes.len() - 1);
        let Some(hz) = notes[note] else {
            out.push(0);
            continue;
        };
        let start = note * note_len;
        let end = if note == notes.len() - 1 { total } else { start + note_len };
        let (from_start, to_end) = (i - start, end - 1 - i);
        let envelope = from_start.min(to_end).min(fade) as f32 / fade as f32;
        // Phase in turns, computed from the sample index so it never drifts.
        let turns = (from_start as f64 * f64::from(hz) / f64::from(SAMPLE_RATE_HZ)).fract() as f32;
        let tone = 0.8 * wave(turns) + 0.2 * wave(2.0 * turns);
        out.push((AMPLITUDE * envelope * tone).round() as i16);
    }
    out
}

/// The note for one character, or `None` (a rest) for whitespace.
fn pitch(hash: u64, c: char) -> Option<f32> {
    // Major pentatonic ratios (equal temperament) above a hash-chosen root.
    const SCALE: [f32; 5] = [1.0, 1.122_462, 1.259_921, 1.498_307, 1.681_793];
    const ROOTS_HZ: [f32; 5] = [196.0, 220.0, 246.94, 261.63, 293.66];
    if c.is_whitespace() {
        return None;
    }
    let mut rng = Rng::new(hash);
    let root = ROOTS_HZ[(rng.next_u64() % 5) as usize];
    let step = (c as u64).wrapping_add(rng.next_u64() % 5) as usize;
    let octave = [1.0, 2.0][(step / 5) % 2];
    Some(root * SCALE[step % 5] * octave)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (hound::WavSpec, Vec<i16>) {
        let reader = hound::WavReader::new(bytes).unwrap();
        let spec = reader.spec();
        (spec, reader.into_samples::<i16>().map(Result::unwrap).collect())
    }

    #[test]
    fn duration_follows_text_length_and_speed() {
        assert_eq!(duration_ms(50, 1.0), 3_000);
        assert_eq!(duration_ms(50, 2.0), 1_500);
        assert_eq!(duration_ms(50, 0.5), 6_000);
        assert_eq!(duration_ms(5, 1.0), MIN_DURATION_MS);
        assert_eq!(duration_ms(0, 1.0), MIN_DURATION_MS);
        assert_eq!(duration_ms(10_000, 1.0), MAX_DURATION_MS);
        assert_eq!(duration_ms(50, 100.0), duration_ms(50, 4.0));
        assert_eq!(duration_ms(50, f64::NAN), 3_000);
    }

    #[test]
    fn wav_is_16_bit_mono_16_khz_of_the_given_length() {
        let text = "hello there, this is a test";
        let ms = duration_ms(text.chars().count(), 1.0);
        let bytes = wav(9, text, ms);
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..12], b"WAVE");
        let (spec, samples) = decode(&bytes);
        assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 16_000, 16));
        assert_eq!(samples.len(), ms as usize * 16);
        assert_eq!(ms, 27 * 60);
    }

    #[test]
    fn wav_is_deterministic_and_prompt_dependent() {
        assert_eq!(wav(1, "abc def", 1_000), wav(1, "abc def", 1_000));
        assert_ne!(wav(1, "abc def", 1_000), wav(1, "abd def", 1_000));
        assert_ne!(wav(1, "abc def", 1_000), wav(2, "abc def", 1_000));
    }

    #[test]
    fn notes_start_and_end_silent_and_spaces_rest() {
        let (_, samples) = decode(&wav(4, "a b", 1_200));
        let note = samples.len() / 3;
        assert_eq!(samples[0], 0);
        assert_eq!(*samples.last().unwrap(), 0);
        assert_eq!(samples[note - 1], 0, "end of the first note");
        assert!(samples[note..2 * note].iter().all(|&s| s == 0), "space is a rest");
        assert!(samples[..note].iter().any(|&s| s.unsigned_abs() > 5_000), "audible");
        let max_jump = samples.windows(2).map(|w| (w[1] as i32 - w[0] as i32).abs()).max().unwrap();
        assert!(max_jump < 8_000, "a click: jump of {max_jump}");
    }
}
