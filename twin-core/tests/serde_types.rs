//! The public report types in JSON (serde): the exact text a server or a file gets,
//! and back.

use std::collections::BTreeMap;

use serde_json::json;
use twin_core::state::alert::{Alert, AlertEvent, AlertState, Severity};
use twin_core::state::vitals::{ChannelStats, VitalRow};
use twin_core::state::{
    ChannelId, ChannelSpec, ChannelType, IngestReport, Quality, RejectReason, Rejection,
};
use twin_core::{Handle, Timestamp};

fn alert() -> Alert {
    Alert {
        id: 7,
        rule: "water-level-high".into(),
        asset: Handle(3306),
        asset_id: "CM-S-WL-003306".into(),
        town: Some(Handle(12)),
        severity: Severity::Critical,
        raised_at: Timestamp::from_millis(1_763_701_200_000),
        value: 3.38,
        state: AlertState::Acknowledged,
        acknowledged_at: Some(Timestamp::from_millis(1_763_701_260_000)),
        cleared_at: None,
    }
}

#[test]
fn alerts_and_their_events() {
    let a = alert();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(
        v,
        json!({"id": 7, "rule": "water-level-high", "asset": 3306,
               "asset_id": "CM-S-WL-003306", "town": 12, "severity": "critical",
               "raised_at": 1_763_701_200_000_i64, "value": 3.38, "state": "acknowledged",
               "acknowledged_at": 1_763_701_260_000_i64, "cleared_at": null})
    );
    assert_eq!(serde_json::from_value::<Alert>(v).unwrap(), a);
    let e = AlertEvent::Acknowledged(a.clone());
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["event"], "acknowledged");
    assert_eq!(v["alert"]["id"], 7);
    assert_eq!(serde_json::from_value::<AlertEvent>(v).unwrap(), e);
}

#[test]
fn vital_rows_ingest_reports_and_channels() {
    let row = VitalRow {
        region: Handle(12),
        name: "陈家镇".into(),
        island: false,
        sensors: 9134,
        online: 9134,
        channels: BTreeMap::from([(
            ChannelId(0),
            ChannelStats {
                count: 460,
                mean: 3.3,
                max: 3.6,
            },
        )]),
        alerts: [0, 0, 342],
    };
    let v = serde_json::to_value(&row).unwrap();
    assert_eq!(
        v,
        json!({"region": 12, "name": "陈家镇", "island": false, "sensors": 9134,
               "online": 9134, "channels": {"0": {"count": 460, "mean": 3.3, "max": 3.6}},
               "alerts": [0, 0, 342]})
    );
    assert_eq!(serde_json::from_value::<VitalRow>(v).unwrap(), row);

    let mut report = IngestReport {
        applied: 5,
        ..IngestReport::default()
    };
    report.note_rejection(
        RejectReason::UnknownId,
        "NOPE",
        "level",
        twin_core::Timestamp::from_millis(1_763_700_000_000),
    );
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["rejected"], json!({"unknown_id": 1}));
    assert_eq!(
        v["examples"][0],
        json!({"reason": "unknown_id", "asset": "NOPE", "channel": "level",
               "ts": 1_763_700_000_000_i64})
    );
    assert_eq!(serde_json::from_value::<IngestReport>(v).unwrap(), report);
    let _: Rejection = serde_json::from_value(json!({"reason": "not_finite", "asset": "A",
        "channel": "c", "ts": 0}))
    .unwrap();

    let spec = ChannelSpec::enumeration("charger", &["idle", "charging", "fault"]);
    let v = serde_json::to_value(&spec).unwrap();
    assert_eq!(
        v,
        json!({"name": "charger", "type": "enum", "states": ["idle", "charging", "fault"],
               "unit": null})
    );
    assert_eq!(serde_json::from_value::<ChannelSpec>(v).unwrap(), spec);
    assert_eq!(
        serde_json::to_value(Quality::Uncertain).unwrap(),
        "uncertain"
    );
    assert!(serde_json::from_value::<ChannelType>(json!({"type": "colour"})).is_err());
}
