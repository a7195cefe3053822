//! Admission: the one place that decides whether a request may run, for
//! `POST /graphql` and `/graphql/ws` alike.
//!
//! It owns who the caller is (API key or operator token, with a negative
//! cache for unknown keys), what the operation may cost (root fields, each
//! mutation root field one write), the plan's cheap limits (RPM for writes,
//! `limits.read_rpm` for reads, daily and queue limits for generations),
//! and Idempotency-Keys. Everything is checked before the operation runs,
//! so a refused request costs no validation, media fetch or sandboxed
//! quote. The answer is typed ([`Outcome`]); the transports only turn it
//! into HTTP responses or socket messages.
//!
//! This module must never execute GraphQL or know HTTP types: the GraphQL
//! layer adapts it, and business rules of a generation stay in `jobs`.

mod idempotency;
mod keys;
pub mod shape;

use std::sync::Arc;
use std::time::Duration;

pub use idempotency::{Earlier, IdempotencyKey, IdempotentGeneration, KeyToTake, MAX_KEY_LEN, Ran};
pub use keys::constant_time_eq as secret_eq;
pub use shape::{Kind, MAX_NESTING, MAX_SELECTIONS, Oversized, Shape, inspect};

use crate::error::{ApiError, ErrorCode};
use crate::jobs::{Caller, Jobs};
use crate::limits::{Counters, Decision};
use crate::store::Account;

/// The window of the per-minute limits.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Longest `Prefer: wait` honoured, in seconds.
pub const MAX_PREFER_WAIT_SECS: u64 = 60;
/// How long a crashed request can hold its Idempotency-Key, when
/// `limits.idempotency_lock_ms` does not fit.
const IDEMPOTENCY_LOCK_MS: i64 = 120_000;

/// Decides whether requests may run. Cheap to clone.
#[derive(Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Jobs,
    counters: Arc<Counters>,
    unknown: keys::UnknownKeys,
}

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Identity {
    /// The operator, with the configured admin token: no plan, no limits.
    Operator,
    /// An API key's holder.
    Key(Box<Principal>),
}

/// An authenticated API key: its caller and the account as read now.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account and mode the key acts for.
    pub caller: Caller,
    account: Account,
}

/// Where a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST /graphql`: queries and mutations (subscriptions are refused by execution).
    Http,
    /// `/graphql/ws`: subscriptions only.
    Socket,
}

/// A request as admission needs to see it.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// What the document asks for.
    pub shape: Shape,
    /// Where it arrived.
    pub transport: Transport,
    /// The raw `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<&'a [u8]>,
    /// The request body, hashed with the key.
    pub body: &'a [u8],
    /// `Prefer: wait=N` as sent.
    pub prefer_wait: Option<u64>,
}

/// The rate-limit window a request was counted in.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// The counter's verdict.
    pub decision: Decision,
    /// `"writes"` or `"reads"`.
    pub policy: &'static str,
}

/// A refused request.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Why, with its public code.
    pub error: ApiError,
    /// The HTTP status to answer with.
    pub status: u16,
    /// The window it was counted in, for the rate-limit headers.
    pub rate: Option<Rate>,
}

impl Refusal {
    fn new(error: ApiError, rate: Option<Rate>) -> Refusal {
        Refusal { status: error.code.http_status(), error, rate }
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Refusal {
        Refusal::new(error, None)
    }
}

/// A request allowed to run.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Who runs it.
    pub caller: Caller,
    /// The window it was counted in.
    pub rate: Option<Rate>,
    /// Seconds to wait for the generation it starts, capped.
    pub wait: Option<u64>,
    /// How the generation it starts uses its Idempotency-Key.
    pub generation: Option<IdempotentGeneration>,
    idempotency: Option<IdempotencyKey>,
}

/// What admission decided.
#[derive(Debug)]
pub enum Outcome {
    /// Run it, then [`Admission::settle`] it.
    Run(Ticket),
    /// Do not run it: an earlier request with its Idempotency-Key answers.
    Answered {
        /// The earlier answer.
        earlier: Earlier,
        /// Who asked (an accepted generation is rendered for them).
        caller: Caller,
        /// The window it was counted in.
        rate: Option<Rate>,
    },
    /// Refused.
    Refused(Refusal),
}

