// Standalone learned tensors (`parameter(shape)`, PyTorch's bare `nn.Parameter`) used in value expressions:
// (a) against PyTorch 1.13 in float64 (test/reference/pytorch/parameter.json, make_parameter.py): the count,
//     the state dict's names and shapes, forward, every parameter gradient and the input gradient, a
//     learned positional table added, a LayerScale `gamma` multiplied into a residual branch and a learned
//     shift subtracted (both targets, and float32 within 1e-5);
// (b) central finite differences with the parameter broadcast over a sequence and over a feature map;
// (c) the documented initializers (zeros, scale · ones, N(0, scale²), U(−scale, scale)).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";
import { build, gradientCheck, loadStateDict, maxRelError } from "./helpers/generated.js";

interface Tensor {
  name: string;
  shape: number[];
  data: number[];
}
const ref = JSON.parse(readFileSync("test/reference/pytorch/parameter.json", "utf8")) as {
  spec: string;
  params_count: number;
  state_dict: { name: string; shape: number[] }[];
  params: Tensor[];
  inputs: Tensor;
  outputs: Tensor;
  gy: Tensor;
  param_grads: Tensor[];
  input_grad: Tensor;
};

function memoryHost(files: Record<string, string>): Host {
  return {
    readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }),
  };
}

describe("parameter: standalone learned tensors", () => {
  it("counts and names its tensors as PyTorch's state dict", () => {
    const checked = checkProgram("m.nn", memoryHost({ "m.nn": ref.spec }));
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const model = checked.value.models[0]!;
    expect(model.figures.params).toBe(BigInt(ref.params_count));
    const ours = model.analysis.tensors.map((t) => ({ name: t.name, shape: t.shape.map(Number) }));
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    expect([...ours].sort(byName)).toEqual([...ref.state_dict].sort(byName));
  });

  for (const [dtype, target, tol] of [
    ["float64", "ts", 1e-12],
    ["float64", "wasm", 1e-12],
    ["float32", "ts", 1e-5],
  ] as const) {
    it(`${dtype} (${target}): forward, parameter and input gradients equal PyTorch's`, async () => {
      const { module: m } = await build(ref.spec, { dtype, target, unrollLimit: target === "wasm" ? 0 : 256 });
      const F = dtype === "float64" ? Float64Array : Float32Array;
      const p = m.createParams(0);
      loadStateDict(m, ref.params, p);
      const n = ref.inputs.shape[0]!;
      expect(maxRelError(m.forward(p, F.from(ref.inputs.data), n), ref.outputs.data, 1e-6)).toBeLessThan(tol);
      const gp = new F(m.paramCount);
      const gx = m.backward(p, F.from(ref.gy.data), gp);
      for (const t of ref.param_grads) {
        const info = m.params.find((q) => q.name === t.name)!;
        const got = gp.subarray(info.offset, info.offset + info.size);
        expect(maxRelError(got, t.data, 1e-6), t.name).toBeLessThan(tol * 10);
      }
      expect(maxRelError(gx, ref.input_grad.data, 1e-6)).toBeLessThan(tol * 10);
    });
  }

  it.each([
    [
      "a LayerScale over a symbolic sequence",
      `model M(x: f32[s <= 3, 4]) {\n  g = parameter(4, init = normal) as gamma\n  h = x -> dense(4)\n  h * g -> tanh\n}\n`,
    ],
    [
      "a learned [C, 1, 1] bias over a feature map",
      `model M(x: f32[2, 3, 3]) {\n  b = parameter([2, 1, 1], init = uniform) as b\n  y = x -> conv2d(2, 1)\n  y - b -> sigmoid -> flatten\n}\n`,
    ],
    [
      "a parameter of the value's own shape, subtracted from it",
      `model M(x: f32[6]) {\n  b = parameter(6, init = normal, scale = 0.5) as b\n  b - x -> abs\n}\n`,
    ],
  ])("finite differences: %s", async (_, spec) => {
    const { module: m } = await build(spec, { dtype: "float64" });
    const e = gradientCheck(m, 3, { seed: 4, h: 1e-5 });
    expect(e.params).toBeLessThan(1e-6);
    expect(e.input).toBeLessThan(1e-6);
  });

  it("initializes as documented: zeros, scale · ones, N(0, scale²), U(−scale, scale)", async () => {
    const spec = `model M(x: f32[4]) {
  z = parameter(4) as z
  c = parameter(4, init = ones, scale = 1e-5) as c
  g = parameter(20_000, init = normal, scale = 0.02) as g
  u = parameter(20_000, init = uniform, scale = 0.5) as u
  x + z + c
}
`;
    const { module: m } = await build(spec, { dtype: "float64" });
    const p = m.createParams(3);
    const get = (name: string) => {
      const info = m.params.find((t) => t.name === name)!;
      return Array.from(p.subarray(info.offset, info.offset + info.size));
    };
    expect(get("z")).toEqual([0, 0, 0, 0]);
    expect(get("c")).toEqual([1e-5, 1e-5, 1e-5, 1e-5]);
    const g = get("g");
    const mean = g.reduce((a, b) => a + b, 0) / g.length;
    const std = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.001);
    const u = get("u");
    expect(Math.max(...u)).toBeLessThanOrEqual(0.5);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...u)).toBeGreaterThan(0.49);
    expect(Math.min(...u)).toBeLessThan(-0.49);
  });
});
