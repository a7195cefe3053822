//! Mock MiniMax image API (`POST /v1/image_generation`) and the
//! `minimax-image` offering's end-to-end tests.
//!
//! The mock follows `shared/vendors/minimax-image.md`: it wants `Authorization:
//! Bearer <key>` (another key gets 1004 under HTTP 200), checks the body the
//! way MiniMax does (code 2013 for unknown fields, models, ratios, sizes,
//! counts, styles, references), and answers synchronously with one link per
//! image on its "CDN" (the mock itself), which serves real JPEGs (or PNGs)
//! of the documented pixel sizes. Counts come back as strings, as most
//! captured answers show them. Markers in the prompt pick the scenarios:
//! `[input-sensitive]` (1026), `[all-filtered]` (no link, every image
//! failed), `[some-filtered]` (one image fewer than asked), `[busy]` (HTTP
//! 200 with 1002), `[flaky]` (a bare HTTP 503 the first time), `[balance]`
//! (1008), `[expired]` (links that 404), `[png]` (PNG links) and `[data]`
//! (the counts under `data`, as MiniMax's CLI types them).
//!
//! It serves image-01 and image-01-live, MiniMax's image models today;
//! any other model gets 2013 `invalid params, invalid model …`.
//!
//! The video API of the same plugin is mocked in `minimax.rs`; nothing here
//! touches it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{
    MockVendor, Recorded, Recorder, assert_failed, assert_job_count, assert_not_configured, assert_status, credits,
    generate_kind, generate_kind_to_end, live_server, option_names, sample_jpeg, sample_png, the_one,
};
use crate::harness::Server;

/// The API key the mock accepts.
const KEY: &str = "mm-image-key-51c9";
const OFFERING: &str = "minimax-image";
/// A 1×1 PNG, for a character reference given as a `data:` URI.
const PNG_DATA_URI: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/// MiniMax's ratios and the pixels it documents for them.
const RATIOS: &[(&str, u32, u32)] = &[
    ("1:1", 1024, 1024),
    ("16:9", 1280, 720),
    ("4:3", 1152, 864),
    ("3:2", 1248, 832),
    ("2:3", 832, 1248),
    ("3:4", 864, 1152),
    ("9:16", 720, 1280),
    ("21:9", 1344, 576),
];
const STYLES: &[&str] = &["漫画", "元气", "中世纪", "水彩"];

/// One image on the "CDN".
#[derive(Clone, Copy)]
struct Image {
    width: u32,
    height: u32,
    png: bool,
}

impl Image {
    fn bytes(self) -> Vec<u8> {
        if self.png { sample_png(self.width, self.height) } else { sample_jpeg(self.width, self.height) }
    }
}

#[derive(Default)]
struct Mock {
    /// `http://127.0.0.1:<port>`: where image links point.
    origin: OnceLock<String>,
    images: Mutex<HashMap<String, Image>>,
    next_id: AtomicU64,
    /// Prompts already answered once (for `[flaky]`).
    answered: Mutex<Vec<String>>,
    recorder: Recorder,
}

impl Mock {
    /// The `image_generation` calls whose prompt contains `marker`.
    fn calls(&self, marker: &str) -> Vec<Recorded> {
        self.recorder.filter(|r| r.body["prompt"].as_str().is_some_and(|p| p.contains(marker)))
    }

    /// The one call whose prompt contains `marker`.
    fn call(&self, marker: &str) -> Recorded {
        the_one(self.calls(marker), format_args!("one call for {marker:?}"))
    }
}

fn base_resp(code: i64, message: &str) -> Value {
    json!({ "status_code": code, "status_msg": message })
}

fn refusal(code: i64, message: &str) -> Response {
    Json(json!({ "id": "", "data": null, "base_resp": base_resp(code, message) })).into_response()
}

