//! Starting the real `doitong` binary against SQLite or a fresh PostgreSQL
//! database, and talking to it over HTTP on 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Which database a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("DOITONG_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty PostgreSQL database; its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Executor;
    let admin = postgres_admin_url();
    let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {admin} is required for these tests (set DOITONG_TEST_POSTGRES_URL): {e}")
    });
    let name = format!("doitong_test_{}", uuid::Uuid::new_v4().simple());
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// The `.wasm` of a test guest crate (built by host/build.rs).
pub fn guest_wasm(crate_name: &str) -> Vec<u8> {
    let path = Path::new(env!("GUEST_WASM_DIR")).join(format!("{}.wasm", crate_name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Options for starting a server.
#[derive(Default, Clone)]
pub struct ServerOptions {
    pub backend: Option<Backend>,
    /// Extra `DOITONG_*` variables.
    pub env: Vec<(String, String)>,
    /// `.wasm` files to put in `<data>/plugins` before start.
    pub plugins: Vec<(String, Vec<u8>)>,
    /// Share an existing database (another server's) instead of a fresh one.
    pub database_url: Option<String>,
    /// A `doitong.toml` to pass with `--config`.
    pub config_toml: Option<String>,
}

/// A running `doitong serve`.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The test key printed on first start.
    pub key: String,
    pub options: ServerOptions,
    _tmp: Option<tempfile::TempDir>,
    client: reqwest::Client,
    pub log_path: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(ServerOptions::default()).await
    }

    pub async fn start_with(options: ServerOptions) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        std::fs::create_dir_all(data_dir.join("plugins")).unwrap();
        for (name, wasm) in &options.plugins {
            std::fs::write(data_dir.join("plugins").join(name), wasm).unwrap();
        }
        let shared = options.database_url.is_some();
        let database_url = match (&options.database_url, options.backend.unwrap_or(Backend::Sqlite)) {
            (Some(url), _) => url.clone(),
            (None, Backend::Sqlite) => format!("sqlite://{}", data_dir.join("doitong.db").display()),
            (None, Backend::Postgres) => fresh_postgres_database().await,
        };
        let mut server = Server {
            child: None,
            port: free_port(),
            log_path: tmp.path().join("server.log"),
            data_dir,
            database_url,
            key: String::new(),
            options,
            _tmp: Some(tmp),
            // Idle connections are dropped before the server's header
            // timeout (10 s) closes them: reusing one the server is closing
            // would fail a POST at random.
            client: reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(5)).build().unwrap(),
        };
        let key = server.spawn(!shared).await;
        if !shared {
            server.key = key.expect("a brand-new database prints a test key");
        }
        server
    }

    /// Start the process; returns the first-run key if one was printed
    /// (waited for when `expect_key`: the reader thread may lag behind the
    /// listener).
    ///
    /// Ready means *this* process logged that it listens on our port: a
    /// port picked by [`free_port`] can be taken by another test's server
    /// before ours binds it, and a health check alone would then talk to
    /// that one. Ours then fails to bind and exits, and we retry on a new port.
    async fn spawn(&mut self, expect_key: bool) -> Option<String> {
        for _attempt in 0..5 {
            let log_start = std::fs::metadata(&self.log_path).map(|m| m.len() as usize).unwrap_or(0);
            let rx = self.launch();
            let ready_line = format!("doitong listening on http://127.0.0.1:{}", self.port);
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut key = None;
            loop {
                while let Ok(line) = rx.try_recv() {
                    if line.starts_with("dt_") {
                        key = Some(line.trim().to_string());
                    }
                }
                let log = self.log();
                let this_run = log.get(log_start..).unwrap_or_default();
                if this_run.contains(&ready_line) {
                    // The key is printed before the listener starts.
                    while key.is_none() && expect_key {
                        match rx.recv_timeout(Duration::from_secs(10)) {
                            Ok(line) if line.starts_with("dt_") => key = Some(line.trim().to_string()),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    return key;
                }
                if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    if this_run.contains("cannot listen on") {
                        self.child = None;
                        self.port = free_port();
                        break;
                    }
                    panic!("doitong exited with {status}:\n{log}");
                }
                assert!(Instant::now() < deadline, "server did not start:\n{log}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("no free port for doitong after 5 attempts:\n{}", self.log());
    }

    /// Run `doitong serve` on `self.port`; its stdout lines.
    fn launch(&mut self) -> std::sync::mpsc::Receiver<String> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_doitong"));
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database-url")
            .arg(&self.database_url)
            .env("RUST_LOG", "info,sqlx=warn")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DOITONG_")) {
            cmd.env_remove(k);
        }
        // One compile cache for every test server (safe to share: see
        // `Config::cache_dir`): a server then starts without compiling the
        // bundled plugins again. A test may pass its own.
        cmd.env("DOITONG_CACHE_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
        // Each test server has its own database: one key signs the shared cache.
        cmd.env("DOITONG_CACHE_KEY", "e2e-shared-compile-cache-key");
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
        if let Some(toml) = &self.options.config_toml {
            let path = self.data_dir.join("doitong.toml");
            std::fs::write(&path, toml).unwrap();
            cmd.arg("--config").arg(path);
        }
        let mut child = cmd.spawn().expect("spawn doitong");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        rx
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn endpoint(&self) -> String {
        self.url("/graphql")
    }

    /// SIGKILL the process (no graceful shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Bytes the process has read so far (`rchar` of `/proc/<pid>/io`:
    /// every `read`, from files, sockets and pipes alike).
    pub fn bytes_read(&self) -> u64 {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.pid())).unwrap();
        io.lines().find_map(|l| l.strip_prefix("rchar: ")).unwrap().trim().parse().unwrap()
    }

    /// Send SIGTERM (what `docker stop`, systemd and Kubernetes send) and
    /// wait for the process to exit (without blocking the test's runtime,
    /// which serves the mock vendors); its exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal_terminate();
        self.wait_exit().await
    }

    /// Send SIGTERM without waiting for the exit.
    pub fn signal_terminate(&self) {
        let pid = self.pid().to_string();
        assert!(Command::new("kill").arg("-TERM").arg(pid).status().unwrap().success(), "kill -TERM failed");
    }

    /// Wait for a process told to stop; its exit status.
    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap()
    }

    /// Start again (after [`Server::terminate`] or [`Server::kill`]).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn(false).await;
    }

    /// Start again on the same data directory and database.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn(false).await;
    }

    /// POST a GraphQL request with `key`; returns (HTTP status, headers, body).
    pub async fn post(
        &self,
        key: Option<&str>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> (u16, HashMap<String, String>, Value) {
        let mut request = self.client.post(self.endpoint()).json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body: Value = response.json().await.unwrap();
        (status, headers, body)
    }

    /// `data` of a successful GraphQL request with the server's test key.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, _, body) = self.post(Some(&self.key), query, variables, &[]).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The first error of a GraphQL request with the server's test key.
    pub async fn gql_error(&self, query: &str, variables: Value) -> Value {
        let (_, _, body) = self.post(Some(&self.key), query, variables, &[]).await;
        body["errors"][0].clone()
    }

    /// Poll `generation(id)` until terminal (bounded), returning it.
    pub async fn wait_terminal(&self, key: &str, id: &str, within: Duration) -> Value {
        let query = "query($id: ID!) { generation(id: $id) { id status progress url urls metadata error errorCode creditCost provider } }";
        let deadline = Instant::now() + within;
        loop {
            let (_, _, body) = self.post(Some(key), query, json!({ "id": id }), &[("Prefer", "wait=5")]).await;
            let g = body["data"]["generation"].clone();
            let status = g["status"].as_str().unwrap_or_default().to_string();
            if ["COMPLETED", "FAILED", "CANCELLED"].contains(&status.as_str()) {
                return g;
            }
            assert!(Instant::now() < deadline, "generation {id} not terminal in time: {body}\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Download a URL; (status, content type, bytes).
    pub async fn download(&self, url: &str) -> (u16, String, Vec<u8>) {
        let r = self.client.get(url).send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        (status, ct, r.bytes().await.unwrap().to_vec())
    }

    /// Create an account and a key with the CLI against this server's database.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_doitong"))
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database-url")
            .arg(&self.database_url)
            .output()
            .unwrap();
        assert!(out.status.success(), "doitong {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A new account with `credits` and a key for it (live unless `test`).
    pub fn account_with_key(&self, name: &str, credits: i64, test: bool) -> (String, String) {
        let id = self.cli(&["accounts", "create", "--name", name, "--plan", "pro", "--credits", &credits.to_string()]);
        let id = id.trim().to_string();
        let mut args = vec!["keys", "create", "--account", id.as_str()];
        if test {
            args.push("--test");
        }
        let key = self.cli(&args).lines().last().unwrap().trim().to_string();
        (id, key)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A real S3-compatible server on loopback: `moto_server` (installed by
/// `.ci/run`: `pip install 'moto[server]'`), one per test, stopped on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

impl S3Server {
    pub async fn start() -> S3Server {
        for _attempt in 0..5 {
            let port = free_port();
            let child = Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("moto_server is required for the S3 tests (pip install 'moto[server]'): {e}")
                });
            let mut server = S3Server { child, endpoint: format!("http://127.0.0.1:{port}") };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // the port was taken: try another
                }
                if reqwest::get(format!("{}/moto-api/", server.endpoint)).await.is_ok() {
                    return server;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("moto_server did not start");
    }

    /// Create bucket `name`.
    pub async fn create_bucket(&self, name: &str) {
        let response = reqwest::Client::new().put(format!("{}/{name}", self.endpoint)).send().await.unwrap();
        assert!(response.status().is_success(), "creating bucket {name}: {}", response.status());
    }

    /// The keys in bucket `name` (moto answers unsigned requests).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = reqwest::get(format!("{}/{bucket}?list-type=2", self.endpoint)).await.unwrap().text().await.unwrap();
        xml.split("<Key>").skip(1).map(|k| k.split("</Key>").next().unwrap().to_string()).collect()
    }

    /// Put an object directly (an orphan, as a crash would leave).
    pub async fn put(&self, bucket: &str, key: &str, body: &'static [u8]) {
        let url = format!("{}/{bucket}/{key}", self.endpoint);
        let response = reqwest::Client::new().put(url).body(body).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// `DOITONG_*` settings of a gateway keeping its artifacts in `bucket`.
    pub fn env(&self, bucket: &str) -> Vec<(String, String)> {
        [
            ("DOITONG_ARTIFACTS_STORE", "s3"),
            ("DOITONG_ARTIFACTS_S3_BUCKET", bucket),
            ("DOITONG_ARTIFACTS_S3_PREFIX", "doitong/"),
            ("DOITONG_ARTIFACTS_S3_ENDPOINT", &self.endpoint),
            ("DOITONG_ARTIFACTS_S3_REGION", "us-east-1"),
            ("DOITONG_ARTIFACTS_S3_ACCESS_KEY_ID", "test"),
            ("DOITONG_ARTIFACTS_S3_SECRET_ACCESS_KEY", "test"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of process `pid`, bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kib * 1024
}
