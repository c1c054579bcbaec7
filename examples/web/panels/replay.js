// The replay slider: minutes back from the twin's clock (0: live). Moving it draws the
// map as it was at that moment (view.setTime: each asset's value then, from history,
// through the overlay) and shows the vital-signs table of that moment
// (twin.vitalSignsAt) and the incidents open then (twin.incidentsAt, or the server's);
// back at 0 all follow live telemetry again. The moment is fixed
// when the slider moves; telemetry goes on being applied meanwhile.
import { el, fill, dateTime } from "../dom.js";

/** How far back the slider reaches: the twin-wasm history keeps two hours. */
const MAX_MINUTES = 120;

export class ReplayControl {
  constructor(root, app) {
    this.app = app;
    this.at = null; // the moment shown (UTC ms), null when live
    this.input = el("input", {
      type: "range", min: 0, max: MAX_MINUTES, step: 1, value: 0,
      title: "minutes back (0: live)", "data-testid": "replay",
    });
    this.label = el("span", { class: "replay-at", text: "live", "data-testid": "replay-at" });
    this.input.addEventListener("input", () => this.set(Number(this.input.value)));
    fill(root, el("label", {}, "replay ", this.input), this.label);
  }

  /** Shows the moment `minutes` before the twin's clock (0: live). */
  set(minutes) {
    const { twin, view, panels } = this.app;
    this.at = minutes > 0 ? twin.now - minutes * 60000 : null;
    try {
      view?.setTime(this.at);
    } catch (e) {
      this.app.error(`replay: ${e.message}`);
    }
    this.label.textContent = this.at === null ? "live" : `${dateTime(this.at)} (−${minutes} min)`;
    this.label.classList.toggle("past", this.at !== null);
    panels.vitals.showTime(this.at);
    panels.incidents?.showTime(this.at);
  }
}
