//! The circuit breaker of one offering, as a pure state machine over the
//! stored [`BreakerRow`].
//!
//! ```text
//! CLOSED ──(threshold vendor failures in a row, or one model-unavailable)──▶ OPEN
//! OPEN ──(cool-down passed)──▶ HALF_OPEN ──(the one probe job is accepted)──▶ CLOSED
//!                                  └──────(the probe fails)──────────────▶ OPEN (new cool-down)
//! ```
//!
//! A vendor's `Retry-After` holds the offering back for that long whatever
//! the state. Health checks can only hold an offering back: a failing check
//! counts as a vendor failure, a passing one changes nothing (a check that
//! passes says nothing about the model a job would call; only a real job
//! closes a breaker).
//!
//! This module must never touch the database or the clock: callers pass
//! `now` and store what it returns.

use crate::store::health::BreakerRow;

/// The public state of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum BreakerState {
    /// Serving.
    Closed,
    /// Kept out after failures until its cool-down passes.
    Open,
    /// Cool-down passed: one probe job may try it.
    HalfOpen,
}

impl BreakerState {
    /// 0 closed, 1 half-open, 2 open (the metrics gauge).
    pub fn gauge(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

/// What the breaker reacts to.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The vendor accepted a job (or answered it at once).
    Accepted,
    /// A vendor-side failure.
    Failed(&'a Observed<'a>),
}

/// A vendor-side failure as the breaker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// Public error code.
    pub code: &'a str,
    /// The vendor's or the host's message.
    pub message: &'a str,
    /// Open at once (a retired model, refused credentials).
    pub open_now: bool,
    /// The vendor's `Retry-After`.
    pub retry_after_secs: Option<u32>,
}

/// Thresholds, from `[routing]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures in a row that open the breaker.
    pub threshold: u32,
    /// How long an open breaker holds the offering back, ms.
    pub cooldown_ms: i64,
}

/// The state `row` is in at `now`.
pub fn state(row: &BreakerRow, now: i64) -> BreakerState {
    match row.state.as_str() {
        "open" if row.hold_until.is_some_and(|t| t > now) => BreakerState::Open,
        "open" => BreakerState::HalfOpen,
        _ => BreakerState::Closed,
    }
}

/// Until when `row` holds its offering back, if it does at `now` (an open
/// breaker's cool-down, or a vendor's `Retry-After`).
pub fn held_until(row: &BreakerRow, now: i64) -> Option<i64> {
    row.hold_until.filter(|t| *t > now)
}

/// Whether a probe job holds the half-open breaker at `now`.
pub fn probing(row: &BreakerRow, now: i64) -> bool {
    row.probe_until.is_some_and(|t| t > now)
}

/// `row` after `event` at `now`.
pub fn apply(row: BreakerRow, event: Event<'_>, policy: Policy, now: i64) -> BreakerRow {
    match event {
        Event::Accepted => BreakerRow {
            state: "closed".into(),
            consecutive_failures: 0,
            opened_at: None,
            // A vendor's Retry-After still holds; a cool-down does not.
            hold_until: if row.state == "open" { None } else { row.hold_until },
            hold_reason: if row.state == "open" { None } else { row.hold_reason },
            probe_job_id: None,
            probe_until: None,
            ..row
        },
        Event::Failed(failure) => {
            let failures = row.consecutive_failures + 1;
            let was_open = row.state == "open";
            let opens = failure.open_now || was_open || failures >= i64::from(policy.threshold.max(1));
            let mut next = BreakerRow {
                consecutive_failures: failures,
                last_error_code: Some(failure.code.to_string()),
                last_error_message: Some(failure.message.to_string()),
                last_error_at: Some(now),
                ..row
            };
            if let Some(secs) = failure.retry_after_secs.filter(|s| *s > 0) {
                let until = now + i64::from(secs) * 1000;
                if next.hold_until.is_none_or(|t| t < until) {
                    next.hold_until = Some(until);
                    next.hold_reason = Some(format!("the vendor asked to wait {secs} s (Retry-After)"));
                }
            }
            if opens {
                // Opening, or a failure while open (the probe, a health
                // check, a job that was already under way): a new cool-down.
                let until = now + policy.cooldown_ms;
                if !was_open || state(&next, now) == BreakerState::HalfOpen || next.opened_at.is_none() {
                    next.opened_at = Some(now);
                }
                next.state = "open".into();
                if next.hold_until.is_none_or(|t| t < until) {
                    next.hold_until = Some(until);
                    next.hold_reason = Some(format!("circuit open after: {}", failure.message));
                }
                next.probe_job_id = None;
                next.probe_until = None;
            }
            next
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy { threshold: 3, cooldown_ms: 10_000 };

    fn fail(row: BreakerRow, now: i64, open_now: bool, retry_after_secs: Option<u32>) -> BreakerRow {
        let observed = Observed { code: "PROVIDER_UNAVAILABLE", message: "503", open_now, retry_after_secs };
        apply(row, Event::Failed(&observed), POLICY, now)
    }

    #[test]
    fn opens_after_the_threshold_then_half_opens_and_closes_on_an_accepted_probe() {
        let mut row = BreakerRow::closed("kling");
        for now in [1, 2] {
            row = fail(row, now, false, None);
            assert_eq!(state(&row, now), BreakerState::Closed);
        }
        row = fail(row, 3, false, None);
        assert_eq!(state(&row, 3), BreakerState::Open);
        assert_eq!((row.opened_at, held_until(&row, 3)), (Some(3), Some(10_003)));
        assert_eq!(state(&row, 10_003), BreakerState::HalfOpen);
        let closed = apply(row, Event::Accepted, POLICY, 10_004);
        assert_eq!(state(&closed, 10_004), BreakerState::Closed);
        assert_eq!((closed.consecutive_failures, closed.opened_at, closed.hold_until), (0, None, None));
    }

    #[test]
    fn a_failed_probe_reopens_with_a_new_cool_down() {
        let row = fail(BreakerRow::closed("a"), 0, true, None);
        assert_eq!(state(&row, 0), BreakerState::Open);
        let reopened = fail(row, 20_000, false, None);
        assert_eq!(state(&reopened, 20_000), BreakerState::Open);
        assert_eq!((reopened.opened_at, reopened.hold_until), (Some(20_000), Some(30_000)));
    }

    #[test]
    fn retry_after_holds_a_closed_offering_and_an_acceptance_keeps_the_hold() {
        let row = fail(BreakerRow::closed("a"), 0, false, Some(30));
        assert_eq!(state(&row, 0), BreakerState::Closed);
        assert_eq!(held_until(&row, 0), Some(30_000));
        assert_eq!(held_until(&row, 30_000), None);
        let accepted = apply(row, Event::Accepted, POLICY, 1);
        assert_eq!(held_until(&accepted, 1), Some(30_000));
        assert_eq!(accepted.consecutive_failures, 0);
    }

    #[test]
    fn a_longer_retry_after_outlasts_the_cool_down() {
        let row = fail(BreakerRow::closed("a"), 0, true, Some(120));
        assert_eq!(held_until(&row, 0), Some(120_000));
        assert_eq!(state(&row, 60_000), BreakerState::Open);
        assert_eq!(state(&row, 120_000), BreakerState::HalfOpen);
    }
}
