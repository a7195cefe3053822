//! Mock of Google's Gemini API for Veo (`predictLongRunning`, operations,
//! file download) and the `veo` adapter's end-to-end tests.
//!
//! The mock follows `shared/vendors/veo.md`: it wants `x-goog-api-key`
//! (a wrong key gets Google's 400 `API_KEY_INVALID`), checks the body's
//! instances and parameters the way Veo 3.1 does (`INVALID_ARGUMENT`
//! otherwise), answers with an operation name, reports the operation
//! running and then done with a file URI, and serves that URI only with
//! the key, redirecting to a signed result URL (or serving the bytes
//! itself, or inlining them in the operation, by scenario).
//!
//! Models: the mock serves Google's GA Veo 3.1 ids only. The preview ids
//! Google shut down on 2026-10-22 answer 404 `NOT_FOUND` "… is no longer
//! available", any other id 404 "… is not found for API version v1beta",
//! both at `predictLongRunning` and at `models.get` (`GET
//! /v1beta/models/{model}`, the adapter's health check).
//!
//! A scenario is chosen by a tag in the prompt: `[moderated]` (safety
//! filter), `[fails]` (operation error), `[flaky]` (a 503 while polling),
//! `[quota]` (429 at submit), `[slow]` (never finishes), `[direct]` (the
//! download answers with the bytes), `[inline]` (`encodedVideo`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
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
const KEY: &str = "veo-test-key";
/// The models Google serves on the Gemini API (GA Veo 3.1).
const MODELS: &[&str] = &["veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001"];
/// The preview ids Google shut down on 2026-10-22.
const RETIRED: &[&str] =
    &["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview"];
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR first frame";

/// One operation the mock started.
struct Operation {
    prompt: String,
    polls: u32,
    /// The clip this operation renders: (width, height, duration in ms).
    clip: (u32, u32, u32),
}

#[derive(Default)]
struct Veo {
    /// The mock's own address, for redirects to its result files.
    base: OnceLock<String>,
    /// Every request, its path with the query.
    recorder: Recorder,
    operations: Mutex<HashMap<String, Operation>>,
}

type Mock = Arc<Veo>;

