//! The R-tree of asset envelopes in the twin's local metric frame.
//!
//! Entries hold only a handle and an axis-aligned box (east/north metres); exact
//! geometric tests happen in [`crate::query`] against the asset's local geometry.

use rstar::{AABB, PointDistance, RTree, RTreeObject};

use crate::asset::Handle;

/// One entry: an asset's handle and its envelope in local metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// The asset.
    pub handle: Handle,
    /// Lower-left corner (east, north).
    pub min: [f64; 2],
    /// Upper-right corner (east, north).
    pub max: [f64; 2],
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.min, self.max)
    }
}

impl PointDistance for Entry {
    /// Squared distance from the point to the box (0 inside): a lower bound of the
    /// distance to the asset's geometry.
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        self.envelope().distance_2(point)
    }
}

/// A dynamic R-tree over asset envelopes: bulk-loaded, then updated in place.
#[derive(Debug, Default)]
pub struct SpatialIndex {
    tree: RTree<Entry>,
}

impl SpatialIndex {
    /// Builds the tree in one pass (Sort-Tile-Recursive bulk load).
    pub fn bulk_load(entries: Vec<Entry>) -> Self {
        SpatialIndex {
            tree: RTree::bulk_load(entries),
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

    /// Size of the tree's nodes and entries in bytes (an estimate: entries plus ~1/6 for
    /// inner nodes, rstar's default branching being 6).
    pub fn approx_bytes(&self) -> usize {
        let entry = std::mem::size_of::<Entry>();
        self.len() * entry + self.len() / 6 * (entry + 8)
    }
}
