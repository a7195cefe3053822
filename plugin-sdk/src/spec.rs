//! Builders for the manifest: offerings, their options and prices.
//!
//! ```ignore
//! let offering = OfferingBuilder::new("kling", "Kling", &[MediaKind::Video])
//!     .description("Kuaishou's video model")
//!     .accepts(&[InputField::Text, InputField::Image])
//!     .option(OptionBuilder::integer("duration", "Seconds of video").allowed_integers(&[5, 10]).default_integer(5))
//!     .credits(100)
//!     .estimated_seconds(120)
//!     .build();
//! ```

use crate::{InputField, MediaKind, Offering, OptionSpec, PriceRule, Value, ValueKind};

/// Builds one [`OptionSpec`].
pub struct OptionBuilder(OptionSpec);

impl OptionBuilder {
    fn new(name: &str, kind: ValueKind, description: &str) -> Self {
        OptionBuilder(OptionSpec {
            name: name.to_string(),
            kind,
            required: false,
            description: description.to_string(),
            allowed_values: Vec::new(),
            default: None,
            minimum: None,
            maximum: None,
        })
    }

    /// A text option.
    pub fn text(name: &str, description: &str) -> Self {
        Self::new(name, ValueKind::Text, description)
    }

    /// An integer option.
    pub fn integer(name: &str, description: &str) -> Self {
        Self::new(name, ValueKind::Integer, description)
    }

    /// A number option.
    pub fn number(name: &str, description: &str) -> Self {
        Self::new(name, ValueKind::Number, description)
    }

    /// A flag option.
    pub fn flag(name: &str, description: &str) -> Self {
        Self::new(name, ValueKind::Flag, description)
    }

    /// The option must be given.
    pub fn required(mut self) -> Self {
        self.0.required = true;
        self
    }

    /// Only these text values are accepted.
    pub fn allowed(mut self, values: &[&str]) -> Self {
        self.0.allowed_values = values.iter().map(|v| Value::Text(v.to_string())).collect();
        self
    }

    /// Only these integers are accepted.
    pub fn allowed_integers(mut self, values: &[i64]) -> Self {
        self.0.allowed_values = values.iter().map(|v| Value::Integer(*v)).collect();
        self
    }

    /// Inclusive bounds.
    pub fn range(mut self, minimum: f64, maximum: f64) -> Self {
        self.0.minimum = Some(minimum);
        self.0.maximum = Some(maximum);
        self
    }

    /// Default for a text option.
    pub fn default_text(mut self, value: &str) -> Self {
        self.0.default = Some(Value::Text(value.to_string()));
        self
    }

    /// Default for an integer option.
    pub fn default_integer(mut self, value: i64) -> Self {
        self.0.default = Some(Value::Integer(value));
        self
    }

    /// Default for a number option.
    pub fn default_number(mut self, value: f64) -> Self {
        self.0.default = Some(Value::Number(value));
        self
    }

    /// Default for a flag option.
    pub fn default_flag(mut self, value: bool) -> Self {
        self.0.default = Some(Value::Flag(value));
        self
    }

    /// The finished spec.
    pub fn build(self) -> OptionSpec {
        self.0
    }
}

/// Builds one [`Offering`].
pub struct OfferingBuilder(Offering);

impl OfferingBuilder {
    /// An offering with the given public id, display name and media kinds,
    /// accepting and requiring `text`, priced at 1 credit, quality 50.
    pub fn new(id: &str, name: &str, kinds: &[MediaKind]) -> Self {
        OfferingBuilder(Offering {
            id: id.to_string(),
            name: name.to_string(),
            description: String::new(),
            kinds: kinds.to_vec(),
            accepts: vec![InputField::Text],
            requires: vec![InputField::Text],
            needs_bytes: Vec::new(),
            features: Vec::new(),
            limitations: Vec::new(),
            options: Vec::new(),
            quality: 50,
            base_credits: 1,
            pricing: Vec::new(),
            estimated_seconds: 10,
        })
    }

    /// One-paragraph description.
    pub fn description(mut self, text: &str) -> Self {
        self.0.description = text.to_string();
        self
    }

    /// Inputs understood.
    pub fn accepts(mut self, fields: &[InputField]) -> Self {
        self.0.accepts = fields.to_vec();
        self
    }

    /// Inputs that must be present.
    pub fn requires(mut self, fields: &[InputField]) -> Self {
        self.0.requires = fields.to_vec();
        self
    }

    /// Inputs whose bytes the vendor needs (the host fetches them).
    pub fn needs_bytes(mut self, fields: &[InputField]) -> Self {
        self.0.needs_bytes = fields.to_vec();
        self
    }

