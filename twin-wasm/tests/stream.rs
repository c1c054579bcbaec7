//! A page on a served twin, natively: frames written byte by byte as docs/stream.md
//! lays them out (not with the server's encoder) change the views' colours and the
//! store's values; bad frames are refused whole and change nothing.

use serde_json::json;
use twin_chongming::island;
use twin_chongming::synth::SynthConfig;
use twin_core::state::Rgba;
use twin_core::{AssetKind, Handle, SensorType};
use twin_wasm::Engine;

fn small() -> Engine {
    let twin = island::load(&SynthConfig {
        seed: 2026,
        scale: 0.02,
    })
    .unwrap();
    Engine::from_twin(twin).unwrap()
}

fn header(kind: u8, generation: u32, seq: u32, count: u32, now: i64) -> Vec<u8> {
    let mut b = vec![kind, 1, 0, 0];
    b.extend_from_slice(&generation.to_le_bytes());
    b.extend_from_slice(&seq.to_le_bytes());
    b.extend_from_slice(&count.to_le_bytes());
    b.extend_from_slice(&now.to_le_bytes());
    b
}

fn hello(e: &Engine, fingerprint: &str) -> String {
    let channels: Vec<_> = e
        .session
        .store()
        .channels()
        .map(|(id, s)| json!({"id": id.0 + 10, "name": s.name}))
        .chain([json!({"id": 0, "name": "not-here"})])
        .collect();
    json!({"type": "hello", "protocol": "twin.v1", "fingerprint": fingerprint, "generation": 5, "channels": channels})
        .to_string()
}

#[test]
fn served_frames_colour_the_views_and_fill_the_store() {
    let mut e = small();
    let fp = e.session.twin().fingerprint();
    // Other assets, another protocol: refused.
    let err = e.begin_stream(&hello(&e, "0000000000000000")).unwrap_err();
    assert!(err.contains("other assets"), "{err}");
    let wrong = hello(&e, &fp).replace("twin.v1", "twin.v9");
    assert!(e.begin_stream(&wrong).unwrap_err().contains("twin.v9"));
    // Before the hello, frames are refused.
    assert!(
        e.apply_stream(&header(1, 5, 1, 0, 0))
            .unwrap_err()
            .contains("beginStream")
    );

    // As if a canvas view drew this twin (changed ranges are kept only for views).
    e.view_attached = true;
    e.begin_stream(&hello(&e, &fp)).unwrap();
    assert!(
        e.session.alerts().rules().is_empty(),
        "the page's rules are off"
    );
    let _ = e.take_view_changes();

    // Colours: one run of two handles from 3.
    let mut f = header(1, 5, 1, 1, 1_000);
    f.extend_from_slice(&3u32.to_le_bytes());
    f.extend_from_slice(&2u32.to_le_bytes());
    f.extend_from_slice(&[255, 0, 0, 255, 0, 0, 255, 255]);
    assert_eq!(e.apply_stream(&f).unwrap(), 1);
    assert_eq!(e.view_colors()[3], Rgba([255, 0, 0, 255]));
    assert_eq!(e.view_colors()[4], Rgba([0, 0, 255, 255]));
    assert_eq!(e.take_view_changes(), vec![3..5]);

    // Values: the server's channel `level` has the page's id + 10 here.
    let (gauge, _) = e
        .session
        .twin()
        .iter()
        .find(|(_, a)| a.kind == AssetKind::Sensor(SensorType::WaterLevel))
        .map(|(h, a)| (h, a.id.clone()))
        .unwrap();
    let level = e.session.store().channel("level").unwrap();
    let mut f = header(2, 5, 2, 2, 2_000);
    for (ch, v) in [(level.0 + 10, 2.75f64), (0, 9.0)] {
        f.extend_from_slice(&gauge.0.to_le_bytes());
        f.extend_from_slice(&ch.to_le_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&v.to_le_bytes());
        f.extend_from_slice(&1_500i64.to_le_bytes());
    }
    assert_eq!(e.apply_stream(&f).unwrap(), 2);
    let l = e.session.store().latest(Handle(gauge.0), level).unwrap();
    assert_eq!((l.value, l.ts.as_millis()), (2.75, 1_500));

    // Another generation: dropped, nothing changes.
    let mut f = header(1, 6, 3, 1, 3_000);
    f.extend_from_slice(&3u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&[1, 2, 3, 4]);
    assert_eq!(e.apply_stream(&f).unwrap(), 0);
    assert_eq!(e.view_colors()[3], Rgba([255, 0, 0, 255]));

    // Malformed: refused whole, with what is wrong.
    let n = e.session.twin().handle_capacity() as u32;
    let bad = |e: &mut Engine, f: &[u8], says: &str| {
        let m = e.apply_stream(f).unwrap_err();
        assert!(m.contains(says), "{m}");
    };
    bad(&mut e, &[1, 1, 0], "header alone is 24");
    bad(
        &mut e,
        &header(1, 5, 4, 0, 0)
            .iter()
            .enumerate()
            .map(|(i, &b)| if i == 1 { 2 } else { b })
            .collect::<Vec<_>>(),
        "version 2",
    );
    bad(&mut e, &header(9, 5, 4, 0, 0), "kind 9");
    let mut f = header(1, 5, 4, 2, 0);
    f.extend_from_slice(&3u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&[9, 9, 9, 9]);
    f.extend_from_slice(&(n - 1).to_le_bytes());
    f.extend_from_slice(&2u32.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    bad(&mut e, &f, "past this twin's");
    assert_eq!(
        e.view_colors()[3],
        Rgba([255, 0, 0, 255]),
        "the good first run was not written either"
    );
    let mut f = header(2, 5, 5, 2, 0);
    f.extend_from_slice(&[0; 24]);
    bad(&mut e, &f, "24 bytes for 2 records");
}
