// Multi-head self-attention in generated code (src/emit/kernels/attention.ts), over a table of
// configurations: causal or not, fused or separate projections, with and without biases, grouped-query
// attention (kv_heads < heads, down to 1), an explicit head_dim ≠ D / heads, rotary position embedding and
// attention dropout in training.
//
// (a) gradients against central finite differences in float64, every parameter and input element: relative
//     error < 1e-6 with an absolute floor of 1e-10 (`fdCheck` says why not gradientCheck's floor of 1e-6);
// (b) forward against a deliberately naive reference written below from PyTorch's definitions
//     (`F.scaled_dot_product_attention` between nn.Linear projections, HF's `rotate_half` rope), to 1e-12;
//     with dropout, the reference draws the mask from the same seeded generator (mulberry32) in the order
//     the kernel documents: sample, head, query position, key position (keys j ≤ i only when causal);
// (c) forward, input and parameter gradients against TF.js (float32, 1e-5 relative as in
//     codegen-tfjs.test.ts), attention written from tf primitives (matMul, softmax, a band mask);
// (d) causal outputs at position i do not depend on inputs at positions > i (and non-causal ones do);
// and checks that these comparisons fail on a wrong reference (interleaved rope pairs, a different query →
// kv head mapping, a causal mask that is off by one, another dropout seed).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { build, seeded, type Generated } from "./helpers/generated.js";
import { expectAttentionTarget, headsOnSimd, onBothTargets } from "./helpers/targets.js";
import { initTf, relError, runGenerated, tf, tfForwardBackward, worstAt } from "./helpers/tfjs.js";

// ── Configurations ─────────────────────────────────────────────────────────────────────────────────────

interface Cfg {
  readonly T: number;
  readonly D: number;
  readonly heads: number;
  readonly kvHeads?: number;
  readonly causal?: boolean;
  readonly bias?: boolean;
  readonly outBias?: boolean;
  readonly qkv?: "fused" | "separate";
  readonly headDim?: number;
  readonly rope?: boolean;
  readonly theta?: number;
  readonly dropout?: number;
  /** Projection names (`qkv_proj = "c_attn"`, …): the option's value by option name. */
  readonly names?: Readonly<Partial<Record<"qkv_proj" | "q_proj" | "k_proj" | "v_proj" | "out_proj", string>>>;
  /** `layout = in_out`: every projection matrix stored [in, out] (HF Conv1D). */
  readonly layout?: "in_out";
}

/** A projection's tensor name in the module, as the kind documents it (src/vocabulary/kinds/attention.ts):
 *  `att.c_attn.weight`, or `att.in_proj_weight` for a name ending in `_`. */
function projection(c: Cfg, option: "qkv_proj" | "q_proj" | "k_proj" | "v_proj" | "out_proj", local: string): string {
  const name = c.names?.[option] ?? option;
  return name.endsWith("_") ? `att.${name}${local}` : `att.${name}.${local}`;
}

/** The spec's argument list for a configuration (options left out use the vocabulary's defaults). */
function args(c: Cfg): string {
  const a: string[] = [String(c.heads)];
  if (c.kvHeads !== undefined) a.push(`kv_heads = ${c.kvHeads}`);
  if (c.causal !== undefined) a.push(`causal = ${c.causal}`);
  if (c.bias !== undefined) a.push(`bias = ${c.bias}`);
  if (c.outBias !== undefined) a.push(`out_bias = ${c.outBias}`);
  if (c.qkv !== undefined) a.push(`qkv = ${c.qkv}`);
  if (c.headDim !== undefined) a.push(`head_dim = ${c.headDim}`);
  if (c.rope !== undefined) a.push(`rope = ${c.rope}`);
  if (c.theta !== undefined) a.push(`rope_theta = ${c.theta}`);
  if (c.dropout !== undefined) a.push(`dropout = ${c.dropout}`);
  if (c.layout !== undefined) a.push(`layout = ${c.layout}`);
  for (const [option, name] of Object.entries(c.names ?? {})) a.push(`${option} = ${JSON.stringify(name)}`);
  return a.join(", ");
}

const specOf = (c: Cfg) => `model M(x: f32[s <= ${c.T}, ${c.D}]) {\n  attention(${args(c)}) as att\n}\n`;

