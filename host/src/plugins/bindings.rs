//! Host bindings of the plugin contract, one module per contract shape.
//!
//! - [`latest`]: `wit/provider.wit`, contract 1.2. Its imports are what the
//!   linker provides to every plugin (a plugin built against 1.0 or 1.1
//!   imports the same `http`, `secrets` and `log` interfaces, unchanged
//!   since 1.0; wasmtime resolves their `@1.0.0`/`@1.1.0` names to ours by
//!   semver). Its exports are how 1.2 plugins are called.
//! - [`v1_1`]: the frozen 1.1 contract (`wit/frozen/1.1.0`), whose
//!   `failure` record and `failure-code` enum predate 1.2's additions, so a
//!   1.0 or 1.1 plugin's `provider` export type-checks only against it.
//!   Only its exports are used.
//!
//! Only `convert_v1.rs`, `host_imports.rs` and `runtime.rs` use them.
//! Imports are async (they await the HTTP client) and trappable (a
//! host-side limit stops the guest); exports are async so a guest that
//! waits on the host never blocks a runtime thread.

/// Contract 1.2: imports for every plugin, exports of 1.2 plugins.
pub mod latest {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });

    pub use doitong::provider::{context, http, log, secrets, types};
}

/// Contract 1.0/1.1: the exports of plugins built against them.
pub mod v1_1 {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../wit/frozen/1.1.0",
        imports: { default: async | trappable },
        exports: { default: async },
    });

    pub use doitong::provider::types;
}
