//! Doitong host (work in progress).
pub mod config;
pub mod net;
pub mod plugins;
pub mod store;
