//! What of a building model to leave out so that its inside shows: a horizontal
//! section at a height ([`below_section`]), or one storey with those below it and
//! none above ([`up_to_storey`], the planner's storey isolation).
//!
//! Both are filters for [`Scene::build_with`](crate::Scene::build_with): the scene
//! is rebuilt without the elements above, so the rooms of the storey show from above
//! by their floors and can be picked as drawn. A city model's buildings (CityJSON
//! shells, without an `ifc_class`) stay whole. Or nothing is left out and the
//! model's shell is drawn see-through ([`model_shell`] for
//! [`Scene::build_styled`](crate::Scene::build_styled)).

use twin_core::{Asset, Handle, Twin};

/// The IFC class twin-bim gives every element it reads.
fn ifc_class(a: &Asset) -> Option<&str> {
    a.properties.get("ifc_class").and_then(|c| c.as_str())
}

fn is_storey(a: &Asset) -> bool {
    ifc_class(a) == Some("IfcBuildingStorey")
}

fn lowest(a: &Asset) -> f64 {
    a.surfaces.as_ref().map_or(f64::INFINITY, |s| {
        s.vertices
            .iter()
            .map(|v| v[2])
            .fold(f64::INFINITY, f64::min)
    })
}

/// A building model's shell, to draw see-through (`--see-through`): every element
/// of a model but its rooms (drawn by their floors) and the spatial structure (drawn by
/// their parts), so walls, slabs, roof, doors and windows let the rooms show.
pub fn model_shell(_: Handle, a: &Asset) -> bool {
    ifc_class(a).is_some_and(|c| {
        !matches!(
            c,
            "IfcSpace" | "IfcSite" | "IfcBuilding" | "IfcBuildingStorey" | "IfcProject"
        )
    })
}

/// A horizontal section at `height` metres through building models: leaves out the 3D
/// shells (a model's elements) that start above the cut — the upper storeys, the
/// roof, the slab over the cut — and what hangs off them (an upper room's sensors),
/// so the rooms and walls of the storey below show from above, each room by its
/// floor. Pickable as drawn.
pub fn below_section(twin: &Twin, height: f64) -> impl Fn(Handle, &Asset) -> bool + use<> {
    let mut seed = vec![false; twin.handle_capacity()];
    for (h, a) in twin.iter() {
        // A shell with no vertices (a storey, a building) is drawn by its parts: kept.
        if ifc_class(a).is_some() && lowest(a).is_finite() && lowest(a) > height {
            seed[h.index()] = true;
        }
    }
    let hide = with_what_hangs_off(twin, seed);
    move |h, _| !hide.get(h.index()).copied().unwrap_or(false)
}

/// `seed` (hidden handles) grown by every asset whose wholes ([`Twin::lineage`]: what
/// it is attached to, then its `part_of` chain) include a hidden one. Each asset's
/// chain is walked once: an answer found for a whole serves all its parts.
fn with_what_hangs_off(twin: &Twin, seed: Vec<bool>) -> Vec<bool> {
    // 0: not known yet, 1: hidden, 2: shown.
    let mut state: Vec<u8> = seed.iter().map(|s| if *s { 1 } else { 0 }).collect();
    let up = |h: Handle| twin.attached_to(h).or_else(|| twin.part_of(h));
    for (h, _) in twin.iter() {
        let mut path = Vec::new();
        let mut at = Some(h);
        let mut answer = 2;
        while let Some(x) = at {
            match state.get(x.index()).copied().unwrap_or(2) {
                0 if path.len() < 32 && !path.contains(&x) => {
                    path.push(x);
                    at = up(x);
                }
                0 => break,
                known => {
                    answer = known;
                    break;
                }
            }
        }
        for x in path {
            state[x.index()] = answer;
        }
    }
    state.iter().map(|s| *s == 1).collect()
}

fn is_roof(a: &Asset) -> bool {
    match ifc_class(a) {
        Some("IfcRoof") => true,
        Some("IfcSlab") => {
            a.properties
                .get("ifc_predefined_type")
                .and_then(|t| t.as_str())
                == Some("ROOF")
        }
        _ => false,
    }
}

