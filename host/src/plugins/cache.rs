//! Compiled components on disk, keyed by (wasm sha256, engine compatibility
//! key), so a restart with many plugins skips Cranelift (~50 ms each in a
//! release build, ~10× that in debug) and deserialises in ~0.1 ms.
//!
//! Loading a precompiled artifact is `unsafe` in wasmtime because a
//! tampered file could run arbitrary code. Each entry therefore starts with
//! the SHA-256 of the rest of the file; an entry whose digest does not match
//! (truncated write, disk corruption) is deleted and rebuilt. The cache
//! directory must be as trusted as the binary itself (it lives in the data
//! dir, written only by this process).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

/// Where compiled components are kept.
pub(crate) struct CompileCache {
    dir: PathBuf,
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
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> CompileCache {
        CompileCache { dir, engine_key: super::engine::compatibility_key(engine) }
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
            match verified_payload(&bytes) {
                Some(payload) => {
                    // SAFETY: the payload was produced by `Component::serialize`
                    // of this engine configuration (the file name carries its
                    // compatibility key) and its digest matches what we wrote.
                    match unsafe { Component::deserialize(engine, payload) } {
                        Ok(component) => return Ok((component, CacheOutcome::Hit)),
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %e, "unusable compile-cache entry; recompiling")
                        }
                    }
                }
                None => tracing::warn!(path = %path.display(), "corrupt compile-cache entry; recompiling"),
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
        let mut bytes = Sha256::digest(&payload).to_vec();
        bytes.extend_from_slice(&payload);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

fn verified_payload(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < DIGEST_LEN {
        return None;
    }
    let (digest, payload) = bytes.split_at(DIGEST_LEN);
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_guards_the_payload() {
        let payload = b"compiled".to_vec();
        let mut file = Sha256::digest(&payload).to_vec();
        file.extend_from_slice(&payload);
        assert_eq!(verified_payload(&file), Some(&payload[..]));
        let last = file.len() - 1;
        file[last] ^= 1;
        assert_eq!(verified_payload(&file), None);
        assert_eq!(verified_payload(b"short"), None);
    }
}
