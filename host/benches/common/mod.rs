//! What the benchmarks share: a fresh API-only gateway in a temp dir.

use doitong_host::{Config, Gateway};

/// A fresh API-only gateway (workers off: benchmarks measure accepting
/// generations, not running them) on SQLite in a temp dir, with the
/// bundled plugins. Keep the dir alive as long as the gateway.
pub fn api_gateway(rt: &tokio::runtime::Runtime) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = toml::Table::new();
    flags.insert("data_dir".into(), toml::Value::String(dir.path().display().to_string()));
    let mut jobs = toml::Table::new();
    jobs.insert("workers".into(), toml::Value::Integer(0));
    flags.insert("jobs".into(), toml::Value::Table(jobs));
    let config = Config::load(None, Vec::new(), flags).unwrap();
    (rt.block_on(Gateway::start(config)).unwrap(), dir)
}

/// A test key on a new enterprise account (no plan limits, no credits move).
pub fn test_key(rt: &tokio::runtime::Runtime, gateway: &Gateway) -> String {
    let store = gateway.jobs().store().clone();
    rt.block_on(async {
        let account = store.create_account("bench", "enterprise", 0).await.unwrap();
        store.create_key(&account.id, true).await.unwrap().0
    })
}
