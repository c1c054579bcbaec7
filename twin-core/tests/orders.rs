//! Work orders: the lifecycle table (every illegal step refused with its reason),
//! dispatch by the rules, escalation at the exact moment a response time passes,
//! automatic review and closure, reopening on recurrence, and a restart from a
//! snapshot that keeps orders and their history.

use geo_types::{Geometry, Point, polygon};
use twin_core::crs::LocalFrame;
use twin_core::state::incident::{IncidentRules, IncidentState};
use twin_core::state::orders::{
    Action, DispatchRules, OrderEvent, OrderState, StepRequest, next_state,
};
use twin_core::state::{ChannelId, ChannelSpec, Quality, Sample};
use twin_core::{Asset, AssetKind, LoadMode, SensorType, Session, SessionConfig, Timestamp, Twin};

const T0: i64 = 1_763_700_000_000;
const S: i64 = 1000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

const DISPATCH: &str = r#"{
  "units": [
    {"id": "water/{town}", "name": "{town} water team", "tier": 1},
    {"id": "town-centre/{town}", "name": "{town} centre", "tier": 2},
    {"id": "district-centre", "name": "District centre", "tier": 3}
  ],
  "routes": [
    {"family": "*", "multi_town": true, "unit": "district-centre"},
    {"family": "flooding", "unit": "water/{town}",
     "escalate_to": ["town-centre/{town}", "district-centre"], "plan": "flood"}
  ],
  "response": {"critical": {"accept_s": 300, "resolve_s": 3600}},
  "plans": {"flood": {"title": "Flood", "steps": ["open the sluices", "warn the villages"]}}
}"#;

const GROUPS: &str = r#"[{"family": "flooding", "rules": ["level-high"], "same_town": true,
  "quiet_s": 600, "reopen_s": 1800}]"#;

const RULES: &str = r#"[{"id": "level-high", "kinds": "sensor:water_level", "channel": "level",
  "above": 4.0, "hysteresis": 0.5, "severity": "critical"}]"#;

/// A town (a 2 km square) with three gauges, an order-handling session over it.
fn session() -> (Session, ChannelId) {
    let mut t = Twin::new(LocalFrame::chongming());
    let mut town = Asset::new(
        "TOWN-A",
        AssetKind::Town,
        Geometry::Polygon(polygon![
            (x: 121.40, y: 31.60), (x: 121.42, y: 31.60), (x: 121.42, y: 31.62),
            (x: 121.40, y: 31.62), (x: 121.40, y: 31.60)
        ]),
    );
    town.name_en = Some("Alpha".into());
    let gauge = |i: usize| {
        Asset::new(
            format!("WL{i}"),
            AssetKind::Sensor(SensorType::WaterLevel),
            Geometry::Point(Point::new(121.405 + i as f64 * 0.002, 31.61)),
        )
    };
    t.insert_assets(vec![town, gauge(1), gauge(2), gauge(3)], LoadMode::Strict)
        .unwrap();
    let mut live = Session::new(t, SessionConfig::default());
    let level = live.register_channel(ChannelSpec::number("level", "m"));
    live.set_rules_json(RULES).unwrap();
    live.set_incident_rules(IncidentRules::from_json(GROUPS).unwrap());
    live.set_dispatch_rules(DispatchRules::from_json(DISPATCH).unwrap());
    (live, level)
}

fn level(live: &mut Session, ch: ChannelId, gauge: &str, value: f64, at: i64) {
    let h = live.twin().handle(gauge).unwrap();
    let sample = Sample {
        handle: h,
        channel: ch,
        ts: ts(at),
        value,
        quality: Quality::Good,
    };
    live.apply(&[sample], ts(at));
}

fn step<'a>(action: Action, by: &'a str) -> StepRequest<'a> {
    StepRequest {
        action,
        by,
        unit: None,
        note: "",
    }
}

