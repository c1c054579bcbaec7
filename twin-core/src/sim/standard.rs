//! The standard live twin: the standard channels, alert rules and online window every
//! front end (`twin run`, the desktop viewer, the web package) starts from.

use super::channels::{StandardChannels, standard_channels};
use crate::state::StateStore;
use crate::state::alert::RuleError;
use crate::state::history::Retention;
use crate::state::live::LiveTwin;
use crate::twin::Twin;

/// A sensor counts as online while its last sample is at most this old (2 minutes, as
/// the default `gauge-silent` rule assumes).
pub const ONLINE_WINDOW_MS: i64 = 120_000;

/// A live twin of `twin` with the standard channels registered, history kept per
/// `retention` within `budget_bytes`, and the alert rules of `rules_json` (the default
/// rules are [`crate::state::live::DEFAULT_RULES_JSON`]). A rule error names the rule.
pub fn standard_live_twin(
    twin: Twin,
    retention: Retention,
    budget_bytes: Option<usize>,
    rules_json: &str,
) -> Result<(LiveTwin, StandardChannels), RuleError> {
    let mut store = StateStore::new(twin.handle_capacity(), retention, budget_bytes);
    let channels = standard_channels(&mut store);
    let mut live = LiveTwin::new(twin, store, Vec::new(), ONLINE_WINDOW_MS);
    live.set_rules_json(rules_json)?;
    Ok((live, channels))
}
