//! Standard output that lets its reader go: `twin query … | head` must end quietly,
//! not with "failed printing to stdout: Broken pipe" and a stack trace (what `println!`
//! does). Every line the command line prints goes through [`outln!`]/[`out!`]: when the
//! reader has gone, printing stops, [`gone`] turns true, and the long-running commands
//! (`run`, `replay`, `publish`) end their loop as if their time were up, so that their
//! `--save` and `--report` are still written. Other write errors are reported once on
//! stderr and printing stops the same way.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static GONE: AtomicBool = AtomicBool::new(false);

/// True once standard output can no longer be written (its reader went away).
pub fn gone() -> bool {
    GONE.load(Ordering::Relaxed)
}

/// Writes to standard output unless it has gone; notes when it goes.
pub fn write(args: std::fmt::Arguments<'_>) {
    if gone() {
        return;
    }
    let mut o = std::io::stdout().lock();
    // Rust's stdout is line-buffered: a line's write reaches the pipe at its newline.
    if let Err(e) = o.write_fmt(args) {
        GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("twin: standard output: {e}; output stops here");
        }
    }
}

/// `println!` that stops quietly when the reader has gone (see the module docs).
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that stops quietly when the reader has gone (see the module docs).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};
