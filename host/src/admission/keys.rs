//! Who the caller is: API keys looked up by hash, with a negative cache so
//! a flood of made-up keys costs one database query per key, not per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Keys recently found unknown (by hash).
#[derive(Default)]
pub(super) struct UnknownKeys {
    seen: Mutex<HashMap<[u8; 32], Instant>>,
}

impl UnknownKeys {
    /// How long an unknown key is remembered.
    const TTL: Duration = Duration::from_secs(60);
    /// Most keys remembered (then the stale ones are dropped, or all).
    const CAPACITY: usize = 10_000;

    fn hash(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    pub(super) fn is_known_bad(&self, token: &str) -> bool {
        let seen = self.seen.lock().expect("never poisoned");
        seen.get(&Self::hash(token)).is_some_and(|at| at.elapsed() < Self::TTL)
    }

    pub(super) fn remember(&self, token: &str) {
        let mut seen = self.seen.lock().expect("never poisoned");
        if seen.len() >= Self::CAPACITY {
            seen.retain(|_, at| at.elapsed() < Self::TTL);
            if seen.len() >= Self::CAPACITY {
                seen.clear();
            }
        }
        seen.insert(Self::hash(token), Instant::now());
    }
}

/// Compare secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_unknown_keys_for_a_while() {
        let unknown = UnknownKeys::default();
        assert!(!unknown.is_known_bad("dt_live_nope"));
        unknown.remember("dt_live_nope");
        assert!(unknown.is_known_bad("dt_live_nope"));
        assert!(!unknown.is_known_bad("dt_live_other"));
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"a", b"ab")
        );
    }
}
