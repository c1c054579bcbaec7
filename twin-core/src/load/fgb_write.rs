//! FlatGeobuf writing, twin's own: everything is built in memory, with no temporary
//! file, so it runs wherever twin-core does (also `wasm32-unknown-unknown`).
//!
//! A FlatGeobuf (version 3) file is, in order:
//! - 8 magic bytes, `fgb`, the major version, `fgb`, the patch version;
//! - the header: a little-endian `u32` size, then a `Header` flatbuffer (name, envelope,
//!   geometry type, columns, feature count, index node size, CRS);
//! - with an index: a packed Hilbert R-tree, all its nodes (`f64` min x, min y, max x,
//!   max y and a `u64` byte offset into the feature section) from the root level down to
//!   the leaves, one leaf per feature in feature order;
//! - the features, each a `u32` size and a `Feature` flatbuffer: its geometry (flat `xy`
//!   pairs, `ends` of rings or lines, `parts` of multipolygons and collections) and its
//!   properties, a run of (`u16` column index, value) with every value little-endian and
//!   text as a `u32` byte length and UTF-8.
//!
//! The flatbuffers are built with the generated types the `flatgeobuf` crate exports,
//! and the index with its public `PackedRTree`, so that both stay in step with its
//! reader.

use std::collections::HashMap;
use std::io::Write;

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use flatgeobuf::packed_r_tree::{NodeItem, PackedRTree, calc_extent, hilbert_sort};
use flatgeobuf::{
    Column, ColumnArgs, ColumnType, Crs, CrsArgs, Feature, FeatureArgs, GeometryArgs, GeometryType,
    Header, HeaderArgs,
};
use geo_types::{Coord, Geometry, Polygon};

use crate::asset::{Asset, PropValue};
use crate::error::LoadError;

/// The columns written for every asset, before its own properties.
const FIXED_COLUMNS: [(&str, ColumnType); 10] = [
    ("id", ColumnType::String),
    ("kind", ColumnType::String),
    ("sensor_type", ColumnType::String),
    ("name_zh", ColumnType::String),
    ("name_en", ColumnType::String),
    ("base", ColumnType::Double),
    ("height", ColumnType::Double),
    ("z_level", ColumnType::String),
    ("attached_to", ColumnType::String),
    ("part_of", ColumnType::String),
];

/// EPSG code of WGS84 lon/lat, the CRS every asset's geometry is kept in.
const WGS84_EPSG: i32 = 4326;

/// Readers (the flatgeobuf crate, GDAL) refuse a header larger than 10 MiB.
const MAX_HEADER_BYTES: usize = 10 * 1024 * 1024;

/// Geometries nested deeper than this (collections in collections) are refused, as the
/// reader refuses them.
const MAX_DEPTH: usize = 8;

/// A feature flatbuffer may not reach 2 GiB (flatbuffers' offsets are 32-bit); a
/// geometry whose estimate comes near is refused before the builder would fail.
const MAX_FEATURE_BYTES: u64 = (1 << 31) - (1 << 20);

/// Writes assets to FlatGeobuf (WGS84, with a spatial index), readable back with the
/// default [`crate::Mapping`]. Property columns are the union of the assets'
/// properties; a property that has different types on different assets is written as
/// text.
pub fn write_flatgeobuf<'a>(
    assets: impl IntoIterator<Item = &'a Asset> + Clone,
    name: &str,
    out: impl Write,
) -> Result<(), LoadError> {
    write_flatgeobuf_with(assets, name, out, true)
}

