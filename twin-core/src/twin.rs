//! The twin: every asset by id and handle, its local-frame geometry, the spatial index
//! and the located-in relation.

use std::collections::{BTreeMap, HashMap};

/// Hash maps keyed by asset ids: foldhash, seeded per process (see Cargo.toml).
type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use geo::{BoundingRect, Contains, InteriorPoint, Intersects, MapCoords};
use geo_types::{Geometry, Point, Rect};

use crate::asset::{Asset, Handle, Source};
use crate::crs::LocalFrame;
use crate::error::{FeatureError, LoadError, Problem, TwinError};
use crate::ids::IdIndex;
use crate::index::{Entry, SpatialIndex};
use crate::kind::AssetKind;
use crate::load::{self, LoadMode, LoadReport, Mapping};
use crate::par;

/// An asset held by the twin, with what the twin derives from it.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) asset: Asset,
    /// The geometry in the twin's local frame (east/north metres).
    pub(crate) local: Geometry<f64>,
    pub(crate) entry: Entry,
    /// The town (for towns: the island) whose area holds the asset's interior point.
    pub(crate) located_in: Option<Handle>,
}

/// The digital twin: assets with stable ids and dense handles, a local metric frame,
/// an R-tree, and the relations between assets.
///
/// Every change is validated first and applied whole or not at all (a lenient load
/// applies the valid part); nothing already held is lost to bad input.
#[derive(Debug)]
pub struct Twin {
    frame: LocalFrame,
    pub(crate) slots: Vec<Option<Slot>>,
    by_id: IdIndex,
    pub(crate) index: SpatialIndex,
    /// One tree per kind, for queries with a kind filter: a filtered nearest-neighbour
    /// search need not walk past every asset of the other kinds.
    pub(crate) by_kind: BTreeMap<AssetKind, SpatialIndex>,
    /// The lon/lat bounding box of every handle's geometry, dense and apart from the
    /// slots so a box query reads 32 bytes per candidate, not a whole asset.
    pub(crate) lonlat_boxes: Vec<Rect<f64>>,
    /// Some asset lies where the local frame's projection folds or stretches (more
    /// than 60° of longitude from its origin, or wider than 90°: a world map in a frame
    /// centred on Shanghai). Lon/lat queries then test every asset's lon/lat box
    /// instead of trusting the local index. A count of such assets, so removing or
    /// moving them back makes the twin narrow again.
    pub(crate) wide: usize,
}

/// The centre of lon/lat boxes: the middle of their latitudes, and of the shortest arc
/// of longitude that holds them (so data on both sides of the antimeridian, Fiji or
/// Chukotka, is centred at 180°, not at 0°).
fn data_centre(boxes: &[Rect<f64>]) -> Option<(f64, f64)> {
    let lat0 = boxes
        .iter()
        .map(|b| b.min().y)
        .fold(f64::INFINITY, f64::min);
    let lat1 = boxes
        .iter()
        .map(|b| b.max().y)
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lat0.is_finite() && lat1.is_finite()) {
        return None;
    }
    // The arc from the largest gap between the boxes' longitude spans.
    let mut spans: Vec<(f64, f64)> = boxes.iter().map(|b| (b.min().x, b.max().x)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut gap, mut after) = (0.0f64, spans[0].0);
    let mut reach = spans[0].1;
    for &(lo, hi) in &spans[1..] {
        if lo - reach > gap {
            gap = lo - reach;
            after = lo;
        }
        reach = reach.max(hi);
    }
    // The wrap-around gap, from the easternmost reach to the westernmost start.
    let wrap = spans[0].0 + 360.0 - reach;
    let lon = if wrap >= gap {
        (spans[0].0 + reach) / 2.0
    } else {
        // The data runs from `after` eastwards across 180° to the end before the gap.
        let end = after - gap + 360.0;
        let mid = (after + end) / 2.0;
        if mid > 180.0 { mid - 360.0 } else { mid }
    };
    Some((lon, (lat0 + lat1) / 2.0))
}

