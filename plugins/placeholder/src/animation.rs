//! Video and avatar stand-ins: looping animated GIFs at 10 frames a second.
//!
//! Both use one 16-colour palette from the prompt's [`Scheme`] and large
//! flat areas, which LZW compresses well: 20 s at 160 × 90 stays far below
//! 1.5 MB.

use crate::paint::{Rgb, Rng, Scheme, wave};

/// Frames per second of every GIF.
pub const FRAMES_PER_SECOND: u32 = 10;
/// GIF frame delay, in the format's unit of 10 ms.
const FRAME_DELAY_CS: u16 = (100 / FRAMES_PER_SECOND) as u16;

// Palette layout: a ramp of gradient shades, then the shape colours.
const RAMP: u8 = 8;
const ACCENT: u8 = 8;
const LIGHT: u8 = 9;
const DARK: u8 = 10;
const OUTLINE: u8 = 11;
const BLUSH: u8 = 12;

/// A moving picture: diagonal stripes sliding across a gradient, and a
/// ball drifting over them.
pub fn video_gif(hash: u64, width: u16, height: u16, frames: u32) -> Vec<u8> {
    let mut rng = Rng::new(hash ^ 0x2222_2222);
    let (phase_x, phase_y) = (rng.unit(), rng.unit());
    let (rate_x, rate_y) = (rng.range(0.12, 0.2), rng.range(0.15, 0.3));
    let slope = rng.range(0.3, 0.8);
    let (w, h) = (f32::from(width), f32::from(height));
    let radius = w.min(h) * 0.2;
    let mut canvas = Canvas::new(width, height);
    encode(hash, &mut canvas, frames, |canvas, frame| {
        let seconds = frame as f32 / FRAMES_PER_SECOND as f32;
        // Stripes: 16 bands per cycle, shading up the ramp and back down.
        canvas.fill(|x, y| {
            let band = ((x + y * slope) / w + seconds * 0.25).fract() * 16.0;
            let band = band as u8 % 16;
            if band < RAMP { band } else { 15 - band }
        });
        let cx = w * (0.5 + 0.32 * wave(seconds * rate_x + phase_x));
        let cy = h * (0.5 + 0.28 * wave(seconds * rate_y + phase_y));
        canvas.disc(cx, cy, radius, ACCENT);
        canvas.disc(cx - radius * 0.35, cy - radius * 0.35, radius * 0.3, LIGHT);
    })
}

/// A talking head: a round face that bobs gently, blinks now and then and
/// opens and closes its mouth as if speaking.
pub fn avatar_gif(hash: u64, width: u16, height: u16, frames: u32) -> Vec<u8> {
    let mut rng = Rng::new(hash ^ 0x3333_3333);
    let blink_offset = (rng.next_u64() % 30) as u32;
    let talk_rate = rng.range(0.9, 1.4);
    let talk_phase = rng.unit();
    let (w, h) = (f32::from(width), f32::from(height));
    let face = w.min(h) * 0.36;
    let mut canvas = Canvas::new(width, height);
    encode(hash, &mut canvas, frames, |canvas, frame| {
        let seconds = frame as f32 / FRAMES_PER_SECOND as f32;
        canvas.fill(|_, y| ((y / h) * RAMP as f32) as u8 % RAMP);
        let cx = w * 0.5;
        let cy = h * 0.52 + face * 0.04 * wave(seconds * 0.5);
        canvas.disc(cx, cy, face + 1.5, OUTLINE);
        canvas.disc(cx, cy, face, ACCENT);
        for side in [-1.0, 1.0] {
            let eye_x = cx + side * face * 0.38;
            let eye_y = cy - face * 0.2;
            if (frame + blink_offset) % 30 < 2 {
                canvas.ellipse(eye_x, eye_y, face * 0.13, face * 0.03, DARK);
            } else {
                canvas.disc(eye_x, eye_y, face * 0.11, DARK);
                canvas.disc(eye_x - face * 0.03, eye_y - face * 0.03, face * 0.035, LIGHT);
            }
            canvas.ellipse(cx + side * face * 0.55, cy + face * 0.2, face * 0.12, face * 0.07, BLUSH);
        }
        // Syllables: a fast open-close, its depth varying like phrasing.
        let open = wave(seconds * talk_rate + talk_phase).abs() * (0.4 + 0.6 * wave(seconds * 0.37).abs());
        canvas.ellipse(cx, cy + face * 0.42, face * 0.3, face * (0.04 + 0.2 * open), DARK);
    })
}

/// Draw `frames` frames with `draw` and encode them as a looping GIF.
fn encode(hash: u64, canvas: &mut Canvas, frames: u32, mut draw: impl FnMut(&mut Canvas, u32)) -> Vec<u8> {
    let palette = palette(&Scheme::new(hash));
    let mut out = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut out, canvas.width, canvas.height, &palette).expect("GIF header into memory");
        encoder.set_repeat(gif::Repeat::Infinite).expect("GIF loop extension into memory");
        for frame in 0..frames {
            draw(canvas, frame);
            let gif_frame = gif::Frame {
                width: canvas.width,
                height: canvas.height,
                delay: FRAME_DELAY_CS,
                buffer: std::borrow::Cow::Borrowed(&canvas.pixels),
                ..gif::Frame::default()
            };
            encoder.write_frame(&gif_frame).expect("GIF frame into memory");
        }
    }
    out
}

