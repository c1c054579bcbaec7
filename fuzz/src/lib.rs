//! What the fuzz targets share: a tiny live twin to resolve channels, ids and towns
//! against, the server built over it, scratch files for readers that take a path, and
//! [`fuzz_parser!`], which counts only panics that escape the parser as crashes.
//!
//! The tiny twin is `context/tiny.geojson` (2 towns, a building, a road, a parking
//! lot, a charger and 6 sensors) run for 3 simulated hours by `twin run` and saved as
//! `context/tiny.twin` (docs/fuzzing.md says how): it holds the standard channels,
//! samples, alerts, incidents and work orders. Everything is built once per process.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use twin_core::{Session, Twin};

/// The tiny twin's source features (GeoJSON).
pub const TINY_GEOJSON: &str = include_str!("../context/tiny.geojson");
/// The tiny twin after 3 simulated hours (a `twin run --save` snapshot).
pub const TINY_SNAPSHOT: &[u8] = include_bytes!("../context/tiny.twin");

/// A fresh session over the tiny twin, set up as the island's front ends set theirs
/// (`twin_chongming::standard_session_from_snapshot`, from bytes): standard channels,
/// the island's alert, incident and dispatch rules, the standard overlay.
pub fn new_session() -> Session {
    let config = twin_chongming::standard_config(3_600_000, Some(8 << 20));
    let mut s = twin_core::snapshot::from_bytes(TINY_SNAPSHOT, "tiny.twin", config)
        .expect("context/tiny.twin loads");
    let channels = twin_chongming::standard_channels(&mut s);
    s.set_incident_rules(twin_chongming::sim::standard_incident_rules());
    s.set_dispatch_rules(twin_chongming::sim::standard_dispatch_rules());
    s.set_layers(twin_chongming::standard_layers(&channels))
        .expect("standard layers");
    s
}

/// The tiny session, built once (read-only use).
pub fn session() -> &'static Session {
    static S: OnceLock<Session> = OnceLock::new();
    S.get_or_init(new_session)
}

/// The tiny twin.
pub fn twin() -> &'static Twin {
    session().twin()
}

/// The tiny twin's channels and state.
pub fn store() -> &'static twin_core::state::StateStore {
    session().store()
}

/// The server's state over a tiny session of its own, built once. Requests that
/// change it (rules, acknowledgements, steps) change it for later runs too: a crash
/// is reproduced from its input alone in all cases seen so far, and the regression
/// runner starts each input from a fresh process.
pub fn served() -> Arc<twin_server::Served> {
    static S: OnceLock<Arc<twin_server::Served>> = OnceLock::new();
    S.get_or_init(|| {
        let limits = twin_server::Limits {
            // The fuzzer is one very fast client: rate limits would answer 429 to
            // almost everything and hide the handlers.
            requests_per_second: 1_000_000,
            failures_per_second: 1_000_000,
            ..twin_server::Limits::default()
        };
        let mut served = twin_server::Served::new(new_session(), None, limits, "fuzz");
        served
            .add_overlay("alt", twin_chongming::STANDARD_OVERLAY_JSON)
            .expect("standard overlay");
        Arc::new(served)
    })
    .clone()
}

/// The input as text, if it is UTF-8 (every text parser here takes `&str`; its caller
/// refuses other bytes first).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A scratch file of this process (under `TMPDIR`), holding `data`, for readers that
/// take a path. The same path is reused every run.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("twin-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&path, data).expect("write a scratch file");
    path
}

thread_local! {
    static LAST_PANIC: RefCell<Option<(String, std::backtrace::Backtrace)>> =
        const { RefCell::new(None) };
}

/// A fuzz target as libFuzzer's `fuzz_target!`, except that a panic the code under
/// test catches itself is not a crash (see [`record_panics_instead_of_aborting`]); a
/// panic that escapes the body still is.
#[macro_export]
macro_rules! fuzz_parser {
    (|$data:ident: &[u8]| $body:block) => {
        libfuzzer_sys::fuzz_target!(
            init: {
                $crate::record_panics_instead_of_aborting();
            },
            |$data: &[u8]| {
                $crate::run_catching(|| $body);
            }
        );
    };
}

/// Replaces libFuzzer's abort-on-any-panic hook with one that only records the
/// message, for parsers that catch a dependency's panic themselves and refuse the
/// input, as they do in production (twin-render around the `gltf` crate, twin-core
/// around `flatgeobuf`'s reader, twin-store around `parquet`). A panic that is not
/// caught still ends the run as a crash: [`run_catching`] aborts on it after printing
/// the message and where it happened.
pub fn record_panics_instead_of_aborting() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let trace = std::backtrace::Backtrace::force_capture();
        LAST_PANIC.with(|p| {
            *p.borrow_mut() = Some((format!("panicked at {location}: {message}"), trace))
        });
    }));
}

/// Runs `f`; a panic that escapes it is printed and aborts the process (libFuzzer
/// then saves the input as a crash).
pub fn run_catching<R>(f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            match LAST_PANIC.with(|p| p.borrow_mut().take()) {
                Some((msg, trace)) => eprintln!("uncaught panic: {msg}\n{trace}"),
                None => eprintln!("uncaught panic"),
            }
            std::process::abort();
        }
    }
}
