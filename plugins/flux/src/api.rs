//! The BFL API on the wire: request and answer bodies, where to poll,
//! BFL's HTTP errors and task statuses mapped to ours, and the two HTTP
//! exchanges (submit, get result). Every call carries `x-key: <api_key>`.
//!
//! HTTP answers (FastAPI bodies: `{"detail": "…"}`, or for 422 a list of
//! `{"loc": [...], "msg": "…"}`, quoted in the failure's message):
//!
//! | HTTP                          | failure                                    |
//! |-------------------------------|--------------------------------------------|
//! | 401, 403 (no or bad key, no permission) | `unauthorized`                   |
//! | 402 insufficient credits      | `rate-limited`, not retryable              |
//! | 429 too many active tasks     | `rate-limited`, retryable, held back for `Retry-After` |
//! | 400, 422 validation           | `invalid-input`                            |
//! | 404, 410 on a submit          | `model-unavailable`: BFL serves no such model endpoint (retired or renamed; replace it with `model.<offering>`) |
//! | 404 on a poll                 | `generation-failed` (the task is gone)     |
//! | 5xx, anything else            | `provider-unavailable`, retryable          |
//!
//! Task statuses (`GET <polling_url>`, compared case-insensitively):
//!
//! | `status`              | progress                                                    |
//! |-----------------------|-------------------------------------------------------------|
//! | `Pending`, or one added later | running, with BFL's `progress` as a percentage      |
//! | `Ready`               | done: `result.sample`, a signed URL valid 10 minutes         |
//! | `Request Moderated`   | `content-rejected`: the prompt or input image was refused    |
//! | `Content Moderated`   | `content-rejected`: the generated image was withheld         |
//! | `Error`, `Failed`     | `generation-failed`, with BFL's `details`                    |
//! | `Task not found`      | `generation-failed`: unknown or expired task                 |
//!
//! Where to poll ([`polling_target`]): BFL routes a task to a regional
//! cluster and returns its `polling_url` (e.g. `https://api.eu2.bfl.ai/
//! v1/get_result?id=…`), which must be polled as given. It is used when its
//! origin is one of [`API_ORIGINS`], the hosts the manifest allows;
//! otherwise (no URL, a region this version does not know, or a host that
//! is not BFL's) the adapter polls BFL's global `get_result` for the id and
//! never sends the key anywhere else.

use doitong_plugin_sdk::prelude::*;
use doitong_plugin_sdk::serde_json::{self, Value as Json};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Plan, Shape, Size, Tuning};

/// BFL's global endpoint: the vendor origin, first in `allowed_hosts`, so
/// operators can move it with `base_url` (to `https://api.eu.bfl.ai`, say).
pub const API: &str = "https://api.bfl.ai";
/// Every BFL API origin the adapter may call: the global and regional
/// multi-cluster endpoints, the single-cluster ones BFL documents, and the
/// clusters its answers are known to name in `polling_url`.
pub const API_ORIGINS: &[&str] = &[
    API,
    "https://api.eu.bfl.ai",
    "https://api.us.bfl.ai",
    "https://api.eu1.bfl.ai",
    "https://api.us1.bfl.ai",
    "https://api.eu2.bfl.ai",
    "https://api.us2.bfl.ai",
];
/// Between polls: BFL's own examples poll every 0.5 s and FLUX.1 images
/// take seconds; the host clamps this to its configured range.
pub const POLL_MS: u32 = 1_000;
/// Per-request timeout for a submit (a body may carry a 20 MiB image as base64).
const SUBMIT_TIMEOUT_MS: u32 = 60_000;
/// Per-request timeout for a poll.
const POLL_TIMEOUT_MS: u32 = 30_000;
/// Longest vendor text quoted in a failure.
const MAX_QUOTED_CHARS: usize = 300;

