//! Which layer an asset is drawn in, and its base colour (before live state colours it).

use twin_core::{Asset, AssetKind, SensorType, ZLevel};

/// The layers of a scene, drawn in this order. Each is one draw call per chunk, so
/// draw calls grow with layers, not with assets; each can be shown or hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LayerKind {
    /// Island polygons.
    Land,
    /// Flat areas on land: farm fields, green space, parking lots.
    Areas,
    /// Water polygons and canals/rivers as ribbons.
    Water,
    /// Roads and bridges as ribbons, by class.
    Roads,
    /// Extruded buildings (walls and roofs).
    Buildings,
    /// glTF models placed by their georeference.
    Models,
    /// Markers for point assets: sensors, 5G stations, chargers, stations.
    Markers,
    /// Town polygons: transparent until an overlay (a choropleth) colours them.
    Towns,
    /// Town borders as lines.
    TownBorders,
    /// Assets below ground (tunnels, pipes): hidden by default, drawn see-through.
    Underground,
}

impl LayerKind {
    /// Every layer, in drawing order.
    pub const ALL: [LayerKind; 10] = [
        LayerKind::Land,
        LayerKind::Areas,
        LayerKind::Water,
        LayerKind::Roads,
        LayerKind::Buildings,
        LayerKind::Models,
        LayerKind::Markers,
        LayerKind::Towns,
        LayerKind::TownBorders,
        LayerKind::Underground,
    ];

    /// The layer's name, as the CLI and the viewer's toggles show it.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Land => "land",
            LayerKind::Areas => "areas",
            LayerKind::Water => "water",
            LayerKind::Roads => "roads",
            LayerKind::Buildings => "buildings",
            LayerKind::Models => "models",
            LayerKind::Markers => "markers",
            LayerKind::Towns => "towns",
            LayerKind::TownBorders => "town-borders",
            LayerKind::Underground => "underground",
        }
    }

    /// Parses a layer name.
    pub fn parse(s: &str) -> Option<LayerKind> {
        LayerKind::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Index into per-layer arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the layer is shown when a scene is first drawn.
    pub fn visible_by_default(self) -> bool {
        !matches!(self, LayerKind::Underground)
    }

    /// Height (m) a flat layer is lifted above its asset's base so coplanar layers do
    /// not fight in the depth buffer.
    pub fn lift(self) -> f64 {
        match self {
            LayerKind::Land => 0.0,
            LayerKind::Areas => 0.3,
            LayerKind::Water => 0.6,
            LayerKind::Roads => 0.9,
            LayerKind::Towns => 1.2,
            LayerKind::TownBorders => 1.5,
            _ => 0.0,
        }
    }
}

/// The colour behind the land: the Yangtze estuary and the sea.
pub const BACKGROUND: [u8; 4] = [140, 179, 209, 255];

/// Where an asset goes and how it looks before live state colours it.
pub fn layer_of(a: &Asset) -> LayerKind {
    if a.vertical.z_level == ZLevel::Underground || a.vertical.base < -1.0 {
        return LayerKind::Underground;
    }
    match &a.kind {
        AssetKind::Island => LayerKind::Land,
        AssetKind::Custom(k) if k == "mainland_context" => LayerKind::Land,
        AssetKind::Town => LayerKind::Towns,
        AssetKind::Custom(k) if is_admin(k) => LayerKind::Towns,
        AssetKind::FarmField | AssetKind::GreenSpace | AssetKind::ParkingLot => LayerKind::Areas,
        AssetKind::River | AssetKind::WaterBody => LayerKind::Water,
        AssetKind::Road | AssetKind::Bridge => LayerKind::Roads,
        AssetKind::Building => LayerKind::Buildings,
        _ => LayerKind::Markers,
    }
}

