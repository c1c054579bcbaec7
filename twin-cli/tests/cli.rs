//! The `twin` binary end to end: outputs with known answers, errors on stderr with a
//! non-zero status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

mod harness;
use harness::reference_python;

fn twin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn crs_converts_csv_at_full_precision() {
    // Expected values from PROJ 9 through pyproj (always_xy=True).
    let o = twin(
        &["crs", "--from", "EPSG:4326", "--to", "EPSG:32651"],
        "121.5,31.5\n# comment\n\n121.5,31.5,keep,these\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    let (x, y) = lines[0].split_once(',').unwrap();
    let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
    assert!((x - 357546.07419570873).abs() < 1e-3, "{x}");
    assert!((y - 3485991.0964056393).abs() < 1e-3, "{y}");
    assert!(lines[0].len() > 30, "full precision: {}", lines[0]);
    assert_eq!(lines[1], "# comment");
    assert_eq!(lines[2], "");
    assert!(lines[3].ends_with(",keep,these"), "{}", lines[3]);

    let o = twin(
        &["crs", "--from", "EPSG:4326", "--to", "EPSG:3857"],
        "121.5,31.5\n",
    );
    let text = stdout(&o);
    let (x, y) = text.trim().split_once(',').unwrap();
    assert!((x.parse::<f64>().unwrap() - 13525318.13138274).abs() < 1e-3);
    assert!((y.parse::<f64>().unwrap() - 3697855.330337703).abs() < 1e-3);
}

#[test]
fn crs_gcj02_round_trips_and_bad_lines_fail() {
    let o = twin(
        &["crs", "--from", "EPSG:4326", "--to", "GCJ02"],
        "121.5,31.5\n",
    );
    assert!(o.status.success());
    let out = stdout(&o);
    let o = twin(&["crs", "--from", "GCJ02", "--to", "EPSG:4326"], &out);
    let back = stdout(&o);
    let (x, y) = back.trim().split_once(',').unwrap();
    assert!((x.parse::<f64>().unwrap() - 121.5).abs() < 1e-7);
    assert!((y.parse::<f64>().unwrap() - 31.5).abs() < 1e-7);

    let o = twin(
        &["crs", "--from", "EPSG:4326", "--to", "EPSG:3857"],
        "121.5,31.5\nabc,31\n121.6\n",
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("line 2") && err.contains("`abc`"), "{err}");
    assert!(err.contains("line 3") && err.contains("missing y"), "{err}");
    assert_eq!(
        stdout(&o).lines().count(),
        1,
        "the good line is still written"
    );

    let o = twin(&["crs", "--from", "EPSG:99999999", "--to", "EPSG:4326"], "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("twin: --from"), "{}", stderr(&o));
}

#[test]
fn query_contains_names_the_town_and_island() {
    // Real boundaries only are needed: give them as --data.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/chongming/");
    let islands = format!("{root}islands.geojson");
    let towns = format!("{root}towns.geojson");
    let o = twin(
        &[
            "query", "contains", "121.397", "31.623", "--data", &islands, "--data", &towns,
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "CM-ISL-CHONGMING\t崇明岛 (Chongming Island)\nCM-TOWN-CHENGQIAO\t城桥镇 (Chengqiao)\n"
    );
    let o = twin(
        &[
            "query", "contains", "121.397", "31.623", "--kind", "town", "--data", &towns,
        ],
        "",
    );
    assert_eq!(stdout(&o), "CM-TOWN-CHENGQIAO\t城桥镇 (Chengqiao)\n");

    let o = twin(
        &[
            "query", "knn", "121.69", "31.40", "2", "--kind", "town", "--data", &towns,
        ],
        "",
    );
    let out = stdout(&o);
    let first: Vec<&str> = out.lines().next().unwrap().split('\t').collect();
    assert_eq!(first[0], "CM-TOWN-CHANGXING");
    assert_eq!(first[2], "0.00");

    let o = twin(&["info", "--data", &towns], "");
    assert!(stdout(&o).contains("18 towns"), "{}", stdout(&o));
}

#[test]
fn bad_data_and_arguments_fail_with_a_message() {
    let dir = std::env::temp_dir().join(format!("twin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.geojson");
    std::fs::write(&bad, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a","kind":"road"},"geometry":{"type":"Point","coordinates":[121.4,31.6]}},{"type":"Feature","properties":{"kind":"road"},"geometry":{"type":"Point","coordinates":[121.4,31.6]}}]}"#).unwrap();
    let bad = bad.to_str().unwrap();

    let o = twin(&["info", "--data", bad], "");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("bad.geojson: feature 1") && err.contains("missing id"),
        "{err}"
    );

    let o = twin(&["info", "--data", bad, "--lenient"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("1 assets"), "{}", stdout(&o));
    assert!(stderr(&o).contains("rejected"), "{}", stderr(&o));

    let o = twin(&["query", "contains", "500", "31"], "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a WGS84"), "{}", stderr(&o));

    let o = twin(&["info", "--data", "/nonexistent.geojson"], "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent.geojson"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_drives_the_island_raises_the_charger_fault_and_prints_vital_signs() {
    // A tenth of the island's sensors, 6 simulated minutes as fast as possible: the
    // default incidents put a charger fault at +5 min.
    let o = twin(
        &[
            "run",
            "--for",
            "6m",
            "--speed",
            "max",
            "--start-ms",
            "1763700000000",
            "--scale",
            "0.1",
            "--table-every",
            "5",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("incident planned: water-level surge"), "{out}");
    assert_eq!(out.matches("samples/min").count(), 6, "{out}");
    assert!(out.contains("rejected 0"), "{out}");
    let fault: Vec<&str> = out.lines().filter(|l| l.contains("ALERT RAISED")).collect();
    assert_eq!(fault.len(), 1, "{out}");
    assert!(
        fault[0].starts_with("[04:45:00Z]") && fault[0].contains("charger-fault"),
        "{}",
        fault[0]
    );
    // Tables at +5 min and at the end, each with 18 towns and 3 islands.
    assert_eq!(out.matches("vital signs at").count(), 2, "{out}");
    assert!(out.contains("陈家镇") && out.contains("* 崇明岛"), "{out}");

    let o = twin(&["run", "--for", "ten minutes"], "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("duration"), "{}", stderr(&o));
    let o = twin(&["run", "--for", "1m", "--speed", "fast"], "");
    assert!(stderr(&o).contains("--speed"), "{}", stderr(&o));
}

#[test]
fn a_camera_event_in_a_file_is_an_incident_dispatched_and_closed_at_its_own_moments() {
    // A camera's AI sees garbage at 04:40 and sees it gone at 04:50; the next reading
    // comes at 04:56:40, past the 300 s quiet period: the incident and its order still
    // close at 04:55:00, the moment that period ended.
    let t0 = 1_763_700_000_000i64;
    let line = |dt: i64, v: f64| {
        format!(
            "{{\"id\":\"CM-S-CAM-000001\",\"channel\":\"exposed_garbage\",\"ts\":{},\"value\":{v}}}\n",
            t0 + dt * 1000
        )
    };
    let text = [
        line(0, 0.87),
        line(60, 0.9),
        line(600, 0.0),
        line(1000, 0.0),
    ]
    .concat();
    let dir = std::env::temp_dir().join(format!("twin-camera-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("camera.jsonl");
    std::fs::write(&path, text).unwrap();
    let o = twin(&["replay", path.to_str().unwrap(), "--scale", "0.1"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "[04:40:00Z] ALERT RAISED  #1     Warning exposed-garbage    CM-S-CAM-000001 in 三星镇 (value 0.87)",
        "[04:40:00Z] INCIDENT OPENED   #1 city-appearance in 三星镇 (warning)",
        "[04:40:00Z] ORDER #1 DISPATCH  by system → urban/CM-TOWN-SANXING",
        "accept by 04:55:00Z; resolve by 08:40:00Z; resources: CM-GBG-",
        "[04:50:00Z] INCIDENT QUIET    #1 city-appearance",
        "[04:55:00Z] INCIDENT CLOSED   #1 city-appearance",
        "[04:55:00Z] ORDER #1 CLOSE     by system: closed automatically",
    ] {
        assert!(out.contains(want), "{want} not in\n{out}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn replay_plays_a_recorded_surge_into_an_alert() {
    // One water-level gauge rises above the 3.3 m rule for 50 s; the rule needs 30 s.
    let t0 = 1_763_700_000_000i64;
    let mut text = String::new();
    for s in 0..60 {
        let v = if s >= 10 { 3.5 } else { 2.5 };
        text.push_str(&format!(
            "{{\"id\":\"CM-S-WL-000001\",\"channel\":\"level\",\"ts\":{},\"value\":{v}}}\n",
            t0 + s * 1000
        ));
    }
    text.push_str("{\"id\":\"NOPE\",\"channel\":\"level\",\"ts\":1763700001000,\"value\":1}\n");
    text.push_str("this line is broken\n");
    let dir = std::env::temp_dir().join(format!("twin-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("surge.jsonl");
    std::fs::write(&path, text).unwrap();
    let o = twin(&["replay", path.to_str().unwrap(), "--scale", "0.1"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(err.contains("surge.jsonl:62: not JSON"), "{err}");
    assert!(
        err.contains("NOPE") && err.contains("unknown asset id"),
        "{err}"
    );
    let raised: Vec<&str> = out.lines().filter(|l| l.contains("ALERT RAISED")).collect();
    assert_eq!(raised.len(), 1, "{out}");
    // First sample above the limit at +10 s, held 30 s: raised with the +40 s sample.
    assert!(
        raised[0].starts_with("[04:40:40Z]") && raised[0].contains("water-level-high"),
        "{}",
        raised[0]
    );
    assert!(out.contains("1 readings refused"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_saves_a_snapshot_and_resumes_from_it() {
    let dir = std::env::temp_dir().join(format!("twin-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("island.twinsnap");
    let snap = snap.to_str().unwrap();
    let common = ["--speed", "max", "--scale", "0.1", "--table-every", "60"];
    let mut a = vec![
        "run",
        "--for",
        "6m",
        "--start-ms",
        "1763700000000",
        "--save",
        snap,
    ];
    a.extend(common);
    let o = twin(&a, "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("snapshot saved"), "{}", stdout(&o));
    let mut b = vec![
        "run",
        "--for",
        "1m",
        "--start-ms",
        "1763700360000",
        "--resume",
        snap,
        "--incidents-from",
        "1763700000000",
    ];
    b.extend(common);
    let o = twin(&b, "");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // The charger fault raised at +5 min is still open after the restart, not raised again.
    assert!(
        out.contains("resumed from") && out.contains("(1 open alerts)"),
        "{out}"
    );
    assert!(!out.contains("ALERT RAISED"), "{out}");
    assert!(out.contains("open alerts 1"), "{out}");
    std::fs::write(snap, b"garbage").unwrap();
    let o = twin(&b, "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a twin snapshot"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).ok();
}

/// Two simulated minutes of a small island (scale 0.05) saved to `snap`.
fn save_island_snapshot(snap: &str) {
    let o = twin(
        &[
            "run",
            "--for",
            "2m",
            "--speed",
            "max",
            "--scale",
            "0.05",
            "--start-ms",
            "1763700000000",
            "--save",
            snap,
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Runs `twin export --snapshot SNAP FLAG OUT`; returns the number of assets written.
fn export_snapshot(snap: &str, flag: &str, out: &str) -> usize {
    let o = twin(&["export", "--snapshot", snap, flag, out], "");
    assert!(o.status.success(), "{}", stderr(&o));
    stderr(&o)
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", stderr(&o)))
}

#[test]
fn export_writes_a_geopackage_that_gdal_opens() {
    let dir = std::env::temp_dir().join(format!("twin-gpkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("s.twinsnap");
    let gpkg = dir.join("island.gpkg");
    let (snap, gpkg) = (snap.to_str().unwrap(), gpkg.to_str().unwrap());
    save_island_snapshot(snap);
    let wrote = export_snapshot(snap, "--gpkg", gpkg);
    assert!(wrote > 10_000, "{wrote}");

    let ogrinfo = std::process::Command::new("ogrinfo")
        .arg("--version")
        .output();
    if ogrinfo.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have ogrinfo (gdal-bin)"
        );
        eprintln!("ogrinfo not installed: skipping the GDAL half of this test");
        return;
    }
    let info = std::process::Command::new("ogrinfo")
        .args(["-so", "-al", gpkg])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(text.contains("Layer name: assets"), "{text}");
    assert!(text.contains(&format!("Feature Count: {wrote}")), "{text}");
    assert!(text.contains("Geometry Column = geom"), "{text}");
    assert!(text.contains("ID[\"EPSG\",4326]"), "{text}");
    assert!(
        !String::from_utf8_lossy(&info.stderr).contains("Warning"),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    // A known town polygon and a water-level gauge with its latest value and time.
    let q = std::process::Command::new("ogrinfo")
        .args([
            "-q", gpkg, "-sql",
            "SELECT asset_id, kind, name_zh, town, level_time, geom FROM assets WHERE asset_id IN ('CM-TOWN-CHENGQIAO', 'CM-S-WL-000001') ORDER BY asset_id",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&q.stdout);
    assert!(
        text.contains("asset_id (String) = CM-S-WL-000001"),
        "{text}"
    );
    assert!(
        text.contains("level_time (String) = 2025-11-21T04:42:00Z"),
        "{text}"
    );
    assert!(text.contains("name_zh (String) = 城桥镇"), "{text}");
    assert!(
        text.contains("POLYGON") || text.contains("MULTIPOLYGON"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn export_writes_geoparquet_that_duckdb_and_pyarrow_read() {
    let dir = std::env::temp_dir().join(format!("twin-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("s.twinsnap");
    let pq = dir.join("island.parquet");
    let (snap, pq) = (snap.to_str().unwrap(), pq.to_str().unwrap());
    save_island_snapshot(snap);
    let wrote = export_snapshot(snap, "--parquet", pq);
    assert!(wrote > 10_000, "{wrote}");
    // Readers no one here wrote: pyarrow for the file's GeoParquet metadata, DuckDB
    // for the rows, the geometry (its GEOMETRY type reads the WKB) and the state.
    let script = r#"
import json, sys
import duckdb, pyarrow.parquet as pq
path = sys.argv[1]
t = pq.read_table(path)
geo = json.loads(t.schema.metadata[b"geo"])
col = geo["columns"]["geometry"]
print("rows", t.num_rows)
print("geo", geo["version"], geo["primary_column"], col["encoding"], "crs" in col)
print("covering", json.dumps(col["covering"]["bbox"]["xmin"]))
print("types", ",".join(sorted(col["geometry_types"])))
print("time", t.schema.field("level_time").type)
con = duckdb.connect()
def first_vertex(gj):
    c = json.loads(gj)["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return c
for (i, k, zh, town, level, time, crs, gj) in con.execute(
    "SELECT asset_id, kind, name_zh, town, level, strftime(level_time, '%Y-%m-%dT%H:%M:%SZ'),"
    " ST_CRS(geometry), ST_AsGeoJSON(geometry) FROM read_parquet(?)"
    " WHERE asset_id = 'CM-TOWN-CHENGQIAO'", [path]).fetchall():
    x, y = first_vertex(gj)
    print("town", i, k, zh, town, level, time, crs, json.loads(gj)["type"], x, y)
for row in con.execute(
    "SELECT asset_id, kind, sensor_type, level IS NOT NULL,"
    " strftime(level_time, '%Y-%m-%dT%H:%M:%SZ'), json_extract_string(ST_AsGeoJSON(geometry), '$.type')"
    " FROM read_parquet(?) WHERE asset_id = 'CM-S-WL-000001'", [path]).fetchall():
    print("gauge", *row)
print("kinds", con.execute(
    "SELECT count(DISTINCT kind), sum(CASE WHEN kind = 'town' THEN 1 ELSE 0 END)"
    " FROM read_parquet(?)", [path]).fetchone())
print("bbox", con.execute(
    "SELECT count(*) FROM read_parquet(?) WHERE bbox.xmin > 121.7 AND bbox.xmax < 121.8"
    " AND bbox.ymin > 31.6 AND bbox.ymax < 31.7", [path]).fetchone()[0] > 0)
"#;
    let o = Command::new(reference_python())
        .args(["-c", script, pq])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{}\n{out}", stderr(&o));
    assert!(out.contains(&format!("rows {wrote}\n")), "{out}");
    // GeoParquet 1.1, WKB, no `crs` key: OGC:CRS84 by the specification.
    assert!(out.contains("geo 1.1.0 geometry WKB False\n"), "{out}");
    assert!(out.contains("covering [\"bbox\", \"xmin\"]"), "{out}");
    assert!(
        out.contains("types LineString,MultiPolygon,Point,Polygon\n"),
        "{out}"
    );
    assert!(out.contains("time timestamp[ms, tz=UTC]\n"), "{out}");
    // Chengqiao's first vertex in assets/chongming/towns.geojson.
    let towns: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/chongming/towns.geojson"
        ))
        .unwrap(),
    )
    .unwrap();
    let chengqiao = towns["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["id"] == "CM-TOWN-CHENGQIAO")
        .unwrap();
    let ring = &chengqiao["geometry"]["coordinates"];
    let first = if chengqiao["geometry"]["type"] == "MultiPolygon" {
        &ring[0][0][0]
    } else {
        &ring[0][0]
    };
    let (x, y) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
    let town = out.lines().find(|l| l.starts_with("town ")).unwrap();
    let f: Vec<&str> = town.split(' ').collect();
    assert_eq!(
        &f[1..5],
        ["CM-TOWN-CHENGQIAO", "town", "城桥镇", "CM-ISL-CHONGMING"],
        "{town}"
    );
    assert_eq!(&f[5..8], ["None", "None", "OGC:CRS84"], "{town}");
    assert!(f[8] == "Polygon" || f[8] == "MultiPolygon", "{town}");
    let (dx, dy): (f64, f64) = (f[9].parse().unwrap(), f[10].parse().unwrap());
    assert!(
        (dx - x).abs() < 1e-6 && (dy - y).abs() < 1e-6,
        "{town} vs {x} {y}"
    );
    // The gauge's latest level and its time, as the GeoPackage export has them.
    assert!(
        out.contains("gauge CM-S-WL-000001 sensor water_level True 2025-11-21T04:42:00Z Point\n"),
        "{out}"
    );
    assert!(out.contains("bbox True"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `twin` with `args`, reads `lines` lines of its output and closes the pipe, as
/// `twin … | head -n LINES` does; returns the status and stderr once it has ended.
fn closed_after(args: &[&str], lines: usize) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        for _ in 0..lines {
            line.clear();
            out.read_line(&mut line).unwrap();
        }
        // `out` drops here: the reader has gone.
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap(), err)
}

#[test]
fn output_whose_reader_goes_away_ends_quietly() {
    // `twin query bbox … | head -n 2`: 158,654 lines wanted, two read.
    let (status, err) = closed_after(&["query", "bbox", "121.0", "31.0", "122.5", "32.0"], 2);
    assert!(status.success(), "{status:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );

    // `twin crs … | head -n 1` with more input than the pipe holds.
    let mut child = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["crs", "--from", "EPSG:4326", "--to", "EPSG:3857"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let input = "121.5,31.5\n".repeat(200_000);
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // `twin run … | head`: the run ends as if its time were up and still writes its
    // report.
    let dir = std::env::temp_dir().join(format!("twin-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.json");
    let started = std::time::Instant::now();
    let (status, err) = closed_after(
        &[
            "run",
            "--for",
            "2h",
            "--speed",
            "max",
            "--scale",
            "0.05",
            "--report",
            report.to_str().unwrap(),
        ],
        3,
    );
    assert!(status.success(), "{status:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        report.exists(),
        "the report is written when the reader goes"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "stopped early, not after 2 simulated hours ({:?})",
        started.elapsed()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unknown_kinds_are_refused_with_the_nearest_name() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/chongming/");
    let towns = format!("{root}towns.geojson");
    let o = twin(
        &[
            "query", "contains", "121.397", "31.623", "--kind", "twon", "--data", &towns,
        ],
        "",
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("unknown kind `twon`") && err.contains("did you mean `town`"),
        "{err}"
    );
    let o = twin(
        &[
            "query",
            "contains",
            "121.397",
            "31.623",
            "--kind",
            "custom:twon",
            "--data",
            &towns,
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "no asset is of the custom kind");
}

#[test]
fn other_peoples_files_load_with_a_mapping() {
    let data = |f: &str| {
        format!(
            "{}/../twin-core/tests/data/external/{f}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    let countries = data("ne_110m_admin_0_countries.geojson");
    // Without a mapping: every feature lacks `id`, and the error says so.
    let o = twin(&["info", "--data", &countries], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("missing id (property `id`)"),
        "{}",
        stderr(&o)
    );
    // With one on the command line: Paris is in France, and both name and kind are the
    // mapping's.
    let o = twin(
        &[
            "query",
            "contains",
            "2.35",
            "48.86",
            "--kind",
            "custom:country",
            "--data",
            &countries,
            "--id",
            "ADM0_A3",
            "--as",
            "custom:country",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "FRA\t\n");
    assert!(stderr(&o).contains("loaded as it is") && stderr(&o).contains("SDN"));
    // The same from a mapping file, with the English name.
    let dir = std::env::temp_dir().join(format!("twin-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mapping = dir.join("ne.json");
    std::fs::write(
        &mapping,
        r#"{"id": "ADM0_A3", "kind": "custom:country", "name_en": "NAME"}"#,
    )
    .unwrap();
    let o = twin(
        &[
            "query",
            "contains",
            "2.35",
            "48.86",
            "--data",
            &countries,
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(stdout(&o), "FRA\tFrance\n", "{}", stderr(&o));
    // A bad mapping file names itself and the member.
    std::fs::write(&mapping, r#"{"kind": {"rules": []}}"#).unwrap();
    let o = twin(
        &[
            "info",
            "--data",
            &countries,
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        "",
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("ne.json: mapping `kind`"),
        "{}",
        stderr(&o)
    );
    // OSM buildings in Web Mercator: the header's CRS, the tags' kinds.
    let o = twin(
        &[
            "info",
            "--data",
            &data("osm-buildings-3857-ch-sample.fgb"),
            "--id",
            "@feature",
            "--as",
            "osm",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("204 assets"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn geopackages_load_twins_own_export_and_gdals() {
    let dir = std::env::temp_dir().join(format!("twin-gpkg-in-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/chongming/");
    let towns = format!("{root}towns.geojson");
    // twin's own export loads back: the same assets per kind and per town.
    let out = dir.join("towns.gpkg");
    let o = twin(
        &["export", "--data", &towns, "--gpkg", out.to_str().unwrap()],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let before = twin(&["info", "--data", &towns], "");
    let after = twin(
        &["info", "--data", out.to_str().unwrap(), "--id", "asset_id"],
        "",
    );
    assert!(after.status.success(), "{}", stderr(&after));
    let counts = |o: &Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter(|l| l.starts_with("  ") || l.ends_with("assets"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(counts(&after), counts(&before));
    assert!(stdout(&after).contains("18 towns"), "{}", stdout(&after));
    // A table the file does not hold, and a file that is no GeoPackage.
    let o = twin(
        &["info", "--data", out.to_str().unwrap(), "--layer", "roads"],
        "",
    );
    assert!(
        stderr(&o).contains("no feature table `roads` (tables: assets)"),
        "{}",
        stderr(&o)
    );
    let fake = dir.join("fake.gpkg");
    std::fs::write(&fake, "not sqlite").unwrap();
    let o = twin(&["info", "--data", fake.to_str().unwrap()], "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fake.gpkg"), "{}", stderr(&o));
    // A GeoPackage GDAL wrote (ogr2ogr from Natural Earth's GeoJSON): 177 countries,
    // Paris in France.
    let ne = format!(
        "{}/../twin-core/tests/data/external/ne_110m_admin_0_countries.geojson",
        env!("CARGO_MANIFEST_DIR")
    );
    let gdal = dir.join("ne.gpkg");
    match std::process::Command::new("ogr2ogr")
        .args([
            "-f",
            "GPKG",
            gdal.to_str().unwrap(),
            &ne,
            "-nln",
            "countries",
        ])
        .output()
    {
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have ogr2ogr (gdal-bin)"
            );
            eprintln!("ogr2ogr not installed: skipping the GDAL half of this test");
        }
        Ok(r) => {
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let args = [
                "--data",
                gdal.to_str().unwrap(),
                "--id",
                "ADM0_A3",
                "--as",
                "custom:country",
            ];
            let o = twin(&[&["info"][..], &args[..]].concat(), "");
            assert!(
                stdout(&o).contains("177 assets"),
                "{}{}",
                stdout(&o),
                stderr(&o)
            );
            let o = twin(
                &[&["query", "contains", "2.35", "48.86"][..], &args[..]].concat(),
                "",
            );
            assert_eq!(stdout(&o), "FRA\t\n", "{}", stderr(&o));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_groups_alerts_into_incidents_and_reports_them() {
    let dir = std::env::temp_dir().join(format!("twin-incidents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("r.json");
    let o = twin(
        &[
            "run",
            "--for",
            "60m",
            "--speed",
            "max",
            "--scale",
            "0.1",
            "--start-ms",
            "1763700000000",
            "--table-every",
            "60",
            "--alert-lines",
            "0",
            "--report",
            report.to_str().unwrap(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // The charger fault at +5 min and the surge in Chenjia from +10: one incident each,
    // opened once, quiet when their alerts cleared, closed after the quiet period.
    // (Camera events at +8 and +12 min open #2 and #3 in between.)
    for line in [
        "[04:45:00Z] INCIDENT OPENED   #1 charger-fault in 东平镇 (warning)",
        "[04:48:00Z] INCIDENT OPENED   #2 city-appearance in 建设镇 (warning)",
        "INCIDENT OPENED   #4 flooding in 陈家镇 (critical)",
        "INCIDENT CLOSED   #1 charger-fault",
        "INCIDENT CLOSED   #2 city-appearance",
        "INCIDENT CLOSED   #4 flooding",
    ] {
        assert!(out.contains(line), "{line} not in\n{out}");
    }
    assert!(
        out.matches("INCIDENT GREW     #4 flooding").count() >= 2,
        "{out}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("INCIDENT OPENED") && l.contains(" flooding "))
            .count(),
        1,
        "{out}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let incidents = r["incidents"].as_array().unwrap();
    let flooding: Vec<&serde_json::Value> = incidents
        .iter()
        .filter(|i| i["family"] == "flooding")
        .collect();
    assert_eq!(flooding.len(), 1, "{incidents:?}");
    let f = flooding[0];
    assert_eq!(f["towns"], serde_json::json!(["CM-TOWN-CHENJIA"]));
    assert_eq!(f["state"], "closed");
    assert_eq!(f["severity"], "critical");
    assert!(f["alerts"].as_u64().unwrap() > 10, "{f}");
    assert!(f["affected"]["building"].as_u64().unwrap() > 0, "{f}");
    // The camera's garbage: its order went to Jianshe's urban management squad with the
    // plan's steps and the nearest garbage station, and the system closed it once the
    // camera saw the spot clean.
    let orders = r["orders"].as_array().unwrap();
    let garbage: Vec<&serde_json::Value> = orders
        .iter()
        .filter(|o| o["family"] == "city-appearance")
        .collect();
    assert_eq!(garbage.len(), 1, "{orders:?}");
    let g = garbage[0];
    assert_eq!(g["history"][0]["unit"], "urban/CM-TOWN-JIANSHE", "{g}");
    assert_eq!(g["state"], "closed", "{g}");
    assert_eq!(g["checklist"].as_array().unwrap().len(), 3, "{g}");
    assert_eq!(g["resources"][0]["kind"], "garbage_station", "{g}");
    let last = g["history"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["by"].as_str()),
        (Some("close"), Some("system"))
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_resumed_run_groups_alerts_with_the_islands_incident_rules() {
    let dir = std::env::temp_dir().join(format!("twin-resume-inc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("s.twinsnap");
    let snap = snap.to_str().unwrap();
    let common = ["--speed", "max", "--scale", "0.1", "--table-every", "60"];
    let mut a = vec![
        "run",
        "--for",
        "6m",
        "--start-ms",
        "1763700000000",
        "--save",
        snap,
    ];
    a.extend(common);
    let o = twin(&a, "");
    assert!(o.status.success(), "{}", stderr(&o));
    // Resumed at +6 min; the simulator plans its surge 10 min after the resumed start
    // (gauges alert about 4 min into it): its alerts are one `flooding` incident (the
    // island's family), not a family per rule.
    let mut b = vec![
        "run",
        "--for",
        "16m",
        "--start-ms",
        "1763700360000",
        "--resume",
        snap,
    ];
    b.extend(common);
    let o = twin(&b, "");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("flooding in 陈家镇 (critical)"), "{out}");
    assert!(!out.contains("water-level-high in 陈家镇"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A GeoPackage the fuzzer found (fuzz/regressions/gpkg/): a column name that is not
/// UTF-8 made rusqlite panic; the load is refused with the table and column.
#[test]
fn a_geopackage_column_name_that_is_not_utf8_is_refused() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/gpkg/column-name-not-utf8.gpkg"
    );
    let o = twin(&["info", "--data", file], "");
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("is not UTF-8") && !err.contains("panicked"),
        "{err}"
    );
}
