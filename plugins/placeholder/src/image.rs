//! Still images: an RGB PNG with a soft gradient, gentle waves and a glow,
//! coloured by the prompt hash.

use crate::paint::{Rng, Scheme, smoothstep, wave};

/// The image as PNG bytes, `width` × `height` pixels, 8-bit RGB.
pub fn png(hash: u64, width: u32, height: u32) -> Vec<u8> {
    let pixels = paint(hash, width, height);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header of valid dimensions into memory");
    writer.write_image_data(&pixels).expect("PNG data of the declared size into memory");
    writer.finish().expect("PNG trailer into memory");
    out
}

/// Row-major RGB bytes of the picture.
fn paint(hash: u64, width: u32, height: u32) -> Vec<u8> {
    let scheme = Scheme::new(hash);
    let mut rng = Rng::new(hash ^ 0x1111_1111);
    // Gradient direction, as a unit-ish vector from a random angle.
    let angle = rng.unit();
    let (dx, dy) = (wave(angle + 0.25), wave(angle));
    let ripple_phase = rng.unit();
    let ripple_scale = rng.range(1.5, 3.0);
    let (glow_x, glow_y) = (rng.range(0.25, 0.75), rng.range(0.25, 0.75));
    let glow_radius = rng.range(0.22, 0.4);
    let (spark_x, spark_y) = (rng.range(0.15, 0.85), rng.range(0.15, 0.85));
    let spark_radius = glow_radius * 0.45;

    // Coordinates are in units of the long side so circles stay round.
    let unit = 1.0 / width.max(height) as f32;
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        let v = y as f32 * unit;
        for x in 0..width {
            let u = x as f32 * unit;
            let along = (u - 0.5) * dx + (v - 0.5) * dy;
            let ripple = wave(along * ripple_scale + (u - v) * 0.5 + ripple_phase);
            let mut colour = scheme.start.mix(scheme.end, smoothstep(0.5 + along + 0.06 * ripple));
            colour = colour.mix(scheme.accent, 0.85 * glow(u - glow_x, v - glow_y, glow_radius));
            colour = colour.mix(scheme.light, 0.6 * glow(u - spark_x, v - spark_y, spark_radius));
            pixels.extend_from_slice(&colour.bytes());
        }
    }
    pixels
}

/// 1 at the centre of a disc of `radius`, fading smoothly to 0 at its edge.
fn glow(dx: f32, dy: f32, radius: f32) -> f32 {
    let falloff = (1.0 - (dx * dx + dy * dy) / (radius * radius)).max(0.0);
    falloff * falloff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info, buf)
    }

    #[test]
    fn png_decodes_to_the_requested_size() {
        let bytes = png(7, 512, 288);
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (info, pixels) = decode(&bytes);
        assert_eq!((info.width, info.height), (512, 288));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(pixels.len(), 512 * 288 * 3);
    }

    #[test]
    fn png_is_deterministic_and_prompt_dependent() {
        assert_eq!(png(1, 64, 48), png(1, 64, 48));
        assert_ne!(png(1, 64, 48), png(2, 64, 48));
    }

    #[test]
    fn png_is_not_a_flat_colour() {
        let (_, pixels) = decode(&png(3, 128, 128));
        let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
        assert!(distinct.len() > 100, "only {} colours", distinct.len());
    }
}
