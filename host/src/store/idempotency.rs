//! Idempotency-Key records: claim, complete, release, purge.
//!
//! Two ways to take a key:
//! - a request that starts one generation takes it inside the transaction
//!   that accepts the generation ([`Store::insert_job`], state `accepted`,
//!   the record names the generation): no statement of its own, which is
//!   what keeps Idempotency-Key nearly free on the hot path. Its replay is
//!   that generation as accepted, rendered for the same request;
//! - any other mutation claims it before running ([`Store::claim_idempotency`],
//!   one `INSERT … ON CONFLICT DO NOTHING`, state `in_progress`) and stores
//!   its response after ([`Store::complete_idempotency`], state `done`).
//!
//! Exactly one of any number of concurrent requests with the same key
//! takes it; the others read the record and are told to replay, wait (in
//! progress) or stop (same key, different request). A record whose holder
//! died is taken over once its lock lapses; an expired record is replaced.

use super::{Store, StoreError, now_ms, on_db};

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key: execute it, then complete or release.
    Acquired,
    /// Another request with this key is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
    /// The request already ran: answer with its stored response.
    Replay {
        /// HTTP status of the first response.
        status: u16,
        /// Body of the first response.
        body: String,
    },
    /// The request accepted this generation: answer with it as accepted.
    Accepted {
        /// The generation's id.
        job_id: String,
    },
}

/// Replace an expired record on conflict, keep a live one.
const REPLACE_EXPIRED: &str = "ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash, \
    state = excluded.state, status_code = excluded.status_code, response_body = excluded.response_body, \
    job_id = excluded.job_id, locked_until = excluded.locked_until, created_at = excluded.created_at, \
    expires_at = excluded.expires_at WHERE idempotency_keys.expires_at < excluded.created_at";

/// The insert that takes a key for a generation, inside its transaction.
pub(super) const TAKE_FOR_GENERATION: &str = "INSERT INTO idempotency_keys \
    (account_id, key, request_hash, state, status_code, response_body, job_id, locked_until, created_at, expires_at) \
    VALUES ($1, $2, $3, 'accepted', NULL, NULL, $4, $5, $5, $6) ";

#[derive(sqlx::FromRow)]
struct Record {
    request_hash: String,
    state: String,
    status_code: Option<i64>,
    response_body: Option<String>,
    locked_until: i64,
    expires_at: i64,
    job_id: Option<String>,
}

