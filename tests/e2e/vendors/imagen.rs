//! Mock of Google's Gemini API for Imagen (`models/{model}:predict`) and the
//! `imagen` plugin's end-to-end tests (offerings `imagen`, `imagen-ultra`,
//! `imagen-fast`).
//!
//! The mock follows `shared/vendors/imagen.md`: it wants `x-goog-api-key`
//! (a wrong key gets Google's 400 `API_KEY_INVALID`), checks the body the
//! way the Gemini API does (`INVALID_ARGUMENT` for unknown or Vertex-only
//! fields, out-of-range counts, ratios, sizes and output options; Google's
//! `sampleCount` default of 4 when none is sent), and answers synchronously
//! with every image inline: real PNGs (a different tint per image, so order
//! and identity can be checked) or JPEGs of Imagen 4's documented sizes.
//!
//! Markers in the prompt pick the scenarios: `[filtered-one]` (the first
//! image withheld, with a reason), `[filtered-all]` (every image withheld),
//! `[filtered-silent]` (`{}`, as Google answers when every image is withheld
//! and no reason was asked for), `[unsafe]` (the prompt refused by
//! Responsible AI), `[quota]` (429), `[flaky]` (a 503 the first time),
//! `[retired]` (404 for a retired model) and `[billing]` (400
//! `FAILED_PRECONDITION`).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_not_configured, assert_status, credits,
    generate_kind, generate_kind_to_end, live_server, sample_jpeg, sample_png_tinted, the_one,
};
use crate::harness::Server;

/// The key the mock accepts.
const KEY: &str = "imagen-test-key";
const STANDARD: &str = "imagen-4.0-generate-001";
const ULTRA: &str = "imagen-4.0-ultra-generate-001";
const FAST: &str = "imagen-4.0-fast-generate-001";
/// Imagen 4's pixels per aspect ratio at 1K (2K doubles them).
const SIZES: &[(&str, u32, u32)] =
    &[("1:1", 1024, 1024), ("3:4", 896, 1280), ("4:3", 1280, 896), ("9:16", 768, 1408), ("16:9", 1408, 768)];
/// The portal's image example (written for `flux-ultra`), as users try it first.
const PORTAL_IMAGE_SNIPPET: &str = r#"{"type":"IMAGE","provider":"flux-ultra","input":{"text":"Photorealistic portrait in Rembrandt style"},"options":{"aspectRatio":"16:9","quality":"ultra","seed":42}}"#;

/// A real PNG of `width`×`height` pixels, tinted by `index` so that each
/// image of an answer is a different file.
fn tinted_png(width: u32, height: u32, index: u8) -> Vec<u8> {
    sample_png_tinted(width, height, index.wrapping_mul(60))
}

/// What one valid request asks for.
struct Ask {
    count: usize,
    width: u32,
    height: u32,
    jpeg: bool,
    reasons: bool,
}

impl Ask {
    /// The file of image `index`.
    fn image(&self, index: usize) -> Vec<u8> {
        if self.jpeg { sample_jpeg(self.width, self.height) } else { tinted_png(self.width, self.height, index as u8) }
    }
}

#[derive(Default)]
struct Imagen {
    recorder: Recorder,
    /// Prompts already answered once (for `[flaky]`).
    answered: Mutex<Vec<String>>,
}

type Mock = Arc<Imagen>;

impl Imagen {
    /// The `:predict` calls whose prompt contains `needle`.
    fn calls(&self, needle: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.body["instances"][0]["prompt"].as_str().is_some_and(|p| p.contains(needle)))
    }

    /// The one call whose prompt contains `needle`.
    fn call(&self, needle: &str) -> Recorded {
        the_one(self.calls(needle), format_args!("one call for {needle:?}"))
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

fn invalid(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message, None)
}

