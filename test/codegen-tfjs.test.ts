// Generated code against TensorFlow.js (cpu backend), an implementation nobody here wrote: forward outputs,
// input gradients and parameter gradients of every layer kind TF.js offers (or can express from its
// primitives where PyTorch's definition differs or TF.js lacks the option), float32, batch 3, seeded inputs,
// parameters from createParams(seed) (norm scales, shifts, PReLU slopes and running statistics moved away
// from their constant initial values) and a seeded output gradient w: both sides differentiate Σ output · w.
//
// Tolerance: |got − expected| < 1e-5 · max(|expected|, 0.1 · max |expected|) for every element, i.e. 1e-5
// relative with an absolute floor of 1e-6 × the tensor's largest magnitude. The floor is what float32
// allows: both sides store float32 (TF.js also rounds after every op), and where a result cancels (1 − y²
// of a saturated tanh, 1 + tanh(…) of a negative GELU, y·(g − Σ y·g) of a softmax) float32 rounding of the
// larger terms, a few 1e-8 of the tensor's scale, is all that is left. Measured against double-precision
// recomputations, such elements differ by up to ~1e-5 of their own size on either side (the generated one
// too, because it stores activations in float32), so a floor of 1e-2 · max would fail on rounding alone.
// Errors 10× the tolerance (a wrong slope by 1%, a missing transpose) fail; see "the comparison can fail".
//
// Nothing is skipped: a case whose kinds (`needs`) have no kernel fails.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adaptiveAvgPool,
  alongAxis,
  available,
  conv1d,
  conv2d,
  conv3d,
  convTranspose2d,
  initTf,
  perChannel,
  pool1d,
  pool2d,
  pool3d,
  resize2d,
  relError,
  runGenerated,
  samePad,
  tensorOf,
  tf,
  tfForwardBackward,
  worstAt,
  type Run,
  type RunOptions,
} from "./helpers/tfjs.js";
import type { Generated } from "./helpers/generated.js";

const TOL = 1e-5;

beforeAll(initTf);

// ── Error bookkeeping: the largest error per kind, printed (and saved) at the end ────────────────────────

const worst = new Map<string, { forward: number; input: number; params: number; other: number; cases: number }>();

function record(kind: string, what: "forward" | "input" | "params" | "other", e: number): void {
  const row = worst.get(kind) ?? { forward: 0, input: 0, params: 0, other: 0, cases: 0 };
  row[what] = Math.max(row[what], e);
  worst.set(kind, row);
}

function check(
  kind: string,
  what: "forward" | "input" | "params" | "other",
  label: string,
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
): void {
  const e = relError(got, expected);
  record(kind, what, e);
  expect(e, `${label}: relative error ${e.toExponential(2)} (${worstAt(got, expected)})`).toBeLessThan(TOL);
}

afterAll(() => {
  const rows = [...worst.entries()].map(([kind, r]) => ({
    kind,
    cases: r.cases,
    forward: r.forward.toExponential(1),
    input: r.input.toExponential(1),
    params: r.params.toExponential(1),
    other: r.other.toExponential(1),
  }));
  if (rows.length === 0) return;
  fs.mkdirSync(path.resolve("test/.tmp"), { recursive: true });
  fs.writeFileSync(path.resolve("test/.tmp/tfjs-errors.json"), JSON.stringify(rows, null, 2));
  if (process.env.NNC_TFJS_REPORT) console.table(rows);
});

// ── Cases ────────────────────────────────────────────────────────────────────────────────────────────

type Ref = (x: tf.Tensor, ps: Record<string, tf.Tensor>, run: Run) => tf.Tensor;

interface Case {
  /** The layers, as written in the spec (one statement per line). */
  readonly body: string;
  /** Per-sample input shape. */
  readonly input: readonly number[];
  readonly ref: Ref;
  /** Kinds the generator must support (default: the first word of the body). */
  readonly needs?: readonly string[];
  readonly options?: RunOptions;
  /** The generated code must contain this (which code shape was exercised). */
  readonly text?: RegExp;
  /** Extra checks on the run (buffers after training). */
  readonly after?: (run: Run, kind: string) => void;
}

const spec = (c: Case) =>
  `model M(x: f32[${c.input.join(", ")}]) {\n${c.body
    .split("\n")
    .map((l) => `  ${l.trim()}`)
    .join("\n")}\n}\n`;

/** Norm scales, shifts, PReLU slopes and running statistics away from their constant initial values. */
const randomizeNonMatrix: NonNullable<RunOptions["setup"]> = (m, p, bf, rand) => {
  for (const t of m.params) {
    for (let i = t.offset; i < t.offset + t.size; i++) {
      if (t.role === "normScale") p[i] = 1 + 0.5 * rand();
      else if (t.role === "normShift" || t.role === "other") p[i] = 0.5 * rand();
    }
  }
  for (const t of m.buffers) {
    for (let i = t.offset; i < t.offset + t.size; i++) {
      if (t.name.endsWith("running_mean")) bf[i] = 0.5 * rand();
      else if (t.name.endsWith("running_var")) bf[i] = 1 + 0.6 * rand();
    }
  }
};

/** The cases of one kind, each built for every target of `targets` (default: compile()'s, `auto`). */
function runCases(
  kind: string,
  cases: readonly Case[],
  targets: readonly ("ts" | "wasm" | undefined)[] = [undefined],
): void {
  describe(kind, () => {
    cases.forEach((c, index) => {
      const needs = c.needs ?? [c.body.trim().split(/[\s(]/)[0]!];
      const label = `${c.body.replace(/\s*\n\s*/g, "; ")} on [${c.input.join(", ")}]`;
      for (const target of targets)
        it(target === undefined ? label : `${label}, --target ${target}`, async () => {
          expect(
            needs.filter((k) => !available(k)),
            "kinds without a kernel",
          ).toEqual([]);
          const run = await runGenerated(spec(c), {
            seed: index + 1,
            setup: randomizeNonMatrix,
            ...c.options,
            ...(target ? { target } : {}),
          });
          if (c.text) expect(run.text).toMatch(c.text);
          const ref = tfForwardBackward(run, (x, ps) => c.ref(x, ps, run));
          const row = worst.get(kind);
          worst.set(kind, { ...(row ?? { forward: 0, input: 0, params: 0, other: 0 }), cases: (row?.cases ?? 0) + 1 });
          check(kind, "forward", `${label}: output`, run.y, ref.y);
          check(kind, "input", `${label}: input gradient`, run.gx, ref.gx);
          for (const t of run.m.params) {
            check(
              kind,
              "params",
              `${label}: gradient of ${t.name}`,
              run.gp.subarray(t.offset, t.offset + t.size),
              ref.gp.get(t.name)!,
            );
          }
          c.after?.(run, kind);
        });
    });
  });
}

// ── Dense ────────────────────────────────────────────────────────────────────────────────────────────

/** y = x Wᵀ + b with W [out, in]: TF.js's dense kernel is [in, out] = Wᵀ. Leading axes are rows. */
function dense(x: tf.Tensor, W: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const IN = x.shape[x.rank - 1]!;
  const rows = tf.reshape(x, [-1, IN]);
  let y = tf.matMul(rows, tf.transpose(W));
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), W.shape[0]!]);
}

