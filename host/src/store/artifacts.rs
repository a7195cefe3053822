//! Records of stored output files (the bytes live in the artifact store),
//! what retention deletes, and the cluster-wide lock that makes one node at
//! a time do it.

use super::{Store, StoreError, on_db};

/// An artifact to record with a completed job.
#[derive(Debug, Clone)]
pub struct NewArtifact {
    /// `art_…`.
    pub id: String,
    /// Order within the job.
    pub position: i64,
    /// Location in the artifact store (relative path).
    pub path: String,
    /// MIME type.
    pub mime: String,
    /// Size.
    pub size_bytes: i64,
    /// Pixels.
    pub width: Option<i64>,
    /// Pixels.
    pub height: Option<i64>,
    /// Playing time.
    pub duration_ms: Option<i64>,
}

/// A recorded artifact.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactRow {
    /// `art_…`.
    pub id: String,
    /// Owning job.
    pub job_id: String,
    /// Order within the job.
    pub position: i64,
    /// Location in the artifact store.
    pub path: String,
    /// MIME type.
    pub mime: String,
    /// Size.
    pub size_bytes: i64,
    /// Pixels.
    pub width: Option<i64>,
    /// Pixels.
    pub height: Option<i64>,
    /// Playing time.
    pub duration_ms: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
}

const COLUMNS: &str = "id, job_id, position, path, mime, size_bytes, width, height, duration_ms, created_at";

impl Store {
    /// Artifacts of a job, in order.
    pub async fn artifacts_of(&self, job_id: &str) -> Result<Vec<ArtifactRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM artifacts WHERE job_id = $1 ORDER BY position");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(job_id).fetch_all(pool).await?))
    }

    /// The artifacts of several jobs at once (a page of a listing), by job.
    pub async fn artifacts_of_jobs(
        &self,
        job_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<ArtifactRow>>, StoreError> {
        let mut by_job: std::collections::HashMap<String, Vec<ArtifactRow>> = std::collections::HashMap::new();
        for chunk in job_ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {COLUMNS} FROM artifacts WHERE job_id IN ({}) ORDER BY job_id, position",
                marks.join(", ")
            );
            let rows: Vec<ArtifactRow> = on_db!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await?
            });
            for row in rows {
                by_job.entry(row.job_id.clone()).or_default().push(row);
            }
        }
        Ok(by_job)
    }

    /// Up to `limit` artifacts made before `before` (Unix ms), oldest first.
    pub async fn artifacts_before(&self, before: i64, limit: i64) -> Result<Vec<ArtifactRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM artifacts WHERE created_at < $1 ORDER BY created_at LIMIT $2");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(before).bind(limit).fetch_all(pool).await?))
    }

    /// Forget artifact `id` (its object is deleted first by the caller).
    pub async fn delete_artifact(&self, id: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM artifacts WHERE id = $1")
            .bind(id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Which of `paths` some artifact row points at.
    pub async fn artifact_paths_in(&self, paths: &[String]) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in paths.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT path FROM artifacts WHERE path IN ({})", marks.join(", "));
            let rows: Vec<(String,)> = on_db!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for path in chunk {
                    query = query.bind(path);
                }
                query.fetch_all(pool).await?
            });
            found.extend(rows.into_iter().map(|(p,)| p));
        }
        Ok(found)
    }

    /// Take (or renew) the cluster-wide lock `name` for `owner` until
    /// `until` (Unix ms); false while another owner's lease runs.
    pub async fn try_lock(&self, name: &str, owner: &str, until: i64) -> Result<bool, StoreError> {
        let taken = on_db!(self, pool => sqlx::query(
            "INSERT INTO maintenance_locks (name, owner, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until \
             WHERE maintenance_locks.until < $4 OR maintenance_locks.owner = excluded.owner",
        ).bind(name).bind(owner).bind(until).bind(super::now_ms()).execute(pool).await?.rows_affected());
        Ok(taken == 1)
    }

    /// Let go of lock `name` if `owner` holds it.
    pub async fn unlock(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM maintenance_locks WHERE name = $1 AND owner = $2")
            .bind(name).bind(owner).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// One artifact.
    pub async fn artifact(&self, id: &str) -> Result<Option<ArtifactRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM artifacts WHERE id = $1");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, now_ms};

    #[tokio::test]
    async fn one_owner_holds_a_lock_until_it_lapses_or_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let now = now_ms();
        assert!(store.try_lock("purge", "a", now + 60_000).await.unwrap());
        assert!(!store.try_lock("purge", "b", now + 60_000).await.unwrap(), "a holds it");
        assert!(store.try_lock("purge", "a", now + 90_000).await.unwrap(), "a renews");
        assert!(store.try_lock("other", "b", now + 60_000).await.unwrap(), "locks are independent");
        store.unlock("purge", "a").await.unwrap();
        assert!(store.try_lock("purge", "b", now - 1).await.unwrap(), "released");
        assert!(store.try_lock("purge", "c", now + 60_000).await.unwrap(), "b's lease lapsed");
    }
}
