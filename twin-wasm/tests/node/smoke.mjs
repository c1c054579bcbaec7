// Smoke test of the npm package in node (>= 18): loads the generated ES module from
// the filesystem, hands the wasm bytes to its init function, loads the bundled island,
// asks known questions, feeds good and bad telemetry and checks the answers.
//
//   node twin-wasm/tests/node/smoke.mjs [PKG_DIR]     (default web/pkg)
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const pkg = resolve(process.argv[2] ?? "web/pkg");
const mod = await import(pathToFileURL(`${pkg}/twin_wasm.js`).href);
await mod.default({ module_or_path: await readFile(`${pkg}/twin_wasm_bg.wasm`) });
const { Twin } = mod;

const T0 = 1763700000000; // 2025-11-21T04:40:00Z
const took = (t) => `${(performance.now() - t).toFixed(0)} ms`;
let t = performance.now();
const twin = Twin.bundled();
console.log(`bundled island: ${twin.size} assets in ${took(t)}`);
assert.equal(twin.size, 158654);

// Known answers.
const towns = twin.contains(121.397, 31.623, "town");
assert.deepEqual(towns.map((h) => h.id), ["CM-TOWN-CHENGQIAO"]);
assert.equal(towns[0].name, "城桥镇");
const isl = twin.knn(121.69, 31.4, 1, "island");
assert.equal(isl[0].id, "CM-ISL-CHANGXING");
assert.equal(typeof isl[0].distance, "number");
const gauges = twin.near(121.397, 31.623, 2000, "sensor:water_level");
assert.ok(gauges.length > 0 && gauges.every((h) => h.distance <= 2000));
const gauge = gauges[0].id;

// Telemetry: a good reading, an unknown id, then a malformed payload.
const good = twin.applyJson(JSON.stringify([
  { id: gauge, channel: "level", ts: T0, value: 2.5 },
  { id: "NO-SUCH-ASSET", channel: "level", ts: T0, value: 1 },
]));
assert.equal(good.applied, 1);
assert.equal(good.rejected, 1);
assert.equal(good.reasons["unknown asset id"], 1);
assert.throws(() => twin.applyJson("[{\"id\": "), /not a JSON array of readings/);
assert.throws(() => twin.asset("NO-SUCH-ASSET"), /unknown asset id/);
assert.throws(() => twin.setRules("[{\"id\":\"r\"}]"), /rule 0 \(`r`\)/);
assert.throws(() => Twin.fromSnapshot(new Uint8Array([1, 2, 3])), /not a twin snapshot/);
assert.throws(() => twin.applyTyped(new Uint32Array(2), "level", new Float64Array(1), new Float64Array(1)), /same length/);
// Wrong JS types are refused by name, never converted (a string would be handle 0).
assert.throws(() => twin.applyTyped("12", "level", Float64Array.of(1), Float64Array.of(1)), /handles must be a Uint32Array/);
assert.throws(() => twin.applyTyped(null, "level", Float64Array.of(1), Float64Array.of(1)), /handles must be a Uint32Array/);
assert.throws(() => twin.applyTyped(Uint32Array.of(1), "level", [1], Float64Array.of(1)), /values must be a Float64Array/);
assert.throws(() => twin.applyTyped(Uint32Array.of(1), "level", Float64Array.of(1), "now"), /timestamps must be a Float64Array/);
// Still answering, with the reading applied.
assert.equal(twin.asset(gauge).latest.level.value, 2.5);
assert.equal(twin.contains(121.397, 31.623, "town")[0].id, "CM-TOWN-CHENGQIAO");

// Typed fast path.
const h = twin.handleOf(gauge);
const typed = twin.applyTyped(Uint32Array.of(h), "level", Float64Array.of(2.75), Float64Array.of(T0 + 1000));
assert.equal(typed.applied, 1);
assert.equal(twin.asset(gauge).latest.level.value, 2.75);
assert.equal(twin.valueAt(gauge, "level", T0 + 500).value, 2.5);