const cases: readonly Cfg[] = [
  { T: 5, D: 8, heads: 2 },
  { T: 5, D: 8, heads: 2, causal: true },
  { T: 4, D: 6, heads: 3, qkv: "separate" },
  { T: 5, D: 8, heads: 2, causal: true, qkv: "separate", bias: false },
  { T: 5, D: 8, heads: 2, bias: false },
  { T: 5, D: 8, heads: 4, outBias: false },
  { T: 5, D: 8, heads: 4, kvHeads: 2, causal: true },
  { T: 5, D: 8, heads: 4, kvHeads: 1, qkv: "separate" },
  { T: 4, D: 8, heads: 2, kvHeads: 1, causal: true, outBias: false },
  { T: 5, D: 8, heads: 2, headDim: 3 },
  { T: 4, D: 6, heads: 3, headDim: 4, causal: true, qkv: "separate" },
  { T: 5, D: 8, heads: 2, rope: true },
  { T: 5, D: 8, heads: 2, rope: true, causal: true, theta: 100 },
  { T: 5, D: 8, heads: 4, kvHeads: 2, headDim: 6, rope: true, causal: true, qkv: "separate", outBias: false },
  { T: 5, D: 8, heads: 2, causal: true, dropout: 0.3 },
  { T: 4, D: 8, heads: 4, kvHeads: 2, rope: true, dropout: 0.25, qkv: "separate", bias: false },
  { T: 1, D: 4, heads: 2, causal: true },
  // head widths above 16 take the looped code (up to 16 the per-d work is unrolled)
  { T: 4, D: 34, heads: 2, causal: true },
  { T: 3, D: 8, heads: 2, kvHeads: 1, headDim: 18, rope: true, dropout: 0.2 },
  // matrices stored [in, out] (HF Conv1D), fused and separate, grouped-query, without biases, on the looped
  // head code
  { T: 5, D: 8, heads: 2, causal: true, layout: "in_out", names: { qkv_proj: "c_attn", out_proj: "c_proj" } },
  { T: 4, D: 8, heads: 4, kvHeads: 2, qkv: "separate", layout: "in_out", rope: true, dropout: 0.25 },
  { T: 4, D: 6, heads: 3, headDim: 4, layout: "in_out", bias: false },
  { T: 3, D: 36, heads: 2, kvHeads: 1, layout: "in_out", causal: true, outBias: false },
  // projections named as checkpoints name them: HF GPT-2, nn.MultiheadAttention, BERT, Llama
  { T: 5, D: 8, heads: 2, causal: true, names: { qkv_proj: "c_attn", out_proj: "c_proj" } },
  { T: 4, D: 8, heads: 2, names: { qkv_proj: "in_proj_" } },
  {
    T: 4,
    D: 6,
    heads: 3,
    qkv: "separate",
    names: { q_proj: "self.query", k_proj: "self.key", v_proj: "self.value", out_proj: "output.dense" },
  },
  {
    T: 5,
    D: 8,
    heads: 4,
    kvHeads: 2,
    rope: true,
    causal: true,
    qkv: "separate",
    bias: false,
    names: { out_proj: "o_proj" },
  },
];

const label = (c: Cfg) => `attention(${args(c)}) on [${c.T}, ${c.D}]`;

// ── The naive reference (float64), from PyTorch's definitions ───────────────────────────────────────────

/** A parameter tensor of a module by state_dict name, as a 2-d array of rows (or one row for a vector). */
function tensor(m: Generated, p: ArrayLike<number>, name: string): number[][] {
  const t = m.params.find((x) => x.name === name);
  if (!t) throw new Error(`no parameter ${name} (has ${m.params.map((x) => x.name).join(", ")})`);
  const cols = t.shape.length === 1 ? t.size : t.shape[1]!;
  const rows: number[][] = [];
  for (let r = 0; r < t.size / cols; r++)
    rows.push(Array.from({ length: cols }, (_, k) => p[t.offset + r * cols + k]!));
  return rows;
}

interface Variant {
  /** Pairs (2i, 2i + 1) instead of (i, i + hd/2): the GPT-J convention, to show the check can fail. */
  readonly interleavedRope?: boolean;
  /** Query head h reads kv head h mod kv_heads instead of ⌊h / (heads/kv_heads)⌋. */
  readonly modKvHead?: boolean;
  /** Position i sees keys j < i + 1 + this. */
  readonly causalShift?: number;
}

