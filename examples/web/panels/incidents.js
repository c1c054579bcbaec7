// The incidents panel (高效处置一件事): the live incidents, each with its work order;
// clicking one frames its footprint on the map (drawn over the view), lists what it
// covers and the order's history, and offers the steps the order's state allows and
// the user's role may take. Reads app.manageSource: the page's own twin
// (twin.listIncidents, stepOrder …) or a served twin's stream (`manage`, `incident`,
// `order` messages; steps go to the server, whose refusals show their reason).
import { el, fill, clockTime, dateTime } from "../dom.js";

const MAX_SHOWN = 40;
const RANK = { viewer: 0, operator: 1, admin: 2 };
const COLOUR = { critical: [224, 60, 49], warning: [240, 160, 40], info: [80, 160, 230] };
const STEP_LABEL = {
  dispatch: "dispatch", accept: "accept", arrive: "on site", resolve: "resolve",
  verify: "verify", close: "close", reassign: "reassign", reopen: "reopen",
};

export class IncidentsPanel {
  constructor(root, app, overlay) {
    this.app = app;
    this.overlay = overlay;
    this.selected = null; // incident id
    this.at = null; // the replay's moment (UTC ms), null when live
    this.past = []; // the incidents open at `at`, as they were then
    this.detail = null; // the selected incident's detail (footprint …)
    this.detailKey = "";
    this.summary = el("p", { class: "summary", "data-testid": "incident-summary" });
    this.list = el("ol", { class: "incidents-list", "data-testid": "incidents" });
    this.body = el("div", { class: "incident-detail", "data-testid": "incident-detail" });
    fill(root, this.summary, this.list, this.body);
    this.draw = this.draw.bind(this);
    requestAnimationFrame(this.draw);
  }

  source() {
    return this.app.manageSource;
  }

  /**
   * Shows the incidents open at `at` (UTC ms; null: live again), read-only. A slider
   * dragged fires this many times a second: one request is in flight at a time, and
   * when it returns only the latest moment asked for is fetched next.
   */
  async showTime(at) {
    this.at = at;
    this.key = null;
    if (at === null) {
      this.past = [];
      return this.update();
    }
    if (this.fetching) return; // the loop below picks up the latest `this.at`
    this.fetching = true;
    try {
      let asked;
      do {
        asked = this.at;
        if (asked === null) break;
        try {
          const list = await this.source().at(asked);
          if (this.at === asked) this.past = list;
        } catch (e) {
          this.app.error(`incidents at ${dateTime(asked)}: ${e.message}`);
        }
      } while (this.at !== asked);
    } finally {
      this.fetching = false;
    }
    this.key = null;
    this.update();
  }

  /** A row of the list as it was at the replay's moment (not clickable). */
  pastItem(i) {
    const { state, order_state: os, unit } = i.at;
    return this.row(i, {
      past: true, state, count: `${i.alerts} alerts`,
      order: os ? `${os}${unit ? ` · ${unit}` : ""}` : "no order",
    });
  }

