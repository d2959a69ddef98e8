// Dense layers, activations and value arithmetic in generated code: gradients against central finite
// differences in float64 (relative error < 1e-6), both code shapes of dense (unrolled, tiled), and the
// guards every generated module has against wrong inputs.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { build, gradientCheck, loadStateDict, maxRelError, seeded } from "./helpers/generated.js";

const mlp = (input: string, body: string) => `model M(x: f32[${input}]) {\n${body}\n}\n`;

/** y = x Wᵀ + b by plain loops, for one dense layer whose weight (then bias) starts `p`. */
function denseReference(p: ArrayLike<number>, x: ArrayLike<number>, n: number, IN: number, OUT: number): Float64Array {
  const y = new Float64Array(n * OUT);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < OUT; o++) {
      let t = p[OUT * IN + o]!;
      for (let i = 0; i < IN; i++) t += x[r * IN + i]! * p[o * IN + i]!;
      y[r * OUT + o] = t;
    }
  }
  return y;
}

/** [name, spec, step of the central differences (default 1e-6)]. A model that is one dense layer is linear in
 *  every parameter and input, so a central difference has no truncation error at any step and only rounding
 *  (≈ u·|L| / h) is left: a larger step makes it smaller. At 1e-6 it reached 1.2e-6 (relative, floor 1e-6)
 *  on small gradient elements with either kernel, which sum in different orders. */
const cases: [string, string, number?][] = [
  ["dense, unrolled (3 → 4)", mlp("3", "dense(4)")],
  ["dense without bias, unrolled", mlp("3", "dense(4, bias = false)")],
  ["dense, tiled (40 → 37: a remainder after 4-column tiles)", mlp("40", "dense(37)"), 1e-3],
  ["dense without bias, tiled", mlp("40", "dense(33, bias = false)"), 1e-3],
  ["dense over a sequence (rows = positions)", mlp("s <= 3, 5", "dense(6)")],
  ["dense, weight [in, out], unrolled", mlp("3", "dense(4, layout = in_out)")],
  ["dense, weight [in, out], packed (40 → 37)", mlp("40", "dense(37, layout = in_out)")],
  ["dense, weight [in, out], no bias, over a sequence", mlp("s <= 3, 20", "dense(9, layout = in_out, bias = false)")],
  // Above the unroll limit: on the SIMD kernels by transposition with `wasm` (codegen-wasm.test.ts asserts it).
  [
    "dense, weight [in, out], no bias, over a sequence, packed (20 → 19)",
    mlp("s <= 3, 20", "dense(19, layout = in_out, bias = false)"),
    1e-3,
  ],
  ["a transposed tie of an [out, in] weight, packed", mlp("24", "dense(40) as a\ntanh\ndense(24, tie = transpose(a))")],
  [
    "a transposed tie of a weight [in, out]",
    mlp("3", "dense(5, layout = in_out) as a\ntanh\ndense(3, layout = in_out, tie = transpose(a))"),
  ],
  ...(
    [
      "relu",
      "relu6",
      "leaky_relu(negative_slope = 0.2)",
      "elu(alpha = 0.7)",
      "selu",
      "gelu",
      "gelu(approximate = tanh)",
      "silu",
      "swish",
      "mish",
      "sigmoid",
      "hard_sigmoid",
      "hardsigmoid",
      "hardswish",
      "tanh",
      "softplus(beta = 2, threshold = 5)",
      "softsign",
      "abs",
      "identity",
      "softmax",
      "log_softmax",
      "dropout(0.3)",
    ] as const
  ).map((a): [string, string] => [a, mlp("6", `dense(5) ${a} dense(3)`)]),
  ["prelu, one slope", mlp("6", "dense(5) prelu dense(2)")],
  ["prelu, a slope per channel", mlp("3, 4", "flatten dense(12) reshape([3, 4]) prelu(3) flatten dense(2)")],
  ["softmax along the first axis", mlp("3, 4", "flatten dense(12) reshape([3, 4]) softmax(axis = 0) flatten")],
  ["residual add", mlp("5", "residual { dense(5) tanh }")],
  ["gating multiply", mlp("5", "a = x -> dense(4) -> sigmoid\nb = x -> dense(4)\na * b -> dense(2)")],
  ["a value used twice", mlp("4", "h = x -> dense(4) tanh\nh + h -> dense(1)")],
  ["subtract", mlp("5", "a = x -> dense(4) tanh\nb = x -> dense(4)\na - b -> dense(2)")],
  [
    "broadcast: a squeeze-and-excitation gate [4, 1, 1] over [4, 3, 3]",
    mlp(
      "2, 3, 3",
      "h = x -> conv2d(4, 1)\ns = h -> adaptive_avg_pool2d([1, 1]) -> conv2d(2, 1) -> relu -> conv2d(4, 1) -> sigmoid\nh * s -> flatten -> dense(3)",
    ),
  ],
  [
    "broadcast: a shorter operand [4] against [s, 4], symbolic length",
    mlp("s <= 3, 4", "a = x -> dense(4) tanh\nm = x -> mean(axis = 0)\na - m -> flatten -> dense(2)"),
  ],
  [
    "broadcast: both operands repeated, [3, 1] + [1, 4] and [1, 4] - [3, 1]",
    mlp(
      "s <= 3, 4",
      "c = x -> dense(1)\nr = x -> mean(axis = 0) -> reshape([1, 4])\nu = c + r\nv = r - c\nu * v -> dense(2)",
    ),
  ],
  [
    "broadcast: a scalar per sample times [3, 4]",
    mlp("3, 4", "k = x -> flatten -> dense(1) -> reshape([1]) -> mean\nk * x -> flatten -> dense(2)"),
  ],
  ["abs of a difference", mlp("4", "a = x -> dense(3)\nb = x -> dense(3)\na - b -> abs -> dense(2)")],
];

