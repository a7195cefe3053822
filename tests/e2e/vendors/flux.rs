//! Mock Black Forest Labs API and the `flux` adapter's end-to-end tests.
//!
//! The mock speaks BFL's documented exchanges (`shared/vendors/flux.md`):
//! `POST /v1/<model>` with `x-key` → `{id, polling_url, cost}` → `GET
//! <polling_url>` (`Pending` → `Ready`) → `result.sample`, a signed link on
//! a "delivery" host (the mock itself) serving the JPEG or PNG. Like BFL it
//! answers 403 to a wrong key and 422 with FastAPI's `detail` list to a
//! body it would not take; it is stricter than BFL about unknown fields, so
//! a field sent to the wrong model fails the test. Its polling URLs carry a
//! `cluster` parameter no adapter could invent, so a test can tell the URL
//! was polled as returned and not rebuilt.
//!
//! Markers in the prompt pick the scenarios: `[busy]` (429, too many
//! active tasks), `[no-credits]` (402), `[request-moderated]` and
//! `[content-moderated]` (moderation statuses), `[vendor-error]` (`Error`),
//! `[lost]` (`Task not found`), `[flaky]` (the first poll answers 503),
//! `[slow]` (stays `Pending`), and for the polling URL: `[new-region]` (a
//! BFL cluster the plugin does not list), `[foreign-poll]` (a host that is
//! not BFL's) and `[no-polling-url]` (an answer without one, as older API
//! versions gave).
//!
//! It serves the model endpoints BFL documents today (api.bfl.ai
//! openapi, 2026: FLUX.1 [dev]/[pro], FLUX1.1 [pro] and Ultra, Kontext
//! [pro]/[max], and FLUX.2 [pro]/[max]/[flex]/[klein] 4B and 9B); any
//! other path answers FastAPI's 404 `{"detail": "Not Found"}`, as BFL does.
//! `GET /v1/credits`, the adapter's health check, answers the balance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    GENERATION_FIELDS, MockVendor, Recorded, Recorder, assert_failed, assert_image, assert_job_count,
    assert_not_configured, assert_rehosted, assert_status, cancel_to_end, credits, generate_kind, generate_kind_to_end,
    live_server, sample_jpeg, sample_png, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "bfl_live_7c1e0a9f";
/// A 1×1 PNG, for image inputs sent as `data:` URIs.
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/// The portal's GraphQL example for `flux-ultra`, as published.
const PORTAL_SNIPPET: &str = r#"{
  "input": {
    "type": "IMAGE",
    "provider": "flux-ultra",
    "input": {
      "text": "Photorealistic portrait in Rembrandt style"
    },
    "options": {
      "aspectRatio": "16:9",
      "quality": "ultra",
      "seed": 42
    }
  }
}"#;
/// What BFL says to a key it does not know.
const NOT_AUTHENTICATED: &str = "Not authenticated - Invalid Authentication";

/// A task the mock runs.
struct Task {
    prompt: String,
    size: (u32, u32),
    format: String,
    polls: u32,
}

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    /// `http://127.0.0.1:<port>`: where sample links point (the "delivery" host).
    origin: OnceLock<String>,
    tasks: Mutex<HashMap<String, Task>>,
    next_id: AtomicU64,
    recorder: Recorder,
}

impl Mock {
    /// Every submit whose prompt contains `marker`.
    fn submits(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.method == "POST" && r.body["prompt"].as_str().is_some_and(|p| p.contains(marker)))
    }

    /// The one submit whose prompt contains `marker`.
    fn submit(&self, marker: &str) -> Recorded {
        the_one(self.submits(marker), format_args!("one submit for {marker:?}"))
    }

    /// The id the mock gave the task whose prompt contains `marker`.
    fn task_id(&self, marker: &str) -> String {
        let tasks = self.tasks.lock().unwrap();
        let mut ids = tasks.iter().filter(|(_, t)| t.prompt.contains(marker)).map(|(id, _)| id.clone());
        let id = ids.next().unwrap_or_else(|| panic!("no task for {marker:?}"));
        assert!(ids.next().is_none(), "one task for {marker:?}");
        id
    }

    /// The polls the mock received for task `id` (path and query).
    fn polls(&self, id: &str) -> Vec<String> {
        let mine = |r: &Recorded| r.method == "GET" && r.path.contains(&format!("id={id}"));
        self.recorder.filter(mine).into_iter().map(|r| r.path).collect()
    }
}

/// The file BFL would deliver for a task.
fn image_bytes(format: &str, (width, height): (u32, u32)) -> Vec<u8> {
    if format == "png" { sample_png(width, height) } else { sample_jpeg(width, height) }
}

/// FastAPI's 422 for one field.
fn unprocessable(field: &str, message: &str) -> Response {
    let detail = json!([{ "loc": ["body", field], "msg": message, "type": "value_error" }]);
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "detail": detail }))).into_response()
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

