// Generated recurrent kernels (src/emit/kernels/recurrent.ts): rnn (tanh, relu), lstm and gru with 1 or 2
// layers, one or two directions, PyTorch biases, no bias or the keras single bias, whole sequences or the
// last state only. For every configuration (float64):
// (a) finite-difference gradients of every parameter and of the input element: fourth-order differences
//     (fdCheck below) to a relative 1e-6 with gradientCheck's floor, and gradientCheck itself, whose
//     second-order differences only reach 2e-5 on these nets (why: the comment above fdCheck);
// (b) the forward against a naive reference written below from PyTorch's equations (< 1e-12), which also
//     pins what `sequences = false` returns: h_n of the last layer, [forward, reverse] concatenated, where
//     the reverse direction's state is the one after position 0 (its last step), not output[T − 1];
// (d) the generated module's parameter count against nnc's count and the PyTorch formula.
// (c) LSTM and GRU single layers against TensorFlow.js (float32, relative 1e-5 with the floor of
//     codegen-tfjs.test.ts): forward, input and parameter gradients against the cells written from tf
//     primitives and differentiated by TF.js; the LSTM forward also against TF.js's own Keras LSTM layer
//     (and Bidirectional wrapper). TF.js's GRU layer refuses reset_after (it implements reset_before, a
//     different function), so the GRU is compared with the primitives only.
// (e) lstm proj_size and gru reset_after = false against PyTorch 1.13 float64 fixtures
//     (test/reference/pytorch/make_recurrent_options.py), and gru reset_after = false against TF.js (its
//     primitives with autograd; with the Keras bias also TF.js's own Keras GRU layer, reset_before natively).
// Last, the checks are shown to fail: wrong LSTM gate orders, a reset_before GRU (also in TF.js),
// output[T − 1] for h_n, and gradients scaled by 1 + 1e-5 (fdCheck) or 1 + 1e-3 (gradientCheck).
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkProgram } from "../src/program/check.js";
import { build, gradientCheck, maxRelError, seeded, type Generated } from "./helpers/generated.js";
import { type NamedTensor } from "./helpers/torch-fixture.js";
import { initTf, relError, runGenerated, tf, tfForwardBackward, worstAt } from "./helpers/tfjs.js";

type Kind = "rnn" | "lstm" | "gru";

interface Config {
  readonly kind: Kind;
  readonly nonlinearity: "tanh" | "relu";
  readonly layers: number;
  readonly bidirectional: boolean;
  readonly bias: "pytorch" | "none" | "keras";
  readonly sequences: boolean;
}

// Every check runs on both targets: \`--target ts\` (TypeScript kernels) and \`--target wasm\`, where the input
// projection W_ih x + b_ih of every position runs on the dense SIMD kernels (src/emit/wasm/recurrent.ts).
// Projections at or under the unroll limit's multiply–adds stay TypeScript on the wasm target (the sizes
// here are under it): the wasm builds take unrollLimit 0, so that every projection runs on the kernels.
const targets = ["ts", "wasm"] as const;
type Target = (typeof targets)[number];
const options = (target: Target) => (target === "wasm" ? { target, unrollLimit: 0 } : { target });

/** The forward's relative error against the reference on the wasm target (float64), whose SIMD products sum
 *  in another order than the reference: measured ≤ 2.93e-12 (rnn tanh, 2 layers, bidirectional). */
const WASM_FORWARD = 1e-11;

const T = 4;
const D = 3;
const H = 5;
const GATES: Record<Kind, number> = { rnn: 1, lstm: 4, gru: 3 };

function spec(c: Config, input = `t <= ${T}, ${D}`): string {
  const args = [String(H)];
  if (c.layers !== 1) args.push(`layers = ${c.layers}`);
  if (c.bidirectional) args.push("bidirectional = true");
  if (c.bias === "none") args.push("bias = false");
  if (c.bias === "keras") args.push("bias_convention = keras");
  if (!c.sequences) args.push("sequences = false");
  if (c.kind === "rnn" && c.nonlinearity === "relu") args.push("nonlinearity = relu");
  return `model M(x: f32[${input}]) {\n  ${c.kind}(${args.join(", ")})\n}\n`;
}

const label = (c: Config) =>
  `${c.kind === "rnn" ? `rnn ${c.nonlinearity}` : c.kind}, ${c.layers} layer${c.layers > 1 ? "s" : ""}, ${c.bidirectional ? "bidirectional" : "one direction"}, ${
    c.bias === "none" ? "no bias" : `${c.bias} bias`
  }, ${c.sequences ? "sequences" : "last state"}`;

const configs: Config[] = [];
for (const [kind, nonlinearity] of [
  ["rnn", "tanh"],
  ["rnn", "relu"],
  ["lstm", "tanh"],
  ["gru", "tanh"],
] as const) {
  for (const layers of [1, 2]) {
    for (const bidirectional of [false, true]) {
      for (const bias of ["pytorch", "none", "keras"] as const) {
        for (const sequences of [true, false])
          configs.push({ kind, nonlinearity, layers, bidirectional, bias, sequences });
      }
    }
  }
}

