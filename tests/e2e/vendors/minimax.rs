//! Mock MiniMax video API (v1) and the `minimax` adapter's end-to-end tests.
//!
//! The mock speaks MiniMax's documented exchanges (`shared/vendors/
//! minimax-video.md`): `POST /v1/video_generation` → `GET
//! /v1/query/video_generation` (`Queueing` → `Processing` → `Success`) →
//! `GET /v1/files/retrieve` → a `download_url` on a CDN (the mock itself).
//! Like MiniMax it answers HTTP 200 with `base_resp.status_code` set for
//! refusals: 1004 for a wrong key, 2013 for a body MiniMax would refuse
//! (unknown model, duration or resolution the model does not make, missing
//! prompt or first frame, unknown fields). Markers in the prompt pick the
//! failure scenarios: `[submit-moderated]` (1026 on submit), `[busy]`
//! (HTTP 429 with 1002), `[output-moderated]` (task `Fail` with 1027),
//! `[vendor-fails]` (task `Fail` with 1000), `[flaky]` (the first query
//! answers HTTP 503) and `[slow]` (stays `Processing`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    GENERATION_FIELDS, MockVendor, Recorded, Recorder, assert_completed, assert_failed, assert_job_count,
    assert_not_configured, assert_rehosted_mp4, cancel_to_end, credits, generate, generate_to_end, listed_provider,
    live_server, mp4_file, option_names, sample_mp4, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "mm-live-key-7f3a";
/// A 1×1 PNG, for image-to-video from a `data:` URI.
const PNG_DATA_URI: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/// The portal's MiniMax snippet, as its curl/JS/Python examples send it.
const PORTAL_SNIPPET: &str = r#"{"type":"VIDEO","provider":"minimax","input":{"text":"A serene mountain landscape at sunset"},"options":{"duration":10,"resolution":"1080p","style":"cinematic"}}"#;
const OK: i64 = 0;

/// A task the mock runs.
struct Task {
    prompt: String,
    width: u32,
    height: u32,
    duration_s: u32,
    polls: u32,
}

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    /// `http://127.0.0.1:<port>`: where download links point (the "CDN").
    origin: OnceLock<String>,
    tasks: Mutex<HashMap<String, Task>>,
    next_id: AtomicU64,
    recorder: Recorder,
}

impl Mock {
    /// Record a request; whether it carries the key.
    fn record(&self, method: &str, path: String, headers: &HeaderMap, body: Value) -> bool {
        self.recorder.record(method, path, headers, body);
        authorized(headers.get("authorization").and_then(|v| v.to_str().ok()))
    }

    fn seen(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    /// Every submit whose prompt contains `marker`.
    fn submits(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|s| {
            s.path == "/v1/video_generation" && s.body["prompt"].as_str().is_some_and(|p| p.contains(marker))
        })
    }

    /// The one submit whose prompt contains `marker`.
    fn submit(&self, marker: &str) -> Recorded {
        the_one(self.submits(marker), format_args!("one submit for {marker:?}"))
    }
}

fn base_resp(code: i64, message: &str) -> Value {
    json!({ "status_code": code, "status_msg": message })
}

/// MiniMax's answer to a key it does not know.
fn login_fail() -> Response {
    Json(json!({ "base_resp": base_resp(1004, "login fail: Please carry the API secret key in the 'Authorization' field of the request header") }))
        .into_response()
}

fn authorized(authorization: Option<&str>) -> bool {
    authorization == Some(&format!("Bearer {KEY}"))
}

/// Pixels of MiniMax's landscape output per resolution.
fn frame(resolution: &str) -> (u32, u32) {
    match resolution {
        "512P" => (912, 512),
        "720P" => (1280, 720),
        "1080P" => (1920, 1080),
        _ => (1366, 768),
    }
}

