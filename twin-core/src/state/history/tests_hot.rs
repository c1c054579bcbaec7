//! Tests of the hot log and its compaction: known answers, an eager twin fed by
//! `insert`, and a brute-force model.
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{Rng, check, cold};
use super::*;

const K: SeriesKey = SeriesKey::new(7, 1);

fn all(h: &History, key: SeriesKey) -> Vec<(i64, f64)> {
    h.range_ms(key, i64::MIN, i64::MAX)
}

#[test]
fn appended_samples_are_visible_before_compaction() {
    let mut h = History::new(Retention::UNLIMITED, None);
    let other = SeriesKey::new(8, 1);
    for i in 0..10i64 {
        h.append_ms(K, 1_000 * i, i as f64);
        h.append_ms(other, 1_000 * i, -(i as f64));
    }
    assert_eq!(h.pending(), 20);
    // A read of one series compacts that series only.
    assert_eq!(h.at_ms(K, 4_500), Some((4_000, 4.0)));
    assert_eq!(h.pending(), 10);
    assert_eq!(h.latest_ms(other), Some((9_000, -9.0)));
    assert_eq!(h.pending(), 0);
    h.append_ms(K, 10_000, 10.0);
    h.append_ms(K, 11_000, 11.0);
    assert_eq!(h.pending(), 2);
    assert_eq!(
        h.range_ms(K, 9_000, 10_500),
        vec![(9_000, 9.0), (10_000, 10.0)]
    );
    h.append_ms(K, 12_000, 12.0);
    assert_eq!(h.len(K), 13);
    h.append_ms(K, 13_000, 13.0);
    assert_eq!(h.oldest_ms(K), Some((0, 0.0)));
    h.append_ms(K, 14_000, 14.0);
    let b = h.downsample_ms(K, 10_000, 14_999, 5_000);
    assert_eq!(
        b,
        vec![Bucket {
            start: crate::time::Timestamp::from_millis(10_000),
            count: 5,
            min: 10.0,
            max: 14.0,
            mean: 12.0
        }]
    );
    h.append_ms(other, 10_000, 1.0);
    // Totals compact everything.
    assert_eq!(h.total_samples(), 26);
    assert_eq!(h.pending(), 0);
    h.append_ms(other, 11_000, 1.0);
    assert_eq!(
        h.at_all_ms(11_000),
        vec![(K, 11_000, 11.0), (other, 11_000, 1.0)]
    );
    check(&h);
}

#[test]
fn looking_back_past_pending_samples_needs_no_compaction() {
    let mut h = History::new(Retention::max_age(10_000), None);
    for i in 0..20i64 {
        h.append_ms(K, i * 1_000, i as f64);
    }
    assert_eq!(h.at_ms(K, 15_500), Some((15_000, 15.0)));
    assert_eq!(
        h.pending(),
        0,
        "a pending sample was at or before t: compacted"
    );
    h.append_ms(K, 20_000, 20.0);
    h.append_ms(K, 21_000, 21.0);
    // All pending samples are after t and the answer stays within the age limit.
    assert_eq!(h.at_ms(K, 12_500), Some((12_000, 12.0)));
    assert_eq!(h.at_ms(K, 19_999), Some((19_000, 19.0)));
    assert_eq!(h.pending(), 2);
    // The pending 21 s moves the cut-off to 11 s: 10.5 s has no sample left.
    assert_eq!(h.at_ms(K, 10_500), None);
    assert_eq!(h.pending(), 0);
    // Count retention: always compacted.
    h.set_retention(1, Retention::max_samples(2));
    h.append_ms(K, 22_000, 22.0);
    assert_eq!(h.at_ms(K, 20_500), None, "the pending 22 s pushes 20 s out");
    assert_eq!(h.pending(), 0);
    assert_eq!(all(&h, K), vec![(21_000, 21.0), (22_000, 22.0)]);
}