/** The wasm target runs the configurations of a pairwise covering array per kind (6 of 24: every pair of
 *  values of layers, direction, bias and sequences appears once), not all: its kernels' code differs from
 *  the TypeScript target's by those four only, and the 70-position tests below compare the targets again.
 *  (Every configuration on both targets took 37 s of the suite's time alone.) */
const pairwise: readonly (readonly [Config["bias"], number, boolean, boolean])[] = [
  ["pytorch", 1, false, true],
  ["pytorch", 2, true, false],
  ["none", 1, true, false],
  ["none", 2, false, true],
  ["keras", 1, false, false],
  ["keras", 2, true, true],
];
const configsOn = (target: Target): Config[] =>
  target === "ts"
    ? configs
    : configs.filter((c) =>
        pairwise.some(([b, l, d, s]) => c.bias === b && c.layers === l && c.bidirectional === d && c.sequences === s),
      );

/** Largest errors seen, by check, and where (printed at the end with NNC_RNN_REPORT=1). */
const worst: Record<string, { error: string; value: number; where: string }> = {};
let current = "";
function note(what: string, value: number): number {
  const v = Number.isNaN(value) ? Infinity : value;
  if (!(v <= (worst[what]?.value ?? -1))) worst[what] = { value: v, error: v.toExponential(2), where: current };
  return value;
}
afterAll(() => {
  if (process.env.NNC_RNN_REPORT)
    console.table(Object.fromEntries(Object.entries(worst).map(([k, { error, where }]) => [k, { error, where }])));
});

/** Builds are the slow part (prettier, import): each spec is built once per dtype. */
const built = new Map<string, Promise<Generated>>();
function buildOnce(source: string, target: Target): Promise<Generated> {
  let m = built.get(`${target}:${source}`);
  if (!m) {
    m = build(source, { dtype: "float64", ...options(target) }).then((b) => b.module);
    built.set(`${target}:${source}`, m);
  }
  return m;
}

// ── The naive reference: PyTorch's equations, one sample, one step at a time ─────────────────────────

interface Variant {
  /** LSTM gate blocks read in this order instead of i, f, g, o (a wrong order must fail). */
  readonly lstmOrder?: readonly [number, number, number, number];
  /** GRU with n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), Keras's reset_before (must fail). */
  readonly resetBefore?: boolean;
  /** sequences = false returning output[T − 1] (the reverse direction's first step) instead of h_n. */
  readonly lastOutput?: boolean;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** PyTorch nn.RNN / nn.LSTM / nn.GRU (batch_first, zero initial state) on n samples of [T, D]. */
function reference(
  c: Config,
  m: Generated,
  p: Float64Array,
  x: Float64Array,
  n: number,
  variant: Variant = {},
): Float64Array {
  const prefix = m.params[0]!.name.slice(0, m.params[0]!.name.indexOf(".") + 1);
  const tensor = (name: string): Float64Array | undefined => {
    const t = m.params.find((q) => q.name === prefix + name);
    return t ? p.subarray(t.offset, t.offset + t.size) : undefined;
  };
  const G = GATES[c.kind];
  const dirs = c.bidirectional ? 2 : 1;
  const HD = H * dirs;
  const out = new Float64Array(n * (c.sequences ? T * HD : HD));
  for (let b = 0; b < n; b++) {
    let input: number[][] = Array.from({ length: T }, (_, t) =>
      Array.from(x.subarray(b * T * D + t * D, b * T * D + (t + 1) * D)),
    );
    let finals: number[][] = [];
    let lastOutputs: number[][] = [];
    for (let l = 0; l < c.layers; l++) {
      const IN = input[0]!.length;
      const outputs: number[][] = Array.from({ length: T }, () => new Array<number>(HD).fill(0));
      finals = [];
      for (let d = 0; d < dirs; d++) {
        const suffix = `_l${l}${d === 1 ? "_reverse" : ""}`;
        const Wih = tensor(`weight_ih${suffix}`)!;
        const Whh = tensor(`weight_hh${suffix}`)!;
        const bih = tensor(`bias_ih${suffix}`) ?? tensor(`bias${suffix}`);
        const bhh = tensor(`bias_hh${suffix}`);
        // W_ih x + b_ih and W_hh h + b_hh, row j
        const ix = (j: number, v: number[]) => {
          let s = bih ? bih[j]! : 0;
          for (let i = 0; i < IN; i++) s += Wih[j * IN + i]! * v[i]!;
          return s;
        };
        const hh = (j: number, h: number[]) => {
          let s = bhh ? bhh[j]! : 0;
          for (let k = 0; k < H; k++) s += Whh[j * H + k]! * h[k]!;
          return s;
        };
        let h = new Array<number>(H).fill(0);
        let cs = new Array<number>(H).fill(0);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const v = input[t]!;
          const pre = (j: number) => ix(j, v) + hh(j, h);
          const next = new Array<number>(H);
          if (c.kind === "rnn") {
            for (let k = 0; k < H; k++) {
              const a = pre(k);
              next[k] = c.nonlinearity === "relu" ? Math.max(a, 0) : Math.tanh(a);
            }
          } else if (c.kind === "lstm") {
            const [oi, of, og, oo] = variant.lstmOrder ?? [0, 1, 2, 3];
            const nc = new Array<number>(H);
            for (let k = 0; k < H; k++) {
              const i = sigmoid(pre(oi * H + k));
              const f = sigmoid(pre(of * H + k));
              const g = Math.tanh(pre(og * H + k));
              const o = sigmoid(pre(oo * H + k));
              nc[k] = f * cs[k]! + i * g;
              next[k] = o * Math.tanh(nc[k]!);
            }
            cs = nc;
          } else {
            for (let k = 0; k < H; k++) {
              const r = sigmoid(pre(k));
              const z = sigmoid(pre(H + k));
              let nh: number;
              if (variant.resetBefore) {
                const rh = h.map((hv, q) => sigmoid(pre(q)) * hv);
                nh = hh(2 * H + k, rh);
              } else {
                nh = r * hh(2 * H + k, h);
              }
              const nn = Math.tanh(ix(2 * H + k, v) + nh);
              next[k] = (1 - z) * nn + z * h[k]!;
            }
          }
          h = next;
          for (let k = 0; k < H; k++) outputs[t]![d * H + k] = h[k]!;
        }
        finals.push(h);
      }
      void G;
      input = outputs;
      lastOutputs = outputs;
    }
    if (c.sequences) {
      out.set(lastOutputs.flat(), b * T * HD);
    } else if (variant.lastOutput) {
      out.set(lastOutputs[T - 1]!, b * HD);
    } else {
      // h_n of the last layer: [forward's state after T − 1, reverse's state after position 0]
      out.set(finals.flat(), b * HD);
    }
  }
  return out;
}

