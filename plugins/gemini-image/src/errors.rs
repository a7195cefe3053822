//! Google's error answers mapped to failures, for `generateContent` and
//! the health check's `models.get` alike.
//!
//! Errors are Google's `{"error": {"code", "message", "status", "details":
//! [{"@type", "reason"}, {"@type": "…RetryInfo", "retryDelay": "41s"}]}}`,
//! classified by canonical status:
//!
//! | Google                                                        | failure                                   |
//! |---------------------------------------------------------------|-------------------------------------------|
//! | any status with `ErrorInfo.reason` `API_KEY_INVALID`          | `unauthorized`                            |
//! | 404 / `NOT_FOUND`, or a message saying the model is not found or no longer available | `model-unavailable` (final), naming the model and the setting that replaces it |
//! | `INVALID_ARGUMENT`, `OUT_OF_RANGE`                            | `invalid-input`                           |
//! | `UNAUTHENTICATED`, `PERMISSION_DENIED`                        | `unauthorized`                            |
//! | `RESOURCE_EXHAUSTED` (429)                                    | `rate-limited`, retryable, held back for `Retry-After` or `RetryInfo.retryDelay` |
//! | `FAILED_PRECONDITION` (billing, unsupported region)           | `provider-unavailable`, final             |
//! | `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`, …             | `provider-unavailable`, retryable         |
//! | a body that is not Google's error shape                       | the SDK's mapping of the HTTP status (404: `model-unavailable`) |

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

use crate::ID;

/// `google.rpc.Status` as found in error bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    message: String,
    status: String,
    details: Vec<Detail>,
}

/// One entry of `details`: `ErrorInfo` carries a `reason`, `RetryInfo` a
/// `retryDelay`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Detail {
    reason: Option<String>,
    retry_delay: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

/// Words of Google's answers for a model id it does not serve (a retired
/// model can also come back as a 400 naming it).
const GONE_WORDS: &[&str] = &["is not found for api version", "no longer available", "has been shut down"];

/// The failure for a non-2xx answer about `model`, which serves `offering`.
pub fn http_failure(response: &Response, model: &str, offering: &str) -> Failure {
    let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(&response.body) else {
        if response.status == 404 {
            return gone(
                format!("Gemini API answered HTTP 404: {}", http::error_text(&response.body)),
                model,
                offering,
            );
        }
        return http::status_failure(response);
    };
    let message = format!("Gemini API answered HTTP {} {}: {}", response.status, error.status, error.message);
    let key_invalid = error.details.iter().any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"));
    let lower = error.message.to_ascii_lowercase();
    match error.status.as_str() {
        _ if key_invalid => failure::unauthorized(message),
        _ if response.status == 404 || error.status == "NOT_FOUND" => gone(message, model, offering),
        _ if GONE_WORDS.iter().any(|w| lower.contains(w)) => gone(message, model, offering),
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => failure::invalid_input(message),
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => failure::unauthorized(message),
        "RESOURCE_EXHAUSTED" => {
            let wait = http::retry_after(response).or_else(|| error.details.iter().find_map(retry_delay));
            failure::rate_limited_for(message, wait)
        }
        "FAILED_PRECONDITION" => Failure { retryable: false, ..failure::provider_unavailable(message) },
        "" => http::with_retry_after(http::failure_for_status(response.status, message), response),
        _ => failure::provider_unavailable(message),
    }
}

/// `model-unavailable`, saying how the operator points the offering at
/// another model.
fn gone(message: String, model: &str, offering: &str) -> Failure {
    failure::model_unavailable(format!(
        "{message} (Google does not serve the model `{model}` behind provider `{offering}`; if it was retired, set \
         `[plugins.{ID}] settings = {{ \"model.{offering}\" = \"<current model id>\" }}`: see the gemini-image \
         plugin's README)"
    ))
}