  /** The selected incident: its detail is fetched, its footprint framed and drawn. */
  async select(id, { frame = true } = {}) {
    this.selected = id;
    this.detail = null;
    this.detailKey = "";
    this.key = null;
    if (id === null) return this.update();
    await this.refreshDetail();
    const ring = this.detail?.footprint?.coordinates?.[0];
    if (frame && ring && this.app.view) {
      const xs = ring.map((c) => c[0]);
      const ys = ring.map((c) => c[1]);
      try {
        this.app.view.frameBox(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
      } catch (e) {
        this.app.error(e.message);
      }
    }
    this.update();
  }

  async refreshDetail() {
    const id = this.selected;
    try {
      const d = await this.source().detail(id);
      if (this.selected === id) this.detail = d;
    } catch (e) {
      this.app.error(`incident #${id}: ${e.message}`);
    }
  }

  async step(order, action) {
    const note = this.body.querySelector("[data-testid=order-note]")?.value ?? "";
    const unit = this.body.querySelector("[data-testid=order-unit]")?.value.trim() || undefined;
    try {
      await this.source().step(order, action, { note, unit });
    } catch (e) {
      this.app.error(`order #${order} ${action}: ${e.message}`);
    }
    this.key = null;
    this.update();
  }

  /** A row of the live list: a click selects (or lets go of) the incident. */
  item(i, orders) {
    const o = i.order ? orders.get(i.order) : null;
    return this.row(i, {
      state: i.state, count: `${i.open_alerts}/${i.alerts} alerts`, overdue: o?.overdue,
      order: o ? `${o.state}${o.overdue ? " · overdue" : ""}` : "no order",
    });
  }

  /** One incident's row, live or past. */
  row(i, { past = false, state, count, order, overdue = false }) {
    const towns = i.towns.map((t) => this.app.townName(t)).join(", ");
    const selected = !past && i.id === this.selected;
    return el("li", {
      class: `incident ${past ? "past " : ""}${i.severity}${selected ? " selected" : ""}`,
      data: { incident: i.id },
      title: `incident #${i.id}: ${i.family} in ${towns}${past ? `, as it was at ${dateTime(i.at.time)}` : ""}`,
      on: past ? undefined : { click: () => this.select(selected ? null : i.id) },
    },
    el("span", { class: "time", text: clockTime(i.start) }),
    el("span", { class: "sev", text: i.severity }),
    el("span", { class: "family", text: `#${i.id} ${i.family}` }),
    el("span", { class: "count", text: count }),
    el("span", { class: "where", text: `${towns} · ${state}` }),
    el("span", { class: `order-state${overdue ? " overdue" : ""}`, "data-testid": "order-state", text: order }));
  }

  detailView(i, o) {
    const role = this.source().role();
    const steps = (o?.next ?? []).filter((n) => RANK[role] >= RANK[n.role]);
    const affected = new Map();
    for (const a of this.detail?.affected ?? []) affected.set(a.kind, (affected.get(a.kind) ?? 0) + a.count);
    return [
      el("h3", { text: `incident #${i.id} · ${i.family} · ${i.severity}` }),
      el("dl", { class: "ident" },
        el("dt", { text: "started" }), el("dd", { text: dateTime(i.start) }),
        el("dt", { text: "peak" }), el("dd", { text: `${i.peak.open_alerts} open alerts at ${clockTime(i.peak.at)}` }),
        el("dt", { text: "affected" }), el("dd", { "data-testid": "incident-affected",
          text: [...affected].map(([k, n]) => `${n} ${k}`).join(", ") || "—" })),
      o ? [
        el("h3", { text: `order #${o.id} · ${o.state}${o.overdue ? " · overdue" : ""}` }),
        el("p", { class: "unit", text: o.unit ? `${o.unit.name} (${o.unit.id})` : "no unit yet" }),
        o.checklist?.length > 0 && el("ul", { class: "checklist" },
          o.checklist.map(([step, done]) => el("li", { text: `${done ? "☑" : "☐"} ${step}` }))),
        o.history_len > o.history.length && el("p", { class: "muted",
          text: `… ${o.history_len - o.history.length} earlier steps` }),
        el("ol", { class: "history", "data-testid": "order-history" },
          o.history.map((t) => el("li", {},
            el("span", { class: "time", text: clockTime(t.at) }),
            ` ${t.action} by ${t.by}: ${t.from} → ${t.to}`,
            t.note && el("span", { class: "muted", text: ` “${t.note}”` })))),
        steps.length > 0 && el("div", { class: "order-steps" },
          el("input", { "data-testid": "order-note", placeholder: "note", maxlength: 2000, spellcheck: "false" }),
          steps.some((n) => n.action === "dispatch" || n.action === "reassign") &&
            el("input", { "data-testid": "order-unit", placeholder: "unit id", spellcheck: "false" }),
          steps.map((n) => el("button", {
            type: "button", text: STEP_LABEL[n.action] ?? n.action, data: { step: n.action },
            on: { click: () => this.step(o.id, n.action) },
          }))),
        steps.length === 0 && el("p", { class: "muted", text: `no step for a ${role} here` }),
      ] : el("p", { class: "muted", text: "no order" }),
    ];
  }

  update() {
    if (this.at !== null) {
      const key = JSON.stringify(["past", this.at, this.past]);
      if (key === this.key) return;
      this.key = key;
      this.summary.textContent = `${this.past.length} incident${this.past.length === 1 ? "" : "s"} open at ${dateTime(this.at)} (replay)`;
      fill(this.list, this.past.slice(0, MAX_SHOWN).map((i) => this.pastItem(i)));
      fill(this.body);
      return;
    }
    let incidents, orders;
    try {
      incidents = this.source().incidents();
      orders = new Map(this.source().orders().map((o) => [o.id, o]));
    } catch (e) {
      this.app.error(`incidents: ${e.message}`);
      return;
    }
    const overdue = [...orders.values()].filter((o) => o.overdue).length;
    const text = incidents.length
      ? `${incidents.length} open incident${incidents.length > 1 ? "s" : ""} · ${orders.size} open order${orders.size === 1 ? "" : "s"}${overdue ? ` (${overdue} overdue)` : ""}`
      : "no open incidents";
    const sel = incidents.find((i) => i.id === this.selected);
    const o = sel?.order ? orders.get(sel.order) : null;
    // A changed incident (new alerts, a new state), or a new connection, is fetched
    // again for its footprint.
    const detailKey = sel ? `${sel.assets}|${sel.state}|${this.app.feed?.connects ?? 0}` : "";
    if (sel && detailKey !== this.detailKey) {
      this.detailKey = detailKey;
      this.refreshDetail().then(() => { this.key = null; this.update(); });
    }
    const key = JSON.stringify([text, incidents.slice(0, MAX_SHOWN), sel && o, this.selected, !!this.detail, this.source().role()]);
    if (key === this.key) return;
    this.key = key;
    this.summary.textContent = text;
    fill(this.list,
      incidents.slice(0, MAX_SHOWN).map((i) => this.item(i, orders)),
      incidents.length > MAX_SHOWN && el("li", { class: "more", text: `… and ${incidents.length - MAX_SHOWN} more` }));
    // Keep what the user is typing when the order changes under them.
    const note = this.body.querySelector("[data-testid=order-note]")?.value;
    fill(this.body, sel ? this.detailView(sel, o) : []);
    const box = this.body.querySelector("[data-testid=order-note]");
    if (box && note) box.value = note;
    if (this.selected !== null && !sel) {
      // Closed (or gone): its footprint goes too.
      this.selected = null;
      this.detail = null;
    }
  }

  /** The footprint of the selected incident, on the 2D canvas over the view, every frame. */
  draw() {
    requestAnimationFrame(this.draw);
    const c = this.overlay;
    const view = this.app.view;
    if (!c || !view) return;
    const w = c.clientWidth;
    const h = c.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const ring = this.at === null ? this.detail?.footprint?.coordinates?.[0] : null;
    if (!ring) return;
    const points = ring.map(([lon, lat]) => view.projectLonLat(lon, lat));
    if (points.some((p) => !p)) return; // partly behind the camera
    const [r, gr, b] = COLOUR[this.detail.severity] ?? COLOUR.warning;
    g.beginPath();
    points.forEach(([x, y], k) => (k ? g.lineTo(x, y) : g.moveTo(x, y)));
    g.closePath();
    g.fillStyle = `rgba(${r}, ${gr}, ${b}, 0.18)`;
    g.fill();
    g.lineWidth = 2.5;
    g.strokeStyle = `rgb(${r}, ${gr}, ${b})`;
    g.stroke();
  }
}
