//! Mock of Google's Gemini API for its image models
//! (`models/{model}:generateContent` with image output, and `models.get`)
//! and the `gemini-image` plugin's end-to-end tests (offerings
//! `gemini-image`, `gemini-image-pro`).
//!
//! The mock follows Google's documentation as checked on 2026-12-07 (the
//! plugin README lists the sources), not the adapter: it wants
//! `x-goog-api-key` (a wrong key gets Google's 400 `API_KEY_INVALID`);
//! serves only the GA models `gemini-3.1-flash-image` and
//! `gemini-3-pro-image` (and one successor id a test's settings name),
//! answering 404 `NOT_FOUND` for any other id, as Google does for the
//! retired previews, Gemini 2.5 Flash Image and Imagen; reads the body as
//! the REST API does (camelCase or snake_case, unknown fields refused,
//! `IMAGE` in `responseModalities`, each model's own aspect ratios and
//! `imageSize` values, upper-case `K` only, one candidate, inline reference
//! images that decode to a PNG, JPEG or WebP); and answers synchronously with
//! a real image in `candidates[0].content.parts[].inlineData`, sized as
//! Google sizes it for the frame and size class (without a frame: 1:1, or
//! the reference image's nearest frame).
//!
//! Markers in the prompt pick the scenarios: `[blocked]` (the prompt
//! blocked: `promptFeedback.blockReason`), `[image-safety]` (the image
//! withheld: `finishReason: IMAGE_SAFETY`), `[no-image]` (text instead of
//! an image, `finishReason: NO_IMAGE`), `[quota]` (429 `RESOURCE_EXHAUSTED`
//! with `RetryInfo`), `[flaky]` (a 503 the first time) and `[jpeg]` (the
//! image comes back as a JPEG).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_not_configured, assert_status, credits,
    data_uri, generate_kind, generate_kind_to_end, live_server, sample_jpeg, sample_png, sample_png_tinted, the_one,
};
use crate::harness::Server;

/// The key the mock accepts.
const KEY: &str = "gemini-test-key";
/// Gemini 3.1 Flash Image (GA 2026-05-28).
const FLASH: &str = "gemini-3.1-flash-image";
/// Gemini 3 Pro Image (GA 2026-05-28).
const PRO: &str = "gemini-3-pro-image";
/// A successor id the settings test points `gemini-image` at; the mock
/// serves it as it serves Flash.
const NEXT_FLASH: &str = "gemini-3.2-flash-image";
/// Shut down on 2026-06-25 (Google's deprecations page).
const RETIRED_PRO_PREVIEW: &str = "gemini-3-pro-image-preview";

const FLASH_RATIOS: &[&str] =
    &["1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16", "16:9", "21:9"];
const PRO_RATIOS: &[&str] = &["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];

/// Pixels at 1K per frame (Gemini 3 image models; 2K doubles them, 4K
/// quadruples, 512 halves). The four extreme frames are Flash-only.
const PIXELS_1K: &[(&str, u32, u32)] = &[
    ("1:1", 1024, 1024),
    ("2:3", 848, 1264),
    ("3:2", 1264, 848),
    ("3:4", 896, 1200),
    ("4:3", 1200, 896),
    ("4:5", 928, 1152),
    ("5:4", 1152, 928),
    ("9:16", 768, 1376),
    ("16:9", 1376, 768),
    ("21:9", 1584, 672),
    ("1:4", 512, 2048),
    ("4:1", 2048, 512),
    ("1:8", 384, 3072),
    ("8:1", 3072, 384),
];

/// The portal's image example (written for `flux-ultra`), as users try it first.
const PORTAL_IMAGE_SNIPPET: &str = r#"{"type":"IMAGE","provider":"flux-ultra","input":{"text":"Photorealistic portrait in Rembrandt style"},"options":{"aspectRatio":"16:9","quality":"ultra","seed":42}}"#;

/// What a model accepts.
struct Model {
    ratios: &'static [&'static str],
    sizes: &'static [&'static str],
}