// Both targets: dense layers above the unroll limit run on the WebAssembly SIMD kernels (f64x2) with `wasm`.
const targets = ["wasm", "ts"] as const;
describe.each(targets)("gradients against finite differences (float64), --target %s", (target) => {
  it.each(cases)("%s", async (_name, spec, h) => {
    const { module: m } = await build(spec, { dtype: "float64", target });
    const errors = gradientCheck(m, 3, h === undefined ? {} : { h });
    expect(errors.params).toBeLessThan(1e-6);
    expect(errors.input).toBeLessThan(1e-6);
  });
});

describe("softplus without overflow", () => {
  // Found by the fuzzer: with a threshold above 709/β, log1p(exp(βx)) overflowed to Infinity (and NaN after
  // it) where softplus is x + a vanishing term. Expected values from the definition log(1 + e^(βx)) / β:
  // at βx = 1000 it is 1000/1000 + log(1 + e^−1000)/1000 = 1 in doubles; at βx = 0.5, Math.log(1 + e^0.5)/1000
  // (no overflow there, so the direct formula is exact to rounding).
  it("softplus(beta = 1000, threshold = 1000) is finite and exact where βx passes 709", async () => {
    const { module: m } = await build(mlp("3", "softplus(beta = 1000, threshold = 1000)"), { dtype: "float64" });
    const y = m.forward(m.createParams(), Float64Array.of(1, -1, 0.0005), 1);
    expect(y[0]).toBe(1);
    expect(y[1]).toBe(0);
    expect(Math.abs(y[2]! - Math.log(1 + Math.exp(0.5)) / 1000)).toBeLessThan(1e-18);
    const gx = m.backward(m.createParams(), Float64Array.of(1, 1, 1), new Float64Array(0));
    // d/dx = sigmoid(βx): 1 at βx = 1000, e^−1000 ≈ 0 at βx = −1000, sigmoid(0.5) at βx = 0.5.
    expect(Array.from(gx)).toEqual([1, 0, 1 / (1 + Math.exp(-0.5))]);
  });
});

