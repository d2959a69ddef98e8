// The error of the WebAssembly activation kernels (src/emit/wasm/math.ts: tanh, sigmoid, SiLU, GELU's tanh
// form; float32 builds) over every one of the 2^32 float32 inputs, in two measures:
//   - against the function itself: |y32 − y| in float32 ulps of y, with y the double value of the
//     TypeScript path's expression (Math.tanh / Math.exp in double: within ~1 ulp of double of the true
//     value, 2^−29 of a float32 ulp) — the issue's bound is ≤ 2 ulp, math.ts's analysis gives ≤ 0.5 + 2^−23;
//   - against the TypeScript path: how many inputs give a different float32 (NaN equal to NaN), and the
//     largest distance in ulps.
// The gradient kernels (`silu'`, `gelu_tanh'`: f′(x)·g with g = 1) in the same two measures; their
// derivative cancels near its zero, where the distance in ulps of a tiny result says little: the largest
// absolute difference from the TypeScript path is printed too.
// Usage (after `npm run build`): `node scripts/ulp-check.mjs [tanh,sigmoid,silu,gelu_tanh,silu',gelu_tanh'] [--step K]`
// (`--step K` takes every K-th bit pattern: a quick look). A full run takes a few minutes per function.
/* global WebAssembly */
import { kernelModule } from "../dist/src/emit/wasm/dense.js";
import { gradientFunctions, gradientKernel, unaryFunctions, unaryKernel } from "../dist/src/emit/wasm/math.js";

const args = process.argv.slice(2);
const stepAt = args.indexOf("--step");
const step = stepAt >= 0 ? Number(args[stepAt + 1]) : 1;
const all = [...unaryFunctions, ...gradientFunctions.map((f) => `${f}'`)];
const chosen = (args.find((a, i) => !a.startsWith("--") && i !== stepAt + 1) ?? all.join(",")).split(",");

/** The TypeScript path's expressions (src/emit/kernels/activation.ts), in double. */
const reference = {
  tanh: (x) => Math.tanh(x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu_tanh: (x) => x / (1 + Math.exp(-1.5957691216057308 * (x + 0.044715 * x * x * x))),
  // activation.ts's silu_grad and gelu_tanh_grad, times g = 1
  "silu'": (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 + x * (1 - s)) * 1;
  },
  "gelu_tanh'": (x) => {
    const s = 1 / (1 + Math.exp(-1.5957691216057308 * (x + 0.044715 * x * x * x)));
    return (s + 1.5957691216057308 * x * s * (1 - s) * (1 + 0.134145 * x * x)) * 1;
  },
};

/** The float32 ulp at |y|: the spacing of float32 values around it (2^−149 in the subnormal range). */
function ulp32(y) {
  const a = Math.abs(y);
  if (a < 2 ** -126) return 2 ** -149;
  if (!Number.isFinite(a)) return Infinity;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

const BLOCK = 1 << 16;
const memory = new WebAssembly.Memory({ initial: 16, maximum: 16 });
const bytes = kernelModule([
  ...unaryFunctions.map((f) => unaryKernel(f, f)),
  ...gradientFunctions.map((f) => gradientKernel(f, false, `${f}'`)),
]);
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
// the forward kernels work in place at 0; the gradient kernels read x at 0 and g (ones) at 4·BLOCK and
// write gx at 8·BLOCK
new Float32Array(memory.buffer, 4 * BLOCK, BLOCK).fill(1);
const inBits = new Uint32Array(BLOCK);
const inputs = new Float32Array(inBits.buffer);
const tsOut = new Float32Array(BLOCK);
const tsBits = new Uint32Array(tsOut.buffer);

for (const name of chosen) {
  const kernel = instance.exports[name];
  const f = reference[name];
  if (!kernel || !f) throw new Error(`unknown function ${name}`);
  const gradient = name.endsWith("'");
  const out = gradient ? 8 * BLOCK : 0;
  const heap = new Float32Array(memory.buffer, out, BLOCK);
  const heapBits = new Uint32Array(memory.buffer, out, BLOCK);
  const x0 = new Float32Array(memory.buffer, 0, BLOCK);
  let worstAbsolute = 0;
  const started = Date.now();
  let checked = 0;
  let differ = 0;
  let worstDistance = 0;
  let worstError = 0;
  let worstAt = 0;
  for (let start = 0; start < 2 ** 32; start += BLOCK * step) {
    for (let i = 0; i < BLOCK; i++) inBits[i] = start + i * step;
    x0.set(inputs);
    if (gradient) kernel(0, 4 * BLOCK, 8 * BLOCK, BLOCK / 2);
    else kernel(0, BLOCK / 2);
    for (let i = 0; i < BLOCK; i++) {
      const y = f(inputs[i]);
      tsOut[i] = y;
      const got = heap[i];
      if (Number.isNaN(y) || Number.isNaN(got)) {
        if (Number.isNaN(y) !== Number.isNaN(got)) {
          differ++;
          worstDistance = Infinity;
        }
        continue;
      }
      if (tsBits[i] !== heapBits[i]) {
        differ++;
        // ordered distance between the two float32 bit patterns
        const a = tsBits[i] >= 0x8000_0000 ? 0x8000_0000 - tsBits[i] : tsBits[i];
        const b = heapBits[i] >= 0x8000_0000 ? 0x8000_0000 - heapBits[i] : heapBits[i];
        worstDistance = Math.max(worstDistance, Math.abs(a - b));
        worstAbsolute = Math.max(worstAbsolute, Math.abs(tsOut[i] - heap[i]));
      }
      const error = got === y ? 0 : Math.abs(got - y) / ulp32(y);
      if (error > worstError) {
        worstError = error;
        worstAt = inputs[i];
      }
    }
    checked += BLOCK;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `${name}: ${checked.toLocaleString("en-US")} inputs${step > 1 ? ` (every ${step}th)` : ""}; largest error ${worstError.toFixed(6)} ulp (at x = ${worstAt}); ` +
      `differs from the TypeScript path on ${differ.toLocaleString("en-US")}, by at most ${worstDistance} ulp` +
      `${gradient ? ` (${worstAbsolute.toExponential(2)} absolute)` : ""}; ${seconds} s`,
  );
}
