// Benchmark: the workloads of the "Performance" issue — nnc's generated modules against TF.js (cpu backend;
// wasm backend with SIMD on one thread) and plain nested loops written here.
//   W1 MLP 784-128-10 ReLU, batch 1, forward          W4 MLP 2-8-8-1 tanh, batch 1, forward + backward
//   W2 MLP 784-256-128-10 ReLU, batch 32, forward     W5 LeNet-5 forward (batch 1), training step (batch 32)
//   W3 training step 784-128-10, batch 32, SGD        W6 tiny GPT training step, batch 8 (when it compiles)
//   sweep: one square dense layer, widths 8…1024, batch 1 and 32; nnc at the default unroll limit, always
//   tiled (unrollLimit 0) and always unrolled (up to width 128)
// Run after `npm run build`: `node bench/workloads.mjs [--json] [--quick] [--only W2,W5,sweep]`.
//
// Method. Each case runs in this one process: every implementation is set up, checked against the plain
// loops (max relative difference = max over tensors of ‖a − ref‖∞ / ‖ref‖∞; the case is aborted above 1e-4),
// warmed up, then timed in interleaved rounds (A B C … then B C … A, rotating), each sample a number of calls
// calibrated to last ≥ the sample time; the median per-call time is printed (± half the interquartile
// range). GFLOP/s = 2 × MACs per call (MACs as `nnc count` reports them: matrix products and convolutions) /
// time; a training step or forward + backward counts 3 × the forward MACs (forward, then for each product
// the input gradient and the weight gradient), less, in a training step, the input gradient of the first
// layer when it reads a float input: nothing needs it, and nnc, TF.js and the plain loops all skip it. Memory: heapUsed + external (typed arrays and the WASM heap
// live in `external`), post-GC deltas: "kept" is what setup and the first call leave behind, "per call" the
// peak above a post-GC baseline over a run of steady-state calls (garbage made per call). The WASM heap only
// grows, so its "kept" figure is the growth in that case (0 when an earlier case already grew it).
// The nnc side compiles the spec with `compile` (float32 by default; float64 is timed too), transpiles the
// generated TypeScript with `typescript`'s transpileModule and imports it from a temporary file: one fresh
// module instance per case. Every implementation gets the same weights: nnc's `createParams(seed)`,
// converted to TF.js layouts (dense kernel [in, out], conv filter [kh, kw, in, out], NHWC flatten order).
// TF.js runs its fastest ops (fused matMul / conv2d with bias, prod mode); a peer that lacks a kernel is
// reported "not available" (tfjs-wasm has no Conv2DBackpropFilter), or works around it and says so (no
// UnsortedSegmentSum, the gradient of gather: tiny GPT embeds by a one-hot matMul there). A training check
// compares the loss and Δp / lr of one SGD step at lr = 100 (so Δp stands above float32 rounding of p).
// "always unrolled" asks for unrollLimit 1,000,000; compile() caps the option at 16,384, which the sweep
// then uses (it covers 128 × 128). Profiling a case: `node --cpu-prof bench/workloads.mjs --only W2`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import ts from "typescript";
import { nodeHost } from "../dist/src/program/node-host.js";
import { modelFigures } from "../dist/src/count/count.js";
import { compile } from "../dist/src/emit/compile.js";
import { checkProgram } from "../dist/src/program/check.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const onlyAt = args.indexOf("--only");
const only =
  onlyAt === -1
    ? undefined
    : (args[onlyAt + 1] ?? "")
        .split(",")
        .filter(Boolean)
        .map((s) => s.toLowerCase());
if (onlyAt !== -1 && (only === undefined || only.length === 0)) {
  console.error("usage: node bench/workloads.mjs [--json] [--quick] [--only W1,W2,…,sweep]");
  process.exit(2);
}
/** Human-readable output: stdout, or stderr with --json (stdout then holds only the JSON line). */
const out = (line = "") => (json ? process.stderr : process.stdout).write(`${line}\n`);

const SEED = 42;
const TOLERANCE = 1e-4;
const TRAIN_LR = 0.01;
/** The agreement check of a training step uses a large rate, so that Δp / lr (the gradient) stands well
 *  above the float32 rounding of the parameters themselves. */
const CHECK_LR = 100;
const budget = quick
  ? { warmMs: 50, warmCalls: 2, sampleMs: 1, caseMs: 150, sweepMs: 80, minRounds: 3, maxRounds: 40, memMs: 10 }
  : { warmMs: 250, warmCalls: 5, sampleMs: 4, caseMs: 2500, sweepMs: 1400, minRounds: 7, maxRounds: 400, memMs: 60 };

v8.setFlagsFromString("--expose-gc");
// V8 drops the bytecode of functions unused over a few GCs (the compiler's, the TypeScript transpiler's):
// that would show up as negative "kept" memory in whichever implementation is measured next.
v8.setFlagsFromString("--no-flush-bytecode");
const gc = vm.runInNewContext("gc");
/** Full collections until the heap stops shrinking (finalizers and weak caches free more on later ones). */
const settle = () => {
  let last = Infinity;
  for (let i = 0; i < 8; i++) {
    gc();
    const m = memNow();
    if (last - m < 16 * 1024) return;
    last = m;
  }
};
const memNow = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const now = () => performance.now();

// ── Small helpers ────────────────────────────────────────────────────────────────────────────────────

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const uniform = (count, lo, hi, seed) => {
  const r = mulberry32(seed);
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = lo + (hi - lo) * r();
  return a;
};
const integers = (count, below, seed) => {
  const r = mulberry32(seed);
  const a = new Int32Array(count);
  for (let i = 0; i < count; i++) a[i] = Math.floor(r() * below);
  return a;
};
const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}
function fmtTime(ms) {
  const us = ms * 1000;
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(1)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 3 : 2)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
function fmtBytes(b) {
  const sign = b < 0 ? "-" : "";
  const a = Math.abs(b);
  if (a < 1024) return `${sign}${a.toFixed(0)} B`;
  if (a < 1024 * 1024) return `${sign}${(a / 1024).toFixed(1)} KiB`;
  return `${sign}${(a / 1024 / 1024).toFixed(1)} MiB`;
}
const fmtRatio = (r) => (r >= 100 ? `${r.toFixed(0)}×` : r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`);
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

// ── nnc: compile, transpile, import a fresh instance ────────────────────────────────────────────────────

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-workloads-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
process.on("SIGINT", () => process.exit(130)); // still remove the temporary modules
const compiled = new Map();
let instances = 0;
/** Largest unroll limit `compile` accepts (src/emit/budgets.ts: 4,096 multiply–adds, a 64 × 64 layer; wider
 *  unrolled layers are the cliff this sweep measured, 35–70× slower than the tiled kernel). */
const unrollAll = 4_096;

/** Compiles (cached) and imports a new instance. Returns { mod, text, compileMs } or { diagnostics }. */
async function nnc(name, source, options = {}, file = "workload.nn", patch = undefined) {
  const key = `${file}\0${source}\0${JSON.stringify(options)}\0${patch?.name ?? ""}`;
  let c = compiled.get(key);
  if (c === undefined) {
    const t0 = now();
    const result = await compile(source, options, file, nodeHost);
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0 || result.files.length === 0) {
      c = { diagnostics: errors };
    } else {
      const text = patch ? patch(result.files[0].text) : result.files[0].text;
      const js = ts.transpileModule(text, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      }).outputText;
      c = { text, js, compileMs: now() - t0 };
    }
    compiled.set(key, c);
  }
  if (c.diagnostics) return c;
  const file2 = path.join(tmp, `${name.replace(/[^\w-]/g, "_")}-${++instances}.mjs`);
  fs.writeFileSync(file2, c.js);
  const mod = await import(pathToFileURL(file2).href);
  return { mod, text: c.text, compileMs: c.compileMs };
}

/** The "before" of the convolutions on the WebAssembly target (issue 17 item 2), measured in the same run:
 *  a `--target wasm` module whose convolutions take their TypeScript branch (im2col + the register-tiled
 *  kernel, what the target ran before) while its dense layers stay on the SIMD kernels. Each convolution's
 *  code is `if (arena) { wasmConvForward(…) } else { TypeScript }`; the patch makes the test false. */
function convsOnTypeScript(text) {
  const patched = text.replace(/if \(arena\) \{(\s*)wasmConv/g, "if (false) {$1wasmConv");
  if (patched === text) throw new Error("convsOnTypeScript: no convolution on the WebAssembly kernels to patch");
  return patched;
}

/** The "before" of attention on the WebAssembly target (issue 17 item 2), measured in the same run: the
 *  module of \`--target wasm\` with its attention projections patched back to the TypeScript kernels (what the
 *  target ran before; the per-head products too) while its dense layers stay on the SIMD kernels. Each
 *  projection's code is a comment line (\`// q = … every position of every sample\`, \`// q: d(…)\`,
 *  \`// output projection…\`) then \`if (arena) wasmDense…(…); else denseTiled…(…)\`; the patch makes the
 *  test false. */
function attentionOnTypeScript(text) {
  const patched = text
    .replace(
      /(\/\/ (?:[qkv] = [^\n]*every position of every sample|[qkv]: d\([^\n]*|output projection[^\n]*)\n\s*)if \(arena\) wasmDense/g,
      "$1if (false) wasmDense",
    )
    .replace(
      // the per-head products (head widths above 16): `if (arena) { // on the SIMD kernels (…attention.ts) …`
      /if \(arena\) \{(\s*)\/\/ on the SIMD kernels \(src\/emit\/wasm\/attention\.ts\)/g,
      "if (false) {$1//",
    );
  if (patched === text)
    throw new Error("attentionOnTypeScript: no attention projection on the WebAssembly kernels to patch");
  return patched;
}

/** MACs per sample of a spec, as `nnc count` reports them, and those of the input gradient a training step
 *  does not compute: the first layer's, when it reads a float model input (nnc's trainStep, TF.js's
 *  gradients with respect to variables and the plain loops all skip it); 0 for token inputs. */
function macsOf(source, file) {
  const checked = checkProgram(file, { readFile: () => ({ ok: false, reason: "no imports" }) }, source);
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`${file}: ${errors[0].code} ${errors[0].message}`);
  const a = checked.value.models[0].analysis;
  return {
    macs: Number(modelFigures(a).macs),
    skippedInputGrad: a.inputs[0].dtype === "token" ? 0 : Number(a.root.children[0]?.macs ?? 0n),
  };
}