/// Why MiniMax would refuse this body (code 2013), if it would; else the
/// pixel size of its images.
fn check_body(body: &Value) -> Result<(u32, u32), String> {
    const FIELDS: &[&str] = &[
        "model",
        "prompt",
        "aspect_ratio",
        "width",
        "height",
        "response_format",
        "n",
        "seed",
        "prompt_optimizer",
        "aigc_watermark",
        "subject_reference",
        "style",
    ];
    let object = body.as_object().ok_or("body must be an object")?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field {unknown}"));
    }
    let model = body["model"].as_str().unwrap_or_default();
    let live = match model {
        "image-01" => false,
        "image-01-live" => true,
        other => return Err(format!("invalid model {other}")),
    };
    let prompt = body["prompt"].as_str().ok_or("prompt is required")?;
    if prompt.is_empty() || prompt.chars().count() > 1500 {
        return Err("prompt must be 1 to 1500 characters".into());
    }
    if !matches!(body.get("response_format").and_then(Value::as_str), None | Some("url" | "base64")) {
        return Err("response_format must be url or base64".into());
    }
    let n = body.get("n").map_or(Some(1), Value::as_u64).ok_or("n must be an integer")?;
    if !(1..=9).contains(&n) {
        return Err(format!("n must be 1 to 9, got {n}"));
    }
    for flag in ["prompt_optimizer", "aigc_watermark"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(format!("{flag} must be a boolean"));
        }
    }
    if body.get("seed").is_some_and(|s| s.as_i64().is_none_or(|s| s < 0)) {
        return Err("seed must be a non-negative integer".into());
    }
    if let Some(style) = body.get("style") {
        if !live {
            return Err(format!("style is not supported by {model}"));
        }
        let kind = style["style_type"].as_str().unwrap_or_default();
        if !STYLES.contains(&kind) {
            return Err(format!("invalid style_type {kind}"));
        }
        if style.get("style_weight").is_some_and(|w| w.as_f64().is_none_or(|w| !(w > 0.0 && w <= 1.0))) {
            return Err("style_weight must be in (0, 1]".into());
        }
    }
    if let Some(references) = body.get("subject_reference") {
        let [reference] = references.as_array().map(Vec::as_slice).unwrap_or_default() else {
            return Err("subject_reference must hold one reference".into());
        };
        let file = reference["image_file"].as_str().unwrap_or_default();
        let inline_ok = file
            .strip_prefix("data:image/")
            .and_then(|r| r.split_once(";base64,"))
            .is_some_and(|(_, data)| base64::engine::general_purpose::STANDARD.decode(data).is_ok());
        if reference["type"] != "character" || !(file.starts_with("https://") || inline_ok) {
            return Err("invalid subject_reference".into());
        }
    }
    let ratio = body.get("aspect_ratio").and_then(Value::as_str);
    let (width, height) = (body.get("width").and_then(Value::as_u64), body.get("height").and_then(Value::as_u64));
    match (ratio, width, height) {
        (Some(ratio), _, _) => {
            // MiniMax ignores width/height next to a ratio; the adapter must never send both.
            if width.is_some() || height.is_some() {
                return Err("the mock refuses width/height next to aspect_ratio: MiniMax would ignore them".into());
            }
            match RATIOS.iter().find(|(r, _, _)| *r == ratio) {
                Some((r, ..)) if live && *r == "21:9" => Err(format!("aspect_ratio {r} is not supported by {model}")),
                Some((_, w, h)) => Ok((*w, *h)),
                None => Err(format!("invalid aspect_ratio {ratio}")),
            }
        }
        (None, Some(w), Some(h)) => {
            let valid = |v: u64| (512..=2048).contains(&v) && v.is_multiple_of(8);
            if live {
                Err(format!("width/height are not supported by {model}"))
            } else if valid(w) && valid(h) {
                Ok((w as u32, h as u32))
            } else {
                Err(format!("invalid size {w}x{h}"))
            }
        }
        (None, None, None) => Ok((1024, 1024)),
        _ => Err("width and height must be given together".into()),
    }
}

