//! Test guest for the host's sandbox: a provider whose `submit` does what
//! the prompt says, from behaving to spinning forever, allocating 1 GiB,
//! panicking, calling URLs and reading secrets the host must refuse.
//!
//! | prompt          | `submit`                                                   |
//! |-----------------|------------------------------------------------------------|
//! | `ok`            | done: one `text/plain` artifact, `ok`                       |
//! | `spin`          | loops forever (fuel or epoch interruption must stop it)    |
//! | `alloc`         | allocates and touches 1 GiB, then done like `ok`           |
//! | `panic`         | panics: "misbehave: deliberate panic"                      |
//! | `http:<url>`    | GETs `url`; done with the body's first 64 bytes, or the failure |
//! | `secret:<name>` | done with the secret's value, or `unauthorized`            |
//! | `slow-poll`     | running with handle `spin`, whose `poll` loops forever     |
//! | `many`          | done with 10,000 one-byte artifacts                        |
//! | `shout`         | fails with a 1 MiB message                                  |
//! | `html`          | done with an artifact whose MIME type is `text/html`       |
//! | `chatty`        | logs 10,000 lines, then done like `ok`                     |
//! | anything else   | `invalid-input`: "unknown misbehaviour"                    |
//!
//! Never loaded outside tests.

use std::hint::black_box;

use doitong_plugin_sdk::prelude::*;

/// The provider (public so a native build, which skips the export, has no dead code).
pub struct Misbehave;

impl Provider for Misbehave {
    fn manifest() -> Manifest {
        let kinds = [MediaKind::Video, MediaKind::Image, MediaKind::Audio, MediaKind::Avatar];
        Manifest {
            id: "misbehave".to_string(),
            version: "1.0.0".to_string(),
            vendor: "Doitong tests".to_string(),
            offerings: vec![OfferingBuilder::new("misbehave", "Misbehave (sandbox tests)", &kinds).credits(1).build()],
            allowed_hosts: vec!["https://vendor.example".to_string()],
            secrets: vec!["api_key".to_string()],
        }
    }

    fn quote(_request: JobRequest) -> Result<Quote, Failure> {
        Ok(Quote { credits: 1, estimated_seconds: 1 })
    }

    fn submit(request: JobRequest) -> Result<Submitted, Failure> {
        let prompt = request.input.text.unwrap_or_default();
        match prompt.as_str() {
            "ok" => Ok(done(b"ok".to_vec())),
            "spin" => spin(),
            "alloc" => {
                let block = black_box(vec![1u8; 1 << 30]);
                black_box(&block);
                Ok(done(b"ok".to_vec()))
            }
            "panic" => panic!("misbehave: deliberate panic"),
            "chatty" => {
                for n in 0..10_000 {
                    log(Level::Info, &format!("chatty line {n}"));
                }
                Ok(done(b"ok".to_vec()))
            }
            "many" => Ok(Submitted::Done((0..10_000).map(|_| artifact(b"x".to_vec())).collect())),
            "shout" => Err(failure::generation_failed("A".repeat(1 << 20))),
            "html" => Ok(Submitted::Done(vec![Artifact::from_bytes(b"<script>x</script>".to_vec(), "text/html")])),
            "slow-poll" => {
                Ok(Submitted::Running(Running { handle: "spin".to_string(), percent: None, poll_after_ms: 10 }))
            }
            _ => {
                if let Some(url) = prompt.strip_prefix("http:") {
                    let response = http::get(url).send_raw()?;
                    let head = &response.body[..response.body.len().min(64)];
                    Ok(done(head.to_vec()))
                } else if let Some(name) = prompt.strip_prefix("secret:") {
                    match secret(name) {
                        Some(value) => Ok(done(value.into_bytes())),
                        None => Err(failure::unauthorized(format!("secret `{name}` unavailable"))),
                    }
                } else {
                    Err(failure::invalid_input("unknown misbehaviour"))
                }
            }
        }
    }

    fn poll(handle: String) -> Progress {
        if handle == "spin" {
            spin();
        }
        Progress::Done(vec![artifact(b"ok".to_vec())])
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Ok(CancelOutcome { refund_percent: 100 })
    }
}

export_plugin!(Misbehave);

/// Burn CPU forever; `black_box` keeps the optimiser from proving the loop
/// side-effect free and deleting it.
fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

fn done(bytes: Vec<u8>) -> Submitted {
    Submitted::Done(vec![artifact(bytes)])
}

fn artifact(bytes: Vec<u8>) -> Artifact {
    Artifact {
        url: None,
        bytes: Some(bytes),
        mime: "text/plain".to_string(),
        width: None,
        height: None,
        duration_ms: None,
    }
}
