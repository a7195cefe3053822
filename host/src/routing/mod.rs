//! Choosing a provider when the request names none.
//!
//! Candidates are the serving offerings that produce the requested kind,
//! ranked by the caller's priority; the first one whose option specs accept
//! the request wins (the caller's options are part of what they asked for).
//! The `placeholder` offering is never chosen for live keys, and for test
//! keys only when no real offering accepts the request (it is tried last),
//! so test mode routes as live traffic would wherever live traffic can. Offerings whose plugin lacks a configured secret are
//! skipped for live keys.
//!
//! This module must never call plugins; it ranks declarations only.

use crate::plugins::registry::Snapshot;
use crate::plugins::{LoadedPlugin, MediaKind, Offering};

/// The id of the test-mode offering.
pub const PLACEHOLDER: &str = "placeholder";

/// What the caller optimises for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, async_graphql::Enum)]
pub enum Priority {
    /// Quality per credit.
    #[default]
    Balanced,
    /// Best quality rank.
    Quality,
    /// Shortest estimated time.
    Speed,
    /// Fewest credits.
    Cost,
}

/// Offerings that can serve `kind`, best first for `priority`.
pub fn candidates(
    snapshot: &Snapshot,
    kind: MediaKind,
    priority: Priority,
    test_mode: bool,
    enabled: &dyn Fn(&str) -> bool,
) -> Vec<(LoadedPlugin, Offering)> {
    let mut found: Vec<(LoadedPlugin, Offering)> = snapshot
        .offerings()
        .into_iter()
        .filter(|(p, o)| o.kinds.contains(&kind) && enabled(p.id()))
        .filter(|(p, _)| test_mode || p.missing_secrets().is_empty())
        .collect();
    let placeholder = found.iter().position(|(_, o)| o.id == PLACEHOLDER).map(|i| found.remove(i));
    found.sort_by(|(_, a), (_, b)| rank(b, priority).total_cmp(&rank(a, priority)).then_with(|| a.id.cmp(&b.id)));
    // Test keys fall back to the placeholder when no real offering accepts
    // the request; live keys never get it without naming it.
    if let Some(placeholder) = placeholder.filter(|_| test_mode) {
        found.push(placeholder);
    }
    found
}

/// Higher is better.
fn rank(o: &Offering, priority: Priority) -> f64 {
    let quality = f64::from(o.quality);
    let credits = f64::from(o.base_credits.max(1));
    let seconds = f64::from(o.estimated_seconds.max(1));
    match priority {
        Priority::Quality => quality,
        Priority::Speed => -seconds,
        Priority::Cost => -credits,
        Priority::Balanced => quality / (1.0 + credits.ln()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::manifest::tests::offering;

    #[test]
    fn ranking_by_priority() {
        let mut a = offering("a");
        a.quality = 90;
        a.base_credits = 400;
        a.estimated_seconds = 300;
        let mut b = offering("b");
        b.quality = 60;
        b.base_credits = 20;
        b.estimated_seconds = 20;
        let best = |p| if rank(&a, p) > rank(&b, p) { "a" } else { "b" };
        assert_eq!(best(Priority::Quality), "a");
        assert_eq!(best(Priority::Speed), "b");
        assert_eq!(best(Priority::Cost), "b");
        assert_eq!(best(Priority::Balanced), "b");
    }
}
