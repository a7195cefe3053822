//! In-process fixed-window counters: one map behind a mutex.
//!
//! Owns the counts of this process only; a node restart forgets them and
//! other nodes never see them (use [`super::redis`] for a shared budget).
//! The mutex is never held across an `.await` or any I/O, and stale windows
//! are pruned as hits arrive so the map cannot grow without bound.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::{Clock, Decision, Window, system_clock};

/// The fewest hits between two prunes. A prune walks the whole map, so it
/// also waits for as many hits as the last prune kept entries: pruning stays
/// O(1) per hit amortised, and the map never holds more than twice the
/// larger of this and the number of keys live in their window.
pub const PRUNE_MIN_HITS: u64 = 1024;

/// Fixed-window counters kept in this process.
pub struct MemoryCounters {
    /// Reads "now"; [`system_clock`] unless a test injected another.
    clock: Clock,
    /// Everything the mutex guards.
    state: Mutex<State>,
}

/// The counts and the prune bookkeeping.
#[derive(Default)]
struct State {
    /// key → (end of its window in ms since the epoch, count in that
    /// window). The end, rather than the index, lets a prune tell a stale
    /// entry without knowing each key's window length. An entry lives until
    /// the first prune after its window ends.
    windows: HashMap<String, (u64, u32)>,
    /// Hits since the last prune.
    hits_since_prune: u64,
    /// Entries the last prune kept (all live then).
    kept_at_prune: u64,
}

impl MemoryCounters {
    /// Counters on the system clock.
    pub fn new() -> MemoryCounters {
        MemoryCounters::with_clock(system_clock())
    }

    /// Counters on `clock` (ms since the Unix epoch); tests advance it
    /// instead of sleeping.
    pub fn with_clock(clock: Clock) -> MemoryCounters {
        MemoryCounters { clock, state: Mutex::new(State::default()) }
    }

    /// The same counts, read against another clock.
    pub(super) fn set_clock(self, clock: Clock) -> MemoryCounters {
        MemoryCounters { clock, ..self }
    }

    /// Count one request; see [`super::Counters::hit`].
    pub fn hit(&self, key: &str, limit: u32, window: Duration) -> Decision {
        self.hit_n(key, 1, limit, window)
    }

    /// Count `n` requests at once; see [`super::Counters::hit_n`].
    pub fn hit_n(&self, key: &str, n: u32, limit: u32, window: Duration) -> Decision {
        let n = n.max(1);
        let now_ms = (self.clock)();
        let window = Window::at(now_ms, window);
        let mut state = self.lock();
        let count = match state.windows.get_mut(key) {
            Some((end_ms, count)) if *end_ms == window.end_ms => {
                *count = count.saturating_add(n);
                *count
            }
            Some(entry) => {
                *entry = (window.end_ms, n);
                n
            }
            None => {
                state.windows.insert(key.to_string(), (window.end_ms, n));
                n
            }
        };
        if n > 1
            && count > limit
            && let Some((_, kept)) = state.windows.get_mut(key)
        {
            *kept -= n; // a refused weighted hit is taken back
        }
        state.hits_since_prune += 1;
        if state.hits_since_prune >= PRUNE_MIN_HITS.max(state.kept_at_prune) {
            state.prune(now_ms);
        }
        Decision::hit(count, limit, window)
    }

    /// The current window's count without counting; see
    /// [`super::Counters::peek`].
    pub fn peek(&self, key: &str, limit: u32, window: Duration) -> Decision {
        let window = Window::at((self.clock)(), window);
        let count = match self.lock().windows.get(key) {
            Some(&(end_ms, count)) if end_ms == window.end_ms => count,
            _ => 0,
        };
        Decision::peek(count, limit, window)
    }

    /// How many keys are held (live or not yet pruned).
    pub fn len(&self) -> usize {
        self.lock().windows.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state; a panic elsewhere while holding the lock cannot leave a
    /// count half-written, so a poisoned lock is used as is.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Drop every entry whose window ended at or before `now_ms`.
    fn prune(&mut self, now_ms: u64) {
        let before = self.windows.len();
        self.windows.retain(|_, (end_ms, _)| *end_ms > now_ms);
        self.hits_since_prune = 0;
        self.kept_at_prune = self.windows.len() as u64;
        tracing::trace!(removed = before - self.windows.len(), kept = self.windows.len(), "pruned rate-limit windows");
    }
}

impl Default for MemoryCounters {
    fn default() -> MemoryCounters {
        MemoryCounters::new()
    }
}

impl fmt::Debug for MemoryCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCounters").field("keys", &self.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::limits::Counters;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A clock the test moves by hand, starting at `start_ms`.
    fn manual_clock(start_ms: u64) -> (Arc<AtomicU64>, Clock) {
        let now = Arc::new(AtomicU64::new(start_ms));
        let read = now.clone();
        (now, Arc::new(move || read.load(Ordering::SeqCst)))
    }

