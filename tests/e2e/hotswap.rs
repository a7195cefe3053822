//! Hot swap (issue 4): replacing a plugin under load, versions pinned by
//! running jobs, bad replacements, contract majors, and the admin surface.
//!
//! New versions of `tests/plugins/swapper` are made by patching its
//! fixed-width version marker in the `.wasm` (see that crate's docs);
//! broken components are built from WAT against the real WIT at test time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Server, ServerOptions, guest_wasm};

const MARKER: &[u8] = b"1.0.0-swap-000";

/// The swapper plugin with version `1.0.0-swap-NNN`.
pub(crate) fn swapper(n: u32) -> Vec<u8> {
    let mut wasm = guest_wasm("doitong-test-plugin-swapper");
    let at = wasm.windows(MARKER.len()).position(|w| w == MARKER).expect("version marker in the wasm");
    let version = format!("1.0.0-swap-{n:03}");
    wasm[at..at + MARKER.len()].copy_from_slice(version.as_bytes());
    wasm
}

/// Write `wasm` as `<plugins>/<name>` the way operators should: a
/// temporary file renamed into place.
fn drop_in(server: &Server, name: &str, wasm: &[u8]) {
    let dir = server.data_dir.join("plugins");
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, wasm).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

pub(crate) async fn provider_version(server: &Server, key: &str, id: &str) -> Option<String> {
    let (_, _, b) = server.post(Some(key), "{ providers { id version } }", json!({}), &[]).await;
    b["data"]["providers"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == id)
        .map(|p| p["version"].as_str().unwrap().to_string())
}