/**
 * y for `n` samples of x: nn.Linear projections, rope on q and k, softmax(q kᵀ / √hd + mask) (dropout with
 * mask draws from `uniform`), · v, heads concatenated, the out projection.
 */
function reference(
  c: Cfg,
  m: Generated,
  p: ArrayLike<number>,
  x: ArrayLike<number>,
  n: number,
  uniform?: () => number,
  variant: Variant = {},
): Float64Array {
  const { T, D, heads: H } = c;
  const KV = c.kvHeads ?? H;
  const hd = c.headDim ?? D / H;
  const bias = c.bias ?? true;
  const outBias = c.outBias ?? bias;
  /** A projection matrix as nn.Linear holds it, [out, in]: the stored one, transposed when stored [in, out]. */
  const matrix = (name: string): number[][] => {
    const t = tensor(m, p, name);
    return c.layout === "in_out" ? t[0]!.map((_, o) => t.map((row) => row[o]!)) : t;
  };
  let Wq: number[][], Wk: number[][], Wv: number[][];
  let bq: number[] | undefined, bk: number[] | undefined, bv: number[] | undefined;
  if ((c.qkv ?? "fused") === "fused") {
    const W = matrix(projection(c, "qkv_proj", "weight"));
    Wq = W.slice(0, H * hd);
    Wk = W.slice(H * hd, (H + KV) * hd);
    Wv = W.slice((H + KV) * hd);
    if (bias) {
      const b = tensor(m, p, projection(c, "qkv_proj", "bias"))[0]!;
      [bq, bk, bv] = [b.slice(0, H * hd), b.slice(H * hd, (H + KV) * hd), b.slice((H + KV) * hd)];
    }
  } else {
    const sep = ["q_proj", "k_proj", "v_proj"] as const;
    [Wq, Wk, Wv] = sep.map((w) => matrix(projection(c, w, "weight"))) as [number[][], number[][], number[][]];
    if (bias) [bq, bk, bv] = sep.map((w) => tensor(m, p, projection(c, w, "bias"))[0]!);
  }
  const Wo = matrix(projection(c, "out_proj", "weight"));
  const bo = outBias ? tensor(m, p, projection(c, "out_proj", "bias"))[0]! : undefined;
  const linear = (X: number[][], W: number[][], b?: number[]) =>
    X.map((row) => W.map((w, o) => (b ? b[o]! : 0) + row.reduce((s, v, d) => s + v * w[d]!, 0)));
  // rope (HF LlamaRotaryEmbedding / apply_rotary_pos_emb): inv_freq = 1 / θ^(arange(0, hd, 2) / hd),
  // emb = cat(freqs, freqs), x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x2, x1).
  const theta = c.theta ?? 10000;
  const invFreq = Array.from({ length: hd / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / hd));
  const rope = (v: number[], t: number): number[] => {
    if (variant.interleavedRope) {
      const out = v.slice();
      for (let i = 0; i < hd / 2; i++) {
        const a = t * invFreq[i]!;
        out[2 * i] = v[2 * i]! * Math.cos(a) - v[2 * i + 1]! * Math.sin(a);
        out[2 * i + 1] = v[2 * i + 1]! * Math.cos(a) + v[2 * i]! * Math.sin(a);
      }
      return out;
    }
    const emb = [...invFreq, ...invFreq].map((f) => t * f);
    const rotated = [...v.slice(hd / 2).map((e) => -e), ...v.slice(0, hd / 2)];
    return v.map((e, d) => e * Math.cos(emb[d]!) + rotated[d]! * Math.sin(emb[d]!));
  };
  const y = new Float64Array(n * T * D);
  for (let b = 0; b < n; b++) {
    const X = Array.from({ length: T }, (_, t) => Array.from({ length: D }, (_, d) => x[(b * T + t) * D + d]!));
    const q = linear(X, Wq, bq);
    const k = linear(X, Wk, bk);
    const v = linear(X, Wv, bv);
    const headOf = (M: number[][], h: number, t: number) => M[t]!.slice(h * hd, (h + 1) * hd);
    const concat: number[][] = Array.from({ length: T }, () => []);
    for (let h = 0; h < H; h++) {
      const g = variant.modKvHead ? h % KV : Math.floor(h / (H / KV));
      const qh = Array.from({ length: T }, (_, t) => (c.rope ? rope(headOf(q, h, t), t) : headOf(q, h, t)));
      const kh = Array.from({ length: T }, (_, t) => (c.rope ? rope(headOf(k, g, t), t) : headOf(k, g, t)));
      const vh = Array.from({ length: T }, (_, t) => headOf(v, g, t));
      for (let i = 0; i < T; i++) {
        // (A shifted mask still shows row 0 its first key.)
        const visible = (j: number) => !c.causal || j < Math.max(1, i + 1 + (variant.causalShift ?? 0));
        const scores = kh.map((kj, j) =>
          visible(j) ? qh[i]!.reduce((s, e, d) => s + e * kj[d]!, 0) / Math.sqrt(hd) : -Infinity,
        );
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((s, v) => s + v, 0);
        let probs = e.map((v) => v / sum);
        if (uniform && (c.dropout ?? 0) > 0) {
          const keep = 1 - c.dropout!;
          probs = probs.map((pr, j) => (visible(j) ? (uniform() < keep ? pr / keep : 0) : pr));
        }
        for (let d = 0; d < hd; d++) concat[i]!.push(probs.reduce((s, pr, j) => s + pr * vh[j]![d]!, 0));
      }
    }
    linear(concat, Wo, bo).forEach((row, t) => row.forEach((val, o) => (y[(b * T + t) * D + o] = val)));
  }
  return y;
}

