//! Task handles: the only state that survives between a plugin's calls.
//!
//! The host stores the handle string with the job and gives it back to
//! `poll` and `cancel`, possibly after a restart, so it must carry all an
//! adapter needs (usually the vendor's task id and which endpoint to poll).

use serde::{Serialize, de::DeserializeOwned};

use crate::{Failure, failure};

/// Encode adapter state as a handle.
pub fn encode<T: Serialize>(state: &T) -> String {
    serde_json::to_string(state).expect("handle state serialises to JSON")
}

/// Decode a handle made by [`encode`]; a foreign or corrupt handle is an
/// `invalid-input` failure rather than a panic.
pub fn decode<T: DeserializeOwned>(handle: &str) -> Result<T, Failure> {
    serde_json::from_str(handle).map_err(|e| failure::invalid_input(format!("unreadable task handle: {e}")))
}
