//! The networks: trunk roads, street grids, county connectors, the G40 expressway with
//! its tunnel and bridge, canals, and the ferry terminals.

use geo_types::{Coord, Geometry, Point};

use super::Out;
use super::geom::{Polyline, dist};
use super::land::Land;
use super::rng::Rng;
use twin_core::crs::LocalFrame;
use twin_core::{AssetKind, ZLevel};
use twin_core::{PropValue, Vertical};

/// Street spacing of the seat grids (m).
pub(crate) const STREET_SPACING: f64 = 250.0;
/// Longest segment of a generated line (m).
const MAX_SEGMENT: f64 = 200.0;
/// Shortest kept piece of a clipped line (m).
const MIN_PIECE: f64 = 40.0;

/// A generated line asset (road or canal) kept for the later layers.
#[derive(Clone, Debug)]
pub(crate) struct LineAsset {
    /// Asset id.
    pub(crate) id: String,
    /// Geometry, local frame.
    pub(crate) line: Polyline,
    /// Half the width of the corridor no building may touch (m).
    pub(crate) halfwidth: f64,
    /// Distance farm fields keep from it (m).
    pub(crate) clearance: f64,
}

/// Roads (kind road) and canals (kind river) that other layers build on.
#[derive(Clone, Debug, Default)]
pub(crate) struct Network {
    /// Roads, in id order.
    pub(crate) roads: Vec<LineAsset>,
    /// Canals, in id order.
    pub(crate) canals: Vec<LineAsset>,
}

/// Half-extent of a seat's street grid (m): 1 km, 1.75 km or 2.5 km by weight.
pub(crate) fn grid_half_extent(weight: f64) -> f64 {
    1000.0 + 750.0 * (weight - 1.0)
}

/// One road to emit.
struct RoadSpec<'a> {
    class: &'static str,
    name_en: String,
    name_zh: Option<&'a str>,
    halfwidth: f64,
    clearance: f64,
    lanes: f64,
}

impl Network {
    fn push_road(&mut self, out: &mut Out, line: &Polyline, spec: &RoadSpec<'_>) {
        let id = format!("CM-RD-{:06}", self.roads.len() + 1);
        let line = line.densified(MAX_SEGMENT);
        let a = out.push(
            "roads",
            id.clone(),
            AssetKind::Road,
            Geometry::LineString(line.line_string()),
        );
        a.name_en = Some(spec.name_en.clone());
        a.name_zh = spec.name_zh.map(str::to_string);
        a.properties.insert("class".into(), spec.class.into());
        a.properties.insert("lanes".into(), spec.lanes.into());
        if spec.class == "expressway" {
            a.properties.insert("route".into(), "G40".into());
            a.properties
                .insert("alignment".into(), "approximate, not surveyed".into());
        }
        self.roads.push(LineAsset {
            id,
            line,
            halfwidth: spec.halfwidth,
            clearance: spec.clearance,
        });
    }

    fn push_canal(
        &mut self,
        out: &mut Out,
        line: &Polyline,
        name: &str,
        width: f64,
        clearance: f64,
    ) {
        let id = format!("CM-CNL-{:04}", self.canals.len() + 1);
        let line = line.densified(MAX_SEGMENT);
        let a = out.push(
            "canals",
            id.clone(),
            AssetKind::River,
            Geometry::LineString(line.line_string()),
        );
        a.name_en = Some(name.to_string());
        a.vertical = Vertical::flat(ZLevel::Water);
        a.properties.insert("class".into(), "canal".into());
        a.properties.insert(
            "width".into(),
            PropValue::Num((width * 10.0).round() / 10.0),
        );
        self.canals.push(LineAsset {
            id,
            line,
            halfwidth: width / 2.0 + 3.0,
            clearance: clearance.max(width / 2.0 + 10.0),
        });
    }
}

