//! Mock of Alibaba's DashScope video synthesis for Wan 2.2 and the `wan`
//! adapter's end-to-end tests.
//!
//! The mock follows `shared/vendors/wan.md`: it wants `Authorization:
//! Bearer <key>` (else 401 `InvalidApiKey`) and, on task creation,
//! `X-DashScope-Async: enable` (else 403 `AccessDenied`, as DashScope
//! refuses synchronous calls); it checks the body per model (an exact
//! `size` for text-to-video, a `resolution` tier and `img_url` for
//! image-to-video, `duration` 5) and answers `InvalidParameter` otherwise.
//! Tasks go `PENDING` → `RUNNING` → `SUCCEEDED` with a signed result URL
//! served by the mock; only `PENDING` tasks can be cancelled.
//!
//! A scenario is chosen by a tag in the prompt: `[moderated]` (input
//! moderation at submit), `[unsafe]` (output moderation, task `FAILED`),
//! `[fails]` (task `FAILED` with `InternalError`), `[quota]` (429 at
//! submit), `[flaky]` (a 500 while polling), `[slow]` (stays `PENDING`),
//! `[started]` (stays `RUNNING`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_rehosted_mp4, cancel_to_end, credits,
    generate, generate_to_end, live_server, metadata, mp4_file, sample_mp4,
};
use crate::harness::{Server, ServerOptions};

/// The key the mock accepts.
const KEY: &str = "sk-wan-test";
const T2V_SIZES: &[&str] =
    &["832*480", "480*832", "624*624", "1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"];
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a cat";

/// One task the mock holds.
struct Task {
    prompt: String,
    polls: u32,
    cancelled: bool,
    /// (width, height) of the clip it renders.
    size: (u32, u32),
}

#[derive(Default)]
struct Wan {
    base: OnceLock<String>,
    recorder: Recorder,
    tasks: Mutex<HashMap<String, Task>>,
}

type Mock = Arc<Wan>;

impl Wan {
    fn seen(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    /// Task creations whose prompt contains `needle`.
    fn submits(&self, needle: &str) -> Vec<Recorded> {
        self.recorder.filter(|s| {
            s.method == "POST"
                && s.path.ends_with("/video-synthesis")
                && s.body["input"]["prompt"].as_str().is_some_and(|p| p.contains(needle))
        })
    }

    /// Ids of the tasks whose prompt contains `needle`.
    fn task_ids(&self, needle: &str) -> Vec<String> {
        self.tasks.lock().unwrap().iter().filter(|(_, t)| t.prompt.contains(needle)).map(|(id, _)| id.clone()).collect()
    }
}

fn dashscope_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "request_id": "req-err", "code": code, "message": message }))).into_response()
}

/// DashScope's answer to a missing or wrong key; `None` for the right one.
fn refuse_key(headers: &HeaderMap) -> Option<Response> {
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) if value == format!("Bearer {KEY}") => None,
        _ => Some(dashscope_error(StatusCode::UNAUTHORIZED, "InvalidApiKey", "Invalid API-key provided.")),
    }
}

