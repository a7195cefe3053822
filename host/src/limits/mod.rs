//! Plans and rate-limit counters: what an account may do, and how much of
//! it it has used in the current window.
//!
//! This module owns:
//! - the plans ([`PLAN_NAMES`], [`default_plan`], [`PlanLimits`]): limit
//!   values only. `concurrent` is a number handed to whoever runs the work;
//!   nothing here counts running jobs;
//! - fixed-window counters ([`Counters`]), in process
//!   ([`memory::MemoryCounters`]) or shared by every node through Redis
//!   ([`redis::RedisCounters`]).
//!
//! Windows are aligned to the Unix epoch: the window of an instant is
//! `now_ms / window_ms`, so every node sharing a backend agrees on where a
//! window starts and ends, and a [`DAILY_WINDOW_DURATION`] window is a UTC
//! day. A fixed window allows a burst of up to twice the limit across a
//! boundary; that is the accepted price of one counter per key.
//!
//! A key must always be counted with the same window; put the window's name
//! in the key (`acct:42:rpm`, `acct:42:daily`).
//!
//! This module must never know about GraphQL, HTTP, account storage or jobs:
//! callers pass keys and limits, and decide what a [`LimitError`] means
//! (fail open or closed).

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The window of a plan's `rpm` limit.
pub const RPM_WINDOW_DURATION: Duration = Duration::from_secs(60);

/// The window of a plan's `daily` limit: a UTC day, since windows are
/// aligned to the Unix epoch (which has no leap seconds).
pub const DAILY_WINDOW_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Limits of one plan; `None` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanLimits {
    /// Requests per minute ([`RPM_WINDOW_DURATION`]).
    pub rpm: Option<u32>,
    /// Jobs running at once; enforced by the caller, not counted here.
    pub concurrent: Option<u32>,
    /// Requests per UTC day ([`DAILY_WINDOW_DURATION`]).
    pub daily: Option<u32>,
}

/// The plans and their portal defaults: free 10 rpm / 1 concurrent / 100 a
/// day; starter 30 / 3 / 1000; pro 60 / 10 / 10000; enterprise unlimited
/// (all `None`).
pub const PLAN_NAMES: [&str; 4] = ["free", "starter", "pro", "enterprise"];

/// The portal defaults of the plan called `name` (exact, lowercase, one of
/// [`PLAN_NAMES`]); `None` for any other name.
pub fn default_plan(name: &str) -> Option<PlanLimits> {
    let limits =
        |rpm, concurrent, daily| PlanLimits { rpm: Some(rpm), concurrent: Some(concurrent), daily: Some(daily) };
    match name {
        "free" => Some(limits(10, 1, 100)),
        "starter" => Some(limits(30, 3, 1_000)),
        "pro" => Some(limits(60, 10, 10_000)),
        "enterprise" => Some(PlanLimits::default()),
        _ => None,
    }
}

impl PlanLimits {
    /// Apply overrides (each Some replaces the field). A `None` keeps the
    /// plan's value, so an override cannot make a limited field unlimited.
    pub fn with_overrides(self, rpm: Option<u32>, concurrent: Option<u32>, daily: Option<u32>) -> PlanLimits {
        PlanLimits { rpm: rpm.or(self.rpm), concurrent: concurrent.or(self.concurrent), daily: daily.or(self.daily) }
    }
}

/// What one counted request is allowed.
///
/// From [`Counters::hit`]: `count` includes this request, `allowed` is
/// `count <= limit`, `remaining` is what is left after it. From
/// [`Counters::peek`]: `count` is the window's count so far and `allowed`
/// says whether one more request would be (`remaining > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The limit it was judged against.
    pub limit: u32,
    /// Requests left in this window (`limit - count`, at least 0).
    pub remaining: u32,
    /// Until the current window ends, at least 1 ms.
    pub reset: Duration,
    /// Requests counted in this window (saturates at `u32::MAX`).
    pub count: u32,
}

impl Decision {
    /// The decision for a hit that brought the window to `count`.
    fn hit(count: u32, limit: u32, window: Window) -> Decision {
        let remaining = limit.saturating_sub(count);
        Decision { allowed: count <= limit, limit, remaining, reset: window.reset, count }
    }

