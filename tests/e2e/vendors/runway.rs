//! Mock Runway developer API and the `runway` adapter's end-to-end tests.
//!
//! The mock follows `shared/vendors/runway.md` and Runway's published
//! request schemas: it refuses a wrong key with 401 and a missing
//! `X-Runway-Version` or a body its schema would reject with 400, records
//! every request, and runs each task through a script chosen by a marker in
//! the prompt: none (PENDING → RUNNING 42 % → SUCCEEDED), `[moderated]`
//! (FAILED `SAFETY.INPUT.TEXT`), `[fails]` (FAILED `INTERNAL.BAD_OUTPUT`),
//! `[flaky]` (one 502 while polling, then as normal), `[endless]` (RUNNING
//! until cancelled); `[quota]` answers the submit itself with 429. Results
//! are real MP4s of the requested ratio and duration, served by the mock.
//!
//! Models: the mock serves what Runway's schema has today for these
//! endpoints (`gen4.5`, `gen4_turbo`; `gen3a_turbo` was removed on
//! 2026-06-10). Any other `model` gets Runway's validation 400 with an
//! issue at path `["model"]` ("No matching discriminator"), as the real
//! API answers. `GET /v1/organization` (the adapter's health check)
//! answers the account's credit balance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_rehosted_mp4, assert_status, cancel_to_end, generate, generate_to_end,
    live_server_with_key, mp4_file, sample_mp4,
};
use crate::harness::Server;

/// The key the mock accepts.
const KEY: &str = "key_0123456789abcdef";
/// The version header Runway requires.
const VERSION: &str = "2024-11-06";
/// The portal's Runway snippet (`options` as published).
const PORTAL_INPUT: &str = r#"{"text":"Make the character dance","image":"https://example.com/character.jpg"}"#;
const PORTAL_OPTIONS: &str = r#"{"motionIntensity":"high","model":"gen-3"}"#;

/// How a task behaves, from the marker in its prompt.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Script {
    Succeeds,
    Moderated,
    Fails,
    FlakyPoll,
    Endless,
}

impl Script {
    fn of(prompt: &str) -> Script {
        let markers = [
            ("[moderated]", Script::Moderated),
            ("[fails]", Script::Fails),
            ("[flaky]", Script::FlakyPoll),
            ("[endless]", Script::Endless),
        ];
        markers.into_iter().find(|(marker, _)| prompt.contains(marker)).map_or(Script::Succeeds, |(_, script)| script)
    }
}

struct Task {
    prompt: String,
    script: Script,
    polls: u32,
    width: u32,
    height: u32,
    duration_ms: u32,
    deleted: bool,
}

#[derive(Default)]
struct Vendor {
    base_url: String,
    tasks: HashMap<String, Task>,
    next_id: u32,
}

/// The mock's state and the requests it received, shared with the test.
#[derive(Clone)]
struct Mock {
    vendor: Arc<Mutex<Vendor>>,
    recorder: Arc<Recorder>,
}

impl Mock {
    /// Change the vendor's state and wake whoever waits on it.
    fn update<R>(&self, change: impl FnOnce(&mut Vendor) -> R) -> R {
        let result = change(&mut self.vendor.lock().unwrap());
        self.recorder.changed();
        result
    }

    fn requests(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    /// Submits whose prompt contains `marker`.
    fn submits(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.method == "POST" && r.body["promptText"].as_str().unwrap_or("").contains(marker))
    }

    /// The id of the task whose prompt contains `marker`, once submitted.
    async fn wait_for_task(&self, marker: &str) -> String {
        self.recorder
            .wait_until("the task", || {
                self.vendor.lock().unwrap().tasks.values().any(|task| task.prompt.contains(marker))
            })
            .await;
        let vendor = self.vendor.lock().unwrap();
        let found = vendor.tasks.iter().find(|(_, task)| task.prompt.contains(marker));
        found.map(|(id, _)| id.clone()).expect("waited for it")
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Runway's 401 and missing-version answers, or `None` when both are right.
fn refuse_headers(headers: &HeaderMap) -> Option<Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        return Some(error(StatusCode::UNAUTHORIZED, "Invalid API key"));
    }
    if headers.get("x-runway-version").and_then(|v| v.to_str().ok()) != Some(VERSION) {
        return Some(error(StatusCode::BAD_REQUEST, "The X-Runway-Version header is missing or invalid"));
    }
    None
}

