//! Mock BytePlus ModelArk (Seedance video) and the `seedance` adapter's
//! end-to-end tests.
//!
//! The mock speaks ModelArk's documented exchanges (`shared/vendors/
//! seedance.md`): `POST /api/v3/contents/generations/tasks` → `GET
//! …/tasks/{id}` (`queued` → `running` → `succeeded` with
//! `content.video_url` on an object store, the mock itself) and `DELETE
//! …/tasks/{id}`, which cancels a queued task and refuses a running one.
//! Like ModelArk it refuses with HTTP errors carrying `{"error": {"code",
//! "message"}}`: 401 `AuthenticationError` for a wrong key, 400
//! `InvalidParameter` for a body ModelArk would refuse (unknown model or
//! field, duration, ratio or audio the model does not do, a first frame
//! for a text-only model). Markers in the prompt pick the failure
//! scenarios: `[input-moderated]` (400 `InputTextSensitiveContentDetected`),
//! `[busy]` (429 `RateLimitExceeded…`), `[output-moderated]` and
//! `[vendor-fails]` (task `failed`), `[expires]` (task `expired`),
//! `[flaky]` (the first query answers 500), `[queued]` and `[running]`
//! (the task stays in that status).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_completed, assert_failed, assert_job_count, assert_not_configured,
    assert_rehosted_mp4, cancel_to_end, credits, generate, generate_to_end, listed_provider, live_server, mp4_file,
    sample_mp4, the_one,
};
use crate::harness::Server;

/// The ModelArk API key the mock accepts.
const KEY: &str = "ark-live-key-51c2";
/// A 1×1 PNG, for image-to-video from a `data:` URI.
const PNG_DATA_URI: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const TASKS: &str = "/api/v3/contents/generations/tasks";
const MODELS: &[&str] = &[
    "seedance-1-0-pro-250528",
    "seedance-1-0-pro-fast-251015",
    "seedance-1-0-lite-t2v-250428",
    "seedance-1-0-lite-i2v-250428",
    "seedance-1-5-pro-251215",
];

/// A task the mock runs.
struct Task {
    prompt: String,
    model: String,
    resolution: String,
    ratio: String,
    duration_s: u32,
    polls: u32,
    status: &'static str,
}

impl Task {
    /// Frame size of the output, per ModelArk's tables (landscape unless 9:16).
    fn frame(&self) -> (u32, u32) {
        let pro15 = self.model.starts_with("seedance-1-5-pro");
        let (w, h) = match (self.resolution.as_str(), pro15) {
            ("480p", true) => (864, 496),
            ("480p", false) => (864, 480),
            ("720p", true) => (1280, 720),
            ("720p", false) => (1248, 704),
            (_, true) => (1920, 1080),
            (_, false) => (1920, 1088),
        };
        if self.ratio == "9:16" { (h, w) } else { (w, h) }
    }
}

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    /// `http://127.0.0.1:<port>`: where video links point (the object store).
    origin: OnceLock<String>,
    tasks: Mutex<HashMap<String, Task>>,
    next_id: AtomicU64,
    recorder: Recorder,
}

impl Mock {
    fn seen(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    /// Every create whose prompt contains `marker`.
    fn creates(&self, marker: &str) -> Vec<Recorded> {
        self.recorder
            .filter(|s| s.method == "POST" && s.body["content"][0]["text"].as_str().is_some_and(|t| t.contains(marker)))
    }

    /// The one create whose prompt contains `marker`.
    fn create(&self, marker: &str) -> Recorded {
        the_one(self.creates(marker), format_args!("one create for {marker:?}"))
    }

    /// The id of the task whose prompt contains `marker`.
    fn task_id(&self, marker: &str) -> String {
        let tasks = self.tasks.lock().unwrap();
        tasks.iter().find(|(_, t)| t.prompt.contains(marker)).map(|(id, _)| id.clone()).expect("task")
    }

    /// `DELETE` calls made.
    fn deletes(&self) -> Vec<String> {
        self.recorder.filter(|s| s.method == "DELETE").into_iter().map(|s| s.path).collect()
    }
}

/// ModelArk's error answer.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let kind = match status.as_u16() {
        401 => "Unauthorized",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        _ => "BadRequest",
    };
    let message = format!("{message} Request id: 0217{}", status.as_u16());
    (status, Json(json!({ "error": { "code": code, "message": message, "param": "", "type": kind } }))).into_response()
}