/** Tensors of the manifest that own their elements (a tied tensor shares its target's). */
const owned = (mod) => mod.params.filter((t) => !t.tiedTo);

// ── TF.js ───────────────────────────────────────────────────────────────────────────────────────────────

tf.enableProdMode(); // no debug checks, no console banner: each peer at its best
setWasmPaths(`${path.join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist")}${path.sep}`);
setThreadsCount(1);
if (!(await tf.setBackend("wasm"))) throw new Error("the TF.js wasm backend did not initialize");
const wasmInfo = {
  simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
  multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
  threads: getThreadsCount(),
};
await tf.setBackend("cpu");
const hasKernel = (kernel, backend) => tf.getKernel(kernel, backend) !== undefined;

/** Index permutations from a TF.js layout to nnc's (PyTorch's): tfIndex → nncIndex. */
const layouts = {
  /** nnc [rows, cols] → TF.js [cols, rows]. */
  transpose(rows, cols) {
    const perm = new Int32Array(rows * cols);
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) perm[c * rows + r] = r * cols + c;
    return { shape: [cols, rows], perm };
  },
  /** nnc conv [o, i, kh, kw] → TF.js [kh, kw, i, o]. */
  conv(o, i, kh, kw) {
    const perm = new Int32Array(o * i * kh * kw);
    for (let a = 0; a < kh; a++)
      for (let b = 0; b < kw; b++)
        for (let c = 0; c < i; c++)
          for (let d = 0; d < o; d++) perm[((a * kw + b) * i + c) * o + d] = ((d * i + c) * kh + a) * kw + b;
    return { shape: [kh, kw, i, o], perm };
  },
  /** A dense layer after flattening [c, h, w] (nnc, CHW) that TF.js flattens as [h, w, c] (NHWC):
   *  nnc [out, c·h·w] → TF.js [h·w·c, out]. */
  flattenedDense(out, c, h, w) {
    const inF = c * h * w;
    const perm = new Int32Array(out * inF);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++)
          for (let o = 0; o < out; o++) perm[((y * w + x) * c + ch) * out + o] = o * inF + (ch * h + y) * w + x;
    return { shape: [inF, out], perm };
  },
};

/** TF.js variables holding nnc's parameters, in TF.js layouts (on the active backend). */
function makeTfVars(mod, base, layoutOf) {
  return owned(mod).map((info) => {
    const layout = layoutOf(info) ?? { shape: info.shape, perm: null };
    const data = new Float32Array(info.size);
    if (layout.perm) for (let k = 0; k < info.size; k++) data[k] = base[info.offset + layout.perm[k]];
    else data.set(base.subarray(info.offset, info.offset + info.size));
    return { info, layout, v: tf.variable(tf.tensor(data, layout.shape, "float32")) };
  });
}
/** A TF.js tensor's values back in nnc's layout. */
function fromTf(entry, values) {
  const a = new Float64Array(entry.info.size);
  if (entry.layout.perm) for (let k = 0; k < a.length; k++) a[entry.layout.perm[k]] = values[k];
  else for (let k = 0; k < a.length; k++) a[k] = values[k];
  return a;
}

// ── Plain loops: the baseline and the numerical reference (Float32Array storage, allocation per call) ──

const plain = {
  dense(x, rows, nin, nout, p, wo, bo) {
    const y = new Float32Array(rows * nout);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < nout; o++) {
        let s = bo < 0 ? 0 : p[bo + o];
        for (let i = 0; i < nin; i++) s += x[r * nin + i] * p[wo + o * nin + i];
        y[r * nout + o] = s;
      }
    return y;
  },
  /** Gradients of a dense layer; the input gradient only when `wantDx` (a training step needs none for
   *  the layer that reads the model input). */
  denseBack(x, dy, rows, nin, nout, p, wo, bo, gp, wantDx = true) {
    const dx = new Float32Array(wantDx ? rows * nin : 0);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < nout; o++) {
        const g = dy[r * nout + o];
        if (bo >= 0) gp[bo + o] += g;
        for (let i = 0; i < nin; i++) gp[wo + o * nin + i] += g * x[r * nin + i];
        if (wantDx) for (let i = 0; i < nin; i++) dx[r * nin + i] += g * p[wo + o * nin + i];
      }
    return dx;
  },
  map(x, f) {
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
    return y;
  },
  relu: (x) => plain.map(x, (v) => (v > 0 ? v : 0)),
  reluBack(x, dy) {
    const dx = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
    return dx;
  },
  tanh: (x) => plain.map(x, Math.tanh),
  /** From the output y = tanh(x). */
  tanhBack(y, dy) {
    const dx = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
    return dx;
  },
  gelu: (x) => plain.map(x, (v) => 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))),
  geluBack(x, dy) {
    const dx = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const t = Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v));
      dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v));
    }
    return dx;
  },
  add(a, b) {
    const y = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
    return y;
  },
  conv(x, n, c, h, w, oc, k, p, wo, bo) {
    const oh = h - k + 1;
    const ow = w - k + 1;
    const y = new Float32Array(n * oc * oh * ow);
    for (let b = 0; b < n; b++)
      for (let o = 0; o < oc; o++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let s = p[bo + o];
            for (let ch = 0; ch < c; ch++)
              for (let u = 0; u < k; u++)
                for (let v = 0; v < k; v++)
                  s += x[((b * c + ch) * h + i + u) * w + j + v] * p[wo + ((o * c + ch) * k + u) * k + v];
            y[((b * oc + o) * oh + i) * ow + j] = s;
          }
    return y;
  },
  convBack(x, dy, n, c, h, w, oc, k, p, wo, bo, gp, wantDx = true) {
    const oh = h - k + 1;
    const ow = w - k + 1;
    const dx = new Float32Array(wantDx ? n * c * h * w : 0);
    for (let b = 0; b < n; b++)
      for (let o = 0; o < oc; o++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const g = dy[((b * oc + o) * oh + i) * ow + j];
            gp[bo + o] += g;
            for (let ch = 0; ch < c; ch++)
              for (let u = 0; u < k; u++)
                for (let v = 0; v < k; v++) {
                  const xi = ((b * c + ch) * h + i + u) * w + j + v;
                  const wi = wo + ((o * c + ch) * k + u) * k + v;
                  gp[wi] += g * x[xi];
                  if (wantDx) dx[xi] += g * p[wi];
                }
          }
    return dx;
  },
  /** 2×2 average pooling, stride 2, of [n·c, h, w]. */
  pool(x, nc, h, w) {
    const y = new Float32Array((nc * h * w) / 4);
    for (let q = 0; q < nc; q++)
      for (let i = 0; i < h / 2; i++)
        for (let j = 0; j < w / 2; j++) {
          const a = (q * h + 2 * i) * w + 2 * j;
          y[(q * (h / 2) + i) * (w / 2) + j] = (x[a] + x[a + 1] + x[a + w] + x[a + w + 1]) / 4;
        }
    return y;
  },
  poolBack(dy, nc, h, w) {
    const dx = new Float32Array(nc * h * w);
    for (let q = 0; q < nc; q++)
      for (let i = 0; i < h / 2; i++)
        for (let j = 0; j < w / 2; j++) {
          const g = dy[(q * (h / 2) + i) * (w / 2) + j] / 4;
          const a = (q * h + 2 * i) * w + 2 * j;
          dx[a] = g;
          dx[a + 1] = g;
          dx[a + w] = g;
          dx[a + w + 1] = g;
        }
    return dx;
  },
  layerNorm(x, rows, d, p, go, bo) {
    const y = new Float32Array(rows * d);
    const xhat = new Float32Array(rows * d);
    const rstd = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let j = 0; j < d; j++) m += x[r * d + j];
      m /= d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (x[r * d + j] - m) ** 2;
      const s = 1 / Math.sqrt(v / d + 1e-5);
      rstd[r] = s;
      for (let j = 0; j < d; j++) {
        const h = (x[r * d + j] - m) * s;
        xhat[r * d + j] = h;
        y[r * d + j] = h * p[go + j] + p[bo + j];
      }
    }
    return { y, xhat, rstd };
  },
  layerNormBack(dy, c, rows, d, p, go, bo, gp) {
    const dx = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < d; j++) {
        const g = dy[r * d + j];
        const h = c.xhat[r * d + j];
        gp[go + j] += g * h;
        gp[bo + j] += g;
        a += g * p[go + j];
        b += g * p[go + j] * h;
      }
      a /= d;
      b /= d;
      for (let j = 0; j < d; j++) dx[r * d + j] = c.rstd[r] * (dy[r * d + j] * p[go + j] - a - c.xhat[r * d + j] * b);
    }
    return dx;
  },
  /** Causal self-attention of [n, t, d], `heads` heads, fused qkv projection [3d, d] (q, k, v rows). */
  attention(x, n, t, d, heads, p, o) {
    const hd = d / heads;
    const scale = 1 / Math.sqrt(hd);
    const qkv = plain.dense(x, n * t, d, 3 * d, p, o.w, o.b);
    const probs = new Float32Array(n * heads * t * t);
    const mix = new Float32Array(n * t * d);
    for (let b = 0; b < n; b++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < t; i++) {
          const row = ((b * heads + h) * t + i) * t;
          let m = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let e = 0; e < hd; e++)
              s += qkv[(b * t + i) * 3 * d + h * hd + e] * qkv[(b * t + j) * 3 * d + d + h * hd + e];
            probs[row + j] = s * scale;
            m = Math.max(m, s * scale);
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += Math.exp(probs[row + j] - m);
          for (let j = 0; j <= i; j++) probs[row + j] = Math.exp(probs[row + j] - m) / sum;
          for (let e = 0; e < hd; e++) {
            let s = 0;
            for (let j = 0; j <= i; j++) s += probs[row + j] * qkv[(b * t + j) * 3 * d + 2 * d + h * hd + e];
            mix[(b * t + i) * d + h * hd + e] = s;
          }
        }
    const y = plain.dense(mix, n * t, d, d, p, o.wo, o.bo);
    return { y, x, qkv, probs, mix };
  },
  attentionBack(dy, c, n, t, d, heads, p, o, gp) {
    const hd = d / heads;
    const scale = 1 / Math.sqrt(hd);
    const dmix = plain.denseBack(c.mix, dy, n * t, d, d, p, o.wo, o.bo, gp);
    const dqkv = new Float32Array(n * t * 3 * d);
    const da = new Float64Array(t);
    for (let b = 0; b < n; b++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < t; i++) {
          const row = ((b * heads + h) * t + i) * t;
          let s = 0;
          for (let j = 0; j <= i; j++) {
            let g = 0;
            for (let e = 0; e < hd; e++) {
              const go = dmix[(b * t + i) * d + h * hd + e];
              g += go * c.qkv[(b * t + j) * 3 * d + 2 * d + h * hd + e];
              dqkv[(b * t + j) * 3 * d + 2 * d + h * hd + e] += c.probs[row + j] * go;
            }
            da[j] = g;
            s += c.probs[row + j] * g;
          }
          for (let j = 0; j <= i; j++) {
            const ds = c.probs[row + j] * (da[j] - s) * scale;
            for (let e = 0; e < hd; e++) {
              dqkv[(b * t + i) * 3 * d + h * hd + e] += ds * c.qkv[(b * t + j) * 3 * d + d + h * hd + e];
              dqkv[(b * t + j) * 3 * d + d + h * hd + e] += ds * c.qkv[(b * t + i) * 3 * d + h * hd + e];
            }
          }
        }
    return plain.denseBack(c.x, dqkv, n * t, d, 3 * d, p, o.w, o.b, gp);
  },
  /** Mean softmax cross entropy of rows × classes logits; writes the logits' gradient. */
  crossEntropy(logits, labels, rows, classes) {
    const grad = new Float32Array(rows * classes);
    let total = 0;
    for (let r = 0; r < rows; r++) {
      let m = -Infinity;
      for (let k = 0; k < classes; k++) m = Math.max(m, logits[r * classes + k]);
      let s = 0;
      for (let k = 0; k < classes; k++) s += Math.exp(logits[r * classes + k] - m);
      const lse = m + Math.log(s);
      total += lse - logits[r * classes + labels[r]];
      for (let k = 0; k < classes; k++)
        grad[r * classes + k] = (Math.exp(logits[r * classes + k] - lse) - (k === labels[r] ? 1 : 0)) / rows;
    }
    return { loss: total / rows, grad };
  },
  mse(y, target) {
    const grad = new Float32Array(y.length);
    let s = 0;
    for (let i = 0; i < y.length; i++) {
      const e = y[i] - target[i];
      s += e * e;
      grad[i] = (2 * e) / y.length;
    }
    return { loss: s / y.length, grad };
  },
};

