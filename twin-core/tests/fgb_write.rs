//! twin's own FlatGeobuf writer: every geometry and property type comes back exactly,
//! the header and the packed Hilbert R-tree hold the numbers worked out by hand, the
//! index finds features by box (the flatgeobuf crate's search and GDAL's), and GDAL's
//! `ogrinfo` reads the file.

use std::io::Cursor;

use flatgeobuf::packed_r_tree::PackedRTree;
use flatgeobuf::{
    ColumnType, FallibleStreamingIterator, FeatureProperties, FgbReader, GeometryType,
};
use geo_types::{
    Geometry, GeometryCollection, Line, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon, Rect, Triangle, coord,
};
use twin_core::load::{read_flatgeobuf_from, write_flatgeobuf, write_flatgeobuf_with};
use twin_core::{Asset, AssetKind, Mapping, PropValue, SensorType, ZLevel};

fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    LineString::new(points.iter().map(|&(x, y)| coord! { x: x, y: y }).collect())
}

/// A closed axis-aligned rectangle ring, counter-clockwise.
fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
    ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
}

fn asset(id: &str, kind: AssetKind, g: impl Into<Geometry<f64>>) -> Asset {
    Asset::new(id, kind, g.into())
}

/// Reads a written file back with twin's reader and the default mapping; every
/// feature must be accepted.
fn read_back(bytes: &[u8]) -> Vec<Asset> {
    read_flatgeobuf_from(Cursor::new(bytes), "mem.fgb", &Mapping::default())
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// Every field the file carries (not `source`, which names where it was read).
fn assert_same(a: &Asset, b: &Asset) {
    assert_eq!(a.id, b.id);
    assert_eq!(a.kind, b.kind, "{}", a.id);
    assert_eq!(a.name_zh, b.name_zh, "{}", a.id);
    assert_eq!(a.name_en, b.name_en, "{}", a.id);
    assert_eq!(a.geometry, b.geometry, "{}", a.id);
    assert_eq!(a.source_crs, b.source_crs, "{}", a.id);
    assert_eq!(a.vertical, b.vertical, "{}", a.id);
    assert_eq!(a.properties, b.properties, "{}", a.id);
    assert_eq!(a.attached_to, b.attached_to, "{}", a.id);
    assert_eq!(a.part_of, b.part_of, "{}", a.id);
}

/// The header of a written file, and where the index starts.
fn header(bytes: &[u8]) -> (flatgeobuf::Header<'_>, usize) {
    assert_eq!(&bytes[..8], b"fgb\x03fgb\x00", "magic bytes, version 3");
    let size = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let end = 12 + size;
    (
        flatgeobuf::size_prefixed_root_as_header(&bytes[8..end]).unwrap(),
        end,
    )
}

/// One asset of each geometry type, with holes and several parts, and properties of
/// every type (plus `grade`, a number, a text and a boolean on different assets).
fn zoo() -> Vec<Asset> {
    let mut out = Vec::new();

    let mut s = asset(
        "S-1",
        AssetKind::Sensor(SensorType::WaterLevel),
        Point::new(121.401_234_567_891, 31.601_987_654_321),
    );
    s.attached_to = Some("B-1".into());
    s.name_en = Some("Gauge 1".into());
    s.vertical.base = -1.25;
    s.properties.insert("depth".into(), PropValue::Num(3.5));
    s.properties.insert("ok".into(), PropValue::Bool(true));
    s.properties.insert("grade".into(), PropValue::Num(3.0));
    out.push(s);

    let mut r = asset(
        "R-1",
        AssetKind::Road,
        ring(&[(121.40, 31.60), (121.41, 31.605), (121.42, 31.62)]),
    );
    r.properties.insert("class".into(), "street".into());
    r.properties
        .insert("grade".into(), PropValue::Str("A+".into()));
    out.push(r);

    let mut b = asset(
        "B-1",
        AssetKind::Building,
        Polygon::new(
            square(121.40, 31.60, 121.41, 31.61),
            vec![
                square(121.402, 31.602, 121.403, 31.603),
                square(121.405, 31.605, 121.407, 31.606),
            ],
        ),
    );
    b.name_zh = Some("城桥镇文化中心".into());
    b.name_en = Some("Chengqiao Culture Centre".into());
    b.vertical.height = 23.5;
    b.properties.insert("floors".into(), PropValue::Num(6.0));
    b.properties
        .insert("heritage".into(), PropValue::Bool(false));
    b.properties.insert("grade".into(), PropValue::Bool(true));
    b.properties.insert("用途".into(), "文化".into());
    out.push(b);

    let mut p = asset(
        "E-1",
        AssetKind::Custom("lamp_group".into()),
        MultiPoint(vec![
            Point::new(121.43, 31.63),
            Point::new(121.431, 31.631),
            Point::new(121.432, 31.629),
        ]),
    );
    p.part_of = Some("B-1".into());
    p.vertical.z_level = ZLevel::Air;
    out.push(p);

    out.push(asset(
        "W-1",
        AssetKind::River,
        MultiLineString(vec![
            ring(&[(121.50, 31.50), (121.51, 31.52)]),
            ring(&[(121.52, 31.52), (121.53, 31.51), (121.54, 31.55)]),
            ring(&[(121.55, 31.55), (121.56, 31.56)]),
        ]),
    ));
    // One line only: written without `ends`.
    out.push(asset(
        "W-2",
        AssetKind::River,
        MultiLineString(vec![ring(&[(121.57, 31.50), (121.58, 31.51)])]),
    ));

    let mut g = asset(
        "G-1",
        AssetKind::GreenSpace,
        MultiPolygon(vec![
            Polygon::new(
                square(121.60, 31.60, 121.62, 31.62),
                vec![square(121.605, 31.605, 121.61, 31.61)],
            ),
            Polygon::new(square(121.63, 31.60, 121.64, 31.61), vec![]),
        ]),
    );
    g.properties.insert("area_ha".into(), PropValue::Num(12.75));
    out.push(g);

    out.push(asset(
        "C-1",
        AssetKind::Custom("site".into()),
        Geometry::GeometryCollection(GeometryCollection(vec![
            Point::new(121.70, 31.70).into(),
            ring(&[(121.70, 31.70), (121.71, 31.72)]).into(),
            Polygon::new(
                square(121.72, 31.70, 121.74, 31.72),
                vec![square(121.725, 31.705, 121.73, 31.71)],
            )
            .into(),
            MultiPolygon(vec![
                Polygon::new(square(121.75, 31.70, 121.76, 31.71), vec![]),
                Polygon::new(square(121.77, 31.70, 121.78, 31.71), vec![]),
            ])
            .into(),
            Geometry::GeometryCollection(GeometryCollection(vec![
                Point::new(121.79, 31.79).into(),
            ])),
        ])),
    ));
    out
}

#[test]
fn every_geometry_and_property_type_comes_back_exactly() {
    let assets = zoo();
    let mut bytes = Vec::new();
    write_flatgeobuf_with(&assets, "zoo", &mut bytes, false).unwrap();
    let back = read_back(&bytes);
    assert_eq!(back.len(), assets.len());

    // Without an index the order is kept. `grade` has three types, so it is text.
    let mut expected = assets.clone();
    expected[0]
        .properties
        .insert("grade".into(), PropValue::Str("3".into()));
    expected[2]
        .properties
        .insert("grade".into(), PropValue::Str("true".into()));
    for (a, b) in expected.iter().zip(&back) {
        assert_same(a, b);
    }
    assert_eq!(
        back[2].properties.get("用途"),
        Some(&PropValue::Str("文化".into()))
    );
    assert_eq!(back[2].name_zh.as_deref(), Some("城桥镇文化中心"));
    assert_eq!(
        back[1].properties.get("grade").unwrap().as_str(),
        Some("A+")
    );
    assert_eq!(back[0].properties.get("ok"), Some(&PropValue::Bool(true)));
    assert_eq!(
        back[2].properties.get("heritage"),
        Some(&PropValue::Bool(false))
    );

    // The columns: the fixed ten, then the other properties by name with their types.
    let (h, index_start) = header(&bytes);
    let columns: Vec<(String, ColumnType)> = h
        .columns()
        .unwrap()
        .iter()
        .map(|c| (c.name().to_string(), c.type_()))
        .collect();
    let want: Vec<(&str, ColumnType)> = vec![
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
        ("area_ha", ColumnType::Double),
        ("class", ColumnType::String),
        ("depth", ColumnType::Double),
        ("floors", ColumnType::Double),
        ("grade", ColumnType::String),
        ("heritage", ColumnType::Bool),
        ("ok", ColumnType::Bool),
        ("用途", ColumnType::String),
    ];
    assert_eq!(
        columns,
        want.iter()
            .map(|(n, t)| (n.to_string(), *t))
            .collect::<Vec<_>>()
    );
    assert!(h.columns().unwrap().iter().all(|c| c.nullable()));
    assert_eq!(h.geometry_type(), GeometryType::Unknown, "mixed types");
    assert_eq!(h.features_count(), 8);
    assert_eq!(h.index_node_size(), 0);
    assert_eq!(h.crs().unwrap().code(), 4326);
    assert_eq!(h.name(), Some("zoo"));

    // The first feature, decoded by hand: the sensor's properties in column order.
    let size = u32::from_le_bytes(bytes[index_start..index_start + 4].try_into().unwrap());
    let f = flatgeobuf::size_prefixed_root_as_feature(
        &bytes[index_start..index_start + 4 + size as usize],
    )
    .unwrap();
    let g = f.geometry().unwrap();
    assert_eq!(g.type_(), GeometryType::Point);
    assert_eq!(
        g.xy().unwrap().iter().collect::<Vec<_>>(),
        vec![121.401_234_567_891, 31.601_987_654_321]
    );
    let mut want = Vec::new();
    let text = |w: &mut Vec<u8>, col: u16, s: &str| {
        w.extend_from_slice(&col.to_le_bytes());
        w.extend_from_slice(&(s.len() as u32).to_le_bytes());
        w.extend_from_slice(s.as_bytes());
    };
    text(&mut want, 0, "S-1");
    text(&mut want, 1, "sensor");
    text(&mut want, 2, "water_level");
    text(&mut want, 4, "Gauge 1");
    want.extend_from_slice(&5u16.to_le_bytes());
    want.extend_from_slice(&(-1.25f64).to_le_bytes());
    want.extend_from_slice(&6u16.to_le_bytes());
    want.extend_from_slice(&0f64.to_le_bytes());
    text(&mut want, 7, "water");
    text(&mut want, 8, "B-1");
    want.extend_from_slice(&12u16.to_le_bytes());
    want.extend_from_slice(&3.5f64.to_le_bytes());
    text(&mut want, 14, "3");
    want.extend_from_slice(&16u16.to_le_bytes());
    want.push(1);
    assert_eq!(f.properties().unwrap().bytes(), want.as_slice());
}

#[test]
fn geometry_parts_are_laid_out_as_the_format_says() {
    let assets = zoo();
    let mut bytes = Vec::new();
    write_flatgeobuf_with(&assets, "zoo", &mut bytes, false).unwrap();
    let (_, mut at) = header(&bytes);
    let mut features = Vec::new();
    while at < bytes.len() {
        let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        features
            .push(flatgeobuf::size_prefixed_root_as_feature(&bytes[at..at + 4 + size]).unwrap());
        at += 4 + size;
    }
    assert_eq!(at, bytes.len());
    assert_eq!(features.len(), 8);
    let ends = |g: &flatgeobuf::Geometry<'_>| g.ends().map(|e| e.iter().collect::<Vec<u32>>());
    let xy_len = |g: &flatgeobuf::Geometry<'_>| g.xy().map_or(0, |v| v.len());

    // A polygon with two holes: three rings of five positions.
    let b = features[2].geometry().unwrap();
    assert_eq!(b.type_(), GeometryType::Polygon);
    assert_eq!(ends(&b), Some(vec![5, 10, 15]));
    assert_eq!(xy_len(&b), 30);
    // Lines of 2, 3 and 2 positions; a single line has no ends.
    let w = features[4].geometry().unwrap();
    assert_eq!(w.type_(), GeometryType::MultiLineString);
    assert_eq!(ends(&w), Some(vec![2, 5, 7]));
    assert_eq!(ends(&features[5].geometry().unwrap()), None);
    // A multipolygon is parts of polygons: one with a hole, one without.
    let m = features[6].geometry().unwrap();
    assert_eq!(m.type_(), GeometryType::MultiPolygon);
    assert!(m.xy().is_none());
    let parts: Vec<_> = m.parts().unwrap().iter().collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(ends(&parts[0]), Some(vec![5, 10]));
    assert_eq!(ends(&parts[1]), None);
    assert_eq!(xy_len(&parts[1]), 10);
    // A collection's parts carry their own types.
    let c = features[7].geometry().unwrap();
    assert_eq!(c.type_(), GeometryType::GeometryCollection);
    let types: Vec<GeometryType> = c.parts().unwrap().iter().map(|p| p.type_()).collect();
    assert_eq!(
        types,
        vec![
            GeometryType::Point,
            GeometryType::LineString,
            GeometryType::Polygon,
            GeometryType::MultiPolygon,
            GeometryType::GeometryCollection
        ]
    );
}

#[test]
fn lines_rectangles_and_triangles_are_written_as_line_strings_and_polygons() {
    let assets = vec![
        asset(
            "L",
            AssetKind::Road,
            Line::new(coord! { x: 121.4, y: 31.6 }, coord! { x: 121.5, y: 31.7 }),
        ),
        asset(
            "R",
            AssetKind::Building,
            Rect::new(coord! { x: 121.4, y: 31.6 }, coord! { x: 121.5, y: 31.7 }),
        ),
        asset(
            "T",
            AssetKind::Building,
            Triangle::new(
                coord! { x: 121.4, y: 31.6 },
                coord! { x: 121.5, y: 31.6 },
                coord! { x: 121.45, y: 31.7 },
            ),
        ),
    ];
    let mut bytes = Vec::new();
    write_flatgeobuf_with(&assets, "shapes", &mut bytes, false).unwrap();
    let back = read_back(&bytes);
    assert_eq!(
        back[0].geometry,
        Geometry::LineString(ring(&[(121.4, 31.6), (121.5, 31.7)]))
    );
    assert_eq!(
        back[1].geometry,
        Geometry::Polygon(
            Rect::new(coord! { x: 121.4, y: 31.6 }, coord! { x: 121.5, y: 31.7 }).to_polygon()
        )
    );
    assert_eq!(
        back[2].geometry,
        Geometry::Polygon(Polygon::new(
            ring(&[(121.4, 31.6), (121.5, 31.6), (121.45, 31.7), (121.4, 31.6)]),
            vec![]
        ))
    );
    let (h, _) = header(&bytes);
    assert_eq!(h.geometry_type(), GeometryType::Unknown);
}

#[test]
fn header_envelope_count_and_index_by_hand() {
    let mut square_building = asset(
        "A",
        AssetKind::Building,
        Polygon::new(square(121.40, 31.60, 121.41, 31.61), vec![]),
    );
    square_building.vertical.height = 9.0;
    let assets = vec![
        asset("P", AssetKind::Station5g, Point::new(121.5, 31.6)),
        square_building,
        asset(
            "L",
            AssetKind::Road,
            ring(&[(121.45, 31.55), (121.47, 31.62)]),
        ),
    ];
    let mut bytes = Vec::new();
    write_flatgeobuf(&assets, "three", &mut bytes).unwrap();
    let (h, index_start) = header(&bytes);
    assert_eq!(h.features_count(), 3);
    assert_eq!(h.index_node_size(), 16);
    assert_eq!(
        h.envelope().unwrap().iter().collect::<Vec<f64>>(),
        vec![121.40, 31.55, 121.5, 31.62]
    );
    assert_eq!(h.crs().unwrap().code(), 4326);
    assert_eq!(h.geometry_type(), GeometryType::Unknown);

    // Three leaves under one root: 4 nodes of 40 bytes (4 f64 and a u64 offset).
    let index_len = 4 * 40;
    assert_eq!(PackedRTree::index_size(3, 16), index_len);
    let node = |i: usize| {
        let b = &bytes[index_start + 40 * i..index_start + 40 * (i + 1)];
        let f = |k: usize| f64::from_le_bytes(b[8 * k..8 * k + 8].try_into().unwrap());
        (
            [f(0), f(1), f(2), f(3)],
            u64::from_le_bytes(b[32..40].try_into().unwrap()),
        )
    };
    // The root encloses everything and points at its first child, node 1.
    assert_eq!(node(0), ([121.40, 31.55, 121.5, 31.62], 1));

    // The leaves follow the features in file order, each at its byte offset in the
    // feature section, with its own box.
    let features_start = index_start + index_len;
    let back = read_back(&bytes);
    let boxes = |id: &str| match id {
        "P" => [121.5, 31.6, 121.5, 31.6],
        "A" => [121.40, 31.60, 121.41, 31.61],
        "L" => [121.45, 31.55, 121.47, 31.62],
        _ => unreachable!(),
    };
    let mut offset = 0u64;
    for (i, a) in back.iter().enumerate() {
        let (bbox, at) = node(1 + i);
        assert_eq!(bbox, boxes(&a.id), "{}", a.id);
        assert_eq!(at, offset, "{}", a.id);
        let p = features_start + at as usize;
        let size = u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as u64;
        offset += 4 + size;
    }
    assert_eq!(features_start as u64 + offset, bytes.len() as u64);
    let mut ids: Vec<&str> = back.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["A", "L", "P"]);
    for a in &assets {
        assert_same(a, back.iter().find(|b| b.id == a.id).unwrap());
    }

    // Without the index: no tree, the features follow the header in the order given.
    let mut plain = Vec::new();
    write_flatgeobuf_with(&assets, "three", &mut plain, false).unwrap();
    let (h, start) = header(&plain);
    assert_eq!(h.index_node_size(), 0);
    // The same features, so the same bytes after the header and index.
    assert_eq!(plain.len() - start, bytes.len() - features_start);
    let order: Vec<String> = read_back(&plain).into_iter().map(|a| a.id).collect();
    assert_eq!(order, ["P", "A", "L"]);
}

