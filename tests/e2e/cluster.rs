//! Several servers, one gateway (issue 13): job ownership (lease renewal,
//! one step at a time), cancel while `submit` is in flight, and shutdown on
//! SIGTERM handing unfinished work to other nodes. Vendors are the relay
//! mock (`crate::relay`), which honours idempotency keys like real vendors
//! that support them and counts what reaches it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Backend, Server, ServerOptions};
use crate::relay::{Mode, RelayVendor, gateway_with, generate};

async fn generation(server: &Server, key: &str, id: &str) -> Value {
    let query = "query($id: ID!) { generation(id: $id) { id status creditCost cancelRequestedAt \
        attempts { provider code } } }";
    let (_, _, body) = server.post(Some(key), query, json!({ "id": id }), &[]).await;
    body["data"]["generation"].clone()
}

async fn credits(server: &Server, key: &str) -> i64 {
    crate::vendors::credits(server, key).await
}

/// Wait (bounded) until the vendor has seen a submit for generation `id`.
async fn until_submitted(vendor: &RelayVendor, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !vendor.tokens().iter().any(|t| t == id) {
        assert!(Instant::now() < deadline, "the vendor never saw a submit of {id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn postgres() -> ServerOptions {
    ServerOptions { backend: Some(Backend::Postgres), ..Default::default() }
}

fn sharing(server: &Server) -> ServerOptions {
    ServerOptions { database_url: Some(server.database_url.clone()), ..Default::default() }
}

/// A submit slower than the job's lease (1 s here, the vendor takes 3.5 s)
/// is stepped once: the step renews its lease, its node never claims it
/// again, and neither does the other node on the same database.
#[tokio::test]
async fn a_step_longer_than_its_lease_is_not_claimed_twice() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(20));
    b.set(Mode::Up, Duration::from_millis(20));
    a.state.lock().unwrap().slow_create = Duration::from_millis(3500);
    let lease = [("DOITONG_JOBS_LEASE_SECS", "1")];
    let (first, key) = gateway_with(&a, &b, 1_000, &lease, postgres()).await;
    let (_second, _) = gateway_with(&a, &b, 0, &lease, sharing(&first)).await;
    let id = generate(&first, &key, "relay-a").await;
    let g = first.wait_terminal(&key, &id, Duration::from_secs(30)).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    let submits = a.tokens().iter().filter(|t| **t == id).count();
    assert_eq!(submits, 1, "the vendor saw {submits} submits of {id}");
    assert_eq!(generation(&first, &key, &id).await["attempts"].as_array().unwrap().len(), 1);
}

/// Cancelling while the vendor is still answering `submit` waits for its
/// task id, cancels the task at the vendor, and refunds what the adapter
/// reports (all of it: the relay vendor charges nothing for a cancelled task).
#[tokio::test]
async fn cancel_during_a_slow_submit_cancels_the_vendor_task() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_secs(60));
    a.state.lock().unwrap().slow_create = Duration::from_millis(2500);
    let (server, key) = gateway_with(&a, &b, 1_000, &[], ServerOptions::default()).await;
    let id = generate(&server, &key, "relay-a").await;
    until_submitted(&a, &id).await;
    assert_eq!(credits(&server, &key).await, 990, "10 credits reserved");

    let started = Instant::now();
    let (_, _, body) =
        server.post(Some(&key), "mutation($id: ID!) { cancelGeneration(id: $id) }", json!({ "id": id }), &[]).await;
    assert_eq!(body["data"]["cancelGeneration"], true, "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "cancel waited {:?}", started.elapsed());

    let g = generation(&server, &key, &id).await;
    assert_eq!(g["status"], "CANCELLED", "{g}");
    assert_eq!(g["cancelRequestedAt"], Value::Null, "{g}");
    let task = a.task_of(&id).expect("the vendor created the task");
    assert_eq!(a.cancels(), vec![task], "the vendor's task was cancelled, once");
    assert_eq!(credits(&server, &key).await, 1_000, "refunded in full");
    // Nothing more happens to it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(generation(&server, &key, &id).await["status"], "CANCELLED");
    assert_eq!(a.tokens().iter().filter(|t| **t == id).count(), 1, "submitted once");
}

