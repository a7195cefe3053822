//! Conversions between the contract bindings and the host's own types.
//!
//! Mostly boring by design (Zed's `extension_host` habit): every contract
//! shape converts into the same host types, so nothing above the runtime
//! knows which contract a plugin was built against. The records shared by
//! all 1.x shapes convert through one macro body instantiated per shape;
//! what differs (1.2's `failure` gained `model-unavailable` and
//! `retry-after-secs`) is written out per module.

use super::manifest as host;

/// The conversions every 1.x contract shape shares, for the bindings'
/// `types` module `$wit`.
macro_rules! shared_conversions {
    ($wit:path) => {
        use super::host;
        use $wit as wit;

        pub(in crate::plugins) fn manifest(m: wit::Manifest) -> host::Manifest {
            host::Manifest {
                id: m.id,
                version: m.version,
                vendor: m.vendor,
                offerings: m.offerings.into_iter().map(offering).collect(),
                allowed_hosts: m.allowed_hosts,
                secrets: m.secrets,
            }
        }

        fn offering(o: wit::Offering) -> host::Offering {
            host::Offering {
                id: o.id,
                name: o.name,
                description: o.description,
                kinds: o.kinds.into_iter().map(media_kind).collect(),
                accepts: o.accepts.into_iter().map(input_field).collect(),
                requires: o.requires.into_iter().map(input_field).collect(),
                needs_bytes: o.needs_bytes.into_iter().map(input_field).collect(),
                features: o.features,
                limitations: o.limitations,
                options: o.options.into_iter().map(option_spec).collect(),
                quality: o.quality,
                base_credits: o.base_credits,
                pricing: o
                    .pricing
                    .into_iter()
                    .map(|r| host::PriceRule {
                        when: r.when.into_iter().map(|(n, v)| (n, value(v))).collect(),
                        credits: r.credits,
                        per_second: r.per_second,
                    })
                    .collect(),
                estimated_seconds: o.estimated_seconds,
            }
        }

        fn option_spec(s: wit::OptionSpec) -> host::OptionSpec {
            host::OptionSpec {
                name: s.name,
                kind: match s.kind {
                    wit::ValueKind::Text => host::ValueKind::Text,
                    wit::ValueKind::Integer => host::ValueKind::Integer,
                    wit::ValueKind::Number => host::ValueKind::Number,
                    wit::ValueKind::Flag => host::ValueKind::Flag,
                },
                required: s.required,
                description: s.description,
                allowed_values: s.allowed_values.into_iter().map(value).collect(),
                default: s.default.map(value),
                minimum: s.minimum,
                maximum: s.maximum,
            }
        }

        fn media_kind(k: wit::MediaKind) -> host::MediaKind {
            match k {
                wit::MediaKind::Video => host::MediaKind::Video,
                wit::MediaKind::Image => host::MediaKind::Image,
                wit::MediaKind::Audio => host::MediaKind::Audio,
                wit::MediaKind::Avatar => host::MediaKind::Avatar,
            }
        }

        fn media_kind_to_wit(k: host::MediaKind) -> wit::MediaKind {
            match k {
                host::MediaKind::Video => wit::MediaKind::Video,
                host::MediaKind::Image => wit::MediaKind::Image,
                host::MediaKind::Audio => wit::MediaKind::Audio,
                host::MediaKind::Avatar => wit::MediaKind::Avatar,
            }
        }

        fn input_field(f: wit::InputField) -> host::InputField {
            match f {
                wit::InputField::Text => host::InputField::Text,
                wit::InputField::Image => host::InputField::Image,
                wit::InputField::Audio => host::InputField::Audio,
                wit::InputField::Video => host::InputField::Video,
                wit::InputField::Voice => host::InputField::Voice,
            }
        }

        fn value(v: wit::Value) -> host::Value {
            match v {
                wit::Value::Text(s) => host::Value::Text(s),
                wit::Value::Integer(i) => host::Value::Integer(i),
                wit::Value::Number(n) => host::Value::Number(n),
                wit::Value::Flag(b) => host::Value::Flag(b),
            }
        }

        fn value_to_wit(v: &host::Value) -> wit::Value {
            match v {
                host::Value::Text(s) => wit::Value::Text(s.clone()),
                host::Value::Integer(i) => wit::Value::Integer(*i),
                host::Value::Number(n) => wit::Value::Number(*n),
                host::Value::Flag(b) => wit::Value::Flag(*b),
            }
        }

        fn media_to_wit(m: &host::Media) -> wit::Media {
            wit::Media { url: m.url.clone(), mime: m.mime.clone(), bytes: m.bytes.clone() }
        }

        pub(in crate::plugins) fn job_request(r: &host::JobRequest) -> wit::JobRequest {
            wit::JobRequest {
                offering: r.offering.clone(),
                kind: media_kind_to_wit(r.kind),
                input: wit::JobInput {
                    text: r.input.text.clone(),
                    image: r.input.image.as_ref().map(media_to_wit),
                    audio: r.input.audio.as_ref().map(media_to_wit),
                    video: r.input.video.as_ref().map(media_to_wit),
                    voice: r.input.voice.clone(),
                },
                options: r.options.iter().map(|(n, v)| (n.clone(), value_to_wit(v))).collect(),
            }
        }

        pub(in crate::plugins) fn quote(q: wit::Quote) -> host::Quote {
            host::Quote { credits: q.credits, estimated_seconds: q.estimated_seconds }
        }

        fn artifact(a: wit::Artifact) -> host::Artifact {
            host::Artifact {
                url: a.url,
                bytes: a.bytes,
                mime: a.mime,
                width: a.width,
                height: a.height,
                duration_ms: a.duration_ms,
            }
        }

        fn running(r: wit::Running) -> host::Running {
            host::Running { handle: r.handle, percent: r.percent, poll_after_ms: r.poll_after_ms }
        }

        pub(in crate::plugins) fn submitted(s: wit::Submitted) -> host::Submitted {
            match s {
                wit::Submitted::Done(a) => host::Submitted::Done(a.into_iter().map(artifact).collect()),
                wit::Submitted::Running(r) => host::Submitted::Running(running(r)),
            }
        }

        pub(in crate::plugins) fn progress(p: wit::Progress) -> host::Progress {
            match p {
                wit::Progress::Running(r) => host::Progress::Running(running(r)),
                wit::Progress::Done(a) => host::Progress::Done(a.into_iter().map(artifact).collect()),
                wit::Progress::Failed(f) => host::Progress::Failed(failure(f)),
                wit::Progress::Cancelled => host::Progress::Cancelled,
            }
        }

        pub(in crate::plugins) fn cancel_outcome(c: wit::CancelOutcome) -> host::CancelOutcome {
            host::CancelOutcome { refund_percent: c.refund_percent.min(100) }
        }
    };
}