const l = (ps: Record<string, tf.Tensor>, name = "l") => [ps[`${name}.weight`]!, ps[`${name}.bias`]] as const;

// Every dense case on both targets: above the unroll limit, `wasm` runs the WebAssembly SIMD kernels.
runCases(
  "dense",
  [
    { body: "dense(4) as l", input: [3], ref: (x, ps) => dense(x, ...l(ps)), text: /unrolled/ },
    { body: "dense(4, bias = false) as l", input: [3], ref: (x, ps) => dense(x, ...l(ps)), text: /unrolled/ },
    { body: "dense(70) as l", input: [100], ref: (x, ps) => dense(x, ...l(ps)), text: /register tiles/ },
    { body: "dense(70, bias = false) as l", input: [100], ref: (x, ps) => dense(x, ...l(ps)), text: /register tiles/ },
    // 11 outputs: one 8-column tile and a remainder of 3.
    { body: "dense(11) as l", input: [150], ref: (x, ps) => dense(x, ...l(ps)), text: /register tiles/ },
    // A tiled layer (1,200 multiply–adds), then an unrolled one (240, under the default limit of 256).
    {
      body: "dense(40) as a\ntanh\ndense(6) as b",
      input: [30],
      needs: ["dense", "tanh"],
      ref: (x, ps) => dense(tf.tanh(dense(x, ...l(ps, "a"))), ...l(ps, "b")),
      text: /register-tiled[\s\S]*unrolled/,
    },
    {
      body: "flatten\ndense(5) as l",
      input: [2, 3, 4],
      needs: ["flatten", "dense"],
      ref: (x, ps) => dense(tf.reshape(x, [3, 24]), ...l(ps)),
    },
    // Rows: a sequence of feature vectors.
    {
      body: "transpose(0, 1)\ndense(5) as l",
      input: [6, 4],
      needs: ["transpose", "dense"],
      ref: (x, ps) => dense(tf.transpose(x, [0, 2, 1]), ...l(ps)),
    },
    // `layout = in_out` (HF Conv1D): W stored [in, out] is TF.js's own kernel layout, y = x W + b.
    {
      body: "dense(4, layout = in_out) as l",
      input: [3],
      ref: (x, ps) => dense(x, tf.transpose(l(ps)[0]), l(ps)[1]),
      text: /weight \[in, out\], unrolled/,
    },
    {
      body: "dense(70, layout = in_out) as l",
      input: [100],
      ref: (x, ps) => dense(x, tf.transpose(l(ps)[0]), l(ps)[1]),
      text: /denseInOutForward/,
    },
  ],
  ["wasm", "ts"],
);

// ── Activations ──────────────────────────────────────────────────────────────────────────────────────

/** A TF.js Keras activation by name (gelu, gelu_new, swish, mish, softsign, …). */
const keras = (name: string) => (x: tf.Tensor) =>
  tf.layers.activation({ activation: name as never }).apply(x) as tf.Tensor;
