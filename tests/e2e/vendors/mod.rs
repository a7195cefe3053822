//! Vendor adapters against mock vendor servers.
//!
//! Each `<vendor>.rs` holds a mock of that vendor's HTTP API, built from
//! `../shared/vendors/<vendor>.md` (axum on 127.0.0.1: it checks what the
//! adapter sends — auth, signature, required fields — and answers as the
//! vendor does), and the adapter's end-to-end tests through the real server.
//! This file holds what every vendor test shares: starting a mock, a
//! [`Recorder`] of what it received, real media files for results (MP4,
//! PNG, JPEG, WebP, WAV) and the readers mocks check uploads with
//! (`multipart/form-data`, WAV lengths), a server whose adapter points at
//! the mock, and the GraphQL calls and assertions the tests make of it.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::harness::{Server, ServerOptions};

mod elevenlabs;
mod flux;
mod gemini_image;
mod google_tts;
mod hedra;
mod heygen;
mod kling;
mod luma;
mod minimax;
mod minimax_image;
mod openai;
mod runway;
mod seedance;
mod stability;
mod veo;
mod vidu;
mod wan;

/// A mock vendor listening on 127.0.0.1; stops when dropped.
pub struct MockVendor {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MockVendor {
    /// Serve `router` on a free loopback port.
    pub async fn start(router: Router) -> MockVendor {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        MockVendor { addr, task }
    }

    /// `http://127.0.0.1:<port>`: the adapter's `base_url`, and the origin
    /// of the result files a mock links to.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for MockVendor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request a mock recorded.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, `DELETE`, …
    pub method: String,
    /// The path (with the query, where the mock records it).
    pub path: String,
    /// Every header the adapter sent.
    pub headers: HeaderMap,
    /// The JSON body; `Value::Null` when there was none.
    pub body: Value,
}

impl Recorded {
    /// A header's value (names are case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a mock received, in order, and a signal raised on every change so
/// a test can wait for the adapter to get somewhere (bounded, no sleeps).
///
/// A mock records the requests it wants tests to see with [`record`](Self::record)
/// and calls [`changed`](Self::changed) after changing state of its own that
/// a test waits on.
#[derive(Default)]
pub struct Recorder {
    requests: Mutex<Vec<Recorded>>,
    changed: Notify,
}

impl Recorder {
    /// Remember a request and wake the waiters.
    pub fn record(&self, method: &str, path: impl Into<String>, headers: &HeaderMap, body: Value) {
        let recorded = Recorded { method: method.to_string(), path: path.into(), headers: headers.clone(), body };
        self.requests.lock().unwrap().push(recorded);
        self.changed();
    }

    /// Wake the waiters: the mock's own state changed.
    pub fn changed(&self) {
        self.changed.notify_waiters();
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The recorded requests `keep` accepts.
    pub fn filter(&self, keep: impl Fn(&Recorded) -> bool) -> Vec<Recorded> {
        self.requests.lock().unwrap().iter().filter(|r| keep(r)).cloned().collect()
    }

    /// How many `method` requests went to exactly `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.filter(|r| r.method == method && r.path == path).len()
    }

    /// Wait (at most 20 s, else panic naming `what`) until `done` holds;
    /// it is checked now and after every change.
    pub async fn wait_until(&self, what: &str, done: impl Fn() -> bool) {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if done() {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(20), wait).await.is_err() {
            panic!("the mock never saw {what}: {:#?}", self.requests());
        }
    }

