//! Loading plugins and calling them inside the sandbox.
//!
//! One [`PluginRuntime`] holds the engine, the linker (WASI with nothing
//! granted, plus the contract's imports) and the instance-slot semaphore.
//! Loading compiles (through the on-disk cache), checks the contract
//! version, pre-instantiates once, calls `manifest()` and validates it.
//!
//! Every call gets a fresh `Store` and instance that are dropped after it:
//! a trap can never poison a later call, and no state leaks between
//! requests (plugins keep state in task handles). Each call runs under the
//! limits of [`RuntimeLimits`]; a call that breaks one returns a
//! [`PluginError`] naming the plugin, the export and the limit, and the
//! host carries on.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Instance, Linker, ResourceTable, types::ComponentItem};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::bindings::{latest, v1_1};
use super::cache::{CacheKey, CacheOutcome, CompileCache};
use super::call_metrics::CallMetrics;
use super::cpu_meter::{CpuMeter, Metered};
use super::engine::{self, EngineHandle};
use super::host_imports::{CallMeter, CallState, PluginContext};
use super::policy::HttpPolicy;
use super::{
    CONTRACT_PACKAGE, CONTRACT_VERSION, CancelOutcome, Failure, JobRequest, Limit, Manifest, PluginError, Progress,
    Quote, RuntimeLimits, Submitted, convert, validate_manifest,
};
use crate::net::NetClients;

/// Epoch ticks between CPU-budget checks (with 10 ms ticks: every 50 ms).
const CPU_CHECK_TICKS: u64 = 5;
/// Guest stdout/stderr kept per call for logs and crash messages.
const STDIO_CAPTURE_BYTES: usize = 64 << 10;
/// Tail of stderr quoted in a crash message.
const STDERR_TAIL_CHARS: usize = 600;

/// Operator settings for one plugin (`[plugins.<id>]` in the config).
#[derive(Debug, Clone, Default)]
pub struct PluginSettings {
    /// Replaces the plugin's vendor origin (see [`super::policy`]).
    pub base_url: Option<String>,
    /// Narrows the manifest's allowed hosts when set.
    pub allowed_hosts: Option<Vec<String>>,
    /// Let the plugin reach private and loopback addresses.
    pub allow_private: bool,
    /// Secret values by name; only names the manifest declares are exposed.
    pub secrets: HashMap<String, String>,
    /// Non-secret settings by name (contract 1.2 `context.setting`), e.g.
    /// `model.<offering>` to replace a vendor model id.
    pub settings: HashMap<String, String>,
    /// The SHA-256s (lowercase hex) the operator allows for this plugin
    /// id; a file with another is refused before it gets secrets. Empty:
    /// any.
    pub sha256: Vec<String>,
}

struct RuntimeInner {
    engine: EngineHandle,
    linker: Linker<CallState>,
    net: NetClients,
    limits: RuntimeLimits,
    cache: Option<CompileCache>,
    /// One permit per pooled instance slot.
    slots: Semaphore,
    /// Every call, counted and timed.
    calls: CallMetrics,
}

/// The sandbox: load plugins and call them. Cheap to clone.
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<RuntimeInner>,
}

/// Why the runtime itself could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the plugin runtime: {0}")]
pub struct RuntimeInitError(String);

