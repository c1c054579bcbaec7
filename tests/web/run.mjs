#!/usr/bin/env node
// Browser tests of the dashboard (examples/web) in Debian's chromium, driven by
// playwright-core (no browser is downloaded):
//
//   node tests/web/run.mjs [--pkg DIR] [--screenshot FILE] [--no-webgpu] [--no-mqtt]
//                          [--no-served] [--only 1,4] [--shots DIR]
//
// Starts examples/web/serve.mjs on a free port (serving the wasm package from --pkg,
// default examples/web/pkg, else web/pkg), opens the dashboard and checks:
//   0. (node) MQTT topic/payload conversion to readings, the server's MIME types, CSP
//      header, /vendor/ (MQTT.js's browser build only), 404s and refused path traversal;
//   1. the page loads under its Content-Security-Policy with no violation or error and
//      draws the island (many canvas pixels that are not the background colour); the
//      simulator page does not load the MQTT client;
//   2. clicking a building (found by a query, flown to) puts its id in the inspector;
//   3. telemetry for its energy meter recolours it on the canvas (60 → red, 0 → pale);
//      an overlay file opened in the layers panel turns it blue, a bad one is refused
//      with its name, the standard button turns it red again; the replay slider draws
//      it as it was a minute before (pale), then live (red) again;
//      clicking an alert in the feed selects its asset, "ack" acknowledges it, the
//      search box finds ids and towns;
//   4. malformed telemetry throws Errors with useful messages, and the twin answers on;
//  4b. a twin loads from a URL (Twin.fetchGeoJson of examples/web/data/planned.geojson);
//      a 404, a JSON file that is no GeoJSON and bad snapshot bytes are Errors naming it;
//  4c. files chosen in the "add data" box join the twin (Twin.loadData): a CityJSON
//      LoD2 house in UTM 51N is added, selected, flown to and drawn; a GeoJSON with a
//      bad feature is refused naming file and feature, and with "keep the good
//      features" (and --id/--as in the box) loads the good one and lists the bad;
//   9. (tests/web/served.mjs) ?server=URL: a real `twin serve` (target/debug/twin or
//      $TWIN_BIN) fed by mosquitto; the page refuses to guess a token, connects with
//      one typed in the token field, draws the island from the stream, turns a
//      building red after mosquitto_pub, shows an alert, refuses a viewer's
//      acknowledgement with the server's message, takes an operator's, and reconnects
//      after the server restarts;
//   5. measures (prints, never asserts) time to first frame, backend and in-page ingest
//      rates of JSON and typed arrays, written to $TMPDIR/twin-web-bench.json;
//   6. with mosquitto's websockets listener (on free ports), messages published with
//      mosquitto_pub reach the twin through the page's MQTT client (MQTT.js): values in
//      the twin and the inspector, a malformed one counted, a burst of 20,000 measured,
//      and the feed reconnects after the broker restarts (skipped with a notice if
//      mosquitto is missing; fails if examples/web has no `npm ci`);
//   7. the same page on WebGPU (SwiftShader), informational.
// --screenshot FILE also saves a picture of the running dashboard (docs/dashboard.png);
// --shots DIR keeps the canvas screenshots the checks look at; --only runs some tests.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { decodePng, pixel } from "./png.mjs";
import { servedTest } from "./served.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const WEB = join(REPO, "examples/web");
/** twin-render's BACKGROUND (twin-render/src/palette.rs). */
const BACKGROUND = [140, 179, 209];
const CHENGQIAO = [121.397, 31.623];

const FLAGS = [
  "--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  "--enable-webgl", "--ignore-gpu-blocklist", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
];
const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader"];

// ---------------------------------------------------------------- arguments, harness

const opts = { pkg: null, screenshot: null, webgpu: true, mqtt: true, served: true, only: null, shots: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--pkg") opts.pkg = resolve(process.argv[++i]);
  else if (a === "--screenshot") opts.screenshot = resolve(process.argv[++i]);
  else if (a === "--no-webgpu") opts.webgpu = false;
  else if (a === "--no-mqtt") opts.mqtt = false;
  else if (a === "--no-served") opts.served = false;
  else if (a === "--only") opts.only = process.argv[++i].split(",");
  else if (a === "--shots") opts.shots = resolve(process.argv[++i]);
  else {
    console.error(`usage: node tests/web/run.mjs [--pkg DIR] [--screenshot FILE] [--no-webgpu] [--no-mqtt] [--no-served] [--only 1,4,...] [--shots DIR]`);
    process.exit(2);
  }
}
opts.pkg ??= [join(WEB, "pkg"), join(REPO, "web/pkg")].find((d) => existsSync(join(d, "twin_wasm.js")));
if (!opts.pkg || !existsSync(join(opts.pkg, "twin_wasm.js"))) {
  console.error("web tests: no wasm package; build one with scripts/build-web --no-test --out examples/web/pkg");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const results = [];
const bench = {};
const cleanups = [];
async function test(name, fn) {
  if (opts.only && !opts.only.includes(name.match(/^(\d+)/)?.[1])) return;
  const t = performance.now();
  process.stdout.write(`\n== ${name}\n`);
  try {
    const note = await fn();
    results.push({ name, ok: true, note });
    console.log(`ok (${((performance.now() - t) / 1000).toFixed(1)} s)${note ? `: ${note}` : ""}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAILED: ${e.stack ?? e}`);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (in node) until it returns a truthy value. */
async function until(fn, { timeout = 30000, every = 100, what = "condition" } = {}) {
  const t = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
    await sleep(every);
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** Raw GET (no URL normalisation, unlike fetch): [status, headers, body]. */
function rawGet(port, path) {
  return new Promise((res, rej) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (r) => {
      const chunks = [];
      r.on("data", (c) => chunks.push(c));
      r.on("end", () => res([r.statusCode, r.headers, Buffer.concat(chunks)]));
    });
    req.on("error", rej);
    req.end();
  });
}

// ---------------------------------------------------------------- 0. node-side checks

await test("0a. MQTT topics and payloads to readings (twin publish's format)", async () => {
  const { readingsOf } = await import(join(WEB, "feed.js"));
  const enc = new TextEncoder();
  assert.deepEqual(readingsOf("twin/CM-TOWN-DONGPING/charger_power/CM-S-CP-001225",
    enc.encode('{"ts":"2025-11-21T04:40:00Z","power":22.0,"charger":"charging","quality":"uncertain"}')), [
    { id: "CM-S-CP-001225", channel: "power", ts: 1763700000000, value: 22, quality: "uncertain" },
    { id: "CM-S-CP-001225", channel: "charger", ts: 1763700000000, value: "charging", quality: "uncertain" },
  ]);
  // MQTT.js hands payloads over as its Buffer, a Uint8Array (here node's Buffer).
  assert.deepEqual(readingsOf("twin/CM-TOWN-CHENJIA/water_level/CM-S-WL-003306", Buffer.from('{"ts":1763700000000,"level":2.41}')),
    [{ id: "CM-S-WL-003306", channel: "level", ts: 1763700000000, value: 2.41 }]);
  assert.deepEqual(readingsOf("twin/%5F/noise/X%2FY", '{"ts":5,"noise":40}'), [{ id: "X/Y", channel: "noise", ts: 5, value: 40 }]);
  assert.deepEqual(readingsOf("twin/a/b/C", '{"id":"C","channel":"level","ts":1,"value":1}'), [{ id: "C", channel: "level", ts: 1, value: 1 }]);
  assert.throws(() => readingsOf("twin/a/b/C", "{"), SyntaxError);
  assert.throws(() => readingsOf("twin/a/b/C", Uint8Array.of(0x7b, 0xff, 0x7d)), TypeError); // not UTF-8
  assert.throws(() => readingsOf("twin/a/b/C", '{"level":1}'), /no valid ts/);
  assert.throws(() => readingsOf("twin/a/b/C", '{"ts":1}'), /no channel/);
  assert.throws(() => readingsOf("twin/a/b/C", "[1]"), /not a JSON object/);
  assert.throws(() => readingsOf("other/C", '{"ts":1,"level":1}'), /not twin\/<town>/);
  assert.throws(() => readingsOf("twin/a/b/%E0", '{"ts":1,"level":1}'), /bad %-escape/);
  assert.throws(() => readingsOf("twin/a/b/C", '{"id":"D","channel":"level","ts":1,"value":1}'), /not the topic's asset/);
});

// ---------------------------------------------------------------- the server

const server = spawn(process.execPath, [join(WEB, "serve.mjs"), "--port", "0", "--pkg", opts.pkg], {
  stdio: ["ignore", "pipe", "inherit"],
});
cleanups.push(() => server.kill());
const base = await new Promise((res, rej) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/^serving (http:\/\/127\.0\.0\.1:(\d+)\/)\n/);
    if (m) res(m[1]);
  });
  server.on("exit", (code) => rej(new Error(`serve.mjs exited (${code}): ${out}`)));
});
const port = Number(new URL(base).port);
console.log(`\nserver: ${base} (package ${opts.pkg})`);