/// Whether a lon/lat box is out of reach of a frame at `origin_lon` (see
/// [`Twin::wide`]).
fn is_wide(origin_lon: f64, b: &Rect<f64>) -> bool {
    let off = |lon: f64| ((lon - origin_lon + 180.0).rem_euclid(360.0) - 180.0).abs();
    b.width() > 90.0 || off(b.min().x) > 60.0 || off(b.max().x) > 60.0
}

/// Whether a new batch is big enough, relative to the tree, to rebuild it by bulk load.
fn rebuild_worthwhile(existing: usize, added: usize) -> bool {
    existing == 0 || added * 4 >= existing
}

impl Twin {
    /// An empty twin whose local metric frame is centred at `frame`'s origin.
    pub fn new(frame: LocalFrame) -> Self {
        Twin {
            frame,
            slots: Vec::new(),
            by_id: IdIndex::default(),
            index: SpatialIndex::default(),
            by_kind: BTreeMap::new(),
            lonlat_boxes: Vec::new(),
            wide: 0,
        }
    }

    /// The R-tree of asset envelopes (local frame), for callers that need raw
    /// envelope queries or statistics.
    pub fn index(&self) -> &SpatialIndex {
        &self.index
    }

    /// The trees a query with this filter must search: the global one without a
    /// filter, else the per-kind trees of the kinds that pass it.
    pub(crate) fn trees(&self, filter: Option<&crate::query::KindFilter>) -> Vec<&SpatialIndex> {
        match filter {
            None => vec![&self.index],
            Some(f) => self
                .by_kind
                .iter()
                .filter(|(k, _)| f.matches(k))
                .map(|(_, t)| t)
                .collect(),
        }
    }

    /// The local metric frame used for the index, distances and rendering.
    pub fn frame(&self) -> &LocalFrame {
        &self.frame
    }

    /// Number of assets held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when the twin holds no asset.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// One past the highest handle ever given: the length per-asset arrays need.
    pub fn handle_capacity(&self) -> usize {
        self.slots.len()
    }