/// Builds every network layer and the ferry terminals.
pub(crate) fn build(land: &Land, frame: &LocalFrame, out: &mut Out, seed: u64) -> Network {
    let mut rng = Rng::stream(seed, "network");
    let mut net = Network::default();

    // Trunk roads along each main island.
    for island in &land.islands {
        let centre = island.centreline(0.5);
        let spec = RoadSpec {
            class: "trunk",
            name_en: format!("{} trunk road", island.name_en),
            name_zh: None,
            halfwidth: 10.0,
            clearance: 100.0,
            lanes: 4.0,
        };
        for (_, part) in land.clip_to_towns(&centre, MIN_PIECE) {
            net.push_road(out, &part, &spec);
        }
    }

    g40(land, frame, out, &mut net);

    // County connectors from each seat to its island's trunk, then the street grids.
    for (t, town) in land.towns.iter().enumerate() {
        let s = town.seat;
        let trunk_y = town
            .island
            .and_then(|i| land.islands.get(i))
            .map(|i| i.centre_y(0.5, s.x));
        let connector_dir = match trunk_y {
            Some(y) if (y - s.y).abs() > STREET_SPACING => {
                let spec = RoadSpec {
                    class: "county",
                    name_en: format!("{} connector", town.name_en),
                    name_zh: None,
                    halfwidth: 8.0,
                    clearance: 20.0,
                    lanes: 2.0,
                };
                let line = Polyline::new(vec![s, Coord { x: s.x, y }]);
                for (_, part) in land.clip_to_towns(&line, MIN_PIECE) {
                    net.push_road(out, &part, &spec);
                }
                (y - s.y).signum()
            }
            _ => 0.0,
        };
        street_grid(land, t, connector_dir, out, &mut net);
    }

    // Canals: two east–west trunk canals along the largest island, then north–south
    // canals every 3 km across each main island.
    if let Some(big) = land.islands.iter().max_by(|a, b| a.area.total_cmp(&b.area)) {
        for (f, name) in [(0.25, "South trunk canal"), (0.75, "North trunk canal")] {
            let width = rng.range(22.0, 30.0);
            let line = big.centreline(f);
            for (_, part) in land.clip_to_towns(&line, MIN_PIECE) {
                net.push_canal(out, &part, &format!("{} {name}", big.name_en), width, 100.0);
            }
        }
    }
    for island in &land.islands {
        let b = island.bbox;
        let k0 = ((b.min.x + 500.0 - 1500.0) / 3000.0).ceil() as i64;
        let k1 = ((b.max.x - 500.0 - 1500.0) / 3000.0).floor() as i64;
        for k in k0..=k1 {
            let x = 3000.0 * k as f64 + 1500.0;
            let width = rng.range(8.0, 20.0);
            let line = Polyline::new(vec![
                Coord {
                    x,
                    y: b.min.y - 100.0,
                },
                Coord {
                    x,
                    y: b.max.y + 100.0,
                },
            ]);
            let name = format!(
                "{} canal {}{}",
                island.name_en,
                if k < 0 { "W" } else { "E" },
                k.abs()
            );
            for (_, part) in land.clip_to_towns(&line, 200.0) {
                net.push_canal(out, &part, &name, width, 0.0);
            }
        }
    }

    ferries(land, frame, out);
    net
}