/// `POST /v1/<model>`: one shape for every FLUX.1 endpoint; fields a model
/// does not take are left out.
#[derive(Serialize, Debug)]
pub struct SubmitBody<'a> {
    prompt: &'a str,
    /// Base64 image prompt (Redux), for the text-to-image models.
    #[serde(skip_serializing_if = "Option::is_none")]
    image_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_prompt_strength: Option<f64>,
    /// Kontext's image to edit: the user's https URL, or base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    input_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aspect_ratio: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    guidance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_upsampling: Option<bool>,
    safety_tolerance: i64,
    output_format: &'static str,
}

impl<'a> SubmitBody<'a> {
    /// The body for a checked request. Fails only if an image prompt came
    /// without its bytes (the host fetches them; see `needs-bytes`).
    pub fn new(plan: &Plan, input: &'a JobInput) -> Result<Self, Failure> {
        let prompt = input.text.as_deref().unwrap_or_default();
        let (width, height, aspect_ratio) = match plan.shape {
            Shape::Pixels(Size { width, height }) => (Some(width), Some(height), None),
            Shape::Ratio(ratio) => (None, None, ratio),
        };
        let mut body = SubmitBody {
            prompt,
            image_prompt: None,
            image_prompt_strength: None,
            input_image: None,
            width,
            height,
            aspect_ratio,
            raw: None,
            steps: None,
            guidance: None,
            interval: None,
            seed: plan.seed,
            prompt_upsampling: plan.sends_prompt_upsampling().then_some(plan.prompt_upsampling),
            safety_tolerance: plan.safety_tolerance,
            output_format: plan.format.name(),
        };
        match plan.tuning {
            Tuning::None => {}
            Tuning::Sampling { steps, guidance, interval } => {
                (body.steps, body.guidance, body.interval) = (Some(steps), Some(guidance), interval);
            }
            Tuning::Ultra { raw, image_prompt_strength } => {
                body.raw = Some(raw);
                body.image_prompt_strength = image_prompt_strength.filter(|_| input.image.is_some());
            }
            Tuning::Kontext(_) => {}
            Tuning::Flux2 { steps, guidance } => (body.steps, body.guidance) = (steps, guidance),
        }
        if let Some(image) = &input.image {
            if matches!(plan.tuning, Tuning::Kontext(_) | Tuning::Flux2 { .. }) {
                body.input_image = Some(kontext_image(image)?);
            } else {
                body.image_prompt = Some(base64_of(image)?);
            }
        }
        Ok(body)
    }
}

/// Kontext's `input_image`: the user's https URL as given (BFL fetches
/// it), or the bytes of a `data:` URI as plain base64.
fn kontext_image(image: &Media) -> Result<String, Failure> {
    if image.url.is_empty() { base64_of(image) } else { Ok(image.url.clone()) }
}

/// Plain base64 (no `data:` prefix) of an input image's bytes.
fn base64_of(image: &Media) -> Result<String, Failure> {
    image.bytes.as_deref().map(media::base64).ok_or_else(|| {
        failure::invalid_input(format!(
            "input.image ({}) arrived without its bytes; BFL needs them as base64",
            image.url
        ))
    })
}

/// Answer to a submit. `cost`, `input_mp` and `output_mp` come from newer
/// API versions and are not needed.
#[derive(Deserialize, Debug, Default)]
struct SubmitAnswer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    polling_url: Option<String>,
}

/// A task BFL accepted.
#[derive(Debug, PartialEq)]
pub struct Created {
    /// BFL's task id.
    pub id: String,
    /// The `polling_url` BFL returned, if any (older API versions had none).
    pub polling_url: Option<String>,
}

/// The task handle: everything a later poll needs.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Task {
    /// BFL's task id.
    pub id: String,
    /// The URL to poll, as chosen by [`polling_target`] at submit.
    pub polling_url: String,
    /// The artifact's MIME type (from the requested `output_format`).
    pub mime: String,
    /// Pixels, when the request fixed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixels, when the request fixed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Task {
    /// The artifact for the finished task's signed sample URL.
    pub fn artifact(&self, sample: String) -> Artifact {
        Artifact { width: self.width, height: self.height, ..Artifact::from_url(sample, &self.mime) }
    }
}

