//! MQTT payloads: one asset per message (compact and per-reading forms) and gateway
//! batches (JSON arrays of readings, SensorThings dataArray), with known answers.

use twin_core::Timestamp;
use twin_core::state::{Quality, RejectReason, Value};
use twin_core::telemetry::wire::{WireError, decode, decode_batch, encode};

const T: i64 = 1_763_700_000_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn compact_and_per_reading_payloads_decode() {
    let d = decode(
        br#"{"ts":1763700000000,"power":22.5,"charger":"charging"}"#,
        "C1",
    )
    .unwrap();
    assert_eq!(d.readings.len(), 2);
    let value = |ch: &str| {
        let r = d.readings.iter().find(|r| r.channel == ch).unwrap();
        assert_eq!((r.id.as_str(), r.ts), ("C1", ts(T)));
        r.value.clone()
    };
    assert_eq!(value("charger"), Value::Text("charging".into()));
    assert_eq!(value("power"), Value::Num(22.5));
    let d = decode(
        br#"{"ts":"2025-11-21T04:40:00Z","occupied":true,"quality":"bad","x":null}"#,
        "P1",
    )
    .unwrap();
    assert_eq!(d.readings[0].ts, ts(T));
    assert_eq!(d.readings[0].quality, Quality::Bad);
    assert_eq!(
        d.refused,
        vec![(RejectReason::WrongType, "P1".into(), "x".into(), ts(T))]
    );
    let line = br#"{"id":"W1","channel":"level","ts":1763700000000,"value":2.5}"#;
    assert_eq!(
        decode(line, "W1").unwrap().readings[0].value,
        Value::Num(2.5)
    );
    assert_eq!(
        decode(line, "W2").unwrap_err(),
        WireError::OtherAsset {
            payload: "W1".into(),
            topic: "W2".into()
        }
    );
    for (bad, why) in [
        (&b"\xff"[..], "not UTF-8"),
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b"{\"level\":1}", "missing `ts`"),
        (b"{\"ts\":1.5,\"level\":1}", "not whole milliseconds"),
        (b"{\"ts\":-5,\"level\":1}", "outside 1970"),
        (b"{\"ts\":1763700000000}", "no channel"),
        (
            b"{\"ts\":1763700000000,\"level\":1,\"quality\":\"meh\"}",
            "quality `meh`",
        ),
    ] {
        let e = decode(bad, "W1").unwrap_err().to_string();
        assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(bad));
    }
    let text = encode(
        ts(T),
        &[
            ("power", Value::Num(0.1 + 0.2)),
            ("charger", Value::Text("idle".into())),
        ],
    );
    assert_eq!(
        text,
        r#"{"ts":1763700000000,"power":0.30000000000000004,"charger":"idle"}"#
    );
    let back = decode(text.as_bytes(), "C").unwrap();
    let power = back.readings.iter().find(|r| r.channel == "power").unwrap();
    assert_eq!(power.value, Value::Num(0.1 + 0.2));
}

#[test]
fn batches_of_readings_and_sensorthings_data_arrays() {
    // A JSON array of per-reading objects; bad items are refused alone.
    let d = decode_batch(
        br#"[
          {"id": "W1", "channel": "level", "ts": 1763700000000, "value": 2.5},
          {"id": "W2", "channel": "level", "ts": "2025-11-21T04:40:01Z", "value": 2.75, "quality": "uncertain"},
          {"id": "W3", "channel": "level", "ts": 1763700000000, "value": null},
          {"id": "W4", "channel": "level", "value": 1},
          {"channel": "level", "ts": 1763700000000, "value": 1}
        ]"#,
    )
    .unwrap();
    assert_eq!(d.readings.len(), 2);
    assert_eq!(d.readings[1].id, "W2");
    assert_eq!(d.readings[1].ts, ts(T + 1000));
    assert_eq!(d.readings[1].quality, Quality::Uncertain);
    let reasons: Vec<(RejectReason, &str)> =
        d.refused.iter().map(|r| (r.0, r.1.as_str())).collect();
    assert_eq!(
        reasons,
        [
            (RejectReason::WrongType, "W3"),
            (RejectReason::InvalidTimestamp, "W4"),
            (RejectReason::UnknownId, "")
        ]
    );
    // SensorThings: Datastream ASSET-ID/CHANNEL, components in any order.
    let sta = br#"[
      {"Datastream": {"@iot.id": "CM-S-WL-000001/level"},
       "components": ["result", "phenomenonTime", "resultQuality"],
       "dataArray@iot.count": 3,
       "dataArray": [[2.41, "2025-11-21T04:40:00Z", "good"],
                     [2.43, 1763700001000, "bad"],
                     ["x", "2025-11-21T04:40:02Z", "good"]]},
      {"Datastream": {"@iot.id": "a/b/charger"},
       "components": ["phenomenonTime", "result"],
       "dataArray": [["2025-11-21T04:40:00Z", "fault"], ["not a time", "idle"]]}
    ]"#;
    let d = decode_batch(sta).unwrap();
    let got: Vec<(&str, &str, i64, Value, Quality)> = d
        .readings
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                r.channel.as_str(),
                r.ts.as_millis(),
                r.value.clone(),
                r.quality,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "CM-S-WL-000001",
                "level",
                T,
                Value::Num(2.41),
                Quality::Good
            ),
            (
                "CM-S-WL-000001",
                "level",
                T + 1000,
                Value::Num(2.43),
                Quality::Bad
            ),
            (
                "CM-S-WL-000001",
                "level",
                T + 2000,
                Value::Text("x".into()),
                Quality::Good
            ),
            (
                "a/b",
                "charger",
                T,
                Value::Text("fault".into()),
                Quality::Good
            ),
        ]
    );
    assert_eq!(d.refused.len(), 1);
    assert_eq!(d.refused[0].0, RejectReason::InvalidTimestamp);
    // One dataArray object alone is a batch too.
    let one = br#"{"Datastream": {"@iot.id": "W1/level"}, "components": ["phenomenonTime", "result"], "dataArray": [[1763700000000, 1.0]]}"#;
    assert_eq!(decode_batch(one).unwrap().readings.len(), 1);
    // Shapes that are not batches are refused whole, saying what is wrong.
    for (bad, why) in [
        (&b"5"[..], "a batch is a JSON array"),
        (b"[5]", "batch item 0 is not a JSON object"),
        (br#"[{"Datastream": {}, "components": [], "dataArray": []}]"#, "no `Datastream`"),
        (br#"[{"Datastream": {"@iot.id": "W1"}, "components": ["phenomenonTime", "result"], "dataArray": []}]"#, "not ASSET-ID/CHANNEL"),
        (br#"[{"Datastream": {"@iot.id": "W1/level"}, "components": ["result"], "dataArray": []}]"#, "phenomenonTime and result"),
        (br#"[{"Datastream": {"@iot.id": "W1/level"}, "components": ["phenomenonTime", "result"], "dataArray": 3}]"#, "not an array"),
    ] {
        let e = decode_batch(bad).unwrap_err().to_string();
        assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn a_batch_has_a_size_limit() {
    let item = r#"{"id":"W","channel":"c","ts":1763700000000,"value":1}"#;
    let text = format!("[{}]", vec![item; 100_001].join(","));
    assert_eq!(
        decode_batch(text.as_bytes()).unwrap_err(),
        WireError::TooMany(100_001)
    );
}
