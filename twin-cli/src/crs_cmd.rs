//! `twin crs`: `x,y` CSV lines from stdin to stdout, converted, at full precision.

use std::io::{BufRead, Write};

use twin_core::crs::{Crs, Transformer};

/// Converts stdin to stdout. Columns after the second are passed through; blank lines
/// and lines starting with `#` are copied as they are. A bad line is reported on stderr
/// with its number, the rest go on, and the command fails at the end.
pub fn run(from: &str, to: &str) -> Result<(), String> {
    let from: Crs = from.parse().map_err(|e| format!("--from: {e}"))?;
    let to: Crs = to.parse().map_err(|e| format!("--to: {e}"))?;
    let t = Transformer::new(&from, &to).map_err(|e| e.to_string())?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let bad = convert_lines(&t, stdin.lock(), &mut out, &mut std::io::stderr())?;
    out.flush().map_err(|e| e.to_string())?;
    if bad > 0 {
        return Err(format!("{bad} line(s) could not be converted"));
    }
    Ok(())
}

/// Converts every line; returns how many were bad.
pub fn convert_lines(
    t: &Transformer,
    input: impl BufRead,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<usize, String> {
    let mut bad = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
            continue;
        }
        match convert_line(t, trimmed) {
            Ok(s) => writeln!(out, "{s}").map_err(|e| e.to_string())?,
            Err(e) => {
                bad += 1;
                let _ = writeln!(err, "twin crs: line {}: {e}: `{trimmed}`", n + 1);
            }
        }
    }
    Ok(bad)
}

fn convert_line(t: &Transformer, line: &str) -> Result<String, String> {
    let mut cols = line.split(',');
    let mut num = |what: &str| -> Result<f64, String> {
        let s = cols.next().ok_or_else(|| format!("missing {what}"))?.trim();
        s.parse::<f64>()
            .map_err(|_| format!("{what} `{s}` is not a number"))
    };
    let x = num("x")?;
    let y = num("y")?;
    let (cx, cy) = t.convert(x, y).map_err(|e| e.to_string())?;
    let mut s = format!("{cx},{cy}");
    for rest in cols {
        s.push(',');
        s.push_str(rest);
    }
    Ok(s)
}