fn model(id: &str) -> Option<Model> {
    match id {
        FLASH | NEXT_FLASH => Some(Model { ratios: FLASH_RATIOS, sizes: &["512", "1K", "2K", "4K"] }),
        PRO => Some(Model { ratios: PRO_RATIOS, sizes: &["1K", "2K", "4K"] }),
        _ => None,
    }
}

/// The pixel size Google renders `ratio` at in `size`.
fn pixels(ratio: &str, size: &str) -> (u32, u32) {
    let (_, width, height) = *PIXELS_1K.iter().find(|(r, ..)| *r == ratio).unwrap();
    match size {
        "512" => (width / 2, height / 2),
        "2K" => (width * 2, height * 2),
        "4K" => (width * 4, height * 4),
        _ => (width, height),
    }
}

/// The frame nearest a reference image's shape, among `ratios`.
fn nearest_ratio(ratios: &[&'static str], (width, height): (u32, u32)) -> &'static str {
    let shape = |r: &str| {
        let (w, h) = r.split_once(':').unwrap();
        w.parse::<f64>().unwrap() / h.parse::<f64>().unwrap()
    };
    let target = f64::from(width) / f64::from(height);
    ratios.iter().copied().min_by(|a, b| (shape(a) - target).abs().total_cmp(&(shape(b) - target).abs())).unwrap()
}

/// The image the mock renders for `prompt`: a PNG (or a JPEG for
/// `[jpeg]`) of `width`×`height`.
fn rendered(prompt: &str, (width, height): (u32, u32)) -> (Vec<u8>, &'static str) {
    if prompt.contains("[jpeg]") {
        (sample_jpeg(width, height), "image/jpeg")
    } else {
        (sample_png_tinted(width, height, 60), "image/png")
    }
}

/// What one valid request asks for.
struct Ask {
    prompt: String,
    ratio: &'static str,
    size: String,
}

#[derive(Default)]
struct Gemini {
    recorder: Recorder,
    /// Prompts already answered once (for `[flaky]`).
    answered: Mutex<Vec<String>>,
}

type Mock = Arc<Gemini>;

impl Gemini {
    /// The `generateContent` calls whose prompt contains `needle`.
    fn calls(&self, needle: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| {
            r.method == "POST" && r.body["contents"][0]["parts"][0]["text"].as_str().is_some_and(|p| p.contains(needle))
        })
    }

    /// The one call whose prompt contains `needle`.
    fn call(&self, needle: &str) -> Recorded {
        the_one(self.calls(needle), format_args!("one call for {needle:?}"))
    }
}

fn google_error(status: StatusCode, canonical: &str, message: &str, details: Value) -> Response {
    let body =
        json!({ "error": { "code": status.as_u16(), "message": message, "status": canonical, "details": details } });
    (status, axum::Json(body)).into_response()
}

fn invalid(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message, json!([]))
}

fn bad_key() -> Response {
    google_error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        json!([{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com" }]),
    )
}

fn not_found(model: &str) -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!(
            "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call \
             ListModels to see the list of available models and their supported methods."
        ),
        json!([]),
    )
}

/// A field of `object` under its camelCase or snake_case name.
fn field<'a>(object: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    object.get(camel).or_else(|| object.get(snake))
}

/// Refuse names outside `known` the way the REST API does.
fn only(object: &Value, known: &[&str], at: &str) -> Result<(), String> {
    let map = object.as_object().ok_or(format!("{at} must be an object"))?;
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(name) => {
            Err(format!("Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."))
        }
        None => Ok(()),
    }
}

