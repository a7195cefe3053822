//! Shared arithmetic for the generators: the prompt hash, a small random
//! sequence, colours and a sine approximation.
//!
//! Everything here uses only `+ - * /`, `floor` and comparisons, which
//! IEEE 754 defines exactly, so a file rendered natively in tests is
//! byte-identical to one rendered inside the wasm guest (`f32::sin` and
//! `powf` come from the platform's libm and may differ in the last bit).

/// FNV-1a (64-bit) of the prompt, then of the `seed` option if given: the
/// single number every generated file is derived from.
pub fn fnv1a(prompt: &str, seed: Option<i64>) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    };
    prompt.bytes().for_each(&mut eat);
    if let Some(seed) = seed {
        eat(0);
        seed.to_le_bytes().into_iter().for_each(&mut eat);
    }
    hash
}

/// SplitMix64: a tiny, well-mixed sequence seeded by the hash.
pub struct Rng(u64);

impl Rng {
    /// A sequence starting from `hash`.
    pub fn new(hash: u64) -> Self {
        Rng(hash)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A number in `[low, high)`.
    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }
}

/// `sin(2πx)` for `x` in turns, within about 0.001 of the real thing.
pub fn wave(turns: f32) -> f32 {
    // Map to [-0.5, 0.5), take the parabola through the sine's zeros and
    // peaks, then pull it towards the sine with one correction step.
    let x = turns - (turns + 0.5).floor();
    let y = 8.0 * x - 16.0 * x * x.abs();
    0.225 * (y * y.abs() - y) + y
}

/// Hermite smoothing of `t` clamped to `[0, 1]`.
pub fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// An RGB colour with channels in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    /// From hue (turns), saturation and value, all in `[0, 1]`.
    pub fn hsv(hue: f32, saturation: f32, value: f32) -> Rgb {
        let h = (hue - hue.floor()) * 6.0;
        let sector = h.floor();
        let f = h - sector;
        let p = value * (1.0 - saturation);
        let q = value * (1.0 - saturation * f);
        let t = value * (1.0 - saturation * (1.0 - f));
        match sector as u8 {
            0 => Rgb(value, t, p),
            1 => Rgb(q, value, p),
            2 => Rgb(p, value, t),
            3 => Rgb(p, q, value),
            4 => Rgb(t, p, value),
            _ => Rgb(value, p, q),
        }
    }

    /// `self` at `t = 0`, `other` at `t = 1`.
    pub fn mix(self, other: Rgb, t: f32) -> Rgb {
        Rgb(self.0 + (other.0 - self.0) * t, self.1 + (other.1 - self.1) * t, self.2 + (other.2 - self.2) * t)
    }

    /// 8-bit channels, rounded and clamped.
    pub fn bytes(self) -> [u8; 3] {
        let byte = |c: f32| (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        [byte(self.0), byte(self.1), byte(self.2)]
    }
}

/// The colours of one prompt: two for gradients, an accent, and a
/// near-black and near-white tinted with the base hue.
pub struct Scheme {
    /// Light end of the gradient.
    pub start: Rgb,
    /// Dark end of the gradient.
    pub end: Rgb,
    /// The colour of shapes on top.
    pub accent: Rgb,
    /// Eyes, mouths, outlines.
    pub dark: Rgb,
    /// Highlights.
    pub light: Rgb,
}

impl Scheme {
    /// Colours derived from `hash`: hues a third to two thirds of a turn
    /// apart, with moderate saturation so every prompt looks pleasant.
    pub fn new(hash: u64) -> Scheme {
        let mut rng = Rng::new(hash);
        let hue = rng.unit();
        let end_hue = hue + rng.range(0.33, 0.67);
        let accent_hue = hue + rng.range(0.12, 0.25);
        Scheme {
            start: Rgb::hsv(hue, rng.range(0.35, 0.6), rng.range(0.85, 0.97)),
            end: Rgb::hsv(end_hue, rng.range(0.5, 0.75), rng.range(0.45, 0.65)),
            accent: Rgb::hsv(accent_hue, rng.range(0.55, 0.8), rng.range(0.9, 1.0)),
            dark: Rgb::hsv(hue, 0.5, 0.16),
            light: Rgb::hsv(hue, 0.08, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a("", None), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a", None), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(fnv1a("a", Some(1)), fnv1a("a", Some(2)));
        assert_ne!(fnv1a("a", Some(0)), fnv1a("a", None));
    }

    #[test]
    fn wave_follows_the_sine() {
        for i in -40..=40 {
            let turns = i as f32 / 16.0;
            let exact = (turns * std::f32::consts::TAU).sin();
            assert!((wave(turns) - exact).abs() < 0.002, "at {turns}: {} vs {exact}", wave(turns));
        }
    }

    #[test]
    fn hsv_covers_primaries() {
        assert_eq!(Rgb::hsv(0.0, 1.0, 1.0).bytes(), [255, 0, 0]);
        assert_eq!(Rgb::hsv(1.0 / 3.0, 1.0, 1.0).bytes(), [0, 255, 0]);
        assert_eq!(Rgb::hsv(2.0 / 3.0, 1.0, 1.0).bytes(), [0, 0, 255]);
        assert_eq!(Rgb::hsv(0.5, 0.0, 0.5).bytes(), [128, 128, 128]);
    }
}