/// DashScope's checks of a wan2.2 body; the clip's size.
fn check_body(body: &Value) -> Result<(u32, u32), String> {
    let model = body["model"].as_str().ok_or("Field required: model")?;
    let input = body["input"].as_object().ok_or("Field required: input")?;
    let parameters = body["parameters"].as_object().ok_or("Field required: parameters")?;
    for name in input.keys() {
        if !["prompt", "negative_prompt", "img_url"].contains(&name.as_str()) {
            return Err(format!("Unrecognized field: input.{name}"));
        }
    }
    for name in parameters.keys() {
        if !["size", "resolution", "duration", "prompt_extend", "watermark", "seed"].contains(&name.as_str()) {
            return Err(format!("Unrecognized field: parameters.{name}"));
        }
    }
    if parameters.get("duration").and_then(Value::as_i64).unwrap_or(5) != 5 {
        return Err("The duration of wan2.2 must be 5".into());
    }
    for flag in ["prompt_extend", "watermark"] {
        if parameters.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(format!("parameters.{flag} must be a boolean"));
        }
    }
    if let Some(seed) = parameters.get("seed") {
        seed.as_i64().filter(|s| (0..=2_147_483_647).contains(s)).ok_or("seed must be in [0, 2147483647]")?;
    }
    let tiers: &[&str] = match model {
        "wan2.2-t2v-plus" => {
            input
                .get("prompt")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .ok_or("Field required: input.prompt")?;
            if input.contains_key("img_url") || parameters.contains_key("resolution") {
                return Err("wan2.2-t2v-plus takes parameters.size, not an image or resolution".into());
            }
            let size = parameters.get("size").and_then(Value::as_str).unwrap_or("1920*1080");
            if !T2V_SIZES.contains(&size) {
                return Err(format!("The size is not match the allowed size, got {size}"));
            }
            let (width, height) = size.split_once('*').unwrap();
            return Ok((width.parse().unwrap(), height.parse().unwrap()));
        }
        "wan2.2-i2v-plus" => &["480P", "1080P"],
        "wan2.2-i2v-flash" => &["480P", "720P", "1080P"],
        other => return Err(format!("Model not exist: {other}")),
    };
    let image = input.get("img_url").and_then(Value::as_str).ok_or("Field required: input.img_url")?;
    if !(image.starts_with("https://") || image.starts_with("data:image/")) {
        return Err(format!("img_url must be a public URL or a data URI, got {image}"));
    }
    if parameters.contains_key("size") {
        return Err("image-to-video takes parameters.resolution, not size".into());
    }
    let tier = parameters.get("resolution").and_then(Value::as_str).unwrap_or("1080P");
    match tier {
        _ if !tiers.contains(&tier) => Err(format!("resolution {tier} is not supported by {model}")),
        "480P" => Ok((832, 480)),
        "720P" => Ok((1280, 720)),
        _ => Ok((1920, 1080)),
    }
}

/// `POST /api/v1/services/aigc/video-generation/video-synthesis`.
async fn create(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    mock.recorder.record("POST", "/api/v1/services/aigc/video-generation/video-synthesis", &headers, body.clone());
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    if headers.get("x-dashscope-async").and_then(|v| v.to_str().ok()) != Some("enable") {
        return dashscope_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "current user api does not support synchronous calls",
        );
    }
    let size = match check_body(&body) {
        Ok(size) => size,
        Err(why) => return dashscope_error(StatusCode::BAD_REQUEST, "InvalidParameter", &why),
    };
    let prompt = body["input"]["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[moderated]") {
        return dashscope_error(
            StatusCode::BAD_REQUEST,
            "DataInspectionFailed",
            "Input data may contain inappropriate content.",
        );
    }
    if prompt.contains("[quota]") {
        return dashscope_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Throttling.RateQuota",
            "Requests rate limit exceeded, please try again later.",
        );
    }
    let mut tasks = mock.tasks.lock().unwrap();
    let id = format!("0385dc79-5ff8-4d82-bcb6-{:012}", tasks.len() + 1);
    tasks.insert(id.clone(), Task { prompt, polls: 0, cancelled: false, size });
    axum::Json(json!({ "request_id": "req-create", "output": { "task_id": id, "task_status": "PENDING" } }))
        .into_response()
}

