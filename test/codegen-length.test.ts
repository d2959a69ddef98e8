// Sequence length given per call, up to the declared maximum: a shorter sequence is computed exactly as the
// full-length computation on those positions (padding that causal ops cannot see, and that non-causal
// attention masks out); a model that mixes positions otherwise refuses, and a length beyond the maximum is
// a RangeError naming it.
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
      for (let i = 0; i < t * 10; i++)
        expect(Math.abs(yShort[b * t * 10 + i]! - yFull[b * 60 + i]!)).toBeLessThan(1e-12);
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
    expect(() => m.forward(p, new Int32Array(14), 2, { length: 7 })).toThrow(
      /outside 1\.\.6 \(the declared maximum is 6\)/,
    );
    expect(() => m.forward(p, new Int32Array(7), 2, { length: 4 })).toThrow(/input has 7 elements, expected 8/);
    expect(() => m.forward(p, Int32Array.from([0, 1, 10, 2]), 1, { length: 4 })).toThrow(
      /outside the vocabulary 0\.\.9/,
    );
  });

  it("a model that mixes positions (a bidirectional LSTM reads from the end) needs the full length", async () => {
    const { module } = await build(causal.replace("lstm(8)", "lstm(4, bidirectional = true)"), { dtype: "float64" });
    const m = module as unknown as LengthModel;
    expect(m.variableLength).toBe(false);
    expect(() => m.forward(m.createParams(1), new Int32Array(4), 1, { length: 4 })).toThrow(
      /needs the full sequence length 6: `\d+` \(lstm\) mixes positions/,
    );
  });
});

describe("per-call length with masked attention (models that look both ways)", () => {
  // A BERT-like encoder: two token inputs sharing the symbolic length, non-causal attention, a pooled first
  // position as a second output.
  const encoder = `model Enc(ids: token[seq <= 6] of 10, types: token[seq] of 2) {
  words = ids -> embedding(10, 8) as words
  kinds = types -> embedding(2, 8) as kinds
  h = words + kinds -> positional(6, 8) -> layernorm -> residual {
    attention(2, causal = false)
  }
  pooled = h -> take(0) -> dense(8) -> tanh
  output h, pooled
}
`;
  interface Encoder {
    variableLength: boolean;
    paramCount: number;
    createParams(seed: number): Float64Array;
    forward(
      p: Float64Array,
      inputs: readonly [Int32Array, Int32Array],
      n: number,
      options?: { length?: number },
    ): readonly [Float64Array, Float64Array];
    backward(p: Float64Array, grads: readonly [Float64Array, Float64Array], g: Float64Array): void;
  }

  it("a shorter call equals the full computation on just those positions (an independent full-length build)", async () => {
    const { module } = await build(encoder, { dtype: "float64" });
    const m = module as unknown as Encoder;
    expect(m.variableLength).toBe(true);
    // The same model with a maximum of exactly 4 positions computes what a length-4 call must give.
    const { module: module4 } = await build(
      encoder.replace("seq <= 6", "seq <= 4").replace("positional(6, 8)", "positional(6, 8)"),
      {
        dtype: "float64",
      },
    );
    const m4 = module4 as unknown as Encoder;
    const p = m.createParams(3);
    const ids = Int32Array.from([1, 2, 3, 4, 9, 8, 7, 6]);
    const types = Int32Array.from([0, 0, 1, 1, 1, 0, 0, 1]);
    const [h, pooled] = m.forward(p, [ids, types], 2, { length: 4 }).map((a) => Float64Array.from(a));
    const [h4, pooled4] = m4.forward(p, [ids, types], 2).map((a) => Float64Array.from(a));
    expect(h!.length).toBe(h4!.length);
    for (let i = 0; i < h!.length; i++) expect(Math.abs(h![i]! - h4![i]!)).toBeLessThan(1e-12);
    for (let i = 0; i < pooled!.length; i++) expect(Math.abs(pooled![i]! - pooled4![i]!)).toBeLessThan(1e-12);
    // And the gradients.
    const gh = new Float64Array(h!.length).map((_, i) => Math.cos(i));
    const gpooled = new Float64Array(pooled!.length).map((_, i) => Math.sin(i));
    const a = new Float64Array(m.paramCount);
    const b = new Float64Array(m4.paramCount);
    m.forward(p, [ids, types], 2, { length: 4 });
    m.backward(p, [gh, gpooled], a);
    m4.backward(p, [gh, gpooled], b);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-12);
  });
});