describe("hardswish and hardsigmoid against PyTorch (float64, kinks included)", () => {
  // test/reference/pytorch/activations.json, made by make_activations.py with PyTorch 1.13's autograd
  // (F.hardswish, F.hardsigmoid) at points that include x = ±3 and their neighbours 2^-8 away, so the
  // gradient's value AT each kink is PyTorch's: hardswish −g/2 at −3 and 3g/2 at 3, hardsigmoid 0 at both.
  // Each point was computed alone (PyTorch's scalar path, as its CUDA kernel and its documented x ≤ 3 rule);
  // its CPU vectorized path gives g at x = 3 instead (recorded in the file as `vectorized_path_differs`).
  interface Vectors {
    readonly y: number[];
    readonly gx: number[];
  }
  const torchActivations = JSON.parse(fs.readFileSync("test/reference/pytorch/activations.json", "utf8")) as {
    x: number[];
    gy: number[];
    hardswish: Vectors;
    hardsigmoid: Vectors;
  };
  const { x, gy } = torchActivations;
  it.each(["hardswish", "hardsigmoid"] as const)("%s: forward and input gradient", async (kind) => {
    const ref = torchActivations[kind];
    const { module: m } = await build(mlp(String(x.length), kind), { dtype: "float64" });
    const p = m.createParams();
    const y = Float64Array.from(m.forward(p, Float64Array.from(x), 1));
    const gx = Float64Array.from(m.backward(p, Float64Array.from(gy), new Float64Array(0)));
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(y[i]! - ref.y[i]!)).toBeLessThan(1e-15);
      // PyTorch 1.13's hardsigmoid_backward multiplies by a float32 1/6 (0.1666666716…) even in float64;
      // nnc uses the double 1/6: the two differ by 3e-8 relative.
      expect(Math.abs(gx[i]! - ref.gx[i]!)).toBeLessThanOrEqual(3e-8 * Math.abs(ref.gx[i]!));
    }
  });
});

describe("broadcasting arithmetic and abs against PyTorch (float64)", () => {
  // test/reference/pytorch/broadcast.json, made by make_broadcast.py with PyTorch 1.13's autograd: operands
  // [3, 4] * [3, 1], [3, 4] - [4], [1, 4] + [3, 1] per sample, then abs and a dense layer per position.
  const ref = JSON.parse(fs.readFileSync("test/reference/pytorch/broadcast.json", "utf8")) as {
    spec: string;
    params: { name: string; data: number[] }[];
    inputs: { shape: number[]; data: number[] };
    outputs: { data: number[] };
    gy: { data: number[] };
    param_grads: { name: string; data: number[] }[];
    input_grad: { data: number[] };
    abs_at_zero: { x: number[]; gy: number[]; y: number[]; gx: number[] };
  };
  for (const dtype of ["float64", "float32"] as const) {
    const tol = dtype === "float64" ? 1e-12 : 1e-5;
    it(`${dtype}: forward, parameter and input gradients`, async () => {
      const { module: m } = await build(ref.spec, { dtype });
      const p = m.createParams(0);
      loadStateDict(m, ref.params, p);
      const n = ref.inputs.shape[0]!;
      const x = dtype === "float64" ? Float64Array.from(ref.inputs.data) : Float32Array.from(ref.inputs.data);
      expect(maxRelError(m.forward(p, x, n), ref.outputs.data)).toBeLessThan(tol);
      const gy = dtype === "float64" ? Float64Array.from(ref.gy.data) : Float32Array.from(ref.gy.data);
      const gp = dtype === "float64" ? new Float64Array(m.paramCount) : new Float32Array(m.paramCount);
      const gx = m.backward(p, gy, gp);
      for (const t of ref.param_grads) {
        const info = m.params.find((q) => q.name === t.name)!;
        expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, 1e-6), t.name).toBeLessThan(
          tol * 10,
        );
      }
      expect(maxRelError(gx, ref.input_grad.data, 1e-6)).toBeLessThan(tol * 10);
    });
  }
  it("abs: |x|, and no gradient at 0 (sign(0) = 0), as torch.abs", async () => {
    const { x, gy, y, gx } = ref.abs_at_zero;
    const { module: m } = await build(mlp(String(x.length), "abs"), { dtype: "float64" });
    const p = m.createParams();
    expect(Array.from(m.forward(p, Float64Array.from(x), 1))).toEqual(y);
    const got = Array.from(m.backward(p, Float64Array.from(gy), new Float64Array(0)));
    // PyTorch gives −0 where g < 0 at x = 0 (g · 0); the value is zero either way.
    expect(got.map((v) => v + 0)).toEqual(gx.map((v) => v + 0));
  });
});

