//! Choosing a provider when the request names none, by what the vendors
//! declare *and* what they were seen doing.
//!
//! A choice runs in three steps, the middle one in `crate::jobs` (it calls
//! plugins):
//! 1. [`screen`]: every serving offering of the requested kind becomes a
//!    [`Candidate`]; those the operator excluded or pinned away (`[routing]`),
//!    whose plugin lacks a secret (live keys), or whose breaker holds them
//!    back (open, rate-limited by the vendor, half-open with a probe in
//!    flight) are marked skipped, with the reason.
//! 2. The job service validates the request against each remaining
//!    offering's options (and, for `COST`, asks each for its quote).
//! 3. [`rank`] scores what is left and orders it; [`decide`] explains the
//!    choice. Scores (higher is better):
//!    - `QUALITY`: the declared quality rank (1–100);
//!    - `SPEED`: minus the expected seconds to a result, the observed
//!      median once an offering has `routing.min_samples` results in the
//!      window, the declared estimate before;
//!    - `COST`: minus the credits the offering quoted for this request;
//!    - `BALANCED`: `quality × reliability / (1 + ln credits)`, credits the
//!      declared base price and reliability the observed success rate
//!      squared (1 until `min_samples` outcomes).
//!
//!    Offerings the operator prefers come first, in the configured order;
//!    ties break by offering id.
//!
//! The `placeholder` offering is never chosen for live keys, and for test
//! keys only when no real offering accepts the request.
//!
//! Ranking (this file) and the [`breaker`] state machine never call plugins
//! or the database: they rank what they are given. [`health`] owns the
//! observations and is the only part that reads and writes them (through
//! the store, shared by every node).

pub mod breaker;
pub mod health;

use serde::{Deserialize, Serialize};

pub use breaker::BreakerState;
pub use health::{Health, HealthView, OfferingHealth};

use crate::config::RoutingConfig;
use crate::plugins::registry::Snapshot;
use crate::plugins::{JobRequest, LoadedPlugin, MediaKind, Offering, Quote};

/// The id of the test-mode offering.
pub const PLACEHOLDER: &str = "placeholder";

/// What the caller optimises for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, async_graphql::Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    /// Quality per credit, discounted by a poor success rate.
    #[default]
    Balanced,
    /// Best quality rank.
    Quality,
    /// Shortest expected time.
    Speed,
    /// Fewest credits for this request.
    Cost,
}

impl Priority {
    /// As written in config (`balanced`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Balanced => "balanced",
            Priority::Quality => "quality",
            Priority::Speed => "speed",
            Priority::Cost => "cost",
        }
    }
}

/// One offering considered for a request, borrowed from the registry's
/// snapshot; `P` is the plugin serving it (`&LoadedPlugin` in the host).
#[derive(Clone)]
pub struct Candidate<'a, P = &'a LoadedPlugin> {
    /// The plugin serving it.
    pub plugin: P,
    /// The offering.
    pub offering: &'a Offering,
    /// The validated request, once validation passed.
    pub request: Option<JobRequest>,
    /// Its quote for this request (`COST` only, or once chosen).
    pub quote: Option<Quote>,
    /// Why it cannot be chosen.
    pub skipped: Option<String>,
    /// Its score, once ranked.
    pub score: Option<f64>,
    /// Chosen, it would be the probe of a half-open breaker.
    pub probe: bool,
    /// Ranked first by the operator's `prefer` (position in the list).
    preferred: Option<usize>,
}

impl<P> Candidate<'_, P> {
    /// Offering id.
    pub fn id(&self) -> &str {
        &self.offering.id
    }

    /// Not skipped.
    pub fn eligible(&self) -> bool {
        self.skipped.is_none()
    }

    /// Mark it skipped, keeping the first reason.
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skipped.get_or_insert_with(|| reason.into());
    }
}

