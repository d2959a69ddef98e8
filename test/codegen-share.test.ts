// Module reuse (`share = a`, issue 14 item 5): one layer or block instance applied at several places, against
// PyTorch modules that call one submodule several times (test/fixtures/torch-module-reuse.json, made by
// scripts/torch-module-reuse.py with torch 1.13, float64, training mode): a siamese encoder (a block shared,
// and a dense layer applied twice in a row), an ALBERT-style stack (one layer block applied 12 times: an
// instance and a `repeat 11` of its reuse) and a siamese convolution + BatchNorm branch (running statistics
// updated by each use). Counts equal `sum(p.numel() for p in parameters())`, the tensors are the state
// dict's, named once; forward, input gradient and every parameter gradient (summed over the uses) equal
// PyTorch's, on the TypeScript and the WebAssembly targets; finite differences agree with the backward.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { count } from "../src/index.js";
import { type NamedTensor } from "./helpers/torch-fixture.js";
import { build, gradientCheck, loadStateDict, maxRelError, type Generated, scaledError } from "./helpers/generated.js";

interface Case {
  readonly name: string;
  readonly spec: string;
  readonly n: number;
  readonly parameters: number;
  readonly state_dict: string[];
  readonly params: readonly (NamedTensor & { grad: number[] })[];
  readonly buffers_after: readonly NamedTensor[];
  readonly x: number[];
  readonly gy: number[];
  readonly y: number[];
  readonly dx: number[];
}

const fixture = JSON.parse(fs.readFileSync("test/fixtures/torch-module-reuse.json", "utf8")) as {
  torch: string;
  cases: Case[];
};
const cases = fixture.cases.map((c) => [c.name, c] as const);

describe("share: counts and names against PyTorch", () => {
  it.each(cases)("%s", (_name, c) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-share-"));
    const file = path.join(dir, "spec.nn");
    fs.writeFileSync(file, c.spec);
    const r = count(file);
    expect(r.diagnostics).toEqual([]);
    const m = r.report!.models[0]!;
    expect(m.total).toBe(BigInt(c.parameters));
    // Every tensor once, as the state dict names them (parameters and buffers, in order).
    expect(m.tensors.map((t) => t.name)).toEqual(c.state_dict);
  });
});

describe("share: generated modules against PyTorch (float64, training mode)", () => {
  for (const target of ["ts", "wasm"] as const) {
    it.each(cases)(`%s, --target ${target}`, async (_name, c) => {
      const { module: m } = await build(c.spec, { dtype: "float64", target, unrollLimit: 0 });
      // The dense layers on the WebAssembly kernels, the parameters (each shared tensor once) in its memory.
      if (target === "wasm") expect((m as Generated & { kernelTarget?: string }).kernelTarget).toBe("wasm-simd");
      expect([...m.params, ...m.buffers].map((t) => t.name).sort()).toEqual([...c.state_dict].sort());
      expect(m.paramCount).toBe(c.parameters);
      const p = m.createParams(1);
      loadStateDict(m, c.params, p);
      const buffers = m.createBuffers();
      const y = m.forward(p, Float64Array.from(c.x), c.n, { training: true, buffers });
      expect(maxRelError(y, c.y)).toBeLessThan(1e-10);
      for (const b of c.buffers_after) {
        const info = m.buffers.find((t) => t.name === b.name)!;
        expect(maxRelError(buffers.subarray(info.offset, info.offset + info.size), b.data, 1e-6), b.name).toBeLessThan(
          1e-10,
        );
      }
      const grads = new Float64Array(m.paramCount);
      const dx = m.backward(p, Float64Array.from(c.gy), grads);
      expect(scaledError(dx, c.dx)).toBeLessThan(1e-10);
      for (const t of c.params) {
        const info = m.params.find((x) => x.name === t.name)!;
        expect(scaledError(grads.subarray(info.offset, info.offset + info.size), t.grad), t.name).toBeLessThan(1e-10);
      }
    });
  }
});

describe("share: finite differences", () => {
  it.each(cases)("%s", async (_name, c) => {
    const { module: m } = await build(c.spec, { dtype: "float64" });
    const e = gradientCheck(m as Generated, 2, { limit: 400, h: 1e-5 });
    expect(e.params).toBeLessThan(1e-6);
    expect(e.input).toBeLessThan(1e-6);
  });
});

// Shared blocks whose layers are spelled per copy: a repeat inside the shared block (each copy of the reuse
// reads the same copy of the instance), a share inside a shared block (a reuse of a reuse), a moe inside
// one (its router and experts), and a share of a layer in the same repeat copy. Counts: each tensor once
// (the instance's, by hand: dense(4) on 4 is 20, a moe(2, 1) of dense(4) is 8 router + 2 × 20).
const nested: readonly (readonly [string, string, number])[] = [
  [
    "a repeat in a shared block",
    `block R {
  repeat 2 as h {
    dense(4) tanh
  }
}

model M(x: f32[4]) {
  R as a
  R(share = a)
}
`,
    40,
  ],
  [
    "a share in a shared block, and a moe",
    `block Inner {
  dense(4) as fc
  tanh
}

block Outer {
  Inner as first
  Inner(share = first)
  moe(2, 1) {
    dense(4)
  }
}

model M(x: f32[4]) {
  Outer as a
  Outer(share = a)
}
`,
    20 + 8 + 40,
  ],
  [
    "a share of a layer in the same repeat copy",
    `model M(x: f32[4]) {
  repeat 3 as h {
    dense(4) as fc
    tanh
    dense(4, share = fc)
  }
}
`,
    60,
  ],
];

describe("share: per-copy tensors in shared blocks and repeats", () => {
  it.each(nested)("%s", async (_name, spec, params) => {
    const { module: m } = await build(spec, { dtype: "float64" });
    expect(m.paramCount).toBe(params);
    const e = gradientCheck(m as Generated, 2, { limit: 400, h: 1e-5 });
    expect(e.params).toBeLessThan(1e-6);
    expect(e.input).toBeLessThan(1e-6);
    // The two uses are the instance applied twice: the model holding the instance alone (same tensor
    // names), run on its own output, gives the same numbers (a use reading another copy's tensors does not).
    if (!spec.includes("as a\n")) return;
    const once = (await build(spec.replace(/\n {2}\w+\(share = a\)\n/, "\n"), { dtype: "float64" })).module;
    expect(once.params.map((t) => t.name)).toEqual(m.params.map((t) => t.name));
    const p = m.createParams(5);
    const x = Float64Array.from({ length: 8 }, (_, i) => Math.sin(i + 1));
    const y = m.forward(p, x, 2);
    expect(maxRelError(y, once.forward(p, Float64Array.from(once.forward(p, x, 2)), 2))).toBeLessThan(1e-14);
  });
});
