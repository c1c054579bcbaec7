//! Building models the fuzzer found (fuzz/regressions/ifc/): each was a crash once; the
//! twin refuses each with the file's name and what is wrong.

use std::path::PathBuf;

use twin_bim::{Place, ReadOptions, read_ifc};

/// A mutated model whose geometry meshes to a coordinate that is not a number: geo's
/// convex hull panicked on it (utils.rs:96, a NaN compared); the element is refused.
#[test]
fn a_vertex_that_is_not_a_number_is_refused() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/ifc/vertex-not-finite.ifc");
    for place in [
        None,
        Some(Place {
            lon: 121.4,
            lat: 31.6,
            heading: 30.0,
            base: 0.0,
        }),
    ] {
        let options = ReadOptions {
            place,
            ..ReadOptions::default()
        };
        let err = read_ifc(&path, &options).expect_err("refused").to_string();
        assert!(err.contains("vertex-not-finite.ifc"), "{err}");
    }
}
