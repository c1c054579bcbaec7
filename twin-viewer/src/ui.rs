//! The viewer's screen: the map in the middle, layers, search and measuring on the
//! left, the inspector, the incidents with their work orders ([`crate::incidents`])
//! and the alert list on the right, the town vital signs and the
//! time slider at the bottom. All through egui (bevy_egui).

use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, LayerId, Pos2, Sense, Stroke, Ui, UiBuilder};
use bevy_egui::{EguiContexts, EguiTextureHandle};
use twin_core::state::Rgba;
use twin_core::state::alert::AlertEvent;
use twin_core::state::alert::Severity;
use twin_core::{Handle as AssetHandle, Timestamp, Twin};
use twin_render::LayerKind;
use twin_render::scene::{asset_bounds, widen};

use crate::TwinView;
use crate::live::Live;
use crate::tools::{Measure, TimeTravel, search};

/// Everything the viewer keeps between frames.
#[derive(Resource)]
pub struct Viewer {
    /// The running twin.
    pub live: Live,
    query: String,
    results: Vec<AssetHandle>,
    measure: Measure,
    travel: TimeTravel,
    texture: Option<(AssetId<Image>, egui::TextureId)>,
    drag_total: f32,
    fps: f32,
    /// The incidents panel.
    pub incidents: crate::incidents::IncidentsPanel,
}

impl Viewer {
    /// A viewer of a live twin.
    pub fn new(live: Live) -> Viewer {
        Viewer {
            live,
            query: String::new(),
            results: Vec::new(),
            measure: Measure::default(),
            travel: TimeTravel::default(),
            texture: None,
            drag_total: 0.0,
            fps: 0.0,
            incidents: Default::default(),
        }
    }

    /// Selects an asset by id and flies to it; false when there is no such asset.
    pub fn select_by_id(&mut self, id: &str, view: &mut TwinView) -> bool {
        match self.live.twin().handle(id) {
            Some(h) => {
                fly_to(self.live.twin(), h, view);
                view.selected = Some(h);
                true
            }
            None => false,
        }
    }
}

/// Points the camera at an asset, keeping heading and tilt.
pub fn fly_to(twin: &Twin, h: AssetHandle, view: &mut TwinView) {
    if let Some(b) = asset_bounds(twin, h) {
        // Small assets get a neighbourhood around them; an element of a building
        // model (a room, a door) its building.
        let margin = if twin.part_of(h).is_some() {
            15.0
        } else {
            120.0
        };
        let (lo, hi) = widen(b, margin);
        let (w, h) = view.size();
        view.camera.fit(lo, hi, w as f32 / h.max(1) as f32);
    }
}

/// Update: simulated time advances, colours go to the renderer.
pub fn simulate(time: Res<Time<Real>>, mut viewer: ResMut<Viewer>, view: Option<ResMut<TwinView>>) {
    let Some(mut view) = view else { return };
    let dt = time.delta_secs_f64();
    let v = &mut *viewer;
    v.fps = if dt > 0.0 {
        0.9 * v.fps + 0.1 * (1.0 / dt) as f32
    } else {
        v.fps
    };
    v.live.advance(dt, view.selected);
    let ranges = v.live.refresh_colors();
    if v.travel.at.is_none() {
        if v.travel.take_back_to_live() {
            let all = 0..v.live.colors.len() as u32;
            view.update_state(&v.live.colors, std::slice::from_ref(&all));
        } else {
            view.update_state(&v.live.colors, &ranges);
        }
    } else if let Some(colors) = v.travel.take_colors(&v.live) {
        let all = 0..colors.len() as u32;
        view.update_state(&colors, std::slice::from_ref(&all));
    }
    // A pick answered: select it (or measure there).
    if let Some(picked) = view.take_pick() {
        view.selected = picked;
    }
}

