// The simulator in a Web Worker (a module worker): it loads the same wasm package,
// makes the bundled twin and runs the seeded simulator over the simulated intervals
// the page asks for, without applying them here. The samples go back to the page as
// typed arrays, transferred (not copied), one message per simulated second so the page
// can apply them between frames.
//
// Messages in:  {type: "start", seed, startMs}     → {type: "ready", sensors, incidents, loadMs}
//               {type: "run", fromMs, toMs, seq}   → {type: "samples", ...} per second, then
//                                                    {type: "done", seq, toMs, samples, ms}
// On failure:   {type: "error", message}
import init, { Twin } from "./pkg/twin_wasm.js";

let twin = null;

function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

async function start({ seed, startMs }) {
  const t0 = performance.now();
  await init();
  twin = Twin.bundled();
  twin.startSimulator(seed, startMs, true);
  post({ type: "ready", size: twin.size, incidents: twin.incidents(), loadMs: performance.now() - t0 });
}

function run({ fromMs, toMs, seq }) {
  const t0 = performance.now();
  let samples = 0;
  for (let t = fromMs; t < toMs; t += 1000) {
    const s = twin.simulateSamples(t, Math.min(t + 1000, toMs));
    samples += s.handles.length;
    post({ type: "samples", seq, toMs: Math.min(t + 1000, toMs), ...s },
      [s.handles.buffer, s.channels.buffer, s.values.buffer, s.timestamps.buffer]);
  }
  post({ type: "done", seq, toMs, samples, ms: performance.now() - t0 });
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "start") await start(data);
    else if (data.type === "run") run(data);
  } catch (e) {
    post({ type: "error", message: e instanceof Error ? e.message : String(e) });
  }
};
