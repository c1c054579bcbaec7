//! The R-tree of asset envelopes in the twin's local metric frame.
//!
//! Entries hold only a handle and an axis-aligned box (east/north metres); exact
//! geometric tests happen in the queries of [`crate::Twin`] against the asset's local geometry.

use rstar::{AABB, PointDistance, RStarInsertionStrategy, RTree, RTreeObject, RTreeParams};

use crate::asset::Handle;

/// One entry: an asset's handle and its envelope in local metres.
///
/// The envelope is stored ready-made: bulk loading and queries ask for it millions of
/// times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// The asset.
    pub handle: Handle,
    env: AABB<[f64; 2]>,
}

impl Entry {
    /// An entry for the box with these corners (in any order).
    pub fn new(handle: Handle, a: [f64; 2], b: [f64; 2]) -> Self {
        Entry {
            handle,
            env: AABB::from_corners(a, b),
        }
    }

    /// Lower-left corner (east, north).
    pub fn min(&self) -> [f64; 2] {
        self.env.lower()
    }

    /// Upper-right corner (east, north).
    pub fn max(&self) -> [f64; 2] {
        self.env.upper()
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.env
    }
}

impl PointDistance for Entry {
    /// Squared distance from the point to the box (0 inside): a lower bound of the
    /// distance to the asset's geometry.
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        self.env.distance_2(point)
    }
}

/// Node sizes of the tree: 16 children at most (like geo-index's default), which
/// halves the depth of rstar's default of 6 and speeds up bulk loading and queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexParams;

impl RTreeParams for IndexParams {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// A dynamic R-tree over asset envelopes: bulk-loaded, then updated in place.
#[derive(Debug)]
pub struct SpatialIndex {
    tree: RTree<Entry, IndexParams>,
}

impl Default for SpatialIndex {
    fn default() -> Self {
        SpatialIndex {
            tree: RTree::new_with_params(),
        }
    }
}

impl SpatialIndex {
    /// Builds the tree in one pass (rstar's overlap-minimising top-down bulk load).
    pub fn bulk_load(entries: Vec<Entry>) -> Self {
        SpatialIndex {
            tree: RTree::bulk_load_with_params(entries),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Adds an entry.
    pub fn insert(&mut self, e: Entry) {
        self.tree.insert(e);
    }

    /// Removes an entry (matched by handle and box); false when absent.
    pub fn remove(&mut self, e: &Entry) -> bool {
        self.tree.remove(e).is_some()
    }

    /// All entries, in tree order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.tree.iter()
    }

    /// Entries whose boxes intersect the box.
    pub fn in_box(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = &Entry> {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
    }

    /// Entries whose boxes contain the point.
    pub fn at_point(&self, p: [f64; 2]) -> impl Iterator<Item = &Entry> {
        self.tree.locate_all_at_point(&p)
    }

    /// Entries with the squared distance from the point to their box, nearest first.
    pub fn nearest_boxes(&self, p: [f64; 2]) -> impl Iterator<Item = (&Entry, f64)> {
        self.tree.nearest_neighbor_iter_with_distance_2(&p)
    }

    /// Size of the tree's nodes and entries in bytes (an estimate: entries plus one
    /// inner node of 16 per ~12 entries, nodes being 60–100% full).
    pub fn approx_bytes(&self) -> usize {
        let entry = std::mem::size_of::<Entry>();
        self.len() * entry + self.len() / 12 * (entry + 8)
    }
}
