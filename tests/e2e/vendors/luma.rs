//! Mock Luma Dream Machine API and the `luma` adapter's end-to-end tests.
//!
//! The mock follows `shared/vendors/luma.md` and the official SDK's schema
//! for `POST /dream-machine/v1/generations/video`: it refuses a wrong key
//! with 401 and a body the schema would reject with 400 (FastAPI-style
//! `{"detail": …}`), records every request, and runs each generation through
//! a script chosen by a marker in the prompt: none (queued → dreaming →
//! completed), `[moderated]` (failed: "Advanced moderation failed"),
//! `[fails]` (failed), `[flaky]` (one 500 while polling, then as normal),
//! `[endless]` (dreaming until deleted); `[refused]` (400 moderation) and
//! `[quota]` (429) answer the create itself. Results are real MP4s of the
//! requested resolution, aspect ratio and duration, served by the mock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
const KEY: &str = "luma-0123456789abcdef";
/// The Dream Machine API's path prefix.
const API: &str = "/dream-machine/v1";
/// The portal's Apollo snippet.
const PORTAL_MUTATION: &str =
    "mutation CreateVideo($input: VideoCreateInput!) { videoCreate(input: $input) { id status videoUrl } }";
const PORTAL_VARIABLES: &str = r#"{"input":{"prompt":"Beautiful sunset over ocean","model":"luma","duration":9}}"#;

/// How a generation behaves, from the marker in its prompt.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Script {
    Completes,
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
        markers.into_iter().find(|(marker, _)| prompt.contains(marker)).map_or(Script::Completes, |(_, script)| script)
    }
}

struct Generation {
    prompt: String,
    request: Value,
    script: Script,
    polls: u32,
    deleted: bool,
}

impl Generation {
    /// The output's size and length as Luma renders the request.
    fn video(&self) -> (u32, u32, u32) {
        let short_side = match self.request["resolution"].as_str() {
            Some("540p") => 540,
            Some("1080p") => 1080,
            Some("4k") => 2160,
            _ => 720,
        };
        let (w, h) = self.request["aspect_ratio"].as_str().unwrap_or("16:9").split_once(':').unwrap();
        let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
        let long_side = |short: u32, long: u32, den: u32| (short * long / den).div_ceil(2) * 2;
        let (width, height) =
            if w >= h { (long_side(short_side, w, h), short_side) } else { (short_side, long_side(short_side, h, w)) };
        let seconds = if self.request["duration"] == "9s" { 9 } else { 5 };
        (width, height, seconds * 1000)
    }
}

#[derive(Default)]
struct Vendor {
    base_url: String,
    generations: HashMap<String, Generation>,
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

    /// Creates whose prompt contains `marker`.
    fn creates(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.method == "POST" && r.body["prompt"].as_str().unwrap_or("").contains(marker))
    }

    /// The id of the generation whose prompt contains `marker`, once created.
    async fn wait_for_generation(&self, marker: &str) -> String {
        self.recorder
            .wait_until("the generation", || {
                self.vendor.lock().unwrap().generations.values().any(|g| g.prompt.contains(marker))
            })
            .await;
        let vendor = self.vendor.lock().unwrap();
        let found = vendor.generations.iter().find(|(_, g)| g.prompt.contains(marker));
        found.map(|(id, _)| id.clone()).expect("waited for it")
    }
}

