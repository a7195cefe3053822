//! A mock of the Vidu API (`/ent/v2/…`) and the `vidu` adapter's
//! end-to-end tests through the real server.
//!
//! The mock follows `shared/vendors/vidu.md`: every request must carry
//! `Authorization: Token <api_key>` (a `Bearer` or wrong key gets 401
//! `Unauthorized`); create calls are checked field by field (`model` per
//! endpoint, `prompt`, integer `duration`, `resolution`, `images` as one
//! URL or `data:` URI, no text-only fields on `img2video`) and refused with
//! 400 `FieldInvalid`/`FieldUnwanted`/`FieldItemCountOutOfRange`; tasks
//! then go `processing` → `success` with the MP4 served from `/results/…`.
//! Prompts pick the other scripts:
//!
//! | prompt contains | the mock |
//! |---|---|
//! | `moderate` | refuses the submit: 400 `TaskPromptPolicyViolation` |
//! | `busy` | refuses the submit: 429 `TooManyRequests` |
//! | `broke` | refuses the submit: 400 `CreditInsufficient` |
//! | `risky` | fails the task: `CreationPolicyViolation` |
//! | `doomed` | fails the task: `InternalServiceFailure` |
//! | `flaky` | answers the first poll 500 `InternalServiceFailure`, then goes on |
//! | `endless` | keeps the task `queueing`; cancel works (then `failed`/`UserCancelled`) |
//! | `scheduled` | keeps the task `processing`; cancel is refused with 400 |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_rehosted_mp4, cancel_to_end, credits, generate,
    generate_to_end, live_server, mp4_file, sample_mp4,
};
use crate::harness::{Server, ServerOptions};

const API_KEY: &str = "vda_e2e_key";
/// Vidu's current text2video list (viduq2 exists too; the adapter does not offer it).
const TEXT_MODELS: [&str; 4] = ["viduq3-turbo", "viduq3-pro", "viduq2", "viduq1"];
const IMAGE_MODELS: [&str; 5] = ["viduq3-turbo", "viduq3-pro", "viduq1", "vidu2.0", "vidu1.5"];
/// A 1×1 PNG, as users send it in a `data:` URI.
const PNG_DATA_URI: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

#[derive(Debug)]
struct Task {
    prompt: String,
    /// Seconds and pixels of the video it makes.
    duration_s: u32,
    size: (u32, u32),
    polls: u32,
    cancelled: bool,
}

#[derive(Default)]
struct Mock {
    /// The mock's own origin, for result URLs (set once it listens).
    origin: String,
    /// Tasks by id; ids count up from `812345678901230000` in creation order.
    tasks: HashMap<String, Task>,
}

/// The mock's state and the requests it accepted past authentication.
#[derive(Default)]
struct Shared {
    mock: Mutex<Mock>,
    recorder: Recorder,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Mock> {
        self.mock.lock().unwrap()
    }
}

/// A Vidu error answer: `{code, reason, message, metadata}`.
struct ViduError {
    status: u16,
    reason: &'static str,
    message: String,
}

fn vidu_error(status: u16, reason: &'static str, message: &str) -> ViduError {
    ViduError { status, reason, message: message.to_string() }
}

impl IntoResponse for ViduError {
    fn into_response(self) -> Response {
        let metadata = json!({ "trace_id": "trace-mock" });
        let body = json!({ "code": self.status, "reason": self.reason, "message": self.message, "metadata": metadata });
        (StatusCode::from_u16(self.status).unwrap(), axum::Json(body)).into_response()
    }
}

/// Vidu's check of `Authorization: Token <api_key>`.
fn check_token(headers: &HeaderMap) -> Result<(), ViduError> {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(value) if value == format!("Token {API_KEY}") => Ok(()),
        _ => Err(vidu_error(401, "Unauthorized", "invalid or missing API token")),
    }
}