await test("0b. serve.mjs: MIME types, CSP header, 404, no path traversal, 127.0.0.1 only", async () => {
  const [s1, h1] = await rawGet(port, "/");
  assert.equal(s1, 200);
  assert.match(h1["content-type"], /^text\/html/);
  assert.match(h1["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.equal(h1["x-content-type-options"], "nosniff");
  assert.match((await rawGet(port, "/main.js"))[1]["content-type"], /^text\/javascript/);
  assert.match((await rawGet(port, "/style.css"))[1]["content-type"], /^text\/css/);
  assert.equal((await rawGet(port, "/pkg/twin_wasm_bg.wasm"))[1]["content-type"], "application/wasm");
  assert.equal((await rawGet(port, "/no-such-file.js"))[0], 404);
  // /vendor/: MQTT.js's browser build (npm ci in examples/web), and nothing else of node_modules.
  const [sv, hv, bv] = await rawGet(port, "/vendor/mqtt.esm.js");
  assert.equal(sv, 200, `/vendor/mqtt.esm.js: ${sv} ${bv.toString().slice(0, 200)} (run npm ci in examples/web)`);
  assert.match(hv["content-type"], /^text\/javascript/);
  assert.match(hv["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(bv.toString("latin1", bv.length - 2000), /export default/);
  for (const p of ["/node_modules/mqtt/package.json", "/node_modules/mqtt/dist/mqtt.esm.js", "/vendor/mqtt.js",
    "/vendor/", "/vendor/../package.json"]) {
    const [s] = await rawGet(port, p);
    assert.ok(s === 404 || s === 403, `${p}: ${s}`);
  }
  for (const p of ["/../../Cargo.toml", "/%2e%2e/%2e%2e/Cargo.toml", "/pkg/../../../Cargo.toml",
    "/pkg/%2e%2e%2f%2e%2e%2f%2e%2e%2fCargo.toml", "/..%5c..%5cCargo.toml", "/%00"]) {
    const [s, , body] = await rawGet(port, p);
    assert.ok(s === 403 || s === 400, `${p}: ${s}`);
    assert.ok(!body.toString().includes("[workspace]"), `${p} leaked a file`);
  }
  // Bound to 127.0.0.1: not reachable on another local address.
  const other = await new Promise((res) => {
    const req = request({ host: "127.0.0.2", port, path: "/" }, () => res(true));
    req.on("error", () => res(false));
    req.end();
  });
  assert.equal(other, false, "the server answers on 127.0.0.2");
});

// ---------------------------------------------------------------- the browser

const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
cleanups.push(() => browser.close());
console.log(`browser: ${CHROMIUM} ${browser.version()}`);

/** A page on `query`, with CSP violations, errors and console errors collected. */
async function openDashboard(ctx, query = "") {
  const page = await ctx.newPage();
  const problems = { csp: [], errors: [], console: [], requests: [] };
  page.on("request", (r) => problems.requests.push(new URL(r.url()).pathname));
  page.on("pageerror", (e) => problems.errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.console.push(m.text()));
  page.on("worker", (w) => w.on("console", (m) => m.type() === "error" && problems.console.push(`worker: ${m.text()}`)));
  await page.exposeFunction("__cspViolation", (v) => problems.csp.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__cspViolation(`${e.violatedDirective}: ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
  });
  const response = await page.goto(base + query);
  return { page, response, problems };
}

async function ready(page) {
  return page.evaluate(async () => {
    await window.twinApp.ready;
    return { ...window.twinApp.stats };
  });
}

/** Pixels of the canvas as shown, with the overlays on it painted background. */
async function canvasPixels(page, name) {
  const bg = `rgb(${BACKGROUND.join(",")})`;
  // A page screenshot clipped to the canvas: a locator's screenshot first waits for
  // the element to be "stable" over two animation frames, which a software-rendered
  // page busy drawing did not reach in 30 s once (the cold CI run of 2026-12-06).
  const box = await page.locator("#island").boundingBox();
  const png = await page.screenshot({
    clip: box,
    mask: [page.locator(".layers"), page.locator("#view-info")],
    maskColor: bg,
    animations: "allow",
    timeout: 60000,
  });
  if (opts.shots && name) {
    mkdirSync(opts.shots, { recursive: true });
    writeFileSync(join(opts.shots, `${name}.png`), png);
  }
  return decodePng(png);
}

const nonBackground = (img) => {
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const d = Math.abs(img.data[i] - BACKGROUND[0]) + Math.abs(img.data[i + 1] - BACKGROUND[1]) + Math.abs(img.data[i + 2] - BACKGROUND[2]);
    if (d > 24) n++;
  }
  return n / (img.width * img.height);
};

/** The mean colour of a 5×5 patch around (x, y). */
function patch(img, x, y) {
  const sum = [0, 0, 0];
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
    const p = pixel(img, x + dx, y + dy);
    for (let k = 0; k < 3; k++) sum[k] += p[k];
  }
  return sum.map((s) => Math.round(s / 25));
}

/** Waits until the camera has stopped: the asset's screen position is the same over several frames. */
async function settle(page, id) {
  return until(() => page.evaluate(async (id) => {
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const v = window.twinApp.view;
    const a = v.screenPosition(id);
    for (let i = 0; i < 6; i++) await frame();
    const b = v.screenPosition(id);
    return a && b && Math.hypot(a[0] - b[0], a[1] - b[1]) < 0.5 ? b : null;
  }, id), { timeout: 20000, every: 50, what: `the camera to settle on ${id}` });
}

/** Lets the view draw a few frames. */
const frames = (page, n = 4) => page.evaluate(async (n) => {
  for (let i = 0; i < n; i++) await new Promise((r) => requestAnimationFrame(r));
}, n);

const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
let dash;
let stats;

await test("1. loads under the CSP (header and <meta>), no violations or errors, draws the island", async () => {
  const t0 = Date.now();
  dash = await openDashboard(ctx, "");
  const { page, response, problems } = dash;
  assert.equal(response.status(), 200);
  const csp = response.headers()["content-security-policy"];
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.deepEqual(csp.match(/'[a-z-]*unsafe[a-z-]*'/g), ["'wasm-unsafe-eval'"], csp);
  const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content");
  assert.match(meta, /script-src 'self' 'wasm-unsafe-eval'/);
  stats = await ready(page);
  assert.equal(stats.viewError, null, `view: ${stats.viewError}`);
  // The simulator feeds the twin: sensors come online.
  await until(() => page.evaluate(() => window.twinApp.twin.vitalSigns().some((r) => r.online > 1000)),
    { timeout: 60000, what: "simulated sensors online" });
  // The table follows them through the twin's onVitalSigns callback.
  await until(() => page.evaluate(() => {
    const td = document.querySelector("[data-testid=vitals] tr.island td");
    return td && Number(td.textContent.replace(/\s/g, "")) > 1000;
  }), { timeout: 10000, what: "the vital-signs table to show the sensors online" });
  await frames(page);
  const img = await canvasPixels(page, "1-island");
  const share = nonBackground(img);
  console.log(`   first frame ${(stats.firstFrameMs / 1000).toFixed(2)} s after navigation (${stats.backend}); ` +
    `${(100 * share).toFixed(1)}% of ${img.width}×${img.height} canvas pixels are not background; page up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.ok(share > 0.05, `only ${(100 * share).toFixed(2)}% of the canvas differs from the background`);
  // A probe: an inline script is refused (so the policy is really in force).
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__inlineRan = true";
    document.head.append(s);
  });
  await until(() => problems.csp.length > 0, { timeout: 5000, what: "the probe's CSP violation" });
  assert.equal(await page.evaluate(() => window.__inlineRan ?? false), false, "an inline script ran");
  const probe = problems.csp.splice(0);
  problems.console = problems.console.filter((m) => !/inline script/i.test(m));
  assert.ok(probe.every((v) => v.startsWith("script-src")), probe.join("; "));
  assert.deepEqual(problems.csp, [], "CSP violations");
  assert.deepEqual(problems.errors, [], "page errors");
  assert.deepEqual(problems.console, [], "console errors");
  // The MQTT client is loaded only by pages that take MQTT.
  assert.ok(!problems.requests.some((p) => p.startsWith("/vendor/")), `the simulator page loaded ${problems.requests.filter((p) => p.startsWith("/vendor/"))}`);
  bench.firstFrameMs = stats.firstFrameMs;
  bench.backend = stats.backend;
  bench.wasmInitMs = stats.wasmInitMs;
  bench.islandLoadMs = stats.islandLoadMs;
  bench.canvasNonBackground = share;
  return `${stats.backend}, first frame at ${stats.firstFrameMs?.toFixed(0)} ms`;
});

let building, meter, roofHot;

await test("2. clicking a building shows its id in the inspector", async () => {
  const { page } = dash;
  // Pause the simulator (the speed control) so that only the test's telemetry moves colours.
  await page.selectOption("#speed", "0");
  await until(() => page.evaluate(() => !window.twinApp.feed.busy && window.twinApp.feed.queue.length === 0),
    { what: "the simulator to pause" });
  // Markers (sensors) sit on the roofs: hide them so the click meets the building.
  await page.locator("details.layers summary").click();
  await page.locator('input[data-layer="markers"]').uncheck();
  ({ building, meter } = await page.evaluate(([lon, lat]) => {
    const { twin } = window.twinApp;
    for (const h of twin.knn(lon, lat, 50, "building")) {
      const a = twin.asset(h.id);
      const meter = a.sensors.find((s) => twin.asset(s).kind === "sensor:building_energy");
      if (meter) return { building: h.id, meter };
    }
    return {};
  }, CHENGQIAO));
  assert.ok(building, "no building with an energy meter near Chengqiao");
  console.log(`   building ${building}, meter ${meter}`);
  await page.evaluate((id) => window.twinApp.view.flyTo(id), building);
  const [x, y] = await settle(page, building);
  await page.locator("#island").click({ position: { x, y } });
  await until(async () => (await page.locator("[data-testid=inspector-id]").textContent()) === building,
    { timeout: 10000, what: `${building} in the inspector` });
  assert.equal(await page.evaluate(() => window.twinApp.view.selected), building);
  return `${building} at (${x.toFixed(0)}, ${y.toFixed(0)})`;
});

await test("3. energy telemetry recolours the building on the canvas", async () => {
  const { page } = dash;
  assert.ok(building, "no building from test 2");
  // Unselected, so the selection colour does not hide the live colour.
  await page.getByRole("button", { name: "clear" }).click();
  assert.equal(await page.evaluate(() => window.twinApp.view.selected ?? null), null);
  const channel = await page.evaluate(() => window.twinApp.twin.channels().find((c) => c.name === "energy")?.name);
  assert.equal(channel, "energy");
  const colourAt = async (kwh) => {
    const r = await page.evaluate(([meter, kwh]) => {
      const { twin } = window.twinApp;
      const ts = twin.now + 1000;
      return twin.applyJson(JSON.stringify([{ id: meter, channel: "energy", ts, value: kwh }]));
    }, [meter, kwh]);
    assert.equal(r.applied, 1, JSON.stringify(r));
    await frames(page, 6);
    const [x, y] = await page.evaluate((id) => window.twinApp.view.screenPosition(id), building);
    return patch(await canvasPixels(page, `3-energy-${kwh}-${Date.now()}`), x, y);
  };
  const hot = await colourAt(60);
  const cold = await colourAt(0);
  const hot2 = await colourAt(60);
  console.log(`   roof colour at 60 kWh/h rgb(${hot}), at 0 rgb(${cold}), at 60 again rgb(${hot2})`);
  const reddish = ([r, g, b]) => r > 150 && r - g > 80 && r - b > 80;
  const pale = ([r, g, b]) => r > 150 && g > 130 && g - b > 15 && r - g < 60;
  assert.ok(reddish(hot), `60 kWh/h should be red-ish, got rgb(${hot})`);
  assert.ok(pale(cold), `0 kWh/h should be pale yellow, got rgb(${cold})`);
  assert.deepEqual(hot2, hot, "the same value should give the same colour");
  roofHot = hot;
  assert.equal(await page.evaluate((m) => window.twinApp.twin.asset(m).latest.energy.value, meter), 60);
  return `rgb(${hot}) → rgb(${cold})`;
});

await test("3b. an overlay file opened in the layers panel recolours the building; a bad one is refused", async () => {
  const { page, problems } = dash;
  assert.ok(building && roofHot, "no building from tests 2 and 3");
  const dir = mkdtempSync(join(tmpdir(), "twin-overlay-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const blue = join(dir, "blue.json");
  writeFileSync(blue, JSON.stringify([{ name: "energy in blue", kinds: "sensor:building_energy", channel: "energy",
    thresholds: { breaks: [], colors: ["#1e3cff"] } }]));
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify([{ name: "broken", kinds: "building", channel: "joules", ramp: [[0, "#000000"]] }]));
  const legend = () => page.locator(".legend").textContent();
  const roof = async (name) => {
    await frames(page, 6);
    const [x, y] = await page.evaluate((id) => window.twinApp.view.screenPosition(id), building);
    return patch(await canvasPixels(page, name), x, y);
  };
  await page.locator("[data-testid=overlay-file]").setInputFiles(blue);
  await until(async () => (await legend()).includes("energy in blue"), { timeout: 5000, what: "the new legend" });
  assert.equal(await page.locator("[data-testid=overlay-source]").textContent(), "blue.json");
  const inBlue = await roof("3c-blue");
  assert.ok(inBlue[2] > 150 && inBlue[2] - inBlue[0] > 80, `the roof should be blue, got rgb(${inBlue})`);
  // A bad file: the error names the file, the layer and the problem; nothing changes.
  await page.locator("[data-testid=overlay-file]").setInputFiles(bad);
  await until(async () => (await page.locator("#error").textContent()).includes("bad.json"), { timeout: 5000, what: "the error" });
  assert.match(await page.locator("#error").textContent(), /overlay bad\.json: overlay layer 0 \(`broken`\): unknown channel `joules`/);
  assert.deepEqual(await page.evaluate(() => window.twinApp.twin.overlayLayers().map((l) => l.name)), ["energy in blue"]);
  // Back to the standard colours: the roof is as test 3 left it (60 kWh/h).
  await page.getByRole("button", { name: "standard", exact: true }).click();
  await until(async () => (await legend()).includes("building energy"), { timeout: 5000, what: "the standard legend" });
  const back = await roof("3c-standard");
  assert.ok(back.every((c, i) => Math.abs(c - roofHot[i]) <= 3), `standard again: rgb(${back}), before rgb(${roofHot})`);
  assert.deepEqual(problems.errors, [], "page errors");
  return `rgb(${roofHot}) → rgb(${inBlue}) → rgb(${back})`;
});

await test("3d. the replay slider draws the building as it was a minute ago, then live again", async () => {
  const { page, problems } = dash;
  assert.ok(building && roofHot, "no building from tests 2 and 3");
  // 0 kWh/h twice (the second 90 s before the moment replayed, inside the two minutes
  // before a meter counts as silent), then 60 at the clock: a minute back is pale.
  const t = await page.evaluate((m) => {
    const { twin } = window.twinApp;
    const t0 = Math.ceil(twin.now / 1000) * 1000 + 1000;
    for (const [dt, kwh] of [[0, 0], [150000, 0], [300000, 60]]) {
      twin.applyJson(JSON.stringify([{ id: m, channel: "energy", ts: t0 + dt, value: kwh }]), t0 + dt);
    }
    return t0;
  }, meter);
  assert.equal(await page.evaluate(() => window.twinApp.twin.now), t + 300000);
  const roof = async (name) => {
    await frames(page, 6);
    const [x, y] = await page.evaluate((id) => window.twinApp.view.screenPosition(id), building);
    return patch(await canvasPixels(page, name), x, y);
  };
  const live = await roof("3d-live");
  await page.locator("[data-testid=replay]").fill("1");
  assert.equal(await page.evaluate(() => window.twinApp.view.time), t + 240000);
  assert.match(await page.locator("[data-testid=replay-at]").textContent(), /−1 min/);
  const past = await roof("3d-past");
  await page.locator("[data-testid=replay]").fill("0");
  assert.equal(await page.evaluate(() => window.twinApp.view.time), null);
  assert.equal(await page.locator("[data-testid=replay-at]").textContent(), "live");
  const again = await roof("3d-live-again");
  console.log(`   roof live rgb(${live}), a minute back rgb(${past}), live again rgb(${again})`);
  const pale = ([r, g, b]) => r > 150 && g > 130 && g - b > 15 && r - g < 60;
  const near = (a, b) => a.every((c, i) => Math.abs(c - b[i]) <= 3);
  assert.ok(near(live, roofHot), `live should be red as in test 3: rgb(${live}) vs rgb(${roofHot})`);
  assert.ok(pale(past), `a minute back should be pale (0 kWh/h), got rgb(${past})`);
  assert.ok(near(again, live), `live again: rgb(${again}) vs rgb(${live})`);
  assert.deepEqual(problems.errors, [], "page errors");
  return `rgb(${live}) → rgb(${past}) → rgb(${again})`;
});

await test("3c. an alert in the feed selects its asset; the search box finds ids and towns", async () => {
  const { page } = dash;
  // A gauge held above the critical level for 40 s raises water-level-high.
  const gauge = await page.evaluate(([lon, lat]) => {
    const { twin } = window.twinApp;
    const g = twin.near(lon, lat, 3000, "sensor:water_level")[0].id;
    const t = Math.ceil(twin.now / 1000) * 1000 + 1000;
    for (const dt of [0, 40000]) twin.applyJson(JSON.stringify([{ id: g, channel: "level", ts: t + dt, value: 3.9 }]));
    return g;
  }, CHENGQIAO);
  // (A level-jump alert may open beside it: the gauge rose by more than 0.5 m.)
  const item = page.locator(`[data-testid=open-alerts] li[data-asset="${gauge}"][title*="water-level-high"]`);
  await item.waitFor({ timeout: 10000 });
  await item.click();
  await until(async () => (await page.locator("[data-testid=inspector-id]").textContent()) === gauge,
    { timeout: 5000, what: `${gauge} in the inspector` });
  assert.equal(await page.evaluate(() => window.twinApp.view.selected), gauge);
  assert.match(await page.locator(".inspector").textContent(), /water-level-high/);
  // Acknowledge it from the feed.
  await item.locator("button.ack").click();
  assert.equal(await page.evaluate((g) => window.twinApp.twin.openAlerts()
    .find((a) => a.asset === g && a.rule === "water-level-high").state, gauge), "acknowledged");
  // Search: an id (any case), then a town by its English name.
  await page.fill("[data-testid=search]", building.toLowerCase());
  await page.press("[data-testid=search]", "Enter");
  await until(async () => (await page.locator("[data-testid=inspector-id]").textContent()) === building, { timeout: 5000, what: "the searched id" });
  await page.fill("[data-testid=search]", "chenjia");
  await page.click("#search-go");
  await until(async () => (await page.locator("[data-testid=inspector-id]").textContent()) === "CM-TOWN-CHENJIA", { timeout: 5000, what: "the searched town" });
  assert.match(await page.locator(".inspector h2.name").textContent(), /陈家镇/);
  await page.evaluate(() => window.twinApp.select(null));
  return `alert on ${gauge} clicked and acknowledged`;
});

await test("3e. the incidents panel: the gauge's incident, its footprint on the map, its order's steps", async () => {
  const { page } = dash;
  // 3c's gauge alert is an incident with an order dispatched by the island's rules.
  const inc = await until(() => page.evaluate(() => window.twinApp.twin.listIncidents()
    .find((i) => i.family === "flooding" && i.state === "open")), { timeout: 10000, what: "the flooding incident" });
  const row = page.locator(`[data-testid=incidents] li[data-incident="${inc.id}"]`);
  await row.waitFor({ timeout: 5000 });
  assert.match(await row.locator("[data-testid=order-state]").textContent(), /dispatched/);
  await row.click();
  const history = page.locator("[data-testid=order-history] li");
  await history.first().waitFor({ timeout: 5000 });
  assert.match(await history.first().textContent(), /dispatch by system: new → dispatched/);
  // The footprint: 200 m around the gauge, drawn over the view where the gauge is.
  const gauge = (await page.evaluate((id) => window.twinApp.twin.getIncident(id), inc.id)).asset_ids[0];
  await frames(page, 4);
  const alpha = await until(() => page.evaluate((g) => {
    const p = window.twinApp.view.screenPosition(g);
    if (!p) return null;
    const c = document.getElementById("footprint");
    const k = c.width / c.clientWidth;
    const a = c.getContext("2d").getImageData(Math.round(p[0] * k), Math.round(p[1] * k), 1, 1).data[3];
    return a > 0 ? a : null;
  }, gauge), { timeout: 10000, what: "the footprint over the gauge" });
  const affected = await page.locator("[data-testid=incident-affected]").textContent();
  // Accept, on site, resolve: each a step in the history, by the page.
  const state = () => page.evaluate((id) => window.twinApp.twin.getOrder(id).state, inc.order);
  await page.click("[data-step=accept]");
  await until(async () => (await state()) === "accepted", { timeout: 5000, what: "accepted" });
  await page.fill("[data-testid=order-note]", "pump running");
  await page.click("[data-step=arrive]");
  await until(async () => (await state()) === "on_site", { timeout: 5000, what: "on site" });
  await page.click("[data-step=resolve]");
  await until(async () => (await state()) === "resolved", { timeout: 5000, what: "resolved" });
  assert.match(await page.locator("[data-testid=order-history]").textContent(), /arrive by page: accepted → on_site “pump running”/);
  // The one who resolved may not verify: the lifecycle's reason is shown.
  await page.click("[data-step=verify]");
  await until(async () => /someone else verifies it/.test(await page.locator("#error").textContent()),
    { timeout: 5000, what: "the refusal shown" });
  assert.equal(await state(), "resolved");
  // Replay: at the incident's start it was open and its order dispatched; a moment
  // before, nothing of it. (The slider calls the same showTime with its moment.)
  const pastRows = async (t) => {
    await page.evaluate((t) => window.twinApp.panels.incidents.showTime(t), t);
    return page.locator(`[data-testid=incidents] li.past[data-incident="${inc.id}"]`);
  };
  const then = await pastRows(inc.start);
  await then.waitFor({ timeout: 5000 });
  assert.match(await then.locator("[data-testid=order-state]").textContent(), /^dispatched · water\//);
  assert.equal(await (await pastRows(inc.start - 1)).count(), 0);
  await page.evaluate(() => window.twinApp.panels.incidents.showTime(null));
  await row.waitFor({ timeout: 5000 });
  await row.click(); // deselect: the footprint goes
  return `incident #${inc.id} (${inc.family}), footprint alpha ${alpha} over ${gauge}, affected: ${affected}; accepted → on site → resolved, verify refused`;
});

await test("4. malformed telemetry throws useful Errors; the twin keeps answering", async () => {
  const { page, problems } = dash;
  const out = await page.evaluate(([lon, lat]) => {
    const { twin } = window.twinApp;
    const h = twin.handleOf(twin.knn(lon, lat, 1, "sensor:water_level")[0].id);
    const T = twin.now + 1000;
    const cases = {
      "applyJson('[{')": () => twin.applyJson("[{"),
      "applyJson('not json')": () => twin.applyJson("not json"),
      "applyJson(array of junk)": () => twin.applyJson('[1, "x", {"id": 3}]'),
      "applyTyped unknown channel name": () => twin.applyTyped(Uint32Array.of(h), "no-such-channel", Float64Array.of(1), Float64Array.of(T)),
      "applyTyped lengths differ": () => twin.applyTyped(Uint32Array.of(h, h), "level", Float64Array.of(1), Float64Array.of(T)),
      "applyTyped channels an object": () => twin.applyTyped(Uint32Array.of(h), {}, Float64Array.of(1), Float64Array.of(T)),
      "applyTyped channel out of range": () => twin.applyTyped(Uint32Array.of(h), 70000, Float64Array.of(1), Float64Array.of(T)),
      "applyTyped nowMs NaN": () => twin.applyTyped(Uint32Array.of(h), "level", Float64Array.of(1), Float64Array.of(T), NaN),
      "applyTyped handles null": () => twin.applyTyped(null, "level", Float64Array.of(1), Float64Array.of(T)),
      "applyTyped handles a string": () => twin.applyTyped("abc", "level", Float64Array.of(1, 2, 3), Float64Array.of(T, T, T)),
      "applyTyped values a number": () => twin.applyTyped(Uint32Array.of(h), "level", 2.5, Float64Array.of(T)),
    };
    const res = {};
    for (const [name, f] of Object.entries(cases)) {
      try {
        const r = f();
        res[name] = { threw: false, result: `applied ${r.applied}, rejected ${r.rejected}, malformed ${r.malformed}` };
      } catch (e) {
        res[name] = { threw: true, isError: e instanceof Error, type: e?.constructor?.name, message: String(e?.message ?? e) };
      }
    }
    return {
      res,
      size: twin.size,
      town: twin.contains(lon, lat, "town").map((x) => x.id),
      nearWorks: twin.near(lon, lat, 500).length > 0,
    };
  }, CHENGQIAO);
  for (const [name, r] of Object.entries(out.res)) {
    console.log(`   ${name.padEnd(34)} ${r.threw ? `${r.type}: ${r.message}` : `no error (${r.result})`}`);
  }
  const must = {
    "applyJson('[{')": /not a JSON array of readings/,
    "applyJson('not json')": /./,
    "applyJson(array of junk)": /./,
    "applyTyped unknown channel name": /unknown channel `no-such-channel`/,
    "applyTyped lengths differ": /same length/,
    "applyTyped channels an object": /channels must be a Uint16Array/,
    "applyTyped channel out of range": /out of range/,
    "applyTyped nowMs NaN": /nowMs must be a finite number/,
  };
  for (const [name, re] of Object.entries(must)) {
    const r = out.res[name];
    assert.ok(r.threw && r.isError, `${name}: expected an Error, got ${JSON.stringify(r)}`);
    assert.match(r.message, re, name);
  }
  // Wrong JS types for the typed arrays: an Error naming the argument, never a
  // conversion (a string would have become handle 0, the island).
  for (const name of ["applyTyped handles null", "applyTyped handles a string", "applyTyped values a number"]) {
    const r = out.res[name];
    assert.ok(r.threw && r.isError, `${name}: expected an Error, got ${JSON.stringify(r)}`);
    assert.match(r.message, /(handles|values) must be a (Uint32Array|Float64Array)/, name);
  }
  assert.equal(out.size, 158654);
  assert.deepEqual(out.town, ["CM-TOWN-CHENGQIAO"]);
  assert.ok(out.nearWorks);
  assert.deepEqual(problems.errors, [], "page errors");
});

await test("4b. a twin loads from a URL; a missing URL or bad data is an Error naming it", async () => {
  const { page, problems } = dash;
  const out = await page.evaluate(async () => {
    const Twin = window.twinApp.twin.constructor;
    const t = await Twin.fetchGeoJson("data/planned.geojson");
    const got = {
      size: t.size,
      meters: t.asset("PLAN-BLD-1").sensors,
      town: t.contains(121.3963, 31.62225, "building").map((h) => h.id),
    };
    // A second view, of this small twin: its home frames all three assets, and a
    // pick at the clinic's roof finds the clinic.
    const canvas = document.createElement("canvas");
    canvas.style.width = "240px";
    canvas.style.height = "160px";
    document.body.append(canvas);
    const view = await t.createView(canvas, { backend: "webgl2" });
    const t0 = performance.now();
    while (view.stats().frames === 0 && performance.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 50));
    const at = view.screenPosition("PLAN-BLD-1");
    got.clinicAt = at;
    got.picked = at ? (await view.pick(at[0], at[1]))?.id ?? null : null;
    got.schoolVisible = view.screenPosition("PLAN-BLD-2") !== null;
    view.free();
    canvas.remove();
    t.free();
    const errors = {};
    for (const [name, f] of Object.entries({
      missing: () => Twin.fetchGeoJson("data/no-such.geojson"),
      notGeoJson: () => Twin.fetchGeoJson("pkg/package.json"),
      notSnapshot: () => Twin.fetchSnapshot("data/planned.geojson"),
    })) {
      try {
        await f();
        errors[name] = "no error";
      } catch (e) {
        errors[name] = `${e instanceof Error ? "Error" : typeof e}: ${e.message ?? e}`;
      }
    }
    return { got, errors };
  });
  console.log(`   loaded ${out.got.size} assets; errors: ${JSON.stringify(out.errors)}`);
  assert.equal(out.got.size, 3);
  assert.deepEqual(out.got.meters, ["PLAN-S-1"]);
  assert.deepEqual(out.got.town, ["PLAN-BLD-1"]);
  assert.ok(out.got.clinicAt && out.got.schoolVisible, `home frames the small twin: ${JSON.stringify(out.got)}`);
  assert.equal(out.got.picked, "PLAN-BLD-1");
  assert.match(out.errors.missing, /^Error: fetch data\/no-such\.geojson: HTTP 404/);
  assert.match(out.errors.notGeoJson, /^Error: .*pkg\/package\.json/);
  assert.match(out.errors.notSnapshot, /^Error: data\/planned\.geojson: .*snapshot/);
  assert.deepEqual(problems.errors, [], "page errors");
});

await test("4c. files in the add-data box join the twin; bad features are named", async () => {
  const { page, problems } = dash;
  const dir = mkdtempSync(join(tmpdir(), "twin-data-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // A house 20 × 12 m with a gable roof (eaves 6 m, ridge 9 m), in UTM 51N in Chengqiao
  // (121.397 E, 31.625 N is 347966.08, 3499986.37 by gdaltransform), millimetres.
  const house = join(dir, "model.city.json");
  writeFileSync(house, JSON.stringify({
    type: "CityJSON", version: "2.0",
    transform: { scale: [0.001, 0.001, 0.001], translate: [347966, 3499986, 0] },
    metadata: { referenceSystem: "https://www.opengis.net/def/crs/EPSG/0/32651" },
    CityObjects: { "HOUSE-1": { type: "Building", attributes: { name_en: "test house" }, geometry: [{
      type: "Solid", lod: "2.2",
      boundaries: [[[[0, 3, 2, 1]], [[0, 1, 5, 4]], [[1, 2, 6, 9, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 8, 7]],
        [[4, 5, 9, 8]], [[6, 7, 8, 9]]]],
      semantics: { surfaces: [{ type: "GroundSurface" }, { type: "WallSurface" }, { type: "RoofSurface" }],
        values: [[0, 1, 1, 1, 1, 2, 2]] },
    }] } },
    vertices: [[0, 0, 0], [20000, 0, 0], [20000, 12000, 0], [0, 12000, 0], [0, 0, 6000], [20000, 0, 6000],
      [20000, 12000, 6000], [0, 12000, 6000], [0, 6000, 9000], [20000, 6000, 9000]],
  }));
  const log = () => page.locator("[data-testid=data-log]").textContent();
  const size0 = await page.evaluate(() => window.twinApp.twin.size);
  await page.locator("[data-testid=data-file]").setInputFiles(house);
  await until(async () => (await log()).includes("model.city.json: 1 asset added"), { timeout: 10000, what: "the house's log line" });
  const got = await page.evaluate(() => {
    const { twin } = window.twinApp;
    const a = twin.asset("HOUSE-1");
    return { size: twin.size, kind: a.kind, type: a.properties.cityjson_type, name: a.name, selected: window.twinApp.selected };
  });
  assert.deepEqual(got, { size: size0 + 1, kind: "building", type: "Building", name: "test house", selected: "HOUSE-1" });
  // Flown to and drawn: its roof is on the canvas where the view says it is.
  await frames(page, 30);
  const at = await page.evaluate(() => window.twinApp.view.screenPosition("HOUSE-1"));
  assert.ok(at, "the house is on screen");
  // Selected, it is tinted cyan; around it is the island's land, not the background.
  const img = await canvasPixels(page, "4c-house");
  const roof = patch(img, at[0], at[1]);
  assert.ok(roof[1] > roof[0] + 40 && roof[2] > roof[0] + 40, `the house is drawn, selected (cyan): rgb(${roof})`);
  const land = patch(img, at[0] + 120, at[1]);
  assert.ok(land.some((c, i) => Math.abs(c - BACKGROUND[i]) > 30), `land around the house: rgb(${land})`);

  // A GeoJSON with a point beyond ±180°: refused whole, naming the file and the feature.
  const pins = join(dir, "pins.geojson");
  writeFileSync(pins, JSON.stringify({ type: "FeatureCollection", features: [
    { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [121.40, 31.62] } },
    { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [999, 31.62] } },
  ] }));
  await page.locator("#data-id").fill("auto");
  await page.locator("#data-kind").fill("custom:pin");
  await page.locator("[data-testid=data-file]").setInputFiles(pins);
  await until(async () => (await log()).includes("pins.geojson: pins.geojson: feature 1"), { timeout: 10000, what: "the refusal" });
  assert.equal(await page.evaluate(() => window.twinApp.twin.size), size0 + 1);
  // Keeping the good features: one added, the bad one listed.
  await page.locator("#data-lenient").check();
  await page.locator("[data-testid=data-file]").setInputFiles(pins);
  await until(async () => (await log()).includes("pins.geojson: 1 asset added, 1 feature refused"), { timeout: 10000, what: "the lenient load" });
  const first = await page.locator("[data-testid=data-log] > li").first().textContent();
  assert.match(first, /refused: feature 1 \(pins:1\): coordinate 0 \(999, 31\.62\) is outside the range/);
  assert.equal(await page.evaluate(() => window.twinApp.twin.asset("pins:0").kind), "custom:pin");
  await page.locator("#data-lenient").uncheck();
  await page.locator("#data-id").fill("");
  await page.locator("#data-kind").fill("");
  assert.deepEqual(problems.errors, [], "page errors");
  return `house at ${at.map(Math.round)}: rgb(${roof})`;
});

await test("5. measured: first frame, backend, in-page ingest (JSON Lines, JSON array, typed arrays)", async () => {
  const { page } = dash;
  const r = await page.evaluate(async () => {
    const { twin } = window.twinApp;
    const channels = twin.channels();
    const decode = (ch, v) => (ch.type === "bool" ? v !== 0 : ch.type === "enum" ? ch.states[v] : v);
    // About 200,000 readings of the simulator's shape: two simulated seconds each.
    const batch = (from) => twin.simulateSamples(from, from + 2000);
    const asJson = (s) => {
      const lines = new Array(s.handles.length);
      const ids = new Map();
      for (let i = 0; i < s.handles.length; i++) {
        const h = s.handles[i];
        let id = ids.get(h);
        if (id === undefined) ids.set(h, (id = twin.idOf(h)));
        const ch = channels[s.channels[i]];
        lines[i] = JSON.stringify({ id, channel: ch.name, ts: s.timestamps[i], value: decode(ch, s.values[i]) });
      }
      return lines;
    };
    const time = (f) => {
      const t = performance.now();
      const out = f();
      return [performance.now() - t, out];
    };
    // Three rounds, each on fresh simulated seconds (a repeat would be a duplicate);
    // the median round is reported.
    let t = Math.ceil(twin.now / 1000) * 1000 + 1000;
    const runs = { simulateSamples: [], typed: [], jsonLines: [], jsonArray: [] };
    for (let round = 0; round < 3; round++) {
      const [simMs, typed] = time(() => batch(t));
      runs.simulateSamples.push({ n: typed.handles.length, ms: simMs });
      const [typedMs, typedRep] = time(() => twin.applyTyped(typed.handles, typed.channels, typed.values, typed.timestamps, t + 2000));
      runs.typed.push({ n: typed.handles.length, ms: typedMs, applied: typedRep.applied });
      t += 2000;
      const lines = asJson(batch(t));
      const text = lines.join("\n");
      const [linesMs, linesRep] = time(() => twin.applyJson(text, t + 2000));
      runs.jsonLines.push({ n: lines.length, ms: linesMs, applied: linesRep.applied, bytes: text.length });
      t += 2000;
      const arrLines = asJson(batch(t));
      const arr = `[${arrLines.join(",")}]`;
      const [arrMs, arrRep] = time(() => twin.applyJson(arr, t + 2000));
      runs.jsonArray.push({ n: arrLines.length, ms: arrMs, applied: arrRep.applied, bytes: arr.length });
      t += 2000;
    }
    const out = {};
    for (const [k, xs] of Object.entries(runs)) {
      const sorted = [...xs].sort((a, b) => a.ms - b.ms);
      out[k] = { ...sorted[1], msAll: xs.map((x) => Math.round(x.ms * 10) / 10) };
    }
    // Reading the state back: the vital-signs table.
    out.vitalSigns = { n: 1, ms: time(() => twin.vitalSigns())[0] };
    return out;
  });
  const rate = (x) => (x.n / x.ms) * 1000;
  bench.ingest = r;
  bench.typedPerSecond = rate(r.typed);
  bench.jsonLinesPerSecond = rate(r.jsonLines);
  bench.jsonArrayPerSecond = rate(r.jsonArray);
  const row = (name, x, unit = "readings") => console.log(
    `   ${name.padEnd(28)} ${String(x.n).padStart(8)} ${unit.padEnd(9)} ${x.ms.toFixed(1).padStart(8)} ms  ${x.n > 1 ? `${(rate(x) / 1e6).toFixed(2).padStart(6)} M/s` : "          "}${x.msAll ? `  (rounds: ${x.msAll.join(", ")} ms)` : ""}`);
  console.log(`   ${"time to first frame".padEnd(28)} ${(stats.firstFrameMs ?? NaN).toFixed(0)} ms after navigation start (${stats.backend}; wasm init ${stats.wasmInitMs.toFixed(0)} ms, Twin.bundled() ${stats.islandLoadMs.toFixed(0)} ms)`);
  row("simulateSamples (2 s)", r.simulateSamples, "samples");
  row("applyTyped", r.typed);
  row("applyJson (JSON Lines)", r.jsonLines);
  row("applyJson (JSON array)", r.jsonArray);
  row("vitalSigns()", r.vitalSigns, "call");
  for (const k of ["typed", "jsonLines", "jsonArray"]) assert.ok(r[k].applied > 100000, `${k}: ${JSON.stringify(r[k])}`);
  const file = join(process.env.TMPDIR ?? tmpdir(), "twin-web-bench.json");
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), chromium: browser.version(), ...bench }, null, 2) + "\n");
  return `typed ${(bench.typedPerSecond / 1e6).toFixed(2)} M/s, JSON Lines ${(bench.jsonLinesPerSecond / 1e6).toFixed(2)} M/s; written to ${file}`;
});

