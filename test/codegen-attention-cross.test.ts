// Cross-attention in generated code, `[x, memory] -> attention(heads, …)` (src/emit/kernels/attention.ts):
// queries from x [T, D], keys and values from the memory [S, D], a sequence of its own length.
//
// (a) against torch.nn.MultiheadAttention itself, `mha(x, memory, memory)`, float64 autograd
//     (test/reference/pytorch/attention_cross.json, made by make_attention_cross.py with PyTorch 1.13):
//     tensor names and shapes as PyTorch's, the parameter count as sum(p.numel()), forward to 1e-12,
//     every parameter gradient and both inputs' gradients to 1e-10; one case padded: x and the memory share
//     their length and the call gives 3 of 5 positions, PyTorch's side the full length with
//     `key_padding_mask` true past them; three with kdim/vdim (q_proj_weight, k_proj_weight, v_proj_weight and
//     the fused in_proj_bias), one of them `[x, keys, values]` with kdim ≠ vdim;
// (b) gradients against fourth-order central differences, every parameter and both inputs' elements, on
//     options PyTorch's module does not have (grouped-query heads, separate projections, head_dim, a
//     memory computed inside the model, [in, out] matrices, the memory the query itself);
// (c) the memory's last positions change the output (they are attended to), and a padded call does not
//     read what lies past its length.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { checkProgram } from "../src/program/check.js";
import { build, inputsFdError, maxRelError, seeded, type Generated, type InputsModule } from "./helpers/generated.js";
import { type AttentionCase } from "./helpers/torch-fixture.js";
import { expectAttentionTarget, headsOnSimd, onBothTargets } from "./helpers/targets.js";

/** The two-input module's API as the tests call it. */
interface Cross {
  forward(p: ArrayLike<number>, inputs: readonly ArrayLike<number>[], n: number, o?: { length?: number }): Float64Array;
  backward(p: ArrayLike<number>, gy: ArrayLike<number>, gp: ArrayLike<number>): readonly Float64Array[];
}
type CrossModule = Omit<Generated, "forward" | "backward"> & Cross;
const cross = (m: Generated) => m as unknown as CrossModule;

function nncCount(source: string): number {
  const checked = checkProgram("m.nn", {
    readFile: (f) => (f === "m.nn" ? { ok: true, text: source } : { ok: false, reason: "no such file" }),
  });
  expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return Number(checked.value.models[0]!.figures.params);
}

const fixture = JSON.parse(fs.readFileSync("test/reference/pytorch/attention_cross.json", "utf8")) as {
  cases: AttentionCase[];
};

