// Recurrent layers on the WebAssembly target (issue 17 item 2): `--target wasm` (input projections on the
// dense SIMD kernels, src/emit/wasm/recurrent.ts) against `--target ts` (the same module's TypeScript
// branch), float32, one process, interleaved rounds; ratios of the CPU time (process.cpuUsage) of each
// round, median over rounds. Then the hidden-to-hidden product of one step on the dense SIMD kernels
// (with its staging copies, as a module would run it) against the TypeScript loop the module runs, at the
// example's size, per sample (m = 1) and for a whole batch at once (m = 8).
// Run after `npm run build`: `node bench/wasm-recurrent.mjs [--quick]`.
/* global WebAssembly */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const { compile } = await import(pathToFileURL(path.join(root, "dist/src/index.js")).href);
const dense = await import(pathToFileURL(path.join(root, "dist/src/emit/wasm/dense.js")).href);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-bench-recurrent-"));

let files = 0;
async function load(source, target, unrollLimit = 256) {
  const result = await compile(source, { dtype: "float32", target, unrollLimit });
  if (result.files.length === 0) throw new Error(result.diagnostics.map((d) => d.message).join("\n"));
  const text = result.files[0].text;
  const js = ts.transpileModule(text, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const file = path.join(tmp, `m${++files}.mjs`);
  fs.writeFileSync(file, js);
  return import(pathToFileURL(file).href);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Interleaved rounds of `fns` (name → () => void), each `calls` times a round: CPU ms per call. */
function rounds(fns, calls, count) {
  const times = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (const f of Object.values(fns)) for (let i = 0; i < calls; i++) f(); // warm-up
  for (let r = 0; r < count; r++) {
    for (const [k, f] of Object.entries(fns)) {
      const t0 = cpu();
      for (let i = 0; i < calls; i++) f();
      times[k].push((cpu() - t0) / calls);
    }
  }
  return times;
}

const rng = (() => {
  let s = 1;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
})();
const filled = (n) => Float32Array.from({ length: n }, rng);

const cases = [
  { name: "lstm-classifier's LstmLayer: lstm(64) on [256, 32], batch 8", layer: "lstm(64)", T: 256, D: 32, n: 8 },
  { name: "lstm(64) on [32, 32], batch 8", layer: "lstm(64)", T: 32, D: 32, n: 8 },
  { name: "lstm(64) on [256, 32], batch 1", layer: "lstm(64)", T: 256, D: 32, n: 1 },
  { name: "gru(64) on [256, 32], batch 8", layer: "gru(64)", T: 256, D: 32, n: 8 },
  {
    name: "lstm(128, layers = 2, bidirectional) on [64, 64], batch 8",
    layer: "lstm(128, layers = 2, bidirectional = true)",
    T: 64,
    D: 64,
    n: 8,
  },
  // Under the hand-over (IN · G·H and R · G·H at most the unroll limit, 256): built with unrollLimit 0 here, so
  // that the wasm module runs them on the kernels anyway.
  {
    name: "test size: lstm(5) on [4, 3], batch 3, wasm forced (unrollLimit 0)",
    layer: "lstm(5)",
    T: 4,
    D: 3,
    n: 3,
    force: true,
  },
  {
    name: "test size: gru(5, layers = 2, bidirectional) on [4, 3], batch 3, wasm forced",
    layer: "gru(5, layers = 2, bidirectional = true)",
    T: 4,
    D: 3,
    n: 3,
    force: true,
  },
];

const count = quick ? 7 : 21;
console.log(
  `load average ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(", ")}; ${os.cpus().length} cores; ${count} rounds`,
);
console.log("case | forward: ts / wasm CPU ms, ts ÷ wasm | training step (forward + backward): ts / wasm, ts ÷ wasm");
for (const c of cases) {
  const source = `model M(x: f32[t <= ${c.T}, ${c.D}]) {\n  ${c.layer}\n}\n`;
  const mts = await load(source, "ts");
  const mwa = await load(source, "wasm", c.force ? 0 : 256);
  if (mwa.kernelTarget !== "wasm-simd") throw new Error("no SIMD");
  const pts = mts.createParams(1);
  const pwa = mwa.createParams(1);
  pwa.set(pts);
  const x = filled(c.n * c.T * c.D);
  const gy = filled(c.n * mts.outputSize);
  const gts = new Float32Array(mts.paramCount);
  const gwa = mwa.grads ?? new Float32Array(mwa.paramCount);
  // agreement first
  const yt = mts.forward(pts, x, c.n);
  const yw = mwa.forward(pwa, x, c.n);
  let worst = 0;
  for (let i = 0; i < yt.length; i++) worst = Math.max(worst, Math.abs(yt[i] - yw[i]));
  if (worst > 1e-4) throw new Error(`disagree ${worst}`);
  const work = c.n * c.T * 4 * 64 * (c.D + 64) * 2;
  const calls = Math.max(1, Math.round(4e6 / work));
  const fwd = rounds({ ts: () => mts.forward(pts, x, c.n), wasm: () => mwa.forward(pwa, x, c.n) }, calls, count);
  const step = rounds(
    {
      ts: () => {
        mts.forward(pts, x, c.n);
        mts.backward(pts, gy, gts);
      },
      wasm: () => {
        mwa.forward(pwa, x, c.n);
        mwa.backward(pwa, gy, gwa);
      },
    },
    calls,
    count,
  );
  const ratio = (t) => median(t.ts.map((v, i) => v / t.wasm[i]));
  const f = (v) => v.toFixed(3);
  console.log(
    `${c.name} | ${f(median(fwd.ts))} / ${f(median(fwd.wasm))} ms, ${ratio(fwd).toFixed(2)}× | ${f(median(step.ts))} / ${f(median(step.wasm))} ms, ${ratio(step).toFixed(2)}×`,
  );
}

// The hidden-to-hidden product of one step, [m, R] × [G·H, R]ᵀ, at lstm-classifier's size (R = 64, G·H = 256):
// the module's TypeScript loop (one sample: for each gate row, a dot product of R) against the SIMD forward
// kernel with the copies a module would make (h into the scratch rows, the result out).
{
  const R = 64;
  const GH = 256;
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const bytes = dense.kernelModule([
    dense.denseForward({ inFeatures: R, outFeatures: GH, bias: false, dtype: "float32" }, "forward"),
  ]);
  const kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.forward;
  const heap = new Float32Array(memory.buffer);
  const W = 0;
  heap.set(filled(GH * R), W);
  const XS = GH * R;
  const YS = XS + 8 * R;
  const p = Float32Array.from(heap.subarray(0, GH * R));
  const seq = filled(8 * R);
  const gates = new Float32Array(8 * GH);
  const tsStep = (m) => {
    for (let b = 0; b < m; b++) {
      for (let j = 0; j < GH; j++) {
        let ah = 0;
        for (let k = 0, w = j * R; k < R; k++, w++) ah += p[w] * seq[b * R + k];
        gates[b * GH + j] = ah;
      }
    }
  };
  const wasmStep = (m) => {
    heap.set(seq.subarray(0, m * R), XS);
    kernel(XS * 4, W * 4, 0, YS * 4, m);
    gates.set(heap.subarray(YS, YS + m * GH), 0);
  };
  const wasmPerSample = (m) => {
    for (let b = 0; b < m; b++) {
      heap.set(seq.subarray(b * R, (b + 1) * R), XS);
      kernel(XS * 4, W * 4, 0, YS * 4, 1);
      gates.set(heap.subarray(YS, YS + GH), b * GH);
    }
  };
  for (const m of [1, 8]) {
    const t = rounds(
      { ts: () => tsStep(m), wasm: () => wasmStep(m), wasmPerSample: () => wasmPerSample(m) },
      2000,
      count,
    );
    const ratio = (k) => median(t.ts.map((v, i) => v / t[k][i]));
    console.log(
      `hidden-to-hidden, one step, m = ${m}: ts ${(median(t.ts) * 1000).toFixed(2)} µs, wasm (m rows in one call) ${(median(t.wasm) * 1000).toFixed(2)} µs (${ratio("wasm").toFixed(2)}×), wasm one call per sample ${(median(t.wasmPerSample) * 1000).toFixed(2)} µs (${ratio("wasmPerSample").toFixed(2)}×)`,
    );
  }
}
console.log(
  `load average after ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(", ")}`,
);
