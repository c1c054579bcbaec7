//! FlatGeobuf reading: bulk binary features, parsed with the `flatgeobuf` crate and
//! decoded with every length checked.
//!
//! Properties are columns; the mapping's property names apply as for GeoJSON. The
//! writer is twin's own, in `fgb_write`.

use std::io::{BufReader, Read, Seek};
use std::sync::Arc;

use fallible_streaming_iterator::FallibleStreamingIterator;
use flatgeobuf::{ColumnType, FgbReader, GeometryType};
use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use serde_json::{Map, Value};

use super::ReadResult;
use super::convert::to_wgs84;
use super::mapping::Mapping;
use crate::error::{FeatureError, LoadError, Problem};

/// Reads a FlatGeobuf file into assets (not yet inserted into a twin).
pub fn read_flatgeobuf(path: &std::path::Path, mapping: &Mapping) -> Result<ReadResult, LoadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| LoadError::Io {
        file: name.clone(),
        source,
    })?;
    read_flatgeobuf_from(BufReader::new(file), &name, mapping)
}

/// Reads FlatGeobuf from any seekable reader; `file` names it in errors.
pub fn read_flatgeobuf_from<R: Read + Seek>(
    reader: R,
    file: &str,
    mapping: &Mapping,
) -> Result<ReadResult, LoadError> {
    read_fgb(reader, file, mapping, &mut |_, _| {})
}

/// A reader that refuses a size prefix larger than the bytes left. The flatgeobuf
/// crate (6.0.1) reads each feature's 4-byte size and zero-fills a buffer of that size
/// before reading it, so a corrupt 756-byte file made it allocate 4 GiB (found by
/// fuzzing, `fuzz/regressions/flatgeobuf/`). Every 4-byte read of a FlatGeobuf file is
/// a size prefix (the header's and each feature's); this wrapper reads those whole and
/// fails with `InvalidData` when the size runs past the end. The crate takes a failed
/// size read for the end of the features, so the refusal is also kept in `refused`
/// for the caller to report.
struct SizeChecked<R> {
    inner: R,
    pos: u64,
    len: u64,
    refused: std::rc::Rc<std::cell::RefCell<Option<String>>>,
}

impl<R: Read + Seek> SizeChecked<R> {
    fn new(mut inner: R) -> std::io::Result<Self> {
        let pos = inner.stream_position()?;
        let len = inner.seek(std::io::SeekFrom::End(0))?;
        inner.seek(std::io::SeekFrom::Start(pos))?;
        Ok(SizeChecked {
            inner,
            pos,
            len,
            refused: Default::default(),
        })
    }
}

