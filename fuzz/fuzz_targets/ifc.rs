//! Building models (`--bim FILE.ifc`, `--data FILE.ifc`): `twin_bim::read_ifc_bytes`
//! (twin-bim's STEP checks, ifc-lite's mesher and data model, placement by the file's
//! IfcMapConversion or IfcSite, or by a given place for inputs of even length, then
//! the assets) and the rooms' sensors.
//!
//! twin-bim catches ifc-lite's panics itself and refuses the model; as in every target,
//! only a panic that escapes is a crash (`fuzz_parser!`).
#![no_main]
use twin_bim::{Place, ReadOptions};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let options = ReadOptions {
        place: (data.len() % 2 == 0).then_some(Place {
            lon: 121.4,
            lat: 31.6,
            heading: 30.0,
            base: 0.0,
        }),
        ..ReadOptions::default()
    };
    if let Ok(m) = twin_bim::read_ifc_bytes(data, "fuzz.ifc", &options) {
        let _ = twin_bim::with_room_sensors(m.assets);
    }
});