/// A `cols` × `rows` grid of point assets `X{i}-{j}` at (121 + i·step, 31 + j·step).
fn grid(cols: usize, rows: usize, step: f64) -> Vec<Asset> {
    let mut out = Vec::new();
    for j in 0..rows {
        for i in 0..cols {
            let mut a = asset(
                &format!("X{i}-{j}"),
                AssetKind::Station5g,
                Point::new(121.0 + i as f64 * step, 31.0 + j as f64 * step),
            );
            a.properties.insert("i".into(), PropValue::Num(i as f64));
            a.properties.insert("j".into(), PropValue::Num(j as f64));
            out.push(a);
        }
    }
    out
}

fn cell(a: &Asset) -> (i64, i64) {
    let n = |k: &str| a.properties.get(k).unwrap().as_f64().unwrap() as i64;
    (n("i"), n("j"))
}

#[test]
fn with_an_index_features_follow_a_hilbert_curve() {
    // A 4 × 4 grid (given row by row) scaled onto the index's 16-bit Hilbert grid: each
    // point falls in its own cell of the order-2 curve, so the file visits the cells
    // along that curve: every step to a neighbouring cell, ending at the curve's start,
    // the corner (0, 0) (features are sorted by descending Hilbert value).
    let assets = grid(4, 4, 1.0);
    let mut bytes = Vec::new();
    write_flatgeobuf(&assets, "grid", &mut bytes).unwrap();
    let back = read_back(&bytes);
    let cells: Vec<(i64, i64)> = back.iter().map(cell).collect();
    let mut distinct = cells.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 16, "{cells:?}");
    for w in cells.windows(2) {
        let step = (w[0].0 - w[1].0).abs() + (w[0].1 - w[1].1).abs();
        assert_eq!(step, 1, "not a curve: {cells:?}");
    }
    assert_eq!(cells[15], (0, 0), "{cells:?}");
    // The order-2 Hilbert curve from (0, 0), first along x, to (3, 0), walked backwards.
    let mut curve = vec![
        (0, 0),
        (1, 0),
        (1, 1),
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 3),
        (1, 2),
        (2, 2),
        (2, 3),
        (3, 3),
        (3, 2),
        (3, 1),
        (2, 1),
        (2, 0),
        (3, 0),
    ];
    curve.reverse();
    assert_eq!(cells, curve);
    for a in &assets {
        assert_same(a, back.iter().find(|b| b.id == a.id).unwrap());
    }
    // Sixteen leaves fill one node: 16 + 1 nodes.
    let (h, start) = header(&bytes);
    assert_eq!(h.features_count(), 16);
    let root = &bytes[start..start + 40];
    let f = |k: usize| f64::from_le_bytes(root[8 * k..8 * k + 8].try_into().unwrap());
    assert_eq!([f(0), f(1), f(2), f(3)], [121.0, 31.0, 124.0, 34.0]);
    assert_eq!(PackedRTree::index_size(16, 16), 17 * 40);
}