/** PyTorch's parameter count of the spec, by its formula: per layer and direction G·H·(in + H) weights and
 *  2·G·H biases (pytorch; also keras GRU), G·H (keras rnn/lstm) or none. */
function formulaCount(c: Config): number {
  const G = GATES[c.kind];
  const dirs = c.bidirectional ? 2 : 1;
  let total = 0;
  for (let l = 0; l < c.layers; l++) {
    const IN = l === 0 ? D : H * dirs;
    const biases = c.bias === "none" ? 0 : c.bias === "keras" && c.kind !== "gru" ? G * H : 2 * G * H;
    total += dirs * (G * H * (IN + H) + biases);
  }
  return total;
}

function nncCount(source: string): number {
  const checked = checkProgram("m.nn", {
    readFile: (f) => (f === "m.nn" ? { ok: true, text: source } : { ok: false, reason: "no such file" }),
  });
  expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return Number(checked.value.models[0]!.figures.params);
}

// ── Gradients against finite differences ────────────────────────────────────────────────────────────
//
// helpers/generated.ts's gradientCheck (second-order central differences, a floor of 1e-6 on magnitudes)
// cannot reach 1e-6 on these nets: a few of their ~1,000 gradient elements cancel to 1e-6 … 1e-5 of the
// loss, where neither step size works (measured on `lstm(5, layers = 2, bidirectional = true,
// bias_convention = keras)`: 1.6e-5 at h = 1e-5 from rounding, 2.2e-5 at h = 1e-3 from truncation; the rnn
// fails at h = 1e-4 by truncation, 3e-6, on elements of 1e-3). fdCheck uses fourth-order differences,
// (8·(L(+h) − L(−h)) − (L(+2h) − L(−2h))) / 12h with h = 3e-3, on every element, same floor: worst 6e-8 on
// those cases (rnn relu: h = 1e-4, as a larger step crosses relu kinks). gradientCheck still runs, with
// the bound it can meet.
const COARSE = 2e-5;

/** Like gradientCheck (same loss Σ w · forward, same relative error and 1e-6 floor), with fourth-order
 *  central differences on every parameter and input element. */
function fdCheck(m: Generated, n: number, seed = 3, h = 3e-3): { params: number; input: number } {
  const rand = seeded(seed);
  const p = m.createParams(seed);
  const x = Float64Array.from({ length: n * m.inputSize }, () => rand());
  const w = Float64Array.from({ length: n * m.outputSize }, () => rand());
  // The difference quotient's round-off is about ε·|loss|/h (loss of order 1 here): 2e-12 at h = 1e-4 (the
  // relu step), which a gradient element near 1e-6 cannot meet at 1e-6 relative; elements are floored at
  // 1e-5 there (seen: an input gradient of 9.74e-7 whose quotient moved by 2e-12 between two summation orders
  // of the same forward), at 1e-6 at the usual step.
  const floor = Math.max(1e-6, 1e-9 / h);
  const loss = (pp: Float64Array, xx: Float64Array) => {
    const y = m.forward(pp, xx, n);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  m.forward(p, x, n);
  const gp = new Float64Array(m.paramCount);
  const gx = Float64Array.from(m.backward(p, w, gp));
  const worstOf = (values: Float64Array, analytic: Float64Array, at: (v: Float64Array) => number) => {
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const keep = values[i]!;
      const f = (e: number) => {
        values[i] = keep + e;
        const v = at(values);
        values[i] = keep;
        return v;
      };
      const numeric = (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h);
      const e = Math.abs(numeric - analytic[i]!) / Math.max(Math.abs(numeric), Math.abs(analytic[i]!), floor);
      worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
    }
    return worst;
  };
  return { params: worstOf(p, gp, (v) => loss(v, x)), input: worstOf(x, gx, (v) => loss(p, v)) };
}

