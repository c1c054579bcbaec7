// The vital-signs table: a row per island, then per town, updated in place by the
// twin's onVitalSigns callback (when the table changes, at most once per simulated
// second). Clicking a row selects the town or island and flies to it.
import { el, fill, num, count } from "../dom.js";

// [header, unit/tooltip, value of a row]
const COLUMNS = [
  ["online", "sensors reporting", (r) => count(r.online)],
  ["offline", "sensors silent for over two minutes", (r) => count(r.offline)],
  ["level", "water level mean (m)", (r) => num(r.channels.level?.mean, 2)],
  ["level max", "water level max (m)", (r) => num(r.channels.level?.max, 2)],
  ["PM2.5", "PM2.5 mean (µg/m³)", (r) => num(r.channels.pm25?.mean, 1)],
  ["PM2.5 max", "PM2.5 max (µg/m³)", (r) => num(r.channels.pm25?.max, 1)],
  ["WQI", "water quality index mean (0–100)", (r) => num(r.channels.wqi?.mean, 0)],
  ["energy", "building energy mean (kWh/h)", (r) => num(r.channels.energy?.mean, 1)],
  ["parking", "parking bays occupied (%)", (r) => (r.channels.occupied ? num(100 * r.channels.occupied.mean, 0) : "—")],
  ["alerts", "open alerts: info / warning / critical", (r) => `${r.alerts.info}/${r.alerts.warning}/${r.alerts.critical}`],
];

export class VitalsPanel {
  constructor(root, app) {
    this.app = app;
    this.body = el("tbody");
    this.rows = new Map(); // region → {tr, cells}
    fill(root,
      el("table", { class: "vitals", "data-testid": "vitals" },
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", text: "town / island" }),
          COLUMNS.map(([h, title]) => el("th", { scope: "col", class: "num", title, text: h })))),
        this.body));
    this.last = [];
    this.at = null; // a past moment shown instead of the live table
    // The page's twin's rows, or a served twin's (app.vitalsSource).
    app.vitalsSource((rows) => {
      this.last = rows;
      if (this.at === null) this.show(rows);
    });
  }

  /** Redraws the table (the selection moved). */
  update() {
    this.showTime(this.at);
  }

  /** The table of a past moment (UTC ms, from history), or the live one with null. */
  showTime(at) {
    this.at = at;
    if (at === null) return this.show(this.last);
    try {
      this.show(this.app.twin.vitalSignsAt(at));
    } catch (e) {
      this.app.error(`vital signs: ${e.message}`);
    }
  }

  show(rows) {
    // The islands (the totals) first, then the towns, in the order the twin gives.
    rows = [...rows].sort((a, b) => b.island - a.island);
    for (const r of rows) {
      let row = this.rows.get(r.region);
      if (!row) {
        const cells = COLUMNS.map(() => el("td", { class: "num" }));
        const tr = el("tr", {
          class: r.island ? "island" : "town",
          data: { region: r.region },
          title: r.region,
          on: { click: () => this.app.select(r.region, { fly: true }) },
        }, el("th", { scope: "row", text: r.island ? `◆ ${r.name}` : r.name }), cells);
        row = { tr, cells };
        this.rows.set(r.region, row);
        this.body.append(tr);
      }
      COLUMNS.forEach(([, , f], i) => {
        const text = f(r);
        if (row.cells[i].textContent !== text) row.cells[i].textContent = text;
      });
      row.cells[1].classList.toggle("warn", r.offline > 0);
      row.cells[9].classList.toggle("crit", r.alerts.critical > 0);
      row.cells[9].classList.toggle("warn", r.alerts.critical === 0 && r.alerts.warning > 0);
      row.tr.classList.toggle("selected", this.app.selected === r.region);
    }
  }
}