/// Runway's schema for a submit body, by endpoint and model: the first
/// problem, as Runway would put it in a 400.
fn schema_problem(endpoint: &str, body: &Value) -> Option<String> {
    const GEN4_RATIOS: &[&str] = &["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"];
    let known = ["model", "promptText", "promptImage", "ratio", "duration", "seed"];
    if let Some(extra) = body.as_object()?.keys().find(|k| !known.contains(&k.as_str())) {
        return Some(format!("unrecognized key `{extra}`"));
    }
    let model = body["model"].as_str().unwrap_or_default();
    let ratio = body["ratio"].as_str();
    let duration = body["duration"].as_i64();
    let prompt = body["promptText"].as_str();
    let image = body["promptImage"].as_str();
    let (ratios, durations, needs_prompt): (&[&str], &[i64], bool) = match (endpoint, model) {
        ("text_to_video", "gen4.5") => (&["1280:720", "720:1280"], &[2, 3, 4, 5, 6, 7, 8, 9, 10], true),
        ("image_to_video", "gen4.5") => (GEN4_RATIOS, &[2, 3, 4, 5, 6, 7, 8, 9, 10], true),
        ("image_to_video", "gen4_turbo") => (GEN4_RATIOS, &[2, 3, 4, 5, 6, 7, 8, 9, 10], false),
        _ => return None,
    };
    if !ratio.is_some_and(|r| ratios.contains(&r)) {
        return Some(format!("ratio {ratio:?} is not one of {ratios:?}"));
    }
    if !duration.is_some_and(|d| durations.contains(&d)) {
        return Some(format!("duration {duration:?} is not one of {durations:?}"));
    }
    if needs_prompt && prompt.is_none_or(str::is_empty) {
        return Some("promptText is required".into());
    }
    if prompt.is_some_and(|p| p.encode_utf16().count() > 1000) {
        return Some("promptText is longer than 1000 characters".into());
    }
    match (endpoint, image) {
        ("text_to_video", Some(_)) => return Some("promptImage is not accepted on /v1/text_to_video".into()),
        ("image_to_video", None) => return Some("promptImage is required".into()),
        (_, Some(uri)) if !(uri.starts_with("https://") || uri.starts_with("data:image/")) => {
            return Some("promptImage must be an HTTPS URL or a data URI".into());
        }
        _ => {}
    }
    if body.get("seed").is_some_and(|s| s.as_u64().is_none_or(|s| s > u64::from(u32::MAX))) {
        return Some("seed must be an integer from 0 to 4294967295".into());
    }
    None
}

async fn create(mock: Mock, endpoint: &str, headers: HeaderMap, body: Value) -> Response {
    mock.recorder.record("POST", format!("/v1/{endpoint}"), &headers, body.clone());
    if let Some(refusal) = refuse_headers(&headers) {
        return refusal;
    }
    if !model_known(endpoint, body["model"].as_str().unwrap_or_default()) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "Validation of body failed",
                "issues": [{
                    "code": "invalid_union", "errors": [], "note": "No matching discriminator",
                    "discriminator": "model", "path": ["model"], "message": "Invalid input"
                }],
                "docUrl": "https://docs.dev.runwayml.com/api"
            })),
        )
            .into_response();
    }
    if let Some(problem) = schema_problem(endpoint, &body) {
        return error(StatusCode::BAD_REQUEST, &format!("Validation of body failed: {problem}"));
    }
    let prompt = body["promptText"].as_str().unwrap_or_default();
    if prompt.contains("[quota]") {
        return error(StatusCode::TOO_MANY_REQUESTS, "You have exceeded your daily task limit for this model");
    }
    let (width, height) = body["ratio"].as_str().unwrap().split_once(':').unwrap();
    let task = Task {
        prompt: prompt.to_string(),
        script: Script::of(prompt),
        polls: 0,
        width: width.parse().unwrap(),
        height: height.parse().unwrap(),
        duration_ms: body["duration"].as_u64().unwrap() as u32 * 1000,
        deleted: false,
    };
    let id = mock.update(|vendor| {
        vendor.next_id += 1;
        let id = format!("17f20503-6c24-4c16-946b-{:012}", vendor.next_id);
        vendor.tasks.insert(id.clone(), task);
        id
    });
    Json(json!({ "id": id })).into_response()
}

