//! OpenAI's API on the wire: the two synchronous exchanges ([`image`]:
//! `POST /v1/images/generations`, [`speech`]: `POST /v1/audio/speech`) and
//! the error envelope both share, mapped to our failures:
//!
//! | HTTP | `error.code` / `error.type`                                 | failure                          |
//! |------|-------------------------------------------------------------|----------------------------------|
//! | 400  | `moderation_blocked`, `content_policy_violation`, type `image_generation_user_error` | `content-rejected` |
//! | 400  | anything else (`param` names the field)                     | `invalid-input`                  |
//! | 401  | `invalid_api_key`, …                                        | `unauthorized`                   |
//! | 403  | (organisation not verified, model not allowed)              | `unauthorized`                   |
//! | 400, 404 | `model_not_found`, or a message saying the model does not exist or is deprecated | `model-unavailable`: retired or unknown model (fix with `model.<offering>`) |
//! | 404  | anything else                                               | `invalid-input`                  |
//! | 429  | `insufficient_quota` (code or type)                         | `rate-limited`, not retryable (billing) |
//! | 429  | `rate_limit_exceeded`, …                                    | `rate-limited`, retryable, held back for `Retry-After` |
//! | 5xx  | `server_error`, …                                           | `provider-unavailable`, retryable |
//!
//! Every message keeps OpenAI's text and code, and the `x-request-id`
//! OpenAI's support asks for.

use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

pub mod image;
pub mod speech;

/// The vendor origin: first in `allowed_hosts`, so operators can move it
/// with `base_url` (an OpenAI-compatible gateway, say); paths carry `/v1`.
pub const API: &str = "https://api.openai.com";
/// Per-request timeout. OpenAI advises at least 120 s for high-quality
/// images; the host caps every request (60 s by default).
const REQUEST_TIMEOUT_MS: u32 = 120_000;
/// Per-request timeout of a health check (a metadata read).
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// OpenAI's error envelope.
#[derive(Deserialize, Debug, Default)]
struct Envelope {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Deserialize, Debug, Default)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// The failure for a non-2xx answer (see the module table).
pub fn request_failure(response: &http::Response) -> Failure {
    let status = response.status;
    let detail = serde_json::from_slice::<Envelope>(&response.body).map(|e| e.error).unwrap_or_default();
    let code = detail.code.as_deref().unwrap_or_default();
    let kind = detail.kind.as_deref().unwrap_or_default();
    let text = detail.message.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| http::error_text(&response.body));
    let mut message = format!("OpenAI HTTP {status}");
    if let Some(label) = [code, kind].into_iter().find(|l| !l.is_empty()) {
        message.push_str(&format!(" {label}"));
    }
    message.push_str(&format!(": {text}"));
    if let Some(param) = detail.param.as_deref().filter(|p| !p.is_empty()) {
        message.push_str(&format!(" (param `{param}`)"));
    }
    if let Some(id) = http::header(response, "x-request-id") {
        message.push_str(&format!(" [request {id}]"));
    }
    let lowered = text.to_ascii_lowercase();
    let model_gone = code == "model_not_found"
        || (matches!(status, 400 | 404)
            && lowered.contains("model")
            && (lowered.contains("does not exist") || lowered.contains("deprecated") || lowered.contains("not found")));
    let moderated =
        matches!(code, "moderation_blocked" | "content_policy_violation") || kind == "image_generation_user_error";
    let out_of_quota = code == "insufficient_quota" || kind == "insufficient_quota";
    let failure = match status {
        400 if moderated => failure::content_rejected(message),
        _ if model_gone => failure::model_unavailable(message),
        429 if out_of_quota => Failure { retryable: false, ..failure::rate_limited(message) },
        _ => http::failure_for_status(status, message),
    };
    http::with_retry_after(failure, response)
}

/// The health check: `GET /v1/models/{model}` for each offering's default
/// model (as the operator's settings resolve it). Free, generates nothing;
/// a retired model answers 404 `model_not_found` (`model-unavailable`), a
/// bad key 401.
pub fn check_models(key: &str, models: &[String]) -> Result<(), Failure> {
    for model in models {
        http::get(format!("{API}/v1/models/{model}"))
            .bearer(key)
            .header("Accept", "application/json")
            .timeout_ms(HEALTH_TIMEOUT_MS)
            .send_with(request_failure)?;
    }
    Ok(())
}

