// Builds a spec with the code generator and imports the generated module, for tests. Each build is written
// to its own file under test/.tmp/ (ignored by git), so every module has its own workspace state.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compile, type CompileOptions } from "../../src/emit/compile.js";

/** The generated module's API, loosely typed for tests (the generated code itself is strictly typed). */
export interface Generated {
  modelName: string;
  paramCount: number;
  bufferCount: number;
  inputSize: number;
  outputSize: number;
  inputShape: readonly number[];
  outputShape: readonly number[];
  params: readonly {
    name: string;
    shape: readonly number[];
    role: string;
    offset: number;
    size: number;
    trainable: boolean;
    tiedTo?: string;
  }[];
  buffers: readonly { name: string; shape: readonly number[]; role: string; offset: number; size: number }[];
  createParams(seed?: number): Float64Array;
  createBuffers(): Float64Array;
  forward(
    p: ArrayLike<number>,
    input: ArrayLike<number>,
    n: number,
    options?: { training?: boolean; buffers?: ArrayLike<number>; seed?: number },
  ): Float64Array;
  backward(p: ArrayLike<number>, outputGrad: ArrayLike<number>, grads: ArrayLike<number>): Float64Array;
  mseLoss(output: ArrayLike<number>, target: ArrayLike<number>, n: number, grad?: ArrayLike<number>): number;
  crossEntropyLoss(logits: ArrayLike<number>, targets: ArrayLike<number>, n: number, grad?: ArrayLike<number>): number;
  binaryCrossEntropyLoss(
    output: ArrayLike<number>,
    target: ArrayLike<number>,
    n: number,
    grad?: ArrayLike<number>,
    fromLogits?: boolean,
  ): number;
  createTrainer(
    options: Record<string, unknown>,
    params?: ArrayLike<number>,
  ): { params: Float64Array; buffers: Float64Array; steps: number };
  trainStep(trainer: unknown, input: ArrayLike<number>, target: ArrayLike<number>, n: number): number;
}

const dir = path.resolve("test/.tmp");

export async function build(
  source: string,
  options: CompileOptions = {},
): Promise<{ module: Generated; text: string; file: string }> {
  const result = await compile(source, options, "spec.nn");
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0)
    throw new Error(errors.map((d) => `${d.code} ${d.span?.line}:${d.span?.column} ${d.message}`).join("\n"));
  const file = result.files[0]!;
  fs.mkdirSync(dir, { recursive: true });
  const hash = createHash("sha256").update(file.text).update(String(Math.random())).digest("hex").slice(0, 16);
  const target = path.join(dir, `m_${hash}.ts`);
  fs.writeFileSync(target, file.text);
  const module = (await import(pathToFileURL(target).href)) as Generated;
  return { module, text: file.text, file: target };
}

/** Sets a generated module's parameters (and buffers) from PyTorch tensors by `state_dict` name. */
export function loadStateDict(
  m: Generated,
  tensors: readonly { name: string; data: readonly number[] }[],
  target: Float64Array | Float32Array,
  kind: "params" | "buffers" = "params",
): void {
  const list = kind === "params" ? m.params : m.buffers;
  for (const t of tensors) {
    const info = list.find((x) => x.name === t.name);
    if (!info)
      throw new Error(
        `no ${kind} tensor ${t.name} in the generated module (has ${list.map((x) => x.name).join(", ")})`,
      );
    if (info.size !== t.data.length) throw new Error(`${t.name}: ${t.data.length} values for ${info.size} elements`);
    target.set(t.data, info.offset);
  }
}

/** Largest relative error max|a-b| / max(|b|, floor) over two arrays. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-8): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return worst;
}

/** max|a − b| / max|b|: the error relative to the reference's scale, for tensors with elements that are
 *  zero up to rounding (a key bias's gradient: adding q·b_k to a whole row of scores leaves the softmax
 *  unchanged), which an element-wise relative error would blow up. */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

/** Seeded uniform numbers in [-1, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/**
 * Central finite differences of L = Σ w·forward(params, input) (w fixed random weights) against the
 * generated backward, for every parameter and input element (or a seeded sample of at most `limit`).
 * Returns the largest relative error, with a floor of 1e-6 on the magnitude (float64 modules).
 */
