// The lowering pass (src/lower/lower.ts): every copy of a counted analysis spelled out, as the code generator
// compiles it. Its output keeps the IR's invariants (src/ir/ir.ts, checked by src/ir/check.ts) on every
// example and on fuzzed specs; it is the same whether the analysis shared its repeated units (memoized, the
// default) or analyzed every use afresh (`memo: false`), two independent paths to one model; and on the
// cases where a chain of copies could read the wrong value, it reads the right one, op by op.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { modelGraph, renderDot } from "../src/count/graph.js";
import { compile } from "../src/emit/compile.js";
import { irProblems } from "../src/ir/check.js";
import type { LoweredModel } from "../src/ir/ir.js";
import { lower } from "../src/lower/lower.js";
import type { Host } from "../src/program/load.js";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";
import { generateCase } from "./fuzz/spec-gen.js";
import { rng } from "./fuzz/rng.js";

function memoryHost(files: Readonly<Record<string, string>>): Host {
  return { readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }) };
}

function lowered(entry: string, host: Host, memo = true): LoweredModel[] | undefined {
  const checked = checkProgram(entry, host, undefined, memo ? {} : { memo: false });
  if (checked.diagnostics.some((d) => d.severity === "error")) return undefined;
  return checked.value.models.map((m) => lower(m.analysis));
}

/** A lowered model as comparable data: ops by kind, name, values read and made, tensors by name. */
function plain(m: LoweredModel) {
  return {
    ops: m.ops.map((op) => [op.kind, op.name, op.inputs, op.outputs, op.tensors.map((t) => t.name), op.attrs]),
    values: m.values,
    inputIds: m.inputIds,
    outputIds: m.outputIds,
    tensors: m.tensors,
  };
}

// Where the analysis shares or multiplies: nested repeats whose first copy changes the shape, block fan-out,
// moe (one expert too), ties inside and across repeats, a residual around a repeat (its skip connection reads
// the repeat's input after the chain), repeated bodies that name the value they run on, reused units of
// reused units.
const specs: Record<string, string> = {
  nested: "model M(x: f32[4]) {\n  repeat 3 { repeat 2 { dense(8) } relu }\n}\n",
  fanOut:
    "block A {\n  B\n  B\n}\nblock B {\n  input x\n  y = x -> dense(4)\n  x + y\n}\nmodel M(x: f32[4]) {\n  repeat 3 { A }\n  A\n}\n",
  moe: "model M(x: f32[s <= 5, 6]) {\n  repeat 2 { residual { layernorm; moe(4, 2) { dense(6) relu } } }\n}\n",
  oneExpert:
    "model M(x: f32[s <= 5, 6]) {\n  moe(1, 1) { dense(6) relu }\n  repeat 1 { dense(6) }\n  repeat 0 { dense(3) }\n}\n",
  split:
    "block P {\n  input x\n  a, b, c = x -> split(3)\n  output a * b + c\n}\nmodel M(x: f32[6]) {\n  repeat 4 { P dense(6) }\n}\n",
  viewOfView: "block B {\n  dense(8)\n}\nmodel M(x: f32[4]) {\n  a = x -> B\n  b = x -> repeat 3 { B }\n  a + b\n}\n",
  viewOfView2:
    "block B {\n  dense(8)\n  relu\n}\nblock A(n) {\n  repeat 2 { B }\n  dense(n)\n}\nmodel M(x: f32[8]) {\n  B\n  A(3)\n  dense(8)\n  A(5)\n}\n",
  ties: "model M(x: f32[4]) {\n  repeat 3 {\n    dense(4) as a\n    dense(4, tie = a)\n  }\n  dense(4, bias = false) as out\n  repeat 2 { dense(4, tie = out) }\n}\n",
  firstChanges:
    "model M(x: f32[3, 8, 8]) {\n  repeat 3 { conv2d(4, 3, padding = same) relu }\n  repeat 2 { repeat 2 { conv2d(5, 3, padding = 1) } }\n}\n",
  residualRepeat: "model M(x: f32[4]) {\n  residual {\n    repeat 2 { dense(4) }\n  }\n}\n",
  shadow: "model M(x: f32[4]) {\n  y = x -> dense(4)\n  y -> repeat 3 {\n    z = dense(4)\n    z + y\n  }\n}\n",
  // `share`: an instance that is itself a reused unit (the second `R`), shared blocks holding a repeat, a
  // moe and a share, reuses in repeats.
  shares:
    "block R {\n  repeat 2 as h { dense(4) tanh }\n}\nblock O {\n  R as first\n  R(share = first)\n  moe(2, 1) { dense(4) }\n}\nmodel M(x: f32[4]) {\n  R\n  R as a\n  R(share = a)\n  O as o\n  repeat 2 { O(share = o) }\n  dense(4) as l\n  repeat 3 { dense(4, share = l) }\n}\n",
  shadowReused:
    "block A {\n  input x\n  y = x -> dense(4)\n  w = y -> relu\n  b = w -> repeat 3 {\n    z = dense(4)\n    z + y\n  }\n  a = y -> repeat 3 {\n    z = dense(4)\n    z + y\n  }\n  a + b\n}\nmodel M(x: f32[4]) {\n  A\n  repeat 2 { A }\n}\n",
};