fn invalid(message: impl Into<String>) -> Response {
    refuse(StatusCode::BAD_REQUEST, "InvalidParameter", &message.into())
}

/// Why ModelArk would refuse this body (400 `InvalidParameter`), if it would.
fn invalid_parameter(body: &Value) -> Option<String> {
    const FIELDS: &[&str] =
        &["model", "content", "resolution", "ratio", "duration", "seed", "camera_fixed", "watermark", "generate_audio"];
    let object = body.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Some(format!("the parameter `{unknown}` is not supported"));
    }
    let model = body["model"].as_str().unwrap_or_default();
    if !MODELS.contains(&model) {
        return Some(format!("the model `{model}` does not exist or you do not have access to it"));
    }
    let content = body["content"].as_array()?;
    let texts: Vec<&Value> = content.iter().filter(|c| c["type"] == "text").collect();
    let images: Vec<&Value> = content.iter().filter(|c| c["type"] == "image_url").collect();
    if texts.len() + images.len() != content.len() || texts.len() > 1 || images.len() > 1 {
        return Some("the parameter `content` is invalid".into());
    }
    if texts.iter().any(|t| !t["text"].is_string()) {
        return Some("the parameter `content.text` must be a string".into());
    }
    let image = images.first();
    if let Some(image) = image {
        let url = image["image_url"]["url"].as_str().unwrap_or_default();
        let valid = url.starts_with("https://")
            || url
                .strip_prefix("data:image/")
                .and_then(|r| r.split_once(";base64,"))
                .is_some_and(|(_, data)| base64::engine::general_purpose::STANDARD.decode(data).is_ok());
        if !valid || image.get("role").is_some_and(|r| r != "first_frame") {
            return Some("the parameter `content.image_url` is invalid".into());
        }
    }
    let t2v = image.is_none();
    match model {
        "seedance-1-0-lite-t2v-250428" if !t2v => return Some(format!("{model} does not accept images")),
        "seedance-1-0-lite-i2v-250428" if t2v => return Some(format!("{model} needs an image")),
        _ => {}
    }
    if !["480p", "720p", "1080p"].contains(&body["resolution"].as_str().unwrap_or("720p")) {
        return Some("the parameter `resolution` is invalid".into());
    }
    let pro15 = model.starts_with("seedance-1-5-pro");
    if let Some(ratio) = body.get("ratio") {
        let ratio = ratio.as_str().unwrap_or_default();
        let fixed = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"].contains(&ratio);
        if !(fixed || (ratio == "adaptive" && (!t2v || pro15))) {
            return Some(format!("the parameter `ratio` specified in the request is not valid: {ratio}"));
        }
    }
    let shortest = if pro15 { 4 } else { 2 };
    if !body["duration"].as_i64().is_some_and(|d| (shortest..=12).contains(&d)) {
        return Some(format!("the parameter `duration` must be between {shortest} and 12"));
    }
    if body.get("seed").is_some_and(|s| !s.as_i64().is_some_and(|s| (-1..=4_294_967_295).contains(&s))) {
        return Some("the parameter `seed` is invalid".into());
    }
    for flag in ["camera_fixed", "watermark", "generate_audio"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Some(format!("the parameter `{flag}` must be a boolean"));
        }
    }
    if body.get("generate_audio").is_some() && !pro15 {
        return Some(format!("the parameter `generate_audio` is not supported by {model}"));
    }
    None
}