    /// Names the handle assignment: two twins with equal fingerprints give every
    /// asset the same handle, so a screen that loaded the same assets can use a
    /// server's handles as they are. FNV-1a 64 over the handle capacity (u32, little
    /// endian) and then, per handle in order, the asset's id bytes and `0xFF` (a hole is
    /// `0xFF` alone); 16 lower-case hex digits (a string, since a u64 does not fit a
    /// JavaScript number). Defined byte by byte so that native and wasm builds agree.
    pub fn fingerprint(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = OFFSET;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(PRIME);
            }
        };
        eat(&(self.slots.len() as u32).to_le_bytes());
        for slot in &self.slots {
            if let Some(s) = slot {
                eat(s.asset.id.as_bytes());
            }
            eat(&[0xFF]);
        }
        format!("{hash:016x}")
    }

    /// The handle of the asset with this id.
    pub fn handle(&self, id: &str) -> Option<Handle> {
        self.by_id.get(id, id_in(&self.slots))
    }

    /// The asset with this handle.
    pub fn get(&self, h: Handle) -> Option<&Asset> {
        self.slot(h).map(|s| &s.asset)
    }

    /// The asset with this id.
    pub fn get_by_id(&self, id: &str) -> Option<&Asset> {
        self.handle(id).and_then(|h| self.get(h))
    }

    pub(crate) fn slot(&self, h: Handle) -> Option<&Slot> {
        self.slots.get(h.index()).and_then(|s| s.as_ref())
    }

    /// The asset's geometry in the local frame (east/north metres from the origin).
    pub fn local_geometry(&self, h: Handle) -> Option<&Geometry<f64>> {
        self.slot(h).map(|s| &s.local)
    }

    /// Every asset with its handle, in handle order.
    pub fn iter(&self) -> impl Iterator<Item = (Handle, &Asset)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (Handle(i as u32), &s.asset)))
    }

    /// The town an asset lies in (for a town: its island). Computed when assets or towns
    /// are loaded, from the asset's interior point.
    pub fn located_in(&self, h: Handle) -> Option<Handle> {
        self.slot(h).and_then(|s| s.located_in)
    }

    /// The town an asset belongs to: a town is its own town; any other asset the town
    /// it is located in, if that is a town (an asset in no town, or located only in an
    /// island, has none).
    pub fn town_of(&self, h: Handle) -> Option<Handle> {
        let a = self.get(h)?;
        if a.kind == AssetKind::Town {
            return Some(h);
        }
        let t = self.located_in(h)?;
        (self.get(t)?.kind == AssetKind::Town).then_some(t)
    }

    /// The asset a sensor (or other asset) is attached to.
    pub fn attached_to(&self, h: Handle) -> Option<Handle> {
        self.get(h)
            .and_then(|a| a.attached_to.as_deref())
            .and_then(|id| self.handle(id))
    }

    /// The asset this one is part of (a BIM element's building).
    pub fn part_of(&self, h: Handle) -> Option<Handle> {
        self.get(h)
            .and_then(|a| a.part_of.as_deref())
            .and_then(|id| self.handle(id))
    }

    /// Number of assets of each kind (sensors counted per sensor type), sorted by kind.
    pub fn counts_by_kind(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (_, a) in self.iter() {
            *out.entry(a.kind.to_string()).or_insert(0) += 1;
        }
        out
    }

    /// Number of assets located in each town, by the town's handle; assets in no town
    /// are counted under `None`. Towns and islands themselves are not counted.
    pub fn counts_by_town(&self) -> BTreeMap<Option<Handle>, usize> {
        let mut out = BTreeMap::new();
        for s in self.slots.iter().flatten() {
            if matches!(s.asset.kind, AssetKind::Town | AssetKind::Island) {
                continue;
            }
            *out.entry(s.located_in).or_insert(0) += 1;
        }
        out
    }

    /// Loads a GeoJSON file. See [`crate::load`] for what is checked.
    pub fn load_geojson(
        &mut self,
        path: &std::path::Path,
        mapping: &Mapping,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let read = load::read_geojson(path, mapping)?;
        self.insert_read(read, mode)
    }

    /// Loads GeoJSON text; `name` names it in errors.
    pub fn load_geojson_str(
        &mut self,
        text: &str,
        name: &str,
        mapping: &Mapping,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let read = load::read_geojson_str(text, name, mapping)?;
        self.insert_read(read, mode)
    }

    /// Loads a FlatGeobuf file.
    pub fn load_flatgeobuf(
        &mut self,
        path: &std::path::Path,
        mapping: &Mapping,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let read = load::read_flatgeobuf(path, mapping)?;
        self.insert_read(read, mode)
    }

    /// Loads a file by its extension: `.geojson` or `.json` (GeoJSON), `.fgb`
    /// (FlatGeobuf). Any other extension is a [`LoadError::Format`] naming the file.
    pub fn load_file(
        &mut self,
        path: &std::path::Path,
        mapping: &Mapping,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let read = load::read_file(path, mapping)?;
        self.insert_read(read, mode)
    }

    /// A twin of a user's files, its local frame centred on their data (so a city
    /// anywhere gets metres without distortion; the bundled island uses
    /// [`LocalFrame::chongming`]). Returns each file's report, in order.
    pub fn from_files(
        paths: &[std::path::PathBuf],
        mapping: &Mapping,
        mode: LoadMode,
    ) -> Result<(Twin, Vec<LoadReport>), LoadError> {
        let reads = paths
            .iter()
            .map(|p| load::read_file(p, mapping))
            .collect::<Result<Vec<_>, _>>()?;
        Twin::from_reads(reads, mode)
    }

    /// [`Twin::from_files`] of features already read (by twin-core's readers or
    /// [`load::read_features`]).
    pub fn from_reads(
        reads: Vec<load::ReadResult>,
        mode: LoadMode,
    ) -> Result<(Twin, Vec<LoadReport>), LoadError> {
        let boxes: Vec<Rect<f64>> = reads
            .iter()
            .flatten()
            .flatten()
            .map(|a| bounding_box(&a.geometry))
            .collect();
        let frame = data_centre(&boxes)
            // A frame at a pole has no east: keep it off them.
            .and_then(|(lon, lat)| LocalFrame::try_new(lon, lat.clamp(-85.0, 85.0), 0.0).ok())
            .unwrap_or_else(LocalFrame::chongming);
        let mut twin = Twin::new(frame);
        let mut reports = Vec::with_capacity(reads.len());
        for read in reads {
            reports.push(twin.insert_read(read, mode)?);
        }
        Ok((twin, reports))
    }

    /// Inserts what a reader produced: decode errors count as rejected features.
    pub fn insert_read(
        &mut self,
        read: load::ReadResult,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        if mode == LoadMode::Strict && read.iter().any(|r| r.is_err()) {
            let rejected = read.into_iter().filter_map(|r| r.err()).collect();
            return Err(LoadError::Rejected(rejected));
        }
        // The results go in as they are: moving a million assets into a second vector
        // first was a twentieth of loading a file.
        self.insert_results(read, mode)
    }

    /// Inserts one asset.
    pub fn insert(&mut self, asset: Asset) -> Result<Handle, LoadError> {
        let report = self.insert_assets(vec![asset], LoadMode::Strict)?;
        Ok(report.inserted[0])
    }

    /// Inserts a batch of assets: checked whole first (ids unique in the twin and the
    /// batch, geometry valid, relation targets known), then indexed and related.
    /// Strict: any problem fails the batch and leaves the twin unchanged.
    pub fn insert_assets(
        &mut self,
        assets: Vec<Asset>,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        self.insert_results(assets.into_iter().map(Ok).collect(), mode)
    }

    /// [`Twin::insert_assets`] of a reader's results: each `Err` is a rejected feature.
    fn insert_results(
        &mut self,
        items: load::ReadResult,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let mut rejected: Vec<FeatureError> = Vec::new();
        let mut warnings: Vec<FeatureError> = Vec::new();
        let reject = |a: &Asset, problem: Problem| FeatureError {
            file: a.source.file.clone(),
            index: a.source.feature,
            id: (!a.id.is_empty()).then(|| a.id.clone()),
            problem,
        };

        // Pass 1: ids and geometry.
        let mut ok = vec![true; items.len()];
        let mut batch_ids: IdMap<&str, &Source> =
            IdMap::with_capacity_and_hasher(items.len(), Default::default());
        // Each asset's geometry checks and local projection depend on it alone: done
        // first, on every core.
        let frame = self.frame;
        let mut prepared = par::map(&items, |item| {
            let a = item.as_ref().ok()?;
            Some(match load::check_asset_geometry(&a.geometry) {
                Err(p) => (Err(p), None),
                Ok(()) => (
                    Ok(project(&frame, &a.geometry)),
                    load::check_asset_validity(&a.geometry).err(),
                ),
            })
        })
        .into_iter();
        let mut locals: Vec<Option<Geometry<f64>>> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let prepared = prepared.next().flatten();
            let a = match item {
                Ok(a) => a,
                Err(e) => {
                    rejected.push(e.clone());
                    ok[i] = false;
                    locals.push(None);
                    continue;
                }
            };
            let problem = if a.id.trim().is_empty() {
                Some(Problem::MissingId {
                    property: "id".into(),
                })
            } else if let Some(h) = self.handle(&a.id) {
                let first = self.slots[h.index()]
                    .as_ref()
                    .map(|s| s.asset.source.clone());
                first.map(|first| Problem::DuplicateId {
                    id: a.id.clone(),
                    first,
                })
            } else if let Some(first) = batch_ids.get(a.id.as_str()) {
                Some(Problem::DuplicateId {
                    id: a.id.clone(),
                    first: (*first).clone(),
                })
            } else if !(a.vertical.base.is_finite()) {
                Some(Problem::BadProperty {
                    name: "base".into(),
                    message: format!("base {} is not a finite number", a.vertical.base),
                })
            } else if !(a.vertical.height.is_finite() && a.vertical.height >= 0.0) {
                Some(Problem::BadProperty {
                    name: "height".into(),
                    message: format!("height {} is not a number ≥ 0", a.vertical.height),
                })
            } else {
                None
            };
            match (problem, prepared) {
                (None, Some((Ok(local), warning))) => {
                    if let Some(p) = warning {
                        warnings.push(reject(a, p));
                    }
                    batch_ids.insert(&a.id, &a.source);
                    locals.push(Some(local));
                }
                (problem, prepared) => {
                    let p = problem
                        .or_else(|| prepared.and_then(|(r, _)| r.err()))
                        .unwrap_or(Problem::MissingGeometry);
                    rejected.push(reject(a, p));
                    ok[i] = false;
                    locals.push(None);
                }
            }
        }

        // Pass 2: relation targets, repeated until no more assets drop out (a sensor
        // attached to a rejected asset is rejected too). `batch_ids` holds the
        // accepted ones (an id seen twice was rejected the second time only).
        let has_relations = items
            .iter()
            .flatten()
            .any(|a| a.attached_to.is_some() || a.part_of.is_some());
        if has_relations {
            loop {
                let mut changed = false;
                let mut dropped: Vec<&str> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let (true, Ok(a)) = (ok[i], item) else {
                        continue;
                    };
                    let known = |id: &str| self.handle(id).is_some() || batch_ids.contains_key(id);
                    let bad = [("attached_to", &a.attached_to), ("part_of", &a.part_of)]
                        .into_iter()
                        .find_map(|(relation, target)| match target {
                            Some(t) if !known(t) => Some(Problem::UnknownRelationTarget {
                                relation,
                                target: t.clone(),
                            }),
                            _ => None,
                        });
                    if let Some(p) = bad {
                        rejected.push(reject(a, p));
                        ok[i] = false;
                        changed = true;
                        dropped.push(&a.id);
                    }
                }
                for id in dropped {
                    batch_ids.remove(id);
                }
                if !changed {
                    break;
                }
            }
        }

        if mode == LoadMode::Strict && !rejected.is_empty() {
            rejected.sort_by_key(|e| e.index);
            return Err(LoadError::Rejected(rejected));
        }

        // Apply.
        let accepted = ok.iter().filter(|ok| **ok).count();
        let mut inserted = Vec::with_capacity(accepted);
        let mut new_entries: Vec<(AssetKind, Entry)> = Vec::with_capacity(accepted);
        let mut has_areas = false;
        self.slots.reserve_exact(accepted);
        self.lonlat_boxes.reserve_exact(accepted);
        self.by_id.reserve(accepted, id_in(&self.slots));
        for ((item, local), ok) in items.into_iter().zip(locals).zip(ok) {
            let (true, Ok(mut a), Some(local)) = (ok, item, local) else {
                continue;
            };
            a.properties.shrink_to_fit();
            let h = Handle(self.slots.len() as u32);
            let entry = envelope_entry(h, &local);
            has_areas |= matches!(a.kind, AssetKind::Town | AssetKind::Island);
            let a_kind = a.kind.clone();
            let b = bounding_box(&a.geometry);
            self.wide += usize::from(is_wide(self.frame.origin_lon(), &b));
            self.lonlat_boxes.push(b);
            self.slots.push(Some(Slot {
                asset: a,
                local,
                entry,
                located_in: None,
            }));
            let slots = &self.slots;
            self.by_id.insert(id_in(slots)(h), h, id_in(slots));
            new_entries.push((a_kind, entry));
            inserted.push(h);
        }
        if rebuild_worthwhile(self.index.len(), new_entries.len()) {
            let all: Vec<Entry> = self.slots.iter().flatten().map(|s| s.entry).collect();
            let mut groups: BTreeMap<&AssetKind, Vec<Entry>> = BTreeMap::new();
            for s in self.slots.iter().flatten() {
                groups.entry(&s.asset.kind).or_default().push(s.entry);
            }
            // The whole tree on one thread, the per-kind trees on another.
            let big = all.len() >= 65_536;
            let (index, by_kind) = par::join(
                big,
                || SpatialIndex::bulk_load(all),
                || {
                    groups
                        .into_iter()
                        .map(|(k, v)| (k.clone(), SpatialIndex::bulk_load(v)))
                        .collect()
                },
            );
            self.index = index;
            self.by_kind = by_kind;
        } else {
            for (kind, e) in new_entries {
                self.index.insert(e);
                self.by_kind.entry(kind).or_default().insert(e);
            }
        }
        if has_areas {
            let all: Vec<Handle> = self.iter().map(|(h, _)| h).collect();
            self.relate(&all);
        } else {
            self.relate(&inserted);
        }
        rejected.sort_by(|a, b| (&a.file, a.index).cmp(&(&b.file, b.index)));
        // Warnings of assets a relation dropped afterwards are not worth keeping.
        warnings.retain(|w| w.id.as_deref().is_some_and(|id| self.handle(id).is_some()));
        Ok(LoadReport {
            inserted,
            rejected,
            warnings,
        })
    }

    /// Removes an asset by id and returns it. Assets attached to it keep their
    /// `attached_to` id (it no longer resolves).
    pub fn remove(&mut self, id: &str) -> Result<Asset, TwinError> {
        let h = self
            .by_id
            .remove(id, id_in(&self.slots))
            .ok_or_else(|| TwinError::UnknownId(id.to_string()))?;
        let slot = self.slots[h.index()]
            .take()
            .ok_or(TwinError::UnknownHandle(h.0))?;
        self.wide -= usize::from(is_wide(
            self.frame.origin_lon(),
            &self.lonlat_boxes[h.index()],
        ));
        self.index.remove(&slot.entry);
        if let Some(t) = self.by_kind.get_mut(&slot.asset.kind) {
            t.remove(&slot.entry);
        }
        if matches!(slot.asset.kind, AssetKind::Town | AssetKind::Island) {
            for s in self.slots.iter_mut().flatten() {
                if s.located_in == Some(h) {
                    s.located_in = None;
                }
            }
        }
        Ok(slot.asset)
    }

    /// Changes an asset's vertical extent and sets some of its properties: a building
    /// whose model now stands on its footprint is drawn flat and names the model's
    /// building. The footprint (and so the index) does not change; a base or height
    /// that is not a finite number (or a negative height) changes nothing.
    pub fn set_vertical(
        &mut self,
        h: Handle,
        vertical: crate::Vertical,
        properties: impl IntoIterator<Item = (String, crate::PropValue)>,
    ) -> Result<(), TwinError> {
        let slot = self
            .slots
            .get_mut(h.index())
            .and_then(Option::as_mut)
            .ok_or(TwinError::UnknownHandle(h.0))?;
        if !(vertical.base.is_finite() && vertical.height.is_finite() && vertical.height >= 0.0) {
            return Err(TwinError::Invalid {
                id: slot.asset.id.to_string(),
                problem: Problem::BadProperty {
                    name: "vertical".into(),
                    message: format!(
                        "base {} and height {} must be numbers, the height not negative",
                        vertical.base, vertical.height
                    ),
                },
            });
        }
        slot.asset.vertical = vertical;
        for (k, v) in properties {
            slot.asset.properties.insert(k, v);
        }
        Ok(())
    }

    /// Moves an asset to a new WGS84 geometry (a ferry, a vehicle): the index entry
    /// and the located-in town follow (a moved town or island relates every asset
    /// again). A bad geometry changes nothing.
    pub fn move_asset(&mut self, h: Handle, geometry: Geometry<f64>) -> Result<(), TwinError> {
        let id = self
            .get(h)
            .map(|a| a.id.clone())
            .ok_or(TwinError::UnknownHandle(h.0))?;
        load::check_asset_geometry(&geometry)
            .and_then(|()| load::check_asset_validity(&geometry))
            .map_err(|problem| TwinError::Invalid { id, problem })?;
        let local = self.to_local(&geometry);
        let entry = envelope_entry(h, &local);
        let (old, kind) = {
            let slot = self.slots[h.index()]
                .as_mut()
                .ok_or(TwinError::UnknownHandle(h.0))?;
            slot.asset.geometry = geometry;
            // A 3D shell stays where it was read: moved, the asset is drawn from its
            // footprint.
            slot.asset.surfaces = None;
            slot.local = local;
            let lon0 = self.frame.origin_lon();
            let new = bounding_box(&slot.asset.geometry);
            let was = is_wide(lon0, &self.lonlat_boxes[h.index()]);
            self.wide = self.wide - usize::from(was) + usize::from(is_wide(lon0, &new));
            self.lonlat_boxes[h.index()] = new;
            (
                std::mem::replace(&mut slot.entry, entry),
                slot.asset.kind.clone(),
            )
        };
        self.index.remove(&old);
        self.index.insert(entry);
        if let Some(t) = self.by_kind.get_mut(&kind) {
            t.remove(&old);
            t.insert(entry);
        }
        if matches!(kind, AssetKind::Town | AssetKind::Island) {
            // An area moved: what lies in it may have changed for every asset.
            let all: Vec<Handle> = self.iter().map(|(h, _)| h).collect();
            self.relate(&all);
        } else {
            self.relate(&[h]);
        }
        Ok(())
    }

    /// Converts a WGS84 geometry to the local frame.
    pub fn to_local(&self, g: &Geometry<f64>) -> Geometry<f64> {
        project(&self.frame, g)
    }

    /// Computes located-in for the given assets: towns for most kinds, islands for towns.
    fn relate(&mut self, handles: &[Handle]) {
        // Read-only lookups, on every core; written back after.
        let updates = par::map(handles, |&h| {
            let slot = self.slot(h)?;
            let want = match slot.asset.kind {
                AssetKind::Island => None,
                AssetKind::Town => Some(AssetKind::Island),
                _ => Some(AssetKind::Town),
            };
            let found = want.and_then(|kind| {
                let p = probe_point(&slot.local)?;
                self.container_of(p, &kind, h)
            });
            Some((h, found))
        });
        for (h, found) in updates.into_iter().flatten() {
            if let Some(s) = self.slots[h.index()].as_mut() {
                s.located_in = found;
            }
        }
    }

    /// The first asset of `kind` (other than `except`) whose local geometry covers `p`.
    fn container_of(&self, p: Point<f64>, kind: &AssetKind, except: Handle) -> Option<Handle> {
        self.by_kind
            .get(kind)?
            .at_point([p.x(), p.y()])
            .filter(|e| e.handle != except)
            .filter_map(|e| self.slot(e.handle).map(|s| (e.handle, s)))
            .find(|(_, s)| s.local.intersects(&p))
            .map(|(h, _)| h)
    }
}