    /// Wait (bounded, as [`wait_until`](Self::wait_until)) until a request
    /// `matches`.
    pub async fn wait_for(&self, what: &str, matches: impl Fn(&Recorded) -> bool) {
        self.wait_until(what, || self.requests.lock().unwrap().iter().any(&matches)).await;
    }
}

/// The one request of `found` (what a mock recorded for one marker),
/// panicking with `what` and the requests when there are none or several.
pub fn the_one(mut found: Vec<Recorded>, what: std::fmt::Arguments<'_>) -> Recorded {
    assert_eq!(found.len(), 1, "{what}: {found:?}");
    found.remove(0)
}

/// A small but structurally real MP4 (`ftyp`, `moov` with `mvhd`, one video
/// `trak` with `tkhd`/`mdhd`/`hdlr`, `mdat`): enough for the host to read
/// its duration and resolution as it does from a vendor's file.
pub fn sample_mp4(width: u32, height: u32, duration_ms: u32) -> Vec<u8> {
    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }
    const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];
    let timescale = 1000u32;
    let mut mvhd = vec![0u8; 4]; // version 0, flags
    for v in [0u32, 0, timescale, duration_ms, 0x0001_0000] {
        mvhd.extend_from_slice(&v.to_be_bytes());
    }
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume
    mvhd.extend_from_slice(&[0u8; 10]);
    MATRIX.iter().for_each(|v| mvhd.extend_from_slice(&v.to_be_bytes()));
    mvhd.extend_from_slice(&[0u8; 24]);
    mvhd.extend_from_slice(&2u32.to_be_bytes()); // next track id

    let mut tkhd = vec![0, 0, 0, 3]; // version 0, enabled | in movie
    for v in [0u32, 0, 1, 0, duration_ms] {
        tkhd.extend_from_slice(&v.to_be_bytes());
    }
    tkhd.extend_from_slice(&[0u8; 8]);
    tkhd.extend_from_slice(&[0u8; 8]); // layer, group, volume, reserved
    MATRIX.iter().for_each(|v| tkhd.extend_from_slice(&v.to_be_bytes()));
    tkhd.extend_from_slice(&(width << 16).to_be_bytes());
    tkhd.extend_from_slice(&(height << 16).to_be_bytes());

    let mut mdhd = vec![0u8; 4];
    for v in [0u32, 0, timescale, duration_ms] {
        mdhd.extend_from_slice(&v.to_be_bytes());
    }
    mdhd.extend_from_slice(&[0x55, 0xc4, 0, 0]); // language "und"
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0u8; 12]);
    hdlr.extend_from_slice(b"VideoHandler\0");

    let mdia = [boxed(b"mdhd", &mdhd), boxed(b"hdlr", &hdlr)].concat();
    let trak = [boxed(b"tkhd", &tkhd), boxed(b"mdia", &mdia)].concat();
    let moov = [boxed(b"mvhd", &mvhd), boxed(b"trak", &trak)].concat();
    let mut ftyp = b"isom".to_vec();
    ftyp.extend_from_slice(&0x200u32.to_be_bytes());
    ftyp.extend_from_slice(b"isomiso2avc1mp41");
    [boxed(b"ftyp", &ftyp), boxed(b"moov", &moov), boxed(b"mdat", &[0u8; 256])].concat()
}

