//! The web API's logic, natively: known answers, bad input refused with useful
//! messages, and the twin still answering afterwards.

use twin_chongming::island;
use twin_chongming::synth::SynthConfig;
use twin_core::{AssetKind, KindFilter, SensorType};
use twin_wasm::Engine;

/// Chengqiao's district government: inside CM-TOWN-CHENGQIAO.
const CHENGQIAO: (f64, f64) = (121.397, 31.623);
/// 2025-11-21T04:40:00Z.
const T0: i64 = 1_763_700_000_000;

/// The real boundaries plus a small synthetic infrastructure (quick to build).
fn small() -> Engine {
    let twin = island::load(&SynthConfig {
        seed: 2026,
        scale: 0.02,
    })
    .unwrap();
    Engine::from_twin(twin).unwrap()
}

fn first_sensor(e: &Engine, t: SensorType) -> (u32, String) {
    e.session
        .twin()
        .iter()
        .find(|(_, a)| a.kind == AssetKind::Sensor(t.clone()))
        .map(|(h, a)| (h.0, a.id.clone()))
        .unwrap()
}

#[test]
fn contains_names_the_town_and_knn_agrees_with_twin_core() {
    let e = Engine::real_island().unwrap();
    let hits = e.contains(CHENGQIAO.0, CHENGQIAO.1, Some("town")).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "CM-TOWN-CHENGQIAO");
    assert_eq!(hits[0].kind, "town");
    assert_eq!(hits[0].name, "城桥镇");

    let knn = e.knn(121.69, 31.40, 3, Some("island")).unwrap();
    let core = e.session.twin().query_nearest(
        (121.69, 31.40),
        3,
        Some(&"island".parse::<KindFilter>().unwrap()),
    );
    assert_eq!(knn.len(), 3);
    assert_eq!(knn[0].id, "CM-ISL-CHANGXING");
    for (hit, (h, d)) in knn.iter().zip(&core) {
        assert_eq!(hit.handle, h.0);
        assert_eq!(hit.distance, Some(*d));
    }

    // near: sorted by distance, all within reach; the town holding the point is at 0.
    let near = e
        .near(CHENGQIAO.0, CHENGQIAO.1, 5_000.0, Some("town"))
        .unwrap();
    assert_eq!(near[0].id, "CM-TOWN-CHENGQIAO");
    assert_eq!(near[0].distance, Some(0.0));
    assert!(near.windows(2).all(|w| w[0].distance <= w[1].distance));
    assert!(near.iter().all(|h| h.distance.unwrap() <= 5_000.0));

    let boxed = e
        .bbox((121.39, 31.62), (121.40, 31.63), Some("town"))
        .unwrap();
    assert!(boxed.iter().any(|h| h.id == "CM-TOWN-CHENGQIAO"));
}

#[test]
fn bad_query_arguments_are_errors() {
    let e = Engine::real_island().unwrap();
    let m = e.contains(f64::NAN, 31.0, None).unwrap_err();
    assert!(m.contains("finite"), "{m}");
    assert!(
        e.near(121.4, 31.6, -1.0, None)
            .unwrap_err()
            .contains("metres")
    );
    assert!(
        e.asset("NO-SUCH")
            .unwrap_err()
            .contains("unknown asset id `NO-SUCH`")
    );
    assert!(
        e.value_at("CM-TOWN-CHENGQIAO", "nope", T0)
            .unwrap_err()
            .contains("unknown channel")
    );
    assert!(e.handle_of("NO-SUCH").is_err());
    assert!(e.channel_id("nope").unwrap_err().contains("level"));
    assert_eq!(e.channel_id("level").unwrap(), e.channels.level.0);
}

#[test]
fn the_bundled_island_loads_whole() {
    let e = Engine::bundled().unwrap();
    assert_eq!(e.session.twin().len(), 158_654);
    let a = e.asset("CM-TOWN-CHENGQIAO").unwrap();
    assert_eq!(a.kind, "town");
    assert_eq!(a.names.get("zh").map(String::as_str), Some("城桥镇"));
    assert!(a.latest.is_empty());
}

