//! Money and limits under concurrency (issue 3): idempotency, exact credit
//! exhaustion, plan RPM with headers, Redis-shared budgets, concurrency
//! queueing and queue depth. Every test ends by checking that the ledger
//! and the balance agree.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::harness::{Backend, Server, ServerOptions, fresh_postgres_database};

const GENERATE: &str = "mutation($t: String!) { generate(input: { type: IMAGE, provider: \"placeholder\", input: { text: $t } }) { id status creditCost } }";

async fn credits(server: &Server, key: &str) -> i64 {
    let (_, _, b) = server.post(Some(key), "{ account { credits } }", json!({}), &[]).await;
    b["data"]["account"]["credits"].as_i64().unwrap_or_else(|| panic!("{b}"))
}

/// The ledger's lines sum to the balance, and every generation has at most
/// one reserve, capture and refund.
pub async fn assert_ledger_consistent(server: &Server, key: &str) -> Vec<Value> {
    let mut lines = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (_, _, b) = server
            .post(
                Some(key),
                "query($a: String) { creditTransactions(first: 100, after: $a) { nodes { id kind amount balanceAfter generationId } pageInfo { hasNextPage endCursor } } }",
                json!({ "a": after }),
                &[],
            )
            .await;
        let page = &b["data"]["creditTransactions"];
        lines.extend(page["nodes"].as_array().unwrap_or_else(|| panic!("{b}")).iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    let sum: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, credits(server, key).await, "ledger sum equals balance: {lines:?}");
    let mut seen = std::collections::HashSet::new();
    for l in &lines {
        if let Some(g) = l["generationId"].as_str() {
            assert!(seen.insert((g.to_string(), l["kind"].as_str().unwrap().to_string())), "duplicate {l}");
        }
    }
    lines
}

