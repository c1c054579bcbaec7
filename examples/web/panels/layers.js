// Layer toggles (the view's layers), the legend of the live colours
// (twin.overlayLayers()) and the overlay in force: the standard one, or an overlay file
// the user opens (twin.setOverlay; format as assets/overlays/standard.json). Legend
// swatches are drawn on small canvases: the page's Content-Security-Policy allows no
// inline styles, and the colours come from the twin.
import { el, fill } from "../dom.js";

/** A legend bar for a layer style, on a canvas. */
function swatch(style) {
  const c = el("canvas", { width: 120, height: 12, class: "swatch" });
  const g = c.getContext("2d");
  const css = (hex) => `#${hex.slice(1, 7)}`;
  let labels = [];
  if (style.type === "ramp") {
    const [lo, hi] = [style.stops[0][0], style.stops.at(-1)[0]];
    const grad = g.createLinearGradient(0, 0, c.width, 0);
    for (const [v, col] of style.stops) grad.addColorStop(hi > lo ? (v - lo) / (hi - lo) : 0, css(col));
    g.fillStyle = grad;
    g.fillRect(0, 0, c.width, c.height);
    labels = [lo, hi];
  } else {
    const cols = style.type === "thresholds" ? style.colors : style.map.map(([, col]) => col);
    const w = c.width / cols.length;
    cols.forEach((col, i) => {
      g.fillStyle = css(col);
      g.fillRect(i * w, 0, Math.ceil(w), c.height);
    });
    labels = style.type === "thresholds" ? [`<${style.breaks[0]}`, `>${style.breaks.at(-1)}`] : [];
  }
  return [c, labels];
}

export class LayersPanel {
  constructor(root, app) {
    this.app = app;
    this.toggles = el("div", { class: "toggles", "data-testid": "layer-toggles" });
    this.legend = el("div", { class: "legend" });
    this.standard = app.twin.overlayJson();
    const file = el("input", { type: "file", accept: ".json,application/json", "data-testid": "overlay-file" });
    file.addEventListener("change", async () => {
      const f = file.files[0];
      if (f) this.setOverlay(await f.text(), f.name);
      file.value = "";
    });
    const reset = el("button", { type: "button", text: "standard", title: "back to the standard colours", "data-testid": "overlay-standard" });
    reset.addEventListener("click", () => this.setOverlay(this.standard, "standard"));
    this.source = el("span", { class: "muted", text: "standard", title: "the overlay in force", "data-testid": "overlay-source" });
    fill(root, el("h3", { text: "layers" }), this.toggles, el("h3", { text: "live colours" }),
      el("div", { class: "overlay-file" }, el("label", {}, "overlay file ", file), reset, el("span", { class: "muted", text: "in force:" }), this.source),
      this.legend);
    this.renderLegend();
  }

  /** Puts an overlay file in force; a refused one is reported and changes nothing. */
  setOverlay(json, name) {
    try {
      this.app.twin.setOverlay(json);
    } catch (e) {
      this.app.error(`overlay ${name}: ${e.message}`);
      return false;
    }
    this.source.textContent = name;
    this.renderLegend();
    return true;
  }

  /** The view's layers as checkboxes (once the view exists). */
  setView(view) {
    fill(this.toggles, view.layers().map(({ name, visible }) => {
      const box = el("input", { type: "checkbox", checked: visible, data: { layer: name } });
      box.addEventListener("change", () => view.setLayerVisible(name, box.checked));
      return el("label", {}, box, ` ${name}`);
    }));
  }

  renderLegend() {
    const layers = this.app.twin.overlayLayers();
    fill(this.legend, layers.map((l) => {
      const [canvas, labels] = swatch(l.style);
      return el("div", { class: "legend-row", title: `${l.kinds}: ${l.channel}` },
        el("span", { class: "legend-name", text: l.unit ? `${l.name} (${l.unit})` : l.name }),
        canvas,
        el("span", { class: "legend-range muted", text: labels.join(" … ") }));
    }),
    el("div", { class: "legend-row" }, el("span", { class: "legend-name", text: "open alert" }), el("span", { class: "dot alert" })),
    el("div", { class: "legend-row" }, el("span", { class: "legend-name", text: "selected" }), el("span", { class: "dot selected" })),
    el("div", { class: "legend-row" }, el("span", { class: "legend-name", text: "silent > 2 min" }), el("span", { class: "dot stale" })));
  }
}