/** Uniform in [0, 1) from the same mulberry32 stream as a generated module's `random()` after `seed`. */
const uniformStream = (seed: number) => {
  const r = seeded(seed);
  return () => (r() + 1) / 2;
};

/** Every parameter U(±0.5) (biases too: createParams starts the fused and output biases at zero), in the
 *  module's own array (on the WebAssembly target a plain array would run the TypeScript kernels). */
function randomParams(m: Generated, seed: number): Float64Array {
  const r = seeded(seed);
  const p = m.createParams(0) as Float64Array;
  for (let i = 0; i < p.length; i++) p[i] = 0.5 * r();
  return p;
}

/** max |a − b| / max |b|. */
function normError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

const worst = { gradParams: 0, gradInput: 0, reference: 0, tfForward: 0, tfInput: 0, tfParams: 0 };

// ── (a) gradients ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Central differences of L = Σ w·y (w fixed random weights) against backward, for every parameter and input
 * element, with gradientCheck's relative error |numeric − analytic| / max(|numeric|, |analytic|, floor) but
 * an absolute floor of 1e-4 instead of 1e-6: relative 1e-6 for gradients above 1e-4, absolute 1e-10 below;
 * h = 1e-4.
 *
 * Why not gradientCheck itself: some gradients of attention are zero by construction (a key bias adds the
 * same q·b to every score of a row, which softmax ignores, unless rope rotates it differently per position;
 * with one position every probability is 1 whatever q and k are), others merely small (~1e-5). There the
 * central difference is the rounding of the loss, a few ulps / 2h: measured up to 8e-11 at h = 1e-5 and
 * 1e-11 at h = 1e-4, which gradientCheck's floor of 1e-6 turns into "relative errors" of 1e-6 to 1e-5 on
 * correct gradients (it grows as 1/h: on one configuration h = 1e-7, 1e-6, 1e-5, 1e-4 gave 6.7e-6, 1.0e-6,
 * 2.2e-7, 1.1e-7). At h = 1e-4 the h² truncation error stays below 5e-8 relative on every configuration
 * here. An absolute 1e-10 is ten times the noise and still fails a gradient that is wrongly zero or off by
 * more than 1e-10 (see "the check fails on a wrong backward").
 */