/// Whether Runway's schema for `/v1/{endpoint}` has `model` today.
fn model_known(endpoint: &str, model: &str) -> bool {
    matches!((endpoint, model), ("text_to_video", "gen4.5") | ("image_to_video", "gen4.5" | "gen4_turbo"))
}

/// `GET /v1/organization`: the balance and tier (the health check).
async fn organization(State(mock): State<Mock>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", "/v1/organization", &headers, Value::Null);
    if let Some(refusal) = refuse_headers(&headers) {
        return refusal;
    }
    Json(json!({
        "creditBalance": 12_000,
        "tier": { "maxMonthlyCreditSpend": 50_000, "models": { "gen4.5": { "maxConcurrentGenerations": 2, "maxDailyGenerations": 200 } } },
        "usage": { "models": { "gen4.5": { "dailyGenerations": 3 } } }
    }))
    .into_response()
}

async fn task_status(State(mock): State<Mock>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("/v1/tasks/{id}"), &headers, Value::Null);
    if let Some(refusal) = refuse_headers(&headers) {
        return refusal;
    }
    let mut vendor = mock.vendor.lock().unwrap();
    let base_url = vendor.base_url.clone();
    let Some(task) = vendor.tasks.get_mut(&id).filter(|t| !t.deleted) else {
        return error(StatusCode::NOT_FOUND, "Task not found");
    };
    task.polls += 1;
    let created = "2025-06-01T12:00:00.000Z";
    let succeeded = json!({
        "id": id, "createdAt": created, "status": "SUCCEEDED",
        "output": [format!("{base_url}/results/{id}.mp4?_jwt=eyJhbGciOi")],
    });
    let running = |progress: f64| json!({ "id": id, "createdAt": created, "status": "RUNNING", "progress": progress });
    let failed = |failure: &str, code: &str| json!({ "id": id, "createdAt": created, "status": "FAILED", "failure": failure, "failureCode": code });
    let answer = match (task.script, task.polls) {
        (Script::FlakyPoll, 1) => return error(StatusCode::BAD_GATEWAY, "Runway is shedding load, retry shortly"),
        (Script::Succeeds | Script::FlakyPoll, 1 | 2) => json!({ "id": id, "createdAt": created, "status": "PENDING" }),
        (Script::Succeeds | Script::FlakyPoll, 3) => running(0.42),
        (Script::Succeeds | Script::FlakyPoll, _) => succeeded,
        (Script::Moderated, 1) => running(0.1),
        (Script::Moderated, _) => failed("The prompt was rejected by moderation.", "SAFETY.INPUT.TEXT"),
        (Script::Fails, 1) => running(0.6),
        (Script::Fails, _) => failed("The output did not pass quality checks.", "INTERNAL.BAD_OUTPUT.CODE01"),
        (Script::Endless, _) => running(0.3),
    };
    Json(answer).into_response()
}

async fn delete_task(State(mock): State<Mock>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("DELETE", format!("/v1/tasks/{id}"), &headers, Value::Null);
    if let Some(refusal) = refuse_headers(&headers) {
        return refusal;
    }
    match mock.vendor.lock().unwrap().tasks.get_mut(&id) {
        Some(task) => {
            task.deleted = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "Task not found"),
    }
}

/// A result file: the MP4 of the task's ratio and duration (the `_jwt`
/// query of Runway's signed links is ignored).
async fn result(State(mock): State<Mock>, Path(file): Path<String>) -> Response {
    let id = file.trim_end_matches(".mp4");
    let vendor = mock.vendor.lock().unwrap();
    mp4_file(vendor.tasks.get(id).map(|t| (t.width, t.height, t.duration_ms)))
}