/// The Gemini API's checks of a `:predict` body for `model`.
fn check_body(model: &str, body: &Value) -> Result<Ask, String> {
    let instances = body["instances"].as_array().ok_or("instances must be a list")?;
    let [instance] = &instances[..] else { return Err("Only one instance is supported".into()) };
    for name in instance.as_object().ok_or("an instance must be an object")?.keys() {
        if name != "prompt" {
            return Err(format!("Invalid JSON payload received. Unknown name \"{name}\" at 'instances[0]'"));
        }
    }
    instance["prompt"].as_str().filter(|p| !p.is_empty()).ok_or("instances[0].prompt is required")?;
    let parameters = body["parameters"].as_object().ok_or("parameters must be an object")?;
    for name in parameters.keys() {
        match name.as_str() {
            "sampleCount"
            | "aspectRatio"
            | "personGeneration"
            | "safetySetting"
            | "sampleImageSize"
            | "outputOptions"
            | "includeRaiReason"
            | "includeSafetyAttributes"
            | "language"
            | "guidanceScale" => {}
            "seed" | "negativePrompt" | "addWatermark" | "enhancePrompt" | "storageUri" => {
                return Err(format!("{name} parameter is not supported in Gemini API."));
            }
            _ => return Err(format!("Invalid JSON payload received. Unknown name \"{name}\" at 'parameters'")),
        }
    }
    // Google's own default when no count is sent.
    let count = parameters.get("sampleCount").map_or(Some(4), Value::as_u64).ok_or("sampleCount must be an integer")?;
    let most = if model == ULTRA { 1 } else { 4 };
    if !(1..=most).contains(&count) {
        return Err(format!("sampleCount must be between 1 and {most} for {model}, got {count}"));
    }
    let ratio = parameters.get("aspectRatio").map_or(Some("1:1"), Value::as_str).unwrap_or_default();
    let (_, mut width, mut height) =
        *SIZES.iter().find(|(r, ..)| *r == ratio).ok_or(format!("Unsupported aspect ratio {ratio}"))?;
    let person = parameters.get("personGeneration").map_or(Some("allow_adult"), Value::as_str).unwrap_or_default();
    if !["dont_allow", "allow_adult", "allow_all"].contains(&person.to_ascii_lowercase().as_str()) {
        return Err(format!("Invalid personGeneration {person}"));
    }
    match parameters.get("sampleImageSize").map(|s| s.as_str().unwrap_or_default()) {
        None | Some("1K") if model != FAST => {}
        None => {}
        Some("2K") if model != FAST => (width, height) = (width * 2, height * 2),
        Some(size) => return Err(format!("sampleImageSize {size} is not supported for {model}")),
    }
    let output = parameters.get("outputOptions").cloned().unwrap_or_else(|| json!({}));
    let jpeg = match output.get("mimeType").map(|m| m.as_str().unwrap_or_default()) {
        None | Some("image/png") => false,
        Some("image/jpeg") => true,
        Some(other) => return Err(format!("Unsupported output mime type {other}")),
    };
    if let Some(quality) = output.get("compressionQuality")
        && (!jpeg || quality.as_u64().is_none_or(|q| q > 100))
    {
        return Err("compressionQuality must be 0-100 and applies to image/jpeg only".into());
    }
    let reasons = match parameters.get("includeRaiReason") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err("includeRaiReason must be a boolean".into()),
    };
    Ok(Ask { count: count as usize, width, height, jpeg, reasons })
}

