//! Snapshots: the whole live twin — assets, the latest state of every channel, the
//! alert rules, the open alerts, and the incidents and work orders — in one versioned
//! file, written atomically.
//!
//! ## Format (version 1)
//! `TWINSNAP` magic, a little-endian `u32` version, the local frame's origin (three
//! `f64`), a `u32` section count, then sections, each a `u8` kind, a `u64` length, a
//! CRC-32 of its bytes and the bytes:
//!
//! | kind | holds |
//! |---|---|
//! | 1 | the assets, as FlatGeobuf (WGS84, every property, in handle order) |
//! | 2 | the channels, as JSON (`name`, `type`, `unit`) |
//! | 3 | the latest state: 23-byte rows (asset index `u32`, channel `u16`, quality `u8`, time `i64`, value `f64`) |
//! | 4 | the alert rules, as the JSON `load_rules_json` reads |
//! | 5 | the open alerts, as JSON |
//! | 6 | 3D surfaces ([`crate::Surfaces`]), optional: per asset that has them, its index `u32`, vertex and triangle counts (`u32`), the vertices (three `f64`), the triangles (three `u32`), one role `u8` per triangle (0 roof, 1 wall, 2 ground, 3 other) |
//! | 7 | incidents and work orders, as JSON ([`crate::session::manage::SavedManagement`]), optional |
//! | 8 | the alert engine's evaluation state: next alert number, last silence scan, every (rule, asset) watch (pending run, open alert, last sample), optional |
//!
//! History is not saved: a restored twin starts its history from the snapshot.
//!
//! ## Safety
//! [`save`] writes a temporary file beside the target, syncs it to disk and renames it
//! over the target, so a crash leaves either the old snapshot or the new one, never a
//! mix. [`load`] checks the magic, the version, every length and every checksum before
//! it builds anything, and refuses a truncated or corrupted file with a
//! [`SnapshotError`] that says which part is wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::asset::Handle;
use crate::crs::LocalFrame;
use crate::load::{LoadMode, Mapping};
use crate::session::{Session, SessionConfig};
use crate::state::alert::{Alert, AlertState, Severity};
use crate::state::{ChannelId, ChannelSpec, ChannelType, Quality, Sample, StateStore};
use crate::time::Timestamp;
use crate::twin::Twin;

const MAGIC: &[u8; 8] = b"TWINSNAP";
/// The snapshot format version this build writes and reads.
pub const VERSION: u32 = 1;
const ROW: usize = 4 + 2 + 1 + 8 + 8;

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing the file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a snapshot, is of another version, truncated or corrupted.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

fn section(out: &mut impl Write, kind: u8, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&[kind])?;
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(&crc32fast::hash(bytes).to_le_bytes())?;
    out.write_all(bytes)
}

fn channel_json(spec: &ChannelSpec) -> Json {
    let ty = match &spec.ty {
        ChannelType::Number => json!("number"),
        ChannelType::Bool => json!("bool"),
        ChannelType::Enum(states) => json!({ "enum": states }),
    };
    json!({ "name": spec.name, "type": ty, "unit": spec.unit })
}

/// The snapshot bytes of a live session.
pub fn to_bytes(live: &Session) -> Result<Vec<u8>, SnapshotError> {
    let mut out = std::io::Cursor::new(Vec::new());
    write_to(live, &mut out).map_err(|source| SnapshotError::Io {
        file: "snapshot".into(),
        source,
    })??;
    Ok(out.into_inner())
}

