//! An account's own API keys, managed by their holders (the console's key
//! page, `apiKeys` / `createKey` / `revokeKey`): a live key sees and acts
//! on every key of its account; a test key only on test keys, so a leaked
//! test key can neither mint a live key nor lock the owner out.
//!
//! Operator actions on any account's keys are [`crate::admin`]'s. This
//! module must never reach another account's keys.

use crate::error::{ApiError, ErrorCode};
use crate::jobs::Caller;
use crate::store::Store;
use crate::store::accounts::ApiKey;

/// Most active keys one account may hold.
pub const MAX_ACTIVE_KEYS: usize = 25;

/// Key management for key holders.
#[derive(Clone)]
pub struct Keys {
    store: Store,
}

impl Keys {
    /// Over `store`.
    pub fn new(store: Store) -> Keys {
        Keys { store }
    }

    /// The caller's account's keys it may see, newest first (prefixes only).
    pub async fn list(&self, caller: &Caller) -> Result<Vec<ApiKey>, ApiError> {
        let mut keys = self.store.keys(&caller.account_id).await?;
        keys.retain(|k| !caller.test_mode || k.test_mode);
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(keys)
    }

    /// A new key for the caller's account; the plaintext is returned once.
    pub async fn create(&self, caller: &Caller, test: bool) -> Result<(String, ApiKey), ApiError> {
        if caller.test_mode && !test {
            return Err(ApiError::new(ErrorCode::Forbidden, "test keys cannot create live keys; use a live key"));
        }
        let active = self.store.keys(&caller.account_id).await?.iter().filter(|k| k.revoked_at.is_none()).count();
        if active >= MAX_ACTIVE_KEYS {
            return Err(ApiError::invalid(
                "test",
                format!("the account already has {MAX_ACTIVE_KEYS} active keys; revoke one first"),
            )
            .with("limit", "keys"));
        }
        Ok(self.store.create_key(&caller.account_id, test).await?)
    }

    /// Revoke one of the account's keys; false if it was revoked already.
    pub async fn revoke(&self, caller: &Caller, key_id: &str) -> Result<bool, ApiError> {
        let keys = self.store.keys(&caller.account_id).await?;
        let key = keys.iter().find(|k| k.id == key_id && (!caller.test_mode || k.test_mode));
        let Some(key) = key else {
            return Err(ApiError::new(ErrorCode::NotFound, format!("no key `{key_id}` in this account")));
        };
        if key.revoked_at.is_some() {
            return Ok(false);
        }
        Ok(self.store.revoke_key(key_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn test_keys_reach_test_keys_only_and_accounts_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let (a, b) =
            (store.create_account("a", "free", 0).await.unwrap(), store.create_account("b", "free", 0).await.unwrap());
        let keys = Keys::new(store.clone());
        let live = Caller { account_id: a.id.clone(), test_mode: false };
        let test = Caller { account_id: a.id.clone(), test_mode: true };
        let other = Caller { account_id: b.id.clone(), test_mode: false };

        let (plain, live_key) = keys.create(&live, false).await.unwrap();
        assert!(plain.starts_with("dt_live_"));
        let (_, test_key) = keys.create(&test, true).await.unwrap();
        assert_eq!(keys.create(&test, false).await.unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(keys.list(&live).await.unwrap().len(), 2);
        assert_eq!(keys.list(&test).await.unwrap().iter().map(|k| &k.id).collect::<Vec<_>>(), [&test_key.id]);
        assert_eq!(keys.revoke(&test, &live_key.id).await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(keys.revoke(&other, &test_key.id).await.unwrap_err().code, ErrorCode::NotFound);
        assert!(keys.revoke(&live, &test_key.id).await.unwrap());
        assert!(!keys.revoke(&live, &test_key.id).await.unwrap(), "already revoked");
        assert!(store.key_by_plaintext(&plain).await.unwrap().is_some());
    }
}
