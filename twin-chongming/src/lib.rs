//! # twin-chongming: the Chongming district scenario
//!
//! [`twin_core`] is the engine: it knows nothing about any place. This crate is the
//! first place it serves — the three islands of Shanghai's Chongming district
//! (Chongming, Changxing, Hengsha) and their 18 towns — and everything that is specific
//! to that scenario rather than to the engine:
//!
//! - [`island`]: the real island and town boundaries (OpenStreetMap, ODbL; the files are
//!   in this crate's `assets/chongming/`, compiled in so they load the same natively and
//!   in a web page).
//! - [`synth`]: the seeded, labelled synthetic infrastructure generated on those
//!   boundaries (roads, canals, fields, ~50,000 buildings, stations, chargers and exactly
//!   100,000 sensors at scale 1), since no open source provides it here.
//! - [`sim`]: the seeded telemetry simulator with daily patterns and planned incidents,
//!   the *standard channels* every telemetry source of the scenario uses (`level`,
//!   `pm25`, `power`, …), the standard overlay and the standard live session.
//! - [`DEFAULT_RULES_JSON`] and [`STANDARD_OVERLAY_JSON`]: the island's default alert
//!   rules and overlay as the JSON files a user edits (`assets/rules/chongming.json`,
//!   `assets/overlays/standard.json`).
//!
//! A city that wants the same writes its own crate of this shape over twin-core: its
//! boundaries and assets (or files loaded at run time), its channels, rules and overlay.
//!
//! ```
//! use twin_core::KindFilter;
//! let twin = twin_chongming::island::load_real().unwrap();
//! // Which town holds the district government at Chengqiao (121.397 E, 31.623 N)?
//! let towns = twin.query_containing((121.397, 31.623), Some(&"town".parse::<KindFilter>().unwrap()));
//! assert_eq!(twin.get(towns[0]).unwrap().name_zh.as_deref(), Some("城桥镇"));
//! ```

pub mod island;
pub mod sim;
pub mod synth;

pub use island::{bundled, load_real};
pub use sim::{
    Incident, SimConfig, Simulator, StandardChannels, standard_channels, standard_config,
    standard_layers, standard_session,
};
pub use synth::SynthConfig;

/// The default alert rules of the bundled island (`assets/rules/chongming.json`),
/// written for the channels of [`sim::standard_channels`].
pub const DEFAULT_RULES_JSON: &str = include_str!("../assets/rules/chongming.json");

/// How the island's alerts group into incidents (`assets/rules/incidents.json`, the
/// format of [`twin_core::state::incident::IncidentRules::from_json`]): a surge's
/// gauges by town (and across a town line within 2 km), a charger's alerts within
/// 300 m, silent gauges by town, air quality within 3 km.
pub const DEFAULT_INCIDENTS_JSON: &str = include_str!("../assets/rules/incidents.json");

/// Who handles the island's incidents (`assets/rules/dispatch.json`, the format of
/// [`twin_core::state::orders::DispatchRules::from_json`]): a town's flooding to its
/// water team, a charger fault to the charging operator, silent gauges to the town's
/// sensor maintenance, air quality to the environment bureau, anything over several
/// towns to the district centre; escalation town team → town centre → district centre;
/// critical incidents accepted within 5 minutes and resolved within an hour.
pub const DEFAULT_DISPATCH_JSON: &str = include_str!("../assets/rules/dispatch.json");

/// The standard overlay as an overlay file (`assets/overlays/standard.json`): the same
/// layers as [`sim::standard_layers`] (a test keeps the two equal).
pub const STANDARD_OVERLAY_JSON: &str = include_str!("../assets/overlays/standard.json");
