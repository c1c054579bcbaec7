//! Incidents on the simulated island: the planned events of the simulator give the
//! known answers. The water-level surge is one incident holding every gauge alert of
//! its town; the charger fault is one incident of one charger; both close after their
//! quiet period; the footprint holds the incident's assets and counts what it covers.
//! The gateway outage's silent sensors are one incident. The surge's work order goes to
//! its town's water team, escalates and is closed by the system. Each camera event
//! (雪亮工程 AI: exposed garbage, illegal parking, standing water) is an incident of
//! its own family whose order goes to the unit responsible in its town, with its
//! plan's checklist and the nearest resources, and is reviewed and closed by the system
//! when the camera sees the street clear again.

use std::collections::{BTreeMap, BTreeSet};

use geo::Contains;
use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::sim::{Incident as Planned, SimConfig, Simulator, standard_session};
use twin_chongming::synth::SynthConfig;
use twin_core::state::alert::AlertEvent;
use twin_core::state::incident::{IncidentEvent, IncidentRules, IncidentState};
use twin_core::state::orders::{Action, OrderState};
use twin_core::{KindFilter, SessionConfig, Timestamp};

const T0: i64 = 1_763_700_000_000;

#[test]
fn the_planned_events_become_one_incident_each_and_close_when_quiet() {
    let twin = twin_chongming::island::load(&SynthConfig {
        seed: 7,
        scale: 0.05,
    })
    .unwrap();
    let config = SimConfig::default_for(&twin, 7, Timestamp::from_millis(T0));
    let mut camera_events = Vec::new();
    let (surge_town, charger, silenced) = {
        let mut town = None;
        let mut charger = None;
        let mut silenced = BTreeSet::new();
        for p in &config.incidents {
            match p {
                Planned::Surge { town: t, .. } => town = Some(*t),
                Planned::ChargerFault { charger_sensor, .. } => charger = Some(*charger_sensor),
                Planned::Silence { sensors, .. } => silenced.extend(sensors.iter().copied()),
                Planned::CameraEvent {
                    camera,
                    event,
                    start,
                    end,
                    ..
                } => camera_events.push((*camera, event.clone(), *start, *end)),
            }
        }
        (town.unwrap(), charger.unwrap(), silenced)
    };
    assert_eq!(camera_events.len(), 3);
    let (mut live, channels) =
        standard_session(twin, SessionConfig::default(), DEFAULT_RULES_JSON).unwrap();
    let mut sim = Simulator::new(live.twin(), &channels, config);

    // Alert → incident, as each alert is raised; the incident events in order.
    let mut joined: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut surge_gauges = BTreeSet::new();
    let mut charger_incident = None;
    let mut events = Vec::new();
    let mut flooding_footprint_checked = false;
    let mut silent_incidents = BTreeSet::new();
    let mut silent_assets = BTreeSet::new();
    // An hour: the charger fault is +5..+30 min, the surge +10..+45 (then 10 min quiet).
    for s in (2..=3600).step_by(2) {
        sim.drive(&mut live, Timestamp::from_millis(T0 + s * 1000));
        for e in live.drain_events(usize::MAX) {
            let AlertEvent::Raised(a) = e else { continue };
            let inc = live
                .incidents()
                .of_alert(a.id)
                .expect("every alert joins an incident");
            joined.entry(a.rule.clone()).or_default().insert(inc);
            if a.rule == "water-level-high" {
                assert_eq!(a.town, Some(surge_town), "a gauge outside the surge's town");
                surge_gauges.insert(a.asset);
            }
            if a.rule.ends_with("-silent") {
                assert!(
                    silenced.contains(&a.asset),
                    "{} went silent unplanned",
                    a.asset_id
                );
                silent_incidents.insert(inc);
                silent_assets.insert(a.asset);
            }
            if a.rule == "charger-fault" {
                assert_eq!(a.asset, charger);
                charger_incident = Some(inc);
            }
        }
        events.extend(live.drain_incident_events(usize::MAX));
        // At the surge's height (+30 min): its footprint holds its gauges and covers
        // buildings, counted as a query of the footprint counts them.
        if s == 1800 {
            let id = *joined["water-level-high"].iter().next().unwrap();
            let inc = live.incidents().get(id).unwrap();
            assert_eq!(inc.state, IncidentState::Open);
            assert_eq!(inc.family, "flooding");
            let area = inc.footprint(live.twin(), 200.0).unwrap();
            for h in &inc.assets {
                let a = live.twin().get(*h).unwrap();
                let geo_types::Geometry::Point(p) = a.geometry else {
                    panic!("a gauge is a point")
                };
                assert!(area.contains(&p), "{} outside the footprint", a.id);
            }
            let kinds: KindFilter = "building".parse().unwrap();
            let affected = inc.affected(live.twin(), 200.0, &kinds);
            let total: usize = affected.values().sum();
            let direct = live
                .twin()
                .query_intersecting(&geo_types::Geometry::Polygon(area), Some(&kinds))
                .len();
            assert!(total > 0 && total == direct, "{affected:?} vs {direct}");
            flooding_footprint_checked = true;
        }
    }
    assert!(flooding_footprint_checked);

    // The surge: many gauge alerts, one incident.
    let flooding = &joined["water-level-high"];
    assert_eq!(flooding.len(), 1, "the surge is one incident: {flooding:?}");
    assert!(surge_gauges.len() > 10, "{} gauges", surge_gauges.len());
    let id = *flooding.iter().next().unwrap();
    let inc = live.incidents().get(id).unwrap();
    assert_eq!(inc.towns, BTreeSet::from([surge_town]));
    assert!(surge_gauges.is_subset(&inc.assets));
    assert_eq!(inc.severity, twin_core::state::alert::Severity::Critical);
    assert!(inc.peak.1 > 10, "{:?}", inc.peak);
    // Over by +60 min: quiet since its last gauge cleared while the water fell (+35 to
    // +45 min), closed 10 minutes later.
    assert_eq!(inc.state, IncidentState::Closed, "{inc:?}");
    let end = inc.end.unwrap().as_millis();
    assert!(
        end > T0 + 35 * 60_000 && end < T0 + 45 * 60_000,
        "end {end}"
    );
    let opened = events
        .iter()
        .position(|e| *e == IncidentEvent::Opened(id))
        .unwrap();
    let quiet = events
        .iter()
        .rposition(|e| *e == IncidentEvent::Quiet(id))
        .unwrap();
    let closed = events
        .iter()
        .position(|e| *e == IncidentEvent::Closed(id))
        .unwrap();
    assert!(opened < quiet && quiet < closed);

    // The surge's order: to the town's water team, up a tier the moment five minutes
    // passed unaccepted (critical), then up again, and closed by the system once the
    // incident closed.
    let order = live.orders().of_incident(id).unwrap();
    let town_id = &live.twin().get(surge_town).unwrap().id;
    let steps: Vec<(Action, &str, Option<&str>)> = order
        .history
        .iter()
        .map(|t| (t.action, t.by.as_str(), t.unit.as_deref()))
        .collect();
    let water = format!("water/{town_id}");
    let centre = format!("town-centre/{town_id}");
    assert_eq!(
        steps,
        vec![
            (Action::Dispatch, "system", Some(water.as_str())),
            (Action::Escalate, "system", Some(centre.as_str())),
            (Action::Escalate, "system", Some("district-centre")),
            (Action::Resolve, "system", Some("district-centre")),
            (Action::Verify, "system", Some("district-centre")),
            (Action::Close, "system", Some("district-centre")),
        ]
    );
    assert_eq!(order.history[0].at, inc.start);
    assert_eq!(
        order.history[1].at.as_millis(),
        inc.start.as_millis() + 300_000
    );
    assert_eq!(
        order.history[2].at.as_millis(),
        inc.start.as_millis() + 600_000
    );
    assert_eq!(order.state, OrderState::Closed);
    assert!(order.overdue);
    assert_eq!(order.checklist.len(), 5, "the flood plan's steps");

    // The gateway outage: its silent sensors are one incident, in one town.
    assert_eq!(silent_incidents.len(), 1, "{silent_incidents:?}");
    let silent = live
        .incidents()
        .get(*silent_incidents.iter().next().unwrap())
        .unwrap();
    assert_eq!(silent.family, "silent-sensors");
    assert_eq!(silent.towns.len(), 1);
    assert!(silent_assets.len() > 100, "{} silent", silent_assets.len());
    assert_eq!(silent.assets, silent_assets);

    // The charger fault: one alert, one incident of one charger, closed.
    let c = live.incidents().get(charger_incident.unwrap()).unwrap();
    assert_eq!(c.family, "charger-fault");
    assert_eq!(c.assets, BTreeSet::from([charger]));
    assert_eq!(c.state, IncidentState::Closed);
    assert_eq!(c.start.as_millis(), T0 + 5 * 60_000);

    // The flood order calls on the three pumping stations and the response team
    // nearest the surge's gauges.
    let kinds: Vec<&str> = order.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "custom:pumping_station",
            "custom:pumping_station",
            "custom:pumping_station",
            "custom:response_team"
        ]
    );
    assert!(order.resources[..3].is_sorted_by(|a, b| a.distance_m <= b.distance_m));

    // Each camera event: one incident of one camera, its own family, routed to the
    // unit responsible in its town, closed by the system after its quiet period once
    // the camera saw the street clear.
    for (camera, event, start, end) in &camera_events {
        let (family, unit, quiet_s, plan_steps) = match event.as_str() {
            "exposed_garbage" => ("city-appearance", "urban", 300, 3),
            "illegal_parking" => ("traffic-order", "traffic-police", 300, 3),
            "standing_water" => ("waterlogging", "water", 600, 4),
            other => panic!("unplanned camera event {other}"),
        };
        let found: Vec<_> = live
            .incidents()
            .closed()
            .chain(live.incidents().live())
            .filter(|i| i.assets.contains(camera))
            .collect();
        assert_eq!(found.len(), 1, "{event}: {found:?}");
        let inc = found[0];
        assert_eq!(inc.family, family);
        assert_eq!(inc.assets, BTreeSet::from([*camera]));
        assert_eq!(inc.start, *start, "{event}");
        assert_eq!(inc.state, IncidentState::Closed, "{event}");
        let closed = inc.closed_at.unwrap().as_millis();
        let due = end.as_millis() + quiet_s * 1000;
        assert!(
            (due..due + 2_000).contains(&closed),
            "{event}: {closed} vs {due}"
        );
        let o = live.orders().of_incident(inc.id).unwrap();
        let town = live.twin().town_of(*camera).unwrap();
        let town_id = &live.twin().get(town).unwrap().id;
        assert_eq!(
            o.history[0].unit.as_deref(),
            Some(format!("{unit}/{town_id}").as_str())
        );
        assert_eq!(o.checklist.len(), plan_steps, "{event}");
        let last: Vec<(Action, &str)> = o.history[o.history.len() - 3..]
            .iter()
            .map(|t| (t.action, t.by.as_str()))
            .collect();
        assert_eq!(
            last,
            [
                (Action::Resolve, "system"),
                (Action::Verify, "system"),
                (Action::Close, "system")
            ]
        );
        assert_eq!(o.state, OrderState::Closed);
        if event == "exposed_garbage" {
            assert_eq!(o.resources.len(), 1);
            assert_eq!(o.resources[0].kind, "garbage_station");
        }
    }
}

#[test]
fn grouping_rules_are_checked() {
    let bad = |text: &str| IncidentRules::from_json(text).unwrap_err().to_string();
    assert!(
        bad(r#"[{"family": "x", "rules": ["a"]}]"#)
            .contains("give `same_town`, `within_m` or both")
    );
    assert!(bad(r#"[{"family": "x", "rules": ["a"], "same_town": true}, {"family": "y", "rules": ["a"], "same_town": true}]"#)
        .contains("rule `a` is in two families"));
    assert!(bad(r#"[{"family": "x", "rules": [], "within_m": -1}]"#).contains("`within_m`"));
    assert!(
        bad(r#"[{"family": "x", "rules": [], "same_town": true, "quiet": 3}]"#)
            .contains("unknown field `quiet`")
    );
    let ok = IncidentRules::from_json(twin_chongming::DEFAULT_INCIDENTS_JSON).unwrap();
    assert_eq!(ok.group_of("level-jump").family, "flooding");
    // A rule no group names is a family of its own, by town.
    let own = ok.group_of("noise-high");
    assert_eq!((own.family.as_str(), own.same_town), ("noise-high", true));
}
