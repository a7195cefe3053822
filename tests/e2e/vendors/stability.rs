//! Mock Stability AI (v2beta Stable Image API) and the `stability` adapter's
//! end-to-end tests.
//!
//! The mock speaks Stability's documented exchange (`shared/vendors/
//! stability.md`): `POST /v2beta/stable-image/generate/{sd3,ultra,core}`
//! with a `multipart/form-data` body, parsed here by an independent reader,
//! answered (for `accept: image/*`) with the image's bytes and the
//! `finish-reason`, `seed` and `x-request-id` headers. Like Stability it
//! refuses with `{"id","name","errors"}`: 401 for a wrong key, 400 for a
//! form Stability would refuse (a missing prompt, unknown fields, values
//! outside an endpoint's enums, `aspect_ratio` or no `strength` with an
//! image, a negative prompt for a turbo model, an input image that is not
//! JPEG/PNG/WebP). Markers in the prompt pick the failure scenarios:
//! `[moderated]` (403 `content_moderation`), `[filtered]` (200 with
//! `finish-reason: CONTENT_FILTERED` and a blurred image), `[busy]` (429),
//! `[no-credits]` (402) and `[flaky]` (the first call answers 503).
//!
//! It serves the models Stability documents today (SD 3.5 Large, Large
//! Turbo, Medium and Flash on `sd3`; Ultra; Core): another `model` is
//! refused 400 `model: must be one of …`, another endpoint 404. `GET
//! /v1/user/balance`, the adapter's health check, answers the credits.
//!
//! Images are real files of the shape the aspect ratio asks for, at an
//! eighth of Stability's size to keep the tests quick (1:1 → 128x128,
//! 21:9 → 192x80); image-to-image keeps the input's size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{
    FormPart, MockVendor, Recorded, Recorder, assert_failed, assert_image, assert_job_count, assert_not_configured,
    assert_rehosted, credits, data_uri, generate_kind, generate_kind_to_end, live_server, option_names,
    parse_multipart, sample_jpeg, sample_png, sample_webp, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "sk-stability-live-4b7e";
const ASPECT_RATIOS: [&str; 9] = ["16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"];
const STYLE_PRESETS: [&str; 17] = [
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
];

/// The pixels of an image Stability makes for `ratio` (an eighth of the
/// real 1-megapixel sizes).
fn frame(ratio: &str) -> (u32, u32) {
    match ratio {
        "16:9" => (168, 96),
        "21:9" => (192, 80),
        "2:3" => (104, 152),
        "3:2" => (152, 104),
        "4:5" => (112, 136),
        "5:4" => (136, 112),
        "9:16" => (96, 168),
        "9:21" => (80, 192),
        _ => (128, 128),
    }
}

/// The file of `format` Stability would send.
fn image_file(format: &str, (width, height): (u32, u32)) -> (Vec<u8>, &'static str) {
    match format {
        "jpeg" => (sample_jpeg(width, height), "image/jpeg"),
        "webp" => (sample_webp(width, height), "image/webp"),
        _ => (sample_png(width, height), "image/png"),
    }
}

/// What the mock remembers.
#[derive(Default)]
struct Mock {
    recorder: Recorder,
    /// Calls per prompt, for `[flaky]`.
    calls: Mutex<HashMap<String, u32>>,
    /// The file served for each prompt.
    served: Mutex<HashMap<String, Vec<u8>>>,
    next_id: AtomicU64,
}

impl Mock {
    /// Every generate call whose prompt contains `marker`.
    fn calls(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.body["prompt"].as_str().is_some_and(|p| p.contains(marker)))
    }

    /// The one call whose prompt contains `marker`.
    fn call(&self, marker: &str) -> Recorded {
        the_one(self.calls(marker), format_args!("one call for {marker:?}"))
    }

    /// The file served for the prompt containing `marker`.
    fn served(&self, marker: &str) -> Vec<u8> {
        let served = self.served.lock().unwrap();
        served.iter().find(|(p, _)| p.contains(marker)).map(|(_, f)| f.clone()).expect("served")
    }

    fn request_id(&self) -> String {
        format!("{:032x}", 0xa1b2_c3d4_0000 + self.next_id.fetch_add(1, Ordering::SeqCst))
    }
}

