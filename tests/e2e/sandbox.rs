//! Misbehaving plugins (tests/plugins/misbehave, bad-manifest, and WAT
//! built here) against the real server: each gets a clear error naming the
//! plugin and the limit, and the server keeps serving meanwhile.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use serde_json::{Value, json};

use crate::harness::{Server, ServerOptions, guest_wasm};

/// A loopback HTTP server standing in for a vendor: `/small` answers
/// "hello vendor", `/huge` streams 100 MB.
async fn vendor() -> String {
    let app = Router::new().route("/small", get(|| async { "hello vendor" })).route(
        "/huge",
        get(|| async {
            let chunk = bytes::Bytes::from(vec![b'x'; 1 << 20]);
            let stream = futures::stream::iter((0..100).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            Body::from_stream(stream)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn server_with_misbehave(allow_private: bool) -> (Server, String) {
    let vendor = vendor().await;
    let server = Server::start_with(ServerOptions {
        plugins: vec![("misbehave.wasm".into(), guest_wasm("doitong-test-plugin-misbehave"))],
        env: vec![
            ("DOITONG_PLUGINS_MISBEHAVE_BASE_URL".into(), vendor.clone()),
            ("DOITONG_PLUGINS_MISBEHAVE_ALLOW_PRIVATE".into(), allow_private.to_string()),
            ("DOITONG_SECRET_MISBEHAVE_API_KEY".into(), "the-key".into()),
            ("DOITONG_SECRET_MISBEHAVE_OTHER".into(), "must-not-leak".into()),
            ("DOITONG_SANDBOX_CPU_MS".into(), "500".into()),
        ],
        ..Default::default()
    })
    .await;
    (server, vendor)
}

/// Run a `misbehave` generation with a live key; the terminal generation.
async fn misbehave(server: &Server, key: &str, prompt: &str) -> Value {
    let (_, _, body) = server
        .post(
            Some(key),
            "mutation($t: String!) { generate(input: { type: IMAGE, provider: \"misbehave\", input: { text: $t } }) { id } }",
            json!({ "t": prompt }),
            &[],
        )
        .await;
    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
    server.wait_terminal(key, &id, Duration::from_secs(60)).await
}

fn assert_failed(g: &Value, code: &str, needles: &[&str]) {
    assert_eq!(g["status"], "FAILED", "{g}");
    assert_eq!(g["errorCode"], code, "{g}");
    let message = g["error"]["message"].as_str().unwrap();
    for needle in needles {
        assert!(message.contains(needle), "{message:?} should mention {needle:?}");
    }
}

#[tokio::test]
async fn limits_stop_misbehaving_plugins_and_the_server_keeps_serving() {
    let (server, _) = server_with_misbehave(false).await;
    let (_, key) = server.account_with_key("sandbox", 100, false);

    // Healthy requests in parallel with every misbehaviour.
    let healthy = async {
        let mut completed = 0;
        for _ in 0..5 {
            let (_, _, body) = server
                .post(
                    Some(&server.key),
                    "mutation { generate(input: { type: IMAGE, input: { text: \"fine\" } }) { id } }",
                    json!({}),
                    &[],
                )
                .await;
            let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
            let done = server.wait_terminal(&server.key, &id, Duration::from_secs(120)).await;
            assert_eq!(done["status"], "COMPLETED", "{done}");
            completed += 1;
        }
        completed
    };
    let misbehaviours = async {
        let spin = misbehave(&server, &key, "spin").await;
        let alloc = misbehave(&server, &key, "alloc").await;
        let panic = misbehave(&server, &key, "panic").await;
        (spin, alloc, panic)
    };
    let (completed, (spin, alloc, panic)) = tokio::join!(healthy, misbehaviours);
    assert_eq!(completed, 5, "healthy requests completed while plugins misbehaved");
    assert_failed(&spin, "GENERATION_FAILED", &["plugin misbehave@1.0.0", "`submit`", "CPU time budget of 500 ms"]);
    assert_failed(&alloc, "GENERATION_FAILED", &["plugin misbehave@1.0.0", "memory cap of 64 MiB"]);
    assert_failed(&panic, "GENERATION_FAILED", &["plugin misbehave@1.0.0", "panicked", "server log"]);
    // What the plugin printed stays in the log, out of users' sight.
    assert!(!panic.to_string().contains("deliberate panic"), "{panic}");
    assert!(server.log().contains("misbehave: deliberate panic"), "logged for the operator");

    // Credits were refunded for every failure.
    let (_, _, body) = server.post(Some(&key), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(body["data"]["account"]["credits"], 100);

    // The plugin still works after its crashes: a fresh instance per call.
    let ok = misbehave(&server, &key, "ok").await;
    assert_eq!(ok["status"], "COMPLETED", "{ok}");
}

#[tokio::test]
async fn network_and_secrets_are_scoped() {
    let (server, _) = server_with_misbehave(false).await;
    let (_, key) = server.account_with_key("net", 100, false);

    // A host not in the manifest.
    let g = misbehave(&server, &key, "http:https://evil.example/steal").await;
    assert_failed(&g, "PROVIDER_UNAVAILABLE", &["https://evil.example", "not among this plugin's allowed hosts"]);
    // The vendor origin rewritten onto a loopback base_url, without allow_private.
    let g = misbehave(&server, &key, "http:https://vendor.example/small").await;
    assert_failed(&g, "PROVIDER_UNAVAILABLE", &["127.0.0.1", "private, loopback or link-local"]);
    // Cloud metadata, directly.
    let g = misbehave(&server, &key, "http:http://169.254.169.254/latest/meta-data").await;
    assert_failed(&g, "PROVIDER_UNAVAILABLE", &["not among this plugin's allowed hosts"]);
    // A secret the manifest does not declare is never handed out.
    let g = misbehave(&server, &key, "secret:other").await;
    assert_failed(&g, "PROVIDER_UNAVAILABLE", &["secret `other` unavailable"]);
    // A declared one is.
    let g = misbehave(&server, &key, "secret:api_key").await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    let (_, _, bytes) = server.download(g["url"].as_str().unwrap()).await;
    assert_eq!(bytes, b"the-key");
}

#[tokio::test]
async fn allowed_private_vendor_works_and_huge_bodies_are_capped() {
    let (server, _) = server_with_misbehave(true).await;
    let (_, key) = server.account_with_key("private", 100, false);
    let g = misbehave(&server, &key, "http:https://vendor.example/small").await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    let (_, _, bytes) = server.download(g["url"].as_str().unwrap()).await;
    assert_eq!(bytes, b"hello vendor");
    let g = misbehave(&server, &key, "http:https://vendor.example/huge").await;
    assert_failed(&g, "GENERATION_FAILED", &["33554432-byte cap"]);
}

#[tokio::test]
async fn invalid_plugins_are_refused_at_load_with_the_reason() {
    let bad = guest_wasm("doitong-test-plugin-bad-manifest");
    let core_module = wat::parse_str("(module (func (export \"f\")))").unwrap();
    let server = Server::start_with(ServerOptions {
        plugins: vec![("bad.wasm".into(), bad.clone()), ("core.wasm".into(), core_module.clone())],
        ..Default::default()
    })
    .await;
    // The server serves despite them.
    let data = server.gql("{ providers { id } }", json!({})).await;
    let ids: Vec<&str> = data["providers"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"placeholder") && ids.contains(&"kling"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("bad")), "{ids:?}");
    let listing = server.cli(&["plugins", "list"]);
    assert!(listing.contains("bad.wasm\t-\tFailed"), "{listing}");
    assert!(listing.contains("core.wasm\t-\tFailed"), "{listing}");

    let dir = tempfile::tempdir().unwrap();
    for (name, wasm, needles) in [
        (
            "bad.wasm",
            bad,
            vec![
                "plugin id \"Bad Id!\"",
                "declares no media kinds",
                "default \"huge\" is not among its allowed values",
            ],
        ),
        ("core.wasm", core_module, vec!["not a loadable WebAssembly component"]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, wasm).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_doitong"))
            .args(["plugins", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        for needle in needles {
            assert!(stderr.contains(needle), "{stderr} should mention {needle}");
        }
    }
}

/// What a plugin hands back is bounded: 10,000 outputs fail the generation
/// cleanly (refunded), a 1 MiB failure message is cut, and an output that
/// claims to be HTML is served as bytes.
#[tokio::test]
async fn plugin_outputs_are_bounded() {
    let (server, _) = server_with_misbehave(false).await;
    let (_, key) = server.account_with_key("outputs", 100, false);
    let many = misbehave(&server, &key, "many").await;
    assert_failed(&many, "GENERATION_FAILED", &["returned 10000 outputs", "at most 16"]);
    assert_eq!(crate::vendors::credits(&server, &key).await, 100, "refunded");

    let shout = misbehave(&server, &key, "shout").await;
    let message = shout["error"]["message"].as_str().unwrap();
    assert!(message.len() < 2200 && message.contains("bytes cut"), "{} bytes", message.len());

    let html = misbehave(&server, &key, "html").await;
    assert_eq!(html["status"], "COMPLETED", "{html}");
    let (status, content_type, _) = server.download(html["url"].as_str().unwrap()).await;
    assert_eq!((status, content_type.as_str()), (200, "application/octet-stream"));
}

/// A plugin call that logs 10,000 lines leaves 100 in the host's log and
/// one notice.
#[tokio::test]
async fn a_chatty_plugin_logs_a_bounded_number_of_lines() {
    let (server, _) = server_with_misbehave(false).await;
    let (_, key) = server.account_with_key("chatty", 100, false);
    let done = misbehave(&server, &key, "chatty").await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let log = server.log();
    let kept = log.lines().filter(|l| l.contains("chatty line")).count();
    assert_eq!(kept, 100, "lines kept");
    assert_eq!(log.matches("further lines are dropped").count(), 1);
}