async fn image_generation(State(mock): State<Arc<Mock>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    mock.recorder.record("POST", "/v1/image_generation", &headers, body.clone());
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
        return refusal(
            1004,
            "login fail: Please carry the API secret key in the 'Authorization' field of the request header",
        );
    }
    let (width, height) = match check_body(&body) {
        Ok(size) => size,
        Err(why) => return refusal(2013, &format!("invalid params, {why}")),
    };
    let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
    let first_time = {
        let mut answered = mock.answered.lock().unwrap();
        let first = !answered.contains(&prompt);
        answered.push(prompt.clone());
        first
    };
    if prompt.contains("[input-sensitive]") {
        return refusal(1026, "input new_sensitive");
    } else if prompt.contains("[busy]") {
        return refusal(1002, "rate limit exceeded(RPM)");
    } else if prompt.contains("[balance]") {
        return refusal(1008, "insufficient balance");
    } else if prompt.contains("[flaky]") && first_time {
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error or disconnect/reset before headers")
            .into_response();
    }
    let n = body.get("n").and_then(Value::as_u64).unwrap_or(1);
    let made = if prompt.contains("[all-filtered]") {
        0
    } else if prompt.contains("[some-filtered]") {
        n - 1
    } else {
        n
    };
    let png = prompt.contains("[png]");
    let origin = mock.origin.get().unwrap();
    let mut links = Vec::new();
    let mut encoded = Vec::new();
    for _ in 0..made {
        let id = format!("{:06}", mock.next_id.fetch_add(1, Ordering::SeqCst));
        let image = Image { width, height, png };
        let extension = if png { "png" } else { "jpeg" };
        let file = if prompt.contains("[expired]") { format!("gone-{id}") } else { id.clone() };
        links.push(format!("{origin}/cdn/img/{file}.{extension}?Expires=1735776000&sign=abc"));
        encoded.push(base64::engine::general_purpose::STANDARD.encode(image.bytes()));
        mock.images.lock().unwrap().insert(id, image);
    }
    let (success, failed) = (made.to_string(), (n - made).to_string());
    let mut data = match body.get("response_format").and_then(Value::as_str) {
        Some("base64") => json!({ "image_base64": encoded }),
        _ => json!({ "image_urls": links }),
    };
    let mut answer = json!({ "id": "03ff3cd0820949eb8a410056b5f21d38", "base_resp": base_resp(0, "success") });
    if prompt.contains("[data]") {
        data["success_count"] = json!(made);
        data["failed_count"] = json!(n - made);
    } else {
        answer["metadata"] = json!({ "success_count": success, "failed_count": failed });
    }
    answer["data"] = data;
    Json(answer).into_response()
}

