// The issue-14 kinds in generated code: conv3d, conv_transpose1d, max/avg/adaptive_avg_pool3d, batchnorm on
// [C, D, H, W], upsample (nearest on 1–3 spatial axes, bilinear with and without align_corners) and drop_path.
// (a) Against PyTorch: float64 forward outputs, parameter and input gradients (and BatchNorm3d's running
//     statistics) computed with PyTorch 1.13 autograd (test/reference/pytorch/volume.json, made by
//     make_volume.py), within 1e-9 relative in float64 and 1e-4 in float32.
// (b) Backward against central finite differences (float64, relative error < 1e-6).
// (c) drop_path, whose masks come from the module's generator and not from torch's: identity in evaluation;
//     in training every sample is either 0 or x/(1 − p) (per batch with mode = batch), the share kept close
//     to 1 − p, and the backward routes the gradient through the same factor.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { build, gradientCheck, maxRelError, seeded, type Generated } from "./helpers/generated.js";
import { type KernelTarget } from "./helpers/targets.js";

interface Case {
  layer: string;
  shape: number[];
  n: number;
  train: boolean;
  params: { name: string; shape: number[]; data: number[] }[];
  x: number[];
  out_shape: number[];
  y: number[];
  g: number[];
  param_grads: { name: string; data: number[] }[];
  input_grad: number[];
  buffers_before?: { name: string; data: number[] }[];
  buffers_after?: { name: string; data: number[] }[];
}

const ref = JSON.parse(fs.readFileSync("test/reference/pytorch/volume.json", "utf8")) as { cases: Case[] };

const spec = (shape: readonly number[], layer: string) => `model M(x: f32[${shape.join(", ")}]) {\n  ${layer}\n}\n`;

/** A tensor of the single layer by its PyTorch name (the module's names carry the layer's prefix). */
function slot<T extends { name: string }>(list: readonly T[], name: string): T {
  const t = list.find((q) => q.name === name || q.name.endsWith(`.${name}`));
  if (!t) throw new Error(`no tensor ${name} (has ${list.map((q) => q.name).join(", ")})`);
  return t;
}

/** Whether a case's layer runs on the WebAssembly SIMD kernels with `--target wasm` (else TypeScript on both). */
const onSimd = (c: Case) => /^conv(3d|_transpose1d)\(/.test(c.layer);

async function against(c: Case, dtype: "float64" | "float32", target: KernelTarget = "ts"): Promise<Generated> {
  const { module: m, text } = await build(spec(c.shape, c.layer), { dtype, target });
  // the wasm target: the convolution's forward and backward on the SIMD kernels
  const simd = target === "wasm" && onSimd(c);
  const fn = c.layer.startsWith("conv_transpose") ? "wasmConvTranspose" : "wasmConv";
  expect(new RegExp(`${fn}Forward\\(\\s*arena,`).test(text), "forward on the SIMD kernels").toBe(simd);
  expect(new RegExp(`${fn}Backward\\(\\s*arena,`).test(text), "backward on the SIMD kernels").toBe(simd);
  const Arr = dtype === "float64" ? Float64Array : Float32Array;
  const tol = dtype === "float64" ? 1e-9 : 1e-4;
  const floor = dtype === "float64" ? 1e-8 : 1e-3;
  expect(m.outputShape).toEqual(c.out_shape);
  // the module's own parameter array: on the wasm target, in the kernels' memory (a plain array would take
  // the TypeScript branch)
  const p = m.createParams(0).fill(0);
  for (const t of c.params) {
    const info = slot(m.params, t.name);
    expect(info.shape).toEqual(t.shape);
    p.set(t.data, info.offset);
  }
  const buffers = new Arr(m.bufferCount);
  for (const b of c.buffers_before ?? []) buffers.set(b.data, slot(m.buffers, b.name).offset);
  const y = m.forward(p, Arr.from(c.x), c.n, { training: c.train, buffers });
  expect(maxRelError(Float64Array.from(y), c.y, floor), "forward").toBeLessThan(tol);
  for (const b of c.buffers_after ?? []) {
    const info = slot(m.buffers, b.name);
    expect(maxRelError(buffers.subarray(info.offset, info.offset + info.size), b.data, floor), b.name).toBeLessThan(
      tol,
    );
  }
  const gp = new Arr(m.paramCount);
  const gx = m.backward(p, Arr.from(c.g), gp);
  for (const t of c.param_grads) {
    const info = slot(m.params, t.name);
    expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, floor), t.name).toBeLessThan(
      tol * 10,
    );
  }
  expect(maxRelError(Float64Array.from(gx), c.input_grad, floor), "input gradient").toBeLessThan(tol * 10);
  return m;
}

describe("against PyTorch 1.13 (volume.json), float64", () => {
  const runs = ref.cases.flatMap((c) =>
    (onSimd(c) ? (["ts", "wasm"] as const) : (["ts"] as const)).map((t) => [c, t] as const),
  );
  for (const [c, target] of runs) {
    it(`${c.layer} on ${JSON.stringify(c.shape)}${c.train ? "" : " (eval)"} --target ${target}`, async () => {
      const m = await against(c, "float64", target);
      // (b) finite differences, in the same mode
      const fd = gradientCheck(m, c.n, { training: c.train, limit: 120 });
      expect(fd.params).toBeLessThan(1e-6);
      expect(fd.input).toBeLessThan(1e-6);
    });
  }
});

