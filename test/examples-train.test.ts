// The torchvision CNN examples, as compiled in generated/, build and train: one SGD step on one random
// 224×224 image (cross-entropy, a random class) gives a finite loss near ln(1000) — the untrained
// classifier's logits are near zero — moves the parameters and updates the BatchNorm running statistics.
import { describe, expect, it } from "vitest";
import * as efficientnetB0 from "../generated/efficientnet-b0.js";
import * as mobilenetV3Large from "../generated/mobilenet-v3-large.js";

interface Module {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly paramCount: number;
  createTrainer(options: { optimizer: "sgd"; lr: number; seed?: number; loss?: "cross_entropy" }): {
    params: Float32Array;
    buffers: Float32Array;
  };
  trainStep(
    trainer: ReturnType<Module["createTrainer"]>,
    input: Float32Array,
    target: ArrayLike<number>,
    n: number,
  ): number;
  forward(p: Float32Array, input: Float32Array, n: number): Float32Array;
}

/** A deterministic pseudo-random image in [-1, 1). */
function image(size: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: size }, () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

describe("torchvision examples train one step", () => {
  it.each([
    ["efficientnet-b0", efficientnetB0 as unknown as Module],
    ["mobilenet-v3-large", mobilenetV3Large as unknown as Module],
  ])(
    "%s",
    (_name, m) => {
      const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1, loss: "cross_entropy" });
      expect(trainer.params.length).toBe(m.paramCount);
      const before = Float32Array.from(trainer.params);
      const buffersBefore = Float32Array.from(trainer.buffers);
      const x = image(m.inputSize);
      const loss = m.trainStep(trainer, x, [7], 1);
      expect(Number.isFinite(loss)).toBe(true);
      expect(Math.abs(loss - Math.log(m.outputSize))).toBeLessThan(1.5);
      let moved = 0;
      for (let i = 0; i < before.length; i++) if (trainer.params[i] !== before[i]) moved++;
      expect(moved).toBeGreaterThan(m.paramCount / 2);
      expect(trainer.params.every(Number.isFinite)).toBe(true);
      expect(Array.from(trainer.buffers).some((v, i) => v !== buffersBefore[i])).toBe(true);
      // Evaluation uses the running statistics and gives finite logits.
      const y = m.forward(trainer.params, x, 1);
      expect(y.length).toBe(m.outputSize);
      expect(y.every(Number.isFinite)).toBe(true);
    },
    120_000,
  );
});
