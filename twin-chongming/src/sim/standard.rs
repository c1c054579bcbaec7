//! The standard live session of the island: the standard channels, alert rules,
//! overlay and online window every front end (`twin run`, the desktop viewer, the web
//! package) starts from.

use super::channels::{StandardChannels, standard_channels};
use super::overlay::standard_layers;
use twin_core::state::alert::RuleError;
use twin_core::{Session, SessionConfig, Twin};

/// A sensor counts as online while its last sample is at most this old (2 minutes, as
/// the default `gauge-silent` rule assumes).
pub const ONLINE_WINDOW_MS: i64 = 120_000;

/// A session over `twin` kept as `config` says, with the standard channels
/// registered, the alert rules of `rules_json` (the island's defaults are
/// [`crate::DEFAULT_RULES_JSON`]) and the standard overlay ([`standard_layers`]). A
/// rule error names the rule.
pub fn standard_session(
    twin: Twin,
    config: SessionConfig,
    rules_json: &str,
) -> Result<(Session, StandardChannels), RuleError> {
    let mut session = Session::new(twin, config);
    let channels = standard_channels(&mut session);
    session.set_rules_json(rules_json)?;
    session.set_incident_rules(standard_incident_rules());
    session.set_dispatch_rules(standard_dispatch_rules());
    session
        .set_layers(standard_layers(&channels))
        .expect("the standard layers are valid (tested)");
    Ok((session, channels))
}

/// The standard session of a snapshot ([`twin_core::snapshot::load`]): the snapshot
/// holds the assets, channels, state, alert rules, open alerts, incidents and orders;
/// the incident and dispatch rules and the overlay, which it does not hold, are set as
/// [`standard_session`] sets them. `rules_json`, when given, replaces the snapshot's
/// alert rules.
pub fn standard_session_from_snapshot(
    path: &std::path::Path,
    config: SessionConfig,
    rules_json: Option<&str>,
) -> Result<(Session, StandardChannels), String> {
    let mut session = twin_core::snapshot::load(path, config).map_err(|e| e.to_string())?;
    let channels = standard_channels(&mut session);
    session.set_incident_rules(standard_incident_rules());
    session.set_dispatch_rules(standard_dispatch_rules());
    session
        .set_layers(standard_layers(&channels))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(text) = rules_json {
        session.set_rules_json(text).map_err(|e| e.to_string())?;
    }
    Ok((session, channels))
}

/// How the island's alerts group into incidents ([`crate::DEFAULT_INCIDENTS_JSON`]);
/// a session restored from a snapshot needs them set again.
pub fn standard_incident_rules() -> twin_core::state::incident::IncidentRules {
    twin_core::state::incident::IncidentRules::from_json(crate::DEFAULT_INCIDENTS_JSON)
        .expect("the island's incident rules are valid (tested)")
}

/// Who handles the island's incidents ([`crate::DEFAULT_DISPATCH_JSON`]); a session
/// restored from a snapshot needs them set again.
pub fn standard_dispatch_rules() -> twin_core::state::orders::DispatchRules {
    twin_core::state::orders::DispatchRules::from_json(crate::DEFAULT_DISPATCH_JSON)
        .expect("the island's dispatch rules are valid (tested)")
}

/// The session settings of the island's front ends: history for `max_age_ms` within
/// `budget_bytes`, sensors online for [`ONLINE_WINDOW_MS`] after a sample, the rest as
/// [`SessionConfig::default`].
pub fn standard_config(max_age_ms: i64, budget_bytes: Option<usize>) -> SessionConfig {
    SessionConfig {
        retention: twin_core::state::Retention::max_age(max_age_ms),
        history_budget_bytes: budget_bytes,
        online_window_ms: ONLINE_WINDOW_MS,
        ..SessionConfig::default()
    }
}
