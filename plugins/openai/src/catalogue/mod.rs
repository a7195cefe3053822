//! What OpenAI's image and speech models can do, and what they cost.
//!
//! Two offerings, each in its own module: [`image`] (`gpt-image`, the GPT
//! image models of the Images API) and [`speech`] (`openai-tts`, the Audio
//! API's speech models). Each owns its option specs, prices and a `Plan`:
//! a validated request resolved against the model's real capabilities,
//! with the combination checks `quote` enforces. DALL·E 2 and 3 are not
//! offered: OpenAI shut them down in the API on 2026-05-12.
//!
//! Pure: no host calls, so everything here is unit-tested natively.

use doitong_plugin_sdk::prelude::*;

pub mod image;
pub mod speech;

/// Both offerings, in manifest order.
pub fn offerings() -> Vec<Offering> {
    vec![image::offering(), speech::offering()]
}

/// A checked request for either offering.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// A `gpt-image` request.
    Image(image::Plan),
    /// An `openai-tts` request.
    Speech(speech::Plan),
}

impl Plan {
    /// Resolve and check `request` by its offering.
    pub fn of(request: &JobRequest) -> Result<Plan, Failure> {
        match request.offering.as_str() {
            image::ID => image::Plan::of(request).map(Plan::Image),
            speech::ID => speech::Plan::of(request).map(Plan::Speech),
            other => Err(failure::invalid_input(format!("the openai plugin has no offering `{other}`"))),
        }
    }

    /// Credits the request costs.
    pub fn credits(&self) -> u32 {
        match self {
            Plan::Image(plan) => plan.credits(),
            Plan::Speech(plan) => plan.credits(),
        }
    }

    /// Typical seconds to the result.
    pub fn estimated_seconds(&self) -> u32 {
        match self {
            Plan::Image(plan) => plan.estimated_seconds(),
            Plan::Speech(plan) => plan.estimated_seconds(),
        }
    }
}

/// The host's wording for a value outside the allowed set, with the
/// combination that narrowed it.
fn invalid_option(id: &str, name: &str, allowed: &[&str], context: &str, got: &str) -> Failure {
    let context = if context.is_empty() { String::new() } else { format!(" {context}") };
    failure::invalid_input(format!(
        "option `{name}` of provider `{id}` must be one of {}{context}; got {got}",
        allowed.join(", ")
    ))
}

/// The value of text option `name` of provider `id` among `all` (named
/// by `label`), or `default` when it is not given.
fn pick<T: Copy>(
    options: &Options,
    id: &str,
    name: &str,
    all: &[T],
    label: fn(T) -> &'static str,
    default: T,
) -> Result<T, Failure> {
    let Some(given) = options.text(name) else { return Ok(default) };
    all.iter().copied().find(|v| label(*v) == given).ok_or_else(|| {
        let allowed: Vec<&str> = all.iter().map(|v| label(*v)).collect();
        invalid_option(id, name, &allowed, "", given)
    })
}

/// The offering name under which the operator's setting replaces model
/// `chosen` of offering `id`: the offering id itself for its `default`
/// model (`model.<offering>`), `<offering>.<chosen>` for the others
/// (`model.<offering>.<chosen>`).
pub fn model_setting_key(id: &str, chosen: &str, default: &str) -> String {
    if chosen == default { id.to_string() } else { format!("{id}.{chosen}") }
}

/// OpenAI's model id for model `chosen` of offering `id`: the operator's
/// setting (see [`model_setting_key`]) when set, else `chosen` itself.
pub fn vendor_model(id: &str, chosen: &str, default: &str) -> String {
    model_id(&model_setting_key(id, chosen, default), chosen)
}

/// Tokens in `text`, estimated from above for pricing: a token per 4 ASCII
/// characters (OpenAI's rule of thumb for English) and one per other
/// character (CJK text runs close to a token per character).
fn estimated_tokens(text: &str) -> u64 {
    let ascii = text.chars().filter(char::is_ascii).count() as u64;
    let other = text.chars().count() as u64 - ascii;
    ascii.div_ceil(4) + other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_their_offerings_plan() {
        let request = |offering: &str, kind| JobRequest {
            offering: offering.into(),
            kind,
            input: JobInput { text: Some("hello".into()), image: None, audio: None, video: None, voice: None },
            options: Vec::new(),
        };
        assert!(matches!(Plan::of(&request("gpt-image", MediaKind::Image)), Ok(Plan::Image(_))));
        assert!(matches!(Plan::of(&request("openai-tts", MediaKind::Audio)), Ok(Plan::Speech(_))));
        let unknown = Plan::of(&request("dall-e-3", MediaKind::Image)).unwrap_err();
        assert_eq!(unknown.message, "the openai plugin has no offering `dall-e-3`");
        let ids: Vec<String> = offerings().into_iter().map(|o| o.id).collect();
        assert_eq!(ids, ["gpt-image", "openai-tts"]);
    }

    #[test]
    fn token_estimates_err_on_the_high_side() {
        assert_eq!(estimated_tokens(""), 0);
        assert_eq!(estimated_tokens("a red bicycle"), 4);
        assert_eq!(estimated_tokens("一只红色的自行车"), 8);
        assert_eq!(estimated_tokens("café"), 2);
    }
}