/// Like [`write_flatgeobuf`]; without a spatial index the features keep the order they
/// are given in (a packed index sorts them along a Hilbert curve).
///
/// The header's geometry type is the one type all features share (a polygon file says
/// `Polygon`), or `Unknown` when they differ; every feature also carries its own type.
/// Fails, having written nothing, on a geometry nested deeper than 8 collections, a
/// feature or header too large for FlatGeobuf, or more than 65,536 columns; fails on
/// the first error of `out`.
pub fn write_flatgeobuf_with<'a>(
    assets: impl IntoIterator<Item = &'a Asset> + Clone,
    name: &str,
    out: impl Write,
    spatial_index: bool,
) -> Result<(), LoadError> {
    let fail = |message: String| LoadError::Format {
        file: name.to_string(),
        message: format!("cannot write FlatGeobuf: {message}"),
    };
    let columns = Columns::of(assets.clone()).map_err(fail)?;
    // The names alone over the limit: refused before the builder holds them.
    let names = columns
        .list
        .iter()
        .fold(name.len(), |n, (c, _)| n.saturating_add(c.len()));
    let too_big = |bytes: usize| {
        fail(format!(
            "the header would take {bytes} bytes or more ({} columns), over the {MAX_HEADER_BYTES} readers accept",
            columns.list.len()
        ))
    };
    if names > MAX_HEADER_BYTES {
        return Err(too_big(names));
    }

    // Every feature, encoded in the order given; `nodes[i]` is feature i's bounding
    // box with `offset` = i until the index is built.
    let mut features: Vec<u8> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut nodes: Vec<NodeItem> = Vec::new();
    let mut common_type: Option<GeometryType> = None;
    let mut encoder = FeatureEncoder::default();
    for (i, a) in assets.into_iter().enumerate() {
        let (bytes, bbox, ty) = encoder
            .encode(a, &columns)
            .map_err(|e| fail(format!("asset {}: {e}", a.id)))?;
        let start = features.len();
        features.extend_from_slice(bytes);
        spans.push((start, features.len()));
        nodes.push(NodeItem {
            offset: i as u64,
            ..bbox
        });
        common_type = match common_type {
            None => Some(ty),
            Some(t) if t == ty => Some(t),
            Some(_) => Some(GeometryType::Unknown),
        };
    }

    let extent = calc_extent(&nodes);
    let indexed = spatial_index && !nodes.is_empty();
    let header = header_bytes(
        name,
        &columns.list,
        common_type.unwrap_or(GeometryType::Unknown),
        nodes.len() as u64,
        &extent,
        if indexed {
            PackedRTree::DEFAULT_NODE_SIZE
        } else {
            0
        },
    );
    if header.len() > MAX_HEADER_BYTES {
        return Err(too_big(header.len()));
    }

    let mut out = std::io::BufWriter::new(out);
    let io = |e: std::io::Error| fail(e.to_string());
    out.write_all(&[b'f', b'g', b'b', flatgeobuf::VERSION, b'f', b'g', b'b', 0])
        .map_err(io)?;
    out.write_all(&header).map_err(io)?;
    if indexed {
        // Hilbert order of the boxes' centres over the extent; the leaves then point at
        // the features' byte offsets in that order.
        hilbert_sort(&mut nodes, &extent);
        let order: Vec<usize> = nodes.iter().map(|n| n.offset as usize).collect();
        let mut at = 0u64;
        for (node, &i) in nodes.iter_mut().zip(&order) {
            node.offset = at;
            at += (spans[i].1 - spans[i].0) as u64;
        }
        let tree = PackedRTree::build(&nodes, &extent, PackedRTree::DEFAULT_NODE_SIZE)
            .map_err(|e| fail(format!("cannot build the spatial index: {e}")))?;
        tree.stream_write(&mut out).map_err(io)?;
        for i in order {
            out.write_all(&features[spans[i].0..spans[i].1])
                .map_err(io)?;
        }
    } else {
        out.write_all(&features).map_err(io)?;
    }
    out.flush().map_err(io)
}

/// The columns of a file: the fixed ones, then every other property name (sorted).
struct Columns {
    /// Name and type of every column, in column-index order.
    list: Vec<(String, ColumnType)>,
    /// Column index and type of each property column by name (not the fixed ones).
    extra: HashMap<String, (u16, ColumnType)>,
}