/// EguiPrimaryContextPass: the whole screen.
pub fn draw_ui(
    mut contexts: EguiContexts,
    mut viewer: ResMut<Viewer>,
    view: Option<ResMut<TwinView>>,
    mut images: ResMut<Assets<Image>>,
) -> Result {
    let Some(mut view) = view else { return Ok(()) };
    let v = &mut *viewer;
    // The map's image as an egui texture (a new one after a resize).
    let id = view.image.id();
    if v.texture.is_none_or(|(img, _)| img != id) {
        if let Some((old, _)) = v.texture.take() {
            contexts.remove_image(old);
        }
        let tex = contexts.add_image(EguiTextureHandle::Strong(view.image.clone()));
        v.texture = Some((id, tex));
    }
    let ctx = contexts.ctx_mut()?.clone();
    let mut root = Ui::new(
        ctx.clone(),
        "twin-root".into(),
        UiBuilder::new()
            .layer_id(LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    egui::Panel::top("status").show(&mut root, |ui| status_bar(ui, v, &view));
    egui::Panel::left("tools")
        .default_size(230.0)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| left_panel(ui, v, &mut view));
        });
    egui::Panel::right("inspector")
        .default_size(330.0)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| right_panel(ui, v, &mut view));
        });
    egui::Panel::bottom("vitals")
        .default_size(260.0)
        .resizable(true)
        .show(&mut root, |ui| {
            bottom_panel(ui, v);
        });
    egui::CentralPanel::default()
        .frame(egui::Frame::NONE)
        .show(&mut root, |ui| {
            map(ui, v, &mut view, &mut images);
        });
    Ok(())
}

fn status_bar(ui: &mut Ui, v: &mut Viewer, view: &TwinView) {
    ui.horizontal(|ui| {
        ui.strong("twin · 崇明 长兴 横沙");
        ui.separator();
        ui.label(format!(
            "{} (UTC+8)",
            clock_cst(twin_core::Timestamp::from_millis(v.live.now_ms()))
        ));
        ui.separator();
        match v.live.link() {
            None => {
                ui.label("speed");
                ui.add(
                    egui::Slider::new(&mut v.live.speed, 1.0..=120.0)
                        .logarithmic(true)
                        .suffix("×"),
                );
                ui.checkbox(&mut v.live.paused, "pause");
            }
            Some(link) => link_status(ui, link),
        }
        ui.separator();
        let (frame, stats) = view.stats();
        let applied = if v.live.link().is_some() {
            "values received"
        } else {
            "samples"
        };
        ui.label(format!(
            "{} assets · {} {applied} · {:.0} fps · {} draw calls · {} state uploads",
            v.live.twin().len(),
            v.live.applied,
            v.fps,
            frame.draw_calls,
            stats.state_uploads
        ));
        if let Some(e) = view.error() {
            ui.colored_label(Color32::RED, e);
        }
    });
}

/// The served twin's link in the status bar: where, as whom, how it stands.
fn link_status(ui: &mut Ui, link: &crate::remote::Link) {
    use crate::remote::LinkState;
    let who = link.caller().unwrap_or_default();
    match &link.state {
        LinkState::Connecting => {
            ui.label(format!("connecting to {}", link.url));
        }
        LinkState::Live => {
            ui.colored_label(
                Color32::from_rgb(120, 220, 120),
                format!(
                    "served by {} as {who} · {:.0} samples/s there",
                    link.url, link.samples_per_s
                ),
            );
        }
        LinkState::Lost(why) => {
            ui.colored_label(
                Color32::from_rgb(240, 170, 40),
                format!("{}: {why}", link.url),
            );
        }
        LinkState::Refused(why) => {
            ui.colored_label(Color32::RED, format!("{}: {why}", link.url));
        }
    }
    if let Some(e) = &link.last_error {
        ui.colored_label(Color32::from_rgb(240, 170, 40), format!("server: {e}"));
    }
}