impl Veo {
    fn seen(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    /// The `predictLongRunning` calls whose prompt contains `needle`.
    fn submits(&self, needle: &str) -> Vec<Recorded> {
        self.recorder.filter(|s| {
            s.path.ends_with(":predictLongRunning")
                && s.body["instances"][0]["prompt"].as_str().is_some_and(|p| p.contains(needle))
        })
    }
}

fn google_error(status: StatusCode, canonical: &str, message: &str, reason: Option<&str>) -> Response {
    let details = match reason {
        Some(reason) => {
            json!([{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com" }])
        }
        None => json!([]),
    };
    let body =
        json!({ "error": { "code": status.as_u16(), "message": message, "status": canonical, "details": details } });
    (status, axum::Json(body)).into_response()
}

/// Google's answer to a missing or wrong key; `None` for the right one.
fn refuse_key(headers: &HeaderMap) -> Option<Response> {
    match headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) {
        Some(KEY) => None,
        _ => Some(google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            Some("API_KEY_INVALID"),
        )),
    }
}

/// Veo 3.1's checks of a request body; the clip it would render.
fn check_body(model: &str, body: &Value) -> Result<(u32, u32, u32), String> {
    let instances = body["instances"].as_array().ok_or("instances must be a list")?;
    let [instance] = &instances[..] else { return Err("exactly one instance is supported".into()) };
    for name in instance.as_object().ok_or("an instance must be an object")?.keys() {
        if !["prompt", "image"].contains(&name.as_str()) {
            return Err(format!("Invalid JSON payload received. Unknown name \"{name}\" at 'instances[0]'"));
        }
    }
    instance["prompt"].as_str().filter(|p| !p.is_empty()).ok_or("instances[0].prompt is required")?;
    if let Some(image) = instance.get("image") {
        let mime = image["mimeType"].as_str().unwrap_or_default();
        if !["image/png", "image/jpeg"].contains(&mime) {
            return Err(format!("unsupported image mimeType {mime:?}"));
        }
        let encoded = image["bytesBase64Encoded"].as_str().ok_or("image.bytesBase64Encoded is required")?;
        base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| format!("image bytes: {e}"))?;
    }
    let parameters = body["parameters"].as_object().ok_or("parameters must be an object")?;
    for name in parameters.keys() {
        if !["aspectRatio", "resolution", "durationSeconds", "negativePrompt", "personGeneration"]
            .contains(&name.as_str())
        {
            return Err(format!("Invalid JSON payload received. Unknown name \"{name}\" at 'parameters'"));
        }
    }
    let ratio = parameters.get("aspectRatio").and_then(Value::as_str).unwrap_or("16:9");
    let resolution = parameters.get("resolution").and_then(Value::as_str).unwrap_or("720p");
    let seconds = parameters.get("durationSeconds").and_then(Value::as_u64).unwrap_or(8) as u32;
    let (long, short) = match resolution {
        "720p" => (1280, 720),
        "1080p" => (1920, 1080),
        "4k" if !model.contains("lite") => (3840, 2160),
        other => return Err(format!("resolution {other:?} is not supported by {model}")),
    };
    if ![4, 6, 8].contains(&seconds) {
        return Err(format!("durationSeconds {seconds} is out of range: 4, 6 or 8"));
    }
    if resolution != "720p" && seconds != 8 && !model.contains("lite") {
        return Err(format!("durationSeconds must be 8 for resolution {resolution}"));
    }
    match ratio {
        "16:9" => Ok((long, short, seconds * 1000)),
        "9:16" => Ok((short, long, seconds * 1000)),
        other => Err(format!("aspectRatio {other:?} is not supported")),
    }
}

/// `POST /v1beta/models/{model}:predictLongRunning`.
async fn predict(State(mock): State<Mock>, Path(target): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    mock.recorder.record("POST", format!("/v1beta/models/{target}"), &headers, body.clone());
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    let Some(model) = target.strip_suffix(":predictLongRunning") else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("models/{target} is not found"), None);
    };
    if let Some(missing) = missing_model(model) {
        return missing;
    }
    let clip = match check_body(model, &body) {
        Ok(clip) => clip,
        Err(why) => return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &why, None),
    };
    let prompt = body["instances"][0]["prompt"].as_str().unwrap_or_default().to_string();
    if prompt.contains("[quota]") {
        return google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            None,
        );
    }
    let mut operations = mock.operations.lock().unwrap();
    let id = format!("op{}", operations.len() + 1);
    operations.insert(id.clone(), Operation { prompt, polls: 0, clip });
    axum::Json(json!({ "name": format!("models/{model}/operations/{id}") })).into_response()
}

/// Google's 404 for a model it does not serve; `None` for a served one.
fn missing_model(model: &str) -> Option<Response> {
    if MODELS.contains(&model) {
        None
    } else if RETIRED.contains(&model) {
        Some(google_error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("models/{model} is no longer available."), None))
    } else {
        Some(google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("models/{model} is not found for API version v1beta, or is not supported for predictLongRunning."),
            None,
        ))
    }
}

/// `GET /v1beta/models/{model}` (models.get): the model's card, free.
async fn model_card(State(mock): State<Mock>, Path(model): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("/v1beta/models/{model}"), &headers, Value::Null);
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    if let Some(missing) = missing_model(&model) {
        return missing;
    }
    axum::Json(json!({
        "name": format!("models/{model}"),
        "version": "3.1",
        "displayName": "Veo 3.1",
        "supportedGenerationMethods": ["predictLongRunning"]
    }))
    .into_response()
}

