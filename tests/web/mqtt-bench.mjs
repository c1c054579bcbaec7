#!/usr/bin/env node
// Throughput of the dashboard's MQTT feed, for comparing MQTT clients (numbers in
// examples/web/README.md, "The MQTT client"):
//
//   node tests/web/mqtt-bench.mjs [--root DIR] [--pkg DIR] [--n 20000] [--rounds 5]
//
// Serves DIR (an examples/web directory, default this checkout's) with DIR/serve.mjs,
// starts mosquitto with a websockets listener on free ports, opens the page in Debian's
// chromium with ?mqtt=…, then per round publishes N messages for one gauge with
// `mosquitto_pub -l -q 1` and waits until the page has counted them all
// (twinApp.feed.status().messages). Prints per round: messages/s from the start of the
// publish to the last message counted, and the page's main-thread time per message
// (Chrome's TaskDuration and ScriptDuration over the round, so a busy machine slows the
// rate more than this). The first round is a warm-up and is left out of the medians.
// To measure another client, check out its commit elsewhere and pass its examples/web:
//   git worktree add --detach /tmp/twin-3da69a4 3da69a4   # the hand-written mqtt.js
//   node tests/web/mqtt-bench.mjs --root /tmp/twin-3da69a4/examples/web --pkg web/pkg
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const opts = { root: join(REPO, "examples/web"), pkg: null, n: 20000, rounds: 5 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--root") opts.root = resolve(process.argv[++i]);
  else if (a === "--pkg") opts.pkg = resolve(process.argv[++i]);
  else if (a === "--n") opts.n = Number(process.argv[++i]);
  else if (a === "--rounds") opts.rounds = Number(process.argv[++i]);
  else {
    console.error("usage: node tests/web/mqtt-bench.mjs [--root DIR] [--pkg DIR] [--n 20000] [--rounds 5]");
    process.exit(2);
  }
}
opts.pkg ??= [join(opts.root, "pkg"), join(REPO, "web/pkg")].find((d) => existsSync(join(d, "twin_wasm.js")));
assert.ok(opts.pkg, "no wasm package: scripts/build-web");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, timeout, what) {
  const t = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
const freePort = () => new Promise((res, rej) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => res(port)); });
  s.on("error", rej);
});
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const stops = [];
try {
  const server = spawn(process.execPath, [join(opts.root, "serve.mjs"), "--port", "0", "--pkg", opts.pkg], { stdio: ["ignore", "pipe", "inherit"] });
  stops.push(() => server.kill());
  const base = await new Promise((res, rej) => {
    let out = "";
    server.stdout.on("data", (d) => { out += d; const m = out.match(/^serving (\S+)\n/); if (m) res(m[1]); });
    server.on("exit", (c) => rej(new Error(`serve.mjs exited (${c})`)));
  });

  const [tcp, ws] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "twin-mqtt-bench-"));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "m.conf"), `listener ${tcp} 127.0.0.1\nlistener ${ws} 127.0.0.1\nprotocol websockets\nallow_anonymous true\n`);
  const broker = spawn("mosquitto", ["-c", join(dir, "m.conf")], { stdio: "ignore" });
  stops.push(() => broker.kill());

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--enable-webgl",
      "--ignore-gpu-blocklist", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run", "--disable-quic"],
  });
  stops.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${base}?mqtt=ws://127.0.0.1:${ws}`);
  await page.evaluate(() => window.twinApp.ready);
  await until(() => page.evaluate(() => window.twinApp.feed.state === "connected"), 20000, "the MQTT feed");
  const { id, town } = await page.evaluate(() => {
    const g = window.twinApp.twin.near(121.397, 31.623, 3000, "sensor:water_level")[0];
    return { id: g.id, town: g.town };
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const messages = () => page.evaluate(() => window.twinApp.feed.status().messages);

  console.log(`MQTT bench: ${opts.root} (chromium ${browser.version()}), ${opts.n} messages × ${opts.rounds} rounds + warm-up`);
  let ts = Date.now();
  const rows = [];
  for (let round = 0; round <= opts.rounds; round++) {
    const lines = Array.from({ length: opts.n }, (_, i) => JSON.stringify({ ts: ts + i * 10, level: 2 + (i % 100) / 100 })).join("\n") + "\n";
    ts += opts.n * 10 + 1000;
    const before = await messages();
    const m0 = await metrics();
    const t0 = Date.now();
    const pub = spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(tcp), "-t", `twin/${town}/water_level/${id}`, "-l", "-q", "1"], { input: lines });
    assert.equal(pub.status, 0, String(pub.stderr));
    let got = 0, last = -1, same = 0;
    while (got < opts.n && same < 20) {
      await sleep(50);
      got = (await messages()) - before;
      same = got === last ? same + 1 : 0;
      last = got;
    }
    const secs = (Date.now() - t0) / 1000;
    const m1 = await metrics();
    const row = {
      round, got, secs, perSecond: got / secs,
      taskUsPerMsg: ((m1.TaskDuration - m0.TaskDuration) * 1e6) / got,
      scriptUsPerMsg: ((m1.ScriptDuration - m0.ScriptDuration) * 1e6) / got,
    };
    console.log(`  ${round === 0 ? "warm-up" : `round ${round}`}: ${got}/${opts.n} in ${secs.toFixed(2)} s = ${Math.round(row.perSecond)} msg/s; ` +
      `main thread ${row.taskUsPerMsg.toFixed(1)} µs/msg (script ${row.scriptUsPerMsg.toFixed(1)} µs/msg); JS heap ${(m1.JSHeapUsedSize / 2 ** 20).toFixed(0)} MiB`);
    if (round > 0) rows.push(row);
    await sleep(1500); // the last batch applied, the clock ticked
  }
  const med = (k) => median(rows.map((r) => r[k]));
  console.log(`median: ${Math.round(med("perSecond"))} msg/s, main thread ${med("taskUsPerMsg").toFixed(1)} µs/msg, script ${med("scriptUsPerMsg").toFixed(1)} µs/msg`);
} finally {
  for (const f of stops.reverse()) { try { await f(); } catch { /* gone */ } }
}
