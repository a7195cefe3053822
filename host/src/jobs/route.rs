//! Routing a generation: which offering runs it, at acceptance and again
//! on failover.
//!
//! The pure parts (screening by rules and health, scores, explanations)
//! are `crate::routing`'s; this file adds what needs plugins and the
//! database: validating the request against each candidate's options,
//! asking for quotes (`COST`, and the one chosen), and claiming the single
//! probe of a half-open breaker, which every node sees.
//!
//! A job keeps its [`RoutingRecord`]: the explained decision (returned as
//! `Generation.routing`) and, when it may fail over (chosen automatically,
//! or named with explicit `fallbacks`), the request as given, so the next
//! candidate can be validated and quoted as if it had been chosen first.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::validate::{self, RawInput};
use super::{Caller, Jobs};
use crate::error::{ApiError, ErrorCode, code_for_failure};
use crate::plugins::{JobRequest, LoadedPlugin, MediaKind, Offering, Quote};
use crate::routing::{self, Candidate, CandidateReport, Decision, Priority, Rules};
use crate::store::now_ms;

/// What a job keeps about how it was routed (`jobs.routing`, JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoutingRecord {
    /// The caller's priority.
    pub priority: Priority,
    /// Chosen by the gateway (no `provider` in the request).
    pub automatic: bool,
    /// The request's `provider`, when it named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named: Option<String>,
    /// The request's explicit fallbacks, after its `provider`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    /// The request as given, kept only when the job may fail over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<GivenRequest>,
    /// The latest decision.
    pub decision: Decision,
}

impl RoutingRecord {
    /// Whether the job may move to another offering.
    pub fn may_fail_over(&self) -> bool {
        self.automatic || !self.fallbacks.is_empty()
    }
}

/// A request's inputs and options as the caller sent them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GivenRequest {
    text: Option<String>,
    image: Option<String>,
    audio: Option<String>,
    video: Option<String>,
    voice: Option<String>,
    options: Option<Json>,
    /// Sent with `Prefer: handling=lenient`: options are adjusted for
    /// each offering it may move to, too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    lenient: bool,
}

impl GivenRequest {
    pub(super) fn new(input: &RawInput, options: Option<&Json>, lenient: bool) -> GivenRequest {
        GivenRequest {
            text: input.text.clone(),
            image: input.image.clone(),
            audio: input.audio.clone(),
            video: input.video.clone(),
            voice: input.voice.clone(),
            options: options.cloned(),
            lenient,
        }
    }

    pub(super) fn lenient(&self) -> bool {
        self.lenient
    }

    pub(super) fn input(&self) -> RawInput {
        RawInput {
            text: self.text.clone(),
            image: self.image.clone(),
            audio: self.audio.clone(),
            video: self.video.clone(),
            voice: self.voice.clone(),
        }
    }

    pub(super) fn options(&self) -> Option<&Json> {
        self.options.as_ref()
    }
}

/// Where a request goes.
pub(super) enum Route<'a> {
    /// Chosen by priority among every serving offering of the kind.
    Automatic,
    /// The request's provider, then its explicit fallbacks, in order.
    Listed(&'a [String]),
}

/// The offering chosen, with its validated request and quote.
pub(super) struct Routed {
    pub plugin: LoadedPlugin,
    pub offering: Offering,
    pub request: JobRequest,
    pub quote: Quote,
    pub decision: Decision,
}

/// A request for [`Jobs::choose`].
pub(super) struct Choice<'a> {
    pub caller: &'a Caller,
    pub kind: MediaKind,
    pub priority: Priority,
    pub input: &'a RawInput,
    pub options: Option<&'a Json>,
    /// Adjust `options` for each candidate instead of refusing them.
    pub lenient: bool,
    pub route: Route<'a>,
    /// Offerings this generation already tried.
    pub tried: &'a [String],
    /// The generation's id (claims a half-open probe).
    pub job_id: &'a str,
}

impl Choice<'_> {
    /// Validate the request for `offering` (its options adjusted first
    /// when lenient).
    fn validate(&self, offering: &Offering) -> Result<JobRequest, ApiError> {
        if self.lenient {
            let (options, _) = super::lenient::adjust(offering, self.options);
            validate::validate(offering, self.kind, self.input, options.as_ref())
        } else {
            validate::validate(offering, self.kind, self.input, self.options)
        }
    }
}