/// The fields each endpoint takes.
fn fields(endpoint: &str) -> Option<Vec<&'static str>> {
    const COMMON: [&str; 7] =
        ["prompt", "seed", "prompt_upsampling", "safety_tolerance", "output_format", "webhook_url", "webhook_secret"];
    let own: &[&str] = match endpoint {
        "flux-dev" => &["image_prompt", "width", "height", "steps", "guidance"],
        "flux-pro" => &["image_prompt", "width", "height", "steps", "guidance", "interval"],
        "flux-pro-1.1" => &["image_prompt", "width", "height"],
        "flux-pro-1.1-ultra" => &["aspect_ratio", "raw", "image_prompt", "image_prompt_strength"],
        "flux-kontext-pro" | "flux-kontext-max" => {
            &["input_image", "input_image_2", "input_image_3", "input_image_4", "aspect_ratio"]
        }
        "flux-2-pro" | "flux-2-max" | "flux-2-klein-4b" | "flux-2-klein-9b" | "flux-2-flex" => {
            const FLUX2: [&str; 15] = [
                "prompt",
                "seed",
                "safety_tolerance",
                "output_format",
                "webhook_url",
                "webhook_secret",
                "width",
                "height",
                "input_image",
                "input_image_2",
                "input_image_3",
                "input_image_4",
                "input_image_5",
                "input_image_6",
                "input_image_7",
            ];
            let mut fields = [&FLUX2[..], &["input_image_8"]].concat();
            if endpoint == "flux-2-flex" {
                fields.extend(["prompt_upsampling", "steps", "guidance"]);
            }
            return Some(fields);
        }
        _ => return None,
    };
    Some([&COMMON[..], own].concat())
}

/// Why BFL would refuse this body with a 422: `(field, message)`.
fn invalid(endpoint: &str, body: &Value) -> Option<(String, String)> {
    let allowed = fields(endpoint)?;
    let object = body.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Some((unknown.clone(), "Extra inputs are not permitted".into()));
    }
    let fail = |field: &str, message: &str| Some((field.to_string(), message.to_string()));
    if body["prompt"].as_str().is_none_or(|p| p.trim().is_empty()) {
        return fail("prompt", "Field required");
    }
    let in_range = |field: &str, lo: f64, hi: f64| {
        body.get(field).is_none_or(|v| v.as_f64().is_some_and(|n| (lo..=hi).contains(&n)))
    };
    let flux2 = endpoint.starts_with("flux-2-");
    for (field, lo, hi) in [
        ("steps", 1.0, 50.0),
        ("guidance", 1.5, if flux2 { 10.0 } else { 5.0 }),
        ("interval", 1.0, 4.0),
        ("safety_tolerance", 0.0, if flux2 { 5.0 } else { 6.0 }),
        ("image_prompt_strength", 0.0, 1.0),
    ] {
        if !in_range(field, lo, hi) {
            return fail(field, &format!("Input should be between {lo} and {hi}"));
        }
    }
    for side in ["width", "height"] {
        if flux2 {
            if let Some(v) = body.get(side)
                && !v.as_u64().is_some_and(|n| n >= 64 && n.is_multiple_of(16))
            {
                return fail(side, "Input should be a multiple of 16, at least 64");
            }
            continue;
        }
        if let Some(v) = body.get(side)
            && !v.as_u64().is_some_and(|n| (256..=1440).contains(&n) && n.is_multiple_of(32))
        {
            return fail(side, "Input should be a multiple of 32 between 256 and 1440");
        }
    }
    if flux2 && body["width"].as_u64().unwrap_or(0) * body["height"].as_u64().unwrap_or(0) > 4 * 1024 * 1024 {
        return fail("width", "The image may have at most 4 megapixels");
    }
    if body.get("seed").is_some_and(|s| !s.is_u64()) {
        return fail("seed", "Input should be a valid integer");
    }
    for flag in ["raw", "prompt_upsampling"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return fail(flag, "Input should be a valid boolean");
        }
    }
    if !matches!(body.get("output_format").and_then(Value::as_str), None | Some("jpeg" | "png")) {
        return fail("output_format", "Input should be 'jpeg' or 'png'");
    }
    if let Some(ratio) = body.get("aspect_ratio") {
        let parsed = ratio
            .as_str()
            .and_then(|r| r.split_once(':'))
            .and_then(|(w, h)| Some((w.parse::<f64>().ok()?, h.parse::<f64>().ok()?)));
        if !parsed.is_some_and(|(w, h)| h > 0.0 && (9.0 / 21.0..=21.0 / 9.0).contains(&(w / h))) {
            return fail("aspect_ratio", "Aspect ratio must be between 21:9 and 9:21");
        }
    }
    if let Some(image) = body.get("image_prompt")
        && image.as_str().is_none_or(|i| base64::engine::general_purpose::STANDARD.decode(i).is_err())
    {
        return fail("image_prompt", "Invalid base64 image");
    }
    if let Some(image) = body.get("input_image") {
        let valid = image
            .as_str()
            .is_some_and(|i| i.starts_with("https://") || base64::engine::general_purpose::STANDARD.decode(i).is_ok());
        if !valid {
            return fail("input_image", "Input image must be a URL or base64");
        }
    }
    if body.get("image_prompt_strength").is_some() && body.get("image_prompt").is_none() {
        return fail("image_prompt_strength", "image_prompt_strength needs image_prompt");
    }
    None
}

