//! What browsers need from the API (issue 15): CORS for the origins the
//! operator lists, cacheable artifact downloads (ETag, If-None-Match,
//! Range).

use std::time::Duration;

use serde_json::json;

use crate::harness::{Server, ServerOptions};

const APP: &str = "https://app.example.com";

async fn preflight(server: &Server, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,idempotency-key")
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// An allowed origin's preflight is answered with what the browser must
/// see; another origin gets no grant; without `http.cors_origins` no
/// origin does.
#[tokio::test]
async fn cors_grants_the_configured_origins_only() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_HTTP_CORS_ORIGINS".into(), format!("{APP},http://localhost:5173"))],
        ..Default::default()
    })
    .await;
    let allowed = preflight(&server, APP).await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(APP));
    let headers = header(&allowed, "access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for needed in ["authorization", "content-type", "idempotency-key"] {
        assert!(headers.contains(needed), "{needed} in {headers}");
    }
    assert!(header(&allowed, "access-control-allow-methods").unwrap_or_default().contains("POST"));

    let other = preflight(&server, "https://evil.example").await;
    assert_eq!(header(&other, "access-control-allow-origin"), None, "no grant for another origin");

    // The actual request carries the grant and exposes the rate-limit headers.
    let response = reqwest::Client::new()
        .post(server.url("/graphql"))
        .header("origin", APP)
        .bearer_auth(&server.key)
        .json(&json!({ "query": "{ account { credits } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
    let exposed = header(&response, "access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(exposed.contains("x-ratelimit-remaining") && exposed.contains("retry-after"), "{exposed}");

    let plain = Server::start().await;
    let none = preflight(&plain, APP).await;
    assert_eq!(header(&none, "access-control-allow-origin"), None, "CORS is off by default");
}

/// A bad origin in the configuration stops the server at start with the reason.
#[tokio::test]
async fn a_malformed_cors_origin_is_a_configuration_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doitong"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DOITONG_HTTP_CORS_ORIGINS", "https://app.example.com/path")
        .env("DOITONG_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("http.cors_origins") && stderr.contains("no path"), "{stderr}");
}

/// Downloads carry an ETag; a browser revalidating with If-None-Match gets
/// 304 without the body, and Range still works beside it.
#[tokio::test]
async fn downloads_revalidate_with_etags() {
    let server = Server::start().await;
    let (_, _, body) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: IMAGE, input: { text: \"etag\" } }) { id status url } }",
            json!({}),
            &[("Prefer", "wait=30")],
        )
        .await;
    let url = body["data"]["generate"]["url"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").expect("an ETag").to_string();
    let bytes = first.bytes().await.unwrap();

    let again = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), Some(etag.as_str()));
    assert!(again.bytes().await.unwrap().is_empty());
    let changed = client.get(&url).header("if-none-match", "\"something-else\"").send().await.unwrap();
    assert_eq!(changed.status(), 200);

    let part = client.get(&url).header("range", "bytes=1-4").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(header(&part, "etag"), Some(etag.as_str()));
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[1..5]);
}

/// A tiny valid PNG.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 4, 4);
    encoder.set_color(png::ColorType::Rgb);
    encoder.write_header().unwrap().write_image_data(&[200; 48]).unwrap();
    out
}

