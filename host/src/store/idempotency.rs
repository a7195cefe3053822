//! Idempotency-Key records: claim, complete, release, purge.
//!
//! Two ways to take a key:
//! - a request that starts one generation takes it with the generation's
//!   own INSERT ([`Store::insert_job`]): the key and request hash are
//!   columns of the job, unique per account (migration 0007), so the key
//!   costs the hot path no statement of its own. Its replay is that
//!   generation as accepted, rendered for the same request. (Records of
//!   state `accepted` in `idempotency_keys`, written by 0.x hosts before
//!   migration 0007, are still answered until they expire.);
//! - any other mutation claims it before running ([`Store::claim_idempotency`],
//!   one `INSERT … ON CONFLICT DO NOTHING`, state `in_progress`) and stores
//!   its response after ([`Store::complete_idempotency`], state `done`).
//!
//! A key lives in one of the two places, never both: each insert checks
//! the other place for a live key in the same statement, and a lookup reads
//! the job first. Exactly one of any number of concurrent requests with the
//! same key takes it; the others read the record and are told to replay, wait (in
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

/// No generation of the account holds the key ($2) within its retention
/// (created at or after $4).
const NO_LIVE_JOB: &str =
    "NOT EXISTS (SELECT 1 FROM jobs WHERE account_id = $1 AND idempotency_key = $2 AND created_at >= $4)";

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
        owner: &str,
        lock_ms: i64,
        ttl_ms: i64,
    ) -> Result<Claim, StoreError> {
        let now = now_ms();
        let sql = format!(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, state, locked_until, created_at, expires_at, owner) \
             SELECT $1, $2, $3, 'in_progress', $5, $6, $7, $8 WHERE {NO_LIVE_JOB} ON CONFLICT (account_id, key) DO NOTHING"
        );
        let inserted = on_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(account_id).bind(key).bind(hash).bind(now - ttl_ms).bind(now + lock_ms).bind(now).bind(now + ttl_ms)
        .bind(owner)
        .execute(pool).await?.rows_affected());
        if inserted == 1 {
            return Ok(Claim::Acquired);
        }
        let record = self.idempotency_record(account_id, key, ttl_ms).await?;
        let Some(record) = record else {
            // Purged between our insert and read: try once more.
            return Box::pin(self.claim_idempotency(account_id, key, hash, owner, lock_ms, ttl_ms)).await;
        };
        let expired = record.expires_at < now;
        let stale = record.state == "in_progress" && record.locked_until < now;
        if expired || (stale && record.request_hash == hash) {
            // Take over, guarded on what we read so only one request wins.
            let taken = on_db!(self, pool => sqlx::query(
                "UPDATE idempotency_keys SET request_hash = $3, state = 'in_progress', status_code = NULL, response_body = NULL, \
                 locked_until = $4, created_at = $5, expires_at = $6, owner = $9 \
                 WHERE account_id = $1 AND key = $2 AND locked_until = $7 AND expires_at = $8",
            )
            .bind(account_id).bind(key).bind(hash).bind(now + lock_ms).bind(now).bind(now + ttl_ms)
            .bind(record.locked_until).bind(record.expires_at).bind(owner)
            .execute(pool).await?.rows_affected());
            return Ok(if taken == 1 { Claim::Acquired } else { Claim::InProgress });
        }
        Ok(record.answer(hash))
    }

    /// The live holder of `key`: a generation within `ttl_ms`, else a record.
    async fn idempotency_record(&self, account_id: &str, key: &str, ttl_ms: i64) -> Result<Option<Record>, StoreError> {
        let job: Option<(String, Option<String>, i64)> = on_db!(self, pool => sqlx::query_as(
            "SELECT id, idempotency_hash, created_at FROM jobs WHERE account_id = $1 AND idempotency_key = $2 AND created_at >= $3",
        )
        .bind(account_id).bind(key).bind(now_ms() - ttl_ms).fetch_optional(pool).await?);
        if let Some((job_id, request_hash, created_at)) = job {
            return Ok(Some(Record {
                request_hash: request_hash.unwrap_or_default(),
                state: "accepted".into(),
                status_code: None,
                response_body: None,
                locked_until: 0,
                expires_at: created_at + ttl_ms,
                job_id: Some(job_id),
            }));
        }
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
        ttl_ms: i64,
    ) -> Result<Option<Claim>, StoreError> {
        let record = self.idempotency_record(account_id, key, ttl_ms).await?;
        Ok(record.filter(|r| r.expires_at >= now_ms()).map(|r| r.answer(hash)))
    }

    /// Store a response for a key nobody holds (a generation request that was
    /// refused, e.g. `INSUFFICIENT_CREDITS`), so its replays answer alike.
    /// A live record already there, or a generation holding the key, wins.
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
             SELECT $1, $2, $3, 'done', $5, $6, NULL, $7, $7, $8 WHERE {NO_LIVE_JOB} {REPLACE_EXPIRED}"
        );
        on_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(account_id).bind(key).bind(hash).bind(now - ttl_ms).bind(i64::from(response.0)).bind(response.1)
            .bind(now).bind(now + ttl_ms)
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Store the response of an acquired key.
    pub async fn complete_idempotency(
        &self,
        account_id: &str,
        key: &str,
        owner: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', status_code = $3, response_body = $4 \
             WHERE account_id = $1 AND key = $2 AND owner = $5",
        )
        .bind(account_id).bind(key).bind(i64::from(status)).bind(body).bind(owner)
        .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Forget an acquired key (responses that must not be replayed: 401, 429).
    pub async fn release_idempotency(&self, account_id: &str, key: &str, owner: &str) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query(
            "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND state = 'in_progress' AND owner = $3",
        )
            .bind(account_id).bind(key).bind(owner).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Keep `owner`'s claim on an Idempotency-Key until `until` (Unix ms)
    /// while its request runs; false if the claim is no longer its own.
    pub async fn renew_idempotency(
        &self,
        account_id: &str,
        key: &str,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        let renewed = on_db!(self, pool => sqlx::query(
            "UPDATE idempotency_keys SET locked_until = $4 \
             WHERE account_id = $1 AND key = $2 AND owner = $3 AND state = 'in_progress'",
        )
        .bind(account_id).bind(key).bind(owner).bind(until).execute(pool).await?.rows_affected());
        Ok(renewed == 1)
    }

    /// Delete expired records and release keys of generations older than
    /// `ttl_ms`; returns how many.
    pub async fn purge_idempotency(&self, ttl_ms: i64) -> Result<u64, StoreError> {
        let now = now_ms();
        let records = on_db!(self, pool => sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < $1")
            .bind(now).execute(pool).await?.rows_affected());
        let jobs = on_db!(self, pool => sqlx::query(
            "UPDATE jobs SET idempotency_key = NULL, idempotency_hash = NULL \
             WHERE idempotency_key IS NOT NULL AND created_at < $1",
        )
        .bind(now - ttl_ms).execute(pool).await?.rows_affected());
        Ok(records + jobs)
    }

    /// Number of keys an account holds, as records or on generations (for
    /// tests and admin views).
    pub async fn idempotency_records(&self, account_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_db!(self, pool => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM idempotency_keys WHERE account_id = $1) \
             + (SELECT COUNT(*) FROM jobs WHERE account_id = $1 AND idempotency_key IS NOT NULL)",
        )
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
            async move { store.claim_idempotency(&account, "k", hash, "o", lock, ttl).await.unwrap() }
        };
        assert_eq!(claim("h1", 60_000, 60_000).await, Claim::Acquired);
        assert_eq!(claim("h1", 60_000, 60_000).await, Claim::InProgress);
        assert_eq!(claim("h2", 60_000, 60_000).await, Claim::Mismatch);
        store.complete_idempotency(&account, "k", "o", 200, "{\"data\":1}").await.unwrap();
        assert_eq!(claim("h1", 60_000, 60_000).await, Claim::Replay { status: 200, body: "{\"data\":1}".into() });
        assert_eq!(claim("h2", 60_000, 60_000).await, Claim::Mismatch);

        // Released keys can be claimed again.
        assert_eq!(store.claim_idempotency(&account, "r", "h", "o", 60_000, 60_000).await.unwrap(), Claim::Acquired);
        store.release_idempotency(&account, "r", "o").await.unwrap();
        assert_eq!(store.claim_idempotency(&account, "r", "h", "o", 60_000, 60_000).await.unwrap(), Claim::Acquired);

        // A holder that died: its lock lapses and the same request takes over.
        assert_eq!(store.claim_idempotency(&account, "s", "h", "o", -1, 60_000).await.unwrap(), Claim::Acquired);
        assert_eq!(store.claim_idempotency(&account, "s", "h", "o", 60_000, 60_000).await.unwrap(), Claim::Acquired);

        // Expired records are replaced, and purged.
        assert_eq!(store.claim_idempotency(&account, "e", "h", "o", 60_000, -1).await.unwrap(), Claim::Acquired);
        store.complete_idempotency(&account, "e", "o", 200, "{}").await.unwrap();
        assert_eq!(store.claim_idempotency(&account, "e", "other", "o", 60_000, -1).await.unwrap(), Claim::Acquired);
        assert_eq!(store.purge_idempotency(60_000).await.unwrap(), 1);
        assert_eq!(store.idempotency_records(&account).await.unwrap(), 3);
    }

    fn generation(account: &str, key: &str, hash: &str, ttl_ms: i64) -> crate::store::jobs::NewJob {
        crate::store::jobs::NewJob {
            id: format!("gen_{}", uuid::Uuid::new_v4().simple()),
            account_id: account.into(),
            test_mode: true,
            kind: "video".into(),
            provider: "placeholder".into(),
            plugin_id: "placeholder".into(),
            plugin_sha256: "00".into(),
            request: "{}".into(),
            credit_cost: 1,
            estimated_seconds: 1,
            deadline_at: now_ms() + 60_000,
            webhook_url: None,
            webhook_progress: false,
            daily_limit: None,
            day_start: 0,
            queue_limit: None,
            idempotency: Some(crate::store::jobs::IdempotencyTake {
                key: key.into(),
                request_hash: hash.into(),
                ttl_ms,
            }),
            routing: None,
            start_now: None,
        }
    }

    #[tokio::test]
    async fn only_the_claims_owner_renews_completes_or_releases_it() {
        let (_dir, store, account) = store().await;
        assert_eq!(store.claim_idempotency(&account, "k", "h", "first", -1, 60_000).await.unwrap(), Claim::Acquired);
        // The first request's claim lapsed; a retry takes it over.
        assert_eq!(
            store.claim_idempotency(&account, "k", "h", "retry", 60_000, 60_000).await.unwrap(),
            Claim::Acquired
        );
        assert!(!store.renew_idempotency(&account, "k", "first", now_ms() + 60_000).await.unwrap());
        store.complete_idempotency(&account, "k", "first", 200, "{\"late\":1}").await.unwrap();
        store.release_idempotency(&account, "k", "first").await.unwrap();
        assert_eq!(
            store.claim_idempotency(&account, "k", "h", "third", 60_000, 60_000).await.unwrap(),
            Claim::InProgress,
            "the loser neither completed nor released the retry's claim"
        );
        assert!(store.renew_idempotency(&account, "k", "retry", now_ms() + 60_000).await.unwrap());
        store.complete_idempotency(&account, "k", "retry", 200, "{\"data\":2}").await.unwrap();
        assert_eq!(
            store.claim_idempotency(&account, "k", "h", "fourth", 60_000, 60_000).await.unwrap(),
            Claim::Replay { status: 200, body: "{\"data\":2}".into() }
        );
    }

    #[tokio::test]
    async fn a_generation_holds_its_key() {
        use crate::store::jobs::Refusal;
        const TTL: i64 = 60_000;
        let (_dir, store, account) = store().await;
        let first = store.insert_job(&generation(&account, "k", "h", TTL)).await.unwrap().unwrap();
        assert_eq!(
            store.insert_job(&generation(&account, "k", "h", TTL)).await.unwrap().unwrap_err(),
            Refusal::IdempotencyKeyTaken
        );
        let accepted = Claim::Accepted { job_id: first.id.clone() };
        assert_eq!(store.idempotency_answer(&account, "k", "h", TTL).await.unwrap(), Some(accepted.clone()));
        assert_eq!(store.idempotency_answer(&account, "k", "other", TTL).await.unwrap(), Some(Claim::Mismatch));
        // Other mutations with the key (or the same one with `Prefer: wait`)
        // are answered from the generation, and a refusal does not replace it.
        assert_eq!(store.claim_idempotency(&account, "k", "h", "o", 60_000, TTL).await.unwrap(), accepted);
        store.record_idempotent_response(&account, "k", "h", (200, "{}"), TTL).await.unwrap();
        assert_eq!(store.idempotency_answer(&account, "k", "h", TTL).await.unwrap(), Some(accepted));
        assert_eq!(store.idempotency_records(&account).await.unwrap(), 1);

        // A stored refusal holds its key against a generation.
        store.record_idempotent_response(&account, "r", "h", (200, "{\"errors\":[]}"), TTL).await.unwrap();
        assert_eq!(
            store.insert_job(&generation(&account, "r", "h", TTL)).await.unwrap().unwrap_err(),
            Refusal::IdempotencyKeyTaken
        );
        assert_eq!(
            store.idempotency_answer(&account, "r", "h", TTL).await.unwrap(),
            Some(Claim::Replay { status: 200, body: "{\"errors\":[]}".into() })
        );

        // Past its retention the key is free again, before the purge clears it…
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let second = store.insert_job(&generation(&account, "k", "h", 1)).await.unwrap().unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(store.job(&first.id).await.unwrap().unwrap().id, first.id, "the old generation stays");
        // …and after.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(store.purge_idempotency(1).await.unwrap(), 1);
        assert_eq!(store.idempotency_answer(&account, "k", "h", 1).await.unwrap(), None);
        assert!(store.insert_job(&generation(&account, "k", "h", TTL)).await.unwrap().is_ok());
    }
}
