// `frozen` on single tensors of a layer (`dense(5, frozen = bias)`, `frozen = [weight, bias]`), PyTorch's
// `layer.bias.requires_grad_(False)`: the count's trainable/frozen split, the Adam training bytes, and one
// Adam step of the generated module, against test/reference/pytorch/frozen.json (make_frozen.py, PyTorch
// 1.13). The diagnostics are golden cases (test/diagnostics/frozen-*.nn).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";
import { build, loadStateDict, maxRelError } from "./helpers/generated.js";

interface Tensor {
  name: string;
  shape: number[];
  data: number[];
}
const ref = JSON.parse(readFileSync("test/reference/pytorch/frozen.json", "utf8")) as {
  spec: string;
  counts: { params: number; trainable: number; non_trainable: number };
  adam_training_bytes: { total: number; buffers: number };
  frozen: string[];
  params: Tensor[];
  inputs: Tensor;
  labels: number[];
  loss: number;
  params_after: Tensor[];
};

function memoryHost(files: Record<string, string>): Host {
  return {
    readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }),
  };
}

function check(source: string) {
  const checked = checkProgram("m.nn", memoryHost({ "m.nn": source }));
  const errors = checked.diagnostics.filter((d) => d.severity === "error").map((d) => d.code);
  return { errors, model: checked.value.models[0] };
}

describe("frozen tensors", () => {
  it("the count's trainable/frozen split and Adam training bytes are PyTorch's", () => {
    const { errors, model } = check(ref.spec);
    expect(errors).toEqual([]);
    const f = model!.figures;
    expect(f.params).toBe(BigInt(ref.counts.params));
    expect(f.trainable).toBe(BigInt(ref.counts.trainable));
    expect(f.nonTrainable).toBe(BigInt(ref.counts.non_trainable));
    // Parameters + the gradients PyTorch made + Adam's two moments + buffers, measured after one step.
    expect(f.bytes.trainingAdam).toBe(BigInt(ref.adam_training_bytes.total));
    expect(f.bytes.buffers).toBe(BigInt(ref.adam_training_bytes.buffers));
    const frozen = model!.analysis.tensors.filter((t) => t.frozen).map((t) => t.name);
    expect(frozen).toEqual(ref.frozen);
  });

  it("naming every tensor of a layer counts as `frozen = true`; `frozen = false` freezes nothing", () => {
    const spec = (frozen: string) => `model M(x: f32[4]) {\n  dense(3, frozen = ${frozen})\n  dense(2)\n}\n`;
    const all = check(spec("[weight, bias]")).model!.figures;
    const whole = check(spec("true")).model!.figures;
    expect([all.trainable, all.nonTrainable]).toEqual([whole.trainable, whole.nonTrainable]);
    // By arithmetic: dense(3) on 4 features has 4·3 + 3 = 15 parameters, dense(2) on 3 has 3·2 + 2 = 8.
    expect([all.trainable, all.nonTrainable]).toEqual([8n, 15n]);
    expect(check(spec("false")).model!.figures.nonTrainable).toBe(0n);
    // Inside a frozen block call, the named tensors are frozen anyway.
    const inBlock = check(`block B {\n  dense(3, frozen = bias)\n}\nmodel M(x: f32[4]) {\n  B(frozen = true)\n}\n`);
    expect(inBlock.model!.figures.trainable).toBe(0n);
  });

  it("a block parameter may carry `true`/`false`; a constant named like a tensor does not shadow it", () => {
    const viaParam = check(`block B(f) {\n  dense(3, frozen = f)\n}\nmodel M(x: f32[4]) {\n  B(true)\n}\n`);
    expect(viaParam.errors).toEqual([]);
    expect(viaParam.model!.figures.nonTrainable).toBe(15n); // 4·3 + 3
    const constant = check(`const bias = 3\nmodel M(x: f32[4]) {\n  dense(bias, frozen = bias)\n}\n`);
    expect(constant.errors).toEqual([]);
    expect(constant.model!.figures.nonTrainable).toBe(3n); // the 3 biases of dense(3)
  });

  it("refuses tensor names a layer does not have, and on block calls and containers", () => {
    expect(check(`model M(x: f32[4]) {\n  dense(3, frozen = gamma)\n}\n`).errors).toEqual(["NN4031"]);
    expect(check(`model M(x: f32[4]) {\n  relu(frozen = weight)\n}\n`).errors).toEqual(["NN4031"]);
    expect(check(`model M(x: f32[4]) {\n  residual(frozen = bias) { dense(4) }\n}\n`).errors).toEqual(["NN4031"]);
    expect(check(`model M(x: f32[4]) {\n  dense(3, frozen = 1)\n}\n`).errors).toEqual(["NN4002"]);
  });

  for (const target of ["ts", "wasm"] as const) {
    it(`one Adam step (${target}): frozen tensors stay, the others move as PyTorch's`, async () => {
      const { module: m } = await build(ref.spec, { dtype: "float64", target, unrollLimit: 0 });
      expect(m.params.filter((t) => !t.trainable).map((t) => t.name)).toEqual(ref.frozen);
      const trainer = m.createTrainer({ optimizer: "adam", lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
      loadStateDict(m, ref.params, trainer.params);
      const loss = m.trainStep(trainer, Float64Array.from(ref.inputs.data), ref.labels, ref.inputs.shape[0]!);
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-12);
      for (const t of ref.params_after) {
        const info = m.params.find((q) => q.name === t.name)!;
        const got = trainer.params.subarray(info.offset, info.offset + info.size);
        if (ref.frozen.includes(t.name)) {
          const before = ref.params.find((q) => q.name === t.name)!.data;
          expect(Array.from(got), t.name).toEqual(before);
        } else expect(maxRelError(got, t.data, 1e-6), t.name).toBeLessThan(1e-9);
      }
    });
  }
});
