// `padding_mode` on convolutions (PyTorch's `nn.Conv1d/2d/3d(padding_mode=…)`): forward, weight, bias and
// input gradients of reflect, replicate and circular padding against PyTorch 1.13 in float64
// (test/reference/pytorch/padding_mode.json, make_padding_mode.py: symmetric, per-axis and `same` padding,
// strides, dilation, groups, the direct loops and the im2col product), in float32 within 1e-5 and on the
// WebAssembly target; finite differences on a few more; the count and shape unchanged from zeros; and
// PyTorch's refusals as located diagnostics.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";
import { modelMemory } from "../src/count/memory.js";
import { build, gradientCheck, loadStateDict, maxRelError } from "./helpers/generated.js";

interface Tensor {
  name: string;
  shape: number[];
  data: number[];
}
const ref = JSON.parse(readFileSync("test/reference/pytorch/padding_mode.json", "utf8")) as {
  cases: {
    layer: string;
    shape: number[];
    params: Tensor[];
    x: number[];
    y_shape: number[];
    y: number[];
    gy: number[];
    grads: Tensor[];
    gx: number[];
  }[];
  refusals: { case: string; raised: string | null }[];
};

const spec = (shape: readonly number[], layer: string) => `model M(x: f64[${shape.join(", ")}]) {\n  ${layer}\n}\n`;

function memoryHost(files: Record<string, string>): Host {
  return {
    readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }),
  };
}

function check(source: string) {
  const checked = checkProgram("m.nn", memoryHost({ "m.nn": source }));
  return {
    errors: checked.diagnostics.filter((d) => d.severity === "error"),
    model: checked.value.models[0],
  };
}

