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
    assert_eq!(f.readings[0].ts, 1000);
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
    assert_eq!((r.start(), r.end(), r.len()), (Some(1000), Some(3000), 4));
    let ids =
        |rs: &[twin_core::state::Reading]| rs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(r.until(999)), Vec::<String>::new());
    assert_eq!(
        ids(r.until(1000)),
        vec!["B", "C"],
        "stable within one millisecond"
    );
    assert_eq!(ids(r.until(2999)), vec!["D"]);
    assert!(!r.is_done());
    assert_eq!(ids(r.until(i64::MAX)), vec!["A"]);
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
