//! Constructors for [`Failure`], one per [`FailureCode`].
//!
//! The host maps codes to public errors: `invalid-input` → `INVALID_INPUT`;
//! `unauthorized`, `rate-limited`, `provider-unavailable`,
//! `model-unavailable` → `PROVIDER_UNAVAILABLE`; `content-rejected`,
//! `generation-failed` → `GENERATION_FAILED`. Keep the vendor's own message
//! in `message`.
//!
//! Routing reads the codes too: `provider-unavailable`, `rate-limited` and
//! `model-unavailable` on `submit` move an automatically routed generation
//! to the next provider; `model-unavailable` also stops routing to the
//! offering at once, and `retry-after-secs` holds it back that long.

use crate::{Failure, FailureCode};

fn make(code: FailureCode, message: impl Into<String>, retryable: bool) -> Failure {
    Failure { code, message: message.into(), retryable, retry_after_secs: None }
}

/// The request cannot succeed as given (bad option combination, bad media).
pub fn invalid_input(message: impl Into<String>) -> Failure {
    make(FailureCode::InvalidInput, message, false)
}

/// The vendor is down, timing out or answering 5xx; worth another try.
pub fn provider_unavailable(message: impl Into<String>) -> Failure {
    make(FailureCode::ProviderUnavailable, message, true)
}

/// The vendor accepted the task and then failed it.
pub fn generation_failed(message: impl Into<String>) -> Failure {
    make(FailureCode::GenerationFailed, message, false)
}

/// Quota or rate limit at the vendor; worth another try later.
pub fn rate_limited(message: impl Into<String>) -> Failure {
    make(FailureCode::RateLimited, message, true)
}

/// Credentials missing or refused by the vendor.
pub fn unauthorized(message: impl Into<String>) -> Failure {
    make(FailureCode::Unauthorized, message, false)
}

/// The vendor's moderation refused the prompt or the media.
pub fn content_rejected(message: impl Into<String>) -> Failure {
    make(FailureCode::ContentRejected, message, false)
}

/// Like [`rate_limited`], holding the offering back for the vendor's
/// `Retry-After` when it sent one.
pub fn rate_limited_for(message: impl Into<String>, retry_after_secs: Option<u32>) -> Failure {
    Failure { retry_after_secs, ..rate_limited(message) }
}

/// The vendor no longer serves the model behind the offering (a retired
/// or unknown model id). Not retryable on this offering; the host routes
/// elsewhere and keeps the offering out until its cool-down has passed.
pub fn model_unavailable(message: impl Into<String>) -> Failure {
    make(FailureCode::ModelUnavailable, message, false)
}
