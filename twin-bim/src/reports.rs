//! What ifc-lite says about a file while it reads it.
//!
//! ifc-lite reports a scan that came back short — a record with no terminating `;`
//! (an unterminated string, say), or entity numbers too large to index — through one
//! process-wide sink that prints to stderr unless the host installs its own. Printed,
//! the warning reaches no one (a server's log at best, once per input in a fuzzer)
//! and the model loads with entities missing. twin installs a sink that keeps the
//! messages for the read that caused them, and [`crate::read_ifc_bytes`] refuses a
//! model the reader only read in part.
//!
//! The messages are kept per thread: ifc-lite reports on the thread that called it.
//! A message arriving on any other thread (none does in ifc-lite 28.2) is kept in a
//! small shared list that the next read on any thread takes, so it is never lost,
//! though with two reads at once it could be charged to the other one.

use std::cell::RefCell;
use std::sync::{Mutex, Once};

/// At most this many messages are kept for one read.
const MAX_KEPT: usize = 16;

thread_local! {
    static KEPT: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

static ELSEWHERE: Mutex<Vec<String>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

fn sink(message: &str) {
    let kept = KEPT.with(|k| {
        let mut k = k.borrow_mut();
        match k.as_mut() {
            Some(list) => {
                if list.len() < MAX_KEPT {
                    list.push(message.to_string());
                }
                true
            }
            None => false,
        }
    });
    if !kept {
        let mut list = ELSEWHERE.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() < MAX_KEPT {
            list.push(message.to_string());
        }
    }
}

/// Runs `read` with ifc-lite's reports collected, and returns what it returned with
/// the reports made while it ran (in order, at most 16).
pub(crate) fn collecting<T>(read: impl FnOnce() -> T) -> (T, Vec<String>) {
    INSTALL.call_once(|| {
        // false when the host installed its own sink first: then the host sees the
        // reports and twin cannot; the checks of check.rs still apply.
        let _ = ifc_lite_core::set_report_sink(sink);
    });
    let outer = KEPT.with(|k| k.borrow_mut().replace(Vec::new()));
    let out = read();
    let mut mine = KEPT.with(|k| {
        let mut k = k.borrow_mut();
        std::mem::replace(&mut *k, outer).unwrap_or_default()
    });
    mine.append(&mut ELSEWHERE.lock().unwrap_or_else(|e| e.into_inner()));
    (out, mine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_made_during_a_read_are_its_own_and_bounded() {
        let ((), got) = collecting(|| {
            for i in 0..40 {
                sink(&format!("m{i}"));
            }
        });
        assert_eq!(got.len(), MAX_KEPT);
        assert_eq!(got[0], "m0");
        let ((), none) = collecting(|| ());
        assert!(none.is_empty());
    }
}
