//! `twin info`: counts per kind and per town.

use std::fmt::Write as _;

use twin_core::{AssetKind, Twin};

use crate::DataArgs;
use crate::out::{out, outln};

/// Prints the counts of the loaded twin.
pub fn run(args: &DataArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let twin = crate::data::load(args)?;
    let loaded_in = started.elapsed();
    out!("{}", report(&twin));
    outln!("loaded in {:.2} s", loaded_in.as_secs_f64());
    if args.data.is_empty() {
        outln!("data: {}", twin_chongming::island::ATTRIBUTION);
    }
    // The process ends here: freeing a million assets one allocation at a time took
    // about a second and gives the system nothing it does not get back at exit.
    std::mem::forget(twin);
    Ok(())
}

/// The text `twin info` prints (without timing).
pub fn report(twin: &Twin) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} assets", twin.len());
    let _ = writeln!(out, "\nper kind:");
    for (kind, n) in twin.counts_by_kind() {
        let _ = writeln!(out, "  {kind:<28} {n:>9}");
    }
    let _ = writeln!(
        out,
        "\nper town (assets located in it, towns and islands not counted):"
    );
    let mut rows: Vec<(String, usize)> = twin
        .counts_by_town()
        .into_iter()
        .map(|(town, n)| {
            let name = match town.and_then(|h| twin.get(h)) {
                Some(t) => format!(
                    "{} {}",
                    t.name_zh.as_deref().unwrap_or(""),
                    t.name_en.as_deref().unwrap_or(&t.id)
                ),
                None => "(in no town)".to_string(),
            };
            (name, n)
        })
        .collect();
    rows.sort();
    for (name, n) in rows {
        // Chinese characters take two terminal columns: pad by display width.
        let _ = writeln!(out, "  {} {n:>9}", pad_to(&name, 28));
    }
    let towns = twin
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Town)
        .count();
    let _ = writeln!(out, "\n{towns} towns");
    out
}

/// `text` padded with spaces to `width` terminal columns (CJK characters take two).
pub fn pad_to(text: &str, width: usize) -> String {
    let used: usize = text
        .chars()
        .map(|c| if c > '\u{2e80}' { 2 } else { 1 })
        .sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}
