// `attention(heads, qkv = separate, k_bias = false)`: a key projection without a bias beside q, v and out
// projections with theirs, as Hugging Face's WhisperAttention (src/vocabulary/kinds/attention.ts; the
// kernel, src/emit/kernels/attention.ts, reads each projection's bias only where the tensor exists).
//
// (a) against an independent torch 1.13 reimplementation of WhisperAttention, float64 autograd
//     (test/reference/pytorch/attention_kbias.json, made by make_attention_kbias.py): names and shapes as
//     HF's (compared as sets: HF registers k, v, q, out), the count as sum(p.numel()), forward to 1e-12,
//     every parameter's and input's gradient to 1e-10, on self-attention, causal self-attention and
//     cross-attention to a memory;
// (b) gradients against fourth-order central differences, every parameter and input element, with
//     grouped-query heads and [in, out] matrices, and `k_bias = true` with `bias = false` (the key's bias alone);
// (c) a fused projection refuses a `k_bias` other than `bias` (NN4034).
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { checkProgram } from "../src/program/check.js";
import { build, inputsFdError, maxRelError, type Generated, type InputsModule } from "./helpers/generated.js";
import { type AttentionCase } from "./helpers/torch-fixture.js";
import { expectAttentionTarget, onBothTargets } from "./helpers/targets.js";

/** The module's API with one or two inputs, as the tests call it. */
interface Multi {
  forward(p: ArrayLike<number>, inputs: ArrayLike<number> | readonly ArrayLike<number>[], n: number): Float64Array;
  backward(p: ArrayLike<number>, gy: ArrayLike<number>, gp: ArrayLike<number>): Float64Array | readonly Float64Array[];
}
type MultiModule = Omit<Generated, "forward" | "backward"> & Multi;
const multi = (m: Generated) => m as unknown as MultiModule;

function check(source: string) {
  return checkProgram("m.nn", {
    readFile: (f) => (f === "m.nn" ? { ok: true, text: source } : { ok: false, reason: "no such file" }),
  });
}

const fixture = JSON.parse(fs.readFileSync("test/reference/pytorch/attention_kbias.json", "utf8")) as {
  cases: AttentionCase[];
};

/** Errors relative to at least this: the key projection's bias-free gradients are of order 0.1 to 1. */
const FLOOR = 1e-4;

describe("k_bias = false against a torch WhisperAttention (float64)", () => {
  it.each(onBothTargets(fixture.cases.map((c) => [c.name, c] as const)))("%s", async (_name, c, target) => {
    const { module, text } = await build(c.spec, { dtype: "float64", target });
    expectAttentionTarget(text, target, module, c.spec.includes("layout = in_out"));
    const m = multi(module);
    const sorted = (xs: [string, number[]][]) => [...xs].sort((a, b) => a[0].localeCompare(b[0]));
    expect(sorted(m.params.map((t) => [t.name.slice(t.name.indexOf(".") + 1), [...t.shape]]))).toEqual(
      sorted(c.params.map((t) => [t.name, t.shape])),
    );
    expect(m.paramCount).toBe(c.count);
    const checked = check(c.spec);
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(Number(checked.value.models[0]!.figures.params)).toBe(c.count);
    const p = m.createParams(0);
    for (const t of c.params) p.set(t.data, m.params.find((q) => q.name === `att.${t.name}`)!.offset);
    const n = c.inputs[0]!.shape[0]!;
    const inputs = c.inputs.map((t) => Float64Array.from(t.data));
    const y = m.forward(p, inputs.length === 1 ? inputs[0]! : inputs, n);
    expect(maxRelError(y, c.outputs.data)).toBeLessThan(1e-12);
    const gp = new Float64Array(m.paramCount);
    const back = m.backward(p, Float64Array.from(c.gy.data), gp);
    const gx = inputs.length === 1 ? [back as Float64Array] : (back as readonly Float64Array[]);
    for (const t of c.param_grads) {
      const info = m.params.find((q) => q.name === `att.${t.name}`)!;
      expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, FLOOR), t.name).toBeLessThan(1e-10);
    }
    c.input_grads.forEach((t, k) => expect(maxRelError(gx[k]!, t.data, 1e-9), t.name).toBeLessThan(1e-10));
  });
});

describe("k_bias gradients against finite differences (float64)", () => {
  const cases: readonly [string, string, number, number[]][] = [
    [
      "k_bias = false, grouped-query heads, [in, out] matrices, causal",
      "model M(x: f32[t <= 4, 8]) {\n  attention(4, kv_heads = 2, qkv = separate, k_bias = false, layout = in_out, causal = true)\n}\n",
      8 * 8 + 8 + 4 * 8 + 4 * 8 + 4 + 8 * 8 + 8,
      [32],
    ],
    [
      "k_bias = true with bias = false: the key's bias alone, cross-attention",
      "model M(x: f32[t <= 3, 6], memory: f32[s <= 4, 6]) {\n  [x, memory] -> attention(3, qkv = separate, bias = false, k_bias = true)\n}\n",
      4 * 36 + 6,
      [18, 24],
    ],
  ];
  it.each(onBothTargets(cases))("%s", async (_name, spec, count, sizes, target) => {
    const { module, text } = await build(spec, { dtype: "float64", target });
    expectAttentionTarget(text, target, module, spec.includes("layout = in_out"));
    expect(module.paramCount).toBe(count);
    expect(inputsFdError(module as unknown as InputsModule, sizes, 2, { seed: 7, floor: FLOOR })).toBeLessThan(1e-6);
  });
});

describe("k_bias with a fused projection", () => {
  it.each([
    ["attention(2, k_bias = false)", true],
    ['attention(2, qkv_proj = "in_proj_", bias = false, k_bias = true)', true],
    ["attention(2, bias = false, k_bias = false)", false],
  ] as const)("%s", (call, refused) => {
    const codes = check(`model M(x: f32[t <= 4, 8]) {\n  ${call}\n}\n`).diagnostics.map((d) => d.code);
    expect(codes).toEqual(refused ? ["NN4034"] : []);
  });
  it("cross-attention with kdim (three weights beside the fused bias) refuses it too", () => {
    const codes = check(
      "model M(x: f32[t <= 4, 8], memory: f32[s <= 3, 6]) {\n  [x, memory] -> attention(2, kdim = 6, vdim = 6, k_bias = false)\n}\n",
    ).diagnostics.map((d) => d.code);
    expect(codes).toEqual(["NN4034"]);
  });
});