#[test]
fn the_lifecycle_table_allows_thirteen_steps_and_refuses_the_rest_with_a_reason() {
    use Action::*;
    use OrderState::*;
    let states = [
        New, Dispatched, Accepted, OnSite, Resolved, Verified, Closed,
    ];
    let legal = [
        (New, Dispatch, Dispatched),
        (Dispatched, Accept, Accepted),
        (Accepted, Arrive, OnSite),
        (Accepted, Resolve, Resolved),
        (OnSite, Resolve, Resolved),
        (Resolved, Verify, Verified),
        (Verified, Close, Closed),
        (Dispatched, Reassign, Dispatched),
        (Accepted, Reassign, Dispatched),
        (OnSite, Reassign, Dispatched),
        (Resolved, Reopen, Dispatched),
        (Verified, Reopen, Dispatched),
        (Closed, Reopen, Dispatched),
    ];
    let mut allowed = 0;
    for from in states {
        for action in Action::ALL {
            let got = next_state(from, action, false);
            match legal.iter().find(|(f, a, _)| *f == from && *a == action) {
                Some((_, _, to)) => {
                    assert_eq!(got, Ok(*to), "{from:?} {action:?}");
                    allowed += 1;
                }
                None => {
                    let reason = got.expect_err("an illegal step");
                    assert!(
                        reason.contains(from.as_str()) || reason.contains("only the system"),
                        "{from:?} {action:?}: {reason}"
                    );
                }
            }
        }
    }
    assert_eq!(allowed, 13);
    // The system may resolve an order no one accepted, and only it escalates.
    assert_eq!(next_state(Dispatched, Resolve, true), Ok(Resolved));
    assert_eq!(next_state(OnSite, Escalate, true), Ok(Dispatched));
    assert!(
        next_state(Accepted, Escalate, false)
            .unwrap_err()
            .contains("only the system escalates")
    );
    assert!(
        next_state(Accepted, Verify, false)
            .unwrap_err()
            .contains("it can be: arrive, resolve, reassign")
    );
}

#[test]
fn an_order_is_dispatched_escalates_at_the_exact_moment_and_goes_through_its_steps() {
    let (mut live, ch) = session();
    level(&mut live, ch, "WL1", 3.0, T0);
    level(&mut live, ch, "WL1", 4.5, T0 + S);
    level(&mut live, ch, "WL2", 4.6, T0 + 2 * S);
    let orders = live.orders().live();
    assert_eq!(
        orders.len(),
        1,
        "two gauges of one town: one incident, one order"
    );
    let o = &orders[0];
    let id = o.id;
    assert_eq!(o.state, OrderState::Dispatched);
    assert_eq!(o.unit_id(), Some("water/TOWN-A"));
    assert_eq!(o.unit.as_ref().unwrap().name, "Alpha water team");
    assert_eq!(o.accept_due, Some(ts(T0 + S + 300 * S)));
    assert_eq!(o.resolve_due, Some(ts(T0 + S + 3600 * S)));
    assert_eq!(
        o.checklist,
        vec![
            ("open the sluices".to_string(), false),
            ("warn the villages".to_string(), false)
        ]
    );
    assert_eq!(o.history.len(), 1);
    assert_eq!(o.history[0].by, "system");
    assert_eq!(o.history[0].action, Action::Dispatch);
    let events = live.drain_order_events(usize::MAX);
    assert!(matches!(events[0], OrderEvent::Created { order, .. } if order == id));

    // A millisecond before the accept time passes: nothing; at it: the next tier.
    live.tick(ts(T0 + S + 300 * S - 1));
    assert_eq!(live.orders().get(id).unwrap().escalations, 0);
    live.tick(ts(T0 + S + 300 * S + 700));
    let o = live.orders().get(id).unwrap();
    assert_eq!(o.escalations, 1);
    assert!(o.overdue);
    assert_eq!(o.unit_id(), Some("town-centre/TOWN-A"));
    let esc = o.history.last().unwrap();
    assert_eq!(
        (esc.action, esc.by.as_str(), esc.at),
        (Action::Escalate, "system", ts(T0 + S + 300 * S)),
        "escalated at the moment the time passed, not at the tick"
    );
    assert_eq!(o.accept_due, Some(ts(T0 + S + 600 * S)));

    // People's steps: who, and the rules.
    let at = |live: &mut Session, s: i64| live.advance(ts(T0 + s * S));
    at(&mut live, 400);
    let refused = live
        .act_on_order(id, &step(Action::Verify, "li"))
        .unwrap_err();
    assert!(
        refused.to_string().contains("cannot be verified"),
        "{refused}"
    );
    assert!(live.act_on_order(id, &step(Action::Accept, "")).is_err());
    assert!(
        live.act_on_order(id, &step(Action::Escalate, "li"))
            .is_err()
    );
    live.act_on_order(id, &step(Action::Accept, "zhang"))
        .unwrap();
    at(&mut live, 500);
    live.act_on_order(id, &step(Action::Arrive, "zhang"))
        .unwrap();
    at(&mut live, 900);
    live.act_on_order(id, &step(Action::Resolve, "zhang"))
        .unwrap();
    let own = live
        .act_on_order(id, &step(Action::Verify, "zhang"))
        .unwrap_err();
    assert!(own.to_string().contains("someone else verifies"), "{own}");
    live.act_on_order(id, &step(Action::Verify, "li")).unwrap();
    live.act_on_order(id, &step(Action::Close, "li")).unwrap();
    let o = live.orders().get(id).unwrap();
    assert_eq!(o.state, OrderState::Closed);
    assert_eq!(o.accepted_at, Some(ts(T0 + 400 * S)));
    let steps: Vec<(Action, &str)> = o
        .history
        .iter()
        .map(|t| (t.action, t.by.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Action::Dispatch, "system"),
            (Action::Escalate, "system"),
            (Action::Accept, "zhang"),
            (Action::Arrive, "zhang"),
            (Action::Resolve, "zhang"),
            (Action::Verify, "li"),
            (Action::Close, "li"),
        ]
    );
    // The town's management columns: the incident is still open (its alert is), the
    // order closed; accepted 399 s and resolved 899 s after it was made.
    let town = live.twin().handle("TOWN-A").unwrap();
    let m =
        &twin_core::state::orders::by_region(live.twin(), live.incidents(), live.orders())[&town];
    assert_eq!(
        (m.open_incidents, m.open_orders, m.overdue_orders),
        (1, 0, 0)
    );
    assert_eq!((m.accepted, m.mean_accept_ms), (1, Some(399_000)));
    assert_eq!((m.resolved, m.mean_resolve_ms), (1, Some(899_000)));
    let units = twin_core::state::orders::by_unit(live.orders());
    assert_eq!(
        units[&Some("town-centre/TOWN-A".to_string())].mean_accept_ms,
        Some(399_000)
    );
    // Closed: only reopening is left.
    let late = live
        .act_on_order(id, &step(Action::Accept, "zhang"))
        .unwrap_err();
    assert!(late.to_string().contains("closed"), "{late}");
    assert!(
        live.act_on_order(99, &step(Action::Accept, "zhang"))
            .is_err()
    );
}

