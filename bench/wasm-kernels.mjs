// The WebAssembly SIMD kernels of src/emit/wasm/ (issue 17's foundation) against the machine's SIMD
// ceiling, TF.js's wasm backend (XNNPACK, SIMD, one thread) and nnc's current scalar TypeScript modules,
// all in one process, interleaved, after checking that they agree.
//
// - Ceiling: a synthetic loop of independent f32x4 multiply chains and add chains (no memory traffic),
//   built with the same encoder; the best of a few chain counts. Plain SIMD128 has no FMA, so a multiply
//   and an add are two instructions: the ceiling is the add + mul throughput.
// - Kernels: float32 dense forward y = x·Wᵀ + b, and the backward dx = dy·W and dW = dyᵀ·x, at the shapes of
//   the feasibility study (TARGETS.md). GFLOP/s count 2·m·K·N per product.
// - TF.js wasm: its best path for each product, with the operand transposed once outside the timing
//   (forward `fused.matMul(x, Wᵀ, bias)`, dx `matMul(dy, W)`, dW `matMul(dyᵀ, x)`), each call reading
//   its result back (`dataSync`) as a caller would.
// - nnc TypeScript: a module built by `node bin/nnc.js build` for a one-layer spec, timed through its
//   public `forward` (and `backward`, which computes dW, db and dx together).
// Run after `npm run build`: `node bench/wasm-kernels.mjs [--json] [--quick]` (other flags are ignored, so
// that bench/run.mjs can pass its arguments to every benchmark).
/* global WebAssembly */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const out = (...s) => (json ? console.error(...s) : console.log(...s));

const { Code, encodeModule } = await import(pathToFileURL(path.join(root, "dist/src/emit/wasm/encoder.js")).href);
const dense = await import(pathToFileURL(path.join(root, "dist/src/emit/wasm/dense.js")).href);

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
// Short samples, many of them: on a shared machine (the scheduler's slices are a few ms) a 1 ms sample
// often runs uninterrupted, so the fastest sample of each implementation measures the code and the median
// measures the code under the machine's load.
const repeats = quick ? 21 : 101;
const sampleMs = 1;

/** Calls per sample so that one sample takes about `sampleMs`. */
function calibrate(fn) {
  let n = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn();
    const dt = now() - t0;
    if (dt >= sampleMs / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * sampleMs) / Math.max(dt, 1e-3)));
    n *= 4;
  }
}

/** The ceiling loop, once chosen, takes its turn in every later round, so that each case's share of the
 *  ceiling compares samples taken under the same load (the machine is shared). */
let ceilingImpl;

/** Medians of interleaved samples, in ms per call: implementations take turns in every round. */
function timeAll(given) {
  const impls = ceilingImpl ? [...given, ceilingImpl] : given;
  for (const impl of impls) {
    for (let i = 0; i < 50; i++) impl.fn(); // warm-up: the optimizing tier, TF.js's first-call work
    impl.calls = calibrate(impl.fn);
    impl.samples = [];
  }
  for (let r = 0; r < repeats; r++) {
    for (const impl of impls) {
      const t0 = now();
      for (let i = 0; i < impl.calls; i++) impl.fn();
      impl.samples.push((now() - t0) / impl.calls);
    }
  }
  return impls.map((impl) => ({
    name: impl.name,
    ms: median(impl.samples),
    bestMs: Math.min(...impl.samples),
    samples: impl.samples.length,
  }));
}

// ── the ceiling ─────────────────────────────────────────────────────────────────────────────────────────
/** `chains` multiply chains and `chains` add chains of f32x4 (split), or 2·`chains` chains of a multiply
 *  then an add (fused), iterated `n` times (the argument). 2·chains + 2 vector values must fit V8's ~15
 *  vector registers, or the loop spills and measures memory instead. */
