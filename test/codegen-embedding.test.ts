// Embeddings and positions in generated code (src/emit/kernels/embedding.ts):
// (a) a token model, embedding → positional → dense, in float64: forward against a naive reference (1e-12),
//     every parameter gradient against central finite differences (< 1e-6; gradientCheck draws float
//     inputs, so token models get their own seeded loop here), and the sparsity of the embedding's
//     gradient: only rows whose ids occur receive any, the padding row never;
// (b) token inputs out of range or of the wrong length are refused with a RangeError naming the limit,
//     before any work (the last forward's workspace and results are untouched);
// (c) class_token and rotary on float sequences: finite differences through gradientCheck, a naive
//     forward reference, rotary against its formula (1e-12) and its rotations preserving every pair's norm;
// (d) embedding (tf.gather) and the positional add against TensorFlow.js in float32 (1e-5 relative, the
//     tolerance and floor of codegen-tfjs.test.ts), parameter gradients included.
import fs from "node:fs";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { build, gradientCheck, seeded, type Generated } from "./helpers/generated.js";
import { initTf, relError, tensorOf, tf, worstAt } from "./helpers/tfjs.js";

/** Every module built here, for the strict type check at the end. */
const built: string[] = [];

async function make(spec: string, dtype: "float32" | "float64"): Promise<{ m: Generated; text: string }> {
  const { module: m, text, file } = await build(spec, { dtype });
  built.push(file);
  return { m, text };
}

/** Seeded token ids in 0..vocab − 1 (or from `pool`). */
function tokens(count: number, vocab: number, seed: number, pool?: readonly number[]): Int32Array {
  const rand = seeded(seed);
  const pick = (k: number) => Math.min(k - 1, Math.floor(((rand() + 1) / 2) * k));
  return Int32Array.from({ length: count }, () => (pool ? pool[pick(pool.length)]! : pick(vocab)));
}

function randomArray(length: number, seed: number, scale = 1): Float64Array {
  const rand = seeded(seed);
  return Float64Array.from({ length }, () => rand() * scale);
}