#[test]
fn with_no_unit_left_an_overdue_order_says_so_once() {
    let (mut live, ch) = session();
    level(&mut live, ch, "WL1", 4.5, T0);
    let id = live.orders().live()[0].id;
    live.drain_order_events(usize::MAX);
    // Two escalations (town centre, district centre), then nobody above: overdue.
    live.tick(ts(T0 + 1000 * S));
    let events = live.drain_order_events(usize::MAX);
    let escalations = events
        .iter()
        .filter(|e| matches!(e, OrderEvent::Step { transition, .. } if transition.action == Action::Escalate))
        .count();
    let overdue: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, OrderEvent::Overdue { .. }))
        .collect();
    assert_eq!(escalations, 2, "{events:?}");
    assert_eq!(overdue.len(), 1, "{events:?}");
    assert!(matches!(overdue[0], OrderEvent::Overdue { at, .. } if *at == ts(T0 + 900 * S)));
    let o = live.orders().get(id).unwrap();
    assert_eq!(o.unit_id(), Some("district-centre"));
    let town = live.twin().handle("TOWN-A").unwrap();
    let m =
        &twin_core::state::orders::by_region(live.twin(), live.incidents(), live.orders())[&town];
    assert_eq!(
        (m.open_incidents, m.open_orders, m.overdue_orders),
        (1, 1, 1)
    );
    assert_eq!(m.mean_accept_ms, None);
    live.tick(ts(T0 + 2000 * S));
    assert!(live.drain_order_events(usize::MAX).is_empty());
}