/// The pixels the mock renders for a body.
fn rendered_size(endpoint: &str, body: &Value) -> (u32, u32) {
    let ratio = body["aspect_ratio"].as_str();
    match endpoint {
        "flux-pro-1.1-ultra" => match ratio {
            Some("16:9") => (2752, 1536),
            Some("9:16") => (1536, 2752),
            _ => (2048, 2048),
        },
        "flux-kontext-pro" | "flux-kontext-max" => match ratio {
            Some("21:9") => (1568, 672),
            Some("16:9") => (1392, 752),
            _ => (1024, 1024),
        },
        e if e.starts_with("flux-2-") => {
            (body["width"].as_u64().unwrap_or(1024) as u32, body["height"].as_u64().unwrap_or(1024) as u32)
        }
        _ => (body["width"].as_u64().unwrap_or(1024) as u32, body["height"].as_u64().unwrap_or(768) as u32),
    }
}

/// `GET /v1/credits`: the account's balance.
async fn get_credits(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", "/v1/credits", &headers, Value::Null);
    if headers.get("x-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return detail(StatusCode::FORBIDDEN, NOT_AUTHENTICATED);
    }
    Json(json!({ "credits": 1234.5 })).into_response()
}

async fn submit(
    State(mock): State<Arc<Mock>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    mock.recorder.record("POST", format!("/v1/{endpoint}"), &headers, body.clone());
    if headers.get("x-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return detail(StatusCode::FORBIDDEN, NOT_AUTHENTICATED);
    }
    if fields(&endpoint).is_none() {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    }
    if let Some((field, message)) = invalid(&endpoint, &body) {
        return unprocessable(&field, &message);
    }
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[busy]") {
        let message = "You have exceeded the maximum number of active tasks (24). Wait for a task to finish.";
        return detail(StatusCode::TOO_MANY_REQUESTS, message);
    }
    if prompt.contains("[no-credits]") {
        return detail(StatusCode::PAYMENT_REQUIRED, "Insufficient credits. Add credits at https://dashboard.bfl.ai.");
    }
    let id = format!("5b1c8f2e-2f7a-4c1e-9a3d-{:012}", mock.next_id.fetch_add(1, Ordering::SeqCst));
    let format = body["output_format"].as_str().unwrap_or("jpeg").to_string();
    let size = rendered_size(&endpoint, &body);
    let polling_url = if prompt.contains("[new-region]") {
        Some(format!("https://api.eu9.bfl.ai/v1/get_result?id={id}"))
    } else if prompt.contains("[foreign-poll]") {
        Some(format!("https://bfl.results.example/v1/get_result?id={id}"))
    } else if prompt.contains("[no-polling-url]") {
        None
    } else {
        // The global origin, which the host rewrites to this mock.
        Some(format!("https://api.bfl.ai/v1/get_result?id={id}&cluster=mock-us1"))
    };
    mock.tasks.lock().unwrap().insert(id.clone(), Task { prompt, size, format, polls: 0 });
    let mut answer = json!({ "id": id, "cost": 4.0, "input_mp": 0.0, "output_mp": 1.05 });
    if let Some(url) = polling_url {
        answer["polling_url"] = json!(url);
    }
    Json(answer).into_response()
}

async fn get_result(
    State(mock): State<Arc<Mock>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let id = query.get("id").cloned().unwrap_or_default();
    let mut path = format!("/v1/get_result?id={id}");
    if let Some(cluster) = query.get("cluster") {
        path.push_str(&format!("&cluster={cluster}"));
    }
    mock.recorder.record("GET", path, &headers, Value::Null);
    if headers.get("x-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return detail(StatusCode::FORBIDDEN, NOT_AUTHENTICATED);
    }
    let origin = mock.origin.get().unwrap();
    let mut tasks = mock.tasks.lock().unwrap();
    let Some(task) = tasks.get_mut(&id) else {
        return Json(
            json!({ "id": id, "status": "Task not found", "result": null, "progress": null, "details": null }),
        )
        .into_response();
    };
    task.polls += 1;
    let status = |status: &str, details: Value| json!({ "id": id, "status": status, "result": null, "progress": null, "details": details, "preview": null });
    let answer = match (task.polls, task.prompt.as_str()) {
        (1, p) if p.contains("[flaky]") => {
            return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error or disconnect/reset before headers")
                .into_response();
        }
        (_, p) if p.contains("[slow]") => json!({ "id": id, "status": "Pending", "result": null, "progress": 0.1 }),
        (_, p) if p.contains("[request-moderated]") => {
            status("Request Moderated", json!({ "Moderation Reasons": ["Derivative Works Filter"] }))
        }
        (_, p) if p.contains("[lost]") => status("Task not found", Value::Null),
        (1, _) => json!({ "id": id, "status": "Pending", "result": null, "progress": 0.4, "details": null }),
        (_, p) if p.contains("[content-moderated]") => {
            status("Content Moderated", json!({ "Moderation Reasons": ["Content Moderated"] }))
        }
        (_, p) if p.contains("[vendor-error]") => status("Error", json!({ "error": "Internal processing error" })),
        _ => json!({
            "id": id,
            "status": "Ready",
            "result": {
                "sample": format!(
                    "{origin}/delivery/results/{id}/sample.{}?se=2026-01-01T00%3A10%3A00Z&sp=r&sig=TEST",
                    task.format
                ),
                "prompt": task.prompt,
                "seed": 42,
            },
            "progress": null,
            "details": null,
            "preview": null,
        }),
    };
    Json(answer).into_response()
}

