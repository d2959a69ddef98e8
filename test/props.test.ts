// Property tests (issue 14 item 7), with fast-check over random well-formed specs (test/props/arbitraries.ts:
// structured values printed to `.nn`, so a failure shrinks to a small spec):
// 1. the counted figures (params, weights, biases, trainable, frozen, buffers, ties counted once) equal a sum
//    over the tensors of the expanded program (every copy of a repeat its own op), computed here;
// 2. `format` changes no figure and is idempotent;
// 3. every built float64 module's forward equals a naive interpreter of the same expanded graph
//    (test/props/interpreter.ts), with the same weights loaded by name.
// Each property is also shown to fail on a broken count, formatter or activation (the "mutants" below).
//
// `npm test` runs a fixed seed and a few dozen specs per property (≈ 15 s on the shared machine); a longer
// or different run: NNC_PROPS_RUNS=2000 NNC_PROPS_SEED=7 npx vitest run test/props.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile } from "../src/emit/compile.js";
import { format } from "../src/format/format.js";
import { checkProgram } from "../src/program/check.js";
import { functionLoader, memoryHost } from "./fuzz/oracle.js";
import { rng } from "./fuzz/rng.js";
import { printSpec, specArb, type SpecValue } from "./props/arbitraries.js";
import { interpret, interpretedKinds, type Analysis, type Tensors } from "./props/interpreter.js";

const seed = Number(process.env["NNC_PROPS_SEED"] ?? 20_261_205);
const runs = Number(process.env["NNC_PROPS_RUNS"] ?? 0);
const params = <T>(numRuns: number): fc.Parameters<T> => ({
  seed,
  numRuns: runs || numRuns,
  endOnFailure: false,
});

/** The figures a property compares (bigints). */
interface Counts {
  params: bigint;
  weights: bigint;
  biases: bigint;
  trainable: bigint;
  frozen: bigint;
  buffers: bigint;
  paramsIfTiesCountedTwice: bigint;
}

/** Checks a spec and returns its one model's counting analysis (memoized, not expanded) or expanded
 *  analysis, failing on any diagnostic: the arbitraries make only well-formed specs. */
function analyzed(text: string, expand: boolean) {
  const r = checkProgram("m.nn", memoryHost({ "m.nn": text }), text, { expand });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || r.value.models.length !== 1)
    throw new Error(`spec does not check:\n${text}\n${errors.map((d) => `${d.code} ${d.message}`).join("\n")}`);
  return r.value.models[0]!;
}

function counted(text: string): Counts {
  const f = analyzed(text, false).figures;
  return {
    params: f.params,
    weights: f.weights,
    biases: f.biases,
    trainable: f.trainable,
    frozen: f.nonTrainable,
    buffers: f.buffers,
    paramsIfTiesCountedTwice: f.paramsIfTiesCountedTwice,
  };
}

/** The figures summed here over the expanded program: every op's tensors once (a repeat's copies are ops
 *  of their own), a tied tensor not at all (its storage is its target's) except in the ties-twice figure,
 *  a bias being a tensor whose PyTorch name's last part starts with `bias` (`bias`, `bias_ih_l0`). */
function summed(a: Analysis): Counts {
  const c: Counts = {
    params: 0n,
    weights: 0n,
    biases: 0n,
    trainable: 0n,
    frozen: 0n,
    buffers: 0n,
    paramsIfTiesCountedTwice: 0n,
  };
  const seen = new Set<string>();
  for (const op of a.ops)
    for (const t of op.tensors) {
      if (seen.has(t.name)) throw new Error(`tensor \`${t.name}\` listed by two ops`);
      seen.add(t.name);
      if (t.multiplicity !== 1n) throw new Error(`expanded tensor \`${t.name}\` has ${t.multiplicity} copies`);
      const n = t.shape.reduce((x, y) => x * y, 1n);
      if (t.role === "buffer") {
        c.buffers += n;
        continue;
      }
      c.paramsIfTiesCountedTwice += n;
      if (t.tiedTo !== undefined) continue;
      c.params += n;
      if (/^bias/.test(t.name.split(".").pop()!)) c.biases += n;
      else c.weights += n;
      if (t.frozen) c.frozen += n;
      else c.trainable += n;
    }
  return c;
}

const show = (c: Counts) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));

// ── 1. counts ────────────────────────────────────────────────────────────────────────────────────────────

/** Property 1, with the figures to test as a parameter (the real ones, or a mutant's). */
const countProperty = (figures: (text: string) => Counts) =>
  fc.property(specArb, (spec) => {
    const { text } = printSpec(spec);
    expect(show(figures(text)), text).toEqual(show(summed(analyzed(text, true).analysis)));
  });