impl PluginRuntime {
    /// A runtime with `limits`, caching compiled plugins where `cache`
    /// says (entries signed with its secret) when given.
    pub fn new(limits: RuntimeLimits, cache: Option<CacheKey>) -> Result<PluginRuntime, RuntimeInitError> {
        let err = |e: &dyn std::fmt::Display| RuntimeInitError(e.to_string());
        let engine = engine::build(&limits).map_err(|e| err(&e))?;
        let mut linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| err(&e))?;
        // The newest contract's imports serve every plugin: 1.0/1.1 imports
        // are the same interfaces under older semver names.
        latest::Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s).map_err(|e| err(&e))?;
        let cache = cache.map(|key| CompileCache::new(key, &engine.engine));
        let net = NetClients::new().map_err(|e| err(&e))?;
        let slots = Semaphore::new(limits.max_concurrent_calls.max(1) as usize);
        let calls = CallMetrics::default();
        Ok(PluginRuntime { inner: Arc::new(RuntimeInner { engine, linker, net, limits, cache, slots, calls }) })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &RuntimeLimits {
        &self.inner.limits
    }

    /// Whether instances come from the pooling allocator.
    pub fn pooled(&self) -> bool {
        self.inner.engine.pooled
    }

    /// The shared outbound HTTP clients (also used for artifact downloads).
    pub fn net(&self) -> &NetClients {
        &self.inner.net
    }

    /// Counts and latencies of every plugin call, to register in a
    /// Prometheus registry ([`CallMetrics::register`]).
    pub fn call_metrics(&self) -> &CallMetrics {
        &self.inner.calls
    }

    /// Load a plugin from its `.wasm` bytes. `origin` names it in errors
    /// (a file name, or "uploaded plugin").
    ///
    /// Fails with [`PluginError::NotAComponent`], `IncompatibleContract`,
    /// `Link`, `InvalidManifest`, `Settings`, or a call error from
    /// `manifest()` itself.
    pub async fn load(
        &self,
        origin: &str,
        wasm: &[u8],
        settings: &PluginSettings,
    ) -> Result<LoadedPlugin, PluginError> {
        self.load_with(origin, wasm, &|_: &str| settings.clone()).await
    }

    /// Like [`PluginRuntime::load`], with settings looked up by the plugin id
    /// the manifest declares (operator config is keyed by it).
    pub async fn load_with(
        &self,
        origin: &str,
        wasm: &[u8],
        settings_for: &(dyn Fn(&str) -> PluginSettings + Sync),
    ) -> Result<LoadedPlugin, PluginError> {
        let sha256 = hex::encode(Sha256::digest(wasm));
        let bytes: Arc<[u8]> = Arc::from(wasm);
        let component = self.compile(origin, bytes.clone(), sha256.clone()).await?;
        let contract = check_contract(origin, &component, &self.inner.engine.engine)?;
        let (capabilities, health_export) = optional_interfaces(&component, &self.inner.engine.engine);
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Link { origin: origin.to_string(), reason: format!("{e:#}") })?;
        let incompatible = |e: wasmtime::Error| PluginError::IncompatibleContract {
            origin: origin.to_string(),
            reason: format!("does not export the provider interface of contract {contract}: {e:#}"),
        };
        let pre = if contract.minor >= 2 {
            ContractPre::Latest(latest::PluginPre::new(pre).map_err(incompatible)?)
        } else {
            ContractPre::V1_1(v1_1::PluginPre::new(pre).map_err(incompatible)?)
        };

        // First call: the manifest, with no secrets and no network.
        let bootstrap = Arc::new(PluginContext {
            id: origin.to_string(),
            version: "?".into(),
            policy: HttpPolicy::new(&[], None, Some(&[]), false).expect("empty policy is valid"),
            secrets: HashMap::new(),
            settings: HashMap::new(),
            net: self.inner.net.clone(),
            limits: self.inner.limits.clone(),
        });
        let probe =
            LoadedPlugin::assemble(self.inner.clone(), pre.clone(), bootstrap, None, sha256.clone(), bytes.clone());
        let manifest = probe.manifest().await?;
        let version = validate_manifest(&manifest)
            .map_err(|error| PluginError::InvalidManifest { origin: origin.to_string(), error })?;

        let settings = settings_for(&manifest.id);
        if !settings.sha256.is_empty() && !settings.sha256.contains(&sha256) {
            return Err(PluginError::NotPinned {
                plugin: manifest.id.clone(),
                sha256,
                pinned: settings.sha256.clone(),
            });
        }
        let policy = HttpPolicy::new(
            &manifest.allowed_hosts,
            settings.base_url.as_deref(),
            settings.allowed_hosts.as_deref(),
            settings.allow_private,
        )
        .map_err(|reason| PluginError::Settings { plugin: manifest.id.clone(), reason })?;
        let secrets = settings
            .secrets
            .iter()
            .filter(|(name, _)| manifest.secrets.contains(name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let context = Arc::new(PluginContext {
            id: manifest.id.clone(),
            version: version.to_string(),
            policy,
            secrets,
            settings: settings.settings.clone(),
            net: self.inner.net.clone(),
            limits: self.inner.limits.clone(),
        });
        let mut plugin =
            LoadedPlugin::assemble(self.inner.clone(), pre, context, Some((manifest, version)), sha256, bytes);
        let inner = Arc::get_mut(&mut plugin.inner).expect("not shared yet");
        inner.capabilities = capabilities;
        inner.health_export = health_export;
        inner.contract = contract;
        Ok(plugin)
    }

    async fn compile(&self, origin: &str, wasm: Arc<[u8]>, sha256: String) -> Result<Component, PluginError> {
        let inner = self.inner.clone();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || match &inner.cache {
            Some(cache) => cache.load_or_compile(&inner.engine.engine, &wasm, &sha256),
            None => Component::new(&inner.engine.engine, &wasm).map(|c| (c, CacheOutcome::Miss)),
        })
        .await
        .map_err(|e| PluginError::NotAComponent { origin: origin.to_string(), reason: e.to_string() })?;
        match result {
            Ok((component, outcome)) => {
                tracing::debug!(origin, ?outcome, elapsed_ms = started.elapsed().as_millis() as u64, "plugin compiled");
                Ok(component)
            }
            Err(e) => Err(PluginError::NotAComponent { origin: origin.to_string(), reason: format!("{e:#}") }),
        }
    }
}