/// The "CDN": one image per id; anything else 404.
async fn cdn(State(mock): State<Arc<Mock>>, Path(file): Path<String>) -> Response {
    let id = file.split('.').next().unwrap_or_default();
    match mock.images.lock().unwrap().get(id).copied() {
        Some(image) => {
            let mime = if image.png { "image/png" } else { "image/jpeg" };
            ([(CONTENT_TYPE, mime)], image.bytes()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}

/// Start the mock MiniMax image API.
async fn mock_minimax_image() -> (MockVendor, Arc<Mock>) {
    let mock = Arc::new(Mock::default());
    let router = Router::new()
        .route("/v1/image_generation", post(image_generation))
        .route("/cdn/img/{file}", get(cdn))
        .with_state(mock.clone());
    let vendor = MockVendor::start(router).await;
    mock.origin.set(vendor.base_url()).unwrap();
    (vendor, mock)
}

/// Generate images with `key` and wait for the end.
async fn run(server: &Server, key: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "IMAGE", OFFERING, input, options).await
}

/// Every output of a completed generation: (served type, bytes), in order.
async fn outputs(server: &Server, generation: &Value) -> Vec<(String, Vec<u8>)> {
    let urls = generation["urls"].as_array().unwrap_or_else(|| panic!("no urls: {generation}"));
    let mut files = Vec::new();
    for url in urls {
        let url = url.as_str().unwrap();
        assert!(url.starts_with(&server.url("/files/")), "not re-hosted: {url}");
        let (status, content_type, bytes) = server.download(url).await;
        assert_eq!(status, 200, "{url}");
        files.push((content_type, bytes));
    }
    files
}

/// A completed generation of `count` JPEGs (or PNGs) of `width`×`height`
/// that cost `credits`, stored byte for byte as the CDN served them.
async fn assert_images(server: &Server, generation: &Value, credits: i64, count: usize, image: Image) {
    assert_status(generation, "COMPLETED", None, server);
    assert_eq!(generation["provider"], OFFERING);
    assert_eq!(generation["creditCost"], credits, "{generation}");
    let (mime, format) = if image.png { ("image/png", "png") } else { ("image/jpeg", "jpg") };
    let metadata = &generation["metadata"];
    assert_eq!(metadata["format"], format, "{generation}");
    assert_eq!(
        (metadata["width"].as_u64(), metadata["height"].as_u64()),
        (Some(image.width.into()), Some(image.height.into())),
        "the host read the size from the file: {generation}"
    );
    let files = outputs(server, generation).await;
    assert_eq!(files.len(), count, "{generation}");
    for (content_type, bytes) in files {
        assert_eq!((content_type.as_str(), bytes), (mime, image.bytes()));
    }
}

#[tokio::test]
async fn minimax_images_complete_with_every_file_rehosted() {
    let (vendor, mock) = mock_minimax_image().await;
    let (server, key) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let jpeg = |width, height| Image { width, height, png: false };
    let (square, batch, styled, exact, by_url, by_data, png, data_counts) = tokio::join!(
        run(&server, &key, json!({ "text": "a paper crane on a wooden desk [square]" }), json!({})),
        run(
            &server,
            &key,
            json!({ "text": "四只猫在窗台上晒太阳 [batch]" }),
            json!({ "numberOfImages": 4, "aspectRatio": "16:9", "seed": 42, "promptOptimizer": true, "watermark": true })
        ),
        run(
            &server,
            &key,
            json!({ "text": "a lighthouse at dusk [styled]" }),
            json!({ "model": "image-01-live", "style": "watercolor", "styleWeight": 0.5, "aspectRatio": "9:16" })
        ),
        run(&server, &key, json!({ "text": "a panorama [exact]" }), json!({ "width": 1536, "height": 512 })),
        run(
            &server,
            &key,
            json!({ "text": "the same woman as an astronaut [by-url]", "image": "https://images.example.com/face.jpg" }),
            json!({ "aspectRatio": "3:4" })
        ),
        run(
            &server,
            &key,
            json!({ "text": "the same person, comic style [by-data]", "image": PNG_DATA_URI }),
            json!({ "model": "image-01-live", "style": "comic" })
        ),
        run(&server, &key, json!({ "text": "a logo [png]" }), json!({ "aspectRatio": "21:9" })),
        run(&server, &key, json!({ "text": "two kites [data]" }), json!({ "numberOfImages": 2 })),
    );

    // Every default: one 1:1 image-01 JPEG, one credit.
    assert_images(&server, &square, 1, 1, jpeg(1024, 1024)).await;
    let call = mock.call("[square]");
    assert_eq!(call.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.body,
        json!({
            "model": "image-01",
            "prompt": "a paper crane on a wooden desk [square]",
            "aspect_ratio": "1:1",
            "response_format": "url",
            "n": 1,
            "prompt_optimizer": false,
            "aigc_watermark": false,
        })
    );

    // Four images, each its own file, each charged.
    assert_images(&server, &batch, 4, 4, jpeg(1280, 720)).await;
    let body = mock.call("[batch]").body;
    assert_eq!(
        (body["n"].as_u64(), body["aspect_ratio"].as_str(), body["seed"].as_i64()),
        (Some(4), Some("16:9"), Some(42))
    );
    assert_eq!((body["prompt_optimizer"].as_bool(), body["aigc_watermark"].as_bool()), (Some(true), Some(true)));
    let mut distinct = batch["urls"].as_array().unwrap().clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "four stored files: {batch}");

    // image-01-live with a style, sent in MiniMax's own words.
    assert_images(&server, &styled, 1, 1, jpeg(720, 1280)).await;
    let body = mock.call("[styled]").body;
    assert_eq!(body["model"], "image-01-live");
    assert_eq!(body["style"], json!({ "style_type": "水彩", "style_weight": 0.5 }));

    // Exact pixels: width and height, no ratio.
    assert_images(&server, &exact, 1, 1, jpeg(1536, 512)).await;
    let body = mock.call("[exact]").body;
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64(), body.get("aspect_ratio")),
        (Some(1536), Some(512), None)
    );

    // A character reference, passed on as given (https URL or data: URI).
    assert_images(&server, &by_url, 1, 1, jpeg(864, 1152)).await;
    assert_eq!(
        mock.call("[by-url]").body["subject_reference"],
        json!([{ "type": "character", "image_file": "https://images.example.com/face.jpg" }])
    );
    assert_images(&server, &by_data, 1, 1, jpeg(1024, 1024)).await;
    let body = mock.call("[by-data]").body;
    assert_eq!(body["subject_reference"], json!([{ "type": "character", "image_file": PNG_DATA_URI }]));
    assert_eq!(body["style"], json!({ "style_type": "漫画" }));

    // A PNG link is stored as a PNG; counts under `data` are read too.
    assert_images(&server, &png, 1, 1, Image { width: 1344, height: 576, png: true }).await;
    assert_images(&server, &data_counts, 2, 2, jpeg(1024, 1024)).await;

    assert!(mock.recorder.requests().iter().all(|r| r.path == "/v1/image_generation"), "one call per generation");
    assert_eq!(credits(&server, &key).await, 100_000 - 1 - 4 - 1 - 1 - 1 - 1 - 1 - 2);
}