/// Why MiniMax would refuse this body (code 2013), if it would.
fn invalid_params(body: &Value) -> Option<String> {
    const FIELDS: &[&str] = &[
        "model",
        "prompt",
        "prompt_optimizer",
        "fast_pretreatment",
        "duration",
        "resolution",
        "first_frame_image",
        "aigc_watermark",
    ];
    let object = body.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(format!("unknown field {unknown}"));
    }
    let model = body["model"].as_str().unwrap_or_default();
    // MiniMax's supported models today; the video-01 family (T2V-01,
    // I2V-01, -Director, I2V-01-live) is refused like any unknown model.
    let hailuo = ["MiniMax-Hailuo-02", "MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast"].contains(&model);
    let image_only = model == "MiniMax-Hailuo-2.3-Fast";
    if !hailuo {
        return Some(format!("invalid model {model}, not support"));
    }
    let prompt = body.get("prompt").map(|p| p.as_str().map(|p| p.chars().count()));
    let image = body.get("first_frame_image").map(|i| i.as_str().unwrap_or_default());
    match (prompt, image) {
        (Some(None), _) | (Some(Some(2001..)), _) => {
            return Some("prompt must be a string of at most 2000 characters".into());
        }
        (None, None) => return Some("prompt is required".into()),
        (_, None) if image_only => return Some(format!("first_frame_image is required for {model}")),
        _ => {}
    }
    if let Some(image) = image {
        let valid = image.starts_with("https://")
            || image
                .strip_prefix("data:image/")
                .and_then(|r| r.split_once(";base64,"))
                .is_some_and(|(_, data)| base64::engine::general_purpose::STANDARD.decode(data).is_ok());
        if !valid {
            return Some("invalid first_frame_image".into());
        }
    }
    for flag in ["prompt_optimizer", "aigc_watermark", "fast_pretreatment"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Some(format!("{flag} must be a boolean"));
        }
    }
    if !hailuo && body.get("fast_pretreatment").is_some() {
        return Some(format!("fast_pretreatment is not supported by {model}"));
    }
    let duration = body["duration"].as_i64().unwrap_or(6);
    let resolution = body["resolution"].as_str().unwrap_or(if hailuo { "768P" } else { "720P" });
    let allowed: &[(i64, &str)] = match model {
        "MiniMax-Hailuo-02" if image.is_some() => &[(6, "512P"), (6, "768P"), (6, "1080P"), (10, "512P"), (10, "768P")],
        "MiniMax-Hailuo-02" | "MiniMax-Hailuo-2.3" | "MiniMax-Hailuo-2.3-Fast" => {
            &[(6, "768P"), (6, "1080P"), (10, "768P")]
        }
        _ => &[(6, "720P")],
    };
    if !allowed.contains(&(duration, resolution)) {
        return Some(format!("{model} does not support duration {duration} at {resolution}"));
    }
    None
}

async fn create_task(State(mock): State<Arc<Mock>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !(mock.record("POST", "/v1/video_generation".into(), &headers, body.clone())) {
        return login_fail();
    }
    if let Some(why) = invalid_params(&body) {
        return Json(json!({ "task_id": "", "base_resp": base_resp(2013, &format!("invalid params, {why}")) }))
            .into_response();
    }
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[submit-moderated]") {
        return Json(json!({ "task_id": "", "base_resp": base_resp(1026, "input new_sensitive") })).into_response();
    }
    if prompt.contains("[busy]") {
        let answer = json!({ "base_resp": base_resp(1002, "rate limit exceeded(RPM)") });
        return (StatusCode::TOO_MANY_REQUESTS, Json(answer)).into_response();
    }
    let (width, height) = frame(body["resolution"].as_str().unwrap_or("768P"));
    let task_id = format!("1069161122{:05}", mock.next_id.fetch_add(1, Ordering::SeqCst));
    let duration_s = body["duration"].as_u64().unwrap_or(6) as u32;
    mock.tasks.lock().unwrap().insert(task_id.clone(), Task { prompt, width, height, duration_s, polls: 0 });
    Json(json!({ "task_id": task_id, "base_resp": base_resp(OK, "success") })).into_response()
}

async fn query_task(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let task_id = query.get("task_id").cloned().unwrap_or_default();
    let path = format!("/v1/query/video_generation?task_id={task_id}");
    if !(mock.record("GET", path, &headers, Value::Null)) {
        return login_fail();
    }
    let answer = {
        let mut tasks = mock.tasks.lock().unwrap();
        let Some(task) = tasks.get_mut(&task_id) else {
            return Json(json!({ "base_resp": base_resp(2013, "invalid params, task not found") })).into_response();
        };
        task.polls += 1;
        let failed = |code, message: &str| json!({ "task_id": task_id, "status": "Fail", "base_resp": base_resp(code, message) });
        let status =
            |status: &str| json!({ "task_id": task_id, "status": status, "base_resp": base_resp(OK, "success") });
        match (task.polls, task.prompt.as_str()) {
            (1, p) if p.contains("[flaky]") => None,
            (_, p) if p.contains("[slow]") => Some(status("Processing")),
            (1, _) => Some(status("Queueing")),
            (_, p) if p.contains("[output-moderated]") => Some(failed(1027, "output new_sensitive")),
            (_, p) if p.contains("[vendor-fails]") => Some(failed(1000, "unknown error, video generation failed")),
            (2, _) => Some(status("Processing")),
            _ => Some(json!({
                "task_id": task_id,
                "status": "Success",
                "file_id": format!("20525852{task_id}"),
                "video_width": task.width,
                "video_height": task.height,
                "base_resp": base_resp(OK, "success"),
            })),
        }
    };
    match answer {
        Some(answer) => Json(answer).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error or disconnect/reset before headers")
            .into_response(),
    }
}