impl Jobs {
    /// Choose the offering for `choice`: screen, validate, rank, quote.
    /// `PROVIDER_UNAVAILABLE` when none is left (with every candidate's
    /// reason); the first validation error when no offering accepts the
    /// request at all.
    pub(super) async fn choose(&self, choice: Choice<'_>) -> Result<Routed, ApiError> {
        let snapshot = self.inner.registry.snapshot();
        let view = self.inner.health.view();
        let config = &self.inner.config.routing;
        let now = now_ms();
        let test_mode = choice.caller.test_mode;
        let automatic = matches!(choice.route, Route::Automatic);
        let enabled = |id: &str| self.plugin_enabled(id);
        let (offerings, rules) = match choice.route {
            Route::Automatic => (
                routing::offerings_of(&snapshot, choice.kind, test_mode, &enabled),
                Rules::for_request(config, choice.kind, choice.priority),
            ),
            Route::Listed(ids) => (
                ids.iter()
                    .filter_map(|id| snapshot.offering_refs().find(|(_, o)| o.id == *id))
                    .filter(|(p, o)| enabled(p.id()) && o.kinds.contains(&choice.kind))
                    .collect(),
                Rules::default(),
            ),
        };
        let mut candidates = routing::screen(
            offerings,
            |p: &&LoadedPlugin| p.missing_secrets(),
            &rules,
            &view,
            test_mode,
            choice.tried,
            now,
        );
        let mut first_invalid = None;
        if choice.priority == Priority::Cost && automatic {
            // Ranking by this request's quotes needs every candidate
            // validated and quoted first.
            for c in candidates.iter_mut().filter(|c| c.eligible()) {
                self.validate_candidate(c, &choice, &mut first_invalid);
            }
            self.quote_all(&mut candidates).await;
        }
        if automatic {
            routing::rank(&mut candidates, choice.priority, &view, config.min_samples);
        } else {
            // Listed: the caller's order; only eligibility matters.
            candidates.sort_by_key(|c| !c.eligible());
        }
        // The first eligible candidate that accepts the request (validated
        // in rank order, so those below the chosen one are not) and quotes.
        let mut chosen = None;
        for (i, c) in candidates.iter_mut().enumerate() {
            if !c.eligible() || (c.request.is_none() && !self.validate_candidate(c, &choice, &mut first_invalid)) {
                continue;
            }
            if c.probe
                && !test_mode
                && !self.inner.health.claim_probe(&c.offering.id, choice.job_id).await.map_err(ApiError::from)?
            {
                c.skip("circuit HALF_OPEN: another generation is probing it");
                continue;
            }
            if c.quote.is_none() {
                let request = c.request.as_ref().expect("validated above");
                match c.plugin.quote(request).await {
                    Ok(Ok(q)) => c.quote = Some(q),
                    Ok(Err(failure)) => {
                        c.skip(format!("refused the request: {}", failure.message));
                        if failure.code == crate::plugins::FailureCode::InvalidInput {
                            first_invalid.get_or_insert(ApiError::new(
                                code_for_failure(failure.code),
                                format!("provider `{}` refused the request: {}", c.offering.id, failure.message),
                            ));
                        }
                        continue;
                    }
                    Err(e) => {
                        c.skip(format!("unavailable: {e}"));
                        continue;
                    }
                }
            }
            chosen = Some(i);
            break;
        }
        let mut decision = routing::decide(&candidates, choice.priority, &view, config.min_samples);
        if let Route::Listed(_) = choice.route {
            decision.reason = match decision.chosen.as_deref() {
                Some(id) if Some(id) == candidates.first().map(|c| c.id()) => "named by the request".into(),
                Some(_) => "the first available of the request's provider and fallbacks".into(),
                None => decision.reason,
            };
        }
        let Some(i) = chosen else {
            // A request no offering accepts (skipped ones included) is the
            // caller's mistake, not an outage.
            let accepted_somewhere =
                candidates.iter().any(|c| c.request.is_some() || choice.validate(c.offering).is_ok());
            if !accepted_somewhere && let Some(e) = first_invalid {
                return Err(e);
            }
            return Err(nothing_available(choice.kind, &decision));
        };
        let c = candidates.swap_remove(i);
        let mut quote = c.quote.expect("chosen candidates are quoted");
        if let Some(credits) = self.inner.config.credit_override(c.plugin.id(), &c.offering.id) {
            quote.credits = credits;
        }
        Ok(Routed {
            request: c.request.expect("chosen candidates are validated"),
            plugin: c.plugin.clone(),
            offering: c.offering.clone(),
            quote,
            decision,
        })
    }

    /// Validate the request against `c`'s options; on failure skip it,
    /// keep the first error, and return false.
    fn validate_candidate(
        &self,
        c: &mut Candidate<'_>,
        choice: &Choice<'_>,
        first_invalid: &mut Option<ApiError>,
    ) -> bool {
        match choice.validate(c.offering) {
            Ok(request) => {
                c.request = Some(request);
                true
            }
            Err(e) => {
                c.skip(format!("does not accept the request: {}", e.message));
                first_invalid.get_or_insert(e);
                false
            }
        }
    }

    /// Quote every validated eligible candidate at once (`COST` ranks by
    /// quotes); one that refuses or fails is skipped.
    async fn quote_all(&self, candidates: &mut [Candidate<'_>]) {
        let quotes = futures::future::join_all(candidates.iter().map(|c| async move {
            match (&c.request, c.eligible()) {
                (Some(request), true) => Some(c.plugin.quote(request).await),
                _ => None,
            }
        }))
        .await;
        for (c, quote) in candidates.iter_mut().zip(quotes) {
            match quote {
                Some(Ok(Ok(q))) => c.quote = Some(q),
                Some(Ok(Err(failure))) => c.skip(format!("refused the request: {}", failure.message)),
                Some(Err(e)) => c.skip(format!("unavailable: {e}")),
                None => {}
            }
        }
    }
}

/// `PROVIDER_UNAVAILABLE` naming why each candidate was left out.
fn nothing_available(kind: MediaKind, decision: &Decision) -> ApiError {
    let reasons: Vec<String> = decision
        .candidates
        .iter()
        .filter_map(|c: &CandidateReport| c.skipped_because.as_ref().map(|r| format!("{}: {r}", c.id)))
        .collect();
    let message = if reasons.is_empty() {
        format!("no provider is available for {}", kind.as_str().to_uppercase())
    } else {
        format!("no provider is available for {} ({})", kind.as_str().to_uppercase(), reasons.join("; "))
    };
    ApiError::new(ErrorCode::ProviderUnavailable, message)
        .with("candidates", serde_json::to_value(&decision.candidates).unwrap_or_default())
}