#[test]
fn json_ingest_applies_counts_and_refuses() {
    let mut e = small();
    let (h, id) = first_sensor(&e, SensorType::WaterLevel);
    let text = format!(
        "{{\"id\":\"{id}\",\"channel\":\"level\",\"ts\":{T0},\"value\":2.5}}\n\
         {{\"id\":\"NOPE\",\"channel\":\"level\",\"ts\":{T0},\"value\":2.5}}\n\
         {{\"id\":\"{id}\",\"channel\":\"level\",\"ts\":{T0},\"value\":\"high\"}}\n\
         this is not json\n"
    );
    let r = e.apply_json(&text, None).unwrap();
    assert_eq!(r.applied, 1);
    assert_eq!(r.rejected, 2);
    assert_eq!(r.reasons.get("unknown asset id"), Some(&1));
    assert_eq!(
        r.reasons.get("value type does not match the channel"),
        Some(&1)
    );
    assert_eq!(r.malformed, 1);
    assert_eq!(r.errors[0].line, 4);
    assert!(r.errors[0].message.contains("not JSON"), "{:?}", r.errors);
    assert_eq!(r.now, T0);

    // The same as an array; the repeat is a duplicate.
    let arr = format!(
        "[{{\"id\":\"{id}\",\"channel\":\"level\",\"ts\":{T0},\"value\":2.5}},\
          {{\"id\":\"{id}\",\"channel\":\"level\",\"ts\":{},\"value\":2.75,\"quality\":\"uncertain\"}}]",
        T0 + 1000
    );
    let r = e.apply_json(&arr, None).unwrap();
    assert_eq!((r.applied, r.duplicates), (1, 1));
    let a = e.asset(&id).unwrap();
    assert_eq!(a.handle, h);
    let l = &a.latest["level"];
    assert_eq!(
        (l.value.as_f64(), l.ts, l.quality),
        (Some(2.75), T0 + 1000, "uncertain")
    );
    let past = e.value_at(&id, "level", T0 + 500).unwrap().unwrap();
    assert_eq!((past.ts, past.value.as_f64()), (T0, Some(2.5)));
    assert!(e.value_at(&id, "level", T0 - 1).unwrap().is_none());
    let state = e.state_at(T0, None).unwrap();
    assert_eq!(state.len(), 1);
    assert_eq!(
        (state[0].id.as_str(), state[0].channel.as_str()),
        (id.as_str(), "level")
    );
}

#[test]
fn a_malformed_payload_is_an_error_and_the_twin_still_answers() {
    let mut e = small();
    let m = e
        .apply_json("[{\"id\": \"CM-S-WL-000001\", ", None)
        .unwrap_err();
    assert!(m.contains("not a JSON array of readings"), "{m}");
    let m = e.apply_json("garbage\nmore garbage", None).unwrap_err();
    assert!(m.starts_with("payload:1: not JSON"), "{m}");
    assert!(m.contains("1 more bad line"), "{m}");
    let m = e.apply_json(
        "{\"id\":\"X\",\"channel\":\"level\",\"ts\":\"soon\",\"value\":1}",
        None,
    );
    assert!(m.unwrap_err().contains("`ts`"));
    // Nothing moved, and queries answer.
    assert_eq!(e.now_ms(), 0);
    let hits = e.contains(CHENGQIAO.0, CHENGQIAO.1, Some("town")).unwrap();
    assert_eq!(hits[0].id, "CM-TOWN-CHENGQIAO");
    // Only bad elements: an error naming the first (elements count from 0).
    let m = e
        .apply_json("[\n 1,\n {\"id\": true}\n]", None)
        .unwrap_err();
    assert!(m.starts_with("payload:0: "), "{m}");
    assert!(m.contains("1 more bad line"), "{m}");
    assert_eq!(e.now_ms(), 0);
    // An empty payload is no error: nothing to do.
    assert_eq!(e.apply_json("", None).unwrap().applied, 0);
}

