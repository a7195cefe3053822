//! Test guest for hot-swap tests.
//!
//! Its version is the fixed-width string [`VERSION`]; tests make new
//! versions by replacing those bytes in the `.wasm` with another string of
//! the same length (`1.0.0-swap-007`), which changes the file's sha256 and
//! the manifest's version without recompiling. Every result is a text file
//! naming the version that produced it, so a test can tell which version
//! finished a job. `latencyMs` (default 300) makes a job span a swap.
//! Its plugin id is patched the same way ([`ID`], padded with `#`), which
//! makes another plugin declaring the `swapper` offering.

use doitong_plugin_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// Patched by tests; keep the width (`1.0.0-swap-NNN`).
pub const VERSION: &str = "1.0.0-swap-000";

/// The plugin id, `#`-padded so tests can patch it; the offering stays `swapper`.
pub const ID: &str = "swapper#######";

/// The provider.
pub struct Swapper;

#[derive(Serialize, Deserialize)]
struct Task {
    started_ms: u64,
    latency_ms: u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn result() -> Artifact {
    Artifact::from_bytes(format!("swapper {VERSION}").into_bytes(), "text/plain")
}

impl Provider for Swapper {
    fn manifest() -> Manifest {
        Manifest {
            id: ID.trim_end_matches('#').to_string(),
            version: VERSION.to_string(),
            vendor: "Doitong tests".to_string(),
            offerings: vec![
                OfferingBuilder::new("swapper", "Swapper (hot-swap tests)", &[MediaKind::Image])
                    .option(
                        OptionBuilder::integer("latencyMs", "Simulated vendor time")
                            .range(0.0, 60_000.0)
                            .default_integer(300),
                    )
                    .credits(1)
                    .estimated_seconds(1)
                    .build(),
            ],
            allowed_hosts: vec![],
            secrets: vec![],
        }
    }

    fn quote(_request: JobRequest) -> Result<Quote, Failure> {
        Ok(Quote { credits: 1, estimated_seconds: 1 })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let latency_ms = Options::of(&request).integer("latencyMs").unwrap_or(300).max(0) as u64;
        let task = Task { started_ms: now_ms(), latency_ms };
        Ok(Submitted::Running(Running { handle: handle::encode(&task), percent: Some(0), poll_after_ms: 100 }))
    }

    fn poll(handle: String) -> Progress {
        let task: Task = match handle::decode(&handle) {
            Ok(t) => t,
            Err(f) => return Progress::Failed(f),
        };
        let elapsed = now_ms().saturating_sub(task.started_ms);
        if elapsed >= task.latency_ms {
            Progress::Done(vec![result()])
        } else {
            let percent = (elapsed * 100 / task.latency_ms.max(1)).min(99) as u8;
            Progress::Running(Running { handle, percent: Some(percent), poll_after_ms: 100 })
        }
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

export_plugin!(Swapper);