/// Contract 1.2 (`bindings::latest`).
pub(super) mod latest {
    shared_conversions!(crate::plugins::bindings::latest::types);

    pub(in crate::plugins) fn failure(f: wit::Failure) -> host::Failure {
        host::Failure {
            code: match f.code {
                wit::FailureCode::InvalidInput => host::FailureCode::InvalidInput,
                wit::FailureCode::ProviderUnavailable => host::FailureCode::ProviderUnavailable,
                wit::FailureCode::GenerationFailed => host::FailureCode::GenerationFailed,
                wit::FailureCode::RateLimited => host::FailureCode::RateLimited,
                wit::FailureCode::Unauthorized => host::FailureCode::Unauthorized,
                wit::FailureCode::ContentRejected => host::FailureCode::ContentRejected,
                wit::FailureCode::ModelUnavailable => host::FailureCode::ModelUnavailable,
            },
            message: f.message,
            retryable: f.retryable,
            retry_after_secs: f.retry_after_secs,
        }
    }
}

/// Contracts 1.0 and 1.1 (`bindings::v1_1`).
pub(super) mod v1_1 {
    shared_conversions!(crate::plugins::bindings::v1_1::types);

    pub(in crate::plugins) fn failure(f: wit::Failure) -> host::Failure {
        host::Failure {
            code: match f.code {
                wit::FailureCode::InvalidInput => host::FailureCode::InvalidInput,
                wit::FailureCode::ProviderUnavailable => host::FailureCode::ProviderUnavailable,
                wit::FailureCode::GenerationFailed => host::FailureCode::GenerationFailed,
                wit::FailureCode::RateLimited => host::FailureCode::RateLimited,
                wit::FailureCode::Unauthorized => host::FailureCode::Unauthorized,
                wit::FailureCode::ContentRejected => host::FailureCode::ContentRejected,
            },
            message: f.message,
            retryable: f.retryable,
            retry_after_secs: None,
        }
    }
}

