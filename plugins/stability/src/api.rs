//! Stability's v2beta Stable Image API on the wire: the multipart request,
//! the answer (image bytes, or JSON with base64), its finish reason and its
//! errors mapped to ours.
//!
//! One exchange per generation, synchronous: `POST
//! /v2beta/stable-image/generate/{sd3,ultra,core}` with `accept: image/*`
//! answers 200 with the image itself (headers `finish-reason`, `seed`,
//! `x-request-id`). A JSON answer (`{"image": base64, "finish_reason", "seed"}`,
//! what `accept: application/json` gives) is read as well.
//!
//! | Stability answer                               | result                                     |
//! |------------------------------------------------|--------------------------------------------|
//! | 200, finish reason `SUCCESS` (or none)         | the image: mime sniffed from its bytes, pixel size from its header |
//! | 200, finish reason `CONTENT_FILTERED`          | `content-rejected` (the image is blurred; not delivered) |
//! | 200, any other finish reason                   | `generation-failed`, quoting it            |
//! | any status with `name: content_moderation`    | `content-rejected`                         |
//! | 404 (no such endpoint), or a 400/422 refusing the `model` value | `model-unavailable`: retired model (replace it with `model.<offering>`) |
//! | 400, 413, 422                                  | `invalid-input`                            |
//! | 401, 403                                       | `unauthorized`                             |
//! | 402 (out of credits)                           | `rate-limited`, not retryable              |
//! | 429                                            | `rate-limited`, retryable, held back for `Retry-After` |
//! | 5xx, anything else                             | `provider-unavailable`, retryable          |
//!
//! Error bodies are `{"id", "name", "errors": [..]}`; the message keeps the
//! name, the errors and the id (what Stability's support asks for).

use doitong_plugin_sdk::image;
use doitong_plugin_sdk::multipart::Form;
use doitong_plugin_sdk::prelude::*;
use serde::Deserialize;

use crate::catalogue::{ImageFormat, Plan, Service};

/// The vendor origin: first in `allowed_hosts`, so operators can move it
/// with `base_url`.
pub const API: &str = "https://api.stability.ai";
/// Per-request timeout: Ultra takes 10-20 s; the host caps it at 60 s.
const REQUEST_TIMEOUT_MS: u32 = 60_000;
/// Stability refuses requests larger than 10 MiB (HTTP 413).
pub const MAX_REQUEST_BYTES: usize = 10 << 20;
/// Stability's smallest input image side, in pixels.
pub const MIN_IMAGE_SIDE: u32 = 64;
/// Sent as `stability-client-id`, which Stability asks integrations for.
const CLIENT_ID: &str = "doitong";

/// A checked input image for image-to-image.
#[derive(Clone, Debug, PartialEq)]
pub struct InputImage {
    /// The file.
    pub bytes: Vec<u8>,
    /// Its format, read from its header.
    pub format: ImageFormat,
}

impl InputImage {
    /// Check `media` (bytes the host supplied): a JPEG, PNG or WebP at
    /// least [`MIN_IMAGE_SIDE`] pixels a side.
    pub fn of(media: &Media) -> Result<InputImage, Failure> {
        let bytes = media
            .bytes
            .clone()
            .ok_or_else(|| failure::invalid_input("input.image: the image's bytes were not supplied"))?;
        let format = ImageFormat::sniff(&bytes).ok_or_else(|| {
            failure::invalid_input(format!(
                "input.image must be a JPEG, PNG or WebP image{}",
                media.mime.as_deref().map(|m| format!("; got {m}")).unwrap_or_default()
            ))
        })?;
        let (width, height) = image::size(&bytes)
            .map_err(|e| failure::invalid_input(format!("input.image: unreadable {} header ({e})", format.name())))?;
        if width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE {
            return Err(failure::invalid_input(format!(
                "input.image is {width}x{height} pixels; Stability needs at least {MIN_IMAGE_SIDE} pixels a side"
            )));
        }
        Ok(InputImage { bytes, format })
    }
}

