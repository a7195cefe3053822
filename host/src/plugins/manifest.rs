//! The host's own view of what a plugin declares and exchanges: manifest,
//! offerings, option specs, requests and results.
//!
//! These types mirror `wit/provider.wit` but belong to the host, so that the
//! rest of the gateway never touches generated bindings and a future contract
//! version only adds a conversion file (`convert_v1.rs`). They serialise with
//! serde because jobs store their request and results in the database.
//!
//! [`validate_manifest`] is the single place that decides whether a plugin's
//! declarations are acceptable; it is pure and table-tested.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// What a generation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A video clip.
    Video,
    /// A still image.
    Image,
    /// Speech or other audio.
    Audio,
    /// A talking-avatar video.
    Avatar,
}

impl MediaKind {
    /// Lower-case name, as used in logs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Video => "video",
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Avatar => "avatar",
        }
    }

    /// Parse [`MediaKind::as_str`]'s output.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "video" => MediaKind::Video,
            "image" => MediaKind::Image,
            "audio" => MediaKind::Audio,
            "avatar" => MediaKind::Avatar,
            _ => return None,
        })
    }
}

/// A typed option value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean.
    Flag(bool),
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Number(f64),
    /// A string.
    Text(String),
}

impl Value {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::from(s.as_str()),
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Number(n) => serde_json::Value::from(*n),
            Value::Flag(b) => serde_json::Value::from(*b),
        }
    }

    /// Equality with integers and whole numbers equal.
    pub fn loosely_equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Integer(a), Value::Number(b)) | (Value::Number(b), Value::Integer(a)) => *a as f64 == *b,
            (a, b) => a == b,
        }
    }

    /// Display form used in error messages (`"16:9"`, `10`, `true`).
    pub fn display(&self) -> String {
        self.to_json().to_string()
    }
}

/// The type an option accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// A string.
    Text,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A boolean.
    Flag,
}

impl ValueKind {
    /// Lower-case name as shown in `providers { options { type } }`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::Integer => "integer",
            ValueKind::Number => "number",
            ValueKind::Flag => "flag",
        }
    }
}

/// One option an offering accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    /// Name users send in `options`.
    pub name: String,
    /// Accepted type.
    pub kind: ValueKind,
    /// Must be given.
    pub required: bool,
    /// Shown in `providers`.
    pub description: String,
    /// When non-empty, the only accepted values.
    pub allowed_values: Vec<Value>,
    /// Applied when omitted.
    pub default: Option<Value>,
    /// Inclusive lower bound for numbers.
    pub minimum: Option<f64>,
    /// Inclusive upper bound for numbers.
    pub maximum: Option<f64>,
}

/// Inputs a request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputField {
    /// The prompt or the text to speak.
    Text,
    /// An image (URL or data URI).
    Image,
    /// An audio clip.
    Audio,
    /// A video clip.
    Video,
    /// A voice name or id.
    Voice,
}

impl InputField {
    /// Lower-case name, as in the GraphQL `input` object.
    pub fn as_str(self) -> &'static str {
        match self {
            InputField::Text => "text",
            InputField::Image => "image",
            InputField::Audio => "audio",
            InputField::Video => "video",
            InputField::Voice => "voice",
        }
    }
}

/// A price rule (see `price-rule` in the WIT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRule {
    /// Options that must all match.
    pub when: Vec<(String, Value)>,
    /// Credits charged when matched.
    pub credits: u32,
    /// Multiply by the `duration` option.
    pub per_second: bool,
}

/// One catalogue entry: what users name as `provider`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offering {
    /// Public provider id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One paragraph.
    pub description: String,
    /// Media kinds produced.
    pub kinds: Vec<MediaKind>,
    /// Inputs understood.
    pub accepts: Vec<InputField>,
    /// Inputs required.
    pub requires: Vec<InputField>,
    /// Inputs whose bytes the vendor needs.
    pub needs_bytes: Vec<InputField>,
    /// Feature tags.
    pub features: Vec<String>,
    /// Known limitations.
    pub limitations: Vec<String>,
    /// Accepted options.
    pub options: Vec<OptionSpec>,
    /// Quality rank 1..=100.
    pub quality: u8,
    /// Credits for default options.
    pub base_credits: u32,
    /// Price rules, first match wins.
    pub pricing: Vec<PriceRule>,
    /// Typical seconds to a result.
    pub estimated_seconds: u32,
}

