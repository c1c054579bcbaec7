//! The viewer's tools: search by id or name, measuring a distance and an area, and the
//! time slider that replays history.

use bevy_egui::egui::{self, Ui};
use geo_types::{Coord, Geometry, LineString, Polygon};
use twin_core::{Handle, Twin};

use crate::live::Live;

/// Assets whose id or name contains `query` (case-insensitive), exact id first.
pub fn search(twin: &Twin, query: &str, limit: usize) -> Vec<Handle> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Handle> = twin.handle(query.trim()).into_iter().collect();
    for (h, a) in twin.iter() {
        if out.len() >= limit {
            break;
        }
        let hit = a.id.to_lowercase().contains(&q)
            || a.name_zh
                .as_deref()
                .is_some_and(|n| n.contains(query.trim()))
            || a.name_en
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(&q));
        if hit && !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// Points clicked on the ground (WGS84), their path length and enclosed area.
#[derive(Default)]
pub struct Measure {
    /// Clicks add points instead of selecting.
    pub active: bool,
    /// The points, longitude and latitude.
    pub points: Vec<[f64; 2]>,
}

impl Measure {
    /// Geodesic length of the path through the points (m).
    pub fn length_m(&self) -> f64 {
        if self.points.len() < 2 {
            return 0.0;
        }
        let line = LineString::from(self.points.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
        twin_core::measure::geodesic_length(&Geometry::LineString(line))
    }

    /// Geodesic area of the polygon the points enclose (m²), with three or more points.
    pub fn area_m2(&self) -> f64 {
        if self.points.len() < 3 {
            return 0.0;
        }
        let mut ring: Vec<Coord<f64>> = self
            .points
            .iter()
            .map(|p| Coord { x: p[0], y: p[1] })
            .collect();
        ring.push(ring[0]);
        twin_core::measure::geodesic_area(&Geometry::Polygon(Polygon::new(
            LineString(ring),
            vec![],
        )))
    }

    /// The tool's controls and readings.
    pub fn panel(&mut self, ui: &mut Ui) {
        ui.checkbox(&mut self.active, "click the map to add points");
        ui.label(format!("{} points", self.points.len()));
        ui.label(format!("distance {:.1} m", self.length_m()));
        let a = self.area_m2();
        ui.label(format!("area {:.0} m² ({:.3} km²)", a, a / 1e6));
        if ui.button("clear").clicked() {
            self.points.clear();
        }
    }
}

/// The time slider: live, or a past moment replayed from history.
#[derive(Default)]
pub struct TimeTravel {
    /// The moment shown, `None` for live.
    pub at: Option<i64>,
    /// Minutes back from now the slider shows (kept while live time moves on).
    back_min: f64,
    dirty: bool,
    back_to_live: bool,
}

impl TimeTravel {
    /// Draws the slider; moving it off "live" replays history.
    pub fn slider(&mut self, ui: &mut Ui, live: &Live) {
        let mut is_live = self.at.is_none();
        if ui.checkbox(&mut is_live, "live").changed() {
            if is_live {
                self.at = None;
                self.back_to_live = true;
            } else {
                self.back_min = self.back_min.max(5.0);
                self.at = Some(live.now_ms() - (self.back_min * 60_000.0) as i64);
                self.dirty = true;
            }
        }
        let resp = ui.add(egui::Slider::new(&mut self.back_min, 0.0..=120.0).text("minutes ago"));
        if resp.changed() {
            self.at = Some(live.now_ms() - (self.back_min * 60_000.0) as i64);
            self.dirty = true;
        }
        if let Some(t) = self.at {
            ui.label(format!(
                "showing {}",
                crate::ui::clock_cst(twin_core::Timestamp::from_millis(t))
            ));
        }
    }

    /// Colours to show for the chosen past moment, once after each change.
    pub fn take_colors(&mut self, live: &Live) -> Option<Vec<twin_core::state::Rgba>> {
        let t = self.at?;
        if !std::mem::take(&mut self.dirty) {
            return None;
        }
        Some(live.colors_at(t))
    }

    /// True once after the slider returned to live.
    pub fn take_back_to_live(&mut self) -> bool {
        std::mem::take(&mut self.back_to_live)
    }
}
