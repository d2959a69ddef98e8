// Convolution and pooling kernels in generated code (float64), table-driven: for every configuration
// (a) backward against central finite differences (relative error < 1e-6, parameters and input) and
// (b) the forward output against a naive reference written here from PyTorch's definitions: explicit padded
// copies of the input and direct sums over every kernel tap, output sizes from PyTorch's formulas (not
// from the compiler). Then ties and NaN in max pooling, a few answers PyTorch gives that are easy to state
// by hand, gradients flowing through chains of these ops, and a float32 build.
import { describe, expect, it } from "vitest";
import { build, gradientCheck, seeded, type Generated } from "./helpers/generated.js";

// ── naive references ─────────────────────────────────────────────────────────────────────────────────

interface Tensor {
  /** Per-sample shape. */
  shape: number[];
  data: Float64Array;
}

type Pair = number | [number, number];
type Shape3 = [number, number, number];
/** [C, L] as [C, 1, L] (PyTorch runs its 1d ops as 2d ones the same way). */
const to3 = (s: readonly number[]): Shape3 => (s.length === 2 ? [s[0]!, 1, s[1]!] : [s[0]!, s[1]!, s[2]!]);
const two = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : v);
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Parameters of the single layer of a model, by tensor name suffix. */
function param(m: Generated, p: Float64Array, suffix: string): Float64Array | undefined {
  const t = m.params.find((q) => q.name.endsWith(`.${suffix}`));
  return t ? p.subarray(t.offset, t.offset + t.size) : undefined;
}

/** PyTorch's conv2d: cross-correlation over a zero-padded copy (pads top, bottom, left, right). */
function conv2dRef(
  x: Float64Array,
  n: number,
  [C, H, W]: Shape3,
  w: Float64Array,
  bias: Float64Array | undefined,
  o: {
    out: number;
    k: [number, number];
    stride: [number, number];
    pads: [number, number, number, number];
    dil: [number, number];
    groups: number;
  },
): Tensor {
  const [pt, pb, pl, pr] = o.pads;
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  const pad = new Float64Array(n * C * Hp * Wp);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let v = 0; v < W; v++) pad[((b * C + c) * Hp + h + pt) * Wp + v + pl] = x[((b * C + c) * H + h) * W + v]!;
  const OH = Math.floor((Hp - o.dil[0] * (o.k[0] - 1) - 1) / o.stride[0]) + 1;
  const OW = Math.floor((Wp - o.dil[1] * (o.k[1] - 1) - 1) / o.stride[1]) + 1;
  const icg = C / o.groups;
  const ocg = o.out / o.groups;
  const y = new Float64Array(n * o.out * OH * OW);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o.out; oc++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = bias ? bias[oc]! : 0;
          const g = Math.floor(oc / ocg);
          for (let ic = 0; ic < icg; ic++)
            for (let kh = 0; kh < o.k[0]; kh++)
              for (let kw = 0; kw < o.k[1]; kw++) {
                const h = oh * o.stride[0] + kh * o.dil[0];
                const v = ow * o.stride[1] + kw * o.dil[1];
                s +=
                  pad[((b * C + g * icg + ic) * Hp + h) * Wp + v]! * w[((oc * icg + ic) * o.k[0] + kh) * o.k[1] + kw]!;
              }
          y[((b * o.out + oc) * OH + oh) * OW + ow] = s;
        }
  return { shape: [o.out, OH, OW], data: y };
}

type ConvPadding = number | [number, number] | "same" | "valid";