// ── Model families: the spec, its TF.js forward pass, its plain forward and backward ─────────────────────

/** Dense layers [{ w, b, act }] from the manifest (weights and their biases, in order). */
function denseLayers(mod, acts) {
  const off = Object.fromEntries(mod.params.map((t) => [t.name, t]));
  return mod.params
    .filter((t) => t.role === "matrix")
    .map((w, k) => ({ w, b: off[w.name.replace(/weight$/, "bias")], act: acts[k] }));
}

/** An MLP: widths [in, h1, …, out], `act` after every layer but the last. */
function mlpFamily(id, widths, act, loss) {
  const lines = [`model ${id}(x: f32[${widths[0]}]) {`];
  for (let k = 1; k < widths.length; k++)
    lines.push(`  dense(${widths[k]})${k < widths.length - 1 && act ? ` ${act}` : ""}`);
  lines.push(`  loss ${loss}`, "}", "");
  const acts = widths.slice(1).map((_, k) => (k < widths.length - 2 ? act : undefined));
  return {
    id,
    source: lines.join("\n"),
    inputSize: widths[0],
    outputSize: widths[widths.length - 1],
    classes: widths[widths.length - 1],
    tfLayout: (info) => (info.shape.length === 2 ? layouts.transpose(info.shape[0], info.shape[1]) : null),
    tfInput: (x, n) => tf.tensor2d(x, [n, widths[0]]),
    tfForward(V, x) {
      let h = x;
      for (const [k, a] of acts.entries()) {
        h = tf.fused.matMul({
          a: h,
          b: V.list[2 * k],
          bias: V.list[2 * k + 1],
          activation: a === "relu" ? "relu" : "linear",
        });
        if (a === "tanh") h = tf.tanh(h);
      }
      return h;
    },
    plain(mod) {
      const layers = denseLayers(mod, acts);
      return (p, x, n) => {
        const xs = [x];
        const pre = [];
        let h = x;
        for (const l of layers) {
          const z = plain.dense(h, n, l.w.shape[1], l.w.shape[0], p, l.w.offset, l.b ? l.b.offset : -1);
          pre.push(z);
          h = l.act === "relu" ? plain.relu(z) : l.act === "tanh" ? plain.tanh(z) : z;
          xs.push(h);
        }
        return {
          y: h,
          back(dy, gp, wantDx = true) {
            let d = dy;
            for (let k = layers.length - 1; k >= 0; k--) {
              const l = layers[k];
              if (l.act === "relu") d = plain.reluBack(pre[k], d);
              else if (l.act === "tanh") d = plain.tanhBack(xs[k + 1], d);
              d = plain.denseBack(
                xs[k],
                d,
                n,
                l.w.shape[1],
                l.w.shape[0],
                p,
                l.w.offset,
                l.b ? l.b.offset : -1,
                gp,
                k > 0 || wantDx,
              );
            }
            return d;
          },
        };
      };
    },
  };
}