describe("lowering", () => {
  it("keeps the IR's invariants on every example, and is the same without memoization", () => {
    let models = 0;
    for (const f of readdirSync("examples").filter((f) => f.endsWith(".nn"))) {
      const memo = lowered(`examples/${f}`, nodeHost)!;
      for (const m of memo) expect(irProblems(m), `${f} ${m.name}`).toEqual([]);
      expect(lowered(`examples/${f}`, nodeHost, false)!.map(plain), f).toEqual(memo.map(plain));
      models += memo.length;
    }
    expect(models).toBeGreaterThan(10);
  });

  for (const [name, text] of Object.entries(specs)) {
    it(`keeps the invariants, with and without memoization: ${name}`, () => {
      const memo = lowered("m.nn", memoryHost({ "m.nn": text }))!;
      expect(memo).toBeDefined();
      for (const m of memo) expect(irProblems(m)).toEqual([]);
      expect(lowered("m.nn", memoryHost({ "m.nn": text }), false)!.map(plain)).toEqual(memo.map(plain));
    });
  }

  it("keeps the invariants on fuzzed specs, with and without memoization", () => {
    let lowerable = 0;
    for (let seed = 0; seed < 120; seed++) {
      const c = generateCase(rng(seed), seed, seed % 2 === 0 ? "boundary" : "valid");
      const memo = lowered(c.entry, memoryHost(c.files));
      if (!memo) continue;
      lowerable++;
      for (const m of memo) expect(irProblems(m), `seed ${seed}`).toEqual([]);
      expect(lowered(c.entry, memoryHost(c.files), false)!.map(plain), `seed ${seed}`).toEqual(memo.map(plain));
    }
    expect(lowerable).toBeGreaterThan(60);
  });

  const ops = (text: string) =>
    lowered("m.nn", memoryHost({ "m.nn": text }))![0]!.ops.map((op) => [op.kind, op.name, op.inputs, op.outputs]);

  it("chains a repeat's copies, and a residual's skip connection reads the value before the chain", () => {
    expect(ops(specs.residualRepeat!)).toEqual([
      ["dense", "0.0", [0], [1]],
      ["dense", "0.1", [1], [2]],
      ["add", "", [2, 0], [3]],
    ]);
  });

  it("tells a repeated body's input from the same value read by name, in every copy", () => {
    // y = dense(x) is value 1; copy k reads the previous copy's sum as its input, and y by name.
    expect(ops(specs.shadow!)).toEqual([
      ["dense", "0", [0], [1]],
      ["dense", "1.0.0", [1], [2]],
      ["add", "", [2, 1], [3]],
      ["dense", "1.1.0", [3], [4]],
      ["add", "", [4, 1], [5]],
      ["dense", "1.2.0", [5], [6]],
      ["add", "", [6, 1], [7]],
    ]);
  });

  it("runs every expert on the moe's input and combines all their outputs, which the next op reads", () => {
    const text = "model M(x: f32[s <= 5, 6]) {\n  moe(3, 2) { dense(6) }\n  relu\n}\n";
    expect(ops(text)).toEqual([
      ["dense", "0.router", [0], [1]],
      ["dense", "0.experts.0.0", [0], [2]],
      ["dense", "0.experts.1.0", [0], [3]],
      ["dense", "0.experts.2.0", [0], [4]],
      ["moe_combine", "0", [1, 2, 3, 4], [5]],
      ["relu", "1", [5], [6]],
    ]);
  });

  it("names every copy's tensors and ties as PyTorch does", () => {
    const m = lowered("m.nn", memoryHost({ "m.nn": specs.ties! }))![0]!;
    expect(m.tensors.filter((t) => t.tiedTo !== undefined).map((t) => [t.name, t.tiedTo])).toEqual([
      ["0.0.1.weight", "0.0.a.weight"],
      ["0.1.1.weight", "0.1.a.weight"],
      ["0.2.1.weight", "0.2.a.weight"],
      ["2.0.weight", "out.weight"],
      ["2.1.weight", "out.weight"],
    ]);
  });

  it("draws a reused unit of a reused unit as the same graph as without memoization", () => {
    for (const name of ["viewOfView", "viewOfView2", "shadowReused"]) {
      const draw = (memo: boolean) => {
        const checked = checkProgram(
          "m.nn",
          memoryHost({ "m.nn": specs[name]! }),
          undefined,
          memo ? {} : { memo: false },
        );
        return renderDot(modelGraph(checked.value.models[0]!.analysis, 9));
      };
      expect(draw(true), name).toEqual(draw(false));
    }
  });

  it("builds only what checks: a repeat whose copies after the second change the shape is refused", async () => {
    const result = await compile("model M(x: f32[1, 16]) {\n  repeat 3 { max_pool1d(2) }\n}\n", { format: false });
    expect(result.files).toEqual([]);
    expect(result.diagnostics.map((d) => d.code)).toEqual(["NN3009"]);
  });
});