impl Columns {
    fn of<'a>(assets: impl IntoIterator<Item = &'a Asset>) -> Result<Self, String> {
        let mut types = std::collections::BTreeMap::<&str, ColumnType>::new();
        for a in assets {
            for (k, v) in &a.properties {
                if FIXED_COLUMNS.iter().any(|(n, _)| n == k) {
                    continue;
                }
                let t = match v {
                    PropValue::Str(_) => ColumnType::String,
                    PropValue::Num(_) => ColumnType::Double,
                    PropValue::Bool(_) => ColumnType::Bool,
                };
                types
                    .entry(k.as_str())
                    .and_modify(|old| {
                        if *old != t {
                            *old = ColumnType::String
                        }
                    })
                    .or_insert(t);
            }
        }
        let total = FIXED_COLUMNS.len() + types.len();
        if total > usize::from(u16::MAX) + 1 {
            return Err(format!(
                "{total} columns: FlatGeobuf numbers columns with 16 bits (at most 65536)"
            ));
        }
        let mut list: Vec<(String, ColumnType)> = FIXED_COLUMNS
            .iter()
            .map(|(n, t)| (n.to_string(), *t))
            .collect();
        let mut extra = HashMap::with_capacity(types.len());
        for (k, t) in types {
            extra.insert(k.to_string(), (list.len() as u16, t));
            list.push((k.to_string(), t));
        }
        Ok(Columns { list, extra })
    }
}

/// The size-prefixed header flatbuffer.
fn header_bytes(
    name: &str,
    columns: &[(String, ColumnType)],
    geometry_type: GeometryType,
    features_count: u64,
    extent: &NodeItem,
    index_node_size: u16,
) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let cols: Vec<WIPOffset<Column<'_>>> = columns
        .iter()
        .map(|(n, t)| {
            let args = ColumnArgs {
                name: Some(fbb.create_string(n)),
                type_: *t,
                nullable: true,
                ..Default::default()
            };
            Column::create(&mut fbb, &args)
        })
        .collect();
    let columns = Some(fbb.create_vector(&cols));
    // No envelope when there is nothing finite to enclose (no features, or only
    // non-finite coordinates).
    let bounds = [extent.min_x, extent.min_y, extent.max_x, extent.max_y];
    let envelope = (bounds.iter().all(|v| v.is_finite())
        && extent.min_x <= extent.max_x
        && extent.min_y <= extent.max_y)
        .then(|| fbb.create_vector(&bounds));
    let crs = Some(Crs::create(
        &mut fbb,
        &CrsArgs {
            code: WGS84_EPSG,
            ..Default::default()
        },
    ));
    let name = Some(fbb.create_string(name));
    let header = Header::create(
        &mut fbb,
        &HeaderArgs {
            name,
            envelope,
            geometry_type,
            columns,
            features_count,
            index_node_size,
            crs,
            ..Default::default()
        },
    );
    fbb.finish_size_prefixed(header, None);
    fbb.finished_data().to_vec()
}

/// Encodes features one by one, reusing its buffers.
#[derive(Default)]
struct FeatureEncoder {
    fbb: FlatBufferBuilder<'static>,
    properties: Vec<u8>,
    flat: Flat,
}

impl FeatureEncoder {
    /// The size-prefixed feature flatbuffer of an asset, its bounding box and its
    /// top-level geometry type.
    fn encode(
        &mut self,
        a: &Asset,
        columns: &Columns,
    ) -> Result<(&[u8], NodeItem, GeometryType), String> {
        self.properties.clear();
        properties(a, columns, &mut self.properties)?;
        let estimate = geometry_size(&a.geometry, 0)?
            .saturating_add(self.properties.len() as u64)
            .saturating_add(256);
        if estimate > MAX_FEATURE_BYTES {
            return Err(format!(
                "the feature needs about {estimate} bytes, more than FlatGeobuf's 2 GiB"
            ));
        }
        self.fbb.reset();
        let mut bbox = NodeItem::create(0);
        let geometry = encode_geometry(&mut self.fbb, &a.geometry, &mut bbox, &mut self.flat);
        let properties = Some(self.fbb.create_vector(&self.properties));
        let feature = Feature::create(
            &mut self.fbb,
            &FeatureArgs {
                geometry: Some(geometry),
                properties,
                columns: None,
            },
        );
        self.fbb.finish_size_prefixed(feature, None);
        Ok((self.fbb.finished_data(), bbox, type_of(&a.geometry)))
    }
}