/// Record a request; whether it carries the key.
fn record(mock: &Mock, method: &str, path: String, headers: &HeaderMap, body: Value) -> bool {
    mock.recorder.record(method, path, headers, body);
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

fn unauthorized() -> Response {
    refuse(StatusCode::UNAUTHORIZED, "AuthenticationError", "The API key in the request is missing or invalid.")
}

async fn create_task(State(mock): State<Arc<Mock>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return invalid("the request body must be JSON");
    }
    if !record(&mock, "POST", TASKS.into(), &headers, body.clone()) {
        return unauthorized();
    }
    let model = body["model"].as_str().unwrap_or_default();
    if !MODELS.contains(&model) {
        // ModelArk's answer for a model it does not serve (or not to this account).
        let message = format!("The model or endpoint {model} does not exist or you do not have access to it.");
        return refuse(StatusCode::NOT_FOUND, "InvalidEndpointOrModel.NotFound", &message);
    }
    if let Some(why) = invalid_parameter(&body) {
        return invalid(why);
    }
    let prompt = body["content"][0]["text"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[input-moderated]") {
        let message = "The request failed because the input text may contain sensitive information.";
        return refuse(StatusCode::BAD_REQUEST, "InputTextSensitiveContentDetected", message);
    }
    if prompt.contains("[busy]") {
        let message = "The request has exceeded the RPM rate limit of the endpoint. Please retry later.";
        return refuse(StatusCode::TOO_MANY_REQUESTS, "RateLimitExceeded.EndpointRPMExceeded", message);
    }
    let id = format!("cgt-20250601120000-{:05}", mock.next_id.fetch_add(1, Ordering::SeqCst));
    let task = Task {
        prompt,
        model: body["model"].as_str().unwrap_or_default().to_string(),
        resolution: body["resolution"].as_str().unwrap_or("720p").to_string(),
        ratio: body["ratio"].as_str().unwrap_or("16:9").to_string(),
        duration_s: body["duration"].as_u64().unwrap_or(5) as u32,
        polls: 0,
        status: "queued",
    };
    mock.tasks.lock().unwrap().insert(id.clone(), task);
    Json(json!({ "id": id })).into_response()
}

/// The next status of a task as it is polled.
fn advance(task: &mut Task) -> Option<&'static str> {
    task.polls += 1;
    let prompt = task.prompt.as_str();
    let status = match task.polls {
        1 if prompt.contains("[flaky]") => return None,
        _ if task.status == "cancelled" => "cancelled",
        _ if prompt.contains("[queued]") => "queued",
        _ if prompt.contains("[running]") => "running",
        1 => "queued",
        2 => "running",
        _ if prompt.contains("[output-moderated]") || prompt.contains("[vendor-fails]") => "failed",
        _ if prompt.contains("[expires]") => "expired",
        _ => "succeeded",
    };
    task.status = status;
    Some(status)
}

async fn get_task(State(mock): State<Arc<Mock>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !record(&mock, "GET", format!("{TASKS}/{id}"), &headers, Value::Null) {
        return unauthorized();
    }
    let answer = {
        let mut tasks = mock.tasks.lock().unwrap();
        let Some(task) = tasks.get_mut(&id) else {
            return refuse(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("the task {id} does not exist"));
        };
        advance(task).map(|status| {
            let mut answer = json!({
                "id": id,
                "model": task.model,
                "status": status,
                "created_at": 1_748_779_200,
                "updated_at": 1_748_779_284,
                "service_tier": "default",
                "execution_expires_after": 172_800,
            });
            match status {
                "succeeded" => {
                    let origin = mock.origin.get().unwrap();
                    answer["content"] = json!({ "video_url": format!("{origin}/tos/{id}.mp4?X-Tos-Expires=86400") });
                    answer["usage"] = json!({ "completion_tokens": 246_840, "total_tokens": 246_840 });
                    answer["seed"] = json!(58944);
                    answer["resolution"] = json!(task.resolution);
                    answer["ratio"] = json!(task.ratio);
                    answer["duration"] = json!(task.duration_s);
                    answer["framespersecond"] = json!(24);
                }
                "failed" if task.prompt.contains("[output-moderated]") => {
                    answer["error"] = json!({
                        "code": "OutputVideoSensitiveContentDetected",
                        "message": "The request failed because the output video may contain sensitive information.",
                    });
                }
                "failed" => {
                    answer["error"] = json!({ "code": "InternalServiceError", "message": "The service encountered an unexpected internal error." });
                }
                _ => {}
            }
            answer
        })
    };
    match answer {
        Some(answer) => Json(answer).into_response(),
        None => {
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceError", "The service is temporarily unavailable.")
        }
    }
}

async fn delete_task(State(mock): State<Arc<Mock>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !record(&mock, "DELETE", format!("{TASKS}/{id}"), &headers, Value::Null) {
        return unauthorized();
    }
    let mut tasks = mock.tasks.lock().unwrap();
    match tasks.get_mut(&id) {
        None => refuse(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("the task {id} does not exist")),
        Some(task) if task.status == "queued" => {
            task.status = "cancelled";
            Json(json!({})).into_response()
        }
        Some(task) => invalid(format!("the task {id} is {} and cannot be cancelled", task.status)),
    }
}

