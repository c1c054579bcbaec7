// The dashboard: loads the wasm engine and the bundled island, draws it into the
// canvas (Twin.createView: WebGPU, else WebGL2), feeds it from the simulator in a
// worker (or from MQTT over WebSocket with ?mqtt=ws://HOST:PORT), or shows a served
// twin (?server=http://HOST:PORT: `twin serve`'s live stream, no simulator or ingest in
// the page), and keeps the panels up to date. For tests and the console:
// window.twinApp = {twin, view, ready, stats, feed, select, panels}.
//
// URL parameters: server=http://HOST:PORT (a served twin; the token goes in the
// header's token field, kept in sessionStorage), mqtt=ws://127.0.0.1:PORT (MQTT feed
// instead of the simulator), speed=0|1|10|60, start=UTC ms (simulated start, default
// now), seed=N, backend=auto|webgpu|webgl2.
import init, { Twin } from "./pkg/twin_wasm.js";
import { el, fill, dateTime, count } from "./dom.js";
import { SimFeed, MqttFeed } from "./feed.js";
import { ServedFeed } from "./served.js";
import { VitalsPanel } from "./panels/vitals.js";
import { AlertsPanel } from "./panels/alerts.js";
import { IncidentsPanel } from "./panels/incidents.js";
import { InspectorPanel } from "./panels/inspector.js";
import { LayersPanel } from "./panels/layers.js";
import { ReplayControl } from "./panels/replay.js";
import { DataDrop } from "./drop.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const stats = {
  backend: null,
  /** performance.now() (ms since navigation start) when the island was first drawn. */
  firstFrameMs: null,
  wasmInitMs: null,
  islandLoadMs: null,
  viewError: null,
  fps: 0,
};
let markReady, failReady;
const ready = new Promise((res, rej) => { markReady = res; failReady = rej; });

const app = {
  twin: null,
  view: null,
  feed: null,
  ready,
  stats,
  selected: null,
  towns: new Map(), // region id → name
  select,
  townName: (id) => app.towns.get(id) ?? id,
  error: showError,
};
window.twinApp = app;

let errorTimer;
function showError(message) {
  console.warn(`twin dashboard: ${message}`);
  $("error").textContent = message;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { $("error").textContent = ""; }, 15000);
}

function mapMessage(text) {
  $("map-message").textContent = text ?? "";
  $("map-message").hidden = !text;
}

let panels = {};

/** Selects an asset (or nothing) in the view and the inspector; `fly` moves the camera. */
function select(id, { fly = false } = {}) {
  app.selected = id ?? null;
  try {
    app.view?.select(app.selected);
    if (fly && id) app.view?.flyTo(id);
  } catch (e) {
    showError(e.message);
  }
  if (app.feed?.kind === "served") {
    // The selected asset's values, and its sensors', come from the server.
    let pins = [];
    try { if (id) pins = [id, ...(app.twin.asset(id).sensors ?? []).slice(0, 255)]; } catch { /* unknown id */ }
    app.feed.pin(pins);
  }
  panels.inspector?.show(app.selected);
  panels.alerts?.update();
  panels.vitals?.update();
}

/** The search box: an asset id, a town or island name, or `lon,lat`. */
function search(q) {
  q = q.trim();
  if (!q) return;
  const twin = app.twin;
  for (const id of new Set([q, q.toUpperCase()])) {
    try {
      twin.handleOf(id);
      return select(id, { fly: true });
    } catch { /* not an id */ }
  }
  const ll = q.match(/^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$/);
  if (ll) {
    const hit = twin.knn(Number(ll[1]), Number(ll[2]), 1)[0];
    if (hit) return select(hit.id, { fly: true });
  }
  const lower = q.toLowerCase();
  for (const [region, name] of app.towns) {
    if (name.includes(q) || region.toLowerCase().includes(lower)) return select(region, { fly: true });
  }
  showError(`search: no asset, town or place matches “${q}”`);
}