/// `GET /v1beta/models/{model}/operations/{id}`.
async fn operation(
    State(mock): State<Mock>,
    Path((model, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    mock.recorder.record("GET", format!("/v1beta/models/{model}/operations/{id}"), &headers, Value::Null);
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    let mut operations = mock.operations.lock().unwrap();
    let Some(operation) = operations.get_mut(&id) else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Operation not found", None);
    };
    operation.polls += 1;
    let name = format!("models/{model}/operations/{id}");
    let prompt = operation.prompt.as_str();
    if prompt.contains("[flaky]") && operation.polls == 1 {
        return google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            None,
        );
    }
    if operation.polls < 2 || prompt.contains("[slow]") {
        return axum::Json(json!({ "name": name })).into_response();
    }
    let done = |response: Value| {
        axum::Json(json!({
            "name": name,
            "done": true,
            "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": response
            }
        }))
        .into_response()
    };
    if prompt.contains("[moderated]") {
        return done(json!({
            "raiMediaFilteredCount": 1,
            "raiMediaFilteredReasons": ["The video could not be generated: it may violate our usage guidelines (celebrity likeness)."]
        }));
    }
    if prompt.contains("[fails]") {
        return axum::Json(json!({ "name": name, "done": true, "error": { "code": 13, "message": "Video generation failed due to an internal error." } }))
            .into_response();
    }
    let (width, height, duration) = operation.clip;
    let video = if prompt.contains("[inline]") {
        json!({ "encodedVideo": base64::engine::general_purpose::STANDARD.encode(sample_mp4(width, height, duration)), "encoding": "video/mp4" })
    } else {
        json!({ "uri": format!("https://generativelanguage.googleapis.com/v1beta/files/{id}:download?alt=media") })
    };
    done(json!({ "generatedSamples": [ { "video": video } ] }))
}

/// `GET /v1beta/files/{id}:download?alt=media`: only with the key; a redirect
/// to the signed result, or the bytes for `[direct]`.
async fn download(
    State(mock): State<Mock>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    mock.recorder.record(
        "GET",
        format!("/v1beta/files/{file}?{}", query.clone().unwrap_or_default()),
        &headers,
        Value::Null,
    );
    if let Some(refused) = refuse_key(&headers) {
        return refused;
    }
    let operations = mock.operations.lock().unwrap();
    let found = file
        .strip_suffix(":download")
        .filter(|_| query.as_deref() == Some("alt=media"))
        .and_then(|id| operations.get(id).map(|o| (id, o)));
    let Some((id, operation)) = found else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "File not found", None);
    };
    let (width, height, duration) = operation.clip;
    if operation.prompt.contains("[direct]") {
        return ([(header::CONTENT_TYPE, "video/mp4")], sample_mp4(width, height, duration)).into_response();
    }
    let location = format!("{}/results/{id}.mp4?sig=signed", mock.base.get().unwrap());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `GET /results/{id}.mp4`: the signed storage URL (no key needed).
async fn result(State(mock): State<Mock>, Path(file): Path<String>) -> Response {
    let operations = mock.operations.lock().unwrap();
    mp4_file(file.strip_suffix(".mp4").and_then(|id| operations.get(id)).map(|operation| operation.clip))
}