/// Counts and checksums what goes through it to `inner`.
struct Summing<'a, W> {
    inner: &'a mut W,
    len: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Summing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A section whose bytes are written by `body` straight to `out` (not gathered
/// first): its length and CRC are written after it, over placeholders. `body`'s
/// own error is returned inside.
fn section_streamed<W: Write + std::io::Seek, E>(
    out: &mut W,
    kind: u8,
    body: impl FnOnce(&mut Summing<'_, W>) -> Result<(), E>,
) -> std::io::Result<Result<(), E>> {
    out.write_all(&[kind])?;
    let at = out.stream_position()?;
    out.write_all(&[0; 12])?;
    let mut w = Summing {
        inner: out,
        len: 0,
        crc: crc32fast::Hasher::new(),
    };
    if let Err(e) = body(&mut w) {
        return Ok(Err(e));
    }
    let (len, crc) = (w.len, w.crc.finalize());
    let end = out.stream_position()?;
    out.seek(std::io::SeekFrom::Start(at))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&crc.to_le_bytes())?;
    out.seek(std::io::SeekFrom::Start(end))?;
    Ok(Ok(()))
}

/// Writes the snapshot to `out` section by section, so that a save holds one
/// section at a time and not the whole snapshot twice (the island's is 41 MB), and
/// the assets' FlatGeobuf (35 MB of it) goes straight to `out`. The outer error is
/// `out`'s, the inner the snapshot's.
fn write_to<W: Write + std::io::Seek>(
    live: &Session,
    out: &mut W,
) -> std::io::Result<Result<(), SnapshotError>> {
    let twin = live.twin();
    let assets: Vec<(Handle, &crate::Asset)> = twin.iter().collect();
    let mut index_of = vec![u32::MAX; twin.handle_capacity()];
    for (i, (h, _)) in assets.iter().enumerate() {
        index_of[h.index()] = i as u32;
    }
    // A relation may name an asset removed since (Twin::remove keeps the id): the
    // snapshot drops such dangling relations so that it loads strictly.
    // Only those are cloned (a Vec<Option<Asset>> for all of the island's assets
    // took 47 MB at every checkpoint).
    let dangling = |r: &Option<String>| r.as_deref().is_some_and(|id| twin.handle(id).is_none());
    let fixed: std::collections::HashMap<usize, crate::Asset> = assets
        .iter()
        .enumerate()
        .filter(|(_, (_, a))| dangling(&a.attached_to) || dangling(&a.part_of))
        .map(|(i, (_, a))| {
            let mut a = (*a).clone();
            if dangling(&a.attached_to) {
                a.attached_to = None;
            }
            if dangling(&a.part_of) {
                a.part_of = None;
            }
            (i, a)
        })
        .collect();
    let to_write: Vec<&crate::Asset> = assets
        .iter()
        .enumerate()
        .map(|(i, (_, a))| fixed.get(&i).unwrap_or(a))
        .collect();
    let channels: Vec<Json> = live
        .store()
        .channels()
        .map(|(_, s)| channel_json(s))
        .collect();
    let mut rows = Vec::new();
    for (c, _) in live.store().channels() {
        for (h, _) in &assets {
            if let Some(l) = live.store().latest(*h, c) {
                rows.extend_from_slice(&index_of[h.index()].to_le_bytes());
                rows.extend_from_slice(&c.0.to_le_bytes());
                rows.push(l.quality as u8);
                rows.extend_from_slice(&l.ts.as_millis().to_le_bytes());
                rows.extend_from_slice(&l.value.to_le_bytes());
            }
        }
    }
    let alerts: Vec<Json> = live
        .alerts()
        .open()
        .filter(|a| twin.handle(&a.asset_id) == Some(a.asset))
        .map(|a| {
            json!({
                "id": a.id, "rule": a.rule, "asset": a.asset_id, "severity": a.severity.as_str(),
                "raised_at": a.raised_at, "value": a.value,
                "acknowledged_at": a.acknowledged_at,
            })
        })
        .collect();
    let f = twin.frame();
    let management = match serde_json::to_vec(&live.save_management()) {
        Ok(m) => m,
        Err(e) => {
            return Ok(Err(SnapshotError::Invalid {
                file: "snapshot".into(),
                message: format!("incidents and orders: {e}"),
            }));
        }
    };
    out.write_all(MAGIC)?;
    out.write_all(&VERSION.to_le_bytes())?;
    for v in [f.origin_lon(), f.origin_lat(), f.origin_height()] {
        out.write_all(&v.to_le_bytes())?;
    }
    out.write_all(&8u32.to_le_bytes())?;
    // Without a spatial index, so that features keep handle order: state rows refer
    // to assets by their position.
    let written = section_streamed(out, 1, |w| {
        crate::load::write_flatgeobuf_with(to_write.iter().copied(), "twin", w, false)
    })?;
    if let Err(e) = written {
        return Ok(Err(SnapshotError::Invalid {
            file: "snapshot".into(),
            message: e.to_string(),
        }));
    }
    drop(to_write);
    drop(fixed);
    section(out, 2, Json::Array(channels).to_string().as_bytes())?;
    section(out, 3, &rows)?;
    drop(rows);
    section(out, 4, live.alerts().rules_json(live.store()).as_bytes())?;
    section(out, 5, Json::Array(alerts).to_string().as_bytes())?;
    section(out, 6, &surfaces_bytes(&assets))?;
    section(out, 7, &management)?;
    let engine = live.alert_state(|h| index_of.get(h as usize).copied().filter(|i| *i != u32::MAX));
    section(out, 8, &engine)?;
    Ok(Ok(()))
}

/// Section 6: the assets' 3D surfaces.
fn surfaces_bytes(assets: &[(Handle, &crate::Asset)]) -> Vec<u8> {
    use crate::asset::SurfaceRole;
    let mut out = Vec::new();
    for (i, (_, a)) in assets.iter().enumerate() {
        let Some(s) = &a.surfaces else {
            continue;
        };
        // Fields are public: a set a reader would refuse (a role per triangle, indices
        // in range) is left out rather than written.
        let nv = s.vertices.len();
        if s.roles.len() != s.triangles.len()
            || u32::try_from(nv).is_err()
            || s.triangles.iter().flatten().any(|&k| k as usize >= nv)
        {
            continue;
        }
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&(s.vertices.len() as u32).to_le_bytes());
        out.extend_from_slice(&(s.triangles.len() as u32).to_le_bytes());
        for v in &s.vertices {
            v.iter()
                .for_each(|c| out.extend_from_slice(&c.to_le_bytes()));
        }
        for t in &s.triangles {
            t.iter()
                .for_each(|c| out.extend_from_slice(&c.to_le_bytes()));
        }
        out.extend(s.roles.iter().map(|r| match r {
            SurfaceRole::Roof => 0u8,
            SurfaceRole::Wall => 1,
            SurfaceRole::Ground => 2,
            SurfaceRole::Other => 3,
        }));
    }
    out
}