describe("both dense code shapes compute the same", () => {
  it("unrolled and tiled agree on a 20 → 30 layer", async () => {
    const spec = mlp("20", "dense(30) tanh dense(7)");
    const { module: unrolled, text: a } = await build(spec, { dtype: "float64", unrollLimit: 4_096 });
    const { module: tiled, text: b } = await build(spec, { dtype: "float64", unrollLimit: 0, tileColumns: 3 });
    expect(a).toContain("unrolled");
    expect(b).toContain("4 × 4 register tiles (4 × 2, 4 × 1 at the edge),\n *  then 3-column tiles");
    const p = unrolled.createParams(4);
    const x = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i));
    const y1 = Float64Array.from(unrolled.forward(p, x, 2));
    const y2 = Float64Array.from(tiled.forward(p, x, 2));
    for (let i = 0; i < y1.length; i++) expect(Math.abs(y1[i]! - y2[i]!)).toBeLessThan(1e-12);
    // 9 rows: two 4 × 4 row tiles and one row left over; 30 and 7 outputs leave column remainders too.
    const x9 = Float64Array.from({ length: 180 }, (_, i) => Math.cos(i * 0.7));
    const z1 = Float64Array.from(unrolled.forward(p, x9, 9));
    const z2 = Float64Array.from(tiled.forward(p, x9, 9));
    for (let i = 0; i < z1.length; i++) expect(Math.abs(z1[i]! - z2[i]!)).toBeLessThan(1e-12);
    // The default 8-column tiles on the row left over: 30 = 3 × 8 + one 4-column tile + 2 single columns.
    const { module: tiled8 } = await build(spec, { dtype: "float64", unrollLimit: 0 });
    const z3 = Float64Array.from(tiled8.forward(p, x9, 9));
    for (let i = 0; i < z1.length; i++) expect(Math.abs(z1[i]! - z3[i]!)).toBeLessThan(1e-12);
    // Backward over the same 9 rows: parameter and input gradients agree between the two code shapes.
    const gy = Float64Array.from({ length: 63 }, (_, i) => Math.sin(i * 1.3));
    const ga = new Float64Array(unrolled.paramCount);
    const gb = new Float64Array(tiled.paramCount);
    unrolled.forward(p, x9, 9);
    const xa = Float64Array.from(unrolled.backward(p, gy, ga));
    tiled.forward(p, x9, 9);
    const xb = Float64Array.from(tiled.backward(p, gy, gb));
    for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i]! - gb[i]!)).toBeLessThan(1e-11);
    for (let i = 0; i < xa.length; i++) expect(Math.abs(xa[i]! - xb[i]!)).toBeLessThan(1e-11);
  });
});

describe("the looped kernel's paths for long rows", () => {
  // Rows of up to 4096 inputs are copied 4 at a time into a module-level buffer of 16,384 doubles, single
  // rows up to 16,384; longer rows read the input directly (4-row tiles) or take the plain loops. Each
  // path against a direct computation from the parameters, over 5 rows (one 4-row tile + one row left).
  it.each([4100, 16400])("a %i → 3 layer computes y = x Wᵀ + b on every path", async (IN) => {
    const { module: m } = await build(mlp(String(IN), "dense(3)"), { dtype: "float64" });
    const p = m.createParams(2);
    const n = 5;
    const x = Float64Array.from({ length: n * IN }, (_, i) => Math.sin(i * 0.37));
    const y = m.forward(p, x, n);
    const want = denseReference(p, x, n, IN, 3);
    for (let k = 0; k < want.length; k++) expect(Math.abs(y[k]! - want[k]!)).toBeLessThan(1e-11);
  });
});

