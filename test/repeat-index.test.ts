// `repeat … with i` (the copy's number, usable in expressions inside the body) and name templates
// (`repeat n as "encoder_layer_{i}" with i`): copies that differ are analyzed one by one and counted exactly;
// a body that never reads the index is still counted without spelling its copies out; the lowering spells
// out each copy with its own arguments, the same with and without memoization; the formatter keeps the
// clauses. Expected counts are hand arithmetic in the comments; EfficientNet-B0's rates come from
// torchvision (test/reference/pytorch/stochastic-depth.json, make_stochastic_depth.py).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { format } from "../src/format/format.js";
import { irProblems } from "../src/ir/check.js";
import { argWithDefault, type LoweredModel } from "../src/ir/ir.js";
import { lower } from "../src/lower/lower.js";
import type { Host } from "../src/program/load.js";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";

function memoryHost(files: Record<string, string>): Host {
  return { readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }) };
}

function check(source: string, memo = true) {
  const checked = checkProgram("m.nn", memoryHost({ "m.nn": source }), undefined, { memo });
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  return { checked, errors, model: errors.length === 0 ? checked.value.models[0]! : undefined };
}

function lowered(source: string, memo = true): LoweredModel {
  const { model, errors } = check(source, memo);
  expect(errors.map((d) => d.message)).toEqual([]);
  return lower(model!.analysis);
}

/** The lowered ops as `name kind [shape out]`, in execution order. */
function opLines(m: LoweredModel): string[] {
  return m.ops.map((op) => `${op.name} ${op.kind} [${m.values[op.outputs[0]!]!.shape.join(", ")}]`);
}

