// Matrices stored [in, out] (`layout = in_out`, Hugging Face's `Conv1D`) in generated code, against PyTorch
// in float64: HF Conv1D as a dense layer, GPT-2's MLP (c_fc, c_proj) and GPT-2's attention (c_attn
// [D, 3D] with q, k, v as column blocks, c_proj), forward, input gradient and every parameter gradient.
// The fixture is made by scripts/torch-conv1d-layouts.py (torch 1.13 CPU, transformers' Conv1D and
// GPT2Attention written out in the script): parameters are loaded by their state-dict names, so the names
// and [in, out] shapes of the module's manifest must be PyTorch's too. Finite differences and plain-loop
// references for the same kernels are in codegen-dense.test.ts and codegen-attention.test.ts. On both
// targets: with `wasm`, every [in, out] matrix above the unroll limit runs on the dense SIMD kernels by
// transposition (src/emit/wasm/target.ts inOutKernels), but the column blocks of a fused c_attn.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { build, loadStateDict, maxRelError, scaledError } from "./helpers/generated.js";
import { onBothTargets } from "./helpers/targets.js";

interface Case {
  readonly name: string;
  readonly spec: string;
  readonly n: number;
  readonly params: readonly { name: string; shape: number[]; data: number[]; grad: number[] }[];
  readonly x: number[];
  readonly gy: number[];
  readonly y: number[];
  readonly dx: number[];
}

const fixture = JSON.parse(fs.readFileSync("test/fixtures/torch-conv1d-layouts.json", "utf8")) as {
  torch: string;
  cases: Case[];
};

describe("layout = in_out against PyTorch (float64)", () => {
  it.each(onBothTargets(fixture.cases.map((c) => [c.name, c] as const)))("%s", async (_name, c, target) => {
    // On wasm no layer is unrolled (these are within the default limit), so that every product is a kernel's.
    const { module: m, text } = await build(c.spec, {
      dtype: "float64",
      target,
      ...(target === "wasm" ? { unrollLimit: 0 } : {}),
    });
    // Every [in, out] product on the SIMD kernels on wasm, none on ts: each `denseInOutForward` call is the
    // `else` of a `wasmDenseInOutForward` one, except a fused c_attn's column blocks (`columns 0…7`).
    const onWasm = (text.match(/if \(arena\)\s+wasmDenseInOutForward\(arena, /g) ?? []).length;
    const onTs = (text.match(/(?<!else\s*)^\s*denseInOutForward\(/gm) ?? []).length;
    // a fused c_attn: one product on the kernels, its three column blocks the TypeScript branch
    const fused = (text.match(/if \(arena\) wasmDenseInOutForward3\(arena, /g) ?? []).length;
    const fusedBlocks = (text.match(/^\s*\/\/ [qkv] = x · \(\w+ columns /gm) ?? []).length;
    if (target === "wasm") {
      expect(onWasm, "[in, out] products on the SIMD kernels").toBeGreaterThan(0);
      expect(fusedBlocks, "the fused c_attn's blocks, behind its product on the kernels").toBe(3 * fused);
      expect(onTs, "[in, out] products on TypeScript only").toBe(fusedBlocks);
      expect((m as { kernelTarget?: string }).kernelTarget).toBe("wasm-simd");
    } else expect(onWasm).toBe(0);
    // The manifest: PyTorch's state-dict names and [in, out] shapes, in order.
    expect(m.params.map((t) => [t.name, [...t.shape]])).toEqual(c.params.map((t) => [t.name, t.shape]));
    // createParams: on wasm the parameters in the module's WebAssembly memory, where the SIMD kernels run
    const p = m.createParams() as Float64Array;
    loadStateDict(m, c.params, p);
    const y = m.forward(p, Float64Array.from(c.x), c.n);
    expect(maxRelError(y, c.y)).toBeLessThan(1e-11);
    const grads = new Float64Array(m.paramCount);
    const dx = m.backward(p, Float64Array.from(c.gy), grads);
    expect(scaledError(dx, c.dx)).toBeLessThan(1e-12);
    for (const t of c.params) {
      const info = m.params.find((x) => x.name === t.name)!;
      expect(scaledError(grads.subarray(info.offset, info.offset + info.size), t.grad), t.name).toBeLessThan(1e-12);
    }
  });
});
