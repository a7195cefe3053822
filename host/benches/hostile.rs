//! Normal traffic next to a hostile client: the p50/p99 of an ordinary
//! client's requests (a `generations` page and a `generate`, alternating)
//! alone, then while four hostile clients holding a free-plan test key send
//! what issue 14 bounds —
//! 10,000-alias queries, too-deep and too-complex queries, 25 aliased
//! `generate`s, made-up keys, and `data:` bodies at the size cap.
//!
//! `cargo bench -p doitong-host --bench hostile` (SQLite in a temp dir,
//! served by `doitong_host::server::serve` on 127.0.0.1). Bounded: a fixed
//! number of ordinary requests per phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use doitong_host::server::{ServeLimits, serve};
use doitong_host::{Config, Gateway};

const ORDINARY: usize = 600;

async fn ordinary(url: &str, key: &str) -> (Duration, Duration) {
    let client = reqwest::Client::new();
    let page = serde_json::json!({ "query": "{ generations(first: 20) { nodes { id status url } } }" });
    let generate = serde_json::json!({
        "query": "mutation { generate(input: { type: AUDIO, provider: \"placeholder\", input: { text: \"hi\" } }) { id } }"
    });
    let mut latencies = Vec::with_capacity(ORDINARY);
    for i in 0..ORDINARY {
        let body = if i % 2 == 0 { &page } else { &generate };
        let started = Instant::now();
        let response = client.post(url).bearer_auth(key).json(body).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.bytes().await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.99))
}

/// One hostile client: cycles through the bounded attacks until `stop`.
/// It connects from 127.0.0.2, another address than the ordinary client's
/// (the per-address limit on failed authentications would otherwise hold
/// back both).
async fn hostile(url: String, key: String, stop: Arc<AtomicBool>, sent: Arc<AtomicUsize>) {
    let client =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let aliases: String = (0..10_000).map(|i| format!("a{i}: account {{ credits }} ")).collect();
    let mut deep = String::from("name");
    for _ in 0..15 {
        deep = format!("ofType {{ {deep} }}");
    }
    let page = "generations(first: 100) { nodes { id url urls metadata { width } } }";
    let complex: String = (0..19).map(|i| format!("p{i}: {page} ")).collect();
    let generates: String = (0..25)
        .map(|i| format!("g{i}: generate(input: {{ type: IMAGE, provider: \"placeholder\", input: {{ text: \"x\" }} }}) {{ id }} "))
        .collect();
    let big = format!("data:image/png;base64,{}", "A".repeat(28 << 20));
    let attacks: Vec<(Option<String>, serde_json::Value)> = vec![
        (Some(key.clone()), serde_json::json!({ "query": format!("{{ {aliases} }}") })),
        (Some(key.clone()), serde_json::json!({ "query": format!("{{ __schema {{ types {{ {deep} }} }} }}") })),
        (Some(key.clone()), serde_json::json!({ "query": format!("{{ {complex} }}") })),
        (Some(key.clone()), serde_json::json!({ "query": format!("mutation {{ {generates} }}") })),
        (
            Some(format!("dt_live_{}", uuid::Uuid::new_v4().simple())),
            serde_json::json!({ "query": "{ account { credits } }" }),
        ),
        (
            Some(key.clone()),
            serde_json::json!({
                "query": "mutation($i: String!) { generate(input: { type: VIDEO, provider: \"placeholder\", input: { text: \"x\", image: $i } }) { id } }",
                "variables": { "i": big },
            }),
        ),
    ];
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let (key, body) = &attacks[n % attacks.len()];
        let mut request = client.post(&url).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Ok(response) = request.send().await {
            let _ = response.bytes().await;
        }
        sent.fetch_add(1, Ordering::Relaxed);
        n += 1;
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut flags = toml::Table::new();
        flags.insert("data_dir".into(), toml::Value::String(dir.path().display().to_string()));
        flags.insert("listen".into(), toml::Value::String(format!("127.0.0.1:{port}")));
        let config = Config::load(None, Vec::new(), flags).unwrap();
        let gateway = Gateway::start(config).await.unwrap();
        let store = gateway.jobs().store().clone();
        let calm = store.create_account("calm", "enterprise", 0).await.unwrap();
        let (calm_key, _) = store.create_key(&calm.id, true).await.unwrap();
        let rogue = store.create_account("rogue", "free", 0).await.unwrap();
        let (rogue_key, _) = store.create_key(&rogue.id, true).await.unwrap();

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let limits = ServeLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            grace: Duration::from_secs(1),
        };
        tokio::spawn(serve(listener, gateway.router(), limits, std::future::pending()));
        let url = format!("http://127.0.0.1:{port}/graphql");

        ordinary(&url, &calm_key).await; // warm up
        let (alone_p50, alone_p99) = ordinary(&url, &calm_key).await;
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let attackers: Vec<_> =
            (0..4).map(|_| tokio::spawn(hostile(url.clone(), rogue_key.clone(), stop.clone(), sent.clone()))).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let (under_p50, under_p99) = ordinary(&url, &calm_key).await;
        let took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        for a in attackers {
            let _ = a.await;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("ordinary client, {ORDINARY} requests (a generations page and a generate, alternating):");
        println!("  alone:                      p50 {:>6.2} ms   p99 {:>6.2} ms", ms(alone_p50), ms(alone_p99));
        println!(
            "  next to 4 hostile clients:  p50 {:>6.2} ms   p99 {:>6.2} ms   ({} hostile requests in {:.1} s)",
            ms(under_p50),
            ms(under_p99),
            sent.load(Ordering::Relaxed),
            took.as_secs_f64()
        );
    });
}
