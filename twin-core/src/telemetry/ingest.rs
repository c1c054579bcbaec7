//! [`JsonIngest`]: JSON Lines batches into a live twin, with an id cache and scratch
//! buffers kept between batches.
//!
//! Lines are taken in chunks of [`CHUNK`]: each chunk is parsed first (hashing each id
//! while its bytes are at hand), then all its ids are looked up in one tight loop, so
//! that the cache misses of many lookups overlap instead of being paid one after the
//! other, then the readings are resolved and encoded in line order.

use super::fast::{self, ReadingRef, ValueRef};
use super::{Ingested, LineError, typed};
use crate::asset::Handle;
use crate::session::Session;
use crate::state::MAX_REJECTION_EXAMPLES;
use crate::state::{ChannelId, Reading, RejectReason, Sample, StateStore, Value};
use crate::time::Timestamp;
use crate::twin::Twin;

/// Lines parsed before their ids are looked up together.
const CHUNK: usize = 256;

/// Longest id the cache holds inline; longer ids are looked up in the twin.
const INLINE: usize = 24;

/// One slot of the id cache: the id's bytes inline (zero-padded), its length and hash
/// tag, and its handle. 32 bytes, two per cache line.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(32))]
struct Slot {
    key: [u8; INLINE],
    /// 0: empty; else the hash's high bits with the low 8 bits replaced by the length.
    tag: u32,
    handle: u32,
}

/// What a lookup needs of an id, computed once: its hash and its slot image.
#[derive(Clone, Copy, Debug)]
struct Probe {
    hash: u64,
    key: [u8; INLINE],
    tag: u32,
}

impl Probe {
    /// The probe of an id the cache can hold (1 to [`INLINE`] bytes).
    #[inline]
    fn of(id: &str) -> Option<Probe> {
        let id = id.as_bytes();
        if id.is_empty() || id.len() > INLINE {
            return None;
        }
        let mut key = [0u8; INLINE];
        key[..id.len()].copy_from_slice(id);
        let hash = Probe::hash(id);
        let tag = ((hash >> 32) as u32 & !0xFF) | id.len() as u32;
        Some(Probe { hash, key, tag })
    }

    /// Multiply-rotate over the zero-padded 8-byte words of `id` (at most
    /// [`INLINE`] bytes), then a final mix.
    #[inline]
    fn hash(id: &[u8]) -> u64 {
        let mut h = id.len() as u64;
        for w in id.chunks(8) {
            let mut b = [0u8; 8];
            b[..w.len()].copy_from_slice(w);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^ (h >> 33)
    }
}

/// Asset ids to handles for the ids seen in telemetry: a cache filled from the twin's
/// id map, open addressing with linear probing, at most half full. A lookup costs one
/// cache miss, where a `HashMap<String, _>` pays for its bucket and for the key's
/// string after SipHash; memory follows the assets that report (32 bytes a slot).
#[derive(Clone, Debug, Default)]
struct IdIndex {
    slots: Vec<Slot>,
    len: usize,
    /// What the twin looked like when the cache was started: `(len,
    /// handle_capacity)`. Inserting grows the capacity and removing shrinks the
    /// length, so any change of the set of ids changes it.
    built_for: Option<(usize, usize)>,
}

impl IdIndex {
    /// Empties the cache when the twin's set of ids may have changed, or when sampled
    /// entries do not match it (another twin of the same size put in its place).
    fn refresh(&mut self, twin: &Twin) {
        let current = Some((twin.len(), twin.handle_capacity()));
        let stale = self.built_for != current
            || self
                .slots
                .iter()
                .step_by((self.slots.len() / 16).max(1))
                .filter(|s| s.tag != 0)
                .any(|s| {
                    let len = (s.tag & 0xFF) as usize;
                    twin.get(Handle(s.handle))
                        .is_none_or(|a| a.id.as_bytes() != &s.key[..len])
                });
        if stale {
            *self = IdIndex {
                built_for: current,
                ..IdIndex::default()
            };
        }
    }

