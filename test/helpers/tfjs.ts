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
  /** Changes parameters and buffers before the run (e.g. random norm scales, running statistics). */
  readonly setup?: (m: Generated, p: Float32Array, buffers: Float32Array, rand: () => number) => void;
  /** Replaces the input (after it was drawn). */
  readonly input?: (x: Float32Array, rand: () => number) => void;
}

/** Builds a float32 module from `spec`, runs forward and backward on seeded data. */
export async function runGenerated(spec: string, options: RunOptions = {}): Promise<Run> {
  const { module: m } = await build(spec, { dtype: "float32" });
  const n = options.n ?? 3;
  const seed = options.seed ?? 1;
  const rand = seeded(1000 + seed);
  const scale = options.inputScale ?? 1;
  const p = Float32Array.from(m.createParams(seed));
  const buffers = Float32Array.from(m.createBuffers());
  options.setup?.(m, p, buffers, rand);
  const x = new Float32Array(n * m.inputSize).map(() => rand() * scale);
  options.input?.(x, rand);
  const w = new Float32Array(n * m.outputSize).map(() => rand());
  const buffersBefore = Float32Array.from(buffers);
  const y = Float32Array.from(m.forward(p as never, x as never, n, { training: options.training ?? false, buffers: buffers as never }));
  const gp = new Float32Array(m.paramCount);
  const gx = Float32Array.from(m.backward(p as never, w as never, gp as never));
  return { m, n, p, x, w, y, gx, gp, buffersBefore, buffersAfter: Float32Array.from(buffers) };
}

/** A parameter (or buffer) tensor of a run by state_dict name: its values and shape. */
export function tensorOf(m: Generated, flat: Float32Array, name: string, kind: "params" | "buffers" = "params"): { data: Float32Array; shape: number[] } {
  const list = kind === "params" ? m.params : m.buffers;
  const info = list.find((t) => t.name === name);
  if (!info) throw new Error(`no ${kind} tensor ${name} (has ${list.map((t) => t.name).join(", ")})`);
  return { data: flat.slice(info.offset, info.offset + info.size), shape: [...info.shape] };
}

/** Fills a parameter tensor with values from `f` (e.g. norm scales away from 1). */
export function setTensor(m: Generated, flat: Float32Array, name: string, f: (i: number) => number, kind: "params" | "buffers" = "params"): void {
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
 * Runs `f(x, params)` in TF.js on the run's input and parameters (named state_dict tensors, in PyTorch
 * layout) and its gradients for the output gradient w (the gradient of Σ f · w).
 */
export function tfForwardBackward(run: Run, names: readonly string[], f: (x: tf.Tensor, ps: Record<string, tf.Tensor>) => tf.Tensor): TfResult {
  return tf.tidy(() => {
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
    // The gradient of Σ f · w.
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(call(...args), wT)))([xT, ...pT]);
    const gp = new Map<string, Float32Array>();
    names.forEach((name, i) => gp.set(name, grads[i + 1]!.dataSync() as Float32Array));
    return { y: y.dataSync() as Float32Array, gx: grads[0]!.dataSync() as Float32Array, gp };
  });
}

/** Relative error floor: a fraction of the largest expected magnitude (see the test file's header). */
export const FLOOR = 1e-2;

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

/** Where the largest error of two arrays sits, for failure messages. */
export function worstAt(got: ArrayLike<number>, expected: ArrayLike<number>): string {
  let at = 0;
  let worst = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    if (d > worst || Number.isNaN(d)) {
      worst = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  return `index ${at}: got ${got[at]}, expected ${expected[at]}`;
}
