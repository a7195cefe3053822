//! Test vendor adapter for routing tests, built twice (`relay-a`,
//! `relay-b`) from this one file: the plugin and offering id come from the
//! crate name, the declared quality, price and time from [`PROFILES`].
//!
//! It speaks the "relay" protocol of the test vendor in
//! `tests/e2e/routing.rs`, with the answers real vendors give:
//! - `POST {base}/v1/{offering}/tasks {prompt, idempotency_key}` → `{id}`;
//!   503 (down), 429 with `Retry-After` (throttled), 404
//!   `{"error":{"code":"model_not_found"}}` (a retired model);
//! - `GET {base}/v1/{offering}/tasks/{id}` → `{status: running|done|cancelled, png_base64}`
//!   or, for a large result, `{status: done, url, mime}` (downloaded by the host);
//! - `DELETE {base}/v1/{offering}/tasks/{id}` → 200 cancelled (nothing
//!   charged), 409 if the task already finished;
//! - `GET {base}/v1/{offering}/health` → 200, or the same failures.
//!
//! The generation id reaches the vendor as `idempotency_key` (contract 1.2).

use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// (plugin id, quality, credits, declared seconds).
const PROFILES: &[(&str, u8, u32, u32)] = &[("relay-a", 90, 10, 5), ("relay-b", 60, 4, 20)];

fn profile() -> (&'static str, u8, u32, u32) {
    let name = env!("CARGO_PKG_NAME").trim_start_matches("doitong-test-plugin-");
    *PROFILES.iter().find(|p| p.0 == name).expect("a profile per relay crate")
}

/// The provider.
pub struct Relay;

#[derive(Serialize, Deserialize)]
struct Task {
    id: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Status {
    status: String,
    png_base64: Option<String>,
    url: Option<String>,
    mime: Option<String>,
}

fn base() -> String {
    format!("https://{}.relay.test/v1/{}", profile().0, profile().0)
}

/// The vendor's answer as a failure: a 404 naming `model_not_found` is a
/// retired model; the rest follows the SDK's table (429 keeps Retry-After).
fn classify(response: &http::Response) -> Failure {
    if response.status == 404 && String::from_utf8_lossy(&response.body).contains("model_not_found") {
        return failure::model_unavailable(format!("the vendor no longer serves `{}`", profile().0));
    }
    http::status_failure(response)
}

impl Provider for Relay {
    fn manifest() -> Manifest {
        let (id, quality, credits, seconds) = profile();
        Manifest {
            id: id.to_string(),
            version: "1.0.0".to_string(),
            vendor: format!("Relay test vendor {id}"),
            offerings: vec![
                OfferingBuilder::new(id, &format!("Relay {id}"), &[MediaKind::Image])
                    .description("A test vendor with known speed, price and failure behaviour")
                    .quality(quality)
                    .credits(credits)
                    .estimated_seconds(seconds)
                    .build(),
            ],
            allowed_hosts: vec![format!("https://{id}.relay.test")],
            secrets: vec![],
        }
    }

    fn quote(_request: JobRequest) -> Result<Quote, Failure> {
        let (_, _, credits, seconds) = profile();
        Ok(Quote { credits, estimated_seconds: seconds })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let body = serde_json::json!({
            "prompt": request.input.text.unwrap_or_default(),
            "idempotency_key": idempotency_token(),
        });
        let response = http::post(format!("{}/tasks", base())).json(&body).send_with(classify)?;
        let created: Created = http::decode_json(&response)?;
        Ok(Submitted::Running(Running {
            handle: handle::encode(&Task { id: created.id }),
            percent: Some(0),
            poll_after_ms: 50,
        }))
    }

    fn poll(handle: String) -> Progress {
        let task: Task = match handle::decode(&handle) {
            Ok(t) => t,
            Err(f) => return Progress::Failed(f),
        };
        let status: Status = match http::get(format!("{}/tasks/{}", base(), task.id))
            .send_with(classify)
            .and_then(|r| http::decode_json(&r))
        {
            Ok(s) => s,
            Err(f) => return Progress::Failed(f),
        };
        if let (Some(url), "done") = (status.url, status.status.as_str()) {
            let mime = status.mime.unwrap_or_else(|| "application/octet-stream".into());
            return Progress::Done(vec![Artifact::from_url(url, &mime)]);
        }
        match (status.status.as_str(), status.png_base64) {
            ("done", Some(png)) => match media::decode_base64(&png) {
                Ok(bytes) => Progress::Done(vec![Artifact::from_bytes(bytes, "image/png")]),
                Err(e) => Progress::Failed(failure::generation_failed(format!("the vendor sent a bad image: {e}"))),
            },
            ("failed", _) => Progress::Failed(failure::generation_failed("the vendor failed the task")),
            ("cancelled", _) => Progress::Cancelled,
            _ => Progress::Running(Running { handle, percent: None, poll_after_ms: 50 }),
        }
    }

    fn cancel(handle: String) -> Result<CancelOutcome, Failure> {
        let task: Task = handle::decode(&handle)?;
        http::delete(format!("{}/tasks/{}", base(), task.id)).send_with(classify)?;
        // The vendor charges nothing for a task cancelled before it finished.
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

impl Health for Relay {
    fn check() -> Result<(), Failure> {
        http::get(format!("{}/health", base())).send_with(classify).map(drop)
    }
}