describe("the packed products' blocks", () => {
  // Packed products take at most 1,024 reduction steps and 32,768 doubles per operand at a time: 1,100 rows
  // (dW's reduction, and 2 row blocks of the forward at 40 inputs), 1,100 outputs (dx's reduction) and
  // 1,030 inputs (the forward's reduction) take several blocks; odd row and column counts take the padded
  // edges; fewer than 8 rows or outputs take the 4-row tiles forward. Against plain loops written here.
  it.each([
    [6, 7, 1100],
    [30, 1100, 3],
    [5, 9, 7],
    [40, 9, 1100],
    [1030, 12, 9],
  ])("dense %i → %i over %i rows: y, dW, db and dx", async (IN, OUT, n) => {
    const { module: m } = await build(mlp(String(IN), `dense(${OUT})`), { dtype: "float64", unrollLimit: 0 });
    const p = m.createParams(6);
    const x = Float64Array.from({ length: n * IN }, (_, i) => Math.sin(i * 0.61));
    const gy = Float64Array.from({ length: n * OUT }, (_, i) => Math.cos(i * 0.29));
    const grads = new Float64Array(m.paramCount);
    const y = m.forward(p, x, n);
    expect(maxRelError(y, denseReference(p, x, n, IN, OUT))).toBeLessThan(1e-11);
    const gx = m.backward(p, gy, grads) as Float64Array;
    const wantW = new Float64Array(OUT * IN);
    const wantB = new Float64Array(OUT);
    const wantX = new Float64Array(n * IN);
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < OUT; o++) {
        const g = gy[r * OUT + o]!;
        wantB[o]! += g;
        for (let i = 0; i < IN; i++) {
          wantW[o * IN + i]! += g * x[r * IN + i]!;
          wantX[r * IN + i]! += g * p[o * IN + i]!;
        }
      }
    }
    expect(maxRelError(grads.subarray(0, OUT * IN), wantW)).toBeLessThan(1e-12);
    expect(maxRelError(grads.subarray(OUT * IN), wantB)).toBeLessThan(1e-12);
    expect(maxRelError(gx, wantX)).toBeLessThan(1e-12);
  });
});

