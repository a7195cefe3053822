//! Benchmark of automatic routing (issue 12): what choosing a provider
//! costs a `generate`, with every bundled plugin loaded (≥ 30 offerings)
//! and health data present for each (a full window of outcomes, some
//! breakers open).
//!
//! - `routing/decision`: the decision alone for an IMAGE request (screen by
//!   rules and health, validate against each candidate, rank, explain).
//! - `routing/generate_named` vs `routing/generate_auto`: the `generate`
//!   mutation end to end in process (test key, so every real image
//!   offering is a candidate), naming the offering the gateway would pick
//!   or letting it choose; each on its own fresh database
//!   (`generate_named_placeholder`: the cheapest plugin to quote, for scale).
//!
//! `cargo bench -p doitong-host --bench routing`; results go in the README.

mod common;

use std::time::Duration;

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use doitong_host::Gateway;
use doitong_host::jobs::RawInput;
use doitong_host::plugins::MediaKind;
use doitong_host::routing::{self, Priority, Rules};
use tower::ServiceExt;

/// A fresh API-only gateway with health data for every offering, and a
/// test key on an enterprise account.
fn bench_gateway(rt: &tokio::runtime::Runtime) -> (Gateway, String, tempfile::TempDir) {
    let (gateway, dir) = common::api_gateway(rt);
    let offerings = gateway.jobs().offerings(None);
    assert!(offerings.len() >= 30, "only {} offerings loaded", offerings.len());
    let store = gateway.jobs().store().clone();
    rt.block_on(async {
        for (i, (_, o)) in offerings.iter().enumerate() {
            for n in 0..50 {
                let ok = (n + i) % 7 != 0;
                let code = (!ok).then_some("PROVIDER_UNAVAILABLE");
                store.record_outcome(&o.id, ok, ok.then_some(1000 + 97 * n as i64), code).await.unwrap();
            }
            if i % 5 == 0 {
                // Every fifth breaker open.
                store
                    .update_breaker(&o.id, |row| doitong_host::store::health::BreakerRow {
                        state: "open".into(),
                        hold_until: Some(i64::MAX / 2),
                        last_error_message: Some("503".into()),
                        ..row
                    })
                    .await
                    .unwrap();
            }
        }
        gateway.jobs().health().refresh().await.unwrap();
    });
    let key = common::test_key(rt, &gateway);
    (gateway, key, dir)
}

fn decision(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (gateway, _key, _dir) = bench_gateway(&rt);
    let jobs = gateway.jobs();
    let view = jobs.health().view();
    let rules = Rules::default();
    let snapshot = jobs.registry().snapshot();
    eprintln!(
        "{} image offerings of {} loaded",
        jobs.offerings(Some(MediaKind::Image)).len(),
        jobs.offerings(None).len()
    );
    let input = RawInput { text: Some("a red fox in the snow".into()), ..RawInput::default() };
    let options = serde_json::json!({ "aspectRatio": "16:9" });
    let mut group = c.benchmark_group("routing");
    group.bench_function("decision", |b| {
        b.iter(|| {
            let now = doitong_host::store::now_ms();
            // What `generate` does for an automatic choice, less the quote
            // of the chosen offering (a named provider is quoted too).
            let offerings = routing::offerings_of(&snapshot, MediaKind::Image, true, &|_| true);
            let mut candidates = routing::screen(offerings, |_| Vec::new(), &rules, &view, true, &[], now);
            routing::rank(&mut candidates, Priority::Balanced, &view, 5);
            for c in candidates.iter_mut().filter(|c| c.eligible()) {
                match doitong_host::jobs::validate::validate(c.offering, MediaKind::Image, &input, Some(&options)) {
                    Ok(r) => {
                        c.request = Some(r);
                        break;
                    }
                    Err(e) => c.skip(e.message),
                }
            }
            let decision = routing::decide(&candidates, Priority::Balanced, &view, 5);
            // Stored with the job.
            serde_json::to_string(&decision).unwrap()
        })
    });
    group.finish();
    rt.block_on(gateway.shutdown());
}

/// One `generate` through the router; the generation's JSON.
async fn post(router: &axum::Router, key: &str, body: &str) -> serde_json::Value {
    let request = axum::http::Request::post("/graphql")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["data"]["generate"]["status"], "QUEUED", "{json}");
    json["data"]["generate"].clone()
}

fn mutation(provider: Option<&str>) -> String {
    let provider = provider.map(|p| format!("provider: \"{p}\", ")).unwrap_or_default();
    serde_json::json!({
        "query": format!("mutation {{ generate(input: {{ type: IMAGE, {provider}input: {{ text: \"bench\" }}, options: {{ aspectRatio: \"16:9\" }} }}) {{ id status provider creditCost }} }}")
    })
    .to_string()
}

fn generate(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("routing");
    group.measurement_time(Duration::from_secs(10));
    // Which offering the gateway picks, so the named variant quotes the
    // same plugin and the difference is the routing alone.
    let (probe, key, _dir) = bench_gateway(&rt);
    let picked = rt.block_on(post(&probe.router(), &key, &mutation(None)))["provider"].as_str().unwrap().to_string();
    rt.block_on(probe.shutdown());
    eprintln!("automatic routing picks `{picked}`");
    for (name, body) in [
        ("generate_named_placeholder", mutation(Some("placeholder"))),
        ("generate_named", mutation(Some(&picked))),
        ("generate_auto", mutation(None)),
    ] {
        let (gateway, key, _dir) = bench_gateway(&rt);
        let router = gateway.router();
        group.bench_function(name, |b| b.to_async(&rt).iter(|| post(&router, &key, &body)));
        rt.block_on(gateway.shutdown());
    }
    group.finish();
}

criterion_group!(benches, decision, generate);
criterion_main!(benches);
