// Code generation's budgets (src/emit/budgets.ts) and the counted expansion they read
// (`ModelAnalysis.expansion`).
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";

function memoryHost(files: Record<string, string>): Host {
  return { readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }) };
}

/** The counted expansion, and what expanding lists (ops, values, their elements per sample). */
function expansions(file: string, host: Host, text?: string) {
  const counted = checkProgram(file, host, text);
  const expanded = checkProgram(file, host, text, { expand: true });
  expect(counted.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return counted.value.models.map((m, k) => {
    const e = expanded.value.models[k]!.analysis;
    const listed = {
      ops: BigInt(e.ops.length),
      values: BigInt(e.values.length),
      elements: e.values.reduce((a, v) => a + v.shape.reduce((x, d) => x * d, 1n), 0n),
    };
    return { counted: m.analysis.expansion, listed, expandedTally: e.expansion };
  });
}

describe("the counted expansion", () => {
  it("equals what expanding lists, for every example", () => {
    const nodeHost: Host = { readFile: (f) => ({ ok: true, text: readFileSync(f, "utf8") }) };
    for (const f of readdirSync("examples").filter((f) => f.endsWith(".nn"))) {
      for (const { counted, listed, expandedTally } of expansions(`examples/${f}`, nodeHost)) {
        expect(counted, f).toEqual(listed);
        expect(expandedTally, f).toEqual(listed);
      }
    }
  });

  // Nested repeats whose first copy changes the shape, block fan-out, residual and moe bodies, arithmetic
  // on values inside repeats, a split: every way the counting analysis shares or multiplies.
  const specs: Record<string, string> = {
    nested: "model M(x: f32[4]) {\n  repeat 3 { repeat 2 { dense(8) } relu }\n}\n",
    fanOut: "block A {\n  B\n  B\n}\nblock B {\n  input x\n  y = x -> dense(4)\n  x + y\n}\nmodel M(x: f32[4]) {\n  repeat 3 { A }\n  A\n}\n",
    moe: "model M(x: f32[s <= 5, 6]) {\n  repeat 2 { residual { layernorm; moe(4, 2) { dense(6) relu } } }\n}\n",
    split: "block P {\n  input x\n  a, b, c = x -> split(3)\n  output a * b + c\n}\nmodel M(x: f32[6]) {\n  repeat 4 { P dense(6) }\n}\n",
  };
  for (const [name, text] of Object.entries(specs)) {
    it(`equals what expanding lists: ${name}`, () => {
      for (const { counted, listed } of expansions("m.nn", memoryHost({ "m.nn": text }))) expect(counted).toEqual(listed);
    });
  }
});