/// A result file as a vendor's storage serves it: the MP4 of `video`
/// (`width`, `height`, `duration_ms`), or 404 when there is none.
pub fn mp4_file(video: Option<(u32, u32, u32)>) -> Response {
    match video {
        Some((width, height, duration_ms)) => {
            ([(CONTENT_TYPE, "video/mp4")], sample_mp4(width, height, duration_ms)).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A server whose `plugin` adapter talks to `vendor` with `secrets`
/// configured, polling fast; and a live key on an account with credits.
pub async fn live_server(plugin: &str, vendor: &MockVendor, secrets: &[(&str, &str)]) -> (Server, String) {
    live_server_with(plugin, vendor, secrets, Vec::new()).await
}

/// [`live_server`] with the `api_key` secret set to `key`, or not configured.
pub async fn live_server_with_key(plugin: &str, vendor: &MockVendor, key: Option<&str>) -> (Server, String) {
    let secrets: Vec<(&str, &str)> = key.map(|k| ("api_key", k)).into_iter().collect();
    live_server(plugin, vendor, &secrets).await
}

/// [`live_server`] with extra `DOITONG_*` variables.
pub async fn live_server_with(
    plugin: &str,
    vendor: &MockVendor,
    secrets: &[(&str, &str)],
    extra_env: Vec<(String, String)>,
) -> (Server, String) {
    start_live(plugin, vendor, secrets, extra_env, None).await
}

/// [`live_server`] whose `[plugins.<plugin>]` also carries the operator's
/// `settings` (the body of a TOML inline table, e.g. `"model.veo" = "…"`).
pub async fn live_server_with_settings(
    plugin: &str,
    vendor: &MockVendor,
    secrets: &[(&str, &str)],
    settings: &str,
) -> (Server, String) {
    let config_toml = format!("[plugins.{plugin}]\nsettings = {{ {settings} }}\n");
    start_live(plugin, vendor, secrets, Vec::new(), Some(config_toml)).await
}

async fn start_live(
    plugin: &str,
    vendor: &MockVendor,
    secrets: &[(&str, &str)],
    extra_env: Vec<(String, String)>,
    config_toml: Option<String>,
) -> (Server, String) {
    let env_id = env_id(plugin);
    let mut env = vec![
        (format!("DOITONG_PLUGINS_{env_id}_BASE_URL"), vendor.base_url()),
        (format!("DOITONG_PLUGINS_{env_id}_ALLOW_PRIVATE"), "true".into()),
        ("DOITONG_JOBS_MIN_POLL_INTERVAL_MS".into(), "50".into()),
        ("DOITONG_JOBS_MAX_POLL_INTERVAL_MS".into(), "200".into()),
    ];
    for (name, value) in secrets {
        env.push((format!("DOITONG_SECRET_{env_id}_{}", name.to_ascii_uppercase()), value.to_string()));
    }
    env.extend(extra_env);
    let server = Server::start_with(ServerOptions { env, config_toml, ..Default::default() }).await;
    let (_, key) = server.account_with_key("live", 100_000, false);
    (server, key)
}

/// `plugin` as it stands in `DOITONG_*` variable names.
fn env_id(plugin: &str) -> String {
    plugin.to_ascii_uppercase().replace('-', "_")
}

/// The selection every vendor test reads back.
pub const GENERATION_FIELDS: &str = "id status provider url urls progress creditCost error errorCode metadata { duration resolution format width height }";

/// `generate` of a video with `key`: `Ok(generation)` or `Err(first GraphQL error)`.
pub async fn generate(
    server: &Server,
    key: &str,
    provider: &str,
    input: Value,
    options: Value,
) -> Result<Value, Value> {
    generate_kind(server, key, "VIDEO", provider, input, options).await
}

/// `generate` of a `kind` (`VIDEO`, `IMAGE`, `AUDIO`, `AVATAR`) with `key`:
/// `Ok(generation)` or `Err(first GraphQL error)`.
pub async fn generate_kind(
    server: &Server,
    key: &str,
    kind: &str,
    provider: &str,
    input: Value,
    options: Value,
) -> Result<Value, Value> {
    let query = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {GENERATION_FIELDS} }} }}");
    let variables = json!({ "input": { "type": kind, "provider": provider, "input": input, "options": options } });
    let (_, _, body) = server.post(Some(key), &query, variables, &[]).await;
    match body["errors"].get(0) {
        Some(error) => Err(error.clone()),
        None => Ok(body["data"]["generate"].clone()),
    }
}

/// Generate a video and wait until terminal; the terminal generation.
pub async fn generate_to_end(server: &Server, key: &str, provider: &str, input: Value, options: Value) -> Value {
    generate_kind_to_end(server, key, "VIDEO", provider, input, options).await
}

