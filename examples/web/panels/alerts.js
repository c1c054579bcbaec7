// The alert feed: the open alerts (most severe and newest first) and the latest
// events, from app.alertSource: the page's twin (twin.openAlerts, twin.onAlert), or a
// served twin's stream. Clicking an alert selects its asset and flies there; "ack"
// acknowledges it (on the server, for a served twin: a refusal shows its reason).
import { el, fill, clockTime, num } from "../dom.js";

const MAX_EVENTS = 100;
const MAX_OPEN_SHOWN = 40;

export class AlertsPanel {
  constructor(root, app) {
    this.app = app;
    this.events = [];
    this.dirty = true;
    this.summary = el("p", { class: "summary", "data-testid": "alert-summary" });
    this.open = el("ol", { class: "alerts open", "data-testid": "open-alerts" });
    this.feed = el("ol", { class: "alerts events", "data-testid": "alert-events" });
    fill(root,
      this.summary,
      this.open,
      el("h3", { text: "latest events" }),
      this.feed);
    app.alertSource.onEvent((e) => {
      this.events.unshift(e);
      if (this.events.length > MAX_EVENTS) this.events.length = MAX_EVENTS;
      this.dirty = true;
    });
  }

  item(a, { event } = {}) {
    const where = a.town ? this.app.townName(a.town) : "";
    const time = event ? a.time : a.raisedAt;
    const label = event ? a.event : a.state === "acknowledged" ? "ack'd" : "";
    return el("li", {
      class: `alert ${a.severity}${a.asset === this.app.selected ? " selected" : ""}`,
      data: { asset: a.asset, alert: a.id },
      title: `alert #${a.id}: ${a.rule} on ${a.asset}`,
      on: { click: () => this.app.select(a.asset, { fly: true }) },
    },
    el("span", { class: "time", text: clockTime(time) }),
    el("span", { class: "sev", text: a.severity }),
    el("span", { class: "rule", text: a.rule }),
    el("span", { class: "value", text: num(a.value, 2) }),
    el("span", { class: "asset", text: a.asset }),
    el("span", { class: "where", text: [label, where].filter(Boolean).join(" · ") }),
    !event && a.state === "raised" && el("button", {
      type: "button", class: "ack", text: "ack", title: "acknowledge",
      on: { click: (ev) => { ev.stopPropagation(); this.acknowledge(a.id); } },
    }));
  }

  async acknowledge(id) {
    try {
      await this.app.alertSource.acknowledge(id);
    } catch (e) {
      this.app.error(`acknowledge #${id}: ${e.message}`);
    }
    this.dirty = true;
    this.update();
  }

  update() {
    let open;
    try {
      open = this.app.alertSource.open();
    } catch (e) {
      this.app.error(`alerts: ${e.message}`);
      return;
    }
    const by = { critical: 0, warning: 0, info: 0 };
    for (const a of open) by[a.severity]++;
    const text = open.length
      ? `${open.length} open: ${by.critical} critical, ${by.warning} warning, ${by.info} info`
      : "no open alerts";
    const key = `${text}|${open.slice(0, MAX_OPEN_SHOWN).map((a) => `${a.id}${a.state}`).join()}|${this.app.selected}`;
    if (!this.dirty && key === this.key) return;
    this.key = key;
    this.dirty = false;
    this.summary.textContent = text;
    fill(this.open,
      open.slice(0, MAX_OPEN_SHOWN).map((a) => this.item(a)),
      open.length > MAX_OPEN_SHOWN && el("li", { class: "more", text: `… and ${open.length - MAX_OPEN_SHOWN} more` }));
    fill(this.feed, this.events.map((e) => this.item(e, { event: true })));
  }
}
