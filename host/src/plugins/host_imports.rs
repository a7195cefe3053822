//! What a plugin can call: `http.send`, `secrets.get`, `log.write`, the
//! 1.2 `context` (the call's idempotency token, the operator's non-secret
//! settings), and a WASI that grants nothing but clocks, random and
//! captured stdio.
//!
//! Every import meters what the guest pushes into the host (bytes and
//! calls) and the wall time spent on its behalf, so that the CPU budget
//! counts only guest time and a chatty guest is stopped with a clear error.
//! An import must never panic on guest input: it answers with an error
//! value, or traps with a message naming the limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::latest::{context, http, log, secrets, types};
use super::policy::HttpPolicy;
use super::{Limit, RuntimeLimits};
use crate::net::{self, NetClients};

/// Everything a plugin's calls share: identity, HTTP rules and secrets.
pub(crate) struct PluginContext {
    pub id: String,
    pub version: String,
    pub policy: HttpPolicy,
    /// Only secrets the manifest declares and the operator configured.
    pub secrets: HashMap<String, String>,
    /// The operator's non-secret settings (`[plugins.<id>] settings`).
    pub settings: HashMap<String, String>,
    pub net: NetClients,
    pub limits: RuntimeLimits,
}

/// Per-call accounting; lives in the store and dies with it.
#[derive(Default)]
pub(crate) struct CallMeter {
    pub bytes_in: u64,
    pub http_calls: u32,
    /// The limit that stopped the call, if one did.
    pub violation: Option<Limit>,
}

/// The store's data for one call.
pub(crate) struct CallState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub plugin: Arc<PluginContext>,
    pub meter: CallMeter,
    /// The generation the call serves (`context.idempotency-token`).
    pub token: Option<String>,
    /// Bytes of linear memory across every memory of the call's instances.
    pub memory_total: usize,
    /// Log lines written by this call (see [`MAX_LOG_LINES`]).
    pub log_lines: usize,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The budget is per call, across every memory of the component's core
/// instances (a component may define several), not per memory.
impl wasmtime::ResourceLimiter for CallState {
    fn memory_growing(&mut self, current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        let cap = self.plugin.limits.memory_bytes;
        let total = self.memory_total.saturating_sub(current).saturating_add(desired);
        if total > cap {
            self.meter.violation = Some(Limit::Memory(cap));
            return Err(wasmtime::format_err!(
                "memory growth to {total} bytes (all memories of the call) exceeds the {cap}-byte cap"
            ));
        }
        self.memory_total = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// Core instances (and tables) one call may create: a component made by the
/// SDK has a handful.
const MAX_INSTANCES: usize = 64;
/// Linear memories one call may create.
const MAX_MEMORIES: usize = 8;
/// Log lines one call may write; the rest are dropped after one notice.
pub const MAX_LOG_LINES: usize = 100;

/// Table elements a guest may grow to (function tables of large guests are
/// a few thousand entries).
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Longest log line kept; the rest is cut.
const MAX_LOG_LINE_BYTES: usize = 4096;

impl CallState {
    /// Charge `bytes` of guest data to the hostcall cap; trap when over.
    fn charge(&mut self, bytes: usize) -> wasmtime::Result<()> {
        self.meter.bytes_in += bytes as u64;
        let cap = self.plugin.limits.hostcall_bytes;
        if self.meter.bytes_in > cap {
            self.meter.violation = Some(Limit::HostcallData(cap));
            return Err(wasmtime::format_err!("plugin pushed more than {cap} bytes into host calls"));
        }
        Ok(())
    }
}

impl types::Host for CallState {}

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        self.meter.http_calls += 1;
        let max_calls = self.plugin.limits.http_calls_per_call;
        if self.meter.http_calls > max_calls {
            self.meter.violation = Some(Limit::HttpCalls(max_calls));
            return Err(wasmtime::format_err!("plugin made more than {max_calls} HTTP requests in one call"));
        }
        let size = request.url.len()
            + request.body.as_ref().map_or(0, Vec::len)
            + request.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>();
        self.charge(size)?;

        let plugin = self.plugin.clone();
        let result = send(&plugin, request).await;
        if let Err(http::HttpError::Denied(why)) = &result {
            tracing::warn!(plugin = %plugin.id, version = %plugin.version, "refused plugin HTTP request: {why}");
        }
        Ok(result)
    }
}

async fn send(plugin: &PluginContext, request: http::Request) -> Result<http::Response, http::HttpError> {
    let url = plugin.policy.check(&request.url).map_err(|d| http::HttpError::Denied(d.to_string()))?;
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| http::HttpError::Transport(format!("bad method {:?}", request.method)))?;
    let cap = plugin.limits.http_timeout;
    let timeout = request.timeout_ms.map_or(cap, |ms| Duration::from_millis(ms.into()).min(cap));

    let client = plugin.net.client(plugin.policy.allow_private);
    let mut builder = client.request(method, url).timeout(timeout);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let response = builder.send().await.map_err(|e| {
        if let Some(refused) = net::is_private_refusal(&e) {
            http::HttpError::Denied(format!("{refused} (set allow_private for this plugin to permit it)"))
        } else if e.is_timeout() {
            http::HttpError::Timeout
        } else {
            http::HttpError::Transport(error_chain(&e))
        }
    })?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = tokio::time::timeout(timeout, net::read_capped(response, plugin.limits.http_response_bytes))
        .await
        .map_err(|_| http::HttpError::Timeout)?
        .map_err(|e| match e {
            net::BodyError::TooLarge { cap } => http::HttpError::TooLarge(cap),
            net::BodyError::Transport(e) if e.is_timeout() => http::HttpError::Timeout,
            net::BodyError::Transport(e) => http::HttpError::Transport(error_chain(&e)),
        })?;
    Ok(http::Response { status, headers, body })
}

/// `error: cause: cause` — reqwest's top-level messages alone say little.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

impl secrets::Host for CallState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.charge(name.len())?;
        let value = self.plugin.secrets.get(&name).cloned();
        if value.is_none() {
            tracing::debug!(plugin = %self.plugin.id, secret = %name, "secret not available to plugin");
        }
        Ok(value)
    }
}

impl context::Host for CallState {
    async fn idempotency_token(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.token.clone())
    }

    async fn setting(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.charge(name.len())?;
        Ok(self.plugin.settings.get(&name).cloned())
    }
}

impl log::Host for CallState {
    async fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.charge(message.len())?;
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                let (id, version) = (&self.plugin.id, &self.plugin.version);
                tracing::warn!(plugin = %id, %version, "the call wrote {MAX_LOG_LINES} log lines; its further lines are dropped");
            }
            return Ok(());
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut cut = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (id, version) = (&self.plugin.id, &self.plugin.version);
        match level {
            log::Level::Trace => tracing::trace!(plugin = %id, %version, "{message}"),
            log::Level::Debug => tracing::debug!(plugin = %id, %version, "{message}"),
            log::Level::Info => tracing::info!(plugin = %id, %version, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %id, %version, "{message}"),
            log::Level::Error => tracing::error!(plugin = %id, %version, "{message}"),
        }
        Ok(())
    }
}
