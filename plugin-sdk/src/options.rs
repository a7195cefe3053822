//! Typed reading of a request's options.
//!
//! The host has already checked names, kinds, allowed values and ranges
//! against the offering's specs and filled in defaults, so these accessors
//! only convert; `None` means the option was neither sent nor defaulted.

use crate::{JobRequest, Value};

/// A borrowed view of a request's options.
#[derive(Clone, Copy)]
pub struct Options<'a>(&'a [(String, Value)]);

impl<'a> Options<'a> {
    /// The options of `request`.
    pub fn of(request: &'a JobRequest) -> Self {
        Options(&request.options)
    }

    /// Wrap a raw option list.
    pub fn new(options: &'a [(String, Value)]) -> Self {
        Options(options)
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A text option.
    pub fn text(&self, name: &str) -> Option<&'a str> {
        match self.get(name)? {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// An integer option (a number with no fraction is accepted too).
    pub fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Integer(i) => Some(*i),
            Value::Number(n) if n.fract() == 0.0 => Some(*n as i64),
            _ => None,
        }
    }

    /// A number option (integers widen).
    pub fn number(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Value::Number(n) => Some(*n),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// A flag option.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Value::Flag(b) => Some(*b),
            _ => None,
        }
    }

    /// Every option, in the order the host sent them.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }
}

/// The value as JSON, for vendors whose request bodies mirror our options.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Text(s) => serde_json::Value::from(s.as_str()),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Number(n) => serde_json::Value::from(*n),
        Value::Flag(b) => serde_json::Value::from(*b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_convert_compatible_kinds_only() {
        let raw = vec![
            ("duration".to_string(), Value::Integer(5)),
            ("speed".to_string(), Value::Number(1.5)),
            ("whole".to_string(), Value::Number(3.0)),
            ("style".to_string(), Value::Text("cinematic".into())),
            ("hd".to_string(), Value::Flag(true)),
        ];
        let o = Options::new(&raw);
        assert_eq!(o.integer("duration"), Some(5));
        assert_eq!(o.number("duration"), Some(5.0));
        assert_eq!(o.integer("whole"), Some(3));
        assert_eq!(o.integer("speed"), None);
        assert_eq!(o.text("style"), Some("cinematic"));
        assert_eq!(o.text("duration"), None);
        assert_eq!(o.flag("hd"), Some(true));
        assert_eq!(o.get("missing"), None);
    }
}