/// Reads section 6 into `read` (the assets in file order).
fn read_surfaces(bytes: &[u8], read: &mut crate::load::ReadResult) -> Result<(), String> {
    use crate::asset::{SurfaceRole, Surfaces};
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if n > rest.len() {
            return Err("truncated".into());
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    let u32_of = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut rest = bytes;
    let mut next = 0usize;
    while !rest.is_empty() {
        let head = take(&mut rest, 12)?;
        let (i, nv, nt) = (
            u32_of(&head[0..4]) as usize,
            u32_of(&head[4..8]) as usize,
            u32_of(&head[8..12]) as usize,
        );
        if i < next {
            return Err(format!("asset {i} comes twice or out of order"));
        }
        next = i + 1;
        let vs = take(&mut rest, nv.checked_mul(24).ok_or("too many vertices")?)?;
        let ts = take(&mut rest, nt.checked_mul(12).ok_or("too many triangles")?)?;
        let rs = take(&mut rest, nt)?;
        let f = |b: &[u8]| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let vertices: Vec<[f64; 3]> = vs
            .chunks_exact(24)
            .map(|c| [f(&c[0..8]), f(&c[8..16]), f(&c[16..24])])
            .collect();
        if let Some(v) = vertices
            .iter()
            .find(|v| !v.iter().all(|c| c.is_finite()) || v[0].abs() > 180.0 || v[1].abs() > 90.0)
        {
            return Err(format!(
                "asset {i}: vertex {v:?} is no longitude, latitude, height"
            ));
        }
        let mut triangles = Vec::with_capacity(nt);
        for c in ts.chunks_exact(12) {
            let t = [u32_of(&c[0..4]), u32_of(&c[4..8]), u32_of(&c[8..12])];
            if t.iter().any(|&k| k as usize >= nv) {
                return Err(format!("asset {i}: a triangle names vertex {t:?} of {nv}"));
            }
            triangles.push(t);
        }
        let roles = rs
            .iter()
            .map(|r| match r {
                0 => Ok(SurfaceRole::Roof),
                1 => Ok(SurfaceRole::Wall),
                2 => Ok(SurfaceRole::Ground),
                3 => Ok(SurfaceRole::Other),
                r => Err(format!("asset {i}: unknown surface role {r}")),
            })
            .collect::<Result<_, _>>()?;
        match read.get_mut(i) {
            Some(Ok(a)) => {
                a.surfaces = Some(std::sync::Arc::new(Surfaces {
                    vertices,
                    triangles,
                    roles,
                }));
            }
            _ => return Err(format!("asset {i} is not in the snapshot")),
        }
    }
    Ok(())
}

/// Writes the snapshot atomically: temporary file, fsync, rename.
pub fn save(live: &Session, path: &Path) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        file: path.display().to_string(),
        source,
    };
    let tmp = temp_path(path);
    {
        // Written as it is built (write_to), closed before the rename.
        let f = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let written = write_to(live, &mut w).and_then(|built| {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            Ok(built)
        });
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(io(e));
            }
        }
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The temporary file a save writes before renaming it over `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Reads a snapshot file into a live session kept as `config` says (history starts
/// empty; the session's clock starts at the newest restored sample).
pub fn load(path: &Path, config: SessionConfig) -> Result<Session, SnapshotError> {
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
        file: path.display().to_string(),
        source,
    })?;
    from_bytes(&bytes, &path.display().to_string(), config)
}

/// Builds a live session from snapshot bytes; `file` names them in errors.
pub fn from_bytes(
    bytes: &[u8],
    file: &str,
    config: SessionConfig,
) -> Result<Session, SnapshotError> {
    let bad = |message: String| SnapshotError::Invalid {
        file: file.to_string(),
        message,
    };
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(bad("not a twin snapshot (no TWINSNAP header)".into()));
    }
    let mut at = 8usize;
    let mut take = |n: usize, what: &str| -> Result<&[u8], SnapshotError> {
        let end = at
            .checked_add(n)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| {
                bad(format!(
                    "truncated: {what} needs {n} bytes at offset {at}, the file has {}",
                    bytes.len()
                ))
            })?;
        let s = &bytes[at..end];
        at = end;
        Ok(s)
    };
    let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let f64_at = |s: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&s[..8]);
        f64::from_le_bytes(a)
    };
    let version = u32_at(take(4, "the version")?);
    if version != VERSION {
        return Err(bad(format!(
            "snapshot version {version}; this build reads version {VERSION}"
        )));
    }
    let lon = f64_at(take(8, "the frame")?);
    let lat = f64_at(take(8, "the frame")?);
    let h = f64_at(take(8, "the frame")?);
    let frame = LocalFrame::try_new(lon, lat, h).map_err(|e| bad(format!("frame: {e}")))?;
    let count = u32_at(take(4, "the section count")?);
    let mut sections: Vec<(u8, &[u8])> = Vec::new();
    for i in 0..count {
        let head = take(13, "a section header")?;
        let kind = head[0];
        let mut len = [0u8; 8];
        len.copy_from_slice(&head[1..9]);
        let len = u64::from_le_bytes(len);
        let crc = u32_at(&head[9..13]);
        let len = usize::try_from(len).map_err(|_| bad(format!("section {i} is too large")))?;
        let body = take(len, &format!("section {i} (kind {kind})"))?;
        if crc32fast::hash(body) != crc {
            return Err(bad(format!(
                "corrupted: checksum of section {i} (kind {kind}) does not match"
            )));
        }
        sections.push((kind, body));
    }
    if at != bytes.len() {
        return Err(bad(format!(
            "{} unexpected bytes after the last section",
            bytes.len() - at
        )));
    }
    let get = |kind: u8| {
        sections
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| *b)
            .ok_or_else(|| bad(format!("section kind {kind} is missing")))
    };

    // Assets.
    let mut read =
        crate::load::read_flatgeobuf_from(std::io::Cursor::new(get(1)?), file, &Mapping::default())
            .map_err(|e| bad(format!("assets: {e}")))?;
    // 3D surfaces (absent from snapshots written before they existed).
    if let Ok(shells) = get(6) {
        read_surfaces(shells, &mut read).map_err(|e| bad(format!("surfaces: {e}")))?;
    }
    let mut twin = Twin::new(frame);
    let report = twin
        .insert_read(read, LoadMode::Strict)
        .map_err(|e| bad(format!("assets: {e}")))?;
    let handles = report.inserted;

    // Channels.
    let mut store = StateStore::new(
        twin.handle_capacity(),
        config.retention,
        config.history_budget_bytes,
    );
    let channels: Vec<Json> =
        serde_json::from_slice(get(2)?).map_err(|e| bad(format!("channels: {e}")))?;
    for c in &channels {
        let name = c["name"]
            .as_str()
            .ok_or_else(|| bad("channels: a channel without a name".into()))?;
        let ty = match &c["type"] {
            Json::String(s) if s == "number" => ChannelType::Number,
            Json::String(s) if s == "bool" => ChannelType::Bool,
            Json::Object(o) => ChannelType::Enum(
                o.get("enum")
                    .and_then(Json::as_array)
                    .ok_or_else(|| bad(format!("channels: `{name}` has a bad enum")))?
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect(),
            ),
            other => return Err(bad(format!("channels: `{name}` has unknown type {other}"))),
        };
        store.register(ChannelSpec {
            name: name.to_string(),
            ty,
            unit: c["unit"].as_str().map(str::to_string),
        });
    }

    // Latest state.
    let rows = get(3)?;
    if rows.len() % ROW != 0 {
        return Err(bad("state: rows are not whole".into()));
    }
    let mut samples = Vec::with_capacity(rows.len() / ROW);
    let mut newest = Timestamp::from_millis(i64::MIN);
    for r in rows.chunks_exact(ROW) {
        let idx = u32_at(&r[0..4]) as usize;
        let channel = ChannelId(u16::from_le_bytes([r[4], r[5]]));
        let quality = Quality::from_u8(r[6]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&r[7..15]);
        let ts = Timestamp::from_millis(i64::from_le_bytes(ts));
        let value = f64_at(&r[15..23]);
        let handle = *handles
            .get(idx)
            .ok_or_else(|| bad(format!("state: asset index {idx} out of range")))?;
        newest = newest.max(ts);
        samples.push(Sample {
            handle,
            channel,
            ts,
            value,
            quality,
        });
    }
    let report = store.apply(&samples, newest);
    if report.rejected_total() > 0 {
        return Err(bad(format!(
            "state: {} rows refused ({:?})",
            report.rejected_total(),
            report.examples.first()
        )));
    }
    // The restored latest values are not "changes" for a renderer's first frame.
    store.take_changed();

    // Rules and open alerts.
    let rules_text = std::str::from_utf8(get(4)?).map_err(|e| bad(format!("rules: {e}")))?;
    let mut live = Session::from_parts(twin, store, Vec::new(), config);
    live.set_rules_json(rules_text)
        .map_err(|e| bad(format!("rules: {e}")))?;
    // Incidents and orders (absent from snapshots written before they existed).
    if let Ok(bytes) = get(7) {
        let saved: crate::session::manage::SavedManagement =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("incidents and orders: {e}")))?;
        live.restore_management(saved);
    }
    let alerts: Vec<Json> =
        serde_json::from_slice(get(5)?).map_err(|e| bad(format!("alerts: {e}")))?;
    let mut restored = Vec::with_capacity(alerts.len());
    for a in alerts {
        let asset_id = a["asset"].as_str().unwrap_or_default().to_string();
        let asset = live
            .twin()
            .handle(&asset_id)
            .ok_or_else(|| bad(format!("alerts: unknown asset `{asset_id}`")))?;
        let acknowledged_at = a["acknowledged_at"].as_i64().map(Timestamp::from_millis);
        restored.push(Alert {
            id: a["id"].as_u64().unwrap_or(0),
            rule: a["rule"].as_str().unwrap_or_default().to_string(),
            asset,
            asset_id,
            town: live.twin().located_in(asset),
            severity: Severity::parse(a["severity"].as_str().unwrap_or(""))
                .unwrap_or(Severity::Warning),
            raised_at: Timestamp::from_millis(a["raised_at"].as_i64().unwrap_or(0)),
            value: a["value"].as_f64().unwrap_or(f64::NAN),
            state: if acknowledged_at.is_some() {
                AlertState::Acknowledged
            } else {
                AlertState::Raised
            },
            acknowledged_at,
            cleared_at: None,
        });
    }
    let orphans = live.restore_alerts(restored);
    if let Some(o) = orphans.first() {
        return Err(bad(format!(
            "alerts: alert {} names unknown rule `{}`",
            o.id, o.rule
        )));
    }
    // The engine's evaluation state (absent from snapshots written before it was kept).
    if let Ok(engine) = get(8) {
        live.restore_alert_state(engine, &handles)
            .map_err(|e| bad(format!("alert engine: {e}")))?;
    }
    Ok(live)
}