/// `GET /api/v1/tasks/{id}`.
async fn query(State(mock): State<Mock>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("/api/v1/tasks/{id}"), &headers, Value::Null);
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    let mut tasks = mock.tasks.lock().unwrap();
    let Some(task) = tasks.get_mut(&id) else {
        return axum::Json(json!({ "request_id": "req-q", "output": { "task_id": id, "task_status": "UNKNOWN" } }))
            .into_response();
    };
    task.polls += 1;
    let prompt = task.prompt.as_str();
    if prompt.contains("[flaky]") && task.polls == 1 {
        return dashscope_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "An internal error has occured, please try again later.",
        );
    }
    let output = |status: &str, extra: Value| {
        let mut output = json!({ "task_id": id, "task_status": status, "submit_time": "2025-06-01 12:00:00.123" });
        output.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        output
    };
    let answer = if task.cancelled {
        json!({ "output": output("CANCELED", json!({})) })
    } else if prompt.contains("[slow]") || task.polls < 2 {
        json!({ "output": output("PENDING", json!({})) })
    } else if prompt.contains("[started]") || task.polls < 3 {
        json!({ "output": output("RUNNING", json!({})) })
    } else if prompt.contains("[unsafe]") {
        json!({ "output": output("FAILED", json!({ "code": "DataInspectionFailed", "message": "Output data may contain inappropriate content." })) })
    } else if prompt.contains("[fails]") {
        json!({ "output": output("FAILED", json!({ "code": "InternalError", "message": "Video synthesis failed, please retry." })) })
    } else {
        let (width, height) = task.size;
        let url = format!("{}/results/{id}.mp4?Expires=1748865790&Signature=abc", mock.base.get().unwrap());
        json!({
            "output": output("SUCCEEDED", json!({ "video_url": url, "orig_prompt": prompt, "end_time": "2025-06-01 12:03:10.789" })),
            "usage": { "video_duration": 5, "video_ratio": format!("{width}*{height}"), "video_count": 1 }
        })
    };
    let mut answer = answer;
    answer["request_id"] = json!("req-q");
    axum::Json(answer).into_response()
}

/// `POST /api/v1/tasks/{id}/cancel`: queued tasks only.
async fn cancel(State(mock): State<Mock>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("POST", format!("/api/v1/tasks/{id}/cancel"), &headers, Value::Null);
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    let mut tasks = mock.tasks.lock().unwrap();
    match tasks.get_mut(&id) {
        Some(task) if task.prompt.contains("[slow]") => {
            task.cancelled = true;
            axum::Json(json!({ "request_id": "req-cancel" })).into_response()
        }
        Some(_) => dashscope_error(
            StatusCode::BAD_REQUEST,
            "UnsupportedOperation",
            "Failed to cancel the task, please confirm if the task is in PENDING status.",
        ),
        None => dashscope_error(StatusCode::NOT_FOUND, "NotFound", "task not found"),
    }
}

/// `GET /results/{id}.mp4`: the signed OSS URL.
async fn result(State(mock): State<Mock>, Path(file): Path<String>) -> Response {
    let tasks = mock.tasks.lock().unwrap();
    mp4_file(file.strip_suffix(".mp4").and_then(|id| tasks.get(id)).map(|task| (task.size.0, task.size.1, 5000)))
}

