//! The host as a library (issue 7): the gateway mounted under a prefix of
//! another axum app, shut down with a job in flight and resumed on the next
//! start; and the plugin runtime used alone, limits included.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use doitong_host::plugins::{
    JobInput, JobRequest, Limit, MediaKind, PluginError, PluginRuntime, PluginSettings, Progress, RuntimeLimits,
    Submitted, Value,
};
use doitong_host::{Config, Gateway};
use serde_json::json;

use crate::harness::guest_wasm;

fn config(dir: &std::path::Path, port: u16) -> Config {
    let mut flags = toml::Table::new();
    flags.insert("data_dir".into(), toml::Value::String(dir.display().to_string()));
    flags.insert("public_url".into(), toml::Value::String(format!("http://127.0.0.1:{port}/ai")));
    Config::load(None, Vec::new(), flags).unwrap()
}

/// Serve `app` on `listener` until `stop` fires.
fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, task)
}

fn app(gateway: &Gateway) -> Router {
    Router::new().route("/", get(|| async { "the host application" })).nest("/ai", gateway.router())
}

#[tokio::test]
async fn mounted_under_a_prefix_and_resumed_after_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let gateway = Gateway::start(config(dir.path(), port)).await.unwrap();
    let key = gateway.first_run_key.clone().expect("a new database gets a test key");
    let (stop, server) = serve(listener, app(&gateway));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");

    assert_eq!(client.get(&base).send().await.unwrap().text().await.unwrap(), "the host application");
    // The console is at the prefix (axum's `nest` routes `/ai`, not `/ai/`),
    // and its files resolve under it.
    let html = client.get(format!("{base}/ai")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("console/console.js") && html.contains("<base href=\"/ai/\">"), "{html}");
    let script = client.get(format!("{base}/ai/console/console.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    let body: serde_json::Value = client
        .post(format!("{base}/ai/graphql"))
        .bearer_auth(&key)
        .json(&json!({ "query": "mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"in flight\" }, options: { latencyMs: 2500 } }) { id status } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();

    // Graceful shutdown with the job still running at the "vendor".
    stop.send(()).unwrap();
    server.await.unwrap();
    gateway.shutdown().await;

    // The next start on the same data resumes it (configured with the
    // builder this time: the same settings).
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let gateway = Gateway::builder()
        .data_dir(dir.path())
        .public_url(format!("http://127.0.0.1:{port}/ai"))
        .start()
        .await
        .unwrap();
    assert!(gateway.first_run_key.is_none());
    let (stop, server) = serve(listener, app(&gateway));
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        let body: serde_json::Value = client
            .post(format!("{base}/ai/graphql"))
            .bearer_auth(&key)
            .json(&json!({ "query": "query($id: ID!) { generation(id: $id) { status url } }", "variables": { "id": id } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let g = &body["data"]["generation"];
        if g["status"] == "COMPLETED" {
            break g["url"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(url.starts_with(&format!("{base}/ai/files/")), "{url}");
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");

    // Typed calls without HTTP: admin, generate, status, catalogue.
    let admin = gateway.admin();
    let account = admin.create_account("embedded", "pro", 10).await.unwrap();
    let (live_key, _) = admin.create_key(&account.id, false).await.unwrap();
    assert!(live_key.starts_with("dt_live_"));
    let caller = doitong_host::jobs::Caller { account_id: account.id.clone(), test_mode: false };
    let request = doitong_host::jobs::GenerateRequest {
        kind: MediaKind::Image,
        provider: Some("placeholder".into()),
        input: doitong_host::jobs::RawInput { text: Some("typed".into()), ..Default::default() },
        options: None,
        priority: doitong_host::routing::Priority::Balanced,
        webhook_url: None,
        webhook_progress: false,
        idempotency: None,
        fallbacks: Vec::new(),
        lenient: false,
        run_now: true,
    };
    let accepted = gateway.jobs().generate(&caller, request).await.unwrap();
    let done = gateway.jobs().wait(&accepted.id, Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!(done.status(), doitong_host::store::JobStatus::Completed);
    assert_eq!(admin.find_account("embedded").await.unwrap().credits, 9, "the placeholder billed 1 credit");
    let job = gateway.jobs().get(&caller, &id).await.unwrap();
    assert!(job.is_none(), "another account's generation is not visible");
    assert!(gateway.jobs().offerings(Some(MediaKind::Video)).iter().any(|(_, o)| o.id == "kling"));
    stop.send(()).unwrap();
    server.await.unwrap();
    gateway.shutdown().await;
}

fn request(text: &str) -> JobRequest {
    JobRequest {
        offering: "placeholder".into(),
        kind: MediaKind::Image,
        input: JobInput { text: Some(text.into()), ..JobInput::default() },
        options: vec![("aspectRatio".into(), Value::Text("4:3".into()))],
    }
}

#[tokio::test]
async fn the_plugin_runtime_on_its_own() {
    let limits = RuntimeLimits { cpu_time: Duration::from_millis(300), ..RuntimeLimits::default() };
    let runtime = PluginRuntime::new(limits, None).unwrap();
    let placeholder = runtime
        .load("placeholder.wasm", &guest_wasm("doitong-plugin-placeholder"), &PluginSettings::default())
        .await
        .unwrap();
    assert_eq!(placeholder.id(), "placeholder");
    assert_eq!(placeholder.manifest().await.unwrap().offerings[0].id, "placeholder");
    let quote = placeholder.quote(&request("a lighthouse")).await.unwrap().unwrap();
    assert_eq!(quote.credits, 1);

    let mut handle = match placeholder.submit(&request("a lighthouse")).await.unwrap().unwrap() {
        Submitted::Running(r) => r,
        Submitted::Done(_) => panic!("the placeholder reports progress first"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let artifacts = loop {
        tokio::time::sleep(Duration::from_millis(u64::from(handle.poll_after_ms))).await;
        match placeholder.poll(&handle.handle).await.unwrap() {
            Progress::Running(r) => handle = r,
            Progress::Done(a) => break a,
            other => panic!("{other:?}"),
        }
        assert!(Instant::now() < deadline);
    };
    assert_eq!(artifacts[0].mime, "image/png");
    assert_eq!((artifacts[0].width, artifacts[0].height), (Some(512), Some(384)));
    assert!(artifacts[0].bytes.as_ref().unwrap().starts_with(b"\x89PNG"));
    assert_eq!(placeholder.cancel(&handle.handle).await.unwrap().unwrap().refund_percent, 100);

    // The same limits apply without a gateway.
    let misbehave = runtime
        .load("misbehave.wasm", &guest_wasm("doitong-test-plugin-misbehave"), &PluginSettings::default())
        .await
        .unwrap();
    let mut spin = request("spin");
    spin.offering = "misbehave".into();
    match misbehave.submit(&spin).await {
        Err(PluginError::LimitExceeded { limit: Limit::CpuTime(t), call: "submit", .. }) => {
            assert_eq!(t, Duration::from_millis(300))
        }
        other => panic!("expected the CPU budget to stop it: {other:?}"),
    }
    // The caller supplies secrets and HTTP policy; undeclared names stay hidden.
    let settings = PluginSettings {
        secrets: [("api_key".to_string(), "k1".to_string()), ("other".to_string(), "hidden".to_string())].into(),
        ..PluginSettings::default()
    };
    let misbehave =
        runtime.load("misbehave.wasm", &guest_wasm("doitong-test-plugin-misbehave"), &settings).await.unwrap();
    let mut read = request("secret:api_key");
    read.offering = "misbehave".into();
    match misbehave.submit(&read).await.unwrap().unwrap() {
        Submitted::Done(a) => assert_eq!(a[0].bytes.as_deref(), Some(&b"k1"[..])),
        other => panic!("{other:?}"),
    }
    read.input.text = Some("secret:other".into());
    assert!(misbehave.submit(&read).await.unwrap().is_err());
}
