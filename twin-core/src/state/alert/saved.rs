//! What a snapshot keeps of the alert engine beyond its rules and open alerts: the
//! next alert number, the last silence scan, and every (rule, asset) watch — the start
//! of a run where the condition held, the open alert, the last sample evaluated — so a
//! restored engine evaluates the next samples exactly as the saved one would have (a
//! data directory replays its journal on it and must number and time alerts the same).
//!
//! Bytes: `u64` next number, `i64` last scan, then 39-byte rows sorted by (rule, asset):
//! rule position `u16`, asset position in the snapshot `u32`, flags `u8` (1 since,
//! 2 open, 4 last), since `i64`, open alert `u64`, last time `i64`, last value `f64`.

use crate::asset::Handle;
use crate::time::Timestamp;

use super::{AlertEngine, Watch};

const ROW: usize = 2 + 4 + 1 + 8 + 8 + 8 + 8;

impl AlertEngine {
    /// The engine's evaluation state as bytes; `index_of(handle)` is the asset's
    /// position in the snapshot (`None`: not saved, and its watches with it).
    pub(crate) fn save_state(&self, index_of: impl Fn(u32) -> Option<u32>) -> Vec<u8> {
        let mut rows: Vec<(u16, u32, &Watch)> = self
            .watches
            .iter()
            .filter_map(|(&(r, h), w)| Some((r, index_of(h)?, w)))
            .collect();
        rows.sort_unstable_by_key(|(r, i, _)| (*r, *i));
        let mut out = Vec::with_capacity(16 + rows.len() * ROW);
        out.extend_from_slice(&self.next_id.to_le_bytes());
        out.extend_from_slice(&self.last_scan.to_le_bytes());
        for (r, i, w) in rows {
            let flags = u8::from(w.since.is_some())
                | (u8::from(w.open.is_some()) << 1)
                | (u8::from(w.last.is_some()) << 2);
            out.extend_from_slice(&r.to_le_bytes());
            out.extend_from_slice(&i.to_le_bytes());
            out.push(flags);
            out.extend_from_slice(&w.since.map_or(0, Timestamp::as_millis).to_le_bytes());
            out.extend_from_slice(&w.open.unwrap_or(0).to_le_bytes());
            let (lt, lv) = w.last.map_or((0, 0.0), |(t, v)| (t.as_millis(), v));
            out.extend_from_slice(&lt.to_le_bytes());
            out.extend_from_slice(&lv.to_le_bytes());
        }
        out
    }

    /// Puts back what [`AlertEngine::save_state`] saved, after the rules and open
    /// alerts: `handles[i]` is the handle of the snapshot's asset `i`. A watch's open
    /// alert that is not open here is dropped from it; numbers never go back.
    pub(crate) fn restore_state(&mut self, bytes: &[u8], handles: &[Handle]) -> Result<(), String> {
        if bytes.len() < 16 || !(bytes.len() - 16).is_multiple_of(ROW) {
            return Err(format!(
                "{} bytes is not a header and whole {ROW}-byte rows",
                bytes.len()
            ));
        }
        let u64_at = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let i64_at = |b: &[u8]| i64::from_le_bytes(b.try_into().unwrap_or_default());
        self.next_id = self.next_id.max(u64_at(&bytes[..8]));
        self.last_scan = i64_at(&bytes[8..16]);
        for row in bytes[16..].chunks_exact(ROW) {
            let rule = u16::from_le_bytes([row[0], row[1]]);
            let index = u32::from_le_bytes([row[2], row[3], row[4], row[5]]) as usize;
            if rule as usize >= self.rules.len() {
                return Err(format!("a watch names rule {rule} of {}", self.rules.len()));
            }
            let Some(h) = handles.get(index) else {
                return Err(format!("a watch names asset {index} of {}", handles.len()));
            };
            let flags = row[6];
            let open = (flags & 2 != 0)
                .then(|| u64_at(&row[15..23]))
                .filter(|id| self.alerts.get(id).is_some_and(|a| a.cleared_at.is_none()));
            let watch = Watch {
                since: (flags & 1 != 0).then(|| Timestamp::from_millis(i64_at(&row[7..15]))),
                open,
                last: (flags & 4 != 0).then(|| {
                    (
                        Timestamp::from_millis(i64_at(&row[23..31])),
                        f64::from_le_bytes(row[31..39].try_into().unwrap_or_default()),
                    )
                }),
            };
            self.watches.insert((rule, h.0), watch);
        }
        Ok(())
    }
}