export function gradientCheck(
  m: Generated,
  n: number,
  options: { seed?: number; limit?: number; h?: number; training?: boolean } = {},
): { params: number; input: number } {
  const rand = seeded(options.seed ?? 7);
  const p = m.createParams(options.seed ?? 1);
  const x = new Float64Array(n * m.inputSize).map(() => rand());
  const w = new Float64Array(n * m.outputSize).map(() => rand());
  const fopts = { training: options.training ?? false, seed: 99 };
  const lossAt = (pp: Float64Array, xx: Float64Array) => {
    const y = m.forward(pp, xx, n, { ...fopts, buffers: m.createBuffers() });
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  m.forward(p, x, n, { ...fopts, buffers: m.createBuffers() });
  const grads = new Float64Array(m.paramCount);
  const gx = Float64Array.from(m.backward(p, w, grads));
  const h = options.h ?? 1e-6;
  const limit = options.limit ?? 200;
  const pick = (count: number) => {
    if (count <= limit) return Array.from({ length: count }, (_, i) => i);
    return Array.from({ length: limit }, () => Math.floor(((rand() + 1) / 2) * count));
  };
  const check = (values: Float64Array, analytic: ArrayLike<number>, which: "p" | "x") => {
    let worst = 0;
    for (const i of pick(values.length)) {
      const keep = values[i]!;
      values[i] = keep + h;
      const up = which === "p" ? lossAt(values, x) : lossAt(p, values);
      values[i] = keep - h;
      const down = which === "p" ? lossAt(values, x) : lossAt(p, values);
      values[i] = keep;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(
        worst,
        Math.abs(numeric - analytic[i]!) / Math.max(Math.abs(numeric), Math.abs(analytic[i]!), 1e-6),
      );
    }
    return worst;
  };
  return { params: check(p as Float64Array, grads, "p"), input: check(x, gx, "x") };
}

/** A float64 module of one input or several, as `inputsFdError` calls it. */
export interface InputsModule {
  readonly paramCount: number;
  readonly outputSize: number;
  createParams(seed?: number): Float64Array;
  forward(p: Float64Array, input: Float64Array | readonly Float64Array[], n: number): Float64Array;
  backward(p: Float64Array, outputGrad: Float64Array, grads: Float64Array): Float64Array | readonly Float64Array[];
}

/** The worst relative error of `backward` against fourth-order central differences of Σ y·w, over every
 *  parameter and every element of every input (`sizes`: elements per sample of each input; one input is
 *  passed as its array, several as a list). Errors are relative to at least `floor`: a gradient that is
 *  exactly zero (attention's key bias) is rounding noise on both sides. */
export function inputsFdError(
  m: InputsModule,
  sizes: readonly number[],
  n: number,
  options: { readonly seed: number; readonly floor: number; readonly h?: number },
): number {
  const h = options.h ?? 1e-3;
  const rand = seeded(options.seed);
  const p = m.createParams(options.seed);
  const xs = sizes.map((s) => Float64Array.from({ length: n * s }, () => rand() * 2 - 1));
  const arg = () => (xs.length === 1 ? xs[0]! : xs);
  const w = Float64Array.from({ length: n * m.outputSize }, () => rand() * 2 - 1);
  const loss = () => {
    const y = m.forward(p, arg(), n);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  m.forward(p, arg(), n);
  const gp = new Float64Array(m.paramCount);
  const back = m.backward(p, w, gp);
  const gx = (back instanceof Float64Array ? [back] : back).map((g) => Float64Array.from(g));
  let worst = 0;
  const compare = (values: Float64Array, analytic: Float64Array) => {
    for (let i = 0; i < values.length; i++) {
      const keep = values[i]!;
      const f = (e: number) => {
        values[i] = keep + e;
        const v = loss();
        values[i] = keep;
        return v;
      };
      const numeric = (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h);
      const e = Math.abs(numeric - analytic[i]!) / Math.max(Math.abs(numeric), Math.abs(analytic[i]!), options.floor);
      worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
    }
  };
  compare(p, gp);
  xs.forEach((x, k) => compare(x, gx[k]!));
  return worst;
}
