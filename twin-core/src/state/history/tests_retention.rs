//! Tests of the history's retention and memory budget: known answers, a model and
//! invariants.
use std::collections::BTreeMap;

use super::tests::{Rng, all, check, cold};
use super::*;

const K: SeriesKey = SeriesKey::new(7, 1);

#[test]
fn retention_by_count() {
    let mut h = History::new(Retention::UNLIMITED, None);
    h.set_retention(1, Retention::max_samples(10));
    let other = SeriesKey::new(7, 2);
    for i in 0..1000i64 {
        h.insert_ms(K, i, i as f64);
        h.insert_ms(other, i, i as f64);
        assert!(h.len(K) <= 10);
    }
    assert_eq!(h.len(K), 10);
    assert_eq!(h.len(other), 1000);
    assert_eq!(
        all(&h, K),
        (990..1000).map(|i| (i, i as f64)).collect::<Vec<_>>()
    );
    assert_eq!(h.expired(), 990);
    // Older than everything a full series holds: refused.
    assert_eq!(h.insert_ms(K, 5, 5.0), Inserted::OutOfOrder);
    assert_eq!(h.len(K), 10);
    assert_eq!(h.oldest_ms(K), Some((990, 990.0)));
    // Within: stored, and the oldest goes.
    assert_eq!(h.insert_ms(K, 1000, 1.0), Inserted::Appended);
    assert_eq!(h.oldest_ms(K), Some((991, 991.0)));
    // Memory stays small: dropped samples free their chunks.
    assert!(cold(&h).series.get(K).unwrap().chunks.len() <= 2);
    check(&h);
    // Tightening applies at enforce.
    h.set_retention(2, Retention::max_samples(3));
    assert_eq!(h.enforce_ms(0), 997);
    assert_eq!(
        all(&h, other),
        vec![(997, 997.0), (998, 998.0), (999, 999.0)]
    );
    check(&h);
    // max_samples 0 keeps nothing.
    h.set_retention(3, Retention::max_samples(0));
    assert_eq!(
        h.insert_ms(SeriesKey::new(1, 3), 0, 1.0),
        Inserted::Appended
    );
    assert_eq!(h.len(SeriesKey::new(1, 3)), 0);
    assert_eq!(h.series_count(), 2);
    check(&h);
}

#[test]
fn tightened_retention_frees_memory_and_housekeeping() {
    let mut h = History::new(Retention::UNLIMITED, None);
    let other = SeriesKey::new(9, 1);
    for i in 0..20_000i64 {
        h.insert_ms(K, i, 0.0);
    }
    h.insert_ms(other, 0, 1.0);
    let big = h.bytes();
    h.set_retention(1, Retention::max_samples(10));
    assert_eq!(h.retention(1), Retention::max_samples(10));
    assert_eq!(h.enforce_ms(0), 19_990);
    check(&h);
    // The chunk table shrank with the chunks.
    assert!(h.bytes() < big / 50, "{} vs {big}", h.bytes());
    assert!(cold(&h).series.get(K).unwrap().chunks.capacity() <= 16);
    h.clear_retention(1);
    assert_eq!(h.retention(1), Retention::UNLIMITED);
    assert_eq!(h.remove(K), 10);
    assert_eq!(h.remove(K), 0);
    assert_eq!(h.keys().collect::<Vec<_>>(), vec![other]);
    check(&h);
    assert!(!h.is_empty());
    h.clear();
    assert!(h.is_empty());
    assert_eq!((h.bytes(), h.series_count(), h.budget()), (0, 0, None));
    check(&h);
    assert_eq!(h.insert_ms(K, 3, 3.0), Inserted::Appended);
    assert_eq!(h.at_ms(K, 2), None);
    assert_eq!(h.at_ms(K, 3), Some((3, 3.0)));
    check(&h);
}