/// The form for a checked request (`image` for image-to-image), with
/// `model` the SD 3.5 model id to send.
pub fn form_for(plan: &Plan, model: &str, image: Option<InputImage>) -> Form {
    let mut form = Form::new().text("prompt", plan.prompt.clone());
    if plan.service == Service::StableDiffusion {
        let mode = if image.is_some() { "image-to-image" } else { "text-to-image" };
        form = form.text("model", model.to_string()).text("mode", mode);
    }
    if let Some(image) = image {
        let filename = format!("image.{}", image.format.name());
        form = form.file("image", &filename, image.format.mime(), image.bytes);
    }
    if let Some(strength) = plan.strength {
        form = form.text("strength", strength.to_string());
    }
    if let Some(ratio) = plan.aspect_ratio {
        form = form.text("aspect_ratio", ratio);
    }
    if let Some(negative) = &plan.negative_prompt {
        form = form.text("negative_prompt", negative.clone());
    }
    if let Some(seed) = plan.seed {
        form = form.text("seed", seed.to_string());
    }
    form = form.text("output_format", plan.output_format.name());
    if let Some(style) = &plan.style_preset {
        form = form.text("style_preset", style.clone());
    }
    if let Some(cfg) = plan.cfg_scale {
        form = form.text("cfg_scale", cfg.to_string());
    }
    form
}

/// The form for a checked request with its built-in model id.
pub fn form(plan: &Plan, image: Option<InputImage>) -> Form {
    form_for(plan, plan.model.name(), image)
}

/// The endpoint path for `plan`: SD 3.5's fixed path, or Ultra's and
/// Core's with the operator's replacement for their last segment.
fn path(plan: &Plan) -> String {
    match plan.service {
        Service::StableDiffusion => plan.service.path().to_string(),
        Service::Ultra | Service::Core => {
            format!("/v2beta/stable-image/generate/{}", plan.model.resolved_id(plan.service))
        }
    }
}

/// A generated image and what Stability said about it.
#[derive(Debug, PartialEq)]
pub struct Generated {
    /// The image, inline, with its mime and pixel size.
    pub artifact: Artifact,
    /// The seed Stability used (reproduce the image with it).
    pub seed: Option<String>,
    /// Stability's `x-request-id`.
    pub request_id: Option<String>,
}

/// Generate one image.
pub fn generate(key: &str, plan: &Plan, image: Option<InputImage>) -> Result<Generated, Failure> {
    let encoded = form_for(plan, &plan.model.resolved_id(plan.service), image).encode();
    if encoded.body.len() > MAX_REQUEST_BYTES {
        return Err(failure::invalid_input(format!(
            "the request to Stability would be {:.1} MiB; Stability accepts at most 10 MiB (use a smaller input.image)",
            encoded.body.len() as f64 / f64::from(1 << 20)
        )));
    }
    let response = http::post(format!("{API}{}", path(plan)))
        .bearer(key)
        .header("Accept", "image/*")
        .header("stability-client-id", CLIENT_ID)
        .header("stability-client-version", env!("CARGO_PKG_VERSION"))
        .body(encoded.body, &encoded.content_type)
        .timeout_ms(REQUEST_TIMEOUT_MS)
        .send_with(request_failure)?;
    read_answer(&response)
}

/// Stability's JSON answer (`accept: application/json`).
#[derive(Deserialize, Debug)]
struct JsonAnswer {
    #[serde(default)]
    image: String,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    seed: Option<serde_json::Value>,
}

/// Read a 2xx answer (see the module table).
pub fn read_answer(response: &http::Response) -> Result<Generated, Failure> {
    let content_type = http::header(response, "content-type").unwrap_or_default();
    let request_id = http::header(response, "x-request-id").map(str::to_string);
    let (bytes, finish_reason, seed) = if content_type.starts_with("application/json") {
        let answer: JsonAnswer = http::decode_json(response)?;
        let bytes = media::decode_base64(&answer.image)
            .map_err(|e| failure::generation_failed(format!("Stability's image is not valid base64: {e}")))?;
        let seed = answer.seed.map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()));
        (bytes, answer.finish_reason, seed)
    } else {
        let finish_reason = http::header(response, "finish-reason").map(str::to_string);
        (response.body.clone(), finish_reason, http::header(response, "seed").map(str::to_string))
    };
    check_finish_reason(finish_reason.as_deref())?;
    if bytes.is_empty() {
        return Err(failure::generation_failed("Stability answered without an image"));
    }
    let format = ImageFormat::sniff(&bytes).ok_or_else(|| {
        failure::generation_failed(format!("Stability's answer is not a PNG, JPEG or WebP image ({content_type})"))
    })?;
    let size = image::size(&bytes).ok();
    let artifact = Artifact {
        width: size.map(|(width, _)| width),
        height: size.map(|(_, height)| height),
        ..Artifact::from_bytes(bytes, format.mime())
    };
    Ok(Generated { artifact, seed, request_id })
}