/// Generate a `kind` and wait until terminal; the terminal generation.
pub async fn generate_kind_to_end(
    server: &Server,
    key: &str,
    kind: &str,
    provider: &str,
    input: Value,
    options: Value,
) -> Value {
    let accepted = generate_kind(server, key, kind, provider, input, options)
        .await
        .unwrap_or_else(|e| panic!("generate refused: {e}\n{}", server.log()));
    let id = accepted["id"].as_str().unwrap();
    server.wait_terminal(key, id, Duration::from_secs(60)).await
}

/// The bytes behind a completed generation's `url`, checked to be the MP4
/// the mock served (the file was re-hosted, not linked).
pub async fn assert_rehosted_mp4(server: &Server, generation: &Value, expected: &[u8]) {
    assert_rehosted(server, generation, "video/mp4", expected).await;
}

/// The bytes behind a completed generation's `url`, checked to be the file
/// of `content_type` the vendor gave (the file was stored, not linked).
pub async fn assert_rehosted(server: &Server, generation: &Value, content_type: &str, expected: &[u8]) {
    let url = generation["url"].as_str().unwrap_or_else(|| panic!("no url: {generation}"));
    assert!(url.starts_with(&server.url("/files/")), "not re-hosted: {url}");
    let (status, served_type, bytes) = server.download(url).await;
    assert_eq!(status, 200);
    assert_eq!(served_type, content_type);
    assert_eq!(bytes, expected, "the stored file differs from the vendor's");
}

/// A real PNG of `width`×`height` pixels (a gradient), as vendors return.
pub fn sample_png(width: u32, height: u32) -> Vec<u8> {
    sample_png_tinted(width, height, 128)
}

/// [`sample_png`] with `blue` in every pixel, so that the images of one
/// answer can be different files.
pub fn sample_png_tinted(width: u32, height: u32, blue: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..width * height)
        .flat_map(|i| [(i % width * 255 / width.max(1)) as u8, (i / width * 255 / height.max(1)) as u8, blue])
        .collect();
    writer.write_image_data(&pixels).unwrap();
    drop(writer);
    out
}

/// A real baseline JPEG of `width`×`height` pixels, one flat grey, as image
/// vendors serve: SOI, JFIF, quantisation and Huffman tables, a frame and a
/// scan whose every 8×8 block is "DC unchanged, end of block" (2 bits
/// each). Real enough for the host and any reader of its size.
pub fn sample_jpeg(width: u32, height: u32) -> Vec<u8> {
    fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
    }
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    segment(&mut out, 0xDB, &[[0u8].as_slice(), &[1u8; 64]].concat());
    let (w, h) = ((width as u16).to_be_bytes(), (height as u16).to_be_bytes());
    segment(&mut out, 0xC0, &[8, h[0], h[1], w[0], w[1], 1, 1, 0x11, 0]);
    // One code of length 1 for the only symbol used: DC category 0 (table
    // class 0) and end-of-block (class 1).
    let one_symbol = |class: u8| [[class].as_slice(), &[1], &[0u8; 15], &[0]].concat();
    segment(&mut out, 0xC4, &one_symbol(0x00));
    segment(&mut out, 0xC4, &one_symbol(0x10));
    segment(&mut out, 0xDA, &[1, 1, 0, 0, 63, 0]);
    // Two zero bits per block, padded with ones: no 0xFF byte can occur.
    let bits = 2 * u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8));
    out.extend(std::iter::repeat_n(0u8, (bits / 8) as usize));
    if bits % 8 != 0 {
        out.push(0xFF >> (bits % 8));
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// An extended-format WebP of `width`×`height` (a `VP8X` header): what a
/// reader of its size needs.
pub fn sample_webp(width: u32, height: u32) -> Vec<u8> {
    let mut chunk = b"VP8X".to_vec();
    chunk.extend_from_slice(&10u32.to_le_bytes());
    chunk.extend_from_slice(&[0x10, 0, 0, 0]);
    chunk.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    chunk.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + chunk.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunk);
    out
}