#[test]
fn retention_by_age() {
    let mut h = History::new(Retention::max_age(5_000), None);
    for i in 0..100i64 {
        h.insert_ms(K, i * 1000, i as f64);
    }
    // Newest 99 s: kept from 94 s inclusive.
    assert_eq!(h.len(K), 6);
    assert_eq!(h.oldest_ms(K), Some((94_000, 94.0)));
    assert_eq!(h.expired(), 94);
    // Too old to keep: refused; within the window: stored.
    assert_eq!(h.insert_ms(K, 93_999, 1.0), Inserted::OutOfOrder);
    assert_eq!(h.len(K), 6);
    assert_eq!(h.insert_ms(K, 94_500, 1.0), Inserted::OutOfOrder);
    assert_eq!(h.len(K), 7);
    check(&h);
    // enforce uses now.
    assert_eq!(h.enforce_ms(102_000), 4);
    assert_eq!(
        all(&h, K),
        vec![(97_000, 97.0), (98_000, 98.0), (99_000, 99.0)]
    );
    assert_eq!(h.enforce_ms(200_000), 3);
    assert_eq!(h.series_count(), 0);
    assert_eq!(h.bytes(), 0);
    assert_eq!(h.total_samples(), 0);
    check(&h);
    // Extreme ages and times do not overflow.
    let mut g = History::new(Retention::max_age(i64::MAX), None);
    g.insert_ms(K, i64::MIN, 1.0);
    g.insert_ms(K, -1, 2.0);
    // -1 - i64::MAX == i64::MIN: both kept.
    assert_eq!(g.len(K), 2);
    assert_eq!(g.enforce_ms(i64::MIN), 0);
    assert_eq!(g.len(K), 2);
    g.insert_ms(K, i64::MAX, 3.0);
    // i64::MAX - i64::MAX == 0: only the newest is kept.
    assert_eq!(all(&g, K), vec![(i64::MAX, 3.0)]);
    assert_eq!(g.enforce_ms(i64::MAX), 0);
    assert_eq!(g.len(K), 1);
    check(&g);
    let mut g = History::new(Retention::max_age(-5), None);
    g.insert_ms(K, 10, 1.0);
    g.insert_ms(K, 11, 1.0);
    assert_eq!(all(&g, K), vec![(11, 1.0)]);
    check(&g);
}

#[test]
fn dropped_front_samples_are_skipped_not_moved() {
    // A small max_samples with steady appends keeps at most two chunks.
    let mut h = History::new(Retention::max_samples(100), None);
    for i in 0..10_000i64 {
        h.insert_ms(K, i, 0.0);
    }
    assert_eq!(h.len(K), 100);
    assert!(cold(&h).series.get(K).unwrap().chunks.len() <= 2);
    assert!(
        cold(&h).series.get(K).unwrap().chunks[0].dead > 0
            || cold(&h).series.get(K).unwrap().chunks.len() == 1
    );
    // Out-of-order into a chunk with a dead prefix compacts it.
    assert_eq!(h.insert_ms(K, 9_950, 1.0), Inserted::Replaced);
    h.insert_ms(K, 9_950, 0.0);
    check(&h);
    let got = all(&h, K);
    assert_eq!(got, (9_900..10_000).map(|t| (t, 0.0)).collect::<Vec<_>>());
}

