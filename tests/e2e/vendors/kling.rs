//! A mock of Kling's API (the legacy `/v1/videos/…` endpoints) and the
//! `kling` adapter's end-to-end tests through the real server.
//!
//! The mock follows `shared/vendors/kling.md`: it verifies the HS256 JWT
//! of every request (signature with the secret key, `iss` = access key,
//! `nbf`/`exp`) and answers 401 with Kling's codes 1001–1004 otherwise;
//! checks the body (`model_name`, `prompt`, `duration` as a string, `mode`,
//! `aspect_ratio`, `image` as a URL or bare base64) and answers 400/1201 to
//! anything else; then runs a task `submitted` → `processing` → `succeed`
//! with the MP4 served from `/results/…`. Prompts pick the other scripts:
//!
//! | prompt contains | the mock |
//! |---|---|
//! | `moderate` | refuses the submit: 400, code 1301 (content safety) |
//! | `busy` | refuses the submit: 429, code 1302 (rate limit) |
//! | `broke` | refuses the submit: 429, code 1102 (resource pack used up) |
//! | `risky` | fails the task: "Failure to pass the risk control system" |
//! | `doomed` | fails the task: "Internal error, please try again" |
//! | `flaky` | answers the first poll 500, code 5000, then goes on |
//! | `endless` | keeps the task `processing` |
//! | `lost` | creates the task but answers the first create 500, code 5000 (an answer lost on the way) |
//!
//! Models: the mock serves what Kling's 2026 capability map lists for the
//! legacy API (`kling-v2-5-turbo`, `kling-v2-6`, `kling-v3`); any other
//! `model_name` gets 404, code 1203 ("the requested resource does not
//! exist, such as the model"). `external_task_id` must be unique per
//! account: a second create with the same one gets 400, code 1201
//! ("external_task_id already exists"; Kling's exact text is unverified),
//! and a task can be queried by it in the path. `GET /account/costs` (the
//! adapter's health check) answers the resource packs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_rehosted_mp4, cancel_to_end, credits, generate,
    generate_to_end, live_server, mp4_file, sample_mp4,
};
use crate::harness::{Server, ServerOptions};

const ACCESS_KEY: &str = "ak-e2e-kling";
const SECRET_KEY: &str = "sk-e2e-kling";
const MODELS: [&str; 3] = ["kling-v2-5-turbo", "kling-v2-6", "kling-v3"];
/// A 1×1 PNG, as users send it in a `data:` URI.
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

#[derive(Debug)]
struct Task {
    endpoint: String,
    prompt: String,
    /// Seconds and pixels of the video it makes.
    duration_s: u32,
    size: (u32, u32),
    polls: u32,
}

#[derive(Default)]
struct Mock {
    /// The mock's own origin, for result URLs (set once it listens).
    origin: String,
    /// Tasks by id; ids count up from `862014559871620000` in creation order.
    tasks: HashMap<String, Task>,
    /// Task ids by `external_task_id` (unique per account).
    external: HashMap<String, String>,
    /// Create calls of `lost` prompts already answered with a 500.
    lost_answers: u32,
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

/// A Kling error answer: `{code, message, request_id}` with its HTTP status.
struct KlingError {
    status: u16,
    code: i64,
    message: String,
}

fn kling_error(status: u16, code: i64, message: &str) -> KlingError {
    KlingError { status, code, message: message.to_string() }
}

impl IntoResponse for KlingError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message, "request_id": "req-mock" });
        (StatusCode::from_u16(self.status).unwrap(), axum::Json(body)).into_response()
    }
}

fn kling_ok(data: Value) -> Response {
    axum::Json(json!({ "code": 0, "message": "SUCCEED", "request_id": "req-mock", "data": data })).into_response()
}