function fdCheck(
  m: Generated,
  n: number,
  options: { h: number; training: boolean },
): { params: number; input: number; zeros: number } {
  const rand = seeded(7);
  const p = m.createParams(1);
  const x = new Float64Array(n * m.inputSize).map(() => rand());
  const w = new Float64Array(n * m.outputSize).map(() => rand());
  const lossAt = (pp: Float64Array, xx: Float64Array) => {
    const y = m.forward(pp, xx, n, { training: options.training, seed: 99 });
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  lossAt(p, x);
  const gp = new Float64Array(m.paramCount);
  const gx = Float64Array.from(m.backward(p, w, gp));
  let zeros = 0;
  const check = (values: Float64Array, analytic: Float64Array, which: "p" | "x") => {
    let worstSeen = 0;
    for (let i = 0; i < values.length; i++) {
      const keep = values[i]!;
      values[i] = keep + options.h;
      const up = which === "p" ? lossAt(values, x) : lossAt(p, values);
      values[i] = keep - options.h;
      const down = which === "p" ? lossAt(values, x) : lossAt(p, values);
      values[i] = keep;
      const numeric = (up - down) / (2 * options.h);
      const a = analytic[i]!;
      if (Math.abs(a) < 1e-14) zeros++;
      worstSeen = Math.max(worstSeen, Math.abs(numeric - a) / Math.max(Math.abs(numeric), Math.abs(a), 1e-4));
    }
    return worstSeen;
  };
  return { params: check(p, gp, "p"), input: check(x, gx, "x"), zeros };
}

describe("gradients against finite differences (float64)", () => {
  it.each(onBothTargets(cases.map((c) => [label(c), c] as const)))("%s", async (_name, c, target) => {
    const { module: m, text } = await build(specOf(c), { dtype: "float64", target });
    expectAttentionTarget(text, target, m, c.layout === "in_out");
    const modes = (c.dropout ?? 0) > 0 ? [true, false] : [false];
    for (const training of modes) {
      const e = fdCheck(m, 2, { h: 1e-4, training });
      worst.gradParams = Math.max(worst.gradParams, e.params);
      worst.gradInput = Math.max(worst.gradInput, e.input);
      expect(e.params, `parameters, training ${training}`).toBeLessThan(1e-6);
      expect(e.input, `input, training ${training}`).toBeLessThan(1e-6);
    }
  });

  it("the check fails on a wrong backward (generated code with one mistake put in)", async () => {
    const c: Cfg = { T: 4, D: 8, heads: 4, kvHeads: 2, headDim: 4, rope: true, causal: true, dropout: 0.3 };
    const { text } = await build(specOf(c), { dtype: "float64" });
    const mistakes: [string, RegExp, string][] = [
      ["rope backward rotates the wrong way", /(\w+\[base \+ i \+ \d+\] = e \* cs) - (a \* sn;)/, "$1 + $2"],
      ["the dropout mask is not applied to dP", /dp \*= mk;/, ""],
      ["softmax backward forgets the row sum", /\((scratch0_d_row\[j\]!) - s\)/, "$1"],
      ["the 1/√hd scale is missing from dS", /(\(scratch0_d_row\[j\]! - s\)) \* 0\.5/, "$1"],
    ];
    for (const [what, from, to] of mistakes) {
      expect(text, what).toMatch(from);
      const file = path.resolve(`test/.tmp/attention_mistake_${process.pid}_${Math.random().toString(36).slice(2)}.ts`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text.replace(from, to));
      const m = (await import(pathToFileURL(file).href)) as Generated;
      const e = fdCheck(m, 2, { h: 1e-4, training: true });
      expect(Math.max(e.params, e.input), what).toBeGreaterThan(1e-3);
    }
  });

  it("the zero gradients are where expected, and only there", async () => {
    // A key bias without rope: exactly its kv_heads·head_dim elements have a zero gradient (up to rounding).
    const { module: m } = await build(specOf({ T: 5, D: 8, heads: 2, qkv: "separate" }), { dtype: "float64" });
    expect(fdCheck(m, 2, { h: 1e-4, training: false }).zeros).toBe(8);
    const { module: r } = await build(specOf({ T: 5, D: 8, heads: 2, qkv: "separate", rope: true }), {
      dtype: "float64",
    });
    expect(fdCheck(r, 2, { h: 1e-4, training: false }).zeros).toBe(0);
  });
});

// ── (b) forward against the naive reference ───────────────────────────────────────────────────────────

describe("forward against a naive reference (float64)", () => {
  it.each(onBothTargets(cases.map((c) => [label(c), c] as const)))("%s", async (_name, c, target) => {
    const { module: m, text } = await build(specOf(c), { dtype: "float64", target });
    expectAttentionTarget(text, target, m, c.layout === "in_out");
    const hd = c.headDim ?? c.D / c.heads;
    // Head widths above 16 (here T · T < 64 · 64): the per-head products on the SIMD kernels as well.
    expect(headsOnSimd(text), "per-head products on the SIMD kernels").toBe(target === "wasm" && hd > 16);
    expect(text).toContain(`att: attention over ${c.T} positions × ${c.D}: ${c.heads} heads of ${hd}`);
    expect(text).toContain(c.causal ? "causal" : "not causal");
    const n = 3;
    const p = randomParams(m, 11);
    const rx = seeded(12);
    const x = new Float64Array(n * m.inputSize).map(() => rx());
    const y = Float64Array.from(m.forward(p, x, n));
    const want = reference(c, m, p, x, n);
    const e = normError(y, want);
    worst.reference = Math.max(worst.reference, e);
    expect(e).toBeLessThan(1e-12);
    if ((c.dropout ?? 0) > 0) {
      const yt = Float64Array.from(m.forward(p, x, n, { training: true, seed: 5 }));
      const wantT = reference(c, m, p, x, n, uniformStream(5));
      const et = normError(yt, wantT);
      worst.reference = Math.max(worst.reference, et);
      expect(et).toBeLessThan(1e-12);
      // Dropout changes the output in training, and eval mode ignores it again.
      expect(normError(yt, want)).toBeGreaterThan(1e-3);
      expect(normError(Float64Array.from(m.forward(p, x, n)), want)).toBeLessThan(1e-12);
    }
  });

  it("the comparison fails on a wrong reference", async () => {
    // head_dim 4: with 2, rotating pairs (i, i + 1) and (2i, 2i + 1) is the same thing.
    const c: Cfg = { T: 5, D: 8, heads: 4, kvHeads: 2, headDim: 4, rope: true, causal: true, dropout: 0.3 };
    const { module: m } = await build(specOf(c), { dtype: "float64" });
    const n = 2;
    const p = randomParams(m, 3);
    const rx = seeded(4);
    const x = new Float64Array(n * m.inputSize).map(() => rx());
    const y = Float64Array.from(m.forward(p, x, n));
    expect(normError(y, reference(c, m, p, x, n))).toBeLessThan(1e-12);
    for (const variant of [{ interleavedRope: true }, { modKvHead: true }, { causalShift: 1 }, { causalShift: -1 }]) {
      expect(normError(y, reference(c, m, p, x, n, undefined, variant)), JSON.stringify(variant)).toBeGreaterThan(1e-3);
    }
    const yt = Float64Array.from(m.forward(p, x, n, { training: true, seed: 8 }));
    expect(normError(yt, reference(c, m, p, x, n, uniformStream(8)))).toBeLessThan(1e-12);
    expect(normError(yt, reference(c, m, p, x, n, uniformStream(9)))).toBeGreaterThan(1e-3);
  });
});

// ── (c) TF.js ──────────────────────────────────────────────────────────────────────────────────────────

/** Attention from tf primitives on x [n, T, D] with PyTorch-layout parameters (`att.…`). */
function tfAttention(c: Cfg, x: tf.Tensor, ps: Record<string, tf.Tensor>): tf.Tensor {
  const [n, T, D] = x.shape as [number, number, number];
  const H = c.heads;
  const KV = c.kvHeads ?? H;
  const hd = c.headDim ?? D / H;
  // [in, out] matrices (HF Conv1D): x · W; [out, in] (nn.Linear): x · Wᵀ
  const inOut = c.layout === "in_out";
  const linear = (v: tf.Tensor, W: tf.Tensor, b?: tf.Tensor) => {
    const y = tf.matMul(tf.reshape(v, [-1, v.shape[2]!]), W, false, !inOut);
    return tf.reshape(b ? tf.add(y, b) : y, [n, T, W.shape[inOut ? 1 : 0]!]);
  };
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  if ((c.qkv ?? "fused") === "fused") {
    const [Wq, Wk, Wv] = tf.split(ps[projection(c, "qkv_proj", "weight")]!, [H * hd, KV * hd, KV * hd], inOut ? 1 : 0);
    const b = ps[projection(c, "qkv_proj", "bias")];
    const [bq, bk, bv] = b ? tf.split(b, [H * hd, KV * hd, KV * hd], 0) : [undefined, undefined, undefined];
    [q, k, v] = [linear(x, Wq!, bq), linear(x, Wk!, bk), linear(x, Wv!, bv)];
  } else {
    const proj = (w: "q_proj" | "k_proj" | "v_proj") =>
      linear(x, ps[projection(c, w, "weight")]!, ps[projection(c, w, "bias")]);
    [q, k, v] = [proj("q_proj"), proj("k_proj"), proj("v_proj")];
  }
  // [n, T, heads·hd] → [n, heads, T, hd]
  const split = (t: tf.Tensor, heads: number) => tf.transpose(tf.reshape(t, [n, T, heads, hd]), [0, 2, 1, 3]);
  let qh = split(q, H);
  let kh = split(k, KV);
  let vh = split(v, KV);
  if (c.rope) {
    const theta = c.theta ?? 10000;
    const angles = Array.from({ length: T }, (_, t) =>
      Array.from({ length: hd / 2 }, (_, i) => t / Math.pow(theta, (2 * i) / hd)),
    );
    const cos = tf.tensor2d(angles.map((r) => r.map(Math.cos)));
    const sin = tf.tensor2d(angles.map((r) => r.map(Math.sin)));
    const rope = (t: tf.Tensor) => {
      const [a, e] = tf.split(t, 2, 3);
      return tf.concat([tf.sub(tf.mul(a!, cos), tf.mul(e!, sin)), tf.add(tf.mul(e!, cos), tf.mul(a!, sin))], 3);
    };
    qh = rope(qh);
    kh = rope(kh);
  }
  if (KV !== H) {
    // Each kv head serves heads / kv_heads consecutive query heads.
    // (Rank 3: TF.js has no gradient for tiling rank-5 tensors.)
    const repeat = (t: tf.Tensor) =>
      tf.reshape(tf.tile(tf.reshape(t, [n * KV, 1, T * hd]), [1, H / KV, 1]), [n, H, T, hd]);
    kh = repeat(kh);
    vh = repeat(vh);
  }
  let scores = tf.div(tf.matMul(qh, kh, false, true), Math.sqrt(hd));
  if (c.causal) {
    const band = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
    scores = tf.add(scores, tf.mul(tf.sub(1, band), -1e9));
  }
  const heads = tf.matMul(tf.softmax(scores), vh);
  const concat = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [n, T, H * hd]);
  return linear(concat, ps[projection(c, "out_proj", "weight")]!, ps[projection(c, "out_proj", "bias")]);
}