async fn start_mock() -> (MockVendor, Mock) {
    let mock = Mock::default();
    let router = Router::new()
        .route("/api/v1/services/aigc/video-generation/video-synthesis", post(create))
        .route("/api/v1/tasks/{id}", get(query))
        .route("/api/v1/tasks/{id}/cancel", post(cancel))
        .route("/results/{file}", get(result))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.base.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

#[tokio::test]
async fn text_and_image_to_video_complete_with_the_file_rehosted() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("wan", &vendor, &[("api_key", KEY)]).await;
    let options = json!({ "aspectRatio": "9:16", "negativePrompt": "distorted paws", "seed": 12345, "promptExtend": false, "watermark": true });
    let data_uri = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(PNG));
    let (portrait, small, linked, inline) = tokio::join!(
        generate_to_end(&server, &key, "wan", json!({ "text": "A tabby cat napping on a windowsill" }), options),
        generate_to_end(&server, &key, "wan", json!({ "text": "Rain on a tin roof" }), json!({ "resolution": "480p" })),
        generate_to_end(
            &server,
            &key,
            "wan",
            json!({ "text": "The cat stretches", "image": "https://example.com/cat.jpg" }),
            json!({})
        ),
        generate_to_end(
            &server,
            &key,
            "wan-flash",
            json!({ "text": "The cat blinks", "image": data_uri.clone() }),
            json!({})
        ),
    );

    // Text-to-video at 1080p portrait: the exact size, the file re-hosted.
    assert_eq!(portrait["status"], "COMPLETED", "{portrait}\n{}", server.log());
    assert_eq!(portrait["creditCost"], 50);
    assert_rehosted_mp4(&server, &portrait, &sample_mp4(1080, 1920, 5000)).await;
    let [submit] = &mock.submits("tabby")[..] else { panic!("one submit: {:?}", mock.seen()) };
    assert_eq!(submit.header("authorization"), Some("Bearer sk-wan-test"));
    assert_eq!(submit.header("x-dashscope-async"), Some("enable"));
    assert_eq!(
        submit.body,
        json!({
            "model": "wan2.2-t2v-plus",
            "input": { "prompt": "A tabby cat napping on a windowsill", "negative_prompt": "distorted paws" },
            "parameters": { "size": "1080*1920", "duration": 5, "prompt_extend": false, "watermark": true, "seed": 12345 }
        })
    );
    let meta = metadata(&server, &key, &portrait["id"]).await;
    assert_eq!(
        (meta["duration"].as_f64(), meta["resolution"].as_str(), meta["format"].as_str()),
        (Some(5.0), Some("1080x1920"), Some("mp4")),
        "{meta}"
    );
    let polls: Vec<Recorded> =
        mock.seen().into_iter().filter(|s| s.method == "GET" && s.path.starts_with("/api/v1/tasks/")).collect();
    assert!(polls.len() >= 3, "polled through PENDING and RUNNING: {polls:?}");
    assert!(
        polls.iter().all(|s| s.header("x-dashscope-async").is_none() && s.header("authorization") == Some("Bearer sk-wan-test")),
        "{polls:?}"
    );

    // 480p with the default frame.
    assert_eq!(small["status"], "COMPLETED", "{small}");
    assert_eq!(small["creditCost"], 10);
    assert_eq!(mock.submits("Rain")[0].body["parameters"]["size"], "832*480");
    assert_rehosted_mp4(&server, &small, &sample_mp4(832, 480, 5000)).await;

    // Image-to-video from an https URL (passed on as given) and a data: URI.
    assert_eq!(linked["status"], "COMPLETED", "{linked}");
    let sent = &mock.submits("stretches")[0].body;
    assert_eq!(
        (sent["model"].as_str(), sent["input"]["img_url"].as_str()),
        (Some("wan2.2-i2v-plus"), Some("https://example.com/cat.jpg"))
    );
    assert_eq!(
        sent["parameters"],
        json!({ "resolution": "1080P", "duration": 5, "prompt_extend": true, "watermark": false })
    );
    assert_eq!(inline["status"], "COMPLETED", "{inline}");
    assert_eq!(inline["creditCost"], 15);
    let sent = &mock.submits("blinks")[0].body;
    assert_eq!(
        (sent["model"].as_str(), sent["input"]["img_url"].as_str()),
        (Some("wan2.2-i2v-flash"), Some(data_uri.as_str()))
    );
    assert_eq!(sent["parameters"]["resolution"], "720P");
    assert_rehosted_mp4(&server, &inline, &sample_mp4(1280, 720, 5000)).await;
}