#[test]
fn compaction_keeps_arrival_order_with_late_repeated_and_replacing_samples() {
    let seq: [(i64, f64); 12] = [
        (5_000, 5.0),
        (6_000, 6.0),
        (3_000, 3.0), // late
        (6_000, 6.0), // repeat
        (7_000, 7.0),
        (3_000, 30.0), // replaces the late one
        (1_000, 1.0),  // later still
        (7_000, -0.0),
        (7_000, 0.0), // +0.0 replaces -0.0
        (2_000, 2.0),
        (8_000, 8.0),
        (2_000, 2.0),
    ];
    let mut lazy = History::new(Retention::UNLIMITED, None);
    let mut eager = History::new(Retention::UNLIMITED, None);
    for &(ts, v) in &seq {
        lazy.append_ms(K, ts, v);
        eager.insert_ms(K, ts, v);
    }
    assert_eq!(lazy.pending(), seq.len());
    let want = vec![
        (1_000, 1.0),
        (2_000, 2.0),
        (3_000, 30.0),
        (5_000, 5.0),
        (6_000, 6.0),
        (7_000, 0.0),
        (8_000, 8.0),
    ];
    assert_eq!(all(&lazy, K), want);
    assert_eq!(all(&eager, K), want);
    assert!(all(&lazy, K)[5].1.is_sign_positive());
    check(&lazy);
    // The same with count retention: the late samples fall out as inserts would drop
    // them.
    let mut lazy = History::new(Retention::max_samples(3), None);
    let mut eager = History::new(Retention::max_samples(3), None);
    for &(ts, v) in &seq {
        lazy.append_ms(K, ts, v);
        eager.insert_ms(K, ts, v);
    }
    assert_eq!(
        all(&lazy, K),
        vec![(6_000, 6.0), (7_000, 0.0), (8_000, 8.0)]
    );
    assert_eq!(all(&lazy, K), all(&eager, K));
    assert_eq!(lazy.expired(), eager.expired());
    assert_eq!(lazy.expired(), 6);
}

#[test]
fn a_full_log_compacts_itself() {
    let mut h = History::new(Retention::UNLIMITED, None);
    h.set_hot_capacity(100);
    assert_eq!(h.hot_capacity(), 100);
    for i in 0..250i64 {
        h.append_ms(SeriesKey::new((i % 7) as u32, 0), i, i as f64);
        assert!(h.pending() < 100);
    }
    assert_eq!(h.pending(), 250 - 200);
    assert_eq!(h.total_samples(), 250);
    for k in 0..7u32 {
        let got = all(&h, SeriesKey::new(k, 0));
        let want: Vec<(i64, f64)> = (0..250i64)
            .filter(|i| i % 7 == i64::from(k))
            .map(|i| (i, i as f64))
            .collect();
        assert_eq!(got, want);
    }
    // Lowering the capacity below what is held compacts at once.
    h.append_ms(K, 0, 0.0);
    h.set_hot_capacity(0);
    assert_eq!((h.pending(), h.hot_capacity()), (0, 1));
    check(&h);
}

#[test]
fn history_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<History>();
    let mut h = History::new(Retention::UNLIMITED, None);
    h.append_ms(K, 1, 1.0);
    let copy = h.clone();
    let read = std::thread::scope(|s| s.spawn(|| copy.at_ms(K, 5)).join().unwrap());
    assert_eq!(read, Some((1, 1.0)));
    assert_eq!(h.pending(), 1, "the clone compacted its own log");
}

#[test]
fn ticks_compact_at_most_every_ten_seconds() {
    let mut h = History::new(Retention::UNLIMITED, None);
    assert_eq!(h.tick_ms(0), 0, "nothing pending");
    h.append_ms(K, 0, 0.0);
    assert_eq!(h.tick_ms(1_000), 1);
    h.append_ms(K, 1, 0.0);
    h.append_ms(K, 2, 0.0);
    assert_eq!(h.tick_ms(5_000), 0);
    assert_eq!(h.tick_ms(10_999), 0);
    assert_eq!(h.pending(), 2);
    assert_eq!(h.tick_ms(11_000), 2);
    h.append_ms(K, 3, 0.0);
    assert_eq!(h.tick_ms(12_000), 0);
    assert_eq!(h.tick_ms(500), 1, "the clock went back");
    assert_eq!(h.len(K), 4);
}