/// `SUCCESS` (or no reason at all) passes; a filtered output is refused.
fn check_finish_reason(reason: Option<&str>) -> Result<(), Failure> {
    match reason.map(str::trim) {
        None | Some("") => Ok(()),
        Some(reason) if reason.eq_ignore_ascii_case("SUCCESS") => Ok(()),
        Some(reason) if reason.eq_ignore_ascii_case("CONTENT_FILTERED") => Err(failure::content_rejected(
            "Stability's content filter flagged the generated image (finish-reason CONTENT_FILTERED); the blurred \
             image is not delivered",
        )),
        Some(reason) => Err(failure::generation_failed(format!("Stability finished the image with reason {reason}"))),
    }
}

/// Stability's error body.
#[derive(Deserialize, Debug, Default)]
struct ErrorBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
    /// Some reconstructions of the API spell the text this way.
    #[serde(default)]
    message: Option<String>,
}

/// The failure for a non-2xx answer (see the module table), with the
/// `Retry-After` of a 429.
pub fn request_failure(response: &http::Response) -> Failure {
    http::with_retry_after(classify(response), response)
}

fn classify(response: &http::Response) -> Failure {
    let status = response.status;
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let mut text: Vec<String> = body.errors.clone();
    text.extend(body.message.clone());
    let text = if text.is_empty() { http::error_text(&response.body) } else { text.join("; ") };
    let name = body.name.as_deref().unwrap_or("error");
    let mut message = format!("Stability AI {name} (HTTP {status}): {text}");
    if let Some(id) = body.id.as_deref().filter(|id| !id.is_empty()) {
        message.push_str(&format!(" [request {id}]"));
    }
    if name == "content_moderation" {
        return failure::content_rejected(message);
    }
    let lowered = text.to_ascii_lowercase();
    let model_refused = matches!(status, 400 | 422)
        && (lowered.contains("model:") || lowered.contains("model "))
        && (lowered.contains("must be one of")
            || lowered.contains("deprecated")
            || lowered.contains("not found")
            || lowered.contains("does not exist")
            || lowered.contains("no longer")
            || lowered.contains("unknown model"));
    if status == 404 || status == 410 || model_refused {
        return failure::model_unavailable(message);
    }
    match status {
        402 => Failure { retryable: false, ..failure::rate_limited(message) },
        _ => http::failure_for_status(status, message),
    }
}

/// `GET /v1/user/balance`.
#[derive(Deserialize, Debug)]
pub struct Balance {
    /// Stability credits left.
    pub credits: f64,
}

/// Per-request timeout of the health check.
const HEALTH_TIMEOUT_MS: u32 = 10_000;

/// The health check: the key works and the account has credits
/// (`GET /v1/user/balance`, which generates nothing).
pub fn check_balance(key: &str) -> Result<(), Failure> {
    let response = http::get(format!("{API}/v1/user/balance"))
        .bearer(key)
        .header("Accept", "application/json")
        .timeout_ms(HEALTH_TIMEOUT_MS)
        .send_with(request_failure)?;
    credits_left(&http::decode_json(&response)?)
}

