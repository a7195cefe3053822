//! A placeholder job: what to render (decided once, at submit) and when the
//! simulated vendor is done. The [`Job`] is the task handle, so a `poll`
//! after a host restart renders exactly what `submit` planned.
//!
//! Requests may come from any offering (the host routes every provider to
//! the placeholder in test mode), so options are read when present and of
//! a usable type and ignored otherwise; nothing here fails on options.

use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{animation, audio, image, paint};

/// Long side of generated images.
pub const IMAGE_LONG_SIDE_PX: u32 = 512;
/// Long side of generated videos and avatars (GIFs stay small).
pub const ANIMATION_LONG_SIDE_PX: u16 = 160;
/// Video length when the request gives none.
pub const DEFAULT_DURATION_S: f64 = 5.0;
/// Shortest and longest video, as in the manifest; other offerings'
/// durations are clamped to this.
pub const DURATION_RANGE_S: (f64, f64) = (1.0, 20.0);
/// Most frames a GIF can have.
pub const MAX_FRAMES: u32 = 20 * animation::FRAMES_PER_SECOND;
/// Simulated vendor time for images and audio without `latencyMs`.
pub const DEFAULT_STILL_LATENCY_MS: u64 = 900;
/// Simulated vendor time for videos and avatars without `latencyMs`.
pub const DEFAULT_MOTION_LATENCY_MS: u64 = 1_500;
/// Longest `latencyMs` (10 minutes), as in the manifest.
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Longest wait suggested between polls.
pub const MAX_POLL_INTERVAL_MS: u64 = 300;

/// The state a handle carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// When `submit` ran, in ms since the Unix epoch.
    pub started_ms: u64,
    /// Simulated vendor time from `started_ms` to the result.
    pub latency_ms: u64,
    /// What the result will be.
    pub render: Render,
    /// The `resolution` option, recorded only: files keep their small size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// Everything needed to produce the file, derived from the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Render {
    /// A PNG.
    Image {
        /// FNV-1a of prompt and seed.
        hash: u64,
        /// Pixels.
        width: u32,
        /// Pixels.
        height: u32,
    },
    /// A WAV.
    Audio {
        /// FNV-1a of prompt and seed.
        hash: u64,
        /// The prompt (at most [`audio::MAX_NOTES`] characters): one note each.
        text: String,
        /// Length from the full prompt's length and `speed`.
        duration_ms: u32,
    },
    /// A GIF of stripes and a drifting ball.
    Video {
        /// FNV-1a of prompt and seed.
        hash: u64,
        /// Pixels.
        width: u16,
        /// Pixels.
        height: u16,
        /// At [`animation::FRAMES_PER_SECOND`].
        frames: u32,
    },
    /// A GIF of a talking face.
    Avatar {
        /// FNV-1a of prompt and seed.
        hash: u64,
        /// Pixels.
        width: u16,
        /// Pixels.
        height: u16,
        /// At [`animation::FRAMES_PER_SECOND`].
        frames: u32,
    },
}

/// Where a job stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Not done yet.
    Running {
        /// Share of the latency elapsed, 0..=99.
        percent: u8,
        /// Time left, capped at [`MAX_POLL_INTERVAL_MS`]; at least 1.
        poll_after_ms: u32,
    },
    /// The file can be rendered.
    Done,
}