const lenetFamily = {
  id: "LeNet5",
  file: path.join(root, "examples/lenet5.nn"),
  inputSize: 1024,
  outputSize: 10,
  classes: 10,
  tfLayout(info) {
    if (info.shape.length === 4) return layouts.conv(...info.shape);
    if (info.name === "fc1.weight") return layouts.flattenedDense(120, 16, 5, 5);
    if (info.shape.length === 2) return layouts.transpose(info.shape[0], info.shape[1]);
    return null;
  },
  tfInput: (x, n) => tf.tensor4d(x, [n, 32, 32, 1]), // one channel: CHW and HWC are the same order
  tfForward(V, x, n) {
    const conv = (h, name) =>
      tf.tanh(
        tf.fused.conv2d({ x: h, filter: V[`${name}.weight`], strides: 1, pad: "valid", bias: V[`${name}.bias`] }),
      );
    const dense = (h, name) => tf.fused.matMul({ a: h, b: V[`${name}.weight`], bias: V[`${name}.bias`] });
    let h = tf.avgPool(conv(x, "conv1"), 2, 2, "valid");
    h = tf.avgPool(conv(h, "conv2"), 2, 2, "valid");
    h = tf.reshape(h, [n, 400]);
    h = tf.tanh(dense(h, "fc1"));
    h = tf.tanh(dense(h, "fc2"));
    return dense(h, "fc3");
  },
  plain(mod) {
    const o = Object.fromEntries(mod.params.map((t) => [t.name, t.offset]));
    return (p, x, n) => {
      const c1 = plain.tanh(plain.conv(x, n, 1, 32, 32, 6, 5, p, o["conv1.weight"], o["conv1.bias"]));
      const s1 = plain.pool(c1, n * 6, 28, 28);
      const c2 = plain.tanh(plain.conv(s1, n, 6, 14, 14, 16, 5, p, o["conv2.weight"], o["conv2.bias"]));
      const s2 = plain.pool(c2, n * 16, 10, 10);
      const f1 = plain.tanh(plain.dense(s2, n, 400, 120, p, o["fc1.weight"], o["fc1.bias"]));
      const f2 = plain.tanh(plain.dense(f1, n, 120, 84, p, o["fc2.weight"], o["fc2.bias"]));
      const y = plain.dense(f2, n, 84, 10, p, o["fc3.weight"], o["fc3.bias"]);
      return {
        y,
        back(dy, gp, wantDx = true) {
          let d = plain.denseBack(f2, dy, n, 84, 10, p, o["fc3.weight"], o["fc3.bias"], gp);
          d = plain.denseBack(f1, plain.tanhBack(f2, d), n, 120, 84, p, o["fc2.weight"], o["fc2.bias"], gp);
          d = plain.denseBack(s2, plain.tanhBack(f1, d), n, 400, 120, p, o["fc1.weight"], o["fc1.bias"], gp);
          d = plain.tanhBack(c2, plain.poolBack(d, n * 16, 10, 10));
          d = plain.convBack(s1, d, n, 6, 14, 14, 16, 5, p, o["conv2.weight"], o["conv2.bias"], gp);
          d = plain.tanhBack(c1, plain.poolBack(d, n * 6, 28, 28));
          return plain.convBack(x, d, n, 1, 32, 32, 6, 5, p, o["conv1.weight"], o["conv1.bias"], gp, wantDx);
        },
      };
    };
  },
};

const GPT = { vocab: 64, t: 16, d: 32, heads: 4, hidden: 128, layers: 2 };
const gptFamily = {
  id: "TinyGpt",
  file: path.join(root, "examples/tiny-gpt.nn"),
  tokens: true,
  inputSize: GPT.t,
  outputSize: GPT.t * GPT.vocab,
  classes: GPT.vocab,
  rowsPerSample: GPT.t,
  tfLayout(info) {
    if (info.role === "matrix") return layouts.transpose(info.shape[0], info.shape[1]);
    return null; // embeddings (wte is also the tied LM head: matMul with transposeB), norms, biases
  },
  tfInput: (x, n) => tf.tensor2d(x, [n, GPT.t], "int32"),
  tfConstants(backend) {
    const { t, vocab } = GPT;
    const mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -1e9;
    // The wasm backend has no UnsortedSegmentSum kernel, the gradient of gather: embed by one-hot matMul.
    const gather = hasKernel("UnsortedSegmentSum", backend);
    return {
      mask: tf.tensor2d(mask, [t, t]),
      gather,
      vocab,
      note: gather ? undefined : "embedding as one-hot matMul (no UnsortedSegmentSum in wasm)",
    };
  },
  tfForward(V, ids, n, C) {
    const { t, d, heads } = GPT;
    const hd = d / heads;
    const ln = (x, name) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(
        tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), V[`${name}.weight`]),
        V[`${name}.bias`],
      );
    };
    const dense = (x, name) => tf.fused.matMul({ a: x, b: V[`${name}.weight`], bias: V[`${name}.bias`] });
    const gelu = (x) =>
      tf.mul(
        tf.mul(x, 0.5),
        tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), 0.7978845608028654))),
      );
    const flat = tf.reshape(ids, [n * t]);
    let x = C.gather
      ? tf.gather(V["wte.weight"], flat)
      : tf.matMul(tf.oneHot(flat, C.vocab).asType("float32"), V["wte.weight"]);
    x = tf.reshape(tf.add(tf.reshape(x, [n, t, d]), V["wpe.weight"]), [n * t, d]);
    for (let l = 0; l < GPT.layers; l++) {
      const qkv = dense(ln(x, `h.${l}.ln_1`), `h.${l}.attn.qkv_proj`);
      const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [n, t, 3, heads, hd]), [2, 0, 3, 1, 4]));
      const probs = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), C.mask));
      const mix = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [n * t, d]);
      x = tf.add(x, dense(mix, `h.${l}.attn.out_proj`));
      x = tf.add(x, dense(gelu(dense(ln(x, `h.${l}.ln_2`), `h.${l}.c_fc`)), `h.${l}.c_proj`));
    }
    return tf.matMul(ln(x, "ln_f"), V["wte.weight"], false, true);
  },
  plain(mod) {
    const o = Object.fromEntries(mod.params.map((t) => [t.name, t.offset]));
    const { t, d, heads, hidden, vocab } = GPT;
    const att = (l) => ({
      w: o[`h.${l}.attn.qkv_proj.weight`],
      b: o[`h.${l}.attn.qkv_proj.bias`],
      wo: o[`h.${l}.attn.out_proj.weight`],
      bo: o[`h.${l}.attn.out_proj.bias`],
    });
    const wte = o["wte.weight"];
    const wpe = o["wpe.weight"];
    return (p, ids, n) => {
      const rows = n * t;
      let x = new Float32Array(rows * d);
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < d; j++) x[r * d + j] = p[wte + ids[r] * d + j] + p[wpe + (r % t) * d + j];
      const caches = [];
      for (let l = 0; l < GPT.layers; l++) {
        const ln1 = plain.layerNorm(x, rows, d, p, o[`h.${l}.ln_1.weight`], o[`h.${l}.ln_1.bias`]);
        const at = plain.attention(ln1.y, n, t, d, heads, p, att(l));
        const x1 = plain.add(x, at.y);
        const ln2 = plain.layerNorm(x1, rows, d, p, o[`h.${l}.ln_2.weight`], o[`h.${l}.ln_2.bias`]);
        const f = plain.dense(ln2.y, rows, d, hidden, p, o[`h.${l}.c_fc.weight`], o[`h.${l}.c_fc.bias`]);
        const g = plain.gelu(f);
        const m = plain.dense(g, rows, hidden, d, p, o[`h.${l}.c_proj.weight`], o[`h.${l}.c_proj.bias`]);
        caches.push({ ln1, at, ln2, f, g });
        x = plain.add(x1, m);
      }
      const lnf = plain.layerNorm(x, rows, d, p, o["ln_f.weight"], o["ln_f.bias"]);
      const y = plain.dense(lnf.y, rows, d, vocab, p, wte, -1);
      return {
        y,
        back(dy, gp) {
          let dx = plain.denseBack(lnf.y, dy, rows, d, vocab, p, wte, -1, gp);
          dx = plain.layerNormBack(dx, lnf, rows, d, p, o["ln_f.weight"], o["ln_f.bias"], gp);
          for (let l = GPT.layers - 1; l >= 0; l--) {
            const c = caches[l];
            let dh = plain.denseBack(
              c.g,
              dx,
              rows,
              hidden,
              d,
              p,
              o[`h.${l}.c_proj.weight`],
              o[`h.${l}.c_proj.bias`],
              gp,
            );
            dh = plain.denseBack(
              c.ln2.y,
              plain.geluBack(c.f, dh),
              rows,
              d,
              hidden,
              p,
              o[`h.${l}.c_fc.weight`],
              o[`h.${l}.c_fc.bias`],
              gp,
            );
            const dx1 = plain.add(
              dx,
              plain.layerNormBack(dh, c.ln2, rows, d, p, o[`h.${l}.ln_2.weight`], o[`h.${l}.ln_2.bias`], gp),
            );
            const da = plain.attentionBack(dx1, c.at, n, t, d, heads, p, att(l), gp);
            dx = plain.add(
              dx1,
              plain.layerNormBack(da, c.ln1, rows, d, p, o[`h.${l}.ln_1.weight`], o[`h.${l}.ln_1.bias`], gp),
            );
          }
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < d; j++) {
              gp[wte + ids[r] * d + j] += dx[r * d + j];
              gp[wpe + (r % t) * d + j] += dx[r * d + j];
            }
        },
      };
    };
  },
};

// ── Implementations. mode: "forward" | "fwdbwd" (MSE) | "train" (softmax CE, SGD) ─────────────────────────
// Each setup() returns { run, check, dispose, note? }; check() returns [[name, values], …] to compare.

/** `resident`: the parameters are the module's own (`createParams`), which under the WebAssembly target live
 *  in its kernels' memory; otherwise a copy, an ordinary typed array (the TypeScript kernels). */
