// The semantic fuzzer as a habit (issue 12): a fixed-seed run of generated specs (test/fuzz/spec-gen.ts,
// from the layer registry) through the oracle (test/fuzz/oracle.ts) on every `npm test`; `npm run fuzz`
// runs thousands with any seed. Every case must end in well-formed diagnostics, or in a float64 module whose
// backward agrees with finite differences of its forward — within a time budget per case. Also here: the
// oracle fails on what it must catch (a wrong gradient, a non-finite output, a beyond-range value accepted),
// and the defects the fuzzer found, as regression cases.
import { describe, expect, it } from "vitest";
import { functionLoader, runCase, type ModuleLoader } from "./fuzz/oracle.js";
import { coveringIndices, reproducer, runFuzz, summary, type FuzzReport } from "./fuzz/run.js";
import { registryNames, type FuzzCase } from "./fuzz/spec-gen.js";

// The fixed run: 200 cases of this seed chosen to reach every kind, argument, option and construct (greedily
// from the first 2,000; `coveringIndices`). A plain run of the first 200 depended on luck — every new kind
// shifts the generator's random stream, and the seed that had reached everything stopped doing so three
// times. (Seed 20_261_213 once stumbled on a finite-difference mismatch of softplus(beta = 0.000001), not
// investigated yet: `npm run fuzz -- --seed 20261213`.)
const seed = 20_261_211;
const count = 200;
const constructs = [
  "repeat",
  "block",
  "block.default",
  "const",
  "arithmetic",
  "import",
  "graph.add",
  "graph.sub",
  "graph.mul",
  "graph.broadcast",
  "graph.concat",
  "graph.split",
  "graph.cross",
  "tie",
  "share",
  "frozen",
  "frozen.tensor",
  "loss",
  "two-inputs",
  "name path",
  "repeat from",
];

let report: FuzzReport | undefined;
async function fixedRun(): Promise<FuzzReport> {
  report ??= await runFuzz({ seed, count, indices: coveringIndices(seed, count, [...registryNames(), ...constructs]) });
  return report;
}

describe("semantic fuzzer, fixed seed", () => {
  it(`${count} generated specs end in diagnostics or a module that agrees with finite differences`, async () => {
    const r = await fixedRun();
    console.log(summary(r));
    expect(r.tried).toBe(count);
    expect(r.failed.map((f) => reproducer(f, seed)).join("\n\n")).toBe("");
    // Each outcome is reached: modules built and compared, values beyond their range refused.
    expect(r.byKind.built).toBeGreaterThan(count / 3);
    expect(r.byMode.beyond).toBeGreaterThan(count / 10);
    expect(r.gradientChecks).toBeGreaterThan(count * 5);
    // Memory stays bounded (the whole test process, vitest included).
    expect(r.maxRssBytes).toBeLessThan(2 * 2 ** 30);
  });

  it("reaches every layer kind and every argument and option of the registry", async () => {
    const r = await fixedRun();
    expect(registryNames().filter((n) => !r.covered.has(n))).toEqual([]);
    for (const construct of constructs) {
      expect(r.covered.has(construct), construct).toBe(true);
    }
  });
});

// ── the oracle catches what it must ───────────────────────────────────────────────────────────────────

const oneCase = (spec: string, mode: FuzzCase["mode"] = "valid", extra: Partial<FuzzCase> = {}): FuzzCase => ({
  seed: 1,
  mode,
  entry: "m.nn",
  files: { "m.nn": spec },
  covered: [],
  training: false,
  paddingIds: [],
  ...extra,
});

/** A loader that changes the module it loads. */
const tampered =
  (change: (m: Record<string, unknown>) => Record<string, unknown>): ModuleLoader =>
  async (ts) =>
    change((await functionLoader(ts)) as Record<string, unknown>);

describe("the fuzzer's oracle", () => {
  const spec = "model M(x: f64[3]) {\n  dense(4) tanh dense(2)\n}\n";

  it("passes a correct module", async () => {
    const outcome = await runCase(oneCase(spec));
    expect(outcome.failures).toEqual([]);
    expect(outcome.kind).toBe("built");
    expect(outcome.gradientChecks).toBeGreaterThan(0);
  });

  it("fails a backward that is off by 1 %", async () => {
    const outcome = await runCase(
      oneCase(spec),
      tampered((m) => ({
        ...m,
        backward: (p: Float64Array, g: Float64Array, grads: Float64Array) => {
          const out = (m.backward as (...a: unknown[]) => unknown)(p, g, grads);
          grads[0] = grads[0]! * 1.01;
          return out;
        },
      })),
    );
    expect(outcome.kind).toBe("failed");
    expect(outcome.failures[0]!.stage).toBe("numeric");
    expect(outcome.failures[0]!.message).toMatch(/^∂L\/∂0\.weight\[0\]: backward .* finite differences/);
  });

  it("fails a non-finite output", async () => {
    const outcome = await runCase(
      oneCase(spec),
      tampered((m) => ({
        ...m,
        forward: (...a: unknown[]) =>
          (m.forward as (...b: unknown[]) => Float64Array)(...a).map((v, i) => (i === 1 ? NaN : v)),
      })),
    );
    expect(outcome.kind).toBe("failed");
    expect(outcome.failures.map((f) => f.message)).toEqual([
      expect.stringMatching(/^output 0 is not finite: -?\d.*, NaN, /),
    ]);
  });

  it("fails a value beyond its range that checks clean, and one refused away from the value", async () => {
    const accepted = await runCase(
      oneCase("model M(x: f64[3]) {\n  dropout(0.5)\n}\n", "beyond", {
        injected: { what: "dropout.p", text: "0.5", code: "NN4016", direct: true },
      }),
    );
    expect(accepted.failures.map((f) => f.message)).toEqual(["dropout.p = 0.5 (outside its range) checked clean"]);
    const elsewhere = await runCase(
      oneCase("model M(x: f64[3]) {\n  dropout(1.5)\n}\n", "beyond", {
        injected: { what: "dropout.p", text: "1.50", code: "NN4016", direct: true },
        before: { "m.nn": "model M(x: f64[3]) {\n  dropout(0.5)\n}\n" },
      }),
    );
    expect(elsewhere.failures.map((f) => f.message)).toEqual(["dropout.p = 1.50: NN4016 is not located at the value"]);
  });

  it("fails a case over its time budget", async () => {
    const outcome = await runCase(oneCase(spec), undefined, { caseMs: 0, buildParams: 20_000 });
    expect(outcome.failures.map((f) => f.stage)).toEqual(["budget"]);
  });
});

