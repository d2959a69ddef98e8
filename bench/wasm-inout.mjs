// Matrices stored [in, out] (`layout = in_out`, Hugging Face GPT-2's Conv1D) on the WebAssembly target: the
// dense SIMD kernels by transposition (src/emit/wasm/target.ts inOutKernels) against `--target ts` (the
// packed TypeScript products, `denseInOutForward`), float32, one process, interleaved rounds; ratios of the
// CPU time (process.cpuUsage) of each round, median over rounds. The model: two GPT-2 blocks (pre-LN causal
// attention, 4 heads of 32, MLP 128 → 512 → 128, every matrix [in, out]) at width 128 over 64 positions,
// with GPT-2's fused c_attn (one product over the whole [128, 384] matrix, its column blocks copied to q, k
// and v: wasmDenseInOutForward3) and with separate q/k/v projections [in, out].
// Run after `npm run build`: `node bench/wasm-inout.mjs [--quick]`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const { compile } = await import(pathToFileURL(path.join(root, "dist/src/index.js")).href);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-bench-inout-"));

let files = 0;
async function load(source, target) {
  const result = await compile(source, { dtype: "float32", target });
  if (result.files.length === 0) throw new Error(result.diagnostics.map((d) => d.message).join("\n"));
  const js = ts.transpileModule(result.files[0].text, {
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

const spec = (qkv) => `block Block(d, heads) {
  residual {
    layernorm as ln_1
    attention(heads, causal = true, qkv = ${qkv}, layout = in_out) as attn
  }
  residual {
    layernorm as ln_2
    dense(512, layout = in_out) as c_fc
    gelu(approximate = tanh)
    dense(d, layout = in_out) as c_proj
  }
}

model G(x: f32[t <= 64, 128]) {
  repeat 2 as h {
    Block(128, 4)
  }
  layernorm as ln_f
  loss mse
}
`;

const count = quick ? 5 : 15;
const n = 4;
console.log(
  `load average ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(", ")}; ${os.cpus().length} cores; ${count} rounds; batch ${n}`,
);
console.log("case | forward: ts / wasm CPU ms, ts ÷ wasm | training step (trainStep, SGD): ts / wasm, ts ÷ wasm");
for (const qkv of ["fused", "separate"]) {
  const source = spec(qkv);
  const mts = await load(source, "ts");
  const mwa = await load(source, "wasm");
  if (mwa.kernelTarget !== "wasm-simd") throw new Error("no SIMD");
  const pts = mts.createParams(1);
  const pwa = mwa.createParams(1);
  const x = filled(n * mts.inputSize);
  const target = filled(n * mts.outputSize);
  const yt = mts.forward(pts, x, n);
  const yw = mwa.forward(pwa, x, n);
  let worst = 0;
  for (let i = 0; i < yt.length; i++) worst = Math.max(worst, Math.abs(yt[i] - yw[i]));
  if (worst > 1e-3) throw new Error(`disagree ${worst}`);
  const tts = mts.createTrainer({ optimizer: "sgd", lr: 1e-4, seed: 1 });
  const twa = mwa.createTrainer({ optimizer: "sgd", lr: 1e-4, seed: 1 });
  const calls = 2;
  const fwd = rounds({ ts: () => mts.forward(pts, x, n), wasm: () => mwa.forward(pwa, x, n) }, calls, count);
  const step = rounds(
    { ts: () => mts.trainStep(tts, x, target, n), wasm: () => mwa.trainStep(twa, x, target, n) },
    calls,
    count,
  );
  const ratio = (t) => median(t.ts.map((v, i) => v / t.wasm[i]));
  const f = (v) => v.toFixed(2);
  console.log(
    `2 GPT-2 blocks, width 128, qkv ${qkv} | ${f(median(fwd.ts))} / ${f(median(fwd.wasm))} ms, ${ratio(fwd).toFixed(2)}× | ${f(median(step.ts))} / ${f(median(step.wasm))} ms, ${ratio(step).toFixed(2)}×`,
  );
}
console.log(
  `load average after ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(", ")}`,
);
fs.rmSync(tmp, { recursive: true, force: true });
