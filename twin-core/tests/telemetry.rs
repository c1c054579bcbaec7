//! Telemetry files: JSON Lines and CSV readings, bad lines named, replay in time order.

use twin_core::state::{Quality, Value};
use twin_core::telemetry::{Format, Replay, parse};

#[test]
fn json_lines_keep_good_readings_and_name_bad_lines() {
    let text = r#"{"id":"A","channel":"level","ts":1000,"value":2.5}
# a comment

{"id":"B","channel":"online","ts":2000,"value":true,"quality":"uncertain"}
{"id":"C","channel":"charger","ts":3000,"value":"fault"}
{"id":"D","channel":"level","ts":"noon","value":1}
{"id":"E","channel":"level","ts":4000}
not json
{"id":"","channel":"level","ts":5000,"value":1}
{"id":"F","channel":"level","ts":6000,"value":1,"quality":"awful"}
[1,2]"#;
    let f = parse(text, "t.jsonl", Format::JsonLines);
    assert_eq!(f.readings.len(), 3);
    assert_eq!(f.readings[0].value, Value::Num(2.5));
    assert_eq!(f.readings[1].value, Value::Bool(true));
    assert_eq!(f.readings[1].quality, Quality::Uncertain);
    assert_eq!(f.readings[2].value, Value::Text("fault".into()));
    let lines: Vec<usize> = f.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![6, 7, 8, 9, 10, 11]);
    assert_eq!(
        f.errors[0].to_string(),
        "t.jsonl:6: `ts` must be UTC milliseconds, got \"noon\""
    );
    assert!(f.errors[1].message.contains("missing `value`"));
    assert!(f.errors[2].message.starts_with("not JSON"));
    assert!(f.errors[4].message.contains("awful"));
    assert!(f.errors[5].message.contains("not a JSON object"));
}

#[test]
fn csv_with_header_types_and_errors() {
    let text = "id,channel,ts,value,quality\nA,level,1000,2.5\nB,online,2000,false,bad\nC,charger,3000,charging\nD,level,x,1\nE,level,5000\nF,level,6000,\n";
    let f = parse(text, "t.csv", Format::Csv);
    assert_eq!(f.readings.len(), 3);
    assert_eq!(f.readings[0].ts, twin_core::Timestamp::from_millis(1000));
    assert_eq!(f.readings[1].value, Value::Bool(false));
    assert_eq!(f.readings[1].quality, Quality::Bad);
    assert_eq!(f.readings[2].value, Value::Text("charging".into()));
    let lines: Vec<usize> = f.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![5, 6, 7]);
    assert!(f.errors[1].message.contains("3 columns"));
}

#[test]
fn replay_hands_out_readings_in_time_order() {
    let text = "A,l,3000,1\nB,l,1000,2\nC,l,1000,3\nD,l,2500,4\n";
    let f = parse(text, "r.csv", Format::Csv);
    let mut r = Replay::new(f.readings);
    assert_eq!(
        (r.start(), r.end(), r.len()),
        (
            Some(twin_core::Timestamp::from_millis(1000)),
            Some(twin_core::Timestamp::from_millis(3000)),
            4
        )
    );
    let ids =
        |rs: &[twin_core::state::Reading]| rs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(r.until(twin_core::Timestamp::from_millis(999))),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(r.until(twin_core::Timestamp::from_millis(1000))),
        vec!["B", "C"],
        "stable within one millisecond"
    );
    assert_eq!(
        ids(r.until(twin_core::Timestamp::from_millis(2999))),
        vec!["D"]
    );
    assert!(!r.is_done());
    assert_eq!(
        ids(r.until(twin_core::Timestamp::from_millis(i64::MAX))),
        vec!["A"]
    );
    assert!(r.is_done());
}

