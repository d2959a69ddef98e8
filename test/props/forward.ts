// The forward check of property 3 (test/props.test.ts), apart so that a failing spec can be run alone: a
// spec built as a float64 module, random weights loaded by name, the module's forward against the naive
// interpreter (interpreter.ts) of the same expanded graph.
import { lower } from "../../src/lower/lower.js";
import { expect } from "vitest";
import { compile } from "../../src/emit/compile.js";
import { checkProgram } from "../../src/program/check.js";
import { functionLoader, memoryHost } from "../fuzz/oracle.js";
import { rng } from "../fuzz/rng.js";
import { interpret } from "./interpreter.js";

/** Checks a spec and returns its one model's counting analysis (memoized, not expanded) or expanded
 *  analysis, failing on any diagnostic: the arbitraries make only well-formed specs. */
export function analyzed(text: string, expand: boolean) {
  const r = checkProgram("m.nn", memoryHost({ "m.nn": text }), text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || r.value.models.length !== 1)
    throw new Error(`spec does not check:\n${text}\n${errors.map((d) => `${d.code} ${d.message}`).join("\n")}`);
  const m = r.value.models[0]!;
  // Expanded: the lowering pass's ops, values and tensors (src/lower/), every copy spelled out.
  if (!expand) return m;
  const { ops, values, tensors, inputIds, outputIds } = lower(m.analysis);
  return { ...m, analysis: { ...m.analysis, ops, values, tensors, inputIds, outputIds } };
}

interface Module {
  paramCount: number;
  bufferCount: number;
  inputs: readonly { shape: readonly number[]; size: number; dtype: string; vocab?: number }[];
  params: readonly {
    name: string;
    shape: readonly number[];
    offset: number;
    size: number;
    trainable: boolean;
    tiedTo?: string;
  }[];
  buffers: readonly { name: string; offset: number; size: number }[];
  createParams(seed?: number): Float64Array;
  createBuffers(): Float64Array;
  forward(p: Float64Array, input: unknown, n: number, options?: Record<string, unknown>): Float64Array | Float64Array[];
}

/** Op kinds of every expanded graph compared so far. */
export const covered = new Set<string>();

export interface ForwardOptions {
  /** Forward in training mode (BatchNorm on the batch's statistics); only for specs without dropout. */
  readonly training?: boolean;
  readonly tamper?: (ts: string) => string;
  readonly replace?: Readonly<Record<string, (x: number) => number>>;
}

/** Builds `text` (float64), loads random weights by name, runs the module and the interpreter on a random
 *  batch of `n` and compares every output element. */
export async function forwardAgrees(text: string, s: number, n: number, options: ForwardOptions = {}): Promise<void> {
  const expanded = analyzed(text, true);
  const built = await compile(text, { dtype: "float64", format: false }, "m.nn", memoryHost({ "m.nn": text }));
  expect(
    built.diagnostics.filter((d) => d.severity === "error"),
    text,
  ).toEqual([]);
  let ts = built.files[0]!.text;
  if (options.tamper) ts = options.tamper(ts);
  const m = (await functionLoader(ts)) as Module;

  // The manifest: the counted figures again, now as the module stores them.
  const f = expanded.figures;
  expect(m.paramCount, text).toBe(Number(f.params));
  expect(
    m.params.filter((t) => t.tiedTo === undefined).reduce((x, t) => x + t.size, 0),
    text,
  ).toBe(Number(f.params));
  expect(m.params.filter((t) => t.tiedTo === undefined && t.trainable).reduce((x, t) => x + t.size, 0)).toBe(
    Number(f.trainable),
  );
  expect(m.bufferCount, text).toBe(Number(f.buffers));

  // Weights by name: random values, a positive running variance; tied names read their target's.
  const r = rng(s);
  const weights = new Map<string, Float64Array>();
  const p = new Float64Array(m.paramCount);
  for (const t of m.params)
    if (t.tiedTo === undefined) {
      const v = Float64Array.from({ length: t.size }, () => r.next() * 2 - 1);
      weights.set(t.name, v);
      p.set(v, t.offset);
    }
  for (const t of m.params)
    if (t.tiedTo !== undefined) {
      const target = weights.get(t.tiedTo)!;
      const tie = expanded.analysis.tensors.find((x) => x.name === t.name);
      if (!tie?.tiedTransposed) weights.set(t.name, target);
      else {
        // `tie = transpose(wte)`: this [c, V] weight is the [V, c] target transposed.
        const [rows, cols] = t.shape as [number, number];
        weights.set(
          t.name,
          Float64Array.from({ length: rows * cols }, (_, e) => target[(e % cols) * rows + Math.floor(e / cols)]!),
        );
      }
    }
  const buffers = new Map<string, Float64Array>();
  const bf = m.createBuffers();
  for (const t of m.buffers) {
    const v = Float64Array.from({ length: t.size }, () =>
      t.name.endsWith("running_var") ? 0.5 + r.next() * 1.5 : t.name.endsWith("running_mean") ? r.next() - 0.5 : 0,
    );
    if (t.name.endsWith("num_batches_tracked")) continue;
    buffers.set(t.name, v);
    bf.set(v, t.offset);
  }
  const input = m.inputs[0]!;
  const x =
    input.dtype === "token"
      ? Float64Array.from({ length: n * input.size }, () => r.int(0, input.vocab! - 1))
      : Float64Array.from({ length: n * input.size }, () => r.next() * 4 - 2);
  const fed = input.dtype === "token" ? Int32Array.from(x) : Float64Array.from(x);
  const training = options.training === true;
  if (training && /dropout/.test(text)) throw new Error("training mode with dropout: not comparable");
  const got = m.forward(p, fed, n, { buffers: bf, training });
  const ys = Array.isArray(got) ? got : [got];
  const want = interpret(expanded.analysis, [x], n, {
    training,
    weights,
    buffers,
    ...(options.replace ? { replace: options.replace } : {}),
  });
  expect(ys.length).toBe(want.length);
  want.forEach((w, i) => {
    const y = ys[i]!;
    expect(y.length, text).toBe(w.length);
    for (let j = 0; j < w.length; j++) {
      const err = Math.abs(y[j]! - w[j]!);
      if (!(err <= 1e-9 * (1 + Math.abs(w[j]!))))
        expect.fail(`output ${i}[${j}]: module ${y[j]}, interpreter ${w[j]} (batch ${n})\n${text}`);
    }
  });
  for (const op of expanded.analysis.ops) covered.add(op.kind);
}
