//! Compiled components on disk, keyed by (wasm sha256, engine compatibility
//! key), so a restart with many plugins skips Cranelift (~50 ms each in a
//! release build, ~10× that in debug) and deserialises in ~0.1 ms.
//!
//! Loading a precompiled artifact is `unsafe` in wasmtime because a
//! tampered file runs as native code in the host. Each entry therefore
//! starts with an HMAC-SHA256 of the rest of the file under a host secret
//! ([`CacheKey`]; the gateway keeps it in the database, so every node of a
//! cluster shares it and nobody who can only write the cache directory
//! knows it). An entry whose tag does not match (tampered, truncated,
//! written under another key) is deleted and rebuilt, never deserialised.
//! A shared cache directory is therefore safe to share between nodes; it
//! still must not be writable by anyone who can also read the database.

use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

type HmacSha256 = Hmac<Sha256>;

const TAG_LEN: usize = 32;

/// Where compiled plugins are cached, and the secret that signs them.
#[derive(Clone)]
pub struct CacheKey {
    dir: PathBuf,
    secret: Vec<u8>,
}

impl CacheKey {
    /// Cache in `dir`, signing entries with `secret` (at least 16 bytes of
    /// randomness; the gateway uses 32 kept in its database).
    pub fn new(dir: impl Into<PathBuf>, secret: impl Into<Vec<u8>>) -> CacheKey {
        CacheKey { dir: dir.into(), secret: secret.into() }
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheKey").field("dir", &self.dir).field("secret", &"…").finish()
    }
}

/// Where compiled components are kept.
pub(crate) struct CompileCache {
    dir: PathBuf,
    secret: Vec<u8>,
    engine_key: String,
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheOutcome {
    /// Loaded from a valid entry.
    Hit,
    /// Compiled and stored.
    Miss,
    /// An entry existed but was corrupt; recompiled and replaced.
    Repaired,
}

impl CompileCache {
    pub(crate) fn new(key: CacheKey, engine: &Engine) -> CompileCache {
        CompileCache { dir: key.dir, secret: key.secret, engine_key: super::engine::compatibility_key(engine) }
    }

    fn entry(&self, wasm_sha256: &str) -> PathBuf {
        self.dir.join(format!("{wasm_sha256}-{}.cwasm", self.engine_key))
    }

    /// The component for `wasm`, from the cache when a valid entry exists.
    /// Cache I/O problems are logged and fall back to compiling.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wasm_sha256: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry(wasm_sha256);
        let mut outcome = CacheOutcome::Miss;
        if let Ok(bytes) = std::fs::read(&path) {
            match verified_payload(&self.secret, &bytes) {
                Some(payload) => {
                    // SAFETY: the payload was produced by `Component::serialize`
                    // of this engine configuration (the file name carries its
                    // compatibility key) and carries our HMAC tag: only a
                    // holder of the host secret wrote it.
                    match unsafe { Component::deserialize(engine, payload) } {
                        Ok(component) => return Ok((component, CacheOutcome::Hit)),
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %e, "unusable compile-cache entry; recompiling")
                        }
                    }
                }
                None => tracing::warn!(
                    path = %path.display(),
                    "compile-cache entry not signed by this host's key (tampered, corrupt or foreign); recompiling"
                ),
            }
            let _ = std::fs::remove_file(&path);
            outcome = CacheOutcome::Repaired;
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "could not write compile-cache entry");
        }
        Ok((component, outcome))
    }

    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let payload = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut bytes = tag(&self.secret, &payload).to_vec();
        bytes.extend_from_slice(&payload);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

fn tag(secret: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// The payload of an entry, if its tag is this host's (checked in constant time).
fn verified_payload<'a>(secret: &[u8], bytes: &'a [u8]) -> Option<&'a [u8]> {
    if bytes.len() < TAG_LEN {
        return None;
    }
    let (tag, payload) = bytes.split_at(TAG_LEN);
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(payload);
    mac.verify_slice(tag).is_ok().then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_key_guards_the_payload() {
        let payload = b"compiled".to_vec();
        let mut file = tag(b"host key", &payload).to_vec();
        file.extend_from_slice(&payload);
        assert_eq!(verified_payload(b"host key", &file), Some(&payload[..]));
        assert_eq!(verified_payload(b"other key", &file), None, "written under another key");
        // A plain digest (what an attacker without the key can compute) is refused.
        let mut forged = <Sha256 as sha2::Digest>::digest(&payload).to_vec();
        forged.extend_from_slice(&payload);
        assert_eq!(verified_payload(b"host key", &forged), None);
        let last = file.len() - 1;
        file[last] ^= 1;
        assert_eq!(verified_payload(b"host key", &file), None);
        assert_eq!(verified_payload(b"host key", b"short"), None);
    }
}