describe("against TF.js (float32)", () => {
  beforeAll(initTf);
  const tfCases: Cfg[] = [
    { T: 5, D: 8, heads: 2, causal: true },
    { T: 5, D: 8, heads: 4, kvHeads: 1, qkv: "separate", bias: false },
    { T: 5, D: 8, heads: 4, kvHeads: 2, headDim: 6, rope: true, causal: true, outBias: false },
    { T: 4, D: 6, heads: 3, headDim: 4, rope: true, theta: 50, qkv: "separate" },
    { T: 5, D: 8, heads: 2, causal: true, names: { qkv_proj: "c_attn", out_proj: "c_proj" } },
    { T: 5, D: 8, heads: 2, causal: true, layout: "in_out", names: { qkv_proj: "c_attn", out_proj: "c_proj" } },
    { T: 4, D: 8, heads: 4, kvHeads: 2, qkv: "separate", layout: "in_out", bias: false },
    // head width 18: the per-head products on the SIMD kernels, causal rows in 4 blocks (float32 kernels)
    { T: 16, D: 36, heads: 2, causal: true },
  ];
  it.each(onBothTargets(tfCases.map((c) => [label(c), c] as const)))("%s", async (name, c, target) => {
    const run = await runGenerated(specOf(c), {
      target,
      seed: 3,
      // Every parameter random, biases included.
      setup: (m, p, _bf, rand) => {
        for (let i = 0; i < m.paramCount; i++) p[i] = 0.5 * rand();
      },
    });
    expectAttentionTarget(run.text, target, run.m, c.layout === "in_out");
    const ref = tfForwardBackward(run, (x, ps) => tfAttention(c, x, ps));
    const check = (what: string, got: ArrayLike<number>, expected: ArrayLike<number>) => {
      const e = relError(got, expected);
      expect(e, `${name}: ${what}: ${e.toExponential(2)} (${worstAt(got, expected)})`).toBeLessThan(1e-5);
      return e;
    };
    worst.tfForward = Math.max(worst.tfForward, check("output", run.y, ref.y));
    worst.tfInput = Math.max(worst.tfInput, check("input gradient", run.gx, ref.gx));
    for (const t of run.m.params) {
      worst.tfParams = Math.max(
        worst.tfParams,
        check(`gradient of ${t.name}`, run.gp.subarray(t.offset, t.offset + t.size), ref.gp.get(t.name)!),
      );
    }
  });
});

