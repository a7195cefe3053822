//! Google's errors mapped to our failures.
//!
//! Google answers errors as `{"error": {"code", "message", "status",
//! "details": [{"reason"}]}}` over HTTP, and a finished operation that
//! failed carries the same `google.rpc.Status` with a numeric gRPC `code`
//! instead of the `status` name. Both are classified by the canonical status:
//!
//! | canonical status                                  | over HTTP (submit, poll, download)  | in a finished operation       |
//! |---------------------------------------------------|-------------------------------------|-------------------------------|
//! | `INVALID_ARGUMENT` with reason `API_KEY_INVALID`  | `unauthorized`                      | —                             |
//! | `INVALID_ARGUMENT`, `OUT_OF_RANGE`                | `invalid-input`                     | `invalid-input`               |
//! | `UNAUTHENTICATED`, `PERMISSION_DENIED`            | `unauthorized`                      | `unauthorized`                |
//! | `RESOURCE_EXHAUSTED` (quota, rate)                | `rate-limited`, retryable           | `rate-limited`, final         |
//! | `FAILED_PRECONDITION` (billing, region)           | `provider-unavailable`, final       | `provider-unavailable`, final |
//! | `NOT_FOUND` at submit or health (model retired)   | `model-unavailable`, final          | —                             |
//! | `NOT_FOUND` elsewhere (operation, file expired)   | `provider-unavailable`, final       | `generation-failed`           |
//! | `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`, … | `provider-unavailable`, retryable   | `generation-failed`           |
//! | a body that is not Google's error shape           | the SDK's mapping of the HTTP status | —                            |
//!
//! A 429 carries Google's `Retry-After`, when sent, as `retry-after-secs`.
//!
//! A finished operation never changes, so nothing failed inside one is
//! retryable: polling it again would return the same error until the job's
//! deadline. Google's message is kept in every failure.

use doitong_plugin_sdk::http::{self, Response};
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

/// `google.rpc.Status`, as found in error bodies and failed operations.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    /// The HTTP status in error bodies; the gRPC code in operations.
    pub code: i64,
    /// Google's explanation.
    pub message: String,
    /// The canonical status name (error bodies only).
    pub status: String,
    /// Structured details; an `ErrorInfo` entry names the reason.
    pub details: Vec<Detail>,
}

/// One entry of `details`; only `google.rpc.ErrorInfo` carries a reason.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Detail {
    /// E.g. `API_KEY_INVALID`.
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

/// Where a status was found, which decides whether it is worth retrying.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Origin {
    /// An HTTP answer: a later identical request may succeed.
    Http,
    /// A finished operation: final.
    Operation,
}

/// The failure for a non-2xx answer to a poll or a download.
pub fn http_failure(response: &Response) -> Failure {
    http::with_retry_after(http_classify(response, false), response)
}

/// The failure for a non-2xx answer to a request naming the model
/// (`predictLongRunning`, `models.get`): there `NOT_FOUND` means Google
/// no longer serves the model (`models/… is not found`, `… is no longer
/// available`), which is `model-unavailable`.
pub fn model_failure(response: &Response) -> Failure {
    http::with_retry_after(http_classify(response, true), response)
}

fn http_classify(response: &Response, names_model: bool) -> Failure {
    let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(&response.body) else {
        return match response.status {
            404 if names_model => failure::model_unavailable(format!(
                "Veo answered HTTP 404 for the model: {}",
                http::error_text(&response.body)
            )),
            _ => http::status_failure(response),
        };
    };
    let message = format!("Veo answered HTTP {} {}: {}", response.status, error.status, error.message);
    if names_model && error.status == "NOT_FOUND" {
        return failure::model_unavailable(format!(
            "{message} (the model is retired or unknown: set `model.<offering>` in [plugins.veo] settings)"
        ));
    }
    classify(&error.status, error.has_reason("API_KEY_INVALID"), message, Origin::Http)
}

/// The failure for an operation that finished with `error`.
pub fn operation_failure(error: &Status) -> Failure {
    let status = grpc_status_name(error.code);
    let message = format!("Veo failed the generation ({status}): {}", error.message);
    classify(status, false, message, Origin::Operation)
}

impl Status {
    fn has_reason(&self, reason: &str) -> bool {
        self.details.iter().any(|d| d.reason.as_deref() == Some(reason))
    }
}

fn classify(status: &str, key_invalid: bool, message: String, origin: Origin) -> Failure {
    let fresh = origin == Origin::Http;
    match status {
        _ if key_invalid => failure::unauthorized(message),
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => failure::invalid_input(message),
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => failure::unauthorized(message),
        "RESOURCE_EXHAUSTED" => Failure { retryable: fresh, ..failure::rate_limited(message) },
        "FAILED_PRECONDITION" => final_failure(failure::provider_unavailable(message)),
        "NOT_FOUND" if fresh => final_failure(failure::provider_unavailable(message)),
        _ if fresh => failure::provider_unavailable(message),
        _ => failure::generation_failed(message),
    }
}