async fn upload(server: &Server, key: Option<&str>, content_type: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut request =
        reqwest::Client::new().post(server.url("/uploads")).header("content-type", content_type).body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// `POST /uploads` (raw or multipart) stores a file and answers its id and
/// a signed URL; a generation uses the id as `input.image` (image-to-video
/// here); other accounts cannot; files are recognised by content and
/// capped, with clear errors.
#[tokio::test]
async fn uploads_feed_generations_and_are_checked() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ARTIFACTS_UPLOAD_MAX_MIB".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let (_, key) = server.account_with_key("uploader", 100, false);
    let image = png();

    let (status, raw) = upload(&server, Some(&key), "application/octet-stream", image.clone()).await;
    assert_eq!(status, 201, "{raw}");
    let id = raw["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("upload_"), "{raw}");
    assert_eq!(raw["mimeType"], "image/png", "recognised by content, whatever the header says");
    assert_eq!(raw["sizeBytes"], image.len());
    assert!(raw["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{raw}");
    let (status, _, fetched) = server.download(raw["url"].as_str().unwrap()).await;
    assert_eq!((status, fetched), (200, image.clone()));

    let boundary = "XdoitongX";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"frame.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&image);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, multipart) =
        upload(&server, Some(&key), &format!("multipart/form-data; boundary={boundary}"), form).await;
    assert_eq!(status, 201, "{multipart}");
    assert_eq!(multipart["sizeBytes"], image.len());

    // Image to video from the upload.
    let generate = "mutation($i: GenerateInput!) { generate(input: $i) { id } }";
    let input = |image: &str| json!({ "i": { "type": "VIDEO", "provider": "placeholder", "input": { "text": "make it move", "image": image } } });
    let (_, _, body) = server.post(Some(&key), generate, input(&id), &[]).await;
    let generation = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
    let done = server.wait_terminal(&key, &generation, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // Another account's key cannot use it; nor can an id that was never issued.
    let (_, other) = server.account_with_key("someone-else", 100, false);
    for (key, reference) in [(other.as_str(), id.as_str()), (key.as_str(), "upload_AAAAAAAAAAAAAAAAAAAA")] {
        let (_, _, body) = server.post(Some(key), generate, input(reference), &[]).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.image", "{body}");
    }

    // Too large, not media, no key.
    let (status, body) = upload(&server, Some(&key), "image/png", vec![0x89; (1 << 20) + 10]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "upload_max_mib", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("larger than 1 MiB"), "{body}");
    let (status, body) = upload(&server, Some(&key), "text/plain", b"just some text".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    let (status, body) = upload(&server, None, "image/png", image).await;
    assert_eq!(status, 401, "{body}");
}

/// Uploads expire: past `artifacts.upload_ttl_secs` a generation cannot
/// use one, its URL answers 404, and the purge deletes the file.
#[tokio::test]
async fn uploads_expire_and_are_purged() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ARTIFACTS_UPLOAD_TTL_SECS".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let (_, key) = server.account_with_key("brief", 100, false);
    let (status, raw) = upload(&server, Some(&key), "image/png", png()).await;
    assert_eq!(status, 201, "{raw}");
    let stored = server.data_dir.join("artifacts/uploads");
    assert_eq!(std::fs::read_dir(&stored).unwrap().count(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let generate = "mutation($i: GenerateInput!) { generate(input: $i) { id } }";
    let input =
        json!({ "i": { "type": "VIDEO", "provider": "placeholder", "input": { "text": "late", "image": raw["id"] } } });
    let (_, _, body) = server.post(Some(&key), generate, input, &[]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expire"), "{body}");
    let (status, _, _) = server.download(raw["url"].as_str().unwrap()).await;
    assert_eq!(status, 404);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&stored).unwrap().count() > 0 {
        assert!(std::time::Instant::now() < deadline, "the expired upload was never purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GraphiQL comes from the gateway itself: the page, each script and style
/// it loads (relative URLs, so under any prefix), revalidated by ETag,
/// under a policy that lets nothing load from another origin.
#[tokio::test]
async fn graphiql_is_served_from_embedded_assets() {
    let server = Server::start().await;
    let client = reqwest::Client::new();
    let page = client.get(server.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(header(&page, "content-type").unwrap().starts_with("text/html"));
    let policy = header(&page, "content-security-policy").unwrap().to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("://"), "no absolute URL in the page: {html}");
    let assets: Vec<&str> = html.split('"').filter(|s| s.starts_with("assets/")).collect();
    assert_eq!(assets.len(), 5, "{assets:?}");
    for asset in assets {
        let response = client.get(server.url(&format!("/{asset}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let kind = header(&response, "content-type").unwrap().to_string();
        assert!(
            kind.starts_with(if asset.ends_with(".css") { "text/css" } else { "text/javascript" }),
            "{asset}: {kind}"
        );
        let etag = header(&response, "etag").unwrap().to_string();
        assert!(!response.bytes().await.unwrap().is_empty());
        let again = client.get(server.url(&format!("/{asset}"))).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{asset}");
    }
    let missing = client.get(server.url("/assets/graphiql/../../etc/passwd")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

/// Key holders manage their account's keys: a live key lists, creates and
/// revokes any; a test key test keys only; a revoked key stops working.
#[tokio::test]
async fn key_holders_manage_their_own_keys() {
    let server = Server::start().await;
    let (_, live) = server.account_with_key("keys", 10, false);
    let create = "mutation($t: Boolean!) { createKey(test: $t) { key apiKey { id prefix testMode revokedAt } } }";
    let (_, _, made) = server.post(Some(&live), create, json!({ "t": false }), &[]).await;
    let second = made["data"]["createKey"]["key"].as_str().unwrap_or_else(|| panic!("{made}")).to_string();
    assert!(second.starts_with("dt_live_"));
    let id = made["data"]["createKey"]["apiKey"]["id"].as_str().unwrap().to_string();
    let (_, _, listed) = server.post(Some(&second), "{ apiKeys { id testMode revokedAt } }", json!({}), &[]).await;
    assert_eq!(listed["data"]["apiKeys"].as_array().unwrap().len(), 2, "{listed}");

    // A test key made by the live one cannot mint a live key or touch live keys.
    let (_, _, made) = server.post(Some(&live), create, json!({ "t": true }), &[]).await;
    let test = made["data"]["createKey"]["key"].as_str().unwrap().to_string();
    let (_, _, refused) = server.post(Some(&test), create, json!({ "t": false }), &[]).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    let revoke = "mutation($id: ID!) { revokeKey(id: $id) }";
    let (_, _, refused) = server.post(Some(&test), revoke, json!({ "id": id }), &[]).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "NOT_FOUND", "{refused}");
    let (_, _, listed) = server.post(Some(&test), "{ apiKeys { testMode } }", json!({}), &[]).await;
    assert_eq!(listed["data"]["apiKeys"], json!([{ "testMode": true }]), "{listed}");

    // Revoked: the key no longer authenticates.
    let (_, _, revoked) = server.post(Some(&live), revoke, json!({ "id": id }), &[]).await;
    assert_eq!(revoked["data"]["revokeKey"], true, "{revoked}");
    let (status, _, _) = server.post(Some(&second), "{ account { id } }", json!({}), &[]).await;
    assert_eq!(status, 401);
}

/// The console is served at `/` from the binary, under the same policy
/// as GraphiQL: its page, script and style, nothing from elsewhere.
#[tokio::test]
async fn the_console_is_served_at_the_root() {
    let server = Server::start().await;
    let client = reqwest::Client::new();
    let page = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = header(&page, "content-security-policy").unwrap().to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<main") && !html.contains("://"), "{html}");
    for (asset, kind) in [("console/console.js", "text/javascript"), ("console/console.css", "text/css")] {
        let response = client.get(server.url(&format!("/{asset}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(header(&response, "content-type").unwrap().starts_with(kind), "{asset}");
    }
}

/// The console and GraphiQL driven in headless Chromium
/// (`tests/browser/console.mjs`, playwright-core): sign in with a test key,
/// browse the catalogue, generate an image and a video in the playground
/// and see each load, list generations, read the account, create a key
/// (shown once) and revoke it, read every page on a phone-width screen
/// without sideways scrolling, sign in and generate by keyboard alone (focus
/// always visible), open GraphiQL; axe-core (WCAG 2.1 A/AA and best
/// practice) finds nothing on any console page, no request leaves loopback
/// and no page logs an error.
/// Screenshots go to the target directory (`DOITONG_UPDATE_SCREENSHOTS=1`:
/// to `docs/screenshots/`, which the README shows).
#[tokio::test]
async fn the_console_works_in_headless_chromium() {
    let server = Server::start().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let shots = match std::env::var_os("DOITONG_UPDATE_SCREENSHOTS") {
        Some(_) => root.join("docs/screenshots"),
        None => std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    let base = server.url("");
    let run = tokio::process::Command::new("node")
        .arg("console.mjs")
        .arg(base.trim_end_matches('/'))
        .arg(&server.key)
        .arg(&shots)
        .current_dir(root.join("tests/browser"))
        .output()
        .await
        .expect("node runs (and `npm ci` in tests/browser installed playwright-core: .ci/run does)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&run.stderr)));
    assert!(report["error"].is_null(), "{report:#}\n{}", server.log());
    assert_eq!(report["offLoopback"], json!([]), "every request stayed on loopback");
    assert_eq!(report["consoleErrors"], json!([]), "no page logged an error");
    let steps = ["catalogue", "image", "video", "generations", "account", "keys", "phone", "keyboard", "graphiql"];
    assert_eq!(report["steps"], json!(steps));
    assert_eq!(report["uploads"], 1, "the video's image went through the file field and POST /uploads");
    let audited = ["sign-in", "catalogue", "playground", "generations", "account", "keys", "signed-in"];
    for view in audited {
        assert_eq!(report["a11y"][view], json!([]), "axe-core finds nothing on {view}: {:#}", report["a11y"]);
    }
    assert_eq!(report["phoneOverflow"], json!([]), "no page scrolls sideways at 390 px");
    for shot in ["catalogue", "playground-image", "generations", "account", "keys", "catalogue-phone", "graphiql"] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
}

/// A real H.264 MP4 (`tests/e2e/fixtures/seek-h264.mp4`, 6 s, made with
/// ffmpeg's test source) served by `/files/…`: a Range request returns
/// exactly its bytes, and a `<video>` in Chromium reads its duration and
/// seeks to 4.5 s over Range requests (206).
#[tokio::test]
async fn a_served_video_seeks_in_chromium() {
    let server = Server::start().await;
    let mp4 = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/e2e/fixtures/seek-h264.mp4")).unwrap();
    let (status, uploaded) = upload(&server, Some(&server.key), "video/mp4", mp4.clone()).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["mimeType"], "video/mp4");
    let url = uploaded["url"].as_str().unwrap().to_string();

    let part = reqwest::Client::new().get(&url).header("range", "bytes=100-1099").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(header(&part, "content-range"), Some(format!("bytes 100-1099/{}", mp4.len()).as_str()));
    assert_eq!(part.bytes().await.unwrap().as_ref(), &mp4[100..1100]);

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let run = tokio::process::Command::new("node")
        .arg("seek.mjs")
        .arg(server.url("").trim_end_matches('/'))
        .arg(&url)
        .current_dir(root.join("tests/browser"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&run.stderr)));
    assert!(report["error"].is_null(), "{report:#}");
    assert_eq!(report["duration"], json!(6), "{report}");
    let seeked = report["seekedTo"].as_f64().unwrap();
    assert!((seeked - 4.5).abs() < 0.3, "{report}");
    let statuses = report["statuses"].as_array().unwrap();
    assert!(!statuses.is_empty() && statuses.iter().all(|s| s == 206), "the element read by ranges: {report}");
    assert_eq!(report["offLoopback"], json!([]));
}