#[tokio::test]
async fn vendor_failures_reach_the_right_public_codes() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("wan", &vendor, &[("api_key", KEY)]).await;
    let run = |prompt: &'static str| generate_to_end(&server, &key, "wan", json!({ "text": prompt }), json!({}));
    let (moderated, unsafe_output, quota, fails, flaky) = tokio::join!(
        run("Something forbidden [moderated]"),
        run("Something borderline [unsafe]"),
        run("Busy [quota]"),
        run("Broken [fails]"),
        run("Glitch [flaky]"),
    );
    assert_failed(&moderated, "GENERATION_FAILED", &["inappropriate content"]);
    assert_eq!(mock.submits("[moderated]").len(), 1, "moderation is not retried");
    assert_failed(&unsafe_output, "GENERATION_FAILED", &["DataInspectionFailed"]);
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["rate limit exceeded"]);
    assert_eq!(mock.submits("[quota]").len(), 3, "a throttled submit is tried three times");
    assert_failed(&fails, "GENERATION_FAILED", &["Video synthesis failed"]);
    assert_eq!(flaky["status"], "COMPLETED", "a 500 while polling is retried: {flaky}");
    assert_eq!(credits(&server, &key).await, 100_000 - 50, "failures are refunded");

    let cat = "https://example.com/cat.jpg";
    let refused = [
        ("wan", json!({ "text": "x" }), json!({ "duration": 10 }), "must be one of 5"),
        ("wan", json!({ "text": "x" }), json!({ "resolution": "720p" }), r#"must be one of "480p", "1080p""#),
        ("wan", json!({ "text": "x" }), json!({ "style": "cinematic" }), "supported options"),
        (
            "wan",
            json!({ "text": "x" }),
            json!({ "aspectRatio": "4:3", "resolution": "480p" }),
            "allowed at 480p: 16:9, 9:16, 1:1",
        ),
        (
            "wan",
            json!({ "text": "x", "image": cat }),
            json!({ "aspectRatio": "16:9" }),
            "keeps the input image's aspect ratio",
        ),
        ("wan-flash", json!({ "text": "x" }), json!({}), "input.image"),
    ];
    for (provider, input, options, needle) in refused {
        let error = generate(&server, &key, provider, input, options).await.unwrap_err();
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
        assert!(error["message"].as_str().unwrap().contains(needle), "{error} should mention {needle:?}");
    }
    let duration = generate(&server, &key, "wan", json!({ "text": "x" }), json!({ "duration": 10 })).await.unwrap_err();
    assert_eq!(duration["extensions"]["allowedValues"], json!([5]));
    assert_job_count(&server, &key, 5).await;
}

/// Wait (bounded) until the mock has been polled for a task whose prompt
/// contains `needle`.
async fn wait_polled(mock: &Mock, needle: &str) {
    let polled = || {
        let ids = mock.task_ids(needle);
        mock.seen().iter().any(|s| s.method == "GET" && ids.iter().any(|id| s.path.ends_with(id.as_str())))
    };
    mock.recorder.wait_until(&format!("a poll of the task for {needle:?}"), polled).await;
}