/// The FlatGeobuf type a geometry is written as (a line as a line string, a rectangle
/// or a triangle as a polygon).
fn type_of(g: &Geometry<f64>) -> GeometryType {
    match g {
        Geometry::Point(_) => GeometryType::Point,
        Geometry::Line(_) | Geometry::LineString(_) => GeometryType::LineString,
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => GeometryType::Polygon,
        Geometry::MultiPoint(_) => GeometryType::MultiPoint,
        Geometry::MultiLineString(_) => GeometryType::MultiLineString,
        Geometry::MultiPolygon(_) => GeometryType::MultiPolygon,
        Geometry::GeometryCollection(_) => GeometryType::GeometryCollection,
    }
}

/// An upper bound of the bytes a geometry takes in a feature flatbuffer; refuses one
/// nested too deeply.
fn geometry_size(g: &Geometry<f64>, depth: usize) -> Result<u64, String> {
    // A geometry table with its vtable, vector lengths and alignment padding.
    const TABLE: u64 = 128;
    let coords = |n: usize, ends: usize| TABLE + 16 * n as u64 + 4 * ends as u64;
    let polygon = |p: &Polygon<f64>| {
        let n = p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>();
        coords(n, 1 + p.interiors().len())
    };
    Ok(match g {
        Geometry::Point(_) | Geometry::Line(_) | Geometry::Rect(_) | Geometry::Triangle(_) => {
            coords(5, 1)
        }
        Geometry::LineString(l) => coords(l.0.len(), 0),
        Geometry::Polygon(p) => polygon(p),
        Geometry::MultiPoint(m) => coords(m.0.len(), 0),
        Geometry::MultiLineString(m) => coords(m.0.iter().map(|l| l.0.len()).sum(), m.0.len()),
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .map(polygon)
                .fold(TABLE + 4 * m.0.len() as u64, u64::saturating_add)
        }
        Geometry::GeometryCollection(c) => {
            if depth >= MAX_DEPTH {
                return Err(format!(
                    "geometry collections nested more than {MAX_DEPTH} deep"
                ));
            }
            let mut total = TABLE + 4 * c.0.len() as u64;
            for part in &c.0 {
                total = total.saturating_add(geometry_size(part, depth + 1)?);
            }
            total
        }
    })
}

/// Coordinates of one geometry table being gathered: flat `xy` pairs and the `ends`
/// of its rings or lines (the count of pairs up to each).
#[derive(Default)]
struct Flat {
    xy: Vec<f64>,
    ends: Vec<u32>,
}

impl Flat {
    fn clear(&mut self) {
        self.xy.clear();
        self.ends.clear();
    }

    fn push(&mut self, c: Coord<f64>, bbox: &mut NodeItem) {
        self.xy.push(c.x);
        self.xy.push(c.y);
        bbox.expand_xy(c.x, c.y);
    }

    /// A ring or a line, closed by its end.
    fn run(&mut self, run: &[Coord<f64>], bbox: &mut NodeItem) {
        for c in run {
            self.push(*c, bbox);
        }
        self.ends.push((self.xy.len() / 2) as u32);
    }

    /// The exterior ring, then the holes.
    fn polygon(&mut self, p: &Polygon<f64>, bbox: &mut NodeItem) {
        self.run(&p.exterior().0, bbox);
        for hole in p.interiors() {
            self.run(&hole.0, bbox);
        }
    }

    /// A geometry table of these coordinates; `ends` is left out for a single ring or
    /// line, as the format allows.
    fn table<'b>(
        &self,
        fbb: &mut FlatBufferBuilder<'b>,
        type_: GeometryType,
    ) -> WIPOffset<flatgeobuf::Geometry<'b>> {
        let ends = (self.ends.len() > 1).then(|| fbb.create_vector(&self.ends));
        let xy = Some(fbb.create_vector(&self.xy));
        flatgeobuf::Geometry::create(
            fbb,
            &GeometryArgs {
                type_,
                xy,
                ends,
                ..Default::default()
            },
        )
    }
}