/// The "delivery" host: a task's image, no key needed.
async fn delivery(State(mock): State<Arc<Mock>>, Path((id, file)): Path<(String, String)>) -> Response {
    let tasks = mock.tasks.lock().unwrap();
    match tasks.get(&id).filter(|t| file == format!("sample.{}", t.format)) {
        Some(task) => {
            let mime = if task.format == "png" { "image/png" } else { "image/jpeg" };
            ([(CONTENT_TYPE, mime)], image_bytes(&task.format, task.size)).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Start the mock BFL.
async fn mock_bfl() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v1/get_result", get(get_result))
        .route("/v1/credits", get(get_credits))
        .route("/v1/{endpoint}", post(submit))
        .route("/delivery/results/{id}/{file}", get(delivery))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.origin.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

/// Generate an image with `key` and wait for the end.
async fn run(server: &Server, key: &str, provider: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "IMAGE", provider, input, options).await
}

#[tokio::test]
async fn flux_models_complete_with_the_image_rehosted() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let png_uri = format!("data:image/png;base64,{PNG_BASE64}");
    let (dev, pro11, pro, kontext_max, redux, kontext_inline) = tokio::join!(
        run(&server, &key, "flux-dev", json!({ "text": "a lighthouse at dusk [dev]" }), json!({})),
        run(
            &server,
            &key,
            "flux-pro-1-1",
            json!({ "text": "a fox in the snow [pro11]" }),
            json!({ "aspectRatio": "16:9", "outputFormat": "png", "seed": 7 })
        ),
        run(
            &server,
            &key,
            "flux-pro",
            json!({ "text": "a tall tower [pro]" }),
            json!({
                "width": 512, "height": 1440, "steps": 50, "guidance": 4.5, "interval": 3.5,
                "promptUpsampling": true, "safetyTolerance": 5
            })
        ),
        run(
            &server,
            &key,
            "flux-kontext",
            json!({ "text": "make it a watercolor [kontext-max]", "image": "https://images.example.com/cat.png" }),
            json!({ "mode": "max", "aspectRatio": "21:9" })
        ),
        run(&server, &key, "flux-dev", json!({ "text": "in this style [redux]", "image": png_uri }), json!({})),
        run(
            &server,
            &key,
            "flux-kontext",
            json!({ "text": "add a red hat [kontext-inline]", "image": png_uri }),
            json!({})
        ),
    );

    // FLUX.1 [dev] with every default: BFL's 1024x768 JPEG, sides reported.
    assert_image(&dev, "flux-dev", 3, "jpg", (1024, 768));
    assert_rehosted(&server, &dev, "image/jpeg", &sample_jpeg(1024, 768)).await;
    let submit = mock.submit("[dev]");
    assert_eq!(submit.path, "/v1/flux-dev");
    assert_eq!(submit.header("x-key"), Some(KEY));
    assert_eq!(submit.header("content-type"), Some("application/json"));
    assert_eq!(
        submit.body,
        json!({
            "prompt": "a lighthouse at dusk [dev]",
            "width": 1024, "height": 768, "steps": 28, "guidance": 3.0,
            "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
        })
    );
    // Polled at the URL BFL returned (its `cluster` parameter kept), with the key.
    let id = mock.task_id("[dev]");
    let polls = mock.polls(&id);
    assert_eq!(polls, vec![format!("/v1/get_result?id={id}&cluster=mock-us1"); 2], "Pending, then Ready");
    let all = mock.recorder.requests();
    assert!(all.iter().all(|r| r.header("x-key") == Some(KEY)), "every call carries the key");

    // FLUX1.1 [pro]: an aspect ratio becomes sides, PNG asked for and stored.
    assert_image(&pro11, "flux-pro-1-1", 4, "png", (1344, 768));
    assert_rehosted(&server, &pro11, "image/png", &sample_png(1344, 768)).await;
    let submit = mock.submit("[pro11]");
    assert_eq!(submit.path, "/v1/flux-pro-1.1");
    assert_eq!(
        submit.body,
        json!({
            "prompt": "a fox in the snow [pro11]", "width": 1344, "height": 768, "seed": 7,
            "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "png"
        })
    );

    // FLUX.1 [pro] with exact sides and every sampling knob.
    assert_image(&pro, "flux-pro", 5, "jpg", (512, 1440));
    let submit = mock.submit("[pro]");
    assert_eq!(submit.path, "/v1/flux-pro");
    assert_eq!(
        submit.body,
        json!({
            "prompt": "a tall tower [pro]", "width": 512, "height": 1440, "steps": 50, "guidance": 4.5,
            "interval": 3.5, "prompt_upsampling": true, "safety_tolerance": 5, "output_format": "jpeg"
        })
    );

    // Kontext [max] editing an https image, passed on as given; the size is
    // read from the file BFL delivered.
    assert_image(&kontext_max, "flux-kontext", 8, "jpg", (1568, 672));
    assert_rehosted(&server, &kontext_max, "image/jpeg", &sample_jpeg(1568, 672)).await;
    let submit = mock.submit("[kontext-max]");
    assert_eq!(submit.path, "/v1/flux-kontext-max");
    assert_eq!(
        submit.body,
        json!({
            "prompt": "make it a watercolor [kontext-max]",
            "input_image": "https://images.example.com/cat.png",
            "aspect_ratio": "21:9",
            "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
        })
    );

    // Image prompt (Redux) from a data: URI: plain base64, as BFL wants it.
    assert_image(&redux, "flux-dev", 3, "jpg", (1024, 768));
    assert_eq!(mock.submit("[redux]").body["image_prompt"], PNG_BASE64);

    // Kontext [pro] by default, editing an inline image; no ratio: BFL follows the image.
    assert_image(&kontext_inline, "flux-kontext", 4, "jpg", (1024, 1024));
    let submit = mock.submit("[kontext-inline]");
    assert_eq!(submit.path, "/v1/flux-kontext-pro");
    assert_eq!((&submit.body["input_image"], submit.body.get("aspect_ratio")), (&json!(PNG_BASE64), None));

    assert_eq!(credits(&server, &key).await, 100_000 - 3 - 4 - 5 - 8 - 3 - 4);
}

#[tokio::test]
async fn flux_ultra_portal_snippet_works_as_published() {
    let (vendor, mock) = mock_bfl().await;
    let (server, live) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let snippet: Value = serde_json::from_str(PORTAL_SNIPPET).unwrap();
    let mutation = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {GENERATION_FIELDS} }} }}");
    let send = |key: String, variables: Value| {
        let (server, mutation) = (&server, &mutation);
        async move { server.post(Some(&key), mutation, variables, &[]).await.2 }
    };

    for key in [live.clone(), server.key.clone()] {
        let body = send(key.clone(), snippet.clone()).await;
        let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
        let done = server.wait_terminal(&key, id, Duration::from_secs(60)).await;
        assert_status(&done, "COMPLETED", None, &server);
        assert_eq!(done["creditCost"], 6, "{done}");
        if key == live {
            // Ultra's ~4 MP image: its size is read from the delivered file.
            assert_image(&done, "flux-ultra", 6, "jpg", (2752, 1536));
            assert_rehosted(&server, &done, "image/jpeg", &sample_jpeg(2752, 1536)).await;
        }
    }
    // Only the live key reached BFL, with the snippet's options mapped.
    let submit = mock.submit("Rembrandt");
    assert_eq!(submit.path, "/v1/flux-pro-1.1-ultra");
    assert_eq!(
        submit.body,
        json!({
            "prompt": "Photorealistic portrait in Rembrandt style",
            "aspect_ratio": "16:9", "raw": false, "seed": 42,
            "prompt_upsampling": false, "safety_tolerance": 2, "output_format": "jpeg"
        })
    );
    assert_eq!(credits(&server, &live).await, 100_000 - 6);

    // What Ultra cannot do is refused, naming the option and what it takes.
    let refusals = [
        (
            json!({ "aspectRatio": "16:9", "quality": "standard", "seed": 42 }),
            "options.quality",
            "option `quality` of provider `flux-ultra` must be one of \"ultra\"; got \"standard\"",
        ),
        (
            json!({ "width": 2048 }),
            "options.width",
            "option `width` is not supported by provider `flux-ultra`; supported options: aspectRatio, quality, raw, \
             seed, imagePromptStrength, promptUpsampling, safetyTolerance, outputFormat",
        ),
        (
            json!({ "aspectRatio": "32:9" }),
            "options.aspectRatio",
            "option `aspectRatio` of provider `flux-ultra` must be one of \"1:1\", \"16:9\", \"9:16\", \"4:3\", \
             \"3:4\", \"3:2\", \"2:3\", \"5:4\", \"4:5\", \"21:9\", \"9:21\"; got \"32:9\"",
        ),
    ];
    for (options, field, message) in refusals {
        let mut variables = snippet.clone();
        variables["input"]["options"] = options.clone();
        variables["input"]["input"]["text"] = json!("a refused portrait [refused]");
        let body = send(live.clone(), variables).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {body}");
        assert_eq!(error["extensions"]["field"], field, "{body}");
        assert_eq!(error["message"], message, "{options}");
    }
    assert!(mock.submits("[refused]").is_empty(), "nothing refused reached BFL");
    assert_eq!(credits(&server, &live).await, 100_000 - 6);

    // Raw mode and an image prompt with its strength.
    let raw = run(
        &server,
        &live,
        "flux-ultra",
        json!({ "text": "a quiet harbour [raw]", "image": format!("data:image/png;base64,{PNG_BASE64}") }),
        json!({ "raw": true, "aspectRatio": "9:16", "imagePromptStrength": 0.35, "outputFormat": "png" }),
    )
    .await;
    assert_image(&raw, "flux-ultra", 6, "png", (1536, 2752));
    let body = mock.submit("[raw]").body;
    assert_eq!(
        (&body["raw"], &body["aspect_ratio"], &body["image_prompt"], &body["image_prompt_strength"]),
        (&json!(true), &json!("9:16"), &json!(PNG_BASE64), &json!(0.35))
    );
}

