//! Start-up and hot-swap benchmark: how long `Gateway::start` takes with
//! the bundled plugins from a cold compile cache and a warm one, and how
//! long a plugin file written into the plugins directory takes to serve
//! (file renamed into place → new version visible in the registry).
//!
//! `cargo bench -p doitong-host --bench swap`. Bounded: a fixed number of
//! starts and swaps.

use std::time::{Duration, Instant};

use doitong_host::{Config, Gateway};

const STARTS: usize = 5;
const SWAPS: usize = 20;

fn config(dir: &std::path::Path) -> Config {
    let mut flags = toml::Table::new();
    flags.insert("data_dir".into(), toml::Value::String(dir.display().to_string()));
    let mut jobs = toml::Table::new();
    jobs.insert("workers".into(), toml::Value::Integer(0));
    flags.insert("jobs".into(), toml::Value::Table(jobs));
    Config::load(None, Vec::new(), flags).unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The placeholder with one byte of a custom section changed per version,
/// so each file has a new sha256 (a new version as far as the registry is
/// concerned) without recompiling.
fn variant(base: &[u8], n: usize) -> Vec<u8> {
    let mut wasm = base.to_vec();
    // A custom section appended at the end: id 0, size, name "v", payload.
    let payload = format!("{n:08}");
    let mut section = vec![0u8, (2 + payload.len()) as u8, 1, b'v'];
    section.extend_from_slice(payload.as_bytes());
    wasm.extend_from_slice(&section);
    wasm
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        for _ in 0..STARTS {
            let dir = tempfile::tempdir().unwrap();
            let t = Instant::now();
            let g = Gateway::start(config(dir.path())).await.unwrap();
            cold.push(t.elapsed());
            g.shutdown().await;
            let t = Instant::now();
            let g = Gateway::start(config(dir.path())).await.unwrap();
            warm.push(t.elapsed());
            g.shutdown().await;
        }
        println!(
            "start-up with the bundled plugins ({} of them):",
            doitong_host::gateway::bundled::BUNDLED_PLUGINS.len()
        );
        println!("  cold compile cache  median {:>8.1} ms", median(cold).as_secs_f64() * 1e3);
        println!("  warm compile cache  median {:>8.1} ms", median(warm).as_secs_f64() * 1e3);

        let dir = tempfile::tempdir().unwrap();
        let gateway = Gateway::start(config(dir.path())).await.unwrap();
        let registry = gateway.jobs().registry().clone();
        let base = doitong_host::gateway::bundled::plugin("placeholder").expect("placeholder is bundled");
        let plugins = dir.path().join("plugins");
        let mut swaps = Vec::new();
        for n in 0..SWAPS {
            let wasm = variant(base, n);
            let sha = hex_sha(&wasm);
            let tmp = plugins.join(".swap.tmp");
            std::fs::write(&tmp, &wasm).unwrap();
            let mut changes = registry.changes();
            let t = Instant::now();
            std::fs::rename(&tmp, plugins.join("placeholder.wasm")).unwrap();
            loop {
                let serving = registry.snapshot().plugins.get("placeholder").and_then(|r| r.plugin.clone());
                if serving.is_some_and(|p| p.sha256() == sha) {
                    break;
                }
                tokio::time::timeout(Duration::from_secs(10), changes.changed())
                    .await
                    .expect("swap within 10 s")
                    .unwrap();
            }
            swaps.push(t.elapsed());
        }
        let mut sorted = swaps.clone();
        sorted.sort();
        println!("hot swap (file renamed into place -> new version serving), {SWAPS} swaps:");
        println!(
            "  median {:>8.1} ms   max {:>8.1} ms   (includes the {} ms debounce)",
            median(swaps).as_secs_f64() * 1e3,
            sorted.last().unwrap().as_secs_f64() * 1e3,
            doitong_host::plugins::watcher::RELOAD_DEBOUNCE_DURATION.as_millis()
        );
        gateway.shutdown().await;
    });
}

fn hex_sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