#[tokio::test]
async fn minimax_image_failures_reach_the_right_public_codes() {
    let (vendor, mock) = mock_minimax_image().await;
    let (server, key) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let text = |prompt: &str| json!({ "text": prompt });
    let (sensitive, all_filtered, some_filtered, busy, flaky, balance, expired) = tokio::join!(
        run(&server, &key, text("something forbidden [input-sensitive]"), json!({})),
        run(&server, &key, text("something that renders badly [all-filtered]"), json!({ "numberOfImages": 2 })),
        run(&server, &key, text("three portraits [some-filtered]"), json!({ "numberOfImages": 3 })),
        run(&server, &key, text("a crowd at rush hour [busy]"), json!({})),
        run(&server, &key, text("a river at dusk [flaky]"), json!({})),
        run(&server, &key, text("a castle [balance]"), json!({})),
        run(&server, &key, text("a bridge [expired]"), json!({})),
    );
    assert_failed(&sensitive, "GENERATION_FAILED", &["MiniMax error 1026", "input new_sensitive"]);
    assert_eq!(mock.calls("[input-sensitive]").len(), 1, "moderation is final");
    assert_failed(&all_filtered, "GENERATION_FAILED", &["MiniMax's safety filter withheld every image (2 failed)"]);
    // Some withheld: the rest are delivered, charged as quoted (see the README).
    assert_images(&server, &some_filtered, 3, 2, Image { width: 1024, height: 1024, png: false }).await;
    // Rate limited under HTTP 200: retryable, so three calls in all.
    assert_failed(&busy, "PROVIDER_UNAVAILABLE", &["MiniMax error 1002", "rate limit exceeded(RPM)"]);
    assert_eq!(mock.calls("[busy]").len(), 3, "the host retries a rate-limited submit");
    // A bare 503 once, then success.
    assert_images(&server, &flaky, 1, 1, Image { width: 1024, height: 1024, png: false }).await;
    assert_eq!(mock.calls("[flaky]").len(), 2);
    // No balance: retrying cannot help.
    assert_failed(&balance, "PROVIDER_UNAVAILABLE", &["MiniMax error 1008", "insufficient balance"]);
    assert_eq!(mock.calls("[balance]").len(), 1);
    // A link that no longer answers: the host cannot store the result.
    assert_failed(&expired, "GENERATION_FAILED", &["could not store the result"]);

    // Only the two that completed were charged.
    assert_eq!(credits(&server, &key).await, 100_000 - 3 - 1);
}