/// `POST /v1beta/models/{model}:predict`.
async fn predict(State(mock): State<Mock>, Path(target): Path<String>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    mock.recorder.record("POST", format!("/v1beta/models/{target}"), &headers, body.clone());
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            Some("API_KEY_INVALID"),
        );
    }
    let prompt = body["instances"][0]["prompt"].as_str().unwrap_or_default().to_string();
    let known = target.strip_suffix(":predict").filter(|m| [STANDARD, ULTRA, FAST].contains(m));
    let Some(model) = known.filter(|_| !prompt.contains("[retired]")) else {
        let model = target.split(':').next().unwrap_or_default();
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!(
                "models/{model} is not found for API version v1beta, or is not supported for predict. Call \
                 ListModels to see the list of available models and their supported methods."
            ),
            None,
        );
    };
    let ask = match check_body(model, &body) {
        Ok(ask) => ask,
        Err(why) => return invalid(&why),
    };
    let first_time = {
        let mut answered = mock.answered.lock().unwrap();
        let first = !answered.contains(&prompt);
        answered.push(prompt.clone());
        first
    };
    if prompt.contains("[unsafe]") {
        return invalid(
            "Image generation failed with the following error: The prompt could not be submitted. This prompt \
             contains sensitive words that violate Google's Responsible AI practices. Try rephrasing the prompt. If \
             you think this was an error, send feedback. Support codes: 17301594",
        );
    } else if prompt.contains("[quota]") {
        return google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Generate requests' and limit 'Generate requests per minute'.",
            None,
        );
    } else if prompt.contains("[billing]") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            "Imagen API is only accessible to billed users at this time.",
            None,
        );
    } else if prompt.contains("[flaky]") && first_time {
        return google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            None,
        );
    } else if prompt.contains("[filtered-silent]") {
        return axum::Json(json!({})).into_response();
    }
    let mime = if ask.jpeg { "image/jpeg" } else { "image/png" };
    let reason = "Unable to show generated images. All images were filtered out because they violated Vertex AI's \
                  usage guidelines. Support codes: 56562880";
    let predictions: Vec<Value> = (0..ask.count)
        .filter_map(|index| {
            let withheld = prompt.contains("[filtered-all]") || (prompt.contains("[filtered-one]") && index == 0);
            match (withheld, ask.reasons) {
                (true, true) => Some(json!({ "raiFilteredReason": reason })),
                (true, false) => None,
                (false, _) => Some(json!({
                    "mimeType": mime,
                    "bytesBase64Encoded": base64::engine::general_purpose::STANDARD.encode(ask.image(index)),
                })),
            }
        })
        .collect();
    axum::Json(json!({ "predictions": predictions })).into_response()
}

/// Start the mock Gemini API.
async fn mock_imagen() -> (MockVendor, Mock) {
    let mock = Mock::default();
    let router = Router::new().route("/v1beta/models/{target}", post(predict)).with_state(mock.clone());
    (MockVendor::start(router).await, mock)
}

/// Generate images from `provider` and wait for the end.
async fn run(server: &Server, key: &str, provider: &str, prompt: &str, options: Value) -> Value {
    generate_kind_to_end(server, key, "IMAGE", provider, json!({ "text": prompt }), options).await
}

/// A completed generation of `provider` that cost `credits`, whose stored
/// files are `expected` byte for byte (in order) with the type and size of
/// the first in its metadata.
async fn assert_images(
    server: &Server,
    generation: &Value,
    provider: &str,
    credits: i64,
    expected: &[Vec<u8>],
    (mime, width, height): (&str, u32, u32),
) {
    assert_status(generation, "COMPLETED", None, server);
    assert_eq!((generation["provider"].as_str(), generation["creditCost"].as_i64()), (Some(provider), Some(credits)));
    let metadata = &generation["metadata"];
    let format = if mime == "image/png" { "png" } else { "jpg" };
    assert_eq!(metadata["format"], format, "{generation}");
    assert_eq!((metadata["width"].as_u64(), metadata["height"].as_u64()), (Some(width.into()), Some(height.into())));
    assert_eq!(metadata["resolution"], format!("{width}x{height}"), "{generation}");
    let urls = generation["urls"].as_array().unwrap_or_else(|| panic!("no urls: {generation}"));
    assert_eq!(urls.len(), expected.len(), "{generation}");
    assert_eq!(generation["url"], urls[0]);
    for (url, file) in urls.iter().zip(expected) {
        let url = url.as_str().unwrap();
        assert!(url.starts_with(&server.url("/files/")), "not re-hosted: {url}");
        let (status, served, bytes) = server.download(url).await;
        assert_eq!((status, served.as_str()), (200, mime), "{url}");
        assert!(bytes == *file, "{url}: the stored file differs from the one Imagen sent");
    }
}

