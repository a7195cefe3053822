//! Routing that watches the vendors (issue 12): two test vendors with
//! known speed, price and failure behaviour (`tests/plugins/relay-a`,
//! `relay-b`: declared quality 90 / 60, 10 / 4 credits, 5 s / 20 s), each
//! behind its own mock HTTP server on 127.0.0.1 that a test can stop,
//! restart on the same port, slow down, throttle or retire.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Server, ServerOptions};
use crate::relay::{Hook, Mode, RelayVendor, gateway, gateway_with};

const FIELDS: &str = "id status provider creditCost errorCode error { code message } \
    routing { priority automatic chosen reason fallbacks candidates { id score skippedBecause } } \
    attempts { provider code error creditCost startedAt endedAt }";

/// `generate` an image; `Ok(generation)` or `Err(first error)`.
async fn generate(server: &Server, key: &str, input: Value) -> Result<Value, Value> {
    let query = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {FIELDS} }} }}");
    let mut input = input;
    input["type"] = json!("IMAGE");
    input["input"] = json!({ "text": "a lighthouse at dusk" });
    let (_, _, body) = server.post(Some(key), &query, json!({ "input": input }), &[]).await;
    match body["errors"].get(0) {
        Some(error) => Err(error.clone()),
        None => Ok(body["data"]["generate"].clone()),
    }
}

async fn finished(server: &Server, key: &str, id: &str) -> Value {
    server.wait_terminal(key, id, Duration::from_secs(30)).await;
    let query = format!("query($id: ID!) {{ generation(id: $id) {{ {FIELDS} }} }}");
    let (_, _, body) = server.post(Some(key), &query, json!({ "id": id }), &[]).await;
    body["data"]["generation"].clone()
}

async fn health_of(server: &Server, key: &str, id: &str) -> Value {
    let query = "{ providers(type: IMAGE) { id health { state successRate p50Seconds sampleSize consecutiveFailures lastError { code message } openedAt retryAt } } }";
    let (_, _, body) = server.post(Some(key), query, json!({}), &[]).await;
    let providers = body["data"]["providers"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    providers.into_iter().find(|p| p["id"] == id).unwrap()["health"].clone()
}

/// Poll until `offering`'s breaker is `state` (bounded).
async fn until_state(server: &Server, key: &str, offering: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health = health_of(server, key, offering).await;
        if health["state"] == state {
            return health;
        }
        assert!(Instant::now() < deadline, "{offering} never reached {state}: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn candidate<'a>(generation: &'a Value, id: &str) -> &'a Value {
    let list = generation["routing"]["candidates"].as_array().unwrap_or_else(|| panic!("{generation}"));
    list.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} not among {generation}"))
}

#[tokio::test]
async fn each_priority_picks_the_expected_offering_and_observed_speed_takes_over() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(1500));
    b.set(Mode::Up, Duration::from_millis(50));
    let (server, key) = gateway(&a, &b, 10_000, &[]).await;

    for (priority, chosen, because) in [
        ("SPEED", "relay-a", "declared estimate 5 s"),
        ("QUALITY", "relay-a", "declared quality 90"),
        ("COST", "relay-b", "quoted 4 credits"),
        ("BALANCED", "relay-a", "quality 90 at 10 credits"),
    ] {
        let g = generate(&server, &key, json!({ "priority": priority })).await.unwrap();
        let routing = &g["routing"];
        assert_eq!(
            (routing["chosen"].as_str(), g["provider"].as_str()),
            (Some(chosen), Some(chosen)),
            "{priority}: {g}"
        );
        assert_eq!(routing["priority"], priority);
        assert_eq!(routing["automatic"], true);
        assert!(routing["reason"].as_str().unwrap().contains(because), "{priority}: {routing}");
        assert!(candidate(&g, "relay-b")["score"].is_number());
        // Bundled image adapters without keys are listed, skipped, with why.
        let flux = candidate(&g, "flux-dev");
        assert!(flux["skippedBecause"].as_str().unwrap().contains("missing secret"), "{flux}");
        finished(&server, &key, g["id"].as_str().unwrap()).await;
    }
    // Observed: relay-a took ~1.5 s (three jobs), relay-b ~0.05 s (one so
    // far; one more makes the two samples SPEED needs).
    let g = generate(&server, &key, json!({ "provider": "relay-b" })).await.unwrap();
    assert_eq!(g["routing"]["reason"], "named by the request");
    finished(&server, &key, g["id"].as_str().unwrap()).await;
    let health = health_of(&server, &key, "relay-b").await;
    assert_eq!((health["state"].as_str(), health["sampleSize"].as_i64()), (Some("CLOSED"), Some(2)), "{health}");
    assert_eq!(health["successRate"], 1.0);
    let g = generate(&server, &key, json!({ "priority": "SPEED" })).await.unwrap();
    assert_eq!(g["routing"]["chosen"], "relay-b", "{g}");
    assert!(g["routing"]["reason"].as_str().unwrap().contains("observed median"), "{g}");
    let slow = health_of(&server, &key, "relay-a").await["p50Seconds"].as_f64().unwrap();
    assert!(slow >= 1.4, "relay-a's median {slow}");
    assert!(candidate(&g, "relay-a")["score"].as_f64().unwrap() <= -1.4);
    // Each submit carried the generation id as the vendor's idempotency key.
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert!(b.tokens().contains(&g["id"].as_str().unwrap().to_string()), "{:?}", b.tokens());
}