#[tokio::test]
async fn minimax_image_refuses_what_minimax_cannot_do_before_any_job() {
    let (vendor, mock) = mock_minimax_image().await;
    let (server, key) = live_server("minimax", &vendor, &[("api_key", KEY)]).await;
    let refused = "provider `minimax-image` refused the request: ";
    let cases = [
        (
            json!({ "width": 1024 }),
            format!(
                "{refused}options `width` and `height` of provider `minimax-image` go together: give both or neither"
            ),
        ),
        (
            json!({ "width": 1024, "height": 1024, "aspectRatio": "16:9" }),
            format!(
                "{refused}options `width`/`height` and `aspectRatio` of provider `minimax-image` exclude each other; \
                 got 1024x1024 and 16:9"
            ),
        ),
        (
            json!({ "width": 1000, "height": 1004 }),
            format!(
                "{refused}option `height` of provider `minimax-image` must be a multiple of 8 from 512 to 2048; got 1004"
            ),
        ),
        (
            json!({ "model": "image-01-live", "width": 1024, "height": 768 }),
            format!(
                "{refused}options `width` and `height` of provider `minimax-image` are only available with model \
                 image-01; got model `image-01-live` (use aspectRatio)"
            ),
        ),
        (
            json!({ "model": "image-01-live", "aspectRatio": "21:9" }),
            format!(
                "{refused}option `aspectRatio` of provider `minimax-image` must be one of 1:1, 16:9, 4:3, 3:2, 2:3, \
                 3:4, 9:16 with model `image-01-live`; got 21:9"
            ),
        ),
        (
            json!({ "style": "comic" }),
            format!(
                "{refused}option `style` of provider `minimax-image` is only available with model image-01-live; got \
                 model `image-01`"
            ),
        ),
        (
            json!({ "model": "image-01-live", "styleWeight": 0.4 }),
            format!("{refused}option `styleWeight` of provider `minimax-image` needs option `style`"),
        ),
        (
            json!({ "style": "cinematic" }),
            "option `style` of provider `minimax-image` must be one of \"comic\", \"energetic\", \"medieval\", \
             \"watercolor\"; got \"cinematic\""
                .to_string(),
        ),
        (
            json!({ "numberOfImages": 10 }),
            "option `numberOfImages` of provider `minimax-image` must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9; got 10"
                .to_string(),
        ),
        (
            json!({ "negativePrompt": "blurry" }),
            "option `negativePrompt` is not supported by provider `minimax-image`; supported options: model, \
             aspectRatio, width, height, numberOfImages, seed, promptOptimizer, watermark, style, styleWeight"
                .to_string(),
        ),
    ];
    for (options, message) in cases {
        let error =
            generate_kind(&server, &key, "IMAGE", OFFERING, json!({ "text": "refused [refused]" }), options.clone())
                .await
                .expect_err("refused");
        assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{options}: {error}");
        assert_eq!(error["message"], message, "{options}");
    }
    let long = "字".repeat(1501);
    let error = generate_kind(&server, &key, "IMAGE", OFFERING, json!({ "text": long }), json!({})).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "INVALID_INPUT", "{error}");
    assert_eq!(error["message"], format!("{refused}input.text is longer than MiniMax's limit of 1500 characters"));

    assert!(mock.recorder.requests().is_empty(), "nothing refused reached MiniMax");
    assert_job_count(&server, &key, 0).await;
    assert_eq!(credits(&server, &key).await, 100_000);
}