fn left_panel(ui: &mut Ui, v: &mut Viewer, view: &mut TwinView) {
    ui.heading("Layers");
    for l in LayerKind::ALL {
        let mut on = view.layer_visible(l);
        if ui.checkbox(&mut on, l.as_str()).changed() {
            view.set_layer_visible(l, on);
        }
    }
    ui.separator();
    ui.heading("Search");
    if ui.text_edit_singleline(&mut v.query).changed() {
        v.results = search(v.live.twin(), &v.query, 30);
    }
    let mut chosen = None;
    for &h in &v.results {
        if let Some(a) = v.live.twin().get(h) {
            let label = format!(
                "{} {}",
                a.id,
                a.name_zh.as_deref().or(a.name_en.as_deref()).unwrap_or("")
            );
            if ui
                .selectable_label(view.selected == Some(h), label)
                .clicked()
            {
                chosen = Some(h);
            }
        }
    }
    if let Some(h) = chosen {
        view.selected = Some(h);
        fly_to(v.live.twin(), h, view);
    }
    ui.separator();
    ui.heading("Measure");
    v.measure.panel(ui);
}

fn right_panel(ui: &mut Ui, v: &mut Viewer, view: &mut TwinView) {
    ui.heading("Inspector");
    match view
        .selected
        .and_then(|h| v.live.twin().get(h).map(|a| (h, a)))
    {
        None => {
            ui.label("Click an asset on the map.");
        }
        Some((h, a)) => {
            let twin = v.live.twin();
            egui::Grid::new("asset")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    let mut row = |k: &str, val: String| {
                        ui.label(k);
                        ui.label(val);
                        ui.end_row();
                    };
                    row("id", a.id.clone());
                    row("kind", a.kind.to_string());
                    if let Some(n) = &a.name_zh {
                        row("名称", n.clone());
                    }
                    if let Some(n) = &a.name_en {
                        row("name", n.clone());
                    }
                    let town = twin
                        .located_in(h)
                        .and_then(|t| twin.get(t))
                        .map(town_name)
                        .unwrap_or_default();
                    row("town", town);
                    if a.vertical.height > 0.0 {
                        row("height", format!("{:.1} m", a.vertical.height));
                    }
                    if let Some(host) = twin.attached_to(h).and_then(|t| twin.get(t)) {
                        row("attached to", host.id.clone());
                    }
                    // A model's element: the storey or building it is part of.
                    if let Some(whole) = twin.part_of(h).and_then(|t| twin.get(t)) {
                        let name = whole.name_en.as_deref().unwrap_or_default();
                        row("part of", format!("{} {name}", whole.id));
                    }
                    // What rolls up here: a room's, storey's, building's or town's
                    // open alerts, its own and those of its parts' sensors.
                    if !matches!(a.kind, twin_core::AssetKind::Sensor(_)) {
                        let within = alerts_within(twin, &v.live.open_alerts(), h);
                        if !within.is_empty() {
                            row("open alerts", within);
                        }
                    }
                });
            let values = v.live.values_of(h);
            if !values.is_empty() {
                ui.separator();
                ui.strong("Live values");
                egui::Grid::new("values").num_columns(3).show(ui, |ui| {
                    for (name, val, ts) in &values {
                        ui.label(name);
                        ui.label(val);
                        ui.label(clock_cst(*ts));
                        ui.end_row();
                    }
                });
            }
            if let Some((name, pts)) = v.live.recent(h, 15 * 60_000) {
                ui.label(format!("{name}, last 15 minutes"));
                chart(ui, &pts);
            }
            // Properties after the live values: a model's room has dozens (its
            // property sets), open by default only when they are few.
            let n = a.properties.iter().count();
            if n > 0 {
                egui::CollapsingHeader::new(format!("Properties ({n})"))
                    .default_open(n <= 12)
                    .show(ui, |ui| {
                        egui::Grid::new("properties")
                            .num_columns(2)
                            .striped(true)
                            .show(ui, |ui| {
                                for (k, p) in a.properties.iter() {
                                    ui.label(k);
                                    ui.label(p.to_string());
                                    ui.end_row();
                                }
                            });
                    });
            }
            if ui.button("fly to").clicked() {
                fly_to(twin, h, view);
            }
        }
    }
    ui.separator();
    let Viewer {
        incidents,
        live,
        travel,
        ..
    } = v;
    match travel.at {
        // Back in time: what was open then, as it was (read-only).
        Some(t) => crate::incidents::show_past(ui, live, t),
        None => incidents.show(ui, live, view),
    }
    ui.separator();
    alerts(ui, v, view);
}

