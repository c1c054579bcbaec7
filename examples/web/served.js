// The page on a served twin (?server=http://HOST:PORT): one WebSocket to `twin serve`'s
// live stream (/api/v1/stream, docs/stream.md), no simulator and no ingest in the page.
//
// The page's twin holds the same assets as the server (the bundled island; the
// fingerprints are checked) and applies the stream's binary frames: colours go to
// the views, values to the store (the inspector's latest values; the selected asset
// is pinned so that all its values come). Open alerts, alert events and the vital
// signs come as JSON and are shown as they are; acknowledging goes to the server
// (a viewer's token gets the server's 403 message). Incidents and work orders come as
// `manage` (the live ones, with each snapshot) and `incident`/`order` messages
// (absolute state, upserted by id; a closed one leaves the lists); an incident's
// detail and an order's steps are requests over the same socket.
//
// The token is the browser's way: a second subprotocol `twin.bearer.<base64url>`
// (a browser cannot set headers on a WebSocket); it is kept in sessionStorage, never
// in the URL. A lost connection is retried after 1, 2, 4 … 30 s (±20 %), each time
// with a fresh snapshot; five seconds without a message (the server sends its status
// every second) count as lost.

const STALE_MS = 5000;

/** base64url without padding, of UTF-8 text. */
export function base64url(text) {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** ws(s)://HOST:PORT/api/v1/stream from http(s)://HOST:PORT (or ws(s)://). */
export function streamUrl(server) {
  const u = new URL(server);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  else if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new Error(`server ${server}: use http(s)://HOST:PORT`);
  if (u.username || u.password || u.search) throw new Error("server: no user, password or query in the URL (the token has its own field)");
  u.pathname = "/api/v1/stream";
  return u.toString();
}

/** An alert as the server sends it, in the page's shape (as twin.openAlerts()). */
function pageAlert(twin, a) {
  let handle = null;
  try { handle = twin.handleOf(a.asset); } catch { /* an asset this page does not have */ }
  return {
    id: a.id, rule: a.rule, asset: a.asset, handle, town: a.town, severity: a.severity, state: a.state,
    raisedAt: a.raised_at, value: a.value, acknowledgedAt: a.acknowledged_at, clearedAt: a.cleared_at,
  };
}

const SEVERITY = { critical: 0, warning: 1, info: 2 };

export class ServedFeed {
  constructor(twin, { server, token, onStatus, onVitals, onEvent, onError }) {
    this.twin = twin;
    this.kind = "served";
    this.server = server;
    this.url = streamUrl(server);
    this.token = token ?? "";
    this.onStatus = onStatus;
    this.onVitals = onVitals;
    this.onEvent = onEvent;
    this.onError = onError;
    this.state = "connecting";
    this.detail = this.url;
    this.caller = null;
    this.alerts = new Map(); // id → page alert
    this.liveIncidents = new Map(); // id → live incident, as the server shows it
    this.liveOrders = new Map(); // id → live order
    this.frames = 0;
    this.records = 0;
    this.bytes = 0;
    this.status = null;
    this.snapshots = 0;
    this.connects = 0;
    this.lastError = null;
    this.lastMessage = 0;
    this.retryMs = 1000;
    this.req = 0;
    this.waiting = new Map(); // req → {resolve, reject}
    this.pinned = [];
    this.stopped = false;
    this.timer = setInterval(() => this.watchdog(), 1000);
    this.connect();
  }

  report() {
    this.onStatus?.(this);
  }

  setState(state, detail) {
    this.state = state;
    this.detail = detail;
    if (state === "error" || state === "reconnecting") this.lastError = detail;
    this.report();
  }

  connect() {
    if (this.stopped) return;
    const protocols = ["twin.v1"];
    if (this.token) protocols.push(`twin.bearer.${base64url(this.token)}`);
    let ws;
    try {
      ws = new WebSocket(this.url, protocols);
    } catch (e) {
      return this.setState("error", `${this.url}: ${e.message}`);
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let opened = false;
    this.setState("connecting", this.url);
    ws.onopen = () => { opened = true; this.lastMessage = performance.now(); };
    ws.onmessage = (e) => {
      this.lastMessage = performance.now();
      if (typeof e.data === "string") return this.text(e.data);
      this.frames++;
      this.bytes += e.data.byteLength;
      try {
        this.records += this.twin.applyStream(new Uint8Array(e.data));
      } catch (err) {
        this.lastError = `frame: ${err.message}`;
      }
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const w of this.waiting.values()) w.reject(new Error("the connection to the server was lost"));
      this.waiting.clear();
      if (this.stopped) return;
      // A browser hides the HTTP answer of a refused upgrade: say what it may be.
      const why = opened
        ? `closed${e.code ? ` (${e.code}${e.reason ? `: ${e.reason}` : ""})` : ""}`
        : "refused or unreachable (check the server and the token)";
      const wait = this.retryMs * (0.8 + 0.4 * Math.random());
      this.retryMs = Math.min(this.retryMs * 2, 30000);
      this.setState("reconnecting", `${this.url}: ${why}; again in ${(wait / 1000).toFixed(1)} s`);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    };
  }

  watchdog() {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN && performance.now() - this.lastMessage > STALE_MS) {
      // A dead link may take long to report its close: let go of it now.
      ws.onclose({ code: 4000, reason: "nothing from the server for 5 s" });
      ws.onclose = null;
      ws.onmessage = null;
      ws.close(4000);
    }
    this.report();
  }

  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error("not connected to the server");
    this.ws.send(JSON.stringify(msg));
  }

  subscribe() {
    // The whole district's colours; every value of the pinned assets.
    this.send({ type: "subscribe", pins: this.pinned });
  }

  /** Pins assets (the selection and its sensors: all their values come). */
  pin(ids) {
    const key = ids.join();
    if (key === this.pinned.join()) return;
    this.pinned = ids;
    try { this.subscribe(); } catch { /* sent on the next connection */ }
  }

  text(data) {
    let m;
    try { m = JSON.parse(data); } catch { this.lastError = "a message that is not JSON"; return; }
    switch (m.type) {
      case "hello":
        try {
          this.twin.beginStream(data);
        } catch (e) {
          this.stopped = true;
          this.ws.close(1000);
          this.setState("error", e.message);
          this.onError?.(e.message);
          return;
        }
        this.connects++;
        this.caller = m.caller;
        this.title = m.title;
        this.alerts.clear();
        // A new connection's snapshot brings them again (none on a district's stream).
        this.liveIncidents.clear();
        this.liveOrders.clear();
        this.setState("connecting", `${this.url}: subscribing`);
        this.subscribe();
        break;
      case "subscribed":
      case "superseded":
        break;
      case "snapshot_end":
        // The back-off starts again only once a snapshot came through: a server that
        // accepts and then drops the connection is not hammered once a second.
        this.retryMs = 1000;
        this.snapshots++;
        this.setState("connected", `${this.title} · ${this.caller?.name} (${this.caller?.role})`);
        break;
      case "alerts":
        this.alerts = new Map(m.open.map((a) => [a.id, pageAlert(this.twin, a)]));
        break;
      case "manage":
        this.liveIncidents = new Map(m.incidents.map((i) => [i.id, i]));
        this.liveOrders = new Map(m.orders.map((o) => [o.id, o]));
        break;
      case "incident":
        if (m.incident.state === "closed") this.liveIncidents.delete(m.incident.id);
        else this.liveIncidents.set(m.incident.id, m.incident);
        break;
      case "order":
        if (m.order.state === "closed") this.liveOrders.delete(m.order.id);
        else this.liveOrders.set(m.order.id, m.order);
        break;
      case "event": {
        const a = pageAlert(this.twin, m.alert);
        if (m.event === "cleared") this.alerts.delete(a.id);
        else this.alerts.set(a.id, a);
        const time = m.event === "raised" ? a.raisedAt : m.event === "acknowledged" ? a.acknowledgedAt : a.clearedAt;
        this.onEvent?.({ event: m.event, id: a.id, rule: a.rule, asset: a.asset, handle: a.handle, town: a.town, severity: a.severity, time, value: a.value });
        break;
      }
      case "vitals":
        this.onVitals?.(m.rows);
        break;
      case "status":
        this.status = m;
        try { this.twin.tick(m.now); } catch { /* the clock never goes back */ }
        break;
      case "ack_result":
      case "step_result":
      case "incident_detail":
      case "incidents_at":
      case "pong":
      case "error": {
        const w = this.waiting.get(m.req);
        if (w) {
          this.waiting.delete(m.req);
          if (m.type === "error") w.reject(new Error(m.message));
          else w.resolve(m);
        } else if (m.type === "error") {
          this.lastError = m.message;
          this.onError?.(`server: ${m.message}`);
        }
        break;
      }
      case "assets_changed":
        this.onError?.("the server's assets changed: reload the page");
        break;
      default:
        break;
    }
  }

  /** The open alerts, most severe and newest first (as twin.openAlerts()). */
  openAlerts() {
    return [...this.alerts.values()].sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity] || b.raisedAt - a.raisedAt);
  }

  /** Acknowledges on the server; resolves with the alert, rejects with the server's reason. */
  acknowledge(id) {
    return this.request({ type: "ack", alert: id });
  }

  /** The live incidents, newest first. */
  incidentList() {
    return [...this.liveIncidents.values()].sort((a, b) => b.id - a.id);
  }

  /** The live orders, newest first. */
  orderList() {
    return [...this.liveOrders.values()].sort((a, b) => b.id - a.id);
  }

  /** An incident with its footprint and what it covers, from the server. */
  async incidentDetail(id) {
    return (await this.request({ type: "get_incident", incident: id })).incident;
  }

  /** The incidents open at `at` (UTC ms) as they were then, from the server. */
  async incidentsAt(at) {
    return (await this.request({ type: "get_incidents", at })).incidents;
  }

  /** A step on an order, on the server (as the token's name); resolves with the order. */
  async stepOrder(order, action, { note = "", unit } = {}) {
    const r = await this.request({ type: "step", order, action, note, unit });
    if (r.order.state === "closed") this.liveOrders.delete(r.order.id);
    else this.liveOrders.set(r.order.id, r.order);
    return r.order;
  }

  /** Sends a request; resolves with its answer, rejects with the server's reason. */
  request(msg) {
    const req = ++this.req;
    return new Promise((resolve, reject) => {
      // A message the server dropped (over its rate) is never answered.
      const timer = setTimeout(() => {
        this.waiting.delete(req);
        reject(new Error("no answer from the server in 10 s"));
      }, 10000);
      this.waiting.set(req, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      try {
        this.send({ ...msg, req });
      } catch (e) {
        this.waiting.delete(req);
        reject(e);
      }
    });
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.ws?.close(1000);
  }
}
