//! Accounts, API keys and credit grants.
//!
//! API keys are stored only as SHA-256 hashes; the plaintext exists once,
//! in the return value of [`Store::create_key`].

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use super::{Store, StoreError, now_ms, on_db};

/// An account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    /// `acc_…`.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Plan name (`free`, `starter`, `pro`, `enterprise`).
    pub plan: String,
    /// Available credits (reservations already deducted).
    pub credits: i64,
    /// Per-account override of the plan's RPM.
    pub rpm_limit: Option<i64>,
    /// Per-account override of the plan's concurrency.
    pub concurrent_limit: Option<i64>,
    /// Per-account override of the plan's daily cap.
    pub daily_limit: Option<i64>,
    /// `whsec_…` signing secret for webhooks.
    pub webhook_secret: String,
    /// The secret before the last rotation, still signing until
    /// `webhook_secret_previous_until`.
    pub webhook_secret_previous: Option<String>,
    /// End of the previous secret's grace (Unix ms).
    pub webhook_secret_previous_until: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Generations waiting or running (kept by the job transactions).
    pub active_jobs: i64,
    /// Start of the UTC day `day_count` counts (Unix ms).
    pub day_start: i64,
    /// Generations accepted since `day_start`.
    pub day_count: i64,
}

/// An account read through one of its keys.
#[derive(sqlx::FromRow)]
struct KeyedAccount {
    #[sqlx(flatten)]
    account: Account,
    key_test_mode: bool,
}

/// An API key (without its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    /// `key_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// First characters of the key, for display.
    pub prefix: String,
    /// `dt_test_` keys run on the placeholder and move no credits.
    pub test_mode: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// SHA-256 hex of an API key, as stored.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A random id with a prefix, e.g. `acc_3fJ…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(20))
}

