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