#[test]
fn the_system_reviews_and_closes_when_the_incident_ends_and_reopens_on_recurrence() {
    let (mut live, ch) = session();
    level(&mut live, ch, "WL1", 4.5, T0);
    let id = live.orders().live()[0].id;
    let incident = live.orders().live()[0].incident;
    level(&mut live, ch, "WL1", 3.0, T0 + 60 * S);
    assert_eq!(
        live.incidents().get(incident).unwrap().state,
        IncidentState::Quiet
    );
    live.tick(ts(T0 + 60 * S + 600 * S - 1));
    assert_eq!(live.orders().get(id).unwrap().state, OrderState::Dispatched);
    live.tick(ts(T0 + 60 * S + 600 * S));
    let o = live.orders().get(id).unwrap();
    assert_eq!(o.state, OrderState::Closed);
    // Unaccepted, it escalated twice meanwhile (at +300 s and +600 s); then the system
    // resolved, reviewed and closed it.
    let tail: Vec<(Action, &str)> = o.history[3..]
        .iter()
        .map(|t| (t.action, t.by.as_str()))
        .collect();
    assert_eq!(o.escalations, 2);
    assert_eq!(
        tail,
        vec![
            (Action::Resolve, "system"),
            (Action::Verify, "system"),
            (Action::Close, "system")
        ]
    );
    assert!(o.history[4].note.contains("automatic review"));

    // The same gauge again 20 minutes later: the same incident and order come back.
    level(&mut live, ch, "WL1", 4.7, T0 + 1860 * S);
    assert_eq!(live.incidents().live().len(), 1);
    assert_eq!(live.incidents().live()[0].id, incident);
    assert_eq!(live.incidents().live()[0].reopened, 1);
    let o = live.orders().get(id).unwrap();
    assert_eq!(o.state, OrderState::Dispatched);
    assert_eq!(o.history.last().unwrap().action, Action::Reopen);
    assert_eq!(live.orders().live().len(), 1);

    // Past the reopen period a recurrence is a new incident with a new order.
    level(&mut live, ch, "WL1", 3.0, T0 + 1900 * S);
    live.tick(ts(T0 + 2600 * S));
    assert!(live.incidents().live().is_empty());
    level(&mut live, ch, "WL1", 4.8, T0 + 5000 * S);
    let new = &live.orders().live()[0];
    assert_ne!(new.id, id);
    assert_ne!(new.incident, incident);
    let second = new.incident;

    // Replay: what was open when. Open from T0; quiet from +60 s; closed at +660 s;
    // back at +1860 s (the recurrence); quiet from +1900 s and closed 600 s later, at
    // +2500 s (though the clock was next told at +2600 s); the second incident from
    // +5000 s.
    let open_at = |t: i64| -> Vec<u64> {
        live.incidents()
            .open_at(ts(t))
            .iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(open_at(T0 - 1), Vec::<u64>::new());
    assert_eq!(open_at(T0), [incident]);
    assert_eq!(open_at(T0 + 659 * S), [incident]);
    assert_eq!(open_at(T0 + 660 * S), Vec::<u64>::new());
    assert_eq!(open_at(T0 + 1859 * S), Vec::<u64>::new());
    assert_eq!(open_at(T0 + 1860 * S), [incident]);
    assert_eq!(open_at(T0 + 2499 * S), [incident]);
    assert_eq!(open_at(T0 + 2500 * S), Vec::<u64>::new());
    assert_eq!(open_at(T0 + 5000 * S), [second]);
    let o = live.orders().get(id).unwrap();
    assert_eq!(o.state_at(ts(T0 - 1)), None);
    assert_eq!(o.state_at(ts(T0)), Some(OrderState::Dispatched));
    assert_eq!(o.state_at(ts(T0 + 660 * S)), Some(OrderState::Closed));
    assert_eq!(o.state_at(ts(T0 + 1860 * S)), Some(OrderState::Dispatched));
    assert_eq!(o.state_at(ts(T0 + 2499 * S)), Some(OrderState::Dispatched));
    assert_eq!(o.state_at(ts(T0 + 2500 * S)), Some(OrderState::Closed));
    assert_eq!(o.unit_at(ts(T0 + 299 * S)), Some("water/TOWN-A"));
    assert_eq!(o.unit_at(ts(T0 + 300 * S)), Some("town-centre/TOWN-A"));
    // The closures survive a snapshot.
    let saved = live.save_management();
    let text = serde_json::to_string(&saved).unwrap();
    let back: twin_core::session::manage::SavedManagement = serde_json::from_str(&text).unwrap();
    let (mut other, _) = session();
    other.restore_management(back);
    let ids: Vec<u64> = other
        .incidents()
        .open_at(ts(T0 + 1000 * S))
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, Vec::<u64>::new());
    let ids: Vec<u64> = other
        .incidents()
        .open_at(ts(T0 + 2000 * S))
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, [incident]);
}

