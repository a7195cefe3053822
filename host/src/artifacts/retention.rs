//! Retention: artifacts older than `artifacts.retention_days` are deleted,
//! object first, then row; objects no row points at (left by a crash
//! between upload and commit, or by a step that lost its job) are deleted
//! once they are as old, and so are staged files a crash left behind.
//!
//! Every node runs the purge loop, but a pass needs the cluster-wide lock
//! `artifact-retention` (a leased row in the database), so one node at a
//! time does the work. Generations stay: their history and ledger lines
//! outlive their files, which then answer 404.
//!
//! This module must never delete anything younger than the retention
//! period.

use std::time::Duration;

use futures::StreamExt;
use object_store::ObjectMeta;

use super::{ArtifactError, ArtifactStore};
use crate::background::Background;
use crate::store::{Store, StoreError, accounts::new_id, now_ms};

/// The lock a purging node holds.
const LOCK: &str = "artifact-retention";
/// Rows and objects handled per round trip.
const BATCH: usize = 500;

/// Why a purge pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The artifact store.
    #[error(transparent)]
    Artifacts(#[from] ArtifactError),
}

/// What a pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Expired artifacts (object and row).
    pub expired: u64,
    /// Objects without a row.
    pub orphans: u64,
    /// Staged files left by a crash.
    pub staged: u64,
}

/// Start purging every `interval` (nothing to start when `retention` is
/// forever).
pub fn spawn(store: Store, artifacts: ArtifactStore, retention: Duration, interval: Duration) -> Background {
    Background::spawn(move |mut stopped| async move {
        let owner = new_id("purger");
        let lease = interval.max(Duration::from_secs(60)).as_millis() as i64 * 2;
        loop {
            match store.try_lock(LOCK, &owner, now_ms() + lease).await {
                Ok(true) => match purge(&store, &artifacts, retention).await {
                    Ok(p) if p == Purged::default() => {}
                    Ok(p) => {
                        tracing::info!(expired = p.expired, orphans = p.orphans, staged = p.staged, "artifacts purged")
                    }
                    Err(e) => tracing::warn!("purging artifacts failed (next pass retries): {e}"),
                },
                Ok(false) => tracing::debug!("another node is purging artifacts"),
                Err(e) => tracing::warn!("taking the artifact-retention lock failed: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stopped.changed() => break,
            }
        }
        let _ = store.unlock(LOCK, &owner).await;
    })
}

/// One pass: expired artifacts, then orphaned objects, then stale staged
/// files, all older than `retention`.
pub async fn purge(store: &Store, artifacts: &ArtifactStore, retention: Duration) -> Result<Purged, PurgeError> {
    let cutoff = now_ms() - retention.as_millis() as i64;
    let mut purged = Purged::default();
    loop {
        let rows = store.artifacts_before(cutoff, BATCH as i64).await?;
        for row in &rows {
            artifacts.delete(&row.path).await?;
            store.delete_artifact(&row.id).await?;
            purged.expired += 1;
        }
        if rows.len() < BATCH {
            break;
        }
    }

    let mut listing = artifacts.objects().list(None);
    let mut batch: Vec<ObjectMeta> = Vec::with_capacity(BATCH);
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(ArtifactError::from)?;
        let upload = meta.location.as_ref().starts_with(&format!("{}/", super::UPLOADS));
        if meta.last_modified.timestamp_millis() < cutoff && !upload {
            batch.push(meta);
        }
        if batch.len() == BATCH {
            purged.orphans += delete_orphans(store, artifacts, std::mem::take(&mut batch)).await?;
        }
    }
    purged.orphans += delete_orphans(store, artifacts, batch).await?;

    if let Some(staging) = artifacts.staging_dir() {
        let mut entries = tokio::fs::read_dir(staging).await.map_err(ArtifactError::from)?;
        while let Some(entry) = entries.next_entry().await.map_err(ArtifactError::from)? {
            let old = entry.metadata().await.ok().and_then(|m| m.modified().ok()).is_some_and(|at| {
                at.duration_since(std::time::UNIX_EPOCH).is_ok_and(|d| (d.as_millis() as i64) < cutoff)
            });
            if old && tokio::fs::remove_file(entry.path()).await.is_ok() {
                purged.staged += 1;
            }
        }
    }
    Ok(purged)
}

/// Delete the objects of `batch` that no artifact row points at.
async fn delete_orphans(store: &Store, artifacts: &ArtifactStore, batch: Vec<ObjectMeta>) -> Result<u64, PurgeError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let paths: Vec<String> = batch.iter().map(|m| m.location.to_string()).collect();
    let known = store.artifact_paths_in(&paths).await?;
    let mut deleted = 0;
    for path in paths.iter().filter(|p| !known.contains(*p)) {
        artifacts.delete(path).await?;
        deleted += 1;
    }
    Ok(deleted)
}