describe("against PyTorch 1.13 (volume.json), float32", () => {
  // One case per kind and mode: a float32 build differs only in its arrays.
  const seen = new Set<string>();
  for (const c of ref.cases) {
    const key = `${c.layer.split("(")[0]}${c.layer.includes("bilinear") ? " bilinear" : ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const target of onSimd(c) ? (["ts", "wasm"] as const) : (["ts"] as const)) {
      it(`${c.layer} --target ${target}`, async () => {
        await against(c, "float32", target);
      });
    }
  }
});

describe("drop_path (torchvision's StochasticDepth)", () => {
  const shape = [3, 4];
  const n = 400;
  const rand = seeded(5);
  const x = new Float64Array(n * 12).map(() => rand() + 2); // no zeros: a dropped sample is all zero
  for (const mode of ["row", "batch"] as const) {
    it(`mode = ${mode}: identity in evaluation; 0 or x/(1 − p) per ${mode === "row" ? "sample" : "call"} in training`, async () => {
      const p = 0.25;
      const { module: m } = await build(spec(shape, `drop_path(${p}, mode = ${mode})`), { dtype: "float64" });
      const params = m.createParams(0);
      expect(Array.from(m.forward(params, x, n))).toEqual(Array.from(x));
      const calls = mode === "row" ? 1 : 200;
      let kept = 0;
      let total = 0;
      let worst = 0;
      let notMask = 0;
      let mixed = 0;
      for (let call = 0; call < calls; call++) {
        const y = m.forward(params, x, n, { training: true, seed: call + 1 });
        const factors: number[] = [];
        for (let b = 0; b < n; b++) {
          const f = y[b * 12]! / x[b * 12]!;
          for (let i = 0; i < 12; i++) worst = Math.max(worst, Math.abs(y[b * 12 + i]! - x[b * 12 + i]! * f));
          if (![0, 1 / (1 - p)].some((v) => Math.abs(v - f) < 1e-12)) notMask++;
          factors.push(f);
        }
        if (mode === "batch" && new Set(factors.map((f) => f > 0)).size !== 1) mixed++;
        kept += factors.filter((f) => f > 0).length;
        total += n;
        // backward: the gradient goes through each sample's factor
        const g = new Float64Array(n * 12).map(() => rand());
        const gx = m.backward(params, g, new Float64Array(m.paramCount));
        for (let i = 0; i < n * 12; i++)
          worst = Math.max(worst, Math.abs(gx[i]! - g[i]! * factors[Math.floor(i / 12)]!));
      }
      expect(worst).toBeLessThan(1e-12);
      expect(notMask).toBe(0);
      expect(mixed).toBe(0);
      // 1 − p = 0.75 kept; 4 standard deviations of the binomial share
      const sd = Math.sqrt((p * (1 - p)) / (mode === "row" ? total : calls));
      expect(Math.abs(kept / total - (1 - p))).toBeLessThan(4 * sd);
    });
  }

  it("p = 1 drops every sample (no 1/0), p = 0 keeps every one; finite differences in training", async () => {
    const { module: all } = await build(spec(shape, "drop_path(1)"), { dtype: "float64" });
    const y = all.forward(all.createParams(0), x, n, { training: true });
    expect(y.every((v) => v === 0)).toBe(true);
    const { module: none } = await build(spec(shape, "drop_path(0)"), { dtype: "float64" });
    expect(Array.from(none.forward(none.createParams(0), x, n, { training: true }))).toEqual(Array.from(x));
    const { module: m } = await build(spec([6], "dense(4)\n  drop_path(0.5)\n  dense(2)"), { dtype: "float64" });
    const fd = gradientCheck(m, 6, { training: true });
    expect(fd.params).toBeLessThan(1e-6);
    expect(fd.input).toBeLessThan(1e-6);
  });
});

describe("an inference build (--bake-weights)", () => {
  it("computes what the training build computes in evaluation, for every new kind", async () => {
    const spec = `model M(x: f32[2, 3, 4, 4]) {
  conv3d(4, 3, padding = 1)
  batchnorm
  max_pool3d(2)
  avg_pool3d(1)
  adaptive_avg_pool3d([1, 2, 2])
  drop_path(0.3)
  reshape([4, 2, 2])
  upsample(scale_factor = 2, mode = bilinear)
  upsample(size = [5, 3])
  reshape([20, 3])
  conv_transpose1d(2, 3, stride = 2)
  flatten
  dense(3)
}
`;
    // the TypeScript kernels, as the inference build's (bit for bit: the SIMD kernels sum in another order)
    const { module: m0 } = await build(spec, { dtype: "float64", target: "ts" });
    const p = m0.createParams(3);
    const bakeWeights = [...Array.from(p), ...Array.from(m0.createBuffers())];
    const { module: m } = await build(spec, { dtype: "float64", bakeWeights });
    const x = new Float64Array(2 * m0.inputSize).map((_, i) => Math.sin(i));
    const baked = m as unknown as { forward(x: Float64Array, n: number): Float64Array };
    expect(Array.from(baked.forward(x, 2))).toEqual(Array.from(m0.forward(p, x, 2)));
  });
});
