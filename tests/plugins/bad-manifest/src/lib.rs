//! Test guest whose manifest the host must refuse to load. It is wrong in
//! three independent ways, so the host's error can be checked to name each:
//!
//! - the plugin id `Bad Id!` is not `a-z0-9-`;
//! - the offering `no-kinds` lists no media kinds;
//! - its option `size` defaults to `huge`, which is not among its allowed
//!   values `small` and `large`.
//!
//! Every other call fails: a host that loaded it anyway gets nothing useful.
//! Never loaded outside tests.

use doitong_plugin_sdk::prelude::*;

/// The provider (public so a native build, which skips the export, has no dead code).
pub struct BadManifest;

impl Provider for BadManifest {
    fn manifest() -> Manifest {
        let size = OptionBuilder::text("size", "Output size").allowed(&["small", "large"]).default_text("huge");
        Manifest {
            id: "Bad Id!".to_string(),
            version: "1.0.0".to_string(),
            vendor: "Doitong tests".to_string(),
            offerings: vec![OfferingBuilder::new("no-kinds", "No kinds", &[]).option(size).build()],
            allowed_hosts: Vec::new(),
            secrets: Vec::new(),
        }
    }

    fn quote(_request: JobRequest) -> Result<Quote, Failure> {
        Err(refused())
    }

    fn submit(_request: JobRequest) -> Result<Submitted, Failure> {
        Err(refused())
    }

    fn poll(_handle: String) -> Progress {
        Progress::Failed(refused())
    }

    fn cancel(_handle: String) -> Result<CancelOutcome, Failure> {
        Err(refused())
    }
}

export_plugin!(BadManifest);

fn refused() -> Failure {
    failure::generation_failed("bad-manifest: this plugin must never be loaded")
}
