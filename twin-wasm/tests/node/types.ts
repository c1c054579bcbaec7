// The TypeScript types of the npm package, checked by the compiler: scripts/build-web
// compiles this file against the generated twin_wasm.d.ts (`tsc --strict --noEmit`,
// the .d.ts itself checked too, so a reference to an undeclared name fails).
//
// The interfaces are derived from the Rust types (tsify); this file pins them to the
// API pages are written against: every interface must exist and be *exactly* the
// shape below (a field missing, added, renamed, retyped or turned optional fails), and
// the methods must return them. Change a shape here only with the API on purpose.
import type {
  Alert,
  AlertEvent,
  AssetInfo,
  ChannelInfo,
  ChannelStats,
  FeatureProblem,
  Hit,
  Incident,
  IngestReport,
  LatestValue,
  LayerStyle,
  LineError,
  LoadOptions,
  LoadSummary,
  Order,
  OverlayFrame,
  OverlayLayer,
  Rejection,
  SampleArrays,
  SimulateReport,
  StateEntry,
  StepOptions,
  Twin,
  TwinView,
  ValueAt,
  ViewOptions,
  ViewStats,
  VitalRow,
} from "@twin/twin-wasm";

/** True only when A and B are the same type (optional and readonly modifiers included). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
function same<T extends true>(): T | void {}

type Value = number | boolean | string;
type Severity = "info" | "warning" | "critical";
type Life = "raised" | "acknowledged" | "cleared";

same<Equal<Rejection, { reason: string; asset: string; channel: string; ts: number }>>();
same<Equal<LineError, { line: number; message: string }>>();
same<Equal<StepOptions, { by?: string; unit?: string; note?: string }>>();
same<
  Equal<
    LoadOptions,
    {
      name?: string;
      mapping?: Record<string, unknown>;
      id?: string;
      kind?: string;
      crs?: string;
      lenient?: boolean;
      onProgress?: (done: number, total: number | null) => void;
    }
  >
>();
same<Equal<ReturnType<typeof Twin.fromData>, Twin>>();
same<Equal<FeatureProblem, { file: string; index: number; id: string | null; problem: string }>>();
same<
  Equal<
    LoadSummary,
    { added: number; first: string | null; rejected: FeatureProblem[]; warnings: FeatureProblem[] }
  >
>();
same<
  Equal<
    IngestReport,
    {
      applied: number;
      duplicates: number;
      outOfOrder: number;
      replaced: number;
      rejected: number;
      reasons: Record<string, number>;
      examples: Rejection[];
      malformed: number;
      errors: LineError[];
      now: number;
    }
  >
>();
same<
  Equal<
    Hit,
    {
      id: string;
      handle: number;
      kind: string;
      name: string;
      town: string | null;
      distance?: number;
    }
  >
>();
same<Equal<LatestValue, { value: Value; ts: number; quality: "good" | "uncertain" | "bad" }>>();
same<
  Equal<
    AssetInfo,
    {
      id: string;
      handle: number;
      kind: string;
      name: string;
      names: { zh?: string; en?: string };
      town: string | null;
      attachedTo: string | null;
      partOf: string | null;
      bbox: [number, number, number, number] | null;
      properties: Record<string, string | number | boolean>;
      latest: Record<string, LatestValue>;
      sensors: string[];
    }
  >
>();
same<
  Equal<
    ChannelInfo,
    {
      id: number;
      name: string;
      type: "number" | "bool" | "enum";
      unit: string | null;
      states?: string[];
    }
  >
>();
same<
  Equal<StateEntry, { id: string; handle: number; channel: string; ts: number; value: Value }>
>();
same<Equal<ValueAt, { ts: number; value: Value }>>();
same<
  Equal<
    AlertEvent,
    {
      event: Life;
      id: number;
      rule: string;
      asset: string;
      handle: number;
      town: string | null;
      severity: Severity;
      time: number;
      value: number;
    }
  >
>();
same<
  Equal<
    Alert,
    {
      id: number;
      rule: string;
      asset: string;
      handle: number;
      town: string | null;
      severity: Severity;
      state: Life;
      raisedAt: number;
      value: number;
      acknowledgedAt: number | null;
      clearedAt: number | null;
    }
  >
>();
same<Equal<ChannelStats, { count: number; mean: number; max: number }>>();
// `alerts` is the interface AlertCounts; compared by shape (Equal sees through names).
same<
  Equal<
    VitalRow,
    {
      region: string;
      name: string;
      island: boolean;
      sensors: number;
      online: number;
      offline: number;
      channels: Record<string, ChannelStats>;
      alerts: { info: number; warning: number; critical: number };
    }
  >
>();
same<Equal<OverlayFrame, { colors: Uint8Array; changed: Uint32Array }>>();
same<
  Equal<
    LayerStyle,
    | { type: "ramp"; stops: [number, string][] }
    | { type: "thresholds"; breaks: number[]; colors: string[] }
    | { type: "categories"; map: [number, string][]; other: string }
  >
>();
same<
  Equal<
    OverlayLayer,
    {
      name: string;
      kinds: string;
      channel: string;
      unit: string | null;
      style: LayerStyle;
      staleAfterMs: number | null;
      stale: string;
      noData: string;
    }
  >
>();
same<
  Equal<
    SampleArrays,
    { handles: Uint32Array; channels: Uint16Array; values: Float64Array; timestamps: Float64Array }
  >
>();
same<Equal<ViewOptions, { backend?: "auto" | "webgpu" | "webgl2"; msaa?: 1 | 4 }>>();
same<
  Equal<
    ViewStats,
    {
      frames: number;
      firstFrameMs: number | null;
      frameMs: number;
      width: number;
      height: number;
      drawCalls: number;
      uploads: number;
      backend: "webgpu" | "webgl2";
    }
  >
>();
same<
  Equal<SimulateReport, { ticks: number; samples: number; applied: number; rejected: number; now: number }>
>();

// The methods hand out those types.
type Returns<K extends keyof Twin> = Twin[K] extends (...a: never[]) => infer R ? R : never;
same<Equal<Returns<"applyJson">, IngestReport>>();
same<Equal<Returns<"applyTyped">, IngestReport>>();
same<Equal<Returns<"channels">, ChannelInfo[]>>();
same<Equal<Returns<"bbox">, Hit[]>>();
same<Equal<Returns<"near">, Hit[]>>();
same<Equal<Returns<"knn">, Hit[]>>();
same<Equal<Returns<"contains">, Hit[]>>();
same<Equal<Returns<"asset">, AssetInfo>>();
same<Equal<Returns<"refreshOverlay">, OverlayFrame>>();
same<Equal<Returns<"overlayLayers">, OverlayLayer[]>>();
same<Equal<Returns<"openAlerts">, Alert[]>>();
same<Equal<Returns<"alert">, Alert>>();
same<Equal<Returns<"vitalSigns">, VitalRow[]>>();
same<Equal<Returns<"vitalSignsAt">, VitalRow[]>>();
same<Equal<Returns<"stateAt">, StateEntry[]>>();
same<Equal<Returns<"valueAt">, ValueAt | null>>();
same<Equal<Returns<"simulate">, SimulateReport>>();
same<Equal<Returns<"simulateSamples">, SampleArrays>>();
same<Equal<Returns<"createView">, Promise<TwinView>>>();
same<Equal<Parameters<Twin["createView"]>[1], ViewOptions>>();
same<Equal<Parameters<Twin["onAlert"]>[0], (event: AlertEvent) => void>>();
same<Equal<Parameters<Twin["onVitalSigns"]>[0], (rows: VitalRow[]) => void>>();
same<Equal<ReturnType<TwinView["stats"]>, ViewStats>>();
same<Equal<ReturnType<TwinView["pick"]>, Promise<Hit | null>>>();

// A page's code, type-checked (not run).
export function dashboard(twin: Twin): string[] {
  const report = twin.applyJson("[]", Date.now());
  const lines = report.errors.map((e) => `${e.line}: ${e.message}`);
  for (const a of twin.openAlerts()) {
    if (a.severity === "critical" && a.acknowledgedAt === null) lines.push(`${a.asset} ${a.value}`);
  }
  for (const row of twin.vitalSigns()) {
    const pm = row.channels["pm25"];
    lines.push(`${row.name}: ${row.alerts.critical} critical, pm2.5 ${pm?.mean ?? "-"}`);
  }
  const layer = twin.overlayLayers()[0];
  if (layer?.style.type === "ramp") lines.push(layer.style.stops.map(([v, c]) => `${v} ${c}`).join(", "));
  const frame = twin.refreshOverlay();
  lines.push(`${frame.colors.length / 4} colours, ${frame.changed.length / 2} ranges`);
  const info = twin.asset("CM-TOWN-CHENGQIAO");
  lines.push(info.names.zh ?? info.name, String(info.latest["level"]?.value ?? ""));
  const cols = twin.simulateSamples(0, 1000);
  twin.applyTyped(cols.handles, cols.channels, cols.values, cols.timestamps);
  // Users' files: the options object and the summary are typed.
  const options: LoadOptions = { name: "roads.fgb", id: "@feature", kind: "osm", lenient: true };
  const summary: LoadSummary = twin.loadData(new Uint8Array(), options);
  for (const p of summary.rejected) lines.push(`${p.file} #${p.index} ${p.id ?? "?"}: ${p.problem}`);
  lines.push(String(summary.added));
  // Incidents and work orders: the same shapes as the server's.
  for (const i of twin.listIncidents("all")) {
    const d: Incident = twin.getIncident(i.id);
    lines.push(`${d.family} ${d.severity} ${d.footprint?.coordinates[0].length ?? 0} ${d.asset_ids?.join() ?? ""}`);
    if (i.order !== null) {
      const step: StepOptions = { by: "duty", note: "on the way" };
      const o: Order = twin.stepOrder(i.order, "accept", step);
      lines.push(`${o.state} ${o.next.map((n) => `${n.action}:${n.role}`).join()} ${o.history.at(-1)?.by}`);
    }
  }
  lines.push(String(twin.listOrders().length));
  for (const i of twin.incidentsAt(twin.now - 60000)) lines.push(`${i.id} ${i.at?.state} ${i.at?.order_state ?? "-"}`);
  return lines;
}
