// Test 9: the dashboard on a served twin (?server=URL). A real `twin serve` (the built
// binary) fed by a real mosquitto, readings published with mosquitto_pub, the page in
// chromium: the island draws from the stream, a reading turns its building red on the
// canvas, an alert appears, a viewer's acknowledgement is refused with the server's
// message and an operator's goes through, and the page reconnects after the server
// restarts.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const VIEWER = "web-viewer-token-0123456789abcdef";
const OPERATOR = "web-operator-token-0123456789abcdef";

/** The built `twin` binary: $TWIN_BIN, else target/debug/twin or target/release/twin. */
function twinBinary(repo) {
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, "target");
  const found = [process.env.TWIN_BIN, join(target, "debug", "twin"), join(target, "release", "twin")]
    .find((p) => p && existsSync(p));
  if (!found) throw new Error("no twin binary: cargo build -p twin-cli (or set TWIN_BIN)");
  return found;
}

export async function servedTest(h) {
  const { repo, ctx, openDashboard, ready, until, freePort, cleanups, canvasPixels, patch, frames, settle, nonBackground, CHENGQIAO } = h;
  const twin = twinBinary(repo);
  if (spawnSync("mosquitto", ["-h"]).error) throw new Error("no mosquitto on PATH (apt-get install mosquitto)");
  const dir = mkdtempSync(join(tmpdir(), "twin-served-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  // The broker.
  const tcp = await freePort();
  writeFileSync(join(dir, "mosquitto.conf"), `listener ${tcp} 127.0.0.1\nallow_anonymous true\n`);
  const broker = spawn("mosquitto", ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  cleanups.push(() => broker.kill());
  let blog = "";
  broker.stdout.on("data", (d) => (blog += d));
  broker.stderr.on("data", (d) => (blog += d));
  await until(() => blog.includes("running"), { timeout: 10000, what: "mosquitto" });
  const pub = (topic, message) => {
    const r = spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(tcp), "-q", "1", "-t", topic, "-m", message]);
    assert.equal(r.status, 0, `mosquitto_pub: ${r.stderr}`);
  };

  // The server: the bundled island (the page's), telemetry from the broker, tokens.
  writeFileSync(join(dir, "tokens"), `${VIEWER} viewer wall\n${OPERATOR} operator duty\n`);
  const port = await freePort();
  let server = null;
  let slog = "";
  const startServer = async () => {
    slog = "";
    server = spawn(twin, ["serve", "--listen", `127.0.0.1:${port}`, "--tokens", join(dir, "tokens"),
      "--mqtt", `mqtt://127.0.0.1:${tcp}`, "--mqtt-connections", "1", "--mqtt-client-id", `web-test-${port}`],
    { stdio: ["ignore", "pipe", "pipe"] });
    server.stdout.on("data", (d) => (slog += d));
    server.stderr.on("data", (d) => (slog += d));
    await until(() => (slog.includes("listening on") ? true : server.exitCode !== null ? "exited" : null),
      { timeout: 120000, what: "twin serve to listen" });
    assert.ok(slog.includes("listening on"), `twin serve did not start:\n${slog}`);
  };
  cleanups.push(() => server?.kill());
  await startServer();

  const { page, problems } = await openDashboard(ctx, `?server=http://127.0.0.1:${port}`);
  cleanups.push(() => page.close());
  await ready(page);
  const feed = () => page.evaluate(() => {
    const f = window.twinApp.feed;
    return { state: f.state, role: f.caller?.role, connects: f.connects, snapshots: f.snapshots, frames: f.frames, detail: f.detail };
  });
  // No token yet: refused, and the page says so.
  await until(async () => (await feed()).state === "reconnecting", { timeout: 10000, what: "a refused connection" });
  assert.match(await page.locator("[data-testid=feed-status]").textContent(), /server reconnecting[\s\S]*token/);

  // A viewer's token from the field.
  const login = async (token, role) => {
    await page.fill("[data-testid=token]", token);
    await page.press("[data-testid=token]", "Enter");
    await until(async () => { const f = await feed(); return f.state === "connected" && f.role === role; },
      { timeout: 20000, what: `connected as ${role}` });
  };
  await login(VIEWER, "viewer");
  assert.equal(await page.evaluate(() => sessionStorage.length), 1, "the token is kept for the tab");
  assert.ok(!page.url().includes(VIEWER), "never in the URL");
  await frames(page, 4);
  const drawn = nonBackground(await canvasPixels(page, "9-served"));
  assert.ok(drawn > 0.05, `the island is not drawn (${(100 * drawn).toFixed(1)}%)`);

  // A building with an energy meter, in view, markers hidden.
  await page.locator("details.layers summary").click();
  await page.locator('input[data-layer="markers"]').uncheck();
  const { building, meter, town } = await page.evaluate(([lon, lat]) => {
    const { twin } = window.twinApp;
    for (const hit of twin.knn(lon, lat, 50, "building")) {
      const a = twin.asset(hit.id);
      const m = a.sensors.find((s) => twin.asset(s).kind === "sensor:building_energy");
      if (m) return { building: hit.id, meter: m, town: twin.asset(m).town };
    }
    return {};
  }, CHENGQIAO);
  assert.ok(building, "no building with an energy meter near Chengqiao");
  await page.evaluate((id) => window.twinApp.view.flyTo(id), building);
  await settle(page, building);
  const roof = async (tag) => {
    const [x, y] = await page.evaluate((id) => window.twinApp.view.screenPosition(id), building);
    return patch(await canvasPixels(page, `9-${tag}-${Date.now()}`), x, y);
  };
  const before = await roof("before");
  pub(`twin/${town}/building_energy/${meter}`, JSON.stringify({ ts: Date.now(), energy: 60 }));
  const reddish = ([r, g, b]) => r > 150 && r - g > 80 && r - b > 80;
  const hot = await until(async () => { const c = await roof("hot"); return reddish(c) ? c : null; },
    { timeout: 15000, every: 500, what: `${building} red on the canvas` });

  // A charger fault raises an alert at once; the viewer sees it and may not acknowledge.
  const charger = await page.evaluate(([lon, lat]) => {
    const { twin } = window.twinApp;
    const c = twin.knn(lon, lat, 1, "sensor:charger_power")[0];
    return { id: c.id, town: twin.asset(c.id).town };
  }, CHENGQIAO);
  pub(`twin/${charger.town}/charger_power/${charger.id}`, JSON.stringify({ ts: Date.now(), charger: "fault" }));
  const item = page.locator(`[data-testid=open-alerts] li[data-asset="${charger.id}"]`);
  await item.first().waitFor({ timeout: 15000 });
  await item.first().locator("button.ack").click();
  await until(async () => /operator/.test(await page.locator("#error").textContent()),
    { timeout: 5000, what: "the server's refusal shown" });
  const refused = await page.locator("#error").textContent();

  // The operator acknowledges it.
  await login(OPERATOR, "operator");
  await item.first().waitFor({ timeout: 15000 });
  await item.first().locator("button.ack").click();
  await until(() => page.evaluate((id) => window.twinApp.feed.openAlerts().find((a) => a.asset === id)?.state === "acknowledged", charger.id),
    { timeout: 10000, what: "the alert acknowledged on the server" });

  // The fault is an incident whose order the server dispatched to the charging operator:
  // the operator accepts it from the incidents panel; a supervisor's steps are not offered.
  const row = page.locator("[data-testid=incidents] li.incident").first();
  await row.waitFor({ timeout: 15000 });
  await row.click();
  await page.locator("[data-step=accept]").waitFor({ timeout: 10000 });
  assert.equal(await page.locator("[data-step=verify]").count(), 0, "verify is an admin's step");
  await page.click("[data-step=accept]");
  await until(async () => /accepted/.test(await row.locator("[data-testid=order-state]").textContent()),
    { timeout: 10000, what: "the order accepted on the server" });
  assert.match(await page.locator("[data-testid=order-history]").textContent(), /accept by duty: dispatched → accepted/);

  // The server restarts: the page reconnects with a fresh snapshot.
  const { connects } = await feed();
  server.kill("SIGINT");
  await until(async () => (await feed()).state === "reconnecting", { timeout: 15000, what: "the page to notice" });
  await startServer();
  await until(async () => { const f = await feed(); return f.state === "connected" && f.connects > connects ? f : null; },
    { timeout: 60000, every: 500, what: "the page to reconnect" });

  assert.deepEqual(problems.csp, [], `CSP violations: ${problems.csp.join("; ")}`);
  assert.deepEqual(problems.errors, [], `page errors: ${problems.errors.join("; ")}`);
  return `roof rgb(${before}) → rgb(${hot}) after mosquitto_pub; viewer refused (“${refused.trim()}”), operator acknowledged and accepted its order; reconnected after a restart`;
}