/// `RetryInfo.retryDelay` in whole seconds, rounded up: a protobuf
/// `Duration` in JSON, decimal seconds with an `s` (`"41s"`, `"0.5s"`).
fn retry_delay(detail: &Detail) -> Option<u32> {
    let seconds: f64 = detail.retry_delay.as_deref()?.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds.ceil() as u32).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = "gemini-3.1-flash-image";

    fn google(http: u16, status: &str, message: &str, details: &str) -> Response {
        let body =
            format!(r#"{{"error":{{"code":{http},"message":"{message}","status":"{status}","details":{details}}}}}"#);
        Response { status: http, headers: vec![], body: body.into_bytes() }
    }

    fn classify(response: &Response) -> (FailureCode, bool, Option<u32>, String) {
        let f = http_failure(response, MODEL, "gemini-image");
        (f.code, f.retryable, f.retry_after_secs, f.message)
    }

    #[test]
    fn a_retired_or_unknown_model_is_model_unavailable_with_the_fix() {
        let retired = google(
            404,
            "NOT_FOUND",
            "models/gemini-3.1-flash-image-preview is not found for API version v1beta, or is not supported for \
             generateContent. Call ListModels to see the list of available models and their supported methods.",
            "[]",
        );
        let (code, retryable, wait, message) = classify(&retired);
        assert_eq!((code, retryable, wait), (FailureCode::ModelUnavailable, false, None));
        assert!(message.starts_with("Gemini API answered HTTP 404 NOT_FOUND: models/gemini-3.1-flash-image-preview"));
        assert!(
            message.ends_with(
                "(Google does not serve the model `gemini-3.1-flash-image` behind provider `gemini-image`; if it was \
                 retired, set `[plugins.gemini-image] settings = { \"model.gemini-image\" = \"<current model id>\" }`: \
                 see the gemini-image plugin's README)"
            ),
            "{message}"
        );
        let no_longer =
            google(400, "INVALID_ARGUMENT", "Gemini 2.5 Flash Image is no longer available to new users.", "[]");
        assert_eq!(classify(&no_longer).0, FailureCode::ModelUnavailable);
        let bare = Response { status: 404, headers: vec![], body: b"Not Found".to_vec() };
        let (code, _, _, message) = classify(&bare);
        assert_eq!(code, FailureCode::ModelUnavailable);
        assert!(message.starts_with("Gemini API answered HTTP 404: Not Found (Google does not serve"), "{message}");
    }

    #[test]
    fn a_429_waits_for_retry_after_or_the_retry_info_delay() {
        let details = r#"[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
                          {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"41s"}]"#;
        let quota = google(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", details);
        let (code, retryable, wait, message) = classify(&quota);
        assert_eq!((code, retryable, wait), (FailureCode::RateLimited, true, Some(41)));
        assert_eq!(message, "Gemini API answered HTTP 429 RESOURCE_EXHAUSTED: You exceeded your current quota.");
        // The header wins over the body.
        let mut with_header = quota;
        with_header.headers.push(("Retry-After".into(), "7".into()));
        assert_eq!(classify(&with_header).2, Some(7));
        let fractional = google(
            429,
            "RESOURCE_EXHAUSTED",
            "slow down",
            r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.2s"}]"#,
        );
        assert_eq!(classify(&fractional).2, Some(3));
        let tiny = google(429, "RESOURCE_EXHAUSTED", "x", r#"[{"retryDelay":"0.01s"}]"#);
        assert_eq!(classify(&tiny).2, Some(1));
        let none = google(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", "[]");
        let (code, retryable, wait, _) = classify(&none);
        assert_eq!((code, retryable, wait), (FailureCode::RateLimited, true, None));
    }

    #[test]
    fn keys_arguments_preconditions_and_outages() {
        let key = google(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            r#"[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]"#,
        );
        let cases = [
            (key, FailureCode::Unauthorized, false),
            (google(400, "INVALID_ARGUMENT", "Unsupported image size 8K.", "[]"), FailureCode::InvalidInput, false),
            (
                google(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.", "[]"),
                FailureCode::Unauthorized,
                false,
            ),
            (
                google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "[]"),
                FailureCode::Unauthorized,
                false,
            ),
            (
                google(400, "FAILED_PRECONDITION", "User location is not supported for the API use.", "[]"),
                FailureCode::ProviderUnavailable,
                false,
            ),
            (
                google(503, "UNAVAILABLE", "The model is overloaded. Please try again later.", "[]"),
                FailureCode::ProviderUnavailable,
                true,
            ),
            (google(500, "INTERNAL", "An internal error has occurred.", "[]"), FailureCode::ProviderUnavailable, true),
        ];
        for (response, code, retryable) in cases {
            let (got, got_retryable, _, message) = classify(&response);
            assert_eq!((got, got_retryable), (code, retryable), "{message}");
            assert!(message.starts_with(&format!("Gemini API answered HTTP {}", response.status)), "{message}");
        }
        // Not Google's shape: the SDK's table.
        let proxy = Response { status: 502, headers: vec![], body: b"<html>Bad Gateway</html>".to_vec() };
        let (code, retryable, _, _) = classify(&proxy);
        assert_eq!((code, retryable), (FailureCode::ProviderUnavailable, true));
    }
}
