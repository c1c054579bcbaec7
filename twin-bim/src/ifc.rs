//! IFC to assets: ifc-lite meshes the elements and extracts the data model (entities,
//! property sets, spatial structure); this module turns each product into an
//! [`Asset`] placed on the earth.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{ConvexHull, Coord, MultiPoint, Point};
use ifc_lite_processing::data_model::DataModel;
use twin_core::{Asset, AssetKind};
use twin_core::{PropValue, Properties, Source, SurfaceRole, Surfaces, Vertical, ZLevel};

use crate::place::{MapConversion, Place, PlacedBy, Placement};
use crate::step::{self, StepText};
use crate::{BimError, Model, ReadOptions};

/// Classes that are not assets: openings are voids already cut from their walls,
/// virtual elements and annotations are not physical.
const NOT_ASSETS: [&str; 4] = [
    "IFCOPENINGELEMENT",
    "IFCVIRTUALELEMENT",
    "IFCANNOTATION",
    "IFCOPENINGSTANDARDCASE",
];

/// The kind of an IFC class: IfcBuilding is a building; any other class
/// `custom:ifc_<class in snake case>` with `StandardCase` / `ElementedCase` dropped
/// (`IfcWallStandardCase` → `ifc_wall`, `IfcBuildingStorey` → `ifc_building_storey`).
pub fn kind_of_class(class: &str) -> AssetKind {
    let name = class_name(class);
    if name == "IfcBuilding" {
        return AssetKind::Building;
    }
    let base = name
        .trim_end_matches("StandardCase")
        .trim_end_matches("ElementedCase");
    let base = base.strip_prefix("Ifc").unwrap_or(base);
    let mut snake = String::from("ifc");
    for c in base.chars() {
        if c.is_uppercase() {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    AssetKind::Custom(snake)
}

/// An IFC class name in its usual spelling (`IFCWALLSTANDARDCASE` → `IfcWallStandardCase`)
/// where ifc-lite's schema knows it; else as given.
pub fn class_name(class: &str) -> String {
    match ifc_lite_core::IfcType::from_str(class) {
        ifc_lite_core::IfcType::Unknown(_) => class.to_string(),
        known => known.name().to_string(),
    }
}

pub(crate) fn convert(
    bytes: &[u8],
    file: &str,
    schema: &str,
    options: &ReadOptions,
) -> Result<Model, BimError> {
    let bad = |message: String| BimError::Model {
        file: file.to_string(),
        message,
    };
    // ifc-lite's own assertions are not the end of the process.
    let (read, reports) = crate::reports::collecting(|| {
        std::panic::catch_unwind(|| {
            (
                ifc_lite_processing::process_geometry(bytes),
                ifc_lite_processing::data_model::extract_data_model(bytes),
            )
        })
    });
    let (geometry, data) =
        read.map_err(|_| bad("the IFC reader gave up on this model (a panic in ifc-lite)".into()))?;
    // A scan that came back short leaves entities out without an error of its own.
    if let Some(first) = reports.first() {
        return Err(bad(format!(
            "the IFC reader read only part of it: {}",
            first.trim_start_matches("[ifc-lite] ")
        )));
    }
    if let Some(why) = &data.refused {
        return Err(bad(format!("refused by the IFC reader: {why}")));
    }
    let frame = geometry.frame;
    // The site's origin in world coordinates (its placement's translation).
    let origin = geometry
        .site_transform
        .as_ref()
        .filter(|m| m.len() == 16)
        .map_or([0.0; 3], |m| [m[12], m[13], m[14]]);
    if geometry.metadata.length_unit_refused.is_some() {
        return Err(bad(
            "its length unit is not one the IFC reader can use".into()
        ));
    }
    let unit = geometry
        .metadata
        .length_unit_scale
        .filter(|u| u.is_finite() && *u > 0.0)
        .unwrap_or(1.0);
    let text = String::from_utf8_lossy(bytes);
    let step = StepText::new(&text);
    let psets = crate::psets::properties_by_element(&data, &step).map_err(bad)?;
    let placement = match &options.place {
        Some(p) if options.centred => {
            let mut lo = [f64::INFINITY; 3];
            let mut hi = [f64::NEG_INFINITY; 3];
            for m in geometry
                .meshes
                .iter()
                .filter(|m| !m.ifc_type.eq_ignore_ascii_case("IfcSite"))
            {
                for q in m.positions.chunks_exact(3) {
                    let w = frame.to_world([
                        m.origin[0] + f64::from(q[0]),
                        m.origin[1] + f64::from(q[1]),
                        m.origin[2] + f64::from(q[2]),
                    ]);
                    for i in 0..3 {
                        lo[i] = lo[i].min(w[i]);
                        hi[i] = hi[i].max(w[i]);
                    }
                }
            }
            // The middle seen from above, at the model's lowest point: it stands on
            // the plot whatever height its storeys were drawn at.
            let middle = if lo[0].is_finite() && hi[0].is_finite() {
                [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, lo[2]]
            } else {
                [0.0; 3]
            };
            Placement::new(p, middle, PlacedBy::Given)
        }
        Some(p) => Placement::new(p, [0.0; 3], PlacedBy::Given),
        None => {
            // IFC2X3 has no IfcMapConversion: its georeference is two property sets on
            // the project (buildingSMART's georeferencing guide).
            let project = step
                .of_type("IFCPROJECT")
                .into_iter()
                .min()
                .and_then(|id| psets.get(&id));
            let epset = project.and_then(|p| epset_map_conversion(p));
            file_placement(&step, unit, origin, options.crs.as_ref(), epset).map_err(bad)?
        }
    };

    // Triangles per element, in WGS84.
    let mut shells: HashMap<u32, Surfaces> = HashMap::new();
    for m in &geometry.meshes {
        let s = shells.entry(m.express_id).or_default();
        let first = s.vertices.len() as u32;
        let n = m.positions.len() / 3;
        for p in m.positions.chunks_exact(3) {
            let world = frame.to_world([
                m.origin[0] + f64::from(p[0]),
                m.origin[1] + f64::from(p[1]),
                m.origin[2] + f64::from(p[2]),
            ]);
            let v = placement
                .to_wgs84(world)
                .map_err(|e| bad(format!("#{} ({}): {e}", m.express_id, m.ifc_type)))?;
            // A corrupt number in the file meshes to NaN or infinity: the model is
            // refused (whole or not at all), naming the element.
            if !v.iter().all(|c| c.is_finite()) {
                return Err(bad(format!(
                    "#{} ({}): its geometry has a coordinate that is not a finite number",
                    m.express_id, m.ifc_type
                )));
            }
            s.vertices.push(v);
        }
        for t in m.indices.chunks_exact(3) {
            if t.iter().any(|&i| i as usize >= n) {
                continue;
            }
            s.triangles.push([first + t[0], first + t[1], first + t[2]]);
            s.roles
                .push(role(&s.vertices, s.triangles[s.triangles.len() - 1]));
        }
    }

    let parents = parents(&data);
    let gids: HashMap<u32, &str> = data
        .entities
        .iter()
        .filter_map(|e| Some((e.entity_id, e.global_id.as_deref()?)))
        .collect();
    let source_file: Arc<str> = Arc::from(file);
    let is_asset = |e: &ifc_lite_processing::data_model::EntityMetadata| {
        e.global_id.as_deref().is_some_and(|g| !g.is_empty())
            && !NOT_ASSETS.contains(&e.type_name.to_ascii_uppercase().as_str())
            && ifc_lite_core::is_subtype_of_for_schema(schema, &e.type_name, "IfcProduct")
    };
    // The products that become assets: a parent outside them (the IfcProject above
    // the site) is not named in part_of, which must name an asset.
    let products: std::collections::HashSet<u32> = data
        .entities
        .iter()
        .filter(|e| is_asset(e))
        .map(|e| e.entity_id)
        .collect();
    let mut assets = Vec::new();
    let mut index = 0usize;
    for e in &data.entities {
        if !products.contains(&e.entity_id) {
            continue;
        }
        let Some(gid) = e.global_id.as_deref() else {
            continue;
        };
        let class = class_name(&e.type_name);
        let mut a = Asset::new(
            gid,
            kind_of_class(&class),
            geo::Geometry::Point(Point::new(0.0, 0.0)),
        );
        a.name_en = e.name.clone().filter(|n| !n.is_empty());
        // A spatial element's LongName (a room's "Schlafzimmer" beside its Name "4"):
        // a space is known by it, so it becomes the space's name and the Name its
        // `ifc_name`; for the others it is `ifc_long_name`.
        let long_name = step::long_name(&step, e.entity_id, &class);
        a.source = Source {
            file: source_file.clone(),
            feature: index,
        };
        index += 1;
        let mut props = Properties::new();
        props.insert("ifc_class".into(), PropValue::Str(class.clone()));
        if let Some(t) = e.predefined_type.as_ref().filter(|t| !t.is_empty()) {
            props.insert("ifc_predefined_type".into(), PropValue::Str(t.clone()));
        }
        if let Some(t) = e.object_type.as_ref().filter(|t| !t.is_empty()) {
            props.insert("ifc_object_type".into(), PropValue::Str(t.clone()));
        }
        if let Some(long) = long_name {
            if class == "IfcSpace" {
                if let Some(n) = a.name_en.replace(long) {
                    props.insert("ifc_name".into(), PropValue::Str(n));
                }
            } else {
                props.insert("ifc_long_name".into(), PropValue::Str(long));
            }
        }
        for (k, v) in psets.get(&e.entity_id).into_iter().flatten() {
            props.insert(k.clone(), v.clone());
        }
        a.properties = props;
        a.part_of = parents
            .get(&e.entity_id)
            .filter(|p| products.contains(p))
            .and_then(|p| gids.get(p))
            .map(|g| g.to_string());
        let shell = shells.remove(&e.entity_id).unwrap_or_default();
        let (geometry, vertical) =
            footprint(&shell, &placement).map_err(|e| bad(format!("{gid}: {e}")))?;
        a.geometry = geometry;
        a.vertical = vertical;
        a.surfaces = Some(Arc::new(shell));
        assets.push(a);
    }
    crate::extent::of_wholes(&mut assets);
    Ok(Model {
        assets: assets.into_iter().map(Ok).collect(),
        schema: schema.to_string(),
        placed_by: placement.by.clone(),
        placement,
    })
}

/// The triangle's role by its normal: up-facing roofs, steep walls, else other.
pub(crate) fn role(v: &[[f64; 3]], t: [u32; 3]) -> SurfaceRole {
    let [a, b, c] = t.map(|i| v[i as usize]);
    // Normal's vertical share in a local metric (degrees scaled by latitude).
    let k = a[1].to_radians().cos();
    let u = [
        (b[0] - a[0]) * k * 111_320.0,
        (b[1] - a[1]) * 110_540.0,
        b[2] - a[2],
    ];
    let w = [
        (c[0] - a[0]) * k * 111_320.0,
        (c[1] - a[1]) * 110_540.0,
        c[2] - a[2],
    ];
    let n = [
        u[1] * w[2] - u[2] * w[1],
        u[2] * w[0] - u[0] * w[2],
        u[0] * w[1] - u[1] * w[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len == 0.0 || !len.is_finite() {
        return SurfaceRole::Other;
    }
    let up = n[2] / len;
    if up.abs() < 0.3 {
        SurfaceRole::Wall
    } else {
        SurfaceRole::Other
    }
}

/// The placement the file gives: its IfcMapConversion where twin knows (or is told)
/// the map's CRS, else its IfcSite's reference point; `Err` when it gives none or a
/// broken one.
fn file_placement(
    step: &StepText<'_>,
    unit: f64,
    origin: [f64; 3],
    given_crs: Option<&twin_core::crs::Crs>,
    epset: Option<step::MapConversionText>,
) -> Result<Placement, String> {
    let mut unnamed = None;
    if let Some(conv) = step::map_conversion(step)?.or(epset) {
        let named = crs_of_name(&conv.crs_name);
        let (crs, crs_given) = match (named, given_crs) {
            (Some(c), _) => (Some(c), false),
            (None, Some(c)) => (Some(c.clone()), true),
            (None, None) => (None, false),
        };
        match crs {
            Some(crs) => {
                let norm = conv.abscissa.hypot(conv.ordinate);
                let rotation = (conv.abscissa / norm, conv.ordinate / norm);
                let heading = -rotation.1.atan2(rotation.0).to_degrees();
                let by = PlacedBy::MapConversion {
                    crs: crs.to_string(),
                    heading,
                    crs_given,
                };
                let conversion = MapConversion {
                    project_unit: unit,
                    map_unit: conv.map_unit.unwrap_or(unit),
                    offset: [conv.eastings, conv.northings, conv.height],
                    rotation,
                    scale: conv.factors.map(|f| f * conv.scale),
                    crs,
                };
                return Placement::mapped(conversion, by);
            }
            None => unnamed = Some(conv.crs_name),
        }
    }
    match (site_placement(step, unit, origin)?, unnamed) {
        (Some(p), _) => Ok(p),
        (None, Some(name)) => Err(format!(
            "its IfcMapConversion is into a projected CRS twin cannot name ('{name}') and its IfcSite has no reference latitude and longitude: give --crs EPSG:N (the map's CRS) or --place LON,LAT[,HEADING[,BASE]]"
        )),
        (None, None) => Err("the model says nowhere on the earth (no IfcMapConversion, no IfcSite reference latitude and longitude): give --place LON,LAT[,HEADING[,BASE]]".into()),
    }
}

/// IFC2X3's map conversion: the project's `ePSet_MapConversion` (Eastings, Northings,
/// OrthogonalHeight, XAxisAbscissa, XAxisOrdinate, Scale; absent ones as in IFC4) and
/// `ePSet_ProjectedCRS.Name`, as IfcOpenShell's `util.geolocation` reads them. `None`
/// when the project has no `ePSet_MapConversion`, or one with a value that is not a
/// number (then the file is placed as if it had none).
fn epset_map_conversion(props: &[(String, PropValue)]) -> Option<step::MapConversionText> {
    let get = |k: &str| {
        props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&format!("ePSet_MapConversion.{k}")))
            .map(|(_, v)| v)
    };
    let has_any = props
        .iter()
        .any(|(n, _)| n.to_ascii_lowercase().starts_with("epset_mapconversion."));
    if !has_any {
        return None;
    }
    let num = |k: &str, default: f64| match get(k) {
        None => Some(default),
        Some(PropValue::Num(v)) if v.is_finite() => Some(*v),
        Some(PropValue::Str(t)) => t.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        Some(_) => None,
    };
    let mut conv = step::MapConversionText {
        eastings: num("Eastings", 0.0)?,
        northings: num("Northings", 0.0)?,
        height: num("OrthogonalHeight", 0.0)?,
        abscissa: num("XAxisAbscissa", 1.0)?,
        ordinate: num("XAxisOrdinate", 0.0)?,
        scale: num("Scale", 1.0)?,
        factors: [1.0; 3],
        crs_name: props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("ePSet_ProjectedCRS.Name"))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_string(),
        map_unit: None,
    };
    if conv.abscissa == 0.0 && conv.ordinate == 0.0 {
        (conv.abscissa, conv.ordinate) = (1.0, 0.0);
    }
    if conv.scale == 0.0 {
        conv.scale = 1.0;
    }
    Some(conv)
}

/// The CRS an IfcProjectedCRS's name stands for: `EPSG:4549`, `EPSG 4549`,
/// `urn:ogc:def:crs:EPSG::4549`, an OGC URL, or any other name twin's CRS parser
/// reads; `None` for an empty or unknown name.
fn crs_of_name(name: &str) -> Option<twin_core::crs::Crs> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    if let Ok(c) = name.parse::<twin_core::crs::Crs>() {
        return Some(c);
    }
    let upper = name.to_ascii_uppercase();
    let after = &upper[upper.rfind("EPSG")? + 4..];
    let digits: String = after
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    format!("EPSG:{digits}").parse().ok()
}

