// Code generation's budgets (src/emit/budgets.ts) and the counted expansion they read
// (`ModelAnalysis.expansion`): hostile specs that used to exhaust memory or time in `nnc build` (issue 12)
// are refused from their counts, quickly, with the figure and the limit; counting still accepts them.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildLimits, estimateSource } from "../src/emit/budgets.js";
import { maxSplitParts } from "../src/vocabulary/traits.js";
import { compile, type CompileOptions } from "../src/emit/compile.js";
import { nodeHost } from "../src/program/node-host.js";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";
import { lower } from "../src/lower/lower.js";
import { expansionProblems } from "../src/emit/budgets.js";

function memoryHost(files: Record<string, string>): Host {
  return { readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }) };
}

/** The counted expansion, and what lowering lists (ops, values, their elements per sample). */
function expansions(file: string, host: Host, text?: string) {
  const counted = checkProgram(file, host, text);
  expect(counted.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return counted.value.models.map((m) => {
    const e = lower(m.analysis);
    const listed = {
      ops: BigInt(e.ops.length),
      values: BigInt(e.values.length),
      elements: e.values.reduce((a, v) => a + v.shape.reduce((x, d) => x * d, 1n), 0n),
    };
    return { counted: m.analysis.expansion, listed };
  });
}

describe("the counted expansion", () => {
  it("equals what lowering lists, for every example", () => {
    const nodeHost: Host = { readFile: (f) => ({ ok: true, text: readFileSync(f, "utf8") }) };
    for (const f of readdirSync("examples").filter((f) => f.endsWith(".nn"))) {
      for (const { counted, listed } of expansions(`examples/${f}`, nodeHost)) expect(counted, f).toEqual(listed);
    }
  });

  // Nested repeats whose first copy changes the shape, block fan-out, residual and moe bodies, arithmetic
  // on values inside repeats, a split: every way the counting analysis shares or multiplies.
  const specs: Record<string, string> = {
    nested: "model M(x: f32[4]) {\n  repeat 3 { repeat 2 { dense(8) } relu }\n}\n",
    fanOut:
      "block A {\n  B\n  B\n}\nblock B {\n  input x\n  y = x -> dense(4)\n  x + y\n}\nmodel M(x: f32[4]) {\n  repeat 3 { A }\n  A\n}\n",
    moe: "model M(x: f32[s <= 5, 6]) {\n  repeat 2 { residual { layernorm; moe(4, 2) { dense(6) relu } } }\n}\n",
    split:
      "block P {\n  input x\n  a, b, c = x -> split(3)\n  output a * b + c\n}\nmodel M(x: f32[6]) {\n  repeat 4 { P dense(6) }\n}\n",
  };
  for (const [name, text] of Object.entries(specs)) {
    it(`equals what lowering lists: ${name}`, () => {
      for (const { counted, listed } of expansions("m.nn", memoryHost({ "m.nn": text })))
        expect(counted).toEqual(listed);
    });
  }
});

/** Diagnostics of a build, and how long it took. */
async function refused(text: string, options: CompileOptions = {}) {
  const start = performance.now();
  const result = await compile(text, options, "m.nn");
  return { result, ms: performance.now() - start, errors: result.diagnostics.filter((d) => d.severity === "error") };
}

/** Errors of checking (counting) the same spec. */
function checkErrors(text: string) {
  return checkProgram("m.nn", memoryHost({ "m.nn": text }), text).diagnostics.filter((d) => d.severity === "error");
}

describe("build budgets", () => {
  // Each spec ended in a V8 heap abort, minutes of work or a module no machine can allocate (issue 12).
  // Now: one diagnostic with the figure, at the model's name, well within a second of analysis.
  const hostile: { name: string; text: string; code: string; figure: RegExp; counted: boolean }[] = [
    // 20,000 ops (one per copy): the figure is the repeat count.
    {
      name: "repeat 20_000 { dense(4) }",
      text: "model R(x: f32[4]) {\n  repeat 20_000 { dense(4) }\n}\n",
      code: "NN9003",
      figure: /expands to 20,000 operations; code generation spells out at most 5,000/,
      counted: true,
    },
    // A router, 1,000,000 experts and the combining op: 1,000,002 ops.
    {
      name: "moe(1_000_000, 2)",
      text: "model M(x: f32[4]) {\n  moe(1_000_000, 2) { dense(4) }\n}\n",
      code: "NN9003",
      figure: /1,000,002 operations/,
      counted: true,
    },
    // Weight 10^15 × 4 + bias 10^15 parameters, twice (gradients), and activations 4 + 10^15 twice, × 4 bytes:
    // (2·5·10^15 + 2·(10^15 + 4)) · 4 = 48·10^15 + 32.
    {
      name: "dense(10^15)",
      text: "model B(x: f32[4]) {\n  dense(1_000_000_000_000_000)\n}\n",
      code: "NN9004",
      figure: /48,000,000,000,000,032 bytes/,
      counted: true,
    },
    // 2^40 elements in, 2^40 out, each with its gradient: 4 · 2^40 · 4 bytes = 2^44 = 16 TiB.
    {
      name: "f32[2^40]",
      text: "model H(x: f32[1_099_511_627_776]) {\n  relu\n}\n",
      code: "NN9004",
      figure: /17,592,186,044,416 bytes \(16\.00 TiB/,
      counted: true,
    },
    // 5 · (2^53 + 1) parameters: past 2^53 − 1, where a double stops holding every integer.
    {
      name: "dense(2^53 + 1)",
      text: "model P(x: f32[4]) {\n  dense(9_007_199_254_740_993)\n}\n",
      code: "NN9002",
      figure: /45,035,996,273,704,965 parameters, past 2\^53 − 1 = 9,007,199,254,740,991/,
      counted: true,
    },
    // Refused by the vocabulary: counting it would make 200,000 values too.
    {
      name: "split(200_000)",
      text: "model S(x: f32[200_000]) {\n  a = x -> split(200_000)\n  output a\n}\n",
      code: "NN3015",
      figure: /a split into 200,000 parts; nnc allows at most 4,096/,
      counted: false,
    },
  ];
  for (const h of hostile) {
    it(`refuses ${h.name} from its counts, quickly`, async () => {
      const { errors, ms } = await refused(h.text);
      expect(errors.map((d) => d.code)).toContain(h.code);
      const d = errors.find((e) => e.code === h.code)!;
      expect(d.message).toMatch(h.figure);
      expect(d.span?.line).toBeGreaterThan(0);
      expect(ms).toBeLessThan(2_000);
      // Counting never expands: it accepts what it can count exactly.
      expect(checkErrors(h.text).length === 0).toBe(h.counted);
    });
  }

  it("accepts a split of 4,096 parts and refuses 4,097, in checking too", () => {
    const spec = (n: number) => `model S(x: f32[${n}]) {\n  a = x -> split(${n})\n  output a\n}\n`;
    expect(checkErrors(spec(4_096))).toEqual([]);
    expect(checkErrors(spec(4_097)).map((d) => d.code)).toEqual(["NN3015"]);
  });

  it('are documented as they are (docs/generated-code.md, "Limits")', () => {
    const doc = readFileSync("docs/generated-code.md", "utf8");
    const table = doc.slice(doc.indexOf("## Limits"));
    expect(table).toContain(`| ${buildLimits.ops.toLocaleString("en-US")} | NN9003 |`);
    expect(table).toContain(`| ${buildLimits.values.toLocaleString("en-US")} | NN9003 |`);
    expect(table).toContain(
      `| ${buildLimits.sourceBytes / 2 ** 20} MiB (${buildLimits.sourceBytes.toLocaleString("en-US")} bytes) | NN9003 |`,
    );
    expect(buildLimits.moduleBytes).toBe(2n ** 40n);
    expect(table).toContain("| 1 TiB (2^40 bytes) | NN9004 |");
    expect(table).toContain(`| 0 to ${buildLimits.unrollLimit.toLocaleString("en-US")} multiply–adds | NN0001 |`);
    expect(table).toContain(`| ${maxSplitParts.toLocaleString("en-US")} | NN3015 |`);
  });

  it("refuses an unroll limit past 4,096", async () => {
    const { errors } = await refused("model U(x: f32[4]) {\n  dense(4)\n}\n", { unrollLimit: 1_000_000 });
    expect(errors.map((d) => [d.code, d.message])).toEqual([["NN0001", expect.stringMatching(/unrollLimit: .*4096/)]]);
    expect(
      (await refused("model U(x: f32[4]) {\n  dense(4)\n}\n", { unrollLimit: buildLimits.unrollLimit, format: false }))
        .errors,
    ).toEqual([]);
  });

  it("refuses a model at one op over the limit and builds it at the limit", async () => {
    // repeat n { dense(1) } on f32[1]: n ops.
    const spec = (n: number) => `model R(x: f32[1]) {\n  repeat ${n} { dense(1) }\n}\n`;
    const over = await refused(spec(buildLimits.ops + 1));
    expect(over.errors.map((d) => d.message)).toEqual([
      `\`R\` expands to ${(buildLimits.ops + 1).toLocaleString("en-US")} operations; code generation spells out at most 5,000`,
    ]);
    // At the limit it passes the budget (checked without generating: the counting analysis alone).
    const at = checkProgram("m.nn", memoryHost({ "m.nn": spec(buildLimits.ops) })).value.models[0]!;
    expect(at.analysis.expansion.ops).toBe(BigInt(buildLimits.ops));
    expect(expansionProblems(at.analysis, at.figures, undefined, "float32")).toEqual([]);
    expect(lower(at.analysis).ops.length).toBe(buildLimits.ops);
  });

  it("refuses a generated source over the limit, from the lowered ops", async () => {
    // 120 dense layers of distinct shapes (64 → 63 → … → 4, with and without bias), each unrolled at a
    // limit of 4,096: Σ of 64·63 + 63·62 + … ≈ 87,000 multiply–adds per pass of the widths, twice, at ~100
    // bytes each ≈ 17 MB — over 8 MiB. With the default limit (256) only the last few are unrolled.
    const layers = Array.from({ length: 60 }, (_, k) => `  dense(${63 - k})\n  dense(${63 - k}, bias = false)`).join(
      "\n",
    );
    const text = `model W(x: f32[64]) {\n${layers}\n}\n`;
    const big = await refused(text, { unrollLimit: 4_096 });
    expect(big.errors.map((d) => d.code)).toEqual(["NN9003"]);
    expect(big.errors[0]!.message).toMatch(/generated source would be about .* over the limit of 8,388,608 bytes/);
    const analysis = lower(checkProgram("m.nn", memoryHost({ "m.nn": text }), undefined).value.models[0]!.analysis);
    // ~1.0 MB with the default limit (120 distinct shapes' WebAssembly kernels and staging): far below 8 MiB.
    expect(estimateSource(analysis.ops, analysis.values.length, { unrollLimit: 256, dtype: "float32" })).toBeLessThan(
      1_100_000n,
    );
  });

  it("estimates the generated source within 0.8–2.5 times the real size, for every module in generated/", () => {
    for (const f of readdirSync("examples").filter((f) => f.endsWith(".nn"))) {
      const checked = checkProgram(`examples/${f}`, nodeHost);
      for (const counted of checked.value.models) {
        const m = { analysis: lower(counted.analysis) };
        const stem = f.replace(/\.nn$/, "");
        const file = checked.value.models.length === 1 ? `${stem}.ts` : `${stem}.${m.analysis.name}.ts`;
        const actual = readFileSync(`generated/${file}`, "utf8").length;
        const ratio =
          Number(estimateSource(m.analysis.ops, m.analysis.values.length, { unrollLimit: 256, dtype: "float32" })) /
          actual;
        expect(ratio, file).toBeGreaterThan(0.8);
        expect(ratio, file).toBeLessThan(2.5);
      }
    }
  });

  it("estimates unrolled and shared layers too", async () => {
    // A 16 × 16 layer, unrolled at the default limit (256); 30 copies of a 4 × 4 one sharing a function.
    for (const text of [
      "model U(x: f32[16]) {\n  dense(16)\n}\n",
      "model R(x: f32[4]) {\n  repeat 30 { dense(4) }\n}\n",
    ]) {
      const { result } = await refused(text);
      const actual = result.files[0]!.text.length;
      const analysis = lower(checkProgram("m.nn", memoryHost({ "m.nn": text }), undefined).value.models[0]!.analysis);
      const ratio =
        Number(estimateSource(analysis.ops, analysis.values.length, { unrollLimit: 256, dtype: "float32" })) / actual;
      expect(ratio, text).toBeGreaterThan(0.8);
      expect(ratio, text).toBeLessThan(2.5);
    }
  });
});