function nncImpl(label, loaded, dtype, fam, data, mode, resident = false) {
  const m = loaded.mod;
  const Arr = dtype === "float64" ? Float64Array : Float32Array;
  return {
    name: label,
    kind: "nnc",
    async setup() {
      const { n } = data;
      const x = fam.tokens ? data.x : Arr.from(data.x);
      const params = () => {
        if (!resident) return Arr.from(data.base);
        const p = m.createParams(0);
        p.set(data.base);
        return p;
      };
      const segmentsOf = (values, scale = 1) =>
        owned(m).map((t) => [
          t.name,
          Float64Array.from(values.subarray(t.offset, t.offset + t.size), (v) => v * scale),
        ]);
      if (mode === "forward") {
        const p = params();
        return { run: () => m.forward(p, x, n), check: () => [["output", Float64Array.from(m.forward(p, x, n))]] };
      }
      if (mode === "fwdbwd") {
        const p = params();
        const target = Arr.from(data.target);
        const g = new Arr(n * fam.outputSize);
        const grads = new Arr(m.paramCount);
        const run = () => {
          const y = m.forward(p, x, n);
          m.mseLoss(y, target, n, g);
          m.backward(p, g, grads);
          return y;
        };
        return { run, check: () => [["output", Float64Array.from(run())], ...segmentsOf(grads)] };
      }
      const trainer = m.createTrainer({ optimizer: "sgd", lr: TRAIN_LR }, params());
      return {
        run: () => m.trainStep(trainer, x, data.labels, n),
        check() {
          const t = m.createTrainer({ optimizer: "sgd", lr: CHECK_LR }, params());
          const loss = m.trainStep(t, x, data.labels, n);
          const delta = new Float64Array(m.paramCount);
          for (let i = 0; i < delta.length; i++) delta[i] = (data.base[i] - t.params[i]) / CHECK_LR;
          return [["loss", [loss]], ...segmentsOf(delta)];
        },
      };
    },
  };
}

function tfImpl(backend, mod, fam, data, mode) {
  return {
    name: backend === "cpu" ? "tfjs-cpu" : "tfjs-wasm-simd",
    kind: "peer",
    backend,
    async setup() {
      const { n } = data;
      const C = fam.tfConstants ? fam.tfConstants(backend) : {};
      const consts = Object.values(C).filter((v) => v instanceof tf.Tensor);
      const vars = (() => {
        const entries = makeTfVars(mod, data.base, fam.tfLayout);
        const V = Object.fromEntries(entries.map((e) => [e.info.name, e.v]));
        V.list = entries.map((e) => e.v);
        return { entries, V, list: V.list };
      })();
      const x = fam.tfInput(data.x, n);
      const forward = (V) => fam.tfForward(V, x, n, C);
      const rows = n * (fam.rowsPerSample ?? 1);
      const keep = [x, ...consts];
      let run;
      let check;
      if (mode === "forward") {
        run = () => {
          const y = tf.tidy(() => forward(vars.V));
          const values = y.dataSync();
          y.dispose();
          return values;
        };
        check = () => [["output", Float64Array.from(run())]];
      } else if (mode === "fwdbwd") {
        const target = tf.tensor2d(data.target, [n, fam.outputSize]);
        keep.push(target);
        const step = () => {
          const { value, grads } = tf.variableGrads(
            () => tf.losses.meanSquaredError(target, forward(vars.V)),
            vars.list,
          );
          const out = vars.entries.map((e) => grads[e.v.name].dataSync());
          value.dispose();
          for (const g of Object.values(grads)) g.dispose();
          return out;
        };
        run = step;
        check = () => {
          const y = tf.tidy(() => forward(vars.V));
          const output = Float64Array.from(y.dataSync());
          y.dispose();
          const gs = step();
          return [["output", output], ...vars.entries.map((e, k) => [e.info.name, fromTf(e, gs[k])])];
        };
      } else {
        const onehot = new Float32Array(rows * fam.classes);
        for (let r = 0; r < rows; r++) onehot[r * fam.classes + data.labels[r]] = 1;
        const labels = tf.tensor2d(onehot, [rows, fam.classes]);
        keep.push(labels);
        const optimizer = tf.train.sgd(TRAIN_LR);
        const stepWith = (opt, v) => {
          const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, forward(v.V)), true, v.list);
          const loss = cost.dataSync()[0];
          cost.dispose();
          return loss;
        };
        run = () => stepWith(optimizer, vars);
        keep.push({ dispose: () => optimizer.dispose() });
        check = () => {
          const entries = makeTfVars(mod, data.base, fam.tfLayout);
          const V = Object.fromEntries(entries.map((e) => [e.info.name, e.v]));
          V.list = entries.map((e) => e.v);
          const opt = tf.train.sgd(CHECK_LR);
          const loss = stepWith(opt, { V, list: V.list });
          const segs = entries.map((e) => {
            const after = fromTf(e, e.v.dataSync());
            const before = data.base.subarray(e.info.offset, e.info.offset + e.info.size);
            return [e.info.name, after.map((a, k) => (before[k] - a) / CHECK_LR)];
          });
          opt.dispose();
          for (const e of entries) e.v.dispose();
          return [["loss", [loss]], ...segs];
        };
      }
      return {
        run,
        check,
        note: C.note,
        dispose() {
          for (const v of vars.list) v.dispose();
          for (const k of keep) k.dispose();
        },
      };
    },
  };
}

function plainImpl(mod, fam, data, mode) {
  return {
    name: "plain loops",
    kind: "peer",
    async setup() {
      const { n } = data;
      const net = fam.plain(mod);
      const x = data.x;
      const rows = n * (fam.rowsPerSample ?? 1);
      const segmentsOf = (values) =>
        owned(mod).map((t) => [t.name, Float64Array.from(values.subarray(t.offset, t.offset + t.size))]);
      if (mode === "forward") {
        const p = Float32Array.from(data.base);
        const run = () => net(p, x, n).y;
        return { run, check: () => [["output", Float64Array.from(run())]] };
      }
      if (mode === "fwdbwd") {
        const p = Float32Array.from(data.base);
        const run = () => {
          const gp = new Float32Array(mod.paramCount);
          const f = net(p, x, n);
          f.back(plain.mse(f.y, data.target).grad, gp);
          return { y: f.y, gp };
        };
        return {
          run,
          check() {
            const r = run();
            return [["output", Float64Array.from(r.y)], ...segmentsOf(r.gp)];
          },
        };
      }
      const step = (p, lr) => {
        const gp = new Float32Array(mod.paramCount);
        const f = net(p, x, n);
        const { loss, grad } = plain.crossEntropy(f.y, data.labels, rows, fam.classes);
        f.back(grad, gp, false); // a training step needs no gradient of the input
        for (let i = 0; i < p.length; i++) p[i] -= lr * gp[i];
        return loss;
      };
      const p = Float32Array.from(data.base);
      return {
        run: () => step(p, TRAIN_LR),
        check() {
          const q = Float32Array.from(data.base);
          const loss = step(q, CHECK_LR);
          const delta = new Float64Array(q.length);
          for (let i = 0; i < q.length; i++) delta[i] = (data.base[i] - q[i]) / CHECK_LR;
          return [["loss", [loss]], ...segmentsOf(delta)];
        },
      };
    },
  };
}

// ── Running a case ───────────────────────────────────────────────────────────────────────────────────────

async function enter(impl) {
  if (impl.backend && tf.getBackend() !== impl.backend) await tf.setBackend(impl.backend);
}

/** max over segments of ‖a − ref‖∞ / ‖ref‖∞, and the worst segment. */
function relDiff(segs, ref) {
  let worst = 0;
  let where = "";
  for (const [name, r] of ref) {
    const a = segs.find(([n]) => n === name)?.[1];
    if (a === undefined || a.length !== r.length)
      return { diff: Infinity, where: `${name} missing or of another length` };
    let num = 0;
    let den = 0;
    for (let i = 0; i < r.length; i++) {
      const e = Math.abs(a[i] - r[i]);
      num = Number.isNaN(e) ? Infinity : Math.max(num, e);
      den = Math.max(den, Math.abs(r[i]));
    }
    const d = den > 0 ? num / den : num;
    if (d > worst || where === "") {
      worst = d;
      where = name;
    }
  }
  return { diff: worst, where };
}

/**
 * Sets up, checks, times and measures the given implementations. The last one is the numerical reference.
 * Returns { status, impls: [{ name, medianMs, … }], reason? }.
 */
