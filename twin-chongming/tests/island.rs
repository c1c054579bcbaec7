//! Known answers on the real bundled boundaries of Chongming district.

use twin_chongming::island;
use twin_core::{AssetKind, KindFilter, Measure};

#[test]
fn counts_and_relations_of_the_real_boundaries() {
    let t = island::load_real().unwrap();
    let counts = t.counts_by_kind();
    assert_eq!(counts["island"], 11, "3 islands and 8 islets/shoals");
    assert_eq!(counts["town"], 18);
    assert_eq!(counts["custom:mainland_context"], 1, "a kind of its own");
    assert_eq!(t.len(), 30);

    let chongming = t.handle("CM-ISL-CHONGMING").unwrap();
    let changxing = t.handle("CM-ISL-CHANGXING").unwrap();
    let hengsha = t.handle("CM-ISL-HENGSHA").unwrap();
    for (h, a) in t.iter().filter(|(_, a)| a.kind == AssetKind::Town) {
        let want = match a.id.as_str() {
            "CM-TOWN-CHANGXING" => changxing,
            "CM-TOWN-HENGSHA" => hengsha,
            _ => chongming,
        };
        assert_eq!(t.located_in(h), Some(want), "{}", a.id);
    }
}

#[test]
fn which_town_holds_known_places() {
    let t = island::load_real().unwrap();
    let town = "town".parse::<KindFilter>().unwrap();
    // (lon, lat, town): the district government in Chengqiao, Changxing's town centre,
    // Hengsha's ferry-side centre, Baozhen's centre and Chenjia near Dongtan.
    for (lon, lat, want) in [
        (121.397, 31.623, "城桥镇"),
        (121.69, 31.40, "长兴镇"),
        (121.85, 31.33, "横沙乡"),
        (121.63, 31.53, "堡镇"),
        (121.85, 31.50, "陈家镇"),
    ] {
        let hits = t.query_containing((lon, lat), Some(&town));
        assert_eq!(hits.len(), 1, "{lon},{lat}: {hits:?}");
        assert_eq!(t.get(hits[0]).unwrap().name_zh.as_deref(), Some(want));
    }
    // The North Channel between Changxing and Chongming is in no town and on no island;
    // the south bank of the Yangtze near Wuhaogou is the mainland.
    assert!(t.query_containing((121.75, 31.46), None).is_empty());
    let south = t.query_containing((121.60, 31.36), None);
    assert_eq!(south.len(), 1);
    assert_eq!(t.get(south[0]).unwrap().id, "CTX-MAINLAND");
}

#[test]
fn island_areas_match_the_source_figures() {
    let t = island::load_real().unwrap();
    // Shell minus holes, computed independently with PROJ's geodesic (pyproj
    // Geod(ellps="WGS84").polygon_area_perimeter, Karney's algorithm). The data's own
    // `area_km2` (1362.76, 111.33, 108.23) was computed another way and differs by <1%.
    for (id, km2) in [
        ("CM-ISL-CHONGMING", 1_367.225_814_883),
        ("CM-ISL-HENGSHA", 112.068_058_340),
        ("CM-ISL-CHANGXING", 108.855_969_464),
    ] {
        let h = t.handle(id).unwrap();
        let geodesic = t.area(h, Measure::Geodesic).unwrap() / 1e6;
        let local = t.area(h, Measure::Local).unwrap() / 1e6;
        assert!((geodesic - km2).abs() / km2 < 1e-8, "{id}: {geodesic} km²");
        // The local frame's area error stays below 100 ppm over the islands.
        assert!(
            (local - geodesic).abs() / geodesic < 1e-4,
            "{id}: {local} vs {geodesic}"
        );
        let perimeter = t.length(h, Measure::Geodesic).unwrap();
        assert!(perimeter > 10_000.0, "{id}: {perimeter}");
    }
}