describe("cross-attention against torch.nn.MultiheadAttention (float64)", () => {
  it.each(onBothTargets(fixture.cases.map((c) => [c.name, c] as const)))("%s", async (_name, c, target) => {
    const { module, text } = await build(c.spec, { dtype: "float64", target });
    expectAttentionTarget(text, target, module, c.spec.includes("layout = in_out"));
    const m = cross(module);
    expect(m.params.map((t) => [t.name.slice(t.name.indexOf(".") + 1), t.shape])).toEqual(
      c.params.map((t) => [t.name, t.shape]),
    );
    expect(m.paramCount).toBe(c.count);
    expect(nncCount(c.spec)).toBe(c.count);
    const p = m.createParams(0);
    for (const t of c.params) p.set(t.data, m.params.find((q) => q.name === `att.${t.name}`)!.offset);
    const n = c.inputs[0]!.shape[0]!;
    const inputs = c.inputs.map((t) => Float64Array.from(t.data));
    const y = m.forward(p, inputs, n, c.length !== undefined ? { length: c.length } : {});
    expect(maxRelError(y, c.outputs.data)).toBeLessThan(1e-12);
    const gp = new Float64Array(m.paramCount);
    const gx = m.backward(p, Float64Array.from(c.gy.data), gp);
    for (const t of c.param_grads) {
      const info = m.params.find((q) => q.name === `att.${t.name}`)!;
      // FLOOR: the key bias's gradient is rounding noise about 0 on both sides (below).
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

/** The key bias's gradient is exactly zero (softmax does not change when every score of a row moves by
 *  q·b_k): both sides give rounding noise there, 1e-17 analytic, 1e-12 numeric, so errors are relative
 *  to at least this (the other gradients are of order 0.1 to 1). */
const FLOOR = 1e-4;

describe("cross-attention gradients against finite differences (float64)", () => {
  const cases: readonly [string, string, number[]][] = [
    [
      "grouped-query heads, separate projections, no out bias",
      "model M(x: f32[t <= 3, 8], memory: f32[s <= 4, 8]) {\n  [x, memory] -> attention(4, kv_heads = 2, qkv = separate, out_bias = false)\n}\n",
      [24, 32],
    ],
    [
      "head_dim 3, kv_heads 1, [in, out] matrices",
      "model M(x: f32[t <= 4, 6], memory: f32[s <= 2, 6]) {\n  [x, memory] -> attention(2, kv_heads = 1, head_dim = 3, layout = in_out)\n}\n",
      [24, 12],
    ],
    [
      "a memory computed in the model, then a layer after",
      "model M(x: f32[t <= 3, 4], source: f32[s <= 5, 6]) {\n  memory = source -> dense(4) as proj -> tanh\n  [x, memory] -> attention(2) as cross\n  dense(3)\n}\n",
      [12, 30],
    ],
    [
      // head_dim 17: on --target wasm the per-head products run on the SIMD kernels (src/emit/wasm/attention.ts)
      "head_dim 17, kv_heads 1, dropout (inference)",
      "model M(x: f32[t <= 3, 8], memory: f32[s <= 4, 8]) {\n  [x, memory] -> attention(2, kv_heads = 1, head_dim = 17, dropout = 0.1)\n}\n",
      [24, 32],
    ],
  ];
  it.each(onBothTargets(cases))("%s", async (_name, spec, sizes, target) => {
    const { module, text } = await build(spec, { dtype: "float64", target });
    expectAttentionTarget(text, target, module, spec.includes("layout = in_out"));
    expect(headsOnSimd(text), "per-head products on the SIMD kernels").toBe(
      target === "wasm" && spec.includes("head_dim = 17"),
    );
    expect(inputsFdError(module as unknown as InputsModule, sizes, 2, { seed: 5, floor: FLOOR })).toBeLessThan(1e-6);
  });

  it.each(["ts", "wasm"] as const)(
    "the query itself as the memory is self-attention, and its gradient sums both paths (--target %s)",
    async (target) => {
      const self = (await build("model M(x: f32[t <= 4, 8]) {\n  attention(2) as a\n}\n", { dtype: "float64", target }))
        .module;
      const both = cross(
        (await build("model M(x: f32[t <= 4, 8]) {\n  [x, x] -> attention(2) as a\n}\n", { dtype: "float64", target }))
          .module,
      );
      const rand = seeded(9);
      // Each module's own array (on the wasm target another module's runs the TypeScript kernels).
      const p = self.createParams(3);
      const q = both.createParams(0);
      q.set(p);
      const x = Float64Array.from({ length: 2 * 32 }, () => rand() - 0.5);
      const w = Float64Array.from({ length: 2 * 32 }, () => rand() - 0.5);
      const y = Float64Array.from(self.forward(p, x, 2));
      const gp1 = new Float64Array(self.paramCount);
      const gx1 = Float64Array.from(self.backward(p, w, gp1));
      expect(maxRelError(both.forward(q, x as unknown as Float64Array[], 2), y)).toBeLessThan(1e-14);
      const gp2 = new Float64Array(both.paramCount);
      const gx2 = both.backward(q, w, gp2) as unknown as Float64Array;
      expect(maxRelError(gp2, gp1)).toBeLessThan(1e-12);
      expect(maxRelError(gx2, gx1)).toBeLessThan(1e-12);
    },
  );
});

describe("cross-attention reads the memory's positions", () => {
  it("every memory position changes the output; a padded call reads nothing past its length", async () => {
    const { module } = await build(
      "model M(x: f32[t <= 4, 8], memory: f32[t, 8]) {\n  [x, memory] -> attention(2) as a\n}\n",
      { dtype: "float64" },
    );
    const m = cross(module);
    const rand = seeded(4);
    const p = m.createParams(1);
    const x = Float64Array.from({ length: 32 }, () => rand() - 0.5);
    const memory = Float64Array.from({ length: 32 }, () => rand() - 0.5);
    const y = Float64Array.from(m.forward(p, [x, memory], 1));
    for (let s = 0; s < 4; s++) {
      const changed = Float64Array.from(memory);
      changed[s * 8] = changed[s * 8]! + 0.5;
      expect(maxRelError(m.forward(p, [x, changed], 1), y), `memory position ${s}`).toBeGreaterThan(1e-6);
    }
    // 3 of 4 positions: the same as the first 3 positions of a model whose memory has only those 3 keys.
    const short = Float64Array.from(m.forward(p, [x.subarray(0, 24), memory.subarray(0, 24)], 1, { length: 3 }));
    const three = cross(
      (
        await build("model M(x: f32[t <= 3, 8], memory: f32[s <= 3, 8]) {\n  [x, memory] -> attention(2) as a\n}\n", {
          dtype: "float64",
        })
      ).module,
    );
    expect(maxRelError(three.forward(p, [x.subarray(0, 24), memory.subarray(0, 24)], 1), short)).toBeLessThan(1e-14);
  });
});