describe("weights stored [in, out] (layout = in_out, HF Conv1D)", () => {
  // y = x W + b with W [in, out]: element (i, o) at i·OUT + o. Forward, dW, db and dx against plain loops
  // written here, on the unrolled code, the packed products (several blocks: 1,100 rows, 1,030 inputs) and
  // a sequence; and a transposed tie of an [out, in] matrix, which reads that storage as [in, out].
  it.each([
    [3, 4, 5, undefined],
    [6, 7, 1100, 0],
    [1030, 12, 9, 0],
    [20, 9, 3, 0],
  ])("dense %i → %i over %i rows (unroll limit %s): y, dW, db and dx", async (IN, OUT, n, unrollLimit) => {
    const { module: m, text } = await build(mlp(String(IN), `dense(${OUT}, layout = in_out)`), {
      dtype: "float64",
      ...(unrollLimit === undefined ? {} : { unrollLimit }),
    });
    expect(m.params[0]).toMatchObject({ name: "0.weight", shape: [IN, OUT] });
    expect(text).toContain("weight [in, out]");
    const p = m.createParams(6);
    const x = Float64Array.from({ length: n * IN }, (_, i) => Math.sin(i * 0.61));
    const gy = Float64Array.from({ length: n * OUT }, (_, i) => Math.cos(i * 0.29));
    const want = new Float64Array(n * OUT);
    const wantW = new Float64Array(IN * OUT);
    const wantB = new Float64Array(OUT);
    const wantX = new Float64Array(n * IN);
    const sizeX = new Float64Array(n * IN); // Σ |terms| of each dx element
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < OUT; o++) {
        let t = p[IN * OUT + o]!;
        for (let i = 0; i < IN; i++) t += x[r * IN + i]! * p[i * OUT + o]!;
        want[r * OUT + o] = t;
        const g = gy[r * OUT + o]!;
        wantB[o]! += g;
        for (let i = 0; i < IN; i++) {
          wantW[i * OUT + o]! += g * x[r * IN + i]!;
          wantX[r * IN + i]! += g * p[i * OUT + o]!;
          sizeX[r * IN + i]! += Math.abs(g * p[i * OUT + o]!);
        }
      }
    }
    expect(maxRelError(m.forward(p, x, n), want)).toBeLessThan(1e-11);
    const grads = new Float64Array(m.paramCount);
    const gx = m.backward(p, gy, grads) as Float64Array;
    expect(maxRelError(grads.subarray(0, IN * OUT), wantW)).toBeLessThan(1e-11);
    expect(maxRelError(grads.subarray(IN * OUT), wantB)).toBeLessThan(1e-11);
    // dx on the wasm target (compile's default, auto) sums each element's OUT terms in two f64x2 lanes, not
    // in order: within 2·γ_OUT·Σ|terms| of the ordered sum (Higham §3.1), where an element that cancels to
    // near zero (1030 → 12) has a relative error past 1e-11.
    for (let k = 0; k < gx.length; k++) {
      expect(Math.abs(gx[k]! - wantX[k]!), `dx[${k}]`).toBeLessThanOrEqual(4 * OUT * 2 ** -53 * sizeX[k]! + 1e-300);
    }
  });

  it.each([undefined, 0])("a transposed tie reads its target transposed (unroll limit %s)", async (unrollLimit) => {
    // `a` is [5, 3] (nn.Linear 3 → 5); the head's weight is aᵀ, [3, 5]: y = tanh(x aᵀ + b_a) a + b_head.
    const spec = mlp("3", "dense(5) as a\ntanh\ndense(3, tie = transpose(a)) as head");
    const { module: m } = await build(spec, {
      dtype: "float64",
      ...(unrollLimit === undefined ? {} : { unrollLimit }),
    });
    const p = m.createParams(4);
    const off = (name: string) => m.params.find((t) => t.name === name)!.offset;
    const [A, BA, BH] = [off("a.weight"), off("a.bias"), off("head.bias")];
    expect(off("head.weight")).toBe(A);
    const n = 4;
    const x = Float64Array.from({ length: n * 3 }, (_, i) => Math.sin(i * 0.7));
    const want = new Float64Array(n * 3);
    for (let r = 0; r < n; r++) {
      const h = Array.from({ length: 5 }, (_, o) => {
        let t = p[BA + o]!;
        for (let i = 0; i < 3; i++) t += x[r * 3 + i]! * p[A + o * 3 + i]!;
        return Math.tanh(t);
      });
      for (let o = 0; o < 3; o++) {
        let t = p[BH + o]!;
        for (let i = 0; i < 5; i++) t += h[i]! * p[A + i * 3 + o]!; // head.weight[o][i] = a.weight[i][o]
        want[r * 3 + o] = t;
      }
    }
    expect(maxRelError(m.forward(p, x, n), want)).toBeLessThan(1e-12);
  });
});

describe("gradients assigned by their first writer", () => {
  // Small unrolled layers and activations assign the gradients they write first in the backward pass, and
  // the module then does not zero those arrays: nothing may leak from one call into the next. A tie
  // (shared weight) and a residual (a value read twice) must still accumulate.
  const spec = mlp("3", "dense(5) as a\ntanh\nresidual {\n  dense(5) relu\n}\ndense(3, tie = transpose(a))\nsigmoid");
  it("calls A, B, A give A's gradients twice and B's as a fresh module does", async () => {
    const { module: m, text } = await build(spec, { dtype: "float64" });
    const { module: fresh } = await build(spec, { dtype: "float64" });
    expect(text).toContain("the first row assigns the parameter gradients");
    const p = m.createParams(3);
    const call = (mod: typeof m, n: number, seed: number) => {
      const rand = seeded(seed);
      const x = Float64Array.from({ length: n * 3 }, () => rand());
      const gy = Float64Array.from({ length: n * 3 }, () => rand());
      mod.forward(p, x, n);
      const grads = new Float64Array(mod.paramCount);
      const gx = Float64Array.from(mod.backward(p, gy, grads) as Float64Array);
      return { grads: Array.from(grads), gx: Array.from(gx) };
    };
    const a1 = call(m, 2, 1);
    const b = call(m, 3, 2);
    const a2 = call(m, 2, 1);
    expect(a2).toEqual(a1);
    expect(b).toEqual(call(fresh, 3, 2));
    // and the gradients are right: against finite differences (seed 0: with the default seed one central
    // difference straddles the ReLU's kink, 1.5e-6 in this build and in a build without claims alike)
    const errors = gradientCheck(m, 2, { seed: 0 });
    expect(errors.params).toBeLessThan(1e-6);
    expect(errors.input).toBeLessThan(1e-6);
  });
});