#[test]
fn typed_ingest_updates_latest_values_and_refuses_bad_samples() {
    let mut e = small();
    let (wl, wl_id) = first_sensor(&e, SensorType::WaterLevel);
    let (pm, pm_id) = first_sensor(&e, SensorType::Pm25);
    let (level, pm25) = (e.channels.level.0, e.channels.pm25.0);
    let t = T0 as f64;
    let r = e
        .apply_typed(
            &[wl, pm, wl, 9_999_999, pm],
            &[level, pm25, level, level, 77],
            &[2.4, 31.0, f64::NAN, 1.0, 1.0],
            &[t, t, t + 1000.0, t, t],
            None,
        )
        .unwrap();
    assert_eq!(r.applied, 2);
    assert_eq!(r.rejected, 3);
    assert_eq!(r.reasons.get("value is not a finite number"), Some(&1));
    assert_eq!(r.reasons.get("unknown asset handle"), Some(&1));
    assert_eq!(r.reasons.get("unknown channel"), Some(&1));
    assert_eq!(
        e.asset(&wl_id).unwrap().latest["level"].value.as_f64(),
        Some(2.4)
    );
    assert_eq!(
        e.asset(&pm_id).unwrap().latest["pm25"].value.as_f64(),
        Some(31.0)
    );

    // One channel for all; a timestamp that is not whole UTC ms is refused.
    let r = e
        .apply_typed(&[wl, wl], &[level], &[2.6, 2.7], &[t + 2000.0, 1.5], None)
        .unwrap();
    assert_eq!((r.applied, r.rejected), (1, 1));
    assert_eq!(r.reasons.get("invalid timestamp"), Some(&1));
    assert_eq!(
        e.asset(&wl_id).unwrap().latest["level"].value.as_f64(),
        Some(2.6)
    );

    // Far ahead of the given clock: refused.
    let r = e
        .apply_typed(&[wl], &[level], &[2.8], &[t + 3_600_000.0], Some(T0 + 3000))
        .unwrap();
    assert_eq!(r.reasons.get("timestamp too far in the future"), Some(&1));

    let m = e
        .apply_typed(&[wl], &[level, level], &[1.0], &[t], None)
        .unwrap_err();
    assert!(m.contains("channels"), "{m}");
    let m = e
        .apply_typed(&[wl, pm], &[level], &[1.0], &[t], None)
        .unwrap_err();
    assert!(m.contains("same length"), "{m}");
}

