//! The `placeholder` provider: Doitong's test mode, with no vendor behind it.
//!
//! It owns one offering, `placeholder`, and in test mode the host also
//! sends it every request meant for a real offering, so `submit` and `poll`
//! accept any offering id and any options, reading only the ones below when
//! present. Results are real, small files derived deterministically from
//! the prompt and the `seed` option, delivered after a simulated vendor
//! latency: PNG images, WAV audio, animated GIF videos and avatars.
//!
//! It never makes HTTP calls, reads secrets or keeps state between calls:
//! everything `poll` needs travels in the handle.
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue, with the clock
//!   passed in ([`submit_at`], [`poll_at`]) so tests never sleep;
//! - [`job`]: request → render plan and simulated progress (the handle);
//! - [`image`], [`audio`], [`animation`]: the file generators;
//! - [`paint`]: the hash, colours and platform-exact arithmetic they share.

#![deny(missing_docs)]

use std::time::{SystemTime, UNIX_EPOCH};

use doitong_plugin_sdk::prelude::*;

pub mod animation;
pub mod audio;
pub mod image;
pub mod job;
pub mod paint;

use job::{Job, Step};

/// The plugin's id, and its one offering's.
pub const ID: &str = "placeholder";
/// Typical seconds to a result with the default latencies.
pub const ESTIMATED_SECONDS: u32 = 2;

/// The placeholder provider.
pub struct Placeholder;

