// Sequence length given per call, up to the declared maximum: a causal model computes a shorter sequence
// exactly as the first positions of the full-length computation; a model that mixes positions refuses,
// and a length beyond the maximum is a RangeError naming it.
import { describe, expect, it } from "vitest";
import { build } from "./helpers/generated.js";

interface LengthModel {
  maxLength: number;
  variableLength: boolean;
  paramCount: number;
  createParams(seed: number): Float64Array;
  forward(p: Float64Array, input: Int32Array, n: number, options?: { length?: number }): Float64Array;
  backward(p: Float64Array, outputGrad: Float64Array, grads: Float64Array): void;
}

const causal = `model Lm(t: token[seq <= 6] of 10) {
  embedding(10, 8) as wte
  positional(6, 8) as wpe
  residual {
    layernorm
    attention(2, causal = true)
  }
  lstm(8)
  dense(10)
}
`;

describe("per-call sequence length", () => {
  it("a shorter call equals the first positions of the full call, forward and backward", async () => {
    const { module } = await build(causal, { dtype: "float64" });
    const m = module as unknown as LengthModel;
    expect(m.maxLength).toBe(6);
    expect(m.variableLength).toBe(true);
    const p = m.createParams(2);
    const n = 2;
    const t = 4;
    const full = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
    const short = Int32Array.from([1, 2, 3, 4, 7, 8, 9, 0]);
    const yFull = Float64Array.from(m.forward(p, full, n));
    const yShort = Float64Array.from(m.forward(p, short, n, { length: t }));
    expect(yShort.length).toBe(n * t * 10);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < t * 10; i++) expect(Math.abs(yShort[b * t * 10 + i]! - yFull[b * 60 + i]!)).toBeLessThan(1e-12);
    }
    // Gradients: the short call's equal the full call's with zero output gradient past position t.
    const gShort = new Float64Array(n * t * 10).map((_, i) => Math.sin(i));
    const gFull = new Float64Array(n * 60);
    for (let b = 0; b < n; b++) gFull.set(gShort.subarray(b * t * 10, (b + 1) * t * 10), b * 60);
    const a = new Float64Array(m.paramCount);
    m.backward(p, gShort, a);
    m.forward(p, full, n);
    const c = new Float64Array(m.paramCount);
    m.backward(p, gFull, c);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - c[i]!)).toBeLessThan(1e-12);
  });

  it("a length beyond the maximum, or of the wrong size, is a RangeError naming the limit", async () => {
    const { module } = await build(causal, { dtype: "float64" });
    const m = module as unknown as LengthModel;
    const p = m.createParams(1);
    expect(() => m.forward(p, new Int32Array(14), 2, { length: 7 })).toThrow(/outside 1\.\.6 \(the declared maximum is 6\)/);
    expect(() => m.forward(p, new Int32Array(7), 2, { length: 4 })).toThrow(/input has 7 elements, expected 8/);
    expect(() => m.forward(p, Int32Array.from([0, 1, 10, 2]), 1, { length: 4 })).toThrow(/outside the vocabulary 0\.\.9/);
  });

  it("a model that mixes positions (non-causal attention) needs the full length", async () => {
    const { module } = await build(causal.replace("causal = true", "causal = false"), { dtype: "float64" });
    const m = module as unknown as LengthModel;
    expect(m.variableLength).toBe(false);
    expect(() => m.forward(m.createParams(1), new Int32Array(4), 1, { length: 4 })).toThrow(/needs the full sequence length 6: `\d+` \(attention\) mixes positions/);
  });
});