async fn retrieve_file(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let file_id = query.get("file_id").cloned().unwrap_or_default();
    if !(mock.record("GET", format!("/v1/files/retrieve?file_id={file_id}"), &headers, Value::Null)) {
        return login_fail();
    }
    let origin = mock.origin.get().unwrap();
    Json(json!({
        "file": {
            "file_id": file_id.parse::<u64>().unwrap_or_default(),
            "bytes": 5_896_337,
            "created_at": 1_735_689_700,
            "filename": "output_aigc.mp4",
            "purpose": "video_generation",
            "download_url": format!("{origin}/cdn/video/{file_id}.mp4?Expires=1735693300"),
        },
        "base_resp": base_resp(OK, "success"),
    }))
    .into_response()
}

/// The "CDN": the MP4 of the task a file id belongs to.
async fn download(State(mock): State<Arc<Mock>>, Path(file): Path<String>) -> Response {
    let tasks = mock.tasks.lock().unwrap();
    let task_id = file.trim_end_matches(".mp4").trim_start_matches("20525852");
    mp4_file(tasks.get(task_id).map(|task| (task.width, task.height, task.duration_s * 1000)))
}

/// Start the mock MiniMax.
async fn mock_minimax() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v1/video_generation", post(create_task))
        .route("/v1/query/video_generation", get(query_task))
        .route("/v1/files/retrieve", get(retrieve_file))
        .route("/cdn/video/{file}", get(download))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.origin.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

/// Generate with `key` and wait for the end.
async fn run(server: &Server, key: &str, prompt: &str, options: Value) -> Value {
    generate_to_end(server, key, "minimax", json!({ "text": prompt }), options).await
}

