//! The one place that configures wasmtime: the `Engine`, its allocator and
//! the epoch ticker. Nothing else in the host builds a `wasmtime::Config`.
//!
//! Choices, and why:
//! - **Pooling allocator** with `max_concurrent_calls` instance slots: a
//!   fresh store and instance per call costs ~7 µs pooled against ~16 µs
//!   on demand (ARCHITECTURE §11). The runtime puts a semaphore of the same
//!   size in front, so a burst waits for a slot instead of failing. Where
//!   the pool's virtual memory cannot be reserved (tight `ulimit -v`), we
//!   fall back to on-demand allocation and say so in the logs.
//! - **Epoch interruption** ticking every [`EPOCH_TICK`]: guest CPU time is
//!   metered in the store's deadline callback (wall time minus time spent
//!   in host calls), so a spinning guest is stopped within one tick of its
//!   budget while a guest waiting on a slow vendor is not charged for it.
//! - No fuel: epochs cost less and bound time, which is what we need.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::RuntimeLimits;

/// How often the engine's epoch advances; the granularity of CPU budgets.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Core instances a Rust `wasm32-wasip2` component needs, with headroom
/// (its main module plus the shims `wit-component` adds).
const CORE_INSTANCES_PER_COMPONENT: u32 = 20;
/// Memories per component: the guest's own plus headroom.
const MEMORIES_PER_COMPONENT: u32 = 2;
/// Tables per component (indirect-call tables of the shims).
const TABLES_PER_COMPONENT: u32 = 8;

/// A configured engine and whether it pools instances.
pub struct EngineHandle {
    /// The shared engine.
    pub engine: Engine,
    /// Whether the pooling allocator is in use.
    pub pooled: bool,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Keep guest stacks modest; async stacks hold host frames too.
    config.max_wasm_stack(1 << 20);
    config.async_stack_size(2 << 20);
    config
}

/// Build the engine for `limits`, pooling when possible, and start its ticker.
pub fn build(limits: &RuntimeLimits) -> wasmtime::Result<EngineHandle> {
    let slots = limits.max_concurrent_calls.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .total_stacks(slots)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(limits.memory_bytes);
    let mut pooled_config = base_config();
    pooled_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Do not reserve 4 GiB of address space per slot: the cap is small.
    pooled_config.memory_reservation(limits.memory_bytes as u64);

    let (engine, pooled) = match Engine::new(&pooled_config) {
        Ok(engine) => (engine, true),
        Err(e) => {
            tracing::warn!(error = %e, "pooling allocator unavailable; instantiating on demand");
            (Engine::new(&base_config())?, false)
        }
    };

    let ticker_stop = Arc::new(AtomicBool::new(false));
    let stop = ticker_stop.clone();
    let weak = engine.weak();
    std::thread::Builder::new().name("doitong-epoch".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    })?;
    Ok(EngineHandle { engine, pooled, ticker_stop })
}

/// A stable key for compiled artifacts of this engine configuration.
pub fn compatibility_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
