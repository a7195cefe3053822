//! Builds the workspace's guest crates for `wasm32-wasip2` and bundles them.
//!
//! - `plugins/*` are the bundled provider plugins: their `.wasm` files are
//!   embedded in the host (`BUNDLED_PLUGINS`, see `src/bundled.rs`).
//! - `tests/plugins/*` are test guests (misbehaving plugins for sandbox
//!   tests); they are built alongside and found through
//!   `GUEST_WASM_DIR` by the test suite only.
//!
//! The guests are built by a nested `cargo build --profile wasm` into their
//! own target directory (`<target>/wasm-guests`), so it neither deadlocks on
//! the outer build's lock nor rebuilds per host profile. When the
//! `wasm32-wasip2` target is missing it is added with rustup (a
//! `rust-toolchain.toml` alone does not install it on machines with
//! `RUSTUP_AUTO_INSTALL=0`).

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "wasm";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().expect("host/ lives in the workspace").to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    for watched in ["wit", "plugin-sdk", "plugins", "tests/plugins", "Cargo.lock", "host/migrations"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=DOITONG_GUEST_TARGET_DIR");

    let bundled = guest_crates(&root.join("plugins"));
    let test_guests = guest_crates(&root.join("tests/plugins"));

    ensure_target();
    let target_dir = std::env::var_os("DOITONG_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| outer_target_dir(&out_dir).join("wasm-guests"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root).args(["build", "--profile", PROFILE, "--target", TARGET, "--target-dir"]).arg(&target_dir);
    for (package, _) in bundled.iter().chain(&test_guests) {
        cmd.args(["-p", package]);
    }
    // Flags meant for the host must not leak into the guest build, and
    // clippy's wrapper must not lint the guests as part of the host.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("failed to run cargo for the wasm guests");
    assert!(status.success(), "building the wasm guest crates failed (see the errors above)");

    let wasm_dir = target_dir.join(TARGET).join(PROFILE);
    let mut bundle = String::from(
        "/// `(file name, bytes)` of every plugin in `plugins/`, built for wasm32-wasip2.\npub const BUNDLED_PLUGINS: &[(&str, &[u8])] = &[\n",
    );
    for (package, _) in &bundled {
        let file = format!("{}.wasm", package.replace('-', "_"));
        let path = wasm_dir.join(&file);
        assert!(path.exists(), "{} was not produced", path.display());
        bundle.push_str(&format!("    ({file:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    bundle.push_str("];\n");
    std::fs::write(out_dir.join("bundled.rs"), bundle).unwrap();
    println!("cargo:rustc-env=GUEST_WASM_DIR={}", wasm_dir.display());
}

/// `(package name, dir)` of every crate directly under `dir`.
fn guest_crates(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut crates = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return crates };
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let name = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = \"").and_then(|r| r.strip_suffix('"')).map(str::to_string));
        if let Some(name) = name {
            crates.push((name, entry.path()));
        }
    }
    crates.sort();
    crates
}

/// `<target>` from `<target>/<profile>/build/<pkg>/out` (or with a triple).
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent())
        .and_then(|profile| profile.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.join("guest-target"))
}

fn ensure_target() {
    let libdir = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.as_deref().is_some_and(|d| d.join("libstd").exists() || has_std(d)) {
        return;
    }
    println!("cargo:warning=adding the {TARGET} target with rustup (needed to build the bundled plugins)");
    let status = Command::new("rustup").args(["target", "add", TARGET]).status();
    match status {
        Ok(s) if s.success() => {}
        _ => panic!(
            "the {TARGET} Rust target is missing and `rustup target add {TARGET}` failed; install it and build again"
        ),
    }
}

fn has_std(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
        .unwrap_or(false)
}