    /// The decision for a window that has `count` so far.
    fn peek(count: u32, limit: u32, window: Window) -> Decision {
        let remaining = limit.saturating_sub(count);
        Decision { allowed: remaining > 0, limit, remaining, reset: window.reset, count }
    }
}

/// Errors of the counter backends (Redis unreachable, script error).
/// The in-memory backend never fails.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// The Redis URL does not parse.
    #[error(
        "rate-limit Redis URL {url} is invalid: {source} (expected redis://[user:password@]host[:port][/db] or rediss://…)"
    )]
    BadUrl {
        /// The URL as given, password masked.
        url: String,
        /// What the Redis client said.
        source: ::redis::RedisError,
    },
    /// The first connection to Redis failed.
    #[error("cannot connect to the rate-limit Redis at {url}: {source} (is the server running and the URL right?)")]
    Connect {
        /// The URL, password masked.
        url: String,
        /// What the Redis client said.
        source: ::redis::RedisError,
    },
    /// A counter command failed (connection lost, timeout, script error).
    #[error("rate-limit Redis at {url} failed on key {key:?}: {source}")]
    Command {
        /// The URL, password masked.
        url: String,
        /// The full Redis key.
        key: String,
        /// What the Redis client said.
        source: ::redis::RedisError,
    },
}

/// A clock in milliseconds since the Unix epoch; injectable so tests move
/// time instead of sleeping. The default is [`system_clock`].
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock (a clock before 1970 reads as 0).
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    })
}

/// Where an instant falls in a window of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    /// `now_ms / window_ms`.
    index: u64,
    /// When the window ends, in ms since the epoch.
    end_ms: u64,
    /// `end_ms - now_ms`, at least 1 ms.
    reset: Duration,
}

impl Window {
    /// The window of length `window` (sub-millisecond parts dropped, at
    /// least 1 ms) that contains `now_ms`.
    fn at(now_ms: u64, window: Duration) -> Window {
        let window_ms = window_ms(window);
        let index = now_ms / window_ms;
        let end_ms = index.saturating_add(1).saturating_mul(window_ms);
        let reset = Duration::from_millis(end_ms.saturating_sub(now_ms).max(1));
        Window { index, end_ms, reset }
    }
}

