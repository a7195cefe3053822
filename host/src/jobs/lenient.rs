//! `Prefer: handling=lenient` (RFC 7240 §4.4): instead of refusing a
//! request whose options an offering does not take, adjust them and say
//! how. Options the offering does not support are dropped; a value of the
//! wrong type is converted when it reads unambiguously (`"10"` → `10`) and
//! otherwise left to the default; a value outside the allowed set becomes
//! the nearest allowed one (by number where both carry one: `1080p` →
//! `768p` when that is all there is; else the default); a number outside
//! the range is clamped. Every change is an [`Adjustment`], returned to
//! the caller as `extensions.warnings`.
//!
//! This module only rewrites the options JSON; strict validation
//! (`validate`) then runs on the result as on any request, so lenient
//! handling can never let through what strict validation refuses.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::plugins::{Offering, OptionSpec, Value, ValueKind};

/// One change lenient handling made to a request's options.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adjustment {
    /// `options.<name>`.
    pub field: String,
    /// What the request sent.
    pub given: Json,
    /// What is used instead; `null` when dropped (or left to the default).
    pub applied: Json,
    /// Why, for people.
    pub message: String,
}

/// `options` adjusted so that `offering` accepts them, and what changed.
pub fn adjust(offering: &Offering, options: Option<&Json>) -> (Option<Json>, Vec<Adjustment>) {
    let Some(Json::Object(given)) = options else { return (options.cloned(), Vec::new()) };
    let provider = &offering.id;
    let mut kept = Map::new();
    let mut changes = Vec::new();
    for (name, json) in given {
        let field = format!("options.{name}");
        let Some(spec) = offering.option(name) else {
            let supported: Vec<&str> = offering.options.iter().map(|o| o.name.as_str()).collect();
            let supported = if supported.is_empty() { "none".to_string() } else { supported.join(", ") };
            changes.push(Adjustment {
                field,
                given: json.clone(),
                applied: Json::Null,
                message: format!("`{provider}` has no option `{name}` (it has: {supported}); dropped"),
            });
            continue;
        };
        if json.is_null() {
            kept.insert(name.clone(), Json::Null);
            continue;
        }
        let Some(value) = super::validate::convert(json, spec.kind).or_else(|| coerce(json, spec.kind)) else {
            if spec.required && spec.default.is_none() {
                kept.insert(name.clone(), json.clone()); // strict validation names what is wanted
                continue;
            }
            let applied = spec.default.as_ref().map_or(Json::Null, Value::to_json);
            let fallback =
                if applied.is_null() { "dropped".to_string() } else { format!("the default {applied} applies") };
            changes.push(Adjustment {
                field,
                given: json.clone(),
                applied,
                message: format!("`{name}` of `{provider}` takes a {}, not {json}; {fallback}", spec.kind.as_str()),
            });
            continue;
        };
        let fitted = fit(spec, value.clone());
        if !fitted.loosely_equals(&value) || fitted.to_json() != *json {
            let applied = fitted.to_json();
            let message = if fitted.loosely_equals(&value) {
                format!("`{name}` of `{provider}` read as {applied}")
            } else {
                format!("`{provider}` does not offer {name} {}; the nearest it offers is {applied}", value.display())
            };
            changes.push(Adjustment { field, given: json.clone(), applied: applied.clone(), message });
        }
        kept.insert(name.clone(), fitted.to_json());
    }
    (Some(Json::Object(kept)), changes)
}

/// Conversions strict validation does not make but a lenient reader can:
/// numbers written as strings, numbers as text, `"true"`/`"false"`,
/// fractional numbers for whole ones (rounded).
fn coerce(json: &Json, kind: ValueKind) -> Option<Value> {
    match (kind, json) {
        (ValueKind::Integer, Json::String(s)) => s.trim().parse::<f64>().ok().and_then(whole),
        (ValueKind::Integer, Json::Number(n)) => n.as_f64().and_then(whole),
        (ValueKind::Number, Json::String(s)) => {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Number)
        }
        (ValueKind::Text, Json::Number(n)) => Some(Value::Text(n.to_string())),
        (ValueKind::Flag, Json::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(Value::Flag(true)),
            "false" | "no" | "off" => Some(Value::Flag(false)),
            _ => None,
        },
        _ => None,
    }
}

fn whole(f: f64) -> Option<Value> {
    (f.is_finite() && f.abs() < 9e15).then(|| Value::Integer(f.round() as i64))
}

/// `value` brought inside the spec: the nearest allowed value, then the range.
fn fit(spec: &OptionSpec, value: Value) -> Value {
    let value = if spec.allowed_values.is_empty() || spec.allowed_values.iter().any(|a| a.loosely_equals(&value)) {
        value
    } else {
        nearest(&spec.allowed_values, &value)
            .or_else(|| spec.default.clone())
            .unwrap_or_else(|| spec.allowed_values[0].clone())
    };
    match value {
        Value::Integer(i) => {
            let clamped = clamp(i as f64, spec);
            if clamped == i as f64 { Value::Integer(i) } else { Value::Integer(clamped.round() as i64) }
        }
        Value::Number(n) => Value::Number(clamp(n, spec)),
        other => other,
    }
}