#[test]
fn hot_log_costs_16_bytes_per_pending_sample() {
    let mut h = History::new(Retention::UNLIMITED, None);
    h.set_hot_capacity(usize::MAX);
    let n = 1 << 16;
    for i in 0..n {
        h.append_ms(SeriesKey::new((i % 100) as u32, 0), i, 0.0);
    }
    let before = h.hot_bytes();
    for i in n..2 * n {
        h.append_ms(SeriesKey::new((i % 100) as u32, 0), i, 0.0);
    }
    // The record vector doubled from 2^16 to 2^17 records; nothing else grew.
    assert_eq!(h.hot_bytes() - before, 16 << 16);
    assert_eq!(h.pending(), 2 << 16);
    assert_eq!(h.compact(), 2 << 16);
    // Capacity is kept for the next batch.
    assert_eq!(h.hot_bytes(), before + (16 << 16));
    assert_eq!(h.total_samples(), 2 << 16);
}

#[test]
fn times_far_apart_and_huge_keys() {
    let mut lazy = History::new(Retention::UNLIMITED, None);
    let mut eager = History::new(Retention::UNLIMITED, None);
    let stamps = [
        0,
        1 << 40,
        -(1 << 40),
        i64::MAX,
        i64::MIN,
        5,
        i64::from(i32::MAX),
        i64::from(i32::MIN) - 1,
    ];
    let huge = SeriesKey::new(u32::MAX, u16::MAX);
    for (i, &ts) in stamps.iter().enumerate() {
        for key in [K, huge, SeriesKey::new(1, 1)] {
            lazy.append_ms(key, ts, i as f64);
            eager.insert_ms(key, ts, i as f64);
        }
    }
    for key in [K, huge, SeriesKey::new(1, 1)] {
        assert_eq!(all(&lazy, key), all(&eager, key));
        assert_eq!(lazy.len(key), stamps.len());
    }
    // Huge handles and channels skip the log and its dense heads.
    assert!(lazy.hot_bytes() < 1 << 16, "{}", lazy.hot_bytes());
    assert_eq!(
        lazy.keys().collect::<Vec<_>>(),
        eager.keys().collect::<Vec<_>>()
    );
    check(&lazy);
}

#[test]
fn budget_holds_whenever_observed_with_appends() {
    let budget = 40_000;
    let mut h = History::new(Retention::UNLIMITED, Some(budget));
    let keys: Vec<SeriesKey> = (0..8).map(|i| SeriesKey::new(i, 0)).collect();
    let mut appended = 0u64;
    for t in 0..3_000i64 {
        for (i, &k) in keys.iter().enumerate() {
            h.append_ms(k, t * 1000 + i as i64, 1.0);
            appended += 1;
        }
        if t % 97 == 0 {
            assert!(h.bytes() <= budget);
        }
    }
    assert!(h.bytes() <= budget);
    assert!(h.evicted() > 0);
    assert_eq!(h.evicted() + h.total_samples() as u64, appended);
    // Oldest first: every series kept about the same recent span.
    let oldest: Vec<i64> = keys
        .iter()
        .filter_map(|&k| h.oldest_ms(k))
        .map(|s| s.0)
        .collect();
    assert_eq!(oldest.len(), 8);
    let (lo, hi) = (oldest.iter().min().unwrap(), oldest.iter().max().unwrap());
    assert!(hi - lo <= CHUNK_CAPACITY as i64 * 1000, "{oldest:?}");
    for &k in &keys {
        assert_eq!(
            h.latest_ms(k).map(|s| s.0),
            Some(2_999_000 + i64::from(k.handle))
        );
    }
    check(&h);
}