// ── (a), (b), (d): every configuration, float64 ──────────────────────────────────────────────────────

describe.each(targets)(
  "every configuration (float64): gradients, PyTorch reference, parameter count (--target %s)",
  (target) => {
    it.each(configsOn(target).map((c) => [label(c), c] as const))("%s", async (_name, c) => {
      const source = spec(c);
      current = `${label(c)}, --target ${target}`;
      const { module: m, text } = await build(source, { dtype: "float64", ...options(target) });
      // wasm: the input projection on the SIMD kernels (the TypeScript steps kept beside them); ts: no arena.
      expect(text.includes("arena.kernels["), "the SIMD projection").toBe(target === "wasm");
      built.set(`${target}:${source}`, Promise.resolve(m));
      // The generated code names what it computes.
      expect(text).toContain(
        c.kind === "lstm" ? "gates i, f, g, o" : c.kind === "gru" ? "gates r, z, n" : `rnn, ${c.nonlinearity}`,
      );
      const dirs = c.bidirectional ? 2 : 1;
      expect(m.outputShape).toEqual(c.sequences ? [T, H * dirs] : [H * dirs]);

      // (d)
      expect(m.paramCount).toBe(nncCount(source));
      expect(m.paramCount).toBe(formulaCount(c));

      // (b) three samples with parameters and inputs of both signs; the relu case also crosses zero.
      const n = 3;
      const rand = seeded(11);
      const p = m.createParams(5);
      for (let i = 0; i < p.length; i++) p[i] = p[i]! * 2;
      const x = Float64Array.from({ length: n * T * D }, () => 1.5 * rand());
      const got = Float64Array.from(m.forward(p, x, n));
      const want = reference(c, m, p, x, n);
      expect(want.some((v) => Math.abs(v) > 0.05)).toBe(true);
      // The reference sums as the TypeScript kernel does (to 1e-12); the SIMD products sum in another order.
      expect(note("forward vs reference (float64)", maxRelError(got, want))).toBeLessThan(
        target === "ts" ? 1e-12 : WASM_FORWARD,
      );

      // (a) fourth-order differences, every element, 1e-6; the helper's second-order ones, coarser (see fdCheck)
      // relu: a smaller step, so that no step crosses a kink (3e-3 does, by up to 1.4 relative error)
      const exact = fdCheck(m, 2, 3, c.kind === "rnn" && c.nonlinearity === "relu" ? 1e-4 : 3e-3);
      note("parameter gradients vs 4th-order differences", exact.params);
      note("input gradients vs 4th-order differences", exact.input);
      expect(exact.params).toBeLessThan(1e-6);
      expect(exact.input).toBeLessThan(1e-6);
      const coarse = gradientCheck(m, 2, { seed: 3, h: 1e-4 });
      note("parameter gradients vs gradientCheck (2nd order, h 1e-4)", coarse.params);
      note("input gradients vs gradientCheck (2nd order, h 1e-4)", coarse.input);
      expect(coarse.params).toBeLessThan(COARSE);
      expect(coarse.input).toBeLessThan(COARSE);
    });
  },
);

describe.each(targets)("batches, repeated calls, longer sequences (--target %s)", (target) => {
  it("each sample of a batch is computed on its own, and a second backward gives the same gradients", async () => {
    const c: Config = {
      kind: "lstm",
      nonlinearity: "tanh",
      layers: 2,
      bidirectional: true,
      bias: "pytorch",
      sequences: false,
    };
    const { module: m } = await build(spec(c, "t <= 7, 2"), { dtype: "float64", ...options(target) });
    const rand = seeded(4);
    const p = m.createParams(2);
    const x = Float64Array.from({ length: 3 * 7 * 2 }, () => rand());
    const w = Float64Array.from({ length: 3 * m.outputSize }, () => rand());
    const all = Float64Array.from(m.forward(p, x, 3));
    const g1 = new Float64Array(m.paramCount);
    const gx1 = Float64Array.from(m.backward(p, w, g1));
    const g2 = new Float64Array(m.paramCount);
    m.backward(p, w, g2);
    expect(Array.from(g2)).toEqual(Array.from(g1));
    // The batch gradient is the sum of the per-sample gradients.
    const sum = new Float64Array(m.paramCount);
    for (let b = 0; b < 3; b++) {
      const one = Float64Array.from(m.forward(p, x.subarray(b * 14, (b + 1) * 14), 1));
      expect(maxRelError(one, all.subarray(b * m.outputSize, (b + 1) * m.outputSize))).toBe(0);
      const gb = new Float64Array(m.paramCount);
      const gxb = m.backward(p, w.subarray(b * m.outputSize, (b + 1) * m.outputSize), gb);
      expect(maxRelError(gxb, gx1.subarray(b * 14, (b + 1) * 14))).toBeLessThan(1e-14);
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + gb[i]!;
    }
    expect(maxRelError(sum, g1, 1e-6)).toBeLessThan(1e-12);
  });
});