/// Stability's error answer.
fn error(mock: &Mock, status: StatusCode, name: &str, errors: &[&str]) -> Response {
    (status, Json(json!({ "id": mock.request_id(), "name": name, "errors": errors }))).into_response()
}

/// The form as JSON for the recorder: text fields as strings, the image as
/// its file name, type and base64 bytes.
fn form_json(parts: &[FormPart]) -> Value {
    let mut fields = Map::new();
    for part in parts {
        let value = match &part.filename {
            Some(filename) => json!({
                "filename": filename,
                "content_type": part.content_type,
                "base64": base64::engine::general_purpose::STANDARD.encode(&part.body),
            }),
            None => Value::from(String::from_utf8_lossy(&part.body).into_owned()),
        };
        fields.insert(part.name.clone(), value);
    }
    Value::Object(fields)
}

/// Why Stability would refuse this form (400), if it would.
fn invalid_form(service: &str, form: &Value, image: Option<&FormPart>) -> Option<String> {
    let fields: &[&str] = match service {
        "sd3" => &[
            "prompt",
            "model",
            "mode",
            "image",
            "strength",
            "aspect_ratio",
            "negative_prompt",
            "seed",
            "output_format",
            "style_preset",
            "cfg_scale",
        ],
        "ultra" => {
            &["prompt", "image", "strength", "aspect_ratio", "negative_prompt", "seed", "output_format", "style_preset"]
        }
        _ => &["prompt", "aspect_ratio", "negative_prompt", "seed", "output_format", "style_preset"],
    };
    let object = form.as_object()?;
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Some(format!("{unknown}: unknown field"));
    }
    let text = |name: &str| form.get(name).and_then(Value::as_str);
    match text("prompt").map(|p| p.chars().count()) {
        None | Some(0) => return Some("prompt: is required".into()),
        Some(10_001..) => return Some("prompt: too long".into()),
        _ => {}
    }
    let formats: &[&str] = if service == "sd3" { &["png", "jpeg"] } else { &["png", "jpeg", "webp"] };
    if text("output_format").is_some_and(|f| !formats.contains(&f)) {
        return Some("output_format: must be one of png, jpeg(, webp)".into());
    }
    if text("aspect_ratio").is_some_and(|r| !ASPECT_RATIOS.contains(&r)) {
        return Some("aspect_ratio: invalid".into());
    }
    if text("style_preset").is_some_and(|s| !STYLE_PRESETS.contains(&s)) {
        return Some("style_preset: invalid".into());
    }
    if let Some(seed) = text("seed")
        && !seed.parse::<u64>().is_ok_and(|s| s <= 4_294_967_294)
    {
        return Some("seed: must be between 0 and 4294967294".into());
    }
    let number =
        |name: &str, low: f64, high: f64| text(name).map(|v| v.parse::<f64>().is_ok_and(|n| (low..=high).contains(&n)));
    if number("cfg_scale", 1.0, 10.0) == Some(false) {
        return Some("cfg_scale: must be between 1 and 10".into());
    }
    if number("strength", 0.0, 1.0) == Some(false) {
        return Some("strength: must be between 0 and 1".into());
    }
    let model = text("model").unwrap_or("sd3.5-large");
    if service == "sd3" {
        if !["sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash"].contains(&model) {
            return Some(format!(
                "model: must be one of sd3.5-large, sd3.5-large-turbo, sd3.5-medium, sd3.5-flash; got {model}"
            ));
        }
        if model.ends_with("turbo") && form.get("negative_prompt").is_some() {
            return Some("negative_prompt: not supported by turbo models".into());
        }
        let i2i = match text("mode").unwrap_or("text-to-image") {
            "text-to-image" => false,
            "image-to-image" => true,
            other => return Some(format!("mode: invalid {other}")),
        };
        if i2i != image.is_some() {
            return Some("image: required with mode image-to-image, refused otherwise".into());
        }
    }
    if let Some(image) = image {
        if form.get("strength").is_none() {
            return Some("strength: is required with an image".into());
        }
        if form.get("aspect_ratio").is_some() {
            return Some("aspect_ratio: not accepted with an image".into());
        }
        let webp = image.body.starts_with(b"RIFF") && image.body.get(8..12) == Some(b"WEBP".as_slice());
        let known = image.body.starts_with(b"\x89PNG") || image.body.starts_with(&[0xFF, 0xD8]) || webp;
        if !known || image.content_type.is_none() || image.filename.is_none() {
            return Some("image: must be a JPEG, PNG or WebP file".into());
        }
    } else if form.get("strength").is_some() {
        return Some("strength: only with an image".into());
    }
    None
}

