#!/usr/bin/env python3
"""What IfcOpenShell (PyPI, pinned in scripts/pyenv) reads from an IFC file: the known
answers twin's IFC reader is checked against (docs/bim-plan.md).

    $(scripts/pyenv)/python scripts/ifc-reference.py MODEL.ifc > expected.json

Prints one JSON object:
- schema: the file's schema (IFC2X3, IFC4, ...), project: the IfcProject's GlobalId,
- classes: the number of IfcProduct entities per class,
- storeys: [{id, name, elevation}] in file order,
- spaces: [{id, name, long_name, storey, min, max}]: each IfcSpace with the storey it
  belongs to (aggregate or container) and its world bounding box in model metres,
- containers: {element GlobalId: container GlobalId} for every element placed in a
  spatial structure (IfcRelContainedInSpatialStructure), and aggregates
  {part GlobalId: whole GlobalId} (IfcRelAggregates),
- psets: {element GlobalId: {"Pset.Prop": value}} for doors and spaces: the values of
  the element's property sets, its type's inherited and the predefined ones
  (IfcDoorLiningProperties ...) included, as IfcOpenShell's util.element.get_psets
  returns them (numbers, booleans, text),
- site: {ref_latitude, ref_longitude, ref_elevation} in decimal degrees and metres when
  the IfcSite has them, and true_north: the model context's TrueNorth (x, y) if any,
- map_conversion: {eastings, northings, orthogonal_height, x_axis_abscissa,
  x_axis_ordinate, scale} if the file has an IfcMapConversion, and map_boxes:
  {element GlobalId: [[e, n, h] min, [e, n, h] max]}: the box of each product's world
  vertices in map coordinates, in metres (IfcOpenShell's util.geolocation.auto_xyz2enh
  on every vertex, map units times the map unit: the projected CRS's MapUnit, else the
  project's length unit).

Lengths are converted to metres with the file's unit scale (IfcOpenShell's
util.unit.calculate_unit_scale), as twin reports them.
"""

import collections
import json
import sys

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element as ue
import ifcopenshell.util.geolocation as geo
import ifcopenshell.util.unit as uu


def angle(parts):
    """A compound plane angle (degrees, minutes, seconds, millionths) in degrees."""
    if not parts:
        return None
    scale = [1, 60, 3600, 3600e6]
    return sum(p / s for p, s in zip(parts, scale))


def plain(v):
    if isinstance(v, (int, float, bool, str)) or v is None:
        return v
    return str(v)


def map_boxes(f, mc, unit, settings):
    """Each product's box in map coordinates (metres), as IfcOpenShell georeferences it
    (mc: the IfcMapConversion, or None for IFC2X3's ePSet_MapConversion, in project units)."""
    map_unit = unit
    target = mc.TargetCRS if mc is not None else None
    if target is not None and target.is_a("IfcProjectedCRS") and target.MapUnit:
        map_unit = uu.get_prefix_multiplier(target.MapUnit.Prefix) if target.MapUnit.is_a("IfcSIUnit") \
            else uu.calculate_unit_scale(f)  # conversion-based map units are not in the test files
    boxes = {}
    for e in f.by_type("IfcProduct"):
        if not e.Representation or e.is_a("IfcOpeningElement"):
            continue
        try:
            verts = ifcopenshell.geom.create_shape(settings, e).geometry.verts
        except RuntimeError:
            continue
        pts = [geo.auto_xyz2enh(f, verts[i] / unit, verts[i + 1] / unit, verts[i + 2] / unit)
               for i in range(0, len(verts), 3)]
        pts = [[c * map_unit for c in p] for p in pts]
        boxes[e.GlobalId] = [[round(min(p[k] for p in pts), 4) for k in range(3)],
                             [round(max(p[k] for p in pts), 4) for k in range(3)]]
    return boxes


