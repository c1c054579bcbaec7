//! Tests of the history: known answers, models and invariants.
use std::collections::BTreeMap;

use super::*;

const K: SeriesKey = SeriesKey::new(7, 1);

/// SplitMix64: a small deterministic PRNG.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
        let r = (u128::from(self.next()) << 64 | u128::from(self.next())) % span;
        (i128::from(lo) + r as i128) as i64
    }
}

/// Checks every internal invariant of `h` (after compacting it).
pub(super) fn check(h: &History) {
    h.read_all(check_cold);
}

/// Checks every internal invariant of compacted history.
fn check_cold(h: &Cold) {
    let mut total = 0;
    let mut bytes = 0;
    assert_eq!(h.oldest.len(), h.series.len());
    for (key, s) in h.series.iter() {
        assert!(!s.chunks.is_empty(), "{key:?} has no chunk");
        assert!(h.oldest.contains(&(s.chunks[0].base, key)));
        let mut prev: Option<i64> = None;
        let mut len = 0;
        let mut sb = s.table_bytes();
        for (i, c) in s.chunks.iter().enumerate() {
            assert_eq!(c.offsets.len(), c.values.len());
            assert!(c.offsets.len() <= CHUNK_CAPACITY);
            assert!(c.dead < c.offsets.len());
            assert!(i == 0 || c.dead == 0);
            assert_eq!(
                c.offsets[0], 0,
                "{key:?} chunk {i} does not start at its base"
            );
            for w in c.offsets.windows(2).skip(c.dead) {
                assert!(w[0] < w[1]);
            }
            for &o in c.live_offsets() {
                let ts = i128::from(c.base) + i128::from(o);
                assert!(ts <= i128::from(i64::MAX));
                let ts = ts as i64;
                assert!(prev.is_none_or(|p| p < ts), "{key:?} unsorted");
                prev = Some(ts);
            }
            len += c.live_len();
            sb += c.heap_bytes();
        }
        assert_eq!(len, s.len);
        assert_eq!(sb, s.bytes);
        total += len;
        bytes += sb;
    }
    assert_eq!(total, h.total);
    assert_eq!(bytes, h.bytes);
}

/// A copy of the compacted state of `h`, for looking at its chunks.
pub(super) fn cold(h: &History) -> Cold {
    h.read_all(Cold::clone)
}

pub(super) fn all(h: &History, key: SeriesKey) -> Vec<(i64, f64)> {
    h.range_ms(key, i64::MIN, i64::MAX)
}

#[test]
fn thousand_in_order_samples_read_back() {
    let mut h = History::new(Retention::UNLIMITED, None);
    let want: Vec<(i64, f64)> = (0..1000)
        .map(|i| (1_700_000_000_000 + i * 1000, i as f64 * 0.5))
        .collect();
    for &(ts, v) in &want {
        assert_eq!(h.insert_ms(K, ts, v), Inserted::Appended);
    }
    assert_eq!(h.len(K), 1000);
    assert_eq!(h.total_samples(), 1000);
    assert_eq!(h.series_count(), 1);
    assert_eq!(h.range_ms(K, i64::MIN, i64::MAX), want);
    assert_eq!(h.range_ms(K, want[10].0, want[19].0), want[10..20].to_vec());
    assert_eq!(
        h.range_ms(K, want[10].0 + 1, want[19].0 - 1),
        want[11..19].to_vec()
    );
    assert_eq!(h.latest_ms(K), Some(want[999]));
    assert_eq!(h.oldest_ms(K), Some(want[0]));
    assert_eq!(h.keys().collect::<Vec<_>>(), vec![K]);
    assert!(
        h.range_ms(SeriesKey::new(1, 1), i64::MIN, i64::MAX)
            .is_empty()
    );
    assert_eq!(h.latest_ms(SeriesKey::new(1, 1)), None);
    check(&h);
}