async fn generate_image(
    State(mock): State<Arc<Mock>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let parts = match parse_multipart(&header("content-type"), &body) {
        Ok(parts) => parts,
        Err(why) => {
            mock.recorder.record("POST", format!("/v2beta/stable-image/generate/{service}"), &headers, Value::Null);
            return error(&mock, StatusCode::BAD_REQUEST, "bad_request", &[&format!("body: {why}")]);
        }
    };
    let form = form_json(&parts);
    mock.recorder.record("POST", format!("/v2beta/stable-image/generate/{service}"), &headers, form.clone());
    if header("authorization") != format!("Bearer {KEY}") {
        return error(&mock, StatusCode::UNAUTHORIZED, "unauthorized", &["authorization: invalid or missing API key"]);
    }
    if !["sd3", "ultra", "core"].contains(&service.as_str()) {
        return error(&mock, StatusCode::NOT_FOUND, "not_found", &["no such endpoint"]);
    }
    if header("accept") != "image/*" {
        return error(&mock, StatusCode::BAD_REQUEST, "bad_request", &["accept: this mock answers image/* only"]);
    }
    let image = parts.iter().find(|p| p.name == "image");
    if let Some(why) = invalid_form(&service, &form, image) {
        return error(&mock, StatusCode::BAD_REQUEST, "bad_request", &[&why]);
    }
    let prompt = form["prompt"].as_str().unwrap_or_default().to_string();
    let calls = {
        let mut calls = mock.calls.lock().unwrap();
        let count = calls.entry(prompt.clone()).or_default();
        *count += 1;
        *count
    };
    if prompt.contains("[moderated]") {
        let why = "Your request was flagged by our content moderation system, as a result your request was denied \
                   and you were not charged.";
        return error(&mock, StatusCode::FORBIDDEN, "content_moderation", &[why]);
    }
    if prompt.contains("[busy]") {
        return error(
            &mock,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            &["You have exceeded the rate limit"],
        );
    }
    if prompt.contains("[no-credits]") {
        return error(&mock, StatusCode::PAYMENT_REQUIRED, "payment_required", &["You lack sufficient credits"]);
    }
    if prompt.contains("[flaky]") && calls == 1 {
        return error(&mock, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", &["try again"]);
    }
    let size = match image {
        Some(image) if image.body.starts_with(b"\x89PNG") => {
            let width = u32::from_be_bytes(image.body[16..20].try_into().unwrap());
            let height = u32::from_be_bytes(image.body[20..24].try_into().unwrap());
            (width, height)
        }
        _ => frame(form["aspect_ratio"].as_str().unwrap_or("1:1")),
    };
    let (file, mime) = image_file(form["output_format"].as_str().unwrap_or("png"), size);
    mock.served.lock().unwrap().insert(prompt.clone(), file.clone());
    let finish = if prompt.contains("[filtered]") { "CONTENT_FILTERED" } else { "SUCCESS" };
    let seed = form["seed"].as_str().unwrap_or("2718281828").to_string();
    let answer_headers = [
        ("content-type", mime.to_string()),
        ("finish-reason", finish.to_string()),
        ("seed", seed),
        ("x-request-id", mock.request_id()),
    ];
    let mut response = file.into_response();
    for (name, value) in answer_headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// `GET /v1/user/balance`: the account's credits.
async fn balance(State(mock): State<Arc<Mock>>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", "/v1/user/balance", &headers, Value::Null);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        return error(&mock, StatusCode::UNAUTHORIZED, "unauthorized", &["authorization: invalid or missing API key"]);
    }
    Json(json!({ "credits": 412.5 })).into_response()
}

/// Start the mock Stability.
async fn mock_stability() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v2beta/stable-image/generate/{service}", post(generate_image))
        .route("/v1/user/balance", get(balance))
        .with_state(mock.clone());
    (MockVendor::start(router).await, mock)
}

