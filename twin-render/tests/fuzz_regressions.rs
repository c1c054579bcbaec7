//! A GLB the fuzzer found (fuzz/regressions/gltf/): gltf 1.4.1 subtracted its
//! header from a declared length of 0 (an overflow panic in debug builds); refused.

#[test]
fn a_glb_shorter_than_its_header_is_refused() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/gltf/glb-length-below-header.glb"
    );
    let bytes = std::fs::read(path).unwrap();
    let err = twin_render::Model::from_glb(&bytes, "found.glb")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("less than the header"), "{err}");
}

#[test]
fn an_accessor_stride_below_its_element_is_refused() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/gltf/accessor-stride-below-element.glb"
    );
    let bytes = std::fs::read(path).unwrap();
    let err = twin_render::Model::from_glb(&bytes, "found.glb")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("found.glb"), "{err}");
}