async fn start_mock() -> (MockVendor, Mock) {
    let mock = Mock::default();
    let router = Router::new()
        .route("/v1beta/models/{model}", post(predict).get(model_card))
        .route("/v1beta/models/{model}/operations/{id}", get(operation))
        .route("/v1beta/files/{file}", get(download))
        .route("/results/{file}", get(result))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.base.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

#[tokio::test]
async fn text_and_image_to_video_complete_with_the_file_rehosted() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", KEY)]).await;
    let options = json!({ "aspectRatio": "9:16", "resolution": "1080p", "duration": 8, "negativePrompt": "cartoon" });
    let data_uri = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(PNG));
    let (redirected, direct, inline, from_image) = tokio::join!(
        generate_to_end(&server, &key, "veo", json!({ "text": "A lighthouse in a thunderstorm" }), options),
        generate_to_end(&server, &key, "veo-fast", json!({ "text": "Waves at dusk [direct]" }), json!({})),
        generate_to_end(
            &server,
            &key,
            "veo-lite",
            json!({ "text": "A paper boat [inline]" }),
            json!({ "duration": 4 })
        ),
        generate_to_end(&server, &key, "veo", json!({ "text": "The kitten wakes up", "image": data_uri }), json!({})),
    );

    // Text-to-video: the redirect's target re-hosted, the metadata read from it.
    assert_eq!(redirected["status"], "COMPLETED", "{redirected}\n{}", server.log());
    assert_eq!(redirected["creditCost"], 320);
    assert_rehosted_mp4(&server, &redirected, &sample_mp4(1080, 1920, 8000)).await;
    let [submit] = &mock.submits("lighthouse")[..] else { panic!("one submit: {:?}", mock.seen()) };
    assert_eq!(
        (submit.method.as_str(), submit.path.as_str()),
        ("POST", "/v1beta/models/veo-3.1-generate-001:predictLongRunning")
    );
    assert_eq!(submit.header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        submit.body,
        json!({
            "instances": [ { "prompt": "A lighthouse in a thunderstorm" } ],
            "parameters": { "aspectRatio": "9:16", "resolution": "1080p", "durationSeconds": 8, "negativePrompt": "cartoon" }
        })
    );
    let metadata = metadata(&server, &key, &redirected["id"]).await;
    assert_eq!(
        (metadata["duration"].as_f64(), metadata["resolution"].as_str()),
        (Some(8.0), Some("1080x1920")),
        "{metadata}"
    );
    assert_eq!(metadata["format"], "mp4");
    let seen = mock.seen();
    let polls = seen.iter().filter(|s| s.path.starts_with("/v1beta/models/veo-3.1-generate-001/operations/")).count();
    assert!(polls >= 2, "the operation was polled until done: {seen:?}");
    assert!(
        seen.iter().filter(|s| s.path.starts_with("/v1beta/")).all(|s| s.header("x-goog-api-key") == Some(KEY)),
        "{seen:?}"
    );
    assert!(seen.iter().any(|s| s.path.starts_with("/v1beta/files/op") && s.path.ends_with(":download?alt=media")));

    // Veo Fast with defaults; the download answered with the bytes.
    assert_eq!(direct["status"], "COMPLETED", "{direct}");
    assert_eq!(direct["creditCost"], 80);
    assert_rehosted_mp4(&server, &direct, &sample_mp4(1280, 720, 8000)).await;
    let [fast] = &mock.submits("[direct]")[..] else { panic!("one submit") };
    assert_eq!(fast.path, "/v1beta/models/veo-3.1-fast-generate-001:predictLongRunning");
    assert_eq!(fast.body["parameters"], json!({ "aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8 }));

    // Veo Lite; the clip inline in the operation.
    assert_eq!(inline["status"], "COMPLETED", "{inline}");
    assert_eq!(inline["creditCost"], 20);
    assert_rehosted_mp4(&server, &inline, &sample_mp4(1280, 720, 4000)).await;

    // Image-to-video from a data: URI: the first frame sent inline.
    assert_eq!(from_image["status"], "COMPLETED", "{from_image}");
    let [with_image] = &mock.submits("kitten")[..] else { panic!("one submit") };
    assert_eq!(
        with_image.body["instances"][0]["image"],
        json!({ "bytesBase64Encoded": base64::engine::general_purpose::STANDARD.encode(PNG), "mimeType": "image/png" })
    );
}

#[tokio::test]
async fn vendor_failures_reach_the_right_public_codes() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", KEY)]).await;
    let run = |prompt: &'static str| generate_to_end(&server, &key, "veo", json!({ "text": prompt }), json!({}));
    let (moderated, quota, fails, flaky) = tokio::join!(
        run("A famous actor [moderated]"),
        run("Busy day [quota]"),
        run("Broken [fails]"),
        run("Glitch [flaky]")
    );

    assert_failed(&moderated, "GENERATION_FAILED", &["celebrity likeness"]);
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["exceeded your current quota"]);
    assert_eq!(mock.submits("[quota]").len(), 3, "a rate-limited submit is tried three times");
    assert_failed(&fails, "GENERATION_FAILED", &["internal error"]);
    assert_eq!(flaky["status"], "COMPLETED", "a 503 while polling is retried: {flaky}");
    assert_eq!(credits(&server, &key).await, 100_000 - 320, "failures are refunded");

    assert_job_count(&server, &key, 4).await;
}