#[test]
fn the_index_finds_features_by_box() {
    // 100 points (a 10 × 10 grid, 0.1° apart) and two polygons: a three-level tree
    // (100 leaves, 7 nodes, the root).
    let mut assets = grid(10, 10, 0.1);
    assets.push(asset(
        "NEAR",
        AssetKind::Building,
        Polygon::new(square(121.40, 31.62, 121.50, 31.70), vec![]),
    ));
    assets.push(asset(
        "FAR",
        AssetKind::Building,
        Polygon::new(square(121.80, 31.80, 121.85, 31.85), vec![]),
    ));
    let mut bytes = Vec::new();
    write_flatgeobuf(&assets, "grid", &mut bytes).unwrap();
    let back = read_back(&bytes);
    assert_eq!(back.len(), 102);
    for a in &assets {
        assert_same(a, back.iter().find(|b| b.id == a.id).unwrap());
    }
    let (h, _) = header(&bytes);
    assert_eq!(
        h.envelope().unwrap().iter().collect::<Vec<f64>>(),
        vec![121.0, 31.0, 121.0 + 9.0 * 0.1, 31.0 + 9.0 * 0.1]
    );

    // Columns 2..=4 and rows 5..=6 of the grid, and NEAR, which overlaps the box.
    let mut found = Vec::new();
    let mut it = FgbReader::open(Cursor::new(&bytes))
        .unwrap()
        .select_bbox(121.15, 31.45, 121.45, 31.65)
        .unwrap();
    while let Some(f) = it.next().unwrap() {
        found.push(f.property::<String>("id").unwrap());
    }
    found.sort();
    assert_eq!(
        found,
        ["NEAR", "X2-5", "X2-6", "X3-5", "X3-6", "X4-5", "X4-6"]
    );
    // A box beside everything finds nothing; one around FAR finds only it.
    let count = |b: [f64; 4]| {
        let mut it = FgbReader::open(Cursor::new(&bytes))
            .unwrap()
            .select_bbox(b[0], b[1], b[2], b[3])
            .unwrap();
        let mut ids = Vec::new();
        while let Some(f) = it.next().unwrap() {
            ids.push(f.property::<String>("id").unwrap());
        }
        ids
    };
    assert!(count([122.5, 32.5, 123.0, 33.0]).is_empty());
    assert_eq!(count([121.82, 31.82, 121.83, 31.83]), ["FAR"]);
}