/// Builds a geometry table (its parts first: flatbuffers builds children before their
/// parents) and grows `bbox` over its coordinates. `flat` is scratch space.
fn encode_geometry<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    g: &Geometry<f64>,
    bbox: &mut NodeItem,
    flat: &mut Flat,
) -> WIPOffset<flatgeobuf::Geometry<'b>> {
    let type_ = type_of(g);
    flat.clear();
    let parts: Vec<WIPOffset<flatgeobuf::Geometry<'b>>> = match g {
        Geometry::Point(p) => {
            flat.push(p.0, bbox);
            return flat.table(fbb, type_);
        }
        Geometry::Line(l) => {
            flat.push(l.start, bbox);
            flat.push(l.end, bbox);
            return flat.table(fbb, type_);
        }
        Geometry::LineString(l) => {
            l.0.iter().for_each(|c| flat.push(*c, bbox));
            return flat.table(fbb, type_);
        }
        Geometry::MultiPoint(m) => {
            m.0.iter().for_each(|p| flat.push(p.0, bbox));
            return flat.table(fbb, type_);
        }
        Geometry::Polygon(p) => {
            flat.polygon(p, bbox);
            return flat.table(fbb, type_);
        }
        Geometry::Rect(r) => {
            flat.polygon(&r.to_polygon(), bbox);
            return flat.table(fbb, type_);
        }
        Geometry::Triangle(t) => {
            flat.polygon(&t.to_polygon(), bbox);
            return flat.table(fbb, type_);
        }
        Geometry::MultiLineString(m) => {
            m.0.iter().for_each(|l| flat.run(&l.0, bbox));
            return flat.table(fbb, type_);
        }
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .map(|p| {
                    flat.clear();
                    flat.polygon(p, bbox);
                    flat.table(fbb, GeometryType::Polygon)
                })
                .collect()
        }
        Geometry::GeometryCollection(c) => {
            c.0.iter()
                .map(|part| encode_geometry(fbb, part, bbox, flat))
                .collect()
        }
    };
    let parts = Some(fbb.create_vector(&parts));
    flatgeobuf::Geometry::create(
        fbb,
        &GeometryArgs {
            type_,
            parts,
            ..Default::default()
        },
    )
}

/// Appends an asset's properties: the fixed columns it has, then its own properties by
/// column, each as column index and value.
fn properties(a: &Asset, columns: &Columns, out: &mut Vec<u8>) -> Result<(), String> {
    let text = |out: &mut Vec<u8>, column: u16, s: &str| -> Result<(), String> {
        let len = u32::try_from(s.len())
            .map_err(|_| format!("column {column}: text of {} bytes, over 4 GiB", s.len()))?;
        out.extend_from_slice(&column.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        Ok(())
    };
    let double = |out: &mut Vec<u8>, column: u16, v: f64| {
        out.extend_from_slice(&column.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    };
    text(out, 0, &a.id)?;
    text(out, 1, a.kind.as_str())?;
    if let Some(t) = a.kind.sensor_type() {
        text(out, 2, t.as_str())?;
    }
    if let Some(s) = &a.name_zh {
        text(out, 3, s)?;
    }
    if let Some(s) = &a.name_en {
        text(out, 4, s)?;
    }
    double(out, 5, a.vertical.base);
    double(out, 6, a.vertical.height);
    text(out, 7, a.vertical.z_level.as_str())?;
    if let Some(s) = &a.attached_to {
        text(out, 8, s)?;
    }
    if let Some(s) = &a.part_of {
        text(out, 9, s)?;
    }
    for (k, v) in &a.properties {
        let Some(&(column, ty)) = columns.extra.get(k.as_str()) else {
            continue; // a property named like a fixed column
        };
        match (v, ty) {
            (PropValue::Str(s), ColumnType::String) => text(out, column, s)?,
            (v, ColumnType::String) => text(out, column, &v.to_string())?,
            (PropValue::Num(n), ColumnType::Double) => double(out, column, *n),
            (PropValue::Bool(b), ColumnType::Bool) => {
                out.extend_from_slice(&column.to_le_bytes());
                out.push(u8::from(*b));
            }
            // The column's type is this property's type or text (see `Columns::of`).
            _ => {}
        }
    }
    Ok(())
}