/// Check the component exports `doitong:provider/provider@1.x` with a
/// minor this host supports; returns that version.
fn check_contract(
    origin: &str,
    component: &Component,
    engine: &wasmtime::Engine,
) -> Result<semver::Version, PluginError> {
    let prefix = format!("{CONTRACT_PACKAGE}/provider@");
    let ty = component.component_type();
    let found: Vec<String> = ty
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string())
        .collect();
    let incompatible = |reason: String| PluginError::IncompatibleContract { origin: origin.to_string(), reason };
    let Some(export) = found.iter().find(|name| name.starts_with(&prefix)) else {
        return Err(incompatible(format!(
            "does not export {prefix}{CONTRACT_VERSION} (exports: {})",
            if found.is_empty() { "nothing".to_string() } else { found.join(", ") }
        )));
    };
    let version = semver::Version::parse(&export[prefix.len()..])
        .map_err(|e| incompatible(format!("export {export} has no valid version: {e}")))?;
    if version.major != CONTRACT_VERSION.major {
        return Err(incompatible(format!(
            "built against {CONTRACT_PACKAGE}@{version}; this host supports {CONTRACT_PACKAGE}@{}.x (up to {CONTRACT_VERSION}). Rebuild the plugin with a plugin SDK for contract {}.x",
            CONTRACT_VERSION.major, CONTRACT_VERSION.major
        )));
    }
    if version.minor > CONTRACT_VERSION.minor {
        return Err(incompatible(format!(
            "built against {CONTRACT_PACKAGE}@{version}, newer than this host's {CONTRACT_VERSION}; upgrade the host"
        )));
    }
    Ok(version)
}

/// Optional interfaces a plugin may export, probed by name at load time:
/// (interface, contract minor that introduced it).
const OPTIONAL_INTERFACES: &[(&str, u64)] = &[("health", 1)];