describe("generated code never trusts its caller", () => {
  it("throws a RangeError naming what was expected", async () => {
    const { module: m } = await build(mlp("3", "dense(2)"), { dtype: "float32" });
    const p = m.createParams();
    expect(() => m.forward(p, new Float32Array(3), 0)).toThrow(RangeError);
    expect(() => m.forward(p, new Float32Array(3), 1.5)).toThrow(/batch must be a whole number/);
    expect(() => m.forward(p, new Float32Array(4), 1)).toThrow(/input has 4 elements, expected 3/);
    expect(() => m.forward(new Float32Array(7), new Float32Array(3), 1)).toThrow(/params has 7 elements, expected 8/);
    m.forward(p, new Float32Array(6), 2);
    expect(() => m.backward(p, new Float32Array(3), new Float32Array(8))).toThrow(
      /outputGrad has 3 elements, expected 4/,
    );
    expect(() => m.backward(p, new Float32Array(4), new Float32Array(9))).toThrow(/grads has 9 elements, expected 8/);
    expect(() => m.crossEntropyLoss(new Float32Array(4), [0, 2], 2)).toThrow(/class index/);
  });

  it("createParams is deterministic and follows PyTorch's bounds", async () => {
    const { module: m } = await build(mlp("25", "dense(3)"), { dtype: "float64" });
    const a = m.createParams(42);
    expect(Array.from(m.createParams(42))).toEqual(Array.from(a));
    expect(Array.from(m.createParams(43))).not.toEqual(Array.from(a));
    // kaiming_uniform(a = √5) on fan_in 25: U(±1/5); the bias the same.
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(0.2);
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(0.15);
  });
});