async fn idempotency_on(backend: Backend) {
    let server = Server::start_with(ServerOptions { backend: Some(backend), ..Default::default() }).await;
    let (_, key) = server.account_with_key("idem", 100, false);
    let body = json!({ "t": "same request" });
    let responses =
        join_all((0..50).map(|_| server.post(Some(&key), GENERATE, body.clone(), &[("Idempotency-Key", "order-42")])))
            .await;
    let first =
        responses.iter().find(|(status, headers, _)| *status == 200 && !headers.contains_key("idempotent-replayed"));
    let first = first.map(|(_, _, b)| b.clone()).expect("one response ran the request");
    let mut ids = std::collections::HashSet::new();
    for (status, _, b) in &responses {
        match status {
            200 => {
                ids.insert(b["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{b}")).to_string());
            }
            409 => assert_eq!(b["errors"][0]["extensions"]["code"], "IDEMPOTENCY_IN_PROGRESS"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(ids.len(), 1, "one generation: {ids:?}");
    let id = ids.into_iter().next().unwrap();
    // Once done, every replay is the stored 200.
    for _ in 0..3 {
        let (status, headers, b) =
            server.post(Some(&key), GENERATE, body.clone(), &[("Idempotency-Key", "order-42")]).await;
        assert_eq!(status, 200);
        assert_eq!(b["data"]["generate"]["id"], id.as_str());
        assert_eq!(headers.get("idempotent-replayed").map(String::as_str), Some("true"));
    }
    assert_eq!(credits(&server, &key).await, 99, "one reservation");
    // Same key, different body.
    let (status, _, b) =
        server.post(Some(&key), GENERATE, json!({ "t": "another" }), &[("Idempotency-Key", "order-42")]).await;
    assert_eq!(status, 422, "{b}");
    assert_eq!(b["errors"][0]["extensions"]["code"], "IDEMPOTENCY_KEY_REUSED");
    // Too long a key.
    let long = "k".repeat(256);
    let (status, _, b) = server.post(Some(&key), GENERATE, body.clone(), &[("Idempotency-Key", &long)]).await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["errors"][0]["extensions"]["code"], "INVALID_INPUT");
    // 401 is never stored: a bad key then a good key with the same Idempotency-Key runs.
    let (status, _, _) =
        server.post(Some("dt_live_wrong"), GENERATE, body.clone(), &[("Idempotency-Key", "fresh")]).await;
    assert_eq!(status, 401);
    let (status, headers, _) = server.post(Some(&key), GENERATE, body.clone(), &[("Idempotency-Key", "fresh")]).await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("idempotent-replayed"));
    // After completion a replay is still the first response, byte for byte
    // (the generation as accepted), not the generation's current state.
    assert_eq!(server.wait_terminal(&key, &id, Duration::from_secs(30)).await["status"], "COMPLETED");
    let (status, _, replay) = server.post(Some(&key), GENERATE, body.clone(), &[("Idempotency-Key", "order-42")]).await;
    assert_eq!((status, &replay), (200, &first));
    assert_eq!(first["data"]["generate"]["status"], "QUEUED");

    // A refused generation is stored too: its replay is the same refusal,
    // even once the account could pay.
    let (poor_id, poor) = server.account_with_key("poor", 0, false);
    let (_, _, refused) = server.post(Some(&poor), GENERATE, body.clone(), &[("Idempotency-Key", "k1")]).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "INSUFFICIENT_CREDITS", "{refused}");
    server.cli(&["accounts", "grant", "--account", &poor_id, "--credits", "5"]);
    let (_, headers, again) = server.post(Some(&poor), GENERATE, body.clone(), &[("Idempotency-Key", "k1")]).await;
    assert_eq!(again, refused);
    assert_eq!(headers.get("idempotent-replayed").map(String::as_str), Some("true"));

    // Waiting requests and other mutations store their whole response (on
    // another account: the first used most of its plan's 60 writes a minute).
    let (_, other) = server.account_with_key("other", 100, false);
    let (status, _, waited) =
        server.post(Some(&other), GENERATE, body.clone(), &[("Idempotency-Key", "w1"), ("Prefer", "wait=20")]).await;
    assert_eq!(status, 200, "{waited}");
    assert_eq!(waited["data"]["generate"]["status"], "COMPLETED", "{waited}");
    let (_, _, replay) =
        server.post(Some(&other), GENERATE, body.clone(), &[("Idempotency-Key", "w1"), ("Prefer", "wait=20")]).await;
    assert_eq!(replay, waited);
    let cancel = "mutation($id: ID!) { cancelGeneration(id: $id) }";
    let done = json!({ "id": waited["data"]["generate"]["id"] });
    let (_, _, c1) = server.post(Some(&other), cancel, done.clone(), &[("Idempotency-Key", "c1")]).await;
    let (_, h2, c2) = server.post(Some(&other), cancel, done, &[("Idempotency-Key", "c1")]).await;
    assert_eq!((c1["data"]["cancelGeneration"].clone(), c2), (json!(false), c1.clone()));
    assert_eq!(h2.get("idempotent-replayed").map(String::as_str), Some("true"));
    assert_ledger_consistent(&server, &other).await;
    assert_ledger_consistent(&server, &key).await;
    assert_ledger_consistent(&server, &poor).await;
}

