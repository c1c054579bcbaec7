#!/usr/bin/env python3
"""Writes a synthetic IFC4 building of about N elements, for load-time and memory
numbers (scripts/bench-ifc) — no library needed, the STEP text is written directly.

    python3 scripts/ifc-synth.py 100000 > big.ifc
    python3 scripts/ifc-synth.py 60 --schema IFC2X3 --cols 3 --rows 2 > small-2x3.ifc

The building stands at 31.6 N, 121.4 E (its IfcSite's reference point). Each storey is
a grid of 4 m x 4 m rooms; each room is five elements with box geometry (extruded
rectangles): its IfcSpace, its floor IfcSlab, two IfcWalls (its south and west sides)
and an IfcDoor, contained in (or, for the space, aggregated into) its storey. Storeys
are added until the count is reached: --cols x --rows rooms per storey (40 x 25: 5,000
elements). Doors have Pset_DoorCommon (IsExternal: those of the first row of rooms)
and spaces Pset_SpaceCommon (Reference: the room's number). IFC4 (default) or IFC2X3
(--schema), each with its own entity signatures; every rooted entity has the owner
history IFC2X3 requires. GlobalIds are deterministic (the n-th is gid(n)).
"""

import argparse
import sys

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$"


def gid(n):
    """A unique 22-character IFC GlobalId for the counter n."""
    out = []
    for _ in range(22):
        out.append(ALPHABET[n % 64])
        n //= 64
    out[-1] = "0"  # the first character of a GlobalId is 0-3
    return "".join(reversed(out))


class Step:
    def __init__(self, out):
        self.out = out
        self.n = 0
        self.g = 0

    def add(self, text):
        self.n += 1
        self.out.write(f"#{self.n}={text};\n")
        return self.n

    def gid(self):
        self.g += 1
        return gid(self.g)


