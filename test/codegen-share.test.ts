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
import { build, gradientCheck, loadStateDict, maxRelError, type Generated } from "./helpers/generated.js";

interface Tensor {
  readonly name: string;
  readonly shape: number[];
  readonly data: number[];
}
interface Case {
  readonly name: string;
  readonly spec: string;
  readonly n: number;
  readonly parameters: number;
  readonly state_dict: string[];
  readonly params: readonly (Tensor & { grad: number[] })[];
  readonly buffers_after: readonly Tensor[];
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

/** max |a − b| over max |b|. */
function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

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