#[test]
fn no_assets_make_a_valid_empty_file() {
    for index in [true, false] {
        let mut bytes = Vec::new();
        write_flatgeobuf_with(std::iter::empty(), "none", &mut bytes, index).unwrap();
        let (h, end) = header(&bytes);
        assert_eq!(h.features_count(), 0);
        assert_eq!(h.index_node_size(), 0, "no index of nothing");
        assert!(h.envelope().is_none());
        assert_eq!(h.columns().unwrap().len(), 10);
        assert_eq!(end, bytes.len());
        assert!(read_back(&bytes).is_empty());
    }
}

#[test]
fn one_uniform_type_is_named_in_the_header() {
    let polys: Vec<Asset> = (0..3)
        .map(|k| {
            let x = 121.4 + k as f64 * 0.01;
            asset(
                &format!("B{k}"),
                AssetKind::Building,
                Polygon::new(square(x, 31.6, x + 0.005, 31.605), vec![]),
            )
        })
        .collect();
    let mut bytes = Vec::new();
    write_flatgeobuf(&polys, "b", &mut bytes).unwrap();
    assert_eq!(header(&bytes).0.geometry_type(), GeometryType::Polygon);
    assert_eq!(read_back(&bytes).len(), 3);

    let lines = vec![
        asset("R1", AssetKind::Road, ring(&[(121.4, 31.6), (121.5, 31.6)])),
        asset(
            "R2",
            AssetKind::Road,
            MultiLineString(vec![ring(&[(121.4, 31.7), (121.5, 31.7)])]),
        ),
    ];
    let mut bytes = Vec::new();
    write_flatgeobuf(&lines, "r", &mut bytes).unwrap();
    assert_eq!(header(&bytes).0.geometry_type(), GeometryType::Unknown);
}