/** Passes x only (tf.leakyRelu(x, ps) would take the parameter record for its slope). */
const act = (ref: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => ref(x);
const wide = { inputScale: 4 };

runCases("activations", [
  { body: "relu", input: [2, 3, 4], ref: act(tf.relu), options: wide },
  // Inputs up to ±8, so that both clips (at 0 and at 6) are crossed.
  { body: "relu6", input: [2, 3, 4], ref: act(tf.relu6), options: { inputScale: 8 } },
  { body: "leaky_relu", input: [2, 3, 4], ref: act((x) => tf.leakyRelu(x, 0.01)), options: wide },
  { body: "leaky_relu(negative_slope = 0.2)", input: [2, 3, 4], ref: act((x) => tf.leakyRelu(x, 0.2)), options: wide },
  { body: "elu", input: [2, 3, 4], ref: act(tf.elu), options: wide },
  // TF.js's ELU has alpha 1 only (its layer refuses others): α·elu for x < 0 is relu(x) + α·(elu(x) − relu(x)).
  {
    body: "elu(alpha = 0.5)",
    input: [2, 3, 4],
    ref: act((x) => tf.add(tf.relu(x), tf.mul(0.5, tf.sub(tf.elu(x), tf.relu(x))))),
    options: wide,
  },
  { body: "selu", input: [2, 3, 4], ref: act(tf.selu), options: wide },
  { body: "gelu", input: [2, 3, 4], ref: act(keras("gelu")), options: wide },
  { body: "gelu(approximate = tanh)", input: [2, 3, 4], ref: act(keras("gelu_new")), options: wide },
  { body: "sigmoid", input: [2, 3, 4], ref: act(tf.sigmoid), options: wide },
  { body: "tanh", input: [2, 3, 4], ref: act(tf.tanh), options: wide },
  { body: "softplus", input: [2, 3, 4], ref: act(tf.softplus), options: wide },
  {
    // PyTorch: x where β·x > threshold, else log(1 + exp(β·x)) / β.
    body: "softplus(beta = 2, threshold = 5)",
    input: [2, 3, 4],
    // The branch mask is a constant (TF.js cannot differentiate through tf.greater).
    ref: act((x) =>
      tf.where(
        tf.tensor(
          x.dataSync().map((v) => (2 * v > 5 ? 1 : 0)),
          x.shape,
          "bool",
        ),
        x,
        tf.div(tf.softplus(tf.mul(x, 2)), 2),
      ),
    ),
    options: { inputScale: 6 },
  },
  { body: "softsign", input: [2, 3, 4], ref: act(keras("softsign")), options: wide },
  { body: "silu", input: [2, 3, 4], ref: act(keras("swish")), options: wide },
  { body: "swish", input: [2, 3, 4], needs: ["silu"], ref: act(keras("swish")), options: wide },
  { body: "mish", input: [2, 3, 4], ref: act(keras("mish")), options: wide },
  // PyTorch's Hardsigmoid is relu6(x + 3) / 6; TF.js's hardSigmoid is Keras's clip(0.2·x + 0.5, 0, 1),
  // a different function (see "the comparison can fail" below), so PyTorch's is built from tf.relu6.
  {
    body: "hard_sigmoid",
    input: [2, 3, 4],
    ref: act((x) => tf.div(tf.relu6(tf.add(x, 3)), 6)),
    options: { inputScale: 5 },
  },
  { body: "prelu as l", input: [2, 3, 4], ref: (x, ps) => tf.prelu(x, ps["l.weight"]!), options: wide },
  {
    body: "prelu(num_parameters = 2) as l",
    input: [2, 3, 4],
    ref: (x, ps) => tf.prelu(x, tf.reshape(ps["l.weight"]!, [2, 1, 1])),
    options: wide,
  },
  {
    body: "prelu(num_parameters = 5) as l",
    input: [5, 6],
    ref: (x, ps) => tf.prelu(x, tf.reshape(ps["l.weight"]!, [5, 1])),
    options: wide,
  },
  { body: "softmax", input: [7], ref: act((x) => tf.softmax(x)), options: wide },
  { body: "softmax", input: [2, 3, 4], ref: act((x) => tf.softmax(x)), options: wide },
  { body: "softmax(axis = 0)", input: [2, 3, 4], ref: (x) => alongAxis(x, 1, (t) => tf.softmax(t)), options: wide },
  { body: "softmax(axis = 1)", input: [2, 3, 4], ref: (x) => alongAxis(x, 2, (t) => tf.softmax(t)), options: wide },
  { body: "log_softmax", input: [7], ref: act((x) => tf.logSoftmax(x)), options: wide },
  { body: "log_softmax(axis = -1)", input: [2, 3, 4], ref: act((x) => tf.logSoftmax(x)), options: wide },
  { body: "log_softmax(axis = 0)", input: [3, 5], ref: (x) => alongAxis(x, 1, (t) => tf.logSoftmax(t)), options: wide },
  // Dropout in eval mode is the identity.
  { body: "dropout(0.3)\ntanh", input: [2, 3, 4], needs: ["dropout", "tanh"], ref: act(tf.tanh) },
]);

// ── Convolutions ─────────────────────────────────────────────────────────────────────────────────────

runCases("conv2d", [
  { body: "conv2d(4, 3) as l", input: [3, 8, 8], ref: (x, ps) => conv2d(x, ...l(ps)) },
  {
    body: "conv2d(6, 3, stride = 2, padding = 1) as l",
    input: [4, 9, 9],
    ref: (x, ps) =>
      conv2d(x, ...l(ps), {
        stride: [2, 2],
        padding: [
          [1, 1],
          [1, 1],
        ],
      }),
  },
  {
    body: "conv2d(4, [3, 2], stride = [2, 1], padding = [1, 0], bias = false) as l",
    input: [2, 7, 6],
    ref: (x, ps) =>
      conv2d(x, ...l(ps), {
        stride: [2, 1],
        padding: [
          [1, 1],
          [0, 0],
        ],
      }),
  },
  {
    body: "conv2d(4, 3, dilation = 2, padding = 2) as l",
    input: [3, 9, 9],
    ref: (x, ps) =>
      conv2d(x, ...l(ps), {
        dilation: [2, 2],
        padding: [
          [2, 2],
          [2, 2],
        ],
      }),
  },
  {
    body: "conv2d(5, 3, stride = 2, dilation = 2) as l",
    input: [2, 11, 11],
    ref: (x, ps) => conv2d(x, ...l(ps), { stride: [2, 2], dilation: [2, 2] }),
  },
  {
    body: "conv2d(6, 3, padding = 1, groups = 2) as l",
    input: [4, 6, 6],
    ref: (x, ps) =>
      conv2d(x, ...l(ps), {
        padding: [
          [1, 1],
          [1, 1],
        ],
        groups: 2,
      }),
  },
  // Depthwise (groups = channels), channel multiplier 2 and 1.
  {
    body: "conv2d(8, 3, padding = 1, groups = 4) as l",
    input: [4, 6, 6],
    ref: (x, ps) =>
      conv2d(x, ...l(ps), {
        padding: [
          [1, 1],
          [1, 1],
        ],
        groups: 4,
      }),
  },
  {
    body: "conv2d(4, 3, stride = 2, groups = 4, bias = false) as l",
    input: [4, 7, 7],
    ref: (x, ps) => conv2d(x, ...l(ps), { stride: [2, 2], groups: 4 }),
  },
  {
    body: "conv2d(4, 3, padding = same) as l",
    input: [3, 7, 7],
    ref: (x, ps) => conv2d(x, ...l(ps), { padding: [samePad(3), samePad(3)] }),
  },
  // Even kernel with `same`: PyTorch pads the smaller half first (top/left).
  {
    body: "conv2d(3, [2, 4], padding = same, dilation = [1, 2]) as l",
    input: [2, 6, 8],
    ref: (x, ps) => conv2d(x, ...l(ps), { padding: [samePad(2, 1), samePad(4, 2)], dilation: [1, 2] }),
  },
  { body: "conv2d(4, 3, padding = valid) as l", input: [3, 6, 6], ref: (x, ps) => conv2d(x, ...l(ps)) },
  { body: "conv2d(16, 1) as l", input: [8, 5, 5], ref: (x, ps) => conv2d(x, ...l(ps)) },
  {
    body: "conv2d(16, 3, padding = 1) as l",
    input: [8, 12, 12],
    ref: (x, ps) =>
      conv2d(x, ...l(ps), {
        padding: [
          [1, 1],
          [1, 1],
        ],
      }),
  },
]);

runCases("conv1d", [
  { body: "conv1d(4, 3) as l", input: [3, 10], ref: (x, ps) => conv1d(x, ...l(ps)) },
  {
    body: "conv1d(6, 5, stride = 2, padding = 2) as l",
    input: [2, 16],
    ref: (x, ps) => conv1d(x, ...l(ps), { stride: 2, padding: [2, 2] }),
  },
  {
    body: "conv1d(4, 3, dilation = 3, padding = same) as l",
    input: [3, 12],
    ref: (x, ps) => conv1d(x, ...l(ps), { dilation: 3, padding: samePad(3, 3) }),
  },
  {
    body: "conv1d(4, 4, padding = same) as l",
    input: [2, 9],
    ref: (x, ps) => conv1d(x, ...l(ps), { padding: samePad(4) }),
  },
  {
    body: "conv1d(6, 3, groups = 3, bias = false) as l",
    input: [6, 10],
    ref: (x, ps) => conv1d(x, ...l(ps), { groups: 3 }),
  },
  {
    body: "conv1d(6, 3, padding = 1, groups = 6) as l",
    input: [6, 8],
    ref: (x, ps) => conv1d(x, ...l(ps), { padding: [1, 1], groups: 6 }),
  },
  {
    body: "conv1d(4, 3, stride = 2, dilation = 2) as l",
    input: [3, 15],
    ref: (x, ps) => conv1d(x, ...l(ps), { stride: 2, dilation: 2 }),
  },
]);

runCases("conv_transpose2d", [
  { body: "conv_transpose2d(3, 3) as l", input: [4, 5, 5], ref: (x, ps) => convTranspose2d(x, ...l(ps)) },
  {
    body: "conv_transpose2d(4, 3, stride = 2, padding = 1, output_padding = 1) as l",
    input: [2, 4, 4],
    ref: (x, ps) => convTranspose2d(x, ...l(ps), { stride: [2, 2], padding: [1, 1], outputPadding: [1, 1] }),
  },
  {
    body: "conv_transpose2d(4, [3, 2], stride = [2, 1], padding = [1, 0], bias = false) as l",
    input: [3, 4, 5],
    ref: (x, ps) => convTranspose2d(x, ...l(ps), { stride: [2, 1], padding: [1, 0] }),
  },
  {
    body: "conv_transpose2d(4, 3, stride = 2, groups = 2) as l",
    input: [4, 3, 3],
    ref: (x, ps) => convTranspose2d(x, ...l(ps), { stride: [2, 2], groups: 2 }),
  },
  {
    body: "conv_transpose2d(2, 3, dilation = 2, padding = 1) as l",
    input: [3, 4, 4],
    ref: (x, ps) => convTranspose2d(x, ...l(ps), { dilation: [2, 2], padding: [1, 1] }),
  },
  // output_padding beyond padding: the extra rows and columns are bias only.
  {
    body: "conv_transpose2d(3, 2, stride = 3, output_padding = 2) as l",
    input: [2, 3, 3],
    ref: (x, ps) => convTranspose2d(x, ...l(ps), { stride: [3, 3], outputPadding: [2, 2] }),
  },
  {
    body: "conv_transpose2d(4, 4, stride = 2, padding = 1) as l",
    input: [3, 4, 4],
    ref: (x, ps) => convTranspose2d(x, ...l(ps), { stride: [2, 2], padding: [1, 1] }),
  },
]);

// ── Pooling ──────────────────────────────────────────────────────────────────────────────────────────

runCases("max_pool2d", [
  { body: "max_pool2d(2)", input: [3, 8, 8], ref: (x) => pool2d("max", x, { kernel: [2, 2] }) },
  {
    body: "max_pool2d(3, stride = 2, padding = 1)",
    input: [2, 7, 7],
    ref: (x) => pool2d("max", x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  },
  {
    body: "max_pool2d(3, stride = 2, ceil_mode = true)",
    input: [2, 8, 8],
    ref: (x) => pool2d("max", x, { kernel: [3, 3], stride: [2, 2], ceilMode: true }),
  },
  {
    body: "max_pool2d(2, stride = 1, dilation = 2)",
    input: [2, 6, 6],
    ref: (x) => pool2d("max", x, { kernel: [2, 2], stride: [1, 1], dilation: [2, 2] }),
  },
  {
    body: "max_pool2d(3, stride = 2, padding = 1, dilation = 2)",
    input: [2, 9, 9],
    ref: (x) => pool2d("max", x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [2, 2] }),
  },
  {
    body: "max_pool2d([2, 3], stride = [1, 2])",
    input: [2, 5, 7],
    ref: (x) => pool2d("max", x, { kernel: [2, 3], stride: [1, 2] }),
  },
]);

runCases("avg_pool2d", [
  { body: "avg_pool2d(2)", input: [3, 8, 8], ref: (x) => pool2d("avg", x, { kernel: [2, 2] }) },
  {
    body: "avg_pool2d(3, stride = 2, padding = 1)",
    input: [2, 7, 7],
    ref: (x) => pool2d("avg", x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  },
  {
    body: "avg_pool2d(3, stride = 2, padding = 1, count_include_pad = false)",
    input: [2, 7, 7],
    ref: (x) => pool2d("avg", x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: false }),
  },
  {
    body: "avg_pool2d(3, stride = 2, ceil_mode = true)",
    input: [2, 8, 8],
    ref: (x) => pool2d("avg", x, { kernel: [3, 3], stride: [2, 2], ceilMode: true }),
  },
  {
    body: "avg_pool2d(3, stride = 2, padding = 1, ceil_mode = true)",
    input: [2, 8, 8],
    ref: (x) => pool2d("avg", x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true }),
  },
  {
    body: "avg_pool2d(3, stride = 2, padding = 1, ceil_mode = true, count_include_pad = false)",
    input: [2, 8, 8],
    ref: (x) =>
      pool2d("avg", x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true, countIncludePad: false }),
  },
  {
    body: "avg_pool2d([2, 3], stride = [2, 1])",
    input: [2, 6, 5],
    ref: (x) => pool2d("avg", x, { kernel: [2, 3], stride: [2, 1] }),
  },
]);