/// The Gemini API's checks of a `generateContent` body for `model`.
fn check_body(model: &Model, body: &Value) -> Result<Ask, String> {
    only(body, &["contents", "generationConfig", "generation_config", "safetySettings", "safety_settings"], "")?;
    let contents = body["contents"].as_array().filter(|c| !c.is_empty()).ok_or("contents is not specified")?;
    let mut prompt = String::new();
    let mut reference = None;
    for content in contents {
        only(content, &["role", "parts"], "contents[0]")?;
        if let Some(role) = content.get("role").and_then(Value::as_str)
            && role != "user"
        {
            return Err(format!("Please use a valid role: user, model. Got {role}"));
        }
        let parts = content["parts"].as_array().filter(|p| !p.is_empty()).ok_or("contents.parts must not be empty")?;
        for part in parts {
            only(part, &["text", "inlineData", "inline_data"], "contents[0].parts[0]")?;
            if let Some(text) = part.get("text") {
                prompt.push_str(text.as_str().ok_or("text must be a string")?);
            } else if let Some(blob) = field(part, "inlineData", "inline_data") {
                let mime = field(blob, "mimeType", "mime_type").and_then(Value::as_str).unwrap_or_default();
                if !["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"].contains(&mime) {
                    return Err(format!("Unsupported MIME type: {mime}"));
                }
                let data = blob["data"].as_str().ok_or("inline_data.data is required")?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(
                    |_| "Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES), Base64 decoding failed",
                )?;
                let size = imagesize::blob_size(&bytes).map_err(|_| "Unable to process input image. Please retry")?;
                reference = Some((size.width as u32, size.height as u32));
            }
        }
    }
    if prompt.trim().is_empty() {
        return Err("contents.parts must contain text".into());
    }
    let config = field(body, "generationConfig", "generation_config").cloned().unwrap_or(json!({}));
    let modalities: Vec<&str> = field(&config, "responseModalities", "response_modalities")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| vec!["TEXT", "IMAGE"]);
    if !modalities.contains(&"IMAGE") {
        return Err("Model does not support the requested response modalities: text".into());
    }
    if let Some(count) = field(&config, "candidateCount", "candidate_count")
        && count.as_u64() != Some(1)
    {
        return Err("Multiple candidates is not enabled for this model".into());
    }
    let image = field(&config, "imageConfig", "image_config").cloned().unwrap_or(json!({}));
    only(&image, &["aspectRatio", "aspect_ratio", "imageSize", "image_size"], "generation_config.image_config")?;
    let ratio = match field(&image, "aspectRatio", "aspect_ratio").map(|r| r.as_str().unwrap_or_default()) {
        Some(r) => *model.ratios.iter().find(|m| **m == r).ok_or(format!("Unsupported aspect ratio: {r}"))?,
        None => reference.map_or("1:1", |shape| nearest_ratio(model.ratios, shape)),
    };
    let size = match field(&image, "imageSize", "image_size").map(|s| s.as_str().unwrap_or_default()) {
        Some(s) if model.sizes.contains(&s) => s.to_string(),
        Some(s) => return Err(format!("Unsupported image size: {s}. Supported values: {}", model.sizes.join(", "))),
        None => "1K".into(),
    };
    Ok(Ask { prompt, ratio, size })
}