/// The object store: the MP4 of a task.
async fn download(State(mock): State<Arc<Mock>>, Path(file): Path<String>) -> Response {
    let tasks = mock.tasks.lock().unwrap();
    let task = tasks.get(file.trim_end_matches(".mp4"));
    mp4_file(task.map(|task| (task.frame().0, task.frame().1, task.duration_s * 1000)))
}

/// Start the mock ModelArk.
async fn mock_modelark() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route(TASKS, axum::routing::post(create_task))
        .route(&format!("{TASKS}/{{id}}"), get(get_task).delete(delete_task))
        .route("/tos/{file}", get(download))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.origin.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

/// Generate with `key` and wait for the end.
async fn run(server: &Server, key: &str, prompt: &str, options: Value) -> Value {
    generate_to_end(server, key, "seedance", json!({ "text": prompt }), options).await
}

#[tokio::test]
async fn seedance_text_and_image_to_video_complete_with_the_file_rehosted() {
    let (vendor, mock) = mock_modelark().await;
    let (server, key) = live_server("seedance", &vendor, &[("api_key", KEY)]).await;
    let from_url = json!({ "text": "the fox looks up [i2v-url]", "image": "https://images.example.com/fox.png" });
    let from_data = json!({ "text": "the fox runs off [i2v-data]", "image": PNG_DATA_URI });
    let (t2v, vertical, lite, fast) = tokio::join!(
        run(&server, &key, "A fox trotting through fresh snow in a birch forest [defaults]", json!({})),
        run(
            &server,
            &key,
            "A dancer spinning under a street lamp [vertical]",
            json!({ "model": "seedance-1-5-pro", "duration": 4, "resolution": "720p", "aspectRatio": "9:16",
                    "seed": 42, "cameraFixed": true, "generateAudio": false }),
        ),
        generate_to_end(
            &server,
            &key,
            "seedance",
            from_url,
            json!({ "model": "seedance-1-0-lite", "aspectRatio": "adaptive" })
        ),
        generate_to_end(
            &server,
            &key,
            "seedance",
            from_data,
            json!({ "model": "seedance-1-0-pro-fast", "resolution": "480p", "aspectRatio": "16:9", "duration": 2 }),
        ),
    );

    // Text to video with every default: 1.0 Pro, 5 s at 1080p, ratio left to ModelArk.
    assert_completed(&t2v, "seedance", 62, (1920, 1088), 5.0);
    assert_rehosted_mp4(&server, &t2v, &sample_mp4(1920, 1088, 5000)).await;
    let create = mock.create("[defaults]");
    assert_eq!(create.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(
        create.body,
        json!({
            "model": "seedance-1-0-pro-250528",
            "content": [{ "type": "text", "text": "A fox trotting through fresh snow in a birch forest [defaults]" }],
            "resolution": "1080p",
            "duration": 5,
            "camera_fixed": false,
            "watermark": false,
        })
    );
    // queued → running → succeeded, every call with the key.
    let seen = mock.seen();
    let polls = seen.iter().filter(|s| s.method == "GET").count();
    assert!(polls >= 3 * 4, "every task was polled until it succeeded: {polls}");
    assert!(seen.iter().all(|s| s.header("authorization") == Some(&format!("Bearer {KEY}"))));

    // 1.5 Pro, vertical, silent, seeded, camera fixed.
    assert_completed(&vertical, "seedance", 11, (720, 1280), 4.0);
    assert_rehosted_mp4(&server, &vertical, &sample_mp4(720, 1280, 4000)).await;
    let body = mock.create("[vertical]").body;
    assert_eq!(
        (&body["model"], &body["ratio"], &body["duration"], &body["seed"]),
        (&json!("seedance-1-5-pro-251215"), &json!("9:16"), &json!(4), &json!(42))
    );
    assert_eq!(
        (&body["camera_fixed"], &body["generate_audio"], &body["resolution"]),
        (&json!(true), &json!(false), &json!("720p"))
    );

    // Image to video from an https URL: Lite's image model, the URL as given.
    assert_completed(&lite, "seedance", 45, (1920, 1088), 5.0);
    let body = mock.create("[i2v-url]").body;
    assert_eq!(body["model"], "seedance-1-0-lite-i2v-250428");
    assert_eq!(
        body["content"][1],
        json!({ "type": "image_url", "image_url": { "url": "https://images.example.com/fox.png" }, "role": "first_frame" })
    );
    assert_eq!(body["ratio"], "adaptive");

    // Image to video from a data: URI, passed on inline.
    assert_completed(&fast, "seedance", 2, (864, 480), 2.0);
    let body = mock.create("[i2v-data]").body;
    assert_eq!(body["model"], "seedance-1-0-pro-fast-251015");
    assert_eq!(body["content"][1]["image_url"]["url"], PNG_DATA_URI);

    assert_eq!(credits(&server, &key).await, 100_000 - 62 - 11 - 45 - 2);
}

#[tokio::test]
async fn seedance_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_modelark().await;
    let (server, key) = live_server("seedance", &vendor, &[("api_key", KEY)]).await;
    let (input_moderated, output_moderated, vendor_fails, expires, busy, flaky) = tokio::join!(
        run(&server, &key, "something forbidden [input-moderated]", json!({})),
        run(&server, &key, "something that renders badly [output-moderated]", json!({})),
        run(&server, &key, "a glitch [vendor-fails]", json!({})),
        run(&server, &key, "a very long render [expires]", json!({})),
        run(&server, &key, "a crowd at rush hour [busy]", json!({})),
        run(&server, &key, "a river at dusk [flaky]", json!({ "resolution": "720p", "aspectRatio": "16:9" })),
    );
    assert_failed(
        &input_moderated,
        "GENERATION_FAILED",
        &["InputTextSensitiveContentDetected", "sensitive information"],
    );
    assert_eq!(mock.creates("[input-moderated]").len(), 1, "moderation is final");
    assert_failed(&output_moderated, "GENERATION_FAILED", &["OutputVideoSensitiveContentDetected"]);
    assert_failed(&vendor_fails, "GENERATION_FAILED", &["InternalServiceError", "unexpected internal error"]);
    assert_failed(&expires, "GENERATION_FAILED", &["expired"]);
    // Rate limited: retryable, so the host created three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["HTTP 429", "RateLimitExceeded.EndpointRPMExceeded"]);
    assert_eq!(mock.creates("[busy]").len(), 3, "the host retries a rate-limited create");
    // A transient 500 while polling, then success.
    assert_completed(&flaky, "seedance", 26, (1248, 704), 5.0);

    // Combinations the models cannot do: refused before any job exists.
    let cases = [
        (
            json!({ "model": "seedance-1-5-pro", "duration": 3 }),
            "provider `seedance` refused the request: option `duration` of provider `seedance` must be between 4 and \
             12 with model `seedance-1-5-pro`; got 3",
        ),
        (
            json!({ "aspectRatio": "adaptive" }),
            "provider `seedance` refused the request: option `aspectRatio` of provider `seedance` must be one of \
             16:9, 4:3, 1:1, 3:4, 9:16, 21:9 with model `seedance-1-0-pro`, text-to-video (adaptive needs \
             input.image); got adaptive",
        ),
        (
            json!({ "model": "seedance-1-0-lite", "generateAudio": true }),
            "provider `seedance` refused the request: option `generateAudio` of provider `seedance` is only \
             available with model seedance-1-5-pro; got model `seedance-1-0-lite`",
        ),
        (json!({ "duration": 15 }), "option `duration` of provider `seedance` must be between 2 and 12; got 15"),
        (
            json!({ "style": "cinematic" }),
            "option `style` is not supported by provider `seedance`; supported options: model, duration, \
             resolution, aspectRatio, seed, cameraFixed, watermark, generateAudio",
        ),
    ];
    for (options, message) in cases {
        let error = generate(&server, &key, "seedance", json!({ "text": "a refused clip [refused]" }), options.clone())
            .await
            .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        assert_eq!(error["message"], message, "{options}");
    }
    assert!(mock.creates("[refused]").is_empty(), "nothing refused reached ModelArk");
    assert_job_count(&server, &key, 6).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 26);
}