#[test]
fn long_series_costs_at_most_12_5_bytes_per_sample() {
    let mut h = History::new(Retention::UNLIMITED, None);
    for i in 0..100_000i64 {
        h.insert_ms(K, 1_700_000_000_000 + i * 1000, i as f64);
    }
    let per = h.bytes() as f64 / h.total_samples() as f64;
    eprintln!(
        "bytes per sample over 100,000 samples: {per:.4} ({} bytes)",
        h.bytes()
    );
    assert!(per <= 12.5, "{per}");
    assert!(per >= 12.0);
    check(&h);
}

#[test]
fn out_of_order_duplicate_and_replace() {
    let mut h = History::new(Retention::UNLIMITED, None);
    assert_eq!(h.insert_ms(K, 0, 0.0), Inserted::Appended);
    assert_eq!(h.insert_ms(K, 2000, 2.0), Inserted::Appended);
    assert_eq!(h.insert_ms(K, 1000, 1.0), Inserted::OutOfOrder);
    assert_eq!(h.insert_ms(K, -1000, -1.0), Inserted::OutOfOrder);
    assert_eq!(
        all(&h, K),
        vec![(-1000, -1.0), (0, 0.0), (1000, 1.0), (2000, 2.0)]
    );
    assert_eq!(h.insert_ms(K, 1000, 1.0), Inserted::Duplicate);
    assert_eq!(h.insert_ms(K, 2000, 2.0), Inserted::Duplicate);
    assert_eq!(h.len(K), 4);
    assert_eq!(h.insert_ms(K, 1000, 10.0), Inserted::Replaced);
    assert_eq!(h.insert_ms(K, 2000, 20.0), Inserted::Replaced);
    assert_eq!(h.insert_ms(K, -1000, -0.0), Inserted::Replaced);
    assert_eq!(h.insert_ms(K, -1000, -0.0), Inserted::Duplicate);
    assert_eq!(
        all(&h, K),
        vec![(-1000, -0.0), (0, 0.0), (1000, 10.0), (2000, 20.0)]
    );
    assert_eq!(h.len(K), 4);
    check(&h);
}

#[test]
fn out_of_order_into_full_chunks_splits() {
    let mut h = History::new(Retention::UNLIMITED, None);
    for i in 0..1000i64 {
        h.insert_ms(K, i * 10, i as f64);
    }
    for i in (0..999i64).rev() {
        assert_eq!(
            h.insert_ms(K, i * 10 + 5, -(i as f64)),
            Inserted::OutOfOrder
        );
    }
    check(&h);
    let got = all(&h, K);
    assert_eq!(got.len(), 1999);
    for (j, &(ts, v)) in got.iter().enumerate() {
        let i = j as i64 / 2;
        if j % 2 == 0 {
            assert_eq!((ts, v), (i * 10, i as f64));
        } else {
            assert_eq!((ts, v), (i * 10 + 5, -(i as f64)));
        }
    }
}

/// Random inserts against a sorted-map model, for several timestamp spreads.
fn random_against_model(seed: u64, lo: i64, hi: i64, n: usize) {
    let mut rng = Rng(seed);
    let mut h = History::new(Retention::UNLIMITED, None);
    let mut model: BTreeMap<i64, f64> = BTreeMap::new();
    let keys = [
        SeriesKey::new(1, 0),
        SeriesKey::new(1, 1),
        SeriesKey::new(2, 0),
    ];
    let mut models = [BTreeMap::new(), BTreeMap::new()];
    for _ in 0..n {
        let ts = rng.range(lo, hi);
        let v = rng.below(4) as f64;
        let which = rng.below(3) as usize;
        let (key, m) = if which == 0 {
            (keys[0], &mut model)
        } else {
            (keys[which], &mut models[which - 1])
        };
        let got = h.insert_ms(key, ts, v);
        let newest = m.keys().next_back().copied();
        let want = match m.get(&ts) {
            Some(old) if *old == v => Inserted::Duplicate,
            Some(_) => Inserted::Replaced,
            None if newest.is_none_or(|n| ts > n) => Inserted::Appended,
            None => Inserted::OutOfOrder,
        };
        assert_eq!(got, want, "seed {seed} ts {ts}");
        m.insert(ts, v);
    }
    check(&h);
    let want: Vec<(i64, f64)> = model.iter().map(|(&t, &v)| (t, v)).collect();
    assert_eq!(all(&h, keys[0]), want, "seed {seed}");
    assert_eq!(h.len(keys[0]), model.len());
    for _ in 0..300 {
        let t = if rng.below(2) == 0 {
            rng.range(lo, hi)
        } else {
            want[rng.below(want.len() as u64) as usize].0
        };
        let brute = want.iter().rev().find(|&&(ts, _)| ts <= t).copied();
        assert_eq!(h.at_ms(keys[0], t), brute, "seed {seed} t {t}");
        let (a, b) = (rng.range(lo, hi), rng.range(lo, hi));
        let (a, b) = (a.min(b), a.max(b));
        let brute: Vec<_> = want
            .iter()
            .filter(|&&(ts, _)| a <= ts && ts <= b)
            .copied()
            .collect();
        assert_eq!(h.range_ms(keys[0], a, b), brute, "seed {seed} [{a}, {b}]");
    }
    assert_eq!(
        h.at_ms(keys[0], i64::MIN),
        want.first().filter(|s| s.0 == i64::MIN).copied()
    );
    assert_eq!(h.at_ms(keys[0], i64::MAX), want.last().copied());
    assert_eq!(h.latest_ms(keys[0]), want.last().copied());
}

