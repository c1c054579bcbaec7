// The telemetry feeds of the page: the seeded simulator in a Web Worker, or an MQTT
// broker over WebSocket. Each applies what it gets to the page's twin and reports its
// state ({kind, state, detail, rate, ...}) through `onStatus`.

/**
 * MQTT.js's browser build (npm `mqtt`, dist/mqtt.esm.js), which serve.mjs serves from
 * node_modules. It is imported only when the page takes MQTT (342 KB, 105 KB gzipped),
 * so the simulator page neither loads it nor needs it installed.
 */
export const MQTT_MODULE = "./vendor/mqtt.esm.js";

const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Per-second rate of a counter over the last five seconds. */
class Rate {
  constructor() { this.marks = []; this.since = null; }
  add(n) {
    const t = performance.now();
    this.since ??= t;
    this.marks.push([t, n]);
    this.prune(t);
  }
  prune(t) {
    while (this.marks.length && t - this.marks[0][0] > 5000) this.marks.shift();
  }
  perSecond() {
    const t = performance.now();
    this.prune(t);
    if (this.since === null || t - this.since < 500) return 0;
    const span = Math.min(5000, t - this.since) / 1000;
    return this.marks.reduce((s, [, n]) => s + n, 0) / span;
  }
}

/**
 * The simulator feed. The worker simulates the next interval of simulated time when
 * asked (never more than `speed` simulated seconds per real second); its samples come
 * back one simulated second per message and are applied with `applyTyped`, one
 * message per task so that frames are drawn in between. When the page cannot keep up
 * the simulation slows down (the status shows the effective speed) instead of queueing
 * without bound.
 */
export class SimFeed {
  /** `twin` may be set later (the worker starts loading meanwhile). */
  constructor(twin, { startMs, speed = 1, seed = 2026, onStatus }) {
    this.twin = twin;
    this.kind = "simulator";
    this.speed = speed;
    this.onStatus = onStatus;
    this.simMs = startMs; // end of what was asked of the worker
    this.appliedMs = startMs; // end of what was applied
    this.targetMs = startMs; // where simulated time should be by now
    this.queue = [];
    this.busy = false;
    this.ready = false;
    this.applied = 0;
    this.refused = 0;
    this.rate = new Rate();
    this.simRate = new Rate();
    this.ingestRate = new Rate(); // ms of applyTyped per real second
    this.state = "starting";
    this.detail = "loading the simulator in a worker";
    this.incidents = [];
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (e) => this.fail(e.message || "the worker failed to load");
    this.worker.postMessage({ type: "start", seed, startMs });
    this.timer = setInterval(() => this.second(), 1000);
    this.report();
  }

  setSpeed(speed) {
    this.speed = speed;
    this.targetMs = Math.max(this.targetMs, this.simMs);
    this.report();
  }

  receive(msg) {
    switch (msg.type) {
      case "ready":
        this.ready = true;
        this.incidents = msg.incidents;
        this.state = "running";
        this.detail = `worker ready in ${(msg.loadMs / 1000).toFixed(1)} s`;
        this.targetMs = this.simMs + 1000; // the first second at once
        this.request();
        break;
      case "samples":
        this.queue.push(msg);
        if (this.queue.length === 1) this.drainSoon();
        break;
      case "done":
        this.busy = false;
        this.request();
        break;
      case "error":
        this.fail(msg.message);
        break;
    }
  }

  fail(message) {
    this.state = "error";
    this.detail = `simulator: ${message}`;
    this.report();
  }

  /** Once a real second: simulated time moves on by `speed` seconds. */
  second() {
    if (this.ready && this.speed > 0 && this.state !== "error") {
      // At most two steps of debt: a page that falls behind slows the simulation.
      this.targetMs = Math.min(this.targetMs + this.speed * 1000, this.simMs + 2 * this.speed * 1000);
      this.request();
    }
    this.report();
  }

  request() {
    if (!this.twin || !this.ready || this.busy || this.queue.length > 0 || this.simMs >= this.targetMs) return;
    const toMs = Math.min(this.targetMs, this.simMs + Math.max(1, this.speed) * 1000);
    this.busy = true;
    this.worker.postMessage({ type: "run", fromMs: this.simMs, toMs });
    this.simMs = toMs;
  }