#[tokio::test]
async fn minimax_image_needs_the_minimax_key_and_refuses_a_wrong_one() {
    let (vendor, mock) = mock_minimax_image().await;
    // One after the other: under load the harness can miss a server's printed test key.
    let (unconfigured, live) = live_server("minimax", &vendor, &[]).await;
    let (wrong, wrong_key) = live_server("minimax", &vendor, &[("api_key", "mm-revoked")]).await;

    // Listed under IMAGE (and only there), unavailable without the secret.
    let query = "query($type: GenerationType!) { providers(type: $type) { id available unavailableReason \
                 pricing { creditCost estimatedTime } options { name allowedValues default } } }";
    let images = unconfigured.gql(query, json!({ "type": "IMAGE" })).await;
    let listed = images["providers"].as_array().unwrap();
    let offering = listed.iter().find(|p| p["id"] == OFFERING).unwrap_or_else(|| panic!("not listed: {images}"));
    assert_eq!(offering["available"], false);
    assert_eq!(offering["unavailableReason"], "missing secret(s): api_key");
    assert_eq!(offering["pricing"], json!({ "creditCost": 1, "estimatedTime": 10 }));
    let options = option_names(offering);
    assert_eq!(
        options,
        [
            "model",
            "aspectRatio",
            "width",
            "height",
            "numberOfImages",
            "seed",
            "promptOptimizer",
            "watermark",
            "style",
            "styleWeight"
        ]
    );
    assert!(listed.iter().all(|p| p["id"] != "minimax"), "the video offering is not an image provider");
    let videos = unconfigured.gql(query, json!({ "type": "VIDEO" })).await;
    let video_ids: Vec<&str> =
        videos["providers"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert!(video_ids.contains(&"minimax") && !video_ids.contains(&OFFERING), "{video_ids:?}");

    assert_not_configured(&unconfigured, &live, "IMAGE", OFFERING, json!({ "text": "a fox" }), json!({}), "minimax")
        .await;
    // Test keys are served without MiniMax, priced as MiniMax would charge.
    let test_mode =
        run(&unconfigured, &unconfigured.key, json!({ "text": "a fox [test mode]" }), json!({ "numberOfImages": 3 }))
            .await;
    assert_eq!(test_mode["status"], "COMPLETED", "{test_mode}");
    assert_eq!(test_mode["creditCost"], 3);

    // A key MiniMax refuses (1004): final, not retried.
    let refused = run(&wrong, &wrong_key, json!({ "text": "a fox [wrong key]" }), json!({})).await;
    assert_failed(&refused, "PROVIDER_UNAVAILABLE", &["MiniMax error 1004", "login fail"]);
    let calls = mock.calls("[wrong key]");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("authorization"), Some("Bearer mm-revoked"));
    assert!(mock.calls("[test mode]").is_empty(), "test keys never reach MiniMax");
}

/// A server like [`live_server`] whose `[plugins.minimax]` also carries the
/// operator's `settings` (a TOML inline table's body).
async fn live_server_with_settings(vendor: &MockVendor, settings: &str) -> (Server, String) {
    super::live_server_with_settings("minimax", vendor, &[("api_key", KEY)], settings).await
}

/// An image model MiniMax does not serve (a stale setting) fails as
/// `PROVIDER_UNAVAILABLE`, not retried and refunded; a setting for the
/// other model value reaches MiniMax as the body's `model`.
#[tokio::test]
async fn minimax_image_settings_replace_model_ids_and_an_unknown_model_is_unavailable() {
    let (vendor, mock) = mock_minimax_image().await;
    let (server, key) = live_server_with_settings(
        &vendor,
        r#""model.minimax-image" = "image-00", "model.minimax-image.image-01-live" = "image-01""#,
    )
    .await;
    let (retired, moved) = tokio::join!(
        run(&server, &key, json!({ "text": "an old model [retired]" }), json!({})),
        run(&server, &key, json!({ "text": "a moved model [moved]" }), json!({ "model": "image-01-live" })),
    );
    assert_failed(&retired, "PROVIDER_UNAVAILABLE", &["invalid model image-00"]);
    assert_eq!(mock.calls("[retired]").len(), 1, "not retried");
    assert_eq!(moved["status"], "COMPLETED", "{moved}\n{}", server.log());
    assert_eq!(mock.call("[moved]").body["model"], "image-01");
    assert_eq!(credits(&server, &key).await, 100_000 - 1, "the failed job is refunded");
}