#[tokio::test]
async fn a_stopped_vendor_fails_over_opens_its_breaker_and_a_probe_closes_it() {
    let mut a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(50));
    b.set(Mode::Up, Duration::from_millis(50));
    let hook = Hook::start().await;
    let (server, key) = gateway(&a, &b, 1_000, &[]).await;
    a.stop().await;

    // QUALITY prefers relay-a, which is down: the job moves to relay-b with
    // the same id, both attempts listed, the reservation following the quote.
    let g = generate(&server, &key, json!({ "priority": "QUALITY", "webhookUrl": hook.url() })).await.unwrap();
    assert_eq!((g["provider"].as_str(), g["creditCost"].as_i64()), (Some("relay-a"), Some(10)));
    let id = g["id"].as_str().unwrap().to_string();
    let g = finished(&server, &key, &id).await;
    assert_eq!((g["id"].as_str(), g["status"].as_str()), (Some(id.as_str()), Some("COMPLETED")), "{g}");
    assert_eq!((g["provider"].as_str(), g["creditCost"].as_i64()), (Some("relay-b"), Some(4)), "{g}");
    let attempts = g["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{g}");
    assert_eq!(
        (attempts[0]["provider"].as_str(), attempts[0]["code"].as_str()),
        (Some("relay-a"), Some("PROVIDER_UNAVAILABLE"))
    );
    assert_eq!((attempts[0]["creditCost"].as_i64(), attempts[1]["provider"].as_str()), (Some(10), Some("relay-b")));
    assert!(attempts[1]["code"].is_null());
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("already tried"), "{g}");
    // The ledger adds up: reserve 10, adjust +6, capture 0; 4 spent.
    let (_, _, body) = server
        .post(
            Some(&key),
            "{ account { credits } creditTransactions(first: 10) { nodes { kind amount generationId } } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(body["data"]["account"]["credits"], 996, "{body}");
    let lines: Vec<(String, i64)> = body["data"]["creditTransactions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["generationId"] == id.as_str())
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount"].as_i64().unwrap()))
        .collect();
    let mut entries: Vec<&str> = lines.iter().map(|(e, _)| e.as_str()).collect();
    entries.sort();
    assert_eq!(entries, ["ADJUST", "CAPTURE", "RESERVE"], "{lines:?}");
    assert_eq!(lines.iter().map(|(_, a)| a).sum::<i64>(), -4, "{lines:?}");
    // The webhook names the final provider.
    let event = hook.wait_for(|e| e["data"]["id"] == id.as_str() && e["type"] == "generation.completed").await;
    assert_eq!(event["data"]["provider"], "relay-b", "{event}");

    // A second failure opens relay-a's breaker (threshold 2).
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!(g["provider"], "relay-b");
    let health = until_state(&server, &key, "relay-a", "OPEN").await;
    assert_eq!(health["lastError"]["code"], "PROVIDER_UNAVAILABLE", "{health}");
    assert!(health["openedAt"].is_string() && health["retryAt"].is_string(), "{health}");
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("doitong_offering_breaker_state{offering=\"relay-a\"} 2"), "{metrics}");
    assert!(
        metrics.contains("doitong_failovers_total{from=\"relay-a\",to=\"relay-b\",code=\"PROVIDER_UNAVAILABLE\"} 2"),
        "{metrics}"
    );

    // While open: skipped with the reason, and refused by name.
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b");
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("circuit OPEN"), "{g}");
    finished(&server, &key, g["id"].as_str().unwrap()).await;
    let e = generate(&server, &key, json!({ "provider": "relay-a" })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{e}");
    assert!(e["extensions"]["reason"].as_str().unwrap().contains("circuit OPEN"), "{e}");

    // The vendor comes back; after the cool-down one probe job closes it.
    a.restart().await;
    until_state(&server, &key, "relay-a", "HALF_OPEN").await;
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-a", "{g}");
    assert!(g["routing"]["reason"].as_str().unwrap().contains("HALF_OPEN"), "{g}");
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-a")), "{g}");
    let health = until_state(&server, &key, "relay-a", "CLOSED").await;
    assert_eq!(health["consecutiveFailures"], 0);
}