/// Refuse a document too deep or too large to parse or expand safely
/// (checked for every caller, the operator too: parsing it could abort the
/// process).
pub fn check_size(shape: &Shape) -> Result<(), ApiError> {
    let (limit, message) = match shape.oversized {
        None => return Ok(()),
        Some(Oversized::Nesting) => (
            "graphql_nesting",
            format!("the document nests brackets more than {MAX_NESTING} deep; flatten the query or its arguments"),
        ),
        Some(Oversized::Selections) => {
            ("graphql_selections", format!("the document's fragments expand to more than {MAX_SELECTIONS} selections"))
        }
    };
    Err(ApiError::invalid("query", message).with("limit", limit))
}

impl Admission {
    /// Admission over the job service and the rate-limit counters.
    pub fn new(jobs: Jobs, counters: Arc<Counters>) -> Admission {
        Admission { inner: Arc::new(Inner { jobs, counters, unknown: keys::UnknownKeys::default() }) }
    }

    fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    /// Who sends `bearer`: the operator (admin token, HTTP only) or a key's holder.
    pub async fn identify(&self, bearer: Option<&str>) -> Result<Identity, Refusal> {
        let admin_token = &self.jobs().config().admin_token;
        if !admin_token.is_empty()
            && bearer.is_some_and(|t| keys::constant_time_eq(t.as_bytes(), admin_token.as_bytes()))
        {
            return Ok(Identity::Operator);
        }
        self.authenticate(bearer).await.map(|p| Identity::Key(Box::new(p)))
    }