#[cfg(test)]
mod proptests {
    //! Every conversion against its inverse, for both contract shapes: what
    //! the host sends a plugin (`job_request`) and everything a plugin sends
    //! back (`manifest`, `quote`, `submitted`, `progress`, `failure`,
    //! `cancel_outcome`), over arbitrary values (NaN, infinities, empty and
    //! non-ASCII strings, large lists included).

    use super::host;
    use proptest::prelude::*;

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Structural equality that treats NaN as equal to itself (and tells
    /// -0.0 from 0.0): the `Debug` forms.
    fn same<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![3 => "[a-z0-9-]{0,8}", 1 => any::<String>()]
    }

    fn value() -> impl Strategy<Value = host::Value> {
        prop_oneof![
            text().prop_map(host::Value::Text),
            any::<i64>().prop_map(host::Value::Integer),
            any::<f64>().prop_map(host::Value::Number),
            prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE])
                .prop_map(host::Value::Number),
            any::<bool>().prop_map(host::Value::Flag),
        ]
    }

    fn media_kind() -> impl Strategy<Value = host::MediaKind> {
        use host::MediaKind::*;
        prop::sample::select(vec![Video, Image, Audio, Avatar])
    }

    fn input_field() -> impl Strategy<Value = host::InputField> {
        use host::InputField::*;
        prop::sample::select(vec![Text, Image, Audio, Video, Voice])
    }

    fn option_spec() -> impl Strategy<Value = host::OptionSpec> {
        use host::ValueKind::*;
        (
            text(),
            prop::sample::select(vec![Text, Integer, Number, Flag]),
            any::<bool>(),
            text(),
            prop::collection::vec(value(), 0..3),
            prop::option::of(value()),
            prop::option::of(any::<f64>()),
            prop::option::of(any::<f64>()),
        )
            .prop_map(|(name, kind, required, description, allowed_values, default, minimum, maximum)| {
                host::OptionSpec { name, kind, required, description, allowed_values, default, minimum, maximum }
            })
    }

    fn offering() -> impl Strategy<Value = host::Offering> {
        let fields = || prop::collection::vec(input_field(), 0..4);
        let texts = || prop::collection::vec(text(), 0..3);
        let price_rule = (prop::collection::vec((text(), value()), 0..3), any::<u32>(), any::<bool>())
            .prop_map(|(when, credits, per_second)| host::PriceRule { when, credits, per_second });
        (
            (text(), text(), text(), prop::collection::vec(media_kind(), 0..4)),
            (fields(), fields(), fields(), texts(), texts()),
            (prop::collection::vec(option_spec(), 0..3), any::<u8>(), any::<u32>()),
            (prop::collection::vec(price_rule, 0..3), any::<u32>()),
        )
            .prop_map(
                |(
                    (id, name, description, kinds),
                    (accepts, requires, needs_bytes, features, limitations),
                    (options, quality, base_credits),
                    (pricing, estimated_seconds),
                )| host::Offering {
                    id,
                    name,
                    description,
                    kinds,
                    accepts,
                    requires,
                    needs_bytes,
                    features,
                    limitations,
                    options,
                    quality,
                    base_credits,
                    pricing,
                    estimated_seconds,
                },
            )
    }

    fn manifest() -> impl Strategy<Value = host::Manifest> {
        let texts = || prop::collection::vec(text(), 0..3);
        (text(), text(), text(), prop::collection::vec(offering(), 0..3), texts(), texts()).prop_map(
            |(id, version, vendor, offerings, allowed_hosts, secrets)| host::Manifest {
                id,
                version,
                vendor,
                offerings,
                allowed_hosts,
                secrets,
            },
        )
    }

    fn media() -> impl Strategy<Value = host::Media> {
        (text(), prop::option::of(text()), prop::option::of(prop::collection::vec(any::<u8>(), 0..64)))
            .prop_map(|(url, mime, bytes)| host::Media { url, mime, bytes })
    }

    fn job_request() -> impl Strategy<Value = host::JobRequest> {
        let input = (
            prop::option::of(text()),
            prop::option::of(media()),
            prop::option::of(media()),
            prop::option::of(media()),
            prop::option::of(text()),
        )
            .prop_map(|(text, image, audio, video, voice)| host::JobInput { text, image, audio, video, voice });
        (text(), media_kind(), input, prop::collection::vec((text(), value()), 0..6))
            .prop_map(|(offering, kind, input, options)| host::JobRequest { offering, kind, input, options })
    }

    fn artifacts() -> impl Strategy<Value = Vec<host::Artifact>> {
        let artifact = (
            prop::option::of(text()),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
            text(),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
        )
            .prop_map(|(url, bytes, mime, width, height, duration_ms)| host::Artifact {
                url,
                bytes,
                mime,
                width,
                height,
                duration_ms,
            });
        prop::collection::vec(artifact, 0..4)
    }

    fn running() -> impl Strategy<Value = host::Running> {
        (text(), prop::option::of(any::<u8>()), any::<u32>())
            .prop_map(|(handle, percent, poll_after_ms)| host::Running { handle, percent, poll_after_ms })
    }

    /// Failures contract 1.2 can carry: every code, a retry hint or none.
    fn failure_1_2() -> impl Strategy<Value = host::Failure> {
        use host::FailureCode::*;
        let code = prop::sample::select(vec![
            InvalidInput,
            ProviderUnavailable,
            GenerationFailed,
            RateLimited,
            Unauthorized,
            ContentRejected,
            ModelUnavailable,
        ]);
        (code, text(), any::<bool>(), prop::option::of(any::<u32>())).prop_map(
            |(code, message, retryable, retry_after_secs)| host::Failure { code, message, retryable, retry_after_secs },
        )
    }

    /// Failures contract 1.1 can carry: no `model-unavailable`, no retry hint.
    fn failure_1_1() -> impl Strategy<Value = host::Failure> {
        failure_1_2().prop_map(|mut f| {
            if f.code == host::FailureCode::ModelUnavailable {
                f.code = host::FailureCode::GenerationFailed;
            }
            f.retry_after_secs = None;
            f
        })
    }

    fn submitted() -> impl Strategy<Value = host::Submitted> {
        prop_oneof![artifacts().prop_map(host::Submitted::Done), running().prop_map(host::Submitted::Running)]
    }

    /// Properties of one contract shape's conversions: `$convert` is its
    /// conversion module, `$wit` its bindings' `types`, `$failure` the
    /// failures it can carry and `$failure_to_wit` their inverse.
    macro_rules! contract_properties {
        ($name:ident, $convert:path, $wit:path, $failure:ident, $failure_to_wit:ident) => {
            mod $name {
                use super::*;
                use $convert as convert;
                use $wit as wit;

                fn value_to_wit(v: &host::Value) -> wit::Value {
                    match v {
                        host::Value::Text(s) => wit::Value::Text(s.clone()),
                        host::Value::Integer(i) => wit::Value::Integer(*i),
                        host::Value::Number(n) => wit::Value::Number(*n),
                        host::Value::Flag(b) => wit::Value::Flag(*b),
                    }
                }

                fn value_from_wit(v: wit::Value) -> host::Value {
                    match v {
                        wit::Value::Text(s) => host::Value::Text(s),
                        wit::Value::Integer(i) => host::Value::Integer(i),
                        wit::Value::Number(n) => host::Value::Number(n),
                        wit::Value::Flag(b) => host::Value::Flag(b),
                    }
                }

                fn media_kind_to_wit(k: host::MediaKind) -> wit::MediaKind {
                    match k {
                        host::MediaKind::Video => wit::MediaKind::Video,
                        host::MediaKind::Image => wit::MediaKind::Image,
                        host::MediaKind::Audio => wit::MediaKind::Audio,
                        host::MediaKind::Avatar => wit::MediaKind::Avatar,
                    }
                }

                fn input_field_to_wit(f: &host::InputField) -> wit::InputField {
                    match f {
                        host::InputField::Text => wit::InputField::Text,
                        host::InputField::Image => wit::InputField::Image,
                        host::InputField::Audio => wit::InputField::Audio,
                        host::InputField::Video => wit::InputField::Video,
                        host::InputField::Voice => wit::InputField::Voice,
                    }
                }

                fn manifest_to_wit(m: &host::Manifest) -> wit::Manifest {
                    let option_spec = |s: &host::OptionSpec| wit::OptionSpec {
                        name: s.name.clone(),
                        kind: match s.kind {
                            host::ValueKind::Text => wit::ValueKind::Text,
                            host::ValueKind::Integer => wit::ValueKind::Integer,
                            host::ValueKind::Number => wit::ValueKind::Number,
                            host::ValueKind::Flag => wit::ValueKind::Flag,
                        },
                        required: s.required,
                        description: s.description.clone(),
                        allowed_values: s.allowed_values.iter().map(value_to_wit).collect(),
                        default: s.default.as_ref().map(value_to_wit),
                        minimum: s.minimum,
                        maximum: s.maximum,
                    };
                    let fields = |f: &[host::InputField]| f.iter().map(input_field_to_wit).collect();
                    let offering = |o: &host::Offering| wit::Offering {
                        id: o.id.clone(),
                        name: o.name.clone(),
                        description: o.description.clone(),
                        kinds: o.kinds.iter().copied().map(media_kind_to_wit).collect(),
                        accepts: fields(&o.accepts),
                        requires: fields(&o.requires),
                        needs_bytes: fields(&o.needs_bytes),
                        features: o.features.clone(),
                        limitations: o.limitations.clone(),
                        options: o.options.iter().map(option_spec).collect(),
                        quality: o.quality,
                        base_credits: o.base_credits,
                        pricing: o
                            .pricing
                            .iter()
                            .map(|r| wit::PriceRule {
                                when: r.when.iter().map(|(n, v)| (n.clone(), value_to_wit(v))).collect(),
                                credits: r.credits,
                                per_second: r.per_second,
                            })
                            .collect(),
                        estimated_seconds: o.estimated_seconds,
                    };
                    wit::Manifest {
                        id: m.id.clone(),
                        version: m.version.clone(),
                        vendor: m.vendor.clone(),
                        offerings: m.offerings.iter().map(offering).collect(),
                        allowed_hosts: m.allowed_hosts.clone(),
                        secrets: m.secrets.clone(),
                    }
                }

                fn job_request_from_wit(r: wit::JobRequest) -> host::JobRequest {
                    let media = |m: wit::Media| host::Media { url: m.url, mime: m.mime, bytes: m.bytes };
                    host::JobRequest {
                        offering: r.offering,
                        kind: match r.kind {
                            wit::MediaKind::Video => host::MediaKind::Video,
                            wit::MediaKind::Image => host::MediaKind::Image,
                            wit::MediaKind::Audio => host::MediaKind::Audio,
                            wit::MediaKind::Avatar => host::MediaKind::Avatar,
                        },
                        input: host::JobInput {
                            text: r.input.text,
                            image: r.input.image.map(media),
                            audio: r.input.audio.map(media),
                            video: r.input.video.map(media),
                            voice: r.input.voice,
                        },
                        options: r.options.into_iter().map(|(n, v)| (n, value_from_wit(v))).collect(),
                    }
                }

                fn artifacts_to_wit(a: &[host::Artifact]) -> Vec<wit::Artifact> {
                    a.iter()
                        .map(|a| wit::Artifact {
                            url: a.url.clone(),
                            bytes: a.bytes.clone(),
                            mime: a.mime.clone(),
                            width: a.width,
                            height: a.height,
                            duration_ms: a.duration_ms,
                        })
                        .collect()
                }

                fn running_to_wit(r: &host::Running) -> wit::Running {
                    wit::Running { handle: r.handle.clone(), percent: r.percent, poll_after_ms: r.poll_after_ms }
                }

                fn progress() -> impl Strategy<Value = host::Progress> {
                    prop_oneof![
                        running().prop_map(host::Progress::Running),
                        artifacts().prop_map(host::Progress::Done),
                        $failure().prop_map(host::Progress::Failed),
                        Just(host::Progress::Cancelled),
                    ]
                }

                proptest! {
                    #![proptest_config(config(256))]

                    /// A manifest of any content (NaN bounds, any strings,
                    /// empty and repeated lists) reads back exactly as sent.
                    #[test]
                    fn manifests_round_trip(m in manifest()) {
                        let back = convert::manifest(manifest_to_wit(&m));
                        prop_assert!(same(&back, &m), "{back:?}\n!=\n{m:?}");
                    }

                    /// A request reaches the plugin exactly as validated:
                    /// inputs, inline bytes and every option value.
                    #[test]
                    fn job_requests_round_trip(r in job_request()) {
                        let back = job_request_from_wit(convert::job_request(&r));
                        prop_assert!(same(&back, &r), "{back:?}\n!=\n{r:?}");
                    }

                    /// Whatever a plugin answers (quote, submission, progress,
                    /// failure) reads back exactly, and a cancel never refunds
                    /// more than 100%.
                    #[test]
                    fn outputs_round_trip(
                        quote in (any::<u32>(), any::<u32>()),
                        submitted in submitted(),
                        progress in progress(),
                        failure in $failure(),
                        refund in any::<u8>(),
                    ) {
                        let q = convert::quote(wit::Quote { credits: quote.0, estimated_seconds: quote.1 });
                        prop_assert_eq!(q, host::Quote { credits: quote.0, estimated_seconds: quote.1 });
                        let sent = match &submitted {
                            host::Submitted::Done(a) => wit::Submitted::Done(artifacts_to_wit(a)),
                            host::Submitted::Running(r) => wit::Submitted::Running(running_to_wit(r)),
                        };
                        prop_assert_eq!(convert::submitted(sent), submitted);
                        let sent = match &progress {
                            host::Progress::Running(r) => wit::Progress::Running(running_to_wit(r)),
                            host::Progress::Done(a) => wit::Progress::Done(artifacts_to_wit(a)),
                            host::Progress::Failed(f) => wit::Progress::Failed($failure_to_wit(f)),
                            host::Progress::Cancelled => wit::Progress::Cancelled,
                        };
                        prop_assert_eq!(convert::progress(sent), progress);
                        prop_assert_eq!(convert::failure($failure_to_wit(&failure)), failure);
                        let outcome = convert::cancel_outcome(wit::CancelOutcome { refund_percent: refund });
                        prop_assert_eq!(outcome.refund_percent, refund.min(100));
                    }
                }
            }
        };
    }

    fn failure_to_wit_1_2(f: &host::Failure) -> crate::plugins::bindings::latest::types::Failure {
        use crate::plugins::bindings::latest::types::{Failure, FailureCode};
        let code = match f.code {
            host::FailureCode::InvalidInput => FailureCode::InvalidInput,
            host::FailureCode::ProviderUnavailable => FailureCode::ProviderUnavailable,
            host::FailureCode::GenerationFailed => FailureCode::GenerationFailed,
            host::FailureCode::RateLimited => FailureCode::RateLimited,
            host::FailureCode::Unauthorized => FailureCode::Unauthorized,
            host::FailureCode::ContentRejected => FailureCode::ContentRejected,
            host::FailureCode::ModelUnavailable => FailureCode::ModelUnavailable,
        };
        Failure { code, message: f.message.clone(), retryable: f.retryable, retry_after_secs: f.retry_after_secs }
    }

    fn failure_to_wit_1_1(f: &host::Failure) -> crate::plugins::bindings::v1_1::types::Failure {
        use crate::plugins::bindings::v1_1::types::{Failure, FailureCode};
        let code = match f.code {
            host::FailureCode::InvalidInput => FailureCode::InvalidInput,
            host::FailureCode::ProviderUnavailable => FailureCode::ProviderUnavailable,
            host::FailureCode::GenerationFailed => FailureCode::GenerationFailed,
            host::FailureCode::RateLimited => FailureCode::RateLimited,
            host::FailureCode::Unauthorized => FailureCode::Unauthorized,
            host::FailureCode::ContentRejected => FailureCode::ContentRejected,
            host::FailureCode::ModelUnavailable => unreachable!("contract 1.1 has no model-unavailable"),
        };
        Failure { code, message: f.message.clone(), retryable: f.retryable }
    }

    contract_properties!(
        latest,
        super::super::latest,
        crate::plugins::bindings::latest::types,
        failure_1_2,
        failure_to_wit_1_2
    );
    contract_properties!(
        v1_1,
        super::super::v1_1,
        crate::plugins::bindings::v1_1::types,
        failure_1_1,
        failure_to_wit_1_1
    );
}