/// The optional interfaces `component` exports in a compatible version,
/// and the full export name of its `health` interface if it has one.
fn optional_interfaces(component: &Component, engine: &wasmtime::Engine) -> (Vec<String>, Option<String>) {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    let found = |name: &str, minor: u64| {
        let prefix = format!("{CONTRACT_PACKAGE}/{name}@");
        exports
            .iter()
            .find(|e| {
                e.strip_prefix(&prefix)
                    .and_then(|v| semver::Version::parse(v).ok())
                    .is_some_and(|v| v.major == CONTRACT_VERSION.major && v.minor >= minor)
            })
            .cloned()
    };
    let capabilities =
        OPTIONAL_INTERFACES.iter().filter(|(name, minor)| found(name, *minor).is_some()).map(|(n, _)| n.to_string());
    (capabilities.collect(), found("health", 1))
}

/// A plugin version pre-instantiated against the contract shape it was
/// built for.
#[derive(Clone)]
enum ContractPre {
    Latest(latest::PluginPre<CallState>),
    V1_1(v1_1::PluginPre<CallState>),
}

/// A job request converted for one contract shape.
enum ContractRequest {
    Latest(latest::types::JobRequest),
    V1_1(v1_1::types::JobRequest),
}

/// One call's instance, bound to its contract shape.
enum Bound {
    Latest(latest::Plugin),
    V1_1(v1_1::Plugin),
}

impl ContractPre {
    async fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<(Bound, Instance)> {
        Ok(match self {
            ContractPre::Latest(pre) => {
                let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                (Bound::Latest(latest::Plugin::new(&mut *store, &instance)?), instance)
            }
            ContractPre::V1_1(pre) => {
                let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                (Bound::V1_1(v1_1::Plugin::new(&mut *store, &instance)?), instance)
            }
        })
    }
}

/// Call `health.check` through the instance's export `export` (its name
/// carries the plugin's contract version), lifting the failure of that
/// contract's shape.
async fn call_health(
    store: &mut Store<CallState>,
    bound: &Bound,
    instance: &Instance,
    export: &str,
) -> wasmtime::Result<Result<(), Failure>> {
    let interface = instance
        .get_export_index(&mut *store, None, export)
        .ok_or_else(|| wasmtime::format_err!("no export {export}"))?;
    let check = instance
        .get_export_index(&mut *store, Some(&interface), "check")
        .ok_or_else(|| wasmtime::format_err!("{export} has no `check`"))?;
    Ok(match bound {
        Bound::Latest(_) => {
            let func = instance.get_typed_func::<(), (Result<(), latest::types::Failure>,)>(&mut *store, check)?;
            let (result,) = func.call_async(&mut *store, ()).await?;
            result.map_err(convert::latest::failure)
        }
        Bound::V1_1(_) => {
            let func = instance.get_typed_func::<(), (Result<(), v1_1::types::Failure>,)>(&mut *store, check)?;
            let (result,) = func.call_async(&mut *store, ()).await?;
            result.map_err(convert::v1_1::failure)
        }
    })
}

struct LoadedInner {
    /// Optional interfaces of newer contract minors the plugin exports.
    capabilities: Vec<String>,
    /// The full name of its `health` export, if any.
    health_export: Option<String>,
    /// The contract version the plugin was built against.
    contract: semver::Version,
    runtime: Arc<RuntimeInner>,
    pre: ContractPre,
    context: Arc<PluginContext>,
    manifest: Option<(Manifest, semver::Version)>,
    sha256: String,
    /// The component as loaded, kept so the version can be stored in the
    /// database (other nodes, restarts, jobs pinned to it).
    wasm: Arc<[u8]>,
}

/// A loaded, validated plugin version. Cheap to clone; the compiled code
/// lives as long as any clone (jobs started on a version keep it alive).
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<LoadedInner>,
}

type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

impl LoadedPlugin {
    fn assemble(
        runtime: Arc<RuntimeInner>,
        pre: ContractPre,
        context: Arc<PluginContext>,
        manifest: Option<(Manifest, semver::Version)>,
        sha256: String,
        wasm: Arc<[u8]>,
    ) -> LoadedPlugin {
        LoadedPlugin {
            inner: Arc::new(LoadedInner {
                wasm,
                capabilities: Vec::new(),
                health_export: None,
                contract: CONTRACT_VERSION,
                runtime,
                pre,
                context,
                manifest,
                sha256,
            }),
        }
    }