async function runCase(impls, flopsPerCall, timeMs) {
  const live = [];
  const unavailable = [];
  const ref = impls[impls.length - 1];
  for (const impl of impls) {
    await enter(impl);
    settle();
    const m0 = memNow();
    try {
      const inst = await impl.setup();
      inst.run();
      settle();
      live.push({ impl, inst, kept: memNow() - m0, samples: [], k: 1 });
    } catch (e) {
      if (impl.kind === "nnc" || impl === ref) throw e;
      unavailable.push({ name: impl.name, reason: String(e.message ?? e).split("\n")[0] });
    }
  }
  const disposeAll = () => {
    for (const l of live) l.inst.dispose?.();
  };
  // Agreement, before any timing.
  const refLive = live.find((l) => l.impl === ref);
  await enter(ref);
  const refSegs = refLive.inst.check();
  let aborted;
  for (const l of live) {
    await enter(l.impl);
    try {
      const { diff, where } = l === refLive ? { diff: 0, where: "" } : relDiff(l.inst.check(), refSegs);
      l.isRef = l === refLive;
      l.diff = diff;
      l.where = where;
      if (!(diff <= TOLERANCE))
        aborted ??= `${l.impl.name} differs from ${ref.name} by ${diff.toExponential(2)} (in ${where}), above ${TOLERANCE}`;
    } catch (e) {
      if (l.impl.kind === "nnc") throw e;
      unavailable.push({ name: l.impl.name, reason: String(e.message ?? e).split("\n")[0] });
      l.dead = true;
    }
  }
  for (const l of live.filter((l) => l.dead)) l.inst.dispose?.();
  const timed = live.filter((l) => !l.dead);
  if (aborted) {
    disposeAll();
    return { status: "aborted", reason: aborted, impls: timed.map(describe), unavailable };
  }
  // Warm-up, then calls per sample so that a sample lasts ≥ sampleMs.
  for (const l of timed) {
    await enter(l.impl);
    const t0 = now();
    let calls = 0;
    let last = 0;
    // At least warmCalls calls and warmMs; a slow implementation (one call > 4 × warmMs) stops after one.
    for (;;) {
      const dt = now() - t0;
      if ((calls >= budget.warmCalls && dt >= budget.warmMs) || (calls >= 1 && dt >= 4 * budget.warmMs)) break;
      const t1 = now();
      l.inst.run();
      last = now() - t1;
      calls++;
    }
    // One call already lasts a sample: no calibration needed.
    if (last >= budget.sampleMs) l.estimate = last;
    while (l.estimate === undefined) {
      const t1 = now();
      for (let i = 0; i < l.k; i++) l.inst.run();
      const dt = now() - t1;
      if (dt >= budget.sampleMs || l.k >= 1 << 20) {
        l.estimate = dt / l.k;
        break;
      }
      l.k = Math.min(1 << 20, Math.max(l.k * 2, Math.ceil((l.k * budget.sampleMs * 1.2) / Math.max(dt, 1e-3))));
    }
  }
  const roundMs = timed.reduce((s, l) => s + l.k * l.estimate, 0);
  const rounds = Math.max(budget.minRounds, Math.min(budget.maxRounds, Math.floor(timeMs / roundMs)));
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < timed.length; j++) {
      const l = timed[(r + j) % timed.length];
      await enter(l.impl);
      const t0 = now();
      for (let i = 0; i < l.k; i++) l.inst.run();
      l.samples.push((now() - t0) / l.k);
    }
  }
  // Memory made per call, one implementation at a time: the peak over a run of calls, sampled after each,
  // less the same run's peak with a no-op call (the sampling itself allocates). The smaller of two runs:
  // V8 sometimes allocates ~1 MiB once after a forced full GC, whoever runs.
  const peakOver = (run, calls) => {
    let least = Infinity;
    for (let pass = 0; pass < 2; pass++) {
      settle();
      const base = memNow();
      let peak = base;
      for (let i = 0; i < calls; i++) {
        run();
        peak = Math.max(peak, memNow());
      }
      least = Math.min(least, peak - base);
    }
    return least;
  };
  for (const l of timed) {
    await enter(l.impl);
    const calls = Math.max(1, Math.min(200, Math.ceil(budget.memMs / l.estimate)));
    l.perCall = Math.max(0, peakOver(l.inst.run, calls) - peakOver(() => {}, calls));
  }
  disposeAll();
  function describe(l) {
    const med = l.samples.length ? median(l.samples) : NaN;
    return {
      name: l.impl.name,
      kind: l.impl.kind,
      note: l.inst.note,
      medianMs: med,
      q1Ms: l.samples.length ? quantile(l.samples, 0.25) : NaN,
      q3Ms: l.samples.length ? quantile(l.samples, 0.75) : NaN,
      samples: l.samples.length,
      callsPerSample: l.k,
      gflops: flopsPerCall / (med * 1e6),
      memKeptBytes: l.kept,
      memPerCallBytes: l.perCall,
      reference: l.isRef ?? false,
      maxRelDiff: l.diff,
      maxRelDiffIn: l.where,
    };
  }
  return { status: "ok", impls: timed.map(describe), unavailable };
}

// ── The cases ───────────────────────────────────────────────────────────────────────────────────────────

const results = [];
let failures = 0;
const wanted = (id) => only === undefined || only.some((o) => id.toLowerCase().startsWith(o));

function printCase(c, r) {
  out(`${c.id}  ${c.title}`);
  out(
    `    ${c.mode === "forward" ? c.macsPerSample.toLocaleString("en-US") : c.skipped ? `(3 × ${c.macsPerSample.toLocaleString("en-US")} − ${c.skipped.toLocaleString("en-US")} input-gradient MACs of the first layer, not needed)` : `3 × ${c.macsPerSample.toLocaleString("en-US")} (fwd + bwd)`} MACs/sample × batch ${c.batch} = ${(c.flopsPerCall / 1e6).toFixed(3)} MFLOP/call; reference: plain loops`,
  );
  for (const b of c.builds) out(`    ${b}`);
  if (r.status === "aborted") out(`    ABORTED: ${r.reason}`);
  const nncRef = r.impls.find((i) => i.name === "nnc f32");
  out(
    `    ${pad("implementation", 16)}${lpad("median/call", 13)}${lpad("±IQR/2", 8)}${lpad("GFLOP/s", 9)}${lpad("mem kept", 11)}${lpad("mem/call", 11)}${lpad("max rel diff", 14)}${lpad("speedup", 10)}`,
  );
  for (const i of r.impls) {
    const spread = ((i.q3Ms - i.q1Ms) / 2 / i.medianMs) * 100;
    const ratio = nncRef && i !== nncRef ? fmtRatio(i.medianMs / nncRef.medianMs) : "";
    out(
      `    ${pad(i.name, 16)}${lpad(Number.isNaN(i.medianMs) ? "–" : fmtTime(i.medianMs), 13)}${lpad(Number.isNaN(spread) ? "" : `${spread.toFixed(1)}%`, 8)}${lpad(Number.isFinite(i.gflops) ? i.gflops.toFixed(2) : "–", 9)}${lpad(i.memKeptBytes === undefined ? "" : fmtBytes(i.memKeptBytes), 11)}${lpad(i.memPerCallBytes === undefined ? "" : fmtBytes(i.memPerCallBytes), 11)}${lpad(i.reference ? "reference" : (i.maxRelDiff?.toExponential(1) ?? ""), 14)}${lpad(ratio, 10)}${i.note ? `  (${i.note})` : ""}`,
    );
  }
  for (const u of r.unavailable) out(`    ${pad(u.name, 16)} not available: ${u.reason}`);
  const f32 = r.impls.find((i) => i.name === "nnc f32");
  const f64 = r.impls.find((i) => i.name === "nnc f64");
  if (f32 && f64 && r.status === "ok") {
    const d = f32.medianMs / f64.medianMs;
    out(
      `    float64 vs float32: ${d >= 1 ? `float64 ${((d - 1) * 100).toFixed(0)}% faster` : `float32 ${((1 / d - 1) * 100).toFixed(0)}% faster`}`,
    );
  }
  for (const w of r.impls.filter((i) => i.name.startsWith("nnc wasm"))) {
    const vs = ["tfjs-wasm-simd", "tfjs-cpu", w.name.endsWith("f64") ? "nnc f64" : "nnc f32"]
      .map((name) => r.impls.find((i) => i.name === name))
      .filter((peer) => peer !== undefined && Number.isFinite(peer.medianMs))
      .map((peer) => `${fmtRatio(peer.medianMs / w.medianMs)} vs ${peer.name}`);
    if (vs.length > 0 && Number.isFinite(w.medianMs))
      out(`    ${w.name} (speedup = their time / its): ${vs.join(", ")}`);
  }
  const convWasm = r.impls.find((i) => i.name === "nnc wasm f32");
  const convTs = r.impls.find((i) => i.name === "nnc wasm f32 ts-conv");
  if (convWasm && convTs && Number.isFinite(convWasm.medianMs) && Number.isFinite(convTs.medianMs)) {
    const peer = r.impls.find((i) => i.name === "tfjs-wasm-simd");
    const vs = (w) => (peer && Number.isFinite(peer.medianMs) ? fmtRatio(peer.medianMs / w.medianMs) : "–");
    out(
      `    convolutions on WebAssembly: nnc wasm f32 ${fmtRatio(convTs.medianMs / convWasm.medianMs)} faster than with them on TypeScript (ts-conv); vs tfjs-wasm-simd: before (ts-conv) ${vs(convTs)}, after ${vs(convWasm)}`,
    );
  }
  const attnTs = r.impls.find((i) => i.name === "nnc wasm f32 ts-attn");
  if (convWasm && attnTs && Number.isFinite(convWasm.medianMs) && Number.isFinite(attnTs.medianMs)) {
    out(
      `    attention projections on WebAssembly: nnc wasm f32 ${fmtRatio(attnTs.medianMs / convWasm.medianMs)} faster than with them on TypeScript (ts-attn)`,
    );
  }
  for (const t of r.targets ?? []) out(`    target: ${t.text}: ${t.value} → ${t.ok ? "met" : "MISSED"}`);
  out();
}

function evaluateTargets(c, r) {
  const targets = [];
  if (r.status !== "ok") return targets;
  for (const t of c.targets ?? []) {
    const rowName = t.row ?? "nnc f32";
    const nncRow = r.impls.find((i) => i.name === rowName);
    if (!nncRow) continue;
    if (t.gflops !== undefined) {
      targets.push({
        text: `${rowName} ≥ ${t.gflops} GFLOP/s`,
        value: `${nncRow.gflops.toFixed(2)} GFLOP/s`,
        ok: nncRow.gflops >= t.gflops,
      });
      continue;
    }
    const peer = r.impls.find((i) => i.name === t.peer);
    if (!peer) {
      targets.push({ text: `${rowName} vs ${t.peer}`, value: "peer not available", ok: false });
      continue;
    }
    const ratio = peer.medianMs / nncRow.medianMs;
    targets.push(
      t.min !== undefined
        ? { text: `${rowName} ≥ ${t.min}× faster than ${t.peer}`, value: fmtRatio(ratio), ok: ratio >= t.min }
        : { text: `${rowName} faster than ${t.peer}`, value: fmtRatio(ratio), ok: ratio > 1 },
    );
  }
  return targets;
}