/// A `data:` URI of `bytes` as `mime`, as users send inline media.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A real WAV (16-bit mono PCM at `sample_rate`) of `duration_ms` of a tone.
pub fn sample_wav(sample_rate: u32, duration_ms: u32) -> Vec<u8> {
    let samples = (u64::from(sample_rate) * u64::from(duration_ms) / 1000) as u32;
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = f64::from(i) / f64::from(sample_rate);
        let sample = ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// The length in milliseconds of a canonical PCM WAV (the byte rate at
/// offset 28, the data length at 40), as a vendor's mock measures uploads.
pub fn wav_ms(bytes: &[u8]) -> Option<u32> {
    if !bytes.starts_with(b"RIFF") {
        return None;
    }
    let byte_rate = u32::from_le_bytes(bytes.get(28..32)?.try_into().ok()?);
    let data_len = u32::from_le_bytes(bytes.get(40..44)?.try_into().ok()?);
    Some((u64::from(data_len) * 1000 / u64::from(byte_rate)) as u32)
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct FormPart {
    /// The field name.
    pub name: String,
    /// The file name, for a file part.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub body: Vec<u8>,
}

/// Read a `multipart/form-data` body as RFC 7578 defines it, strictly: the
/// reader vendors' mocks check uploads and forms with, independent of the
/// SDK's encoder.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<FormPart>, String> {
    let (essence, params) = content_type.split_once(';').ok_or("no boundary parameter")?;
    if essence.trim() != "multipart/form-data" {
        return Err(format!("content type {essence}"));
    }
    let boundary = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .ok_or("no boundary parameter")?;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest = body.strip_prefix(delimiter.as_slice()).ok_or("the body does not open with the boundary")?;
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return if rest == b"--\r\n" || rest == b"--" { Ok(parts) } else { Err("bytes after the close".into()) };
        }
        rest = rest.strip_prefix(b"\r\n").ok_or("no CRLF after a boundary")?;
        let end = find(rest, b"\r\n\r\n").ok_or("a part without a blank line")?;
        let headers = std::str::from_utf8(&rest[..end]).map_err(|e| e.to_string())?;
        let (mut name, mut filename, mut part_type) = (None, None, None);
        for line in headers.split("\r\n") {
            let (header, value) = line.split_once(':').ok_or("a malformed part header")?;
            match header.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').skip(1) {
                        let (key, value) = param.trim().split_once('=').ok_or("a malformed disposition")?;
                        let value = value.trim_matches('"').to_string();
                        match key {
                            "name" => name = Some(value),
                            "filename" => filename = Some(value),
                            _ => {}
                        }
                    }
                }
                "content-type" => part_type = Some(value.trim().to_string()),
                other => return Err(format!("unexpected part header {other}")),
            }
        }
        rest = &rest[end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let next = find(rest, &closing).ok_or("a part that never ends")?;
        let name = name.ok_or("a part without a name")?;
        parts.push(FormPart { name, filename, content_type: part_type, body: rest[..next].to_vec() });
        rest = &rest[next + closing.len()..];
    }
}

/// The credits left on `key`'s account.
pub async fn credits(server: &Server, key: &str) -> i64 {
    let (_, _, body) = server.post(Some(key), "{ account { credits } }", json!({}), &[]).await;
    body["data"]["account"]["credits"].as_i64().unwrap_or_else(|| panic!("{body}"))
}

/// The metadata of generation `id`, read with its owner's `key`.
pub async fn metadata(server: &Server, key: &str, id: &Value) -> Value {
    let query = "query($id: ID!) { generation(id: $id) { metadata { duration resolution format width height } } }";
    let (_, _, body) = server.post(Some(key), query, json!({ "id": id }), &[]).await;
    body["data"]["generation"]["metadata"].clone()
}

/// `cancelGeneration(id)` with `key`: the whole GraphQL answer, refusals
/// included.
pub async fn cancel(server: &Server, key: &str, id: &str) -> Value {
    let query = "mutation($id: ID!) { cancelGeneration(id: $id) }";
    server.post(Some(key), query, json!({ "id": id }), &[]).await.2
}