#[test]
fn at_and_range_match_brute_force_over_random_inserts() {
    for seed in 0..40 {
        // Dense: many duplicates and replacements, chunk splits.
        random_against_model(seed, 0, 2_000, 3_000);
        // 1 Hz-like spread.
        random_against_model(seed, 0, 10_000_000, 3_000);
        // Offsets beyond u32::MAX: many chunks, rebasing and new chunks.
        random_against_model(seed, -(1 << 40), 1 << 40, 2_000);
        // The whole i64 range.
        random_against_model(seed, i64::MIN, i64::MAX, 1_000);
    }
}

#[test]
fn mostly_in_order_with_late_redeliveries() {
    let mut rng = Rng(99);
    let mut h = History::new(Retention::UNLIMITED, None);
    let mut model = BTreeMap::new();
    for i in 0..20_000i64 {
        let ts = if rng.below(10) == 0 {
            (i - rng.below(600) as i64) * 1000
        } else {
            i * 1000
        };
        h.insert_ms(K, ts, (ts / 1000) as f64);
        model.insert(ts, (ts / 1000) as f64);
    }
    check(&h);
    let want: Vec<_> = model.into_iter().collect();
    assert_eq!(all(&h, K), want);
}

#[test]
fn downsample_known_answers() {
    let mut h = History::new(Retention::UNLIMITED, None);
    for i in 0..10i64 {
        h.insert_ms(K, i * 1000, i as f64);
    }
    let b = h.downsample_ms(K, 0, 9_999, 5_000);
    assert_eq!(
        b,
        vec![
            Bucket {
                start: crate::time::Timestamp::from_millis(0),
                count: 5,
                min: 0.0,
                max: 4.0,
                mean: 2.0
            },
            Bucket {
                start: crate::time::Timestamp::from_millis(5_000),
                count: 5,
                min: 5.0,
                max: 9.0,
                mean: 7.0
            },
        ]
    );
    // Buckets start at `from`; empty buckets are left out.
    let b = h.downsample_ms(K, 1_000, 20_000, 3_000);
    let starts: Vec<i64> = b.iter().map(|b| b.start.as_millis()).collect();
    assert_eq!(starts, vec![1_000, 4_000, 7_000]);
    assert_eq!(
        (b[2].count, b[2].min, b[2].max, b[2].mean),
        (3, 7.0, 9.0, 8.0)
    );
    let mut g = History::new(Retention::UNLIMITED, None);
    for (ts, v) in [
        (0, 1.0),
        (100, 3.0),
        (10_000, -4.0),
        (10_500, 8.0),
        (10_999, -1.0),
    ] {
        g.insert_ms(K, ts, v);
    }
    let b = g.downsample_ms(K, 0, 11_000, 1_000);
    assert_eq!(
        b,
        vec![
            Bucket {
                start: crate::time::Timestamp::from_millis(0),
                count: 2,
                min: 1.0,
                max: 3.0,
                mean: 2.0
            },
            Bucket {
                start: crate::time::Timestamp::from_millis(10_000),
                count: 3,
                min: -4.0,
                max: 8.0,
                mean: 1.0
            },
        ]
    );
    // Huge finite values do not overflow the mean.
    let mut g = History::new(Retention::UNLIMITED, None);
    g.insert_ms(K, 0, f64::MAX);
    g.insert_ms(K, 1, f64::MAX);
    let b = g.downsample_ms(K, 0, 1, 10);
    assert_eq!(b[0].mean, f64::MAX);
    // Bad arguments.
    assert!(h.downsample_ms(K, 0, 10_000, 0).is_empty());
    assert!(h.downsample_ms(K, 0, 10_000, -5).is_empty());
    assert!(h.downsample_ms(K, 10_000, 0, 1_000).is_empty());
    assert!(h.range_ms(K, 10_000, 0).is_empty());
    assert!(
        h.downsample_ms(SeriesKey::new(0, 0), 0, 10_000, 1_000)
            .is_empty()
    );
}

