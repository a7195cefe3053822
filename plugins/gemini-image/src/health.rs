//! The plugin's health: whether Google takes our key and serves the models
//! behind our offerings, from one cheap `models.get` per offering.
//!
//! The host's health check is per plugin (a failure holds every offering
//! back), while a retired model concerns one offering only, whose `submit`
//! then reports `model-unavailable` and stops routing to it alone. So:
//!
//! | per-offering results                                  | verdict                              |
//! |-------------------------------------------------------|--------------------------------------|
//! | all served                                            | healthy                              |
//! | some served, the others `model-unavailable`           | healthy (a warning in the logs)      |
//! | none served, all `model-unavailable`                  | the first `model-unavailable`        |
//! | any other failure (key refused, quota, outage)        | that failure, at once                |

use doitong_plugin_sdk::prelude::*;

use crate::catalogue::TIERS;
use crate::{API_KEY, api};

/// Check every offering's model with the operator's key.
pub fn check() -> Result<(), Failure> {
    let key = require_secret(API_KEY)?;
    let mut results = Vec::new();
    for tier in TIERS {
        let model = model_id(tier.offering, tier.model);
        let result = api::check_model(&key, &model, tier.offering);
        // Key, quota and outage answers are the same for every model.
        let plugin_wide = result.as_ref().is_err_and(|f| f.code != FailureCode::ModelUnavailable);
        results.push(result);
        if plugin_wide {
            break;
        }
    }
    let (verdict, unavailable) = verdict(results);
    for failure in unavailable {
        log(Level::Warn, &failure.message);
    }
    verdict
}

/// The plugin's verdict from per-offering results (see the module table),
/// and the `model-unavailable` failures a healthy verdict leaves out.
pub fn verdict(results: Vec<Result<(), Failure>>) -> (Result<(), Failure>, Vec<Failure>) {
    let mut served = false;
    let mut unavailable = Vec::new();
    for result in results {
        match result {
            Ok(()) => served = true,
            Err(failure) if failure.code == FailureCode::ModelUnavailable => unavailable.push(failure),
            Err(failure) => return (Err(failure), Vec::new()),
        }
    }
    match (served, unavailable.is_empty()) {
        (true, _) | (false, true) => (Ok(()), unavailable),
        (false, false) => (Err(unavailable.remove(0)), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_retired_model_does_not_hold_the_other_offering_back() {
        let gone = || failure::model_unavailable("gone");
        assert_eq!(verdict(vec![Ok(()), Ok(())]), (Ok(()), vec![]));
        assert_eq!(verdict(vec![Ok(()), Err(gone())]), (Ok(()), vec![gone()]));
        assert_eq!(verdict(vec![Err(gone()), Err(failure::model_unavailable("also gone"))]), (Err(gone()), vec![]));
        let refused = failure::unauthorized("API key not valid");
        assert_eq!(verdict(vec![Err(refused.clone())]), (Err(refused.clone()), vec![]));
        assert_eq!(verdict(vec![Ok(()), Err(refused.clone())]), (Err(refused), vec![]));
        let throttled = failure::rate_limited_for("quota", Some(30));
        assert_eq!(verdict(vec![Err(gone()), Err(throttled.clone())]), (Err(throttled), vec![]));
    }
}