/// The base colour of an asset (sRGB).
pub fn base_color(a: &Asset) -> [u8; 4] {
    let prop = |k: &str| a.properties.get(k).and_then(|v| v.as_str());
    match &a.kind {
        AssetKind::Island => [232, 228, 214, 255],
        AssetKind::Custom(k) if k == "mainland_context" => [208, 206, 198, 255],
        AssetKind::Town => [0, 0, 0, 0],
        AssetKind::Custom(k) if is_admin(k) => [0, 0, 0, 0],
        AssetKind::FarmField => [196, 217, 158, 255],
        AssetKind::GreenSpace => [168, 207, 142, 255],
        AssetKind::ParkingLot => [205, 205, 212, 255],
        AssetKind::River | AssetKind::WaterBody => [98, 150, 200, 255],
        AssetKind::Bridge => [214, 160, 70, 255],
        AssetKind::Road => match prop("class") {
            Some("expressway") => [240, 170, 50, 255],
            Some("trunk") => [246, 210, 110, 255],
            Some("county") => [250, 238, 200, 255],
            _ => [252, 252, 248, 255],
        },
        AssetKind::Building => match prop("use") {
            Some("commercial") => [196, 208, 226, 255],
            Some("industrial") => [210, 200, 218, 255],
            Some("public") => [228, 206, 190, 255],
            _ => [226, 218, 204, 255],
        },
        AssetKind::Custom(k) if k.starts_with("ifc_") => ifc_color(k, prop("ifc_predefined_type")),
        AssetKind::Pipe => [140, 110, 90, 255],
        AssetKind::Station5g => [122, 92, 255, 255],
        AssetKind::EvCharger => [30, 170, 110, 255],
        AssetKind::GarbageStation => [140, 140, 80, 255],
        AssetKind::FerryTerminal => [30, 90, 160, 255],
        AssetKind::Sensor(t) => match t {
            SensorType::WaterLevel => [20, 110, 220, 255],
            SensorType::WaterQuality => [20, 170, 190, 255],
            SensorType::Pm25 => [150, 150, 150, 255],
            SensorType::Noise => [200, 120, 200, 255],
            SensorType::SoilMoisture => [140, 100, 50, 255],
            SensorType::TrafficCounter => [230, 130, 40, 255],
            SensorType::ParkingOccupancy => [90, 90, 200, 255],
            SensorType::ChargerPower => [30, 200, 120, 255],
            SensorType::BuildingEnergy => [230, 190, 40, 255],
            SensorType::RoomTemperature => [220, 90, 60, 255],
            SensorType::Co2 => [110, 130, 110, 255],
            SensorType::Occupancy => [90, 140, 220, 255],
            SensorType::Camera => [70, 80, 100, 255],
            SensorType::Other(_) => [120, 120, 120, 255],
        },
        _ => [160, 160, 160, 255],
    }
}

/// A building element's colour by its IFC class (`custom:ifc_wall`, ...) and predefined
/// type (a slab that is a ROOF is drawn as a roof). A room (IfcSpace) is drawn by its
/// floor only (the scene keeps its lowest triangles), in a pale floor colour: it can
/// be picked when what is above it is hidden.
pub fn ifc_color(kind: &str, predefined: Option<&str>) -> [u8; 4] {
    if predefined == Some("ROOF") {
        return [176, 86, 64, 255];
    }
    match kind {
        "ifc_space" => [236, 226, 204, 255],
        "ifc_spatial_zone" | "ifc_zone" => [0, 0, 0, 0],
        "ifc_wall" | "ifc_curtain_wall" => [238, 234, 226, 255],
        "ifc_slab" | "ifc_footing" | "ifc_pile" => [196, 192, 184, 255],
        "ifc_roof" => [176, 86, 64, 255],
        "ifc_window" => [124, 172, 212, 255],
        "ifc_door" => [150, 106, 72, 255],
        "ifc_beam" | "ifc_column" | "ifc_member" | "ifc_plate" => [186, 172, 148, 255],
        "ifc_stair" | "ifc_stair_flight" | "ifc_ramp" | "ifc_railing" => [164, 164, 170, 255],
        "ifc_site" | "ifc_geographic_element" => [188, 204, 164, 255],
        "ifc_covering" => [214, 204, 192, 255],
        "ifc_furnishing_element" | "ifc_furniture" => [204, 164, 112, 255],
        _ => [200, 200, 204, 255],
    }
}

/// Administrative areas of custom kinds (a district, a county): drawn like towns, as a
/// border and a see-through fill only an overlay colours.
pub fn is_admin(kind: &str) -> bool {
    matches!(
        kind,
        "district" | "county" | "city" | "province" | "region" | "village"
    )
}

/// A line asset's ribbon width in metres: its `width` property, else by class.
pub fn ribbon_width(a: &Asset) -> f64 {
    if let Some(w) = a.properties.get("width").and_then(|v| v.as_f64())
        && w.is_finite()
        && w > 0.0
    {
        return w;
    }
    match (&a.kind, a.properties.get("class").and_then(|v| v.as_str())) {
        (_, Some("expressway")) => 28.0,
        (_, Some("trunk")) => 18.0,
        (_, Some("county")) => 12.0,
        (AssetKind::Road, _) => 8.0,
        (AssetKind::Bridge, _) => 28.0,
        (AssetKind::River, _) => 12.0,
        _ => 4.0,
    }
}

/// A marker's radius in metres.
pub fn marker_radius(a: &Asset) -> f32 {
    match &a.kind {
        // A room's wall units: small enough for a room of a building model.
        AssetKind::Sensor(
            SensorType::RoomTemperature | SensorType::Co2 | SensorType::Occupancy,
        ) => 0.35,
        // A building model's own meter (twin-bim's `<GlobalId>-ENERGY`) inside it.
        AssetKind::Sensor(_)
            if a.properties.get("generated").and_then(|g| g.as_str()) == Some("building meter") =>
        {
            0.5
        }
        AssetKind::Sensor(_) => 2.5,
        AssetKind::EvCharger => 2.0,
        _ => 6.0,
    }
}