    /// The component's bytes, as loaded.
    pub fn wasm(&self) -> &[u8] {
        &self.inner.wasm
    }

    /// The contract version the plugin was built against (its `provider`
    /// export's version).
    pub fn contract(&self) -> &semver::Version {
        &self.inner.contract
    }

    /// The validated manifest read at load time.
    pub fn manifest_info(&self) -> &Manifest {
        &self.inner.manifest.as_ref().expect("loaded plugins carry their manifest").0
    }

    /// Plugin id.
    pub fn id(&self) -> &str {
        &self.manifest_info().id
    }

    /// Plugin version.
    pub fn version(&self) -> &semver::Version {
        &self.inner.manifest.as_ref().expect("loaded plugins carry their manifest").1
    }

    /// SHA-256 of the `.wasm`, hex.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Optional interfaces (added by contract minors after 1.0) that the
    /// plugin exports, e.g. `health`; plugins built against 1.0 have none.
    pub fn capabilities(&self) -> &[String] {
        &self.inner.capabilities
    }

    /// The HTTP rules this plugin runs under (also applied to result downloads).
    pub fn http_policy(&self) -> &HttpPolicy {
        &self.inner.context.policy
    }

    /// Whether every secret the manifest declares was configured.
    /// Returns the missing names.
    pub fn missing_secrets(&self) -> Vec<String> {
        self.manifest_info()
            .secrets
            .iter()
            .filter(|name| self.inner.context.secrets.get(*name).is_none_or(|v| v.is_empty()))
            .cloned()
            .collect()
    }

    /// Call `manifest()` again.
    pub async fn manifest(&self) -> Result<Manifest, PluginError> {
        self.call("manifest", None, |store, p, _| {
            Box::pin(async move {
                Ok(match p {
                    Bound::Latest(p) => {
                        convert::latest::manifest(p.doitong_provider_provider().call_manifest(store).await?)
                    }
                    Bound::V1_1(p) => {
                        convert::v1_1::manifest(p.doitong_provider_provider().call_manifest(store).await?)
                    }
                })
            })
        })
        .await
    }

    /// Price a validated request.
    pub async fn quote(&self, request: &JobRequest) -> Result<Result<Quote, Failure>, PluginError> {
        let request = self.request_for_contract(request);
        self.call("quote", None, move |store, p, _| {
            Box::pin(async move {
                Ok(match (p, &request) {
                    (Bound::Latest(p), ContractRequest::Latest(r)) => {
                        let result = p.doitong_provider_provider().call_quote(store, r).await?;
                        result.map(convert::latest::quote).map_err(convert::latest::failure)
                    }
                    (Bound::V1_1(p), ContractRequest::V1_1(r)) => {
                        let result = p.doitong_provider_provider().call_quote(store, r).await?;
                        result.map(convert::v1_1::quote).map_err(convert::v1_1::failure)
                    }
                    _ => unreachable!("a request is converted for its plugin's contract"),
                })
            })
        })
        .await
    }

    /// Start a generation.
    pub async fn submit(&self, request: &JobRequest) -> Result<Result<Submitted, Failure>, PluginError> {
        self.submit_with_token(request, None).await
    }

    /// Check on a running generation.
    pub async fn poll(&self, handle: &str) -> Result<Progress, PluginError> {
        self.poll_with_token(handle, None).await
    }

    /// Ask the vendor to stop.
    pub async fn cancel(&self, handle: &str) -> Result<Result<CancelOutcome, Failure>, PluginError> {
        self.cancel_with_token(handle, None).await
    }