#[test]
fn budget_evicts_oldest_first_and_holds() {
    let a = SeriesKey::new(1, 0);
    let b = SeriesKey::new(2, 0);
    // `b` alone fits (4 chunks of 256 slots, 12.5 KB); `a` and `b` do not.
    let budget = 14_000;
    let mut h = History::new(Retention::UNLIMITED, Some(budget));
    // `a` holds older samples than `b`.
    for i in 0..1000i64 {
        h.insert_ms(a, i * 1000, 1.0);
        assert!(h.bytes() <= budget);
    }
    for i in 0..1000i64 {
        h.insert_ms(b, 10_000_000 + i * 1000, 2.0);
        assert!(h.bytes() <= budget);
    }
    check(&h);
    // `a` was evicted before `b` lost anything.
    assert_eq!(h.len(a), 0);
    assert_eq!(h.len(b), 1000);
    assert_eq!(h.latest_ms(b), Some((10_999_000, 2.0)));
    assert_eq!(h.evicted() as usize + h.total_samples(), 2000);
    // Among series, the one whose first chunk is oldest goes first.
    let mut h = History::new(Retention::UNLIMITED, Some(30_000));
    let keys: Vec<SeriesKey> = (0..8).map(|i| SeriesKey::new(i, 0)).collect();
    for t in 0..2_000i64 {
        for (i, &k) in keys.iter().enumerate() {
            h.insert_ms(k, t * 1000 + i as i64, 0.0);
            assert!(h.bytes() <= 30_000);
        }
    }
    check(&h);
    let oldest: Vec<i64> = keys
        .iter()
        .filter_map(|&k| h.oldest_ms(k))
        .map(|s| s.0)
        .collect();
    assert_eq!(oldest.len(), 8);
    let (lo, hi) = (oldest.iter().min().unwrap(), oldest.iter().max().unwrap());
    assert!(hi - lo <= CHUNK_CAPACITY as i64 * 1000, "{oldest:?}");
    // Lowering the budget evicts at once; a tiny one empties everything.
    h.set_budget(Some(10_000));
    assert!(h.bytes() <= 10_000);
    check(&h);
    h.set_budget(Some(0));
    assert_eq!((h.bytes(), h.total_samples(), h.series_count()), (0, 0, 0));
    assert_eq!(h.insert_ms(K, 5, 5.0), Inserted::Appended);
    assert_eq!(h.bytes(), 0);
    check(&h);
}

#[test]
fn random_with_retention_and_budget_keeps_invariants() {
    for seed in 0..20u64 {
        let mut rng = Rng(seed ^ 0xABCD);
        let budget = 20_000 + rng.below(40_000) as usize;
        let mut h = History::new(Retention::UNLIMITED, Some(budget));
        h.set_retention(0, Retention::max_samples(1 + rng.below(400) as usize));
        h.set_retention(1, Retention::max_age(rng.below(500_000) as i64));
        h.set_retention(
            2,
            Retention {
                max_age_ms: Some(200_000),
                max_samples: Some(300),
            },
        );
        let mut new_samples = 0u64;
        let mut now = 0i64;
        for step in 0..20_000 {
            now += rng.below(100) as i64;
            let key = SeriesKey::new(rng.below(5) as u32, rng.below(4) as u16);
            let ts = if rng.below(8) == 0 {
                now - rng.below(300_000) as i64
            } else {
                now
            };
            match h.insert_ms(key, ts, rng.below(3) as f64) {
                Inserted::Appended | Inserted::OutOfOrder => new_samples += 1,
                Inserted::Duplicate | Inserted::Replaced => {}
            }
            assert!(h.bytes() <= budget);
            if step % 997 == 0 {
                h.enforce_ms(now);
                check(&h);
            }
            for k in h.keys() {
                if k.channel == 0 {
                    assert!(h.len(k) <= h.retention(0).max_samples.unwrap());
                }
            }
        }
        check(&h);
        assert_eq!(
            new_samples,
            h.total_samples() as u64 + h.evicted() + h.expired(),
            "seed {seed}"
        );
    }
}

#[test]
fn retention_with_model() {
    for seed in 0..30u64 {
        let mut rng = Rng(seed);
        let max_n = 1 + rng.below(300) as usize;
        let max_age = rng.below(50_000) as i64;
        let mut h = History::new(
            Retention {
                max_age_ms: Some(max_age),
                max_samples: Some(max_n),
            },
            None,
        );
        let mut model: BTreeMap<i64, f64> = BTreeMap::new();
        let mut now = 0;
        for _ in 0..5_000 {
            now += rng.below(200) as i64;
            let ts = now - rng.below(20_000) as i64;
            let v = rng.below(3) as f64;
            h.insert_ms(K, ts, v);
            model.insert(ts, v);
            let newest = *model.keys().next_back().unwrap();
            model.retain(|&t, _| t >= newest - max_age);
            while model.len() > max_n {
                model.pop_first();
            }
        }
        check(&h);
        let want: Vec<_> = model.into_iter().collect();
        assert_eq!(all(&h, K), want, "seed {seed}");
    }
}