/// `POST /v1beta/models/{model}:generateContent`.
async fn generate_content(
    State(mock): State<Mock>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    mock.recorder.record("POST", format!("/v1beta/models/{target}"), &headers, body.clone());
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return bad_key();
    }
    let Some(model_id) = target.strip_suffix(":generateContent") else {
        return not_found(target.split(':').next().unwrap_or_default());
    };
    let Some(served) = model(model_id) else { return not_found(model_id) };
    let ask = match check_body(&served, &body) {
        Ok(ask) => ask,
        Err(why) => return invalid(&why),
    };
    let first_time = {
        let mut answered = mock.answered.lock().unwrap();
        let first = !answered.contains(&ask.prompt);
        answered.push(ask.prompt.clone());
        first
    };
    let usage = json!({ "promptTokenCount": 12, "totalTokenCount": 12 });
    if ask.prompt.contains("[blocked]") {
        return axum::Json(
            json!({ "promptFeedback": { "blockReason": "PROHIBITED_CONTENT" }, "usageMetadata": usage }),
        )
        .into_response();
    } else if ask.prompt.contains("[image-safety]") {
        return axum::Json(json!({
            "candidates": [ { "finishReason": "IMAGE_SAFETY", "finishMessage": "Unable to show the generated image.", "index": 0 } ],
            "usageMetadata": usage
        }))
        .into_response();
    } else if ask.prompt.contains("[no-image]") {
        return axum::Json(json!({
            "candidates": [ {
                "content": { "role": "model", "parts": [ { "text": "I can't draw that, but here is a description." } ] },
                "finishReason": "NO_IMAGE",
                "index": 0
            } ],
            "usageMetadata": usage
        }))
        .into_response();
    } else if ask.prompt.contains("[quota]") {
        return google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            json!([
                { "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    { "quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model",
                      "quotaId": "GenerateRequestsPerMinutePerProjectPerModel" } ] },
                { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s" }
            ]),
        );
    } else if ask.prompt.contains("[flaky]") && first_time {
        return google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            json!([]),
        );
    }
    let (bytes, mime) = rendered(&ask.prompt, pixels(ask.ratio, &ask.size));
    axum::Json(json!({
        "candidates": [ {
            "content": { "role": "model", "parts": [
                { "inlineData": { "mimeType": mime, "data": base64::engine::general_purpose::STANDARD.encode(bytes) } }
            ] },
            "finishReason": "STOP",
            "index": 0
        } ],
        "usageMetadata": { "promptTokenCount": 12, "candidatesTokenCount": 1120, "totalTokenCount": 1132 }
    }))
    .into_response()
}

/// `GET /v1beta/models/{model}` (`models.get`, what a health check reads).
async fn get_model(State(mock): State<Mock>, Path(model_id): Path<String>, headers: HeaderMap) -> Response {
    mock.recorder.record("GET", format!("/v1beta/models/{model_id}"), &headers, Value::Null);
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return bad_key();
    }
    if model(&model_id).is_none() {
        return not_found(&model_id);
    }
    axum::Json(json!({
        "name": format!("models/{model_id}"),
        "version": "3.0",
        "displayName": model_id,
        "inputTokenLimit": 131072,
        "outputTokenLimit": 32768,
        "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"]
    }))
    .into_response()
}

/// Start the mock Gemini API.
async fn mock_gemini() -> (MockVendor, Mock) {
    let mock = Mock::default();
    let router =
        Router::new().route("/v1beta/models/{target}", get(get_model).post(generate_content)).with_state(mock.clone());
    (MockVendor::start(router).await, mock)
}

/// A server like [`live_server`] whose `[plugins.gemini-image]` also
/// carries the operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("gemini-image", vendor, &[("api_key", KEY)], settings).await
}

/// Generate an image from `provider` with `input` and wait for the end.
async fn run_with(server: &Server, key: &str, provider: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "IMAGE", provider, input, options).await
}

/// Generate an image from `provider` with a prompt and wait for the end.
async fn run(server: &Server, key: &str, provider: &str, prompt: &str, options: Value) -> Value {
    run_with(server, key, provider, json!({ "text": prompt }), options).await
}