impl Job {
    /// Plan the job for `request`, submitted at `now_ms`.
    pub fn new(request: &JobRequest, now_ms: u64) -> Job {
        let options = Options::of(request);
        let text = request.input.text.as_deref().unwrap_or("");
        let hash = paint::fnv1a(text, options.integer("seed"));
        let render = match request.kind {
            MediaKind::Image => {
                let (width, height) = dimensions(options.text("aspectRatio"), (1, 1), IMAGE_LONG_SIDE_PX);
                Render::Image { hash, width, height }
            }
            MediaKind::Audio => Render::Audio {
                hash,
                text: text.chars().take(audio::MAX_NOTES).collect(),
                duration_ms: audio::duration_ms(text.chars().count(), options.number("speed").unwrap_or(1.0)),
            },
            MediaKind::Video | MediaKind::Avatar => {
                let default_ratio = if request.kind == MediaKind::Video { (16, 9) } else { (1, 1) };
                let long_side = u32::from(ANIMATION_LONG_SIDE_PX);
                let (width, height) = dimensions(options.text("aspectRatio"), default_ratio, long_side);
                // Both fit: neither exceeds the u16 long side.
                let (width, height) = (width as u16, height as u16);
                let frames = frames(duration_s(options));
                if request.kind == MediaKind::Video {
                    Render::Video { hash, width, height, frames }
                } else {
                    Render::Avatar { hash, width, height, frames }
                }
            }
        };
        let latency_ms = match options.integer("latencyMs") {
            Some(ms) => ms.clamp(0, MAX_LATENCY_MS as i64) as u64,
            None if matches!(render, Render::Image { .. } | Render::Audio { .. }) => DEFAULT_STILL_LATENCY_MS,
            None => DEFAULT_MOTION_LATENCY_MS,
        };
        let resolution = options.text("resolution").map(str::to_string);
        Job { started_ms: now_ms, latency_ms, render, resolution }
    }

    /// Where the job stands at `now_ms` (a clock behind `started_ms`
    /// counts as no time elapsed).
    pub fn step(&self, now_ms: u64) -> Step {
        let elapsed = now_ms.saturating_sub(self.started_ms);
        if elapsed >= self.latency_ms {
            return Step::Done;
        }
        let percent = (elapsed * 100 / self.latency_ms).min(99) as u8;
        let poll_after_ms = (self.latency_ms - elapsed).min(MAX_POLL_INTERVAL_MS) as u32;
        Step::Running { percent, poll_after_ms }
    }

    /// Check a decoded handle, so a tampered one cannot make `poll` render
    /// something huge or malformed.
    pub fn validate(&self) -> Result<(), String> {
        let fits = |w: u32, h: u32, long: u32| w >= 1 && h >= 1 && w.max(h) <= long;
        let ok = match &self.render {
            Render::Image { width, height, .. } => fits(*width, *height, IMAGE_LONG_SIDE_PX),
            Render::Audio { text, duration_ms, .. } => {
                (audio::MIN_DURATION_MS..=audio::MAX_DURATION_MS).contains(duration_ms)
                    && text.chars().count() <= audio::MAX_NOTES
            }
            Render::Video { width, height, frames, .. } | Render::Avatar { width, height, frames, .. } => {
                fits((*width).into(), (*height).into(), ANIMATION_LONG_SIDE_PX.into())
                    && (1..=MAX_FRAMES).contains(frames)
            }
        };
        if ok { Ok(()) } else { Err(format!("task handle describes an impossible file: {:?}", self.render)) }
    }
}

impl Render {
    /// Produce the file.
    pub fn artifact(&self) -> Artifact {
        let (bytes, mime, width, height, duration_ms) = match self {
            Render::Image { hash, width, height } => {
                (image::png(*hash, *width, *height), "image/png", Some(*width), Some(*height), None)
            }
            Render::Audio { hash, text, duration_ms } => {
                (audio::wav(*hash, text, *duration_ms), "audio/wav", None, None, Some(*duration_ms))
            }
            Render::Video { hash, width, height, frames } => {
                let gif = animation::video_gif(*hash, *width, *height, *frames);
                (gif, "image/gif", Some((*width).into()), Some((*height).into()), Some(frames_ms(*frames)))
            }
            Render::Avatar { hash, width, height, frames } => {
                let gif = animation::avatar_gif(*hash, *width, *height, *frames);
                (gif, "image/gif", Some((*width).into()), Some((*height).into()), Some(frames_ms(*frames)))
            }
        };
        Artifact { url: None, bytes: Some(bytes), mime: mime.to_string(), width, height, duration_ms }
    }
}