#[test]
fn a_restart_from_a_snapshot_keeps_orders_their_history_and_numbering() {
    let (mut live, ch) = session();
    level(&mut live, ch, "WL1", 4.5, T0);
    live.tick(ts(T0 + 301 * S));
    live.advance(ts(T0 + 320 * S));
    let id = live.orders().live()[0].id;
    live.act_on_order(id, &step(Action::Accept, "zhang"))
        .unwrap();
    let before = live.orders().get(id).unwrap().clone();
    let incident_before = live.incidents().get(before.incident).unwrap().clone();
    assert_eq!(before.history.len(), 3);

    let bytes = twin_core::snapshot::to_bytes(&live).unwrap();
    let mut back =
        twin_core::snapshot::from_bytes(&bytes, "t.snap", SessionConfig::default()).unwrap();
    back.set_incident_rules(IncidentRules::from_json(GROUPS).unwrap());
    back.set_dispatch_rules(DispatchRules::from_json(DISPATCH).unwrap());
    assert_eq!(back.orders().get(id), Some(&before));
    let inc = back.incidents().get(before.incident).unwrap();
    assert_eq!(inc.alerts, incident_before.alerts);
    assert_eq!(
        inc.open, incident_before.open,
        "the open alert is still the incident's"
    );
    assert_eq!(inc.assets, incident_before.assets);
    // The restored order goes on; new incidents and orders number on.
    back.advance(ts(T0 + 400 * S));
    back.act_on_order(id, &step(Action::Resolve, "zhang"))
        .unwrap();
    let ch = back.store().channel("level").unwrap();
    level(&mut back, ch, "WL1", 3.0, T0 + 500 * S);
    back.tick(ts(T0 + 1200 * S));
    assert_eq!(back.orders().get(id).unwrap().state, OrderState::Closed);
    level(&mut back, ch, "WL3", 4.9, T0 + 9000 * S);
    let new = &back.orders().live()[0];
    assert!(new.id > id && new.incident > before.incident, "{new:?}");
}