  drainSoon() {
    setTimeout(() => this.drain(), 0);
  }

  drain() {
    const msg = this.queue.shift();
    if (!msg) return;
    try {
      const t0 = performance.now();
      const r = this.twin.applyTyped(msg.handles, msg.channels, msg.values, msg.timestamps, msg.toMs);
      this.ingestRate.add(performance.now() - t0);
      this.applied += r.applied;
      this.refused += r.rejected;
      this.rate.add(msg.handles.length);
      this.simRate.add(msg.toMs - this.appliedMs);
      this.appliedMs = msg.toMs;
    } catch (e) {
      this.fail(e.message);
    }
    if (this.queue.length) this.drainSoon();
    else this.request();
  }

  status() {
    const eff = this.simRate.perSecond() / 1000;
    return {
      kind: this.kind,
      state: this.speed === 0 && this.state === "running" ? "paused" : this.state,
      detail: this.detail,
      speed: this.speed,
      effectiveSpeed: eff,
      samplesPerSecond: this.rate.perSecond(),
      ingestMsPerSecond: this.ingestRate.perSecond(),
      applied: this.applied,
      refused: this.refused,
      incidents: this.incidents,
    };
  }

  report() {
    this.onStatus(this.status());
  }

  stop() {
    clearInterval(this.timer);
    this.worker.terminate();
  }
}

/**
 * The readings of one telemetry message (`twin publish`): topic
 * `twin/<town>/<kind>/<asset-id>` (levels %XX-escaped) and a JSON payload, either
 * compact `{"ts", "quality"?, <channel>: value, ...}` or one reading
 * `{"id", "channel", "ts", "value"}`. `payload` is a string or UTF-8 bytes (a
 * Uint8Array, as MQTT.js gives). Returns readings `{id, channel, ts, value,
 * quality?}` as `Twin.applyJson` takes them; throws with the reason otherwise.
 */
export function readingsOf(topic, payload) {
  const levels = topic.split("/");
  if (levels.length !== 4 || levels[0] !== "twin") throw new Error(`topic ${topic} is not twin/<town>/<kind>/<id>`);
  let id;
  try {
    id = decodeURIComponent(levels[3]);
  } catch {
    throw new Error(`topic ${topic}: bad %-escape in the asset id`);
  }
  const msg = JSON.parse(typeof payload === "string" ? payload : fromUtf8.decode(payload));
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) throw new Error("payload is not a JSON object");
  if (typeof msg.channel === "string") {
    if (msg.id !== id) throw new Error(`payload id ${msg.id} is not the topic's asset ${id}`);
    return [msg];
  }
  let ts = msg.ts;
  if (typeof ts === "string") ts = Date.parse(ts);
  if (typeof ts !== "number" || !Number.isFinite(ts)) throw new Error("payload has no valid ts");
  const out = [];
  for (const [channel, value] of Object.entries(msg)) {
    if (channel === "ts" || channel === "quality") continue;
    const r = { id, channel, ts, value };
    if (msg.quality !== undefined) r.quality = msg.quality;
    out.push(r);
  }
  if (out.length === 0) throw new Error("no channel in the payload");
  return out;
}

/**
 * The MQTT feed: `twin publish`'s messages (topic `twin/<town>/<kind>/<id>`, compact
 * JSON payload) turned into twin readings and applied with `applyJson`, in batches a
 * few times a second. When messages stop for a second the page ticks the twin's clock
 * on in real time, so silent sensors go offline as they would in `twin run --mqtt`.
 *
 * The client is MQTT.js over WebSocket (subprotocol "mqtt"): MQTT 3.1.1, clean session,
 * SUBSCRIBE at QoS 0 on every connection; the state is "connected" once the broker has
 * granted the subscription. A lost connection is retried after 1 s, 2 s, 4 s … 30 s.
 */