async fn start_mock() -> (MockVendor, Mock) {
    let mock = Mock { vendor: Arc::default(), recorder: Arc::default() };
    let router = Router::new()
        .route(
            "/v1/text_to_video",
            post(|State(m): State<Mock>, h: HeaderMap, Json(b): Json<Value>| create(m, "text_to_video", h, b)),
        )
        .route(
            "/v1/image_to_video",
            post(|State(m): State<Mock>, h: HeaderMap, Json(b): Json<Value>| create(m, "image_to_video", h, b)),
        )
        .route("/v1/tasks/{id}", get(task_status).delete(delete_task))
        .route("/v1/organization", get(organization))
        .route("/results/{file}", get(result))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.vendor.lock().unwrap().base_url = vendor.base_url();
    (vendor, mock)
}

/// A tiny PNG as a `data:` URI.
fn png_data_uri() -> String {
    use base64::Engine as _;
    let png = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

#[tokio::test]
async fn text_and_image_to_video_complete_with_the_file_rehosted() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("runway", &vendor, Some(KEY)).await;
    let data_uri = png_data_uri();
    let (text, linked, inline) = tokio::join!(
        generate_to_end(&server, &live, "runway", json!({ "text": "A red fox running through snow" }), json!({})),
        generate_to_end(
            &server,
            &live,
            "runway",
            json!({ "text": "Slow dolly forward as fog rolls over the harbor", "image": "https://images.example.test/frames/harbor.jpg" }),
            json!({ "model": "gen-4", "aspectRatio": "1:1", "duration": 3, "seed": 4242 }),
        ),
        generate_to_end(
            &server,
            &live,
            "runway",
            json!({ "text": "The sketch comes alive", "image": data_uri }),
            json!({ "aspectRatio": "9:16", "duration": 6 }),
        ),
    );

    assert_status(&text, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &text, &sample_mp4(1280, 720, 5_000)).await;
    assert_eq!(text["metadata"]["resolution"], "1280x720", "{text}");
    assert_eq!((text["metadata"]["duration"].as_f64(), text["creditCost"].as_i64()), (Some(5.0), Some(60)));
    assert_status(&linked, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &linked, &sample_mp4(960, 960, 3_000)).await;
    assert_eq!((linked["metadata"]["resolution"].as_str(), linked["creditCost"].as_i64()), (Some("960x960"), Some(15)));
    assert_status(&inline, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &inline, &sample_mp4(720, 1280, 6_000)).await;
    assert_eq!((inline["metadata"]["duration"].as_f64(), inline["creditCost"].as_i64()), (Some(6.0), Some(72)));

    // What Runway saw: its version header and our key on every call, and
    // each body as its schema wants it.
    let requests = mock.requests();
    assert!(requests.iter().all(|r| r.header("authorization") == Some(&format!("Bearer {KEY}")[..])));
    assert!(requests.iter().all(|r| r.header("x-runway-version") == Some(VERSION)));
    let submit = |prompt: &str| requests.iter().find(|r| r.body["promptText"] == prompt).cloned().unwrap();
    let t2v = submit("A red fox running through snow");
    assert_eq!(t2v.path, "/v1/text_to_video");
    assert_eq!(
        t2v.body,
        json!({ "model": "gen4.5", "promptText": "A red fox running through snow", "ratio": "1280:720", "duration": 5 })
    );
    let i2v = submit("Slow dolly forward as fog rolls over the harbor");
    assert_eq!(i2v.path, "/v1/image_to_video");
    assert_eq!(
        i2v.body,
        json!({
            "model": "gen4_turbo", "promptText": "Slow dolly forward as fog rolls over the harbor",
            "promptImage": "https://images.example.test/frames/harbor.jpg", "ratio": "960:960", "duration": 3, "seed": 4242,
        })
    );
    let inline_submit = submit("The sketch comes alive");
    assert_eq!(
        (inline_submit.path.as_str(), inline_submit.body["model"].as_str()),
        ("/v1/image_to_video", Some("gen4.5"))
    );
    assert_eq!(
        (inline_submit.body["promptImage"].as_str(), inline_submit.body["ratio"].as_str()),
        (Some(&data_uri[..]), Some("720:1280"))
    );
}