impl Offering {
    /// The spec of option `name`.
    pub fn option(&self, name: &str) -> Option<&OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

/// What a plugin is and what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Plugin id, also its operator config key.
    pub id: String,
    /// The plugin's own semver version.
    pub version: String,
    /// Vendor display name.
    pub vendor: String,
    /// Catalogue entries.
    pub offerings: Vec<Offering>,
    /// Origins the plugin may call.
    pub allowed_hosts: Vec<String>,
    /// Secret names the plugin reads.
    pub secrets: Vec<String>,
}

/// A media input handed to a plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// The user's `https://` URL, or empty for inline data.
    pub url: String,
    /// MIME type when known.
    pub mime: Option<String>,
    /// The bytes, when the offering needs them or they came inline
    /// (stored as base64 so a queued job survives a restart).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "base64_bytes")]
    pub bytes: Option<Vec<u8>>,
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&B64.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| B64.decode(t).map_err(serde::de::Error::custom)).transpose()
    }
}

/// A request's inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobInput {
    /// Prompt or text to speak.
    pub text: Option<String>,
    /// Image input.
    pub image: Option<Media>,
    /// Audio input.
    pub audio: Option<Media>,
    /// Video input.
    pub video: Option<Media>,
    /// Voice name or id.
    pub voice: Option<String>,
}

/// A validated request for one offering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    /// Offering id.
    pub offering: String,
    /// Media kind requested.
    pub kind: MediaKind,
    /// Inputs.
    pub input: JobInput,
    /// Options, validated and with defaults filled in.
    pub options: Vec<(String, Value)>,
}

/// Price and time of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Credits the generation costs.
    pub credits: u32,
    /// Expected seconds to a result.
    pub estimated_seconds: u32,
}

/// One output of a generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Vendor URL to download from (the host re-hosts it).
    pub url: Option<String>,
    /// Inline bytes.
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
    /// MIME type.
    pub mime: String,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// Playing time.
    pub duration_ms: Option<u32>,
}

/// Why a plugin says a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureCode {
    /// The request cannot succeed as given.
    InvalidInput,
    /// The vendor is unreachable or failing.
    ProviderUnavailable,
    /// The vendor failed the task.
    GenerationFailed,
    /// Quota or rate limit at the vendor.
    RateLimited,
    /// Credentials missing or refused.
    Unauthorized,
    /// Moderation refused the content.
    ContentRejected,
    /// The vendor no longer serves the offering's model (contract 1.2).
    ModelUnavailable,
}

/// A plugin-reported failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Category.
    pub code: FailureCode,
    /// The vendor's or plugin's message.
    pub message: String,
    /// Worth trying again later.
    pub retryable: bool,
    /// How long the vendor asked to be left alone (contract 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u32>,
}

/// A running vendor task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Running {
    /// Opaque handle for `poll`/`cancel`.
    pub handle: String,
    /// 0..=100 when known.
    pub percent: Option<u8>,
    /// Suggested wait before the next poll.
    pub poll_after_ms: u32,
}

/// What `submit` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Finished synchronously.
    Done(Vec<Artifact>),
    /// Started; poll later.
    Running(Running),
}

/// What `poll` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Still working.
    Running(Running),
    /// Finished.
    Done(Vec<Artifact>),
    /// Failed (a retryable failure while polling is treated as transient).
    Failed(Failure),
    /// Cancelled at the vendor.
    Cancelled,
}

/// What a cancel achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelOutcome {
    /// Share of the quote the vendor will not charge.
    pub refund_percent: u8,
}