#[test]
fn dispatch_rules_are_checked() {
    let bad = |text: &str| DispatchRules::from_json(text).unwrap_err().to_string();
    let base = |units: &str, routes: &str, response: &str| {
        format!(r#"{{"units": [{units}], "routes": [{routes}], "response": {{{response}}}}}"#)
    };
    let unit = r#"{"id": "a", "name": "A", "tier": 1}"#;
    assert!(bad(&base(unit, r#"{"family": "*", "unit": "b"}"#, "")).contains("no unit `b`"));
    assert!(bad(&base(&format!("{unit}, {unit}"), "", "")).contains("listed twice"));
    assert!(bad(&base(r#"{"id": "a", "name": "A", "tier": 0}"#, "", "")).contains("count from 1"));
    assert!(
        bad(&base(
            unit,
            "",
            r#""urgent": {"accept_s": 1, "resolve_s": 2}"#
        ))
        .contains("not info, warning or critical")
    );
    assert!(
        bad(&base(
            unit,
            "",
            r#""info": {"accept_s": 0, "resolve_s": 2}"#
        ))
        .contains("> 0")
    );
    assert!(
        bad(&base(
            unit,
            r#"{"family": "*", "unit": "a", "plan": "p"}"#,
            ""
        ))
        .contains("no plan `p`")
    );
    assert!(
        bad(r#"{"units": [], "routes": [], "response": {}, "x": 1}"#).contains("unknown field")
    );
    // The island's rules are valid.
    DispatchRules::from_json(twin_chongming::DEFAULT_DISPATCH_JSON).unwrap();
}

/// What a random run does next.
#[derive(Clone, Debug)]
enum Op {
    /// A gauge (1–3) reads a level.
    Level(usize, f64),
    /// Time passes (seconds).
    Wait(i64),
    /// The rules go and come back (their open alerts vanish without events).
    Rules,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        6 => (1usize..=3, 0.0f64..6.0).prop_map(|(g, v)| Op::Level(g, v)),
        3 => (1i64..2000).prop_map(Op::Wait),
        1 => Just(Op::Rules),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Every open alert belongs to exactly one live incident, and every live
    /// incident's open alerts are open, whatever happens; every incident has one order.
    #[test]
    fn every_alert_belongs_to_exactly_one_incident(ops in proptest::collection::vec(op(), 1..60)) {
        let (mut live, ch) = session();
        let mut t = T0;
        for op in ops {
            t += S;
            match op {
                Op::Level(g, v) => level(&mut live, ch, &format!("WL{g}"), v, t),
                Op::Wait(s) => {
                    t += s * S;
                    live.tick(ts(t));
                }
                Op::Rules => {
                    live.set_rules_json("[]").unwrap();
                    live.set_rules_json(RULES).unwrap();
                }
            }
            let open: Vec<u64> = live.alerts().open().map(|a| a.id).collect();
            for a in &open {
                let holders = live.incidents().live().iter().filter(|i| i.open.contains(a)).count();
                proptest::prop_assert_eq!(holders, 1, "alert {} in {} incidents", a, holders);
                proptest::prop_assert!(live.incidents().of_alert(*a).is_some());
            }
            for i in live.incidents().live() {
                for a in &i.open {
                    proptest::prop_assert!(open.contains(a), "incident {} holds cleared alert {}", i.id, a);
                }
                proptest::prop_assert!(live.orders().of_incident(i.id).is_some(), "incident {} has no order", i.id);
            }
        }
    }
}

#[test]
fn orders_made_before_there_were_rules_are_routed_when_rules_come() {
    let (mut live, ch) = session();
    live.set_dispatch_rules(DispatchRules::none());
    level(&mut live, ch, "WL1", 4.5, T0);
    let o = &live.orders().live()[0];
    assert_eq!((o.state, o.unit_id()), (OrderState::New, None));
    let id = o.id;
    // Without rules no unit can be named.
    let req = StepRequest {
        action: Action::Dispatch,
        by: "li",
        unit: Some("district-centre"),
        note: "",
    };
    assert!(live.act_on_order(id, &req).is_err());
    live.advance(ts(T0 + 10 * S));
    live.set_dispatch_rules(DispatchRules::from_json(DISPATCH).unwrap());
    let o = live.orders().get(id).unwrap();
    assert_eq!(
        (o.state, o.unit_id()),
        (OrderState::Dispatched, Some("water/TOWN-A"))
    );
    assert_eq!(o.accept_due, Some(ts(T0 + 310 * S)));
    assert_eq!(o.checklist.len(), 2);
}

#[test]
fn a_step_at_the_deadline_is_in_time_and_reassigning_to_the_holder_is_refused() {
    let (mut live, ch) = session();
    level(&mut live, ch, "WL1", 4.5, T0);
    let id = live.orders().live()[0].id;
    live.advance(ts(T0 + 300 * S));
    live.act_on_order(id, &step(Action::Accept, "zhang"))
        .unwrap();
    let o = live.orders().get(id).unwrap();
    assert_eq!((o.escalations, o.overdue), (0, false));
    assert_eq!(o.unit_id(), Some("water/TOWN-A"));
    let same = StepRequest {
        action: Action::Reassign,
        by: "zhang",
        unit: Some("water/TOWN-A"),
        note: "",
    };
    let refused = live.act_on_order(id, &same).unwrap_err();
    assert!(
        refused.to_string().contains("holds it already"),
        "{refused}"
    );
    // `{town}` stands for towns only.
    let gauge = StepRequest {
        unit: Some("water/WL1"),
        ..same
    };
    let refused = live.act_on_order(id, &gauge).unwrap_err();
    assert!(
        refused.to_string().contains("no unit `water/WL1`"),
        "{refused}"
    );
    let other = StepRequest {
        unit: Some("district-centre"),
        ..same
    };
    live.act_on_order(id, &other).unwrap();
    let o = live.orders().get(id).unwrap();
    assert_eq!(
        (o.state, o.unit_id()),
        (OrderState::Dispatched, Some("district-centre"))
    );
    assert_eq!(o.history.last().unwrap().by, "zhang");
}

#[test]
fn a_flapping_incident_does_not_grow_one_order_without_bound() {
    use twin_core::state::orders::MAX_HISTORY;
    let (mut live, ch) = session();
    let mut t = T0;
    let mut first = None;
    // Up, down, quiet past its period, up again within the reopen period: each cycle
    // reopens the same incident and adds steps to its order, until the order is full.
    for _ in 0..3000 {
        level(&mut live, ch, "WL1", 4.5, t);
        first.get_or_insert(live.orders().live()[0].id);
        level(&mut live, ch, "WL1", 3.0, t + S);
        t += 700 * S;
        live.tick(ts(t));
        live.drain_order_events(usize::MAX);
        live.drain_incident_events(usize::MAX);
    }
    let first = live.orders().get(first.unwrap()).unwrap();
    assert!(
        (MAX_HISTORY..MAX_HISTORY + 16).contains(&first.history.len()),
        "{} steps",
        first.history.len()
    );
    assert_eq!(first.state, OrderState::Closed);
    let newest = live.orders().closed().last().unwrap();
    assert_ne!(newest.id, first.id, "later cycles went to a new order");
    assert_eq!(newest.incident, first.incident, "of the same incident");
}