/// Vidu's body checks for a create call; the 400 it answers otherwise.
fn check_create(endpoint: &str, body: &Value) -> Result<(), ViduError> {
    let invalid = |message: &str| Err(vidu_error(400, "FieldInvalid", message));
    let unwanted = |field: &str| Err(vidu_error(400, "FieldUnwanted", &format!("field {field} is not accepted here")));
    let models: &[&str] = if endpoint == "text2video" { &TEXT_MODELS } else { &IMAGE_MODELS };
    if !body["model"].as_str().is_some_and(|m| models.contains(&m)) {
        return invalid("model is invalid for this endpoint");
    }
    if !body["duration"].is_null() && !body["duration"].is_u64() {
        return invalid("duration must be an integer");
    }
    if !body["resolution"].is_null() && !matches!(body["resolution"].as_str(), Some("360p" | "540p" | "720p" | "1080p"))
    {
        return invalid("resolution is invalid");
    }
    if endpoint == "text2video" {
        if body["prompt"].as_str().is_none_or(str::is_empty) {
            return Err(vidu_error(400, "FieldLacking", "prompt is required"));
        }
        if !body["images"].is_null() {
            return unwanted("images");
        }
    } else {
        let images = body["images"].as_array().map(Vec::as_slice).unwrap_or_default();
        let [image] = images else {
            return Err(vidu_error(400, "FieldItemCountOutOfRange", "images must hold exactly 1 image"));
        };
        let image = image.as_str().unwrap_or_default();
        if !(image.starts_with("https://") || image.starts_with("data:image/")) {
            return invalid("images[0] must be a URL or a data:image/… base64 URI");
        }
        for field in ["aspect_ratio", "style"] {
            if !body[field].is_null() {
                return unwanted(field);
            }
        }
    }
    Ok(())
}

fn pixels(resolution: &str) -> (u32, u32) {
    match resolution {
        "360p" => (640, 360),
        "540p" => (960, 540),
        "1080p" => (1920, 1080),
        _ => (1280, 720),
    }
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if endpoint != "text2video" && endpoint != "img2video" {
        return vidu_error(404, "NotFound", "no such endpoint").into_response();
    }
    if let Err(refusal) = check_token(&headers) {
        return refusal.into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return vidu_error(400, "BadRequest", "invalid JSON").into_response();
    };
    shared.recorder.record("POST", format!("/ent/v2/{endpoint}"), &headers, body.clone());
    let mut mock = shared.lock();
    if let Err(refusal) = check_create(&endpoint, &body) {
        return refusal.into_response();
    }
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("moderate") {
        return vidu_error(400, "TaskPromptPolicyViolation", "the prompt violates the content policy").into_response();
    }
    if prompt.contains("busy") {
        return vidu_error(429, "TooManyRequests", "requests are too frequent").into_response();
    }
    if prompt.contains("broke") {
        return vidu_error(400, "CreditInsufficient", "not enough credits").into_response();
    }
    let id = format!("81234567890123{:04}", mock.tasks.len());
    let duration_s = body["duration"].as_u64().unwrap_or(4) as u32;
    let size = pixels(body["resolution"].as_str().unwrap_or("360p"));
    mock.tasks.insert(id.clone(), Task { prompt, duration_s, size, polls: 0, cancelled: false });
    let mut answer = body.clone();
    answer["task_id"] = json!(id);
    answer["state"] = json!("created");
    answer["credits"] = json!(10);
    answer["created_at"] = json!("2025-06-01T12:00:00.000000Z");
    axum::Json(answer).into_response()
}

