// Runs a generated float32 module and the same computation written with TensorFlow.js (cpu backend), for
// test/codegen-tfjs.test.ts. Layout conversions (PyTorch NCHW/OIHW ↔ TF.js NHWC/HWIO) happen inside the
// TF.js functions, so every gradient TF.js returns is already in the generated module's (PyTorch) layout.
import * as tf from "@tensorflow/tfjs";
import { kernels } from "../../src/emit/kernels/index.js";
import { build, seeded, type Generated } from "./generated.js";

export { tf };

let ready: Promise<void> | undefined;

/** Selects the cpu backend once. `PROD` only silences TF.js's console warnings (the "install tfjs-node"
 *  banner); it changes no arithmetic. */
export function initTf(): Promise<void> {
  ready ??= (async () => {
    tf.env().set("PROD", true);
    await tf.setBackend("cpu");
    await tf.ready();
  })();
  return ready;
}

/** Whether the code generator can emit this op kind right now. */
export const available = (kind: string): boolean => Object.prototype.hasOwnProperty.call(kernels, kind);

export interface Run {
  readonly m: Generated;
  /** The generated source. */
  readonly text: string;
  readonly n: number;
  /** Parameters (createParams(seed), then any overrides), float32. */
  readonly p: Float32Array;
  /** Input, n × inputSize. */
  readonly x: Float32Array;
  /** Output gradient w (the loss is Σ output · w). */
  readonly w: Float32Array;
  readonly y: Float32Array;
  readonly gx: Float32Array;
  readonly gp: Float32Array;
  /** Buffers given to forward, as they were before it ran, and after (training updates them). */
  readonly buffersBefore: Float32Array;
  readonly buffersAfter: Float32Array;
}

export interface RunOptions {
  readonly n?: number;
  readonly seed?: number;
  /** Inputs are uniform in [-inputScale, inputScale). */
  readonly inputScale?: number;
  readonly training?: boolean;
  /** The build's target (default: compile()'s, \`auto\`). */
  readonly target?: "ts" | "wasm" | "auto";
  /** The build's unroll limit (default: compile()'s). */
  readonly unrollLimit?: number;
  /** Changes parameters and buffers before the run (e.g. random norm scales, running statistics). */
  readonly setup?: (m: Generated, p: Float32Array, buffers: Float32Array, rand: () => number) => void;
  /** Replaces the input (after it was drawn). */
  readonly input?: (x: Float32Array, rand: () => number) => void;
}

/** Builds a float32 module from `spec`, runs forward and backward on seeded data. */
export async function runGenerated(spec: string, options: RunOptions = {}): Promise<Run> {
  const { module: m, text } = await build(spec, {
    dtype: "float32",
    ...(options.target ? { target: options.target } : {}),
    ...(options.unrollLimit !== undefined ? { unrollLimit: options.unrollLimit } : {}),
  });
  const n = options.n ?? 3;
  const seed = options.seed ?? 1;
  const rand = seeded(1000 + seed);
  const scale = options.inputScale ?? 1;
  // The module's own array: under the WebAssembly target it lives in the kernels' memory (a copy would not).
  const p = m.createParams(seed) as unknown as Float32Array;
  const buffers = Float32Array.from(m.createBuffers());
  options.setup?.(m, p, buffers, rand);
  const x = new Float32Array(n * m.inputSize).map(() => rand() * scale);
  options.input?.(x, rand);
  const w = new Float32Array(n * m.outputSize).map(() => rand());
  const buffersBefore = Float32Array.from(buffers);
  const y = Float32Array.from(
    m.forward(p as never, x as never, n, { training: options.training ?? false, buffers: buffers as never }),
  );
  const gp = new Float32Array(m.paramCount);
  const gx = Float32Array.from(m.backward(p as never, w as never, gp as never));
  return { m, text, n, p, x, w, y, gx, gp, buffersBefore, buffersAfter: Float32Array.from(buffers) };
}

/** A parameter (or buffer) tensor of a run by state_dict name: its values and shape. */
export function tensorOf(
  m: Generated,
  flat: Float32Array,
  name: string,
  kind: "params" | "buffers" = "params",
): { data: Float32Array; shape: number[] } {
  const list = kind === "params" ? m.params : m.buffers;
  const info = list.find((t) => t.name === name);
  if (!info) throw new Error(`no ${kind} tensor ${name} (has ${list.map((t) => t.name).join(", ")})`);
  return { data: flat.slice(info.offset, info.offset + info.size), shape: [...info.shape] };
}

