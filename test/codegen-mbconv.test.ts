// The blocks of examples/efficientnet-b0.nn and examples/mobilenet-v3-large.nn, imported from the example
// files themselves, against torchvision 0.14's own modules (test/reference/pytorch/mbconv.json, made by
// make_mbconv.py with PyTorch 1.13 autograd, float64, training mode): EfficientNet's MBConv (SiLU, SE with a
// sigmoid gate broadcast over the feature map, skip add) and MobileNetV3's InvertedResidual (hardswish, SE
// with ReLU and a hardsigmoid gate, BatchNorm eps 0.001 / momentum 0.01). Forward output, running
// statistics after the step, parameter and input gradients, within 1e-9 relative (float64).
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../src/emit/compile.js";
import { nodeHost } from "../src/program/node-host.js";
import { loadStateDict, maxRelError, type Generated } from "./helpers/generated.js";

interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: readonly number[];
}
interface Case {
  readonly params: readonly Tensor[];
  readonly inputs: Tensor;
  readonly outputs: Tensor;
  readonly gy: Tensor;
  readonly param_grads: readonly Tensor[];
  readonly input_grad: Tensor;
  readonly buffers_after: readonly Tensor[];
}

const ref = JSON.parse(fs.readFileSync("test/reference/pytorch/mbconv.json", "utf8")) as Record<string, Case>;

async function buildFrom(source: string): Promise<Generated> {
  const file = path.resolve("test/mbconv-spec.nn");
  const result = await compile(source, { dtype: "float64" }, file, nodeHost);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => `${d.code} ${d.span?.line}: ${d.message}`)).toEqual([]);
  const text = result.files[0]!.text;
  const dir = path.resolve("test/.tmp");
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `m_${createHash("sha256").update(text).digest("hex").slice(0, 16)}.ts`);
  fs.writeFileSync(target, text);
  return (await import(pathToFileURL(target).href)) as Generated;
}

const cases = [
  {
    name: "efficientnet_mbconv",
    spec: `import { MBConvSkip } from "../examples/efficientnet-b0.nn"
model M(x: f32[8, 5, 5]) {
  MBConvSkip(8, 3, 0.0) as m
}
`,
  },
  {
    name: "mobilenetv3_hs_se",
    spec: `import { HsSeSkip } from "../examples/mobilenet-v3-large.nn"
model M(x: f32[8, 5, 5]) {
  HsSeSkip(8, 32, 8, 3) as m
}
`,
  },
];

describe("the examples' blocks against torchvision's modules (float64, training mode)", () => {
  it.each(cases)("$name", async ({ name, spec }) => {
    const r = ref[name]!;
    const m = await buildFrom(spec);
    expect(m.params.map((t) => t.name).sort()).toEqual(r.params.map((t) => t.name).sort());
    const p = new Float64Array(m.paramCount);
    loadStateDict(m, r.params, p);
    const buffers = (m as unknown as { createBuffers(): Float64Array }).createBuffers();
    const n = r.inputs.shape[0]!;
    const forward = m.forward as unknown as (
      p: Float64Array,
      x: Float64Array,
      n: number,
      o: { training: boolean; buffers: Float64Array },
    ) => Float64Array;
    const y = forward(p, Float64Array.from(r.inputs.data), n, { training: true, buffers });
    expect(maxRelError(y, r.outputs.data, 1e-6)).toBeLessThan(1e-9);
    for (const b of r.buffers_after) {
      const info = m.buffers.find((t) => t.name === b.name)!;
      expect(info, b.name).toBeDefined();
      expect(maxRelError(buffers.subarray(info.offset, info.offset + info.size), b.data, 1e-6), b.name).toBeLessThan(
        1e-9,
      );
    }
    // PyTorch 1.13's hardsigmoid_backward multiplies by a float32 1/6 even in float64 (test/reference/pytorch/
    // README.md), so the gradients that flow back through MobileNetV3's gate are off by ~3e-8 of their size:
    // there each tensor is compared by its largest error over its largest magnitude.
    const scaled = spec.includes("HsSe");
    const gradTol = scaled ? 1e-7 : 1e-8;
    const gradientError = (got: ArrayLike<number>, want: readonly number[]) =>
      maxRelError(got, want, scaled ? Math.max(...want.map(Math.abs)) : 1e-6);
    const gp = new Float64Array(m.paramCount);
    const gx = m.backward(p, Float64Array.from(r.gy.data), gp);
    for (const t of r.param_grads) {
      const info = m.params.find((q) => q.name === t.name)!;
      expect(gradientError(gp.subarray(info.offset, info.offset + info.size), t.data), t.name).toBeLessThan(gradTol);
    }
    expect(gradientError(gx, r.input_grad.data), "input").toBeLessThan(gradTol);
  });
});