async fn creations(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(refusal) = check_token(&headers) {
        return refusal.into_response();
    }
    shared.recorder.record("GET", format!("/ent/v2/tasks/{id}/creations"), &headers, Value::Null);
    let mut mock = shared.lock();
    let origin = mock.origin.clone();
    let Some(task) = mock.tasks.get_mut(&id) else {
        return vidu_error(404, "TaskNotFound", "task not found").into_response();
    };
    task.polls += 1;
    if task.prompt.contains("flaky") && task.polls == 1 {
        return vidu_error(500, "InternalServiceFailure", "please retry later").into_response();
    }
    let (state, err_code) = match task.prompt.as_str() {
        _ if task.cancelled => ("failed", "UserCancelled"),
        p if p.contains("risky") && task.polls > 1 => ("failed", "CreationPolicyViolation"),
        p if p.contains("doomed") && task.polls > 1 => ("failed", "InternalServiceFailure"),
        p if p.contains("endless") => ("queueing", ""),
        p if p.contains("scheduled") => ("processing", ""),
        _ if task.polls >= 2 + u32::from(task.prompt.contains("flaky")) => ("success", ""),
        _ => ("processing", ""),
    };
    let creations = match state {
        "success" => json!([{
            "id": format!("creation-{id}"),
            "url": format!("{origin}/results/{id}.mp4?X-Amz-Expires=3600"),
            "cover_url": format!("{origin}/results/{id}.jpeg?X-Amz-Expires=3600"),
        }]),
        _ => json!([]),
    };
    let answer = json!({
        "id": id, "state": state, "err_code": err_code, "credits": 10, "payload": "", "bgm": false,
        "off_peak": false, "creations": creations
    });
    axum::Json(answer).into_response()
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = check_token(&headers) {
        return refusal.into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    shared.recorder.record("POST", format!("/ent/v2/tasks/{id}/cancel"), &headers, body.clone());
    let mut mock = shared.lock();
    if body["id"] != id {
        return vidu_error(400, "FieldInvalid", "id does not match the task").into_response();
    }
    let Some(task) = mock.tasks.get_mut(&id) else {
        return vidu_error(404, "TaskNotFound", "task not found").into_response();
    };
    if !task.prompt.contains("endless") {
        return vidu_error(400, "BadRequest", "task state is scheduled, can not cancel").into_response();
    }
    task.cancelled = true;
    axum::Json(json!({})).into_response()
}

async fn result(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let mock = shared.lock();
    let task = file.strip_suffix(".mp4").and_then(|id| mock.tasks.get(id));
    mp4_file(task.map(|task| (task.size.0, task.size.1, task.duration_s * 1000)))
}

fn video_of((width, height): (u32, u32), duration_s: u32) -> Vec<u8> {
    sample_mp4(width, height, duration_s * 1000)
}

/// The mock, listening, and its shared state.
/// `GET /ent/v2/credits`: the remaining credits (the health check).
async fn credits_left(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = check_token(&headers) {
        return refusal.into_response();
    }
    shared.recorder.record("GET", "/ent/v2/credits", &headers, Value::Null);
    axum::Json(json!({ "remains": [{ "type": "metered", "credit_remain": 1200 }], "packages": [] })).into_response()
}

async fn start_mock() -> (MockVendor, Arc<Shared>) {
    let shared = Arc::new(Shared::default());
    let router = Router::new()
        .route("/ent/v2/{endpoint}", post(create))
        .route("/ent/v2/tasks/{id}/creations", get(creations))
        .route("/ent/v2/tasks/{id}/cancel", post(cancel))
        .route("/ent/v2/credits", get(credits_left))
        .route("/results/{file}", get(result))
        .with_state(shared.clone());
    let mock = MockVendor::start(router).await;
    shared.lock().origin = mock.base_url();
    (mock, shared)
}

/// A server whose `vidu` plugin talks to a fresh mock with the right key.
async fn vidu_server() -> (Server, String, MockVendor, Arc<Shared>) {
    let (mock, shared) = start_mock().await;
    let (server, key) = live_server("vidu", &mock, &[("api_key", API_KEY)]).await;
    (server, key, mock, shared)
}

/// The create calls whose prompt contains `needle`.
fn creates(shared: &Shared, needle: &str) -> Vec<Recorded> {
    shared.recorder.filter(|s| {
        s.method == "POST"
            && !s.path.ends_with("/cancel")
            && s.body["prompt"].as_str().is_some_and(|p| p.contains(needle))
    })
}

#[tokio::test]
async fn text_and_image_to_video_complete_with_the_token() {
    let (server, key, _mock, shared) = vidu_server().await;

    // Text to video with every default: Q3 Turbo, 5 s at 720p.
    let done = generate_to_end(&server, &key, "vidu", json!({ "text": "a red sneaker spinning" }), json!({})).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_eq!(done["creditCost"], 20);
    assert_rehosted_mp4(&server, &done, &video_of((1280, 720), 5)).await;
    assert_eq!(done["metadata"]["duration"], 5.0, "{done}");
    assert_eq!(done["metadata"]["resolution"], "1280x720", "{done}");
    let [create] = &creates(&shared, "red sneaker")[..] else { panic!("one create call") };
    assert_eq!(create.path, "/ent/v2/text2video");
    assert_eq!(
        create.body,
        json!({ "model": "viduq3-turbo", "prompt": "a red sneaker spinning", "duration": 5, "resolution": "720p" })
    );
    assert!(shared.recorder.count("GET", "/ent/v2/tasks/812345678901230000/creations") >= 2);

    // The portal's 8-second product clip, with the options Vidu has.
    let options = json!({ "duration": 8, "resolution": "1080p", "aspectRatio": "9:16", "seed": 7, "audio": false });
    let done = generate_to_end(&server, &key, "vidu", json!({ "text": "a watch on a marble table" }), options).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_eq!(done["creditCost"], 48);
    assert_rehosted_mp4(&server, &done, &video_of((1920, 1080), 8)).await;
    let [create] = &creates(&shared, "watch on a marble")[..] else { panic!("one create call") };
    assert_eq!(
        create.body,
        json!({
            "model": "viduq3-turbo", "prompt": "a watch on a marble table", "duration": 8, "resolution": "1080p",
            "aspect_ratio": "9:16", "seed": 7, "audio": false
        })
    );

    // Image to video from an https URL on Vidu 2.0.
    let url = "https://images.example.com/lantern.png";
    let input = json!({ "text": "lanterns rise", "image": url });
    let options = json!({ "model": "vidu2.0", "duration": 8, "motionIntensity": "small", "bgm": true });
    let done = generate_to_end(&server, &key, "vidu", input, options).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_eq!(done["creditCost"], 50);
    assert_rehosted_mp4(&server, &done, &video_of((1280, 720), 8)).await;
    let [create] = &creates(&shared, "lanterns rise")[..] else { panic!("one create call") };
    assert_eq!(create.path, "/ent/v2/img2video");
    assert_eq!(
        create.body,
        json!({
            "model": "vidu2.0", "images": [url], "prompt": "lanterns rise", "duration": 8, "resolution": "720p",
            "movement_amplitude": "small", "bgm": true
        })
    );

    // Image to video from a data: URI, passed on as one.
    let input = json!({ "text": "the lantern sways", "image": PNG_DATA_URI });
    let done = generate_to_end(&server, &key, "vidu", input, json!({ "model": "viduq1" })).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_eq!(done["creditCost"], 40);
    assert_rehosted_mp4(&server, &done, &video_of((1920, 1080), 5)).await;
    let [create] = &creates(&shared, "lantern sways")[..] else { panic!("one create call") };
    assert_eq!(create.body["images"], json!([PNG_DATA_URI]));
    assert_eq!((&create.body["duration"], &create.body["resolution"]), (&json!(5), &json!("1080p")));
}

#[tokio::test]
async fn vendor_failures_reach_their_public_codes() {
    let (server, key, _mock, shared) = vidu_server().await;
    let run = |prompt: &'static str| {
        let (server, key) = (&server, &key);
        async move { generate_to_end(server, key, "vidu", json!({ "text": prompt }), json!({})).await }
    };
    let (moderated, busy, broke, risky, doomed, flaky) = tokio::join!(
        run("moderate me"),
        run("busy hour"),
        run("broke account"),
        run("risky scene"),
        run("doomed scene"),
        run("flaky network")
    );

    assert_failed(
        &moderated,
        "GENERATION_FAILED",
        &["TaskPromptPolicyViolation: the prompt violates the content policy"],
    );
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["TooManyRequests: requests are too frequent"]);
    assert_eq!(creates(&shared, "busy hour").len(), 3, "a rate limit is retried (3 attempts)");
    assert_failed(&broke, "PROVIDER_UNAVAILABLE", &["CreditInsufficient: not enough credits"]);
    assert_eq!(creates(&shared, "broke account").len(), 1, "billing refusals are not retried");
    assert_failed(&risky, "GENERATION_FAILED", &["failed: CreationPolicyViolation"]);
    assert_failed(&doomed, "GENERATION_FAILED", &["failed: InternalServiceFailure"]);
    assert_eq!(flaky["status"], "COMPLETED", "a 5xx while polling is retried: {flaky}\n{}", server.log());
    assert_eq!(credits(&server, &key).await, 100_000 - 20, "only the completed job is charged");
}

