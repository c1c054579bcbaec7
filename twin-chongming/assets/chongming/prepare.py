#!/usr/bin/env python3
"""Derive the bundled island files from ../shared/data/chongming (ODbL / public domain).

Adds a stable `id` and a `kind` to every feature and drops nothing else; geometry is
copied unchanged (WGS84 lon/lat). Run from the repo root:

    python3 assets/chongming/prepare.py ../shared/data/chongming
"""
import json
import re
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/chongming")
out = Path(__file__).resolve().parent


def slug(name):
    return re.sub(r"[^A-Z0-9]+", "", name.upper().replace("Ü", "U"))


def write(name, features):
    fc = {"type": "FeatureCollection", "features": features}
    (out / name).write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n")


islands = json.loads((src / "islands_osm.geojson").read_text())
shoal = 0
for f in islands["features"]:
    p = f["properties"]
    if p["kind"] == "island":
        p["id"] = "CM-ISL-" + slug(p["name_en"].replace(" Island", ""))
    elif p["kind"] == "islet_or_shoal":
        shoal += 1
        p["id"] = "CM-ISL-SHOAL-%02d" % shoal
        p["kind"] = "island"
        p["islet"] = True
    else:
        p["id"] = "CTX-MAINLAND"
    p.pop("rep_point", None)
    p = {k: v for k, v in p.items() if v is not None}
    f["properties"] = p
write("islands.geojson", islands["features"])

towns = json.loads((src / "towns_osm.geojson").read_text())
for f in towns["features"]:
    p = f["properties"]
    p["id"] = "CM-TOWN-" + slug(p["name_en"])
    p["kind"] = "town"
    p.pop("bbox", None)
write("towns.geojson", towns["features"])

district = json.loads((src / "district_osm_union.geojson").read_text())
for f in district["features"]:
    f["properties"]["id"] = "CM-DISTRICT"
    f["properties"]["kind"] = "district"
write("district.geojson", district["features"])