/// `GET /credits`: the account's balance (the adapter's health check).
async fn credits_left(State(mock): State<Mock>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("{API}/credits"), &headers, Value::Null);
    if !authorized(&headers) {
        return detail(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    Json(json!({ "credit_balance": 1250.0 })).into_response()
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

/// The SDK's schema for a video create, by model: the first problem.
fn schema_problem(body: &Value) -> Option<String> {
    let known = [
        "model",
        "prompt",
        "aspect_ratio",
        "loop",
        "duration",
        "resolution",
        "keyframes",
        "callback_url",
        "concepts",
        "generation_type",
    ];
    if let Some(extra) = body.as_object()?.keys().find(|k| !known.contains(&k.as_str())) {
        return Some(format!("extra field `{extra}` is not permitted"));
    }
    let model = body["model"].as_str().unwrap_or_default();
    if !["ray-2", "ray-flash-2", "ray-1-6"].contains(&model) {
        return Some(format!("model `{model}` is not one of ray-2, ray-flash-2, ray-1-6"));
    }
    if body["prompt"].as_str().is_none_or(str::is_empty) {
        return Some("prompt is required".into());
    }
    let ratios = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"];
    if body.get("aspect_ratio").is_some_and(|r| !r.as_str().is_some_and(|r| ratios.contains(&r))) {
        return Some(format!("aspect_ratio {} is not permitted", body["aspect_ratio"]));
    }
    if body.get("loop").is_some_and(|l| !l.is_boolean()) {
        return Some("loop must be a boolean".into());
    }
    let sized = body.get("duration").is_some() || body.get("resolution").is_some();
    if model == "ray-1-6" && sized {
        return Some("ray-1-6 has a fixed duration and resolution".into());
    }
    if body.get("duration").is_some_and(|d| !(d == "5s" || d == "9s")) {
        return Some(format!("duration {} is not one of 5s, 9s", body["duration"]));
    }
    let resolutions = ["540p", "720p", "1080p", "4k"];
    if body.get("resolution").is_some_and(|r| !r.as_str().is_some_and(|r| resolutions.contains(&r))) {
        return Some(format!("resolution {} is not permitted", body["resolution"]));
    }
    if let Some(keyframes) = body.get("keyframes") {
        let frame0 = &keyframes["frame0"];
        let https = frame0["url"].as_str().is_some_and(|u| u.starts_with("https://"));
        if frame0["type"] != "image" || !https || keyframes.as_object().is_none_or(|k| k.len() != 1) {
            return Some(format!("keyframes {keyframes} must be a frame0 image with a public https url"));
        }
    }
    None
}

/// A Generation object as Luma returns it.
fn generation_json(id: &str, state: &str, generation: &Generation, assets: Value, failure_reason: Value) -> Value {
    json!({
        "id": id,
        "generation_type": "video",
        "state": state,
        "failure_reason": failure_reason,
        "created_at": "2025-06-01T12:00:00.000Z",
        "assets": assets,
        "model": generation.request["model"],
        "request": generation.request,
    })
}

async fn create(State(mock): State<Mock>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    mock.recorder.record("POST", format!("{API}/generations/video"), &headers, body.clone());
    if !authorized(&headers) {
        return detail(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    if let Some(problem) = schema_problem(&body) {
        return detail(StatusCode::BAD_REQUEST, &problem);
    }
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[refused]") {
        return detail(StatusCode::BAD_REQUEST, "Prompt not allowed because advanced moderation failed");
    }
    if prompt.contains("[quota]") {
        return detail(StatusCode::TOO_MANY_REQUESTS, "Too many concurrent generations for this account");
    }
    let generation = Generation { script: Script::of(&prompt), prompt, request: body, polls: 0, deleted: false };
    let answer = mock.update(|vendor| {
        vendor.next_id += 1;
        let id = format!("3f2b8c1e-7a44-4d1b-9c2e-{:012}", vendor.next_id);
        let answer = generation_json(&id, "queued", &generation, Value::Null, Value::Null);
        vendor.generations.insert(id, generation);
        answer
    });
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn fetch(State(mock): State<Mock>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("{API}/generations/{id}"), &headers, Value::Null);
    if !authorized(&headers) {
        return detail(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    let mut vendor = mock.vendor.lock().unwrap();
    let base_url = vendor.base_url.clone();
    let Some(generation) = vendor.generations.get_mut(&id).filter(|g| !g.deleted) else {
        return detail(StatusCode::NOT_FOUND, "Generation not found");
    };
    generation.polls += 1;
    let file = |name: &str| format!("{base_url}/dream_machine/{id}/{name}");
    let dreaming = json!({ "progress_video": file("progress.mp4") });
    let completed = json!({ "video": file("video_0.mp4"), "image": file("video_0_thumb.jpg") });
    // A flaky generation answers its first poll with a 500, then runs as normal.
    let step = if generation.script == Script::FlakyPoll { generation.polls - 1 } else { generation.polls };
    let (state, assets, reason) = match (generation.script, step) {
        (Script::FlakyPoll, 0) => return detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        (Script::Completes | Script::FlakyPoll, 1) => ("queued", Value::Null, Value::Null),
        (Script::Completes | Script::FlakyPoll, 2) => ("dreaming", dreaming, Value::Null),
        (Script::Completes | Script::FlakyPoll, _) => ("completed", completed, Value::Null),
        (Script::Moderated, _) => ("failed", Value::Null, json!("Advanced moderation failed")),
        (Script::Fails, 1) => ("dreaming", dreaming, Value::Null),
        (Script::Fails, _) => ("failed", Value::Null, json!("Generation failed due to an internal error")),
        (Script::Endless, _) => ("dreaming", dreaming, Value::Null),
    };
    Json(generation_json(&id, state, generation, assets, reason)).into_response()
}

async fn delete(State(mock): State<Mock>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("DELETE", format!("{API}/generations/{id}"), &headers, Value::Null);
    if !authorized(&headers) {
        return detail(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    match mock.vendor.lock().unwrap().generations.get_mut(&id) {
        Some(generation) => {
            generation.deleted = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => detail(StatusCode::NOT_FOUND, "Generation not found"),
    }
}

/// Luma's CDN: the MP4 of a completed generation.
async fn video(State(mock): State<Mock>, Path((id, file)): Path<(String, String)>) -> Response {
    let vendor = mock.vendor.lock().unwrap();
    mp4_file(vendor.generations.get(&id).filter(|_| file == "video_0.mp4").map(Generation::video))
}

async fn start_mock() -> (MockVendor, Mock) {
    let mock = Mock { vendor: Arc::default(), recorder: Arc::default() };
    let router = Router::new()
        .route(&format!("{API}/generations/video"), post(create))
        .route(&format!("{API}/generations/{{id}}"), get(fetch).delete(delete))
        .route(&format!("{API}/credits"), get(credits_left))
        .route("/dream_machine/{id}/{file}", get(video))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.vendor.lock().unwrap().base_url = vendor.base_url();
    (vendor, mock)
}

#[tokio::test]
async fn ray_models_generate_from_text_and_image_urls_with_the_file_rehosted() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("luma", &vendor, Some(KEY)).await;
    let balloon = "https://images.example.test/balloon-start.jpg";
    let (ray2, flash, ray16) = tokio::join!(
        generate_to_end(&server, &live, "luma", json!({ "text": "A hot air balloon over rice fields" }), json!({})),
        generate_to_end(
            &server,
            &live,
            "luma-ray-flash-2",
            json!({ "text": "The balloon lifts off", "image": balloon }),
            json!({ "duration": 9, "resolution": "1080p", "aspectRatio": "9:16", "loop": true }),
        ),
        generate_to_end(
            &server,
            &live,
            "luma-ray-1-6",
            json!({ "text": "A paper boat" }),
            json!({ "aspectRatio": "1:1" })
        ),
    );

    assert_status(&ray2, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &ray2, &sample_mp4(1280, 720, 5_000)).await;
    assert_eq!(
        (ray2["metadata"]["resolution"].as_str(), ray2["metadata"]["duration"].as_f64()),
        (Some("1280x720"), Some(5.0))
    );
    assert_eq!(ray2["creditCost"], 71);
    assert_status(&flash, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &flash, &sample_mp4(1080, 1920, 9_000)).await;
    assert_eq!(
        (flash["metadata"]["resolution"].as_str(), flash["metadata"]["duration"].as_f64()),
        (Some("1080x1920"), Some(9.0))
    );
    assert_eq!(flash["creditCost"], 99);
    assert_status(&ray16, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &ray16, &sample_mp4(720, 720, 5_000)).await;
    assert_eq!(ray16["creditCost"], 36);

    // What Luma saw: our key on every call and bodies in its schema.
    let requests = mock.requests();
    assert!(requests.iter().all(|r| r.header("authorization") == Some(&format!("Bearer {KEY}")[..])));
    let create = |prompt: &str| mock.creates(prompt).pop().unwrap();
    assert_eq!(create("A hot air balloon").path, "/dream-machine/v1/generations/video");
    assert_eq!(
        create("A hot air balloon").body,
        json!({
            "model": "ray-2", "prompt": "A hot air balloon over rice fields", "aspect_ratio": "16:9",
            "loop": false, "duration": "5s", "resolution": "720p",
        })
    );
    assert_eq!(
        create("The balloon lifts off").body,
        json!({
            "model": "ray-flash-2", "prompt": "The balloon lifts off", "aspect_ratio": "9:16", "loop": true,
            "duration": "9s", "resolution": "1080p", "keyframes": { "frame0": { "type": "image", "url": balloon } },
        })
    );
    assert_eq!(
        create("A paper boat").body,
        json!({ "model": "ray-1-6", "prompt": "A paper boat", "aspect_ratio": "1:1", "loop": false })
    );
}

#[tokio::test]
async fn vendor_failures_reach_the_right_public_codes_and_cancel_deletes_the_generation() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("luma", &vendor, Some(KEY)).await;
    let run = |prompt: &'static str| generate_to_end(&server, &live, "luma", json!({ "text": prompt }), json!({}));
    let endless = generate(&server, &live, "luma", json!({ "text": "[endless] tides forever" }), json!({}));
    let (moderated, refused, fails, quota, flaky, endless) = tokio::join!(
        run("[moderated] something Luma refuses while dreaming"),
        run("[refused] something Luma refuses at once"),
        run("[fails] a scene Luma cannot render"),
        run("[quota] one generation too many"),
        run("[flaky] a lighthouse at night"),
        endless,
    );

    assert_status(&moderated, "FAILED", Some("GENERATION_FAILED"), &server);
    assert!(moderated["error"]["message"].as_str().unwrap().contains("Advanced moderation failed"), "{moderated}");
    assert_status(&refused, "FAILED", Some("GENERATION_FAILED"), &server);
    assert!(refused["error"]["message"].as_str().unwrap().contains("advanced moderation failed"), "{refused}");
    assert_eq!(mock.creates("[refused]").len(), 1, "moderation is not retried");
    assert_status(&fails, "FAILED", Some("GENERATION_FAILED"), &server);
    assert!(fails["error"]["message"].as_str().unwrap().contains("internal error"), "{fails}");
    // 429 is retryable: three creates in all, then PROVIDER_UNAVAILABLE with Luma's words.
    assert_status(&quota, "FAILED", Some("PROVIDER_UNAVAILABLE"), &server);
    assert!(quota["error"]["message"].as_str().unwrap().contains("Too many concurrent generations"), "{quota}");
    assert_eq!(mock.creates("[quota]").len(), 3);
    // A 500 while polling is retried, and the generation then completes.
    assert_status(&flaky, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &flaky, &sample_mp4(1280, 720, 5_000)).await;

    // Cancel: Luma has no cancel, so the adapter deletes the generation.
    let endless = endless.unwrap();
    let id = mock.wait_for_generation("[endless]").await;
    mock.recorder.wait_for("a poll of the endless generation", |r| r.method == "GET" && r.path.ends_with(&id)).await;
    let cancelled = cancel_to_end(&server, &live, endless["id"].as_str().unwrap()).await;
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled}");
    let deletes = mock.recorder.filter(|r| r.method == "DELETE");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0].path, format!("/dream-machine/v1/generations/{id}"));
}

#[tokio::test]
async fn bad_credentials_and_a_missing_secret_are_provider_unavailable() {
    let (vendor, mock) = start_mock().await;
    let ((wrong, wrong_live), (unset, unset_live)) = tokio::join!(
        live_server_with_key("luma", &vendor, Some("luma-revoked")),
        live_server_with_key("luma", &vendor, None)
    );

    // Luma answers 401: not retried, PROVIDER_UNAVAILABLE with its words.
    let refused = generate_to_end(&wrong, &wrong_live, "luma", json!({ "text": "[badkey] a fox" }), json!({})).await;
    assert_status(&refused, "FAILED", Some("PROVIDER_UNAVAILABLE"), &wrong);
    assert!(refused["error"]["message"].as_str().unwrap().contains("Invalid API key"), "{refused}");
    assert_eq!(mock.creates("[badkey]").len(), 1);

    // No secret: every Luma offering is listed as unavailable, live keys
    // are refused, test keys are served.
    let providers = unset.gql("{ providers(type: VIDEO) { id available unavailableReason } }", json!({})).await;
    let luma: Vec<&Value> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"].as_str().unwrap().starts_with("luma"))
        .collect();
    assert_eq!(luma.len(), 3, "{providers}");
    for offering in luma {
        assert_eq!(offering["available"], false);
        assert!(offering["unavailableReason"].as_str().unwrap().contains("api_key"), "{offering}");
    }
    let error = generate(&unset, &unset_live, "luma", json!({ "text": "[unset] a fox" }), json!({})).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert!(error["message"].as_str().unwrap().contains("DOITONG_SECRET_LUMA_API_KEY"), "{error}");
    let test_mode = generate_to_end(&unset, &unset.key, "luma", json!({ "text": "[unset] a fox" }), json!({})).await;
    assert_status(&test_mode, "COMPLETED", None, &unset);
    assert!(mock.creates("[unset]").is_empty());
}

/// What Luma cannot take is refused for both keys before any job exists.
async fn assert_refused_before_any_job(server: &Server, live: &str, mock: &Mock) {
    let cases = [
        (
            "luma",
            json!({ "text": "[invalid] a", "image": "data:image/png;base64,iVBORw0KGgo=" }),
            json!({}),
            "input.image must be an https:// URL for Luma: it fetches start frames itself and accepts no data: URIs",
        ),
        ("luma", json!({ "text": "[invalid] b" }), json!({ "duration": 10 }), "must be one of 5, 9; got 10"),
        (
            "luma",
            json!({ "text": "[invalid] c" }),
            json!({ "resolution": "2k" }),
            r#"must be one of "540p", "720p", "1080p", "4k"; got "2k""#,
        ),
        (
            "luma-ray-1-6",
            json!({ "text": "[invalid] d" }),
            json!({ "resolution": "1080p" }),
            "option `resolution` is not supported by provider `luma-ray-1-6`; supported options: duration, aspectRatio, loop",
        ),
        (
            "luma",
            json!({ "text": "[invalid] e" }),
            json!({ "motionIntensity": "high" }),
            "option `motionIntensity` is not supported by provider `luma`; supported options: duration, resolution, aspectRatio, loop",
        ),
    ];
    for key in [live, &server.key] {
        for (provider, input, options, message) in &cases {
            let error = generate(server, key, provider, input.clone(), options.clone()).await.unwrap_err();
            assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
            assert!(error["message"].as_str().unwrap().contains(message), "{error}\nwanted: {message}");
        }
    }
    let none = server.post(Some(live), "{ generations { nodes { id } } }", json!({}), &[]).await.2;
    assert_eq!(none["data"]["generations"]["nodes"], json!([]), "no job was created: {none}");
    assert!(mock.requests().is_empty(), "Luma was never called: {:?}", mock.requests());
}

#[tokio::test]
async fn unsupported_inputs_are_invalid_input_and_the_portal_snippet_runs_on_ray_2() {
    let (vendor, mock) = start_mock().await;
    let (server, live) = live_server_with_key("luma", &vendor, Some(KEY)).await;
    assert_refused_before_any_job(&server, &live, &mock).await;

    // The portal's Apollo `videoCreate`: `model: "luma"` is the provider, 9 s on Ray 2.
    let variables: Value = serde_json::from_str(PORTAL_VARIABLES).unwrap();
    let run = |key: String| {
        let (server, variables) = (&server, variables.clone());
        async move {
            let (_, _, body) = server.post(Some(&key), PORTAL_MUTATION, variables, &[]).await;
            let created = &body["data"]["videoCreate"];
            assert!(["QUEUED", "PROCESSING"].contains(&created["status"].as_str().unwrap_or_default()), "{body}");
            server.wait_terminal(&key, created["id"].as_str().unwrap(), Duration::from_secs(60)).await
        }
    };
    let (test_mode, live_run) = tokio::join!(run(server.key.clone()), run(live.clone()));
    assert_status(&test_mode, "COMPLETED", None, &server);
    assert_status(&live_run, "COMPLETED", None, &server);
    assert_rehosted_mp4(&server, &live_run, &sample_mp4(1280, 720, 9_000)).await;
    assert_eq!((live_run["creditCost"].as_i64(), live_run["provider"].as_str()), (Some(128), Some("luma")));
    let creates = mock.creates("Beautiful sunset over ocean");
    assert_eq!(creates.len(), 1, "only the live key reaches Luma");
    assert_eq!(
        creates[0].body,
        json!({
            "model": "ray-2", "prompt": "Beautiful sunset over ocean", "aspect_ratio": "16:9",
            "loop": false, "duration": "9s", "resolution": "720p",
        })
    );
}

/// A server whose `luma` plugin talks to `vendor`, with the operator's
/// `[plugins.luma] settings` (a TOML inline table's body).
async fn luma_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("luma", vendor, &[("api_key", KEY)], settings).await
}

/// A model Luma does not serve (named by an operator setting) is refused
/// with a validation error naming `model`: the job fails
/// `PROVIDER_UNAVAILABLE` (model unavailable), not retried; another
/// setting reaches Luma's `model` field.
#[tokio::test]
async fn settings_replace_model_ids_and_an_unknown_model_is_unavailable() {
    let (vendor, mock) = start_mock().await;
    let (server, live) =
        luma_server_with_settings(&vendor, r#""model.luma" = "ray-1", "model.luma-ray-flash-2" = "ray-2""#).await;
    let (retired, moved) = tokio::join!(
        generate_to_end(&server, &live, "luma", json!({ "text": "An old model [retired-model]" }), json!({})),
        generate_to_end(
            &server,
            &live,
            "luma-ray-flash-2",
            json!({ "text": "A moved model [moved-model]" }),
            json!({})
        ),
    );
    assert_status(&retired, "FAILED", Some("PROVIDER_UNAVAILABLE"), &server);
    let old = mock.creates("[retired-model]");
    assert_eq!(old.len(), 1, "not retried: {old:?}");
    assert_eq!(old[0].body["model"], "ray-1");
    assert_status(&moved, "COMPLETED", None, &server);
    assert_eq!(mock.creates("[moved-model]")[0].body["model"], "ray-2");
}
