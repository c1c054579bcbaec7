//! # twin-server: the live twin as a service
//!
//! An operations centre runs one twin on a server and many screens look at it.
//! `twin serve` (in twin-cli) builds the live [`twin_core::Session`] — the island or
//! the operator's data, the rules, a resumed snapshot — and hands it to this crate,
//! which holds it behind one lock ([`Served`]) and serves it over HTTP with axum on
//! tokio:
//!
//! - a JSON API under `/api/v1` (assets and spatial queries, one asset with its latest
//!   state and sensors, a series' history raw or in buckets, vital signs now or at a
//!   time, alerts and their acknowledgement, alert events for polling clients, the
//!   rules), described by the OpenAPI document at `/openapi.json` ([`api`]);
//! - the assets as OGC API – Features under `/ogc`, for GIS clients ([`ogc`]);
//! - the live stream at `/api/v1/stream`, one WebSocket per screen: a snapshot of what
//!   it subscribed to, then changed colours and values as binary frames, alert events,
//!   vital signs and status as JSON ([`stream`], docs/stream.md).
//!
//! ## Time and telemetry
//! A [`Driver`] feeds the session once a second of wall-clock time: the CLI's driver is
//! the seeded simulator, so one command gives a live district to look at. With no
//! driver the server still ticks the session every second (sensors fall offline,
//! silence rules raise). Every change to the session goes through
//! [`Served::write_with`], which files the alert events it produced in a bounded log
//! of the last [`EVENTS_KEPT`] for `/api/v1/events`.
//!
//! With an MQTT broker ([`MqttConfig`]) the telemetry comes from the sensor network:
//! several MQTT v5 connections in one shared-subscription group decode in parallel and
//! one task applies their messages in batches, acknowledging each only after it was
//! applied ([`mqtt`]); gateways may send batches (a JSON array of readings or the
//! SensorThings `dataArray` form).
//!
//! ## Security
//! With a tokens file ([`Tokens`]: `TOKEN ROLE [NAME]` per line) every route but
//! `/healthz` needs `Authorization: Bearer TOKEN`: a missing or unknown token is 401, a
//! role too low for the route is 403 (viewer reads; operator also acknowledges; admin
//! also changes rules). Tokens are compared in constant time and never logged (a
//! caller is named by its token's name). Each token has a request rate (429 past it),
//! failed authentications share one small rate, bodies, query strings and answers are
//! capped ([`Limits`]), and every refusal is counted (`/api/v1/status`). Without a
//! tokens file the server refuses to listen anywhere but loopback. With a certificate
//! and key ([`TlsFiles`]) it speaks HTTPS only (rustls with the ring provider).

pub mod api;
pub mod auth;
pub mod district;
pub mod models;
pub mod mqtt;
pub mod ogc;
mod run;
pub mod state;
pub mod store;
pub mod stream;

pub use auth::{Caller, Role, Tokens, TokensError};
pub use mqtt::MqttConfig;
pub use run::{Driver, Feed, Running, ServeError, ServerConfig, TlsFiles, spawn};
pub use state::{EVENTS_KEPT, Limits, Served};
pub use stream::StreamLimits;