/// A completed generation of `provider` that cost `credits`, whose stored
/// file is `expected` byte for byte, of `mime`, with its size in the metadata.
async fn assert_image_file(
    server: &Server,
    generation: &Value,
    provider: &str,
    credits: i64,
    expected: &[u8],
    (mime, width, height): (&str, u32, u32),
) {
    assert_status(generation, "COMPLETED", None, server);
    assert_eq!((generation["provider"].as_str(), generation["creditCost"].as_i64()), (Some(provider), Some(credits)));
    let metadata = &generation["metadata"];
    let format = if mime == "image/png" { "png" } else { "jpg" };
    assert_eq!(metadata["format"], format, "{generation}");
    assert_eq!(
        (metadata["width"].as_u64(), metadata["height"].as_u64()),
        (Some(width.into()), Some(height.into())),
        "{generation}"
    );
    assert_eq!(metadata["resolution"], format!("{width}x{height}"), "{generation}");
    let url = generation["url"].as_str().unwrap_or_else(|| panic!("no url: {generation}"));
    assert!(url.starts_with(&server.url("/files/")), "not re-hosted: {url}");
    assert_eq!(generation["urls"], json!([url]), "one image per request");
    let (status, served, bytes) = server.download(url).await;
    assert_eq!((status, served.as_str()), (200, mime), "{url}");
    assert!(bytes == expected, "{url}: the stored file differs from the one Google sent");
}

#[tokio::test]
async fn gemini_image_text_to_image_completes_with_the_size_google_renders() {
    let (vendor, mock) = mock_gemini().await;
    let (server, key) = live_server("gemini-image", &vendor, &[("api_key", KEY)]).await;
    let (plain, small, pro, jpeg) = tokio::join!(
        run(&server, &key, "gemini-image", "a red bicycle leaning on a brick wall [plain]", json!({})),
        run(
            &server,
            &key,
            "gemini-image",
            "a lighthouse at dawn [small]",
            json!({ "aspectRatio": "16:9", "imageSize": "512" })
        ),
        run(
            &server,
            &key,
            "gemini-image-pro",
            "an infographic about tides [pro]",
            json!({ "aspectRatio": "3:4", "imageSize": "2K" })
        ),
        run(&server, &key, "gemini-image", "a bowl of lemons [jpeg]", json!({ "aspectRatio": "4:5" })),
    );

    // Every default: Flash, Google's 1:1 at 1K, 7 credits.
    let (file, _) = rendered("[plain]", (1024, 1024));
    assert_image_file(&server, &plain, "gemini-image", 7, &file, ("image/png", 1024, 1024)).await;
    let call = mock.call("[plain]");
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1beta/models/gemini-3.1-flash-image:generateContent")
    );
    assert_eq!(call.header("x-goog-api-key"), Some(KEY));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(call.header("authorization"), None, "the key travels in x-goog-api-key only");
    assert_eq!(
        call.body,
        json!({
            "contents": [ { "role": "user", "parts": [ { "text": "a red bicycle leaning on a brick wall [plain]" } ] } ],
            "generationConfig": { "responseModalities": ["IMAGE"], "imageConfig": { "imageSize": "1K" } }
        })
    );

    // Flash's 512 size class: half of 1K, 5 credits.
    let (file, _) = rendered("[small]", (688, 384));
    assert_image_file(&server, &small, "gemini-image", 5, &file, ("image/png", 688, 384)).await;
    assert_eq!(
        mock.call("[small]").body["generationConfig"]["imageConfig"],
        json!({ "aspectRatio": "16:9", "imageSize": "512" })
    );

    // Pro at 2K: its own model, 14 credits.
    let (file, _) = rendered("[pro]", (1792, 2400));
    assert_image_file(&server, &pro, "gemini-image-pro", 14, &file, ("image/png", 1792, 2400)).await;
    let call = mock.call("[pro]");
    assert_eq!(call.path, "/v1beta/models/gemini-3-pro-image:generateContent");
    assert_eq!(call.body["generationConfig"]["imageConfig"], json!({ "aspectRatio": "3:4", "imageSize": "2K" }));

    // A JPEG answer is stored as a JPEG, its size read from the file.
    assert_image_file(&server, &jpeg, "gemini-image", 7, &sample_jpeg(928, 1152), ("image/jpeg", 928, 1152)).await;

    assert_eq!(mock.calls("").len(), 4, "one exchange per generation, nothing to poll");
    assert_eq!(credits(&server, &key).await, 100_000 - 7 - 5 - 14 - 7);
}