    /// [`submit`](Self::submit) on behalf of a generation: `token` (its id)
    /// is what a 1.2 plugin reads as its idempotency token, the same on
    /// every retry and failover attempt.
    pub async fn submit_with_token(
        &self,
        request: &JobRequest,
        token: Option<&str>,
    ) -> Result<Result<Submitted, Failure>, PluginError> {
        let request = self.request_for_contract(request);
        self.call("submit", token, move |store, p, _| {
            Box::pin(async move {
                Ok(match (p, &request) {
                    (Bound::Latest(p), ContractRequest::Latest(r)) => {
                        let result = p.doitong_provider_provider().call_submit(store, r).await?;
                        result.map(convert::latest::submitted).map_err(convert::latest::failure)
                    }
                    (Bound::V1_1(p), ContractRequest::V1_1(r)) => {
                        let result = p.doitong_provider_provider().call_submit(store, r).await?;
                        result.map(convert::v1_1::submitted).map_err(convert::v1_1::failure)
                    }
                    _ => unreachable!("a request is converted for its plugin's contract"),
                })
            })
        })
        .await
    }

    /// [`poll`](Self::poll) on behalf of a generation.
    pub async fn poll_with_token(&self, handle: &str, token: Option<&str>) -> Result<Progress, PluginError> {
        let handle = handle.to_string();
        self.call("poll", token, move |store, p, _| {
            Box::pin(async move {
                Ok(match p {
                    Bound::Latest(p) => {
                        convert::latest::progress(p.doitong_provider_provider().call_poll(store, &handle).await?)
                    }
                    Bound::V1_1(p) => {
                        convert::v1_1::progress(p.doitong_provider_provider().call_poll(store, &handle).await?)
                    }
                })
            })
        })
        .await
    }

    /// [`cancel`](Self::cancel) on behalf of a generation.
    pub async fn cancel_with_token(
        &self,
        handle: &str,
        token: Option<&str>,
    ) -> Result<Result<CancelOutcome, Failure>, PluginError> {
        let handle = handle.to_string();
        self.call("cancel", token, move |store, p, _| {
            Box::pin(async move {
                Ok(match p {
                    Bound::Latest(p) => {
                        let result = p.doitong_provider_provider().call_cancel(store, &handle).await?;
                        result.map(convert::latest::cancel_outcome).map_err(convert::latest::failure)
                    }
                    Bound::V1_1(p) => {
                        let result = p.doitong_provider_provider().call_cancel(store, &handle).await?;
                        result.map(convert::v1_1::cancel_outcome).map_err(convert::v1_1::failure)
                    }
                })
            })
        })
        .await
    }

    /// `request` in the shape of this plugin's contract.
    fn request_for_contract(&self, request: &JobRequest) -> ContractRequest {
        match &self.inner.pre {
            ContractPre::Latest(_) => ContractRequest::Latest(convert::latest::job_request(request)),
            ContractPre::V1_1(_) => ContractRequest::V1_1(convert::v1_1::job_request(request)),
        }
    }

    /// Call the plugin's `health.check` (contract 1.1+): `None` when the
    /// plugin has no such export.
    pub async fn health(&self) -> Option<Result<Result<(), Failure>, PluginError>> {
        let export = self.inner.health_export.clone()?;
        Some(
            self.call("health", None, move |store, p, instance| {
                Box::pin(async move { call_health(store, p, instance, &export).await })
            })
            .await,
        )
    }