/** The four pads of a conv2d padding option (PyTorch `same`: total dil·(k − 1), the odd cell at the end). */
function convPads(padding: ConvPadding, k: [number, number], dil: [number, number]): [number, number, number, number] {
  if (padding === "valid") return [0, 0, 0, 0];
  if (padding === "same") {
    const th = dil[0] * (k[0] - 1);
    const tw = dil[1] * (k[1] - 1);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  const [ph, pw] = two(padding);
  return [ph, ph, pw, pw];
}

/** PyTorch's conv_transpose2d by its definition: every input element scatters input × kernel into the
 *  output at out = in·stride − pad + k·dilation (weight [in, out/groups, kh, kw]). */
function convTranspose2dRef(
  x: Float64Array,
  n: number,
  [C, H, W]: Shape3,
  w: Float64Array,
  bias: Float64Array | undefined,
  o: {
    out: number;
    k: [number, number];
    stride: [number, number];
    pad: [number, number];
    outPad: [number, number];
    dil: [number, number];
    groups: number;
  },
): Tensor {
  const OH = (H - 1) * o.stride[0] - 2 * o.pad[0] + o.dil[0] * (o.k[0] - 1) + o.outPad[0] + 1;
  const OW = (W - 1) * o.stride[1] - 2 * o.pad[1] + o.dil[1] * (o.k[1] - 1) + o.outPad[1] + 1;
  const icg = C / o.groups;
  const ocg = o.out / o.groups;
  const y = new Float64Array(n * o.out * OH * OW);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o.out; oc++)
      for (let i = 0; i < OH * OW; i++) y[(b * o.out + oc) * OH * OW + i] = bias ? bias[oc]! : 0;
    for (let ic = 0; ic < C; ic++)
      for (let ih = 0; ih < H; ih++)
        for (let iw = 0; iw < W; iw++) {
          const v = x[((b * C + ic) * H + ih) * W + iw]!;
          const g = Math.floor(ic / icg);
          for (let ocl = 0; ocl < ocg; ocl++)
            for (let kh = 0; kh < o.k[0]; kh++)
              for (let kw = 0; kw < o.k[1]; kw++) {
                const oh = ih * o.stride[0] - o.pad[0] + kh * o.dil[0];
                const ow = iw * o.stride[1] - o.pad[1] + kw * o.dil[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                const at = ((b * o.out + g * ocg + ocl) * OH + oh) * OW + ow;
                y[at] = y[at]! + v * w[((ic * ocg + ocl) * o.k[0] + kh) * o.k[1] + kw]!;
              }
        }
  }
  return { shape: [o.out, OH, OW], data: y };
}

/** PyTorch's pooling output size: floor or ceil, and in ceil mode the last window must start inside the
 *  input or the left padding. */
function poolOut(L: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = L + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= L + p) o--;
  return o;
}

interface PoolOpts {
  k: [number, number];
  stride: [number, number];
  pad: [number, number];
  dil: [number, number];
  ceil: boolean;
  includePad: boolean;
}

/** Max pooling over a −∞-padded copy; the first maximum in row-major window order wins. Also returns
 *  each output's argmax as an index into the per-sample input. */
function maxPoolRef(x: Float64Array, n: number, [C, H, W]: Shape3, o: PoolOpts): Tensor & { argmax: number[] } {
  const OH = poolOut(H, o.k[0], o.stride[0], o.pad[0], o.dil[0], o.ceil);
  const OW = poolOut(W, o.k[1], o.stride[1], o.pad[1], o.dil[1], o.ceil);
  const Hp = H + 2 * o.pad[0] + o.k[0] * o.dil[0] + o.stride[0]; // room for windows hanging off the end
  const Wp = W + 2 * o.pad[1] + o.k[1] * o.dil[1] + o.stride[1];
  const y = new Float64Array(n * C * OH * OW);
  const argmax: number[] = [];
  for (let b = 0; b < n; b++)
    for (let c = 0; c < C; c++) {
      const pad = new Float64Array(Hp * Wp).fill(-Infinity);
      const where = new Array<number>(Hp * Wp).fill(-1);
      for (let h = 0; h < H; h++)
        for (let v = 0; v < W; v++) {
          pad[(h + o.pad[0]) * Wp + v + o.pad[1]] = x[((b * C + c) * H + h) * W + v]!;
          where[(h + o.pad[0]) * Wp + v + o.pad[1]] = (c * H + h) * W + v;
        }
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let best = -Infinity;
          let at = -1;
          for (let kh = 0; kh < o.k[0]; kh++)
            for (let kw = 0; kw < o.k[1]; kw++) {
              const q = (oh * o.stride[0] + kh * o.dil[0]) * Wp + ow * o.stride[1] + kw * o.dil[1];
              if (where[q]! < 0) continue;
              if (at < 0 || pad[q]! > best) {
                best = pad[q]!;
                at = where[q]!;
              }
            }
          y[((b * C + c) * OH + oh) * OW + ow] = best;
          argmax.push(at);
        }
    }
  return { shape: [C, OH, OW], data: y, argmax };
}

