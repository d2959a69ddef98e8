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
  "parameter",
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
  "sub",
  "mul",
  "abs",
  "reshape",
  "mean",
  "take",
  "split",
  "concat",
  "conv_transpose2d",
  "rotary",
  "attention",
  "rnn",
  "lstm",
  "gru",
  "moe_combine",
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
/** SELU's constants, from torch.nn.SELU's documentation (Klambauer et al. 2017: α = 1.6732632423543772848…,
 *  λ = 1.0507009873554804934…), to double precision. */
const seluAlpha = 1.6732632423543772;
const seluScale = 1.0507009873554805;

function elementwise(op: Op): ((x: number) => number) | undefined {
  switch (op.kind) {
    case "relu":
      return (x) => Math.max(x, 0);
    case "abs":
      return Math.abs;
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
  /** Training mode: BatchNorm normalizes with the batch's statistics (dropout is not interpreted). */
  readonly training?: boolean;
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
  /** A parameter or buffer of this op by its local name (`weight`, `running_mean`); an op that applies an
   *  instance again (`share`, `op.reuses`) reads the instance's. */
  const owner = op.reuses ?? op.name;
  const w = (local: string): Float64Array => {
    const full = owner === "" ? local : `${owner}.${local}`;
    const t = o.weights.get(full) ?? o.buffers.get(full);
    if (!t) throw new Error(`${op.kind} ${op.name}: no tensor \`${full}\``);
    return t;
  };
  const has = (local: string) => op.tensors.some((t) => t.name === (owner === "" ? local : `${owner}.${local}`));
  const out = (dims: readonly number[]) => ({ dims, data: new Float64Array(n * prod(dims)) });
  const f = o.replace?.[op.kind] ?? elementwise(op);
  if (f) {
    const y = out(D);
    for (let i = 0; i < y.data.length; i++) y.data[i] = f(x.data[i]!);
    return [y];
  }
  switch (op.kind) {
    case "add":
    case "sub":
    case "mul": {
      // NumPy's broadcasting on per-sample shapes, element by element: each output index read from each
      // operand at the same index along its own axes (aligned from the last), 0 where its size is 1.
      const b = xs[1]!;
      const dims = outDims[0]!;
      const y = out(dims);
      const per = prod(dims);
      const at = (t: { dims: readonly number[] }, j: number) => {
        let k = 0;
        let rest = j;
        let stride = 1;
        for (let ax = dims.length - 1, tx = t.dims.length - 1; ax >= 0; ax--, tx--) {
          const i = rest % dims[ax]!;
          rest = Math.floor(rest / dims[ax]!);
          if (tx >= 0) {
            if (t.dims[tx]! !== 1) k += i * stride;
            stride *= t.dims[tx]!;
          }
        }
        return k;
      };
      const combine = {
        add: (p: number, q: number) => p + q,
        sub: (p: number, q: number) => p - q,
        mul: (p: number, q: number) => p * q,
      }[op.kind];
      for (let s0 = 0; s0 < n; s0++)
        for (let j = 0; j < per; j++)
          y.data[s0 * per + j] = combine(x.data[s0 * prod(x.dims) + at(x, j)]!, b.data[s0 * prod(b.dims) + at(b, j)]!);
      return [y];
    }
    case "flatten":
    case "reshape": {
      return [{ dims: outDims[0]!, data: x.data.slice() }];
    }
    case "mean":
    case "take": {
      // mean: the average over an axis; take: position `index` of an axis; either drops the axis.
      const r = D.length;
      let axis = int(op, "axis", 0);
      if (axis < 0) axis += r;
      const L = D[axis]!;
      const inner = prod(D.slice(axis + 1));
      const outer = (n * S) / (L * inner);
      const index = op.kind === "take" ? int(op, "index") : 0;
      const y = out([...D.slice(0, axis), ...D.slice(axis + 1)]);
      for (let a = 0; a < outer; a++)
        for (let i = 0; i < inner; i++) {
          let v = 0;
          if (op.kind === "take") v = x.data[(a * L + index) * inner + i]!;
          else {
            for (let l = 0; l < L; l++) v += x.data[(a * L + l) * inner + i]!;
            v /= L;
          }
          y.data[a * inner + i] = v;
        }
      return [y];
    }
    case "split":
    case "concat": {
      // split: equal parts along an axis (default −1); concat: the inputs joined along an axis (default 0).
      const r = D.length;
      let axis = int(op, "axis", op.kind === "split" ? -1 : 0);
      if (axis < 0) axis += r;
      const parts = op.kind === "split" ? outDims : xs.map((v) => v.dims);
      const whole = op.kind === "split" ? D : outDims[0]!;
      const inner = prod(whole.slice(axis + 1));
      const outer = prod(whole.slice(0, axis));
      const Lw = whole[axis]!;
      const arrays = parts.map((d) => new Float64Array(n * prod(d)));
      const wholeData = op.kind === "split" ? x.data : new Float64Array(n * prod(whole));
      for (let b = 0; b < n; b++)
        for (let a = 0; a < outer; a++) {
          let at = 0;
          parts.forEach((d, pi) => {
            const L = d[axis]!;
            const src = op.kind === "split" ? arrays[pi]! : xs[pi]!.data;
            const per = prod(d);
            for (let l = 0; l < L; l++)
              for (let i = 0; i < inner; i++) {
                const wi = b * prod(whole) + (a * Lw + at + l) * inner + i;
                const pi2 = b * per + (a * L + l) * inner + i;
                if (op.kind === "split") src[pi2] = wholeData[wi]!;
                else wholeData[wi] = src[pi2]!;
              }
            at += L;
          });
        }
      return op.kind === "split"
        ? parts.map((d, i) => ({ dims: d, data: arrays[i]! }))
        : [{ dims: whole, data: wholeData }];
    }
    case "conv_transpose2d": {
      // torch.nn.ConvTranspose2d: every input element scatters W[ic, oc, i, j]·x into
      // out[g·Cout/G + oc, ih·stride − pad + i·dil, iw·stride − pad + j·dil]; W is [Cin, Cout/G, k, k].
      const [C, H, W] = D as [number, number, number];
      const Co = int(op, "out");
      const k = int(op, "kernel");
      const st = int(op, "stride", 1);
      const pad = int(op, "padding", 0);
      const opad = int(op, "output_padding", 0);
      const dil = int(op, "dilation", 1);
      const G = int(op, "groups", 1);
      const Ho = (H - 1) * st - 2 * pad + dil * (k - 1) + opad + 1;
      const Wo = (W - 1) * st - 2 * pad + dil * (k - 1) + opad + 1;
      const Wt = w("weight");
      const bias = has("bias") ? w("bias") : undefined;
      const y = out([Co, Ho, Wo]);
      const So = Co * Ho * Wo;
      const cg = C / G;
      const og = Co / G;
      for (let b = 0; b < n; b++) {
        for (let oc = 0; oc < Co; oc++)
          for (let e = 0; e < Ho * Wo; e++) y.data[b * So + oc * Ho * Wo + e] = bias ? bias[oc]! : 0;
        for (let ic = 0; ic < C; ic++) {
          const g = Math.floor(ic / cg);
          for (let ih = 0; ih < H; ih++)
            for (let iw = 0; iw < W; iw++) {
              const v = x.data[b * S + (ic * H + ih) * W + iw]!;
              for (let o2 = 0; o2 < og; o2++)
                for (let i = 0; i < k; i++)
                  for (let j = 0; j < k; j++) {
                    const oh = ih * st - pad + i * dil;
                    const ow = iw * st - pad + j * dil;
                    if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                    y.data[b * So + ((g * og + o2) * Ho + oh) * Wo + ow]! += v * Wt[((ic * og + o2) * k + i) * k + j]!;
                  }
            }
        }
      }
      return [y];
    }
    case "rotary": {
      const [T, Dm] = D as [number, number];
      const y = { dims: D, data: x.data.slice() };
      for (let b = 0; b < n; b++)
        for (let t = 0; t < T; t++) rope(y.data, b * S + t * Dm, Dm, t, dec(op, "theta", 10_000));
      return [y];
    }
    case "attention":
      return [attention(op, x, xs[1] ?? x, xs[2] ?? xs[1] ?? x, n, w, has)];
    case "rnn":
    case "lstm":
    case "gru":
      return [recurrent(op, x, n, w, has)];
    case "moe_combine": {
      // Mixtral's routing, per position: softmax of the router's logits, the top_k experts, their
      // probabilities divided by their sum, Σ p_e · expert_e(x).
      const E = int(op, "experts");
      const K = int(op, "top_k");
      const logits = x;
      const experts = xs.slice(1);
      const Dm = outDims[0]![outDims[0]!.length - 1]!;
      const So = prod(outDims[0]!);
      const y = out(outDims[0]!);
      const rows = (n * So) / Dm;
      for (let r = 0; r < rows; r++) {
        const l = Array.from({ length: E }, (_, e) => logits.data[r * E + e]!);
        const m = Math.max(...l);
        const z = l.reduce((acc, v) => acc + Math.exp(v - m), 0);
        const pr = l.map((v) => Math.exp(v - m) / z);
        const top = pr
          .map((v, e) => [v, e] as const)
          .sort((p1, p2) => p2[0] - p1[0] || p1[1] - p2[1])
          .slice(0, K);
        const sum = top.reduce((acc, [v]) => acc + v, 0);
        for (let j = 0; j < Dm; j++) {
          let v = 0;
          for (const [pe, e] of top) v += (pe / sum) * experts[e]!.data[r * Dm + j]!;
          y.data[r * Dm + j] = v;
        }
      }
      return [y];
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
      // (torch.nn.Conv1d/Conv2d; outside the input, zero or as `padding_mode` says).
      const two = op.kind === "conv2d";
      const [C, H, W] = two ? (D as [number, number, number]) : [D[0]!, 1, D[1]!];
      const Co = int(op, "out");
      const k = int(op, "kernel");
      const st = int(op, "stride", 1);
      const dil = int(op, "dilation", 1);
      const G = int(op, "groups", 1);
      // Padding: a number on both sides; `valid` none; `same` (stride 1) dil·(k − 1) in all, ⌊half⌋ before
      // and the rest after (torch.nn.Conv2d, padding='same').
      const word = arg(op, "padding")?.kind === "name" ? enumName(op, "padding", "") : undefined;
      const total = word === "same" ? dil * (k - 1) : word === "valid" ? 0 : 2 * int(op, "padding", 0);
      const pad = word === "same" ? Math.floor(total / 2) : total / 2;
      const kh = two ? k : 1;
      const sth = two ? st : 1;
      const padh = two ? pad : 0;
      const Ho = two ? Math.floor((H + total - dil * (k - 1) - 1) / st) + 1 : 1;
      const Wo = Math.floor((W + total - dil * (k - 1) - 1) / st) + 1;
      // `padding_mode`: the element a padded position reads (−1: a zero), as torch.nn.functional.pad.
      const mode = enumName(op, "padding_mode", "zeros");
      const at = (i: number, L: number): number =>
        i >= 0 && i < L
          ? i
          : mode === "reflect"
            ? i < 0
              ? -i
              : 2 * (L - 1) - i
            : mode === "replicate"
              ? Math.min(L - 1, Math.max(0, i))
              : mode === "circular"
                ? (i + L) % L
                : -1;
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
                    const ih = at(oh * sth - padh + i * dil, H);
                    const iw = at(ow * st - pad + j * dil, W);
                    if (ih < 0 || iw < 0) continue;
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
    case "parameter": {
      // The learned tensor itself for every sample; the input is not read. Bare: named by the op alone.
      const W = o.weights.get(op.tensors[0]!.name)!;
      const dims = outDims[0]!;
      const size = prod(dims);
      const y = out(dims);
      for (let b = 0; b < n; b++) y.data.set(W.subarray(0, size), b * size);
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
        // Eval: (x − running_mean)/√(running_var + eps); in training, or without running statistics, the
        // batch's own (biased) statistics per channel over batch and positions.
        const tracked = has("running_mean") && o.training !== true;
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

/** Rotary position encoding of one vector of width `width` at position `t`, in place: HF's
 *  `LlamaRotaryEmbedding` / `rotate_half` (the README's reference): pairs (i, i + width/2) rotated by
 *  t·θ^(−2i/width). */
function rope(a: Float64Array, at: number, width: number, t: number, theta: number): void {
  const half = width / 2;
  for (let i = 0; i < half; i++) {
    const angle = t * theta ** ((-2 * i) / width);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const u = a[at + i]!;
    const v = a[at + i + half]!;
    a[at + i] = u * c - v * s;
    a[at + i + half] = v * c + u * s;
  }
}

/** y[t] = x[t] Wᵀ + b for rows of width K (`rows` of them) into width N. */
function linear(
  x: Float64Array,
  x0: number,
  rows: number,
  K: number,
  W: Float64Array,
  b: Float64Array | undefined,
  N: number,
): Float64Array {
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < N; j++) {
      let s = b ? b[j]! : 0;
      for (let k = 0; k < K; k++) s += x[x0 + r * K + k]! * W[j * K + k]!;
      y[r * N + j] = s;
    }
  return y;
}

/** Multi-head attention (torch.nn.MultiheadAttention's definition, with grouped-query heads as HF's
 *  `repeat_kv`: query head h reads key/value head ⌊h / (heads / kv_heads)⌋): q from x, k and v from the
 *  memory (x itself for self-attention; `mha(x, memory, memory)`: its own length), projections (fused:
 *  one matrix whose rows are q, then k, then v), optional rotary q and k per head, softmax(q·kᵀ/√hd)
 *  (causal: keys after the query masked), the heads side by side, then the output projection; add_bias_kv
 *  appends bias_k and bias_v as one more key and value (F.multi_head_attention_forward). */
function attention(
  op: Op,
  x: Val,
  memory: Val,
  values: Val,
  n: number,
  w: (local: string) => Float64Array,
  has: (local: string) => boolean,
): Val {
  const [T, Dm] = x.dims as [number, number];
  const H = int(op, "heads");
  const KV = int(op, "kv_heads", H);
  const hd = int(op, "head_dim", Dm / H);
  const causal = bool(op, "causal", false);
  const ropeOn = bool(op, "rope", false);
  const theta = dec(op, "rope_theta", 10_000);
  const Q = H * hd;
  const Kw = KV * hd;
  const S = T * Dm;
  // add_bias_kv: bias_k and bias_v one more key and value after the memory's (or x's) positions.
  const biasKv = bool(op, "add_bias_kv", false);
  const L = memory.dims[0]! + (biasKv ? 1 : 0);
  const y = new Float64Array(n * S);
  for (let b = 0; b < n; b++) {
    let q: Float64Array, k: Float64Array, v: Float64Array;
    // Keys and values of their own widths (kdim, vdim): three weights, and the fused bias if any.
    const Ek = memory.dims[1]!;
    const Ev = values.dims[1]!;
    if (has("qkv_proj.weight")) {
      const fused = (src: Val, rows: number) =>
        linear(
          src.data,
          b * rows * Dm,
          rows,
          Dm,
          w("qkv_proj.weight"),
          has("qkv_proj.bias") ? w("qkv_proj.bias") : undefined,
          Q + 2 * Kw,
        );
      const all = fused(x, T);
      const mem = fused(memory, memory.dims[0]!);
      const cols = (from: number, width: number, a: Float64Array, rows: number) => {
        const r = new Float64Array(rows * width);
        for (let t = 0; t < rows; t++)
          for (let j = 0; j < width; j++) r[t * width + j] = a[t * (Q + 2 * Kw) + from + j]!;
        return r;
      };
      q = cols(0, Q, all, T);
      k = cols(Q, Kw, mem, memory.dims[0]!);
      v = cols(Q + Kw, Kw, mem, memory.dims[0]!);
    } else {
      const fusedBias = has("qkv_proj.bias") ? w("qkv_proj.bias") : undefined;
      const proj = (name: string, N: number, src: Val, rows: number, E: number, first: number) =>
        linear(
          src.data,
          b * rows * E,
          rows,
          E,
          w(`${name}.weight`),
          has(`${name}.bias`) ? w(`${name}.bias`) : fusedBias?.subarray(first, first + N),
          N,
        );
      q = proj("q_proj", Q, x, T, Dm, 0);
      k = proj("k_proj", Kw, memory, memory.dims[0]!, Ek, Q);
      v = proj("v_proj", Kw, values, memory.dims[0]!, Ev, Q + Kw);
    }
    if (biasKv) {
      const append = (a: Float64Array, row: Float64Array) => {
        const r = new Float64Array(a.length + Kw);
        r.set(a);
        r.set(row, a.length);
        return r;
      };
      k = append(k, w("bias_k"));
      v = append(v, w("bias_v"));
    }
    if (ropeOn)
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H; h++) rope(q, t * Q + h * hd, hd, t, theta);
        for (let h = 0; h < KV; h++) rope(k, t * Kw + h * hd, hd, t, theta);
      }
    const o = new Float64Array(T * Q);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s2 = 0; s2 < L; s2++) {
          if (causal && s2 > t) break;
          let dot = 0;
          for (let j = 0; j < hd; j++) dot += q[t * Q + h * hd + j]! * k[s2 * Kw + g * hd + j]!;
          scores.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((sc) => Math.exp(sc - m));
        const z = e.reduce((acc, u) => acc + u, 0);
        for (let j = 0; j < hd; j++) {
          let acc = 0;
          e.forEach((p, s2) => (acc += (p / z) * v[s2 * Kw + g * hd + j]!));
          o[t * Q + h * hd + j] = acc;
        }
      }
    }
    y.set(linear(o, 0, T, Q, w("out_proj.weight"), has("out_proj.bias") ? w("out_proj.bias") : undefined, Dm), b * S);
  }
  return { dims: x.dims, data: y };
}