#[test]
fn nesting_beyond_the_readers_limit_is_refused_without_writing() {
    let nest = |levels: usize| {
        let mut g: Geometry<f64> = Point::new(121.5, 31.5).into();
        for _ in 0..levels {
            g = Geometry::GeometryCollection(GeometryCollection(vec![g]));
        }
        asset("N", AssetKind::Custom("nest".into()), g)
    };
    // Eight collections deep: the reader takes it.
    let ok = nest(8);
    let mut bytes = Vec::new();
    write_flatgeobuf(std::slice::from_ref(&ok), "n", &mut bytes).unwrap();
    assert_same(&ok, &read_back(&bytes)[0]);
    // Nine: refused, naming the asset, and nothing written.
    let mut bytes = Vec::new();
    let err = write_flatgeobuf(&[nest(9)], "n", &mut bytes).unwrap_err();
    assert!(err.to_string().contains("asset N"), "{err}");
    assert!(err.to_string().contains("nested"), "{err}");
    assert!(bytes.is_empty());
}

#[test]
fn column_indexes_fit_in_sixteen_bits() {
    // 10 fixed columns + 65,526 properties = 65,536 columns: the last is column 65535.
    let props = |n: usize| {
        let mut a = asset("WIDE", AssetKind::Building, Point::new(121.5, 31.5));
        for k in 0..n {
            a.properties
                .insert(format!("p{k:05}"), PropValue::Num(k as f64));
        }
        a
    };
    let wide = props(65_526);
    let mut bytes = Vec::new();
    write_flatgeobuf_with([&wide], "wide", &mut bytes, false).unwrap();
    let back = read_back(&bytes);
    assert_eq!(
        back[0].properties.get("p65525"),
        Some(&PropValue::Num(65525.0))
    );
    assert_eq!(back[0].properties.len(), 65_526);
    // One more cannot be numbered.
    let mut bytes = Vec::new();
    let err = write_flatgeobuf_with([&props(65_527)], "wide", &mut bytes, false).unwrap_err();
    assert!(err.to_string().contains("65537 columns"), "{err}");
    assert!(bytes.is_empty());
}