/// Cancel generation `id`, which must be accepted, and wait for its end;
/// the terminal generation.
pub async fn cancel_to_end(server: &Server, key: &str, id: &str) -> Value {
    let body = cancel(server, key, id).await;
    assert_eq!(body["data"]["cancelGeneration"], true, "{body}\n{}", server.log());
    server.wait_terminal(key, id, Duration::from_secs(20)).await
}

/// A generation that ended `FAILED` with the public `code`, its message
/// mentioning every one of `needles`.
pub fn assert_failed(generation: &Value, code: &str, needles: &[&str]) {
    assert_eq!(generation["status"], "FAILED", "{generation}");
    assert_eq!(generation["errorCode"], code, "{generation}");
    let message = generation["error"]["message"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(message.contains(needle), "{message:?} should mention {needle:?}");
    }
}

/// `key`'s account has made `expected` generations: the refusals a test
/// made created no job.
pub async fn assert_job_count(server: &Server, key: &str, expected: usize) {
    let (_, _, listed) = server.post(Some(key), "{ generations(first: 50) { nodes { id } } }", json!({}), &[]).await;
    assert_eq!(
        listed["data"]["generations"]["nodes"].as_array().map(Vec::len),
        Some(expected),
        "no job for refusals: {listed}"
    );
}

/// Offering `id` as the catalogue lists it among the `kind` providers
/// (`VIDEO`, `IMAGE`, `AUDIO`, `AVATAR`): name, vendor, features,
/// availability, pricing and options.
pub async fn listed_provider(server: &Server, kind: &str, id: &str) -> Value {
    let query = format!(
        "{{ providers(type: {kind}) {{ id name vendor features available unavailableReason \
         pricing {{ creditCost estimatedTime }} options {{ name type allowedValues default minimum maximum }} }} }}"
    );
    let data = server.gql(&query, json!({})).await;
    let providers = data["providers"].as_array().unwrap_or_else(|| panic!("{data}"));
    providers.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} missing: {data}")).clone()
}

/// The names of a listed provider's options, in order.
pub fn option_names(provider: &Value) -> Vec<&str> {
    let options = provider["options"].as_array().unwrap_or_else(|| panic!("no options: {provider}"));
    options.iter().map(|o| o["name"].as_str().unwrap()).collect()
}