/** One workload: builds nnc (f32, f64), the peers and the data, runs, prints, records. */
async function workload(c) {
  if (!wanted(c.id)) return;
  try {
    await runWorkload(c);
  } catch (e) {
    // The generator is being changed while we run: report the case and go on with the others.
    failures++;
    out(`${c.id}: FAILED: ${e.stack ?? e}`);
    out();
    results.push({ id: c.id, title: c.title, status: "failed", reason: String(e.message ?? e) });
  }
}

async function runWorkload({
  id,
  title,
  fam,
  batch,
  mode,
  targets,
  matmulBound = true,
  wasm = false,
  wasmConvsBefore = false,
  wasmAttentionBefore = false,
}) {
  const source = fam.source ?? fs.readFileSync(fam.file, "utf8");
  const file = fam.file ?? `${fam.id}.nn`;
  const builds = [];
  // "nnc f32" / "nnc f64": the TypeScript target; "nnc wasm f32/f64": `--target wasm` with the module's own
  // parameters (in the kernels' WebAssembly memory).
  const f32 = await nnc(id, source, { target: "ts" }, file);
  if (f32.diagnostics) {
    const nn9001 = f32.diagnostics.filter((d) => d.code === "NN9001");
    const what = (nn9001.length ? nn9001 : f32.diagnostics).map((d) => `${d.code} ${d.message}`).join("; ");
    out(`${id}: not built yet (${what})`);
    out();
    results.push({ id, title, status: "skipped", reason: what });
    if (nn9001.length === 0) failures++;
    return;
  }
  const f64 = await nnc(id, source, { dtype: "float64", target: "ts" }, file);
  const w32 = wasm ? await nnc(`${id}-wasm`, source, { target: "wasm" }, file) : undefined;
  const w64 = wasm ? await nnc(`${id}-wasm64`, source, { dtype: "float64", target: "wasm" }, file) : undefined;
  const wTs = wasmConvsBefore
    ? await nnc(`${id}-wasm-tsconv`, source, { target: "wasm" }, file, convsOnTypeScript)
    : undefined;
  const wTsAttn = wasmAttentionBefore
    ? await nnc(`${id}-wasm-tsattn`, source, { target: "wasm" }, file, attentionOnTypeScript)
    : undefined;
  builds.push(
    `nnc: compile + prettier + transpile ${f32.compileMs.toFixed(0)} ms, ${(f32.text.length / 1024).toFixed(0)} KiB of TypeScript; kernels: ${kernelSummary(f32.text)}`,
  );
  const counted = macsOf(source, file);
  const macsPerSample = counted.macs;
  const skipped = mode === "train" ? counted.skippedInputGrad : 0;
  const flopsPerCall = 2 * batch * (mode === "forward" ? macsPerSample : 3 * macsPerSample - skipped);
  const n = batch;
  const data = {
    n,
    base: f32.mod.createParams(SEED),
    x: fam.tokens ? integers(n * fam.inputSize, GPT.vocab, 7) : uniform(n * fam.inputSize, 0, 1, 7),
    labels: integers(n * (fam.rowsPerSample ?? 1), fam.classes, 11),
    target: uniform(n * fam.outputSize, -1, 1, 13),
  };
  const mod = f32.mod;
  const impls = [
    nncImpl("nnc f32", f32, "float32", fam, data, mode),
    nncImpl("nnc f64", f64, "float64", fam, data, mode),
    ...(w32 ? [nncImpl("nnc wasm f32", w32, "float32", fam, data, mode, true)] : []),
    ...(w64 ? [nncImpl("nnc wasm f64", w64, "float64", fam, data, mode, true)] : []),
    ...(wTs ? [nncImpl("nnc wasm f32 ts-conv", wTs, "float32", fam, data, mode, true)] : []),
    ...(wTsAttn ? [nncImpl("nnc wasm f32 ts-attn", wTsAttn, "float32", fam, data, mode, true)] : []),
    tfImpl("cpu", mod, fam, data, mode),
    tfImpl("wasm", mod, fam, data, mode),
    plainImpl(mod, fam, data, mode),
  ];
  const c = { id, title, batch, mode, macsPerSample, skipped, flopsPerCall, builds, targets };
  if (matmulBound) c.targets = [...(targets ?? []), { gflops: 3.5 }];
  const r = await runCase(impls, flopsPerCall, budget.caseMs);
  if (r.status !== "ok") failures++;
  r.targets = evaluateTargets(c, r);
  printCase(c, r);
  results.push({ id, title, batch, mode, macsPerSample, flopsPerCall, matmulBound, ...r });
}

function kernelSummary(text) {
  const kinds = [...text.matchAll(/dense (\d+) → (\d+)(?:, (unrolled|register-tiled))?/g)];
  const seen = new Map();
  for (const [, a, b, how] of kinds) if (how) seen.set(`${a}→${b}`, how);
  return [...seen].map(([k, v]) => `${k} ${v}`).join(", ") || "no dense layers";
}

// ── Width sweep: one square dense layer, forward ─────────────────────────────────────────────────────────

