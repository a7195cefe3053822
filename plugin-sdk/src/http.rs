//! HTTP through the host, with vendor answers mapped to [`Failure`]s.
//!
//! Every adapter speaks JSON over HTTP to one vendor and needs the same
//! mapping of transport errors and status codes; it lives here once:
//!
//! | vendor answer            | failure                          |
//! |--------------------------|----------------------------------|
//! | host refused the URL     | `provider-unavailable` (config)  |
//! | timeout, transport error | `provider-unavailable`, retryable|
//! | 401, 403                 | `unauthorized`                   |
//! | 429                      | `rate-limited`, retryable, with the `Retry-After` seconds |
//! | 400, 404, 409, 413, 422  | `invalid-input`                  |
//! | 5xx, anything else       | `provider-unavailable`, retryable|
//!
//! Vendors whose error bodies say more than the status (a moderation code
//! in a 400, a billing code in a 403) send with [`Request::send_with`] and
//! their own classifier, falling back on [`failure_for_status`] or
//! [`status_failure`] for the codes they do not know.

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::doitong::provider::http as wit;
use crate::{Failure, failure};

pub use wit::Response;

/// An outgoing request under construction.
pub struct Request {
    inner: wit::Request,
}

/// Start a GET.
pub fn get(url: impl Into<String>) -> Request {
    Request::new("GET", url)
}

/// Start a POST.
pub fn post(url: impl Into<String>) -> Request {
    Request::new("POST", url)
}

/// Start a DELETE.
pub fn delete(url: impl Into<String>) -> Request {
    Request::new("DELETE", url)
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            inner: wit::Request {
                method: method.to_string(),
                url: url.into(),
                headers: Vec::new(),
                body: None,
                timeout_ms: None,
            },
        }
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.to_string(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        let bytes = serde_json::to_vec(body).expect("request body serialises to JSON");
        self.inner.body = Some(bytes);
        self.header("Content-Type", "application/json")
    }

    /// A raw body.
    pub fn body(mut self, bytes: Vec<u8>, content_type: &str) -> Self {
        self.inner.body = Some(bytes);
        self.header("Content-Type", content_type)
    }

    /// Per-request timeout (the host caps it).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.inner.timeout_ms = Some(ms);
        self
    }

    /// Send it; any status is returned as a [`Response`]. Only transport
    /// problems become a [`Failure`].
    pub fn send_raw(self) -> Result<Response, Failure> {
        wit::send(&self.inner).map_err(transport_failure)
    }

    /// Send it; a non-2xx status becomes a [`Failure`] (see the module table)
    /// whose message carries the vendor's own error text.
    pub fn send(self) -> Result<Response, Failure> {
        self.send_with(status_failure)
    }

    /// Send it; a 2xx answer is returned, any other becomes the failure
    /// `classify` makes of it (the vendor's own error codes, say). Transport
    /// problems fail as with [`send_raw`](Self::send_raw).
    pub fn send_with(self, classify: impl FnOnce(&Response) -> Failure) -> Result<Response, Failure> {
        let response = self.send_raw()?;
        if is_success(response.status) { Ok(response) } else { Err(classify(&response)) }
    }

    /// Send it and decode a 2xx JSON answer.
    pub fn send_json<T: DeserializeOwned>(self) -> Result<T, Failure> {
        let response = self.send()?;
        decode_json(&response)
    }
}

fn transport_failure(error: wit::HttpError) -> Failure {
    match error {
        // A refusal is configuration, not a passing fault: not retryable.
        wit::HttpError::Denied(why) => Failure {
            retryable: false,
            ..failure::provider_unavailable(format!("the host refused the request: {why}"))
        },
        wit::HttpError::Timeout => failure::provider_unavailable("the vendor did not answer in time"),
        wit::HttpError::TooLarge(cap) => {
            failure::generation_failed(format!("the vendor's answer exceeded the host's {cap}-byte cap"))
        }
        wit::HttpError::Transport(why) => failure::provider_unavailable(format!("could not reach the vendor: {why}")),
    }
}

/// Whether `status` is a 2xx.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Map a non-2xx response to the failure the module table gives.
pub fn check_status(response: &Response) -> Result<(), Failure> {
    if is_success(response.status) { Ok(()) } else { Err(status_failure(response)) }
}

/// The failure the module table gives for `response`'s status, with the
/// message `vendor answered HTTP <status>: <error_text>`. Meant for non-2xx
/// answers; a 2xx counts as "anything else".
pub fn status_failure(response: &Response) -> Failure {
    let status = response.status;
    let failure = failure_for_status(status, format!("vendor answered HTTP {status}: {}", error_text(&response.body)));
    with_retry_after(failure, response)
}

/// `failure` with the response's `Retry-After` (delay-seconds form) when it
/// has one: the host holds the offering back that long.
pub fn with_retry_after(failure: Failure, response: &Response) -> Failure {
    let retry_after_secs = retry_after(response).or(failure.retry_after_secs);
    Failure { retry_after_secs, ..failure }
}