// Alerts through the listener, overlay colours, vital signs, simulation.
const events = [];
twin.onAlert((e) => events.push(e));
twin.applyTyped(Uint32Array.of(h), twin.channelId("level"), Float64Array.of(3.9), Float64Array.of(T0 + 2000));
twin.applyTyped(Uint32Array.of(h), "level", Float64Array.of(3.9), Float64Array.of(T0 + 40000));
assert.ok(events.some((e) => e.event === "raised" && e.asset === gauge && e.rule === "water-level-high"), JSON.stringify(events));
assert.ok(twin.openAlerts().some((a) => a.asset === gauge));
t = performance.now();
const sim = twin.simulate(T0 + 40000, T0 + 50000);
console.log(`simulated 10 s: ${sim.samples} samples in ${took(t)}`);
assert.equal(sim.ticks, 10);
assert.equal(sim.rejected, 0);
const frame = twin.refreshOverlay();
assert.ok(frame.colors instanceof Uint8Array && frame.colors.length === 4 * twin.handleCapacity);
assert.ok(frame.changed instanceof Uint32Array && frame.changed.length > 0);
const vitals = twin.vitalSigns();
assert.equal(vitals.filter((r) => !r.island).length, 18);
assert.ok(vitals.some((r) => r.online > 0 && r.channels.level));
assert.equal(twin.overlayLayers().length, 11);

// The page's own overlay: one layer, a ramp from green at 0 m to red at 4 m. The gauge
// is held high again first (the simulator brought it back down): an open alert.
for (const dt of [1000, 40000]) {
  twin.applyTyped(Uint32Array.of(h), "level", Float64Array.of(3.9), Float64Array.of(twin.now + dt));
}
assert.ok(twin.openAlerts().some((a) => a.asset === gauge && a.rule === "water-level-high"));
const standardOverlay = twin.overlayJson();
twin.setOverlay(JSON.stringify([{ name: "gauges", kinds: "sensor:water_level", channel: "level",
  ramp: [[0, "#00ff00"], [4, "#ff0000"]] }]));
assert.deepEqual(twin.overlayLayers().map((l) => l.name), ["gauges"]);
const other = gauges.find((g) => g.id !== gauge && twin.asset(g.id).latest.level);
const v = twin.asset(other.id).latest.level.value;
const colorOf = (colors, id) => [...colors.subarray(4 * twin.handleOf(id), 4 * twin.handleOf(id) + 4)];
let colors = twin.refreshOverlay().colors;
const r = Math.round((255 * Math.min(v, 4)) / 4);
assert.deepEqual(colorOf(colors, other.id), [r, 255 - r, 0, 255], `level ${v}`);
assert.deepEqual(colorOf(colors, gauge), [230, 0, 160, 255], "an open alert stays highlighted");
// A 5G station is in no layer now: transparent (its base colour).
assert.deepEqual(colorOf(colors, twin.knn(121.397, 31.623, 1, "station_5g")[0].id), [0, 0, 0, 0]);
assert.throws(() => twin.setOverlay('[{"name": "x", "kinds": "building", "channel": "nope", "ramp": [[0, "#000000"]]}]'),
  /overlay layer 0 \(`x`\): unknown channel `nope`/);
assert.throws(() => twin.setOverlay("{"), /overlay file/);
assert.deepEqual(twin.overlayLayers().map((l) => l.name), ["gauges"], "a refused overlay changes nothing");
twin.setOverlay(standardOverlay);
assert.equal(twin.overlayLayers().length, 11);
assert.equal(twin.overlayJson(), standardOverlay);

// Vital signs through a callback: at once, then on change, paced by the twin's clock.
const tables = [];
twin.onVitalSigns((rows) => tables.push(rows), 0);
assert.equal(tables.length, 1);
assert.equal(tables[0].filter((r) => !r.island).length, 18);
const townOf = (rows) => rows.find((r) => r.region === "CM-TOWN-CHENGQIAO");
let now = twin.now;
twin.applyTyped(Uint32Array.of(twin.handleOf(other.id)), "level", Float64Array.of(0.5), Float64Array.of(now + 1000));
assert.equal(tables.length, 2, "a changed level mean is delivered");
assert.ok(townOf(tables[1]).channels.level.mean < townOf(tables[0]).channels.level.mean);
twin.applyTyped(Uint32Array.of(twin.handleOf(other.id)), "level", Float64Array.of(0.5), Float64Array.of(now + 1000));
assert.equal(tables.length, 2, "a repeat changes nothing and delivers nothing");
twin.clearVitalSignsListeners();
twin.onVitalSigns((rows) => tables.push(rows), 60000);
assert.equal(tables.length, 3, "a new listener gets the table at once");
twin.applyTyped(Uint32Array.of(twin.handleOf(other.id)), "level", Float64Array.of(0.6), Float64Array.of(now + 2000));
assert.equal(tables.length, 3, "within a minute of twin time: held back");
twin.tick(now + 61000);
assert.equal(tables.length, 4, "delivered by the first call a minute later");
assert.throws(() => twin.onVitalSigns(() => {}, -1), /everyMs must be ≥ 0/);
twin.clearVitalSignsListeners();