async function sweep() {
  if (!wanted("sweep")) return;
  const widths = [8, 16, 32, 64, 128, 256, 512, 1024];
  out("Width sweep: one dense layer w → w (bias, no activation), forward. Each cell: median time per call, GFLOP/s;");
  out("  nnc/peer = the peer's time / nnc default's (> 1: nnc faster).");
  out(
    "  nnc default = unroll limit 256 MACs (compile()'s default); tiled = unrollLimit 0; unrolled = every product unrolled (widths ≤ 128);",
  );
  out("  '=' means the same generated code as the default build (not timed twice).");
  out(
    "  nnc wasm = --target wasm with unrollLimit 0 (every width on the WebAssembly SIMD kernels, parameters resident);",
  );
  out("  wasm/tfjs = tfjs-wasm-simd's time / nnc wasm's.");
  const head = `  ${lpad("w", 5)}${lpad("batch", 6)}  ${pad("nnc default", 28)}${pad("nnc tiled", 20)}${pad("nnc unrolled", 20)}${pad("plain loops", 20)}${pad("tfjs-cpu", 20)}${pad("tfjs-wasm-simd", 20)}${pad("nnc wasm", 20)}${lpad("nnc/plain", 10)}${lpad("nnc/cpu", 8)}${lpad("nnc/wasm", 9)}${lpad("wasm/tfjs", 10)}${lpad("max diff", 10)}`;
  out(head);
  const handover = { 1: [], 32: [] };
  const wasmHandover = { 1: [], 32: [] };
  for (const batch of [1, 32]) {
    for (const w of widths) {
      const fam = mlpFamily(`Dense${w}`, [w, w], undefined, "mse");
      const id = `sweep-w${w}-b${batch}`;
      let def, tiled, unrolled, wasmAll;
      try {
        def = await nnc(id, fam.source);
        tiled = await nnc(`${id}-tiled`, fam.source, { unrollLimit: 0 });
        if (w * w <= unrollAll) unrolled = await nnc(`${id}-unrolled`, fam.source, { unrollLimit: unrollAll });
        wasmAll = await nnc(`${id}-wasm`, fam.source, { unrollLimit: 0, target: "wasm" });
        for (const b of [def, tiled, unrolled, wasmAll])
          if (b?.diagnostics) throw new Error(`${id}: ${b.diagnostics.map((d) => d.message).join("; ")}`);
      } catch (e) {
        // The generator is being changed while we run: report the row and go on.
        failures++;
        out(`  ${lpad(w, 5)}${lpad(batch, 6)}  FAILED to build: ${String(e.message ?? e).split("\n")[0]}`);
        results.push({ id, status: "failed", reason: String(e.message ?? e) });
        continue;
      }
      const macsPerSample = w * w;
      const flopsPerCall = 2 * macsPerSample * batch;
      const data = { n: batch, base: def.mod.createParams(SEED), x: uniform(batch * w, 0, 1, 7) };
      const impls = [nncImpl("nnc f32", def, "float32", fam, data, "forward")];
      const sameAsDefault = (b) => b !== undefined && b.text === def.text;
      if (!sameAsDefault(tiled)) impls.push(nncImpl("nnc tiled", tiled, "float32", fam, data, "forward"));
      if (unrolled && !sameAsDefault(unrolled))
        impls.push(nncImpl("nnc unrolled", unrolled, "float32", fam, data, "forward"));
      impls.push(
        tfImpl("cpu", def.mod, fam, data, "forward"),
        tfImpl("wasm", def.mod, fam, data, "forward"),
        plainImpl(def.mod, fam, data, "forward"),
        nncImpl("nnc wasm", wasmAll, "float32", fam, data, "forward", true),
      );
      let r;
      try {
        r = await runCase(impls, flopsPerCall, budget.sweepMs);
      } catch (e) {
        failures++;
        out(`  ${id}: FAILED: ${e.message ?? e}`);
        results.push({ id, status: "failed", reason: String(e.message ?? e) });
        continue;
      }
      if (r.status !== "ok") {
        failures++;
        out(`  ${lpad(w, 5)}${lpad(batch, 6)}  ABORTED: ${r.reason}`);
        results.push({ id, title: `dense ${w}→${w}, batch ${batch}, forward`, status: r.status, reason: r.reason });
        continue;
      }
      const get = (name) => r.impls.find((i) => i.name === name);
      const cell = (i, width = 20) => pad(i ? `${fmtTime(i.medianMs)} ${i.gflops.toFixed(2)}` : "", width - 1) + " ";
      const d = get("nnc f32");
      const kind = kernelSummary(def.text).includes("unrolled") ? "unrolled" : "tiled";
      const t = get("nnc tiled") ?? (kind === "tiled" ? d : undefined);
      const u = get("nnc unrolled") ?? (kind === "unrolled" ? d : undefined);
      if (t && u) handover[batch].push({ w, unrolledWins: u.medianMs < t.medianMs, ratio: t.medianMs / u.medianMs });
      const wa = get("nnc wasm");
      const bestTs = Math.min(...[d, t, u].filter((x) => x !== undefined).map((x) => x.medianMs));
      if (wa) wasmHandover[batch].push({ w, ratio: bestTs / wa.medianMs });
      const maxDiff = Math.max(...r.impls.map((i) => i.maxRelDiff ?? 0));
      out(
        `  ${lpad(w, 5)}${lpad(batch, 6)}  ${cell(d, 17)}${pad(`(${kind})`, 11)}${get("nnc tiled") ? cell(get("nnc tiled")) : pad(kind === "tiled" ? "=" : "", 20)}${get("nnc unrolled") ? cell(get("nnc unrolled")) : pad(kind === "unrolled" ? "=" : w > 128 ? "–" : "", 20)}${cell(get("plain loops"))}${cell(get("tfjs-cpu"))}${cell(get("tfjs-wasm-simd"))}${lpad(fmtRatio(get("plain loops").medianMs / d.medianMs), 10)}${lpad(get("tfjs-cpu") ? fmtRatio(get("tfjs-cpu").medianMs / d.medianMs) : "–", 8)}${cell(get("nnc wasm"))}${lpad(get("tfjs-wasm-simd") ? fmtRatio(get("tfjs-wasm-simd").medianMs / d.medianMs) : "–", 9)}${lpad(get("tfjs-wasm-simd") && wa ? fmtRatio(get("tfjs-wasm-simd").medianMs / wa.medianMs) : "–", 10)}${lpad(maxDiff.toExponential(1), 10)}`,
      );
      const matmulBound = macsPerSample * batch >= 65_536;
      const targets = matmulBound
        ? [{ text: "nnc f32 ≥ 3.5 GFLOP/s", value: `${d.gflops.toFixed(2)} GFLOP/s`, ok: d.gflops >= 3.5 }]
        : [];
      results.push({
        id,
        title: `dense ${w}→${w}, batch ${batch}, forward`,
        batch,
        mode: "forward",
        macsPerSample,
        flopsPerCall,
        defaultKernel: kind,
        matmulBound,
        ...r,
        targets,
      });
    }
  }
  for (const batch of [1, 32]) {
    const rows = handover[batch];
    if (rows.length === 0) continue;
    const parts = rows.map(
      (x) => `${x.w}: ${x.unrolledWins ? "unrolled" : "tiled"} (tiled/unrolled time ${x.ratio.toFixed(2)})`,
    );
    out(`  batch ${batch}, faster nnc kernel by width — ${parts.join("; ")}`);
  }
  for (const batch of [1, 32]) {
    const rows = wasmHandover[batch];
    if (rows.length === 0) continue;
    const parts = rows.map(
      (x) => `${x.w}: ${x.ratio >= 1 ? "wasm" : "ts"} (best ts / wasm time ${x.ratio.toFixed(2)})`,
    );
    out(`  batch ${batch}, WebAssembly against the best TypeScript kernel — ${parts.join("; ")}`);
  }
  const misses = results.filter((x) => x.id?.startsWith("sweep-") && x.targets?.some((t) => !t.ok));
  out(
    `  matmul-bound sweep cases (≥ 65,536 MACs per call) below 3.5 GFLOP/s: ${misses.length ? misses.map((x) => x.id.replace("sweep-", "")).join(", ") : "none"}`,
  );
  out();
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────────────────

const machine = { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, node: process.version };
out(
  `nnc workloads — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, TF.js ${tf.version.tfjs} (wasm: SIMD ${wasmInfo.simd ? "on" : "OFF"}, ${wasmInfo.threads} thread${wasmInfo.threads === 1 ? "" : "s"}, multithread build ${wasmInfo.multithread ? "available" : "not used"})${quick ? " — QUICK: few iterations, numbers are rough" : ""}`,
);
out(
  `Times: medians of interleaved samples. speedup = that row's time / nnc f32's (> 1: nnc f32 is faster). mem: heapUsed + external, post-GC deltas.`,
);
out();
const t0 = now();
const tanhMlp = mlpFamily("Mlp2881", [2, 8, 8, 1], "tanh", "mse");
await workload({
  id: "W1",
  title: "MLP 784-128-10 ReLU, batch 1, forward",
  fam: mlpFamily("Mlp784x128", [784, 128, 10], "relu", "cross_entropy"),
  batch: 1,
  mode: "forward",
  targets: [
    { peer: "tfjs-cpu", min: 4.5 },
    { row: "nnc wasm f32", peer: "tfjs-wasm-simd", min: 1.3 },
  ],
  wasm: true,
});
await workload({
  id: "W2",
  title: "MLP 784-256-128-10 ReLU, batch 32, forward",
  fam: mlpFamily("Mlp784x256", [784, 256, 128, 10], "relu", "cross_entropy"),
  batch: 32,
  mode: "forward",
  targets: [
    { peer: "tfjs-cpu", min: 4.5 },
    { row: "nnc wasm f32", peer: "tfjs-wasm-simd", min: 1.3 },
  ],
  wasm: true,
});
await workload({
  id: "W3",
  title: "training step 784-128-10 ReLU, batch 32 (forward, softmax CE, backward, SGD lr 0.01)",
  fam: mlpFamily("Mlp784x128", [784, 128, 10], "relu", "cross_entropy"),
  batch: 32,
  mode: "train",
  targets: [
    { peer: "tfjs-cpu", min: 5.5 },
    { peer: "tfjs-wasm-simd" },
    { row: "nnc wasm f32", peer: "tfjs-wasm-simd", min: 5 },
  ],
  wasm: true,
});
await workload({
  id: "W4",
  title: "MLP 2-8-8-1 tanh, batch 1, forward + backward (MSE)",
  fam: tanhMlp,
  batch: 1,
  mode: "fwdbwd",
  targets: [
    { peer: "tfjs-cpu", min: 500 },
    { row: "nnc wasm f32", peer: "tfjs-cpu", min: 500 },
  ],
  matmulBound: false,
  // its layers are below the unroll limit: unrolled TypeScript on either target (issue 17: "W4 still ≥ 500×")
  wasm: true,
});
await workload({
  id: "W5-forward",
  title: "LeNet-5 (examples/lenet5.nn), batch 1, forward",
  fam: lenetFamily,
  batch: 1,
  mode: "forward",
  targets: [
    { peer: "tfjs-cpu", min: 3 },
    { row: "nnc wasm f32", peer: "tfjs-wasm-simd", min: 1.2 },
  ],
  wasm: true,
  wasmConvsBefore: true,
});
await workload({
  id: "W5-train",
  title: "LeNet-5 training step, batch 32 (softmax CE, SGD lr 0.01)",
  fam: lenetFamily,
  batch: 32,
  mode: "train",
  // no nnc wasm target against tfjs-wasm-simd: its backend has no Conv2DBackpropFilter
  targets: [{ peer: "tfjs-cpu", min: 3 }],
  wasm: true,
  wasmConvsBefore: true,
});
await workload({
  id: "W6",
  title: "tiny GPT (examples/tiny-gpt.nn) training step, batch 8 (CE over 16 positions, SGD lr 0.01)",
  fam: gptFamily,
  batch: 8,
  mode: "train",
  targets: [
    { peer: "tfjs-cpu", min: 3 },
    { row: "nnc wasm f32", peer: "tfjs-wasm-simd", min: 3 },
  ],
  wasm: true,
  wasmAttentionBefore: true,
});
await workload({
  id: "W6-forward",
  title: "tiny GPT (examples/tiny-gpt.nn) forward, batch 8 (logits at 16 positions)",
  fam: gptFamily,
  batch: 8,
  mode: "forward",
  targets: [{ row: "nnc wasm f32", peer: "tfjs-wasm-simd" }],
  wasm: true,
  wasmAttentionBefore: true,
});
await sweep();
out(`total ${((now() - t0) / 1000).toFixed(1)} s`);

if (json)
  console.log(JSON.stringify({ bench: "workloads", machine, tfjs: tf.version.tfjs, wasm: wasmInfo, quick, results }));
process.exitCode = failures > 0 ? 1 : 0;
