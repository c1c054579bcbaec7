//! `twin run --data-dir`: history survives a restart (the series runs on across it),
//! `twin history` prints what is stored, and DuckDB and pyarrow read the history
//! files as they are, with the same samples.

mod harness;

use std::path::Path;
use std::process::Command;

use harness::{LONG, reference_python, temp_dir, twin};

/// 2025-11-21T04:40:00Z.
const T0: i64 = 1_763_700_000_000;
const GAUGE: &str = "CM-S-WL-000001";

fn history(dir: &Path, extra: &[&str]) -> Vec<(i64, String)> {
    let o = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args([
            "history",
            "--data-dir",
            dir.to_str().unwrap(),
            GAUGE,
            "level",
            "--ms",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.starts_with("ts,value\n"), "{text}");
    text.lines()
        .skip(1)
        .map(|l| {
            let (t, v) = l.split_once(',').unwrap();
            (t.parse().unwrap(), v.to_string())
        })
        .collect()
}

fn run(dir: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "run",
        "--scale",
        "0.01",
        "--speed",
        "max",
        "--data-dir",
        dir.to_str().unwrap(),
        "--checkpoint-every",
        "0s",
        "--table-every",
        "0",
        "--alert-lines",
        "0",
    ];
    all.extend_from_slice(args);
    twin("run", &all).finish(LONG).1
}

#[test]
fn history_runs_on_across_a_restart_and_duckdb_reads_the_files() {
    let tmp = temp_dir("history");
    let data = tmp.join("data");
    let out = run(&data, &["--for", "40s", "--start-ms", &T0.to_string()]);
    assert!(out.contains("data dir") && out.contains(": new;"), "{out}");
    // The second run starts where the first ended (its newest state), for 20 s more.
    let out = run(
        &data,
        &["--for", "20s", "--start-ms", &(T0 + 40_000).to_string()],
    );
    assert!(out.contains("checkpoint 40;"), "{out}");
    let stored = history(&data, &[]);
    let times: Vec<i64> = stored.iter().map(|(t, _)| *t).collect();
    let want: Vec<i64> = (1..=60).map(|s| T0 + s * 1000).collect();
    assert_eq!(times, want, "one sample a second, across the restart");
    // A range, in ISO 8601.
    let some = history(
        &data,
        &[
            "--from",
            "2025-11-21T04:40:10Z",
            "--to",
            "2025-11-21T04:40:19.999Z",
        ],
    );
    assert_eq!(some.len(), 10);
    assert_eq!(some[0], stored[9]);

    // With a checkpoint after every second, all but the newest segments are Parquet.
    let files: Vec<_> = std::fs::read_dir(data.join("history"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() > 20, "{files:?}");
    let script = r#"
import sys, duckdb, pyarrow.parquet as pq
d, gauge = sys.argv[1], sys.argv[2]
t = pq.read_table(d + "/history/")
print("schema", ",".join(f"{f.name}:{f.type}" for f in t.schema))
con = duckdb.connect()
for ts, v in con.execute(
    "SELECT epoch_ms(ts), value FROM read_parquet(? || '/history/*.parquet')"
    " WHERE asset = ? AND channel = 'level' ORDER BY ts, seq", [d, gauge]).fetchall():
    print("row", ts, repr(v))
print("channels", con.execute(
    "SELECT count(DISTINCT channel) FROM read_parquet(? || '/history/*.parquet')", [d]).fetchone()[0])
"#;
    let o = Command::new(reference_python())
        .args(["-c", script, data.to_str().unwrap(), GAUGE])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains(
            "schema asset:dictionary<values=string, indices=int32, ordered=0>,\
             channel:dictionary<values=string, indices=int32, ordered=0>,\
             ts:timestamp[ms, tz=UTC],value:double,quality:uint8,seq:uint64"
        ),
        "{text}"
    );
    let rows: Vec<(i64, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("row "))
        .map(|l| {
            let (t, v) = l.split_once(' ').unwrap();
            (t.parse().unwrap(), v.to_string())
        })
        .collect();
    assert!(rows.len() > 40, "{text}");
    // Every row DuckDB reads is what `twin history` prints for that time, to the bit
    // (both print the shortest decimal that reads back to the same double).
    for (ts, v) in &rows {
        let stored_v = &stored.iter().find(|(t, _)| t == ts).unwrap().1;
        assert_eq!(
            v.parse::<f64>().unwrap().to_bits(),
            stored_v.parse::<f64>().unwrap().to_bits(),
            "{ts}"
        );
    }
    assert!(text.contains("channels "), "{text}");
    std::fs::remove_dir_all(&tmp).ok();
}