/// The `Retry-After` header in seconds (the delay-seconds form; HTTP dates
/// are ignored).
pub fn retry_after(response: &Response) -> Option<u32> {
    header(response, "retry-after").and_then(|v| v.trim().parse::<u32>().ok())
}

/// The failure the module table gives for `status`, with the adapter's own
/// `message` (one that quotes the vendor's error code, say): the fallback
/// of a vendor classifier for codes it does not know. A 2xx counts as
/// "anything else" (`provider-unavailable`), for answers whose body
/// reports an error under a 200.
pub fn failure_for_status(status: u16, message: impl Into<String>) -> Failure {
    match status {
        401 | 403 => failure::unauthorized(message),
        429 => failure::rate_limited(message),
        400 | 404 | 409 | 413 | 422 => failure::invalid_input(message),
        _ => failure::provider_unavailable(message),
    }
}

/// Decode a JSON body, or fail with `provider-unavailable` quoting it.
pub fn decode_json<T: DeserializeOwned>(response: &Response) -> Result<T, Failure> {
    serde_json::from_slice(&response.body).map_err(|e| {
        failure::provider_unavailable(format!(
            "unexpected answer from the vendor ({e}): {}",
            error_text(&response.body)
        ))
    })
}

/// The most useful short text in an error body: a JSON `message`, `error`,
/// `detail` or `msg` field if there is one, else the body itself, cut to
/// 300 characters.
pub fn error_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(found) = find_message(&json)
    {
        return truncate(&found, 300);
    }
    truncate(text.trim(), 300)
}

fn find_message(json: &serde_json::Value) -> Option<String> {
    for key in ["message", "error", "detail", "msg", "status_msg", "error_message"] {
        match json.get(key) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => return Some(s.clone()),
            Some(nested @ serde_json::Value::Object(_)) => {
                if let Some(found) = find_message(nested) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

/// A response header, matched case-insensitively.
pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailureCode;

    fn response(status: u16, body: &str) -> Response {
        Response { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn statuses_map_to_failure_codes() {
        let cases = [
            (401, FailureCode::Unauthorized, false),
            (403, FailureCode::Unauthorized, false),
            (429, FailureCode::RateLimited, true),
            (400, FailureCode::InvalidInput, false),
            (422, FailureCode::InvalidInput, false),
            (500, FailureCode::ProviderUnavailable, true),
            (503, FailureCode::ProviderUnavailable, true),
        ];
        for (status, code, retryable) in cases {
            let err = check_status(&response(status, "{}")).unwrap_err();
            assert_eq!(err.code, code, "status {status}");
            assert_eq!(err.retryable, retryable, "status {status}");
        }
        assert!(check_status(&response(204, "")).is_ok());
    }

    #[test]
    fn a_429_carries_its_retry_after_seconds() {
        let mut throttled = response(429, "{}");
        throttled.headers.push(("Retry-After".into(), "30".into()));
        let failure = check_status(&throttled).unwrap_err();
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(30)));
        throttled.headers[0].1 = "Wed, 21 Oct 2026 07:28:00 GMT".into();
        assert_eq!(check_status(&throttled).unwrap_err().retry_after_secs, None);
        assert_eq!(check_status(&response(429, "{}")).unwrap_err().retry_after_secs, None);
    }

    #[test]
    fn failure_for_status_keeps_the_message_and_counts_2xx_as_unavailable() {
        let failure = failure_for_status(429, "Acme code 1302: slow down");
        assert_eq!(
            (failure.code, failure.retryable, failure.message.as_str()),
            (FailureCode::RateLimited, true, "Acme code 1302: slow down")
        );
        assert_eq!(failure_for_status(404, "x").code, FailureCode::InvalidInput);
        let ok_with_error = failure_for_status(200, "code 9999 under a 200");
        assert_eq!((ok_with_error.code, ok_with_error.retryable), (FailureCode::ProviderUnavailable, true));
    }

    #[test]
    fn status_failure_quotes_the_status_and_the_vendor_text() {
        let failure = status_failure(&response(403, r#"{"error":{"message":"key revoked"}}"#));
        assert_eq!(failure.code, FailureCode::Unauthorized);
        assert_eq!(failure.message, "vendor answered HTTP 403: key revoked");
        assert_eq!(check_status(&response(403, r#"{"error":{"message":"key revoked"}}"#)), Err(failure));
        assert!(is_success(200) && is_success(299) && !is_success(199) && !is_success(302));
    }

    #[test]
    fn error_text_finds_nested_vendor_messages() {
        assert_eq!(error_text(br#"{"error":{"message":"bad prompt"}}"#), "bad prompt");
        assert_eq!(error_text(br#"{"detail":"nope"}"#), "nope");
        assert_eq!(error_text(b"plain text"), "plain text");
        assert_eq!(error_text(&vec![b'a'; 400]).chars().count(), 301);
    }
}