/// Width and height with `long_side` on the longer axis, for an
/// `aspectRatio` like `16:9` (`default` when absent or unreadable; ratios
/// beyond 4:1 are clamped so the short side stays visible).
pub fn dimensions(aspect_ratio: Option<&str>, default: (u32, u32), long_side: u32) -> (u32, u32) {
    let parse = |text: &str| {
        let (w, h) = text.split_once(':')?;
        let (w, h) = (w.trim().parse::<f64>().ok()?, h.trim().parse::<f64>().ok()?);
        (w > 0.0 && h > 0.0 && (w / h).is_finite()).then_some(w / h)
    };
    let ratio = aspect_ratio.and_then(parse).unwrap_or(f64::from(default.0) / f64::from(default.1));
    let ratio = ratio.clamp(0.25, 4.0);
    let short = |r: f64| ((f64::from(long_side) * r).round() as u32).max(1);
    if ratio >= 1.0 { (long_side, short(1.0 / ratio)) } else { (short(ratio), long_side) }
}

/// The requested `duration` in seconds: a number or integer, or text like
/// `"5"` or `"5s"` from other offerings; clamped to [`DURATION_RANGE_S`].
pub fn duration_s(options: Options<'_>) -> f64 {
    let given = options
        .number("duration")
        .or_else(|| options.text("duration")?.trim().trim_end_matches('s').trim().parse().ok())
        .filter(|s: &f64| s.is_finite());
    given.unwrap_or(DEFAULT_DURATION_S).clamp(DURATION_RANGE_S.0, DURATION_RANGE_S.1)
}

/// Frames for `seconds` of animation.
pub fn frames(seconds: f64) -> u32 {
    ((seconds * f64::from(animation::FRAMES_PER_SECOND)).round() as u32).clamp(1, MAX_FRAMES)
}