/** torch.nn.RNN / LSTM / GRU (batch_first), PyTorch's two bias vectors per gate set (or Keras's one) (gate rows: LSTM i, f,
 *  g, o; GRU r, z, n): stacked layers, the next reading the previous one's outputs (both directions side by
 *  side; the reverse direction runs from the last step to the first), zero initial states. `sequences =
 *  false` gives each direction's final state (the registry says "the last step only"; for a bidirectional
 *  layer that is read as PyTorch's h_n, `cat(h_n[-2], h_n[-1])`, which is what nnc computes). */
function recurrent(
  op: Op,
  x: Val,
  n: number,
  w: (local: string) => Float64Array,
  has: (local: string) => boolean,
): Val {
  const [T, D0] = x.dims as [number, number];
  const Hh = int(op, "hidden");
  const layers = int(op, "layers", 1);
  const bi = bool(op, "bidirectional", false);
  const seqs = bool(op, "sequences", true);
  const relu = enumName(op, "nonlinearity", "tanh") === "relu";
  const gates = op.kind === "lstm" ? 4 : op.kind === "gru" ? 3 : 1;
  const dirs = bi ? 2 : 1;
  const width = Hh * dirs;
  const y = new Float64Array(n * (seqs ? T * width : width));
  for (let b = 0; b < n; b++) {
    let input = x.data.slice(b * T * D0, (b + 1) * T * D0);
    let Din = D0;
    for (let l = 0; l < layers; l++) {
      const outL = new Float64Array(T * width);
      for (let dir = 0; dir < dirs; dir++) {
        const sfx = `_l${l}${dir === 1 ? "_reverse" : ""}`;
        const Wih = w(`weight_ih${sfx}`);
        const Whh = w(`weight_hh${sfx}`);
        // Keras's convention (SimpleRNN, LSTM): one bias per gate set, `x·W + h·U + b` (`bias_l0`).
        const bih = has(`bias_ih${sfx}`) ? w(`bias_ih${sfx}`) : has(`bias${sfx}`) ? w(`bias${sfx}`) : undefined;
        const bhh = has(`bias_hh${sfx}`) ? w(`bias_hh${sfx}`) : undefined;
        let h = new Float64Array(Hh);
        let c = new Float64Array(Hh);
        for (let step = 0; step < T; step++) {
          const t = dir === 1 ? T - 1 - step : step;
          const gi = linear(input, t * Din, 1, Din, Wih, bih, gates * Hh);
          const gh = linear(h, 0, 1, Hh, Whh, bhh, gates * Hh);
          const nh = new Float64Array(Hh);
          const nc = new Float64Array(Hh);
          for (let j = 0; j < Hh; j++) {
            if (op.kind === "rnn") {
              const a = gi[j]! + gh[j]!;
              nh[j] = relu ? Math.max(a, 0) : Math.tanh(a);
            } else if (op.kind === "lstm") {
              const i = sigmoid(gi[j]! + gh[j]!);
              const f = sigmoid(gi[Hh + j]! + gh[Hh + j]!);
              const g = Math.tanh(gi[2 * Hh + j]! + gh[2 * Hh + j]!);
              const o = sigmoid(gi[3 * Hh + j]! + gh[3 * Hh + j]!);
              nc[j] = f * c[j]! + i * g;
              nh[j] = o * Math.tanh(nc[j]!);
            } else {
              const r = sigmoid(gi[j]! + gh[j]!);
              const z = sigmoid(gi[Hh + j]! + gh[Hh + j]!);
              const nn = Math.tanh(gi[2 * Hh + j]! + r * gh[2 * Hh + j]!);
              nh[j] = (1 - z) * nn + z * h[j]!;
            }
          }
          h = nh;
          c = nc;
          for (let j = 0; j < Hh; j++) outL[t * width + dir * Hh + j] = h[j]!;
        }
      }
      input = outL;
      Din = width;
    }
    if (seqs) y.set(input, b * T * width);
    else
      // Each direction's final state (PyTorch's h_n of the last layer): the forward one at the last step,
      // the reverse one at the first.
      for (let dir = 0; dir < dirs; dir++)
        for (let j = 0; j < Hh; j++)
          y[b * width + dir * Hh + j] = input[(dir === 0 ? T - 1 : 0) * width + dir * Hh + j]!;
  }
  return { dims: seqs ? [T, width] : [width], data: y };
}
