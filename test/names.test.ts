// Names of tensors as real checkpoints spell them (issue 13 item 4): keywords and dotted or integer paths
// after `as`, keyword-led `tie` paths, and `repeat … from`. The expected names are written out by hand from
// the rules of grammar/README.md ("Names of parameters"); the counting analysis (names with copy ranges,
// never expanded), the expanded analysis and a built module's manifest must all give them.
import { lower } from "../src/lower/lower.js";
import { describe, expect, it } from "vitest";
import type { Host } from "../src/program/host.js";
import { checkProgram } from "../src/program/check.js";
import { semanticTokens } from "../src/lsp/features.js";
import { build } from "./helpers/generated.js";

const spec = `
block Block(d) {
  dense(d) as fc
}

block Stage(d, n) {
  Block(d)
  repeat n - 1 from 1 {
    Block(d)
  }
  dense(d)
}

model M(x: f32[4]) {
  dense(4) as output.dense
  Block(4) as model
  repeat 2 as layer3 from 1 {
    Block(4)
  }
  Stage(4, 3) as stage
  repeat 2 from 5 {
    dense(4) relu
  }
  dense(4)
  dense(4, tie = output.dense) as block.1
  dense(4, bias = false, tie = model.fc) as 9
}
`;

// By the rules: `as` paths are the names themselves; `repeat 2 as layer3 from 1` copies are layer3.1,
// layer3.2 (one unnamed call each: directly under the copy); Stage's block at position 0, its numbered
// copies 1 and 2, then its dense takes the next number, 3; at the top, unnamed statements count positions
// 0 … 3 first (4 statements before), so `repeat 2 from 5` makes 5 and 6 (two statements each: .0 and .1),
// and the dense after it is 7.
const expanded = [
  "output.dense.weight",
  "output.dense.bias",
  "model.fc.weight",
  "model.fc.bias",
  "layer3.1.fc.weight",
  "layer3.1.fc.bias",
  "layer3.2.fc.weight",
  "layer3.2.fc.bias",
  "stage.0.fc.weight",
  "stage.0.fc.bias",
  "stage.1.fc.weight",
  "stage.1.fc.bias",
  "stage.2.fc.weight",
  "stage.2.fc.bias",
  "stage.3.weight",
  "stage.3.bias",
  "5.0.weight",
  "5.0.bias",
  "6.0.weight",
  "6.0.bias",
  "7.weight",
  "7.bias",
  "block.1.weight",
  "block.1.bias",
  "9.weight",
];

const host = (text: string): Host => ({ readFile: () => ({ ok: true, text }) });

describe("names of tensors", () => {
  it("counting names the copies by their numbers, without expanding them", () => {
    const checked = checkProgram("m.nn", host(spec));
    expect(checked.diagnostics).toEqual([]);
    expect(checked.value.models[0]!.analysis.tensors.map((t) => t.name)).toEqual([
      "output.dense.weight",
      "output.dense.bias",
      "model.fc.weight",
      "model.fc.bias",
      "layer3.{1..2}.fc.weight",
      "layer3.{1..2}.fc.bias",
      "stage.0.fc.weight",
      "stage.0.fc.bias",
      "stage.{1..2}.fc.weight",
      "stage.{1..2}.fc.bias",
      "stage.3.weight",
      "stage.3.bias",
      "{5..6}.0.weight",
      "{5..6}.0.bias",
      "7.weight",
      "7.bias",
      "block.1.weight",
      "block.1.bias",
      "9.weight",
    ]);
  });

  it("the expanded analysis spells out every copy, and ties follow keyword-led paths", () => {
    const checked = checkProgram("m.nn", host(spec), undefined);
    expect(checked.diagnostics).toEqual([]);
    const tensors = lower(checked.value.models[0]!.analysis).tensors;
    expect(tensors.map((t) => t.name)).toEqual(expanded);
    expect(tensors.filter((t) => t.tiedTo).map((t) => `${t.name} → ${t.tiedTo}`)).toEqual([
      "block.1.weight → output.dense.weight",
      "9.weight → model.fc.weight",
    ]);
  });

  it("a built module's manifest carries the same names", async () => {
    const { module } = await build(spec);
    // (The manifest lists a tied tensor after the others: its order is the module's layout, not the names'.)
    expect(module.params.map((p) => p.name).sort()).toEqual([...expanded].sort());
    expect(module.params.find((p) => p.name === "9.weight")?.tiedTo).toBe("model.fc.weight");
  });

  it("the language server shows a keyword in a name path as a name", () => {
    const text = "model M(x: f32[4]) {\n  dense(4) as output.model\n  dense(4, tie = output.model)\n}\n";
    const at = (needle: string, from = 0) => text.indexOf(needle, from);
    const kinds = new Map(semanticTokens(text, undefined).map((t) => [t.start, t.type]));
    expect(kinds.get(at("model"))).toBe("keyword"); // `model M(…)` declares a model
    expect(kinds.get(at("output"))).toBe("variable");
    expect(kinds.get(at("model", at("output")))).toBe("variable");
    const tie = at("output", at("tie"));
    expect(kinds.get(tie)).toBe("variable");
    expect(kinds.get(at("model", tie))).toBe("variable");
  });
});
