//! Event types and payloads.
//!
//! A payload is `{"type": "generation.completed", "timestamp": RFC 3339,
//! "data": <Generation>}` where `data` has exactly the fields, names and
//! value formats of the GraphQL `Generation` type (enums upper-case, times
//! RFC 3339, signed `url`/`urls`, `metadata`), so a client can feed a
//! webhook and a `generation` query result to the same code. The GraphQL
//! type renders its `metadata` and timestamps through this module too.
//!
//! Payloads are rendered once, when the event is enqueued, and stored: a
//! retry or redelivery sends the same bytes. The signed URLs inside
//! therefore expire `artifacts.url_ttl_secs` (default 24 h) after the
//! event; a receiver that gets a late retry fetches fresh URLs with the
//! `generation` query.

use serde::Serialize;
use serde_json::Value as Json;

use crate::artifacts::ArtifactStore;
use crate::plugins::MediaKind;
use crate::store::ArtifactRow;
use crate::store::jobs::{JobRow, JobStatus};
use crate::store::webhooks::{PROGRESS_EVENT, TERMINAL_EVENTS};

/// What happened to a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// It finished with outputs.
    Completed,
    /// It finished without (credits refunded).
    Failed,
    /// It was cancelled.
    Cancelled,
    /// Its progress changed (opt-in).
    Progress,
}

impl EventType {
    /// The name in payloads, filters and the delivery log.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Completed => TERMINAL_EVENTS[0],
            EventType::Failed => TERMINAL_EVENTS[1],
            EventType::Cancelled => TERMINAL_EVENTS[2],
            EventType::Progress => PROGRESS_EVENT,
        }
    }

    /// The terminal event a status raises, if any.
    pub fn for_status(status: JobStatus) -> Option<EventType> {
        match status {
            JobStatus::Completed => Some(EventType::Completed),
            JobStatus::Failed => Some(EventType::Failed),
            JobStatus::Cancelled => Some(EventType::Cancelled),
            JobStatus::Queued | JobStatus::Processing => None,
        }
    }

    /// Whether `name` is an event type or `*` (valid in an endpoint filter).
    pub fn is_filter_name(name: &str) -> bool {
        name == "*" || name == PROGRESS_EVENT || TERMINAL_EVENTS.contains(&name)
    }
}

/// RFC 3339 with milliseconds for a Unix-ms time, as GraphQL's `DateTime` shows it.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `metadata` of a generation: facts about its first output.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Pixels.
    pub width: Option<i32>,
    /// Pixels.
    pub height: Option<i32>,
    /// Seconds.
    pub duration: Option<f64>,
    /// `png`, `gif`, `mp4`, `wav`, …
    pub format: Option<String>,
    /// `WIDTHxHEIGHT`.
    pub resolution: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<i64>,
    /// MIME type.
    pub mime_type: Option<String>,
}

impl Metadata {
    /// The metadata of an artifact.
    pub fn of(a: &ArtifactRow) -> Metadata {
        Metadata {
            width: a.width.map(|w| w as i32),
            height: a.height.map(|h| h as i32),
            duration: a.duration_ms.map(|d| d as f64 / 1000.0),
            format: Some(crate::artifacts::format_for(&a.mime)),
            resolution: a.width.zip(a.height).map(|(w, h)| format!("{w}x{h}")),
            size_bytes: Some(a.size_bytes),
            mime_type: Some(a.mime.clone()),
        }
    }
}

#[derive(Serialize)]
struct ErrorData<'a> {
    code: &'a str,
    message: &'a str,
}

/// The GraphQL `Generation` as JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationData<'a> {
    id: &'a str,
    status: String,
    #[serde(rename = "type")]
    kind: String,
    provider: &'a str,
    url: Option<String>,
    urls: Vec<String>,
    progress: i64,
    metadata: Option<Metadata>,
    credit_cost: i64,
    estimated_time: i64,
    error: Option<ErrorData<'a>>,
    error_code: Option<&'a str>,
    test_mode: bool,
    created_at: String,
    completed_at: Option<String>,
}

/// The `data` of an event: the generation as GraphQL shows it. `artifacts`
/// are shown only for a completed job, as GraphQL does.
pub fn generation_data(row: &JobRow, artifacts: &[ArtifactRow], signer: &ArtifactStore) -> Json {
    let artifacts = if row.status() == JobStatus::Completed { artifacts } else { &[] };
    let urls: Vec<String> = artifacts.iter().map(|a| signer.signed_url(&a.id)).collect();
    // GraphQL shows an error only for a known public code.
    let code = row.error_code.as_deref().and_then(crate::error::ErrorCode::parse).map(|c| c.as_str());
    let data = GenerationData {
        id: &row.id,
        status: row.status().as_str().to_uppercase(),
        kind: MediaKind::parse(&row.kind).unwrap_or(MediaKind::Image).as_str().to_uppercase(),
        provider: &row.provider,
        url: urls.first().cloned(),
        urls,
        progress: row.progress,
        metadata: artifacts.first().map(Metadata::of),
        credit_cost: row.credit_cost,
        estimated_time: row.estimated_seconds,
        error: code.map(|code| ErrorData { code, message: row.error_message.as_deref().unwrap_or_default() }),
        error_code: code,
        test_mode: row.test_mode,
        created_at: rfc3339(row.created_at),
        completed_at: row.completed_at.map(rfc3339),
    };
    serde_json::to_value(data).expect("plain data serialises")
}

/// The JSON body of an event about `row` (in its new state).
pub fn payload(event: EventType, row: &JobRow, artifacts: &[ArtifactRow], signer: &ArtifactStore) -> String {
    serde_json::json!({
        "type": event.as_str(),
        "timestamp": rfc3339(row.updated_at),
        "data": generation_data(row, artifacts, signer),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_filters() {
        assert_eq!(EventType::for_status(JobStatus::Completed), Some(EventType::Completed));
        assert_eq!(EventType::for_status(JobStatus::Processing), None);
        assert_eq!(EventType::Cancelled.as_str(), "generation.cancelled");
        for ok in ["*", "generation.completed", "generation.failed", "generation.cancelled", "generation.progress"] {
            assert!(EventType::is_filter_name(ok), "{ok}");
        }
        for bad in ["", "generation.*", "completed", "generation.completed ", "GENERATION.COMPLETED"] {
            assert!(!EventType::is_filter_name(bad), "{bad:?}");
        }
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