/// The storey `text` names: its id (IFC GlobalId), or its name or long name
/// (case-insensitive) when one storey of the twin has it. `Err` lists the storeys
/// there are, or the ids of those that share the name.
pub fn find_storey(twin: &Twin, text: &str) -> Result<Handle, String> {
    if let Some(h) = twin.handle(text) {
        if twin.get(h).is_some_and(is_storey) {
            return Ok(h);
        }
        return Err(format!("`{text}` is not a storey of a building model"));
    }
    let storeys: Vec<(Handle, &Asset)> = twin.iter().filter(|(_, a)| is_storey(a)).collect();
    let named = |a: &Asset| {
        let long = a.properties.get("ifc_long_name").and_then(|p| p.as_str());
        [a.name_en.as_deref(), a.name_zh.as_deref(), long]
            .into_iter()
            .flatten()
            .any(|n| n.eq_ignore_ascii_case(text.trim()))
    };
    let found: Vec<&(Handle, &Asset)> = storeys.iter().filter(|(_, a)| named(a)).collect();
    match found.as_slice() {
        [(h, _)] => Ok(*h),
        [] if storeys.is_empty() => Err(format!(
            "no storey `{text}`: the twin has no building model (--bim)"
        )),
        [] => {
            let list: Vec<String> = storeys
                .iter()
                .map(|(_, a)| format!("{} ({})", a.name_en.as_deref().unwrap_or("?"), a.id))
                .collect();
            Err(format!(
                "no storey `{text}`; the storeys are {}",
                list.join(", ")
            ))
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|(_, a)| a.id.as_str()).collect();
            Err(format!(
                "{} storeys are named `{text}`: give one by id ({})",
                many.len(),
                ids.join(", ")
            ))
        }
    }
}

/// Storey isolation: keeps `storey` of a building model and the storeys below it, and
/// leaves out those above — their elements, rooms and the sensors attached to their
/// rooms — with the building's elements in no storey (a roof aggregated to the
/// building) that start at or above the next storey's floor, or above the top of the
/// storey's own elements, and the storey's own roof (an IfcRoof, a ROOF slab: a top
/// storey often holds its roof), so its rooms show from above. Storeys are ordered by
/// their floors (twin-bim gives each the height its rooms start at). Other buildings
/// and everything else of the twin stay.
pub fn up_to_storey(twin: &Twin, storey: Handle) -> impl Fn(Handle, &Asset) -> bool + use<> {
    let mut seed = vec![false; twin.handle_capacity()];
    if let Some(s) = twin.get(storey) {
        let building = twin.part_of(storey);
        let floor = s.vertical.base;
        let mut next_floor = if s.vertical.height > 0.0 {
            floor + s.vertical.height
        } else {
            f64::INFINITY
        };
        for (h, a) in twin.iter() {
            if is_storey(a) && twin.part_of(h) == building && a.vertical.base > floor + 0.05 {
                seed[h.index()] = true;
                next_floor = next_floor.min(a.vertical.base);
            }
        }
        for (h, a) in twin.iter() {
            if ifc_class(a).is_none() || is_storey(a) {
                continue;
            }
            let own_roof = twin.part_of(h) == Some(storey) && is_roof(a);
            // In the building but in no storey: its part_of chain reaches the building
            // before any storey.
            let mut at = twin.part_of(h);
            let mut in_no_storey = false;
            for _ in 0..32 {
                match at {
                    Some(w) if Some(w) == building => {
                        in_no_storey = true;
                        break;
                    }
                    Some(w) if twin.get(w).is_some_and(is_storey) => break,
                    Some(w) => at = twin.part_of(w),
                    None => break,
                }
            }
            let above = in_no_storey && lowest(a).is_finite() && lowest(a) >= next_floor - 0.05;
            if own_roof || above {
                seed[h.index()] = true;
            }
        }
    }
    let hide = with_what_hangs_off(twin, seed);
    move |h, _| !hide.get(h.index()).copied().unwrap_or(false)
}

/// A filter of what to draw, for [`Scene::build_with`](crate::Scene::build_with).
pub type Keep = Box<dyn Fn(Handle, &Asset) -> bool>;