#[test]
fn timestamps_outside_1970_to_2200_are_refused() {
    let text = "A,l,-1,1\nB,l,9223372036854775807,1\nC,l,1763700000,1\nD,l,1763700000000,1\n";
    let f = parse(text, "u.csv", Format::Csv);
    // Seconds instead of milliseconds (1763700000 = 1970-01-21) still parse; the others
    // are refused by line.
    assert_eq!(f.readings.len(), 2);
    assert_eq!(
        f.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(f.errors[0].message.contains("outside 1970"));
}

mod fast_json {
    use geo_types::{Geometry, Point};
    use proptest::prelude::*;
    use twin_core::crs::LocalFrame;
    use twin_core::state::{ChannelSpec, Reading, Value};
    use twin_core::telemetry::{
        Format, JsonIngest, ValueRef, ingest_json_lines, parse, parse_json_line,
        parse_json_line_fast, parse_json_line_serde, parse_json_line_typed,
    };
    use twin_core::{
        Asset, AssetKind, LoadMode, SensorType, Session, SessionConfig, Timestamp, Twin,
    };

    /// A reading with its value's bits, so that `-0.0` and `0.0` differ.
    fn canon(r: &Result<Reading, String>) -> Result<(String, String, i64, String, String), String> {
        r.clone().map(|r| {
            let v = match r.value {
                Value::Num(n) => format!("num {:#x}", n.to_bits()),
                other => format!("{other:?}"),
            };
            (
                r.id,
                r.channel,
                r.ts.as_millis(),
                v,
                format!("{:?}", r.quality),
            )
        })
    }

    /// `parse_json_line` (fast path or fallback) says exactly what serde_json's path
    /// says; returns whether the fast path answered.
    fn agree(line: &str) -> bool {
        let fast = parse_json_line_fast(line);
        let serde = parse_json_line_serde(line);
        if let Some(f) = fast {
            assert_eq!(
                canon(&Ok(f.to_reading())),
                canon(&serde),
                "fast path on {line:?}"
            );
        }
        assert_eq!(canon(&parse_json_line(line)), canon(&serde), "{line:?}");
        let typed = parse_json_line_typed(line).map(|r| r.to_reading());
        assert_eq!(canon(&typed), canon(&serde), "typed serde path on {line:?}");
        fast.is_some()
    }

    #[test]
    fn fast_path_and_fallback_agree_on_known_lines() {
        let fast = [
            r#"{"id":"CM-S-WL-000001","channel":"level","ts":1763700000000,"value":2.41}"#,
            r#"{"id":"A","channel":"online","ts":0,"value":true,"quality":"uncertain"}"#,
            r#"{"value":false,"quality":"bad","ts":7258118400000,"channel":"c","id":"B"}"#,
            r#" { "id" : "C" , "channel" : "charger" , "ts" : 5 , "value" : "fault" } "#,
            "{\t\"id\":\"D\",\r\n\"channel\":\"x\",\"ts\":1,\"value\":-0}",
            r#"{"id":"E","channel":"x","ts":1,"value":-0.0}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":1e3}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":1.5E-7}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":2.4137654321098765}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":0.30000000000000004}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":3e23}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":8.988465674311579e307}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":2.2250738585072011e-308}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":1e-320}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":18446744073709551615}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":-9223372036854775808}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":9007199254740993}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":0.000000000000000000000000000001}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":12345678901234567890e-5}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":""}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":1,"quality":"ok"}"#,
            r#"{"id":"E","channel":"x","ts":1,"value":1,"quality":" Good "}"#,
            r#"{"id":"长兴岛-传感器-0001","channel":"水位","ts":1,"value":"开启"}"#,
            r#"{"id":"CM-S-WL-000001-with-a-much-longer-id","channel":"level","ts":1,"value":1}"#,
        ];
        for line in fast {
            assert!(agree(line), "fast path should read {line:?}");
        }
        let slow_or_bad = [
            // Escapes, other members, duplicates, null: serde_json decides.
            r#"{"id":"A\u0042","channel":"level","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"le\"vel","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"unit":"m"}"#,
            r#"{"id":"A","id":"B","channel":"level","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":null}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":[1]}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"quality":3}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1e400}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":123456789012345678901234}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1e99999999999}"#,
            r#"{"i\u0064":"A","channel":"level","ts":1,"value":1}"#,
            r#"{"id":7,"id":"A","channel":"level","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"value":"x","value":[1]}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"unit":{"a":[1,{"b":null}]}}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"quality":null}"#,
            r#"{"x":1,"$serde_json::private::RawValue":"{}","id":"A","channel":"c","ts":1,"value":1}"#,
            r#"{"$serde_json::private::RawValue":"{\"id\":\"A\",\"channel\":\"c\",\"ts\":1,\"value\":1}"}"#,
            r#"{"$serde_json::private::RawValue":5}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":{"$serde_json::private::RawValue":5}}"#,
            // Refused lines: the fallback's messages.
            r#"{"id":"A","channel":"level","ts":1.0,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":-1,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":-0,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":7258118400001,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":18446744073709551616,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":"1","value":1}"#,
            r#"{"id":"A","channel":"level","ts":"2025-11-21T04:40:00Z","value":1}"#,
            r#"{"id":"A","channel":"level","ts":[1,2],"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":{"k":"v\n","k":2}}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"unit":1e400}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"unit":"\ud800"}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"unit":[1,2,]}"#,
            r#"{"id":"A","channel":"level","ts":01,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":01}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1.}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":.5}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1e}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":-}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":+1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":truex}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":tru}"#,
            r#"{"id":"","channel":"level","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1}"#,
            r#"{"id":"A","channel":"level","value":1}"#,
            r#"{"id":"A","ts":1,"value":1}"#,
            r#"{"channel":"level","ts":1,"value":1}"#,
            r#"{"id":7,"channel":"level","ts":1,"value":1}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,"quality":"awful"}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1,}"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1} x"#,
            r#"{"id":"A","channel":"level","ts":1,"value":1}}"#,
            r#"{"id":"A","channel":"level","ts":1 "value":1}"#,
            r#"{"id":"A" "channel":"level","ts":1,"value":1}"#,
            "{\"id\":\"A\u{1}\",\"channel\":\"level\",\"ts\":1,\"value\":1}",
            "{\"id\":\"A\",\"channel\":\"level\",\"ts\":1,\"value\":1}\u{a0}",
            r#"{"id":"A","channel":"level","ts":1,"value":1"#,
            r#"{"id":"A"#,
            "{",
            "{}",
            "",
            "[1,2]",
            r#"["A","level",1,2]"#,
            "[1,2",
            r#""{}""#,
            "12",
            "1e400",
            "true",
            "null",
            "not json",
        ];
        for line in slow_or_bad {
            assert!(
                !agree(line),
                "fast path should leave {line:?} to serde_json"
            );
        }
        assert_eq!(
            parse_json_line(r#"{"id":"A","channel":"level","ts":-1,"value":1}"#),
            Err("ts -1 is outside 1970–2200 in UTC milliseconds".into())
        );
        assert_eq!(
            parse_json_line_fast(r#"{"id":"A","channel":"c","ts":9,"value":"x"}"#).map(|r| r.value),
            Some(ValueRef::Text("x"))
        );
    }

    #[test]
    fn typed_path_borrows_strings_without_escapes() {
        let line = r#"{"id":"A","channel":"c","ts":9,"value":"x","unit":"m"}"#;
        let r = parse_json_line_typed(line).unwrap();
        assert_eq!(r.borrowed().map(|r| r.value), Some(ValueRef::Text("x")));
        let line = r#"{"id":"A","channel":"c","ts":9,"value":"\u0078"}"#;
        let r = parse_json_line_typed(line).unwrap();
        assert!(r.borrowed().is_none());
        assert_eq!(r.to_reading().value, Value::Text("x".into()));
        // serde_json's DOM reads its private raw-value key, first in a line, as the
        // line within the string; the typed path leaves such lines to the DOM.
        let raw = r#"{"$serde_json::private::RawValue":"{\"id\":\"A\",\"channel\":\"c\",\"ts\":1,\"value\":1}"}"#;
        assert_eq!(parse_json_line_typed(raw).map(|r| r.ts.as_millis()), Ok(1));
        // serde_json's recursion limit, in a member twin reads and in one it drops.
        for depth in [126, 127, 128, 200] {
            let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            assert!(!agree(&format!(
                r#"{{"id":"A","channel":"c","ts":1,"value":{nested}}}"#
            )));
            assert!(!agree(&format!(
                r#"{{"id":"A","channel":"c","ts":1,"value":1,"x":{nested}}}"#
            )));
        }
    }

    /// A JSON number for `v` in one of several spellings.
    fn spell(v: f64, style: u8) -> String {
        match style % 4 {
            0 => format!("{v}"),
            1 => format!("{v:e}"),
            2 => format!("{v:E}"),
            _ => format!("{v:.3}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Every finite number, however written, reads as serde_json reads it.
        #[test]
        fn numbers_read_as_serde_json_reads_them(bits in any::<u64>(), style in any::<u8>()) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let line = format!(r#"{{"id":"A","channel":"c","ts":1,"value":{}}}"#, spell(v, style));
            agree(&line);
        }

        /// Decimal strings of any length and exponent.
        #[test]
        fn digit_strings_read_as_serde_json_reads_them(
            int in "-?(0|[1-9][0-9]{0,24})",
            frac in prop::option::of("[0-9]{1,24}"),
            exp in prop::option::of(-400i32..400),
        ) {
            let mut n = int;
            if let Some(f) = frac {
                n = format!("{n}.{f}");
            }
            if let Some(e) = exp {
                n = format!("{n}e{e}");
            }
            let line = format!(r#"{{"id":"A","channel":"c","ts":1,"value":{n}}}"#);
            agree(&line);
        }

        /// Lines damaged anywhere (a character inserted, deleted or replaced) get
        /// the same reading or the same error either way.
        #[test]
        fn damaged_lines_agree(
            base in 0usize..4,
            edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(
                vec!['"', '\\', ',', ':', '{', '}', ' ', '0', '9', '.', 'e', '-', '+', 't', 'n', 'x', '\u{1}', 'é'])), 1..4),
        ) {
            let bases = [
                r#"{"id":"CM-S-WL-000001","channel":"level","ts":1763700000000,"value":2.41}"#,
                r#"{"id":"B","channel":"online","ts":2000,"value":true,"quality":"uncertain"}"#,
                r#"{"id":"C","channel":"charger","ts":3000,"value":"fault"}"#,
                r#"{"value":-12.5e-3,"ts":10,"channel":"pm25","id":"CM-S-PM-000009"}"#,
            ];
            let mut chars: Vec<char> = bases[base].chars().collect();
            for (at, what, c) in edits {
                let i = at % (chars.len() + 1);
                match what {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => { chars.remove(i); }
                    _ if i < chars.len() => chars[i] = c,
                    _ => chars.push(c),
                }
            }
            let line: String = chars.into_iter().collect();
            agree(&line);
        }
    }

    const NOW: i64 = 1_763_700_000_000;

    fn live() -> Session {
        let mut twin = Twin::new(LocalFrame::chongming());
        let ids = [
            "S0",
            "S1",
            "S2",
            "CM-S-WL-000001-with-a-much-longer-id",
            "长兴岛-传感器-0001",
        ];
        let assets = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                Asset::new(
                    *id,
                    AssetKind::Sensor(SensorType::WaterLevel),
                    Geometry::Point(Point::new(121.4 + i as f64 * 1e-3, 31.6)),
                )
            })
            .collect();
        twin.insert_assets(assets, LoadMode::Strict).unwrap();
        let mut live = Session::new(twin, SessionConfig::default());
        register(&mut live);
        live.set_rules_json(
            r#"[{"id":"high","kinds":"sensor:water_level","channel":"level","above":3.0,"severity":"warning"}]"#,
        )
        .unwrap();
        live
    }

    fn register(live: &mut Session) {
        live.register_channel(ChannelSpec::number("level", "m"));
        live.register_channel(ChannelSpec::boolean("online"));
        live.register_channel(ChannelSpec::enumeration(
            "gate",
            &["open", "closed", "fault"],
        ));
    }

    /// Readings of every kind: good ones, late ones, repeats, and every refusal.
    fn mixed_text(t: i64) -> String {
        let mut lines = vec![
            format!(r#"{{"id":"S0","channel":"level","ts":{t},"value":3.5}}"#),
            format!(r#"{{"id":"S1","channel":"level","ts":{t},"value":1.25,"quality":"bad"}}"#),
            format!(
                r#"{{"id":"S1","channel":"level","ts":{},"value":1.0}}"#,
                t - 5_000
            ),
            format!(r#"{{"id":"S1","channel":"level","ts":{t},"value":1.25,"quality":"bad"}}"#),
            format!(r#"{{"id":"S2","channel":"online","ts":{t},"value":true}}"#),
            format!(r#"{{"id":"S2","channel":"gate","ts":{t},"value":"fault"}}"#),
            format!(r#"{{"id":"S2","channel":"gate","ts":{t},"value":"ajar"}}"#),
            format!(r#"{{"id":"S2","channel":"level","ts":{t},"value":"high"}}"#),
            format!(r#"{{"id":"S2","channel":"online","ts":{t},"value":1}}"#),
            format!(r#"{{"id":"S\u0032","channel":"level","ts":{t},"value":2.0}}"#),
            format!(
                r#"{{"id":"CM-S-WL-000001-with-a-much-longer-id","channel":"level","ts":{t},"value":3.1}}"#
            ),
            format!(r#"{{"id":"长兴岛-传感器-0001","channel":"level","ts":{t},"value":0.5}}"#),
            format!(r#"{{"id":"nobody","channel":"level","ts":{t},"value":1}}"#),
            format!(r#"{{"id":"S0","channel":"salinity","ts":{t},"value":1}}"#),
            format!(
                r#"{{"id":"S0","channel":"level","ts":{},"value":1}}"#,
                t + 3_600_000
            ),
            "# a comment".into(),
            String::new(),
            r#"{"id":"S0","channel":"level","ts":"noon","value":1}"#.into(),
            "not json".into(),
        ];
        // More refusals than a report keeps in full.
        for i in 0..100 {
            lines.push(format!(
                r#"{{"id":"ghost-{i}","channel":"level","ts":{t},"value":1}}"#
            ));
        }
        lines.join("\n")
    }

    #[test]
    fn ingest_equals_parse_then_apply_readings() {
        let (mut a, mut b, mut c) = (live(), live(), live());
        let mut ingest = JsonIngest::new();
        for step in 0..3 {
            let t = NOW + step * 1_000;
            let text = mixed_text(t);
            let file = parse(&text, "t.jsonl", Format::JsonLines);
            let want = a.apply_readings(&file.readings, Timestamp::from_millis(t));
            let got = ingest_json_lines(
                &mut b,
                &text,
                "t.jsonl",
                twin_core::Timestamp::from_millis(t),
            );
            let got_indexed = ingest.ingest(
                &mut c,
                &text,
                "t.jsonl",
                twin_core::Timestamp::from_millis(t),
            );
            assert_eq!(got.report, want, "step {step}");
            assert_eq!(got.errors, file.errors);
            assert_eq!(got_indexed.report, want, "step {step}");
            assert_eq!(got_indexed.errors, file.errors);
            if step == 0 {
                assert_eq!(want.applied, 7);
                assert_eq!(want.out_of_order, 1);
                assert_eq!(want.duplicates, 1);
                assert_eq!(want.rejected_total(), 106);
                assert_eq!(want.examples.len(), 64);
                assert_eq!(file.errors.len(), 2);
            }
        }
        for live in [&b, &c] {
            for (h, _) in a.twin().iter() {
                for (ch, _) in a.store().channels() {
                    assert_eq!(a.store().latest(h, ch), live.store().latest(h, ch));
                }
            }
            assert_eq!(
                a.store()
                    .state_at(twin_core::Timestamp::from_millis(NOW + 1_500), None),
                live.store()
                    .state_at(twin_core::Timestamp::from_millis(NOW + 1_500), None)
            );
            assert_eq!(
                a.alerts().open().map(|x| x.asset).collect::<Vec<_>>(),
                live.alerts().open().map(|x| x.asset).collect::<Vec<_>>()
            );
        }
        assert_eq!(
            c.alerts().open().count(),
            2,
            "S0 at 3.5 and the long id at 3.1"
        );
    }

    #[test]
    fn id_cache_grows_with_the_assets_that_report() {
        let n = 3000;
        let build = || {
            let mut twin = Twin::new(LocalFrame::chongming());
            let assets = (0..n)
                .map(|i| {
                    Asset::new(
                        format!("CM-S-WL-{i:06}"),
                        AssetKind::Sensor(SensorType::WaterLevel),
                        Geometry::Point(Point::new(121.4 + i as f64 * 1e-5, 31.6)),
                    )
                })
                .collect();
            twin.insert_assets(assets, LoadMode::Strict).unwrap();
            let mut live = Session::new(twin, SessionConfig::default());
            live.register_channel(ChannelSpec::number("level", "m"));
            live
        };
        let (mut a, mut b) = (build(), build());
        let level = a.store().channel("level").unwrap();
        let mut ingest = JsonIngest::new();
        for round in 0..3i64 {
            let t = NOW + round * 1000;
            // Every third sensor, in a different order each round.
            let text: Vec<String> = (0..n)
                .map(|i| (i * 7 + round as usize * 13) % n)
                .filter(|i| i % 3 != round as usize)
                .map(|i| {
                    format!(r#"{{"id":"CM-S-WL-{i:06}","channel":"level","ts":{t},"value":{i}.5}}"#)
                })
                .collect();
            let text = text.join("\n");
            let file = parse(&text, "t", Format::JsonLines);
            let want = a.apply_readings(&file.readings, Timestamp::from_millis(t));
            assert_eq!(want.applied as usize, n - n / 3);
            assert_eq!(
                ingest
                    .ingest(&mut b, &text, "t", twin_core::Timestamp::from_millis(t))
                    .report,
                want
            );
        }
        for (h, _) in a.twin().iter() {
            assert_eq!(a.store().latest(h, level), b.store().latest(h, level));
        }
    }

    #[test]
    fn ingest_follows_changes_of_the_twin() {
        let mut live = live();
        let mut ingest = JsonIngest::new();
        let line = |t: i64| format!(r#"{{"id":"S9","channel":"level","ts":{t},"value":1}}"#);
        let r = ingest
            .ingest(
                &mut live,
                &line(NOW),
                "t",
                twin_core::Timestamp::from_millis(NOW),
            )
            .report;
        assert_eq!(r.rejected_total(), 1);
        live.insert_assets(
            vec![Asset::new(
                "S9",
                AssetKind::Sensor(SensorType::WaterLevel),
                Geometry::Point(Point::new(121.5, 31.6)),
            )],
            LoadMode::Strict,
        )
        .unwrap();
        let r = ingest
            .ingest(
                &mut live,
                &line(NOW + 1),
                "t",
                twin_core::Timestamp::from_millis(NOW + 1),
            )
            .report;
        assert_eq!((r.applied, r.rejected_total()), (1, 0));
        live.remove_asset("S1").unwrap();
        let text = format!(
            r#"{{"id":"S1","channel":"level","ts":{},"value":1}}"#,
            NOW + 2
        );
        let r = ingest
            .ingest(
                &mut live,
                &text,
                "t",
                twin_core::Timestamp::from_millis(NOW + 2),
            )
            .report;
        assert_eq!(r.rejected_total(), 1);
        // Another twin of the same size in its place: ids are checked, not assumed.
        let mut other = Twin::new(LocalFrame::chongming());
        let assets = ["X0", "X1", "X2", "X3", "X4", "X5"]
            .iter()
            .map(|id| {
                Asset::new(
                    *id,
                    AssetKind::Sensor(SensorType::WaterLevel),
                    Geometry::Point(Point::new(121.4, 31.6)),
                )
            })
            .collect();
        other.insert_assets(assets, LoadMode::Strict).unwrap();
        other.remove("X5").unwrap();
        assert_eq!(
            (other.len(), other.handle_capacity()),
            (live.twin().len(), live.twin().handle_capacity())
        );
        // A new session over the other twin, fed through the same ingester.
        let mut live = Session::new(other, SessionConfig::default());
        register(&mut live);
        let text = format!(
            r#"{{"id":"X0","channel":"level","ts":{},"value":1}}"#,
            NOW + 3
        );
        let r = ingest
            .ingest(
                &mut live,
                &text,
                "t",
                twin_core::Timestamp::from_millis(NOW + 3),
            )
            .report;
        assert_eq!((r.applied, r.rejected_total()), (1, 0));
    }
}