const tensor = (m: Generated, name: string) => {
  const t = m.params.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name} (has ${m.params.map((x) => x.name).join(", ")})`);
  return t;
};

/** Largest |a − b| / max(|b|, floor). */
function maxErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/**
 * Central finite differences of L = Σ w·forward(p, ids) for every parameter element against the generated
 * backward (float64 module). Relative error with a floor of 1e-6, as gradientCheck measures it.
 */
function tokenGradientCheck(
  m: Generated,
  ids: Int32Array,
  n: number,
  p: Float64Array,
  w: Float64Array,
  skip: (i: number) => boolean = () => false,
  h = 1e-6,
): { worst: number; grads: Float64Array } {
  const loss = (pp: Float64Array) => {
    const y = m.forward(pp, ids, n);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  m.forward(p, ids, n);
  const grads = new Float64Array(m.paramCount);
  m.backward(p, w, grads);
  let worst = 0;
  for (let i = 0; i < p.length; i++) {
    if (skip(i)) continue;
    const keep = p[i]!;
    p[i] = keep + h;
    const up = loss(p);
    p[i] = keep - h;
    const down = loss(p);
    p[i] = keep;
    const numeric = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - grads[i]!) / Math.max(Math.abs(numeric), Math.abs(grads[i]!), 1e-6));
  }
  return { worst, grads };
}

/** A generated function's code, comments removed. */
function code(text: string, fn: string): string {
  // Op functions are in createEngine's body: the function ends at the brace of its own indentation.
  const match = new RegExp(`^( *)function ${fn}\\([^]*?\\n\\1}\\n`, "m").exec(text);
  if (!match) throw new Error(`no function ${fn}`);
  return match[0].replace(/\/\/.*$/gm, "");
}

// ── (a) embedding → positional → dense ──────────────────────────────────────────────────────────────

const tokenSpec = "model M(t: token[6] of 11) {\n  embedding(11, 4)\n  positional(6, 4)\n  dense(3)\n}\n";
const T = 6;
const D = 4;
const V = 11;

/** y[b, t] = bias + W · (E[id] + P[t]), computed the slow way. */
function tokenReference(m: Generated, p: ArrayLike<number>, ids: Int32Array, n: number): Float64Array {
  const E = tensor(m, "0.weight").offset;
  const P = tensor(m, "1.weight").offset;
  const W = tensor(m, "2.weight").offset;
  const B = tensor(m, "2.bias").offset;
  const y = new Float64Array(n * T * 3);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < T; t++) {
      const id = ids[b * T + t]!;
      for (let o = 0; o < 3; o++) {
        let s = p[B + o]!;
        for (let d = 0; d < D; d++) s += p[W + o * D + d]! * (p[E + id * D + d]! + p[P + t * D + d]!);
        y[(b * T + t) * 3 + o] = s;
      }
    }
  }
  return y;
}

describe("(a) a token model: embedding(11, 4) → positional(6, 4) → dense(3), float64", () => {
  it("forward matches a naive reference to 1e-12", async () => {
    const { m, text } = await make(tokenSpec, "float64");
    expect(text).toMatch(/embedding, table 11 × 4/);
    expect(text).toMatch(/positional, table 6 × 4/);
    for (const n of [1, 3]) {
      const p = m.createParams(5);
      const ids = tokens(n * T, V, 40 + n);
      const y = Float64Array.from(m.forward(p, ids, n));
      expect(maxErr(y, tokenReference(m, p, ids, n))).toBeLessThan(1e-12);
    }
  });

  it("every parameter gradient matches central finite differences (< 1e-6)", async () => {
    const { m } = await make(tokenSpec, "float64");
    const n = 3;
    const p = m.createParams(2);
    const ids = tokens(n * T, V, 77);
    const w = randomArray(n * T * 3, 78);
    const { worst } = tokenGradientCheck(m, ids, n, p, w);
    expect(worst).toBeLessThan(1e-6);
  });

  it("only rows whose ids occur receive gradient (the rest stay exactly zero)", async () => {
    const { m, text } = await make(tokenSpec, "float64");
    const n = 4;
    const used = [1, 4, 7, 9];
    const ids = tokens(n * T, V, 12, used);
    expect(new Set(ids)).toEqual(new Set(used));
    const p = m.createParams(3);
    m.forward(p, ids, n);
    const grads = new Float64Array(m.paramCount);
    m.backward(p, randomArray(n * T * 3, 13), grads);
    const E = tensor(m, "0.weight").offset;
    for (let row = 0; row < V; row++) {
      const g = grads.subarray(E + row * D, E + (row + 1) * D);
      if (used.includes(row))
        expect(
          g.some((v) => v !== 0),
          `row ${row}`,
        ).toBe(true);
      else expect(Array.from(g), `row ${row}`).toEqual([0, 0, 0, 0]);
    }
    // Every position is used, so every row of the positional table gets gradient.
    const P = tensor(m, "1.weight").offset;
    for (let t = 0; t < T; t++) expect(grads.subarray(P + t * D, P + (t + 1) * D).some((v) => v !== 0)).toBe(true);
    // The embedding's backward is a loop over the ids, not over the table.
    const bwd = code(text, "backward0");
    expect(bwd).toMatch(/for \(let r = 0, e = n \* 6,/);
    expect(bwd).not.toMatch(/\b44\b|\b11\b/);
  });

  it("the backward of a large table touches only the rows used", async () => {
    // 200,000 × 4 rows: the code has no loop over the table (its size appears nowhere in backward).
    const { m, text } = await make("model M(t: token[3] of 200000) {\n  embedding(200000, 4)\n}\n", "float64");
    expect(code(text, "backward0")).not.toMatch(/200000|800000/);
    const p = m.createParams(1);
    const ids = Int32Array.of(5, 199_999, 5);
    m.forward(p, ids, 1);
    const grads = new Float64Array(m.paramCount);
    m.backward(p, Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), grads);
    let nonzero = 0;
    for (const v of grads) if (v !== 0) nonzero++;
    expect(nonzero).toBe(8);
    expect(Array.from(grads.subarray(20, 24))).toEqual([1 + 9, 2 + 10, 3 + 11, 4 + 12]);
    expect(Array.from(grads.subarray(199_999 * 4, 800_000))).toEqual([5, 6, 7, 8]);
  });

  it("padding_idx: its row gets no gradient (forward still reads it) and training leaves it unchanged", async () => {
    const spec =
      "model M(t: token[6] of 11) {\n  embedding(11, 4, padding_idx = 2)\n  positional(6, 4)\n  dense(3)\n}\n";
    const { m, text } = await make(spec, "float64");
    expect(text).toMatch(/padding_idx 2/);
    const n = 3;
    const ids = tokens(n * T, V, 21);
    ids[0] = 2;
    ids[7] = 2;
    const p = m.createParams(4);
    // As in PyTorch, forward uses the padding row as stored.
    expect(maxErr(m.forward(p, ids, n), tokenReference(m, p, ids, n))).toBeLessThan(1e-12);
    const w = randomArray(n * T * 3, 22);
    // Finite differences see the padding row's true derivative, which PyTorch's rule discards: every other
    // element is checked, and the padding row's gradient is exactly zero.
    const E = tensor(m, "0.weight").offset;
    const padding = (i: number) => i >= E + 2 * D && i < E + 3 * D;
    const { worst, grads } = tokenGradientCheck(m, ids, n, p.slice(), w, padding);
    expect(worst).toBeLessThan(1e-6);
    expect(Array.from(grads.subarray(E + 2 * D, E + 3 * D))).toEqual([0, 0, 0, 0]);
    const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.1, loss: "mse", seed: 4 });
    const row = Array.from(trainer.params.subarray(2 * D, 3 * D));
    const other = Array.from(trainer.params.subarray(ids[1]! * D, (ids[1]! + 1) * D));
    const target = randomArray(n * T * 3, 23);
    for (let step = 0; step < 3; step++) m.trainStep(trainer, ids, target, n);
    expect(Array.from(trainer.params.subarray(2 * D, 3 * D))).toEqual(row);
    expect(Array.from(trainer.params.subarray(ids[1]! * D, (ids[1]! + 1) * D))).not.toEqual(other);
  });

  it("positional with fewer positions than rows: the rows beyond get nothing", async () => {
    const { m } = await make("model M(t: token[3] of 5) {\n  embedding(5, 2)\n  positional(7, 2)\n}\n", "float64");
    const p = m.createParams(8);
    const ids = Int32Array.of(4, 0, 4);
    const y = m.forward(p, ids, 1);
    const E = tensor(m, "0.weight").offset;
    const P = tensor(m, "1.weight").offset;
    const expected = [0, 1, 2].flatMap((t) => [0, 1].map((d) => p[E + ids[t]! * 2 + d]! + p[P + t * 2 + d]!));
    expect(maxErr(y, expected)).toBe(0);
    const grads = new Float64Array(m.paramCount);
    m.backward(p, Float64Array.of(1, 2, 3, 4, 5, 6), grads);
    expect(Array.from(grads.subarray(P, P + 14))).toEqual([1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(grads.subarray(E, E + 10))).toEqual([3, 4, 0, 0, 0, 0, 0, 0, 1 + 5, 2 + 6]);
  });
});

// ── (b) token inputs are checked before any work ────────────────────────────────────────────────────

describe("(b) out-of-range ids and wrong lengths", () => {
  it("throw a RangeError naming the limit, and leave the last forward's state untouched", async () => {
    const { m } = await make(tokenSpec, "float64");
    const p = m.createParams(1);
    const ids = tokens(T, V, 3);
    const y = m.forward(p, ids, 1);
    const yBefore = Float64Array.from(y);
    const w = randomArray(T * 3, 4);
    const g0 = new Float64Array(m.paramCount);
    m.backward(p, w, g0);

    const bad = (at: number, id: number, n: number) => {
      const b = tokens(n * T, V, 5);
      b[at] = id;
      return b;
    };
    // A bad id anywhere, in a batch of another size (whose workspace would be allocated by any work).
    expect(() => m.forward(p, bad(0, -1, 1), 1)).toThrow(RangeError);
    expect(() => m.forward(p, bad(0, -1, 1), 1)).toThrow(/token id -1 at position 0 is outside the vocabulary 0\.\.10/);
    expect(() => m.forward(p, bad(3, 11, 1), 1)).toThrow(/token id 11 at position 3 is outside the vocabulary 0\.\.10/);
    expect(() => m.forward(p, bad(2 * T - 1, 11, 2), 2)).toThrow(/token id 11 at position 11 .*0\.\.10/);
    expect(() => m.forward(p, bad(T + 1, -1, 2), 2)).toThrow(/token id -1 at position 7 .*0\.\.10/);
    // Wrong lengths: the expected count is named.
    expect(() => m.forward(p, new Int32Array(T - 1), 1)).toThrow(RangeError);
    expect(() => m.forward(p, new Int32Array(T - 1), 1)).toThrow(/input has 5 elements, expected 6/);
    expect(() => m.forward(p, new Int32Array(T + 1), 1)).toThrow(/input has 7 elements, expected 6/);
    expect(() => m.forward(p, new Int32Array(T), 2)).toThrow(/input has 6 elements, expected 12/);

    // Nothing ran: the returned array is as it was and backward still sees the first forward.
    expect(Array.from(y)).toEqual(Array.from(yBefore));
    const g1 = new Float64Array(m.paramCount);
    m.backward(p, w, g1);
    expect(Array.from(g1)).toEqual(Array.from(g0));
  });
});

// ── (c) class_token and rotary on float sequences ───────────────────────────────────────────────────

/** Rotary on one sample [T, D] by the formula: pairs (i, i + D/2), angle t · θ^(−2i/D). */
function rotaryFormula(x: ArrayLike<number>, T: number, D: number, theta: number): Float64Array {
  const y = new Float64Array(T * D);
  const half = D / 2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * theta ** ((-2 * i) / D);
      const a = x[t * D + i]!;
      const e = x[t * D + i + half]!;
      y[t * D + i] = a * Math.cos(angle) - e * Math.sin(angle);
      y[t * D + i + half] = e * Math.cos(angle) + a * Math.sin(angle);
    }
  }
  return y;
}

const clsSpec = "model M(x: f32[s <= 5, 8]) { class_token(8) rotary dense(2) }\n";

describe("(c) class_token and rotary, float64", () => {
  it("class_token → rotary → dense: gradients against finite differences (< 1e-6)", async () => {
    const { m, text } = await make(clsSpec, "float64");
    expect(text).toMatch(/class token, a learned vector of 8 .*\[5, 8\] → \[6, 8\]/);
    expect(text).toMatch(/rotary positions on \[6, 8\], pairs \(i, i \+ 4\)/);
    // The output is linear in the input and bilinear in (dense weight, class token): central differences
    // have no truncation error, so a step of 1e-5 only cuts rounding noise (1e-6 leaves up to 7e-7 of it).
    for (const n of [1, 3]) {
      const e = gradientCheck(m, n, { seed: 10 + n, h: 1e-5 });
      expect(e.params).toBeLessThan(1e-6);
      expect(e.input).toBeLessThan(1e-6);
    }
  });

  it("class_token → rotary → dense: forward matches a naive reference to 1e-12", async () => {
    const { m } = await make(clsSpec, "float64");
    const n = 3;
    const p = m.createParams(6);
    // The class token starts at zero (as ViT's): give it values so that the test sees it.
    const C = tensor(m, "0.weight");
    expect(Array.from(p.subarray(C.offset, C.offset + 8))).toEqual(new Array(8).fill(0));
    p.set(randomArray(8, 60), C.offset);
    const W = tensor(m, "2.weight").offset;
    const B = tensor(m, "2.bias").offset;
    const x = randomArray(n * 40, 61);
    const y = Float64Array.from(m.forward(p, x, n));
    const expected = new Float64Array(n * 6 * 2);
    for (let b = 0; b < n; b++) {
      const seq = new Float64Array(48);
      seq.set(p.subarray(C.offset, C.offset + 8), 0);
      seq.set(x.subarray(b * 40, (b + 1) * 40), 8);
      const r = rotaryFormula(seq, 6, 8, 10_000);
      for (let t = 0; t < 6; t++) {
        for (let o = 0; o < 2; o++) {
          let s = p[B + o]!;
          for (let d = 0; d < 8; d++) s += p[W + o * 8 + d]! * r[t * 8 + d]!;
          expected[(b * 6 + t) * 2 + o] = s;
        }
      }
    }
    expect(maxErr(y, expected)).toBeLessThan(1e-12);
  });

  it("class_token alone: prepends its vector, gradient summed over the batch", async () => {
    const { m } = await make("model M(x: f32[s <= 2, 3]) { class_token(3) }\n", "float64");
    const p = Float64Array.of(7, 8, 9);
    const x = Float64Array.of(1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6);
    expect(Array.from(m.forward(p, x, 2))).toEqual([7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6]);
    const g = new Float64Array(3);
    const gy = Float64Array.from({ length: 18 }, (_, i) => i + 1);
    const gx = m.backward(p, gy, g);
    expect(Array.from(g)).toEqual([1 + 10, 2 + 11, 3 + 12]);
    expect(Array.from(gx)).toEqual([4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 18]);
  });

  it("bare = true: the tensors are named by their layers ([1, 1, D] and [1, max, D]), and compute the same", async () => {
    // torchvision ViT's `class_token` and `encoder.pos_embedding`: nn.Parameters of the enclosing module.
    const spec = (bare: string) =>
      `model M(x: f32[s <= 4, 3]) {\n  class_token(3${bare}) as cls\n  positional(5, 3${bare}) as pos\n  dense(2) as fc\n}\n`;
    const { m: plain } = await make(spec(""), "float64");
    const { m: bare } = await make(spec(", bare = true"), "float64");
    expect(bare.params.map((t) => [t.name, [...t.shape]])).toEqual([
      ["cls", [1, 1, 3]],
      ["pos", [1, 5, 3]],
      ["fc.weight", [2, 3]],
      ["fc.bias", [2]],
    ]);
    expect(plain.params.map((t) => t.name)).toEqual(["cls.weight", "pos.weight", "fc.weight", "fc.bias"]);
    const p = bare.createParams(5);
    expect(Array.from(p)).toEqual(Array.from(plain.createParams(5)));
    const x = Float64Array.from({ length: 2 * 12 }, (_, i) => Math.sin(i));
    expect(Array.from(bare.forward(p, x, 2))).toEqual(Array.from(plain.forward(p, x, 2)));
    const gy = Float64Array.from({ length: 2 * 10 }, (_, i) => Math.cos(i));
    const [g1, g2] = [new Float64Array(bare.paramCount), new Float64Array(plain.paramCount)];
    expect(Array.from(bare.backward(p, gy, g1))).toEqual(Array.from(plain.backward(p, gy, g2)));
    expect(Array.from(g1)).toEqual(Array.from(g2));
    const e = gradientCheck(bare, 2);
    expect(e.params).toBeLessThan(1e-6);
    expect(e.input).toBeLessThan(1e-6);
  });

  const rotaryCases: [string, number, number, number][] = [
    ["rotary", 5, 8, 10_000],
    ["rotary(theta = 100)", 5, 8, 100],
    ["rotary(theta = 2.5)", 4, 16, 2.5],
    ["rotary", 7, 2, 10_000],
  ];

  it.each(rotaryCases)(
    "%s on [%i, %i]: the formula to 1e-12, each pair's norm preserved, position 0 unchanged",
    async (layer, T, D, theta) => {
      const { m } = await make(`model R(x: f32[s <= ${T}, ${D}]) { ${layer} }\n`, "float64");
      expect(m.paramCount).toBe(0);
      const n = 3;
      const p = new Float64Array(0);
      const x = randomArray(n * T * D, 90 + T + D, 3);
      const y = Float64Array.from(m.forward(p, x, n));
      const half = D / 2;
      for (let b = 0; b < n; b++) {
        const xs = x.subarray(b * T * D, (b + 1) * T * D);
        const ys = y.subarray(b * T * D, (b + 1) * T * D);
        expect(maxErr(ys, rotaryFormula(xs, T, D, theta))).toBeLessThan(1e-12);
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < half; i++) {
            const j = t * D + i;
            const before = Math.hypot(xs[j]!, xs[j + half]!);
            const after = Math.hypot(ys[j]!, ys[j + half]!);
            expect(Math.abs(after - before)).toBeLessThan(1e-12 * Math.max(1, before));
          }
        }
        expect(Array.from(ys.subarray(0, D))).toEqual(Array.from(xs.subarray(0, D)));
      }
      const e = gradientCheck(m, 2, { seed: T * D, h: 1e-5 });
      expect(e.input).toBeLessThan(1e-6);
    },
  );
});

// ── (d) against TensorFlow.js, float32 ──────────────────────────────────────────────────────────────

const TOL = 1e-5;

interface TokenCase {
  readonly name: string;
  readonly spec: string;
  readonly T: number;
  readonly vocab: number;
  /** The reference: ids [n, T] int32, parameters by state_dict name (tied tensors under their target). */
  readonly ref: (ids: tf.Tensor, ps: Record<string, tf.Tensor>) => tf.Tensor;
  /** Rows whose gradient PyTorch zeroes (padding_idx). */
  readonly padding?: { readonly tensor: string; readonly row: number; readonly dim: number };
  /** Ids forced at these positions (e.g. the padding id). */
  readonly force?: readonly [number, number][];
}

/** y = x Wᵀ + b over the last axis, W [out, in]. */
function dense(x: tf.Tensor, W: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const IN = x.shape[x.rank - 1]!;
  let y = tf.matMul(tf.reshape(x, [-1, IN]), tf.transpose(W));
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), W.shape[0]!]);
}

/** The first `T` rows of a positional table, added. */
const addPositions = (x: tf.Tensor, P: tf.Tensor, T: number) => tf.add(x, tf.slice(P, [0, 0], [T, P.shape[1]!]));

const tfCases: TokenCase[] = [
  {
    name: "embedding alone",
    spec: "model M(t: token[6] of 11) {\n  embedding(11, 4) as emb\n}\n",
    T: 6,
    vocab: 11,
    ref: (ids, ps) => tf.gather(ps["emb.weight"]!, ids),
  },
  {
    name: "embedding → positional (T = max)",
    spec: "model M(t: token[6] of 11) {\n  embedding(11, 4) as emb\n  positional(6, 4) as pos\n}\n",
    T: 6,
    vocab: 11,
    ref: (ids, ps) => addPositions(tf.gather(ps["emb.weight"]!, ids), ps["pos.weight"]!, 6),
  },
  {
    name: "embedding → positional (T = 5 < max = 8)",
    spec: "model M(t: token[5] of 9) {\n  embedding(12, 6) as emb\n  positional(8, 6) as pos\n}\n",
    T: 5,
    vocab: 9,
    ref: (ids, ps) => addPositions(tf.gather(ps["emb.weight"]!, ids), ps["pos.weight"]!, 5),
  },
  {
    name: "embedding → positional → dense (the model of (a))",
    spec: "model M(t: token[6] of 11) {\n  embedding(11, 4) as emb\n  positional(6, 4) as pos\n  dense(3) as l\n}\n",
    T: 6,
    vocab: 11,
    ref: (ids, ps) =>
      dense(addPositions(tf.gather(ps["emb.weight"]!, ids), ps["pos.weight"]!, 6), ps["l.weight"]!, ps["l.bias"]),
  },
  {
    name: "embedding with padding_idx 3 → positional → dense",
    spec: "model M(t: token[6] of 11) {\n  embedding(11, 4, padding_idx = 3) as emb\n  positional(6, 4) as pos\n  dense(3) as l\n}\n",
    T: 6,
    vocab: 11,
    ref: (ids, ps) =>
      dense(addPositions(tf.gather(ps["emb.weight"]!, ids), ps["pos.weight"]!, 6), ps["l.weight"]!, ps["l.bias"]),
    padding: { tensor: "emb.weight", row: 3, dim: 4 },
    force: [
      [0, 3],
      [8, 3],
      [17, 3],
    ],
  },
  {
    name: "embedding tied to the output layer (the table gets both gradients)",
    spec: "model M(t: token[6] of 11) {\n  embedding(11, 4) as emb\n  tanh\n  dense(11, tie = emb) as head\n}\n",
    T: 6,
    vocab: 11,
    ref: (ids, ps) => dense(tf.tanh(tf.gather(ps["emb.weight"]!, ids)), ps["emb.weight"]!, ps["head.bias"]),
  },
];

describe("(d) against TensorFlow.js (float32, 1e-5)", () => {
  beforeAll(initTf);

  it.each(tfCases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const { m } = await make(c.spec, "float32");
    const n = 3;
    const p = Float32Array.from(m.createParams(9));
    // Positional tables start at N(0, 0.02): spread them so the add is not lost in the embedding's scale.
    for (const t of m.params) if (t.name === "pos.weight") p.set(randomArray(t.size, 31), t.offset);
    const ids = tokens(n * c.T, c.vocab, 30);
    for (const [at, id] of c.force ?? []) ids[at] = id;
    const rand = seeded(32);
    const w = new Float32Array(n * m.outputSize).map(() => rand());
    const y = Float32Array.from(m.forward(p as never, ids, n));
    const gp = new Float32Array(m.paramCount);
    m.backward(p as never, w as never, gp as never);

    const own = m.params.filter((t) => !t.tiedTo);
    tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [n, c.T], "int32");
      const pT = own.map((t) => {
        const d = tensorOf(m, p, t.name);
        return tf.tensor(d.data, d.shape);
      });
      const call = (...args: tf.Tensor[]) => {
        const ps: Record<string, tf.Tensor> = {};
        own.forEach((t, i) => (ps[t.name] = args[i]!));
        return c.ref(idsT, ps);
      };
      const yT = call(...pT);
      const wT = tf.tensor(w, yT.shape);
      const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(call(...args), wT)))(pT);
      const yRef = yT.dataSync() as Float32Array;
      expect(relError(y, yRef), `output: ${worstAt(y, yRef)}`).toBeLessThan(TOL);
      own.forEach((t, i) => {
        const expected = Float32Array.from(grads[i]!.dataSync());
        if (c.padding?.tensor === t.name) {
          // PyTorch's padding_idx: that row's gradient stays zero (TF.js's gather has no such rule).
          expected.fill(0, c.padding.row * c.padding.dim, (c.padding.row + 1) * c.padding.dim);
        }
        const got = gp.subarray(t.offset, t.offset + t.size);
        expect(relError(got, expected), `gradient of ${t.name}: ${worstAt(got, expected)}`).toBeLessThan(TOL);
      });
    });
  });
});

// ── The generated modules type-check ────────────────────────────────────────────────────────────────

describe("generated code", () => {
  it("every module built above passes tsc --strict (Int32Array ids included)", () => {
    const files = built.filter((f) => fs.existsSync(f));
    expect(files.length).toBeGreaterThan(10);
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2022.d.ts"],
      types: [],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file && d.start !== undefined
          ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}`
          : "";
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(problems).toEqual([]);
    // Each module carries the weight-file runtime (~1,000 lines): longer on a loaded machine.
  }, 180_000);
});

describe("padding_idx initialization", () => {
  it("createParams zeroes the padding row, as PyTorch's nn.Embedding does", async () => {
    const { module: m } = await build("model M(t: token[3] of 5) {\n  embedding(5, 4, padding_idx = 2)\n}\n", {
      dtype: "float64",
    });
    const p = m.createParams(1);
    const w = m.params.find((t) => t.name === "0.weight")!;
    const row = (r: number) => Array.from(p.subarray(w.offset + r * 4, w.offset + r * 4 + 4));
    expect(row(2)).toEqual([0, 0, 0, 0]);
    expect(row(1).some((v) => v !== 0)).toBe(true);
  });
});