// ---------------------------------------------------------------- 6. MQTT over WebSocket

async function mqttTest() {
  if (spawnSync("mosquitto", ["-h"]).error) return "skipped: no mosquitto on PATH (apt-get install mosquitto)";
  const [tcp, ws] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "twin-mqtt-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "mosquitto.conf"), [
    `listener ${tcp} 127.0.0.1`, `listener ${ws} 127.0.0.1`, "protocol websockets", "allow_anonymous true", "",
  ].join("\n"));
  let broker = null;
  cleanups.push(() => broker?.kill());
  /** Starts mosquitto on the two ports: "up", or why not. */
  const startBroker = async () => {
    broker = spawn("mosquitto", ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    broker.stdout.on("data", (d) => (log += d));
    broker.stderr.on("data", (d) => (log += d));
    const up = await until(() => (log.includes("running") ? "up" : broker.exitCode !== null ? "exited" : null),
      { timeout: 10000, what: "mosquitto" });
    if (up !== "up" || /websockets support not available|Websockets support is not/i.test(log)) {
      return `mosquitto has no websockets listener (${log.trim().split("\n").at(-1)})`;
    }
    return "up";
  };
  const up = await startBroker();
  if (up !== "up") return `skipped: ${up}`;
  const pub = (topic, message, ...more) => {
    const r = spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(tcp), "-t", topic, "-m", message, ...more]);
    assert.equal(r.status, 0, `mosquitto_pub: ${r.stderr}`);
  };
  const { page, problems } = await openDashboard(ctx, `?mqtt=ws://127.0.0.1:${ws}`);
  cleanups.push(() => page.close());
  await ready(page);
  const feedState = () => page.evaluate(() => window.twinApp.feed.state);
  await until(async () => (await feedState()) === "connected", { timeout: 15000, what: "the MQTT feed to connect" });
  // The client is MQTT.js, from /vendor/ (node_modules, not the repository).
  assert.ok(problems.requests.includes("/vendor/mqtt.esm.js"), `requests: ${problems.requests.join(" ")}`);
  const { id, town } = await page.evaluate(([lon, lat]) => {
    const { twin } = window.twinApp;
    const g = twin.near(lon, lat, 3000, "sensor:water_level")[0];
    return { id: g.id, town: g.town };
  }, CHENGQIAO);
  const ts = Date.now();
  const topic = `twin/${town}/water_level/${id}`;
  pub(topic, JSON.stringify({ ts, level: 2.345 }));
  // A malformed message is counted and does not stop the feed.
  pub(topic, "{oops");
  pub(topic, JSON.stringify({ ts: ts + 1000, level: 2.5 }));
  const latest = await until(() => page.evaluate((id) => {
    const v = window.twinApp.twin.asset(id).latest.level;
    return v && v.value === 2.5 ? v : null;
  }, id), { timeout: 10000, what: `${id} level 2.5 from MQTT` });
  assert.equal(latest.ts, ts + 1000);
  assert.equal(await page.evaluate(([id, t]) => window.twinApp.twin.valueAt(id, "level", t)?.value, [id, ts + 500]), 2.345);
  const feed = await page.evaluate(() => window.twinApp.feed.status());
  assert.equal(feed.messages, 3);
  assert.equal(feed.bad, 1);
  assert.match(feed.lastError, /oops|JSON/);
  assert.match(await page.locator("[data-testid=feed-status]").textContent(), /MQTT connected/);
  // The page shows it: the gauge in the inspector with its level.
  await page.evaluate((id) => window.twinApp.select(id), id);
  const shown = await until(async () => {
    if ((await page.locator("[data-testid=inspector-id]").textContent()) !== id) return null;
    const row = page.locator(".inspector table.latest tr", { hasText: "level" }).first();
    return (await row.count()) ? (await row.locator("td.num").textContent()) : null;
  }, { timeout: 10000, what: `${id}'s level in the inspector` });
  assert.match(shown, /^2\.50\b/, `inspector shows ${shown}`);
  // Throughput, measured: a burst of messages for one gauge, one per line of stdin.
  const N = 20000;
  const lines = Array.from({ length: N }, (_, i) => JSON.stringify({ ts: ts + 2000 + i * 10, level: 2 + (i % 100) / 100 })).join("\n") + "\n";
  const before = feed.messages;
  const t0 = Date.now();
  const burst = spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(tcp), "-t", topic, "-l", "-q", "1"], { input: lines });
  assert.equal(burst.status, 0, `mosquitto_pub -l: ${burst.stderr}`);
  let last = 0, same = 0;
  const got = await until(async () => {
    const n = await page.evaluate(() => window.twinApp.feed.status().messages);
    same = n === last ? same + 1 : 0;
    last = n;
    return n - before >= N || same >= 10 ? n - before : 0;
  }, { timeout: 60000, every: 200, what: "the burst" });
  const secs = (Date.now() - t0) / 1000;
  bench.mqtt = { client: "MQTT.js", clientLoadMs: feed.clientLoadMs, messages: N, received: got, seconds: secs, perSecond: got / secs };
  console.log(`   MQTT.js loaded (import of /vendor/mqtt.esm.js) in ${feed.clientLoadMs.toFixed(0)} ms`);
  console.log(`   burst: ${got} of ${N} messages reached the page in ${secs.toFixed(1)} s (${Math.round(got / secs)} messages/s, broker and page on this machine)`);
  assert.equal(got, N, "messages lost in the burst");
  // The broker goes away and comes back on the same ports: the feed says so, reconnects,
  // subscribes again and takes messages.
  broker.kill();
  await until(async () => (await feedState()) !== "connected", { timeout: 10000, what: "the feed to notice the broker is gone" });
  const down = await feedState();
  assert.equal(await startBroker(), "up");
  await until(async () => (await feedState()) === "connected", { timeout: 20000, what: "the MQTT feed to reconnect" });
  pub(topic, JSON.stringify({ ts: ts + 600000, level: 3.25 }));
  await until(() => page.evaluate((id) => window.twinApp.twin.asset(id).latest.level?.value === 3.25, id),
    { timeout: 10000, what: `${id} level 3.25 after the reconnection` });
  assert.deepEqual(problems.csp, []);
  assert.deepEqual(problems.errors, []);
  return `${topic} → ${id} level ${latest.value} (3 messages, 1 malformed counted; inspector ${shown}); ` +
    `reconnected after the broker restarted (state while down: ${down})`;
}
if (opts.mqtt) await test("6. MQTT over WebSocket (mosquitto) reaches the twin", mqttTest);