    #[test]
    fn a_weighted_hit_is_all_or_nothing() {
        let (_, clock) = manual_clock(5 * 60_000);
        let c = MemoryCounters::with_clock(clock);
        let d = c.hit_n("k", 4, 5, MINUTE);
        assert_eq!((d.allowed, d.count, d.remaining), (true, 4, 1));
        let d = c.hit_n("k", 2, 5, MINUTE);
        assert_eq!((d.allowed, d.count), (false, 6), "two more would pass the limit");
        let d = c.hit("k", 5, MINUTE);
        assert_eq!((d.allowed, d.count), (true, 5), "the refused pair was taken back");
        assert!(!c.hit("k", 5, MINUTE).allowed);
    }

    #[test]
    fn refuses_past_the_limit_until_the_next_window() {
        // 10 s into window 1000 of a minute.
        let (now, clock) = manual_clock(1000 * 60_000 + 10_000);
        let c = MemoryCounters::with_clock(clock);
        for n in 1..=3 {
            let d = c.hit("k", 3, MINUTE);
            assert!(d.allowed, "hit {n}");
            assert_eq!((d.count, d.remaining, d.limit), (n, 3 - n, 3));
            assert_eq!(d.reset, Duration::from_secs(50));
        }
        let d = c.hit("k", 3, MINUTE);
        assert!(!d.allowed);
        assert_eq!((d.count, d.remaining), (4, 0));
        // Refused hits still count.
        assert_eq!(c.hit("k", 3, MINUTE).count, 5);

        // Last millisecond of the window: still refused, reset 1 ms.
        now.store(1001 * 60_000 - 1, Ordering::SeqCst);
        let d = c.hit("k", 3, MINUTE);
        assert!(!d.allowed);
        assert_eq!(d.reset, Duration::from_millis(1));

        // The next window starts afresh.
        now.store(1001 * 60_000, Ordering::SeqCst);
        let d = c.hit("k", 3, MINUTE);
        assert!(d.allowed);
        assert_eq!((d.count, d.remaining, d.reset), (1, 2, MINUTE));
    }

    #[test]
    fn keys_and_windows_are_independent() {
        let (_, clock) = manual_clock(5 * 60_000);
        let c = MemoryCounters::with_clock(clock);
        assert!(c.hit("a:rpm", 1, MINUTE).allowed);
        assert!(!c.hit("a:rpm", 1, MINUTE).allowed);
        assert!(c.hit("b:rpm", 1, MINUTE).allowed, "another key has its own budget");
        assert!(c.hit("a:daily", 1, Duration::from_secs(86_400)).allowed);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn peek_does_not_count() {
        let (now, clock) = manual_clock(60_000 + 15_000);
        let c = MemoryCounters::with_clock(clock);
        let d = c.peek("k", 2, MINUTE);
        assert_eq!(d, Decision { allowed: true, limit: 2, remaining: 2, reset: Duration::from_secs(45), count: 0 });
        assert!(c.is_empty(), "peeking an unknown key must not create it");
        c.hit("k", 2, MINUTE);
        c.hit("k", 2, MINUTE);
        for _ in 0..3 {
            let d = c.peek("k", 2, MINUTE);
            assert_eq!((d.allowed, d.remaining, d.count), (false, 0, 2));
        }
        now.store(2 * 60_000, Ordering::SeqCst);
        assert_eq!(c.peek("k", 2, MINUTE).count, 0, "a past window reads as empty");
    }

    #[test]
    fn pruning_keeps_the_map_small() {
        let (now, clock) = manual_clock(0);
        let c = MemoryCounters::with_clock(clock);
        // 50 minutes, each with 1000 fresh one-off keys (e.g. IP addresses).
        for minute in 0..50u64 {
            now.store(minute * 60_000, Ordering::SeqCst);
            for i in 0..1000 {
                c.hit(&format!("ip:{minute}:{i}"), 10, MINUTE);
            }
        }
        let held = c.len();
        assert!(held <= 2 * PRUNE_MIN_HITS as usize, "{held} keys held after 50 000 one-off keys");
        // Every key still held from a past window is gone after enough hits.
        now.store(50 * 60_000, Ordering::SeqCst);
        for _ in 0..PRUNE_MIN_HITS.max(held as u64) {
            c.hit("steady", 1_000_000, MINUTE);
        }
        assert_eq!(c.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hits_allow_exactly_the_limit() {
        let (_, clock) = manual_clock(42 * 60_000);
        let counters = Arc::new(Counters::memory().with_clock(clock));
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let counters = counters.clone();
                tokio::spawn(async move { counters.hit("one", 100, MINUTE).await.unwrap() })
            })
            .collect();
        let decisions: Vec<Decision> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 100);
        let mut counts: Vec<u32> = decisions.iter().map(|d| d.count).collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=1000).collect::<Vec<u32>>(), "every hit got its own count");
        assert!(decisions.iter().all(|d| d.allowed == (d.count <= 100)));
    }
}
