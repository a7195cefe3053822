//! Checking a request against an offering's declarations before any plugin
//! sees it: media kind, inputs, and every option's name, type, allowed
//! values and range; defaults are filled in. Pure and table-tested.
//!
//! Errors are `INVALID_INPUT` naming the field (`extensions.field`) and,
//! where there is a closed set, listing what is allowed.

use serde_json::Value as Json;

use crate::error::ApiError;
use crate::plugins::{InputField, JobInput, JobRequest, Media, MediaKind, Offering, Value, ValueKind};

/// The user's inputs as received (URLs or `data:` URIs for media).
#[derive(Debug, Clone, Default)]
pub struct RawInput {
    /// Prompt or text to speak.
    pub text: Option<String>,
    /// Image URL or data URI.
    pub image: Option<String>,
    /// Audio URL or data URI.
    pub audio: Option<String>,
    /// Video URL or data URI.
    pub video: Option<String>,
    /// Voice name or id.
    pub voice: Option<String>,
}

impl RawInput {
    fn get(&self, field: InputField) -> Option<&str> {
        match field {
            InputField::Text => self.text.as_deref(),
            InputField::Image => self.image.as_deref(),
            InputField::Audio => self.audio.as_deref(),
            InputField::Video => self.video.as_deref(),
            InputField::Voice => self.voice.as_deref(),
        }
        .filter(|v| !v.trim().is_empty())
    }
}

const FIELDS: [InputField; 5] =
    [InputField::Text, InputField::Image, InputField::Audio, InputField::Video, InputField::Voice];

/// Longest prompt accepted (vendors cap lower; this guards the host).
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Validate `input` and `options` for `offering` producing `kind`.
pub fn validate(
    offering: &Offering,
    kind: MediaKind,
    input: &RawInput,
    options: Option<&Json>,
) -> Result<JobRequest, ApiError> {
    let provider = &offering.id;
    if !offering.kinds.contains(&kind) {
        let kinds: Vec<String> = offering.kinds.iter().map(|k| k.as_str().to_uppercase()).collect();
        return Err(ApiError::invalid(
            "type",
            format!(
                "provider `{provider}` does not generate {}; it generates {}",
                kind.as_str().to_uppercase(),
                kinds.join(", ")
            ),
        )
        .with("allowedValues", kinds));
    }
    for field in FIELDS {
        let present = input.get(field).is_some();
        if present && !offering.accepts.contains(&field) {
            let accepted: Vec<&str> = offering.accepts.iter().map(|f| f.as_str()).collect();
            return Err(ApiError::invalid(
                &format!("input.{}", field.as_str()),
                format!(
                    "provider `{provider}` does not accept input.{}; it accepts {}",
                    field.as_str(),
                    accepted.join(", ")
                ),
            ));
        }
        if !present && offering.requires.contains(&field) {
            return Err(ApiError::invalid(
                &format!("input.{}", field.as_str()),
                format!("input.{} is required by provider `{provider}`", field.as_str()),
            ));
        }
    }
    if input.text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return Err(ApiError::invalid("input.text", format!("input.text is longer than {MAX_TEXT_CHARS} characters")));
    }
    let media = |value: Option<&str>, field: &str| -> Result<Option<Media>, ApiError> {
        match value {
            None => Ok(None),
            Some(v) => super::media::check_reference(v, field).map(Some),
        }
    };
    let job_input = JobInput {
        text: input.get(InputField::Text).map(str::to_string),
        image: media(input.get(InputField::Image), "input.image")?,
        audio: media(input.get(InputField::Audio), "input.audio")?,
        video: media(input.get(InputField::Video), "input.video")?,
        voice: input.get(InputField::Voice).map(str::to_string),
    };
    let options = validate_options(offering, options)?;
    Ok(JobRequest { offering: offering.id.clone(), kind, input: job_input, options })
}

fn validate_options(offering: &Offering, options: Option<&Json>) -> Result<Vec<(String, Value)>, ApiError> {
    let provider = &offering.id;
    let given = match options {
        None | Some(Json::Null) => serde_json::Map::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(other) => {
            return Err(ApiError::invalid("options", format!("options must be a JSON object, got {other}")));
        }
    };
    for name in given.keys() {
        if offering.option(name).is_none() {
            let supported: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
            return Err(ApiError::invalid(
                &format!("options.{name}"),
                format!(
                    "option `{name}` is not supported by provider `{provider}`; supported options: {}",
                    if supported.is_empty() { "none".to_string() } else { supported.join(", ") }
                ),
            )
            .with("allowedValues", supported));
        }
    }
    let mut out = Vec::new();
    for spec in &offering.options {
        let field = format!("options.{}", spec.name);
        let value = match given.get(&spec.name) {
            None | Some(Json::Null) => match &spec.default {
                Some(default) => default.clone(),
                None if spec.required => {
                    return Err(ApiError::invalid(
                        &field,
                        format!("option `{}` is required by provider `{provider}`", spec.name),
                    ));
                }
                None => continue,
            },
            Some(json) => convert(json, spec.kind).ok_or_else(|| {
                ApiError::invalid(
                    &field,
                    format!("option `{}` must be {} {}, got {json}", spec.name, article(spec.kind), spec.kind.as_str()),
                )
            })?,
        };
        if !spec.allowed_values.is_empty() && !spec.allowed_values.iter().any(|a| a.loosely_equals(&value)) {
            let allowed: Vec<Json> = spec.allowed_values.iter().map(Value::to_json).collect();
            let shown: Vec<String> = spec.allowed_values.iter().map(Value::display).collect();
            return Err(ApiError::invalid(
                &field,
                format!(
                    "option `{}` of provider `{provider}` must be one of {}; got {}",
                    spec.name,
                    shown.join(", "),
                    value.display()
                ),
            )
            .with("allowedValues", allowed));
        }
        let number = match value {
            Value::Integer(i) => Some(i as f64),
            Value::Number(n) => Some(n),
            _ => None,
        };
        if let Some(n) = number {
            let below = spec.minimum.is_some_and(|min| n < min);
            let above = spec.maximum.is_some_and(|max| n > max);
            if below || above {
                let range = match (spec.minimum, spec.maximum) {
                    (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                    (Some(lo), None) => format!("at least {lo}"),
                    (None, Some(hi)) => format!("at most {hi}"),
                    (None, None) => unreachable!("a bound was checked"),
                };
                let mut err = ApiError::invalid(
                    &field,
                    format!("option `{}` of provider `{provider}` must be {range}; got {}", spec.name, value.display()),
                );
                if let Some(lo) = spec.minimum {
                    err = err.with("minimum", lo);
                }
                if let Some(hi) = spec.maximum {
                    err = err.with("maximum", hi);
                }
                return Err(err);
            }
        }
        out.push((spec.name.clone(), value));
    }
    Ok(out)
}

fn article(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Integer => "an",
        _ => "a",
    }
}

