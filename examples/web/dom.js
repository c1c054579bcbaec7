// DOM and formatting helpers. Everything on the page is made with createElement and
// textContent: asset names and telemetry never pass through an HTML parser.

/**
 * An element: `el("td", { class: "num", text: "3.2", title: "...", data: { id } },
 * child, ...)`; `on: { click: fn }` adds listeners; other keys become attributes.
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else if (k === "class") e.className = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === "") continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** Replaces an element's children (nested arrays flattened; null/false/"" skipped). */
export function fill(parent, ...children) {
  parent.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false && c !== ""));
}

const shanghai = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Shanghai",
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const shanghaiTime = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** `2025-11-21 12:40:00` in Shanghai time (UTC+8). */
export function dateTime(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return "—";
  const p = Object.fromEntries(shanghai.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** `12:40:00` in Shanghai time. */
export function clockTime(ms) {
  return Number.isFinite(ms) && ms > 0 ? shanghaiTime.format(new Date(ms)) : "—";
}

/** A number for a table: `digits` decimals, "—" for none. */
export function num(x, digits = 1) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "—";
}

/** A telemetry value with its unit. */
export function valueText(v, unit) {
  if (typeof v === "number") {
    const d = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return unit ? `${v.toFixed(d)} ${unit}` : v.toFixed(d);
  }
  return String(v);
}

/** `3 s ago`, `2 min ago` from a time and the clock. */
export function age(ts, now) {
  const s = Math.round((now - ts) / 1000);
  if (!Number.isFinite(s)) return "";
  if (s < 0) return `in ${-s} s`;
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** A large count with thin separators: 1 234 567. */
export function count(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US").replaceAll(",", " ") : "—";
}