/** Average pooling over a zero-padded copy: each window's taps are counted inside the padded input (the
 *  divisor with count_include_pad) or inside the input (without it). */
function avgPoolRef(x: Float64Array, n: number, [C, H, W]: Shape3, o: PoolOpts): Tensor {
  const OH = poolOut(H, o.k[0], o.stride[0], o.pad[0], 1, o.ceil);
  const OW = poolOut(W, o.k[1], o.stride[1], o.pad[1], 1, o.ceil);
  const Hp = H + 2 * o.pad[0];
  const Wp = W + 2 * o.pad[1];
  const y = new Float64Array(n * C * OH * OW);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let sum = 0;
          let inPadded = 0;
          let inInput = 0;
          for (let kh = 0; kh < o.k[0]; kh++)
            for (let kw = 0; kw < o.k[1]; kw++) {
              const hp = oh * o.stride[0] + kh; // padded coordinates
              const wp = ow * o.stride[1] + kw;
              if (hp >= Hp || wp >= Wp) continue; // past the padding: not counted at all
              inPadded++;
              const h = hp - o.pad[0];
              const v = wp - o.pad[1];
              if (h < 0 || h >= H || v < 0 || v >= W) continue;
              inInput++;
              sum += x[((b * C + c) * H + h) * W + v]!;
            }
          y[((b * C + c) * OH + oh) * OW + ow] = sum / (o.includePad ? inPadded : inInput);
        }
  return { shape: [C, OH, OW], data: y };
}

/** Adaptive average pooling: output i of an axis of L averages [⌊i·L/out⌋, ⌈(i+1)·L/out⌉). */
function adaptiveRef(x: Float64Array, n: number, [C, H, W]: Shape3, [OH, OW]: [number, number]): Tensor {
  const y = new Float64Array(n * C * OH * OW);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const h0 = Math.floor((oh * H) / OH);
          const h1 = Math.ceil(((oh + 1) * H) / OH);
          const w0 = Math.floor((ow * W) / OW);
          const w1 = Math.ceil(((ow + 1) * W) / OW);
          let sum = 0;
          for (let h = h0; h < h1; h++) for (let v = w0; v < w1; v++) sum += x[((b * C + c) * H + h) * W + v]!;
          y[((b * C + c) * OH + oh) * OW + ow] = sum / ((h1 - h0) * (w1 - w0));
        }
  return { shape: [C, OH, OW], data: y };
}

// ── the table ────────────────────────────────────────────────────────────────────────────────────────

interface Case {
  name: string;
  /** Per-sample input shape. */
  input: number[];
  layer: string;
  /** Every op here but max pooling is linear in the input and in the parameters, so central differences
   *  with a large step are exact up to rounding: a much sharper check than a tiny step. */
  linear: boolean;
  ref: (x: Float64Array, n: number, m: Generated, p: Float64Array) => Tensor;
}

/** A [C, L] input is pooled or convolved as [C, 1, L] (PyTorch does the same for the 1d ops). */
const as1d = (t: Tensor): Tensor => ({ shape: [t.shape[0]!, t.shape[2]!], data: t.data });

const opts = (o: Record<string, unknown>) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `, ${k} = ${Array.isArray(v) ? `[${v.join(", ")}]` : String(v)}`)
    .join("");

function conv2d(
  input: Shape3,
  out: number,
  k: Pair,
  o: { stride?: Pair; padding?: ConvPadding; dilation?: Pair; groups?: number; bias?: boolean } = {},
): Case {
  const layer = `conv2d(${out}, ${typeof k === "number" ? k : `[${k.join(", ")}]`}${opts(o)})`;
  return {
    name: `conv2d ${JSON.stringify(input)}: ${layer}`,
    input,
    layer,
    linear: true,
    ref: (x, n, m, p) =>
      conv2dRef(x, n, input, param(m, p, "weight")!, param(m, p, "bias"), {
        out,
        k: two(k),
        stride: two(o.stride ?? 1),
        pads: convPads(o.padding ?? 0, two(k), two(o.dilation ?? 1)),
        dil: two(o.dilation ?? 1),
        groups: o.groups ?? 1,
      }),
  };
}