function ceilingModule(chains, fused) {
  const c = new Code();
  const iters = 0;
  const acc = Array.from({ length: 2 * chains }, (_, i) => 1 + i);
  const mulBy = 1 + 2 * chains;
  const addOf = mulBy + 1;
  for (const a of acc) c.f32Const(1).f32x4Splat().set(a);
  c.f32Const(0.9999999).f32x4Splat().set(mulBy);
  c.f32Const(1e-7).f32x4Splat().set(addOf);
  c.loop();
  if (fused) {
    for (const a of acc) c.get(a).get(mulBy).f32x4Mul().get(addOf).f32x4Add().set(a);
  } else {
    for (let i = 0; i < chains; i++) c.get(acc[i]).get(mulBy).f32x4Mul().set(acc[i]);
    for (let i = chains; i < 2 * chains; i++) c.get(acc[i]).get(addOf).f32x4Add().set(acc[i]);
  }
  c.get(iters).i32Const(1).i32Sub().tee(iters).brIf(0).end();
  c.get(acc[0]).f32x4ExtractLane(0);
  for (let i = 1; i < acc.length; i++) c.get(acc[i]).f32x4ExtractLane(0).f32Add();
  const locals = [...acc.map(() => "v128"), "v128", "v128"];
  const fn = { name: "run", params: ["i32"], results: ["f32"], locals, body: c };
  const bytes = encodeModule({ memory: { exportAs: "memory", minPages: 1 }, functions: [fn] });
  return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.run;
}

/** The loop shape that runs fastest here (best sample of each: the choice should not depend on a
 *  moment's load); each iteration does 2·chains vector multiplies or adds. */
function ceiling() {
  const iters = 1 << 16;
  let best = { gflops: 0 };
  for (const fused of [false, true]) {
    for (const chains of [4, 5, 6]) {
      const run = ceilingModule(chains, fused);
      const impl = { name: "ceiling", fn: () => run(iters) };
      const [t] = timeAll([impl]);
      const flopsPerCall = iters * 2 * chains * 4;
      const gflops = flopsPerCall / (Math.min(...impl.samples) * 1e6);
      if (gflops > best.gflops)
        best = { gflops, median: flopsPerCall / (t.ms * 1e6), chains, fused, flopsPerCall, impl };
    }
  }
  return best;
}

// ── the kernels ─────────────────────────────────────────────────────────────────────────────────────────
function randomArray(n, seed) {
  let a = seed >>> 0;
  const outArr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    outArr[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return outArr;
}

/** One dense layer's four kernels in one module over a fresh memory, with its arrays placed in it. */
function wasmLayer(m, K, N) {
  const shape = { inFeatures: K, outFeatures: N, bias: true, dtype: "float32" };
  const bytes = dense.denseLayerModule(shape, { accumulate: false });
  const sizes = { x: m * K, w: N * K, b: N, y: m * N, dy: m * N, dx: m * K, dw: N * K, db: N };
  let next = 0;
  const addr = {};
  for (const [k, n] of Object.entries(sizes)) {
    addr[k] = next;
    next += Math.ceil((n * 4) / 16) * 16;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil(next / 65536) + 1 });
  const view = (k) => new Float32Array(memory.buffer, addr[k], sizes[k]);
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  return { bytes, addr, view, e, m };
}