/// SIGTERM with a grace long enough: the step in flight finishes (its
/// task id is recorded), the process exits cleanly, and the next start
/// polls that task instead of submitting again.
#[tokio::test]
async fn sigterm_lets_the_step_in_flight_finish() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(200));
    a.state.lock().unwrap().slow_create = Duration::from_millis(2000);
    let grace = [("DOITONG_SHUTDOWN_GRACE_SECS", "20")];
    let (mut server, key) = gateway_with(&a, &b, 1_000, &grace, ServerOptions::default()).await;
    let id = generate(&server, &key, "relay-a").await;
    until_submitted(&a, &id).await;
    let started = Instant::now();
    let status = server.terminate().await;
    assert!(status.success(), "exit status {status}:\n{}", server.log());
    assert!(started.elapsed() >= Duration::from_millis(1000), "it waited for the submit");
    assert!(started.elapsed() < Duration::from_secs(15), "exited after {:?}:\n{}", started.elapsed(), server.log());
    assert!(server.log().contains("SIGTERM: shutting down"), "{}", server.log());

    server.start_again().await;
    let g = server.wait_terminal(&key, &id, Duration::from_secs(30)).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    assert_eq!(a.tokens().iter().filter(|t| **t == id).count(), 1, "never submitted again");
    assert_eq!(credits(&server, &key).await, 990);
}

/// SIGTERM with a step longer than the grace: the process exits within
/// the grace and hands the job back (its lease dropped), so another node
/// resumes it at once rather than after the 150 s lease. The resumed
/// submit carries the same idempotency key, and the vendor creates one task.
#[tokio::test]
async fn sigterm_hands_unfinished_steps_to_another_node_at_once() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(200));
    a.state.lock().unwrap().slow_create = Duration::from_millis(4000);
    let grace = [("DOITONG_SHUTDOWN_GRACE_SECS", "1")];
    let (mut first, key) = gateway_with(&a, &b, 1_000, &grace, postgres()).await;
    let id = generate(&first, &key, "relay-a").await;
    until_submitted(&a, &id).await;
    let started = Instant::now();
    let status = first.terminate().await;
    assert!(status.success(), "exit status {status}:\n{}", first.log());
    assert!(started.elapsed() < Duration::from_secs(5), "exited after {:?}", started.elapsed());
    assert!(first.log().contains("job handed back unfinished"), "{}", first.log());

    let (second, _) = gateway_with(&a, &b, 0, &[], sharing(&first)).await;
    let g = second.wait_terminal(&key, &id, Duration::from_secs(30)).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    assert!(started.elapsed() < Duration::from_secs(60), "resumed before the lease would have lapsed");
    assert_eq!(a.tasks_created(), 1, "one task at the vendor");
    assert_eq!(a.tokens().iter().filter(|t| **t == id).count(), 2, "the cut-off submit and the resumed one");
    assert_eq!(credits(&second, &key).await, 990, "charged once");
}