describe("repeat with an index", () => {
  it("the index drives each copy's size, numbered from `from k`", () => {
    // h.1: dense(8) on 4 → 4·8 + 8 = 40; h.2: dense(16) on 8 → 8·16 + 16 = 144; h.3: dense(24) on 16 →
    // 16·24 + 24 = 408. Total 592.
    const source = "model M(x: f32[4]) {\n  repeat 3 as h from 1 with i {\n    dense(8 * i)\n  }\n}\n";
    const { model, errors } = check(source);
    expect(errors).toEqual([]);
    expect(model!.figures.params).toBe(592n);
    const m = lowered(source);
    expect(opLines(m)).toEqual(["h.1 dense [8]", "h.2 dense [16]", "h.3 dense [24]"]);
    expect(m.tensors.map((t) => `${t.name} [${t.shape.join(", ")}]`)).toEqual([
      "h.1.weight [8, 4]",
      "h.1.bias [8]",
      "h.2.weight [16, 8]",
      "h.2.bias [16]",
      "h.3.weight [24, 16]",
      "h.3.bias [24]",
    ]);
  });

  it("copies that grow by concatenation, as DenseNet's layers (each adds 2 channels to what it reads)", () => {
    // Copy i reads 3 + 2·i channels: dense(2) on 3, 5, 7 features → (3 + 5 + 7)·2 + 3·2 = 36.
    const good = [
      "block Grow(c_in) {",
      "  input x",
      "  y = x -> dense(2)",
      "  [x, y] -> concat(axis = 0)",
      "}",
      "model M(x: f32[3]) {",
      "  repeat 3 as layer with i {",
      "    Grow(3 + 2 * i)",
      "  }",
      "}",
      "",
    ].join("\n");
    const { model } = check(good);
    expect(model!.figures.params).toBe(36n);
    expect(model!.analysis.outputs.map((o) => (o.kind === "tensor" ? o.shape.map((d) => d.size) : []))).toEqual([[9n]]);
  });

  it("decimal options from the index: one drop_path rate per copy", () => {
    const m = lowered("model M(x: f32[4]) {\n  repeat 3 as h with i {\n    drop_path(0.2 * (i + 3) / 16)\n  }\n}\n");
    expect(m.ops.map((op) => [op.name, argWithDefault(op.entry, op.args, "p")])).toEqual([
      ["h.0", { kind: "decimal", value: (0.2 * 3) / 16 }],
      ["h.1", { kind: "decimal", value: (0.2 * 4) / 16 }],
      ["h.2", { kind: "decimal", value: (0.2 * 5) / 16 }],
    ]);
  });

  it("a body that does not read its index is counted without spelling out its copies", () => {
    // 10^9 copies of dense(4) on 4 features: 10^9 · 20.
    const start = performance.now();
    const { model, errors } = check(
      "model M(x: f32[4]) {\n  repeat 1_000_000_000 as h with i {\n    dense(4)\n  }\n}\n",
    );
    expect(errors).toEqual([]);
    expect(model!.figures.params).toBe(20_000_000_000n);
    expect(model!.analysis.root.children.map((c) => [c.name, c.count])).toEqual([["h.{0..999999999}", 1_000_000_000n]]);
    expect(performance.now() - start).toBeLessThan(5_000);
  });

  it("copies that differ are bounded: 20,000 of them is NN3029 at the count, quickly", () => {
    const start = performance.now();
    const source = "model M(x: f32[4]) {\n  repeat 20_000 as h with i {\n    dense(4 + i % 2)\n  }\n}\n";
    const { errors } = check(source);
    expect(errors.map((d) => [d.code, d.span?.line, d.span?.column])).toEqual([["NN3029", 2, 10]]);
    expect(performance.now() - start).toBeLessThan(10_000);
    // Nested: 100 outer copies of 100 inner ones that read both indices are 100 + 100 · 100 > 10,000.
    const nested = [
      "model M(x: f32[4]) {",
      "  repeat 100 as a with i {",
      "    repeat 100 as b with j {",
      "      dense(4 + (i + j) % 2)",
      "    }",
      "  }",
      "}",
      "",
    ].join("\n");
    expect(check(nested).errors.map((d) => d.code)).toEqual(["NN3029"]);
  });

  it("lowering is the same with and without memoization, and keeps the IR's invariants", () => {
    const source = [
      "block Layer(width, p) {",
      "  residual {",
      "    dense(width)",
      "    drop_path(p)",
      "  }",
      "}",
      "model M(x: f32[8]) {",
      '  repeat 4 as "layer_{i}" from 1 with i {',
      "    Layer(8, 0.1 * i)",
      "  }",
      "  repeat 3 from 9 with k {",
      "    dense(8 * (k - 7))",
      "  }",
      '  repeat 2 as "same_{i}" with i {',
      "    dense(4)",
      "  }",
      "}",
      "",
    ].join("\n");
    const a = lowered(source);
    const b = lowered(source, false);
    expect(irProblems(a)).toEqual([]);
    expect(opLines(a)).toEqual(opLines(b));
    expect(a.tensors).toEqual(b.tensors);
    expect(opLines(a)).toEqual([
      "layer_1.0 dense [8]",
      "layer_1.1 drop_path [8]",
      " add [8]",
      "layer_2.0 dense [8]",
      "layer_2.1 drop_path [8]",
      " add [8]",
      "layer_3.0 dense [8]",
      "layer_3.1 drop_path [8]",
      " add [8]",
      "layer_4.0 dense [8]",
      "layer_4.1 drop_path [8]",
      " add [8]",
      "9 dense [16]",
      "10 dense [24]",
      "11 dense [32]",
      "same_0 dense [4]",
      "same_1 dense [4]",
    ]);
  });

  it("the formatter keeps the template, `from` and `with`", () => {
    const source = 'model M(x: f32[4]) {\n  repeat 2   as "l_{i}"  from 1   with i { dense(4 * i) }\n}\n';
    const once = format(source, "m.nn").value!;
    expect(once).toContain('repeat 2 as "l_{i}" from 1 with i {');
    expect(format(once, "m.nn").value).toBe(once);
  });
});

describe("EfficientNet-B0's stochastic depth equals torchvision's, block by block", () => {
  it("every drop_path of examples/efficientnet-b0.nn has the rate and mode of torchvision's block", () => {
    const reference = JSON.parse(readFileSync("test/reference/pytorch/stochastic-depth.json", "utf8")) as {
      stochastic_depth: { block: string; p: number; mode: string }[];
    };
    const checked = checkProgram("examples/efficientnet-b0.nn", nodeHost);
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const m = lower(checked.value.models[0]!.analysis);
    const ours = m.ops
      .filter((op) => op.kind === "drop_path")
      .map((op) => {
        const p = argWithDefault(op.entry, op.args, "p");
        const mode = argWithDefault(op.entry, op.args, "mode");
        return {
          block: op.name.replace(/\.\d+$/, ""),
          p: p?.kind === "decimal" ? p.value : NaN,
          mode: mode?.kind === "name" ? mode.value : "?",
        };
      });
    expect(ours).toEqual(reference.stochastic_depth);
  });
});