/// Play time of `frames` frames.
fn frames_ms(frames: u32) -> u32 {
    frames * (1000 / animation::FRAMES_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: MediaKind, text: &str, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: "kling".into(),
            kind,
            input: JobInput { text: Some(text.into()), image: None, audio: None, video: None, voice: None },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn dimensions_for_each_aspect_ratio() {
        let cases = [
            ("1:1", (512, 512), (160, 160)),
            ("16:9", (512, 288), (160, 90)),
            ("9:16", (288, 512), (90, 160)),
            ("4:3", (512, 384), (160, 120)),
            ("3:4", (384, 512), (120, 160)),
            ("3:2", (512, 341), (160, 107)),
            ("2:3", (341, 512), (107, 160)),
            ("21:9", (512, 219), (160, 69)),
        ];
        for (ratio, image, gif) in cases {
            assert_eq!(dimensions(Some(ratio), (1, 1), 512), image, "{ratio}");
            assert_eq!(dimensions(Some(ratio), (1, 1), 160), gif, "{ratio}");
        }
        assert_eq!(dimensions(None, (16, 9), 160), (160, 90));
        assert_eq!(dimensions(Some("auto"), (1, 1), 512), (512, 512));
        assert_eq!(dimensions(Some("0:1"), (1, 1), 512), (512, 512));
        assert_eq!(dimensions(Some("100:1"), (1, 1), 512), (512, 128));
    }

    #[test]
    fn duration_reads_any_shape_and_clamps() {
        let read = |v: Value| duration_s(Options::new(&[("duration".to_string(), v)]));
        assert_eq!(read(Value::Integer(10)), 10.0);
        assert_eq!(read(Value::Number(2.5)), 2.5);
        assert_eq!(read(Value::Text("6s".into())), 6.0);
        assert_eq!(read(Value::Text("long".into())), DEFAULT_DURATION_S);
        assert_eq!(read(Value::Integer(60)), 20.0);
        assert_eq!(read(Value::Flag(true)), DEFAULT_DURATION_S);
        assert_eq!(duration_s(Options::new(&[])), DEFAULT_DURATION_S);
        assert_eq!(frames(2.5), 25);
    }

    #[test]
    fn foreign_offerings_plan_from_the_options_they_share() {
        let options = [
            ("mode", Value::Text("pro".into())),
            ("duration", Value::Integer(10)),
            ("aspectRatio", Value::Text("9:16".into())),
            ("motionIntensity", Value::Number(0.7)),
        ];
        let job = Job::new(&request(MediaKind::Video, "a cat", &options), 1_000);
        assert_eq!(job.latency_ms, DEFAULT_MOTION_LATENCY_MS);
        let Render::Video { width, height, frames, .. } = job.render else { panic!("{job:?}") };
        assert_eq!((width, height, frames), (90, 160, 100));
        job.validate().unwrap();
    }

    #[test]
    fn defaults_per_kind() {
        let plan = |kind| Job::new(&request(kind, "x", &[]), 0);
        let image = plan(MediaKind::Image);
        assert_eq!(image.latency_ms, 900);
        assert!(matches!(image.render, Render::Image { width: 512, height: 512, .. }));
        assert!(matches!(plan(MediaKind::Video).render, Render::Video { width: 160, height: 90, frames: 50, .. }));
        assert!(matches!(plan(MediaKind::Avatar).render, Render::Avatar { width: 160, height: 160, frames: 50, .. }));
        let audio = plan(MediaKind::Audio);
        assert_eq!(audio.latency_ms, 900);
        assert!(matches!(audio.render, Render::Audio { duration_ms: 1_000, .. }));
    }

    #[test]
    fn seed_and_prompt_change_the_hash() {
        let hash = |text: &str, options: &[(&str, Value)]| match Job::new(&request(MediaKind::Image, text, options), 0)
            .render
        {
            Render::Image { hash, .. } => hash,
            other => panic!("{other:?}"),
        };
        assert_eq!(hash("a", &[]), hash("a", &[("style", Value::Text("noir".into()))]));
        assert_ne!(hash("a", &[]), hash("b", &[]));
        assert_ne!(hash("a", &[("seed", Value::Integer(1))]), hash("a", &[("seed", Value::Integer(2))]));
    }

    #[test]
    fn progress_follows_the_clock() {
        let job = Job::new(&request(MediaKind::Image, "x", &[("latencyMs", Value::Integer(1_000))]), 10_000);
        assert_eq!(job.step(10_000), Step::Running { percent: 0, poll_after_ms: 300 });
        assert_eq!(job.step(10_250), Step::Running { percent: 25, poll_after_ms: 300 });
        assert_eq!(job.step(10_900), Step::Running { percent: 90, poll_after_ms: 100 });
        assert_eq!(job.step(10_999), Step::Running { percent: 99, poll_after_ms: 1 });
        assert_eq!(job.step(11_000), Step::Done);
        assert_eq!(job.step(9_000), Step::Running { percent: 0, poll_after_ms: 300 }, "clock behind");
        let instant = Job::new(&request(MediaKind::Image, "x", &[("latencyMs", Value::Integer(0))]), 5);
        assert_eq!(instant.step(5), Step::Done);
    }

    #[test]
    fn tampered_handles_are_refused() {
        let mut job = Job::new(&request(MediaKind::Video, "x", &[]), 0);
        job.validate().unwrap();
        job.render = Render::Video { hash: 1, width: 60_000, height: 10, frames: 5 };
        assert!(job.validate().is_err());
        job.render = Render::Avatar { hash: 1, width: 10, height: 10, frames: 1_000_000 };
        assert!(job.validate().is_err());
        job.render = Render::Audio { hash: 1, text: String::new(), duration_ms: u32::MAX };
        assert!(job.validate().is_err());
    }
}