// Snapshots: restored from bytes written natively, written here and read back.
const snap = await readFile(new URL("gauges.snap", import.meta.url));
const back = Twin.fromSnapshot(snap);
assert.equal(back.size, 2);
assert.equal(back.asset("G-1").latest.level.value, 2.25);
assert.deepEqual(back.openAlerts().map((a) => [a.asset, a.rule]), [["G-2", "water-level-high"]]);
assert.equal(back.knn(121.41, 31.62, 1)[0].id, "G-2");
const again = Twin.fromSnapshot(back.snapshot());
assert.equal(again.size, 2);
assert.equal(again.asset("G-1").latest.level.value, 2.25);
assert.deepEqual(again.openAlerts().map((a) => [a.asset, a.rule]), [["G-2", "water-level-high"]]);
// The whole island, written in wasm and read back.
t = performance.now();
const bytes = twin.snapshot();
const whole = Twin.fromSnapshot(bytes);
console.log(`snapshot of the island: ${bytes.length} bytes, written and read back in ${took(t)}`);
assert.equal(whole.size, twin.size);
assert.equal(whole.asset(other.id).latest.level.value, 0.6);
assert.deepEqual(whole.openAlerts().map((a) => a.asset).sort(), twin.openAlerts().map((a) => a.asset).sort());

// Users' files with a mapping (the options object): files other projects wrote.
const ext = new URL("../../../twin-core/tests/data/external/", import.meta.url);
const dh = await readFile(new URL("cityjson/DH_01_subs.city.json", ext));
// CityJSON 1.1 without a CRS: refused, naming --crs's option; with it, 12 assets.
assert.throws(() => Twin.fromData(dh, { name: "DH_01_subs.city.json" }), /give its CRS/);
const city = Twin.fromData(dh, { name: "DH_01_subs.city.json", crs: "EPSG:7415" });
assert.equal(city.size, 12);
const part = city.asset("GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2_1");
assert.equal(part.kind, "building");
assert.equal(part.properties.cityjson_type, "BuildingPart");
// OpenStreetMap buildings in a FlatGeobuf (EPSG:3857 in its header), kinds from tags,
// added to that twin: 204 more.
const osm = await readFile(new URL("osm-buildings-3857-ch-sample.fgb", ext));
const calls = [];
const summary = city.loadData(osm, {
  name: "osm.fgb", id: "@feature", kind: "osm", mapping: { id_prefix: "osm/" },
  onProgress: (done, total) => calls.push([done, total]),
});
assert.equal(summary.added, 204);
assert.deepEqual(calls, [[204, 204]]); // fewer than 8,192: only the end
assert.deepEqual(summary.rejected, []);
assert.equal(city.size, 216);
// A lenient load reports the bad feature with file, index and problem; a strict one throws.
const mixed = JSON.stringify({ type: "FeatureCollection", features: [
  { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [4.3, 52.1] } },
  { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [999, 52.1] } },
] });
const lenient = city.loadData(mixed, { name: "pins.geojson", id: "auto", kind: "custom:pin", lenient: true });
assert.equal(lenient.added, 1);
assert.equal(lenient.rejected.length, 1);
assert.equal(lenient.rejected[0].file, "pins.geojson");
assert.equal(lenient.rejected[0].index, 1);
assert.match(lenient.rejected[0].problem, /outside the range/);
assert.throws(() => city.loadData(mixed, { name: "pins2.geojson", id: "auto", kind: "custom:pin" }), /pins2.geojson: feature 1/);
assert.throws(() => city.loadData(mixed, { nmae: "x" }), /unknown field `nmae`/);
assert.equal(city.size, 217);
console.log("smoke: ok");