describe("property: the count is the sum over the expanded tensor list", () => {
  it("for random well-formed specs (params, weights, biases, trainable, frozen, buffers, ties once)", () => {
    fc.assert(countProperty(counted), params(150));
  });

  it("fails on an off-by-one in a figure, or ties counted twice (shrunk to a small spec)", () => {
    const offByOne = fc.check(
      countProperty((t) => {
        const c = counted(t);
        return { ...c, frozen: c.frozen > 0n ? c.frozen - 1n : c.frozen };
      }),
      params(150),
    );
    expect(offByOne.failed).toBe(true);
    // Shrunk: one input and one step with a frozen tensor.
    const small = printSpec(offByOne.counterexample![0]).text;
    console.log(`off by one in \`frozen\`, shrunk to:\n${small}`);
    expect(small).toContain("frozen");
    expect(small.split("\n").length).toBeLessThanOrEqual(8);
    const twice = fc.check(
      countProperty((t) => {
        const c = counted(t);
        return { ...c, params: c.paramsIfTiesCountedTwice };
      }),
      params(150),
    );
    expect(twice.failed).toBe(true);
    expect(printSpec(twice.counterexample![0]).text).toContain("tie");
  });
});

// ── 2. formatting ────────────────────────────────────────────────────────────────────────────────────────

const formatProperty = (fmt: (text: string) => string | null) =>
  fc.property(specArb, (spec) => {
    const { text } = printSpec(spec);
    const once = fmt(text);
    expect(once, text).not.toBeNull();
    expect(fmt(once!), `not idempotent:\n${once}`).toBe(once);
    expect(show(counted(once!)), `${text}\n→\n${once}`).toEqual(show(counted(text)));
  });

const nncFormat = (text: string) => format(text, "m.nn").value;

describe("property: formatting changes no count and is idempotent", () => {
  it("for random well-formed specs in random layouts (indentation, spaces, blank lines, comments)", () => {
    fc.assert(formatProperty(nncFormat), params(150));
  });

  it("fails for a formatter that changes a count, or one that is not idempotent", () => {
    const drops = fc.check(
      formatProperty((t) => nncFormat(t)?.replace("bias = false", "bias = true") ?? null),
      params(150),
    );
    expect(drops.failed).toBe(true);
    expect(printSpec(drops.counterexample![0]).text).toMatch(/bias ?= ?false/);
    const grows = fc.check(
      formatProperty((t) => `# formatted\n${nncFormat(t)}`),
      params(20),
    );
    expect(grows.failed).toBe(true);
  });
});

// ── 3. the module's forward against the interpreter ─────────────────────────────────────────────────────

interface Module {
  paramCount: number;
  bufferCount: number;
  inputs: readonly { shape: readonly number[]; size: number; dtype: string; vocab?: number }[];
  params: readonly { name: string; offset: number; size: number; trainable: boolean; tiedTo?: string }[];
  buffers: readonly { name: string; offset: number; size: number }[];
  createParams(seed?: number): Float64Array;
  createBuffers(): Float64Array;
  forward(p: Float64Array, input: unknown, n: number, options?: Record<string, unknown>): Float64Array | Float64Array[];
}

const covered = new Set<string>();

/** Property 3, with a module tamperer and interpreter replacements for the mutants. */
const forwardProperty = (
  options: {
    readonly tamper?: (ts: string) => string;
    readonly replace?: Readonly<Record<string, (x: number) => number>>;
  } = {},
) =>
  fc.asyncProperty(
    specArb,
    fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    fc.integer({ min: 1, max: 3 }),
    async (spec, s, n) => {
      const { text } = printSpec(spec);
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
      for (const t of m.params) if (t.tiedTo !== undefined) weights.set(t.name, weights.get(t.tiedTo)!);
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
      const got = m.forward(p, fed, n, { buffers: bf, training: false });
      const ys = Array.isArray(got) ? got : [got];
      const want = interpret(expanded.analysis, [x], n, {
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
    },
  );

describe("property: every built module's forward agrees with a naive interpreter", () => {
  it("for random well-formed specs, float64, within 1e-9 (relative)", async () => {
    await fc.assert(forwardProperty(), params(80));
    // Every kind the interpreter knows was generated and compared (a kind dropped from generation fails).
    expect(interpretedKinds.filter((k) => !covered.has(k))).toEqual([]);
  }, 120_000);

  it("fails on a wrong activation in the interpreter (gelu as its tanh approximation), shrunk to a small spec", async () => {
    const tanhGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    const out = await fc.check(forwardProperty({ replace: { gelu: tanhGelu } }), params(60));
    expect(out.failed).toBe(true);
    const small = printSpec(out.counterexample![0]).text;
    console.log(`gelu as its tanh approximation in the interpreter, shrunk to:\n${small}`);
    expect(small).toContain("gelu");
    expect(small.split("\n").length).toBeLessThanOrEqual(8);
  }, 120_000);
});