#[tokio::test]
async fn gemini_image_edits_a_reference_image_sent_inline() {
    let (vendor, mock) = mock_gemini().await;
    let (server, key) = live_server("gemini-image", &vendor, &[("api_key", KEY)]).await;
    let photo = sample_png(1200, 896);
    let portrait = sample_jpeg(768, 1376);
    let (edit, framed) = tokio::join!(
        run_with(
            &server,
            &key,
            "gemini-image",
            json!({ "text": "make it a watercolour [edit]", "image": data_uri("image/png", &photo) }),
            json!({}),
        ),
        run_with(
            &server,
            &key,
            "gemini-image-pro",
            json!({ "text": "put a hat on her [framed]", "image": data_uri("image/jpeg", &portrait) }),
            json!({ "aspectRatio": "1:1" }),
        ),
    );

    // No frame chosen: Google keeps the reference's (4:3 at 1K).
    let (file, _) = rendered("[edit]", (1200, 896));
    assert_image_file(&server, &edit, "gemini-image", 7, &file, ("image/png", 1200, 896)).await;
    let call = mock.call("[edit]");
    assert_eq!(
        call.body["contents"][0]["parts"],
        json!([
            { "text": "make it a watercolour [edit]" },
            { "inlineData": { "mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(&photo) } }
        ])
    );
    assert_eq!(call.body["generationConfig"]["imageConfig"], json!({ "imageSize": "1K" }));

    // A chosen frame wins over the reference's; the JPEG goes as a JPEG.
    let (file, _) = rendered("[framed]", (1024, 1024));
    assert_image_file(&server, &framed, "gemini-image-pro", 14, &file, ("image/png", 1024, 1024)).await;
    let sent = &mock.call("[framed]").body["contents"][0]["parts"][1]["inlineData"];
    assert_eq!(sent["mimeType"], "image/jpeg");
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(sent["data"].as_str().unwrap()).unwrap(), portrait);
}

#[tokio::test]
async fn gemini_image_refusals_and_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_gemini().await;
    let (server, key) = live_server("gemini-image", &vendor, &[("api_key", KEY)]).await;
    let gif =
        json!({ "text": "animate this [gif]", "image": data_uri("image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00") });
    let (blocked, withheld, no_image, flaky, not_an_image) = tokio::join!(
        run(&server, &key, "gemini-image", "something forbidden [blocked]", json!({})),
        run(&server, &key, "gemini-image-pro", "something the filters stop [image-safety]", json!({})),
        run(&server, &key, "gemini-image", "explain quantum physics [no-image]", json!({})),
        run(&server, &key, "gemini-image", "a river at dusk [flaky]", json!({})),
        run_with(&server, &key, "gemini-image", gif, json!({})),
    );
    // Last: a 429 holds the offering back for Google's `retryDelay`.
    let quota = run(&server, &key, "gemini-image", "a crowd at rush hour [quota]", json!({})).await;
    // The prompt blocked, the image withheld: the user's content, final, refunded.
    assert_failed(&blocked, "GENERATION_FAILED", &["Google blocked the prompt (PROHIBITED_CONTENT)"]);
    assert_eq!(mock.calls("[blocked]").len(), 1, "a refusal is final");
    assert_failed(
        &withheld,
        "GENERATION_FAILED",
        &["Google's filters withheld the image (IMAGE_SAFETY)", "Unable to show the generated image."],
    );
    assert_eq!(mock.calls("[image-safety]").len(), 1);
    assert_failed(&no_image, "GENERATION_FAILED", &["Google returned no image (NO_IMAGE)", "I can't draw that"]);
    // Quota: Google's words; the vendor's own delay is not the user's fault.
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["HTTP 429 RESOURCE_EXHAUSTED", "exceeded your current quota"]);
    assert!(!mock.calls("[quota]").is_empty());
    // Overloaded once, then the image.
    let (file, _) = rendered("[flaky]", (1024, 1024));
    assert_image_file(&server, &flaky, "gemini-image", 7, &file, ("image/png", 1024, 1024)).await;
    assert_eq!(mock.calls("[flaky]").len(), 2);
    // A reference Google cannot read never reaches it.
    assert_failed(&not_an_image, "INVALID_INPUT", &["input.image must be a PNG, JPEG or WebP image"]);
    assert!(mock.calls("[gif]").is_empty());

    // Only what completed was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 7);
}