/// `Ok` while the balance is above zero; else `rate-limited`, not
/// retryable (as Stability's 402).
pub fn credits_left(balance: &Balance) -> Result<(), Failure> {
    if balance.credits > 0.0 {
        Ok(())
    } else {
        Err(Failure {
            retryable: false,
            ..failure::rate_limited(format!("the Stability account has no credits left ({})", balance.credits))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Model, Service};

    /// A real 1x1 PNG (from the vendor notes).
    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

    /// The first bytes of a PNG of `width`x`height` (enough for its header).
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        out.extend_from_slice(b"IHDR");
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        out
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> http::Response {
        http::Response {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.to_vec(),
        }
    }

    fn plan(service: Service, model: Model) -> Plan {
        Plan {
            service,
            model,
            prompt: "a fox".into(),
            strength: None,
            aspect_ratio: Some("1:1"),
            negative_prompt: None,
            seed: None,
            output_format: ImageFormat::Png,
            style_preset: None,
            cfg_scale: None,
        }
    }

    fn fields(form: &Form) -> Vec<(String, String)> {
        form.names().into_iter().map(|n| (n.to_string(), form.text_value(n).unwrap_or("<file>").to_string())).collect()
    }

    #[test]
    fn text_to_image_forms_carry_every_mapped_option() {
        let mut sd = plan(Service::StableDiffusion, Model::Sd35Medium);
        sd.aspect_ratio = Some("21:9");
        sd.negative_prompt = Some("blurry".into());
        sd.seed = Some(42);
        sd.output_format = ImageFormat::Jpeg;
        sd.style_preset = Some("anime".into());
        sd.cfg_scale = Some(6.5);
        let expected = [
            ("prompt", "a fox"),
            ("model", "sd3.5-medium"),
            ("mode", "text-to-image"),
            ("aspect_ratio", "21:9"),
            ("negative_prompt", "blurry"),
            ("seed", "42"),
            ("output_format", "jpeg"),
            ("style_preset", "anime"),
            ("cfg_scale", "6.5"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        assert_eq!(fields(&form(&sd, None)), expected);
        let core = form(&plan(Service::Core, Model::Core), None);
        assert_eq!(core.names(), ["prompt", "aspect_ratio", "output_format"], "Core takes no model or mode");
    }

    #[test]
    fn image_to_image_forms_send_the_file_and_strength() {
        let image = InputImage { bytes: png_header(64, 64), format: ImageFormat::Png };
        let mut sd = plan(Service::StableDiffusion, Model::Sd35Large);
        (sd.strength, sd.aspect_ratio) = (Some(0.5), None);
        let form = form(&sd, Some(image.clone()));
        assert_eq!(form.names(), ["prompt", "model", "mode", "image", "strength", "output_format"]);
        assert_eq!((form.text_value("mode"), form.text_value("strength")), (Some("image-to-image"), Some("0.5")));
        let body = String::from_utf8_lossy(&form.encode().body).into_owned();
        assert!(body.contains("name=\"image\"; filename=\"image.png\"\r\nContent-Type: image/png\r\n\r\n"), "{body}");

        let mut ultra = plan(Service::Ultra, Model::Ultra);
        (ultra.strength, ultra.aspect_ratio) = (Some(0.25), None);
        let form = super::form(&ultra, Some(image));
        assert_eq!(form.names(), ["prompt", "image", "strength", "output_format"], "Ultra has no mode field");
    }

    #[test]
    fn input_images_must_be_jpeg_png_or_webp_of_64_pixels_a_side() {
        let media = |bytes: Vec<u8>| Media { url: String::new(), mime: Some("image/gif".into()), bytes: Some(bytes) };
        let image = InputImage::of(&media(png_header(640, 64))).unwrap();
        assert_eq!(image.format, ImageFormat::Png);
        let small = InputImage::of(&media(png_header(640, 63))).unwrap_err();
        assert_eq!(small.message, "input.image is 640x63 pixels; Stability needs at least 64 pixels a side");
        let gif = InputImage::of(&media(b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec())).unwrap_err();
        assert_eq!(gif.message, "input.image must be a JPEG, PNG or WebP image; got image/gif");
        let missing = InputImage::of(&Media { url: "https://x/y.png".into(), mime: None, bytes: None }).unwrap_err();
        assert_eq!(
            (missing.code, missing.message.as_str()),
            (FailureCode::InvalidInput, "input.image: the image's bytes were not supplied")
        );
    }

    #[test]
    fn image_answers_become_artifacts_with_their_real_type_and_size() {
        let png = png_header(1536, 640);
        let answer = response(
            200,
            &[("Content-Type", "image/png"), ("finish-reason", "SUCCESS"), ("seed", "1234567"), ("x-request-id", "r1")],
            &png,
        );
        let generated = read_answer(&answer).unwrap();
        assert_eq!(generated.artifact.bytes.as_deref(), Some(png.as_slice()));
        assert_eq!(generated.artifact.mime, "image/png");
        assert_eq!((generated.artifact.width, generated.artifact.height), (Some(1536), Some(640)));
        assert_eq!((generated.seed.as_deref(), generated.request_id.as_deref()), (Some("1234567"), Some("r1")));
        // The bytes decide the type, not the header.
        let mislabelled = read_answer(&response(200, &[("content-type", "image/jpeg")], &png)).unwrap();
        assert_eq!(mislabelled.artifact.mime, "image/png");
        let html = read_answer(&response(200, &[("content-type", "text/html")], b"<html>oops</html>")).unwrap_err();
        assert_eq!(html.code, FailureCode::GenerationFailed);
        let empty = read_answer(&response(200, &[("content-type", "image/png")], b"")).unwrap_err();
        assert_eq!(empty.message, "Stability answered without an image");
    }

    #[test]
    fn json_answers_are_read_too() {
        let body = format!(r#"{{"image":"{PNG_1X1}","finish_reason":"SUCCESS","seed":1234567}}"#);
        let generated =
            read_answer(&response(200, &[("content-type", "application/json; type=image/png")], body.as_bytes()))
                .unwrap();
        assert_eq!((generated.artifact.width, generated.artifact.height), (Some(1), Some(1)));
        assert_eq!(generated.artifact.bytes.unwrap(), media::decode_base64(PNG_1X1).unwrap());
        assert_eq!(generated.seed.as_deref(), Some("1234567"));
        let filtered = format!(r#"{{"image":"{PNG_1X1}","finish_reason":"CONTENT_FILTERED","seed":1}}"#);
        let failure =
            read_answer(&response(200, &[("content-type", "application/json")], filtered.as_bytes())).unwrap_err();
        assert_eq!(failure.code, FailureCode::ContentRejected);
    }

    #[test]
    fn finish_reasons_map_to_results() {
        let png = png_header(8, 8);
        let answer = |reason: &str| read_answer(&response(200, &[("finish-reason", reason)], &png));
        assert!(answer("SUCCESS").is_ok());
        let filtered = answer("CONTENT_FILTERED").unwrap_err();
        assert_eq!((filtered.code, filtered.retryable), (FailureCode::ContentRejected, false));
        assert!(filtered.message.contains("CONTENT_FILTERED"), "{}", filtered.message);
        let error = answer("ERROR").unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (FailureCode::GenerationFailed, "Stability finished the image with reason ERROR")
        );
    }

    #[test]
    fn error_answers_map_to_failures_and_keep_stabilitys_words() {
        let cases = [
            (400, "bad_request", FailureCode::InvalidInput, false),
            (401, "unauthorized", FailureCode::Unauthorized, false),
            (402, "payment_required", FailureCode::RateLimited, false),
            (403, "forbidden", FailureCode::Unauthorized, false),
            (403, "content_moderation", FailureCode::ContentRejected, false),
            (413, "payload_too_large", FailureCode::InvalidInput, false),
            (422, "invalid_language", FailureCode::InvalidInput, false),
            (429, "rate_limit_exceeded", FailureCode::RateLimited, true),
            (500, "internal_error", FailureCode::ProviderUnavailable, true),
            (503, "service_unavailable", FailureCode::ProviderUnavailable, true),
        ];
        for (status, name, code, retryable) in cases {
            let body = format!(r#"{{"id":"a1b2","name":"{name}","errors":["first","second"]}}"#);
            let failure = request_failure(&response(status, &[], body.as_bytes()));
            assert_eq!((failure.code, failure.retryable), (code, retryable), "{status} {name}");
            assert_eq!(failure.message, format!("Stability AI {name} (HTTP {status}): first; second [request a1b2]"));
        }
        let plain = request_failure(&response(502, &[], b"<html>bad gateway</html>"));
        assert_eq!(plain.message, "Stability AI error (HTTP 502): <html>bad gateway</html>");
        let reconstructed =
            request_failure(&response(400, &[], br#"{"name":"bad_request","message":"seed: too big"}"#));
        assert_eq!(reconstructed.message, "Stability AI bad_request (HTTP 400): seed: too big");
    }

    #[test]
    fn retired_models_are_model_unavailable_and_429s_carry_retry_after() {
        let refused = response(
            400,
            &[],
            br#"{"id":"e1","name":"bad_request","errors":["model: must be one of sd3.5-large, sd3.5-medium"]}"#,
        );
        assert_eq!(request_failure(&refused).code, FailureCode::ModelUnavailable);
        let gone = response(404, &[], br#"{"id":"e2","name":"not_found","errors":["Not found"]}"#);
        assert_eq!(request_failure(&gone).code, FailureCode::ModelUnavailable);
        let other = response(400, &[], br#"{"id":"e3","name":"bad_request","errors":["prompt: is required"]}"#);
        assert_eq!(request_failure(&other).code, FailureCode::InvalidInput);
        let busy =
            response(429, &[("Retry-After", "60")], br#"{"id":"e4","name":"rate_limit_exceeded","errors":["slow"]}"#);
        let failure = request_failure(&busy);
        assert_eq!((failure.code, failure.retry_after_secs), (FailureCode::RateLimited, Some(60)));
    }

    #[test]
    fn the_health_check_wants_credits() {
        assert!(credits_left(&Balance { credits: 3.5 }).is_ok());
        assert_eq!(credits_left(&Balance { credits: 0.0 }).unwrap_err().code, FailureCode::RateLimited);
    }
}