#[test]
fn rules_alerts_events_and_vital_signs() {
    let mut e = small();
    e.listening = true;
    let m = e
        .set_rules(r#"[{"id":"x","kinds":"sensor:water_level","channel":"nope","above":1,"severity":"info"}]"#)
        .unwrap_err();
    assert_eq!(m, "rule 0 (`x`): unknown channel `nope`");
    assert!(
        e.set_rules("not json")
            .unwrap_err()
            .starts_with("rules file:")
    );
    assert!(
        e.rules_json().contains("water-level-high"),
        "the default rules stay"
    );

    e.set_rules(r#"[{"id":"high","kinds":"sensor:water_level","channel":"level","above":3.0,"hysteresis":0.1,"severity":"critical"}]"#)
        .unwrap();
    let (h, id) = first_sensor(&e, SensorType::WaterLevel);
    let level = e.channels.level.0;
    e.apply_typed(&[h], &[level], &[3.5], &[T0 as f64], None)
        .unwrap();
    let events = e.take_events();
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!(
        (ev.event, ev.rule.as_str(), ev.asset.as_str()),
        ("raised", "high", id.as_str())
    );
    assert_eq!((ev.severity, ev.time, ev.value), ("critical", T0, 3.5));
    let town = ev.town.clone().unwrap();
    assert!(town.starts_with("CM-TOWN-"), "{town}");

    let open = e.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, "raised");
    let rows = e.vital_signs();
    let row = rows.iter().find(|r| r.region == town).unwrap();
    assert_eq!(row.alerts.critical, 1);
    assert_eq!(row.online, 1);
    assert_eq!(row.channels["level"].max, 3.5);
    assert!(rows.iter().any(|r| r.island));

    // The overlay highlights the alerted asset.
    let frame = e.refresh_overlay(None);
    assert_eq!(frame.colors.len(), 4 * e.session.twin().handle_capacity());
    let i = 4 * h as usize;
    assert_eq!(&frame.colors[i..i + 4], &[230, 0, 160, 255]);
    assert_eq!(frame.changed.len() % 2, 0);

    assert!(e.acknowledge(open[0].id, None).unwrap());
    assert!(!e.acknowledge(open[0].id, None).unwrap());
    assert!(
        e.acknowledge(999, None)
            .unwrap_err()
            .contains("unknown alert #999")
    );
    assert_eq!(e.take_events()[0].event, "acknowledged");

    e.apply_typed(&[h], &[level], &[2.0], &[(T0 + 1000) as f64], None)
        .unwrap();
    let events = e.take_events();
    assert_eq!((events[0].event, events[0].time), ("cleared", T0 + 1000));
    assert!(e.open_alerts().is_empty());
    assert_eq!(e.alert(open[0].id).unwrap().state, "cleared");

    // The past table: at T0 the sensor read 3.5.
    let past = e.vital_signs_at(T0);
    assert_eq!(
        past.iter().find(|r| r.region == town).unwrap().channels["level"].max,
        3.5
    );
}

#[test]
fn simulation_drives_the_overlay_and_silence_shows() {
    let mut e = small();
    e.start_simulator(7, T0, false);
    let r = e.simulate(T0, T0 + 10_000).unwrap();
    assert_eq!(r.ticks, 10);
    assert!(r.samples > 0 && r.applied == r.samples, "{r:?}");
    assert_eq!(r.rejected, 0);
    assert_eq!((r.now, e.now_ms()), (T0 + 10_000, T0 + 10_000));
    let frame = e.refresh_overlay(None);
    assert!(!frame.changed.is_empty());
    let coloured = frame.colors.chunks(4).filter(|c| c[3] != 0).count();
    assert!(
        coloured as u64 >= r.samples / 10 - e.simulator.as_ref().unwrap().charger_count() as u64
    );
    // Nothing new: nothing changes. Ten minutes of silence: sensors turn grey.
    assert!(e.refresh_overlay(None).changed.is_empty());
    e.tick(T0 + 600_000);
    let frame = e.refresh_overlay(None);
    assert!(!frame.changed.is_empty());
    assert!(frame.colors.chunks(4).any(|c| c == [128, 128, 128, 255]));
    let offline: usize = e
        .vital_signs()
        .iter()
        .filter(|r| !r.island)
        .map(|r| r.offline)
        .sum();
    assert!(offline > 0);
    assert!(e.simulate(T0 + 10_000, T0).unwrap_err().contains("fromMs"));
    assert!(e.simulate(T0, T0 + 2 * 86_400_000).is_err());
    assert_eq!(e.overlay_layers().len(), 11);
    assert_eq!(e.overlay_layers()[0].channel, "level");
}

#[test]
fn the_default_simulator_plans_incidents() {
    let mut e = small();
    assert!(e.incidents().is_empty());
    e.simulate(T0, T0 + 1000).unwrap();
    assert!(!e.incidents().is_empty());
}

#[test]
fn geojson_and_snapshots_load_and_bad_ones_are_refused() {
    let fc = |id: &str, lon: f64| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":"{id}","kind":"sensor","sensor_type":"water_level","name_en":"Gauge"}},"geometry":{{"type":"Point","coordinates":[{lon},31.62]}}}}]}}"#
        )
    };
    let mut e = Engine::from_geojson(&fc("G-1", 121.40), None, "gauges.geojson").unwrap();
    assert_eq!(e.session.twin().len(), 1);
    assert_eq!(e.knn(121.40, 31.62, 1, None).unwrap()[0].id, "G-1");
    assert_eq!(
        e.load_geojson(&fc("G-2", 121.41), None, "more.geojson")
            .unwrap(),
        1
    );
    let m = e
        .load_geojson(&fc("G-2", 121.42), None, "again.geojson")
        .unwrap_err();
    assert!(m.contains("G-2"), "{m}");
    assert_eq!(e.session.twin().len(), 2);
    let m = e
        .load_geojson(&fc("G-3", 999.0), None, "bad.geojson")
        .unwrap_err();
    assert!(m.contains("bad.geojson"), "{m}");
    assert!(
        Engine::from_geojson("{", None, "x.geojson")
            .unwrap_err()
            .contains("x.geojson")
    );
    assert!(
        Engine::from_geojson(&fc("G-1", 121.4), Some("EPSG:nope"), "x")
            .unwrap_err()
            .starts_with("crs:")
    );
    // Web Mercator metres.
    let merc = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"M-1","kind":"building"},"geometry":{"type":"Point","coordinates":[13514000,3713000]}}]}"#;
    let m = Engine::from_geojson(merc, Some("EPSG:3857"), "m").unwrap();
    let bb = m.asset("M-1").unwrap().bbox.unwrap();
    assert!(
        (121.0..122.0).contains(&bb[0]) && (31.0..32.0).contains(&bb[1]),
        "{bb:?}"
    );

    // A sensor added later reports; the twin round-trips through a snapshot.
    let r = e
        .apply_json(
            &format!(r#"[{{"id":"G-2","channel":"level","ts":{T0},"value":2.2}}]"#),
            None,
        )
        .unwrap();
    assert_eq!(r.applied, 1);
    let bytes = e.snapshot().unwrap();
    let back = Engine::from_snapshot(&bytes).unwrap();
    assert_eq!(back.session.twin().len(), 2);
    assert_eq!(back.now_ms(), T0);
    assert_eq!(
        back.asset("G-2").unwrap().latest["level"].value.as_f64(),
        Some(2.2)
    );

    let m = Engine::from_snapshot(b"hello").unwrap_err();
    assert!(m.contains("not a twin snapshot"), "{m}");
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    assert!(Engine::from_snapshot(&bad).is_err());
    assert!(
        Engine::from_snapshot(&bytes[..bytes.len() / 2])
            .unwrap_err()
            .contains("snapshot")
    );
}