/// The open alerts that roll up to `whole` ([`twin_core::Twin::rolls_up_to`]), as
/// "3: co2-high ×2, pm25-high"; empty when there are none. By asset id: an alert of
/// a served twin carries the server's handles.
fn alerts_within(
    twin: &twin_core::Twin,
    open: &[twin_core::state::alert::Alert],
    whole: twin_core::Handle,
) -> String {
    let mut rules: std::collections::BTreeMap<&str, usize> = Default::default();
    for a in open {
        if a.rolls_up_to(twin, whole) {
            *rules.entry(a.rule.as_str()).or_default() += 1;
        }
    }
    let n: usize = rules.values().sum();
    if n == 0 {
        return String::new();
    }
    let list: Vec<String> = rules
        .iter()
        .map(|(r, k)| {
            if *k > 1 {
                format!("{r} ×{k}")
            } else {
                r.to_string()
            }
        })
        .collect();
    format!("{n}: {}", list.join(", "))
}

fn alerts(ui: &mut Ui, v: &mut Viewer, view: &mut TwinView) {
    let open = v.live.open_alerts();
    ui.heading(format!("Alerts ({} open)", open.len()));
    let mut go = None;
    let mut ack = None;
    let can_ack = v.live.can_acknowledge();
    for a in open.iter().take(60) {
        let color = severity_color(a.severity);
        let town = a
            .town
            .and_then(|t| v.live.twin().get(t))
            .map(town_name)
            .unwrap_or_default();
        let text = format!(
            "{} {} {} {} = {:.2}",
            clock_cst(twin_core::Timestamp::from_millis(a.raised_at.as_millis())),
            a.rule,
            a.asset_id,
            town,
            a.value
        );
        ui.horizontal(|ui| {
            if a.state == twin_core::state::alert::AlertState::Raised && can_ack {
                if ui.small_button("ack").clicked() {
                    ack = Some(a.id);
                }
            } else if a.state == twin_core::state::alert::AlertState::Acknowledged {
                ui.label("✔");
            }
            if ui
                .add(egui::Button::new(egui::RichText::new(text).color(color)).frame(false))
                .clicked()
            {
                go = Some(a.asset);
            }
        });
    }
    if let Some(id) = ack {
        v.live.acknowledge(id);
    }
    if let Some(h) = go {
        view.selected = Some(h);
        fly_to(v.live.twin(), h, view);
    }
    let cleared = v
        .live
        .events
        .iter()
        .rev()
        .filter(|e| matches!(e, AlertEvent::Cleared(_)))
        .count();
    ui.label(format!("{cleared} cleared recently"));
}

