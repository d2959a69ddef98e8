// `attention(…, add_bias_kv = true)` in generated code (src/emit/kernels/attention.ts): bias_k and bias_v
// are one more key and value after the projected ones (S + 1 keys), never padded out.
//
// (a) against torch.nn.MultiheadAttention(E, heads, add_bias_kv=True) itself, float64 autograd
//     (test/reference/pytorch/attention_bias_kv.json, made by make_attention_bias_kv.py with PyTorch 1.13):
//     tensor names, order and shapes as PyTorch's (bias_k, bias_v [1, 1, E]), the parameter count as
//     sum(p.numel()), forward to 1e-12, every parameter gradient (bias_k's and bias_v's included) and the
//     inputs' gradients to 1e-10; self-attention and cross-attention, each once padded (the call gives 3 of 5
//     positions, PyTorch's side the full length with `key_padding_mask` true past them), and
//     `[x, keys, values]` with kdim ≠ vdim;
// (b) gradients against fourth-order central differences on options PyTorch's module does not have
//     (grouped-query heads, separate projections, [in, out] matrices, attention dropout in inference);
// (c) `causal` and `rope` with add_bias_kv are refused (NN4033, test/diagnostics/attention-bias-kv-*.nn).
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { checkProgram } from "../src/program/check.js";
import { build, inputsFdError, maxRelError, seeded, type Generated, type InputsModule } from "./helpers/generated.js";
import { type AttentionCase } from "./helpers/torch-fixture.js";
import { expectAttentionTarget, onBothTargets } from "./helpers/targets.js";

/** The module's API as the tests call it: one input array, or a list of them (cross-attention). */
interface Module {
  forward(p: ArrayLike<number>, x: unknown, n: number, o?: { length?: number }): Float64Array;
  backward(p: ArrayLike<number>, gy: ArrayLike<number>, gp: ArrayLike<number>): Float64Array | readonly Float64Array[];
}
type Any = Omit<Generated, "forward" | "backward"> & Module;
const any = (m: Generated) => m as unknown as Any;
/** Inputs as the module takes them, gradients back as a list. */
const given = (xs: Float64Array[]) => (xs.length === 1 ? xs[0]! : xs);
const grads = (g: Float64Array | readonly Float64Array[]): readonly Float64Array[] =>
  g instanceof Float64Array ? [g] : g;

function nncCount(source: string): number {
  const checked = checkProgram("m.nn", {
    readFile: (f) => (f === "m.nn" ? { ok: true, text: source } : { ok: false, reason: "no such file" }),
  });
  expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return Number(checked.value.models[0]!.figures.params);
}

const fixture = JSON.parse(fs.readFileSync("test/reference/pytorch/attention_bias_kv.json", "utf8")) as {
  cases: AttentionCase[];
};

/** The key projection's bias gradient is exactly zero (softmax does not change when every score of a row
 *  moves by q·b_k): both sides give rounding noise there, so errors are relative to at least this. */
const FLOOR = 1e-4;

describe("add_bias_kv against torch.nn.MultiheadAttention (float64)", () => {
  it("covers self- and cross-attention, each with a padded call", () => {
    expect(fixture.cases.filter((c) => c.inputs.length === 1 && c.length !== undefined)).toHaveLength(1);
    expect(fixture.cases.filter((c) => c.inputs.length > 1 && c.length !== undefined)).toHaveLength(1);
  });
  it.each(onBothTargets(fixture.cases.map((c) => [c.name, c] as const)))("%s", async (_name, c, target) => {
    const { module, text } = await build(c.spec, { dtype: "float64", target });
    expectAttentionTarget(text, target, module, c.spec.includes("layout = in_out"));
    const m = any(module);
    expect(m.params.map((t) => [t.name.slice(t.name.indexOf(".") + 1), t.shape])).toEqual(
      c.params.map((t) => [t.name, t.shape]),
    );
    expect(m.paramCount).toBe(c.count);
    expect(nncCount(c.spec)).toBe(c.count);
    const p = m.createParams(0);
    for (const t of c.params) p.set(t.data, m.params.find((q) => q.name === `att.${t.name}`)!.offset);
    const n = c.inputs[0]!.shape[0]!;
    const inputs = c.inputs.map((t) => Float64Array.from(t.data));
    const y = m.forward(p, given(inputs), n, c.length !== undefined ? { length: c.length } : {});
    // Floor 1e-3: one output of the kdim case is 1.8e-5 (the others 0.05 to 2.3), its error 2e-16.
    expect(maxRelError(y, c.outputs.data, 1e-3)).toBeLessThan(1e-12);
    const gp = new Float64Array(m.paramCount);
    const gx = grads(m.backward(p, Float64Array.from(c.gy.data), gp));
    for (const t of c.param_grads) {
      const info = m.params.find((q) => q.name === `att.${t.name}`)!;
      expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, FLOOR), t.name).toBeLessThan(1e-10);
    }
    c.input_grads.forEach((t, k) => {
      // A padded call's input gradients come back at the full length, zero past the call's positions.
      const [L, width] = [t.shape[1]!, t.shape[2]!];
      const full = gx[k]!.length / n / width;
      const cut = Array.from({ length: n }, (_, b) => [...gx[k]!.subarray(b * full * width, (b * full + L) * width)]);
      const past = Array.from({ length: n }, (_, b) => [
        ...gx[k]!.subarray((b * full + L) * width, (b + 1) * full * width),
      ]);
      expect(maxRelError(cut.flat(), t.data, 1e-9), t.name).toBeLessThan(1e-10);
      expect(past.flat().every((v) => v === 0)).toBe(true);
    });
  });
});

