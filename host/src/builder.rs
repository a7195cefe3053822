//! [`GatewayBuilder`]: the typed way for an embedding application to
//! configure and start a [`Gateway`].
//!
//! It sets the same [`Config`] the binary reads from `doitong.toml`,
//! `DOITONG_*` variables and flags — nothing here is builder-only — so a
//! setting documented for the server works the same when embedded. This
//! module must never read the process environment: an embedding
//! application decides what its gateway sees ([`GatewayBuilder::from_env`]
//! is the explicit opt-in).

use std::path::PathBuf;

use crate::config::{Config, ConfigError, PlanOverride};
use crate::gateway::{Gateway, StartError};

/// Configures a [`Gateway`]; [`GatewayBuilder::start`] runs it.
#[derive(Debug, Clone, Default)]
pub struct GatewayBuilder {
    config: Config,
}

impl GatewayBuilder {
    /// The defaults of `doitong serve` with no flags (data in `./data`,
    /// SQLite there, bundled plugins, the job workers running).
    pub fn new() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    /// Start from a complete configuration (e.g. [`Config::load`]).
    pub fn from_config(config: Config) -> GatewayBuilder {
        GatewayBuilder { config }
    }

    /// Start from `file` (if any) and this process's `DOITONG_*` variables,
    /// exactly as the binary does.
    pub fn from_env(file: Option<&std::path::Path>) -> Result<GatewayBuilder, ConfigError> {
        Ok(GatewayBuilder { config: Config::load(file, std::env::vars(), toml::Table::new())? })
    }

    /// State directory: SQLite database, artifacts, plugins, compile cache.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.data_dir = dir.into();
        self
    }

    /// `sqlite://…` or `postgres://…` (default: SQLite in the data directory).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.config.database_url = url.into();
        self
    }

    /// Base of the signed artifact URLs the API returns, including any path
    /// prefix the gateway is mounted under (e.g. `https://app.example/ai`).
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.config.public_url = url.into();
        self
    }

    /// Share rate-limit counters through Redis.
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.config.redis_url = url.into();
        self
    }

    /// Enable the admin API with this token.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.config.admin_token = token.into();
        self
    }

    /// Load the plugins compiled into this crate (default true).
    pub fn bundled_plugins(mut self, on: bool) -> Self {
        self.config.bundled_plugins = on;
        self
    }

    /// Job workers in this process; 0 makes an API-only node.
    pub fn workers(mut self, workers: usize) -> Self {
        self.config.jobs.workers = workers;
        self
    }

    /// A secret for plugin `plugin` (e.g. `("kling", "access_key", …)`).
    pub fn plugin_secret(mut self, plugin: &str, name: &str, value: impl Into<String>) -> Self {
        self.config.plugins.entry(plugin.to_string()).or_default().secrets.insert(name.to_string(), value.into());
        self
    }

    /// Point plugin `plugin` at another origin (a mock, a region, a
    /// self-hosted vendor); `allow_private` lets it reach loopback/private
    /// addresses.
    pub fn plugin_base_url(mut self, plugin: &str, base_url: impl Into<String>, allow_private: bool) -> Self {
        let entry = self.config.plugins.entry(plugin.to_string()).or_default();
        entry.base_url = Some(base_url.into());
        entry.allow_private = allow_private;
        self
    }

    /// Override a plan's limits (`free`, `starter`, `pro`, `enterprise`).
    pub fn plan(mut self, name: &str, limits: PlanOverride) -> Self {
        self.config.plans.insert(name.to_string(), limits);
        self
    }

    /// Any other setting, on the configuration itself.
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// The configuration as it stands.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Open the store, load plugins and start the workers.
    pub async fn start(self) -> Result<Gateway, StartError> {
        Gateway::start(self.config).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_land_where_the_server_reads_them() {
        let builder = GatewayBuilder::new()
            .data_dir("/tmp/x")
            .plugin_secret("kling", "access_key", "ak")
            .plugin_base_url("kling", "http://127.0.0.1:9", true)
            .plan("free", PlanOverride { rpm: Some(99), ..Default::default() })
            .workers(0);
        let config = builder.config();
        let settings = config.plugin_settings("kling");
        assert_eq!(settings.secrets.get("access_key").map(String::as_str), Some("ak"));
        assert_eq!(settings.base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert!(settings.allow_private);
        assert_eq!(config.plan_limits("free").unwrap().rpm, Some(99));
        assert_eq!(config.jobs.workers, 0);
    }
}
