//! Snapshots: a live twin saved and loaded equals itself; truncated, corrupted and
//! foreign files are refused with a clear error; a crashed save leaves the old one.

use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::sim::{SimConfig, Simulator, standard_session};
use twin_chongming::synth::SynthConfig;
use twin_core::snapshot::{self, SnapshotError};
use twin_core::{Session, SessionConfig, Timestamp};

const T0: i64 = 1_763_700_000_000;

/// A small island, six simulated minutes in: the charger fault (+5 min) is open.
fn live() -> Session {
    let twin = twin_chongming::island::load(&SynthConfig {
        seed: 7,
        scale: 0.05,
    })
    .unwrap();
    let config = SimConfig::default_for(&twin, 7, twin_core::Timestamp::from_millis(T0));
    let (mut live, channels) =
        standard_session(twin, SessionConfig::default(), DEFAULT_RULES_JSON).unwrap();
    let mut sim = Simulator::new(live.twin(), &channels, config);
    for s in 1..=360 {
        sim.drive(&mut live, Timestamp::from_millis(T0 + s * 1000));
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
    let open: Vec<_> = a.alerts().open().cloned().collect();
    assert_eq!(open.len(), 1, "the charger fault is open");
    let path = dir().join("rt.twinsnap");
    snapshot::save(&a, &path).unwrap();
    let b = snapshot::load(&path, SessionConfig::default()).unwrap();

    assert_eq!(a.twin().len(), b.twin().len());
    assert_eq!(a.twin().counts_by_kind(), b.twin().counts_by_kind());
    for (h, asset) in a.twin().iter().step_by(97) {
        let hb = b.twin().handle(&asset.id).unwrap();
        let other = b.twin().get(hb).unwrap();
        assert_eq!(asset.geometry, other.geometry, "{}", asset.id);
        assert_eq!(asset.properties, other.properties, "{}", asset.id);
        assert_eq!(asset.attached_to, other.attached_to, "{}", asset.id);
        let town = |t: &twin_core::Twin, h| t.located_in(h).map(|x| t.get(x).unwrap().id.clone());
        assert_eq!(town(a.twin(), h), town(b.twin(), hb), "{}", asset.id);
        for (c, spec) in a.store().channels() {
            let cb = b.store().channel(&spec.name).unwrap();
            assert_eq!(
                a.store().latest(h, c),
                b.store().latest(hb, cb),
                "{} {}",
                asset.id,
                spec.name
            );
        }
    }
    assert_eq!(a.alerts().rules(), b.alerts().rules());
    let reopened: Vec<_> = b.alerts().open().cloned().collect();
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

    let invalid = |b: &[u8]| match snapshot::from_bytes(b, "x.twinsnap", SessionConfig::default()) {
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
    let b = snapshot::load(&path, SessionConfig::default()).unwrap();
    assert_eq!(b.twin().len(), a.twin().len());
    // The next save replaces both.
    snapshot::save(&b, &path).unwrap();
    assert!(!snapshot::temp_path(&path).exists());
    assert!(snapshot::load(&path, SessionConfig::default()).is_ok());
    let err = snapshot::load(&d.join("missing.twinsnap"), SessionConfig::default()).unwrap_err();
    assert!(err.to_string().contains("missing.twinsnap"));
    // Only this test's file: the others write into the same directory at the same
    // time (removing it whole made them fail now and then).
    std::fs::remove_file(&path).ok();
}

#[test]
fn dangling_relations_are_dropped_and_vital_signs_resume() {
    let mut a = live();
    let before: usize = a
        .vital_signs()
        .iter()
        .filter(|r| !r.island)
        .map(|r| r.online)
        .sum();
    assert!(before > 0);
    // Remove a building some sensor is attached to: the sensor keeps the dead id.
    let (sensor, building) = a
        .twin()
        .iter()
        .find_map(|(_, s)| {
            let target = s.attached_to.clone()?;
            target
                .starts_with("CM-BLD-")
                .then(|| (s.id.clone(), target))
        })
        .unwrap();
    a.remove_asset(&building).unwrap();
    let path = dir().join("dangling.twinsnap");
    snapshot::save(&a, &path).unwrap();
    let b = snapshot::load(&path, SessionConfig::default()).unwrap();
    assert_eq!(b.twin().get_by_id(&sensor).unwrap().attached_to, None);
    assert!(b.twin().get_by_id(&building).is_none());
    // Vital signs count the restored state at once.
    let after: usize = b
        .vital_signs()
        .iter()
        .filter(|r| !r.island)
        .map(|r| r.online)
        .sum();
    assert!(after + 1 >= before && after > 0, "{after} vs {before}");
    let channels_a: usize = a.vital_signs().iter().map(|r| r.channels.len()).sum();
    let channels_b: usize = b.vital_signs().iter().map(|r| r.channels.len()).sum();
    assert_eq!(channels_a, channels_b);
}