function conv1d(
  input: [number, number],
  out: number,
  k: number,
  o: { stride?: number; padding?: number | "same" | "valid"; dilation?: number; groups?: number; bias?: boolean } = {},
): Case {
  const layer = `conv1d(${out}, ${k}${opts(o)})`;
  const [C, L] = input;
  const padding = o.padding ?? 0;
  return {
    name: `conv1d ${JSON.stringify(input)}: ${layer}`,
    input,
    layer,
    linear: true,
    ref: (x, n, m, p) => {
      const pads = convPads(typeof padding === "number" ? [0, padding] : padding, [1, k], [1, o.dilation ?? 1]);
      return as1d(
        conv2dRef(x, n, [C, 1, L], param(m, p, "weight")!, param(m, p, "bias"), {
          out,
          k: [1, k],
          stride: [1, o.stride ?? 1],
          pads,
          dil: [1, o.dilation ?? 1],
          groups: o.groups ?? 1,
        }),
      );
    },
  };
}

function convT(
  input: Shape3,
  out: number,
  k: Pair,
  o: { stride?: Pair; padding?: Pair; output_padding?: Pair; dilation?: Pair; groups?: number; bias?: boolean } = {},
): Case {
  const layer = `conv_transpose2d(${out}, ${typeof k === "number" ? k : `[${k.join(", ")}]`}${opts(o)})`;
  return {
    name: `conv_transpose2d ${JSON.stringify(input)}: ${layer}`,
    input,
    layer,
    linear: true,
    ref: (x, n, m, p) =>
      convTranspose2dRef(x, n, input, param(m, p, "weight")!, param(m, p, "bias"), {
        out,
        k: two(k),
        stride: two(o.stride ?? 1),
        pad: two(o.padding ?? 0),
        outPad: two(o.output_padding ?? 0),
        dil: two(o.dilation ?? 1),
        groups: o.groups ?? 1,
      }),
  };
}

type PoolArgs = { stride?: Pair; padding?: Pair; dilation?: Pair; ceil_mode?: boolean; count_include_pad?: boolean };

function poolOpts(k: Pair, o: PoolArgs, rank: 1 | 2): PoolOpts {
  const lift = (v: Pair, fill: number): [number, number] => (rank === 1 ? [fill, v as number] : two(v));
  return {
    k: lift(k, 1),
    stride: lift(o.stride ?? k, 1),
    pad: lift(o.padding ?? 0, 0),
    dil: lift(o.dilation ?? 1, 1),
    ceil: o.ceil_mode ?? false,
    includePad: o.count_include_pad ?? true,
  };
}

function pool(kind: "max" | "avg", rank: 1 | 2, input: number[], k: Pair, o: PoolArgs = {}): Case {
  const layer = `${kind}_pool${rank}d(${typeof k === "number" ? k : `[${k.join(", ")}]`}${opts(o)})`;
  const shape3 = to3(input);
  const po = poolOpts(k, o, rank);
  return {
    name: `${kind}_pool${rank}d ${JSON.stringify(input)}: ${layer}`,
    input,
    layer,
    linear: kind === "avg",
    ref: (x, n) => {
      const t = kind === "max" ? maxPoolRef(x, n, shape3, po) : avgPoolRef(x, n, shape3, po);
      return rank === 1 ? as1d(t) : t;
    },
  };
}

function adaptive(input: number[], out: Pair): Case {
  const rank = input.length - 1;
  const layer = `adaptive_avg_pool${rank}d(${typeof out === "number" ? out : `[${out.join(", ")}]`})`;
  return {
    name: `${layer} of ${JSON.stringify(input)}`,
    input,
    layer,
    linear: true,
    ref: (x, n) =>
      rank === 1 ? as1d(adaptiveRef(x, n, to3(input), [1, out as number])) : adaptiveRef(x, n, to3(input), two(out)),
  };
}

function globalAvg(input: number[]): Case {
  return {
    name: `global_avg_pool of ${JSON.stringify(input)}`,
    input,
    layer: "global_avg_pool",
    linear: true,
    ref: (x, n) => {
      const C = input[0]!;
      const L = size(input) / C;
      const y = new Float64Array(n * C);
      for (let i = 0; i < n * C; i++) {
        let s = 0;
        for (let j = 0; j < L; j++) s += x[i * L + j]!;
        y[i] = s / L;
      }
      return { shape: [C], data: y };
    },
  };
}