// ── (c) TF.js, float32 ───────────────────────────────────────────────────────────────────────────────

const TOL = 1e-5;

function check(what: string, got: ArrayLike<number>, expected: ArrayLike<number>): void {
  const e = note(`TF.js ${what.replace(/ of .*/, "")}`, relError(got, expected));
  expect(e, `${what}: relative error ${e.toExponential(2)} (${worstAt(got, expected)})`).toBeLessThan(TOL);
}

/** PyTorch's recurrence written with tf primitives on x [n, T, D]: one layer, tensors by state_dict name. */
function tfRecurrent(
  c: Config,
  x: tf.Tensor,
  ps: Record<string, tf.Tensor>,
  prefix: string,
  resetBefore = false,
): tf.Tensor {
  const [n, steps] = x.shape as [number, number, number];
  const xs = tf.unstack(x, 1);
  const dirs = c.bidirectional ? 2 : 1;
  const sequences: tf.Tensor[] = [];
  const finals: tf.Tensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const suffix = `_l0${d === 1 ? "_reverse" : ""}`;
    const Wih = ps[`${prefix}weight_ih${suffix}`]!;
    const Whh = ps[`${prefix}weight_hh${suffix}`]!;
    const bih = ps[`${prefix}bias_ih${suffix}`] ?? ps[`${prefix}bias${suffix}`];
    const bhh = ps[`${prefix}bias_hh${suffix}`];
    let h: tf.Tensor = tf.zeros([n, H]);
    let cell: tf.Tensor = tf.zeros([n, H]);
    const outs: tf.Tensor[] = new Array<tf.Tensor>(steps);
    for (let s = 0; s < steps; s++) {
      const t = d === 0 ? s : steps - 1 - s;
      let gi = tf.matMul(xs[t]!, Wih, false, true);
      if (bih) gi = tf.add(gi, bih);
      let gh = tf.matMul(h, Whh, false, true);
      if (bhh) gh = tf.add(gh, bhh);
      if (c.kind === "lstm") {
        const [i, f, g, o] = tf.split(tf.add(gi, gh), 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        cell = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        h = tf.mul(tf.sigmoid(o), tf.tanh(cell));
      } else {
        const [ir, iz, inn] = tf.split(gi, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
        const [hr, hz, hn] = tf.split(gh, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
        const r = tf.sigmoid(tf.add(ir, hr));
        const z = tf.sigmoid(tf.add(iz, hz));
        // reset_before (Keras's other GRU, TF.js's only one): W_hn (r ⊙ h) + b_hn, for "the checks can fail"
        const rh = resetBefore ? tf.matMul(tf.mul(r, h), tf.split(Whh, 3, 0)[2]!, false, true) : undefined;
        const nn = tf.tanh(tf.add(inn, rh ? (bhh ? tf.add(rh, tf.split(bhh, 3, 0)[2]!) : rh) : tf.mul(r, hn)));
        h = tf.add(tf.mul(tf.sub(1, z), nn), tf.mul(z, h));
      }
      outs[t] = h;
    }
    sequences.push(tf.stack(outs, 1));
    finals.push(h);
  }
  return c.sequences ? tf.concat(sequences, 2) : tf.concat(finals, 1);
}

/**
 * The same single layer with TF.js's Keras layers, forward only, on parameters `p` in the generated
 * module's layout. LSTM: kernel = W_ihᵀ, recurrent kernel = W_hhᵀ, Keras's gate order i, f, c, o is
 * PyTorch's i, f, g, o, bias = b_ih + b_hh. GRU: TF.js has reset_before only, n = tanh(W_in x + b_in +
 * W_hn (r ⊙ h) + b_hn), with Keras's gate order z, r, h and one bias; it is PyTorch's reset_after when W_hn
 * is diagonal and b_hn = 0 (then r ⊙ (W_hn h) = W_hn (r ⊙ h)), which the caller arranges. Bidirectional:
 * Keras's wrapper, forward then reverse, the reverse outputs put back in input order.
 */
function kerasForward(c: Config, m: Generated, p: Float32Array, input: Float32Array, n: number): Float32Array {
  const prefix = m.params[0]!.name.slice(0, m.params[0]!.name.indexOf(".") + 1);
  const useBias = c.bias !== "none";
  const options = { units: H, returnSequences: c.sequences, recurrentActivation: "sigmoid", useBias } as const;
  const make = () => (c.kind === "lstm" ? tf.layers.lstm(options) : tf.layers.gru(options));
  const layer = c.bidirectional ? tf.layers.bidirectional({ layer: make() as never, mergeMode: "concat" }) : make();
  const x = tf.tensor(input, [n, T, D]);
  (layer.apply(x) as tf.Tensor).dispose();
  // PyTorch's gate blocks (rows of [G·H, …], elements of [G·H]) in Keras's order: gru r, z, n → z, r, n.
  const keras = (data: Float32Array) => {
    if (c.kind !== "gru") return data;
    const rows = data.length / (3 * H);
    const block = (k: number) => data.subarray(k * H * rows, (k + 1) * H * rows);
    return Float32Array.from([...block(1), ...block(0), ...block(2)]);
  };
  const weights: tf.Tensor[] = [];
  for (let d = 0; d < (c.bidirectional ? 2 : 1); d++) {
    const suffix = `_l0${d === 1 ? "_reverse" : ""}`;
    const t = (name: string) => {
      const info = m.params.find((q) => q.name === prefix + name)!;
      return { data: p.slice(info.offset, info.offset + info.size), shape: [...info.shape] };
    };
    const W = t(`weight_ih${suffix}`);
    const R = t(`weight_hh${suffix}`);
    weights.push(tf.transpose(tf.tensor(keras(W.data), W.shape)), tf.transpose(tf.tensor(keras(R.data), R.shape)));
    if (useBias) {
      const b = m.params.some((q) => q.name === `${prefix}bias${suffix}`)
        ? t(`bias${suffix}`).data
        : t(`bias_ih${suffix}`).data.map((v, i) => v + t(`bias_hh${suffix}`).data[i]!);
      weights.push(tf.tensor(keras(b)));
    }
  }
  layer.setWeights(weights);
  const y = layer.apply(x) as tf.Tensor;
  const out = Float32Array.from(y.dataSync());
  tf.dispose([x, y, ...weights]);
  layer.dispose();
  return out;
}

/** A copy of a GRU's parameters with W_hn diagonal and b_hn = 0 (see kerasForward). */
function diagonalHn(m: Generated, p: Float32Array): Float32Array {
  const q = Float32Array.from(p);
  for (const t of m.params) {
    if (/\.weight_hh_/.test(t.name)) {
      for (let j = 2 * H; j < 3 * H; j++) for (let k = 0; k < H; k++) if (j - 2 * H !== k) q[t.offset + j * H + k] = 0;
    } else if (/\.bias_hh_/.test(t.name)) {
      for (let j = 2 * H; j < 3 * H; j++) q[t.offset + j] = 0;
    }
  }
  return q;
}

const tfConfigs: Config[] = [];
for (const kind of ["lstm", "gru"] as const) {
  for (const bidirectional of [false, true]) {
    for (const sequences of [true, false])
      tfConfigs.push({ kind, nonlinearity: "tanh", layers: 1, bidirectional, bias: "pytorch", sequences });
  }
  tfConfigs.push({ kind, nonlinearity: "tanh", layers: 1, bidirectional: false, bias: "none", sequences: true });
  tfConfigs.push({ kind, nonlinearity: "tanh", layers: 1, bidirectional: true, bias: "keras", sequences: true });
}

describe.each(targets)("single layers against TensorFlow.js (float32) (--target %s)", (target) => {
  beforeAll(initTf);
  it.each(tfConfigs.map((c, i) => [label(c), c, i] as const))("%s", async (_name, c, i) => {
    current = `${label(c)}, --target ${target}`;
    const run = await runGenerated(spec(c), { seed: i + 1, n: 3, ...options(target) });
    const prefix = run.m.params[0]!.name.slice(0, run.m.params[0]!.name.indexOf(".") + 1);
    const ref = tfForwardBackward(run, (x, ps) => tfRecurrent(c, x, ps, prefix));
    check("forward", run.y, ref.y);
    check("input gradient", run.gx, ref.gx);
    for (const t of run.m.params)
      check(`parameter gradient of ${t.name}`, run.gp.subarray(t.offset, t.offset + t.size), ref.gp.get(t.name)!);
    if (c.kind === "lstm") check("forward (Keras LSTM layer)", run.y, kerasForward(c, run.m, run.p, run.x, run.n));
    if (c.kind === "gru") {
      const q = diagonalHn(run.m, run.p);
      const y = Float32Array.from(run.m.forward(q as never, run.x as never, run.n));
      check("forward (Keras GRU layer, W_hn diagonal, b_hn = 0)", y, kerasForward(c, run.m, q, run.x, run.n));
    }
  });
});

describe.each(targets)("gru(reset_after = false) against TensorFlow.js (float32) (--target %s)", (target) => {
  // TF.js's cell from tf primitives with the reset before the product (tfRecurrent's resetBefore), forward
  // and every gradient through TF.js's autograd; with Keras's single bias also TF.js's own Keras GRU
  // layer, which implements only this variant (reset_before, one bias of 3·units), on any parameters.
  beforeAll(initTf);
  const cases: Config[] = (["pytorch", "keras"] as const).flatMap((bias) =>
    [false, true].map((bidirectional) => ({
      kind: "gru" as const,
      nonlinearity: "tanh" as const,
      layers: 1,
      bidirectional,
      bias,
      sequences: true,
    })),
  );
  it.each(cases.map((c, i) => [label(c), c, i] as const))("%s", async (_name, c, i) => {
    current = `${label(c)}, reset_after = false, --target ${target}`;
    const source = spec(c).replace(`gru(${H}`, `gru(${H}, reset_after = false`);
    expect(source).toContain("reset_after = false");
    const run = await runGenerated(source, { seed: i + 7, n: 3, ...options(target) });
    const prefix = run.m.params[0]!.name.slice(0, run.m.params[0]!.name.indexOf(".") + 1);
    const ref = tfForwardBackward(run, (x, ps) => tfRecurrent(c, x, ps, prefix, true));
    check("forward", run.y, ref.y);
    check("input gradient", run.gx, ref.gx);
    for (const t of run.m.params)
      check(`parameter gradient of ${t.name}`, run.gp.subarray(t.offset, t.offset + t.size), ref.gp.get(t.name)!);
    if (c.bias === "keras") check("forward (Keras GRU layer)", run.y, kerasForward(c, run.m, run.p, run.x, run.n));
  });
});

// ── The checks can fail ──────────────────────────────────────────────────────────────────────────────

describe.each(targets)("the checks can fail (--target %s)", (target) => {
  const base: Config = {
    kind: "lstm",
    nonlinearity: "tanh",
    layers: 1,
    bidirectional: true,
    bias: "pytorch",
    sequences: false,
  };

  async function forwardError(c: Config, variant: Variant): Promise<number> {
    const m = await buildOnce(spec(c), target);
    const rand = seeded(8);
    const p = m.createParams(3);
    for (let i = 0; i < p.length; i++) p[i] = p[i]! * 2;
    const x = Float64Array.from({ length: 2 * T * D }, () => rand());
    return maxRelError(m.forward(p, x, 2), reference(c, m, p, x, 2, variant));
  }

  it("an LSTM with gates i, g, f, o or f, i, g, o is not this one", async () => {
    expect(await forwardError(base, { lstmOrder: [0, 2, 1, 3] })).toBeGreaterThan(1e-3);
    expect(await forwardError(base, { lstmOrder: [1, 0, 2, 3] })).toBeGreaterThan(1e-3);
  });

  it("a GRU with reset_before (TF.js's) is not this one", async () => {
    expect(await forwardError({ ...base, kind: "gru" }, { resetBefore: true })).toBeGreaterThan(1e-3);
  });

  it("sequences = false is h_n, not output[T − 1]", async () => {
    expect(await forwardError(base, { lastOutput: true })).toBeGreaterThan(1e-3);
    // One direction: h_n is output[T − 1] (exactly so where the reference sums as the kernel does).
    const same = await forwardError({ ...base, bidirectional: false }, { lastOutput: true });
    if (target === "ts") expect(same).toBe(0);
    else expect(same).toBeLessThan(WASM_FORWARD);
  });

  it("gradients off by 1e-5 (parameters) or 1e-3 (input) fail the finite-difference checks", async () => {
    const m = await buildOnce(spec({ ...base, kind: "gru", layers: 2 }), target);
    const off = (pScale: number, xScale: number): Generated => ({
      ...m,
      backward: (p, gy, grads) => {
        const gx = m.backward(p, gy, grads);
        for (let i = 0; i < grads.length; i++) (grads as Float64Array)[i] = grads[i]! * pScale;
        for (let i = 0; i < gx.length; i++) gx[i] = gx[i]! * xScale;
        return gx;
      },
    });
    expect(fdCheck(off(1 + 1e-5, 1), 2).params).toBeGreaterThan(1e-6);
    expect(fdCheck(off(1, 1 + 1e-5), 2).input).toBeGreaterThan(1e-6);
    expect(gradientCheck(off(1 + 1e-3, 1), 2, { seed: 3, h: 1e-4 }).params).toBeGreaterThan(COARSE);
    expect(gradientCheck(off(1, 1 + 1e-3), 2, { seed: 3, h: 1e-4 }).input).toBeGreaterThan(COARSE);
  });

  it("TF.js with reset_before disagrees with the generated GRU", async () => {
    await initTf();
    const c: Config = { ...base, kind: "gru", sequences: true };
    const run = await runGenerated(spec(c), { seed: 1, n: 3, ...options(target) });
    const prefix = run.m.params[0]!.name.slice(0, run.m.params[0]!.name.indexOf(".") + 1);
    const ref = tfForwardBackward(run, (x, ps) => tfRecurrent(c, x, ps, prefix, true));
    expect(relError(run.y, ref.y)).toBeGreaterThan(100 * TOL);
    // TF.js's own GRU layer, on parameters where W_hn is not diagonal.
    expect(relError(run.y, kerasForward(c, run.m, run.p, run.x, run.n))).toBeGreaterThan(100 * TOL);
  });
});

// ── lstm proj_size and gru reset_after = false against PyTorch (float64) ──────────────────────────────
//
// test/reference/pytorch/recurrent_options.json, made by make_recurrent_options.py with PyTorch 1.13:
// nn.LSTM(proj_size = P) itself; for gru(reset_after = false), which PyTorch lacks, Keras's reset-before
// cell written there in PyTorch (checked there against nn.GRU with the reset after) and differentiated
// by autograd. Forward, every parameter gradient and the input gradient for a given upstream gradient,
// the parameter count (the fixture's tensors, PyTorch's names and shapes), and fourth-order differences.

describe.each(targets)(
  "lstm proj_size and gru reset_after = false against PyTorch (float64) (--target %s)",
  (target) => {
    interface Case {
      readonly name: string;
      readonly spec: string;
      readonly params: NamedTensor[];
      readonly inputs: NamedTensor;
      readonly outputs: NamedTensor;
      readonly gy: NamedTensor;
      readonly param_grads: NamedTensor[];
      readonly input_grad: NamedTensor;
    }
    const fixture = JSON.parse(fs.readFileSync("test/reference/pytorch/recurrent_options.json", "utf8")) as {
      cases: Case[];
    };
    it.each(fixture.cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const { module: m } = await build(c.spec, { dtype: "float64", ...options(target) });
      // The module's tensors are PyTorch's, in its order, with its shapes.
      expect(m.params.map((t) => [t.name.slice(t.name.indexOf(".") + 1), t.shape])).toEqual(
        c.params.map((t) => [t.name, t.shape]),
      );
      expect(m.paramCount).toBe(c.params.reduce((s, t) => s + t.data.length, 0));
      expect(m.paramCount).toBe(nncCount(c.spec));
      const p = m.createParams(0);
      for (const t of c.params) {
        const info = m.params.find((q) => q.name.endsWith(`.${t.name}`))!;
        p.set(t.data, info.offset);
      }
      const n = c.inputs.shape[0]!;
      expect(maxRelError(m.forward(p, Float64Array.from(c.inputs.data), n), c.outputs.data)).toBeLessThan(1e-12);
      const gp = new Float64Array(m.paramCount);
      const gx = m.backward(p, Float64Array.from(c.gy.data), gp);
      for (const t of c.param_grads) {
        const info = m.params.find((q) => q.name.endsWith(`.${t.name}`))!;
        expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, 1e-9), t.name).toBeLessThan(
          1e-10,
        );
      }
      expect(maxRelError(gx, c.input_grad.data, 1e-9)).toBeLessThan(1e-10);
      const fd = fdCheck(m, 2);
      expect(fd.params).toBeLessThan(1e-6);
      expect(fd.input).toBeLessThan(1e-6);
    });
  },
);