/// The snapshot the node smoke test restores in wasm (where snapshots cannot be
/// written): two gauges, one reading and an open alert. `TWIN_WASM_WRITE_FIXTURE=1`
/// rewrites it.
#[test]
fn the_snapshot_fixture_restores() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/gauges.snap");
    if std::env::var_os("TWIN_WASM_WRITE_FIXTURE").is_some() {
        let gauges = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"id":"G-1","kind":"sensor:water_level","name_en":"Gauge 1"},"geometry":{"type":"Point","coordinates":[121.40,31.62]}},
            {"type":"Feature","properties":{"id":"G-2","kind":"sensor:water_level","name_en":"Gauge 2"},"geometry":{"type":"Point","coordinates":[121.41,31.62]}}]}"#;
        let mut e = Engine::from_geojson(gauges, None, "gauges.geojson").unwrap();
        let r = e
            .apply_json(
                &format!(
                    r#"[{{"id":"G-1","channel":"level","ts":{T0},"value":2.25}},
                        {{"id":"G-2","channel":"level","ts":{T0},"value":3.9}}]"#
                ),
                None,
            )
            .unwrap();
        assert_eq!(r.applied, 2);
        // A batch evaluates rules on its latest samples only: the lasting high level
        // comes in a second batch.
        let later = format!(
            r#"{{"id":"G-2","channel":"level","ts":{},"value":3.9}}"#,
            T0 + 60_000
        );
        assert_eq!(e.apply_json(&later, None).unwrap().applied, 1);
        std::fs::write(path, e.snapshot().unwrap()).unwrap();
    }
    let e = Engine::from_snapshot(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(e.session.twin().len(), 2);
    assert_eq!(e.now_ms(), T0 + 60_000);
    assert_eq!(
        e.asset("G-1").unwrap().latest["level"].value.as_f64(),
        Some(2.25)
    );
    let open = e.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].asset.as_str(), open[0].rule.as_str()),
        ("G-2", "water-level-high")
    );
}