/// Poll `check` every 20 ms until it holds; how long that took (bounded).
async fn within<F, Fut>(limit: Duration, what: &str, check: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn admin(server: &Server, query: &str, variables: Value) -> Value {
    let (_, _, body) = server.post(Some("admin-token"), query, variables, &[]).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// Installed on one node, a plugin serves on the others within a second;
/// disabled on one, it stops on all; all of it survives restarts of every
/// node; and the admin `plugins` query shows each node's state.
#[tokio::test]
async fn plugins_installed_on_one_node_serve_on_every_node() {
    use crate::hotswap::{admin_plugins, enterprise_key, provider_version, swapper};
    let admin_token = ("DOITONG_ADMIN_TOKEN".to_string(), "admin-token".to_string());
    let mut a = Server::start_with(ServerOptions { env: vec![admin_token.clone()], ..postgres() }).await;
    let mut nodes = vec![];
    for _ in 0..2 {
        nodes.push(Server::start_with(ServerOptions { env: vec![admin_token.clone()], ..sharing(&a) }).await);
    }
    let key = enterprise_key(&a);
    let wasm = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, swapper(41));
    admin(&a, "mutation($w: String!) { installPlugin(wasmBase64: $w) { id } }", json!({ "w": wasm })).await;
    for node in &nodes {
        let took = within(Duration::from_secs(1), "installed on the other nodes", || async {
            provider_version(node, &key, "swapper").await.as_deref() == Some("1.0.0-swap-041")
        })
        .await;
        eprintln!("install reached node {} in {took:?}", node.port);
    }

    // Disabled on B: no node serves it.
    admin(&nodes[0], "mutation { disablePlugin(id: \"swapper\") }", json!({})).await;
    for node in [&a, &nodes[1]] {
        within(Duration::from_secs(1), "disabled everywhere", || async {
            provider_version(node, &key, "swapper").await.is_none()
        })
        .await;
    }

    // Every node restarts: still installed, still disabled.
    a.kill();
    for node in &mut nodes {
        node.kill();
    }
    a.start_again().await;
    for node in &mut nodes {
        node.start_again().await;
    }
    let records = admin_plugins(&a).await;
    let swapper_record = records.iter().find(|p| p["id"] == "swapper").unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!((&swapper_record["source"], &swapper_record["state"]), (&json!("uploaded"), &json!("DISABLED")));
    for node in [&a, &nodes[0], &nodes[1]] {
        assert_eq!(provider_version(node, &key, "swapper").await, None, "still disabled after restarts");
    }

    // Enabled on C: serves everywhere again, same version.
    admin(&nodes[1], "mutation { enablePlugin(id: \"swapper\") }", json!({})).await;
    for node in [&a, &nodes[0]] {
        within(Duration::from_secs(1), "enabled everywhere", || async {
            provider_version(node, &key, "swapper").await.as_deref() == Some("1.0.0-swap-041")
        })
        .await;
    }

    // Per node: each of the three reports the same version, loaded.
    let query = "{ plugins { id nodes { node version source state seenAt } } }";
    let per_node = within(Duration::from_secs(10), "every node reports", || async {
        let data = admin(&a, query, json!({})).await;
        let swapper = data["plugins"].as_array().unwrap().iter().find(|p| p["id"] == "swapper").cloned().unwrap();
        let nodes = swapper["nodes"].as_array().unwrap().clone();
        nodes.len() == 3 && nodes.iter().all(|n| n["state"] == "loaded" && n["version"] == "1.0.0-swap-041")
    })
    .await;
    assert!(per_node < Duration::from_secs(10));
}

/// A job keeps the exact plugin version it started on across a restart of
/// its node, although a newer version was installed meanwhile: the old
/// version is read back from the database.
#[tokio::test]
async fn a_running_job_keeps_its_plugin_version_across_restarts() {
    use crate::hotswap::{enterprise_key, generate_swapper, provider_version, result_text, swapper};
    let admin_token = ("DOITONG_ADMIN_TOKEN".to_string(), "admin-token".to_string());
    let mut server = Server::start_with(ServerOptions { env: vec![admin_token], ..Default::default() }).await;
    let key = enterprise_key(&server);
    let install = |n: u32| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, swapper(n));
    let mutation = "mutation($w: String!) { installPlugin(wasmBase64: $w) { id } }";
    admin(&server, mutation, json!({ "w": install(1) })).await;
    let id = generate_swapper(&server, &key, 4000).await.unwrap();
    admin(&server, mutation, json!({ "w": install(2) })).await;
    assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-002"));
    server.kill();
    server.start_again().await;
    assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-002"));
    let text = result_text(&server, &key, &id).await;
    assert!(text.contains("1.0.0-swap-001"), "finished on the version it started on: {text}");
    assert!(server.log().contains("pinned version read back"), "{}", server.log());
}

/// SIGTERM right after a generation completes: the webhook attempt in
/// flight (a receiver taking 2 s) is finished before the process exits,
/// and recorded, so the next start does not send it again.
#[tokio::test]
async fn sigterm_finishes_webhook_attempts_in_flight() {
    let a = RelayVendor::start().await;
    let b = RelayVendor::start().await;
    a.set(Mode::Up, Duration::from_millis(100));
    let hook = crate::relay::Hook::answering_after(Duration::from_secs(2)).await;
    let grace = [("DOITONG_SHUTDOWN_GRACE_SECS", "10")];
    let (mut server, key) = gateway_with(&a, &b, 1_000, &grace, ServerOptions::default()).await;
    let query = "mutation($w: String!) { generate(input: { type: IMAGE, provider: \"relay-a\", \
        input: { text: \"x\" }, webhookUrl: $w }) { id } }";
    let (_, _, body) = server.post(Some(&key), query, json!({ "w": hook.url() }), &[]).await;
    let id = body["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
    server.wait_terminal(&key, &id, Duration::from_secs(30)).await;
    let status = server.terminate().await;
    assert!(status.success(), "{status}");
    assert_eq!(hook.got.lock().unwrap().len(), 1, "delivered before the process exited");
    server.start_again().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(hook.got.lock().unwrap().len(), 1, "recorded as delivered: not sent again");
}