/// Kling's check of `Authorization: Bearer <HS256 JWT>`: the claims, or
/// the 401 Kling answers.
fn verify_jwt(headers: &HeaderMap) -> Result<Value, KlingError> {
    let invalid = |code, message| Err(kling_error(401, code, message));
    let Some(authorization) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return invalid(1001, "Authorization is empty");
    };
    let Some(token) = authorization.strip_prefix("Bearer ") else {
        return invalid(1002, "Authorization is invalid");
    };
    let [header, claims, signature] = token.split('.').collect::<Vec<_>>()[..] else {
        return invalid(1002, "Authorization is invalid");
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    if decode(header) != Some(json!({ "alg": "HS256", "typ": "JWT" })) {
        return invalid(1002, "Authorization is invalid");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET_KEY.as_bytes()).unwrap();
    mac.update(format!("{header}.{claims}").as_bytes());
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if mac.verify_slice(&signature).is_err() {
        return invalid(1002, "Authorization is invalid: signature verification failed");
    }
    let Some(claims) = decode(claims) else { return invalid(1002, "Authorization is invalid") };
    if claims["iss"] != ACCESS_KEY {
        return invalid(1002, "Authorization is invalid: unknown access key");
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if claims["nbf"].as_u64().is_none_or(|nbf| nbf > now) {
        return invalid(1003, "Authorization is not yet valid");
    }
    if claims["exp"].as_u64().is_none_or(|exp| exp <= now) {
        return invalid(1004, "Authorization has expired");
    }
    Ok(claims)
}

/// Kling's body checks for a create call; the 400 it answers otherwise.
fn check_create(endpoint: &str, body: &Value) -> Result<(), KlingError> {
    let bad = |message: &str| Err(kling_error(400, 1201, message));
    if !body["model_name"].as_str().is_some_and(|m| MODELS.contains(&m)) {
        return Err(kling_error(404, 1203, &format!("model is not supported: {}", body["model_name"])));
    }
    if !matches!(body["duration"].as_str(), Some("5" | "10")) {
        return bad("duration must be the string \"5\" or \"10\"");
    }
    if !body["mode"].is_null() && !matches!(body["mode"].as_str(), Some("std" | "pro")) {
        return bad("mode must be std or pro");
    }
    match endpoint {
        "text2video" => {
            if !body["prompt"].as_str().is_some_and(|p| !p.is_empty() && p.chars().count() <= 2500) {
                return bad("prompt is required");
            }
            if !body["aspect_ratio"].is_null()
                && !matches!(body["aspect_ratio"].as_str(), Some("16:9" | "9:16" | "1:1"))
            {
                return bad("aspect_ratio is invalid");
            }
            if !body["image"].is_null() {
                return bad("image is not a text2video parameter");
            }
        }
        _ => {
            let image = body["image"].as_str().unwrap_or_default();
            let is_url = image.starts_with("https://") || image.starts_with("http://");
            if !is_url && STANDARD.decode(image).is_err() {
                return bad("image must be a URL or Base64 without a data: prefix");
            }
            if !body["aspect_ratio"].is_null() {
                return bad("aspect_ratio is not an image2video parameter");
            }
        }
    }
    Ok(())
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if endpoint != "text2video" && endpoint != "image2video" {
        return kling_error(404, 1202, "invalid request method").into_response();
    }
    if let Err(refusal) = verify_jwt(&headers) {
        return refusal.into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return kling_error(400, 1200, "invalid JSON").into_response();
    };
    shared.recorder.record("POST", format!("/v1/videos/{endpoint}"), &headers, body.clone());
    let mut mock = shared.lock();
    if let Err(refusal) = check_create(&endpoint, &body) {
        return refusal.into_response();
    }
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("moderate") {
        return kling_error(400, 1301, "Content security policy triggered").into_response();
    }
    if prompt.contains("busy") {
        return kling_error(429, 1302, "Too many requests, please try again later").into_response();
    }
    if prompt.contains("broke") {
        return kling_error(429, 1102, "Resource pack exhausted").into_response();
    }
    let external = body["external_task_id"].as_str().map(str::to_string);
    if let Some(external) = &external
        && mock.external.contains_key(external)
    {
        return kling_error(400, 1201, "external_task_id already exists").into_response();
    }
    let id = format!("86201455987162{:04}", mock.tasks.len());
    let size = if body["mode"] == "pro" { (1920, 1080) } else { (1280, 720) };
    let duration_s = body["duration"].as_str().unwrap().parse().unwrap();
    let lost = prompt.contains("lost") && mock.lost_answers == 0;
    mock.tasks.insert(id.clone(), Task { endpoint, prompt, duration_s, size, polls: 0 });
    if let Some(external) = &external {
        mock.external.insert(external.clone(), id.clone());
    }
    if lost {
        mock.lost_answers += 1;
        return kling_error(500, 5000, "Server internal error").into_response();
    }
    let task_info = match &external {
        Some(external) => json!({ "external_task_id": external }),
        None => json!({}),
    };
    kling_ok(
        json!({ "task_id": id, "task_status": "submitted", "task_info": task_info, "created_at": 1, "updated_at": 1 }),
    )
}

async fn query(
    State(shared): State<Arc<Shared>>,
    Path((endpoint, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = verify_jwt(&headers) {
        return refusal.into_response();
    }
    shared.recorder.record("GET", format!("/v1/videos/{endpoint}/{id}"), &headers, Value::Null);
    let mut mock = shared.lock();
    let origin = mock.origin.clone();
    // The path takes Kling's task id or the caller's external_task_id.
    let id = mock.external.get(&id).cloned().unwrap_or(id);
    let Some(task) = mock.tasks.get_mut(&id).filter(|t| t.endpoint == endpoint) else {
        return kling_error(404, 1203, "task not found").into_response();
    };
    task.polls += 1;
    if task.prompt.contains("flaky") && task.polls == 1 {
        return kling_error(500, 5000, "Server internal error").into_response();
    }
    let (status, message) = match task.prompt.as_str() {
        p if p.contains("risky") && task.polls > 1 => ("failed", "Failure to pass the risk control system"),
        p if p.contains("doomed") && task.polls > 1 => ("failed", "Internal error, please try again"),
        p if p.contains("endless") => ("processing", ""),
        _ if task.polls >= 2 + u32::from(task.prompt.contains("flaky")) => ("succeed", ""),
        _ => ("processing", ""),
    };
    let mut data = json!({
        "task_id": id, "task_status": status, "task_status_msg": message, "task_info": {},
        "created_at": 1, "updated_at": 2
    });
    if status == "succeed" {
        data["task_result"] = json!({ "videos": [{
            "id": format!("video-{id}"),
            "url": format!("{origin}/results/{id}.mp4"),
            "duration": format!("{}.0", task.duration_s),
        }] });
        data["final_unit_deduction"] = json!("1.5");
    }
    kling_ok(data)
}

/// `GET /account/costs?start_time=…&end_time=…`: the resource packs (free).
async fn costs(
    State(shared): State<Arc<Shared>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = verify_jwt(&headers) {
        return refusal.into_response();
    }
    let query = query.unwrap_or_default();
    shared.recorder.record("GET", format!("/account/costs?{query}"), &headers, Value::Null);
    if !(query.contains("start_time=") && query.contains("end_time=")) {
        return kling_error(400, 1201, "start_time and end_time are required").into_response();
    }
    kling_ok(json!({ "code": 0, "msg": "", "resource_pack_subscribe_infos": [{
        "resource_pack_name": "Video Generation - 1,000 units", "resource_pack_id": "509f3fd3",
        "resource_pack_type": "decreasing_total", "total_quantity": 1000.0, "remaining_quantity": 812.5,
        "purchase_time": 1, "effective_time": 1, "invalid_time": 4_102_444_800_000u64, "status": "online"
    }] }))
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
async fn start_mock() -> (MockVendor, Arc<Shared>) {
    let shared = Arc::new(Shared::default());
    let router = Router::new()
        .route("/v1/videos/{endpoint}", post(create))
        .route("/v1/videos/{endpoint}/{id}", get(query))
        .route("/account/costs", get(costs))
        .route("/results/{file}", get(result))
        .with_state(shared.clone());
    let mock = MockVendor::start(router).await;
    shared.lock().origin = mock.base_url();
    (mock, shared)
}

/// A server whose `kling` plugin talks to a fresh mock with the right keys.
async fn kling_server() -> (Server, String, MockVendor, Arc<Shared>) {
    let (mock, shared) = start_mock().await;
    let (server, key) = live_server("kling", &mock, &[("access_key", ACCESS_KEY), ("secret_key", SECRET_KEY)]).await;
    (server, key, mock, shared)
}

/// The create calls whose prompt contains `needle`.
fn creates(shared: &Shared, needle: &str) -> Vec<Recorded> {
    shared.recorder.filter(|s| s.method == "POST" && s.body["prompt"].as_str().is_some_and(|p| p.contains(needle)))
}

/// The JWT claims a recorded request was signed with.
fn claims(request: &Recorded) -> Value {
    verify_jwt(&request.headers).unwrap_or_else(|_| panic!("a verified token: {request:?}"))
}

#[tokio::test]
async fn text_and_image_to_video_complete_with_signed_requests() {
    let (server, key, _mock, shared) = kling_server().await;

    // Text to video with every default.
    let done = generate_to_end(&server, &key, "kling", json!({ "text": "a paper boat in the rain" }), json!({})).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_eq!(done["creditCost"], 21);
    assert_rehosted_mp4(&server, &done, &video_of((1280, 720), 5)).await;
    assert_eq!(done["metadata"]["duration"], 5.0, "{done}");
    assert_eq!(done["metadata"]["resolution"], "1280x720", "{done}");
    let [create] = &creates(&shared, "paper boat")[..] else { panic!("one create call") };
    assert_eq!(create.path, "/v1/videos/text2video");
    assert_eq!(
        create.body,
        json!({
            "model_name": "kling-v2-5-turbo", "prompt": "a paper boat in the rain", "mode": "std", "duration": "5",
            "external_task_id": done["id"]
        })
    );
    assert!(done["id"].as_str().is_some_and(|id| !id.is_empty()), "the generation id is Kling's external_task_id");
    let claims = claims(create);
    assert_eq!(claims["iss"], ACCESS_KEY);
    let lifetime = claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap();
    assert_eq!(lifetime, 1805, "30 minutes ahead, 5 s back");
    assert!(shared.recorder.count("GET", "/v1/videos/text2video/862014559871620000") >= 2);

    // Image to video from an https URL: `kling-animation` needs no prompt.
    let url = "https://images.example.com/lantern.png";
    let done = generate_to_end(
        &server,
        &key,
        "kling-animation",
        json!({ "image": url }),
        json!({ "model": "kling-v2-5-turbo", "mode": "pro" }),
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_rehosted_mp4(&server, &done, &video_of((1920, 1080), 5)).await;
    let create =
        shared.recorder.requests().into_iter().find(|s| s.body["image"] == url).expect("the image create call");
    assert_eq!(create.path, "/v1/videos/image2video");
    assert_eq!(
        create.body,
        json!({ "model_name": "kling-v2-5-turbo", "image": url, "mode": "pro", "duration": "5", "external_task_id": done["id"] })
    );
    assert!(shared.recorder.count("GET", "/v1/videos/image2video/862014559871620001") >= 2, "polled on image2video");

    // Image to video from a data: URI goes as bare base64.
    let done = generate_to_end(
        &server,
        &key,
        "kling",
        json!({ "text": "the lantern sways", "image": format!("data:image/png;base64,{PNG_BASE64}") }),
        json!({ "duration": 10 }),
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    assert_rehosted_mp4(&server, &done, &video_of((1280, 720), 10)).await;
    let [create] = &creates(&shared, "lantern sways")[..] else { panic!("one create call") };
    assert_eq!(create.path, "/v1/videos/image2video");
    assert_eq!(create.body["image"], PNG_BASE64);
    assert_eq!(create.body["duration"], "10");
}

#[tokio::test]
async fn portal_snippet_runs_with_test_and_live_keys() {
    let (server, key, _mock, shared) = kling_server().await;
    let input = json!({ "text": "Epic space battle scene" });
    let options = json!({ "mode": "pro", "duration": 10, "aspectRatio": "16:9" });

    let test_mode = generate_to_end(&server, &server.key, "kling", input.clone(), options.clone()).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 70);
    assert!(creates(&shared, "space battle").is_empty(), "test keys never reach Kling");

    let live = generate_to_end(&server, &key, "kling", input, options).await;
    assert_eq!(live["status"], "COMPLETED", "{live}\n{}", server.log());
    assert_eq!(live["creditCost"], 70);
    assert_rehosted_mp4(&server, &live, &video_of((1920, 1080), 10)).await;
    let [create] = &creates(&shared, "space battle")[..] else { panic!("one create call") };
    assert_eq!(
        create.body,
        json!({
            "model_name": "kling-v2-5-turbo", "prompt": "Epic space battle scene", "aspect_ratio": "16:9",
            "mode": "pro", "duration": "10", "external_task_id": live["id"]
        })
    );
}

#[tokio::test]
async fn vendor_failures_reach_their_public_codes() {
    let (server, key, _mock, shared) = kling_server().await;
    let run = |prompt: &'static str| {
        let (server, key) = (&server, &key);
        async move { generate_to_end(server, key, "kling", json!({ "text": prompt }), json!({})).await }
    };
    let (moderated, busy, broke, risky, doomed, flaky) = tokio::join!(
        run("moderate me"),
        run("busy hour"),
        run("broke account"),
        run("risky scene"),
        run("doomed scene"),
        run("flaky network")
    );

    assert_failed(&moderated, "GENERATION_FAILED", &["code 1301: Content security policy triggered"]);
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["code 1302: Too many requests"]);
    assert_eq!(creates(&shared, "busy hour").len(), 3, "a rate limit is retried (3 attempts)");
    assert_failed(&broke, "PROVIDER_UNAVAILABLE", &["code 1102: Resource pack exhausted"]);
    assert_eq!(creates(&shared, "broke account").len(), 1, "billing refusals are not retried");
    assert_failed(&risky, "GENERATION_FAILED", &["Failure to pass the risk control system"]);
    assert_failed(&doomed, "GENERATION_FAILED", &["Internal error, please try again"]);
    assert_eq!(flaky["status"], "COMPLETED", "a 5xx while polling is retried: {flaky}\n{}", server.log());

    // Credits of every failure were refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 21);
}

#[tokio::test]
async fn impossible_requests_are_refused_before_any_job() {
    let (server, key, _mock, shared) = kling_server().await;
    let cases = [
        (json!({ "model": "kling-v2-1-master" }), r#"must be one of "kling-v2-5-turbo", "kling-v2-6", "kling-v3""#),
        (json!({ "model": "kling-v1" }), r#"must be one of "kling-v2-5-turbo", "kling-v2-6", "kling-v3""#),
        (json!({ "sound": true }), "option `sound` is only available with model kling-v2-6, kling-v3"),
        (json!({ "model": "kling-v2-6", "sound": true }), "allowed values of mode with sound: pro"),
        (json!({ "cfgScale": 0.3 }), "option `cfgScale` is not supported by provider `kling`"),
        (json!({ "duration": 8 }), "must be one of 5, 10"),
        (json!({ "mode": "max" }), r#"must be one of "std", "pro""#),
        (json!({ "resolution": "1080p" }), "option `resolution` is not supported by provider `kling`"),
        (json!({ "style": "cinematic" }), "option `style` is not supported by provider `kling`"),
    ];
    // Test keys are quoted by the plugin too; their plan allows 10 writes a
    // minute, so they try the first three cases only.
    for (i, (options, needle)) in cases.into_iter().enumerate() {
        let callers = if i < 3 { vec![&key, &server.key] } else { vec![&key] };
        for caller in callers {
            let error = generate(&server, caller, "kling", json!({ "text": "a cat" }), options.clone())
                .await
                .expect_err("refused");
            assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains(needle), "{options}: {message:?} should contain {needle:?}");
        }
    }
    let image_with_ratio = generate(
        &server,
        &key,
        "kling",
        json!({ "text": "a cat", "image": "https://images.example.com/cat.png" }),
        json!({ "aspectRatio": "9:16" }),
    )
    .await
    .expect_err("refused");
    assert!(image_with_ratio["message"].as_str().unwrap().contains("image-to-video keeps the image's aspect ratio"));

    let (_, _, body) = server.post(Some(&key), "{ generations { nodes { id } } }", json!({}), &[]).await;
    assert_eq!(body["data"]["generations"]["nodes"], json!([]), "no job was created");
    assert!(shared.recorder.requests().is_empty(), "Kling was never called");
}

#[tokio::test]
async fn cancelling_stops_waiting_and_refunds_nothing() {
    let (server, key, _mock, shared) = kling_server().await;
    let accepted = generate(&server, &key, "kling", json!({ "text": "an endless river" }), json!({})).await.unwrap();
    let id = accepted["id"].as_str().unwrap();
    // Once Kling has been polled, the job holds the task's handle.
    let polled = |s: &Recorded| s.method == "GET" && s.path == "/v1/videos/text2video/862014559871620000";
    shared.recorder.wait_for("the first poll", polled).await;
    let done = cancel_to_end(&server, &key, id).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    // Kling has no cancel endpoint and bills the task: no refund.
    assert_eq!(credits(&server, &key).await, 100_000 - 21);
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_by_kling() {
    let (mock, shared) = start_mock().await;
    let (server, key) =
        live_server("kling", &mock, &[("access_key", ACCESS_KEY), ("secret_key", "not-the-secret")]).await;
    let done = generate_to_end(&server, &key, "kling", json!({ "text": "a cat" }), json!({})).await;
    assert_failed(&done, "PROVIDER_UNAVAILABLE", &["code 1002: Authorization is invalid"]);
    assert!(shared.recorder.requests().is_empty(), "nothing was accepted");
}

#[tokio::test]
async fn missing_secrets_make_kling_unavailable_but_test_keys_work() {
    let (mock, _shared) = start_mock().await;
    let (server, key) = live_server("kling", &mock, &[("access_key", ACCESS_KEY)]).await;
    let data = server
        .gql("{ providers(type: VIDEO) { id available unavailableReason pricing { creditCost } options { name allowedValues default } } }", json!({}))
        .await;
    for id in ["kling", "kling-animation"] {
        let provider = data["providers"].as_array().unwrap().iter().find(|p| p["id"] == id).expect(id);
        assert_eq!(provider["available"], false, "{provider}");
        assert!(provider["unavailableReason"].as_str().unwrap().contains("secret_key"), "{provider}");
        assert_eq!(provider["pricing"]["creditCost"], 21);
        let model = provider["options"].as_array().unwrap().iter().find(|o| o["name"] == "model").unwrap();
        assert_eq!(model["default"], "kling-v2-5-turbo");
        assert_eq!(model["allowedValues"], json!(["kling-v2-5-turbo", "kling-v2-6", "kling-v3"]));
    }

    let error = generate(&server, &key, "kling", json!({ "text": "a cat" }), json!({})).await.expect_err("refused");
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert!(error["message"].as_str().unwrap().contains("secret_key"), "{error}");

    let test_mode = generate_to_end(&server, &server.key, "kling", json!({ "text": "a cat" }), json!({})).await;
    assert_eq!((&test_mode["status"], &test_mode["provider"]), (&json!("COMPLETED"), &json!("kling")), "{test_mode}");
}

/// A server whose `kling` plugin talks to a fresh mock, with the
/// operator's `[plugins.kling] settings` (a TOML inline table's body).
async fn kling_server_with_settings(settings: &str) -> (Server, String, MockVendor, Arc<Shared>) {
    let (mock, shared) = start_mock().await;
    let env = vec![
        ("DOITONG_PLUGINS_KLING_BASE_URL".to_string(), mock.base_url()),
        ("DOITONG_PLUGINS_KLING_ALLOW_PRIVATE".into(), "true".into()),
        ("DOITONG_JOBS_MIN_POLL_INTERVAL_MS".into(), "50".into()),
        ("DOITONG_JOBS_MAX_POLL_INTERVAL_MS".into(), "200".into()),
        ("DOITONG_SECRET_KLING_ACCESS_KEY".into(), ACCESS_KEY.into()),
        ("DOITONG_SECRET_KLING_SECRET_KEY".into(), SECRET_KEY.into()),
    ];
    let config_toml = format!("[plugins.kling]\nsettings = {{ {settings} }}\n");
    let server = Server::start_with(ServerOptions { env, config_toml: Some(config_toml), ..Default::default() }).await;
    let (_, key) = server.account_with_key("live", 100_000, false);
    (server, key, mock, shared)
}

/// A model Kling no longer serves (named by a stale operator setting) is
/// code 1203: the job fails `PROVIDER_UNAVAILABLE`, not retried, and the
/// setting reaches Kling as `model_name`; another setting moves kling-v2-6
/// to kling-v3.
#[tokio::test]
async fn settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (server, key, _mock, shared) =
        kling_server_with_settings(r#""model.kling" = "kling-v1-6", "model.kling.kling-v2-6" = "kling-v3""#).await;
    let (retired, moved) = tokio::join!(
        generate_to_end(&server, &key, "kling", json!({ "text": "an old model" }), json!({})),
        generate_to_end(&server, &key, "kling", json!({ "text": "a moved model" }), json!({ "model": "kling-v2-6" })),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["code 1203", "model is not supported"]);
    let [old] = &creates(&shared, "old model")[..] else { panic!("one create call, not retried") };
    assert_eq!(old.body["model_name"], "kling-v1-6");
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    let [new] = &creates(&shared, "moved model")[..] else { panic!("one create call") };
    assert_eq!((new.body["model_name"].as_str(), new.body["sound"].as_str()), (Some("kling-v3"), Some("off")));
}

/// A create whose answer is lost (Kling made the task, we saw a 500) is
/// retried with the same `external_task_id`; Kling refuses the duplicate
/// and the adapter takes up the task it made, so there is one task only.
#[tokio::test]
async fn a_retried_submit_takes_up_the_task_kling_already_made() {
    let (server, key, _mock, shared) = kling_server().await;
    let done = generate_to_end(&server, &key, "kling", json!({ "text": "a lost answer" }), json!({})).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    let attempts = creates(&shared, "lost answer");
    assert_eq!(attempts.len(), 2, "the submit was retried once: {attempts:?}");
    assert!(attempts.iter().all(|a| a.body["external_task_id"] == done["id"]), "{attempts:?}");
    assert_eq!(shared.lock().tasks.len(), 1, "Kling has one task");
    let by_external = format!("/v1/videos/text2video/{}", done["id"].as_str().unwrap());
    assert_eq!(shared.recorder.count("GET", &by_external), 1, "the task was looked up by external_task_id once");
    assert!(shared.recorder.count("GET", "/v1/videos/text2video/862014559871620000") >= 1, "then polled by task_id");
    assert_eq!(credits(&server, &key).await, 100_000 - 21, "charged once");
}