const cases: Case[] = [
  // conv2d
  conv2d([3, 7, 6], 4, 3, { stride: 2, padding: 1 }),
  conv2d([3, 8, 7], 5, [3, 2], { stride: [2, 1], padding: [1, 0], bias: false }),
  conv2d([4, 9, 8], 6, 3, { padding: 2, dilation: 2, groups: 2 }),
  conv2d([4, 7, 7], 4, 3, { stride: 2, padding: 1, groups: 4 }), // depthwise
  conv2d([3, 6, 5], 6, 3, { padding: "same", groups: 3 }), // depthwise, 2 outputs per channel
  conv2d([2, 6, 7], 3, [4, 2], { padding: "same", dilation: [1, 2] }), // `same`, odd total padding
  conv2d([2, 10, 9], 3, 3, { stride: 3, padding: "valid", bias: false }),
  conv2d([5, 4, 3], 3, 1),
  conv2d([2, 3, 3], 2, 1, { padding: 2 }), // border outputs see only padding
  conv2d([2, 9, 9], 3, 2, { stride: 3, padding: 1 }), // stride > kernel: inputs no window reads
  conv2d([2, 5, 6], 4, [2, 3], { stride: [1, 2], dilation: [3, 1], padding: [2, 1], groups: 2, bias: false }),
  // ≥ 4 output channels per group: the im2col + matrix-kernel path, forward and backward, with groups,
  // dilation, stride and padding together, and 6 channels per group (one 4-wide tile + 2 left over)
  conv2d([4, 7, 6], 8, 3, { stride: [2, 1], padding: 2, dilation: 2, groups: 2 }),
  conv2d([3, 6, 7], 12, [2, 3], { stride: 2, padding: [1, 0], groups: 3, bias: false }),
  conv2d([2, 5, 5], 6, 3, { padding: "same" }),
  // conv1d
  conv1d([3, 11], 4, 3, { stride: 2, padding: 1 }),
  conv1d([4, 10], 6, 3, { dilation: 2, groups: 2, padding: "same", bias: false }),
  conv1d([4, 9], 4, 5, { stride: 2, padding: 2, groups: 4 }), // depthwise
  conv1d([2, 8], 3, 4, { padding: "same" }), // even kernel: the extra padding cell at the end
  conv1d([3, 7], 2, 2, { stride: 3, padding: "valid" }),
  conv1d([2, 6], 2, 3, { padding: 4, dilation: 3 }),
  conv1d([2, 12], 8, 3, { dilation: 2, padding: "same", groups: 2 }), // im2col path with groups
  // conv_transpose2d
  convT([3, 4, 5], 4, 3, { stride: 2, padding: 1, output_padding: 1 }),
  convT([4, 3, 4], 6, [3, 2], { stride: [2, 3], padding: [0, 1], groups: 2, bias: false }),
  convT([2, 3, 3], 3, 3, { padding: 2, dilation: 2 }),
  convT([3, 4, 4], 3, 4, { stride: 2, padding: 1, groups: 3 }), // depthwise upsampling
  convT([2, 3, 2], 2, 2, { stride: 3, dilation: 2, output_padding: [2, 1] }),
  convT([2, 3, 3], 4, 5, { stride: 2, padding: 2, output_padding: 1 }),
  convT([4, 2, 3], 2, [1, 3], { stride: [2, 1], padding: [0, 1], output_padding: [1, 0], groups: 2 }),
  // max pooling
  pool("max", 2, [3, 7, 6], 3, { stride: 2, padding: 1, ceil_mode: true }),
  pool("max", 2, [2, 8, 9], 2),
  pool("max", 2, [2, 9, 8], [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [2, 1] }),
  pool("max", 2, [2, 7, 7], 3, { stride: 2, ceil_mode: true }),
  pool("max", 2, [2, 6, 7], 2, { stride: 1 }),
  pool("max", 2, [1, 8, 8], 3, { stride: 3, padding: 1, dilation: 2, ceil_mode: true }),
  pool("max", 1, [3, 11], 3, { stride: 2, padding: 1, ceil_mode: true }),
  pool("max", 1, [2, 10], 2, { dilation: 3 }),
  pool("max", 1, [2, 9], 4, { stride: 3, padding: 2, ceil_mode: true }),
  // average pooling
  pool("avg", 2, [3, 7, 6], 3, { stride: 2, padding: 1, ceil_mode: true }),
  pool("avg", 2, [3, 7, 6], 3, { stride: 2, padding: 1, ceil_mode: true, count_include_pad: false }),
  pool("avg", 2, [2, 8, 9], 2),
  pool("avg", 2, [2, 7, 8], [3, 2], { stride: [2, 3], padding: 1, ceil_mode: true, count_include_pad: false }),
  pool("avg", 2, [1, 6, 6], 3, { stride: 2, padding: 1, ceil_mode: true }), // a window past the padding
  pool("avg", 2, [2, 5, 7], [2, 4], { stride: 1, padding: [1, 2] }),
  pool("avg", 1, [2, 6], 3, { stride: 2, padding: 1, ceil_mode: true }),
  pool("avg", 1, [2, 11], 4, { stride: 3, padding: 2, ceil_mode: true, count_include_pad: false }),
  pool("avg", 1, [3, 9], 3),
  // global and adaptive average pooling
  globalAvg([3, 5, 4]),
  globalAvg([4, 7]),
  globalAvg([2, 3, 2, 2]),
  adaptive([3, 7, 5], [3, 2]),
  adaptive([2, 4, 6], [2, 3]), // windows of equal size
  adaptive([2, 3, 5], [5, 7]), // more outputs than inputs: overlapping windows
  adaptive([3, 10], 4),
  adaptive([2, 5], 8),
];

