//! The incidents panel of the viewer: the live incidents with their work orders, from
//! the viewer's own session (simulated) or the served twin's stream, in the one JSON
//! shape every front end shows (`twin_core::session::views`). Selecting one flies to
//! its footprint and draws it over the map; the panel lists what it covers, the order's
//! plan, resources and history, and the steps the order's state allows and the user's
//! role may take (on a served twin the token's role; the viewer's own session is one
//! person, `viewer`, with every role). With the time slider in the past it lists the
//! incidents open then, as they were ([`show_past`]).

use std::collections::BTreeMap;

use bevy_egui::egui::{self, Color32, Pos2, Stroke, Ui};
use serde_json::Value;
use twin_core::session::views::{incident_json, order_brief_json};
use twin_core::state::orders::{Action, StepRequest};
use twin_render::scene::widen;

use crate::TwinView;
use crate::live::{Live, Source};

/// Who the viewer's own session records as taking a step.
pub const VIEWER_NAME: &str = "viewer";

/// Incidents listed at most.
const LISTED: usize = 40;

impl Live {
    /// The live incidents, newest first, as the API shows them.
    pub fn incidents(&self) -> Vec<Value> {
        match &self.source {
            Source::Sim(_) => {
                let s = &self.session;
                let mut list: Vec<_> = s.incidents().live().iter().collect();
                list.sort_by_key(|i| std::cmp::Reverse(i.id));
                list.iter().map(|i| incident_json(s, i, false)).collect()
            }
            Source::Served(served) => served.link.incidents.values().rev().cloned().collect(),
        }
    }

    /// The live orders, by id.
    pub fn orders(&self) -> BTreeMap<u64, Value> {
        match &self.source {
            Source::Sim(_) => self
                .session
                .orders()
                .live()
                .iter()
                .map(|o| (o.id, order_brief_json(o)))
                .collect(),
            Source::Served(served) => served.link.orders.clone(),
        }
    }

    /// An incident's detail (footprint, what it covers): the session's now, or the
    /// server's latest answer for that incident (ask with [`Live::request_incident`]).
    pub fn incident_detail(&self, id: u64) -> Option<Value> {
        match &self.source {
            Source::Sim(_) => {
                let s = &self.session;
                s.incidents().get(id).map(|i| incident_json(s, i, true))
            }
            Source::Served(served) => served
                .link
                .detail
                .clone()
                .filter(|d| d["id"].as_u64() == Some(id)),
        }
    }

    /// Asks the server for an incident's detail (nothing to ask of the own session).
    pub fn request_incident(&self, id: u64) {
        if let Source::Served(served) = &self.source {
            served.link.request_incident(id);
        }
    }

    /// The role steps are taken with.
    pub fn role(&self) -> String {
        match &self.source {
            Source::Sim(_) => "admin".into(),
            Source::Served(served) => served.link.role().to_string(),
        }
    }