/// The operator's rules that apply to one (kind, priority).
#[derive(Debug, Default, Clone)]
pub struct Rules {
    /// Never chosen automatically.
    pub exclude: Vec<String>,
    /// Ranked first, in this order.
    pub prefer: Vec<String>,
    /// Only this one.
    pub pin: Option<String>,
}

impl Rules {
    /// The global lists plus every `[[routing.rules]]` matching `kind` and
    /// `priority` (rule lists first; the last matching pin wins).
    pub fn for_request(config: &RoutingConfig, kind: MediaKind, priority: Priority) -> Rules {
        let mut rules = Rules::default();
        for rule in &config.rules {
            let kind_ok = rule.kind.as_deref().is_none_or(|k| k.eq_ignore_ascii_case(kind.as_str()));
            let priority_ok = rule.priority.as_deref().is_none_or(|p| p.eq_ignore_ascii_case(priority.as_str()));
            if kind_ok && priority_ok {
                rules.exclude.extend(rule.exclude.iter().cloned());
                rules.prefer.extend(rule.prefer.iter().cloned());
                if rule.pin.is_some() {
                    rules.pin = rule.pin.clone();
                }
            }
        }
        rules.exclude.extend(config.exclude.iter().cloned());
        rules.prefer.extend(config.prefer.iter().cloned());
        rules
    }
}

/// The explained choice, returned as `Generation.routing` and stored with
/// the generation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Decision {
    /// What the caller optimised for.
    pub priority: Priority,
    /// The offering chosen.
    pub chosen: Option<String>,
    /// Why.
    pub reason: String,
    /// Every offering considered, best first, with its score or why it was
    /// skipped.
    pub candidates: Vec<CandidateReport>,
}

/// One line of a [`Decision`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CandidateReport {
    /// Offering id.
    pub id: String,
    /// Its score for the priority (see the module docs), when ranked.
    pub score: Option<f64>,
    /// Why it was not eligible.
    pub skipped_because: Option<String>,
}

/// Serving offerings of `kind` from enabled plugins, placeholder last and
/// only for test keys.
pub fn offerings_of<'a>(
    snapshot: &'a Snapshot,
    kind: MediaKind,
    test_mode: bool,
    enabled: &dyn Fn(&str) -> bool,
) -> Vec<(&'a LoadedPlugin, &'a Offering)> {
    let mut found: Vec<(&LoadedPlugin, &Offering)> =
        snapshot.offering_refs().filter(|(p, o)| o.kinds.contains(&kind) && enabled(p.id())).collect();
    let placeholder = found.iter().position(|(_, o)| o.id == PLACEHOLDER).map(|i| found.remove(i));
    if let Some(placeholder) = placeholder.filter(|_| test_mode) {
        found.push(placeholder);
    }
    found
}

/// Candidates for `offerings`, skipped where the rules, a missing secret
/// (live keys; `missing_secrets` of the plugin) or the offering's health
/// say so. `tried` offerings (earlier attempts of the same generation) are
/// skipped too.
pub fn screen<'a, P>(
    offerings: Vec<(P, &'a Offering)>,
    missing_secrets: impl Fn(&P) -> Vec<String>,
    rules: &Rules,
    view: &HealthView,
    test_mode: bool,
    tried: &[String],
    now: i64,
) -> Vec<Candidate<'a, P>> {
    offerings
        .into_iter()
        .map(|(plugin, offering)| {
            let mut c = Candidate {
                preferred: rules.prefer.iter().position(|p| *p == offering.id),
                plugin,
                offering,
                request: None,
                quote: None,
                skipped: None,
                score: None,
                probe: false,
            };
            if tried.contains(&c.offering.id) {
                c.skip("already tried by this generation");
            }
            if rules.exclude.contains(&c.offering.id) {
                c.skip("excluded by [routing] config");
            }
            if let Some(pin) = rules.pin.as_deref().filter(|pin| *pin != c.offering.id && c.preferred.is_none()) {
                c.skip(format!("[routing] pins `{pin}`"));
            }
            if !test_mode {
                let missing = missing_secrets(&c.plugin);
                if !missing.is_empty() {
                    c.skip(format!("not configured: missing secret(s) {}", missing.join(", ")));
                }
            }
            if c.offering.id != PLACEHOLDER
                && let Some(health) = view.peek(&c.offering.id)
                && let Some(reason) = unavailable_because(health, now)
            {
                if health.state(now) == BreakerState::HalfOpen && reason.is_empty() {
                    c.probe = true;
                } else {
                    c.skip(reason);
                }
            }
            c
        })
        .collect()
}

