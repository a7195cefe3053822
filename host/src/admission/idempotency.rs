//! Idempotency-Keys: claiming a key before a request runs, keeping the
//! claim alive while it runs (a heartbeat), and recording or releasing it
//! after, so a retried request is answered, never executed twice.
//!
//! A request that starts exactly one generation and does not wait takes its
//! key inside the generation's accepting transaction (no extra statement);
//! any other mutation claims the key first, with an owner token: only the
//! holder may renew, complete or release the claim, and an expired claim
//! taken over by a retry can no longer be completed by the first request.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode};
use crate::jobs::Caller;
use crate::store::jobs::IdempotencyTake;
use crate::store::{Claim, Store};

/// Longest accepted Idempotency-Key.
pub const MAX_KEY_LEN: usize = 255;

/// A request's Idempotency-Key with what it is checked against.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub(super) key: String,
    pub(super) hash: String,
    pub(super) ttl_ms: i64,
    /// This request's claim token.
    pub(super) owner: String,
    /// How long a claim lasts without a heartbeat.
    pub(super) lock_ms: i64,
    /// Taken by the generation's own transaction.
    pub(super) in_transaction: bool,
}

impl IdempotencyKey {
    /// The key, checked: 1 to [`MAX_KEY_LEN`] visible ASCII characters.
    pub(super) fn parse(raw: &[u8]) -> Result<String, ApiError> {
        let text = std::str::from_utf8(raw).ok().map(str::trim).filter(|k| {
            !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        });
        text.map(str::to_string).ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
        })
    }

    pub(super) fn take(&self) -> KeyToTake {
        KeyToTake(IdempotencyTake { key: self.key.clone(), request_hash: self.hash.clone(), ttl_ms: self.ttl_ms })
    }
}

/// How a request that starts one generation uses its Idempotency-Key;
/// handed to the schema with the request.
#[derive(Debug, Clone)]
pub enum IdempotentGeneration {
    /// Take the key in the transaction that accepts the generation.
    Take(KeyToTake),
    /// The key accepted this generation: answer with it as accepted.
    Replay {
        /// The generation's id.
        job_id: String,
    },
}

/// A key the accepting transaction takes (opaque outside admission).
#[derive(Debug, Clone)]
pub struct KeyToTake(IdempotencyTake);

impl KeyToTake {
    /// Have `request`'s accepting transaction take this key.
    pub fn apply(&self, request: &mut crate::jobs::GenerateRequest) {
        request.idempotency = Some(self.0.clone());
    }
}

/// The answer an earlier request with the same key left.
#[derive(Debug, Clone)]
pub enum Earlier {
    /// Its stored response, replayed as sent.
    Replay {
        /// HTTP status of the first response.
        status: u16,
        /// Body of the first response.
        body: String,
    },
    /// It accepted this generation: run the request again over it, as accepted
    /// ([`IdempotentGeneration::Replay`]).
    Accepted {
        /// The generation's id.
        job_id: String,
    },
    /// It is still running, or the key was used with another request.
    Refused(ApiError),
}

impl From<Claim> for Earlier {
    fn from(claim: Claim) -> Earlier {
        match claim {
            Claim::Mismatch => Earlier::Refused(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request; use a new key for a new request",
            )),
            Claim::Acquired | Claim::InProgress => Earlier::Refused(ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "a request with this Idempotency-Key is still running; retry shortly to get its response",
            )),
            Claim::Replay { status, body } => Earlier::Replay { status, body },
            Claim::Accepted { job_id } => Earlier::Accepted { job_id },
        }
    }
}

/// What running a keyed request did, as far as its key cares.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    /// It was refused by a rate limit (HTTP 429).
    pub rate_limited: bool,
    /// Some root field returned something (a generation was created, a
    /// setting changed): the answer must be kept even if another failed.
    pub changed_something: bool,
    /// It reported errors.
    pub has_errors: bool,
    /// Its generation's transaction found the key already taken.
    pub lost_race: bool,
    /// The HTTP status it is answered with.
    pub status: u16,
}

/// Claim the key for a request that is not taken in a transaction:
/// `None` when this request holds it now.
pub(super) async fn claim(store: &Store, caller: &Caller, idem: &IdempotencyKey) -> Result<Option<Earlier>, ApiError> {
    let claim = store
        .claim_idempotency(&caller.account_id, &idem.key, &idem.hash, &idem.owner, idem.lock_ms, idem.ttl_ms)
        .await?;
    Ok(match claim {
        Claim::Acquired => None,
        other => Some(other.into()),
    })
}

/// What an earlier request with this key left, if anything.
pub(super) async fn earlier(
    store: &Store,
    caller: &Caller,
    idem: &IdempotencyKey,
) -> Result<Option<Earlier>, ApiError> {
    let answer = store.idempotency_answer(&caller.account_id, &idem.key, &idem.hash, idem.ttl_ms).await?;
    Ok(answer.map(Earlier::from))
}

