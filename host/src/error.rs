//! The one place where internal errors become public error codes.
//!
//! Every module returns its own error type; the GraphQL layer converts
//! them into [`ApiError`] here, which carries the public [`ErrorCode`]
//! (`extensions.code`), a message that names the thing and says what to do,
//! and any structured detail (`extensions.*`). Transport-level refusals
//! (401, 409, 422, 429) also carry an HTTP status, see [`ErrorCode::http_status`].

use async_graphql::ErrorExtensions;
use serde_json::{Map, Value as Json};

/// Public, machine-readable error codes (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The account's credits do not cover the quote.
    InsufficientCredits,
    /// A plan limit was hit; see the rate-limit headers.
    RateLimit,
    /// The request is invalid; the message names the field.
    InvalidInput,
    /// The provider cannot be used now (down, unconfigured, refusing).
    ProviderUnavailable,
    /// The provider failed the generation.
    GenerationFailed,
    /// Missing or unknown API key.
    Unauthenticated,
    /// The key may not do this.
    Forbidden,
    /// No such object (or not yours).
    NotFound,
    /// The Idempotency-Key was used with a different request.
    IdempotencyKeyReused,
    /// The first request with this Idempotency-Key is still running.
    IdempotencyInProgress,
    /// A bug or an outage on our side.
    Internal,
}

impl ErrorCode {
    /// The code as sent (`INSUFFICIENT_CREDITS`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InsufficientCredits => "INSUFFICIENT_CREDITS",
            ErrorCode::RateLimit => "RATE_LIMIT",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            ErrorCode::GenerationFailed => "GENERATION_FAILED",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ErrorCode::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// Parse [`ErrorCode::as_str`].
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// The HTTP status used when the error refuses the whole request
    /// (resolver errors are HTTP 200 with `errors`).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::IdempotencyInProgress => 409,
            ErrorCode::IdempotencyKeyReused => 422,
            ErrorCode::RateLimit => 429,
            ErrorCode::Internal => 500,
            _ => 200,
        }
    }
}

const ALL: &[ErrorCode] = &[
    ErrorCode::InsufficientCredits,
    ErrorCode::RateLimit,
    ErrorCode::InvalidInput,
    ErrorCode::ProviderUnavailable,
    ErrorCode::GenerationFailed,
    ErrorCode::Unauthenticated,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::IdempotencyKeyReused,
    ErrorCode::IdempotencyInProgress,
    ErrorCode::Internal,
];

/// A public error: code, message and structured detail.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// Public code.
    pub code: ErrorCode,
    /// Human-readable, actionable message.
    pub message: String,
    /// Extra `extensions` fields (e.g. `field`, `allowedValues`, `balance`).
    pub details: Map<String, Json>,
}

impl ApiError {
    /// An error with no detail.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), details: Map::new() }
    }

    /// Add an `extensions` field.
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> ApiError {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// `INVALID_INPUT` naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, message).with("field", field)
    }

    /// `INTERNAL`, logging the cause (which is not shown to clients).
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause}");
        ApiError::new(ErrorCode::Internal, "internal error; it has been logged")
    }

    /// The GraphQL error object (`{"message", "extensions": {"code", …}}`).
    pub fn to_json(&self) -> Json {
        let mut extensions = self.details.clone();
        extensions.insert("code".into(), Json::from(self.code.as_str()));
        serde_json::json!({ "message": self.message, "extensions": extensions })
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message.clone()).extend_with(|_, ext| {
            ext.set("code", self.code.as_str());
            for (k, v) in &self.details {
                if let Ok(value) = async_graphql::Value::from_json(v.clone()) {
                    ext.set(k.as_str(), value);
                }
            }
        })
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(&e)
    }
}

/// `INVALID_INPUT` for a webhook target the SSRF rules refuse, naming the
/// field (`webhookUrl`, `url`).
pub fn webhook_target(field: &str, refused: &crate::webhooks::target::TargetRefused) -> ApiError {
    ApiError::invalid(field, format!("{field} {refused}"))
}

/// The public code for a plugin-reported failure (ARCHITECTURE §5, issue
/// rules): unauthorized, rate-limited and unavailable vendors, and retired
/// models, are `PROVIDER_UNAVAILABLE`; moderation and vendor failures
/// `GENERATION_FAILED`.
pub fn code_for_failure(code: crate::plugins::FailureCode) -> ErrorCode {
    use crate::plugins::FailureCode as F;
    match code {
        F::InvalidInput => ErrorCode::InvalidInput,
        F::ProviderUnavailable | F::RateLimited | F::Unauthorized | F::ModelUnavailable => {
            ErrorCode::ProviderUnavailable
        }
        F::GenerationFailed | F::ContentRejected => ErrorCode::GenerationFailed,
    }
}

/// The public code for a sandbox error during a generation: a plugin that
/// cannot be loaded or linked is unavailable; one that crashes or exceeds a
/// limit failed the generation.
pub fn code_for_plugin_error(error: &crate::plugins::PluginError) -> ErrorCode {
    use crate::plugins::PluginError as P;
    match error {
        P::NotAComponent { .. }
        | P::IncompatibleContract { .. }
        | P::Link { .. }
        | P::InvalidManifest { .. }
        | P::OfferingTaken { .. }
        | P::NotPinned { .. }
        | P::Settings { .. } => ErrorCode::ProviderUnavailable,
        P::LimitExceeded { .. } | P::Trap { .. } => ErrorCode::GenerationFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_statuses() {
        for code in ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::RateLimit.http_status(), 429);
        assert_eq!(ErrorCode::Unauthenticated.http_status(), 401);
        assert_eq!(ErrorCode::IdempotencyKeyReused.http_status(), 422);
        assert_eq!(ErrorCode::IdempotencyInProgress.http_status(), 409);
        assert_eq!(ErrorCode::InvalidInput.http_status(), 200);
    }

    #[test]
    fn json_shape() {
        let e = ApiError::invalid("options.duration", "bad").with("allowedValues", vec![5, 10]);
        let j = e.to_json();
        assert_eq!(j["extensions"]["code"], "INVALID_INPUT");
        assert_eq!(j["extensions"]["field"], "options.duration");
        assert_eq!(j["extensions"]["allowedValues"][1], 10);
    }
}