function showFeed(s) {
  const badge = $("feed-badge");
  const label = s.kind === "mqtt" ? `MQTT ${s.state}` : s.kind === "served" ? `server ${s.state}` : `simulator ${s.state}`;
  badge.textContent = label;
  badge.className = `badge ${s.state}`;
  let detail;
  if (s.kind === "served") {
    detail = s.detail;
    if (s.status) detail += ` · ${count(s.status.samples_per_s)} samples/s on the server · ${count(s.frames)} frames`;
    if (s.lastError && s.lastError !== s.detail && s.state !== "connected") detail += ` · last problem: ${s.lastError}`;
  } else if (s.kind === "mqtt") {
    detail = `${s.detail} · ${count(s.messages)} messages · ${count(s.samplesPerSecond)} readings/s`;
    if (s.lastError) detail += ` · last problem: ${s.lastError}`;
  } else {
    if (s.state === "running") {
      detail = `${s.speed}× (effective ${s.effectiveSpeed.toFixed(1)}×) · ${count(s.samplesPerSecond)} samples/s · ` +
        `ingest ${s.ingestMsPerSecond.toFixed(0)} ms/s · ${count(s.applied)} applied`;
    } else if (s.state === "paused") detail = `${count(s.applied)} samples applied`;
    else detail = s.detail;
  }
  $("feed-detail").textContent = detail;
  const inc = $("incidents");
  if (s.incidents && inc.childElementCount !== s.incidents.length) fill(inc, s.incidents.map((t) => el("li", { text: t })));
}

const TOKEN_KEY = `twin.token ${params.get("server") ?? ""}`;

/** The served twin's feed (after the twin is loaded: its frames need it). */
function startServed(twin) {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? "";
  const form = $("token-form");
  form.hidden = false;
  $("token").value = token;
  const feed = new ServedFeed(twin, {
    server: params.get("server"),
    token,
    onStatus: showFeed,
    onVitals: (rows) => { for (const f of vitalsListeners) f(rows); },
    onEvent: (e) => { for (const f of alertListeners) f(e); },
    onError: showError,
  });
  return feed;
}

const alertListeners = [];
const vitalsListeners = [];

/** Where the alert and vital-signs panels read: the page's twin, or the served twin. */
function wireSources(twin) {
  if (app.feed?.kind === "served") {
    app.alertSource = {
      open: () => app.feed.openAlerts(),
      acknowledge: (id) => app.feed.acknowledge(id),
      onEvent: (f) => alertListeners.push(f),
    };
    app.vitalsSource = (f) => vitalsListeners.push(f);
    app.manageSource = {
      incidents: () => app.feed.incidentList(),
      orders: () => app.feed.orderList(),
      detail: (id) => app.feed.incidentDetail(id),
      at: (t) => app.feed.incidentsAt(t),
      step: (id, action, opts) => app.feed.stepOrder(id, action, opts),
      role: () => app.feed.caller?.role ?? "viewer",
    };
  } else {
    app.alertSource = {
      open: () => twin.openAlerts(),
      acknowledge: async (id) => twin.acknowledge(id),
      onEvent: (f) => twin.onAlert(f),
    };
    app.vitalsSource = (f) => twin.onVitalSigns(f, 1000);
    // The page is one person with every role; steps are recorded as "page".
    app.manageSource = {
      incidents: () => twin.listIncidents(),
      orders: () => twin.listOrders(),
      detail: async (id) => twin.getIncident(id),
      at: async (t) => twin.incidentsAt(t),
      step: async (id, action, opts) => twin.stepOrder(id, action, { by: "page", ...opts }),
      role: () => "admin",
    };
  }
}

function startFeed() {
  if (params.get("server")) {
    $("speed").disabled = true;
    return null; // started once the twin is loaded
  }
  const mqtt = params.get("mqtt");
  if (mqtt) {
    $("speed").disabled = true;
    return new MqttFeed(null, { url: mqtt, onStatus: showFeed });
  }
  const speeds = [...$("speed").options].map((o) => Number(o.value));
  const asked = Number(params.get("speed") ?? 1);
  const speed = speeds.includes(asked) ? asked : 1;
  $("speed").value = String(speed);
  const start = Number(params.get("start"));
  const startMs = params.has("start") && Number.isFinite(start) ? start : Math.floor(Date.now() / 1000) * 1000;
  const feed = new SimFeed(null, {
    startMs,
    speed,
    seed: Number(params.get("seed") ?? 2026),
    onStatus: showFeed,
  });
  $("speed").addEventListener("change", () => feed.setSpeed(Number($("speed").value)));
  return feed;
}

