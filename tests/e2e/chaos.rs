//! Three nodes, one gateway (issue 13): one PostgreSQL, one Redis, one S3
//! bucket (moto), 300 generations against a slow vendor, and nodes killed
//! with SIGKILL or stopped with SIGTERM at random moments and restarted.
//!
//! What must hold at the end: every generation accepted once (clients
//! retry on another node with the same Idempotency-Key) and completed
//! once; one vendor task per generation, and a submit repeated only where
//! a node was cut off inside it; credits = start − captured; each terminal
//! webhook delivered under one `webhook-id`; every output downloadable
//! from every node.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Backend, S3Server, ServerOptions};
use crate::relay::{Hook, Mode, RelayVendor, gateway_with};

const JOBS: usize = 300;
const NODES: usize = 3;
const WORKERS: usize = 8;

/// A small deterministic generator (the seed is printed, so a failing
/// schedule can be replayed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// POST a GraphQL request to the node on `port`; `None` if the node did not
/// answer (down, or killed while answering).
async fn post_to(
    client: &reqwest::Client,
    port: u16,
    key: &str,
    query: &str,
    variables: Value,
    idempotency_key: &str,
) -> Option<Value> {
    let response = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency_key)
        .json(&json!({ "query": query, "variables": variables }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None; // e.g. 503 while draining
    }
    response.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_with_kills_run_every_job_exactly_once() {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("chaos seed {seed}");
    let mut rng = Lcg(seed);
    let s3 = S3Server::start().await;
    s3.create_bucket("chaos").await;
    let vendor = RelayVendor::start().await;
    let unused = RelayVendor::start().await;
    vendor.set(Mode::Up, Duration::from_millis(800));
    vendor.state.lock().unwrap().slow_create = Duration::from_millis(300);
    let hook = Hook::start().await;
    let redis = std::env::var("DOITONG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut env = s3.env("chaos");
    env.extend(
        [
            ("DOITONG_REDIS_URL", redis.as_str()),
            ("DOITONG_JOBS_LEASE_SECS", "3"),
            ("DOITONG_JOBS_WORKERS", "8"),
            ("DOITONG_SHUTDOWN_GRACE_SECS", "1"),
            ("DOITONG_WEBHOOKS_RETRY_SCHEDULE", "200ms,500ms,1s,1s,2s,2s,5s,5s,5s"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let first_options = ServerOptions { backend: Some(Backend::Postgres), env: env.clone(), ..Default::default() };
    let (first, _) = gateway_with(&vendor, &unused, 0, &[], first_options).await;
    let account = first.cli(&["accounts", "create", "--name", "chaos", "--plan", "enterprise", "--credits", "100000"]);
    let key = first.cli(&["keys", "create", "--account", account.trim()]).trim().to_string();
    let mut nodes = vec![first];
    for _ in 1..NODES {
        let options =
            ServerOptions { database_url: Some(nodes[0].database_url.clone()), env: env.clone(), ..Default::default() };
        nodes.push(gateway_with(&vendor, &unused, 0, &[], options).await.0);
    }
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();

    // Clients: 300 generations spread over the nodes, each retried on
    // another node (same Idempotency-Key) until one answers.
    let generate = "mutation($w: String!) { generate(input: { type: IMAGE, provider: \"relay-a\", \
        input: { text: \"a lighthouse\" }, webhookUrl: $w }) { id creditCost } }";
    let clients = {
        let (key, hook_url, ports) = (key.clone(), hook.url(), ports.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut accepted: HashMap<String, (String, i64)> = HashMap::new();
            for n in 0..JOBS {
                let idempotency_key = format!("chaos-{n}");
                let mut attempt = 0;
                let body = loop {
                    let port = ports[(n + attempt) % ports.len()];
                    let vars = json!({ "w": hook_url });
                    if let Some(body) = post_to(&client, port, &key, generate, vars, &idempotency_key).await
                        && body["errors"].is_null()
                    {
                        break body;
                    }
                    attempt += 1;
                    assert!(attempt < 200, "generation {n} never accepted");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                };
                let g = &body["data"]["generate"];
                accepted.insert(
                    idempotency_key,
                    (g["id"].as_str().unwrap().to_string(), g["creditCost"].as_i64().unwrap()),
                );
                if n % 10 == 9 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            accepted
        })
    };

    // Chaos: while clients and jobs run, stop a random node every ~1.5 s,
    // by SIGKILL or SIGTERM, and start it again.
    let started = Instant::now();
    let (mut kills, mut terms) = (0, 0);
    let ids_of =
        |accepted: &HashMap<String, (String, i64)>| accepted.values().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    let accepted = loop {
        tokio::time::sleep(Duration::from_millis(700 + rng.next(1200))).await;
        if clients.is_finished() && started.elapsed() > Duration::from_secs(20) {
            break clients.await.unwrap();
        }
        let victim = rng.next(NODES as u64) as usize;
        if rng.next(2) == 0 {
            nodes[victim].kill();
            kills += 1;
        } else {
            nodes[victim].signal_terminate();
            let status = nodes[victim].wait_exit().await;
            assert!(status.success(), "SIGTERM exit {status}:\n{}", nodes[victim].log());
            terms += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.next(1000))).await;
        nodes[victim].start_again().await;
    };
    eprintln!("chaos: {kills} SIGKILL, {terms} SIGTERM in {:?}", started.elapsed());
    assert_eq!(accepted.len(), JOBS);
    let ids = ids_of(&accepted);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), JOBS, "one generation per Idempotency-Key");

    // Every job ends, completed.
    let query = "query($id: ID!) { generation(id: $id) { id status url creditCost } }";
    let mut urls = HashMap::new();
    for id in &ids {
        let g = nodes[0].wait_terminal(&key, id, Duration::from_secs(180)).await;
        assert_eq!(g["status"], "COMPLETED", "{g}");
        let (_, _, body) = nodes[1].post(Some(&key), query, json!({ "id": id }), &[]).await;
        urls.insert(id.clone(), body["data"]["generation"]["url"].as_str().unwrap().to_string());
    }

    // One vendor task per generation; a repeated submit only where a node
    // was stopped inside it (at most `WORKERS` steps per interruption).
    assert_eq!(vendor.tasks_created(), JOBS, "one task per generation at the vendor");
    let submits = vendor.submits_per_key();
    for id in &ids {
        assert!(vendor.task_of(id).is_some(), "{id} reached the vendor");
    }
    let repeated: usize = submits.values().map(|n| n - 1).sum();
    eprintln!("chaos: {repeated} repeated submits (deduplicated by the vendor's idempotency key)");
    assert!(repeated <= (kills + terms) * WORKERS, "{repeated} repeated submits for {} interruptions", kills + terms);

    // Credits: start − captured, exactly.
    let captured: i64 = accepted.values().map(|(_, cost)| cost).sum();
    let balance = crate::vendors::credits(&nodes[2], &key).await;
    assert_eq!(balance, 100_000 - captured, "balance = start − captured");

    // Each terminal webhook, under one webhook-id per generation.
    let deadline = Instant::now() + Duration::from_secs(60);
    let by_generation = loop {
        let mut by_generation: HashMap<String, HashSet<String>> = HashMap::new();
        {
            let got = hook.got.lock().unwrap();
            let hook_ids = hook.ids.lock().unwrap();
            for (body, webhook_id) in got.iter().zip(hook_ids.iter()) {
                if body["type"] == "generation.completed" {
                    let id = body["data"]["id"].as_str().unwrap().to_string();
                    by_generation.entry(id).or_default().insert(webhook_id.clone());
                }
            }
        }
        if by_generation.len() == JOBS || Instant::now() > deadline {
            break by_generation;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(by_generation.len(), JOBS, "a completion webhook for every generation");
    for (id, webhook_ids) in &by_generation {
        assert_eq!(webhook_ids.len(), 1, "{id} delivered under several webhook-ids: {webhook_ids:?}");
    }
    assert!(hook.got.lock().unwrap().iter().all(|b| b["type"] == "generation.completed"), "no other terminal event");

    // Every output from every node (a restarted node may have had to move
    // to another port).
    let client = reqwest::Client::new();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    for url in urls.values() {
        for port in &ports {
            let mut on_node = url::Url::parse(url).unwrap();
            on_node.set_port(Some(*port)).unwrap();
            let response = client.get(on_node).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url} on node {port}");
            assert_eq!(&response.bytes().await.unwrap()[1..4], b"PNG");
        }
    }
    assert_eq!(s3.keys("chaos").await.len(), JOBS, "one object per output");
}

/// A plan's concurrency holds across nodes: with `concurrent = 1`, jobs
/// accepted by three different nodes reach the vendor one after another.
#[tokio::test]
async fn plan_concurrency_holds_across_nodes() {
    let vendor = RelayVendor::start().await;
    let unused = RelayVendor::start().await;
    vendor.set(Mode::Up, Duration::from_millis(700));
    let redis = std::env::var("DOITONG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let env = vec![("DOITONG_REDIS_URL".to_string(), redis)];
    let first_options = ServerOptions { backend: Some(Backend::Postgres), env: env.clone(), ..Default::default() };
    let (first, _) = gateway_with(&vendor, &unused, 0, &[], first_options).await;
    let mut nodes = vec![first];
    for _ in 1..NODES {
        let options =
            ServerOptions { database_url: Some(nodes[0].database_url.clone()), env: env.clone(), ..Default::default() };
        nodes.push(gateway_with(&vendor, &unused, 0, &[], options).await.0);
    }
    let account =
        nodes[0].cli(&["accounts", "create", "--name", "one-at-a-time", "--plan", "free", "--credits", "100"]);
    let key = nodes[0].cli(&["keys", "create", "--account", account.trim()]).trim().to_string();
    let mut ids = vec![];
    for node in &nodes {
        ids.push(crate::relay::generate(node, &key, "relay-a").await);
    }
    for id in &ids {
        let g = nodes[0].wait_terminal(&key, id, Duration::from_secs(60)).await;
        assert_eq!(g["status"], "COMPLETED", "{g}");
    }
    let mut created = vendor.creation_times();
    created.sort();
    assert_eq!(created.len(), 3);
    for pair in created.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(650), "two tasks of a concurrency-1 plan overlapped ({gap:?} apart)");
    }
}