#[test]
fn a_header_readers_would_refuse_is_not_written() {
    // Readers (the flatgeobuf crate, GDAL) take headers up to 10 MiB.
    let a = asset("A", AssetKind::Building, Point::new(121.5, 31.5));
    let limit = 10 * 1024 * 1024;
    for name_len in [limit + 1, limit - 100] {
        let name = "n".repeat(name_len);
        let mut bytes = Vec::new();
        let err = write_flatgeobuf([&a], &name, &mut bytes).unwrap_err();
        assert!(err.to_string().contains("over the 10485760 readers accept"));
        assert!(bytes.is_empty());
    }
    // A long name under the limit is fine.
    let name = "城".repeat(1000);
    let mut bytes = Vec::new();
    write_flatgeobuf([&a], &name, &mut bytes).unwrap();
    assert_eq!(header(&bytes).0.name(), Some(name.as_str()));
}

/// Runs `ogrinfo` with `args`; `None` when GDAL is not installed (CI must have it).
fn ogrinfo(args: &[&str]) -> Option<(String, String)> {
    match std::process::Command::new("ogrinfo").args(args).output() {
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have ogrinfo (gdal-bin)"
            );
            eprintln!("ogrinfo not installed: skipping the GDAL check");
            None
        }
        Ok(o) => {
            let (out, err) = (
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            );
            assert!(o.status.success(), "ogrinfo {args:?}: {err}");
            Some((out, err))
        }
    }
}

