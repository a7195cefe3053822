//! End-to-end tests: the real `doitong` binary, real plugins compiled to
//! wasm, HTTP on 127.0.0.1. One test binary with modules (wasmtime's habit).

mod admission;
mod api;
mod artifacts;
mod browser;
mod chaos;
mod client;
mod cluster;
mod embed;
mod harness;
mod hotswap;
mod limits;
mod metrics;
mod relay;
mod resume;
mod routing;
mod sandbox;
mod seed;
mod vendors;
mod webhooks;
