// Mixture of experts in generated code: top-k routing with renormalized softmax weights (Mixtral), against
// finite differences (float64) and a naive reference of the same definition, on both targets. The experts
// are ordinary layers: on `--target wasm` their dense layers above the unroll limit run on the dense SIMD
// kernels like any other (here `unrollLimit: 0` puts these small ones there, and the router too).
import { describe, expect, it } from "vitest";
import { build, gradientCheck, seeded } from "./helpers/generated.js";

type CompileOptions = NonNullable<Parameters<typeof build>[1]>;

const targets: readonly (readonly [string, CompileOptions])[] = [
  ["--target ts", { dtype: "float64", target: "ts" }],
  ["--target wasm, unrollLimit 0", { dtype: "float64", target: "wasm", unrollLimit: 0 }],
];

/** A build whose experts (and router) run on the SIMD kernels exactly when its options say wasm. */
async function buildMoe(source: string, options: CompileOptions, experts: number) {
  const { module: m, text } = await build(source, options);
  // The router, up and down (the experts' copies of a layer share one function, src/emit/shared.ts), and no
  // dense layer left unrolled.
  const simd = text.match(/if \(arena\) wasmDenseForward\(arena/g)?.length ?? 0;
  expect(simd).toBe(options.target === "wasm" ? 3 : 0);
  if (options.target === "wasm") expect(text).not.toContain(", unrolled");
  expect(m.params.filter((t) => t.name.endsWith(".down.weight")).length).toBe(experts);
  return m;
}

const spec = (experts: number, k: number) => `model M(x: f32[s <= 3, 6]) {
  moe(${experts}, top_k = ${k}) as moe {
    dense(8) as up
    tanh
    dense(6) as down
  }
}
`;

describe.each(targets)("mixture of experts (%s)", (_target, options) => {
  it.each([
    [4, 2],
    [3, 1],
    [2, 2],
  ])("%i experts, top %i: gradients against finite differences", async (experts, k) => {
    const m = await buildMoe(spec(experts, k), options, experts);
    // Every expert has its own tensors, and the router has no bias.
    expect(m.params.filter((t) => t.name.endsWith(".up.weight")).length).toBe(experts);
    expect(m.params.some((t) => t.name === "moe.router.weight")).toBe(true);
    const errors = gradientCheck(m, 2, { h: 1e-6 });
    expect(errors.params).toBeLessThan(1e-6);
    expect(errors.input).toBeLessThan(1e-6);
  });

  it("forward equals the definition: softmax, top-k, renormalize, mix", async () => {
    const experts = 4;
    const k = 2;
    const m = await buildMoe(spec(experts, k), options, experts);
    const p = m.createParams(5);
    const rand = seeded(3);
    const x = Float64Array.from({ length: 18 }, () => rand());
    const y = Float64Array.from(m.forward(p, x, 1));
    const param = (name: string) => {
      const t = m.params.find((q) => q.name === name)!;
      return p.subarray(t.offset, t.offset + t.size);
    };
    const dense = (v: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, out: number) =>
      Array.from({ length: out }, (_, o) => {
        let s = b ? b[o]! : 0;
        for (let i = 0; i < v.length; i++) s += v[i]! * w[o * v.length + i]!;
        return s;
      });
    for (let t = 0; t < 3; t++) {
      const v = x.subarray(t * 6, t * 6 + 6);
      const logits = dense(v, param("moe.router.weight"), null, experts);
      const mx = Math.max(...logits);
      const ex = logits.map((l) => Math.exp(l - mx));
      const sum = ex.reduce((a, b) => a + b, 0);
      const probs = ex.map((e) => e / sum);
      const order = probs
        .map((q, i) => [q, i] as const)
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, k);
      const total = order.reduce((a, [q]) => a + q, 0);
      const want = new Array(6).fill(0);
      for (const [q, e] of order) {
        const h = dense(v, param(`moe.experts.${e}.up.weight`), param(`moe.experts.${e}.up.bias`), 8).map(Math.tanh);
        const o = dense(h, param(`moe.experts.${e}.down.weight`), param(`moe.experts.${e}.down.bias`), 6);
        for (let i = 0; i < 6; i++) want[i] += (q / total) * o[i]!;
      }
      for (let i = 0; i < 6; i++) expect(Math.abs(y[t * 6 + i]! - want[i]!)).toBeLessThan(1e-12);
    }
  });
});