#[test]
fn simulated_samples_are_what_simulate_applies() {
    // Two engines from the same data and seed: one applies the simulator's samples
    // itself, the other receives them as columns (a Web Worker's path).
    let mut direct = small();
    let mut worker = small();
    let mut page = small();
    direct.start_simulator(7, T0, false);
    worker.start_simulator(7, T0, false);
    let run = direct.simulate(T0, T0 + 5_000).unwrap();
    let cols = worker.simulate_samples(T0, T0 + 5_000).unwrap();
    assert_eq!(cols.handles.len() as u64, run.samples);
    assert_eq!(cols.channels.len(), cols.handles.len());
    assert_eq!(cols.values.len(), cols.handles.len());
    assert!(
        cols.timestamps
            .iter()
            .all(|&t| t > T0 as f64 && t <= (T0 + 5_000) as f64)
    );
    // The worker's own twin is not changed; the page's twin ends where `direct` is.
    assert_eq!(worker.session.store().newest_ts(), None);
    let report = page
        .apply_typed(
            &cols.handles,
            &cols.channels,
            &cols.values,
            &cols.timestamps,
            Some(T0 + 5_000),
        )
        .unwrap();
    assert_eq!(report.applied, run.applied);
    let (h, id) = first_sensor(&page, SensorType::WaterLevel);
    assert_eq!(page.id_of(h).as_deref(), Some(id.as_str()));
    assert_eq!(
        page.asset(&id).unwrap().latest,
        direct.asset(&id).unwrap().latest
    );
    assert_eq!(page.id_of(u32::MAX), None);
    assert!(worker.simulate_samples(T0, T0 - 1).is_err());
    let far = worker
        .simulate_samples(i64::MAX - 10, i64::MAX)
        .unwrap_err();
    assert!(far.contains("between 1970 and 2200"), "{far}");
    assert!(worker.simulate(-5_000, 0).is_err());
}

#[test]
fn a_building_lists_its_meter_and_the_view_sees_every_change() {
    let mut e = small();
    let (meter, meter_id) = first_sensor(&e, SensorType::BuildingEnergy);
    let host = e
        .session
        .twin()
        .attached_to(twin_core::Handle(meter))
        .unwrap();
    let host_id = e.id_of(host.0).unwrap();
    assert!(e.asset(&host_id).unwrap().sensors.contains(&meter_id));
    assert!(e.asset(&meter_id).unwrap().sensors.is_empty());

    // A view is attached; the page refreshes the overlay itself in between: the view
    // still gets the meter's change.
    e.view_attached = true;
    e.take_view_changes();
    let ch = e.channel_id("energy").unwrap();
    e.apply_typed(&[meter], &[ch], &[55.0], &[T0 as f64], None)
        .unwrap();
    let frame = e.refresh_overlay(None);
    assert!(
        frame
            .changed
            .chunks(2)
            .any(|r| (r[0]..r[1]).contains(&meter))
    );
    let view = e.take_view_changes();
    assert!(view.iter().any(|r| r.contains(&meter)), "{view:?}");
    // Taken once.
    assert!(!e.take_view_changes().iter().any(|r| r.contains(&meter)));
}