/// The street grid around a seat: streets every 250 m within the grid's half-extent,
/// clipped to the town's own land. `connector_dir` (±1, or 0 without a connector) is
/// the side of the seat where the county connector already runs.
fn street_grid(
    land: &Land,
    town_index: usize,
    connector_dir: f64,
    out: &mut Out,
    net: &mut Network,
) {
    let Some(town) = land.towns.get(town_index) else {
        return;
    };
    let e = grid_half_extent(town.weight);
    let s = town.seat;
    let n = (e / STREET_SPACING).floor() as i32;
    for vertical in [true, false] {
        for k in -n..=n {
            let off = f64::from(k) * STREET_SPACING;
            let (mut lo, mut hi) = (-e, e);
            if vertical && k == 0 {
                // The connector already runs from the seat towards the trunk.
                if connector_dir > 0.0 {
                    hi = 0.0;
                } else if connector_dir < 0.0 {
                    lo = 0.0;
                }
            }
            let (a, b, label) = if vertical {
                let label = match k {
                    0 => format!("{} Main Street", town.name_en),
                    k if k > 0 => format!("{} Street E{k}", town.name_en),
                    k => format!("{} Street W{}", town.name_en, -k),
                };
                (
                    Coord {
                        x: s.x + off,
                        y: s.y + lo,
                    },
                    Coord {
                        x: s.x + off,
                        y: s.y + hi,
                    },
                    label,
                )
            } else {
                let label = match k {
                    0 => format!("{} Central Road", town.name_en),
                    k if k > 0 => format!("{} Street N{k}", town.name_en),
                    k => format!("{} Street S{}", town.name_en, -k),
                };
                (
                    Coord {
                        x: s.x + lo,
                        y: s.y + off,
                    },
                    Coord {
                        x: s.x + hi,
                        y: s.y + off,
                    },
                    label,
                )
            };
            let spec = RoadSpec {
                class: "street",
                name_en: label,
                name_zh: None,
                halfwidth: 6.0,
                clearance: 15.0,
                lanes: 2.0,
            };
            let line = Polyline::new(vec![a, b]);
            for (t, part) in land.clip_to_towns(&line, MIN_PIECE) {
                if t == town_index {
                    net.push_road(out, &part, &spec);
                }
            }
        }
    }
}