/// 16 RGB triples: the ramp from the scheme's start to its end, then the
/// shape colours, padded with black.
fn palette(scheme: &Scheme) -> Vec<u8> {
    let mut colours: Vec<Rgb> =
        (0..RAMP).map(|i| scheme.start.mix(scheme.end, f32::from(i) / f32::from(RAMP - 1))).collect();
    colours.extend([
        scheme.accent,
        scheme.light,
        scheme.dark,
        scheme.dark.mix(scheme.end, 0.3),
        scheme.accent.mix(Rgb(1.0, 0.45, 0.5), 0.5),
    ]);
    colours.resize(16, Rgb(0.0, 0.0, 0.0));
    colours.iter().flat_map(|c| c.bytes()).collect()
}

/// One frame's palette indices, row-major.
struct Canvas {
    width: u16,
    height: u16,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u16, height: u16) -> Self {
        Canvas { width, height, pixels: vec![0; usize::from(width) * usize::from(height)] }
    }

    /// Set every pixel from its centre's coordinates.
    fn fill(&mut self, colour: impl Fn(f32, f32) -> u8) {
        let width = usize::from(self.width);
        for (i, pixel) in self.pixels.iter_mut().enumerate() {
            let (x, y) = ((i % width) as f32 + 0.5, (i / width) as f32 + 0.5);
            *pixel = colour(x, y);
        }
    }

    fn disc(&mut self, cx: f32, cy: f32, radius: f32, colour: u8) {
        self.ellipse(cx, cy, radius, radius, colour);
    }

    /// Paint the pixels whose centres lie inside the axis-aligned ellipse.
    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, colour: u8) {
        let width = usize::from(self.width);
        let rows = (cy - ry).floor().max(0.0) as usize..((cy + ry).ceil().max(0.0) as usize).min(self.height.into());
        let columns = (cx - rx).floor().max(0.0) as usize..((cx + rx).ceil().max(0.0) as usize).min(width);
        for y in rows {
            let dy = (y as f32 + 0.5 - cy) / ry;
            for x in columns.clone() {
                let dx = (x as f32 + 0.5 - cx) / rx;
                if dx * dx + dy * dy <= 1.0 {
                    self.pixels[y * width + x] = colour;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (width, height, frame count, delays, decoded indexed frames).
    fn decode(bytes: &[u8]) -> (u16, u16, Vec<u16>, Vec<Vec<u8>>) {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::Indexed);
        let mut decoder = options.read_info(bytes).unwrap();
        let (width, height) = (decoder.width(), decoder.height());
        let (mut delays, mut frames) = (Vec::new(), Vec::new());
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            assert_eq!((frame.width, frame.height), (width, height));
            delays.push(frame.delay);
            frames.push(frame.buffer.to_vec());
        }
        (width, height, delays, frames)
    }

    #[test]
    fn video_has_one_frame_per_tenth_of_a_second() {
        let bytes = video_gif(5, 160, 90, 30);
        assert_eq!(&bytes[..6], b"GIF89a");
        let (width, height, delays, frames) = decode(&bytes);
        assert_eq!((width, height), (160, 90));
        assert_eq!(frames.len(), 30);
        assert!(delays.iter().all(|&d| d == 10));
    }

    #[test]
    fn frames_move() {
        for bytes in [video_gif(5, 160, 90, 10), avatar_gif(5, 160, 160, 10)] {
            let (_, _, _, frames) = decode(&bytes);
            let changed = frames.windows(2).filter(|pair| pair[0] != pair[1]).count();
            assert!(changed >= 8, "only {changed} of 9 frame pairs differ");
        }
    }

    #[test]
    fn gifs_are_deterministic_and_prompt_dependent() {
        assert_eq!(video_gif(1, 40, 30, 5), video_gif(1, 40, 30, 5));
        assert_ne!(video_gif(1, 40, 30, 5), video_gif(2, 40, 30, 5));
        assert_eq!(avatar_gif(1, 40, 40, 5), avatar_gif(1, 40, 40, 5));
        assert_ne!(avatar_gif(1, 40, 40, 5), avatar_gif(2, 40, 40, 5));
        assert_ne!(video_gif(1, 40, 40, 5), avatar_gif(1, 40, 40, 5));
    }

    #[test]
    fn twenty_seconds_stay_small() {
        // The largest canvas (1:1); 16:9 measures about 330 kB and 1:1 avatars 260 kB.
        let video = video_gif(0xdead_beef, 160, 160, 200).len();
        let avatar = avatar_gif(0xdead_beef, 160, 160, 200).len();
        assert!(video < 1_500_000, "video: {video} bytes");
        assert!(avatar < 1_500_000, "avatar: {avatar} bytes");
    }
}