runCases("max_pool1d", [
  { body: "max_pool1d(2)", input: [3, 9], ref: (x) => pool1d("max", x, { kernel: 2 }) },
  {
    body: "max_pool1d(3, stride = 2, padding = 1)",
    input: [2, 10],
    ref: (x) => pool1d("max", x, { kernel: 3, stride: 2, padding: 1 }),
  },
  {
    body: "max_pool1d(2, ceil_mode = true)",
    input: [2, 9],
    ref: (x) => pool1d("max", x, { kernel: 2, ceilMode: true }),
  },
  { body: "max_pool1d(3, dilation = 2)", input: [2, 14], ref: (x) => pool1d("max", x, { kernel: 3, dilation: 2 }) },
]);

runCases("avg_pool1d", [
  { body: "avg_pool1d(3)", input: [3, 10], ref: (x) => pool1d("avg", x, { kernel: 3 }) },
  {
    body: "avg_pool1d(3, stride = 2, padding = 1)",
    input: [2, 10],
    ref: (x) => pool1d("avg", x, { kernel: 3, stride: 2, padding: 1 }),
  },
  {
    body: "avg_pool1d(3, stride = 2, padding = 1, count_include_pad = false)",
    input: [2, 10],
    ref: (x) => pool1d("avg", x, { kernel: 3, stride: 2, padding: 1, countIncludePad: false }),
  },
  {
    body: "avg_pool1d(2, ceil_mode = true)",
    input: [2, 9],
    ref: (x) => pool1d("avg", x, { kernel: 2, ceilMode: true }),
  },
]);