#[tokio::test]
async fn gemini_image_refuses_what_the_models_cannot_do_before_any_job() {
    let (vendor, mock) = mock_gemini().await;
    let (server, key) = live_server("gemini-image", &vendor, &[("api_key", KEY)]).await;
    let cases = [
        (
            "gemini-image-pro",
            json!({ "imageSize": "512" }),
            "option `imageSize` of provider `gemini-image-pro` must be one of \"1K\", \"2K\", \"4K\"; got \"512\"",
        ),
        (
            "gemini-image-pro",
            json!({ "aspectRatio": "8:1" }),
            "option `aspectRatio` of provider `gemini-image-pro` must be one of \"1:1\", \"2:3\", \"3:2\", \"3:4\", \
             \"4:3\", \"4:5\", \"5:4\", \"9:16\", \"16:9\", \"21:9\"; got \"8:1\"",
        ),
        (
            "gemini-image",
            json!({ "imageSize": "1k" }),
            "option `imageSize` of provider `gemini-image` must be one of \"512\", \"1K\", \"2K\", \"4K\"; got \"1k\"",
        ),
        (
            "gemini-image",
            json!({ "numberOfImages": 2 }),
            "option `numberOfImages` is not supported by provider `gemini-image`; supported options: aspectRatio, \
             imageSize",
        ),
        (
            "gemini-image",
            json!({ "seed": 7 }),
            "option `seed` is not supported by provider `gemini-image`; supported options: aspectRatio, imageSize",
        ),
    ];
    for (provider, options, message) in cases {
        let error =
            generate_kind(&server, &key, "IMAGE", provider, json!({ "text": "refused [refused]" }), options.clone())
                .await
                .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{provider} {options}: {error}");
        assert_eq!(error["message"], message, "{provider} {options}");
    }

    // The portal's image snippet, as published for flux-ultra: no quality tier, no seed here.
    let mut snippet: Value = serde_json::from_str(PORTAL_IMAGE_SNIPPET).unwrap();
    snippet["provider"] = json!("gemini-image-pro");
    let mutation = "mutation($input: GenerateInput!) { generate(input: $input) { id status creditCost } }";
    let (_, _, body) = server.post(Some(&key), mutation, json!({ "input": snippet }), &[]).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert_eq!(error["extensions"]["field"], "options.quality", "{body}");

    assert!(mock.calls("").is_empty(), "nothing refused reached Google");
    assert_job_count(&server, &key, 0).await;
    assert_eq!(credits(&server, &key).await, 100_000);
}