// ── --target wasm against --target ts over more positions than one pass of the scratch rows ────────────
//
// The SIMD projection runs CHUNK (64) positions per call and backward flushes its collected gate gradients
// every CHUNK positions (src/emit/wasm/recurrent.ts): 70 positions take two passes, the first a partial one
// in backward's order for the forward direction. float64: the two targets agree to rounding; float32: the
// wasm target's error against the float64 module is of the TypeScript target's order.

describe("--target wasm against --target ts, 70 positions (two scratch passes)", () => {
  const layers = [
    "lstm(5, layers = 2, bidirectional = true)",
    "lstm(5, proj_size = 3, bidirectional = true, layers = 2)",
    "gru(5, layers = 2, bidirectional = true)",
    "gru(5, reset_after = false, bidirectional = true, bias_convention = keras)",
    "rnn(5, bidirectional = true, layers = 2, bias = false)",
    "rnn(5, bias_convention = keras, nonlinearity = relu)",
  ];
  it.each(layers)("%s", async (layer) => {
    const source = `model M(x: f32[t <= 70, 3]) {\n  ${layer}\n}\n`;
    const n = 2;
    const run = async (dtype: "float64" | "float32", target: Target) => {
      const { module: m, text } = await build(source, { dtype, ...options(target) });
      expect(text.includes("arena.kernels["), "the SIMD projection").toBe(target === "wasm");
      const rand = seeded(3);
      const A = dtype === "float64" ? Float64Array : Float32Array;
      const p = m.createParams(5);
      p.set(Float64Array.from((await buildOnce(source, "ts")).createParams(5)));
      const draw = (k: number) => {
        const a = new A(k);
        for (let i = 0; i < k; i++) a[i] = rand();
        return a;
      };
      const x = draw(n * m.inputSize);
      const w = draw(n * m.outputSize);
      const y = Float64Array.from(m.forward(p as never, x as never, n));
      const gp = new A(m.paramCount);
      const gx = Float64Array.from(m.backward(p as never, w as never, gp as never));
      return { y, gp: Float64Array.from(gp), gx };
    };
    const exact = await run("float64", "ts");
    const wasm64 = await run("float64", "wasm");
    for (const k of ["y", "gp", "gx"] as const)
      expect(maxRelError(wasm64[k], exact[k], 1e-6), k).toBeLessThan(WASM_FORWARD);
    const ts32 = await run("float32", "ts");
    const wasm32 = await run("float32", "wasm");
    for (const k of ["y", "gp", "gx"] as const) {
      // Sums of up to 140 float32 products (ε 6e-8) with cancellation: the TypeScript target measured up to
      // 9.6e-5 here (relative, floor 1e-3), the wasm target up to 7.9e-5.
      note(`float32 against float64, --target ts (${k})`, maxRelError(ts32[k], exact[k], 1e-3));
      expect(
        note(`float32 against float64, --target wasm (${k})`, maxRelError(wasm32[k], exact[k], 1e-3)),
        k,
      ).toBeLessThan(2e-4);
    }
  });
});