#[test]
fn a_page_overlay_recolours_from_held_state_and_a_bad_one_changes_nothing() {
    let mut e = small();
    let (gauge, gauge_id) = first_sensor(&e, SensorType::WaterLevel);
    let ch = e.channel_id("level").unwrap();
    e.apply_typed(&[gauge], &[ch], &[2.0], &[T0 as f64], None)
        .unwrap();
    e.refresh_overlay(None);
    let standard = e.overlay_json();

    // Green at 0 m to red at 4 m: 2 m is half way, rgb(128, 128, 0) (127.5 rounds up).
    e.set_overlay(
        r##"[{"name": "gauges", "kinds": "sensor:water_level", "channel": "level",
              "ramp": [[0, "#00ff00"], [4, "#ff0000"]]}]"##,
    )
    .unwrap();
    let frame = e.refresh_overlay(None);
    let at = |f: &twin_wasm::Frame, h: u32| f.colors[4 * h as usize..][..4].to_vec();
    assert_eq!(
        at(&frame, gauge),
        vec![128, 128, 0, 255],
        "painted from the held value"
    );
    assert!(
        frame
            .changed
            .chunks(2)
            .any(|r| (r[0]..r[1]).contains(&gauge))
    );
    // Only gauges are in a layer now: a PM2.5 sensor is transparent.
    let (pm, _) = first_sensor(&e, SensorType::Pm25);
    assert_eq!(at(&frame, pm), vec![0, 0, 0, 0]);
    assert_eq!(e.overlay_layers().len(), 1);

    let msg = e.set_overlay(r#"[{"name": "x"}]"#).unwrap_err();
    assert!(
        msg.starts_with("overlay layer 0 (`x`): missing field"),
        "{msg}"
    );
    assert_eq!(e.overlay_layers()[0].name, "gauges");

    // Loading more assets keeps the page's layers and the colours already held.
    let added = e
        .load_geojson(
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
                "properties": {"id": "NEW-WL", "kind": "sensor:water_level"},
                "geometry": {"type": "Point", "coordinates": [121.40, 31.62]}}]}"#,
            None,
            "new.geojson",
        )
        .unwrap();
    assert_eq!(added, 1);
    assert_eq!(e.overlay_layers()[0].name, "gauges");
    let frame = e.refresh_overlay(None);
    assert_eq!(at(&frame, gauge), vec![128, 128, 0, 255]);
    assert_eq!(e.asset(&gauge_id).unwrap().id, gauge_id);

    e.set_overlay(&standard).unwrap();
    assert_eq!(e.overlay_json(), standard);
    assert_eq!(e.overlay_layers().len(), 11);
}

#[test]
fn views_can_draw_a_past_time_from_history() {
    let mut e = small();
    let (gauge, _) = first_sensor(&e, SensorType::WaterLevel);
    let ch = e.channel_id("level").unwrap();
    e.set_overlay(
        r##"[{"name": "gauges", "kinds": "sensor:water_level", "channel": "level",
              "ramp": [[0, "#00ff00"], [4, "#ff0000"]], "stale_after_s": 600}]"##,
    )
    .unwrap();
    e.apply_typed(&[gauge], &[ch], &[2.0], &[T0 as f64], None)
        .unwrap();
    e.apply_typed(&[gauge], &[ch], &[2.4], &[(T0 + 60_000) as f64], None)
        .unwrap();
    e.refresh_overlay(None);
    e.view_attached = true;
    e.take_view_changes();
    // 2.4 m (less than the 0.5 m level-jump rule): no alert highlights the gauge.
    let g = gauge as usize;
    let rgba = |c: twin_core::state::Rgba| c.0;

    // Half a minute in: the 2 m reading, half way from green to red.
    e.set_view_time(Some(T0 + 30_000));
    assert_eq!(rgba(e.view_colors()[g]), [128, 128, 0, 255]);
    assert_eq!(
        rgba(e.session.overlay().colors()[g]),
        [153, 102, 0, 255],
        "live is untouched"
    );
    assert!(e.take_view_changes().iter().any(|r| r.contains(&gauge)));
    // Before the first reading: no data. Eleven minutes after it: stale grey.
    e.set_view_time(Some(T0 - 1));
    assert_eq!(rgba(e.view_colors()[g]), [0, 0, 0, 0]);
    e.set_view_time(Some(T0 + 60_000 + 601_000));
    assert_eq!(rgba(e.view_colors()[g]), [128, 128, 128, 255]);
    // Live again.
    e.set_view_time(None);
    assert_eq!(rgba(e.view_colors()[g]), [153, 102, 0, 255]);
    assert!(e.take_view_changes().iter().any(|r| r.contains(&gauge)));
}