/// A live `key`'s `generate` of `provider` (a `kind` offering of
/// `plugin`) with `input` and `options`, on a server where the plugin has
/// no `api_key`: refused `PROVIDER_UNAVAILABLE`, naming the variable that
/// sets it.
pub async fn assert_not_configured(
    server: &Server,
    key: &str,
    kind: &str,
    provider: &str,
    input: Value,
    options: Value,
    plugin: &str,
) {
    let error = generate_kind(server, key, kind, provider, input, options).await.unwrap_err();
    assert_eq!(error["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{error}");
    assert_eq!(
        error["message"],
        format!(
            "provider `{provider}` is not configured: missing secret(s) api_key (set DOITONG_SECRET_{}_API_KEY)",
            env_id(plugin)
        )
    );
}

/// A generation with `status` and `errorCode` `code` (`None`: no error).
pub fn assert_status(generation: &Value, status: &str, code: Option<&str>, server: &Server) {
    assert_eq!(generation["status"], status, "{generation}\n{}", server.log());
    assert_eq!(generation["errorCode"].as_str(), code, "{generation}");
}

/// A completed generation of `provider` that cost `credits`, with an MP4 of
/// `width`×`height` pixels and `seconds` long in its metadata.
pub fn assert_completed(generation: &Value, provider: &str, credits: i64, (width, height): (u32, u32), seconds: f64) {
    assert_eq!(generation["status"], "COMPLETED", "{generation}");
    assert_eq!(generation["provider"], provider);
    assert_eq!(generation["creditCost"], credits, "{generation}");
    let metadata = &generation["metadata"];
    assert_eq!(metadata["format"], "mp4", "{generation}");
    assert_eq!((metadata["width"].as_u64(), metadata["height"].as_u64()), (Some(width.into()), Some(height.into())));
    assert_eq!(metadata["resolution"], format!("{width}x{height}"), "{generation}");
    assert_eq!(metadata["duration"].as_f64(), Some(seconds), "{generation}");
}

/// A completed image generation of `provider` that cost `credits`, whose
/// stored file has the metadata `format` (`png`, `jpg`, …) and
/// `width`×`height` pixels.
pub fn assert_image(generation: &Value, provider: &str, credits: i64, format: &str, (width, height): (u32, u32)) {
    assert_eq!(generation["status"], "COMPLETED", "{generation}");
    assert_eq!(generation["provider"], provider, "{generation}");
    assert_eq!(generation["creditCost"], credits, "{generation}");
    let metadata = &generation["metadata"];
    assert_eq!(metadata["format"], format, "{generation}");
    assert_eq!(
        (metadata["width"].as_u64(), metadata["height"].as_u64()),
        (Some(width.into()), Some(height.into())),
        "{generation}"
    );
}

/// A completed speech generation of `provider` that cost `credits`, whose
/// stored file is `expected` (its bytes and exact length in milliseconds),
/// of `mime` and `format`, and has no pixel size.
pub async fn assert_spoken(
    server: &Server,
    generation: &Value,
    provider: &str,
    credits: i64,
    (mime, format): (&str, &str),
    expected: &(Vec<u8>, u32),
) {
    assert_status(generation, "COMPLETED", None, server);
    assert_eq!(generation["provider"], provider);
    assert_eq!(generation["creditCost"], credits, "{generation}");
    assert_eq!(generation["metadata"]["format"], format, "{generation}");
    assert_eq!(generation["metadata"]["duration"].as_f64(), Some(f64::from(expected.1) / 1000.0), "{generation}");
    assert_eq!((generation["metadata"]["width"].as_u64(), generation["metadata"]["height"].as_u64()), (None, None));
    assert_rehosted(server, generation, mime, &expected.0).await;
}

#[test]
fn sample_images_are_read_as_what_they_claim() {
    let jpeg = sample_jpeg(1280, 720);
    assert_eq!(imagesize::image_type(&jpeg).unwrap(), imagesize::ImageType::Jpeg);
    let size = imagesize::blob_size(&jpeg).unwrap();
    assert_eq!((size.width, size.height), (1280, 720));
    assert!(jpeg.ends_with(&[0xFF, 0xD9]));
    assert!(!jpeg[2..jpeg.len() - 2].windows(2).any(|w| w == [0xFF, 0xD9]), "one end marker");
    let webp = imagesize::blob_size(&sample_webp(300, 200)).unwrap();
    assert_eq!((webp.width, webp.height), (300, 200));
    assert_ne!(sample_png_tinted(8, 8, 0), sample_png_tinted(8, 8, 60));
    assert_eq!(sample_png(8, 8), sample_png_tinted(8, 8, 128));
}

#[test]
fn the_mocks_multipart_reader_reads_what_browsers_send() {
    let body = b"--XYZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na fox\r\n--XYZ\r\n\
                 Content-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\
                 \x89PNG\r\n--XYZ--\r\n";
    let parts = parse_multipart("multipart/form-data; boundary=XYZ", body).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].name.as_str(), parts[0].body.as_slice()), ("prompt", b"a fox".as_slice()));
    assert_eq!((parts[1].filename.as_deref(), parts[1].content_type.as_deref()), (Some("a.png"), Some("image/png")));
    assert_eq!(parts[1].body, b"\x89PNG");
    assert!(parse_multipart("multipart/form-data; boundary=XYZ", b"--XYZ\r\nbroken").is_err());
    assert!(parse_multipart("application/json", b"{}").is_err());
}