/** Fills a parameter tensor with values from `f` (e.g. norm scales away from 1). */
export function setTensor(
  m: Generated,
  flat: Float32Array,
  name: string,
  f: (i: number) => number,
  kind: "params" | "buffers" = "params",
): void {
  const list = kind === "params" ? m.params : m.buffers;
  const info = list.find((t) => t.name === name);
  if (!info) throw new Error(`no ${kind} tensor ${name}`);
  for (let i = 0; i < info.size; i++) flat[info.offset + i] = f(i);
}

export interface TfResult {
  readonly y: Float32Array;
  readonly gx: Float32Array;
  /** Gradients of the named parameters, in the generated module's layout. */
  readonly gp: ReadonlyMap<string, Float32Array>;
}

/**
 * Runs `f(x, params)` in TF.js on the run's input and every parameter (by state_dict name, in PyTorch
 * layout) and its gradients for the output gradient w (the gradients of Σ f · w).
 */
export function tfForwardBackward(run: Run, f: (x: tf.Tensor, ps: Record<string, tf.Tensor>) => tf.Tensor): TfResult {
  const names = run.m.params.map((t) => t.name);
  let result: TfResult | undefined;
  tf.tidy(() => {
    const xT = tf.tensor(run.x, [run.n, ...run.m.inputShape]);
    const pT = names.map((name) => {
      const t = tensorOf(run.m, run.p, name);
      return tf.tensor(t.data, t.shape);
    });
    const call = (...args: tf.Tensor[]) => {
      const ps: Record<string, tf.Tensor> = {};
      names.forEach((name, i) => (ps[name] = args[i + 1]!));
      return f(args[0]!, ps);
    };
    const y = call(xT, ...pT);
    const wT = tf.tensor(run.w, y.shape);
    // The gradients of Σ f · w.
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(call(...args), wT)))([xT, ...pT]);
    const gp = new Map<string, Float32Array>();
    names.forEach((name, i) => gp.set(name, grads[i + 1]!.dataSync() as Float32Array));
    result = { y: y.dataSync() as Float32Array, gx: grads[0]!.dataSync() as Float32Array, gp };
  });
  return result!;
}

/** Relative error floor, as a fraction of the largest expected magnitude: with a 1e-5 tolerance, an error
 *  of 1e-6 · max |expected| is always accepted (see the test file's header). */
export const FLOOR = 0.1;

