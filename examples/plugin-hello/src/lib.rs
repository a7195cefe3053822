//! `hello`: an example third-party Doitong plugin, with no vendor behind it.
//!
//! It serves one offering, `hello-card`, that sets the prompt on an SVG
//! "card" (800 × 418 by default, the shape of a link preview). Rendering
//! happens inside the plugin, so `submit` finishes at once with the file's
//! bytes; there is nothing to poll, nothing to cancel, no HTTP and no
//! secret. A real adapter has the same shape with `http::post(…)` in
//! `submit` and a task handle for `poll` (see `docs/plugins.md`).
//!
//! Layout:
//! - this file: the manifest and the thin [`Provider`] glue, with the work
//!   in plain functions ([`card_for`]) so native tests can call them;
//! - [`card`]: the SVG itself (wrapping, escaping, themes), pure.

#![deny(missing_docs)]

use doitong_plugin_sdk::prelude::*;

pub mod card;

use card::Theme;

/// The plugin's id: the key of its operator config (`[plugins.hello]`).
pub const ID: &str = "hello";
/// The one offering: what users pass as `provider`.
pub const OFFERING: &str = "hello-card";
/// The plugin's version, from Cargo.toml: bump it there to release.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Flat price of a card, in credits.
pub const CREDITS: u32 = 2;
/// Typical seconds to a result.
pub const ESTIMATED_SECONDS: u32 = 1;
/// Narrowest card, in pixels.
pub const MIN_WIDTH: u32 = 200;
/// Widest card, in pixels.
pub const MAX_WIDTH: u32 = 2000;
/// MIME type of every card.
pub const MIME: &str = "image/svg+xml";

/// The provider.
pub struct Hello;