// ---------------------------------------------------------------- 9. a served twin

if (opts.served) {
  await test("9. the dashboard on a served twin (twin serve fed by mosquitto)", () => servedTest({
    repo: REPO, ctx, openDashboard, ready, until, freePort, cleanups, canvasPixels, patch, frames, settle,
    nonBackground, CHENGQIAO,
  }));
}

// ---------------------------------------------------------------- 7. WebGPU

if (opts.webgpu) {
  await test("7. WebGPU backend (SwiftShader; informational)", async () => {
    const gpu = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...WEBGPU_FLAGS], headless: true });
    cleanups.push(() => gpu.close());
    const c = await gpu.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const { page, problems } = await openDashboard(c, "?backend=auto&speed=0");
    const hasGpu = await page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())));
    const s = await ready(page);
    await frames(page);
    const share = nonBackground(await canvasPixels(page, "7-webgpu"));
    bench.webgpu = { adapter: hasGpu, backend: s.backend, firstFrameMs: s.firstFrameMs, canvasNonBackground: share, viewError: s.viewError };
    console.log(`   navigator.gpu adapter: ${hasGpu}; backend ${s.backend}; first frame ${s.firstFrameMs?.toFixed(0)} ms; ${(100 * share).toFixed(1)}% non-background`);
    assert.equal(s.viewError, null);
    assert.ok(share > 0.05, "the island is not drawn");
    assert.deepEqual(problems.csp, []);
    if (hasGpu) assert.equal(s.backend, "webgpu", "auto should pick WebGPU when there is an adapter");
    return `${s.backend}, first frame at ${s.firstFrameMs?.toFixed(0)} ms`;
  });
}