runCases("global_avg_pool", [
  { body: "global_avg_pool", input: [4, 5, 6], ref: (x) => tf.mean(x, [2, 3]) },
  { body: "global_avg_pool", input: [4, 7], ref: (x) => tf.mean(x, 2) },
]);

runCases("adaptive_avg_pool", [
  { body: "adaptive_avg_pool2d(2)", input: [3, 6, 6], ref: (x) => adaptiveAvgPool(x, [2, 2]) },
  { body: "adaptive_avg_pool2d([3, 2])", input: [2, 7, 5], ref: (x) => adaptiveAvgPool(x, [3, 2]) },
  { body: "adaptive_avg_pool2d(1)", input: [3, 4, 5], ref: (x) => adaptiveAvgPool(x, [1, 1]) },
  { body: "adaptive_avg_pool1d(5)", input: [2, 10], ref: (x) => adaptiveAvgPool(x, [5]) },
  { body: "adaptive_avg_pool1d(4)", input: [3, 10], ref: (x) => adaptiveAvgPool(x, [4]) },
]);

// ── Normalization ────────────────────────────────────────────────────────────────────────────────────

/** x [n, C, …] → channel-last, for tf.batchNorm / tf.moments. */
const channelLast = (x: tf.Tensor) =>
  x.rank === 2 ? x : tf.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]);
const channelFirst = (y: tf.Tensor) =>
  y.rank === 2 ? y : tf.transpose(y, [0, y.rank - 1, ...Array.from({ length: y.rank - 2 }, (_, i) => i + 1)]);

function batchnormEval(eps: number) {
  return (x: tf.Tensor, ps: Record<string, tf.Tensor>, run: Run) => {
    const buffer = (name: string) => tf.tensor(tensorOf(run.m, run.buffersBefore, `l.${name}`, "buffers").data);
    const C = x.shape[1]!;
    const y = tf.batchNorm(
      channelLast(x),
      buffer("running_mean"),
      buffer("running_var"),
      ps["l.bias"] ?? tf.zeros([C]),
      ps["l.weight"] ?? tf.ones([C]),
      eps,
    );
    return channelFirst(y);
  };
}

function batchnormTrain(eps: number) {
  return (x: tf.Tensor, ps: Record<string, tf.Tensor>) => {
    const xc = channelLast(x);
    const { mean, variance } = tf.moments(
      xc,
      Array.from({ length: xc.rank - 1 }, (_, i) => i),
    );
    const C = x.shape[1]!;
    return channelFirst(
      tf.batchNorm(xc, mean, variance, ps["l.bias"] ?? tf.zeros([C]), ps["l.weight"] ?? tf.ones([C]), eps),
    );
  };
}

/** Running statistics after one training step: (1 − momentum)·old + momentum·batch, the variance unbiased. */
function checkRunningStats(momentum: number) {
  return (run: Run, kind: string) => {
    const xc = channelLast(tf.tensor(run.x, [run.n, ...run.m.inputShape]));
    const count = xc.size / xc.shape[xc.rank - 1]!;
    const { mean, variance } = tf.moments(
      xc,
      Array.from({ length: xc.rank - 1 }, (_, i) => i),
    );
    const m = mean.dataSync();
    const v = variance.dataSync();
    const old = (name: string) => tensorOf(run.m, run.buffersBefore, `l.${name}`, "buffers").data;
    const now = (name: string) => tensorOf(run.m, run.buffersAfter, `l.${name}`, "buffers").data;
    const rm = old("running_mean").map((r, i) => (1 - momentum) * r + momentum * m[i]!);
    const rv = old("running_var").map((r, i) => (1 - momentum) * r + momentum * v[i]! * (count / (count - 1)));
    check(kind, "other", "running_mean after a training step", now("running_mean"), rm);
    check(kind, "other", "running_var after a training step", now("running_var"), rv);
    expect(now("num_batches_tracked")[0]).toBe(1);
  };
}

/** Eval mode reads the running statistics and leaves them alone. */
const buffersUnchanged = (run: Run) => expect(Array.from(run.buffersAfter)).toEqual(Array.from(run.buffersBefore));

runCases("batchnorm", [
  { body: "batchnorm as l", input: [4, 5, 5], ref: batchnormEval(1e-5), after: buffersUnchanged },
  { body: "batchnorm as l", input: [6], ref: batchnormEval(1e-5), after: buffersUnchanged },
  { body: "batchnorm(eps = 1e-3) as l", input: [4, 7], ref: batchnormEval(1e-3), after: buffersUnchanged },
  { body: "batchnorm(affine = false) as l", input: [3, 4, 4], ref: batchnormEval(1e-5), after: buffersUnchanged },
  {
    body: "batchnorm as l",
    input: [4, 5, 5],
    ref: batchnormTrain(1e-5),
    options: { training: true },
    after: checkRunningStats(0.1),
  },
  {
    body: "batchnorm as l",
    input: [6],
    ref: batchnormTrain(1e-5),
    options: { training: true },
    after: checkRunningStats(0.1),
  },
  {
    body: "batchnorm(momentum = 0.2) as l",
    input: [4, 7],
    ref: batchnormTrain(1e-5),
    options: { training: true },
    after: checkRunningStats(0.2),
  },
  {
    body: "batchnorm(affine = false, eps = 1e-3) as l",
    input: [3, 4, 4],
    ref: batchnormTrain(1e-3),
    options: { training: true },
    after: checkRunningStats(0.1),
  },
]);