/// [`Keep`] from the command line's `--section HEIGHT` and `--storey NAME|ID`: a
/// section at that height and/or storey isolation at the storey named
/// ([`find_storey`]); both apply when both are given. `Err` says what was wrong.
pub fn keep(twin: &Twin, section: Option<f64>, storey: Option<&str>) -> Result<Keep, String> {
    let below: Option<Keep> = match section {
        Some(h) if h.is_finite() => Some(Box::new(below_section(twin, h))),
        Some(h) => return Err(format!("--section {h} is not a height")),
        None => None,
    };
    let up_to: Option<Keep> = match storey {
        Some(text) => {
            let s = find_storey(twin, text).map_err(|e| format!("--storey: {e}"))?;
            Some(Box::new(up_to_storey(twin, s)))
        }
        None => None,
    };
    Ok(Box::new(move |h, a| {
        below.as_ref().is_none_or(|f| f(h, a)) && up_to.as_ref().is_none_or(|f| f(h, a))
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use twin_core::crs::LocalFrame;
    use twin_core::{AssetKind, PropValue, SensorType, Surfaces, Vertical, ZLevel};

    use super::*;

    /// A building of two storeys (floors at 0 and 3 m), a wall and a room on each, a
    /// roof in no storey from 6 m, a CO₂ sensor in the upper room, and a tree of the
    /// island beside it.
    fn house() -> Twin {
        let mut twin = Twin::new(LocalFrame::new(121.5, 31.6, 0.0));
        let square = geo::Geometry::Polygon(geo::Polygon::new(
            vec![
                (121.5, 31.6),
                (121.5001, 31.6),
                (121.5001, 31.6001),
                (121.5, 31.6001),
            ]
            .into(),
            vec![],
        ));
        let element = |id: &str, class: &str, of: Option<&str>, z: f64| {
            let kind = if class == "IfcBuilding" {
                AssetKind::Building
            } else {
                AssetKind::Custom(class.to_lowercase())
            };
            let mut a = Asset::new(id, kind, square.clone());
            a.properties
                .insert("ifc_class".into(), PropValue::Str(class.into()));
            a.part_of = of.map(str::to_string);
            a.vertical = Vertical {
                base: z,
                height: 2.8,
                z_level: ZLevel::Ground,
            };
            let shelled = !matches!(class, "IfcBuilding" | "IfcBuildingStorey");
            a.surfaces = Some(Arc::new(Surfaces {
                vertices: if shelled {
                    vec![
                        [121.5, 31.6, z],
                        [121.5001, 31.6, z],
                        [121.5, 31.6001, z + 2.8],
                    ]
                } else {
                    vec![]
                },
                triangles: if shelled { vec![[0, 1, 2]] } else { vec![] },
                roles: if shelled {
                    vec![twin_core::SurfaceRole::Other]
                } else {
                    vec![]
                },
            }));
            a
        };
        let mut co2 = Asset::new(
            "up-room-CO2",
            AssetKind::Sensor(SensorType::Co2),
            geo::Geometry::Point(geo::Point::new(121.50005, 31.60005)),
        );
        co2.attached_to = Some("up-room".into());
        let assets = vec![
            element("b", "IfcBuilding", None, 0.0),
            {
                let mut s = element("ground", "IfcBuildingStorey", Some("b"), 0.0);
                s.name_en = Some("Erdgeschoss".into());
                s
            },
            {
                let mut s = element("upper", "IfcBuildingStorey", Some("b"), 3.0);
                s.name_en = Some("Dachgeschoss".into());
                s
            },
            element("ground-wall", "IfcWall", Some("ground"), 0.0),
            element("ground-room", "IfcSpace", Some("ground"), 0.0),
            element("up-wall", "IfcWall", Some("upper"), 3.0),
            element("up-room", "IfcSpace", Some("upper"), 3.0),
            element("roof", "IfcRoof", Some("b"), 6.0),
            {
                // A roof slab the upper storey holds (FZK-Haus's attic holds its roof).
                let mut r = element("up-roof", "IfcSlab", Some("upper"), 5.5);
                r.properties
                    .insert("ifc_predefined_type".into(), PropValue::Str("ROOF".into()));
                r
            },
            co2,
            Asset::new(
                "tree",
                AssetKind::Custom("tree".into()),
                geo::Geometry::Point(geo::Point::new(121.6, 31.6)),
            ),
        ];
        twin.insert_assets(assets, twin_core::LoadMode::Strict)
            .unwrap();
        twin
    }

    fn kept(twin: &Twin, keep: &dyn Fn(Handle, &Asset) -> bool) -> Vec<String> {
        let mut out: Vec<String> = twin
            .iter()
            .filter(|(h, a)| keep(*h, a))
            .map(|(_, a)| a.id.to_string())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_ground_storey_alone_shows_without_the_storey_above_its_sensors_or_the_roof() {
        let twin = house();
        let ground = find_storey(&twin, "erdgeschoss").unwrap();
        assert_eq!(
            kept(&twin, &up_to_storey(&twin, ground)),
            ["b", "ground", "ground-room", "ground-wall", "tree"]
        );
        // The upper storey: everything but the roofs: the building's, which starts
        // above the storey's elements, and the storey's own roof slab.
        let upper = find_storey(&twin, "upper").unwrap();
        assert_eq!(
            kept(&twin, &up_to_storey(&twin, upper)),
            [
                "b",
                "ground",
                "ground-room",
                "ground-wall",
                "tree",
                "up-room",
                "up-room-CO2",
                "up-wall",
                "upper"
            ]
        );
        // Both filters: the section at 1 m keeps only what starts below it, and not the
        // upper room's sensor either.
        let both = keep(&twin, Some(1.0), Some("Dachgeschoss")).unwrap();
        assert_eq!(
            kept(&twin, &both),
            ["b", "ground", "ground-room", "ground-wall", "tree", "upper"]
        );
    }

    #[test]
    fn a_storey_not_there_or_not_a_storey_is_refused_naming_the_storeys() {
        let twin = house();
        let e = find_storey(&twin, "Keller").unwrap_err();
        assert!(
            e.contains("Erdgeschoss (ground)") && e.contains("Dachgeschoss (upper)"),
            "{e}"
        );
        let e = find_storey(&twin, "roof").unwrap_err();
        assert!(e.contains("not a storey"), "{e}");
        assert!(keep(&twin, Some(f64::NAN), None).is_err());
    }
}