    #[inline]
    fn find(&self, p: &Probe) -> Option<Handle> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = p.hash as usize & mask;
        loop {
            let s = self.slots.get(i)?;
            if s.tag == p.tag && s.key == p.key {
                return Some(Handle(s.handle));
            }
            if s.tag == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Remembers an id found in the twin (not in the cache yet).
    fn insert(&mut self, p: &Probe, handle: Handle) {
        if (self.len + 1) * 2 > self.slots.len() {
            let old = std::mem::take(&mut self.slots);
            self.slots = vec![Slot::default(); (old.len() * 2).max(1024)];
            self.len = 0;
            for s in old.into_iter().filter(|s| s.tag != 0) {
                self.place(s);
            }
        }
        self.place(Slot {
            key: p.key,
            tag: p.tag,
            handle: handle.0,
        });
    }

    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let hash = Probe::hash(&slot.key[..(slot.tag & 0xFF) as usize]);
        let mut i = hash as usize & mask;
        while self.slots[i].tag != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
        self.len += 1;
    }
}

/// A channel name as two words: its length and first 8 bytes, then the rest (names
/// up to 8 bytes compare in one step).
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChannelName {
    head: (usize, u64),
    name: String,
}

fn name_head(name: &str) -> (usize, u64) {
    let mut b = [0u8; 8];
    let n = name.len().min(8);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    (name.len(), u64::from_le_bytes(b))
}

/// Applies JSON Lines batches to a live twin: [`super::ingest_json_lines`] with a
/// cache of asset ids (filled as ids are seen, emptied when the twin's assets change)
/// and buffers kept from one batch to the next. Keep one per live twin and feed it
/// every batch.
#[derive(Clone, Debug, Default)]
pub struct JsonIngest {
    ids: IdIndex,
    /// The store's channel names, refreshed when channels are registered.
    channels: Vec<(ChannelName, ChannelId)>,
    samples: Vec<Sample>,
}

impl JsonIngest {
    /// An ingester with an empty id cache.
    pub fn new() -> Self {
        JsonIngest::default()
    }

    /// Parses JSON Lines telemetry (`file` names it in errors) and applies its readings
    /// to `live` as one batch at `now`: the same readings, errors and report as
    /// [`super::parse`] followed by [`Session::apply_readings`].
    pub fn ingest(
        &mut self,
        live: &mut Session,
        text: &str,
        file: &str,
        now: Timestamp,
    ) -> Ingested {
        self.ingest_at(live, text, file, Now::At(now)).0
    }

    /// As [`JsonIngest::ingest`], applied at the time `now` says (a fixed time, or
    /// the newest reading's); returns that time too.
    pub fn ingest_at(
        &mut self,
        live: &mut Session,
        text: &str,
        file: &str,
        now: Now,
    ) -> (Ingested, Timestamp) {
        self.ids.refresh(live.twin());
        if self.channels.len() != live.store().channels().count() {
            self.channels = live
                .store()
                .channels()
                .map(|(id, spec)| {
                    let name = ChannelName {
                        head: name_head(&spec.name),
                        name: spec.name.clone(),
                    };
                    (name, id)
                })
                .collect();
        }
        let mut samples = std::mem::take(&mut self.samples);
        samples.clear();
        let done = run(live, text, file, now, &mut samples, Some(self));
        self.samples = samples;
        done
    }

    fn channel(&self, name: &str) -> Option<ChannelId> {
        let head = name_head(name);
        self.channels
            .iter()
            .find(|(c, _)| c.head == head && (head.0 <= 8 || c.name == name))
            .map(|&(_, id)| id)
    }
}

/// When a batch is applied (the "now" of the far-future check and of vital signs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Now {
    /// At this time.
    At(Timestamp),
    /// At the newest time of a reading read from the batch (refused ones included;
    /// times outside [`super::TS_RANGE`] ignored), and not before `at_least`.
    Newest {
        /// The earliest time the batch is applied at.
        at_least: Timestamp,
    },
}

/// Encodes the value of a resolved reading into its sample.
#[inline]
pub(super) fn encode(
    store: &StateStore,
    handle: Handle,
    channel: ChannelId,
    r: &ReadingRef<'_>,
) -> Result<Sample, RejectReason> {
    let value = match r.value {
        ValueRef::Num(n) => store.encode(channel, &Value::Num(n)),
        ValueRef::Bool(b) => store.encode(channel, &Value::Bool(b)),
        ValueRef::Text(s) => store.encode_state(channel, s),
    }?;
    Ok(Sample {
        handle,
        channel,
        ts: r.ts,
        value,
        quality: r.quality,
    })
}

/// A parsed line of a chunk: borrowed from its line (read by the fast path, or by
/// the typed serde path when no string had escapes), or an index into the chunk's
/// owned readings.
enum Parsed<'a> {
    Borrowed(ReadingRef<'a>),
    Owned(usize),
}

