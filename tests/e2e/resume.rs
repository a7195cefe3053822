//! A server killed with SIGKILL mid-job resumes it on restart: nothing lost,
//! nothing submitted or charged twice. Both ways a job runs: through the
//! queue, and stepped at once for a caller that waits (`Prefer: wait`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Backend, Server, ServerOptions};

async fn resume_on(backend: Backend, waiting: bool) {
    // A short lease so that a job leased by the killed process is taken over
    // quickly on PostgreSQL (SQLite, single node, clears leases at start).
    let env = vec![("DOITONG_JOBS_LEASE_SECS".to_string(), "3".to_string())];
    let mut server = Server::start_with(ServerOptions { backend: Some(backend), env, ..Default::default() }).await;
    let (_, key) = server.account_with_key("resume", 10, false);
    let generate = "mutation { generate(input: { type: VIDEO, provider: \"placeholder\", input: { text: \"long\" }, options: { latencyMs: 3000, duration: 2 } }) { id } }";
    let id = if waiting {
        // The request waits (and is cut by the kill); its job is found by listing.
        let endpoint = server.endpoint();
        let bearer = key.clone();
        tokio::spawn(async move {
            let request = reqwest::Client::new().post(endpoint).bearer_auth(bearer).header("Prefer", "wait=60");
            let _ = request.json(&json!({ "query": generate })).send().await;
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, _, b) = server.post(Some(&key), "{ generations { nodes { id } } }", json!({}), &[]).await;
            if let Some(id) = b["data"]["generations"]["nodes"][0]["id"].as_str() {
                break id.to_string();
            }
            assert!(Instant::now() < deadline, "never accepted: {b}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    } else {
        let (_, _, body) = server.post(Some(&key), generate, json!({}), &[]).await;
        body["data"]["generate"]["id"].as_str().unwrap().to_string()
    };

    // Wait until the vendor (placeholder) has the task, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, b) = server
            .post(Some(&key), "query($id: ID!) { generation(id: $id) { status } }", json!({ "id": id }), &[])
            .await;
        if b["data"]["generation"]["status"] == "PROCESSING" {
            break;
        }
        assert!(Instant::now() < deadline, "never reached PROCESSING: {b}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    server.restart().await;

    let done = server.wait_terminal(&key, &id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}\n{}", server.log());
    let (status, content_type, _) = server.download(done["url"].as_str().unwrap()).await;
    assert_eq!((status, content_type.as_str()), (200, "image/gif"));
    let (_, _, b) = server.post(Some(&key), "{ account { credits } }", json!({}), &[]).await;
    assert_eq!(b["data"]["account"]["credits"], 9, "charged exactly once");
    let (_, _, b) = server.post(Some(&key), "{ generations { nodes { id } } }", json!({}), &[]).await;
    assert_eq!(b["data"]["generations"]["nodes"].as_array().unwrap().len(), 1, "no duplicate job");
}

#[tokio::test]
async fn sigkill_mid_job_resumes_on_sqlite() {
    resume_on(Backend::Sqlite, false).await;
}

#[tokio::test]
async fn sigkill_mid_job_resumes_on_postgres() {
    resume_on(Backend::Postgres, false).await;
}

#[tokio::test]
async fn sigkill_mid_waited_job_resumes_on_sqlite() {
    resume_on(Backend::Sqlite, true).await;
}

#[tokio::test]
async fn sigkill_mid_waited_job_resumes_on_postgres() {
    resume_on(Backend::Postgres, true).await;
}