impl Provider for Placeholder {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: "1.0.0".to_string(),
            vendor: "Doitong".to_string(),
            offerings: vec![offering()],
            allowed_hosts: Vec::new(),
            secrets: Vec::new(),
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        Ok(quote(&request))
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        Ok(submit_at(&request, now_ms()))
    }

    fn poll(handle: String) -> Progress {
        poll_at(&handle, now_ms())
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

export_plugin!(Placeholder);

/// The `placeholder` offering.
pub fn offering() -> Offering {
    const RATIOS: &[&str] = &["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"];
    OfferingBuilder::new(
        ID,
        "Placeholder (test mode)",
        &[MediaKind::Video, MediaKind::Image, MediaKind::Audio, MediaKind::Avatar],
    )
    .description(
        "Real but simple files made on the spot from the prompt, with no vendor: a PNG \
         gradient, a WAV tone sequence as long as the text takes to read, or an animated \
         GIF. The same prompt and seed always give the same file.",
    )
    .accepts(&[InputField::Text, InputField::Image, InputField::Audio, InputField::Video, InputField::Voice])
    .requires(&[InputField::Text])
    .features(&["deterministic", "no vendor"])
    .limitations(&["images are 512 px and videos 160 px on the long side, whatever the resolution"])
    .option(OptionBuilder::text("aspectRatio", "Width:height of images and videos").allowed(RATIOS))
    .option(
        OptionBuilder::number("duration", "Seconds of video or avatar; audio length follows the text instead")
            .range(1.0, 20.0),
    )
    .option(
        OptionBuilder::text("resolution", "Accepted and recorded; files stay small")
            .allowed(&["480p", "720p", "1080p"]),
    )
    .option(OptionBuilder::text("style", "Free text, accepted and ignored"))
    .option(OptionBuilder::text("quality", "Free text, accepted and ignored"))
    .option(OptionBuilder::integer("seed", "Varies the file for the same prompt"))
    .option(OptionBuilder::text("voice", "Accepted and ignored"))
    .option(OptionBuilder::text("emotion", "Accepted and ignored"))
    .option(OptionBuilder::number("speed", "Reading speed of audio, 1 = normal").range(0.25, 4.0))
    .option(OptionBuilder::integer("latencyMs", "Simulated vendor time in ms").range(0.0, 600_000.0))
    .quality(1)
    .credits(1)
    .estimated_seconds(ESTIMATED_SECONDS)
    .build()
}

/// Our own offering by its pricing; any other offering (test mode) costs
/// 1 credit. Time is `latencyMs` rounded up to seconds when given.
pub fn quote(request: &JobRequest) -> Quote {
    let offering = offering();
    let credits = if request.offering == offering.id { spec::price(&offering, &request.options) } else { 1 };
    let estimated_seconds = match Options::of(request).integer("latencyMs") {
        Some(ms) => (ms.clamp(0, job::MAX_LATENCY_MS as i64) as u64).div_ceil(1000) as u32,
        None => offering.estimated_seconds,
    };
    Quote { credits, estimated_seconds }
}

/// `submit` with the clock given: done at once when the latency is 0.
pub fn submit_at(request: &JobRequest, now_ms: u64) -> Submitted {
    let job = Job::new(request, now_ms);
    match job.step(now_ms) {
        Step::Done => Submitted::Done(vec![job.render.artifact()]),
        Step::Running { percent, poll_after_ms } => {
            Submitted::Running(Running { handle: handle::encode(&job), percent: Some(percent), poll_after_ms })
        }
    }
}

/// `poll` with the clock given.
pub fn poll_at(task_handle: &str, now_ms: u64) -> Progress {
    let job: Job = match handle::decode(task_handle) {
        Ok(job) => job,
        Err(failure) => return Progress::Failed(failure),
    };
    if let Err(why) = job.validate() {
        return Progress::Failed(failure::invalid_input(why));
    }
    match job.step(now_ms) {
        Step::Done => Progress::Done(vec![job.render.artifact()]),
        Step::Running { percent, poll_after_ms } => {
            Progress::Running(Running { handle: task_handle.to_string(), percent: Some(percent), poll_after_ms })
        }
    }
}

/// Wall-clock ms since the Unix epoch (WASI clocks under wasip2).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(offering: &str, kind: MediaKind, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: offering.into(),
            kind,
            input: JobInput {
                text: Some("a red fox at dawn".into()),
                image: None,
                audio: None,
                video: None,
                voice: None,
            },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn manifest_matches_the_contract() {
        let manifest = Placeholder::manifest();
        assert_eq!(
            (manifest.id.as_str(), manifest.version.as_str(), manifest.vendor.as_str()),
            ("placeholder", "1.0.0", "Doitong")
        );
        assert!(manifest.allowed_hosts.is_empty() && manifest.secrets.is_empty());
        let [offering] = &manifest.offerings[..] else { panic!("one offering") };
        assert_eq!(offering.kinds.len(), 4);
        assert_eq!((offering.quality, offering.base_credits, offering.estimated_seconds), (1, 1, 2));
        let names: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "aspectRatio",
                "duration",
                "resolution",
                "style",
                "quality",
                "seed",
                "voice",
                "emotion",
                "speed",
                "latencyMs"
            ]
        );
        assert!(offering.options.iter().all(|o| !o.required && o.default.is_none()));
    }

    #[test]
    fn quotes_own_and_foreign_offerings() {
        let own = quote(&request(ID, MediaKind::Image, &[]));
        assert_eq!((own.credits, own.estimated_seconds), (1, 2));
        let foreign = quote(&request("kling", MediaKind::Video, &[("mode", Value::Text("pro".into()))]));
        assert_eq!((foreign.credits, foreign.estimated_seconds), (1, 2));
        let slow = request(ID, MediaKind::Video, &[("latencyMs", Value::Integer(4_200))]);
        assert_eq!(quote(&slow).estimated_seconds, 5);
    }

    #[test]
    fn submit_then_poll_until_done() {
        let options = [("duration", Value::Integer(3)), ("motionIntensity", Value::Number(0.5))];
        let Submitted::Running(running) = submit_at(&request("kling", MediaKind::Video, &options), 1_000) else {
            panic!("video takes time")
        };
        assert_eq!((running.percent, running.poll_after_ms), (Some(0), 300));
        let Progress::Running(halfway) = poll_at(&running.handle, 1_750) else { panic!("not yet done") };
        assert_eq!((halfway.percent, halfway.handle.as_str()), (Some(50), running.handle.as_str()));
        let Progress::Done(artifacts) = poll_at(&running.handle, 2_500) else { panic!("done after 1.5 s") };
        let [artifact] = &artifacts[..] else { panic!("one artifact") };
        assert_eq!(artifact.mime, "image/gif");
        assert_eq!((artifact.width, artifact.height, artifact.duration_ms), (Some(160), Some(90), Some(3_000)));
        assert!(artifact.url.is_none() && artifact.bytes.as_ref().is_some_and(|b| b.starts_with(b"GIF89a")));
    }

    #[test]
    fn zero_latency_is_done_at_submit() {
        let request = request(ID, MediaKind::Audio, &[("latencyMs", Value::Integer(0)), ("speed", Value::Number(0.5))]);
        let Submitted::Done(artifacts) = submit_at(&request, 0) else { panic!("instant") };
        assert_eq!(artifacts[0].mime, "audio/wav");
        assert_eq!(artifacts[0].duration_ms, Some(17 * 60 * 2));
        assert_eq!((artifacts[0].width, artifacts[0].height), (None, None));
    }

    #[test]
    fn image_artifact_reports_its_size() {
        let request = request(
            ID,
            MediaKind::Image,
            &[("latencyMs", Value::Integer(0)), ("aspectRatio", Value::Text("3:4".into()))],
        );
        let Submitted::Done(artifacts) = submit_at(&request, 0) else { panic!("instant") };
        assert_eq!(
            (artifacts[0].mime.as_str(), artifacts[0].width, artifacts[0].height),
            ("image/png", Some(384), Some(512))
        );
    }

    #[test]
    fn corrupt_handles_fail_as_invalid_input() {
        for handle in [
            "",
            "spin",
            "{}",
            r#"{"started_ms":0,"latency_ms":0,"render":{"kind":"image","hash":1,"width":99999,"height":1}}"#,
        ] {
            let Progress::Failed(failure) = poll_at(handle, 0) else { panic!("{handle:?} accepted") };
            assert_eq!(failure.code, FailureCode::InvalidInput, "{handle:?}");
        }
    }
}
