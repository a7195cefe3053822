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