/// Why a manifest was refused. Messages name the offending item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid manifest: {0}")]
pub struct ManifestError(pub String);

/// Longest id accepted for plugins and offerings.
pub const MAX_ID_LEN: usize = 64;

/// Is `id` a valid plugin or offering id (`a-z0-9-`, starting with a letter)?
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
}

/// Check everything the host relies on in a manifest: ids, version, offerings,
/// option specs, pricing and allowed hosts. Every problem is reported, not
/// just the first.
pub fn validate_manifest(m: &Manifest) -> Result<semver::Version, ManifestError> {
    let mut problems = Vec::new();
    if !is_valid_id(&m.id) {
        problems.push(format!(
            "plugin id {:?} must be 1-{MAX_ID_LEN} characters of a-z, 0-9 and '-', starting with a letter",
            m.id
        ));
    }
    let version = match semver::Version::parse(&m.version) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("version {:?} is not semver: {e}", m.version));
            None
        }
    };
    if m.offerings.is_empty() {
        problems.push("the plugin declares no offerings".into());
    }
    let mut seen = BTreeSet::new();
    for o in &m.offerings {
        let at = format!("offering {:?}", o.id);
        if !is_valid_id(&o.id) {
            problems.push(format!("{at}: id must be a-z, 0-9 and '-', starting with a letter"));
        }
        if !seen.insert(o.id.as_str()) {
            problems.push(format!("{at}: declared twice"));
        }
        if o.kinds.is_empty() {
            problems.push(format!("{at}: declares no media kinds"));
        }
        if !(1..=100).contains(&o.quality) {
            problems.push(format!("{at}: quality {} is outside 1..=100", o.quality));
        }
        for r in &o.requires {
            if !o.accepts.contains(r) {
                problems.push(format!("{at}: requires input `{}` it does not accept", r.as_str()));
            }
        }
        let mut names = BTreeSet::new();
        for spec in &o.options {
            if !names.insert(spec.name.as_str()) {
                problems.push(format!("{at}: option `{}` declared twice", spec.name));
            }
            problems.extend(validate_option_spec(spec).into_iter().map(|p| format!("{at}: {p}")));
        }
        for rule in &o.pricing {
            for (name, value) in &rule.when {
                match o.option(name) {
                    None => problems.push(format!("{at}: price rule names unknown option `{name}`")),
                    Some(spec) if !kind_matches(spec.kind, value) => problems
                        .push(format!("{at}: price rule gives option `{name}` a {} value", value_kind_name(value))),
                    _ => {}
                }
            }
        }
    }
    for host in &m.allowed_hosts {
        if let Err(e) = super::policy::Origin::parse(host) {
            problems.push(format!("allowed host {host:?}: {e}"));
        }
    }
    for s in &m.secrets {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            problems.push(format!("secret name {s:?} must be a-z, 0-9 and '_'"));
        }
    }
    match (problems.is_empty(), version) {
        (true, Some(v)) => Ok(v),
        _ => Err(ManifestError(problems.join("; "))),
    }
}

fn validate_option_spec(spec: &OptionSpec) -> Vec<String> {
    let mut problems = Vec::new();
    let at = format!("option `{}`", spec.name);
    if spec.name.is_empty() || !spec.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        problems.push(format!("{at}: name must be ASCII letters, digits or '_'"));
    }
    for v in &spec.allowed_values {
        if !kind_matches(spec.kind, v) {
            problems.push(format!("{at}: allowed value {} is not {}", v.display(), spec.kind.as_str()));
        }
    }
    if let Some(d) = &spec.default {
        if !kind_matches(spec.kind, d) {
            problems.push(format!("{at}: default {} is not {}", d.display(), spec.kind.as_str()));
        } else if !spec.allowed_values.is_empty() && !spec.allowed_values.iter().any(|a| a.loosely_equals(d)) {
            problems.push(format!("{at}: default {} is not among its allowed values", d.display()));
        }
    }
    if let (Some(lo), Some(hi)) = (spec.minimum, spec.maximum)
        && lo > hi
    {
        problems.push(format!("{at}: minimum {lo} is above maximum {hi}"));
    }
    if (spec.minimum.is_some() || spec.maximum.is_some())
        && !matches!(spec.kind, ValueKind::Integer | ValueKind::Number)
    {
        problems.push(format!("{at}: bounds given for a {} option", spec.kind.as_str()));
    }
    problems
}