impl<R: Read> Read for SizeChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() == 4 {
            self.inner.read_exact(buf)?;
            self.pos += 4;
            let size = u64::from(u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]));
            let left = self.len.saturating_sub(self.pos);
            if size > left {
                let why = format!(
                    "a size prefix of {size} bytes at byte {}, {left} bytes left",
                    self.pos - 4
                );
                *self.refused.borrow_mut() = Some(why.clone());
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
            }
            return Ok(4);
        }
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for SizeChecked<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// [`read_flatgeobuf_from`] with progress (the header's feature count as the total).
pub(crate) fn read_fgb<R: Read + Seek>(
    reader: R,
    file: &str,
    mapping: &Mapping,
    progress: &mut dyn FnMut(usize, Option<usize>),
) -> Result<ReadResult, LoadError> {
    let format = |message: String| LoadError::Format {
        file: file.to_string(),
        message,
    };
    let mut reader = SizeChecked::new(reader).map_err(|e| format(e.to_string()))?;
    let refused = reader.refused.clone();
    // flatgeobuf 6.0.1 computes the index's size from the header's feature count
    // without overflow checks (a panic in debug builds, a wrong size in release: found
    // by fuzzing, fuzz/regressions/flatgeobuf/index-size-overflow.fgb).
    let r = &mut reader;
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        FgbReader::open(r)
            .map_err(|e| format!("not a FlatGeobuf file: {e}"))
            .and_then(|f| {
                f.select_all_seq()
                    .map_err(|e| format!("cannot read features: {e}"))
            })
    }));
    let mut iter = match opened {
        Ok(Ok(iter)) => iter,
        Ok(Err(e)) => return Err(format(e)),
        Err(_) => {
            return Err(format(
                "the header's feature count and index cannot be read (corrupt header)".into(),
            ));
        }
    };
    // The header's CRS (an EPSG code) unless the caller gave one.
    let declared = match iter.header().crs() {
        Some(c) if mapping.file_crs && c.code() != 0 => {
            let org = c.org().unwrap_or("EPSG");
            let name = format!("{org}:{}", c.code());
            Some(name.parse().map_err(|e| LoadError::Mapping {
                file: file.to_string(),
                message: format!(
                    "the file's header declares {name}, which this build cannot convert: {e} (give another CRS with --crs, or build with the proj feature)"
                ),
            })?)
        }
        _ => None,
    };
    let (mapping, transformer) = mapping.for_file(declared, file)?;
    let mapping = &mapping;
    let header_type = iter.header().geometry_type();
    let columns: Vec<(String, ColumnType)> = iter
        .header()
        .columns()
        .map(|cs| {
            cs.iter()
                .map(|c| (c.name().to_string(), c.type_()))
                .collect()
        })
        .unwrap_or_default();
    let file: Arc<str> = Arc::from(file);
    // A streamed file says 0: no total. Never trusted for allocation.
    let total = usize::try_from(iter.header().features_count())
        .ok()
        .filter(|n| *n > 0);
    // Room for the header's count up front (growing a vector of assets by doubling
    // copied each one several times), capped: a header may lie.
    let mut out = Vec::with_capacity(total.unwrap_or(0).min(1 << 20));
    let mut index = 0usize;
    loop {
        let feature = match iter.next() {
            Ok(Some(f)) => f,
            Ok(None) => {
                if let Some(why) = refused.borrow_mut().take() {
                    return Err(format(format!(
                        "feature {index}: {why} (truncated or corrupt file)"
                    )));
                }
                break;
            }
            Err(e) => {
                // The rest of the file cannot be read: a truncated or corrupt file.
                return Err(format(format!(
                    "feature {index}: {e} (truncated or corrupt file)"
                )));
            }
        };
        let err = |id: Option<String>, problem: Problem| FeatureError {
            file: file.clone(),
            index,
            id,
            problem,
        };
        let props = feature
            .fbs_feature()
            .properties()
            .map(|p| read_properties(p.bytes(), &columns))
            .unwrap_or_else(|| Ok(Map::new()));
        let result = match props {
            Err(e) => Err(err(None, Problem::Decode(e))),
            Ok(props) => {
                // A FlatGeobuf feature's own id is its index (GDAL's FID), only when
                // the mapping asks for it (a file without an id column must not load
                // with ids nobody chose).
                let fid =
                    (mapping.id == super::mapping::IdSource::Feature).then(|| index.to_string());
                let geometry = feature
                    .fbs_feature()
                    .geometry()
                    .ok_or(Problem::MissingGeometry)
                    .and_then(|g| decode_geometry(&g, header_type, 0).map_err(Problem::Decode))
                    .and_then(|g| to_wgs84(g, &transformer));
                match geometry {
                    // The id is looked up only for an error that names it.
                    Err(p) => Err(err(
                        mapping.id_guess(Some(&props), fid.as_deref(), &file, index),
                        p,
                    )),
                    Ok(g) => mapping
                        .asset_from_properties(Some(props), fid.as_deref(), g, &file, index)
                        .map_err(|(id, p)| err(id, p)),
                }
            }
        };
        out.push(result);
        index += 1;
        super::tick(progress, index, total);
    }
    Ok(out)
}