def main(path):
    f = ifcopenshell.open(path)
    unit = uu.calculate_unit_scale(f)
    out = {"schema": f.schema, "project": f.by_type("IfcProject")[0].GlobalId}
    out["classes"] = dict(sorted(collections.Counter(e.is_a() for e in f.by_type("IfcProduct")).items()))
    out["storeys"] = [
        {"id": s.GlobalId, "name": s.Name, "elevation": (s.Elevation or 0.0) * unit}
        for s in f.by_type("IfcBuildingStorey")
    ]
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    spaces = []
    for sp in f.by_type("IfcSpace"):
        whole = ue.get_aggregate(sp) or ue.get_container(sp)
        entry = {"id": sp.GlobalId, "name": sp.Name, "long_name": sp.LongName,
                 "storey": whole.GlobalId if whole else None}
        try:
            verts = ifcopenshell.geom.create_shape(settings, sp).geometry.verts
            xs, ys, zs = verts[0::3], verts[1::3], verts[2::3]
            entry["min"] = [round(min(xs), 4), round(min(ys), 4), round(min(zs), 4)]
            entry["max"] = [round(max(xs), 4), round(max(ys), 4), round(max(zs), 4)]
        except RuntimeError:
            entry["min"] = entry["max"] = None
        spaces.append(entry)
    out["spaces"] = spaces
    containers = {}
    for rel in f.by_type("IfcRelContainedInSpatialStructure"):
        for e in rel.RelatedElements:
            containers[e.GlobalId] = rel.RelatingStructure.GlobalId
    out["containers"] = containers
    aggregates = {}
    for rel in f.by_type("IfcRelAggregates"):
        for e in rel.RelatedObjects:
            aggregates[e.GlobalId] = rel.RelatingObject.GlobalId
    out["aggregates"] = aggregates
    psets = {}
    for e in list(f.by_type("IfcDoor")) + list(f.by_type("IfcSpace")):
        flat = {}
        # As BIM tools show them: the element's property sets over its type's, and the
        # predefined ones (IfcDoorLiningProperties ...); quantities left out.
        for pset, props in ue.get_psets(e, psets_only=True, should_inherit=True).items():
            for k, v in props.items():
                if k != "id":
                    flat[f"{pset}.{k}"] = plain(v)
        psets[e.GlobalId] = flat
    out["psets"] = psets
    sites = f.by_type("IfcSite")
    if sites and sites[0].RefLatitude:
        s = sites[0]
        out["site"] = {"ref_latitude": angle(s.RefLatitude), "ref_longitude": angle(s.RefLongitude),
                       "ref_elevation": (s.RefElevation or 0.0) * unit}
    for ctx in f.by_type("IfcGeometricRepresentationContext"):
        if ctx.is_a() == "IfcGeometricRepresentationContext" and ctx.TrueNorth:
            out["true_north"] = list(ctx.TrueNorth.DirectionRatios)[:2]
            break
    if f.schema != "IFC2X3":
        for mc in f.by_type("IfcMapConversion"):
            out["map_conversion"] = {
                "eastings": mc.Eastings, "northings": mc.Northings,
                "orthogonal_height": mc.OrthogonalHeight,
                "x_axis_abscissa": mc.XAxisAbscissa, "x_axis_ordinate": mc.XAxisOrdinate,
                "scale": mc.Scale,
            }
            out["map_boxes"] = map_boxes(f, mc, unit, settings)
            break
    else:
        pset = ue.get_pset(f.by_type("IfcProject")[0], "ePSet_MapConversion")
        if pset:
            out["map_conversion"] = {
                "eastings": pset.get("Eastings"), "northings": pset.get("Northings"),
                "orthogonal_height": pset.get("OrthogonalHeight"),
                "x_axis_abscissa": pset.get("XAxisAbscissa"),
                "x_axis_ordinate": pset.get("XAxisOrdinate"), "scale": pset.get("Scale"),
            }
            out["map_boxes"] = map_boxes(f, None, unit, settings)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