/// JSON → typed value for `kind`; integers widen to numbers, whole numbers
/// narrow to integers, nothing else converts.
fn convert(json: &Json, kind: ValueKind) -> Option<Value> {
    match (kind, json) {
        (ValueKind::Text, Json::String(s)) => Some(Value::Text(s.clone())),
        (ValueKind::Flag, Json::Bool(b)) => Some(Value::Flag(*b)),
        (ValueKind::Integer, Json::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
            .map(Value::Integer),
        (ValueKind::Number, Json::Number(n)) => n.as_f64().map(Value::Number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::OptionSpec;
    use serde_json::json;

    fn offering() -> Offering {
        let mut o = crate::plugins::manifest::tests::offering("demo");
        o.kinds = vec![MediaKind::Video];
        o.accepts = vec![InputField::Text, InputField::Image];
        o.options = vec![
            OptionSpec {
                name: "duration".into(),
                kind: ValueKind::Integer,
                required: false,
                description: String::new(),
                allowed_values: vec![Value::Integer(5), Value::Integer(10)],
                default: Some(Value::Integer(5)),
                minimum: None,
                maximum: None,
            },
            OptionSpec {
                name: "speed".into(),
                kind: ValueKind::Number,
                required: false,
                description: String::new(),
                allowed_values: vec![],
                default: None,
                minimum: Some(0.5),
                maximum: Some(2.0),
            },
            OptionSpec {
                name: "style".into(),
                kind: ValueKind::Text,
                required: false,
                description: String::new(),
                allowed_values: vec![],
                default: None,
                minimum: None,
                maximum: None,
            },
        ];
        o
    }

    fn text(t: &str) -> RawInput {
        RawInput { text: Some(t.into()), ..RawInput::default() }
    }

    #[test]
    fn valid_request_gets_defaults_and_conversions() {
        let r =
            validate(&offering(), MediaKind::Video, &text("hi"), Some(&json!({"speed": 1, "duration": 10.0}))).unwrap();
        assert_eq!(r.options, vec![("duration".into(), Value::Integer(10)), ("speed".into(), Value::Number(1.0))]);
        let r = validate(&offering(), MediaKind::Video, &text("hi"), None).unwrap();
        assert_eq!(r.options, vec![("duration".into(), Value::Integer(5))]);
    }

    #[test]
    fn each_mistake_names_its_field() {
        let o = offering();
        let cases: Vec<(MediaKind, RawInput, Json, &str, &str)> = vec![
            (MediaKind::Audio, text("x"), json!({}), "type", "does not generate AUDIO"),
            (MediaKind::Video, RawInput::default(), json!({}), "input.text", "required"),
            (
                MediaKind::Video,
                RawInput { text: Some("  ".into()), ..RawInput::default() },
                json!({}),
                "input.text",
                "required",
            ),
            (
                MediaKind::Video,
                RawInput { audio: Some("https://a/b.wav".into()), ..text("x") },
                json!({}),
                "input.audio",
                "does not accept",
            ),
            (
                MediaKind::Video,
                text("x"),
                json!({"colour": "red"}),
                "options.colour",
                "supported options: duration, speed, style",
            ),
            (MediaKind::Video, text("x"), json!({"duration": "ten"}), "options.duration", "must be an integer"),
            (MediaKind::Video, text("x"), json!({"duration": 7}), "options.duration", "must be one of 5, 10"),
            (MediaKind::Video, text("x"), json!({"speed": 3}), "options.speed", "between 0.5 and 2"),
            (MediaKind::Video, text("x"), json!({"style": 3}), "options.style", "must be a text"),
            (MediaKind::Video, text("x"), json!([1]), "options", "JSON object"),
            (
                MediaKind::Video,
                RawInput { image: Some("ftp://x/y.png".into()), ..text("x") },
                json!({}),
                "input.image",
                "https",
            ),
        ];
        for (kind, input, options, field, message) in cases {
            let err = validate(&o, kind, &input, Some(&options)).unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::InvalidInput);
            assert_eq!(err.details["field"], field, "{}", err.message);
            assert!(err.message.contains(message), "{:?} should contain {message:?}", err.message);
        }
    }
}