    /// Feature tags shown in `providers`.
    pub fn features(mut self, tags: &[&str]) -> Self {
        self.0.features = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Known limitations shown in `providers`.
    pub fn limitations(mut self, items: &[&str]) -> Self {
        self.0.limitations = items.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Add an option.
    pub fn option(mut self, option: OptionBuilder) -> Self {
        self.0.options.push(option.build());
        self
    }

    /// Quality rank, 1..=100.
    pub fn quality(mut self, rank: u8) -> Self {
        self.0.quality = rank;
        self
    }

    /// Credits for default options.
    pub fn credits(mut self, credits: u32) -> Self {
        self.0.base_credits = credits;
        self
    }

    /// A price rule: when every `(option, value)` in `when` matches, charge
    /// `credits` (times `duration` if `per_second`). First match wins.
    pub fn price(mut self, when: &[(&str, Value)], credits: u32, per_second: bool) -> Self {
        self.0.pricing.push(PriceRule {
            when: when.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
            credits,
            per_second,
        });
        self
    }

    /// Typical seconds to a result.
    pub fn estimated_seconds(mut self, seconds: u32) -> Self {
        self.0.estimated_seconds = seconds;
        self
    }

    /// The finished offering.
    pub fn build(self) -> Offering {
        self.0
    }
}

/// Price a request by an offering's declared rules (first match wins,
/// `per_second` multiplies by `duration`), else its base credits.
///
/// The host charges what `quote` returns (or the operator's fixed price);
/// plugins whose `quote` needs nothing more than their declared rules
/// return this.
pub fn price(offering: &Offering, options: &[(String, Value)]) -> u32 {
    let get = |name: &str| options.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    for rule in &offering.pricing {
        let matches = rule.when.iter().all(|(name, want)| get(name).is_some_and(|v| values_equal(v, want)));
        if matches {
            if rule.per_second {
                let seconds = match get("duration") {
                    Some(Value::Integer(i)) => (*i).max(0) as f64,
                    Some(Value::Number(n)) => n.max(0.0),
                    _ => 1.0,
                };
                return (rule.credits as f64 * seconds).ceil() as u32;
            }
            return rule.credits;
        }
    }
    offering.base_credits
}

/// The options as the host hands them to `quote` and `submit` after
/// validation: every option `offering` declares, in spec order, with its
/// value in `given` or else its default (one with neither is absent;
/// names the offering does not declare are dropped). For unit tests that
/// call an adapter the way the host does.
pub fn with_defaults(offering: &Offering, given: &[(&str, Value)]) -> Vec<(String, Value)> {
    let given = |name: &str| given.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    offering
        .options
        .iter()
        .filter_map(|spec| Some((spec.name.clone(), given(&spec.name).or_else(|| spec.default.clone())?)))
        .collect()
}

/// Equality of option values, with integers and whole numbers equal.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Flag(x), Value::Flag(y)) => x == y,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Integer(x), Value::Number(y)) | (Value::Number(y), Value::Integer(x)) => *x as f64 == *y,
        (Value::Number(x), Value::Number(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_rules_first_match_and_per_second() {
        let offering = OfferingBuilder::new("v", "V", &[MediaKind::Video])
            .credits(10)
            .price(&[("mode", Value::Text("pro".into()))], 7, true)
            .price(&[("mode", Value::Text("std".into()))], 20, false)
            .build();
        let pro = vec![("mode".to_string(), Value::Text("pro".into())), ("duration".to_string(), Value::Integer(10))];
        assert_eq!(price(&offering, &pro), 70);
        let std = vec![("mode".to_string(), Value::Text("std".into()))];
        assert_eq!(price(&offering, &std), 20);
        assert_eq!(price(&offering, &[]), 10);
    }

    #[test]
    fn with_defaults_fills_declared_defaults_in_spec_order() {
        let offering = OfferingBuilder::new("v", "V", &[MediaKind::Video])
            .option(OptionBuilder::text("mode", "tier").default_text("std"))
            .option(OptionBuilder::integer("seed", "seed"))
            .option(OptionBuilder::integer("duration", "seconds").default_integer(5))
            .build();
        let sent = with_defaults(&offering, &[("duration", Value::Integer(10)), ("style", Value::Flag(true))]);
        assert_eq!(
            sent,
            [("mode".to_string(), Value::Text("std".into())), ("duration".to_string(), Value::Integer(10))]
        );
        let seeded = with_defaults(&offering, &[("seed", Value::Integer(7))]);
        assert_eq!(seeded[1], ("seed".to_string(), Value::Integer(7)));
    }
}