    /// Run one export in a fresh store under every limit.
    async fn call<R: Send>(
        &self,
        call: &'static str,
        token: Option<&str>,
        f: impl for<'a> FnOnce(&'a mut Store<CallState>, &'a Bound, &'a Instance) -> CallFuture<'a, R> + Send,
    ) -> Result<R, PluginError> {
        let started = std::time::Instant::now();
        let result = self.call_sandboxed(call, token.map(str::to_string), f).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(PluginError::LimitExceeded { .. }) => "limit",
            Err(_) => "trap",
        };
        self.inner.runtime.calls.record(&self.inner.context.id, call, outcome, started.elapsed());
        result
    }

    async fn call_sandboxed<R: Send>(
        &self,
        call: &'static str,
        token: Option<String>,
        f: impl for<'a> FnOnce(&'a mut Store<CallState>, &'a Bound, &'a Instance) -> CallFuture<'a, R> + Send,
    ) -> Result<R, PluginError> {
        let runtime = &self.inner.runtime;
        let _slot = runtime.slots.acquire().await.expect("the slot semaphore is never closed");

        let stdout = MemoryOutputPipe::new(STDIO_CAPTURE_BYTES);
        let stderr = MemoryOutputPipe::new(STDIO_CAPTURE_BYTES);
        let wasi = WasiCtx::builder().stdout(stdout.clone()).stderr(stderr.clone()).build();
        let state = CallState {
            wasi,
            table: ResourceTable::new(),
            plugin: self.inner.context.clone(),
            meter: CallMeter::default(),
            token,
            memory_total: 0,
            log_lines: 0,
        };
        let mut store = Store::new(&runtime.engine.engine, state);
        store.limiter(|state| state as &mut dyn wasmtime::ResourceLimiter);
        store.set_epoch_deadline(CPU_CHECK_TICKS);
        let budget = runtime.limits.cpu_time;
        let cpu = Arc::new(CpuMeter::default());
        let used = cpu.clone();
        store.epoch_deadline_callback(move |mut ctx| {
            if used.used() >= budget {
                ctx.data_mut().meter.violation = Some(Limit::CpuTime(budget));
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(CPU_CHECK_TICKS))
            }
        });

        let timeout = runtime.limits.call_timeout;
        let pre = &self.inner.pre;
        let call_future = async {
            let (bound, instance) = pre.instantiate(&mut store).await?;
            f(&mut store, &bound, &instance).await
        };
        let outcome = tokio::time::timeout(timeout, Metered::new(call_future, cpu)).await;

        let ctx = &self.inner.context;
        let stderr_text = String::from_utf8_lossy(&stderr.contents()).into_owned();
        log_stdio(ctx, call, &stdout.contents(), &stderr_text);
        let error = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_elapsed) => {
                return Err(PluginError::LimitExceeded {
                    plugin: ctx.id.clone(),
                    version: ctx.version.clone(),
                    call,
                    limit: Limit::WallClock(timeout),
                });
            }
        };
        if let Some(limit) = store.data().meter.violation {
            return Err(PluginError::LimitExceeded {
                plugin: ctx.id.clone(),
                version: ctx.version.clone(),
                call,
                limit,
            });
        }
        // Users see what happened, not the plugin's output or wasmtime's
        // error chain (a plugin that prints request details when it panics
        // must not leak them): those go to the log, under the job's span.
        let panicked = matches!(error.downcast_ref::<Trap>(), Some(Trap::UnreachableCodeReached))
            && stderr_text.contains("panicked");
        let message = match error.downcast_ref::<Trap>() {
            _ if panicked => "the plugin panicked; its output is in the server log".to_string(),
            Some(trap) => format!("{trap}; details are in the server log"),
            None => "the call failed inside the sandbox; details are in the server log".to_string(),
        };
        let tail = tail_chars(stderr_text.trim(), STDERR_TAIL_CHARS);
        tracing::warn!(plugin = %ctx.id, version = %ctx.version, call, stderr = %tail, "plugin call crashed: {error:#}");
        Err(PluginError::Trap { plugin: ctx.id.clone(), version: ctx.version.clone(), call, message })
    }
}

fn log_stdio(ctx: &PluginContext, call: &str, stdout: &[u8], stderr: &str) {
    if !stdout.is_empty() {
        tracing::info!(plugin = %ctx.id, version = %ctx.version, call, "stdout: {}", String::from_utf8_lossy(stdout).trim_end());
    }
    if !stderr.is_empty() {
        tracing::warn!(plugin = %ctx.id, version = %ctx.version, call, "stderr: {}", stderr.trim_end());
    }
}

fn tail_chars(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        text.to_string()
    } else {
        let tail: String = text.chars().skip(count - max).collect();
        format!("…{tail}")
    }
}
