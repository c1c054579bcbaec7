//! # Live state: what the island's sensors say, now and before
//!
//! A [`StateStore`] sits beside a [`crate::Twin`] and holds, for every asset and
//! every registered *channel* (`level`, `pm25`, `online`, `state`), the latest value,
//! its time (UTC milliseconds) and its quality, plus the history of each (asset,
//! channel) series.
//!
//! ## Layout
//! Latest values live in columns, one per channel, dense by asset [`crate::Handle`]:
//! `f64` value, `i64` time, `u8` quality — 17 bytes per asset per channel, so applying
//! a resolved [`Sample`] is a bounds check, three stores and a history append. Values
//! of every type are stored as `f64`: numbers as they are, booleans as 0/1, states of an
//! enumerated channel as their index ([`ChannelType`]). History is chunked per series
//! at 12 bytes per sample ([`history`]).
//!
//! ## Ordering and idempotence
//! - A sample newer than the latest becomes the latest and is appended to history.
//! - An older sample (out of order, e.g. a late MQTT redelivery) goes to history in
//!   its place; the latest is not touched.
//! - An exact repeat (same time, same value) changes nothing: ingest is idempotent,
//!   so at-least-once delivery cannot double-count.
//! - The same time with another value replaces it (the last write wins).
//!
//! ## Refusals
//! Unknown ids, handles or channels, NaN or infinite values, values of the wrong type,
//! states an enumerated channel does not have, and timestamps more than the tolerance
//! (default 5 minutes) ahead of "now" are refused with a [`RejectReason`], counted in
//! the [`IngestReport`] (the first 64 in full) and never applied: nothing held is
//! disturbed and nothing panics.
//!
//! ## Change tracking
//! Every handle whose latest value changed is remembered once until
//! [`StateStore::take_changed`] returns them as merged ranges: the rows of a
//! renderer's state texture to upload, without scanning all assets.
//!
//! ## Overlays
//! [`Overlay`] turns channels into a colour per asset through named style layers
//! (ramps, thresholds, categories, stale and no-data colours, alert highlights, a
//! choropleth of regions) and reports the ranges of handles whose colour changed.
//! Layers can be read from and written to JSON overlay files ([`load_layers_json`],
//! [`layers_json`]; `assets/overlays/standard.json` is the standard overlay), and
//! [`Overlay::colors_at`] gives the colours of a past time from history.
//!
//! ## Alerts
//! [`alert::AlertEngine`] evaluates threshold rules (hysteresis, minimum duration) on
//! every applied sample and keeps alerts through raised → acknowledged → cleared,
//! deduplicated per (rule, asset), with events to subscribers.
//!
//! ## Vital signs
//! [`vitals::VitalSigns`] keeps, per town and island, sensors online and offline, mean
//! and maximum per channel and open alerts by severity, updated per applied sample,
//! and recomputes the same table for a past time from history.
//!
//! ## Time travel
//! [`StateStore::value_at`] and [`StateStore::state_at`] answer from history: the
//! state at `t` is, for each series, its last sample at or before `t` (as long as
//! retention kept it).

pub mod alert;
mod channel;
pub mod history;
pub mod incident;
pub mod orders;
pub mod overlay;
mod store;
pub mod vitals;

pub use channel::{ChannelId, ChannelSpec, ChannelType, Quality, Value, decode};
pub use history::{History, Retention, SeriesKey};
pub use overlay::{
    Layer, Overlay, OverlayError, Rgba, Style, StyleError, layers_json, load_layers_json,
};
pub use store::{
    IngestReport, Latest, MAX_REJECTION_EXAMPLES, Reading, RegisterChannel, RejectReason,
    Rejection, Sample, StateStore,
};
