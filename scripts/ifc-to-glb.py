#!/usr/bin/env python3
"""Writes an IFC model's geometry as a binary glTF with IfcOpenShell, each element a
node named by its IFC GlobalId (as IfcConvert --use-element-guids does).

    scripts/ifc-to-glb.py MODEL.ifc OUT.glb

twin-bim's tests read the result as a glTF building model and compare it with the same
model read from IFC: ids, and where each element stands (IfcOpenShell's geometry
against ifc-lite's). Prints the number of elements written.
"""
import sys

import ifcopenshell
import ifcopenshell.geom as geom


def main(src: str, out: str) -> None:
    model = ifcopenshell.open(src)
    settings = geom.settings()
    settings.set("use-element-guids", True)
    settings.set("use-world-coords", False)
    serializer = geom.serializers.glb(out, settings)
    serializer.setFile(model)
    serializer.setUnitNameAndMagnitude("METER", 1.0)
    serializer.writeHeader()
    it = geom.iterator(settings, model, 1)
    written = 0
    if it.initialize():
        while True:
            serializer.write(it.get())
            written += 1
            if not it.next():
                break
    serializer.finalize()
    print(written)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