/// A WGS84 geometry in a local frame's metres.
fn project(frame: &LocalFrame, g: &Geometry<f64>) -> Geometry<f64> {
    g.map_coords(|c| {
        let (x, y) = frame.to_local(c.x, c.y);
        geo_types::Coord { x, y }
    })
}

/// The id of each handle held in `slots` (empty for a removed one), for the id index.
fn id_in<'a>(slots: &'a [Option<Slot>]) -> impl Fn(Handle) -> &'a str + 'a {
    move |h| {
        slots
            .get(h.index())
            .and_then(|s| s.as_ref())
            .map_or("", |s| s.asset.id.as_str())
    }
}

/// A point inside a geometry, for finding what contains it: the centre of a
/// polygon's box when the polygon covers it (true of most footprints, and a cheap
/// test), otherwise geo's interior point. geo's interior point of a polygon sweeps
/// and intersects; for a million footprints it was a tenth of loading a file.
fn probe_point(g: &Geometry<f64>) -> Option<Point<f64>> {
    let polygon = match g {
        Geometry::Polygon(p) => Some(p),
        Geometry::MultiPolygon(mp) if mp.0.len() == 1 => mp.0.first(),
        _ => None,
    };
    if let Some(p) = polygon
        && let Some(centre) = p.exterior().bounding_rect().map(|r| Point(r.center()))
        && p.contains(&centre)
    {
        return Some(centre);
    }
    g.interior_point()
}

/// The bounding box of a geometry (a zero box at the origin for an empty one, which
/// the checks before insertion never let through).
pub(crate) fn bounding_box(g: &Geometry<f64>) -> Rect<f64> {
    g.bounding_rect()
        .unwrap_or_else(|| Rect::new(geo_types::Coord::zero(), geo_types::Coord::zero()))
}

/// The index entry of a local geometry (a degenerate box for a point).
pub(crate) fn envelope_entry(h: Handle, local: &Geometry<f64>) -> Entry {
    match local.bounding_rect() {
        Some(r) => Entry::new(h, [r.min().x, r.min().y], [r.max().x, r.max().y]),
        None => Entry::new(h, [0.0, 0.0], [0.0, 0.0]),
    }
}
