//! What the server's test binaries share: the tokens and the small island they serve.

// Each test binary uses a part of it.
#![allow(dead_code)]

use twin_chongming::SynthConfig;
use twin_chongming::sim::{standard_config, standard_session};
use twin_core::Session;
pub mod broker;

use twin_server::{Feed, Limits, Running, Served, ServerConfig, Tokens};

pub const VIEWER: &str = "viewer-token-0123456789abcdef";
pub const OPERATOR: &str = "operator-token-0123456789abcdef";
pub const ADMIN: &str = "admin-token-0123456789abcdef";

/// A viewer `wall`, an operator `duty` and an admin `root`.
pub fn tokens() -> Tokens {
    Tokens::parse(
        &format!("{VIEWER} viewer wall\n{OPERATOR} operator duty\n{ADMIN} admin root\n"),
        "test-tokens",
    )
    .unwrap()
}

/// A small island (5% of the synthetic infrastructure) in the standard session.
pub fn session() -> Session {
    session_and_channels().0
}

/// [`session`] with the channels its simulator needs.
pub fn session_and_channels() -> (Session, twin_chongming::StandardChannels) {
    let twin = twin_chongming::island::load(&SynthConfig {
        seed: 2026,
        scale: 0.05,
    })
    .unwrap();
    standard_session(
        twin,
        standard_config(6 * 3_600_000, None),
        twin_chongming::DEFAULT_RULES_JSON,
    )
    .unwrap()
}

/// A server on a free loopback port (plain HTTP, the test tokens) over `session`.
pub fn start(session: Session, limits: Limits, feed: Feed) -> Running {
    start_with(session, limits, feed, &[])
}

/// [`start`] with named overlays for the stream (name, layers JSON).
pub fn start_with(
    session: Session,
    limits: Limits,
    feed: Feed,
    overlays: &[(&str, &str)],
) -> Running {
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        mqtt: None,
    };
    let mut served = Served::new(session, Some(tokens()), limits, "test twin");
    for (name, json) in overlays {
        served.add_overlay(name, json).unwrap();
    }
    twin_server::spawn(&config, served, feed, false).unwrap()
}