#[test]
fn append_matches_insert_under_random_retention() {
    for seed in 0..30u64 {
        let mut rng = Rng(seed ^ 0x5eed);
        let mut lazy = History::new(Retention::UNLIMITED, None);
        let mut eager = History::new(Retention::UNLIMITED, None);
        lazy.set_hot_capacity(1 + rng.below(500) as usize);
        let mut now = 0i64;
        for step in 0..6_000 {
            if step % 500 == 0 {
                let ch = rng.below(3) as u16;
                let r = Retention {
                    max_age_ms: (rng.below(2) == 0).then(|| rng.below(40_000) as i64),
                    max_samples: (rng.below(2) == 0).then(|| rng.below(200) as usize),
                };
                lazy.set_retention(ch, r);
                eager.set_retention(ch, r);
            }
            now += rng.below(300) as i64;
            let key = SeriesKey::new(rng.below(6) as u32, rng.below(3) as u16);
            let ts = if rng.below(6) == 0 {
                now - rng.below(30_000) as i64
            } else {
                now
            };
            let v = rng.below(3) as f64;
            if rng.below(10) == 0 {
                assert_eq!(lazy.insert_ms(key, ts, v), eager.insert_ms(key, ts, v));
            } else {
                lazy.append_ms(key, ts, v);
                eager.insert_ms(key, ts, v);
            }
            if step % 301 == 0 {
                assert_eq!(lazy.enforce_ms(now), eager.enforce_ms(now), "seed {seed}");
            }
            if step % 37 == 0 {
                let key = SeriesKey::new(rng.below(6) as u32, rng.below(3) as u16);
                let t = now - rng.below(20_000) as i64;
                assert_eq!(lazy.at_ms(key, t), eager.at_ms(key, t), "seed {seed}");
                assert_eq!(lazy.len(key), eager.len(key), "seed {seed}");
            }
        }
        for key in eager.keys() {
            assert_eq!(all(&lazy, key), all(&eager, key), "seed {seed}");
        }
        assert_eq!(lazy.expired(), eager.expired(), "seed {seed}");
        assert_eq!(lazy.total_samples(), eager.total_samples());
        assert_eq!(lazy.bytes(), eager.bytes(), "seed {seed}");
        check(&lazy);
    }
}

/// The documented semantics, by brute force: one sorted map per series.
#[derive(Default)]
struct Model {
    series: BTreeMap<SeriesKey, BTreeMap<i64, f64>>,
    retention: BTreeMap<u16, Retention>,
    expired: u64,
}

impl Model {
    fn retention(&self, channel: u16) -> Retention {
        self.retention.get(&channel).copied().unwrap_or_default()
    }

    fn insert(&mut self, key: SeriesKey, ts: i64, v: f64) -> Inserted {
        let ret = self.retention(key.channel);
        let s = self.series.entry(key).or_default();
        let newest = s.keys().next_back().copied();
        let oldest = s.keys().next().copied();
        let rejects = ret.max_samples == Some(0)
            || newest.is_some_and(|n| {
                ts < n
                    && (ret
                        .max_age_ms
                        .is_some_and(|a| ts < n.saturating_sub(a.max(0)))
                        || ret.max_samples.is_some_and(|m| s.len() >= m)
                            && oldest.is_some_and(|o| ts < o))
            });
        let outcome = if rejects {
            self.expired += 1;
            match newest {
                Some(n) if ts <= n => Inserted::OutOfOrder,
                _ => Inserted::Appended,
            }
        } else {
            let outcome = match s.get(&ts) {
                Some(old) if old.to_bits() == v.to_bits() => Inserted::Duplicate,
                Some(_) => Inserted::Replaced,
                None if newest.is_none_or(|n| ts > n) => Inserted::Appended,
                None => Inserted::OutOfOrder,
            };
            s.insert(ts, v);
            outcome
        };
        let reference = s.keys().next_back().copied();
        self.trim(key, reference);
        outcome
    }

    /// Drops what retention drops with `reference` as the reference time.
    fn trim(&mut self, key: SeriesKey, reference: Option<i64>) -> u64 {
        let ret = self.retention(key.channel);
        let Some(s) = self.series.get_mut(&key) else {
            return 0;
        };
        let before = s.len();
        if let (Some(age), Some(r)) = (ret.max_age_ms, reference) {
            let cut = r.saturating_sub(age.max(0));
            s.retain(|&t, _| t >= cut);
        }
        if let Some(m) = ret.max_samples {
            while s.len() > m {
                s.pop_first();
            }
        }
        let dropped = (before - s.len()) as u64;
        if s.is_empty() {
            self.series.remove(&key);
        }
        self.expired += dropped;
        dropped
    }

