//! The id → handle index of a twin.
//!
//! A hash table of handles whose keys are the assets' own ids, read from the twin's
//! slots when two hashes agree: each id is stored once (in its asset), and the table
//! holds 4 bytes per asset instead of a copy of the id and its allocation. Built on
//! hashbrown's `HashTable`, hashed with foldhash (seeded per process). Against a
//! `HashMap<String, Handle>` this took `twin info` of a million-feature FlatGeobuf file
//! (scripts/bench-load's) from 6.4 s to 5.8 s: the id clones and a 32 MB table were a
//! tenth of the load.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::asset::Handle;

/// Ids to handles; the ids themselves live in the assets (`id_of`).
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    table: HashTable<Handle>,
    hasher: foldhash::fast::RandomState,
}

impl IdIndex {
    /// Number of ids.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The handle of `id`; `id_of` gives each held handle's id.
    pub fn get<'a>(&self, id: &str, id_of: impl Fn(Handle) -> &'a str) -> Option<Handle> {
        self.table.find(self.hash(id), |h| id_of(*h) == id).copied()
    }

    /// Room for `more` ids.
    pub fn reserve<'a>(&mut self, more: usize, id_of: impl Fn(Handle) -> &'a str) {
        let hasher = &self.hasher;
        self.table.reserve(more, |h| hasher.hash_one(id_of(*h)));
    }

    /// Adds `h` under `id`, which must not be held yet (the caller checked).
    pub fn insert<'a>(&mut self, id: &str, h: Handle, id_of: impl Fn(Handle) -> &'a str) {
        let hash = self.hash(id);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, h, |h| hasher.hash_one(id_of(*h)));
    }

    /// Removes `id`; returns its handle. Call while its asset still holds the id.
    pub fn remove<'a>(&mut self, id: &str, id_of: impl Fn(Handle) -> &'a str) -> Option<Handle> {
        match self.table.find_entry(self.hash(id), |h| id_of(*h) == id) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        }
    }
}