const spec = (input: readonly number[], body: string) => `model M(x: f32[${input.join(", ")}]) {\n  ${body}\n}\n`;

function compare(y: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(y.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < y.length; i++)
    worst = Math.max(worst, Math.abs(y[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
  return Number.isNaN(worst) ? Infinity : worst;
}

const worst = { forward: 0, linear: { params: 0, input: 0 }, max: { params: 0, input: 0 } };

// Convolutions (conv1d/conv2d and conv_transpose2d) run on both targets: with `wasm`, every one (grouped and
// depthwise too) takes the WebAssembly SIMD kernels (f64x2); every other op is TypeScript on both.
type Targeted = readonly [name: string, c: Case, target: "wasm" | "ts"];
const targeted = cases.flatMap((c): Targeted[] =>
  /^conv(_transpose)?[12]d /.test(c.name)
    ? (["wasm", "ts"] as const).map((target): Targeted => [`${c.name} --target ${target}`, c, target])
    : [[c.name, c, "ts"]],
);

describe("conv and pooling kernels: gradients and the naive reference (float64)", () => {
  it.each(targeted)("%s", async (_name, c, target) => {
    const { module: m, text } = await build(spec(c.input, c.layer), { dtype: "float64", target });
    // the wasm target: the SIMD kernels, whatever the groups (else no WebAssembly at all)
    const simd = c.name.startsWith("conv_transpose")
      ? /wasmConvTransposeForward\(\s*arena,/
      : /wasmConvForward\(\s*arena,/;
    expect(simd.test(text), "the SIMD path").toBe(target === "wasm");
    expect(/wasmConv(Transpose)?Backward\(\s*arena,/.test(text), "the SIMD path backward").toBe(target === "wasm");
    // No NaN in the model's code (the weight-file runtime after it names NaN on purpose: half-precision
    // NaN, the report of NaN weights).
    expect(text.slice(0, text.indexOf("// ── Weight files"))).not.toContain("NaN");

    // (a) backward against finite differences, every parameter and input element
    const g = gradientCheck(m, 2, { h: c.linear ? 0.5 : 1e-6, limit: 5000 });
    expect(g.params).toBeLessThan(c.linear ? 1e-9 : 1e-6);
    expect(g.input).toBeLessThan(c.linear ? 1e-9 : 1e-6);

    // (b) forward against the reference, a batch of 3
    const n = 3;
    const rand = seeded(11);
    const p: Float64Array = m.createParams(5);
    for (let i = 0; i < p.length; i++) p[i] = rand(); // not only the init's small range: biases matter too
    const x = new Float64Array(n * m.inputSize).map(() => rand());
    const y = Float64Array.from(m.forward(p, x, n));
    const ref = c.ref(x, n, m, p);
    expect(m.outputShape).toEqual(ref.shape);
    const e = compare(y, ref.data);
    expect(e).toBeLessThan(1e-12);
    worst.forward = Math.max(worst.forward, e);
    const w = c.linear ? worst.linear : worst.max;
    w.params = Math.max(w.params, g.params);
    w.input = Math.max(w.input, g.input);
  });

  it("reports the worst errors measured", () => {
    const e = (x: number) => x.toExponential(2);
    console.log(
      `conv/pool: worst forward error ${e(worst.forward)}; gradients, linear ops (step 0.5) ${e(worst.linear.params)} params, ${e(worst.linear.input)} input; max pooling (step 1e-6) ${e(worst.max.params)} params, ${e(worst.max.input)} input`,
    );
    expect(worst.forward).toBeLessThan(1e-12);
  });
});

describe("max pooling: ties and NaN as PyTorch", () => {
  it.each([
    ["2×2, stride 1 (overlapping windows)", [2, 5, 6], 2, { stride: 1 }],
    ["3×3, stride 2, padding 1, ceil mode", [1, 7, 6], 3, { stride: 2, padding: 1, ceil_mode: true }],
    ["dilated 1d", [2, 9], 3, { stride: 2, dilation: 2, padding: 1 }],
  ] as const)(
    "equal values: the gradient goes to the first maximum of each window (%s)",
    async (_name, input, k, o) => {
      const rank = (input.length - 1) as 1 | 2;
      const c = pool("max", rank, [...input], k, o as PoolArgs);
      const { module: m } = await build(spec(input, c.layer), { dtype: "float64" });
      const n = 2;
      // Values in {0, 1, 2}: many windows hold their maximum more than once.
      const rand = seeded(3);
      const x = new Float64Array(n * m.inputSize).map(() => Math.floor((rand() + 1) * 1.5));
      const y = Float64Array.from(m.forward(m.createParams(), x, n));
      const shape3 = to3(input);
      const ref = maxPoolRef(x, n, shape3, poolOpts(k, o as PoolArgs, rank));
      expect(compare(y, ref.data)).toBe(0);
      const gy = new Float64Array(y.length).map((_, i) => i + 1);
      const gx = m.backward(m.createParams(), gy, new Float64Array(0));
      const expected = new Float64Array(n * m.inputSize);
      const perSample = y.length / n;
      ref.argmax.forEach((at, i) => {
        const j = Math.floor(i / perSample) * m.inputSize + at;
        expected[j] = expected[j]! + gy[i]!;
      });
      expect(Array.from(gx)).toEqual(Array.from(expected));
    },
  );

  it("a NaN in a window is its maximum", async () => {
    const { module: m } = await build(spec([1, 6], "max_pool1d(2)"), { dtype: "float64" });
    const y = m.forward(m.createParams(), Float64Array.from([1, NaN, 3, 2, NaN, NaN]), 1);
    expect(Array.from(y)).toEqual([NaN, 3, NaN]);
  });
});

describe("answers PyTorch gives, stated by hand", () => {
  const run = async (
    input: number[],
    layer: string,
    x: number[],
    setParams?: (m: Generated, p: Float64Array) => void,
  ) => {
    const { module: m } = await build(spec(input, layer), { dtype: "float64" });
    const p: Float64Array = m.createParams();
    setParams?.(m, p);
    return Array.from(m.forward(p, Float64Array.from(x), 1));
  };

  it("avg_pool1d(3, stride 2, padding 1, ceil mode) of 1…6: the last window hangs past the padding", async () => {
    // windows [-1, 2), [1, 4), [3, 6), [5, 8) clipped to [5, 7): divisors 3, 3, 3, 2
    expect(await run([1, 6], "avg_pool1d(3, stride = 2, padding = 1, ceil_mode = true)", [1, 2, 3, 4, 5, 6])).toEqual([
      1, 3, 5, 3,
    ]);
    expect(
      await run(
        [1, 6],
        "avg_pool1d(3, stride = 2, padding = 1, ceil_mode = true, count_include_pad = false)",
        [1, 2, 3, 4, 5, 6],
      ),
    ).toEqual([1.5, 3, 5, 6]);
  });

  it("avg_pool1d(2, ceil mode) of 1…5: the last window averages one element", async () => {
    expect(await run([1, 5], "avg_pool1d(2, ceil_mode = true)", [1, 2, 3, 4, 5])).toEqual([1.5, 3.5, 5]);
  });

  it("max_pool1d(2, ceil mode) of [1, 3, 2, 5, 4]", async () => {
    expect(await run([1, 5], "max_pool1d(2, ceil_mode = true)", [1, 3, 2, 5, 4])).toEqual([3, 5, 4]);
  });

  it("adaptive_avg_pool1d(3) of 1…5: windows [0, 2), [1, 4), [3, 5)", async () => {
    expect(await run([1, 5], "adaptive_avg_pool1d(3)", [1, 2, 3, 4, 5])).toEqual([1.5, 3, 4.5]);
  });

  it("conv_transpose2d of [1, 2] with a [1, 1, 1] kernel, stride 2, overlaps at the middle", async () => {
    const y = await run([1, 1, 2], "conv_transpose2d(1, [1, 3], stride = 2, bias = false)", [1, 2], (m, p) =>
      param(m, p, "weight")!.set([1, 1, 1]),
    );
    expect(y).toEqual([1, 1, 3, 2, 2]);
  });

  it("conv1d with padding = same and an even kernel pads the end: [1, 2, 3] * [1, 10] = [21, 32, 3]", async () => {
    const y = await run([1, 3], "conv1d(1, 2, padding = same, bias = false)", [1, 2, 3], (m, p) =>
      param(m, p, "weight")!.set([1, 10]),
    );
    expect(y).toEqual([21, 32, 3]);
  });
});

describe("chains: gradients accumulate through several conv and pooling ops", () => {
  it.each([
    [
      "conv → tanh → max pool → transposed conv → avg pool → dense",
      [2, 8, 8],
      "conv2d(4, 3, padding = 1) tanh max_pool2d(2) conv_transpose2d(3, 2, stride = 2) avg_pool2d(3, stride = 1, padding = 1) flatten dense(3)",
    ],
    [
      "a residual around a `same` conv (the input gradient gets both paths)",
      [3, 6, 5],
      "residual { conv2d(3, 3, padding = same, groups = 3) tanh } adaptive_avg_pool2d([2, 2]) global_avg_pool",
    ],
    [
      "1d: conv → max pool → conv → adaptive pool",
      [2, 17],
      "conv1d(4, 5, stride = 2, padding = 2) sigmoid max_pool1d(2, ceil_mode = true) conv1d(3, 3, padding = same, dilation = 2) adaptive_avg_pool1d(3)",
    ],
  ] as const)("%s", async (_name, input, body) => {
    const { module: m } = await build(spec(input, body), { dtype: "float64" });
    // nonlinear: a step of 1e-4 balances truncation (h²) against rounding (ε/h)
    const g = gradientCheck(m, 2, { h: 1e-4 });
    expect(g.params).toBeLessThan(1e-6);
    expect(g.input).toBeLessThan(1e-6);
  });
});

describe("float32 storage", () => {
  it("computes what float64 computes, to float32 precision", async () => {
    const body =
      "conv2d(4, 3, stride = 2, padding = 1) max_pool2d(2, ceil_mode = true) conv_transpose2d(2, 3, stride = 2) avg_pool2d(2, count_include_pad = false, padding = 1)";
    const { module: m64 } = await build(spec([3, 9, 8], body), { dtype: "float64" });
    const { module: m32 } = await build(spec([3, 9, 8], body), { dtype: "float32" });
    const n = 2;
    const rand = seeded(4);
    const x = new Float64Array(n * m64.inputSize).map(() => Math.round(rand() * 256) / 256);
    const p64: Float64Array = m64.createParams(3);
    const p32 = Float32Array.from(m32.createParams(3));
    p64.set(p32); // the float32 parameters, exactly
    const y64 = m64.forward(p64, x, n);
    const y32 = m32.forward(p32, Float32Array.from(x), n);
    expect(compare(y32, y64)).toBeLessThan(1e-5);
    const gy = new Float64Array(y64.length).map(() => Math.round(rand() * 256) / 256);
    const g64 = new Float64Array(m64.paramCount);
    const g32 = new Float32Array(m32.paramCount);
    const gx64 = m64.backward(p64, gy, g64);
    const gx32 = m32.backward(p32, Float32Array.from(gy), g32);
    expect(compare(g32, g64)).toBeLessThan(1e-5);
    expect(compare(gx32, gx64)).toBeLessThan(1e-5);
  });
});