/// Parses `text` line by line (as [`super::parse`] does), resolves each reading (with
/// the ingester's id cache and channel names, else as [`super::resolve`] does), applies
/// the samples to `live` and notes the refusals after them (as
/// [`Session::apply_readings`] does).
pub(super) fn run(
    live: &mut Session,
    text: &str,
    file: &str,
    now: Now,
    samples: &mut Vec<Sample>,
    mut ingest: Option<&mut JsonIngest>,
) -> (Ingested, Timestamp) {
    let mut newest = match now {
        Now::At(t) => t,
        Now::Newest { at_least } => at_least,
    };
    // Refusals noted after the store's report, as `apply_readings` does: the first
    // ones in full (the report keeps at most that many examples), the rest counted.
    let mut refused: Vec<(RejectReason, String, String, Timestamp)> = Vec::new();
    let mut refused_more: Vec<RejectReason> = Vec::new();
    let mut errors = Vec::new();
    let mut parsed: Vec<Parsed<'_>> = Vec::with_capacity(CHUNK);
    let mut owned: Vec<Reading> = Vec::new();
    let mut probes: Vec<Option<Probe>> = Vec::with_capacity(CHUNK);
    let mut handles: Vec<Option<Handle>> = Vec::with_capacity(CHUNK);
    let mut lines = text.lines().enumerate();
    loop {
        parsed.clear();
        owned.clear();
        probes.clear();
        for (i, line) in lines.by_ref() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = if let Some(r) = fast::parse(line) {
                parsed.push(Parsed::Borrowed(r));
                r.id
            } else {
                match typed::parse(line) {
                    Ok(r) => match r.borrowed() {
                        Some(r) => {
                            parsed.push(Parsed::Borrowed(r));
                            r.id
                        }
                        None => {
                            owned.push(r.to_reading());
                            parsed.push(Parsed::Owned(owned.len() - 1));
                            owned.last().map_or("", |r| r.id.as_str())
                        }
                    },
                    Err(message) => {
                        errors.push(LineError {
                            file: file.to_string(),
                            line: i + 1,
                            message,
                        });
                        continue;
                    }
                }
            };
            if ingest.is_some() {
                probes.push(Probe::of(id));
            }
            if parsed.len() == CHUNK {
                break;
            }
        }
        if parsed.is_empty() {
            break;
        }
        // All cache lookups of the chunk in one loop: their misses overlap.
        handles.clear();
        if let Some(ing) = ingest.as_deref() {
            handles.extend(
                probes
                    .iter()
                    .map(|p| p.as_ref().and_then(|p| ing.ids.find(p))),
            );
        }
        for (k, p) in parsed.iter().enumerate() {
            let r = match p {
                Parsed::Borrowed(r) => *r,
                Parsed::Owned(j) => ReadingRef::from(&owned[*j]),
            };
            let resolved = match ingest.as_deref_mut() {
                Some(ing) => {
                    let handle = handles.get(k).copied().flatten().or_else(|| {
                        // Not cached yet: ask the twin, and remember.
                        let h = live.twin().handle(r.id)?;
                        if let Some(p) = &probes[k] {
                            ing.ids.insert(p, h);
                        }
                        Some(h)
                    });
                    handle.ok_or(RejectReason::UnknownId).and_then(|h| {
                        let c = ing.channel(r.channel).ok_or(RejectReason::UnknownChannel)?;
                        encode(live.store(), h, c, &r)
                    })
                }
                None => super::resolve(live.twin(), live.store(), &r),
            };
            if matches!(now, Now::Newest { .. }) && super::TS_RANGE.contains(&r.ts.as_millis()) {
                newest = newest.max(r.ts);
            }
            match resolved {
                Ok(s) => samples.push(s),
                Err(reason) if refused.len() < MAX_REJECTION_EXAMPLES => {
                    refused.push((reason, r.id.to_string(), r.channel.to_string(), r.ts));
                }
                Err(reason) => refused_more.push(reason),
            }
        }
    }
    let mut report = live.apply(samples, newest);
    for (reason, id, channel, ts) in refused {
        report.note_rejection(reason, &id, &channel, ts);
    }
    for reason in refused_more {
        *report.rejected.entry(reason).or_insert(0) += 1;
    }
    (Ingested { report, errors }, newest)
}