function layernorm(eps: number) {
  return (x: tf.Tensor, ps: Record<string, tf.Tensor>) => {
    const { mean, variance } = tf.moments(x, -1, true);
    let y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
    if (ps["l.weight"]) y = tf.mul(y, ps["l.weight"]);
    if (ps["l.bias"]) y = tf.add(y, ps["l.bias"]);
    return y;
  };
}

runCases("layernorm", [
  { body: "layernorm as l", input: [8], ref: layernorm(1e-5) },
  { body: "layernorm as l", input: [5, 6], ref: layernorm(1e-5) },
  { body: "layernorm(affine = false) as l", input: [7], ref: layernorm(1e-5) },
  { body: "layernorm(bias = false) as l", input: [4, 6], ref: layernorm(1e-5) },
  { body: "layernorm(eps = 1e-3) as l", input: [6], ref: layernorm(1e-3), options: { inputScale: 0.05 } },
]);

function groupnorm(groups: number, eps: number) {
  return (x: tf.Tensor, ps: Record<string, tf.Tensor>) => {
    const g = tf.reshape(x, [x.shape[0]!, groups, -1]);
    const { mean, variance } = tf.moments(g, 2, true);
    let y = tf.reshape(tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, eps))), x.shape);
    if (ps["l.weight"]) y = tf.add(tf.mul(y, perChannel(ps["l.weight"], x.rank)), perChannel(ps["l.bias"]!, x.rank));
    return y;
  };
}

runCases("groupnorm", [
  { body: "groupnorm(2) as l", input: [4, 3, 3], ref: groupnorm(2, 1e-5) },
  { body: "groupnorm(3) as l", input: [6, 5], ref: groupnorm(3, 1e-5) },
  { body: "groupnorm(1) as l", input: [4, 4, 4], ref: groupnorm(1, 1e-5) },
  { body: "groupnorm(4) as l", input: [4, 5], ref: groupnorm(4, 1e-5) },
  { body: "groupnorm(2, affine = false) as l", input: [4, 3, 3], ref: groupnorm(2, 1e-5) },
  { body: "groupnorm(2, eps = 1e-3) as l", input: [4, 2, 2], ref: groupnorm(2, 1e-3), options: { inputScale: 0.05 } },
]);

function rmsnorm(eps: number) {
  return (x: tf.Tensor, ps: Record<string, tf.Tensor>) => {
    const y = tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
    return ps["l.weight"] ? tf.mul(y, ps["l.weight"]) : y;
  };
}

// Not a TF.js layer: from tf primitives, x / √(mean(x²) + eps) · weight.
runCases("rmsnorm", [
  { body: "rmsnorm as l", input: [8], ref: rmsnorm(1e-6) },
  {
    body: "rmsnorm(eps = 1e-3, affine = false) as l",
    input: [4, 6],
    ref: rmsnorm(1e-3),
    options: { inputScale: 0.05 },
  },
]);

// ── Values: split, concat, transpose, mean, take, add, multiply ────────────────────────────────────────────

runCases("split+concat", [
  {
    body: "a, b = x -> split(2)\nu = a -> tanh\nv = b -> dense(3) as l\n[v, u] -> concat",
    input: [6],
    needs: ["split", "concat", "tanh", "dense"],
    ref: (x, ps) => {
      const [a, b] = tf.split(x, 2, 1);
      return tf.concat([dense(b!, ...l(ps)), tf.tanh(a!)], 1);
    },
  },
  {
    body: "a, b = x -> split([2, 3], axis = 0)\nu = a -> sigmoid\n[b, u] -> concat(axis = 0)",
    input: [5, 4],
    needs: ["split", "concat", "sigmoid"],
    ref: (x) => {
      const [a, b] = tf.split(x, [2, 3], 1);
      return tf.concat([b!, tf.sigmoid(a!)], 1);
    },
  },
  {
    body: "q, k, v = x -> split(3, axis = -1)\nt = q -> tanh\n[v, t, k] -> concat(axis = 0)",
    input: [2, 6],
    needs: ["split", "concat", "tanh"],
    ref: (x) => {
      const [q, k, v] = tf.split(x, 3, 2);
      return tf.concat([v!, tf.tanh(q!), k!], 1);
    },
  },
  {
    body: "a, b = x -> split([1, 3], axis = 0)\nu = a -> relu\n[u, b, a] -> concat(axis = 0)",
    input: [4, 2, 3],
    needs: ["split", "concat", "relu"],
    ref: (x) => {
      const [a, b] = tf.split(x, [1, 3], 1);
      return tf.concat([tf.relu(a!), b!, a!], 1);
    },
  },
]);

runCases("transpose", [
  { body: "transpose(0, 1)", input: [3, 4], ref: (x) => tf.transpose(x, [0, 2, 1]) },
  {
    body: "transpose(0, 2)\ntanh",
    input: [2, 3, 4],
    needs: ["transpose", "tanh"],
    ref: (x) => tf.tanh(tf.transpose(x, [0, 3, 2, 1])),
  },
  { body: "transpose(1, 2)", input: [2, 3, 4], ref: (x) => tf.transpose(x, [0, 1, 3, 2]) },
]);

runCases("mean", [
  { body: "mean", input: [4, 6], ref: (x) => tf.mean(x, 1) },
  { body: "mean(axis = -1)", input: [2, 3, 4], ref: (x) => tf.mean(x, 3) },
  { body: "mean(axis = 1)", input: [2, 3, 4], ref: (x) => tf.mean(x, 2) },
  {
    body: "transpose(0, 1)\ndense(3) as l\nmean(axis = 0)",
    input: [4, 5],
    needs: ["transpose", "dense", "mean"],
    ref: (x, ps) => tf.mean(dense(tf.transpose(x, [0, 2, 1]), ...l(ps)), 1),
  },
]);

// Kinds whose output is the input's memory: the output may be the input buffer itself.
runCases("flatten/reshape/identity", [
  { body: "identity", input: [2, 3], ref: (x) => x },
  { body: "flatten", input: [2, 3, 4], ref: (x) => tf.reshape(x, [3, 24]) },
  { body: "flatten(start = 1)", input: [2, 3, 4], ref: (x) => tf.reshape(x, [3, 2, 12]) },
  {
    body: "reshape([4, 6])\nsoftmax",
    input: [24],
    needs: ["reshape", "softmax"],
    ref: (x) => tf.softmax(tf.reshape(x, [3, 4, 6])),
  },
]);