/// Where a task is polled, and why.
#[derive(Debug, PartialEq)]
pub struct PollTarget {
    /// The URL to poll.
    pub url: String,
    /// `Some(url)` when BFL returned a polling URL the adapter would not
    /// call (unknown region, foreign host): worth a warning in the logs.
    pub refused: Option<String>,
}

/// The URL to poll task `id` at: `polling_url` when it is on one of
/// [`API_ORIGINS`] (matched exactly: scheme, host, default port, then a
/// `/`), else BFL's global `get_result` for the id.
pub fn polling_target(polling_url: Option<&str>, id: &str) -> PollTarget {
    let returned = polling_url.map(str::trim).filter(|u| !u.is_empty());
    match returned {
        Some(url) if is_bfl_api_url(url) => PollTarget { url: url.to_string(), refused: None },
        _ => PollTarget {
            url: format!("{API}/v1/get_result?id={}", query_escape(id)),
            refused: returned.map(str::to_string),
        },
    }
}

/// Whether `url` is on one of BFL's API origins this plugin may call.
fn is_bfl_api_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    API_ORIGINS.iter().any(|origin| {
        url.len() > origin.len()
            && url.is_char_boundary(origin.len())
            && url[..origin.len()].eq_ignore_ascii_case(origin)
            && url[origin.len()..].starts_with('/')
    })
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Answer to `GET /v1/get_result`.
#[derive(Deserialize, Debug, Default)]
pub struct ResultAnswer {
    /// `Pending`, `Ready`, `Error`, `Request Moderated`, `Content Moderated`
    /// or `Task not found`.
    #[serde(default)]
    pub status: String,
    /// On `Ready`: `{ "sample": "<signed URL>", "prompt": …, "seed": … }`.
    #[serde(default)]
    pub result: Option<Json>,
    /// A fraction (0.4) or a percentage; null when unknown.
    #[serde(default)]
    pub progress: Option<f64>,
    /// Why a task was moderated or failed.
    #[serde(default)]
    pub details: Option<Json>,
    /// An error text some answers carry beside `details`.
    #[serde(default)]
    pub error: Option<Json>,
}

/// Where a task stands.
#[derive(Debug, PartialEq)]
pub enum TaskState {
    /// Queued or rendering; the percentage when BFL says.
    Working(Option<u8>),
    /// Finished: the signed URL of the image.
    Ready(String),
}

/// Read a poll answer for task `id` (see the module table).
pub fn task_state(answer: &ResultAnswer, id: &str) -> Result<TaskState, Failure> {
    let status = answer.status.trim();
    let why = || reasons(answer).map(|r| format!(": {r}")).unwrap_or_default();
    match status.to_ascii_lowercase().as_str() {
        "ready" => {
            let sample = answer.result.as_ref().and_then(|r| r.get("sample")).and_then(Json::as_str);
            match sample.filter(|s| !s.trim().is_empty()) {
                Some(sample) => Ok(TaskState::Ready(sample.trim().to_string())),
                None => {
                    Err(failure::generation_failed(format!("BFL reported task {id} Ready without a result sample")))
                }
            }
        }
        "request moderated" => Err(failure::content_rejected(format!(
            "BFL's moderation refused the request (status `{status}`: the prompt or input image was flagged){}",
            why()
        ))),
        "content moderated" => Err(failure::content_rejected(format!(
            "BFL's moderation withheld the generated image (status `{status}`){}",
            why()
        ))),
        "error" | "failed" => {
            Err(failure::generation_failed(format!("BFL failed task {id} (status `{status}`){}", why())))
        }
        "task not found" => Err(failure::generation_failed(format!(
            "BFL does not know task {id} (status `{status}`): it expired or was never created"
        ))),
        _ => Ok(TaskState::Working(answer.progress.and_then(percent))),
    }
}

