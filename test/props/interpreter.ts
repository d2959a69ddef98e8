// A naive interpreter of nnc's expanded graph (the IR ops the code generator consumes): plain float64
// loops, one op at a time, written from PyTorch's documented definition of each op (torch.nn docs:
// Linear, Conv1d/Conv2d, MaxPool/AvgPool/AdaptiveAvgPool, LayerNorm, RMSNorm, BatchNorm (eval),
// GroupNorm, InstanceNorm, the activation pages, Softmax/LogSoftmax, Embedding, PixelShuffle, Flatten) and
// the language reference (grammar/README.md, "Vocabulary": defaults, axes, `positional`, `class_token`). It
// shares nothing with src/emit/kernels: no code, no helper, no default read from the registry (defaults
// are the documented ones, written here). Slow on purpose; for small specs only.
//
// Evaluation (inference) semantics: dropout is the identity, BatchNorm with running statistics uses them;
// BatchNorm without (`track_running_stats = false`) uses the batch's statistics, as PyTorch does in eval.
import type { CheckedModel } from "../../src/program/check.js";

/** The expanded analysis (typed through the checker's result: the one place this file names the IR). */
export type Analysis = CheckedModel["analysis"];
export type Op = Analysis["ops"][number];
type ArgVal = Op["args"] extends ReadonlyMap<string, infer V> ? V : never;

/** Op kinds this interpreter runs (the property test requires every one of them to be generated). */
export const interpretedKinds = [
  "dense",
  "conv1d",
  "conv2d",
  "max_pool1d",
  "max_pool2d",
  "avg_pool1d",
  "avg_pool2d",
  "adaptive_avg_pool1d",
  "adaptive_avg_pool2d",
  "global_avg_pool",
  "flatten",
  "transpose",
  "pixel_shuffle",
  "embedding",
  "positional",
  "class_token",
  "layernorm",
  "rmsnorm",
  "batchnorm",
  "groupnorm",
  "instancenorm",
  "dropout",
  "relu",
  "relu6",
  "leaky_relu",
  "prelu",
  "elu",
  "selu",
  "gelu",
  "silu",
  "mish",
  "sigmoid",
  "hard_sigmoid",
  "hardswish",
  "tanh",
  "softplus",
  "softsign",
  "softmax",
  "log_softmax",
  "identity",
  "add",
] as const;

export class Unsupported extends Error {}

/** Tensors by full name (`3.weight`), as the module's manifest names them; tied names map to their target's
 *  values. Buffers likewise (`running_mean`, `running_var`). */
export type Tensors = ReadonlyMap<string, Float64Array>;

interface Val {
  readonly dims: readonly number[];
  /** n samples, batch-major. */
  readonly data: Float64Array;
}

const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

function arg(op: Op, name: string): ArgVal | undefined {
  return op.args.get(name);
}
function int(op: Op, name: string, fallback?: number): number {
  const v = arg(op, name);
  if (v?.kind === "int") return Number(v.value);
  if (v?.kind === "list" && v.items.length === 1 && v.items[0]!.kind === "int") return Number(v.items[0]!.value);
  if (v === undefined && fallback !== undefined) return fallback;
  throw new Unsupported(
    `${op.kind}: argument \`${name}\` = ${JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? String(x) : x))}`,
  );
}
function dec(op: Op, name: string, fallback: number): number {
  const v = arg(op, name);
  if (v?.kind === "decimal") return v.value;
  if (v?.kind === "int") return Number(v.value);
  if (v === undefined) return fallback;
  throw new Unsupported(`${op.kind}: argument \`${name}\``);
}
function bool(op: Op, name: string, fallback: boolean): boolean {
  const v = arg(op, name);
  if (v?.kind === "bool") return v.value;
  if (v === undefined) return fallback;
  throw new Unsupported(`${op.kind}: argument \`${name}\``);
}
function enumName(op: Op, name: string, fallback: string): string {
  const v = arg(op, name);
  if (v?.kind === "name") return v.value;
  if (v === undefined) return fallback;
  throw new Unsupported(`${op.kind}: argument \`${name}\``);
}

// ── scalar functions (PyTorch's documented definitions) ─────────────────────────────────────────────────

/** erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (Abramowitz & Stegun 7.1.6): every term
 *  positive, so no cancellation; |x| ≥ 6 gives ±1 to within 2e-17. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** Softplus(β, threshold): x where βx > threshold, else log(1 + exp(βx)) / β (torch.nn.Softplus). */
const softplus = (x: number, beta: number, threshold: number) =>
  beta * x > threshold ? x : Math.log1p(Math.exp(beta * x)) / beta;
const relu6 = (x: number) => Math.min(Math.max(x, 0), 6);
/** SELU's constants, from torch.nn.SELU's documentation (Klambauer et al. 2017). */
const seluAlpha = 1.6732632423543772848170429916717;
const seluScale = 1.0507009873554804934193349852946;

function elementwise(op: Op): ((x: number) => number) | undefined {
  switch (op.kind) {
    case "relu":
      return (x) => Math.max(x, 0);
    case "relu6":
      return relu6;
    case "leaky_relu": {
      const s = dec(op, "negative_slope", 0.01);
      return (x) => (x >= 0 ? x : s * x);
    }
    case "elu": {
      const a = dec(op, "alpha", 1);
      return (x) => (x > 0 ? x : a * (Math.exp(x) - 1));
    }
    case "selu":
      return (x) => seluScale * (x > 0 ? x : seluAlpha * (Math.exp(x) - 1));
    case "gelu":
      return enumName(op, "approximate", "none") === "tanh"
        ? (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
        : (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "silu":
      return (x) => x * sigmoid(x);
    case "mish":
      return (x) => x * Math.tanh(softplus(x, 1, 20));
    case "sigmoid":
      return sigmoid;
    case "hard_sigmoid":
      return (x) => relu6(x + 3) / 6;
    case "hardswish":
      return (x) => (x * relu6(x + 3)) / 6;
    case "tanh":
      return Math.tanh;
    case "softplus": {
      const beta = dec(op, "beta", 1);
      const threshold = dec(op, "threshold", 20);
      return (x) => softplus(x, beta, threshold);
    }
    case "softsign":
      return (x) => x / (1 + Math.abs(x));
    case "identity":
    case "dropout":
      return (x) => x;
    default:
      return undefined;
  }
}

// ── the interpreter ─────────────────────────────────────────────────────────────────────────────────────

export interface RunOptions {
  readonly weights: Tensors;
  readonly buffers: Tensors;
  /** Elementwise functions to use instead of the documented ones, by kind: only for showing that the
   *  property fails on a wrong definition (test/props.test.ts). */
  readonly replace?: Readonly<Record<string, (x: number) => number>>;
}

/** Runs the expanded graph on `inputs` (one batch-major array per model input, token ids as numbers) and
 *  returns the outputs, batch-major. Throws `Unsupported` for an op kind or option it does not know. */
export function interpret(a: Analysis, inputs: readonly Float64Array[], n: number, o: RunOptions): Float64Array[] {
  const vals = new Map<number, Val>();
  const dimsOf = (id: number) => a.values[id]!.shape.map(Number);
  a.inputIds.forEach((id, i) => vals.set(id, { dims: dimsOf(id), data: inputs[i]! }));
  for (const op of a.ops) {
    const xs = op.inputs.map((id) => {
      const v = vals.get(id);
      if (!v) throw new Error(`value ${id} read before it is made (${op.kind} ${op.name})`);
      return v;
    });
    const outDims = op.outputs.map(dimsOf);
    const ys = runOp(op, xs, outDims, n, o);
    op.outputs.forEach((id, i) => {
      const y = ys[i]!;
      if (y.data.length !== n * prod(outDims[i]!))
        throw new Error(`${op.kind} ${op.name}: interpreter made ${y.dims} for [${outDims[i]}]`);
      vals.set(id, y);
    });
  }
  return a.outputIds.map((id) => vals.get(id)!.data);
}

function runOp(op: Op, xs: readonly Val[], outDims: readonly (readonly number[])[], n: number, o: RunOptions): Val[] {
  const x = xs[0]!;
  const D = x.dims;
  const S = prod(D);
  /** A parameter or buffer of this op by its local name (`weight`, `running_mean`). */
  const w = (local: string): Float64Array => {
    const full = op.name === "" ? local : `${op.name}.${local}`;
    const t = o.weights.get(full) ?? o.buffers.get(full);
    if (!t) throw new Error(`${op.kind} ${op.name}: no tensor \`${full}\``);
    return t;
  };
  const has = (local: string) => op.tensors.some((t) => t.name === (op.name === "" ? local : `${op.name}.${local}`));
  const out = (dims: readonly number[]) => ({ dims, data: new Float64Array(n * prod(dims)) });
  const f = o.replace?.[op.kind] ?? elementwise(op);
  if (f) {
    const y = out(D);
    for (let i = 0; i < y.data.length; i++) y.data[i] = f(x.data[i]!);
    return [y];
  }
  switch (op.kind) {
    case "add":
    case "mul": {
      const b = xs[1]!;
      if (prod(b.dims) !== S) throw new Unsupported(`${op.kind} with broadcasting`);
      const y = out(D);
      for (let i = 0; i < y.data.length; i++)
        y.data[i] = op.kind === "add" ? x.data[i]! + b.data[i]! : x.data[i]! * b.data[i]!;
      return [y];
    }
    case "flatten": {
      return [{ dims: outDims[0]!, data: x.data.slice() }];
    }
    case "transpose": {
      const r = D.length;
      const ax = (k: number) => (k < 0 ? k + r : k);
      const A = ax(int(op, "a"));
      const B = ax(int(op, "b"));
      const od = D.slice();
      od[A] = D[B]!;
      od[B] = D[A]!;
      const y = out(od);
      const strides = D.map((_, i) => prod(D.slice(i + 1)));
      const ostr = od.map((_, i) => prod(od.slice(i + 1)));
      const idx = new Array<number>(r).fill(0);
      for (let b = 0; b < n; b++)
        for (let e = 0; e < S; e++) {
          let rem = e;
          for (let i = 0; i < r; i++) {
            idx[i] = Math.floor(rem / strides[i]!);
            rem %= strides[i]!;
          }
          [idx[A], idx[B]] = [idx[B]!, idx[A]!];
          let t = 0;
          for (let i = 0; i < r; i++) t += idx[i]! * ostr[i]!;
          y.data[b * S + t] = x.data[b * S + e]!;
        }
      return [y];
    }
    case "pixel_shuffle": {
      // out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w] (torch.nn.PixelShuffle).
      const r = int(op, "upscale_factor");
      const [C, H, W] = D as [number, number, number];
      const Co = C / (r * r);
      const y = out([Co, H * r, W * r]);
      for (let b = 0; b < n; b++)
        for (let c = 0; c < Co; c++)
          for (let h = 0; h < H; h++)
            for (let ww = 0; ww < W; ww++)
              for (let i = 0; i < r; i++)
                for (let j = 0; j < r; j++)
                  y.data[b * S + (c * H * r + h * r + i) * W * r + ww * r + j] =
                    x.data[b * S + ((c * r * r + i * r + j) * H + h) * W + ww]!;
      return [y];
    }
    case "dense": {
      // y = x Wᵀ + b on the last axis (torch.nn.Linear); W is [out, in].
      const K = D[D.length - 1]!;
      const N = outDims[0]![outDims[0]!.length - 1]!;
      const rows = (n * S) / K;
      const W = w("weight");
      const bias = has("bias") ? w("bias") : undefined;
      const y = out([...D.slice(0, -1), N]);
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < N; j++) {
          let s = bias ? bias[j]! : 0;
          for (let k = 0; k < K; k++) s += x.data[r * K + k]! * W[j * K + k]!;
          y.data[r * N + j] = s;
        }
      return [y];
    }
    case "conv1d":
    case "conv2d": {
      // out[o, p] = b[o] + Σ_{c ∈ group(o), k} W[o, c, k] · in[g·Cin/G + c, p·stride − pad + k·dil]
      // (torch.nn.Conv1d/Conv2d, zero padding).
      const two = op.kind === "conv2d";
      const [C, H, W] = two ? (D as [number, number, number]) : [D[0]!, 1, D[1]!];
      const Co = int(op, "out");
      const k = int(op, "kernel");
      const st = int(op, "stride", 1);
      const pad = int(op, "padding", 0);
      const dil = int(op, "dilation", 1);
      const G = int(op, "groups", 1);
      const kh = two ? k : 1;
      const sth = two ? st : 1;
      const padh = two ? pad : 0;
      const Ho = two ? Math.floor((H + 2 * pad - dil * (k - 1) - 1) / st) + 1 : 1;
      const Wo = Math.floor((W + 2 * pad - dil * (k - 1) - 1) / st) + 1;
      const Wt = w("weight");
      const bias = has("bias") ? w("bias") : undefined;
      const y = out(two ? [Co, Ho, Wo] : [Co, Wo]);
      const cg = C / G;
      const og = Co / G;
      const So = Co * Ho * Wo;
      for (let b = 0; b < n; b++)
        for (let oc = 0; oc < Co; oc++) {
          const g = Math.floor(oc / og);
          for (let oh = 0; oh < Ho; oh++)
            for (let ow = 0; ow < Wo; ow++) {
              let s = bias ? bias[oc]! : 0;
              for (let c = 0; c < cg; c++)
                for (let i = 0; i < kh; i++)
                  for (let j = 0; j < k; j++) {
                    const ih = oh * sth - padh + i * dil;
                    const iw = ow * st - pad + j * dil;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    s += Wt[((oc * cg + c) * kh + i) * k + j]! * x.data[b * S + ((g * cg + c) * H + ih) * W + iw]!;
                  }
              y.data[b * So + (oc * Ho + oh) * Wo + ow] = s;
            }
        }
      return [y];
    }
    case "max_pool1d":
    case "max_pool2d":
    case "avg_pool1d":
    case "avg_pool2d": {
      const two = op.kind.endsWith("2d");
      const isMax = op.kind.startsWith("max");
      const [C, H, W] = two ? (D as [number, number, number]) : [D[0]!, 1, D[1]!];
      const k = int(op, "kernel");
      const st = int(op, "stride", k);
      const pad = int(op, "padding", 0);
      const dil = isMax ? int(op, "dilation", 1) : 1;
      const ceil = bool(op, "ceil_mode", false);
      const countPad = bool(op, "count_include_pad", true);
      // Output length (torch.nn.MaxPool1d/AvgPool1d "Shape"): floor or ceil of
      // (L + 2·pad − dil·(k − 1) − 1)/stride + 1, less one when ceil mode's last window starts past the
      // input and its left padding.
      const len = (L: number) => {
        const span = L + 2 * pad - dil * (k - 1) - 1;
        let q = (ceil ? Math.ceil(span / st) : Math.floor(span / st)) + 1;
        if (ceil && (q - 1) * st >= L + pad) q--;
        return q;
      };
      const Ho = two ? len(H) : 1;
      const Wo = len(W);
      const kh = two ? k : 1;
      const padh = two ? pad : 0;
      const sth = two ? st : 1;
      const y = out(two ? [C, Ho, Wo] : [C, Wo]);
      const So = C * Ho * Wo;
      for (let b = 0; b < n; b++)
        for (let c = 0; c < C; c++)
          for (let oh = 0; oh < Ho; oh++)
            for (let ow = 0; ow < Wo; ow++) {
              let v: number;
              if (isMax) {
                v = -Infinity;
                for (let i = 0; i < kh; i++)
                  for (let j = 0; j < k; j++) {
                    const ih = oh * sth - padh + i * dil;
                    const iw = ow * st - pad + j * dil;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    v = Math.max(v, x.data[b * S + (c * H + ih) * W + iw]!);
                  }
              } else {
                // AvgPool: the window clipped to the padded input gives count_include_pad's divisor, the
                // window clipped to the input the other (PyTorch's avg_pool2d definition).
                const h0 = oh * sth - padh;
                const w0 = ow * st - pad;
                const h1 = Math.min(h0 + kh, H + padh);
                const w1 = Math.min(w0 + k, W + pad);
                const padded = (h1 - h0) * (w1 - w0);
                const hs = Math.max(h0, 0);
                const ws = Math.max(w0, 0);
                const he = Math.min(h1, H);
                const we = Math.min(w1, W);
                let s = 0;
                for (let ih = hs; ih < he; ih++)
                  for (let iw = ws; iw < we; iw++) s += x.data[b * S + (c * H + ih) * W + iw]!;
                v = s / (countPad ? padded : (he - hs) * (we - ws));
              }
              y.data[b * So + (c * Ho + oh) * Wo + ow] = v;
            }
      return [y];
    }
    case "adaptive_avg_pool1d":
    case "adaptive_avg_pool2d": {
      // Cell i of O over L spans [⌊i·L/O⌋, ⌈(i+1)·L/O⌉) (torch.nn.AdaptiveAvgPool).
      const two = op.kind.endsWith("2d");
      const [C, H, W] = two ? (D as [number, number, number]) : [D[0]!, 1, D[1]!];
      const size = int(op, "size");
      const Ho = two ? size : 1;
      const Wo = size;
      const y = out(two ? [C, Ho, Wo] : [C, Wo]);
      const So = C * Ho * Wo;
      for (let b = 0; b < n; b++)
        for (let c = 0; c < C; c++)
          for (let oh = 0; oh < Ho; oh++)
            for (let ow = 0; ow < Wo; ow++) {
              const hs = Math.floor((oh * H) / Ho);
              const he = Math.ceil(((oh + 1) * H) / Ho);
              const ws = Math.floor((ow * W) / Wo);
              const we = Math.ceil(((ow + 1) * W) / Wo);
              let s = 0;
              for (let ih = hs; ih < he; ih++)
                for (let iw = ws; iw < we; iw++) s += x.data[b * S + (c * H + ih) * W + iw]!;
              y.data[b * So + (c * Ho + oh) * Wo + ow] = s / ((he - hs) * (we - ws));
            }
      return [y];
    }
    case "global_avg_pool": {
      const C = D[0]!;
      const P = S / C;
      const y = out([C]);
      for (let b = 0; b < n; b++)
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let i = 0; i < P; i++) s += x.data[b * S + c * P + i]!;
          y.data[b * C + c] = s / P;
        }
      return [y];
    }
    case "embedding": {
      const dim = int(op, "dim");
      const Wt = w("weight");
      const y = out([...D, dim]);
      for (let t = 0; t < n * S; t++) {
        const id = x.data[t]!;
        for (let j = 0; j < dim; j++) y.data[t * dim + j] = Wt[id * dim + j]!;
      }
      return [y];
    }
    case "positional": {
      // x + P[t] for the T positions of the value (P is [max, dim]).
      const P = w("weight");
      const y = out(D);
      for (let b = 0; b < n; b++) for (let e = 0; e < S; e++) y.data[b * S + e] = x.data[b * S + e]! + P[e]!;
      return [y];
    }
    case "class_token": {
      const [T, dim] = D as [number, number];
      const cls = w("weight");
      const So = (T + 1) * dim;
      const y = out([T + 1, dim]);
      for (let b = 0; b < n; b++) {
        for (let j = 0; j < dim; j++) y.data[b * So + j] = cls[j]!;
        for (let e = 0; e < S; e++) y.data[b * So + dim + e] = x.data[b * S + e]!;
      }
      return [y];
    }
    case "softmax":
    case "log_softmax": {
      const r = D.length;
      let axis = int(op, "axis", -1);
      if (axis < 0) axis += r;
      const L = D[axis]!;
      const inner = prod(D.slice(axis + 1));
      const outer = (n * S) / (L * inner);
      const y = out(D);
      for (let a = 0; a < outer; a++)
        for (let i = 0; i < inner; i++) {
          const at = (l: number) => a * L * inner + l * inner + i;
          let m = -Infinity;
          for (let l = 0; l < L; l++) m = Math.max(m, x.data[at(l)]!);
          let z = 0;
          for (let l = 0; l < L; l++) z += Math.exp(x.data[at(l)]! - m);
          for (let l = 0; l < L; l++)
            y.data[at(l)] = op.kind === "softmax" ? Math.exp(x.data[at(l)]! - m) / z : x.data[at(l)]! - m - Math.log(z);
        }
      return [y];
    }
    case "prelu": {
      // max(0, x) + a·min(0, x), one slope or one per channel (axis 0).
      const a = w("weight");
      const per = a.length > 1;
      const inner = S / D[0]!;
      const y = out(D);
      for (let b = 0; b < n; b++)
        for (let e = 0; e < S; e++) {
          const v = x.data[b * S + e]!;
          const slope = per ? a[Math.floor(e / inner)]! : a[0]!;
          y.data[b * S + e] = v >= 0 ? v : slope * v;
        }
      return [y];
    }
    case "layernorm":
    case "rmsnorm": {
      // LayerNorm: (x − mean)/√(var + eps)·γ + β over the last axis, biased variance; RMSNorm:
      // x/√(mean(x²) + eps)·γ.
      const rms = op.kind === "rmsnorm";
      const eps = dec(op, "eps", rms ? 1e-6 : 1e-5);
      const K = D[D.length - 1]!;
      const g = has("weight") ? w("weight") : undefined;
      const be = has("bias") ? w("bias") : undefined;
      const y = out(D);
      for (let r = 0; r < (n * S) / K; r++) {
        let mean = 0;
        if (!rms) {
          for (let k = 0; k < K; k++) mean += x.data[r * K + k]!;
          mean /= K;
        }
        let v = 0;
        for (let k = 0; k < K; k++) v += (x.data[r * K + k]! - mean) ** 2;
        v /= K;
        const inv = 1 / Math.sqrt(v + eps);
        for (let k = 0; k < K; k++)
          y.data[r * K + k] = (x.data[r * K + k]! - mean) * inv * (g ? g[k]! : 1) + (be ? be[k]! : 0);
      }
      return [y];
    }
    case "batchnorm":
    case "groupnorm":
    case "instancenorm": {
      const C = D[0]!;
      const P = S / C;
      const eps = dec(op, "eps", 1e-5);
      const g = has("weight") ? w("weight") : undefined;
      const be = has("bias") ? w("bias") : undefined;
      const y = out(D);
      const affine = (c: number, v: number) => v * (g ? g[c]! : 1) + (be ? be[c]! : 0);
      if (op.kind === "batchnorm") {
        // Eval: (x − running_mean)/√(running_var + eps); without running statistics the batch's own
        // (biased) statistics per channel over batch and positions.
        const tracked = has("running_mean");
        for (let c = 0; c < C; c++) {
          let mean: number;
          let v: number;
          if (tracked) {
            mean = w("running_mean")[c]!;
            v = w("running_var")[c]!;
          } else {
            mean = 0;
            for (let b = 0; b < n; b++) for (let p = 0; p < P; p++) mean += x.data[b * S + c * P + p]!;
            mean /= n * P;
            v = 0;
            for (let b = 0; b < n; b++) for (let p = 0; p < P; p++) v += (x.data[b * S + c * P + p]! - mean) ** 2;
            v /= n * P;
          }
          const inv = 1 / Math.sqrt(v + eps);
          for (let b = 0; b < n; b++)
            for (let p = 0; p < P; p++)
              y.data[b * S + c * P + p] = affine(c, (x.data[b * S + c * P + p]! - mean) * inv);
        }
        return [y];
      }
      // GroupNorm (InstanceNorm = one group per channel): per sample and group, biased statistics over the
      // group's channels and positions, then a per-channel affine.
      const G = op.kind === "instancenorm" ? C : int(op, "groups");
      const cg = C / G;
      for (let b = 0; b < n; b++)
        for (let gi = 0; gi < G; gi++) {
          const base = b * S + gi * cg * P;
          const m = cg * P;
          let mean = 0;
          for (let e = 0; e < m; e++) mean += x.data[base + e]!;
          mean /= m;
          let v = 0;
          for (let e = 0; e < m; e++) v += (x.data[base + e]! - mean) ** 2;
          v /= m;
          const inv = 1 / Math.sqrt(v + eps);
          for (let e = 0; e < m; e++)
            y.data[base + e] = affine(gi * cg + Math.floor(e / P), (x.data[base + e]! - mean) * inv);
        }
      return [y];
    }
    default:
      throw new Unsupported(`op kind \`${op.kind}\``);
  }
}