runCases("take", [
  { body: "take(0)", input: [5, 4], ref: (x) => tf.squeeze(tf.slice(x, [0, 0, 0], [3, 1, 4]), [1]) },
  { body: "take(2, axis = -1)", input: [2, 3, 4], ref: (x) => tf.gather(x, 2, 3) },
  {
    body: "take(-1, axis = 1)\ntanh",
    input: [2, 3, 4],
    needs: ["take", "tanh"],
    ref: (x) => tf.tanh(tf.gather(x, 2, 2)),
  },
]);

runCases("add+mul", [
  {
    body: "residual {\ndense(6) as l\ntanh\n}",
    input: [6],
    needs: ["add", "dense", "tanh"],
    ref: (x, ps) => tf.add(x, tf.tanh(dense(x, ...l(ps)))),
  },
  {
    body: "a = x -> dense(5) as fa\nb = x -> dense(5) as fb -> tanh\na + b",
    input: [4],
    needs: ["add", "dense", "tanh"],
    ref: (x, ps) => tf.add(dense(x, ...l(ps, "fa")), tf.tanh(dense(x, ...l(ps, "fb")))),
  },
  {
    body: "gate = x -> dense(6, bias = false) as gate_proj -> silu\nup = x -> dense(6, bias = false) as up_proj\ngate * up -> dense(4, bias = false) as down_proj",
    input: [5],
    needs: ["mul", "dense", "silu"],
    ref: (x, ps) => {
      const gate = keras("swish")(dense(x, ps["gate_proj.weight"]!));
      return dense(tf.mul(gate, dense(x, ps["up_proj.weight"]!)), ps["down_proj.weight"]!);
    },
  },
  { body: "t = x -> sigmoid\nx * t", input: [2, 5], needs: ["mul", "sigmoid"], ref: (x) => tf.mul(x, tf.sigmoid(x)) },
]);

// ── Losses: values, their gradients, and the gradients they drive through backward ──────────────────

describe("losses", () => {
  const n = 3;

  /** Loss and gradient of the generated function vs TF.js, then backward(loss gradient) vs TF.js's
   *  gradients of loss(model(x)). */
  async function lossCase(
    kind: string,
    body: string,
    needs: readonly string[],
    model: (x: tf.Tensor, ps: Record<string, tf.Tensor>) => tf.Tensor,
    generated: (m: Generated, y: Float32Array, g: Float32Array) => number,
    tfLoss: (y: tf.Tensor) => tf.Scalar,
  ): Promise<void> {
    const run = await runGenerated(`model M(x: f32[5]) {\n${body}\n}\n`, { n, seed: 11 });
    const g = new Float32Array(run.y.length);
    const value = generated(run.m, run.y, g);
    const ref = tf.tidy(() => {
      const yT = tf.tensor(run.y, [n, run.m.outputSize]);
      const [gy] = tf.grads((y: tf.Tensor) => tfLoss(y))([yT]);
      return { value: tfLoss(yT).dataSync()[0]!, g: gy!.dataSync() as Float32Array };
    });
    check(kind, "forward", `${kind}: loss value`, [value], [ref.value]);
    check(kind, "other", `${kind}: gradient of the loss`, g, ref.g);
    // Through the model: backward(loss gradient) against TF.js's gradients of loss(model(x)).
    const gp = new Float32Array(run.m.paramCount);
    const gx = Float32Array.from(run.m.backward(run.p as never, g as never, gp as never));
    const names = run.m.params.map((t) => t.name);
    const full = tf.tidy(() => {
      const xT = tf.tensor(run.x, [n, 5]);
      const pT = names.map((name) => {
        const t = tensorOf(run.m, run.p, name);
        return tf.tensor(t.data, t.shape);
      });
      const grads = tf.grads((...args: tf.Tensor[]) => {
        const ps: Record<string, tf.Tensor> = {};
        names.forEach((name, i) => (ps[name] = args[i + 1]!));
        return tfLoss(model(args[0]!, ps));
      })([xT, ...pT]);
      return grads.map((t) => t.dataSync() as Float32Array);
    });
    check(kind, "input", `${kind}: input gradient through the model`, gx, full[0]!);
    run.m.params.forEach((t, i) =>
      check(
        kind,
        "params",
        `${kind}: gradient of ${t.name} through the model`,
        gp.subarray(t.offset, t.offset + t.size),
        full[i + 1]!,
      ),
    );
    const row = worst.get(kind)!;
    row.cases += 1;
  }

  const rand = (seed: number, count: number, f: (r: number) => number) => {
    let s = seed >>> 0;
    return Float32Array.from({ length: count }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return f(s / 4294967296);
    });
  };

  it("mse: mseLoss against tf.losses.meanSquaredError", async () => {
    const target = rand(5, n * 4, (r) => 2 * r - 1);
    await lossCase(
      "mse",
      "dense(4) as l",
      ["dense"],
      (x, ps) => dense(x, ...l(ps)),
      (m, y, g) => m.mseLoss(y, target, n, g),
      (y) => tf.losses.meanSquaredError(tf.tensor(target, [n, 4]), y) as tf.Scalar,
    );
  });

  it("cross entropy: crossEntropyLoss against tf.losses.softmaxCrossEntropy", async () => {
    const targets = [2, 0, 5];
    await lossCase(
      "cross_entropy",
      "dense(6) as l",
      ["dense"],
      (x, ps) => dense(x, ...l(ps)),
      (m, y, g) => m.crossEntropyLoss(y, targets, n, g),
      (y) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets, "int32"), 6), y) as tf.Scalar,
    );
  });

  it("binary cross entropy on probabilities: against tf.losses.logLoss (epsilon 0)", async () => {
    const target = rand(9, n * 4, (r) => (r < 0.5 ? 0 : 1));
    await lossCase(
      "binary_cross_entropy",
      "dense(4) as l\nsigmoid",
      ["dense", "sigmoid"],
      (x, ps) => tf.sigmoid(dense(x, ...l(ps))),
      (m, y, g) => m.binaryCrossEntropyLoss(y, target, n, g),
      (y) => tf.losses.logLoss(tf.tensor(target, [n, 4]), y, undefined, 0) as tf.Scalar,
    );
  });

  it("binary cross entropy on probabilities, soft targets", async () => {
    const target = rand(3, n * 4, (r) => r);
    await lossCase(
      "binary_cross_entropy",
      "dense(4) as l\nsigmoid",
      ["dense", "sigmoid"],
      (x, ps) => tf.sigmoid(dense(x, ...l(ps))),
      (m, y, g) => m.binaryCrossEntropyLoss(y, target, n, g),
      (y) => tf.losses.logLoss(tf.tensor(target, [n, 4]), y, undefined, 0) as tf.Scalar,
    );
  });

  it("binary cross entropy on logits: against tf.losses.sigmoidCrossEntropy", async () => {
    const target = rand(4, n * 4, (r) => (r < 0.5 ? 0 : 1));
    await lossCase(
      "binary_cross_entropy_logits",
      "dense(4) as l",
      ["dense"],
      (x, ps) => dense(x, ...l(ps)),
      (m, y, g) => m.binaryCrossEntropyLoss(y, target, n, g, true),
      (y) => tf.losses.sigmoidCrossEntropy(tf.tensor(target, [n, 4]), y) as tf.Scalar,
    );
  });
});