fn bottom_panel(ui: &mut Ui, v: &mut Viewer) {
    ui.horizontal(|ui| {
        ui.heading("Town vital signs");
        ui.separator();
        if v.live.can_travel() {
            v.travel.slider(ui, &v.live);
        } else {
            ui.label("live from the server (its history: GET /api/v1/vitals?at=…)");
        }
    });
    let rows = match v.travel.at {
        Some(t) => v.live.session.vital_signs_at(Timestamp::from_millis(t)),
        None => v.live.vital_signs(),
    };
    let ch = v.live.channels;
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("vitals")
            .striped(true)
            .num_columns(9)
            .show(ui, |ui| {
                for h in [
                    "town",
                    "sensors",
                    "online",
                    "offline",
                    "water level max (m)",
                    "PM2.5 mean",
                    "noise mean",
                    "energy mean",
                    "alerts c/w/i",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &rows {
                    let stat = |id, max: bool| {
                        r.channels
                            .get(&id)
                            .map(|s| format!("{:.2}", if max { s.max } else { s.mean }))
                            .unwrap_or_else(|| "–".into())
                    };
                    if r.island {
                        ui.strong(&r.name)
                    } else {
                        ui.label(&r.name)
                    };
                    ui.label(r.sensors.to_string());
                    ui.label(r.online.to_string());
                    ui.label(r.offline().to_string());
                    ui.label(stat(ch.level, true));
                    ui.label(stat(ch.pm25, false));
                    ui.label(stat(ch.noise, false));
                    ui.label(stat(ch.energy, false));
                    ui.label(format!("{}/{}/{}", r.alerts[2], r.alerts[1], r.alerts[0]));
                    ui.end_row();
                }
            });
    });
}

/// The map: the twin's image, camera controls, picking, measuring.
fn map(ui: &mut Ui, v: &mut Viewer, view: &mut TwinView, images: &mut Assets<Image>) {
    let avail = ui.available_size();
    let ppp = ui.ctx().pixels_per_point();
    let (w, h) = (
        (avail.x * ppp).round().max(1.0) as u32,
        (avail.y * ppp).round().max(1.0) as u32,
    );
    view.resize(images, w, h);
    let Some((_, tex)) = v.texture else { return };
    let resp = ui.add(
        egui::Image::new(egui::load::SizedTexture::new(tex, avail)).sense(Sense::click_and_drag()),
    );
    let rect = resp.rect;
    if resp.drag_started() {
        v.drag_total = 0.0;
    }
    let d = resp.drag_delta();
    v.drag_total += d.length();
    if resp.dragged_by(egui::PointerButton::Primary) {
        view.camera.pan(d.x * ppp, d.y * ppp, h as f32);
    } else if resp.dragged_by(egui::PointerButton::Secondary) {
        view.camera.orbit(d.x * 0.01, d.y * 0.005);
    }
    if resp.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            view.camera.zoom((scroll * 0.004).exp());
        }
    }
    if resp.clicked()
        && let Some(p) = resp.interact_pointer_pos()
    {
        let (x, y) = ((p.x - rect.min.x) * ppp, (p.y - rect.min.y) * ppp);
        if v.measure.active {
            if let Some(g) = view.camera.ground_point(x, y, w, h, 0.0) {
                let (lon, lat) = v
                    .live
                    .twin()
                    .frame()
                    .to_geographic(g[0] as f64, g[1] as f64);
                v.measure.points.push([lon, lat]);
            }
        } else {
            view.request_pick(x as u32, y as u32);
        }
    }
    // Measured points drawn over the map.
    let painter = ui.painter_at(rect);
    let frame = *v.live.twin().frame();
    let pts: Vec<Pos2> = v
        .measure
        .points
        .iter()
        .filter_map(|p| {
            let (e, n) = frame.to_local(p[0], p[1]);
            view.camera.project([e as f32, n as f32, 0.0], w, h)
        })
        .map(|q| Pos2::new(rect.min.x + q[0] / ppp, rect.min.y + q[1] / ppp))
        .collect();
    if pts.len() > 1 {
        painter.add(egui::Shape::line(
            pts.clone(),
            Stroke::new(2.0, Color32::from_rgb(230, 0, 160)),
        ));
    }
    for p in pts {
        painter.circle_filled(p, 4.0, Color32::from_rgb(230, 0, 160));
    }
    // The selected incident's footprint (live only: the slider shows the past).
    let past = v.travel.at.is_some();
    v.incidents.draw(&painter, &v.live, past, |p| {
        view.camera
            .project(p, w, h)
            .map(|q| Pos2::new(rect.min.x + q[0] / ppp, rect.min.y + q[1] / ppp))
    });
}