/// Generate an image with `key` and wait for the end.
async fn run(server: &Server, key: &str, provider: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "IMAGE", provider, input, options).await
}

/// The recorded form minus the image's bytes.
fn fields(recorded: &Recorded) -> Value {
    let mut body = recorded.body.clone();
    if let Some(image) = body.get_mut("image").and_then(Value::as_object_mut) {
        image.remove("base64");
    }
    body
}

#[tokio::test]
async fn stability_text_and_image_to_image_complete_with_the_file_stored() {
    let (vendor, mock) = mock_stability().await;
    let (server, key) = live_server("stability", &vendor, &[("api_key", KEY)]).await;
    let input = sample_png(96, 72);
    let ultra_options = json!({
        "aspectRatio": "21:9", "seed": 42, "negativePrompt": "blurry, watermark",
        "stylePreset": "cinematic", "outputFormat": "webp"
    });
    let i2i = json!({ "text": "the same street at night [i2i]", "image": data_uri("image/png", &input) });
    let (sd, ultra, core, from_image) = tokio::join!(
        run(
            &server,
            &key,
            "stable-diffusion",
            json!({ "text": "a fox in a snowy forest, watercolor [sd]" }),
            json!({})
        ),
        run(&server, &key, "stable-image-ultra", json!({ "text": "a lighthouse in a storm [ultra]" }), ultra_options),
        run(
            &server,
            &key,
            "stable-image-core",
            json!({ "text": "a bowl of ramen [core]" }),
            json!({ "outputFormat": "jpeg", "aspectRatio": "9:16" })
        ),
        run(&server, &key, "stable-diffusion", i2i, json!({ "model": "sd3.5-medium", "strength": 0.7, "cfgScale": 6 })),
    );

    // SD 3.5 Large with every default: a 1:1 PNG, 7 credits, stored as served.
    assert_image(&sd, "stable-diffusion", 7, "png", (128, 128));
    assert_rehosted(&server, &sd, "image/png", &mock.served("[sd]")).await;
    let call = mock.call("[sd]");
    assert_eq!(call.path, "/v2beta/stable-image/generate/sd3");
    assert_eq!(call.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(call.header("accept"), Some("image/*"));
    assert_eq!(call.header("stability-client-id"), Some("doitong"));
    assert!(call.header("content-type").unwrap().starts_with("multipart/form-data; boundary="), "{call:?}");
    assert_eq!(
        call.body,
        json!({
            "prompt": "a fox in a snowy forest, watercolor [sd]",
            "model": "sd3.5-large",
            "mode": "text-to-image",
            "aspect_ratio": "1:1",
            "output_format": "png",
        })
    );

    // Ultra with every option mapped: a 21:9 WebP, 8 credits.
    assert_image(&ultra, "stable-image-ultra", 8, "webp", (192, 80));
    assert_rehosted(&server, &ultra, "image/webp", &mock.served("[ultra]")).await;
    let call = mock.call("[ultra]");
    assert_eq!(call.path, "/v2beta/stable-image/generate/ultra");
    assert_eq!(
        call.body,
        json!({
            "prompt": "a lighthouse in a storm [ultra]",
            "aspect_ratio": "21:9",
            "negative_prompt": "blurry, watermark",
            "seed": "42",
            "output_format": "webp",
            "style_preset": "cinematic",
        })
    );

    // Core: a 9:16 JPEG for 3 credits.
    assert_image(&core, "stable-image-core", 3, "jpg", (96, 168));
    assert_rehosted(&server, &core, "image/jpeg", &mock.served("[core]")).await;
    assert_eq!(mock.call("[core]").path, "/v2beta/stable-image/generate/core");

    // Image to image from a data: URI: the file goes as a part, and the
    // output keeps its size. SD 3.5 Medium, 4 credits.
    assert_image(&from_image, "stable-diffusion", 4, "png", (96, 72));
    let call = mock.call("[i2i]");
    assert_eq!(
        fields(&call),
        json!({
            "prompt": "the same street at night [i2i]",
            "model": "sd3.5-medium",
            "mode": "image-to-image",
            "image": { "filename": "image.png", "content_type": "image/png" },
            "strength": "0.7",
            "output_format": "png",
            "cfg_scale": "6",
        })
    );
    let sent =
        base64::engine::general_purpose::STANDARD.decode(call.body["image"]["base64"].as_str().unwrap()).unwrap();
    assert_eq!(sent, input, "the input image went to Stability byte for byte");

    assert_eq!(credits(&server, &key).await, 100_000 - 7 - 8 - 3 - 4);
}

#[tokio::test]
async fn stability_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_stability().await;
    let (server, key) = live_server("stability", &vendor, &[("api_key", KEY)]).await;
    let sd = |prompt: &str| json!({ "text": prompt });
    let tiny = json!({ "text": "a tiny picture [tiny]", "image": data_uri("image/png", &sample_png(32, 32)) });
    let (moderated, filtered, busy, broke, flaky, too_small) = tokio::join!(
        run(&server, &key, "stable-diffusion", sd("something forbidden [moderated]"), json!({})),
        run(&server, &key, "stable-image-ultra", sd("something that renders badly [filtered]"), json!({})),
        run(&server, &key, "stable-image-core", sd("a crowd at rush hour [busy]"), json!({})),
        run(&server, &key, "stable-image-core", sd("a penniless painter [no-credits]"), json!({})),
        run(&server, &key, "stable-image-core", sd("a river at dusk [flaky]"), json!({})),
        run(&server, &key, "stable-image-ultra", tiny, json!({})),
    );
    assert_failed(
        &moderated,
        "GENERATION_FAILED",
        &["content_moderation (HTTP 403)", "flagged by our content moderation"],
    );
    assert_eq!(mock.calls("[moderated]").len(), 1, "moderation is final");
    assert_failed(&filtered, "GENERATION_FAILED", &["CONTENT_FILTERED", "not delivered"]);
    assert_eq!(filtered["url"], Value::Null, "the blurred image is not stored");
    // Rate limited: retryable, so the host called three times in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["rate_limit_exceeded (HTTP 429)"]);
    assert_eq!(mock.calls("[busy]").len(), 3, "the host retries a rate-limited call");
    // Out of credits: no use retrying.
    assert_failed(&broke, "PROVIDER_UNAVAILABLE", &["payment_required (HTTP 402)", "sufficient credits"]);
    assert_eq!(mock.calls("[no-credits]").len(), 1);
    // A transient 503, then the image.
    assert_image(&flaky, "stable-image-core", 3, "png", (128, 128));
    assert_eq!(mock.calls("[flaky]").len(), 2);
    // An input image Stability would refuse never reaches it.
    assert_failed(&too_small, "INVALID_INPUT", &["input.image is 32x32 pixels", "at least 64 pixels a side"]);
    assert!(mock.calls("[tiny]").is_empty());

    // Combinations Stability cannot make: refused before any job exists.
    let image = data_uri("image/png", &sample_png(80, 80));
    let cases = [
        (
            "stable-image-ultra",
            json!({ "text": "x [refused]", "image": image.clone() }),
            json!({ "aspectRatio": "16:9" }),
            "provider `stable-image-ultra` refused the request: option `aspectRatio` of provider `stable-image-ultra` \
             applies only to text-to-image: with input.image the output keeps the image's shape; got 16:9",
        ),
        (
            "stable-diffusion",
            json!({ "text": "x [refused]" }),
            json!({ "model": "sd3.5-large-turbo", "negativePrompt": "blur" }),
            "provider `stable-diffusion` refused the request: option `negativePrompt` of provider `stable-diffusion` \
             is not supported by model `sd3.5-large-turbo`, which ignores negative prompts; models that take it: \
             sd3.5-large, sd3.5-medium",
        ),
        (
            "stable-diffusion",
            json!({ "text": "x [refused]" }),
            json!({ "strength": 0.4 }),
            "provider `stable-diffusion` refused the request: option `strength` of provider `stable-diffusion` \
             applies only to image-to-image: give input.image or leave `strength` out",
        ),
        (
            "stable-diffusion",
            json!({ "text": "x [refused]" }),
            json!({ "outputFormat": "webp" }),
            "option `outputFormat` of provider `stable-diffusion` must be one of \"png\", \"jpeg\"; got \"webp\"",
        ),
        (
            "stable-image-ultra",
            json!({ "text": "x [refused]" }),
            json!({ "cfgScale": 5 }),
            "option `cfgScale` is not supported by provider `stable-image-ultra`; supported options: aspectRatio, \
             negativePrompt, seed, outputFormat, stylePreset, strength",
        ),
        (
            "stable-image-core",
            json!({ "text": "x [refused]", "image": image }),
            json!({}),
            "provider `stable-image-core` does not accept input.image; it accepts text",
        ),
        (
            "stable-diffusion",
            json!({ "text": "x [refused]" }),
            json!({ "seed": 4_294_967_295_u64 }),
            "option `seed` of provider `stable-diffusion` must be between 0 and 4294967294; got 4294967295",
        ),
    ];
    for (provider, input, options, message) in cases {
        let error = generate_kind(&server, &key, "IMAGE", provider, input, options.clone()).await.expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        assert_eq!(error["message"], message, "{options}");
    }
    assert!(mock.calls("[refused]").is_empty(), "nothing refused reached Stability");
    assert_job_count(&server, &key, 6).await;

    // Every failure was refunded; only the flaky one was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 3);
}