/// Whether `value` fits an option of `kind` (integers fit number options).
pub fn kind_matches(kind: ValueKind, value: &Value) -> bool {
    matches!(
        (kind, value),
        (ValueKind::Text, Value::Text(_))
            | (ValueKind::Integer, Value::Integer(_))
            | (ValueKind::Number, Value::Number(_) | Value::Integer(_))
            | (ValueKind::Flag, Value::Flag(_))
    )
}

fn value_kind_name(value: &Value) -> &'static str {
    match value {
        Value::Text(_) => "text",
        Value::Integer(_) => "integer",
        Value::Number(_) => "number",
        Value::Flag(_) => "flag",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn offering(id: &str) -> Offering {
        Offering {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            kinds: vec![MediaKind::Image],
            accepts: vec![InputField::Text],
            requires: vec![InputField::Text],
            needs_bytes: vec![],
            features: vec![],
            limitations: vec![],
            options: vec![],
            quality: 50,
            base_credits: 1,
            pricing: vec![],
            estimated_seconds: 1,
        }
    }

    pub(crate) fn manifest() -> Manifest {
        Manifest {
            id: "demo".into(),
            version: "1.2.3".into(),
            vendor: "Demo".into(),
            offerings: vec![offering("demo")],
            allowed_hosts: vec!["https://api.demo.com".into()],
            secrets: vec!["api_key".into()],
        }
    }

    #[test]
    fn ids() {
        for ok in ["kling", "flux-ultra", "a1", "v2-pro"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", "Kling", "1abc", "flux_ultra", "a-", "Bad Id!", &"a".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_good_manifest_passes() {
        assert_eq!(validate_manifest(&manifest()).unwrap(), semver::Version::new(1, 2, 3));
    }

    #[test]
    fn each_problem_is_named() {
        type Mutation = Box<dyn Fn(&mut Manifest)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|m| m.id = "Bad Id!".into()), "plugin id \"Bad Id!\""),
            (Box::new(|m| m.version = "one".into()), "not semver"),
            (Box::new(|m| m.offerings.clear()), "no offerings"),
            (Box::new(|m| m.offerings[0].kinds.clear()), "no media kinds"),
            (Box::new(|m| m.offerings[0].quality = 0), "quality 0"),
            (Box::new(|m| m.offerings.push(offering("demo"))), "declared twice"),
            (Box::new(|m| m.offerings[0].requires.push(InputField::Image)), "requires input `image`"),
            (Box::new(|m| m.allowed_hosts.push("ftp://x".into())), "allowed host \"ftp://x\""),
            (Box::new(|m| m.secrets.push("API KEY".into())), "secret name"),
            (
                Box::new(|m| {
                    m.offerings[0].options.push(OptionSpec {
                        name: "size".into(),
                        kind: ValueKind::Text,
                        required: false,
                        description: String::new(),
                        allowed_values: vec![Value::Text("small".into()), Value::Text("large".into())],
                        default: Some(Value::Text("huge".into())),
                        minimum: None,
                        maximum: None,
                    })
                }),
                "default \"huge\" is not among its allowed values",
            ),
            (
                Box::new(|m| {
                    m.offerings[0].pricing.push(PriceRule {
                        when: vec![("mode".into(), Value::Text("pro".into()))],
                        credits: 5,
                        per_second: false,
                    })
                }),
                "unknown option `mode`",
            ),
        ];
        for (mutate, expected) in cases {
            let mut m = manifest();
            mutate(&mut m);
            let err = validate_manifest(&m).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should mention {expected:?}");
        }
    }
}