/// A line chart of (time, value) points filling the panel's width.
fn chart(ui: &mut Ui, pts: &[(Timestamp, f64)]) {
    let (resp, painter) =
        ui.allocate_painter(egui::vec2(ui.available_width(), 90.0), Sense::hover());
    let r = resp.rect;
    painter.rect_filled(r, 2.0, Color32::from_gray(28));
    if pts.len() < 2 {
        return;
    }
    let t0 = pts[0].0.as_millis();
    let t1 = pts[pts.len() - 1].0.as_millis().max(t0 + 1);
    let (mut lo, mut hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.1), h.max(p.1))
        });
    if hi - lo < 1e-9 {
        lo -= 1.0;
        hi += 1.0;
    }
    let line: Vec<Pos2> = pts
        .iter()
        .map(|&(t, y)| {
            let x = r.min.x + (t.as_millis() - t0) as f32 / (t1 - t0) as f32 * r.width();
            let y = r.max.y - ((y - lo) / (hi - lo)) as f32 * (r.height() - 12.0) - 6.0;
            Pos2::new(x, y)
        })
        .collect();
    painter.add(egui::Shape::line(
        line,
        Stroke::new(1.5, Color32::from_rgb(90, 170, 255)),
    ));
    painter.text(
        r.left_top(),
        egui::Align2::LEFT_TOP,
        format!("{hi:.2}"),
        egui::FontId::monospace(10.0),
        Color32::GRAY,
    );
    painter.text(
        r.left_bottom(),
        egui::Align2::LEFT_BOTTOM,
        format!("{lo:.2}"),
        egui::FontId::monospace(10.0),
        Color32::GRAY,
    );
}

fn severity_color(s: Severity) -> Color32 {
    match s {
        Severity::Critical => Color32::from_rgb(240, 70, 70),
        Severity::Warning => Color32::from_rgb(240, 170, 40),
        Severity::Info => Color32::from_rgb(140, 180, 240),
    }
}

fn town_name(a: &twin_core::Asset) -> String {
    a.name_zh
        .clone()
        .or_else(|| a.name_en.clone())
        .unwrap_or_else(|| a.id.clone())
}

/// UTC ms as China Standard Time, `HH:MM:SS`.
pub fn clock_cst(t: Timestamp) -> String {
    let s = (t.as_millis().div_euclid(1000) + 8 * 3600).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The colour an overlay gives `Rgba`, for legends.
pub fn color32(c: Rgba) -> Color32 {
    Color32::from_rgba_unmultiplied(c.0[0], c.0[1], c.0[2], c.0[3])
}

/// Fonts that cover Chinese town and asset names, tried in order (`TWIN_CJK_FONT`
/// first). egui's own fonts have no CJK glyphs.
const CJK_FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// Once: adds a CJK font as egui's fallback when one is installed
/// (`apt-get install fonts-wqy-microhei`); without one, Chinese names show as boxes.
pub fn setup_fonts(mut contexts: EguiContexts, mut done: Local<bool>) -> Result {
    if *done {
        return Ok(());
    }
    *done = true;
    let from_env = std::env::var("TWIN_CJK_FONT").ok();
    let paths = from_env.iter().map(String::as_str).chain(CJK_FONTS);
    let Some(bytes) = paths.filter_map(|p| std::fs::read(p).ok()).next() else {
        warn!("no CJK font found (install fonts-wqy-microhei or set TWIN_CJK_FONT)");
        return Ok(());
    };
    let families = [egui::FontFamily::Proportional, egui::FontFamily::Monospace]
        .into_iter()
        .map(|family| egui::epaint::text::InsertFontFamily {
            family,
            priority: egui::epaint::text::FontPriority::Lowest,
        })
        .collect();
    contexts
        .ctx_mut()?
        .add_font(egui::epaint::text::FontInsert::new(
            "cjk",
            egui::FontData::from_owned(bytes),
            families,
        ));
    Ok(())
}