#[test]
fn extreme_timestamps() {
    let mut h = History::new(Retention::UNLIMITED, None);
    let stamps = [
        i64::MAX,
        i64::MIN,
        0,
        i64::MAX - 1,
        i64::MIN + 1,
        i64::from(u32::MAX),
        i64::from(u32::MAX) + 1,
        -i64::from(u32::MAX),
        i64::MIN + i64::from(u32::MAX),
        i64::MAX - i64::from(u32::MAX),
        1 << 40,
    ];
    for (i, &ts) in stamps.iter().enumerate() {
        h.insert_ms(K, ts, i as f64);
    }
    check(&h);
    let mut want: Vec<(i64, f64)> = stamps
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as f64))
        .collect();
    want.sort_by_key(|s| s.0);
    assert_eq!(all(&h, K), want);
    assert_eq!(h.at_ms(K, i64::MIN), Some((i64::MIN, 1.0)));
    assert_eq!(h.at_ms(K, i64::MAX), Some((i64::MAX, 0.0)));
    assert_eq!(h.at_ms(K, -1), Some((-i64::from(u32::MAX), 7.0)));
    assert_eq!(h.latest_ms(K), Some((i64::MAX, 0.0)));
    assert_eq!(h.range_ms(K, i64::MAX, i64::MAX), vec![(i64::MAX, 0.0)]);
    assert_eq!(h.range_ms(K, i64::MIN, i64::MIN), vec![(i64::MIN, 1.0)]);
    let b = h.downsample_ms(K, i64::MIN, i64::MAX, i64::MAX);
    assert_eq!(b.iter().map(|b| b.count).sum::<u32>(), stamps.len() as u32);
    assert_eq!(b[0].start, crate::time::Timestamp::from_millis(i64::MIN));
    let b = h.downsample_ms(K, i64::MIN, i64::MAX, 1);
    assert_eq!(b.len(), stamps.len());
    assert_eq!(
        b.last().unwrap().start,
        crate::time::Timestamp::from_millis(i64::MAX)
    );
    // Offsets more than u32::MAX ms apart, in order and reversed.
    let mut g = History::new(Retention::UNLIMITED, None);
    let step = i64::from(u32::MAX) + 7;
    for i in 0..600i64 {
        assert_eq!(g.insert_ms(K, i * step, i as f64), Inserted::Appended);
    }
    for i in 1..600i64 {
        assert_eq!(g.insert_ms(K, -i * step, -i as f64), Inserted::OutOfOrder);
    }
    check(&g);
    let got = all(&g, K);
    assert_eq!(got.len(), 1199);
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(g.at_ms(K, step - 1), Some((0, 0.0)));
    assert_eq!(g.at_ms(K, -step), Some((-step, -1.0)));
    // Retention and budget at the extremes.
    let mut g = History::new(
        Retention {
            max_age_ms: Some(i64::MAX),
            max_samples: Some(3),
        },
        Some(1 << 20),
    );
    for &ts in &stamps {
        g.insert_ms(K, ts, 0.0);
    }
    g.enforce_ms(i64::MIN);
    g.enforce_ms(i64::MAX);
    check(&g);
}
