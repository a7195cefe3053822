//! Fixed-window counters in Redis, shared by every node that uses the same
//! server and prefix.
//!
//! Owns the Redis keys `{prefix}{key}:{window_index}` and nothing else in the
//! server. A hit is one atomic Lua script (`INCR`, then `PEXPIRE` on a fresh
//! key), so concurrent hits from any number of nodes never over-admit, and a
//! counter is gone at most one window plus [`KEY_TTL_MARGIN_DURATION`] after
//! its first hit. Window boundaries come from this node's clock (see
//! [`super::Counters`]); Redis's clock only expires keys.
//!
//! This module must never log or return a Redis password: URLs are masked
//! ([`mask_url`]) before they reach an error or a log line.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::{Clock, Decision, LimitError, Window, system_clock, window_ms};

/// How long a key lives past its window's length. Covers clock skew between
/// nodes (a node a little behind still counts into the previous window's
/// key) without keeping dead counters around for long.
pub const KEY_TTL_MARGIN_DURATION: Duration = Duration::from_secs(1);

/// How long one connection attempt may take before it counts as failed.
pub const CONNECT_TIMEOUT_DURATION: Duration = Duration::from_secs(1);

/// How long one command may wait for its reply. A hit sits in the path of a
/// user's request, and a healthy server answers a script in well under a
/// millisecond; past this the caller gets a [`LimitError::Command`] and
/// decides whether to fail open or closed.
pub const RESPONSE_TIMEOUT_DURATION: Duration = Duration::from_millis(500);

/// Reconnection attempts after a connection failure, 100 ms apart and
/// doubling (with jitter): a restarting server is caught within about a
/// second without holding requests for longer.
pub const RECONNECT_RETRIES: usize = 3;

/// `KEYS[1]` the window's key, `ARGV[1]` its TTL in ms. Returns
/// `{count, pttl}`. The `pttl == -1` branch also repairs a key that lost
/// its expiry (a stray `PERSIST`), so no counter is ever left behind.
const HIT_LUA: &str = r"
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local pttl = redis.call('PTTL', KEYS[1])
if count == tonumber(ARGV[2]) or pttl == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  pttl = tonumber(ARGV[1])
end
if tonumber(ARGV[2]) > 1 and count > tonumber(ARGV[3]) then
  redis.call('DECRBY', KEYS[1], ARGV[2])
end
return {count, pttl}
";

/// Fixed-window counters in Redis.
pub struct RedisCounters {
    /// Shared, self-reconnecting connection; cloned per call (cheap).
    connection: ConnectionManager,
    /// The hit script; its SHA is computed once, and it is loaded into the
    /// server on first use and again after a `SCRIPT FLUSH` or restart.
    hit_script: Script,
    /// Namespaces every key, e.g. `doitong:rl:`.
    prefix: String,
    /// The server URL with its password masked, for errors.
    url: String,
    /// Reads "now" for window arithmetic; [`system_clock`] unless injected.
    clock: Clock,
}

impl RedisCounters {
    /// Connect to `url` and wait for the first connection; later losses are
    /// reconnected by the connection manager. `prefix` namespaces keys.
    ///
    /// Fails with [`LimitError::BadUrl`] or [`LimitError::Connect`], naming
    /// the URL with its password masked.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisCounters, LimitError> {
        let masked = mask_url(url);
        let client = redis::Client::open(url).map_err(|source| LimitError::BadUrl { url: masked.clone(), source })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT_DURATION))
            .set_response_timeout(Some(RESPONSE_TIMEOUT_DURATION))
            .set_number_of_retries(RECONNECT_RETRIES);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|source| LimitError::Connect { url: masked.clone(), source })?;
        tracing::debug!(url = %masked, prefix, "rate-limit counters connected to Redis");
        Ok(RedisCounters {
            connection,
            hit_script: Script::new(HIT_LUA),
            prefix: prefix.to_string(),
            url: masked,
            clock: system_clock(),
        })
    }

    /// The same connection, with window arithmetic on `clock` (ms since the
    /// Unix epoch); tests move it instead of sleeping.
    pub fn with_clock(self, clock: Clock) -> RedisCounters {
        RedisCounters { clock, ..self }
    }

    /// The Redis key that counts `key` in window `index`.
    fn redis_key(&self, key: &str, index: u64) -> String {
        format!("{}{key}:{index}", self.prefix)
    }

    /// Count one request; see [`super::Counters::hit`].
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        self.hit_n(key, 1, limit, window).await
    }

    /// Count `n` requests at once; see [`super::Counters::hit_n`].
    pub async fn hit_n(&self, key: &str, n: u32, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        let at = Window::at((self.clock)(), window);
        let redis_key = self.redis_key(key, at.index);
        let ttl_ms = window_ms(window).saturating_add(window_ms(KEY_TTL_MARGIN_DURATION));
        let mut connection = self.connection.clone();
        let (count, pttl): (u64, i64) = self
            .hit_script
            .key(&redis_key)
            .arg(ttl_ms)
            .arg(n.max(1))
            .arg(limit)
            .invoke_async(&mut connection)
            .await
            .map_err(|source| self.command_error(redis_key.clone(), source))?;
        tracing::trace!(key = %redis_key, count, pttl, "rate-limit hit");
        Ok(Decision::hit(saturate(count), limit, at))
    }

    /// The current window's count without counting (`GET`; a missing key is
    /// 0); see [`super::Counters::peek`].
    pub async fn peek(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        let at = Window::at((self.clock)(), window);
        let redis_key = self.redis_key(key, at.index);
        let mut connection = self.connection.clone();
        let count: Option<u64> =
            connection.get(&redis_key).await.map_err(|source| self.command_error(redis_key.clone(), source))?;
        Ok(Decision::peek(saturate(count.unwrap_or(0)), limit, at))
    }

    fn command_error(&self, key: String, source: redis::RedisError) -> LimitError {
        LimitError::Command { url: self.url.clone(), key, source }
    }
}