fn final_failure(failure: Failure) -> Failure {
    Failure { retryable: false, ..failure }
}

/// The canonical name of a gRPC status code (`google.rpc.Code`).
fn grpc_status_name(code: i64) -> &'static str {
    match code {
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google(http: u16, status: &str, reason: Option<&str>) -> Response {
        let details = match reason {
            Some(r) => format!(r#"[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"{r}"}}]"#),
            None => "[]".into(),
        };
        let body =
            format!(r#"{{"error":{{"code":{http},"message":"the words","status":"{status}","details":{details}}}}}"#);
        Response { status: http, headers: vec![], body: body.into_bytes() }
    }

    #[test]
    fn http_errors_follow_the_canonical_status() {
        let cases = [
            (google(400, "INVALID_ARGUMENT", Some("API_KEY_INVALID")), FailureCode::Unauthorized, false),
            (google(400, "INVALID_ARGUMENT", None), FailureCode::InvalidInput, false),
            (google(403, "PERMISSION_DENIED", None), FailureCode::Unauthorized, false),
            (google(429, "RESOURCE_EXHAUSTED", None), FailureCode::RateLimited, true),
            (google(400, "FAILED_PRECONDITION", None), FailureCode::ProviderUnavailable, false),
            (google(404, "NOT_FOUND", None), FailureCode::ProviderUnavailable, false),
            (google(503, "UNAVAILABLE", None), FailureCode::ProviderUnavailable, true),
            (google(500, "INTERNAL", None), FailureCode::ProviderUnavailable, true),
        ];
        for (response, code, retryable) in cases {
            let failure = http_failure(&response);
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{}", failure.message);
            assert!(failure.message.contains("the words"), "{}", failure.message);
        }
    }

    #[test]
    fn a_missing_model_is_model_unavailable_where_the_request_names_it() {
        let retired = Response {
            status: 404,
            headers: vec![],
            body: br#"{"error":{"code":404,"message":"models/veo-3.1-generate-preview is no longer available","status":"NOT_FOUND"}}"#.to_vec(),
        };
        let failure = model_failure(&retired);
        assert_eq!((failure.code, failure.retryable), (FailureCode::ModelUnavailable, false));
        assert!(failure.message.contains("is no longer available"), "{}", failure.message);
        // An expired operation or file is not a retired model.
        assert_eq!(http_failure(&retired).code, FailureCode::ProviderUnavailable);
        let bare = Response { status: 404, headers: vec![], body: b"Not Found".to_vec() };
        assert_eq!(model_failure(&bare).code, FailureCode::ModelUnavailable);
        // Other statuses are classified as everywhere else.
        assert_eq!(model_failure(&google(400, "INVALID_ARGUMENT", None)).code, FailureCode::InvalidInput);
    }

    #[test]
    fn a_429_carries_the_retry_after_seconds() {
        let mut response = google(429, "RESOURCE_EXHAUSTED", None);
        response.headers.push(("Retry-After".into(), "42".into()));
        for failure in [http_failure(&response), model_failure(&response)] {
            assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(42)));
        }
        assert_eq!(http_failure(&google(429, "RESOURCE_EXHAUSTED", None)).retry_after_secs, None);
    }

    #[test]
    fn bodies_in_another_shape_fall_back_to_the_http_status() {
        let response = Response { status: 502, headers: vec![], body: b"<html>Bad Gateway</html>".to_vec() };
        let failure = http_failure(&response);
        assert_eq!((failure.code, failure.retryable), (FailureCode::ProviderUnavailable, true));
        let response = Response { status: 429, headers: vec![], body: b"slow down".to_vec() };
        assert_eq!(http_failure(&response).code, FailureCode::RateLimited);
    }

    #[test]
    fn finished_operations_are_final() {
        let status = |code: i64| Status { code, message: "why".into(), ..Status::default() };
        let cases = [
            (3, FailureCode::InvalidInput),
            (7, FailureCode::Unauthorized),
            (8, FailureCode::RateLimited),
            (9, FailureCode::ProviderUnavailable),
            (5, FailureCode::GenerationFailed),
            (13, FailureCode::GenerationFailed),
            (14, FailureCode::GenerationFailed),
            (99, FailureCode::GenerationFailed),
        ];
        for (code, expected) in cases {
            let failure = operation_failure(&status(code));
            assert_eq!(failure.code, expected, "gRPC {code}");
            assert!(!failure.retryable, "gRPC {code}");
            assert!(failure.message.ends_with(": why"), "{}", failure.message);
        }
    }
}
