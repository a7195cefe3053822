//! A routing-test vendor adapter (see `relay.rs`, shared by `relay-a` and
//! `relay-b`: each is its own plugin with its own id, vendor and profile).

#[path = "../../relay-a/src/relay.rs"]
pub mod relay;

pub use relay::Relay;

doitong_plugin_sdk::export_plugin!(Relay, health);