export class MqttFeed {
  constructor(twin, { url, onStatus, filters = ["twin/#"], keepAliveS = 30, clientId }) {
    this.twin = twin;
    this.kind = "mqtt";
    this.url = url;
    this.filters = filters;
    this.onStatus = onStatus;
    this.pending = [];
    this.messages = 0;
    this.applied = 0;
    this.refused = 0;
    this.bad = 0;
    this.lastError = null;
    this.lastMessage = 0;
    this.rate = new Rate();
    this.state = "connecting";
    this.detail = url;
    this.stopped = false;
    this.client = null;
    this.retryMs = 1000;
    this.retryTimer = null;
    this.clientLoadMs = null; // fetching and evaluating MQTT.js
    this.flusher = setInterval(() => this.flush(), 200);
    this.timer = setInterval(() => this.second(), 1000);
    this.connect({ keepAliveS, clientId: clientId ?? `twin-web-${Math.random().toString(36).slice(2, 10)}` })
      .catch((e) => this.setState("error", `MQTT client: ${e.message}`));
  }

  setState(state, detail) {
    this.state = state;
    this.detail = detail;
    if (state === "error") this.lastError = detail;
    this.report();
  }

  async connect({ keepAliveS, clientId }) {
    const t0 = performance.now();
    const { default: mqtt } = await import(MQTT_MODULE);
    this.clientLoadMs = performance.now() - t0;
    if (this.stopped) return;
    const client = mqtt.connect(this.url, {
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive: keepAliveS,
      connectTimeout: 10000,
      // Reconnection with back-off is ours (below); MQTT.js's own retries at a fixed period.
      reconnectPeriod: 0,
      resubscribe: false,
      // MQTT.js's default ("auto") runs its keepalive timer in a Worker made from a
      // blob: URL, which the page's CSP (worker-src 'self') refuses.
      timerVariant: "native",
    });
    this.client = client;
    client.on("connect", () => {
      this.retryMs = 1000;
      this.setState("connecting", `${this.url}: subscribing to ${this.filters.join(", ")}`);
      client.subscribe(this.filters, { qos: 0 }, (err, granted) => {
        if (err) return this.setState("error", `subscribe: ${err.message}`);
        if (granted.some((g) => g.qos === 128)) {
          return this.setState("error", `broker refused the subscription to ${this.filters.join(", ")}`);
        }
        this.setState("connected", `${this.url}, subscribed to ${this.filters.join(", ")}`);
      });
    });
    client.on("message", (topic, payload) => this.message(topic, payload));
    client.on("error", (e) => this.setState("error", e.message || `MQTT error on ${this.url}`));
    client.on("close", () => {
      if (this.stopped) return;
      if (this.state !== "error") this.setState("disconnected", `connection to ${this.url} closed`);
      this.retry();
    });
  }

  retry() {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.setState("connecting", this.url);
      this.client.reconnect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 30000);
  }

  message(topic, payload) {
    this.messages++;
    this.lastMessage = performance.now();
    try {
      for (const r of readingsOf(topic, payload)) this.pending.push(JSON.stringify(r));
    } catch (e) {
      this.bad++;
      this.lastError = `${topic}: ${e.message}`;
    }
  }

  /** Applies the readings received since the last call as one batch (JSON Lines). */
  flush() {
    if (!this.twin || this.pending.length === 0) return;
    const lines = this.pending.join("\n");
    const n = this.pending.length;
    this.pending = [];
    try {
      const r = this.twin.applyJson(lines);
      this.applied += r.applied;
      this.refused += r.rejected + r.malformed;
      if (r.rejected) this.lastError = `refused: ${Object.entries(r.reasons).map(([k, v]) => `${v} × ${k}`).join(", ")}`;
      this.rate.add(n);
    } catch (e) {
      this.bad += n;
      this.lastError = e.message;
    }
  }

  second() {
    if (this.twin && this.lastMessage && performance.now() - this.lastMessage > 1000) this.twin.tick(this.twin.now + 1000);
    this.report();
  }

  status() {
    return {
      kind: this.kind,
      state: this.state,
      detail: this.detail,
      messages: this.messages,
      samplesPerSecond: this.rate.perSecond(),
      applied: this.applied,
      refused: this.refused,
      bad: this.bad,
      lastError: this.lastError,
      clientLoadMs: this.clientLoadMs,
    };
  }

  report() {
    this.onStatus(this.status());
  }

  stop() {
    this.stopped = true;
    clearInterval(this.flusher);
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.client?.end();
  }
}