#[tokio::test]
async fn imagen_images_come_back_inline_and_are_stored_with_their_size() {
    let (vendor, mock) = mock_imagen().await;
    let (server, key) = live_server("imagen", &vendor, &[("api_key", KEY)]).await;
    let (plain, pair, drafts, ultra) = tokio::join!(
        run(&server, &key, "imagen", "a red bicycle leaning on a brick wall [plain]", json!({})),
        run(&server, &key, "imagen", "two lighthouses [pair]", json!({ "numberOfImages": 2, "aspectRatio": "4:3" })),
        run(
            &server,
            &key,
            "imagen-fast",
            "storyboard frames [drafts]",
            json!({
                "numberOfImages": 3,
                "aspectRatio": "16:9",
                "outputFormat": "jpeg",
                "compressionQuality": 70,
                "personGeneration": "dont_allow"
            })
        ),
        run(&server, &key, "imagen-ultra", "a poster [ultra]", json!({ "imageSize": "2K" })),
    );

    // Every default: Imagen 4, one 1:1 PNG at 1K, 4 credits.
    assert_images(&server, &plain, "imagen", 4, &[tinted_png(1024, 1024, 0)], ("image/png", 1024, 1024)).await;
    let call = mock.call("[plain]");
    assert_eq!(call.path, format!("/v1beta/models/{STANDARD}:predict"));
    assert_eq!(call.header("x-goog-api-key"), Some(KEY));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(call.header("authorization"), None, "the key travels in x-goog-api-key only");
    assert_eq!(
        call.body,
        json!({
            "instances": [ { "prompt": "a red bicycle leaning on a brick wall [plain]" } ],
            "parameters": {
                "sampleCount": 1,
                "aspectRatio": "1:1",
                "personGeneration": "allow_adult",
                "sampleImageSize": "1K",
                "outputOptions": { "mimeType": "image/png" },
                "includeRaiReason": true
            }
        })
    );

    // Two images, two files in Imagen's order, each charged.
    let pair_files = [tinted_png(1280, 896, 0), tinted_png(1280, 896, 1)];
    assert_images(&server, &pair, "imagen", 8, &pair_files, ("image/png", 1280, 896)).await;
    assert_eq!(mock.call("[pair]").body["parameters"]["sampleCount"], 2);

    // Imagen 4 Fast: JPEGs, no size class sent.
    let jpeg = sample_jpeg(1408, 768);
    assert_images(&server, &drafts, "imagen-fast", 6, &[jpeg.clone(), jpeg.clone(), jpeg], ("image/jpeg", 1408, 768))
        .await;
    let call = mock.call("[drafts]");
    assert_eq!(call.path, format!("/v1beta/models/{FAST}:predict"));
    assert_eq!(
        call.body["parameters"],
        json!({
            "sampleCount": 3,
            "aspectRatio": "16:9",
            "personGeneration": "dont_allow",
            "outputOptions": { "mimeType": "image/jpeg", "compressionQuality": 70 },
            "includeRaiReason": true
        })
    );

    // Imagen 4 Ultra at 2K.
    assert_images(&server, &ultra, "imagen-ultra", 6, &[tinted_png(2048, 2048, 0)], ("image/png", 2048, 2048)).await;
    let call = mock.call("[ultra]");
    assert_eq!(
        (call.path.as_str(), call.body["parameters"]["sampleImageSize"].as_str()),
        (format!("/v1beta/models/{ULTRA}:predict").as_str(), Some("2K"))
    );

    assert_eq!(mock.recorder.requests().len(), 4, "one exchange per generation, nothing to poll");
    assert_eq!(credits(&server, &key).await, 100_000 - 4 - 8 - 6 - 6);
}