/// Renew the claim every quarter of its lifetime; never returns.
pub(super) async fn heartbeat(store: &Store, caller: &Caller, idem: &IdempotencyKey) {
    let every = Duration::from_millis((idem.lock_ms / 4).max(50) as u64);
    loop {
        tokio::time::sleep(every).await;
        let until = crate::store::now_ms() + idem.lock_ms;
        if let Err(e) = store.renew_idempotency(&caller.account_id, &idem.key, &idem.owner, until).await {
            tracing::warn!("renewing an Idempotency-Key claim failed: {e}");
        }
    }
}

/// Record what the request did under its key (or release the key when it
/// changed nothing and may be retried); `Some` when another request with
/// the key was accepted first and this one must answer as that one did.
pub(super) async fn settle(
    store: &Store,
    caller: &Caller,
    idem: &IdempotencyKey,
    ran: Ran,
    body: &str,
) -> Option<Earlier> {
    let account = &caller.account_id;
    if idem.in_transaction && ran.lost_race {
        return Some(match earlier(store, caller, idem).await {
            Ok(answer) => answer.unwrap_or(Earlier::from(Claim::InProgress)),
            Err(e) => Earlier::Refused(e),
        });
    }
    // A 429 that changed nothing is not stored: the client may retry it
    // with the same key. One where another root field already did
    // something (a generation created, then the next one refused) is
    // stored like any answer, so a retry cannot do that something twice.
    let stored = match (ran.rate_limited, idem.in_transaction) {
        (true, true) => Ok(()),
        (true, false) if !ran.changed_something => store.release_idempotency(account, &idem.key, &idem.owner).await,
        // Accepted: recorded by its transaction. Refused: store the answer.
        (false, true) if !ran.has_errors => Ok(()),
        (false, true) => {
            store.record_idempotent_response(account, &idem.key, &idem.hash, (ran.status, body), idem.ttl_ms).await
        }
        (_, false) => store.complete_idempotency(account, &idem.key, &idem.owner, ran.status, body).await,
    };
    if let Err(e) = stored {
        tracing::error!("storing the idempotent response failed: {e}");
    }
    None
}

/// SHA-256 of the request body with object keys sorted, so the same request
/// serialised in another key order still matches its Idempotency-Key.
pub(super) fn request_hash(body: &[u8]) -> String {
    fn canonical(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: std::collections::BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(canonical).collect()),
            other => other,
        }
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => canonical(v).to_string(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert_eq!(IdempotencyKey::parse(b" order-42 ").unwrap(), "order-42");
        assert!(IdempotencyKey::parse(b"").is_err());
        assert!(IdempotencyKey::parse(&[b'k'; 256]).is_err());
        assert!(IdempotencyKey::parse("clé".as_bytes()).is_err());
    }

    fn ran(rate_limited: bool, changed_something: bool) -> Ran {
        let status = if rate_limited { 429 } else { 200 };
        Ran { rate_limited, changed_something, has_errors: rate_limited, lost_race: false, status }
    }

    /// A refused request that changed nothing gives its key back; one that
    /// already created something keeps it, with its answer.
    #[tokio::test]
    async fn a_key_is_released_only_when_nothing_was_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let account = store.create_account("a", "free", 0).await.unwrap();
        let caller = Caller { account_id: account.id, test_mode: false };
        let key = |owner: &str| IdempotencyKey {
            key: "k".into(),
            hash: "h".into(),
            ttl_ms: 3_600_000,
            owner: owner.into(),
            lock_ms: 60_000,
            in_transaction: false,
        };

        assert!(claim(&store, &caller, &key("first")).await.unwrap().is_none());
        assert!(matches!(claim(&store, &caller, &key("other")).await.unwrap(), Some(Earlier::Refused(_))));
        assert!(settle(&store, &caller, &key("first"), ran(true, false), "{}").await.is_none());
        // Released: the retry runs.
        assert!(claim(&store, &caller, &key("retry")).await.unwrap().is_none());
        let body = r#"{"data":{"a0":{"id":"gen_1"},"a1":null}}"#;
        assert!(settle(&store, &caller, &key("retry"), ran(true, true), body).await.is_none());
        // Kept: the next retry is answered, not run.
        match claim(&store, &caller, &key("again")).await.unwrap() {
            Some(Earlier::Replay { status, body: replayed }) => assert_eq!((status, replayed.as_str()), (429, body)),
            other => panic!("expected a replay, got {other:?}"),
        }
        // Someone else's claim cannot be completed by a request that lost it.
        assert!(claim(&store, &caller, &IdempotencyKey { key: "k2".into(), ..key("holder") }).await.unwrap().is_none());
        let late = IdempotencyKey { key: "k2".into(), ..key("expired-holder") };
        settle(&store, &caller, &late, ran(false, true), "{}").await;
        assert!(matches!(
            claim(&store, &caller, &IdempotencyKey { key: "k2".into(), ..key("third") }).await.unwrap(),
            Some(Earlier::Refused(_))
        ));
    }

    #[test]
    fn hash_ignores_key_order() {
        assert_eq!(request_hash(br#"{"a":1,"b":{"c":2,"d":3}}"#), request_hash(br#"{"b":{"d":3,"c":2},"a":1}"#));
        assert_ne!(request_hash(br#"{"a":1}"#), request_hash(br#"{"a":2}"#));
    }
}
