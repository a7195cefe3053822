//! Records of uploaded input files (the bytes live in the artifact store
//! under `uploads/`), until they expire.

use super::{Store, StoreError, on_db};

/// A recorded upload.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UploadRow {
    /// `upload_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Location in the artifact store.
    pub path: String,
    /// MIME type, as detected from the bytes.
    pub mime: String,
    /// Size.
    pub size_bytes: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms; gone after.
    pub expires_at: i64,
}

const COLUMNS: &str = "id, account_id, path, mime, size_bytes, created_at, expires_at";

impl Store {
    /// Record an upload whose bytes are stored.
    pub async fn insert_upload(&self, row: &UploadRow) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "INSERT INTO uploads (id, account_id, path, mime, size_bytes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id).bind(&row.account_id).bind(&row.path).bind(&row.mime)
        .bind(row.size_bytes).bind(row.created_at).bind(row.expires_at)
        .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Upload `id`, expired or not.
    pub async fn upload(&self, id: &str) -> Result<Option<UploadRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?))
    }

    /// Up to `limit` uploads that expired before `now`.
    pub async fn expired_uploads(&self, now: i64, limit: i64) -> Result<Vec<UploadRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM uploads WHERE expires_at < $1 ORDER BY expires_at LIMIT $2");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(pool).await?))
    }

    /// Forget upload `id` (its object deleted first).
    pub async fn delete_upload(&self, id: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        Ok(())
    }
}
