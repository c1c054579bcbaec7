//! The series of a history, by key: a slab of series with a dense index per channel
//! (by handle), so that compacting series in handle order walks memory in order
//! instead of hashing into a large table. Keys with huge handles or channel numbers
//! (which a twin does not give) go to a small hash map instead.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::SeriesKey;
use super::cold::KeyHasher;
use super::hot::{MAX_DENSE_CHANNEL, MAX_DENSE_HANDLE};
use super::series::Series;

/// Series by key; see the module docs.
#[derive(Clone, Debug, Default)]
pub(super) struct SeriesMap {
    /// By channel, by handle: the series' position in `slab` plus one (0: none).
    dense: Vec<Vec<u32>>,
    /// Positions in `slab` of series whose key is too large for `dense`.
    sparse: HashMap<SeriesKey, u32, BuildHasherDefault<KeyHasher>>,
    slab: Vec<(SeriesKey, Series)>,
}

fn is_dense(key: SeriesKey) -> bool {
    key.handle < MAX_DENSE_HANDLE && key.channel < MAX_DENSE_CHANNEL
}

impl SeriesMap {
    #[inline]
    fn position(&self, key: SeriesKey) -> Option<usize> {
        if is_dense(key) {
            let p = *self
                .dense
                .get(usize::from(key.channel))?
                .get(key.handle as usize)?;
            (p as usize).checked_sub(1)
        } else {
            self.sparse.get(&key).map(|&p| p as usize)
        }
    }

    /// Records that series `key` sits at `pos` of the slab.
    fn set_position(&mut self, key: SeriesKey, pos: usize) {
        if is_dense(key) {
            let c = usize::from(key.channel);
            if c >= self.dense.len() {
                self.dense.resize_with(c + 1, Vec::new);
            }
            let col = &mut self.dense[c];
            let h = key.handle as usize;
            if h >= col.len() {
                col.resize(h + 1, 0);
            }
            col[h] = pos as u32 + 1;
        } else {
            self.sparse.insert(key, pos as u32);
        }
    }

    #[inline]
    pub(super) fn get(&self, key: SeriesKey) -> Option<&Series> {
        self.slab.get(self.position(key)?).map(|(_, s)| s)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, key: SeriesKey) -> Option<&mut Series> {
        let p = self.position(key)?;
        self.slab.get_mut(p).map(|(_, s)| s)
    }

    /// The series `key`, created empty if absent.
    #[inline]
    pub(super) fn get_or_default(&mut self, key: SeriesKey) -> &mut Series {
        let p = match self.position(key) {
            Some(p) => p,
            None => {
                let p = self.slab.len();
                self.slab.push((key, Series::default()));
                self.set_position(key, p);
                p
            }
        };
        &mut self.slab[p].1
    }

    /// Removes series `key`: the last series of the slab takes its place.
    pub(super) fn remove(&mut self, key: SeriesKey) -> Option<Series> {
        let p = self.position(key)?;
        if is_dense(key) {
            if let Some(slot) = self
                .dense
                .get_mut(usize::from(key.channel))
                .and_then(|col| col.get_mut(key.handle as usize))
            {
                *slot = 0;
            }
        } else {
            self.sparse.remove(&key);
        }
        let (_, series) = self.slab.swap_remove(p);
        if let Some(&(moved, _)) = self.slab.get(p) {
            self.set_position(moved, p);
        }
        Some(series)
    }

    pub(super) fn len(&self) -> usize {
        self.slab.len()
    }

    pub(super) fn clear(&mut self) {
        self.dense.clear();
        self.sparse.clear();
        self.slab.clear();
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (SeriesKey, &Series)> {
        self.slab.iter().map(|(k, s)| (*k, s))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (SeriesKey, &mut Series)> {
        self.slab.iter_mut().map(|(k, s)| (*k, s))
    }
}
