// One function per op signature (src/emit/shared.ts): layer copies that differ only in their arrays and
// offsets share a forward and a backward function. A module built that way computes exactly — bit for bit —
// what the same module with a function per op computes: outputs, every parameter and input gradient, and
// the running statistics a training-mode forward updates.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitModule } from "../src/emit/module.js";
import { plan } from "../src/emit/plan.js";
import { lower } from "../src/lower/lower.js";
import { checkProgram } from "../src/program/check.js";
import { seeded, type Generated } from "./helpers/generated.js";

// Repeated blocks of every code shape the sharing has to get right: convolutions over im2col (a shared
// matrix kernel called with offsets), batchnorm (parameter and buffer offsets, a name in a message), tiled
// dense layers (offsets as call arguments) and unrolled ones (offsets folded into constant indices).
const spec = `model M(x: f32[2, 6, 6]) {
  repeat 3 as blocks {
    conv2d(4, 3, padding = 1) as conv
    batchnorm as bn
    relu
  }
  conv2d(2, 1) as squeeze
  flatten
  repeat 2 as wide {
    dense(72) as fc
    tanh
  }
  dense(4) as narrow
  repeat 3 as small {
    dense(4) as fc
    sigmoid
  }
}
`;

async function load(share: boolean): Promise<{ m: Generated; text: string }> {
  const checked = checkProgram("shared.nn", { readFile: () => ({ ok: false, reason: "none" }) }, spec);
  expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const text = emitModule(
    plan(lower(checked.value.models[0]!.analysis)),
    { source: "shared.nn", version: "test" },
    { dtype: "float64", unrollLimit: 256, tileColumns: 8, share },
  );
  const file = path.resolve(`test/.tmp/shared_${share}_${process.pid}_${Math.random().toString(36).slice(2)}.ts`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return { m: (await import(pathToFileURL(file).href)) as Generated, text };
}

describe("one function per op signature", () => {
  it("repeated layers share functions, and compute bit for bit what a function per op computes", async () => {
    const shared = await load(true);
    const own = await load(false);
    // Shared: one function for the three conv → batchnorm → relu blocks' convolutions (the first reads
    // the 2-channel input, the other two share), one for the wide dense layers, one for the small ones.
    for (const name of [
      "conv2dForward1",
      "conv2dBackward1",
      "batchnormForward1",
      "batchnormBackward1",
      "denseForward1",
      "denseForward2",
      "sigmoidBackward1",
    ]) {
      expect(shared.text, name).toMatch(new RegExp(`function ${name}\\(`));
    }
    const functions = (text: string) => (text.match(/^function /gm) ?? []).length;
    expect(functions(shared.text)).toBeLessThan(functions(own.text) - 10);
    expect(own.text).not.toMatch(/function \w+(Forward|Backward)\d+\(/);

    const n = 3;
    const rand = seeded(5);
    const x = new Float64Array(n * shared.m.inputSize).map(() => rand());
    const w = new Float64Array(n * shared.m.outputSize).map(() => rand());
    const results = [shared.m, own.m].map((m) => {
      const p = m.createParams(3);
      const buffers = m.createBuffers();
      const y = Float64Array.from(m.forward(p, x, n, { training: true, buffers }));
      const grads = new Float64Array(m.paramCount);
      const gx = Float64Array.from(m.backward(p, w, grads));
      const inference = Float64Array.from(m.forward(p, x, n, { training: false, buffers }));
      return { y, grads, gx, buffers, inference };
    });
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    expect(a.y).toEqual(b.y);
    expect(a.grads).toEqual(b.grads);
    expect(a.gx).toEqual(b.gx);
    expect(a.buffers).toEqual(b.buffers);
    expect(a.inference).toEqual(b.inference);
    // Not vacuous: every parameter tensor has a gradient somewhere, and the outputs differ per sample.
    for (const t of shared.m.params)
      expect(
        a.grads.subarray(t.offset, t.offset + t.size).some((g) => g !== 0),
        t.name,
      ).toBe(true);
    expect(a.y.subarray(0, 4)).not.toEqual(a.y.subarray(4, 8));
  });
});
