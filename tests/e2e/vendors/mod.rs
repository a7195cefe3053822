//! Vendor adapters against mock vendor servers.
//!
//! Each `<vendor>.rs` holds a mock of that vendor's HTTP API, built from
//! `../shared/vendors/<vendor>.md` (axum on 127.0.0.1: it checks what the
//! adapter sends — auth, signature, required fields — and answers as the
//! vendor does), and the adapter's end-to-end tests through the real server.
//! This file holds what every vendor test shares: starting a mock, a real
//! MP4 for results, and a server whose adapter points at the mock.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};

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

    /// `http://127.0.0.1:<port>`: the adapter's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An absolute URL on the mock, e.g. for result files.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for MockVendor {
    fn drop(&mut self) {
        self.task.abort();
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

/// A server whose `plugin` adapter talks to `vendor` with `secrets`
/// configured, polling fast; and a live key on an account with credits.
pub async fn live_server(plugin: &str, vendor: &MockVendor, secrets: &[(&str, &str)]) -> (Server, String) {
    live_server_with(plugin, vendor, secrets, Vec::new()).await
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