impl Provider for Hello {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.to_string(),
            version: VERSION.to_string(),
            vendor: "Example Corp".to_string(),
            offerings: vec![offering()],
            // No vendor to call and no key to read. An adapter lists its
            // vendor's origin first (operators can move it with `base_url`).
            allowed_hosts: Vec::new(),
            secrets: Vec::new(),
        }
    }

    fn quote(request: JobRequest) -> Result<Quote, Failure> {
        // Flat pricing; `spec::price` applies the offering's price rules the
        // way the host does, so adding a rule later needs no change here.
        Ok(Quote { credits: spec::price(&offering(), &request.options), estimated_seconds: ESTIMATED_SECONDS })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let artifact = card_for(&request)?;
        Ok(Submitted::Done(vec![artifact]))
    }

    fn poll(_handle: String) -> Progress {
        // `submit` never returns `Running`, so the host never polls; answer
        // anything that does with a clear failure rather than a panic.
        Progress::Failed(failure::invalid_input("hello-card finishes at submit"))
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        // Nothing is ever running at a vendor, so nothing was charged.
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

export_plugin!(Hello);

/// The `hello-card` offering.
pub fn offering() -> Offering {
    let themes: Vec<&str> = Theme::ALL.iter().map(|t| t.name()).collect();
    OfferingBuilder::new(OFFERING, "Hello card", &[MediaKind::Image])
        .description(
            "Your prompt set on an SVG card, 800 × 418 pixels unless you ask for another width. \
             Rendered inside the plugin: no vendor, no network, no waiting.",
        )
        .accepts(&[InputField::Text])
        .requires(&[InputField::Text])
        .features(&["svg", "instant", "no vendor"])
        .limitations(&["text wraps at 28 characters and stops after 5 lines", "SVG output only"])
        .option(OptionBuilder::text("theme", "Card colours").allowed(&themes).default_text(Theme::Light.name()))
        .option(
            OptionBuilder::integer("width", "Card width in pixels; the height follows at 800:418")
                .range(f64::from(MIN_WIDTH), f64::from(MAX_WIDTH))
                .default_integer(i64::from(card::BASE_WIDTH)),
        )
        .quality(30)
        .credits(CREDITS)
        .estimated_seconds(ESTIMATED_SECONDS)
        .build()
}

/// The card for a validated request, as an inline artifact.
///
/// The host has already checked the request against [`offering`] (text
/// present, `theme` one of the allowed values, `width` in range) and filled
/// in defaults; the checks below only turn a broken promise into an
/// `invalid-input` failure instead of a panic.
pub fn card_for(request: &JobRequest) -> Result<Artifact, Failure> {
    let text = request.input.text.as_deref().ok_or_else(|| failure::invalid_input("input.text is required"))?;
    let options = Options::of(request);
    let theme_name = options.text("theme").unwrap_or(Theme::Light.name());
    let theme = Theme::parse(theme_name)
        .ok_or_else(|| failure::invalid_input(format!("theme {theme_name:?} is not light or dark")))?;
    let width = options.integer("width").unwrap_or(i64::from(card::BASE_WIDTH));
    let width = u32::try_from(width)
        .ok()
        .filter(|w| (MIN_WIDTH..=MAX_WIDTH).contains(w))
        .ok_or_else(|| failure::invalid_input(format!("width {width} is outside {MIN_WIDTH}..={MAX_WIDTH}")))?;

    let card = card::render(text, theme, width);
    let mut artifact = Artifact::from_bytes(card.svg.into_bytes(), MIME);
    artifact.width = Some(card.width);
    artifact.height = Some(card.height);
    Ok(artifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str, options: &[(&str, Value)]) -> JobRequest {
        JobRequest {
            offering: OFFERING.into(),
            kind: MediaKind::Image,
            input: JobInput { text: Some(text.into()), image: None, audio: None, video: None, voice: None },
            options: options.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn manifest_declares_one_flat_priced_offering() {
        let manifest = Hello::manifest();
        assert_eq!((manifest.id.as_str(), manifest.vendor.as_str()), ("hello", "Example Corp"));
        assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
        assert!(manifest.allowed_hosts.is_empty() && manifest.secrets.is_empty());
        let [offering] = &manifest.offerings[..] else { panic!("one offering") };
        assert_eq!(offering.id, "hello-card");
        assert_eq!(offering.kinds, [MediaKind::Image]);
        assert_eq!((offering.base_credits, offering.estimated_seconds, offering.quality), (2, 1, 30));
        assert!(offering.pricing.is_empty());
        let theme = &offering.options[0];
        assert_eq!(theme.allowed_values, [Value::Text("light".into()), Value::Text("dark".into())]);
        assert_eq!(theme.default, Some(Value::Text("light".into())));
        let width = &offering.options[1];
        assert_eq!(
            (width.minimum, width.maximum, width.default.clone()),
            (Some(200.0), Some(2000.0), Some(Value::Integer(800)))
        );
    }

    #[test]
    fn quote_is_flat() {
        let quote = Hello::quote(request("hi", &[("theme", Value::Text("dark".into()))])).unwrap();
        assert_eq!((quote.credits, quote.estimated_seconds), (2, 1));
    }

    #[test]
    fn submit_is_done_at_once_with_the_card() {
        let options = [("theme", Value::Text("dark".into())), ("width", Value::Integer(1200))];
        let Submitted::Done(artifacts) = Hello::submit(request("Hello, world", &options)).unwrap() else {
            panic!("done at submit")
        };
        let [artifact] = &artifacts[..] else { panic!("one artifact") };
        assert_eq!((artifact.mime.as_str(), artifact.width, artifact.height), ("image/svg+xml", Some(1200), Some(627)));
        assert!(artifact.url.is_none());
        let svg = String::from_utf8(artifact.bytes.clone().unwrap()).unwrap();
        assert!(svg.contains(">Hello, world</text>") && svg.contains("#f5f7fa"));
    }

    #[test]
    fn defaults_apply_when_the_host_sent_none() {
        let artifact = card_for(&request("hi", &[])).unwrap();
        assert_eq!((artifact.width, artifact.height), (Some(800), Some(418)));
    }

    #[test]
    fn broken_promises_fail_as_invalid_input() {
        for options in [vec![("width", Value::Integer(5000))], vec![("theme", Value::Text("neon".into()))]] {
            let failure = card_for(&request("hi", &options)).unwrap_err();
            assert_eq!(failure.code, FailureCode::InvalidInput);
            assert!(!failure.retryable);
        }
    }

    #[test]
    fn poll_and_cancel_have_nothing_to_do() {
        let Progress::Failed(failure) = Hello::poll("anything".into()) else { panic!("no task to poll") };
        assert_eq!(
            (failure.code, failure.message.as_str()),
            (FailureCode::InvalidInput, "hello-card finishes at submit")
        );
        assert_eq!(Hello::cancel(String::new()).unwrap().refund_percent, 100);
    }
}