describe("add_bias_kv gradients against finite differences (float64)", () => {
  const cases: readonly [string, string, number[]][] = [
    [
      "self-attention, grouped-query heads, separate projections",
      "model M(x: f32[t <= 3, 8]) {\n  attention(4, kv_heads = 2, qkv = separate, add_bias_kv = true)\n}\n",
      [24],
    ],
    [
      "cross-attention, head_dim 3, kv_heads 1, [in, out] matrices, dropout (inference)",
      "model M(x: f32[t <= 4, 6], memory: f32[s <= 2, 6]) {\n  [x, memory] -> attention(2, kv_heads = 1, head_dim = 3, layout = in_out, dropout = 0.1, add_bias_kv = true)\n}\n",
      [24, 12],
    ],
  ];
  it.each(onBothTargets(cases))("%s", async (_name, spec, sizes, target) => {
    const { module, text } = await build(spec, { dtype: "float64", target });
    expectAttentionTarget(text, target, module, spec.includes("layout = in_out"));
    expect(inputsFdError(module as unknown as InputsModule, sizes, 2, { seed: 5, floor: FLOOR })).toBeLessThan(1e-6);
  });
});

describe("add_bias_kv on --target wasm", () => {
  it.each([
    // dense(40): large enough to run on WebAssembly (smaller ones are unrolled TypeScript).
    ["head_dim 4", "model M(x: f32[t <= 5, 8]) {\n  attention(2, add_bias_kv = true) as a\n  dense(40)\n}\n", false],
    // head_dim 17: the per-head products on the SIMD kernels too (src/emit/wasm/attention.ts).
    [
      "head_dim 17",
      "model M(x: f32[t <= 5, 8]) {\n  attention(2, head_dim = 17, add_bias_kv = true) as a\n  dense(40)\n}\n",
      true,
    ],
  ] as const)("agrees with the TypeScript target (float64, a padded call too), %s", async (_name, spec, perHead) => {
    const ts = any((await build(spec, { dtype: "float64", target: "ts" })).module);
    const built = await build(spec, { dtype: "float64", target: "wasm" });
    const wa = any(built.module);
    expect(built.text.includes("on the SIMD kernels (src/emit/wasm/attention.ts)"), "per-head products").toBe(perHead);
    expect((wa as unknown as { kernelTarget: string }).kernelTarget).toBe("wasm-simd");
    const rand = seeded(7);
    for (const [n, length] of [
      [3, 5],
      [2, 3],
    ] as const) {
      const x = Float64Array.from({ length: n * length * 8 }, () => rand() - 0.5);
      const w = Float64Array.from({ length: n * length * 40 }, () => rand() - 0.5);
      const p = ts.createParams(2);
      const q = wa.createParams(2);
      const run = (m: Any, params: Float64Array) => {
        const y = Float64Array.from(m.forward(params, x, n, { length }));
        const gp = new Float64Array(m.paramCount);
        const gx = Float64Array.from(grads(m.backward(params, w, gp))[0]!);
        return { y, gx, gp };
      };
      const [a, b] = [run(wa, q), run(ts, p)];
      expect(maxRelError(a.y, b.y, 1)).toBeLessThan(1e-13);
      expect(maxRelError(a.gx, b.gx, 1)).toBeLessThan(1e-13);
      expect(maxRelError(a.gp, b.gp, 1)).toBeLessThan(1e-13);
    }
  });
});
