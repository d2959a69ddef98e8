// Elementwise activations: one forward formula and one gradient rule per kind, side by side. In the
// gradient rule `x` is the input, `y` the output and `g` the output's gradient; the rule gives the input's
// gradient. PyTorch's definitions throughout.
import type { ArgReader, EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import { lit, resolvedInt } from "../kernel.js";
import type { EmittedKind } from "../../vocabulary/registry.js";
import { type UnaryFunction, isOutputGradient } from "../wasm/math.js";

interface Rule {
  /** y from x. */
  forward: (a: ArgReader) => string;
  /** dL/dx from x, y, g. */
  backward: (a: ArgReader) => string;
}

const SELU_LAMBDA = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

export const activationRules = {
  relu: { forward: () => "x > 0 ? x : 0", backward: () => "x > 0 ? g : 0" },
  // PyTorch's ReLU6 is hardtanh(x, 0, 6): its gradient passes only strictly inside (0, 6).
  relu6: { forward: () => "x <= 0 ? 0 : x >= 6 ? 6 : x", backward: () => "x > 0 && x < 6 ? g : 0" },
  leaky_relu: {
    forward: (a) => `x > 0 ? x : ${lit(a.decimal("negative_slope"))} * x`,
    backward: (a) => `x > 0 ? g : ${lit(a.decimal("negative_slope"))} * g`,
  },
  elu: {
    forward: (a) => `x > 0 ? x : ${lit(a.decimal("alpha"))} * Math.expm1(x)`,
    backward: (a) => `x > 0 ? g : g * (y + ${lit(a.decimal("alpha"))})`,
  },
  selu: {
    forward: () => `x > 0 ? ${SELU_LAMBDA} * x : ${SELU_LAMBDA * SELU_ALPHA} * Math.expm1(x)`,
    backward: () => `x > 0 ? ${SELU_LAMBDA} * g : g * (y + ${SELU_LAMBDA * SELU_ALPHA})`,
  },
  gelu: {
    forward: (a) =>
      a.name("approximate") === "tanh"
        ? // 0.5·x·(1 + tanh u) = x·σ(2u), u = √(2/π)(x + 0.044715x³): the same function through one exp, which
          // V8 computes faster than tanh, and without tanh's cancellation near −1 for negative x
          "x / (1 + Math.exp(-1.5957691216057308 * (x + 0.044715 * x * x * x)))"
        : "0.5 * x * (1 + erf(x * 0.7071067811865476))",
    backward: (a) =>
      a.name("approximate") === "tanh"
        ? "gelu_tanh_grad(x) * g"
        : "(0.5 * (1 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x)) * g",
  },
  silu: { forward: () => "x / (1 + Math.exp(-x))", backward: () => "silu_grad(x) * g" },
  mish: { forward: () => "x * Math.tanh(softplus1(x))", backward: () => "mish_grad(x) * g" },
  sigmoid: { forward: () => "1 / (1 + Math.exp(-x))", backward: () => "g * y * (1 - y)" },
  // PyTorch's hardsigmoid_backward: g / 6 strictly inside (−3, 3), 0 elsewhere.
  hard_sigmoid: {
    forward: () => "x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5",
    backward: () => "x > -3 && x < 3 ? g / 6 : 0",
  },
  // PyTorch's hardswish_backward: 0 below −3, (x / 3 + 1/2) · g on [−3, 3] (both kinks included: −g/2 at −3,
  // 3g/2 at 3, as its scalar CPU and its CUDA kernels; its vectorized CPU path gives g at 3), g above 3.
  hardswish: {
    forward: () => "x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6",
    backward: () => "x < -3 ? 0 : x <= 3 ? g * (x / 3 + 0.5) : g",
  },
  tanh: { forward: () => "Math.tanh(x)", backward: () => "g * (1 - y * y)" },
  softplus: {
    forward: (a) => {
      const beta = lit(a.decimal("beta"));
      // log(1 + e^(βx)) = max(βx, 0) + log(1 + e^(−|βx|)): no overflow when the threshold lets βx pass 709
      // (PyTorch's `log1p(exp(βx))` is infinite there; softplus(beta = 1000, threshold = 1000) at x = 1).
      return `${beta} * x > ${lit(a.decimal("threshold"))} ? x : (Math.max(${beta} * x, 0) + Math.log1p(Math.exp(-Math.abs(${beta} * x)))) / ${beta}`;
    },
    backward: (a) => {
      const beta = lit(a.decimal("beta"));
      return `${beta} * x > ${lit(a.decimal("threshold"))} ? g : g / (1 + Math.exp(-${beta} * x))`;
    },
  },
  softsign: { forward: () => "x / (1 + Math.abs(x))", backward: () => "g / ((1 + Math.abs(x)) * (1 + Math.abs(x)))" },
  // PyTorch's abs_backward is g · sign(x), and sign(0) = 0: no gradient passes at 0.
  abs: { forward: () => "Math.abs(x)", backward: () => "x > 0 ? g : x < 0 ? -g : 0" },
  dropout: { forward: () => "x", backward: () => "g" },
} satisfies Readonly<Partial<Record<EmittedKind, Rule>>>;

type RuleKind = keyof typeof activationRules;

/** Helpers some rules call; the assembler includes the ones a module uses. */
export const activationHelpers: Readonly<Record<string, string>> = {
  erf: `/** erf to about 1e-15: its Taylor series below 2.5, a continued fraction for erfc above. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let k = 1; k < 100; k++) {
      term *= -x2 / k;
      const next = term / (2 * k + 1);
      sum += next;
      if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
    }
    return 1.1283791670955126 * sum;
  }
  // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))), evaluated from the tail.
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (a + f);
  const erfc = Math.exp(-a * a) / 1.7724538509055159 / (a + f);
  return x > 0 ? 1 - erfc : erfc - 1;
}`,
  gelu_tanh_grad: `/** d/dx of the tanh approximation of GELU. */
function gelu_tanh_grad(x: number): number {
  // with s = σ(2u) = (1 + tanh u) / 2: d/dx x·s = s + 2·x·s·(1 − s)·u'
  const s = 1 / (1 + Math.exp(-1.5957691216057308 * (x + 0.044715 * x * x * x)));
  return s + 1.5957691216057308 * x * s * (1 - s) * (1 + 0.134145 * x * x);
}`,
  silu_grad: `/** d/dx of x · sigmoid(x). */
function silu_grad(x: number): number {
  const s = 1 / (1 + Math.exp(-x));
  return s * (1 + x * (1 - s));
}`,
  softplus1: `/** log(1 + eˣ), without overflow. */
function softplus1(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}`,
  mish_grad: `/** d/dx of x · tanh(softplus(x)). */
function mish_grad(x: number): number {
  const t = Math.tanh(softplus1(x));
  return t + x * (1 - t * t) / (1 + Math.exp(-x));
}`,
};

/** Which helpers a formula needs (including helpers used by helpers). */
export function helpersUsed(code: string): string[] {
  const used = new Set<string>();
  const visit = (text: string) => {
    for (const name of Object.keys(activationHelpers)) {
      if (!used.has(name) && new RegExp(`\\b${name}\\(`).test(text)) {
        used.add(name);
        visit(activationHelpers[name]!);
      }
    }
  };
  visit(code);
  return [...used].sort();
}

/** Values per sample from which an activation with a SIMD kernel (wasm/math.ts) runs it: measured on an AMD
 *  EPYC (Node 20), tanh over 16 values took 160–250 ns through the kernel against 230–370 ns in the loop, over
 *  8 values 120–190 ns against 110–180 ns. */
const UNARY_MIN_VALUES = 16;

/** The SIMD kernel (wasm/math.ts) of an activation, if it has one: its exp-based kinds. */
function unaryFunction(kind: RuleKind, args: ArgReader): UnaryFunction | undefined {
  if (kind === "tanh" || kind === "sigmoid" || kind === "silu") return kind;
  if (kind === "gelu" && args.name("approximate") === "tanh") return "gelu_tanh";
  return undefined;
}

function elementwise(kind: RuleKind): Kernel {
  const rule: Rule = activationRules[kind];
  return {
    forward(c: EmitCtx) {
      const x = c.x[0]!;
      const y = c.y[0]!;
      const size = c.inSizes[0]!;
      const fn = size >= UNARY_MIN_VALUES ? unaryFunction(kind, c.args) : undefined;
      const k = fn !== undefined ? c.wasmUnary?.(fn) : undefined;
      const simd =
        k === undefined
          ? ""
          : `, WebAssembly SIMD when the parameters live in its memory (float32, within 1 ulp: src/emit/wasm/math.ts)
if (arena) wasmUnary(arena, ${k}, ${x}, ${y}, n * ${size});
else {`;
      return `// ${c.op.name}: ${kind}${simd}
for (let i = 0, e = n * ${size}; i < e; i++) {
  const x = ${x}[i]!;
  ${y}[i] = ${rule.forward(c.args)};
}${simd ? "\n}" : ""}`;
    },
    backward(c: EmitCtx) {
      const body = rule.backward(c.args);
      const usesX = /\bx\b/.test(body);
      const usesY = /\by\b/.test(body);
      const size = c.inSizes[0]!;
      const assign = c.claimInputGrad(0);
      // SiLU's and GELU's gradients take x; tanh's and sigmoid's take the output y
      const fn = size >= UNARY_MIN_VALUES ? unaryFunction(kind, c.args) : undefined;
      const k = fn !== undefined ? c.wasmUnaryGrad?.(fn, !assign) : undefined;
      const input = fn !== undefined && isOutputGradient(fn) ? c.y[0] : c.x[0];
      const simd =
        k === undefined
          ? ""
          : `, WebAssembly SIMD when the parameters live in its memory (src/emit/wasm/math.ts)
if (arena) wasmUnaryGrad(arena, ${k}, ${input}, ${c.gy[0]}, ${c.gx[0]}, n * ${size}, ${!assign});
else {`;
      return `// ${c.op.name}: ${kind} backward${simd}
for (let i = 0, e = n * ${size}; i < e; i++) {
  ${usesX ? `const x = ${c.x[0]}[i]!;` : ""}
  ${usesY ? `const y = ${c.y[0]}[i]!;` : ""}
  const g = ${c.gy[0]}[i]!;
  ${c.gx[0]}[i]${assign ? " =" : "! +="} ${body};
}${simd ? "\n}" : ""}`;
    },
  };
}

/** Dropout: identity when not training; in training, an inverted-dropout mask drawn from the module's
 *  seeded generator and kept for the backward pass. */
function dropout(): Kernel {
  return {
    forward(c) {
      const p = c.args.decimal("p");
      // The mask is kept for the backward pass (not in an inference build, which has none).
      const mask = c.inference ? "" : c.scratch("mask", c.inSizes[0]!);
      const keep = 1 - p;
      return `// ${c.op.name}: dropout(p = ${lit(p)})
if (training && ${p} > 0) {
  for (let i = 0, e = n * ${c.inSizes[0]}; i < e; i++) {
    const m = ${keep <= 0 ? "0" : `random() < ${lit(keep)} ? ${lit(1 / keep)} : 0`};${mask ? `\n    ${mask}[i] = m;` : ""}
    ${c.y[0]}[i] = ${c.x[0]}[i]! * m;
  }
} else {
  for (let i = 0, e = n * ${c.inSizes[0]}; i < e; i++) { ${mask ? `${mask}[i] = 1; ` : ""}${c.y[0]}[i] = ${c.x[0]}[i]!; }
}`;
    },
    backward(c) {
      const mask = c.scratch("mask", c.inSizes[0]!);
      return `// ${c.op.name}: dropout backward
for (let i = 0, e = n * ${c.inSizes[0]}; i < e; i++) ${c.gx[0]}[i]! += ${c.gy[0]}[i]! * ${mask}[i]!;`;
    },
  };
}

/** Stochastic depth (torchvision.ops.stochastic_depth): identity when not training; in training one draw
 *  per sample (`row`) or per call (`batch`) from the module's seeded generator keeps the sample with
 *  probability 1 − p, scaled by 1/(1 − p) (left 0 when p = 1), and the factor is kept for the backward pass. */
function dropPath(): Kernel {
  return {
    forward(c) {
      const p = c.args.decimal("p");
      const row = c.args.name("mode") !== "batch";
      const size = c.inSizes[0]!;
      const mask = c.inference ? "" : c.scratch("mask", 1);
      const keep = 1 - p;
      const draw = keep <= 0 ? "0" : `random() < ${lit(keep)} ? ${lit(1 / keep)} : 0`;
      const keepMask = mask
        ? `
    ${mask}[b] = m;`
        : "";
      return `// ${c.op.name}: drop_path(p = ${lit(p)}, mode = ${row ? "row" : "batch"})
if (training && ${p} > 0) {${
        row
          ? ""
          : `
  const m = ${draw};`
      }
  for (let b = 0; b < n; b++) {${
    row
      ? `
    const m = ${draw};`
      : ""
  }${keepMask}
    for (let i = b * ${size}, e = i + ${size}; i < e; i++) ${c.y[0]}[i] = ${c.x[0]}[i]! * m;
  }
} else {
  ${
    mask
      ? `${mask}.fill(1, 0, n);
  `
      : ""
  }for (let i = 0, e = n * ${size}; i < e; i++) ${c.y[0]}[i] = ${c.x[0]}[i]!;
}`;
    },
    backward(c) {
      const mask = c.scratch("mask", 1);
      const size = c.inSizes[0]!;
      return `// ${c.op.name}: drop_path backward
for (let b = 0; b < n; b++) {
  const m = ${mask}[b]!;
  for (let i = b * ${size}, e = i + ${size}; i < e; i++) ${c.gx[0]}[i]! += ${c.gy[0]}[i]! * m;
}`;
    },
  };
}

/** PReLU: a learned slope, one shared or one per channel (axis 0 of the per-sample shape). */
const prelu: Kernel = {
  forward(c) {
    const count = c.args.int("num_parameters");
    const W = c.param("weight");
    const size = c.inSizes[0]!;
    const per = count === 1 ? size : size / count;
    const slope = count === 1 ? `p[${W}]!` : `p[${W} + Math.floor((i % ${size}) / ${per})]!`;
    return `// ${c.op.name}: prelu
for (let i = 0, e = n * ${size}; i < e; i++) {
  const x = ${c.x[0]}[i]!;
  ${c.y[0]}[i] = x > 0 ? x : ${slope} * x;
}`;
  },
  backward(c) {
    const count = c.args.int("num_parameters");
    const W = c.param("weight");
    const size = c.inSizes[0]!;
    const per = count === 1 ? size : size / count;
    const k = count === 1 ? `${W}` : `${W} + Math.floor((i % ${size}) / ${per})`;
    return `// ${c.op.name}: prelu backward
for (let i = 0, e = n * ${size}; i < e; i++) {
  const x = ${c.x[0]}[i]!;
  const g = ${c.gy[0]}[i]!;
  if (x > 0) ${c.gx[0]}[i]! += g;
  else { const k = ${k}; ${c.gx[0]}[i]! += p[k]! * g; gp[k]! += g * x; }
}`;
  },
};

/** Softmax and log-softmax along one axis, numerically stable (the maximum is subtracted first). */
function softmaxLike(log: boolean): Kernel {
  const geometry = (c: EmitCtx) => {
    const shape = c.inShapes[0]!;
    const axis = resolvedInt(c.op, "axis"); // from 0 (src/vocabulary/kinds/activation.ts)
    const len = shape[axis]!;
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = c.inSizes[0]! / (len * inner);
    return { len, inner, outer };
  };
  return {
    forward(c) {
      const { len, inner, outer } = geometry(c);
      const x = c.x[0]!;
      const y = c.y[0]!;
      return `// ${c.op.name}: ${log ? "log_softmax" : "softmax"} over ${len} positions
for (let o = 0, e = n * ${outer}; o < e; o++) {
  for (let j = 0; j < ${inner}; j++) {
    const base = o * ${len * inner} + j;
    let m = -Infinity;
    for (let k = 0; k < ${len}; k++) m = Math.max(m, ${x}[base + k * ${inner}]!);
    let s = 0;
    for (let k = 0; k < ${len}; k++) s += Math.exp(${x}[base + k * ${inner}]! - m);
    ${log ? "const l = m + Math.log(s);" : "const r = 1 / s;"}
    for (let k = 0; k < ${len}; k++) {
      const i = base + k * ${inner};
      ${y}[i] = ${log ? `${x}[i]! - l` : `Math.exp(${x}[i]! - m) * r`};
    }
  }
}`;
    },
    backward(c) {
      const { len, inner, outer } = geometry(c);
      const y = c.y[0]!;
      const gy = c.gy[0]!;
      const gx = c.gx[0]!;
      return `// ${c.op.name}: ${log ? "log_softmax" : "softmax"} backward
for (let o = 0, e = n * ${outer}; o < e; o++) {
  for (let j = 0; j < ${inner}; j++) {
    const base = o * ${len * inner} + j;
    let s = 0;
    for (let k = 0; k < ${len}; k++) { const i = base + k * ${inner}; s += ${gy}[i]!${log ? "" : ` * ${y}[i]!`}; }
    for (let k = 0; k < ${len}; k++) {
      const i = base + k * ${inner};
      ${gx}[i]! += ${log ? `${gy}[i]! - Math.exp(${y}[i]!) * s` : `${y}[i]! * (${gy}[i]! - s)`};
    }
  }
}`;
    },
  };
}

const ruleKinds = (Object.keys(activationRules) as RuleKind[]).filter(
  (k): k is Exclude<RuleKind, "dropout"> => k !== "dropout",
);

export const activationKernels = {
  ...(Object.fromEntries(ruleKinds.map((k) => [k, elementwise(k)])) as Record<(typeof ruleKinds)[number], Kernel>),
  dropout: dropout(),
  drop_path: dropPath(),
  prelu,
  softmax: softmaxLike(false),
  log_softmax: softmaxLike(true),
} satisfies KernelFamily;