#[tokio::test]
async fn imagen_filters_and_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_imagen().await;
    let (server, key) = live_server("imagen", &vendor, &[("api_key", KEY)]).await;
    let two = json!({ "numberOfImages": 2 });
    let (one_left, all, silent, unsafe_prompt, quota, flaky, retired, billing) = tokio::join!(
        run(&server, &key, "imagen", "two portraits [filtered-one]", two.clone()),
        run(&server, &key, "imagen", "two portraits [filtered-all]", two.clone()),
        run(&server, &key, "imagen-fast", "a portrait [filtered-silent]", json!({})),
        run(&server, &key, "imagen", "something forbidden [unsafe]", json!({})),
        run(&server, &key, "imagen", "a crowd at rush hour [quota]", json!({})),
        run(&server, &key, "imagen", "a river at dusk [flaky]", json!({})),
        run(&server, &key, "imagen", "a fox [retired]", json!({})),
        run(&server, &key, "imagen", "a fox on the free tier [billing]", json!({})),
    );
    // One of two withheld: the other is delivered, charged as quoted (see the README).
    assert_images(&server, &one_left, "imagen", 8, &[tinted_png(1024, 1024, 1)], ("image/png", 1024, 1024)).await;
    // Every image withheld: Google's reasons, refunded.
    assert_failed(
        &all,
        "GENERATION_FAILED",
        &["Google's safety filters withheld every image", "Support codes: 56562880"],
    );
    assert_failed(&silent, "GENERATION_FAILED", &["Imagen returned no image"]);
    // A prompt refused by Responsible AI: final.
    assert_failed(
        &unsafe_prompt,
        "GENERATION_FAILED",
        &["Imagen answered HTTP 400 INVALID_ARGUMENT", "Responsible AI"],
    );
    assert_eq!(mock.calls("[unsafe]").len(), 1, "moderation is final");
    // Quota: retryable, so three calls in all.
    assert_failed(&quota, "PROVIDER_UNAVAILABLE", &["Imagen answered HTTP 429 RESOURCE_EXHAUSTED", "Quota exceeded"]);
    assert_eq!(mock.calls("[quota]").len(), 3, "the host retries a rate-limited submit");
    // Overloaded once, then the image.
    assert_images(&server, &flaky, "imagen", 4, &[tinted_png(1024, 1024, 0)], ("image/png", 1024, 1024)).await;
    assert_eq!(mock.calls("[flaky]").len(), 2);
    // A retired model and a billing precondition: final, with the why.
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["HTTP 404 NOT_FOUND", "may no longer be served"]);
    assert_eq!(mock.calls("[retired]").len(), 1);
    assert_failed(&billing, "PROVIDER_UNAVAILABLE", &["only accessible to billed users"]);
    assert_eq!(mock.calls("[billing]").len(), 1);

    // Only what completed was charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 8 - 4);
}