async function tsModule(K, N) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-wasm-bench-"));
  const spec = path.join(dir, `dense_${K}_${N}.nn`);
  fs.writeFileSync(spec, `model Dense${K}x${N}(x: f32[${K}]) {\n  dense(${N})\n}\n`);
  execFileSync(process.execPath, [path.join(root, "bin/nnc.js"), "build", spec, "--out", dir, "--emit", "js"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const file = path.join(dir, `dense_${K}_${N}.js`);
  return import(pathToFileURL(file).href);
}

const maxDiff = (a, b) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

function tensorsFor(L, K, N) {
  const x = tf.tensor2d(L.view("x"), [L.m, K]);
  const w = tf.tensor2d(L.view("w"), [N, K]);
  const wT = tf.transpose(w);
  const b = tf.tensor1d(L.view("b"));
  const dy = tf.tensor2d(L.view("dy"), [L.m, N]);
  const dyT = tf.transpose(dy);
  return { x, w, wT, b, dy, dyT };
}

const tfRun = (f) => () => {
  const r = f();
  r.dataSync();
  r.dispose();
};

async function caseForward(m, K, N, ts) {
  const L = wasmLayer(m, K, N);
  L.view("x").set(randomArray(m * K, 1));
  L.view("dy").set(randomArray(m * N, 2));
  const p = ts.createParams(7);
  const wInfo = ts.params.find((t) => t.role === "matrix");
  const bInfo = ts.params.find((t) => t.role === "bias");
  L.view("w").set(p.subarray(wInfo.offset, wInfo.offset + wInfo.size));
  L.view("b").set(p.subarray(bInfo.offset, bInfo.offset + bInfo.size));
  const x = L.view("x").slice();
  const t = tensorsFor(L, K, N);
  const fwd = () => L.e.forward(L.addr.x, L.addr.w, L.addr.b, L.addr.y, m);
  fwd();
  const tsOut = ts.forward(p, x, m).slice();
  const tfOut = tf.tidy(() => tf.fused.matMul({ a: t.x, b: t.wT, bias: t.b })).dataSync();
  const agree = { ts: maxDiff(L.view("y"), tsOut), tfjs: maxDiff(L.view("y"), tfOut) };
  const times = timeAll([
    { name: "wasm", fn: fwd },
    { name: "tfjs-wasm", fn: tfRun(() => tf.fused.matMul({ a: t.x, b: t.wT, bias: t.b })) },
    { name: "ts", fn: () => ts.forward(p, x, m) },
  ]);
  return { L, t, times, agree, p };
}

async function caseBackward(m, K, N, ts) {
  const { L, t, p } = await caseForward(m, K, N, ts);
  const dyArr = L.view("dy").slice();
  const grads = new Float32Array(ts.paramCount);
  const ex = L.e;
  const dx = () => ex.backwardInput(L.addr.dy, L.addr.w, L.addr.dx, m);
  const dw = () => ex.backwardWeight(L.addr.dy, L.addr.x, L.addr.dw, m);
  const db = () => ex.backwardBias(L.addr.dy, L.addr.db, m);
  dx();
  dw();
  db();
  const tfDx = tf.matMul(t.dy, t.w).dataSync();
  const tfDw = tf.matMul(t.dyT, t.x).dataSync();
  ts.forward(p, L.view("x").slice(), m);
  const tsDx = ts.backward(p, dyArr, grads).slice();
  const wInfo = ts.params.find((q) => q.role === "matrix");
  const agree = {
    dx: Math.max(maxDiff(L.view("dx"), tfDx), maxDiff(L.view("dx"), tsDx)),
    dw: Math.max(maxDiff(L.view("dw"), tfDw), maxDiff(L.view("dw"), grads.subarray(wInfo.offset))),
  };
  const times = timeAll([
    { name: "wasm dx", fn: dx },
    { name: "wasm dW", fn: dw },
    { name: "wasm db", fn: db },
    { name: "tfjs-wasm dx", fn: tfRun(() => tf.matMul(t.dy, t.w)) },
    { name: "tfjs-wasm dW", fn: tfRun(() => tf.matMul(t.dyT, t.x)) },
    { name: "ts backward (dW, db, dx)", fn: () => ts.backward(p, dyArr, grads) },
  ]);
  return { L, times, agree };
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────────────
tf.enableProdMode();
setWasmPaths(`${path.join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist")}${path.sep}`);
setThreadsCount(1);
if (!(await tf.setBackend("wasm"))) throw new Error("the TF.js wasm backend did not initialize");
const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  node: process.version,
  loadBefore: os.loadavg(),
};
out(
  `nnc wasm kernels — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, TF.js ${tf.version.tfjs} (wasm SIMD ${simd ? "on" : "OFF"}, 1 thread)`,
);
out(
  `load average before: ${machine.loadBefore.map((l) => l.toFixed(2)).join(" ")}; GFLOP/s and times are medians of ${repeats} interleaved samples ("best": the fastest sample), shares use medians${quick ? " (QUICK)" : ""}`,
);
const ceil = ceiling();
ceilingImpl = ceil.impl;
out(
  `SIMD add+mul ceiling (f32x4, ${ceil.fused ? `${2 * ceil.chains} multiply-then-add chains` : `${ceil.chains} multiply + ${ceil.chains} add chains`}, no memory): best sample ${ceil.gflops.toFixed(1)} GFLOP/s, median ${ceil.median.toFixed(1)}; it runs again in every round below`,
);
out();

const results = [];
const gf = (flops, ms) => flops / (ms * 1e6);
const fmt = (ms) => (ms < 0.1 ? `${(ms * 1000).toFixed(2)} µs` : `${ms.toFixed(3)} ms`);
const ceilingOf = (times) => ceil.flopsPerCall / (times.find((t) => t.name === "ceiling").ms * 1e6);
const ceilingLine = (times) => {
  const t = times.find((q) => q.name === "ceiling");
  out(
    `  ${"".padEnd(24)} SIMD ceiling in the same rounds: median ${ceilingOf(times).toFixed(1)} GFLOP/s, best ${(ceil.flopsPerCall / (t.bestMs * 1e6)).toFixed(1)}`,
  );
};
/** Prints one case's rows; `scale` turns the f32x4 ceiling into the kernel's (1/2 for f64x2: same
 *  instructions, half the lanes). Shares: median against median, and best sample against best sample. */
const line = (label, flops, times, base, scale = 1) => {
  const b = times.find((t) => t.name === base);
  const c = times.find((t) => t.name === "ceiling");
  const ceilMedian = (scale * ceil.flopsPerCall) / (c.ms * 1e6);
  const ceilBest = (scale * ceil.flopsPerCall) / (c.bestMs * 1e6);
  for (const t of times) {
    if (t.name === "ceiling") continue;
    const g = gf(flops, t.ms);
    const gBest = t.bestMs === undefined ? undefined : gf(flops, t.bestMs);
    const wasm = t.name.startsWith("wasm");
    const share = wasm ? ` (${((100 * g) / ceilMedian).toFixed(0)}% of ceiling)` : "";
    const best =
      gBest === undefined
        ? ""
        : ` | best ${gBest.toFixed(1)}${wasm ? ` (${((100 * gBest) / ceilBest).toFixed(0)}%)` : ""}`;
    const ratio =
      t !== b && b
        ? `   wasm ${(t.ms / b.ms).toFixed(2)}× faster${t.bestMs && b.bestMs ? ` (best: ${(t.bestMs / b.bestMs).toFixed(2)}×)` : ""}`
        : "";
    out(
      `  ${label.padEnd(24)} ${t.name.padEnd(26)} ${fmt(t.ms).padStart(11)}${g.toFixed(1).padStart(7)} GFLOP/s${share}${best}${ratio}`,
    );
    results.push({
      case: label,
      impl: t.name,
      ms: t.ms,
      bestMs: t.bestMs,
      gflops: g,
      gflopsBest: gBest,
      ceilMedian,
      ceilBest,
    });
  }
};

const tsCache = new Map();
const tsFor = async (K, N) => {
  const key = `${K}x${N}`;
  if (!tsCache.has(key)) tsCache.set(key, await tsModule(K, N));
  return tsCache.get(key);
};

for (const [m, K, N] of [
  [32, 784, 256],
  [32, 256, 128],
  [32, 1024, 1024],
  [1, 784, 128],
  [32, 128, 10],
]) {
  const ts = await tsFor(K, N);
  const { times, agree, L } = await caseForward(m, K, N, ts);
  const label = `forward ${m}×${K}→${N}`;
  line(label, 2 * m * K * N, times, "wasm");
  ceilingLine(times);
  out(
    `  ${"".padEnd(24)} agree: |wasm − ts| ≤ ${agree.ts.toExponential(1)}, |wasm − tfjs| ≤ ${agree.tfjs.toExponential(1)}; module ${L.bytes.length} bytes`,
  );
}
{
  const [m, K, N] = [32, 784, 128];
  const ts = await tsFor(K, N);
  const { times, agree } = await caseBackward(m, K, N, ts);
  const dxT = times.filter((t) => t.name.endsWith("dx"));
  const dwT = times.filter((t) => t.name.endsWith("dW"));
  const ceilT = times.find((t) => t.name === "ceiling");
  line(`dx ${m}×${K}→${N}`, 2 * m * K * N, [...dxT, ceilT], "wasm dx");
  line(`dW ${m}×${K}→${N}`, 2 * m * K * N, [...dwT, ceilT], "wasm dW");
  const sum = times.filter((t) => t.name.startsWith("wasm")).reduce((s, t) => s + t.ms, 0);
  const tsB = times.find((t) => t.name.startsWith("ts"));
  line(
    `backward ${m}×${K}→${N}`,
    4 * m * K * N,
    [{ name: "wasm dx + dW + db", ms: sum }, { ...tsB, bestMs: undefined }, ceilT],
    "wasm dx + dW + db",
  );
  ceilingLine(times);
  out(
    `  ${"".padEnd(24)} agree: dx ≤ ${agree.dx.toExponential(1)}, dW ≤ ${agree.dw.toExponential(1)} (max |difference| against tfjs and ts)`,
  );
}
// The kernels alone: interleaved only with the ceiling loop, so their operands stay in cache between calls
// (the peers above evict them: a 784×256 weight is 800 KB, a 1024×1024 one 4 MB).
out();
out("kernels alone (warm cache; the ceiling loop still interleaved):");
for (const [m, K, N] of [
  [32, 784, 256],
  [32, 256, 128],
  [32, 1024, 1024],
  [1, 784, 128],
  [32, 784, 128],
]) {
  const L = wasmLayer(m, K, N);
  for (const k of ["x", "w", "b", "dy"]) L.view(k).set(randomArray(L.view(k).length, 11));
  const a = L.addr;
  const impls = [{ name: "wasm forward", fn: () => L.e.forward(a.x, a.w, a.b, a.y, m) }];
  if (K === 784 && N === 128 && m === 32) {
    impls.push({ name: "wasm dx", fn: () => L.e.backwardInput(a.dy, a.w, a.dx, m) });
    impls.push({ name: "wasm dW", fn: () => L.e.backwardWeight(a.dy, a.x, a.dw, m) });
  }
  for (const impl of impls) line(`alone ${m}×${K}→${N}`, 2 * m * K * N, timeAll([impl]), impl.name);
}
out();
// float64 builds: the same tiles in f64x2, half the lanes (wasm only; the peers above are float32).
for (const [m, K, N] of [
  [32, 784, 256],
  [32, 1024, 1024],
]) {
  const bytes = dense.denseLayerModule(
    { inFeatures: K, outFeatures: N, bias: true, dtype: "float64" },
    { accumulate: false },
  );
  const words = m * K + N * K + N + m * N;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((words * 8) / 65536) + 1 });
  new Float64Array(memory.buffer, 0, words).set(randomArray(words, 3));
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  const [xA, wA, bA, yA] = [0, m * K * 8, (m * K + N * K) * 8, (m * K + N * K + N) * 8];
  const times = timeAll([{ name: "wasm f64x2", fn: () => e.forward(xA, wA, bA, yA, m) }]);
  const label = `f64 forward ${m}×${K}→${N}`;
  // The f64x2 ceiling is half the f32x4 one: the same instructions, 2 lanes instead of 4.
  line(label, 2 * m * K * N, times, "wasm f64x2", 1 / 2);
  ceilingLine(times);
}
// Summary: each wasm row's fastest sample against the fastest ceiling sample of the whole run (the
// machine's ceiling when it was least disturbed).
const ceilRun = Math.max(...results.map((r) => r.ceilBest ?? 0));
out(`summary — SIMD ceiling, fastest sample of the run: ${ceilRun.toFixed(1)} GFLOP/s (f32x4; f64x2 half)`);
for (const r of results) {
  if (!r.impl.startsWith("wasm") || r.gflopsBest === undefined) continue;
  const c = r.impl.includes("f64") ? ceilRun / 2 : ceilRun;
  out(
    `  ${r.case.padEnd(24)} ${r.impl.padEnd(14)} best ${r.gflopsBest.toFixed(1).padStart(5)} GFLOP/s = ${((100 * r.gflopsBest) / c).toFixed(0)}%`,
  );
}
machine.loadAfter = os.loadavg();

out(`load average after: ${machine.loadAfter.map((l) => l.toFixed(2)).join(" ")}`);
if (json)
  console.log(
    JSON.stringify({
      bench: "wasm-kernels",
      ceilingRunBest: ceilRun,
      machine,
      ceiling: { bestGflops: ceil.gflops, medianGflops: ceil.median, chains: ceil.chains, fused: ceil.fused },
      quick,
      results,
    }),
  );