#[test]
fn gdal_reads_the_file_and_its_index() {
    let dir = std::env::temp_dir().join(format!("twin-fgbw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("buildings.fgb");
    let mut assets = Vec::new();
    for k in 0..3 {
        let x = 121.40 + k as f64 * 0.01;
        let mut a = asset(
            &format!("CM-BLD-00000{k}"),
            AssetKind::Building,
            Polygon::new(
                square(x, 31.60, x + 0.005, 31.61),
                vec![square(x + 0.001, 31.601, x + 0.002, 31.602)],
            ),
        );
        a.vertical.height = 10.0 + k as f64;
        a.properties
            .insert("floors".into(), PropValue::Num(k as f64 + 2.0));
        a.properties
            .insert("heritage".into(), PropValue::Bool(k == 1));
        assets.push(a);
    }
    assets[0].name_zh = Some("城桥镇".into());
    assets[2]
        .properties
        .insert("grade".into(), PropValue::Num(2.0));
    assets[1]
        .properties
        .insert("grade".into(), PropValue::Str("B".into()));
    write_flatgeobuf(&assets, "buildings", std::fs::File::create(&path).unwrap()).unwrap();
    let file = path.to_str().unwrap();

    let Some((info, err)) = ogrinfo(&["-so", "-al", file]) else {
        return;
    };
    assert!(!err.contains("Warning") && !err.contains("ERROR"), "{err}");
    assert!(info.contains("Layer name: buildings"), "{info}");
    assert!(info.contains("Geometry: Polygon"), "{info}");
    assert!(info.contains("Feature Count: 3"), "{info}");
    assert!(
        info.contains("Extent: (121.400000, 31.600000) - (121.425000, 31.610000)"),
        "{info}"
    );
    assert!(info.contains("ID[\"EPSG\",4326]"), "{info}");
    for field in [
        "id: String",
        "kind: String",
        "name_zh: String",
        "base: Real",
        "height: Real",
        "z_level: String",
        "floors: Real",
        "grade: String",
        "heritage: Integer(Boolean)",
    ] {
        assert!(info.contains(field), "{field} missing:\n{info}");
    }

    // The features, with a known attribute, the mixed column as text and the holes.
    let Some((all, err)) = ogrinfo(&["-al", "-q", file]) else {
        return;
    };
    assert!(!err.contains("Warning") && !err.contains("ERROR"), "{err}");
    assert!(all.contains("name_zh (String) = 城桥镇"), "{all}");
    assert!(all.contains("id (String) = CM-BLD-000002"), "{all}");
    assert!(all.contains("floors (Real) = 3"), "{all}");
    assert!(all.contains("grade (String) = B"), "{all}");
    assert!(all.contains("grade (String) = 2"), "{all}");
    assert!(all.contains("heritage (Integer(Boolean)) = 1"), "{all}");
    assert!(all.contains("height (Real) = 12"), "{all}");
    assert!(
        all.contains(
            "POLYGON ((121.4 31.6,121.405 31.6,121.405 31.61,121.4 31.61,121.4 31.6),\
             (121.401 31.601,121.402 31.601,121.402 31.602,121.401 31.602,121.401 31.601))"
        ),
        "{all}"
    );
    assert_eq!(all.matches("OGRFeature(buildings)").count(), 3, "{all}");

    // A spatial filter (GDAL searches the packed R-tree) around the middle building.
    let Some((some, _)) = ogrinfo(&[
        "-al", "-q", "-spat", "121.411", "31.605", "121.412", "31.606", file,
    ]) else {
        return;
    };
    assert_eq!(some.matches("OGRFeature(buildings)").count(), 1, "{some}");
    assert!(some.contains("id (String) = CM-BLD-000001"), "{some}");
    std::fs::remove_dir_all(&dir).ok();
}