impl Store {
    /// Claim `key` for a request whose canonical hash is `hash`. `lock_ms`
    /// bounds how long a crashed holder blocks the key; `ttl_ms` is how long
    /// the record is kept.
    pub async fn claim_idempotency(
        &self,
        account_id: &str,
        key: &str,
        hash: &str,
        lock_ms: i64,
        ttl_ms: i64,
    ) -> Result<Claim, StoreError> {
        let now = now_ms();
        let inserted = on_db!(self, pool => sqlx::query(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, state, locked_until, created_at, expires_at) \
             VALUES ($1, $2, $3, 'in_progress', $4, $5, $6) ON CONFLICT (account_id, key) DO NOTHING",
        )
        .bind(account_id).bind(key).bind(hash).bind(now + lock_ms).bind(now).bind(now + ttl_ms)
        .execute(pool).await?.rows_affected());
        if inserted == 1 {
            return Ok(Claim::Acquired);
        }
        let record = self.idempotency_record(account_id, key).await?;
        let Some(record) = record else {
            // Purged between our insert and read: try once more.
            return Box::pin(self.claim_idempotency(account_id, key, hash, lock_ms, ttl_ms)).await;
        };
        let expired = record.expires_at < now;
        let stale = record.state == "in_progress" && record.locked_until < now;
        if expired || (stale && record.request_hash == hash) {
            // Take over, guarded on what we read so only one request wins.
            let taken = on_db!(self, pool => sqlx::query(
                "UPDATE idempotency_keys SET request_hash = $3, state = 'in_progress', status_code = NULL, response_body = NULL, \
                 locked_until = $4, created_at = $5, expires_at = $6 \
                 WHERE account_id = $1 AND key = $2 AND locked_until = $7 AND expires_at = $8",
            )
            .bind(account_id).bind(key).bind(hash).bind(now + lock_ms).bind(now).bind(now + ttl_ms)
            .bind(record.locked_until).bind(record.expires_at)
            .execute(pool).await?.rows_affected());
            return Ok(if taken == 1 { Claim::Acquired } else { Claim::InProgress });
        }
        Ok(record.answer(hash))
    }

    async fn idempotency_record(&self, account_id: &str, key: &str) -> Result<Option<Record>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT request_hash, state, status_code, response_body, locked_until, expires_at, job_id FROM idempotency_keys \
             WHERE account_id = $1 AND key = $2",
        )
        .bind(account_id).bind(key).fetch_optional(pool).await?))
    }

    /// What a request with `key` and `hash` is told by the record another
    /// request took: `None` if there is no live record (retry).
    pub async fn idempotency_answer(
        &self,
        account_id: &str,
        key: &str,
        hash: &str,
    ) -> Result<Option<Claim>, StoreError> {
        let record = self.idempotency_record(account_id, key).await?;
        Ok(record.filter(|r| r.expires_at >= now_ms()).map(|r| r.answer(hash)))
    }

    /// Store a response for a key nobody holds (a generation request that was
    /// refused, e.g. `INSUFFICIENT_CREDITS`), so its replays answer alike.
    /// A live record already there wins.
    pub async fn record_idempotent_response(
        &self,
        account_id: &str,
        key: &str,
        hash: &str,
        response: (u16, &str),
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let sql = format!(
            "INSERT INTO idempotency_keys \
             (account_id, key, request_hash, state, status_code, response_body, job_id, locked_until, created_at, expires_at) \
             VALUES ($1, $2, $3, 'done', $4, $5, NULL, $6, $6, $7) {REPLACE_EXPIRED}"
        );
        on_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(account_id).bind(key).bind(hash).bind(i64::from(response.0)).bind(response.1).bind(now).bind(now + ttl_ms)
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Store the response of an acquired key.
    pub async fn complete_idempotency(
        &self,
        account_id: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', status_code = $3, response_body = $4 WHERE account_id = $1 AND key = $2",
        )
        .bind(account_id).bind(key).bind(i64::from(status)).bind(body)
        .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Forget an acquired key (responses that must not be replayed: 401, 429).
    pub async fn release_idempotency(&self, account_id: &str, key: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND state = 'in_progress'")
            .bind(account_id).bind(key).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Delete expired records; returns how many.
    pub async fn purge_idempotency(&self) -> Result<u64, StoreError> {
        Ok(on_db!(self, pool => sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < $1")
            .bind(now_ms()).execute(pool).await?.rows_affected()))
    }

    /// Number of stored records of an account (for tests and admin views).
    pub async fn idempotency_records(&self, account_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_db!(self, pool => sqlx::query_as("SELECT COUNT(*) FROM idempotency_keys WHERE account_id = $1")
            .bind(account_id).fetch_one(pool).await?);
        Ok(n)
    }
}

impl Record {
    fn answer(self, hash: &str) -> Claim {
        if self.request_hash != hash {
            return Claim::Mismatch;
        }
        match (self.state.as_str(), self.status_code, self.response_body, self.job_id) {
            ("done", Some(status), Some(body), _) => Claim::Replay { status: status as u16, body },
            ("accepted", _, _, Some(job_id)) => Claim::Accepted { job_id },
            _ => Claim::InProgress,
        }
    }
}

/// The full statement taking a key for a generation (replacing an expired record).
pub(super) fn take_for_generation_sql() -> String {
    format!("{TAKE_FOR_GENERATION}{REPLACE_EXPIRED}")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let account = store.create_account("a", "free", 0).await.unwrap();
        (dir, store, account.id)
    }

    #[tokio::test]
    async fn claim_lifecycle() {
        let (_dir, store, account) = store().await;
        let claim = |hash: &'static str, lock: i64, ttl: i64| {
            let store = store.clone();
            let account = account.clone();
            async move { store.claim_idempotency(&account, "k", hash, lock, ttl).await.unwrap() }
        };
        assert_eq!(claim("h1", 60_000, 60_000).await, Claim::Acquired);
        assert_eq!(claim("h1", 60_000, 60_000).await, Claim::InProgress);
        assert_eq!(claim("h2", 60_000, 60_000).await, Claim::Mismatch);
        store.complete_idempotency(&account, "k", 200, "{\"data\":1}").await.unwrap();
        assert_eq!(claim("h1", 60_000, 60_000).await, Claim::Replay { status: 200, body: "{\"data\":1}".into() });
        assert_eq!(claim("h2", 60_000, 60_000).await, Claim::Mismatch);

        // Released keys can be claimed again.
        assert_eq!(store.claim_idempotency(&account, "r", "h", 60_000, 60_000).await.unwrap(), Claim::Acquired);
        store.release_idempotency(&account, "r").await.unwrap();
        assert_eq!(store.claim_idempotency(&account, "r", "h", 60_000, 60_000).await.unwrap(), Claim::Acquired);

        // A holder that died: its lock lapses and the same request takes over.
        assert_eq!(store.claim_idempotency(&account, "s", "h", -1, 60_000).await.unwrap(), Claim::Acquired);
        assert_eq!(store.claim_idempotency(&account, "s", "h", 60_000, 60_000).await.unwrap(), Claim::Acquired);

        // Expired records are replaced, and purged.
        assert_eq!(store.claim_idempotency(&account, "e", "h", 60_000, -1).await.unwrap(), Claim::Acquired);
        store.complete_idempotency(&account, "e", 200, "{}").await.unwrap();
        assert_eq!(store.claim_idempotency(&account, "e", "other", 60_000, -1).await.unwrap(), Claim::Acquired);
        assert_eq!(store.purge_idempotency().await.unwrap(), 1);
        assert_eq!(store.idempotency_records(&account).await.unwrap(), 3);
    }
}
