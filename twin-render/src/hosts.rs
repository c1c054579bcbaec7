//! Sensors that colour their host: a building-energy meter's overlay colour is drawn on
//! the building it measures, so the map reads as buildings by energy use.

use std::ops::Range;

use twin_core::state::Rgba;
use twin_core::{AssetKind, SensorType, Twin};

/// For each handle, the host it colours (`u32::MAX`: none).
#[derive(Clone, Debug, Default)]
pub struct HostColors {
    host_of: Vec<u32>,
}

impl HostColors {
    /// Building-energy sensors attached to a building colour that building.
    pub fn building_energy(twin: &Twin) -> HostColors {
        let mut host_of = vec![u32::MAX; twin.handle_capacity()];
        for (h, a) in twin.iter() {
            if a.kind == AssetKind::Sensor(SensorType::BuildingEnergy)
                && let Some(host) = twin.attached_to(h)
                && twin
                    .get(host)
                    .is_some_and(|b| b.kind == AssetKind::Building)
            {
                host_of[h.index()] = host.0;
            }
        }
        HostColors { host_of }
    }

    /// The host a handle colours.
    pub fn host(&self, h: u32) -> Option<u32> {
        self.host_of
            .get(h as usize)
            .copied()
            .filter(|&x| x != u32::MAX)
    }

    /// Copies the colours of `ranges` from `src` into `dst` and onto the hosts of those
    /// handles; returns the changed ranges of `dst` (sorted, merged).
    pub fn apply(&self, src: &[Rgba], ranges: &[Range<u32>], dst: &mut [Rgba]) -> Vec<Range<u32>> {
        let mut out: Vec<Range<u32>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            let end = (r.end as usize).min(src.len()).min(dst.len());
            let start = (r.start as usize).min(end);
            if start == end {
                continue;
            }
            dst[start..end].copy_from_slice(&src[start..end]);
            out.push(start as u32..end as u32);
            for (h, &c) in (start..end).zip(&src[start..end]) {
                if let Some(host) = self.host(h as u32)
                    && let Some(d) = dst.get_mut(host as usize)
                {
                    *d = c;
                    out.push(host..host + 1);
                }
            }
        }
        merge(out)
    }
}

/// Sorts ranges and joins overlapping or touching ones.
pub fn merge(mut v: Vec<Range<u32>>) -> Vec<Range<u32>> {
    v.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u32>> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_joins_touching_and_overlapping_ranges() {
        assert_eq!(
            merge(vec![5..7, 0..2, 2..3, 6..9, 12..13]),
            vec![0..3, 5..9, 12..13]
        );
    }

    #[test]
    fn hosts_take_their_sensor_colour() {
        let hc = HostColors {
            host_of: vec![u32::MAX, u32::MAX, 0, u32::MAX],
        };
        let src = vec![
            Rgba::NONE,
            Rgba::NONE,
            Rgba::rgb(255, 0, 0),
            Rgba::rgb(0, 0, 255),
        ];
        let mut dst = vec![Rgba::NONE; 4];
        let changed = hc.apply(&src, std::slice::from_ref(&(2..4)), &mut dst);
        assert_eq!(
            dst,
            vec![
                Rgba::rgb(255, 0, 0),
                Rgba::NONE,
                Rgba::rgb(255, 0, 0),
                Rgba::rgb(0, 0, 255)
            ]
        );
        assert_eq!(changed, vec![0..1, 2..4]);
    }
}
