// `input h` in a `repeat` or `residual` body names the value the body is given (the previous copy's output),
// so a repeated layer can take it together with outer values: nn.TransformerDecoder's
// `for mod in self.layers: output = mod(output, memory)`. The repeated call is the element itself (its
// tensors under `layers.i.…`, as nn.ModuleList's), and the model computes what the copies written out one
// by one compute.
import { describe, expect, it } from "vitest";
import { build, seeded } from "./helpers/generated.js";

const block = `block Dec(d, heads) {
  input x, memory
  a = x -> residual { attention(heads, causal = true) as self_attn } -> layernorm as norm1
  c = [a, memory] -> attention(heads) as cross_attn
  a + c -> dense(d) as ff -> layernorm as norm2
}
`;

const repeated = `${block}
model M(src: f32[s <= 4, 8], tgt: f32[t <= 3, 8]) {
  memory = src -> dense(8) as enc
  tgt -> repeat 3 as layers {
    input h
    [h, memory] -> Dec(8, 2)
  }
}
`;

const written = `${block}
model M(src: f32[s <= 4, 8], tgt: f32[t <= 3, 8]) {
  memory = src -> dense(8) as enc
  h1 = [tgt, memory] -> Dec(8, 2) as l0
  h2 = [h1, memory] -> Dec(8, 2) as l1
  [h2, memory] -> Dec(8, 2) as l2
}
`;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return e;
}

describe("input in a repeated body", () => {
  it("the copies take the previous copy's output with an outer value, named as nn.ModuleList's", async () => {
    const [r, w] = await Promise.all([build(repeated, { dtype: "float64" }), build(written, { dtype: "float64" })]);
    const [a, b] = [r.module, w.module];
    expect(a.params.map((t) => t.name).slice(0, 4)).toEqual([
      "enc.weight",
      "enc.bias",
      "layers.0.self_attn.qkv_proj.weight",
      "layers.0.self_attn.qkv_proj.bias",
    ]);
    expect(a.params.map((t) => t.name.replace(/^layers\.(\d)\./, "l$1."))).toEqual(b.params.map((t) => t.name));
    const rand = seeded(3);
    const p = a.createParams(7);
    const n = 2;
    const src = Float64Array.from({ length: n * 32 }, () => rand() - 0.5);
    const tgt = Float64Array.from({ length: n * 24 }, () => rand() - 0.5);
    const g = Float64Array.from({ length: n * 24 }, () => rand() - 0.5);
    const forward = (m: typeof a) => Float64Array.from(m.forward(p, [src, tgt] as unknown as ArrayLike<number>, n));
    const ya = forward(a);
    const yb = forward(b);
    expect(maxDiff(ya, yb)).toBeLessThan(1e-13);
    // Another memory changes every copy's output: each reads it, not only the first.
    const [ga, gb] = [new Float64Array(a.paramCount), new Float64Array(b.paramCount)];
    a.backward(p, g, ga);
    b.backward(p, g, gb);
    expect(maxDiff(ga, gb)).toBeLessThan(1e-13);
    const last = a.params.find((t) => t.name === "layers.2.cross_attn.qkv_proj.weight")!;
    expect(ga.subarray(last.offset, last.offset + last.size).some((v) => v !== 0)).toBe(true);
  });

  it("a body of one named input and one call is the call alone; in a residual, input names the residual's input", async () => {
    const plain = await build(
      "model M(x: f32[4]) {\n  repeat 3 as h { dense(4) }\n  residual { dense(4) as fc }\n}\n",
      { dtype: "float64" },
    );
    const named = await build(
      "model M(x: f32[4]) {\n  repeat 3 as h {\n    input v\n    v -> dense(4)\n  }\n  residual {\n    input r\n    r -> dense(4) as fc\n  }\n}\n",
      { dtype: "float64" },
    );
    const shown = (m: typeof plain.module) => m.params.map((t) => `${t.name} [${t.shape.join(", ")}]`);
    expect(shown(named.module)).toEqual(shown(plain.module));
    expect(shown(plain.module)[0]).toBe("h.0.weight [4, 4]");
    const p = plain.module.createParams(2);
    const x = Float64Array.from({ length: 8 }, (_, i) => Math.cos(i));
    expect(maxDiff(named.module.forward(p, x, 2), plain.module.forward(p, x, 2))).toBe(0);
  });
});
