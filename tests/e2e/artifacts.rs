//! Artifacts in object storage (issue 13): a real S3-compatible server on
//! loopback (`moto_server`), shared by several nodes; Range requests,
//! presigned redirects, retention, and memory bounded while a large
//! result streams through.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Backend, S3Server, Server, ServerOptions, rss_bytes};
use crate::relay::{Mode, RelayVendor, gateway_with, generate};

fn with_env(mut options: ServerOptions, env: Vec<(String, String)>) -> ServerOptions {
    options.env.extend(env);
    options
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The signed URL of generation `id`'s first output, waiting for it.
async fn output_url(server: &Server, key: &str, id: &str) -> String {
    let g = server.wait_terminal(key, id, Duration::from_secs(300)).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    g["url"].as_str().unwrap().to_string()
}

/// `url` with its host:port replaced by `server`'s.
fn on(server: &Server, url: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_port(Some(server.port)).unwrap();
    url.to_string()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn get_range(url: &str, range: &str) -> reqwest::Response {
    no_redirects().get(url).header("range", range).send().await.unwrap()
}

#[tokio::test]
async fn artifacts_in_a_bucket_are_served_by_every_node_with_ranges_and_redirects() {
    let s3 = S3Server::start().await;
    s3.create_bucket("shared").await;
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(50));
    let postgres = ServerOptions { backend: Some(Backend::Postgres), ..Default::default() };
    let (first, key) = gateway_with(&a, &b, 1_000, &[], with_env(postgres, s3.env("shared"))).await;
    let redirecting = ServerOptions { database_url: Some(first.database_url.clone()), ..Default::default() };
    let mut env = s3.env("shared");
    env.extend(pairs(&[("DOITONG_ARTIFACTS_DELIVERY", "redirect"), ("DOITONG_JOBS_WORKERS", "0")]));
    let (second, _) = gateway_with(&a, &b, 0, &[], with_env(redirecting, env)).await;

    let id = generate(&first, &key, "relay-a").await;
    let url = output_url(&first, &key, &id).await;
    assert_eq!(s3.keys("shared").await, vec![format!("doitong/{id}/0.png")], "uploaded under the prefix");
    assert_eq!(std::fs::read_dir(first.data_dir.join("staging")).unwrap().count(), 0, "nothing left staged");

    // Proxied by the node that made it.
    let whole = no_redirects().get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let png = whole.bytes().await.unwrap().to_vec();
    assert_eq!(&png[1..4], b"PNG");
    let n = png.len();

    let part = get_range(&url, "bytes=0-9").await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 0-9/{n}").as_str());
    assert_eq!(part.bytes().await.unwrap().to_vec(), png[..10].to_vec());
    let tail = get_range(&url, "bytes=-4").await;
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap().to_vec(), png[n - 4..].to_vec());
    let beyond = get_range(&url, &format!("bytes={n}-")).await;
    assert_eq!(beyond.status(), 416);
    assert_eq!(beyond.headers()["content-range"], format!("bytes */{n}").as_str());

    // Another node, configured to redirect: a presigned URL of the bucket.
    let moved = no_redirects().get(on(&second, &url)).send().await.unwrap();
    assert_eq!(moved.status(), 307);
    let location = moved.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&s3.endpoint) && location.contains("X-Amz-Signature"), "{location}");
    let direct = reqwest::get(&location).await.unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.headers()["content-type"], "image/png");
    assert_eq!(direct.bytes().await.unwrap().to_vec(), png);

    // A tampered link is refused on every node.
    let forged = on(&second, &url).replace("sig=", "sig=00");
    assert_eq!(no_redirects().get(forged).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn retention_deletes_expired_artifacts_their_rows_and_orphans() {
    let s3 = S3Server::start().await;
    s3.create_bucket("kept").await;
    s3.put("kept", "doitong/gen_crashed/0.png", b"left by a crash").await;
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    let mut env = s3.env("kept");
    // 0.00005 days = 4.32 s.
    env.extend(pairs(&[
        ("DOITONG_ARTIFACTS_RETENTION_DAYS", "0.00005"),
        ("DOITONG_ARTIFACTS_PURGE_INTERVAL_SECS", "1"),
    ]));
    let (server, key) = gateway_with(&a, &b, 1_000, &[], with_env(ServerOptions::default(), env)).await;
    let id = generate(&server, &key, "relay-a").await;
    let url = output_url(&server, &key, &id).await;
    let made = Instant::now();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200, "served while young");

    let deadline = Instant::now() + Duration::from_secs(30);
    while !s3.keys("kept").await.is_empty() {
        assert!(Instant::now() < deadline, "still in the bucket: {:?}\n{}", s3.keys("kept").await, server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(made.elapsed() >= Duration::from_secs(3), "deleted before its time ({:?})", made.elapsed());
    let gone = reqwest::get(&url).await.unwrap();
    assert_eq!(gone.status(), 404, "its row is gone too");
    let g = server.wait_terminal(&key, &id, Duration::from_secs(5)).await;
    assert_eq!((g["status"].as_str(), g["urls"].as_array().map(Vec::len)), (Some("COMPLETED"), Some(0)), "{g}");
    assert!(server.log().contains("artifacts purged"), "{}", server.log());
}

/// A 500 MiB result goes vendor → staging file → bucket in 5 MiB parts:
/// the server's resident memory grows by a few parts, not by the file.
#[tokio::test]
async fn a_500_mib_result_streams_into_the_bucket_with_bounded_memory() {
    const SIZE: u64 = 500 << 20;
    let s3 = S3Server::start().await;
    s3.create_bucket("big").await;
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    let (server, key) = gateway_with(&a, &b, 1_000, &[], with_env(ServerOptions::default(), s3.env("big"))).await;
    // Warm up (connections, pools, the plugin instance) on a small result.
    a.state.lock().unwrap().result_bytes = Some(1 << 20);
    let warm = generate(&server, &key, "relay-a").await;
    output_url(&server, &key, &warm).await;

    a.state.lock().unwrap().result_bytes = Some(SIZE);
    let baseline = rss_bytes(server.pid());
    let id = generate(&server, &key, "relay-a").await;
    let pid = server.pid();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..6000 {
            peak = peak.max(rss_bytes(pid));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        peak
    });
    let url = output_url(&server, &key, &id).await;
    sampler.abort();
    let peak = rss_bytes(server.pid()).max(sampler.await.unwrap_or(0));
    let grew = peak.saturating_sub(baseline);
    eprintln!("500 MiB result: RSS {} MiB -> peak {} MiB (+{} MiB)", baseline >> 20, peak >> 20, grew >> 20);
    assert!(grew < 32 << 20, "RSS grew by {} MiB", grew >> 20);

    // Bytes across a part boundary come back right (byte i is i % 251).
    let (from, to) = ((5u64 << 20) - 10, (5u64 << 20) + 9);
    let part = get_range(&url, &format!("bytes={from}-{to}")).await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes {from}-{to}/{SIZE}").as_str());
    let expected: Vec<u8> = (from..=to).map(|i| (i % 251) as u8).collect();
    assert_eq!(part.bytes().await.unwrap().to_vec(), expected);
    let query = "query($id: ID!) { generation(id: $id) { metadata { sizeBytes mimeType } } }";
    let (_, _, body) = server.post(Some(&key), query, json!({ "id": id }), &[]).await;
    let metadata = &body["data"]["generation"]["metadata"];
    assert_eq!((metadata["sizeBytes"].as_u64(), metadata["mimeType"].as_str()), (Some(SIZE), Some("video/mp4")));
}

/// The same on the default file store: the file under `<data_dir>/artifacts`
/// and its row go, a stray file as old goes too, a Range is answered.
#[tokio::test]
async fn retention_on_the_file_store() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    let env = pairs(&[("DOITONG_ARTIFACTS_RETENTION_DAYS", "0.00005"), ("DOITONG_ARTIFACTS_PURGE_INTERVAL_SECS", "1")]);
    let (server, key) = gateway_with(&a, &b, 1_000, &[], with_env(ServerOptions::default(), env)).await;
    let stray = server.data_dir.join("artifacts/gen_crashed/0.png");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"left by a crash").unwrap();
    let id = generate(&server, &key, "relay-a").await;
    let url = output_url(&server, &key, &id).await;
    let file = server.data_dir.join(format!("artifacts/{id}/0.png"));
    assert!(file.exists());
    let part = get_range(&url, "bytes=1-3").await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().to_vec(), b"PNG".to_vec());

    let deadline = Instant::now() + Duration::from_secs(30);
    while file.exists() || stray.exists() {
        assert!(Instant::now() < deadline, "not purged:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404, "its row is gone too");
}
