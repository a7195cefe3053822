//! Benchmarks: one plugin call through the sandbox (fresh store +
//! instantiate + export call), and the `generate` mutation end to end
//! through the router (auth, validation, quote, reservation, insert).
//!
//! `cargo bench -p doitong-host --bench runtime`; results go in the README.

mod common;

use std::time::Duration;

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use doitong_host::Gateway;
use doitong_host::plugins::{JobInput, JobRequest, MediaKind, PluginRuntime, PluginSettings, RuntimeLimits, Value};
use tower::ServiceExt;

fn placeholder_wasm() -> &'static [u8] {
    doitong_host::gateway::bundled::plugin("placeholder").expect("placeholder is bundled")
}

fn plugin_calls(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let runtime = PluginRuntime::new(RuntimeLimits::default(), None).unwrap();
    let plugin = rt.block_on(runtime.load("placeholder.wasm", placeholder_wasm(), &PluginSettings::default())).unwrap();
    eprintln!("pooling allocator: {}", runtime.pooled());
    let request = JobRequest {
        offering: "placeholder".into(),
        kind: MediaKind::Image,
        input: JobInput { text: Some("a red fox in the snow".into()), ..JobInput::default() },
        options: vec![("aspectRatio".into(), Value::Text("16:9".into()))],
    };
    let mut group = c.benchmark_group("plugin_call");
    group.bench_function("manifest", |b| b.to_async(&rt).iter(|| async { plugin.manifest().await.unwrap() }));
    group
        .bench_function("quote", |b| b.to_async(&rt).iter(|| async { plugin.quote(&request).await.unwrap().unwrap() }));
    group.finish();
}

/// A fresh API-only gateway and a test key on an enterprise account.
fn bench_gateway(rt: &tokio::runtime::Runtime) -> (Gateway, String, tempfile::TempDir) {
    let (gateway, dir) = common::api_gateway(rt);
    let key = common::test_key(rt, &gateway);
    (gateway, key, dir)
}

fn generate_mutation(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = serde_json::json!({
        "query": "mutation { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: \"bench\" }, }) { id status creditCost } }"
    })
    .to_string();
    let mut group = c.benchmark_group("graphql");
    group.measurement_time(Duration::from_secs(10));
    // Without and with a fresh Idempotency-Key each time (taken by the job's
    // own INSERT). Each on its own fresh database, so neither measures on
    // the rows the other left.
    for (name, with_key) in [("generate", false), ("generate_idempotent", true)] {
        let (gateway, key, _dir) = bench_gateway(&rt);
        let router = gateway.router();
        let n = std::sync::atomic::AtomicU64::new(0);
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let mut request = axum::http::Request::post("/graphql")
                    .header("authorization", format!("Bearer {key}"))
                    .header("content-type", "application/json");
                if with_key {
                    let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    request = request.header("idempotency-key", format!("bench-{i}"));
                }
                let request = request.body(Body::from(body.clone())).unwrap();
                let response = router.clone().oneshot(request).await.unwrap();
                assert!(response.status().is_success());
            })
        });
        rt.block_on(gateway.shutdown());
    }
    group.finish();
}

criterion_group!(benches, plugin_calls, generate_mutation);
criterion_main!(benches);