/// The G40 expressway: land parts are roads, the Yangtze tunnel from Pudong and the
/// bridge from Changxing to Chongming are bridges. The alignment is approximate.
fn g40(land: &Land, frame: &LocalFrame, out: &mut Out, net: &mut Network) {
    const WAYPOINTS: [(f64, f64); 5] = [
        (121.585, 31.345),
        (121.66, 31.41),
        (121.73, 31.455),
        (121.79, 31.52),
        (121.87, 31.73),
    ];
    let full = Polyline::new(
        WAYPOINTS
            .iter()
            .map(|&(lon, lat)| {
                let (x, y) = frame.to_local(lon, lat);
                Coord { x, y }
            })
            .collect(),
    );
    // The expressway ends at the last point of town land along the alignment.
    let step = 20.0;
    let n = (full.length() / step).ceil() as usize;
    let on_land = |s: f64| land.town_at(full.at(s)).is_some();
    let last_land = (0..=n)
        .rev()
        .find(|&i| on_land((i as f64 * step).min(full.length())));
    let Some(last) = last_land else { return };
    // Refine the end to the town-land edge.
    let (mut lo, mut hi) = (
        last as f64 * step,
        ((last + 1) as f64 * step).min(full.length()),
    );
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if on_land(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let end = lo;
    let mut coords: Vec<Coord<f64>> = full
        .coords
        .iter()
        .zip(&full.cum)
        .filter(|(_, c)| **c < end)
        .map(|(p, _)| *p)
        .collect();
    coords.push(full.at(end));
    let road = Polyline::new(coords);
    if road.length() < MIN_PIECE {
        return;
    }
    let spec = RoadSpec {
        class: "expressway",
        name_en: "G40 Shanghai–Xi'an Expressway".into(),
        name_zh: Some("沪陕高速"),
        halfwidth: 18.0,
        clearance: 60.0,
        lanes: 6.0,
    };
    for (_, part) in land.clip_to_towns(&road, MIN_PIECE) {
        net.push_road(out, &part, &spec);
    }
    let start = road.coords.first().copied().unwrap_or_default();
    let mut parts = Vec::new();
    for part in land.clip_outside(&road, MIN_PIECE) {
        let tunnel = part.coords.first().is_some_and(|c| dist(*c, start) < 1.0)
            || part.coords.last().is_some_and(|c| dist(*c, start) < 1.0);
        // A gap mostly over island land in no town (not water) gets no asset.
        let samples = (part.length() / step).ceil() as usize;
        let on_island = (0..=samples)
            .filter(|k| land.on_island(part.at(*k as f64 * step)))
            .count();
        if tunnel || 2 * on_island <= samples + 1 {
            parts.push((tunnel, part));
        }
    }
    // The longest crossing that is not the tunnel is the Yangtze bridge.
    let main_bridge = parts
        .iter()
        .enumerate()
        .filter(|(_, (tunnel, _))| !tunnel)
        .max_by(|a, b| a.1.1.length().total_cmp(&b.1.1.length()))
        .map(|(i, _)| i);
    for (i, (tunnel, part)) in parts.into_iter().enumerate() {
        let line = part.densified(MAX_SEGMENT);
        let a = out.push(
            "bridges",
            format!("CM-BRG-{:04}", i + 1),
            AssetKind::Bridge,
            Geometry::LineString(line.line_string()),
        );
        a.properties.insert("route".into(), "G40".into());
        a.properties
            .insert("alignment".into(), "approximate, not surveyed".into());
        if tunnel {
            a.name_en = Some("Shanghai Yangtze River Tunnel (G40)".into());
            a.name_zh = Some("上海长江隧道".into());
            a.properties.insert("structure".into(), "tunnel".into());
            a.vertical = Vertical {
                base: -40.0,
                height: 15.0,
                z_level: ZLevel::Underground,
            };
        } else {
            if Some(i) == main_bridge {
                a.name_en = Some("Shanghai Yangtze River Bridge (G40)".into());
                a.name_zh = Some("上海长江大桥".into());
            } else {
                a.name_en = Some("G40 bridge".into());
            }
            a.properties.insert("structure".into(), "bridge".into());
            a.vertical = Vertical {
                base: 10.0,
                height: 0.0,
                z_level: ZLevel::Ground,
            };
        }
    }
}

/// Ferry terminals, snapped to the nearest shore point and moved 25 m inland.
fn ferries(land: &Land, frame: &LocalFrame, out: &mut Out) {
    const PORTS: [(&str, &str, f64, f64); 5] = [
        ("南门港", "Nanmen ferry terminal", 121.40, 31.61),
        ("堡镇港", "Baozhen ferry terminal", 121.61, 31.52),
        ("新河港", "Xinhe ferry terminal", 121.52, 31.56),
        (
            "马家港",
            "Changxing Majiagang ferry terminal",
            121.62,
            31.40,
        ),
        ("横沙港", "Hengsha ferry terminal", 121.85, 31.30),
    ];
    let mut n = 0;
    for (zh, en, lon, lat) in PORTS {
        let (x, y) = frame.to_local(lon, lat);
        let p = Coord { x, y };
        let Some(b) = land.nearest_shore(p) else {
            continue;
        };
        // Inland is away from the given point when it lies in the water, towards it
        // when it lies on land; then try the other directions.
        let d = dist(p, b);
        let sign = if land.town_at(p).is_some() { 1.0 } else { -1.0 };
        let first = if d > 1e-6 {
            ((p.y - b.y) * sign).atan2((p.x - b.x) * sign)
        } else {
            0.0
        };
        let site = (0..16).find_map(|k| {
            let a = first + f64::from(k) * std::f64::consts::TAU / 16.0;
            let q = Coord {
                x: b.x + 25.0 * a.cos(),
                y: b.y + 25.0 * a.sin(),
            };
            land.town_at(q).is_some().then_some(q)
        });
        let Some(q) = site else { continue };
        n += 1;
        let a = out.push(
            "ferries",
            format!("CM-FRY-{n:02}"),
            AssetKind::FerryTerminal,
            Geometry::Point(Point(q)),
        );
        a.name_zh = Some(zh.to_string());
        a.name_en = Some(en.to_string());
        a.properties
            .insert("snapped_from".into(), format!("{lon:.3},{lat:.3}").into());
    }
}
