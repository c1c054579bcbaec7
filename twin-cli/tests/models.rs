//! Building models on the island: `--bim FILE.ifc` adds a model's elements to the
//! bundled island, `--place` puts it at a point or on a building of the island, and
//! `twin query inside` / `parts` answer in three dimensions.

use std::path::PathBuf;
use std::process::{Command, Output};

use twin_core::crs::LocalFrame;

fn fzk() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../twin-bim/tests/data/external/AC20-FZK-Haus.ifc")
        .display()
        .to_string()
}

fn twin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "twin failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// FZK-Haus put at 121.397 E, 31.623 N (its +Y north, its origin 3 m up) on the
/// bundled island: a point 1.25 m above the bedroom's floor, at the bedroom's middle
/// (9.675, 6.975) in the model, is in the bedroom and in no other room; the ground
/// storey lists its six rooms.
#[test]
fn a_model_on_the_island_answers_which_room_a_point_is_in() {
    let model = fzk();
    let frame = LocalFrame::new(121.397, 31.623, 3.0);
    let [lon, lat, h] = frame.to_geographic3(9.675, 6.975, 1.25);
    let (lon, lat, h) = (lon.to_string(), lat.to_string(), h.to_string());
    let o = twin(&[
        "query",
        "inside",
        &lon,
        &lat,
        &h,
        "--kind",
        "custom:ifc_space",
        "--bim",
        &model,
        "--place",
        "121.397,31.623,0,3",
    ]);
    let out = ok(&o);
    assert_eq!(out, "347jFE2yX7IhCEIALmupEH\tSchlafzimmer\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("93 elements and 22 sensors added (rooms and meters), placed by --place"),
        "{err}"
    );

    // The ground storey's rooms; the island's own assets are still there.
    let o = twin(&[
        "query",
        "parts",
        "2eyxpyOx95m90jmsXLOuR0",
        "--kind",
        "custom:ifc_space",
        "--bim",
        &model,
        "--place",
        "121.397,31.623",
    ]);
    let mut rooms: Vec<String> = ok(&o)
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect();
    rooms.sort();
    assert_eq!(
        rooms,
        ["Bad", "Buero", "Flur", "Küche", "Schlafzimmer", "Wohnen"]
    );
    let o = twin(&["info", "--bim", &model, "--place", "121.397,31.623"]);
    let out = ok(&o);
    assert!(out.contains("158769 assets"), "{out}");
    assert!(
        out.contains("custom:ifc_space                     7"),
        "{out}"
    );
    // Each room has its thermometer, CO₂ sensor and occupancy counter.
    for kind in ["sensor:room_temperature", "sensor:co2", "sensor:occupancy"] {
        let line = out.lines().find(|l| l.trim_start().starts_with(kind));
        assert!(
            line.is_some_and(|l| l.trim_end().ends_with(" 7")),
            "{kind}: {out}"
        );
    }
}

/// `--place @ID` stands the model on an island building; an unknown id and a file
/// that is not IFC are refused by name.
#[test]
fn a_model_stands_on_a_building_of_the_island() {
    let model = fzk();
    let o = twin(&[
        "query",
        "parts",
        "2eyxpyOx95m90jmsXLOuR0",
        "--bim",
        &model,
        "--place",
        "@CM-BLD-008456,30",
    ]);
    assert!(ok(&o).lines().count() > 10);
    // The island's block keeps its own energy meter as the building's (moved out of
    // the house to the plot's corner): the model adds no second one. Put at a point
    // instead, the model's building gets its own.
    let meters = |place: &str| {
        let o = twin(&["info", "--bim", &model, "--place", place]);
        let out = ok(&o);
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with("sensor:building_energy"))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string();
        (line, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (on_plot, err) = meters("@CM-BLD-008456");
    assert!(on_plot.trim_end().ends_with(" 42000"), "{on_plot}");
    assert!(err.contains("93 elements and 21 sensors added"), "{err}");
    let (at_point, err) = meters("121.397,31.623");
    assert!(at_point.trim_end().ends_with(" 42001"), "{at_point}");
    assert!(err.contains("93 elements and 22 sensors added"), "{err}");
    let o = twin(&["info", "--bim", &model, "--place", "@NO-SUCH-BUILDING"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no asset `NO-SUCH-BUILDING`"), "{err}");
    let o = twin(&["info", "--bim", "Cargo.toml"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Cargo.toml") && err.contains(".ifc"), "{err}");
}