fn random_token(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

const ACCOUNT_COLUMNS: &str = "id, name, plan, credits, rpm_limit, concurrent_limit, daily_limit, webhook_secret, \
    webhook_secret_previous, webhook_secret_previous_until, created_at, active_jobs, day_start, day_count";

impl Account {
    /// The secrets that sign a delivery at `now` (Unix ms): the current one,
    /// then the previous one while its grace lasts.
    pub fn webhook_secrets(&self, now: i64) -> Vec<&str> {
        let previous = match (&self.webhook_secret_previous, self.webhook_secret_previous_until) {
            (Some(secret), Some(until)) if until > now => Some(secret.as_str()),
            _ => None,
        };
        std::iter::once(self.webhook_secret.as_str()).chain(previous).collect()
    }
}

impl Store {
    /// Create an account with an initial grant of `credits`.
    pub async fn create_account(&self, name: &str, plan: &str, credits: i64) -> Result<Account, StoreError> {
        let id = new_id("acc");
        let secret = crate::webhooks::signing::new_secret();
        let now = now_ms();
        on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO accounts (id, name, plan, credits, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id).bind(name).bind(plan).bind(credits.max(0)).bind(&secret).bind(now)
            .execute(&mut *tx).await?;
            if credits > 0 {
                sqlx::query(
                    "INSERT INTO ledger (account_id, job_id, entry, amount, balance_after, created_at) VALUES ($1, NULL, 'grant', $2, $2, $3)",
                )
                .bind(&id).bind(credits).bind(now)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(self.account(&id).await?.expect("account just inserted"))
    }

    /// An account by id.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?))
    }

    /// An account by name.
    pub async fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = $1");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(pool).await?))
    }

    /// Every account, oldest first.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id");
        Ok(on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?))
    }

    /// Whether any account exists (a brand-new database has none).
    pub async fn has_accounts(&self) -> Result<bool, StoreError> {
        let row: Option<(String,)> =
            on_db!(self, pool => sqlx::query_as("SELECT id FROM accounts LIMIT 1").fetch_optional(pool).await?);
        Ok(row.is_some())
    }

    /// Add (or, with a negative amount, remove) credits; never below zero.
    /// Returns the new balance, or `None` when the account does not exist
    /// or the removal would overdraw it.
    pub async fn grant_credits(&self, account_id: &str, amount: i64) -> Result<Option<i64>, StoreError> {
        let now = now_ms();
        Ok(on_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let balance: Option<(i64,)> = sqlx::query_as(
                "UPDATE accounts SET credits = credits + $1 WHERE id = $2 AND credits + $1 >= 0 RETURNING credits",
            )
            .bind(amount).bind(account_id)
            .fetch_optional(&mut *tx).await?;
            if let Some((balance,)) = balance {
                sqlx::query(
                    "INSERT INTO ledger (account_id, job_id, entry, amount, balance_after, created_at) VALUES ($1, NULL, 'grant', $2, $3, $4)",
                )
                .bind(account_id).bind(amount).bind(balance).bind(now)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            balance.map(|(b,)| b)
        }))
    }

    /// Create an API key; returns the plaintext (shown once) and its record.
    pub async fn create_key(&self, account_id: &str, test_mode: bool) -> Result<(String, ApiKey), StoreError> {
        let key = format!("dt_{}_{}", if test_mode { "test" } else { "live" }, random_token(32));
        let id = new_id("key");
        let prefix: String = key.chars().take(12).collect();
        on_db!(self, pool => {
            sqlx::query(
                "INSERT INTO api_keys (id, account_id, key_hash, prefix, test_mode, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id).bind(account_id).bind(hash_key(&key)).bind(&prefix).bind(test_mode).bind(now_ms())
            .execute(pool).await?;
        });
        let record = self.key_by_id(&id).await?.expect("key just inserted");
        Ok((key, record))
    }

    async fn key_by_id(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT id, account_id, prefix, test_mode, created_at, revoked_at FROM api_keys WHERE id = $1",
        ).bind(id).fetch_optional(pool).await?))
    }

    /// The live (unrevoked) key whose plaintext is `key`.
    pub async fn key_by_plaintext(&self, key: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT id, account_id, prefix, test_mode, created_at, revoked_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        ).bind(hash_key(key)).fetch_optional(pool).await?))
    }

    /// The account of the live (unrevoked) key `key`, and whether it is a
    /// test key: what authenticating a request needs, in one statement.
    pub async fn account_by_key(&self, key: &str) -> Result<Option<(Account, bool)>, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let columns: Vec<String> = ACCOUNT_COLUMNS.split(',').map(|c| format!("a.{}", c.trim())).collect();
            format!(
                "SELECT {}, k.test_mode AS key_test_mode FROM api_keys k JOIN accounts a ON a.id = k.account_id \
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
                columns.join(", ")
            )
        });
        let row: Option<KeyedAccount> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(hash_key(key)).fetch_optional(pool).await?);
        Ok(row.map(|r| (r.account, r.key_test_mode)))
    }

    /// Keys of an account.
    pub async fn keys(&self, account_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT id, account_id, prefix, test_mode, created_at, revoked_at FROM api_keys WHERE account_id = $1 ORDER BY created_at",
        ).bind(account_id).fetch_all(pool).await?))
    }

    /// Revoke a key; false if it did not exist or was already revoked.
    pub async fn revoke_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let done = on_db!(self, pool => sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        ).bind(now_ms()).bind(key_id).execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Ledger entries of an account, newest first: (entry, amount, balance_after, job_id, created_at).
    pub async fn ledger(&self, account_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT id, account_id, job_id, entry, amount, balance_after, created_at FROM ledger WHERE account_id = $1 ORDER BY id DESC",
        ).bind(account_id).fetch_all(pool).await?))
    }
}

impl Store {
    /// Ledger lines of an account, newest first, before line `before` (a cursor).
    pub async fn ledger_page(
        &self,
        account_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(on_db!(self, pool => sqlx::query_as(
            "SELECT id, account_id, job_id, entry, amount, balance_after, created_at FROM ledger \
             WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        ).bind(account_id).bind(before.unwrap_or(i64::MAX)).bind(limit).fetch_all(pool).await?))
    }

    /// Change an account's plan and its own limit overrides (`None` clears one).
    pub async fn set_plan(
        &self,
        account_id: &str,
        plan: &str,
        rpm: Option<i64>,
        concurrent: Option<i64>,
        daily: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE accounts SET plan = $2, rpm_limit = $3, concurrent_limit = $4, daily_limit = $5 WHERE id = $1",
        ).bind(account_id).bind(plan).bind(rpm).bind(concurrent).bind(daily).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }
}

/// One line of the credits ledger.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerEntry {
    /// Sequence number.
    pub id: i64,
    /// Account.
    pub account_id: String,
    /// The generation it belongs to, if any.
    pub job_id: Option<String>,
    /// `grant`, `reserve`, `capture` or `refund`.
    pub entry: String,
    /// Signed change to the balance.
    pub amount: i64,
    /// Balance after this entry.
    pub balance_after: i64,
    /// Unix ms.
    pub created_at: i64,
}