async function startView(twin) {
  const canvas = $("island");
  if (typeof twin.createView !== "function") throw new Error("this engine build has no canvas view (Twin.createView)");
  const backend = params.get("backend") ?? "auto";
  const view = await twin.createView(canvas, { backend });
  app.view = view;
  stats.backend = view.backend;
  view.onPick((hit) => select(hit ? hit.id : null));
  panels.layers.setView(view);
  $("home").addEventListener("click", () => view.home());
  $("tilt").addEventListener("click", () => {
    const { heading, pitch } = view.camera();
    view.setOrientation(heading, pitch > 80 ? 55 : 90);
  });
  $("home").disabled = $("tilt").disabled = false;
  // The first frame: the view draws on its own requestAnimationFrame loop.
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const poll = () => {
      if (view.stats().frames > 0) resolve();
      else if (performance.now() - t0 > 60000) reject(new Error("no frame drawn in 60 s"));
      else requestAnimationFrame(poll);
    };
    poll();
  });
  stats.firstFrameMs = view.stats().firstFrameMs;
}

const frameMarks = []; // [time, frames] over the last five seconds
function everySecond() {
  const twin = app.twin;
  $("clock").textContent = dateTime(twin.now);
  panels.alerts.update();
  panels.incidents.update();
  panels.inspector.refresh();
  if (app.view) {
    const s = app.view.stats();
    const t = performance.now();
    frameMarks.push([t, s.frames]);
    if (frameMarks.length > 6) frameMarks.shift();
    const [t0, f0] = frameMarks[0];
    stats.fps = t > t0 ? ((s.frames - f0) * 1000) / (t - t0) : 0;
    $("view-info").textContent = `${stats.backend} · ${s.width}×${s.height} · ${stats.fps.toFixed(1)} frames/s (drawn on change) · ${s.drawCalls} draws`;
  }
}

async function boot() {
  let t = performance.now();
  await init();
  stats.wasmInitMs = performance.now() - t;
  // The worker loads its own twin meanwhile, on the other core.
  app.feed = startFeed();
  mapMessage("loading the island (158,654 assets)…");
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); // let the message paint
  t = performance.now();
  const twin = Twin.bundled();
  stats.islandLoadMs = performance.now() - t;
  app.twin = twin;
  if (app.feed) app.feed.twin = twin;
  else {
    try {
      app.feed = startServed(twin);
    } catch (e) {
      showError(e.message);
    }
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value);
      app.feed?.stop();
      app.feed = startServed(twin);
    });
  }
  wireSources(twin);
  $("attribution").textContent = Twin.attribution();
  for (const r of twin.vitalSigns()) app.towns.set(r.region, r.name);

  panels.layers = new LayersPanel($("layers"), app);
  panels.inspector = new InspectorPanel($("inspector"), app);
  panels.alerts = new AlertsPanel($("alerts"), app);
  panels.incidents = new IncidentsPanel($("incidents-panel"), app, $("footprint"));
  panels.vitals = new VitalsPanel($("vitals"), app);
  panels.replay = new ReplayControl($("replay"), app);
  app.panels = panels;
  // A served twin's assets are the server's: files are added to the page's own twin only.
  if (params.has("server")) $("data-panel").hidden = true;
  else app.drop = new DataDrop(app, { select, showError });
  $("vitals-note").textContent = `${count(twin.size)} assets`;
  $("search").addEventListener("keydown", (e) => e.key === "Enter" && search(e.target.value));
  $("search-go").addEventListener("click", () => search($("search").value));
  everySecond();
  setInterval(everySecond, 1000);

  mapMessage("starting the renderer…");
  try {
    await startView(twin);
    mapMessage(null);
  } catch (e) {
    stats.viewError = e instanceof Error ? e.message : String(e);
    mapMessage(`no island view: ${stats.viewError}`);
    showError(`view: ${stats.viewError}`);
  }
  markReady(app);
}

boot().catch((e) => {
  const message = e instanceof Error ? e.message : String(e);
  mapMessage(`failed to start: ${message}`);
  showError(message);
  failReady(e);
});