/// Values and combinations Veo refuses: no job, the allowed values listed.
/// (A server of its own: the quota test above opens the offering's circuit.)
#[tokio::test]
async fn impossible_requests_are_refused_before_any_job() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", KEY)]).await;
    let refused = [
        ("veo", json!({ "duration": 5 }), "options.duration", "must be one of 4, 6, 8"),
        ("veo-lite", json!({ "resolution": "4k" }), "options.resolution", "must be one of"),
        ("veo", json!({ "aspectRatio": "1:1" }), "options.aspectRatio", "must be one of"),
        ("veo", json!({ "style": "cinematic" }), "options.style", "supported options"),
    ];
    for (provider, options, field, needle) in refused {
        let error = generate(&server, &key, provider, json!({ "text": "x" }), options).await.unwrap_err();
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
        assert_eq!(error["extensions"]["field"], field, "{error}");
        assert!(error["message"].as_str().unwrap().contains(needle), "{error}");
    }
    let lite =
        generate(&server, &key, "veo-lite", json!({ "text": "x" }), json!({ "resolution": "4k" })).await.unwrap_err();
    assert_eq!(lite["extensions"]["allowedValues"], json!(["720p", "1080p"]));
    let combination =
        generate(&server, &key, "veo", json!({ "text": "x" }), json!({ "resolution": "1080p", "duration": 4 }))
            .await
            .unwrap_err();
    assert_eq!(combination["extensions"]["code"], "INVALID_INPUT", "{combination}");
    let message = combination["message"].as_str().unwrap();
    assert!(message.contains("option `duration`") && message.contains("allowed at 1080p: 8"), "{message}");
    let gif = format!("data:image/gif;base64,{}", base64::engine::general_purpose::STANDARD.encode(b"GIF89a"));
    let image = generate(&server, &key, "veo", json!({ "text": "x", "image": gif }), json!({})).await.unwrap_err();
    assert_eq!(image["extensions"]["code"], "INVALID_INPUT", "{image}");
    assert!(image["message"].as_str().unwrap().contains("image/png or image/jpeg"), "{image}");
    assert_job_count(&server, &key, 0).await;
    assert!(mock.submits("").is_empty(), "Veo was never asked to generate");
}

#[tokio::test]
async fn cancel_stops_waiting_and_refunds_nothing() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", KEY)]).await;
    let accepted = generate(&server, &key, "veo-fast", json!({ "text": "Forever [slow]" }), json!({})).await.unwrap();
    let id = accepted["id"].as_str().unwrap();
    // Wait until the vendor has the operation and it is being polled.
    mock.recorder.wait_for("a poll of the operation", |s| s.path.contains("/operations/")).await;
    let cancelled = cancel_to_end(&server, &key, id).await;
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled}");
    assert_eq!(credits(&server, &key).await, 100_000 - 80, "Google bills a cancelled clip, so nothing is refunded");
    assert!(mock.seen().iter().all(|s| !s.path.contains(":cancel")), "Veo has no cancel call");
}

#[tokio::test]
async fn a_refused_key_makes_the_provider_unavailable() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", "not-the-key")]).await;
    let refused = generate_to_end(&server, &key, "veo", json!({ "text": "Wrong key" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["API key not valid"]);
    assert_eq!(mock.submits("Wrong key").len(), 1, "a refused key is not retried");
}

#[tokio::test]
async fn without_a_key_the_offerings_are_unavailable_to_live_keys_only() {
    let server = Server::start_with(ServerOptions::default()).await;
    let providers = server
        .gql("{ providers(type: VIDEO) { id available unavailableReason pricing { creditCost } options { name allowedValues } } }", json!({}))
        .await;
    for (id, credits, resolutions) in [
        ("veo", 320, json!(["720p", "1080p", "4k"])),
        ("veo-fast", 80, json!(["720p", "1080p", "4k"])),
        ("veo-lite", 40, json!(["720p", "1080p"])),
    ] {
        let provider = providers["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {providers}"));
        assert_eq!(provider["available"], false, "{provider}");
        assert!(provider["unavailableReason"].as_str().unwrap().contains("api_key"), "{provider}");
        assert_eq!(provider["pricing"]["creditCost"], credits, "{provider}");
        let options = provider["options"].as_array().unwrap();
        let names: Vec<&str> = options.iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["duration", "resolution", "aspectRatio", "negativePrompt"], "{provider}");
        assert_eq!(options[0]["allowedValues"], json!([4, 6, 8]));
        assert_eq!(options[1]["allowedValues"], resolutions);
    }
    let (_, live) = server.account_with_key("live", 1_000, false);
    let error = generate(&server, &live, "veo", json!({ "text": "No key" }), json!({})).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert!(error["message"].as_str().unwrap().contains("DOITONG_SECRET_VEO_API_KEY"), "{error}");
    let test_mode =
        generate_to_end(&server, &server.key, "veo", json!({ "text": "Test mode" }), json!({ "resolution": "1080p" }))
            .await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 320);
}

