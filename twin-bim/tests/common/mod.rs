//! What the test binaries of twin-bim share: the test models and IfcOpenShell's Python.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// A model of `tests/data/external`.
pub fn model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/external")
        .join(name)
}

/// The Python with IfcOpenShell: $TWIN_PYTHON, or the one scripts/pyenv sets up.
pub fn python() -> String {
    std::env::var("TWIN_PYTHON").unwrap_or_else(|_| {
        let o = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pyenv"))
            .output()
            .expect("scripts/pyenv");
        assert!(
            o.status.success(),
            "scripts/pyenv: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    })
}
