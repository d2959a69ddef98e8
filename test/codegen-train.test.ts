// Training works end to end in generated code: XOR reaches 100 % accuracy, and an MLP learns a seeded
// synthetic classification task. Thresholds are stated in each test; seeds are fixed, so the runs are
// deterministic.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { build, maxRelError, seeded } from "./helpers/generated.js";

describe("training in generated code", () => {
  it("XOR (examples/xor.nn, MSE, Adam lr 0.1) reaches 100 % accuracy within 2,000 steps", async () => {
    const { module: m } = await build(fs.readFileSync("examples/xor.nn", "utf8"), { dtype: "float64" });
    const x = Float64Array.from([0, 0, 0, 1, 1, 0, 1, 1]);
    const t = [0, 1, 1, 0];
    // A 2-2-1 sigmoid network has well-known local minima for XOR: measured here, 12 of the seeds 0–19
    // reach loss < 0.01 within 2,000 Adam steps (seed 3, for one, stalls at two right answers of four).
    // The seed is fixed, so the run is deterministic.
    const trainer = m.createTrainer({ optimizer: "adam", lr: 0.1, seed: 1 });
    let loss = Infinity;
    for (let step = 0; step < 2000 && loss > 0.01; step++) loss = m.trainStep(trainer, x, t, 4);
    const y = m.forward(trainer.params, x, 4);
    const predictions = Array.from(y, (v) => (v > 0.5 ? 1 : 0));
    expect(predictions).toEqual(t);
    expect(loss).toBeLessThan(0.01);
  });

  it("an MLP with SGD + momentum learns 3 seeded Gaussian blobs (cross-entropy below 0.1)", async () => {
    const spec = `model Blobs(x: f32[2]) {
  dense(16) relu
  dense(3)
  loss cross_entropy
}
`;
    const { module: m } = await build(spec, { dtype: "float32" });
    const rand = seeded(11);
    const centers = [
      [2, 0],
      [-1, 1.7],
      [-1, -1.7],
    ];
    const n = 60;
    const x = new Float32Array(n * 2);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = i % 3;
      x[2 * i] = centers[k]![0]! + 0.4 * rand();
      x[2 * i + 1] = centers[k]![1]! + 0.4 * rand();
      labels.push(k);
    }
    const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 1e-4, seed: 5 });
    const first = m.trainStep(trainer, x, labels, n);
    let loss = first;
    for (let step = 0; step < 300; step++) loss = m.trainStep(trainer, x, labels, n);
    expect(first).toBeGreaterThan(0.5);
    expect(loss).toBeLessThan(0.1);
  });

  it("a small conv net learns a seeded synthetic image task (cross-entropy from > 1.2 to < 0.15)", async () => {
    // 4 classes: which quadrant of an 8×8 image holds a bright 3×3 square, on seeded noise.
    const spec = `model Quadrants(image: f32[1, 8, 8]) {
  conv2d(4, 3, padding = 1) as conv1
  batchnorm as bn1
  relu
  max_pool2d(2)
  conv2d(8, 3) as conv2
  relu
  flatten
  dense(4) as fc
  loss cross_entropy
}
`;
    const { module: m } = await build(spec, { dtype: "float32" });
    const rand = seeded(21);
    const n = 32;
    const x = new Float32Array(n * 64);
    const labels: number[] = [];
    for (let b = 0; b < n; b++) {
      const k = b % 4;
      labels.push(k);
      const top = (k >> 1) * 4 + Math.floor(((rand() + 1) / 2) * 2);
      const left = (k & 1) * 4 + Math.floor(((rand() + 1) / 2) * 2);
      for (let i = 0; i < 64; i++) x[b * 64 + i] = 0.3 * rand();
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) x[b * 64 + (top + r) * 8 + left + c]! += 1;
    }
    const trainer = m.createTrainer({ optimizer: "adam", lr: 0.01, seed: 2 });
    const first = m.trainStep(trainer, x, labels, n);
    let loss = first;
    for (let step = 0; step < 150; step++) loss = m.trainStep(trainer, x, labels, n);
    expect(first).toBeGreaterThan(1.2);
    expect(loss).toBeLessThan(0.15);
    // Running statistics were updated in training mode and are used in evaluation.
    expect(Array.from(trainer.buffers).some((v) => v !== 0 && v !== 1)).toBe(true);
  });

  it("frozen tensors do not move", async () => {
    const spec = `model F(x: f32[3]) {
  dense(4, frozen = true) as a
  tanh
  dense(1) as b
  loss mse
}
`;
    const { module: m } = await build(spec, { dtype: "float64" });
    const trainer = m.createTrainer({ optimizer: "adamw", lr: 0.05, weightDecay: 0.01 });
    const before = Float64Array.from(trainer.params);
    m.trainStep(trainer, Float64Array.from([1, 2, 3, -1, 0, 1]), [0.5, -0.5], 2);
    const a = m.params.find((t) => t.name === "a.weight")!;
    const b = m.params.find((t) => t.name === "b.weight")!;
    expect(Array.from(trainer.params.subarray(a.offset, a.offset + a.size))).toEqual(
      Array.from(before.subarray(a.offset, a.offset + a.size)),
    );
    expect(Array.from(trainer.params.subarray(b.offset, b.offset + b.size))).not.toEqual(
      Array.from(before.subarray(b.offset, b.offset + b.size)),
    );
  });

  // trainStep skips the gradient of the model input (nothing reads it) in the layers that can: the tiled
  // dense kernel and the im2col convolution. Its parameter gradients must still be backward's, and the
  // public backward must still return the input gradient afterwards.
  it.each([
    ["a tiled dense layer first (20 × 16 > the unroll limit)", "x: f32[20]", "dense(16) tanh dense(3)", 20],
    [
      "an im2col convolution first (4 output channels)",
      "x: f32[2, 6, 6]",
      "conv2d(4, 3, padding = 1) tanh flatten dense(3)",
      72,
    ],
  ])(
    "trainStep's update is backward's gradient, and backward still returns the input gradient: %s",
    async (_, input, body, size) => {
      const { module: m } = await build(`model M(${input}) {\n  ${body}\n  loss cross_entropy\n}\n`, {
        dtype: "float64",
      });
      const n = 5;
      const rand = seeded(4);
      const x = Float64Array.from({ length: n * size }, () => rand());
      const labels = [0, 2, 1, 1, 0];
      const p = m.createParams(3);
      const grads = new Float64Array(m.paramCount);
      const lossGrad = new Float64Array(n * 3);
      m.crossEntropyLoss(m.forward(p, x, n), labels, n, lossGrad);
      const inputGrad = Float64Array.from(m.backward(p, lossGrad, grads) as Float64Array);
      expect(inputGrad.some((v) => v !== 0)).toBe(true);
      const lr = 0.5;
      const trainer = m.createTrainer({ optimizer: "sgd", lr }, Float64Array.from(p));
      m.trainStep(trainer, x, labels, n);
      const step = Array.from(p, (v, i) => (v - trainer.params[i]!) / lr);
      expect(maxRelError(step, grads)).toBeLessThan(1e-9);
      // the same forward and backward again: the input gradient is back
      m.crossEntropyLoss(m.forward(p, x, n), labels, n, lossGrad);
      expect(Array.from(m.backward(p, lossGrad, grads) as Float64Array)).toEqual(Array.from(inputGrad));
    },
  );
});
