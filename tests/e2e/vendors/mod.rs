//! Vendor adapters against mock vendor servers.
//!
//! Each `<vendor>.rs` holds a mock of that vendor's HTTP API, built from
//! `../shared/vendors/<vendor>.md` (axum on 127.0.0.1: it checks what the
//! adapter sends — auth, signature, required fields — and answers as the
//! vendor does), and the adapter's end-to-end tests through the real server.
//! This file holds what every vendor test shares: starting a mock, a
//! [`Recorder`] of what it received, a real MP4 for results, a server whose
//! adapter points at the mock, and the GraphQL calls and assertions the
//! tests make of it.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::harness::{Server, ServerOptions};

mod kling;
mod luma;
mod minimax;
mod runway;
mod seedance;
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
    let env_id = plugin.to_ascii_uppercase().replace('-', "_");
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
    let server = Server::start_with(ServerOptions { env, ..Default::default() }).await;
    let (_, key) = server.account_with_key("live", 100_000, false);
    (server, key)
}

/// The selection every vendor test reads back.
pub const GENERATION_FIELDS: &str = "id status provider url urls progress creditCost error errorCode metadata { duration resolution format width height }";

/// `generate` with `key`: `Ok(generation)` or `Err(first GraphQL error)`.
pub async fn generate(
    server: &Server,
    key: &str,
    provider: &str,
    input: Value,
    options: Value,
) -> Result<Value, Value> {
    let query = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {GENERATION_FIELDS} }} }}");
    let variables = json!({ "input": { "type": "VIDEO", "provider": provider, "input": input, "options": options } });
    let (_, _, body) = server.post(Some(key), &query, variables, &[]).await;
    match body["errors"].get(0) {
        Some(error) => Err(error.clone()),
        None => Ok(body["data"]["generate"].clone()),
    }
}

/// Generate and wait until terminal; the terminal generation.
pub async fn generate_to_end(server: &Server, key: &str, provider: &str, input: Value, options: Value) -> Value {
    let accepted = generate(server, key, provider, input, options)
        .await
        .unwrap_or_else(|e| panic!("generate refused: {e}\n{}", server.log()));
    let id = accepted["id"].as_str().unwrap();
    server.wait_terminal(key, id, Duration::from_secs(60)).await
}

/// The bytes behind a completed generation's `url`, checked to be the MP4
/// the mock served (the file was re-hosted, not linked).
pub async fn assert_rehosted_mp4(server: &Server, generation: &Value, expected: &[u8]) {
    let url = generation["url"].as_str().unwrap_or_else(|| panic!("no url: {generation}"));
    assert!(url.starts_with(&server.url("/files/")), "not re-hosted: {url}");
    let (status, content_type, bytes) = server.download(url).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "video/mp4");
    assert_eq!(bytes, expected, "the stored file differs from the vendor's");
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