    /// Takes a step on an order: in the session as [`VIEWER_NAME`], or on the server
    /// as the token (its refusal shows as the link's last error).
    pub fn step_order(&mut self, order: u64, action: &str, note: &str) -> Result<(), String> {
        match &mut self.source {
            Source::Sim(_) => {
                let action = Action::parse(action).ok_or(format!("no step `{action}`"))?;
                let request = StepRequest {
                    action,
                    by: VIEWER_NAME,
                    unit: None,
                    note,
                };
                self.session
                    .act_on_order(order, &request)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Source::Served(served) => {
                served.link.step(order, action, note);
                Ok(())
            }
        }
    }
}

/// The incidents open at `t` (UTC ms) as they were then, each with its order's state
/// and unit then: what the time slider shows (the viewer's own session only).
pub fn show_past(ui: &mut Ui, live: &Live, t: i64) {
    let at = twin_core::Timestamp::from_millis(t);
    let s = &live.session;
    let past = s.incidents().open_at(at);
    ui.heading(format!(
        "Incidents at {} ({} open)",
        crate::ui::clock_cst(at),
        past.len()
    ));
    for i in past.iter().take(LISTED) {
        let v = twin_core::session::views::incident_at_json(s, i, at);
        let order = match (v["at"]["order_state"].as_str(), v["at"]["unit"].as_str()) {
            (Some(state), Some(unit)) => format!("{state} → {unit}"),
            (Some(state), None) => state.to_string(),
            _ => "no order".into(),
        };
        let label = format!(
            "#{} {} {} · {} · {}",
            i.id,
            i.family,
            i.severity.as_str(),
            text(&v["at"]["state"]),
            order
        );
        ui.label(egui::RichText::new(label).color(severity_color(i.severity.as_str())));
    }
}

/// What the panel keeps between frames.
#[derive(Default)]
pub struct IncidentsPanel {
    /// The selected incident.
    pub selected: Option<u64>,
    /// Its detail, and the incident JSON it was taken for (asked again on change).
    detail: Option<Value>,
    detail_for: Option<Value>,
    /// The note typed for the next step.
    note: String,
    /// The last refusal.
    message: Option<String>,
    /// Fly to the footprint once its detail is in.
    fly_pending: bool,
    /// The incident (as listed) whose detail was asked of the server, and when: asked
    /// again when it changes (at most once per stream tick) or after [`ASK_AGAIN`].
    asked: Option<(Value, std::time::Instant)>,
    /// The selected incident has been in the list (until then a selection made at
    /// start waits for it instead of being dropped).
    seen: bool,
}

/// How long an unanswered detail request waits before it is sent again.
const ASK_AGAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a detail describes the incident as it is now (the same assets, alerts and
/// state).
fn fresh(detail: &Value, inc: &Value) -> bool {
    ["assets", "alerts", "state"]
        .iter()
        .all(|k| detail[*k] == inc[*k])
}

fn severity_color(s: &str) -> Color32 {
    match s {
        "critical" => Color32::from_rgb(224, 60, 49),
        "warning" => Color32::from_rgb(240, 160, 40),
        _ => Color32::from_rgb(80, 160, 230),
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

impl IncidentsPanel {
    /// Selects an incident; its footprint is framed once its detail is in.
    pub fn select(&mut self, id: u64) {
        *self = IncidentsPanel {
            selected: Some(id),
            fly_pending: true,
            ..Default::default()
        };
    }

    /// The panel: the list, then the selected incident and its order.
    pub fn show(&mut self, ui: &mut Ui, live: &mut Live, view: &mut TwinView) {
        let incidents = live.incidents();
        let orders = live.orders();
        let overdue = orders.values().filter(|o| o["overdue"] == true).count();
        ui.heading(format!(
            "Incidents ({} open, {} orders, {overdue} overdue)",
            incidents.len(),
            orders.len()
        ));
        let mut clicked = None;
        for i in incidents.iter().take(LISTED) {
            let id = i["id"].as_u64().unwrap_or(0);
            let order = i["order"].as_u64().and_then(|o| orders.get(&o));
            let state = order.map_or("no order".to_string(), |o| {
                let unit = o["unit"]["id"].as_str().unwrap_or("-");
                let late = if o["overdue"] == true { " OVERDUE" } else { "" };
                format!("{} → {unit}{late}", text(&o["state"]))
            });
            let towns: Vec<String> = i["towns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let t = t.as_str().unwrap_or("");
                    live.twin()
                        .get_by_id(t)
                        .and_then(|a| a.name_zh.clone().or_else(|| a.name_en.clone()))
                        .unwrap_or_else(|| t.to_string())
                })
                .collect();
            let label = format!(
                "#{id} {} {} in {} · {}/{} alerts · {}",
                text(&i["family"]),
                text(&i["severity"]),
                towns.join(", "),
                i["open_alerts"],
                i["alerts"],
                state
            );
            let color = severity_color(i["severity"].as_str().unwrap_or(""));
            let rich = egui::RichText::new(label).color(color);
            if ui
                .selectable_label(self.selected == Some(id), rich)
                .clicked()
            {
                clicked = Some(id);
            }
        }
        if let Some(id) = clicked {
            if self.selected == Some(id) {
                self.selected = None;
            } else {
                self.selected = Some(id);
                self.fly_pending = true;
            }
            self.detail = None;
            self.detail_for = None;
            self.message = None;
        }
        let Some(id) = self.selected else { return };
        let Some(inc) = incidents.iter().find(|i| i["id"] == id).cloned() else {
            // Closed: it leaves the panel and the map (one chosen at start, not there
            // yet, is waited for).
            if self.seen {
                self.selected = None;
                self.detail = None;
            }
            return;
        };
        self.seen = true;
        // The detail again when the incident changed (new alerts, a new state): one
        // request at a time to a server, again only if unanswered for a while.
        if self.detail_for.as_ref() != Some(&inc) {
            match live.incident_detail(id) {
                Some(d) if fresh(&d, &inc) => {
                    self.detail = Some(d);
                    self.detail_for = Some(inc.clone());
                    self.asked = None;
                }
                older => {
                    if self.detail.is_none() {
                        self.detail = older;
                    }
                    let due = self
                        .asked
                        .as_ref()
                        .is_none_or(|(a, at)| *a != inc || at.elapsed() >= ASK_AGAIN);
                    if due {
                        live.request_incident(id);
                        self.asked = Some((inc.clone(), std::time::Instant::now()));
                    }
                }
            }
        }
        if self.fly_pending
            && let Some((lo, hi)) = self.footprint_box(live)
        {
            let (w, h) = view.size();
            let (lo, hi) = widen((lo, hi), 120.0);
            view.camera.fit(lo, hi, w as f32 / h.max(1) as f32);
            self.fly_pending = false;
        }
        ui.separator();
        if let Some(d) = &self.detail {
            let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
            for a in d["affected"].as_array().into_iter().flatten() {
                *by_kind.entry(text(&a["kind"])).or_default() += a["count"].as_u64().unwrap_or(0);
            }
            let list: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
            ui.label(format!("Affected: {}", list.join(", ")));
        }
        let Some(order) = inc["order"].as_u64().and_then(|o| orders.get(&o)) else {
            ui.label("No order.");
            return;
        };
        ui.label(format!(
            "Order #{} · {} · {}",
            order["id"],
            text(&order["state"]),
            text(&order["unit"]["name"])
        ));
        for step in order["checklist"].as_array().into_iter().flatten() {
            let done = step[1] == true;
            ui.label(format!(
                "{} {}",
                if done { "☑" } else { "☐" },
                text(&step[0])
            ));
        }
        for r in order["resources"].as_array().into_iter().flatten() {
            ui.label(format!(
                "resource: {} {} ({:.1} km)",
                text(&r["id"]),
                r["name"].as_str().unwrap_or(""),
                r["distance_m"].as_f64().unwrap_or(0.0) / 1000.0
            ));
        }
        for t in order["history"].as_array().into_iter().flatten() {
            let at = twin_core::Timestamp::from_millis(t["at"].as_i64().unwrap_or(0));
            ui.label(format!(
                "{} {} by {}: {} → {}",
                crate::ui::clock_cst(at),
                text(&t["action"]),
                text(&t["by"]),
                text(&t["from"]),
                text(&t["to"])
            ));
        }
        let role = live.role();
        let rank = |r: &str| match r {
            "admin" => 2,
            "operator" => 1,
            _ => 0,
        };
        let steps: Vec<String> = order["next"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| rank(&role) >= rank(n["role"].as_str().unwrap_or("admin")))
            .filter(|n| !matches!(n["action"].as_str(), Some("dispatch" | "reassign")))
            .map(|n| text(&n["action"]))
            .collect();
        if steps.is_empty() {
            ui.label(format!("No step for a {role} here."));
        } else {
            ui.horizontal(|ui| {
                ui.label("note");
                ui.text_edit_singleline(&mut self.note);
            });
            let mut take = None;
            ui.horizontal_wrapped(|ui| {
                for s in &steps {
                    if ui.button(s).clicked() {
                        take = Some(s.clone());
                    }
                }
            });
            if let (Some(action), Some(oid)) = (take, order["id"].as_u64()) {
                match live.step_order(oid, &action, &self.note) {
                    Ok(()) => {
                        self.note.clear();
                        self.message = None;
                    }
                    Err(e) => self.message = Some(e),
                }
            }
        }
        if let Some(m) = &self.message {
            ui.colored_label(Color32::from_rgb(224, 60, 49), m);
        }
    }

    /// The selected incident's footprint box in the local frame.
    fn footprint_box(&self, live: &Live) -> Option<([f32; 3], [f32; 3])> {
        let ring = self.ring(live)?;
        let mut lo = [f32::INFINITY, f32::INFINITY, 0.0];
        let mut hi = [f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0];
        for [x, y] in ring {
            lo[0] = lo[0].min(x);
            lo[1] = lo[1].min(y);
            hi[0] = hi[0].max(x);
            hi[1] = hi[1].max(y);
        }
        lo[0].is_finite().then_some((lo, hi))
    }

    /// The footprint's ring in the local frame (east, north metres).
    fn ring(&self, live: &Live) -> Option<Vec<[f32; 2]>> {
        let d = self.detail.as_ref()?;
        let frame = live.twin().frame();
        let ring: Vec<[f32; 2]> = d["footprint"]["coordinates"][0]
            .as_array()?
            .iter()
            .filter_map(|c| {
                let (e, n) = frame.to_local(c[0].as_f64()?, c[1].as_f64()?);
                Some([e as f32, n as f32])
            })
            .collect();
        (ring.len() >= 3).then_some(ring)
    }

    /// Draws the selected incident's footprint over the map (`to_screen`: local
    /// point to a screen position, `None` behind the camera).
    pub fn draw(
        &self,
        painter: &egui::Painter,
        live: &Live,
        past: bool,
        to_screen: impl Fn([f32; 3]) -> Option<Pos2>,
    ) {
        if past {
            return;
        }
        let Some(ring) = self.ring(live) else { return };
        let Some(pts) = ring
            .iter()
            .map(|[x, y]| to_screen([*x, *y, 0.0]))
            .collect::<Option<Vec<Pos2>>>()
        else {
            return;
        };
        let sev = self
            .detail
            .as_ref()
            .and_then(|d| d["severity"].as_str())
            .unwrap_or("");
        let c = severity_color(sev);
        let fill = Color32::from_rgba_unmultiplied(c.r(), c.g(), c.b(), 46);
        painter.add(egui::Shape::convex_polygon(pts, fill, Stroke::new(2.5, c)));
    }
}