#[tokio::test]
async fn flux_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let prompt = |text: &str| json!({ "text": text });
    let (request_moderated, content_moderated, vendor_error, lost, busy, no_credits, flaky) = tokio::join!(
        run(&server, &key, "flux-pro-1-1", prompt("something forbidden [request-moderated]"), json!({})),
        run(&server, &key, "flux-pro-1-1", prompt("something that renders badly [content-moderated]"), json!({})),
        run(&server, &key, "flux-pro-1-1", prompt("a glitch [vendor-error]"), json!({})),
        run(&server, &key, "flux-pro-1-1", prompt("an expired task [lost]"), json!({})),
        run(&server, &key, "flux-pro-1-1", prompt("a crowd at rush hour [busy]"), json!({})),
        run(&server, &key, "flux-pro-1-1", prompt("an empty wallet [no-credits]"), json!({})),
        run(&server, &key, "flux-pro-1-1", prompt("a river at dusk [flaky]"), json!({})),
    );
    assert_failed(
        &request_moderated,
        "GENERATION_FAILED",
        &["BFL's moderation refused the request", "Request Moderated", "Derivative Works Filter"],
    );
    assert_failed(
        &content_moderated,
        "GENERATION_FAILED",
        &["BFL's moderation withheld the generated image", "Content Moderated"],
    );
    assert_failed(&vendor_error, "GENERATION_FAILED", &["BFL failed task", "`Error`", "Internal processing error"]);
    assert_failed(&lost, "GENERATION_FAILED", &["BFL does not know task", "Task not found"]);
    // Too many active tasks: retryable, so the host submitted three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["BFL answered HTTP 429", "maximum number of active tasks"]);
    assert_eq!(mock.submits("[busy]").len(), 3, "the host retries a rate-limited submit");
    // No credits at BFL: retrying cannot help.
    assert_failed(&no_credits, "PROVIDER_UNAVAILABLE", &["BFL answered HTTP 402", "Insufficient credits"]);
    assert_eq!(mock.submits("[no-credits]").len(), 1, "an empty BFL account is not retried");
    assert_eq!(mock.submits("[request-moderated]").len(), 1, "moderation is final");
    // A transient 503 while polling, then the image.
    assert_image(&flaky, "flux-pro-1-1", 4, "jpg", (1024, 768));

    // Combinations BFL cannot make: refused before any job exists.
    let cases = [
        (
            "flux-dev",
            json!({ "aspectRatio": "1:1", "width": 512 }),
            "provider `flux-dev` refused the request: options `aspectRatio` and `width`/`height` of provider \
             `flux-dev` exclude each other: give an aspect ratio or both sides",
        ),
        (
            "flux-dev",
            json!({ "width": 1000, "height": 768 }),
            "provider `flux-dev` refused the request: option `width` of provider `flux-dev` must be a multiple of 32 \
             between 256 and 1440; got 1000",
        ),
        (
            "flux-pro-1-1",
            json!({ "width": 512 }),
            "provider `flux-pro-1-1` refused the request: option `height` of provider `flux-pro-1-1` is required \
             with `width`: give both sides (multiples of 32 between 256 and 1440) or `aspectRatio`",
        ),
        (
            "flux-ultra",
            json!({ "imagePromptStrength": 0.5 }),
            "provider `flux-ultra` refused the request: option `imagePromptStrength` of provider `flux-ultra` needs \
             input.image, the image prompt it weighs",
        ),
        (
            "flux-dev",
            json!({ "width": 2048, "height": 1024 }),
            "option `width` of provider `flux-dev` must be between 256 and 1440; got 2048",
        ),
        (
            "flux-kontext",
            json!({ "mode": "ultra" }),
            "option `mode` of provider `flux-kontext` must be one of \"pro\", \"max\"; got \"ultra\"",
        ),
        (
            "flux-pro-1-1",
            json!({ "quality": "ultra" }),
            "option `quality` is not supported by provider `flux-pro-1-1`; supported options: aspectRatio, width, \
             height, seed, promptUpsampling, safetyTolerance, outputFormat",
        ),
        (
            "flux-dev",
            json!({ "safetyTolerance": 7 }),
            "option `safetyTolerance` of provider `flux-dev` must be between 0 and 6; got 7",
        ),
    ];
    for (provider, options, message) in cases {
        let error =
            generate_kind(&server, &key, "IMAGE", provider, prompt("a refused image [refused]"), options.clone())
                .await
                .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{provider} {options}: {error}");
        assert_eq!(error["message"], message, "{provider} {options}");
    }
    assert!(mock.submits("[refused]").is_empty(), "nothing refused reached BFL");
    assert_job_count(&server, &key, 7).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 4);
}