// ── defects the fuzzer found (each also has a focused test where it was fixed) ───────────────────────────

describe("fuzzer findings, as regression cases", () => {
  it("a gradient the difference quotients missed only by rounding agrees at a larger step (seed 12, case 2079)", async () => {
    // Stacked recurrent layers, then three softmax → BatchNorm over a batch of 2: central quotients at 1e-5,
    // 1e-6, 1e-7 drift with 1/step (rounding); at 8e-5 they agree with backward (the oracle's larger step).
    // The case as the generator made it at bdbd99a (pinned here: every new kind shifts the generator's stream,
    // so `caseAt(12, 2079)` is another case today).
    const outcome = await runCase({
      ...oneCase("", "boundary"),
      seed: 4097088153,
      files: {
        "m.nn":
          'import "./lib/blocks.nn"\n\nblock B5(p0, p1) {\n  repeat p0 as l2 {\n    lstm(p1, bidirectional = true, bias = true, bias_convention = pytorch)\n  }\n}\n\nmodel M(x: f32[s <= 2, 5]) {\n  lstm(hidden = 3 / 3, bias = true)\n  gru(5, bidirectional = true, layers = 2, bias_convention = keras)\n  B5(p0 = 2, p1 = 2)\n  flatten(start = 0)\n  residual(shortcut = { dense(5, bias = true) as l4 }) {\n    dense(4 + 1)\n    repeat c6 as l3 {\n      softmax\n      batchnorm(momentum = 0.0, affine = true, track_running_stats = false, frozen = true)\n    }\n  }\n  dense(7 - 2, bias = true)\n}\n',
        "lib/blocks.nn": "const c6 = 2 + 1\n",
      },
      training: true,
    });
    expect(outcome.failures).toEqual([]);
    expect(outcome.gradientChecks).toBeGreaterThan(0);
  });

  it("a size passed through a block parameter below its minimum is refused (it checked clean: gru(-99))", async () => {
    // Seed 2, case 126 of the first runs (reduced). Golden test: test/diagnostics/block-argument-below-minimum.nn.
    const outcome = await runCase(
      oneCase("block B(h) {\n  gru(h)\n}\n\nmodel M(x: f64[s <= 3, 2]) {\n  B(-99)\n}\n", "beyond", {
        injected: { what: "gru.hidden", text: "-99", code: "NN3005", direct: false },
        before: { "m.nn": "block B(h) {\n  gru(h)\n}\n\nmodel M(x: f64[s <= 3, 2]) {\n  B(3)\n}\n" },
      }),
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.codes).toEqual(["NN3005"]);
  });

  it("a dilated max window that reads only padding is refused (its maximum was −∞, then NaN)", async () => {
    // Seed 11, case 387 (reduced). Golden test: test/diagnostics/max-pool-window-in-padding.nn.
    const outcome = await runCase(
      oneCase(
        "model M(x: f64[3, 3, 3]) {\n  conv2d(2, 3)\n  max_pool2d(2, padding = 1, dilation = 2)\n  flatten\n  dense(2)\n}\n",
      ),
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.codes).toEqual(["NN4002"]);
  });

  it("two outputs that are one array (flatten, reshape or identity of one value) get the sum of their gradients", async () => {
    // Seed 11, cases 117 and 584 (reduced): the second output's gradient overwrote the first's.
    const outcome = await runCase(
      oneCase(
        "model M(x: f64[2, 2]) {\n  flatten\n  dense(4)\n  y0 = reshape([2, 2])\n  y1 = identity\n  output y0, y1\n}\n",
      ),
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.kind).toBe("built");
  });

  it("softplus with a threshold past 709/β stays finite (it overflowed to Infinity, then NaN)", async () => {
    // Seed 2, case 206 (reduced). Focused test: test/codegen-dense.test.ts, "softplus without overflow".
    const outcome = await runCase(
      oneCase("model M(x: f64[16]) {\n  softplus(beta = 1000, threshold = 1000)\n  dense(1)\n}\n", "boundary"),
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.kind).toBe("built");
  });
});
