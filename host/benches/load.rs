//! Load benchmark of `generate`: throughput and latency percentiles over
//! real HTTP on 127.0.0.1, with the plan checks and Idempotency-Key off
//! (enterprise account, no key) and on (a limited plan whose limits are
//! high enough never to refuse, a fresh Idempotency-Key per request).
//!
//! `cargo bench -p doitong-host --bench load` (SQLite in a temp dir; the
//! node runs no workers, so only accepting is measured). Bounded: a fixed
//! number of requests per configuration and round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use doitong_host::{Config, Gateway};

const REQUESTS: usize = 2000;
const CONCURRENCY: usize = 16;
const ROUNDS: usize = 3;

struct Outcome {
    throughput: f64,
    p50: Duration,
    p99: Duration,
}

async fn run(url: &str, key: &str, idempotency: bool) -> Outcome {
    let client = reqwest::Client::new();
    let body = serde_json::json!({
        "query": "mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"load\" } }) { id status creditCost } }"
    });
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, body, next, url, key) =
            (client.clone(), body.clone(), next.clone(), url.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= REQUESTS {
                    break;
                }
                let mut request = client.post(&url).bearer_auth(&key).json(&body);
                if idempotency {
                    request = request.header("Idempotency-Key", format!("load-{i}-{}", uuid::Uuid::new_v4()));
                }
                let t = Instant::now();
                let response = request.send().await.unwrap();
                assert!(response.status().is_success(), "{}", response.text().await.unwrap());
                let text = response.text().await.unwrap();
                assert!(text.contains("\"QUEUED\""), "{text}");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Outcome { throughput: REQUESTS as f64 / elapsed.as_secs_f64(), p50: at(0.50), p99: at(0.99) }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut flags = toml::Table::new();
        flags.insert("data_dir".into(), toml::Value::String(dir.path().display().to_string()));
        flags.insert("listen".into(), toml::Value::String(format!("127.0.0.1:{port}")));
        let mut jobs = toml::Table::new();
        jobs.insert("workers".into(), toml::Value::Integer(0));
        flags.insert("jobs".into(), toml::Value::Table(jobs));
        let config = Config::load(None, Vec::new(), flags).unwrap();
        let gateway = Gateway::start(config).await.unwrap();
        let store = gateway.jobs().store().clone();
        let open = store.create_account("unlimited", "enterprise", 1_000_000).await.unwrap();
        let (open_key, _) = store.create_key(&open.id, false).await.unwrap();
        let limited = store.create_account("limited", "pro", 1_000_000).await.unwrap();
        store.set_plan(&limited.id, "pro", Some(10_000_000), Some(1_000_000), Some(10_000_000)).await.unwrap();
        let (limited_key, _) = store.create_key(&limited.id, false).await.unwrap();

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let router = gateway.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let url = format!("http://127.0.0.1:{port}/graphql");

        // Warm up (connections, statement caches), then alternate the three
        // configurations so that the growing database and background noise
        // weigh on each alike; the best of the rounds counts.
        run(&url, &open_key, false).await;
        run(&url, &limited_key, true).await;
        let (mut off, mut limits, mut on) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            off.push(run(&url, &open_key, false).await);
            limits.push(run(&url, &limited_key, false).await);
            on.push(run(&url, &limited_key, true).await);
        }
        let best = |v: Vec<Outcome>| v.into_iter().max_by(|a, b| a.throughput.total_cmp(&b.throughput)).unwrap();
        let (off, limits, on) = (best(off), best(limits), best(on));
        println!("generate, {REQUESTS} requests, {CONCURRENCY} concurrent clients, SQLite, best of {ROUNDS} rounds:");
        for (name, o) in [("checks off", &off), ("plan limits on", &limits), ("limits + idempotency on", &on)] {
            println!(
                "  {name:<26} {:>7.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
                o.throughput,
                o.p50.as_secs_f64() * 1e3,
                o.p99.as_secs_f64() * 1e3
            );
        }
        println!("  plan limits: {:+.1}% throughput", (limits.throughput / off.throughput - 1.0) * 100.0);
        println!("  limits + idempotency: {:+.1}% throughput", (on.throughput / off.throughput - 1.0) * 100.0);
    });
}
