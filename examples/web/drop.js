// Users' files in the dashboard: dropped on the map, or chosen in the "add data" box.
// Each is read by the engine (Twin.loadData: GeoJSON, FlatGeobuf, CityJSON, CityJSONSeq)
// with the box's options — the command line's --id, --as, --crs and --lenient — and a
// `*.mapping.json` file dropped or chosen with them is the mapping (docs/mapping.md).
// The new assets join the live twin (vital signs, rules and the overlay count them);
// the view flies to the first. Problems are listed with file, feature and reason.
import { el, fill } from "./dom.js";

const $ = (id) => document.getElementById(id);

/** Most problems listed per file (the rest are counted). */
const SHOWN = 5;

export class DataDrop {
  constructor(app, { select, showError }) {
    this.app = app;
    this.select = select;
    this.showError = showError;
    this.log = $("data-log");
    const map = document.querySelector(".map");
    map.addEventListener("dragover", (e) => {
      e.preventDefault();
      map.classList.add("dropping");
    });
    map.addEventListener("dragleave", () => map.classList.remove("dropping"));
    map.addEventListener("drop", (e) => {
      e.preventDefault();
      map.classList.remove("dropping");
      this.open([...(e.dataTransfer?.files ?? [])]);
    });
    $("data-file").addEventListener("change", (e) => {
      this.open([...e.target.files]);
      e.target.value = "";
    });
  }

  /** The options of the box, with a mapping object when one was given. */
  options(name, mapping) {
    const text = (id) => $(id).value.trim() || undefined;
    return {
      name,
      id: text("data-id"),
      kind: text("data-kind"),
      crs: text("data-crs"),
      lenient: $("data-lenient").checked,
      mapping,
    };
  }

  /** Reads the files: mapping files first, then each data file in order. */
  async open(files) {
    if (!files.length) return;
    $("data-panel").open = true;
    let mapping;
    for (const f of files.filter((f) => f.name.endsWith(".mapping.json"))) {
      try {
        mapping = JSON.parse(await f.text());
      } catch (e) {
        this.entry(f.name, `mapping: not JSON: ${e.message}`, true);
        return;
      }
    }
    for (const f of files.filter((f) => !f.name.endsWith(".mapping.json"))) {
      await this.load(f, mapping);
    }
  }

  async load(file, mapping) {
    const twin = this.app.twin;
    let summary;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      summary = twin.loadData(bytes, this.options(file.name, mapping));
    } catch (e) {
      // A strict load refused the file: the engine's message names file, feature, problem.
      this.entry(file.name, e instanceof Error ? e.message : String(e), true);
      this.showError(`${file.name}: not loaded`);
      return;
    }
    const problems = [...summary.rejected.map((p) => ["refused", p]), ...summary.warnings.map((p) => ["warning", p])];
    const n = (k, what) => `${k} ${what}${k === 1 ? "" : "s"}`;
    this.entry(
      file.name,
      `${n(summary.added, "asset")} added` +
        (summary.rejected.length ? `, ${n(summary.rejected.length, "feature")} refused` : "") +
        (summary.warnings.length ? `, ${n(summary.warnings.length, "warning")}` : ""),
      summary.rejected.length > 0,
      problems.slice(0, SHOWN).map(([what, p]) =>
        el("li", { class: what === "refused" ? "error" : "muted" },
          `${what}: feature ${p.index}${p.id ? ` (${p.id})` : ""}: ${p.problem}`)),
      problems.length > SHOWN ? el("li", { class: "muted", text: `… and ${problems.length - SHOWN} more` }) : null,
    );
    this.app.panels?.vitals?.update();
    if (summary.first) this.select(summary.first, { fly: true });
  }

  entry(file, text, bad, ...details) {
    this.log.prepend(
      el("li", { class: bad ? "error" : "", data: { file } },
        el("b", { text: file }), ": ", text,
        details.flat().length ? el("ul", {}, details) : null),
    );
  }
}
