// Generated code against PyTorch (test/reference/pytorch/: float64 forward and backward computed
// with PyTorch 1.13 autograd, an implementation nobody here wrote). Expected agreement (its README):
// float64 within 1e-9 relative, float32 within 1e-5.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { build, loadStateDict, maxRelError } from "./helpers/generated.js";

const ref = (name: string) => JSON.parse(fs.readFileSync(`test/reference/pytorch/${name}.json`, "utf8"));

const xorSpec = `model Xor(x: f32[2]) {
  dense(2) as fc1
  sigmoid
  dense(1) as fc2
  sigmoid
  loss mse
}
`;

describe("XOR MLP against PyTorch (xor_mlp)", () => {
  const model = ref("xor_mlp");
  const grads = ref("xor_mlp.grads");
  // Both targets; with `unrollLimit: 0` the two dense layers (2 → 2, 2 → 1) take the looped kernels: the
  // WebAssembly SIMD ones under `--target wasm` (all remainder tiles at these widths), else TypeScript's.
  const shapes = [
    ["ts", 256],
    ["ts", 0],
    ["wasm", 0],
  ] as const;
  for (const [dtype, [target, unrollLimit]] of (["float64", "float32"] as const).flatMap((d) =>
    shapes.map((s) => [d, s] as const),
  )) {
    const tol = dtype === "float64" ? 1e-9 : 1e-5;
    it(`${dtype}, --target ${target}, unroll limit ${unrollLimit}: forward, loss, parameter and input gradients`, async () => {
      const { module: m, text } = await build(xorSpec, { dtype, target, unrollLimit });
      expect(text.includes("wasmDenseForward(arena")).toBe(target === "wasm");
      if (target === "wasm") expect((m as unknown as { kernelTarget: string }).kernelTarget).toBe("wasm-simd");
      const p = m.createParams(0);
      loadStateDict(m, model.params, p);
      const n = model.inputs.shape[0];
      const x = dtype === "float64" ? Float64Array.from(model.inputs.data) : Float32Array.from(model.inputs.data);
      const out = m.forward(p, x, n);
      const y = Float64Array.from(out);
      expect(maxRelError(y, model.outputs.data)).toBeLessThan(tol);
      const g = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
      // The loss takes the module's own array type (a Float64Array output of a float32 module is refused).
      const loss = m.mseLoss(out as never, model.targets.data, n, g);
      expect(Math.abs(loss - model.loss_value) / model.loss_value).toBeLessThan(tol);
      const gp = dtype === "float64" ? new Float64Array(m.paramCount) : new Float32Array(m.paramCount);
      const gx = m.backward(p, g, gp);
      for (const t of grads.param_grads) {
        const info = m.params.find((q) => q.name === t.name)!;
        expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, 1e-6), t.name).toBeLessThan(
          tol * 10,
        );
      }
      expect(maxRelError(gx, grads.input_grad.data, 1e-6)).toBeLessThan(tol * 10);
    });
  }
});