// ---------------------------------------------------------------- the picture

if (opts.screenshot) {
  await test(`8. screenshot → ${opts.screenshot}`, async () => {
    const c = await browser.newContext({ viewport: { width: 1600, height: 1050 }, deviceScaleFactor: 1 });
    const { page } = await openDashboard(c, "?speed=60&start=1763700000000");
    await ready(page);
    // Until the incidents have raised alerts (simulated 04:45–04:55Z), then a building.
    await until(() => page.evaluate(() => window.twinApp.twin.openAlerts().length > 20), { timeout: 240000, every: 1000, what: "open alerts" });
    await page.selectOption("#speed", "1");
    // The town with the alerts, tilted, and its first alerting gauge in the inspector.
    const id = await page.evaluate(() => {
      const { twin, view, select } = window.twinApp;
      const a = twin.openAlerts().find((x) => x.rule === "water-level-high");
      select(a.asset);
      view.flyTo(a.town);
      view.setOrientation(15, 50);
      return a.asset;
    });
    await settle(page, id);
    await sleep(2500);
    await page.screenshot({ path: opts.screenshot });
    await c.close();
    return id;
  });
}

// ---------------------------------------------------------------- summary

for (const f of cleanups.reverse()) {
  try { await f(); } catch { /* already gone */ }
}
const failed = results.filter((r) => !r.ok);
console.log(`\nweb tests: ${results.length - failed.length} passed, ${failed.length} failed`);
for (const f of failed) console.log(`  FAILED ${f.name}`);
process.exit(failed.length ? 1 : 0);
