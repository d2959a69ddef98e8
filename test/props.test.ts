// Property tests (issue 14 item 7), with fast-check over random well-formed specs (test/props/arbitraries.ts:
// structured values printed to `.nn`, so a failure shrinks to a small spec):
// 1. the counted figures (params, weights, biases, trainable, frozen, buffers, ties counted once) equal a sum
//    over the tensors of the expanded program (every copy of a repeat its own op), computed here;
// 2. `format` changes no figure and is idempotent;
// 3. every built float64 module's forward equals a naive interpreter of the same expanded graph
//    (test/props/interpreter.ts), with the same weights loaded by name.
// Each property is also shown to fail on a broken count, formatter or activation (the "mutants" below).
//
// `npm test` runs a fixed seed (so the kind coverage below is reproducible): 100 specs for each of
// properties 1 and 2, 120 for property 3 (measured: 4.9 s, 3.3 s and 10.9–22 s with the 2-core machine at
// load 8–20). A longer or different run: NNC_PROPS_RUNS=1000 NNC_PROPS_SEED=7 npx vitest run
// test/props.test.ts (every property; 800 and 1,500 specs with seed 7 passed).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kernels } from "../src/emit/kernels/index.js";
import { format } from "../src/format/format.js";
import { printSpec, specArb } from "./props/arbitraries.js";
import { analyzed, covered, forwardAgrees, type ForwardOptions } from "./props/forward.js";
import { interpretedKinds, type Analysis } from "./props/interpreter.js";

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
 *  of their own; an op applying an instance again, `share`, owns none), a tied tensor not at all (its storage is its target's) except in the ties-twice figure,
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
  for (const op of a.ops) {
    // An instance applied again (`share`) reads the tensors of an earlier op: none of its own.
    if (op.reuses !== undefined) {
      for (const t of op.tensors) if (!seen.has(t.name)) throw new Error(`\`${op.name}\` reuses a later \`${t.name}\``);
      continue;
    }
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
    fc.assert(countProperty(counted), params(100));
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
    // Every figure: the counts, and MACs, FLOPs and bytes too.
    expect(everyFigure(once!), `${text}\n→\n${once}`).toEqual(everyFigure(text));
  });

/** Every figure of a spec's model, as JSON (bigints as strings). */
const everyFigure = (text: string) =>
  JSON.parse(
    JSON.stringify(analyzed(text, false).figures, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v)),
  ) as unknown;

const nncFormat = (text: string) => format(text, "m.nn").value;

describe("property: formatting changes no count and is idempotent", () => {
  it("for random well-formed specs in random layouts (indentation, spaces, blank lines, comments)", () => {
    fc.assert(formatProperty(nncFormat), params(100));
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

const forwardProperty = (options: ForwardOptions = {}) =>
  fc.asyncProperty(
    specArb,
    fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    fc.integer({ min: 1, max: 3 }),
    fc.boolean(),
    async (spec, s, n, training) => {
      const { text } = printSpec(spec);
      // Training mode (BatchNorm on batch statistics) where no dropout makes it random, with a batch of at
      // least 2 (BatchNorm refuses one value per channel, as PyTorch does).
      await forwardAgrees(text, s, n, { ...options, training: training && n > 1 && !text.includes("dropout") });
    },
  );

describe("property: every built module's forward agrees with a naive interpreter", () => {
  it("for random well-formed specs, float64, within 1e-9 (relative)", async () => {
    await fc.assert(forwardProperty(), params(120));
    // Every kind the interpreter knows was generated and compared (a kind dropped from generation fails).
    expect(interpretedKinds.filter((k) => !covered.has(k))).toEqual([]);
  }, 120_000);

  it("the interpreter runs every op kind the code generator has a kernel for (or lists it here as not yet)", () => {
    // A new kind fails this test until it is added to test/props/interpreter.ts and the arbitraries (or,
    // for now, to this list, with the reason).
    const notYet: readonly string[] = [
      // Landed with the issue-14 volume kinds after the interpreter was written: to interpret next.
      "conv3d",
      "conv_transpose1d",
      "max_pool3d",
      "avg_pool3d",
      "adaptive_avg_pool3d",
      "upsample",
      "drop_path",
    ];
    expect(
      Object.keys(kernels).filter((k) => !(interpretedKinds as readonly string[]).includes(k) && !notYet.includes(k)),
    ).toEqual([]);
  });

  it("fails on a wrong activation in the interpreter (gelu as its tanh approximation)", async () => {
    const tanhGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    // No shrinking here (every step builds a module; the count mutant above shows shrinking).
    const out = await fc.check(forwardProperty({ replace: { gelu: tanhGelu } }), { ...params(60), endOnFailure: true });
    expect(out.failed).toBe(true);
    const spec = printSpec(out.counterexample![0]).text;
    console.log(`gelu as its tanh approximation in the interpreter, fails on:\n${spec}`);
    expect(spec).toContain("gelu");
  }, 120_000);

  it("fails on a wrong activation in the module (sigmoid's exponent scaled by 1.001 in the generated code)", async () => {
    let tampered = 0;
    const out = await fc.check(
      forwardProperty({
        tamper: (ts) => {
          const changed = ts.replaceAll("1 / (1 + Math.exp(-x))", "1 / (1 + Math.exp(-x * 1.001))");
          if (changed !== ts) tampered++;
          return changed;
        },
      }),
      // No shrinking (every step builds a module): the first failing spec is shown as it was generated.
      { ...params(60), endOnFailure: true },
    );
    expect(tampered).toBeGreaterThan(0);
    expect(out.failed).toBe(true);
    const small = printSpec(out.counterexample![0]).text;
    console.log(`sigmoid changed in the generated module, fails on:\n${small}`);
    expect(small).toMatch(/sigmoid|silu|swish|G\d/);
  }, 120_000);
});

// ── defects the properties found, as regression cases ───────────────────────────────────────────────────

describe("property findings", () => {
  it("a dense layer tied to a transposed matrix reads it transposed (it read the storage as a reshape)", async () => {
    // Found by the forward property: `dense(2, bias = false, tie = transpose(wte))` after `embedding(5, 2) as
    // wte` must compute x·wte (its weight is wteᵀ, [2, 5]); the module read wte's [5, 2] storage as if it
    // were [2, 5] row-major (a reshape): for wte = 0.1…1.0 and ids [0, 3, 4] it gave 0.315, 0.74, … where
    // x·wte gives 0.545, 0.63, … (worked by hand). Fixed by the kernels' transposed reads
    // (`EmitCtx.transposedParam`, the `layout = in_out` work); this failed before.
    const spec =
      "model M(x: token[3] of 5) {\n  embedding(5, 2) as wte\n  dense(5, bias = false, tie = wte)\n  dense(2, bias = false, tie = transpose(wte))\n}\n";
    await forwardAgrees(spec, 1, 1);
  });

  it("attention after a class token on a symbolic sequence reads every key (it dropped the last one)", async () => {
    // Found by the forward property (seed 20_261_205), shrunk from a 14-line spec: `seqLength` is the
    // model input's length, and attention masked keys past it — but after `class_token` the value has
    // one position more. Fixed in src/emit/module.ts (`inSymbolic`).
    for (const n of [1, 3])
      await forwardAgrees("model M(x: f64[s <= 3, 4]) {\n  class_token(4)\n  attention(2)\n  take(0)\n}\n", 7, n);
    await forwardAgrees("model M(x: f64[s <= 1, 1]) {\n  class_token(1)\n  attention(1, bias = false)\n}\n", 1, 1);
  });
});