/// The portal's card promises 4K; its generic snippet asks for 10 s and a
/// style, which Veo does not have.
#[tokio::test]
async fn portal_card_and_snippet_with_test_and_live_keys() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", KEY)]).await;
    let snippet = "mutation Generate($input: GenerateInput!) { generate(input: $input) { id status type provider url metadata { duration resolution } creditCost estimatedTime } }";
    let four_k = json!({ "input": { "type": "VIDEO", "provider": "veo", "input": { "text": "A glacier calving, 4K" }, "options": { "resolution": "4k", "duration": 8 } } });
    for caller in [server.key.clone(), key.clone()] {
        let (_, _, body) = server.post(Some(&caller), snippet, four_k.clone(), &[]).await;
        let accepted = &body["data"]["generate"];
        assert_eq!(
            (accepted["provider"].as_str(), accepted["creditCost"].as_i64()),
            (Some("veo"), Some(480)),
            "{body}"
        );
        let done = server.wait_terminal(&caller, accepted["id"].as_str().unwrap(), Duration::from_secs(30)).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
    }
    let [live] = &mock.submits("glacier")[..] else { panic!("only the live key reaches Veo") };
    assert_eq!(live.body["parameters"]["resolution"], "4k");

    let portal = json!({ "input": { "type": "VIDEO", "provider": "veo", "input": { "text": "A serene mountain landscape at sunset" }, "options": { "duration": 10, "resolution": "1080p", "style": "cinematic" } } });
    for caller in [&server.key, &key] {
        let (_, _, body) = server.post(Some(caller), snippet, portal.clone(), &[]).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], "options.style", "{body}");
        assert_eq!(
            error["extensions"]["allowedValues"],
            json!(["duration", "resolution", "aspectRatio", "negativePrompt"]),
            "{body}"
        );
    }
}

/// A server like [`live_server`] whose `[plugins.veo]` also carries the
/// operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("veo", vendor, &[("api_key", KEY)], settings).await
}

/// A retired model id (here named by the operator, as a stale setting
/// would) fails the job as `PROVIDER_UNAVAILABLE` with Google's 404, not
/// as the user's fault; another setting moves an offering to a served id.
#[tokio::test]
async fn settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        r#""model.veo" = "veo-3.1-generate-preview", "model.veo-lite" = "veo-3.1-fast-generate-001""#,
    )
    .await;
    let (retired, moved) = tokio::join!(
        generate_to_end(&server, &key, "veo", json!({ "text": "An old preview model" }), json!({})),
        generate_to_end(&server, &key, "veo-lite", json!({ "text": "A lite job on another model" }), json!({})),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["no longer available"]);
    let [old] = &mock.submits("old preview")[..] else { panic!("one submit, not retried: {:?}", mock.seen()) };
    assert_eq!(old.path, "/v1beta/models/veo-3.1-generate-preview:predictLongRunning");
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    let [lite] = &mock.submits("lite job")[..] else { panic!("one submit") };
    assert_eq!(lite.path, "/v1beta/models/veo-3.1-fast-generate-001:predictLongRunning");
    assert_eq!(credits(&server, &key).await, 100_000 - 40, "the failed job is refunded, the other priced as veo-lite");
}

/// Without settings the adapter sends the GA ids only; the preview ids
/// Google shut down never reach it.
#[tokio::test]
async fn the_built_in_models_are_the_ga_ids() {
    let (vendor, mock) = start_mock().await;
    let (server, key) = live_server("veo", &vendor, &[("api_key", KEY)]).await;
    for provider in ["veo", "veo-fast", "veo-lite"] {
        let done =
            generate_to_end(&server, &key, provider, json!({ "text": format!("Built-in {provider}") }), json!({}))
                .await;
        assert_eq!(done["status"], "COMPLETED", "{provider}: {done}");
    }
    let submitted: Vec<String> =
        mock.recorder.filter(|r| r.path.ends_with(":predictLongRunning")).into_iter().map(|r| r.path).collect();
    assert_eq!(submitted.len(), 3, "{submitted:?}");
    assert!(submitted.iter().all(|p| p.contains("-generate-001:") && !p.contains("preview")), "{submitted:?}");
}