#[tokio::test]
async fn vendor_failures_reach_the_right_public_codes_and_cancel_stops_the_task() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("runway", &vendor, Some(KEY)).await;
    let run = |prompt: &'static str| generate_to_end(&server, &live, "runway", json!({ "text": prompt }), json!({}));
    let endless = generate(&server, &live, "runway", json!({ "text": "[endless] waves forever" }), json!({}));
    let (moderated, fails, quota, flaky, endless) = tokio::join!(
        run("[moderated] something Runway refuses"),
        run("[fails] a scene Runway cannot render"),
        run("[quota] one more clip today"),
        run("[flaky] a lighthouse at night"),
        endless,
    );

    assert_status(&moderated, "FAILED", Some("GENERATION_FAILED"), &server);
    assert!(moderated["error"]["message"].as_str().unwrap().contains("SAFETY.INPUT.TEXT"), "{moderated}");
    assert_status(&fails, "FAILED", Some("GENERATION_FAILED"), &server);
    assert!(fails["error"]["message"].as_str().unwrap().contains("did not pass quality checks"), "{fails}");
    // 429 is retryable: three submits in all, then PROVIDER_UNAVAILABLE with Runway's words.
    assert_status(&quota, "FAILED", Some("PROVIDER_UNAVAILABLE"), &server);
    assert!(quota["error"]["message"].as_str().unwrap().contains("exceeded your daily task limit"), "{quota}");
    assert_eq!(mock.submits("[quota]").len(), 3);
    // A 502 while polling is retried, and the task then completes.
    assert_status(&flaky, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &flaky, &sample_mp4(1280, 720, 5_000)).await;

    // Cancel a running task: Runway gets DELETE /v1/tasks/{id}.
    let endless = endless.unwrap();
    let task = mock.wait_for_task("[endless]").await;
    mock.recorder.wait_for("a poll of the endless task", |r| r.method == "GET" && r.path.ends_with(&task)).await;
    let cancelled = cancel_to_end(&server, &live, endless["id"].as_str().unwrap()).await;
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled}");
    let deletes = mock.recorder.filter(|r| r.method == "DELETE");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0].path, format!("/v1/tasks/{task}"));
}

/// Options and combinations Runway lacks are refused for both keys before
/// any job exists, naming the option and what is allowed.
async fn assert_refused_before_any_job(server: &Server, live: &str, mock: &Mock) {
    let image = "https://images.example.test/c.jpg";
    let cases = [
        (
            json!({ "text": "[invalid] a" }),
            json!({ "model": "gen-2" }),
            r#"must be one of "gen-4.5", "gen-4"; got "gen-2""#,
        ),
        (
            json!({ "text": "[invalid] b", "image": image }),
            json!({ "model": "gen-3", "duration": 5 }),
            r#"must be one of "gen-4.5", "gen-4"; got "gen-3""#,
        ),
        (
            json!({ "text": "[invalid] d" }),
            json!({ "aspectRatio": "4:3" }),
            r#"option `aspectRatio` must be one of "16:9", "9:16" with model "gen-4.5" for text-to-video; got "4:3""#,
        ),
        (
            json!({ "text": "[invalid] e" }),
            json!({ "model": "gen-4" }),
            r#"model "gen-4" animates an image and needs input.image; for text-to-video use model "gen-4.5""#,
        ),
        (json!({ "text": "[invalid] f" }), json!({ "duration": 12 }), "must be between 2 and 10; got 12"),
        (
            json!({ "text": "[invalid] g" }),
            json!({ "resolution": "1080p" }),
            "option `resolution` is not supported by provider `runway`; supported options: model, duration, aspectRatio, seed",
        ),
    ];
    for key in [live, &server.key] {
        for (input, options, message) in &cases {
            let error = generate(server, key, "runway", input.clone(), options.clone()).await.unwrap_err();
            assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
            assert!(error["message"].as_str().unwrap().contains(message), "{error}\nwanted: {message}");
        }
    }
    let unknown_model = generate(server, live, "runway", json!({ "text": "[invalid] h" }), json!({ "model": "gen-2" }));
    let allowed = &unknown_model.await.unwrap_err()["extensions"]["allowedValues"];
    assert_eq!(allowed, &json!(["gen-4.5", "gen-4"]));
    let none = server.post(Some(live), "{ generations { nodes { id } } }", json!({}), &[]).await.2;
    assert_eq!(none["data"]["generations"]["nodes"], json!([]), "no job was created: {none}");
    assert!(mock.requests().is_empty(), "Runway was never called: {:?}", mock.requests());
}