    fn enforce(&mut self, now: i64) -> u64 {
        let keys: Vec<SeriesKey> = self.series.keys().copied().collect();
        keys.into_iter().map(|k| self.trim(k, Some(now))).sum()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Append(u8, i64, u8),
    Insert(u8, i64, u8),
    Read(u8, i64, i64),
    Enforce(i64),
    SetRetention(u16, Option<i64>, Option<usize>),
    Remove(u8),
    Compact,
}

fn key_of(k: u8) -> SeriesKey {
    match k % 5 {
        4 => SeriesKey::new(u32::MAX - 1, 1),
        k => SeriesKey::new(u32::from(k / 2), u16::from(k % 2)),
    }
}

const VALUES: [f64; 4] = [0.0, -0.0, 1.0, 2.5];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), 0i64..60, any::<u8>()).prop_map(|(k, t, v)| Op::Append(k, t, v)),
        2 => (any::<u8>(), 0i64..60, any::<u8>()).prop_map(|(k, t, v)| Op::Insert(k, t, v)),
        3 => (any::<u8>(), -5i64..65, 0i64..30).prop_map(|(k, a, w)| Op::Read(k, a, a + w)),
        1 => (0i64..80).prop_map(Op::Enforce),
        1 => (0u16..2, prop::option::of(0i64..30), prop::option::of(0usize..8))
            .prop_map(|(c, a, n)| Op::SetRetention(c, a, n)),
        1 => any::<u8>().prop_map(Op::Remove),
        1 => Just(Op::Compact),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// After any sequence of appends, inserts, retention changes, enforcement,
    /// removals and compactions, every read equals the brute-force model.
    #[test]
    fn history_equals_brute_force_model(
        ops in prop::collection::vec(op(), 1..300),
        capacity in 1usize..40,
    ) {
        let mut h = History::new(Retention::UNLIMITED, None);
        h.set_hot_capacity(capacity);
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Append(k, t, v) => {
                    let v = VALUES[usize::from(v) % 4];
                    h.append_ms(key_of(k), t, v);
                    m.insert(key_of(k), t, v);
                }
                Op::Insert(k, t, v) => {
                    let v = VALUES[usize::from(v) % 4];
                    prop_assert_eq!(h.insert_ms(key_of(k), t, v), m.insert(key_of(k), t, v));
                }
                Op::Read(k, a, b) => {
                    let key = key_of(k);
                    let s = m.series.get(&key).cloned().unwrap_or_default();
                    let want: Vec<(i64, f64)> = s.range(a..=b).map(|(&t, &v)| (t, v)).collect();
                    // `at` first: it may answer without compacting.
                    let at = s.range(..=b).next_back().map(|(&t, &v)| (t, v));
                    prop_assert_eq!(h.at_ms(key, b), at);
                    let at = s.range(..=a).next_back().map(|(&t, &v)| (t, v));
                    prop_assert_eq!(h.at_ms(key, a), at);
                    let got = h.range_ms(key, a, b);
                    prop_assert_eq!(got.len(), want.len());
                    for (g, w) in got.iter().zip(&want) {
                        prop_assert_eq!((g.0, g.1.to_bits()), (w.0, w.1.to_bits()));
                    }
                    prop_assert_eq!(h.len(key), s.len());
                    prop_assert_eq!(h.latest_ms(key), s.iter().next_back().map(|(&t, &v)| (t, v)));
                    prop_assert_eq!(h.oldest_ms(key), s.iter().next().map(|(&t, &v)| (t, v)));
                    let count: u32 = h.downsample_ms(key, a, b, 7).iter().map(|b| b.count).sum();
                    prop_assert_eq!(count as usize, want.len());
                }
                Op::Enforce(now) => prop_assert_eq!(h.enforce_ms(now), m.enforce(now)),
                Op::SetRetention(c, a, n) => {
                    let r = Retention { max_age_ms: a, max_samples: n };
                    h.set_retention(c, r);
                    m.retention.insert(c, r);
                }
                Op::Remove(k) => {
                    let n = m.series.remove(&key_of(k)).map_or(0, |s| s.len());
                    prop_assert_eq!(h.remove(key_of(k)), n);
                }
                Op::Compact => {
                    let pending = h.pending();
                    prop_assert_eq!(h.compact(), pending);
                    prop_assert_eq!(h.pending(), 0);
                }
            }
        }
        prop_assert_eq!(h.keys().collect::<Vec<_>>(), m.series.keys().copied().collect::<Vec<_>>());
        prop_assert_eq!(h.total_samples(), m.series.values().map(BTreeMap::len).sum::<usize>());
        prop_assert_eq!(h.expired(), m.expired);
        check(&h);
        prop_assert_eq!(cold(&h).series.len(), m.series.len());
    }
}