// ── (d) causality ──────────────────────────────────────────────────────────────────────────────────────

describe("causal attention does not look ahead", () => {
  const configs: Cfg[] = [
    { T: 5, D: 8, heads: 2, causal: true },
    { T: 5, D: 8, heads: 4, kvHeads: 2, rope: true, causal: true, qkv: "separate" },
    // Head width 18: on the WebAssembly target the per-head products run on the SIMD kernels, the query rows
    // in blocks that skip the masked keys (2 blocks from 2 rows, 4 from 16): what a block's rows see of the
    // keys past their own is zeroed, or the later positions would leak in here.
    { T: 6, D: 36, heads: 2, causal: true },
    { T: 16, D: 36, heads: 2, kvHeads: 1, causal: true },
  ];
  it.each(onBothTargets(configs.map((c) => [label(c), c] as const)))("%s", async (_name, c, target) => {
    const { module: m, text } = await build(specOf(c), { dtype: "float64", target });
    expectAttentionTarget(text, target, m);
    const onSimd = target === "wasm" && c.D / c.heads > 16;
    expect(headsOnSimd(text), "per-head products on the SIMD kernels").toBe(onSimd);
    expect(text.includes(`causal: query rows in ${c.T >= 16 ? 4 : 2} blocks`), "causal rows in blocks").toBe(onSimd);
    const { module: open } = await build(specOf({ ...c, causal: false }), { dtype: "float64", target });
    const { T, D } = c;
    const n = 2;
    const p = randomParams(m, 21);
    const rx = seeded(22);
    const x = new Float64Array(n * T * D).map(() => rx());
    const y = Float64Array.from(m.forward(p, x, n));
    const yOpen = Float64Array.from(open.forward(p, x, n));
    for (let i = 0; i < T - 1; i++) {
      // New values at every position after i.
      const x2 = Float64Array.from(x);
      for (let b = 0; b < n; b++) for (let k = (b * T + i + 1) * D; k < (b + 1) * T * D; k++) x2[k] = rx();
      const y2 = m.forward(p, x2, n);
      const y2Open = open.forward(p, x2, n);
      let changedLater = 0;
      let changedOpen = 0;
      for (let b = 0; b < n; b++) {
        for (let t = 0; t < T; t++) {
          for (let o = 0; o < D; o++) {
            const k = (b * T + t) * D + o;
            if (t <= i) expect(y2[k], `sample ${b}, position ${t} after changing positions > ${i}`).toBe(y[k]);
            else changedLater = Math.max(changedLater, Math.abs(y2[k]! - y[k]!));
            if (t <= i) changedOpen = Math.max(changedOpen, Math.abs(y2Open[k]! - yOpen[k]!));
          }
        }
      }
      // The later positions do change, and so would the earlier ones without the mask.
      expect(changedLater).toBeGreaterThan(1e-3);
      expect(changedOpen).toBeGreaterThan(1e-3);
    }
    // Backward: an output gradient at positions ≤ i reaches no input position > i.
    const i = 1;
    const w = new Float64Array(n * T * D).map((_, k) => (Math.floor(k / D) % T <= i ? rx() : 0));
    m.forward(p, x, n);
    const gx = m.backward(p, w, new Float64Array(m.paramCount));
    for (let b = 0; b < n; b++) for (let k = (b * T + i + 1) * D; k < (b + 1) * T * D; k++) expect(gx[k]).toBe(0);
  });
});

// ── The generated code type-checks ────────────────────────────────────────────────────────────────────

describe("generated attention code", () => {
  it("passes tsc --strict (every option at once)", async () => {
    const c: Cfg = {
      T: 4,
      D: 8,
      heads: 4,
      kvHeads: 2,
      headDim: 4,
      rope: true,
      causal: true,
      qkv: "separate",
      outBias: false,
      dropout: 0.1,
    };
    const { file } = await build(specOf(c), { dtype: "float32" });
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2022.d.ts"],
      types: [],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(problems).toEqual([]);
  });

  it("reports the largest errors measured", () => {
    if (process.env.NNC_ATTENTION_REPORT) console.table(worst);
    expect(Object.values(worst).every((e) => Number.isFinite(e))).toBe(true);
  });
});