#[tokio::test]
async fn bad_credentials_and_a_missing_secret_are_provider_unavailable() {
    let (vendor, mock) = start_mock().await;
    let ((wrong, wrong_live), (unset, unset_live)) = tokio::join!(
        live_server_with_key("runway", &vendor, Some("key_revoked")),
        live_server_with_key("runway", &vendor, None)
    );

    // Runway answers 401: not retried, PROVIDER_UNAVAILABLE with its words.
    let refused = generate_to_end(&wrong, &wrong_live, "runway", json!({ "text": "[badkey] a fox" }), json!({})).await;
    assert_status(&refused, "FAILED", Some("PROVIDER_UNAVAILABLE"), &wrong);
    assert!(refused["error"]["message"].as_str().unwrap().contains("Invalid API key"), "{refused}");
    assert_eq!(mock.submits("[badkey]").len(), 1);
    assert_eq!(mock.submits("[badkey]")[0].header("authorization"), Some("Bearer key_revoked"));

    // No secret: listed as unavailable, live keys refused, test keys served.
    let providers = unset.gql("{ providers(type: VIDEO) { id available unavailableReason } }", json!({})).await;
    let runway = providers["providers"].as_array().unwrap().iter().find(|p| p["id"] == "runway").unwrap().clone();
    assert_eq!(runway["available"], false);
    assert!(runway["unavailableReason"].as_str().unwrap().contains("api_key"), "{runway}");
    let error =
        generate(&unset, &unset_live, "runway", json!({ "text": "[unset] a fox" }), json!({})).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert!(error["message"].as_str().unwrap().contains("DOITONG_SECRET_RUNWAY_API_KEY"), "{error}");
    let test_mode = generate_to_end(&unset, &unset.key, "runway", json!({ "text": "[unset] a fox" }), json!({})).await;
    assert_status(&test_mode, "COMPLETED", None, &unset);
    assert!(mock.submits("[unset]").is_empty());
}

#[tokio::test]
async fn unsupported_options_and_the_portal_snippet_are_invalid_input_and_it_runs_without_them() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("runway", &vendor, Some(KEY)).await;
    assert_refused_before_any_job(&server, &live, &mock).await;
    let input: Value = serde_json::from_str(PORTAL_INPUT).unwrap();
    let options: Value = serde_json::from_str(PORTAL_OPTIONS).unwrap();

    // Runway's API has no motion intensity: the exact answer, for both keys.
    for key in [&server.key, &live] {
        let error = generate(&server, key, "runway", input.clone(), options.clone()).await.unwrap_err();
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
        assert_eq!(error["extensions"]["field"], "options.motionIntensity");
        assert_eq!(
            error["message"],
            "option `motionIntensity` is not supported by provider `runway`; supported options: model, duration, aspectRatio, seed"
        );
        assert_eq!(error["extensions"]["allowedValues"], json!(["model", "duration", "aspectRatio", "seed"]));
    }
    assert!(mock.requests().is_empty());

    // The snippet's `gen-3` (Runway's gen3a_turbo) is retired: refused
    // before any job, listing the models Runway has today.
    let gen3 = json!({ "model": "gen-3" });
    for key in [&server.key, &live] {
        let error = generate(&server, key, "runway", input.clone(), gen3.clone()).await.unwrap_err();
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
        assert_eq!(error["extensions"]["field"], "options.model", "{error}");
        assert_eq!(error["extensions"]["allowedValues"], json!(["gen-4.5", "gen-4"]), "{error}");
    }
    assert!(mock.requests().is_empty());

    // Without the retired model the snippet's input runs on gen-4.5.
    let (test_mode, live_run) = tokio::join!(
        generate_to_end(&server, &server.key, "runway", input.clone(), json!({})),
        generate_to_end(&server, &live, "runway", input.clone(), json!({})),
    );
    assert_status(&test_mode, "COMPLETED", None, &server);
    assert_status(&live_run, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &live_run, &sample_mp4(1280, 720, 5_000)).await;
    let submits = mock.submits("Make the character dance");
    assert_eq!(submits.len(), 1, "only the live key reaches Runway");
    assert_eq!(submits[0].path, "/v1/image_to_video");
    assert_eq!(
        submits[0].body,
        json!({
            "model": "gen4.5", "promptText": "Make the character dance",
            "promptImage": "https://example.com/character.jpg", "ratio": "1280:720", "duration": 5,
        })
    );
}