def main(target, schema, cols, rows, epset=None):
    w = sys.stdout
    w.write("ISO-10303-21;\nHEADER;\n"
            "FILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');\n"
            "FILE_NAME('synth.ifc','2026-12-07T00:00:00',('twin'),('twin'),'twin','scripts/ifc-synth.py','');\n"
            f"FILE_SCHEMA(('{schema}'));\nENDSEC;\nDATA;\n")
    s = Step(w)
    person = s.add("IFCPERSON($,'twin',$,$,$,$,$,$)")
    org = s.add("IFCORGANIZATION($,'twin',$,$,$)")
    who = s.add(f"IFCPERSONANDORGANIZATION(#{person},#{org},$)")
    app = s.add(f"IFCAPPLICATION(#{org},'1','ifc-synth','ifc-synth')")
    oh = s.add(f"IFCOWNERHISTORY(#{who},#{app},$,.ADDED.,$,$,$,0)")
    ifc4 = schema == "IFC4"
    metre = s.add("IFCSIUNIT(*,.LENGTHUNIT.,$,.METRE.)")
    radian = s.add("IFCSIUNIT(*,.PLANEANGLEUNIT.,$,.RADIAN.)")
    units = s.add(f"IFCUNITASSIGNMENT((#{metre},#{radian}))")
    origin = s.add("IFCCARTESIANPOINT((0.,0.,0.))")
    z = s.add("IFCDIRECTION((0.,0.,1.))")
    x = s.add("IFCDIRECTION((1.,0.,0.))")
    axes = s.add(f"IFCAXIS2PLACEMENT3D(#{origin},#{z},#{x})")
    ctx = s.add(f"IFCGEOMETRICREPRESENTATIONCONTEXT($,'Model',3,1.E-05,#{axes},$)")
    body = s.add(f"IFCGEOMETRICREPRESENTATIONSUBCONTEXT('Body','Model',*,*,*,*,#{ctx},$,.MODEL_VIEW.,$)")
    project = s.add(f"IFCPROJECT('{s.gid()}',#{oh},'Synthetic block',$,$,$,$,(#{ctx}),#{units})")
    site_place = s.add(f"IFCLOCALPLACEMENT($,#{axes})")
    site = s.add(f"IFCSITE('{s.gid()}',#{oh},'Site',$,$,#{site_place},$,$,.ELEMENT.,(31,36,0,0),(121,24,0,0),0.,$,$)")
    bld_place = s.add(f"IFCLOCALPLACEMENT(#{site_place},#{axes})")
    building = s.add(f"IFCBUILDING('{s.gid()}',#{oh},'Synthetic block',$,$,#{bld_place},$,$,.ELEMENT.,$,$,$)")
    s.add(f"IFCRELAGGREGATES('{s.gid()}',#{oh},$,$,#{project},(#{site}))")
    s.add(f"IFCRELAGGREGATES('{s.gid()}',#{oh},$,$,#{site},(#{building}))")

    # Shared shapes: a profile and an extrusion per element type, placed per element.
    p2 = s.add("IFCCARTESIANPOINT((0.,0.))")
    ax2 = s.add(f"IFCAXIS2PLACEMENT2D(#{p2},$)")

    def box(dx, dy, dz, ox, oy):
        corner = s.add(f"IFCCARTESIANPOINT(({ox:.3f},{oy:.3f},0.))")
        pos = s.add(f"IFCAXIS2PLACEMENT3D(#{corner},$,$)")
        prof = s.add(f"IFCRECTANGLEPROFILEDEF(.AREA.,$,#{ax2},{dx:.3f},{dy:.3f})")
        solid = s.add(f"IFCEXTRUDEDAREASOLID(#{prof},#{pos},#{z},{dz:.3f})")
        rep = s.add(f"IFCSHAPEREPRESENTATION(#{body},'Body','SweptSolid',(#{solid}))")
        return s.add(f"IFCPRODUCTDEFINITIONSHAPE($,$,(#{rep}))")

    # Profiles are centred on their position: offsets put each box in its room.
    space_shape = box(3.8, 3.8, 2.7, 2.0, 2.0)
    slab_shape = box(4.0, 4.0, 0.2, 2.0, 2.0)
    wall_s_shape = box(4.0, 0.2, 3.0, 2.0, 0.1)
    wall_w_shape = box(0.2, 4.0, 3.0, 0.1, 2.0)
    door_shape = box(0.9, 0.25, 2.1, 2.0, 0.1)

    per_room = 5
    true, false = ".T.", ".F."

    def pset(name, prop, value, objects):
        v = s.add(f"IFCPROPERTYSINGLEVALUE('{prop}',$,{value},$)")
        ps = s.add(f"IFCPROPERTYSET('{s.gid()}',#{oh},'{name}',$,(#{v}))")
        s.add(f"IFCRELDEFINESBYPROPERTIES('{s.gid()}',#{oh},$,$,({','.join(f'#{o}' for o in objects)}),#{ps})")

    door_sets = {}

    if epset:
        # IFC2X3's georeference (buildingSMART's guide): two property sets on the project.
        e, n, h, xaa, xao, scale, crs = epset.split(",")
        vals = [s.add(f"IFCPROPERTYSINGLEVALUE('{k}',$,IFCLENGTHMEASURE({float(v)!r}),$)")
                for k, v in (("Eastings", e), ("Northings", n), ("OrthogonalHeight", h))]
        vals += [s.add(f"IFCPROPERTYSINGLEVALUE('{k}',$,IFCREAL({float(v)!r}),$)")
                 for k, v in (("XAxisAbscissa", xaa), ("XAxisOrdinate", xao), ("Scale", scale))]
        mc = s.add(f"IFCPROPERTYSET('{s.gid()}',#{oh},'ePSet_MapConversion',$,({','.join(f'#{v}' for v in vals)}))")
        name = s.add(f"IFCPROPERTYSINGLEVALUE('Name',$,IFCLABEL('{crs}'),$)")
        pcrs = s.add(f"IFCPROPERTYSET('{s.gid()}',#{oh},'ePSet_ProjectedCRS',$,(#{name}))")
        for ps in (mc, pcrs):
            s.add(f"IFCRELDEFINESBYPROPERTIES('{s.gid()}',#{oh},$,$,(#{project}),#{ps})")

    per_storey = cols * rows * per_room
    storeys = max(1, -(-target // per_storey))
    rooms_left = -(-target // per_room)
    storey_ids = []
    for k in range(storeys):
        elev = 3.0 * k
        pt = s.add(f"IFCCARTESIANPOINT((0.,0.,{elev:.3f}))")
        sp = s.add(f"IFCLOCALPLACEMENT(#{bld_place},#{s.add(f'IFCAXIS2PLACEMENT3D(#{pt},$,$)')})")
        storey = s.add(f"IFCBUILDINGSTOREY('{s.gid()}',#{oh},'Level {k}',$,$,#{sp},$,$,.ELEMENT.,{elev:.3f})")
        storey_ids.append(storey)
        contained, spaces = [], []
        for i in range(cols):
            for j in range(rows):
                if rooms_left == 0:
                    break
                rooms_left -= 1
                rp = s.add(f"IFCCARTESIANPOINT(({4.0 * i:.3f},{4.0 * j:.3f},0.))")
                place = s.add(f"IFCLOCALPLACEMENT(#{sp},#{s.add(f'IFCAXIS2PLACEMENT3D(#{rp},$,$)')})")
                room = k * cols * rows + i * rows + j
                space = s.add(f"IFCSPACE('{s.gid()}',#{oh},'{room}',$,$,#{place},#{space_shape},'Room {room}',.ELEMENT.,.INTERNAL.,$)")
                spaces.append(space)
                pset("Pset_SpaceCommon", "Reference", f"IFCIDENTIFIER('R{room}')", [space])
                contained.append(s.add(f"IFCSLAB('{s.gid()}',#{oh},'Floor {room}',$,$,#{place},#{slab_shape},$,.FLOOR.)"))
                wall_tail = ",.SOLIDWALL.)" if ifc4 else ")"
                contained.append(s.add(f"IFCWALL('{s.gid()}',#{oh},'Wall S {room}',$,$,#{place},#{wall_s_shape},${wall_tail}"))
                contained.append(s.add(f"IFCWALL('{s.gid()}',#{oh},'Wall W {room}',$,$,#{place},#{wall_w_shape},${wall_tail}"))
                door_tail = ",.DOOR.,$,$)" if ifc4 else ")"
                door = s.add(f"IFCDOOR('{s.gid()}',#{oh},'Door {room}',$,$,#{place},#{door_shape},$,2.1,0.9{door_tail}")
                contained.append(door)
                door_sets.setdefault(j == 0, []).append(door)
        if spaces:
            s.add(f"IFCRELAGGREGATES('{s.gid()}',#{oh},$,$,#{storey},({','.join(f'#{e}' for e in spaces)}))")
        if contained:
            s.add(f"IFCRELCONTAINEDINSPATIALSTRUCTURE('{s.gid()}',#{oh},$,$,({','.join(f'#{e}' for e in contained)}),#{storey})")
    s.add(f"IFCRELAGGREGATES('{s.gid()}',#{oh},$,$,#{building},({','.join(f'#{e}' for e in storey_ids)}))")
    for external, doors in sorted(door_sets.items()):
        # One property set per value, shared by its doors (as exporters write them).
        pset("Pset_DoorCommon", "IsExternal", f"IFCBOOLEAN({true if external else false})", doors)
    w.write("ENDSEC;\nEND-ISO-10303-21;\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("elements", type=int, nargs="?", default=100000)
    ap.add_argument("--schema", choices=["IFC4", "IFC2X3"], default="IFC4")
    ap.add_argument("--cols", type=int, default=40)
    ap.add_argument("--rows", type=int, default=25)
    ap.add_argument("--epset-map-conversion", metavar="E,N,H,XAA,XAO,SCALE,CRS",
                    help="IFC2X3: georeference the project by ePSet_MapConversion and "
                         "ePSet_ProjectedCRS (e.g. 642000,3498000,4,0.866,-0.5,1,EPSG:4549)")
    a = ap.parse_args()
    main(a.elements, a.schema, max(1, a.cols), max(1, a.rows), a.epset_map_conversion)