#[tokio::test]
async fn minimax_text_and_image_to_video_complete_with_the_file_rehosted() {
    let (vendor, mock) = mock_minimax().await;
    let (server, key) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let https_image =
        json!({ "text": "the cat turns its head [i2v-url]", "image": "https://images.example.com/cat.png" });
    let inline_image = json!({ "image": PNG_DATA_URI });
    let (t2v, sharp, from_url, from_data) = tokio::join!(
        run(&server, &key, "A red kite rising over a windy beach at dawn [Tracking shot]", json!({})),
        run(
            &server,
            &key,
            "A lighthouse in a storm [sharp]",
            json!({ "model": "hailuo-2.3", "resolution": "1080p", "promptOptimizer": false })
        ),
        generate_to_end(&server, &key, "minimax", https_image, json!({ "model": "hailuo-2.3-fast", "duration": 10 })),
        generate_to_end(&server, &key, "minimax", inline_image, json!({ "resolution": "512p" })),
    );

    // Text to video with every default: Hailuo 02, 6 s at 768P.
    assert_completed(&t2v, "minimax", 28, (1366, 768), 6.0);
    let expected = sample_mp4(1366, 768, 6000);
    assert_rehosted_mp4(&server, &t2v, &expected).await;
    let submit = mock.submit("[Tracking shot]");
    assert_eq!(submit.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(submit.header("content-type"), Some("application/json"));
    assert_eq!(
        submit.body,
        json!({
            "model": "MiniMax-Hailuo-02",
            "prompt": "A red kite rising over a windy beach at dawn [Tracking shot]",
            "duration": 6,
            "resolution": "768P",
            "prompt_optimizer": true,
            "fast_pretreatment": false,
            "aigc_watermark": false,
        })
    );
    // Queueing → Processing → Success, then the file's link, all with the key.
    let seen = mock.seen();
    let queries = seen.iter().filter(|s| s.path.starts_with("/v1/query/video_generation?task_id=")).count();
    assert!(queries >= 3 * 4, "every task was queried until it succeeded: {queries}");
    let retrieves: Vec<&Recorded> = seen.iter().filter(|s| s.path.starts_with("/v1/files/retrieve?file_id=")).collect();
    assert_eq!(retrieves.len(), 4);
    assert!(seen.iter().all(|s| authorized(s.header("authorization"))), "every call carries the key");

    // Hailuo 2.3 at 1080p, prompt taken literally.
    assert_completed(&sharp, "minimax", 49, (1920, 1080), 6.0);
    let body = mock.submit("[sharp]").body;
    assert_eq!((body["model"].as_str(), body["resolution"].as_str()), (Some("MiniMax-Hailuo-2.3"), Some("1080P")));
    assert_eq!(body["prompt_optimizer"], false);
    assert_rehosted_mp4(&server, &sharp, &sample_mp4(1920, 1080, 6000)).await;

    // Image to video from an https URL, passed on as given: Fast, 10 s.
    assert_completed(&from_url, "minimax", 32, (1366, 768), 10.0);
    let body = mock.submit("[i2v-url]").body;
    assert_eq!(body["model"], "MiniMax-Hailuo-2.3-Fast");
    assert_eq!(body["first_frame_image"], "https://images.example.com/cat.png");
    assert_eq!(body["duration"], 10);

    // Image to video from a data: URI with no prompt at all: Hailuo 02, 512P.
    assert_completed(&from_data, "minimax", 10, (912, 512), 6.0);
    let inline: Vec<Recorded> =
        seen.iter().filter(|s| s.path == "/v1/video_generation" && s.body["resolution"] == "512P").cloned().collect();
    assert_eq!(inline.len(), 1);
    assert_eq!(inline[0].body["first_frame_image"], PNG_DATA_URI);
    assert_eq!(inline[0].body.get("prompt"), None);
    assert_eq!(inline[0].body["model"], "MiniMax-Hailuo-02");

    assert_eq!(credits(&server, &key).await, 100_000 - 28 - 49 - 32 - 10);
}

#[tokio::test]
async fn minimax_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_minimax().await;
    let (server, key) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    // Combinations MiniMax cannot make: refused before any job exists (checked
    // first: the rate-limited submits below open the offering's circuit).
    let cases = [
        (
            json!({ "duration": 10, "resolution": "1080p" }),
            "provider `minimax` refused the request: option `resolution` of provider `minimax` must be one of 768p \
             with model `hailuo-02`, 10 s, text-to-video; got 1080p",
        ),
        (
            json!({ "model": "video-01" }),
            "option `model` of provider `minimax` must be one of \"hailuo-02\", \"hailuo-2.3\", \"hailuo-2.3-fast\"; \
             got \"video-01\"",
        ),
        (
            json!({ "model": "hailuo-2.3-fast" }),
            "provider `minimax` refused the request: model `hailuo-2.3-fast` of provider `minimax` is image-to-video \
             only: input.image is required",
        ),
        (
            json!({ "resolution": "4k" }),
            "option `resolution` of provider `minimax` must be one of \"512p\", \"768p\", \"1080p\"; got \"4k\"",
        ),
        (
            json!({ "aspectRatio": "9:16" }),
            "option `aspectRatio` is not supported by provider `minimax`; supported options: model, duration, \
             resolution, promptOptimizer, fastPretreatment, watermark",
        ),
    ];
    for (options, message) in cases {
        let error = generate(&server, &key, "minimax", json!({ "text": "a refused clip [refused]" }), options.clone())
            .await
            .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        assert_eq!(error["message"], message, "{options}");
    }
    let (input_moderated, output_moderated, vendor_fails, busy, flaky) = tokio::join!(
        run(&server, &key, "something forbidden [submit-moderated]", json!({})),
        run(&server, &key, "something that renders badly [output-moderated]", json!({})),
        run(&server, &key, "a glitch [vendor-fails]", json!({})),
        run(&server, &key, "a crowd at rush hour [busy]", json!({})),
        run(&server, &key, "a river at dusk [flaky]", json!({})),
    );
    assert_failed(&input_moderated, "GENERATION_FAILED", &["MiniMax error 1026", "input new_sensitive"]);
    assert_failed(&output_moderated, "GENERATION_FAILED", &["MiniMax error 1027", "output new_sensitive"]);
    assert_failed(&vendor_fails, "GENERATION_FAILED", &["MiniMax error 1000", "video generation failed"]);
    // Rate limited: retryable, so the host submitted three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["MiniMax error 1002", "rate limit exceeded(RPM)"]);
    assert_eq!(mock.submits("[busy]").len(), 3, "the host retries a rate-limited submit");
    assert_eq!(mock.submits("[submit-moderated]").len(), 1, "moderation is final");
    // A transient 503 while polling, then success.
    assert_completed(&flaky, "minimax", 28, (1366, 768), 6.0);

    assert!(mock.submits("[refused]").is_empty(), "nothing refused reached MiniMax");
    assert_job_count(&server, &key, 5).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 28);
}