/// BFL's progress as a running percentage: fractions up to 1 are scaled,
/// larger numbers read as percentages; never 100 while running.
fn percent(progress: f64) -> Option<u8> {
    if !progress.is_finite() || progress < 0.0 {
        return None;
    }
    let percent = if progress <= 1.0 { progress * 100.0 } else { progress };
    Some(percent.round().min(99.0) as u8)
}

/// `details` and `error` as one line: `Moderation Reasons: Derivative
/// Works Filter`, for instance.
fn reasons(answer: &ResultAnswer) -> Option<String> {
    let parts: Vec<String> = [&answer.details, &answer.error].into_iter().flatten().filter_map(flatten).collect();
    (!parts.is_empty()).then(|| truncate(&parts.join("; ")))
}

/// A JSON value as short text: objects as `key: value` pairs, arrays
/// joined by commas, strings bare; `None` for null and empty values.
fn flatten(value: &Json) -> Option<String> {
    let text = match value {
        Json::Null => return None,
        Json::String(s) => s.trim().to_string(),
        Json::Array(items) => items.iter().filter_map(flatten).collect::<Vec<_>>().join(", "),
        Json::Object(map) => map
            .iter()
            .filter_map(|(key, value)| flatten(value).map(|v| format!("{key}: {v}")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX_QUOTED_CHARS).collect::<String>())
    }
}

/// BFL's error text: FastAPI's `detail` as a string, or for validation
/// errors each `loc: msg` (`width: Input should be less than or equal to
/// 1440`); else whatever the body says.
pub fn error_text(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Envelope {
        detail: Json,
    }
    let detail = serde_json::from_slice::<Envelope>(body).ok().map(|e| e.detail);
    let text = match detail {
        Some(Json::Array(items)) => {
            let lines: Vec<String> = items.iter().filter_map(validation_line).collect();
            (!lines.is_empty()).then(|| lines.join("; "))
        }
        Some(other) => flatten(&other),
        None => None,
    };
    match text {
        Some(text) => truncate(&text),
        None => http::error_text(body),
    }
}

/// One FastAPI validation error: `width: Input should be …` (the `body`
/// prefix of `loc` dropped).
fn validation_line(item: &Json) -> Option<String> {
    let msg = item.get("msg").and_then(Json::as_str)?;
    let loc: Vec<String> = item
        .get("loc")
        .and_then(Json::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.as_str() != Some("body"))
                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some(if loc.is_empty() { msg.to_string() } else { format!("{}: {msg}", loc.join(".")) })
}

/// The failure for an HTTP answer BFL refused (see the module table).
pub fn request_failure(status: u16, body: &[u8]) -> Failure {
    let message = format!("BFL answered HTTP {status}: {}", error_text(body));
    match status {
        402 => Failure { retryable: false, ..failure::rate_limited(message) },
        _ => http::failure_for_status(status, message),
    }
}

/// The failure for a refused submit: a missing model endpoint (404, 410)
/// is `model-unavailable`; the rest as [`request_failure`]; a 429 keeps its
/// `Retry-After`.
pub fn submit_failure(response: &http::Response, endpoint: &str) -> Failure {
    let failure = match response.status {
        404 | 410 => failure::model_unavailable(format!(
            "BFL serves no model at {endpoint} (HTTP {}: {}); it was retired or renamed: set the operator's \
             `model.<offering>` setting to a current BFL model",
            response.status,
            error_text(&response.body)
        )),
        status => request_failure(status, &response.body),
    };
    http::with_retry_after(failure, response)
}