#[tokio::test]
async fn impossible_requests_are_refused_before_any_job() {
    let (server, key, _mock, shared) = vidu_server().await;
    let cases = [
        (json!({ "model": "viduq1", "duration": 8 }), "option `duration` must be one of 5; got 8 (model `viduq1`)"),
        (
            json!({ "model": "vidu1.5", "duration": 8, "resolution": "1080p" }),
            "option `resolution` must be one of 720p for a 8 s clip; got 1080p (model `vidu1.5`)",
        ),
        (json!({ "model": "vidu1.5" }), "only animates images"),
        (json!({ "resolution": "360p" }), "option `resolution` must be one of 540p, 720p, 1080p"),
        (json!({ "model": "viduq1", "aspectRatio": "4:3" }), "option `aspectRatio` must be one of 16:9, 9:16, 1:1"),
        (json!({ "model": "vidu2.0" }), "only animates images"),
        (json!({ "bgm": true }), "option `bgm` is only available with model viduq1, vidu2.0, vidu1.5"),
        (
            json!({ "model": "vidu1.5", "audio": true }),
            "option `audio` is only available with model viduq3-turbo, viduq3-pro",
        ),
        (json!({ "style": "cinematic" }), r#"must be one of "general", "anime""#),
        (json!({ "motionIntensity": "high" }), r#"must be one of "auto", "small", "medium", "large""#),
        (json!({ "duration": 20 }), "must be between 1 and 16"),
        (json!({ "negativePrompt": "blur" }), "option `negativePrompt` is not supported by provider `vidu`"),
    ];
    // Test keys are quoted by the plugin too; their plan allows 10 writes a
    // minute, so they try the first three cases only.
    for (i, (options, needle)) in cases.into_iter().enumerate() {
        let callers = if i < 3 { vec![&key, &server.key] } else { vec![&key] };
        for caller in callers {
            let error = generate(&server, caller, "vidu", json!({ "text": "a cat" }), options.clone())
                .await
                .expect_err("refused");
            assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains(needle), "{options}: {message:?} should contain {needle:?}");
        }
    }
    let input = json!({ "text": "a cat", "image": "https://images.example.com/cat.png" });
    let error = generate(&server, &key, "vidu", input, json!({ "aspectRatio": "1:1" })).await.expect_err("refused");
    assert!(error["message"].as_str().unwrap().contains("applies to text-to-video only"), "{error}");

    let (_, _, body) = server.post(Some(&key), "{ generations { nodes { id } } }", json!({}), &[]).await;
    assert_eq!(body["data"]["generations"]["nodes"], json!([]), "no job was created");
    assert!(shared.recorder.requests().is_empty(), "Vidu was never called");
}

#[tokio::test]
async fn cancel_refunds_queued_tasks_and_reports_refusals() {
    let (server, key, _mock, shared) = vidu_server().await;
    let polled = |path: &'static str| move |s: &Recorded| s.method == "GET" && s.path == path;

    // A queued task: Vidu cancels it and charges nothing.
    let accepted = generate(&server, &key, "vidu", json!({ "text": "an endless queue" }), json!({})).await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_string();
    shared.recorder.wait_for("the first poll", polled("/ent/v2/tasks/812345678901230000/creations")).await;
    let done = cancel_to_end(&server, &key, &id).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    let [call] = &shared.recorder.filter(|s| s.path.ends_with("/cancel"))[..] else { panic!("one cancel call") };
    assert_eq!(
        (call.path.as_str(), &call.body),
        ("/ent/v2/tasks/812345678901230000/cancel", &json!({ "id": "812345678901230000" }))
    );
    assert_eq!(credits(&server, &key).await, 100_000, "fully refunded");

    // A task already scheduled: Vidu refuses, and the job runs on.
    let accepted = generate(&server, &key, "vidu", json!({ "text": "scheduled already" }), json!({})).await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_string();
    shared.recorder.wait_for("the first poll", polled("/ent/v2/tasks/812345678901230001/creations")).await;
    let body = super::cancel(&server, &key, &id).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert!(error["message"].as_str().unwrap().contains("task state is scheduled, can not cancel"), "{body}");
    let (_, _, body) =
        server.post(Some(&key), "query($id: ID!) { generation(id: $id) { status } }", json!({ "id": id }), &[]).await;
    assert_eq!(body["data"]["generation"]["status"], "PROCESSING", "{body}");
}

#[tokio::test]
async fn credentials_are_checked_and_required() {
    // A wrong key: Vidu answers 401.
    let (mock, shared) = start_mock().await;
    let (server, key) = live_server("vidu", &mock, &[("api_key", "vda_wrong")]).await;
    let done = generate_to_end(&server, &key, "vidu", json!({ "text": "a cat" }), json!({})).await;
    assert_failed(&done, "PROVIDER_UNAVAILABLE", &["Unauthorized: invalid or missing API token"]);
    assert!(shared.recorder.requests().is_empty(), "nothing was accepted");
    drop(server);

    // No key: unavailable for live keys, test keys still work.
    let (server, key) = live_server("vidu", &mock, &[]).await;
    let query = "{ providers(type: VIDEO) { id available unavailableReason pricing { creditCost estimatedTime } options { name default } } }";
    let data = server.gql(query, json!({})).await;
    let provider = data["providers"].as_array().unwrap().iter().find(|p| p["id"] == "vidu").expect("vidu is listed");
    assert_eq!(provider["available"], false, "{provider}");
    assert!(provider["unavailableReason"].as_str().unwrap().contains("api_key"), "{provider}");
    assert_eq!(provider["pricing"], json!({ "creditCost": 20, "estimatedTime": 60 }));
    let model = provider["options"].as_array().unwrap().iter().find(|o| o["name"] == "model").unwrap();
    assert_eq!(model["default"], "viduq3-turbo");

    let error = generate(&server, &key, "vidu", json!({ "text": "a cat" }), json!({})).await.expect_err("refused");
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert!(error["message"].as_str().unwrap().contains("api_key"), "{error}");

    let test_mode = generate_to_end(&server, &server.key, "vidu", json!({ "text": "a cat" }), json!({})).await;
    assert_eq!((&test_mode["status"], &test_mode["provider"]), (&json!("COMPLETED"), &json!("vidu")), "{test_mode}");
    assert!(shared.recorder.requests().is_empty(), "test keys never reach Vidu");
}

/// A server whose `vidu` plugin talks to a fresh mock, with the operator's
/// `[plugins.vidu] settings` (a TOML inline table's body).
async fn vidu_server_with_settings(settings: &str) -> (Server, String, MockVendor, Arc<Shared>) {
    let (mock, shared) = start_mock().await;
    let env = vec![
        ("DOITONG_PLUGINS_VIDU_BASE_URL".to_string(), mock.base_url()),
        ("DOITONG_PLUGINS_VIDU_ALLOW_PRIVATE".into(), "true".into()),
        ("DOITONG_JOBS_MIN_POLL_INTERVAL_MS".into(), "50".into()),
        ("DOITONG_JOBS_MAX_POLL_INTERVAL_MS".into(), "200".into()),
        ("DOITONG_SECRET_VIDU_API_KEY".into(), API_KEY.into()),
    ];
    let config_toml = format!("[plugins.vidu]\nsettings = {{ {settings} }}\n");
    let server = Server::start_with(ServerOptions { env, config_toml: Some(config_toml), ..Default::default() }).await;
    let (_, key) = server.account_with_key("live", 100_000, false);
    (server, key, mock, shared)
}

/// `vidu1.5` text-to-video, named by a stale operator setting, is refused
/// by Vidu ("model is invalid"): the job fails `PROVIDER_UNAVAILABLE`
/// (model unavailable), not retried; the setting reaches Vidu's `model`.
#[tokio::test]
async fn settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (server, key, _mock, shared) =
        vidu_server_with_settings(r#""model.vidu" = "vidu1.5", "model.vidu.viduq1" = "viduq3-pro""#).await;
    let (retired, moved) = tokio::join!(
        generate_to_end(&server, &key, "vidu", json!({ "text": "an old model" }), json!({})),
        generate_to_end(&server, &key, "vidu", json!({ "text": "a moved model" }), json!({ "model": "viduq1" })),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["model is invalid"]);
    let [old] = &creates(&shared, "old model")[..] else { panic!("one create call, not retried") };
    assert_eq!((old.path.as_str(), old.body["model"].as_str()), ("/ent/v2/text2video", Some("vidu1.5")));
    let [new] = &creates(&shared, "moved model")[..] else { panic!("one create call") };
    assert_eq!(new.body["model"], "viduq3-pro");
    // viduq1's options went with it (1080p, 5 s); Vidu's Q3 Pro takes them.
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
}