#[tokio::test]
async fn flux_polls_only_bfl_api_hosts_with_the_key() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let (new_region, foreign, missing) = tokio::join!(
        run(&server, &key, "flux-dev", json!({ "text": "a new cluster [new-region]" }), json!({})),
        run(&server, &key, "flux-dev", json!({ "text": "a stranger's host [foreign-poll]" }), json!({})),
        run(&server, &key, "flux-dev", json!({ "text": "an old answer [no-polling-url]" }), json!({})),
    );
    // None of those URLs was called (the host would have refused them and
    // failed the job): each task was polled on BFL's global endpoint, which
    // the host points at the mock.
    for (generation, marker) in
        [(&new_region, "[new-region]"), (&foreign, "[foreign-poll]"), (&missing, "[no-polling-url]")]
    {
        assert_image(generation, "flux-dev", 3, "jpg", (1024, 768));
        let id = mock.task_id(marker);
        assert_eq!(mock.polls(&id), vec![format!("/v1/get_result?id={id}"); 2], "{marker}");
    }
    let log = server.log();
    assert!(log.contains("https://api.eu9.bfl.ai/v1/get_result"), "the refused region is logged:\n{log}");
    assert!(log.contains("https://bfl.results.example/v1/get_result"), "the refused host is logged:\n{log}");
}