/// A window's length in whole milliseconds, at least 1.
fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Fixed-window counters. Windows are aligned to the Unix epoch (window
/// index = now_ms / window_ms), so every node sharing a backend agrees on
/// window boundaries.
#[derive(Debug)]
pub enum Counters {
    /// In this process only: each node counts on its own.
    Memory(memory::MemoryCounters),
    /// In Redis: every node with the same URL and prefix shares one budget.
    Redis(redis::RedisCounters),
}

impl Counters {
    /// In-process counters on the system clock.
    pub fn memory() -> Counters {
        Counters::Memory(memory::MemoryCounters::new())
    }

    /// Connect (with a `redis::aio::ConnectionManager`, which reconnects by
    /// itself); `prefix` namespaces keys (e.g. "doitong:rl:").
    ///
    /// Fails with [`LimitError::BadUrl`] or [`LimitError::Connect`] (both
    /// naming the URL, password masked) if the URL is wrong or the server
    /// cannot be reached now.
    pub async fn redis(url: &str, prefix: &str) -> Result<Counters, LimitError> {
        Ok(Counters::Redis(redis::RedisCounters::connect(url, prefix).await?))
    }

    /// The same counters on another clock (for tests that move time).
    pub fn with_clock(self, clock: Clock) -> Counters {
        match self {
            Counters::Memory(m) => Counters::Memory(m.set_clock(clock)),
            Counters::Redis(r) => Counters::Redis(r.with_clock(clock)),
        }
    }

    /// Count one request under `key` in the current window; allowed iff the
    /// count after incrementing is <= limit. Refused requests still count
    /// (the window is already exhausted, so it does not matter).
    ///
    /// A `window` under 1 ms counts as 1 ms. Fails only on Redis
    /// ([`LimitError::Command`]).
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        self.hit_n(key, 1, limit, window).await
    }

    /// Count `n` requests at once (one HTTP request that does `n` writes,
    /// e.g. aliased `generate` fields): allowed iff the count after adding
    /// all `n` is <= limit — all or nothing. A refused weighted hit is taken
    /// back, so one oversized request does not use up the window for the
    /// smaller ones after it.
    pub async fn hit_n(&self, key: &str, n: u32, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        match self {
            Counters::Memory(m) => Ok(m.hit_n(key, n, limit, window)),
            Counters::Redis(r) => r.hit_n(key, n, limit, window).await,
        }
    }

    /// The current window's count without counting (for usage displays).
    pub async fn peek(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        match self {
            Counters::Memory(m) => Ok(m.peek(key, limit, window)),
            Counters::Redis(r) => r.peek(key, limit, window).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plans() {
        let some = |rpm, concurrent, daily| {
            Some(PlanLimits { rpm: Some(rpm), concurrent: Some(concurrent), daily: Some(daily) })
        };
        let table = [
            ("free", some(10, 1, 100)),
            ("starter", some(30, 3, 1_000)),
            ("pro", some(60, 10, 10_000)),
            ("enterprise", Some(PlanLimits { rpm: None, concurrent: None, daily: None })),
            ("Free", None),
            (" pro", None),
            ("", None),
            ("unlimited", None),
        ];
        for (name, want) in table {
            assert_eq!(default_plan(name), want, "{name:?}");
        }
        for name in PLAN_NAMES {
            assert!(default_plan(name).is_some(), "{name} is listed but has no defaults");
        }
    }

    #[test]
    fn overrides_replace_only_given_fields() {
        let free = default_plan("free").unwrap();
        let ent = default_plan("enterprise").unwrap();
        let table = [
            (free, (None, None, None), free),
            (free, (Some(99), None, None), PlanLimits { rpm: Some(99), ..free }),
            (free, (None, Some(5), Some(7)), PlanLimits { concurrent: Some(5), daily: Some(7), ..free }),
            (free, (Some(0), Some(0), Some(0)), PlanLimits { rpm: Some(0), concurrent: Some(0), daily: Some(0) }),
            (ent, (Some(1000), None, None), PlanLimits { rpm: Some(1000), concurrent: None, daily: None }),
            (ent, (None, None, None), ent),
        ];
        for (plan, (rpm, concurrent, daily), want) in table {
            assert_eq!(
                plan.with_overrides(rpm, concurrent, daily),
                want,
                "{plan:?} + {rpm:?}/{concurrent:?}/{daily:?}"
            );
        }
    }

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        let minute = RPM_WINDOW_DURATION;
        let w = Window::at(0, minute);
        assert_eq!((w.index, w.end_ms, w.reset), (0, 60_000, minute));
        let w = Window::at(60_000 * 7 + 59_999, minute);
        assert_eq!((w.index, w.end_ms, w.reset), (7, 480_000, Duration::from_millis(1)));
        let w = Window::at(60_000 * 8, minute);
        assert_eq!((w.index, w.reset), (8, minute));
        // A UTC day: 2024-01-01T12:00:00Z resets at midnight.
        let noon = 1_704_110_400_000;
        assert_eq!(Window::at(noon, DAILY_WINDOW_DURATION).reset, Duration::from_secs(12 * 3600));
        // Zero and sub-millisecond windows count as 1 ms.
        assert_eq!(Window::at(41, Duration::ZERO), Window { index: 41, end_ms: 42, reset: Duration::from_millis(1) });
        assert_eq!(Window::at(41, Duration::from_micros(1500)).index, 41);
        // The far future saturates instead of overflowing.
        assert_eq!(Window::at(u64::MAX, Duration::from_millis(1)).reset, Duration::from_millis(1));
    }

    #[test]
    fn decisions() {
        let w = Window::at(0, RPM_WINDOW_DURATION);
        let d = Decision::hit(3, 3, w);
        assert!(d.allowed);
        assert_eq!((d.remaining, d.count, d.limit), (0, 3, 3));
        assert!(!Decision::hit(4, 3, w).allowed);
        assert_eq!(Decision::hit(4, 3, w).remaining, 0);
        assert!(!Decision::hit(1, 0, w).allowed, "a zero limit refuses everything");
        assert!(Decision::peek(2, 3, w).allowed);
        assert!(!Decision::peek(3, 3, w).allowed, "peek says whether one more would pass");
    }
}