impl fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCounters").field("url", &self.url).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// A Redis count as a `u32`, saturating.
fn saturate(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// `url` fit for errors and logs: the password in the user info and any
/// `password=`/`pass=` query parameter replaced by `***`. Works on the text,
/// so it masks even URLs that do not parse.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let (before_query, query) = match rest.find('?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    // The user info ends at the last `@` before the query, even if a
    // (badly encoded) password holds a `/`, `:` or `@`.
    let before_query = match before_query.rfind('@') {
        Some(at) => {
            let (userinfo, host_and_path) = before_query.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host_and_path}", &userinfo[..colon]),
                None => before_query.to_string(),
            }
        }
        None => before_query.to_string(),
    };
    let mut out = format!("{scheme}{before_query}");
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") || name.eq_ignore_ascii_case("pass") => {
                    format!("{name}=***")
                }
                _ => param.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    //! These run against a real Redis: `DOITONG_TEST_REDIS_URL`, default
    //! `redis://127.0.0.1:6379`. An unreachable server fails the tests, it
    //! never skips them. Each test uses its own random prefix, and every key
    //! expires within a minute.

    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::limits::Counters;

    const MINUTE: Duration = Duration::from_secs(60);

    fn test_url() -> String {
        std::env::var("DOITONG_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
    }

    /// A prefix no other test or run shares.
    fn unique_prefix() -> String {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let random = RandomState::new().hash_one(SEQUENCE.fetch_add(1, Ordering::Relaxed));
        format!("doitong-test:{}:{random:016x}:", std::process::id())
    }

    async fn connect(prefix: &str) -> Counters {
        let url = test_url();
        Counters::redis(&url, prefix)
            .await
            .unwrap_or_else(|e| panic!("{e}; the Redis tests need this server (DOITONG_TEST_REDIS_URL picks another)"))
    }

    /// A fixed clock `offset_ms` into window `index` of a minute.
    fn fixed_clock(index: u64, offset_ms: u64) -> (Arc<AtomicU64>, Clock) {
        let now = Arc::new(AtomicU64::new(index * 60_000 + offset_ms));
        let read = now.clone();
        (now, Arc::new(move || read.load(Ordering::SeqCst)))
    }

    /// A plain connection for looking at keys behind the counters' back.
    async fn raw() -> redis::aio::MultiplexedConnection {
        let url = test_url();
        let client = redis::Client::open(url.as_str()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap_or_else(|e| panic!("Redis at {}: {e}", mask_url(&url)))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hits_allow_exactly_the_limit() {
        let (_, clock) = fixed_clock(7, 30_000);
        let counters = Arc::new(connect(&unique_prefix()).await.with_clock(clock));
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let counters = counters.clone();
                tokio::spawn(async move { counters.hit("acct:1:rpm", 50, MINUTE).await.unwrap() })
            })
            .collect();
        let decisions: Vec<Decision> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 50);
        let mut counts: Vec<u32> = decisions.iter().map(|d| d.count).collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=200).collect::<Vec<u32>>());
        assert!(decisions.iter().all(|d| d.reset == Duration::from_secs(30)), "reset comes from the window");
    }

    #[tokio::test]
    async fn separate_connections_share_one_budget() {
        let prefix = unique_prefix();
        let (_, clock) = fixed_clock(3, 0);
        let first = connect(&prefix).await.with_clock(clock.clone());
        let second = connect(&prefix).await.with_clock(clock);
        for n in 1..=3 {
            let d = first.hit("acct:2:rpm", 5, MINUTE).await.unwrap();
            assert_eq!((d.allowed, d.count), (true, n));
        }
        let d = second.hit("acct:2:rpm", 5, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.count, d.remaining), (true, 4, 1), "the second node sees the first's hits");
        assert!(first.hit("acct:2:rpm", 5, MINUTE).await.unwrap().allowed);
        let d = second.hit("acct:2:rpm", 5, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.count, d.remaining), (false, 6, 0));
        assert_eq!(first.peek("acct:2:rpm", 5, MINUTE).await.unwrap().count, 6);

        // Another prefix is another budget.
        let other = connect(&unique_prefix()).await;
        assert_eq!(other.hit("acct:2:rpm", 5, MINUTE).await.unwrap().count, 1);
    }

    #[tokio::test]
    async fn a_weighted_hit_is_all_or_nothing() {
        let counters = connect(&unique_prefix()).await;
        let d = counters.hit_n("k", 4, 5, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.count), (true, 4));
        let d = counters.hit_n("k", 2, 5, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.count), (false, 6));
        let d = counters.hit("k", 5, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.count), (true, 5), "the refused pair was taken back");
    }

    #[tokio::test]
    async fn the_next_window_starts_afresh() {
        let (now, clock) = fixed_clock(11, 59_999);
        let counters = connect(&unique_prefix()).await.with_clock(clock);
        assert!(counters.hit("k", 1, MINUTE).await.unwrap().allowed);
        let d = counters.hit("k", 1, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.reset), (false, Duration::from_millis(1)));
        now.store(12 * 60_000, Ordering::SeqCst);
        let d = counters.hit("k", 1, MINUTE).await.unwrap();
        assert_eq!((d.allowed, d.count, d.reset), (true, 1, MINUTE));
    }

    #[tokio::test]
    async fn keys_expire_shortly_after_their_window() {
        let prefix = unique_prefix();
        let (_, clock) = fixed_clock(5, 0);
        let counters = connect(&prefix).await.with_clock(clock);
        let mut raw = raw().await;
        let max_ttl_ms = (MINUTE + KEY_TTL_MARGIN_DURATION).as_millis() as i64;
        for _ in 0..3 {
            counters.hit("acct:3:rpm", 10, MINUTE).await.unwrap();
            let pttl: i64 = raw.pttl(format!("{prefix}acct:3:rpm:5")).await.unwrap();
            assert!(pttl > 0 && pttl <= max_ttl_ms, "PTTL {pttl} ms, want 1..={max_ttl_ms}");
        }
        // A key that lost its expiry gets one back on the next hit.
        let _: bool = raw.persist(format!("{prefix}acct:3:rpm:5")).await.unwrap();
        assert_eq!(counters.hit("acct:3:rpm", 10, MINUTE).await.unwrap().count, 4);
        let pttl: i64 = raw.pttl(format!("{prefix}acct:3:rpm:5")).await.unwrap();
        assert!(pttl > 0 && pttl <= max_ttl_ms, "PTTL {pttl} ms after PERSIST");
    }

    #[tokio::test]
    async fn peek_does_not_count() {
        let prefix = unique_prefix();
        let (_, clock) = fixed_clock(9, 20_000);
        let counters = connect(&prefix).await.with_clock(clock);
        let d = counters.peek("acct:4:daily", 2, MINUTE).await.unwrap();
        assert_eq!(d, Decision { allowed: true, limit: 2, remaining: 2, reset: Duration::from_secs(40), count: 0 });
        let exists: bool = raw().await.exists(format!("{prefix}acct:4:daily:9")).await.unwrap();
        assert!(!exists, "peek must not create the key");
        counters.hit("acct:4:daily", 2, MINUTE).await.unwrap();
        for _ in 0..3 {
            let d = counters.peek("acct:4:daily", 2, MINUTE).await.unwrap();
            assert_eq!((d.allowed, d.count, d.remaining), (true, 1, 1));
        }
        assert_eq!(counters.hit("acct:4:daily", 2, MINUTE).await.unwrap().count, 2);
        assert!(!counters.peek("acct:4:daily", 2, MINUTE).await.unwrap().allowed);
    }

    #[tokio::test]
    async fn unreachable_server_is_an_error_naming_the_url() {
        // Nothing listens on port 1; the password must not show.
        let url = "redis://:hunter2@127.0.0.1:1/0";
        let err = Counters::redis(url, "x:").await.expect_err("connected to port 1?");
        let text = err.to_string();
        assert!(matches!(err, LimitError::Connect { .. }), "{err:?}");
        assert!(text.contains("redis://:***@127.0.0.1:1/0"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");

        let err = Counters::redis("http://127.0.0.1:6379", "x:").await.expect_err("not a Redis URL");
        assert!(matches!(err, LimitError::BadUrl { .. }), "{err:?}");
        assert!(err.to_string().contains("http://127.0.0.1:6379"), "{err}");
    }

    #[test]
    fn urls_are_masked() {
        let table = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:secret@host:6379/2", "redis://:***@host:6379/2"),
            ("rediss://user:secret@host", "rediss://user:***@host"),
            ("redis://user@host", "redis://user@host"),
            // Badly encoded passwords are masked whole.
            ("redis://u:p@ss:w@host/0", "redis://u:***@host/0"),
            ("redis://:sec/ret@host/0", "redis://:***@host/0"),
            ("redis+unix:///run/redis.sock?db=1&pass=secret", "redis+unix:///run/redis.sock?db=1&pass=***"),
            ("redis+unix:///run/redis.sock?PASSWORD=secret", "redis+unix:///run/redis.sock?PASSWORD=***"),
            ("host:secret@nowhere", "host:***@nowhere"),
        ];
        for (url, want) in table {
            assert_eq!(mask_url(url), want, "{url}");
            assert!(!mask_url(url).contains("secret"), "{url}");
        }
    }
}
