//! Snapshots: a live twin saved and loaded equals itself; truncated, corrupted and
//! foreign files are refused with a clear error; a crashed save leaves the old one.

use twin_core::sim::{SimConfig, Simulator, standard_channels};
use twin_core::snapshot::{self, SnapshotError};
use twin_core::state::live::{DEFAULT_RULES_JSON, LiveTwin};
use twin_core::state::{Retention, StateStore};
use twin_core::synth::SynthConfig;

const T0: i64 = 1_763_700_000_000;

/// A small island, six simulated minutes in: the charger fault (+5 min) is open.
fn live() -> LiveTwin {
    let twin = twin_core::island::load(&SynthConfig {
        seed: 7,
        scale: 0.05,
    })
    .unwrap();
    let mut store = StateStore::new(twin.handle_capacity(), Retention::default(), None);
    let channels = standard_channels(&mut store);
    let config = SimConfig::default_for(&twin, 7, T0);
    let mut live = LiveTwin::new(twin, store, Vec::new(), 120_000);
    live.set_rules_json(DEFAULT_RULES_JSON).unwrap();
    let mut sim = Simulator::new(&live.twin, &channels, config);
    let mut batch = Vec::new();
    for s in 1..=360 {
        batch.clear();
        sim.tick(T0 + s * 1000, &mut batch);
        live.apply(&batch, T0 + s * 1000);
    }
    live
}

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("twin-snap-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn round_trip_keeps_assets_state_rules_and_open_alerts() {
    let a = live();
    let open: Vec<_> = a.alerts.open().cloned().collect();
    assert_eq!(open.len(), 1, "the charger fault is open");
    let path = dir().join("rt.twinsnap");
    snapshot::save(&a, &path).unwrap();
    let b = snapshot::load(&path, Retention::default(), None).unwrap();

    assert_eq!(a.twin.len(), b.twin.len());
    assert_eq!(a.twin.counts_by_kind(), b.twin.counts_by_kind());
    for (h, asset) in a.twin.iter().step_by(97) {
        let hb = b.twin.handle(&asset.id).unwrap();
        let other = b.twin.get(hb).unwrap();
        assert_eq!(asset.geometry, other.geometry, "{}", asset.id);
        assert_eq!(asset.properties, other.properties, "{}", asset.id);
        assert_eq!(asset.attached_to, other.attached_to, "{}", asset.id);
        let town = |t: &twin_core::Twin, h| t.located_in(h).map(|x| t.get(x).unwrap().id.clone());
        assert_eq!(town(&a.twin, h), town(&b.twin, hb), "{}", asset.id);
        for (c, spec) in a.store.channels() {
            let cb = b.store.channel(&spec.name).unwrap();
            assert_eq!(
                a.store.latest(h, c),
                b.store.latest(hb, cb),
                "{} {}",
                asset.id,
                spec.name
            );
        }
    }
    assert_eq!(a.alerts.rules(), b.alerts.rules());
    let reopened: Vec<_> = b.alerts.open().cloned().collect();
    assert_eq!(reopened.len(), 1);
    assert_eq!(
        (
            &reopened[0].rule,
            &reopened[0].asset_id,
            reopened[0].raised_at,
            reopened[0].id
        ),
        (
            &open[0].rule,
            &open[0].asset_id,
            open[0].raised_at,
            open[0].id
        )
    );
    // The restored vital signs see the restored state once samples flow again; the
    // table is there for every town.
    assert_eq!(b.vital_signs().iter().filter(|r| !r.island).count(), 18);
}

#[test]
fn bad_files_are_refused_and_a_crashed_save_leaves_the_old_snapshot() {
    let a = live();
    let d = dir();
    let path = d.join("good.twinsnap");
    snapshot::save(&a, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    let invalid = |b: &[u8]| match snapshot::from_bytes(b, "x.twinsnap", Retention::default(), None)
    {
        Err(SnapshotError::Invalid { message, .. }) => message,
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("accepted a bad snapshot"),
    };
    for cut in [0, 5, 12, 40, 60, bytes.len() / 2, bytes.len() - 1] {
        let m = invalid(&bytes[..cut]);
        assert!(
            m.contains("truncated") || m.contains("not a twin snapshot"),
            "cut {cut}: {m}"
        );
    }
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 3;
    flipped[mid] ^= 0x40;
    assert!(
        invalid(&flipped).contains("checksum"),
        "{}",
        invalid(&flipped)
    );
    let mut version = bytes.clone();
    version[8] = 9;
    assert!(invalid(&version).contains("version 9"));
    assert!(invalid(b"{\"type\":\"FeatureCollection\"}").contains("not a twin snapshot"));
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    assert!(invalid(&longer).contains("unexpected bytes"));

    // A save that died before its rename leaves a partial temporary file: the
    // snapshot itself still loads, unchanged.
    std::fs::write(snapshot::temp_path(&path), &bytes[..bytes.len() / 2]).unwrap();
    let b = snapshot::load(&path, Retention::default(), None).unwrap();
    assert_eq!(b.twin.len(), a.twin.len());
    // The next save replaces both.
    snapshot::save(&b, &path).unwrap();
    assert!(!snapshot::temp_path(&path).exists());
    assert!(snapshot::load(&path, Retention::default(), None).is_ok());
    let err = snapshot::load(&d.join("missing.twinsnap"), Retention::default(), None).unwrap_err();
    assert!(err.to_string().contains("missing.twinsnap"));
    std::fs::remove_dir_all(&d).ok();
}
