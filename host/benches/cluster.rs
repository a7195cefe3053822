//! Jobs per second through three `doitong serve` processes vs one, on the
//! same PostgreSQL: generations accepted round-robin over the nodes and run
//! to completion on the bundled placeholder plugin (a test key: the whole
//! job path — accept, claim with a lease, submit, poll, store the output,
//! settle, enqueue the webhook event — without a real vendor). The output
//! is the placeholder's cheapest, a one-second WAV (its 512 px PNG costs
//! more CPU in the sandbox than the rest of the job).
//!
//! Two vendor speeds: `latencyMs` 0 (the gateway's own cost bounds the
//! rate) and 500 ms (a slow vendor: the rate is bounded by steps in
//! flight, `jobs.workers` per node, so nodes add capacity).
//!
//! `cargo bench -p doitong-host --bench cluster` (needs PostgreSQL at
//! `DOITONG_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::Executor;

const JOBS: usize = 600;
const CLIENTS: usize = 16;

struct Node {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn fresh_database(admin: &str) -> String {
    let pool = sqlx::PgPool::connect(admin).await.expect("PostgreSQL for the cluster benchmark");
    let name = format!("doitong_bench_{}", uuid::Uuid::new_v4().simple());
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    pool.close().await;
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

/// Start a node (the first one on a database also prints a test key).
async fn start(database_url: &str, cache: &std::path::Path) -> (Node, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_doitong"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", database_url])
        .arg("--data-dir")
        .arg(dir.path())
        .env("DOITONG_CACHE_DIR", cache)
        .env("DOITONG_JOBS_MIN_POLL_INTERVAL_MS", "20")
        .env("DOITONG_JOBS_WORKERS", "8")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let key = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.starts_with("dt_"))
    });
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "node did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = if key.is_finished() { key.join().unwrap() } else { None };
    (Node { child, port, _dir: dir }, key)
}

/// Run `JOBS` generations through `nodes` nodes; jobs per second from the
/// first request to the last completion.
async fn jobs_per_second(admin: &str, nodes: usize, latency_ms: u64, cache: &std::path::Path) -> f64 {
    let database_url = fresh_database(admin).await;
    let (first, _) = start(&database_url, cache).await;
    // An enterprise test key: no plan limits, no credits, the whole job path.
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_doitong"))
            .args(args)
            .args(["--database-url", &database_url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let account = cli(&["accounts", "create", "--name", "bench", "--plan", "enterprise", "--credits", "0"]);
    let key =
        cli(&["keys", "create", "--account", account.trim(), "--test"]).lines().last().unwrap().trim().to_string();
    let mut running = vec![first];
    for _ in 1..nodes {
        running.push(start(&database_url, cache).await.0);
    }
    let ports: Arc<Vec<u16>> = Arc::new(running.iter().map(|n| n.port).collect());
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let body = serde_json::json!({
        "query": format!("mutation {{ generate(input: {{ type: AUDIO, provider: \"placeholder\", input: {{ text: \"hi\" }}, options: {{ latencyMs: {latency_ms} }} }}) {{ id }} }}")
    });
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, body, next, ports, key) = (client.clone(), body.clone(), next.clone(), ports.clone(), key.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= JOBS {
                    break;
                }
                let url = format!("http://127.0.0.1:{}/graphql", ports[i % ports.len()]);
                let response = client.post(url).bearer_auth(&key).json(&body).send().await.unwrap();
                let status = response.status();
                assert!(status.is_success(), "{status}: {}", response.text().await.unwrap_or_default());
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    loop {
        let (done,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM jobs WHERE status = 'completed'").fetch_one(&pool).await.unwrap();
        if done as usize >= JOBS {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "jobs did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = JOBS as f64 / started.elapsed().as_secs_f64();
    pool.close().await;
    rate
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let admin =
        std::env::var("DOITONG_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cache = tempfile::tempdir().unwrap();
    rt.block_on(async {
        // Warm the compile cache so start-up is not measured.
        drop(start(&fresh_database(&admin).await, cache.path()).await);
        for latency_ms in [0, 500] {
            for nodes in [1, 3] {
                let rate = jobs_per_second(&admin, nodes, latency_ms, cache.path()).await;
                println!(
                    "cluster/{nodes}-node/latency-{latency_ms}ms: {rate:.1} jobs/s ({JOBS} jobs, {CLIENTS} clients)"
                );
            }
        }
    });
}