/// Wait (bounded) until `providers` shows `id` at `version` (`None`: absent).
async fn await_version(server: &Server, key: &str, id: &str, version: Option<&str>) -> Duration {
    let started = Instant::now();
    loop {
        if provider_version(server, key, id).await.as_deref() == version {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{id} never reached {version:?}:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn generate_swapper(server: &Server, key: &str, latency_ms: u64) -> Result<String, Value> {
    let (status, _, b) = server
        .post(
            Some(key),
            "mutation($l: Int!) { generate(input: { type: IMAGE, provider: \"swapper\", input: { text: \"x\" }, options: { latencyMs: $l } }) { id } }",
            json!({ "l": latency_ms }),
            &[],
        )
        .await;
    match (status, b["data"]["generate"]["id"].as_str()) {
        (200, Some(id)) => Ok(id.to_string()),
        _ => Err(b),
    }
}

pub(crate) async fn result_text(server: &Server, key: &str, id: &str) -> String {
    let g = server.wait_terminal(key, id, Duration::from_secs(60)).await;
    assert_eq!(g["status"], "COMPLETED", "{g}");
    let (_, _, bytes) = server.download(g["url"].as_str().unwrap()).await;
    String::from_utf8(bytes).unwrap()
}

pub(crate) fn enterprise_key(server: &Server) -> String {
    let id = server.cli(&["accounts", "create", "--name", "load", "--plan", "enterprise", "--credits", "1000000"]);
    server.cli(&["keys", "create", "--account", id.trim()]).trim().to_string()
}

#[tokio::test]
async fn replaced_ten_times_under_load_without_a_failed_request() {
    let server = Arc::new(
        Server::start_with(ServerOptions { plugins: vec![("swapper.wasm".into(), swapper(0))], ..Default::default() })
            .await,
    );
    let key = enterprise_key(&server);
    await_version(&server, &key, "swapper", Some("1.0.0-swap-000")).await;

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (server, key, stop, failures) = (server.clone(), key.clone(), stop.clone(), failures.clone());
        clients.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match generate_swapper(&server, &key, 400).await {
                    Ok(id) => {
                        let (status, _, b) = server
                            .post(
                                Some(&key),
                                "query($id: ID!) { generation(id: $id) { status } }",
                                json!({ "id": id }),
                                &[],
                            )
                            .await;
                        if status != 200 || b.get("errors").is_some() {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        ids.push(id);
                    }
                    Err(body) => {
                        eprintln!("failed request: {body}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            ids
        }));
    }
    for n in 1..=10 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        drop_in(&server, "swapper.wasm", &swapper(n));
        await_version(&server, &key, "swapper", Some(&format!("1.0.0-swap-{n:03}"))).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut ids = Vec::new();
    for c in clients {
        ids.extend(c.await.unwrap());
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "zero failed requests");
    assert!(ids.len() >= 20, "the clients kept generating: {}", ids.len());
    let mut versions = std::collections::BTreeSet::new();
    for id in &ids {
        versions.insert(result_text(&server, &key, id).await);
    }
    assert!(versions.len() >= 5, "jobs ran on many versions: {versions:?}");

    // A job started on one version finishes on it while the next serves.
    let slow = generate_swapper(&server, &key, 2500).await.unwrap();
    drop_in(&server, "swapper.wasm", &swapper(11));
    await_version(&server, &key, "swapper", Some("1.0.0-swap-011")).await;
    let fresh = generate_swapper(&server, &key, 0).await.unwrap();
    assert_eq!(result_text(&server, &key, &fresh).await, "swapper 1.0.0-swap-011");
    // Meanwhile the admin listing shows nothing broken.
    assert_eq!(
        result_text(&server, &key, &slow).await,
        "swapper 1.0.0-swap-010",
        "pinned to the version it started on"
    );

    // Removed, its running job still finishes; re-added, it serves again.
    let draining = generate_swapper(&server, &key, 1500).await.unwrap();
    std::fs::remove_file(server.data_dir.join("plugins/swapper.wasm")).unwrap();
    await_version(&server, &key, "swapper", None).await;
    let error = generate_swapper(&server, &key, 0).await.unwrap_err();
    assert_eq!(error["errors"][0]["extensions"]["code"], "INVALID_INPUT");
    assert_eq!(result_text(&server, &key, &draining).await, "swapper 1.0.0-swap-011");
    drop_in(&server, "swapper.wasm", &swapper(12));
    await_version(&server, &key, "swapper", Some("1.0.0-swap-012")).await;
    let again = generate_swapper(&server, &key, 0).await.unwrap();
    assert_eq!(result_text(&server, &key, &again).await, "swapper 1.0.0-swap-012");
}

/// The contract as released in 1.0.0 (frozen in tests/wit-1.0.0), with its
/// version replaced by `version`.
fn wit_source(version: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/wit-1.0.0/provider.wit");
    std::fs::read_to_string(path).unwrap().replace("@1.0.0", &format!("@{version}"))
}

/// A component whose every export traps, built from WAT against the
/// contract at `version`.
fn trapping_component(version: &str) -> Vec<u8> {
    let iface = format!("doitong:provider/provider@{version}");
    let wat = format!(
        r#"(module
            (memory (export "memory") 1)
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
            (func (export "{iface}#manifest") (result i32) unreachable)
            (func (export "{iface}#quote") (param i32) (result i32) unreachable)
            (func (export "{iface}#submit") (param i32) (result i32) unreachable)
            (func (export "{iface}#poll") (param i32 i32) (result i32) unreachable)
            (func (export "{iface}#cancel") (param i32 i32) (result i32) unreachable)
        )"#
    );
    let mut module = wat::parse_str(&wat).unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("provider.wit", &wit_source(version)).unwrap();
    let world = resolve.select_world(&[package], Some("plugin")).unwrap();
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    wit_component::ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap()
}

pub(crate) async fn admin_plugins(server: &Server) -> Vec<Value> {
    let (_, _, b) = server
        .post(
            Some("admin-token"),
            "{ plugins { id version sha256 source offerings state lastError loadedAt } }",
            json!({}),
            &[],
        )
        .await;
    b["data"]["plugins"].as_array().unwrap_or_else(|| panic!("{b}")).clone()
}

#[tokio::test]
async fn bad_replacements_leave_the_old_version_serving() {
    let server = Server::start_with(ServerOptions {
        plugins: vec![("swapper.wasm".into(), swapper(1))],
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let key = enterprise_key(&server);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("invalid manifest", guest_wasm("doitong-test-plugin-bad-manifest"), "plugin id \"Bad Id!\""),
        ("trap in manifest()", trapping_component("1.0.0"), "`manifest` crashed"),
        ("wrong contract major", trapping_component("2.0.0"), "this host supports doitong:provider@1.x"),
        ("not a component", wat::parse_str("(module)").unwrap(), "not a loadable WebAssembly component"),
    ];
    for (what, wasm, expected) in cases {
        let mut changes = 0;
        let before = admin_plugins(&server).await;
        drop_in(&server, "swapper.wasm", &wasm);
        // Await the reload: the swapper record gains this error.
        let deadline = Instant::now() + Duration::from_secs(20);
        let record = loop {
            let plugins = admin_plugins(&server).await;
            let record = plugins.iter().find(|p| p["id"] == "swapper").cloned().unwrap();
            if record["lastError"].as_str().is_some_and(|e| e.contains(expected)) {
                break record;
            }
            changes += 1;
            assert!(
                Instant::now() < deadline,
                "{what}: never reported {expected:?}: {record}\nbefore: {before:?}\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(record["state"], "LOADED", "{what}: the old version keeps serving: {record}");
        assert_eq!(record["version"], "1.0.0-swap-001", "{what}");
        assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-001"), "{what}");
        let id = generate_swapper(&server, &key, 0).await.unwrap();
        assert_eq!(result_text(&server, &key, &id).await, "swapper 1.0.0-swap-001", "{what}");
        let _ = changes;
    }
    // A good file after the bad ones clears the error.
    drop_in(&server, "swapper.wasm", &swapper(2));
    await_version(&server, &key, "swapper", Some("1.0.0-swap-002")).await;
    let record = admin_plugins(&server).await.into_iter().find(|p| p["id"] == "swapper").unwrap();
    assert!(record["lastError"].is_null(), "{record}");
    assert_eq!(record["source"], "dir");

    // The 2.0.0 refusal, offline, says what to do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.wasm");
    std::fs::write(&path, trapping_component("2.0.0")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doitong"))
        .args(["plugins", "check"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("built against doitong:provider@2.0.0") && stderr.contains("Rebuild the plugin"),
        "{stderr}"
    );
}

#[tokio::test]
async fn admin_api_and_cli_install_disable_enable_remove() {
    let mut server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let key = enterprise_key(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swapper.wasm");
    std::fs::write(&file, swapper(3)).unwrap();
    let cli = |server: &Server, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_doitong"))
            .args(args)
            .args(["--url", &server.url(""), "--admin-token", "admin-token"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let installed = cli(&server, &["plugins", "install", file.to_str().unwrap()]);
    assert!(installed.starts_with("swapper\t1.0.0-swap-003\tLOADED"), "{installed}");
    assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-003"));
    assert!(!server.data_dir.join("plugins/swapper.wasm").exists(), "kept in the database, not the directory");
    let record = admin_plugins(&server).await.into_iter().find(|p| p["id"] == "swapper").unwrap();
    assert_eq!(record["source"], "uploaded");
    assert_eq!(record["offerings"], json!(["swapper"]));
    assert_eq!(record["sha256"].as_str().unwrap().len(), 64);

    cli(&server, &["plugins", "disable", "swapper"]);
    assert_eq!(provider_version(&server, &key, "swapper").await, None, "providers shows only enabled plugins");
    assert!(generate_swapper(&server, &key, 0).await.is_err());
    let status = cli(&server, &["plugins", "status"]);
    assert!(status.contains("swapper\t1.0.0-swap-003\tDISABLED"), "{status}");
    // A runtime disable outlives a restart; so does enabling again.
    server.restart().await;
    assert_eq!(provider_version(&server, &key, "swapper").await, None, "still disabled after a restart");
    let status = cli(&server, &["plugins", "status"]);
    assert!(status.contains("swapper\t1.0.0-swap-003\tDISABLED"), "{status}");
    cli(&server, &["plugins", "enable", "swapper"]);
    assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-003"));
    server.restart().await;
    assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-003"));

    // Uploading something invalid is refused with the reason; nothing changes.
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, guest_wasm("doitong-test-plugin-bad-manifest")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doitong"))
        .args(["plugins", "install", bad.to_str().unwrap(), "--url", &server.url(""), "--admin-token", "admin-token"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bad Id!"));

    // Bundled plugins cannot be removed; installed ones can.
    let (_, _, b) =
        server.post(Some("admin-token"), "mutation { removePlugin(id: \"placeholder\") }", json!({}), &[]).await;
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("bundled"), "{b}");
    cli(&server, &["plugins", "remove", "swapper"]);
    assert_eq!(provider_version(&server, &key, "swapper").await, None);
    server.restart().await;
    assert_eq!(provider_version(&server, &key, "swapper").await, None, "still removed after a restart");
    // Account keys cannot manage plugins.
    let (_, _, b) = server.post(Some(&key), "{ plugins { id } }", json!({}), &[]).await;
    assert_eq!(b["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn a_tampered_compile_cache_entry_is_never_loaded() {
    // A cache of its own: the shared one serves the other tests.
    let own = tempfile::tempdir().unwrap();
    let cache = own.path().join("cache");
    let mut server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_CACHE_DIR".into(), cache.display().to_string())],
        ..Default::default()
    })
    .await;
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!entries.is_empty(), "compiled plugins are cached");
    // Someone who can write the cache (but not read the database) changes
    // the compiled code and recomputes a plain SHA-256 over it: the entry
    // must not be loaded, since only the host's HMAC key can sign one.
    for entry in &entries {
        let mut bytes = std::fs::read(entry).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes[32..]);
        bytes[..32].copy_from_slice(&digest);
        std::fs::write(entry, bytes).unwrap();
    }
    server.restart().await;
    assert!(server.log().contains("not signed by this host's key"), "{}", server.log());
    let (_, _, b) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: IMAGE, input: { text: \"after repair\" } }) { status } }",
            json!({}),
            &[("Prefer", "wait=60")],
        )
        .await;
    assert_eq!(b["data"]["generate"]["status"], "COMPLETED", "{b}");
}

#[tokio::test]
async fn a_plugin_built_against_contract_1_0_works_on_this_host() {
    assert!(doitong_host::plugins::CONTRACT_VERSION > semver::Version::new(1, 0, 0), "the host speaks a newer minor");
    let server = Server::start_with(ServerOptions {
        plugins: vec![("legacy.wasm".into(), guest_wasm("doitong-test-plugin-contract-1-0"))],
        ..Default::default()
    })
    .await;
    let key = enterprise_key(&server);
    assert_eq!(provider_version(&server, &key, "legacy").await.as_deref(), Some("1.0.0"), "{}", server.log());
    let (_, _, b) = server
        .post(Some(&key), "mutation { generate(input: { type: IMAGE, provider: \"legacy\", input: { text: \"still here\" } }) { id } }", json!({}), &[])
        .await;
    let id = b["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{b}")).to_string();
    assert_eq!(result_text(&server, &key, &id).await, "legacy 1.0.0: still here");
}

#[tokio::test]
async fn a_plugin_built_against_contract_1_1_works_and_its_health_check_is_called() {
    let server = Server::start_with(ServerOptions {
        plugins: vec![("legacy11.wasm".into(), guest_wasm("doitong-test-plugin-contract-1-1"))],
        env: vec![
            ("DOITONG_ADMIN_TOKEN".into(), "admin-token".into()),
            ("DOITONG_ROUTING_HEALTH_CHECK_SECS".into(), "1".into()),
            ("DOITONG_ROUTING_REFRESH_MS".into(), "100".into()),
        ],
        ..Default::default()
    })
    .await;
    let key = enterprise_key(&server);
    assert_eq!(provider_version(&server, &key, "legacy-1-1").await.as_deref(), Some("1.1.0"), "{}", server.log());
    let (_, _, b) = server
        .post(Some(&key), "mutation { generate(input: { type: IMAGE, provider: \"legacy-1-1\", input: { text: \"one more\" } }) { id } }", json!({}), &[])
        .await;
    let id = b["data"]["generate"]["id"].as_str().unwrap_or_else(|| panic!("{b}")).to_string();
    assert_eq!(result_text(&server, &key, &id).await, "legacy 1.1.0: one more");
    let plugins = admin_plugins_with_capabilities(&server).await;
    let legacy = plugins.iter().find(|p| p["id"] == "legacy-1-1").unwrap();
    assert_eq!(legacy["capabilities"], json!(["health"]));
    // Its 1.1 health export answers a failure in the 1.1 shape; the host
    // calls it and the offering's health shows it.
    let query = "{ providers(type: IMAGE) { id health { state consecutiveFailures lastError { code message } } } }";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, b) = server.post(Some(&key), query, json!({}), &[]).await;
        let providers = b["data"]["providers"].as_array().unwrap_or_else(|| panic!("{b}")).clone();
        let health = providers.iter().find(|p| p["id"] == "legacy-1-1").unwrap()["health"].clone();
        if health["lastError"]["message"].as_str().is_some_and(|m| m.contains("legacy 1.1 health check: vendor down")) {
            assert_eq!(health["lastError"]["code"], "PROVIDER_UNAVAILABLE", "{health}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the health check never reported: {health}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn optional_interfaces_are_probed_by_name() {
    let server = Server::start_with(ServerOptions {
        plugins: vec![("legacy.wasm".into(), guest_wasm("doitong-test-plugin-contract-1-0"))],
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let plugins = admin_plugins_with_capabilities(&server).await;
    let legacy = plugins.iter().find(|p| p["id"] == "legacy").unwrap();
    assert_eq!(legacy["capabilities"], json!([]), "a 1.0 plugin has no 1.1 interfaces");
    assert_eq!(legacy["state"], "LOADED");
}

async fn admin_plugins_with_capabilities(server: &Server) -> Vec<Value> {
    let (_, _, b) = server.post(Some("admin-token"), "{ plugins { id state capabilities } }", json!({}), &[]).await;
    b["data"]["plugins"].as_array().unwrap_or_else(|| panic!("{b}")).clone()
}

#[tokio::test]
async fn a_directory_plugin_overrides_the_bundled_one_until_removed() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let placeholder = |plugins: &[Value]| plugins.iter().find(|p| p["id"] == "placeholder").cloned().unwrap();
    let bundled = placeholder(&admin_plugins(&server).await);
    assert_eq!(bundled["source"], "bundled");
    // The same plugin with one extra custom section: a new file, a new sha256.
    let mut wasm = guest_wasm("doitong-plugin-placeholder");
    wasm.extend_from_slice(&[0, 4, 1, b'x', b'4', b'2']);
    drop_in(&server, "placeholder.wasm", &wasm);
    let deadline = Instant::now() + Duration::from_secs(20);
    let overriding = loop {
        let p = placeholder(&admin_plugins(&server).await);
        if p["source"] == "dir" {
            break p;
        }
        assert!(Instant::now() < deadline, "{p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(overriding["sha256"], bundled["sha256"]);
    std::fs::remove_file(server.data_dir.join("plugins/placeholder.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = placeholder(&admin_plugins(&server).await);
        if p["source"] == "bundled" {
            assert_eq!(p["sha256"], bundled["sha256"]);
            break;
        }
        assert!(Instant::now() < deadline, "{p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, _, b) = server
        .post(
            Some(&server.key),
            "mutation { generate(input: { type: AUDIO, input: { text: \"back\" } }) { status } }",
            json!({}),
            &[("Prefer", "wait=60")],
        )
        .await;
    assert_eq!(b["data"]["generate"]["status"], "COMPLETED", "{b}");
}

/// `wasm` grown to at least `size` bytes with a custom section (ignored by
/// the loader), so that reading it shows in `/proc/<pid>/io`.
fn padded(mut wasm: Vec<u8>, size: usize) -> Vec<u8> {
    let pad = size.saturating_sub(wasm.len());
    let name = b"padding";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.resize(payload.len() + pad, 0);
    wasm.push(0); // custom section id
    let mut len = payload.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        wasm.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    wasm.extend_from_slice(&payload);
    wasm
}

#[tokio::test]
async fn a_dropped_plugin_is_read_once_and_a_broken_one_reported_once() {
    let server = Server::start_with(ServerOptions {
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let wasm = padded(swapper(7), 4 << 20);
    drop_in(&server, "swapper.wasm", &wasm);
    drop_in(&server, "broken.wasm", b"\0asm not really");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let plugins = admin_plugins(&server).await;
        let loaded = plugins.iter().any(|p| p["id"] == "swapper" && p["version"] == "1.0.0-swap-007");
        let broken = plugins.iter().any(|p| p["id"] == "broken.wasm" && p["state"] == "FAILED");
        if loaded && broken {
            break;
        }
        assert!(Instant::now() < deadline, "plugins never loaded: {plugins:?}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = server.bytes_read();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let read = server.bytes_read() - before;
    // An idle server reads a little (its database, the health checks); a
    // single re-read of the plugin would be 4 MiB.
    assert!(read < (wasm.len() / 4) as u64, "read {read} bytes in 10 s while idle");
    let log = server.log();
    let reports = log.lines().filter(|l| l.contains("failed to load") && l.contains("broken.wasm")).count();
    assert_eq!(reports, 1, "a broken file is reported once per change:\n{log}");

    // A change is a change: fixing the file loads it.
    drop_in(&server, "broken.wasm", &swapper(8));
    let key = enterprise_key(&server);
    await_version(&server, &key, "swapper", Some("1.0.0-swap-008")).await;
}

/// The swapper with plugin id `id` (at most 14 characters), still declaring
/// the `swapper` offering.
fn swapper_as(id: &str) -> Vec<u8> {
    const ID_MARKER: &[u8] = b"swapper#######";
    let mut wasm = swapper(1);
    let at = wasm.windows(ID_MARKER.len()).position(|w| w == ID_MARKER).expect("id marker in the wasm");
    let padded = format!("{id:#<14}");
    wasm[at..at + ID_MARKER.len()].copy_from_slice(padded.as_bytes());
    wasm
}

/// Two plugins declaring one offering id: the second is refused with both
/// names (it would otherwise take the first's requests, prompts included,
/// when its id sorts first), through the directory and the admin API alike.
#[tokio::test]
async fn a_plugin_declaring_another_plugins_offering_is_refused() {
    let server = Server::start_with(ServerOptions {
        plugins: vec![("swapper.wasm".into(), swapper(1))],
        env: vec![("DOITONG_ADMIN_TOKEN".into(), "admin-token".into())],
        ..Default::default()
    })
    .await;
    let key = enterprise_key(&server);
    let expected = "plugin `aaa` declares offering `swapper`, which plugin `swapper` already serves";
    drop_in(&server, "aaa.wasm", &swapper_as("aaa"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let plugins = admin_plugins(&server).await;
        if let Some(aaa) = plugins.iter().find(|p| p["id"] == "aaa") {
            assert_eq!(aaa["state"], "FAILED", "{aaa}");
            assert!(aaa["lastError"].as_str().unwrap().contains(expected), "{aaa}");
            break;
        }
        assert!(Instant::now() < deadline, "never refused: {plugins:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wasm = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, swapper_as("aab"));
    let (_, _, body) = server
        .post(
            Some("admin-token"),
            "mutation($w: String!) { installPlugin(wasmBase64: $w) { id } }",
            json!({ "w": wasm }),
            &[],
        )
        .await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("`aab` declares offering `swapper`"), "{body}");
    // The swapper still serves its own offering.
    let id = generate_swapper(&server, &key, 0).await.unwrap();
    assert!(result_text(&server, &key, &id).await.contains("1.0.0-swap-001"));
}

/// An operator can pin a plugin id to the code they reviewed
/// (`[plugins.<id>] sha256`): a file with other code declaring that id is
/// refused before it is given secrets or requests, and the pinned version
/// keeps serving; adding the new hash to the pin lets the swap through.
#[tokio::test]
async fn a_pinned_plugin_is_not_replaced_by_other_code() {
    let hash = |wasm: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(wasm));
    let (v1, v2) = (swapper(1), swapper(2));
    let server = Server::start_with(ServerOptions {
        plugins: vec![("swapper.wasm".into(), v1.clone())],
        env: vec![
            ("DOITONG_ADMIN_TOKEN".into(), "admin-token".into()),
            ("DOITONG_PLUGINS_SWAPPER_SHA256".into(), hash(&v1)),
        ],
        ..Default::default()
    })
    .await;
    let key = enterprise_key(&server);
    assert_eq!(provider_version(&server, &key, "swapper").await.as_deref(), Some("1.0.0-swap-001"));

    drop_in(&server, "swapper.wasm", &v2);
    let expected = format!("this file's sha256 is {}, not one the operator pinned for `swapper`", hash(&v2));
    let deadline = Instant::now() + Duration::from_secs(20);
    let record = loop {
        let plugins = admin_plugins(&server).await;
        let record = plugins.iter().find(|p| p["id"] == "swapper").cloned().unwrap();
        if record["lastError"].as_str().is_some_and(|e| e.contains(&expected)) {
            break record;
        }
        assert!(Instant::now() < deadline, "never refused: {record}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(record["state"], "LOADED", "the pinned version keeps serving: {record}");
    assert_eq!(record["version"], "1.0.0-swap-001");
    let id = generate_swapper(&server, &key, 0).await.unwrap();
    assert_eq!(result_text(&server, &key, &id).await, "swapper 1.0.0-swap-001");

    // A pin naming both lets the new code in.
    let mut server = server;
    server.options.env.retain(|(k, _)| k != "DOITONG_PLUGINS_SWAPPER_SHA256");
    server.options.env.push(("DOITONG_PLUGINS_SWAPPER_SHA256".into(), format!("{},{}", hash(&v1), hash(&v2))));
    server.restart().await;
    await_version(&server, &key, "swapper", Some("1.0.0-swap-002")).await;
}