describe("--bake-weights", () => {
  it("an inference build computes what the general build computes with the same parameters", async () => {
    const spec = mlp("4", "dense(6) tanh dense(40) relu dense(3)");
    const { module: general } = await build(spec, { dtype: "float64" });
    const p = general.createParams(9);
    const byName: Record<string, number[]> = Object.fromEntries(
      general.params.map((t) => [t.name, Array.from(p.subarray(t.offset, t.offset + t.size))]),
    );
    const { module: baked, text } = await build(spec, { dtype: "float64", bakeWeights: byName });
    // Small layers multiply by constants; there is no backward or training code in an inference build.
    expect(text).toMatch(/x0 \* \(?-?0\.\d+/);
    expect(text).not.toMatch(/export const backward|function backward\(/);
    const x = Float64Array.from({ length: 8 }, (_, i) => Math.cos(i));
    const want = Float64Array.from(general.forward(p, x, 2));
    const got = (baked.forward as unknown as (x: Float64Array, n: number) => Float64Array)(x, 2);
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(Array.from((baked as unknown as { bakedParams: Float64Array }).bakedParams)).toEqual(Array.from(p));
  });

  it("rejects a parameter set that does not fit the model", async () => {
    const { compile } = await import("../src/emit/compile.js");
    const spec = mlp("2", "dense(1)");
    const missing = await compile(spec, { bakeWeights: { "0.weight": [1, 2] } });
    expect(missing.files).toEqual([]);
    expect(missing.diagnostics[0]!.message).toContain("no values for `0.bias`");
    const wrong = await compile(spec, { bakeWeights: [1, 2] });
    expect(wrong.diagnostics[0]!.message).toContain("2 values given, the model has 3 parameters");
  });

  it("a transposed tie given with its values is compared with its target transposed", async () => {
    // head.weight is a.weightᵀ: given as PyTorch's state_dict holds it, [3][5] = the transpose of [5][3].
    const { compile } = await import("../src/emit/compile.js");
    const spec = mlp("3", "dense(5) as a\ntanh\ndense(3, tie = transpose(a)) as head");
    const a = Array.from({ length: 5 }, (_, o) => Array.from({ length: 3 }, (_, i) => o * 3 + i + 1));
    const weights = { "a.weight": a, "a.bias": [0, 0, 0, 0, 0], "head.bias": [0, 0, 0] };
    const transposed = a[0]!.map((_, i) => a.map((row) => row[i]!));
    const ok = await compile(spec, { bakeWeights: { ...weights, "head.weight": transposed } });
    expect(ok.diagnostics).toEqual([]);
    const reshaped = [0, 1, 2].map((r) => a.flat().slice(r * 5, r * 5 + 5));
    const refused = await compile(spec, { bakeWeights: { ...weights, "head.weight": reshaped } });
    expect(refused.diagnostics[0]!.message).toContain("`head.weight` is tied to `a.weight` but differs");
  });
});

describe("several inputs and outputs", () => {
  it("two float inputs and two outputs: gradients against finite differences", async () => {
    const spec = `model Two(a: f32[3], b: f32[3]) {
  x = a -> dense(3) tanh
  y = x + b -> dense(2)
  z = b -> dense(1)
  output y, z
}
`;
    const { module } = await build(spec, { dtype: "float64" });
    const m = module as unknown as {
      inputs: readonly { name: string; size: number }[];
      outputs: readonly { size: number }[];
      paramCount: number;
      createParams(seed: number): Float64Array;
      forward(
        p: Float64Array,
        inputs: readonly [Float64Array, Float64Array],
        n: number,
      ): readonly [Float64Array, Float64Array];
      backward(
        p: Float64Array,
        grads: readonly [Float64Array, Float64Array],
        g: Float64Array,
      ): readonly [Float64Array, Float64Array];
    };
    expect(m.inputs.map((i) => i.name)).toEqual(["a", "b"]);
    expect(m.outputs.map((o) => o.size)).toEqual([2, 1]);
    const p = m.createParams(3);
    const a = Float64Array.from([0.1, -0.4, 0.7, 0.2, 0.5, -0.9]);
    const b = Float64Array.from([0.3, 0.8, -0.2, -0.6, 0.1, 0.4]);
    const w = [Float64Array.from([0.5, -1, 2, 0.25]), Float64Array.from([1.5, -0.5])] as const;
    const loss = (pp: Float64Array, aa: Float64Array, bb: Float64Array) => {
      const [y, z] = m.forward(pp, [aa, bb], 2);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i]! * w[0][i]!;
      for (let i = 0; i < z.length; i++) s += z[i]! * w[1][i]!;
      return s;
    };
    m.forward(p, [a, b], 2);
    const g = new Float64Array(m.paramCount);
    const [ga, gb] = m.backward(p, w, g).map((x) => Float64Array.from(x));
    const h = 1e-6;
    const numeric = (arr: Float64Array, i: number, f: () => number) => {
      const keep = arr[i]!;
      arr[i] = keep + h;
      const up = f();
      arr[i] = keep - h;
      const down = f();
      arr[i] = keep;
      return (up - down) / (2 * h);
    };
    for (let i = 0; i < p.length; i++) expect(Math.abs(numeric(p, i, () => loss(p, a, b)) - g[i]!)).toBeLessThan(1e-7);
    for (let i = 0; i < a.length; i++)
      expect(Math.abs(numeric(a, i, () => loss(p, a, b)) - ga![i]!)).toBeLessThan(1e-7);
    for (let i = 0; i < b.length; i++)
      expect(Math.abs(numeric(b, i, () => loss(p, a, b)) - gb![i]!)).toBeLessThan(1e-7);
  });
});