#[tokio::test]
async fn flux_cancel_stops_waiting_but_bfl_still_bills() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let accepted =
        generate_kind(&server, &key, "IMAGE", "flux-ultra", json!({ "text": "a long render [slow]" }), json!({}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    mock.recorder.wait_for("a poll of the task", |r| r.path.starts_with("/v1/get_result")).await;
    let id = accepted["id"].as_str().unwrap();
    let ended = cancel_to_end(&server, &key, id).await;
    assert_eq!(ended["status"], "CANCELLED", "{ended}");
    // BFL has no cancel endpoint: nothing but the submit and polls went out.
    let seen = mock.recorder.requests();
    assert!(
        seen.iter().all(|r| (r.method == "POST" && r.path == "/v1/flux-pro-1.1-ultra")
            || (r.method == "GET" && r.path.starts_with("/v1/get_result?id="))),
        "{seen:?}"
    );
    // ... and it billed the image at submit, so nothing is refunded.
    assert_eq!(credits(&server, &key).await, 100_000 - 6);
}

#[tokio::test]
async fn flux_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_bfl().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("flux", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("flux", &vendor, &[("api_key", "bfl_revoked")]).await;

    // No secret: every offering listed as unavailable, with its price and options.
    let query = "{ providers(type: IMAGE) { id vendor available unavailableReason \
                 pricing { creditCost estimatedTime } options { name allowedValues default } } }";
    let data = unconfigured.gql(query, json!({})).await;
    let providers = data["providers"].as_array().unwrap();
    let by_id = |id: &str| providers.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} missing: {data}"));
    for (id, credits, seconds) in [
        ("flux-dev", 3, 10),
        ("flux-pro", 5, 15),
        ("flux-pro-1-1", 4, 8),
        ("flux-ultra", 6, 15),
        ("flux-kontext", 4, 10),
    ] {
        let p = by_id(id);
        assert_eq!(p["vendor"], "Black Forest Labs", "{p}");
        assert_eq!(p["available"], false, "{p}");
        assert_eq!(p["unavailableReason"], "missing secret(s): api_key", "{p}");
        assert_eq!(p["pricing"], json!({ "creditCost": credits, "estimatedTime": seconds }), "{p}");
    }
    let ultra_options: Vec<&str> =
        by_id("flux-ultra")["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(
        ultra_options,
        [
            "aspectRatio",
            "quality",
            "raw",
            "seed",
            "imagePromptStrength",
            "promptUpsampling",
            "safetyTolerance",
            "outputFormat"
        ]
    );
    assert_not_configured(&unconfigured, &live, "IMAGE", "flux-ultra", json!({ "text": "a fox" }), json!({}), "flux")
        .await;
    let test_mode = run(
        &unconfigured,
        &unconfigured.key,
        "flux-kontext",
        json!({ "text": "a fox [test mode]" }),
        json!({ "mode": "max" }),
    )
    .await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 8);

    // A key BFL refuses (403): final, not retried.
    let refused = run(&wrong, &wrong_key, "flux-dev", json!({ "text": "a fox [wrong key]" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["BFL answered HTTP 403", NOT_AUTHENTICATED]);
    let submits = mock.submits("[wrong key]");
    assert_eq!(submits.len(), 1);
    assert_eq!(submits[0].header("x-key"), Some("bfl_revoked"));
    assert!(mock.submits("[test mode]").is_empty(), "test keys never reach BFL");
}

/// A server like [`live_server`] whose `[plugins.flux]` also carries the
/// operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("flux", vendor, &[("api_key", KEY)], settings).await
}