fn clamp(n: f64, spec: &OptionSpec) -> f64 {
    let n = spec.minimum.map_or(n, |lo| n.max(lo));
    spec.maximum.map_or(n, |hi| n.min(hi))
}

/// The allowed value closest to `value`: equal ignoring case, else by the
/// number each carries (`10`, `"1080p"`, `"gen-3"`), ties to the first.
fn nearest(allowed: &[Value], value: &Value) -> Option<Value> {
    if let Value::Text(text) = value
        && let Some(same) = allowed.iter().find(|a| matches!(a, Value::Text(t) if t.eq_ignore_ascii_case(text)))
    {
        return Some(same.clone());
    }
    let target = number_in(value)?;
    allowed
        .iter()
        .filter_map(|a| number_in(a).map(|n| (a, (n - target).abs())))
        .min_by(|(_, x), (_, y)| x.total_cmp(y))
        .map(|(a, _)| a.clone())
}

/// The number a value carries: itself, a ratio's quotient (`"16:9"` →
/// 1.78, so `"7:3"` is nearest `"21:9"`), or the first number in its text.
fn number_in(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::Text(t)
            if t.split_once(':').is_some_and(|(a, b)| a.parse::<f64>().is_ok() && b.parse::<f64>().is_ok()) =>
        {
            let (a, b) = t.split_once(':')?;
            let (a, b) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
            (b != 0.0).then(|| a / b)
        }
        Value::Text(t) => {
            let start = t.find(|c: char| c.is_ascii_digit())?;
            let digits: String = t[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            digits.trim_end_matches('.').parse().ok()
        }
        Value::Flag(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, kind: ValueKind, allowed: Vec<Value>, default: Option<Value>) -> OptionSpec {
        OptionSpec {
            name: name.into(),
            kind,
            required: false,
            description: String::new(),
            allowed_values: allowed,
            default,
            minimum: None,
            maximum: None,
        }
    }

    fn offering() -> Offering {
        let mut o = crate::plugins::manifest::tests::offering("minimax");
        let text = |s: &str| Value::Text(s.into());
        o.options = vec![
            spec("duration", ValueKind::Integer, vec![Value::Integer(6), Value::Integer(10)], Some(Value::Integer(6))),
            spec("resolution", ValueKind::Text, vec![text("768P"), text("1080P")], Some(text("768P"))),
            spec("model", ValueKind::Text, vec![text("gen4_turbo"), text("gen4_aleph")], None),
            OptionSpec { minimum: Some(0.0), maximum: Some(1.0), ..spec("strength", ValueKind::Number, vec![], None) },
            spec("loop", ValueKind::Flag, vec![], None),
        ];
        o
    }

    fn fields(changes: &[Adjustment]) -> Vec<&str> {
        changes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn the_portal_snippet_is_adjusted_and_explained() {
        let given = json!({ "duration": 10, "resolution": "1080p", "style": "cinematic" });
        let (options, changes) = adjust(&offering(), Some(&given));
        assert_eq!(options, Some(json!({ "duration": 10, "resolution": "1080P" })));
        assert_eq!(fields(&changes), ["options.resolution", "options.style"]);
        assert_eq!(changes[1].applied, Json::Null);
        assert!(changes[1].message.contains("has no option `style`"), "{}", changes[1].message);
    }

    #[test]
    fn values_move_to_the_nearest_allowed_and_into_range() {
        let given = json!({ "duration": 9, "model": "gen-3", "strength": 1.7, "loop": "yes" });
        let (options, changes) = adjust(&offering(), Some(&given));
        assert_eq!(options, Some(json!({ "duration": 10, "model": "gen4_turbo", "strength": 1.0, "loop": true })));
        assert_eq!(fields(&changes), ["options.duration", "options.loop", "options.model", "options.strength"]);
        // Ratios by their shape.
        let mut o = offering();
        let ratios = ["1:1", "16:9", "9:16", "21:9"].map(|r| Value::Text(r.into())).to_vec();
        o.options.push(spec("aspectRatio", ValueKind::Text, ratios, None));
        let (options, _) = adjust(&o, Some(&json!({ "aspectRatio": "7:3" })));
        assert_eq!(options, Some(json!({ "aspectRatio": "21:9" })));
        let (options, _) = adjust(&o, Some(&json!({ "aspectRatio": "3:4" })));
        assert_eq!(options, Some(json!({ "aspectRatio": "9:16" })));
        // Nothing numeric to go by: the default, else the first allowed.
        let (options, _) = adjust(&offering(), Some(&json!({ "resolution": "huge", "model": "best" })));
        assert_eq!(options, Some(json!({ "resolution": "768P", "model": "gen4_turbo" })));
    }

    #[test]
    fn unreadable_values_fall_back_to_the_default_and_valid_ones_are_untouched() {
        let (options, changes) = adjust(&offering(), Some(&json!({ "duration": "long" })));
        assert_eq!(options, Some(json!({})));
        assert_eq!(changes[0].applied, json!(6));
        let valid = json!({ "duration": 6, "resolution": "1080P" });
        assert_eq!(adjust(&offering(), Some(&valid)), (Some(valid.clone()), Vec::new()));
        assert_eq!(adjust(&offering(), None), (None, Vec::new()));
    }
}