/// Start a generation and wait until ModelArk has been polled for it.
async fn started(server: &Server, key: &str, mock: &Mock, prompt: &str) -> String {
    let accepted =
        generate(server, key, "seedance", json!({ "text": prompt }), json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    let polled = || {
        let task = mock.tasks.lock().unwrap().iter().find(|(_, t)| t.prompt == prompt).map(|(id, _)| id.clone());
        task.is_some_and(|id| mock.recorder.count("GET", &format!("{TASKS}/{id}")) > 0)
    };
    mock.recorder.wait_until("a poll of the task", polled).await;
    accepted["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn seedance_cancel_deletes_queued_tasks_and_lets_running_ones_bill() {
    let (vendor, mock) = mock_modelark().await;
    let (server, key) = live_server("seedance", &vendor, &[("api_key", KEY)]).await;

    // Still queued at ModelArk: deleted, nothing billed, everything refunded.
    let queued = started(&server, &key, &mock, "waiting for a slot [queued]").await;
    let ended = cancel_to_end(&server, &key, &queued).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    assert_eq!(mock.deletes(), [format!("{TASKS}/{}", mock.task_id("[queued]"))]);
    assert_eq!(credits(&server, &key).await, 100_000);

    // Already running: ModelArk cannot stop it and bills it, so no DELETE and no refund.
    let running = started(&server, &key, &mock, "already rendering [running]").await;
    let ended = cancel_to_end(&server, &key, &running).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    assert_eq!(mock.deletes().len(), 1, "no DELETE for a running task");
    assert_eq!(credits(&server, &key).await, 100_000 - 62);
}

#[tokio::test]
async fn seedance_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_modelark().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("seedance", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("seedance", &vendor, &[("api_key", "ark-revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    let seedance = listed_provider(&unconfigured, "VIDEO", "seedance").await;
    assert_eq!(seedance["available"], false);
    assert_eq!(seedance["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(seedance["pricing"], json!({ "creditCost": 62, "estimatedTime": 60 }));
    let options = seedance["options"].as_array().unwrap();
    let names: Vec<&str> = options.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["model", "duration", "resolution", "aspectRatio", "seed", "cameraFixed", "watermark", "generateAudio"]
    );
    assert_eq!(
        options[0]["allowedValues"],
        json!(["seedance-1-0-pro", "seedance-1-0-pro-fast", "seedance-1-0-lite", "seedance-1-5-pro"])
    );
    assert_eq!((options[1]["minimum"].as_f64(), options[1]["maximum"].as_f64()), (Some(2.0), Some(12.0)));
    assert_not_configured(&unconfigured, &live, "VIDEO", "seedance", json!({ "text": "a fox" }), json!({}), "seedance")
        .await;
    let test_mode = run(&unconfigured, &unconfigured.key, "a fox [test mode]", json!({ "resolution": "720p" })).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 29);

    // A key ModelArk refuses (401): final, not retried.
    let refused = run(&wrong, &wrong_key, "a fox [wrong key]", json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["HTTP 401", "AuthenticationError"]);
    let creates = mock.creates("[wrong key]");
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].header("authorization"), Some("Bearer ark-revoked"));
    assert!(mock.creates("[test mode]").is_empty(), "test keys never reach ModelArk");
}

/// A server whose `seedance` plugin talks to `vendor`, with the operator's
/// `[plugins.seedance] settings` (a TOML inline table's body).
async fn seedance_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("seedance", vendor, &[("api_key", KEY)], settings).await
}

/// A model ModelArk does not serve (named by an operator setting) is a 404
/// `InvalidEndpointOrModel.NotFound`: the job fails `PROVIDER_UNAVAILABLE`
/// (model unavailable), not retried; the setting reaches ModelArk.
#[tokio::test]
async fn settings_replace_model_ids_and_an_unknown_model_is_unavailable() {
    let (vendor, mock) = mock_modelark().await;
    let (server, key) = seedance_server_with_settings(&vendor, r#""model.seedance" = "seedance-1-0-pro-250101""#).await;
    let retired =
        generate_to_end(&server, &key, "seedance", json!({ "text": "An old model [retired-model]" }), json!({})).await;
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["InvalidEndpointOrModel.NotFound"]);
    let create = mock.create("[retired-model]");
    assert_eq!(create.body["model"], "seedance-1-0-pro-250101");
}
