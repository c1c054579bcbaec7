// The inspector: the selected asset's identity, place, properties and latest values,
// with the latest values of the sensors attached to it (a building's energy meter) and
// its open alerts. Values refresh every second. An element of a building model shows its
// IFC class and GlobalId (its id) first; long property lists (an IFC element's property
// sets) are folded.
import { el, fill, dateTime, age, valueText } from "../dom.js";

const MAX_SENSORS = 40;

export class InspectorPanel {
  constructor(root, app) {
    this.app = app;
    this.root = root;
    this.units = Object.fromEntries(app.twin.channels().map((c) => [c.name, c.unit]));
    this.show(null);
  }

  link(id) {
    return el("button", {
      type: "button", class: "link", text: id, title: `select ${id}`,
      on: { click: () => this.app.select(id, { fly: true }) },
    });
  }

  show(id) {
    this.id = id;
    if (!id) {
      fill(this.root,
        el("p", { class: "empty", text: "Click an asset on the map, an alert or a town row, or search for an id." }),
        el("code", { "data-testid": "inspector-id", hidden: true }));
      return;
    }
    let a;
    try {
      a = this.app.twin.asset(id);
    } catch (e) {
      fill(this.root, el("p", { class: "error", text: e.message }), el("code", { "data-testid": "inspector-id", hidden: true }));
      return;
    }
    this.values = el("div", { class: "values" });
    const row = (k, v) => v !== null && v !== undefined && v !== "" && [el("dt", { text: k }), el("dd", {}, v)];
    fill(this.root,
      el("h2", { class: "name" }, a.names.zh ?? a.name, a.names.zh && a.names.en && el("small", { text: a.names.en })),
      el("dl", { class: "ident" },
        row("id", el("code", { "data-testid": "inspector-id", text: a.id })),
        row("kind", a.kind),
        row("IFC class", a.properties.ifc_class && el("span", { "data-testid": "inspector-ifc-class", text: a.properties.ifc_class })),
        row("GlobalId", a.properties.ifc_class && el("code", { text: a.id })),
        row("town", a.town && [this.link(a.town), " ", this.app.townName(a.town)]),
        row("attached to", a.attachedTo && this.link(a.attachedTo)),
        row("part of", a.partOf && this.link(a.partOf)),
        row("handle", String(a.handle)),
        row("bbox", a.bbox && a.bbox.map((x) => x.toFixed(5)).join(", "))),
      el("div", { class: "actions" },
        el("button", { type: "button", text: "fly to", on: { click: () => this.app.select(a.id, { fly: true }) } }),
        el("button", { type: "button", text: "clear", on: { click: () => this.app.select(null) } })),
      this.values,
      Object.keys(a.properties).length > 0 &&
        el("details", { class: "props-box", open: Object.keys(a.properties).length <= 12 ? true : null },
          el("summary", { text: `properties (${Object.keys(a.properties).length})` }),
          el("table", { class: "props" }, el("tbody", {},
            Object.entries(a.properties).map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: String(v) })))))));
    this.refresh(a);
  }

  latestTable(latest) {
    const now = this.app.twin.now;
    const entries = Object.entries(latest);
    if (entries.length === 0) return el("p", { class: "muted", text: "no readings yet" });
    return el("table", { class: "latest" }, el("tbody", {}, entries.map(([ch, v]) =>
      el("tr", { class: v.quality !== "good" ? v.quality : null },
        el("th", { scope: "row", text: ch }),
        el("td", { class: "num", text: valueText(v.value, this.units[ch]) }),
        el("td", { class: "muted", title: dateTime(v.ts), text: age(v.ts, now) })))));
  }

  /** Re-reads the values (every second, or with `a` just read). */
  refresh(a) {
    if (!this.id) return;
    try {
      a ??= this.app.twin.asset(this.id);
    } catch {
      return;
    }
    const sensors = a.sensors ?? [];
    const ids = new Set([a.id, ...sensors]);
    const alerts = this.app.alertSource.open().filter((x) => ids.has(x.asset));
    const own = Object.keys(a.latest).length > 0 || sensors.length === 0;
    fill(this.values,
      own && [el("h3", { text: "latest values" }), this.latestTable(a.latest)],
      sensors.length > 0 && [
        el("h3", { text: `attached sensors (${sensors.length})` }),
        sensors.slice(0, MAX_SENSORS).map((sid) => {
          let s;
          try { s = this.app.twin.asset(sid); } catch { return null; }
          return el("div", { class: "sensor", data: { sensor: sid } },
            el("div", { class: "sensor-head" }, this.link(sid), el("span", { class: "muted", text: s.kind })),
            this.latestTable(s.latest));
        }),
      ],
      alerts.length > 0 && [
        el("h3", { text: `open alerts (${alerts.length})` }),
        el("ul", { class: "inspector-alerts" }, alerts.map((x) =>
          el("li", { class: x.severity, text: `#${x.id} ${x.severity} ${x.rule} on ${x.asset}: ${valueText(x.value)} (${x.state})` }))),
      ]);
  }
}
