//! `twin crs`: `x,y` CSV lines from stdin to stdout, converted, at full precision.

use std::io::{BufRead, Write};

use twin_core::crs::{Crs, Transformer};

/// Converts stdin to stdout. Columns after the second are passed through; blank lines
/// and lines starting with `#` are copied as they are. A bad line is reported on stderr
/// with its number, the rest go on, and the command fails at the end.
pub fn run(from: &str, to: &str) -> anyhow::Result<()> {
    let from: Crs = from.parse().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to: Crs = to.parse().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let t = Transformer::new(&from, &to)?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let bad = match convert_lines(&t, stdin.lock(), &mut out, &mut std::io::stderr())
        .and_then(|bad| out.flush().map(|()| bad).map_err(LineError::Write))
    {
        Ok(bad) => bad,
        // The reader went away (`twin crs … | head`): stop quietly.
        Err(LineError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if bad > 0 {
        return Err(anyhow::anyhow!("{bad} line(s) could not be converted"));
    }
    Ok(())
}

/// Why converting lines stopped.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Standard input could not be read.
    #[error("stdin: {0}")]
    Read(std::io::Error),
    /// Standard output could not be written.
    #[error("stdout: {0}")]
    Write(std::io::Error),
}

/// Converts every line; returns how many were bad.
pub fn convert_lines(
    t: &Transformer,
    input: impl BufRead,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<usize, LineError> {
    let mut bad = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(LineError::Read)?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            writeln!(out, "{line}").map_err(LineError::Write)?;
            continue;
        }
        match convert_line(t, trimmed) {
            Ok(s) => writeln!(out, "{s}").map_err(LineError::Write)?,
            Err(e) => {
                bad += 1;
                let _ = writeln!(err, "twin crs: line {}: {e}: `{trimmed}`", n + 1);
            }
        }
    }
    Ok(bad)
}

fn convert_line(t: &Transformer, line: &str) -> anyhow::Result<String> {
    let mut cols = line.split(',');
    let mut num = |what: &str| -> anyhow::Result<f64> {
        let s = cols
            .next()
            .ok_or_else(|| anyhow::anyhow!("missing {what}"))?
            .trim();
        s.parse::<f64>()
            .map_err(|_| anyhow::anyhow!("{what} `{s}` is not a number"))
    };
    let x = num("x")?;
    let y = num("y")?;
    let (cx, cy) = t.convert(x, y)?;
    let mut s = format!("{cx},{cy}");
    for rest in cols {
        s.push(',');
        s.push_str(rest);
    }
    Ok(s)
}