#[tokio::test]
async fn idempotency_under_concurrency_on_sqlite() {
    idempotency_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn idempotency_under_concurrency_on_postgres() {
    idempotency_on(Backend::Postgres).await;
}

async fn exact_credits_on(backend: Backend) {
    let server = Server::start_with(ServerOptions { backend: Some(backend), ..Default::default() }).await;
    const N: usize = 5;
    let (_, key) = server.account_with_key("exact", N as i64, false);
    let responses =
        join_all((0..4 * N).map(|i| server.post(Some(&key), GENERATE, json!({ "t": format!("request {i}") }), &[])))
            .await;
    let mut accepted = Vec::new();
    for (status, _, b) in &responses {
        assert_eq!(*status, 200, "{b}");
        match b["data"]["generate"]["id"].as_str() {
            Some(id) => accepted.push(id.to_string()),
            None => assert_eq!(b["errors"][0]["extensions"]["code"], "INSUFFICIENT_CREDITS", "{b}"),
        }
    }
    assert_eq!(accepted.len(), N, "exactly N accepted");
    for id in &accepted {
        let g = server.wait_terminal(&key, id, Duration::from_secs(60)).await;
        assert_eq!(g["status"], "COMPLETED", "{g}");
    }
    assert_eq!(credits(&server, &key).await, 0);
    let lines = assert_ledger_consistent(&server, &key).await;
    let count = |kind: &str| lines.iter().filter(|l| l["kind"] == kind).count();
    assert_eq!((count("GRANT"), count("RESERVE"), count("CAPTURE"), count("REFUND")), (1, N, N, 0));
}

#[tokio::test]
async fn credits_for_exactly_n_on_sqlite() {
    exact_credits_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn credits_for_exactly_n_on_postgres() {
    exact_credits_on(Backend::Postgres).await;
}

fn header(headers: &std::collections::HashMap<String, String>, name: &str) -> i64 {
    headers.get(name).unwrap_or_else(|| panic!("missing {name}: {headers:?}")).parse().unwrap()
}

#[tokio::test]
async fn free_plan_rpm_with_headers_and_reset() {
    let server = Server::start().await;
    let id = server.cli(&["accounts", "create", "--name", "free", "--plan", "free", "--credits", "100"]);
    let key = server.cli(&["keys", "create", "--account", id.trim()]).trim().to_string();
    for i in 0..10 {
        let (status, headers, b) = server.post(Some(&key), GENERATE, json!({ "t": format!("w{i}") }), &[]).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(header(&headers, "x-ratelimit-limit"), 10);
        assert_eq!(header(&headers, "x-ratelimit-remaining"), 9 - i);
        assert!(headers["ratelimit-policy"].contains("q=10;w=60"), "{headers:?}");
    }
    let (status, headers, b) = server.post(Some(&key), GENERATE, json!({ "t": "w11" }), &[]).await;
    assert_eq!(status, 429, "{b}");
    assert_eq!(b["errors"][0]["extensions"]["code"], "RATE_LIMIT");
    assert_eq!(b["errors"][0]["extensions"]["limit"], "rpm");
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 0);
    let reset = header(&headers, "x-ratelimit-reset");
    assert!((1..=60).contains(&reset), "{reset}");
    assert_eq!(header(&headers, "retry-after"), reset);
    // Reads keep working, with their own budget.
    let (status, headers, b) = server
        .post(
            Some(&key),
            "{ account { usage { requestsThisMinute activeJobs generationsToday } limits { rpm concurrent daily } } }",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(header(&headers, "x-ratelimit-limit"), 600);
    assert_eq!(b["data"]["account"]["limits"], json!({ "rpm": 10, "concurrent": 1, "daily": 100 }));
    assert_eq!(b["data"]["account"]["usage"]["requestsThisMinute"], 11);
    assert_eq!(b["data"]["account"]["usage"]["generationsToday"], 10);
    // After the reset the next write passes (waiting out a fixed window is
    // the behaviour under test).
    tokio::time::sleep(Duration::from_secs(reset as u64) + Duration::from_millis(200)).await;
    let (status, _, b) = server.post(Some(&key), GENERATE, json!({ "t": "after reset" }), &[]).await;
    assert_eq!(status, 200, "{b}");
}

#[tokio::test]
async fn two_servers_share_one_redis_budget() {
    let redis = std::env::var("DOITONG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let database_url = fresh_postgres_database().await;
    let env = vec![("DOITONG_REDIS_URL".to_string(), redis)];
    let a = Server::start_with(ServerOptions {
        database_url: Some(database_url.clone()),
        env: env.clone(),
        ..Default::default()
    })
    .await;
    let b = Server::start_with(ServerOptions { database_url: Some(database_url), env, ..Default::default() }).await;
    let id = a.cli(&["accounts", "create", "--name", "shared", "--plan", "free", "--credits", "100"]);
    let key = a.cli(&["keys", "create", "--account", id.trim()]).trim().to_string();
    let mut statuses = Vec::new();
    for i in 0..11 {
        let server = if i % 2 == 0 { &a } else { &b };
        let (status, _, _) = server.post(Some(&key), GENERATE, json!({ "t": format!("s{i}") }), &[]).await;
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(statuses[10], 429, "{statuses:?}");
}

#[tokio::test]
async fn concurrency_one_queues_in_order_and_queue_depth_is_bounded() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_LIMITS_QUEUE_FACTOR".into(), "2".into())],
        ..Default::default()
    })
    .await;
    let id = server.cli(&["accounts", "create", "--name", "one", "--plan", "free", "--credits", "100"]);
    let key = server.cli(&["keys", "create", "--account", id.trim()]).trim().to_string();
    let slow = "mutation($t: String!) { generate(input: { type: AUDIO, provider: \"placeholder\", input: { text: $t }, options: { latencyMs: 1500 } }) { id } }";
    let (_, _, b1) = server.post(Some(&key), slow, json!({ "t": "first" }), &[]).await;
    let first = b1["data"]["generate"]["id"].as_str().unwrap().to_string();
    let (_, _, b2) = server.post(Some(&key), slow, json!({ "t": "second" }), &[]).await;
    let second = b2["data"]["generate"]["id"].as_str().unwrap().to_string();
    // Queue depth 1 × 2: a third is refused.
    let (status, headers, b3) = server.post(Some(&key), slow, json!({ "t": "third" }), &[]).await;
    assert_eq!(status, 429, "{b3}");
    assert_eq!(b3["errors"][0]["extensions"]["limit"], "queue");
    assert!(headers.contains_key("retry-after"));

    // While the first runs, the second waits QUEUED.
    let status_of = |id: String| {
        let server = &server;
        let key = key.clone();
        async move {
            let (_, _, b) = server
                .post(
                    Some(&key),
                    "query($id: ID!) { generation(id: $id) { status completedAt } }",
                    json!({ "id": id }),
                    &[],
                )
                .await;
            b["data"]["generation"].clone()
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let f = status_of(first.clone()).await;
        let s = status_of(second.clone()).await;
        if f["status"] == "COMPLETED" {
            break;
        }
        if f["status"] == "PROCESSING" {
            assert_eq!(s["status"], "QUEUED", "second must wait while first runs");
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = server.wait_terminal(&key, &second, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "COMPLETED");
    let f = status_of(first).await;
    let s = status_of(second).await;
    assert!(f["completedAt"].as_str().unwrap() <= s["completedAt"].as_str().unwrap());
    assert_ledger_consistent(&server, &key).await;
}

#[tokio::test]
async fn daily_cap_refuses_with_429() {
    let server = Server::start().await;
    let id = server.cli(&["accounts", "create", "--name", "daily", "--plan", "starter", "--credits", "100"]);
    server.cli(&["accounts", "set-plan", "--account", id.trim(), "--plan", "starter", "--daily", "2"]);
    let key = server.cli(&["keys", "create", "--account", id.trim()]).trim().to_string();
    for i in 0..2 {
        let (status, _, b) = server.post(Some(&key), GENERATE, json!({ "t": format!("d{i}") }), &[]).await;
        assert_eq!(status, 200, "{b}");
    }
    let (status, headers, b) = server.post(Some(&key), GENERATE, json!({ "t": "d3" }), &[]).await;
    assert_eq!(status, 429, "{b}");
    assert_eq!(b["errors"][0]["extensions"]["code"], "RATE_LIMIT");
    assert_eq!(b["errors"][0]["extensions"]["limit"], "daily");
    let retry: i64 = headers["retry-after"].parse().unwrap();
    assert!((1..=86_400).contains(&retry), "until 00:00 UTC: {retry}");
    assert_eq!(credits(&server, &key).await, 98, "the refused request reserved nothing");
    assert_ledger_consistent(&server, &key).await;
}
