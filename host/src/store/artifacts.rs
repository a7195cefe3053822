//! Records of stored output files (the bytes live in the artifact store).

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

    /// One artifact.
    pub async fn artifact(&self, id: &str) -> Result<Option<ArtifactRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM artifacts WHERE id = $1");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?))
    }
}