#[tokio::test]
async fn a_retired_model_opens_at_once_and_a_throttled_vendor_is_held_back() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Retired, Duration::ZERO);
    b.set(Mode::Up, Duration::from_millis(50));
    let (server, key) = gateway(&a, &b, 1_000, &[]).await;

    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-b")), "{g}");
    // One model-not-found is enough.
    let health = until_state(&server, &key, "relay-a", "OPEN").await;
    assert!(health["lastError"]["message"].as_str().unwrap().contains("no longer serves"), "{health}");
    let e = generate(&server, &key, json!({ "provider": "relay-a" })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{e}");
    assert!(e["message"].as_str().unwrap().contains("no longer serves"), "{e}");

    // A 429 with Retry-After holds relay-b back that long.
    b.set(Mode::Throttled(30), Duration::ZERO);
    let g = generate(&server, &key, json!({ "provider": "relay-b" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!(g["errorCode"], "PROVIDER_UNAVAILABLE", "{g}");
    let e = generate(&server, &key, json!({ "provider": "relay-b" })).await.unwrap_err();
    assert!(e["extensions"]["reason"].as_str().unwrap().contains("Retry-After"), "{e}");
    assert!(e["extensions"]["retryAfter"].as_i64().unwrap() > 20, "{e}");
    // Nothing is left for automatic routing: every candidate says why.
    let e = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{e}");
    assert!(e["message"].as_str().unwrap().contains("relay-b: held back"), "{e}");
}

#[tokio::test]
async fn named_providers_fail_over_only_to_listed_fallbacks_and_only_if_the_credits_cover_it() {
    let mut a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(50));
    b.set(Mode::Up, Duration::from_millis(50));
    // Failures never open a breaker here: each case starts from a clean slate.
    let (server, key) = gateway(&a, &b, 1_000, &[("DOITONG_ROUTING_FAILURE_THRESHOLD", "100")]).await;
    a.stop().await;

    let g = generate(&server, &key, json!({ "provider": "relay-a" })).await.unwrap();
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["errorCode"].as_str()), (Some("FAILED"), Some("PROVIDER_UNAVAILABLE")), "{g}");
    assert_eq!(g["attempts"].as_array().unwrap().len(), 1);

    let e = generate(&server, &key, json!({ "fallbacks": ["relay-b"] })).await.unwrap_err();
    assert_eq!(
        (e["extensions"]["code"].as_str(), e["extensions"]["field"].as_str()),
        (Some("INVALID_INPUT"), Some("fallbacks"))
    );
    let e = generate(&server, &key, json!({ "provider": "relay-a", "fallbacks": ["nope"] })).await.unwrap_err();
    assert_eq!(e["extensions"]["code"], "INVALID_INPUT", "{e}");
    let g = generate(&server, &key, json!({ "provider": "relay-a", "fallbacks": ["relay-b"] })).await.unwrap();
    assert_eq!(g["routing"]["fallbacks"], json!(["relay-b"]));
    let g = finished(&server, &key, g["id"].as_str().unwrap()).await;
    assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-b")), "{g}");

    // COST picks relay-b (4); down, the move to relay-a (10) needs 6 more
    // credits than an account of 7 has left after the reservation.
    a.restart().await;
    b.set(Mode::Throttled(0), Duration::ZERO);
    let (_, poor) = server.account_with_key("poor", 7, false);
    let g = generate(&server, &poor, json!({ "priority": "COST" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b");
    let g = finished(&server, &poor, g["id"].as_str().unwrap()).await;
    assert_eq!(g["errorCode"], "INSUFFICIENT_CREDITS", "{g}");
    assert!(g["error"]["message"].as_str().unwrap().contains("needs 6 more credits"), "{g}");
    assert_eq!(crate::vendors::credits(&server, &poor).await, 7, "the reservation came back");
}

#[tokio::test]
async fn operator_rules_prefer_pin_and_exclude_per_kind_and_priority() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    b.set(Mode::Up, Duration::from_millis(20));
    let config = r#"
        [routing]
        exclude = ["flux-dev"]

        [[routing.rules]]
        kind = "image"
        priority = "quality"
        prefer = ["relay-b"]

        [[routing.rules]]
        kind = "image"
        priority = "balanced"
        exclude = ["relay-a"]
    "#;
    let options = ServerOptions { config_toml: Some(config.into()), ..Default::default() };
    let (server, key) = gateway_with(&a, &b, 1_000, &[], options).await;
    // QUALITY would pick relay-a (90 > 60): the rule prefers relay-b.
    let g = generate(&server, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b", "{g}");
    assert!(g["routing"]["reason"].as_str().unwrap().starts_with("preferred by [routing] config"), "{g}");
    assert!(candidate(&g, "flux-dev")["skippedBecause"].as_str().unwrap().contains("excluded"), "{g}");
    // BALANCED excludes relay-a; SPEED has no rule and picks it.
    let g = generate(&server, &key, json!({ "priority": "BALANCED" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b", "{g}");
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("excluded"), "{g}");
    let g = generate(&server, &key, json!({ "priority": "SPEED" })).await.unwrap();
    assert_eq!(g["provider"], "relay-a", "{g}");
}

/// Health is shared through the database: a breaker one node opens keeps
/// the other node's automatic routing away too (PostgreSQL, two servers).
#[tokio::test]
async fn servers_sharing_a_database_share_what_they_saw() {
    let mut a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    b.set(Mode::Up, Duration::from_millis(20));
    let backend = ServerOptions { backend: Some(crate::harness::Backend::Postgres), ..Default::default() };
    let (first, key) = gateway_with(&a, &b, 1_000, &[], backend).await;
    let shared = ServerOptions { database_url: Some(first.database_url.clone()), ..Default::default() };
    let (second, _) = gateway_with(&a, &b, 0, &[], shared).await;
    a.stop().await;
    for _ in 0..2 {
        let g = generate(&first, &key, json!({ "priority": "QUALITY" })).await.unwrap();
        let g = finished(&first, &key, g["id"].as_str().unwrap()).await;
        assert_eq!((g["status"].as_str(), g["provider"].as_str()), (Some("COMPLETED"), Some("relay-b")), "{g}");
    }
    until_state(&first, &key, "relay-a", "OPEN").await;
    // The second node never saw relay-a fail, yet it routes around it.
    until_state(&second, &key, "relay-a", "OPEN").await;
    let g = generate(&second, &key, json!({ "priority": "QUALITY" })).await.unwrap();
    assert_eq!(g["provider"], "relay-b", "{g}");
    assert!(candidate(&g, "relay-a")["skippedBecause"].as_str().unwrap().contains("circuit OPEN"), "{g}");
    let g = finished(&second, &key, g["id"].as_str().unwrap()).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    // Both nodes agree on the window: two vendor failures for relay-a.
    let health = health_of(&second, &key, "relay-a").await;
    assert_eq!((health["sampleSize"].as_i64(), health["successRate"].as_f64()), (Some(2), Some(0.0)), "{health}");
}