/** max |got − expected| / max(|expected|, FLOOR · max |expected|). */
export function relError(got: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (got.length !== expected.length) throw new Error(`lengths differ: got ${got.length}, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  const floor = Math.max(FLOOR * scale, 1e-30);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** Where the largest relative error (as relError measures it) of two arrays sits, for failure messages. */
export function worstAt(got: ArrayLike<number>, expected: ArrayLike<number>): string {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  const floor = Math.max(FLOOR * scale, 1e-30);
  let at = 0;
  let worst = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor);
    if (e > worst || Number.isNaN(e)) {
      worst = Number.isNaN(e) ? Infinity : e;
      at = i;
    }
  }
  return `index ${at} of ${got.length}: got ${got[at]}, expected ${expected[at]}, largest |expected| ${scale}`;
}

// ── PyTorch ops written with TF.js (tensors in PyTorch's batch layout: [n, C, …spatial]) ─────────────────

type Pair = readonly [number, number];
const mut = (p: Pair): [number, number] => [p[0], p[1]];

/** Every s-th position of the spatial axes of an NHWC tensor (tf.gather: TF.js has no gradient for
 *  stridedSlice), for the cases TF.js refuses: strides together with dilation. */
function subsample(y: tf.Tensor, s: Pair): tf.Tensor {
  const every = (size: number, step: number) =>
    tf.tensor1d(
      Array.from({ length: Math.ceil(size / step) }, (_, i) => i * step),
      "int32",
    );
  let out = y;
  if (s[0] > 1) out = tf.gather(out, every(out.shape[1]!, s[0]), 1);
  if (s[1] > 1) out = tf.gather(out, every(out.shape[2]!, s[1]), 2);
  return out;
}

export interface Conv2dOptions {
  readonly stride?: Pair;
  /** [[top, bottom], [left, right]]. */
  readonly padding?: readonly [Pair, Pair];
  readonly dilation?: Pair;
  readonly groups?: number;
}

/** PyTorch's `padding = same` for one axis: d·(k−1) in total, the smaller half first. */
export function samePad(k: number, d = 1): Pair {
  const total = d * (k - 1);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** F.conv2d: x [n, C, H, W], weight [O, C/groups, kh, kw] → [n, O, H', W'] with tf.conv2d (NHWC, HWIO),
 *  tf.depthwiseConv2d when groups = C, and one tf.conv2d per group otherwise. Dilation by a zero-dilated
 *  filter: TF.js has no gradient for conv2d with dilations > 1. */
export function conv2d(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, o: Conv2dOptions = {}): tf.Tensor {
  const stride = o.stride ?? [1, 1];
  const dilation = o.dilation ?? [1, 1];
  const groups = o.groups ?? 1;
  const [pt, pb] = o.padding?.[0] ?? [0, 0];
  const [pl, pr] = o.padding?.[1] ?? [0, 0];
  const cin = x.shape[1]!;
  const w = dilateAxis(dilateAxis(weight, 2, dilation[0]), 3, dilation[1]);
  const [out, , kh, kw] = w.shape as [number, number, number, number];
  const xh = tf.pad(tf.transpose(x, [0, 2, 3, 1]), [
    [0, 0],
    [pt, pb],
    [pl, pr],
    [0, 0],
  ]) as tf.Tensor4D;
  const hwio = (t: tf.Tensor) => tf.transpose(t, [2, 3, 1, 0]) as tf.Tensor4D;
  let y: tf.Tensor4D;
  if (groups === 1) {
    y = tf.conv2d(xh, hwio(w), mut(stride), "valid", "NHWC");
  } else if (groups === cin && cin > 1) {
    // Depthwise: output channel c·mult + m reads input channel c, as in TF.js's [kh, kw, C, mult] filter.
    const filter = tf.reshape(hwio(w), [kh, kw, cin, out / cin]) as tf.Tensor4D;
    y = tf.depthwiseConv2d(xh, filter, mut(stride), "valid", "NHWC");
  } else {
    const xs = tf.split(xh, groups, 3);
    const ws = tf.split(w, groups, 0);
    y = tf.concat(
      xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, hwio(ws[g]!), mut(stride), "valid", "NHWC")),
      3,
    );
  }
  if (bias) y = tf.add(y, bias);
  return tf.transpose(y, [0, 3, 1, 2]);
}

/** F.conv1d: x [n, C, L], weight [O, C/groups, k] → [n, O, L'] with tf.conv1d (NWC, [k, in, out]);
 *  dilation by a zero-dilated filter, as for conv2d. */
export function conv1d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
  o: { stride?: number; padding?: Pair; dilation?: number; groups?: number } = {},
): tf.Tensor {
  const stride = o.stride ?? 1;
  const groups = o.groups ?? 1;
  const [pa, pb] = o.padding ?? [0, 0];
  const w = dilateAxis(weight, 2, o.dilation ?? 1);
  const xl = tf.pad(tf.transpose(x, [0, 2, 1]), [
    [0, 0],
    [pa, pb],
    [0, 0],
  ]) as tf.Tensor3D;
  const kio = (t: tf.Tensor) => tf.transpose(t, [2, 1, 0]) as tf.Tensor3D;
  const one = (xg: tf.Tensor3D, wg: tf.Tensor) => tf.conv1d(xg, kio(wg), stride, "valid", "NWC");
  const ws = tf.split(w, groups, 0);
  let y =
    groups === 1
      ? one(xl, w)
      : tf.concat(
          tf.split(xl, groups, 2).map((xg, g) => one(xg as tf.Tensor3D, ws[g]!)),
          2,
        );
  if (bias) y = tf.add(y, bias);
  return tf.transpose(y, [0, 2, 1]);
}

/** Inserts d − 1 zeros between the elements of one axis (a dilated kernel). */
function dilateAxis(t: tf.Tensor, axis: number, d: number): tf.Tensor {
  if (d === 1) return t;
  const k = t.shape[axis]!;
  const zero = tf.zerosLike(t);
  const stacked = tf.stack([t, ...Array.from({ length: d - 1 }, () => zero)], axis + 1);
  const shape = [...t.shape];
  shape[axis] = k * d;
  const size = [...shape];
  size[axis] = d * (k - 1) + 1;
  return tf.slice(
    tf.reshape(stacked, shape),
    shape.map(() => 0),
    size,
  );
}

/** F.conv_transpose2d: x [n, C, H, W], weight [C, O/groups, kh, kw] → [n, O, H', W'] with
 *  tf.conv2dTranspose (filter [kh, kw, out, in]), zero-dilated filters for dilation, one call per group,
 *  and the PyTorch padding / output_padding applied by cropping the full ('valid') result. */
export function convTranspose2d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
  o: { stride?: Pair; padding?: Pair; outputPadding?: Pair; dilation?: Pair; groups?: number } = {},
): tf.Tensor {
  const [sh, sw] = o.stride ?? [1, 1];
  const [ph, pw] = o.padding ?? [0, 0];
  const [oph, opw] = o.outputPadding ?? [0, 0];
  const [dh, dw] = o.dilation ?? [1, 1];
  const groups = o.groups ?? 1;
  const [n, , H, W] = x.shape as [number, number, number, number];
  const xh = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
  const xs = groups === 1 ? [xh] : tf.split(xh, groups, 3);
  const ws = groups === 1 ? [weight] : tf.split(weight, groups, 0);
  const parts = xs.map((xg, g) => {
    const wg = dilateAxis(dilateAxis(ws[g]!, 2, dh), 3, dw);
    const [, outg, khd, kwd] = wg.shape as [number, number, number, number];
    const filter = tf.transpose(wg, [2, 3, 1, 0]) as tf.Tensor4D;
    return tf.conv2dTranspose(
      xg as tf.Tensor4D,
      filter,
      [n, (H - 1) * sh + khd, (W - 1) * sw + kwd, outg],
      [sh, sw],
      "valid",
    );
  });
  let y = groups === 1 ? parts[0]! : tf.concat(parts, 3);
  const [, Hf, Wf] = y.shape;
  const Ho = Hf - 2 * ph + oph;
  const Wo = Wf - 2 * pw + opw;
  y = tf.pad(y, [
    [0, 0],
    [0, Math.max(0, ph + Ho - Hf)],
    [0, Math.max(0, pw + Wo - Wf)],
    [0, 0],
  ]);
  y = tf.slice(y, [0, ph, pw, 0], [n, Ho, Wo, y.shape[3]]);
  if (bias) y = tf.add(y, bias);
  return tf.transpose(y, [0, 3, 1, 2]);
}

export interface PoolOptions {
  readonly kernel: Pair;
  readonly stride?: Pair;
  readonly padding?: Pair;
  readonly dilation?: Pair;
  readonly ceilMode?: boolean;
  readonly countIncludePad?: boolean;
}

/** PyTorch's pooled length (with its ceil_mode rule: the last window starts inside input or left pad). */
export function pooledSize(L: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const num = L + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  if (ceil && (o - 1) * s >= L + p) o -= 1;
  return o;
}

/**
 * F.max_pool2d / F.avg_pool2d on x [n, C, H, W]. Max: tf.maxPool (tf.pool when dilated) on the input
 * padded with −∞. Average: tf.avgPool of the zero-padded input divided by tf.avgPool of a mask of the
 * positions PyTorch counts (input and padding with count_include_pad, input only without; never the
 * extra right margin ceil_mode adds), which gives PyTorch's divisor exactly.
 */
export function pool2d(kind: "max" | "avg", x: tf.Tensor, o: PoolOptions): tf.Tensor {
  const k = o.kernel;
  const s = o.stride ?? k;
  const p = o.padding ?? [0, 0];
  const d = o.dilation ?? [1, 1];
  const ceil = o.ceilMode ?? false;
  const [n, C, H, W] = x.shape as [number, number, number, number];
  const out = [pooledSize(H, k[0], s[0], p[0], d[0], ceil), pooledSize(W, k[1], s[1], p[1], d[1], ceil)] as const;
  // Right margin so that the last window fits ('valid' pooling of the padded input).
  const extra = [0, 1].map((i) =>
    Math.max(0, (out[i]! - 1) * s[i]! + d[i]! * (k[i]! - 1) + 1 - ([H, W][i]! + 2 * p[i]!)),
  );
  const pads: [number, number][] = [
    [0, 0],
    [p[0], p[0] + extra[0]!],
    [p[1], p[1] + extra[1]!],
    [0, 0],
  ];
  const xh = tf.transpose(x, [0, 2, 3, 1]);
  const crop = (y: tf.Tensor) => tf.slice(y, [0, 0, 0, 0], [n, out[0], out[1], C]);
  let y: tf.Tensor;
  if (kind === "max") {
    const xp = tf.pad(xh, pads, -Infinity) as tf.Tensor4D;
    const dilated = d[0] > 1 || d[1] > 1;
    const both = dilated && (s[0] > 1 || s[1] > 1);
    y = dilated
      ? tf.pool(
          xp,
          k as [number, number],
          "max",
          "valid",
          d as [number, number],
          both ? [1, 1] : (s as [number, number]),
        )
      : tf.maxPool(xp, k as [number, number], s as [number, number], "valid");
    if (both) y = subsample(y, s);
  } else {
    const sum = tf.avgPool(tf.pad(xh, pads) as tf.Tensor4D, k as [number, number], s as [number, number], "valid");
    const counted =
      (o.countIncludePad ?? true)
        ? tf.ones([1, H + 2 * p[0], W + 2 * p[1], 1])
        : tf.pad(tf.ones([1, H, W, 1]), [
            [0, 0],
            [p[0], p[0]],
            [p[1], p[1]],
            [0, 0],
          ]);
    const mask = tf.pad(counted, [
      [0, 0],
      [0, extra[0]!],
      [0, extra[1]!],
      [0, 0],
    ]) as tf.Tensor4D;
    y = tf.div(sum, tf.avgPool(mask, k as [number, number], s as [number, number], "valid"));
  }
  return tf.transpose(crop(y), [0, 3, 1, 2]);
}

/** The 1d pools through pool2d on [n, C, 1, L]. */
export function pool1d(
  kind: "max" | "avg",
  x: tf.Tensor,
  o: {
    kernel: number;
    stride?: number;
    padding?: number;
    dilation?: number;
    ceilMode?: boolean;
    countIncludePad?: boolean;
  },
): tf.Tensor {
  const [n, C, L] = x.shape as [number, number, number];
  const y = pool2d(kind, tf.reshape(x, [n, C, 1, L]), {
    kernel: [1, o.kernel],
    stride: [1, o.stride ?? o.kernel],
    padding: [0, o.padding ?? 0],
    dilation: [1, o.dilation ?? 1],
    ...(o.ceilMode !== undefined ? { ceilMode: o.ceilMode } : {}),
    ...(o.countIncludePad !== undefined ? { countIncludePad: o.countIncludePad } : {}),
  });
  return tf.reshape(y, [n, C, y.shape[3]!]);
}

/** F.adaptive_avg_pool over the trailing axes of x: window i of an axis of L into S covers
 *  [⌊i·L/S⌋, ⌈(i+1)·L/S⌉). Uses tf.avgPool when every axis divides evenly, tf.slice + tf.mean otherwise. */
export function adaptiveAvgPool(x: tf.Tensor, size: readonly number[]): tf.Tensor {
  const rank = size.length;
  const spatial = x.shape.slice(2);
  const [n, C] = x.shape as [number, number];
  if (spatial.every((L, i) => L % size[i]! === 0)) {
    const k = spatial.map((L, i) => L / size[i]!);
    const x4 = tf.reshape(tf.transpose(x, rank === 1 ? [0, 2, 1] : [0, 2, 3, 1]), [
      n,
      rank === 1 ? 1 : spatial[0]!,
      spatial[rank - 1]!,
      C,
    ]) as tf.Tensor4D;
    const y = tf.avgPool(
      x4,
      rank === 1 ? [1, k[0]!] : [k[0]!, k[1]!],
      rank === 1 ? [1, k[0]!] : [k[0]!, k[1]!],
      "valid",
    );
    return tf.reshape(tf.transpose(y, [0, 3, 1, 2]), [n, C, ...size]);
  }
  const windows = (L: number, S: number) =>
    Array.from({ length: S }, (_, i) => [Math.floor((i * L) / S), Math.ceil(((i + 1) * L) / S)] as const);
  const cells: tf.Tensor[] = [];
  const axes = spatial.map((L, i) => windows(L, size[i]!));
  const visit = (prefix: (readonly [number, number])[]) => {
    if (prefix.length === rank) {
      const begin = [0, 0, ...prefix.map((w) => w[0])];
      const sz = [n, C, ...prefix.map((w) => w[1] - w[0])];
      cells.push(
        tf.mean(
          tf.slice(x, begin, sz),
          Array.from({ length: rank }, (_, i) => i + 2),
        ),
      );
      return;
    }
    for (const w of axes[prefix.length]!) visit([...prefix, w]);
  };
  visit([]);
  return tf.reshape(tf.stack(cells, 2), [n, C, ...size]);
}

/** Moves `axis` of x to the end, applies f, moves it back (TF.js softmax works on the last axis only). */
export function alongAxis(x: tf.Tensor, axis: number, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const rank = x.rank;
  const a = axis < 0 ? axis + rank : axis;
  if (a === rank - 1) return f(x);
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[a] = rank - 1;
  perm[rank - 1] = a;
  return tf.transpose(f(tf.transpose(x, perm)), perm);
}

/** Reshapes a per-channel vector [C] to broadcast over x [n, C, …]. */
export function perChannel(v: tf.Tensor, rank: number): tf.Tensor {
  return tf.reshape(v, [1, v.shape[0]!, ...Array.from({ length: rank - 2 }, () => 1)]);
}

type Triple = readonly [number, number, number];

/** F.conv3d (groups 1, no dilation): x [n, C, D, H, W], weight [O, C, kd, kh, kw] → [n, O, D', H', W'] with
 *  tf.conv3d (NDHWC, filter [kd, kh, kw, in, out]) on the zero-padded input. */
export function conv3d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
  o: { stride?: Triple; padding?: Triple } = {},
): tf.Tensor {
  const s = o.stride ?? [1, 1, 1];
  const p = o.padding ?? [0, 0, 0];
  const xd = tf.pad(tf.transpose(x, [0, 2, 3, 4, 1]), [
    [0, 0],
    [p[0], p[0]],
    [p[1], p[1]],
    [p[2], p[2]],
    [0, 0],
  ]);
  const filter = tf.transpose(weight, [2, 3, 4, 1, 0]) as tf.Tensor5D;
  let y = tf.conv3d(xd as tf.Tensor5D, filter, [s[0], s[1], s[2]], "valid", "NDHWC");
  if (bias) y = tf.add(y, bias);
  return tf.transpose(y, [0, 4, 1, 2, 3]);
}

/** F.max_pool3d / F.avg_pool3d (no dilation, no ceil_mode) on x [n, C, D, H, W]: tf.maxPool3d of the input
 *  padded with −∞; tf.avgPool3d of the zero-padded input divided by tf.avgPool3d of a mask of the positions
 *  PyTorch counts (count_include_pad: input and padding; otherwise the input only). */
export function pool3d(
  kind: "max" | "avg",
  x: tf.Tensor,
  o: { kernel: Triple; stride?: Triple; padding?: Triple; countIncludePad?: boolean },
): tf.Tensor {
  const k: [number, number, number] = [o.kernel[0], o.kernel[1], o.kernel[2]];
  const s: [number, number, number] = o.stride ? [o.stride[0], o.stride[1], o.stride[2]] : k;
  const p = o.padding ?? [0, 0, 0];
  const [, , D, H, W] = x.shape as [number, number, number, number, number];
  const pads: [number, number][] = [
    [0, 0],
    [p[0], p[0]],
    [p[1], p[1]],
    [p[2], p[2]],
    [0, 0],
  ];
  const xd = tf.transpose(x, [0, 2, 3, 4, 1]);
  let y: tf.Tensor;
  if (kind === "max") y = tf.maxPool3d(tf.pad(xd, pads, -Infinity) as tf.Tensor5D, k, s, "valid");
  else {
    const sum = tf.avgPool3d(tf.pad(xd, pads) as tf.Tensor5D, k, s, "valid");
    const counted =
      (o.countIncludePad ?? true)
        ? tf.ones([1, D + 2 * p[0], H + 2 * p[1], W + 2 * p[2], 1])
        : tf.pad(tf.ones([1, D, H, W, 1]), pads);
    y = tf.div(sum, tf.avgPool3d(counted as tf.Tensor5D, k, s, "valid"));
  }
  return tf.transpose(y, [0, 4, 1, 2, 3]);
}

/** F.interpolate on x [n, C, H, W] to [h, w]: tf.image.resizeNearestNeighbor (source ⌊o · in/out⌋, PyTorch's
 *  `nearest` for whole factors) or tf.image.resizeBilinear with align_corners (source o · (in − 1)/(out − 1),
 *  as PyTorch's). */
export function resize2d(x: tf.Tensor, size: Pair, mode: "nearest" | "bilinear-align-corners"): tf.Tensor {
  const xh = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
  const y =
    mode === "nearest"
      ? tf.image.resizeNearestNeighbor(xh, mut(size), false, false)
      : tf.image.resizeBilinear(xh, mut(size), true, false);
  return tf.transpose(y, [0, 3, 1, 2]);
}