#[test]
fn the_mocks_read_wav_lengths() {
    assert_eq!(wav_ms(&sample_wav(16_000, 3_200)), Some(3_200));
    assert_eq!(wav_ms(b"ID3\x04 not a wav"), None);
}

/// The catalogue lists every bundled video offering with its options and
/// pricing; without secrets they are unavailable to live keys, and say why.
#[tokio::test]
async fn providers_list_every_video_offering_with_options_and_pricing() {
    let server = Server::start().await;
    let data = server
        .gql(
            "{ providers(type: VIDEO) { id vendor available unavailableReason pricing { creditCost estimatedTime } \
             options { name type allowedValues } } }",
            json!({}),
        )
        .await;
    let providers = data["providers"].as_array().unwrap();
    let by_id = |id: &str| providers.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} missing: {data}"));
    for id in [
        "kling",
        "kling-animation",
        "minimax",
        "veo",
        "veo-fast",
        "veo-lite",
        "runway",
        "luma",
        "luma-ray-flash-2",
        "luma-ray-1-6",
        "seedance",
        "wan",
        "wan-flash",
        "vidu",
    ] {
        let p = by_id(id);
        assert!(p["pricing"]["creditCost"].as_i64().unwrap() > 0, "{p}");
        assert!(p["pricing"]["estimatedTime"].as_i64().unwrap() > 0, "{p}");
        assert!(!p["options"].as_array().unwrap().is_empty(), "{p}");
        assert_eq!(p["available"], false, "no secrets configured: {p}");
        let reason = p["unavailableReason"].as_str().unwrap();
        assert!(reason.contains("secret"), "{reason}");
    }
    let kling = by_id("kling");
    assert!(kling["unavailableReason"].as_str().unwrap().contains("access_key"), "{kling}");
    let duration = kling["options"].as_array().unwrap().iter().find(|o| o["name"] == "duration").unwrap();
    assert_eq!(duration["allowedValues"], json!([5, 10]), "{duration}");
}

/// Every bundled image, speech and avatar offering is listed under its
/// kind with options and pricing; without secrets each is unavailable to
/// live keys and says which secret is missing.
#[tokio::test]
async fn providers_list_every_image_audio_and_avatar_offering() {
    let server = Server::start().await;
    let expected: [(&str, &[&str]); 3] = [
        (
            "IMAGE",
            &[
                "flux-dev",
                "flux-pro",
                "flux-pro-1-1",
                "flux-ultra",
                "flux-kontext",
                "gemini-image",
                "gemini-image-pro",
                "minimax-image",
                "stable-diffusion",
                "stable-image-ultra",
                "stable-image-core",
                "gpt-image",
            ],
        ),
        ("AUDIO", &["elevenlabs", "google-tts", "openai-tts"]),
        ("AVATAR", &["heygen", "hedra"]),
    ];
    for (kind, ids) in expected {
        let query = format!(
            "{{ providers(type: {kind}) {{ id available unavailableReason pricing {{ creditCost estimatedTime }} \
             options {{ name }} }} }}"
        );
        let data = server.gql(&query, json!({})).await;
        let listed = data["providers"].as_array().unwrap();
        for id in ids {
            let p = listed.iter().find(|p| p["id"] == *id).unwrap_or_else(|| panic!("{kind} {id} missing: {data}"));
            assert!(p["pricing"]["creditCost"].as_i64().unwrap() > 0, "{p}");
            assert!(p["pricing"]["estimatedTime"].as_i64().unwrap() > 0, "{p}");
            assert!(!p["options"].as_array().unwrap().is_empty(), "{p}");
            assert_eq!(p["available"], false, "no secrets configured: {p}");
            assert!(p["unavailableReason"].as_str().unwrap().contains("api_key"), "{p}");
        }
        // No video offering leaks into another kind's list.
        assert!(listed.iter().all(|p| p["id"] != "kling" && p["id"] != "minimax"), "{data}");
    }
}