#[tokio::test]
async fn stability_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_stability().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("stability", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("stability", &vendor, &[("api_key", "sk-revoked")]).await;

    // No secret: listed as unavailable, live keys refused, test keys served.
    let query = "{ providers(type: IMAGE) { id vendor available unavailableReason quality \
                 pricing { creditCost estimatedTime } options { name allowedValues default } } }";
    let data = unconfigured.gql(query, json!({})).await;
    let providers = data["providers"].as_array().unwrap();
    let listed: Vec<(String, i64, i64)> = ["stable-diffusion", "stable-image-ultra", "stable-image-core"]
        .iter()
        .map(|id| {
            let p = providers.iter().find(|p| p["id"] == *id).unwrap_or_else(|| panic!("{id} listed: {data}"));
            assert_eq!(p["available"], false, "{p}");
            assert_eq!(p["unavailableReason"], "missing secret(s): api_key", "{p}");
            assert_eq!(p["vendor"], "Stability AI");
            (id.to_string(), p["pricing"]["creditCost"].as_i64().unwrap(), p["quality"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("stable-diffusion".to_string(), 7, 82),
            ("stable-image-ultra".to_string(), 8, 90),
            ("stable-image-core".to_string(), 3, 72)
        ]
    );
    let sd = providers.iter().find(|p| p["id"] == "stable-diffusion").unwrap();
    let options = option_names(sd);
    assert_eq!(
        options,
        ["model", "aspectRatio", "negativePrompt", "seed", "outputFormat", "stylePreset", "cfgScale", "strength"]
    );
    assert_eq!(sd["options"][0]["default"], "sd3.5-large");
    assert_eq!(
        sd["options"][0]["allowedValues"],
        json!(["sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash"])
    );
    assert_not_configured(
        &unconfigured,
        &live,
        "IMAGE",
        "stable-image-core",
        json!({ "text": "a fox" }),
        json!({}),
        "stability",
    )
    .await;
    let test_mode = run(
        &unconfigured,
        &unconfigured.key,
        "stable-diffusion",
        json!({ "text": "a fox [test mode]" }),
        json!({ "model": "sd3.5-flash" }),
    )
    .await;
    assert_eq!((test_mode["status"].as_str(), test_mode["creditCost"].as_i64()), (Some("COMPLETED"), Some(3)));

    // A key Stability refuses (401): final, not retried.
    let refused = run(&wrong, &wrong_key, "stable-image-core", json!({ "text": "a fox [wrong key]" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["unauthorized (HTTP 401)", "invalid or missing API key"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("authorization"), Some("Bearer sk-revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach Stability");
    assert_eq!(credits(&wrong, &wrong_key).await, 100_000, "refunded");
}

/// The portal has no Stability snippet; its IMAGE example (written for
/// `flux-ultra`) is what users try on other image providers first.
#[tokio::test]
async fn stability_answers_the_portals_image_example_exactly() {
    let (vendor, mock) = mock_stability().await;
    let (server, key) = live_server("stability", &vendor, &[("api_key", KEY)]).await;
    let text = json!({ "text": "Photorealistic portrait in Rembrandt style" });
    let portal = json!({ "aspectRatio": "16:9", "quality": "ultra", "seed": 42 });
    let error = generate_kind(&server, &key, "IMAGE", "stable-image-ultra", text.clone(), portal).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "options.quality", "{error}");
    assert_eq!(
        error["message"],
        "option `quality` is not supported by provider `stable-image-ultra`; supported options: aspectRatio, \
         negativePrompt, seed, outputFormat, stylePreset, strength"
    );
    assert!(mock.recorder.requests().is_empty());
    // Without `quality` (Ultra is Stability's best already), it runs as asked.
    let done = run(&server, &key, "stable-image-ultra", text, json!({ "aspectRatio": "16:9", "seed": 42 })).await;
    assert_image(&done, "stable-image-ultra", 8, "png", (168, 96));
    let call = mock.call("Rembrandt");
    assert_eq!((call.body["aspect_ratio"].as_str(), call.body["seed"].as_str()), (Some("16:9"), Some("42")));
}

/// A server like [`live_server`] whose `[plugins.stability]` also carries
/// the operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("stability", vendor, &[("api_key", KEY)], settings).await
}

/// A model Stability no longer serves (a stale setting naming SD3 Large)
/// fails as `PROVIDER_UNAVAILABLE`, not retried and refunded; a setting
/// for another model value reaches Stability as the form's `model`.
#[tokio::test]
async fn stability_settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = mock_stability().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        r#""model.stable-diffusion" = "sd3-large", "model.stable-diffusion.sd3.5-flash" = "sd3.5-medium""#,
    )
    .await;
    let (retired, moved) = tokio::join!(
        run(&server, &key, "stable-diffusion", json!({ "text": "an old model [retired]" }), json!({})),
        run(
            &server,
            &key,
            "stable-diffusion",
            json!({ "text": "a quick one [moved]" }),
            json!({ "model": "sd3.5-flash" })
        ),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["must be one of", "sd3-large"]);
    assert_eq!(mock.calls("[retired]").len(), 1, "not retried: {:?}", mock.recorder.requests());
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    assert_eq!(fields(&mock.call("[moved]"))["model"], "sd3.5-medium");
    assert_eq!(credits(&server, &key).await, 100_000 - 3, "the failed job is refunded; flash is priced as flash");
}