// ── Negative controls: the comparison notices real differences ───────────────────────────────────────

describe("the comparison can fail", () => {
  it("dense against a reference that forgets to transpose the weight", async () => {
    const run = await runGenerated(spec({ body: "dense(4) as l", input: [4], ref: () => tf.scalar(0) }));
    const ref = tfForwardBackward(run, (x, ps) => tf.add(tf.matMul(x, ps["l.weight"]!), ps["l.bias"]!));
    expect(relError(run.y, ref.y)).toBeGreaterThan(1e-2);
  });

  it("leaky_relu(0.01) against a slope of 0.0101", async () => {
    const run = await runGenerated(spec({ body: "leaky_relu", input: [8], ref: () => tf.scalar(0) }), {
      inputScale: 4,
    });
    const ref = tfForwardBackward(run, (x) => tf.leakyRelu(x, 0.0101));
    expect(relError(run.y, ref.y)).toBeGreaterThan(TOL);
    expect(relError(run.gx, ref.gx)).toBeGreaterThan(TOL);
  });

  it("TF.js's hardSigmoid (Keras: clip(0.2x + 0.5)) is not PyTorch's Hardsigmoid (relu6(x + 3) / 6)", async () => {
    const run = await runGenerated(spec({ body: "hard_sigmoid", input: [8], ref: () => tf.scalar(0) }), {
      inputScale: 4,
    });
    const ref = tfForwardBackward(run, keras("hardSigmoid"));
    expect(relError(run.y, ref.y)).toBeGreaterThan(1e-2);
  });
});

// ── Volumes and upsampling (issue 14) ───────────────────────────────────────────────────────────────

runCases("conv3d", [
  // 2 output channels: the direct loops; 6: im2col and the shared matrix kernel.
  { body: "conv3d(2, 3) as l", input: [2, 4, 5, 5], ref: (x, ps) => conv3d(x, ...l(ps)) },
  {
    body: "conv3d(6, 3, padding = 1) as l",
    input: [3, 4, 4, 5],
    ref: (x, ps) => conv3d(x, ...l(ps), { padding: [1, 1, 1] }),
    text: /im2col/,
  },
  {
    body: "conv3d(4, [2, 3, 2], stride = [1, 2, 2], padding = [1, 0, 1], bias = false) as l",
    input: [2, 4, 6, 5],
    ref: (x, ps) => conv3d(x, ...l(ps), { stride: [1, 2, 2], padding: [1, 0, 1] }),
  },
]);

runCases("max_pool3d", [
  { body: "max_pool3d(2)", input: [2, 4, 4, 6], ref: (x) => pool3d("max", x, { kernel: [2, 2, 2] }) },
  {
    body: "max_pool3d(3, stride = 2, padding = 1)",
    input: [2, 5, 5, 4],
    ref: (x) => pool3d("max", x, { kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1] }),
  },
]);

runCases("avg_pool3d", [
  { body: "avg_pool3d(2)", input: [2, 4, 4, 6], ref: (x) => pool3d("avg", x, { kernel: [2, 2, 2] }) },
  {
    body: "avg_pool3d([3, 2, 3], stride = [2, 1, 2], padding = [1, 0, 1])",
    input: [2, 5, 4, 5],
    ref: (x) => pool3d("avg", x, { kernel: [3, 2, 3], stride: [2, 1, 2], padding: [1, 0, 1] }),
  },
  {
    body: "avg_pool3d(3, stride = 2, padding = 1, count_include_pad = false)",
    input: [2, 5, 5, 4],
    ref: (x) => pool3d("avg", x, { kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], countIncludePad: false }),
  },
]);

runCases("adaptive_avg_pool3d", [
  { body: "adaptive_avg_pool3d([2, 3, 2])", input: [2, 5, 4, 5], ref: (x) => adaptiveAvgPool(x, [2, 3, 2]) },
]);

// Square inputs and outputs only: TF.js 4's resize gradients swap height and width (ResizeBilinearGrad
// refuses a [3, 4] input: "the gradient of input 'images' has shape '3,4,3,2', which does not match the shape
// of the input '3,3,4,2'"), and its nearest-neighbour gradient is wrong whenever the batch or the channels are
// more than 1 (its forward agrees everywhere): so nearest is compared on one sample of one channel. The other
// shapes are checked against PyTorch (test/codegen-volume.test.ts).
runCases("upsample", [
  {
    body: "upsample(scale_factor = 2)",
    input: [1, 4, 4],
    ref: (x) => resize2d(x, [8, 8], "nearest"),
    options: { n: 1 },
  },
  {
    body: "upsample(scale_factor = 3)",
    input: [1, 3, 3],
    ref: (x) => resize2d(x, [9, 9], "nearest"),
    options: { n: 1 },
  },
  {
    body: "upsample(size = [7, 7], mode = bilinear, align_corners = true)",
    input: [2, 4, 4],
    ref: (x) => resize2d(x, [7, 7], "bilinear-align-corners"),
  },
  {
    body: "upsample(scale_factor = 2, mode = bilinear, align_corners = true)",
    input: [2, 3, 3],
    ref: (x) => resize2d(x, [6, 6], "bilinear-align-corners"),
  },
]);