/// A server like `live_server_with_key` whose `[plugins.runway]` carries
/// the operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("runway", vendor, &[("api_key", KEY)], settings).await
}

/// The operator's setting reaches Runway; a model Runway no longer has
/// (here `gen3a_turbo`, named by a stale setting) fails the job as
/// `PROVIDER_UNAVAILABLE` (model unavailable), not retried.
#[tokio::test]
async fn settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = start_mock().await;
    let (server, live) =
        live_server_with_settings(&vendor, r#""model.runway" = "gen3a_turbo", "model.runway.gen-4" = "gen4.5""#).await;
    let image = "https://images.example.test/c.jpg";
    let (retired, moved) = tokio::join!(
        generate_to_end(&server, &live, "runway", json!({ "text": "[retired] a fox", "image": image }), json!({})),
        generate_to_end(
            &server,
            &live,
            "runway",
            json!({ "text": "[moved] a fox", "image": image }),
            json!({ "model": "gen-4" })
        ),
    );
    assert_status(&retired, "FAILED", Some("PROVIDER_UNAVAILABLE"), &server);
    assert!(retired["error"]["message"].as_str().unwrap().contains("Validation of body failed"), "{retired}");
    let submits = mock.submits("[retired]");
    assert_eq!(submits.len(), 1, "a retired model is not retried: {submits:?}");
    assert_eq!(submits[0].body["model"], "gen3a_turbo");
    assert_status(&moved, "COMPLETED", None, &server);
    assert_eq!(mock.submits("[moved]")[0].body["model"], "gen4.5");
}

/// The portal's Runway snippet (`motionIntensity`, `model: "gen-3"`, both
/// gone from Runway's API) runs under `Prefer: handling=lenient`: the
/// unknown option is dropped, the retired model becomes the nearest one
/// Runway still offers, and both changes are reported.
#[tokio::test]
async fn portal_snippet_succeeds_under_lenient_handling() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("runway", &vendor, Some(KEY)).await;
    let snippet = json!({
        "type": "VIDEO",
        "provider": "runway",
        "input": { "text": "Make the character dance", "image": "https://example.com/character.jpg" },
        "options": { "motionIntensity": "high", "model": "gen-3" }
    });
    let mutation = "mutation($input: GenerateInput!) { generate(input: $input) { id status } }";
    let (_, _, strict) = server.post(Some(&live), mutation, json!({ "input": snippet }), &[]).await;
    assert_eq!(strict["errors"][0]["extensions"]["code"], "INVALID_INPUT", "strict by default: {strict}");

    let (status, headers, body) = server
        .post(Some(&live), mutation, json!({ "input": snippet }), &[("Prefer", "handling=lenient, wait=30")])
        .await;
    assert_eq!(status, 200, "{body}");
    let applied = headers.get("preference-applied").cloned().unwrap_or_default();
    assert!(applied.contains("handling=lenient") && applied.contains("wait=30"), "{applied}");
    let warnings = body["extensions"]["warnings"].as_array().unwrap_or_else(|| panic!("{body}"));
    let changes: Vec<(&str, &Value)> = warnings.iter().map(|w| (w["field"].as_str().unwrap(), &w["applied"])).collect();
    assert_eq!(changes, [("options.model", &json!("gen-4")), ("options.motionIntensity", &Value::Null)], "{body}");

    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    let done = server.wait_terminal(&live, id, std::time::Duration::from_secs(60)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let submit = &mock.submits("Make the character dance")[0];
    assert_eq!(submit.body["model"], "gen4_turbo", "{:?}", submit.body);
    assert_eq!(submit.body["promptImage"], "https://example.com/character.jpg");
}