    /// The holder of API key `bearer`.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, Refusal> {
        let Some(token) = bearer.filter(|t| !t.is_empty()) else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "missing API key: send `Authorization: Bearer dt_live_…` or `dt_test_…`",
            )
            .into());
        };
        let refused = || Refusal::from(ApiError::new(ErrorCode::Unauthenticated, "unknown or revoked API key"));
        if self.inner.unknown.is_known_bad(token) {
            return Err(refused());
        }
        // The key and its account in one statement (accounts are never
        // deleted while they have keys: a key without one is unknown).
        let store = self.jobs().store();
        let Some((account, test_mode)) = store.account_by_key(token).await.map_err(ApiError::from)? else {
            self.inner.unknown.remember(token);
            return Err(refused());
        };
        Ok(Principal { caller: Caller { account_id: account.id.clone(), test_mode }, account })
    }

    /// Decide whether `principal` may run `ask`: transport, size, the
    /// plan's rate limit, its Idempotency-Key, then the daily and queue
    /// limits of the generations it starts, in that order.
    pub async fn admit(&self, principal: &Principal, ask: Ask<'_>) -> Outcome {
        let shape = ask.shape;
        if let Err(refused) = check_size(&shape) {
            return Outcome::Refused(refused.into());
        }
        if ask.transport == Transport::Socket && matches!(shape.kind, Kind::Query | Kind::Mutation) {
            return Outcome::Refused(
                ApiError::invalid(
                    "query",
                    "queries and mutations go to POST /graphql (where plan limits and Idempotency-Key apply); \
                     /graphql/ws carries subscriptions only",
                )
                .with("limit", "ws_subscriptions_only")
                .into(),
            );
        }
        let limits = &self.jobs().config().limits;
        if shape.roots > limits.graphql_root_fields {
            let message = format!(
                "the operation has {} root fields (aliases included); at most {} are allowed (limits.graphql_root_fields)",
                shape.roots, limits.graphql_root_fields
            );
            return Outcome::Refused(ApiError::invalid("query", message).with("limit", "graphql_root_fields").into());
        }
        let rate = match self.count(principal, &shape).await {
            Ok(rate) => rate,
            Err(refusal) => return Outcome::Refused(refusal),
        };
        let caller = principal.caller.clone();
        let refused = |error: ApiError| Outcome::Refused(Refusal::new(error, rate));

        let write = shape.is_write();
        let key = match ask.idempotency_key.map(IdempotencyKey::parse).transpose() {
            Ok(key) => key.filter(|_| write),
            Err(error) => return Outcome::Refused(Refusal { status: 400, ..Refusal::new(error, rate) }),
        };
        // `Prefer: wait` applies to starting generations (mutations) only.
        let wait = ask.prefer_wait.filter(|_| write).map(|w| w.min(MAX_PREFER_WAIT_SECS));
        let idempotency = key.map(|key| IdempotencyKey {
            key,
            hash: idempotency::request_hash(ask.body),
            ttl_ms: i64::from(limits.idempotency_hours) * 3_600_000,
            owner: uuid::Uuid::new_v4().simple().to_string(),
            lock_ms: i64::try_from(limits.idempotency_lock_ms).unwrap_or(IDEMPOTENCY_LOCK_MS),
            // A request that starts one generation (and does not wait for
            // it) takes its key inside the generation's own transaction.
            in_transaction: shape.starts_one() && wait.is_none(),
        });
        let store = self.jobs().store();
        if let Some(idem) = idempotency.as_ref().filter(|i| !i.in_transaction) {
            match idempotency::claim(store, &caller, idem).await {
                Ok(None) => {}
                Ok(Some(earlier)) => return Outcome::Answered { earlier, caller, rate },
                Err(error) => return refused(error),
            }
        }
        if let Err(error) = self.jobs().check_cheap_limits(&principal.account, shape.starts) {
            // A retry of a request the key already answered gets that answer,
            // whatever the limits say now.
            if let Some(idem) = &idempotency {
                if idem.in_transaction {
                    if let Ok(Some(earlier)) = idempotency::earlier(store, &caller, idem).await {
                        return Outcome::Answered { earlier, caller, rate };
                    }
                } else if let Err(e) = store.release_idempotency(&caller.account_id, &idem.key, &idem.owner).await {
                    tracing::warn!("releasing an Idempotency-Key failed: {e}");
                }
            }
            return refused(error);
        }
        let generation =
            idempotency.as_ref().filter(|i| i.in_transaction).map(|i| IdempotentGeneration::Take(i.take()));
        Outcome::Run(Ticket { caller, rate, wait, generation, idempotency })
    }

    /// Count the request in its plan window: writes (one per mutation root
    /// field) against the plan's RPM, reads against `limits.read_rpm`.
    async fn count(&self, principal: &Principal, shape: &Shape) -> Result<Option<Rate>, Refusal> {
        let jobs = self.jobs();
        let plan = jobs.limits_for(&principal.account);
        let write = shape.is_write();
        // An unlimited plan (enterprise) is unlimited for reads too.
        let read_rpm = plan.rpm.map(|_| jobs.config().limits.read_rpm);
        let (limit, policy, name) = if write { (plan.rpm, "writes", "rpm") } else { (read_rpm, "reads", "read_rpm") };
        let Some(limit) = limit else { return Ok(None) };
        let cost = if write { u32::try_from(shape.roots.max(1)).unwrap_or(u32::MAX) } else { 1 };
        let key = format!("{}:{policy}", principal.caller.account_id);
        let decision = match self.inner.counters.hit_n(&key, cost, limit, RATE_WINDOW).await {
            Ok(d) => d,
            Err(e) => {
                // Fail open: an unreachable Redis must not take the API down.
                tracing::error!("rate-limit counter unavailable, request allowed: {e}");
                return Ok(None);
            }
        };
        let rate = Rate { decision, policy };
        if decision.allowed {
            return Ok(Some(rate));
        }
        jobs.metrics().rate_limited(name);
        let retry = decision.reset.as_secs().max(1);
        let asked = if cost > 1 { format!(" (this request is {cost} writes)") } else { String::new() };
        let error = ApiError::new(
            ErrorCode::RateLimit,
            format!(
                "the plan allows {} {policy} per minute{asked}; retry in {retry} s (see X-RateLimit-Reset)",
                decision.limit
            ),
        )
        .with("limit", name)
        .with("retryAfter", retry);
        Err(Refusal::new(error, Some(rate)))
    }

    /// Run `work` for `ticket`, keeping its Idempotency-Key claimed however
    /// long it takes.
    pub async fn hold<T>(&self, ticket: &Ticket, work: impl std::future::Future<Output = T>) -> T {
        match ticket.idempotency.as_ref().filter(|i| !i.in_transaction) {
            Some(idem) => {
                let heartbeat = idempotency::heartbeat(self.jobs().store(), &ticket.caller, idem);
                tokio::select! {
                    result = work => result,
                    () = heartbeat => unreachable!("the heartbeat never ends"),
                }
            }
            None => work.await,
        }
    }

    /// Record what the ticket's request did under its Idempotency-Key;
    /// `Some` when an earlier request with the key answers instead.
    pub async fn settle(&self, ticket: &Ticket, ran: Ran, body: &str) -> Option<Earlier> {
        let idem = ticket.idempotency.as_ref()?;
        idempotency::settle(self.jobs().store(), &ticket.caller, idem, ran, body).await
    }
}