/// FLUX.2 runs on the same submit and poll flow: [pro] edits an image
/// given by URL (sent as it is), [flex] renders exact sides with its steps
/// and guidance; both priced by megapixels.
#[tokio::test]
async fn flux2_models_complete_with_the_image_rehosted() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let (edit, flex) = tokio::join!(
        run(
            &server,
            &key,
            "flux-2-pro",
            json!({ "text": "make it night [flux2-edit]", "image": "https://img.example/cat.png" }),
            json!({ "aspectRatio": "16:9" }),
        ),
        run(
            &server,
            &key,
            "flux-2-flex",
            json!({ "text": "a poster that says SALE [flux2-flex]" }),
            json!({ "width": 1536, "height": 1024, "steps": 30 }),
        ),
    );
    // 1344x768 output (~1 MP) and one input megapixel: 3c + 1.5c → 5.
    assert_image(&edit, "flux-2-pro", 5, "jpg", (1344, 768));
    let submit = mock.submit("[flux2-edit]");
    assert_eq!(submit.path, "/v1/flux-2-pro");
    assert_eq!(
        submit.body,
        json!({
            "prompt": "make it night [flux2-edit]", "input_image": "https://img.example/cat.png",
            "width": 1344, "height": 768, "safety_tolerance": 2, "output_format": "jpeg"
        })
    );
    // 1536x1024 = 1.57 MP on [flex]: 5c + 0.57 × 5c → 8.
    assert_image(&flex, "flux-2-flex", 8, "jpg", (1536, 1024));
    let submit = mock.submit("[flux2-flex]");
    assert_eq!(submit.path, "/v1/flux-2-flex");
    assert_eq!((submit.body["steps"].as_i64(), submit.body["guidance"].as_f64()), (Some(30), Some(4.5)));
    assert_eq!(submit.body["prompt_upsampling"], true);
}

/// A model endpoint BFL no longer serves (a stale setting) fails as
/// `PROVIDER_UNAVAILABLE`, not retried and refunded; another setting
/// moves an offering to a served model.
#[tokio::test]
async fn flux_settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        r#""model.flux-pro" = "flux-pro-1.0-retired", "model.flux-2-klein" = "flux-2-klein-4b""#,
    )
    .await;
    let (retired, moved) = tokio::join!(
        run(&server, &key, "flux-pro", json!({ "text": "an old model [retired]" }), json!({})),
        run(&server, &key, "flux-2-klein", json!({ "text": "a small model [moved]" }), json!({})),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["/v1/flux-pro-1.0-retired", "Not Found"]);
    assert_eq!(mock.submits("[retired]").len(), 1, "not retried: {:?}", mock.recorder.requests());
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    assert_eq!(mock.submit("[moved]").path, "/v1/flux-2-klein-4b");
    assert_eq!(credits(&server, &key).await, 100_000 - 2, "the failed job is refunded");
}

/// An uploaded image (`POST /uploads`) used as FLUX.1 [dev]'s image
/// prompt: BFL takes image prompts as base64 only, so the bytes that reach
/// it are exactly the uploaded file's.
#[tokio::test]
async fn an_uploaded_image_reaches_bfl_as_its_bytes() {
    let (vendor, mock) = mock_bfl().await;
    let (server, key) = live_server("flux", &vendor, &[("api_key", KEY)]).await;
    let png = sample_png(48, 32);
    let uploaded: Value = reqwest::Client::new()
        .post(server.url("/uploads"))
        .bearer_auth(&key)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = uploaded["id"].as_str().unwrap_or_else(|| panic!("{uploaded}"));
    let done =
        run(&server, &key, "flux-dev", json!({ "text": "in this style [uploaded]", "image": id }), json!({})).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let sent = mock.submit("[uploaded]").body["image_prompt"].as_str().unwrap().to_string();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(sent).unwrap(), png);
}