/// Start a task at `endpoint` (e.g. `/v1/flux-dev`).
pub fn submit(key: &str, endpoint: &str, body: &SubmitBody) -> Result<Created, Failure> {
    let response = http::post(format!("{API}{endpoint}"))
        .header("x-key", key)
        .header("accept", "application/json")
        .json(body)
        .timeout_ms(SUBMIT_TIMEOUT_MS)
        .send_with(|r| submit_failure(r, endpoint))?;
    // BFL has accepted (and billed) the task: an answer we cannot read is
    // final, or a retry would start a second one.
    let answer: SubmitAnswer = serde_json::from_slice(&response.body).map_err(|e| {
        failure::generation_failed(format!("unreadable answer from BFL ({e}): {}", http::error_text(&response.body)))
    })?;
    let id = answer.id.filter(|id| !id.trim().is_empty());
    let id = id.ok_or_else(|| failure::generation_failed("BFL accepted the request without a task id"))?;
    Ok(Created { id, polling_url: answer.polling_url })
}

/// Poll `task` once.
pub fn get_result(key: &str, task: &Task) -> Result<ResultAnswer, Failure> {
    let url = polling_target(Some(&task.polling_url), &task.id).url;
    let response = http::get(url)
        .header("x-key", key)
        .header("accept", "application/json")
        .timeout_ms(POLL_TIMEOUT_MS)
        .send_raw()?;
    match response.status {
        status if http::is_success(status) => http::decode_json(&response),
        404 => Err(failure::generation_failed(format!(
            "BFL does not know task {} (HTTP 404: {})",
            task.id,
            error_text(&response.body)
        ))),
        status => Err(http::with_retry_after(request_failure(status, &response.body), &response)),
    }
}

/// `GET /v1/credits`: the account's balance.
#[derive(Deserialize, Debug)]
pub struct Credits {
    /// BFL credits left (1 credit = US$0.01).
    pub credits: f64,
}

/// Per-request timeout of the health check.
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// The health check: the key works and the account has credits left
/// (`GET /v1/credits`, which generates nothing).
pub fn check_credits(key: &str) -> Result<(), Failure> {
    let response = http::get(format!("{API}/v1/credits"))
        .header("x-key", key)
        .header("accept", "application/json")
        .timeout_ms(HEALTH_TIMEOUT_MS)
        .send_with(|r| http::with_retry_after(request_failure(r.status, &r.body), r))?;
    credits_left(&http::decode_json(&response)?)
}