#[tokio::test]
async fn imagen_refuses_what_imagen_cannot_do_before_any_job() {
    let (vendor, mock) = mock_imagen().await;
    let (server, key) = live_server("imagen", &vendor, &[("api_key", KEY)]).await;
    let cases = [
        (
            "imagen-fast",
            json!({ "imageSize": "2K" }),
            "option `imageSize` is not supported by provider `imagen-fast`; supported options: aspectRatio, \
             numberOfImages, outputFormat, compressionQuality, personGeneration",
        ),
        (
            "imagen-ultra",
            json!({ "numberOfImages": 2 }),
            "option `numberOfImages` of provider `imagen-ultra` must be one of 1; got 2",
        ),
        (
            "imagen",
            json!({ "numberOfImages": 5 }),
            "option `numberOfImages` of provider `imagen` must be one of 1, 2, 3, 4; got 5",
        ),
        (
            "imagen",
            json!({ "aspectRatio": "21:9" }),
            "option `aspectRatio` of provider `imagen` must be one of \"1:1\", \"3:4\", \"4:3\", \"9:16\", \"16:9\"; got \
             \"21:9\"",
        ),
        (
            "imagen",
            json!({ "compressionQuality": 80 }),
            "provider `imagen` refused the request: option `compressionQuality` of provider `imagen` applies to \
             outputFormat jpeg only; got outputFormat png",
        ),
        (
            "imagen",
            json!({ "imageSize": "2K", "numberOfImages": 4 }),
            "provider `imagen` refused the request: option `numberOfImages` of provider `imagen` must be at most 2 \
             with imageSize 2K and outputFormat png (larger answers exceed the gateway's limits); got 4: ask for \
             fewer images or outputFormat jpeg",
        ),
        (
            "imagen",
            json!({ "seed": 7 }),
            "option `seed` is not supported by provider `imagen`; supported options: aspectRatio, numberOfImages, \
             imageSize, outputFormat, compressionQuality, personGeneration",
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
    assert!(mock.recorder.requests().is_empty(), "nothing refused reached Google");
    assert_job_count(&server, &key, 0).await;
    assert_eq!(credits(&server, &key).await, 100_000);
}

#[tokio::test]
async fn imagen_portal_image_snippet_gets_exact_answers() {
    let (vendor, mock) = mock_imagen().await;
    let (server, live) = live_server("imagen", &vendor, &[("api_key", KEY)]).await;
    let mut snippet: Value = serde_json::from_str(PORTAL_IMAGE_SNIPPET).unwrap();
    snippet["provider"] = json!("imagen");
    let mutation = "mutation($input: GenerateInput!) { generate(input: $input) { id status creditCost } }";

    for key in [server.key.clone(), live.clone()] {
        // As published for flux-ultra: Imagen has no quality tier and no seed on the Gemini API.
        let (_, _, body) = server.post(Some(&key), mutation, json!({ "input": snippet }), &[]).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], "options.quality", "{body}");
        assert_eq!(
            error["message"],
            "option `quality` is not supported by provider `imagen`; supported options: aspectRatio, numberOfImages, \
             imageSize, outputFormat, compressionQuality, personGeneration"
        );
    }
    assert!(mock.recorder.requests().is_empty());

    // What Imagen can do instead: the same frame, 4 credits.
    let done =
        run(&server, &live, "imagen", "Photorealistic portrait in Rembrandt style", json!({ "aspectRatio": "16:9" }))
            .await;
    assert_images(&server, &done, "imagen", 4, &[tinted_png(1408, 768, 0)], ("image/png", 1408, 768)).await;
    assert_eq!(mock.call("Rembrandt").body["parameters"]["aspectRatio"], "16:9");
}

#[tokio::test]
async fn imagen_needs_its_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_imagen().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("imagen", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("imagen", &vendor, &[("api_key", "AIza-revoked")]).await;

    // The three tiers are image providers, unavailable without the secret.
    let query = "{ providers(type: IMAGE) { id vendor available unavailableReason pricing { creditCost estimatedTime } \
                 options { name allowedValues default } } }";
    let data = unconfigured.gql(query, json!({})).await;
    let providers = data["providers"].as_array().unwrap();
    for (id, credits, seconds, count) in [("imagen", 4, 10, 4), ("imagen-ultra", 6, 15, 1), ("imagen-fast", 2, 5, 4)] {
        let p = providers.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} missing: {data}"));
        assert_eq!((p["available"].as_bool(), p["vendor"].as_str()), (Some(false), Some("Google DeepMind")), "{p}");
        assert_eq!(p["unavailableReason"], "missing secret(s): api_key");
        assert_eq!(p["pricing"], json!({ "creditCost": credits, "estimatedTime": seconds }), "{id}");
        let counts = p["options"].as_array().unwrap().iter().find(|o| o["name"] == "numberOfImages").unwrap();
        assert_eq!(counts["allowedValues"].as_array().map(Vec::len), Some(count), "{id}");
        assert_eq!(counts["default"], 1);
    }
    assert_not_configured(&unconfigured, &live, "IMAGE", "imagen", json!({ "text": "a fox" }), json!({}), "imagen")
        .await;
    // Test keys are served without Google, priced as Google would charge.
    let test_mode =
        run(&unconfigured, &unconfigured.key, "imagen", "a fox [test mode]", json!({ "numberOfImages": 3 })).await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 12);

    // A key Google refuses (400 API_KEY_INVALID): final, not retried.
    let refused = run(&wrong, &wrong_key, "imagen", "a fox [wrong key]", json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["API key not valid"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("x-goog-api-key"), Some("AIza-revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach Google");
}
