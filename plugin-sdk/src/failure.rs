//! Constructors for [`Failure`], one per [`FailureCode`].
//!
//! The host maps codes to public errors: `invalid-input` → `INVALID_INPUT`;
//! `unauthorized`, `rate-limited`, `provider-unavailable` →
//! `PROVIDER_UNAVAILABLE`; `content-rejected`, `generation-failed` →
//! `GENERATION_FAILED`. Keep the vendor's own message in `message`.

use crate::{Failure, FailureCode};

fn make(code: FailureCode, message: impl Into<String>, retryable: bool) -> Failure {
    Failure { code, message: message.into(), retryable }
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