#[tokio::test]
async fn cancel_refunds_queued_tasks_and_stops_waiting_for_started_ones() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("wan", &vendor, &[("api_key", KEY)]).await;
    let queued = generate(&server, &key, "wan", json!({ "text": "Queued [slow]" }), json!({})).await.unwrap();
    let started = generate(&server, &key, "wan", json!({ "text": "Started [started]" }), json!({})).await.unwrap();
    wait_polled(&mock, "[slow]").await;
    wait_polled(&mock, "[started]").await;

    let done = cancel_to_end(&server, &key, queued["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    let [task] = &mock.task_ids("[slow]")[..] else { panic!("one queued task") };
    let cancel_call =
        mock.seen().into_iter().find(|s| s.path == format!("/api/v1/tasks/{task}/cancel")).expect("the cancel call");
    assert_eq!(
        (cancel_call.method.as_str(), cancel_call.header("authorization")),
        ("POST", Some("Bearer sk-wan-test"))
    );
    // The queued task is refunded in full; the started one still holds its 50.
    assert_eq!(credits(&server, &key).await, 100_000 - 50, "a queued task is cancelled free of charge");

    let done = cancel_to_end(&server, &key, started["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "CANCELLED", "{done}");
    assert!(mock.seen().iter().any(
        |s| s.path.ends_with("/cancel") && mock.task_ids("[started]").iter().any(|id| s.path.contains(id.as_str()))
    ));
    assert_eq!(credits(&server, &key).await, 100_000 - 50, "a started task is billed by Wan: no refund");
}

#[tokio::test]
async fn a_refused_key_makes_the_provider_unavailable() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("wan", &vendor, &[("api_key", "sk-wrong")]).await;
    let refused = generate_to_end(&server, &key, "wan", json!({ "text": "Wrong key" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["InvalidApiKey"]);
    assert_eq!(mock.submits("Wrong key").len(), 1, "a refused key is not retried");
}

#[tokio::test]
async fn without_a_key_the_offerings_are_unavailable_to_live_keys_only() {
    let server = Server::start_with(ServerOptions::default()).await;
    let providers = server
        .gql(
            "{ providers(type: VIDEO) { id available unavailableReason inputs pricing { creditCost } options { name allowedValues } } }",
            json!({}),
        )
        .await;
    for (id, credits, resolutions, inputs) in [
        ("wan", 50, json!(["480p", "1080p"]), json!(["text", "image"])),
        ("wan-flash", 15, json!(["480p", "720p", "1080p"]), json!(["text", "image"])),
    ] {
        let provider = providers["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {providers}"));
        assert_eq!(provider["available"], false, "{provider}");
        assert!(provider["unavailableReason"].as_str().unwrap().contains("api_key"), "{provider}");
        assert_eq!((&provider["pricing"]["creditCost"], &provider["inputs"]), (&json!(credits), &inputs), "{provider}");
        let options = provider["options"].as_array().unwrap();
        let option =
            |name: &str| options.iter().find(|o| o["name"] == name).unwrap_or_else(|| panic!("{name}: {provider}"));
        assert_eq!(option("duration")["allowedValues"], json!([5]));
        assert_eq!(option("resolution")["allowedValues"], resolutions);
    }
    let (_, live) = server.account_with_key("live", 1_000, false);
    let error = generate(&server, &live, "wan", json!({ "text": "No key" }), json!({})).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert!(error["message"].as_str().unwrap().contains("DOITONG_SECRET_WAN_API_KEY"), "{error}");
    let test_mode =
        generate_to_end(&server, &server.key, "wan", json!({ "text": "Test mode" }), json!({ "resolution": "480p" }))
            .await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 10);
}

/// The portal's card: stable 5 s clips at 480p and 1080p. Its generic
/// snippet asks for 10 s and a style, which Wan 2.2 does not have.
#[tokio::test]
async fn portal_card_and_snippet_with_test_and_live_keys() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("wan", &vendor, &[("api_key", KEY)]).await;
    let snippet = "mutation Generate($input: GenerateInput!) { generate(input: $input) { id status type provider url metadata { duration resolution } creditCost estimatedTime } }";
    for (resolution, cost) in [("480p", 10), ("1080p", 50)] {
        let input = json!({ "input": { "type": "VIDEO", "provider": "wan", "input": { "text": format!("Lanterns over a lake at {resolution}") }, "options": { "duration": 5, "resolution": resolution } } });
        for caller in [server.key.clone(), key.clone()] {
            let (_, _, body) = server.post(Some(&caller), snippet, input.clone(), &[]).await;
            let accepted = &body["data"]["generate"];
            assert_eq!(
                (accepted["provider"].as_str(), accepted["creditCost"].as_i64()),
                (Some("wan"), Some(cost)),
                "{body}"
            );
            let done = server.wait_terminal(&caller, accepted["id"].as_str().unwrap(), Duration::from_secs(30)).await;
            assert_eq!(done["status"], "COMPLETED", "{done}");
        }
    }
    assert_eq!(mock.submits("Lanterns").len(), 2, "only the live key reaches Wan");

    let portal = json!({ "input": { "type": "VIDEO", "provider": "wan", "input": { "text": "A serene mountain landscape at sunset" }, "options": { "duration": 10, "resolution": "1080p", "style": "cinematic" } } });
    for caller in [&server.key, &key] {
        let (_, _, body) = server.post(Some(caller), snippet, portal.clone(), &[]).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], "options.style", "{body}");
    }
}

/// A server like `live_server` whose `[plugins.wan]` carries the operator's
/// `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("wan", vendor, &[("api_key", KEY)], settings).await
}

/// A model DashScope does not serve (named by an operator setting) answers
/// `InvalidParameter` "Model not exist": the job fails
/// `PROVIDER_UNAVAILABLE` (model unavailable), not retried, and the
/// setting reaches DashScope's `model`.
#[tokio::test]
async fn settings_replace_model_ids_and_an_unknown_model_is_unavailable() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server_with_settings(&vendor, r#""model.wan.t2v" = "wan-retired-t2v""#).await;
    let retired =
        generate_to_end(&server, &key, "wan", json!({ "text": "An old model [retired-model]" }), json!({})).await;
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["Model not exist"]);
    let submits = mock.submits("[retired-model]");
    assert_eq!(submits.len(), 1, "not retried: {submits:?}");
    assert_eq!(submits[0].body["model"], "wan-retired-t2v");
}
