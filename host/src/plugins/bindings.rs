//! Host bindings of `wit/provider.wit`, contract version 1.x.
//!
//! Generated once here; only `convert_v1.rs`, `host_imports.rs` and
//! `runtime.rs` use them. Imports are async (they await the HTTP client)
//! and trappable (a host-side limit stops the guest); exports are async so
//! a guest that waits on the host never blocks a runtime thread.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use doitong::provider::{http, log, secrets, types};
