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
pub(super) fn convert(json: &Json, kind: ValueKind) -> Option<Value> {
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

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::plugins::OptionSpec;
    use proptest::prelude::*;

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Option names the generated offerings declare (and requests use).
    const NAMES: [&str; 6] = ["duration", "seed", "speed", "style", "hd", "ratio"];

    /// Any JSON: every scalar (big, negative, fractional, whole-valued
    /// floats, strings) nested in arrays and objects.
    fn json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::from),
            any::<u64>().prop_map(Json::from),
            any::<f64>().prop_map(Json::from),
            prop::sample::select(vec![0.0, -0.0, 0.5, 5.0, 10.0, 9e15, -9e15, 8.999_999_999_999_998e15, 9.3e18, 1e300])
                .prop_map(Json::from),
            any::<String>().prop_map(Json::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|fields| Json::Object(fields.into_iter().collect())),
            ]
        })
    }

    fn kind() -> impl Strategy<Value = ValueKind> {
        prop::sample::select(vec![ValueKind::Text, ValueKind::Integer, ValueKind::Number, ValueKind::Flag])
    }

    /// A value an option of `kind` may declare (integers fit numbers).
    fn value_of(kind: ValueKind) -> BoxedStrategy<Value> {
        match kind {
            ValueKind::Text => "[a-z0-9:]{0,4}".prop_map(Value::Text).boxed(),
            ValueKind::Integer => prop_oneof![-20i64..20, any::<i64>()].prop_map(Value::Integer).boxed(),
            ValueKind::Number => prop_oneof![
                (-20i64..20).prop_map(Value::Integer),
                (-100.0f64..100.0).prop_map(Value::Number),
                (-20i64..20).prop_map(|i| Value::Number(i as f64 / 2.0)),
            ]
            .boxed(),
            ValueKind::Flag => any::<bool>().prop_map(Value::Flag).boxed(),
        }
    }

    /// An option spec `validate_manifest` accepts: of any kind, with or
    /// without allowed values, a default, bounds, and `required`.
    fn spec(name: &'static str) -> impl Strategy<Value = OptionSpec> {
        kind().prop_flat_map(move |kind| {
            let bounds = match kind {
                ValueKind::Integer | ValueKind::Number => {
                    (prop::option::of(-50.0f64..50.0), prop::option::of(-50.0f64..50.0)).boxed()
                }
                _ => Just((None, None)).boxed(),
            };
            (prop::collection::vec(value_of(kind), 0..4), prop::option::of(value_of(kind)), any::<bool>(), bounds)
                .prop_map(move |(allowed_values, default, required, bounds)| {
                    let (minimum, maximum) = match bounds {
                        (Some(lo), Some(hi)) if lo > hi => (Some(hi), Some(lo)),
                        bounds => bounds,
                    };
                    let default = default.map(|d| match allowed_values.first() {
                        Some(first) if !allowed_values.iter().any(|a| a.loosely_equals(&d)) => first.clone(),
                        _ => d,
                    });
                    OptionSpec {
                        name: name.into(),
                        kind,
                        required,
                        description: String::new(),
                        allowed_values,
                        default,
                        minimum,
                        maximum,
                    }
                })
        })
    }

    /// An offering declaring a random subset of [`NAMES`], each a random spec.
    fn offering() -> impl Strategy<Value = Offering> {
        let specs: Vec<_> = NAMES.iter().map(|&name| prop::option::of(spec(name))).collect();
        specs.prop_map(|specs| {
            let mut o = crate::plugins::manifest::tests::offering("demo");
            o.kinds = vec![MediaKind::Video, MediaKind::Image];
            o.accepts = vec![InputField::Text, InputField::Image, InputField::Audio];
            o.requires = vec![InputField::Text];
            o.options = specs.into_iter().flatten().collect();
            o
        })
    }

    /// The `options` object of a request: mostly declared names with values
    /// of some option kind, sometimes anything at all.
    fn options() -> impl Strategy<Value = Json> {
        let name = prop_oneof![4 => prop::sample::select(&NAMES[..]).prop_map(str::to_string), 1 => any::<String>()];
        let value = prop_oneof![
            3 => kind().prop_flat_map(value_of).prop_map(|v| v.to_json()),
            1 => Just(Json::Null),
            2 => json(),
        ];
        prop_oneof![
            8 => prop::collection::vec((name, value), 0..6).prop_map(|fields| Json::Object(fields.into_iter().collect())),
            1 => json(),
        ]
    }

    /// The value an option takes for `given`, or `None` when it must be refused:
    /// the rules of `validate_options`, spelled out for one option.
    fn expected(spec: &OptionSpec, given: Option<&Json>) -> Option<Option<Value>> {
        let value = match given.filter(|j| !j.is_null()) {
            Some(json) => convert(json, spec.kind)?,
            None => match &spec.default {
                Some(default) => default.clone(),
                None if spec.required => return None,
                None => return Some(None),
            },
        };
        if !spec.allowed_values.is_empty() && !spec.allowed_values.iter().any(|a| a.loosely_equals(&value)) {
            return None;
        }
        let number = match value {
            Value::Integer(i) => Some(i as f64),
            Value::Number(n) => Some(n),
            _ => None,
        };
        if let Some(n) = number {
            let in_range = spec.minimum.is_none_or(|lo| n >= lo) && spec.maximum.is_none_or(|hi| n <= hi);
            if !in_range {
                return None;
            }
        }
        Some(Some(value))
    }

    proptest! {
        #![proptest_config(config(256))]

        /// The generator only makes offerings the host would load.
        #[test]
        fn generated_offerings_are_valid(o in offering()) {
            let mut m = crate::plugins::manifest::tests::manifest();
            m.offerings = vec![o];
            prop_assert!(crate::plugins::manifest::validate_manifest(&m).is_ok(), "{:?}", m.offerings[0].options);
        }

        /// Any `options` JSON against any offering: never a panic; accepted
        /// exactly when every given name is declared and every option's value
        /// converts, is allowed and in range (or is defaulted / optional);
        /// accepted values have their option's kind, in spec order; a refusal
        /// is INVALID_INPUT naming the first offending field.
        #[test]
        fn options_are_accepted_exactly_when_valid(o in offering(), options in options()) {
            let result = validate_options(&o, Some(&options));
            let given = match &options {
                Json::Object(given) => given.clone(),
                Json::Null => serde_json::Map::new(),
                _ => {
                    let err = result.unwrap_err();
                    prop_assert_eq!(err.code, ErrorCode::InvalidInput);
                    prop_assert_eq!(&err.details["field"], "options");
                    return Ok(());
                }
            };
            let first_problem = given
                .keys()
                .find(|name| o.option(name).is_none())
                .map(|name| format!("options.{name}"))
                .or_else(|| {
                    o.options
                        .iter()
                        .find(|spec| expected(spec, given.get(&spec.name)).is_none())
                        .map(|spec| format!("options.{}", spec.name))
                });
            match (result, first_problem) {
                (Ok(values), None) => {
                    let want: Vec<(String, Value)> = o
                        .options
                        .iter()
                        .filter_map(|spec| expected(spec, given.get(&spec.name)).flatten().map(|v| (spec.name.clone(), v)))
                        .collect();
                    prop_assert_eq!(&values, &want);
                    for (name, value) in &values {
                        let spec = o.option(name).unwrap();
                        prop_assert!(crate::plugins::manifest::kind_matches(spec.kind, value), "{name}: {value:?}");
                    }
                }
                (Err(err), Some(field)) => {
                    prop_assert_eq!(err.code, ErrorCode::InvalidInput);
                    prop_assert_eq!(&err.details["field"], field.as_str(), "{}", err.message);
                }
                (result, problem) => prop_assert!(false, "got {result:?}, expected a problem with {problem:?}"),
            }
        }

        /// `convert` gives a value of the asked kind or nothing: text only
        /// from strings, flags only from booleans, integers only from whole
        /// numbers (equal to them), numbers from any number (equal to it).
        #[test]
        fn convert_keeps_kind_and_value(json in json(), kind in kind()) {
            let Some(value) = convert(&json, kind) else { return Ok(()) };
            match (kind, &value, &json) {
                (ValueKind::Text, Value::Text(s), Json::String(t)) => prop_assert_eq!(s, t),
                (ValueKind::Flag, Value::Flag(b), Json::Bool(c)) => prop_assert_eq!(b, c),
                (ValueKind::Integer, Value::Integer(i), Json::Number(n)) => {
                    prop_assert!(n.as_i64() == Some(*i) || n.as_f64() == Some(*i as f64), "{n} -> {i}");
                }
                (ValueKind::Number, Value::Number(f), Json::Number(n)) => {
                    prop_assert!(f.is_finite());
                    prop_assert_eq!(n.as_f64(), Some(*f));
                }
                _ => prop_assert!(false, "{json} as {kind:?} gave {value:?}"),
            }
        }

        /// Typed values survive the trip to JSON and back (`to_json` then
        /// `convert`); an integer also reads back as an equal number, and a
        /// whole number below 9e15 as an equal integer.
        #[test]
        fn values_round_trip_through_json(v in kind().prop_flat_map(value_of), f in -1e16f64..1e16) {
            let kind = match v {
                Value::Text(_) => ValueKind::Text,
                Value::Integer(_) => ValueKind::Integer,
                Value::Number(_) => ValueKind::Number,
                Value::Flag(_) => ValueKind::Flag,
            };
            prop_assert_eq!(convert(&v.to_json(), kind), Some(v.clone()));
            if let Value::Integer(i) = v {
                prop_assert_eq!(convert(&v.to_json(), ValueKind::Number), Some(Value::Number(i as f64)));
            }
            let whole = f.trunc();
            let expected = (whole.abs() < 9e15).then_some(Value::Integer(whole as i64));
            prop_assert_eq!(convert(&Json::from(whole), ValueKind::Integer), expected);
        }

        /// A whole request (kind, inputs including `data:` URIs and URLs,
        /// options): never a panic; an accepted request carries only
        /// accepted inputs, every required one, and the requested kind.
        #[test]
        fn requests_are_validated_without_panics(
            o in offering(),
            kind in prop::sample::select(vec![MediaKind::Video, MediaKind::Image, MediaKind::Audio, MediaKind::Avatar]),
            text in prop::option::of(prop_oneof![any::<String>(), Just(String::from(" ")), "x{20000,20002}"]),
            media in prop::collection::vec(prop::option::of(prop_oneof![
                any::<String>(),
                "data:[a-z/]{0,10}(;base64)?,[A-Za-z0-9+/=]{0,12}",
                "https://[a-z0-9.]{1,12}/[a-z]{0,5}\\.(png|mp3|mp4)",
            ]), 4),
            options in prop::option::of(options()),
        ) {
            let input = RawInput {
                text,
                image: media[0].clone(),
                audio: media[1].clone(),
                video: media[2].clone(),
                voice: media[3].clone(),
            };
            match validate(&o, kind, &input, options.as_ref()) {
                Ok(request) => {
                    prop_assert_eq!(request.kind, kind);
                    prop_assert!(o.kinds.contains(&kind));
                    prop_assert!(request.input.text.as_ref().is_some_and(|t| t.chars().count() <= MAX_TEXT_CHARS));
                    prop_assert!(request.input.video.is_none() && request.input.voice.is_none());
                    for (name, value) in &request.options {
                        prop_assert!(crate::plugins::manifest::kind_matches(o.option(name).unwrap().kind, value));
                    }
                }
                Err(err) => prop_assert_eq!(err.code, ErrorCode::InvalidInput),
            }
        }
    }
}
