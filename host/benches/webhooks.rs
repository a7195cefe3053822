//! Webhook delivery throughput: events per second from the outbox to a
//! local receiver over real HTTP on 127.0.0.1, with every delivery signed
//! by the gateway and verified by the receiver (`standardwebhooks` crate).
//!
//! `cargo bench -p doitong-host --bench webhooks` (SQLite in a temp dir).
//! A batch of pending deliveries (~1 KB payloads, the size of a completed
//! generation's event) is committed to the outbox in one transaction, the
//! way the job transactions write them; the rate runs from the receiver's
//! first delivery to its last, and each delivery's attempt is recorded as
//! in production (claim, account secret read, sign, POST, attempt log). Bounded: a fixed number of events per configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use doitong_host::{Config, Gateway};
use tokio::sync::Notify;

const EVENTS: usize = 2000;

struct Receiver {
    received: AtomicUsize,
    rejected: AtomicUsize,
    first: std::sync::OnceLock<Instant>,
    last: std::sync::OnceLock<Instant>,
    done: Notify,
    secret: String,
}

async fn receive(state: Arc<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified = standardwebhooks::Webhook::new(&state.secret).and_then(|w| w.verify(&body, &headers)).is_ok();
    if !verified {
        state.rejected.fetch_add(1, Ordering::Relaxed);
    }
    state.first.get_or_init(Instant::now);
    if state.received.fetch_add(1, Ordering::Relaxed) + 1 == EVENTS {
        state.last.get_or_init(Instant::now);
        state.done.notify_one();
    }
    StatusCode::NO_CONTENT
}

async fn run(max_in_flight: usize) -> (f64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("doitong.db");
    let mut flags = toml::Table::new();
    flags.insert("data_dir".into(), toml::Value::String(dir.path().display().to_string()));
    let mut webhooks = toml::Table::new();
    webhooks.insert("allow_private".into(), toml::Value::Boolean(true));
    webhooks.insert("max_in_flight".into(), toml::Value::Integer(max_in_flight as i64));
    flags.insert("webhooks".into(), toml::Value::Table(webhooks));
    let config = Config::load(None, Vec::new(), flags).unwrap();
    let gateway = Gateway::start(config).await.unwrap();
    let account = gateway.jobs().store().create_account("bench", "enterprise", 0).await.unwrap();

    let state = Arc::new(Receiver {
        received: AtomicUsize::new(0),
        rejected: AtomicUsize::new(0),
        first: std::sync::OnceLock::new(),
        last: std::sync::OnceLock::new(),
        done: Notify::new(),
        secret: account.webhook_secret.clone(),
    });
    let shared = state.clone();
    let app =
        axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| receive(shared.clone(), headers, body));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The outbox rows, committed at once (a second connection, as another
    // node's job transactions would).
    let data = serde_json::json!({ "id": "gen_bench", "status": "COMPLETED", "type": "IMAGE", "provider": "placeholder",
        "url": format!("http://127.0.0.1:8080/files/art_{}?exp=1900000000&sig={}", "x".repeat(20), "0".repeat(64)),
        "urls": [], "progress": 100, "metadata": { "width": 1024, "height": 1024, "format": "png", "mimeType": "image/png",
        "sizeBytes": 123456, "resolution": "1024x1024", "duration": null }, "creditCost": 1, "estimatedTime": 1,
        "error": null, "errorCode": null, "testMode": true, "createdAt": "2026-01-01T00:00:00.000Z",
        "completedAt": "2026-01-01T00:00:01.000Z", "padding": "p".repeat(400) });
    let payload =
        serde_json::json!({ "type": "generation.completed", "timestamp": "2026-01-01T00:00:01.000Z", "data": data })
            .to_string();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let now = doitong_host::store::now_ms();
    for i in 0..EVENTS {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, message_id, account_id, job_id, endpoint_id, url, event_type, payload, \
             status, attempts, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'gen_bench', NULL, $4, 'generation.completed', $5, 'pending', 0, $6, $6, $6)",
        )
        .bind(format!("whd_bench{i}"))
        .bind(format!("msg_bench{i}"))
        .bind(&account.id)
        .bind(&url)
        .bind(&payload)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
    tokio::time::timeout(Duration::from_secs(600), state.done.notified()).await.expect("deliveries finished in time");
    // The worker notices rows written by another connection within its 1 s
    // idle recheck; the rate is measured from the first delivery to the last.
    let elapsed = *state.last.get().unwrap() - *state.first.get().unwrap();
    // Let the last attempts be recorded before shutting down.
    tokio::time::sleep(Duration::from_millis(200)).await;
    gateway.shutdown().await;
    ((EVENTS - 1) as f64 / elapsed.as_secs_f64(), state.rejected.load(Ordering::Relaxed))
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        println!("webhook deliveries, {EVENTS} events from the outbox to a local receiver, SQLite:");
        for max_in_flight in [16, 64] {
            let (rate, rejected) = run(max_in_flight).await;
            assert_eq!(rejected, 0, "every delivery verifies");
            println!("  max_in_flight {max_in_flight:>3}: {rate:>7.0} events/s (all verified)");
        }
    });
}