describe("padding_mode against PyTorch", () => {
  for (const [dtype, target, tol] of [
    ["float64", "ts", 1e-12],
    ["float32", "ts", 1e-5],
    ["float64", "wasm", 1e-12],
    ["float32", "wasm", 1e-5],
  ] as const) {
    it.each(ref.cases.map((c) => [c.layer, c] as const))(`${dtype} (${target}): %s`, async (_, c) => {
      const { module: m, text } = await build(spec(c.shape, c.layer), { dtype, target });
      // the wasm target: the SIMD kernels on the padded copy, forward and backward (else no WebAssembly)
      const simd = target === "wasm";
      expect(
        /on the padded input, when the parameters live in its memory\n[^]*?wasmConvForward\(arena, /.test(text),
      ).toBe(simd);
      expect(/wasmConvBackward\(\s*arena,/.test(text)).toBe(simd);
      expect(m.outputShape).toEqual(c.y_shape);
      const F = dtype === "float64" ? Float64Array : Float32Array;
      const p = m.createParams(0);
      loadStateDict(m, c.params, p);
      expect(maxRelError(m.forward(p, F.from(c.x), 2), c.y, 1e-6)).toBeLessThan(tol);
      // twice: the second call finds the padded copy's gradient of the first in the scratch (zeroed again)
      m.backward(p, F.from(c.gy), new F(m.paramCount));
      const gp = new F(m.paramCount);
      const gx = m.backward(p, F.from(c.gy), gp);
      for (const t of c.grads) {
        const info = m.params.find((q) => q.name === t.name)!;
        expect(maxRelError(gp.subarray(info.offset, info.offset + info.size), t.data, 1e-6), t.name).toBeLessThan(
          tol * 10,
        );
      }
      expect(maxRelError(gx, c.gx, 1e-6)).toBeLessThan(tol * 10);
    });
  }

  it.each([
    ["conv1d(2, 3, padding = 2, padding_mode = circular)", [1, 3]],
    ["conv2d(5, [2, 3], stride = [1, 2], padding = [1, 2], padding_mode = reflect)", [2, 4, 5]],
    [
      "conv2d(3, 3, padding = 1, padding_mode = replicate) tanh conv2d(4, 3, padding = 1, padding_mode = reflect)",
      [1, 3, 3],
    ],
  ] as const)("finite differences: %s", async (layer, shape) => {
    for (const target of ["ts", "wasm"] as const) {
      const { module: m, text } = await build(spec(shape, layer), { dtype: "float64", target });
      expect(/wasmConvBackward\(\s*arena,/.test(text), target).toBe(target === "wasm");
      const e = gradientCheck(m, 2, { seed: 5, h: 1e-5 });
      expect(e.params, target).toBeLessThan(1e-6);
      expect(e.input, target).toBeLessThan(1e-6);
    }
  });

  it("counts and shapes as with zeros", () => {
    for (const mode of ["reflect", "replicate", "circular"]) {
      const padded = check(spec([3, 8, 8], `conv2d(4, 3, stride = 2, padding = 1, padding_mode = ${mode})`)).model!;
      const zeros = check(spec([3, 8, 8], "conv2d(4, 3, stride = 2, padding = 1)")).model!;
      expect(padded.figures.params).toBe(zeros.figures.params);
      expect(padded.figures.macs).toBe(zeros.figures.macs); // the same output positions
      // PyTorch's conv then saves the padded copy, not the input (the model's input, which needs no
      // gradient, so the padding saves nothing either; test/fixtures/torch-saved-tensors.json measures it):
      // 2 samples × 3 × 10 × 10 floats, against the input's 2 × 3 × 8 × 8 with zeros.
      const mem = modelMemory(padded.analysis, padded.figures, { batch: 2n, dtype: "float32" });
      expect(mem.eager.unknownKinds).toEqual([]);
      expect(mem.eager.activations).toBe(2n * 3n * 10n * 10n * 4n);
      const plain = modelMemory(zeros.analysis, zeros.figures, { batch: 2n, dtype: "float32" });
      expect(plain.eager.unknownKinds).toEqual([]);
      expect(plain.eager.activations).toBe(2n * 3n * 8n * 8n * 4n);
    }
  });

  it("refuses what PyTorch refuses, located", () => {
    // PyTorch: "Padding size should be less than the corresponding input dimension" (reflect, padding 4 of 4).
    expect(ref.refusals[0]!.raised).toMatch(/should be less than/);
    const reflect = check(spec([1, 4], "conv1d(1, 3, padding = 4, padding_mode = reflect)"));
    expect(reflect.errors.map((d) => d.code)).toEqual(["NN4032"]);
    expect(reflect.errors[0]!.span!.column).toBe(26); // at the padding
    // padding 3 of 4 is allowed
    expect(check(spec([1, 4], "conv1d(1, 3, padding = 3, padding_mode = reflect)")).errors).toEqual([]);
    // PyTorch: "Padding value causes wrapping around more than once." (circular, padding 5 of 4).
    expect(ref.refusals[1]!.raised).toMatch(/wrapping around more than once/);
    expect(check(spec([1, 4], "conv1d(1, 3, padding = 5, padding_mode = circular)")).errors.map((d) => d.code)).toEqual(
      ["NN4032"],
    );
    // `same` with reflect: the odd cell after counts (kernel 4 pads 1 before, 2 after: 2 < 3 is fine, 2 < 2 not).
    expect(check(spec([1, 3], "conv1d(1, 4, padding = same, padding_mode = reflect)")).errors).toEqual([]);
    expect(
      check(spec([1, 2], "conv1d(1, 4, padding = same, padding_mode = reflect)")).errors.map((d) => d.code),
    ).toEqual(["NN4032"]);
    // PyTorch: 'Only "zeros" padding mode is supported for ConvTranspose2d'.
    expect(ref.refusals[2]!.raised).toMatch(/Only "zeros" padding mode/);
    const transposed = check(spec([1, 4, 4], "conv_transpose2d(1, 3, padding_mode = reflect)"));
    expect(transposed.errors.map((d) => d.code)).toEqual(["NN4002"]);
    expect(check(spec([1, 4, 4], "conv_transpose2d(1, 3, padding_mode = zeros)")).errors).toEqual([]);
    expect(check(spec([1, 4], "conv1d(1, 3, padding_mode = mirror)")).errors.map((d) => d.code)).toEqual(["NN4007"]);
  });
});