/// The placement the file gives by its IfcSite's reference point (RefLatitude,
/// RefLongitude, RefElevation in the file's length unit), turned by the TrueNorth of
/// its model context. `Err` when the site has a reference point that is not one.
fn site_placement(
    step: &StepText<'_>,
    unit: f64,
    origin: [f64; 3],
) -> Result<Option<Placement>, String> {
    let Some((lat, lon, elevation)) = step::site_reference(step) else {
        return Ok(None);
    };
    if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
        return Err(format!(
            "the IfcSite's reference point ({lat}, {lon}) is not a latitude and longitude"
        ));
    }
    let heading = match step::true_north(step) {
        None => 0.0,
        Some((x, y)) => Placement::heading_of_true_north(x, y)
            .ok_or_else(|| format!("TrueNorth ({x}, {y}) is not a direction"))?,
    };
    let base = elevation * unit;
    if !base.is_finite() {
        return Err(format!(
            "the IfcSite's RefElevation {elevation} is not a height"
        ));
    }
    let place = Place {
        lon,
        lat,
        heading,
        base,
    };
    Ok(Some(Placement::new(
        &place,
        origin,
        PlacedBy::Site { heading },
    )))
}

/// Each element's parent: its spatial container (IfcRelContainedInSpatialStructure)
/// or the whole it is part of (IfcRelAggregates); spaces, storeys and buildings by
/// aggregation.
fn parents(data: &DataModel) -> HashMap<u32, u32> {
    let mut out = HashMap::new();
    for r in &data.relationships {
        let t = r.rel_type.to_ascii_uppercase();
        if t == "IFCRELCONTAINEDINSPATIALSTRUCTURE" {
            out.insert(r.related_id, r.relating_id);
        }
    }
    for r in &data.relationships {
        if r.rel_type.eq_ignore_ascii_case("IfcRelAggregates") {
            out.entry(r.related_id).or_insert(r.relating_id);
        }
    }
    out
}

/// The element's footprint (convex hull of its shell seen from above; its reference
/// point when it has no shell) and its vertical extent.
pub(crate) fn footprint(
    shell: &Surfaces,
    placement: &Placement,
) -> Result<(geo::Geometry<f64>, Vertical), String> {
    if shell.vertices.is_empty() {
        let p = placement.to_wgs84(placement.origin())?;
        return Ok((
            geo::Geometry::Point(Point::new(p[0], p[1])),
            Vertical {
                base: p[2],
                height: 0.0,
                z_level: ZLevel::Ground,
            },
        ));
    }
    let points: MultiPoint<f64> = shell
        .vertices
        .iter()
        .map(|v| Point::from(Coord { x: v[0], y: v[1] }))
        .collect();
    let (lo, hi) = shell
        .vertices
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v[2]), hi.max(v[2]))
        });
    Ok((
        geo::Geometry::Polygon(points.convex_hull()),
        Vertical {
            base: lo,
            height: hi - lo,
            z_level: ZLevel::Ground,
        },
    ))
}
