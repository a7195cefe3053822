//! Operator actions on accounts, credits, plans and API keys: the rules
//! (known plan, unique account name, no negative balance, key for an
//! existing account) in one place, used alike by the GraphQL admin fields,
//! the CLI and embedding applications ([`crate::Gateway::admin`]).
//!
//! Authorisation is the caller's business (the admin token in GraphQL,
//! file access for the CLI); this module must never check it.

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::gateway::StartError;
use crate::limits::PLAN_NAMES;
use crate::store::accounts::ApiKey;
use crate::store::{Account, Store};

/// Per-account limits replacing the plan's (`None` keeps the plan's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// Write requests per minute.
    pub rpm: Option<i64>,
    /// Generations running at once.
    pub concurrent: Option<i64>,
    /// Generations per UTC day.
    pub daily: Option<i64>,
}

/// Operator actions over one store.
#[derive(Clone)]
pub struct Admin {
    store: Store,
}

impl Admin {
    /// Actions on `store`.
    pub fn new(store: Store) -> Admin {
        Admin { store }
    }

    /// Actions on the database of `config` (migrated if needed), without
    /// starting a gateway: what the CLI's `accounts` and `keys` use.
    pub async fn open(config: &Config) -> Result<Admin, StartError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: config.data_dir.clone(), source })?;
        let mut config = config.clone();
        config.fill_defaults();
        Ok(Admin::new(Store::open(&config.database_url).await?))
    }

    /// Create an account on `plan` with `credits` (a grant line in the ledger).
    pub async fn create_account(&self, name: &str, plan: &str, credits: i64) -> Result<Account, ApiError> {
        check_plan(plan)?;
        if credits < 0 {
            return Err(ApiError::invalid("credits", "credits must not be negative"));
        }
        if name.trim().is_empty() {
            return Err(ApiError::invalid("name", "an account needs a name"));
        }
        if self.store.account_by_name(name).await?.is_some() {
            return Err(ApiError::invalid("name", format!("an account named {name:?} already exists")));
        }
        Ok(self.store.create_account(name, plan, credits).await?)
    }

    /// Every account.
    pub async fn accounts(&self) -> Result<Vec<Account>, ApiError> {
        Ok(self.store.accounts().await?)
    }

    /// An account by id or, failing that, by name.
    pub async fn find_account(&self, id_or_name: &str) -> Result<Account, ApiError> {
        if let Some(account) = self.store.account(id_or_name).await? {
            return Ok(account);
        }
        self.store
            .account_by_name(id_or_name)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no account {id_or_name:?}")))
    }

    /// Add credits (negative: remove them); the new balance. Refused when
    /// the balance would go below zero.
    pub async fn grant_credits(&self, account_id: &str, amount: i64) -> Result<i64, ApiError> {
        self.store.grant_credits(account_id, amount).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InsufficientCredits,
                "no such account, or the removal would make the balance negative",
            )
        })
    }

    /// Move an account to `plan` with its own overrides (replacing earlier ones).
    pub async fn set_plan(&self, account_id: &str, plan: &str, overrides: LimitOverrides) -> Result<(), ApiError> {
        check_plan(plan)?;
        let LimitOverrides { rpm, concurrent, daily } = overrides;
        if self.store.set_plan(account_id, plan, rpm, concurrent, daily).await? {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::NotFound, format!("no account `{account_id}`")))
        }
    }

    /// A new API key for an account (live, or test mode); the key itself is
    /// returned once and stored only as a hash.
    pub async fn create_key(&self, account_id: &str, test: bool) -> Result<(String, ApiKey), ApiError> {
        if self.store.account(account_id).await?.is_none() {
            return Err(ApiError::new(ErrorCode::NotFound, format!("no account `{account_id}`")));
        }
        Ok(self.store.create_key(account_id, test).await?)
    }

    /// An account's keys (prefixes only).
    pub async fn keys(&self, account_id: &str) -> Result<Vec<ApiKey>, ApiError> {
        Ok(self.store.keys(account_id).await?)
    }

    /// Revoke a key by id (`key_…`); false if there was no active one.
    pub async fn revoke_key(&self, key_id: &str) -> Result<bool, ApiError> {
        Ok(self.store.revoke_key(key_id).await?)
    }
}

fn check_plan(plan: &str) -> Result<(), ApiError> {
    if PLAN_NAMES.contains(&plan) {
        return Ok(());
    }
    Err(ApiError::invalid("plan", format!("unknown plan {plan:?}; plans: {}", PLAN_NAMES.join(", ")))
        .with("allowedValues", PLAN_NAMES.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rules_hold_for_every_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("a.db").display())).await.unwrap();
        let admin = Admin::new(store);
        let code = |e: ApiError| e.code;
        assert_eq!(admin.create_account("a", "gold", 0).await.map_err(code).unwrap_err(), ErrorCode::InvalidInput);
        assert_eq!(admin.create_account("a", "free", -1).await.map_err(code).unwrap_err(), ErrorCode::InvalidInput);
        let a = admin.create_account("a", "free", 5).await.unwrap();
        assert_eq!(admin.create_account("a", "pro", 0).await.map_err(code).unwrap_err(), ErrorCode::InvalidInput);
        assert_eq!(admin.find_account("a").await.unwrap().id, a.id);
        assert_eq!(admin.grant_credits(&a.id, -6).await.map_err(code).unwrap_err(), ErrorCode::InsufficientCredits);
        assert_eq!(admin.grant_credits(&a.id, 10).await.unwrap(), 15);
        admin.set_plan(&a.id, "pro", LimitOverrides { rpm: Some(7), ..Default::default() }).await.unwrap();
        assert_eq!(admin.find_account(&a.id).await.unwrap().plan, "pro");
        assert_eq!(
            admin.set_plan("acc_none", "pro", LimitOverrides::default()).await.unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(admin.create_key("acc_none", false).await.map_err(code).unwrap_err(), ErrorCode::NotFound);
        let (key, record) = admin.create_key(&a.id, true).await.unwrap();
        assert!(key.starts_with("dt_test_"));
        assert!(admin.revoke_key(&record.id).await.unwrap());
        assert!(!admin.revoke_key(&record.id).await.unwrap());
    }
}