/// Decodes a FlatGeobuf geometry with every index checked (the flatgeobuf crate's own
/// decoder panics when `ends` and `xy` disagree in a corrupt file).
fn decode_geometry(
    g: &flatgeobuf::Geometry<'_>,
    header_type: GeometryType,
    depth: usize,
) -> Result<Geometry<f64>, String> {
    if depth > 8 {
        return Err("geometry nested too deeply".into());
    }
    let ty = if header_type == GeometryType::Unknown {
        g.type_()
    } else {
        header_type
    };
    let xy: Vec<f64> = g.xy().map(|v| v.iter().collect()).unwrap_or_default();
    if !xy.len().is_multiple_of(2) {
        return Err(format!("{} coordinate values: not x,y pairs", xy.len()));
    }
    let coords: Vec<Coord<f64>> = xy
        .chunks_exact(2)
        .map(|c| Coord { x: c[0], y: c[1] })
        .collect();
    let ends: Vec<usize> = g
        .ends()
        .map(|v| v.iter().map(|e| e as usize).collect())
        .unwrap_or_default();
    // Splits the coordinates at `ends` (one run when there are none).
    let runs = || -> Result<Vec<LineString<f64>>, String> {
        if ends.is_empty() {
            return Ok(vec![LineString::new(coords.clone())]);
        }
        let mut start = 0usize;
        let mut out = Vec::with_capacity(ends.len());
        for &end in &ends {
            if end <= start || end > coords.len() {
                return Err(format!(
                    "ring/part end {end} outside {start}..={}",
                    coords.len()
                ));
            }
            out.push(LineString::new(coords[start..end].to_vec()));
            start = end;
        }
        Ok(out)
    };
    // Parts of a multipolygon are polygons (writers need not tag them); parts of a
    // collection carry their own type.
    let parts = |part_type: GeometryType| -> Result<Vec<Geometry<f64>>, String> {
        g.parts()
            .map(|ps| {
                ps.iter()
                    .map(|p| decode_geometry(&p, part_type, depth + 1))
                    .collect()
            })
            .unwrap_or_else(|| Ok(Vec::new()))
    };
    let polygon = |mut rings: Vec<LineString<f64>>| -> Result<Polygon<f64>, String> {
        if rings.is_empty() || rings[0].0.is_empty() {
            return Err("polygon without rings".into());
        }
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    };
    Ok(match ty {
        GeometryType::Point => match coords.first() {
            Some(c) => Geometry::Point(Point(*c)),
            None => return Err("point without coordinates".into()),
        },
        GeometryType::MultiPoint => {
            Geometry::MultiPoint(MultiPoint(coords.iter().map(|c| Point(*c)).collect()))
        }
        GeometryType::LineString => Geometry::LineString(LineString::new(coords)),
        GeometryType::MultiLineString => Geometry::MultiLineString(MultiLineString(runs()?)),
        GeometryType::Polygon => Geometry::Polygon(polygon(runs()?)?),
        GeometryType::MultiPolygon => {
            let ps = parts(GeometryType::Polygon)?;
            if ps.is_empty() {
                // Written without parts: a single polygon in xy/ends.
                Geometry::MultiPolygon(MultiPolygon(vec![polygon(runs()?)?]))
            } else {
                let polys = ps
                    .into_iter()
                    .map(|p| match p {
                        Geometry::Polygon(p) => Ok(p),
                        _ => Err("a multipolygon part is not a polygon".to_string()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Geometry::MultiPolygon(MultiPolygon(polys))
            }
        }
        GeometryType::GeometryCollection => {
            Geometry::GeometryCollection(GeometryCollection(parts(GeometryType::Unknown)?))
        }
        other => return Err(format!("unsupported FlatGeobuf geometry type {other:?}")),
    })
}

/// Decodes a feature's property bytes with every length checked: the flatgeobuf
/// crate's own decoder indexes slices unchecked and panics on a corrupt file.
fn read_properties(
    bytes: &[u8],
    columns: &[(String, ColumnType)],
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| {
                format!(
                    "property bytes end early (need {n} at offset {at} of {})",
                    bytes.len()
                )
            })?;
        let s = &bytes[*at..end];
        *at = end;
        Ok(s)
    };
    fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&s[..N]);
        a
    }
    while at < bytes.len() {
        if bytes.len() - at < 2 {
            // A trailing byte after the last value: tolerated, as GDAL writes it.
            break;
        }
        let ci = u16::from_le_bytes(arr(take(&mut at, 2)?)) as usize;
        let (name, ty) = columns.get(ci).ok_or_else(|| {
            format!(
                "property refers to column {ci}, the file has {}",
                columns.len()
            )
        })?;
        let value = match *ty {
            ColumnType::Bool => Value::Bool(take(&mut at, 1)?[0] != 0),
            ColumnType::Byte => Value::from(take(&mut at, 1)?[0] as i8),
            ColumnType::UByte => Value::from(take(&mut at, 1)?[0]),
            ColumnType::Short => Value::from(i16::from_le_bytes(arr(take(&mut at, 2)?))),
            ColumnType::UShort => Value::from(u16::from_le_bytes(arr(take(&mut at, 2)?))),
            ColumnType::Int => Value::from(i32::from_le_bytes(arr(take(&mut at, 4)?))),
            ColumnType::UInt => Value::from(u32::from_le_bytes(arr(take(&mut at, 4)?))),
            ColumnType::Long => Value::from(i64::from_le_bytes(arr(take(&mut at, 8)?))),
            ColumnType::ULong => Value::from(u64::from_le_bytes(arr(take(&mut at, 8)?))),
            ColumnType::Float => Value::from(f64::from(f32::from_le_bytes(arr(take(&mut at, 4)?)))),
            ColumnType::Double => Value::from(f64::from_le_bytes(arr(take(&mut at, 8)?))),
            ColumnType::String | ColumnType::Json | ColumnType::DateTime | ColumnType::Binary => {
                let len = u32::from_le_bytes(arr(take(&mut at, 4)?)) as usize;
                let raw = take(&mut at, len)?;
                if *ty == ColumnType::Binary {
                    continue;
                }
                let text = std::str::from_utf8(raw)
                    .map_err(|_| format!("property `{name}` is not valid UTF-8"))?;
                Value::String(text.to_string())
            }
            other => return Err(format!("property `{name}` has unsupported type {other:?}")),
        };
        // JSON numbers cannot be NaN: keep such a value as text so the mapping refuses it.
        let value = match value {
            Value::Null => Value::String("NaN".into()),
            v => v,
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}