#[tokio::test]
async fn minimax_cancel_stops_waiting_but_minimax_still_bills() {
    let (vendor, mock) = mock_minimax().await;
    let (server, key) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let accepted = generate(&server, &key, "minimax", json!({ "text": "a long take [slow]" }), json!({}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    mock.recorder.wait_for("a poll of the task", |s| s.path.starts_with("/v1/query/video_generation")).await;
    let id = accepted["id"].as_str().unwrap();
    let ended = cancel_to_end(&server, &key, id).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    // MiniMax has no cancel endpoint: nothing but submits and queries went out.
    let seen = mock.seen();
    let calls = |s: &Recorded| (s.method.clone(), s.path.split('?').next().unwrap_or_default().to_string());
    assert!(
        seen.iter().map(calls).all(|(method, path)| (method == "POST" && path == "/v1/video_generation")
            || (method == "GET" && path == "/v1/query/video_generation")),
        "{seen:?}"
    );
    // ... and it bills the task, so nothing is refunded.
    assert_eq!(credits(&server, &key).await, 100_000 - 28);
}

#[tokio::test]
async fn minimax_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_minimax().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("minimax", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("minimax", &vendor, &[("api_key", "mm-revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    let minimax = listed_provider(&unconfigured, "VIDEO", "minimax").await;
    assert_eq!(minimax["available"], false);
    assert_eq!(minimax["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(minimax["pricing"], json!({ "creditCost": 28, "estimatedTime": 180 }));
    let options = option_names(&minimax);
    assert_eq!(options, ["model", "duration", "resolution", "promptOptimizer", "fastPretreatment", "watermark"]);
    assert_not_configured(&unconfigured, &live, "VIDEO", "minimax", json!({ "text": "a fox" }), json!({}), "minimax")
        .await;
    let test_mode = run(&unconfigured, &unconfigured.key, "a fox [test mode]", json!({ "duration": 10 })).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 56);

    // A key MiniMax refuses (1004): final, not retried.
    let refused = run(&wrong, &wrong_key, "a fox [wrong key]", json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["MiniMax error 1004", "login fail"]);
    let submits = mock.submits("[wrong key]");
    assert_eq!(submits.len(), 1);
    assert_eq!(submits[0].header("authorization"), Some("Bearer mm-revoked"));
    assert!(mock.submits("[test mode]").is_empty(), "test keys never reach MiniMax");
}

/// With `Prefer: handling=lenient` (RFC 7240) the portal's snippet runs:
/// `style` is dropped and, as MiniMax renders 1080p for 6 s clips only,
/// the resolution goes back to its default; each change is listed in
/// `extensions.warnings` and the preference is acknowledged.
#[tokio::test]
async fn minimax_portal_snippet_succeeds_under_lenient_handling() {
    let (vendor, mock) = mock_minimax().await;
    let (server, live) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let snippet: Value = serde_json::from_str(PORTAL_SNIPPET).unwrap();
    let mutation = "mutation($input: GenerateInput!) { generate(input: $input) { id status creditCost } }";
    let (status, headers, body) =
        server.post(Some(&live), mutation, json!({ "input": snippet }), &[("Prefer", "handling=lenient")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("preference-applied").map(String::as_str), Some("handling=lenient"));
    let warnings = body["extensions"]["warnings"].as_array().unwrap_or_else(|| panic!("{body}"));
    let fields: Vec<&str> = warnings.iter().map(|w| w["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["options.style", "options.resolution"], "{body}");
    assert_eq!(warnings[0]["given"], "cinematic");
    assert_eq!(warnings[0]["applied"], Value::Null);
    assert_eq!(warnings[1]["given"], "1080p");
    assert_eq!(warnings[1]["applied"], Value::Null, "the model's default resolution");
    let message = warnings[1]["message"].as_str().unwrap();
    assert!(message.contains("10 s") && message.contains("provider's default"), "{message}");

    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    let done = server.wait_terminal(&live, id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let submit = mock.submit("A serene mountain landscape");
    assert_eq!((submit.body["duration"].clone(), submit.body["resolution"].clone()), (json!(10), json!("768P")));

    // Strict stays the default: the same request without the preference is refused.
    let (_, headers, body) = server.post(Some(&live), mutation, json!({ "input": snippet }), &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert!(!headers.contains_key("preference-applied"));
}

#[tokio::test]
async fn minimax_portal_snippet_gets_the_exact_answer_for_what_minimax_cannot_do() {
    let (vendor, mock) = mock_minimax().await;
    let (server, live) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let snippet: Value = serde_json::from_str(PORTAL_SNIPPET).unwrap();
    let mutation = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {GENERATION_FIELDS} }} }}");
    let send = |key: String, input: Value| {
        let (server, mutation) = (&server, &mutation);
        async move {
            let (_, _, body) = server.post(Some(&key), mutation, json!({ "input": input }), &[]).await;
            body
        }
    };

    for key in [server.key.clone(), live.clone()] {
        // As published: MiniMax has no style parameter.
        let body = send(key.clone(), snippet.clone()).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], "options.style", "{body}");
        assert_eq!(
            error["message"],
            "option `style` is not supported by provider `minimax`; supported options: model, duration, resolution, \
             promptOptimizer, fastPretreatment, watermark"
        );
        // Without it: MiniMax renders 1080P only for 6 s clips.
        let mut no_style = snippet.clone();
        no_style["options"].as_object_mut().unwrap().remove("style");
        let body = send(key.clone(), no_style).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(
            body["errors"][0]["message"],
            "provider `minimax` refused the request: option `resolution` of provider `minimax` must be one of 768p \
             with model `hailuo-02`, 10 s, text-to-video; got 1080p"
        );
    }
    assert!(mock.seen().is_empty(), "nothing reached MiniMax");

    // What MiniMax can do instead: 1080p for 6 s, or 10 s at 768p.
    let mut sharp = snippet.clone();
    sharp["options"] = json!({ "duration": 6, "resolution": "1080p" });
    let mut long = snippet.clone();
    long["options"] = json!({ "duration": 10, "resolution": "768p" });
    for (input, credits) in [(sharp, 49), (long, 56)] {
        for key in [server.key.clone(), live.clone()] {
            let body = send(key.clone(), input.clone()).await;
            let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
            let done = server.wait_terminal(&key, id, Duration::from_secs(60)).await;
            assert_eq!(done["status"], "COMPLETED", "{done}");
            assert_eq!(done["creditCost"], credits);
        }
    }
    let sent: Vec<(Value, Value)> = mock
        .submits("A serene mountain landscape")
        .iter()
        .map(|s| (s.body["duration"].clone(), s.body["resolution"].clone()))
        .collect();
    assert_eq!(sent, [(json!(6), json!("1080P")), (json!(10), json!("768P"))]);
}

/// A server whose `minimax` plugin talks to `vendor`, with the operator's
/// `[plugins.minimax] settings` (a TOML inline table's body).
async fn minimax_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("minimax", vendor, &[("api_key", KEY)], settings).await
}

/// A retired video-01 id (named by a stale operator setting) is refused by
/// MiniMax with 2013 naming the model: the job fails `PROVIDER_UNAVAILABLE`
/// (model unavailable), not retried; another setting reaches MiniMax.
#[tokio::test]
async fn minimax_settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = mock_minimax().await;
    let (server, key) = minimax_server_with_settings(
        &vendor,
        r#""model.minimax" = "T2V-01", "model.minimax.hailuo-2.3" = "MiniMax-Hailuo-02""#,
    )
    .await;
    let (retired, moved) = tokio::join!(
        run(&server, &key, "An old model [retired-model]", json!({})),
        run(&server, &key, "A moved model [moved-model]", json!({ "model": "hailuo-2.3" })),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["invalid model T2V-01"]);
    assert_eq!(mock.submits("[retired-model]").len(), 1, "a retired model is not retried");
    assert_eq!(mock.submit("[retired-model]").body["model"], "T2V-01");
    assert_completed(&moved, "minimax", 28, (1366, 768), 6.0);
    assert_eq!(mock.submit("[moved-model]").body["model"], "MiniMax-Hailuo-02");
}
