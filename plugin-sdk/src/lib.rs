//! Write Doitong provider plugins.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2` that implements
//! [`Provider`] and exports it with [`export_plugin!`]:
//!
//! ```ignore
//! use doitong_plugin_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Provider for Hello {
//!     fn manifest() -> Manifest { /* offerings, options, pricing */ }
//!     fn quote(request: JobRequest) -> Result<Quote, Failure> { /* … */ }
//!     fn submit(request: JobRequest) -> Result<Submitted, Failure> { /* … */ }
//!     fn poll(handle: String) -> Progress { /* … */ }
//!     fn cancel(handle: String) -> Result<CancelOutcome, Failure> { /* … */ }
//! }
//!
//! export_plugin!(Hello);
//! ```
//!
//! A plugin whose vendor has a cheap endpoint to check (a models or account
//! listing) also implements [`Health`] and exports with
//! `export_plugin!(Hello, health)`; the host calls it periodically and
//! holds the plugin's offerings back while it fails. Without it the plugin
//! exports a check that always passes (which never closes a breaker by
//! itself: only a real job does).
//!
//! Contract 1.2 adds, for the call in progress, [`idempotency_token`] (the
//! generation id, the same across retries and failover: pass it to vendors
//! that accept an idempotency key) and [`setting`] (the operator's
//! non-secret settings, e.g. a model id that replaces a retired one), and
//! lets a [`Failure`] say `model-unavailable` and `retry-after-secs`.
//!
//! Layout:
//! - [`bindings`]: the generated bindings of `wit/provider.wit` (the contract,
//!   `doitong:provider@1.1.0`, world `plugin`).
//! - [`spec`]: builders for manifests, offerings and option specs.
//! - [`options`]: typed reading of a request's validated options.
//! - [`http`]: JSON-over-HTTP through the host, with vendor status codes
//!   mapped to [`Failure`]s the way every adapter needs.
//! - [`failure`]: constructors for [`Failure`].
//! - [`handle`]: serialising adapter state into the opaque task handle.
//! - [`media`]: base64 and `data:` URIs for vendors that take inline media.
//! - [`multipart`]: `multipart/form-data` bodies for vendors that take
//!   uploads or forms.
//! - [`image`]: an image file's format and pixel size, from its headers.
//! - [`audio`]: an audio file's format and length, from its bytes, and the
//!   estimated length of a script read aloud.
//!
//! The SDK never keeps state between calls: the host gives every call a
//! fresh instance, so anything a later `poll` needs goes into the handle.

#![deny(missing_docs)]

/// Bindings generated from `wit/provider.wit` (`doitong:provider@1.2.0`,
/// world `plugin-with-health`).
#[allow(missing_docs, reason = "generated code")]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin-with-health",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_plugin_bindings",
        default_bindings_module: "doitong_plugin_sdk::bindings",
        additional_derives: [PartialEq],
    });
}

pub mod audio;
pub mod failure;
pub mod handle;
pub mod http;
pub mod image;
pub mod media;
pub mod multipart;
pub mod options;
pub mod spec;

pub use base64;
pub use serde;
pub use serde_json;

pub use bindings::doitong::provider::log::Level;
pub use bindings::doitong::provider::types::{
    Artifact, CancelOutcome, Failure, FailureCode, InputField, JobInput, JobRequest, Manifest, Media, MediaKind,
    Offering, OptionSpec, PriceRule, Progress, Quote, Running, Submitted, Value, ValueKind,
};
pub use bindings::exports::doitong::provider::health::Guest as Health;
pub use bindings::exports::doitong::provider::provider::Guest as Provider;

/// The version of the contract this SDK implements.
pub const CONTRACT_VERSION: &str = "1.2.0";

/// Export a type implementing [`Provider`] as the plugin's implementation;
/// with `, health`, its [`Health`] implementation too (otherwise the health
/// check always passes).
///
/// Use it once per plugin crate, at the crate root.
#[macro_export]
macro_rules! export_plugin {
    ($provider:ident) => {
        #[cfg(target_arch = "wasm32")]
        impl $crate::Health for $provider {
            fn check() -> Result<(), $crate::Failure> {
                Ok(())
            }
        }
        $crate::export_plugin!(@export $provider);
    };
    ($provider:ident, health) => {
        $crate::export_plugin!(@export $provider);
    };
    (@export $provider:ident) => {
        // Exports only exist in the wasm build; native builds (unit tests of
        // a plugin crate) skip them so they link.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export_plugin_bindings!($provider with_types_in $crate::bindings);
    };
}

/// The generation the current call serves (`submit`, `poll`, `cancel`):
/// the same across submit retries and failover, so pass it to vendors that
/// accept an idempotency key or client reference. `None` in `manifest`,
/// `quote` and `check`, and on hosts older than contract 1.2.
pub fn idempotency_token() -> Option<String> {
    bindings::doitong::provider::context::idempotency_token()
}

/// A non-secret operator setting for this plugin
/// (`[plugins.<id>] settings = { model = "…" }`), e.g. a vendor model id
/// that replaces the built-in one. `None` when unset or empty.
pub fn setting(name: &str) -> Option<String> {
    bindings::doitong::provider::context::setting(name).filter(|v| !v.trim().is_empty())
}

impl Artifact {
    /// An artifact carried inline, with no media metadata yet.
    pub fn from_bytes(bytes: Vec<u8>, mime: &str) -> Artifact {
        Artifact { url: None, bytes: Some(bytes), mime: mime.to_string(), width: None, height: None, duration_ms: None }
    }

    /// An artifact the host downloads from the vendor's URL.
    pub fn from_url(url: impl Into<String>, mime: &str) -> Artifact {
        Artifact {
            url: Some(url.into()),
            bytes: None,
            mime: mime.to_string(),
            width: None,
            height: None,
            duration_ms: None,
        }
    }
}

/// Write a line into the host's logs, tagged with this plugin's id.
pub fn log(level: Level, message: &str) {
    bindings::doitong::provider::log::write(level, message);
}

/// Read a secret the operator configured for this plugin.
///
/// Returns `None` when the manifest does not declare `name` or the operator
/// has not configured it.
pub fn secret(name: &str) -> Option<String> {
    bindings::doitong::provider::secrets::get(name)
}

/// Read a secret the plugin cannot work without, or fail with an
/// `unauthorized` [`Failure`] that names it.
pub fn require_secret(name: &str) -> Result<String, Failure> {
    secret(name)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| failure::unauthorized(format!("secret `{name}` is not configured for this plugin")))
}

/// The vendor model id behind `offering`: the operator's setting
/// `model.<offering>` when set (`[plugins.<id>] settings = { "model.veo" =
/// "veo-3.1-generate-001" }`), else the adapter's `built_in` id. Adapters
/// resolve every model id through this, so a vendor's next retirement or
/// rename is a configuration change, not a rebuild.
pub fn model_id(offering: &str, built_in: &str) -> String {
    setting(&format!("model.{offering}")).unwrap_or_else(|| built_in.to_string())
}

/// The names most plugins need, in one import.
pub mod prelude {
    pub use crate::failure;
    pub use crate::handle;
    pub use crate::http;
    pub use crate::media;
    pub use crate::options::Options;
    pub use crate::spec::{self, OfferingBuilder, OptionBuilder};
    pub use crate::{
        Artifact, CancelOutcome, Failure, FailureCode, Health, InputField, JobInput, JobRequest, Level, Manifest,
        Media, MediaKind, Offering, OptionSpec, PriceRule, Progress, Provider, Quote, Running, Submitted, Value,
        ValueKind, export_plugin, idempotency_token, log, model_id, require_secret, secret, setting,
    };
}