/// Why `health` keeps its offering out at `now`: `None` when it serves, an
/// empty reason when it is half-open and free to probe.
pub fn unavailable_because(health: &OfferingHealth, now: i64) -> Option<String> {
    let row = &health.breaker;
    let last = row.last_error_message.as_deref().unwrap_or("");
    let secs = |until: i64| ((until - now) as f64 / 1000.0).ceil() as i64;
    match health.state(now) {
        BreakerState::Open => Some(format!(
            "circuit OPEN for {} more s after {}: {last}",
            secs(row.hold_until.unwrap_or(now)),
            row.last_error_code.as_deref().unwrap_or("failures"),
        )),
        BreakerState::HalfOpen if breaker::probing(row, now) => {
            Some("circuit HALF_OPEN: another generation is probing it".into())
        }
        BreakerState::HalfOpen => Some(String::new()),
        BreakerState::Closed => breaker::held_until(row, now).map(|until| {
            format!("held back {} more s: {}", secs(until), row.hold_reason.as_deref().unwrap_or("vendor rate limit"))
        }),
    }
}

/// Score the eligible candidates for `priority` and order them: preferred
/// first (in the configured order), then by score, then by id; skipped
/// ones last, in id order.
pub fn rank<P>(candidates: &mut [Candidate<'_, P>], priority: Priority, view: &HealthView, min_samples: u32) {
    for c in candidates.iter_mut().filter(|c| c.eligible()) {
        c.score = Some(score(c, priority, view, min_samples));
    }
    candidates.sort_by(|a, b| {
        let placeholder = |c: &Candidate<'_, P>| c.offering.id == PLACEHOLDER;
        (!a.eligible())
            .cmp(&!b.eligible())
            .then_with(|| placeholder(a).cmp(&placeholder(b)))
            .then_with(|| match (a.preferred, b.preferred) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| b.score.unwrap_or(f64::MIN).total_cmp(&a.score.unwrap_or(f64::MIN)))
            .then_with(|| a.offering.id.cmp(&b.offering.id))
    });
}

fn score<P>(c: &Candidate<'_, P>, priority: Priority, view: &HealthView, min_samples: u32) -> f64 {
    let o = c.offering;
    let observed = view.peek(&o.id).filter(|h| h.samples >= min_samples.max(1));
    match priority {
        Priority::Quality => f64::from(o.quality),
        Priority::Speed => match observed.and_then(|h| h.p50_ms) {
            Some(p50) => -(p50 as f64 / 1000.0),
            None => -f64::from(o.estimated_seconds.max(1)),
        },
        Priority::Cost => -f64::from(c.quote.as_ref().map_or(o.base_credits, |q| q.credits)),
        Priority::Balanced => {
            let credits = f64::from(o.base_credits.max(1));
            let reliability = observed.and_then(|h| h.success_rate).map_or(1.0, |r| r * r);
            f64::from(o.quality) * reliability / (1.0 + credits.ln())
        }
    }
}

/// How `c`'s score came about (only the chosen one is explained).
fn basis<P>(c: &Candidate<'_, P>, priority: Priority, view: &HealthView, min_samples: u32) -> String {
    let o = c.offering;
    let health = view.peek(&o.id);
    let observed = health.filter(|h| h.samples >= min_samples.max(1));
    match priority {
        Priority::Quality => format!("declared quality {}", o.quality),
        Priority::Speed => match observed.and_then(|h| h.p50_ms.map(|p| (p, h.successes))) {
            Some((p50, n)) => format!("observed median {:.1} s over {n} results", p50 as f64 / 1000.0),
            None => format!(
                "declared estimate {} s ({} of {min_samples} samples for an observed median)",
                o.estimated_seconds.max(1),
                health.map_or(0, |h| h.samples)
            ),
        },
        Priority::Cost => {
            format!("quoted {} credits for this request", c.quote.as_ref().map_or(o.base_credits, |q| q.credits))
        }
        Priority::Balanced => {
            let rate = observed.and_then(|h| h.success_rate);
            let rate_text = rate.map_or("no observed success rate yet".to_string(), |r| format!("success rate {r:.2}"));
            format!("quality {} at {} credits, {rate_text}", o.quality, o.base_credits.max(1))
        }
    }
}

/// The decision for ranked `candidates` (the first eligible one chosen).
pub fn decide<P>(candidates: &[Candidate<'_, P>], priority: Priority, view: &HealthView, min_samples: u32) -> Decision {
    let chosen = candidates.iter().find(|c| c.eligible());
    let eligible = candidates.iter().filter(|c| c.eligible()).count();
    let reason = match chosen {
        None => "no offering accepts this request".to_string(),
        Some(c) => {
            let basis = basis(c, priority, view, min_samples);
            let mut why = if c.preferred.is_some() {
                format!("preferred by [routing] config ({basis})")
            } else {
                format!("best {} score of {eligible} eligible: {basis}", priority.as_str().to_uppercase())
            };
            if c.probe {
                why.push_str("; probing its HALF_OPEN circuit after the cool-down");
            }
            why
        }
    };
    Decision {
        priority,
        chosen: chosen.map(|c| c.offering.id.clone()),
        reason,
        candidates: candidates
            .iter()
            .map(|c| CandidateReport { id: c.offering.id.clone(), score: c.score, skipped_because: c.skipped.clone() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::manifest::tests::offering;
    use crate::store::health::{BreakerRow, OutcomeRow};

    fn candidate(o: &Offering) -> Candidate<'_, ()> {
        Candidate {
            plugin: (),
            offering: o,
            request: None,
            quote: None,
            skipped: None,
            score: None,
            probe: false,
            preferred: None,
        }
    }

    fn offerings() -> Vec<Offering> {
        let mut a = offering("a");
        (a.quality, a.base_credits, a.estimated_seconds) = (90, 400, 300);
        let mut b = offering("b");
        (b.quality, b.base_credits, b.estimated_seconds) = (60, 20, 20);
        let mut c = offering("c");
        (c.quality, c.base_credits, c.estimated_seconds) = (60, 20, 20);
        vec![a, b, c]
    }

    fn three(offerings: &[Offering]) -> Vec<Candidate<'_, ()>> {
        offerings.iter().map(candidate).collect()
    }

    fn order<'a>(candidates: &'a [Candidate<'_, ()>]) -> Vec<&'a str> {
        candidates.iter().map(Candidate::id).collect()
    }

    #[test]
    fn declarations_rank_each_priority_and_ties_break_by_id() {
        let view = HealthView::default();
        let o = offerings();
        for (priority, first) in
            [(Priority::Quality, "a"), (Priority::Speed, "b"), (Priority::Cost, "b"), (Priority::Balanced, "b")]
        {
            let mut c = three(&o);
            rank(&mut c, priority, &view, 5);
            assert_eq!(c[0].id(), first, "{priority:?}");
        }
        let mut c = three(&o);
        c.reverse();
        rank(&mut c, Priority::Speed, &view, 5);
        assert_eq!(order(&c), ["b", "c", "a"]);
    }

    #[test]
    fn observed_medians_and_success_rates_take_over_from_declarations() {
        let mut outcomes = Vec::new();
        for _ in 0..5 {
            // `a` declares 300 s but answers in 2 s; `b` declares 20 s, takes 60 s.
            outcomes.push(OutcomeRow { offering_id: "a".into(), ok: true, duration_ms: Some(2000), created_at: 0 });
            outcomes.push(OutcomeRow { offering_id: "b".into(), ok: true, duration_ms: Some(60_000), created_at: 0 });
            outcomes.push(OutcomeRow { offering_id: "c".into(), ok: false, duration_ms: None, created_at: 0 });
        }
        let view = HealthView::build(0, vec![], &outcomes, 50);
        let o = offerings();
        let mut c = three(&o);
        rank(&mut c, Priority::Speed, &view, 5);
        assert_eq!(order(&c), ["a", "c", "b"]);
        let decision = decide(&c, Priority::Speed, &view, 5);
        assert!(decision.reason.contains("observed median 2.0 s"), "{}", decision.reason);
        let mut c = three(&o);
        rank(&mut c, Priority::Balanced, &view, 5);
        // `c` fails everything: its score drops to 0.
        assert_eq!(order(&c), ["b", "a", "c"]);
        assert_eq!(c[2].score, Some(0.0));
    }

    #[test]
    fn open_breakers_rules_and_tried_offerings_are_skipped_with_reasons() {
        let open = BreakerRow {
            state: "open".into(),
            hold_until: Some(10_000),
            last_error_code: Some("PROVIDER_UNAVAILABLE".into()),
            last_error_message: Some("connection refused".into()),
            ..BreakerRow::closed("a")
        };
        let view = HealthView::build(0, vec![open], &[], 50);
        let o = offerings();
        let offerings: Vec<((), &Offering)> = o.iter().map(|o| ((), o)).collect();
        let rules = Rules { exclude: vec!["c".into()], ..Rules::default() };
        let none = |_: &()| Vec::new();
        let mut c = screen(offerings.clone(), none, &rules, &view, true, &[], 5_000);
        rank(&mut c, Priority::Quality, &view, 5);
        let d = decide(&c, Priority::Quality, &view, 5);
        assert_eq!(d.chosen.as_deref(), Some("b"));
        let skipped = |id: &str| d.candidates.iter().find(|r| r.id == id).unwrap().skipped_because.clone().unwrap();
        assert!(skipped("a").contains("circuit OPEN for 5 more s"), "{}", skipped("a"));
        assert!(skipped("c").contains("excluded"));
        // After the cool-down `a` is half-open: eligible, as the probe.
        let c = screen(offerings.clone(), none, &Rules::default(), &view, true, &["b".into()], 10_000);
        assert!(c[0].eligible() && c[0].probe);
        assert!(c[1].skipped.as_deref().unwrap().contains("already tried"));
        // Preferred first, whatever the score.
        let rules = Rules { prefer: vec!["c".into()], ..Rules::default() };
        let mut c = screen(offerings, none, &rules, &HealthView::default(), true, &[], 0);
        rank(&mut c, Priority::Quality, &HealthView::default(), 5);
        assert_eq!(c[0].id(), "c");
        assert!(decide(&c, Priority::Quality, &HealthView::default(), 5).reason.starts_with("preferred"));
    }

    #[test]
    fn rules_match_kind_and_priority() {
        let config: RoutingConfig = toml::from_str(
            r#"
            exclude = ["x"]
            [[rules]]
            kind = "video"
            priority = "speed"
            pin = "kling"
            prefer = ["minimax"]
            [[rules]]
            kind = "image"
            exclude = ["flux"]
            "#,
        )
        .unwrap();
        let r = Rules::for_request(&config, MediaKind::Video, Priority::Speed);
        assert_eq!(
            (r.pin.as_deref(), r.prefer, r.exclude),
            (Some("kling"), vec!["minimax".to_string()], vec!["x".to_string()])
        );
        let r = Rules::for_request(&config, MediaKind::Video, Priority::Cost);
        assert_eq!(r.pin, None);
        assert_eq!(Rules::for_request(&config, MediaKind::Image, Priority::Cost).exclude, ["flux", "x"]);
    }
}