/// POST `body` as JSON to `path` with the key; a non-2xx answer fails by
/// [`request_failure`].
fn post<T: serde::Serialize>(key: &str, path: &str, accept: &str, body: &T) -> Result<http::Response, Failure> {
    http::post(format!("{API}{path}"))
        .bearer(key)
        .header("Accept", accept)
        .json(body)
        .timeout_ms(REQUEST_TIMEOUT_MS)
        .send_with(request_failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> http::Response {
        http::Response {
            status,
            headers: vec![("x-request-id".into(), "req_0123".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn envelope(message: &str, kind: &str, code: Option<&str>) -> String {
        serde_json::json!({ "error": { "message": message, "type": kind, "param": null, "code": code } }).to_string()
    }

    #[test]
    fn error_envelopes_map_to_failures() {
        let cases = [
            (400, "image_generation_user_error", Some("moderation_blocked"), FailureCode::ContentRejected, false),
            (400, "invalid_request_error", Some("content_policy_violation"), FailureCode::ContentRejected, false),
            (400, "invalid_request_error", None, FailureCode::InvalidInput, false),
            (401, "invalid_request_error", Some("invalid_api_key"), FailureCode::Unauthorized, false),
            (403, "invalid_request_error", None, FailureCode::Unauthorized, false),
            (404, "invalid_request_error", Some("model_not_found"), FailureCode::ModelUnavailable, false),
            (404, "invalid_request_error", None, FailureCode::InvalidInput, false),
            (429, "requests", Some("rate_limit_exceeded"), FailureCode::RateLimited, true),
            (429, "insufficient_quota", Some("insufficient_quota"), FailureCode::RateLimited, false),
            (500, "server_error", None, FailureCode::ProviderUnavailable, true),
            (503, "server_error", None, FailureCode::ProviderUnavailable, true),
        ];
        for (status, kind, code, expected, retryable) in cases {
            let failure = request_failure(&response(status, &envelope("why", kind, code)));
            assert_eq!((failure.code, failure.retryable), (expected, retryable), "{status} {kind} {code:?}");
        }
    }

    #[test]
    fn retired_models_are_model_unavailable_and_429s_carry_retry_after() {
        let gone = "The model `gpt-image-0` does not exist or you do not have access to it.";
        let failure = request_failure(&response(404, &envelope(gone, "invalid_request_error", None)));
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        let deprecated =
            "The model `tts-0` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations";
        let failure = request_failure(&response(400, &envelope(deprecated, "invalid_request_error", None)));
        assert_eq!(failure.code, FailureCode::ModelUnavailable);
        let mut busy = response(429, &envelope("Rate limit reached", "requests", Some("rate_limit_exceeded")));
        busy.headers.push(("retry-after".into(), "20".into()));
        let failure = request_failure(&busy);
        assert_eq!(
            (failure.code, failure.retryable, failure.retry_after_secs),
            (FailureCode::RateLimited, true, Some(20))
        );
    }

    #[test]
    fn messages_keep_openais_text_code_param_and_request_id() {
        let body = r#"{"error":{"message":"Invalid value: 'huge'.","type":"invalid_request_error","param":"size","code":"invalid_value"}}"#;
        assert_eq!(
            request_failure(&response(400, body)).message,
            "OpenAI HTTP 400 invalid_value: Invalid value: 'huge'. (param `size`) [request req_0123]"
        );
        let moderated = envelope(
            "Your request was rejected by the safety system.",
            "image_generation_user_error",
            Some("moderation_blocked"),
        );
        assert_eq!(
            request_failure(&response(400, &moderated)).message,
            "OpenAI HTTP 400 moderation_blocked: Your request was rejected by the safety system. [request req_0123]"
        );
        let typed = envelope("Rate limit reached", "requests", None);
        assert_eq!(
            request_failure(&response(429, &typed)).message,
            "OpenAI HTTP 429 requests: Rate limit reached [request req_0123]"
        );
        let html = http::Response { status: 502, headers: vec![], body: b"<html>Bad gateway</html>".to_vec() };
        assert_eq!(request_failure(&html).message, "OpenAI HTTP 502: <html>Bad gateway</html>");
    }
}