/// `Ok` while the balance is above zero; else `rate-limited`, not
/// retryable (as BFL's 402).
pub fn credits_left(credits: &Credits) -> Result<(), Failure> {
    if credits.credits > 0.0 {
        Ok(())
    } else {
        Err(Failure {
            retryable: false,
            ..failure::rate_limited(format!("the BFL account has no credits left ({})", credits.credits))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{self, Model};
    use doitong_plugin_sdk::serde_json::json;

    fn text(value: &str) -> Value {
        Value::Text(value.to_string())
    }

    fn input(image: Option<Media>) -> JobInput {
        JobInput { text: Some("a lighthouse at dusk".into()), image, audio: None, video: None, voice: None }
    }

    fn body(model: Model, image: Option<Media>, options: &[(&str, Value)]) -> Json {
        let request = JobRequest {
            offering: model.id().into(),
            kind: MediaKind::Image,
            input: input(image),
            options: spec::with_defaults(&catalogue::offering(model), options),
        };
        let plan = Plan::of(&request).unwrap();
        serde_json::to_value(SubmitBody::new(&plan, &request.input).unwrap()).unwrap()
    }

    fn answer(value: Json) -> ResultAnswer {
        serde_json::from_value(value).unwrap()
    }

    fn inline_png() -> Media {
        Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2, 3]) }
    }

    #[test]
    fn width_height_models_send_sides_and_sampling() {
        assert_eq!(
            body(Model::Dev, None, &[]),
            json!({
                "prompt": "a lighthouse at dusk",
                "width": 1024, "height": 768,
                "steps": 28, "guidance": 3.0,
                "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
            })
        );
        assert_eq!(
            body(
                Model::Pro,
                None,
                &[("aspectRatio", text("9:16")), ("seed", Value::Integer(9)), ("interval", Value::Number(3.0))]
            ),
            json!({
                "prompt": "a lighthouse at dusk",
                "width": 768, "height": 1344,
                "steps": 40, "guidance": 2.5, "interval": 3.0, "seed": 9,
                "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
            })
        );
        assert_eq!(
            body(
                Model::Pro11,
                Some(inline_png()),
                &[("outputFormat", text("png")), ("safetyTolerance", Value::Integer(0))]
            ),
            json!({
                "prompt": "a lighthouse at dusk",
                "image_prompt": "AQID",
                "width": 1024, "height": 768,
                "prompt_upsampling": false, "safety_tolerance": 0, "output_format": "png"
            })
        );
    }

    #[test]
    fn ultra_sends_the_ratio_raw_and_strength_with_an_image_only() {
        assert_eq!(
            body(
                Model::Ultra,
                None,
                &[("aspectRatio", text("16:9")), ("quality", text("ultra")), ("seed", Value::Integer(42))]
            ),
            json!({
                "prompt": "a lighthouse at dusk",
                "aspect_ratio": "16:9", "raw": false, "seed": 42,
                "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
            })
        );
        let with_image = body(
            Model::Ultra,
            Some(inline_png()),
            &[("raw", Value::Flag(true)), ("imagePromptStrength", Value::Number(0.4))],
        );
        assert_eq!(
            (&with_image["raw"], &with_image["image_prompt"], &with_image["image_prompt_strength"]),
            (&json!(true), &json!("AQID"), &json!(0.4))
        );
    }

    #[test]
    fn kontext_sends_image_urls_as_given_and_inline_images_as_base64() {
        let linked = Media { url: "https://img.example/cat.png".into(), mime: None, bytes: None };
        assert_eq!(
            body(Model::Kontext, Some(linked), &[("mode", text("max")), ("aspectRatio", text("21:9"))]),
            json!({
                "prompt": "a lighthouse at dusk",
                "input_image": "https://img.example/cat.png",
                "aspect_ratio": "21:9",
                "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
            })
        );
        let inline = body(Model::Kontext, Some(inline_png()), &[]);
        assert_eq!((&inline["input_image"], inline.get("aspect_ratio")), (&json!("AQID"), None));
    }

    #[test]
    fn an_image_prompt_without_bytes_is_refused() {
        let request = JobRequest {
            offering: "flux-dev".into(),
            kind: MediaKind::Image,
            input: input(Some(Media { url: "https://img.example/a.png".into(), mime: None, bytes: None })),
            options: vec![],
        };
        let plan = Plan::of(&request).unwrap();
        let failure = SubmitBody::new(&plan, &request.input).unwrap_err();
        assert_eq!(failure.code, FailureCode::InvalidInput);
    }

    #[test]
    fn regional_polling_urls_are_used_as_returned() {
        for url in [
            "https://api.bfl.ai/v1/get_result?id=abc",
            "https://api.eu2.bfl.ai/v1/get_result?id=abc",
            "https://api.us1.bfl.ai/v1/get_result?id=abc",
            "https://API.EU.bfl.ai/v1/get_result?id=abc",
        ] {
            assert_eq!(polling_target(Some(url), "abc"), PollTarget { url: url.into(), refused: None }, "{url}");
        }
    }

    #[test]
    fn other_polling_urls_fall_back_to_the_global_endpoint() {
        let global = "https://api.bfl.ai/v1/get_result?id=5b1c-8f2e";
        for escape in [
            "https://api.eu9.bfl.ai/v1/get_result?id=5b1c-8f2e", // a cluster this version does not list
            "https://api.bfl.ai.evil.example/v1/get_result",     // suffix trick
            "https://api.bfl.ai@evil.example/v1/get_result",     // user info
            "https://api.bfl.ai:8443/v1/get_result",             // another port
            "http://api.bfl.ai/v1/get_result",                   // plain http
            "https://evil.example/?u=https://api.bfl.ai/",
            "https://api.bfl.ai\\@evil.example/",
            "https://api.bfl.ai/v1/get_result?id=x\nHost: evil",
            "https://api.bfl.ai",
            "/v1/get_result?id=5b1c-8f2e",
        ] {
            let target = polling_target(Some(escape), "5b1c-8f2e");
            assert_eq!(target, PollTarget { url: global.into(), refused: Some(escape.trim().into()) }, "{escape}");
        }
        assert_eq!(polling_target(None, "5b1c-8f2e"), PollTarget { url: global.into(), refused: None });
        assert_eq!(polling_target(Some("  "), "5b1c-8f2e").refused, None);
        assert_eq!(polling_target(None, "a b&c=d").url, "https://api.bfl.ai/v1/get_result?id=a%20b%26c%3Dd");
    }

    #[test]
    fn statuses_map_to_progress_and_failures() {
        let pending = answer(json!({ "id": "t", "status": "Pending", "result": null, "progress": 0.4 }));
        assert_eq!(task_state(&pending, "t"), Ok(TaskState::Working(Some(40))));
        let unknown = answer(json!({ "status": "Queued", "progress": null }));
        assert_eq!(task_state(&unknown, "t"), Ok(TaskState::Working(None)));
        let percent_scale = answer(json!({ "status": "Pending", "progress": 100.0 }));
        assert_eq!(task_state(&percent_scale, "t"), Ok(TaskState::Working(Some(99))));
        let ready = answer(json!({
            "status": "Ready",
            "result": { "sample": "https://delivery.us1.bfl.ai/results/a/sample.jpeg?sig=X", "seed": 42 }
        }));
        assert_eq!(
            task_state(&ready, "t"),
            Ok(TaskState::Ready("https://delivery.us1.bfl.ai/results/a/sample.jpeg?sig=X".into()))
        );

        let cases = [
            (
                json!({ "status": "Request Moderated", "details": { "Moderation Reasons": ["Derivative Works Filter"] } }),
                FailureCode::ContentRejected,
                "BFL's moderation refused the request (status `Request Moderated`: the prompt or input image was \
                 flagged): Moderation Reasons: Derivative Works Filter",
            ),
            (
                json!({ "status": "Content Moderated", "details": null }),
                FailureCode::ContentRejected,
                "BFL's moderation withheld the generated image (status `Content Moderated`)",
            ),
            (
                json!({ "status": "Error", "details": { "error": "CUDA out of memory" } }),
                FailureCode::GenerationFailed,
                "BFL failed task t (status `Error`): error: CUDA out of memory",
            ),
            (
                json!({ "status": "Failed", "error": "Error description" }),
                FailureCode::GenerationFailed,
                "BFL failed task t (status `Failed`): Error description",
            ),
            (
                json!({ "status": "Task not found" }),
                FailureCode::GenerationFailed,
                "BFL does not know task t (status `Task not found`): it expired or was never created",
            ),
            (
                json!({ "status": "Ready", "result": {} }),
                FailureCode::GenerationFailed,
                "BFL reported task t Ready without a result sample",
            ),
        ];
        for (body, code, message) in cases {
            let failure = task_state(&answer(body.clone()), "t").unwrap_err();
            assert_eq!((failure.code, failure.retryable, failure.message.as_str()), (code, false, message), "{body}");
        }
    }

    #[test]
    fn http_errors_quote_bfl_and_map_by_status() {
        let validation =
            br#"{"detail":[{"loc":["body","width"],"msg":"Input should be less than or equal to 1440","type":"less_than_equal"}]}"#;
        let failure = request_failure(422, validation);
        assert_eq!(failure.code, FailureCode::InvalidInput);
        assert_eq!(failure.message, "BFL answered HTTP 422: width: Input should be less than or equal to 1440");
        let cases = [
            (401, FailureCode::Unauthorized, false),
            (403, FailureCode::Unauthorized, false),
            (402, FailureCode::RateLimited, false),
            (429, FailureCode::RateLimited, true),
            (400, FailureCode::InvalidInput, false),
            (500, FailureCode::ProviderUnavailable, true),
            (503, FailureCode::ProviderUnavailable, true),
        ];
        for (status, code, retryable) in cases {
            let failure = request_failure(status, br#"{"detail":"Not authenticated - Invalid Authentication"}"#);
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{status}");
            assert_eq!(
                failure.message,
                format!("BFL answered HTTP {status}: Not authenticated - Invalid Authentication")
            );
        }
        assert_eq!(error_text(b"upstream connect error"), "upstream connect error");
        assert_eq!(error_text(br#"{"detail":{"message":"nope"}}"#), "message: nope");
    }

    #[test]
    fn handles_round_trip_and_give_sized_artifacts() {
        let task = Task {
            id: "5b1c".into(),
            polling_url: "https://api.eu2.bfl.ai/v1/get_result?id=5b1c".into(),
            mime: "image/png".into(),
            width: Some(1344),
            height: Some(768),
        };
        let decoded: Task = handle::decode(&handle::encode(&task)).unwrap();
        assert_eq!(decoded, task);
        let artifact = task.artifact("https://delivery.eu2.bfl.ai/s.png".into());
        assert_eq!(artifact.url.as_deref(), Some("https://delivery.eu2.bfl.ai/s.png"));
        assert_eq!((artifact.mime.as_str(), artifact.width, artifact.height), ("image/png", Some(1344), Some(768)));
        let unsized_handle = r#"{"id":"x","polling_url":"https://api.bfl.ai/v1/get_result?id=x","mime":"image/jpeg"}"#;
        let unsized_task: Task = handle::decode(unsized_handle).unwrap();
        assert_eq!((unsized_task.width, unsized_task.height), (None, None));
    }

    #[test]
    fn a_missing_model_endpoint_is_model_unavailable_and_429_keeps_retry_after() {
        let gone = http::Response { status: 404, headers: vec![], body: br#"{"detail":"Not Found"}"#.to_vec() };
        let failure = submit_failure(&gone, "/v1/flux-pro");
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        assert!(
            failure.message.contains("/v1/flux-pro") && failure.message.contains("Not Found"),
            "{}",
            failure.message
        );
        let busy = http::Response {
            status: 429,
            headers: vec![("Retry-After".into(), "12".into())],
            body: br#"{"detail":"Too many active tasks"}"#.to_vec(),
        };
        let failure = submit_failure(&busy, "/v1/flux-2-pro");
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(12)));
    }

    #[test]
    fn flux2_sends_input_image_as_given_and_no_prompt_upsampling_except_flex() {
        let linked = Media { url: "https://img.example/cat.png".into(), mime: None, bytes: None };
        assert_eq!(
            body(Model::Flux2Pro, Some(linked), &[("aspectRatio", text("16:9"))]),
            json!({
                "prompt": "a lighthouse at dusk",
                "input_image": "https://img.example/cat.png",
                "width": 1344, "height": 768,
                "safety_tolerance": 2, "output_format": "jpeg"
            })
        );
        assert_eq!(
            body(Model::Flux2Flex, Some(inline_png()), &[]),
            json!({
                "prompt": "a lighthouse at dusk",
                "input_image": "AQID",
                "steps": 50, "guidance": 4.5,
                "prompt_upsampling": true, "safety_tolerance": 2, "output_format": "jpeg"
            })
        );
    }

    #[test]
    fn the_health_check_wants_credits() {
        assert!(credits_left(&Credits { credits: 12.5 }).is_ok());
        let empty = credits_left(&Credits { credits: 0.0 }).unwrap_err();
        assert_eq!((empty.code, empty.retryable), (FailureCode::RateLimited, false));
    }
}