/// The operator's settings replace a built-in model id: a successor id
/// reaches Google, and a retired one (a stale setting) fails as
/// `PROVIDER_UNAVAILABLE` with Google's 404 and the setting to change.
#[tokio::test]
async fn gemini_image_settings_replace_model_ids_and_a_retired_model_is_unavailable() {
    let (vendor, mock) = mock_gemini().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        &format!(r#""model.gemini-image" = "{NEXT_FLASH}", "model.gemini-image-pro" = "{RETIRED_PRO_PREVIEW}""#),
    )
    .await;
    let (moved, retired) = tokio::join!(
        run(&server, &key, "gemini-image", "a fox on a successor model [moved]", json!({})),
        run(&server, &key, "gemini-image-pro", "a fox on a shut-down preview [retired]", json!({})),
    );
    let (file, _) = rendered("[moved]", (1024, 1024));
    assert_image_file(&server, &moved, "gemini-image", 7, &file, ("image/png", 1024, 1024)).await;
    assert_eq!(mock.call("[moved]").path, format!("/v1beta/models/{NEXT_FLASH}:generateContent"));

    assert_failed(
        &retired,
        "PROVIDER_UNAVAILABLE",
        &["HTTP 404 NOT_FOUND", RETIRED_PRO_PREVIEW, "\"model.gemini-image-pro\""],
    );
    let [call] = &mock.calls("[retired]")[..] else { panic!("one call, not retried: {:?}", mock.calls("[retired]")) };
    assert_eq!(call.path, format!("/v1beta/models/{RETIRED_PRO_PREVIEW}:generateContent"));
    assert_eq!(credits(&server, &key).await, 100_000 - 7, "the failed job is refunded");
}

/// Without settings only the GA ids are sent; the shut-down previews never.
#[tokio::test]
async fn gemini_image_built_in_models_are_the_ga_ids() {
    let (vendor, mock) = mock_gemini().await;
    let (server, key) = live_server("gemini-image", &vendor, &[("api_key", KEY)]).await;
    for provider in ["gemini-image", "gemini-image-pro"] {
        let done = run(&server, &key, provider, &format!("built-in {provider} [ga]"), json!({})).await;
        assert_eq!(done["status"], "COMPLETED", "{provider}: {done}\n{}", server.log());
    }
    let paths: Vec<String> = mock.calls("[ga]").into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [format!("/v1beta/models/{FLASH}:generateContent"), format!("/v1beta/models/{PRO}:generateContent")]
    );
}

#[tokio::test]
async fn gemini_image_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_gemini().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("gemini-image", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("gemini-image", &vendor, &[("api_key", "AIza-revoked")]).await;

    let query = "{ providers(type: IMAGE) { id vendor available unavailableReason pricing { creditCost estimatedTime } \
                 options { name allowedValues default } } }";
    let data = unconfigured.gql(query, json!({})).await;
    let providers = data["providers"].as_array().unwrap();
    for (id, credits, seconds, sizes) in [("gemini-image", 7, 8, 4), ("gemini-image-pro", 14, 15, 3)] {
        let p = providers.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} missing: {data}"));
        assert_eq!((p["available"].as_bool(), p["vendor"].as_str()), (Some(false), Some("Google DeepMind")), "{p}");
        assert_eq!(p["unavailableReason"], "missing secret(s): api_key");
        assert_eq!(p["pricing"], json!({ "creditCost": credits, "estimatedTime": seconds }), "{id}");
        let names: Vec<&str> = p["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["aspectRatio", "imageSize"], "{id}: no numberOfImages");
        let size = p["options"].as_array().unwrap().iter().find(|o| o["name"] == "imageSize").unwrap();
        assert_eq!(
            (size["allowedValues"].as_array().map(Vec::len), size["default"].as_str()),
            (Some(sizes), Some("1K"))
        );
    }
    assert!(
        providers.iter().all(|p| !p["id"].as_str().unwrap_or_default().starts_with("imagen")),
        "Imagen is retired and not offered: {data}"
    );
    assert_not_configured(
        &unconfigured,
        &live,
        "IMAGE",
        "gemini-image",
        json!({ "text": "a fox" }),
        json!({}),
        "gemini-image",
    )
    .await;
    // Test keys are served without Google, priced as Google would charge.
    let test_mode =
        run(&unconfigured, &unconfigured.key, "gemini-image-pro", "a fox [test mode]", json!({ "imageSize": "4K" }))
            .await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 24);

    // A key Google refuses (400 API_KEY_INVALID): final, not retried.
    let refused = run(&wrong, &wrong_key, "gemini-image", "a fox [wrong key]", json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["API key not valid"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("x-goog-api-key"), Some("AIza-revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach Google");
}
